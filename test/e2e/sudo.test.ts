import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { rootRefusedHost } from "../../scripts/sandbox/stack.mjs";
import { collector, onHost, plannedChanges, pulumiCli, resetHost, sandboxStack, setPlain, setSecret, stepNames, upError, upOk } from "./harness";

/**
 * The hosts operators have: root login off, an admin account with passwordless sudo that is not in group docker.
 * On the defaults (`@pulumi/command` remote.Command, `@pulumi/docker` RemoteImage), through the sandbox sshd's
 * port where root is refused. Accounts that cannot become root fail before anything on the host changes.
 */

const HOME = "/home/user";
const SECRETS = `${HOME}/.secrets`;
const TOKEN_FILE = `${SECRETS}/gh-token`;
const CODEX_DIR = `${SECRETS}/codex`;
const PROFILE_DIR = `${HOME}/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created`;
const IMAGE = "github-flows-agent-codex:latest";
const VICTIM = "/var/lib/gfh-e2e-sudo-victim";

const stat = (p: string) => onHost(`stat -c '%a %U' ${p} 2>/dev/null || echo absent`).trim();
const imageId = () => onHost(`docker image inspect --format '{{.Id}}' ${IMAGE} 2>/dev/null || echo absent`).trim();
/** Everything the program could have changed on the host, for "nothing changed" assertions. */
const hostState = () => onHost(`ls -la ${HOME}; find ${SECRETS} ${HOME}/app 2>/dev/null | sort; docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort`);

describe("a sudo admin outside group docker, root login refused (defaults)", () => {
    const t = sandboxStack("sudo", async ({ stack, sb }) => {
        await setPlain(stack, "hosts", [rootRefusedHost(sb)]);
        await setSecret(stack, "openaiApiKey", "sk-sandbox-sudo-key-0001");
    });

    beforeAll(() => {
        // The premise: the admin cannot reach the daemon itself, and root cannot log in on that port.
        expect(` ${onHost(`id -nG ${t.sb.adminUser}`).trim()} `).not.toContain(" docker ");
        expect(onHost(`grep -A2 'Match LocalPort ${t.sb.adminPort}' ${t.sb.stateDir}/sshd_config`)).toContain("PermitRootLogin no");
    });

    it("up creates everything as the runtime user's, pulls the image through sudo, and the checks pass", async () => {
        const out = collector();
        const res = await t.stack.up({ onOutput: out.onOutput });
        expect(res.summary.result, out.text()).toBe("succeeded");
        expect(stat(SECRETS)).toBe("700 user");
        expect(stat(CODEX_DIR)).toBe("700 user");
        expect(stat(TOKEN_FILE)).toBe("600 user");
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.validToken));
        expect(stat(`${PROFILE_DIR}/profile.json`)).toBe("644 user");
        expect(stat(`${HOME}/app`)).toMatch(/ user$/);
        const h = (res.outputs.hosts.value as Record<string, Record<string, unknown>>).sandbox;
        expect(h.githubLogin).toBe("flows-bot");
        expect(h.imageId).toBe(imageId());
        expect(out.text()).not.toContain(t.sb.validToken);
        // The docker provider's ssh went through the program's relay at a project-relative socket (the same for every
        // operator), in a directory private to this user.
        const state = pulumiCli(t.stack, ["stack", "export"]);
        expect(state).toContain(`"host": "ssh://${t.sb.adminUser}@127.0.0.1:${t.sb.adminPort}"`);
        expect(state).toMatch(/ProxyCommand='node' '-e' .*'\.github-flows-host\/docker\/[0-9a-f]{16}\.sock'/);
        // Relative to the working directory the engine gives the program and its plugins (the project directory, or
        // the directory of Pulumi.yaml's `main`, boot/).
        const base = [t.dir, path.join(t.dir, "boot")].find((d) => fs.existsSync(path.join(d, ".github-flows-host/docker")));
        expect(base, "the relay's socket directory").toBeDefined();
        expect((fs.statSync(path.join(base!, ".github-flows-host/docker")).mode & 0o777).toString(8)).toBe("700");
        // Logged in as the admin on the root-refused port, never as root there.
        const log = fs.readFileSync(path.join(t.sb.stateDir, "sshd.log"), "utf8");
        expect(log).toMatch(new RegExp(`Accepted publickey for ${t.sb.adminUser} from 127\\.0\\.0\\.1 port \\d+ ssh2`));
    }, 300_000);

    it("a second preview and a second up change nothing", async () => {
        const { steps, text } = await plannedChanges(t.stack);
        expect(stepNames(steps), text).toEqual([]);
        const up = await t.stack.up({ onOutput: () => undefined });
        expect(Object.entries(up.summary.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0)).toEqual([]);
    }, 300_000);

    it("drift (image removed from the daemon, token file mode) shows in preview and up repairs it; then a rotation", async () => {
        onHost(`docker rmi ${IMAGE} ${t.sb.imageRef} >/dev/null; chmod 644 ${TOKEN_FILE}`);
        const { steps, text } = await plannedChanges(t.stack);
        expect(stepNames(steps), text).toEqual(expect.arrayContaining(["update sandbox-presence", "update sandbox-gh-token"]));
        await upOk(t.stack);
        expect(imageId()).toMatch(/^sha256:/);
        expect(stat(TOKEN_FILE)).toBe("600 user");

        await setSecret(t.stack, "githubToken", t.sb.rotatedToken);
        await upOk(t.stack);
        expect(fs.readFileSync(TOKEN_FILE)).toEqual(Buffer.from(t.sb.rotatedToken));
        expect(stat(TOKEN_FILE)).toBe("600 user");
    }, 300_000);

    it("a link the runtime user plants at the token file is refused; the root-owned target is unchanged", async () => {
        onHost(`rm -rf ${VICTIM} && mkdir -m 755 ${VICTIM} && printf root-only > ${VICTIM}/root-only && chmod 640 ${VICTIM}/root-only`);
        onHost(`runuser -u user -- sh -c 'rm -f ${TOKEN_FILE} && ln -s ${VICTIM}/root-only ${TOKEN_FILE}'`);
        await setSecret(t.stack, "githubToken", t.sb.validToken);
        const err = (await upError(t.stack)) ?? "";
        expect(err).toContain(`${TOKEN_FILE} is a symlink to ${VICTIM}/root-only: refusing`);
        expect(onHost(`stat -c '%a %U %s' ${VICTIM}/root-only; cat ${VICTIM}/root-only`)).toBe("640 root 9\nroot-only");
        onHost(`rm -f ${TOKEN_FILE}; rm -rf ${VICTIM}`);
    }, 300_000);

    it("destroy removes the token file and the profiles, and keeps the Codex auth state", async () => {
        await t.stack.destroy({ onOutput: () => undefined });
        expect(stat(TOKEN_FILE)).toBe("absent");
        expect(stat(`${PROFILE_DIR}/profile.json`)).toBe("absent");
        expect(onHost(`find ${CODEX_DIR} -maxdepth 3 -type f -name auth.json | wc -l`).trim()).toBe("1");
    }, 300_000);
});

describe("a login that cannot become root fails before any host change, naming host and what is missing", () => {
    const t = sandboxStack("sudo-refused");

    for (const who of ["noSudoUser", "pwSudoUser"] as const) {
        it(`${who}: preview and up refuse at the account read; the host is untouched`, async () => {
            resetHost();
            const user = t.sb[who];
            await setPlain(t.stack, "hosts", [rootRefusedHost(t.sb, user)]);
            const before = hostState();
            const expected =
                `host 'sandbox' (127.0.0.1:${t.sb.adminPort}): the SSH user '${user}' is neither root nor the runtime user 'user', ` +
                `and \`sudo -n /bin/sh -c true\` fails: sudo: a password is required. Give '${user}' passwordless sudo`;
            const pre = await t.stack.preview({ onOutput: () => undefined }).then(
                () => "",
                (e: Error) => e.message,
            );
            expect(pre).toContain(expected);
            const err = (await upError(t.stack)) ?? "";
            expect(err).toContain(expected);
            expect(err).toContain("Nothing was changed on the host.");
            expect(hostState()).toBe(before);
            expect(stat(SECRETS)).toBe("absent");
            expect(imageId()).toBe("absent");
        }, 300_000);
    }
});
