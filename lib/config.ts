import { z } from "zod";
import { normalizePath } from "./paths";
import { PERMISSIONS } from "./access";
import { repositoryProblem } from "./repository";
import { checkBindSources, checkCredentialPlacement, checkDockerArgs, credentialKind, Layout } from "./security";
import { checkHandedOver, rootProblem } from "./handover";

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
// Typed as the optional key it is (a preprocess would type its input `unknown`, and FlowsHostArgs with it).
const unsetIfEmpty = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === "" ? undefined : v), t.optional()) as unknown as z.ZodOptional<T>;

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

/** How a host is reached: the SSH part of a `hosts` entry and of a FlowsHost's args. */
const connectionShape = {
    address,
    port: port.default(22),
    user: unixUser,
    hostKey,
    proxy: proxySchema.optional(),
};
const CONNECTION_KEYS = Object.keys(connectionShape);

// The agents run as this user and execute model-written code: never root.
const runtimeUser = unixUser.refine((u) => u !== "root", "must not be root: the agents run as this user and execute model-written code");

const repository = z.string().superRefine((r, ctx) => {
    const problem = repositoryProblem(r);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const repositories = z.array(repository).min(1, "needs at least one 'owner/name'");

const PATH_KEYS = ["appDir", "workspaceDir", "secretsDir", "tokenFile", "codexDir"] as const;
type PathKey = (typeof PATH_KEYS)[number];

/** Keys a `hosts` entry may set for itself; the top-level key is the default for every host that does not. */
export const PER_HOST_KEYS = ["runtimeUser", "repositories", ...PATH_KEYS] as const;

const hostSchema = z.strictObject({
    /** Used in resource names and output keys; two hosts must differ. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be lowercase letters, digits and '-' (at most 40)"),
    ...connectionShape,
    // PER_HOST_KEYS, without defaults: unset means the top-level key.
    runtimeUser: runtimeUser.optional(),
    repositories: repositories.optional(),
    appDir: unsetIfEmpty(absPath),
    workspaceDir: unsetIfEmpty(absPath),
    secretsDir: unsetIfEmpty(absPath),
    tokenFile: unsetIfEmpty(absPath),
    codexDir: unsetIfEmpty(absPath),
});

/** Docker image reference: [registry[:port]/]path[:tag][@digest], lowercase path components. */
export const IMAGE_REF =
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const imageRef = z.string().regex(IMAGE_REF, "must be a Docker image reference such as 'github-flows-agent-codex:latest'");

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

/** Codex's `model_reasoning_effort` values (codex-rs `ReasoningEffort`, serde lowercase). */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh"] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

const baseSchema = z.strictObject({
    hosts: z.array(hostSchema).min(1, "needs at least one host"),
    sshPrivateKey: z
        .string()
        .refine((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k), "must be a PEM/OpenSSH private key"),
    runtimeUser: runtimeUser.default("user"),
    appDir: unsetIfEmpty(absPath),
    workspaceDir: unsetIfEmpty(absPath),
    secretsDir: unsetIfEmpty(absPath),
    tokenFile: unsetIfEmpty(absPath),
    codexDir: unsetIfEmpty(absPath),
    /** Directories outside the runtime user's home where the paths above may lie (they are given to the runtime user). */
    runtimeUserRoots: z
        .array(
            absPath.superRefine((r, ctx) => {
                const problem = rootProblem(r);
                if (problem) ctx.addIssue({ code: "custom", message: problem });
            }),
        )
        .default([]),
    image: imageRef.default("github-flows-agent-codex:latest"),
    imagePullFrom: unsetIfEmpty(imageRef),
    imageSource: z.enum(["docker-provider", "ssh-pull"]).default("docker-provider"),
    remoteCommands: z.enum(["pulumi-command", "ssh2"]).default("pulumi-command"),
    githubToken: token,
    openaiApiKey: unsetIfEmpty(token),
    repositories,
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
    /** The document's "Choose and Persist Codex Model": `model` in <codexDir>/config.toml. */
    codexModel: unsetIfEmpty(
        z
            .string({ error: "must be a model name such as 'gpt-5.1-codex'" })
            .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/, "must be a model name such as 'gpt-5.1-codex' (letters, digits and . _ : / @ + -, at most 128)"),
    ),
    codexReasoningEffort: unsetIfEmpty(z.enum(REASONING_EFFORTS, { error: `must be one of ${REASONING_EFFORTS.join(", ")}` })),
});

/** True when `hosts[i]`'s own entry holds setting `k` (its SSH part, or a PER_HOST_KEYS key it sets). */
function ownKey(h: HostConfig, k: PropertyKey): boolean {
    return CONNECTION_KEYS.includes(String(k)) || ((PER_HOST_KEYS as readonly PropertyKey[]).includes(k) && h[k as keyof HostConfig] !== undefined);
}

/** A validation problem: the key path (relative to the object checked) and its message. */
interface Issue {
    path: PropertyKey[];
    message: string;
}

export const configSchema = baseSchema
    .transform((c) => derivePaths(c))
    .superRefine((c, ctx) => {
        const names = c.hosts.map((h) => h.name);
        names.forEach((n, i) => {
            if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `duplicates host name '${n}'` });
        });
        // Every rule holds per host, on the settings that host gets; a problem names the key where its value was set.
        const seen = new Set<string>();
        c.hosts.forEach((h, i) => {
            const own = (k: PropertyKey) => ownKey(h, k);
            const overrides = PER_HOST_KEYS.some((k) => h[k] !== undefined);
            for (const issue of hostIssues(derivePaths(settingsOf(c, i)), [c.githubToken, c.openaiApiKey ?? ""])) {
                const path = own(issue.path[0]) ? ["hosts", i, ...issue.path] : issue.path;
                // A top-level default that fails only on a host that changes other keys says which host.
                const id = JSON.stringify([path, issue.message]);
                if (seen.has(id)) continue;
                seen.add(id);
                const message = own(issue.path[0]) || !overrides ? issue.message : `${issue.message} (on hosts[${i}] '${h.name}')`;
                ctx.addIssue({ code: "custom", path, message });
            }
        });
    });

/**
 * The settings of one FlowsHost (its args without the secrets): where the host is and everything it gets. The stack
 * config's top-level keys have the same types and defaults; a `hosts` entry gives the SSH part and PER_HOST_KEYS.
 */
const hostArgsObject = z.strictObject({ ...connectionShape, ...baseSchema.omit({ hosts: true, sshPrivateKey: true, githubToken: true, openaiApiKey: true }).shape });
export const hostArgsSchema = hostArgsObject
    .transform((c) => derivePaths(c))
    .superRefine((c, ctx) => {
        for (const issue of hostIssues(c, [])) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    });

/** The FlowsHost settings as JSON Schema (inputs: defaults optional), for the provider plugin's schema. */
export function hostArgsJsonSchema(): { properties: Record<string, Record<string, unknown>>; required?: string[] } {
    return z.toJSONSchema(hostArgsObject, { io: "input", unrepresentable: "any" }) as { properties: Record<string, Record<string, unknown>>; required?: string[] };
}

/** FlowsHost settings as a caller writes them (defaults optional). */
export type HostArgsInput = z.input<typeof hostArgsSchema>;
/** FlowsHost settings validated, defaults applied, paths derived (from /home/<runtimeUser> until the host is read). */
export type HostSettings = z.output<typeof hostArgsSchema>;

/** The rules one host's settings must meet; `secrets` are the configured credentials' values (when known). */
function hostIssues(c: HostSettings, secrets: string[]): Issue[] {
    const issues: Issue[] = [];
    // GitHub names are case-insensitive: Owner/Repo and owner/repo are one repository (and would share a profile).
    const repos = c.repositories.map((r) => r.toLowerCase());
    repos.forEach((r, i) => {
        if (repos.indexOf(r) !== i) issues.push({ path: ["repositories", i], message: `lists '${c.repositories[i]}' twice` });
    });
    issues.push(...layoutIssues(c), ...credentialsInSettings(c, secrets));
    // @pulumi/command v1.2.1 offers only `ssh-rsa` (SHA-1) for a pinned RSA key, which OpenSSH 8.8+ refuses.
    if (c.remoteCommands === "pulumi-command") {
        for (const [path, key] of [[["hostKey"], c.hostKey], [["proxy", "hostKey"], c.proxy?.hostKey]] as const) {
            if (!key?.startsWith("ssh-rsa ")) continue;
            issues.push({
                path: [...path],
                message:
                    "an RSA host key cannot be pinned with remoteCommands: pulumi-command (its SSH client signs host keys with SHA-1 'ssh-rsa', which OpenSSH 8.8 and later refuse): " +
                    "pin the host's ed25519 or ECDSA key (ssh-keyscan -t ed25519), or set remoteCommands: ssh2",
            });
        }
    }
    return issues;
}

/**
 * The args (without secrets) of the FlowsHost for `hosts[i]`: its SSH part, then each top-level setting unless the
 * entry sets it. Paths stay as configured (unset ones derive from the runtime user's home on the host).
 */
export function settingsOf(c: FlowsConfig | z.output<typeof baseSchema>, i: number): z.output<typeof hostArgsObject> {
    const { name: _name, ...h } = c.hosts[i];
    const { hosts: _h, sshPrivateKey: _k, githubToken: _t, openaiApiKey: _o, ...top } = c;
    const out: Record<string, unknown> = { ...top };
    delete out.home;
    delete out.given;
    const given = "given" in c ? c.given : c;
    for (const k of PATH_KEYS) out[k] = h[k] ?? given[k];
    // imagePullFrom is derived from image when unset: pass what was configured.
    if ("given" in c && c.imagePullFrom === c.image) delete out.imagePullFrom;
    for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out as z.output<typeof hostArgsObject>;
}

/**
 * Profile settings and check arguments are written in plain text: profile.json (world-readable in the workspace),
 * the docker command line, a stack output. A credential there is refused, naming the key and never the value; the
 * token reaches the agent only through the mounted token file.
 */
function credentialsInSettings(c: Pick<HostSettings, "profile" | "checkDockerArgs">, secrets: string[]): Issue[] {
    const values: Array<[PropertyKey[], string]> = [
        ...Object.entries(c.profile.env).map(([k, v]): [PropertyKey[], string] => [["profile", "env", k], v]),
        ...c.profile.dockerArgs.map((v, i): [PropertyKey[], string] => [["profile", "dockerArgs", i], v]),
        ...c.checkDockerArgs.map((v, i): [PropertyKey[], string] => [["checkDockerArgs", i], v]),
        [["profile", "agentCommand"], c.profile.agentCommand],
        [["profile", "setupScript"], c.profile.setupScript],
    ];
    const known = secrets.filter((s) => s.length >= 8);
    const out: Issue[] = [];
    for (const [p, v] of values) {
        const kind = known.some((k) => v.includes(k)) ? "a configured secret" : credentialKind(v);
        if (kind) out.push({ path: p, message: `holds ${kind}, which would be written in plain text (profile.json, docker command line, stack output); the token reaches the agent only through the mounted token file` });
    }
    return out;
}

/**
 * The security rules that depend on where things are (and so on the runtime user's home). `onHost`: `home` is the
 * host's real one (forHost), so the paths given to the runtime user are held to it too.
 */
function layoutIssues(c: Layout & Pick<HostSettings, "profile" | "checkDockerArgs" | "runtimeUserRoots" | "allowedBindSources">, onHost = false): Issue[] {
    return [
        ...checkHandedOver(c, onHost).map((i) => ({ path: [i.key], message: i.message })),
        ...checkCredentialPlacement(c).map((i) => ({ path: [i.key], message: i.message })),
        ...checkDockerArgs(c.profile.dockerArgs, c).map((message) => ({ path: ["profile", "dockerArgs"], message })),
        ...checkDockerArgs(c.checkDockerArgs, c, "check").map((message) => ({ path: ["checkDockerArgs"], message })),
        ...checkBindSources(c).map((i) => ({ path: ["allowedBindSources", i.index], message: i.message })),
    ];
}

/**
 * Paths left unset follow the setup document's layout under the runtime user's home. Before a host is read, the
 * home is assumed to be /home/<runtimeUser>; `forHost` derives them again from the home the host reports.
 */
function derivePaths<C extends { runtimeUser: string; image: string; imagePullFrom?: string } & Partial<Record<PathKey, string>>>(
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
        given: Object.fromEntries(PATH_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Partial<Record<PathKey, string>>,
        appDir,
        workspaceDir: c.workspaceDir ?? `${appDir}/var/work`,
        secretsDir,
        tokenFile: c.tokenFile ?? `${secretsDir}/gh-token`,
        codexDir: c.codexDir ?? `${secretsDir}/codex`,
        imagePullFrom: c.imagePullFrom ?? c.image,
    };
}

/** What forHost needs: settings with their paths derived (FlowsConfig or HostSettings). */
type Derived = ReturnType<typeof derivePaths<{ runtimeUser: string; image: string }>> & Pick<HostSettings, "profile" | "checkDockerArgs" | "runtimeUserRoots" | "allowedBindSources">;

/**
 * The settings for one host: paths derived again from the runtime user's real home (`getent passwd` on the host),
 * and the rules that depend on them checked again. Throws a ConfigError naming the host and the keys (`key` spells
 * them: the stack config's names by default).
 */
export function forHost<C extends Derived>(c: C, account: { home: string; homeExists: boolean }, where: string, key: (p: ReadonlyArray<PropertyKey>) => string = keyName): C {
    const unset = PATH_KEYS.filter((k) => c.given[k] === undefined);
    const fromHome = unset.filter((k) => (k !== "workspaceDir" || c.given.appDir === undefined) && (!["tokenFile", "codexDir"].includes(k) || c.given.secretsDir === undefined));
    if (!account.homeExists && fromHome.length) {
        throw new ConfigError([
            `${where}: the runtime user's home ${account.home} does not exist, and ${fromHome.map((k) => key([k])).join(", ")} would lie in it: ` +
                "create the home, or set appDir and secretsDir",
        ]);
    }
    const stripped = { ...c, ...Object.fromEntries(PATH_KEYS.map((k) => [k, c.given[k]])) };
    const out = derivePaths(stripped, account.home) as unknown as C;
    const issues = layoutIssues(out, true);
    if (issues.length) throw new ConfigError(issues.map((i) => `${where}: ${key(i.path)}: ${i.message} (the runtime user's home there is ${account.home})`));
    return out;
}

const secretsSchema = baseSchema.pick({ sshPrivateKey: true, githubToken: true, openaiApiKey: true });

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

/** `github-flows-host:hosts[0].port`: the key as `pulumi config` lists it (`--path` spelling inside); `prefix` another root. */
export function keyName(p: ReadonlyArray<PropertyKey>, prefix = `${CONFIG_NAMESPACE}:`): string {
    let s = prefix;
    p.forEach((seg, i) => {
        if (typeof seg === "number") s += `[${seg}]`;
        else s += i === 0 ? String(seg) : `.${String(seg)}`;
    });
    return s;
}

/** How messages name the key behind hosts[i]'s setting `p`: `hosts[i].<key>` where the entry sets it, else the top-level key. */
export function hostKeyName(c: FlowsConfig, i: number): (p: ReadonlyArray<PropertyKey>) => string {
    const h = c.hosts[i];
    return (p) => keyName(ownKey(h, p[0]) ? ["hosts", i, ...p] : p);
}

/** Validates raw config (already JSON-decoded) and returns it with defaults; throws ConfigError. */
export function parseConfig(raw: Record<string, unknown>): FlowsConfig {
    return parseWith(configSchema, raw, keyName);
}

/**
 * Validates a FlowsHost's settings (its args without the secrets), naming each bad one as `key` spells it
 * (`args.repositories[0]` by default); throws ConfigError.
 */
export function parseHostArgs(raw: Record<string, unknown>, key: (p: ReadonlyArray<PropertyKey>) => string = argName): HostSettings {
    return parseWith(hostArgsSchema, raw, key);
}

/** `args.repositories[0]`: a FlowsHost argument's name in messages. */
export const argName = (p: ReadonlyArray<PropertyKey>): string => keyName(p, "args.");

function parseWith<S extends z.ZodType>(schema: S, raw: Record<string, unknown>, key: (p: ReadonlyArray<PropertyKey>) => string): z.output<S> {
    // reportInput: without it zod 4 leaves `input` out of every issue, and a wrong type would read as "is required".
    // The input stays in the issue objects; messages never print it (it may be a secret).
    const r = schema.safeParse(raw, { reportInput: true });
    if (r.success) return r.data;
    throw new ConfigError(
        r.error.issues.map((i) => {
            if (i.code === "unrecognized_keys") {
                return i.keys.map((k) => `${key([...i.path, k])}: unknown key`).join("; ");
            }
            if (i.code === "invalid_type" && i.input === undefined) return `${key(i.path)}: is required`;
            return `${key(i.path)}: ${i.message}`;
        }),
    );
}

/**
 * The credentials a FlowsHost gets as Inputs, checked once their values are known (before any host is touched):
 * the token as the setup document stores it (a trailing line break dropped), and none of them in a plain-text
 * setting. Throws ConfigError naming the key, never the value.
 */
export function checkSecrets(
    settings: Pick<HostSettings, "profile" | "checkDockerArgs">,
    secrets: { sshPrivateKey: string; githubToken: string; openaiApiKey?: string },
    key: (p: ReadonlyArray<PropertyKey>) => string = argName,
): { sshPrivateKey: string; githubToken: string; openaiApiKey?: string } {
    const r = secretsSchema.safeParse(secrets);
    const problems = r.success ? [] : r.error.issues.map((i) => `${key(i.path)}: ${i.code === "invalid_type" ? "must be a string" : i.message}`);
    if (r.success) problems.push(...credentialsInSettings(settings, [r.data.githubToken, r.data.openaiApiKey ?? ""]).map((i) => `${key(i.path)}: ${i.message}`));
    if (problems.length || !r.success) throw new ConfigError(problems);
    return r.data;
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
