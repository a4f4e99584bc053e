import * as pulumi from "@pulumi/pulumi";
import { ensureDirectoryScript, removeEmptyDirectoryScript, statDirectoryScript } from "../lib/shell";
import { run, SshTarget } from "../lib/ssh";
import { ConnectionInput, sameHost, SECRET_OUTPUTS } from "./connection";

export interface RemoteDirectoryArgs {
    connection: ConnectionInput;
    path: pulumi.Input<string>;
    owner: pulumi.Input<string>;
    /** The runtime user: with root as the SSH user, every operation on the directory runs as this user. */
    runtimeUser: pulumi.Input<string>;
    /** Octal text, e.g. "700". */
    mode: pulumi.Input<string>;
    /** "empty": rmdir on delete when empty; "never": left on the host (Codex auth state). */
    removeOnDelete: pulumi.Input<"empty" | "never">;
}

interface State {
    connection: SshTarget;
    path: string;
    /** Desired owner in the inputs; the owner seen on the host after a read. */
    owner: string;
    /** Absent in state written before it existed: the owner was the runtime user then. */
    runtimeUser?: string;
    mode: string;
    removeOnDelete: "empty" | "never";
}

const runAs = (s: State) => s.runtimeUser ?? s.owner;

async function observe(s: State): Promise<Pick<State, "owner" | "mode"> | undefined> {
    const out = (await run(s.connection, statDirectoryScript(s.path, runAs(s)), `reading directory ${s.path}`)).trim();
    const m = /^present (\d+) (\S+) \d+$/.exec(out);
    return m ? { mode: m[1], owner: m[2] } : undefined;
}

async function apply(s: State): Promise<State> {
    await run(s.connection, ensureDirectoryScript(s), `creating directory ${s.path}`);
    return s;
}

/**
 * Every diff reads the host, so a changed mode or owner, or a deleted directory, shows in `pulumi preview`
 * without a refresh pass (`pulumi refresh` still works through `read`).
 */
const provider: pulumi.dynamic.ResourceProvider<State, State> = {
    async create(inputs: State) {
        const outs = await apply(inputs);
        return { id: `${inputs.connection.host}:${inputs.connection.port}:${inputs.path}`, outs };
    },
    async read(id: string, props?: State) {
        if (!props) return { id, props };
        const seen = await observe(props);
        // An empty id tells the engine the directory is gone; the next `up` creates it again.
        return seen ? { id, props: { ...props, ...seen } } : { id: "", props };
    },
    async diff(_id: string, olds: State, news: State) {
        if (olds.path !== news.path || !sameHost(olds.connection, news.connection)) return { changes: true, replaces: ["path"], deleteBeforeReplace: false };
        const seen = await observe(news);
        const drift = !seen || seen.owner !== news.owner || seen.mode !== news.mode || olds.removeOnDelete !== news.removeOnDelete;
        return { changes: drift, replaces: [], deleteBeforeReplace: false };
    },
    async update(_id: string, _olds: State, news: State) {
        return { outs: await apply(news) };
    },
    async delete(_id: string, props: State) {
        if (props.removeOnDelete === "empty") await run(props.connection, removeEmptyDirectoryScript(props.path, runAs(props)), `removing directory ${props.path}`);
    },
};

/** A directory with a fixed mode and owner on a host over SSH. */
export class RemoteDirectory extends pulumi.dynamic.Resource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Mode seen on the host (octal text). */
    declare public readonly mode: pulumi.Output<string>;
    /** Owner seen on the host. */
    declare public readonly owner: pulumi.Output<string>;

    constructor(name: string, args: RemoteDirectoryArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, args, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS }, "github-flows-host", "RemoteDirectory");
    }
}
