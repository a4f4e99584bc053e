import { spawn } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config";
import { checkDockerArgs } from "../../lib/security";
import { rawConfig } from "../fixtures/config";

/**
 * The rules against the real Docker CLI: `docker run` talks to a fake daemon on a private unix socket that records
 * the container it is asked to create and refuses it. Whatever the rules accept, the CLI must parse, and what it
 * asks the daemon for must be safe. Needs the docker client only (scripts/sandbox.sh installs docker.io); no
 * daemon, no sandbox state.
 */

interface Created {
    Image: string;
    User?: string;
    Cmd: string[] | null;
    Env: string[] | null;
    HostConfig: Record<string, any>;
}

/** `/srv/ok` is listed read-only in allowedBindSources; every other bind source must be refused. */
const layout = parseConfig(rawConfig({ allowedBindSources: [{ path: "/srv/ok" }] }));
let dir: string;
let server: http.Server;
let last: Created | undefined;

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-dockercli-"));
    server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
            if (req.url?.endsWith("/_ping")) {
                res.writeHead(200, { "API-Version": "1.41", OSType: "linux" });
                res.end("OK");
            } else if (req.url?.includes("/containers/create")) {
                last = JSON.parse(body);
                res.writeHead(400, { "Content-Type": "application/json" });
                res.end(JSON.stringify({ message: "recorded by the test's fake daemon" }));
            } else {
                res.writeHead(404, { "Content-Type": "application/json" });
                res.end("{}");
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(path.join(dir, "docker.sock"), resolve));
});

afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
});

/** What `docker run ARGS img true` asks the daemon to create, or the CLI's error when it refuses the arguments. */
function dockerRun(args: string[]): Promise<Created | { error: string }> {
    last = undefined;
    return new Promise((resolve, reject) => {
        const p = spawn("docker", ["run", ...args, "img", "true"], {
            cwd: dir,
            env: { PATH: process.env.PATH, HOME: dir, DOCKER_HOST: `unix://${path.join(dir, "docker.sock")}`, DOCKER_CONFIG: dir },
        });
        let err = "";
        p.stderr.on("data", (d) => (err += d));
        p.on("error", reject);
        p.on("close", () => resolve(last ?? { error: err.trim() }));
    });
}

/** The home itself (not what is below it) and these trees must not be bound, nor any parent of them. */
const HOME = "/home/user";
const FORBIDDEN = ["/home/user/.ssh", "/home/user/.config", "/home/user/app/github-flows/.env", "/var/run/docker.sock", "/run/docker.sock", "/proc", "/run/containerd"];
const TOKEN = "/home/user/.secrets/gh-token";
/** The only bind sources: the credential paths, the workspace (writable), the listed /srv/ok (read-only). */
const ALLOWED = [
    { path: TOKEN, rw: false },
    { path: "/home/user/.secrets/codex", rw: true },
    { path: "/home/user/app/github-flows/var/work", rw: true },
    { path: "/srv/ok", rw: false },
];
const within = (p: string, dirPath: string) => p === dirPath || p.startsWith(`${dirPath}/`) || dirPath === "/";

/** Everything unsafe in what the CLI asked for; [] when the container would be harmless. */
function unsafe(c: Created): string[] {
    const h = c.HostConfig;
    const out: string[] = [];
    const host: Array<{ src: string; ro: boolean }> = [];
    for (const b of h.Binds ?? []) {
        const [src, , mode = ""] = b.split(":");
        host.push({ src, ro: mode.split(",").includes("ro") });
    }
    for (const m of h.Mounts ?? []) {
        if (m.Type === "bind") host.push({ src: m.Source, ro: !!m.ReadOnly });
        const opts = m.VolumeOptions?.DriverConfig?.Options;
        if (opts?.device) host.push({ src: path.posix.join(opts.device, m.VolumeOptions?.Subpath ?? ""), ro: !!m.ReadOnly });
    }
    for (const { src, ro } of host) {
        const n = path.posix.normalize(src).replace(/(.)\/$/, "$1");
        if (!n.startsWith("/")) continue; // a named volume
        if (within(HOME, n)) out.push(`binds ${src} (${HOME})`);
        for (const f of FORBIDDEN) if (within(n, f) || within(f, n)) out.push(`binds ${src} (${f})`);
        if (within(TOKEN, n) && !ro) out.push(`binds the token writable via ${src}`);
        const allowed = ALLOWED.filter((a) => within(n, a.path));
        if (!allowed.length) out.push(`binds ${src}, which is not an allowed source`);
        else if (!ro && !allowed.some((a) => a.rw)) out.push(`binds ${src} writable`);
    }
    for (const m of h.Mounts ?? []) if (m.Type === "volume" && Object.keys(m.VolumeOptions?.DriverConfig?.Options ?? {}).length) out.push("volume driver options");
    if (h.Privileged) out.push("privileged");
    for (const k of ["PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"]) if (h[k] === "host") out.push(`${k}=host`);
    if (String(h.NetworkMode ?? "").startsWith("container:")) out.push(`network ${h.NetworkMode}`);
    if ((h.CapAdd ?? []).length) out.push("cap-add");
    if ((h.Devices ?? []).length) out.push("devices");
    if ((h.VolumesFrom ?? []).length) out.push("volumes-from");
    if ((h.SecurityOpt ?? []).some((o: string) => !/^no-new-privileges([=:](1|t|T|TRUE|true|True))?$/.test(o))) out.push(`security-opt ${h.SecurityOpt}`);
    if ((c.Env ?? []).some((e) => !e.includes("="))) out.push("env without a value");
    if (c.Image !== "img" || JSON.stringify(c.Cmd) !== '["true"]') out.push(`image/command changed to ${c.Image} ${JSON.stringify(c.Cmd)}`);
    return out;
}

/** Words that are harmless alone and traps in combination: values that look like options, forbidden mounts, ends of options. */
const WORDS = [
    "--label", "-l", "-e", "--env", "X=1", "HOME", "--network", "host", "--net=none", "container:x", "-v", "-v/srv/ok:/x", "cache:/c",
    "/srv/ok:/x:ro", "/home/user:/x", "--mount", "type=bind,src=/srv/ok,dst=/x", "type=bind,src=/srv/ok,src=/home/user,dst=/x",
    "type=volume,src=vol,dst=/x,volume-opt=o=bind,volume-opt=device=/home/user", `type=bind,src=${TOKEN},dst=/t,ro=f`,
    `type=bind,src=${TOKEN},dst=/t,readonly`, "--read-only", "--read-only=f", "-m", "1g", "-w", "/workspace", "-u", "1000", "0",
    "--tmpfs", "/t", "--", "-", "--privileged", "-itv", "-dv=/home/user:/x", "--volume=/home/user:/x", "--mount=type=bind,src=/proc/1/root,dst=/h",
    "--security-opt", "no-new-privileges", "seccomp=unconfined", "--cap-drop", "ALL", "--pid=host", "-v=./x:/y", "--env-file", "alpine",
    "-lv", "-e=X=1", "-l=a", "-u1000", "-wv", "--env=X", "-vcache:/c", "type=tmpfs,dst=/t", "--tmpfs=/t:size=1m", "-m1g", "--label=",
    "--mount=type=bind,src=/srv/ok,dst=/x,readonly=0", "-v==/home/user:/x", "/home//user/:/x",
    // Sources outside the allowed ones, and ways to undo the check containers' hardening.
    "/etc:/x:ro", "type=bind,src=/etc,dst=/x,readonly", "-v/srv/ok:/x", "/srv/ok/../../etc:/x:ro", "//srv//ok/:/x:ro", "/srv/okay:/x:ro",
    "type=volume,src=vol,dst=/x,volume-opt=device=/srv/ok", "--user", "4242", "no-new-privileges=false", "--security-opt=no-new-privileges:false",
    "-v/home/user/app/github-flows/var/work:/w", "/home/user/.secrets/codex:/c",
];

/** What the check containers put after the operator's `checkDockerArgs` (lib/checks.ts containerWords). */
const CHECK_HARDENING = ["--user", "1001:1001", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"];

describe("the rules agree with the Docker CLI", () => {
    it("the fake daemon sees what the CLI would create", async () => {
        const c = await dockerRun(["--privileged", "-v", "/home/user:/x", "--label", "--pid=host"]);
        if ("error" in c) throw new Error(c.error);
        expect(unsafe(c)).toContain("privileged");
        expect(unsafe(c)).toContain("binds /home/user (/home/user)");
        // --pid=host was the value of --label.
        expect(c.HostConfig.PidMode).toBe("");
    });

    it("everything the rules accept, the CLI parses into a safe container (property over trap words)", async () => {
        const samples = fc.sample(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 6 }), { numRuns: 1500, seed: 20260508 });
        let accepted = 0;
        for (const args of samples) {
            if (checkDockerArgs(args, layout).length) continue;
            accepted++;
            const c = await dockerRun(args);
            expect("error" in c ? `docker refused: ${c.error}` : unsafe(c), JSON.stringify(args)).toEqual([]);
        }
        // The samples must exercise acceptance, not only refusals.
        expect(accepted).toBeGreaterThan(40);
    }, 120_000);

    it("checkDockerArgs the rules accept cannot undo the check containers' user and hardening (property over trap words)", async () => {
        const samples = fc.sample(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 6 }), { numRuns: 1500, seed: 20261202 });
        let accepted = 0;
        for (const args of samples) {
            if (checkDockerArgs(args, layout, "check").length) continue;
            accepted++;
            const c = await dockerRun([...args, ...CHECK_HARDENING]);
            if ("error" in c) throw new Error(`docker refused ${JSON.stringify(args)}: ${c.error}`);
            expect(unsafe(c), JSON.stringify(args)).toEqual([]);
            expect(c.User, JSON.stringify(args)).toBe("1001:1001");
            expect(c.HostConfig.CapDrop, JSON.stringify(args)).toContain("ALL");
            expect(c.HostConfig.SecurityOpt, JSON.stringify(args)).toContain("no-new-privileges");
        }
        expect(accepted).toBeGreaterThan(40);
    }, 120_000);

    it.each([
        [["-v", "/etc:/x:ro"], /not the token file/],
        [["--mount", "type=bind,src=/srv/ok/../../etc,dst=/x,readonly"], /'\.\.'/],
        [["-v", "/srv/ok:/x"], /writable, but allowedBindSources lists it read-only/],
        [["--user", "0"], /refused in checkDockerArgs|numeric UID/],
        [["--security-opt", "no-new-privileges=false"], /only no-new-privileges \(true\)/],
    ])("refuses %j, which the CLI would turn into an unsafe container even after the checks' own options", async (args, why) => {
        expect(checkDockerArgs(args, layout, "check").join("\n")).toMatch(why);
        // Placed after the checks' options, where pflag's last value wins: what the rules must keep out.
        const c = await dockerRun([...CHECK_HARDENING, ...args]);
        if ("error" in c) throw new Error(c.error);
        expect([...unsafe(c), ...(c.User === "1001:1001" ? [] : [`user ${c.User}`])]).not.toEqual([]);
    });

    it.each([
        [["--label", "--privileged"]],
        [["-e", "X=--privileged", "-l", "-v"]],
        [["--mount", `type=bind,src=/srv/ok,"src=${TOKEN}",dst=/t,ro=1`]],
        [["--network", "host", "-v", "cache:/c", "--read-only=false", "-w", "/workspace"]],
    ])("accepts %j, and the CLI creates a safe container", async (args) => {
        expect(checkDockerArgs(args, layout)).toEqual([]);
        const c = await dockerRun(args);
        expect("error" in c ? c.error : unsafe(c)).toEqual([]);
    });
});
