import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../lib/config";

const README = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
const schemaKeys = Object.keys((configSchema.in as unknown as { shape: Record<string, unknown> }).shape);

/** The README is the operator's page: short, the newcomer's two commands first, every key in its table. */
describe("README.md", () => {
    it("stays under 16 KiB (depth lives in docs/)", () => {
        expect(Buffer.byteLength(README)).toBeLessThan(16 * 1024);
    });

    it("shows the two commands a newcomer runs in its first screen (40 lines)", () => {
        const first = README.split("\n").slice(0, 40).join("\n");
        expect(first).toContain("sudo bash scripts/up-local.sh");
        expect(first).toMatch(/npm test/);
    });

    it("names every config key in its config table", () => {
        const table = README.slice(README.indexOf("\n## Config\n"), README.indexOf("\n## Outputs\n"));
        for (const k of schemaKeys) expect(table.includes("`" + k + "`") || table.includes("`" + k + "."), k).toBe(true);
    });

    it("links only to files that exist", () => {
        for (const m of README.matchAll(/\]\(((?:docs|examples|bench)\/[^)#]*|[A-Z]+\.md)\)/g)) {
            expect(fs.existsSync(path.join(__dirname, "../..", m[1])), m[1]).toBe(true);
        }
    });
});
