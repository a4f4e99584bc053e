/**
 * Turns `pulumi preview --json` into one line per host for the drift job (`scripts/drift-check.sh`):
 * `HOST clean` or `HOST drifted: <step>; <step>`. It reads only the structured steps, so it works whether the
 * drift shows up through a refresh pass or through the providers' diff. Secret values are `[secret]` in the
 * preview's JSON and are never printed; a change is named by operation, resource and property.
 */

/** A resource state as `pulumi preview --json` prints it (only the fields used here). */
export interface PreviewState {
    urn?: string;
    type?: string;
    parent?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** One step of `pulumi preview --json`. */
export interface PreviewStep {
    op: string;
    urn: string;
    oldState?: PreviewState;
    newState?: PreviewState;
    diffReasons?: string[];
    replaceReasons?: string[];
    detailedDiff?: Record<string, unknown> | null;
}

/** The parts of `pulumi preview --json` output the report reads. */
export interface PreviewJson {
    config?: Record<string, string>;
    steps?: PreviewStep[];
    diagnostics?: Array<{ urn?: string; message?: string; severity?: string }>;
}

export interface DriftReport {
    /** One line per host, in config order (hosts only in the state come after): clean, drifted, error or not checked. */
    lines: string[];
    /** 0: every host clean; 1: drift (and no error); 2: the preview failed, so the report is incomplete. */
    exitCode: 0 | 1 | 2;
    /** Error diagnostics of the preview, one line each, prefixed with the host (or `(stack)`). */
    errors: string[];
}

const FLOWS_HOST = "github-flows-host:index:FlowsHost";
/** Steps that change nothing, or are the halves of a replace already reported as `replace`. */
const QUIET_OPS = new Set(["same", "refresh", "read", "create-replacement", "delete-replaced", "discard-replaced"]);
/**
 * Types whose changes are not drift: the stack itself, and the default provider of the plugin github-flows-host (and
 * of the dynamic providers, in state written before it), which takes the project's config namespace as its own (a
 * config change not yet applied updates it) and holds no host state.
 */
const NOT_HOST_STATE = new Set(["pulumi:pulumi:Stack", "pulumi:providers:github-flows-host", "pulumi:providers:pulumi-nodejs"]);
/** Pseudo-host for changes under no host (stack-level resources). */
export const STACK_LINE = "(stack)";

const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
const typeOf = (urn: string) => (urn.split("::")[2] ?? "").split("$").pop() ?? "";

/** Host names from the stack config's `hosts` (a JSON string in the preview's `config`). */
export function configuredHosts(config: Record<string, string> | undefined): string[] {
    const raw = Object.entries(config ?? {}).find(([k]) => k.endsWith(":hosts"))?.[1];
    try {
        const hosts = JSON.parse(raw ?? "[]") as Array<{ name?: unknown }>;
        return Array.isArray(hosts) ? hosts.map((h) => h?.name).filter((n): n is string => typeof n === "string") : [];
    } catch {
        return [];
    }
}

const short = (v: unknown) => {
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return s !== undefined && s.length <= 40 && !s.includes("\n") ? s : undefined;
};

/** What changed in a step: the provider's property names if it gave them, else the desired inputs that differ from what was read. */
export function changedProperties(step: PreviewStep): string[] {
    const detailed = Object.keys(step.detailedDiff ?? {});
    const keys = detailed.length ? detailed : [...(step.diffReasons ?? []), ...(step.replaceReasons ?? [])];
    if (keys.length) return [...new Set(keys.map((k) => k.split(/[.[]/)[0]))].sort();
    const want = step.newState?.inputs ?? {};
    const seen = step.oldState?.outputs ?? step.oldState?.inputs ?? {};
    const out: string[] = [];
    for (const [k, v] of Object.entries(want)) {
        if (k.startsWith("__") || v === undefined || v === "[secret]" || seen[k] === "[secret]") continue;
        if (JSON.stringify(v) === JSON.stringify(seen[k])) continue;
        const [from, to] = [short(seen[k]), short(v)];
        out.push(from !== undefined && to !== undefined ? `${k} ${from}, want ${to}` : k);
    }
    return out.sort();
}

/**
 * `update sandbox-gh-token /home/user/.secrets/gh-token (mode 644, want 600)`: the host path when the resource has one,
 * the properties when the preview says which (dynamic providers' diffs only say "changed"; a refresh shows the values).
 */
export function describeStep(step: PreviewStep): string {
    const props = step.op === "create" || step.op === "delete" ? [] : changedProperties(step).filter((p) => p !== "path");
    const where = step.newState?.inputs?.path ?? step.oldState?.inputs?.path;
    const at = typeof where === "string" && where !== "[secret]" && where.startsWith("/") && where.length <= 200 ? ` ${where}` : "";
    return `${step.op} ${nameOf(step.urn)}${at}${props.length ? ` (${props.join(", ")})` : ""}`;
}

/** Diagnostics carry colour tags and escapes meant for a terminal. */
const plain = (m: string) => m.replace(/<\{%[^%]*%\}>/g, "").replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n")[0];

/**
 * The report for one preview; `previewExit` is pulumi's exit status, non-zero on drift too (`--expect-no-changes`),
 * so a non-zero status with no change in the steps means the preview itself failed.
 */
export function driftReport(preview: PreviewJson, previewExit: number): DriftReport {
    const steps = preview.steps ?? [];
    const parents = new Map<string, string | undefined>();
    for (const s of steps) {
        const st = s.newState ?? s.oldState;
        if (!parents.has(s.urn) || st?.parent) parents.set(s.urn, st?.parent);
    }
    const hosts = configuredHosts(preview.config);
    for (const s of steps) if (typeOf(s.urn) === FLOWS_HOST && !hosts.includes(nameOf(s.urn))) hosts.push(nameOf(s.urn));
    const byLength = [...hosts].sort((a, b) => b.length - a.length);

    const hostOf = (urn: string | undefined): string => {
        // Up the parent chain to the FlowsHost; past what the steps tell, the naming rule decides:
        // every resource under a host is named `<host>` or `<host>-...`.
        for (let u = urn, hops = 0; u && hops < 50; u = parents.get(u), hops++) {
            if (typeOf(u) === FLOWS_HOST) return nameOf(u);
            const n = nameOf(u);
            const h = byLength.find((x) => n === x || n.startsWith(`${x}-`));
            if (h && (u.split("::")[2] ?? "").startsWith(`${FLOWS_HOST}$`)) return h;
        }
        return STACK_LINE;
    };

    const changes = new Map<string, string[]>();
    let notDrift = 0;
    for (const s of steps) {
        if (QUIET_OPS.has(s.op)) continue;
        if (NOT_HOST_STATE.has(typeOf(s.urn))) {
            notDrift++;
            continue;
        }
        const h = hostOf(s.urn);
        changes.set(h, [...(changes.get(h) ?? []), describeStep(s)]);
    }
    const hostErrors = new Map<string, string>();
    const errors: string[] = [];
    for (const d of preview.diagnostics ?? []) {
        if (d.severity !== "error" || !d.message) continue;
        const h = d.urn ? hostOf(d.urn) : STACK_LINE;
        errors.push(`${h}: ${plain(d.message)}`);
        if (h !== STACK_LINE && !hostErrors.has(h)) hostErrors.set(h, plain(d.message));
    }
    // A non-zero exit is explained by changes, including those that are not drift (`--expect-no-changes` counts them).
    const failed = errors.length > 0 || (previewExit !== 0 && changes.size === 0 && notDrift === 0);
    const names = [...hosts, ...(changes.has(STACK_LINE) ? [STACK_LINE] : [])];
    const lines = names.map((h) => {
        if (changes.get(h)?.length) return `${h} drifted: ${changes.get(h)?.join("; ")}`;
        if (hostErrors.has(h)) return `${h} error: ${hostErrors.get(h)}`;
        return failed ? `${h} not checked (the preview failed)` : `${h} clean`;
    });
    return { lines, exitCode: failed ? 2 : changes.size > 0 ? 1 : 0, errors };
}
