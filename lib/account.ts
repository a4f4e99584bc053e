import { quote } from "./quote";

/** The runtime user as the host knows it: the defaults and the security rules follow its real home. */
export interface Account {
    home: string;
    uid: number;
    gid: number;
    /** Whether the home exists as a directory (a service user may have none, e.g. `/nonexistent`). */
    homeExists: boolean;
}

/** Prints `absent`, or the passwd entry and whether the home is a directory; reads only. */
export function accountScript(user: string): string {
    return [
        `if ! ent=$(getent passwd ${quote(user)}); then echo absent; exit 0; fi`,
        `printf 'passwd %s\\n' "$ent"`,
        // Every group the account gets (primary and supplementary, from the group database), as setpriv --init-groups gives them.
        `printf 'groups %s\\n' "$(id -G -- ${quote(user)})"`,
        `home=$(printf '%s\\n' "$ent" | cut -d: -f6)`,
        `if [ -d "$home" ]; then echo home=dir; else echo home=none; fi`,
    ].join("\n");
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Parses `accountScript` output; `where` names the host in errors, e.g. `host 'web-1' (203.0.113.10:22)`. */
export function parseAccount(out: string, user: string, where: string): Account {
    const lines = out.split("\n");
    if (lines[0]?.trim() === "absent") {
        throw new Error(
            `${where}: the runtime user '${user}' does not exist (getent passwd ${user} found no entry). ` +
                "Create the user on the host, or set runtimeUser to the account GitHub Flows runs as. Nothing was changed on the host.",
        );
    }
    const entry = lines.find((l) => l.startsWith("passwd "))?.slice("passwd ".length) ?? "";
    const f = entry.split(":");
    const [uid, gid, home] = [Number(f[2]), Number(f[3]), f[5] ?? ""];
    if (f.length < 7 || f[0] !== user || !Number.isInteger(uid) || !Number.isInteger(gid)) {
        throw new Error(`${where}: cannot read the passwd entry of the runtime user '${user}' (got ${JSON.stringify(entry.slice(0, 200))})`);
    }
    // The home becomes part of paths that are mounted (docker --mount splits on ',') and put in shell text.
    if (!home.startsWith("/") || home.includes(",") || CONTROL.test(home) || home.split("/").some((s) => s === "." || s === "..")) {
        throw new Error(`${where}: the home directory of the runtime user '${user}' is ${JSON.stringify(home)}, which is not a usable absolute path; set appDir and secretsDir explicitly`);
    }
    const groups = (lines.find((l) => l.startsWith("groups "))?.slice("groups ".length) ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
    const root = uid === 0 ? "has UID 0 (it is root)" : gid === 0 ? "has GID 0 (its primary group is root)" : groups.includes(0) ? "is a member of group 0 (root)" : undefined;
    if (root) {
        throw new Error(
            `${where}: github-flows-host:runtimeUser: the runtime user '${user}' ${root}; the agents run as this user and execute model-written code. ` +
                "Set runtimeUser to an unprivileged account. Nothing was changed on the host.",
        );
    }
    if (!groups.length || groups.some((g) => !Number.isInteger(g))) {
        throw new Error(`${where}: cannot read the groups of the runtime user '${user}' (id -G printed ${JSON.stringify(groups.join(" ").slice(0, 200))})`);
    }
    const n = home.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
    return { home: n, uid, gid, homeExists: lines.includes("home=dir") };
}
