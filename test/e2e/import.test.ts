import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { profileDir } from "../../lib/profile";
import { collector, onHost, plannedChanges, pulumiCli, sandboxStack, setUpByHand, stepNames } from "./harness";

/**
 * `pulumi import` of a host set up by hand (scripts/sandbox/by-hand.sh): the token file, the two directories and the
 * profile, read by the plugin from ids `<login>@<address>:<port>:<path>` with the operator's ssh-agent and
 * known_hosts, into the URNs the program gives them. The program's next preview then changes only what differs (the
 * token's line ending), the up keeps every imported path's inode and mtime, and destroy leaves all of them.
 */
const HOME = "/home/user";
const SECRETS = `${HOME}/.secrets`;
const WORKSPACE = `${HOME}/app/github-flows/var/work`;
const REPOSITORY = "acme/demo";
const PROFILES = `${WORKSPACE}/cfg/repos`;
const T = (t: string) => `github-flows-host:index:${t}`;

/** `inode mtime mode owner` of a file; a directory's mtime is left out (fixing the token renames a file in it). */
const stamp = (p: string) => onHost(`if [ -d '${p}' ]; then stat -c '%i %a %U' -- '${p}'; else stat -c '%i %Y %a %U' -- '${p}'; fi`).trim();

describe("pulumi import of a host set up by hand (real engine, sshd; the plugin's read)", () => {
    const profile = `${profileDir(WORKSPACE, REPOSITORY, "issue_comment", "created")}/profile.json`;
    const imported = [SECRETS, `${SECRETS}/codex`, `${SECRETS}/gh-token`, profile];
    const before = new Map<string, string>();
    const agent = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-agent-"));
    let agentEnv: NodeJS.ProcessEnv = {};
    let agentPid = 0;

    const t = sandboxStack("import", async (t) => {
        setUpByHand(t.sb, REPOSITORY);
        // The operator's own SSH setup: the login key in an agent, the host key in known_hosts.
        const sock = path.join(agent, "agent.sock");
        agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(execFileSync("ssh-agent", ["-a", sock], { encoding: "utf8" }))?.[1]);
        execFileSync("ssh-add", [t.sb.keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
        agentEnv = { SSH_AUTH_SOCK: sock, GFH_KNOWN_HOSTS: t.sb.knownHosts };
    });

    afterAll(() => {
        if (agentPid) process.kill(agentPid);
        fs.rmSync(agent, { recursive: true, force: true });
    });

    it("pulumi import reads the token file, the directories and the profile into the program's URNs, changing nothing", () => {
        for (const p of imported) before.set(p, stamp(p));
        const id = (p: string) => `${t.sb.sshUser}@${t.sb.host}:${t.sb.port}:${p}`;
        const spec = {
            resources: [
                { type: T("FlowsHost"), name: "host", logicalName: "sandbox", component: true },
                { type: T("CredentialDirectories"), name: "dirs", logicalName: "sandbox", parent: "host", component: true },
                { type: T("RemoteDirectory"), name: "sandbox-secrets", id: id(SECRETS), parent: "dirs" },
                { type: T("RemoteDirectory"), name: "sandbox-codex", id: id(`${SECRETS}/codex`), parent: "dirs" },
                { type: T("GithubTokenFile"), name: "token", logicalName: "sandbox", parent: "host", component: true },
                { type: T("RemoteFile"), name: "sandbox-gh-token", id: id(`${SECRETS}/gh-token`), parent: "token" },
                { type: T("AgentProfiles"), name: "profiles", logicalName: "sandbox", parent: "host", component: true },
                // Every file under cfg/repos, as one set: they count as found (adopted), so the stack never removes them.
                { type: T("RemoteFileSet"), name: "sandbox-profiles", id: id(PROFILES), parent: "profiles" },
            ],
        };
        const file = path.join(agent, "import.json");
        fs.writeFileSync(file, JSON.stringify(spec));
        pulumiCli(t.stack, ["import", "--file", file, "--yes", "--generate-code=false"], undefined, agentEnv);
        const state = JSON.parse(pulumiCli(t.stack, ["stack", "export"])).deployment.resources as Array<{ urn: string; id?: string; outputs?: Record<string, unknown> }>;
        const token = state.find((r) => r.urn.endsWith("$github-flows-host:index:RemoteFile::sandbox-gh-token"));
        // The program's own id for it, found on the host (so the stack never removes it), owner and mode as they are.
        expect(token?.id).toBe(`${t.sb.host}:${t.sb.port}:${SECRETS}/gh-token`);
        expect(token?.outputs).toMatchObject({ found: true, owner: "user", mode: "600", runtimeUser: "user" });
        const set = state.find((r) => r.urn.endsWith("$github-flows-host:index:RemoteFileSet::sandbox-profiles"));
        expect(set?.id).toBe(`${t.sb.host}:${t.sb.port}:${PROFILES}`);
        const held = ["acme/demo/issue_comment-created/profile.json", "acme/demo/issue_comment-created/prompt.md"];
        expect(set?.outputs).toMatchObject({ paths: held, adopted: held, owner: "user", runtimeUser: "user" });
        for (const p of imported) expect(stamp(p), p).toBe(before.get(p));
    });

    it("an id without the login, or of a path that is not there, is refused by name", () => {
        const bad = path.join(agent, "bad.json");
        fs.writeFileSync(bad, JSON.stringify({ resources: [{ type: T("RemoteFile"), name: "x", id: `${t.sb.host}:${t.sb.port}:/etc/hostname` }] }));
        let said = "";
        try {
            pulumiCli(t.stack, ["import", "--file", bad, "--yes", "--generate-code=false"], undefined, agentEnv);
        } catch (e) {
            const x = e as { stdout?: string; stderr?: string };
            said = `${x.stdout ?? ""}${x.stderr ?? ""}`;
        }
        expect(said).toMatch(/is not <login>@<address>:<port>:<absolute path>/);
    });

    it("the program's preview then changes only the token file's bytes among the imported paths", async () => {
        const { steps } = await plannedChanges(t.stack);
        const touched = stepNames(steps).filter((s) => /sandbox-(secrets|codex|gh-token|profiles)$/.test(s));
        expect(touched).toEqual(["update sandbox-gh-token"]);
    });

    it("up fixes the token's line ending and keeps every other imported path as it was; destroy leaves them all", async () => {
        const out = collector();
        const res = await t.stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        expect(fs.readFileSync(`${SECRETS}/gh-token`, "utf8")).toBe(t.sb.validToken);
        for (const p of imported.filter((p) => !p.endsWith("gh-token"))) expect(stamp(p), p).toBe(before.get(p));
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
        await t.stack.destroy({ onOutput: () => undefined });
        for (const p of imported) expect(fs.existsSync(p), p).toBe(true);
    });
});
