import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeConnections, SshTarget } from "../../lib/ssh";
import { imagePresenceProvider, remoteDirectoryProvider, remoteFileProvider } from "../../providers";
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

describe("RemoteFile provider", () => {
    it("with a scan root, the diffs of 30 files take one SSH exec; a file this process writes is looked at again", async () => {
        const root = path.join(tmp, "scan");
        const f = (i: number) => ({ connection: target, path: path.join(root, `r${i}`, "t", "profile.json"), owner: me, runtimeUser: me, mode: "644", content: `p${i}\n`, scan: root, sha256: "" });
        const outs = await Promise.all(Array.from({ length: 30 }, (_, i) => remoteFileProvider.create(f(i)).then((r) => r.outs!)));
        fs.chmodSync(f(7).path, 0o600);
        const before = execs;
        const diffs = [];
        for (let i = 0; i < 30; i++) diffs.push((await remoteFileProvider.diff!("id", outs[i], f(i))).changes);
        expect(execs - before).toBe(1);
        expect(diffs.map((c, i) => (c ? i : -1)).filter((i) => i >= 0)).toEqual([7]);
        await remoteFileProvider.update!("id", outs[7], f(7));
        const after = execs;
        expect((await remoteFileProvider.diff!("id", outs[7], f(7))).changes).toBe(false);
        expect(execs - after).toBe(1); // its own look, not the scan's stale 600
    });

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
