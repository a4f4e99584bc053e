#!/usr/bin/env bash
# Sandbox host for github-flows-host: a loopback "Linux host" that the program under test provisions over SSH.
#
#   scripts/sandbox.sh up            start everything (idempotent; cold: a few minutes, warm: seconds)
#   scripts/sandbox.sh down [--all]  stop sshd, fake GitHub API, registry; --all also stops the dockerd we started
#   scripts/sandbox.sh status        one line per service; exit 1 if any is down
#   scripts/sandbox.sh env           shell-sourceable GFH_SANDBOX_* lines (also in <state>/env)
#   scripts/sandbox.sh reset-host    remove ~user/.secrets, ~user/app, the agent image from the daemon,
#                                    and the fake API's request log / pending failures (a fresh host per test file);
#                                    sets the runtime user's home back to /home/<user> if a test moved it
#   scripts/sandbox.sh seed-codex DIR  write Codex auth state into DIR as `codex login --with-api-key` leaves it
#
# Must run as root (Debian 12). What it sets up, in one network namespace (the root one):
#   dockerd (--iptables=false --bridge=none; containers use --network host|none), a docker-registry on
#   127.0.0.1:5000 holding 127.0.0.1:5000/github-flows-agent-codex:latest (debootstrap'ed bookworm + gh + codex),
#   the runtime user (`user`, in group docker), an sshd on 127.0.0.1:2222 with its own host keys (ed25519, ECDSA,
#   RSA) and authorized keys file (the runtime user and root, key only), the same sshd on 127.0.0.1:2223 where root
#   is refused, for `admin` (passwordless sudo in /etc/sudoers.d, not in group docker), `nosudo` (no sudo rule) and
#   `pwsudo` (sudo asks for a password), and a fake GitHub API (scripts/sandbox/fake-github.mjs) on 127.0.0.1:80 reached as
#   api.github.localhost via /etc/hosts, with a control endpoint on 127.0.0.1:8081.
# The image has ENV GH_HOST=github.localhost baked in, so gh in it talks to the fake API without extra -e.
# dockerd runs with --bridge=none: a container started without --network gets only a loopback interface
# (no error, but nothing reachable), so anything in it that must reach the fake API needs --network host.
#
# Environment knobs (all optional):
#   GFH_SANDBOX_NAME (default)            instance name: state subdir and the /etc/hosts marker
#   GFH_SANDBOX_DIR (/var/lib/github-flows-host/sandbox)   state root; the instance uses $GFH_SANDBOX_DIR/$NAME
#   GFH_CACHE (/var/cache/github-flows-host)               slow artefacts in $GFH_CACHE/sandbox (kept across runs)
#   GFH_SANDBOX_USER (user), GFH_SANDBOX_UID (1000 if free, else the next free UID; the image gets the same UID)
#   GFH_SANDBOX_SSH_PORT (2222), GFH_SANDBOX_REGISTRY_PORT (5000), GFH_SANDBOX_API_PORT (80),
#   GFH_SANDBOX_CONTROL_PORT (8081), GFH_SANDBOX_CODEX_VERSION (0.171.0), GFH_SANDBOX_MIRROR (from apt sources),
#   GFH_FAKE_GITHUB_FIXTURES (scripts/sandbox/fixtures.json)
#
# Several instances at once (a benchmark wants 10): everything instance-specific is already keyed by
# GFH_SANDBOX_NAME or an env knob, but in the root namespace they would still share /etc/hosts, port 80, the
# host's user database, /home and the one dockerd. A multi-instance version would run each instance's
# services inside `unshare --net --mount --uts` (own loopback, so the same ports 2222/5000/80/8081 work; the
# test runner reaches sshd through `ip netns exec` or a veth pair), with a private mount namespace that
# bind-mounts its own /etc/hosts, /etc/passwd+/etc/group+/etc/shadow, /home and /var/lib/docker + /run/docker*,
# and its own dockerd (own --data-root, --exec-root, -H unix socket, --pidfile) so that image pulls, tags and
# `reset-host` of one instance cannot be seen by another. The cache dir ($GFH_CACHE) stays shared (read-only
# use after the first build; guarded by the flock below).
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="${GFH_SANDBOX_NAME:-default}"
STATE_ROOT="${GFH_SANDBOX_DIR:-/var/lib/github-flows-host/sandbox}"
STATE="$STATE_ROOT/$NAME"
CACHE="${GFH_CACHE:-/var/cache/github-flows-host}/sandbox"
RUSER="${GFH_SANDBOX_USER:-user}"
RHOME="/home/$RUSER"
SSH_PORT="${GFH_SANDBOX_SSH_PORT:-2222}"
# A second sshd port where root may not log in (a cloud image's sshd), for the sudo admin and the accounts that
# cannot become root; port $SSH_PORT allows what it always did.
ADMIN_PORT="${GFH_SANDBOX_ADMIN_PORT:-2223}"
ADMIN_USER="admin"     # passwordless sudo, not in group docker
NOSUDO_USER="nosudo"   # no sudo rule at all
PWSUDO_USER="pwsudo"   # sudo that asks for a password
REGISTRY_PORT="${GFH_SANDBOX_REGISTRY_PORT:-5000}"
API_PORT="${GFH_SANDBOX_API_PORT:-80}"
CONTROL_PORT="${GFH_SANDBOX_CONTROL_PORT:-8081}"
GITHUB_HOST="github.localhost"
CODEX_VERSION="${GFH_SANDBOX_CODEX_VERSION:-0.171.0}"
FIXTURES="${GFH_FAKE_GITHUB_FIXTURES:-$SCRIPT_DIR/sandbox/fixtures.json}"
VALID_TOKEN="ghp_sandboxvalidtoken0001"
ROTATED_TOKEN="ghp_sandboxrotated0002"
VALID_LOGIN="flows-bot"
IMAGE_REPO="github-flows-agent-codex"
IMAGE_REF="127.0.0.1:$REGISTRY_PORT/$IMAGE_REPO:latest"
BUILD_TAG="$IMAGE_REPO:sandbox"
IMAGE_FORMAT_VERSION=2 # bump when the image recipe changes, to invalidate the cached tarball
HOSTS_BEGIN="# BEGIN github-flows-host sandbox $NAME"
HOSTS_END="# END github-flows-host sandbox $NAME"
PACKAGES=(openssh-server openssh-sftp-server openssh-client docker.io docker-registry gh debootstrap iproute2 curl jq ca-certificates xz-utils sudo)
export DEBIAN_FRONTEND=noninteractive

T0=$(date +%s.%N)
PHASE="start"
say() { printf 'sandbox: %s\n' "$*"; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }
die() { printf 'sandbox: ERROR [%s]: %s\n' "$PHASE" "$*" >&2; exit 1; }
trap 'rc=$?; printf "sandbox: ERROR [%s]: command failed (exit %s) at line %s: %s\n" "$PHASE" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR
tail_log() { [[ -f "$1" ]] && { echo "---- last lines of $1:" >&2; tail -n "${2:-30}" "$1" >&2; echo "----" >&2; } || true; }

[[ "$NAME" =~ ^[a-z0-9][a-z0-9_-]{0,30}$ ]] || die "GFH_SANDBOX_NAME must match [a-z0-9][a-z0-9_-]*"
[[ "$RUSER" =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || die "GFH_SANDBOX_USER is not a valid user name"

. "$SCRIPT_DIR/lib/proc.sh"

lock() {
  mkdir -p "$STATE_ROOT"
  exec 9>"$STATE_ROOT/.lock"
  flock -w 900 9 || die "could not get $STATE_ROOT/.lock within 900 s (another sandbox.sh running?)"
}
need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root"; }

docker_ok() { timeout 10 docker info >/dev/null 2>&1; }
registry_ok() { curl -fs -m 2 -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/v2/"; }
api_ok() { curl -fs -m 2 -o /dev/null "http://127.0.0.1:$CONTROL_PORT/_control/health"; }
registry_has_image() {
  curl -fs -m 5 -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$REGISTRY_PORT/v2/$IMAGE_REPO/manifests/latest"
}

# ------------------------------------------------------------------------------------------------ phases
phase_packages() {
  PHASE=packages
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *'install ok installed'* ]] || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then say "packages: all present"; return; fi
  say "packages: installing ${missing[*]}"
  # No init system here (PID 1 is not systemd): keep maintainer scripts from starting the packaged services
  # (sshd on :22, dockerd with a bridge and iptables, registry on :5000) through invoke-rc.d.
  local guard=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1
  fi
  local log="$STATE_ROOT/apt.log" rc=0
  mkdir -p "$STATE_ROOT"
  { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || rc=$?
  [[ -n "$guard" ]] && rm -f /usr/sbin/policy-rc.d
  if ((rc != 0)); then tail_log "$log"; die "apt-get failed (exit $rc), see $log"; fi
  say "packages: installed ($(elapsed))"
}

phase_dirs() {
  PHASE=dirs
  mkdir -p "$STATE" "$STATE/authorized_keys" "$STATE/registry" "$CACHE"
  chmod 755 "$STATE_ROOT" "$STATE" "$STATE/authorized_keys"
}

phase_dockerd() {
  PHASE=dockerd
  getent group docker >/dev/null || groupadd --system docker
  if docker_ok; then
    say "dockerd: running ($(docker info --format '{{.Driver}}' 2>/dev/null) storage)"
  else
    local log="$STATE_ROOT/dockerd.log" driver
    for driver in overlay2 vfs; do
      say "dockerd: starting (storage $driver), log $log"
      echo "==== $(date -Is) dockerd --storage-driver=$driver" >>"$log"
      launch "$STATE_ROOT/dockerd.pid" "$log" dockerd --iptables=false --ip-masq=false --bridge=none \
        --storage-driver="$driver" --group docker --pidfile "$STATE_ROOT/dockerd.pid.daemon"
      if wait_until 60 docker_ok; then break; fi
      if pid_alive "$STATE_ROOT/dockerd.pid"; then
        tail_log "$log"; die "dockerd (pid $(cat "$STATE_ROOT/dockerd.pid")) did not answer docker info within 60 s"
      fi
      if [[ $driver == vfs ]]; then tail_log "$log"; die "dockerd exited with overlay2 and with vfs"; fi
      say "dockerd: exited with overlay2, falling back to vfs"
      tail_log "$log" 8
    done
    say "dockerd: ready ($(docker info --format '{{.Driver}}') storage, $(elapsed))"
  fi
  # A daemon started before the group existed leaves the socket root:root; the runtime user needs it.
  [[ -S /var/run/docker.sock && "$(stat -c %G /var/run/docker.sock)" != docker ]] && chgrp docker /var/run/docker.sock
  return 0
}

phase_registry() {
  PHASE=registry
  local conf="$STATE/registry.yml"
  cat >"$conf.new" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
  mv "$conf.new" "$conf"
  if registry_ok; then say "registry: running on 127.0.0.1:$REGISTRY_PORT"; return; fi
  port_open "$REGISTRY_PORT" && die "127.0.0.1:$REGISTRY_PORT is taken by something that is not a registry"
  say "registry: starting on 127.0.0.1:$REGISTRY_PORT (storage $STATE/registry)"
  launch "$STATE/registry.pid" "$STATE/registry.log" docker-registry serve "$conf"
  wait_service "$STATE/registry.pid" 30 registry_ok || { tail_log "$STATE/registry.log"; die "registry did not answer /v2/ within 30 s"; }
  say "registry: ready ($(elapsed))"
}

pick_uid() {
  local uid
  if [[ -n "${GFH_SANDBOX_UID:-}" ]]; then echo "$GFH_SANDBOX_UID"; return; fi
  uid=1000
  while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
  echo "$uid"
}

phase_user() {
  PHASE=user
  local uid gid owner
  if id -u "$RUSER" >/dev/null 2>&1; then
    uid="$(id -u "$RUSER")"; gid="$(id -g "$RUSER")"
    [[ -n "${GFH_SANDBOX_UID:-}" && "$GFH_SANDBOX_UID" != "$uid" ]] &&
      die "user $RUSER exists with UID $uid, but GFH_SANDBOX_UID=$GFH_SANDBOX_UID"
    say "user: $RUSER exists (uid $uid, gid $gid)"
  else
    uid="$(pick_uid)"
    [[ "$uid" =~ ^[0-9]+$ ]] || die "GFH_SANDBOX_UID must be a number"
    if owner="$(getent passwd "$uid")"; then
      die "UID $uid is taken by ${owner%%:*}; set GFH_SANDBOX_UID to a free UID (or GFH_SANDBOX_USER=${owner%%:*})"
    fi
    if [[ "$uid" != 1000 && -z "${GFH_SANDBOX_UID:-}" ]]; then
      say "user: UID 1000 is taken by $(getent passwd 1000 | cut -d: -f1); using UID $uid (set GFH_SANDBOX_UID to choose)"
    fi
    if getent group "$RUSER" >/dev/null; then
      gid="$(getent group "$RUSER" | cut -d: -f3)"
    else
      gid="$uid"
      getent group "$gid" >/dev/null && gid="" # let groupadd choose
      groupadd ${gid:+-g "$gid"} "$RUSER"
      gid="$(getent group "$RUSER" | cut -d: -f3)"
    fi
    useradd -m -d "$RHOME" -s /bin/bash -u "$uid" -g "$gid" -G docker "$RUSER"
    say "user: created $RUSER (uid $uid, gid $gid, home $RHOME)"
  fi
  [[ " $(id -nG "$RUSER") " == *" docker "* ]] || usermod -aG docker "$RUSER"
  # With UsePAM no, a locked account ('!' password) is refused even with a valid key; '*' = no password, not locked.
  local pw; pw="$(getent shadow "$RUSER" | cut -d: -f2)"
  [[ "$pw" == "*" ]] || usermod -p '*' "$RUSER"
  [[ -d "$RHOME" ]] || { mkdir -p "$RHOME"; chown "$uid:$gid" "$RHOME"; chmod 750 "$RHOME"; }
  RUID="$uid"; RGID="$gid"
}

# The login accounts of a host where root login is off: one admin with passwordless sudo outside group docker (what
# cloud images have), one without any sudo rule, one whose sudo asks for a password. Key login only.
phase_admins() {
  PHASE=admins
  local u
  for u in "$ADMIN_USER" "$NOSUDO_USER" "$PWSUDO_USER"; do
    id -u "$u" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$u"; say "admins: created $u"; }
    # Not in group docker: the daemon is reached only through sudo.
    [[ " $(id -nG "$u") " != *" docker "* ]] || gpasswd -d "$u" docker >/dev/null
  done
  usermod -p '*' "$ADMIN_USER"; usermod -p '*' "$NOSUDO_USER"
  # A real password, so that sudo has something to ask for (never given: `sudo -n` must refuse at once).
  [[ "$(getent shadow "$PWSUDO_USER" | cut -d: -f2)" == '$'* ]] || echo "$PWSUDO_USER:sandbox-sudo-password" | chpasswd
  local f=/etc/sudoers.d/github-flows-host-sandbox
  printf '# generated by scripts/sandbox.sh\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n%s ALL=(ALL:ALL) ALL\n' "$ADMIN_USER" "$PWSUDO_USER" >"$f.new"
  chmod 440 "$f.new"
  visudo -cq -f "$f.new" || die "visudo rejects $f.new"
  mv "$f.new" "$f"
  say "admins: $ADMIN_USER (NOPASSWD sudo), $NOSUDO_USER (no sudo), $PWSUDO_USER (sudo with a password)"
}

phase_sshd() {
  PHASE=sshd
  mkdir -p /run/sshd && chmod 755 /run/sshd
  local hk="$STATE/ssh_host_ed25519_key" ck="$STATE/client_ed25519" conf="$STATE/sshd_config"
  # ECDSA and RSA host keys beside ed25519: pinning a non-preferred key type must work (tests pin each).
  local ek="$STATE/ssh_host_ecdsa_key" rk="$STATE/ssh_host_rsa_key"
  [[ -s "$hk" ]] || ssh-keygen -q -t ed25519 -N '' -C "github-flows-host-sandbox-$NAME" -f "$hk"
  [[ -s "$ek" ]] || ssh-keygen -q -t ecdsa -b 256 -N '' -C "github-flows-host-sandbox-$NAME" -f "$ek"
  [[ -s "$rk" ]] || ssh-keygen -q -t rsa -b 3072 -N '' -C "github-flows-host-sandbox-$NAME" -f "$rk"
  [[ -s "$ck" ]] || ssh-keygen -q -t ed25519 -N '' -C "github-flows-host-sandbox-client-$NAME" -f "$ck"
  chmod 600 "$hk" "$ek" "$rk" "$ck"
  install -m 644 "$ck.pub" "$STATE/authorized_keys/$RUSER"
  # Root may log in with the same key (never with a password): a real fleet uses root as the SSH user, and the
  # tests that treat the runtime user as an adversary need it. With UsePAM no, a '!' (locked) password field
  # refuses even a valid key; '*' means "no password" without locking.
  install -m 644 "$ck.pub" "$STATE/authorized_keys/root"
  local u
  for u in "$ADMIN_USER" "$NOSUDO_USER" "$PWSUDO_USER"; do install -m 644 "$ck.pub" "$STATE/authorized_keys/$u"; done
  case "$(getent shadow root | cut -d: -f2)" in '!'|'!*') usermod -p '*' root ;; esac
  { printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$hk.pub")"
    printf '[127.0.0.1]:%s %s\n' "$ADMIN_PORT" "$(cut -d' ' -f1,2 "$hk.pub")"; } >"$STATE/known_hosts"
  local sftp=/usr/lib/openssh/sftp-server
  cat >"$conf.new" <<EOF
# generated by scripts/sandbox.sh ($NAME)
Port $SSH_PORT
Port $ADMIN_PORT
ListenAddress 127.0.0.1
HostKey $hk
HostKey $ek
HostKey $rk
PidFile $STATE/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers $RUSER root
StrictModes yes
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
# the program under test may open many connections at once (Pulumi runs resources in parallel)
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp $sftp
# The cloud-image door: root refused, the admin accounts allowed (port $SSH_PORT keeps the AllowUsers above).
Match LocalPort $ADMIN_PORT
  PermitRootLogin no
  AllowUsers $ADMIN_USER $NOSUDO_USER $PWSUDO_USER $RUSER root
EOF
  /usr/sbin/sshd -t -f "$conf.new" || die "sshd rejects $conf.new"
  local changed=1
  cmp -s "$conf.new" "$conf" && changed=0
  mv "$conf.new" "$conf"
  if pid_alive "$STATE/sshd.pid" && port_open "$SSH_PORT"; then
    if ((changed)); then kill -HUP "$(cat "$STATE/sshd.pid")"; sleep 0.3; say "sshd: config changed, reloaded"
    else say "sshd: running on 127.0.0.1:$SSH_PORT"; fi
  else
    port_open "$SSH_PORT" && die "127.0.0.1:$SSH_PORT is taken by another process"
    say "sshd: starting on 127.0.0.1:$SSH_PORT, log $STATE/sshd.log"
    /usr/sbin/sshd -f "$conf" -E "$STATE/sshd.log" 9>&- || { tail_log "$STATE/sshd.log"; die "sshd failed to start"; }
    wait_until 15 port_open "$SSH_PORT" || { tail_log "$STATE/sshd.log"; die "sshd does not accept on port $SSH_PORT"; }
  fi
  local out
  if ! out="$(ssh_user 'docker info >/dev/null && id' 2>&1)"; then
    echo "$out" >&2; tail_log "$STATE/sshd.log" 15; die "ssh $RUSER@127.0.0.1:$SSH_PORT 'docker info && id' failed"
  fi
  say "sshd: ssh as $RUSER works: $out ($(elapsed))"
  if ! out="$(ssh_as root 'id -un' 2>&1)" || [[ "$out" != root ]]; then
    echo "$out" >&2; tail_log "$STATE/sshd.log" 15; die "ssh root@127.0.0.1:$SSH_PORT (key only) failed"
  fi
  say "sshd: ssh as root (key only) works"
  wait_until 15 port_open "$ADMIN_PORT" || { tail_log "$STATE/sshd.log"; die "sshd does not accept on port $ADMIN_PORT"; }
  if ! out="$(ssh_as "$ADMIN_USER" -p "$ADMIN_PORT" 'sudo -n id -un; id -nG' 2>&1)" || [[ "$out" != root$'\n'* || " ${out#*$'\n'} " == *" docker "* ]]; then
    echo "$out" >&2; tail_log "$STATE/sshd.log" 15; die "ssh $ADMIN_USER@127.0.0.1:$ADMIN_PORT 'sudo -n id -un' did not print root (or $ADMIN_USER is in group docker)"
  fi
  if out="$(ssh_as root -p "$ADMIN_PORT" true 2>&1)"; then die "ssh root@127.0.0.1:$ADMIN_PORT worked: root must be refused there"; fi
  say "sshd: port $ADMIN_PORT: $ADMIN_USER sudo -n works, root refused"
}

ssh_as() { # ssh_as USER [-p PORT] CMD...
  local who="$1" port="$SSH_PORT"; shift
  if [[ "${1:-}" == -p ]]; then port="$2"; shift 2; fi
  ssh -i "$STATE/client_ed25519" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$STATE/known_hosts" -o ConnectTimeout=10 -o LogLevel=ERROR "$who@127.0.0.1" "$@"
}
ssh_user() { ssh_as "$RUSER" "$@"; }

hosts_block() { printf '%s\n127.0.0.1 %s api.%s\n%s\n' "$HOSTS_BEGIN" "$GITHUB_HOST" "$GITHUB_HOST" "$HOSTS_END"; }
hosts_without_block() { awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts; }
hosts_present() { grep -qxF "$HOSTS_BEGIN" /etc/hosts; }
hosts_add() {
  local want; want="$(hosts_without_block; hosts_block)"
  [[ "$want" == "$(cat /etc/hosts)" ]] && return 0
  # /etc/hosts may be a bind mount: rewrite it in place, do not replace the file.
  printf '%s\n' "$want" >"$STATE/hosts.new" && cat "$STATE/hosts.new" >/etc/hosts && rm -f "$STATE/hosts.new"
}
hosts_remove() {
  hosts_present || return 0
  hosts_without_block >"$STATE/hosts.new" && cat "$STATE/hosts.new" >/etc/hosts && rm -f "$STATE/hosts.new"
}

phase_fake_github() {
  PHASE=fake-github
  [[ -r "$FIXTURES" ]] || die "fixtures file $FIXTURES not readable"
  jq -e .tokens "$FIXTURES" >/dev/null || die "fixtures file $FIXTURES is not valid JSON with .tokens"
  hosts_add
  local running="" fresh=0 health code
  # The code the fake reports (sha256 of its *.mjs files, name order) must be the code on disk.
  code="$(cd "$SCRIPT_DIR/sandbox" && cat $(printf '%s\n' *.mjs | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)"
  if api_ok; then
    health="$(curl -fsS -m 2 "http://127.0.0.1:$CONTROL_PORT/_control/health")"
    running="$(jq -r .fixtures <<<"$health")"
    if [[ "$running" != "$FIXTURES" || "$(jq -r .code <<<"$health")" != "$code" ]]; then
      say "fake-github: running with fixtures $running (other code or fixtures), restarting with $FIXTURES"
      stop_pidfile "$STATE/fake-github.pid" fake-github
      api_ok && die "a fake GitHub API not started by this instance answers on :$CONTROL_PORT"
    fi
  fi
  if api_ok; then
    say "fake-github: running on 127.0.0.1:$API_PORT (control :$CONTROL_PORT)"
  else
    port_open "$API_PORT" && die "127.0.0.1:$API_PORT is taken by another process"
    say "fake-github: starting on 127.0.0.1:$API_PORT, control :$CONTROL_PORT, log $STATE/fake-github.log"
    GFH_FAKE_GITHUB_FIXTURES="$FIXTURES" GFH_FAKE_GITHUB_PORT="$API_PORT" GFH_FAKE_GITHUB_CONTROL_PORT="$CONTROL_PORT" \
      GFH_FAKE_GITHUB_WEB_HOST="$GITHUB_HOST" launch "$STATE/fake-github.pid" "$STATE/fake-github.log" \
      node "$SCRIPT_DIR/sandbox/fake-github.mjs"
    wait_service "$STATE/fake-github.pid" 15 api_ok || { tail_log "$STATE/fake-github.log"; die "fake GitHub API did not start"; }
    echo "$code" >"$STATE/fake-github.code"
    fresh=1
  fi
  if ((fresh)); then
    # Check with the host's gh (same Debian gh as in the image) that the wiring works; then drop the log.
    local ghcfg login; ghcfg="$(mktemp -d)"
    login="$(GH_CONFIG_DIR="$ghcfg" GH_HOST="$GITHUB_HOST" GH_TOKEN="$VALID_TOKEN" gh api user --jq .login 2>&1)" || true
    rm -rf "$ghcfg"
    [[ "$login" == "$VALID_LOGIN" ]] || { tail_log "$STATE/fake-github.log"; die "gh api user via $GITHUB_HOST answered: $login"; }
    curl -fsS -m 2 -X DELETE -o /dev/null "http://127.0.0.1:$CONTROL_PORT/_control/requests"
    say "fake-github: ready, gh api user -> $login ($(elapsed))"
  fi
}

. "$SCRIPT_DIR/sandbox/image.sh"

env_lines() {
  local hostkey
  hostkey="$(cut -d' ' -f1,2 "$STATE/ssh_host_ed25519_key.pub")"
  cat <<EOF
GFH_SANDBOX_NAME=$NAME
GFH_SANDBOX_HOST=127.0.0.1
GFH_SANDBOX_PORT=$SSH_PORT
GFH_SANDBOX_SSH_USER=$RUSER
GFH_SANDBOX_ROOT_USER=root
GFH_SANDBOX_ADMIN_PORT=$ADMIN_PORT
GFH_SANDBOX_ADMIN_USER=$ADMIN_USER
GFH_SANDBOX_NOSUDO_USER=$NOSUDO_USER
GFH_SANDBOX_PWSUDO_USER=$PWSUDO_USER
GFH_SANDBOX_HOST_KEY_ECDSA='$(cut -d' ' -f1,2 "$STATE/ssh_host_ecdsa_key.pub")'
GFH_SANDBOX_HOST_KEY_RSA='$(cut -d' ' -f1,2 "$STATE/ssh_host_rsa_key.pub")'
GFH_SANDBOX_UID=$(id -u "$RUSER")
GFH_SANDBOX_KEY_FILE=$STATE/client_ed25519
GFH_SANDBOX_KNOWN_HOSTS=$STATE/known_hosts
GFH_SANDBOX_HOST_KEY='$hostkey'
GFH_SANDBOX_IMAGE_REF=$IMAGE_REF
GFH_SANDBOX_GITHUB_HOST=$GITHUB_HOST
GFH_SANDBOX_VALID_TOKEN=$VALID_TOKEN
GFH_SANDBOX_ROTATED_TOKEN=$ROTATED_TOKEN
GFH_SANDBOX_GITHUB_LOGIN=$VALID_LOGIN
GFH_SANDBOX_CONTROL_URL=http://127.0.0.1:$CONTROL_PORT
GFH_SANDBOX_STATE_DIR=$STATE
EOF
}

# ------------------------------------------------------------------------------------------------ commands
cmd_up() {
  need_root
  lock
  say "up: instance $NAME, state $STATE, cache $CACHE"
  phase_packages
  phase_dirs
  phase_dockerd
  phase_registry
  phase_user
  phase_admins
  phase_sshd
  phase_fake_github
  phase_image
  PHASE="env"
  env_lines >"$STATE/env.new" && mv "$STATE/env.new" "$STATE/env"
  say "up: done in $(elapsed); environment (also in $STATE/env):"
  cat "$STATE/env"
}

cmd_down() {
  need_root
  lock
  PHASE=down
  stop_pidfile "$STATE/sshd.pid" sshd
  stop_pidfile "$STATE/fake-github.pid" fake-github
  stop_pidfile "$STATE/registry.pid" registry
  if hosts_present; then hosts_remove; say "/etc/hosts: sandbox lines removed"; fi
  if [[ "${1:-}" == --all ]]; then
    stop_pidfile "$STATE_ROOT/dockerd.pid" dockerd
  fi
  say "down: done ($(elapsed))"
}

cmd_status() {
  local bad=0
  line() { # line NAME OK? DETAIL
    if [[ "$2" == 1 ]]; then printf 'sandbox: %-12s up    %s\n' "$1" "$3"; else printf 'sandbox: %-12s DOWN  %s\n' "$1" "$3"; bad=1; fi
  }
  local ok
  ok=0; docker_ok && ok=1; line dockerd "$ok" "unix:///var/run/docker.sock"
  ok=0; registry_ok && ok=1; line registry "$ok" "http://127.0.0.1:$REGISTRY_PORT/v2/"
  ok=0; registry_ok && registry_has_image && ok=1; line image "$ok" "$IMAGE_REF (in the registry)"
  ok=0; pid_alive "$STATE/sshd.pid" && port_open "$SSH_PORT" && ok=1; line sshd "$ok" "127.0.0.1:$SSH_PORT"
  ok=0; id -u "$RUSER" >/dev/null 2>&1 && ok=1; line user "$ok" "$RUSER"
  ok=0; api_ok && port_open "$API_PORT" && ok=1; line fake-github "$ok" "http://api.$GITHUB_HOST:$API_PORT, control http://127.0.0.1:$CONTROL_PORT"
  ok=0; hosts_present && ok=1; line etc-hosts "$ok" "$GITHUB_HOST api.$GITHUB_HOST -> 127.0.0.1"
  return $bad
}

cmd_env() {
  [[ -s "$STATE/env" ]] || die "no $STATE/env: run '$0 up' first"
  cat "$STATE/env"
}

cmd_reset_host() {
  need_root
  lock
  PHASE=reset-host
  # A test that mounts a small tmpfs over the secrets dir (disk-full fault) may have died before unmounting.
  if mountpoint -q "$RHOME/.secrets"; then umount "$RHOME/.secrets" || umount -l "$RHOME/.secrets"; fi
  rm -rf "$RHOME/.secrets" "$RHOME/app" "$RHOME/.ansible"
  # A test that moves the runtime user's home (a service user under /var/lib) may have died before moving it back.
  # (/etc/passwd rewritten in place: usermod refuses while the user has a process, e.g. an SSH session.)
  if id -u "$RUSER" >/dev/null 2>&1 && [[ "$(getent passwd "$RUSER" | cut -d: -f6)" != "$RHOME" ]]; then
    awk -F: -v OFS=: -v u="$RUSER" -v h="$RHOME" '$1 == u { $6 = h } { print }' /etc/passwd >"$STATE/passwd.new"
    cat "$STATE/passwd.new" >/etc/passwd && rm -f "$STATE/passwd.new"
    say "reset-host: home of $RUSER set back to $RHOME"
  fi
  local removed=""
  if docker_ok; then removed="$(remove_agent_images)"; fi
  api_ok && curl -fsS -m 2 -X POST -o /dev/null "http://127.0.0.1:$CONTROL_PORT/_control/reset"
  say "reset-host: removed $RHOME/.secrets $RHOME/app; images: ${removed:-none}; fake API log and failures cleared"
}

cmd_seed_codex() {
  need_root
  local dir="${1:-}"
  [[ -n "$dir" ]] || die "usage: $0 seed-codex DIR"
  lock
  PHASE=seed-codex
  docker_ok || die "dockerd is not running: run '$0 up' first"
  local uid gid pulled=0 out
  uid="$(id -u "$RUSER")" || die "no user $RUSER: run '$0 up' first"
  gid="$(id -g "$RUSER")"
  case "$(realpath -m "$dir")/" in
    # inside the runtime user's home, missing parents (e.g. ~/.secrets) must belong to the user, not root
    "$RHOME"/*) runuser -u "$RUSER" -- mkdir -p "$dir" ;;
    *) mkdir -p "$dir" ;;
  esac
  dir="$(cd "$dir" && pwd)"
  chown "$uid:$gid" "$dir"
  chmod 700 "$dir"
  if ! docker image inspect "$IMAGE_REF" >/dev/null 2>&1; then
    docker pull -q "$IMAGE_REF" >/dev/null || die "cannot pull $IMAGE_REF (is the sandbox up?)"
    pulled=1
  fi
  local rc=0
  out="$(printf '%s' "${GFH_SANDBOX_CODEX_KEY:-sk-sandbox-fake-codex-key-0001}" | docker run --rm -i --network none \
      --mount "type=bind,src=$dir,dst=/home/$RUSER/.codex" -e "CODEX_HOME=/home/$RUSER/.codex" "$IMAGE_REF" \
      bash -c 'codex login --with-api-key && codex login status' 2>&1)" || rc=$?
  ((pulled)) && docker rmi "$IMAGE_REF" >/dev/null
  ((rc == 0)) || { echo "$out" >&2; die "codex login in the container failed (exit $rc)"; }
  say "seed-codex: $dir: $(tr '\n' ' ' <<<"$out")"
  find "$dir" -maxdepth 2 -printf 'sandbox:   %M %u:%g %p\n'
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status || exit 1 ;;
  env) cmd_env ;;
  reset-host) cmd_reset_host ;;
  seed-codex) shift; cmd_seed_codex "$@" ;;
  *) echo "usage: $0 up|down [--all]|status|env|reset-host|seed-codex DIR" >&2; exit 2 ;;
esac
