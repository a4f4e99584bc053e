import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureDirectoryScript, launch, writeFileScript } from "../../lib/shell";
import { closeConnections, SshTarget } from "../../lib/ssh";
import { remoteDirectoryProvider, remoteFileProvider } from "../../providers";
import { ME, sh, tempDirForFile } from "../fixtures/sh";
import { startShServer } from "../fixtures/sshServer";

/**
 * Adopting a host set up by hand (docs/adopting-a-host.md): the shell text that keeps what already matches, and the
 * providers' create/update/delete decisions on what they found, against an in-process SSH server.
 */
const tmp = tempDirForFile("gfh-adopt-");
const sha = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
/** What must stay for a path that is kept: inode and mtime (ns). */
const identity = (p: string) => {
    const s = fs.statSync(p, { bigint: true });
    return `${s.ino} ${s.mtimeNs}`;
};
const leftovers = (d: string) => fs.readdirSync(d).filter((f) => f.startsWith("."));
/** mtime granularity: a rewrite within the same clock tick would look like no change. */
const tick = () => new Promise((r) => setTimeout(r, 20));

describe("writeFileScript with the content's sha256 (run for real with sh)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(tmp, "write-"));
    });

    it("keeps a file that already holds the bytes: same inode and mtime, its directory untouched", async () => {
        const file = path.join(dir, "profile.json");
        fs.writeFileSync(file, "{}\n", { mode: 0o644 });
        const [f, d] = [identity(file), identity(dir)];
        await tick();
        const r = sh(writeFileScript({ path: file, owner: ME, mode: "644", sha256: sha("{}\n") }), "{}\n");
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe("gfh-file=found kept");
        expect([identity(file), identity(dir)]).toEqual([f, d]);
    });

    it("fixes a wrong mode with chmod alone", async () => {
        const file = path.join(dir, "gh-token");
        fs.writeFileSync(file, "ghp_x", { mode: 0o644 });
        const f = identity(file);
        await tick();
        const r = sh(writeFileScript({ path: file, owner: ME, mode: "600", sha256: sha("ghp_x") }), "ghp_x");
        expect(r.stdout.trim()).toBe("gfh-file=found chmod");
        expect(mode(file)).toBe("600");
        expect(identity(file)).toBe(f);
    });

    it("rewrites a file whose bytes differ (the token as nano leaves it) raw and atomically, saying it was found", async () => {
        const file = path.join(dir, "gh-token");
        fs.writeFileSync(file, "ghp_x\n", { mode: 0o600 });
        const before = fs.statSync(file).ino;
        const r = sh(writeFileScript({ path: file, owner: ME, mode: "600", sha256: sha("ghp_x") }), "ghp_x");
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe("gfh-file=found written");
        expect(fs.readFileSync(file)).toEqual(Buffer.from("ghp_x"));
        expect(fs.statSync(file).ino).not.toBe(before);
        expect(leftovers(dir)).toEqual([]);
    });

    it("says created for a new file, and always writes without a sha256 (the old contract)", () => {
        const file = path.join(dir, "new");
        expect(sh(writeFileScript({ path: file, owner: ME, mode: "644", sha256: sha("a") }), "a").stdout.trim()).toBe("gfh-file=created written");
        const ino = fs.statSync(file).ino;
        expect(sh(writeFileScript({ path: file, owner: ME, mode: "644" }), "a").stdout.trim()).toBe("gfh-file=found written");
        expect(fs.statSync(file).ino).not.toBe(ino);
    });

    it("a sha256 that matches does not make a link acceptable: refused, naming its target", () => {
        fs.writeFileSync(path.join(dir, "real"), "same");
        fs.symlinkSync(path.join(dir, "real"), path.join(dir, "gh-token"));
        const r = sh(writeFileScript({ path: path.join(dir, "gh-token"), owner: ME, mode: "600", sha256: sha("same") }), "same");
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("is a symlink to");
        expect(fs.lstatSync(path.join(dir, "gh-token")).isSymbolicLink()).toBe(true);
    });

    it("the kept path drains stdin: the launcher's script and a long content after it both arrive", () => {
        const file = path.join(dir, "big");
        const content = "x".repeat(300_000);
        fs.writeFileSync(file, content, { mode: 0o644 });
        const l = launch(writeFileScript({ path: file, owner: ME, mode: "644", sha256: sha(content) }), content);
        const r = spawnSync("sh", ["-c", l.command], { input: l.input });
        expect(r.status, r.stderr.toString()).toBe(0);
        expect(r.stdout.toString().trim()).toBe("gfh-file=found kept");
    });
});

describe("ensureDirectoryScript says whether the directory was there (run for real with sh)", () => {
    it("found: inode and mtime stay, a wrong mode is fixed; created: made with its mode", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "dir-"));
        const secrets = path.join(d, ".secrets");
        fs.mkdirSync(secrets, { mode: 0o755 });
        fs.writeFileSync(path.join(secrets, "gh-token"), "t");
        const before = identity(secrets);
        await tick();
        const r = sh(ensureDirectoryScript({ path: secrets, owner: ME, mode: "700" }));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe("gfh-dir=found");
        expect(mode(secrets)).toBe("700");
        expect(identity(secrets)).toBe(before);
        const codex = path.join(secrets, "codex");
        expect(sh(ensureDirectoryScript({ path: codex, owner: ME, mode: "700" })).stdout.trim()).toBe("gfh-dir=created");
        expect(mode(codex)).toBe("700");
    });

    it("a link where the directory should be is refused, not reported as found", () => {
        const d = fs.mkdtempSync(path.join(tmp, "dir-"));
        fs.mkdirSync(path.join(d, "elsewhere"));
        fs.symlinkSync(path.join(d, "elsewhere"), path.join(d, ".secrets"));
        const r = sh(ensureDirectoryScript({ path: path.join(d, ".secrets"), owner: ME, mode: "700" }));
        expect(r.code).not.toBe(0);
        expect(r.stdout).not.toContain("gfh-dir=");
    });
});

describe("a file the runtime user does not own is rewritten, not kept (SSH user root, runtime user nobody)", () => {
    it("same bytes but owned by root: replaced by the runtime user's file", () => {
        if (process.getuid?.() !== 0) throw new Error("this test drops privileges from root to 'nobody': run it as root (npm test does)");
        const base = fs.mkdtempSync("/var/lib/gfh-unit-adopt-");
        try {
            fs.chmodSync(base, 0o755);
            const home = path.join(base, "home");
            fs.mkdirSync(home, { mode: 0o700 });
            const ent = spawnSync("getent", ["passwd", "nobody"]).stdout.toString().split(":");
            fs.chownSync(home, Number(ent[2]), Number(ent[3]));
            const file = path.join(home, "gh-token");
            fs.writeFileSync(file, "ghp_x", { mode: 0o644 });
            const l = launch(writeFileScript({ path: file, owner: "nobody", mode: "600", sha256: sha("ghp_x") }), "ghp_x");
            const r = spawnSync("sh", ["-c", l.command], { input: l.input });
            expect(r.status, r.stderr.toString()).toBe(0);
            expect(r.stdout.toString().trim()).toBe("gfh-file=found written");
            expect(fs.statSync(file).uid).toBe(Number(ent[2]));
            expect(mode(file)).toBe("600");
        } finally {
            fs.rmSync(base, { recursive: true, force: true });
        }
    });
});

describe("providers on a host set up by hand (in-process SSH server)", () => {
    let target: SshTarget;
    let close: () => void;
    beforeAll(async () => ({ target, close } = await startShServer()));
    afterAll(async () => {
        await closeConnections();
        close();
    });

    const fileArgs = (p: string, content: string, m = "600") => ({ connection: target, path: p, owner: ME, runtimeUser: ME, mode: m, content, sha256: "" });
    const dirArgs = (p: string) => ({ connection: target, path: p, owner: ME, runtimeUser: ME, mode: "700", removeOnDelete: "empty" as const });

    it("RemoteFile: a matching file is found and kept; delete leaves it", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "pf-"));
        const p = path.join(d, "prompt.md");
        fs.writeFileSync(p, "# prompt\n", { mode: 0o644 });
        const before = identity(p);
        await tick();
        const { outs } = await remoteFileProvider.create(fileArgs(p, "# prompt\n", "644"));
        expect(outs).toMatchObject({ found: true, sha256: sha("# prompt\n") });
        expect(identity(p)).toBe(before);
        expect((await remoteFileProvider.diff!("id", outs!, fileArgs(p, "# prompt\n", "644"))).changes).toBe(false);
        await remoteFileProvider.delete!("id", outs!);
        expect(identity(p)).toBe(before);
    });

    it("RemoteFile: the token as nano leaves it is found, rewritten raw, and left on delete with the fixed bytes", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "pf-"));
        const p = path.join(d, "gh-token");
        fs.writeFileSync(p, "ghp_unit\n", { mode: 0o600 });
        const { outs } = await remoteFileProvider.create(fileArgs(p, "ghp_unit"));
        expect(outs!.found).toBe(true);
        expect(fs.readFileSync(p)).toEqual(Buffer.from("ghp_unit"));
        await remoteFileProvider.delete!("id", outs!);
        expect(fs.readFileSync(p)).toEqual(Buffer.from("ghp_unit"));
    });

    it("RemoteFile: found survives an update (a repaired drift); a created file is removed on delete", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "pf-"));
        const kept = path.join(d, "kept");
        fs.writeFileSync(kept, "v1", { mode: 0o600 });
        const a = (await remoteFileProvider.create(fileArgs(kept, "v1"))).outs!;
        fs.writeFileSync(kept, "edited");
        const { outs: updated } = await remoteFileProvider.update!("id", a, fileArgs(kept, "v1"));
        expect(updated).toMatchObject({ found: true });
        await remoteFileProvider.delete!("id", updated!);
        expect(fs.readFileSync(kept, "utf8")).toBe("v1");

        const made = path.join(d, "made");
        const b = (await remoteFileProvider.create(fileArgs(made, "v1"))).outs!;
        expect(b.found).toBe(false);
        fs.rmSync(made);
        const { outs: recreated } = await remoteFileProvider.update!("id", b, fileArgs(made, "v1"));
        expect(recreated).toMatchObject({ found: false });
        await remoteFileProvider.delete!("id", recreated!);
        expect(fs.existsSync(made)).toBe(false);
    });

    it("RemoteFile: state written before `found` existed is treated as created (removed on delete, stays so on update)", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "pf-"));
        const p = path.join(d, "gh-token");
        fs.writeFileSync(p, "old", { mode: 0o600 });
        const legacy = { ...fileArgs(p, "old"), sha256: sha("old") };
        const { outs } = await remoteFileProvider.update!("id", legacy, fileArgs(p, "new"));
        expect(outs).toMatchObject({ found: false });
        await remoteFileProvider.delete!("id", legacy);
        expect(fs.existsSync(p)).toBe(false);
    });

    it("RemoteDirectory: an existing directory is found, keeps inode and mtime, and is left on delete even when empty", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "pd-"));
        const secrets = path.join(d, ".secrets");
        fs.mkdirSync(secrets, { mode: 0o700 });
        const before = identity(secrets);
        await tick();
        const { outs } = await remoteDirectoryProvider.create(dirArgs(secrets));
        expect(outs).toMatchObject({ found: true });
        expect(identity(secrets)).toBe(before);
        await remoteDirectoryProvider.delete!("id", outs!);
        expect(fs.existsSync(secrets)).toBe(true);
    });

    it("RemoteDirectory: a created directory, and one in state without `found`, are removed on delete when empty", async () => {
        const d = fs.mkdtempSync(path.join(tmp, "pd-"));
        const made = path.join(d, "made");
        const { outs } = await remoteDirectoryProvider.create(dirArgs(made));
        expect(outs).toMatchObject({ found: false });
        await remoteDirectoryProvider.delete!("id", outs!);
        expect(fs.existsSync(made)).toBe(false);
        const legacy = path.join(d, "legacy");
        fs.mkdirSync(legacy, { mode: 0o700 });
        await remoteDirectoryProvider.delete!("id", dirArgs(legacy));
        expect(fs.existsSync(legacy)).toBe(false);
    });
});
