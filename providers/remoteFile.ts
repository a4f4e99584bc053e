import * as pulumi from "@pulumi/pulumi";
import crypto = require("crypto");
import { removeFileScript, statFileScript, writeFileScript } from "../lib/shell";
import { run } from "../lib/ssh";
import { foundIn, PathArgs, pathProvider, PathState, runAs, SECRET_OUTPUTS } from "./connection";
import { HostResource } from "./hostResource";

export interface RemoteFileArgs extends PathArgs {
    /** Exact bytes of the file; pass a secret Output for credentials: it stays encrypted in state. */
    content: pulumi.Input<string>;
}

interface State extends PathState {
    /** In the inputs only: the outputs keep `sha256` (a second copy per file was half of the state). */
    content?: string;
    /** sha256 of the bytes on the host (hex). */
    sha256: string;
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");

/** Writes the file unless it already holds the bytes (then only a wrong mode is fixed, by chmod). */
async function write(s: State): Promise<State & { found: boolean }> {
    const sum = sha256(s.content ?? "");
    // The content travels on standard input: never in a command line, an environment variable or a log.
    const out = await run(s.connection, writeFileScript({ path: s.path, owner: s.owner, mode: s.mode, sha256: sum }), `writing ${s.path}`, s.content);
    const { content: _, ...rest } = s;
    return { ...rest, sha256: sum, found: foundIn(out, `writing ${s.path}`) };
}

async function observe(s: State): Promise<Pick<State, "mode" | "owner" | "sha256"> | undefined> {
    const out = (await run(s.connection, statFileScript(s.path, runAs(s)), `reading ${s.path}`)).trim();
    const m = /^present (\d+) (\S+) ([0-9a-f]{64}|unreadable)$/.exec(out);
    return m ? { mode: m[1], owner: m[2], sha256: m[3] } : undefined;
}

/** Exported for the unit tests against an in-process SSH server. */
export const remoteFileProvider = pathProvider<State>({
    observe,
    apply: write,
    drifted: (seen, _olds, news) => seen.owner !== news.owner || seen.mode !== news.mode || seen.sha256 !== sha256(news.content ?? ""),
    async remove(s) {
        await run(s.connection, removeFileScript(s.path, runAs(s)), `removing ${s.path}`);
    },
}, { kind: "file", inputs: () => ({}) });

/**
 * A file written atomically (temp file + rename) with a fixed mode and owner; every diff reads it back from the host.
 * A file already holding the bytes is kept as it is (inode, mtime), a wrong mode fixed by chmod alone.
 */
export class RemoteFile extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** sha256 (hex) of the bytes on the host: compare it, not the content, to see drift. */
    declare public readonly sha256: pulumi.Output<string>;
    /** Mode seen on the host. */
    declare public readonly mode: pulumi.Output<string>;
    /** Owner seen on the host. */
    declare public readonly owner: pulumi.Output<string>;
    /** Whether the file was on the host before the stack (then destroy leaves it, even if its content was fixed). */
    declare public readonly found: pulumi.Output<boolean>;

    constructor(name: string, args: RemoteFileArgs, opts?: pulumi.CustomResourceOptions) {
        // sha256 secret too: the full hash of a token file would confirm a guessed token to anyone who reads the state.
        super("RemoteFile", name, { ...args, sha256: undefined, found: undefined }, { ...opts, additionalSecretOutputs: [...SECRET_OUTPUTS, "sha256"] });
    }
}
