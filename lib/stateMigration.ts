import * as crypto from "crypto";

/**
 * Moving a stack made by an earlier program to this one's state, in the state alone: nothing on a host is read,
 * written or removed (scripts/migrate-state.sh runs it between `pulumi stack export` and `import`). Two moves:
 * - 0.2: every host resource a dynamic resource of the `pulumi-nodejs` provider, its code in state -> the plugin
 *   `github-flows-host`;
 * - a `RemoteFile` per profile and per prompt (0.2 and early 0.3 builds) -> one `RemoteFileSet` per host.
 *
 * Why not aliases: a resource whose provider changes is replaced, and the old dynamic provider's delete (its code is in
 * the state) would remove the host file the new resource had just adopted; and many resources cannot alias one.
 */

const OLD_TYPE = "pulumi-nodejs:dynamic/github-flows-host:";
const NEW_TYPE = "github-flows-host:index:";
const OLD_PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";
const NEW_PROVIDER_TYPE = "pulumi:providers:github-flows-host";

interface StateResource {
    urn: string;
    type: string;
    custom?: boolean;
    id?: string;
    provider?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    [k: string]: unknown;
}

export interface MigrationResult {
    /** The `pulumi stack export` document, rewritten. */
    exported: { version: number; deployment: { resources?: StateResource[]; [k: string]: unknown }; [k: string]: unknown };
    /** How many host resources moved to the plugin or into a file set. */
    moved: number;
    /** Whether the export changed (false: nothing to do; the marker alone may change). */
    changed?: boolean;
}

/** The rewritten export of a stack; `version` is the plugin version its resources ask for. */
export function migrateState(exported: MigrationResult["exported"], version: string, newId: () => string = () => crypto.randomUUID()): MigrationResult {
    const retyped = retypeDynamic(exported, version, newId);
    const folded = foldProfileFiles(retyped.exported.deployment.resources ?? []);
    const stack = folded.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const marked = !stack?.outputs || !("hosts" in stack.outputs) || stack.outputs[STATE_FORMAT_OUTPUT] === STATE_FORMAT;
    const moved = retyped.moved + folded.moved;
    if (moved === 0 && marked) return { exported, moved, changed: false };
    // The program's guard (migrationRefusal) reads it: this state is this version's now.
    const resources = folded.resources.map((r) => (r === stack ? { ...r, outputs: { ...r.outputs, [STATE_FORMAT_OUTPUT]: STATE_FORMAT } } : r));
    return { exported: { ...exported, deployment: { ...exported.deployment, resources } }, moved, changed: true };
}

function retypeDynamic(exported: MigrationResult["exported"], version: string, newId: () => string): MigrationResult {
    const resources = exported.deployment.resources ?? [];
    const moved = resources.filter((r) => r.type.startsWith(OLD_TYPE)).length;
    if (moved === 0) return { exported, moved };
    const stackUrn = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn;
    if (!stackUrn) throw new Error("the exported state has no pulumi:pulumi:Stack resource");
    // urn:pulumi:<stack>::<project>::pulumi:pulumi:Stack::<name>
    const prefix = stackUrn.slice(0, stackUrn.indexOf("::pulumi:pulumi:Stack::"));
    const providerName = `default_${version.replace(/[.-]/g, "_")}`;
    const providerUrn = `${prefix}::${NEW_PROVIDER_TYPE}::${providerName}`;
    const existing = resources.find((r) => r.urn === providerUrn);
    const provider: StateResource = existing ?? { urn: providerUrn, custom: true, id: newId(), type: NEW_PROVIDER_TYPE, inputs: { version }, outputs: { version } };
    const providerRef = `${provider.urn}::${provider.id}`;

    // Every reference to a moved resource (its own urn, parent, dependencies) carries the type: one text rewrite.
    const rewritten = JSON.parse(JSON.stringify(resources).split(OLD_TYPE).join(NEW_TYPE)) as StateResource[];
    const out: StateResource[] = [];
    for (const [i, r] of rewritten.entries()) {
        if (!resources[i].type.startsWith(OLD_TYPE)) {
            out.push(r);
            continue;
        }
        if (!existing && !out.includes(provider)) out.push(provider); // before the first resource it serves
        delete r.inputs?.__provider;
        delete r.outputs?.__provider;
        out.push({ ...r, provider: providerRef });
    }
    // The dynamic providers' default provider, once nothing uses it.
    const used = new Set(out.map((r) => r.provider?.slice(0, r.provider.lastIndexOf("::"))));
    const kept = out.filter((r) => r.type !== OLD_PROVIDER_TYPE || used.has(r.urn));
    return { exported: { ...exported, deployment: { ...exported.deployment, resources: kept } }, moved };
}

const AGENT_PROFILES = `${NEW_TYPE}AgentProfiles`;
const FILE = `${NEW_TYPE}RemoteFile`;
const FILE_SET = `${NEW_TYPE}RemoteFileSet`;
/** A profile or prompt lies 4 levels below the set's root: `<owner>/<repo>/<event>-<action>/<file>`. */
const PROFILE_DEPTH = 4;

/**
 * The `RemoteFile`s of each `AgentProfiles` (one per profile and per prompt) become one `RemoteFileSet`
 * `<component>-profiles` rooted at their `cfg/repos`, holding their paths, with those they had found on the host as
 * `adopted` (destroy still leaves them). Its `files` input is left empty: the program gives it on the next run, and
 * the set's diff compares the host with that, not with the state. References to the old files point at the set.
 */
function foldProfileFiles(resources: StateResource[]): { resources: StateResource[]; moved: number } {
    const sets = new Map<string, StateResource>();
    const replaced = new Map<string, string>();
    for (const parent of resources.filter((r) => r.type === AGENT_PROFILES)) {
        const files = resources.filter((r) => r.type === FILE && r.parent === parent.urn);
        if (!files.length) continue;
        const first = files[0];
        const pathOf = (r: StateResource) => String(r.inputs?.path ?? "");
        const root = pathOf(first).split("/").slice(0, -PROFILE_DEPTH).join("/");
        const rels = files.map((f) => pathOf(f).slice(root.length + 1));
        const stray = files.find((f, i) => !pathOf(f).startsWith(`${root}/`) || rels[i].split("/").length !== PROFILE_DEPTH);
        if (!root || stray) throw new Error(`${stray?.urn ?? first.urn}: not a profile file under ${root || "a cfg/repos directory"}; nothing was changed`);
        const name = `${parent.urn.slice(parent.urn.lastIndexOf("::") + 2)}-profiles`;
        const urn = `${first.urn.slice(0, first.urn.lastIndexOf(`$${FILE}::`))}$${FILE_SET}::${name}`;
        const settings = (o?: Record<string, unknown>) => ({ connection: o?.connection, path: root, owner: first.inputs?.owner, runtimeUser: first.inputs?.runtimeUser ?? first.inputs?.owner, mode: first.inputs?.mode, ...(first.inputs?.within === undefined ? {} : { within: first.inputs.within }) });
        const dependencies = [...new Set(files.flatMap((f) => (f.dependencies as string[] | undefined) ?? []))];
        sets.set(first.urn, {
            urn,
            custom: true,
            type: FILE_SET,
            id: `${String(first.id).slice(0, String(first.id).length - pathOf(first).length)}${root}`,
            parent: parent.urn,
            provider: first.provider,
            ...(dependencies.length ? { dependencies } : {}),
            inputs: { ...settings(first.inputs), files: {} },
            outputs: { ...settings(first.outputs), paths: [...rels].sort(), adopted: rels.filter((_, i) => files[i].outputs?.found === true).sort() },
        });
        for (const f of files) replaced.set(f.urn, urn);
    }
    if (!replaced.size) return { resources, moved: 0 };
    const to = (u: unknown) => (typeof u === "string" ? replaced.get(u) ?? u : u);
    const refs = (l: unknown) => (Array.isArray(l) ? [...new Set(l.map(to))] : l);
    const out: StateResource[] = [];
    for (const r of resources) {
        if (sets.has(r.urn)) out.push(sets.get(r.urn)!);
        if (replaced.has(r.urn)) continue;
        const deps = r.propertyDependencies as Record<string, unknown> | undefined;
        out.push({
            ...r,
            ...(r.dependencies ? { dependencies: refs(r.dependencies) } : {}),
            ...(deps ? { propertyDependencies: Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, refs(v)])) } : {}),
            ...(r.deletedWith ? { deletedWith: to(r.deletedWith) } : {}),
        });
    }
    return { resources: out, moved: replaced.size };
}

/** The stack output that says which state this is (written by the stack program since 0.3; the value changed with the file sets). */
export const STATE_FORMAT_OUTPUT = "stateFormat";
export const STATE_FORMAT = "github-flows-host-plugin-file-sets";

/**
 * Why the program must not run on this stack (undefined: it may): a stack an earlier program made (outputs `hosts`
 * without this `stateFormat`) holds resources an up would delete, host files with them: 0.2's dynamic resources, or
 * a `RemoteFile` per profile.
 */
export function migrationRefusal(outputs: Record<string, unknown>, stack: string): string | undefined {
    if (!("hosts" in outputs) || outputs[STATE_FORMAT_OUTPUT] === STATE_FORMAT) return undefined;
    const was = outputs[STATE_FORMAT_OUTPUT] === undefined ? "github-flows-host 0.2, whose host resources are dynamic resources" : "an earlier build of github-flows-host, with a resource per profile file";
    return `stack ${stack} was made by ${was}: run \`bash scripts/migrate-state.sh --stack ${stack}\` once, then pulumi up (docs/upgrading.md). Nothing was changed.`;
}
