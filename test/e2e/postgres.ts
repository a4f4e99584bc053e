import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import type { Backend } from "./harness";
import { REPO } from "./harness";

/** What `scripts/postgres.sh env` prints: the private PostgreSQL holding shared state. */
export interface Postgres {
    /** Backend URL without a password (`postgres://role@127.0.0.1:port/db?sslmode=disable`). */
    url: string;
    /** libpq password file (0600) the pulumi processes read through PGPASSFILE. */
    passfile: string;
    database: string;
    /** The same as a harness `Backend`. */
    backend: Backend;
}

const script = path.join(REPO, "scripts/postgres.sh");

/** Reads the server's description; a server that is not up fails the suite loudly instead of skipping it. */
export function postgres(): Postgres {
    let text: string;
    try {
        text = execFileSync("bash", [script, "env"], { encoding: "utf8" });
        execFileSync("bash", [script, "status"], { stdio: "ignore" });
    } catch (e) {
        throw new Error(`PostgreSQL is not running: run 'bash scripts/postgres.sh up' as root first (${(e as Error).message})`);
    }
    const env: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^(GFH_PG_[A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) env[m[1]] = m[2];
    }
    const need = (k: string) => {
        if (!env[k]) throw new Error(`postgres env lacks ${k}`);
        return env[k];
    };
    const url = need("GFH_PG_BACKEND_URL");
    const passfile = need("GFH_PG_PASSFILE");
    return { url, passfile, database: need("GFH_PG_DATABASE"), backend: { url, env: { PGPASSFILE: passfile } } };
}

/** Runs SQL as the state role and returns the rows, one per line, fields split by `|`. */
export function pgSql(sql: string): string[] {
    return execFileSync("bash", [script, "psql", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8", maxBuffer: 512 << 20 })
        .split("\n")
        .filter((l) => l !== "");
}

/** Keys of the state table (`pulumi_state`, the backend's default) matching a LIKE pattern. */
export function stateKeys(like: string): string[] {
    return pgSql(`SELECT key FROM pulumi_state WHERE key LIKE '${like.replace(/'/g, "''")}' ORDER BY key`);
}

/**
 * Writes into `dir` a `pg_dump` of the state database and, because the backend stores every blob base64-encoded
 * (gzip too when PULUMI_DIY_BACKEND_GZIP is set), each row decoded: a plaintext search must read those.
 */
export function dumpState(dir: string): { dump: string; decoded: string[] } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const dump = path.join(dir, "pg_dump.sql");
    fs.writeFileSync(dump, execFileSync("bash", [script, "dump"], { maxBuffer: 256 << 20 }), { mode: 0o600 });
    const decoded: string[] = [];
    for (const line of pgSql("SELECT key || '|' || (data->>'data') FROM pulumi_state ORDER BY key")) {
        const [key, b64] = line.split("|");
        let bytes = Buffer.from(b64 ?? "", "base64");
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
        const file = path.join(dir, "rows", key.replace(/[^A-Za-z0-9._-]+/g, "_"));
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, bytes, { mode: 0o600 });
        decoded.push(file);
    }
    return { dump, decoded };
}
