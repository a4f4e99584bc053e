import * as pulumi from "@pulumi/pulumi";
import crypto = require("crypto");
import { removeFileScript, statFileScript, writeFileScript } from "../lib/shell";
import { run, SshTarget } from "../lib/ssh";
import { ConnectionInput, sameHost, SECRET_OUTPUTS } from "./connection";

export interface RemoteFileArgs {
    connection: ConnectionInput;
    path: pulumi.Input<string>;
    owner: pulumi.Input<string>;
    /** The runtime user: with root as the SSH user, every operation on the file runs as this user. */
    runtimeUser: pulumi.Input<string>;
    mode: pulumi.Input<string>;
    /** Exact bytes of the file; pass a secret Output for credentials: it stays encrypted in state. */
    content: pulumi.Input<string>;
}

interface State {
    connection: SshTarget;
    path: string;
    /** Desired owner in the inputs; the owner seen on the host after a read. */
    owner: string;
    /** Absent in state written before it existed: the owner was the runtime user then. */
    runtimeUser?: string;
    mode: string;
    content: string;
    /** sha256 of the bytes on the host (hex). */
    sha256: string;
}

const runAs = (s: State) => s.runtimeUser ?? s.owner;
const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");

async function write(s: State): Promise<State> {
    // The content travels on standard input: never in a command line, an environment variable or a log.
    await run(s.connection, writeFileScript(s), `writing ${s.path}`, s.content);
    return { ...s, sha256: sha256(s.content) };
}

async function observe(s: State): Promise<Pick<State, "mode" | "owner" | "sha256"> | undefined> {
    const out = (await run(s.connection, statFileScript(s.path, runAs(s)), `reading ${s.path}`)).trim();
    const m = /^present (\d+) (\S+) ([0-9a-f]{64}|unreadable)$/.exec(out);
    return m ? { mode: m[1], owner: m[2], sha256: m[3] } : undefined;
}

/** Every diff reads the host (mode, owner, hash): drift shows in `pulumi preview` without a refresh pass. */
const provider: pulumi.dynamic.ResourceProvider<State, State> = {
    async create(inputs: State) {
        return { id: `${inputs.connection.host}:${inputs.connection.port}:${inputs.path}`, outs: await write(inputs) };
    },
    async read(id: string, props?: State) {
        if (!props) return { id, props };
        const seen = await observe(props);
        return seen ? { id, props: { ...props, ...seen } } : { id: "", props };
    },
    async diff(_id: string, olds: State, news: State) {
        if (olds.path !== news.path || !sameHost(olds.connection, news.connection)) return { changes: true, replaces: ["path"], deleteBeforeReplace: false };
        const seen = await observe(news);
        const changes = !seen || seen.owner !== news.owner || seen.mode !== news.mode || seen.sha256 !== sha256(news.content);
        return { changes, replaces: [], deleteBeforeReplace: false };
    },
    async update(_id: string, _olds: State, news: State) {
        return { outs: await write(news) };
    },
    async delete(_id: string, props: State) {
        await run(props.connection, removeFileScript(props.path, runAs(props)), `removing ${props.path}`);
    },
};

/** A file written atomically (temp file + rename) with a fixed mode and owner; every diff reads it back from the host. */
export class RemoteFile extends pulumi.dynamic.Resource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** sha256 (hex) of the bytes on the host: compare it, not the content, to see drift. */
    declare public readonly sha256: pulumi.Output<string>;
    /** Mode seen on the host. */
    declare public readonly mode: pulumi.Output<string>;
    /** Owner seen on the host. */
    declare public readonly owner: pulumi.Output<string>;

    constructor(name: string, args: RemoteFileArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, sha256: undefined }, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS }, "github-flows-host", "RemoteFile");
    }
}
