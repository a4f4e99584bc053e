import * as pulumi from "@pulumi/pulumi";
import { RemoteDirectory } from "../providers";
import type { RuntimeUserFilesArgs } from "./hostArgs";

export interface CredentialDirectoriesArgs extends RuntimeUserFilesArgs {
    secretsDir: pulumi.Input<string>;
    codexDir: pulumi.Input<string>;
    /** The home or listed root each lies in: root hands the runtime user no directory above it. */
    secretsDirWithin?: pulumi.Input<string>;
    codexDirWithin?: pulumi.Input<string>;
}

/** The secrets directory and the Codex auth-state directory: 0700, owned by the runtime user. */
export class CredentialDirectories extends pulumi.ComponentResource {
    /** Mode of the secrets directory as seen on the host. */
    public readonly secretsDirMode: pulumi.Output<string>;
    /** The secrets directory resource, for ordering. */
    public readonly secretsDir: RemoteDirectory;
    /** The Codex auth directory resource, for ordering. */
    public readonly codexDir: RemoteDirectory;

    constructor(name: string, args: CredentialDirectoriesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:CredentialDirectories", name, {}, opts);
        const common = { connection: args.connection, owner: args.runtimeUser, runtimeUser: args.runtimeUser, mode: "700" };
        this.secretsDir = new RemoteDirectory(`${name}-secrets`, { ...common, path: args.secretsDir, within: args.secretsDirWithin, removeOnDelete: "empty" }, { parent: this });
        // Codex auth state comes from a person's sign-in and cannot be recreated: never delete it.
        this.codexDir = new RemoteDirectory(
            `${name}-codex`,
            { ...common, path: args.codexDir, within: args.codexDirWithin, removeOnDelete: "never" },
            { parent: this, dependsOn: [this.secretsDir], retainOnDelete: true },
        );
        this.secretsDirMode = this.secretsDir.mode;
        this.registerOutputs({ secretsDirMode: this.secretsDirMode });
    }
}
