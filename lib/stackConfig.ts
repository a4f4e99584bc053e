import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { CONFIG_NAMESPACE, ConfigError, decodeRawConfig, FlowsConfig, parseConfig, SECRET_KEYS } from "./config";
import { projectDirectory } from "./prompt";

export interface StackConfig {
    config: FlowsConfig;
    privateKey: pulumi.Output<string>;
    githubToken: pulumi.Output<string>;
    openaiApiKey?: pulumi.Output<string>;
    /** Text of `profile.promptFile`. */
    prompt: string;
}

/**
 * Reads and validates the project's config keys before any resource is registered, so bad input changes nothing on
 * any host. Throws a RunError that names each bad key (and never prints a secret).
 */
export function loadStackConfig(all: Record<string, string> = pulumi.runtime.allConfig(), projectDir = projectDirectory()): StackConfig {
    try {
        const problems = SECRET_KEYS.filter((k) => (all[`${CONFIG_NAMESPACE}:${k}`] ?? "") !== "" && !isSecret(`${CONFIG_NAMESPACE}:${k}`, true)).map(
            (k) => `${CONFIG_NAMESPACE}:${k}: must be stored encrypted: pulumi config set --secret ${CONFIG_NAMESPACE}:${k} ...`,
        );
        problems.push(...secretsInPlainKeys(all));
        if (problems.length) throw new ConfigError(problems);
        const config = parseConfig(decodeRawConfig(all));
        const promptPath = path.resolve(projectDir, config.profile.promptFile);
        let prompt: string;
        try {
            prompt = fs.readFileSync(promptPath, "utf8");
        } catch (e) {
            throw new ConfigError([`${CONFIG_NAMESPACE}:profile.promptFile: cannot read ${promptPath} (${(e as NodeJS.ErrnoException).code ?? e})`]);
        }
        return {
            config,
            privateKey: pulumi.secret(config.sshPrivateKey),
            githubToken: pulumi.secret(config.githubToken),
            openaiApiKey: config.openaiApiKey === undefined ? undefined : pulumi.secret(config.openaiApiKey),
            prompt,
        };
    } catch (e) {
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

/**
 * Every other key is used in plain text (profile.json, command lines, outputs, resource names): a value set with
 * --secret there would silently lose its protection. The engine marks the whole top-level key secret when any part
 * of it is (`pulumi config set --secret --path profile.env.X` makes `profile` secret), so the key is what is named.
 */
function secretsInPlainKeys(all: Record<string, string>): string[] {
    const prefix = `${CONFIG_NAMESPACE}:`;
    return Object.keys(all)
        .filter((k) => k.startsWith(prefix) && !(SECRET_KEYS as readonly string[]).includes(k.slice(prefix.length)) && isSecret(k, false))
        .map(
            (k) =>
                `${k}: holds a value set with --secret, but this key is written in plain text (profile.json, docker command lines, stack outputs); ` +
                `remove the secret (pulumi config rm --path ...): only ${SECRET_KEYS.join(", ")} hold credentials, and the token reaches the agent only through the mounted token file`,
        );
}

/** The engine tells the program which keys were set with --secret (PULUMI_CONFIG_SECRET_KEYS); `unknown` when it cannot. */
function isSecret(key: string, unknown: boolean): boolean {
    const rt = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    return rt.isConfigSecret ? rt.isConfigSecret(key) : unknown;
}
