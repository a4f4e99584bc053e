import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../lib/config";
import { isWithin, normalizePath } from "../../lib/paths";
import { checkDockerArgs, Layout } from "../../lib/security";
import { rawConfig } from "../fixtures/config";

/**
 * Bind sources (issue 21, 5): a mount in `profile.dockerArgs` or `checkDockerArgs` may bind only the token file, the
 * Codex directory, the workspace, and what `allowedBindSources` lists (read-only unless `readWrite`). Everything
 * else is refused, however docker would spell it. And `checkDockerArgs` cannot undo what the check containers fix.
 */
const layout: Layout = parseConfig(rawConfig());
const withListed = parseConfig(rawConfig({ allowedBindSources: [{ path: "/opt/tools" }, { path: "/srv/cache/", readWrite: true }] }));

const NOT_ALLOWED = /not the token file, the Codex directory, the workspace or a source listed in allowedBindSources/;

/** Every way docker takes a bind source (and `readonly` where the spelling has one). */
const spellings: Array<[string, (src: string, ro: boolean) => string[]]> = [
    ["--mount type=bind,src=", (s, ro) => ["--mount", `type=bind,src=${s},dst=/x${ro ? ",readonly" : ""}`]],
    ["--mount=type=bind,source=", (s, ro) => [`--mount=type=bind,source=${s},target=/x${ro ? ",ro" : ""}`]],
    ["--mount with upper-case keys", (s, ro) => ["--mount", `Type=Bind,Source=${s},Destination=/x${ro ? ",ReadOnly=true" : ""}`]],
    ["--mount with a CSV-quoted src", (s, ro) => ["--mount", `type=bind,"src=${s}",dst=/x${ro ? ",readonly=1" : ""}`]],
    ["--mount where a later src wins", (s, ro) => ["--mount", `type=bind,src=/home/user/app/github-flows/var/work,src=${s},dst=/x${ro ? ",readonly" : ""}`]],
    ["-v", (s, ro) => ["-v", `${s}:/x${ro ? ":ro" : ""}`]],
    ["-vSRC (attached)", (s, ro) => [`-v${s}:/x${ro ? ":ro" : ""}`]],
    ["-v=SRC", (s, ro) => [`-v=${s}:/x${ro ? ":ro" : ""}`]],
    ["-v after boolean options", (s, ro) => ["--read-only", "--init=true", "-v", `${s}:/x${ro ? ":ro" : ""}`]],
    ["--volume", (s, ro) => ["--volume", `${s}:/x${ro ? ":ro" : ""}`]],
    ["--volume=", (s, ro) => [`--volume=${s}:/x${ro ? ":ro,nocopy" : ""}`]],
];

describe("bind sources: only the credential paths, the workspace and allowedBindSources", () => {
    // Nothing on the old denylist: system directories, other users, root's home, cloud and orchestrator secrets.
    const sources = [
        "/etc", "/etc/shadow", "/root", "/root/.ssh", "/tmp", "/var/tmp", "/srv/data", "/opt/tools", "/usr/local/bin", "/boot",
        "/var/lib/kubelet", "/var/run/secrets/kubernetes.io", "/var/log", "/home/alice/.ssh", "/mnt/backup",
        // Beside or above the credential paths and the workspace: the secrets dir holds the token writable.
        "/home/user/.secrets", "/home/user/app", "/home/user/app/github-flows", "/home/user/app/github-flows/var", "/home/user/.secrets/gh-token.bak",
        "/home/user/.bashrc", "/home/user/.local/bin",
    ];

    for (const src of sources) {
        it.each(spellings)(`refuses ${src} spelled %s, naming the source`, (_name, spell) => {
            const problems = checkDockerArgs(["--network", "host", ...spell(src, true)], layout).join("\n");
            // Refused as not allowed, or (a parent of the app's .env) as forbidden: either way naming it.
            expect(problems).toMatch(new RegExp(`${NOT_ALLOWED.source}|forbids`));
            expect(problems).toContain(src);
        });
    }

    it.each([
        ["trailing slashes", "/etc///", "/etc"],
        ["doubled slashes", "//etc//ssh", "/etc/ssh"],
        ["dot segments", "/./etc/./ssh/.", "/etc/ssh"],
    ])("refuses an unlisted source with %s, naming it normalised", (_name, src, named) => {
        expect(checkDockerArgs(["-v", `${src}:/x:ro`], layout).join("\n")).toContain(`host path ${named}`);
    });

    it.each([
        ["'..' out of the workspace", ["-v", "/home/user/app/github-flows/var/work/../../../../.ssh:/x"], /'\.\.'/],
        ["'..' out of a listed source", ["--mount", "type=bind,src=/opt/tools/../../etc,dst=/x,readonly"], /'\.\.'/],
        ["'~'", ["-v", "~/x:/x"], /relative source/],
        ["a relative source", ["--mount", "type=bind,src=etc,dst=/x"], /relative source/],
        ["a bind without a source", ["--mount", "type=bind,dst=/x"], /relative source/],
        ["bind-propagation", ["--mount", "type=bind,src=/opt/tools,dst=/x,readonly,bind-propagation=rshared"], /'bind-propagation' is not accepted/],
        ["a named volume with device= (o=bind)", ["--mount", "type=volume,src=vol,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"], /volume-opt is refused/],
        ["a named volume with device= only", ["--mount", "type=volume,src=vol,dst=/x,volume-opt=device=/srv"], /volume-opt is refused/],
        ["an anonymous volume with device=", ["--mount", "dst=/x,Volume-Opt=device=/opt/tools,volume-opt=o=bind"], /volume-opt is refused/],
        ["a block device through the local driver", ["--mount", "type=volume,src=vol,dst=/x,volume-opt=type=ext4,volume-opt=device=/dev/vda"], /volume-opt is refused/],
        ["a volume driver", ["--mount", "type=volume,src=vol,dst=/x,volume-driver=local-persist"], /volume-driver 'local-persist'/],
        ["--volume-driver", ["--volume-driver", "local-persist", "-v", "v:/x"], /'--volume-driver' is refused/],
        ["--volumes-from", ["--volumes-from", "other"], /'--volumes-from' is refused/],
        ["a path as a volume name", ["--mount", "type=volume,src=/etc,dst=/x"], /not a volume name/],
    ])("refuses %s", (_name, args, want) => {
        expect(checkDockerArgs(args, withListed).join("\n")).toMatch(want);
    });

    it.each([
        ["the token file read-only", ["--mount", "type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token,readonly"]],
        ["the Codex directory", ["--mount", "type=bind,src=/home/user/.secrets/codex,dst=/home/user/.codex"]],
        ["the Codex directory spelled with // and a trailing /", ["-v", "/home//user/.secrets/codex/:/home/user/.codex"]],
        ["the workspace and below it", ["-v", "/home/user/app/github-flows/var/work:/workspace", "-v", "/home/user/app/github-flows/var/work/cache:/c"]],
        ["tmpfs, named and anonymous volumes", ["--tmpfs", "/tmp", "--mount", "type=tmpfs,dst=/s", "-v", "cache:/c", "-v", "/anon", "--mount", "type=volume,src=npm,dst=/npm"]],
    ])("accepts %s", (_name, args) => {
        expect(checkDockerArgs(args, layout)).toEqual([]);
    });

    it("a listed source: read-only by default, writable only with readWrite: true, what lies below it too", () => {
        expect(checkDockerArgs(["-v", "/opt/tools:/t:ro", "--mount", "type=bind,src=/opt/tools/bin,dst=/b,readonly"], withListed)).toEqual([]);
        expect(checkDockerArgs(["--mount", "type=bind,src=/srv/cache,dst=/c", "-v", "/srv/cache/npm/:/n"], withListed)).toEqual([]);
        for (const args of [["-v", "/opt/tools:/t"], ["--mount", "type=bind,src=/opt/tools/bin,dst=/b"], ["--mount", "type=bind,src=/opt/tools,dst=/t,readonly,readonly=false"]]) {
            expect(checkDockerArgs(args, withListed).join("\n"), args.join(" ")).toMatch(/binds \/opt\/tools(\/bin)? writable, but allowedBindSources lists it read-only/);
        }
        // A sibling that merely shares the prefix is not listed.
        expect(checkDockerArgs(["-v", "/opt/toolsx:/t:ro"], withListed).join("\n")).toMatch(NOT_ALLOWED);
    });

    const segment = fc.stringMatching(/^[a-z0-9_-][a-z0-9._-]{0,7}$/).filter((s) => s !== "." && s !== "..");
    const allowed = (l: Layout, p: string) => [l.tokenFile, l.codexDir, l.workspaceDir, ...(l.allowedBindSources ?? []).map((s) => s.path)].some((a) => isWithin(p, a));
    const obfuscate = (p: string, how: number) => (how % 3 === 0 ? p.replace(/\//g, "//") : how % 3 === 1 ? `${p}/.` : `${p}/`);

    it("refuses every source outside the allowed ones, in every spelling, behind any options (property)", () => {
        fc.assert(
            fc.property(
                fc.array(segment, { minLength: 1, maxLength: 5 }),
                fc.nat(spellings.length - 1),
                fc.nat(5),
                fc.boolean(),
                (segs, k, how, ro) => {
                    const src = `/${segs.join("/")}`;
                    fc.pre(!allowed(withListed, src));
                    const args = spellings[k][1](obfuscate(src, how), ro);
                    const problems = checkDockerArgs(args, withListed);
                    expect(problems, JSON.stringify(args)).not.toEqual([]);
                },
            ),
            { numRuns: 2000 },
        );
    });

    it("accepts what lies below an allowed source in every spelling (property)", () => {
        const roots = ["/home/user/.secrets/codex", "/home/user/app/github-flows/var/work", "/opt/tools", "/srv/cache"];
        fc.assert(
            fc.property(fc.constantFrom(...roots), fc.array(segment, { maxLength: 3 }), fc.nat(spellings.length - 1), fc.nat(5), (root, segs, k, how) => {
                const src = normalizePath([root, ...segs].join("/"));
                // Read-only always passes; the listed read-only root needs it.
                const args = spellings[k][1](obfuscate(src, how), true);
                expect(checkDockerArgs(args, withListed), JSON.stringify(args)).toEqual([]);
            }),
            { numRuns: 1000 },
        );
    });
});

describe("allowedBindSources in config, and the refusal naming the key", () => {
    const problems = (raw: Record<string, unknown>) => {
        try {
            parseConfig(raw);
            return [];
        } catch (e) {
            return (e as ConfigError).problems;
        }
    };

    it("names checkDockerArgs or profile.dockerArgs and the source", () => {
        expect(problems(rawConfig({ checkDockerArgs: ["-v", "/etc:/etc:ro"] })).join("\n")).toMatch(/^github-flows-host:checkDockerArgs: .*host path \/etc, /m);
        expect(problems(rawConfig({ profile: { dockerArgs: ["--mount", "type=bind,src=/root,dst=/r"] } })).join("\n")).toMatch(/^github-flows-host:profile\.dockerArgs: .*host path \/root, /m);
    });

    it("defaults to nothing, and takes {path, readWrite} entries, read-only by default", () => {
        expect(layout.allowedBindSources).toEqual([]);
        expect(withListed.allowedBindSources).toEqual([{ path: "/opt/tools", readWrite: false }, { path: "/srv/cache", readWrite: true }]);
        expect(problems(rawConfig({ allowedBindSources: [{ path: "/opt/tools" }], checkDockerArgs: ["-v", "/opt/tools:/t:ro"] }))).toEqual([]);
    });

    it.each([
        ["a relative path", [{ path: "opt/tools" }], /allowedBindSources\[0\]\.path: must be an absolute path/],
        ["a '..'", [{ path: "/opt/../etc" }], /allowedBindSources\[0\]\.path: must not contain '\.\.'/],
        ["a comma (it would split a --mount field)", [{ path: "/opt/a,b" }], /allowedBindSources\[0\]\.path: must not contain ','/],
        ["an unknown key", [{ path: "/opt/tools", mode: "rw" }], /allowedBindSources\[0\]\.mode: unknown key/],
        ["a non-boolean readWrite", [{ path: "/opt/tools", readWrite: "yes" }], /allowedBindSources\[0\]\.readWrite/],
        ["the Docker socket", [{ path: "/var/run/docker.sock" }], /allowedBindSources\[0\]: \/var\/run\/docker.sock exposes the Docker socket/],
        ["a parent of the runtime user's home", [{ path: "/home" }], /allowedBindSources\[0\]: \/home exposes/],
        ["/", [{ path: "/" }], /allowedBindSources\[0\]: \/ exposes/],
        ["/proc", [{ path: "/proc/1/root" }], /allowedBindSources\[0\]: \/proc\/1\/root exposes/],
    ])("refuses %s, naming the entry", (_name, sources, want) => {
        expect(problems(rawConfig({ allowedBindSources: sources })).join("\n")).toMatch(want);
    });
});

describe("checkDockerArgs cannot undo the check containers' user and hardening", () => {
    it.each([
        ["--user 0", ["--user", "0"], /'--user' is refused in checkDockerArgs|must be a numeric UID/],
        ["--user of another uid (later flags win in pflag)", ["--user", "4242:4242"], /'--user' is refused in checkDockerArgs/],
        ["-u attached", ["-u1000"], /'-u \(in -u1000\)' is refused in checkDockerArgs/],
        ["-u in a cluster", ["-itu", "1000"], /'-u \(in -itu\)' is refused in checkDockerArgs/],
        ["--user=", ["--user=1000:1000"], /'--user' is refused in checkDockerArgs/],
        ["--privileged", ["--privileged"], /'--privileged' is refused/],
        ["--privileged=true", ["--privileged=true"], /'--privileged' is refused/],
        ["--cap-add", ["--cap-add", "SYS_ADMIN"], /'--cap-add' is refused/],
        ["--cap-add=ALL", ["--cap-add=ALL"], /'--cap-add' is refused/],
        ["no-new-privileges=false", ["--security-opt", "no-new-privileges=false"], /only no-new-privileges \(true\)/],
        ["no-new-privileges:false", ["--security-opt=no-new-privileges:false"], /only no-new-privileges \(true\)/],
        ["no-new-privileges=0", ["--security-opt", "no-new-privileges=0"], /only no-new-privileges \(true\)/],
        ["seccomp=unconfined", ["--security-opt", "seccomp=unconfined"], /only no-new-privileges/],
        ["apparmor=unconfined", ["--security-opt", "apparmor=unconfined"], /only no-new-privileges/],
        ["label=disable", ["--security-opt", "label=disable"], /only no-new-privileges/],
        ["--group-add 0", ["--group-add", "0"], /'--group-add' is refused/],
        ["--userns host", ["--userns", "host"], /'--userns' is refused/],
        ["--device", ["--device", "/dev/fuse"], /'--device' is refused/],
        ["--runtime", ["--runtime", "runc-unsafe"], /'--runtime' is refused/],
    ])("refuses %s", (_name, args, want) => {
        expect(checkDockerArgs(["--network", "host", ...args], layout, "check").join("\n")).toMatch(want);
    });

    it("still accepts a numeric --user in a profile, and more hardening in either", () => {
        expect(checkDockerArgs(["--user", "1000:1000"], layout, "profile")).toEqual([]);
        const more = ["--cap-drop", "NET_RAW", "--security-opt", "no-new-privileges:true", "--read-only", "--tmpfs", "/tmp"];
        expect(checkDockerArgs(more, layout, "check")).toEqual([]);
        expect(checkDockerArgs(more, layout, "profile")).toEqual([]);
    });

    it("config refuses them under checkDockerArgs", () => {
        let problems: string[] = [];
        try {
            parseConfig(rawConfig({ checkDockerArgs: ["--network", "host", "--user", "0:0", "--security-opt", "no-new-privileges=false"] }));
        } catch (e) {
            problems = (e as ConfigError).problems;
        }
        expect(problems.join("\n")).toMatch(/github-flows-host:checkDockerArgs: .*--user/);
        expect(problems.join("\n")).toMatch(/github-flows-host:checkDockerArgs: .*only no-new-privileges \(true\)/);
    });
});
