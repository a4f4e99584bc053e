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
#
# The job runs as root (with no capabilities, see the unit), so everything it runs or loads must be root's alone:
# the project checkout (sources, node_modules, an existing .build/), the pulumi bin dir, node and the language host,
# every directory on the job's PATH, PULUMI_HOME (plugins), the passphrase and password files. Each of these, and
# every directory above it up to /, must be owned by root and writable by no one else (a directory above may be
# sticky, as /tmp); symlinks are followed to where they lead. Anything else is refused, naming the path and why,
# before a file is written: otherwise its owner would run code as root every hour, with the passphrase at hand.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
. "$REPO/scripts/lib/trust.sh"
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
# Canonical paths (pwd -P): a symlink on the way, which its owner could point elsewhere later, is not recorded.
PROJECT="$(cd "$PROJECT" 2>/dev/null && pwd -P)" || die "--project: no such directory"
[[ "$PROJECT" =~ $safe_path ]] || die "--project: '$PROJECT' has characters an environment file cannot carry unquoted"
[[ -f "$PROJECT/Pulumi.yaml" && -f "$PROJECT/scripts/drift-check.sh" ]] || die "--project: $PROJECT is not a github-flows-host checkout"
[[ -d "$PROJECT/node_modules" ]] || die "--project: run 'npm ci' in $PROJECT first"
if [[ -z "$PULUMI_BIN" ]]; then
  found="$(command -v pulumi)" || die "--pulumi-bin: pulumi is not on PATH"
  PULUMI_BIN="$(dirname "$found")"
fi
PULUMI_BIN="$(cd "$PULUMI_BIN" 2>/dev/null && pwd -P)" || die "--pulumi-bin: no such directory"
[[ -x "$PULUMI_BIN/pulumi" ]] || die "--pulumi-bin: no pulumi in $PULUMI_BIN"
[[ "$PULUMI_BIN" =~ $safe_path ]] || die "--pulumi-bin: '$PULUMI_BIN' has characters an environment file cannot carry unquoted"

# The environment file holds the passphrase (or its path) and names the password file: private, and no password in the URL.
[[ -f "$ENVFILE" ]] || die "--env-file: no such file '$ENVFILE'"
mode="$(stat -c '%a' "$ENVFILE")"
(( (8#$mode & 8#077) == 0 )) || die "--env-file: $ENVFILE is mode $mode; run 'chmod 600 $ENVFILE' first"
# The value of KEY in the env file (the last assignment wins, as in systemd), quotes dropped.
env_value() { sed -n "s/^[[:space:]]*$1=//p" "$ENVFILE" | tail -n 1 | tr -d "\"'"; }
# These are the installer's, or would make the job load code from anywhere.
while IFS= read -r key; do
  case "$key" in
    NODE_EXTRA_CA_CERTS) ;;
    PATH|HOME|TMPDIR|GFH_*|XDG_*|NODE_*|TS_NODE_*|LD_*|BASH_ENV|ENV|BASH_FUNC_*)
      die "--env-file: $ENVFILE sets $key; remove it (the installer sets the job's PATH and project dir; $key must not point the job at other code)" ;;
  esac
done < <(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$ENVFILE")
url="$(env_value PULUMI_BACKEND_URL)"
[[ -n "$url" ]] || die "--env-file: $ENVFILE sets no PULUMI_BACKEND_URL"
# Every PULUMI_BACKEND_URL line (an earlier one is in the copied file too): no user:password@, no password in the
# query (any case, percent-encoded or not, also libpq's sslpassword). The value is never printed.
while IFS= read -r u; do
  u="$(tr -d "\"'" <<<"$u")"
  authority="${u#*://}"
  authority="${authority%%[/?#]*}"
  if [[ "$u" == *://* && "$authority" == *@* && "${authority%@*}" == *:* ]]; then
    die "--env-file: PULUMI_BACKEND_URL holds a password (user:password@); put it in a libpq password file (PGPASSFILE) instead"
  fi
  [[ "$u" == *\?* ]] || continue
  query="${u#*\?}"
  query="${query%%#*}"
  IFS='&' read -ra params <<<"$query"
  for p in "${params[@]}"; do
    k="${p%%=*}"
    k="${k//+/ }"
    k="${k//\\/\\\\}"
    k="$(printf '%b' "${k//%/\\x}")"
    k="$(tr '[:upper:]' '[:lower:]' <<<"$k" | tr -d '[:space:]')"
    if [[ "$k" == password || "$k" == sslpassword ]]; then
      die "--env-file: PULUMI_BACKEND_URL holds a password (the query key '$k'); put it in a libpq password file (PGPASSFILE) instead"
    fi
  done
done < <(sed -n 's/^[[:space:]]*PULUMI_BACKEND_URL=//p' "$ENVFILE")
grep -Eq '^[[:space:]]*(PULUMI_CONFIG_PASSPHRASE|PULUMI_CONFIG_PASSPHRASE_FILE)=' "$ENVFILE" ||
  echo "install-drift-job: note: $ENVFILE sets no PULUMI_CONFIG_PASSPHRASE(_FILE); the stack's secrets provider must work without one" >&2

# Root runs or loads all of these: each must be root's alone (scripts/lib/trust.sh).
JOB_PATH="$PULUMI_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
refuse() { die "$1: $2: root would run code that another user can change; make it root's (chown -R root:root, chmod -R go-w) or use another path"; }
why="$(trust_tree "$PROJECT")" || refuse "--project" "$why"
why="$(trust_tree "$PULUMI_BIN")" || refuse "--pulumi-bin" "$why"
IFS=: read -ra path_dirs <<<"${JOB_PATH#*:}"
for d in "${path_dirs[@]}"; do why="$(trust_path "$d")" || refuse "the job's PATH" "$why"; done
for tool in node pulumi-language-nodejs; do
  found="$(PATH="$JOB_PATH" command -v "$tool")" || die "$tool is not on the job's PATH ($JOB_PATH): put it in --pulumi-bin"
  real="$(realpath -e -- "$found")"
  why="$(trust_path "$real")" || refuse "$tool ($found)" "$why"
done
# The engine's home (plugins it runs): the env file's PULUMI_HOME, else root's ~/.pulumi.
pulumi_home="$(env_value PULUMI_HOME)"
[[ -n "$pulumi_home" ]] || pulumi_home="$(getent passwd root | cut -d: -f6)/.pulumi"
[[ "$pulumi_home" == /* ]] || die "--env-file: PULUMI_HOME must be an absolute path"
pulumi_home="$(realpath -m -- "$pulumi_home")"
why="$(trust_tree "$pulumi_home")" || refuse "PULUMI_HOME" "$why"
for key in PULUMI_CONFIG_PASSPHRASE_FILE PGPASSFILE; do
  f="$(env_value "$key")"
  [[ -n "$f" ]] || continue
  [[ "$f" == /* ]] || die "--env-file: $key must be an absolute path"
  real="$(realpath -e -- "$f" 2>/dev/null)" || die "--env-file: $key: $f does not exist"
  why="$(trust_private_file "$real")" || die "--env-file: $key: $why; it must be root's alone (chown root:root, chmod 600)"
done

units="$ROOT/etc/systemd/system"
conf="$ROOT/etc/github-flows-host/drift"
install -d -m 0755 "$units"
install -d -m 0700 "$conf"
# The one directory of root's home the unit may write (ReadWritePaths): the program's ssh-agent socket lives there.
install -d -m 0700 "$ROOT$(getent passwd root | cut -d: -f6)/.github-flows-host"
install -m 0644 "$REPO/deploy/systemd/github-flows-drift@.service" "$units/github-flows-drift@.service"
install -m 0644 "$REPO/deploy/systemd/github-flows-drift@.timer" "$units/github-flows-drift@.timer"
tmp="$(umask 077 && mktemp "$conf/.$STACK.env.XXXXXX")"
{
  echo "# github-flows-host drift job for stack $STACK, written by scripts/install-drift-job.sh from $ENVFILE"
  cat "$ENVFILE"
  echo
  echo "GFH_PROJECT_DIR=$PROJECT"
  echo "PATH=$JOB_PATH"
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
