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

/** What the check and login containers always run with, whatever the image says: no capabilities, no setuid gains. */
export const CONTAINER_HARDENING: readonly string[] = ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"];

/** Exit status when a mount source changed between its check and its mount (a link swapped in). */
export const EXIT_MOUNT_SOURCE = 26;

/**
 * `docker run` as shell words, for text that ran `mountSources` first: the operator's `checkDockerArgs` first, so that
 * ours come later and win where docker keeps the last (and the allowlist refuses what would undo them: `--user`,
 * `--privileged`, `--cap-add`, `no-new-privileges=false`); `--user "$ruid:$rgid"`, numeric from the host's passwd
 * entry (never a name the image resolves); the token (`$tok`) and the Codex directory (`$codex`) from the paths
 * `mountSources` made; `CODEX_HOME` so that Codex finds its mount whatever HOME the image gives that uid.
 */
export function containerWords(c: CheckContainer, opts: { tokenMount: boolean; stdin?: boolean; codexReadOnly: boolean }): string[] {
    const w = ["docker", "run", "--rm", ...(opts.stdin ? ["-i"] : []), ...c.dockerArgs].map(quote);
    w.push(quote("--user"), '"$ruid:$rgid"', ...CONTAINER_HARDENING.map(quote));
    if (opts.tokenMount) w.push(quote("--mount"), `"type=bind,src=$tok,dst=${CONTAINER_TOKEN_FILE},readonly"`);
    w.push(quote("--mount"), `"type=bind,src=$codex,dst=${CONTAINER_CODEX_DIR}${opts.codexReadOnly ? ",readonly" : ""}"`);
    w.push(quote("-e"), quote(`CODEX_HOME=${CONTAINER_CODEX_DIR}`));
    if (opts.tokenMount) w.push(quote("-e"), quote(`GH_TOKEN_FILE=${CONTAINER_TOKEN_FILE}`));
    if (c.githubHost !== "github.com") w.push(quote("-e"), quote(`GH_HOST=${c.githubHost}`));
    w.push(quote(c.image));
    return w;
}

/**
 * Sets `$codex` and `$tok` (with `token`) to the paths `docker run` binds. The daemon resolves a bind source as
 * root when the container starts; the runtime user controls the Codex directory and the token's directory and could
 * swap a link in after any check. So, with root as the SSH user, the daemon gets only paths in a root-owned 0700
 * directory under /run that the runtime user cannot change:
 * - the Codex directory is bind-mounted there by root, then kept only if the mount is the very directory root saw
 *   at the Codex path a moment before (same device and inode, a directory the runtime user owns, not a link): a link
 *   swapped in before the mount gives another inode and is refused;
 * - the token is written there by root (from stdin, or read from the token file as the runtime user), 0400 and
 *   owned by the runtime user, whose container reads it.
 * All of it is removed on exit. With the runtime user as the SSH user (it runs docker itself), the paths are used
 * as they are (`token: stdin` then stages the token as the runtime user, in `verifyScript`).
 */
function mountSources(c: CheckContainer, token: "stdin" | "file" | "none"): string[] {
    const codexDir = quote(c.codexDir);
    const refuse = `{ printf '%s\n' ${quote(`${c.codexDir} changed while it was being mounted (a link swapped in?): refusing`)} >&2; exit ${EXIT_MOUNT_SOURCE}; }`;
    const lines = [
        "sd=''",
        // Never rm -r: should the umount fail, the mount point still holds the runtime user's files.
        `cleanup() { [ -n "$sd" ] || return 0; if [ -d "$sd/codex" ]; then umount "$sd/codex" 2>/dev/null || umount -l "$sd/codex" 2>/dev/null; rmdir "$sd/codex" 2>/dev/null; fi; rm -f "$sd/gh-token"; rmdir "$sd" 2>/dev/null; return 0; }`,
        'if [ "$(id -u)" = 0 ]; then',
        "  trap cleanup EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
        // Left by a run killed outright (SIGKILL): nothing runs that long, so a day-old one is nobody's.
        `  for o in /run/gfh-container.*; do [ -d "$o" ] && [ ! -L "$o" ] && [ -n "$(find "$o" -maxdepth 0 -mmin +1440)" ] || continue; sd=$o; cleanup; done; sd=''`,
        `  sd=$(mktemp -d /run/gfh-container.XXXXXXXXXX) || { printf '%s\n' 'cannot make a directory under /run for the container mounts' >&2; exit 4; }`,
        `  want=$(stat -c '%d:%i:%u:%F' -- ${codexDir}) || exit ${EXIT_MOUNT_SOURCE}`,
        `  case "$want" in *:*:"$ruid":directory) ;; *) ${refuse} ;; esac`,
        `  mkdir -m 700 "$sd/codex" && mount -o bind ${codexDir} "$sd/codex" || { printf '%s\n' ${quote(`cannot bind-mount ${c.codexDir} for the container`)} >&2; exit 4; }`,
        `  [ "$(stat -c '%d:%i:%u:%F' -- "$sd/codex")" = "$want" ] || ${refuse}`,
        '  codex="$sd/codex"',
    ];
    const cannot = `{ printf '%s\\n' 'cannot stage the token for the container under /run; the token file is unchanged.' >&2; exit 4; }`;
    if (token === "stdin") lines.push(`  ( umask 077; cat > "$sd/gh-token" ) || ${cannot}`);
    if (token === "file") lines.push(`  ( umask 077; asuser cat -- ${quote(c.tokenFile)} > "$sd/gh-token" ) || ${cannot}`);
    if (token !== "none") lines.push(`  { chown "$ruid:$rgid" "$sd/gh-token" && chmod 400 "$sd/gh-token"; } || ${cannot}`, '  tok="$sd/gh-token"');
    lines.push("else", `  codex=${codexDir}`);
    if (token === "file") lines.push(`  tok=${quote(c.tokenFile)}`);
    lines.push("fi");
    return lines;
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
/** Repositories checked at once inside the check container (each check waits on GitHub, not on the CPU). */
export const REPO_CHECKS = 8;

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
        // One function and one loop, not lines per repository: the whole text is one `docker run` argument (128 KiB at
        // most). REPO_CHECKS at a time (each waits on GitHub), each into its own files; read back in the listed order,
        // so the first failing repository is the one named, and its output is as a sequential loop's.
        `check() {`,
        `  retry gh repo view "$r" --json nameWithOwner --jq .nameWithOwner || ${failRepo(
            "The token's account cannot see ",
            `. Give the account access to it (a fine-grained token needs it under "Only selected repositories", with Contents, Issues and Pull requests read and write; an organisation may have to approve the token), or remove it from repositories.`,
        )}`,
        `  retry gh api "repos/$r" --jq ${quote(HIGHEST_ROLE_JQ)} || ${failRepo("GET /repos/", " failed, so the token's role on it is unknown.")}`,
        `  role=$(last); printf '%s%s %s\\n' ${quote(ACCESS_MARK)} "$r" "$role"`,
        "}",
        `rd=$(mktemp -d) || { out="mktemp -d failed in the container"; ${fail("repository-checks", "The agent image needs a writable /tmp.", true)}; }`,
        "i=0",
        `for r in ${quoteAll(v.repositories)}; do`,
        // The inner subshell: a failing check exits it, and the outer one still records the status.
        `  ( (check) >"$rd/$i.out" 2>"$rd/$i.err"; echo $? >"$rd/$i.rc" ) &`,
        `  i=$((i + 1)); [ $((i % ${REPO_CHECKS})) -ne 0 ] || wait`,
        "done",
        "wait",
        "short=''",
        "i=0",
        `for r in ${quoteAll(v.repositories)}; do`,
        `  cat "$rd/$i.out"; c=$(cat "$rd/$i.rc" 2>/dev/null || echo 1)`,
        `  if [ "$c" != 0 ]; then cat "$rd/$i.err" >&2; rm -rf "$rd"; exit "$c"; fi`,
        `  role=$(sed -n '$s/^.* //p' "$rd/$i.out")`,
        `  [ "$(rank "$role")" -ge ${need} ] || short="$short"$'\\n'"  $r: the token may $role"${quote(`, it needs ${v.requiredPermission}`)}`,
        "  i=$((i + 1))",
        "done",
        'rm -rf "$rd"',
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
    const words = [...containerWords(v, { tokenMount: true, codexReadOnly: true }), ...["bash", "-lc", inner].map(quote)];
    const dir = v.tokenFile.slice(0, v.tokenFile.lastIndexOf("/")) || "/";
    // A link the runtime user planted along the mount sources is refused first, naming it.
    const lines = ["set -u", runtimeUserPrelude(v.runtimeUser), `${refuseLinksLine(v.runtimeUser, v.codexDir)} || exit`, `${refuseLinksLine(v.runtimeUser, dir)} || exit`];
    const prefix = `${dir}/.${v.tokenFile.slice(v.tokenFile.lastIndexOf("/") + 1)}.verify.`;
    if (v.staging) {
        // As the runtime user: a staging file left by an interrupted run (or by an older version of this program) holds a token.
        lines.push(`asuser sh -c 'rm -f -- "$1"*' sh ${quote(prefix)} 2>/dev/null`);
    }
    lines.push(...mountSources(v, v.staging ? "stdin" : "file"));
    if (v.staging) {
        const cannot = `{ printf '%s\\n' ${quote(`cannot stage the new token in ${dir} on ${v.where}; the old token file is unchanged.`)} >&2; exit 4; }`;
        // Only with the runtime user as the SSH user (root staged it above): made by mktemp (O_EXCL, random name, 0600).
        const stage = ["set -eu", "umask 077", 't=$(mktemp -- "${1}XXXXXXXXXX")', 'cat > "$t" || { rm -f -- "$t"; exit 1; }', "printf '%s\\n' \"$t\""].join("\n");
        lines.push(
            'if [ -z "$sd" ]; then',
            `  tok=$(asuser sh -c ${quote(stage)} sh ${quote(prefix)}) || ${cannot}`,
            `  trap 'asuser rm -f -- "$tok"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
            "fi",
        );
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
    const words = (stdin: boolean) => containerWords(c, { tokenMount: false, stdin, codexReadOnly: false }).join(" ");
    return [
        "set -eu",
        runtimeUserPrelude(c.runtimeUser),
        refuseLinksLine(c.runtimeUser, c.codexDir),
        ...mountSources(c, "none"),
        `if ${words(false)} ${quoteAll(["codex", "login", "status"])} >/dev/null 2>&1; then echo codex-login=present; exit 0; fi`,
        `${words(true)} ${quoteAll(["codex", "login", "--with-api-key"])} >&2`,
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
