import { describe, expect, it } from "vitest";
import { ConfigError, forHost, parseConfig } from "../../lib/config";
import { handoverBase } from "../../lib/handover";
import { rawConfig } from "../fixtures/config";

/**
 * The paths the program gives the runtime user (creates for it or chowns to it) lie under its home or under a
 * directory the operator lists in runtimeUserRoots; system places never qualify. Refused in config validation when
 * known without the host, and again against the home the host reports.
 */
const WHERE = "host 'web-1' (203.0.113.10:22)";
const problems = (raw: Record<string, unknown>): string[] => {
    try {
        parseConfig(raw);
        return [];
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return e.problems;
    }
};
const onHost = (raw: Record<string, unknown>, home: string): string[] => {
    try {
        forHost(parseConfig(raw), { home, homeExists: true }, WHERE);
        return [];
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return e.problems;
    }
};

describe("system paths are refused before any host is read", () => {
    it.each([
        ["codexDir in /etc", { codexDir: "/etc/codex" }, "codexDir", "lies in /etc, which belongs to the system"],
        ["codexDir /etc itself", { codexDir: "/etc" }, "codexDir", "lies in /etc"],
        ["secretsDir in /usr/local/bin", { secretsDir: "/usr/local/bin" }, "secretsDir", "lies in /usr"],
        ["secretsDir in root's home", { secretsDir: "/root/.secrets" }, "secretsDir", "lies in /root"],
        ["secretsDir in /tmp", { secretsDir: "/tmp/flows" }, "secretsDir", "lies in /tmp"],
        ["codexDir in /var/log", { codexDir: "/var/log/codex" }, "codexDir", "lies in /var/log"],
        ["codexDir in /boot", { codexDir: "/boot/codex" }, "codexDir", "lies in /boot"],
        ["appDir in the docker data root", { appDir: "/var/lib/docker/flows" }, "appDir", "lies in /var/lib/docker"],
        ["appDir /opt itself", { appDir: "/opt" }, "appDir", "is a directory the whole system shares"],
        ["appDir /", { appDir: "/" }, "appDir", "is a directory the whole system shares"],
        ["workspaceDir /var/lib itself", { workspaceDir: "/var/lib" }, "workspaceDir", "is a directory the whole system shares"],
        ["workspaceDir /var (holds /var/log)", { workspaceDir: "/var" }, "workspaceDir", "is a directory the whole system shares"],
        ["workspaceDir /home (every user's home)", { workspaceDir: "/home" }, "workspaceDir", "is a directory the whole system shares"],
        ["tokenFile in /etc", { tokenFile: "/etc/gh-token" }, "tokenFile", "its directory /etc lies in /etc"],
        ["tokenFile at the root", { tokenFile: "/gh-token" }, "tokenFile", "its directory / is a directory the whole system shares"],
        ["tokenFile in /usr/local/sbin", { tokenFile: "/usr/local/sbin/gh-token" }, "tokenFile", "lies in /usr"],
        ["secretsDir spelled with // and a trailing /", { secretsDir: "//etc//flows/" }, "secretsDir", "/etc/flows lies in /etc"],
        ["a system path that a root cannot rescue", { codexDir: "/usr/share/codex", runtimeUserRoots: ["/srv/flows"] }, "codexDir", "lies in /usr"],
    ])("%s: refused, naming the key", (_what, over, key, text) => {
        const p = problems(rawConfig(over));
        const mine = p.filter((m) => m.startsWith(`github-flows-host:${key}: `));
        expect(mine.length, p.join("\n")).toBeGreaterThan(0);
        expect(mine.join("\n")).toContain(text);
        expect(mine.join("\n")).toContain("runtimeUserRoots");
    });

    it("a system secretsDir names the paths derived from it too", () => {
        const keys = problems(rawConfig({ secretsDir: "/usr/local/bin" })).map((m) => m.split(": ")[0]);
        expect(keys).toEqual(expect.arrayContaining(["github-flows-host:secretsDir", "github-flows-host:tokenFile", "github-flows-host:codexDir"]));
    });

    it.each([
        ["/", "is a directory the whole system shares"],
        ["/etc", "lies in /etc"],
        ["/usr/local", "lies in /usr"],
        ["/var/lib", "is a directory the whole system shares"],
        ["/srv", "is a directory the whole system shares"],
        ["/var/lib/docker/volumes", "lies in /var/lib/docker"],
        ["relative/dir", "must be an absolute path"],
    ])("runtimeUserRoots [%s] is refused, naming the entry", (root, text) => {
        const p = problems(rawConfig({ runtimeUserRoots: [root] }));
        expect(p.find((m) => m.startsWith("github-flows-host:runtimeUserRoots[0]: ")), p.join("\n")).toContain(text);
    });

    it("a directory of the operator's choosing, listed in runtimeUserRoots, is accepted before and on the host", () => {
        const raw = rawConfig({ runtimeUserRoots: ["/srv/github-flows"], appDir: "/srv/github-flows/app", secretsDir: "/srv/github-flows/secrets" });
        expect(problems(raw)).toEqual([]);
        expect(onHost(raw, "/home/user")).toEqual([]);
        expect(parseConfig(rawConfig({})).runtimeUserRoots).toEqual([]);
    });
});

describe("on the host: the real home decides", () => {
    it("a path outside the home and every root is refused there, naming the key and the home", () => {
        const p = onHost(rawConfig({ secretsDir: "/srv/flows/secrets" }), "/home/user");
        expect(p.map((m) => m.split(": ")[1])).toEqual(["github-flows-host:secretsDir", "github-flows-host:codexDir", "github-flows-host:tokenFile"]);
        expect(p[0]).toContain(`${WHERE}: github-flows-host:secretsDir: /srv/flows/secrets is neither under the runtime user's home /home/user nor under a directory listed in runtimeUserRoots (none)`);
    });

    it("another account's home is not the runtime user's", () => {
        const p = onHost(rawConfig({ codexDir: "/home/alice/.codex" }), "/home/user");
        expect(p.join("\n")).toContain("github-flows-host:codexDir: /home/alice/.codex is neither under the runtime user's home /home/user");
    });

    it("a path that was under the assumed /home/<user> but not under the real home is refused", () => {
        const p = onHost(rawConfig({ appDir: "/home/user/app" }), "/var/lib/user");
        expect(p.join("\n")).toContain("github-flows-host:appDir: /home/user/app is neither under the runtime user's home /var/lib/user");
    });

    it.each([
        ["/", "is a directory the whole system shares"],
        ["/usr/games", "lies in /usr"],
        ["/var/spool/uucp", "lies in /var/spool"],
    ])("a home in a system place (%s) does not count: the derived paths are refused", (home, text) => {
        const p = onHost(rawConfig({}), home);
        expect(p.some((m) => m.includes("github-flows-host:secretsDir"))).toBe(true);
        expect(p.join("\n")).toMatch(new RegExp(`${text.replace(/[/.]/g, "\\$&")}|a system directory, which does not count`));
    });

    it("the defaults under a real home, and a home under /var/lib, are accepted", () => {
        expect(onHost(rawConfig({}), "/home/user")).toEqual([]);
        expect(onHost(rawConfig({}), "/var/lib/flows")).toEqual([]);
    });
});

describe("handoverBase: where root's hand-over may begin", () => {
    it("is the innermost of the home and the listed roots holding the path, or none", () => {
        const l = { home: "/home/user", runtimeUserRoots: ["/srv/gfh", "/srv/gfh/flows", "/home/user/data"] };
        expect(handoverBase(l, "/home/user/.secrets")).toBe("/home/user");
        expect(handoverBase(l, "/home/user/data/work")).toBe("/home/user/data");
        expect(handoverBase(l, "/srv/gfh/flows/secrets")).toBe("/srv/gfh/flows");
        expect(handoverBase(l, "/srv/gfh/other")).toBe("/srv/gfh");
        expect(handoverBase(l, "/opt/x")).toBe("");
        expect(handoverBase({ home: "/", runtimeUserRoots: [] }, "/app")).toBe("");
    });
});
