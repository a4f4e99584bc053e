import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { apiKeyLoginScript, CheckContainer, codexAuthFilesScript, interactiveLoginCommand, parseVerifyOutput, VerifySpec, verifyScript } from "../../lib/checks";
import { TOKEN_EXPORT } from "../../lib/container";
import { FIXTURES, TOKEN } from "../fixtures/config";
import { ME, sh, tempDirForFile } from "../fixtures/sh";

const tmp = tempDirForFile("gfh-shell-");

// lib/checks.ts: the document's checks, run for real under sh with fake docker, gh and codex.

// The document spells it with "\r\n" in its checks and '\r\n' in its profile: the same shell, one constant here.
const DOC_TOKEN_EXPORT = `export GH_TOKEN="$(tr -d '\\r\\n' < "$GH_TOKEN_FILE")"; export GITHUB_TOKEN="$GH_TOKEN"`;
const IMAGE = "github-flows-agent-codex:latest";
const WHERE = "host 'web-1' (203.0.113.10:22)";

function docSpec(over: Partial<VerifySpec> = {}): VerifySpec {
    return {
        runtimeUser: "user",
        image: IMAGE,
        tokenFile: "/home/user/.secrets/gh-token",
        codexDir: "/home/user/.secrets/codex",
        githubHost: "github.com",
        dockerArgs: [],
        repositories: ["owner/repository"],
        requiredPermission: "push",
        where: WHERE,
        loginCommand: "docker run --rm -it ... codex login",
        ...over,
    };
}

/** Words of the `docker run` line inside a script, as sh would split them. */
function dockerWords(script: string): string[] {
    const lines = script.split("\n");
    const start = lines.findIndex((l) => l.startsWith("'docker' 'run'"));
    const end = lines.indexOf("rc=$?");
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const command = lines.slice(start, end).join("\n").replace(/^'docker'/, "");
    // What the script's prelude and mountSources set: the runtime user's ids, the paths the daemon binds.
    const vars = "ruid=1001 rgid=1002 tok=/run/gfh-container.X/gh-token codex=/run/gfh-container.X/codex;";
    const out = execFileSync("bash", ["-c", `${vars} printf '%s\\0' ${command}`]).toString("utf8");
    return out.split("\0").slice(0, -1);
}

describe("verifyScript text", () => {
    it("runs the document's container: token mount read-only, Codex mount, GH_TOKEN_FILE, image, bash -lc", () => {
        const words = dockerWords(verifyScript(docSpec()));
        expect(words.slice(0, 2)).toEqual(["run", "--rm"]);
        expect(words).toContain("type=bind,src=/run/gfh-container.X/gh-token,dst=/run/secrets/gh-token,readonly");
        // Read-only: the checks only read the Codex state.
        expect(words).toContain("type=bind,src=/run/gfh-container.X/codex,dst=/home/user/.codex,readonly");
        expect(words[words.indexOf("type=bind,src=/run/gfh-container.X/gh-token,dst=/run/secrets/gh-token,readonly") - 1]).toBe("--mount");
        expect(words.slice(2, 7)).toEqual(["--user", "1001:1002", "--cap-drop", "ALL", "--security-opt"]);
        expect(words[7]).toBe("no-new-privileges");
        expect(words[words.indexOf("CODEX_HOME=/home/user/.codex") - 1]).toBe("-e");
        expect(words[words.indexOf("GH_TOKEN_FILE=/run/secrets/gh-token") - 1]).toBe("-e");
        expect(words.slice(-4, -1)).toEqual([IMAGE, "bash", "-lc"]);
        expect(words).not.toContain("GH_HOST=github.com");
    });

    it("runs the document's checks in the inner script, starting with its token export", () => {
        const inner = dockerWords(verifyScript(docSpec({ repositories: ["owner/repository", "acme/demo"] }))).at(-1)!;
        expect(TOKEN_EXPORT).toBe(DOC_TOKEN_EXPORT);
        expect(inner.startsWith(`${DOC_TOKEN_EXPORT}\n`)).toBe(true);
        expect(inner).toContain("gh api -i user --jq .login");
        expect(inner).toContain(`for r in 'owner/repository' 'acme/demo'; do`);
        expect(inner).toContain(`retry gh repo view "$r" --json nameWithOwner`);
        expect(inner).toContain(`retry gh api "repos/$r" --jq`);
        expect(inner).toContain("codex mcp list");
        expect(inner).toContain("codex login status");
        expect(inner).toContain("codex --help");
    });

    it("passes GH_HOST and extra docker args for another GitHub host", () => {
        const words = dockerWords(verifyScript(docSpec({ githubHost: "github.localhost", dockerArgs: ["--network", "host"] })));
        expect(words[words.indexOf("GH_HOST=github.localhost") - 1]).toBe("-e");
        // Before this program's own options, so that ours come last where docker keeps the last.
        expect(words.slice(2, 5)).toEqual(["--network", "host", "--user"]);
    });

    it("holds no token-looking value", () => {
        for (const s of [verifyScript(docSpec()), verifyScript(docSpec({ staging: true })), apiKeyLoginScript(docSpec())]) {
            expect(s).not.toMatch(/gh[pousr]_[A-Za-z0-9]{8,}|github_pat_|sk-[A-Za-z0-9-]{8,}/);
            expect(s).not.toContain(TOKEN);
        }
    });

    it("stages the token under /run as root, or beside the token file as the runtime user, and mounts the staged copy", () => {
        const s = verifyScript(docSpec({ staging: true }));
        expect(s).toContain(`"type=bind,src=$tok,dst=/run/secrets/gh-token,readonly"`);
        expect(s).not.toContain("src=/home/user/.secrets/gh-token,");
        expect(s).toContain("sd=$(mktemp -d /run/gfh-container.XXXXXXXXXX)");
        expect(s).toContain(`( umask 077; cat > "$sd/gh-token" )`);
        // With the runtime user as the SSH user: mktemp (O_EXCL, random name) with this prefix.
        expect(s).toContain('t=$(mktemp -- "${1}XXXXXXXXXX")');
        expect(s).toContain("tok=$(asuser sh -c 'set -eu");
        expect(s).toContain("sh '/home/user/.secrets/.gh-token.verify.')");
    });
});

describe("interactiveLoginCommand and apiKeyLoginScript text", () => {
    it("is the document's interactive codex login, word for word", () => {
        expect(interactiveLoginCommand({ image: IMAGE, codexDir: "/home/user/.secrets/codex", workspaceDir: "/home/user/app/github-flows/var/work" })).toBe(
            "docker run --rm -it --name github-flows-codex-login " +
                "--mount type=bind,src=/home/user/.secrets/codex,dst=/home/user/.codex " +
                "--mount type=bind,src=/home/user/app/github-flows/var/work,dst=/workspace " +
                "-w /workspace github-flows-agent-codex:latest codex login",
        );
    });

    it("keeps quotes where a path needs them", () => {
        const cmd = interactiveLoginCommand({ image: IMAGE, codexDir: "/srv/my codex", workspaceDir: "/w" });
        expect(execFileSync("bash", ["-c", `printf '%s\\0' ${cmd}`]).toString().split("\0")).toContain("type=bind,src=/srv/my codex,dst=/home/user/.codex");
    });

    it("apiKeyLoginScript mounts only the Codex directory and reads the key from stdin", () => {
        const s = apiKeyLoginScript(docSpec());
        expect(s).toContain(`"type=bind,src=$codex,dst=/home/user/.codex"`);
        expect(s).toContain("mount -o bind '/home/user/.secrets/codex' \"$sd/codex\"");
        expect(s).not.toContain("/run/secrets/gh-token");
        expect(s).not.toContain(".secrets/gh-token");
        expect(s).toContain("'codex' 'login' 'status'");
        expect(s).toMatch(/'docker' 'run' '--rm' '-i' '--user' "\$ruid:\$rgid" '--cap-drop' 'ALL' .*'codex' 'login' '--with-api-key'/);
    });
});

describe("verifyScript executed with fake docker, gh and codex", () => {
    let bin: string;
    let log: string;
    let secrets: string;
    let codex: string;
    const GOOD = `ghp_Go0d$(touch MARKER)'"\`x\`;tok`;

    beforeAll(() => {
        bin = fs.mkdtempSync(path.join(tmp, "bin-"));
        for (const f of ["docker", "gh", "codex"]) {
            fs.copyFileSync(path.join(FIXTURES, "fakebin", f), path.join(bin, f));
            fs.chmodSync(path.join(bin, f), 0o755);
        }
    });

    beforeEach(() => {
        log = fs.mkdtempSync(path.join(tmp, "log-"));
        secrets = fs.mkdtempSync(path.join(tmp, "secrets-"));
        codex = path.join(secrets, "codex");
        fs.mkdirSync(codex);
        fs.writeFileSync(path.join(codex, "auth.json"), "{}");
    });

    const env = (over: Record<string, string> = {}): NodeJS.ProcessEnv => ({
        PATH: `${bin}:${process.env.PATH}`,
        HOME: process.env.HOME,
        FAKE_LOG: log,
        FAKE_IMAGE: IMAGE,
        FAKE_GOOD_TOKEN: GOOD,
        FAKE_LOGIN: "octocat",
        FAKE_REPOS: "owner/repository acme/demo",
        ...over,
    });

    const spec = (over: Partial<VerifySpec> = {}) =>
        docSpec({ tokenFile: path.join(secrets, "gh-token"), codexDir: codex, repositories: ["owner/repository", "acme/demo"], staging: true, runtimeUser: ME, ...over });

    const dockerArgv = () =>
        fs
            .readdirSync(log)
            .filter((f) => f.startsWith("docker-argv-"))
            .sort()
            .map((f) => fs.readFileSync(path.join(log, f), "utf8").split("\0").slice(0, -1));

    it("passes with a good token (given with a trailing CRLF), prints the login, leaves no staged token", () => {
        const r = sh(verifyScript(spec()), `${GOOD}\r\n`, env());
        expect(r.code, r.stderr).toBe(0);
        expect(parseVerifyOutput(r.stdout)).toEqual({
            githubLogin: "octocat",
            tokenExpiresAt: "never",
            repositoryAccess: { "owner/repository": "push", "acme/demo": "push" },
        });
        expect(r.stdout).toContain("gfh-checks=ok");
        expect(fs.readdirSync(secrets)).toEqual(["codex"]); // staged copy removed, real token file not written
        expect(fs.existsSync(path.join(secrets, "MARKER"))).toBe(false);
        const [argv] = dockerArgv();
        expect(argv.join("\n")).not.toContain("Go0d");
        expect(argv.find((a) => a.includes("dst=/run/secrets/gh-token"))).toMatch(/^type=bind,src=\/run\/gfh-container\.\w+\/gh-token,dst=\/run\/secrets\/gh-token,readonly$/);
        expect(fs.readFileSync(path.join(log, "gh-host"), "utf8")).toBe("github.com\n");
    });

    it("passes GH_HOST into the container for another GitHub host", () => {
        const r = sh(verifyScript(spec({ githubHost: "github.localhost" })), GOOD, env());
        expect(r.code, r.stderr).toBe(0);
        expect(fs.readFileSync(path.join(log, "gh-host"), "utf8")).toBe("github.localhost\n");
    });

    it("fails the identity check with a rejected token: which check, which host, what to do, exit 3", () => {
        const r = sh(verifyScript(spec()), "ghp_wrongwrongwrong", env());
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'github-identity' failed on ${WHERE}.`);
        expect(r.stderr).toContain("Bad credentials (HTTP 401)");
        expect(r.stderr).toContain("pulumi config set --secret githubToken");
        expect(r.stderr).not.toContain("ghp_wrongwrongwrong");
        expect(r.stderr).not.toContain("could not run");
        expect(fs.readdirSync(secrets)).toEqual(["codex"]);
    });

    it("fails the repository check for a repository the account cannot see", () => {
        const r = sh(verifyScript(spec({ repositories: ["owner/repository", "acme/secret"] })), GOOD, env());
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'repository acme/secret' failed on ${WHERE}.`);
        expect(r.stderr).toContain("Could not resolve to a Repository");
        expect(r.stderr).toContain("Give the account access to it");
        expect(r.stderr).toContain("repositories");
    });

    it("fails the codex-auth check without a Codex login, telling how to sign in", () => {
        fs.rmSync(path.join(codex, "auth.json"));
        const r = sh(verifyScript(spec({ loginCommand: "LOGIN-COMMAND-HERE" })), GOOD, env());
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'codex-auth' failed on ${WHERE}.`);
        expect(r.stderr).toContain("LOGIN-COMMAND-HERE");
        expect(r.stderr).toContain("openaiApiKey");
    });

    it("fails the codex-cli check when codex --help fails", () => {
        const r = sh(verifyScript(spec()), GOOD, env({ FAKE_CODEX_HELP: "fail" }));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'codex-cli' failed on ${WHERE}.`);
        expect(r.stderr).toContain("lacks a working Codex CLI");
    });

    it("fails the codex-config check when Codex cannot load config.toml, naming the file on the host", () => {
        fs.writeFileSync(path.join(codex, "config.toml"), 'model = "m"\n[[[\n');
        const r = sh(verifyScript(spec()), GOOD, env());
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'codex-config' failed on ${WHERE}.`);
        expect(r.stderr).toContain(`Codex cannot load its config file ${codex}/config.toml (mounted as /home/user/.codex/config.toml)`);
        expect(r.stderr).toContain("failed to load bootstrap configuration");
        expect(r.stderr).toContain("config.toml:2:3: invalid table header");
        // Codex quotes the offending line: not passed on (a line of config.toml may hold a key).
        expect(r.stderr).not.toContain("[[[");
        expect(r.stderr).not.toContain("'codex-auth'");
    });

    it("reports docker itself failing with its exit status", () => {
        const r = sh(verifyScript(spec()), GOOD, env({ FAKE_DOCKER_EXIT: "125" }));
        expect(r.code).toBe(125);
        expect(r.stderr).toContain(`verification container could not run on ${WHERE} (docker exit status 125)`);
        expect(r.stderr).toContain(`image ${IMAGE} is present`);
        expect(fs.readdirSync(secrets)).toEqual(["codex"]);
    });

    it("removes a staged token left by an interrupted run", () => {
        fs.writeFileSync(path.join(secrets, ".gh-token.verify.OLD123"), "stale-token");
        expect(sh(verifyScript(spec()), GOOD, env()).code).toBe(0);
        expect(fs.readdirSync(secrets)).toEqual(["codex"]);
    });

    it("checks the mounted token file directly without staging", () => {
        fs.writeFileSync(path.join(secrets, "gh-token"), `${GOOD}\n`, { mode: 0o600 });
        const r = sh(verifyScript(spec({ staging: undefined })), "", env());
        expect(r.code, r.stderr).toBe(0);
        expect(parseVerifyOutput(r.stdout).githubLogin).toBe("octocat");
    });

    it("records the token's expiry as GitHub sent it; the parser turns it into ISO 8601 UTC", () => {
        const r = sh(verifyScript(spec()), GOOD, env({ FAKE_EXPIRY: "2099-05-01 10:00:00 UTC" }));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("gfh-token-expires=2099-05-01 10:00:00 UTC\n");
        expect(parseVerifyOutput(r.stdout).tokenExpiresAt).toBe("2099-05-01T10:00:00Z");
    });

    it("fails the token-expiry check when GitHub's expiry has passed, before anything is swapped", () => {
        const r = sh(verifyScript(spec()), GOOD, env({ FAKE_EXPIRY: "2001-02-03 04:05:06 UTC" }));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'token-expiry' failed on ${WHERE}.`);
        expect(r.stderr).toContain("GitHub says this token expired on 2001-02-03 04:05:06 UTC.");
        expect(r.stderr).toContain("pulumi config set --secret githubToken");
        expect(r.stdout).not.toContain("gfh-checks=ok");
        expect(fs.readdirSync(secrets)).toEqual(["codex"]);
    });

    it("does not retry a 401 (its headers say Keep-Alive: timeout=5) and prints no headers", () => {
        const r = sh(verifyScript(spec()), "ghp_wrongwrongwrong", env());
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("expired");
        expect(r.stderr).not.toMatch(/Keep-Alive|Content-Type|HTTP\/2\.0/);
        expect(fs.readFileSync(path.join(log, "gh-calls"), "utf8")).toBe("api -i user --jq .login\n");
    });

    it("fails the permission check naming each repository below requiredPermission and its role", () => {
        const r = sh(verifyScript(spec({ repositories: ["owner/repository", "acme/demo", "acme/other"] })), GOOD, env({
            FAKE_REPOS: "owner/repository acme/demo acme/other",
            FAKE_ROLES: "acme/demo=pull acme/other=triage",
        }));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`verification check 'repository-permission' failed on ${WHERE}.`);
        expect(r.stderr).toContain("requiredPermission is push");
        expect(r.stderr).toContain("acme/demo: the token may pull, it needs push");
        expect(r.stderr).toContain("acme/other: the token may triage, it needs push");
        expect(r.stderr).not.toContain("owner/repository:");
        expect(r.stdout).toContain("gfh-repository-access=acme/demo pull\n");
        expect(fs.readdirSync(secrets)).toEqual(["codex"]);
    });

    it.each([
        ["pull", "acme/demo=pull", 0],
        ["push", "acme/demo=admin", 0],
        ["maintain", "acme/demo=push", 3],
        ["admin", "acme/demo=maintain", 3],
        ["pull", "acme/demo=none", 3],
        ["pull", "acme/demo=unknown", 3],
    ] as const)("requiredPermission %s with %s exits %i", (required, roles, code) => {
        const r = sh(verifyScript(spec({ repositories: ["acme/demo"], requiredPermission: required })), GOOD, env({ FAKE_ROLES: roles }));
        expect(r.code, r.stderr).toBe(code);
        if (code === 0) expect(parseVerifyOutput(r.stdout).repositoryAccess).toEqual({ "acme/demo": roles.split("=")[1] });
    });

    it("parseVerifyOutput reads login, expiry and roles; only the login is required", () => {
        expect(() => parseVerifyOutput("gfh-checks=ok\n")).toThrow(/no GitHub login/);
        expect(parseVerifyOutput("noise\ngfh-github-login=some-bot\r\n")).toEqual({ githubLogin: "some-bot", tokenExpiresAt: "unknown", repositoryAccess: {} });
        const out = [
            "gfh-github-login=some-bot",
            "gfh-token-expires=2027-03-31 00:00:00 +0900\r",
            "gfh-repository-access=acme/demo pull",
            "gfh-repository-access=owner/repository admin\r",
            "gfh-checks=ok",
        ].join("\n");
        expect(parseVerifyOutput(out)).toEqual({
            githubLogin: "some-bot",
            tokenExpiresAt: "2027-03-30T15:00:00Z",
            repositoryAccess: { "acme/demo": "pull", "owner/repository": "admin" },
        });
        expect(parseVerifyOutput("gfh-github-login=b\ngfh-token-expires=never\n").tokenExpiresAt).toBe("never");
        // A header this program cannot read is kept as sent (the warning says so) rather than failing the run.
        expect(parseVerifyOutput("gfh-github-login=b\ngfh-token-expires=next Tuesday\n").tokenExpiresAt).toBe("next Tuesday");
    });

    it("apiKeyLoginScript logs in from stdin when no login exists, and keeps an existing one", () => {
        const c: CheckContainer = { runtimeUser: ME, image: IMAGE, tokenFile: path.join(secrets, "gh-token"), codexDir: codex, githubHost: "github.com", dockerArgs: [] };
        fs.rmSync(path.join(codex, "auth.json"));
        const created = sh(apiKeyLoginScript(c), "sk-unit-key\n", env());
        expect(created.code, created.stderr).toBe(0);
        expect(created.stdout).toBe("codex-login=created\n");
        expect(fs.readFileSync(path.join(codex, "auth.json"), "utf8")).toBe("sk-unit-key\n");
        const argv = dockerArgv();
        expect(argv).toHaveLength(2);
        expect(argv[1]).toContain("-i");
        expect(argv.flat().join(" ")).not.toContain("sk-unit-key");
        const present = sh(apiKeyLoginScript(c), "sk-other\n", env());
        expect(present.stdout).toBe("codex-login=present\n");
        expect(fs.readFileSync(path.join(codex, "auth.json"), "utf8")).toBe("sk-unit-key\n");
    });
});

describe("codexAuthFilesScript", () => {
    it("counts the Codex directory's files up to depth 3, config.toml aside: settings are not a login", () => {
        const d = fs.mkdtempSync(path.join(tmp, "codex auth '$x'-"));
        const count = () => sh(codexAuthFilesScript(d, ME)).stdout;
        expect(count()).toBe("0\n");
        fs.writeFileSync(path.join(d, "config.toml"), 'model = "m"\n');
        expect(count()).toBe("0\n");
        fs.mkdirSync(path.join(d, "sub"));
        fs.writeFileSync(path.join(d, "sub", "config.toml"), "");
        fs.writeFileSync(path.join(d, "auth.json"), "{}");
        expect(count()).toBe("2\n");
        expect(sh(codexAuthFilesScript(path.join(d, "missing"), ME)).stdout).toBe("0\n");
        expect(sh(codexAuthFilesScript(d, "")).stdout).toBe("2\n");
    });
});
