#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An embedded PostgreSQL cluster under $VAR_DIR/pg on 127.0.0.1:$PG_PORT, with
# the database 'cmp' owned by the role 'cmp' and the schema applied.
#   pg.sh start | stop | url
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -n "$PG_BIN" ] || die "PostgreSQL is not installed (make deps)"
PGDATA="$VAR_DIR/pg/data"
PGRUN="$VAR_DIR/pg/run"
PW_FILE="$VAR_DIR/pg/cmp.password"

url() { echo "postgresql://cmp:$(cat "$PW_FILE")@127.0.0.1:$PG_PORT/cmp"; }

init() {
  mkdir -p "$VAR_DIR/pg"
  chmod 755 "$VAR_DIR" "$VAR_DIR/pg"
  make_traversable "$(pg_user)" "$VAR_DIR/pg"
  [ -f "$PGDATA/PG_VERSION" ] && return 0
  mkdir -p "$PGDATA" "$PGRUN"
  chown "$(pg_user)" "$PGDATA" "$PGRUN"
  chmod 700 "$PGDATA"
  local su_pw; su_pw=$(openssl rand -hex 16)
  printf '%s\n' "$su_pw" > "$VAR_DIR/pg/superuser.password"
  chmod 600 "$VAR_DIR/pg/superuser.password"
  local pwtmp; pwtmp=$(mktemp); printf '%s\n' "$su_pw" > "$pwtmp"; chmod 644 "$pwtmp"
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwtmp" \
      --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwtmp"
  cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGRUN'
max_connections = 200
shared_buffers = 128MB
synchronous_commit = on
fsync = on
CONF
  openssl rand -hex 16 > "$PW_FILE"; chmod 600 "$PW_FILE"
}

start() {
  init
  if as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    :
  else
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGRUN/postgresql.log" -w -t 60 start >/dev/null \
      || { tail -20 "$PGRUN/postgresql.log" >&2; die "PostgreSQL did not start"; }
  fi
  local pw; pw=$(cat "$PW_FILE")
  as_pg psql -X -q -h "$PGRUN" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
SELECT 'CREATE ROLE cmp LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cmp') \gexec
ALTER ROLE cmp PASSWORD '$pw';
SELECT 'CREATE DATABASE cmp OWNER cmp' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'cmp') \gexec
\c cmp
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SQL
  PGOPTIONS="-c client_min_messages=warning" bash "$ROOT_DIR/scripts/db-migrate.sh" "$(url)"
}

stop() {
  [ -f "$PGDATA/PG_VERSION" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  *) die "usage: pg.sh start|stop|url" ;;
esac
