import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as nodeModule from "module";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
const run = promisify(execFile);

/**
 * A project beside a copy of boot/program.js: index.ts imports lib/value.ts. Its node_modules holds copies of the
 * files boot/program.js loads (not a link to the checkout's: `nobody` below must read them, and the checkout may sit
 * under a private directory such as /root).
 */
let dir: string;
const exportsOf = () => JSON.parse(execFileSync(process.execPath, ["-e", "console.log(JSON.stringify(require('./boot/program.js')))"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
const builds = () => fs.readdirSync(path.join(dir, ".build"));

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-boot-"));
    fs.mkdirSync(path.join(dir, "boot"));
    for (const f of ["program.js", "build.js", "stackTraces.js"]) fs.copyFileSync(path.join(REPO, "boot", f), path.join(dir, "boot", f));
    fs.copyFileSync(path.join(REPO, "tsconfig.json"), path.join(dir, "tsconfig.json"));
    for (const f of ["typescript/package.json", "typescript/lib/typescript.js", "@pulumi/pulumi/package.json"]) {
        fs.mkdirSync(path.dirname(path.join(dir, "node_modules", f)), { recursive: true });
        fs.copyFileSync(require.resolve(f, { paths: [REPO] }), path.join(dir, "node_modules", f));
    }
    for (const d of ["components", "providers", "lib"]) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, "lib/value.ts"), `export const value: number = 1;\n`);
    fs.writeFileSync(path.join(dir, "index.ts"), `import { value } from "./lib/value";\nexport const out: { value: number } = { value };\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("boot/program.js: the program transpiled once per change", () => {
    it("runs the TypeScript program and exports its outputs", () => {
        expect(exportsOf()).toEqual({ out: { value: 1 } });
        expect(builds()).toHaveLength(1);
        // V8's compile cache, kept in the build (Node.js >= 22.1 has it)
        if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === "function") {
            expect(fs.readdirSync(path.join(dir, ".build", builds()[0], "v8-cache")).length).toBeGreaterThan(0);
        }
    });

    it("reuses the build while the sources are unchanged", () => {
        const [b] = builds();
        fs.writeFileSync(path.join(dir, ".build", b, "lib/value.js"), `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.value = 42;\n`);
        expect(exportsOf()).toEqual({ out: { value: 42 } });
        fs.rmSync(path.join(dir, ".build", b), { recursive: true });
    });

    it("picks up an edited source on the next run", () => {
        expect(exportsOf()).toEqual({ out: { value: 1 } });
        fs.writeFileSync(path.join(dir, "lib/value.ts"), `export const value: number = 2;\n`);
        expect(exportsOf()).toEqual({ out: { value: 2 } });
        expect(builds()).toHaveLength(2); // the older build stays a day: a running program may still load from it
    });

    it("refuses a syntax error, naming the file, and keeps no partial build", () => {
        fs.writeFileSync(path.join(dir, "lib/value.ts"), `export const value: number = ;\n`);
        let err = "";
        try {
            exportsOf();
        } catch (e) {
            err = String((e as { stderr?: string }).stderr);
        }
        expect(err).toMatch(/github-flows-host: Expression expected\. \(.*lib\/value\.ts\)/);
        expect(builds()).toHaveLength(2);
        fs.writeFileSync(path.join(dir, "lib/value.ts"), `export const value: number = 3;\n`);
    });

    it("builds once when runs start together", async () => {
        const outs = await Promise.all(
            [1, 2, 3, 4].map(() => run(process.execPath, ["-e", "console.log(JSON.stringify(require('./boot/program.js')))"], { cwd: dir, encoding: "utf8" })),
        );
        for (const o of outs) expect(JSON.parse(o.stdout)).toEqual({ out: { value: 3 } });
        expect(builds().filter((b) => b.includes(".tmp-"))).toEqual([]);
        expect(builds()).toHaveLength(3);
    });

    it("builds in the user's cache directory when the checkout is not writable", () => {
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-boot-cache-"));
        const probe = [process.execPath, "-e", "console.log(JSON.stringify(require('./boot/program.js')))"];
        // As root (CI) the checkout stays root's and the run drops to nobody; otherwise the checkout is made read-only.
        const asRoot = process.getuid?.() === 0;
        if (asRoot) {
            fs.chownSync(cache, 65534, 65534);
            fs.chmodSync(dir, 0o755);
        } else fs.chmodSync(dir, 0o555);
        try {
            const cmd = asRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...probe] : probe;
            const outText = execFileSync(cmd[0], cmd.slice(1), { cwd: dir, encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: cache, HOME: "/nonexistent" } });
            expect(JSON.parse(outText)).toEqual({ out: { value: 3 } });
            const [hashed] = fs.readdirSync(path.join(cache, "github-flows-host"));
            expect(fs.readdirSync(path.join(cache, "github-flows-host", hashed))).toHaveLength(1);
        } finally {
            fs.chmodSync(dir, 0o755);
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });
});

/**
 * A build another user planted or can change is never loaded: the checkout's .build/<hash>/ (and each file of
 * it) must be this user's and writable by nobody else, every directory above this user's or root's and not
 * writable by others unless sticky. Each case plants a build that writes a canary and exports 666.
 */
describe("boot/program.js: loads only a build nobody else can change", () => {
    const NOBODY = 65534;
    let top: string;
    let template: string | undefined;
    beforeAll(() => {
        if (process.getuid?.() !== 0) throw new Error("run the unit tests as root (they chown files to nobody)");
        top = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-boot-trust-"));
        project(); // the template: built once, copied by every case
    });
    afterAll(() => fs.rmSync(top, { recursive: true, force: true }));

    let n = 0;
    /** A fresh project under `top/<n>/<parents...>/project`, built once (its .build/<hash>/ exists: a copy of the template's). */
    function project(parents: string[] = []) {
        const base = path.join(top, String(n++));
        const p = path.join(base, ...parents, "project");
        fs.mkdirSync(path.dirname(p), { recursive: true });
        if (!template) {
            fs.mkdirSync(path.join(p, "boot"), { recursive: true });
            for (const f of ["program.js", "build.js", "stackTraces.js"]) fs.copyFileSync(path.join(REPO, "boot", f), path.join(p, "boot", f));
            fs.copyFileSync(path.join(REPO, "tsconfig.json"), path.join(p, "tsconfig.json"));
            fs.symlinkSync(path.join(REPO, "node_modules"), path.join(p, "node_modules"));
            for (const d of ["components", "providers", "lib"]) fs.mkdirSync(path.join(p, d));
            fs.writeFileSync(path.join(p, "lib/value.ts"), `export const value: number = 7;\n`);
            // A package import: a build outside the checkout (the cache dir) must still find the checkout's node_modules.
            fs.writeFileSync(path.join(p, "index.ts"), `import { z } from "zod";\nimport { value } from "./lib/value";\nexport const out: { value: number } = { value: z.number().parse(value) };\n`);
        } else fs.cpSync(template, p, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
        const cache = path.join(base, "cache");
        fs.mkdirSync(cache, { mode: 0o700 });
        const canary = path.join(base, "CANARY");
        const load = (env: Record<string, string> = {}, shell = "") => {
            const r = spawnSync("sh", ["-c", `${shell}exec "$0" -e 'console.log(JSON.stringify(require("./boot/program.js")))'`, process.execPath], {
                cwd: p,
                encoding: "utf8",
                env: { ...process.env, XDG_CACHE_HOME: cache, ...env },
            });
            return { status: r.status, exports: r.status === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
        };
        if (!template) {
            const first = load();
            expect(first.exports, first.stderr).toEqual({ out: { value: 7 } });
            template = p;
        }
        const [hash] = fs.readdirSync(path.join(p, ".build"));
        const build = path.join(p, ".build", hash);
        /** Replaces a file of the build with one that writes the canary and exports 666. */
        const plant = (rel: string) => {
            const f = path.join(build, rel);
            fs.rmSync(f, { force: true });
            fs.writeFileSync(f, `require("fs").writeFileSync(${JSON.stringify(canary)}, "pwned"); exports.value = 666; exports.out = { value: 666 };\n`, { mode: 0o644 });
            return f;
        };
        return { base, p, build, hash, cache, canary, load, plant };
    }

    /** The planted code did not run and the real program's outputs came out. */
    function expectNotLoaded(x: ReturnType<typeof project>, r: ReturnType<ReturnType<typeof project>["load"]>, message: RegExp) {
        expect(r.status, r.stderr).toBe(0);
        expect(r.exports).toEqual({ out: { value: 7 } });
        expect(fs.existsSync(x.canary)).toBe(false);
        expect(r.stderr).toMatch(message);
    }

    const planted: Array<[string, (x: ReturnType<typeof project>) => void, RegExp]> = [
        ["index.js owned by another user", (x) => fs.chownSync(x.plant("index.js"), NOBODY, NOBODY), /not loading the build in .*: .*index\.js is owned by uid 65534/],
        ["index.js writable by its group", (x) => fs.chmodSync(x.plant("index.js"), 0o664), /index\.js is writable by its group \(mode 664\)/],
        ["index.js writable by others", (x) => fs.chmodSync(x.plant("index.js"), 0o646), /index\.js is writable by others/],
        ["another module of the build (lib/value.js) owned by another user", (x) => fs.chownSync(x.plant("lib/value.js"), NOBODY, NOBODY), /lib\/value\.js is owned by uid 65534/],
        [
            "index.js a symlink to a file elsewhere",
            (x) => {
                const evil = path.join(x.base, "evil.js");
                fs.renameSync(x.plant("index.js"), evil);
                fs.symlinkSync(evil, path.join(x.build, "index.js"));
            },
            /index\.js is not a regular file/,
        ],
        ["the build's directory owned by another user", (x) => (x.plant("index.js"), fs.chownSync(x.build, NOBODY, NOBODY)), /\.build\/[0-9a-f]+ is owned by uid 65534/],
        ["a directory of the build writable by others", (x) => (x.plant("lib/value.js"), fs.chmodSync(path.join(x.build, "lib"), 0o777)), /lib is writable by others/],
    ];
    it.each(planted)("a planted build: %s, is built again, not loaded", (_what, plantIt, message) => {
        const x = project();
        plantIt(x);
        expectNotLoaded(x, x.load(), message);
        // Rebuilt in place, this user's: the next run loads it without a word.
        expect(fs.statSync(path.join(x.build, "index.js")).uid).toBe(0);
        const again = x.load();
        expect([again.exports, again.stderr]).toEqual([{ out: { value: 7 } }, ""]);
    });

    const places: Array<[string, string[], (x: ReturnType<typeof project>) => void, RegExp]> = [
        ["the checkout's .build owned by another user", [], (x) => (x.plant("index.js"), execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, path.join(x.p, ".build")])), /not building in .*\.build: .*\.build is owned by uid 65534/],
        ["the checkout's .build writable by others", [], (x) => (x.plant("index.js"), fs.chmodSync(path.join(x.p, ".build"), 0o777)), /\.build is writable by others \(mode 777\)/],
        ["the checkout's .build sticky and writable by others", [], (x) => (x.plant("index.js"), fs.chmodSync(path.join(x.p, ".build"), 0o1777)), /\.build is writable by others \(mode 1777\)/],
        ["the checkout owned by another user", [], (x) => (x.plant("index.js"), fs.chownSync(x.p, NOBODY, NOBODY)), /project is owned by uid 65534, neither this user \(uid 0\) nor root/],
        ["a directory above the checkout writable by its group", ["shared"], (x) => (x.plant("index.js"), fs.chmodSync(path.dirname(x.p), 0o775)), /shared is writable by its group \(mode 775\)/],
        ["a directory two above the checkout owned by another user", ["alice", "src"], (x) => (x.plant("index.js"), fs.chownSync(path.join(x.base, "alice"), NOBODY, NOBODY)), /alice is owned by uid 65534/],
    ];
    it.each(places)("%s: the build goes to the user's cache directory instead, the planted one is not loaded", (_what, parents, plantIt, message) => {
        const x = project(parents);
        plantIt(x);
        const r = x.load();
        expectNotLoaded(x, r, message);
        expect(fs.readdirSync(path.join(x.cache, "github-flows-host"))).toHaveLength(1);
    });

    it("accepts a sticky directory writable by others above the checkout (as /tmp): the checkout's build is reused, silently", () => {
        const x = project(["sticky"]);
        fs.chmodSync(path.dirname(x.p), 0o1777);
        const mtime = fs.statSync(path.join(x.build, "index.js")).mtimeMs;
        const r = x.load();
        expect([r.exports, r.stderr]).toEqual([{ out: { value: 7 } }, ""]);
        expect(fs.statSync(path.join(x.build, "index.js")).mtimeMs).toBe(mtime);
        expect(fs.existsSync(path.join(x.cache, "github-flows-host"))).toBe(false);
    });

    it("with the checkout's .build and the cache directory both another user's, builds in a private temp dir and loads neither", () => {
        const x = project();
        x.plant("index.js");
        execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, path.join(x.p, ".build"), x.cache]);
        const tmp = path.join(x.base, "tmp");
        fs.mkdirSync(tmp, { mode: 0o700 });
        const r = x.load({ TMPDIR: tmp });
        expectNotLoaded(x, r, /not building in .*cache\/github-flows-host\/[0-9a-f]+: .*owned by uid 65534/);
        expect(fs.readdirSync(tmp).filter((d) => d.startsWith("github-flows-host-build-"))).toHaveLength(1);
    });

    it("under umask 002 the build is still writable by this user alone, so the next run reuses it", () => {
        const x = project();
        fs.rmSync(path.join(x.p, ".build"), { recursive: true });
        const r = x.load({}, "umask 002; ");
        expect([r.exports, r.stderr]).toEqual([{ out: { value: 7 } }, ""]);
        const [hash] = fs.readdirSync(path.join(x.p, ".build"));
        for (const f of ["index.js", "lib/value.js", "lib"]) expect((fs.statSync(path.join(x.p, ".build", hash, f)).mode & 0o022).toString(8)).toBe("0");
        const again = x.load({}, "umask 002; ");
        expect([again.exports, again.stderr]).toEqual([{ out: { value: 7 } }, ""]);
    });
});
