import * as pulumi from "@pulumi/pulumi";
import { CheckContainer, codexSignInAdvice, interactiveLoginCommand } from "../lib/checks";
import type { SshTarget } from "../lib/ssh";
import { CodexLogin } from "../providers";

export interface CodexAuthArgs {
    connection: pulumi.Input<SshTarget>;
    container: pulumi.Input<CheckContainer>;
    workspaceDir: pulumi.Input<string>;
    runtimeUser: string;
    /** Where, for messages: `host 'web-1' (203.0.113.10:22)`. */
    where: string;
    /** When set, Codex is logged in with this key (secret) unless a login is already present. */
    openaiApiKey?: pulumi.Input<string>;
}

/** Codex authentication, both ways the setup document allows: a ChatGPT sign-in by a person, or an API key. */
export class CodexAuth extends pulumi.ComponentResource {
    /** The document's interactive `codex login`, to run once on the host as the runtime user. */
    public readonly loginCommand: pulumi.Output<string>;
    /** Changes only when this program logged Codex in (so checks re-run then). */
    public readonly loginId: pulumi.Output<string>;

    constructor(name: string, args: CodexAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:CodexAuth", name, {}, opts);
        const c = pulumi.output(args.container);
        const command = pulumi
            .all([c, args.workspaceDir])
            .apply(([ct, workspaceDir]) => interactiveLoginCommand({ image: ct.image, codexDir: ct.codexDir, workspaceDir }));
        const login = new CodexLogin(
            `${name}-codex-login`,
            {
                connection: args.connection,
                container: c,
                apiKey: args.openaiApiKey && pulumi.secret(args.openaiApiKey),
                missingMessage: pulumi
                    .all([c.codexDir, command])
                    .apply(([codexDir, cmd]) => `verification check 'codex-auth' failed on ${args.where}: no Codex auth state in ${codexDir}. ${codexSignInAdvice(args.runtimeUser, cmd)}`),
            },
            { parent: this },
        );
        this.loginCommand = command;
        this.loginId = login.loginId;
        this.registerOutputs({ loginCommand: this.loginCommand, loginId: this.loginId });
    }
}
