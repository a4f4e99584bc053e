import type { Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collector, onHost, plannedChanges, projectStack, REPO, resetHost, sandbox, Sandbox, sandboxHost } from "./harness";

/**
 * examples/typescript, someone else's Pulumi program, on the sandbox host: the package as `npm pack` makes it,
 * installed from the tarball, `new FlowsHost(...)` with the credentials as config secrets. `npm test` prepares the
 * copy once (scripts/example.sh, GFH_EXAMPLE_DIR); run alone, this file prepares its own.
 */
const HOME = "/home/user";
const TOKEN_FILE = `${HOME}/.secrets/gh-token`;
const PROFILE = `${HOME}/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created/profile.json`;
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();

describe("examples/typescript: FlowsHost from the packed package in a program of its own (real engine, sshd, dockerd)", () => {
    let sb: Sandbox;
    let dir: string;
    let own = false;
    let stack: Stack;

    beforeAll(async () => {
        sb = sandbox();
        resetHost();
        const prepared = process.env.GFH_EXAMPLE_DIR;
        if (prepared && fs.existsSync(path.join(prepared, "node_modules/github-flows-host/package.json"))) dir = prepared;
        else {
            dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-example-")), "project");
            own = true;
            execFileSync("bash", [path.join(REPO, "scripts/example.sh"), dir], { stdio: ["ignore", "ignore", "inherit"] });
        }
        const { host, settings, secrets } = sandboxHost(sb);
        ({ stack } = await projectStack(dir, "example", { host, ...settings }, { ...secrets, openaiApiKey: "sk-sandbox-e2e-example-0001" }));
    }, 300_000);

    afterAll(async () => {
        try {
            await stack?.destroy({ onOutput: () => undefined });
        } finally {
            fs.rmSync(own ? path.dirname(dir) : path.join(dir, ".state"), { recursive: true, force: true });
        }
    }, 300_000);

    it("up prepares the host and exports the component's outputs", async () => {
        const out = collector();
        const res = await stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        expect(res.outputs.githubLogin.value).toBe(sb.githubLogin);
        expect(res.outputs.tokenExpiresAt.value).toBeTruthy();
        expect(res.outputs.tokenFingerprint.value).toMatch(/^[0-9a-f]{12}$/);
        const profiles = res.outputs.profiles.value as Record<string, string>;
        expect(Object.keys(profiles)).toEqual(["acme/demo"]);
        expect(fs.readFileSync(PROFILE, "utf8")).toBe(profiles["acme/demo"]);
        expect(JSON.parse(profiles["acme/demo"]).execution.runtime.env.GH_HOST).toBe(sb.githubHost);
        // The shipped prompt (the example has none of its own); the token as stored, without the line break.
        expect(fs.readFileSync(path.join(path.dirname(PROFILE), "prompt.md"), "utf8")).toBe(fs.readFileSync(path.join(REPO, "prompts/prompt.md"), "utf8"));
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(sb.validToken));
        expect(stat(TOKEN_FILE)).toBe("600 user");
        // No credential in the outputs or the engine's output.
        const text = JSON.stringify(res.outputs) + out.text();
        for (const secret of [sb.validToken, "sk-sandbox-e2e-example-0001", fs.readFileSync(sb.keyFile, "utf8").split("\n")[1]]) expect(text).not.toContain(secret);
    }, 300_000);

    it("a second preview plans no change", async () => {
        const { steps, text } = await plannedChanges(stack);
        expect(steps, text).toEqual([]);
    }, 120_000);

    it("destroy removes what it made and keeps the Codex state", async () => {
        await stack.destroy({ onOutput: () => undefined });
        expect(stat(TOKEN_FILE)).toBe("absent");
        expect(stat(PROFILE)).toBe("absent");
        expect(stat(`${HOME}/.secrets/codex`)).toBe("700 user");
    }, 300_000);
});
