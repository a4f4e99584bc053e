import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        environment: "node",
        include: ["test/unit/**/*.test.ts", "test/e2e/**/*.test.ts"],
        // Unit tests stay well below this; e2e files set their own (longer) timeouts per suite and hook.
        testTimeout: 20_000,
        hookTimeout: 20_000,
    },
});
