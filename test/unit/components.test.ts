import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { FlowsHost } from "../../components";
import { FlowsConfig, parseConfig, settingsOf } from "../../lib/config";
import { profileJson, renderProfile } from "../../lib/profile";
import { launch, unlaunch } from "../../lib/shell";
import { RESOURCE_TYPES } from "../../providers/plugin/schema";
import { host, HOST_KEY_2, OPENAI_KEY, PRIVATE_KEY, rawConfig, TOKEN } from "../fixtures/config";

const RES = (t: string) => `github-flows-host:index:${t}`;
/** A resource of the plugin (not one of the components, which share its package name). */
const isHostResource = (t: string) => RESOURCE_TYPES.some((r) => t === RES(r));
const COMP = (t: string) => `github-flows-host:index:${t}`;
const MOCK_STDOUT = "gfh-github-login=octocat\ngfh-token-expires=never\ngfh-repository-access=owner/repository push\ngfh-checks=ok\n";
/** What the mocked checks print; a test may swap it (e.g. for an expiry relative to now). */
let checksStdout = MOCK_STDOUT;
const PRIVATE_KEY_BODY = PRIVATE_KEY.split("\n")[1];
const PROMPT = "Handle issue {{ISSUE_NUMBER}} in {{REPOSITORY}}.\n";

/** Homes the mock hosts report per runtime user (default /home/<user>). */
const homes: Record<string, string> = {};

/** What the mock engine saw: one entry per registered resource. */
const registered: pulumi.runtime.MockResourceArgs[] = [];
/** Types in the order the mock engine received them, and `account-read` when the HostAccount read returned. */
const order: string[] = [];
/** How long the mock HostAccount read takes (a test slows it to see what waits for it). */
let accountReadMs = 0;
// The docker-provider path starts an in-process ssh-agent in ~/.github-flows-host/agent (its socket goes at exit).
beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            async newResource(a) {
                registered.push(a);
                order.push(a.type);
                if (a.type === RES("HostAccount") && accountReadMs > 0) {
                    await new Promise((r) => setTimeout(r, accountReadMs));
                    order.push("account-read");
                }
                const extra: Record<string, unknown> = {};
                if (a.type === "command:remote:Command" || a.type === RES("SshCommand")) extra.stdout = checksStdout;
                if (a.type === "docker:index/remoteImage:RemoteImage") Object.assign(extra, { imageId: "sha256:1111", repoDigest: `${a.inputs.name}@sha256:1111` });
                if (a.type === RES("PulledImage")) extra.imageId = "sha256:2222";
                if (a.type === RES("CodexLogin")) Object.assign(extra, { present: true, loginId: "existing" });
                if (a.type === RES("RemoteFile")) extra.sha256 = "0".repeat(64);
                // Read, never created: the runtime user's passwd entry on the host.
                if (a.type === RES("HostAccount")) Object.assign(extra, { home: homes[a.inputs.user] ?? `/home/${a.inputs.user}`, uid: 1001, gid: 1001, homeExists: true });
                return { id: `${a.name}-id`, state: { ...a.inputs, ...extra } };
            },
            call: (a) => a.inputs,
        },
        "github-flows-host",
        "unit",
        false, "organization",
    );
});

const SIG = "4dabf18193072939515e22adb298388d"; // pulumi.runtime specialSigKey
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"; // pulumi.runtime specialSecretSig

/** True when a value reached the engine marked secret. */
const isSecretValue = (v: any) => v !== null && typeof v === "object" && v[SIG] === SECRET_SIG;

/** Removes the secret markers the SDK sends to the engine. */
function unwrap(v: any): any {
    if (isSecretValue(v)) return unwrap(v.value);
    if (Array.isArray(v)) return v.map(unwrap);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
    return v;
}

/** The checks' stdin is the script (packed by `launch`), then the token: unpack it, and check the command is its launcher. */
function checksInput(inputs: Record<string, any>): { script: string; token: string } {
    const { script, stdin } = unlaunch({ command: inputs.create, input: inputs.stdin });
    expect(inputs.create).toBe(launch(script).command);
    return { script, token: stdin };
}

const promiseOf = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply((v) => resolve(v)));

interface Seen {
    type: string;
    name: string;
    resource: pulumi.Resource;
    opts: pulumi.ResourceOptions;
    /** Type and name of the parent resource. */
    parent?: { type: string; name: string };
    /** The inputs the mock engine received, secrets unwrapped. */
    inputs: Record<string, any>;
    /** The same with secrets still marked (`{[specialSigKey]: specialSecretSig, value}`). */
    raw: Record<string, any>;
    urn: string;
}

interface Built {
    hosts: FlowsHost[];
    config: FlowsConfig;
    all: Seen[];
    of(type: string): Seen[];
    one(type: string, name: string): Seen;
}

/** Builds one FlowsHost per configured host, as index.ts does, and waits until every resource is registered. */
async function build(over: Record<string, unknown> = {}, secrets: { openaiApiKey?: string } = {}): Promise<Built> {
    registered.length = 0;
    const config = parseConfig(rawConfig({ ...over, ...(secrets.openaiApiKey ? { openaiApiKey: secrets.openaiApiKey } : {}) }));
    const seen: Array<Omit<Seen, "inputs" | "raw" | "urn" | "parent">> = [];
    const record: pulumi.ResourceTransformation = (a) => {
        seen.push({ type: a.type, name: a.name, resource: a.resource, opts: a.opts });
        return undefined;
    };
    const hosts = config.hosts.map(
        (h, i) =>
            new FlowsHost(
                h.name,
                {
                    ...settingsOf(config, i),
                    sshPrivateKey: pulumi.secret(config.sshPrivateKey),
                    githubToken: pulumi.secret(config.githubToken),
                    openaiApiKey: config.openaiApiKey === undefined ? undefined : pulumi.secret(config.openaiApiKey),
                    prompt: PROMPT,
                },
                { transformations: [record] },
            ),
    );
    const urns = await Promise.all(seen.map((s) => promiseOf(s.resource.urn)));
    const all: Seen[] = seen.map((s, i) => {
        const p = s.opts.parent as any;
        const raw = registered.find((r) => r.type === s.type && r.name === s.name)?.inputs ?? {};
        return { ...s, urn: urns[i], raw, inputs: unwrap(raw), parent: p ? { type: p.__pulumiType, name: p.__name } : undefined };
    });
    return {
        hosts,
        config,
        all,
        of: (type) => all.filter((s) => s.type === type),
        one: (type, name) => {
            const found = all.filter((s) => s.type === type && s.name === name);
            expect(found, `${type} ${name}`).toHaveLength(1);
            return found[0];
        },
    };
}

/** Every Output property of a resource, resolved, with its secretness. */
async function outputsOf(r: pulumi.Resource): Promise<Array<{ key: string; value: unknown; secret: boolean }>> {
    const out = [];
    for (const [key, v] of Object.entries(r)) {
        if (key.startsWith("__") || !pulumi.Output.isInstance(v)) continue;
        const o = v as pulumi.Output<unknown>;
        out.push({ key, value: await promiseOf(o), secret: await pulumi.isSecret(o) });
    }
    return out;
}

const counts = (b: Built) => b.all.reduce<Record<string, number>>((m, s) => ((m[s.type] = (m[s.type] ?? 0) + 1), m), {});

describe("FlowsHost resource graph", () => {
    it("registers the setup document's steps for one host", async () => {
        const b = await build({ repositories: ["owner/repository", "acme/demo"] });
        expect(counts(b)).toEqual({
            [COMP("FlowsHost")]: 1,
            [COMP("CredentialDirectories")]: 1,
            [COMP("AgentImage")]: 1,
            [COMP("CodexAuth")]: 1,
            [COMP("Verification")]: 1,
            [COMP("GithubTokenFile")]: 1,
            [COMP("AgentProfiles")]: 1,
            [RES("RemoteDirectory")]: 2,
            [RES("RemoteFile")]: 1,
            [RES("RemoteFileSet")]: 1,
            [RES("CodexLogin")]: 1,
            [RES("ImagePresence")]: 1,
            [RES("HostAccount")]: 1,
            "pulumi:providers:docker": 1,
            "docker:index/remoteImage:RemoteImage": 1,
            "command:remote:Command": 1,
        });
        const account = b.one(RES("HostAccount"), "web-1-account");
        expect(account.inputs).toMatchObject({ user: "user", where: "host 'web-1' (203.0.113.10:22)" });

        const secrets = b.one(RES("RemoteDirectory"), "web-1-secrets").inputs;
        expect(secrets).toMatchObject({ path: "/home/user/.secrets", owner: "user", mode: "700", removeOnDelete: "empty" });
        const codex = b.one(RES("RemoteDirectory"), "web-1-codex");
        expect(codex.inputs).toMatchObject({ path: "/home/user/.secrets/codex", owner: "user", mode: "700", removeOnDelete: "never" });
        expect(codex.opts.retainOnDelete).toBe(true);

        expect(b.one(RES("RemoteFile"), "web-1-gh-token").inputs).toMatchObject({ path: "/home/user/.secrets/gh-token", owner: "user", mode: "600", content: TOKEN });

        // Every profile and prompt of the host in one resource, by path under the workspace's cfg/repos.
        const set = b.one(RES("RemoteFileSet"), "web-1-profiles").inputs;
        expect(set).toMatchObject({ path: "/home/user/app/github-flows/var/work/cfg/repos", owner: "user", runtimeUser: "user", mode: "644" });
        expect(Object.keys(set.files).sort()).toEqual([
            "acme/demo/issue_comment-created/profile.json",
            "acme/demo/issue_comment-created/prompt.md",
            "owner/repository/issue_comment-created/profile.json",
            "owner/repository/issue_comment-created/prompt.md",
        ]);
        expect(set.files["acme/demo/issue_comment-created/profile.json"]).toBe(profileJson(renderProfile({ ...b.config, repository: "acme/demo" })));
        expect(set.files["acme/demo/issue_comment-created/prompt.md"]).toBe(PROMPT);

        expect(b.one("docker:index/remoteImage:RemoteImage", "web-1-image").inputs).toMatchObject({ name: "github-flows-agent-codex:latest", keepLocally: true });

        const checks = b.one("command:remote:Command", "web-1-checks").inputs;
        const { script, token } = checksInput(checks);
        expect(script).toContain("for r in '\\''owner/repository'\\'' '\\''acme/demo'\\''; do");
        expect(script).toContain("gh api -i user --jq .login");
        expect(script).toContain("requiredPermission is push");
        expect(token).toBe(TOKEN);
        expect(checks.create).not.toContain(TOKEN);
        expect(checks.connection).toMatchObject({ host: "203.0.113.10", port: 22, user: "root", hostKey: b.config.hosts[0].hostKey, privateKey: PRIVATE_KEY });
    });

    it("parents every resource under its component and the components under FlowsHost", async () => {
        const b = await build();
        const parentType: Record<string, string> = {
            [COMP("CredentialDirectories")]: COMP("FlowsHost"),
            [COMP("AgentImage")]: COMP("FlowsHost"),
            [COMP("CodexAuth")]: COMP("FlowsHost"),
            [COMP("Verification")]: COMP("FlowsHost"),
            [COMP("GithubTokenFile")]: COMP("FlowsHost"),
            [COMP("AgentProfiles")]: COMP("FlowsHost"),
            [RES("RemoteDirectory")]: COMP("CredentialDirectories"),
            [RES("CodexLogin")]: COMP("CodexAuth"),
            [RES("ImagePresence")]: COMP("AgentImage"),
            [RES("HostAccount")]: COMP("FlowsHost"),
            [RES("RemoteFile")]: COMP("GithubTokenFile"),
            [RES("RemoteFileSet")]: COMP("AgentProfiles"),
            "pulumi:providers:docker": COMP("AgentImage"),
            "docker:index/remoteImage:RemoteImage": COMP("AgentImage"),
            "command:remote:Command": COMP("Verification"),
        };
        for (const s of b.all) {
            if (s.type === COMP("FlowsHost")) {
                expect(s.parent).toBeUndefined();
                continue;
            }
            const want = parentType[s.type];
            expect(s.parent, `${s.type} ${s.name}`).toEqual({ type: want, name: "web-1" });
            // The engine's URN carries the parent type: the mock monitor builds it the same way.
            expect(s.urn).toBe(`urn:pulumi:unit::github-flows-host::${want}$${s.type}::${s.name}`);
        }
    });

    it("derives every name from the host name, so two hosts coexist", async () => {
        const b = await build({ hosts: [host(), host({ name: "web-2", address: "203.0.113.11", hostKey: HOST_KEY_2 })] });
        const keys = b.all.map((s) => `${s.type}::${s.name}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(new Set(b.all.map((s) => s.urn)).size).toBe(b.all.length);
        expect(registered.length).toBe(b.all.length);
        for (const hostName of ["web-1", "web-2"]) {
            const mine = b.all.filter((s) => s.name === hostName || s.name.startsWith(`${hostName}-`));
            expect(mine.length).toBe(b.all.length / 2);
        }
        expect(b.one("command:remote:Command", "web-2-checks").inputs.connection.host).toBe("203.0.113.11");
        expect(checksInput(b.one("command:remote:Command", "web-2-checks").inputs).script).toContain("cannot stage the new token in /home/user/.secrets on host '\\''web-2'\\'' (203.0.113.11:22)");
    });
});

describe("the runtime user's home, read from the host", () => {
    it("derives every path from the home the host reports (a service user under /var/lib)", async () => {
        homes.flows = "/var/lib/flows";
        const b = await build({ runtimeUser: "flows" });
        expect(registered.find((r) => r.type === RES("HostAccount"))?.id).toBe("203.0.113.10:22:flows");
        expect(b.one(RES("RemoteDirectory"), "web-1-secrets").inputs).toMatchObject({ path: "/var/lib/flows/.secrets", owner: "flows", runtimeUser: "flows" });
        expect(b.one(RES("RemoteDirectory"), "web-1-codex").inputs.path).toBe("/var/lib/flows/.secrets/codex");
        expect(b.one(RES("RemoteFile"), "web-1-gh-token").inputs).toMatchObject({ path: "/var/lib/flows/.secrets/gh-token", runtimeUser: "flows" });
        const set = b.one(RES("RemoteFileSet"), "web-1-profiles").inputs;
        expect(set.path).toBe("/var/lib/flows/app/github-flows/var/work/cfg/repos");
        expect(JSON.parse(set.files["owner/repository/issue_comment-created/profile.json"]).execution.runtime.dockerArgs).toContain("type=bind,src=/var/lib/flows/.secrets/gh-token,dst=/run/secrets/gh-token,readonly");
        expect(checksInput(b.one("command:remote:Command", "web-1-checks").inputs).script).toContain("src=/var/lib/flows/.secrets/codex,");
        expect(b.one(RES("CodexLogin"), "web-1-codex-login").inputs.container).toMatchObject({ runtimeUser: "flows", codexDir: "/var/lib/flows/.secrets/codex" });
        expect(JSON.stringify(b.all.map((s) => s.inputs))).not.toContain("/home/flows");
    });
});

describe("a fleet that is not uniform", () => {
    it("gives each host its own runtime user, repositories and paths, the others the top-level ones", async () => {
        homes.flows = "/var/lib/flows";
        const web2 = host({ name: "web-2", address: "203.0.113.11", hostKey: HOST_KEY_2, runtimeUser: "flows", repositories: ["acme/billing"], workspaceDir: "/srv/flows/work" });
        // A path outside the runtime user's home lies under a root the operator listed.
        const b = await build({ hosts: [host(), web2], repositories: ["acme/web"], runtimeUserRoots: ["/srv/flows"] });
        expect(b.one(RES("HostAccount"), "web-1-account").inputs.user).toBe("user");
        expect(b.one(RES("HostAccount"), "web-2-account").inputs.user).toBe("flows");
        expect(b.one(RES("RemoteFile"), "web-1-gh-token").inputs).toMatchObject({ path: "/home/user/.secrets/gh-token", owner: "user" });
        expect(b.one(RES("RemoteFile"), "web-2-gh-token").inputs).toMatchObject({ path: "/var/lib/flows/.secrets/gh-token", owner: "flows" });
        const web1 = b.one(RES("RemoteFileSet"), "web-1-profiles").inputs;
        const web2Set = b.one(RES("RemoteFileSet"), "web-2-profiles").inputs;
        expect(web1.path).toBe("/home/user/app/github-flows/var/work/cfg/repos");
        expect(web2Set).toMatchObject({ path: "/srv/flows/work/cfg/repos", owner: "flows", within: "/srv/flows" });
        expect(Object.keys(web1.files).sort()).toEqual(["acme/web/issue_comment-created/profile.json", "acme/web/issue_comment-created/prompt.md"]);
        expect(Object.keys(web2Set.files).sort()).toEqual(["acme/billing/issue_comment-created/profile.json", "acme/billing/issue_comment-created/prompt.md"]);
        expect(checksInput(b.one("command:remote:Command", "web-2-checks").inputs).script).toContain("for r in '\\''acme/billing'\\''; do");
        expect(Object.keys(await promiseOf(b.hosts[1].profiles))).toEqual(["acme/billing"]);
    });
});

describe("files per repository", () => {
    it("gives every accepted repository its own profile and prompt, in one resource whatever their number", async () => {
        const repositories = ["a/b--c", "a-b/c", "a/b-c", "a-b-c/d", "a/-b", "A/b.c"];
        const b = await build({ repositories });
        expect(b.of(RES("RemoteFileSet"))).toHaveLength(1);
        const files = Object.keys(b.one(RES("RemoteFileSet"), "web-1-profiles").inputs.files);
        expect(files).toHaveLength(2 * repositories.length);
        for (const r of repositories) expect(files).toContain(`${r}/issue_comment-created/profile.json`);
        expect(new Set(b.all.map((s) => s.urn)).size).toBe(b.all.length);
    });

    it("registers no file set when the profiles are not installed", async () => {
        const b = await build({ installProfiles: false });
        expect(b.of(RES("RemoteFileSet"))).toEqual([]);
    });
});

describe("imageSource and remoteCommands", () => {
    it("docker-provider: a docker Provider over ssh:// with the pinned key, a RemoteImage, no Tag when names agree", async () => {
        const b = await build({ hosts: [host({ port: 2222 })] });
        const provider = b.one("pulumi:providers:docker", "web-1-docker");
        expect(provider.inputs.host).toBe("ssh://root@203.0.113.10:2222");
        // Provider config reaches the engine JSON-encoded. It names no file of this run: the same on every run.
        const sshOpts: string[] = JSON.parse(provider.inputs.sshOpts);
        expect(sshOpts).toEqual(expect.arrayContaining(["StrictHostKeyChecking=yes", "UserKnownHostsFile=none", "GlobalKnownHostsFile=none", "IdentityFile=none"]));
        expect(sshOpts).toContain(`KnownHostsCommand=/bin/echo [203.0.113.10]:2222 ${b.config.hosts[0].hostKey}`);
        const agent = sshOpts.find((o) => o.startsWith("IdentityAgent="))!.slice("IdentityAgent=".length);
        expect(agent).toMatch(/^%d\/\.github-flows-host\/agent\/[0-9a-f]{16}\.sock$/);
        expect(fs.statSync(agent.replace("%d", os.userInfo().homedir)).isSocket()).toBe(true);
        expect(provider.inputs.disableDockerDaemonCheck).toBe("true"); // provider config is JSON text
        expect(JSON.stringify(provider.inputs)).not.toContain(PRIVATE_KEY_BODY);
        const again = await build({ hosts: [host({ port: 2222 })] });
        expect(again.one("pulumi:providers:docker", "web-1-docker").inputs.sshOpts).toBe(provider.inputs.sshOpts);
        expect(b.one("docker:index/remoteImage:RemoteImage", "web-1-image").opts.provider).toBe(provider.resource);
        expect(b.of("docker:index/tag:Tag")).toEqual([]);
        expect(b.of(RES("PulledImage"))).toEqual([]);
        expect(await promiseOf(b.hosts[0].imageId)).toBe("sha256:1111");
    });

    it("a sudo admin login: every connection marked sudo, the checks behind `sudo -n`, the docker provider through the relay", async () => {
        const b = await build({ hosts: [host({ user: "admin", port: 2223 })] });
        for (const s of b.all.filter((x) => isHostResource(x.type))) expect(s.inputs.connection.sudo, s.name).toBe(true);
        const checks = b.one("command:remote:Command", "web-1-checks").inputs;
        const { script } = unlaunch({ command: checks.create, input: checks.stdin });
        expect(checks.create).toBe(launch(script, "", true).command);
        expect(checks.create.startsWith("sudo -n /bin/sh -c ")).toBe(true);
        const provider = b.one("pulumi:providers:docker", "web-1-docker");
        // ssh:// as for root (the provider never dials at configure: destroy works without this program), through the relay.
        expect(provider.inputs.host).toBe("ssh://admin@203.0.113.10:2223");
        const proxy = (JSON.parse(provider.inputs.sshOpts) as string[]).find((o) => o.startsWith("ProxyCommand="))!;
        const relay = /'(\.github-flows-host\/docker\/[0-9a-f]{16}\.sock)'$/.exec(proxy)![1];
        expect(fs.statSync(relay).isSocket()).toBe(true);
        // The root login of the same host is as it always was.
        const root = await build({ hosts: [host({ port: 2223 })] });
        for (const s of root.all.filter((x) => isHostResource(x.type))) expect("sudo" in s.inputs.connection, s.name).toBe(false);
        expect(root.one("command:remote:Command", "web-1-checks").inputs.create.startsWith("/bin/sh -c ")).toBe(true);
        expect(root.one("pulumi:providers:docker", "web-1-docker").inputs.host).toBe("ssh://root@203.0.113.10:2223");
    });

    it("docker-provider: tags the pulled reference as image when imagePullFrom differs", async () => {
        const b = await build({ imagePullFrom: "127.0.0.1:5000/github-flows-agent-codex:1.0" });
        expect(b.one("docker:index/remoteImage:RemoteImage", "web-1-image").inputs.name).toBe("127.0.0.1:5000/github-flows-agent-codex:1.0");
        const tag = b.one("docker:index/tag:Tag", "web-1-tag");
        expect(tag.inputs).toMatchObject({ sourceImage: "sha256:1111", targetImage: "github-flows-agent-codex:latest" });
        expect(tag.parent).toEqual({ type: COMP("AgentImage"), name: "web-1" });
    });

    it("ssh-pull: a PulledImage over the stack's SSH connection and no docker resources", async () => {
        const b = await build({ imageSource: "ssh-pull", imagePullFrom: "127.0.0.1:5000/agent:1" });
        const pulled = b.one(RES("PulledImage"), "web-1-pull");
        expect(pulled.inputs).toMatchObject({ from: "127.0.0.1:5000/agent:1", image: "github-flows-agent-codex:latest" });
        expect(b.all.filter((s) => s.type.startsWith("docker:") || s.type === "pulumi:providers:docker")).toEqual([]);
        expect(await promiseOf(b.hosts[0].imageId)).toBe("sha256:2222");
    });

    it("pulumi-command: the checks run as command:remote:Command", async () => {
        const b = await build({ remoteCommands: "pulumi-command" });
        expect(b.of("command:remote:Command")).toHaveLength(1);
        expect(b.of(RES("SshCommand"))).toEqual([]);
        expect(await promiseOf(b.hosts[0].githubLogin)).toBe("octocat");
    });

    it("ssh2: the checks run as the SshCommand dynamic resource", async () => {
        const b = await build({ remoteCommands: "ssh2" });
        expect(b.of("command:remote:Command")).toEqual([]);
        const cmd = b.one(RES("SshCommand"), "web-1-checks");
        expect(cmd.inputs).toMatchObject({ stdin: TOKEN, what: "verification" });
        expect(cmd.inputs.create).toContain("gh api -i user --jq .login");
        expect(await promiseOf(b.hosts[0].githubLogin)).toBe("octocat");
    });

    it("passes GH_HOST to the checks and the profiles for another GitHub host", async () => {
        const b = await build({ githubHost: "github.example.com" });
        expect(checksInput(b.one("command:remote:Command", "web-1-checks").inputs).script).toContain("'GH_HOST=github.example.com'");
        expect(JSON.parse(b.one(RES("RemoteFileSet"), "web-1-profiles").inputs.files["owner/repository/issue_comment-created/profile.json"]).execution.runtime.env.GH_HOST).toBe("github.example.com");
    });
});

describe("secrets", () => {
    it("keeps the token content, the checks' stdin and every connection secret", async () => {
        const b = await build();
        const tokenFile = b.one(RES("RemoteFile"), "web-1-gh-token").resource as any;
        expect(await pulumi.isSecret(tokenFile.content)).toBe(true);
        expect(await promiseOf(tokenFile.content)).toBe(TOKEN);
        const checks = b.one("command:remote:Command", "web-1-checks").resource as any;
        expect(await pulumi.isSecret(checks.stdin)).toBe(true);
        for (const s of b.all.filter((x) => (x.resource as any).connection)) {
            expect(await pulumi.isSecret((s.resource as any).connection), `${s.type} ${s.name}`).toBe(true);
            // ...and reaches the engine marked secret, so state encrypts it.
            expect(isSecretValue(s.raw.connection), `${s.type} ${s.name}`).toBe(true);
        }
        expect(isSecretValue(b.one(RES("RemoteFile"), "web-1-gh-token").raw.content)).toBe(true);
        expect(isSecretValue(b.one("command:remote:Command", "web-1-checks").raw.stdin)).toBe(true);
        expect((b.one("command:remote:Command", "web-1-checks").opts as pulumi.CustomResourceOptions).additionalSecretOutputs).toContain("stdin");
        // Profiles and prompts hold no credential and stay readable in state.
        expect(isSecretValue(b.one(RES("RemoteFileSet"), "web-1-profiles").raw.files)).toBe(false);
    });

    it("never shows the token, the private key or the API key in a non-secret output", async () => {
        const b = await build({ repositories: ["owner/repository", "acme/demo"] }, { openaiApiKey: OPENAI_KEY });
        let checked = 0;
        for (const s of b.all) {
            for (const o of await outputsOf(s.resource)) {
                if (o.secret) continue;
                const text = JSON.stringify(o.value) ?? "";
                for (const secret of [TOKEN, PRIVATE_KEY_BODY, OPENAI_KEY]) expect(text, `${s.type} ${s.name} .${o.key}`).not.toContain(secret);
                checked++;
            }
        }
        expect(checked).toBeGreaterThan(30);
        const h = b.hosts[0];
        for (const o of [h.profiles, h.githubLogin, h.imageId, h.tokenFingerprint, h.codexLoginCommand] as pulumi.Output<unknown>[]) {
            expect(await pulumi.isSecret(o)).toBe(false);
        }
        expect(await promiseOf(h.tokenFingerprint)).toMatch(/^[0-9a-f]{12}$/);
    });

    it("sends credentials only in the inputs that carry them", async () => {
        const b = await build({ remoteCommands: "ssh2" }, { openaiApiKey: OPENAI_KEY });
        const allowed: Record<string, Array<[string, string]>> = {
            [TOKEN]: [
                [RES("RemoteFile"), "content"],
                [RES("SshCommand"), "stdin"],
            ],
            [OPENAI_KEY]: [[RES("CodexLogin"), "apiKey"]],
            [PRIVATE_KEY_BODY]: b.all.map((s) => [s.type, "connection"] as [string, string]),
        };
        for (const s of b.all) {
            for (const [key, value] of Object.entries(s.inputs)) {
                if (key === "__provider") continue;
                const text = JSON.stringify(value) ?? "";
                for (const [secret, where] of Object.entries(allowed)) {
                    if (!text.includes(secret)) continue;
                    expect(where.some(([t, k]) => t === s.type && k === key), `${s.type} ${s.name}.${key} holds a credential`).toBe(true);
                }
            }
        }
        expect(b.one(RES("RemoteFile"), "web-1-gh-token").inputs.content).toBe(TOKEN);
        expect(b.of(RES("RemoteFile")).filter((s) => s.inputs.content === TOKEN)).toHaveLength(1);
    });
});

describe("options", () => {
    it("installProfiles: false renders the profiles but writes no profile or prompt file", async () => {
        const b = await build({ installProfiles: false, repositories: ["owner/repository", "acme/demo"] });
        expect(b.of(RES("RemoteFile")).map((s) => s.name)).toEqual(["web-1-gh-token"]);
        const profiles = await promiseOf(b.hosts[0].profiles);
        expect(Object.keys(profiles)).toEqual(["owner/repository", "acme/demo"]);
    });

    it("openaiApiKey set: CodexLogin gets it as a secret input to pipe into codex login --with-api-key", async () => {
        const b = await build({}, { openaiApiKey: OPENAI_KEY });
        const login = b.one(RES("CodexLogin"), "web-1-codex-login");
        expect(login.inputs.apiKey).toBe(OPENAI_KEY);
        expect(isSecretValue(login.raw.apiKey)).toBe(true);
        expect(await pulumi.isSecret((login.resource as any).apiKey)).toBe(true);
        expect((login.opts as pulumi.CustomResourceOptions).additionalSecretOutputs).toContain("apiKey");
    });

    it("openaiApiKey unset: no API-key login", async () => {
        const b = await build();
        const login = b.one(RES("CodexLogin"), "web-1-codex-login");
        expect(login.inputs.apiKey).toBeUndefined();
        expect(login.inputs.missingMessage).toContain("docker run --rm -it --name github-flows-codex-login");
        expect(b.all.filter((s) => JSON.stringify({ ...s.inputs, __provider: undefined }).includes("--with-api-key"))).toEqual([]);
    });

    it("orders the token file after the checks (verify before swap)", async () => {
        const b = await build();
        const token = b.one(COMP("GithubTokenFile"), "web-1");
        const verification = b.one(COMP("Verification"), "web-1");
        expect(token.opts.dependsOn).toContain(verification.resource);
        expect(b.one(COMP("AgentProfiles"), "web-1").opts.dependsOn).toContain(verification.resource);
    });
});

describe("token expiry and repository access", () => {
    /** The header GitHub would send for a token expiring `days` from now, and its ISO form. */
    const expiringIn = (days: number) => {
        const iso = new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
        return { header: `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`, iso };
    };
    /** Builds with the checks printing `expires`, and returns the host's tokenExpiresAt and the warnings logged. */
    async function withExpiry(expires: string, over: Record<string, unknown> = {}) {
        const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined);
        checksStdout = MOCK_STDOUT.replace("gfh-token-expires=never", `gfh-token-expires=${expires}`);
        try {
            // ssh-pull: the docker-provider path adds a process exit listener per build.
            const b = await build({ imageSource: "ssh-pull", ...over });
            const expiresAt = await promiseOf(b.hosts[0].tokenExpiresAt);
            return { b, expiresAt, warnings: warn.mock.calls.map((c) => String(c[0])) };
        } finally {
            checksStdout = MOCK_STDOUT;
            warn.mockRestore();
        }
    }

    it("outputs tokenExpiresAt and repositoryAccess from the checks, and warns about nothing for a token that never expires", async () => {
        const { b, expiresAt, warnings } = await withExpiry("never");
        expect(expiresAt).toBe("never");
        expect(await promiseOf(b.hosts[0].repositoryAccess)).toEqual({ "owner/repository": "push" });
        expect(warnings).toEqual([]);
    });

    it("warns naming the host and the date when the token expires within tokenExpiryWarningDays", async () => {
        const soon = expiringIn(3);
        const { expiresAt, warnings } = await withExpiry(soon.header);
        expect(expiresAt).toBe(soon.iso);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("host 'web-1' (203.0.113.10:22)");
        expect(warnings[0]).toContain(`expires on ${soon.iso}`);
        expect(warnings[0]).toContain("pulumi config set --secret githubToken");
    });

    it("follows tokenExpiryWarningDays: 30 days left warns at 60, not at the default 14", async () => {
        const later = expiringIn(30);
        expect((await withExpiry(later.header)).warnings).toEqual([]);
        expect((await withExpiry(later.header, { tokenExpiryWarningDays: 60 })).warnings).toHaveLength(1);
    });

    it("passes requiredPermission into the checks and re-runs them when it changes", async () => {
        const b = await build({ requiredPermission: "maintain", imageSource: "ssh-pull" });
        const { script } = checksInput(b.one("command:remote:Command", "web-1-checks").inputs);
        expect(script).toContain("requiredPermission is maintain");
        expect(script).toContain("-ge 4 ]");
    });
});

describe("dynamic resource outputs", () => {
    it("exposes the declared outputs (not wiped by class-field initialisers)", async () => {
        const b = await build({ imageSource: "ssh-pull" });
        const dirs = b.one(COMP("CredentialDirectories"), "web-1").resource as any;
        expect(await promiseOf(dirs.secretsDirMode)).toBe("700");
        expect(await promiseOf(dirs.codexDir.owner)).toBe("user");
        const token = b.one(COMP("GithubTokenFile"), "web-1").resource as any;
        expect(await promiseOf(token.file.sha256)).toBe("0".repeat(64));
        expect(await promiseOf(token.file.mode)).toBe("600");
        const login = b.one(RES("CodexLogin"), "web-1-codex-login").resource as any;
        expect(await promiseOf(login.loginId)).toBe("existing");
        expect(await promiseOf(login.present)).toBe(true);
        expect(await promiseOf((b.one(RES("PulledImage"), "web-1-pull").resource as any).imageId)).toBe("sha256:2222");
        // The checks re-run when the Codex login changes: the trigger must be a real value.
        expect(b.one("command:remote:Command", "web-1-checks").inputs.triggers).toContain("existing");
    });
});

describe("the program (index.ts) under mocks", () => {
    it("builds one FlowsHost per configured host and exports no credential", async () => {
        pulumi.runtime.setAllConfig(
            {
                "github-flows-host:hosts": JSON.stringify([host(), host({ name: "web-2", address: "203.0.113.11" })]),
                "github-flows-host:sshPrivateKey": PRIVATE_KEY,
                "github-flows-host:githubToken": `${TOKEN}\n`,
                "github-flows-host:openaiApiKey": OPENAI_KEY,
                "github-flows-host:repositories": '["owner/repository"]',
            },
            ["github-flows-host:sshPrivateKey", "github-flows-host:githubToken", "github-flows-host:openaiApiKey"],
        );
        registered.length = 0;
        const program = await import("../../index");
        const hosts = await promiseOf(program.hosts as pulumi.Output<Record<string, any>>);
        expect(Object.keys(hosts)).toEqual(["web-1", "web-2"]);
        expect(hosts["web-1"].githubLogin).toBe("octocat");
        expect(JSON.parse(hosts["web-2"].profiles["owner/repository"])).toStrictEqual(renderProfile({ ...parseConfig(rawConfig()), repository: "owner/repository" }));
        expect(await pulumi.isSecret(program.hosts)).toBe(false);
        const text = JSON.stringify(hosts);
        for (const secret of [TOKEN, PRIVATE_KEY_BODY, OPENAI_KEY]) expect(text).not.toContain(secret);
        expect(registered.filter((r) => r.type === COMP("FlowsHost")).map((r) => r.name)).toEqual(["web-1", "web-2"]);
    });
});

describe("order on a host", () => {
    it("touches the host only after the account read, while the docker provider's plugin starts beside it", async () => {
        accountReadMs = 300;
        order.length = 0;
        try {
            await build();
        } finally {
            accountReadMs = 0;
        }
        const readAt = order.indexOf("account-read");
        expect(readAt).toBeGreaterThan(0);
        const touching = order.filter((t, i) => i !== readAt && (isHostResource(t) || t.startsWith("docker:index") || t.startsWith("command:")) && t !== RES("HostAccount"));
        expect(touching.length).toBeGreaterThan(5);
        for (const [i, t] of order.entries()) {
            if (touching.includes(t) && t !== RES("HostAccount")) expect(i, t).toBeGreaterThan(readAt);
        }
        expect(order.indexOf("pulumi:providers:docker")).toBeGreaterThanOrEqual(0);
        expect(order.indexOf("pulumi:providers:docker")).toBeLessThan(readAt);
    });
});
