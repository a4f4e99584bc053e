import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, FlowsHost, FlowsHostArgs } from "../../api";
import { checkSecrets } from "../../lib/config";
import { readPrompt, shippedPromptFile } from "../../lib/prompt";
import { HOST_KEY, OPENAI_KEY, PRIVATE_KEY, TOKEN } from "../fixtures/config";

/** FlowsHost as someone else's Pulumi program uses it: typed args, credentials as Inputs. */
const RES = (t: string) => `github-flows-host:index:${t}`;
const registered: pulumi.runtime.MockResourceArgs[] = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            async newResource(a) {
                registered.push(a);
                const extra: Record<string, unknown> = {};
                if (a.type === "command:remote:Command" || a.type === RES("SshCommand")) extra.stdout = "gfh-github-login=octocat\ngfh-token-expires=never\ngfh-repository-access=acme/web push\ngfh-checks=ok\n";
                if (a.type === RES("PulledImage")) extra.imageId = "sha256:2222";
                if (a.type === RES("CodexLogin")) Object.assign(extra, { present: true, loginId: "existing" });
                if (a.type === RES("RemoteFile")) extra.sha256 = "0".repeat(64);
                if (a.type === RES("HostAccount")) Object.assign(extra, { home: `/home/${a.inputs.user}`, uid: 1001, gid: 1001, homeExists: true });
                return { id: `${a.name}-id`, state: { ...a.inputs, ...extra } };
            },
            call: (a) => a.inputs,
        },
        "consumer",
        "dev",
        false,
    );
});

const promiseOf = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve, reject) => (o as any).promise().then(resolve, reject));

/** The least a caller writes: where the host is, the repositories, the credentials. ssh-pull keeps the docker provider out. */
const args = (over: Partial<FlowsHostArgs> = {}): FlowsHostArgs => ({
    address: "203.0.113.10",
    user: "root",
    hostKey: HOST_KEY,
    repositories: ["acme/web"],
    imageSource: "ssh-pull",
    sshPrivateKey: pulumi.secret(PRIVATE_KEY),
    githubToken: pulumi.secret(TOKEN),
    ...over,
});

const thrown = (f: () => unknown): ConfigError => {
    try {
        f();
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error("no ConfigError");
};

describe("the package's entry (api.ts)", () => {
    it("exports the component and what a caller needs, nothing of the stack program", async () => {
        expect(Object.keys(await import("../../api")).sort()).toEqual(["ConfigError", "FlowsHost", "PER_HOST_KEYS"]);
    });
});

describe("FlowsHost args", () => {
    it("builds a host from the least args, the settings' defaults those of the stack config", async () => {
        registered.length = 0;
        const children: pulumi.Resource[] = [];
        const h = new FlowsHost("web1", args({ githubToken: pulumi.secret(`${TOKEN}\n`), openaiApiKey: pulumi.secret(OPENAI_KEY) }), {
            transformations: [(a) => void children.push(a.resource)],
        });
        await Promise.all(children.map((r) => promiseOf(r.urn)));
        expect(await promiseOf(h.githubLogin)).toBe("octocat");
        const profiles = await promiseOf(h.profiles);
        expect(Object.keys(profiles)).toEqual(["acme/web"]);
        expect(JSON.parse(profiles["acme/web"]).execution.runtime.image).toBe("github-flows-agent-codex:latest");
        const token = registered.find((r) => r.type === RES("RemoteFile") && r.name === "web1-gh-token")!;
        // The trailing line break dropped, as from stack config; secret on the way to the engine.
        expect(JSON.stringify(token.inputs.content)).toContain(JSON.stringify(TOKEN));
        expect(JSON.stringify(token.inputs.content)).not.toContain(`${TOKEN}\\n`);
        expect(token.inputs.content.value).toBe(TOKEN);
        expect(token.inputs.path).toBe("/home/user/.secrets/gh-token");
        expect(registered.find((r) => r.type === RES("CodexLogin"))!.inputs.apiKey.value).toBe(OPENAI_KEY);
        // The shipped prompt, for a program without prompts/prompt.md of its own.
        const set = registered.find((r) => r.name === "web1-profiles")!;
        expect(set.inputs.files["acme/web/issue_comment-created/prompt.md"]).toBe(fs.readFileSync(shippedPromptFile()!, "utf8"));
        expect(await pulumi.isSecret(h.tokenFingerprint)).toBe(false);
    });

    it("refuses bad settings before anything is registered, naming the component and each arg", () => {
        registered.length = 0;
        const e = thrown(() => new FlowsHost("web1", args({ repositories: ["acme/web", "https://github.com/a/b"], runtimeUser: "root", tokenFile: "rel", port: 0 })));
        expect(e.problems.map((p) => p.split(": ").slice(0, 2).join(": ")).sort()).toEqual([
            "FlowsHost 'web1': args.port",
            "FlowsHost 'web1': args.repositories[1]",
            "FlowsHost 'web1': args.runtimeUser",
            "FlowsHost 'web1': args.tokenFile",
        ]);
        expect(e.message).toContain("FlowsHost 'web1': args.repositories[1]: ");
        expect(registered).toEqual([]);
    });

    it("names missing and unknown args", () => {
        const { address: _a, ...noAddress } = args();
        const e = thrown(() => new FlowsHost("web1", { ...noAddress, hosts: [] } as unknown as FlowsHostArgs));
        expect(e.problems).toEqual(expect.arrayContaining(["FlowsHost 'web1': args.address: is required", "FlowsHost 'web1': args.hosts: unknown key"]));
    });

    it("refuses the security rules' violations and a credential-shaped setting at once", () => {
        const e = thrown(
            () =>
                new FlowsHost("web1", args({ profile: { dockerArgs: ["-v", "/var/run/docker.sock:/s"], env: { K: "ghp_0123456789abcdefghijABCDEFGHIJ012345" } }, checkDockerArgs: ["--privileged"] })),
        );
        expect(e.problems.map((p) => p.split(": ")[1]).sort()).toEqual(["args.checkDockerArgs", "args.profile.dockerArgs", "args.profile.env.K"]);
        expect(e.message).not.toContain("ghp_0123456789");
    });

    it("checks the credentials' values once known: the token as stored, none of them in a setting, never printed", () => {
        const settings = { profile: { env: { T: `x${TOKEN}`, LOG_LEVEL: "info" }, dockerArgs: [], agentCommand: "codex", setupScript: "" }, checkDockerArgs: [`-e=K=${OPENAI_KEY}`] } as any;
        let e: ConfigError | undefined;
        try {
            checkSecrets(settings, { sshPrivateKey: PRIVATE_KEY, githubToken: `${TOKEN}\r\n`, openaiApiKey: OPENAI_KEY });
        } catch (x) {
            e = x as ConfigError;
        }
        expect(e?.problems.map((p) => p.split(": ")[0])).toEqual(["args.profile.env.T", "args.checkDockerArgs[0]"]);
        expect(e?.message).not.toContain(TOKEN);
        expect(e?.message).not.toContain(OPENAI_KEY);
        const ok = checkSecrets({ ...settings, profile: { ...settings.profile, env: {} }, checkDockerArgs: [] }, { sshPrivateKey: PRIVATE_KEY, githubToken: `${TOKEN}\n` });
        expect(ok).toEqual({ sshPrivateKey: PRIVATE_KEY, githubToken: TOKEN });
        expect(() => checkSecrets(settings, { sshPrivateKey: "x", githubToken: "a b" }, (p) => `k:${p.join(".")}`)).toThrow(/k:sshPrivateKey: must be a PEM[^]*k:githubToken: must not contain whitespace/);
    });
});

describe("the prompt", () => {
    it("reads profile.promptFile relative to the project, and the shipped prompt for the default name only", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-prompt-"));
        try {
            fs.writeFileSync(path.join(dir, "mine.md"), "mine");
            expect(readPrompt("mine.md", dir)).toBe("mine");
            expect(readPrompt("prompts/prompt.md", dir)).toBe(fs.readFileSync(path.join(__dirname, "../../prompts/prompt.md"), "utf8"));
            expect(() => readPrompt("other.md", dir)).toThrow(`cannot read ${dir}/other.md (ENOENT)`);
            fs.mkdirSync(path.join(dir, "prompts"));
            fs.writeFileSync(path.join(dir, "prompts/prompt.md"), "the project's own");
            expect(readPrompt("prompts/prompt.md", dir)).toBe("the project's own");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names args.profile.promptFile when the file is missing", () => {
        const e = thrown(() => new FlowsHost("web1", args({ profile: { promptFile: "no/such.md" } })));
        expect(e.problems[0]).toMatch(/^FlowsHost 'web1': args\.profile\.promptFile: cannot read .*no\/such\.md \(ENOENT\)$/);
    });
});
