import type { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFingerprint } from "../../components/githubTokenFile";
import { configureForSandbox, errorText, killPulumi, newStack, onHost, plannedChanges, resetHost, sandbox, Sandbox, setSecret, stepNames } from "./harness";

const SECRETS = "/home/user/.secrets";
const TOKEN_FILE = `${SECRETS}/gh-token`;
const stagingFiles = () => onHost(`ls -A ${SECRETS} | grep -c '^\\.gh-token\\.' || true`).trim();
const outputsOf = (res: { outputs: Record<string, { value: unknown }> }) => (res.outputs.hosts.value as Record<string, Record<string, string>>).sandbox;

describe("token rotation on the sandbox host", () => {
    let sb: Sandbox;
    let stack: Stack;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
        sb = sandbox();
        resetHost();
        ({ stack, cleanup } = await newStack("rotation"));
        await configureForSandbox(stack, sb);
        await setSecret(stack, "openaiApiKey", "sk-sandbox-rotation-0001");
        expect((await stack.up({ onOutput: () => undefined })).summary.result).toBe("succeeded");
    }, 300_000);

    afterAll(async () => {
        try {
            await stack?.destroy({ onOutput: () => undefined });
        } finally {
            await cleanup?.();
        }
    }, 300_000);

    it("a new token: only the checks and the token file change, and the outputs follow", async () => {
        await setSecret(stack, "githubToken", sb.rotatedToken);
        const { steps, text } = await plannedChanges(stack);
        expect(stepNames(steps), text).toEqual(["replace sandbox-checks", "update sandbox-gh-token"]);
        expect(text).not.toContain(sb.rotatedToken);
        const res = await stack.up({ onOutput: () => undefined });
        expect(res.summary.result).toBe("succeeded");
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(sb.rotatedToken));
        expect(onHost(`stat -c '%a %U' ${TOKEN_FILE}`).trim()).toBe("600 user");
        const out = outputsOf(res);
        expect(out.githubLogin).toBe(sb.githubLogin);
        expect(out.tokenFingerprint).toBe(tokenFingerprint(sb.rotatedToken));
        expect(stagingFiles()).toBe("0");
    }, 300_000);

    it("a bad new token fails up naming the check and leaves the old token byte for byte", async () => {
        const before = fs.readFileSync(TOKEN_FILE);
        const mtime = fs.statSync(TOKEN_FILE).mtimeMs;
        await setSecret(stack, "githubToken", "ghp_rotation_bad_token_0000");
        const err = await stack.up({ onOutput: () => undefined }).then(
            () => undefined,
            (e) => errorText(e),
        );
        expect(err).toContain("verification check 'github-identity' failed on host 'sandbox'");
        expect(err).not.toContain("ghp_rotation_bad_token_0000");
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(before);
        expect(fs.statSync(TOKEN_FILE).mtimeMs).toBe(mtime);
        expect(stagingFiles()).toBe("0");
    }, 300_000);

    it("a later up with a good token succeeds", async () => {
        await setSecret(stack, "githubToken", sb.validToken);
        const res = await stack.up({ onOutput: () => undefined });
        expect(res.summary.result).toBe("succeeded");
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(sb.validToken));
        expect(stepNames((await plannedChanges(stack)).steps)).toEqual([]);
    }, 300_000);

    it("an up killed in the middle of a rotation leaves the old or the new token, and a re-run converges", async () => {
        await setSecret(stack, "githubToken", sb.rotatedToken);
        const run = stack.up({ onOutput: () => undefined }).catch((e) => e);
        // Kill the engine once the new token is staged on the host (the checks are running on it).
        const deadline = Date.now() + 120_000;
        while (stagingFiles() === "0" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(killPulumi("up", "rotation")).toBeGreaterThan(0);
        await run;
        const content = fs.readFileSync(TOKEN_FILE, "utf8");
        expect([sb.validToken, sb.rotatedToken]).toContain(content);
        await stack.cancel().catch(() => undefined);
        const res = await stack.up({ onOutput: () => undefined });
        expect(res.summary.result).toBe("succeeded");
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(sb.rotatedToken);
        expect(stagingFiles()).toBe("0");
    }, 300_000);
});
