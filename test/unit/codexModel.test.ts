import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { FlowsHost } from "../../components";
import { parseConfig, settingsOf } from "../../lib/config";
import { rawConfig } from "../fixtures/config";

// components/codexModel.ts under Pulumi mocks: the resource it registers, where, and what the checks wait for.

const RES = (t: string) => `github-flows-host:index:${t}`;
const COMP = (t: string) => `github-flows-host:index:${t}`;
const registered: pulumi.runtime.MockResourceArgs[] = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            async newResource(a) {
                registered.push(a);
                const extra: Record<string, unknown> = {};
                if (a.type === "command:remote:Command") extra.stdout = "gfh-github-login=octocat\ngfh-token-expires=never\ngfh-checks=ok\n";
                if (a.type === "docker:index/remoteImage:RemoteImage") Object.assign(extra, { imageId: "sha256:1111", repoDigest: `${a.inputs.name}@sha256:1111` });
                if (a.type === RES("CodexLogin")) Object.assign(extra, { present: true, loginId: "existing" });
                if (a.type === RES("RemoteFile")) extra.sha256 = "0".repeat(64);
                if (a.type === RES("HostAccount")) Object.assign(extra, { home: `/home/${a.inputs.user}`, uid: 1001, gid: 1001, homeExists: true });
                return { id: `${a.name}-id`, state: { ...a.inputs, ...extra } };
            },
            call: (a) => a.inputs,
        },
        "github-flows-host",
        "unit",
        false, "organization",
    );
});

interface Seen {
    type: string;
    name: string;
    opts: pulumi.ResourceOptions;
    parent?: string;
}

/** One FlowsHost as index.ts builds it; every registered resource with its options, once all are registered. */
async function build(over: Record<string, unknown>) {
    registered.length = 0;
    const config = parseConfig(rawConfig(over));
    const seen: Array<Seen & { resource: pulumi.Resource }> = [];
    const record: pulumi.ResourceTransformation = (a) => {
        seen.push({ type: a.type, name: a.name, opts: a.opts, resource: a.resource, parent: (a.opts.parent as any)?.__pulumiType });
        return undefined;
    };
    const h = config.hosts[0];
    new FlowsHost(h.name, { ...settingsOf(config, 0), sshPrivateKey: pulumi.secret(config.sshPrivateKey), githubToken: pulumi.secret(config.githubToken), prompt: "p\n" }, { transformations: [record] });
    await Promise.all(seen.map((s) => new Promise((r) => s.resource.urn.apply(r))));
    const inputsOf = (type: string) => registered.find((r) => r.type === type)?.inputs;
    return { seen, inputsOf };
}

describe("CodexModel under mocks", () => {
    it("registers no config.toml resource without codexModel or codexReasoningEffort", async () => {
        const b = await build({});
        expect(b.seen.map((s) => s.type)).not.toContain(COMP("CodexModel"));
        expect(b.seen.map((s) => s.type)).not.toContain(RES("CodexConfigFile"));
        expect(b.inputsOf("command:remote:Command")!.triggers).toHaveLength(5);
    });

    it("registers <codexDir>/config.toml 0600 for the runtime user, under CodexModel under FlowsHost, after the Codex login", async () => {
        const b = await build({ codexModel: "gpt-5.1-codex", codexReasoningEffort: "high" });
        const comp = b.seen.find((s) => s.type === COMP("CodexModel"))!;
        expect(comp).toMatchObject({ name: "web-1", parent: COMP("FlowsHost") });
        const file = b.seen.find((s) => s.type === RES("CodexConfigFile"))!;
        expect(file).toMatchObject({ name: "web-1-codex-config", parent: COMP("CodexModel") });
        expect(b.inputsOf(RES("CodexConfigFile"))).toMatchObject({
            path: "/home/user/.secrets/codex/config.toml",
            owner: "user",
            runtimeUser: "user",
            mode: "600",
            model: "gpt-5.1-codex",
            reasoningEffort: "high",
            where: "host 'web-1' (203.0.113.10:22)",
        });
        const deps = (comp.opts.dependsOn as pulumi.Resource[]).map((r: any) => r.__pulumiType);
        expect(deps).toEqual([COMP("CredentialDirectories"), COMP("CodexAuth")]);
        // The checks run after the file is written, and again when the settings change.
        const verification = b.seen.find((s) => s.type === COMP("Verification"))!;
        expect((verification.opts.dependsOn as pulumi.Resource[]).map((r: any) => r.__pulumiType)).toContain(COMP("CodexModel"));
        expect(b.inputsOf("command:remote:Command")!.triggers.at(-1)).toBe("model=gpt-5.1-codex;effort=high");
    });

    it("manages the reasoning effort alone when only it is set", async () => {
        const b = await build({ codexReasoningEffort: "low" });
        const inputs = b.inputsOf(RES("CodexConfigFile"))!;
        expect(inputs.reasoningEffort).toBe("low");
        expect(inputs.model).toBeUndefined();
        expect(b.inputsOf("command:remote:Command")!.triggers.at(-1)).toBe("model=;effort=low");
    });
});
