import { hostArgsJsonSchema } from "../../lib/config";
import { PACKAGE } from "../hostResource";

type Kind = "string" | "number" | "boolean" | "object" | "array";
/** Property name -> kind; `?` at the end of the name: optional; `!` : secret. */
type Props = Record<string, Kind>;

const PATH: Props = { connection: "object", "path": "string", owner: "string", runtimeUser: "string", mode: "string", "within?": "string" };

/** Each resource of the plugin: its inputs and the outputs it adds to them. */
const RESOURCES: Record<string, { description: string; inputs: Props; outputs: Props }> = {
    HostAccount: {
        description: "The runtime user's passwd entry on a host, only ever read.",
        inputs: { connection: "object", user: "string", where: "string" },
        outputs: { home: "string", uid: "number", gid: "number", homeExists: "boolean" },
    },
    RemoteDirectory: {
        description: "A directory with a fixed mode and owner on a host over SSH.",
        inputs: { ...PATH, removeOnDelete: "string" },
        outputs: { "found?": "boolean" },
    },
    RemoteFile: {
        description: "A file written atomically with a fixed mode and owner; its content stays secret.",
        inputs: { ...PATH, "content!": "string" },
        outputs: { "sha256!": "string", "found?": "boolean" },
    },
    RemoteFileSet: {
        description: "Files under one directory (path), each by its relative path, written and read back as one resource.",
        inputs: { ...PATH, files: "object" },
        outputs: { paths: "array", adopted: "array" },
    },
    CodexConfigFile: {
        description: "The model settings at the top level of Codex's config.toml, every other key kept.",
        inputs: { ...PATH, "model?": "string", "reasoningEffort?": "string", where: "string" },
        outputs: { "seenModel?": "string", "seenReasoningEffort?": "string", "found?": "boolean" },
    },
    PulledImage: {
        description: "The agent image pulled by the host's Docker daemon over SSH.",
        inputs: { connection: "object", from: "string", image: "string" },
        outputs: { imageId: "string" },
    },
    ImagePresence: {
        description: "Whether images are still on the host's daemon, as a counter that goes up when they were missing.",
        inputs: { connection: "object", names: "array" },
        outputs: { generation: "number" },
    },
    CodexLogin: {
        description: "Codex auth state present in the Codex directory; never overwritten, never deleted.",
        inputs: { connection: "object", container: "object", "apiKey?!": "string", missingMessage: "string" },
        outputs: { present: "boolean", loginId: "string" },
    },
    SshCommand: {
        description: "A command run over SSH on create and whenever its text, stdin or triggers change.",
        inputs: { connection: "object", create: "string", "stdin?!": "string", "triggers?": "array", what: "string" },
        outputs: { stdout: "string" },
    },
};

function property(kind: Kind, secret: boolean): Record<string, unknown> {
    const t = kind === "object" ? { $ref: "pulumi.json#/Any" } : kind === "array" ? { type: "array", items: { $ref: "pulumi.json#/Any" } } : { type: kind };
    return secret ? { ...t, secret: true } : t;
}

function properties(p: Props): { props: Record<string, unknown>; required: string[] } {
    const props: Record<string, unknown> = {};
    const required: string[] = [];
    for (const [raw, kind] of Object.entries(p)) {
        const name = raw.replace(/[?!]+$/, "");
        const flags = raw.slice(name.length);
        props[name] = property(kind, flags.includes("!") || name === "connection");
        if (!flags.includes("?")) required.push(name);
    }
    return { props, required };
}

type Json = Record<string, unknown>;

/** A JSON Schema property (from zod) as a Pulumi schema property: plain types and lists of them, anything else Any. */
function fromJsonSchema(j: Json): Json {
    const plain = (t: unknown) => t === "string" || t === "integer" || t === "number" || t === "boolean";
    if (plain(j.type)) return { type: j.type };
    const items = j.items as Json | undefined;
    if (j.type === "array" && items && plain(items.type)) return { type: "array", items: { type: items.type } };
    if (j.type === "array") return { type: "array", items: { $ref: "pulumi.json#/Any" } };
    return { $ref: "pulumi.json#/Any" };
}

/** FlowsHost as a component of the package, for programs in other languages (its args as components/flowsHost.ts has them). */
function flowsHostSchema(): Json {
    const j = hostArgsJsonSchema();
    const inputProperties: Json = {};
    for (const [k, v] of Object.entries(j.properties)) inputProperties[k] = fromJsonSchema(v);
    inputProperties.sshPrivateKey = { type: "string", secret: true, description: "Private key (OpenSSH/PEM text) of the SSH user on the host and its bastion." };
    inputProperties.githubToken = { type: "string", secret: true, description: "Fine-grained GitHub token of the agent's account." };
    inputProperties.openaiApiKey = { type: "string", secret: true, description: "When set, Codex is logged in with this key unless a login is present." };
    const str = { type: "string" };
    return {
        isComponent: true,
        description: "One host prepared for GitHub Flows: every step of the credentials setup document.",
        inputProperties,
        requiredInputs: [...(j.required ?? []), "sshPrivateKey", "githubToken"],
        properties: {
            profiles: { type: "object", additionalProperties: str, description: "Rendered profile JSON per repository." },
            githubLogin: str,
            tokenExpiresAt: str,
            repositoryAccess: { type: "object", additionalProperties: str },
            imageId: str,
            tokenFingerprint: str,
            codexLoginCommand: str,
        },
        required: ["profiles", "githubLogin", "tokenExpiresAt", "repositoryAccess", "imageId", "tokenFingerprint", "codexLoginCommand"],
    };
}

/** The plugin's Pulumi package schema (what `pulumi package get-schema` prints). */
export function packageSchema(version: string): string {
    const resources: Record<string, unknown> = {};
    for (const [type, r] of Object.entries(RESOURCES)) {
        const i = properties(r.inputs);
        const o = properties({ ...r.inputs, ...r.outputs });
        resources[`${PACKAGE}:index:${type}`] = {
            description: r.description,
            inputProperties: i.props,
            requiredInputs: i.required,
            properties: o.props,
            required: o.required,
        };
    }
    resources[`${PACKAGE}:index:FlowsHost`] = flowsHostSchema();
    return JSON.stringify({
        name: PACKAGE,
        version,
        description: "GitHub Flows hosts over SSH: directories, files, the agent image, the Codex login and model",
        resources,
    });
}

/** The type names of the plugin's resources. */
export const RESOURCE_TYPES = Object.keys(RESOURCES);
