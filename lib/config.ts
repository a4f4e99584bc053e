import { z } from "zod";
import { normalizePath } from "./paths";
import { PERMISSIONS } from "./access";
import { repositoryProblem } from "./repository";
import { checkBindSources, checkCredentialPlacement, checkDockerArgs, credentialKind } from "./security";

/** Config namespace: the project's, so `pulumi config set <key>` needs no prefix. */
export const CONFIG_NAMESPACE = "github-flows-host";

/** Keys whose values are credentials: they must be set with `--secret` and never appear in messages. */
export const SECRET_KEYS = ["sshPrivateKey", "githubToken", "openaiApiKey"] as const;

const CONTROL = /[\u0000-\u001f\u007f]/;

const absPath = z
    .string()
    .refine((p) => !CONTROL.test(p), "must not contain control characters (newline, tab, ...)")
    .refine((p) => p.startsWith("/"), "must be an absolute path")
    // docker --mount takes comma-separated fields: a comma in a mounted path would split it.
    .refine((p) => !p.includes(","), "must not contain ','")
    .refine((p) => !p.split("/").includes(".."), "must not contain '..'")
    .refine((p) => !p.split("/").includes("."), "must not contain '.' segments")
    .transform(normalizePath);


const hostKey = z
    .string()
    .trim()
    .refine(isHostKey, "must be an OpenSSH public host key such as 'ssh-ed25519 AAAAC3...' (see `ssh-keyscan -t ed25519 HOST`)");

/** `type base64 [comment]`, where the base64 blob starts with the same key type: what ssh-keyscan prints after the host. */
export function isHostKey(s: string): boolean {
    const m = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]+={0,3})(?: [^\r\n]*)?$/.exec(s);
    if (!m) return false;
    const blob = Buffer.from(m[2], "base64");
    if (blob.length < 4) return false;
    const len = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + len).toString("latin1") === m[1];
}

/** Pulumi.yaml gives optional keys the default "": that means "unset, use the derived value". */
const unsetIfEmpty = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === "" ? undefined : v), t.optional());

const port = z.number().int().min(1, "must be a port number 1-65535").max(65535, "must be a port number 1-65535");
const address = z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$/, "must be a host name or IP address");
const unixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name ([a-z_][a-z0-9_-]*, at most 32)");

const proxySchema = z.strictObject({
    address,
    port: port.default(22),
    user: unixUser,
    hostKey,
});

const hostSchema = z.strictObject({
    /** Used in resource names and output keys; two hosts must differ. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be lowercase letters, digits and '-' (at most 40)"),
    address,
    port: port.default(22),
    user: unixUser,
    hostKey,
    proxy: proxySchema.optional(),
});

/** Docker image reference: [registry[:port]/]path[:tag][@digest], lowercase path components. */
export const IMAGE_REF =
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const imageRef = z.string().regex(IMAGE_REF, "must be a Docker image reference such as 'github-flows-agent-codex:latest'");

const repository = z.string().superRefine((r, ctx) => {
    const problem = repositoryProblem(r);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const scalarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name ([A-Za-z_][A-Za-z0-9_]*)");
const sourcePath = z.string().regex(/^(event|host|workspace)\.[A-Za-z0-9_.[\]-]+$/, "must start with 'event.', 'host.' or 'workspace.'");

/** Defaults are the setup document's example profile, field for field. */
const profileSchema = z
    .strictObject({
        event: z.string().regex(/^[a-z_]+$/, "must be a GitHub event name such as 'issue_comment'").default("issue_comment"),
        action: z.string().regex(/^[a-z_]+$/, "must be a GitHub event action such as 'created'").default("created"),
        promptFile: z.string().min(1).default("prompts/prompt.md"),
        promptVariables: z.record(scalarName, sourcePath).default({
            REPOSITORY: "event.repository.full_name",
            ISSUE_NUMBER: "event.issue.number",
            ISSUE_TITLE: "event.issue.title",
            ISSUE_BODY: "event.issue.body",
            ISSUE_AUTHOR: "event.issue.user.login",
        }),
        agentCommand: z
            .string()
            .min(1)
            .refine((s) => !CONTROL.test(s), "must be one line")
            .default("codex exec --dangerously-bypass-approvals-and-sandbox -C /workspace/repo"),
        setupScript: z.string().default("test -d repo"),
        timeoutSec: z.number().int().positive("must be a positive number of seconds").default(1800),
        env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "env names must be [A-Za-z_][A-Za-z0-9_]*"), z.string()).default({ LOG_LEVEL: "info" }),
        dockerArgs: z.array(z.string().min(1)).default([]),
    })
    .prefault({});

const token = z
    .string()
    // A token pasted with an editor ends in a line break; the document strips it with `tr -d "\r\n"`.
    .transform((t) => t.replace(/(\r?\n|\r)+$/, ""))
    .refine((t) => t.trim().length > 0, "must not be empty or whitespace")
    .refine((t) => !/[\r\n]/.test(t), "must be one line (it contains a line break)")
    .refine((t) => !/[\s\u0000-\u001f\u007f]/.test(t), "must not contain whitespace or control characters");

const baseSchema = z.strictObject({
    hosts: z.array(hostSchema).min(1, "needs at least one host"),
    sshPrivateKey: z
        .string()
        .refine((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k), "must be a PEM/OpenSSH private key"),
    // The agents run as this user and execute model-written code: never root.
    runtimeUser: unixUser.refine((u) => u !== "root", "must not be root: the agents run as this user and execute model-written code").default("user"),
    appDir: unsetIfEmpty(absPath),
    workspaceDir: unsetIfEmpty(absPath),
    secretsDir: unsetIfEmpty(absPath),
    tokenFile: unsetIfEmpty(absPath),
    codexDir: unsetIfEmpty(absPath),
    image: imageRef.default("github-flows-agent-codex:latest"),
    imagePullFrom: unsetIfEmpty(imageRef),
    imageSource: z.enum(["docker-provider", "ssh-pull"]).default("docker-provider"),
    remoteCommands: z.enum(["pulumi-command", "ssh2"]).default("pulumi-command"),
    githubToken: token,
    openaiApiKey: unsetIfEmpty(token),
    repositories: z.array(repository).min(1, "needs at least one 'owner/name'"),
    githubHost: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/, "must be a host name such as 'github.com'")
        .default("github.com"),
    checkDockerArgs: z.array(z.string().min(1)).default([]),
    /** Host paths a mount in `checkDockerArgs` or `profile.dockerArgs` may bind besides the credential paths and the workspace. */
    // Objects only: Pulumi.yaml can declare one item type, and the engine checks stack values against it.
    allowedBindSources: z.array(z.strictObject({ path: absPath, readWrite: z.boolean().default(false) })).default([]),
    /** The agent comments on issues and pushes branches: GitHub's `push` role (README, "Token expiry and permissions"). */
    requiredPermission: z.enum(PERMISSIONS, { error: `must be one of ${PERMISSIONS.join(", ")}` }).default("push"),
    tokenExpiryWarningDays: z
        .number({ error: "must be a whole number of days (0 or more)" })
        .int("must be a whole number of days (0 or more)")
        .min(0, "must be a whole number of days (0 or more)")
        .max(366, "must be at most 366 days (GitHub's longest token lifetime)")
        .default(14),
    installProfiles: z.boolean().default(true),
    profile: profileSchema,
});

export const configSchema = baseSchema
    .transform((c) => derivePaths(c))
    .superRefine((c, ctx) => {
        const names = c.hosts.map((h) => h.name);
        names.forEach((n, i) => {
            if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `duplicates host name '${n}'` });
        });
        // GitHub names are case-insensitive: Owner/Repo and owner/repo are one repository (and would share a profile).
        const repos = c.repositories.map((r) => r.toLowerCase());
        repos.forEach((r, i) => {
            if (repos.indexOf(r) !== i) ctx.addIssue({ code: "custom", path: ["repositories", i], message: `lists '${c.repositories[i]}' twice` });
        });
        for (const issue of layoutIssues(c)) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
        for (const issue of credentialsInSettings(c)) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
        c.hosts.forEach((h, i) => {
            // @pulumi/command v1.2.1 offers only `ssh-rsa` (SHA-1) for a pinned RSA key, which OpenSSH 8.8+ refuses.
            if (c.remoteCommands !== "pulumi-command") return;
            for (const [k, key] of [["hostKey", h.hostKey], ["proxy", h.proxy?.hostKey]] as const) {
                if (!key?.startsWith("ssh-rsa ")) continue;
                ctx.addIssue({
                    code: "custom",
                    path: k === "hostKey" ? ["hosts", i, "hostKey"] : ["hosts", i, "proxy", "hostKey"],
                    message:
                        "an RSA host key cannot be pinned with remoteCommands: pulumi-command (its SSH client signs host keys with SHA-1 'ssh-rsa', which OpenSSH 8.8 and later refuse): " +
                        "pin the host's ed25519 or ECDSA key (ssh-keyscan -t ed25519), or set remoteCommands: ssh2",
                });
            }
        });
    });

/**
 * Profile settings and check arguments are written in plain text: profile.json (world-readable in the workspace),
 * the docker command line, a stack output. A credential there is refused, naming the key and never the value; the
 * token reaches the agent only through the mounted token file.
 */
function credentialsInSettings(c: z.output<typeof baseSchema>): Array<{ path: PropertyKey[]; message: string }> {
    const values: Array<[PropertyKey[], string]> = [
        ...Object.entries(c.profile.env).map(([k, v]): [PropertyKey[], string] => [["profile", "env", k], v]),
        ...c.profile.dockerArgs.map((v, i): [PropertyKey[], string] => [["profile", "dockerArgs", i], v]),
        ...c.checkDockerArgs.map((v, i): [PropertyKey[], string] => [["checkDockerArgs", i], v]),
        [["profile", "agentCommand"], c.profile.agentCommand],
        [["profile", "setupScript"], c.profile.setupScript],
    ];
    const known = [c.githubToken, c.openaiApiKey ?? ""].filter((s) => s.length >= 8);
    const out: Array<{ path: PropertyKey[]; message: string }> = [];
    for (const [p, v] of values) {
        const kind = known.some((k) => v.includes(k)) ? "a configured secret" : credentialKind(v);
        if (kind) out.push({ path: p, message: `holds ${kind}, which would be written in plain text (profile.json, docker command line, stack output); the token reaches the agent only through the mounted token file` });
    }
    return out;
}

/** The security rules that depend on where things are (and so on the runtime user's home). */
function layoutIssues(c: FlowsConfig): Array<{ path: Array<string | number>; message: string }> {
    return [
        ...checkCredentialPlacement(c).map((i) => ({ path: [i.key], message: i.message })),
        ...checkDockerArgs(c.profile.dockerArgs, c).map((message) => ({ path: ["profile", "dockerArgs"], message })),
        ...checkDockerArgs(c.checkDockerArgs, c, "check").map((message) => ({ path: ["checkDockerArgs"], message })),
        ...checkBindSources(c).map((i) => ({ path: ["allowedBindSources", i.index], message: i.message })),
    ];
}

const PATH_KEYS = ["appDir", "workspaceDir", "secretsDir", "tokenFile", "codexDir"] as const;

/**
 * Paths left unset follow the setup document's layout under the runtime user's home. Before a host is read, the
 * home is assumed to be /home/<runtimeUser>; `forHost` derives them again from the home the host reports.
 */
function derivePaths<C extends { runtimeUser: string; image: string; imagePullFrom?: string } & Partial<Record<(typeof PATH_KEYS)[number], string>>>(
    c: C,
    home = `/home/${c.runtimeUser}`,
) {
    const appDir = c.appDir ?? `${home}/app/github-flows`;
    const secretsDir = c.secretsDir ?? `${home}/.secrets`;
    return {
        ...c,
        /** The runtime user's home the paths were derived from. */
        home,
        /** The paths set in config (the rest derive from `home`). */
        given: Object.fromEntries(PATH_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Partial<Record<(typeof PATH_KEYS)[number], string>>,
        appDir,
        workspaceDir: c.workspaceDir ?? `${appDir}/var/work`,
        secretsDir,
        tokenFile: c.tokenFile ?? `${secretsDir}/gh-token`,
        codexDir: c.codexDir ?? `${secretsDir}/codex`,
        imagePullFrom: c.imagePullFrom ?? c.image,
    };
}

/**
 * The config for one host: paths derived again from the runtime user's real home (`getent passwd` on the host),
 * and the rules that depend on them checked again. Throws a ConfigError naming the host and the keys.
 */
export function forHost(c: FlowsConfig, account: { home: string; homeExists: boolean }, where: string): FlowsConfig {
    const unset = PATH_KEYS.filter((k) => c.given[k] === undefined);
    const fromHome = unset.filter((k) => (k !== "workspaceDir" || c.given.appDir === undefined) && (!["tokenFile", "codexDir"].includes(k) || c.given.secretsDir === undefined));
    if (!account.homeExists && fromHome.length) {
        throw new ConfigError([
            `${where}: the runtime user's home ${account.home} does not exist, and ${fromHome.map((k) => keyName([k])).join(", ")} would lie in it: ` +
                "create the home, or set appDir and secretsDir",
        ]);
    }
    const stripped = { ...c, ...Object.fromEntries(PATH_KEYS.map((k) => [k, c.given[k]])) };
    const out: FlowsConfig = derivePaths(stripped, account.home);
    const issues = layoutIssues(out);
    if (issues.length) throw new ConfigError(issues.map((i) => `${where}: ${keyName(i.path)}: ${i.message} (the runtime user's home there is ${account.home})`));
    return out;
}

export type FlowsConfig = z.output<typeof configSchema>;
export type HostConfig = FlowsConfig["hosts"][number];
export type ProfileSettings = FlowsConfig["profile"];

/** Thrown for bad config; names every offending key, never a secret value. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** `github-flows-host:hosts[0].port`: the key as `pulumi config` lists it (`--path` spelling inside). */
export function keyName(p: ReadonlyArray<PropertyKey>): string {
    let s = `${CONFIG_NAMESPACE}:`;
    p.forEach((seg, i) => {
        if (typeof seg === "number") s += `[${seg}]`;
        else s += i === 0 ? String(seg) : `.${String(seg)}`;
    });
    return s;
}

/** Validates raw config (already JSON-decoded) and returns it with defaults; throws ConfigError. */
export function parseConfig(raw: Record<string, unknown>): FlowsConfig {
    // reportInput: without it zod 4 leaves `input` out of every issue, and a wrong type would read as "is required".
    // The input stays in the issue objects; messages never print it (it may be a secret).
    const r = configSchema.safeParse(raw, { reportInput: true });
    if (r.success) return r.data;
    throw new ConfigError(
        r.error.issues.map((i) => {
            const key = keyName(i.path);
            if (i.code === "unrecognized_keys") {
                return i.keys.map((k) => `${keyName([...i.path, k])}: unknown key`).join("; ");
            }
            if (i.code === "invalid_type" && i.input === undefined) return `${key}: is required`;
            return `${key}: ${i.message}`;
        }),
    );
}

/** Reads the project's keys from stack config text: JSON for structured values, plain text otherwise. */
export function decodeRawConfig(all: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [k, v] of Object.entries(all)) {
        if (!k.startsWith(prefix)) continue;
        const key = k.slice(prefix.length);
        out[key] = (SECRET_KEYS as readonly string[]).includes(key) ? v : decodeValue(v);
    }
    return out;
}

function decodeValue(v: string): unknown {
    if (/^\s*[[{]/.test(v) || v === "true" || v === "false" || /^-?\d+(\.\d+)?$/.test(v)) {
        try {
            return JSON.parse(v);
        } catch {
            return v;
        }
    }
    return v;
}
