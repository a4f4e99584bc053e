import * as pulumi from "@pulumi/pulumi";
import { FlowsConfig, forHost, HostConfig } from "../lib/config";
import { handoverBase } from "../lib/handover";
import { CheckContainer } from "../lib/checks";
import { tokenFingerprint } from "../lib/access";
import { targetOf } from "../lib/ssh";
import { HostAccount } from "../providers";
import { AgentImage } from "./agentImage";
import { AgentProfiles } from "./agentProfiles";
import { CodexAuth } from "./codexAuth";
import { CredentialDirectories } from "./credentialDirectories";
import { GithubTokenFile } from "./githubTokenFile";
import { Verification } from "./verification";

export interface FlowsHostArgs {
    host: HostConfig;
    /** Validated stack config (secrets inside are plain; they are passed below as secret Outputs). */
    config: FlowsConfig;
    privateKey: pulumi.Input<string>;
    githubToken: pulumi.Input<string>;
    openaiApiKey?: pulumi.Input<string>;
    /** Prompt text installed beside each profile. */
    prompt: string;
}

/**
 * One host prepared for GitHub Flows: every step of the credentials setup document ("the setup document" in this
 * code: GitHub Flows, docs/setup/ubuntu/auth.md, template 20260508,
 * https://github.com/flancer32/github-flows-app/blob/5f870cd7884716febcae8e0c58ddf15380cecdf5/docs/setup/ubuntu/auth.md).
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
        super("github-flows-host:index:FlowsHost", name, {}, opts);
        const { host: h, config: c } = args;
        // Secret: the target carries the private key.
        const connection = pulumi.secret(pulumi.output(args.privateKey).apply((key) => targetOf(h, key)));
        const parent = { parent: this };
        const runner = c.remoteCommands;

        const where = `host '${h.name}' (${h.address}:${h.port})`;
        // Read first, on every preview too: the runtime user's real home decides the default paths and the rules.
        const account = new HostAccount(`${name}-account`, `${h.address}:${h.port}:${c.runtimeUser}`, { connection, user: c.runtimeUser, where }, parent);
        const hc = pulumi.all([account.home, account.homeExists]).apply(([home, homeExists]) => forHost(c, { home, homeExists }, where));
        // Where root's hand-over of new directories may begin: the home or the listed root each path lies in.
        const within = (p: (x: FlowsConfig) => string) => hc.apply((x) => handoverBase(x, p(x)));
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
            { connection, container, workspaceDir: hc.workspaceDir, runtimeUser: c.runtimeUser, where, openaiApiKey: args.openaiApiKey },
            { parent: this, dependsOn: [dirs, image] },
        );
        const fingerprint = pulumi.unsecret(pulumi.output(args.githubToken).apply(tokenFingerprint));
        // Verify before swap: the checks run on the new token, and only then is the token file written.
        const verification = new Verification(
            name,
            {
                connection,
                spec: pulumi
                    .all([container, codex.loginCommand])
                    .apply(([ct, loginCommand]) => ({ ...ct, repositories: c.repositories, requiredPermission: c.requiredPermission, where, loginCommand, staging: true })),
                token: args.githubToken,
                triggers: [fingerprint, image.imageId, c.repositories, c.githubHost, codex.loginId],
                runner,
                where,
                expiryWarningDays: c.tokenExpiryWarningDays,
            },
            { parent: this, dependsOn: [dirs, image, codex] },
        );
        const token = new GithubTokenFile(
            name,
            { connection, runtimeUser: c.runtimeUser, tokenFile: hc.tokenFile, token: args.githubToken, within: within((x) => x.tokenFile) },
            { parent: this, dependsOn: [verification] },
        );
        const profiles = new AgentProfiles(
            name,
            { connection, base: hc, repositories: c.repositories, prompt: args.prompt, install: c.installProfiles, within: within((x) => x.workspaceDir) },
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
        this.registerOutputs({
            profiles: this.profiles,
            githubLogin: this.githubLogin,
            tokenExpiresAt: this.tokenExpiresAt,
            repositoryAccess: this.repositoryAccess,
            imageId: this.imageId,
            tokenFingerprint: this.tokenFingerprint,
            codexLoginCommand: this.codexLoginCommand,
        });
    }
}
