# SPDX-License-Identifier: Apache-2.0
# Runs after the error-log check: a database outage is meant to log errors.

t_database_outage() {
  fx_cert do1 ec -reqout "$T/do1-ir.der,$T/do1-cc.der"
  newkey "$T/z1.key" ec
  bash "$ROOT/scripts/pg.sh" stop
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/z1.key" -subject /CN=z1 \
      -unprotected_errors -certout "$T/z1.pem" && fail "enrolled without a database"
  expect_output "database unavailable"
  [ "$(post "$CMP_URL" "$T/do1-ir.der")" = 200 ] || fail "CMP answered with an HTTP error"
  expect_status 503 GET /cmpProfiles
  jf .message | grep -q "unavailable" || fail "admin 503 body"
  bash "$ROOT/scripts/pg.sh" start >/dev/null
  local i ok=0
  for i in $(seq 1 20); do
    if cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/z1.key" -subject /CN=z1 \
           -certout "$T/z1.pem" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || fail "no enrollment after the database came back"
  [ "$(cert_status "$T/z1.pem")" = valid ] || fail "z1 not stored"
  expect_status 200 GET /cmpProfiles
  ! grep -q "Segmentation\|exit signal" "$VAR_DIR"/httpd*/error.log || fail "a child crashed"
}
run_test "database down: CMP error messages and admin 503, then serving again when it returns" \
    t_database_outage
