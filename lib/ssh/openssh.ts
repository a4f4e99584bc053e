import ssh2 = require("ssh2");
import { quoteAll } from "../shell";
import { hostKeyAlgorithms, knownHostsLine, SSH_LIMITS, SshEndpoint, SshTarget } from "./target";

/**
 * OpenSSH client options for the `ssh` that the docker provider runs (`ssh://` hosts). They name no
 * file of a run: the pinned host key travels as text (`KnownHostsCommand`), the private key comes from
 * this program's in-process agent at a stable socket path. So the options are the same on every run
 * (a clean host shows no changes) and nothing secret outlives the run.
 */

/** Options that pin one endpoint's key and authenticate with the agent only; `ssh` reads each as a config line. */
function endpointOptions(e: SshEndpoint, agentSocket: string): string[] {
    const line = knownHostsLine(e.host, e.port, e.hostKey);
    // `%d` (the local user's home) is the one token allowed: the path must read the same for every operator.
    if (/[\s"'\\]/.test(agentSocket) || /%(?!d\/)/.test(agentSocket)) throw new Error(`ssh-agent socket path '${agentSocket}' contains a character ssh options cannot carry`);
    if (/[^\x21-\x7e ]|%/.test(line)) throw new Error(`pinned host key of ${e.host}:${e.port} contains characters ssh options cannot carry`);
    return [
        // No ~/.ssh/config or /etc/ssh/ssh_config: nothing of the operator's may change where or how we connect.
        "-F", "none",
        "-o", "BatchMode=yes",
        "-o", `IdentityAgent=${agentSocket}`,
        "-o", "IdentityFile=none",
        "-o", "PreferredAuthentications=publickey",
        // The pin and only the pin: no user or global known_hosts file may add another accepted key.
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=none",
        "-o", "GlobalKnownHostsFile=none",
        "-o", `KnownHostsCommand=/bin/echo ${line}`,
        "-o", `HostKeyAlgorithms=${hostKeyAlgorithms(e.hostKey).join(",")}`,
        "-o", "UpdateHostKeys=no",
        "-o", `ConnectTimeout=${SSH_LIMITS.connectTimeoutSeconds}`,
        "-o", "ServerAliveInterval=10",
        "-o", "ServerAliveCountMax=3",
    ];
}

/**
 * `sshOpts` of the docker provider for target `t`. A bastion is reached with `ProxyCommand` running
 * `ssh -W` with the same pinned, agent-only options: OpenSSH would not hand command-line options to a
 * `ProxyJump` hop, which would then trust the operator's known_hosts and default keys.
 */
export function dockerSshOpts(t: SshTarget, agentSocket: string): string[] {
    const opts = endpointOptions(t, agentSocket);
    if (t.proxy) {
        const p = t.proxy;
        const hop = ["ssh", ...endpointOptions(p, agentSocket), "-W", `${t.host}:${t.port}`, "-p", String(p.port), "-l", p.user, "--", p.host];
        // ssh runs ProxyCommand with /bin/sh -c: every word quoted. ProxyCommand knows only %%, %h, %n, %p and %r:
        // the agent's `%d` is written `%%d`, which the outer ssh hands to the inner one as `%d`.
        opts.push("-o", `ProxyCommand=${quoteAll(hop).replace(/%d\//g, "%%d/")}`);
    }
    return opts;
}

/** The docker provider's `host`: the docker CLI's connection helper runs `ssh ... docker system dial-stdio`. */
export function dockerHost(t: SshTarget): string {
    return `ssh://${t.user}@${t.host}:${t.port}`;
}


/**
 * `ProxyCommand` of a sudo login: ssh's transport is piped to this program's relay socket (lib/ssh/dockerProxy.ts),
 * relative to the project directory ssh runs in. `node` is on PATH wherever the Pulumi program runs. No `%`: ssh
 * expands it in ProxyCommand.
 */
const RELAY_BRIDGE =
    'const s=require("net").connect(process.argv[1]);' +
    's.on("error",e=>{process.stderr.write("github-flows-host docker relay "+process.argv[1]+": "+e.message+"\\n");process.exit(1)});' +
    "process.stdin.pipe(s);s.pipe(process.stdout)";

/** The deploy key's public half, `type base64`: the relay's host key. */
export function publicKeyOf(privateKey: string): string {
    const parsed = ssh2.utils.parseKey(privateKey);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) throw new Error(`sshPrivateKey cannot be read: ${key instanceof Error ? key.message : "no key found"}`);
    return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

/**
 * `sshOpts` of the docker provider for a sudo login: the same agent-only options, pinned to the relay's host key (the
 * deploy key), reaching the relay through `ProxyCommand`. The relay itself dials the host (bastion included).
 */
export function dockerRelaySshOpts(t: SshTarget, agentSocket: string, relaySocket: string): string[] {
    if (!/^[\w./-]+$/.test(relaySocket)) throw new Error(`docker relay socket path '${relaySocket}' contains a character ssh options cannot carry`);
    const opts = endpointOptions({ host: t.host, port: t.port, user: t.user, hostKey: publicKeyOf(t.privateKey) }, agentSocket);
    opts.push("-o", `ProxyCommand=${quoteAll(["node", "-e", RELAY_BRIDGE, relaySocket])}`);
    return opts;
}
