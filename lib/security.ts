import * as path from "path";

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
}

/** One bind mount found in a list of `docker run` arguments. */
export interface Mount {
    source: string;
    target: string;
    readonly: boolean;
    /** The argument it came from, for messages. */
    spec: string;
}

/** Container path of the per-run workspace (GitHub Flows mounts the run directory there). */
export const CONTAINER_WORKSPACE = "/workspace";

function norm(p: string): string {
    const n = path.posix.normalize(p);
    return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** True when `inner` is `outer` or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
    const i = norm(inner);
    const o = norm(outer);
    return i === o || o === "/" || i.startsWith(`${o}/`);
}

/** Extracts bind mounts from `--mount`/`-v`/`--volume` arguments (both `--flag value` and `--flag=value`). */
export function parseMounts(args: readonly string[]): Mount[] {
    const mounts: Mount[] = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const eq = a.indexOf("=");
        const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
        const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
        if (flag === "--mount") {
            const spec = inline ?? args[++i] ?? "";
            const m = parseMountSpec(spec);
            if (m) mounts.push(m);
        } else if (flag === "--volume") {
            const spec = inline ?? args[++i] ?? "";
            const m = parseVolumeSpec(spec);
            if (m) mounts.push(m);
        } else {
            // Short forms as docker's flag parser reads them: `-v SPEC`, `-vSPEC`, `-v=SPEC`, and `-v` after
            // boolean shorthands (`-itv SPEC`, `-dv=SPEC`).
            const short = /^-[ditPq]*v(.*)$/s.exec(a);
            if (!short) continue;
            const spec = short[1] ? short[1].replace(/^=/, "") : args[++i] ?? "";
            const m = parseVolumeSpec(spec);
            if (m) mounts.push(m);
        }
    }
    return mounts;
}

function parseMountSpec(spec: string): Mount | undefined {
    const kv = new Map<string, string>();
    // docker reads the value as one CSV record: `"src=/home/user",dst=/x` is src=/home/user. Quotes are dropped
    // before splitting; no path these rules look for contains a comma, so a quoted comma cannot hide one.
    for (const part of spec.replace(/"/g, "").split(",")) {
        const eq = part.indexOf("=");
        kv.set((eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase(), eq < 0 ? "" : part.slice(eq + 1));
    }
    const type = kv.get("type") ?? "volume";
    const source = kv.get("source") ?? kv.get("src") ?? "";
    const target = kv.get("destination") ?? kv.get("dst") ?? kv.get("target") ?? "";
    if (type !== "bind" && !source.startsWith("/")) return undefined;
    const ro = kv.has("readonly") ? kv.get("readonly") : kv.get("ro");
    return { source, target, readonly: ro !== undefined && ro !== "false" && ro !== "0", spec };
}

function parseVolumeSpec(spec: string): Mount | undefined {
    const [source = "", target = "", opts = ""] = spec.split(":");
    if (!source.startsWith("/")) return undefined; // a named volume, not a host path
    return { source, target, readonly: opts.split(",").includes("ro"), spec };
}

/** The host paths the setup document forbids mounting, each with its rule. */
function forbidden(l: Layout): Array<{ path: string; subtree: boolean; rule: string }> {
    const home = l.home;
    return [
        { path: home, subtree: false, rule: `the runtime user's home directory ${home}` },
        { path: `${home}/.ssh`, subtree: true, rule: `SSH configuration ${home}/.ssh/` },
        { path: `${home}/.config`, subtree: true, rule: `the user configuration directory ${home}/.config/` },
        { path: `${l.appDir}/.env`, subtree: true, rule: `the application .env file ${l.appDir}/.env` },
        { path: "/var/run/docker.sock", subtree: true, rule: "the Docker socket /var/run/docker.sock" },
        { path: "/run/docker.sock", subtree: true, rule: "the Docker socket /run/docker.sock" },
    ];
}

/** Checks `docker run` arguments against the setup document's security rules; returns one message per violation. */
export function checkDockerArgs(args: readonly string[], l: Layout): string[] {
    const problems: string[] = [];
    for (const m of parseMounts(args)) {
        const src = norm(m.source);
        for (const f of forbidden(l)) {
            // Mounting a parent exposes the forbidden path as much as mounting it directly.
            if (isWithin(f.path, src) || (f.subtree && isWithin(src, f.path))) {
                problems.push(`mount '${m.spec}' exposes ${f.rule}, which the setup document forbids`);
            }
        }
        if (isWithin(l.tokenFile, src) && !m.readonly) {
            problems.push(`mount '${m.spec}' exposes the GitHub token file writable; add ',readonly'`);
        }
        const credential = isWithin(l.tokenFile, src) || isWithin(l.codexDir, src) || isWithin(src, l.secretsDir);
        if (credential && m.target && isWithin(m.target, CONTAINER_WORKSPACE)) {
            problems.push(`mount '${m.spec}' places credentials inside the run workspace ${CONTAINER_WORKSPACE}`);
        }
    }
    return problems;
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
        if (isWithin(p, `${l.home}/.ssh`) || isWithin(p, `${l.home}/.config`)) {
            issues.push({ key, message: `${p} lies in a directory the setup document forbids mounting` });
        }
    }
    if (l.tokenFile === l.codexDir || isWithin(l.tokenFile, l.codexDir)) {
        issues.push({ key: "tokenFile", message: `${l.tokenFile} must not lie in the Codex auth directory ${l.codexDir}` });
    }
    if (norm(l.secretsDir) === norm(l.home)) {
        issues.push({ key: "secretsDir", message: "must not be the runtime user's home directory" });
    }
    return issues;
}
