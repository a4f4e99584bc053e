import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { apiKeyLoginScript, CheckContainer, VerifySpec, verifyScript } from "../../lib/checks";
import { EXIT } from "../../lib/hostfs";
import { ensureDirectoryScript, launch, removeFileScript, statDirectoryScript, statFileScript, writeFileScript } from "../../lib/shell";
import { FIXTURES } from "../fixtures/config";

/**
 * The generated shell run for real as root, with `nobody` as the runtime user: the adversary. Its tree lives
 * under a root-owned directory outside /tmp (a directory `nobody` can write, like /tmp, would be its territory).
 */
const ADV = "nobody";
let ADV_UID = 0;
let ADV_GID = 0;
let base: string;
let victim: string;

/** Runs generated shell like an SSH session does: the short command, the script and stdin on standard input. */
function run(script: string, stdin = "", env: NodeJS.ProcessEnv = process.env) {
    const l = launch(script, stdin);
    const r = spawnSync("sh", ["-c", l.command], { input: l.input, env });
    return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Shell text as the adversary, e.g. to plant a link. */
const asAdversary = (script: string) => {
    const r = spawnSync("setpriv", ["--reuid", String(ADV_UID), "--regid", String(ADV_GID), "--init-groups", "sh", "-c", script]);
    expect(r.status, r.stderr.toString()).toBe(0);
};

const stat = (p: string) => {
    const s = fs.lstatSync(p);
    return `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
};
/** Owners, modes and contents under the victim directory: none of it may change. */
const victimState = () =>
    fs
        .readdirSync(victim)
        .sort()
        .map((f) => `${f} ${stat(path.join(victim, f))} ${fs.lstatSync(path.join(victim, f)).isFile() ? fs.readFileSync(path.join(victim, f), "utf8") : ""}`)
        .join("\n") + `\n. ${stat(victim)}`;

let home: string;
let before: string;

beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests drop privileges from root to 'nobody': run them as root (npm test does)");
    const ent = spawnSync("getent", ["passwd", ADV]).stdout.toString().split(":");
    [ADV_UID, ADV_GID] = [Number(ent[2]), Number(ent[3])];
    base = fs.mkdtempSync("/var/lib/gfh-unit-hostfs-");
    fs.chmodSync(base, 0o755);
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

beforeEach(() => {
    const d = fs.mkdtempSync(path.join(base, "case-"));
    fs.chmodSync(d, 0o755);
    home = path.join(d, "home");
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chownSync(home, ADV_UID, ADV_GID);
    victim = path.join(d, "victim");
    fs.mkdirSync(victim, { mode: 0o755 });
    fs.writeFileSync(path.join(victim, "root-only"), "root-only", { mode: 0o640 });
    fs.writeFileSync(path.join(victim, "config"), "root config", { mode: 0o644 });
    before = victimState();
});

describe("directories as the runtime user (SSH user root)", () => {
    it("creates the directory as the runtime user, with its mode", () => {
        const r = run(ensureDirectoryScript({ path: `${home}/.secrets/codex`, owner: ADV, mode: "700" }));
        expect(r.code, r.stderr).toBe(0);
        expect(stat(`${home}/.secrets`)).toBe(`755 ${ADV_UID}:${ADV_GID}`);
        expect(stat(`${home}/.secrets/codex`)).toBe(`700 ${ADV_UID}:${ADV_GID}`);
    });

    it.each([
        ["the directory itself", ".secrets", ".secrets"],
        ["a parent", ".secrets", ".secrets/codex"],
    ])("refuses a link at %s, naming its target, and changes nothing there", (_what, link, dir) => {
        asAdversary(`ln -s ${victim} ${home}/${link}`);
        const r = run(ensureDirectoryScript({ path: `${home}/${dir}`, owner: ADV, mode: "700" }));
        expect(r.code).toBe(EXIT.link);
        expect(r.stderr).toContain(`${home}/.secrets is a symlink to ${victim}: refusing`);
        expect(victimState()).toBe(before);
    });

    it("root creates a missing directory in a parent only root can write, then hands it over", () => {
        const srv = path.join(path.dirname(home), "srv");
        const r = run(ensureDirectoryScript({ path: `${srv}/flows/.secrets`, owner: ADV, mode: "700" }));
        expect(r.code, r.stderr).toBe(0);
        expect(stat(srv)).toBe(`755 ${ADV_UID}:${ADV_GID}`);
        expect(stat(`${srv}/flows/.secrets`)).toBe(`700 ${ADV_UID}:${ADV_GID}`);
        expect(stat(path.dirname(home))).toBe("755 0:0");
    });

    it("hands over an existing configured directory in a parent only root can write", () => {
        const d = path.join(path.dirname(home), "etc-secrets");
        fs.mkdirSync(d, { mode: 0o755 });
        expect(run(ensureDirectoryScript({ path: d, owner: ADV, mode: "700" })).code).toBe(0);
        expect(stat(d)).toBe(`700 ${ADV_UID}:${ADV_GID}`);
    });

    it("does not chown a root-owned directory inside the runtime user's tree: it names it instead", () => {
        fs.mkdirSync(`${home}/.secrets`, { mode: 0o755 });
        const r = run(ensureDirectoryScript({ path: `${home}/.secrets`, owner: ADV, mode: "700" }));
        expect(r.code).toBe(EXIT.foreignOwner);
        expect(r.stderr).toContain(`${home}/.secrets is owned by root, not ${ADV}`);
        expect(stat(`${home}/.secrets`)).toBe("755 0:0");
    });

    it("follows a link in a directory only root can write (the host's own layout, e.g. /home -> /usr/home)", () => {
        const d = path.dirname(home);
        fs.symlinkSync(d, path.join(d, "alias"));
        const r = run(ensureDirectoryScript({ path: `${d}/alias/home/.secrets`, owner: ADV, mode: "700" }));
        expect(r.code, r.stderr).toBe(0);
        expect(stat(`${home}/.secrets`)).toBe(`700 ${ADV_UID}:${ADV_GID}`);
        // Root creates nothing behind a link: where it leads is not checked, so the runtime user has to.
        const s = run(ensureDirectoryScript({ path: `${d}/alias/srv/.secrets`, owner: ADV, mode: "700" }));
        expect(s.code).toBe(EXIT.cannotCreate);
        expect(fs.existsSync(`${d}/srv`)).toBe(false);
    });

    it("fails naming the user when it does not exist, and when the SSH user is neither root nor the runtime user", () => {
        const r = run(ensureDirectoryScript({ path: `${home}/.secrets`, owner: "gfh-no-such-user", mode: "700" }));
        expect(r.code).toBe(EXIT.noUser);
        expect(r.stderr).toContain("the runtime user 'gfh-no-such-user' does not exist on this host");
        const l = launch(ensureDirectoryScript({ path: `${home}/.secrets`, owner: "daemon", mode: "700" }));
        const other = spawnSync("setpriv", ["--reuid", String(ADV_UID), "--regid", String(ADV_GID), "--init-groups", "sh", "-c", l.command], { input: l.input });
        expect(other.status).toBe(EXIT.wrongSshUser);
        expect(other.stderr.toString()).toContain(`the SSH user ${ADV} is neither root nor the runtime user daemon`);
        expect(fs.existsSync(`${home}/.secrets`)).toBe(false);
    });

    it("reads and removes as the runtime user", () => {
        fs.writeFileSync(`${home}/root-file`, "secret", { mode: 0o600 });
        expect(run(statFileScript(`${home}/root-file`, ADV)).stdout).toBe("present 600 root unreadable\n");
        asAdversary(`mkdir -m 700 ${home}/.secrets && ln -s ${victim}/config ${home}/.secrets/gh-token`);
        expect(run(statDirectoryScript(`${home}/.secrets`, ADV)).stdout).toBe(`present 700 ${ADV} 0\n`);
        expect(run(removeFileScript(`${home}/.secrets/gh-token`, ADV)).code).toBe(0);
        expect(fs.existsSync(`${home}/.secrets/gh-token`)).toBe(false);
        expect(victimState()).toBe(before);
    });
});

describe("file writes as the runtime user (SSH user root)", () => {
    beforeEach(() => asAdversary(`mkdir -m 700 ${home}/.secrets`));

    it("writes the file as the runtime user", () => {
        const r = run(writeFileScript({ path: `${home}/.secrets/gh-token`, owner: ADV, mode: "600" }), "ghp_new");
        expect(r.code, r.stderr).toBe(0);
        expect(stat(`${home}/.secrets/gh-token`)).toBe(`600 ${ADV_UID}:${ADV_GID}`);
        expect(fs.readFileSync(`${home}/.secrets/gh-token`, "utf8")).toBe("ghp_new");
    });

    it("removes temp files and links an earlier write left under its own temp name, never a directory or another name", () => {
        const s = `${home}/.secrets`;
        asAdversary(`printf old > ${s}/.gh-token.AAAAAAAAAA && ln -s ${victim}/config ${s}/.gh-token.BBBBBBBBBB && mkdir ${s}/.gh-token.CCCCCCCCCC && printf x > ${s}/.gh-token.verify.DDDDDDDDDD`);
        const r = run(writeFileScript({ path: `${s}/gh-token`, owner: ADV, mode: "600" }), "ghp_new");
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readdirSync(s).sort()).toEqual([".gh-token.CCCCCCCCCC", ".gh-token.verify.DDDDDDDDDD", "gh-token"]);
        expect(victimState()).toBe(before);
    });

    it("writes side by side into shared missing parents (resources run in parallel)", async () => {
        // A slow mkdir widens the window between "is it there?" and "make it" that parallel runs race through.
        const bin = fs.mkdtempSync(path.join(base, "bin-"));
        fs.chmodSync(bin, 0o755);
        fs.writeFileSync(path.join(bin, "mkdir"), `#!/bin/sh\nsleep 0.2\nexec /usr/bin/mkdir "$@"\n`, { mode: 0o755 });
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
        const one = (i: number) =>
            new Promise<number | null>((resolve) => {
                const l = launch(writeFileScript({ path: `${home}/work/cfg/repos/bulk/r${i}/issue_comment-created/profile.json`, owner: ADV, mode: "644" }), `{"n":${i}}`);
                // As the runtime user itself (the sandbox's SSH user), where no privilege change slows the race down.
                const p = spawn("setpriv", ["--reuid", String(ADV_UID), "--regid", String(ADV_GID), "--init-groups", "sh", "-c", l.command], { stdio: ["pipe", "ignore", "ignore"], env });
                p.stdin.end(l.input);
                p.on("exit", resolve);
            });
        const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => one(i)));
        expect(codes).toEqual(codes.map(() => 0));
        expect(fs.readdirSync(`${home}/work/cfg/repos/bulk`)).toHaveLength(20);
        expect(stat(`${home}/work/cfg/repos`)).toBe(`755 ${ADV_UID}:${ADV_GID}`);
    });

    it("refuses a link at the file, naming its target", () => {
        asAdversary(`ln -s ${victim}/root-only ${home}/.secrets/gh-token`);
        const r = run(writeFileScript({ path: `${home}/.secrets/gh-token`, owner: ADV, mode: "600" }), "ghp_new");
        expect(r.code).toBe(EXIT.link);
        expect(r.stderr).toContain(`${home}/.secrets/gh-token is a symlink to ${victim}/root-only: refusing`);
        expect(victimState()).toBe(before);
    });

    it("refuses a link at a profile directory", () => {
        asAdversary(`mkdir -p ${home}/cfg/repos/acme/demo && ln -s ${victim} ${home}/cfg/repos/acme/demo/issue_comment-created`);
        const r = run(writeFileScript({ path: `${home}/cfg/repos/acme/demo/issue_comment-created/profile.json`, owner: ADV, mode: "644" }), "{}");
        expect(r.code).toBe(EXIT.link);
        expect(r.stderr).toContain(`issue_comment-created is a symlink to ${victim}: refusing`);
        expect(victimState()).toBe(before);
    });

    it("a temp file swapped for a link while the content is written reaches nothing of root's", () => {
        // The adversary wins the race: right after mktemp it replaces the file with a link to a root-owned file.
        const bin = fs.mkdtempSync(path.join(base, "bin-"));
        fs.chmodSync(bin, 0o755);
        fs.writeFileSync(
            path.join(bin, "mktemp"),
            `#!/bin/sh\nt=$(/usr/bin/mktemp "$@") || exit\nrm -f "$t" && ln -s ${victim}/config "$t" 2>/dev/null\nprintf '%s\\n' "$t"\n`,
            { mode: 0o755 },
        );
        const r = run(writeFileScript({ path: `${home}/.secrets/gh-token`, owner: ADV, mode: "600" }), "ghp_new", { ...process.env, PATH: `${bin}:${process.env.PATH}` });
        expect(r.code).not.toBe(0);
        expect(victimState()).toBe(before);
        expect(fs.existsSync(`${home}/.secrets/gh-token`)).toBe(false);
    });

    it("names temp files unpredictably (10 random characters) and creates them as the runtime user", () => {
        const bin = fs.mkdtempSync(path.join(base, "bin-"));
        fs.chmodSync(bin, 0o755);
        const log = path.join(home, "seen");
        fs.writeFileSync(path.join(bin, "mktemp"), `#!/bin/sh\nt=$(/usr/bin/mktemp "$@") || exit\nprintf '%s %s\\n' "$*" "$(stat -c %u "$t")" >> ${log}\nprintf '%s\\n' "$t"\n`, { mode: 0o755 });
        const r = run(writeFileScript({ path: `${home}/.secrets/gh-token`, owner: ADV, mode: "600" }), "ghp_new", { ...process.env, PATH: `${bin}:${process.env.PATH}` });
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readFileSync(log, "utf8")).toBe(`-- ${home}/.secrets/.gh-token.XXXXXXXXXX ${ADV_UID}\n`);
    });
});

describe("checks as the runtime user (SSH user root)", () => {
    let bin: string;
    let log: string;
    const GOOD = "ghp_goodtoken";

    beforeEach(() => {
        bin = fs.mkdtempSync(path.join(base, "bin-"));
        fs.chmodSync(bin, 0o755);
        for (const f of ["docker", "gh", "codex"]) fs.copyFileSync(path.join(FIXTURES, "fakebin", f), path.join(bin, f));
        // The staged token's owner, as the container would see its source file.
        fs.renameSync(path.join(bin, "docker"), path.join(bin, "docker-fake"));
        fs.writeFileSync(
            path.join(bin, "docker"),
            `#!/bin/sh\nfor a do case "$a" in type=bind,src=*dst=/run/secrets/gh-token*) f=\${a#type=bind,src=}; stat -c %u "\${f%%,*}" >> "$FAKE_LOG/staged-owner";; esac; done\nexec "${bin}/docker-fake" "$@"\n`,
        );
        for (const f of fs.readdirSync(bin)) fs.chmodSync(path.join(bin, f), 0o755);
        log = fs.mkdtempSync(path.join(base, "log-"));
        asAdversary(`mkdir -m 700 ${home}/.secrets`);
    });

    const env = (): NodeJS.ProcessEnv => ({ PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log, FAKE_IMAGE: "img", FAKE_GOOD_TOKEN: GOOD, FAKE_LOGIN: "octocat", FAKE_REPOS: "acme/demo" });
    const spec = (): VerifySpec => ({
        runtimeUser: ADV,
        image: "img",
        tokenFile: `${home}/.secrets/gh-token`,
        codexDir: `${home}/.secrets/codex`,
        githubHost: "github.com",
        dockerArgs: [],
        repositories: ["acme/demo"],
        where: "host 'h' (127.0.0.1:22)",
        loginCommand: "codex login",
        staging: true,
        requiredPermission: "push",
    });

    it("stages the token for a container of the runtime user, outside its tree", () => {
        asAdversary(`mkdir -m 700 ${home}/.secrets/codex && echo '{}' > ${home}/.secrets/codex/auth.json`);
        const r = run(verifyScript(spec()), GOOD, env());
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readFileSync(path.join(log, "staged-owner"), "utf8")).toBe(`${ADV_UID}\n`);
        expect(fs.readdirSync(`${home}/.secrets`)).toEqual(["codex"]);
    });

    it("refuses a Codex directory linked elsewhere before docker mounts it", () => {
        asAdversary(`ln -s ${victim} ${home}/.secrets/codex`);
        const r = run(verifyScript(spec()), GOOD, env());
        expect(r.code).toBe(EXIT.link);
        expect(r.stderr).toContain(`${home}/.secrets/codex is a symlink to ${victim}: refusing`);
        const c: CheckContainer = { runtimeUser: ADV, image: "img", tokenFile: spec().tokenFile, codexDir: spec().codexDir, githubHost: "github.com", dockerArgs: [] };
        const login = run(apiKeyLoginScript(c), "sk-key\n", env());
        expect(login.code).toBe(EXIT.link);
        expect(fs.readdirSync(log).filter((f) => f.startsWith("docker-argv-"))).toEqual([]);
        expect(victimState()).toBe(before);
    });
});
