import * as pulumi from "@pulumi/pulumi";
import * as p from "..";
import { PLUGIN_VERSION } from "../hostResource";
import { HostProvider } from "./hostProvider";
import { packageSchema } from "./schema";

/** The resource types the plugin serves, by name (the last part of their type token). */
export const HOST_TYPES = {
    HostAccount: p.hostAccountProvider,
    RemoteDirectory: p.remoteDirectoryProvider,
    RemoteFile: p.remoteFileProvider,
    CodexConfigFile: p.codexConfigFileProvider,
    PulledImage: p.pulledImageProvider,
    ImagePresence: p.imagePresenceProvider,
    CodexLogin: p.codexLoginProvider,
    SshCommand: p.sshCommandProvider,
};

/** The plugin's entry: the engine starts it (boot/provider.js) and speaks gRPC to it. */
export function serve(args: string[]): Promise<void> {
    return pulumi.provider.main(new HostProvider(PLUGIN_VERSION, packageSchema(PLUGIN_VERSION), HOST_TYPES), args);
}
