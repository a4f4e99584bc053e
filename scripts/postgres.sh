#!/usr/bin/env bash
# A private PostgreSQL for shared Pulumi state (the DIY backend's `postgres://` URLs), on loopback only.
#
#   scripts/postgres.sh up       install Debian's postgresql if missing, init (once) and start the cluster, make
#                                the role and database, write the libpq password file; idempotent
#   scripts/postgres.sh down     stop the cluster (data kept; `purge` removes it)
#   scripts/postgres.sh status   exit 0 if it accepts connections
#   scripts/postgres.sh env      shell-sourceable GFH_PG_* lines (also in <dir>/env); never the password
#   scripts/postgres.sh psql ARGS...     psql as the state role (password from the password file)
#   scripts/postgres.sh dump     pg_dump of the state database to stdout, as the state role
#   scripts/postgres.sh purge    stop and remove the data directory and the password file
#
# Must run as root (the server runs as the `postgres` OS user). Layout under $GFH_PG_DIR
# (default /var/lib/github-flows-host/postgres): data/ (the cluster, 0700 postgres), run/ (Unix socket),
# log/postgres.log, pgpass (0600 root: `127.0.0.1:PORT:DB:ROLE:PASSWORD`), env.
# The password is made here, written with shell builtins (no argv) and sent to psql on stdin; it never
# appears on a command line, in shell history or in `env`. Clients point PGPASSFILE at the password file
# and use a URL without a password: postgres://ROLE@127.0.0.1:PORT/DB?sslmode=disable (loopback only).
# Authentication: `postgres` over the Unix socket by peer, the state role over TCP by scram-sha-256, nothing else.
#
# Knobs: GFH_PG_DIR, GFH_PG_PORT (15432), GFH_PG_DATABASE (gfh_state), GFH_PG_USER (gfh).
set -Eeuo pipefail

DIR="${GFH_PG_DIR:-/var/lib/github-flows-host/postgres}"
PORT="${GFH_PG_PORT:-15432}"
DB="${GFH_PG_DATABASE:-gfh_state}"
ROLE="${GFH_PG_USER:-gfh}"
HOST=127.0.0.1
DATA="$DIR/data"
RUN="$DIR/run"
LOG="$DIR/log/postgres.log"
PASSFILE="$DIR/pgpass"

say() { printf 'postgres: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
need_root() { [[ $EUID -eq 0 ]] || die "run as root"; }
# Names go into SQL and the password file unquoted: keep them to identifier characters.
[[ "$DB" =~ ^[a-z_][a-z0-9_]*$ && "$ROLE" =~ ^[a-z_][a-z0-9_]*$ ]] || die "GFH_PG_DATABASE and GFH_PG_USER must be lowercase identifiers"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "GFH_PG_PORT must be a port number"

pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/initdb" ]] && printf '%s' "$d"
}

install_pg() {
  pg_bin >/dev/null && return 0
  say "installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postgresql >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends postgresql >/dev/null; }
  pg_bin >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
}

# From /: the clone may sit in a directory postgres cannot enter (/root), and psql and pg_ctl complain of it.
as_pg() { (cd / && runuser -u postgres -- "$@"); }
# Superuser SQL over the Unix socket (peer auth), read from stdin, no psqlrc, no history.
su_sql() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -d postgres -f -; }
running() { [[ -n "${BIN:-}" ]] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

env_text() {
  cat <<EOF
GFH_PG_HOST=$HOST
GFH_PG_PORT=$PORT
GFH_PG_DATABASE=$DB
GFH_PG_USER=$ROLE
GFH_PG_PASSFILE=$PASSFILE
GFH_PG_BACKEND_URL=postgres://$ROLE@$HOST:$PORT/$DB?sslmode=disable
EOF
}

cmd_up() {
  need_root
  install_pg
  BIN="$(pg_bin)"
  install -d -m 0755 "$DIR"
  install -d -m 0700 -o postgres -g postgres "$DIR/log"
  install -d -m 0755 -o postgres -g postgres "$RUN"
  if [[ ! -s "$DATA/PG_VERSION" ]]; then
    install -d -m 0700 -o postgres -g postgres "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    cat >>"$DATA/postgresql.conf" <<EOF

# github-flows-host (scripts/postgres.sh): loopback only, own socket directory.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$RUN'
password_encryption = scram-sha-256
EOF
    cat >"$DATA/pg_hba.conf" <<EOF
# github-flows-host (scripts/postgres.sh): the superuser by peer on the socket, the state role by password on loopback.
local  all       postgres                peer
host   $DB  $ROLE  $HOST/32  scram-sha-256
EOF
    chown postgres:postgres "$DATA/pg_hba.conf"
    say "initialised $DATA"
  fi
  if ! running; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null || { tail -n 20 "$LOG" >&2; die "the server did not start"; }
  fi
  local pw="" line
  if [[ -s "$PASSFILE" ]]; then IFS= read -r line <"$PASSFILE"; pw="${line##*:}"; fi
  if [[ ! "$pw" =~ ^[0-9a-f]{32}$ ]]; then
    pw="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  fi
  # The statement holds the password: keep it out of the server log even if it fails.
  su_sql <<EOF
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SELECT 'CREATE ROLE $ROLE' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
ALTER ROLE $ROLE WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$pw';
SELECT 'CREATE DATABASE $DB OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB') \gexec
REVOKE ALL ON DATABASE $DB FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $DB TO $ROLE;
EOF
  (umask 077; printf '%s:%s:%s:%s:%s\n' "$HOST" "$PORT" "$DB" "$ROLE" "$pw" >"$PASSFILE.tmp")
  mv -f "$PASSFILE.tmp" "$PASSFILE"
  env_text >"$DIR/env"
  say "up: $HOST:$PORT database $DB role $ROLE (password file $PASSFILE)"
}

cmd_down() {
  need_root
  BIN="$(pg_bin || true)"
  if running; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; say "stopped"; else say "not running"; fi
}

cmd_status() {
  BIN="$(pg_bin || true)"
  [[ -n "$BIN" ]] || { say "not installed"; return 1; }
  if as_pg "$BIN/pg_isready" -q -h "$RUN" -p "$PORT" -U postgres -d postgres; then say "up on $HOST:$PORT ($DATA)"; else say "DOWN ($DATA)"; return 1; fi
}

cmd_env() {
  [[ -s "$DIR/env" ]] || die "no $DIR/env: run '$0 up' first"
  cat "$DIR/env"
}

# Client commands as the state role: the password comes from the password file, never from argv.
cmd_client() { # $1 = psql | pg_dump, rest = args
  local tool="$1"; shift
  BIN="$(pg_bin)" || die "postgresql is not installed"
  [[ -s "$PASSFILE" ]] || die "no $PASSFILE: run '$0 up' first"
  PGPASSFILE="$PASSFILE" "$BIN/$tool" -h "$HOST" -p "$PORT" -U "$ROLE" -d "$DB" -w "$@"
}

cmd_purge() {
  cmd_down
  rm -rf "$DATA" "$RUN" "$DIR/log" "$PASSFILE" "$DIR/env"
  say "purged $DIR"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  psql) shift; cmd_client psql -X "$@" ;;
  dump) shift; cmd_client pg_dump --no-owner "$@" ;;
  purge) cmd_purge ;;
  *) die "usage: $0 up|down|status|env|psql ARGS...|dump|purge" ;;
esac
