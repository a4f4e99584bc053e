import * as pulumi from "@pulumi/pulumi";
import { Account, accountScript, parseAccount } from "../lib/account";
import { run, SshTarget, sudoProbeScript, sudoRefusal } from "../lib/ssh";
import { ConnectionInput, SECRET_OUTPUTS } from "./connection";
import { HostResource, HostResourceProvider } from "./hostResource";

export interface HostAccountArgs {
    connection: ConnectionInput;
    /** The runtime user's name. */
    user: pulumi.Input<string>;
    /** Where, for messages: `host 'web-1' (203.0.113.10:22)`. */
    where: pulumi.Input<string>;
}

interface State extends Account {
    connection: SshTarget;
    user: string;
    where: string;
}

/**
 * A sudo login is checked here, as the login itself, before anything else touches the host: a `sudo -n` that
 * fails (no sudo rule, a password asked) stops the run with what is missing; a read never needs root.
 */
async function lookUp(s: State): Promise<Account> {
    const what = `looking up the runtime user ${s.user}`;
    if (!s.connection.sudo) return parseAccount(await run(s.connection, accountScript(s.user), what), s.user, s.where);
    const { sudo: _, ...login } = s.connection;
    const out = await run(login, sudoProbeScript(accountScript(s.user)), what);
    const refused = sudoRefusal(out, s.where, s.connection.user, s.user);
    if (refused) throw refused;
    return parseAccount(out, s.user, s.where);
}

/** Only ever read (`pulumi.CustomResource` with an id): the account belongs to the host, not to the stack. Exported for the unit tests. */
export const hostAccountProvider: HostResourceProvider<State, State> = {
    async create(): Promise<never> {
        throw new Error("HostAccount is only ever read");
    },
    async read(id: string, props?: State) {
        if (!props) throw new Error(`HostAccount ${id}: the engine gave no inputs to read with`);
        return { id, props: { ...props, ...(await lookUp(props)) } };
    },
};

/**
 * The runtime user's passwd entry on a host (`getent passwd`), read before anything else and on every preview, so
 * the derived paths and the security rules follow its real home.
 */
export class HostAccount extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Home directory from the passwd entry. */
    declare public readonly home: pulumi.Output<string>;
    declare public readonly uid: pulumi.Output<number>;
    declare public readonly gid: pulumi.Output<number>;
    /** Whether the home exists as a directory. */
    declare public readonly homeExists: pulumi.Output<boolean>;

    /** `id` names the host and user (`<address>:<port>:<user>`): a read needs one known before the read. */
    constructor(name: string, id: string, args: HostAccountArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "HostAccount",
            name,
            { ...args, home: undefined, uid: undefined, gid: undefined, homeExists: undefined },
            { ...opts, id, additionalSecretOutputs: SECRET_OUTPUTS },
        );
    }
}
