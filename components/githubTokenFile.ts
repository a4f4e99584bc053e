import * as pulumi from "@pulumi/pulumi";
import { RemoteFile } from "../providers";
import type { RuntimeUserFilesArgs } from "./hostArgs";

export interface GithubTokenFileArgs extends RuntimeUserFilesArgs {
    tokenFile: pulumi.Input<string>;
    /** The raw token (secret), line endings already trimmed by config validation. */
    token: pulumi.Input<string>;
    /** The home or listed root the file's directory lies in: root hands the runtime user no directory above it. */
    within?: pulumi.Input<string>;
}

/** The GitHub token file: 0600, owned by the runtime user, the raw token without a line ending. */
export class GithubTokenFile extends pulumi.ComponentResource {
    /** The file resource, for ordering. */
    public readonly file: RemoteFile;

    constructor(name: string, args: GithubTokenFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:GithubTokenFile", name, {}, opts);
        this.file = new RemoteFile(
            `${name}-gh-token`,
            { connection: args.connection, path: args.tokenFile, within: args.within, owner: args.runtimeUser, runtimeUser: args.runtimeUser, mode: "600", content: pulumi.secret(args.token) },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
