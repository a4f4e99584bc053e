import { describe, expect, it } from "vitest";
import { migrateState, migrationRefusal, STATE_FORMAT } from "../../lib/stateMigration";

const P = "urn:pulumi:prod::github-flows-host";
const OLD_PROV = `${P}::pulumi:providers:pulumi-nodejs::default`;
const file = (t: string) => `${P}::github-flows-host:index:FlowsHost$${t}::web-1-gh-token`;
const exported = () => ({
    version: 3,
    deployment: {
        manifest: {},
        resources: [
            { urn: `${P}::pulumi:pulumi:Stack::github-flows-host-prod`, type: "pulumi:pulumi:Stack", custom: false },
            { urn: `${P}::github-flows-host:index:FlowsHost::web-1`, type: "github-flows-host:index:FlowsHost", custom: false },
            { urn: OLD_PROV, type: "pulumi:providers:pulumi-nodejs", custom: true, id: "p1" },
            {
                urn: file("pulumi-nodejs:dynamic/github-flows-host:RemoteFile"),
                type: "pulumi-nodejs:dynamic/github-flows-host:RemoteFile",
                custom: true,
                id: "h:22:/home/user/.secrets/gh-token",
                provider: `${OLD_PROV}::p1`,
                parent: `${P}::github-flows-host:index:FlowsHost::web-1`,
                inputs: { __provider: "exports.handler = ...", path: "/home/user/.secrets/gh-token", content: { ciphertext: "v1:abc" } },
                outputs: { __provider: "exports.handler = ...", path: "/home/user/.secrets/gh-token", found: false },
            },
            { urn: `${P}::command:remote:Command::web-1-checks`, type: "command:remote:Command", custom: true, dependencies: [file("pulumi-nodejs:dynamic/github-flows-host:RemoteFile")] },
        ],
    },
});

describe("migrateState: a 0.2 stack moves to the plugin in its state alone", () => {
    it("retypes each host resource, drops its code, points it at the plugin's default provider, and rewrites references", () => {
        const { exported: out, moved } = migrateState(exported(), "0.3.0", () => "p2");
        expect(moved).toBe(1);
        const rs = out.deployment.resources!;
        expect(rs.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack", "github-flows-host:index:FlowsHost", "pulumi:providers:github-flows-host", "github-flows-host:index:RemoteFile", "command:remote:Command"]);
        const f = rs[3];
        expect(f.urn).toBe(file("github-flows-host:index:RemoteFile"));
        expect(f.provider).toBe(`${P}::pulumi:providers:github-flows-host::default_0_3_0::p2`);
        expect(f.inputs).toEqual({ path: "/home/user/.secrets/gh-token", content: { ciphertext: "v1:abc" } });
        expect(f.outputs).toEqual({ path: "/home/user/.secrets/gh-token", found: false });
        expect(rs[4].dependencies).toEqual([file("github-flows-host:index:RemoteFile")]);
        expect(JSON.stringify(out)).not.toContain("pulumi-nodejs");
        // What the program's guard reads: the state is the plugin's now.
        expect(migrationRefusal({ hosts: true, ...rs[0].outputs }, "prod")).toBeUndefined();
    });

    it("leaves a stack without dynamic resources as it is", () => {
        const once = migrateState(exported(), "0.3.0", () => "p2").exported;
        expect(migrateState(once, "0.3.0")).toEqual({ exported: once, moved: 0, changed: false });
    });
});

describe("migrateState: the profile files of a host fold into one RemoteFileSet", () => {
    const AP = `${P}::github-flows-host:index:FlowsHost$github-flows-host:index:AgentProfiles::web-1`;
    const PROV = `${P}::pulumi:providers:github-flows-host::default_0_3_0::p2`;
    const ROOT = "/home/user/app/github-flows/var/work/cfg/repos";
    const urnOf = (name: string) => `${P}::github-flows-host:index:FlowsHost$github-flows-host:index:AgentProfiles$github-flows-host:index:RemoteFile::${name}`;
    const profileFile = (name: string, rel: string, found: boolean) => ({
        urn: urnOf(name),
        type: "github-flows-host:index:RemoteFile",
        custom: true,
        id: `h:22:${ROOT}/${rel}`,
        provider: PROV,
        parent: AP,
        dependencies: [`${P}::github-flows-host:index:FlowsHost$github-flows-host:index:HostAccount::web-1-account`],
        inputs: { connection: { ciphertext: "v1:conn" }, path: `${ROOT}/${rel}`, owner: "user", runtimeUser: "user", mode: "644", within: "/home/user", content: "{}" },
        outputs: { connection: { ciphertext: "v1:conn-out" }, path: `${ROOT}/${rel}`, owner: "user", runtimeUser: "user", mode: "644", within: "/home/user", sha256: { ciphertext: "v1:sum" }, found },
    });
    const state = (stateFormat?: string) => ({
        version: 3,
        deployment: {
            resources: [
                { urn: `${P}::pulumi:pulumi:Stack::github-flows-host-prod`, type: "pulumi:pulumi:Stack", custom: false, outputs: { hosts: {}, ...(stateFormat ? { stateFormat } : {}) } },
                { urn: AP, type: "github-flows-host:index:AgentProfiles", custom: false, parent: `${P}::github-flows-host:index:FlowsHost::web-1` },
                profileFile("web-1-acme--demo-profile", "acme/demo/issue_comment-created/profile.json", true),
                profileFile("web-1-acme--demo-prompt", "acme/demo/issue_comment-created/prompt.md", false),
                profileFile("web-1-o--r-profile", "o/r/issue_comment-created/profile.json", false),
                { urn: `${P}::x:index:Other::o`, type: "x:index:Other", custom: true, dependencies: [urnOf("web-1-o--r-profile"), urnOf("web-1-acme--demo-prompt")], propertyDependencies: { a: [urnOf("web-1-o--r-profile")] } },
            ],
        },
    });

    it("makes one set per AgentProfiles, holding every path, the found ones adopted, and points references at it", () => {
        const { exported: out, moved, changed } = migrateState(state("github-flows-host-plugin"), "0.3.0");
        expect([moved, changed]).toEqual([3, true]);
        const rs = out.deployment.resources!;
        expect(rs.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack", "github-flows-host:index:AgentProfiles", "github-flows-host:index:RemoteFileSet", "x:index:Other"]);
        const set = rs[2];
        const SET = `${P}::github-flows-host:index:FlowsHost$github-flows-host:index:AgentProfiles$github-flows-host:index:RemoteFileSet::web-1-profiles`;
        expect(set).toMatchObject({ urn: SET, id: `h:22:${ROOT}`, parent: AP, provider: PROV, custom: true });
        expect(set.inputs).toEqual({ connection: { ciphertext: "v1:conn" }, path: ROOT, owner: "user", runtimeUser: "user", mode: "644", within: "/home/user", files: {} });
        expect(set.outputs).toMatchObject({ connection: { ciphertext: "v1:conn-out" }, path: ROOT, adopted: ["acme/demo/issue_comment-created/profile.json"] });
        expect(set.outputs!.paths).toEqual(["acme/demo/issue_comment-created/profile.json", "acme/demo/issue_comment-created/prompt.md", "o/r/issue_comment-created/profile.json"]);
        expect(rs[3].dependencies).toEqual([SET]);
        expect(rs[3].propertyDependencies).toEqual({ a: [SET] });
        expect(migrationRefusal({ hosts: true, ...rs[0].outputs }, "prod")).toBeUndefined();
        // Run again: nothing to do.
        expect(migrateState(out, "0.3.0").changed).toBe(false);
    });

    it("marks a stack with no profile file (none installed) without changing anything else", () => {
        const bare = state("github-flows-host-plugin");
        bare.deployment.resources = bare.deployment.resources.slice(0, 2);
        const r = migrateState(bare, "0.3.0");
        expect([r.moved, r.changed]).toEqual([0, true]);
        expect(r.exported.deployment.resources![0].outputs).toMatchObject({ stateFormat: STATE_FORMAT });
        expect(r.exported.deployment.resources![1]).toEqual(bare.deployment.resources[1]);
    });

    it("refuses a profile file that is not under the others' root, changing nothing", () => {
        const odd = state();
        (odd.deployment.resources[4] as { inputs: { path: string } }).inputs.path = "/elsewhere/a/b/c/profile.json";
        expect(() => migrateState(odd, "0.3.0")).toThrow(/not a profile file under/);
    });
});

describe("migrationRefusal: the program refuses an earlier stack until it is migrated", () => {
    it("refuses outputs of the 0.2 program and of a build with a resource per profile file, naming the script; a new stack or a migrated one passes", () => {
        expect(migrationRefusal({ hosts: true }, "prod")).toContain("bash scripts/migrate-state.sh --stack prod");
        expect(migrationRefusal({ hosts: true }, "prod")).toContain("0.2");
        expect(migrationRefusal({ hosts: true, stateFormat: "github-flows-host-plugin" }, "prod")).toMatch(/resource per profile file: run `bash scripts\/migrate-state.sh --stack prod`/);
        expect(migrationRefusal({}, "prod")).toBeUndefined();
        expect(migrationRefusal({ hosts: true, stateFormat: STATE_FORMAT }, "prod")).toBeUndefined();
    });
});
