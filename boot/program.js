// The stack program's entry point (Pulumi.yaml `main`, with `typescript: false`; package.json's entry is the library in dist/).
//
// Why not ts-node: it transpiles every source file on every preview and up (0.6 s of a 3.5 s no-op preview,
// bench/profile.sh). Here the sources are transpiled once per change, with the same tsconfig.json and the same
// TypeScript, into .build/<hash of the sources>/, and V8's compile cache keeps the compiled code of every module
// loaded from here on; providers/dynamicResource.ts keeps the dynamic providers' serialized code in the build. An edited .ts file is picked up by the next run, as with ts-node; like ts-node
// (transpile only), this reports syntax errors, not type errors: `npm run build` type-checks.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const nodeModule = require("node:module");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SOURCES = ["index.ts", "api.ts", "components", "providers", "lib"];
/** Builds of other source versions older than this are removed (a running program may still load from one). */
const KEEP_OLD_BUILDS_MS = 24 * 3600 * 1000;

/**
 * Where builds go: .build/ in the checkout; for a checkout this user cannot write, the user's cache directory;
 * without either, a private temp directory for this run alone.
 */
function buildRoot() {
    const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "github-flows-host", crypto.createHash("sha256").update(ROOT).digest("hex").slice(0, 16));
    for (const dir of [path.join(ROOT, ".build"), cache]) {
        try {
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
            fs.accessSync(dir, fs.constants.W_OK);
            return dir;
        } catch {
            // next place
        }
    }
    return fs.mkdtempSync(path.join(os.tmpdir(), "github-flows-host-build-"));
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
 * SDK's (providers/dynamicResource.ts keeps the providers' serialized code in the build).
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
    try {
        for (const f of files) {
            const r = ts.transpileModule(fs.readFileSync(path.join(ROOT, f), "utf8"), { compilerOptions, fileName: path.join(ROOT, f), reportDiagnostics: true });
            const err = (r.diagnostics ?? []).find((d) => d.category === ts.DiagnosticCategory.Error);
            if (err) fail(err);
            const dst = path.join(tmp, f.replace(/\.ts$/, ".js"));
            fs.mkdirSync(path.dirname(dst), { recursive: true });
            fs.writeFileSync(dst, r.outputText);
        }
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

function pruneOldBuilds(current) {
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

const BUILD = buildRoot();
const files = sourceFiles();
const sig = signature(files);
const out = path.join(BUILD, sig);
if (!fs.existsSync(path.join(out, "index.js"))) {
    build(files, out);
    pruneOldBuilds(sig);
}
// Before the program and its packages load (@pulumi/pulumi itself is already loaded by Pulumi's runner); kept in
// the build so that it goes with it.
nodeModule.enableCompileCache?.(path.join(out, "v8-cache"));
// providers/dynamicResource.ts keeps the providers' serialized code here.
globalThis[Symbol.for("github-flows-host.build")] = out;
module.exports = require(path.join(out, "index.js"));
