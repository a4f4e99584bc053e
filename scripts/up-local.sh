#!/usr/bin/env bash
# The README's main job on the embedded default target: brings up the sandbox host and the Pulumi
# toolchain, configures a `local` stack for it (file backend, passphrase secrets) and runs `pulumi up`,
# then prints the outputs, profiles included. Extra arguments go to `pulumi up` (e.g. --diff).
# A real host follows the README's production section instead.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '== up-local: %s\n' "$*"; }

say "Node.js and node dependencies"
. scripts/node-env.sh
gfh_node .
gfh_node_modules .

say "Pulumi toolchain"
bin=$(bash scripts/toolchain.sh | tail -n 1)
export PATH="$bin:$PATH"

say "sandbox host"
bash scripts/sandbox.sh up >/dev/null
eval "$(bash scripts/sandbox.sh env)"

state=${GFH_LOCAL_STATE:-/var/lib/github-flows-host/local-state}
mkdir -p "$state"
export PULUMI_BACKEND_URL="file://$state"
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-local-sandbox}
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

say "stack 'local'"
pulumi stack select local 2>/dev/null || pulumi stack init local
# The sandbox stack recipe shared with the e2e harness and the benchmark, on the defaults (@pulumi/docker pulls
# the image, @pulumi/command runs the checks); secrets go in on stdin, never on a command line.
node scripts/sandbox/stack.mjs --repositories '["acme/demo","owner/repository"]' --openai-api-key

say "pulumi up"
pulumi up --yes --skip-preview "$@"

say "outputs"
pulumi stack output --json | tee "$state/outputs.json"
# The profiles once more as GitHub Flows reads them (the JSON above holds them as strings).
node -e '
  const hosts = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).hosts;
  for (const [host, h] of Object.entries(hosts))
    for (const [repo, text] of Object.entries(h.profiles)) process.stdout.write(`\n# ${host}: ${repo}\n${text}`);
' "$state/outputs.json"
