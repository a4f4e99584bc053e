import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { tokenFingerprint } from "../../lib/access";
import { filesContaining } from "./canary";
import { killPulumi, onHost, PathName, PATHS, plannedChanges, sandboxStack, setSecret, stepNames, upError, upOk } from "./harness";

const SECRETS = "/home/user/.secrets";
const TOKEN_FILE = `${SECRETS}/gh-token`;
const stagingFiles = () => onHost(`ls -A ${SECRETS} | grep -c '^\\.gh-token\\.' || true`).trim();
const outputsOf = (res: { outputs: Record<string, { value: unknown }> }) => (res.outputs.hosts.value as Record<string, Record<string, string>>).sandbox;

describe.each(Object.keys(PATHS) as PathName[])("token rotation on the sandbox host (%s)", (via) => {
    const t = sandboxStack(`rotation-${via}`, async ({ stack }) => {
        await setSecret(stack, "openaiApiKey", "sk-sandbox-rotation-0001");
        await upOk(stack);
    }, via);

    it("a new token: only the checks and the token file change, and the outputs follow", async () => {
        await setSecret(t.stack, "githubToken", t.sb.rotatedToken);
        const { steps, text } = await plannedChanges(t.stack);
        expect(stepNames(steps), text).toEqual(["replace sandbox-checks", "update sandbox-gh-token"]);
        expect(text).not.toContain(t.sb.rotatedToken);
        const res = await upOk(t.stack);
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.rotatedToken));
        expect(onHost(`stat -c '%a %U' ${TOKEN_FILE}`).trim()).toBe("600 user");
        const out = outputsOf(res);
        expect(out.githubLogin).toBe(t.sb.githubLogin);
        expect(out.tokenFingerprint).toBe(tokenFingerprint(t.sb.rotatedToken));
        expect(stagingFiles()).toBe("0");
    }, 300_000);

    it("a bad new token fails up naming the check and leaves the old token byte for byte", async () => {
        const before = fs.readFileSync(TOKEN_FILE);
        const mtime = fs.statSync(TOKEN_FILE).mtimeMs;
        await setSecret(t.stack, "githubToken", "ghp_rotation_bad_token_0000");
        const err = await upError(t.stack);
        expect(err).toContain("verification check 'github-identity' failed on host 'sandbox'");
        expect(err).not.toContain("ghp_rotation_bad_token_0000");
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(before);
        expect(fs.statSync(TOKEN_FILE).mtimeMs).toBe(mtime);
        expect(stagingFiles()).toBe("0");
    }, 300_000);

    it("a later up with a good token succeeds", async () => {
        await setSecret(t.stack, "githubToken", t.sb.validToken);
        await upOk(t.stack);
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.validToken));
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("an up killed in the middle of a rotation leaves the old or the new token, no key file, and a re-run converges", async () => {
        const since = path.join(os.tmpdir(), `gfh-kill-start-${Date.now()}`);
        fs.writeFileSync(since, "");
        await setSecret(t.stack, "githubToken", t.sb.rotatedToken);
        const run = t.stack.up({ onOutput: () => undefined }).catch((e) => e);
        // Kill the engine once the new token is staged on the host (the checks are running on it).
        const deadline = Date.now() + 120_000;
        while (stagingFiles() === "0" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(killPulumi("up", `rotation-${via}`)).toBeGreaterThan(0);
        await run;
        // Nothing the killed run wrote on this machine holds the SSH private key (the docker path's agent kept it in memory).
        const keyLines = fs.readFileSync(t.sb.keyFile, "utf8").split("\n").filter((l) => l.length > 40 && !l.startsWith("-----")).slice(2);
        expect(filesContaining(keyLines, ["/tmp", "/root", "/var/tmp", "/run", "/dev/shm"], [t.sb.keyFile], since)).toEqual([]);
        fs.rmSync(since, { force: true });
        const content = fs.readFileSync(TOKEN_FILE, "utf8");
        expect([t.sb.validToken, t.sb.rotatedToken]).toContain(content);
        await t.stack.cancel().catch(() => undefined);
        await upOk(t.stack);
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(t.sb.rotatedToken);
        expect(stagingFiles()).toBe("0");
    }, 300_000);
});
