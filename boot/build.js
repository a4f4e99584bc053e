// The build behind the two entries, boot/program.js (the stack program, Pulumi.yaml `main` with `typescript: false`;
// package.json's entry is the library in dist/) and boot/provider.js (the provider plugin `github-flows-host`).
//
// Why not ts-node: it transpiles every source file on every preview and up (0.6 s of a 3.5 s no-op preview,
// bench/profile.sh). Here the sources are transpiled once per change, with the same tsconfig.json and the same
// TypeScript, into .build/<hash of the sources>/, and V8's compile cache keeps the compiled code of every module
// loaded from here on. An edited .ts file is picked up by the next run, as with ts-node; like ts-node
// (transpile only), this reports syntax errors, not type errors: `npm run build` type-checks.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const nodeModule = require("node:module");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SOURCES = ["index.ts", "api.ts", "plugin.ts", "components", "providers", "lib"];
/** Builds of other source versions older than this are removed (a running program may still load from one). */
const KEEP_OLD_BUILDS_MS = 24 * 3600 * 1000;

/** This user: a build it loads must be its own (undefined where there are no uids: no check). */
const UID = process.getuid?.();

/**
 * Why this user must not load code from the directory `dir` (undefined: it may). It must be this user's and
 * writable by no one else, and every directory above it this user's or root's and not writable by others unless
 * sticky (as /tmp): otherwise another user could plant a build, or swap one in after the check. `dir` is canonical.
 * One lstat per path component (bench: well under a millisecond).
 */
function distrust(dir) {
    if (UID === undefined) return undefined;
    let st = fs.lstatSync(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (st.uid !== UID) return `${dir} is owned by uid ${st.uid}, not this user (uid ${UID})`;
    if (st.mode & 0o022) return `${dir} is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
    for (let p = path.dirname(dir); ; p = path.dirname(p)) {
        st = fs.lstatSync(p);
        if (st.uid !== UID && st.uid !== 0) return `${p} is owned by uid ${st.uid}, neither this user (uid ${UID}) nor root`;
        if (st.mode & 0o022 && !(st.mode & 0o1000)) return `${p} is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
        if (p === path.dirname(p)) return undefined;
    }
}

/**
 * Where builds go: .build/ in the checkout; for a checkout this user cannot write, the user's cache directory;
 * without either, a private temp directory for this run alone. A place another user could write is passed over
 * (saying why): its build would run as this user.
 */
function buildRoot() {
    const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "github-flows-host", crypto.createHash("sha256").update(ROOT).digest("hex").slice(0, 16));
    for (const dir of [path.join(ROOT, ".build"), cache]) {
        let real;
        try {
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
            fs.accessSync(dir, fs.constants.W_OK);
            real = fs.realpathSync(dir);
        } catch {
            continue; // next place
        }
        const why = distrust(real);
        if (!why) return real;
        process.stderr.write(`github-flows-host: not building in ${dir}: ${why}\n`);
    }
    const tmp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), "github-flows-host-build-"));
    const why = distrust(tmp);
    if (why) throw new Error(`github-flows-host: no place to build the program that only this user can write (${why}); set XDG_CACHE_HOME to a directory of this user's`);
    return tmp;
}

/** Every .ts file of the program, relative to ROOT, sorted. */
function sourceFiles() {
    const out = [];
    const walk = (rel) => {
        const abs = path.join(ROOT, rel);
        if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs).sort()) walk(path.join(rel, e));
        else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) out.push(rel);
    };
    for (const s of SOURCES) if (fs.existsSync(path.join(ROOT, s))) walk(s);
    return out;
}

/**
 * Hash of what a build depends on: the sources, tsconfig.json, this file, the TypeScript version, and the Pulumi
 * SDK's.
 */
function signature(files) {
    const h = crypto.createHash("sha256");
    for (const pkg of ["typescript", "@pulumi/pulumi"]) h.update(require(`${pkg}/package.json`).version).update("\0");
    h.update(fs.readFileSync(__filename)).update("\0");
    for (const f of ["tsconfig.json", ...files]) h.update(f).update("\0").update(fs.readFileSync(path.join(ROOT, f))).update("\0");
    return h.digest("hex").slice(0, 16);
}

/** Transpiles `files` into `out` (atomically: a concurrent run of the same sources may win the rename). */
function build(files, out) {
    const ts = require("typescript");
    const fail = (d) => {
        throw new Error(`github-flows-host: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}${d.file ? ` (${d.file.fileName})` : ""}`);
    };
    const cfg = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: fail });
    const compilerOptions = { ...cfg.options, outDir: undefined, noEmit: false, declaration: false, sourceMap: false, inlineSourceMap: true, inlineSources: true };
    const tmp = `${out}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o755 });
    try {
        for (const f of files) {
            const r = ts.transpileModule(fs.readFileSync(path.join(ROOT, f), "utf8"), { compilerOptions, fileName: path.join(ROOT, f), reportDiagnostics: true });
            const err = (r.diagnostics ?? []).find((d) => d.category === ts.DiagnosticCategory.Error);
            if (err) fail(err);
            const dst = path.join(tmp, f.replace(/\.ts$/, ".js"));
            // Explicit modes: under umask 002 the defaults would leave the build writable by the user's group.
            fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
            fs.writeFileSync(dst, r.outputText, { mode: 0o644 });
        }
        // A build outside the checkout (the cache dir) finds the checkout's packages through this link.
        if (path.dirname(path.dirname(out)) !== ROOT) fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(tmp, "node_modules"));
    } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw e;
    }
    try {
        fs.renameSync(tmp, out);
    } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!fs.existsSync(path.join(out, "index.js"))) throw e;
    }
}

function pruneOldBuilds(BUILD, current) {
    for (const e of fs.readdirSync(BUILD)) {
        const p = path.join(BUILD, e);
        if (e === current) continue;
        try {
            if (Date.now() - fs.statSync(p).mtimeMs > KEEP_OLD_BUILDS_MS) fs.rmSync(p, { recursive: true, force: true });
        } catch {
            // another run removed it first
        }
    }
}

/**
 * Why the build in `out` must not be loaded (undefined: it may): every directory and file of it this user's, none
 * writable by another, no symlink (BUILD itself was checked by buildRoot). One lstat per file of the build.
 */
function distrustBuild(out, files) {
    if (UID === undefined) return undefined;
    const paths = new Set([out]);
    for (const f of files) {
        const js = f.replace(/\.ts$/, ".js");
        for (let d = path.dirname(js); d !== "."; d = path.dirname(d)) paths.add(path.join(out, d));
        paths.add(path.join(out, js));
    }
    for (const p of paths) {
        let st;
        try {
            st = fs.lstatSync(p);
        } catch {
            return `${p} is missing`;
        }
        if (!st.isDirectory() && !st.isFile()) return `${p} is not a regular file`;
        if (st.uid !== UID) return `${p} is owned by uid ${st.uid}, not this user (uid ${UID})`;
        if (st.mode & 0o022) return `${p} is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
    }
    return undefined;
}

/** Builds the sources if this version of them has no trusted build yet, and requires `entry` (e.g. "index.js") from it. */
function load(entry) {
    const BUILD = buildRoot();
    const files = sourceFiles();
    const sig = signature(files);
    const out = path.join(BUILD, sig);
    if (fs.existsSync(out)) {
        const why = distrustBuild(out, files);
        if (why) {
            process.stderr.write(`github-flows-host: not loading the build in ${out}: ${why}; building it again\n`);
            fs.rmSync(out, { recursive: true, force: true });
        }
    }
    if (!fs.existsSync(path.join(out, "index.js"))) {
        build(files, out);
        pruneOldBuilds(BUILD, sig);
        const why = distrustBuild(out, files);
        if (why) throw new Error(`github-flows-host: the build in ${out} cannot be trusted: ${why}`);
    }
    // Before the program and its packages load (@pulumi/pulumi itself is already loaded by Pulumi's runner); kept in
    // the build so that it goes with it.
    nodeModule.enableCompileCache?.(path.join(out, "v8-cache"));
    return require(path.join(out, entry));
}

module.exports = { load };
