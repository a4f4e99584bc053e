import { describe, expect, it } from "vitest";
import { ConfigError, forHost, hostKeyName, parseConfig, parseHostArgs, PER_HOST_KEYS, settingsOf } from "../../lib/config";
import { HOST_KEY, HOST_KEY_2, host, rawConfig, TOKEN } from "../fixtures/config";

/** Two hosts: web-1 on the top-level defaults, web-2 with its own settings `over`. */
const fleet = (over: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    rawConfig({ hosts: [host(), host({ name: "web-2", address: "203.0.113.11", hostKey: HOST_KEY_2, ...over })], ...top });

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error("parseConfig accepted the config");
}
const keysOf = (ps: string[]) => ps.map((p) => p.split(": ")[0]);

describe("hosts entries set their own runtimeUser, repositories and paths (the top-level keys are the defaults)", () => {
    it("lets each host differ, the others keeping the top-level settings", () => {
        const c = parseConfig(fleet({ runtimeUser: "flows", repositories: ["acme/billing"], secretsDir: "/srv/flows/secrets" }, { repositories: ["acme/web"] }));
        const [a, b] = [settingsOf(c, 0), settingsOf(c, 1)];
        expect(a).toMatchObject({ address: "203.0.113.10", runtimeUser: "user", repositories: ["acme/web"] });
        expect(a.secretsDir).toBeUndefined();
        expect(b).toMatchObject({ address: "203.0.113.11", hostKey: HOST_KEY_2, runtimeUser: "flows", repositories: ["acme/billing"], secretsDir: "/srv/flows/secrets" });
        expect(b.appDir).toBeUndefined();
        // What the FlowsHost gets: paths derived from its own runtime user, set ones kept.
        const s = parseHostArgs(b);
        expect(s).toMatchObject({ appDir: "/home/flows/app/github-flows", secretsDir: "/srv/flows/secrets", tokenFile: "/srv/flows/secrets/gh-token", codexDir: "/srv/flows/secrets/codex" });
        expect(s.given).toEqual({ secretsDir: "/srv/flows/secrets" });
        expect(parseHostArgs(a).tokenFile).toBe("/home/user/.secrets/gh-token");
    });

    it("passes the top-level paths that were set, not the derived ones, so each host derives from its own home", () => {
        const c = parseConfig(fleet({ runtimeUser: "flows" }, { appDir: "/srv/app" }));
        expect(settingsOf(c, 1)).toMatchObject({ appDir: "/srv/app", runtimeUser: "flows" });
        expect(settingsOf(c, 1).secretsDir).toBeUndefined();
        expect(parseHostArgs(settingsOf(c, 1)).secretsDir).toBe("/home/flows/.secrets");
        expect(settingsOf(c, 0).imagePullFrom).toBeUndefined();
    });

    it("reads an empty path in a hosts entry as unset", () => {
        const c = parseConfig(fleet({ tokenFile: "" }));
        expect(settingsOf(c, 1).tokenFile).toBeUndefined();
    });

    it.each([
        ["a root runtime user", { runtimeUser: "root" }, "github-flows-host:hosts[1].runtimeUser"],
        ["a runtime user with a space", { runtimeUser: "a b" }, "github-flows-host:hosts[1].runtimeUser"],
        ["a repository URL", { repositories: ["https://github.com/a/b"] }, "github-flows-host:hosts[1].repositories[0]"],
        ["no repositories", { repositories: [] }, "github-flows-host:hosts[1].repositories"],
        ["a repository twice, in other case", { repositories: ["a/b", "A/B"] }, "github-flows-host:hosts[1].repositories[1]"],
        ["a relative appDir", { appDir: "app" }, "github-flows-host:hosts[1].appDir"],
        ["a codexDir with a comma", { codexDir: "/srv/co,dex" }, "github-flows-host:hosts[1].codexDir"],
        ["its tokenFile in its workspace", { workspaceDir: "/srv/work", tokenFile: "/srv/work/gh-token" }, "github-flows-host:hosts[1].tokenFile"],
        ["its tokenFile in the top-level workspace", { tokenFile: "/home/user/app/github-flows/var/work/t" }, "github-flows-host:hosts[1].tokenFile"],
        ["a setting that is not per host", { image: "x:1" }, "github-flows-host:hosts[1].image"],
    ])("names the host's own key for %s", (_name, over, key) => {
        const ps = problems(fleet(over));
        expect(keysOf(ps)).toEqual([key]);
    });

    it("names the host's own secretsDir, and the paths derived from it, on that host", () => {
        const ps = problems(fleet({ runtimeUser: "flows", secretsDir: "/home/flows/.ssh/s" }));
        expect(keysOf(ps)).toEqual(["github-flows-host:hosts[1].secretsDir", "github-flows-host:tokenFile", "github-flows-host:codexDir"]);
        expect(ps[1]).toContain("/home/flows/.ssh/s/gh-token lies in SSH configuration /home/flows/.ssh/");
        expect(ps[1]).toContain("(on hosts[1] 'web-2')");
    });

    it("checks the top-level docker arguments against each host's layout, naming the host", () => {
        // /home/flows is the home of web-2's runtime user only: listing it as a bind source is refused there alone.
        const binds = (p: string) => ({ allowedBindSources: [{ path: p }], profile: { dockerArgs: ["-v", `${p}:/h:ro`] } });
        const ps = problems(fleet({ runtimeUser: "flows" }, binds("/home/flows")));
        expect(ps.length).toBeGreaterThan(0);
        for (const p of ps) expect(p).toContain("(on hosts[1] 'web-2')");
        expect(ps.join("\n")).toContain("/home/flows");
        expect(parseConfig(fleet({ runtimeUser: "flows" }, binds("/home/other"))).hosts).toHaveLength(2);
    });

    it("reports a top-level problem once, not once per host", () => {
        const ps = problems(fleet({}, { tokenFile: "/home/user/app/github-flows/var/work/t" }));
        expect(ps).toHaveLength(1);
        expect(keysOf(ps)).toEqual(["github-flows-host:tokenFile"]);
    });

    it("refuses the configured token in a setting for every host, naming the key only", () => {
        const ps = problems(fleet({ runtimeUser: "flows" }, { profile: { env: { T: TOKEN } } }));
        expect(keysOf(ps)).toEqual(["github-flows-host:profile.env.T"]);
        expect(ps.join("\n")).not.toContain(TOKEN);
    });

    it("names hosts[i]'s own keys in the messages of the host read", () => {
        const c = parseConfig(fleet({ runtimeUser: "flows", secretsDir: "/srv/s" }));
        const key = hostKeyName(c, 1);
        expect(key(["secretsDir"])).toBe("github-flows-host:hosts[1].secretsDir");
        expect(key(["appDir"])).toBe("github-flows-host:appDir");
        expect(key(["hostKey"])).toBe("github-flows-host:hosts[1].hostKey");
        expect(hostKeyName(c, 0)(["secretsDir"])).toBe("github-flows-host:secretsDir");
        const s = parseHostArgs(settingsOf(c, 1), key);
        // The home web-2 reports holds the set secretsDir's forbidden neighbour: named as hosts[1]'s key.
        expect(() => forHost({ ...s, ...parseHostArgs({ ...settingsOf(c, 1), secretsDir: "/var/lib/flows/.ssh/x" }, key) }, { home: "/var/lib/flows", homeExists: true }, "host 'web-2'", key)).toThrow(
            /host 'web-2': github-flows-host:hosts\[1\]\.secretsDir: .*\.ssh/,
        );
    });

    it("keeps PER_HOST_KEYS to the keys operators asked for", () => {
        expect([...PER_HOST_KEYS]).toEqual(["runtimeUser", "repositories", "appDir", "workspaceDir", "secretsDir", "tokenFile", "codexDir"]);
        expect(HOST_KEY).toMatch(/^ssh-ed25519 /);
    });
});
