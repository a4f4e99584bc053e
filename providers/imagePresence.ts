import * as pulumi from "@pulumi/pulumi";
import { inspectImageScript } from "../lib/shell";
import { run, SshTarget } from "../lib/ssh";
import { ConnectionInput, sameHost, SECRET_OUTPUTS } from "./connection";
import { HostResource, HostResourceProvider } from "./hostResource";

export interface ImagePresenceArgs {
    connection: ConnectionInput;
    /** Image names that must all be present on the host's daemon. */
    names: pulumi.Input<pulumi.Input<string>[]>;
}

interface Inputs {
    connection: SshTarget;
    names: string[];
}

interface State extends Inputs {
    /** Goes up by one each time the images were found missing; the docker resources replace on it. */
    generation: number;
}

/** True when every name is present; a daemon that cannot answer fails instead of reading as "missing". */
async function allPresent(s: Inputs): Promise<boolean> {
    const script = ["set -e", ...s.names.map((n) => `(${inspectImageScript(n)})`)].join("\n");
    const out = await run(s.connection, script, `inspecting ${s.names.join(", ")}`);
    return out.trim().split("\n").every((l) => l.trim() !== "absent");
}

/**
 * The docker provider reads the host only on refresh, which runs before this program and so before
 * its SSH agent exists. This probe looks at the host in its diff instead: an image removed from the
 * daemon bumps `generation`, the RemoteImage and Tag replace on it, and `up` pulls again.
 */
export const imagePresenceProvider: HostResourceProvider<Inputs, State> = {
    async create(inputs) {
        return { id: `${inputs.connection.host}:${inputs.connection.port}:images`, outs: { ...inputs, generation: 0 } };
    },
    async diff(_id, olds, news) {
        if (!sameHost(olds.connection, news.connection)) return { changes: true, replaces: ["connection"] };
        const renamed = JSON.stringify(olds.names) !== JSON.stringify(news.names);
        return { changes: renamed || !(await allPresent(news)), replaces: [] };
    },
    async update(_id, olds, news) {
        return { outs: { ...news, generation: (olds.generation ?? 0) + 1 } };
    },
};

/** Whether the agent image is still on the host, as a counter the docker resources replace on. */
export class ImagePresence extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Times the images were found missing and pulled again. */
    declare public readonly generation: pulumi.Output<number>;

    constructor(name: string, args: ImagePresenceArgs, opts?: pulumi.CustomResourceOptions) {
        super("ImagePresence", name, { ...args, generation: undefined }, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS });
    }
}
