import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        environment: "node",
        projects: [
            // Unit tests stay well below this: a slow one is a bug.
            { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000, hookTimeout: 20_000 } },
            // A real engine on a loaded 2-core machine: a test without a timeout of its own must not fail on time alone
            // (an import test's up once took more than 20 s in CI). Slower ones set their own.
            { test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], testTimeout: 300_000, hookTimeout: 300_000 } },
        ],
    },
});
