import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import ssh2 = require("ssh2");
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launch } from "../../lib/shell";
import {
    closeConnections,
    DIAL_STDIO_SCRIPT,
    dockerProxySocket,
    dockerRelaySshOpts,
    exec,
    loginKind,
    SshTarget,
    startAgent,
    startDockerProxy,
    sudoProbeScript,
    sudoRefusal,
    targetOf,
} from "../../lib/ssh";
import { hostAccountProvider } from "../../providers/hostAccount";
import { sh, tempDirForFile } from "../fixtures/sh";
import { sshKeyPair } from "../fixtures/sshKeys";

/**
 * A sudo admin login: the launcher's text run for real (`/bin/sh -c` as sshd runs it) behind an in-process SSH
 * server, with a fake `sudo` that records its argv and environment and either runs the command (passwordless) or
 * refuses as sudo does when it would need a password, and a fake `docker system dial-stdio` (an echo).
 */
const tmp = tempDirForFile("gfh-sudo-");
const bin = path.join(tmp, "bin");
const sudoLog = path.join(tmp, "sudo.log");
fs.mkdirSync(bin);
fs.writeFileSync(
    path.join(bin, "sudo"),
    [
        "#!/bin/sh",
        `{ printf 'argv:'; printf ' [%s]' "$@"; echo; env | sed 's/^/env: /'; } >> ${sudoLog}`,
        '[ "$1" = -n ] || { echo "fake sudo: called without -n" >&2; exit 2; }',
        'case "$FAKE_SUDO" in password) echo "sudo: a password is required" >&2; exit 1 ;; esac',
        "shift",
        'exec "$@"',
    ].join("\n"),
    { mode: 0o755 },
);
fs.writeFileSync(path.join(bin, "docker"), '#!/bin/sh\n[ "$*" = "system dial-stdio" ] || exit 3\nexec cat\n', { mode: 0o755 });

const hostKey = sshKeyPair();
const clientKey = sshKeyPair();
let server: ssh2.Server;
let port = 0;
const commands: string[] = [];
let sudoMode: "ok" | "password" | "absent" = "ok";

beforeAll(async () => {
    server = new ssh2.Server({ hostKeys: [hostKey.private] }, (c) => {
        c.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
        c.on("ready", () =>
            c.on("session", (accept) =>
                accept().on("exec", (acc, _rej, info) => {
                    commands.push(info.command);
                    const s = acc();
                    // As sshd does: the login shell runs the command line; stdin, stdout, stderr are the channel.
                    const PATH = sudoMode === "absent" ? "/nonexistent" : `${bin}:${process.env.PATH}`;
                    const child = spawn("/bin/sh", ["-c", info.command], { env: { PATH, FAKE_SUDO: sudoMode, HOME: tmp } });
                    s.pipe(child.stdin);
                    child.stdin.on("error", () => undefined);
                    child.stdout.pipe(s, { end: false });
                    child.stderr.pipe(s.stderr, { end: false });
                    child.on("close", (code) => {
                        s.exit(code ?? 1);
                        s.end();
                    });
                }),
            ),
        );
        c.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
    await closeConnections();
    server.close();
});
beforeEach(() => {
    sudoMode = "ok";
    commands.length = 0;
    fs.rmSync(sudoLog, { force: true });
});

const hostKeyText = hostKey.public.split(" ").slice(0, 2).join(" ");
const admin = (): SshTarget => ({ host: "127.0.0.1", port, user: "admin", hostKey: hostKeyText, privateKey: clientKey.private, sudo: true });
const WHERE = "host 'web1' (10.0.0.5:22)";

describe("loginKind: decided once per host from the config", () => {
    it.each([
        ["root", "user", "root"],
        ["user", "user", "runtime-user"],
        ["flows", "flows", "runtime-user"],
        ["admin", "user", "sudo"],
        ["ubuntu", "flows", "sudo"],
        ["root", "root", "root"],
    ] as const)("ssh user %s, runtime user %s: %s", (ssh, runtime, kind) => {
        expect(loginKind(ssh, runtime)).toBe(kind);
    });

    it("targetOf marks only a sudo login; root and runtime-user targets are as they always were", () => {
        const h = { address: "10.0.0.5", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" };
        expect(targetOf(h, "KEY", "user")).toEqual({ host: "10.0.0.5", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA", privateKey: "KEY", proxy: undefined });
        expect("sudo" in targetOf(h, "KEY", "user")).toBe(false);
        expect("sudo" in targetOf({ ...h, user: "user" }, "KEY", "user")).toBe(false);
        expect(targetOf({ ...h, user: "admin" }, "KEY", "user").sudo).toBe(true);
    });
});

describe("launch with sudo: the same fixed launcher behind `sudo -n`", () => {
    it("prefixes only the command; root's command text is unchanged", () => {
        const root = launch("echo hi", "s3cret");
        const sudo = launch("echo hi", "s3cret", true);
        expect(root.command.startsWith("/bin/sh -c ")).toBe(true);
        expect(sudo.command).toBe(`sudo -n ${root.command}`);
        expect(sudo.input).toBe(root.input);
    });

    it("runs as the command under a real sh: the secret passes sudo on stdin, byte-exact, never in sudo's argv or environment", async () => {
        const secret = `ghp_sudo'"$(id)\n${"z".repeat(70_000)}\n`;
        const r = await exec(admin(), "set -eu\ncat", secret);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout === secret).toBe(true);
        expect(commands).toEqual([launch("set -eu\ncat", secret, true).command]);
        const log = fs.readFileSync(sudoLog, "utf8");
        expect(log).toMatch(/^argv: \[-n\] \[\/bin\/sh\] \[-c\] /);
        expect(log).not.toContain("ghp_sudo");
    });

    it("keeps exit statuses through sudo", async () => {
        expect((await exec(admin(), "exit 7")).code).toBe(7);
    });

    it("a root target runs the launcher without sudo", async () => {
        const { sudo: _, ...root } = { ...admin(), user: "root" };
        await exec(root, "true");
        expect(commands[0].startsWith("/bin/sh -c ")).toBe(true);
        expect(fs.existsSync(sudoLog)).toBe(false);
    });
});

describe("the sudo probe: a login that cannot sudo -n fails before any change, naming host and what is missing", () => {
    // The account read refuses a runtime user with UID 0, so the one read here is an unprivileged account's.
    const state = () => ({ connection: admin(), user: "nobody", where: WHERE }) as never;

    it("passwordless sudo: the account is read (one exec, as the login: a read never needs root)", async () => {
        const r = await hostAccountProvider.read!("id", state());
        expect(r.props).toMatchObject({ user: "nobody", home: expect.stringMatching(/^\//) });
        expect(commands).toHaveLength(1);
        expect(commands[0].startsWith("/bin/sh -c ")).toBe(true);
        expect(fs.readFileSync(sudoLog, "utf8")).toMatch(/^argv: \[-n\] \[\/bin\/sh\] \[-c\] \[true\]$/m);
    });

    it("a sudo that asks for a password: refused at once, naming host, users, sudo's words and the fix", async () => {
        sudoMode = "password";
        const err = await hostAccountProvider.read!("id", state()).then(
            () => undefined,
            (e: Error) => e.message,
        );
        expect(err).toBe(
            `host 'web1' (10.0.0.5:22): the SSH user 'admin' is neither root nor the runtime user 'nobody', and \`sudo -n /bin/sh -c true\` fails: ` +
                "sudo: a password is required. Give 'admin' passwordless sudo (e.g. 'admin ALL=(ALL:ALL) NOPASSWD: ALL' in /etc/sudoers.d/), " +
                `or log in as root or as 'nobody'. Nothing was changed on the host.`,
        );
        // Only the probe ran: nothing went through sudo.
        expect(commands).toHaveLength(1);
    });

    it("no sudo on the host: named as such", async () => {
        sudoMode = "absent";
        const out = { stdout: spawnSync("/bin/sh", ["-c", sudoProbeScript("echo read")], { env: { PATH: "/nonexistent" }, encoding: "utf8" }).stdout };
        expect(out.stdout).toMatch(/^github-flows-host:no-sudo 127 /);
        expect(sudoRefusal(out.stdout, WHERE, "deploy", "user")?.message).toContain("`sudo -n /bin/sh -c true` fails: sudo is not installed.");
    });

    it("sudo that works leaves the read's output as it was", () => {
        expect(sudoRefusal("passwd user:x:1000:1000::/home/user:/bin/sh\nhome=dir\n", WHERE, "admin", "user")).toBeUndefined();
        const out = sh(sudoProbeScript("echo read"), "", { PATH: `${bin}:${process.env.PATH}`, FAKE_SUDO: "ok" });
        expect(out.stdout).toBe("read\n");
    });
});

describe("the docker relay of a sudo login", () => {
    it("names a socket relative to the project directory, stable, per stack and host, far below sun_path's limit", () => {
        const a = dockerProxySocket("github-flows-host", "prod", { host: "10.0.0.5", port: 22 });
        expect(a).toMatch(/^\.github-flows-host\/docker\/[0-9a-f]{16}\.sock$/);
        expect(dockerProxySocket("github-flows-host", "prod", { host: "10.0.0.5", port: 22 })).toBe(a);
        expect(dockerProxySocket("github-flows-host", "prod", { host: "10.0.0.6", port: 22 })).not.toBe(a);
        expect(dockerProxySocket("github-flows-host", "dev", { host: "10.0.0.5", port: 22 })).not.toBe(a);
    });

    it("the docker provider's ssh options: pinned to the deploy key as the relay's host key, agent only, ProxyCommand to the relay; the same on every run", () => {
        const opts = dockerRelaySshOpts(admin(), "%d/.github-flows-host/agent/x.sock", ".github-flows-host/docker/y.sock");
        expect(opts).toEqual(dockerRelaySshOpts(admin(), "%d/.github-flows-host/agent/x.sock", ".github-flows-host/docker/y.sock"));
        expect(opts).toContain(`KnownHostsCommand=/bin/echo [127.0.0.1]:${port} ${clientKey.public.split(" ").slice(0, 2).join(" ")}`);
        expect(opts.find((o) => o.startsWith("ProxyCommand="))).toMatch(/^ProxyCommand='node' '-e' '[^%]*' '\.github-flows-host\/docker\/y\.sock'$/);
        expect(JSON.stringify(opts)).not.toContain(clientKey.private.split("\n")[1]);
        expect(() => dockerRelaySshOpts(admin(), "%d/a.sock", "a b.sock")).toThrow(/cannot carry/);
    });

    /** The real OpenSSH client with the docker provider's options, as the docker CLI's ssh helper runs it, from `cwd`. */
    const dial = (cwd: string, relaySocket: string, input: string) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const t = admin();
            const args = [...dockerRelaySshOpts(t, agent, relaySocket), "-l", t.user, "-p", String(t.port), "--", t.host, "docker", "system", "dial-stdio"];
            const p = spawn("ssh", args, { cwd });
            const out: Buffer[] = [];
            const err: Buffer[] = [];
            p.stdout.on("data", (d) => out.push(d));
            p.stderr.on("data", (d) => err.push(d));
            p.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
            p.stdin.end(input);
        });
    const agent = path.join(tmp, "agent", "a.sock");
    const project = path.join(tmp, "project");
    const relaySocket = ".github-flows-host/docker/r.sock";
    const logs: string[] = [];
    beforeAll(async () => {
        fs.mkdirSync(project);
        await startAgent(agent, clientKey.private);
        // The relay listens relative to the working directory, as the program does in the project directory.
        await startDockerProxy(path.join(project, relaySocket), admin(), (m) => logs.push(m));
    });

    it("ssh -> relay -> `sudo -n docker system dial-stdio` on the host through the launcher, both ways; private socket", async () => {
        expect((fs.statSync(path.join(project, ".github-flows-host/docker")).mode & 0o777).toString(8)).toBe("700");
        expect((fs.statSync(path.join(project, relaySocket)).mode & 0o777).toString(8)).toBe("600");
        const big = "x".repeat(200_000);
        const [a, b] = await Promise.all([dial(project, relaySocket, "GET /_ping HTTP/1.1\r\n\r\n"), dial(project, relaySocket, big)]);
        expect(a, a.stderr).toMatchObject({ code: 0, stdout: "GET /_ping HTTP/1.1\r\n\r\n" });
        expect(b.stdout === big).toBe(true);
        expect(commands).toEqual([launch(DIAL_STDIO_SCRIPT, "", true).command, launch(DIAL_STDIO_SCRIPT, "", true).command]);
        expect(fs.readFileSync(sudoLog, "utf8")).toMatch(/^argv: \[-n\] \[\/bin\/sh\] \[-c\] /);
        expect(logs).toEqual([]);
    });

    it("accepts only the deploy key and only `docker system dial-stdio`", async () => {
        const other = sshKeyPair();
        const connect = (privateKey: string) =>
            new Promise<ssh2.Client>((resolve, reject) => {
                const c = new ssh2.Client();
                c.once("ready", () => resolve(c)).once("error", reject);
                c.connect({ sock: net.connect(path.join(project, relaySocket)), username: "admin", privateKey });
            });
        await expect(connect(other.private)).rejects.toThrow(/authentication methods failed/);
        const c = await connect(clientKey.private);
        const refused = await new Promise<Error | undefined>((r) => c.exec("id", (err) => r(err)));
        expect(refused?.message).toMatch(/Unable to exec/);
        c.end();
        expect(commands).toEqual([]);
    });

    it("a refused sudo ends the docker connection with sudo's words, and says why", async () => {
        sudoMode = "password";
        const r = await dial(project, relaySocket, "GET /_ping HTTP/1.1\r\n\r\n");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("sudo: a password is required");
        expect(logs).toEqual([`docker system dial-stdio on admin@127.0.0.1:${port} exited 1: sudo: a password is required`]);
    });
});
