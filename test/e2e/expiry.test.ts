import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import * as crypto from "crypto";
import * as fs from "fs";
import { afterAll, describe, expect, it } from "vitest";
import { collector, control, onHost, removeConfig, Sandbox, sandboxStack, setPlain, setSecret, upError, upOk } from "./harness";

const HOME = "/home/user";
const SECRETS = `${HOME}/.secrets`;
const TOKEN_FILE = `${SECRETS}/gh-token`;
const DAY = 86_400_000;

/** ISO 8601 UTC, whole seconds, `days` from now: the form tokenExpiresAt takes. */
const isoIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A canary token of the sandbox's account that the fake GitHub API knows, with an expiry and roles of the test's choosing. */
async function newToken(sb: Sandbox, fixture: { expiresAt?: string; permissions?: Record<string, string> }): Promise<string> {
    const token = `ghp_e2eexpiry${crypto.randomBytes(8).toString("hex")}`;
    await control(sb, "/_control/tokens", { [token]: { login: sb.githubLogin, ...fixture } });
    return token;
}

/**
 * What the runtime user's credentials and app look like on the host: every file with mode, owner, size, mtime and
 * sha256, every directory with mode and owner and what it holds. A directory's own mtime is left out: the checks
 * stage the new token beside the token file and remove it again, which the secrets directory's mtime records.
 */
function hostState(): string {
    return onHost(
        `find ${SECRETS} ${HOME}/app -type d -printf 'd %m %u %p\\n' -o -printf 'f %m %u %s %T@ %p\\n' | sort; ` +
            `find ${SECRETS} ${HOME}/app -type f -exec sha256sum {} + | sort -k2`,
    );
}

/** The host's stack outputs after the last update. */
async function hostOutputs(stack: Stack): Promise<Record<string, unknown>> {
    return ((await stack.outputs()).hosts.value as Record<string, Record<string, unknown>>).sandbox;
}

/** Collects the engine's warnings (pulumi.log.warn) and its text output. */
function warnings() {
    const out = collector();
    const list: string[] = [];
    const onEvent = (e: EngineEvent) => {
        if (e.diagnosticEvent?.severity === "warning") list.push(e.diagnosticEvent.message);
    };
    return { list, onEvent, onOutput: out.onOutput, text: out.text };
}

describe("token expiry and repository roles, caught before the agents fail (sandbox host)", () => {
    const t = sandboxStack("expiry", async ({ stack }) => {
        await setSecret(stack, "openaiApiKey", "sk-sandbox-expiry-0001");
        await upOk(stack);
    });
    // After hooks run in reverse order: this one (drop the canary tokens) before the stack is destroyed.
    afterAll(async () => {
        await control(t.sb, "/_control/reset").catch(() => undefined);
    }, 60_000);

    it("a token without an expiry is recorded as never, with its role per repository, and no warning", async () => {
        const h = await hostOutputs(t.stack);
        expect(h.tokenExpiresAt).toBe("never");
        expect(h.repositoryAccess).toEqual({ "acme/demo": "push" });
        const w = warnings();
        await t.stack.preview({ onEvent: w.onEvent, onOutput: w.onOutput });
        expect(w.list.filter((m) => m.includes("GitHub token")), w.text()).toEqual([]);
    }, 300_000);

    it("a token expiring in 3 days warns on up and on every preview after, naming the host and the date", async () => {
        const expiresAt = isoIn(3);
        const token = await newToken(t.sb, { expiresAt });
        await setSecret(t.stack, "githubToken", token);

        const up = warnings();
        const res = await t.stack.up({ onEvent: up.onEvent, onOutput: up.onOutput });
        expect(res.summary.result, up.text()).toBe("succeeded");
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(token);
        expect(await hostOutputs(t.stack)).toMatchObject({ tokenExpiresAt: expiresAt, repositoryAccess: { "acme/demo": "push" } });
        const onUp = up.list.filter((m) => m.includes(expiresAt));
        expect(onUp, up.text()).toHaveLength(1);
        expect(onUp[0]).toContain("host 'sandbox' (127.0.0.1:");
        expect(onUp[0]).toContain("tokenExpiryWarningDays is 14");
        expect(onUp[0]).toContain("pulumi config set --secret githubToken");
        expect(up.text()).not.toContain(token);

        // The token did not change, so the checks do not re-run: preview warns from the recorded expiry.
        for (let i = 0; i < 2; i++) {
            const pre = warnings();
            await t.stack.preview({ onEvent: pre.onEvent, onOutput: pre.onOutput });
            expect(pre.list.filter((m) => m.includes(expiresAt) && m.includes("host 'sandbox'")), pre.text()).toHaveLength(1);
        }
    }, 300_000);

    it("an expired token fails up at the identity check and leaves the host as it was", async () => {
        const before = hostState();
        const token = await newToken(t.sb, { expiresAt: isoIn(-1) });
        await setSecret(t.stack, "githubToken", token);
        const err = await upError(t.stack);
        expect(err).toContain("verification check 'github-identity' failed on host 'sandbox'");
        expect(err).toContain("Bad credentials (HTTP 401)");
        expect(err).toContain("a token that has expired");
        expect(err).not.toContain(token);
        expect(hostState()).toBe(before);
        expect(fs.readdirSync(SECRETS).filter((f) => f.startsWith(".gh-token."))).toEqual([]);
    }, 300_000);

    it("a read-only token fails the push requirement naming the repository; requiredPermission pull accepts it", async () => {
        const before = hostState();
        const token = await newToken(t.sb, { permissions: { "acme/demo": "pull" } });
        await setSecret(t.stack, "githubToken", token);
        const err = await upError(t.stack);
        expect(err).toContain("verification check 'repository-permission' failed on host 'sandbox'");
        expect(err).toContain("requiredPermission is push");
        expect(err).toContain("acme/demo: the token may pull, it needs push");
        expect(err).not.toContain(token);
        expect(hostState()).toBe(before);

        await setPlain(t.stack, "requiredPermission", "pull");
        await upOk(t.stack);
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(token);
        expect(await hostOutputs(t.stack)).toMatchObject({ tokenExpiresAt: "never", repositoryAccess: { "acme/demo": "pull" } });

        await removeConfig(t.stack, "requiredPermission");
        await setSecret(t.stack, "githubToken", t.sb.validToken);
        await upOk(t.stack);
        expect(await hostOutputs(t.stack)).toMatchObject({ repositoryAccess: { "acme/demo": "push" } });
    }, 300_000);
});
