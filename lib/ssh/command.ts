import type * as command from "@pulumi/command";
import { SSH_LIMITS, SshTarget } from "./target";

/** `@pulumi/command`'s connection: the pinned host key (it offers only that key's type) and the bastion travel with it. */
export function commandConnection(c: SshTarget): command.types.input.remote.ConnectionArgs {
    const limits = { dialErrorLimit: SSH_LIMITS.connectAttempts, perDialTimeout: SSH_LIMITS.connectTimeoutSeconds };
    return {
        host: c.host,
        port: c.port,
        user: c.user,
        privateKey: c.privateKey,
        hostKey: c.hostKey,
        ...limits,
        proxy: c.proxy && { host: c.proxy.host, port: c.proxy.port, user: c.proxy.user, privateKey: c.privateKey, hostKey: c.proxy.hostKey, ...limits },
    };
}
