import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { control, plannedChanges, sandboxStack, setPlain, setSecret, stepNames, upOk } from "./harness";

/** The config accepts 300 repositories; one wrapped command used to pass Linux's 128 KiB argument limit at about 150. */
describe("300 repositories on the sandbox host", () => {
    const t = sandboxStack("scale");
    // The fake GitHub API answers for any `bulk/<name>` (fixtures: `bulk/*`).
    const repos = Array.from({ length: 300 }, (_, i) => `bulk/repository-${String(i).padStart(3, "0")}-with-a-longer-name-than-most`);

    it("up checks every repository in one container and installs 300 profiles; then nothing changes", async () => {
        await setPlain(t.stack, "repositories", repos);
        await setSecret(t.stack, "openaiApiKey", "sk-sandbox-scale-0001");
        await control(t.sb, "/_control/reset");
        const res = await upOk(t.stack);
        expect(res.outputs.hosts.value.sandbox.githubLogin).toBe(t.sb.githubLogin);
        // Every repository was looked up (gh repo view asks GraphQL for it) and found.
        const log = (await (await fetch(`${t.sb.controlUrl}/_control/requests`)).json()) as Array<{ status: number; graphql?: { variables: Record<string, string> } }>;
        const found = new Set(log.filter((e) => e.status === 200 && e.graphql?.variables.owner === "bulk").map((e) => `bulk/${e.graphql!.variables.name}`));
        expect([...found].sort()).toEqual(repos);
        const work = `/home/${t.sb.sshUser}/app/github-flows/var/work/cfg/repos/bulk`;
        expect(fs.readdirSync(work)).toHaveLength(300);
        expect(fs.existsSync(`${work}/${repos[299].split("/")[1]}/issue_comment-created/profile.json`)).toBe(true);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 1_800_000);
});
