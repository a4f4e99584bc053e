import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFileScan, scanFilesScript } from "../../lib/fileScan";
import { launch, statFileScript } from "../../lib/shell";

/**
 * The scan that answers every profile's diff, run for real as root with `nobody` as the runtime user: it must see
 * each file as `statFileScript` sees it, and nothing the runtime user plants may pass for one of the files.
 */
const ADV = "nobody";
let root: string;
let uid = 0;
let gid = 0;

const run = (script: string) => {
    const l = launch(script);
    const r = spawnSync("sh", ["-c", l.command], { input: l.input });
    expect(r.status, r.stderr.toString()).toBe(0);
    return r.stdout.toString();
};
const asAdversary = (script: string) => {
    const r = spawnSync("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "sh", "-c", script]);
    expect(r.status, r.stderr.toString()).toBe(0);
};

beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests drop privileges from root to 'nobody': run them as root (npm test does)");
    const ent = spawnSync("getent", ["passwd", ADV]).stdout.toString().split(":");
    [uid, gid] = [Number(ent[2]), Number(ent[3])];
    const base = fs.mkdtempSync("/var/lib/gfh-unit-scan-");
    fs.chmodSync(base, 0o755);
    root = path.join(base, "repos");
    fs.mkdirSync(root);
    fs.chownSync(root, uid, gid);
});
afterAll(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

describe("scanFilesScript", () => {
    it("sees every file of the name as statFileScript does, and nothing else", () => {
        asAdversary(
            [
                `cd '${root}'`,
                "for r in acme/a acme/b 'odd/name with spaces'; do mkdir -p \"$r/issue_comment-created\"; printf '{\"r\":\"%s\"}\\n' \"$r\" >\"$r/issue_comment-created/profile.json\"; done",
                "chmod 600 acme/b/issue_comment-created/profile.json",
                "echo other >acme/a/issue_comment-created/prompt.md",
                // Deeper than a profile lies, a link, a directory with a line break in its name.
                "mkdir -p deep/a/b/c && echo x >deep/a/b/c/profile.json",
                "mkdir -p links/x/t && ln -s ../../../acme/a/issue_comment-created/profile.json links/x/t/profile.json",
                "mkdir -p \"$(printf 'evil\\nname')/x/t\" && echo e >\"$(printf 'evil\\nname')/x/t/profile.json\"",
            ].join("\n"),
        );
        fs.mkdirSync(`${root}/rootowned/x/t`, { recursive: true });
        fs.writeFileSync(`${root}/rootowned/x/t/profile.json`, "secret", { mode: 0o600 });
        const files = parseFileScan(run(scanFilesScript(root, "profile.json", ADV)));
        const want = ["acme/a", "acme/b", "odd/name with spaces", "rootowned/x"].map((r) => `${root}/${r}/${r === "rootowned/x" ? "t" : "issue_comment-created"}/profile.json`);
        const plain = [...files.keys()].filter((p) => !p.includes("\n")).sort();
        expect(plain).toEqual(want.sort());
        for (const p of want) {
            const f = files.get(p)!;
            expect(run(statFileScript(p, ADV))).toBe(`present ${f.mode} ${f.owner} ${f.sha256}\n`);
        }
        expect(files.get(want.find((p) => p.includes("rootowned"))!)!.sha256).toBe("unreadable");
        expect(files.get(`${root}/acme/b/issue_comment-created/profile.json`)!.mode).toBe("600");
    });

    it("lists nothing when the root is missing or a link", () => {
        expect(parseFileScan(run(scanFilesScript(`${root}/missing`, "profile.json", ADV))).size).toBe(0);
        asAdversary(`ln -s '${root}/acme' '${root}/acme-link'`);
        expect(parseFileScan(run(scanFilesScript(`${root}/acme`, "profile.json", ADV))).size).toBe(2);
        expect(parseFileScan(run(scanFilesScript(`${root}/acme-link`, "profile.json", ADV))).size).toBe(0);
    });

    it("a forged sum line or record cannot name a file it did not list", () => {
        const sum = "a".repeat(64);
        const out = `644 user /w/cfg/repos/a/b/t/profile.json\0\ngfh-scan-sums\n${sum}  /w/cfg/repos/x/profile.json\n\\${sum}  /w/cfg/repos/a/b/t/profile.json\n`;
        const files = parseFileScan(out);
        expect([...files.keys()]).toEqual(["/w/cfg/repos/a/b/t/profile.json"]);
        expect(files.get("/w/cfg/repos/a/b/t/profile.json")!.sha256).toBe("unreadable");
        expect(parseFileScan("644 user /p\0").size).toBe(0); // cut off before the sums: nothing trusted
    });
});
