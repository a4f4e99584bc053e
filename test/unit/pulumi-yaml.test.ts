import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { ConfigError, configSchema, parseConfig, PER_HOST_KEYS, SECRET_KEYS } from "../../lib/config";
import { HOST_KEY, rawConfig } from "../fixtures/config";

/** Pulumi.yaml must describe exactly the schema's keys, with the schema's defaults: the schema decides. */
const project = yaml.load(fs.readFileSync(path.join(__dirname, "../../Pulumi.yaml"), "utf8")) as {
    name: string;
    main?: string;
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

    it("describes every key a hosts entry may set for itself, and the schema accepts exactly those", () => {
        const text = project.config.hosts.description ?? "";
        for (const k of PER_HOST_KEYS) expect(text, k).toMatch(new RegExp(`\\b${k}\\b`));
        const hostShape = Object.keys((configSchema.in as unknown as { shape: { hosts: { element: { shape: Record<string, unknown> } } } }).shape.hosts.element.shape);
        expect(hostShape.filter((k) => schemaKeys.includes(k)).sort()).toEqual([...PER_HOST_KEYS].sort());
    });

    it("has no refresh pass: it would configure the docker provider before the program starts its SSH agent", () => {
        // Drift shows anyway: every resource that owns host state reads the host in its diff.
        expect(project.options?.refresh).toBeUndefined();
    });
});

describe("two entry points: the stack program and the package", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8"));

    it("runs the stack program through boot/program.js (Pulumi.yaml main), whatever package.json's entry is", () => {
        // Without `main` here, the engine would take package.json's `exports["."]`: the library, which exports no stack.
        expect(project.main).toBe("boot/program.js");
        expect(fs.existsSync(path.join(__dirname, "../..", project.main!))).toBe(true);
    });

    it("publishes the library: not private, exports and types in dist/, the shipped prompt included", () => {
        expect(pkg.private).toBeUndefined();
        expect(pkg.exports["."]).toEqual({ types: "./dist/api.d.ts", default: "./dist/api.js" });
        expect(pkg.types).toBe("dist/api.d.ts");
        // The plugin's entry (dist/plugin.js) is reached by path.
        expect(pkg.exports["./dist/*"]).toBe("./dist/*");
        expect(pkg.files).toEqual(expect.arrayContaining(["dist/", "prompts/"]));
        expect(pkg.scripts.prepack).toContain("tsc -p tsconfig.lib.json");
        const lib = JSON.parse(fs.readFileSync(path.join(__dirname, "../../tsconfig.lib.json"), "utf8").replace(/^\s*\/\/.*$/gm, ""));
        // The library, and the provider plugin's entry for programs that install it from the package.
        expect(lib.files).toEqual(["api.ts", "plugin.ts"]);
        expect(lib.compilerOptions).toMatchObject({ outDir: "dist", declaration: true, noCheck: false });
    });
});

describe("Pulumi.prod.yaml", () => {
    const prod = yaml.load(fs.readFileSync(path.join(__dirname, "../../Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
    const prefix = `${project.name}:`;
    const raw = Object.fromEntries(Object.entries(prod.config).map(([k, v]) => [k.slice(prefix.length), v]));
    const secrets = Object.keys(project.config).filter((k) => project.config[k].secret || k === "openaiApiKey");
    /** The keys the README's production walk adds with commands (scripts/pin-host-key.sh, `config set --path`). */
    const ADDED_BY_THE_WALK = ["hosts", "repositories"];
    const fixtures = rawConfig();
    const withSecrets = { sshPrivateKey: fixtures.sshPrivateKey, githubToken: fixtures.githubToken };

    it("holds every non-secret key except the two the walk adds", () => {
        expect(Object.keys(raw).sort()).toEqual(schemaKeys.filter((k) => !secrets.includes(k) && !ADDED_BY_THE_WALK.includes(k)));
    });

    it("leaves the five paths unset, so they follow the runtime user's home on each host", () => {
        for (const k of ["appDir", "workspaceDir", "secretsDir", "tokenFile", "codexDir"]) expect(raw[k], k).toBe("");
        const walked = { ...raw, ...withSecrets, runtimeUser: "flows", hosts: [{ name: "flows-1", address: "203.0.113.10", user: "root", hostKey: HOST_KEY }], repositories: ["acme/webshop"] };
        const cfg = parseConfig(walked);
        expect([cfg.appDir, cfg.workspaceDir, cfg.secretsDir, cfg.tokenFile, cfg.codexDir]).toEqual([
            "/home/flows/app/github-flows",
            "/home/flows/app/github-flows/var/work",
            "/home/flows/.secrets",
            "/home/flows/.secrets/gh-token",
            "/home/flows/.secrets/codex",
        ]);
        expect(cfg.given).toEqual({});
    });

    it("is refused as shipped, naming the missing keys: no placeholder host or repository can reach `up`", () => {
        let problems: string[] = [];
        try {
            parseConfig({ ...raw, ...withSecrets });
        } catch (e) {
            problems = (e as ConfigError).problems;
        }
        expect(problems.map((p) => p.split(":").slice(0, 2).join(":")).sort()).toEqual(["github-flows-host:hosts", "github-flows-host:repositories"]);
    });

    it("is a valid stack once the walk has added hosts and repositories and the secrets are set", () => {
        const walked = {
            ...raw,
            ...withSecrets,
            hosts: [{ name: "flows-1", address: "203.0.113.10", port: 22, user: "root", hostKey: HOST_KEY }],
            repositories: ["acme/webshop", "acme/billing"],
            imagePullFrom: "registry.example.com/github-flows/agent-codex:2026-11-20",
        };
        const cfg = parseConfig(walked);
        expect(cfg.hosts.map((h) => h.name)).toEqual(["flows-1"]);
        expect(cfg.imageSource).toBe("docker-provider");
        expect(cfg.remoteCommands).toBe("pulumi-command");
        expect(fs.existsSync(path.join(__dirname, "../..", cfg.profile.promptFile))).toBe(true);
    });
});
