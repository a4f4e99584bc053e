# Fleet of N sandbox hosts for bench/run.sh (sourced; BENCH_FLEET="1 5 10"). Needs the default sandbox up
# (its registry, fake GitHub API, user and client key are shared) and socat.
#
# Host i (1..N), all on a bridge gfhbr0 10.77.0.1/24 in the root namespace:
#   network namespace gfhb<i>, eth0 = 10.77.0.<10+i>; inside, socat forwards 127.0.0.1:80 and :5000 to
#   10.77.0.1, where two socats forward to the root namespace's 127.0.0.1 (fake GitHub API, registry),
#   so the stacks' imagePullFrom 127.0.0.1:5000/... and github.localhost (/etc/hosts) work unchanged;
#   a mount namespace (held by a `sleep infinity`) where /home is $FLEET/h<i>/home and /run is a tmpfs;
#   its own dockerd (data-root $FLEET/h<i>/docker, socket /run/docker.sock in its /run) and sshd on :22
#   (own host key, the default sandbox's authorized_keys, log $FLEET/h<i>/sshd.log).
# The image: each dockerd pulls it once at fleet_up and keeps the layers under a keeper tag; target_reset
# removes the agent tags only, so "fresh" on the fleet is a fresh host whose daemon has the layers cached
# (the timed pull checks the manifest and tags). Pulling ~480 MB into 10 daemons per fresh run would make
# every fleet "fresh" run measure disk extraction on 2 cores, not the tools.
FLEET="${BENCH_FLEET_DIR:-/var/lib/github-flows-host/bench-fleet}"
FLEET_N=0
# launch: detached daemons that inherit no descriptor (the same helper as scripts/sandbox.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/proc.sh"
KEEP_TAG=gfh-bench-keep:latest

fleet_ip() { echo "10.77.0.$((10 + $1))"; }
in_host() { local i="$1"; shift; nsenter --target "$(cat "$FLEET/h$i/holder.pid")" --mount --net -- "$@"; }

fleet_up() { # fleet_up N
  local n="$1" i
  say "fleet: $n host(s) under $FLEET"
  mkdir -p "$FLEET"
  ip link show gfhbr0 >/dev/null 2>&1 || { ip link add gfhbr0 type bridge; ip addr add 10.77.0.1/24 dev gfhbr0; ip link set gfhbr0 up; }
  [[ -s "$FLEET/socat80.pid" ]] || launch "$FLEET/socat80.pid" "$FLEET/socat.log" socat TCP-LISTEN:80,bind=10.77.0.1,fork,reuseaddr TCP:127.0.0.1:80
  [[ -s "$FLEET/socat5000.pid" ]] || launch "$FLEET/socat5000.pid" "$FLEET/socat.log" socat TCP-LISTEN:5000,bind=10.77.0.1,fork,reuseaddr TCP:127.0.0.1:5000
  for i in $(seq 1 "$n"); do fleet_host_up "$i"; done
  FLEET_N="$n"
  # Layers into every daemon (in parallel), kept under $KEEP_TAG.
  local t0 pids=() p; t0=$(now)
  for i in $(seq 1 "$n"); do
    in_host "$i" sh -c "docker pull -q $GFH_SANDBOX_IMAGE_REF >/dev/null && docker tag $GFH_SANDBOX_IMAGE_REF $KEEP_TAG && docker rmi $GFH_SANDBOX_IMAGE_REF >/dev/null" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "fleet: pulling the image into a host's dockerd failed"; done
  say "fleet: image layers in $n daemon(s) in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s; disk $(du -sh "$FLEET" | cut -f1)"
}

fleet_host_up() {
  local i="$1" h="$FLEET/h$1" ip; ip="$(fleet_ip "$1")"
  mkdir -p "$h/home/user" "$h/docker"
  chown user:user "$h/home/user"; chmod 750 "$h/home/user"
  [[ -s "$h/ssh_host_ed25519_key" ]] || ssh-keygen -q -t ed25519 -N '' -C "gfh-bench-h$i" -f "$h/ssh_host_ed25519_key"
  # A run killed before its teardown may have left the namespace and link of this name.
  ip netns del "gfhb$i" 2>/dev/null || true
  ip link del "gfhb$i" 2>/dev/null || true
  ip netns add "gfhb$i"
  ip link add "gfhb$i" type veth peer name eth0 netns "gfhb$i"
  ip link set "gfhb$i" master gfhbr0 up
  ip -n "gfhb$i" addr add "$ip/24" dev eth0
  ip -n "gfhb$i" link set eth0 up
  ip -n "gfhb$i" link set lo up
  # The mount namespace, held open by a sleep; /home and /run private to it.
  launch "$h/holder.pid" "$h/holder.log" nsenter --net="/var/run/netns/gfhb$i" unshare --mount --propagation private \
    sh -c "mount --bind '$h/home' /home && mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/sshd && exec sleep infinity"
  local tries=0
  until in_host "$i" test -d /run/sshd 2>/dev/null; do ((++tries < 50)) || die "fleet h$i: namespace did not come up"; sleep 0.1; done
  # the holder pid is the sleep itself (setsid, nohup, nsenter and unshare exec), which holds the mount namespace
  in_host "$i" sh -c "setsid socat TCP-LISTEN:80,bind=127.0.0.1,fork,reuseaddr TCP:10.77.0.1:80 </dev/null >/dev/null 2>&1 &
                       setsid socat TCP-LISTEN:5000,bind=127.0.0.1,fork,reuseaddr TCP:10.77.0.1:5000 </dev/null >/dev/null 2>&1 &"
  in_host "$i" sh -c "setsid nohup dockerd --data-root '$h/docker' --exec-root /run/docker --pidfile /run/docker.pid -H unix:///run/docker.sock \
      --iptables=false --ip-masq=false --bridge=none --storage-driver=overlay2 --group docker </dev/null >>'$h/dockerd.log' 2>&1 &"
  cat >"$h/sshd_config" <<EOF
Port 22
ListenAddress $ip
HostKey $h/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $GFH_SANDBOX_STATE_DIR/authorized_keys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers user
LogLevel VERBOSE
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  in_host "$i" /usr/sbin/sshd -f "$h/sshd_config" -E "$h/sshd.log"
  tries=0
  until in_host "$i" docker info >/dev/null 2>&1; do ((++tries < 150)) || { tail -20 "$h/dockerd.log" >&2; die "fleet h$i: dockerd did not start"; }; sleep 0.2; done
}

fleet_target() { # fleet_target N: the target functions of run.sh for the fleet
  local n="$1" i ip key
  TARGET_LABEL=fleet TARGET_HOSTS="$n"
  HOSTS_JSON="["; INVENTORY="[flows]"; SSHD_LOGS=()
  KNOWN_HOSTS="$FLEET/known_hosts"; : >"$KNOWN_HOSTS"
  for i in $(seq 1 "$n"); do
    ip="$(fleet_ip "$i")"; key="$(cut -d' ' -f1,2 "$FLEET/h$i/ssh_host_ed25519_key.pub")"
    echo "$ip $key" >>"$KNOWN_HOSTS"
    HOSTS_JSON+="$( ((i > 1)) && echo ,)$(printf '{"name":"h%s","address":"%s","port":22,"user":"user","hostKey":"%s"}' "$i" "$ip" "$key")"
    INVENTORY+=$'\n'"h$i ansible_host=$ip ansible_port=22 ansible_user=user ansible_ssh_private_key_file=$GFH_SANDBOX_KEY_FILE"
    SSHD_LOGS+=("$FLEET/h$i/sshd.log")
  done
  HOSTS_JSON+="]"
  target_reset() {
    local i
    for i in $(seq 1 "$FLEET_N"); do
      rm -rf "$FLEET/h$i/home/user/.secrets" "$FLEET/h$i/home/user/app"
      in_host "$i" sh -c "docker rmi github-flows-agent-codex:latest $GFH_SANDBOX_IMAGE_REF >/dev/null 2>&1 || true"
      runuser -u user -- mkdir -p "$FLEET/h$i/home/user/.secrets"
      tar -C "$FLEET/h$i/home/user/.secrets" -xpf "$BENCH_TMP/codex.tar"
    done
  }
  target_drift() { local i; for i in $(seq 1 "$FLEET_N"); do chmod 644 "$FLEET/h$i/home/user/.secrets/gh-token"; done; }
  target_mode() { local i; for i in $(seq 1 "$FLEET_N"); do stat -c %a "$FLEET/h$i/home/user/.secrets/gh-token"; done | sort -u | tr '\n' ' '; }
}

stop_pid() { # stop_pid PID: TERM, wait up to 15 s, KILL
  local p="$1" k
  [[ "$p" =~ ^[0-9]+$ ]] || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for k in $(seq 1 150); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

fleet_down() {
  [[ -d "$FLEET" ]] || return 0
  local h i p pids
  for h in "$FLEET"/h*; do
    [[ -d "$h" ]] || continue
    i="${h##*/h}"
    if grep -qw "gfhb$i" <<<"$(ip netns list)"; then
      # dockerd first (it stops containerd and unmounts its layers), then every process left in the
      # host's network namespace: all of them were started by fleet_host_up.
      [[ -s "$h/holder.pid" ]] && kill -0 "$(cat "$h/holder.pid")" 2>/dev/null && stop_pid "$(in_host "$i" cat /run/docker.pid 2>/dev/null || true)"
      pids="$(ip netns pids "gfhb$i" 2>/dev/null || true)"
      for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
      for p in $pids; do stop_pid "$p"; done
      ip netns del "gfhb$i" 2>/dev/null || true
    fi
    ip link del "gfhb$i" 2>/dev/null || true
  done
  for p in socat80 socat5000; do [[ -s "$FLEET/$p.pid" ]] && stop_pid "$(cat "$FLEET/$p.pid")"; rm -f "$FLEET/$p.pid"; done
  ip link del gfhbr0 2>/dev/null || true
  rm -rf "$FLEET"
  FLEET_N=0
  say "fleet: torn down"
}
