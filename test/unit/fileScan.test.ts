import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import { parseFileScan, scanFilesScript } from "../../lib/fileScan";
import { badRelativePath, planFileSet, removeFilesScript, under, writeFilesScript } from "../../lib/fileSet";
import { launch, statFileScript } from "../../lib/shell";

/**
 * The scan that answers every profile's diff, run for real as root with `nobody` as the runtime user: it must see
 * each file as `statFileScript` sees it, and nothing the runtime user plants may pass for one of the files.
 */
const ADV = "nobody";
let root: string;
let uid = 0;
let gid = 0;

const exec = (script: string, stdin = "") => {
    const l = launch(script, stdin);
    const r = spawnSync("sh", ["-c", l.command], { input: l.input });
    return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
};
const run = (script: string, stdin = "") => {
    const r = exec(script, stdin);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
};
const asAdversary = (script: string) => {
    const r = spawnSync("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "sh", "-c", script]);
    expect(r.status, r.stderr.toString()).toBe(0);
};

beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests drop privileges from root to 'nobody': run them as root (npm test does)");
    const ent = spawnSync("getent", ["passwd", ADV]).stdout.toString().split(":");
    [uid, gid] = [Number(ent[2]), Number(ent[3])];
    const base = fs.mkdtempSync("/var/lib/gfh-unit-scan-");
    fs.chmodSync(base, 0o755);
    root = path.join(base, "repos");
    fs.mkdirSync(root);
    fs.chownSync(root, uid, gid);
});
afterAll(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

describe("scanFilesScript", () => {
    it("sees every file of the name as statFileScript does, and nothing else", () => {
        asAdversary(
            [
                `cd '${root}'`,
                "for r in acme/a acme/b 'odd/name with spaces'; do mkdir -p \"$r/issue_comment-created\"; printf '{\"r\":\"%s\"}\\n' \"$r\" >\"$r/issue_comment-created/profile.json\"; done",
                "chmod 600 acme/b/issue_comment-created/profile.json",
                "echo other >acme/a/issue_comment-created/prompt.md",
                // Deeper than a profile lies, a link, a directory with a line break in its name.
                "mkdir -p deep/a/b/c && echo x >deep/a/b/c/profile.json",
                "mkdir -p links/x/t && ln -s ../../../acme/a/issue_comment-created/profile.json links/x/t/profile.json",
                "mkdir -p \"$(printf 'evil\\nname')/x/t\" && echo e >\"$(printf 'evil\\nname')/x/t/profile.json\"",
            ].join("\n"),
        );
        fs.mkdirSync(`${root}/rootowned/x/t`, { recursive: true });
        fs.writeFileSync(`${root}/rootowned/x/t/profile.json`, "secret", { mode: 0o600 });
        const files = parseFileScan(run(scanFilesScript(root, ["profile.json"], ADV)));
        const want = ["acme/a", "acme/b", "odd/name with spaces", "rootowned/x"].map((r) => `${root}/${r}/${r === "rootowned/x" ? "t" : "issue_comment-created"}/profile.json`);
        const plain = [...files.keys()].filter((p) => !p.includes("\n")).sort();
        expect(plain).toEqual(want.sort());
        for (const p of want) {
            const f = files.get(p)!;
            expect(run(statFileScript(p, ADV))).toBe(`present ${f.mode} ${f.owner} ${f.sha256}\n`);
        }
        expect(files.get(want.find((p) => p.includes("rootowned"))!)!.sha256).toBe("unreadable");
        expect(files.get(`${root}/acme/b/issue_comment-created/profile.json`)!.mode).toBe("600");
    });

    it("looks for several names at once, and for every file with `*`", () => {
        const base = `${root}/two`;
        asAdversary(`mkdir -p '${base}/o/r/t' && echo p >'${base}/o/r/t/profile.json' && echo q >'${base}/o/r/t/prompt.md' && echo n >'${base}/o/r/t/notes'`);
        const names = (n: string[]) => [...parseFileScan(run(scanFilesScript(base, n, ADV))).keys()].map((p) => p.slice(base.length + 1)).sort();
        expect(names(["profile.json", "prompt.md"])).toEqual(["o/r/t/profile.json", "o/r/t/prompt.md"]);
        expect(names(["*"])).toEqual(["o/r/t/notes", "o/r/t/profile.json", "o/r/t/prompt.md"]);
        // A name is an argument, never shell text.
        expect(names(["$(touch /tmp/gfh-scan-pwned)", "prompt.md"])).toEqual(["o/r/t/prompt.md"]);
        expect(fs.existsSync("/tmp/gfh-scan-pwned")).toBe(false);
    });

    it("lists nothing when the root is missing or a link", () => {
        expect(parseFileScan(run(scanFilesScript(`${root}/missing`, ["profile.json"], ADV))).size).toBe(0);
        asAdversary(`ln -s '${root}/acme' '${root}/acme-link'`);
        expect(parseFileScan(run(scanFilesScript(`${root}/acme`, ["profile.json"], ADV))).size).toBe(2);
        expect(parseFileScan(run(scanFilesScript(`${root}/acme-link`, ["profile.json"], ADV))).size).toBe(0);
    });

    it("a forged sum line or record cannot name a file it did not list", () => {
        const sum = "a".repeat(64);
        const out = `644 user /w/cfg/repos/a/b/t/profile.json\0\ngfh-scan-sums\n${sum}  /w/cfg/repos/x/profile.json\n\\${sum}  /w/cfg/repos/a/b/t/profile.json\n`;
        const files = parseFileScan(out);
        expect([...files.keys()]).toEqual(["/w/cfg/repos/a/b/t/profile.json"]);
        expect(files.get("/w/cfg/repos/a/b/t/profile.json")!.sha256).toBe("unreadable");
        expect(parseFileScan("644 user /p\0").size).toBe(0); // cut off before the sums: nothing trusted
    });
});

const sha = (c: string) => crypto.createHash("sha256").update(c, "utf8").digest("hex");

describe("writeFilesScript and removeFilesScript (a file set's writes, as root with the runtime user 'nobody')", () => {
    const batch = (dir: string, files: Record<string, string>) => ({
        script: writeFilesScript({ owner: ADV, mode: "644", files: Object.entries(files).map(([rel, c]) => ({ path: under(dir, rel), bytes: Buffer.byteLength(c), sha256: sha(c) })) }),
        stdin: Object.values(files).join(""),
    });

    it("writes each file's own bytes from one stdin (multi-byte text too), the runtime user's, 0644, parents made", () => {
        const dir = `${root}/set1`;
        asAdversary(`mkdir '${dir}'`);
        const files = { "a/b/t/profile.json": '{"x": "é"}\n', "a/b/t/prompt.md": "", "c/d/t/prompt.md": "line\n\nmore" };
        const b = batch(dir, files);
        const out = run(b.script, b.stdin);
        expect(out.match(/^gfh-file=created written$/gm)).toHaveLength(3);
        for (const [rel, c] of Object.entries(files)) {
            expect(fs.readFileSync(under(dir, rel), "utf8")).toBe(c);
            const st = fs.statSync(under(dir, rel));
            expect([st.uid, st.mode & 0o777]).toEqual([uid, 0o644]);
        }
        expect(fs.statSync(`${dir}/c/d`).uid).toBe(uid);
        // Again: every file kept (inode and mtime), nothing rewritten.
        const before = fs.statSync(under(dir, "a/b/t/profile.json"));
        expect(run(b.script, b.stdin).match(/^gfh-file=found kept$/gm)).toHaveLength(3);
        const after = fs.statSync(under(dir, "a/b/t/profile.json"));
        expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    });

    it("stdin cut short leaves the file as it was and fails, naming it", () => {
        const dir = `${root}/set2`;
        asAdversary(`mkdir -p '${dir}/o/r/t' && echo old >'${dir}/o/r/t/profile.json'`);
        const b = batch(dir, { "o/r/t/profile.json": "new content\n" });
        const r = exec(b.script, "new con");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(`${dir}/o/r/t/profile.json: the content did not arrive whole`);
        expect(fs.readFileSync(`${dir}/o/r/t/profile.json`, "utf8")).toBe("old\n");
        expect(fs.readdirSync(`${dir}/o/r/t`)).toEqual(["profile.json"]);
    });

    it("refuses a link the runtime user planted at a file or a directory, writing nothing through it", () => {
        const dir = `${root}/set3`;
        fs.mkdirSync(`${root}/set3-target`, { mode: 0o755 });
        asAdversary(`mkdir -p '${dir}/o/r' && ln -s '${root}/set3-target' '${dir}/o/r/t' && mkdir -p '${dir}/p/q/t' && ln -s /etc/hostname '${dir}/p/q/t/profile.json'`);
        for (const rel of ["o/r/t/profile.json", "p/q/t/profile.json"]) {
            const b = batch(dir, { [rel]: "x" });
            const r = exec(b.script, b.stdin);
            expect(r.status, rel).not.toBe(0);
            expect(r.stderr, rel).toMatch(/is a symlink to .*: refusing/);
        }
        expect(fs.readdirSync(`${root}/set3-target`)).toEqual([]);
    });

    it("removes files as the runtime user, a link itself and never its target, a missing one no error", () => {
        const dir = `${root}/set4`;
        asAdversary(`mkdir -p '${dir}/o/r/t' && echo a >'${dir}/o/r/t/profile.json' && ln -s /etc/hostname '${dir}/o/r/t/prompt.md'`);
        run(removeFilesScript([`${dir}/o/r/t/profile.json`, `${dir}/o/r/t/prompt.md`, `${dir}/o/r/t/gone`], ADV));
        expect(fs.readdirSync(`${dir}/o/r/t`)).toEqual([]);
        expect(fs.existsSync("/etc/hostname")).toBe(true);
    });
});

describe("planFileSet", () => {
    const root = "/w/cfg/repos";
    const want = (sums: Record<string, string>) => ({ root, owner: "user", mode: "644", sums });
    const seen = (files: Record<string, [string, string, string]>) => new Map(Object.entries(files).map(([rel, [mode, owner, sha256]]) => [under(root, rel), { mode, owner, sha256 }]));

    it("writes what is absent or differs in bytes, mode or owner; keeps what matches (0644 and 644 alike)", () => {
        const p = planFileSet(seen({ a: ["644", "user", "1"], b: ["600", "user", "2"], c: ["644", "root", "3"], d: ["0644", "user", "9"] }), want({ a: "1", b: "2", c: "3", d: "4", e: "5" }), { paths: ["a", "b", "c", "d", "e"], adopted: [] });
        expect(p.write).toEqual(["b", "c", "d", "e"]);
        expect(p.remove).toEqual([]);
    });

    it("removes what the set held and wants no more, unless it adopted it or it is gone", () => {
        const p = planFileSet(seen({ old: ["644", "user", "1"], kept: ["644", "user", "1"], a: ["644", "user", "1"] }), want({ a: "1" }), { paths: ["a", "old", "kept", "gone"], adopted: ["kept"] });
        expect(p.remove).toEqual(["old"]);
    });

    it("adopts a wanted file the host had before the set held it, and keeps what it adopted", () => {
        const p = planFileSet(seen({ byHand: ["644", "user", "1"], mine: ["644", "user", "1"], earlier: ["644", "user", "1"] }), want({ byHand: "1", mine: "1", earlier: "1", fresh: "1" }), { paths: ["mine", "earlier"], adopted: ["earlier"] });
        expect(p.adopted).toEqual(["byHand", "earlier"]);
    });

    it("takes only plain relative paths the scan reaches", () => {
        for (const bad of ["/etc/x", "a/../b", "a//b", "./a", "a/b/c/d/e", "a\nb", "a\\b", ""]) expect(badRelativePath(bad), bad).toBeDefined();
        expect(badRelativePath("acme/demo/issue_comment-created/profile.json")).toBeUndefined();
    });
});
