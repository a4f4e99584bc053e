import crypto = require("crypto");
import net = require("net");
import ssh2 = require("ssh2");
import { launch } from "../shell";
import { describe, fingerprint, hostKeyAlgorithms, hostKeyBlob, SSH_LIMITS, SshEndpoint, SshTarget } from "./target";
type Client = ssh2.Client;
type ConnectConfig = ssh2.ConnectConfig;

/**
 * Commands for the host resources of the provider plugin, over `ssh2`. Host keys are pinned: a host presenting another key
 * is refused before any command runs. Connections are pooled per target inside the provider process,
 * so one engine pass opens one SSH connection per host instead of one per resource.
 */

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

function pool(): Map<string, Promise<Client>> {
    const g = globalThis as unknown as { __gfhSshPool?: Map<string, Promise<Client>> };
    if (!g.__gfhSshPool) g.__gfhSshPool = new Map();
    return g.__gfhSshPool;
}

function poolKey(t: SshTarget): string {
    const p = t.proxy ? `${describe(t.proxy)}|${t.proxy.hostKey}|` : "";
    return `${p}${describe(t)}|${t.hostKey}|${t.agent ? "agent" : crypto.createHash("sha256").update(t.privateKey).digest("hex")}`;
}

/**
 * `background`: the connection never keeps this process alive (its socket is unref'd, no keepalive timer): the
 * Pulumi program's process ends when its event loop empties, and a connection it serves the docker provider through
 * must not hold it open after the last resource.
 */
function connectOnce(e: SshEndpoint, privateKey: string, sock?: NodeJS.ReadableStream, background = false): Promise<Client> {
    const expected = hostKeyBlob(e.hostKey);
    if (background && !sock) sock = net.connect({ host: e.host, port: e.port }).unref();
    return new Promise((resolve, reject) => {
        const c = new ssh2.Client();
        let presented: Buffer | undefined;
        const cfg: ConnectConfig = {
            host: e.host,
            port: e.port,
            username: e.user,
            // An imported resource's target (importTarget) has no key of its own: the operator's agent signs.
            ...(privateKey ? { privateKey } : { agent: process.env.SSH_AUTH_SOCK }),
            readyTimeout: SSH_LIMITS.connectTimeoutSeconds * 1000,
            keepaliveInterval: background ? 0 : 10_000,
            keepaliveCountMax: 3,
            sock: sock as ConnectConfig["sock"],
            algorithms: { serverHostKey: hostKeyAlgorithms(e.hostKey) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] },
            hostVerifier: (key: Buffer) => {
                presented = key;
                return key.equals(expected);
            },
        };
        c.once("ready", () => resolve(c));
        c.once("error", (err: Error) => {
            c.end();
            if (presented && !presented.equals(expected)) {
                reject(
                    hostKeyMismatch(
                        `host key mismatch for ${describe(e)}: expected ${fingerprint(expected)}, presented ${fingerprint(presented)}. ` +
                            "Nothing was run. If the host was rebuilt, check the new key out of band (ssh-keyscan) and update the pinned hostKey.",
                    ),
                );
            } else {
                reject(new Error(`SSH to ${describe(e)} failed: ${err.message}`));
            }
        });
        c.connect(cfg);
        // Without TCP_NODELAY every exec waited ~40 ms on Nagle's algorithm meeting delayed ACKs: a diff's read took
        // 50-60 ms on loopback instead of 7-16 ms (bench/README.md, "Where a run waits"). ssh2 leaves Nagle on.
        c.setNoDelay(true);
    });
}

/**
 * A pinned-key failure is final: retrying would not change the key. A marked plain Error, because
 * an Error subclass loses its message once Pulumi's closure serializer rewrites it for the provider.
 */
function hostKeyMismatch(message: string): Error {
    return Object.assign(new Error(message), { hostKeyMismatch: true });
}

async function connectTarget(t: SshTarget, background = false): Promise<Client> {
    if (!t.proxy) return connectOnce(t, t.privateKey, undefined, background);
    const jump = await connectOnce(t.proxy, t.privateKey, undefined, background);
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        jump.forwardOut("127.0.0.1", 0, t.host, t.port, (err, ch) => (err ? reject(new Error(`proxy ${describe(t.proxy!)} could not reach ${describe(t)}: ${err.message}`)) : resolve(ch))),
    );
    const c = await connectOnce(t, t.privateKey, stream, background);
    c.once("close", () => jump.end());
    return c;
}

/** A new connection to `t` (pinned key, bastion, retries) that never keeps this process alive; the caller ends it. */
export function connectInBackground(t: SshTarget): Promise<Client> {
    return connectWithRetry(t, true);
}

async function connectWithRetry(t: SshTarget, background = false): Promise<Client> {
    let last: unknown;
    for (let attempt = 1; attempt <= SSH_LIMITS.connectAttempts; attempt++) {
        try {
            return await connectTarget(t, background);
        } catch (e) {
            last = e;
            if ((e as { hostKeyMismatch?: boolean }).hostKeyMismatch) break;
            if (attempt < SSH_LIMITS.connectAttempts) await new Promise((r) => setTimeout(r, SSH_LIMITS.retryDelayMs * attempt));
        }
    }
    throw last instanceof Error ? new Error(`${last.message} (after ${SSH_LIMITS.connectAttempts} attempts at most)`) : last;
}

function client(t: SshTarget): Promise<Client> {
    const key = poolKey(t);
    const p = pool();
    let c = p.get(key);
    if (!c) {
        c = connectWithRetry(t);
        p.set(key, c);
        c.then(
            (cl) => {
                const drop = () => p.get(key) === c && p.delete(key);
                cl.once("close", drop);
                cl.once("end", drop);
                cl.once("error", drop);
            },
            () => p.delete(key),
        );
    }
    return c;
}

/** Closes every pooled connection (for callers that outlive their work, e.g. tests). */
export async function closeConnections(): Promise<void> {
    const p = pool();
    const all = [...p.values()];
    p.clear();
    for (const c of await Promise.allSettled(all)) if (c.status === "fulfilled") c.value.end();
}

/**
 * Runs a script with `/bin/sh` on the target. The script travels on stdin ahead of `stdin` (e.g. a secret), both
 * inside the encrypted channel only; the command line is short and fixed (`launch`).
 */
export async function exec(t: SshTarget, script: string, stdin?: string): Promise<ExecResult> {
    const c = await client(t);
    const { command, input } = launch(script, stdin ?? "", t.sudo === true);
    return new Promise((resolve, reject) => {
        c.exec(command, (err, stream) => {
            if (err) return reject(new Error(`SSH exec on ${describe(t)} failed: ${err.message}`));
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            const timer = setTimeout(() => {
                stream.close();
                reject(new Error(`command on ${describe(t)} did not finish within ${SSH_LIMITS.execTimeoutMs / 1000} s`));
            }, SSH_LIMITS.execTimeoutMs);
            stream.on("data", (d: Buffer) => out.push(d));
            stream.stderr.on("data", (d: Buffer) => errOut.push(d));
            stream.on("close", (code: number | null, signal?: string) => {
                clearTimeout(timer);
                const stderr = Buffer.concat(errOut).toString("utf8");
                if (code === null || code === undefined) {
                    return reject(new Error(`connection to ${describe(t)} was lost while a command ran${signal ? ` (signal ${signal})` : ""}: ${stderr.trim()}`));
                }
                resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr });
            });
            stream.end(input);
        });
    });
}

/** `exec` that fails with the script's stderr when it exits non-zero. */
export async function run(t: SshTarget, script: string, what: string, stdin?: string): Promise<string> {
    const r = await exec(t, script, stdin);
    if (r.code !== 0) {
        throw new Error(`${what} on ${describe(t)} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout;
}
