import { execFile, execFileSync } from "child_process";
import { promisify } from "util";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import ssh2 = require("ssh2");
import { afterAll, describe, expect, it } from "vitest";
import { agentAnswer, agentSocketPath, startAgent } from "../../lib/ssh";

// The agent answers from this process: a client must run without blocking its event loop.
const run = (cmd: string, args: string[], socket: string) => promisify(execFile)(cmd, args, { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: "utf8" });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-agent-unit-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fresh key pair of `type` made by ssh-keygen, as an operator would make one. */
function keyPair(type: "ed25519" | "ecdsa" | "rsa"): { privateKey: string; publicKey: string } {
    const f = path.join(tmp, `${type}-${crypto.randomBytes(4).toString("hex")}`);
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-C", `unit-${type}`, "-f", f]);
    return { privateKey: fs.readFileSync(f, "utf8"), publicKey: fs.readFileSync(`${f}.pub`, "utf8") };
}

/** Sends raw agent requests over one connection and collects one answer per request. */
async function ask(socket: string, requests: Buffer[]): Promise<Buffer[]> {
    const sock = net.connect(socket);
    const answers: Buffer[] = [];
    let buf = Buffer.alloc(0);
    return new Promise((resolve, reject) => {
        sock.on("error", reject);
        sock.on("data", (d) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
                answers.push(buf.subarray(4, 4 + buf.readUInt32BE(0)));
                buf = buf.subarray(4 + buf.readUInt32BE(0));
            }
            if (answers.length === requests.length) {
                sock.end();
                resolve(answers);
            }
        });
        for (const r of requests) sock.write(Buffer.concat([u32(r.length), r]));
    });
}
const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const str = (b: Buffer | string) => Buffer.concat([u32(Buffer.byteLength(b)), Buffer.from(b)]);

describe("in-process ssh-agent", () => {
    it("stable socket path per project and stack in the home, the same text for every operator, different across stacks", () => {
        const a = agentSocketPath("p", "s", "/h");
        expect(a).toEqual(agentSocketPath("p", "s", "/h"));
        expect(a.local).toMatch(/^\/h\/\.github-flows-host\/agent\/[0-9a-f]{16}\.sock$/);
        // What the docker provider's options name is the same for every operator: OpenSSH puts the home for %d.
        expect(a.forSsh).toBe(a.local.replace(/^\/h/, "%d"));
        expect(agentSocketPath("p", "s", "/other").forSsh).toBe(a.forSsh);
        expect(agentSocketPath("p", "t", "/h").local).not.toBe(a.local);
    });

    for (const type of ["ed25519", "ecdsa", "rsa"] as const) {
        it(`lists and signs with an ${type} key as OpenSSH's ssh-add and ssh-keygen see it`, async () => {
            const { privateKey, publicKey } = keyPair(type);
            const socket = path.join(tmp, `a-${type}`, "agent.sock");
            await startAgent(socket, privateKey);
            expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
            expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
            const listed = (await run("ssh-add", ["-L"], socket)).stdout;
            expect(listed.split(" ").slice(0, 2)).toEqual(publicKey.split(" ").slice(0, 2));
            // ssh-keygen -Y sign asks the agent when given only the public key: a real signature, verified by OpenSSH.
            const pub = path.join(tmp, `${type}.pub`);
            fs.writeFileSync(pub, publicKey);
            const msg = path.join(tmp, `${type}.msg`);
            fs.writeFileSync(msg, "sign me");
            await run("ssh-keygen", ["-Y", "sign", "-f", pub, "-n", "file", msg], socket);
            const allowed = path.join(tmp, `${type}.allowed`);
            fs.writeFileSync(allowed, `unit ${publicKey}`);
            execFileSync("ssh-keygen", ["-Y", "verify", "-f", allowed, "-I", "unit", "-n", "file", "-s", `${msg}.sig`], { input: "sign me", stdio: ["pipe", "pipe", "pipe"] });
        });
    }

    it("answers an unknown request (OpenSSH's session-bind extension) with failure and stays in step", async () => {
        const { privateKey } = keyPair("ed25519");
        const socket = path.join(tmp, "a-ext", "agent.sock");
        await startAgent(socket, privateKey);
        const extension = Buffer.concat([Buffer.from([27]), str("session-bind@openssh.com"), str("x".repeat(40))]);
        const [ext, ids] = await ask(socket, [extension, Buffer.from([11])]);
        expect(ext[0]).toBe(5); // SSH_AGENT_FAILURE
        expect(ids[0]).toBe(12); // SSH_AGENT_IDENTITIES_ANSWER
        expect(ids.readUInt32BE(1)).toBe(1);
    });

    it("refuses to sign for another key, and refuses adding, removing or locking keys", () => {
        const key = ssh2.utils.parseKey(keyPair("ed25519").privateKey) as ssh2.ParsedKey;
        const other = ssh2.utils.parseKey(keyPair("ed25519").publicKey) as ssh2.ParsedKey;
        const signOther = Buffer.concat([Buffer.from([13]), str(other.getPublicSSH()), str("data"), u32(0)]);
        expect(agentAnswer(key, signOther)[4]).toBe(5);
        for (const type of [17, 18, 19, 22, 23]) expect(agentAnswer(key, Buffer.from([type]))[4]).toBe(5);
        expect(agentAnswer(key, Buffer.from([13, 0, 0]))[4]).toBe(5); // malformed
    });

    it("refuses a socket directory that is a symlink or belongs to someone else", async () => {
        const { privateKey } = keyPair("ed25519");
        const real = path.join(tmp, "elsewhere");
        fs.mkdirSync(real);
        fs.symlinkSync(real, path.join(tmp, "linked"));
        await expect(startAgent(path.join(tmp, "linked", "agent.sock"), privateKey)).rejects.toThrow(/not a plain directory/);
        const foreign = path.join(tmp, "foreign");
        fs.mkdirSync(foreign, { mode: 0o700 });
        fs.chownSync(foreign, 65534, 65534);
        await expect(startAgent(path.join(foreign, "agent.sock"), privateKey)).rejects.toThrow(/belongs to uid 65534/);
    });

    it("names the config key when the private key cannot be read, without printing it", () => {
        expect(() => startAgent(path.join(tmp, "bad", "agent.sock"), "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n-----END OPENSSH PRIVATE KEY-----\n")).toThrow(/sshPrivateKey cannot be read/);
    });
});
