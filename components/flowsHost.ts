import * as pulumi from "@pulumi/pulumi";
import { argName, checkSecrets, ConfigError, forHost, HostArgsInput, HostSettings, parseHostArgs } from "../lib/config";
import { readPrompt } from "../lib/prompt";
import { handoverBase } from "../lib/handover";
import { CheckContainer } from "../lib/checks";
import { tokenFingerprint } from "../lib/access";
import { targetOf } from "../lib/ssh";
import { HostAccount } from "../providers";
import { AgentImage } from "./agentImage";
import { AgentProfiles } from "./agentProfiles";
import { CodexAuth } from "./codexAuth";
import { CodexModel } from "./codexModel";
import { CredentialDirectories } from "./credentialDirectories";
import { GithubTokenFile } from "./githubTokenFile";
import { Verification } from "./verification";

/**
 * A FlowsHost's args: where the host is and how to reach it (`address`, `port`, `user`, `hostKey`, `proxy`), the
 * settings the stack config has as keys (same names, types, defaults and rules: `lib/config.ts`), and the
 * credentials as Inputs (e.g. `config.requireSecret("githubToken")`), which stay secret Outputs throughout.
 */
export interface FlowsHostArgs extends HostArgsInput {
    /** Private key (OpenSSH/PEM text) of the SSH user on the host and its bastion. */
    sshPrivateKey: pulumi.Input<string>;
    /** Fine-grained GitHub token of the agent's account (raw; a trailing line break is dropped). */
    githubToken: pulumi.Input<string>;
    /** When set, Codex is logged in with this OpenAI API key unless a login is already present. */
    openaiApiKey?: pulumi.Input<string | undefined>;
    /** Prompt text installed beside each profile (default: the text of `profile.promptFile`, else the shipped prompt). */
    prompt?: string;
    /** How messages name a setting (default `args.<key>`; the stack program names its config keys). */
    keyName?: (path: ReadonlyArray<PropertyKey>) => string;
}

/**
 * One host prepared for GitHub Flows: every step of the credentials setup document ("the setup document" in this
 * code: GitHub Flows, docs/setup/ubuntu/auth.md, template 20260508,
 * https://github.com/flancer32/github-flows-app/blob/5f870cd7884716febcae8e0c58ddf15380cecdf5/docs/setup/ubuntu/auth.md).
 * Bad settings throw a ConfigError naming each (`FlowsHost 'web-1': args.repositories[0]: ...`) before any
 * resource is registered; bad credentials fail before any host is touched.
 */
export class FlowsHost extends pulumi.ComponentResource {
    /** Rendered profile JSON per repository. */
    public readonly profiles: pulumi.Output<Record<string, string>>;
    /** GitHub login the token belongs to, as `gh api user` reported it inside the agent container. */
    public readonly githubLogin: pulumi.Output<string>;
    /** When the token expires (ISO 8601 UTC, from GitHub's `github-authentication-token-expiration`), or `never`. */
    public readonly tokenExpiresAt: pulumi.Output<string>;
    /** `owner/name` -> the highest role GitHub reports for the token (`pull`, `triage`, `push`, `maintain`, `admin`). */
    public readonly repositoryAccess: pulumi.Output<Record<string, string>>;
    /** Agent image id on the host's daemon. */
    public readonly imageId: pulumi.Output<string>;
    /** Short sha256 fingerprint of the token on the host. */
    public readonly tokenFingerprint: pulumi.Output<string>;
    /** The document's interactive `codex login` for this host. */
    public readonly codexLoginCommand: pulumi.Output<string>;

    constructor(name: string, args: FlowsHostArgs, opts?: pulumi.ComponentResourceOptions) {
        const { c, prompt, key } = validate(name, args);
        super("github-flows-host:index:FlowsHost", name, {}, opts);
        // Checked once known, before any host resource: every one of them takes the connection.
        const secrets = pulumi
            .all([args.sshPrivateKey, args.githubToken, args.openaiApiKey])
            .apply(([sshPrivateKey, githubToken, openaiApiKey]) => named(name, () => checkSecrets(c, { sshPrivateKey, githubToken, openaiApiKey: openaiApiKey || undefined }, key)));
        // Secret: the target carries the private key.
        const connection = pulumi.secret(secrets.apply((s) => targetOf(c, s.sshPrivateKey, c.runtimeUser)));
        const githubToken = pulumi.secret(secrets.githubToken);
        const openaiApiKey = args.openaiApiKey === undefined ? undefined : pulumi.secret(secrets.apply((s) => s.openaiApiKey as string));
        const parent = { parent: this };
        const runner = c.remoteCommands;

        const where = `host '${name}' (${c.address}:${c.port})`;
        // Read first, on every preview too: the runtime user's real home decides the default paths and the rules.
        const account = new HostAccount(`${name}-account`, `${c.address}:${c.port}:${c.runtimeUser}`, { connection, user: c.runtimeUser, where }, parent);
        const hc = pulumi.all([account.home, account.homeExists]).apply(([home, homeExists]) => forHost(c, { home, homeExists }, where, key));
        // Where root's hand-over of new directories may begin: the home or the listed root each path lies in.
        const within = (p: (x: pulumi.Unwrap<typeof hc>) => string) => hc.apply((x) => handoverBase(x, p(x)));
        const dirs = new CredentialDirectories(
            name,
            { connection, runtimeUser: c.runtimeUser, secretsDir: hc.secretsDir, codexDir: hc.codexDir, secretsDirWithin: within((x) => x.secretsDir), codexDirWithin: within((x) => x.codexDir) },
            parent,
        );
        // After the account read and the paths checked against it: a host without the runtime user, or whose paths are
        // refused, gets nothing, not even the image.
        const image = new AgentImage(name, { connection, image: c.image, pullFrom: c.imagePullFrom, source: c.imageSource, after: [hc.apply(() => account)] }, parent);

        const container: pulumi.Output<CheckContainer> = hc.apply((x) => ({
            runtimeUser: x.runtimeUser,
            image: x.image,
            tokenFile: x.tokenFile,
            codexDir: x.codexDir,
            githubHost: x.githubHost,
            dockerArgs: x.checkDockerArgs,
        }));
        const codex = new CodexAuth(
            name,
            { connection, container, workspaceDir: hc.workspaceDir, runtimeUser: c.runtimeUser, where, openaiApiKey },
            { parent: this, dependsOn: [dirs, image] },
        );
        // After the login: the document chooses the model once signed in, and a config.toml alone is not a login.
        const model =
            c.codexModel !== undefined || c.codexReasoningEffort !== undefined
                ? new CodexModel(
                      name,
                      { connection, runtimeUser: c.runtimeUser, codexDir: hc.codexDir, model: c.codexModel, reasoningEffort: c.codexReasoningEffort, where },
                      { parent: this, dependsOn: [dirs, codex] },
                  )
                : undefined;
        const fingerprint = pulumi.unsecret(githubToken.apply(tokenFingerprint));
        // Verify before swap: the checks run on the new token, and only then is the token file written.
        const verification = new Verification(
            name,
            {
                connection,
                spec: pulumi
                    .all([container, codex.loginCommand])
                    .apply(([ct, loginCommand]) => ({ ...ct, repositories: c.repositories, requiredPermission: c.requiredPermission, where, loginCommand, staging: true })),
                token: githubToken,
                triggers: [fingerprint, image.imageId, c.repositories, c.githubHost, codex.loginId, ...(model ? [model.settings] : [])],
                runner,
                where,
                expiryWarningDays: c.tokenExpiryWarningDays,
            },
            { parent: this, dependsOn: [dirs, image, codex, ...(model ? [model] : [])] },
        );
        const token = new GithubTokenFile(
            name,
            { connection, runtimeUser: c.runtimeUser, tokenFile: hc.tokenFile, token: githubToken, within: within((x) => x.tokenFile) },
            { parent: this, dependsOn: [verification] },
        );
        const profiles = new AgentProfiles(
            name,
            { connection, base: hc, repositories: c.repositories, prompt, install: c.installProfiles, within: within((x) => x.workspaceDir) },
            { parent: this, dependsOn: [verification] },
        );

        this.profiles = profiles.profiles;
        this.githubLogin = verification.githubLogin;
        this.tokenExpiresAt = verification.tokenExpiresAt;
        this.repositoryAccess = verification.repositoryAccess;
        this.imageId = image.imageId;
        // Known once the file holds this token (unknown in a preview that would rewrite it).
        this.tokenFingerprint = pulumi.all([fingerprint, token.file.id]).apply(([f]) => f);
        this.codexLoginCommand = codex.loginCommand;
        // Not the profiles: the stack output holds them once (each copy in state is rewritten after every step).
        this.registerOutputs({
            githubLogin: this.githubLogin,
            tokenExpiresAt: this.tokenExpiresAt,
            repositoryAccess: this.repositoryAccess,
            imageId: this.imageId,
            tokenFingerprint: this.tokenFingerprint,
            codexLoginCommand: this.codexLoginCommand,
        });
    }
}

/** A FlowsHost's outputs, as the stack output and the plugin's component (plugin.ts) give them. */
export function flowsHostOutputs(h: FlowsHost): Record<string, pulumi.Output<unknown>> {
    return {
        profiles: h.profiles,
        githubLogin: h.githubLogin,
        tokenExpiresAt: h.tokenExpiresAt,
        repositoryAccess: h.repositoryAccess,
        imageId: h.imageId,
        tokenFingerprint: h.tokenFingerprint,
        codexLoginCommand: h.codexLoginCommand,
    };
}

const SECRET_ARGS = ["sshPrivateKey", "githubToken", "openaiApiKey", "prompt", "keyName"] as const;

/** The settings validated (throws before the component registers), and the prompt text. */
function validate(name: string, args: FlowsHostArgs): { c: HostSettings; prompt: string; key: (p: ReadonlyArray<PropertyKey>) => string } {
    const key = args.keyName ?? argName;
    const settings: Record<string, unknown> = { ...args };
    for (const k of SECRET_ARGS) delete settings[k];
    return named(name, () => {
        const c = parseHostArgs(settings, key);
        let prompt = args.prompt;
        if (prompt === undefined) {
            try {
                prompt = readPrompt(c.profile.promptFile);
            } catch (e) {
                throw new ConfigError([`${key(["profile", "promptFile"])}: ${(e as Error).message}`]);
            }
        }
        return { c, prompt, key };
    });
}

/** Runs `f`; a ConfigError it throws names the component in each problem. */
function named<T>(name: string, f: () => T): T {
    try {
        return f();
    } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(e.problems.map((p) => `FlowsHost '${name}': ${p}`));
        throw e;
    }
}
