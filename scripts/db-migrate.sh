#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Applies the migrations in sql/ (NNN_name.sql, in order) that the database
# has not seen yet, each in its own transaction, recording it in
# schema_version. Usage: db-migrate.sh DATABASE_URL (installed as
# cmp-db-migrate, with the migrations in CMP_SQL_DIR).
#
# Migrations are additive first (new tables, columns with defaults), and
# destructive only one version later: a node works with its own schema
# version and the next, so the database is migrated first, then the nodes
# are upgraded one by one (README, Upgrading).
set -euo pipefail
sql_dir=${CMP_SQL_DIR:-$(cd "$(dirname "$0")/.." && pwd)/sql}
url=${1:?usage: cmp-db-migrate DATABASE_URL}
export PGOPTIONS="-c client_min_messages=warning"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }
psql -c "CREATE TABLE IF NOT EXISTS schema_version (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())"
current=$(psql -At -c "SELECT coalesce(max(version), 0) FROM schema_version")
[ -d "$sql_dir" ] || { echo "cmp-db-migrate: no migrations in $sql_dir" >&2; exit 1; }
for f in "$sql_dir"/[0-9][0-9][0-9]_*.sql; do
  n=$(basename "$f"); v=$((10#${n%%_*}))
  [ "$v" -le "$current" ] && continue
  echo "migrate: applying $n"
  psql -1 -f "$f" -c "INSERT INTO schema_version (version, name) VALUES ($v, '$n')"
done
