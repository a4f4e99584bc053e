import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeConnections, exec, SshTarget } from "../../lib/ssh";
import { configureForSandbox, onHost, plannedChanges, removeConfig, resetHost, Sandbox, sandboxStack, setPlain, setSecret, stepNames, upError, upOk } from "./harness";

/**
 * The runtime user is an adversary: with `root` as the SSH user, links it plants where the program expects
 * its own directories and files must be refused, and nothing outside its files may change.
 */

/** Root-owned targets the planted links point at: nothing in here may change. */
const VICTIM = "/var/lib/gfh-e2e-victim";
const sh1 = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs shell text as the runtime user, the way the adversary would. */
const asRuntimeUser = (sb: Sandbox, script: string) => onHost(`runuser -u ${sb.sshUser} -- sh -c ${sh1(script)}`);

/** Mode, owner, size and content hash of everything under the victim directory. */
const victimState = () => onHost(`cd ${VICTIM} && find . -printf '%p %m %u:%g %s %y\\n' | sort && find . -type f -exec sha256sum {} + | sort`);

const rootHost = (sb: Sandbox, over: Record<string, unknown> = {}) => [
    { name: "sandbox", address: sb.host, port: sb.port, user: sb.rootUser, hostKey: sb.hostKey, ...over },
];

describe("the runtime user cannot reach root through links (SSH user root)", () => {
    const t = sandboxStack("hardening", async ({ stack, sb }) => {
        await setPlain(stack, "hosts", rootHost(sb));
        await setSecret(stack, "openaiApiKey", "sk-sandbox-hardening-0001");
    });
    const home = () => `/home/${t.sb.sshUser}`;
    const secrets = () => `${home()}/.secrets`;
    let before: string;

    beforeAll(() => {
        onHost(
            `rm -rf ${VICTIM} && mkdir -m 755 ${VICTIM} && mkdir -m 755 ${VICTIM}/sub && printf victim > ${VICTIM}/file && chmod 644 ${VICTIM}/file ` +
                `&& printf root-only > ${VICTIM}/root-only && chmod 640 ${VICTIM}/root-only`,
        );
        before = victimState();
    });
    afterAll(() => onHost(`rm -rf ${VICTIM}`));

    /** A fresh host and an empty stack, then the adversary's preparation. */
    async function fresh(plant: string): Promise<void> {
        await t.stack.destroy({ onOutput: () => undefined });
        resetHost();
        asRuntimeUser(t.sb, plant);
    }

    const cases = [
        { what: "secrets dir linked to a root-owned dir", plant: () => `ln -s ${VICTIM} ${secrets()}`, link: () => secrets(), to: VICTIM },
        {
            what: "Codex dir linked to a root-owned dir",
            plant: () => `mkdir -m 700 ${secrets()} && ln -s ${VICTIM} ${secrets()}/codex`,
            link: () => `${secrets()}/codex`,
            to: VICTIM,
        },
        {
            what: "token file linked to a root-owned file",
            plant: () => `mkdir -m 700 ${secrets()} && ln -s ${VICTIM}/root-only ${secrets()}/gh-token`,
            link: () => `${secrets()}/gh-token`,
            to: `${VICTIM}/root-only`,
        },
        {
            what: "profile dir linked to a root-owned dir",
            plant: () => {
                const repo = `${home()}/app/github-flows/var/work/cfg/repos/acme/demo`;
                return `mkdir -p ${repo} && ln -s ${VICTIM}/sub ${repo}/issue_comment-created`;
            },
            link: () => `${home()}/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created`,
            to: `${VICTIM}/sub`,
        },
    ];

    for (const c of cases) {
        it(`${c.what}: up refuses it, naming the link, and the target is unchanged`, async () => {
            await fresh(c.plant());
            const err = (await upError(t.stack)) ?? "";
            expect(err).toContain(`${c.link()} is a symlink to ${c.to}: refusing`);
            expect(victimState()).toBe(before);
            expect(fs.readlinkSync(c.link())).toBe(c.to);
        }, 300_000);
    }

    it("a link planted after a good up: refresh and preview change nothing, up refuses it", async () => {
        await fresh("true");
        await upOk(t.stack);
        asRuntimeUser(t.sb, `mv ${secrets()} ${secrets()}.moved && ln -s ${VICTIM} ${secrets()}`);
        await plannedChanges(t.stack);
        expect(victimState()).toBe(before);
        const err = (await upError(t.stack)) ?? "";
        expect(err).toContain(`${secrets()} is a symlink to ${VICTIM}: refusing`);
        expect(victimState()).toBe(before);
        asRuntimeUser(t.sb, `rm ${secrets()} && mv ${secrets()}.moved ${secrets()}`);
    }, 300_000);

    it("temp and staging files are made by the runtime user; swapping them for links reaches nothing of root's", async () => {
        await fresh("true");
        const uid = onHost(`id -u ${t.sb.sshUser}`).trim();
        const dir = fs.mkdtempSync("/tmp/gfh-race-");
        fs.chownSync(dir, Number(uid), Number(uid));
        const seen = path.join(dir, "seen");
        const stop = path.join(dir, "stop");
        // The adversary's loop: every temp or staging file of the token is replaced by a link to a root-only file.
        const racer: ChildProcess = spawn(
            "runuser",
            [
                "-u", t.sb.sshUser, "--", "sh", "-c",
                `while [ ! -e ${stop} ]; do for f in ${secrets()}/.gh-token.*; do ` +
                    `[ -f "$f" ] && [ ! -L "$f" ] || continue; stat -c '%u %n' "$f" >> ${seen} 2>/dev/null; ln -sfn ${VICTIM}/root-only "$f" 2>/dev/null; done; done`,
            ],
            { stdio: "ignore" },
        );
        try {
            await upError(t.stack); // fails when the adversary wins the race, passes when it does not
        } finally {
            fs.writeFileSync(stop, "");
            await new Promise((r) => (racer.exitCode === null ? racer.once("exit", r) : r(undefined)));
        }
        const owners = fs.existsSync(seen) ? fs.readFileSync(seen, "utf8").trim().split("\n").filter(Boolean) : [];
        fs.rmSync(dir, { recursive: true, force: true });
        // The checks stage the token under a root-owned /run directory now (never here), and the token's own temp file
        // lives for milliseconds: the racer may see none. Whatever it saw was the runtime user's.
        for (const line of owners) expect(line.split(" ")[0], line).toBe(uid);
        expect(victimState()).toBe(before);
        // A temp file swapped between its write and its rename becomes the token path itself: a planted link, which
        // the next run refuses like any other (naming it) until the runtime user's link is gone.
        if (fs.lstatSync(`${secrets()}/gh-token`, { throwIfNoEntry: false })?.isSymbolicLink()) {
            expect((await upError(t.stack)) ?? "").toContain(`${secrets()}/gh-token is a symlink to ${VICTIM}/root-only: refusing`);
            expect(victimState()).toBe(before);
            asRuntimeUser(t.sb, `rm ${secrets()}/gh-token`);
        }
        // Without the adversary the next run converges, and leaves no link or staging file behind.
        await upOk(t.stack);
        expect(fs.readFileSync(`${secrets()}/gh-token`, "utf8")).toBe(t.sb.validToken);
        expect(fs.readdirSync(secrets()).filter((f) => f.startsWith("."))).toEqual([]);
    }, 600_000);

    it("a loop swapping the mount sources for links to root-only targets during up: no container ever sees them", async () => {
        await fresh("true");
        const uid = Number(onHost(`id -u ${t.sb.sshUser}`).trim());
        // Behind a root-only directory: the runtime user cannot reach these, a bind mount made by root would.
        // Owned by the runtime user's uid, so that a container running as it could read and write them if bound.
        const priv = `${VICTIM}-priv`;
        const victimToken = "ghp_victimVictimVictim0123456789";
        onHost(
            `rm -rf ${priv} && mkdir -m 700 ${priv} && mkdir -m 755 ${priv}/codex && printf marker > ${priv}/codex/VICTIM-MARKER && ` +
                `printf %s ${victimToken} > ${priv}/token && chown -R ${uid}:${uid} ${priv}/codex ${priv}/token && chmod 644 ${priv}/token`,
        );
        const dir = fs.mkdtempSync("/tmp/gfh-race-");
        fs.chownSync(dir, uid, uid);
        const stop = path.join(dir, "stop");
        const s = secrets();
        // Before the racer starts: a failure here must not leave it running.
        const since = ((await (await fetch(`${t.sb.controlUrl}/_control/requests`)).json()) as Array<{ seq: number }>).at(-1)?.seq ?? 0;
        // The adversary: a staged token becomes a link to the root-only token at once; the Codex directory becomes a link
        // to the root-only one while a `docker run` runs (it watches /proc, as any user can), after every check before it.
        const racer: ChildProcess = spawn(
            "runuser",
            [
                "-u", t.sb.sshUser, "--", "sh", "-c",
                `while [ ! -e ${stop} ]; do for f in ${s}/.gh-token.*; do [ -f "$f" ] && [ ! -L "$f" ] && ln -sfn ${priv}/token "$f" 2>/dev/null; done; ` +
                    `if pgrep -f '^docker run' >/dev/null && mv -T ${s}/codex ${s}/codex.real 2>/dev/null; then ln -s ${priv}/codex ${s}/codex; ` +
                    // Which container: read from /proc (pgrep -a truncates a long command line).
                    `echo swap >> ${dir}/swaps; for p in $(pgrep -f '^docker run'); do tr '\\0' ' ' < /proc/$p/cmdline | grep -o 'gfh-checks=ok\\|with-api-key\\|login status' >> ${dir}/swaps; done; ` +
                    `while pgrep -f '^docker run' >/dev/null; do sleep 0.01; done; rm -f ${s}/codex; mv -T ${s}/codex.real ${s}/codex; fi; ` +
                    "done",
            ],
            { stdio: "ignore" },
        );
        const errors: string[] = [];
        try {
            // Three runs, each with the Codex login to make again (the login container writes the Codex directory).
            for (let i = 0; i < 3; i++) {
                errors.push(((await upError(t.stack)) ?? "up passed").slice(-300)); // fails when the adversary is caught, passes when it is not
                asRuntimeUser(t.sb, `rm -f ${s}/codex/auth.json ${s}/codex.real/auth.json 2>/dev/null; true`);
            }
        } finally {
            fs.writeFileSync(stop, "");
            await new Promise((r) => (racer.exitCode === null ? racer.once("exit", r) : r(undefined)));
            asRuntimeUser(t.sb, `if [ -L ${s}/codex ]; then rm ${s}/codex; fi; if [ -d ${s}/codex.real ]; then rmdir ${s}/codex 2>/dev/null; mv -T ${s}/codex.real ${s}/codex; fi; true`);
        }
        try {
            // Nothing wrote the root-only Codex directory (codex login writes auth.json, log/, tmp/), nothing read the token.
            expect(onHost(`ls -A ${priv}/codex`).trim()).toBe("VICTIM-MARKER");
            const seen = (await (await fetch(`${t.sb.controlUrl}/_control/requests?since=${since}`)).json()) as Array<{ auth: { tokenSha256: string } | null }>;
            const victimSha = crypto.createHash("sha256").update(victimToken).digest("hex").slice(0, 16);
            expect(seen.length).toBeGreaterThan(0);
            // The adversary did swap while containers ran (which ones, when /proc told it, in the message).
            const swaps = fs.readFileSync(path.join(dir, "swaps"), "utf8");
            expect(swaps.split("\n").filter((l) => l === "swap").length, `${swaps}\n${errors.join("\n")}`).toBeGreaterThan(1);
            expect(seen.filter((r) => r.auth?.tokenSha256 === victimSha)).toEqual([]);
            // No staging directory or mount left behind.
            expect(onHost("ls -A /run | grep -c '^gfh-container\\.' || true").trim()).toBe("0");
            expect(onHost("grep -c gfh-container /proc/self/mountinfo || true").trim()).toBe("0");
            expect(victimState()).toBe(before);
        } finally {
            onHost(`rm -rf ${priv}`);
            fs.rmSync(dir, { recursive: true, force: true });
        }
        // A staged temp file swapped just before its rename becomes the token path: a planted link, refused like any
        // other (the runs above say so) until the runtime user's link is gone.
        if (fs.lstatSync(`${s}/gh-token`, { throwIfNoEntry: false })?.isSymbolicLink()) asRuntimeUser(t.sb, `rm ${s}/gh-token`);
        // Without the adversary the next run converges.
        await upOk(t.stack);
        expect(fs.readFileSync(`${s}/gh-token`, "utf8")).toBe(t.sb.validToken);
    }, 900_000);
});

/**
 * Sets a user's home in /etc/passwd, rewritten in place (usermod refuses while the user has processes, e.g. an
 * SSH session another test left open).
 */
const setHome = (user: string, home: string) =>
    onHost(`awk -F: -v OFS=: -v u=${user} -v h=${home} '$1 == u { $6 = h } { print }' /etc/passwd > /etc/passwd.gfh && cat /etc/passwd.gfh > /etc/passwd && rm /etc/passwd.gfh && getent passwd ${user} | cut -d: -f6`);

describe("the runtime user's home comes from the host", () => {
    const t = sandboxStack("home");
    const movedHome = "/var/lib/gfh-e2e-home";

    it("a missing runtime user fails naming the host and the user, before anything is written", async () => {
        // As root: logged in as `user`, another runtime user would make it a sudo login, refused for want of sudo.
        await setPlain(t.stack, "hosts", rootHost(t.sb));
        await setPlain(t.stack, "runtimeUser", "gfh-nosuchuser");
        try {
            const err = (await upError(t.stack)) ?? "";
            expect(err).toContain("host 'sandbox' (127.0.0.1:2222)");
            expect(err).toMatch(/runtime user 'gfh-nosuchuser' does not exist/);
            expect(fs.existsSync("/home/gfh-nosuchuser")).toBe(false);
            expect(fs.existsSync(`/home/${t.sb.sshUser}/.secrets`)).toBe(false);
            expect(onHost("docker image ls -q github-flows-agent-codex").trim()).toBe("");
        } finally {
            await removeConfig(t.stack, "runtimeUser");
            await configureForSandbox(t.stack, t.sb);
        }
    }, 300_000);

    it("a home under /var/lib: preview on a new host shows the plan there, up puts .secrets there", async () => {
        const user = t.sb.sshUser;
        onHost(`rm -rf ${movedHome} && mkdir -m 750 ${movedHome} && chown ${user}: ${movedHome}`);
        expect(setHome(user, movedHome).trim()).toBe(movedHome);
        try {
            await setSecret(t.stack, "openaiApiKey", "sk-sandbox-home-0001");
            const { steps, text } = await plannedChanges(t.stack);
            expect(stepNames(steps)).toContain("create sandbox-secrets");
            expect(text).toContain(`${movedHome}/.secrets`);
            expect(text).not.toContain(`/home/${user}/.secrets`);
            await upOk(t.stack);
            expect(onHost(`stat -c '%a %U' ${movedHome}/.secrets ${movedHome}/.secrets/gh-token ${movedHome}/.secrets/codex`).trim().split("\n")).toEqual([
                `700 ${user}`,
                `600 ${user}`,
                `700 ${user}`,
            ]);
            expect(fs.readFileSync(`${movedHome}/.secrets/gh-token`, "utf8")).toBe(t.sb.validToken);
            expect(fs.existsSync(`${movedHome}/app/github-flows/var/work/cfg/repos/acme/demo/issue_comment-created/profile.json`)).toBe(true);
            expect(fs.existsSync(`/home/${user}/.secrets`)).toBe(false);
            expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
            await t.stack.destroy({ onOutput: () => undefined });
            expect(fs.existsSync(`${movedHome}/.secrets/gh-token`)).toBe(false);
        } finally {
            setHome(user, `/home/${user}`);
            onHost(`rm -rf ${movedHome}`);
        }
    }, 600_000);
});

describe("pinned host keys of every type", () => {
    const t = sandboxStack("hostkeys");
    afterAll(() => closeConnections());

    it("an ECDSA pin works while the host also has an ed25519 key (ssh2 path)", async () => {
        await setSecret(t.stack, "openaiApiKey", "sk-sandbox-hostkeys-0001");
        await setPlain(t.stack, "hosts", [{ name: "sandbox", address: t.sb.host, port: t.sb.port, user: t.sb.sshUser, hostKey: t.sb.hostKeyEcdsa }]);
        await upOk(t.stack);
        expect(fs.readFileSync(`/home/${t.sb.sshUser}/.secrets/gh-token`, "utf8")).toBe(t.sb.validToken);
    }, 300_000);

    it("lib/ssh connects with an RSA or ECDSA pin and refuses a wrong key of the same type", async () => {
        const key = fs.readFileSync(t.sb.keyFile, "utf8");
        const target = (hostKey: string): SshTarget => ({ host: t.sb.host, port: t.sb.port, user: t.sb.sshUser, hostKey, privateKey: key });
        for (const k of [t.sb.hostKeyRsa, t.sb.hostKeyEcdsa, t.sb.hostKey]) {
            const r = await exec(target(k), "id -un");
            expect(r.stdout.trim(), k.split(" ")[0]).toBe(t.sb.sshUser);
        }
        // Same type, other key: still a mismatch.
        const otherRsa = onHost("d=$(mktemp -d) && ssh-keygen -q -t rsa -b 2048 -N '' -f $d/k && cut -d' ' -f1,2 $d/k.pub && rm -rf $d").trim();
        await expect(exec(target(otherRsa), "id -un")).rejects.toThrow(/host key mismatch/);
    }, 120_000);
});
