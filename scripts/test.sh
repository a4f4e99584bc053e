#!/usr/bin/env bash
# The README's test command (`npm test`): does all set-up itself (packages, Pulumi toolchain, sandbox
# host) and runs the unit tests, then the e2e suite on the real engine. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
phase() { printf '== test: %s (+%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

phase "node dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi

phase "type check"
npx tsc --noEmit -p .

phase "unit tests"
npx vitest run test/unit

phase "Pulumi toolchain (cold builds take minutes; cached in \${GFH_CACHE:-/var/cache/github-flows-host})"
bin=$(bash scripts/toolchain.sh | tail -n 1)
[ -x "$bin/pulumi" ] || { echo "test: toolchain did not produce $bin/pulumi" >&2; exit 1; }
export PATH="$bin:$PATH"

phase "sandbox host"
bash scripts/sandbox.sh up

phase "e2e tests (real engine against the sandbox host)"
# Every e2e file drives the same sandbox host, so files run one after another.
npx vitest run test/e2e --no-file-parallelism

phase "done"
