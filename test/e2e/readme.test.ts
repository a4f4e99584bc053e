import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { tokenFingerprint } from "../../lib/access";
import { quote } from "../../lib/shell";
import { onHost, REPO, resetHost, sandbox, Sandbox } from "./harness";

/**
 * The README's operator commands, run as written: the production walk on a fresh backend and a fresh HOME, then
 * the rotation and drift snippets in the environment it leaves. Only the values in SUBSTITUTIONS change (the
 * sandbox host is not 203.0.113.10), and the files the README reads (`~/.ssh/github-flows-deploy`,
 * `github-token.txt`, ...) are put where it reads them. A README edit that breaks a command breaks this test.
 */

const README = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
const TOKEN_FILE = "/home/user/.secrets/gh-token";
const PROFILES = "/home/user/app/github-flows/var/work/cfg/repos";

/** The README's stand-in for the fingerprint an operator reads on the host's console (`pin-host-key.sh --expect`). */
const EXAMPLE_FINGERPRINT = "SHA256:ExampleFingerprintReadOnTheHostsConsole0000";
const fingerprintOf = (key: string) => execFileSync("ssh-keygen", ["-lf", "-"], { input: key, encoding: "utf8" }).split(" ")[1];

/** README example value -> the sandbox's, per block; each must occur in its block (a silent no-op would hide an edit). */
const SUBSTITUTIONS = (sb: Sandbox): Record<string, Array<[string, string]>> => ({
    production: [
        // The host key's fingerprint as the host's console shows it (`ssh-keygen -lf` of the sshd's public key file).
        [EXAMPLE_FINGERPRINT, fingerprintOf(sb.hostKey)],
        // A cloud image's login: the sandbox's sudo admin (not in group docker) on the port where root is refused.
        ["203.0.113.10 22 ubuntu", `${sb.host} ${sb.adminPort} ${sb.adminUser}`],
        ["registry.example.com/github-flows/agent-codex:2026-11-20", sb.imageRef],
        // Repositories the sandbox's fake GitHub API shows to the token's account.
        ["acme/webshop", "acme/demo"],
        ["acme/billing", "owner/repository"],
    ],
    rotation: [],
    drift: [],
});

/**
 * What differs between the sandbox and a real host and is not a value of the README's commands: set after the
 * commands before `pulumi preview` (the first engine run), like an operator whose GitHub is not github.com would.
 */
const sandboxConfig = (sb: Sandbox): string[] => [
    `pulumi config set githubHost ${quote(sb.githubHost)}`,
    // dockerd runs with --bridge=none: the verification container reaches the fake API through the host's network.
    `pulumi config set-all --json ${quote(JSON.stringify({ "github-flows-host:checkDockerArgs": { value: '["--network","host"]', objectValue: ["--network", "host"], secret: false } }))}`,
];

/** The ```sh block right after `<!-- e2e: NAME ... -->`; the production one must sit in the "Production" section. */
export function readmeBlock(readme: string, name: string): string {
    const m = new RegExp(`<!-- e2e: ${name}\\b[^]*?-->\\s*\\n\`\`\`sh\\n([^]*?)\\n\`\`\`\\n`).exec(readme);
    if (!m) throw new Error(`README.md has no \`\`\`sh block right after a <!-- e2e: ${name} ... --> marker`);
    if (name === "production") {
        const start = readme.indexOf("\n## Production\n");
        const end = readme.indexOf("\n## ", start + 1);
        if (start < 0 || m.index < start || m.index > end) throw new Error("the e2e: production block is not in the README's Production section");
    }
    return m[1];
}

/** Applies the substitution table; an entry that matches nothing fails (the README changed: update the table). */
export function substitute(block: string, table: Array<[string, string]>): string {
    for (const [from, to] of table) {
        if (!block.includes(from)) throw new Error(`the README block no longer contains '${from}': update SUBSTITUTIONS in test/e2e/readme.test.ts`);
        block = block.split(from).join(to);
    }
    return block;
}

/** A fresh operator's machine: an empty HOME (and Pulumi home), the project copied, no backend, no stack. */
interface Walk {
    root: string;
    home: string;
    dir: string;
    env: NodeJS.ProcessEnv;
}

function newWalk(sb: Sandbox): Walk {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-e2e-readme-"));
    const home = path.join(root, "home");
    const dir = path.join(root, "github-flows-host");
    const shims = path.join(root, "shims");
    fs.mkdirSync(dir);
    for (const f of ["Pulumi.yaml", "Pulumi.prod.yaml", "package.json", "package-lock.json", "tsconfig.json", "index.ts", "api.ts", "boot", "components", "lib", "providers", "prompts", "scripts"]) {
        fs.cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));

    // The engine's plugin cache is the only thing taken from this machine's Pulumi home (the toolchain fills it;
    // offline, nothing could download the plugins). Pulumi finds its home through the passwd entry, not HOME.
    const plugins = path.join(process.env.PULUMI_HOME ?? path.join(os.userInfo().homedir, ".pulumi"), "plugins");
    fs.mkdirSync(path.join(home, ".pulumi"), { recursive: true });
    fs.symlinkSync(plugins, path.join(home, ".pulumi", "plugins"));
    // The files the README reads, where it reads them: the deploy key, the token (as an editor saves it, with
    // a line ending the program drops), the OpenAI key.
    fs.mkdirSync(path.join(home, ".ssh"), { mode: 0o700 });
    fs.copyFileSync(sb.keyFile, path.join(home, ".ssh", "github-flows-deploy"));
    fs.chmodSync(path.join(home, ".ssh", "github-flows-deploy"), 0o600);
    fs.writeFileSync(path.join(dir, "github-token.txt"), `${sb.validToken}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "openai-key.txt"), "sk-sandbox-readme-walk-0001\n", { mode: 0o600 });

    // node_modules is the repository's own (linked): a real `npm ci` would empty it for everyone.
    fs.mkdirSync(shims);
    fs.writeFileSync(
        path.join(shims, "npm"),
        [
            "#!/bin/sh",
            'if [ "$*" = ci ] && [ -f node_modules/@pulumi/pulumi/package.json ]; then echo "npm ci: node_modules is linked by the test"; exit 0; fi',
            'echo "npm $*: the README test runs no npm command but a bare npm ci (node_modules is shared)" >&2; exit 1',
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    const pulumiBin = (process.env.PATH ?? "").split(":").find((d) => d && fs.existsSync(path.join(d, "pulumi")));
    if (!pulumiBin) throw new Error("no pulumi on PATH: export PATH=\"$(bash scripts/toolchain.sh | tail -1):$PATH\"");
    const env: NodeJS.ProcessEnv = {
        PATH: [shims, pulumiBin, path.dirname(process.execPath), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"].join(":"),
        HOME: home,
        PULUMI_HOME: path.join(home, ".pulumi"),
        LANG: "C.UTF-8",
        // Offline here: no update check, no plugin downloads (the cache has them).
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // The operator's "yes" at `pulumi up`'s prompt: there is no terminal here.
        PULUMI_SKIP_CONFIRMATIONS: "true",
    };
    return { root, home, dir, env };
}

/**
 * Runs shell text with bash in the walk's project directory, as one operator session: exports of earlier runs
 * are in force, `set -e` stops at the first failing command, `set -x` shows each in the output.
 */
function run(w: Walk, text: string): Promise<{ code: number; out: string }> {
    const state = path.join(w.root, "session.env");
    const script = [
        "set -e -o pipefail",
        `if [ -f ${quote(state)} ]; then . ${quote(state)}; fi`,
        `cd ${quote(w.dir)}`,
        "set -x",
        text,
        "{ set +x; } 2>/dev/null",
        `export -p > ${quote(state)}`,
        "",
    ].join("\n");
    return new Promise((resolve, reject) => {
        const p = spawn("bash", ["-c", script], { cwd: w.dir, env: w.env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        p.on("error", reject);
        p.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
}

/** `pulumi stack output --json hosts` in the walk's session. */
async function hostsOutput(w: Walk): Promise<Record<string, { profiles: Record<string, string>; githubLogin: string; imageId: string; tokenFingerprint: string }>> {
    const r = await run(w, "{ set +x; } 2>/dev/null; pulumi stack output --json hosts > ../hosts.json");
    expect(r.code, r.out).toBe(0);
    return JSON.parse(fs.readFileSync(path.join(w.root, "hosts.json"), "utf8"));
}

describe("the README's operator commands, as written, on the sandbox host (defaults path)", () => {
    let sb: Sandbox;
    let w: Walk;

    beforeAll(() => {
        sb = sandbox();
        resetHost();
        w = newWalk(sb);
    }, 300_000);

    afterAll(() => {
        if (w) fs.rmSync(w.root, { recursive: true, force: true });
        resetHost();
    }, 300_000);

    it("production: from an empty backend and HOME, `pulumi up` succeeds and the profiles are in the outputs", async () => {
        const block = substitute(readmeBlock(README, "production"), SUBSTITUTIONS(sb).production);
        const lines = block.split("\n");
        const preview = lines.findIndex((l) => /^pulumi preview(\s|$)/.test(l));
        expect(preview, "the production block runs `pulumi preview`").toBeGreaterThan(0);
        expect(lines.slice(preview).some((l) => /^pulumi up(\s|$)/.test(l)), "and then `pulumi up`").toBe(true);
        const walk = [...lines.slice(0, preview), ...sandboxConfig(sb), ...lines.slice(preview)].join("\n");

        const { code, out } = await run(w, walk);
        expect(code, out).toBe(0);

        // The fingerprint for the out-of-band check was printed, and the key landed in the stack file, pinned.
        const fp = onHost(`ssh-keygen -lf - <<< ${quote(sb.hostKey)}`).split(" ")[1];
        expect(out).toContain(fp);
        const stackFile = yaml.load(fs.readFileSync(path.join(w.dir, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
        expect(stackFile.config["github-flows-host:hosts"]).toEqual([{ name: "flows-1", address: sb.host, port: sb.adminPort, user: sb.adminUser, hostKey: sb.hostKey }]);
        for (const k of ["sshPrivateKey", "githubToken", "openaiApiKey"]) expect(stackFile.config[`github-flows-host:${k}`]).toHaveProperty("secure");
        expect(fs.readFileSync(path.join(w.dir, "Pulumi.prod.yaml"), "utf8")).not.toContain(sb.validToken);
        // The state is in the backend the README named, under the fresh HOME.
        expect(fs.existsSync(path.join(w.home, ".pulumi-state", ".pulumi", "stacks", "github-flows-host", "prod.json"))).toBe(true);
        // The defaults ran: @pulumi/docker pulled the image, @pulumi/command ran the checks.
        const exported = await run(w, "{ set +x; } 2>/dev/null; pulumi stack export > ../state.json");
        expect(exported.code, exported.out).toBe(0);
        const types = new Set((JSON.parse(fs.readFileSync(path.join(w.root, "state.json"), "utf8")).deployment.resources as Array<{ type: string }>).map((r) => r.type));
        expect(types).toContain("docker:index/remoteImage:RemoteImage");
        expect(types).toContain("command:remote:Command");

        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(sb.validToken));
        expect(onHost(`stat -c '%a %U' ${TOKEN_FILE}`).trim()).toBe("600 user");
        const hosts = await hostsOutput(w);
        expect(Object.keys(hosts)).toEqual(["flows-1"]);
        expect(Object.keys(hosts["flows-1"].profiles).sort()).toEqual(["acme/demo", "owner/repository"]);
        for (const [repo, text] of Object.entries(hosts["flows-1"].profiles)) {
            // The output is the profile GitHub Flows reads on the host, byte for byte.
            expect(fs.readFileSync(`${PROFILES}/${repo}/issue_comment-created/profile.json`, "utf8")).toBe(text);
            const profile = JSON.parse(text);
            expect(profile.trigger).toEqual({ repository: repo, event: "issue_comment", action: "created" });
            expect(profile.execution.runtime.image).toBe("github-flows-agent-codex:latest");
        }
        expect(hosts["flows-1"].githubLogin).toBe(sb.githubLogin);
        expect(hosts["flows-1"].tokenFingerprint).toBe(tokenFingerprint(sb.validToken));
    }, 600_000);

    it("token rotation: the README's two commands put the new token on the host", async () => {
        fs.writeFileSync(path.join(w.dir, "new-token.txt"), `${sb.rotatedToken}\n`, { mode: 0o600 });
        const { code, out } = await run(w, substitute(readmeBlock(README, "rotation"), SUBSTITUTIONS(sb).rotation));
        expect(code, out).toBe(0);
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(sb.rotatedToken));
        expect(onHost(`stat -c '%a %U' ${TOKEN_FILE}`).trim()).toBe("600 user");
        expect((await hostsOutput(w))["flows-1"].tokenFingerprint).toBe(tokenFingerprint(sb.rotatedToken));
    }, 600_000);

    it("drift check: exit 0 on a clean host, non-zero after `chmod 644` of the token file, 0 again after `pulumi up`", async () => {
        const check = substitute(readmeBlock(README, "drift"), SUBSTITUTIONS(sb).drift);
        const clean = await run(w, check);
        expect(clean.code, clean.out).toBe(0);

        onHost(`chmod 644 ${TOKEN_FILE}`);
        const drifted = await run(w, check);
        expect(drifted.code, drifted.out).not.toBe(0);
        expect(drifted.out).toContain("flows-1-gh-token");

        const repaired = await run(w, "pulumi up");
        expect(repaired.code, repaired.out).toBe(0);
        expect(onHost(`stat -c '%a %U' ${TOKEN_FILE}`).trim()).toBe("600 user");
        const again = await run(w, check);
        expect(again.code, again.out).toBe(0);
    }, 600_000);
});
