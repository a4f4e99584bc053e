import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeConnections, SshTarget } from "../../lib/ssh";
import { codexConfigFileProvider } from "../../providers";
import { startShServer } from "../fixtures/sshServer";

/**
 * The CodexConfigFile provider's create, diff, update, read and delete, driven directly against an in-process SSH
 * server that runs each command with this machine's `sh`, as this user (as test/unit/providers.test.ts does).
 */
const me = os.userInfo().username;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-codexconfig-"));
let close: () => void;
let target: SshTarget;
/** Runs before a command's script when set: a writer racing the provider (Codex's /model). */
let beforeWrite: (() => void) | undefined;

beforeAll(async () => {
    ({ target, close } = await startShServer(process.env, () => beforeWrite?.()));
});

afterAll(async () => {
    await closeConnections();
    close();
    fs.rmSync(tmp, { recursive: true, force: true });
});

const WHERE = "host 'web-1' (127.0.0.1:22)";
let dir: string;
let file: string;
beforeEach(() => {
    beforeWrite = undefined;
    dir = fs.mkdtempSync(path.join(tmp, "codex-"));
    file = path.join(dir, "config.toml");
});

const inputs = (over: Record<string, unknown> = {}) =>
    ({ connection: target, path: file, owner: me, runtimeUser: me, mode: "600", model: "gpt-5.1-codex", reasoningEffort: "high", where: WHERE, ...over }) as any;
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
const OPERATOR = '# mine\napproval_policy = "never"\n\n[projects."/workspace"]\ntrust_level = "trusted"\n';

describe("CodexConfigFile provider", () => {
    it("creates config.toml 0600 with the settings at the top level; a diff on a clean host finds nothing", async () => {
        const outs = (await codexConfigFileProvider.create(inputs())).outs!;
        expect(fs.readFileSync(file, "utf8")).toBe('model = "gpt-5.1-codex"\nmodel_reasoning_effort = "high"\n');
        expect(mode(file)).toBe("600");
        expect(outs).toMatchObject({ seenModel: "gpt-5.1-codex", seenReasoningEffort: "high" });
        expect((await codexConfigFileProvider.diff!("id", outs, inputs())).changes).toBe(false);
    });

    it("keeps the operator's keys, tables and comments", async () => {
        fs.writeFileSync(file, OPERATOR, { mode: 0o600 });
        await codexConfigFileProvider.create(inputs());
        expect(fs.readFileSync(file, "utf8")).toBe('# mine\napproval_policy = "never"\nmodel = "gpt-5.1-codex"\nmodel_reasoning_effort = "high"\n\n[projects."/workspace"]\ntrust_level = "trusted"\n');
    });

    it("sees /model's change, a chmod or a deletion as drift, and update puts the settings back keeping the rest", async () => {
        const outs = (await codexConfigFileProvider.create(inputs())).outs!;
        fs.appendFileSync(file, '\n[tui]\nnotifications = true\n');
        const drifts = [
            () => fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('model = "gpt-5.1-codex"', 'model = "o3"')),
            () => fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"high"', '"low"')),
            () => fs.chmodSync(file, 0o644),
            () => fs.rmSync(file),
        ];
        for (const drift of drifts) {
            drift();
            expect((await codexConfigFileProvider.diff!("id", outs, inputs())).changes).toBe(true);
            await codexConfigFileProvider.update!("id", outs, inputs());
            expect((await codexConfigFileProvider.diff!("id", outs, inputs())).changes).toBe(false);
            expect(mode(file)).toBe("600");
        }
        // The table survived every repair but the deletion.
        expect(fs.readFileSync(file, "utf8")).toBe('model = "gpt-5.1-codex"\nmodel_reasoning_effort = "high"\n');
    });

    it("does not rewrite a file that already matches (a host set up by hand keeps its inode and mtime)", async () => {
        const text = '# by hand\nmodel = "gpt-5.1-codex"\nmodel_reasoning_effort = "high"\n';
        fs.writeFileSync(file, text, { mode: 0o600 });
        fs.utimesSync(file, 1_000_000, 1_000_000);
        const before = fs.statSync(file);
        await codexConfigFileProvider.create(inputs());
        const after = fs.statSync(file);
        expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
        expect(fs.readFileSync(file, "utf8")).toBe(text);
    });

    it("leaves the reasoning effort to Codex when only a model is configured", async () => {
        fs.writeFileSync(file, 'model_reasoning_effort = "low"\n', { mode: 0o600 });
        const outs = (await codexConfigFileProvider.create(inputs({ reasoningEffort: undefined }))).outs!;
        expect(fs.readFileSync(file, "utf8")).toBe('model_reasoning_effort = "low"\nmodel = "gpt-5.1-codex"\n');
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"low"', '"xhigh"'));
        expect((await codexConfigFileProvider.diff!("id", outs, inputs({ reasoningEffort: undefined }))).changes).toBe(false);
    });

    it("fails on a file that is not TOML naming it and the host, in the diff and the update, and changes nothing", async () => {
        const bad = 'model = "o3"\n[mcp_servers.x]\nenv = { KEY = "sk-do-not-print" \n';
        fs.writeFileSync(file, bad, { mode: 0o644 });
        const err = new RegExp(`^${file.replace(/[/.]/g, "\\$&")} on host 'web-1' \\(127\\.0\\.0\\.1:22\\) is not valid TOML \\(line 3, column \\d+: .+\\), so Codex cannot read it either\\. Nothing was changed`);
        await expect(codexConfigFileProvider.diff!("id", inputs(), inputs())).rejects.toThrow(err);
        await expect(codexConfigFileProvider.update!("id", inputs(), inputs())).rejects.toThrow(err);
        await expect(codexConfigFileProvider.create(inputs())).rejects.toThrow(/not valid TOML/);
        await expect(codexConfigFileProvider.create(inputs())).rejects.not.toThrow(/sk-do-not-print/);
        expect(fs.readFileSync(file, "utf8")).toBe(bad);
        expect(mode(file)).toBe("644");
    });

    it("does not lose a change Codex writes between the read and the write: it merges again", async () => {
        fs.writeFileSync(file, OPERATOR, { mode: 0o600 });
        let n = 0;
        // The second command of the first try is its write: the file changes just before it.
        beforeWrite = () => {
            if (++n === 2) fs.writeFileSync(file, `${OPERATOR}\n[projects."/other"]\ntrust_level = "trusted"\n`);
        };
        await codexConfigFileProvider.create(inputs());
        expect(n).toBe(4);
        const text = fs.readFileSync(file, "utf8");
        expect(text).toContain('[projects."/other"]');
        expect(text).toContain('model = "gpt-5.1-codex"');
    });

    it("moving the Codex dir replaces; delete and read leave the file as it is", async () => {
        const outs = (await codexConfigFileProvider.create(inputs())).outs!;
        expect(await codexConfigFileProvider.diff!("id", outs, inputs({ path: path.join(tmp, "other.toml") }))).toMatchObject({ changes: true, replaces: ["path"] });
        const r = await codexConfigFileProvider.read!("id", inputs());
        expect(r.props).toMatchObject({ mode: "600", owner: me, seenModel: "gpt-5.1-codex", seenReasoningEffort: "high" });
        await codexConfigFileProvider.delete!("id", outs);
        expect(fs.readFileSync(file, "utf8")).toBe('model = "gpt-5.1-codex"\nmodel_reasoning_effort = "high"\n');
    });
});
