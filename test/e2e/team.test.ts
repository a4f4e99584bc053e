import * as crypto from "crypto";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFingerprint } from "../../lib/access";
import {
    collector, configureForSandbox, control, E2E_PASSPHRASE, killPulumi, newStack, onHost, plannedChanges, pulumiCli, REPO, resetHost, Sandbox, sandbox, setPlain,
    setSecret, stepNames, upError, upOk,
} from "./harness";
import { filesContaining, rand } from "./canary";
import { dumpState, pgSql, Postgres, postgres, stateKeys } from "./postgres";

const SECRETS = "/home/user/.secrets";
const TOKEN_FILE = `${SECRETS}/gh-token`;
const PROFILE_FILE = "/home/user/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created/profile.json";
const OPENAI_KEY = "sk-sandbox-team-0001";
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();

type Operator = Awaited<ReturnType<typeof newStack>>;

/** Like a `git pull` of the stack file: the other operator gets the same config (and encryption salt). */
function shareStackFile(from: Operator, to: Operator): void {
    const f = `Pulumi.${from.stack.name}.yaml`;
    fs.copyFileSync(path.join(from.dir, f), path.join(to.dir, f));
}

/** `KEY=VALUE` lines of a systemd environment file. */
function parseEnvFile(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
        if (m) env[m[1]] = m[2];
    }
    return env;
}

describe("team use: shared state in PostgreSQL, two operators, the drift job", () => {
    // A stack of its own per run: a run killed half-way leaves its rows beside the next run's, never in its way.
    const name = `team-${rand().slice(0, 8)}`;
    let pg: Postgres;
    let sb: Sandbox;
    let a: Operator;
    let b: Operator;
    let jobDir: string;

    beforeAll(async () => {
        pg = postgres();
        sb = sandbox();
        resetHost();
        a = await newStack(name, pg.backend);
        await configureForSandbox(a.stack, sb);
        await setSecret(a.stack, "openaiApiKey", OPENAI_KEY);
        // The second operator: another checkout of the project, the same stack file, the same state.
        b = await newStack(name, pg.backend);
        shareStackFile(a, b);
        jobDir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-drift-job-"));
    }, 300_000);

    afterAll(async () => {
        try {
            if (a) {
                await a.stack.destroy({ onOutput: () => undefined });
                await a.stack.workspace.removeStack(name);
            }
        } finally {
            // removeStack keeps the stack's backups and history; this run's rows go with it.
            if (a) pgSql(`DELETE FROM pulumi_state WHERE key LIKE '%/${name}%'`);
            await a?.cleanup();
            await b?.cleanup();
            if (jobDir) fs.rmSync(jobDir, { recursive: true, force: true });
        }
    }, 300_000);

    const lockKeys = () => stateKeys(`%/.pulumi/locks/%/${name}/%`);

    it("up, then a preview with no changes, the state only in PostgreSQL and seen the same by both operators", async () => {
        await upOk(a.stack);
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(sb.validToken);
        expect(stateKeys(`%/.pulumi/stacks/github-flows-host/${name}.json`)).toHaveLength(1);
        expect(fs.readdirSync(path.join(a.dir, ".state"))).toEqual([]);
        for (const op of [a, b]) {
            const { steps, text } = await plannedChanges(op.stack);
            expect(stepNames(steps), text).toEqual([]);
        }
        expect(pulumiCli(b.stack, ["stack", "output", "--json"])).toBe(pulumiCli(a.stack, ["stack", "output", "--json"]));
        expect(lockKeys()).toEqual([]);
    }, 300_000);

    describe("the drift job, installed as systemd would run it", () => {
        let runJob: () => { status: number | null; stdout: string; stderr: string };
        let runConfined: () => { status: number | null; stdout: string; stderr: string; cache: string };

        beforeAll(() => {
            // The project checkout the job runs is operator A's.
            fs.mkdirSync(path.join(a.dir, "scripts/lib"), { recursive: true });
            for (const f of ["scripts/drift-check.sh", "scripts/lib/trust.sh"]) fs.copyFileSync(path.join(REPO, f), path.join(a.dir, f));
            const passphrase = path.join(jobDir, "passphrase");
            fs.writeFileSync(passphrase, E2E_PASSPHRASE, { mode: 0o600 });
            const envFile = path.join(jobDir, "drift.env");
            // The engine's home as this run has it (scripts/toolchain.sh installed the plugins there), else root's ~/.pulumi.
            const home = process.env.PULUMI_HOME ? `PULUMI_HOME=${process.env.PULUMI_HOME}\n` : "";
            fs.writeFileSync(envFile, `PULUMI_BACKEND_URL=${pg.url}\nPGPASSFILE=${pg.passfile}\nPULUMI_CONFIG_PASSPHRASE_FILE=${passphrase}\n${home}`, { mode: 0o600 });
            const root = path.join(jobDir, "root");
            const inst = spawnSync("bash", [path.join(REPO, "scripts/install-drift-job.sh"), "--stack", name, "--env-file", envFile, "--project", a.dir, "--root", root], { encoding: "utf8" });
            expect(inst.status, inst.stderr).toBe(0);
            const unit = fs.readFileSync(path.join(root, "etc/systemd/system/github-flows-drift@.service"), "utf8");
            const line = (k: string) => [...unit.matchAll(new RegExp(`^${k}=(.*)$`, "gm"))].map((m) => m[1].replace(/%i/g, name));
            // What systemd does for github-flows-drift@<name>.service: User=root's environment, the EnvironmentFile,
            // Environment= lines, then ExecStart with ${VAR} replaced (each such word stays one argument).
            const env: Record<string, string> = { HOME: os.homedir(), USER: "root", LOGNAME: "root" };
            for (const f of line("EnvironmentFile")) Object.assign(env, parseEnvFile(fs.readFileSync(path.join(root, f), "utf8")));
            for (const e of line("Environment")) Object.assign(env, parseEnvFile(e));
            const argv = line("ExecStart")[0].split(" ").map((w) => w.replace(/\$\{(\w+)\}/g, (_, k: string) => env[k] ?? ""));
            runJob = () => {
                const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env, cwd: "/" });
                return { status: r.status, stdout: r.stdout, stderr: r.stderr };
            };
            // The unit's sandbox, as far as a test can make it without systemd as PID 1: every mount read-only
            // (ProtectSystem=strict, ProtectHome=read-only) but the cache directory systemd would create (and a
            // temp dir: PrivateTmp would hide this test's checkout, which lives under /tmp), no capability, no new
            // privileges. The probe fails the run if the file system is still writable.
            const cache = path.join(jobDir, "cache");
            const tmp = path.join(jobDir, "tmp");
            for (const d of [cache, tmp]) fs.mkdirSync(d, { mode: 0o700 });
            const confine = [
                "set -e",
                // ReadWritePaths=-/root/.github-flows-host: the program's ssh-agent socket (the installer makes the dir).
                'mkdir -p -m 0700 "$HOME/.github-flows-host"',
                'for d in "$CACHE_DIRECTORY" "$TMPDIR" "$HOME/.github-flows-host"; do mount --bind "$d" "$d"; done',
                "awk '{ print $2 }' /proc/self/mounts | sort -u | while read -r m; do",
                '  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$CACHE_DIRECTORY"|"$TMPDIR"|"$HOME/.github-flows-host") continue ;; esac',
                '  mount -o remount,bind,ro "$m" 2>/dev/null || true',
                "done",
                'for probe in /.gfh-probe "$HOME/.gfh-probe" "$GFH_PROJECT_DIR/.gfh-probe"; do',
                '  if touch "$probe" 2>/dev/null; then rm -f "$probe"; echo "confine: $probe is writable" >&2; exit 99; fi',
                "done",
                'exec setpriv --no-new-privs --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$@"',
            ].join("\n");
            runConfined = () => {
                const r = spawnSync("unshare", ["--mount", "--propagation", "private", "bash", "-c", confine, "confine", ...argv], {
                    encoding: "utf8",
                    env: { ...env, CACHE_DIRECTORY: cache, TMPDIR: tmp },
                    cwd: "/",
                });
                return { status: r.status, stdout: r.stdout, stderr: r.stderr, cache };
            };
        });

        it("runs in the unit's sandbox (read-only but its cache, no capabilities): the program built in the cache, clean, exit 0", () => {
            const r = runConfined();
            expect(r, r.stderr).toMatchObject({ status: 0, stdout: "sandbox clean\n", stderr: "" });
            // The program's build is in the cache; beside it at most the plugin's, whose checkout (the one that
            // installed it: scripts/toolchain.sh) is this repository, not operator A's copy of it, and which builds
            // here only when that checkout has no build of its own yet.
            const key = (root: string) => crypto.createHash("sha256").update(root).digest("hex").slice(0, 16);
            const builds = fs.readdirSync(path.join(r.cache, "github-flows-host"));
            expect(builds).toContain(key(a.dir));
            expect(builds.filter((b) => b !== key(a.dir) && b !== key(REPO))).toEqual([]);
        }, 300_000);

        it("stays quiet when nothing drifted: one clean line, exit 0", () => {
            const r = runJob();
            expect(r, r.stderr).toEqual({ status: 0, stdout: "sandbox clean\n", stderr: "" });
        }, 300_000);

        it("reports a chmod of the token file naming the host, exit 1; after the other operator's up, clean again", async () => {
            onHost(`chmod 644 ${TOKEN_FILE}`);
            const r = runJob();
            expect(r.status, r.stderr).toBe(1);
            // The providers' diff says "changed" only; a refresh pass would also name the property.
            expect(r.stdout).toMatch(new RegExp(`^sandbox drifted: update sandbox-gh-token ${TOKEN_FILE}( \\(mode 644, want 600\\))?\n$`));
            // The job only previews: the host is as the chmod left it, and no lock is left behind.
            expect(stat(TOKEN_FILE)).toBe("644 user");
            expect(lockKeys()).toEqual([]);
            await upOk(b.stack);
            expect(stat(TOKEN_FILE)).toBe("600 user");
            const again = runJob();
            expect(again, again.stderr).toEqual({ status: 0, stdout: "sandbox clean\n", stderr: "" });
        }, 300_000);
    });

    it("two operators: a second up while the first runs is refused naming the lock; nothing is lost; then it converges", async () => {
        // Operator A rotates the token; operator B, from the same stack file, also changes a profile setting.
        await setSecret(a.stack, "githubToken", sb.rotatedToken);
        shareStackFile(a, b);
        await setPlain(b.stack, "profile", { timeoutSec: 900 });
        const history = () => JSON.parse(pulumiCli(b.stack, ["stack", "history", "--json"])) as Array<{ kind: string; result: string }>;
        const before = history().length;
        // Three GitHub 500s make A's checks retry for 6 s (1 + 2 + 3): A holds the lock at least that long.
        await control(sb, "/_control/fail?count=3&status=500");
        const aOut = collector();
        const aUp = a.stack.up({ onOutput: aOut.onOutput });
        let lock: string[] = [];
        for (let i = 0; i < 600 && lock.length === 0; i++) {
            lock = lockKeys();
            if (lock.length === 0) await new Promise((r) => setTimeout(r, 100));
        }
        expect(lock, "operator A's lock row").toHaveLength(1);

        const refused = (await upError(b.stack)) ?? "";
        expect(refused).toContain("the stack is currently locked by 1 lock(s)");
        // The lock is named: its place in the database, and who holds it (A's pulumi process).
        expect(refused).toContain(lock[0].slice(lock[0].indexOf(".pulumi/locks/")));
        const holder = /created by (\S+)@(\S+) \(pid (\d+)\)/.exec(refused);
        expect(holder, refused).not.toBeNull();
        const cmdline = fs.readFileSync(`/proc/${holder![3]}/cmdline`, "utf8").split("\0");
        expect(path.basename(cmdline[0])).toBe("pulumi");
        expect(cmdline).toEqual(expect.arrayContaining(["up", name]));
        // B's refusal happened while A ran, and did not touch A's lock.
        expect(lockKeys()).toEqual(lock);

        const resA = await aUp;
        expect(resA.summary.result, aOut.text()).toBe("succeeded");
        // A's rotation, as on a file backend: only the checks and the token file change.
        expect({ update: resA.summary.resourceChanges?.update, replace: resA.summary.resourceChanges?.replace }).toEqual({ update: 1, replace: 1 });
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(sb.rotatedToken);
        expect(lockKeys()).toEqual([]);
        // The refused run left no trace in the history; A's rotation is there.
        const afterA = history();
        expect(afterA.length).toBe(before + 1);
        expect(afterA[0]).toMatchObject({ kind: "update", result: "succeeded" });

        // B again: its own change goes on top of A's rotation, which is kept.
        const { steps } = await plannedChanges(b.stack);
        expect(stepNames(steps)).toEqual(["update sandbox-profiles"]);
        const resB = await upOk(b.stack);
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(sb.rotatedToken);
        const hosts = resB.outputs.hosts.value as Record<string, { tokenFingerprint: string; profiles: Record<string, string> }>;
        expect(hosts.sandbox.tokenFingerprint).toBe(tokenFingerprint(sb.rotatedToken));
        expect(JSON.parse(Object.values(hosts.sandbox.profiles)[0]).execution.runtime.timeoutSec).toBe(900);
        expect(JSON.parse(fs.readFileSync(PROFILE_FILE, "utf8")).execution.runtime.timeoutSec).toBe(900);
        expect(stepNames((await plannedChanges(b.stack)).steps)).toEqual([]);
        // A takes B's stack file (the team's next commit): both now converge on the same state.
        shareStackFile(b, a);
        expect(stepNames((await plannedChanges(a.stack)).steps)).toEqual([]);
        expect(history().length).toBe(before + 2);
    }, 600_000);

    it("a killed run leaves its lock in the database; the other operator's pulumi cancel removes it, then up converges", async () => {
        await setSecret(a.stack, "githubToken", sb.validToken);
        const aUp = upError(a.stack);
        let lock: string[] = [];
        for (let i = 0; i < 600 && lock.length === 0; i++) {
            lock = lockKeys();
            if (lock.length === 0) await new Promise((r) => setTimeout(r, 100));
        }
        expect(lock, "operator A's lock row").toHaveLength(1);
        expect(killPulumi("up", name)).toBe(1);
        expect(await aUp).toBeDefined();
        // Nobody removes the lock of a dead process: B is refused until someone who knows it is dead cancels.
        expect(lockKeys()).toEqual(lock);
        expect(await upError(b.stack)).toContain("the stack is currently locked by 1 lock(s)");
        pulumiCli(b.stack, ["cancel", "--yes"]);
        expect(lockKeys()).toEqual([]);
        shareStackFile(a, b);
        await upOk(b.stack);
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(sb.validToken);
        for (const op of [a, b]) expect(stepNames((await plannedChanges(op.stack)).steps)).toEqual([]);
    }, 600_000);

    it("destroy from the shared state: the host's token file goes, the stack in the database is empty", async () => {
        const res = await a.stack.destroy({ onOutput: () => undefined });
        expect(res.summary.result).toBe("succeeded");
        expect(fs.existsSync(TOKEN_FILE)).toBe(false);
        const exported = JSON.parse(pulumiCli(b.stack, ["stack", "export"])) as { deployment: { resources?: unknown[] } };
        expect(exported.deployment.resources ?? []).toEqual([]);
        expect(lockKeys()).toEqual([]);
    }, 300_000);

    it("the database holds no plaintext secret: canary scan of a pg_dump, every stored row decoded", () => {
        const dir = path.join(jobDir, "dump");
        const { dump, decoded } = dumpState(dir);
        expect(fs.statSync(dump).size).toBeGreaterThan(0);
        // The stack's rows: current checkpoint, backups and the history of every run above.
        expect(decoded.filter((f) => f.includes(name)).length).toBeGreaterThan(4);
        const keyLines = fs.readFileSync(sb.keyFile, "utf8").split("\n").filter((l) => l.length > 40 && !l.startsWith("-----")).slice(2);
        const needles = [sb.validToken, sb.rotatedToken, OPENAI_KEY, E2E_PASSPHRASE, ...keyLines];
        // The scan can find: non-secret state (a resource name and the token's fingerprint output) is there in the clear.
        expect(filesContaining(["sandbox-gh-token", tokenFingerprint(sb.rotatedToken)], [dir], []).length).toBeGreaterThan(0);
        const found = filesContaining(needles, [dir], []);
        console.log(`canary matches (PostgreSQL): ${found.length}${found.length ? `\n  ${found.join("\n  ")}` : ""}`);
        expect(found).toEqual([]);
    }, 300_000);
});
