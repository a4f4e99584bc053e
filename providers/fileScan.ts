import { basename } from "path";
import { parseFileScan, scanFilesScript, type ScannedFile } from "../lib/fileScan";
import { run, type SshTarget } from "../lib/ssh";

/**
 * How long a scan answers diffs. The engine diffs one resource after another; a scan read at the first of 600
 * profile diffs answers the rest of that pass, and a later pass (the update after a preview) reads the host again.
 */
export const SCAN_TTL_MS = 10_000;

interface Scan {
    at: number;
    files: Promise<Map<string, ScannedFile>>;
}
const scans = new Map<string, Scan>();

/**
 * What the host shows of `path`, from one reading of every file of its name below `root` (as `user`), or undefined
 * when that reading did not list it (absent, a link, or written or removed by this process since the reading).
 */
export async function scanned(t: SshTarget, user: string, root: string, path: string): Promise<ScannedFile | undefined> {
    const name = basename(path);
    if (!path.startsWith(`${root}/`)) return undefined;
    const key = JSON.stringify([t.host, t.port, t.user, !!t.sudo, user, root, name]);
    let scan = scans.get(key);
    if (!scan || Date.now() - scan.at > SCAN_TTL_MS) {
        // A reading that failed (a host without GNU find, say) lists nothing: each file is then looked at on its own.
        const files = run(t, scanFilesScript(root, name, user), `reading the files named ${name} under ${root}`).then(parseFileScan, () => new Map<string, ScannedFile>());
        scan = { at: Date.now(), files };
        scans.set(key, scan);
    }
    return (await scan.files).get(path);
}

/** This process writes or removes `path`: no scan answers for it any more. */
export function forgetScanned(path: string): void {
    for (const s of scans.values()) void s.files.then((m) => m.delete(path));
}
