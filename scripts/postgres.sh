#!/usr/bin/env bash
# Usage: scripts/postgres.sh COMMAND...   runs COMMAND with DATABASE_URL set to a throwaway PostgreSQL
#        scripts/postgres.sh --stop       stops that cluster if it runs
#
# When DATABASE_URL is already set, COMMAND runs against it unchanged. Otherwise this script installs Debian's
# postgresql if it is missing, creates a cluster under var/pg (once), starts it on 127.0.0.1:$HANOISMART_PG_PORT
# (55432) with trust authentication and no durability (fsync off: it holds only test data), creates the role
# and database `hanoismart`, runs COMMAND, and stops the cluster afterwards, however COMMAND ends.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser).
# A cluster left running by an earlier, interrupted run is reused, then stopped.
set -euo pipefail
trap 'echo "$0: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."

if [[ "${1:-}" != --stop && -n "${DATABASE_URL:-}" ]]; then
  exec "$@"
fi

PORT=${HANOISMART_PG_PORT:-55432}

bin_dir() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }
BIN=$(bin_dir)
if [[ -z "$BIN" ]]; then
  [[ "${1:-}" == --stop ]] && exit 0
  bash scripts/apt.sh postgresql
  BIN=$(bin_dir)
fi

ROOT=${HANOISMART_PG_DIR:-$PWD/var/pg}
if [[ -z "${HANOISMART_PG_DIR:-}" ]] && ((EUID == 0)); then
  mkdir -p var
  # The cluster belongs to `postgres`, who may not reach into this checkout (under /root, say): use /tmp then.
  runuser -u postgres -- test -x "$PWD/var" \
    || ROOT=${TMPDIR:-/tmp}/hanoismart-pg-$(echo "$PWD" | sha256sum | cut -c1-12)
fi
DATA=$ROOT/data
LOG=$ROOT/postgres.log

# Run PostgreSQL's programs as the cluster's owner: `postgres` when we are root, else ourselves.
if ((EUID == 0)); then
  as_owner() { (cd / && runuser -u postgres -- "$@"); }  # cd /: postgres may not enter the checkout
else
  as_owner() { "$@"; }
fi

stop() {
  if [[ -f "$DATA/postmaster.pid" ]]; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

if [[ "${1:-}" == --stop ]]; then
  stop
  exit 0
fi

if [[ ! -f "$DATA/PG_VERSION" ]]; then
  echo "==> creating a throwaway PostgreSQL cluster in $DATA"
  rm -rf "$DATA"
  mkdir -p "$ROOT"
  ((EUID == 0)) && chown postgres: "$ROOT"
  if ! as_owner test -w "$ROOT"; then
    echo "scripts/postgres.sh: the postgres user cannot reach $ROOT (a private parent folder?); set HANOISMART_PG_DIR" >&2
    exit 1
  fi
  as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
fi

start() {
  # listen on loopback only; no Unix socket (its path could exceed the length limit); speed over durability
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='' -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" >/dev/null \
    || { tail -n 20 "$LOG" >&2; exit 1; }
}
ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; }

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  if ready; then
    echo "scripts/postgres.sh: port $PORT is taken by another server; set HANOISMART_PG_PORT" >&2
    exit 1
  fi
  start
elif ! ready; then
  # The pid file names a live process that is not our server (a previous session's, its pid reused).
  rm -f "$DATA/postmaster.pid"
  start
fi
trap stop EXIT

psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)
if [[ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'hanoismart'")" ]]; then
  "${psql[@]}" -c "CREATE ROLE hanoismart LOGIN CREATEDB"
fi
if [[ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'hanoismart'")" ]]; then
  "${psql[@]}" -c "CREATE DATABASE hanoismart OWNER hanoismart"
fi

echo "==> PostgreSQL $("${psql[@]}" -tAc 'SHOW server_version') on 127.0.0.1:$PORT"
DATABASE_URL="postgres://hanoismart@127.0.0.1:$PORT/hanoismart" "$@"
