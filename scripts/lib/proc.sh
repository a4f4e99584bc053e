# Process helpers for the scripts that run daemons (scripts/sandbox.sh, bench/fleet.sh); sourced. Callers define
# `say` (used by stop_pidfile).

# Our daemons are orphans reaped by PID 1 (not an init system here), which can leave a stopped one a zombie
# for a while: kill -0 succeeds on zombies, so look at the process state.
proc_running() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ -n "$st" && "$st" != Z* ]]; }
pid_alive() { local f="$1" p; [[ -s "$f" ]] && p="$(cat "$f")" && [[ "$p" =~ ^[0-9]+$ ]] && proc_running "$p"; }
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
# Start a daemon detached from us (own session, no inherited fds, in particular not the lock fd 9).
launch() { # launch PIDFILE LOG CMD...
  local pidfile="$1" logf="$2"; shift 2
  # A daemon must not inherit any descriptor above 2: one holding a caller's flock would keep that lock forever.
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; (( fd > 2 )) && eval "exec $fd>&-"; done
    exec setsid nohup "$@" </dev/null >>"$logf" 2>&1
  ) &
  echo $! >"$pidfile"
}
stop_pidfile() { # stop_pidfile PIDFILE WHAT
  local f="$1" what="$2" p
  if pid_alive "$f"; then
    p="$(cat "$f")"
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do proc_running "$p" || break; sleep 0.1; done
    if proc_running "$p"; then kill -KILL "$p" 2>/dev/null || true; sleep 0.2; fi
    say "$what stopped (pid $p)"
  else
    say "$what not running"
  fi
  rm -f "$f"
}
wait_until() { # wait_until SECONDS CMD... ; polls every 0.2 s
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.2
  done
}
wait_service() { # wait_service PIDFILE SECONDS CMD... ; like wait_until, but gives up as soon as the daemon exits
  local pidfile="$1" deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    pid_alive "$pidfile" || { "$@" >/dev/null 2>&1 && return 0; echo "sandbox: the process exited" >&2; return 1; }
    (( $(date +%s) < deadline )) || return 1
    sleep 0.2
  done
}
