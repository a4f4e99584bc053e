import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSshOpts, SshTarget, startAgent } from "../../lib/ssh";
import { Bastion, sandbox, Sandbox, startBastion } from "./harness";

/**
 * The exact `ssh` command line the docker provider's connection helper runs (`ssh OPTS -l USER -p PORT
 * -- HOST docker system dial-stdio`), with real OpenSSH against the sandbox sshd: what holds here holds
 * for every image pull of the default path.
 */
const OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK06mA3OF+fsL9FXN6BK6CE3D2nyaoL5+yUip4F0pdMD";

describe("the docker provider's ssh: only the pinned key, only the agent, through a bastion too", () => {
    let sb: Sandbox;
    let bastion: Bastion;
    let target: SshTarget;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-docker-ssh-"));
    const socket = path.join(home, "agent", "agent.sock");
    // Files that would widen the pin if ssh read them: the operator's and the machine's known_hosts.
    const userKnown = path.join(os.homedir(), ".ssh", "known_hosts");
    const globalKnown = "/etc/ssh/ssh_known_hosts";
    const saved = new Map<string, string | undefined>();

    const ssh = (t: SshTarget) =>
        promisify(execFile)("ssh", [...dockerSshOpts(t, socket), "-l", t.user, "-p", String(t.port), "--", t.host, "echo", "reached"], { encoding: "utf8", timeout: 30_000 }).then(
            (r) => r.stdout.trim(),
            (e) => `refused: ${e.stderr ?? e.message}`,
        );

    beforeAll(async () => {
        sb = sandbox();
        bastion = await startBastion(sb, 2298);
        target = { host: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey, privateKey: fs.readFileSync(sb.keyFile, "utf8") };
        await startAgent(socket, target.privateKey);
        // Trust the real keys everywhere OpenSSH would look by default.
        for (const f of [userKnown, globalKnown]) {
            saved.set(f, fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined);
            fs.mkdirSync(path.dirname(f), { recursive: true });
            fs.appendFileSync(f, `[${sb.host}]:${sb.port} ${sb.hostKey}\n[127.0.0.1]:${bastion.port} ${bastion.hostKey}\n`);
        }
    }, 60_000);

    afterAll(() => {
        bastion?.stop();
        for (const [f, content] of saved) (content === undefined ? fs.rmSync(f, { force: true }) : fs.writeFileSync(f, content));
        fs.rmSync(home, { recursive: true, force: true });
    });

    it("connects with the pinned key, authenticated by the in-process agent (no key file)", async () => {
        expect(await ssh(target)).toBe("reached");
    });

    it("refuses a host whose key is not the pinned one, although both known_hosts files trust it", async () => {
        const out = await ssh({ ...target, hostKey: OTHER_KEY });
        expect(out).toMatch(/refused: .*Host key verification failed/s);
    });

    it("reaches the host through the pinned bastion", async () => {
        expect(await ssh({ ...target, proxy: { host: "127.0.0.1", port: bastion.port, user: sb.sshUser, hostKey: bastion.hostKey } })).toBe("reached");
    });

    it("refuses a bastion presenting another key, although the operator's known_hosts trusts it", async () => {
        const out = await ssh({ ...target, proxy: { host: "127.0.0.1", port: bastion.port, user: sb.sshUser, hostKey: OTHER_KEY } });
        expect(out).toMatch(/refused: .*Host key verification failed/s);
    });

    it("offers no key but the agent's: with the agent gone, the operator's own authorized default key is not used", async () => {
        const own = path.join(os.homedir(), ".ssh", "id_ed25519");
        saved.set(own, fs.existsSync(own) ? fs.readFileSync(own, "utf8") : undefined);
        fs.writeFileSync(own, target.privateKey, { mode: 0o600 });
        const out = await promisify(execFile)("ssh", [...dockerSshOpts(target, path.join(home, "none.sock")), "-l", target.user, "-p", String(target.port), "--", target.host, "true"], { encoding: "utf8" }).then(
            () => "reached",
            (e) => String(e.stderr),
        );
        expect(out).toMatch(/Permission denied \(publickey\)/);
    });
});
