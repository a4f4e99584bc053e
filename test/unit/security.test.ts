import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ACCEPTED_DOCKER_RUN_OPTIONS } from "../../lib/dockerPolicy";
import { parseConfig } from "../../lib/config";
import { checkCredentialPlacement, checkDockerArgs, credentialKind, isWithin, Layout } from "../../lib/security";
import { rawConfig } from "../fixtures/config";

/** The setup document's layout, derived by the config schema. */
const layout: Layout = parseConfig(rawConfig());
/** The same with host paths the operator listed in allowedBindSources. */
const listed = (...sources: Array<string | { path: string; readWrite: boolean }>): Layout =>
    parseConfig({ ...rawConfig(), allowedBindSources: sources.map((p) => (typeof p === "string" ? { path: p } : p)) });

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
        ["no mounts", ["--network", "host", "-e", "A=/home/user"]],
        ["other short flags", ["-w", "/workspace", "-e", "HOME=/home/user", "-u", "1000"]],
    ])("accepts %s", (_name, args) => {
        expect(checkDockerArgs(args, layout)).toEqual([]);
    });

    it.each([
        ["a sibling of the home directory's forbidden entries", "/home/user/.sshx"],
        ["/home/username (not /home/user)", "/home/username"],
        ["/run/docker.sockets", "/run/docker.sockets"],
    ])("accepts %s once listed in allowedBindSources (the forbidden rules do not over-reach)", (_name, src) => {
        expect(checkDockerArgs(["-v", `${src}:/x:ro`], listed(src))).toEqual([]);
        expect(checkDockerArgs(["-v", `${src}:/x:ro`], layout).join("\n")).toMatch(/not the token file, the Codex directory, the workspace or a source listed in allowedBindSources/);
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

describe("checkDockerArgs: options are judged as the Docker CLI parses them, deny by default", () => {
    const refused: Array<[string, string[], RegExp]> = [
        ["--privileged", ["--privileged"], /'--privileged' is refused: it gives the container every capability/],
        ["--privileged=true", ["--privileged=true"], /'--privileged' is refused/],
        ["--privileged=false (still not an accepted option)", ["--privileged=false"], /'--privileged' is refused/],
        ["--cap-add", ["--cap-add", "SYS_ADMIN"], /'--cap-add' is refused: it adds kernel capabilities/],
        ["--cap-add=ALL", ["--cap-add=ALL"], /'--cap-add' is refused/],
        ["--device", ["--device", "/dev/sda"], /'--device' is refused/],
        ["--gpus", ["--gpus", "all"], /'--gpus' is refused/],
        ["--pid=host", ["--pid=host"], /'--pid' is refused: it can share the host's processes/],
        ["--pid host", ["--pid", "host"], /'--pid' is refused/],
        ["--ipc=host", ["--ipc=host"], /'--ipc' is refused/],
        ["--uts=host", ["--uts=host"], /'--uts' is refused/],
        ["--userns=host", ["--userns=host"], /'--userns' is refused/],
        ["--cgroupns=host", ["--cgroupns=host"], /'--cgroupns' is refused/],
        ["--security-opt seccomp=unconfined", ["--security-opt", "seccomp=unconfined"], /--security-opt \(argument 0\): only no-new-privileges/],
        ["--security-opt apparmor=unconfined", ["--security-opt=apparmor=unconfined"], /only no-new-privileges/],
        ["--security-opt label=disable", ["--security-opt", "label=disable"], /only no-new-privileges/],
        ["--env-file", ["--env-file", "/home/user/app/github-flows/.env"], /'--env-file' is refused: docker reads the file on the host/],
        ["--env-file=.env", ["--env-file=.env"], /'--env-file' is refused/],
        ["--label-file", ["--label-file", "/etc/shadow"], /'--label-file' is refused/],
        ["--cidfile", ["--cidfile", "/etc/cron.d/x"], /'--cidfile' is refused: docker writes the file/],
        ["-e NAME (forwards the caller's variable)", ["-e", "GH_TOKEN"], /-e \(argument 0\): needs NAME=VALUE; a bare NAME forwards/],
        ["--env NAME", ["--env", "OPENAI_API_KEY"], /--env \(argument 0\): needs NAME=VALUE/],
        ["--env=NAME", ["--env=OPENAI_API_KEY"], /needs NAME=VALUE/],
        ["-eNAME", ["-eGH_TOKEN"], /-e \(in -eGH_TOKEN\) \(argument 0\): needs NAME=VALUE/],
        ["--volumes-from", ["--volumes-from", "other"], /'--volumes-from' is refused: it copies another container's mounts/],
        ["--use-api-socket", ["--use-api-socket"], /'--use-api-socket' is refused: it mounts the Docker API socket/],
        ["--volume-driver", ["--volume-driver", "rexray", "-v", "data:/x"], /'--volume-driver' is refused/],
        ["--network container:<name>", ["--network", "container:github-flows"], /--network \(argument 0\): must be host, none/],
        ["--net=container:<name>", ["--net=container:x"], /--net \(argument 0\): must be host/],
        ["--user 0", ["--user", "0"], /--user \(argument 0\): must be a numeric UID\[:GID\] other than 0/],
        ["-u root", ["-u", "root"], /-u \(argument 0\): must be a numeric UID/],
        ["--user 1000:0", ["--user=1000:0"], /other than 0/],
        ["--name (breaks concurrent runs)", ["--name", "x"], /'--name' is refused: it is not among the docker run options accepted here/],
        ["-p", ["-p", "80:80"], /'-p' is refused/],
        ["-it (a cluster of refused shorthands)", ["-it"], /'-i \(in -it\)' is refused[\s\S]*'-t \(in -it\)' is refused/],
        ["--entrypoint", ["--entrypoint", "sh"], /'--entrypoint' is refused/],
        ["--rm=false (would keep the container and its env)", ["--rm=false"], /'--rm' is refused/],
        ["--help (docker would only print usage)", ["--help"], /'--help' is refused/],
        ["an image word", ["--network", "host", "alpine"], /argument 2 'alpine' is not an option: docker would read it as the image/],
        ["'--'", ["--", "--privileged"], /argument 0 '--' ends docker's options[\s\S]*argument 1 '--privileged' is not an option/],
        ["a flag missing its value (it would eat GitHub Flows' next word)", ["--network"], /--network needs a value; docker would refuse/],
        ["an unknown option", ["--networ", "host"], /'--networ' is not a docker run option/],
        ["a line break", ["--label", "a\nb"], /argument 1 contains a control character/],
        // Values docker would refuse (every run would fail), found by test/e2e/dockerCli.test.ts.
        ["--memory cache", ["-m", "cache:/c"], /-m \(argument 0\): must be a size/],
        ["--memory-swap x", ["--memory-swap", "x"], /must be a size such as 2g, or -1/],
        ["--cpus 1/2", ["--cpus", "1/2"], /must be a number of CPUs/],
        ["--pids-limit many", ["--pids-limit", "many"], /must be an integer/],
        ["--label= (empty name)", ["--label="], /--label \(argument 0\): must be NAME or NAME=VALUE/],
        ["--add-host without an IP", ["--add-host", "github.localhost"], /must be HOST:IP/],
        ["--dns a name", ["--dns", "resolver"], /must be an IP address/],
        ["--network twice", ["--network", "none", "--net=none"], /--net \(argument 2\): give one --network/],
    ];

    it.each(refused)("refuses %s, naming it", (_name, args, want) => {
        expect(checkDockerArgs(args, layout).join("\n")).toMatch(want);
    });

    it.each([
        ["--label --privileged: the value of --label, not an option", ["--label", "--privileged"]],
        ["-e with a value that starts with '-'", ["-e", "X=--privileged"]],
        ["--network host (the sandbox has no bridge)", ["--network", "host"]],
        ["--network=none", ["--network=none"]],
        ["--net bridge", ["--net", "bridge"]],
        ["a named network", ["--network", "flows_net"]],
        ["limits", ["--memory", "2g", "-m", "1g", "-m1.5GiB", "--memory-swap=-1", "--memory-reservation", "512m", "--cpus", "1.5", "-c", "512", "--pids-limit", "256", "--shm-size", "64m"]],
        ["hardening", ["--read-only", "--init", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--security-opt=no-new-privileges:true"]],
        ["a numeric user and a workdir", ["--user", "1000:1000", "-u", "1001", "-w", "/workspace/repo", "--workdir=/tmp"]],
        ["tmpfs, labels, hosts, dns", ["--tmpfs", "/tmp:size=64m", "-l", "flows=1", "--label=k", "--add-host", "github.localhost:127.0.0.1", "--add-host=h=::1", "--add-host", "gw:host-gateway", "--dns", "10.0.0.2", "--dns-search", "corp"]],
        ["a named volume and a tmpfs mount", ["-v", "cache:/cache", "--mount", "type=volume,src=npm,dst=/npm", "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=1m", "-v", "/anon"]],
    ])("accepts %s", (_name, args) => {
        expect(checkDockerArgs(args, layout)).toEqual([]);
    });

    it("accepts listed host paths: read-only ones read-only, a readWrite one writable", () => {
        const l = listed("/opt/tools", { path: "/srv/cache", readWrite: true });
        expect(checkDockerArgs(["-v", "/opt/tools:/tools:ro", "--mount", "type=bind,src=/srv/cache,dst=/c", "-v", "/opt/tools/bin/:/b:ro"], l)).toEqual([]);
        expect(checkDockerArgs(["-v", "/opt/tools:/tools"], l).join("\n")).toMatch(/binds \/opt\/tools writable, but allowedBindSources lists it read-only/);
    });

    it("keeps the accepted options a short, named list", () => {
        expect(Object.keys(ACCEPTED_DOCKER_RUN_OPTIONS).sort()).toEqual(
            [
                "add-host", "cap-drop", "cpu-shares", "cpus", "dns", "dns-search", "env", "init", "label", "memory", "memory-reservation",
                "memory-swap", "mount", "net", "network", "pids-limit", "read-only", "security-opt", "shm-size", "tmpfs", "user", "volume", "workdir",
            ].sort(),
        );
    });

    it("never repeats an -e value in a message", () => {
        expect(checkDockerArgs(["-e", "sk-not-shown-anywhere"], layout).join("\n")).not.toContain("sk-not-shown-anywhere");
    });
});

describe("checkDockerArgs: mounts as docker reads them", () => {
    const home = /home directory/;
    it.each([
        ["the last src wins", ["--mount", "type=bind,src=/srv/ok,src=/home/user,dst=/x"], home],
        ["source then src", ["--mount", "type=bind,source=/srv/ok,src=/home/user/.ssh,dst=/x"], /SSH configuration/],
        ["a quoted src field after a plain one", ["--mount", 'type=bind,src=/srv/ok,"src=/home/user",dst=/x'], home],
        ["type=volume with o=bind and device=<path>", ["--mount", "type=volume,src=vol,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/home/user"], /volume-opt is refused/],
        ["the default type (volume) with o=bind and device", ["--mount", "src=vol,dst=/x,volume-opt=o=bind,volume-opt=device=/var/run/docker.sock"], /volume-opt is refused/],
        ["an anonymous volume with o=rbind", ["--mount", "dst=/x,volume-opt=o=rbind,volume-opt=device=/home//user/"], /volume-opt is refused/],
        ["volume-subpath into a bound device", ["--mount", "type=volume,src=vol,dst=/x,volume-opt=o=bind,volume-opt=device=/home/user,volume-subpath=.ssh"], /volume-opt is refused/],
        ["/proc/<pid>/root", ["-v", "/proc/1/root/home/user/.ssh:/x"], /\/proc \(\/proc\/<pid>\/root reaches/],
        ["/proc/self/root", ["--mount", "type=bind,src=/proc/self/root,dst=/x"], /\/proc/],
        ["/sys", ["-v", "/sys:/sys"], /\/sys/],
        ["/dev", ["-v", "/dev/sda:/d"], /\/dev/],
        ["containerd's socket", ["-v", "/run/containerd/containerd.sock:/s"], /container runtime sockets under \/run\/containerd/],
        ["containerd's socket via /var/run", ["-v", "/var/run/containerd/containerd.sock:/s"], /under \/var\/run\/containerd/],
        ["Podman's socket", ["-v", "/run/podman/podman.sock:/s"], /\/run\/podman/],
        ["CRI-O's socket", ["--mount", "type=bind,src=/var/run/crio/crio.sock,dst=/s"], /\/var\/run\/crio/],
        ["a rootless Docker socket", ["-v", "/run/user/1000/docker.sock:/s"], /\/run\/user/],
        ["BuildKit's socket", ["-v", "/run/buildkit/buildkitd.sock:/s"], /\/run\/buildkit/],
        ["Docker's data root", ["-v", "/var/lib/docker:/d"], /\/var\/lib\/docker/],
        ["the Docker client directory", ["-v", "/home/user/.docker/config.json:/c:ro"], /Docker client directory/],
        ["/run itself (parent of the sockets)", ["-v", "/run:/r"], /Docker socket \/run\/docker.sock/],
        ["a '..' that leaves an allowed directory", ["-v", "/srv/../home/user/.ssh:/x"], /SSH configuration/],
    ])("refuses %s", (_name, args, want) => {
        expect(checkDockerArgs(args, layout).join("\n")).toMatch(want);
    });

    it.each([
        ["-v ./.env (relative to docker's working directory)", ["-v", "./.env:/x"]],
        ["-v .env", ["-v", ".env:/x"]],
        ["-v ..", ["-v", "..:/x"]],
        ["-v ~/.ssh", ["-v", "~/.ssh:/x"]],
        ["--mount src=./", ["--mount", "type=bind,src=./,dst=/x"]],
        ["--mount src=.env", ["--mount", "type=bind,src=.env,dst=/x"]],
        ["--mount src=../..", ["--mount", "type=bind,src=../..,dst=/x"]],
    ])("refuses a relative source: %s", (_name, args) => {
        expect(checkDockerArgs(args, layout).join("\n")).toMatch(/relative source resolves against docker's working directory/);
    });

    it.each([
        ["the token with ro=f", ["--mount", "type=bind,src=/home/user/.secrets/gh-token,dst=/t,ro=f"], /GitHub token file writable/],
        ["the token with readonly then readonly=False", ["--mount", "type=bind,src=/home/user/.secrets/gh-token,dst=/t,readonly,readonly=False"], /writable/],
        ["the token through a volume bind", ["--mount", "dst=/t,volume-opt=o=bind,volume-opt=device=/home/user/.secrets/gh-token"], /volume-opt is refused/],
        ["readonly=yes (docker refuses it)", ["--mount", "type=bind,src=/srv/x,dst=/t,readonly=yes"], /docker would refuse it: invalid value for readonly/],
        ["a bare quote (docker refuses it)", ["--mount", 'type=bind,src="/srv/x",dst=/t'], /docker would refuse it: bare "/],
        ["an unknown mount type", ["--mount", "type=image,src=alpine,dst=/i"], /type 'image' is not accepted/],
        ["bind-propagation", ["--mount", "type=bind,src=/srv/x,dst=/t,bind-propagation=rshared"], /'bind-propagation' is not accepted with type=bind/],
        ["a volume plugin", ["--mount", "type=volume,src=vol,dst=/t,volume-driver=rexray"], /volume-driver 'rexray'/],
        ["a device mount through the local driver", ["--mount", "type=volume,src=vol,dst=/t,volume-opt=type=ext4,volume-opt=device=/dev/sda1"], /volume-opt is refused/],
        ["an NFS mount through the local driver", ["--mount", "type=volume,src=vol,dst=/t,volume-opt=type=nfs,volume-opt=o=addr=10.0.0.1"], /volume-opt is refused/],
        ["a path as a volume name", ["--mount", "type=volume,src=/home/user,dst=/t"], /not a volume name/],
        ["-v with an SELinux relabel of a host path", ["-v", "/srv/x:/t:Z"], /mode 'Z' is not accepted/],
        ["-v with shared propagation", ["-v", "/srv/x:/t:rshared"], /mode 'rshared' is not accepted/],
        ["-v with four parts", ["-v", "/a:/b:ro:x"], /docker would refuse it/],
    ])("refuses %s", (_name, args, want) => {
        expect(checkDockerArgs(args, layout).join("\n")).toMatch(want);
    });

    // Every forbidden host path, in every spelling docker accepts, behind any accepted options.
    const forbiddenPaths = [
        "/home/user", "/home/user/.ssh/id_ed25519", "/home/user/.config/gh", "/home/user/app/github-flows/.env", "/var/run/docker.sock",
        "/run/docker.sock", "/run/containerd/containerd.sock", "/proc/1/root", "/proc/self/root/etc", "/sys/kernel", "/", "/home",
    ];
    const obfuscate = (p: string, how: number[]) =>
        p
            .split("/")
            .map((seg, i) => (seg === "" ? seg : [seg, `${seg}/.`, `x/../${seg}`, `./${seg}`, `${seg}/`][how[i % how.length] % 5]))
            .join(how[0] % 2 ? "//" : "/");
    const spellings: Array<(src: string, k: number) => string[]> = [
        (s) => ["--mount", `type=bind,src=${s},dst=/x`],
        (s) => [`--mount=type=bind,source=${s},target=/x`],
        (s, k) => ["--mount", `${k % 2 ? "Type=Bind" : "type=bind"},src=/srv/ok,${k % 3 ? "SOURCE" : "src"}=${s},dst=/x`],
        (s) => ["--mount", `type=bind,"src=${s}",dst=/x,readonly`],
        (s) => ["--mount", `type=volume,src=vol,dst=/x,volume-opt=o=bind,volume-opt=device=${s}`],
        (s) => ["-v", `${s}:/x`],
        (s) => [`-v${s}:/x:ro`],
        (s) => [`-v=${s}:/x`],
        (s) => ["--volume", `${s}:/x`],
        (s) => [`--volume=${s}:/x:rw`],
    ];
    const benign = fc.constantFrom<string[]>(["--network", "host"], ["-e", "A=-v"], ["--label", "--mount"], ["--read-only"], ["-m", "1g"], ["-v", "cache:/c"]);

    it("refuses every forbidden path however it is spelled (property)", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...forbiddenPaths),
                fc.array(fc.nat(9), { minLength: 1, maxLength: 4 }),
                fc.nat(spellings.length - 1),
                fc.nat(5),
                fc.array(benign, { maxLength: 2 }),
                fc.array(benign, { maxLength: 2 }),
                (p, how, spelling, k, before, after) => {
                    const args = [...before.flat(), ...spellings[spelling](obfuscate(p, how), k), ...after.flat()];
                    expect(checkDockerArgs(args, layout), JSON.stringify(args)).not.toEqual([]);
                },
            ),
            { numRuns: 1000 },
        );
    });

    it("accepts the benign options in any order and number (property)", () => {
        fc.assert(
            // One --network at most: docker refuses most combinations.
            fc.property(fc.array(benign, { maxLength: 8 }).filter((p) => p.filter((w) => w[0] === "--network").length <= 1), (parts) => {
                expect(checkDockerArgs(parts.flat(), layout)).toEqual([]);
            }),
        );
    });
});

describe("credentialKind", () => {
    it.each([
        ["ghp_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"],
        ["token=gho_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"],
        ["ghu_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"],
        ["ghs_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"],
        ["ghr_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"],
        ["GH_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "a GitHub token"],
        ["sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "an OpenAI API key"],
        ["OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL", "an OpenAI API key"],
    ])("%s is %s", (v, kind) => {
        expect(credentialKind(v)).toBe(kind);
    });

    it.each(["info", "ghp_short", "task-abcdefghijklmnopqrstuvwxyz0123", "disk-abcdefghijklmnopqrstuvwxyz", "/home/user/.secrets/gh-token", "codex exec -C /workspace/repo"])(
        "%s is no credential",
        (v) => {
            expect(credentialKind(v)).toBeUndefined();
        },
    );
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
