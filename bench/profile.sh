#!/usr/bin/env bash
# Where a no-op `pulumi preview` waits, on the default sandbox host (as root; hold the e2e lock):
#
#   flock -o /tmp/gfh-e2e.lock bash bench/profile.sh     # PROFILE_REPS (5) alternating runs per variant, medians
#
# Variants, all on the same provisioned host (temp copies of the project; the program files untouched):
#   defaults          the project as committed: ts-node, @pulumi/command + @pulumi/docker (what operators run)
#   transpile-only    defaults with PULUMI_NODEJS_TRANSPILE_ONLY=true
#   precompiled       defaults, tsc to bin/ first, Pulumi.yaml main: bin/index.js, typescript: false
#   ssh2-path         remoteCommands ssh2 + imageSource ssh-pull: no docker or command plugin process
#   precompiled-ssh2  both levers
#   empty-program     a one-output TypeScript program: the engine + language host + node floor
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
PATH="$(bash "$REPO/scripts/toolchain.sh" 2>/dev/null | tail -n 1):$PATH"
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
precompile() { # precompile SRC DST: a project dir sharing SRC's stack config and state, running bin/index.js
  local src="$1" dst="$2"
  cp -a "$src" "$dst"; rm -rf "$dst/.state"; ln -s "$src/.state" "$dst/.state"
  (cd "$dst" && "$REPO/node_modules/.bin/tsc" -p tsconfig.json --outDir bin --noCheck >/dev/null 2>&1 || true)
  [[ -f "$dst/bin/index.js" ]] || die "tsc produced no bin/index.js"
  ln -s ../prompts "$dst/bin/prompts" # the program reads profile.promptFile relative to its working directory (bin/)
  sed -i 's/^    typescript: true/    typescript: false/; 0,/^runtime:/s//main: bin\/index.js\nruntime:/' "$dst/Pulumi.yaml"
}
C="$BENCH_TMP/c"; precompile "$P" "$C"
CS="$BENCH_TMP/cs"; precompile "$S" "$CS"
# empty program
E="$BENCH_TMP/e"; mkdir -p "$E/.state"; ln -s "$REPO/node_modules" "$E/node_modules"
cp "$REPO/tsconfig.json" "$REPO/package.json" "$E/"; sed -i 's#"include": \[.*\]#"include": ["index.ts"]#' "$E/tsconfig.json"
printf 'name: empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n' >"$E/Pulumi.yaml"
echo 'import * as pulumi from "@pulumi/pulumi"; export const x = pulumi.output(1);' >"$E/index.ts"
e_cli() { (cd "$E" && PULUMI_BACKEND_URL="file://$E/.state" PULUMI_CONFIG_PASSPHRASE=x PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi "$@" --non-interactive); }
step e_cli stack init bench; step e_cli up --yes --stack bench

variant() {
  case "$1" in
    defaults) pulumi_cli "$P" preview ;;
    transpile-only) PULUMI_NODEJS_TRANSPILE_ONLY=true pulumi_cli "$P" preview ;;
    precompiled) pulumi_cli "$C" preview ;;
    ssh2-path) pulumi_cli "$S" preview ;;
    precompiled-ssh2) pulumi_cli "$CS" preview ;;
    empty-program) e_cli preview --stack bench ;;
  esac
}
VARIANTS=(defaults transpile-only precompiled ssh2-path precompiled-ssh2 empty-program)
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
