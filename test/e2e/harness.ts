import { LocalWorkspace, Stack, UpOptions, UpResult } from "@pulumi/pulumi/automation";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, expect } from "vitest";
import { parseConfig } from "../../lib/config";
import { profileJson, renderProfile } from "../../lib/profile";
import { PATHS, PathName, Sandbox, sandbox, sandboxConfig, setAllJson } from "../../scripts/sandbox/stack.mjs";

/** The repository root: the Pulumi project under test. */
export const REPO = path.resolve(__dirname, "../..");

export { sandbox };
export type { Sandbox };

/** Runs shell text on the sandbox host (it shares this machine's filesystem view) and returns stdout. */
export function onHost(script: string): string {
    return execFileSync("bash", ["-c", script], { encoding: "utf8" });
}

/** SIGKILLs the pulumi CLI running `args` (found through /proc, so the search never matches itself). */
export function killPulumi(...args: string[]): number {
    let killed = 0;
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        let argv: string[];
        try {
            argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
            continue;
        }
        if (path.basename(argv[0] ?? "") === "pulumi" && args.every((a) => argv.includes(a))) {
            process.kill(Number(pid), "SIGKILL");
            killed++;
        }
    }
    return killed;
}

/** Resets the sandbox host to a fresh machine: no secrets, no app dir, no agent image. */
export function resetHost(): void {
    execFileSync("bash", [path.join(REPO, "scripts/sandbox.sh"), "reset-host"], { stdio: "inherit" });
}

/** The passphrase of every test stack's secrets provider. */
export const E2E_PASSPHRASE = "e2e-passphrase";

/** Where a test stack keeps its state: the default is a file backend private to the project copy. */
export interface Backend {
    /** `PULUMI_BACKEND_URL`, e.g. `postgres://role@127.0.0.1:15432/db?sslmode=disable`. */
    url: string;
    /** Extra environment for every pulumi process (e.g. `PGPASSFILE`); never a secret value. */
    env?: Record<string, string>;
}

/**
 * A copy of the project in a temp dir (node_modules linked) with its own file backend (or `backend`), so
 * test files can run side by side without sharing stack files or state.
 */
/** What a test stack's project holds of the checkout (copied; `sources` names another checkout, e.g. an older commit). */
export const PROJECT_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "api.ts", "plugin.ts", "boot", "components", "lib", "providers", "prompts", "scripts"];

/** Copies the project files of `sources` into `dir`, replacing what was there. */
export function copyProject(sources: string, dir: string): void {
    for (const f of PROJECT_FILES) {
        fs.rmSync(path.join(dir, f), { recursive: true, force: true });
        if (fs.existsSync(path.join(sources, f))) fs.cpSync(path.join(sources, f), path.join(dir, f), { recursive: true });
    }
}

export async function newStack(name: string, backend?: Backend, sources = REPO): Promise<{ stack: Stack; dir: string; cleanup: () => Promise<void> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gfh-e2e-${name}-`));
    copyProject(sources, dir);
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    fs.mkdirSync(path.join(dir, ".state"));
    const envVars = {
        PULUMI_BACKEND_URL: backend?.url ?? `file://${path.join(dir, ".state")}`,
        ...backend?.env,
        PULUMI_CONFIG_PASSPHRASE: E2E_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: dir }, { envVars });
    stackEnv.set(stack, { dir, env: { ...process.env, ...envVars } });
    const cleanup = async () => {
        fs.rmSync(dir, { recursive: true, force: true });
    };
    return { stack, dir, cleanup };
}

const stackEnv = new WeakMap<Stack, { dir: string; env: NodeJS.ProcessEnv }>();

/** Runs the pulumi CLI for a test stack; `stdin` carries secrets, which the Automation API would put in argv. */
export function pulumiCli(stack: Stack, args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): string {
    const e = stackEnv.get(stack);
    if (!e) throw new Error("stack not made by newStack");
    return execFileSync("pulumi", [...args, "--stack", stack.name, "--non-interactive"], { cwd: e.dir, env: { ...e.env, ...env }, input: stdin ?? "", encoding: "utf8" });
}

export { PATHS };
export type { PathName };

const stackPath = new WeakMap<Stack, Record<string, unknown>>();

/** Stack config for the sandbox host: the document's layout on the stack's path (the defaults unless chosen). */
export async function configureForSandbox(stack: Stack, sb: Sandbox, extra: Record<string, unknown> = {}): Promise<void> {
    const { plain, secrets } = sandboxConfig(sb);
    pulumiCli(stack, ["config", "set-all", "--json", setAllJson({ ...plain, ...(stackPath.get(stack) ?? {}), ...extra })]);
    for (const [k, v] of Object.entries(secrets)) await setSecret(stack, k, v);
}

/** A describe block's sandbox-configured stack; `sandboxStack`'s `beforeAll` fills it in. */
export interface SandboxStack {
    sb: Sandbox;
    stack: Stack;
    dir: string;
    cleanup: () => Promise<void>;
}

/**
 * Registers hooks that reset the host and make stack `name` configured for the sandbox on path `via` (then
 * `prepare`), and destroy it afterwards. Later `configureForSandbox` calls keep the stack on its path.
 */
export function sandboxStack(name: string, prepare?: (t: SandboxStack) => Promise<void>, via: PathName = "defaults"): SandboxStack {
    const t = {} as SandboxStack;
    beforeAll(async () => {
        t.sb = sandbox();
        resetHost();
        Object.assign(t, await newStack(name));
        stackPath.set(t.stack, { ...PATHS[via] });
        await configureForSandbox(t.stack, t.sb);
        await prepare?.(t);
    }, 900_000);
    afterAll(async () => {
        try {
            await t.stack?.destroy({ onOutput: () => undefined });
        } finally {
            await t.cleanup?.();
        }
        // 300 repositories (scale.test.ts) take minutes to destroy.
    }, 900_000);
    return t;
}

/** Runs `up` (engine output ignored unless `opts` says otherwise): undefined when it succeeded, else the error text. */
export function upError(stack: Stack, opts: UpOptions = { onOutput: () => undefined }): Promise<string | undefined> {
    return stack.up(opts).then(
        () => undefined,
        (e) => errorText(e),
    );
}

/** Runs `up` with engine output ignored, expects it to succeed and returns its result. */
export async function upOk(stack: Stack): Promise<UpResult> {
    const res = await stack.up({ onOutput: () => undefined });
    expect(res.summary.result).toBe("succeeded");
    return res;
}

/** `pulumi config set --secret` with the value on stdin. */
export async function setSecret(stack: Stack, key: string, value: string): Promise<void> {
    pulumiCli(stack, ["config", "set", "--secret", key], value);
}

export async function setPlain(stack: Stack, key: string, value: unknown): Promise<void> {
    pulumiCli(stack, ["config", "set-all", "--json", setAllJson({ [key]: value })]);
}

export async function removeConfig(stack: Stack, key: string): Promise<void> {
    pulumiCli(stack, ["config", "rm", key]);
}

/** Calls the fake GitHub API's control port (e.g. `/_control/fail?count=2&status=500`). */
export async function control(sb: Sandbox, pathAndQuery: string, body?: unknown): Promise<void> {
    const res = await fetch(`${sb.controlUrl}${pathAndQuery}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`fake GitHub control ${pathAndQuery}: ${res.status} ${await res.text()}`);
}

/** SSH sessions the sandbox sshd accepted so far (LogLevel VERBOSE logs one line per session). */
export function acceptedSessions(sb: Sandbox): number {
    return (fs.readFileSync(path.join(sb.stateDir, "sshd.log"), "utf8").match(/Accepted publickey/g) ?? []).length;
}

/** Runs `fn` and returns how long it took, in ms, with its result or error text. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: string }> {
    const t0 = Date.now();
    try {
        const value = await fn();
        return { ms: Date.now() - t0, value };
    } catch (e) {
        return { ms: Date.now() - t0, error: errorText(e) };
    }
}

/** Collects engine output so a failing test shows it, and assertions can search it. */
export function collector(): { lines: string[]; onOutput: (s: string) => void; text: () => string } {
    const lines: string[] = [];
    return { lines, onOutput: (s: string) => lines.push(s), text: () => lines.join("") };
}

/** The message of a failed Automation API call, with the engine's stderr. */
export function errorText(e: unknown): string {
    const err = e as { message?: string; commandResult?: { stderr?: string; stdout?: string } };
    return [err.message ?? String(e), err.commandResult?.stderr ?? "", err.commandResult?.stdout ?? ""].join("\n");
}

/** One planned step of a preview: operation, resource name (last URN part), changed keys. */
export interface PlannedStep {
    op: string;
    name: string;
    type: string;
    diffs: string[];
}

/** Runs `preview` (each resource reads the host in its diff) and returns the steps that change something, providers included. */
export async function plannedChanges(stack: Stack): Promise<{ steps: PlannedStep[]; text: string }> {
    const steps: PlannedStep[] = [];
    const out = collector();
    await stack.preview({
        diff: true,
        onOutput: out.onOutput,
        onEvent: (e) => {
            const m = e.resourcePreEvent?.metadata;
            // A replacement also reports its create-replacement/delete-replaced halves. A provider that changes
            // on a clean host (e.g. options naming a file of the run) counts: it is not "no changes".
            if (!m || ["same", "read", "refresh", "create-replacement", "delete-replaced"].includes(m.op)) return;
            // The plugin's default provider takes the project's config namespace (github-flows-host:) as its own: any
            // config change (a rotated token) updates it, and it holds no host state.
            if (m.type === "pulumi:pulumi:Stack" || m.type === "pulumi:providers:github-flows-host") return;
            steps.push({ op: m.op, name: m.urn.split("::").pop() ?? m.urn, type: m.type, diffs: m.diffs ?? [] });
        },
    });
    return { steps, text: out.text() };
}

/** Steps as `op name` strings, sorted, for compact assertions. */
export function stepNames(steps: PlannedStep[]): string[] {
    return steps.map((s) => `${s.op} ${s.name}`).sort();
}

/** A second sshd on loopback that forwards only to the sandbox host: a bastion with its own host key. */
export interface Bastion {
    port: number;
    /** Its pinned public key, `ssh-ed25519 AAAA...`. */
    hostKey: string;
    stop: () => void;
}

export async function startBastion(sb: Sandbox, port: number): Promise<Bastion> {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-bastion-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(d, "host")]);
    const hostKey = fs.readFileSync(path.join(d, "host.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    fs.writeFileSync(
        path.join(d, "sshd_config"),
        [
            `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${path.join(d, "host")}`, `PidFile ${path.join(d, "pid")}`,
            `AuthorizedKeysFile ${path.join(sb.stateDir, "authorized_keys")}/%u`, "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "UsePAM no", `AllowUsers ${sb.sshUser}`, "AllowTcpForwarding yes", `PermitOpen ${sb.host}:${sb.port}`, "LogLevel VERBOSE", "",
        ].join("\n"),
    );
    const proc = spawn("/usr/sbin/sshd", ["-D", "-f", path.join(d, "sshd_config"), "-E", path.join(d, "log")], { stdio: "ignore" });
    for (let i = 0; i < 50 && !onHost(`ss -ltn 'sport = :${port}' | tail -n +2`).trim(); i++) await new Promise((r) => setTimeout(r, 100));
    return {
        port,
        hostKey,
        stop: () => {
            proc.kill();
            fs.rmSync(d, { recursive: true, force: true });
        },
    };
}


/** What a program of its own (an example) needs from the sandbox host: the host, its settings, the credentials. */
export function sandboxHost(sb: Sandbox): { host: Record<string, unknown>; settings: Record<string, unknown>; secrets: Record<string, string> } {
    const { plain, secrets } = sandboxConfig(sb);
    const { name: _name, ...host } = (plain.hosts as Array<Record<string, unknown>>)[0];
    return {
        host,
        settings: { repositories: ["acme/demo"], imagePullFrom: plain.imagePullFrom, githubHost: plain.githubHost, checkDockerArgs: plain.checkDockerArgs },
        // The token as a secret file holds it, with a line ending (the program drops it).
        secrets: { sshPrivateKey: secrets.sshPrivateKey, githubToken: `${secrets.githubToken}\n` },
    };
}

/**
 * A stack `stackName` of the project in `dir` (an example), with its own file backend in `dir/.state`: `values`
 * set as the project's plain config, `secrets` as secrets on stdin (never on a command line). Returns the stack and
 * a runner of the CLI for it.
 */
export async function projectStack(
    dir: string,
    stackName: string,
    values: Record<string, unknown>,
    secrets: Record<string, string>,
): Promise<{ stack: Stack; pulumi: (args: string[], stdin?: string) => string }> {
    fs.rmSync(path.join(dir, ".state"), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, ".state"));
    const envVars = {
        PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
        PULUMI_CONFIG_PASSPHRASE: E2E_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const env = { ...process.env, ...envVars };
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir: dir }, { envVars });
    const pulumi = (args: string[], stdin = "") => execFileSync("pulumi", [...args, "--stack", stackName, "--non-interactive"], { cwd: dir, env, input: stdin, encoding: "utf8" });
    const project = (await stack.workspace.projectSettings()).name;
    const all = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [`${project}:${k}`, typeof v === "string" ? { value: v, secret: false } : { value: JSON.stringify(v), objectValue: v, secret: false }]),
    );
    pulumi(["config", "set-all", "--json", JSON.stringify(all)]);
    for (const [k, v] of Object.entries(secrets)) pulumi(["config", "set", "--secret", k], v);
    return { stack, pulumi };
}

/**
 * The setup document replayed by hand on the sandbox host (scripts/sandbox/by-hand.sh, as the runtime user, the token
 * as nano leaves it), with the profile and prompt of `repository` as an operator copies them from the program's
 * rendering (lib/profile.ts, the sandbox's config).
 */
export function setUpByHand(sb: Sandbox, repository: string): void {
    const { plain, secrets } = sandboxConfig(sb);
    const cfg = parseConfig({ ...plain, ...secrets });
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-by-hand-"));
    try {
        fs.writeFileSync(path.join(src, "profile.json"), profileJson(renderProfile({ ...cfg, repository })));
        fs.copyFileSync(path.join(REPO, "prompts/prompt.md"), path.join(src, "prompt.md"));
        const out = execFileSync("bash", [path.join(REPO, "scripts/sandbox/by-hand.sh"), "--profile", repository, src], { input: sb.validToken, encoding: "utf8" });
        expect(out).toContain("gh-token-ok");
    } finally {
        fs.rmSync(src, { recursive: true, force: true });
    }
}
