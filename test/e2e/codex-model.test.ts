import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { parseCodexConfig } from "../../lib/codexConfig";
import { onHost, plannedChanges, REPO, removeConfig, sandboxStack, setPlain, stepNames, upError, upOk } from "./harness";

/**
 * The setup document's "Choose and Persist Codex Model" as config, on the defaults: codexModel and
 * codexReasoningEffort at the top level of <codexDir>/config.toml, beside what the operator and Codex wrote there;
 * Codex's `/model` on the host shows in preview and is put back by up; the real codex in the agent container reads
 * the file in the checks; without the keys the file is left alone.
 */
const SECRETS = "/home/user/.secrets";
const CODEX_DIR = `${SECRETS}/codex`;
const CONFIG = `${CODEX_DIR}/config.toml`;
const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();
const read = () => fs.readFileSync(CONFIG, "utf8");
/** Shell as the runtime user, as Codex in an agent container writes the file. */
const asUser = (script: string) => onHost(`runuser -u user -- sh -c '${script.replace(/'/g, `'\\''`)}'`);
/** What the operator wrote before handing the host over: a comment, a key, a table. */
const OPERATOR = '# tuned by the operator\napproval_policy = "never"\n\n[projects."/workspace"]\ntrust_level = "trusted"\n';

/** The top-level keys, in order, before the first table header. */
const topLevel = (text: string) => {
    const out: string[] = [];
    for (const line of text.split("\n")) {
        if (line.startsWith("[")) break;
        const m = /^([A-Za-z0-9_-]+)\s*=/.exec(line);
        if (m) out.push(m[1]);
    }
    return out;
};

describe("the Codex model round trip on the sandbox host (defaults)", () => {
    const t = sandboxStack("codex-model", async ({ stack }) => {
        onHost(`mkdir -p ${CODEX_DIR} && chown user: ${SECRETS} ${CODEX_DIR} && chmod 700 ${SECRETS} ${CODEX_DIR}`);
        onHost(`bash ${REPO}/scripts/sandbox.sh seed-codex ${CODEX_DIR} >/dev/null`);
        asUser(`umask 077; printf '%s' '${OPERATOR}' > ${CONFIG}`);
        await setPlain(stack, "codexModel", "gpt-5.1-codex");
        await setPlain(stack, "codexReasoningEffort", "high");
        await upOk(stack);
    });

    it("up writes model and effort at the top level, 0600, owned by the runtime user, keeping the operator's key, table and comment", async () => {
        const text = read();
        expect(stat(CONFIG)).toBe("600 user");
        expect(topLevel(text)).toEqual(["approval_policy", "model", "model_reasoning_effort"]);
        expect(parseCodexConfig(text)).toMatchObject({ model: "gpt-5.1-codex", model_reasoning_effort: "high", approval_policy: "never", projects: { "/workspace": { trust_level: "trusted" } } });
        expect(text.startsWith("# tuned by the operator\n")).toBe(true);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("a model changed on the host as /model does shows in preview; up puts it back and keeps what Codex added; then no changes", async () => {
        // Codex rewrites config.toml with the new model and effort, and adds a trusted project of its own.
        asUser(`sed -i 's/^model = .*/model = "o3"/; s/^model_reasoning_effort = .*/model_reasoning_effort = "low"/' ${CONFIG} && printf '\\n[projects."/workspace/repo"]\\ntrust_level = "trusted"\\n' >> ${CONFIG}`);
        const { steps, text } = await plannedChanges(t.stack);
        expect(stepNames(steps), text).toEqual(["update sandbox-codex-config"]);
        await upOk(t.stack);
        const after = parseCodexConfig(read());
        expect(after).toMatchObject({ model: "gpt-5.1-codex", model_reasoning_effort: "high", approval_policy: "never" });
        expect(Object.keys(after.projects as object).sort()).toEqual(["/workspace", "/workspace/repo"]);
        expect(stat(CONFIG)).toBe("600 user");
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("a login removed with config.toml left in place still shows as a missing Codex login", async () => {
        const auth = onHost(`find ${CODEX_DIR} -mindepth 1 -maxdepth 3 -type f ! -name config.toml`).trim().split("\n");
        expect(auth.length).toBeGreaterThan(0);
        onHost(`rm -f ${auth.join(" ")}`);
        try {
            expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual(["replace sandbox-checks", "update sandbox-codex-login"]);
        } finally {
            onHost(`bash ${REPO}/scripts/sandbox.sh seed-codex ${CODEX_DIR} >/dev/null`);
        }
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("a config.toml that is not TOML fails up naming the file and the host, and is left as it was", async () => {
        const good = read();
        asUser(`printf 'model = "o3\\n' > ${CONFIG}`);
        try {
            const bad = read();
            const err = await upError(t.stack);
            expect(err).toContain(`${CONFIG} on host 'sandbox' (127.0.0.1:${t.sb.port}) is not valid TOML (line 1, column`);
            expect(err).toContain("Nothing was changed");
            expect(read()).toBe(bad);
        } finally {
            fs.writeFileSync(CONFIG, good);
        }
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("a TOML file Codex cannot load fails the checks in the agent container, naming the file", async () => {
        // Valid TOML, so the program merges it; the real codex refuses a number where it wants a policy name.
        asUser(`sed -i 's/^approval_policy = .*/approval_policy = 5/' ${CONFIG}`);
        await setPlain(t.stack, "codexModel", "gpt-5.1-codex-max");
        try {
            const err = await upError(t.stack);
            expect(err).toContain("verification check 'codex-config' failed on host 'sandbox'");
            expect(err).toContain(`Codex cannot load its config file ${CONFIG}`);
            expect(err).toContain("approval_policy");
            expect(parseCodexConfig(read())).toMatchObject({ model: "gpt-5.1-codex-max", approval_policy: 5 });
        } finally {
            asUser(`sed -i 's/^approval_policy = .*/approval_policy = "never"/' ${CONFIG}`);
        }
        await upOk(t.stack);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("without codexModel and codexReasoningEffort the file is left alone, by up and by destroy", async () => {
        const before = onHost(`stat -c '%i %Y %a %U' ${CONFIG} && sha256sum < ${CONFIG}`);
        await removeConfig(t.stack, "codexModel");
        await removeConfig(t.stack, "codexReasoningEffort");
        await upOk(t.stack);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
        asUser(`sed -i 's/^model = .*/model = "o3"/' ${CONFIG}`);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
        asUser(`sed -i 's/^model = .*/model = "gpt-5.1-codex-max"/' ${CONFIG}`);
        await t.stack.destroy({ onOutput: () => undefined });
        expect(onHost(`sha256sum < ${CONFIG}`)).toBe(before.split("\n").slice(1).join("\n"));
        expect(parseCodexConfig(read())).toMatchObject({ model: "gpt-5.1-codex-max", model_reasoning_effort: "high" });
    }, 300_000);
});
