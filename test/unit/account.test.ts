import { spawnSync } from "child_process";
import { describe, expect, it } from "vitest";
import { accountScript, parseAccount } from "../../lib/account";
import { ConfigError, forHost, parseConfig } from "../../lib/config";
import { host, rawConfig } from "../fixtures/config";

const WHERE = "host 'web-1' (203.0.113.10:22)";

describe("the runtime user's account on the host", () => {
    it("accountScript reads the passwd entry and whether the home exists, run for real", () => {
        const out = spawnSync("sh", ["-c", accountScript("daemon")]).stdout.toString();
        const [uid, gid] = spawnSync("sh", ["-c", "id -u daemon; id -g daemon"]).stdout.toString().trim().split("\n").map(Number);
        expect(out).toMatch(/^groups [0-9 ]+$/m);
        expect(parseAccount(out, "daemon", WHERE)).toMatchObject({ uid, gid });
        // root itself: refused on the host read, naming the key.
        const root = spawnSync("sh", ["-c", accountScript("root")]).stdout.toString();
        expect(() => parseAccount(root, "root", WHERE)).toThrow(`${WHERE}: github-flows-host:runtimeUser: the runtime user 'root' has UID 0`);
        const none = spawnSync("sh", ["-c", accountScript("gfh-no-such-user")]).stdout.toString();
        expect(none).toBe("absent\n");
    });

    it("a missing user is an error naming the host and the user", () => {
        expect(() => parseAccount("absent\n", "flows", WHERE)).toThrow(
            "host 'web-1' (203.0.113.10:22): the runtime user 'flows' does not exist (getent passwd flows found no entry)",
        );
    });

    it("takes a service user's home as it is, and refuses homes that cannot become mount paths", () => {
        expect(parseAccount("passwd flows:x:998:997::/var/lib/flows/:/usr/sbin/nologin\ngroups 997 106\nhome=none\n", "flows", WHERE)).toEqual({
            home: "/var/lib/flows",
            uid: 998,
            gid: 997,
            homeExists: false,
        });
        for (const home of ["relative", "/a,b", "/a/../etc", "/a\tb"]) {
            expect(() => parseAccount(`passwd flows:x:998:997::${home}:/bin/sh\ngroups 997\nhome=dir\n`, "flows", WHERE)).toThrow(/not a usable absolute path/);
        }
        expect(() => parseAccount("passwd other:x:1:1::/x:/bin/sh\n", "flows", WHERE)).toThrow(/cannot read the passwd entry/);
    });
});

describe("a runtime user that is root under another name is refused on the host read", () => {
    const entry = (line: string, groups: string) => `passwd ${line}\ngroups ${groups}\nhome=dir\n`;
    it.each([
        ["UID 0 under another name (toor)", "toor:x:0:0::/root:/bin/sh", "0", "toor", "has UID 0 (it is root)"],
        ["UID 0 with a non-root primary group", "flows:x:0:1001::/home/flows:/bin/sh", "1001", "flows", "has UID 0 (it is root)"],
        ["UID 0 written with leading zeros", "flows:x:000:1001::/home/flows:/bin/sh", "1001", "flows", "has UID 0 (it is root)"],
        ["primary group root", "flows:x:1001:0::/home/flows:/bin/sh", "0 106", "flows", "has GID 0 (its primary group is root)"],
        ["supplementary group root", "flows:x:1001:1001::/home/flows:/bin/sh", "1001 106 0", "flows", "is a member of group 0 (root)"],
    ])("%s", (_what, line, groups, user, why) => {
        expect(() => parseAccount(entry(line, groups), user, WHERE)).toThrow(`${WHERE}: github-flows-host:runtimeUser: the runtime user '${user}' ${why}`);
    });

    it("the document's runtime user, in group docker, is accepted; unreadable groups are not", () => {
        expect(parseAccount(entry("user:x:1001:1001::/home/user:/bin/bash", "1001 106"), "user", WHERE)).toMatchObject({ uid: 1001, gid: 1001 });
        expect(() => parseAccount("passwd user:x:1001:1001::/home/user:/bin/bash\nhome=dir\n", "user", WHERE)).toThrow(/cannot read the groups/);
    });
});

describe("forHost: the config for the home a host reports", () => {
    const at = (home: string, homeExists = true) => ({ home, homeExists });

    it("derives the unset paths from the real home, keeps the set ones", () => {
        const c = forHost(parseConfig(rawConfig({ runtimeUser: "flows" })), at("/var/lib/flows"), WHERE);
        expect(c).toMatchObject({
            home: "/var/lib/flows",
            appDir: "/var/lib/flows/app/github-flows",
            workspaceDir: "/var/lib/flows/app/github-flows/var/work",
            secretsDir: "/var/lib/flows/.secrets",
            tokenFile: "/var/lib/flows/.secrets/gh-token",
            codexDir: "/var/lib/flows/.secrets/codex",
        });
        const set = forHost(parseConfig(rawConfig({ secretsDir: "/home/user/.secrets", workspaceDir: "/srv/work", runtimeUserRoots: ["/home/user", "/srv/work"] })), at("/var/lib/user"), WHERE);
        expect(set).toMatchObject({ secretsDir: "/home/user/.secrets", tokenFile: "/home/user/.secrets/gh-token", appDir: "/var/lib/user/app/github-flows", workspaceDir: "/srv/work" });
    });

    it("checks the security rules against the real home, naming the host and the key", () => {
        // Listed, so that only the home the host reports makes it forbidden.
        const c = parseConfig(rawConfig({ allowedBindSources: [{ path: "/var/lib/user" }], profile: { dockerArgs: ["-v", "/var/lib/user:/h:ro"] } }));
        let err: ConfigError | undefined;
        try {
            forHost(c, at("/var/lib/user"), WHERE);
        } catch (e) {
            err = e as ConfigError;
        }
        expect(err).toBeInstanceOf(ConfigError);
        expect(err?.message).toContain(`${WHERE}: github-flows-host:profile.dockerArgs: mount '/var/lib/user:/h:ro' exposes the runtime user's home directory /var/lib/user`);
        expect(() => forHost(parseConfig(rawConfig({ secretsDir: "/var/lib/user/.ssh/s" })), at("/var/lib/user"), WHERE)).toThrow(/github-flows-host:secretsDir/);
    });

    it("refuses to derive paths into a home that does not exist", () => {
        expect(() => forHost(parseConfig(rawConfig()), at("/nonexistent", false), WHERE)).toThrow(
            `${WHERE}: the runtime user's home /nonexistent does not exist, and github-flows-host:appDir, github-flows-host:workspaceDir, github-flows-host:secretsDir, github-flows-host:tokenFile, github-flows-host:codexDir would lie in it`,
        );
        expect(forHost(parseConfig(rawConfig({ appDir: "/srv/flows", secretsDir: "/srv/secrets", runtimeUserRoots: ["/srv/flows", "/srv/secrets"] })), at("/nonexistent", false), WHERE).tokenFile).toBe("/srv/secrets/gh-token");
    });
});

describe("RSA host keys and remoteCommands", () => {
    const rsa =
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDBzKfHZJP/xH+TmjxT889fHecwTKDmoORI4TOHtVrtdvyqXtg1iTorcFSwGXi6l/7NDJ4ZxpVYcj34LWtCkyfBi1kRUXmdmowOUauXkXyTiGVAeebP2DZ8np+5/BSFIZ+XQD5QTmt/rYw0jJb/RuxOpc361F/doqDCX1uPUiKTV4NxaOGdFhoawVesU9MDWLyAiwTroICxIwwygdoue2mOQI6UgE8Je34C9pm5Wex1TDPd/dmB23olTuybtC8jMQFPjxtKD/QVPWakAvk36J2AxKIQID6iXpFM+jFmPoUh1XyJve8iPnCqmrvI35aPHD7T6KD+EvF6gylxdfgJ1TZT";

    it("refuses an RSA pin with remoteCommands: pulumi-command (SHA-1 ssh-rsa only), naming the key", () => {
        expect(() => parseConfig(rawConfig({ hosts: [host({ hostKey: rsa })] }))).toThrow(
            /github-flows-host:hosts\[0\]\.hostKey: an RSA host key cannot be pinned with remoteCommands: pulumi-command .*remoteCommands: ssh2/,
        );
        expect(() => parseConfig(rawConfig({ hosts: [host({ proxy: { address: "b", user: "jump", hostKey: rsa } })] }))).toThrow(/hosts\[0\]\.proxy\.hostKey/);
        expect(parseConfig(rawConfig({ hosts: [host({ hostKey: rsa })], remoteCommands: "ssh2" })).hosts[0].hostKey).toBe(rsa);
    });
});
