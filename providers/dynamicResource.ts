import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";

/** Set by boot/program.js: the directory of this build of the program (one per version of the sources). */
const BUILD_KEY = Symbol.for("github-flows-host.build");

/**
 * `pulumi.dynamic.Resource`, with the provider's serialized code kept beside the program's build.
 *
 * A dynamic resource carries its provider as code (`__provider`): serializing it walks every function the provider
 * reaches through the V8 inspector and parses them with TypeScript, 0.5 s of CPU for this program's five providers
 * before the first of them can register (bench/profile.sh). The text depends only on the code, so it is serialized
 * once per build (boot/program.js names builds by the hash of the sources and the SDK version) and read back on
 * later runs. The type token and inputs are exactly those of `pulumi.dynamic.Resource`.
 */
export abstract class DynamicResource extends pulumi.CustomResource {
    constructor(
        provider: pulumi.dynamic.ResourceProvider<any, any>,
        type: string,
        name: string,
        props: pulumi.Inputs,
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(`pulumi-nodejs:dynamic/github-flows-host:${type}`, name, { ...props, __provider: serializedProvider(provider, type) }, opts);
    }
}

interface Serialized {
    text: string;
    containsSecrets: boolean;
}

const inProcess = new Map<string, Promise<Serialized>>();

function serializedProvider(provider: pulumi.dynamic.ResourceProvider<any, any>, type: string): pulumi.Output<string> {
    let p = inProcess.get(type);
    if (!p) {
        p = fromBuild(provider, type);
        inProcess.set(type, p);
    }
    return pulumi.output(p).apply((s): pulumi.Output<string> => (s.containsSecrets ? pulumi.secret(s.text) : pulumi.output(s.text)));
}

async function fromBuild(provider: pulumi.dynamic.ResourceProvider<any, any>, type: string): Promise<Serialized> {
    const build = (globalThis as Record<symbol, unknown>)[BUILD_KEY];
    const file = typeof build === "string" ? path.join(build, "serialized", `${type}.json`) : undefined;
    if (file) {
        try {
            const s = JSON.parse(fs.readFileSync(file, "utf8")) as Serialized;
            if (typeof s.text === "string" && typeof s.containsSecrets === "boolean") return s;
        } catch {
            // not serialized yet in this build
        }
    }
    // As pulumi.dynamic.Resource does it.
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const s: Serialized = { text: sf.text, containsSecrets: sf.containsSecrets };
    // A provider that captured a secret is never written down.
    if (file && !s.containsSecrets) {
        try {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const tmp = `${file}.${process.pid}`;
            fs.writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
            fs.renameSync(tmp, file);
        } catch {
            // a build directory that cannot be written only costs the speed-up
        }
    }
    return s;
}
