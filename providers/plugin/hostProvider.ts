import type * as pulumi from "@pulumi/pulumi";
import { PACKAGE, type HostResourceProvider } from "../hostResource";
import { unwrapSecrets, wrapSecrets } from "./secrets";

type Props = Record<string, unknown>;
type AnyProvider = HostResourceProvider<any, any>;
/** A component the plugin builds for programs in other languages (`construct`): FlowsHost from Pulumi YAML. */
export type ComponentBuilder = (name: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions) => Promise<pulumi.provider.ConstructResult>;

/** `github-flows-host:index:RemoteFile` from `urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`. */
export function typeOfUrn(urn: string): string {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}

/**
 * The plugin's `Provider`: each call goes to the host resource named by the URN's type token, on plain values, and
 * its outputs go back with the secrets of its inputs. The state holds only the resources' own properties.
 */
export class HostProvider implements pulumi.provider.Provider {
    constructor(
        readonly version: string,
        readonly schema: string,
        private readonly types: Record<string, AnyProvider>,
        private readonly components: Record<string, ComponentBuilder> = {},
    ) {}

    async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<pulumi.provider.ConstructResult> {
        const [pkg, mod, t] = type.split(":");
        const build = pkg === PACKAGE && mod === "index" ? this.components[t] : undefined;
        if (!build) throw new Error(`${PACKAGE} has no component ${type}`);
        return build(name, inputs, options);
    }

    private of(urn: string): AnyProvider {
        const token = typeOfUrn(urn);
        const [pkg, mod, type] = token.split(":");
        const p = pkg === PACKAGE && mod === "index" ? this.types[type] : undefined;
        if (!p) throw new Error(`${PACKAGE} has no resource type ${token}`);
        return p;
    }

    async check(_urn: string, _olds: Props, news: Props): Promise<pulumi.provider.CheckResult> {
        return { inputs: news };
    }

    async diff(id: string, urn: string, olds: Props, news: Props): Promise<pulumi.provider.DiffResult> {
        const p = this.of(urn);
        // Without a diff of its own the engine compares the inputs.
        if (!p.diff) return {};
        return p.diff(id, unwrapSecrets(olds).plain, unwrapSecrets(news).plain);
    }

    async create(urn: string, inputs: Props): Promise<pulumi.provider.CreateResult> {
        const { plain, secretKeys } = unwrapSecrets(inputs);
        const r = await this.of(urn).create(plain);
        return { id: r.id, outs: wrapSecrets(r.outs, secretKeys) };
    }

    async read(id: string, urn: string, props?: Props): Promise<pulumi.provider.ReadResult> {
        const p = this.of(urn);
        const { plain, secretKeys } = unwrapSecrets(props);
        if (!p.read) return { id, props };
        const r = await p.read(id, Object.keys(plain).length ? plain : undefined);
        return { id: r.id, props: r.props && wrapSecrets(r.props, secretKeys), inputs: r.inputs && wrapSecrets(r.inputs, secretKeys) };
    }

    async update(id: string, urn: string, olds: Props, news: Props): Promise<pulumi.provider.UpdateResult> {
        const p = this.of(urn);
        const o = unwrapSecrets(olds);
        const n = unwrapSecrets(news);
        if (!p.update) return { outs: news };
        const r = await p.update(id, o.plain, n.plain);
        return { outs: wrapSecrets(r.outs, new Set([...o.secretKeys, ...n.secretKeys])) };
    }

    async delete(id: string, urn: string, props: Props): Promise<void> {
        await this.of(urn).delete?.(id, unwrapSecrets(props).plain);
    }
}
