import * as crypto from "crypto";

/**
 * Moving a stack made by the program before the provider plugin (0.2: every host resource a dynamic resource of the
 * `pulumi-nodejs` provider, its code in state) to the plugin `github-flows-host`, in the state alone: nothing on a host
 * is read, written or removed (scripts/migrate-state.sh runs it between `pulumi stack export` and `import`).
 *
 * Why not aliases: a resource whose provider changes is replaced, and the old dynamic provider's delete (its code is in
 * the state) would remove the host file the new resource had just adopted.
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
    /** How many host resources moved to the plugin (0: nothing to do). */
    moved: number;
}

/** The rewritten export of a stack; `version` is the plugin version its resources ask for. */
export function migrateState(exported: MigrationResult["exported"], version: string, newId: () => string = () => crypto.randomUUID()): MigrationResult {
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
        if (r.type === "pulumi:pulumi:Stack") {
            // The program's guard (migrationRefusal) reads it: this state is the plugin's now.
            out.push({ ...r, outputs: { ...r.outputs, [STATE_FORMAT_OUTPUT]: STATE_FORMAT } });
            continue;
        }
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

/** The stack output that says the state is the plugin's (written by the stack program since 0.3). */
export const STATE_FORMAT_OUTPUT = "stateFormat";
export const STATE_FORMAT = "github-flows-host-plugin";

/**
 * Why the program must not run on this stack (undefined: it may): a stack the 0.2 program made (outputs `hosts`
 * without `stateFormat`) still holds dynamic resources, which an up would delete, host files with them.
 */
export function migrationRefusal(outputs: Record<string, unknown>, stack: string): string | undefined {
    if (!("hosts" in outputs) || outputs[STATE_FORMAT_OUTPUT] === STATE_FORMAT) return undefined;
    return (
        `stack ${stack} was made by github-flows-host 0.2, whose host resources are dynamic resources: run ` +
        `\`bash scripts/migrate-state.sh --stack ${stack}\` once, then pulumi up (docs/upgrading.md). Nothing was changed.`
    );
}
