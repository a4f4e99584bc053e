import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const DIRS = ["scripts", "bench", ".ci"];

/** Every file below dir (relative to the repository root). */
function walk(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
}

/** Every shell script of the project: each runs under `set -o pipefail` or is sourced by one that does. */
function shellScripts(): string[] {
    return DIRS.flatMap(walk).filter((f) => /\.sh$|^\.ci\/run$/.test(f));
}

/**
 * Pipelines whose reader may exit before the writer is done: the writer then dies of SIGPIPE (exit 141) and, under
 * pipefail, the whole pipeline fails at random (sandbox.sh's `gh repo view | head -1` failed cold CI runs this way).
 */
function earlyExitPipes(text: string): string[] {
    const joined = text.replace(/\|[ \t]*\\?\n/g, "| "); // a pipe at a line end continues on the next line
    const found: string[] = [];
    const re = /\|[ \t]*(head\b[^|;&\n]*|grep[ \t]+(?:-\w*[qlmL]\w*|--quiet|--max-count)[^|;&\n]*|awk\b[^']*'([^']*)')/g;
    for (let m = re.exec(joined); m; m = re.exec(joined)) {
        if (m[1].startsWith("awk") && !/\bexit\b/.test(m[2] ?? "")) continue;
        found.push(m[0].split("\n")[0].trim());
    }
    return found;
}

describe("shell scripts under pipefail", () => {
    it("finds the scripts (the scan below is not vacuous)", () => {
        expect(shellScripts()).toEqual(expect.arrayContaining(["scripts/sandbox.sh", "scripts/test.sh", "scripts/toolchain.sh", "bench/run.sh", "bench/fleet.sh", "bench/lib/common.sh", "scripts/lib/proc.sh", "scripts/sandbox/image.sh", ".ci/run"]));
    });

    it("the scan recognises the pipelines that fail at random", () => {
        expect(earlyExitPipes("gh repo view acme/demo | head -1 || exit 1")).toHaveLength(1);
        expect(earlyExitPipes("id -nG u | tr ' ' '\\n' | grep -qx docker")).toHaveLength(1);
        expect(earlyExitPipes("cat f |\n  awk '$1 == 1 { print; exit }'")).toHaveLength(1);
        expect(earlyExitPipes("gh repo view acme/demo | sed -n 1p; x | awk '{ print }'; grep -q x <<<\"$y\"")).toEqual([]);
    });

    it("and such a pipeline does fail under pipefail with exit 141", () => {
        const r = spawnSync("bash", ["-c", "set -o pipefail; yes | head -1 >/dev/null"]);
        expect(r.status).toBe(141);
    });

    it.each(shellScripts())("%s pipes into no reader that may stop early", (f) => {
        expect(earlyExitPipes(fs.readFileSync(path.join(ROOT, f), "utf8"))).toEqual([]);
    });
});
