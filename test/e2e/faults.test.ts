import type { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureForSandbox, control, newStack, onHost, REPO, resetHost, sandbox, Sandbox, setPlain, setSecret, timed } from "./harness";

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
    let sb: Sandbox;
    let stack: Stack;
    let cleanup: () => Promise<void>;

    const upOk = async () => expect((await stack.up({ onOutput: () => undefined })).summary.result).toBe("succeeded");
    const upErr = () => timed(() => stack.up({ onOutput: () => undefined }));
    const intact = (token: string) => {
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(token);
        expect(fs.existsSync(AUTH)).toBe(true);
    };

    beforeAll(async () => {
        sb = sandbox();
        resetHost();
        ({ stack, cleanup } = await newStack("faults"));
        await configureForSandbox(stack, sb);
        await setSecret(stack, "openaiApiKey", "sk-sandbox-faults-0001");
        await upOk();
    }, 300_000);

    afterAll(async () => {
        await control(sb, "/_control/reset").catch(() => undefined);
        try {
            await stack?.destroy({ onOutput: () => undefined });
        } finally {
            await cleanup?.();
        }
    }, 300_000);

    it("sshd unreachable: fails within the retry bound, naming the host", async () => {
        await setPlain(stack, "hosts", [{ name: "sandbox", address: sb.host, port: 2298, user: sb.sshUser, hostKey: sb.hostKey }]);
        const r = await upErr();
        expect(r.error).toMatch(/SSH to user@127\.0\.0\.1:2298 failed: .*ECONNREFUSED.*after 3 attempts/);
        expect(r.ms).toBeLessThan(90_000);
        await configureForSandbox(stack, sb);
        intact(sb.validToken);
        await upOk();
    }, 300_000);

    it("GitHub answering 500 twice: the checks retry and the rotation goes through", async () => {
        await control(sb, "/_control/fail?count=2&status=500");
        await setSecret(stack, "githubToken", sb.rotatedToken);
        await upOk();
        intact(sb.rotatedToken);
    }, 300_000);

    it("GitHub answering 500 for good: a bounded failure naming the check, old token kept", async () => {
        await control(sb, "/_control/fail?count=40&status=500");
        await setSecret(stack, "githubToken", sb.validToken);
        const r = await upErr();
        expect(r.error).toContain("verification check 'github-identity' failed on host 'sandbox'");
        expect(r.error).toContain("HTTP 500");
        expect(r.ms).toBeLessThan(120_000);
        intact(sb.rotatedToken);
        await control(sb, "/_control/reset");
        await upOk();
        intact(sb.validToken);
    }, 300_000);

    it("SSH dropped in the middle of an up: a clear error, old or new token, and a re-run converges", async () => {
        await setSecret(stack, "githubToken", sb.rotatedToken);
        const run = upErr();
        const deadline = Date.now() + 120_000;
        while (!staged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(dropSshSessions(sb.sshUser)).toBeGreaterThan(0);
        const r = await run;
        expect(r.error).toMatch(/connection to user@127\.0\.0\.1:\d+ was lost|SSH|verification/);
        expect([sb.validToken, sb.rotatedToken]).toContain(fs.readFileSync(TOKEN_FILE, "utf8"));
        expect(fs.existsSync(AUTH)).toBe(true);
        await upOk();
        intact(sb.rotatedToken);
        expect(staged()).toBe(false);
    }, 300_000);

    it("dockerd down: the image read fails clearly instead of reporting the image gone; a re-run converges", async () => {
        onHost(`kill "$(cat /var/lib/github-flows-host/sandbox/dockerd.pid.daemon)"; for i in $(seq 100); do docker info >/dev/null 2>&1 || break; sleep 0.1; done`);
        try {
            await setSecret(stack, "githubToken", sb.validToken);
            const r = await upErr();
            expect(r.error).toMatch(/Docker daemon|docker/i);
            expect(r.ms).toBeLessThan(120_000);
            intact(sb.rotatedToken);
        } finally {
            onHost(`bash ${path.join(REPO, "scripts/sandbox.sh")} up >/dev/null`);
        }
        await upOk();
        intact(sb.validToken);
    }, 300_000);

    it("disk full on the host: the new token cannot be staged, the old one stays byte for byte", async () => {
        // A tiny tmpfs over the secrets directory, holding a copy of it, then filled up.
        onHost(`d=$(mktemp -d) && cp -a ${SECRETS}/. "$d" && mount -t tmpfs -o size=64k,mode=700 tmpfs ${SECRETS} && cp -a "$d"/. ${SECRETS} && chown user: ${SECRETS} && rm -rf "$d"`);
        try {
            onHost(`dd if=/dev/zero of=${SECRETS}/filler bs=4k 2>/dev/null || true`);
            await setSecret(stack, "githubToken", sb.rotatedToken);
            const r = await upErr();
            expect(r.error).toContain("cannot stage the new token");
            intact(sb.validToken);
            expect(staged()).toBe(false);
            onHost(`rm -f ${SECRETS}/filler`);
            await upOk();
            intact(sb.rotatedToken);
        } finally {
            onHost(`umount ${SECRETS} || umount -l ${SECRETS}`);
        }
        await upOk(); // the directory under the mount still held the old token: drift, repaired
        intact(sb.rotatedToken);
    }, 300_000);
});
