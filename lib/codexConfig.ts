import type * as TomlPatch from "@decimalturn/toml-patch";
import { refuseLinksLine, runtimeUserPrelude, writeFileScript } from "./hostfs";
import { quote } from "./quote";
import type { ReasoningEffort } from "./config";

/**
 * The setup document's step "Choose and Persist Codex Model": Codex keeps the model chosen with `/model` in
 * `<codexDir>/config.toml`, at the top level (`model`, `model_reasoning_effort`). The program writes the configured
 * values there and keeps everything else the operator or Codex wrote, comments and formatting included: the file is
 * edited in place (@decimalturn/toml-patch), as Codex's own writer (toml_edit) does, never re-serialized.
 */

/**
 * The TOML library, required when first used (an ES module, which Node.js 22.12+ loads with `require`): only the
 * Codex model steps need it.
 */
function toml(): typeof TomlPatch {
    return require("@decimalturn/toml-patch");
}

/** What the program keeps in config.toml; an unset value is left as the file has it. */
export interface CodexSettings {
    model?: string;
    reasoningEffort?: ReasoningEffort;
}

/** The TOML key Codex reads for each setting. */
export const CODEX_KEYS = { model: "model", reasoningEffort: "model_reasoning_effort" } as const;

/** The file name inside the Codex directory. */
export const CODEX_CONFIG_FILE = "config.toml";

/**
 * config.toml is not TOML. The message names line and column, never the text (the file may hold an MCP server's
 * key). A plain Error with fields, not a subclass.
 */
export interface CodexConfigSyntaxError extends Error {
    name: "CodexConfigSyntaxError";
    line?: number;
    column?: number;
    reason: string;
}

export function isCodexConfigSyntaxError(e: unknown): e is CodexConfigSyntaxError {
    return typeof e === "object" && e !== null && (e as { name?: unknown }).name === "CodexConfigSyntaxError";
}

/** Parses config.toml text; throws a CodexConfigSyntaxError. */
export function parseCodexConfig(text: string): Record<string, unknown> {
    try {
        return toml().parse(text) as Record<string, unknown>;
    } catch (e) {
        const err = e as { line?: unknown; column?: unknown; message?: unknown };
        // The library's message quotes the offending line above a caret; only its last line (the reason) is kept.
        const reason = String(err.message ?? e).trim().split("\n").at(-1) || "not valid TOML";
        const line = typeof err.line === "number" ? err.line : undefined;
        const column = typeof err.column === "number" ? err.column + 1 : undefined;
        const where = line !== undefined ? `line ${line}, column ${column}: ` : "";
        throw Object.assign(new Error(`${where}${reason}`), { name: "CodexConfigSyntaxError" as const, line, column, reason });
    }
}

/** The settings as config.toml has them at its top level (`undefined` when absent; any TOML value otherwise). */
export function settingsIn(text: string | undefined): { model?: unknown; reasoningEffort?: unknown } {
    if (text === undefined) return {};
    const doc = parseCodexConfig(text);
    const own = (k: string) => (Object.prototype.hasOwnProperty.call(doc, k) ? doc[k] : undefined);
    return { model: own(CODEX_KEYS.model), reasoningEffort: own(CODEX_KEYS.reasoningEffort) };
}

/** Whether config.toml (`undefined`: absent) already has every configured setting at its top level. */
export function settingsMatch(text: string | undefined, s: CodexSettings): boolean {
    const seen = settingsIn(text);
    return (s.model === undefined || seen.model === s.model) && (s.reasoningEffort === undefined || seen.reasoningEffort === s.reasoningEffort);
}

/**
 * config.toml with the configured settings at its top level (before the first table) and every other key, table,
 * comment and format kept; `undefined` text is a file that does not exist yet. Throws CodexConfigSyntaxError.
 */
export function mergeCodexConfig(text: string | undefined, s: CodexSettings): string {
    const old = text ?? "";
    const doc = parseCodexConfig(old);
    const updated: Record<string, unknown> = { ...doc };
    if (s.model !== undefined) updated[CODEX_KEYS.model] = s.model;
    if (s.reasoningEffort !== undefined) updated[CODEX_KEYS.reasoningEffort] = s.reasoningEffort;
    if (settingsMatch(old, s) && text !== undefined) return old;
    const out = toml().patch(old, updated);
    return out.endsWith("\n") ? out : `${out}\n`;
}

/** Exit statuses of the scripts below (hostfs's EXIT uses 20-25). */
export const CONFIG_EXIT = { link: 22, notFile: 23, changed: 26, unreadable: 27 } as const;

/** Reads the file as the runtime user: its stat and hash on the first line, then its bytes. */
const READ_FILE = [
    "p=$1",
    `if [ -L "$p" ]; then printf '%s is a symlink to %s: refusing (a real file is expected there)\\n' "$p" "$(readlink -- "$p")" >&2; exit ${CONFIG_EXIT.link}; fi`,
    'if [ ! -e "$p" ]; then echo absent; exit 0; fi',
    `if [ ! -f "$p" ]; then printf '%s is not a regular file\\n' "$p" >&2; exit ${CONFIG_EXIT.notFile}; fi`,
    `if [ ! -r "$p" ]; then printf '%s cannot be read by %s (owner %s, mode %s): chown it to %s by hand\\n' "$p" "$(id -un)" "$(stat -c %U -- "$p")" "$(stat -c %a -- "$p")" "$(id -un)" >&2; exit ${CONFIG_EXIT.unreadable}; fi`,
    `printf 'present %s %s %s\\n' "$(stat -c %a -- "$p")" "$(stat -c %U -- "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"`,
    'exec cat -- "$p"',
].join("\n");

/**
 * Prints `absent`, or `present <mode> <owner> <sha256>` and then the file's bytes; read as the runtime user, links
 * along the Codex directory and at the file refused (the runtime user may have planted them).
 */
export function readCodexConfigScript(path: string, user: string): string {
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    return ["set -u", runtimeUserPrelude(user), `${refuseLinksLine(user, dir)} || exit`, `asuser sh -c ${quote(READ_FILE)} sh ${quote(path)}`].join("\n");
}

/** `sh -c UNCHANGED sh PATH SHA`: fails with `changed` unless PATH still has the hash read before (or is still absent). */
const UNCHANGED = [
    "p=$1",
    'if [ -L "$p" ]; then cur=link; elif [ -f "$p" ]; then cur=$(sha256sum < "$p" | cut -d" " -f1); else cur=absent; fi',
    `[ "$cur" = "$2" ] || { printf '%s changed while it was being updated\\n' "$p" >&2; exit ${CONFIG_EXIT.changed}; }`,
].join("\n");

export interface CodexConfigWrite {
    path: string;
    /** The runtime user: it owns the file, and the operations run as it. */
    owner: string;
    mode: string;
    /** sha256 of the bytes the new content was merged from, or `absent`: Codex may rewrite the file meanwhile. */
    expected: string;
}

/** Replaces the file atomically with stdin (hostfs's writer, as the runtime user), unless it changed since it was read. */
export function writeCodexConfigScript(w: CodexConfigWrite): string {
    return [
        "set -eu",
        runtimeUserPrelude(w.owner),
        `asuser sh -c ${quote(UNCHANGED)} sh ${quote(w.path)} ${quote(w.expected)}`,
        writeFileScript({ path: w.path, owner: w.owner, mode: w.mode }),
    ].join("\n");
}

/** What `readCodexConfigScript` printed. */
export type ReadConfig = { present: false } | { present: true; mode: string; owner: string; sha256: string; text: string };

export function parseReadOutput(stdout: string): ReadConfig {
    if (stdout.trim() === "absent") return { present: false };
    const nl = stdout.indexOf("\n");
    const m = /^present (\d+) (\S+) ([0-9a-f]{64})$/.exec(nl < 0 ? stdout : stdout.slice(0, nl));
    if (!m) throw new Error("unexpected output while reading config.toml");
    return { present: true, mode: m[1], owner: m[2], sha256: m[3], text: stdout.slice(nl + 1) };
}
