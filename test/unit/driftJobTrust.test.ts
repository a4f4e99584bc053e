import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * scripts/install-drift-job.sh as root against real files: the job runs as root every hour, so every path whose
 * content it runs or loads (the checkout and its node_modules and .build, the pulumi bin dir, node, the language
 * host, PULUMI_HOME, the passphrase and password files) and every directory above each must be root's alone.
 * Each case plants one thing another user (nobody) owns or can write, and expects a refusal naming it, nothing
 * written. Needs root (chown), as the unit suite does (CONTRIBUTING: Tests).
 */
const REPO = path.resolve(__dirname, "../..");
const INSTALLER = path.join(REPO, "scripts/install-drift-job.sh");
const UNITS = path.join(REPO, "deploy/systemd");
const NOBODY = 65534;

let top: string;
beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("run the unit tests as root (they chown files to nobody)");
    top = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-drift-trust-"));
});
afterAll(() => fs.rmSync(top, { recursive: true, force: true }));

/** A machine's worth of root-owned paths for one install: checkout, bin dir, Pulumi home, secrets, env file. */
interface World {
    base: string;
    project: string;
    bin: string;
    home: string;
    passphrase: string;
    pgpass: string;
    envFile: string;
    root: string;
    /** Extra env file lines. */
    envLines: string[];
    /** --project as given (default: project). */
    projectArg?: string;
}

let n = 0;
function world(): World {
    const base = path.join(top, `w${n++}`);
    const project = path.join(base, "srv/github-flows-host");
    const w: World = {
        base,
        project,
        bin: path.join(base, "opt/pulumi/bin"),
        home: path.join(base, "root/.pulumi"),
        passphrase: path.join(base, "etc/passphrase"),
        pgpass: path.join(base, "etc/pgpass"),
        envFile: path.join(base, "etc/drift.env"),
        root: path.join(base, "install-root"),
        envLines: [],
    };
    const file = (p: string, text: string, mode = 0o644) => {
        fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
        fs.writeFileSync(p, text, { mode });
    };
    file(path.join(project, "Pulumi.yaml"), "name: github-flows-host\n");
    file(path.join(project, "scripts/drift-check.sh"), "#!/bin/bash\n", 0o755);
    file(path.join(project, "lib/config.ts"), "export {};\n");
    file(path.join(project, "node_modules/@pulumi/pulumi/index.js"), "module.exports = {};\n");
    file(path.join(project, ".build/0123456789abcdef/index.js"), "module.exports = {};\n");
    for (const f of ["pulumi", "pulumi-language-nodejs", "node"]) file(path.join(w.bin, f), "#!/bin/sh\nexit 0\n", 0o755);
    file(path.join(w.home, "plugins/resource-command-v1.2.1/pulumi-resource-command"), "#!/bin/sh\n", 0o755);
    file(w.passphrase, "passphrase\n", 0o600);
    file(w.pgpass, "db:5432:gfh_state:gfh:pw\n", 0o600);
    return w;
}

function install(w: World, extraEnv: string[] = w.envLines) {
    fs.mkdirSync(path.dirname(w.envFile), { recursive: true });
    fs.writeFileSync(
        w.envFile,
        [
            "PULUMI_BACKEND_URL=postgres://gfh@db.example:5432/gfh_state?sslmode=verify-full",
            `PGPASSFILE=${w.pgpass}`,
            `PULUMI_CONFIG_PASSPHRASE_FILE=${w.passphrase}`,
            `PULUMI_HOME=${w.home}`,
            ...extraEnv,
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    fs.chmodSync(w.envFile, 0o600);
    return spawnSync("bash", [INSTALLER, "--stack", "prod", "--env-file", w.envFile, "--project", w.projectArg ?? w.project, "--pulumi-bin", w.bin, "--root", w.root], {
        encoding: "utf8",
    });
}

function expectRefused(w: World, r: ReturnType<typeof install>, message: RegExp) {
    expect(r.status, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(w.root), "nothing is written").toBe(false);
}

/** A directory owned by nobody (mode 0755) at `p`, made now. */
const nobodyDir = (p: string) => {
    fs.mkdirSync(p, { recursive: true });
    fs.chownSync(p, NOBODY, NOBODY);
    return p;
};

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("install-drift-job.sh: root runs nothing another user can change", () => {
    it("installs a world that is root's alone, recording the canonical project dir and the bin dir first on PATH", () => {
        const w = world();
        const r = install(w);
        expect(r.status, r.stderr).toBe(0);
        const env = fs.readFileSync(path.join(w.root, "etc/github-flows-host/drift/prod.env"), "utf8");
        expect(env).toMatch(new RegExp(`^GFH_PROJECT_DIR=${esc(w.project)}$`, "m"));
        expect(env).toMatch(new RegExp(`^PATH=${esc(w.bin)}:/usr/local/sbin:`, "m"));
    });

    it("accepts a sticky directory writable by others above the checkout (as /tmp), and a symlinked node_modules that is root's", () => {
        const w = world();
        const shared = path.join(w.base, "shared");
        fs.mkdirSync(shared);
        fs.chmodSync(shared, 0o1777);
        fs.renameSync(w.project, path.join(shared, "gfh"));
        w.project = path.join(shared, "gfh");
        const modules = path.join(w.base, "usr/lib/gfh-node_modules");
        fs.mkdirSync(path.dirname(modules), { recursive: true });
        fs.renameSync(path.join(w.project, "node_modules"), modules);
        fs.symlinkSync(modules, path.join(w.project, "node_modules"));
        const r = install(w);
        expect(r.status, r.stderr).toBe(0);
    });

    it("records the checkout's real path, not a symlink to it that another user could repoint", () => {
        const w = world();
        const alice = nobodyDir(path.join(w.base, "home/alice"));
        fs.symlinkSync(w.project, path.join(alice, "gfh"));
        w.projectArg = path.join(alice, "gfh");
        const r = install(w);
        expect(r.status, r.stderr).toBe(0);
        const env = fs.readFileSync(path.join(w.root, "etc/github-flows-host/drift/prod.env"), "utf8");
        expect(env).toMatch(new RegExp(`^GFH_PROJECT_DIR=${esc(w.project)}$`, "m"));
        expect(env).not.toContain(alice);
    });

    // [what, plant it (returns the path the refusal must name), the option named, the reason]
    const cases: Array<[string, (w: World) => string, string, RegExp]> = [
        ["the checkout owned by another user", (w) => (fs.chownSync(w.project, NOBODY, NOBODY), w.project), "--project", /owned by nobody \(uid 65534\), not root/],
        ["the checkout writable by its group", (w) => (fs.chmodSync(w.project, 0o775), w.project), "--project", /writable by its group \(mode 775\)/],
        ["a source file writable by others", (w) => (fs.chmodSync(path.join(w.project, "lib/config.ts"), 0o646), path.join(w.project, "lib/config.ts")), "--project", /writable by others \(mode 646\)/],
        ["the drift script owned by another user", (w) => (fs.chownSync(path.join(w.project, "scripts/drift-check.sh"), NOBODY, 0), path.join(w.project, "scripts/drift-check.sh")), "--project", /owned by nobody/],
        ["a package in node_modules owned by another user", (w) => (fs.chownSync(path.join(w.project, "node_modules/@pulumi/pulumi/index.js"), NOBODY, NOBODY), path.join(w.project, "node_modules/@pulumi/pulumi/index.js")), "--project", /owned by nobody/],
        ["node_modules writable by its group", (w) => (fs.chmodSync(path.join(w.project, "node_modules"), 0o775), path.join(w.project, "node_modules")), "--project", /writable by its group/],
        ["a planted .build/<hash>/index.js owned by another user", (w) => (fs.chownSync(path.join(w.project, ".build/0123456789abcdef/index.js"), NOBODY, NOBODY), path.join(w.project, ".build/0123456789abcdef/index.js")), "--project", /owned by nobody/],
        ["a .build dir writable by others", (w) => (fs.chmodSync(path.join(w.project, ".build"), 0o777), path.join(w.project, ".build")), "--project", /writable by others \(mode 777\)/],
        ["a sticky .build dir writable by others (no sticky exception inside the checkout)", (w) => (fs.chmodSync(path.join(w.project, ".build"), 0o1777), path.join(w.project, ".build")), "--project", /writable by others \(mode 1777\)/],
        ["a file in the checkout another user may write through an ACL", (w) => (execFileSync("setfacl", ["-m", "u:nobody:rw", path.join(w.project, "lib/config.ts")]), path.join(w.project, "lib/config.ts")), "--project", /writable by its group/],
        [
            "a directory above the checkout owned by another user",
            (w) => {
                const alice = nobodyDir(path.join(w.base, "home/alice"));
                fs.renameSync(w.project, path.join(alice, "gfh"));
                w.project = path.join(alice, "gfh");
                return alice;
            },
            "--project",
            /owned by nobody/,
        ],
        [
            "a directory above the checkout writable by others, not sticky",
            (w) => {
                const shared = path.join(w.base, "shared");
                fs.mkdirSync(shared);
                fs.chmodSync(shared, 0o777);
                fs.renameSync(w.project, path.join(shared, "gfh"));
                w.project = path.join(shared, "gfh");
                return shared;
            },
            "--project",
            /writable by others \(mode 777\)/,
        ],
        ["a directory two levels above the checkout writable by its group", (w) => (fs.chmodSync(w.base, 0o775), w.base), "--project", /writable by its group \(mode 775\)/],
        [
            "node_modules a symlink to another user's directory",
            (w) => {
                const theirs = nobodyDir(path.join(w.base, "home/alice/node_modules"));
                fs.rmSync(path.join(w.project, "node_modules"), { recursive: true });
                fs.symlinkSync(theirs, path.join(w.project, "node_modules"));
                return theirs;
            },
            "--project",
            /owned by nobody/,
        ],
        [
            "node_modules a symlink to root's directory under another user's",
            (w) => {
                const alice = nobodyDir(path.join(w.base, "home/alice"));
                fs.renameSync(path.join(w.project, "node_modules"), path.join(alice, "node_modules"));
                fs.symlinkSync(path.join(alice, "node_modules"), path.join(w.project, "node_modules"));
                return alice;
            },
            "--project",
            /owned by nobody/,
        ],
        ["the pulumi bin dir owned by another user", (w) => (fs.chownSync(w.bin, NOBODY, NOBODY), w.bin), "--pulumi-bin", /owned by nobody/],
        ["the pulumi bin dir writable by its group", (w) => (fs.chmodSync(w.bin, 0o775), w.bin), "--pulumi-bin", /writable by its group/],
        ["a directory above the pulumi bin dir owned by another user (~alice/.pulumi/bin)", (w) => (fs.chownSync(path.dirname(w.bin), NOBODY, NOBODY), path.dirname(w.bin)), "--pulumi-bin", /owned by nobody/],
        ["the pulumi binary owned by another user", (w) => (fs.chownSync(path.join(w.bin, "pulumi"), NOBODY, NOBODY), path.join(w.bin, "pulumi")), "--pulumi-bin", /owned by nobody/],
        [
            "the pulumi binary a symlink into another user's directory",
            (w) => {
                const theirs = nobodyDir(path.join(w.base, "home/alice/bin"));
                fs.renameSync(path.join(w.bin, "pulumi"), path.join(theirs, "pulumi"));
                fs.symlinkSync(path.join(theirs, "pulumi"), path.join(w.bin, "pulumi"));
                return theirs;
            },
            "--pulumi-bin",
            /owned by nobody/,
        ],
        ["another user's program beside pulumi (it shadows the system's on the job's PATH)", (w) => (fs.writeFileSync(path.join(w.bin, "ssh"), "#!/bin/sh\n", { mode: 0o755 }), fs.chownSync(path.join(w.bin, "ssh"), NOBODY, NOBODY), path.join(w.bin, "ssh")), "--pulumi-bin", /owned by nobody/],
        ["node owned by another user", (w) => (fs.chownSync(path.join(w.bin, "node"), NOBODY, NOBODY), path.join(w.bin, "node")), "--pulumi-bin", /owned by nobody/],
        ["the language host writable by others", (w) => (fs.chmodSync(path.join(w.bin, "pulumi-language-nodejs"), 0o757), path.join(w.bin, "pulumi-language-nodejs")), "--pulumi-bin", /writable by others/],
        ["a plugin in PULUMI_HOME owned by another user", (w) => (fs.chownSync(path.join(w.home, "plugins/resource-command-v1.2.1/pulumi-resource-command"), NOBODY, NOBODY), path.join(w.home, "plugins/resource-command-v1.2.1/pulumi-resource-command")), "PULUMI_HOME", /owned by nobody/],
        ["the plugins dir writable by others", (w) => (fs.chmodSync(path.join(w.home, "plugins"), 0o777), path.join(w.home, "plugins")), "PULUMI_HOME", /writable by others/],
        ["PULUMI_HOME under another user's home", (w) => (fs.chownSync(path.dirname(w.home), NOBODY, NOBODY), path.dirname(w.home)), "PULUMI_HOME", /owned by nobody/],
        [
            "a missing PULUMI_HOME in a directory others can write, sticky or not (they could create it)",
            (w) => {
                fs.rmSync(w.home, { recursive: true });
                fs.chmodSync(path.dirname(w.home), 0o1777);
                return path.dirname(w.home);
            },
            "PULUMI_HOME",
            /writable by others \(mode 1777\)/,
        ],
        ["the passphrase file owned by another user", (w) => (fs.chownSync(w.passphrase, NOBODY, NOBODY), w.passphrase), "PULUMI_CONFIG_PASSPHRASE_FILE", /owned by nobody/],
        ["the passphrase file readable by its group", (w) => (fs.chmodSync(w.passphrase, 0o640), w.passphrase), "PULUMI_CONFIG_PASSPHRASE_FILE", /mode 640: group and others can read it/],
        [
            "the passphrase file in another user's directory",
            (w) => {
                const alice = nobodyDir(path.join(w.base, "home/alice"));
                fs.renameSync(w.passphrase, path.join(alice, "passphrase"));
                w.passphrase = path.join(alice, "passphrase");
                return alice;
            },
            "PULUMI_CONFIG_PASSPHRASE_FILE",
            /owned by nobody/,
        ],
        ["a missing passphrase file", (w) => (fs.rmSync(w.passphrase), w.passphrase), "PULUMI_CONFIG_PASSPHRASE_FILE", /does not exist/],
        ["the libpq password file owned by another user", (w) => (fs.chownSync(w.pgpass, NOBODY, NOBODY), w.pgpass), "PGPASSFILE", /owned by nobody/],
    ];
    it.each(cases)("refuses %s, naming it, writing nothing", (_what, plant, option, reason) => {
        const w = world();
        const named = plant(w);
        const r = install(w);
        expectRefused(w, r, new RegExp(`${esc(option)}.*: ${esc(named)} `));
        expect(r.stderr).toMatch(reason);
    });

    it.each(["NODE_OPTIONS=--require /home/alice/x.js", "NODE_PATH=/home/alice", "LD_PRELOAD=/home/alice/x.so", "LD_LIBRARY_PATH=/home/alice", "BASH_ENV=/home/alice/rc", "PATH=/home/alice/bin:/usr/bin", "GFH_PROJECT_DIR=/home/alice/gfh", "XDG_CACHE_HOME=/home/alice/.cache", "HOME=/home/alice", "TMPDIR=/home/alice/tmp", "NODE_COMPILE_CACHE=/home/alice/v8", "TS_NODE_COMPILER=/home/alice/tsc.js"])(
        "refuses an env file that sets %s (code from elsewhere, or the installer's own keys)",
        (line) => {
            const w = world();
            const r = install(w, [line]);
            expectRefused(w, r, new RegExp(`sets ${line.split("=")[0]}; remove it`));
        },
    );
});

describe("install-drift-job.sh: no password in the backend URL, in any spelling, never echoed", () => {
    const refused = [
        "postgres://gfh:hunter2@db:5432/s",
        "POSTGRES://gfh:hunter2@db:5432/s",
        "postgres://:hunter2@db/s",
        "postgres://gfh:hunter2@db",
        "postgres://gfh@db/s?password=hunter2",
        "postgres://gfh@db/s?PASSWORD=hunter2",
        "postgres://gfh@db/s?Password=hunter2",
        "postgres://gfh@db/s?sslmode=verify-full&password=hunter2",
        "postgres://gfh@db/s?sslmode=disable&PassWord=hunter2&table=t",
        "postgres://gfh@db/s?pass%77ord=hunter2",
        "postgres://gfh@db/s?%70%61%73%73%77%6F%72%64=hunter2",
        "postgres://gfh@db/s?PASS%57ORD=hunter2",
        "postgres://gfh@db/s?sslpassword=hunter2",
        "postgres://gfh@db/s?a=1&&password=hunter2#x",
        "postgres://gfh@db/s?password",
        '"postgres://gfh@db/s?password=hunter2"',
        "'postgres://gfh@db/s?sslmode=disable&password=hunter2'",
    ];
    it.each(refused)("refuses PULUMI_BACKEND_URL=%s", (url) => {
        const w = world();
        fs.mkdirSync(path.dirname(w.envFile), { recursive: true });
        const r = install(w, [`PULUMI_BACKEND_URL=${url}`]);
        expectRefused(w, r, /PULUMI_BACKEND_URL holds a password \((user:password@|the query key '(ssl)?password')\); put it in a libpq password file/);
        expect(`${r.stdout}${r.stderr}`).not.toContain("hunter2");
    });

    it("refuses a password in an earlier PULUMI_BACKEND_URL line that a later one overrides (the file is copied whole)", () => {
        const w = world();
        const r = install(w, ["PULUMI_BACKEND_URL=postgres://gfh@db/s?password=hunter2", "PULUMI_BACKEND_URL=postgres://gfh@db/s?sslmode=disable"]);
        expectRefused(w, r, /the query key 'password'/);
        expect(r.stderr).not.toContain("hunter2");
    });

    it.each([
        "postgres://gfh@db.example:5432/gfh_state?sslmode=verify-full&sslrootcert=/etc/ssl/certs/db-ca.pem",
        "postgres://gfh@db/s?passfile=/root/.pgpass&table=state",
        "postgres://gfh@db/s?passwordless=1",
        "postgres://gfh@db:5432/s",
        "s3://bucket/prefix?region=eu-central-1",
    ])("accepts PULUMI_BACKEND_URL=%s", (url) => {
        const w = world();
        const r = install(w, [`PULUMI_BACKEND_URL=${url}`]);
        expect(r.status, r.stderr).toBe(0);
    });
});

describe("the drift unit's sandbox", () => {
    const unit = () => fs.readFileSync(path.join(UNITS, "github-flows-drift@.service"), "utf8");

    it("is read-only but for its cache, without capabilities or privilege gain", () => {
        const svc = unit();
        for (const line of [
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=",
            "AmbientCapabilities=",
            "RestrictSUIDSGID=yes",
            "RestrictNamespaces=yes",
            "CacheDirectory=github-flows-drift",
            "UMask=0077",
            "SystemCallFilter=@system-service",
        ]) {
            expect(svc).toMatch(new RegExp(`^${esc(line)}$`, "m"));
        }
        // Writable: its cache (CacheDirectory=) and the program's ssh-agent socket dir in root's home, nothing else.
        expect([...svc.matchAll(/^ReadWritePaths=(.*)$/gm)].map((m) => m[1])).toEqual(["-/root/.github-flows-host"]);
    });

    it("systemd-analyze security rates it OK (exposure at most 3.0 of 10; the unit as it was rated 8.2)", () => {
        const r = spawnSync("systemd-analyze", ["security", "--offline=yes", "--threshold=30", "--no-pager", path.join(UNITS, "github-flows-drift@.service")], { encoding: "utf8" });
        if (r.error) throw new Error(`systemd-analyze is needed (apt-get install systemd): ${r.error.message}`);
        expect(r.status, r.stdout).toBe(0);
        const level = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
        expect(level, r.stdout).not.toBeNull();
        expect(Number(level![1])).toBeLessThanOrEqual(3.0);
    });

    it("drift-check.sh builds the program in the unit's cache directory when systemd gives one (the checkout is read-only there)", () => {
        const fake = fs.mkdtempSync(path.join(top, "fake-"));
        fs.writeFileSync(path.join(fake, "pulumi"), `#!/bin/sh\necho "$XDG_CACHE_HOME" > '${fake}/seen'\necho '{}'\n`, { mode: 0o755 });
        const run = (env: Record<string, string>) =>
            spawnSync("bash", [path.join(REPO, "scripts/drift-check.sh"), "--stack", "s", "--cwd", REPO], { encoding: "utf8", env: { ...process.env, PATH: `${fake}:${process.env.PATH}`, ...env } });
        run({ CACHE_DIRECTORY: "/var/cache/github-flows-drift", XDG_CACHE_HOME: "/elsewhere" });
        expect(fs.readFileSync(path.join(fake, "seen"), "utf8")).toBe("/var/cache/github-flows-drift\n");
        run({ CACHE_DIRECTORY: "", XDG_CACHE_HOME: "/elsewhere" });
        expect(fs.readFileSync(path.join(fake, "seen"), "utf8")).toBe("/elsewhere\n");
    });
});

describe("drift-check.sh as root checks again, on every run, what it is about to run", () => {
    it("a checkout, pulumi or plugin another user can change since the install: exit 2, pulumi not run", () => {
        const w = world();
        const ran = path.join(w.base, "pulumi-ran");
        fs.writeFileSync(path.join(w.bin, "pulumi"), `#!/bin/sh\ntouch '${ran}'\necho '{}'\n`, { mode: 0o755 });
        const run = () =>
            spawnSync("bash", [path.join(REPO, "scripts/drift-check.sh"), "--stack", "s", "--cwd", w.project], {
                encoding: "utf8",
                env: { ...process.env, PATH: `${w.bin}:${process.env.PATH}`, PULUMI_HOME: w.home },
            });
        // Root's alone: it runs (the fake pulumi prints no report: exit 2, but it ran).
        expect(run().stderr).not.toContain("not run");
        expect(fs.existsSync(ran)).toBe(true);
        fs.rmSync(ran);
        for (const [plant, undo, named] of [
            [() => fs.chownSync(path.join(w.project, "lib/config.ts"), NOBODY, NOBODY), () => fs.chownSync(path.join(w.project, "lib/config.ts"), 0, 0), path.join(w.project, "lib/config.ts")],
            [() => fs.chmodSync(w.bin, 0o777), () => fs.chmodSync(w.bin, 0o755), w.bin],
            [() => fs.chownSync(path.join(w.home, "plugins"), NOBODY, NOBODY), () => fs.chownSync(path.join(w.home, "plugins"), 0, 0), path.join(w.home, "plugins")],
        ] as Array<[() => void, () => void, string]>) {
            plant();
            const r = run();
            undo();
            expect(r.status).toBe(2);
            expect(r.stderr).toMatch(new RegExp(`drift-check: not run: .*: ${esc(named)} (is owned by nobody|is writable by others)`));
            expect(fs.existsSync(ran)).toBe(false);
        }
    });
});
