import { AddressInfo } from "net";
import ssh2 = require("ssh2");
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeConnections, exec, hostKeyAlgorithms, SshTarget } from "../../lib/ssh";
import { sshKeyPair } from "../fixtures/sshKeys";

/** An in-process SSH server with ed25519, ECDSA and RSA host keys (as real hosts have), that runs nothing. */
const keys = {
    ed25519: sshKeyPair(),
    ecdsa: sshKeyPair("ecdsa", 256),
    rsa: sshKeyPair("rsa", 2048),
};
const client = sshKeyPair();
const pub = (k: { public: string }) => k.public.split(" ").slice(0, 2).join(" ");

let server: ssh2.Server;
let port = 0;
const commands: string[] = [];

beforeAll(async () => {
    server = new ssh2.Server({ hostKeys: [keys.ed25519.private, keys.ecdsa.private, keys.rsa.private] }, (c) => {
        c.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
        c.on("ready", () =>
            c.on("session", (accept) =>
                accept().on("exec", (acc, _rej, info) => {
                    commands.push(info.command);
                    const s = acc();
                    s.resume();
                    s.on("end", () => {
                        s.write("ok\n");
                        s.exit(0);
                        s.end();
                    });
                }),
            ),
        );
        c.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
    await closeConnections();
    server.close();
});

const target = (hostKey: string): SshTarget => ({ host: "127.0.0.1", port, user: "root", hostKey, privateKey: client.private });

describe("pinned host keys of every type", () => {
    it("offers only the pinned key's algorithms (SHA-2 signatures for RSA)", () => {
        expect(hostKeyAlgorithms(pub(keys.ed25519))).toEqual(["ssh-ed25519"]);
        expect(hostKeyAlgorithms(pub(keys.ecdsa))).toEqual(["ecdsa-sha2-nistp256"]);
        expect(hostKeyAlgorithms(`${pub(keys.rsa)} comment`)).toEqual(["rsa-sha2-512", "rsa-sha2-256"]);
    });

    it.each(["ecdsa", "rsa", "ed25519"] as const)("connects with a pinned %s key while the host also has the others", async (type) => {
        const r = await exec(target(pub(keys[type])), "true");
        expect(r).toMatchObject({ code: 0, stdout: "ok\n" });
    });

    it("still refuses another key of the pinned type", async () => {
        const other = pub(sshKeyPair("ecdsa", 256));
        await expect(exec(target(other), "true")).rejects.toThrow(/host key mismatch for root@127\.0\.0\.1:\d+: expected SHA256:\S+, presented SHA256:\S+/);
    });

    it("sends a short fixed command; the script travels on stdin", async () => {
        commands.length = 0;
        await exec(target(pub(keys.ed25519)), `echo ${"x".repeat(200_000)}`);
        expect(commands).toHaveLength(1);
        expect(commands[0].length).toBeLessThan(400);
        expect(commands[0]).not.toContain("xxxx");
    });
});

describe("latency", () => {
    it("turns Nagle's algorithm off on the TCP connection (each exec waited ~40 ms on delayed ACKs with it on)", async () => {
        await closeConnections();
        const calls: boolean[] = [];
        const orig = ssh2.Client.prototype.setNoDelay;
        ssh2.Client.prototype.setNoDelay = function (this: ssh2.Client, v?: boolean) {
            calls.push(v === undefined ? true : v);
            // The socket itself must have it: ssh2 passes it on only to a real TCP socket.
            const sock = (this as unknown as { _sock?: { setNoDelay?: unknown } })._sock;
            expect(typeof sock?.setNoDelay).toBe("function");
            return orig.call(this, v);
        } as typeof orig;
        try {
            await exec(target(pub(keys.ed25519)), "true");
        } finally {
            ssh2.Client.prototype.setNoDelay = orig;
        }
        expect(calls).toEqual([true]);
    });
});
