import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config";
import { checkCredentialPlacement, checkDockerArgs, isWithin, Layout, parseMounts } from "../../lib/security";
import { rawConfig } from "../fixtures/config";

/** The setup document's layout, derived by the config schema. */
const layout: Layout = parseConfig(rawConfig());

const DOC_CODEX_MOUNT = "type=bind,src=/home/user/.secrets/codex,dst=/home/user/.codex";
const DOC_TOKEN_MOUNT = "type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token,readonly";

describe("checkDockerArgs: the document's forbidden mounts", () => {
    const forbidden: Array<[string, RegExp]> = [
        ["/home/user", /home directory/],
        ["/home/user/.ssh", /SSH configuration/],
        ["/home/user/.ssh/id_ed25519", /SSH configuration/],
        ["/home/user/.config", /user configuration directory/],
        ["/home/user/.config/gh", /user configuration directory/],
        ["/home/user/app/github-flows/.env", /application \.env file/],
        ["/var/run/docker.sock", /Docker socket/],
        ["/run/docker.sock", /Docker socket/],
    ];

    const spellings: Array<[string, (src: string) => string[]]> = [
        ["--mount type=bind,src=", (s) => ["--mount", `type=bind,src=${s},dst=/x`]],
        ["--mount=type=bind,src=", (s) => [`--mount=type=bind,src=${s},dst=/x`]],
        ["--mount source=/target=", (s) => ["--mount", `type=bind,source=${s},target=/x`]],
        ["--mount destination= and readonly", (s) => ["--mount", `type=bind,source=${s},destination=/x,readonly`]],
        ["--mount with upper-case keys", (s) => ["--mount", `Type=bind,Src=${s},Dst=/x`]],
        ["--mount trailing slash", (s) => ["--mount", `type=bind,src=${s}/,dst=/x`]],
        ["--mount doubled slashes", (s) => ["--mount", `type=bind,src=${s.replace(/\//g, "//")},dst=/x`]],
        ["--mount with a dot segment", (s) => ["--mount", `type=bind,src=${s}/.,dst=/x`]],
        ["--mount with .. back into it", (s) => ["--mount", `type=bind,src=${s}/sub/..,dst=/x`]],
        ["-v src:dst", (s) => ["-v", `${s}:/x`]],
        ["-v src:dst:ro", (s) => ["-v", `${s}:/x:ro`]],
        ["-vsrc:dst (attached)", (s) => [`-v${s}:/x`]],
        ["--volume src:dst", (s) => ["--volume", `${s}:${s}`]],
        ["--volume=src:dst", (s) => [`--volume=${s}:/x`]],
        ["-v with trailing slash and //", (s) => ["-v", `${s.replace("/", "//")}/:/x`]],
        ["-v=src:dst", (s) => [`-v=${s}:/x`]],
        ["-itv src:dst (after boolean shorthands)", (s) => ["-itv", `${s}:/x`]],
        ["-dv=src:dst", (s) => [`-dv=${s}:/x`]],
        ['--mount with a CSV-quoted "src=..." field', (s) => ["--mount", `type=bind,"src=${s}",dst=/x`]],
    ];

    for (const [src, rule] of forbidden) {
        it.each(spellings)(`rejects ${src} spelled %s`, (_name, spell) => {
            const problems = checkDockerArgs(["--network", "host", ...spell(src)], layout);
            expect(problems.length).toBeGreaterThan(0);
            expect(problems.join("\n")).toMatch(rule);
            expect(problems.join("\n")).toMatch(/forbids/);
        });
    }

    it.each([
        ["--mount=type=bind,src=/home/user/,dst=/x", ["--mount=type=bind,src=/home/user/,dst=/x"]],
        ["-v /home//user:/x", ["-v", "/home//user:/x"]],
        ["--volume /var/run/docker.sock:/var/run/docker.sock", ["--volume", "/var/run/docker.sock:/var/run/docker.sock"]],
        ["--mount type=bind,source=/home/user/.ssh/,target=/root/.ssh", ["--mount", "type=bind,source=/home/user/.ssh/,target=/root/.ssh"]],
    ])("rejects the brief's spelling %s", (_name, args) => {
        expect(checkDockerArgs(args, layout)).not.toEqual([]);
    });

    it.each(["/home", "/home/", "/", "//", "/home/user/app", "/home/user/app/github-flows", "/var/run", "/run", "/var"])(
        "rejects the parent %s, which exposes a forbidden path",
        (src) => {
            expect(checkDockerArgs(["--mount", `type=bind,src=${src},dst=/x`], layout)).not.toEqual([]);
            expect(checkDockerArgs(["-v", `${src}:/x`], layout)).not.toEqual([]);
        },
    );

    it("names the offending argument in the message", () => {
        const [msg] = checkDockerArgs(["-v", "/var/run/docker.sock:/var/run/docker.sock"], layout);
        expect(msg).toContain("'/var/run/docker.sock:/var/run/docker.sock'");
    });

    it("follows the runtime user: /home/flows is forbidden for runtimeUser flows", () => {
        const flows = parseConfig(rawConfig({ runtimeUser: "flows" }));
        expect(checkDockerArgs(["-v", "/home/flows:/x"], flows)).not.toEqual([]);
        expect(checkDockerArgs(["-v", "/home/flows/.ssh:/x"], flows)).not.toEqual([]);
        expect(checkDockerArgs(["-v", "/home/flows/app/github-flows/.env:/x"], flows)).not.toEqual([]);
    });

    it.each([
        ["named volume", ["-v", "cache:/cache"]],
        ["tmpfs mount", ["--mount", "type=tmpfs,dst=/tmp"]],
        ["the workspace (as the document's login command mounts it)", ["--mount", "type=bind,src=/home/user/app/github-flows/var/work,dst=/workspace"]],
        ["a sibling of the home directory's forbidden entries", ["-v", "/home/user/.sshx:/x"]],
        ["/home/username (not /home/user)", ["-v", "/home/username:/x"]],
        ["/run/docker.sockets", ["-v", "/run/docker.sockets:/x"]],
        ["no mounts", ["--network", "host", "-e", "A=/home/user"]],
        ["other short flags", ["-w", "/workspace", "-e", "HOME=/home/user", "-u", "1000"]],
    ])("accepts %s", (_name, args) => {
        expect(checkDockerArgs(args, layout)).toEqual([]);
    });
});

describe("checkDockerArgs: the token mount", () => {
    it("accepts the document's two mounts", () => {
        expect(checkDockerArgs(["--mount", DOC_CODEX_MOUNT, "--mount", DOC_TOKEN_MOUNT], layout)).toEqual([]);
    });

    it.each([
        ["no readonly", "type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token"],
        ["readonly=false", "type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token,readonly=false"],
        ["ro=0", "type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token,ro=0"],
        ["the secrets directory writable", "type=bind,src=/home/user/.secrets,dst=/run/secrets"],
    ])("rejects the token mount with %s", (_name, spec) => {
        const problems = checkDockerArgs(["--mount", spec], layout);
        expect(problems.join("\n")).toMatch(/GitHub token file writable; add ',readonly'/);
    });

    it("rejects -v token:dst without :ro", () => {
        expect(checkDockerArgs(["-v", "/home/user/.secrets/gh-token:/run/secrets/gh-token"], layout).join()).toMatch(/writable/);
        expect(checkDockerArgs(["-v", "/home/user/.secrets/gh-token:/run/secrets/gh-token:rw"], layout).join()).toMatch(/writable/);
    });

    it.each(["readonly", "ro", "readonly=true", "ro=true", "readonly=1"])("accepts the token mount with %s", (flag) => {
        expect(checkDockerArgs(["--mount", `type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token,${flag}`], layout)).toEqual([]);
    });

    it("accepts -v token:dst:ro", () => {
        expect(checkDockerArgs(["-v", "/home/user/.secrets/gh-token:/run/secrets/gh-token:ro"], layout)).toEqual([]);
    });

    it.each([
        ["the token", "type=bind,src=/home/user/.secrets/gh-token,dst=/workspace/gh-token,readonly"],
        ["the token at /workspace itself", "type=bind,src=/home/user/.secrets/gh-token,dst=/workspace,readonly"],
        ["the Codex directory", "type=bind,src=/home/user/.secrets/codex,dst=/workspace/.codex"],
        ["the secrets directory", "type=bind,src=/home/user/.secrets,dst=/workspace/secrets,readonly"],
        ["a file in the secrets directory", "type=bind,src=/home/user/.secrets/other,dst=/workspace/repo/other,readonly"],
    ])("rejects %s mounted under /workspace", (_name, spec) => {
        expect(checkDockerArgs(["--mount", spec], layout).join("\n")).toMatch(/places credentials inside the run workspace \/workspace/);
    });

    it("rejects a credential under /workspace via -v too", () => {
        expect(checkDockerArgs(["-v", "/home/user/.secrets/codex:/workspace/c"], layout).join()).toMatch(/run workspace/);
    });
});

describe("parseMounts", () => {
    it("reads --mount and -v forms", () => {
        expect(parseMounts(["--mount", DOC_TOKEN_MOUNT, "-v", "/a:/b:ro", "--volume=/c:/d", "-e", "X=1"])).toEqual([
            { source: "/home/user/.secrets/gh-token", target: "/run/secrets/gh-token", readonly: true, spec: DOC_TOKEN_MOUNT },
            { source: "/a", target: "/b", readonly: true, spec: "/a:/b:ro" },
            { source: "/c", target: "/d", readonly: false, spec: "/c:/d" },
        ]);
    });

    it("ignores named volumes", () => {
        expect(parseMounts(["-v", "data:/data", "--mount", "type=volume,src=data,dst=/d"])).toEqual([]);
    });
});

describe("isWithin", () => {
    it.each([
        ["/a/b", "/a", true],
        ["/a", "/a/", true],
        ["/a//b/", "/a", true],
        ["/ab", "/a", false],
        ["/a", "/a/b", false],
        ["/anything", "/", true],
    ])("%s within %s is %s", (inner, outer, want) => {
        expect(isWithin(inner, outer)).toBe(want);
    });
});

describe("checkCredentialPlacement", () => {
    const ws = "/home/user/app/github-flows/var/work";
    const keys = (l: Partial<Layout>) => checkCredentialPlacement({ ...layout, ...l }).map((i) => i.key);

    it("accepts the document's layout", () => {
        expect(checkCredentialPlacement(layout)).toEqual([]);
    });

    it.each([
        ["tokenFile", { tokenFile: `${ws}/gh-token` }],
        ["tokenFile", { tokenFile: `${ws}/cfg/secrets/gh-token` }],
        ["codexDir", { codexDir: `${ws}/codex` }],
        ["codexDir", { codexDir: ws }],
        ["secretsDir", { secretsDir: `${ws}/.secrets` }],
        ["secretsDir", { secretsDir: "/home/user/app" }],
    ])("rejects %s under (or containing) the workspace", (key, l) => {
        expect(keys(l)).toContain(key);
        expect(checkCredentialPlacement({ ...layout, ...l }).find((i) => i.key === key)?.message).toMatch(/overlaps the workspace/);
    });

    it.each([
        ["tokenFile", { tokenFile: "/home/user/.ssh/gh-token" }],
        ["codexDir", { codexDir: "/home/user/.config/codex" }],
        ["secretsDir", { secretsDir: "/home/user/.ssh" }],
    ])("rejects %s in a directory the document forbids mounting", (key, l) => {
        expect(keys(l)).toContain(key);
    });

    it("rejects a token file inside the Codex directory", () => {
        expect(keys({ tokenFile: "/home/user/.secrets/codex/gh-token" })).toContain("tokenFile");
    });

    it("rejects the home directory as the secrets directory", () => {
        expect(keys({ secretsDir: "/home/user/", tokenFile: "/home/user/gh-token", codexDir: "/home/user/codex" })).toContain("secretsDir");
    });
});
