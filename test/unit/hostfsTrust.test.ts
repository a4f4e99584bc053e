import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EXIT } from "../../lib/hostfs";
import { ensureDirectoryScript, launch, writeFileScript } from "../../lib/shell";

/**
 * What root decides on its own, run for real as root with `nobody` as the runtime user: whether the runtime user
 * controls a directory (owner, group, mode, ACL: never a command run as that user, whose answer a same-uid ptrace
 * could change; here a `test` on PATH that lies stands in for the ptrace), and which existing directories it may
 * hand over (only empty, root-owned ones).
 */
const ADV = "nobody";
let ADV_UID = 0;
let ADV_GID = 0;
let base: string;
let lies: string;
/** A group made for these tests, with `nobody` as a supplementary member; removed afterwards. */
const SUP = `gfh-sup-${process.pid}`;
let supGid = 0;

function run(script: string) {
    const l = launch(script, "");
    // What a ptrace of the runtime user's `test` could make it say: "not writable", "not mine".
    const r = spawnSync("sh", ["-c", l.command], { input: l.input, env: { ...process.env, PATH: `${lies}:${process.env.PATH}` } });
    return { code: r.status, stderr: r.stderr.toString() };
}

const stat = (p: string) => {
    const s = fs.lstatSync(p);
    return `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
};
/** Owner, mode and entries of a directory: all of it must stay as it was. */
const snapshot = (d: string) => `${stat(d)} ${fs.readdirSync(d).sort().map((f) => `${f}=${stat(path.join(d, f))}`).join(",")}`;

beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests drop privileges from root to 'nobody': run them as root (npm test does)");
    const ent = spawnSync("getent", ["passwd", ADV]).stdout.toString().split(":");
    [ADV_UID, ADV_GID] = [Number(ent[2]), Number(ent[3])];
    base = fs.mkdtempSync("/var/lib/gfh-unit-trust-");
    fs.chmodSync(base, 0o755);
    lies = path.join(base, "lies");
    fs.mkdirSync(lies, { mode: 0o755 });
    fs.writeFileSync(path.join(lies, "test"), `#!/bin/sh\ncase "$1" in -w|-O) exit 1;; esac\nexec /usr/bin/test "$@"\n`, { mode: 0o755 });
    for (const tool of ["setfacl", "groupadd", "gpasswd"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: apt-get install acl passwd (scripts/test.sh does)`);
    }
    expect(spawnSync("groupadd", [SUP]).status).toBe(0);
    expect(spawnSync("gpasswd", ["-a", ADV, SUP], { stdio: "ignore" }).status).toBe(0);
    supGid = Number(spawnSync("getent", ["group", SUP]).stdout.toString().split(":")[2]);
});
afterAll(() => {
    spawnSync("groupdel", [SUP]);
    if (base) fs.rmSync(base, { recursive: true, force: true });
});

let parent: string;
beforeEach(() => {
    const d = fs.mkdtempSync(path.join(base, "case-"));
    fs.chmodSync(d, 0o755);
    parent = path.join(d, "parent");
    fs.mkdirSync(parent, { mode: 0o755 });
});

describe("root judges the runtime user's control of a directory itself", () => {
    /** Ways the runtime user controls `parent`, though it does not own it. */
    const grants: Array<[string, (p: string) => void]> = [
        ["writable by others", (p) => fs.chmodSync(p, 0o777)],
        ["writable by others, sticky (like /tmp)", (p) => fs.chmodSync(p, 0o1777)],
        ["writable by its primary group", (p) => (fs.chownSync(p, 0, ADV_GID), fs.chmodSync(p, 0o775))],
        ["writable by a supplementary group (from the group database)", (p) => (fs.chownSync(p, 0, supGid), fs.chmodSync(p, 0o770))],
        ["writable through an ACL naming the user", (p) => expect(spawnSync("setfacl", ["-m", `u:${ADV}:rwx`, p]).status).toBe(0)],
        ["writable through an ACL naming its group", (p) => expect(spawnSync("setfacl", ["-m", `g:${SUP}:rwx`, p]).status).toBe(0)],
        ["carrying only a default ACL (counted as writable)", (p) => expect(spawnSync("setfacl", ["-d", "-m", `u:${ADV}:rwx`, p]).status).toBe(0)],
    ];

    it.each(grants)("a parent %s: root stops there, and hands over nothing in it, whatever the user's processes say", (_what, grant) => {
        // Another account's directory with content, where the runtime user controls the parent.
        const d = path.join(parent, "secrets");
        fs.mkdirSync(d, { mode: 0o700 });
        fs.writeFileSync(path.join(d, "key"), "operator's", { mode: 0o600 });
        grant(parent);
        const before = snapshot(d);
        const r = run(ensureDirectoryScript({ path: d, owner: ADV, mode: "700" }));
        expect(r.code, r.stderr).toBe(EXIT.foreignOwner);
        expect(r.stderr).toContain(`${d} is owned by root, not ${ADV}`);
        expect(snapshot(d)).toBe(before);
    });

    it("a parent only root controls: root still creates and hands over, the lying `test` notwithstanding", () => {
        const r = run(ensureDirectoryScript({ path: `${parent}/flows/.secrets`, owner: ADV, mode: "700" }));
        expect(r.code, r.stderr).toBe(0);
        expect(stat(`${parent}/flows`)).toBe(`755 ${ADV_UID}:${ADV_GID}`);
        expect(stat(`${parent}/flows/.secrets`)).toBe(`700 ${ADV_UID}:${ADV_GID}`);
        expect(stat(parent)).toBe("755 0:0");
    });
});

describe("root hands over only a new or empty root-owned directory", () => {
    it.each([
        ["root's, holding a file", (d: string) => fs.writeFileSync(path.join(d, "passwd"), "x", { mode: 0o644 }), "root", 1],
        ["root's, holding only a hidden directory", (d: string) => fs.mkdirSync(path.join(d, ".git")), "root", 1],
        ["another account's, empty", (d: string) => fs.chownSync(d, 1, 1), "daemon", 0],
        ["another account's, holding a file", (d: string) => (fs.writeFileSync(path.join(d, "f"), "x"), fs.chownSync(d, 1, 1)), "daemon", 1],
    ] as const)("an existing directory %s in a root-only parent is refused, naming it; nothing changes", (_what, prepare, owner, entries) => {
        const d = path.join(parent, "bin");
        fs.mkdirSync(d, { mode: 0o755 });
        prepare(d);
        const before = snapshot(d);
        const r = run(ensureDirectoryScript({ path: d, owner: ADV, mode: "700" }));
        expect(r.code).toBe(EXIT.notHandedOver);
        expect(r.stderr).toContain(`${d} already exists, owned by ${owner}, holding ${entries} entries: refusing to give it to the runtime user ${ADV}`);
        expect(snapshot(d)).toBe(before);
    });
});

describe("root hands over nothing above the home or listed root a path lies in", () => {
    it("missing directories above it are made root's (0755); the first one at or below it is handed over", () => {
        const root = `${parent}/srv/flows`;
        const r = run(ensureDirectoryScript({ path: `${root}/secrets`, owner: ADV, mode: "700", within: root }));
        expect(r.code, r.stderr).toBe(0);
        expect(stat(`${parent}/srv`)).toBe("755 0:0");
        expect(stat(root)).toBe(`755 ${ADV_UID}:${ADV_GID}`);
        expect(stat(`${root}/secrets`)).toBe(`700 ${ADV_UID}:${ADV_GID}`);
    });

    it("the same for a file's parents (a profile under a workspace in a listed root)", () => {
        const ws = `${parent}/data/work`;
        const r = run(writeFileScript({ path: `${ws}/cfg/repos/acme/demo/profile.json`, owner: ADV, mode: "644", within: ws }));
        expect(r.code, r.stderr).toBe(0);
        expect(stat(`${parent}/data`)).toBe("755 0:0");
        expect(stat(ws)).toBe(`755 ${ADV_UID}:${ADV_GID}`);
        expect(stat(`${ws}/cfg/repos/acme/demo/profile.json`)).toBe(`644 ${ADV_UID}:${ADV_GID}`);
    });
});
