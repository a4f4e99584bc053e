import crypto = require("crypto");
import { loginKind } from "./login";

/**
 * SSH, one module (`lib/ssh/`): this file says what a target is and how it is checked; `client.ts` runs commands
 * for the plugin's host resources over `ssh2` (`importTarget.ts`: the target of a `pulumi import`); `command.ts`
 * hands the same target to `@pulumi/command`;
 * `openssh.ts` and `agent.ts` hand it to the `ssh` that the docker provider runs; `login.ts` says how the login
 * becomes root (itself, or `sudo -n`) and `dockerProxy.ts` relays a sudo login's docker connection. Every path pins
 * the same host key, offers only that key's algorithm, and gives up after the same connect timeout.
 */

export interface SshEndpoint {
    host: string;
    port: number;
    user: string;
    /** Pinned public host key, `ssh-ed25519 AAAA...` (or ECDSA, RSA). */
    hostKey: string;
}

export interface SshTarget extends SshEndpoint {
    /** Empty with `agent`: the key is in the operator's ssh-agent. */
    privateKey: string;
    /** A target `pulumi import` made: authenticate with the ssh-agent at `SSH_AUTH_SOCK` (lib/ssh/importTarget.ts). */
    agent?: true;
    proxy?: SshEndpoint;
    /** Every script runs through `sudo -n` (a login that is neither root nor the runtime user: `loginKind`). Absent otherwise. */
    sudo?: true;
}

/** Bounds that keep a dead host from hanging `pulumi up`, the same on every SSH path. */
export const SSH_LIMITS = { connectTimeoutSeconds: 15, connectAttempts: 3, retryDelayMs: 1_000, execTimeoutMs: 15 * 60_000 };

/** A configured host (`hosts[i]` of the stack config) as an SSH target. */
export interface HostEntry {
    address: string;
    port: number;
    user: string;
    hostKey: string;
    proxy?: { address: string; port: number; user: string; hostKey: string };
}

/**
 * The SSH target of a configured host whose runtime user is `runtimeUser`; the one key serves the host and its
 * bastion. A sudo login gets `sudo: true`; root and runtime-user targets stay as they always were (the field is
 * absent, so their state and command text do not change).
 */
export function targetOf(h: HostEntry, privateKey: string, runtimeUser: string): SshTarget {
    return {
        host: h.address,
        port: h.port,
        user: h.user,
        hostKey: h.hostKey,
        privateKey,
        proxy: h.proxy && { host: h.proxy.address, port: h.proxy.port, user: h.proxy.user, hostKey: h.proxy.hostKey },
        ...(loginKind(h.user, runtimeUser) === "sudo" ? { sudo: true as const } : {}),
    };
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(keyBlob: Buffer): string {
    return `SHA256:${crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export function hostKeyBlob(hostKey: string): Buffer {
    return Buffer.from(hostKey.trim().split(/\s+/)[1] ?? "", "base64");
}

/**
 * Host key algorithms to offer for a pinned key: only its own type. Left to the default order, a host that also has
 * an ed25519 key presents that one, and an RSA or ECDSA pin fails as a false "host key mismatch". RSA keys sign
 * with SHA-2 (`rsa-sha2-*`); the SHA-1 `ssh-rsa` signature is refused by OpenSSH 8.8 and later.
 */
export function hostKeyAlgorithms(hostKey: string): string[] {
    const type = hostKey.trim().split(/\s+/)[0] ?? "";
    if (!/^[a-z0-9@.-]+$/.test(type)) throw new Error(`pinned host key type '${type}' is not an SSH key type`);
    if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256"];
    return [type];
}

/** known_hosts syntax: `[host]:port` unless the port is 22. */
export function knownHostsLine(host: string, port: number, hostKey: string): string {
    const [type, blob] = hostKey.trim().split(/\s+/);
    return `${port === 22 ? host : `[${host}]:${port}`} ${type} ${blob}`;
}

/** `user@host:port`, for messages. */
export function describe(e: SshEndpoint): string {
    return `${e.user}@${e.host}:${e.port}`;
}
