import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config";
import { profileJson, renderProfile } from "../../lib/profile";
import { collector, onHost, PathName, PATHS, REPO, sandboxStack, setPlain, setSecret, upError, upOk } from "./harness";

const HOME = "/home/user";
const TOKEN_FILE = `${HOME}/.secrets/gh-token`;
const CODEX_DIR = `${HOME}/.secrets/codex`;
const PROFILE_DIR = `${HOME}/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created`;

/** `mode owner` of a path on the host, or `absent`. */
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();

describe.each(Object.keys(PATHS) as PathName[])("lifecycle on the sandbox host (real engine, sshd, dockerd; %s)", (via) => {
    const t = sandboxStack(`lifecycle-${via}`, undefined, via);

    it("fails without any Codex login, printing the document's interactive login command", async () => {
        const out = collector();
        const err = await upError(t.stack, { onOutput: out.onOutput });
        expect(err, out.text()).toBeDefined();
        expect(err).toContain("verification check 'codex-auth' failed on host 'sandbox'");
        expect(err).toContain("codex login");
        expect(err).toContain(`type=bind,src=${CODEX_DIR},dst=/home/user/.codex`);
        expect(err).toContain("openaiApiKey");
    }, 300_000);

    it("with an OpenAI API key, up creates everything the document describes", async () => {
        await setSecret(t.stack, "openaiApiKey", "sk-sandbox-e2e-key-0001");
        const out = collector();
        const res = await t.stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");

        expect(stat(`${HOME}/.secrets`)).toBe("700 user");
        expect(stat(CODEX_DIR)).toBe("700 user");
        expect(stat(TOKEN_FILE)).toBe("600 user");
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.validToken)); // exact bytes, no line ending
        expect(onHost(`find ${CODEX_DIR} -maxdepth 3 -type f -name auth.json | wc -l`).trim()).toBe("1");
        expect(onHost("docker image inspect --format '{{.Id}}' github-flows-agent-codex:latest").trim()).toMatch(/^sha256:/);

        const hosts = res.outputs.hosts.value as Record<string, Record<string, unknown>>;
        const h = hosts.sandbox;
        expect(h.githubLogin).toBe("flows-bot");
        expect(h.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(h.tokenFingerprint).toMatch(/^[0-9a-f]{12}$/);

        const cfg = parseConfig({
            hosts: [{ name: "sandbox", address: t.sb.host, port: t.sb.port, user: t.sb.sshUser, hostKey: t.sb.hostKey }],
            sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
            githubToken: "unused",
            repositories: ["acme/demo"],
            githubHost: t.sb.githubHost,
        });
        const expected = profileJson(renderProfile({ ...cfg, repository: "acme/demo" }));
        const profiles = h.profiles as Record<string, string>;
        expect(profiles["acme/demo"]).toBe(expected);
        expect(fs.readFileSync(`${PROFILE_DIR}/profile.json`, "utf8")).toBe(expected);
        expect(fs.readFileSync(`${PROFILE_DIR}/prompt.md`, "utf8")).toBe(fs.readFileSync(path.join(REPO, "prompts/prompt.md"), "utf8"));
        expect(stat(`${PROFILE_DIR}/profile.json`)).toBe("644 user");
        expect(out.text()).not.toContain(t.sb.validToken);
    }, 300_000);

    it("a second preview reports no changes and a second up changes nothing", async () => {
        const pre = await t.stack.preview({ onOutput: () => undefined });
        const changed = Object.entries(pre.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        expect(changed).toEqual([]);
        const up = await t.stack.up({ onOutput: () => undefined });
        const upChanged = Object.entries(up.summary.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
        expect(upChanged).toEqual([]);
    }, 300_000);

    it("a wrong token fails up with the identity check named", async () => {
        await setSecret(t.stack, "githubToken", "ghp_wrong_token_e2e_0000");
        const err = await upError(t.stack);
        expect(err).toBeDefined();
        expect(err).toContain("verification check 'github-identity' failed on host 'sandbox'");
        expect(err).toContain("pulumi config set --secret githubToken");
        expect(err).not.toContain("ghp_wrong_token_e2e_0000");
        await setSecret(t.stack, "githubToken", t.sb.validToken);
    }, 300_000);

    it("an inaccessible repository fails up with that repository named", async () => {
        await setPlain(t.stack, "repositories", ["acme/demo", "acme/private"]);
        const err = await upError(t.stack);
        expect(err).toBeDefined();
        expect(err).toContain("verification check 'repository acme/private' failed on host 'sandbox'");
        await setPlain(t.stack, "repositories", ["acme/demo"]);
        await upOk(t.stack);
    }, 300_000);

    it("destroy removes the token file and keeps the Codex auth state and the operator's files", async () => {
        onHost(`printf 'keep me' > ${HOME}/.secrets/operator-notes && chown user: ${HOME}/.secrets/operator-notes`);
        await t.stack.destroy({ onOutput: () => undefined });
        expect(stat(TOKEN_FILE)).toBe("absent");
        expect(onHost(`find ${CODEX_DIR} -maxdepth 3 -type f -name auth.json | wc -l`).trim()).toBe("1");
        expect(fs.readFileSync(`${HOME}/.secrets/operator-notes`, "utf8")).toBe("keep me");
        expect(stat(`${PROFILE_DIR}/profile.json`)).toBe("absent");
    }, 300_000);
});
