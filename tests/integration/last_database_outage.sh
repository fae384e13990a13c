# SPDX-License-Identifier: Apache-2.0
# Runs after the error-log check: a database outage is meant to log errors.

t_database_outage() {
  fx_cert do1 ec -reqout "$T/do1-ir.der,$T/do1-cc.der"
  newkey "$T/z1.key" ec
  # OCSP over one kept-alive connection (so one child) across the outage:
  # the answer that child keeps in memory is still sent with the database
  # down, until its nextUpdate
  openssl ocsp -issuer "$CA_CERT_FILE" -cert "$T/do1.pem" -no_nonce -reqout "$T/do1-ocsp.req" >/dev/null 2>&1
  local k a0 curl_pid
  : >"$T/outage-ocsp.cfg"
  for k in $(seq 1 10); do
    printf 'url = "http://127.0.0.1:%s/ocsp/demo"\noutput = "%s"\n' "$HTTP_PORT" "$T/oo-$k.der" >>"$T/outage-ocsp.cfg"
  done
  a0=$(wc -l <"$VAR_DIR/httpd/access.log")
  curl -s --rate 2/s -H 'Content-Type: application/ocsp-request' --data-binary @"$T/do1-ocsp.req" \
      -K "$T/outage-ocsp.cfg" &
  curl_pid=$!
  sleep 1.2
  bash "$ROOT/scripts/pg.sh" stop
  wait "$curl_pid" || fail "curl failed"
  for k in $(seq 1 10); do
    [ "$(openssl ocsp -respin "$T/oo-$k.der" -noverify -resp_text 2>/dev/null \
          | sed -n 's/.*OCSP Response Status: \([a-z]*\).*/\1/p')" = successful ] \
      || fail "OCSP answer $k across the outage is not successful"
  done
  sleep 0.5
  tail -n +"$((a0 + 1))" "$VAR_DIR/httpd/access.log" | grep "POST /ocsp/demo " | grep -q " memory-db-down " \
    || fail "no OCSP answer from memory while the database was down: $(tail -n +"$((a0 + 1))" "$VAR_DIR/httpd/access.log")"
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
