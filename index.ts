import * as pulumi from "@pulumi/pulumi";
import { FlowsHost } from "./components";
import { loadStackConfig } from "./lib/stackConfig";

const stack = loadStackConfig();

const flowsHosts = stack.config.hosts.map(
    (host) =>
        new FlowsHost(host.name, {
            host,
            config: stack.config,
            privateKey: stack.privateKey,
            githubToken: stack.githubToken,
            openaiApiKey: stack.openaiApiKey,
            prompt: stack.prompt,
        }),
);

/**
 * Per host: rendered profiles, GitHub login, token expiry and role per repository, image id, token fingerprint
 * and the interactive Codex login command.
 */
export const hosts = pulumi.output(
    Object.fromEntries(
        flowsHosts.map((h, i) => [
            stack.config.hosts[i].name,
            {
                profiles: h.profiles,
                githubLogin: h.githubLogin,
                tokenExpiresAt: h.tokenExpiresAt,
                repositoryAccess: h.repositoryAccess,
                imageId: h.imageId,
                tokenFingerprint: h.tokenFingerprint,
                codexLoginCommand: h.codexLoginCommand,
            },
        ]),
    ),
);
