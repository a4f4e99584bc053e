import { SCAN_DEPTH, type ScannedFile } from "./fileScan";
import { ROOT_DIRS, runtimeUserPrelude, USER_DIRS, WRITE_FILE, writeFileWords } from "./hostfs";
import { ancestors, quote, quoteAll } from "./quote";

/**
 * A set of files under one directory, kept as one resource (the profiles and prompts of every repository of a host):
 * one reading of the host tells what differs, one script writes what differs, one state entry holds them all.
 * Each file is written exactly as `writeFileScript` writes one (as the runtime user, atomically, links refused).
 */

/** Why `rel` cannot be a file of a set (undefined: it can): a plain relative path the set's scan reaches. */
export function badRelativePath(rel: string): string | undefined {
    const parts = rel.split("/");
    if (rel.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) return `'${rel}' is not a plain relative path (no leading /, no empty, . or .. part)`;
    if (/[\0\n\\]/.test(rel)) return `'${rel}' holds a NUL byte, a line break or a backslash`;
    if (parts.length > SCAN_DEPTH) return `'${rel}' lies ${parts.length} levels below the root; a set reaches ${SCAN_DEPTH}`;
    return undefined;
}

/** The distinct file names of a set's paths: what its scan looks for. */
export const fileNames = (rels: readonly string[]): string[] => [...new Set(rels.map((r) => r.slice(r.lastIndexOf("/") + 1)))].sort();

/** `root/rel`. */
export const under = (root: string, rel: string): string => `${root.replace(/\/+$/, "")}/${rel}`;

const sameMode = (a: string, b: string) => parseInt(a, 8) === parseInt(b, 8);

export interface FileSetWant {
    root: string;
    owner: string;
    mode: string;
    /** sha256 (hex) of each file's bytes, by relative path. */
    sums: Record<string, string>;
}

export interface FileSetOld {
    /** The relative paths the set held after its last create or update. */
    paths: readonly string[];
    /** Those of them that were on the host before the set (destroy and removal leave them). */
    adopted: readonly string[];
}

export interface FileSetPlan {
    /** Wanted files that are absent or differ on the host (bytes, mode or owner). */
    write: string[];
    /** Files the set held, wants no more, did not adopt, and the host still has. */
    remove: string[];
    /** Wanted files the host had before the set held them, with those adopted earlier: the set's `adopted` after it writes. */
    adopted: string[];
}

/** What to change so that the host (`seen`, a scan of the root by absolute path) holds what the set wants. */
export function planFileSet(seen: ReadonlyMap<string, ScannedFile>, want: FileSetWant, old: FileSetOld): FileSetPlan {
    const held = new Set(old.paths);
    const wasAdopted = new Set(old.adopted);
    const write: string[] = [];
    const adopted: string[] = [];
    for (const [rel, sum] of Object.entries(want.sums).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const f = seen.get(under(want.root, rel));
        if (!f || f.sha256 !== sum || f.owner !== want.owner || !sameMode(f.mode, want.mode)) write.push(rel);
        if (wasAdopted.has(rel) || (f && !held.has(rel))) adopted.push(rel);
    }
    const remove = old.paths.filter((rel) => !(rel in want.sums) && !wasAdopted.has(rel) && seen.has(under(want.root, rel)));
    return { write, remove, adopted };
}

export interface FileSetWrite {
    owner: string;
    mode: string;
    /** As in FileSpec: root hands over no directory above it. */
    within?: string;
    /** Absolute paths, the byte length of their content (the contents follow one another on stdin, in this order) and sha256. */
    files: ReadonlyArray<{ path: string; bytes: number; sha256: string }>;
}

/**
 * Writes the files from standard input, one after another (`head -c` takes exactly each file's bytes), each as
 * `writeFileScript` writes one: its missing parents made (once per directory) as the runtime user, the bytes checked
 * against the sha256 before the rename, a file already holding them kept. Prints one `gfh-file=...` line per file, in
 * order (`FOUND_MARK`). The first failure stops the script; the files written before it stay written.
 */
export function writeFilesScript(w: FileSetWrite): string {
    const lines = ["set -eu", "umask 077", runtimeUserPrelude(w.owner), ROOT_DIRS, `ud=${quote(USER_DIRS)}`, `wf=${quote(WRITE_FILE)}`];
    const dirs = new Set<string>();
    for (const f of w.files) {
        const parents = ancestors(f.path);
        const dir = parents[parents.length - 1] ?? "/";
        if (parents.length && !dirs.has(dir)) {
            dirs.add(dir);
            lines.push(`rootdirs 0 0755 ${quoteAll([w.within ?? "", ...parents])}`, `asuser sh -c "$ud" sh ${quoteAll([w.owner, "parents", "0755", ...parents])}`);
        }
        lines.push(`head -c ${f.bytes} | asuser sh -c "$wf" sh ${quoteAll(writeFileWords({ path: f.path, owner: w.owner, mode: w.mode, sha256: f.sha256 }))}`);
    }
    return lines.join("\n");
}

/** Removes files as `user` (links removed, never followed; a missing file is no error). */
export function removeFilesScript(paths: readonly string[], user: string): string {
    return [runtimeUserPrelude(user), `asuser rm -f -- ${quoteAll(paths)}`].join("\n");
}
