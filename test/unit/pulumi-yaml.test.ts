import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configSchema, parseConfig, SECRET_KEYS } from "../../lib/config";
import { rawConfig } from "../fixtures/config";

/** Pulumi.yaml must describe exactly the schema's keys, with the schema's defaults: the schema decides. */
const project = yaml.load(fs.readFileSync(path.join(__dirname, "../../Pulumi.yaml"), "utf8")) as {
    name: string;
    options?: { refresh?: string };
    config: Record<string, { type?: string; default?: unknown; secret?: boolean; description?: string }>;
};
const schemaKeys = Object.keys((configSchema.in as unknown as { shape: Record<string, unknown> }).shape).sort();
const REQUIRED = ["hosts", "sshPrivateKey", "githubToken", "repositories"];

describe("Pulumi.yaml and the config schema agree", () => {
    it("declares every schema key and no other, each with a description", () => {
        expect(Object.keys(project.config).sort()).toEqual(schemaKeys);
        for (const [k, v] of Object.entries(project.config)) expect(v.description, k).toBeTruthy();
    });

    it("leaves exactly the required keys without a default", () => {
        const noDefault = Object.entries(project.config).filter(([, v]) => v.default === undefined).map(([k]) => k);
        expect(noDefault.sort()).toEqual([...REQUIRED].sort());
    });

    it("marks the required credential keys secret (the optional one is enforced by the program)", () => {
        const secret = Object.entries(project.config).filter(([, v]) => v.secret).map(([k]) => k);
        expect(secret.sort()).toEqual(SECRET_KEYS.filter((k) => REQUIRED.includes(k)).sort());
    });

    it("gives each key the default the schema gives it", () => {
        const required = rawConfig();
        const onlyRequired = Object.fromEntries(REQUIRED.map((k) => [k, required[k]]));
        const fromSchema = parseConfig(onlyRequired) as Record<string, unknown>;
        const withYamlDefaults = parseConfig({
            ...Object.fromEntries(Object.entries(project.config).filter(([, v]) => v.default !== undefined).map(([k, v]) => [k, v.default])),
            ...onlyRequired,
        }) as Record<string, unknown>;
        expect(withYamlDefaults).toEqual(fromSchema);
    });

    it("has no refresh pass: it would configure the docker provider before the program starts its SSH agent", () => {
        // Drift shows anyway: every resource that owns host state reads the host in its diff.
        expect(project.options?.refresh).toBeUndefined();
    });
});

describe("Pulumi.prod.yaml", () => {
    it("is a valid stack: every non-secret key, accepted by the schema once the secrets are set", () => {
        const prod = yaml.load(fs.readFileSync(path.join(__dirname, "../../Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
        const prefix = `${project.name}:`;
        const raw = Object.fromEntries(Object.entries(prod.config).map(([k, v]) => [k.slice(prefix.length), v]));
        const secrets = Object.keys(project.config).filter((k) => project.config[k].secret || k === "openaiApiKey");
        expect(Object.keys(raw).sort()).toEqual(schemaKeys.filter((k) => !secrets.includes(k)));
        const fixtures = rawConfig();
        const cfg = parseConfig({ ...raw, sshPrivateKey: fixtures.sshPrivateKey, githubToken: fixtures.githubToken });
        expect(cfg.hosts.map((h) => h.name)).toEqual(["flows-1", "flows-2"]);
        expect(fs.existsSync(path.join(__dirname, "../..", cfg.profile.promptFile))).toBe(true);
    });
});
