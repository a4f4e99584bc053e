import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    acceptedSessions, Bastion, collector, configureForSandbox, control, pulumiCli, resetHost, sandboxStack, setPlain, setSecret, startBastion, timed, upError, upOk,
} from "./harness";
import { filesContaining, rand, watchCommandLines } from "./canary";

const SECRETS = "/home/user/.secrets";
const TOKEN_FILE = `${SECRETS}/gh-token`;
describe("security on the sandbox host", () => {
    const t = sandboxStack("security");

    it("canaries: no token, API key or SSH key plaintext in state, output, command lines, history or any host file", async () => {
        const since = path.join(os.tmpdir(), `gfh-canary-start-${rand()}`);
        fs.writeFileSync(since, "");
        const [good, rotated, bad, apiKey] = [`ghp_canaryA${rand()}`, `ghp_canaryB${rand()}`, `ghp_canaryC${rand()}`, `sk-canary${rand()}`];
        await control(t.sb, "/_control/tokens", { [good]: t.sb.githubLogin, [rotated]: t.sb.githubLogin });
        // The first two base64 lines of every OpenSSH key are the same header: only the rest is this key's.
        const keyLines = fs.readFileSync(t.sb.keyFile, "utf8").split("\n").filter((l) => l.length > 40 && !l.startsWith("-----")).slice(2);
        const needles = [good, rotated, bad, apiKey, ...keyLines];
        const engine = collector();
        const watch = watchCommandLines(needles);
        let outputs = "";
        let cmdlineHits: string[] = [];
        try {
            await setSecret(t.stack, "githubToken", good);
            await setSecret(t.stack, "openaiApiKey", apiKey);
            await t.stack.up({ onOutput: engine.onOutput, diff: true });
            await setSecret(t.stack, "githubToken", rotated);
            await t.stack.preview({ onOutput: engine.onOutput, diff: true });
            await t.stack.up({ onOutput: engine.onOutput, diff: true });
            expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(rotated);
            outputs = pulumiCli(t.stack, ["stack", "output", "--json"]);
            await setSecret(t.stack, "githubToken", bad);
            const failed = (await upError(t.stack, { onOutput: engine.onOutput, diff: true })) ?? "";
            engine.onOutput(failed);
            expect(failed).toContain("github-identity");
            expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(rotated);
            await t.stack.destroy({ onOutput: engine.onOutput });
        } finally {
            cmdlineHits = watch.stop();
        }
        const found: string[] = [];
        for (const n of needles) {
            if (engine.text().includes(n)) found.push(`engine output: ${n.slice(0, 12)}...`);
            if (outputs.includes(n)) found.push(`stack outputs: ${n.slice(0, 12)}...`);
        }
        found.push(...cmdlineHits.map((h) => `command line: ${h}`));
        // State, backups and history of the file backend, and the stack files, live in the project copy.
        found.push(...filesContaining(needles, [t.dir], [path.join(t.dir, "node_modules")], since).map((f) => `stack file: ${f}`));
        // Nor the tokens' full sha256 (it would confirm a guessed token): only the 12-hex fingerprint is plain.
        const hashes = [good, rotated].map((s) => crypto.createHash("sha256").update(s).digest("hex"));
        found.push(...filesContaining(hashes, [t.dir], [path.join(t.dir, "node_modules")], since).map((f) => `stack file (token sha256): ${f}`));
        // Every other file on the host: homes (shell history, workspace), temp, /var (logs, docker), /etc, /run.
        // The one exception is by design: `codex login --with-api-key` keeps the API key in the Codex auth state.
        const roots = ["/home", "/root", "/tmp", "/var", "/etc", "/run", "/opt", "/srv"];
        const skip = [t.dir, t.sb.keyFile, "/var/cache/github-flows-host"];
        found.push(...filesContaining(needles.filter((n) => n !== apiKey), roots, skip, since).map((f) => `host file: ${f}`));
        found.push(...filesContaining([apiKey], roots, [...skip, `${SECRETS}/codex`], since).map((f) => `host file (API key): ${f}`));
        console.log(`canary matches: ${found.length}${found.length ? `\n  ${found.join("\n  ")}` : ""}`);
        expect(found).toEqual([]);
        expect(fs.existsSync(TOKEN_FILE)).toBe(false);
    }, 600_000);

    it("bad config fails before any host is touched, naming the key", async () => {
        resetHost();
        const before = acceptedSessions(t.sb);
        await setSecret(t.stack, "githubToken", t.sb.validToken);
        await setPlain(t.stack, "hosts", [{ name: "sandbox", address: t.sb.host, port: 70000, user: t.sb.sshUser, hostKey: t.sb.hostKey }]);
        const err = (await upError(t.stack)) ?? "";
        expect(err).toMatch(/github-flows-host:hosts\[0\]\.port: must be a port number 1-65535|hosts/);
        await configureForSandbox(t.stack, t.sb);
        pulumiCli(t.stack, ["config", "set", "openaiApiKey", "sk-plaintext-should-be-refused"]);
        const err2 = (await upError(t.stack)) ?? "";
        expect(err2).toContain("github-flows-host:openaiApiKey: must be stored encrypted");
        expect(err2).not.toContain("sk-plaintext-should-be-refused");
        pulumiCli(t.stack, ["config", "rm", "openaiApiKey"]);
        expect(acceptedSessions(t.sb)).toBe(before);
        expect(fs.existsSync(SECRETS)).toBe(false);
    }, 300_000);

    it("a host presenting another key is refused before any command runs, showing both fingerprints", async () => {
        const before = acceptedSessions(t.sb);
        const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK06mA3OF+fsL9FXN6BK6CE3D2nyaoL5+yUip4F0pdMD";
        await setPlain(t.stack, "hosts", [{ name: "sandbox", address: t.sb.host, port: t.sb.port, user: t.sb.sshUser, hostKey: other }]);
        const r = await timed(() => t.stack.up({ onOutput: () => undefined }));
        expect(r.error).toMatch(/host key mismatch for user@127\.0\.0\.1:\d+: expected SHA256:\S+, presented SHA256:\S+/);
        expect(r.ms).toBeLessThan(120_000);
        expect(acceptedSessions(t.sb)).toBe(before);
        expect(fs.existsSync(SECRETS)).toBe(false);
        await configureForSandbox(t.stack, t.sb);
    }, 300_000);

    describe("through a bastion (a second sshd)", () => {
        let bastion: Bastion;
        const port = 2299;
        beforeAll(async () => {
            bastion = await startBastion(t.sb, port);
        }, 60_000);
        afterAll(() => bastion?.stop());
        const bastionKey = () => bastion.hostKey;

        const hostVia = (key: string) => [{ name: "sandbox", address: t.sb.host, port: t.sb.port, user: t.sb.sshUser, hostKey: t.sb.hostKey, proxy: { address: "127.0.0.1", port, user: t.sb.sshUser, hostKey: key } }];

        it("provisions the host through the pinned bastion", async () => {
            await setSecret(t.stack, "openaiApiKey", "sk-sandbox-bastion-0001");
            await setPlain(t.stack, "hosts", hostVia(bastionKey()));
            await upOk(t.stack);
            expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(t.sb.validToken);
        }, 300_000);

        it("a bastion presenting another key is refused", async () => {
            await t.stack.destroy({ onOutput: () => undefined });
            await setPlain(t.stack, "hosts", hostVia(t.sb.hostKey));
            const err = (await upError(t.stack)) ?? "";
            expect(err).toMatch(new RegExp(`host key mismatch for ${t.sb.sshUser}@127\\.0\\.0\\.1:${port}: expected SHA256:\\S+, presented SHA256:\\S+`));
            expect(fs.existsSync(TOKEN_FILE)).toBe(false);
            await configureForSandbox(t.stack, t.sb);
        }, 300_000);
    });
});
