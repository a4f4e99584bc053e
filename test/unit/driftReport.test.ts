import { describe, expect, it } from "vitest";
import { changedProperties, configuredHosts, driftReport, PreviewJson, PreviewStep } from "../../lib/driftReport";

// URNs and states shaped as `pulumi preview --json` prints them (trimmed to the fields the report reads).
const STACK = "urn:pulumi:prod::github-flows-host::pulumi:pulumi:Stack::github-flows-host-prod";
const HOST_T = "github-flows-host:index:FlowsHost";
const host = (n: string) => `urn:pulumi:prod::github-flows-host::${HOST_T}::${n}`;
const comp = (n: string, t: string) => `urn:pulumi:prod::github-flows-host::${HOST_T}$github-flows-host:index:${t}::${n}`;
const file = (n: string, t = "GithubTokenFile") => `urn:pulumi:prod::github-flows-host::${HOST_T}$github-flows-host:index:${t}$github-flows-host:index:RemoteFile::${n}`;
const config = (...names: string[]) => ({
    "github-flows-host:hosts": JSON.stringify(names.map((name) => ({ name, address: "203.0.113.10", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" }))),
    "github-flows-host:githubToken": "[secret]",
});
const step = (op: string, urn: string, parent?: string, extra: Partial<PreviewStep> = {}): PreviewStep => ({
    op,
    urn,
    newState: { urn, parent, inputs: {} },
    oldState: { urn, parent, inputs: {}, outputs: {} },
    ...extra,
});
const TOKEN = "/home/user/.secrets/gh-token";
const tokenChmod = (h: string, parent?: string): PreviewStep =>
    step("update", file(`${h}-gh-token`), parent, {
        oldState: { parent, inputs: { mode: "600", path: TOKEN }, outputs: { connection: "[secret]", content: "[secret]", mode: "644", owner: "user", path: TOKEN, sha256: "ab".repeat(32) } },
        newState: { parent, inputs: { __provider: "exports.handler = ...", connection: "[secret]", content: "[secret]", mode: "600", owner: "user", path: TOKEN } },
    });
/** The refresh pass lists every resource with its parent, as `options.refresh: always` makes preview do. */
const refreshed = (h: string): PreviewStep[] => [
    step("refresh", host(h), STACK),
    step("refresh", comp(h, "GithubTokenFile"), host(h)),
    step("refresh", file(`${h}-gh-token`), comp(h, "GithubTokenFile")),
];

describe("drift report from pulumi preview --json", () => {
    it("every configured host clean: one line each, in config order, status 0", () => {
        const r = driftReport({ config: config("flows-2", "flows-1"), steps: [...refreshed("flows-2"), ...refreshed("flows-1"), step("same", STACK)] }, 0);
        expect(r).toEqual({ lines: ["flows-2 clean", "flows-1 clean"], exitCode: 0, errors: [] });
    });

    it("a chmod of one host's token file: that host drifted with the mode seen and wanted, the other clean, status 1", () => {
        const steps = [...refreshed("flows-1"), ...refreshed("flows-2"), step("same", STACK), tokenChmod("flows-2", comp("flows-2", "GithubTokenFile"))];
        const r = driftReport({ config: config("flows-1", "flows-2"), steps }, 255);
        expect(r.lines).toEqual(["flows-1 clean", "flows-2 drifted: update flows-2-gh-token /home/user/.secrets/gh-token (mode 644, want 600)"]);
        expect(r.exitCode).toBe(1);
    });

    it("without refresh steps (drift found in the providers' diff) the host comes from the parent and the naming rule", () => {
        const r = driftReport({ config: config("a", "a-b"), steps: [step("same", STACK), tokenChmod("a-b", comp("a-b", "GithubTokenFile"))] }, 255);
        expect(r.lines).toEqual(["a clean", "a-b drifted: update a-b-gh-token /home/user/.secrets/gh-token (mode 644, want 600)"]);
    });

    it("when the provider's diff only says \"changed\" (state as last written), the step and the host path name what drifted", () => {
        const s = step("update", file("h-gh-token"), undefined, {
            oldState: { inputs: { mode: "600", path: TOKEN }, outputs: { mode: "600", path: TOKEN, content: "[secret]" } },
            newState: { inputs: { mode: "600", path: TOKEN, content: "[secret]" } },
        });
        expect(driftReport({ config: config("h"), steps: [s] }, 255).lines).toEqual(["h drifted: update h-gh-token /home/user/.secrets/gh-token"]);
        const secretPath = step("update", file("h-gh-token"), undefined, { newState: { inputs: { path: "[secret]" } } });
        expect(driftReport({ config: config("h"), steps: [secretPath] }, 255).lines).toEqual(["h drifted: update h-gh-token"]);
    });

    it("uses the provider's detailed diff or diff reasons when it gives them, top-level property names only", () => {
        expect(changedProperties(step("update", file("h-gh-token"), undefined, { detailedDiff: { "mode": {}, "owner": {}, "env.LOG_LEVEL": {} } }))).toEqual(["env", "mode", "owner"]);
        expect(changedProperties(step("update", file("h-gh-token"), undefined, { diffReasons: ["sha256"], detailedDiff: null }))).toEqual(["sha256"]);
        expect(changedProperties(step("replace", file("h-checks"), undefined, { replaceReasons: ["triggers[0]"] }))).toEqual(["triggers"]);
    });

    it("never prints a secret or a long value: secrets are skipped, long values give only the property name", () => {
        const s = step("update", file("h-acme--demo-profile", "AgentProfiles"), undefined, {
            oldState: { outputs: { content: "{\n \"image\": \"x\"\n}", token: "[secret]", mode: "600" } },
            newState: { inputs: { content: "{\n \"image\": \"y\"\n}", token: "[secret]", mode: "600" } },
        });
        expect(changedProperties(s)).toEqual(["content"]);
    });

    it("replace, create and delete steps; the halves of a replace are not repeated", () => {
        const steps = [
            step("create", file("h-gh-token")),
            step("replace", file("h-checks", "Verification"), undefined, { replaceReasons: ["triggers"] }),
            step("create-replacement", file("h-checks", "Verification")),
            step("delete-replaced", file("h-checks", "Verification")),
        ];
        expect(driftReport({ config: config("h"), steps }, 255).lines).toEqual(["h drifted: create h-gh-token; replace h-checks (triggers)"]);
    });

    it("a host in the state but gone from the config is reported too", () => {
        const r = driftReport({ config: config("h"), steps: [step("same", host("h"), STACK), step("delete", host("old"), STACK)] }, 255);
        expect(r.lines).toEqual(["h clean", "old drifted: delete old"]);
    });

    it("the dynamic providers' default provider (it takes the whole stack config) is not drift", () => {
        const r = driftReport({ config: config("h"), steps: [step("update", "urn:pulumi:prod::github-flows-host::pulumi:providers:pulumi-nodejs::default")] }, 255);
        // pulumi's non-zero exit (it counts that change) is explained, so this is no failure either.
        expect(r).toEqual({ lines: ["h clean"], exitCode: 0, errors: [] });
    });

    it("a change under no host goes on a (stack) line", () => {
        const r = driftReport({ config: config("h"), steps: [step("update", "urn:pulumi:prod::github-flows-host::pulumi:providers:command::default")] }, 255);
        expect(r.lines).toEqual(["h clean", "(stack) drifted: update default"]);
    });

    it("a failed preview is never reported clean: error lines per host, status 2", () => {
        const preview: PreviewJson = {
            config: config("flows-1", "flows-2"),
            steps: [step("refresh", host("flows-1"), STACK)],
            diagnostics: [
                { urn: file("flows-1-gh-token"), severity: "error", message: "<{%reset%}>ssh: connect to 203.0.113.10:22 refused\nmore" },
                { urn: STACK, severity: "error", message: "preview failed" },
                { urn: STACK, severity: "warning", message: "w" },
            ],
        };
        const r = driftReport(preview, 255);
        expect(r.lines).toEqual(["flows-1 error: ssh: connect to 203.0.113.10:22 refused", "flows-2 not checked (the preview failed)"]);
        expect(r.errors).toEqual(["flows-1: ssh: connect to 203.0.113.10:22 refused", "(stack): preview failed"]);
        expect(r.exitCode).toBe(2);
        // A non-zero exit with no change and no diagnostic is a failure too (e.g. the program did not start).
        expect(driftReport({ config: config("h"), steps: [] }, 255)).toEqual({ lines: ["h not checked (the preview failed)"], exitCode: 2, errors: [] });
    });

    it("drift and an error together: status 2, both shown", () => {
        const r = driftReport({ config: config("a", "b"), steps: [tokenChmod("a")], diagnostics: [{ urn: host("b"), severity: "error", message: "unreachable" }] }, 255);
        expect(r.lines).toEqual(["a drifted: update a-gh-token /home/user/.secrets/gh-token (mode 644, want 600)", "b error: unreachable"]);
        expect(r.exitCode).toBe(2);
    });

    it("host names from config; a secret or malformed hosts value gives none", () => {
        expect(configuredHosts(config("x", "y"))).toEqual(["x", "y"]);
        expect(configuredHosts({ "github-flows-host:hosts": "[secret]" })).toEqual([]);
        expect(configuredHosts(undefined)).toEqual([]);
    });
});
