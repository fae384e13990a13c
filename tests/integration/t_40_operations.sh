# SPDX-License-Identifier: Apache-2.0
# Operations: lost database connections, and the schema check at start-up.

t_broken_connections_replaced() {
  # Cut every connection httpd holds; the next requests must get fresh ones.
  as_superuser "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE usename = 'cmp' AND pid <> pg_backend_pid()" >/dev/null
  local i
  for i in 1 2 3; do
    newkey "$T/o$i.key" ec
    cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/o$i.key" -subject "/CN=o$i" \
        -implicit_confirm -certout "$T/o$i.pem"
    [ "$(cert_status "$T/o$i.pem")" = valid ] || fail "o$i not valid"
  done
}
run_test "broken database connections are detected and replaced" t_broken_connections_replaced

t_schema_version_checked_at_start() {
  sql "INSERT INTO schema_version (version, name) VALUES (999, 'from the future')"
  local rc=0
  HTTPD_INSTANCE=httpd3 HTTP_PORT=$((HTTP_PORT + 2)) HTTPS_PORT=$((HTTPS_PORT + 2)) \
      bash "$ROOT/scripts/httpd.sh" start || rc=$?
  sql "DELETE FROM schema_version WHERE version = 999"
  HTTPD_INSTANCE=httpd3 HTTP_PORT=$((HTTP_PORT + 2)) HTTPS_PORT=$((HTTPS_PORT + 2)) \
      bash "$ROOT/scripts/httpd.sh" stop
  [ "$rc" -ne 0 ] || fail "httpd started on a schema of the wrong version"
  grep -q "CMP10002: the CMP database schema is version 999, this mod_cmp needs" \
      "$VAR_DIR/httpd3/error.log" || fail "no clear log line"
  mv "$VAR_DIR/httpd3/error.log" "$VAR_DIR/httpd3/error.log.expected"
}
run_test "httpd refuses to start on a schema of another version" t_schema_version_checked_at_start
