import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { onHost, PathName, PATHS, plannedChanges, REPO, sandboxStack, stepNames, upError, upOk } from "./harness";

const SECRETS = "/home/user/.secrets";
const TOKEN_FILE = `${SECRETS}/gh-token`;
const CODEX_DIR = `${SECRETS}/codex`;
const PROFILE_DIR = "/home/user/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created";
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();

/** A Codex login as a person's `codex login` leaves it (the sandbox writes it with the real codex CLI). */
function seedCodexLogin(): void {
    onHost(`mkdir -p ${CODEX_DIR} && chown user: ${SECRETS} ${CODEX_DIR} && chmod 700 ${SECRETS} ${CODEX_DIR}`);
    onHost(`bash ${REPO}/scripts/sandbox.sh seed-codex ${CODEX_DIR} >/dev/null`);
}

/** What a removed agent image plans: the image comes back and the checks run again on it (a re-pull may bring another image). */
const IMAGE_REMOVED: Record<PathName, string[]> = {
    defaults: ["replace sandbox-checks", "replace sandbox-image", "replace sandbox-tag", "update sandbox-presence"],
    ssh2: ["replace sandbox-checks", "update sandbox-pull"],
};

describe.each(Object.keys(PATHS) as PathName[])("drift on the sandbox host shows in preview and is repaired by up (%s)", (via) => {
    const t = sandboxStack(`drift-${via}`, async ({ stack }) => {
        seedCodexLogin();
        await upOk(stack);
    }, via);

    it("reports no changes when nothing drifted, on repeated previews", async () => {
        for (let i = 0; i < 2; i++) expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    const cases: Array<{ what: string; drift: string; expect: string[]; check: () => void }> = [
        {
            what: "token file chmod 644",
            drift: `chmod 644 ${TOKEN_FILE}`,
            expect: ["update sandbox-gh-token"],
            check: () => expect(stat(TOKEN_FILE)).toBe("600 user"),
        },
        {
            what: "token file owner changed",
            drift: `chown root: ${TOKEN_FILE}`,
            expect: ["update sandbox-gh-token"],
            check: () => expect(stat(TOKEN_FILE)).toBe("600 user"),
        },
        {
            what: "token content edited",
            drift: `printf 'ghp_edited_by_hand\\n' > ${TOKEN_FILE}`,
            expect: ["update sandbox-gh-token"],
            check: () => expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(t.sb.validToken),
        },
        {
            what: "token file deleted",
            drift: `rm -f ${TOKEN_FILE}`,
            expect: ["update sandbox-gh-token"],
            check: () => expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(t.sb.validToken),
        },
        {
            what: "secrets dir chmod 755",
            drift: `chmod 755 ${SECRETS}`,
            expect: ["update sandbox-secrets"],
            check: () => expect(stat(SECRETS)).toBe("700 user"),
        },
        {
            what: "profile edited and prompt chmod 600",
            drift: `printf '{}' > ${PROFILE_DIR}/profile.json && chmod 600 ${PROFILE_DIR}/prompt.md`,
            expect: ["update sandbox-profiles"],
            check: () => {
                expect(JSON.parse(fs.readFileSync(`${PROFILE_DIR}/profile.json`, "utf8")).execution).toBeDefined();
                expect(stat(`${PROFILE_DIR}/prompt.md`)).toBe("644 user");
            },
        },
        {
            what: "prompt deleted",
            drift: `rm -f ${PROFILE_DIR}/prompt.md`,
            expect: ["update sandbox-profiles"],
            check: () => expect(fs.readFileSync(`${PROFILE_DIR}/prompt.md`, "utf8")).toBe(fs.readFileSync(`${REPO}/prompts/prompt.md`, "utf8")),
        },
        {
            what: "agent image removed from the daemon",
            drift: "docker image rm -f github-flows-agent-codex:latest >/dev/null; docker image rm -f $(docker image ls -q --filter reference='*/github-flows-agent-codex') >/dev/null 2>&1 || true",
            expect: IMAGE_REMOVED[via],
            check: () => expect(onHost("docker image inspect --format '{{.Id}}' github-flows-agent-codex:latest").trim()).toMatch(/^sha256:/),
        },
    ];

    for (const c of cases) {
        it(`${c.what}: preview reports it, up repairs it, then no changes`, async () => {
            onHost(c.drift);
            const { steps, text } = await plannedChanges(t.stack);
            expect(stepNames(steps), text).toEqual(c.expect);
            await upOk(t.stack);
            c.check();
            expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
        }, 300_000);
    }

    it("Codex auth state emptied: preview reports it, up fails telling the operator to sign in, state is never recreated", async () => {
        onHost(`find ${CODEX_DIR} -mindepth 1 -delete`);
        const { steps } = await plannedChanges(t.stack);
        // The checks depend on the login: a login the preview cannot foresee would re-run them.
        expect(stepNames(steps)).toEqual(["replace sandbox-checks", "update sandbox-codex-login"]);
        const err = await upError(t.stack);
        expect(err).toContain("verification check 'codex-auth' failed on host 'sandbox'");
        expect(err).toContain("codex login");
        expect(onHost(`find ${CODEX_DIR} -type f | wc -l`).trim()).toBe("0");
        seedCodexLogin();
        await upOk(t.stack);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("Codex auth dir deleted: preview reports the directory, up recreates it and asks for a sign-in", async () => {
        onHost(`rm -rf ${CODEX_DIR}`);
        const { steps } = await plannedChanges(t.stack);
        expect(stepNames(steps)).toEqual(["replace sandbox-checks", "update sandbox-codex", "update sandbox-codex-login"]);
        const err = await upError(t.stack);
        expect(err).toContain("codex login");
        expect(stat(CODEX_DIR)).toBe("700 user");
        seedCodexLogin();
        await upOk(t.stack);
    }, 300_000);
});
