import { execFileSync } from "child_process";
import { describe, expect, it } from "vitest";
import { dockerHost, dockerSshOpts, hostKeyAlgorithms, knownHostsLine, SshTarget } from "../../lib/ssh";
import { HOST_KEY, HOST_KEY_2, PRIVATE_KEY } from "../fixtures/config";

const target = (over: Partial<SshTarget> = {}): SshTarget => ({ host: "203.0.113.10", port: 2222, user: "root", hostKey: HOST_KEY, privateKey: PRIVATE_KEY, ...over });
const SOCK = "/root/.pulumi/github-flows-host/agent/0123456789abcdef.sock";
const value = (opts: string[], name: string) => opts.filter((o) => o.startsWith(`${name}=`)).map((o) => o.slice(name.length + 1));

describe("OpenSSH options of the docker provider", () => {
    it("limit the host key algorithm to the pinned key's type", () => {
        expect(hostKeyAlgorithms("ssh-ed25519 AAAA")).toEqual(["ssh-ed25519"]);
        expect(hostKeyAlgorithms("ecdsa-sha2-nistp256 AAAA")).toEqual(["ecdsa-sha2-nistp256"]);
        expect(hostKeyAlgorithms("ssh-rsa AAAA")).toEqual(["rsa-sha2-512", "rsa-sha2-256"]);
        expect(() => hostKeyAlgorithms("ssh-ed25519;rm AAAA")).toThrow(/not an SSH key type/);
    });

    it("pin only the configured key: no known_hosts file, user or global, and no config file", () => {
        const opts = dockerSshOpts(target(), SOCK);
        expect(opts.slice(0, 2)).toEqual(["-F", "none"]);
        expect(value(opts, "UserKnownHostsFile")).toEqual(["none"]);
        expect(value(opts, "GlobalKnownHostsFile")).toEqual(["none"]);
        expect(value(opts, "StrictHostKeyChecking")).toEqual(["yes"]);
        expect(value(opts, "KnownHostsCommand")).toEqual([`/bin/echo ${knownHostsLine("203.0.113.10", 2222, HOST_KEY)}`]);
        expect(value(opts, "HostKeyAlgorithms")).toEqual(["ssh-ed25519"]);
    });

    it("authenticate with the agent only, and name no file of the run: equal on every call", () => {
        const opts = dockerSshOpts(target(), SOCK);
        expect(value(opts, "IdentityAgent")).toEqual([SOCK]);
        expect(value(opts, "IdentityFile")).toEqual(["none"]);
        expect(opts).not.toContain("-i");
        expect(JSON.stringify(opts)).not.toContain(PRIVATE_KEY.split("\n")[1]);
        expect(dockerSshOpts(target(), SOCK)).toEqual(opts);
        expect(dockerHost(target())).toBe("ssh://root@203.0.113.10:2222");
    });

    it("reach a bastion with ProxyCommand carrying the same pinned, agent-only options (ProxyJump would drop them)", () => {
        const opts = dockerSshOpts(target({ proxy: { host: "198.51.100.7", port: 22, user: "jump", hostKey: HOST_KEY_2 } }), SOCK);
        expect(opts.some((o) => o.startsWith("ProxyJump"))).toBe(false);
        const [proxy] = value(opts, "ProxyCommand");
        // The shell that ssh runs ProxyCommand with must see exactly these words.
        const words = execFileSync("sh", ["-c", `for w in ${proxy.replace(/^ssh /, "'ssh' ")}; do printf '%s\\n' "$w"; done`], { encoding: "utf8" }).trimEnd().split("\n");
        expect(words[0]).toBe("ssh");
        expect(words).toEqual(expect.arrayContaining(["UserKnownHostsFile=none", "GlobalKnownHostsFile=none", `IdentityAgent=${SOCK}`, "IdentityFile=none"]));
        expect(words).toContain(`KnownHostsCommand=/bin/echo 198.51.100.7 ${HOST_KEY_2}`);
        expect(words.slice(-8)).toEqual(["-W", "203.0.113.10:2222", "-p", "22", "-l", "jump", "--", "198.51.100.7"]);
    });

    it("name the agent by %d (the operator's home) so every operator's options read the same; %%d inside ProxyCommand", () => {
        const sock = "%d/.github-flows-host/agent/0123456789abcdef.sock";
        expect(value(dockerSshOpts(target(), sock), "IdentityAgent")).toEqual([sock]);
        const [proxy] = value(dockerSshOpts(target({ proxy: { host: "198.51.100.7", port: 22, user: "jump", hostKey: HOST_KEY_2 } }), sock), "ProxyCommand");
        // The outer ssh expands %% to %, so the inner ssh sees %d; a bare %d would be an unknown ProxyCommand token.
        expect(proxy).toContain("IdentityAgent=%%d/.github-flows-host/agent/");
        expect(proxy.replace(/%%/g, "")).not.toMatch(/%[^%]/);
    });

    it("refuse values that ssh's option parser would split or expand", () => {
        expect(() => dockerSshOpts(target(), "/home/a b/agent.sock")).toThrow(/ssh options cannot carry/);
        expect(() => dockerSshOpts(target(), "/home/%u/agent.sock")).toThrow(/ssh options cannot carry/);
        expect(() => dockerSshOpts(target({ host: "h%h" }), SOCK)).toThrow(/cannot carry/);
    });
});
