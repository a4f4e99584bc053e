// The package's public API: `import { FlowsHost } from "github-flows-host"` (package.json `exports`, built into
// dist/ by `npm pack`). The stack program (index.ts) uses exactly this.
export { FlowsHost } from "./components/flowsHost";
export type { FlowsHostArgs } from "./components/flowsHost";
export { ConfigError, PER_HOST_KEYS } from "./lib/config";
export type { HostArgsInput, HostSettings } from "./lib/config";
