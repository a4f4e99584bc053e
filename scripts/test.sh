#!/usr/bin/env bash
# The README's test command (`npm test`): does all set-up itself (packages, Pulumi toolchain, sandbox
# host) and runs the unit tests, then the e2e suite on the real engine. Run as root on Debian 12.
# Nothing is skipped: if the toolchain or the sandbox cannot start, this fails. Everything runs on the
# toolchain's Node.js (scripts/node-env.sh), not the machine's.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
phase() { printf '== test: %s (+%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT

. scripts/node-env.sh
phase "Node.js (scripts/toolchain.sh node), first on PATH for everything below"
gfh_node .
node --version

# It reads versions from package.json (node_modules only if it holds the pinned release), so it can start now.
phase "Pulumi toolchain, in the background (CLI, language host, command and docker plugins; cold: minutes; cached in \${GFH_CACHE:-/var/cache/github-flows-host})"
bash scripts/toolchain.sh >"$reports/toolchain.out" 2>"$reports/toolchain.log" &
toolchain=$!

phase "node dependencies"
gfh_node_modules .

phase "type check"
npx tsc --noEmit -p tsconfig.check.json

phase "test tools (systemd-analyze checks the drift job's unit files; setfacl plants ACLs)"
command -v systemd-analyze >/dev/null && command -v setfacl >/dev/null ||
  { apt-get update >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd acl >/dev/null; }

phase "unit tests"
npx vitest run test/unit --reporter=default --reporter=json --outputFile.json="$reports/unit.json"

phase "sandbox host"
bash scripts/sandbox.sh up

phase "PostgreSQL for shared state (loopback, stopped at the end)"
trap 'bash scripts/postgres.sh down || true; rm -rf "$reports"' EXIT
bash scripts/postgres.sh up

phase "waiting for the Pulumi toolchain"
if ! wait "$toolchain"; then cat "$reports/toolchain.log" >&2; echo "test: the Pulumi toolchain could not be built" >&2; exit 1; fi
cat "$reports/toolchain.log"
bin=$(tail -n 1 "$reports/toolchain.out")
[ -x "$bin/pulumi" ] || { echo "test: toolchain did not produce $bin/pulumi" >&2; exit 1; }
export PATH="$bin:$PATH"
# Offline: no plugin downloads or update checks (each would cost seconds of retries).
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

phase "e2e tests (real engine against the sandbox host)"
# Every e2e file drives the same sandbox host, so files run one after another.
npx vitest run test/e2e --no-file-parallelism --reporter=default --reporter=json --outputFile.json="$reports/e2e.json"

phase "done"
node -e '
  const rs = process.argv.slice(1).map((f) => require(f));
  const n = (k) => rs.reduce((a, r) => a + r[k], 0);
  if (n("numTotalTests") === 0) { console.error("test: no test ran"); process.exit(1); }
  console.log(`${n("numPassedTests")} passed, ${n("numFailedTests")} failed, ${n("numPendingTests")} skipped`);
' "$reports/unit.json" "$reports/e2e.json"
