import { gunzipSync, gzipSync } from "node:zlib";
import { quote } from "./quote";
import { SUDO_PREFIX } from "./ssh/login";

/**
 * Shell text that runs on a host. Every value is single-quoted; secrets never appear here: they
 * reach the host on standard input and are read by `cat` or by the container from a mounted file.
 */


export { ancestors, quote, quoteAll } from "./quote";
export type { DirectorySpec, FileSpec } from "./hostfs";
export {
    ensureDirectoryScript,
    FOUND_MARK,
    importStatScript,
    removeEmptyDirectoryScript,
    removeFileScript,
    statDirectoryScript,
    statFileScript,
    writeFileScript,
} from "./hostfs";

const STRICT = "set -eu";

/** Last line of every script sent on stdin: tells a whole script from one cut off on the way. */
export const SCRIPT_END = "#github-flows-host: end of script";

/**
 * How a script runs on a host: a short fixed command reads the script from standard input and runs it, so no
 * script, however long (300 repositories), meets Linux's 128 KiB limit on one argument (E2BIG). `head -c` reads
 * exactly the script's bytes; what follows on stdin (a secret) is left for the script. The SSH runner and
 * `@pulumi/command` both send `command` as the command and `input` as stdin. With `sudo` (a sudo admin login) the
 * same command runs as root through `sudo -n`: sudo passes stdin through untouched, never prompts, and logs only
 * this fixed command line (no script, no secret).
 *
 * The script travels gzipped (base64, one line): `@pulumi/command` keeps its stdin, a secret with the token behind
 * the script, in state twice; packed, the checks' 12 KB script costs 3.5 KB there (docs/performance.md, "State").
 * zlib's output is the same for the same script, so an unchanged script is an unchanged input.
 */
export function launch(script: string, stdin = "", sudo = false): { command: string; input: string } {
    const packed = gzipSync(`${script}\n${SCRIPT_END}\n`, { level: 9 }).toString("base64");
    const broken = "{ echo 'github-flows-host: the script did not arrive whole on stdin' >&2; exit 97; }";
    const inner = [`s=$(head -c ${packed.length} | base64 -d | gzip -dc) || ${broken}`, `case "$s" in *${quote(SCRIPT_END)}) ;; *) ${broken} ;; esac`, 'eval "$s"'].join("\n");
    return { command: `${sudo ? SUDO_PREFIX : ""}/bin/sh -c ${quote(inner)}`, input: packed + stdin };
}

/** What `launch` sent, read back (tests, reading a state): the script and the stdin behind it. */
export function unlaunch(l: { command: string; input: string }): { script: string; stdin: string } {
    const n = Number(/head -c (\d+)/.exec(l.command)?.[1]);
    const text = Number.isInteger(n) ? gunzipSync(Buffer.from(l.input.slice(0, n), "base64")).toString("utf8") : "";
    const end = `\n${SCRIPT_END}\n`;
    if (!text.endsWith(end)) throw new Error("not a command and input made by launch");
    return { script: text.slice(0, -end.length), stdin: l.input.slice(n) };
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
