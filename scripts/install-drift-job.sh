#!/usr/bin/env bash
# Installs the drift job for one stack: systemd units github-flows-drift@.service/.timer (from deploy/systemd)
# and the job's environment file, then enables github-flows-drift@<stack>.timer (hourly).
#
#   sudo scripts/install-drift-job.sh --stack NAME --env-file FILE [--project DIR] [--pulumi-bin DIR] [--root DIR] [--no-enable]
#
#   --stack       the stack to check (also the unit instance: github-flows-drift@NAME.timer)
#   --env-file    0600 file of KEY=VALUE lines: PULUMI_BACKEND_URL (no password in it), PGPASSFILE, and
#                 PULUMI_CONFIG_PASSPHRASE_FILE or PULUMI_CONFIG_PASSPHRASE (or the secrets provider's settings).
#                 It is copied, 0600 root, to /etc/github-flows-host/drift/NAME.env with GFH_PROJECT_DIR and PATH added.
#   --project     the project checkout the job runs (default: this repository; needs node_modules)
#   --pulumi-bin  directory holding the pulumi CLI (default: where `pulumi` is on PATH now)
#   --root        install under this directory instead of / (GFH_INSTALL_ROOT; nothing is enabled then)
#   --no-enable   write the files only
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${GFH_INSTALL_ROOT:-/}"
STACK="" ENVFILE="" PROJECT="$REPO" PULUMI_BIN="" ENABLE=1
die() { echo "install-drift-job: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack|--env-file|--project|--pulumi-bin|--root) [[ $# -ge 2 ]] || die "$1 needs a value" ;;&
    --stack) STACK="$2"; shift 2 ;;
    --env-file) ENVFILE="$2"; shift 2 ;;
    --project) PROJECT="$2"; shift 2 ;;
    --pulumi-bin) PULUMI_BIN="$2"; shift 2 ;;
    --root) ROOT="$2"; shift 2 ;;
    --no-enable) ENABLE=0; shift ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done

# The stack name is the unit instance and part of a path; directories go into an environment file unquoted.
[[ "$STACK" =~ ^[A-Za-z0-9_.][A-Za-z0-9_.-]*$ ]] || die "--stack: a stack name of letters, digits, '_', '.', '-' is required"
safe_path='^/[A-Za-z0-9_./@+-]*$'
PROJECT="$(cd "$PROJECT" 2>/dev/null && pwd)" || die "--project: no such directory"
[[ "$PROJECT" =~ $safe_path ]] || die "--project: '$PROJECT' has characters an environment file cannot carry unquoted"
[[ -f "$PROJECT/Pulumi.yaml" && -f "$PROJECT/scripts/drift-check.sh" ]] || die "--project: $PROJECT is not a github-flows-host checkout"
[[ -d "$PROJECT/node_modules" ]] || die "--project: run 'npm ci' in $PROJECT first"
if [[ -z "$PULUMI_BIN" ]]; then
  found="$(command -v pulumi)" || die "--pulumi-bin: pulumi is not on PATH"
  PULUMI_BIN="$(dirname "$found")"
fi
PULUMI_BIN="$(cd "$PULUMI_BIN" 2>/dev/null && pwd)" || die "--pulumi-bin: no such directory"
[[ -x "$PULUMI_BIN/pulumi" ]] || die "--pulumi-bin: no pulumi in $PULUMI_BIN"
[[ "$PULUMI_BIN" =~ $safe_path ]] || die "--pulumi-bin: '$PULUMI_BIN' has characters an environment file cannot carry unquoted"

# The environment file holds the passphrase (or its path) and names the password file: private, and no password in the URL.
[[ -f "$ENVFILE" ]] || die "--env-file: no such file '$ENVFILE'"
mode="$(stat -c '%a' "$ENVFILE")"
(( (8#$mode & 8#077) == 0 )) || die "--env-file: $ENVFILE is mode $mode; run 'chmod 600 $ENVFILE' first"
url="$(sed -n 's/^[[:space:]]*PULUMI_BACKEND_URL=//p' "$ENVFILE" | tail -n 1 | tr -d "\"'")"
[[ -n "$url" ]] || die "--env-file: $ENVFILE sets no PULUMI_BACKEND_URL"
if [[ "$url" =~ ^[a-z0-9+]+://[^/@]*:[^/@]*@ ]]; then
  die "--env-file: PULUMI_BACKEND_URL holds a password; put it in a libpq password file (PGPASSFILE) instead"
fi
grep -Eq '^[[:space:]]*(PULUMI_CONFIG_PASSPHRASE|PULUMI_CONFIG_PASSPHRASE_FILE)=' "$ENVFILE" ||
  echo "install-drift-job: note: $ENVFILE sets no PULUMI_CONFIG_PASSPHRASE(_FILE); the stack's secrets provider must work without one" >&2

units="$ROOT/etc/systemd/system"
conf="$ROOT/etc/github-flows-host/drift"
install -d -m 0755 "$units"
install -d -m 0700 "$conf"
install -m 0644 "$REPO/deploy/systemd/github-flows-drift@.service" "$units/github-flows-drift@.service"
install -m 0644 "$REPO/deploy/systemd/github-flows-drift@.timer" "$units/github-flows-drift@.timer"
tmp="$(umask 077 && mktemp "$conf/.$STACK.env.XXXXXX")"
{
  echo "# github-flows-host drift job for stack $STACK, written by scripts/install-drift-job.sh from $ENVFILE"
  cat "$ENVFILE"
  echo
  echo "GFH_PROJECT_DIR=$PROJECT"
  echo "PATH=$PULUMI_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
} >"$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$conf/$STACK.env"
echo "install-drift-job: wrote $units/github-flows-drift@.service, $units/github-flows-drift@.timer, $conf/$STACK.env"

if [[ "$ROOT" == / && $ENABLE == 1 && -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl enable --now "github-flows-drift@$STACK.timer"
  echo "install-drift-job: enabled github-flows-drift@$STACK.timer (journalctl -u github-flows-drift@$STACK to read the reports)"
else
  echo "install-drift-job: to start it: systemctl daemon-reload && systemctl enable --now github-flows-drift@$STACK.timer"
fi
