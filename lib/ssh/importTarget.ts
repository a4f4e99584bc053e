import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import type { SshTarget } from "./target";

/**
 * `pulumi import` of a host resource: the engine hands the provider only the id, so the id names the login and the
 * path, and the credentials come from the operator's own SSH setup, as `ssh` finds them: the key from the ssh-agent
 * (`SSH_AUTH_SOCK`), the host key from known_hosts (`GFH_KNOWN_HOSTS`, default ~/.ssh/known_hosts), never from the id.
 */

/** An import id: `<login>@<address>:<port>:<absolute path>` (the resource's own id, with the login in front). */
export interface ImportId {
    user: string;
    host: string;
    port: number;
    path: string;
}

const ID = /^([a-z_][a-z0-9_.-]*)@([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5}):(\/.*)$/;

/** Parses an import id, or says what the form is. */
export function parseImportId(id: string): ImportId {
    const m = ID.exec(id);
    if (!m) throw new Error(`import id '${id}' is not <login>@<address>:<port>:<absolute path> (e.g. root@203.0.113.10:22:/home/user/.secrets/gh-token)`);
    return { user: m[1], host: m[2].replace(/^\[|\]$/g, ""), port: Number(m[3]), path: m[4] };
}

/** The resource id an import id stands for (the id the program's own resource has): `<address>:<port>:<path>`. */
export const resourceIdOf = (i: ImportId): string => `${i.host}:${i.port}:${i.path}`;

/** The pinned host key of `host:port` from known_hosts (hashed entries too, through `ssh-keygen -F`). */
export function knownHostKey(host: string, port: number, env: NodeJS.ProcessEnv = process.env): string {
    const file = env.GFH_KNOWN_HOSTS || path.join(os.homedir(), ".ssh", "known_hosts");
    const name = port === 22 ? host : `[${host}]:${port}`;
    let out = "";
    try {
        out = execFileSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
        // exit 1: no entry
    }
    const keys = out
        .split("\n")
        .filter((l) => l && !l.startsWith("#") && !l.startsWith("@"))
        .map((l) => l.trim().split(/\s+/).slice(1, 3).join(" "));
    const preferred = keys.find((k) => k.startsWith("ssh-ed25519 ")) ?? keys[0];
    if (!preferred) {
        throw new Error(
            `importing from ${name}: no host key for it in ${file}. Pin it first (ssh-keyscan -p ${port} ${host} >> ${file}, ` +
                "after checking its fingerprint out of band), or set GFH_KNOWN_HOSTS to a known_hosts file that has it.",
        );
    }
    return preferred;
}

/** The SSH target of an import: the operator's ssh-agent holds the key (`agent: true`, no key in state). */
export function importTarget(i: ImportId, env: NodeJS.ProcessEnv = process.env): SshTarget {
    if (!env.SSH_AUTH_SOCK) {
        throw new Error(`importing from ${i.user}@${i.host}:${i.port}: no ssh-agent (SSH_AUTH_SOCK is unset); add the host's login key to an agent (ssh-add) and run pulumi import again`);
    }
    return { host: i.host, port: i.port, user: i.user, hostKey: knownHostKey(i.host, i.port, env), privateKey: "", agent: true };
}
