#!/usr/bin/env bash
# examples/typescript as someone else's project: `npm pack` of this package, the example copied to DIR, the
# tarball and the example's dependencies installed there (from the npm registry or npm's cache), then a type check
# against the packed declarations. The e2e (test/e2e/example.test.ts) runs DIR on the sandbox host.
#
#   bash scripts/example.sh DIR        (DIR must not exist or be empty; Node.js first on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/example.sh DIR}
mkdir -p "$dir"
[ -z "$(ls -A "$dir")" ] || { echo "example: $dir is not empty" >&2; exit 1; }
dir=$(cd "$dir" && pwd)
start=$(date +%s)
# prepack builds dist/ (tsc -p tsconfig.lib.json); --ignore-scripts=false in case npm's config turned scripts off.
# npm pack prints the build's errors on stdout, where the tarball's name goes: show them when it fails.
if ! tarball=$(npm pack --ignore-scripts=false --silent --pack-destination "$dir"); then
  printf '%s\n' "$tarball" >&2; echo "example: npm pack failed (its prepack is tsc -p tsconfig.lib.json)" >&2; exit 1
fi
cp -r examples/typescript/. "$dir/"
rm -rf "$dir/node_modules" "$dir/package-lock.json"
cd "$dir"
npm install --no-audit --no-fund --prefer-offline --loglevel=error "./$tarball" >/dev/null
npx tsc --noEmit -p .
echo "example: packed $tarball, installed and type-checked in $dir ($(( $(date +%s) - start )) s)" >&2
