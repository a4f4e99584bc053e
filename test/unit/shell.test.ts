import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import { VerifySpec, verifyScript } from "../../lib/checks";
import {
    ancestors,
    ensureDirectoryScript,
    inspectImageScript,
    launch,
    pullImageScript,
    unlaunch,
    quote,
    quoteAll,
    removeEmptyDirectoryScript,
    removeFileScript,
    statDirectoryScript,
    statFileScript,
    writeFileScript,
} from "../../lib/shell";
import { FIXTURES, TOKEN } from "../fixtures/config";
import { ME, sh, tempDirForFile } from "../fixtures/sh";

const tmp = tempDirForFile("gfh-shell-");

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe("quote", () => {
    it.each([
        ["plain", "abc", "'abc'"],
        ["empty", "", "''"],
        ["spaces", "a b  c", "'a b  c'"],
        ["single quote", "it's", "'it'\\''s'"],
        ["double quotes", '"x"', "'\"x\"'"],
        ["command substitution", "$(id)", "'$(id)'"],
        ["backticks", "`id`", "'`id`'"],
        ["newline", "a\nb", "'a\nb'"],
        ["backslash", "a\\b", "'a\\b'"],
        ["unicode", "žluťoučký 🐎", "'žluťoučký 🐎'"],
    ])("quotes %s", (_name, input, want) => {
        expect(quote(input)).toBe(want);
    });

    it("rejects a NUL byte", () => {
        expect(() => quote("a\0b")).toThrow(/NUL/);
        expect(() => quoteAll(["ok", "\0"])).toThrow(/NUL/);
    });

    it("quoteAll joins quoted words", () => {
        expect(quoteAll(["a b", "c'd"])).toBe("'a b' 'c'\\''d'");
    });

    it.each(["bash", "sh"])("round-trips hostile fixed strings through %s", (shell) => {
        const marker = path.join(tmp, `marker-fixed-${shell}`);
        const payloads = [
            `$(touch ${marker})`,
            `\`touch ${marker}\``,
            `'; touch ${marker}; '`,
            `"; touch ${marker}; "`,
            `\\'$(touch ${marker})\\'`,
            `a\nb\r\n\tc`,
            "",
            "'",
            "''''",
            "\\",
            "$HOME ${HOME} $((1+1)) !! ~ * ? [a] {a,b} # & | ; < >",
        ];
        for (const s of payloads) {
            const out = execFileSync(shell, ["-c", `printf %s ${quote(s)}`]);
            expect(out.equals(Buffer.from(s, "utf8"))).toBe(true);
        }
        expect(fs.existsSync(marker)).toBe(false);
    });

    it("round-trips arbitrary strings through bash byte-exact and never executes them (property)", () => {
        const marker = path.join(tmp, "marker-prop");
        const specials = ["'", '"', "$", "`", "\\", "\n", "\r", "\t", " ", "(", ")", ";", "|", "&", "<", ">", "*", "?", "!", "~", "{", "}", "#", "%", "'\\''"];
        const unit = fc.oneof(
            fc.constantFrom(...specials),
            fc.constantFrom(`$(touch ${marker})`, `\`touch ${marker}\``, `'$(touch ${marker})'`),
            fc.string({ unit: "grapheme", maxLength: 3 }),
            fc.string({ unit: "binary-ascii", maxLength: 3 }),
        );
        fc.assert(
            fc.property(fc.array(unit, { maxLength: 12 }).map((parts) => parts.join("").replace(/\0/g, "")), (s) => {
                const out = execFileSync("bash", ["-c", `printf %s ${quote(s)}`]);
                expect(out.toString("hex")).toBe(Buffer.from(s, "utf8").toString("hex"));
            }),
            { numRuns: 100 },
        );
        expect(fs.existsSync(marker)).toBe(false);
    });

    it("quoteAll keeps word boundaries (property)", () => {
        fc.assert(
            fc.property(fc.array(fc.string({ unit: "grapheme-ascii", maxLength: 6 }), { minLength: 1, maxLength: 5 }), (words) => {
                const out = execFileSync("bash", ["-c", `printf '%s\\0' ${quoteAll(words)}`]).toString("utf8");
                expect(out).toBe(words.map((w) => `${w}\0`).join(""));
            }),
            { numRuns: 30 },
        );
    });
});

describe("ancestors", () => {
    it("lists parents outermost first without / and the path", () => {
        expect(ancestors("/home/user/.secrets/gh-token")).toEqual(["/home", "/home/user", "/home/user/.secrets"]);
        expect(ancestors("/a")).toEqual([]);
        expect(ancestors("/")).toEqual([]);
    });
});

describe("writeFileScript (run for real with sh)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(tmp, "write-"));
    });
    const leftovers = (d: string) => fs.readdirSync(d).filter((f) => f.startsWith("."));

    it("writes stdin byte-exact with mode 600 and leaves no temporary file", () => {
        const file = path.join(dir, "gh-token");
        const value = `ghp_$(touch ${dir}/pwned)\`id\`'"; rm -rf / #\\n`; // no trailing newline
        const r = sh(writeFileScript({ path: file, owner: ME, mode: "600" }), value);
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readFileSync(file).equals(Buffer.from(value, "utf8"))).toBe(true);
        expect(mode(file)).toBe("600");
        expect(fs.statSync(file).uid).toBe(os.userInfo().uid);
        expect(leftovers(dir)).toEqual([]);
        expect(fs.existsSync(path.join(dir, "pwned"))).toBe(false);
    });

    it("writes binary-ish and empty content exactly", () => {
        const file = path.join(dir, "f");
        const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 39, 34]);
        expect(sh(writeFileScript({ path: file, owner: ME, mode: "644" }), bytes).code).toBe(0);
        expect(fs.readFileSync(file).equals(bytes)).toBe(true);
        expect(mode(file)).toBe("644");
        expect(sh(writeFileScript({ path: file, owner: ME, mode: "600" }), "").code).toBe(0);
        expect(fs.readFileSync(file).length).toBe(0);
        expect(mode(file)).toBe("600");
    });

    it("creates missing parents and handles a path with spaces and quotes", () => {
        const file = path.join(dir, "a b", "it's", "profile.json");
        const r = sh(writeFileScript({ path: file, owner: ME, mode: "644" }), "{}\n");
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe("{}\n");
        expect(mode(path.join(dir, "a b"))).toBe("755");
    });

    it("replaces existing content atomically", () => {
        const file = path.join(dir, "gh-token");
        fs.writeFileSync(file, "old", { mode: 0o644 });
        expect(sh(writeFileScript({ path: file, owner: ME, mode: "600" }), "new").code).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe("new");
        expect(mode(file)).toBe("600");
        expect(leftovers(dir)).toEqual([]);
    });

    it("keeps the old content and removes the temporary file when a step fails (bad owner)", () => {
        const file = path.join(dir, "gh-token");
        fs.writeFileSync(file, "old-token");
        const r = sh(writeFileScript({ path: file, owner: "no-such-user-gfh", mode: "600" }), "new-token");
        expect(r.code).not.toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe("old-token");
        expect(leftovers(dir)).toEqual([]);
    });

    it("fails without touching anything when the directory is a file", () => {
        const notDir = path.join(dir, "secrets");
        fs.writeFileSync(notDir, "i am a file");
        const r = sh(writeFileScript({ path: path.join(notDir, "gh-token"), owner: ME, mode: "600" }), "new-token");
        expect(r.code).not.toBe(0);
        expect(fs.readFileSync(notDir, "utf8")).toBe("i am a file");
        expect(fs.readdirSync(dir)).toEqual(["secrets"]);
    });
});

describe("ensureDirectoryScript (run for real with sh)", () => {
    it("creates missing parents (0755) and the directory with its mode, idempotently", () => {
        const base = fs.mkdtempSync(path.join(tmp, "dir-"));
        fs.chmodSync(base, 0o711);
        const d = path.join(base, "home", "user", ".secrets");
        const script = ensureDirectoryScript({ path: d, owner: ME, mode: "700" });
        expect(sh(script).code).toBe(0);
        expect(mode(d)).toBe("700");
        expect(mode(path.join(base, "home"))).toBe("755");
        expect(mode(path.join(base, "home", "user"))).toBe("755");
        expect(mode(base)).toBe("711"); // existing parents untouched
        fs.writeFileSync(path.join(d, "keep"), "x");
        fs.chmodSync(d, 0o755); // drift
        expect(sh(script).code).toBe(0);
        expect(mode(d)).toBe("700");
        expect(fs.readFileSync(path.join(d, "keep"), "utf8")).toBe("x");
    });

    it("fails when the path is a file", () => {
        const f = path.join(tmp, "plain-file");
        fs.writeFileSync(f, "x");
        expect(sh(ensureDirectoryScript({ path: f, owner: ME, mode: "700" })).code).not.toBe(0);
    });

    it("removeEmptyDirectoryScript removes only empty directories", () => {
        const full = fs.mkdtempSync(path.join(tmp, "full-"));
        fs.writeFileSync(path.join(full, "auth.json"), "{}");
        const empty = fs.mkdtempSync(path.join(tmp, "empty-"));
        expect(sh(removeEmptyDirectoryScript(full, ME)).code).toBe(0);
        expect(sh(removeEmptyDirectoryScript(empty, ME)).code).toBe(0);
        expect(fs.existsSync(path.join(full, "auth.json"))).toBe(true);
        expect(fs.existsSync(empty)).toBe(false);
    });
});

describe("stat scripts (run for real with sh)", () => {
    it("statFileScript prints present <mode> <owner> <sha256> or absent", () => {
        const f = path.join(tmp, "stat file");
        fs.writeFileSync(f, TOKEN, { mode: 0o600 });
        fs.chmodSync(f, 0o600);
        const sha = crypto.createHash("sha256").update(TOKEN).digest("hex");
        const r = sh(statFileScript(f, ME));
        expect(r.stdout).toBe(`present 600 ${ME} ${sha}\n`);
        expect(r.stdout).not.toContain(TOKEN);
        expect(sh(statFileScript(path.join(tmp, "nope"), ME)).stdout).toBe("absent\n");
        expect(sh(removeFileScript(f, ME)).code).toBe(0);
        expect(fs.existsSync(f)).toBe(false);
        expect(sh(removeFileScript(f, ME)).code).toBe(0);
    });

    it("statDirectoryScript prints present <mode> <owner> <files up to depth 3> or absent", () => {
        const d = fs.mkdtempSync(path.join(tmp, "codex-"));
        fs.chmodSync(d, 0o700);
        expect(sh(statDirectoryScript(d, ME)).stdout).toBe(`present 700 ${ME} 0\n`);
        fs.mkdirSync(path.join(d, "a", "b", "c"), { recursive: true });
        fs.writeFileSync(path.join(d, "auth.json"), "{}");
        fs.writeFileSync(path.join(d, "a", "b", "depth3"), "");
        fs.writeFileSync(path.join(d, "a", "b", "c", "depth4"), "");
        expect(sh(statDirectoryScript(d, ME)).stdout).toBe(`present 700 ${ME} 2\n`);
        expect(sh(statDirectoryScript(path.join(d, "missing"), ME)).stdout).toBe("absent\n");
    });
});

describe("launch: the script on stdin, a short fixed command", () => {
    /** As an SSH session runs it: the login shell gets the command, the channel carries the input. */
    const ssh = (l: { command: string; input: string }) => {
        const r = spawnSync("sh", ["-c", l.command], { input: l.input });
        return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString(), error: r.error };
    };

    it("runs a script far over Linux's 128 KiB argument limit, and the command stays short", () => {
        const script = `set -eu\n${Array.from({ length: 6000 }, (_, i) => `x=${"y".repeat(40)}${i}`).join("\n")}\necho done "$x"`;
        expect(Buffer.byteLength(script)).toBeGreaterThan(256 * 1024);
        const l = launch(script);
        expect(l.command.length).toBeLessThan(400);
        const r = ssh(l);
        expect([r.code, r.stdout]).toEqual([0, `done ${"y".repeat(40)}5999\n`]);
        // The old way, the script as one argument, is what broke:
        expect(spawnSync("sh", ["-c", script]).error?.message).toMatch(/E2BIG/);
    });

    it("leaves what follows the script on stdin to the script, byte-exact", () => {
        const secret = `ghp_s3cr3t'"$(id)\n\r\n${"z".repeat(70000)}\n`;
        const l = launch("set -eu\ncat", secret);
        expect(l.command).not.toContain("ghp_");
        const r = ssh(l);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout === secret).toBe(true);
    });

    it("keeps exit statuses, set -e and traps of the script", () => {
        expect(ssh(launch("exit 7")).code).toBe(7);
        expect(ssh(launch("set -e\nfalse\necho not-here")).stdout).toBe("");
        expect(ssh(launch("trap 'echo trapped' EXIT\nexit 3"))).toMatchObject({ code: 3, stdout: "trapped\n" });
    });

    it("refuses a script cut off on the way (nothing of it runs)", () => {
        const l = launch(`echo ran\n${"# padding\n".repeat(50)}echo ran-too`);
        for (const cut of [l.input.slice(0, l.input.length - 6), l.input.slice(0, 20), ""]) {
            const r = spawnSync("sh", ["-c", l.command], { input: cut });
            expect(r.status).toBe(97);
            expect(r.stdout.toString()).toBe("");
            expect(r.stderr.toString()).toContain("did not arrive whole");
        }
    });

    it("sends the script packed: small in state, the same input for the same script, read back whole", () => {
        const script = verifyScript({
            runtimeUser: "user", image: "img:1", tokenFile: "/home/user/.secrets/gh-token", codexDir: "/home/user/.secrets/codex", githubHost: "github.com",
            dockerArgs: [], repositories: ["acme/demo"], where: "host 'web-1' (203.0.113.10:22)", loginCommand: "codex login", staging: true, requiredPermission: "push",
        });
        const l = launch(script, "ghp_tok");
        expect(l.input.length).toBeLessThan(Buffer.byteLength(script) / 2);
        expect(launch(script, "ghp_tok")).toEqual(l);
        expect(unlaunch(l)).toEqual({ script, stdin: "ghp_tok" });
        expect(() => unlaunch({ command: "/bin/sh -c 'true'", input: "x" })).toThrow(/not a command and input made by launch/);
    });

    it("verifyScript with 300 repositories of the longest names runs (one docker argument stays below 128 KiB)", () => {
        const repos = Array.from({ length: 300 }, (_, i) => `${"o".repeat(36)}${String(i).padStart(3, "0")}/${"r".repeat(100)}`);
        const bin = fs.mkdtempSync(path.join(tmp, "bin300-"));
        for (const f of ["docker", "gh", "codex"]) {
            fs.copyFileSync(path.join(FIXTURES, "fakebin", f), path.join(bin, f));
            fs.chmodSync(path.join(bin, f), 0o755);
        }
        const secrets = fs.mkdtempSync(path.join(tmp, "secrets300-"));
        fs.mkdirSync(path.join(secrets, "codex"));
        fs.writeFileSync(path.join(secrets, "codex", "auth.json"), "{}");
        const log = fs.mkdtempSync(path.join(tmp, "log300-"));
        const IMAGE = "github-flows-agent-codex:latest";
        const WHERE = "host 'web-1' (203.0.113.10:22)";
        const spec: VerifySpec = {
            runtimeUser: ME, image: IMAGE, tokenFile: path.join(secrets, "gh-token"), codexDir: path.join(secrets, "codex"), githubHost: "github.com",
            dockerArgs: [], repositories: repos, where: WHERE, loginCommand: "codex login", staging: true, requiredPermission: "push",
        };
        const l = launch(verifyScript(spec), "ghp_good300");
        const r = spawnSync("sh", ["-c", l.command], {
            input: l.input,
            env: { PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log, FAKE_IMAGE: IMAGE, FAKE_GOOD_TOKEN: "ghp_good300", FAKE_LOGIN: "octocat", FAKE_REPOS: repos.join(" ") },
        });
        expect(r.status, r.stderr.toString()).toBe(0);
        expect(r.stdout.toString()).toContain("gfh-checks=ok");
    }, 60_000);
});

describe("image scripts", () => {
    it("pullImageScript tags only when the names differ", () => {
        expect(pullImageScript("a:1", "a:1")).not.toContain("docker tag");
        expect(pullImageScript("127.0.0.1:5000/a:1", "a:latest")).toContain("docker tag '127.0.0.1:5000/a:1' 'a:latest'");
    });

    it("inspectImageScript tells a missing image from a daemon that cannot answer", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-inspect-"));
        const run = (fake: string) => {
            fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\n${fake}\n`, { mode: 0o755 });
            return spawnSync("sh", ["-c", inspectImageScript("a:1")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        };
        try {
            const ok = run("echo sha256:abc");
            expect([ok.status, ok.stdout]).toEqual([0, "sha256:abc\n"]);
            const absent = run("echo 'Error: No such image: a:1' >&2; exit 1");
            expect([absent.status, absent.stdout]).toEqual([0, "absent\n"]);
            const down = run("echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2; exit 1");
            expect(down.status).toBe(1);
            expect(down.stderr).toContain("Cannot connect to the Docker daemon");
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});
