import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A short random hex string, for canary values and temp names. */
export const rand = (): string => randomBytes(9).toString("hex");

/** Polls every process's command line while a run goes on: a secret in argv shows up here. */
export function watchCommandLines(needles: string[]): { stop: () => string[] } {
    const hits = new Set<string>();
    const timer = setInterval(() => {
        for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
            let cmd = "";
            try {
                cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
            } catch {
                continue;
            }
            for (const n of needles) if (cmd.includes(n)) hits.add(`pid ${pid}: ${n.slice(0, 12)}...`);
        }
    }, 20);
    return { stop: () => (clearInterval(timer), [...hits]) };
}

/**
 * Files under `roots` holding any needle (text files only), except `exclude`. With `since` (a file made
 * when the test began), only files whose inode changed after it are read: the needles are random per
 * run, so only such a file can hold one, and ctime cannot be set back from user space (unlike mtime).
 * Walking the tree is cheap; reading every file under /root, /var and /tmp (Go and npm caches, image
 * layers) took minutes, and reading only the changed ones proves the same.
 */
export function filesContaining(needles: string[], roots: string[], exclude: string[], since?: string): string[] {
    const pat = path.join(os.tmpdir(), `gfh-needles-${rand()}`);
    fs.writeFileSync(pat, needles.join("\n"), { mode: 0o600 });
    try {
        const existing = roots.filter(fs.existsSync).map((r) => `'${r}'`).join(" ");
        const script = since
            ? `find ${existing} \\( -path /proc -o -path /sys \\) -prune -o -type f -cnewer '${since}' -print0 2>/dev/null | xargs -0 -r grep -IlF -f '${pat}' 2>/dev/null || true`
            : `grep -rIlF -f '${pat}' --exclude-dir=proc --exclude-dir=sys ${existing} 2>/dev/null || true`;
        const out = execFileSync("bash", ["-c", script], { encoding: "utf8", maxBuffer: 64 << 20 });
        return out.split("\n").filter((f) => f && f !== pat && !exclude.some((e) => f === e || f.startsWith(`${e}/`)));
    } finally {
        fs.rmSync(pat, { force: true });
    }
}
