// FlowsHost in a Pulumi program of one's own: the host and repositories from this project's config, the
// credentials as secret Inputs (never read into plain text here). Every other setting takes the defaults of
// github-flows-host's stack config (the setup document's layout under the runtime user's home).
import * as pulumi from "@pulumi/pulumi";
import { FlowsHost } from "github-flows-host";

const config = new pulumi.Config();
const host = config.requireObject<{ address: string; port?: number; user: string; hostKey: string }>("host");

const web = new FlowsHost("web-1", {
    address: host.address,
    port: host.port,
    user: host.user,
    hostKey: host.hostKey,
    repositories: config.requireObject<string[]>("repositories"),
    sshPrivateKey: config.requireSecret("sshPrivateKey"),
    githubToken: config.requireSecret("githubToken"),
    openaiApiKey: config.getSecret("openaiApiKey"),
    // Optional: where the agent image comes from, another GitHub host, extra arguments for the checks' container.
    imagePullFrom: config.get("imagePullFrom"),
    githubHost: config.get("githubHost"),
    checkDockerArgs: config.getObject<string[]>("checkDockerArgs"),
});

/** Rendered GitHub Flows profile per repository. */
export const profiles = web.profiles;
/** The GitHub login the token belongs to. */
export const githubLogin = web.githubLogin;
/** When the token expires (ISO 8601), or `never`. */
export const tokenExpiresAt = web.tokenExpiresAt;
/** Short fingerprint of the token installed on the host. */
export const tokenFingerprint = web.tokenFingerprint;
