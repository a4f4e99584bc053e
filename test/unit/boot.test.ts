import { execFile, execFileSync } from "child_process";
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
    fs.copyFileSync(path.join(REPO, "boot/program.js"), path.join(dir, "boot/program.js"));
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
