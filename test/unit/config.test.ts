import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, decodeRawConfig, isHostKey, keyName, parseConfig } from "../../lib/config";
import { loadStackConfig } from "../../lib/stackConfig";
import { HOST_KEY, HOST_KEY_2, HOST_KEY_ECDSA, host, OPENAI_KEY, PRIVATE_KEY, rawConfig, TOKEN } from "../fixtures/config";

/** Runs parseConfig and returns the ConfigError it must throw. */
function configError(raw: Record<string, unknown>): ConfigError {
    try {
        parseConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error("parseConfig accepted the config");
}

const without = (key: string) => {
    const r = rawConfig();
    delete r[key];
    return r;
};

const ed25519Blob = HOST_KEY.split(" ")[1];
const ecdsaBlob = HOST_KEY_ECDSA.split(" ")[1];
const ws = "/home/user/app/github-flows/var/work";
const SECRET_A = "ghp_SeCrEtPaRtOnE";
const SECRET_B = "SeCrEtPaRtTwO";

interface Bad {
    name: string;
    raw: Record<string, unknown>;
    /** The exact key the message must name (followed by ':'). */
    key: string;
    /** Substrings that must not appear in the message (secret values). */
    secret?: string[];
}

const bad: Bad[] = [
    // Secrets
    { name: "empty token", raw: rawConfig({ githubToken: "" }), key: "github-flows-host:githubToken" },
    { name: "whitespace token", raw: rawConfig({ githubToken: "  \t " }), key: "github-flows-host:githubToken" },
    { name: "only line breaks as token", raw: rawConfig({ githubToken: "\r\n" }), key: "github-flows-host:githubToken" },
    { name: "token with an inner newline", raw: rawConfig({ githubToken: `${SECRET_A}\n${SECRET_B}` }), key: "github-flows-host:githubToken", secret: [SECRET_A, SECRET_B] },
    { name: "token with an inner CR", raw: rawConfig({ githubToken: `${SECRET_A}\r${SECRET_B}` }), key: "github-flows-host:githubToken", secret: [SECRET_A, SECRET_B] },
    { name: "token with a space", raw: rawConfig({ githubToken: `${SECRET_A} ${SECRET_B}` }), key: "github-flows-host:githubToken", secret: [SECRET_A, SECRET_B] },
    { name: "token with a tab", raw: rawConfig({ githubToken: `${SECRET_A}\t` }), key: "github-flows-host:githubToken", secret: [SECRET_A] },
    { name: "token not a string", raw: rawConfig({ githubToken: 123456789 }), key: "github-flows-host:githubToken", secret: ["123456789"] },
    { name: "whitespace OpenAI key", raw: rawConfig({ openaiApiKey: "   " }), key: "github-flows-host:openaiApiKey" },
    { name: "OpenAI key with a space", raw: rawConfig({ openaiApiKey: `${SECRET_A} x` }), key: "github-flows-host:openaiApiKey", secret: [SECRET_A] },
    { name: "private key not PEM", raw: rawConfig({ sshPrivateKey: `${SECRET_A}${SECRET_B}` }), key: "github-flows-host:sshPrivateKey", secret: [SECRET_A, SECRET_B] },
    // Repositories
    { name: "repository without owner", raw: rawConfig({ repositories: ["repository"] }), key: "github-flows-host:repositories[0]" },
    { name: "second repository with two slashes", raw: rawConfig({ repositories: ["owner/repository", "a/b/c"] }), key: "github-flows-host:repositories[1]" },
    { name: "repository as a URL", raw: rawConfig({ repositories: ["https://github.com/owner/repository"] }), key: "github-flows-host:repositories[0]" },
    { name: "repository name '..'", raw: rawConfig({ repositories: ["owner/.."] }), key: "github-flows-host:repositories[0]" },
    { name: "duplicate repository", raw: rawConfig({ repositories: ["a/b", "a/b"] }), key: "github-flows-host:repositories[1]" },
    { name: "the same repository in other case", raw: rawConfig({ repositories: ["Owner/Repo", "owner/repo"] }), key: "github-flows-host:repositories[1]" },
    { name: "owner with a double hyphen (a--b/c would collide with a/b--c)", raw: rawConfig({ repositories: ["a/b--c", "a--b/c"] }), key: "github-flows-host:repositories[1]" },
    { name: "owner starting with '-' (reaches gh as an option)", raw: rawConfig({ repositories: ["-R/x"] }), key: "github-flows-host:repositories[0]" },
    { name: "owner ending with '-'", raw: rawConfig({ repositories: ["owner-/x"] }), key: "github-flows-host:repositories[0]" },
    { name: "owner longer than 39", raw: rawConfig({ repositories: [`${"a".repeat(40)}/x`] }), key: "github-flows-host:repositories[0]" },
    { name: "owner with '.'", raw: rawConfig({ repositories: ["my.org/x"] }), key: "github-flows-host:repositories[0]" },
    { name: "owner with '_'", raw: rawConfig({ repositories: ["my_org/x"] }), key: "github-flows-host:repositories[0]" },
    { name: "repository name '.'", raw: rawConfig({ repositories: ["owner/."] }), key: "github-flows-host:repositories[0]" },
    { name: "repository name longer than 100", raw: rawConfig({ repositories: [`owner/${"r".repeat(101)}`] }), key: "github-flows-host:repositories[0]" },
    { name: "repository name with a space", raw: rawConfig({ repositories: ["owner/my repo"] }), key: "github-flows-host:repositories[0]" },
    { name: "empty owner", raw: rawConfig({ repositories: ["/repo"] }), key: "github-flows-host:repositories[0]" },
    { name: "no repositories", raw: rawConfig({ repositories: [] }), key: "github-flows-host:repositories" },
    // Paths
    { name: "relative appDir", raw: rawConfig({ appDir: "app/github-flows" }), key: "github-flows-host:appDir" },
    { name: "tokenFile with ..", raw: rawConfig({ tokenFile: "/home/user/../root/gh-token" }), key: "github-flows-host:tokenFile" },
    { name: "secretsDir with a newline", raw: rawConfig({ secretsDir: "/home/user/.secrets\n/x" }), key: "github-flows-host:secretsDir" },
    { name: "codexDir with a comma", raw: rawConfig({ codexDir: "/home/user/.secrets/co,dex" }), key: "github-flows-host:codexDir" },
    { name: "workspaceDir with a '.' segment", raw: rawConfig({ workspaceDir: "/home/user/./work" }), key: "github-flows-host:workspaceDir" },
    { name: "tokenFile under the workspace", raw: rawConfig({ tokenFile: `${ws}/gh-token` }), key: "github-flows-host:tokenFile" },
    { name: "codexDir under the workspace", raw: rawConfig({ codexDir: `${ws}/cfg/codex` }), key: "github-flows-host:codexDir" },
    { name: "secretsDir under the workspace", raw: rawConfig({ secretsDir: `${ws}/.secrets` }), key: "github-flows-host:secretsDir" },
    { name: "workspace around the secrets", raw: rawConfig({ workspaceDir: "/home/user" }), key: "github-flows-host:secretsDir" },
    { name: "tokenFile in ~/.ssh", raw: rawConfig({ tokenFile: "/home/user/.ssh/gh-token" }), key: "github-flows-host:tokenFile" },
    // The runtime user runs model-written code
    { name: "runtimeUser root", raw: rawConfig({ runtimeUser: "root" }), key: "github-flows-host:runtimeUser" },
    // Credentials in plain-text settings
    { name: "a GitHub token in profile.env", raw: rawConfig({ profile: { env: { GH_TOKEN: "ghp_0123456789abcdefghijABCDEFGHIJ012345" } } }), key: "github-flows-host:profile.env.GH_TOKEN", secret: ["ghp_0123456789abcdefghij"] },
    { name: "a token inside a longer profile.env value", raw: rawConfig({ profile: { env: { X: `x ${SECRET_A}0123456789abcdefghij` } } }), key: "github-flows-host:profile.env.X", secret: [SECRET_A] },
    { name: "a fine-grained token in profile.env", raw: rawConfig({ profile: { env: { X: "github_pat_11ABCDEFG0123456789_abcdefghijklmnop" } } }), key: "github-flows-host:profile.env.X", secret: ["github_pat_11ABCDEFG0123456789"] },
    { name: "an OpenAI key in profile.env", raw: rawConfig({ profile: { env: { OPENAI_API_KEY: "sk-proj-abcdefghijklmnopqrstuvwxyz0123" } } }), key: "github-flows-host:profile.env.OPENAI_API_KEY", secret: ["sk-proj-abcdefghijklmnopqrstuvwxyz0123"] },
    { name: "the configured token in profile.env", raw: rawConfig({ profile: { env: { T: TOKEN } } }), key: "github-flows-host:profile.env.T" },
    { name: "the configured OpenAI key in profile.env", raw: rawConfig({ openaiApiKey: OPENAI_KEY, profile: { env: { K: OPENAI_KEY } } }), key: "github-flows-host:profile.env.K", secret: [OPENAI_KEY] },
    { name: "-e K=<token> in profile.dockerArgs", raw: rawConfig({ profile: { dockerArgs: ["--network", "host", "-e", "GH_TOKEN=gho_0123456789abcdefghijABCDEFGHIJ012345"] } }), key: "github-flows-host:profile.dockerArgs[3]", secret: ["gho_0123456789abcdefghij"] },
    { name: "--env=K=<key> in checkDockerArgs", raw: rawConfig({ checkDockerArgs: ["--env=OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz012345"] }), key: "github-flows-host:checkDockerArgs[0]", secret: ["sk-abcdefghijklmnopqrstuvwxyz012345"] },
    { name: "a token in agentCommand", raw: rawConfig({ profile: { agentCommand: "GH_TOKEN=ghs_0123456789abcdefghijABCDEFGHIJ012345 codex exec" } }), key: "github-flows-host:profile.agentCommand", secret: ["ghs_0123456789abcdefghij"] },
    // profile.dockerArgs / checkDockerArgs
    { name: "profile.dockerArgs --privileged", raw: rawConfig({ profile: { dockerArgs: ["--privileged"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "checkDockerArgs --env-file", raw: rawConfig({ checkDockerArgs: ["--network", "host", "--env-file", "/home/user/app/github-flows/.env"] }), key: "github-flows-host:checkDockerArgs" },
    { name: "checkDockerArgs -e NAME", raw: rawConfig({ checkDockerArgs: ["-e", "GH_TOKEN"] }), key: "github-flows-host:checkDockerArgs" },
    { name: "profile.dockerArgs --pid=host", raw: rawConfig({ profile: { dockerArgs: ["--pid=host"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile.dockerArgs /proc/1/root", raw: rawConfig({ profile: { dockerArgs: ["-v", "/proc/1/root:/host"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "checkDockerArgs containerd socket", raw: rawConfig({ checkDockerArgs: ["-v", "/run/containerd/containerd.sock:/s"] }), key: "github-flows-host:checkDockerArgs" },
    { name: "profile.dockerArgs a volume bound to home", raw: rawConfig({ profile: { dockerArgs: ["--mount", "dst=/h,volume-opt=o=bind,volume-opt=device=/home/user"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile.dockerArgs an image word", raw: rawConfig({ profile: { dockerArgs: ["alpine"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "codexDir under /proc", raw: rawConfig({ codexDir: "/proc/self/root/codex" }), key: "github-flows-host:codexDir" },
    { name: "profile mounts home", raw: rawConfig({ profile: { dockerArgs: ["--mount", "type=bind,src=/home/user,dst=/h"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts home with //", raw: rawConfig({ profile: { dockerArgs: ["-v", "/home//user:/h"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts home with trailing /", raw: rawConfig({ profile: { dockerArgs: ["--mount=type=bind,src=/home/user/,dst=/h"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts ~/.ssh", raw: rawConfig({ profile: { dockerArgs: ["-v", "/home/user/.ssh/:/root/.ssh:ro"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts ~/.config", raw: rawConfig({ profile: { dockerArgs: ["--mount", "type=bind,source=/home/user/.config,target=/c"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts the app .env", raw: rawConfig({ profile: { dockerArgs: ["-v", "/home/user/app/github-flows/.env:/workspace/.env"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts the docker socket", raw: rawConfig({ profile: { dockerArgs: ["--volume", "/var/run/docker.sock:/var/run/docker.sock"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts /run//docker.sock/", raw: rawConfig({ profile: { dockerArgs: ["-v", "/run//docker.sock/:/s"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile mounts the token writable", raw: rawConfig({ profile: { dockerArgs: ["--mount", "type=bind,src=/home/user/.secrets/gh-token,dst=/t"] } }), key: "github-flows-host:profile.dockerArgs" },
    { name: "profile dockerArgs with an empty word", raw: rawConfig({ profile: { dockerArgs: ["--network", ""] } }), key: "github-flows-host:profile.dockerArgs[1]" },
    { name: "checkDockerArgs mounts the docker socket", raw: rawConfig({ checkDockerArgs: ["-v", "/var/run/docker.sock:/var/run/docker.sock"] }), key: "github-flows-host:checkDockerArgs" },
    { name: "checkDockerArgs mounts home", raw: rawConfig({ checkDockerArgs: ["--mount", "type=bind,src=/home/user,dst=/x"] }), key: "github-flows-host:checkDockerArgs" },
    // Runtime user and image
    { name: "runtime user with a space", raw: rawConfig({ runtimeUser: "run user" }), key: "github-flows-host:runtimeUser" },
    { name: "runtime user with ;", raw: rawConfig({ runtimeUser: "user;id" }), key: "github-flows-host:runtimeUser" },
    { name: "runtime user with $()", raw: rawConfig({ runtimeUser: "$(id)" }), key: "github-flows-host:runtimeUser" },
    { name: "runtime user with a quote", raw: rawConfig({ runtimeUser: "us'er" }), key: "github-flows-host:runtimeUser" },
    { name: "image with upper case and space", raw: rawConfig({ image: "Github Flows:latest" }), key: "github-flows-host:image" },
    { name: "image with a shell payload", raw: rawConfig({ image: "img;rm -rf /" }), key: "github-flows-host:image" },
    { name: "imagePullFrom with a bad tag", raw: rawConfig({ imagePullFrom: "registry:5000/agent:" }), key: "github-flows-host:imagePullFrom" },
    { name: "unknown imageSource", raw: rawConfig({ imageSource: "docker" }), key: "github-flows-host:imageSource" },
    { name: "unknown remoteCommands", raw: rawConfig({ remoteCommands: "ssh" }), key: "github-flows-host:remoteCommands" },
    { name: "githubHost as a URL", raw: rawConfig({ githubHost: "https://github.example.com" }), key: "github-flows-host:githubHost" },
    // Hosts
    { name: "port 0", raw: rawConfig({ hosts: [host({ port: 0 })] }), key: "github-flows-host:hosts[0].port" },
    { name: "port 70000", raw: rawConfig({ hosts: [host({ port: 70000 })] }), key: "github-flows-host:hosts[0].port" },
    { name: "port as the string \"22\"", raw: rawConfig({ hosts: [host({ port: "22" })] }), key: "github-flows-host:hosts[0].port" },
    { name: "fractional port", raw: rawConfig({ hosts: [host({ port: 22.5 })] }), key: "github-flows-host:hosts[0].port" },
    { name: "host key garbage", raw: rawConfig({ hosts: [host({ hostKey: "garbage" })] }), key: "github-flows-host:hosts[0].hostKey" },
    { name: "host key ssh-rsa prefix on an ed25519 blob", raw: rawConfig({ hosts: [host({ hostKey: `ssh-rsa ${ed25519Blob}` })] }), key: "github-flows-host:hosts[0].hostKey" },
    { name: "host key ssh-ed25519 prefix on an ecdsa blob", raw: rawConfig({ hosts: [host({ hostKey: `ssh-ed25519 ${ecdsaBlob}` })] }), key: "github-flows-host:hosts[0].hostKey" },
    { name: "host key with the host name in front (known_hosts line)", raw: rawConfig({ hosts: [host({ hostKey: `203.0.113.10 ${HOST_KEY}` })] }), key: "github-flows-host:hosts[0].hostKey" },
    { name: "host key truncated blob", raw: rawConfig({ hosts: [host({ hostKey: "ssh-ed25519 AAAA" })] }), key: "github-flows-host:hosts[0].hostKey" },
    {
        name: "bad proxy host key on the second host",
        raw: rawConfig({ hosts: [host(), host({ name: "web-2", proxy: { address: "bastion", user: "jump", hostKey: "nope" } })] }),
        key: "github-flows-host:hosts[1].proxy.hostKey",
    },
    { name: "proxy port 0", raw: rawConfig({ hosts: [host({ proxy: { address: "bastion", port: 0, user: "jump", hostKey: HOST_KEY_2 } })] }), key: "github-flows-host:hosts[0].proxy.port" },
    { name: "bad host address", raw: rawConfig({ hosts: [host({ address: "bad host;" })] }), key: "github-flows-host:hosts[0].address" },
    { name: "bad host name", raw: rawConfig({ hosts: [host({ name: "Web_1" })] }), key: "github-flows-host:hosts[0].name" },
    { name: "SSH user with shell chars", raw: rawConfig({ hosts: [host({ user: "root$(id)" })] }), key: "github-flows-host:hosts[0].user" },
    { name: "unknown key in a host", raw: rawConfig({ hosts: [host({ hostkey: HOST_KEY })] }), key: "github-flows-host:hosts[0].hostkey" },
    { name: "unknown key in a proxy", raw: rawConfig({ hosts: [host({ proxy: { address: "b", user: "j", hostKey: HOST_KEY_2, pass: "x" } })] }), key: "github-flows-host:hosts[0].proxy.pass" },
    { name: "duplicate host names", raw: rawConfig({ hosts: [host(), host({ address: "203.0.113.11" })] }), key: "github-flows-host:hosts[1].name" },
    { name: "no hosts", raw: rawConfig({ hosts: [] }), key: "github-flows-host:hosts" },
    // Profile
    { name: "timeoutSec 0", raw: rawConfig({ profile: { timeoutSec: 0 } }), key: "github-flows-host:profile.timeoutSec" },
    { name: "timeoutSec negative", raw: rawConfig({ profile: { timeoutSec: -60 } }), key: "github-flows-host:profile.timeoutSec" },
    { name: "timeoutSec fractional", raw: rawConfig({ profile: { timeoutSec: 1.5 } }), key: "github-flows-host:profile.timeoutSec" },
    { name: "promptVariables path outside event./host./workspace.", raw: rawConfig({ profile: { promptVariables: { BODY: "issue.body" } } }), key: "github-flows-host:profile.promptVariables.BODY" },
    { name: "env value not a string", raw: rawConfig({ profile: { env: { LOG_LEVEL: 1 } } }), key: "github-flows-host:profile.env.LOG_LEVEL" },
    { name: "agentCommand on two lines", raw: rawConfig({ profile: { agentCommand: "codex\nexec" } }), key: "github-flows-host:profile.agentCommand" },
    { name: "unknown key in profile", raw: rawConfig({ profile: { timeout: 60 } }), key: "github-flows-host:profile.timeout" },
    // Top level
    { name: "unknown top-level key", raw: rawConfig({ githubtoken: "x" }), key: "github-flows-host:githubtoken" },
    { name: "installProfiles as text", raw: rawConfig({ installProfiles: "yes" }), key: "github-flows-host:installProfiles" },
    { name: "requiredPermission 'write' (a fine-grained token's word, not a role)", raw: rawConfig({ requiredPermission: "write" }), key: "github-flows-host:requiredPermission" },
    { name: "requiredPermission in capitals", raw: rawConfig({ requiredPermission: "PUSH" }), key: "github-flows-host:requiredPermission" },
    { name: "tokenExpiryWarningDays negative", raw: rawConfig({ tokenExpiryWarningDays: -1 }), key: "github-flows-host:tokenExpiryWarningDays" },
    { name: "tokenExpiryWarningDays fractional", raw: rawConfig({ tokenExpiryWarningDays: 1.5 }), key: "github-flows-host:tokenExpiryWarningDays" },
    { name: "tokenExpiryWarningDays as text", raw: rawConfig({ tokenExpiryWarningDays: "two weeks" }), key: "github-flows-host:tokenExpiryWarningDays" },
    { name: "tokenExpiryWarningDays beyond a token's lifetime", raw: rawConfig({ tokenExpiryWarningDays: 400 }), key: "github-flows-host:tokenExpiryWarningDays" },
    { name: "missing hosts", raw: without("hosts"), key: "github-flows-host:hosts" },
    { name: "missing sshPrivateKey", raw: without("sshPrivateKey"), key: "github-flows-host:sshPrivateKey" },
    { name: "missing githubToken", raw: without("githubToken"), key: "github-flows-host:githubToken" },
    { name: "missing repositories", raw: without("repositories"), key: "github-flows-host:repositories" },
];

describe("parseConfig rejects bad input, naming the exact key", () => {
    it("has at least 30 cases", () => {
        expect(bad.length).toBeGreaterThanOrEqual(30);
    });

    it.each(bad)("$name -> $key", ({ raw, key, secret }) => {
        const e = configError(raw);
        const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        // The key is named as a whole: followed by ':', not a prefix of a longer key.
        expect(e.message).toMatch(new RegExp(`(^|\\s)${escaped}: `, "m"));
        expect(e.problems.some((p) => p.startsWith(`${key}: `))).toBe(true);
        for (const s of secret ?? []) expect(e.message).not.toContain(s);
        // Secrets that are valid in this config never show either.
        expect(e.message).not.toContain(TOKEN);
        expect(e.message).not.toContain("PRIVATE KEY-----\n");
    });

    it("says 'is required' for missing keys and 'unknown key' for unknown ones", () => {
        expect(configError(without("githubToken")).problems).toContain("github-flows-host:githubToken: is required");
        expect(configError(rawConfig({ tokn: TOKEN })).problems).toContain("github-flows-host:tokn: unknown key");
        expect(configError(rawConfig({ tokn: TOKEN })).message).not.toContain(TOKEN);
    });

    it("reports a wrong type as a wrong type, not as missing", () => {
        const port = configError(rawConfig({ hosts: [host({ port: "22" })] })).problems;
        expect(port).toHaveLength(1);
        expect(port[0]).toMatch(/^github-flows-host:hosts\[0\]\.port: .*expected number, received string/);
        const token = configError(rawConfig({ githubToken: 123456789 })).problems;
        expect(token).toHaveLength(1);
        expect(token[0]).not.toMatch(/is required/);
        expect(token[0]).not.toContain("123456789");
    });

    it("reports every problem at once", () => {
        const e = configError(rawConfig({ runtimeUser: "a b", hosts: [host({ port: 0 })], profile: { timeoutSec: 0 } }));
        expect(e.problems.map((p) => p.split(": ")[0]).sort()).toEqual(["github-flows-host:hosts[0].port", "github-flows-host:profile.timeoutSec", "github-flows-host:runtimeUser"]);
    });
});

describe("parseConfig accepts good input", () => {
    it.each([
        ["$(id)", "ghp_$(id)"],
        ["backticks", "ghp_`touch${IFS}/tmp/pwned`"],
        ["single and double quotes", `ghp_'"'"x"`],
        ["; & | < > * ?", "ghp_a;b&c|d<e>f*g?h"],
        ["backslashes and $VAR", "ghp_\\n\\$HOME$HOME"],
        ["non-ASCII", "ghp_žluťoučký"],
    ])("keeps a token with %s byte-exact", (_name, token) => {
        expect(parseConfig(rawConfig({ githubToken: token })).githubToken).toBe(token);
    });

    it.each(["\n", "\r\n", "\r", "\r\n\r\n"])("drops a trailing line break %j from the token", (eol) => {
        expect(parseConfig(rawConfig({ githubToken: `${TOKEN}${eol}` })).githubToken).toBe(TOKEN);
        expect(parseConfig(rawConfig({ openaiApiKey: `${OPENAI_KEY}${eol}` })).openaiApiKey).toBe(OPENAI_KEY);
    });

    it("derives the setup document's paths and defaults", () => {
        const c = parseConfig(rawConfig());
        expect(c).toMatchObject({
            runtimeUser: "user",
            appDir: "/home/user/app/github-flows",
            workspaceDir: "/home/user/app/github-flows/var/work",
            secretsDir: "/home/user/.secrets",
            tokenFile: "/home/user/.secrets/gh-token",
            codexDir: "/home/user/.secrets/codex",
            image: "github-flows-agent-codex:latest",
            imagePullFrom: "github-flows-agent-codex:latest",
            imageSource: "docker-provider",
            remoteCommands: "pulumi-command",
            githubHost: "github.com",
            checkDockerArgs: [],
            requiredPermission: "push",
            tokenExpiryWarningDays: 14,
            installProfiles: true,
            profile: {
                event: "issue_comment",
                action: "created",
                promptFile: "prompts/prompt.md",
                agentCommand: "codex exec --dangerously-bypass-approvals-and-sandbox -C /workspace/repo",
                setupScript: "test -d repo",
                timeoutSec: 1800,
                env: { LOG_LEVEL: "info" },
                dockerArgs: [],
            },
        });
        expect(c.hosts[0].port).toBe(22);
        expect(c.openaiApiKey).toBeUndefined();
    });

    it("takes requiredPermission and tokenExpiryWarningDays as `pulumi config set` stores them", () => {
        const raw = decodeRawConfig({ "github-flows-host:requiredPermission": "pull", "github-flows-host:tokenExpiryWarningDays": "30" });
        expect(parseConfig(rawConfig(raw))).toMatchObject({ requiredPermission: "pull", tokenExpiryWarningDays: 30 });
        for (const p of ["pull", "triage", "push", "maintain", "admin"]) expect(parseConfig(rawConfig({ requiredPermission: p })).requiredPermission).toBe(p);
        expect(parseConfig(rawConfig({ tokenExpiryWarningDays: 0 })).tokenExpiryWarningDays).toBe(0);
    });

    it("derives paths under /home/flows for runtimeUser flows", () => {
        expect(parseConfig(rawConfig({ runtimeUser: "flows" }))).toMatchObject({
            appDir: "/home/flows/app/github-flows",
            workspaceDir: "/home/flows/app/github-flows/var/work",
            secretsDir: "/home/flows/.secrets",
            tokenFile: "/home/flows/.secrets/gh-token",
            codexDir: "/home/flows/.secrets/codex",
        });
    });

    it("derives from an explicit appDir and secretsDir, normalising // and trailing /", () => {
        expect(parseConfig(rawConfig({ appDir: "/srv//flows/", secretsDir: "/srv/flows-secrets/" }))).toMatchObject({
            appDir: "/srv/flows",
            workspaceDir: "/srv/flows/var/work",
            secretsDir: "/srv/flows-secrets",
            tokenFile: "/srv/flows-secrets/gh-token",
            codexDir: "/srv/flows-secrets/codex",
        });
    });

    it("accepts a proxy, other key types, image pull source and a second host", () => {
        const c = parseConfig(
            rawConfig({
                hosts: [host({ port: 2222, proxy: { address: "bastion.example.com", user: "jump", hostKey: `${HOST_KEY_ECDSA} bastion` } }), host({ name: "web-2", hostKey: HOST_KEY_2 })],
                imagePullFrom: "127.0.0.1:5000/github-flows-agent-codex:1.2",
                imageSource: "ssh-pull",
                remoteCommands: "ssh2",
            }),
        );
        expect(c.hosts[0].proxy).toEqual({ address: "bastion.example.com", port: 22, user: "jump", hostKey: `${HOST_KEY_ECDSA} bastion` });
        expect(c.imagePullFrom).toBe("127.0.0.1:5000/github-flows-agent-codex:1.2");
    });

    it.each(["octo-org/repo", "a/b--c", "A1/.github", "o/-x", "o/x.y_z", `${"a".repeat(39)}/${"r".repeat(100)}`, "a-b-c/..x"])(
        "accepts the repository name %s, as GitHub does",
        (r) => {
            expect(parseConfig(rawConfig({ repositories: [r] })).repositories).toEqual([r]);
        },
    );

    it("accepts plain settings next to a credential elsewhere", () => {
        const c = parseConfig(rawConfig({ profile: { env: { LOG_LEVEL: "debug", GH_TOKEN_FILE: "/run/secrets/gh-token", TASK: "task-abcdefghijklmnopqrstuvwxyz" } }, checkDockerArgs: ["--network", "host", "-e", "X=1"] }));
        expect(c.profile.env.TASK).toBe("task-abcdefghijklmnopqrstuvwxyz");
    });

    it("accepts the document's mounts and a read-only token mount in profile.dockerArgs", () => {
        expect(() =>
            parseConfig(rawConfig({ profile: { dockerArgs: ["--network", "host", "--mount", "type=bind,src=/home/user/.secrets/gh-token,dst=/run/secrets/gh-token,readonly"] } })),
        ).not.toThrow();
    });
});

describe("isHostKey and keyName", () => {
    it("accepts real keys with and without a comment", () => {
        expect(isHostKey(HOST_KEY)).toBe(true);
        expect(isHostKey(`${HOST_KEY_2} root@host`)).toBe(true);
        expect(isHostKey(HOST_KEY_ECDSA)).toBe(true);
    });

    it("spells paths the way `pulumi config set --path` does", () => {
        expect(keyName(["hosts", 0, "port"])).toBe("github-flows-host:hosts[0].port");
        expect(keyName(["profile", "timeoutSec"])).toBe("github-flows-host:profile.timeoutSec");
        expect(keyName(["repositories", 1])).toBe("github-flows-host:repositories[1]");
    });
});

describe("decodeRawConfig", () => {
    it("decodes JSON for structured values and keeps secrets verbatim", () => {
        const hosts = [host()];
        const out = decodeRawConfig({
            "github-flows-host:hosts": JSON.stringify(hosts),
            "github-flows-host:repositories": '["owner/repository"]',
            "github-flows-host:profile": '{"timeoutSec": 60}',
            "github-flows-host:installProfiles": "false",
            "github-flows-host:runtimeUser": "user",
            "github-flows-host:image": "github-flows-agent-codex:latest",
            "github-flows-host:githubToken": "[1,2]",
            "github-flows-host:sshPrivateKey": "12345",
            "github-flows-host:openaiApiKey": "true",
            "github-flows-host:appDir": "[not json",
            "other:key": "1",
            "flowsx:key": "1",
        });
        expect(out).toEqual({
            hosts,
            repositories: ["owner/repository"],
            profile: { timeoutSec: 60 },
            installProfiles: false,
            runtimeUser: "user",
            image: "github-flows-agent-codex:latest",
            githubToken: "[1,2]",
            sshPrivateKey: "12345",
            openaiApiKey: "true",
            appDir: "[not json",
        });
    });

    it("keeps a JSON-looking token with a trailing newline as text", () => {
        expect(decodeRawConfig({ "github-flows-host:githubToken": '{"a":1}\n' }).githubToken).toBe('{"a":1}\n');
    });

    it("decodes numbers for non-secret keys", () => {
        expect(decodeRawConfig({ "github-flows-host:x": "42", "github-flows-host:y": "-1.5", "github-flows-host:z": "0x10" })).toEqual({ x: 42, y: -1.5, z: "0x10" });
    });
});

describe("loadStackConfig", () => {
    const secretKeys = ["github-flows-host:sshPrivateKey", "github-flows-host:githubToken", "github-flows-host:openaiApiKey"];
    let dir: string;

    const all = (over: Record<string, string> = {}): Record<string, string> => ({
        "github-flows-host:hosts": JSON.stringify([host()]),
        "github-flows-host:sshPrivateKey": PRIVATE_KEY,
        "github-flows-host:githubToken": `${TOKEN}\n`,
        "github-flows-host:repositories": '["owner/repository"]',
        ...over,
    });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-unit-"));
        fs.mkdirSync(path.join(dir, "prompts"));
        fs.writeFileSync(path.join(dir, "prompts/prompt.md"), "Fix issue {{ISSUE_NUMBER}}.\n");
        pulumi.runtime.setAllConfig({}, secretKeys);
    });

    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("returns the validated config, the prompt and secret outputs", async () => {
        const s = loadStackConfig(all({ "github-flows-host:openaiApiKey": OPENAI_KEY }), dir);
        expect(s.prompt).toBe("Fix issue {{ISSUE_NUMBER}}.\n");
        expect(s.config.tokenFile).toBe("/home/user/.secrets/gh-token");
        expect(pulumi.Output.isInstance(s.githubToken)).toBe(true);
        expect(await pulumi.isSecret(s.githubToken)).toBe(true);
        expect(await pulumi.isSecret(s.privateKey)).toBe(true);
        expect(await pulumi.isSecret(s.openaiApiKey!)).toBe(true);
    });

    it("leaves openaiApiKey undefined when unset", () => {
        expect(loadStackConfig(all(), dir).openaiApiKey).toBeUndefined();
    });

    it("reads a promptFile relative to the project directory", () => {
        fs.writeFileSync(path.join(dir, "other.md"), "other");
        expect(loadStackConfig(all({ "github-flows-host:profile": '{"promptFile":"other.md"}' }), dir).prompt).toBe("other");
    });

    it("throws a RunError naming github-flows-host:profile.promptFile when the prompt is missing", () => {
        let err: unknown;
        try {
            loadStackConfig(all({ "github-flows-host:profile": '{"promptFile":"prompts/missing.md"}' }), dir);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(pulumi.RunError);
        expect((err as Error).message).toContain("github-flows-host:profile.promptFile: cannot read");
        expect((err as Error).message).toContain("ENOENT");
    });

    it("throws a RunError naming bad keys without secret values", () => {
        let err: unknown;
        try {
            loadStackConfig(all({ "github-flows-host:githubToken": `${SECRET_A} ${SECRET_B}`, "github-flows-host:hosts": JSON.stringify([host({ port: 0 })]) }), dir);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(pulumi.RunError);
        const msg = (err as Error).message;
        expect(msg).toContain("github-flows-host:githubToken: ");
        expect(msg).toContain("github-flows-host:hosts[0].port: ");
        expect(msg).not.toContain(SECRET_A);
        expect(msg).not.toContain(SECRET_B);
    });

    /** The RunError loadStackConfig throws. */
    const loadError = (over: Record<string, string>): string => {
        try {
            loadStackConfig(all(over), dir);
        } catch (e) {
            expect(e).toBeInstanceOf(pulumi.RunError);
            return (e as Error).message;
        }
        throw new Error("loadStackConfig accepted the config");
    };

    it("refuses profile settings set with --secret (pulumi config set --secret --path profile.env.X), naming the key", () => {
        // The engine lists the whole top-level key as secret when any value inside it is.
        pulumi.runtime.setAllConfig({}, [...secretKeys, "github-flows-host:profile"]);
        const msg = loadError({ "github-flows-host:profile": JSON.stringify({ env: { API: "hush-hush-value" } }) });
        expect(msg).toContain("github-flows-host:profile: holds a value set with --secret, but this key is written in plain text");
        expect(msg).not.toContain("hush-hush-value");
    });

    it("refuses checkDockerArgs and any other plain key set with --secret", () => {
        pulumi.runtime.setAllConfig({}, [...secretKeys, "github-flows-host:checkDockerArgs", "github-flows-host:repositories"]);
        const msg = loadError({ "github-flows-host:checkDockerArgs": '["-e","X=hush-hush-value"]' });
        expect(msg).toContain("github-flows-host:checkDockerArgs: holds a value set with --secret");
        expect(msg).toContain("github-flows-host:repositories: holds a value set with --secret");
        expect(msg).not.toContain("hush-hush-value");
    });

    it("accepts the same profile when it is not secret", () => {
        expect(loadStackConfig(all({ "github-flows-host:profile": JSON.stringify({ env: { API: "plain" } }) }), dir).config.profile.env).toEqual({ API: "plain" });
    });

    it("refuses secrets that are not stored encrypted, without printing them", () => {
        pulumi.runtime.setAllConfig({}, ["github-flows-host:sshPrivateKey"]);
        let err: unknown;
        try {
            loadStackConfig(all(), dir);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(pulumi.RunError);
        expect((err as Error).message).toContain("github-flows-host:githubToken: must be stored encrypted");
        expect((err as Error).message).not.toContain("github-flows-host:sshPrivateKey: must");
        expect((err as Error).message).not.toContain(TOKEN);
    });
});
