import * as pulumi from "@pulumi/pulumi";
import { ensureDirectoryScript, removeEmptyDirectoryScript, statDirectoryScript } from "../lib/shell";
import { run } from "../lib/ssh";
import { foundIn, PathArgs, pathProvider, PathState, runAs, SECRET_OUTPUTS } from "./connection";
import { HostResource } from "./hostResource";

export interface RemoteDirectoryArgs extends PathArgs {
    /** "empty": rmdir on delete when empty (and created by the stack); "never": left on the host (Codex auth state). */
    removeOnDelete: pulumi.Input<"empty" | "never">;
}

interface State extends PathState {
    removeOnDelete: "empty" | "never";
}

async function observe(s: State): Promise<Pick<State, "owner" | "mode"> | undefined> {
    const out = (await run(s.connection, statDirectoryScript(s.path, runAs(s)), `reading directory ${s.path}`)).trim();
    const m = /^present (\d+) (\S+) \d+$/.exec(out);
    return m ? { mode: m[1], owner: m[2] } : undefined;
}

async function apply(s: State): Promise<State & { found: boolean }> {
    const out = await run(s.connection, ensureDirectoryScript(s), `creating directory ${s.path}`);
    return { ...s, found: foundIn(out, `creating directory ${s.path}`) };
}

/** Exported for the unit tests against an in-process SSH server. */
export const remoteDirectoryProvider = pathProvider<State>({
    observe,
    apply,
    // removeOnDelete matters only for a directory the stack made (one it found, or imported, is never removed).
    drifted: (seen, olds, news) => seen.owner !== news.owner || seen.mode !== news.mode || (!olds.found && olds.removeOnDelete !== news.removeOnDelete),
    async remove(s) {
        if (s.removeOnDelete === "empty") await run(s.connection, removeEmptyDirectoryScript(s.path, runAs(s)), `removing directory ${s.path}`);
    },
}, { kind: "dir", inputs: () => ({ removeOnDelete: "empty" }) });

/** A directory with a fixed mode and owner on a host over SSH. */
export class RemoteDirectory extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Mode seen on the host (octal text). */
    declare public readonly mode: pulumi.Output<string>;
    /** Owner seen on the host. */
    declare public readonly owner: pulumi.Output<string>;
    /** Whether the directory was on the host before the stack (then destroy leaves it). */
    declare public readonly found: pulumi.Output<boolean>;

    constructor(name: string, args: RemoteDirectoryArgs, opts?: pulumi.CustomResourceOptions) {
        super("RemoteDirectory", name, { ...args, found: undefined }, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS });
    }
}
