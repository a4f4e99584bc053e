import * as pulumi from "@pulumi/pulumi";
import { apiKeyLoginScript, CheckContainer, interactiveLoginCommand } from "../lib/checks";
import type { SshTarget } from "../lib/ssh";
import { runCommand } from "../providers";

export interface CodexAuthArgs {
    connection: pulumi.Input<SshTarget>;
    container: CheckContainer;
    workspaceDir: string;
    /** When set, Codex is logged in with this key (secret) unless a login is already present. */
    openaiApiKey?: pulumi.Input<string>;
    /** Changes that must re-run the login: image id, Codex dir. */
    triggers: pulumi.Input<unknown[]>;
    runner: "pulumi-command" | "ssh2";
}

/** Codex authentication, both ways the setup document allows: a ChatGPT sign-in by a person, or an API key. */
export class CodexAuth extends pulumi.ComponentResource {
    /** The document's interactive `codex login`, to run once on the host as the runtime user. */
    public readonly loginCommand: pulumi.Output<string>;
    /** "present" (an earlier login was kept), "created" (logged in with the API key) or "interactive". */
    public readonly state: pulumi.Output<string>;

    constructor(name: string, args: CodexAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:CodexAuth", name, {}, opts);
        const c = args.container;
        this.loginCommand = pulumi.output(interactiveLoginCommand({ image: c.image, codexDir: c.codexDir, workspaceDir: args.workspaceDir }));
        if (args.openaiApiKey) {
            const stdout = runCommand(
                `${name}-api-key-login`,
                {
                    connection: args.connection,
                    create: apiKeyLoginScript(c),
                    // The key travels on stdin into `codex login --with-api-key`, never on a command line.
                    stdin: pulumi.secret(pulumi.output(args.openaiApiKey).apply((k) => `${k}\n`)),
                    triggers: args.triggers,
                    what: "Codex login with flows:openaiApiKey",
                    runner: args.runner,
                },
                { parent: this },
            );
            this.state = stdout.apply((s) => (/codex-login=(\w+)/.exec(s)?.[1] ?? "unknown"));
        } else {
            this.state = pulumi.output("interactive");
        }
        this.registerOutputs({ loginCommand: this.loginCommand, state: this.state });
    }
}
