import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collector, configureForSandbox, copyProject, newStack, onHost, plannedChanges, REPO, resetHost, sandbox, Sandbox, setSecret, upError } from "./harness";
import type { Stack } from "@pulumi/pulumi/automation";

/**
 * A stack made by the 0.2 program (host resources as dynamic resources: the last commit with
 * providers/dynamicResource.ts) moves to the plugin without touching the host: the new program refuses it until
 * scripts/migrate-state.sh has run, then the first preview replaces and deletes nothing, and the up rewrites no host
 * file (inode and mtime) and removes nothing.
 */
const HOME = "/home/user";

/**
 * Every path of the setup: `path -> "type inode mtime mode owner"` (the Codex directory's own files aside). A
 * directory's mtime is left out: the new version's checks run again (their text changed), and a run stages the token
 * beside the token file for a moment.
 */
function snapshot(): Map<string, string> {
    const out = onHost(`find ${HOME}/.secrets ${HOME}/app \\( -type d -printf '%p\\t%y %i %m %u\\n' \\) -o -printf '%p\\t%y %i %T@ %m %u\\n' 2>/dev/null || true`);
    return new Map(
        out
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split("\t") as [string, string])
            .filter(([p]) => !p.startsWith(`${HOME}/.secrets/codex/`) || p.endsWith("/auth.json")),
    );
}

describe("a stack of the 0.2 program moves to the plugin without touching the host (old commit, then this one)", () => {
    let sb: Sandbox;
    let stack: Stack;
    let dir: string;
    let cleanup: () => Promise<void>;
    let old: string;
    let before: Map<string, string>;

    beforeAll(async () => {
        sb = sandbox();
        resetHost();
        // The last commit that had the dynamic resources, from this clone's history.
        const removed = execFileSync("git", ["-C", REPO, "rev-list", "-1", "HEAD", "--", "providers/dynamicResource.ts"], { encoding: "utf8" }).trim();
        expect(removed, "this clone's history has the commit that removed providers/dynamicResource.ts").toMatch(/^[0-9a-f]{40}$/);
        old = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-old-"));
        execFileSync("sh", ["-c", `git -C '${REPO}' archive '${removed}^' | tar -x -C '${old}'`]);
        ({ stack, dir, cleanup } = await newStack("migrate", undefined, old));
        await configureForSandbox(stack, sb);
        await setSecret(stack, "openaiApiKey", "sk-sandbox-migrate-0001");
    }, 900_000);

    afterAll(async () => {
        try {
            await stack?.destroy({ onOutput: () => undefined });
        } finally {
            await cleanup?.();
            fs.rmSync(old, { recursive: true, force: true });
        }
    }, 900_000);

    it("the 0.2 program sets the host up with dynamic resources", async () => {
        const out = collector();
        const res = await stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        const types = (await stack.exportStack()).deployment.resources.map((r: { type: string }) => r.type);
        expect(types).toContain("pulumi-nodejs:dynamic/github-flows-host:RemoteFile");
        before = snapshot();
        expect(before.has(`${HOME}/.secrets/gh-token`)).toBe(true);
    });

    it("this program refuses the 0.2 stack, naming the script, and changes nothing", async () => {
        copyProject(REPO, dir);
        const err = (await upError(stack)) ?? "";
        expect(err).toContain("bash scripts/migrate-state.sh --stack migrate");
        expect(snapshot()).toEqual(before);
    });

    it("scripts/migrate-state.sh moves every host resource to the plugin in the state alone", async () => {
        const ws = stack.workspace as unknown as { envVars: Record<string, string> };
        const out = execFileSync("bash", [path.join(dir, "scripts/migrate-state.sh"), "--stack", stack.name], { cwd: dir, env: { ...process.env, ...ws.envVars }, encoding: "utf8" });
        expect(out).toMatch(/host resources moved \(to the plugin github-flows-host; profile files into one set per host\)/);
        const types = (await stack.exportStack()).deployment.resources.map((r: { type: string }) => r.type);
        expect(types.filter((t: string) => t.startsWith("pulumi-nodejs"))).toEqual([]);
        expect(types).toContain("github-flows-host:index:RemoteFile");
        expect(snapshot()).toEqual(before);
    });

    it("then preview replaces and deletes nothing, and up rewrites and removes nothing on the host", async () => {
        const { steps, text } = await plannedChanges(stack);
        expect(steps.filter((s) => ["replace", "delete", "create-replacement", "delete-replaced"].includes(s.op)), text).toEqual([]);
        const out = collector();
        const res = await stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        expect(snapshot()).toEqual(before);
        expect((await plannedChanges(stack)).steps).toEqual([]);
    });
});
