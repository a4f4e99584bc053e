import * as pulumi from "@pulumi/pulumi";
import { run, SshTarget } from "../lib/ssh";
import { ConnectionInput, SECRET_OUTPUTS } from "./connection";
import { HostResource, HostResourceProvider } from "./hostResource";

export interface SshCommandArgs {
    connection: ConnectionInput;
    /** Shell text run on create and whenever `create`, `stdin` or `triggers` change. */
    create: pulumi.Input<string>;
    stdin?: pulumi.Input<string>;
    triggers?: pulumi.Input<unknown[]>;
    /** For error messages: what this command is. */
    what: pulumi.Input<string>;
}

interface State {
    connection: SshTarget;
    create: string;
    stdin?: string;
    triggers?: unknown[];
    what: string;
    stdout: string;
}

async function runIt(s: State): Promise<State> {
    return { ...s, stdout: await run(s.connection, s.create, s.what, s.stdin) };
}

/**
 * The `@pulumi/command` remote.Command contract (run on create, re-run when inputs change, no
 * refresh) over `ssh2`, for engines without the command provider plugin (`remoteCommands: ssh2`).
 */
export const sshCommandProvider: HostResourceProvider<State, State> = {
    async create(inputs: State) {
        return { id: `${inputs.connection.host}:${inputs.connection.port}:${Date.now()}`, outs: await runIt(inputs) };
    },
    async diff(_id: string, olds: State, news: State) {
        const same = olds.create === news.create && olds.stdin === news.stdin && JSON.stringify(olds.triggers ?? []) === JSON.stringify(news.triggers ?? []);
        return { changes: !same, replaces: same ? [] : ["create"], deleteBeforeReplace: true };
    },
};

/** A command run over SSH when its inputs change. */
export class SshCommand extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Standard output of the last run. */
    declare public readonly stdout: pulumi.Output<string>;

    constructor(name: string, args: SshCommandArgs, opts?: pulumi.CustomResourceOptions) {
        super("SshCommand", name, { ...args, stdout: undefined }, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS });
    }
}
