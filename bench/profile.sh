#!/usr/bin/env bash
# Where a no-op `pulumi preview` waits, on the default sandbox host (as root; hold the e2e lock):
#
#   flock -o /tmp/gfh-e2e.lock bash bench/profile.sh     # PROFILE_REPS (5) alternating runs per variant, medians
#
# Variants, all on the same provisioned host (temp copies of the project; the program files untouched):
#   defaults          the project as committed (what operators run): boot/program.js runs the build of the sources
#                     (.build/, made once per change) with V8's compile cache and the providers' serialized code
#   cold-build        defaults with .build/ removed before each run: the first run after a change of the sources
#   ts-node           Pulumi.yaml typescript: true, main index.ts: the sources through ts-node on every run, the
#                     providers serialized on every run (the program before boot/program.js)
#   ssh2-path         remoteCommands ssh2 + imageSource ssh-pull: no docker or command plugin process
#   empty-program     a one-output JavaScript program: the floor of engine, language host, node and @pulumi/pulumi
# Then one -v=9 run of `defaults`, summarised as phases (from the engine's log timestamps), and the SSH
# connections of one defaults preview (sshd's "Accepted publickey" lines; the docker provider's `ssh` runs).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
REPS="${PROFILE_REPS:-5}"
source "$BENCH_DIR/lib/common.sh"
[[ $(id -u) -eq 0 ]] || die "run as root"
source "$REPO/scripts/node-env.sh"
gfh_node "$REPO"
gfh_node_modules "$REPO"
BIN="$(bash "$REPO/scripts/toolchain.sh" | tail -n 1)" || die "scripts/toolchain.sh failed (GFH_UPSTREAM names the upstream sources when ../shared is not beside the clone)"
PATH="$BIN:$PATH"
bash "$REPO/scripts/sandbox.sh" up >/dev/null
eval "$(bash "$REPO/scripts/sandbox.sh" env)"
BENCH_TMP="$(mktemp -d /tmp/gfh-profile.XXXXXX)"
trap 'rm -rf "$BENCH_TMP"; bash "$REPO/scripts/sandbox.sh" reset-host >/dev/null' EXIT
say "$(command -v pulumi) ($(pulumi version)), $(command -v pulumi-language-nodejs), node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"

step() { "$@" >"$BENCH_TMP/step.log" 2>&1 || { tail -n 30 "$BENCH_TMP/step.log" >&2; die "failed: $*"; }; }
say "provisioning the default host (defaults stack, then an ssh2-path stack on the same host)"
bash "$REPO/scripts/sandbox.sh" reset-host >/dev/null
runuser -u user -- mkdir -p /home/user/.secrets
step bash "$REPO/scripts/sandbox.sh" seed-codex /home/user/.secrets/codex
HOSTS_JSON="$(printf '[{"name":"sandbox","address":"%s","port":%s,"user":"%s","hostKey":"%s"}]' \
  "$GFH_SANDBOX_HOST" "$GFH_SANDBOX_PORT" "$GFH_SANDBOX_SSH_USER" "$GFH_SANDBOX_HOST_KEY")"
P="$BENCH_TMP/p"; S="$BENCH_TMP/s"
step pulumi_setup "$P" "$HOSTS_JSON"
step pulumi_cli "$P" up --yes --skip-preview
BENCH_PATH=ssh2 step pulumi_setup "$S" "$HOSTS_JSON"
step pulumi_cli "$S" up --yes --skip-preview
tsnode() { # tsnode SRC DST: a project dir sharing SRC's stack config and state, run through ts-node
  local src="$1" dst="$2"
  cp -a "$src" "$dst"; rm -rf "$dst/.state" "$dst/.build"; ln -s "$src/.state" "$dst/.state"
  sed -i 's/^    typescript: false/    typescript: true/' "$dst/Pulumi.yaml"
  sed -i 's#^main: boot/program.js$#main: index.ts#' "$dst/Pulumi.yaml"
  grep -q 'typescript: true' "$dst/Pulumi.yaml" && grep -q '^main: index.ts$' "$dst/Pulumi.yaml" || die "could not switch $dst to ts-node"
}
T="$BENCH_TMP/t"; tsnode "$P" "$T"
# empty program
E="$BENCH_TMP/e"; mkdir -p "$E/.state"; ln -s "$REPO/node_modules" "$E/node_modules"
printf '{ "name": "empty", "main": "index.js" }\n' >"$E/package.json"
printf 'name: empty\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n' >"$E/Pulumi.yaml"
echo 'const pulumi = require("@pulumi/pulumi"); exports.x = pulumi.output(1);' >"$E/index.js"
e_cli() { (cd "$E" && PULUMI_BACKEND_URL="file://$E/.state" PULUMI_CONFIG_PASSPHRASE=x PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi "$@" --non-interactive); }
step e_cli stack init bench; step e_cli up --yes --stack bench

variant() {
  case "$1" in
    defaults) pulumi_cli "$P" preview ;;
    cold-build) rm -rf "$P/.build" && pulumi_cli "$P" preview ;;
    ts-node) pulumi_cli "$T" preview ;;
    ssh2-path) pulumi_cli "$S" preview ;;
    empty-program) e_cli preview --stack bench ;;
  esac
}
VARIANTS=(defaults cold-build ts-node ssh2-path empty-program)
declare -A T
for r in $(seq 1 "$REPS"); do
  for v in "${VARIANTS[@]}"; do
    t0=$(now); variant "$v" >"$BENCH_TMP/out" 2>&1 || { tail -20 "$BENCH_TMP/out"; die "$v failed"; }
    grep -q "unchanged" "$BENCH_TMP/out" && ! grep -qE '^ *[~+-]' "$BENCH_TMP/out" || [[ $v == empty-program ]] || { cat "$BENCH_TMP/out"; die "$v: the preview is not a no-op"; }
    T[$v]+="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f ", b - a }')"
  done
done
say "pulumi preview (no-op), $REPS alternating runs each: median (runs)"
for v in "${VARIANTS[@]}"; do
  printf '  %-17s %s s  (%s)\n' "$v" "$(tr ' ' '\n' <<<"${T[$v]}" | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')" "${T[$v]% }"
done

say "SSH connections of one defaults preview"
SSHD_LOG="$GFH_SANDBOX_STATE_DIR/sshd.log"
c0=$(grep -c 'Accepted publickey' "$SSHD_LOG" || true)
export BENCH_SSH_TRACE="$BENCH_TMP/ssh-trace"; : >"$BENCH_SSH_TRACE"
pulumi_cli "$P" preview >/dev/null 2>&1
sleep 0.2
printf '  %s connection(s); the docker provider ran ssh %s time(s)\n' "$(($(grep -c 'Accepted publickey' "$SSHD_LOG" || true) - c0))" "$(wc -l <"$BENCH_SSH_TRACE")"
unset BENCH_SSH_TRACE

say "phases of one defaults preview (engine log timestamps, -v=9 adds some overhead)"
t0=$(now)
pulumi_cli "$P" preview --logtostderr -v=9 2>"$BENCH_TMP/v9.log" >/dev/null || true
printf '  wall %s s\n' "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
cp "$BENCH_TMP/v9.log" "${PROFILE_KEEP_LOG:-/dev/null}" 2>/dev/null || true
python3 "$BENCH_DIR/lib/phases.py" "$BENCH_TMP/v9.log"
