import crypto = require("crypto");
import fs = require("fs");
import net = require("net");
import path = require("path");
import ssh2 = require("ssh2");
import { launch } from "../shell";
import { privateDirectory } from "./agent";
import { connectInBackground } from "./client";
import { describe, SshTarget } from "./target";

/**
 * The docker provider's way to a host's daemon when the login is a sudo admin (not in group docker, so the docker
 * CLI's `ssh://` helper, which runs `docker system dial-stdio` as the login, cannot reach the root-owned socket).
 *
 * The provider keeps `host: ssh://<login>@<host>:<port>` (so, as for root, its Configure never dials: `destroy`, which
 * does not run this program, works), but its `ssh` reaches this program instead of the host: `ProxyCommand` pipes to
 * a private unix socket where the program answers as an SSH server (host key and the one accepted client key: the
 * stack's deploy key, offered by the in-process agent). The one command it accepts, `docker system dial-stdio`,
 * becomes an exec on the stack's own SSH connection (pinned key, bastion) of the same through the launcher and
 * `sudo -n`, bytes relayed both ways. `@pulumi/docker` stays the image's owner.
 *
 * The socket path is relative to the project directory: the engine starts the program and its plugins there (pulumi
 * `engine/project.go` getPwdMain -> `plugin.go` `cmd.Dir = pwd`; ssh inherits it), so the provider config stored in
 * the state reads the same for every operator and machine, and stays under sun_path's 108 bytes however deep the
 * checkout is.
 */

/** Runs as root through the launcher: the daemon's API on stdin/stdout, as the docker CLI's ssh helper runs it. */
export const DIAL_STDIO_SCRIPT = "exec docker system dial-stdio";

/** The only command the relay runs: what the docker CLI's ssh helper sends (docker/cli connhelper). */
export const DIAL_STDIO_COMMAND = "docker system dial-stdio";

/** The relay socket of host `t` in stack `project/stack`, relative to the project directory (0700 directory). */
export function dockerProxySocket(project: string, stack: string, t: Pick<SshTarget, "host" | "port">): string {
    const id = crypto.createHash("sha256").update(`${project}/${stack}/${t.host}:${t.port}`).digest("hex").slice(0, 16);
    return `.github-flows-host/docker/${id}.sock`;
}

/** One `docker system dial-stdio` of the docker CLI, run on the host as root and relayed both ways. */
function relay(ch: ssh2.ServerChannel, t: SshTarget, conn: () => Promise<ssh2.Client>, log: (m: string) => void): void {
    const { command, input } = launch(DIAL_STDIO_SCRIPT, "", t.sudo === true);
    const fail = (m: string) => {
        log(m);
        ch.stderr.write(`github-flows-host: ${m}\n`);
        ch.exit(1);
        ch.end();
    };
    conn().then(
        (c) =>
            c.exec(command, (err, remote) => {
                if (err) return fail(`docker connection to ${describe(t)}: SSH exec failed: ${err.message}`);
                const stderr: Buffer[] = [];
                remote.stderr.on("data", (d: Buffer) => {
                    stderr.push(d);
                    ch.stderr.write(d);
                });
                remote.on("close", (code: number | null) => {
                    const text = Buffer.concat(stderr).toString("utf8").trim();
                    if (code) log(`docker system dial-stdio on ${describe(t)} exited ${code}${text ? `: ${text}` : ""}`);
                    ch.exit(code ?? 1);
                    ch.end();
                });
                ch.on("close", () => remote.close());
                // The launcher reads exactly the script first; the rest of stdin is the daemon's API stream.
                remote.write(input);
                ch.pipe(remote);
                remote.pipe(ch, { end: false });
            }),
        (e: Error) => fail(`docker connection to ${describe(t)}: ${e.message}`),
    );
}

/** The relay's SSH side: the deploy key is its host key and the one client key it accepts. */
function relayServer(t: SshTarget, conn: () => Promise<ssh2.Client>, log: (m: string) => void): ssh2.Server {
    const parsed = ssh2.utils.parseKey(t.privateKey);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) throw new Error(`sshPrivateKey cannot be read: ${key instanceof Error ? key.message : "no key found"}`);
    const ours = key.getPublicSSH();
    return new ssh2.Server({ hostKeys: [t.privateKey] }, (client) => {
        client.on("authentication", (ctx) => {
            if (ctx.method !== "publickey" || !ctx.key.data.equals(ours)) return ctx.reject(["publickey"]);
            if (ctx.signature && key.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(["publickey"]);
            ctx.accept();
        });
        client.on("ready", () =>
            client.on("session", (accept) =>
                accept().on("exec", (acc, rej, info) => (info.command === DIAL_STDIO_COMMAND ? relay(acc(), t, conn, log) : rej())),
            ),
        );
        client.on("error", () => undefined);
    });
}

const running = new Map<string, Promise<void>>();

/**
 * Serves host `t`'s daemon at `socket` (relative to the working directory) until this process exits; one server
 * per socket. Nothing here keeps the process alive: the Pulumi runtime waits on the engine, which waits on the
 * docker provider's operations. `log` gets failures the docker provider would only see as a closed connection.
 */
export function startDockerProxy(socket: string, t: SshTarget, log: (m: string) => void): Promise<void> {
    const existing = running.get(socket);
    if (existing) return existing;
    let shared: Promise<ssh2.Client> | undefined;
    const conn = () => {
        if (!shared) {
            const p = connectInBackground(t);
            shared = p;
            const drop = () => shared === p && (shared = undefined);
            p.then(
                (c) => {
                    c.once("close", drop);
                    c.once("end", drop);
                    c.once("error", drop);
                },
                drop,
            );
        }
        return shared;
    };
    const ready = (async () => {
        const ssh = relayServer(t, conn, log);
        privateDirectory(path.dirname(socket));
        // A socket left by a killed run leads nowhere; a new one takes its place.
        fs.rmSync(socket, { force: true });
        // Accepted connections are unref'd too: the docker client keeps idle ones open for 30 s.
        const server = net.createServer((sock) => ssh.injectSocket(sock.unref()));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(socket, () => resolve());
        });
        fs.chmodSync(socket, 0o600);
        server.unref();
        const abs = path.resolve(socket);
        process.once("exit", () => fs.rmSync(abs, { force: true }));
    })();
    running.set(socket, ready);
    return ready;
}
