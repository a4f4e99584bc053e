import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { SshTarget } from "../lib/ssh";
import { RemoteFile } from "../providers";

export interface GithubTokenFileArgs {
    connection: pulumi.Input<SshTarget>;
    runtimeUser: string;
    tokenFile: pulumi.Input<string>;
    /** The raw token (secret), line endings already trimmed by config validation. */
    token: pulumi.Input<string>;
    /** `tokenFingerprint(token)`, computed once by the caller, which also needs it before the file exists. */
    fingerprint: pulumi.Input<string>;
}

/** The GitHub token file: 0600, owned by the runtime user, the raw token without a line ending. */
export class GithubTokenFile extends pulumi.ComponentResource {
    /** First 12 hex digits of the token's sha256: tells tokens apart without revealing one. */
    public readonly fingerprint: pulumi.Output<string>;
    /** The file resource, for ordering. */
    public readonly file: RemoteFile;

    constructor(name: string, args: GithubTokenFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:GithubTokenFile", name, {}, opts);
        this.file = new RemoteFile(
            `${name}-gh-token`,
            { connection: args.connection, path: args.tokenFile, owner: args.runtimeUser, runtimeUser: args.runtimeUser, mode: "600", content: pulumi.secret(args.token) },
            { parent: this },
        );
        this.fingerprint = pulumi.output(args.fingerprint);
        this.registerOutputs({ fingerprint: this.fingerprint });
    }
}

/** Short sha256 fingerprint of a token. */
export function tokenFingerprint(token: string): string {
    return createHash("sha256").update(token, "utf8").digest("hex").slice(0, 12);
}
