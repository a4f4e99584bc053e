import { refuseLinksLine, runtimeUserPrelude } from "./hostfs";
import { CONTAINER_CODEX_DIR, CONTAINER_TOKEN_FILE, CONTAINER_WORKSPACE, TOKEN_EXPORT } from "./container";
import { quote, quoteAll } from "./shell";
import { expiryToIso, NEVER, Permission, PERMISSIONS, UNKNOWN } from "./access";


export interface CheckContainer {
    /** Owner of the token file and the Codex directory; host-side file operations run as this user. */
    runtimeUser: string;
    image: string;
    tokenFile: string;
    codexDir: string;
    githubHost: string;
    /** Extra `docker run` arguments (already checked against the security rules). */
    dockerArgs: readonly string[];
}

/** `docker run` words shared by every container this program starts: the document's mounts and env. */
export function containerArgs(c: CheckContainer, opts: { tokenMount: boolean; stdin?: boolean }): string[] {
    const args = ["docker", "run", "--rm"];
    if (opts.stdin) args.push("-i");
    if (opts.tokenMount) {
        args.push("--mount", `type=bind,src=${c.tokenFile},dst=${CONTAINER_TOKEN_FILE},readonly`);
    }
    args.push("--mount", `type=bind,src=${c.codexDir},dst=${CONTAINER_CODEX_DIR}`);
    if (opts.tokenMount) args.push("-e", `GH_TOKEN_FILE=${CONTAINER_TOKEN_FILE}`);
    if (c.githubHost !== "github.com") args.push("-e", `GH_HOST=${c.githubHost}`);
    args.push(...c.dockerArgs, c.image);
    return args;
}

export interface VerifySpec extends CheckContainer {
    /**
     * Verify before swap: the token arrives on stdin and is checked from a 0600 staging file beside
     * `tokenFile`, made and removed by the runtime user; the real token file is written only after
     * the checks pass, so a bad new token never replaces a working one.
     */
    staging?: boolean;
    repositories: readonly string[];
    /** The least role the token must have on every repository (`requiredPermission`). */
    requiredPermission: Permission;
    /** Where, for messages: `host 'web-1' (203.0.113.10)`. */
    where: string;
    /** The document's interactive `codex login`, shown when no Codex login is present. */
    loginCommand: string;
}

/** Marker lines the verification prints on stdout; parsed by `parseVerifyOutput`. */
const LOGIN_MARK = "gfh-github-login=";
/** `github-authentication-token-expiration` as GitHub sent it, or `never`. */
const EXPIRES_MARK = "gfh-token-expires=";
/** `owner/name role`, one line per repository. */
const ACCESS_MARK = "gfh-repository-access=";

/** jq over `GET /repos/{owner}/{repo}`: the highest role in `permissions`, `none` if all are false, `unknown` if absent. */
export const HIGHEST_ROLE_JQ = `.permissions as $p | if $p == null then "unknown" ${[...PERMISSIONS]
    .reverse()
    .map((r) => `elif $p.${r} then "${r}"`)
    .join(" ")} else "none" end`;

/**
 * One container runs every check of the setup document (identity, each repository, Codex login
 * state, Codex CLI): one container start instead of four. Beyond the document, it records the token's
 * expiry (the `github-authentication-token-expiration` header of `GET /user`) and each repository's
 * role (`permissions` of `GET /repos/{owner}/{repo}`), and fails when the token has expired or a role is
 * below `requiredPermission`. A failing check prints which check, where, and what to do, and exits
 * non-zero so that `pulumi up` fails.
 */
export function verifyScript(v: VerifySpec): string {
    const fail = (check: string, advice: string, detail: boolean) =>
        `{ printf '%s\\n' ${quote(`verification check '${check}' failed on ${v.where}.`)}${detail ? ` "$out"` : ""} ${quote(advice)} >&2; exit 3; }`;
    // The same inside the repository loop, naming the repository `$r`.
    const failRepo = (before: string, after: string) =>
        `{ printf '%s\\n' ${quote("verification check 'repository ")}"$r"${quote(`' failed on ${v.where}.`)} "$out" ${quote(before)}"$r"${quote(after)} >&2; exit 3; }`;
    const need = PERMISSIONS.indexOf(v.requiredPermission) + 1;
    const rotate = "pulumi config set --secret githubToken <token>, then pulumi up.";
    const inner = [
        TOKEN_EXPORT,
        // `gh api -i` prints the status line and headers, a blank line, then the body.
        `nohead() { printf '%s\\n' "$out" | tr -d '\\r' | sed '/^HTTP\\/[0-9.]* [0-9][0-9][0-9]/,/^$/d'; }`,
        `last() { printf '%s\\n' "$out" | tr -d '\\r' | sed '/^$/d' | tail -n 1; }`,
        // GitHub's 5xx answers and dropped connections pass: up to 4 tries, 6 s of waiting at most.
        // Anything else (401, not found) fails at once. Headers are dropped first (`Keep-Alive: timeout=5`).
        `retry() { n=0; while :; do out=$("$@" 2>&1) && return 0; out=$(nohead); case "$out" in *"HTTP 5"*|*"connection reset"*|*"connection refused"*|*"timeout"*|*"EOF"*) ;; *) return 1;; esac; n=$((n + 1)); [ "$n" -ge 4 ] && return 1; sleep "$n"; done; }`,
        `rank() { case "$1" in ${PERMISSIONS.map((r, i) => `${r}) echo ${i + 1};;`).join(" ")} *) echo 0;; esac; }`,
        `retry gh api -i user --jq .login || ${fail(
            "github-identity",
            `The GitHub token was rejected. GitHub answers 401 Bad credentials alike for a token that has expired (it is revoked on its expiry date), was revoked, or is mistyped. Store a valid one: ${rotate}`,
            true,
        )}`,
        `login=$(out=$(nohead); last); exp=$(printf '%s\\n' "$out" | tr -d '\\r' | sed -n '1,/^$/p' | grep -i -m 1 '^github-authentication-token-expiration:' | sed 's/^[^:]*:[[:space:]]*//')`,
        `[ -n "$login" ] || { out="GitHub answered GET /user without a login."; ${fail("github-identity", "Check githubHost and that it is a GitHub API.", true)}; }`,
        // GitHub revokes a token when it expires, so this only fires when the clocks disagree; it keeps a
        // token that is about to lapse from replacing a working one.
        `if [ -z "$exp" ]; then exp=${NEVER}; elif e=$(date -u -d "$exp" +%s 2>/dev/null) && [ "$e" -le "$(date -u +%s)" ]; then out="GitHub says this token expired on $exp."; ${fail(
            "token-expiry",
            `Create a new token and store it: ${rotate}`,
            true,
        )}; fi`,
        `printf '%s%s\\n' ${quote(LOGIN_MARK)} "$login" ${quote(EXPIRES_MARK)} "$exp"`,
        "short=''",
        // One loop, not lines per repository: the whole text is one `docker run` argument (128 KiB at most).
        `for r in ${quoteAll(v.repositories)}; do`,
        `  retry gh repo view "$r" --json nameWithOwner --jq .nameWithOwner || ${failRepo(
            "The token's account cannot see ",
            `. Give the account access to it (a fine-grained token needs it under "Only selected repositories", with Contents, Issues and Pull requests read and write; an organisation may have to approve the token), or remove it from repositories.`,
        )}`,
        `  retry gh api "repos/$r" --jq ${quote(HIGHEST_ROLE_JQ)} || ${failRepo("GET /repos/", " failed, so the token's role on it is unknown.")}`,
        `  role=$(last); printf '%s%s %s\\n' ${quote(ACCESS_MARK)} "$r" "$role"`,
        `  [ "$(rank "$role")" -ge ${need} ] || short="$short"$'\\n'"  $r: the token may $role"${quote(`, it needs ${v.requiredPermission}`)}`,
        "done",
        `[ -z "$short" ] || { out=${quote(`requiredPermission is ${v.requiredPermission}; GitHub reports a lower role:`)}"$short"; ${fail(
            "repository-permission",
            `Give the token's account the ${v.requiredPermission} role on each repository listed (a fine-grained token also needs Contents, Issues and Pull requests: Read and write), or set requiredPermission lower if the agents need less.`,
            true,
        )}; }`,
        // Codex loads config.toml for any command that reads config (`codex --help` does not): `mcp list` needs no login.
        // Its error quotes the offending line under a `|` gutter: dropped, the file may hold an MCP server's key.
        `out=$(codex mcp list 2>&1 >/dev/null) || { out=$(printf '%s\n' "$out" | sed '/^[[:space:]]*[0-9]*[[:space:]]*|/d'); ${fail(
            "codex-config",
            `Codex cannot load its config file ${v.codexDir}/config.toml (mounted as ${CONTAINER_CODEX_DIR}/config.toml). Fix or remove it by hand as ${v.runtimeUser}, then run pulumi up again.`,
            true,
        )}; }`,
        `out=$(codex login status 2>&1) || ${fail(
            "codex-auth",
            `No Codex login state in the Codex auth directory. ${codexSignInAdvice(v.runtimeUser, v.loginCommand)}`,
            true,
        )}`,
        `out=$(codex --help 2>&1 >/dev/null) || ${fail("codex-cli", `codex --help failed in ${v.image}: the image lacks a working Codex CLI.`, true)}`,
        `echo gfh-checks=ok`,
    ].join("\n");
    const words = [...containerArgs(v, { tokenMount: true }), "bash", "-lc", inner].map(quote);
    const dir = v.tokenFile.slice(0, v.tokenFile.lastIndexOf("/")) || "/";
    // The daemon resolves mount sources as root: a link the runtime user planted along them is refused first.
    const lines = ["set -u", runtimeUserPrelude(v.runtimeUser), `${refuseLinksLine(v.runtimeUser, v.codexDir)} || exit`, `${refuseLinksLine(v.runtimeUser, dir)} || exit`];
    if (v.staging) {
        const prefix = `${dir}/.${v.tokenFile.slice(v.tokenFile.lastIndexOf("/") + 1)}.verify.`;
        const mount = quote(`type=bind,src=${v.tokenFile},dst=${CONTAINER_TOKEN_FILE},readonly`);
        words[words.indexOf(mount)] = `"type=bind,src=$tmp,dst=${CONTAINER_TOKEN_FILE},readonly"`;
        const cannot = `{ printf '%s\\n' ${quote(`cannot stage the new token in ${dir} on ${v.where}; the old token file is unchanged.`)} >&2; exit 4; }`;
        // As the runtime user: a staging file left by an interrupted run holds a token and goes first; the new one is
        // made by mktemp (O_EXCL, random name, 0600), so a link planted or swapped in reaches only the user's own files.
        const stage = ["set -eu", "umask 077", 'rm -f -- "$1"*', 't=$(mktemp -- "${1}XXXXXXXXXX")', 'cat > "$t" || { rm -f -- "$t"; exit 1; }', "printf '%s\\n' \"$t\""].join("\n");
        lines.push(`tmp=$(asuser sh -c ${quote(stage)} sh ${quote(prefix)}) || ${cannot}`, `trap 'asuser rm -f -- "$tmp"' EXIT HUP INT TERM`);
    }
    return [
        ...lines,
        words.join(" "),
        "rc=$?",
        // 3 is the checks' own failure (message already printed); anything else is docker failing to start the container.
        `if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then printf ${quote(
            `verification container could not run on ${v.where.replace(/%/g, "%%")} (docker exit status %s). Check that dockerd runs and that image ${v.image} is present.\\n`,
        )} "$rc" >&2; fi`,
        'exit "$rc"',
    ].join("\n");
}

export interface VerifyResult {
    /** GitHub login the token belongs to. */
    githubLogin: string;
    /** ISO 8601 UTC, `never` (GitHub sent no expiry), `unknown` (checks recorded before this output), or the header as sent if unreadable. */
    tokenExpiresAt: string;
    /** `owner/name` -> the highest role GitHub reports for the token (`pull` ... `admin`, `none`, `unknown`). */
    repositoryAccess: Record<string, string>;
}

/** What `verifyScript` printed: login, token expiry and each repository's role. */
export function parseVerifyOutput(stdout: string): VerifyResult {
    const lines = stdout.split("\n").map((l) => l.replace(/\r$/, ""));
    const value = (mark: string) => lines.find((l) => l.startsWith(mark))?.slice(mark.length).trim();
    const githubLogin = value(LOGIN_MARK);
    if (githubLogin === undefined) throw new Error("verification printed no GitHub login");
    const expires = value(EXPIRES_MARK);
    const tokenExpiresAt = expires === undefined ? UNKNOWN : expires === NEVER ? NEVER : (expiryToIso(expires) ?? expires);
    const repositoryAccess: Record<string, string> = {};
    for (const l of lines) {
        if (!l.startsWith(ACCESS_MARK)) continue;
        const [repo, role] = l.slice(ACCESS_MARK.length).trim().split(/\s+/);
        if (repo) repositoryAccess[repo] = role || UNKNOWN;
    }
    return { githubLogin, tokenExpiresAt, repositoryAccess };
}

export interface LoginSpec {
    image: string;
    codexDir: string;
    workspaceDir: string;
}

/** What to do when Codex has no login; one wording for the login probe and the checks. */
export function codexSignInAdvice(runtimeUser: string, loginCommand: string): string {
    return `Sign in once on the host as ${runtimeUser} (sudo -iu ${runtimeUser}): ${loginCommand} (or set openaiApiKey to log in with an API key), then run pulumi up again.`;
}

/** The document's interactive Codex sign-in, for the operator to run once as the runtime user. */
export function interactiveLoginCommand(l: LoginSpec): string {
    return quoteAll([
        "docker", "run", "--rm", "-it",
        "--name", "github-flows-codex-login",
        "--mount", `type=bind,src=${l.codexDir},dst=${CONTAINER_CODEX_DIR}`,
        "--mount", `type=bind,src=${l.workspaceDir},dst=${CONTAINER_WORKSPACE}`,
        "-w", CONTAINER_WORKSPACE,
        l.image,
        "codex", "login",
    ]).replace(/'([A-Za-z0-9_:./=,@-]+)'/g, "$1");
}

/**
 * Logs Codex in with an API key read from standard input, unless a login is already present: an
 * existing ChatGPT sign-in is never overwritten. Prints `codex-login=present` or `codex-login=created`.
 */
export function apiKeyLoginScript(c: CheckContainer): string {
    const base = containerArgs(c, { tokenMount: false });
    const withStdin = containerArgs(c, { tokenMount: false, stdin: true });
    return [
        "set -eu",
        runtimeUserPrelude(c.runtimeUser),
        refuseLinksLine(c.runtimeUser, c.codexDir),
        `if ${quoteAll([...base, "codex", "login", "status"])} >/dev/null 2>&1; then echo codex-login=present; exit 0; fi`,
        `${quoteAll([...withStdin, "codex", "login", "--with-api-key"])} >&2`,
        "echo codex-login=created",
    ].join("\n");
}

/**
 * Prints how many files the Codex directory holds up to the document's depth 3 (`find ... -maxdepth 3 -type f`),
 * `config.toml` aside: settings (`codexModel`), not a login. Read as `user`; `""` reads as the SSH user (state
 * written before the runtime user was recorded).
 */
export function codexAuthFilesScript(codexDir: string, user: string): string {
    const body = ['d=$1', 'if [ -d "$d" ]; then find "$d" -mindepth 1 -maxdepth 3 -type f 2>/dev/null | grep -cvxF -- "$d/config.toml" || true; else echo 0; fi'].join("\n");
    const line = `sh -c ${quote(body)} sh ${quote(codexDir)}`;
    return user ? [runtimeUserPrelude(user), `asuser ${line}`].join("\n") : line;
}
