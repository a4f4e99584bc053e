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
        expect(migrateState(once, "0.3.0")).toEqual({ exported: once, moved: 0 });
    });
});

describe("migrationRefusal: the program refuses a 0.2 stack until it is migrated", () => {
    it("refuses outputs of the 0.2 program, naming the script; a new stack or a migrated one passes", () => {
        expect(migrationRefusal({ hosts: true }, "prod")).toContain("bash scripts/migrate-state.sh --stack prod");
        expect(migrationRefusal({}, "prod")).toBeUndefined();
        expect(migrationRefusal({ hosts: true, stateFormat: STATE_FORMAT }, "prod")).toBeUndefined();
    });
});
