#!/usr/bin/env bash
# scripts/migrate-state.sh — moves a stack made by github-flows-host 0.2 (host resources as dynamic resources) or by
# an earlier 0.3 build (a resource per profile file) to this version's state, in the stack's state alone: no host is
# contacted, nothing on one changes.
#
#   bash scripts/migrate-state.sh [--stack NAME]     in the project directory, with the pulumi that runs the stack
#
# It exports the state (secrets stay encrypted), rewrites each host resource's type and provider and folds the profile
# files into one RemoteFileSet per host (lib/stateMigration.ts),
# keeps the export beside the project (.github-flows-host/state-backups/, 0600) and imports the result. Run it once,
# before the first `pulumi up` of the new version; a stack with nothing to move is left as it is. Undo:
# `pulumi stack import --file <the backup>`. Then `pulumi preview` shows the plugin's default provider as new or
# updated and no host resource replaced.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack=()
case "${1:-}" in
  --stack) [ -n "${2:-}" ] || { echo "migrate-state: --stack needs a name" >&2; exit 2; }; stack=(--stack "$2") ;;
  "") ;;
  *) echo "usage: bash scripts/migrate-state.sh [--stack NAME]" >&2; exit 2 ;;
esac
command -v pulumi >/dev/null || { echo "migrate-state: pulumi is not on PATH" >&2; exit 2; }
name="$(pulumi stack "${stack[@]}" --show-name)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
umask 077
pulumi stack export "${stack[@]}" --file "$tmp/before.json"
moved="$(node -e '
  const fs = require("fs");
  const { migrateState } = require(process.argv[1] + "/boot/build.js").load("lib/stateMigration.js");
  const version = require(process.argv[1] + "/package.json").version;
  const r = migrateState(JSON.parse(fs.readFileSync(process.argv[2], "utf8")), version);
  fs.writeFileSync(process.argv[3], JSON.stringify(r.exported, null, 2));
  console.log(r.changed ? r.moved : "none");
' "$ROOT" "$tmp/before.json" "$tmp/after.json")"
if [ "$moved" = none ]; then echo "migrate-state: stack $name is already in this version's state format; nothing to do"; exit 0; fi
backups=".github-flows-host/state-backups"
mkdir -p "$backups"
backup="$backups/$(printf '%s' "$name" | tr '/' '_')-$(date -u +%Y%m%dT%H%M%SZ).json"
cp "$tmp/before.json" "$backup"
pulumi stack import "${stack[@]}" --file "$tmp/after.json"
echo "migrate-state: stack $name: $moved host resources moved (to the plugin github-flows-host; profile files into one set per host); the previous state is in $backup"
