import { isWithin, normalizePath } from "./paths";
import type { Layout } from "./security";

/**
 * Where the program may give the runtime user directories. It creates (or chowns to the runtime user) appDir,
 * workspaceDir with the profile directories in it, secretsDir, codexDir and tokenFile's directory, so each must lie
 * under the runtime user's home or under a directory the operator lists in `runtimeUserRoots`. System trees never
 * qualify: not as a root, not as a home (a service account whose home is `/` or `/usr/games`).
 */

/** Trees the system owns: nothing in them is ever given to the runtime user. */
export const SYSTEM_TREES = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/proc", "/root", "/run", "/sbin", "/snap", "/sys", "/tmp", "/usr",
    "/var/backups", "/var/cache", "/var/lib/apt", "/var/lib/containerd", "/var/lib/containers", "/var/lib/docker", "/var/lib/dpkg", "/var/lib/systemd",
    "/var/log", "/var/mail", "/var/run", "/var/spool", "/var/tmp",
];

/** Directories shared by everything below them: never given over themselves (their subdirectories may be roots). */
export const SHARED_DIRS = ["/", "/home", "/media", "/mnt", "/opt", "/srv", "/var", "/var/lib", "/var/local", "/var/opt"];

/** The system tree `p` lies in, or the shared directory it is, or the system tree it contains; undefined when none. */
export function systemPlace(p: string): string | undefined {
    const n = normalizePath(p);
    return SYSTEM_TREES.find((t) => isWithin(n, t)) ?? SHARED_DIRS.find((s) => s === n) ?? SYSTEM_TREES.find((t) => isWithin(t, n));
}

/** Why `root` cannot be listed in `runtimeUserRoots`, or undefined. */
export function rootProblem(root: string): string | undefined {
    const s = systemPlace(root);
    if (!s) return undefined;
    return s === normalizePath(root) && SHARED_DIRS.includes(s)
        ? `${root} is a directory the whole system shares; name a directory below it, e.g. ${s === "/" ? "/srv/github-flows" : `${s}/github-flows`}`
        : isWithin(root, s)
          ? `${root} lies in ${s}, which belongs to the system`
          : `${root} contains ${s}, which belongs to the system`;
}

/** The layout whose paths are handed to the runtime user, and the roots outside its home they may lie in. */
export type HandedOver = Omit<Layout, "allowedBindSources"> & { runtimeUserRoots: readonly string[] };

const KEYS = ["appDir", "workspaceDir", "secretsDir", "codexDir", "tokenFile"] as const;

const dirOf = (file: string) => normalizePath(file).replace(/\/[^/]*$/, "") || "/";

/**
 * The handed-over paths that lie outside the allowed places. `onHost`: the home is the host's real one, so a path
 * outside it and outside every root is refused; before the host is read the home is only assumed, and only system
 * places (never allowed anywhere) are refused.
 */
export function checkHandedOver(l: HandedOver, onHost: boolean): Array<{ key: string; message: string }> {
    const homeCounts = !systemPlace(l.home);
    const issues: Array<{ key: string; message: string }> = [];
    for (const key of KEYS) {
        const p = key === "tokenFile" ? dirOf(l.tokenFile) : normalizePath(l[key]);
        const what = key === "tokenFile" ? `its directory ${p}` : p;
        const fix = `put it under the runtime user's home, or under a directory listed in runtimeUserRoots (it is given to the runtime user '${l.runtimeUser}')`;
        const s = systemPlace(p);
        if (s) {
            issues.push({ key, message: `${what} ${s === p && SHARED_DIRS.includes(s) ? "is a directory the whole system shares" : isWithin(p, s) ? `lies in ${s}, which belongs to the system` : `contains ${s}, which belongs to the system`}: ${fix}` });
            continue;
        }
        if (!onHost || (homeCounts && isWithin(p, l.home)) || l.runtimeUserRoots.some((r) => isWithin(p, r))) continue;
        issues.push({
            key,
            message: `${what} is neither under the runtime user's home ${l.home}${homeCounts ? "" : " (a system directory, which does not count)"} nor under a directory listed in runtimeUserRoots (${l.runtimeUserRoots.length ? l.runtimeUserRoots.join(", ") : "none"}): ${fix}`,
        });
    }
    return issues;
}

/**
 * The allowed place `p` lies in (the innermost of the home and the listed roots), or "" when none: the host-side
 * scripts hand the runtime user no directory above it.
 */
export function handoverBase(l: Pick<HandedOver, "home" | "runtimeUserRoots">, p: string): string {
    const places = [...(systemPlace(l.home) ? [] : [l.home]), ...l.runtimeUserRoots].map(normalizePath).filter((r) => isWithin(p, r));
    return places.sort((a, b) => b.length - a.length)[0] ?? "";
}
