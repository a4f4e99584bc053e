import type { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collector, onHost, plannedChanges, projectStack, REPO, resetHost, sandbox, Sandbox, sandboxHost } from "./harness";

/**
 * examples/yaml: FlowsHost declared in Pulumi YAML (the YAML language host built by scripts/toolchain.sh), served by
 * the plugin github-flows-host as a component, on the sandbox host.
 */
const HOME = "/home/user";
const TOKEN_FILE = `${HOME}/.secrets/gh-token`;
const PROFILE = `${HOME}/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created/profile.json`;
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();

describe("examples/yaml: FlowsHost from Pulumi YAML through the plugin's schema (real engine, sshd, dockerd)", () => {
    let sb: Sandbox;
    let dir: string;
    let stack: Stack;
    let pulumi: (args: string[], stdin?: string) => string;

    beforeAll(async () => {
        sb = sandbox();
        resetHost();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-yaml-"));
        fs.copyFileSync(path.join(REPO, "examples/yaml/Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const { host, settings, secrets } = sandboxHost(sb);
        ({ stack, pulumi } = await projectStack(dir, "yaml", { ...host, ...settings }, { ...secrets, openaiApiKey: "sk-sandbox-e2e-yaml-0001" }));
    }, 300_000);

    afterAll(async () => {
        try {
            await stack?.destroy({ onOutput: () => undefined });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 600_000);

    it("up sets the host up as the stack program does: token file, profile, outputs", async () => {
        const out = collector();
        const res = await stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(sb.validToken);
        expect(stat(TOKEN_FILE)).toBe("600 user");
        expect(JSON.parse(fs.readFileSync(PROFILE, "utf8")).trigger.repository).toBe("acme/demo");
        expect(res.outputs.githubLogin.value).toBe(sb.githubLogin);
        expect(JSON.parse(res.outputs.profiles.value["acme/demo"]).trigger.repository).toBe("acme/demo");
        // The token never reaches the state in plain text.
        expect(pulumi(["stack", "export"])).not.toContain(sb.validToken);
    });

    it("a second preview shows no changes; a chmod on the host shows as drift", async () => {
        expect((await plannedChanges(stack)).steps).toEqual([]);
        onHost(`chmod 644 ${TOKEN_FILE}`);
        expect((await plannedChanges(stack)).steps.map((s) => `${s.op} ${s.name}`)).toEqual(["update web-1-gh-token"]);
        onHost(`chmod 600 ${TOKEN_FILE}`);
    });

    it("destroy removes the token file", async () => {
        await stack.destroy({ onOutput: () => undefined });
        expect(fs.existsSync(TOKEN_FILE)).toBe(false);
    });
});
