import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { apiKeyLoginScript, CheckContainer, EXIT_MOUNT_SOURCE, VerifySpec, verifyScript } from "../../lib/checks";
import { FIXTURES } from "../fixtures/config";

/**
 * The check and login containers (lib/checks.ts) run as the runtime user's uid:gid, without capabilities, and the
 * docker daemon (root) binds only paths the runtime user cannot change. Run for real as root with `nobody` as the
 * runtime user and a fake docker that binds the sources as the daemon does (mount(2) as root, following links).
 */
const ADV = "nobody";
const IMAGE = "github-flows-agent-codex:latest";
/** Only this file's runs stage it: other test files run beside this one and stage theirs under /run too. */
const GOOD = "ghp_CheckContainerTestToken0123456789";
let uid = 0;
let gid = 0;
let base: string;
let bin: string;

beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests bind-mount and drop privileges to 'nobody': run them as root (npm test does)");
    const ent = execFileSync("getent", ["passwd", ADV]).toString().split(":");
    [uid, gid] = [Number(ent[2]), Number(ent[3])];
    // Outside /tmp: a directory `nobody` can write would be its territory.
    base = fs.mkdtempSync("/var/lib/gfh-unit-container-");
    fs.chmodSync(base, 0o755);
    bin = path.join(base, "bin");
    fs.mkdirSync(bin, { mode: 0o755 });
    for (const f of ["docker", "gh", "codex"]) {
        fs.copyFileSync(path.join(FIXTURES, "fakebin", f), path.join(bin, f));
        fs.chmodSync(path.join(bin, f), 0o755);
    }
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

let home: string;
let codex: string;
let log: string;
let victim: string;

beforeEach(() => {
    const d = fs.mkdtempSync(path.join(base, "case-"));
    fs.chmodSync(d, 0o755);
    home = path.join(d, "home");
    fs.mkdirSync(path.join(home, ".secrets", "codex"), { recursive: true, mode: 0o700 });
    for (const p of [home, path.join(home, ".secrets"), path.join(home, ".secrets", "codex")]) fs.chownSync(p, uid, gid);
    codex = path.join(home, ".secrets", "codex");
    fs.writeFileSync(path.join(codex, "auth.json"), "{}", { mode: 0o600 });
    fs.chownSync(path.join(codex, "auth.json"), uid, gid);
    log = path.join(d, "log");
    fs.mkdirSync(log, { mode: 0o777 });
    fs.chmodSync(log, 0o777);
    // Root-only: a directory and a file the runtime user cannot reach on the host.
    victim = path.join(d, "victim");
    fs.mkdirSync(victim, { mode: 0o700 });
    fs.writeFileSync(path.join(victim, "VICTIM-SECRET"), "VICTIM-SECRET", { mode: 0o600 });
});

const spec = (over: Partial<VerifySpec> = {}): VerifySpec => ({
    runtimeUser: ADV,
    image: IMAGE,
    tokenFile: path.join(home, ".secrets", "gh-token"),
    codexDir: codex,
    githubHost: "github.com",
    dockerArgs: [],
    repositories: ["acme/demo"],
    requiredPermission: "push",
    where: "host 'web-1' (203.0.113.10:22)",
    loginCommand: "LOGIN",
    staging: true,
    ...over,
});

function run(script: string, stdin: string, env: Record<string, string> = {}, asRuntimeUser = false) {
    const argv = asRuntimeUser ? ["setpriv", "--reuid", String(uid), "--regid", String(gid), "--clear-groups", "sh", "-c", script] : ["sh", "-c", script];
    const r = spawnSync(argv[0], argv.slice(1), {
        input: stdin,
        env: { PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log, FAKE_IMAGE: IMAGE, FAKE_GOOD_TOKEN: GOOD, FAKE_LOGIN: "octocat", FAKE_REPOS: "acme/demo", ...env },
    });
    return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const argvs = () =>
    fs
        .readdirSync(log)
        .filter((f) => f.startsWith("docker-argv-"))
        .sort()
        .map((f) => fs.readFileSync(path.join(log, f), "utf8").split("\0").slice(0, -1));
const daemonSaw = () =>
    fs
        .readdirSync(log)
        .filter((f) => f.startsWith("daemon-saw-"))
        .map((f) => fs.readFileSync(path.join(log, f), "utf8"))
        .join("\n");
/** Staged tokens and mounts of this test's runs left under /run (other test files run beside this one). */
const leftovers = () => [
    ...fs
        .readdirSync("/run")
        .filter((f) => f.startsWith("gfh-container."))
        .filter((f) => {
            try {
                return fs.readFileSync(path.join("/run", f, "gh-token"), "utf8") === GOOD;
            } catch {
                return false;
            }
        }),
    ...fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(home)),
];

/** The value of an option in one argv, the last one given (docker keeps the last). */
const last = (argv: string[], flag: string) => argv[argv.lastIndexOf(flag) + 1];

describe("the check and login containers run as the runtime user, without capabilities", () => {
    it("verify: --user is the numeric uid:gid from the host's passwd, after the operator's args; caps dropped; Codex read-only", () => {
        const r = run(verifyScript(spec({ dockerArgs: ["--network", "host"] })), GOOD);
        expect(r.code, r.stderr).toBe(0);
        const [argv] = argvs();
        expect(last(argv, "--user")).toBe(`${uid}:${gid}`);
        expect(argv.indexOf("--network")).toBeLessThan(argv.lastIndexOf("--user"));
        expect(last(argv, "--cap-drop")).toBe("ALL");
        expect(last(argv, "--security-opt")).toBe("no-new-privileges");
        expect(argv.find((a) => a.includes("dst=/home/user/.codex"))).toMatch(/,readonly$/);
        expect(argv.find((a) => a.includes("dst=/run/secrets/gh-token"))).toMatch(/,readonly$/);
        expect(argv).toContain("CODEX_HOME=/home/user/.codex");
        expect(leftovers()).toEqual([]);
    });

    it("login: the same user and hardening, the Codex directory writable (codex writes it as that uid)", () => {
        fs.rmSync(path.join(codex, "auth.json"));
        const c: CheckContainer = spec();
        const r = run(apiKeyLoginScript(c), "sk-unit-key\n");
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe("codex-login=created\n");
        const argv = argvs();
        expect(argv).toHaveLength(2);
        for (const a of argv) {
            expect(last(a, "--user")).toBe(`${uid}:${gid}`);
            expect(last(a, "--cap-drop")).toBe("ALL");
            expect(last(a, "--security-opt")).toBe("no-new-privileges");
            expect(a.find((w) => w.includes("dst=/home/user/.codex"))).not.toMatch(/readonly/);
        }
        const st = fs.statSync(path.join(codex, "auth.json"));
        expect(`${st.uid}:${st.gid}`).toBe(`${uid}:${gid}`);
        expect(leftovers()).toEqual([]);
    });

    it("the daemon binds only paths under a root-owned 0700 directory; the staged token is the runtime user's, 0400", () => {
        const script = verifyScript(spec()).replace(/^'docker' 'run'.*$/m, (line) => `stat -c '%a %u %n' "$sd" "$tok"; ${line}`);
        const r = run(script, GOOD);
        expect(r.code, r.stderr).toBe(0);
        const [dir, tok] = r.stdout.trim().split("\n").slice(0, 2);
        expect(dir).toMatch(/^700 0 \/run\/gfh-container\.\w+$/);
        expect(tok).toMatch(new RegExp(`^400 ${uid} /run/gfh-container\\.\\w+/gh-token$`));
        const [argv] = argvs();
        expect(argv.find((a) => a.includes("dst=/home/user/.codex"))).toMatch(/^type=bind,src=\/run\/gfh-container\.\w+\/codex,/);
        expect(argv.find((a) => a.includes("dst=/run/secrets/gh-token"))).toMatch(/^type=bind,src=\/run\/gfh-container\.\w+\/gh-token,/);
        expect(fs.readdirSync(path.join(home, ".secrets")).sort()).toEqual(["codex"]);
        expect(leftovers()).toEqual([]);
    });
});

describe("leftovers of a killed run", () => {
    it("a day-old staging directory under /run (a token, a bound Codex dir) is unmounted and removed; a fresh one is left", () => {
        const old = fs.mkdtempSync("/run/gfh-container.");
        const fresh = fs.mkdtempSync("/run/gfh-container.");
        try {
            for (const d of [old, fresh]) {
                fs.mkdirSync(path.join(d, "codex"));
                execFileSync("mount", ["-o", "bind", codex, path.join(d, "codex")]);
                fs.writeFileSync(path.join(d, "gh-token"), "stale-token");
            }
            execFileSync("touch", ["-d", "2 days ago", old]);
            expect(run(verifyScript(spec()), GOOD).code).toBe(0);
            expect(fs.existsSync(old)).toBe(false);
            expect(fs.readdirSync(fresh).sort()).toEqual(["codex", "gh-token"]);
            // The runtime user's files were only unmounted, never removed.
            expect(fs.readdirSync(codex)).toEqual(["auth.json"]);
        } finally {
            spawnSync("umount", [path.join(fresh, "codex")]);
            spawnSync("umount", [path.join(old, "codex")]);
            fs.rmSync(fresh, { recursive: true, force: true });
            fs.rmSync(old, { recursive: true, force: true });
        }
    });
});

describe("with the runtime user as the SSH user (it runs docker itself)", () => {
    it("stages the token beside the token file as that user, binds the paths as they are, removes the staged copy", () => {
        const r = run(verifyScript(spec()), GOOD, {}, true);
        expect(r.code, r.stderr).toBe(0);
        const [argv] = argvs();
        expect(last(argv, "--user")).toBe(`${uid}:${gid}`);
        expect(argv.find((a) => a.includes("dst=/run/secrets/gh-token"))).toMatch(new RegExp(`^type=bind,src=${home}/\\.secrets/\\.gh-token\\.verify\\.\\w+,`));
        expect(argv).toContain(`type=bind,src=${codex},dst=/home/user/.codex,readonly`);
        expect(fs.readdirSync(path.join(home, ".secrets"))).toEqual(["codex"]);
    });

    it("fails with exit 4 and a message when the token cannot be staged", () => {
        const r = run(verifyScript(spec({ tokenFile: path.join(home, ".secrets", "missing-dir", "gh-token") })), GOOD, {}, true);
        expect(r.code).toBe(4);
        expect(r.stderr).toContain("cannot stage the new token");
        expect(r.stderr).toContain("the old token file is unchanged");
        expect(argvs()).toEqual([]);
    });
});

describe("a link swapped in after the checks and before the daemon binds reaches nothing else", () => {
    it("the Codex directory swapped for a link to a root-only directory when docker runs: the container sees the real one", () => {
        const r = run(verifyScript(spec()), GOOD, { FAKE_SWAP: `${uid} ${codex} ${victim}` });
        expect(fs.readlinkSync(codex)).toBe(victim); // the adversary did win the race
        expect(r.code, r.stderr).toBe(0);
        expect(daemonSaw()).toContain("auth.json");
        expect(daemonSaw()).not.toContain("VICTIM-SECRET");
        expect(leftovers()).toEqual([]);
    });

    it("the same in the login container, which writes: nothing lands in the root-only directory", () => {
        fs.rmSync(path.join(codex, "auth.json"));
        const r = run(apiKeyLoginScript(spec()), "sk-unit-key\n", { FAKE_SWAP: `${uid} ${codex} ${victim}` });
        expect(fs.readlinkSync(codex)).toBe(victim);
        expect(r.code, r.stderr).toBe(0);
        expect(daemonSaw()).not.toContain("VICTIM-SECRET");
        expect(fs.readdirSync(victim)).toEqual(["VICTIM-SECRET"]);
        expect(fs.readFileSync(path.join(`${codex}.real`, "auth.json"), "utf8")).toBe("sk-unit-key\n");
    });

    it("the staged token's path swapped for a link to a root-only file: the runtime user cannot reach it", () => {
        // Whatever path the daemon is given for the token, the adversary tries to make it a link to the victim
        // (`$tmp`: the staged copy's name before this program staged it under /run).
        const script = verifyScript(spec());
        const r = run(script.replace(/^'docker' 'run'/m, `FAKE_SWAP="${uid} \${tok:-\$tmp} ${victim}/VICTIM-SECRET" 'docker' 'run'`), GOOD);
        expect(r.code, r.stderr).toBe(0);
        expect(daemonSaw()).toContain(GOOD);
        expect(daemonSaw()).not.toContain("VICTIM-SECRET");
        expect(leftovers()).toEqual([]);
    });

    it("a link swapped in between root's look and its bind mount is refused: another inode, nothing run", () => {
        // `mount` itself is where the adversary wins: it swaps the Codex path for a link, then the real mount runs.
        const mount = path.join(bin, "mount");
        fs.writeFileSync(mount, `#!/bin/sh\nsetpriv --reuid=${uid} --regid=${gid} --clear-groups -- sh -c 'mv "$1" "$1.real" && ln -s "$2" "$1"' sh ${codex} ${victim}\nexec /bin/mount "$@"\n`, { mode: 0o755 });
        try {
            const r = run(verifyScript(spec()), GOOD);
            expect(r.code).toBe(EXIT_MOUNT_SOURCE);
            expect(r.stderr).toContain(`${codex} changed while it was being mounted`);
            fs.rmSync(codex);
            fs.renameSync(`${codex}.real`, codex);
            const l = run(apiKeyLoginScript(spec()), "sk-unit-key\n");
            expect(l.code).toBe(EXIT_MOUNT_SOURCE);
        } finally {
            fs.rmSync(mount);
        }
        expect(argvs()).toEqual([]);
        expect(fs.readdirSync(victim)).toEqual(["VICTIM-SECRET"]);
        expect(leftovers()).toEqual([]);
    });

    it("a Codex path that is a link (or not the runtime user's directory) at root's look is refused", () => {
        fs.chownSync(codex, 0, 0);
        const r = run(verifyScript(spec()), GOOD);
        expect(r.code).toBe(EXIT_MOUNT_SOURCE);
        expect(argvs()).toEqual([]);
        expect(leftovers()).toEqual([]);
    });
});
