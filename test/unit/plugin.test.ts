import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { PLUGIN_VERSION, type HostResourceProvider } from "../../providers/hostResource";
import { HostProvider, typeOfUrn } from "../../providers/plugin/hostProvider";
import { HOST_TYPES } from "../../plugin";
import { packageSchema, RESOURCE_TYPES } from "../../providers/plugin/schema";
import { unwrapSecrets, wrapSecrets } from "../../providers/plugin/secrets";

const SIG = "4dabf18193072939515e22adb298388d";
const secret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });
const urn = (type: string, name = "r") => `urn:pulumi:s::github-flows-host::github-flows-host:index:FlowsHost$github-flows-host:index:${type}::${name}`;

describe("the provider plugin github-flows-host", () => {
    it("asks for package.json's version, which scripts/toolchain.sh installs", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8"));
        expect(PLUGIN_VERSION).toBe(pkg.version);
    });

    it("serves every resource type of its schema, and only those", () => {
        expect(Object.keys(HOST_TYPES).sort()).toEqual([...RESOURCE_TYPES].sort());
        const schema = JSON.parse(packageSchema(PLUGIN_VERSION));
        expect(schema.name).toBe("github-flows-host");
        expect(Object.keys(schema.resources).sort()).toEqual([...RESOURCE_TYPES, "FlowsHost"].map((t) => `github-flows-host:index:${t}`).sort());
        expect(schema.resources["github-flows-host:index:RemoteFile"].inputProperties.content.secret).toBe(true);
        // FlowsHost for other languages: a component, its args as the TypeScript API has them, the credentials secret.
        const fh = schema.resources["github-flows-host:index:FlowsHost"];
        expect(fh.isComponent).toBe(true);
        expect(fh.inputProperties.port).toEqual({ type: "integer" });
        expect(fh.inputProperties.repositories).toEqual({ type: "array", items: { type: "string" } });
        expect(fh.inputProperties.githubToken.secret).toBe(true);
        expect(fh.requiredInputs).toEqual(expect.arrayContaining(["address", "user", "hostKey", "sshPrivateKey", "githubToken"]));
    });

    it("takes the type from the URN's last type, past the parents'", () => {
        expect(typeOfUrn(urn("RemoteFile"))).toBe("github-flows-host:index:RemoteFile");
    });

    it("hands plain values to the resource and gives back as secret every output whose input held a secret", async () => {
        const seen: unknown[] = [];
        const fake: HostResourceProvider<any, any> = {
            async create(inputs) {
                seen.push(inputs);
                return { id: "h:22:/p", outs: { ...inputs, sha256: "abc" } };
            },
        };
        const p = new HostProvider("0.0.0", "{}", { RemoteFile: fake });
        const r = await p.create(urn("RemoteFile"), { path: "/p", content: secret("tok"), connection: { host: "h", privateKey: secret("k") } });
        expect(seen).toEqual([{ path: "/p", content: "tok", connection: { host: "h", privateKey: "k" } }]);
        expect(r.outs).toEqual({ path: "/p", content: secret("tok"), connection: secret({ host: "h", privateKey: "k" }), sha256: "abc" });
    });

    it("refuses a type or component it does not serve, naming it", async () => {
        const p = new HostProvider("0.0.0", "{}", {});
        await expect(p.create(urn("Nope"), {})).rejects.toThrow("github-flows-host has no resource type github-flows-host:index:Nope");
        await expect(p.construct("n", "github-flows-host:index:Nope", {}, {})).rejects.toThrow("github-flows-host has no component github-flows-host:index:Nope");
    });

    it("leaves the diff to the engine for a resource without one", async () => {
        const p = new HostProvider("0.0.0", "{}", { X: { create: async () => ({ id: "", outs: {} }) } });
        expect(await p.diff("id", urn("X"), {}, {})).toEqual({});
    });

    it("unwraps nested secrets and wraps only the keys that held them", () => {
        const { plain, secretKeys } = unwrapSecrets({ a: [1, secret(2)], b: { c: secret({ d: 3 }) }, e: "x" });
        expect(plain).toEqual({ a: [1, 2], b: { c: { d: 3 } }, e: "x" });
        expect([...secretKeys].sort()).toEqual(["a", "b"]);
        expect(wrapSecrets({ a: 1, e: "x", u: undefined }, secretKeys)).toEqual({ a: secret(1), e: "x" });
    });
});
