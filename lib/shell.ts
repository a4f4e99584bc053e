/**
 * Shell text that runs on a host. Every value is single-quoted; secrets never appear here: they
 * reach the host on standard input and are read by `cat` or by the container from a mounted file.
 */

/** Token file and Codex state as the agent container sees them (setup document, "Inside the container"). */
export const CONTAINER_TOKEN_FILE = "/run/secrets/gh-token";
export const CONTAINER_CODEX_DIR = "/home/user/.codex";

/** POSIX single-quoting: the shell passes the exact bytes, nothing inside is expanded. */
export function quote(s: string): string {
    if (s.includes("\0")) throw new Error("a shell word cannot contain a NUL byte");
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function quoteAll(words: readonly string[]): string {
    return words.map(quote).join(" ");
}

/** Ancestors of an absolute path, outermost first, without `/` itself and without the path. */
export function ancestors(p: string): string[] {
    const parts = p.split("/").filter(Boolean);
    return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

const STRICT = "set -eu";

/** Creates missing parents (owned by `owner`, 0755) without touching existing ones. */
function parentsScript(p: string, owner: string): string {
    const list = ancestors(p);
    if (list.length === 0) return "";
    return `for d in ${quoteAll(list)}; do [ -d "$d" ] || { mkdir -m 0755 "$d" && chown ${quote(`${owner}:`)} "$d"; }; done`;
}

export interface DirectorySpec {
    path: string;
    owner: string;
    /** Octal text such as "700". */
    mode: string;
}

/** mkdir + chown + chmod; idempotent, and a repair when mode or owner drifted. */
export function ensureDirectoryScript(d: DirectorySpec): string {
    const p = quote(d.path);
    return [
        STRICT,
        parentsScript(d.path, d.owner),
        `[ -d ${p} ] || mkdir -m ${quote(d.mode)} ${p}`,
        `chown ${quote(`${d.owner}:`)} ${p}`,
        `chmod ${quote(d.mode)} ${p}`,
    ]
        .filter(Boolean)
        .join("\n");
}

/** Prints `present <mode> <owner> <entries>` or `absent`; `entries` counts files up to the document's depth 3. */
export function statDirectoryScript(path: string): string {
    const p = quote(path);
    return [
        `if [ -d ${p} ]; then`,
        `  printf 'present %s %s ' "$(stat -c %a ${p})" "$(stat -c %U ${p})"`,
        `  find ${p} -mindepth 1 -maxdepth 3 -type f 2>/dev/null | wc -l`,
        "else echo absent; fi",
    ].join("\n");
}

/** Removes a directory only when empty: the operator's files are never lost. */
export function removeEmptyDirectoryScript(path: string): string {
    return `rmdir ${quote(path)} 2>/dev/null || true`;
}

export interface FileSpec {
    path: string;
    owner: string;
    mode: string;
}

/**
 * Writes standard input to `path` atomically: a temporary file in the same directory gets the
 * content, owner and mode, is flushed, then renamed over the target. A failure at any step (disk
 * full, dropped connection) removes the temporary file and leaves the old content in place.
 */
export function writeFileScript(f: FileSpec): string {
    const dir = f.path.slice(0, f.path.lastIndexOf("/")) || "/";
    const base = f.path.slice(f.path.lastIndexOf("/") + 1);
    return [
        STRICT,
        "umask 077",
        parentsScript(f.path, f.owner),
        `tmp=$(mktemp ${quote(`${dir}/.${base}.XXXXXX`)})`,
        `trap 'rm -f "$tmp"' EXIT`,
        `cat > "$tmp"`,
        `chown ${quote(`${f.owner}:`)} "$tmp"`,
        `chmod ${quote(f.mode)} "$tmp"`,
        `sync "$tmp" 2>/dev/null || sync`,
        // -T: a directory in the way fails the write instead of swallowing the file.
        `mv -fT "$tmp" ${quote(f.path)}`,
        "trap - EXIT",
    ]
        .filter(Boolean)
        .join("\n");
}

/**
 * Prints `present <mode> <owner> <sha256>` or `absent`. The hash lets drift be seen without reading a
 * secret back; a file the SSH user cannot read (e.g. chowned to root) reports `unreadable`.
 */
export function statFileScript(path: string): string {
    const p = quote(path);
    return [
        `if [ -f ${p} ]; then`,
        `  sum=$( (sha256sum < ${p}) 2>/dev/null | cut -d' ' -f1); [ -n "$sum" ] || sum=unreadable`,
        `  printf 'present %s %s %s\\n' "$(stat -c %a ${p})" "$(stat -c %U ${p})" "$sum"`,
        "else echo absent; fi",
    ].join("\n");
}

export function removeFileScript(path: string): string {
    return `rm -f ${quote(path)}`;
}

/** Pulls `from`, tags it as `image` when they differ, prints the image id. */
export function pullImageScript(from: string, image: string): string {
    const lines = [STRICT, `docker pull --quiet ${quote(from)} >&2`];
    if (from !== image) lines.push(`docker tag ${quote(from)} ${quote(image)}`);
    lines.push(`docker image inspect --format '{{.Id}}' ${quote(image)}`);
    return lines.join("\n");
}

/** Prints the image id, or `absent`; fails (rather than reporting `absent`) when the daemon cannot answer. */
export function inspectImageScript(image: string): string {
    return [
        `out=$(docker image inspect --format '{{.Id}}' ${quote(image)} 2>&1) && { printf '%s\\n' "$out"; exit 0; }`,
        `case "$out" in *"No such image"*|*"no such image"*) echo absent ;; *) printf '%s\\n' "$out" >&2; exit 1 ;; esac`,
    ].join("\n");
}
