import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const BUILD_KEY = Symbol.for("github-flows-host.build");
const registered: pulumi.runtime.MockResourceArgs[] = [];
let build: string;

beforeAll(async () => {
    build = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-dynres-"));
    await pulumi.runtime.setMocks(
        {
            newResource(a) {
                registered.push(a);
                return { id: `${a.name}-id`, state: a.inputs };
            },
            call: (a) => a.inputs,
        },
        "github-flows-host",
        "unit",
        false,
    );
});
afterAll(() => {
    delete (globalThis as Record<symbol, unknown>)[BUILD_KEY];
    fs.rmSync(build, { recursive: true, force: true });
});

/** A fresh copy of the module (its in-process map empty), as a new `pulumi` run would load it. */
async function freshModule() {
    vi.resetModules();
    return (await import("../../providers/dynamicResource")).DynamicResource;
}

const provider: pulumi.dynamic.ResourceProvider<{ a: string }, { a: string }> = {
    async create(inputs) {
        return { id: "x", outs: inputs };
    },
};

/** A DynamicResource class of `type` for `provider`, from a fresh copy of the module. */
async function resourceClass(provider: pulumi.dynamic.ResourceProvider<{ a: string }, { a: string }>, type: string) {
    const DynamicResource = await freshModule();
    return class extends DynamicResource {
        constructor(name: string) {
            super(provider, type, name, { a: "1" });
        }
    };
}

async function registeredProvider(name: string): Promise<string> {
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 100 && !registered.some((r) => r.name === name); i++) await new Promise((r) => setTimeout(r, 20));
    const r = registered.find((x) => x.name === name);
    if (!r) throw new Error(`${name} was not registered`);
    return r.inputs.__provider as string;
}

describe("DynamicResource: the provider's serialized code kept in the build", () => {
    it("registers the type token and inputs of pulumi.dynamic.Resource, serializing as it does, and keeps the text", async () => {
        (globalThis as Record<symbol, unknown>)[BUILD_KEY] = build;
        const Probe = await resourceClass(provider, "Probe");
        new Probe("first");
        const text = await registeredProvider("first");
        expect(registered.find((r) => r.name === "first")?.type).toBe("pulumi-nodejs:dynamic/github-flows-host:Probe");
        const want = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        expect(text).toBe(want.text);
        expect(JSON.parse(fs.readFileSync(path.join(build, "serialized/Probe.json"), "utf8"))).toEqual({ text: want.text, containsSecrets: false });
    });

    it("a later run of the same build reads the text instead of serializing", async () => {
        fs.writeFileSync(path.join(build, "serialized/Probe.json"), JSON.stringify({ text: "KEPT", containsSecrets: false }));
        const Probe = await resourceClass(provider, "Probe");
        new Probe("second");
        expect(await registeredProvider("second")).toBe("KEPT");
    });

    it("never writes down a provider that captured a secret", async () => {
        const captured = pulumi.secret("s3cr3t-value");
        const leaky: pulumi.dynamic.ResourceProvider<{ a: string }, { a: string }> = {
            async create(inputs) {
                return { id: String(captured), outs: inputs };
            },
        };
        const Leaky = await resourceClass(leaky, "Leaky");
        expect((await pulumi.runtime.serializeFunction(() => leaky, { allowSecrets: true })).containsSecrets).toBe(true);
        new Leaky("third");
        await registeredProvider("third");
        expect(fs.existsSync(path.join(build, "serialized/Leaky.json"))).toBe(false);
    });

    it("outside a build (ts-node, tests) serializes every run and writes nothing", async () => {
        delete (globalThis as Record<symbol, unknown>)[BUILD_KEY];
        const Other = await resourceClass(provider, "Other");
        new Other("fourth");
        expect(await registeredProvider("fourth")).toContain("create");
        expect(fs.existsSync(path.join(build, "serialized/Other.json"))).toBe(false);
    });
});
