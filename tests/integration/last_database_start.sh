# SPDX-License-Identifier: Apache-2.0
# Runs after the error-log check: Apache started while the database cannot be
# used (down, refusing the password, its passfile unreadable to the children,
# unmigrated, a schema too new) logs errors on purpose. A third httpd on its
# own ports and error log; the shared instances keep their connections.

H3P=$((HTTP_PORT + 2)) H3S=$((HTTPS_PORT + 2))
H3LOG=$VAR_DIR/httpd3/error.log
H3_CMP=http://127.0.0.1:$H3P/api/v1/protocols/cmp/demo

h3() { HTTPD_INSTANCE=httpd3 HTTP_PORT=$H3P HTTPS_PORT=$H3S bash "$ROOT/scripts/httpd.sh" "$@"; }
# a fresh httpd3 for each test, whatever the last one left
h3_fresh() { h3 stop; mkdir -p "$VAR_DIR/httpd3"; : >"$H3LOG"; h3 start; }

# What must hold while the database cannot be used: Apache serves its static
# files, CMP answers an error PKIMessage (a readable reason), the admin
# API a JSON 503 saying why ($1: a piece of that reason).
h3_degraded() {
  local code
  code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$H3S/api-errors/401.json")
  [ "$code" = 200 ] || fail "a static file on the same Apache answered $code"
  newkey "$T/h3.key" ec
  cmp -cmd ir -server "$H3_CMP" $(mac_args) -newkey "$T/h3.key" -subject /CN=h3 \
      -unprotected_errors >/dev/null && fail "enrolled while the database cannot be used"
  # an error PKIMessage: failInfo systemUnavail, the reason in statusString
  expect_output "received ERROR" || return 1
  expect_output 'PKIFailureInfo: systemUnavail; StatusString: "database unavailable"' || return 1
  code=$(curl -s -o "$T/h3-api.json" -w '%{http_code}' --cacert "$ADMIN_CA_FILE" \
           -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" "https://127.0.0.1:$H3S/api/v1/cmpProfiles")
  [ "$code" = 503 ] || fail "admin API answered $code, not 503"
  local msg; msg=$(jq -r .message "$T/h3-api.json")
  [[ $msg == *"$1"* ]] || fail "admin 503 does not say '$1': $(cat "$T/h3-api.json")"
}

# Enrolls through httpd3 within $1 seconds, with no restart.
h3_enrolls_within() {
  local end=$((SECONDS + $1))
  newkey "$T/h3ok.key" ec
  while [ $SECONDS -lt "$end" ]; do
    openssl cmp -cmd ir -server "$H3_CMP" $(mac_args) -newkey "$T/h3ok.key" -subject /CN=h3ok \
        -certout "$T/h3ok.pem" >"$T/h3ok.out" 2>&1 && return 0
    sleep 0.5
  done
  cat "$T/h3ok.out"
  fail "no enrollment within $1 s of the database becoming usable"
}

# Waits up to 5 s for a line of httpd3's log (the health check runs every second).
h3_log() {
  local i
  for i in $(seq 1 50); do grep -q -- "$1" "$H3LOG" && return 0; sleep 0.1; done
  fail "no log line '$1': $(grep CMP100 "$H3LOG" | tail -3)"
}

# The number of lines the health check logged for a state ($1: a CMP tag).
h3_lines() { local n; n=$(grep -c "$1" "$H3LOG" || true); echo "${n:-0}"; }

t_start_without_database() {
  bash "$ROOT/scripts/pg.sh" stop
  h3_fresh || { bash "$ROOT/scripts/pg.sh" start >/dev/null; fail "Apache did not start without its database"; }
  h3_degraded "check that PostgreSQL runs" || { bash "$ROOT/scripts/pg.sh" start >/dev/null; return 1; }
  # reloads (logrotate's nightly graceful) keep Apache up as well
  h3 graceful
  sleep 3
  h3_degraded "check that PostgreSQL runs" || { bash "$ROOT/scripts/pg.sh" start >/dev/null; return 1; }
  # one line per state change from the whole server, not one per second per child
  [ "$(h3_lines 'CMP10021')" -le 2 ] || fail "the outage was logged $(h3_lines CMP10021) times"
  h3_log "CMP10021: the CMP database cannot be used: cannot connect to PostgreSQL (.*); check that PostgreSQL runs" || return 1
  # nothing was known to protect the error with, and the refusal line says so
  h3_log "CMP10014: .*database unavailable.*(the error went unprotected: no profile is known" || return 1
  ! grep -q 'CMP10701' "$H3LOG" || fail "the listener logs every attempt"
  ! grep -q '\\n' "$H3LOG" || fail "a literal \\n in the log"
  bash "$ROOT/scripts/pg.sh" start >/dev/null
  h3_enrolls_within 10 || return 1
  h3_log "CMP10020: the CMP database is available again" || return 1
  h3 stop
}
run_test "Apache starts and reloads with PostgreSQL down (static 200, CMP error message, API 503), serves within 10 s of it starting" \
    t_start_without_database

wrong_password_checks() {
  h3_fresh || fail "Apache did not start" || return 1
  h3_degraded "password" || return 1
  h3_log "CMP10021: .*password authentication failed.*correct one of the two"
}

t_start_with_wrong_password() {
  local pw rc=0; pw=$(cat "$VAR_DIR/pg/cmp.password")
  as_superuser "ALTER ROLE cmp PASSWORD 'not-$pw'" >/dev/null
  wrong_password_checks || rc=1
  as_superuser "ALTER ROLE cmp PASSWORD '$pw'" >/dev/null
  [ "$rc" = 0 ] || return 1
  h3_enrolls_within 10 || return 1
  h3 stop
}
run_test "a password PostgreSQL refuses: Apache up, the reason logged, serving within 10 s of the fix" \
    t_start_with_wrong_password

t_passfile_read_as_the_children() {
  [ "$(id -u)" = 0 ] || { echo "skipped: needs root to run the children as www-data"; return 0; }
  local pf=$VAR_DIR/httpd3-pgpass
  printf '127.0.0.1:%s:cmp:cmp:%s\n' "$PG_PORT" "$(cat "$VAR_DIR/pg/cmp.password")" >"$pf"
  chown root:root "$pf"; chmod 600 "$pf"
  CMP_DATABASE_URL="host=127.0.0.1 port=$PG_PORT dbname=cmp user=cmp passfile=$pf" h3_fresh \
    || fail "Apache did not start"
  h3_degraded "no password reached PostgreSQL" || return 1
  h3_log "CMP10021: .*passfile that user www-data .*can read" || return 1
  chown www-data "$pf"
  h3_enrolls_within 10 || return 1
  h3 stop
}
run_test "a passfile only root can read: the children (www-data) say so; serving once they can read it" \
    t_passfile_read_as_the_children

t_start_on_unmigrated_database() {
  as_superuser "DROP DATABASE IF EXISTS cmp_fresh" >/dev/null
  as_superuser "CREATE DATABASE cmp_fresh OWNER cmp" >/dev/null
  local url=${DATABASE_URL%/cmp}/cmp_fresh
  CMP_DATABASE_URL=$url h3_fresh || fail "Apache did not start"
  h3_degraded "holds no mod_cmp schema" || return 1
  h3_log "CMP10021: .*apply the migrations" || return 1
  # migrated, with the same data: serving, no restart
  AS_DB=cmp_fresh as_superuser "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null
  PGOPTIONS="-c client_min_messages=warning" bash "$ROOT/scripts/db-migrate.sh" "$url" >/dev/null
  pg_dump --data-only --disable-triggers --exclude-table=schema_version "$DATABASE_URL" \
    | AS_DB=cmp_fresh as_superuser - >/dev/null
  h3_enrolls_within 10 || return 1
  h3 stop
}
run_test "an unmigrated database: Apache up, 'apply the migrations' logged, serving within 10 s of migrating" \
    t_start_on_unmigrated_database

# Rolling upgrades: this build works with the next schema version (additive
# migrations), and says clearly when the database is two versions ahead.
next_schema_checks() {
  h3_fresh || fail "Apache did not start" || return 1
  psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$ROOT/tests/integration/next_schema.sql" >/dev/null \
    || fail "the next schema's migration did not apply" || return 1
  # new connections (a reload) see the new schema
  h3 graceful
  sleep 2
  h3_enrolls_within 10 || return 1
  [ "$(cert_status "$T/h3ok.pem")" = valid ] || fail "not stored as valid" || return 1
  sql "INSERT INTO schema_version (version, name) VALUES ((SELECT max(version) + 1 FROM schema_version), 'two ahead')" >/dev/null
  h3 graceful
  sleep 2
  h3_degraded "upgrade mod_cmp on this node" || return 1
  h3_log "CMP10021: .*newer than this mod_cmp can use"
}

t_old_node_on_next_schema() {
  local rc=0
  next_schema_checks || rc=1
  psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$ROOT/tests/integration/next_schema_undo.sql" >/dev/null
  h3 stop
  return $rc
}
run_test "rolling upgrade: a node keeps enrolling on a database migrated one version ahead; two ahead is refused clearly" \
    t_old_node_on_next_schema

# An outage while a profile is cached: the refusal is protected as the
# profile says (here: signed), so a client that trusts the CA reads it.
t_outage_refusal_protected() {
  local rc=0 one=$VAR_DIR/httpd3/conf.d/one-child.conf
  mkdir -p "$(dirname "$one")"
  # one child, so that the request in the outage meets the one that cached
  printf 'ServerLimit 1\nStartServers 1\nMaxRequestWorkers 16\nMinSpareThreads 1\nMaxSpareThreads 16\n' >"$one"
  h3_fresh || fail "Apache did not start" || rc=1
  [ "$rc" = 0 ] && { h3_enrolls_within 10 || rc=1; }
  # and one through a profile whose responses are MAC-protected
  local rsa=(-server "http://127.0.0.1:$H3P/api/v1/protocols/cmp/rsa" -ref rsa
             -secret "file:$T/fx/rsa-secret.txt" -trusted "$T/fx/rsaca.pem")
  newkey "$T/h3r.key" ec
  [ "$rc" = 0 ] && { cmp -cmd ir "${rsa[@]}" -newkey "$T/h3r.key" -subject /CN=h3r \
                       -certout "$T/h3r.pem" >/dev/null || { fail "rsa enrollment"; rc=1; }; }
  if [ "$rc" = 0 ]; then
    bash "$ROOT/scripts/pg.sh" stop
    newkey "$T/h3p.key" ec
    # signed responses: a signed error
    cmp -cmd ir -server "$H3_CMP" $(mac_args) -newkey "$T/h3p.key" -subject /CN=h3p >/dev/null \
      && { fail "enrolled without a database"; rc=1; }
    expect_output 'PKIFailureInfo: systemUnavail; StatusString: "database unavailable"' || rc=1
    ! grep -q "missing protection" "$T/last.out" || { fail "the refusal was not protected"; rc=1; }
    # MAC-protected responses: a MAC-protected error
    cmp -cmd ir "${rsa[@]}" -newkey "$T/h3p.key" -subject /CN=h3p2 >/dev/null \
      && { fail "enrolled without a database"; rc=1; }
    expect_output 'PKIFailureInfo: systemUnavail; StatusString: "database unavailable"' || rc=1
    ! grep -q "missing protection" "$T/last.out" || { fail "the MAC profile's refusal was not protected"; rc=1; }
    bash "$ROOT/scripts/pg.sh" start >/dev/null
  fi
  rm -f "$one"
  h3 stop
  return $rc
}
run_test "database down while the profile is cached: the error message is signed or MAC-protected as the profile says" \
    t_outage_refusal_protected
