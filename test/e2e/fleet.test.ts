import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { rootRefusedHost } from "../../scripts/sandbox/stack.mjs";
import { onHost, plannedChanges, sandboxStack, setPlain, setSecret, stepNames, upOk } from "./harness";

/**
 * A fleet that is not uniform, on the defaults: two `hosts` entries, one with the top-level settings and one that
 * sets its own repositories and paths (and logs in as the sudo admin on the port where root is refused). Both are
 * the sandbox host, so each entry's paths must be its own.
 */
const HOME = "/home/user";
const A = { secrets: `${HOME}/.secrets`, work: `${HOME}/app/github-flows/var/work` };
const B = { secrets: `${HOME}/.secrets/b`, app: `${HOME}/app/flows-b`, work: `${HOME}/app/flows-b/var/work` };
const profile = (work: string, repo: string) => `${work}/cfg/repos/${repo}/issue_comment-created/profile.json`;
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();

describe("hosts entries with their own repositories and paths (defaults)", () => {
    const t = sandboxStack("fleet", async ({ stack, sb }) => {
        const a = { name: "sandbox", address: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey };
        const b = { ...rootRefusedHost(sb), name: "sandbox-b", repositories: ["owner/repository"], secretsDir: B.secrets, appDir: B.app };
        await setPlain(stack, "hosts", [a, b]);
        await setPlain(stack, "repositories", ["acme/demo"]);
        await setSecret(stack, "openaiApiKey", "sk-sandbox-fleet-key-0001");
    });

    it("each host gets its own repositories' profiles and its own paths; the next preview is clean", async () => {
        const res = await upOk(t.stack);
        const hosts = res.outputs.hosts.value as Record<string, { profiles: Record<string, string>; githubLogin: string }>;
        expect(Object.keys(hosts).sort()).toEqual(["sandbox", "sandbox-b"]);
        expect(Object.keys(hosts.sandbox.profiles)).toEqual(["acme/demo"]);
        expect(Object.keys(hosts["sandbox-b"].profiles)).toEqual(["owner/repository"]);
        for (const h of Object.values(hosts)) expect(h.githubLogin).toBe(t.sb.githubLogin);

        // The top-level settings on the first entry, the entry's own on the second, and nothing crossed over.
        expect(fs.readFileSync(profile(A.work, "acme/demo"), "utf8")).toBe(hosts.sandbox.profiles["acme/demo"]);
        expect(fs.readFileSync(profile(B.work, "owner/repository"), "utf8")).toBe(hosts["sandbox-b"].profiles["owner/repository"]);
        expect(fs.existsSync(profile(A.work, "owner/repository"))).toBe(false);
        expect(fs.existsSync(profile(B.work, "acme/demo"))).toBe(false);
        for (const s of [A.secrets, B.secrets]) {
            expect(stat(s)).toBe("700 user");
            expect(stat(`${s}/gh-token`)).toBe("600 user");
            expect(stat(`${s}/codex`)).toBe("700 user");
            expect(fs.readFileSync(`${s}/gh-token`)).toEqual(Buffer.from(t.sb.validToken));
        }
        // The second host's profile mounts its own credentials.
        const dockerArgs = JSON.parse(hosts["sandbox-b"].profiles["owner/repository"]).execution.runtime.dockerArgs.join(" ");
        expect(dockerArgs).toContain(`src=${B.secrets}/gh-token`);
        expect(dockerArgs).toContain(`src=${B.secrets}/codex`);

        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 600_000);
});
