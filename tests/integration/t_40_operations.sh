# SPDX-License-Identifier: Apache-2.0
# Operations: lost database connections. (Start-up without a usable database:
# last_database_start.sh.)

t_broken_connections_replaced() {
  # Cut every connection httpd holds (and wait until their backends are gone,
  # as after a restart); the next requests must get fresh ones.
  as_superuser "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
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
