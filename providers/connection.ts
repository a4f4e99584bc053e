import * as pulumi from "@pulumi/pulumi";
import type { SshTarget } from "../lib/ssh";

/** The SSH target as a resource input: the private key inside makes the whole value secret in state. */
export type ConnectionInput = pulumi.Input<SshTarget>;

/** A resource moved to another host is a new resource there: replace, never update in place. */
export function sameHost(a: SshTarget, b: SshTarget): boolean {
    return a.host === b.host && a.port === b.port;
}

/** Outputs that hold a credential; the engine encrypts them in state. */
export const SECRET_OUTPUTS = ["connection", "content", "stdin"];
