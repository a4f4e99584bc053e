import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { agentSocketPath, dockerHost, dockerProxySocket, dockerRelaySshOpts, dockerSshOpts, SshTarget, startAgent, startDockerProxy } from "../lib/ssh";
import { ImagePresence, PulledImage } from "../providers";

export interface AgentImageArgs {
    connection: pulumi.Input<SshTarget>;
    /** Name the image has on the host (used by checks and profiles). */
    image: string;
    /** Reference the daemon pulls; tagged as `image` when different. */
    pullFrom: string;
    /** "docker-provider": `@pulumi/docker` RemoteImage over `ssh://`; "ssh-pull": `docker pull` over the stack's SSH connection. */
    source: "docker-provider" | "ssh-pull";
    /**
     * What must succeed before the host is touched (the account read). Not the component's `dependsOn`: the docker
     * provider's plugin, which touches no host, then starts beside that read instead of after it.
     */
    after: pulumi.Input<pulumi.Resource>[];
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
        return new PulledImage(`${name}-pull`, { connection: args.connection, from: args.pullFrom, image: args.image }, { parent: this, dependsOn: args.after }).imageId;
    }

    private pullWithDockerProvider(name: string, args: AgentImageArgs): pulumi.Output<string> {
        const socket = agentSocketPath(pulumi.getProject(), pulumi.getStack());
        const connection = pulumi.output(args.connection);
        // Root or the runtime user: the docker CLI's `ssh://` helper straight to the host, authenticated by the
        // in-process agent. A sudo admin (not in group docker): the same helper through this program's relay, which
        // runs `sudo -n docker system dial-stdio` on the host (lib/ssh/dockerProxy.ts).
        const relay = connection.apply((c) => dockerProxySocket(pulumi.getProject(), pulumi.getStack(), c));
        // The agent (and the relay) must listen before the provider dials; the options only name stable paths.
        const ready = pulumi.all([connection, relay]).apply(async ([c, r]) => {
            await startAgent(socket.local, c.privateKey);
            if (c.sudo) await startDockerProxy(r, c, (m) => pulumi.log.warn(m, this));
            return true;
        });
        const provider = new docker.Provider(
            `${name}-docker`,
            {
                host: pulumi.unsecret(connection.apply(dockerHost)),
                sshOpts: pulumi.unsecret(
                    pulumi.all([connection, relay, ready]).apply(([c, r]) => (c.sudo ? dockerRelaySshOpts(c, socket.forSsh, r) : dockerSshOpts(c, socket.forSsh))),
                ),
                // Deletes (keepLocally) then need no connection: they run after this program, and its agent, ended.
                disableDockerDaemonCheck: true,
            },
            { parent: this },
        );
        const names = args.pullFrom === args.image ? [args.image] : [args.pullFrom, args.image];
        const presence = new ImagePresence(`${name}-presence`, { connection: args.connection, names }, { parent: this, dependsOn: args.after });
        const generation = presence.generation.apply(String);
        // keepLocally: running GitHub Flows jobs use the image; destroy must not pull it from under them.
        const remote = new docker.RemoteImage(`${name}-image`, { name: args.pullFrom, keepLocally: true, triggers: { presence: generation } }, { parent: this, provider });
        if (args.pullFrom !== args.image) {
            new docker.Tag(`${name}-tag`, { sourceImage: remote.imageId, targetImage: args.image, tagTriggers: [generation] }, { parent: this, provider });
        }
        return remote.imageId;
    }
}
