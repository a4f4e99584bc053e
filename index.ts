// The stack program: the stack config read and validated (lib/stackConfig.ts), one FlowsHost per `hosts` entry
// through the public API (api.ts), and their outputs.
import * as pulumi from "@pulumi/pulumi";
import { FlowsHost } from "./api";
import { hostKeyName, settingsOf } from "./lib/config";
import { loadStackConfig } from "./lib/stackConfig";

const stack = loadStackConfig();

const flowsHosts = stack.config.hosts.map(
    (host, i) =>
        new FlowsHost(host.name, {
            ...settingsOf(stack.config, i),
            sshPrivateKey: stack.privateKey,
            githubToken: stack.githubToken,
            openaiApiKey: stack.openaiApiKey,
            prompt: stack.prompt,
            keyName: hostKeyName(stack.config, i),
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
