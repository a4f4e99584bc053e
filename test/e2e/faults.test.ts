import * as fs from "fs";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { configureForSandbox, control, onHost, REPO, sandboxStack, setPlain, setSecret, timed, upOk } from "./harness";

const SECRETS = "/home/user/.secrets";
const TOKEN_FILE = `${SECRETS}/gh-token`;
const AUTH = `${SECRETS}/codex/auth.json`;
const staged = () => fs.readdirSync(SECRETS).some((f) => f.startsWith(".gh-token."));

/** SIGKILLs every sshd session process of `user` (found through /proc, never matching this search). */
function dropSshSessions(user: string): number {
    let n = 0;
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(`sshd: ${user}`)) {
                process.kill(Number(pid), "SIGKILL");
                n++;
            }
        } catch {
            /* gone already */
        }
    }
    return n;
}

describe("faults end in a clear, bounded error, lose nothing, and a re-run converges", () => {
    const t = sandboxStack("faults", async ({ stack }) => {
        await setSecret(stack, "openaiApiKey", "sk-sandbox-faults-0001");
        await upOk(stack);
    });
    // After hooks run in reverse order: this one, before the stack is destroyed.
    afterAll(async () => {
        await control(t.sb, "/_control/reset").catch(() => undefined);
    }, 300_000);

    const upErr = () => timed(() => t.stack.up({ onOutput: () => undefined }));
    const intact = (token: string) => {
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(token);
        expect(fs.existsSync(AUTH)).toBe(true);
    };

    it("sshd unreachable: fails within the retry bound, naming the host", async () => {
        await setPlain(t.stack, "hosts", [{ name: "sandbox", address: t.sb.host, port: 2298, user: t.sb.sshUser, hostKey: t.sb.hostKey }]);
        const r = await upErr();
        expect(r.error).toMatch(/SSH to user@127\.0\.0\.1:2298 failed: .*ECONNREFUSED.*after 3 attempts/);
        expect(r.ms).toBeLessThan(90_000);
        await configureForSandbox(t.stack, t.sb);
        intact(t.sb.validToken);
        await upOk(t.stack);
    }, 300_000);

    it("GitHub answering 500 twice: the checks retry and the rotation goes through", async () => {
        await control(t.sb, "/_control/fail?count=2&status=500");
        await setSecret(t.stack, "githubToken", t.sb.rotatedToken);
        await upOk(t.stack);
        intact(t.sb.rotatedToken);
    }, 300_000);

    it("GitHub answering 500 for good: a bounded failure naming the check, old token kept", async () => {
        await control(t.sb, "/_control/fail?count=40&status=500");
        await setSecret(t.stack, "githubToken", t.sb.validToken);
        const r = await upErr();
        expect(r.error).toContain("verification check 'github-identity' failed on host 'sandbox'");
        expect(r.error).toContain("HTTP 500");
        expect(r.ms).toBeLessThan(120_000);
        intact(t.sb.rotatedToken);
        await control(t.sb, "/_control/reset");
        await upOk(t.stack);
        intact(t.sb.validToken);
    }, 300_000);

    it("SSH dropped in the middle of an up: a clear error, old or new token, and a re-run converges", async () => {
        await setSecret(t.stack, "githubToken", t.sb.rotatedToken);
        const run = upErr();
        const deadline = Date.now() + 120_000;
        while (!staged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(dropSshSessions(t.sb.sshUser)).toBeGreaterThan(0);
        const r = await run;
        // ssh2 names the lost connection; @pulumi/command says the remote command ended without an exit status.
        expect(r.error).toMatch(/connection to user@127\.0\.0\.1:\d+ was lost|exited without exit status|SSH|verification/);
        expect([t.sb.validToken, t.sb.rotatedToken]).toContain(fs.readFileSync(TOKEN_FILE, "utf8"));
        expect(fs.existsSync(AUTH)).toBe(true);
        await upOk(t.stack);
        intact(t.sb.rotatedToken);
        expect(staged()).toBe(false);
    }, 300_000);

    it("dockerd down: the image read fails clearly instead of reporting the image gone; a re-run converges", async () => {
        onHost(`kill "$(cat /var/lib/github-flows-host/sandbox/dockerd.pid.daemon)"; for i in $(seq 100); do docker info >/dev/null 2>&1 || break; sleep 0.1; done`);
        try {
            await setSecret(t.stack, "githubToken", t.sb.validToken);
            const r = await upErr();
            expect(r.error).toMatch(/Docker daemon|docker/i);
            expect(r.ms).toBeLessThan(120_000);
            intact(t.sb.rotatedToken);
        } finally {
            onHost(`bash ${path.join(REPO, "scripts/sandbox.sh")} up >/dev/null`);
        }
        await upOk(t.stack);
        intact(t.sb.validToken);
    }, 300_000);

    it("disk full on the host: the new token cannot be staged, the old one stays byte for byte", async () => {
        // A tiny tmpfs over the secrets directory, holding a copy of it, then filled up.
        onHost(`d=$(mktemp -d) && cp -a ${SECRETS}/. "$d" && mount -t tmpfs -o size=64k,mode=700 tmpfs ${SECRETS} && cp -a "$d"/. ${SECRETS} && chown user: ${SECRETS} && rm -rf "$d"`);
        try {
            onHost(`dd if=/dev/zero of=${SECRETS}/filler bs=4k 2>/dev/null || true`);
            await setSecret(t.stack, "githubToken", t.sb.rotatedToken);
            const r = await upErr();
            expect(r.error).toContain("cannot stage the new token");
            intact(t.sb.validToken);
            expect(staged()).toBe(false);
            onHost(`rm -f ${SECRETS}/filler`);
            await upOk(t.stack);
            intact(t.sb.rotatedToken);
        } finally {
            onHost(`umount ${SECRETS} || umount -l ${SECRETS}`);
        }
        await upOk(t.stack); // the directory under the mount still held the old token: drift, repaired
        intact(t.sb.rotatedToken);
    }, 300_000);
});
