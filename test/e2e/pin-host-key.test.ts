import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, sandbox, Sandbox } from "./harness";

/**
 * scripts/pin-host-key.sh against real sshds: the sandbox host's (read only: it only scans the key) and two of its
 * own with other key sets, plus a port nobody listens on and a TCP server that is not SSH. Its stack is a copy of
 * Pulumi.prod.yaml on a file backend in a temp dir, edited only by the script. A key is pinned only once compared:
 * with --expect (the fingerprint the host shows on its console: here ssh-keygen of the sshd's own public key file)
 * or at a prompt on a terminal (`script` gives the run a pty).
 */
const SCRIPT = path.join(REPO, "scripts/pin-host-key.sh");

interface Result {
    code: number;
    stdout: string;
    stderr: string;
}

/** A free loopback port (nobody listens on it once this returns). */
async function freePort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const { port } = srv.address() as net.AddressInfo;
    await new Promise((r) => srv.close(r));
    return port;
}

/** An sshd on loopback with exactly the given host key types; nobody can log in to it. */
async function startSshd(types: string[]): Promise<{ port: number; keys: Record<string, string>; stop: () => void }> {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-pin-sshd-"));
    const port = await freePort();
    const keys: Record<string, string> = {};
    const lines = [`Port ${port}`, "ListenAddress 127.0.0.1", `PidFile ${d}/pid`, "AuthorizedKeysFile none", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no"];
    for (const t of types) {
        execFileSync("ssh-keygen", ["-q", "-t", t, "-N", "", "-f", `${d}/${t}`]);
        keys[t] = fs.readFileSync(`${d}/${t}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
        lines.push(`HostKey ${d}/${t}`);
    }
    fs.writeFileSync(`${d}/sshd_config`, lines.join("\n") + "\n");
    fs.mkdirSync("/run/sshd", { recursive: true });
    const proc: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-f", `${d}/sshd_config`, "-E", `${d}/log`], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
        const up = await new Promise<boolean>((r) => net.connect(port, "127.0.0.1").on("connect", function (this: net.Socket) { this.destroy(); r(true); }).on("error", () => r(false)));
        if (up) break;
        await new Promise((r) => setTimeout(r, 50));
    }
    return { port, keys, stop: () => { proc.kill(); fs.rmSync(d, { recursive: true, force: true }); } };
}

describe("scripts/pin-host-key.sh", () => {
    let sb: Sandbox;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-pin-"));
    const dir = path.join(root, "project");
    const stackFile = path.join(dir, "Pulumi.pin.yaml");
    let env: NodeJS.ProcessEnv;
    let all: Awaited<ReturnType<typeof startSshd>>;
    let ecdsaOnly: Awaited<ReturnType<typeof startSshd>>;
    let notSsh: net.Server;
    let notSshPort: number;

    /** Runs the script (asynchronously: the not-SSH server lives in this process) in the project dir. */
    const pin = (...args: string[]): Promise<Result> =>
        new Promise((resolve, reject) => {
            const p = spawn("bash", [SCRIPT, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("error", reject);
            p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
    const pulumi = (...args: string[]) => execFileSync("pulumi", args, { cwd: dir, env, encoding: "utf8" });
    const hosts = () => JSON.parse(pulumi("config", "get", "hosts", "--json")).objectValue;
    const setHosts = (h: unknown[]) =>
        pulumi("config", "set-all", "--json", JSON.stringify({ "github-flows-host:hosts": { value: JSON.stringify(h), objectValue: h, secret: false } }));
    const fingerprint = (key: string) => execFileSync("ssh-keygen", ["-lf", "-"], { input: key, encoding: "utf8" }).split(" ")[1];
    /** A well-formed fingerprint of no key here. */
    const NO_KEY = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    /** Runs the script on a terminal (a pty from util-linux `script`), typing `answer` at its prompt. */
    const pinOnTty = (answer: string, ...args: string[]): Result => {
        const cmd = ["bash", SCRIPT, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
        try {
            const stdout = execFileSync("script", ["-qec", cmd, "/dev/null"], { cwd: dir, env, input: answer, encoding: "utf8" });
            return { code: 0, stdout, stderr: "" };
        } catch (e) {
            const x = e as { status: number; stdout: string };
            return { code: x.status, stdout: x.stdout, stderr: "" };
        }
    };

    beforeAll(async () => {
        sb = sandbox();
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        fs.copyFileSync(path.join(REPO, "Pulumi.prod.yaml"), stackFile);
        fs.mkdirSync(path.join(root, "state"));
        env = {
            ...process.env,
            PULUMI_HOME: path.join(root, "pulumi-home"),
            PULUMI_BACKEND_URL: `file://${path.join(root, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "pin-test",
            PULUMI_SKIP_UPDATE_CHECK: "true",
        };
        pulumi("stack", "init", "pin", "--secrets-provider", "passphrase");
        [all, ecdsaOnly] = await Promise.all([startSshd(["ed25519", "ecdsa", "rsa"]), startSshd(["ecdsa", "rsa"])]);
        // The client may reset the connection after reading: a reset on this side is no error of the test.
        notSsh = net.createServer((s) => s.on("error", () => undefined).end("HTTP/1.0 400 Bad Request\r\n\r\n"));
        await new Promise<void>((r) => notSsh.listen(0, "127.0.0.1", r));
        notSshPort = (notSsh.address() as net.AddressInfo).port;
    }, 120_000);

    afterAll(() => {
        all?.stop();
        ecdsaOnly?.stop();
        notSsh?.close();
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("pins the sandbox host's key into the template's hosts, printing the fingerprint ssh-keygen gives", async () => {
        const r = await pin("--expect", fingerprint(sb.hostKey), "flows-1", sb.host, String(sb.port), sb.sshUser);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(fingerprint(sb.hostKey));
        expect(r.stdout).toContain("the fingerprint is the one given with --expect");
        expect(hosts()).toEqual([{ name: "flows-1", address: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey }]);
        // The rest of the stack file is as shipped, comments included.
        const shipped = fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8").split("\n").filter((l) => l.startsWith("#"));
        expect(fs.readFileSync(stackFile, "utf8")).toContain(shipped.join("\n"));
    });

    it("the same NAME again updates its entry in place and keeps its proxy; a new NAME is appended", async () => {
        const proxy = { address: "203.0.113.2", port: 22, user: "deploy", hostKey: sb.hostKey };
        const other = { name: "other", address: "203.0.113.9", port: 22, user: "root", hostKey: sb.hostKey };
        setHosts([{ ...hosts()[0], proxy }, other]);
        const r = await pin("--expect", fingerprint(all.keys.ed25519), "flows-1", "127.0.0.1", String(all.port));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("updated github-flows-host:hosts[0]");
        const r2 = await pin("--stack", "pin", "--expect", fingerprint(sb.hostKey), "flows-2", sb.host, String(sb.port), sb.sshUser);
        expect(r2.code, r2.stderr).toBe(0);
        expect(r2.stdout).toContain("added as github-flows-host:hosts[2]");
        expect(hosts()).toEqual([
            { name: "flows-1", address: "127.0.0.1", port: all.port, user: "root", hostKey: all.keys.ed25519, proxy },
            other,
            { name: "flows-2", address: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey },
        ]);
    });

    it("pins the key whose fingerprint was given: the ECDSA key of a host that also has ed25519, or of a host without one", async () => {
        const r = await pin("--expect", fingerprint(ecdsaOnly.keys.ecdsa), "ecdsa-host", "127.0.0.1", String(ecdsaOnly.port), "user");
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`ECDSA key ${fingerprint(ecdsaOnly.keys.ecdsa)}`);
        expect(hosts().find((h: { name: string }) => h.name === "ecdsa-host").hostKey).toBe(ecdsaOnly.keys.ecdsa);
        const both = await pin("--expect", fingerprint(all.keys.ecdsa), "ecdsa-2", "127.0.0.1", String(all.port));
        expect(both.code, both.stderr).toBe(0);
        expect(hosts().find((h: { name: string }) => h.name === "ecdsa-2").hostKey).toBe(all.keys.ecdsa);
    });

    it("a fingerprint that is not the host's: exit 1, both fingerprints printed, nothing written", async () => {
        const before = fs.readFileSync(stackFile, "utf8");
        // Another host's key (as if the operator copied the wrong line, or someone on the path answered the scan).
        const r = await pin("--expect", fingerprint(all.keys.ed25519), "flows-1", sb.host, String(sb.port), sb.sshUser);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`host key mismatch for ${sb.host} port ${sb.port}: nothing was written`);
        expect(r.stderr).toContain(`expected (--expect):  ${fingerprint(all.keys.ed25519)}`);
        expect(r.stderr).toContain(fingerprint(sb.hostKey));
        expect(r.stdout).toBe("");
        // The RSA key of a host pinned as ed25519 elsewhere is no match for its ed25519 fingerprint either.
        const rsa = await pin("--expect", fingerprint(all.keys.rsa), "x", "127.0.0.1", String(ecdsaOnly.port));
        expect(rsa.code).toBe(1);
        expect(rsa.stderr).toContain(fingerprint(ecdsaOnly.keys.ecdsa));
        expect(rsa.stderr).toContain(fingerprint(ecdsaOnly.keys.rsa));
        const none = await pin("--expect", NO_KEY, "flows-1", sb.host, String(sb.port), sb.sshUser);
        expect(none.code).toBe(1);
        expect(fs.readFileSync(stackFile, "utf8")).toBe(before);
    });

    it("without --expect and without a terminal: refused before contacting the host (exit 2), saying how to read the fingerprint out of band", async () => {
        const before = fs.readFileSync(stackFile, "utf8");
        let connections = 0;
        const counter = net.createServer((s) => (connections++, s.destroy()));
        await new Promise<void>((r) => counter.listen(0, "127.0.0.1", r));
        try {
            const r = await pin("web", "127.0.0.1", String((counter.address() as net.AddressInfo).port));
            expect(r.code).toBe(2);
            expect(r.stderr).toContain("no --expect and no terminal to ask on");
            expect(r.stderr).toContain("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub");
            expect(r.stderr).toContain("--expect SHA256:");
        } finally {
            counter.close();
        }
        expect(connections).toBe(0);
        expect(fs.readFileSync(stackFile, "utf8")).toBe(before);
    });

    it("on a terminal without --expect: shows the fingerprint and pins only after 'yes'", async () => {
        const before = fs.readFileSync(stackFile, "utf8");
        for (const answer of ["no\n", "\n", "y\n", "YES please\n", ""]) {
            const r = pinOnTty(answer, "tty-host", "127.0.0.1", String(ecdsaOnly.port));
            expect(r.code, r.stdout).toBe(1);
            expect(r.stdout).toContain(fingerprint(ecdsaOnly.keys.ecdsa));
            expect(r.stdout).toContain("ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub");
            expect(r.stdout).toContain("not pinned (answer was not 'yes'): nothing was written");
            expect(fs.readFileSync(stackFile, "utf8")).toBe(before);
        }
        const yes = pinOnTty("yes\n", "tty-host", "127.0.0.1", String(ecdsaOnly.port));
        expect(yes.code, yes.stdout).toBe(0);
        expect(yes.stdout).toContain("the fingerprint was confirmed at the prompt");
        expect(hosts().find((h: { name: string }) => h.name === "tty-host").hostKey).toBe(ecdsaOnly.keys.ecdsa);
    });

    it.each([
        [["Flows-1", "127.0.0.1"], "bad NAME Flows-1"],
        [["$(touch CANARY)", "127.0.0.1"], "bad NAME"],
        [["a".repeat(41), "127.0.0.1"], "bad NAME"],
        [["web", "-oProxyCommand=touch CANARY"], "bad ADDRESS"],
        [["web", "host name"], "bad ADDRESS"],
        [["web", "127.0.0.1", "0"], "bad PORT 0"],
        [["web", "127.0.0.1", "65536"], "bad PORT 65536"],
        [["web", "127.0.0.1", "22;touch CANARY"], "bad PORT"],
        [["web", "127.0.0.1", "22", "Root"], "bad USER Root"],
        [["web"], "NAME ADDRESS [PORT] [USER]"],
        [["web", "127.0.0.1", "22", "root", "extra"], "NAME ADDRESS [PORT] [USER]"],
        [["--expect", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", "web", "127.0.0.1"], "bad --expect"],
        [["--expect", "SHA256:tooShort", "web", "127.0.0.1"], "bad --expect"],
        [["--expect", "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "web", "127.0.0.1"], "bad --expect"],
        [["--expect", "256 SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA root@h (ED25519)", "web", "127.0.0.1"], "bad --expect"],
        [["--expect", "SHA256:$(touch CANARY)AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "web", "127.0.0.1"], "bad --expect"],
        [["--expect", "", "web", "127.0.0.1"], "no --expect and no terminal"],
        [["web", "127.0.0.1", "--expect"], "bad PORT"],
    ])("refuses %j before contacting anything (exit 2), the config unchanged", async (args, message) => {
        const before = fs.readFileSync(stackFile, "utf8");
        const r = await pin(...args);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(message);
        expect(fs.existsSync(path.join(dir, "CANARY"))).toBe(false);
        expect(fs.readFileSync(stackFile, "utf8")).toBe(before);
    });

    it("says which: unreachable, or no SSH key there (exit 1), the config unchanged", async () => {
        const before = fs.readFileSync(stackFile, "utf8");
        const closed = await pin("--expect", NO_KEY, "web", "127.0.0.1", String(await freePort()));
        expect(closed.code).toBe(1);
        expect(closed.stderr).toMatch(/cannot reach 127\.0\.0\.1 port \d+: Connection refused/);
        const noName = await pin("--expect", NO_KEY, "web", "no-such-host.invalid");
        expect(noName.code).toBe(1);
        expect(noName.stderr).toContain("cannot reach no-such-host.invalid port 22");
        const http = await pin("--expect", NO_KEY, "web", "127.0.0.1", String(notSshPort));
        expect(http.code).toBe(1);
        expect(http.stderr).toContain(`no SSH host key from 127.0.0.1 port ${notSshPort}`);
        expect(fs.readFileSync(stackFile, "utf8")).toBe(before);
    });

    it("outside a project or without a stack it says what is missing", async () => {
        const elsewhere = await new Promise<Result>((resolve) => {
            const p = spawn("bash", [SCRIPT, "--expect", fingerprint(sb.hostKey), "web", sb.host, String(sb.port)], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
            let stderr = "";
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (code) => resolve({ code: code ?? -1, stdout: "", stderr }));
        });
        expect(elsewhere.code).toBe(1);
        expect(elsewhere.stderr).toContain("no Pulumi.yaml");
        const noStack = await pin("--stack", "nope", "--expect", fingerprint(sb.hostKey), "web", sb.host, String(sb.port));
        expect(noStack.code).toBe(1);
        expect(noStack.stderr).toContain("cannot read the stack's config");
    });
});
