import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeConnections, SshTarget } from "../../lib/ssh";
import { imagePresenceProvider, remoteDirectoryProvider, remoteFileProvider, remoteFileSetProvider } from "../../providers";
import { startShServer } from "../fixtures/sshServer";

/**
 * The dynamic providers' create, read, diff, update, delete and error paths, driven directly against an
 * in-process SSH server (ssh2's `Server`) that runs each command with this machine's `sh`, as this user: the
 * same generated shell text an engine would send, with no engine and no sandbox.
 */
const me = os.userInfo().username;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-providers-"));
const bin = path.join(tmp, "bin");
let close: () => void;
let target: SshTarget;
let execs = 0;

beforeAll(async () => {
    // A fake `docker` for the image probe: images are files in $tmp/images; a file `down` makes the daemon dead.
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(tmp, "images"));
    fs.writeFileSync(
        path.join(bin, "docker"),
        [
            "#!/bin/sh",
            `[ -e '${tmp}/down' ] && { echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1; }`,
            `f='${tmp}/images/'$(printf '%s' "$5" | tr '/:' '__')`,
            `[ -e "$f" ] && { cat "$f"; exit 0; }`,
            `echo "Error response from daemon: No such image: $5" >&2; exit 1`,
        ].join("\n"),
        { mode: 0o755 },
    );
    ({ target, close } = await startShServer({ ...process.env, PATH: `${bin}:${process.env.PATH}` }, () => execs++));
});

afterAll(async () => {
    await closeConnections();
    close();
    fs.rmSync(tmp, { recursive: true, force: true });
});

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe("RemoteFileSet provider", () => {
    let root = "";
    const files = (n: number, extra: Record<string, string> = {}) => ({
        ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`o/r${i}/t/profile.json`, `p${i}\n`])),
        ...extra,
    });
    const set = (f: Record<string, string>) => ({ connection: target, path: root, owner: me, runtimeUser: me, mode: "644", files: f });
    beforeEach(() => void (root = fs.mkdtempSync(path.join(tmp, "set-"))));

    it("writes 30 files in one exec; a diff reads them all in one; only a drifted file is rewritten", async () => {
        const before = execs;
        const { id, outs } = await remoteFileSetProvider.create(set(files(30)));
        expect(execs - before).toBe(2); // one reading, one write script
        expect(id).toBe(`${target.host}:${target.port}:${root}`);
        expect(outs.paths).toHaveLength(30);
        expect(outs.adopted).toEqual([]);
        expect(outs).not.toHaveProperty("files");
        expect(fs.readFileSync(path.join(root, "o/r7/t/profile.json"), "utf8")).toBe("p7\n");
        const d0 = execs;
        expect((await remoteFileSetProvider.diff!(id, outs, set(files(30)))).changes).toBe(false);
        expect(execs - d0).toBe(1);
        fs.chmodSync(path.join(root, "o/r7/t/profile.json"), 0o600);
        expect((await remoteFileSetProvider.diff!(id, outs, set(files(30)))).changes).toBe(true);
        const kept = fs.statSync(path.join(root, "o/r8/t/profile.json"));
        await remoteFileSetProvider.update!(id, outs, set(files(30)));
        expect(mode(path.join(root, "o/r7/t/profile.json"))).toBe("644");
        const again = fs.statSync(path.join(root, "o/r8/t/profile.json"));
        expect([again.ino, again.mtimeMs]).toEqual([kept.ino, kept.mtimeMs]);
        expect((await remoteFileSetProvider.diff!(id, outs, set(files(30)))).changes).toBe(false);
    });

    it("a file dropped from the set is removed; one it found on the host is adopted and left by removal and delete", async () => {
        fs.mkdirSync(path.join(root, "by/hand/t"), { recursive: true });
        fs.writeFileSync(path.join(root, "by/hand/t/profile.json"), "hand\n", { mode: 0o644 });
        const { outs } = await remoteFileSetProvider.create(set(files(3)));
        const withHand = set(files(3, { "by/hand/t/profile.json": "program\n" }));
        expect((await remoteFileSetProvider.diff!("id", outs, withHand)).changes).toBe(true);
        const { outs: o2 } = await remoteFileSetProvider.update!("id", outs, withHand);
        expect(o2.adopted).toEqual(["by/hand/t/profile.json"]);
        expect(fs.readFileSync(path.join(root, "by/hand/t/profile.json"), "utf8")).toBe("program\n");
        const { outs: o3 } = await remoteFileSetProvider.update!("id", o2, set(files(2, { "by/hand/t/profile.json": "program\n" })));
        expect(fs.existsSync(path.join(root, "o/r2/t/profile.json"))).toBe(false);
        expect(o3.paths).toEqual(["by/hand/t/profile.json", "o/r0/t/profile.json", "o/r1/t/profile.json"]);
        await remoteFileSetProvider.delete!("id", o3);
        expect(fs.existsSync(path.join(root, "o/r0/t/profile.json"))).toBe(false);
        expect(fs.existsSync(path.join(root, "by/hand/t/profile.json"))).toBe(true);
    });

    it("refuses a path that is not a plain relative one, naming it, before touching the host", async () => {
        const before = execs;
        await expect(remoteFileSetProvider.create(set({ "../escape/x/y": "x" }))).rejects.toThrow(`files of ${root}: '../escape/x/y' is not a plain relative path`);
        expect(execs).toBe(before);
    });

    it("refresh keeps the paths still on the host", async () => {
        const { id, outs } = await remoteFileSetProvider.create(set(files(2)));
        fs.rmSync(path.join(root, "o/r1/t/profile.json"));
        const r = await remoteFileSetProvider.read!(id, outs);
        expect(r.props?.paths).toEqual(["o/r0/t/profile.json"]);
    });
});

describe("RemoteFile provider", () => {
    const file = () => ({ connection: target, path: path.join(tmp, "secrets", "gh-token"), owner: me, runtimeUser: me, mode: "600", content: "ghp_unit_token", sha256: "" });

    it("creates the file with its bytes and mode; a diff on a clean host finds nothing", async () => {
        const { outs } = await remoteFileProvider.create(file());
        expect(fs.readFileSync(file().path, "utf8")).toBe("ghp_unit_token");
        expect(mode(file().path)).toBe("600");
        expect((await remoteFileProvider.diff!("id", outs!, file())).changes).toBe(false);
    });

    it("a chmod, an edit or a deletion on the host shows in the diff, and update repairs it", async () => {
        const outs = { ...file(), sha256: "x" };
        for (const drift of [() => fs.chmodSync(file().path, 0o644), () => fs.writeFileSync(file().path, "edited"), () => fs.rmSync(file().path)]) {
            drift();
            expect((await remoteFileProvider.diff!("id", outs, file())).changes).toBe(true);
            await remoteFileProvider.update!("id", outs, file());
            expect((await remoteFileProvider.diff!("id", outs, file())).changes).toBe(false);
            expect(fs.readFileSync(file().path, "utf8")).toBe("ghp_unit_token");
        }
    });

    it("read reports what the host has (for pulumi refresh), an empty id once the file is gone", async () => {
        const r = await remoteFileProvider.read!("id", file());
        expect(r.props).toMatchObject({ mode: "600", owner: me });
        expect(r.props!.sha256).toMatch(/^[0-9a-f]{64}$/);
        await remoteFileProvider.delete!("id", file());
        expect(fs.existsSync(file().path)).toBe(false);
        expect((await remoteFileProvider.read!("id", file())).id).toBe("");
    });

    it("moving the path or the host replaces; a failing write names the path and the host", async () => {
        expect(await remoteFileProvider.diff!("id", file(), { ...file(), path: path.join(tmp, "other") })).toMatchObject({ changes: true, replaces: ["path"] });
        fs.writeFileSync(path.join(tmp, "plainfile"), "");
        const bad = { ...file(), path: path.join(tmp, "plainfile", "gh-token") };
        await expect(remoteFileProvider.create(bad)).rejects.toThrow(new RegExp(`writing ${bad.path.replace(/[/.]/g, "\\$&")} on ${me}@127\\.0\\.0\\.1:\\d+ failed`));
    });
});

describe("RemoteDirectory provider", () => {
    const dir = () => ({ connection: target, path: path.join(tmp, "d", "codex"), owner: me, runtimeUser: me, mode: "700", removeOnDelete: "empty" as const });

    it("creates, sees a chmod as drift, repairs it, and removes only an empty directory", async () => {
        const { outs } = await remoteDirectoryProvider.create(dir());
        expect(mode(dir().path)).toBe("700");
        expect((await remoteDirectoryProvider.diff!("id", outs!, dir())).changes).toBe(false);
        fs.chmodSync(dir().path, 0o755);
        expect((await remoteDirectoryProvider.diff!("id", outs!, dir())).changes).toBe(true);
        await remoteDirectoryProvider.update!("id", outs!, dir());
        expect(mode(dir().path)).toBe("700");
        fs.writeFileSync(path.join(dir().path, "auth.json"), "{}");
        await remoteDirectoryProvider.delete!("id", dir());
        expect(fs.existsSync(path.join(dir().path, "auth.json"))).toBe(true);
    });
});

describe("ImagePresence provider", () => {
    const probe = () => ({ connection: target, names: ["127.0.0.1:5000/agent:latest", "agent:latest"] });
    const image = (n: string) => path.join(tmp, "images", n.replace(/[/:]/g, "_"));

    it("no change while every name is on the daemon; a removed one bumps the generation", async () => {
        for (const n of probe().names) fs.writeFileSync(image(n), "sha256:1111\n");
        const { outs } = await imagePresenceProvider.create(probe());
        expect(outs!.generation).toBe(0);
        expect((await imagePresenceProvider.diff!("id", outs!, probe())).changes).toBe(false);
        fs.rmSync(image("agent:latest"));
        expect((await imagePresenceProvider.diff!("id", outs!, probe())).changes).toBe(true);
        expect((await imagePresenceProvider.update!("id", outs!, probe())).outs!.generation).toBe(1);
    });

    it("a daemon that cannot answer fails the diff instead of reading as a missing image", async () => {
        fs.writeFileSync(path.join(tmp, "down"), "");
        try {
            await expect(imagePresenceProvider.diff!("id", { ...probe(), generation: 0 }, probe())).rejects.toThrow(/Cannot connect to the Docker daemon/);
        } finally {
            fs.rmSync(path.join(tmp, "down"));
        }
    });
});
