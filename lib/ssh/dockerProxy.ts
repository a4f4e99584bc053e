import crypto = require("crypto");
import fs = require("fs");
import net = require("net");
import path = require("path");
import type ssh2 = require("ssh2");
import { launch } from "../shell";
import { privateDirectory } from "./agent";
import { connectInBackground } from "./client";
import { describe, SshTarget } from "./target";

/**
 * The docker provider's way to a host's daemon when the login is a sudo admin (not in group docker, so the docker
 * CLI's `ssh://` helper, which runs `docker system dial-stdio` as the login, cannot reach the root-owned socket).
 * The program serves a private unix socket; each connection the docker provider opens on it becomes one exec, on
 * the stack's own SSH connection (pinned key, bastion), of `docker system dial-stdio` through the same launcher and
 * `sudo -n` as every script. `@pulumi/docker` stays the image's owner; it only talks to a local socket.
 *
 * The provider's `host` names the socket by a path relative to the project directory: the engine starts the program
 * and its plugins there (pulumi `engine/project.go` getPwdMain -> `plugin.go` `cmd.Dir = pwd`), so the provider
 * config stored in the state reads the same for every operator and machine, and stays under sun_path's 108 bytes
 * however deep the checkout is.
 */

/** Runs as root through the launcher: the daemon's API on stdin/stdout, as the docker CLI's ssh helper runs it. */
export const DIAL_STDIO_SCRIPT = "exec docker system dial-stdio";

/** The socket of host `t` in stack `project/stack`, relative to the project directory (0700 directory). */
export function dockerProxySocket(project: string, stack: string, t: Pick<SshTarget, "host" | "port">): string {
    const id = crypto.createHash("sha256").update(`${project}/${stack}/${t.host}:${t.port}`).digest("hex").slice(0, 16);
    return `.github-flows-host/docker/${id}.sock`;
}

/** The docker provider's `host` for a socket from `dockerProxySocket`. */
export function dockerProxyHost(socket: string): string {
    return `unix://${socket}`;
}

/** One connection of the docker provider, relayed to `docker system dial-stdio` on the host. */
function relay(local: net.Socket, t: SshTarget, conn: () => Promise<ssh2.Client>, log: (m: string) => void): void {
    local.unref();
    local.on("error", () => local.destroy());
    const { command, input } = launch(DIAL_STDIO_SCRIPT, "", t.sudo === true);
    conn().then(
        (c) =>
            c.exec(command, (err, ch) => {
                if (err) {
                    log(`docker connection to ${describe(t)}: SSH exec failed: ${err.message}`);
                    local.destroy();
                    return;
                }
                const stderr: Buffer[] = [];
                ch.stderr.on("data", (d: Buffer) => stderr.push(d));
                ch.on("close", (code: number | null) => {
                    const text = Buffer.concat(stderr).toString("utf8").trim();
                    if (code) log(`docker system dial-stdio on ${describe(t)} exited ${code}${text ? `: ${text}` : ""}`);
                    local.end();
                });
                local.on("close", () => ch.close());
                // The launcher reads exactly the script first; the rest of stdin is the daemon's API stream.
                ch.write(input);
                local.pipe(ch);
                ch.pipe(local);
            }),
        (e: Error) => {
            log(`docker connection to ${describe(t)}: ${e.message}`);
            local.destroy();
        },
    );
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
        privateDirectory(path.dirname(socket));
        // A socket left by a killed run leads nowhere; a new one takes its place.
        fs.rmSync(socket, { force: true });
        // Half-open: a client that ends its side still gets the daemon's answer (as dial-stdio itself allows).
        const server = net.createServer({ allowHalfOpen: true }, (local) => relay(local, t, conn, log));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(socket, () => resolve());
        });
        fs.chmodSync(socket, 0o600);
        server.unref();
        const abs = path.resolve(socket);
        process.once("exit", () => {
            fs.rmSync(abs, { force: true });
            void shared?.then((c) => c.end(), () => undefined);
        });
    })();
    running.set(socket, ready);
    return ready;
}
