import * as pulumi from "@pulumi/pulumi";
import crypto = require("crypto");
import { parseFileScan, scanFilesScript, type ScannedFile } from "../lib/fileScan";
import { badRelativePath, fileNames, planFileSet, removeFilesScript, under, writeFilesScript, type FileSetOld } from "../lib/fileSet";
import { FOUND_MARK } from "../lib/shell";
import { run } from "../lib/ssh";
import { PathArgs, pathId, pathReplaced, PathState, readPath, runAs, SECRET_OUTPUTS } from "./connection";
import { HostResource, type HostResourceProvider } from "./hostResource";

export interface RemoteFileSetArgs extends PathArgs {
    /** Each file's exact bytes, by its path relative to `path` (the set's root directory; at most 4 levels below it). */
    files: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface State extends PathState {
    /** In the inputs only: the outputs keep the paths (the bytes are the program's, read back as sha256 on each diff). */
    files?: Record<string, string>;
    /** The relative paths the set holds on the host. */
    paths?: string[];
    /** Those of them the host had before the set held them: removal and destroy leave them. */
    adopted?: string[];
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");

function wanted(s: State): Record<string, string> {
    const files = s.files ?? {};
    for (const rel of Object.keys(files)) {
        const why = badRelativePath(rel);
        if (why) throw new Error(`files of ${s.path}: ${why}`);
    }
    return files;
}

const old = (s?: State): FileSetOld => ({ paths: s?.paths ?? [], adopted: s?.adopted ?? [] });

/** One reading of the files named as the set's (or, with no names, of every file up to 4 levels) under the root. */
async function scan(s: State, rels: readonly string[]): Promise<Map<string, ScannedFile>> {
    const names = rels.length ? fileNames(rels) : ["*"];
    return parseFileScan(await run(s.connection, scanFilesScript(s.path, names, runAs(s)), `reading the files under ${s.path}`));
}

/** Checks the paths (a bad one fails before the host is read), reads the host once, and says what to change. */
async function look(news: State, olds: FileSetOld) {
    const files = wanted(news);
    const seen = await scan(news, [...Object.keys(files), ...olds.paths]);
    const sums = Object.fromEntries(Object.entries(files).map(([rel, c]) => [rel, sha256(c)]));
    return { files, sums, ...planFileSet(seen, { root: news.path, owner: news.owner, mode: news.mode, sums }, olds) };
}

const sameList = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

/** Writes what differs, removes what the set no longer holds; the outputs keep no bytes. */
async function apply(news: State, olds: FileSetOld): Promise<State> {
    const { files, sums, write, remove, adopted } = await look(news, olds);
    if (write.length) {
        const batch = write.map((rel) => ({ path: under(news.path, rel), bytes: Buffer.byteLength(files[rel], "utf8"), sha256: sums[rel] }));
        // The bytes travel on standard input, one file after another: never in a command line or a log.
        const out = await run(news.connection, writeFilesScript({ owner: news.owner, mode: news.mode, within: news.within, files: batch }), `writing ${write.length} files under ${news.path}`, write.map((rel) => files[rel]).join(""));
        const marks = out.split("\n").filter((l) => FOUND_MARK.test(l)).length;
        if (marks !== write.length) throw new Error(`writing files under ${news.path}: the host script reported ${marks} of ${write.length} files`);
    }
    if (remove.length) await run(news.connection, removeFilesScript(remove.map((rel) => under(news.path, rel)), runAs(news)), `removing ${remove.length} files under ${news.path}`);
    const { files: _, found: __, ...rest } = news;
    return { ...rest, paths: Object.keys(files).sort(), adopted };
}

/** For `pulumi refresh` (the paths still there) and `pulumi import` (every file under the root, all adopted). */
async function observe(s: State): Promise<Partial<State> | undefined> {
    const seen = await scan(s, s.paths ?? []);
    const rels = [...seen.keys()].filter((p) => p.startsWith(`${s.path}/`)).map((p) => p.slice(s.path.length + 1));
    if (s.paths === undefined) return { paths: rels.sort(), adopted: rels };
    return { paths: s.paths.filter((rel) => seen.has(under(s.path, rel))), adopted: s.adopted ?? [] };
}

/** Exported for the unit tests against an in-process SSH server. */
export const remoteFileSetProvider: HostResourceProvider<State, State> = {
    async create(inputs) {
        return { id: pathId(inputs), outs: await apply(inputs, old()) };
    },
    read: readPath<State>(observe, { kind: "dir", inputs: () => ({}) }),
    async diff(_id, olds, news) {
        const moved = pathReplaced(olds, news);
        if (moved) return moved;
        // Not known yet in a preview (rendered from values an earlier step makes): it will change.
        if (typeof news.files !== "object" || news.files === null) return { changes: true, replaces: [], deleteBeforeReplace: false };
        const o = old(olds);
        const p = await look(news, o);
        const same = sameList(Object.keys(p.files), o.paths) && sameList(p.adopted, o.adopted);
        return { changes: p.write.length > 0 || p.remove.length > 0 || !same, replaces: [], deleteBeforeReplace: false };
    },
    async update(_id, olds, news) {
        return { outs: await apply(news, old(olds)) };
    },
    async delete(_id, props) {
        const { paths, adopted } = old(props);
        const mine = paths.filter((rel) => !adopted.includes(rel));
        if (mine.length) await run(props.connection, removeFilesScript(mine.map((rel) => under(props.path, rel)), runAs(props)), `removing ${mine.length} files under ${props.path}`);
    },
};

/**
 * Files under one directory as one resource (every profile and prompt of a host): each diff reads them all back in
 * one command, a create or update writes only those that differ in one script, and the state holds them once.
 * A file already there with the bytes is kept as it is; one the host had before the set is left by destroy.
 */
export class RemoteFileSet extends HostResource {
    // `declare`: a plain field would be re-initialised to undefined after super() under ES2022 class-field semantics.
    /** The relative paths of the files the set holds on the host. */
    declare public readonly paths: pulumi.Output<string[]>;
    /** Those the host had before the set held them: destroy leaves them. */
    declare public readonly adopted: pulumi.Output<string[]>;

    constructor(name: string, args: RemoteFileSetArgs, opts?: pulumi.CustomResourceOptions) {
        super("RemoteFileSet", name, { ...args, paths: undefined, adopted: undefined }, { ...opts, additionalSecretOutputs: SECRET_OUTPUTS });
    }
}
