import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { profileDir } from "../../lib/profile";
import { collector, onHost, plannedChanges, pulumiCli, sandboxStack, setPlain, setSecret, setUpByHand, stepNames, upOk } from "./harness";

/**
 * A host set up by hand from the setup document (scripts/sandbox/by-hand.sh, as the runtime user, the token as nano
 * leaves it), then handed to a new stack on the defaults (docs/adopting-a-host.md): the first up fixes only the token
 * file, the next preview is clean, destroy leaves everything it found and removes only what it created. Then a stack
 * whose state lacks `found` (written before it existed) still removes what it made.
 */
const HOME = "/home/user";
const SECRETS = `${HOME}/.secrets`;
const TOKEN_FILE = `${SECRETS}/gh-token`;
const CODEX_DIR = `${SECRETS}/codex`;
const AUTH_FILE = `${CODEX_DIR}/auth.json`;
const WORKSPACE = `${HOME}/app/github-flows/var/work`;
/** Set up by hand; the stack also has OTHER, whose profile it creates itself. */
const BY_HAND = "acme/demo";
const OTHER = "owner/repository";

/**
 * Every directory and file of the setup: `path -> "type inode mtime(ns) mode owner"`. Inside the Codex directory only
 * the auth state: Codex itself writes its logs and temp files there whenever it runs (the checks run it).
 */
function snapshot(): Map<string, string> {
    const out = onHost(`find ${SECRETS} ${HOME}/app -printf '%p\\t%y %i %T@ %m %u\\n' 2>/dev/null || true`);
    const codexOwn = (p: string) => p.startsWith(`${CODEX_DIR}/`) && p !== AUTH_FILE;
    return new Map(
        out
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split("\t") as [string, string])
            .filter(([p]) => !codexOwn(p)),
    );
}

/** sha256 of the Codex auth state a login leaves. */
const codexState = () => onHost(`sha256sum ${AUTH_FILE}`);

describe("a host set up by hand is adopted by a new stack (real engine, sshd, dockerd; defaults)", () => {
    let byHand: Map<string, string>;
    let afterUp: Map<string, string>;
    let codexBefore: string;
    const otherDir = () => profileDir(WORKSPACE, OTHER, "issue_comment", "created");

    const t = sandboxStack("adopt", async (t) => {
        setUpByHand(t.sb, BY_HAND);
        await setPlain(t.stack, "repositories", [BY_HAND, OTHER]);
    });

    it("the host set up by hand has the token with nano's line ending, Codex auth state and the profile", () => {
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(`${t.sb.validToken}\n`));
        byHand = snapshot();
        codexBefore = codexState();
        const mine = profileDir(WORKSPACE, BY_HAND, "issue_comment", "created");
        for (const p of [SECRETS, CODEX_DIR, AUTH_FILE, TOKEN_FILE, `${mine}/profile.json`, `${mine}/prompt.md`]) expect(byHand.has(p), p).toBe(true);
        expect(byHand.get(TOKEN_FILE)).toMatch(/ 600 user$/);
    });

    it("the first up fixes only the token file (raw bytes); every other path keeps inode and mtime, Codex auth untouched", async () => {
        const out = collector();
        const res = await t.stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        afterUp = snapshot();

        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.validToken));
        expect(afterUp.get(TOKEN_FILE)).toMatch(/^f \d+ \S+ 600 user$/);
        const changed = [...byHand].filter(([p, s]) => afterUp.get(p) !== s).map(([p]) => p);
        // Two directories keep inode, mode and owner but not their mtime, because entries in them changed: in the
        // secrets directory the token file was replaced by rename (an atomic write) and the new token staged beside it
        // for the checks; in cfg/repos the stack made `owner/` for the repository it adds.
        expect(changed.sort()).toEqual([SECRETS, TOKEN_FILE, `${WORKSPACE}/cfg/repos`]);
        for (const d of [SECRETS, `${WORKSPACE}/cfg/repos`]) {
            const [before, after] = [byHand.get(d)!.split(" "), afterUp.get(d)!.split(" ")];
            expect([after[0], after[1], after[3], after[4]], d).toEqual([before[0], before[1], before[3], before[4]]);
        }
        expect(codexState()).toBe(codexBefore);

        // What the stack made itself: the other repository's profile, prompt and the directories above them.
        const added = [...afterUp.keys()].filter((p) => !byHand.has(p)).sort();
        expect(added).toEqual([`${WORKSPACE}/cfg/repos/owner`, `${WORKSPACE}/cfg/repos/owner/repository`, otherDir(), `${otherDir()}/profile.json`, `${otherDir()}/prompt.md`]);
    }, 300_000);

    it("the next preview shows no changes", async () => {
        const { steps, text } = await plannedChanges(t.stack);
        expect(stepNames(steps), text).toEqual([]);
    }, 300_000);

    it("destroy leaves every path it found (the fixed token file too) and removes only the files it created", async () => {
        await t.stack.destroy({ onOutput: () => undefined });
        const after = snapshot();
        const removed = [...afterUp.keys()].filter((p) => !after.has(p)).sort();
        // The parent directories of the created profile stay, as on a host the stack set up from scratch.
        expect(removed).toEqual([`${otherDir()}/profile.json`, `${otherDir()}/prompt.md`]);
        for (const [p, s] of afterUp) if (after.has(p) && !p.startsWith(otherDir())) expect(after.get(p), p).toBe(s);
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.validToken));
        expect(codexState()).toBe(codexBefore);
    }, 300_000);
});

describe("state written before `found` existed behaves as before (real engine; defaults)", () => {
    const t = sandboxStack("adopt-legacy", async (t) => {
        await setSecret(t.stack, "openaiApiKey", "sk-sandbox-e2e-key-0001");
    });

    it("a fresh host: every path created (found false); without the field in state, destroy still removes what the stack made", async () => {
        await upOk(t.stack);
        const state = JSON.parse(pulumiCli(t.stack, ["stack", "export"]));
        const paths = (state.deployment.resources as { outputs?: Record<string, unknown> }[]).filter((r) => r.outputs && "found" in r.outputs);
        expect(paths.map((r) => `${r.outputs!.path} ${r.outputs!.found}`).sort()).toEqual([SECRETS, CODEX_DIR, TOKEN_FILE].map((p) => `${p} false`).sort());
        // The profiles' set says the same of its files: it made them all, adopted none.
        const set = (state.deployment.resources as { type: string; outputs: { paths: string[]; adopted: string[] } }[]).find((r) => r.type === "github-flows-host:index:RemoteFileSet");
        expect(set?.outputs.paths.length).toBe(2);
        expect(set?.outputs.adopted).toEqual([]);
        for (const r of paths) delete r.outputs!.found;
        pulumiCli(t.stack, ["stack", "import"], JSON.stringify(state));
        expect(pulumiCli(t.stack, ["stack", "export"])).not.toContain('"found"');

        await t.stack.destroy({ onOutput: () => undefined });
        const mine = profileDir(WORKSPACE, BY_HAND, "issue_comment", "created");
        for (const p of [TOKEN_FILE, `${mine}/profile.json`, `${mine}/prompt.md`]) expect(fs.existsSync(p), p).toBe(false);
        expect(fs.existsSync(AUTH_FILE)).toBe(true);
    }, 300_000);
});
