import * as pulumi from "@pulumi/pulumi";
import { CODEX_CONFIG_FILE } from "../lib/codexConfig";
import type { ReasoningEffort } from "../lib/config";
import { CodexConfigFile } from "../providers";
import type { RuntimeUserFilesArgs } from "./hostArgs";

export interface CodexModelArgs extends RuntimeUserFilesArgs {
    codexDir: pulumi.Input<string>;
    /** `codexModel`; unset: the file's `model` is left as it is. */
    model?: string;
    /** `codexReasoningEffort`; unset: the file's `model_reasoning_effort` is left as it is. */
    reasoningEffort?: ReasoningEffort;
    /** Where, for messages: `host 'web-1' (203.0.113.10:22)`. */
    where: string;
}

/**
 * The setup document's "Choose and Persist Codex Model" (`/model` inside Codex) as config: the model and reasoning
 * effort at the top level of `<codexDir>/config.toml`, 0600, owned by the runtime user, every other key kept.
 * `pulumi destroy` leaves the file: it holds the operator's and Codex's other settings.
 */
export class CodexModel extends pulumi.ComponentResource {
    /** `model=...;effort=...` as configured: the checks re-run when it changes. */
    public readonly settings: pulumi.Output<string>;
    /** The file resource, for ordering. */
    public readonly file: CodexConfigFile;

    constructor(name: string, args: CodexModelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:CodexModel", name, {}, opts);
        const file = new CodexConfigFile(
            `${name}-codex-config`,
            {
                connection: args.connection,
                path: pulumi.interpolate`${args.codexDir}/${CODEX_CONFIG_FILE}`,
                owner: args.runtimeUser,
                runtimeUser: args.runtimeUser,
                mode: "600",
                model: args.model,
                reasoningEffort: args.reasoningEffort,
                where: args.where,
            },
            { parent: this },
        );
        this.file = file;
        // Known in every preview: a drift repaired on the host puts back the same settings and re-runs nothing.
        this.settings = pulumi.output(`model=${args.model ?? ""};effort=${args.reasoningEffort ?? ""}`);
        this.registerOutputs({ settings: this.settings });
    }
}
