import * as pulumi from "@pulumi/pulumi";
import { FlowsHost, flowsHostOutputs } from "./components/flowsHost";
import { SECRET_KEYS } from "./lib/config";
import * as p from "./providers";
import { type HostResourceProvider, PLUGIN_VERSION } from "./providers/hostResource";
import { type ComponentBuilder, HostProvider } from "./providers/plugin/hostProvider";
import { packageSchema } from "./providers/plugin/schema";

/** The resource types the plugin serves, by name (the last part of their type token). */
export const HOST_TYPES: Record<string, HostResourceProvider<any, any>> = {
    HostAccount: p.hostAccountProvider,
    RemoteDirectory: p.remoteDirectoryProvider,
    RemoteFile: p.remoteFileProvider,
    RemoteFileSet: p.remoteFileSetProvider,
    CodexConfigFile: p.codexConfigFileProvider,
    PulledImage: p.pulledImageProvider,
    ImagePresence: p.imagePresenceProvider,
    CodexLogin: p.codexLoginProvider,
    SshCommand: p.sshCommandProvider,
};

/** The value of an Output, once known (the settings are validated as values before anything registers). */
function valueOf(o: pulumi.Output<unknown>): Promise<unknown> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/**
 * FlowsHost for a program in another language (Pulumi YAML): the same component, its settings checked as the
 * TypeScript API checks them (a bad one fails naming `args.<key>`), its credentials kept secret.
 */
const flowsHost: ComponentBuilder = async (name, inputs, options) => {
    const settings: Record<string, unknown> = {};
    const credentials: Record<string, pulumi.Input<string>> = {};
    for (const [k, v] of Object.entries(inputs)) {
        // The credentials stay Outputs (secret) all the way; every other input is a setting.
        if ((SECRET_KEYS as readonly string[]).includes(k)) {
            credentials[k] = v as pulumi.Input<string>;
            continue;
        }
        // YAML config has no "unset": "" (and null) stand for a setting left to its default.
        const value = await valueOf(pulumi.output(v));
        if (value !== "" && value !== null && value !== undefined) settings[k] = value;
    }
    const host = new FlowsHost(name, { ...settings, ...credentials } as unknown as ConstructorParameters<typeof FlowsHost>[1], options);
    return { urn: host.urn, state: flowsHostOutputs(host) };
};

/** The plugin's entry: the engine starts it (boot/provider.js) and speaks gRPC to it. */
export function serve(args: string[]): Promise<void> {
    return pulumi.provider.main(new HostProvider(PLUGIN_VERSION, packageSchema(PLUGIN_VERSION), HOST_TYPES, { FlowsHost: flowsHost }), args);
}
