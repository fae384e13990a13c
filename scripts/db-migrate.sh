#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Applies the migrations in sql/ (NNN_name.sql, in order) that the database
# has not seen yet, each in its own transaction, recording it in
# schema_version. Usage: db-migrate.sh DATABASE_URL
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
url=${1:?usage: db-migrate.sh DATABASE_URL}
export PGOPTIONS="-c client_min_messages=warning"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }
psql -c "CREATE TABLE IF NOT EXISTS schema_version (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())"
current=$(psql -At -c "SELECT coalesce(max(version), 0) FROM schema_version")
for f in "$here"/sql/[0-9][0-9][0-9]_*.sql; do
  n=$(basename "$f"); v=$((10#${n%%_*}))
  [ "$v" -le "$current" ] && continue
  echo "migrate: applying $n"
  psql -1 -f "$f" -c "INSERT INTO schema_version (version, name) VALUES ($v, '$n')"
done
