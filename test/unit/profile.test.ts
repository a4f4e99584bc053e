import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config";
import { TOKEN_EXPORT as PROFILE_TOKEN_EXPORT } from "../../lib/container";
import { PROMPT_REF, profileContract, profileDir, profileJson, ProfileInput, renderProfile, validateProfile } from "../../lib/profile";
import { documentProfileText, rawConfig } from "../fixtures/config";

/** The renderer's input built the way FlowsHost builds it: from validated config. */
function input(over: Record<string, unknown> = {}, repository = "owner/repository"): ProfileInput {
    const c = parseConfig(rawConfig(over));
    return { ...c, repository };
}

const documentProfile = () => JSON.parse(documentProfileText());

describe("renderProfile with the setup document's values", () => {
    it("equals the document's Profile Example field for field", () => {
        expect(renderProfile(input())).toStrictEqual(documentProfile());
    });

    it("renders the document's profile as stable JSON text", () => {
        const text = profileJson(renderProfile(input()));
        expect(JSON.parse(text)).toStrictEqual(documentProfile());
        expect(profileJson(renderProfile(input()))).toBe(text);
        expect(profileJson(renderProfile({ ...parseConfig(rawConfig()), repository: "owner/repository" }))).toBe(text);
        expect(text.endsWith("}\n")).toBe(true);
        expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    });

    it("starts the handler with the document's token export", () => {
        const args = renderProfile(input()).execution.handler.args;
        expect(args).toHaveLength(1);
        expect(args[0].startsWith(`${PROFILE_TOKEN_EXPORT}; exec `)).toBe(true);
        expect(renderProfile(input()).execution.handler.promptRef).toBe(PROMPT_REF);
    });

    it("passes the document's profile through the GitHub Flows contract unchanged", () => {
        expect(profileContract.parse(documentProfile())).toStrictEqual(documentProfile());
    });
});

describe("renderProfile per repository", () => {
    it("renders one profile per repository with only the trigger differing", () => {
        const c = parseConfig(rawConfig({ repositories: ["acme/one", "acme/two"] }));
        const profiles = c.repositories.map((repository) => renderProfile({ ...c, repository }));
        expect(profiles.map((p) => p.trigger.repository)).toEqual(["acme/one", "acme/two"]);
        expect(profiles[0].execution).toStrictEqual(profiles[1].execution);
    });

    it("adds GH_HOST when githubHost is not github.com", () => {
        expect(renderProfile(input()).execution.runtime.env).not.toHaveProperty("GH_HOST");
        const env = renderProfile(input({ githubHost: "github.example.com" })).execution.runtime.env;
        expect(env).toEqual({ LOG_LEVEL: "info", GH_TOKEN_FILE: "/run/secrets/gh-token", GH_HOST: "github.example.com" });
    });

    it("follows a changed runtime user and layout in the mounts", () => {
        const p = renderProfile(input({ runtimeUser: "flows" }));
        expect(p.execution.runtime.dockerArgs).toEqual([
            "--mount",
            "type=bind,src=/home/flows/.secrets/codex,dst=/home/user/.codex",
            "--mount",
            "type=bind,src=/home/flows/.secrets/gh-token,dst=/run/secrets/gh-token,readonly",
        ]);
    });

    it("appends profile.dockerArgs after the document's mounts and keeps GH_TOKEN_FILE over env", () => {
        const p = renderProfile(input({ profile: { dockerArgs: ["--network", "host"], env: { LOG_LEVEL: "debug", GH_TOKEN_FILE: "/elsewhere" } } }));
        expect(p.execution.runtime.dockerArgs?.slice(4)).toEqual(["--network", "host"]);
        expect(p.execution.runtime.env).toEqual({ LOG_LEVEL: "debug", GH_TOKEN_FILE: "/run/secrets/gh-token" });
    });

    it("refuses to render a profile that breaks the security rules", () => {
        const base = input();
        expect(() => renderProfile({ ...base, profile: { ...base.profile, dockerArgs: ["-v", "/var/run/docker.sock:/var/run/docker.sock"] } })).toThrow(
            /security rules.*Docker socket/,
        );
    });

    it.each([
        [["--privileged"], /'--privileged' is refused/],
        [["--env-file", ".env"], /'--env-file' is refused/],
        [["-e", "GH_TOKEN"], /needs NAME=VALUE/],
        [["--network", "host", "alpine"], /'alpine' is not an option/],
        [["-v", "/run/containerd/containerd.sock:/s"], /container runtime sockets/],
    ])("refuses to render profile.dockerArgs %j", (dockerArgs, want) => {
        const base = input();
        expect(() => renderProfile({ ...base, profile: { ...base.profile, dockerArgs } })).toThrow(want);
    });

    it("renders the document's two mounts for a secrets directory outside the home", () => {
        const p = renderProfile(input({ secretsDir: "/srv/flows/secrets", tokenFile: "/srv/flows/secrets/gh-token", codexDir: "/srv/flows/secrets/codex" }));
        expect(p.execution.runtime.dockerArgs?.[3]).toBe("type=bind,src=/srv/flows/secrets/gh-token,dst=/run/secrets/gh-token,readonly");
    });
});

describe("profileContract rejects what GitHub Flows rejects", () => {
    type Mutate = (p: any) => void;
    const cases: Array<[string, Mutate]> = [
        ["empty handler.command", (p) => (p.execution.handler.command = [])],
        ["handler.command with an empty word", (p) => (p.execution.handler.command = ["bash", ""])],
        ["handler.type other than agent/shell", (p) => (p.execution.handler.type = "docker")],
        ["handler.args not strings", (p) => (p.execution.handler.args = [1])],
        ["missing promptRef", (p) => delete p.execution.handler.promptRef],
        ["runtime.type other than docker", (p) => (p.execution.runtime.type = "podman")],
        ["empty runtime.image", (p) => (p.execution.runtime.image = "")],
        ["missing setupScript", (p) => delete p.execution.runtime.setupScript],
        ["timeoutSec 0", (p) => (p.execution.runtime.timeoutSec = 0)],
        ["negative timeoutSec", (p) => (p.execution.runtime.timeoutSec = -5)],
        ["fractional timeoutSec", (p) => (p.execution.runtime.timeoutSec = 1.5)],
        ["timeoutSec as a string", (p) => (p.execution.runtime.timeoutSec = "1800")],
        ["env with a non-string value", (p) => (p.execution.runtime.env.LOG_LEVEL = 3)],
        ["missing env", (p) => delete p.execution.runtime.env],
        ["dockerArgs with an empty string", (p) => p.execution.runtime.dockerArgs.push("")],
        ["promptVariables path not under event./host./workspace.", (p) => (p.execution.handler.promptVariables.ISSUE_BODY = "issue.body")],
        ["promptVariables path under env.", (p) => (p.execution.handler.promptVariables.X = "env.HOME")],
        ["required/optional form with a bad path", (p) => (p.execution.handler.promptVariables = { required: { A: "payload.x" } })],
        ["optional entry without default", (p) => (p.execution.handler.promptVariables = { optional: { A: { path: "event.x" } } })],
        ["repository not owner/name", (p) => (p.trigger.repository = "repository")],
        ["missing trigger.event", (p) => delete p.trigger.event],
    ];

    it.each(cases)("rejects %s", (_name, mutate) => {
        const p = documentProfile();
        mutate(p);
        expect(profileContract.safeParse(p).success).toBe(false);
        expect(() => validateProfile(p, parseConfig(rawConfig()))).toThrow(/not one GitHub Flows accepts/);
    });

    it.each([
        ["runtime.type docker", (p: any) => (p.execution.runtime.type = "docker")],
        ["no dockerArgs", (p: any) => delete p.execution.runtime.dockerArgs],
        ["required/optional promptVariables", (p: any) => (p.execution.handler.promptVariables = { required: { A: "event.a" }, optional: { B: { path: "host.b", default: null } } })],
        ["trigger arrays and actorLogin", (p: any) => Object.assign(p.trigger, { repository: ["a/b", "c/d"], actorLogin: "octocat" })],
        ["shell handler", (p: any) => (p.execution.handler.type = "shell")],
    ])("accepts %s", (_name, mutate) => {
        const p = documentProfile();
        mutate(p);
        expect(profileContract.safeParse(p).success).toBe(true);
    });
});

describe("profileDir", () => {
    it("is <workspace>/cfg/repos/<owner>/<repo>/<event>-<action>", () => {
        expect(profileDir("/home/user/app/github-flows/var/work", "owner/repository", "issue_comment", "created")).toBe(
            "/home/user/app/github-flows/var/work/cfg/repos/owner/repository/issue_comment-created",
        );
    });

    it("uses the configured event and action", () => {
        const c = parseConfig(rawConfig({ profile: { event: "issues", action: "opened" } }));
        expect(profileDir(c.workspaceDir, "acme/demo", c.profile.event, c.profile.action)).toBe("/home/user/app/github-flows/var/work/cfg/repos/acme/demo/issues-opened");
    });
});
