import { randomBytes } from "crypto";
import * as fs from "fs";
import { afterAll, describe, expect, it } from "vitest";
import { acceptedSessions, configureForSandbox, onHost, removeConfig, resetHost, Sandbox, sandboxStack, setPlain, setSecret, upError, upOk } from "./harness";

/**
 * Where the program may give the runtime user directories, and which accounts may be the runtime user, on the
 * defaults with `root` as the SSH user (root is the one that creates and hands over). The machine is shared: every
 * account and directory made here has a unique name and is removed afterwards.
 */
const tag = randomBytes(3).toString("hex");
const ROOT = `/srv/gfh-e2e-paths-${tag}`;
const TOOR = `gfh-toor-${tag}`;
const G0 = `gfh-g0-${tag}`;

const rootHost = (sb: Sandbox) => [{ name: "sandbox", address: sb.host, port: sb.port, user: sb.rootUser, hostKey: sb.hostKey }];
/** Owner, mode and content of everything under `dir` (and `dir` itself). */
const tree = (dir: string) => onHost(`cd ${dir} && find . -printf '%p %m %u:%g %s %y\\n' | sort && find . -type f -exec sha256sum {} + | sort`);
/** The agent image under any name (also as pulled from the registry, before it is tagged). */
const image = () => onHost("docker image ls --format '{{.Repository}}:{{.Tag}}' | grep github-flows-agent-codex || true").trim();

afterAll(() => {
    // userdel refuses a UID-0 account while root has processes: drop the lines by hand, then the group membership.
    for (const u of [TOOR, G0]) {
        onHost(`userdel -f ${u} 2>/dev/null || { sed -i '/^${u}:/d' /etc/passwd /etc/shadow; }; sed -i -e 's/,${u}\\b//; s/:${u}$/:/' /etc/group; true`);
    }
    onHost(`rm -rf ${ROOT}`);
});

describe("paths given to the runtime user, and who may be the runtime user (SSH user root)", () => {
    const t = sandboxStack("paths", async ({ stack, sb }) => {
        await setPlain(stack, "hosts", rootHost(sb));
        await setSecret(stack, "openaiApiKey", "sk-sandbox-paths-0001");
    });
    const secrets = () => `/home/${t.sb.sshUser}/.secrets`;

    it("system paths and system roots are refused before any host is touched, naming the key", async () => {
        resetHost();
        const before = acceptedSessions(t.sb);
        const binBefore = onHost("stat -c '%a %U:%G' /usr/local/bin");
        for (const [key, value, want] of [
            ["codexDir", `/etc/gfh-e2e-${tag}`, `github-flows-host:codexDir: /etc/gfh-e2e-${tag} lies in /etc, which belongs to the system`],
            ["secretsDir", "/usr/local/bin", "github-flows-host:secretsDir: /usr/local/bin lies in /usr, which belongs to the system"],
            ["runtimeUserRoots", ["/var/lib"], "github-flows-host:runtimeUserRoots[0]: /var/lib is a directory the whole system shares"],
        ] as const) {
            await setPlain(t.stack, key, value);
            const err = (await upError(t.stack)) ?? "";
            expect(err).toContain(want);
            await removeConfig(t.stack, key);
        }
        expect(acceptedSessions(t.sb)).toBe(before);
        expect(fs.existsSync(`/etc/gfh-e2e-${tag}`)).toBe(false);
        expect(onHost("stat -c '%a %U:%G' /usr/local/bin")).toBe(binBefore);
        expect(fs.existsSync(secrets())).toBe(false);
    }, 300_000);

    it("a secretsDir outside the home and every listed root is refused on the host, before anything is written", async () => {
        resetHost();
        await setPlain(t.stack, "secretsDir", `${ROOT}/secrets`);
        try {
            const err = (await upError(t.stack)) ?? "";
            expect(err).toContain(`host 'sandbox' (127.0.0.1:${t.sb.port}): github-flows-host:secretsDir: ${ROOT}/secrets is neither under the runtime user's home /home/${t.sb.sshUser}`);
            expect(fs.existsSync(ROOT)).toBe(false);
            expect(fs.existsSync(secrets())).toBe(false);
            expect(image()).toBe("");
        } finally {
            await removeConfig(t.stack, "secretsDir");
        }
    }, 300_000);

    it("an existing directory holding files, under a listed root, is not handed over: refused naming it, unchanged; emptied, it is", async () => {
        resetHost();
        onHost(`mkdir -p -m 755 ${ROOT}/secrets && printf keep > ${ROOT}/secrets/operator.conf && chmod 640 ${ROOT}/secrets/operator.conf`);
        const before = tree(ROOT);
        await configureForSandbox(t.stack, t.sb, { hosts: rootHost(t.sb), runtimeUserRoots: [ROOT], secretsDir: `${ROOT}/secrets` });
        const err = (await upError(t.stack)) ?? "";
        expect(err).toContain(`${ROOT}/secrets already exists, owned by root, holding 1 entries: refusing to give it to the runtime user ${t.sb.sshUser}`);
        expect(tree(ROOT)).toBe(before);
        // Emptied by the operator, the same directory is taken over, and the next run is as healthy.
        onHost(`rm ${ROOT}/secrets/operator.conf`);
        await upOk(t.stack);
        expect(onHost(`stat -c '%a %U' ${ROOT}/secrets ${ROOT}/secrets/gh-token ${ROOT}/secrets/codex`).trim().split("\n")).toEqual([
            `700 ${t.sb.sshUser}`,
            `600 ${t.sb.sshUser}`,
            `700 ${t.sb.sshUser}`,
        ]);
        expect(onHost(`stat -c '%a %U' ${ROOT}`).trim()).toBe("755 root");
        await upOk(t.stack);
        await t.stack.destroy({ onOutput: () => undefined });
        await configureForSandbox(t.stack, t.sb, { hosts: rootHost(t.sb) });
        await removeConfig(t.stack, "secretsDir");
        await removeConfig(t.stack, "runtimeUserRoots");
    }, 600_000);

    it.each([
        ["UID 0 under another name", () => `useradd -o -u 0 -g 0 -M -d /root -s /usr/sbin/nologin ${TOOR}`, () => TOOR, "has UID 0 (it is root)"],
        ["a member of group root", () => `useradd -M -N -G root -d /home/${G0} -s /usr/sbin/nologin ${G0}`, () => G0, "is a member of group 0 (root)"],
    ])("a runtime user %s is refused on the host read, naming runtimeUser; nothing is written", async (_what, create, user, why) => {
        resetHost();
        onHost(create());
        await setPlain(t.stack, "runtimeUser", user());
        try {
            const err = (await upError(t.stack)) ?? "";
            expect(err).toContain(`host 'sandbox' (127.0.0.1:${t.sb.port}): github-flows-host:runtimeUser: the runtime user '${user()}' ${why}`);
            expect(fs.existsSync("/root/.secrets")).toBe(false);
            expect(fs.existsSync(`/home/${G0}`)).toBe(false);
            expect(fs.existsSync(secrets())).toBe(false);
            expect(image()).toBe("");
        } finally {
            await removeConfig(t.stack, "runtimeUser");
        }
    }, 300_000);
});
