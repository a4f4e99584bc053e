#!/usr/bin/env bash
# Benchmark: the Pulumi program vs an Ansible playbook doing the same steps (bench/ansible/), side by side on
# the same sandbox host, in one run. Debian 12, as root:
#
#   bash bench/run.sh
#
# Environment (bench/README.md has the details):
#   BENCH_REPS (3)                       repetitions per scenario and tool (the table shows medians)
#   BENCH_SCENARIOS ("fresh noop rotation drift")
#   BENCH_PATH (defaults)                the program's path: the defaults (@pulumi/command, @pulumi/docker);
#                                        ssh2 = remoteCommands ssh2 + imageSource ssh-pull (no plugins)
#   BENCH_FLEET ("")                     e.g. "1 10": also run every scenario against that many namespaced
#                                        hosts (bench/fleet.sh); "" = only the default sandbox host
#   BENCH_REPOSITORIES (1)               repositories per host on the sandbox host, e.g. "1 100 300": every scenario
#                                        at each count (Ansible given the same repositories)
#   BENCH_FLEET_REPOSITORIES (first of BENCH_REPOSITORIES)  the same for the fleet
#   BENCH_ANSIBLE_PIPELINING (True)      Ansible's ssh pipelining (False = Ansible's shipped default)
#   BENCH_ANSIBLE_FORKS (max(10, hosts)) Ansible's forks
#   BENCH_PARALLEL_DIFF ("")             1: PULUMI_PARALLEL_DIFF=true for the pulumi runs (the engine diffs in parallel)
#   BENCH_SKIP_DEFAULT ("")              1 = skip the default sandbox host (fleet only; the default host is untouched)
#   BENCH_KEEP_LOGS ("")                 1 = keep the run's logs (/tmp/gfh-bench.*) after a successful run
#   BENCH_DOCKER_SSH_MUX ("")            experiment: OpenSSH ControlMaster for the docker provider's ssh (bench/lib/trace/ssh)
# Writes bench/results/<UTC timestamp>.{md,json,dat,svg} and bench/results/latest.{md,svg} (latest-ssh2.* for
# BENCH_PATH=ssh2; kept in git, the others are ignored); the charts (seconds against hosts per scenario, and
# against repositories: latest-repositories.svg) are drawn by gnuplot (bench/lib/chart.gp).
# Where pulumi spends its time: bench/profile.sh.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
REPS="${BENCH_REPS:-3}"
SCENARIOS="${BENCH_SCENARIOS:-fresh noop rotation drift}"
source "$BENCH_DIR/lib/common.sh"
[[ $(id -u) -eq 0 ]] || die "run as root"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer"
REPOSITORY_COUNTS="${BENCH_REPOSITORIES:-1}"
read -r -a _counts <<<"$REPOSITORY_COUNTS"
FLEET_REPOSITORY_COUNTS="${BENCH_FLEET_REPOSITORIES:-${_counts[0]:-1}}"
for n in $REPOSITORY_COUNTS $FLEET_REPOSITORY_COUNTS; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPOSITORIES and BENCH_FLEET_REPOSITORIES are positive integers (got '$n')"
done

# ------------------------------------------------------------------------------------------- setup
say "packages (ansible, python3-docker for community.docker, rsync for ansible.posix.synchronize, socat for the fleet, gnuplot-nox for the chart)"
missing=()
for p in ansible python3-docker rsync socat gnuplot-nox; do [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *'install ok installed'* ]] || missing+=("$p"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
say "Node.js and node dependencies"
source "$REPO/scripts/node-env.sh"
gfh_node "$REPO"
gfh_node_modules "$REPO"
say "Pulumi toolchain"
BIN="$(bash "$REPO/scripts/toolchain.sh" | tail -n 1)" || die "scripts/toolchain.sh failed (GFH_UPSTREAM names the upstream sources when ../shared is not beside the clone)"
PATH="$BIN:$PATH"
say "  $(command -v pulumi), $(command -v pulumi-language-nodejs), node $(node --version)"
say "sandbox host"
bash "$REPO/scripts/sandbox.sh" up >/dev/null
eval "$(bash "$REPO/scripts/sandbox.sh" env)"
if pgrep -f 'pulumi-language-nodejs|vitest' >/dev/null; then
  say "WARNING: other pulumi/vitest processes are running on this machine; they share the sandbox host and the CPUs"
fi

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
BENCH_TMP="$(mktemp -d /tmp/gfh-bench.XXXXXX)"
mkdir -p "$BENCH_TMP/logs"
RESULTS_TSV="$BENCH_TMP/results.tsv"
: >"$RESULTS_TSV"; : >"$BENCH_TMP/notes.tsv"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
cleanup() {
  local rc=$?
  [[ "$(type -t fleet_down)" == function ]] && fleet_down || true
  if ((rc == 0)) && [[ -z "${BENCH_KEEP_LOGS:-}" ]]; then rm -rf "$BENCH_TMP"; else say "kept $BENCH_TMP (logs)"; fi
}
trap cleanup EXIT
[[ -z "${BENCH_PARALLEL_DIFF:-}" ]] || export PULUMI_PARALLEL_DIFF=true

# Codex auth state, seeded once (the same for both tools), restored after every reset: neither tool logs in.
say "Codex auth state (seed-codex once, restored before every fresh run)"
bash "$REPO/scripts/sandbox.sh" seed-codex "$BENCH_TMP/seed/codex" >/dev/null
tar -C "$BENCH_TMP/seed" -cpf "$BENCH_TMP/codex.tar" codex

# ------------------------------------------------------------------------------ target: default host
# A target defines: TARGET_LABEL (sandbox|fleet), TARGET_HOSTS (count), HOSTS_JSON, INVENTORY, KNOWN_HOSTS, SSHD_LOGS, target_reset, target_drift.
default_target() {
  TARGET_LABEL=sandbox TARGET_HOSTS=1
  HOSTS_JSON=$(printf '[{"name":"sandbox","address":"%s","port":%s,"user":"%s","hostKey":"%s"}]' \
    "$GFH_SANDBOX_HOST" "$GFH_SANDBOX_PORT" "$GFH_SANDBOX_SSH_USER" "$GFH_SANDBOX_HOST_KEY")
  INVENTORY=$(printf '[flows]\nsandbox ansible_host=%s ansible_port=%s ansible_user=%s ansible_ssh_private_key_file=%s' \
    "$GFH_SANDBOX_HOST" "$GFH_SANDBOX_PORT" "$GFH_SANDBOX_SSH_USER" "$GFH_SANDBOX_KEY_FILE")
  KNOWN_HOSTS="$GFH_SANDBOX_KNOWN_HOSTS"
  SSHD_LOGS=("$GFH_SANDBOX_STATE_DIR/sshd.log")
  target_reset() {
    bash "$REPO/scripts/sandbox.sh" reset-host >/dev/null
    runuser -u user -- mkdir -p /home/user/.secrets
    tar -C /home/user/.secrets -xpf "$BENCH_TMP/codex.tar"
  }
  target_drift() { chmod 644 /home/user/.secrets/gh-token; }
  target_mode() { stat -c %a /home/user/.secrets/gh-token; }
}

# ------------------------------------------------------------------------------------------ scenarios
other() { [[ "$1" == valid ]] && echo rotated || echo valid; }
token_value() { [[ "$1" == valid ]] && echo "$GFH_SANDBOX_VALID_TOKEN" || echo "$GFH_SANDBOX_ROTATED_TOKEN"; }
P_TOKEN=valid
set_p_token() { P_TOKEN="$1"; pulumi_set_token "$PDIR" "$(token_value "$1")" >/dev/null; }
pulumi_up() { pulumi_cli "$PDIR" up --yes --skip-preview; }
# Both tools agree on the host: pulumi up (untimed), then the playbook must change nothing.
sync_both() {
  set_p_token valid
  pulumi_up >"$BENCH_TMP/logs/sync-pulumi.log" 2>&1 || { tail -30 "$BENCH_TMP/logs/sync-pulumi.log"; die "sync: pulumi up failed"; }
  ansible_run "$ADIR" valid >"$BENCH_TMP/logs/sync-ansible.log" 2>&1 || { tail -30 "$BENCH_TMP/logs/sync-ansible.log"; die "sync: playbook failed"; }
  local s; s="$(change_summary ansible "$BENCH_TMP/logs/sync-ansible.log")"
  say "  consistency: playbook right after pulumi up: $s (changed=0: both tools write the same bytes)"
  printf '%s %s host(s), %s repositories\tconsistency\t%s\n' "$TARGET_LABEL" "$TARGET_HOSTS" "$TARGET_REPOS" "$s" >>"$BENCH_TMP/notes.tsv"
}
first_second() { (( $1 % 2 )) && echo "pulumi ansible" || echo "ansible pulumi"; } # alternate who goes first

run_fresh() {
  local r tool
  for r in $(seq 1 "$REPS"); do
    for tool in $(first_second "$r"); do
      target_reset
      if [[ $tool == pulumi ]]; then
        pulumi_empty_state "$PDIR"; set_p_token valid
        measure fresh pulumi "$r" "$TARGET_HOSTS" -- pulumi_up
      else
        measure fresh ansible "$r" "$TARGET_HOSTS" -- ansible_run "$ADIR" valid
      fi
    done
  done
}
run_noop() {
  sync_both
  local r tool
  for r in $(seq 1 "$REPS"); do
    for tool in $(first_second "$r"); do
      if [[ $tool == pulumi ]]; then measure noop pulumi "$r" "$TARGET_HOSTS" -- pulumi_cli "$PDIR" preview
      else measure noop ansible "$r" "$TARGET_HOSTS" -- ansible_run "$ADIR" valid --check --diff; fi
    done
  done
}
run_rotation() {
  local r new
  for r in $(seq 1 "$REPS"); do
    # The host holds pulumi's current token (untimed up), then each tool rotates it to the other one.
    pulumi_up >"$BENCH_TMP/logs/rotation-prep-$r.log" 2>&1 || die "rotation prep failed"
    new="$(other "$P_TOKEN")"
    set_p_token "$new"
    measure rotation pulumi "$r" "$TARGET_HOSTS" -- pulumi_up
    measure rotation ansible "$r" "$TARGET_HOSTS" -- ansible_run "$ADIR" "$(other "$new")"
  done
}
run_drift() {
  sync_both
  local r tool
  for r in $(seq 1 "$REPS"); do
    for tool in $(first_second "$r"); do
      target_drift
      if [[ $tool == pulumi ]]; then measure drift pulumi "$r" "$TARGET_HOSTS" -- pulumi_up
      else measure drift ansible "$r" "$TARGET_HOSTS" -- ansible_run "$ADIR" valid; fi
      local m; m="$(target_mode)"
      [[ "$m" == *600* && "$m" != *644* ]] || die "$tool did not repair the token file mode (saw $m)"
    done
  done
}

# The repositories of a run with N of them: the sandbox's demo repository and N-1 more the fake GitHub API knows
# (fixtures: `bulk/*`), as JSON.
repositories_json() {
  local n="$1" i out='["acme/demo"'
  for ((i = 1; i < n; i++)); do out+=$(printf ',"bulk/repository-%03d"' "$i"); done
  echo "$out]"
}
run_target() { # run_target REPOSITORIES
  TARGET_REPOS="$1"
  local tag="$TARGET_LABEL-$TARGET_HOSTS-r$TARGET_REPOS"
  PDIR="$BENCH_TMP/pulumi-$tag"; ADIR="$BENCH_TMP/ansible-$tag"
  say "target: $TARGET_LABEL, $TARGET_HOSTS host(s), $TARGET_REPOS repositories; program path ${BENCH_PATH:-defaults}; ansible $(ansible_settings); stacks in $PDIR"
  # Whatever the first scenario, the host starts as a reset one with the Codex auth state (a run right after
  # another one finds the host as that run's reset left it: no Codex auth state, so its sync would fail).
  target_reset
  pulumi_setup "$PDIR" "$HOSTS_JSON" "$(repositories_json "$TARGET_REPOS")"
  ansible_setup "$ADIR" "$INVENTORY" "$KNOWN_HOSTS" "$(repositories_json "$TARGET_REPOS")"
  P_TOKEN=valid
  local s
  for s in $SCENARIOS; do say "scenario $s ($TARGET_HOSTS host(s), $TARGET_REPOS repositories, $REPS reps)"; "run_$s"; done
}

if [[ "${BENCH_SKIP_DEFAULT:-}" != 1 ]]; then
  default_target
  for r in $REPOSITORY_COUNTS; do run_target "$r"; done
  # Leave the default host as the sandbox leaves it: fresh.
  bash "$REPO/scripts/sandbox.sh" reset-host >/dev/null
fi
if [[ -n "${BENCH_FLEET:-}" ]]; then
  source "$BENCH_DIR/fleet.sh"
  for n in $BENCH_FLEET; do
    fleet_up "$n"
    fleet_target "$n"
    for r in $FLEET_REPOSITORY_COUNTS; do run_target "$r"; done
    fleet_down
  done
fi

LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$BENCH_DIR/results"
BENCH_ENV="$(printf 'program path %s, pulumi %s, ansible-core %s, node %s, %s CPUs, reps %s, PULUMI_PARALLEL_DIFF %s, load average %s at the start, %s at the end' \
  "${BENCH_PATH:-defaults}" "$(pulumi version)" "$(ansible --version | sed -n '1{s/.*core //; s/\]//; p}')" "$(node --version)" "$(nproc)" "$REPS" \
  "${PULUMI_PARALLEL_DIFF:-unset}" "$LOAD_START" "$LOAD_END")" \
  BENCH_PATH="${BENCH_PATH:-defaults}" node "$BENCH_DIR/lib/stats.mjs" "$RESULTS_TSV" "$BENCH_TMP/notes.tsv" "$BENCH_DIR/results/$STAMP"
say "chart (gnuplot)"
gnuplot -e "datafile='$BENCH_DIR/results/$STAMP.dat'; outfile='$BENCH_DIR/results/$STAMP.svg'" "$BENCH_DIR/lib/chart.gp"
[[ ! -f "$BENCH_DIR/results/$STAMP-repositories.dat" ]] ||
  gnuplot -e "datafile='$BENCH_DIR/results/$STAMP-repositories.dat'; outfile='$BENCH_DIR/results/$STAMP-repositories.svg'" "$BENCH_DIR/lib/chart.gp"
# latest.* is the defaults' run; another path or the mux experiment has its own (latest-ssh2.*, latest-mux.*).
LATEST="latest$([[ "${BENCH_PATH:-defaults}" == defaults ]] || echo "-$BENCH_PATH")$([[ -z "${BENCH_DOCKER_SSH_MUX:-}" ]] || echo -mux)$([[ -z "${BENCH_PARALLEL_DIFF:-}" ]] || echo -parallel-diff)"
cp "$BENCH_DIR/results/$STAMP.md" "$BENCH_DIR/results/$LATEST.md"
cp "$BENCH_DIR/results/$STAMP.svg" "$BENCH_DIR/results/$LATEST.svg"
[[ ! -f "$BENCH_DIR/results/$STAMP-repositories.svg" ]] || cp "$BENCH_DIR/results/$STAMP-repositories.svg" "$BENCH_DIR/results/$LATEST-repositories.svg"
say "results: bench/results/$STAMP.{md,json,svg} (and $LATEST.md, $LATEST.svg)"
