#!/usr/bin/env bash
# Where a no-op `pulumi preview` spends its time, on the default sandbox host (as root):
#
#   bash bench/profile.sh            # PROFILE_REPS (5) alternating runs per variant, medians
#
# Variants, all on the same provisioned host and stack (a temp copy of the project; program files untouched):
#   as-is           the project as committed (ts-node, refresh: always)
#   transpile-only  PULUMI_NODEJS_TRANSPILE_ONLY=true
#   precompiled     tsc to bin/ first, Pulumi.yaml main: bin/index.js, typescript: false
#   no-refresh      as-is with --refresh=false (what the refresh costs)
#   empty-program   a one-output TypeScript program: the engine + language host + node floor
# Then one -v=9 run of as-is, summarised as phases (from the engine's log timestamps).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
REPS="${PROFILE_REPS:-5}"
source "$BENCH_DIR/lib/common.sh"
[[ $(id -u) -eq 0 ]] || die "run as root"
PATH="$(bash "$REPO/scripts/toolchain.sh" 2>/dev/null | tail -n 1):$PATH"
bash "$REPO/scripts/sandbox.sh" up >/dev/null
eval "$(bash "$REPO/scripts/sandbox.sh" env)"
BENCH_TMP="$(mktemp -d /tmp/gfh-profile.XXXXXX)"
trap 'rm -rf "$BENCH_TMP"; bash "$REPO/scripts/sandbox.sh" reset-host >/dev/null' EXIT

say "provisioning the default host with a temp copy of the project"
bash "$REPO/scripts/sandbox.sh" reset-host >/dev/null
runuser -u user -- mkdir -p /home/user/.secrets
bash "$REPO/scripts/sandbox.sh" seed-codex /home/user/.secrets/codex >/dev/null
P="$BENCH_TMP/p"
pulumi_setup "$P" "$(printf '[{"name":"sandbox","address":"%s","port":%s,"user":"%s","hostKey":"%s"}]' \
  "$GFH_SANDBOX_HOST" "$GFH_SANDBOX_PORT" "$GFH_SANDBOX_SSH_USER" "$GFH_SANDBOX_HOST_KEY")" >/dev/null
pulumi_cli "$P" up --yes --skip-preview >/dev/null
# precompiled variant: a second project dir sharing the stack config and state
C="$BENCH_TMP/c"
cp -a "$P" "$C"; rm -rf "$C/.state"; ln -s "$P/.state" "$C/.state"
(cd "$C" && "$REPO/node_modules/.bin/tsc" -p tsconfig.json --outDir bin --noCheck >/dev/null 2>&1 || true)
[[ -f "$C/bin/index.js" ]] || die "tsc produced no bin/index.js"
ln -s ../prompts "$C/bin/prompts" # the program reads profile.promptFile relative to its working directory (bin/)
sed -i 's/^    typescript: true/    typescript: false/; 0,/^runtime:/s//main: bin\/index.js\nruntime:/' "$C/Pulumi.yaml"
# empty program
E="$BENCH_TMP/e"; mkdir -p "$E/.state"; ln -s "$REPO/node_modules" "$E/node_modules"
cp "$REPO/tsconfig.json" "$REPO/package.json" "$E/"; sed -i 's#"include": \[.*\]#"include": ["index.ts"]#' "$E/tsconfig.json"
printf 'name: empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n' >"$E/Pulumi.yaml"
echo 'import * as pulumi from "@pulumi/pulumi"; export const x = pulumi.output(1);' >"$E/index.ts"
e_cli() { (cd "$E" && PULUMI_BACKEND_URL="file://$E/.state" PULUMI_CONFIG_PASSPHRASE=x PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi "$@" --non-interactive); }
e_cli stack init bench >/dev/null; e_cli up --yes --stack bench >/dev/null

variant() {
  case "$1" in
    as-is) pulumi_cli "$P" preview ;;
    transpile-only) PULUMI_NODEJS_TRANSPILE_ONLY=true pulumi_cli "$P" preview ;;
    precompiled) pulumi_cli "$C" preview ;;
    no-refresh) pulumi_cli "$P" preview --refresh=false ;;
    empty-program) e_cli preview --stack bench ;;
  esac
}
VARIANTS=(as-is transpile-only precompiled no-refresh empty-program)
declare -A T
for r in $(seq 1 "$REPS"); do
  for v in "${VARIANTS[@]}"; do
    t0=$(now); variant "$v" >"$BENCH_TMP/out" 2>&1 || { tail -20 "$BENCH_TMP/out"; die "$v failed"; }
    T[$v]+="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f ", b - a }')"
  done
done
say "pulumi preview (no-op), $REPS alternating runs each: median (runs)"
for v in "${VARIANTS[@]}"; do
  printf '  %-15s %s s  (%s)\n' "$v" "$(tr ' ' '\n' <<<"${T[$v]}" | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')" "${T[$v]% }"
done

say "phases of one as-is preview (engine log timestamps, -v=9 adds some overhead)"
pulumi_cli "$P" preview --logtostderr -v=9 2>"$BENCH_TMP/v9.log" >/dev/null || true
python3 - "$BENCH_TMP/v9.log" <<'EOF'
import re, sys
rows = []
for l in open(sys.argv[1], errors="replace"):
    m = re.search(r'"time":"[^T]*T([^"Z]+)Z?".*?"msg":"(.*?)","v"', l) or re.match(r'[IWE]\d{4} (\S+)\s+\d+ \S+\] (.*)', l)
    if m: rows.append((m.group(1), m.group(2)))
sec = lambda t: (lambda h, m, s: int(h) * 3600 + int(m) * 60 + float(s))(*t.split(":"))
t0 = sec(rows[0][0])
def first(pat, after=0.0):
    for t, msg in rows:
        if sec(t) - t0 >= after and re.search(pat, msg): return sec(t) - t0
    return None
marks = [("CLI start", 0.0)]
launch1 = first(r"Launching plugin 'pulumi-nodejs")
marks.append(("dynamic provider launched (refresh)", launch1))
marks.append(("  ... ready (Handshake)", first(r"Handshake", launch1 or 0)))
marks.append(("first Read (refresh over SSH)", first(r"\]\.Read\(")))
run = first(r"langhost\[nodejs\]\.Run\(")
marks.append(("program started (Run)", run))
marks.append(("first RegisterResource (node + @pulumi/pulumi loaded)", first(r"RegisterResource received", run or 0)))
marks.append(("FlowsHost registered (program modules transpiled + loaded)", first(r"RegisterResource received: t=github-flows-host:index:FlowsHost", run or 0)))
launch2 = first(r"Launching plugin 'pulumi-nodejs", (launch1 or 0) + 0.01)
marks.append(("dynamic provider launched again (preview)", launch2))
marks.append(("  ... ready (Handshake)", first(r"Handshake", (launch2 or 0) + 0.001)))
marks.append(("program exited", first(r"Program exited")))
marks.append(("last log line", sec(rows[-1][0]) - t0))
for name, t in marks:
    print(f"  {('%.2f s' % t) if t is not None else '   - '}  {name}")
EOF
