# SPDX-License-Identifier: Apache-2.0
# Statelessness (two httpd nodes on one database), the confirmation timeout,
# and OpenSSL 3.0's known server hazard.

t_two_nodes() {
  newkey "$T/n1.key" ec
  "$BUILD/cmpclient" -url "$BASE/demo" -url2 "$BASE2/demo" -secret "$(cat "$CMP_SECRET_FILE")" \
      -trusted "$CA_CERT_FILE" -newkey "$T/n1.key" -subject n1 -certout "$T/n1.pem"
  [ "$(cert_status "$T/n1.pem")" = valid ] || fail "not confirmed across nodes"
  # httpd logs a request after answering it: give node 2 a moment
  local i
  for i in $(seq 1 20); do
    grep -q "POST /api/v1/protocols/cmp/demo" "$VAR_DIR/httpd2/access.log" && break
    sleep 0.1
  done
  grep -q "POST /api/v1/protocols/cmp/demo" "$VAR_DIR/httpd2/access.log" || fail "node 2 saw no request"
  # and the other way round, with the RA Profile URL
  newkey "$T/n2.key" ec
  "$BUILD/cmpclient" -url "$BASE2/raProfile/demo" -url2 "$BASE/raProfile/demo" \
      -secret "$(cat "$CMP_SECRET_FILE")" -trusted "$CA_CERT_FILE" -newkey "$T/n2.key" -subject n2 \
      -certout "$T/n2.pem"
  [ "$(cert_status "$T/n2.pem")" = valid ] || fail "n2 not confirmed across nodes"
}
run_test "two httpd nodes, one database: ir on one, certConf on the other" t_two_nodes

t_confirm_timeout() {
  newkey "$T/f1.key" ec
  "$BUILD/cmpclient" -url "$BASE/fast" -secret "$(cat "$CMP_SECRET_FILE")" -trusted "$CA_CERT_FILE" \
      -newkey "$T/f1.key" -subject f1 -mode wronghash && fail "accepted"
  [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=f1'")" = pending ] || fail "not pending"
  local i
  for i in $(seq 1 40); do
    [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=f1'")" = rejected ] && break
    sleep 0.5
  done
  [ "$(sql "SELECT c.status || '|' || t.state FROM certificate c JOIN cmp_transaction t
            ON t.certificate_id = c.id WHERE c.subject_dn = 'CN=f1'")" = "rejected|expired" ] \
      || fail "unconfirmed certificate not rejected after the timeout"
}
run_test "unconfirmed certificate rejected after the profile's confirm timeout" t_confirm_timeout

t_openssl30_hazard_sequence() {
  fx_cert s1
  local F=$T/fx
  newkey "$T/h1.key" ec
  cmp -cmd ir -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$F/idevid.pem" -key "$F/idevid.key" \
      -extracerts "$F/mfg.pem" -newkey "$T/h1.key" -subject /CN=h1 -certout "$T/h1.pem"
  cmp -cmd rr -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$T/h1.pem" -key "$T/h1.key" \
      -oldcert "$T/h1.pem"
  expect_output "revocation accepted"
  cmp -cmd genm -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$F/idevid.pem" -key "$F/idevid.key"
  expect_output "received GENP"
  newkey "$T/h2.key" ec
  cmp -cmd cr -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$T/s1.pem" -key "$T/s1.key" \
      -newkey "$T/h2.key" -subject /CN=h2 -certout "$T/h2.pem"
  [ "$(cert_status "$T/h2.pem")" = valid ] || fail "another signer's request failed"
  ! grep -q "Segmentation\|exit signal" "$VAR_DIR"/httpd*/error.log || fail "a child crashed"
}
run_test "signed ir with extraCerts, rr, genm, then another signer (OpenSSL 3.0 hazard)" t_openssl30_hazard_sequence

t_changes_under_load() {
  # Profile reloads while requests are in flight on both nodes: the cache's
  # references must keep every request's profile alive, and nothing fails.
  local demo; demo=$(sql "SELECT uuid FROM ra_profile WHERE name = 'demo'")
  local ca; ca=$(sql "SELECT a.uuid FROM authority a JOIN ra_profile r ON r.authority_id = a.id WHERE r.name = 'demo'")
  "$BUILD/cmpbench" -mode full -url "$BASE/demo" -secret "$(cat "$CMP_SECRET_FILE")" \
      -trusted "$CA_CERT_FILE" -clients 6 -seconds 4 >"$T/load1.out" 2>&1 &
  local b1=$!
  "$BUILD/cmpbench" -mode full -url "$BASE2/raProfile/demo" -secret "$(cat "$CMP_SECRET_FILE")" \
      -trusted "$CA_CERT_FILE" -clients 6 -seconds 4 >"$T/load2.out" 2>&1 &
  local b2=$! i
  for i in $(seq 1 15); do
    api PUT "/authorities/$ca/raProfiles/$demo" "{\"description\":\"under load $i\"}" >/dev/null
    sleep 0.2
  done
  wait "$b1" || { cat "$T/load1.out"; fail "node 1 had errors under changes"; }
  wait "$b2" || { cat "$T/load2.out"; fail "node 2 had errors under changes"; }
  cat "$T/load1.out" "$T/load2.out"
  grep -q "errors=0" "$T/load1.out" && grep -q "errors=0" "$T/load2.out" || fail "errors"
  [ "$(sql "SELECT version FROM ra_profile WHERE name = 'demo'")" -ge 15 ] || fail "changes not applied"
}
run_test "configuration changes while both nodes enroll under load: no failures" t_changes_under_load
