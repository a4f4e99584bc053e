import * as pulumi from "@pulumi/pulumi";

/** The provider plugin's package: its resources' type tokens are `github-flows-host:index:<Type>`. */
export const PACKAGE = "github-flows-host";

/**
 * The plugin version every resource asks the engine for; scripts/provider.sh installs the plugin at package.json's
 * version, and a unit test keeps the two equal.
 */
export const PLUGIN_VERSION = "0.3.0";

/** A provider's answer to diff, as the engine's DiffResponse. */
export interface HostDiffResult {
    changes?: boolean;
    replaces?: string[];
    deleteBeforeReplace?: boolean;
}

/** A provider's answer to read: an empty id says the resource is gone from the host. */
export interface HostReadResult<O> {
    id: string;
    props?: O;
    /** The inputs a later diff compares against (set by a read for `pulumi import`, which has no inputs of its own). */
    inputs?: Record<string, unknown>;
}

/**
 * The CRUD of one resource type of the plugin, on plain values (no secret wrappers: the plugin unwraps them on the
 * way in and wraps the outputs again; providers/plugin.ts).
 */
export interface HostResourceProvider<I, O = I> {
    create(inputs: I): Promise<{ id: string; outs: O }>;
    read?(id: string, props?: O): Promise<HostReadResult<O>>;
    diff?(id: string, olds: O, news: I): Promise<HostDiffResult>;
    update?(id: string, olds: O, news: I): Promise<{ outs: O }>;
    delete?(id: string, props: O): Promise<void>;
}

/** A resource of the plugin `github-flows-host` (providers/plugin.ts), which the engine runs beside the program. */
export abstract class HostResource extends pulumi.CustomResource {
    constructor(type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(`${PACKAGE}:index:${type}`, name, props, { version: PLUGIN_VERSION, ...opts });
    }
}
