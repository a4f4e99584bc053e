# Helpers for bench/run.sh (sourced). Needs: BENCH_TMP, REPO, and the sandbox env (GFH_SANDBOX_*).
say() { printf '== bench: %s\n' "$*" >&2; }
die() { printf '== bench: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }

# ---------------------------------------------------------------------------------------------- pulumi
# The project copied to a temp dir (node_modules symlinked, like test/e2e/harness.ts newStack), a file
# backend in it, stack `bench`. pulumi_cli runs the CLI there.
pulumi_setup() { # pulumi_setup DIR HOSTS_JSON REPOSITORIES_JSON
  local dir="$1" hosts="$2" repos="$3" f
  mkdir -p "$dir/.state"
  for f in Pulumi.yaml package.json tsconfig.json index.ts api.ts boot components lib providers prompts; do cp -a "$REPO/$f" "$dir/"; done
  ln -s "$REPO/node_modules" "$dir/node_modules"
  (cd "$dir" && PULUMI_BACKEND_URL="file://$dir/.state" PULUMI_CONFIG_PASSPHRASE=bench-passphrase PULUMI_SKIP_UPDATE_CHECK=true \
    pulumi stack init bench --non-interactive >/dev/null)
  # The sandbox stack recipe shared with the e2e harness; BENCH_PATH=ssh2 measures the plugin-free path, the
  # default what an operator runs.
  pulumi_cli "$dir" --run node "$REPO/scripts/sandbox/stack.mjs" --path "${BENCH_PATH:-defaults}" --hosts "$hosts" --repositories "$repos"
  # The program's build (boot/build.js), untimed: every run of an operator's but the first after a change finds it.
  (cd "$dir" && node -e 'require("./boot/build.js").load("lib/quote.js")')
  # An empty stack to go back to before each fresh-provision run (config stays in Pulumi.bench.yaml).
  cp -a "$dir/.state" "$dir/.state.empty"
}
pulumi_cli() { # pulumi_cli DIR ARGS... (stdin passes through: secrets); pulumi_cli DIR --run CMD... runs CMD there
  local dir="$1"; shift
  local -a cmd=(pulumi "$@" --stack bench --non-interactive)
  [[ "${1:-}" != --run ]] || cmd=("${@:2}" --stack bench)
  (cd "$dir" && PULUMI_BACKEND_URL="file://$dir/.state" PULUMI_CONFIG_PASSPHRASE=bench-passphrase \
    PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PATH="$BENCH_DIR/lib/trace:$PATH" \
    "${cmd[@]}")
}
pulumi_set_token() { printf '%s' "$2" | pulumi_cli "$1" config set --secret githubToken; }
pulumi_empty_state() { rm -rf "$1/.state" && cp -a "$1/.state.empty" "$1/.state"; }

# --------------------------------------------------------------------------------------------- ansible
# ANSIBLE_* for one host list: inventory, pinned known_hosts, vault password file (generated), one vault
# file per token. ansible_run uses a fresh ControlPath dir per run and closes the master afterwards, so
# every run starts cold, as every pulumi run does.
ansible_setup() { # ansible_setup DIR INVENTORY_TEXT KNOWN_HOSTS REPOSITORIES_JSON
  local dir="$1"
  mkdir -p "$dir/render"
  printf '%s\n' "$2" >"$dir/inventory"
  printf '{"repositories": %s}\n' "$4" >"$dir/repositories.json"
  umask 077
  head -c 32 /dev/urandom | base64 >"$dir/vault-pass"
  printf 'gh_token: %s\n' "$GFH_SANDBOX_VALID_TOKEN" >"$dir/token-valid.yml"
  printf 'gh_token: %s\n' "$GFH_SANDBOX_ROTATED_TOKEN" >"$dir/token-rotated.yml"
  ansible-vault encrypt --vault-password-file "$dir/vault-pass" "$dir/token-valid.yml" "$dir/token-rotated.yml" >/dev/null 2>&1
  umask 022
  ANSIBLE_KNOWN_HOSTS="$3"
}
# Ansible at its best by default: pipelining (one ssh exec per task instead of put + exec + rm), forks >= the
# hosts (all hosts in parallel), ControlMaster/ControlPersist (Ansible's own default, one connection per host).
# BENCH_ANSIBLE_PIPELINING=False measures Ansible's shipped default.
ansible_forks() { local n="${TARGET_HOSTS:-1}"; echo "${BENCH_ANSIBLE_FORKS:-$((n > 10 ? n : 10))}"; }
ansible_settings() { printf 'pipelining=%s forks=%s ControlPersist=60s' "${BENCH_ANSIBLE_PIPELINING:-True}" "$(ansible_forks)"; }
ansible_run() { # ansible_run DIR TOKEN(valid|rotated) [EXTRA ARGS...]
  local dir="$1" token="$2" cp rc=0; shift 2
  cp="$(mktemp -d "$dir/cp.XXXXXX")"
  ANSIBLE_CONFIG="$BENCH_DIR/ansible/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$cp" BENCH_RENDER_DIR="$dir/render" \
    ANSIBLE_VAULT_PASSWORD_FILE="$dir/vault-pass" ANSIBLE_PIPELINING="${BENCH_ANSIBLE_PIPELINING:-True}" ANSIBLE_FORKS="$(ansible_forks)" \
    ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$ANSIBLE_KNOWN_HOSTS -o IdentitiesOnly=yes" \
    ansible-playbook -i "$dir/inventory" -e "@$dir/token-$token.yml" -e "@$dir/repositories.json" "$BENCH_DIR/ansible/playbook.yml" "$@" || rc=$?
  local s; for s in "$cp"/*; do [[ -S "$s" ]] && ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true; done
  rm -rf "$cp"
  return $rc
}

# ------------------------------------------------------------------------------------------ measuring
# sshd logs (LogLevel VERBOSE) one "Accepted publickey" per SSH connection and one "Starting session"
# per channel that runs a command or subsystem (exec, sftp). SSHD_LOGS holds one log per host.
SSHD_LOGS=()
ssh_counts() { # prints "<connections per log, comma-separated> <sessions total>"
  local f a s=0 b cs=()
  for f in "${SSHD_LOGS[@]}"; do
    a=$(grep -c 'Accepted publickey' "$f" || true); b=$(grep -c 'Starting session' "$f" || true)
    cs+=("$a"); s=$((s + b))
  done
  echo "$(IFS=,; echo "${cs[*]}") $s"
}
# The docker provider dials with the `ssh` it finds on PATH; pulumi_cli puts bench/lib/trace first, whose
# `ssh` appends a line to $BENCH_SSH_TRACE and execs /usr/bin/ssh. So the docker provider's share of the
# connections is known; the rest are the in-process clients (the dynamic providers' pooled ssh2
# connection, the command provider's Go client).
# CPU: the machine's busy and total jiffies (/proc/stat, all CPUs: other helpers' load shows too) and the CPU
# ticks of this shell's waited-for descendants (/proc/self/stat cutime + cstime: the tool's own processes, not
# sshd, dockerd or the containers on the hosts).
cpu_machine() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
cpu_children() { awk '{ print $16 + $17 }' "/proc/$1/stat"; } # cpu_children PID (of the measuring shell)
CLK_TCK="$(getconf CLK_TCK)"
# measure SCENARIO TOOL REP HOSTS -- CMD... : runs CMD (output to a log), appends a row to $RESULTS_TSV:
# target hosts scenario tool rep seconds conns conns-max-per-host sessions docker-ssh-runs ansible-settings summary
#   machine-cpu-busy-fraction tool-cpu-seconds repositories (TARGET_REPOS)
measure() {
  local scen="$1" tool="$2" rep="$3" hosts="$4"; shift 5
  local log="$BENCH_TMP/logs/$TARGET_LABEL-$hosts-r${TARGET_REPOS:-1}-$scen-$tool-$rep.log" c0 s0 c1 s1 t0 t1 rc=0 summary secs b0 a0 b1 a1 k0 k1
  read -r c0 s0 < <(ssh_counts)
  export BENCH_SSH_TRACE="$BENCH_TMP/ssh-trace"; : >"$BENCH_SSH_TRACE"
  local me="$BASHPID"
  read -r b0 a0 < <(cpu_machine); k0=$(cpu_children "$me")
  t0=$(now)
  "$@" >"$log" 2>&1 || rc=$?
  t1=$(now)
  read -r b1 a1 < <(cpu_machine); k1=$(cpu_children "$me")
  sleep 0.2 # let sshd flush its log lines
  read -r c1 s1 < <(ssh_counts)
  if ((rc != 0)); then tail -n 40 "$log" >&2; die "$tool $scen (rep $rep, $hosts hosts) failed (exit $rc), log $log"; fi
  local -a a b; IFS=, read -r -a a <<<"$c0"; IFS=, read -r -a b <<<"$c1"
  local i conns=0 cmax=0 d dials
  for i in "${!b[@]}"; do d=$((b[i] - a[i])); conns=$((conns + d)); ((d > cmax)) && cmax=$d; done
  dials=$(wc -l <"$BENCH_SSH_TRACE"); unset BENCH_SSH_TRACE
  summary="$(change_summary "$tool" "$log")"
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  local busy toolcpu
  busy="$(awk -v b="$((b1 - b0))" -v a="$((a1 - a0))" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')"
  toolcpu="$(awk -v k="$((k1 - k0))" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", k / hz }')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TARGET_LABEL" "$hosts" "$scen" "$tool" "$rep" "$secs" \
    "$conns" "$cmax" "$((s1 - s0))" "$dials" "$([[ $tool == ansible ]] && ansible_settings || echo "${BENCH_PATH:-defaults}")" "$summary" \
    "$busy" "$toolcpu" "${TARGET_REPOS:-1}" >>"$RESULTS_TSV"
  printf '   %-9s %-8s r%-4s rep %s  %6.1fs  ssh conns %3s (max/host %s, docker ssh %s)  sessions %4s  CPU busy %3.0f%%, tool %5.1fs  %s\n' "$scen" "$tool" "${TARGET_REPOS:-1}" "$rep" \
    "$secs" "$conns" "$cmax" "$dials" "$((s1 - s0))" "$(awk -v x="$busy" 'BEGIN { print x * 100 }')" "$toolcpu" "$summary" >&2
}
# What the run did, one short string: pulumi's "Resources:" counts, ansible's recap totals.
change_summary() {
  if [[ "$1" == pulumi ]]; then
    awk '/^Resources:/ { on = 1; next } on && /^[[:space:]]*$/ { exit } on { sub(/^[[:space:]]+/, ""); printf "%s%s", sep, $0; sep = ", " }' "$2"
  else
    awk '/^PLAY RECAP/ { on = 1; next } on && /: ok=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "ok" || kv[1] == "changed" || kv[1] == "failed") t[kv[1]] += kv[2] } }
         END { printf "ok=%d changed=%d", t["ok"], t["changed"] }' "$2"
  fi
}
