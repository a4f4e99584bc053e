import * as pulumi from "@pulumi/pulumi";
import crypto = require("crypto");
import {
    CodexSettings,
    CONFIG_EXIT,
    isCodexConfigSyntaxError,
    mergeCodexConfig,
    parseReadOutput,
    ReadConfig,
    readCodexConfigScript,
    settingsIn,
    settingsMatch,
    writeCodexConfigScript,
} from "../lib/codexConfig";
import { exec } from "../lib/ssh";
import { PathArgs, pathProvider, PathState, runAs, SECRET_OUTPUTS } from "./connection";
import { HostResource } from "./hostResource";

export interface CodexConfigFileArgs extends PathArgs {
    /** `model` at the top level of config.toml; unset: left as the file has it. */
    model?: pulumi.Input<string>;
    /** `model_reasoning_effort` at the top level; unset: left as the file has it. */
    reasoningEffort?: pulumi.Input<string>;
    /** Where, for messages: `host 'web-1' (203.0.113.10:22)`. */
    where: pulumi.Input<string>;
}

interface State extends PathState, CodexSettings {
    where: string;
    /** `model` seen at the top level on the host after the last read or write. */
    seenModel?: string;
    /** `model_reasoning_effort` seen at the top level on the host after the last read or write. */
    seenReasoningEffort?: string;
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");

const settings = (s: State): CodexSettings => ({ model: s.model, reasoningEffort: s.reasoningEffort as CodexSettings["reasoningEffort"] });

/** Reads config.toml as the runtime user. Its text stays in this process: it may hold an MCP server's credentials. */
async function readFile(s: State): Promise<ReadConfig> {
    const r = await exec(s.connection, readCodexConfigScript(s.path, runAs(s)));
    // Never the stdout in a message: it is the file's text.
    if (r.code !== 0) throw new Error(`reading ${s.path} on ${s.where} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return parseReadOutput(r.stdout);
}

/** The file's top-level settings; an unparsable file fails naming it and the host, before anything is changed. */
function seenSettings(s: State, text: string | undefined): { model?: unknown; reasoningEffort?: unknown } {
    try {
        return settingsIn(text);
    } catch (e) {
        if (!isCodexConfigSyntaxError(e)) throw e;
        throw new Error(
            `${s.path} on ${s.where} is not valid TOML (${e.message}), so Codex cannot read it either. ` +
                `Nothing was changed: fix or remove the file by hand as ${runAs(s)}, then run pulumi up again.`,
        );
    }
}

const asString = (v: unknown): string | undefined => (typeof v === "string" ? v : v === undefined ? undefined : JSON.stringify(v));

async function observe(s: State): Promise<Partial<State> | undefined> {
    const f = await readFile(s);
    if (!f.present) return undefined;
    const seen = seenSettings(s, f.text);
    return { mode: f.mode, owner: f.owner, seenModel: asString(seen.model), seenReasoningEffort: asString(seen.reasoningEffort) };
}

/**
 * Merge and write, as a compare-and-swap: Codex (`/model`, a trusted project) may rewrite the file between the read
 * and the write, and its change must not be lost; a file that keeps changing fails after three tries.
 */
async function apply(s: State): Promise<State & { found: boolean }> {
    for (let attempt = 1; ; attempt++) {
        const f = await readFile(s);
        const text = f.present ? f.text : undefined;
        const seen = seenSettings(s, text);
        // A file that already matches is not rewritten (a host set up by hand keeps its inode and mtime).
        if (f.present && f.mode === s.mode && f.owner === s.owner && settingsMatch(f.text, settings(s))) {
            return { ...s, found: true, seenModel: asString(seen.model), seenReasoningEffort: asString(seen.reasoningEffort) };
        }
        // A hash that does not match the bytes received: the file changed during the read, or is not UTF-8 text.
        const expected = f.present ? (sha256(f.text) === f.sha256 ? f.sha256 : "unmatched") : "absent";
        const merged = mergeCodexConfig(text, settings(s));
        const r = await exec(s.connection, writeCodexConfigScript({ path: s.path, owner: s.owner, mode: s.mode, expected }), merged);
        if (r.code === 0) {
            const now = settingsIn(merged);
            return { ...s, found: f.present, seenModel: asString(now.model), seenReasoningEffort: asString(now.reasoningEffort) };
        }
        if (r.code !== CONFIG_EXIT.changed || attempt >= 3) {
            const why = r.code === CONFIG_EXIT.changed && expected === "unmatched" ? " (is it UTF-8 text?)" : "";
            throw new Error(`writing ${s.path} on ${s.where} failed (exit ${r.code}): ${r.stderr.trim()}${why}`);
        }
    }
}

/** Exported for the unit tests. */
export const codexConfigFileProvider = pathProvider<State>({
    observe,
    apply,
    drifted: (seen, _olds, news) =>
        seen.owner !== news.owner ||
        seen.mode !== news.mode ||
        (news.model !== undefined && seen.seenModel !== news.model) ||
        (news.reasoningEffort !== undefined && seen.seenReasoningEffort !== news.reasoningEffort),
    // Left on the host: the file holds the operator's and Codex's other keys, and Codex keeps using the model.
    async remove() {},
});

/**
 * The model settings at the top level of Codex's config.toml, written in place with every other key kept; every diff
 * reads the file, so a model changed on the host (Codex's `/model`) shows in `pulumi preview`. Never deleted.
 */
export class CodexConfigFile extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** `model` at the top level of the file on the host. */
    declare public readonly seenModel: pulumi.Output<string | undefined>;
    /** `model_reasoning_effort` at the top level of the file on the host. */
    declare public readonly seenReasoningEffort: pulumi.Output<string | undefined>;

    constructor(name: string, args: CodexConfigFileArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "CodexConfigFile",
            name,
            { ...args, seenModel: undefined, seenReasoningEffort: undefined },
            { ...opts, additionalSecretOutputs: SECRET_OUTPUTS },
        );
    }
}
