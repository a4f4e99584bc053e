import type * as pulumi from "@pulumi/pulumi";
import type { SshTarget } from "../lib/ssh";

/** What a component that owns runtime-user files on a host takes. */
export interface RuntimeUserFilesArgs {
    /** The SSH target (secret: it carries the private key). */
    connection: pulumi.Input<SshTarget>;
    /** Owner of the files; with root as the SSH user, every operation on them runs as this user. */
    runtimeUser: string;
}
