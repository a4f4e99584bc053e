import { runtimeUserPrelude } from "./hostfs";
import { quote, quoteAll } from "./quote";

/** How deep below its root a scan looks: `<owner>/<name>/<event>-<action>/<file>` under a workspace's `cfg/repos`. */
export const SCAN_DEPTH = 4;

/** What a scan saw of one regular file: as `statFileScript` prints it (`unreadable` when its bytes could not be read). */
export interface ScannedFile {
    mode: string;
    owner: string;
    sha256: string;
}

const SUMS = "gfh-scan-sums";

/**
 * Reads, as the runtime user and in one command, the mode, owner and sha256 of every regular file with one of
 * `names` (`*`: any) up to `SCAN_DEPTH` levels below `root` (300 profiles and their prompts: one SSH exec instead of
 * 600). Links are never followed and never listed. Prints `<mode> <owner> <path>` records ended by NUL (a path may hold any byte but NUL), a line
 * `gfh-scan-sums`, then `sha256sum`'s lines. Nothing when `root` is not a directory.
 */
export function scanFilesScript(root: string, names: readonly string[], user: string): string {
    if (names.length === 0) throw new Error("a scan needs at least one file name");
    // `-name "$2" -o -name "$3" ...`: the names travel as arguments, never inside the text.
    const match = `\\( ${names.map((_, i) => `-name "$${i + 2}"`).join(" -o ")} \\)`;
    const body = [
        'r=$1',
        '[ -d "$r" ] && [ ! -L "$r" ] || exit 0',
        `find "$r" -maxdepth ${SCAN_DEPTH} -type f ${match} -printf '%m %u %p\\0'`,
        `printf '\\n${SUMS}\\n'`,
        // A file the user cannot read gets no line here (sha256sum says so on stderr and goes on).
        `find "$r" -maxdepth ${SCAN_DEPTH} -type f ${match} -exec sha256sum -- {} + 2>/dev/null || true`,
    ].join("\n");
    return [runtimeUserPrelude(user), `asuser sh -c ${quote(body)} sh ${quoteAll([root, ...names])}`].join("\n");
}

/**
 * The files of a scan by path. A file listed without a sum was unreadable; a sum line of an escaped name (one with
 * a backslash or a line break, which `sha256sum` prints with a leading backslash) is left out: such a path is never
 * one this program writes. A file listed without a sum is `unreadable`, as `statFileScript` says it: drift, rewritten.
 */
export function parseFileScan(out: string): Map<string, ScannedFile> {
    const files = new Map<string, ScannedFile>();
    const at = out.lastIndexOf(`\n${SUMS}\n`);
    if (at < 0) return files;
    for (const rec of out.slice(0, at).split("\0")) {
        const m = /^(\d+) (\S+) (\/.*)$/s.exec(rec);
        if (m) files.set(m[3], { mode: m[1], owner: m[2], sha256: "unreadable" });
    }
    for (const line of out.slice(at + SUMS.length + 2).split("\n")) {
        const m = /^([0-9a-f]{64}) {2}(\/.*)$/.exec(line);
        const f = m && files.get(m[2]);
        if (f) f.sha256 = m![1];
    }
    return files;
}
