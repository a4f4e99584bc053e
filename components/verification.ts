import * as pulumi from "@pulumi/pulumi";
import { expiryWarning } from "../lib/access";
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
    /** Where, for the expiry warning: `host 'web-1' (203.0.113.10:22)`. */
    where: string;
    /** `tokenExpiryWarningDays`: warn when the token expires within this many days. */
    expiryWarningDays: number;
}

/**
 * The setup document's checks, inside the agent container with the token mounted read-only:
 * `gh api user`, `gh repo view` per repository, `codex login status`, `codex --help`, plus the token's
 * expiry and its role on each repository. They run on the new token before it replaces the old file
 * (verify before swap).
 */
export class Verification extends pulumi.ComponentResource {
    /** GitHub login the token belongs to. */
    public readonly githubLogin: pulumi.Output<string>;
    /** When GitHub says the token expires (ISO 8601 UTC), or `never`. */
    public readonly tokenExpiresAt: pulumi.Output<string>;
    /** `owner/name` -> the highest role GitHub reports for the token on it. */
    public readonly repositoryAccess: pulumi.Output<Record<string, string>>;

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
        const result = stdout.apply(parseVerifyOutput);
        this.githubLogin = result.githubLogin;
        // Known in a preview when the checks will not re-run (the recorded expiry), and in an up once they ran.
        // A new token's expiry is unknown to a preview: GitHub tells it only to a request made with the token.
        this.tokenExpiresAt = result.tokenExpiresAt.apply((expiresAt) => {
            const warning = expiryWarning({ where: args.where, expiresAt, now: new Date(), days: args.expiryWarningDays });
            if (warning) pulumi.log.warn(warning, this);
            return expiresAt;
        });
        this.repositoryAccess = result.repositoryAccess;
        this.registerOutputs({ githubLogin: this.githubLogin, tokenExpiresAt: this.tokenExpiresAt, repositoryAccess: this.repositoryAccess });
    }
}
