// Types of stack.mjs for the TypeScript e2e harness.
export declare const PATHS: {
    readonly defaults: {};
    readonly ssh2: { readonly imageSource: "ssh-pull"; readonly remoteCommands: "ssh2" };
};
export type PathName = keyof typeof PATHS;
export interface SandboxForStack {
    host: string;
    port: number;
    sshUser: string;
    hostKey: string;
    githubHost: string;
    imageRef: string;
    keyFile: string;
    validToken: string;
}
export declare function sandboxEnv(): Record<string, string>;
export declare function sandboxConfig(
    sb: SandboxForStack,
    opts?: { path?: PathName; hosts?: unknown[]; repositories?: string[] },
): { plain: Record<string, unknown>; secrets: { sshPrivateKey: string; githubToken: string } };
export declare function setAllJson(plain: Record<string, unknown>): string;
