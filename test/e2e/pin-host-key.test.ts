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
 * Pulumi.prod.yaml on a file backend in a temp dir, edited only by the script.
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
        const r = await pin("flows-1", sb.host, String(sb.port), sb.sshUser);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(fingerprint(sb.hostKey));
        expect(r.stdout).toContain("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub");
        expect(hosts()).toEqual([{ name: "flows-1", address: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey }]);
        // The rest of the stack file is as shipped, comments included.
        const shipped = fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8").split("\n").filter((l) => l.startsWith("#"));
        expect(fs.readFileSync(stackFile, "utf8")).toContain(shipped.join("\n"));
    });

    it("the same NAME again updates its entry in place and keeps its proxy; a new NAME is appended", async () => {
        const proxy = { address: "203.0.113.2", port: 22, user: "deploy", hostKey: sb.hostKey };
        const other = { name: "other", address: "203.0.113.9", port: 22, user: "root", hostKey: sb.hostKey };
        setHosts([{ ...hosts()[0], proxy }, other]);
        const r = await pin("flows-1", "127.0.0.1", String(all.port));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("updated github-flows-host:hosts[0]");
        const r2 = await pin("flows-2", sb.host, String(sb.port), sb.sshUser);
        expect(r2.code, r2.stderr).toBe(0);
        expect(r2.stdout).toContain("added as github-flows-host:hosts[2]");
        expect(hosts()).toEqual([
            { name: "flows-1", address: "127.0.0.1", port: all.port, user: "root", hostKey: all.keys.ed25519, proxy },
            other,
            { name: "flows-2", address: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey },
        ]);
    });

    it("prefers ed25519; takes ecdsa from a host without one", async () => {
        const r = await pin("ecdsa-host", "127.0.0.1", String(ecdsaOnly.port), "user");
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(fingerprint(ecdsaOnly.keys.ecdsa));
        expect(r.stdout).toContain("ssh_host_ecdsa_key.pub");
        expect(hosts().find((h: { name: string }) => h.name === "ecdsa-host").hostKey).toBe(ecdsaOnly.keys.ecdsa);
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
        const closed = await pin("web", "127.0.0.1", String(await freePort()));
        expect(closed.code).toBe(1);
        expect(closed.stderr).toMatch(/cannot reach 127\.0\.0\.1 port \d+: Connection refused/);
        const noName = await pin("web", "no-such-host.invalid");
        expect(noName.code).toBe(1);
        expect(noName.stderr).toContain("cannot reach no-such-host.invalid port 22");
        const http = await pin("web", "127.0.0.1", String(notSshPort));
        expect(http.code).toBe(1);
        expect(http.stderr).toContain(`no SSH host key from 127.0.0.1 port ${notSshPort}`);
        expect(fs.readFileSync(stackFile, "utf8")).toBe(before);
    });

    it("outside a project or without a stack it says what is missing", async () => {
        const elsewhere = await new Promise<Result>((resolve) => {
            const p = spawn("bash", [SCRIPT, "web", sb.host, String(sb.port)], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
            let stderr = "";
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (code) => resolve({ code: code ?? -1, stdout: "", stderr }));
        });
        expect(elsewhere.code).toBe(1);
        expect(elsewhere.stderr).toContain("no Pulumi.yaml");
        const noStack = await pin("--stack", "nope", "web", sb.host, String(sb.port));
        expect(noStack.code).toBe(1);
        expect(noStack.stderr).toContain("cannot read the stack's config");
    });
});
