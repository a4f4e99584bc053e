import { ancestors, quote, quoteAll } from "./quote";

/**
 * Shell text for the files and directories this program keeps under the runtime user's tree.
 *
 * The runtime user runs model-written code, so it is treated as an adversary: it may plant a symlink where a
 * directory or file is expected, or swap a temporary file for one while a script runs. Hence, when the SSH user is
 * root (or a sudo admin: the launcher runs every script through `sudo -n`, lib/ssh/login.ts, so this text runs as root):
 * - every operation on a path the runtime user can influence runs as the runtime user (`setpriv`), so a link it
 *   planted leads only to what it could change anyway;
 * - root itself only creates a missing directory whose parent the runtime user cannot write (then hands it over with
 *   `chown -h`), or hands over an existing, empty, root-owned configured directory in such a parent: nothing root
 *   touches can be swapped under it, and nothing already in a directory becomes the runtime user's;
 * - root judges "the runtime user cannot write it" itself, from the inode (owner, group and mode against the user's
 *   groups in the host's group database, and any ACL counts as writable), never from a command run as that user: a
 *   process of the same uid could ptrace such a command and change its answer;
 * - a symlink where a real directory or file is expected is refused, naming where it points. A link in a directory
 *   only root can write (e.g. `/home` -> `/usr/home`) is the host's own layout and is followed.
 * With the runtime user as the SSH user the same text runs without the privilege change.
 */

/** Exit statuses of the generated text, for messages and tests. */
export const EXIT = { noUser: 20, wrongSshUser: 21, link: 22, notDirectory: 23, cannotCreate: 24, foreignOwner: 25, notHandedOver: 26 } as const;

/**
 * Resolves the runtime user (`ruid`, `rgid`) and defines `asuser CMD...`: CMD as the runtime user when the SSH user is
 * root, CMD itself when the SSH user is the runtime user. Any other SSH user is refused (it could not chown).
 */
export function runtimeUserPrelude(user: string): string {
    const u = quote(user);
    return [
        `ent=$(getent passwd ${u}) || { printf '%s\\n' ${quote(`the runtime user '${user}' does not exist on this host (getent passwd ${user} found no entry)`)} >&2; exit ${EXIT.noUser}; }`,
        `ruser=${u}; ruid=$(printf '%s\\n' "$ent" | cut -d: -f3); rgid=$(printf '%s\\n' "$ent" | cut -d: -f4)`,
        // The groups as root reads them from the host's group database (what setpriv --init-groups will give).
        `rgroups=$(id -G -- ${u}) || { printf '%s\\n' ${quote(`cannot read the groups of the runtime user '${user}'`)} >&2; exit ${EXIT.noUser}; }`,
        `if [ "$(id -u)" = 0 ]; then asuser() { setpriv --reuid="$ruid" --regid="$rgid" --init-groups -- "$@"; }`,
        `elif [ "$(id -u)" = "$ruid" ]; then asuser() { "$@"; }`,
        `else printf 'the SSH user %s is neither root nor the runtime user %s\\n' "$(id -un)" ${u} >&2; exit ${EXIT.wrongSshUser}; fi`,
    ].join("\n");
}

/**
 * `uctl D`, run by root: true when the runtime user may change D's entries or D itself, judged from the inode and
 * the group database only (never from a command run as that user, whose answer a same-uid ptrace could change):
 * it owns D, or D is writable by others, or by a group the user is in (`$rgroups`), or D carries an ACL (any
 * ACL counts as granting it; `ls` marks one with '+'), or D cannot be read at all.
 */
const USER_CONTROLS = [
    "uctl() {",
    `  s_=$(stat -c '%u %g %a' -- "$1") || return 0`,
    '  o_=${s_%% *}; s_=${s_#* }; g_=${s_%% *}; a_=$((0${s_#* }))',
    '  [ "$o_" != "$ruid" ] || return 0',
    '  [ $((a_ & 2)) -eq 0 ] || return 0',
    '  if [ $((a_ & 16)) -ne 0 ]; then for x_ in $rgroups; do [ "$x_" != "$g_" ] || return 0; done; fi',
    '  l_=$(LC_ALL=C ls -ld -- "$1") || return 0',
    '  case $l_ in ??????????+*) return 0;; esac',
    "  return 1",
    "}",
].join("\n");

/**
 * `rootdirs HAND MODE WITHIN D1..Dn` (components of a path, outermost first): the part only root can do, run by root
 * before the runtime user takes over. Above WITHIN (the runtime user's home or the listed root the path lies in; ""
 * for no bound) a missing directory is created root's, 0755, and nothing is handed over. It walks down while the runtime user controls nothing on the way, and stops
 * at the first component the runtime user owns or can write (`uctl`), at a link, or right after creating a missing
 * directory (0755, or MODE for Dn when HAND=1) and handing it over. With HAND=1 an existing Dn there is handed over
 * only when it is empty and root's; anything else is refused, naming it, before anything changes.
 */
export const ROOT_DIRS = [
    USER_CONTROLS,
    "rootdirs() {",
    '  hand=$1; m=$2; w=$3; shift 3',
    '  if [ "$(id -u)" != 0 ] || [ "$ruid" = 0 ]; then return 0; fi',
    '  n=$#; i=0',
    '  for d do',
    '    i=$((i + 1))',
    '    if [ ! -e "$d" ] && [ ! -L "$d" ]; then',
    '      p=${d%/*}; [ -n "$p" ] || p=/',
    '      if uctl "$p"; then return 0; fi',
    '      above=0; if [ -n "$w" ] && [ "$d" != "$w" ]; then case $w/ in "$d"/*) above=1;; esac; fi',
    '      dm=0755; if [ "$i" -eq "$n" ] && [ "$hand" = 1 ]; then dm=$m; fi',
    '      if err=$(mkdir -m "$dm" -- "$d" 2>&1); then',
    '        if [ "$above" = 1 ]; then continue; fi',
    '        chown -h -- "$ruid:$rgid" "$d"; return 0',
    '      fi',
    // Made meanwhile by a run beside this one (resources are created in parallel): look at it as it is now.
    `      [ -d "$d" ] || { printf 'cannot create %s: %s\\n' "$d" "$err" >&2; exit ${EXIT.cannotCreate}; }`,
    '    fi',
    '    if [ -L "$d" ]; then return 0; fi',
    '    if [ ! -d "$d" ] || uctl "$d"; then return 0; fi',
    '    if [ "$i" -eq "$n" ] && [ "$hand" = 1 ]; then',
    '      o=$(stat -c %u -- "$d"); e=$(ls -A -- "$d" | wc -l)',
    '      if [ "$o" != 0 ] || [ "$e" != 0 ]; then',
    `        printf '%s already exists, owned by %s, holding %s entries: refusing to give it to the runtime user %s (only a new or empty root-owned directory is handed over); choose another path, or chown it to %s yourself if everything in it may be theirs\\n' "$d" "$(stat -c %U -- "$d")" "$e" "$ruser" "$ruser" >&2; exit ${EXIT.notHandedOver}`,
    '      fi',
    '      chown -h -- "$ruid:$rgid" "$d"',
    '    fi',
    '  done',
    "}",
].join("\n");

/**
 * `sh -c USER_DIRS sh WHO KIND MODE D1..Dn`, run as the runtime user. KIND `dir`: Dn becomes a directory with MODE
 * (missing parents 0755); `parents`: D1..Dn exist as directories (missing ones 0755), nothing else changes;
 * `check`: nothing is created, links are only looked for. A link is refused at Dn and wherever its directory is
 * the runtime user's or writable by it.
 */
export const USER_DIRS = [
    "set -eu",
    'who=$1; kind=$2; m=$3; shift 3',
    'n=$#; i=0; d=',
    'for d do',
    '  i=$((i + 1))',
    '  p=${d%/*}; [ -n "$p" ] || p=/',
    '  if [ -L "$d" ]; then',
    '    if [ "$i" -eq "$n" ] || [ -O "$p" ] || [ -w "$p" ]; then',
    `      printf '%s is a symlink to %s: refusing (a real directory is expected there)\\n' "$d" "$(readlink -- "$d")" >&2; exit ${EXIT.link}`,
    '    fi',
    '    continue',
    '  fi',
    '  if [ -d "$d" ]; then continue; fi',
    `  if [ -e "$d" ]; then printf '%s exists and is not a directory\\n' "$d" >&2; exit ${EXIT.notDirectory}; fi`,
    '  if [ "$kind" = check ]; then continue; fi',
    '  dm=0755; if [ "$i" -eq "$n" ] && [ "$kind" = dir ]; then dm=$m; fi',
    // A directory made meanwhile by a run beside this one (resources are created in parallel) is as good.
    `  err=$(mkdir -m "$dm" -- "$d" 2>&1) || { [ -d "$d" ] && [ ! -L "$d" ]; } || { printf 'cannot create %s as %s: %s\\n' "$d" "$who" "$err" >&2; exit ${EXIT.cannotCreate}; }`,
    "done",
    'if [ "$kind" != dir ]; then exit 0; fi',
    'if [ ! -O "$d" ]; then',
    `  printf '%s is owned by %s, not %s, in a directory %s controls, where root does not act: remove it or chown it to %s by hand\\n' "$d" "$(stat -c %U -- "$d")" "$who" "$who" "$who" >&2; exit ${EXIT.foreignOwner}`,
    "fi",
    'chmod "$m" "$d"',
].join("\n");

/** Shell line: as the runtime user, refuse links along `p` (its ancestors and itself) without creating anything. */
export function refuseLinksLine(user: string, p: string): string {
    return `asuser sh -c ${quote(USER_DIRS)} sh ${quoteAll([user, "check", "0", ...ancestors(p), p])}`;
}

export interface DirectorySpec {
    path: string;
    /** The runtime user's home or the listed root `path` lies in: root hands over nothing above it ("" or absent: no bound). */
    within?: string;
    /** The runtime user: it owns the directory, and the operations run as it. */
    owner: string;
    /** Octal text such as "700". */
    mode: string;
}

/** The last line of `ensureDirectoryScript` and `writeFileScript`: whether the path was there before (`found`) or made (`created`). */
export const FOUND_MARK = /^gfh-(?:dir|file)=(found|created)\b/m;

/**
 * mkdir + chown + chmod; idempotent, and a repair when mode or owner drifted. Missing parents become 0755, the owner's.
 * An existing directory keeps its inode and mtime (chmod touches only its ctime). Prints `gfh-dir=found` when the
 * directory was there before (a host set up by hand), `gfh-dir=created` when this run made it.
 */
export function ensureDirectoryScript(d: DirectorySpec): string {
    const chain = [...ancestors(d.path), d.path];
    const p = quote(d.path);
    return [
        "set -eu",
        runtimeUserPrelude(d.owner),
        // Only a look (stat): a link there is refused below, by the runtime user.
        `if [ -d ${p} ] && [ ! -L ${p} ]; then gfh_found=found; else gfh_found=created; fi`,
        ROOT_DIRS,
        `rootdirs 1 ${quoteAll([d.mode, d.within ?? "", ...chain])}`,
        `asuser sh -c ${quote(USER_DIRS)} sh ${quoteAll([d.owner, "dir", d.mode, ...chain])}`,
        `printf 'gfh-dir=%s\\n' "$gfh_found"`,
    ].join("\n");
}

/**
 * Prints `present <mode> <owner> <entries>` or `absent`; `entries` counts files up to the document's depth 3. Read
 * as `user`; `""` reads as the SSH user (state written before the runtime user was recorded).
 */
export function statDirectoryScript(path: string, user: string): string {
    const body = [
        'p=$1',
        'if [ -d "$p" ]; then',
        `  printf 'present %s %s ' "$(stat -c %a -- "$p")" "$(stat -c %U -- "$p")"`,
        '  find "$p" -mindepth 1 -maxdepth 3 -type f 2>/dev/null | wc -l',
        "else echo absent; fi",
    ].join("\n");
    if (!user) return `sh -c ${quote(body)} sh ${quote(path)}`;
    return [runtimeUserPrelude(user), `asuser sh -c ${quote(body)} sh ${quote(path)}`].join("\n");
}

/** Removes a directory only when empty (as `user`): the operator's files are never lost. */
export function removeEmptyDirectoryScript(path: string, user: string): string {
    return [runtimeUserPrelude(user), `asuser rmdir -- ${quote(path)} 2>/dev/null || true`].join("\n");
}

export interface FileSpec {
    path: string;
    /** As in DirectorySpec: root hands over no directory above it. */
    within?: string;
    /** The runtime user: it owns the file, and the operations run as it. */
    owner: string;
    mode: string;
    /**
     * sha256 (hex) of the content on stdin: a file already there, owned by the runtime user with these bytes, is
     * kept (its inode and mtime stay; a wrong mode gets a chmod) instead of rewritten. Without it, always written.
     */
    sha256?: string;
}

/**
 * `sh -c WRITE_FILE sh PATH MODE TEMPLATE [SHA256]`, as the runtime user: stdin goes into a new file (mktemp: O_EXCL,
 * a random name, 0600) beside PATH, gets MODE, is flushed, then renamed over PATH. A link at PATH is refused; a
 * failure at any step removes the temporary file and leaves the old content in place. With SHA256, a file of the
 * runtime user's that already holds those bytes is left as it is (stdin drained; chmod only when MODE differs), so
 * no temporary file touches its directory either. Prints `gfh-file=found|created kept|chmod|written`.
 */
export const WRITE_FILE = [
    "set -eu",
    "umask 077",
    't=$1; m=$2; want=${4:-}',
    `if [ -L "$t" ]; then printf '%s is a symlink to %s: refusing (a real file is expected there)\\n' "$t" "$(readlink -- "$t")" >&2; exit ${EXIT.link}; fi`,
    `if [ -d "$t" ]; then printf '%s is a directory, not a file\\n' "$t" >&2; exit ${EXIT.notDirectory}; fi`,
    // Temp names of an earlier write left behind (a run killed mid-write, or a link the runtime user swapped in and
    // that outlived the cleanup): only entries with exactly this file's temp name, and never a directory.
    'for s in "${3%XXXXXXXXXX}"??????????; do if [ -L "$s" ] || [ -f "$s" ]; then rm -f -- "$s"; fi; done',
    "found=created",
    'if [ -f "$t" ]; then',
    "  found=found",
    `  if [ -n "$want" ] && [ -O "$t" ] && [ "$( (sha256sum < "$t") 2>/dev/null | cut -d' ' -f1)" = "$want" ]; then`,
    "    cat > /dev/null",
    '    a=$(stat -c %a -- "$t")',
    `    if [ "$a" = "$m" ] || [ "0$a" = "$m" ]; then echo 'gfh-file=found kept'; else chmod "$m" "$t"; echo 'gfh-file=found chmod'; fi`,
    "    exit 0",
    "  fi",
    "fi",
    'tmp=$(mktemp -- "$3")',
    `trap 'rm -f -- "$tmp"' EXIT`,
    'cat > "$tmp"',
    // Bytes cut off on the way (a dropped connection, a batch whose stdin ran short) never replace the file.
    `if [ -n "$want" ] && [ "$(sha256sum < "$tmp" | cut -d' ' -f1)" != "$want" ]; then printf '%s: the content did not arrive whole; the file is left as it was\\n' "$t" >&2; exit 1; fi`,
    'chmod "$m" "$tmp"',
    'sync -- "$tmp" 2>/dev/null || sync',
    // -T: a directory in the way fails the write instead of swallowing the file.
    'mv -fT -- "$tmp" "$t"',
    "trap - EXIT",
    `printf 'gfh-file=%s written\\n' "$found"`,
].join("\n");

/**
 * Writes standard input to `path` atomically, as the runtime user, creating missing parents (0755, the owner's); with
 * `sha256`, a file that already holds the bytes is kept. Its last line says whether the file was there (`FOUND_MARK`).
 */
export function writeFileScript(f: FileSpec): string {
    const parents = ancestors(f.path);
    const lines = ["set -eu", "umask 077", runtimeUserPrelude(f.owner)];
    if (parents.length) {
        lines.push(ROOT_DIRS, `rootdirs 0 0755 ${quoteAll([f.within ?? "", ...parents])}`, `asuser sh -c ${quote(USER_DIRS)} sh ${quoteAll([f.owner, "parents", "0755", ...parents])}`);
    }
    lines.push(`asuser sh -c ${quote(WRITE_FILE)} sh ${quoteAll(writeFileWords(f))}`);
    return lines.join("\n");
}

/** The arguments of `WRITE_FILE` for `f`: path, mode, the temp name's template beside it, the sha256 if any. */
export function writeFileWords(f: FileSpec): string[] {
    const dir = f.path.slice(0, f.path.lastIndexOf("/")) || "/";
    const base = f.path.slice(f.path.lastIndexOf("/") + 1);
    return [f.path, f.mode, `${dir === "/" ? "" : dir}/.${base}.XXXXXXXXXX`, ...(f.sha256 ? [f.sha256] : [])];
}

/**
 * Prints `present <mode> <owner> <sha256>` or `absent`, read as `user`. The hash lets drift be seen without reading
 * a secret back; a file the runtime user cannot read (e.g. chowned to root) reports `unreadable`.
 */
export function statFileScript(path: string, user: string): string {
    const body = [
        'p=$1',
        'if [ -f "$p" ]; then',
        `  sum=$( (sha256sum < "$p") 2>/dev/null | cut -d' ' -f1); [ -n "$sum" ] || sum=unreadable`,
        `  printf 'present %s %s %s\\n' "$(stat -c %a -- "$p")" "$(stat -c %U -- "$p")" "$sum"`,
        "else echo absent; fi",
    ].join("\n");
    return [runtimeUserPrelude(user), `asuser sh -c ${quote(body)} sh ${quote(path)}`].join("\n");
}

/** Removes a file as `user` (a link is removed, never followed). */
export function removeFileScript(path: string, user: string): string {
    return [runtimeUserPrelude(user), `asuser rm -f -- ${quote(path)}`].join("\n");
}

/**
 * For `pulumi import`, before the runtime user is known: what is at `path`, as the login sees it without following a
 * final link. Prints `file <mode> <owner>`, `dir <mode> <owner>`, `link`, `other`, `denied` (the login cannot look:
 * a sudo login then looks through sudo) or `absent`.
 */
export function importStatScript(path: string): string {
    return [
        `p=${quote(path)}`,
        'if [ -L "$p" ]; then echo link',
        `elif [ -d "$p" ]; then printf 'dir %s %s\\n' "$(stat -c %a -- "$p")" "$(stat -c %U -- "$p")"`,
        `elif [ -f "$p" ]; then printf 'file %s %s\\n' "$(stat -c %a -- "$p")" "$(stat -c %U -- "$p")"`,
        'elif [ -e "$p" ]; then echo other',
        'elif stat -- "$p" 2>&1 | grep -q "Permission denied"; then echo denied',
        "else echo absent; fi",
    ].join("\n");
}
