import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { rootRefusedHost, sandboxConfig, setAllJson } from "../../scripts/sandbox/stack.mjs";

const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gfh-sbstack-")), "key");
fs.writeFileSync(keyFile, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n");
const sb = { host: "127.0.0.1", port: 2222, sshUser: "user", hostKey: "ssh-ed25519 AAAA", githubHost: "github.localhost", imageRef: "127.0.0.1:5000/img:latest", keyFile, validToken: "ghp_x" };

describe("scripts/sandbox/stack.mjs: the one recipe for a sandbox stack", () => {
    it("puts the sandbox host, its GitHub and registry in plain config and the key and token in secrets", () => {
        const { plain, secrets } = sandboxConfig(sb);
        expect(plain).toEqual({
            hosts: [{ name: "sandbox", address: "127.0.0.1", port: 2222, user: "user", hostKey: "ssh-ed25519 AAAA" }],
            repositories: ["acme/demo"],
            githubHost: "github.localhost",
            imagePullFrom: "127.0.0.1:5000/img:latest",
            checkDockerArgs: ["--network", "host"],
        });
        expect(secrets).toEqual({ sshPrivateKey: fs.readFileSync(keyFile, "utf8"), githubToken: "ghp_x" });
    });

    it("selects the ssh2 path, other hosts and repositories", () => {
        const { plain } = sandboxConfig(sb, { path: "ssh2", hosts: [{ name: "h1" }], repositories: ["a/b"] });
        expect(plain).toMatchObject({ imageSource: "ssh-pull", remoteCommands: "ssh2", hosts: [{ name: "h1" }], repositories: ["a/b"] });
        expect(() => sandboxConfig(sb, { path: "nope" as never })).toThrow(/unknown path 'nope'/);
    });

    it("reaches the sandbox as the sudo admin, or another account, on the port where root is refused", () => {
        const admin = { ...sb, adminPort: 2223, adminUser: "admin" };
        expect(rootRefusedHost(admin)).toEqual({ name: "sandbox", address: "127.0.0.1", port: 2223, user: "admin", hostKey: "ssh-ed25519 AAAA" });
        expect(rootRefusedHost(admin, "nosudo").user).toBe("nosudo");
    });

    it("writes strings as strings and structures as YAML structure for `pulumi config set-all --json`", () => {
        expect(JSON.parse(setAllJson({ githubHost: "h", repositories: ["a/b"] }))).toEqual({
            "github-flows-host:githubHost": { value: "h", secret: false },
            "github-flows-host:repositories": { value: '["a/b"]', objectValue: ["a/b"], secret: false },
        });
    });
});
