// Types of stack.mjs for the TypeScript e2e harness.
export declare const PATHS: {
    readonly defaults: {};
    readonly ssh2: { readonly imageSource: "ssh-pull"; readonly remoteCommands: "ssh2" };
};
export type PathName = keyof typeof PATHS;
/** What `scripts/sandbox.sh env` prints about the sandbox host. */
export interface Sandbox {
    host: string;
    port: number;
    sshUser: string;
    /** `root`: it may log in with the same key (the runtime-user-as-adversary tests use it). */
    rootUser: string;
    /** The same sshd on another port where root is refused (a cloud image's sshd). */
    adminPort: number;
    /** Passwordless sudo, not in group docker: log in on `adminPort`. */
    adminUser: string;
    /** No sudo rule at all. */
    noSudoUser: string;
    /** sudo that asks for a password. */
    pwSudoUser: string;
    keyFile: string;
    /** known_hosts with the sandbox host keys (for `pulumi import`, as an operator has one). */
    knownHosts: string;
    hostKey: string;
    /** The sshd's other host keys (it presents ed25519 by default). */
    hostKeyEcdsa: string;
    hostKeyRsa: string;
    imageRef: string;
    githubHost: string;
    validToken: string;
    /** A second valid token of the same account, for rotation. */
    rotatedToken: string;
    githubLogin: string;
    controlUrl: string;
    /** The sandbox's own files (sshd config and log, keys). */
    stateDir: string;
}
export declare function sandboxEnv(): Record<string, string>;
/** Reads the sandbox description; a missing sandbox throws (the suite fails loudly instead of skipping). */
export declare function sandbox(): Sandbox;
export declare function sandboxConfig(
    sb: Pick<Sandbox, "host" | "port" | "sshUser" | "hostKey" | "githubHost" | "imageRef" | "keyFile" | "validToken">,
    opts?: { path?: PathName; hosts?: unknown[]; repositories?: string[] },
): { plain: Record<string, unknown>; secrets: { sshPrivateKey: string; githubToken: string } };
/** A `hosts` entry for the sandbox as `user` (default: the sudo admin) on the port where root is refused. */
export declare function rootRefusedHost(
    sb: Pick<Sandbox, "host" | "adminPort" | "adminUser" | "hostKey">,
    user?: string,
): { name: string; address: string; port: number; user: string; hostKey: string };
export declare function setAllJson(plain: Record<string, unknown>): string;
