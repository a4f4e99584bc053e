import * as pulumi from "@pulumi/pulumi";
import { parseVerifyOutput, VerifySpec, verifyScript } from "../lib/checks";
import type { SshTarget } from "../lib/ssh";
import { runCommand } from "../providers";

export interface VerificationArgs {
    connection: pulumi.Input<SshTarget>;
    spec: pulumi.Input<VerifySpec>;
    /** The token to check (secret): sent on stdin, staged beside the token file, checked, removed. */
    token: pulumi.Input<string>;
    /** Re-run the checks when any of these change: token fingerprint, image id, repositories, Codex login. */
    triggers: pulumi.Input<unknown[]>;
    runner: "pulumi-command" | "ssh2";
}

/**
 * The setup document's checks, inside the agent container with the token mounted read-only:
 * `gh api user`, `gh repo view` per repository, `codex login status`, `codex --help`. They run on the
 * new token before it replaces the old file (verify before swap).
 */
export class Verification extends pulumi.ComponentResource {
    /** GitHub login the token belongs to. */
    public readonly githubLogin: pulumi.Output<string>;

    constructor(name: string, args: VerificationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:Verification", name, {}, opts);
        const stdout = runCommand(
            `${name}-checks`,
            {
                connection: args.connection,
                create: pulumi.output(args.spec).apply((s) => verifyScript(s as VerifySpec)),
                stdin: pulumi.secret(args.token),
                triggers: args.triggers,
                what: "verification",
                runner: args.runner,
            },
            { parent: this },
        );
        this.githubLogin = stdout.apply((s) => parseVerifyOutput(s).githubLogin);
        this.registerOutputs({ githubLogin: this.githubLogin });
    }
}
