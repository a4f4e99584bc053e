import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SshTarget } from "../lib/ssh";
import { PulledImage } from "../providers";

export interface AgentImageArgs {
    connection: pulumi.Input<SshTarget>;
    /** Name the image has on the host (used by checks and profiles). */
    image: string;
    /** Reference the daemon pulls; tagged as `image` when different. */
    pullFrom: string;
    /** "docker-provider": `@pulumi/docker` RemoteImage over `ssh://`; "ssh-pull": `docker pull` over the stack's SSH connection. */
    source: "docker-provider" | "ssh-pull";
}

/** The agent image present on the host's Docker daemon. */
export class AgentImage extends pulumi.ComponentResource {
    /** Image id on the host's daemon (`sha256:...`). */
    public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: AgentImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:AgentImage", name, {}, opts);
        this.imageId = args.source === "ssh-pull" ? this.pullOverSsh(name, args) : this.pullWithDockerProvider(name, args);
        this.registerOutputs({ imageId: this.imageId });
    }

    private pullOverSsh(name: string, args: AgentImageArgs): pulumi.Output<string> {
        return new PulledImage(`${name}-pull`, { connection: args.connection, from: args.pullFrom, image: args.image }, { parent: this }).imageId;
    }

    private pullWithDockerProvider(name: string, args: AgentImageArgs): pulumi.Output<string> {
        const provider = new docker.Provider(
            `${name}-docker`,
            {
                host: pulumi.output(args.connection).apply((c) => `ssh://${c.user}@${c.host}:${c.port}`),
                sshOpts: pulumi.output(args.connection).apply(dockerSshOpts),
            },
            { parent: this },
        );
        // keepLocally: running GitHub Flows jobs use the image; destroy must not pull it from under them.
        const remote = new docker.RemoteImage(`${name}-image`, { name: args.pullFrom, keepLocally: true }, { parent: this, provider });
        if (args.pullFrom !== args.image) {
            new docker.Tag(`${name}-tag`, { sourceImage: remote.imageId, targetImage: args.image }, { parent: this, provider });
        }
        return remote.imageId;
    }
}

/**
 * `ssh` options for the docker provider: the pinned host key in a private known_hosts file and the
 * key in a 0600 file, both in a private temp directory removed when the program exits.
 */
export function dockerSshOpts(c: SshTarget): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-ssh-"));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, "id");
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(keyFile, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
    const lines = [knownHostsLine(c.host, c.port, c.hostKey)];
    if (c.proxy) lines.push(knownHostsLine(c.proxy.host, c.proxy.port, c.proxy.hostKey));
    fs.writeFileSync(knownHosts, `${lines.join("\n")}\n`, { mode: 0o600 });
    const opts = ["-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "ConnectTimeout=15"];
    if (c.proxy) opts.push("-o", `ProxyJump=${c.proxy.user}@${c.proxy.host}:${c.proxy.port}`);
    return opts;
}

/** known_hosts syntax: `[host]:port` unless the port is 22. */
export function knownHostsLine(host: string, port: number, hostKey: string): string {
    const [type, blob] = hostKey.trim().split(/\s+/);
    return `${port === 22 ? host : `[${host}]:${port}`} ${type} ${blob}`;
}
