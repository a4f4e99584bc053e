import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import ssh2 = require("ssh2");
// ssh2 signs ECDSA in DER; the agent protocol wants the SSH encoding. ssh2 keeps the converter internal.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { convertSignature } = require("ssh2/lib/protocol/utils.js") as { convertSignature(sig: Buffer, type: string): Buffer | undefined };

/**
 * A private ssh-agent inside the Pulumi program's own process, for the `ssh` that the docker provider
 * runs. The key never touches the disk: it lives in this process's memory, which ends with the run,
 * killed or not. The socket sits at a stable path (so the docker provider's options are the same on
 * every run and a clean host shows no changes) in a 0700 directory of the operator's.
 */

/** Where the agent of a stack listens: `forSsh` is what the docker provider's options name, `local` the same file here. */
export interface AgentSocket {
    /** `%d/...`: OpenSSH puts the local user's home for `%d`, so every operator's options read the same. */
    forSsh: string;
    /** The path this program listens on: the same home (from the passwd entry, as OpenSSH takes it). */
    local: string;
}

/**
 * The agent socket of stack `project/stack`: stable across runs and operators (the docker provider's options are
 * stored in the shared state; a path naming one operator's home would show as a change to every other), private to
 * the operator (a 0700 directory in the home).
 */
export function agentSocketPath(project: string, stack: string, home = os.userInfo().homedir): AgentSocket {
    const id = crypto.createHash("sha256").update(`${project}/${stack}`).digest("hex").slice(0, 16);
    const rel = `.github-flows-host/agent/${id}.sock`;
    return { forSsh: `%d/${rel}`, local: path.join(home, rel) };
}

/** Refuses a socket directory that another account could plant or read: it must be ours, 0700, not a link. */
export function privateDirectory(dir: string): void {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    const uid = process.getuid?.() ?? st.uid;
    if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`ssh-agent directory ${dir} is not a plain directory: refusing`);
    if (st.uid !== uid) throw new Error(`ssh-agent directory ${dir} belongs to uid ${st.uid}, not to this user (${uid}): refusing`);
    if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

type ParsedKey = ssh2.ParsedKey;

function parsePrivateKey(privateKey: string): ParsedKey {
    const parsed = ssh2.utils.parseKey(privateKey);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) throw new Error(`sshPrivateKey cannot be read: ${key instanceof Error ? key.message : "no key found"}`);
    if (!key.isPrivateKey()) throw new Error("sshPrivateKey holds a public key, not a private key");
    return key;
}

// The agent protocol (draft-miller-ssh-agent): the messages this agent answers.
const FAILURE = 5, REQUEST_IDENTITIES = 11, IDENTITIES_ANSWER = 12, SIGN_REQUEST = 13, SIGN_RESPONSE = 14;
const RSA_SHA2_256 = 2, RSA_SHA2_512 = 4;

const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
};
const str = (b: Buffer | string) => {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
    return Buffer.concat([u32(buf.length), buf]);
};
const message = (type: number, body: Buffer) => Buffer.concat([u32(body.length + 1), Buffer.from([type]), body]);

/** The SSH signature of `data` by `key`: `string format, string blob`, or undefined when it cannot sign. */
export function agentSignature(key: ParsedKey, data: Buffer, flags: number): Buffer | undefined {
    let format: string = key.type;
    let hash: string | undefined;
    if (key.type === "ssh-rsa") {
        if (flags & RSA_SHA2_512) [format, hash] = ["rsa-sha2-512", "sha512"];
        else if (flags & RSA_SHA2_256) [format, hash] = ["rsa-sha2-256", "sha256"];
        else hash = "sha1";
    }
    const raw = key.sign(data, hash);
    if (raw instanceof Error) return undefined;
    const blob = convertSignature(raw, key.type);
    return blob ? Buffer.concat([str(format), str(blob)]) : undefined;
}

/** Answers one request of the agent protocol; every request type but listing and signing is refused. */
export function agentAnswer(key: ParsedKey, request: Buffer): Buffer {
    const ours = key.getPublicSSH();
    const type = request[0];
    if (type === REQUEST_IDENTITIES) return message(IDENTITIES_ANSWER, Buffer.concat([u32(1), str(ours), str(key.comment || "github-flows-host")]));
    if (type === SIGN_REQUEST && request.length >= 5) {
        let p = 1;
        const take = () => {
            const n = request.readUInt32BE(p);
            const b = request.subarray(p + 4, p + 4 + n);
            p += 4 + n;
            return b;
        };
        try {
            const blob = take();
            const data = take();
            const flags = request.readUInt32BE(p);
            const sig = blob.equals(ours) ? agentSignature(key, data, flags) : undefined;
            if (sig) return message(SIGN_RESPONSE, str(sig));
        } catch {
            // A malformed request gets the same answer as an unknown one.
        }
    }
    return message(FAILURE, Buffer.alloc(0));
}

/** One agent connection: length-prefixed requests in, one answer each, in order. */
function serve(sock: net.Socket, key: ParsedKey): void {
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4) {
            const n = buf.readUInt32BE(0);
            if (n > 256 * 1024) {
                sock.destroy();
                return;
            }
            if (buf.length < 4 + n) break;
            sock.write(agentAnswer(key, buf.subarray(4, 4 + n)));
            buf = buf.subarray(4 + n);
        }
    });
    sock.on("error", () => sock.destroy());
}

const running = new Map<string, { key: string; ready: Promise<void> }>();

/**
 * Serves `privateKey` at `socketPath` until this process exits; one server per path, however many hosts
 * share it. The server does not keep the process alive: the Pulumi runtime waits for the engine, which
 * waits for the docker provider's operations.
 */
export function startAgent(socketPath: string, privateKey: string): Promise<void> {
    const existing = running.get(socketPath);
    if (existing) {
        if (existing.key !== privateKey) return Promise.reject(new Error(`ssh-agent at ${socketPath} already serves another key`));
        return existing.ready;
    }
    const ready = listen(socketPath, parsePrivateKey(privateKey));
    running.set(socketPath, { key: privateKey, ready });
    return ready;
}

async function listen(socketPath: string, key: ParsedKey): Promise<void> {
    privateDirectory(path.dirname(socketPath));
    // A socket left by a killed run holds no key; a new one takes its place.
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer((sock) => serve(sock, key));
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
    server.unref();
    process.once("exit", () => fs.rmSync(socketPath, { force: true }));
}
