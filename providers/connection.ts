import * as pulumi from "@pulumi/pulumi";
import { FOUND_MARK, importStatScript } from "../lib/shell";
import { importTarget, loginKind, parseImportId, resourceIdOf, run, type SshTarget } from "../lib/ssh";
import type { HostDiffResult, HostReadResult, HostResourceProvider } from "./hostResource";

/** The SSH target as a resource input: the private key inside makes the whole value secret in state. */
export type ConnectionInput = pulumi.Input<SshTarget>;

/** A resource moved to another host is a new resource there: replace, never update in place. */
export function sameHost(a: SshTarget, b: SshTarget): boolean {
    return a.host === b.host && a.port === b.port;
}

/** Outputs that hold a credential; the engine encrypts them in state. */
export const SECRET_OUTPUTS = ["connection", "content", "stdin"];

/** Inputs of a resource that owns one path on a host, with a mode and an owner. */
export interface PathArgs {
    connection: ConnectionInput;
    path: pulumi.Input<string>;
    owner: pulumi.Input<string>;
    /** The runtime user: with root as the SSH user, every operation on the path runs as this user. */
    runtimeUser: pulumi.Input<string>;
    /** Octal text, e.g. "700". */
    mode: pulumi.Input<string>;
    /** The runtime user's home or the listed root the path lies in: root hands over no directory above it. */
    within?: pulumi.Input<string>;
}

/** The same in state. */
export interface PathState {
    connection: SshTarget;
    path: string;
    /** Desired owner in the inputs; the owner seen on the host after a read. */
    owner: string;
    /** Absent in state written before it existed: the owner was the runtime user then. */
    runtimeUser?: string;
    mode: string;
    /**
     * True when the path was already on the host when this resource was created (a host set up by hand, adopted):
     * delete leaves it. Kept by every update. Absent in state written before it existed: created, removed as before.
     */
    found?: boolean;
    within?: string;
}

/** `found` from the last line of a create or write script (`FOUND_MARK`); a script that printed none failed. */
export function foundIn(stdout: string, what: string): boolean {
    const m = FOUND_MARK.exec(stdout);
    if (!m) throw new Error(`${what}: the host script ended without saying whether the path was there`);
    return m[1] === "found";
}

/**
 * Who the host-side commands on a path run as: the runtime user from config. `owner` stands in only for state
 * written before `runtimeUser` existed, when the owner was the runtime user from config; `readPath` pins it before
 * a read overwrites `owner` with what the host shows, so an observed owner (say root) never becomes the actor.
 */
export const runAs = (s: PathState): string => s.runtimeUser ?? s.owner;

/** A path's resource id: host, port and path. */
export const pathId = (s: PathState): string => `${s.connection.host}:${s.connection.port}:${s.path}`;

/** A path moved, or moved to another host, is another resource: replace it. */
export function pathReplaced(olds: PathState, news: PathState): HostDiffResult | undefined {
    return olds.path === news.path && sameHost(olds.connection, news.connection) ? undefined : { changes: true, replaces: ["path"], deleteBeforeReplace: false };
}

/** What `pulumi import` of a path resource needs beyond the path itself: the kind, and the inputs it adds. */
export interface PathImport<S> {
    kind: "file" | "dir";
    /** The resource's own inputs, for a path the import found (a file's content stays the program's to give). */
    inputs(base: PathState): Partial<S>;
}

/**
 * `read` for `pulumi refresh`: what `observe` sees on the host, or an empty id when the path is gone. Without state
 * (`pulumi import`, an id `<login>@<address>:<port>:<path>`) it reads the path as its owner, who becomes the runtime
 * user, and marks it `found`: the stack never removes what it imported.
 */
export function readPath<S extends PathState>(observe: (s: S) => Promise<Partial<S> | undefined>, imports?: PathImport<S>): (id: string, props?: S) => Promise<HostReadResult<S>> {
    return async (id, props) => {
        if (!props) {
            if (!imports) return { id, props };
            return importPath(id, observe, imports);
        }
        const pinned = { ...props, runtimeUser: runAs(props) };
        const seen = await observe(pinned);
        // The observed owner is a reading, never who acts: `runtimeUser` (pinned above) cannot be overwritten by it.
        return seen ? { id, props: { ...pinned, ...seen, runtimeUser: pinned.runtimeUser } } : { id: "", props: pinned };
    };
}

async function importPath<S extends PathState>(id: string, observe: (s: S) => Promise<Partial<S> | undefined>, imports: PathImport<S>): Promise<HostReadResult<S>> {
    const i = parseImportId(id);
    let connection = importTarget(i);
    let out = (await run(connection, importStatScript(i.path), `importing ${id}`)).trim();
    if (out === "denied" && i.user !== "root") {
        connection = { ...connection, sudo: true };
        out = (await run(connection, importStatScript(i.path), `importing ${id} (through sudo -n)`)).trim();
    }
    const m = /^(file|dir) (\d+) (\S+)$/.exec(out);
    if (!m) {
        if (out === "absent") return { id: "" }; // the engine says the resource does not exist
        throw new Error(`importing ${id}: ${out === "link" ? "it is a symlink: refusing (a real path is expected there)" : `not importable (${out})`}`);
    }
    const [, kind, mode, owner] = m;
    if (kind !== imports.kind) throw new Error(`importing ${id}: a ${kind === "dir" ? "directory" : "file"} is there, this resource is a ${imports.kind === "dir" ? "directory" : "file"}`);
    if (owner === "root") throw new Error(`importing ${id}: it is owned by root; the runtime user must own what the agents read`);
    if (loginKind(i.user, owner) === "sudo") connection = { ...connection, sudo: true };
    else if (connection.sudo) connection = { ...connection, sudo: undefined };
    const base: PathState = { connection: JSON.parse(JSON.stringify(connection)), path: i.path, owner, runtimeUser: owner, mode };
    const inputs = { ...base, ...imports.inputs(base) } as S;
    const seen = await observe(inputs);
    if (!seen) return { id: "" };
    return { id: resourceIdOf(i), props: { ...inputs, ...seen, runtimeUser: owner, found: true }, inputs: inputs as unknown as Record<string, unknown> };
}

/** What differs between the path resources: how to look, apply, compare and remove. */
export interface PathOps<S extends PathState> {
    observe(s: S): Promise<Partial<S> | undefined>;
    /** Makes the host match `s`, changing only what differs; `found` says whether the path was there before. */
    apply(s: S): Promise<S & { found: boolean }>;
    /** Whether what the host shows (`seen`) or the inputs differ from what `news` asks for. */
    drifted(seen: Partial<S>, olds: S, news: S): boolean;
    remove(s: S): Promise<void>;
}

/**
 * The provider of a path on a host. Every diff reads the host, so drift (a changed mode, owner or content, a deleted
 * path) shows in `pulumi preview` without a refresh pass; `pulumi refresh` still works through `read`. Create adopts a
 * path already there (`found`): it fixes only what differs, and delete leaves the path (docs/adopting-a-host.md).
 */
export function pathProvider<S extends PathState>(ops: PathOps<S>, imports?: PathImport<S>): HostResourceProvider<S, S> {
    return {
        async create(inputs) {
            return { id: pathId(inputs), outs: await ops.apply(inputs) };
        },
        read: readPath(ops.observe, imports),
        async diff(_id, olds, news) {
            const moved = pathReplaced(olds, news);
            if (moved) return moved;
            const seen = await ops.observe(news);
            return { changes: !seen || ops.drifted(seen, olds, news), replaces: [], deleteBeforeReplace: false };
        },
        async update(_id, olds, news) {
            // Whether the stack found the path is decided once, at create: a repair does not make it the stack's.
            return { outs: { ...(await ops.apply(news)), found: olds.found ?? false } };
        },
        async delete(_id, props) {
            // What the stack found on the host (set up by hand) outlives it, as it was before the stack.
            if (props.found) return;
            await ops.remove(props);
        },
    };
}
