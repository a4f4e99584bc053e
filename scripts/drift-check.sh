#!/usr/bin/env bash
# The drift job: `pulumi preview --expect-no-changes` against the stack's (shared) state, one line per host.
#
#   scripts/drift-check.sh [--stack NAME] [--cwd PROJECT_DIR]
#
# Prints, per host in the stack config:  HOST clean  |  HOST drifted: <op> <resource> [(<property> <seen>, want <x>)]; ...
# and, when the preview itself fails,  HOST error: <message>  |  HOST not checked (the preview failed).
# Exit status: 0 every host clean, 1 drift, 2 the preview failed (the report is incomplete). Reads the preview's
# structured output (--json), so drift is seen whether it comes from a refresh or from the providers' diff.
# Nothing is written to a host or to the state: preview takes no stack lock, so it runs beside operators.
#
# Environment (the systemd unit reads it from /etc/github-flows-host/drift/<stack>.env, 0600):
#   PULUMI_BACKEND_URL        the shared state, e.g. postgres://gfh@db.example:5432/gfh_state?sslmode=verify-full
#                             (no password in the URL: libpq reads it from PGPASSFILE)
#   PGPASSFILE                libpq password file (0600) for that URL
#   PULUMI_CONFIG_PASSPHRASE_FILE, or PULUMI_CONFIG_PASSPHRASE, or the secrets provider's own settings
#   GFH_STACK, GFH_PROJECT_DIR   defaults for --stack and --cwd (the project dir defaults to this repository)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${GFH_STACK:-}"
PROJECT="${GFH_PROJECT_DIR:-$ROOT}"
usage() { echo "usage: $0 [--stack NAME] [--cwd PROJECT_DIR]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack) [[ $# -ge 2 ]] || usage; STACK="$2"; shift 2 ;;
    --cwd) [[ $# -ge 2 ]] || usage; PROJECT="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[[ -n "$STACK" ]] || { echo "drift-check: no stack: pass --stack NAME or set GFH_STACK" >&2; exit 2; }
[[ -f "$PROJECT/Pulumi.yaml" ]] || { echo "drift-check: no Pulumi.yaml in $PROJECT" >&2; exit 2; }
command -v pulumi >/dev/null || { echo "drift-check: pulumi is not on PATH" >&2; exit 2; }
# As root (the systemd job), run nothing another user can change, as install-drift-job.sh checked when it was
# installed: the checkouts, pulumi's bin dir, node, the language host and the engine's plugins are checked again on
# every run (a later chown or an `npm ci` by someone else must not turn the hourly job into theirs).
if [[ $EUID -eq 0 ]]; then
  . "$ROOT/scripts/lib/trust.sh" || { echo "drift-check: $ROOT/scripts/lib/trust.sh is missing" >&2; exit 2; }
  distrusted() { echo "drift-check: not run: $1: $2: root would run code that another user can change" >&2; exit 2; }
  for dir in "$ROOT" "$PROJECT" "$(dirname -- "$(command -v pulumi)")" "${PULUMI_HOME:-$HOME/.pulumi}"; do
    real="$(realpath -m -- "$dir")"
    why="$(trust_tree "$real")" || distrusted "$dir" "$why"
  done
  for tool in node pulumi-language-nodejs; do
    found="$(command -v "$tool")" || continue
    why="$(trust_path "$found")" || distrusted "$found" "$why"
  done
fi
# Under the systemd unit the checkout is read-only: boot/program.js builds into the unit's cache directory.
if [[ -n "${CACHE_DIRECTORY:-}" ]]; then export XDG_CACHE_HOME="$CACHE_DIRECTORY"; fi
# Offline hosts: no update check, no plugin download attempts (each costs seconds of retries).
export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"

tmp="$(umask 077 && mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pulumi preview --stack "$STACK" --cwd "$PROJECT" --expect-no-changes --diff --json --non-interactive \
  >"$tmp/preview.json" 2>"$tmp/stderr"
rc=$?

cd "$ROOT" && node -r ts-node/register/transpile-only -e '
  const fs = require("fs");
  const { driftReport } = require("./lib/driftReport");
  let preview;
  try {
    preview = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  } catch (e) {
    console.error(`drift-check: pulumi preview printed no report (exit ${process.argv[2]})`);
    process.exit(22);
  }
  const r = driftReport(preview, Number(process.argv[2]));
  for (const l of r.lines) console.log(l);
  for (const e of r.errors) console.error(`drift-check: ${e}`);
  process.exit(20 + r.exitCode);
' "$tmp/preview.json" "$rc"
# 20 + the report's status, so that node failing to start (exit 1) is never read as "drift".
status=$?
case $status in
  20|21|22) status=$((status - 20)) ;;
  *) echo "drift-check: the report could not be made (node exit $status)" >&2; status=2 ;;
esac
# Drift also makes pulumi exit non-zero ("no changes were expected"): its stderr matters only on failure.
if [[ $status -eq 2 ]]; then tail -n 20 "$tmp/stderr" | sed 's/^/drift-check: pulumi: /' >&2; fi
exit "$status"
