import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse, stringify } from "@decimalturn/toml-patch";
import {
    CodexConfigSyntaxError,
    isCodexConfigSyntaxError,
    CONFIG_EXIT,
    mergeCodexConfig,
    parseCodexConfig,
    parseReadOutput,
    readCodexConfigScript,
    settingsIn,
    settingsMatch,
    writeCodexConfigScript,
} from "../../lib/codexConfig";
import { ConfigError, parseConfig } from "../../lib/config";
import { launch } from "../../lib/shell";
import { rawConfig } from "../fixtures/config";

// lib/codexConfig.ts: the document's "Choose and Persist Codex Model" as an edit of <codexDir>/config.toml.

/** What an operator and Codex leave in config.toml: comments, keys, a table, an array of tables, a float. */
const OPERATOR = [
    "# chosen by the operator",
    'approval_policy = "never" # agents run unattended',
    "tool_output_token_limit = 12000",
    "ratio = 1.0",
    "",
    '[projects."/workspace"]',
    'trust_level = "trusted"',
    "",
    "[mcp_servers.docs]",
    'command = "docs-mcp"',
    'env = { DOCS_TOKEN = "do-not-print-me" }',
    "",
    "[[notify]]",
    'program = "a"',
    "",
].join("\n");

/** The top-level keys of a TOML text, in order, and whether each comes before the first table header. */
function topLevelKeysBeforeTables(text: string): string[] {
    const out: string[] = [];
    for (const line of text.split(/\r?\n/)) {
        if (/^\s*\[/.test(line)) break;
        const m = /^\s*([A-Za-z0-9_-]+)\s*=/.exec(line);
        if (m) out.push(m[1]);
    }
    return out;
}

describe("mergeCodexConfig", () => {
    it("writes model and model_reasoning_effort at the top level, before the first table, keeping every other key and table", () => {
        const out = mergeCodexConfig(OPERATOR, { model: "gpt-5.1-codex", reasoningEffort: "high" });
        const doc = parseCodexConfig(out);
        expect(doc.model).toBe("gpt-5.1-codex");
        expect(doc.model_reasoning_effort).toBe("high");
        expect(topLevelKeysBeforeTables(out)).toEqual(["approval_policy", "tool_output_token_limit", "ratio", "model", "model_reasoning_effort"]);
        const before = parseCodexConfig(OPERATOR);
        expect({ ...doc, model: undefined, model_reasoning_effort: undefined }).toEqual({ ...before, model: undefined, model_reasoning_effort: undefined });
        expect(JSON.parse(JSON.stringify(doc.projects))).toEqual({ "/workspace": { trust_level: "trusted" } });
    });

    it("keeps comments and formats: the file is edited in place, not re-serialized", () => {
        const out = mergeCodexConfig(OPERATOR, { model: "gpt-5.1-codex" });
        expect(out).toContain("# chosen by the operator\n");
        expect(out).toContain('approval_policy = "never" # agents run unattended\n');
        expect(out).toContain("ratio = 1.0\n");
        expect(out.replace('model = "gpt-5.1-codex"\n', "")).toBe(OPERATOR);
    });

    it("replaces a model Codex's /model wrote, in place, and leaves the reasoning effort alone when none is configured", () => {
        const codexWrote = 'model = "o3" # picked in /model\nmodel_reasoning_effort = "low"\n\n[tui]\nnotifications = true\n';
        const out = mergeCodexConfig(codexWrote, { model: "gpt-5.1-codex" });
        expect(out).toBe('model = "gpt-5.1-codex" # picked in /model\nmodel_reasoning_effort = "low"\n\n[tui]\nnotifications = true\n');
        expect(settingsIn(out)).toEqual({ model: "gpt-5.1-codex", reasoningEffort: "low" });
    });

    it("puts a model at the top level even when a table holds one (a Codex profile)", () => {
        const out = mergeCodexConfig('[profiles.fast]\nmodel = "o4-mini"\n', { model: "gpt-5.1-codex" });
        expect(topLevelKeysBeforeTables(out)).toEqual(["model"]);
        expect((parseCodexConfig(out).profiles as any).fast.model).toBe("o4-mini");
    });

    it("creates the file's text when there is none, ending in a line break", () => {
        expect(mergeCodexConfig(undefined, { model: "gpt-5.1-codex", reasoningEffort: "medium" })).toBe('model = "gpt-5.1-codex"\nmodel_reasoning_effort = "medium"\n');
        expect(mergeCodexConfig(undefined, { reasoningEffort: "xhigh" })).toBe('model_reasoning_effort = "xhigh"\n');
    });

    it("is idempotent, and returns a file that already matches byte for byte", () => {
        for (const text of [OPERATOR, undefined, 'model="x"\n', "a = 1\r\n[t]\r\nb = 2\r\n"]) {
            const once = mergeCodexConfig(text, { model: "gpt-5.1-codex", reasoningEffort: "high" });
            expect(mergeCodexConfig(once, { model: "gpt-5.1-codex", reasoningEffort: "high" })).toBe(once);
            expect(settingsMatch(once, { model: "gpt-5.1-codex", reasoningEffort: "high" })).toBe(true);
        }
        const same = 'model = "m"   # spaced\n';
        expect(mergeCodexConfig(same, { model: "m" })).toBe(same);
    });

    it("refuses text that is not TOML with line and column, never quoting the file", () => {
        for (const bad of ['model = "unterminated\n', "[[[\n", 'model = "a"\nmodel = "b"\n', 'k = { DOCS_TOKEN = "do-not-print-me" \n']) {
            let err: unknown;
            try {
                mergeCodexConfig(bad, { model: "m" });
            } catch (e) {
                err = e;
            }
            expect(isCodexConfigSyntaxError(err), bad).toBe(true);
            const e = err as CodexConfigSyntaxError;
            expect(e.line).toBeGreaterThanOrEqual(1);
            expect(e.message).toMatch(/^line \d+, column \d+: \S/);
            expect(e.message).not.toContain("do-not-print-me");
            expect(e.message).not.toContain("unterminated");
        }
    });

    it("keeps any document's keys and values, idempotently (property)", () => {
        const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((k) => !["model", "model_reasoning_effort"].includes(k));
        const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean());
        const doc = fc.record({ top: fc.dictionary(key, scalar, { maxKeys: 5 }), tables: fc.dictionary(key, fc.dictionary(key, scalar, { maxKeys: 3 }), { maxKeys: 3 }) });
        fc.assert(
            fc.property(doc, fc.constantFrom("gpt-5.1-codex", "o3", "llama3.1:8b"), fc.constantFrom(undefined, "low", "xhigh" as const), (d, model, effort) => {
                const tables = Object.fromEntries(Object.entries(d.tables).filter(([k]) => !(k in d.top)));
                const text = stringify({ ...d.top, ...tables });
                const out = mergeCodexConfig(text, { model, reasoningEffort: effort });
                const want = { ...parse(text), model, ...(effort ? { model_reasoning_effort: effort } : {}) };
                expect(JSON.parse(JSON.stringify(parseCodexConfig(out)))).toEqual(JSON.parse(JSON.stringify(want)));
                expect(mergeCodexConfig(out, { model, reasoningEffort: effort })).toBe(out);
            }),
            { numRuns: 150 },
        );
    });
});

describe("codexModel and codexReasoningEffort in the config schema", () => {
    const problems = (over: Record<string, unknown>) => {
        try {
            parseConfig(rawConfig(over));
            return [];
        } catch (e) {
            return (e as ConfigError).problems;
        }
    };

    it("are optional, and \"\" (Pulumi.yaml's default) means unset", () => {
        for (const c of [parseConfig(rawConfig()), parseConfig(rawConfig({ codexModel: "", codexReasoningEffort: "" }))]) {
            expect([c.codexModel, c.codexReasoningEffort]).toEqual([undefined, undefined]);
        }
    });

    it("accept model names as Codex and its providers spell them, and Codex's effort values", () => {
        for (const m of ["gpt-5.1-codex", "o3", "gpt-5.1-codex-max", "llama3.1:8b", "openai/gpt-oss-20b", "claude@2026+x"]) {
            expect(parseConfig(rawConfig({ codexModel: m })).codexModel).toBe(m);
        }
        for (const e of ["none", "minimal", "low", "medium", "high", "xhigh"]) expect(parseConfig(rawConfig({ codexReasoningEffort: e })).codexReasoningEffort).toBe(e);
    });

    it("refuse bad values naming the key", () => {
        for (const m of ["gpt 5", 'gpt-5"\n[x]', "gpt-5\n", "-gpt", "x".repeat(129), "$(id)"]) {
            expect(problems({ codexModel: m }), m).toEqual([expect.stringMatching(/^github-flows-host:codexModel: must be a model name such as 'gpt-5\.1-codex'/)]);
        }
        expect(problems({ codexModel: 5 })).toEqual([expect.stringMatching(/^github-flows-host:codexModel: must be a model name/)]);
        for (const e of ["HIGH", "max", "extra-high", 3]) {
            expect(problems({ codexReasoningEffort: e }), String(e)).toEqual(["github-flows-host:codexReasoningEffort: must be one of none, minimal, low, medium, high, xhigh"]);
        }
    });
});

/**
 * The read and write scripts run for real as root with `nobody` as the runtime user (as test/unit/hostfs.test.ts
 * does): a tree under a root-owned directory outside /tmp.
 */
describe("config.toml read and write scripts, as root with nobody as the runtime user", () => {
    const ADV = "nobody";
    let uid = 0;
    let gid = 0;
    let base: string;
    let codexDir: string;
    let file: string;

    const run = (script: string, stdin = "") => {
        const l = launch(script, stdin);
        const r = spawnSync("sh", ["-c", l.command], { input: l.input });
        return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    const asNobody = (script: string) => {
        const r = spawnSync("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "sh", "-c", script]);
        expect(r.status, r.stderr.toString()).toBe(0);
    };
    const sha = (s: string) => require("crypto").createHash("sha256").update(s).digest("hex");

    beforeAll(() => {
        if (process.getuid?.() !== 0) throw new Error("these tests drop privileges from root to 'nobody': run them as root (npm test does)");
        const ent = spawnSync("getent", ["passwd", ADV]).stdout.toString().split(":");
        [uid, gid] = [Number(ent[2]), Number(ent[3])];
        base = fs.mkdtempSync("/var/lib/gfh-unit-codexconfig-");
        fs.chmodSync(base, 0o755);
    });
    afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
    beforeEach(() => {
        const home = fs.mkdtempSync(path.join(base, "home-"));
        fs.chmodSync(home, 0o755);
        fs.chownSync(home, uid, gid);
        codexDir = path.join(home, "codex");
        fs.mkdirSync(codexDir, { mode: 0o700 });
        fs.chownSync(codexDir, uid, gid);
        file = path.join(codexDir, "config.toml");
    });

    it("reads absent, writes 0600 as the runtime user, reads back mode, owner, hash and bytes", () => {
        expect(parseReadOutput(run(readCodexConfigScript(file, ADV)).stdout)).toEqual({ present: false });
        const text = mergeCodexConfig(undefined, { model: "gpt-5.1-codex" });
        const w = run(writeCodexConfigScript({ path: file, owner: ADV, mode: "600", expected: "absent" }), text);
        expect(w.code, w.stderr).toBe(0);
        const st = fs.statSync(file);
        expect([(st.mode & 0o777).toString(8), st.uid]).toEqual(["600", uid]);
        expect(parseReadOutput(run(readCodexConfigScript(file, ADV)).stdout)).toEqual({ present: true, mode: "600", owner: ADV, sha256: sha(text), text });
    });

    it("refuses to write over a file that changed since it was read, leaving it as it is", () => {
        asNobody(`printf 'model = "o3"\\n' > '${file}'`);
        const w = run(writeCodexConfigScript({ path: file, owner: ADV, mode: "600", expected: sha('model = "old"\n') }), 'model = "new"\n');
        expect(w.code).toBe(CONFIG_EXIT.changed);
        expect(w.stderr).toContain(`${file} changed while it was being updated`);
        expect(fs.readFileSync(file, "utf8")).toBe('model = "o3"\n');
        expect(fs.readdirSync(codexDir)).toEqual(["config.toml"]);
    });

    it("refuses a link planted at config.toml or at the Codex directory, and never reads through it", () => {
        fs.writeFileSync(path.join(base, "root-only"), "secret = 1\n", { mode: 0o600 });
        asNobody(`ln -s '${path.join(base, "root-only")}' '${file}'`);
        const r = run(readCodexConfigScript(file, ADV));
        expect(r.code).toBe(CONFIG_EXIT.link);
        expect(r.stderr).toContain(`${file} is a symlink to ${path.join(base, "root-only")}: refusing`);
        expect(r.stdout).not.toContain("secret");
        const w = run(writeCodexConfigScript({ path: file, owner: ADV, mode: "600", expected: "link" }), 'model = "m"\n');
        expect(w.code).not.toBe(0);
        expect(fs.readFileSync(path.join(base, "root-only"), "utf8")).toBe("secret = 1\n");

        const elsewhere = fs.mkdtempSync(path.join(base, "elsewhere-"));
        fs.writeFileSync(path.join(elsewhere, "config.toml"), "x = 1\n");
        fs.rmSync(codexDir, { recursive: true });
        asNobody(`ln -s '${elsewhere}' '${codexDir}'`);
        const d = run(readCodexConfigScript(file, ADV));
        expect(d.code).not.toBe(0);
        expect(d.stderr).toContain(`${codexDir} is a symlink`);
    });

    it("names a config.toml the runtime user cannot read", () => {
        fs.writeFileSync(file, 'model = "m"\n', { mode: 0o600 });
        const r = run(readCodexConfigScript(file, ADV));
        expect(r.code).toBe(CONFIG_EXIT.unreadable);
        expect(r.stderr).toContain(`${file} cannot be read by ${ADV} (owner root, mode 600)`);
    });
});
