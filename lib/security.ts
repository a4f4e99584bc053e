import { CONTAINER_WORKSPACE } from "./container";
import { isWithin, normalizePath } from "./paths";
import { HostMount, readDockerArgs } from "./dockerPolicy";

/** What the security rules need to know about a host layout. */
export interface Layout {
    runtimeUser: string;
    /** The runtime user's home: from the host's passwd entry once it has been read (/home/<runtimeUser> before). */
    home: string;
    appDir: string;
    workspaceDir: string;
    secretsDir: string;
    tokenFile: string;
    codexDir: string;
    /** `allowedBindSources`: further host paths a mount may bind (and what lies below them); read-only unless `readWrite`. */
    allowedBindSources?: ReadonlyArray<BindSource>;
}

/** One entry of `allowedBindSources`, as the config schema gives it. */
export interface BindSource {
    path: string;
    readWrite: boolean;
}

/** Whose `docker run` arguments: `check` ones may not set what the check and login containers fix (`--user`). */
export type DockerArgsKind = "profile" | "check";

export { isWithin };

/** A host path that must not be mounted: `subtree` forbids what lies below it too; parents are always forbidden. */
interface Forbidden {
    path: string;
    subtree: boolean;
    rule: string;
    /** The setup document's own rules say so; the others are this program's (they reach root on the host). */
    document: boolean;
}

/**
 * Directories under /run (and /var/run) holding container runtime sockets: Docker's own, containerd, Podman,
 * CRI-O, BuildKit, and /run/user/<uid>/ where rootless Docker and Podman put theirs.
 */
const RUNTIME_SOCKET_DIRS = ["docker", "containerd", "podman", "crio", "buildkit", "user"];

/** The host paths no mount may expose, the setup document's first. */
function forbidden(l: Layout): Forbidden[] {
    const home = l.home;
    const doc = (path: string, subtree: boolean, rule: string): Forbidden => ({ path, subtree, rule, document: true });
    const own = (path: string, rule: string): Forbidden => ({ path, subtree: true, rule, document: false });
    return [
        doc(home, false, `the runtime user's home directory ${home}`),
        doc(`${home}/.ssh`, true, `SSH configuration ${home}/.ssh/`),
        doc(`${home}/.config`, true, `the user configuration directory ${home}/.config/`),
        doc(`${l.appDir}/.env`, true, `the application .env file ${l.appDir}/.env`),
        doc("/var/run/docker.sock", true, "the Docker socket /var/run/docker.sock"),
        doc("/run/docker.sock", true, "the Docker socket /run/docker.sock"),
        own(`${home}/.docker`, `the Docker client directory ${home}/.docker/ (registry credentials, Docker Desktop's socket)`),
        // Other container runtimes' sockets: each reaches root on the host as much as the Docker socket does.
        ...RUNTIME_SOCKET_DIRS.flatMap((d) => [`/run/${d}`, `/var/run/${d}`]).map((p) => own(p, `the container runtime sockets under ${p}`)),
        own("/var/lib/docker", "the Docker data root /var/lib/docker"),
        own("/var/lib/containerd", "the containerd data root /var/lib/containerd"),
        own("/var/lib/containers", "the Podman/CRI-O storage /var/lib/containers"),
        // /proc/<pid>/root and /proc/self/root reach the host's whole file system.
        own("/proc", "/proc (/proc/<pid>/root reaches the host's file system)"),
        own("/sys", "/sys (the host kernel's settings)"),
        own("/dev", "/dev (the host's devices)"),
    ];
}

/**
 * Checks `docker run` arguments as the Docker CLI parses them: only the options of `ACCEPTED_DOCKER_RUN_OPTIONS`
 * (dockerPolicy.ts), and host paths bound only from the allowed sources (`bindSources`), none exposing a forbidden
 * path. One message per violation, naming the option. `check` arguments may not set `--user` either: the check and
 * login containers run as the runtime user's uid:gid, and a later `--user` would win.
 */
export function checkDockerArgs(args: readonly string[], l: Layout, kind: DockerArgsKind = "profile"): string[] {
    const { problems, mounts, options } = readDockerArgs(args);
    const fixed = kind === "check" ? options.filter((o) => o.name === "user") : [];
    return [
        ...problems,
        ...fixed.map((o) => `'${o.flag}' is refused in checkDockerArgs: the check and login containers run as the runtime user's uid:gid from the host's passwd entry`),
        ...mounts.flatMap((m) => judgeMount(m, l)),
    ];
}

/**
 * The only host paths a mount may bind: the token file (read-only), the Codex directory, the workspace, and what the
 * operator lists in `allowedBindSources`. An allowlist, because a denylist always misses a socket or a system file.
 */
export function bindSources(l: Layout): Array<BindSource & { what: string }> {
    return [
        { path: l.tokenFile, readWrite: false, what: "the GitHub token file" },
        { path: l.codexDir, readWrite: true, what: "the Codex directory" },
        { path: l.workspaceDir, readWrite: true, what: "the workspace" },
        ...(l.allowedBindSources ?? []).map((s) => ({ ...s, what: `allowedBindSources entry ${s.path}` })),
    ];
}

/** The rules for one mounted host path. */
function judgeMount(m: HostMount, l: Layout): string[] {
    const problems: string[] = [];
    // Judged after normalising; a '..' is refused as well, since the host resolves it after following symlinks.
    if (m.source.split("/").includes("..")) problems.push(`mount '${m.spec}' has a '..' in its source; use a plain absolute path`);
    const src = normalizePath(m.source);
    // Mounting a parent exposes the forbidden path as much as mounting it directly.
    const f = forbidden(l).find((f) => isWithin(f.path, src) || (f.subtree && isWithin(src, f.path)));
    if (f) problems.push(`mount '${m.spec}' exposes ${f.rule}, which ${f.document ? "the setup document forbids" : "gives the container the host"}`);
    if (isWithin(l.tokenFile, src) && !m.readonly) {
        problems.push(`mount '${m.spec}' exposes the GitHub token file writable; add ',readonly'`);
    }
    const allowed = bindSources(l).filter((a) => isWithin(src, a.path));
    if (!f && allowed.length === 0) {
        problems.push(
            `mount '${m.spec}' binds the host path ${src}, which is not the token file, the Codex directory, the workspace or a source listed in allowedBindSources: ` +
                "list it there (read-only unless readWrite: true) if the containers need it",
        );
    } else if (!f && !m.readonly && !allowed.some((a) => a.readWrite) && !isWithin(l.tokenFile, src)) {
        problems.push(`mount '${m.spec}' binds ${src} writable, but allowedBindSources lists it read-only: add ',readonly' (':ro' with -v), or set readWrite: true for it`);
    }
    const credential = isWithin(l.tokenFile, src) || isWithin(l.codexDir, src) || isWithin(src, l.secretsDir);
    if (credential && m.target && isWithin(m.target, CONTAINER_WORKSPACE)) {
        problems.push(`mount '${m.spec}' places credentials inside the run workspace ${CONTAINER_WORKSPACE}`);
    }
    return problems;
}

/** A listed bind source must not expose what no mount may (a socket, /proc, the home directory, a parent of them). */
export function checkBindSources(l: Layout): Array<{ index: number; message: string }> {
    return (l.allowedBindSources ?? []).flatMap((s, index) => {
        const f = forbidden(l).find((f) => isWithin(f.path, s.path) || (f.subtree && isWithin(s.path, f.path)));
        return f ? [{ index, message: `${s.path} exposes ${f.rule}, which no mount may` }] : [];
    });
}

/** Credentials must live outside the workspace, which logs and debugging tools may expose. */
export function checkCredentialPlacement(l: Layout): Array<{ key: string; message: string }> {
    const issues: Array<{ key: string; message: string }> = [];
    const creds: Array<[keyof Layout, string]> = [
        ["secretsDir", l.secretsDir],
        ["tokenFile", l.tokenFile],
        ["codexDir", l.codexDir],
    ];
    for (const [key, p] of creds) {
        if (isWithin(p, l.workspaceDir) || isWithin(l.workspaceDir, p)) {
            issues.push({ key, message: `${p} overlaps the workspace ${l.workspaceDir}; credentials must not be placed there` });
        }
        // The profile mounts tokenFile and codexDir: a forbidden place would fail every rendered profile.
        const f = forbidden(l).find((f) => f.subtree && isWithin(p, f.path));
        if (f) issues.push({ key, message: `${p} lies in ${f.rule}, which no mount may expose` });
    }
    if (l.tokenFile === l.codexDir || isWithin(l.tokenFile, l.codexDir)) {
        issues.push({ key: "tokenFile", message: `${l.tokenFile} must not lie in the Codex auth directory ${l.codexDir}` });
    }
    if (normalizePath(l.secretsDir) === normalizePath(l.home)) {
        issues.push({ key: "secretsDir", message: "must not be the runtime user's home directory" });
    }
    return issues;
}

/** Shapes of the credentials this program handles; none may sit in a plain-text setting. */
const CREDENTIAL_SHAPES: Array<[RegExp, string]> = [
    [/(?<![A-Za-z0-9])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/, "a GitHub token"],
    [/(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}/, "a GitHub token"],
    [/(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/, "an OpenAI API key"],
];

/** "a GitHub token" or "an OpenAI API key" when `value` contains something shaped like one. */
export function credentialKind(value: string): string | undefined {
    return CREDENTIAL_SHAPES.find(([re]) => re.test(value))?.[1];
}
