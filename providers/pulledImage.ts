import * as pulumi from "@pulumi/pulumi";
import { inspectImageScript, pullImageScript } from "../lib/shell";
import { run, SshTarget } from "../lib/ssh";
import { ConnectionInput, sameHost, SECRET_OUTPUTS } from "./connection";
import { HostResource, HostResourceProvider } from "./hostResource";

export interface PulledImageArgs {
    connection: ConnectionInput;
    /** Reference pulled by the host's daemon. */
    from: pulumi.Input<string>;
    /** Name the image gets on the host (the one profiles and checks use). */
    image: pulumi.Input<string>;
}

interface State {
    connection: SshTarget;
    from: string;
    image: string;
    imageId: string;
}

async function pull(s: State): Promise<State> {
    const out = await run(s.connection, pullImageScript(s.from, s.image), `pulling ${s.from}`);
    return { ...s, imageId: out.trim().split("\n").pop() ?? "" };
}

async function inspect(s: Pick<State, "connection" | "image">): Promise<string | undefined> {
    const out = (await run(s.connection, inspectImageScript(s.image), `inspecting ${s.image}`)).trim();
    return out === "absent" ? undefined : out;
}

/** Every diff inspects the image on the host: a removed or re-tagged image shows in `pulumi preview`. */
export const pulledImageProvider: HostResourceProvider<State, State> = {
    async create(inputs: State) {
        return { id: `${inputs.connection.host}:${inputs.connection.port}:${inputs.image}`, outs: await pull(inputs) };
    },
    async read(id: string, props?: State) {
        if (!props) return { id, props };
        const imageId = await inspect(props);
        return imageId ? { id, props: { ...props, imageId } } : { id: "", props };
    },
    async diff(_id: string, olds: State, news: State) {
        if (!sameHost(olds.connection, news.connection)) return { changes: true, replaces: ["connection"] };
        if (olds.from !== news.from || olds.image !== news.image) return { changes: true, replaces: [] };
        return { changes: (await inspect(news)) !== olds.imageId, replaces: [] };
    },
    async update(_id: string, _olds: State, news: State) {
        return { outs: await pull(news) };
    },
    // Deleting would break GitHub Flows runs that still use the image; the daemon's own pruning owns that.
    async delete() {},
};

/** The agent image pulled by the host's Docker daemon over the stack's SSH connection (`imageSource: ssh-pull`). */
export class PulledImage extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** Image id on the host's daemon (`sha256:...`). */
    declare public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: PulledImageArgs, opts?: pulumi.CustomResourceOptions) {
        super("PulledImage", name, { ...args, imageId: undefined }, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS });
    }
}
