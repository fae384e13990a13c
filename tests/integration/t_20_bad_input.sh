# SPDX-License-Identifier: Apache-2.0
# Bad input: each answered as shared/DESIGN.md says, nothing stored, and the
# server keeps serving (the last test enrolls again).

t_wrong_secret() {
  local n0; n0=$(cert_count)
  newkey "$T/b1.key" ec
  cmp -cmd ir -server "$CMP_URL" -ref demo -secret pass:not-the-secret -trusted "$CA_CERT_FILE" \
      -newkey "$T/b1.key" -subject /CN=b1 -certout "$T/b1.pem" && fail "accepted"
  expect_output "MAC protection does not verify"
  expect_output "PKIFailureInfo: badMessageCheck"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "wrong shared secret -> error message, nothing stored" t_wrong_secret

t_wrong_secret_mac_responses() {
  # On a profile with MAC-protected responses OpenSSL's server context checks
  # the MAC; the refusal must still say why.
  local n0; n0=$(cert_count)
  cmp -cmd ir -server "$BASE/rsa" -ref x -secret pass:not-the-secret -trusted "$T/fx/rsaca.pem" \
      -newkey "$T/b1.key" -subject /CN=b1 -reqout "$T/wrong-mac.der" && fail "accepted"
  [ "$(post "$BASE/rsa" "$T/wrong-mac.der")" = 200 ] || fail "status"
  resp_text | grep -q "MAC protection does not verify" || fail "reason: $(resp_text)"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "wrong shared secret on a profile with MAC-protected responses -> our reason" \
    t_wrong_secret_mac_responses

t_profile_states() {
  local n0; n0=$(cert_count)
  cmp -cmd ir -server "$BASE/nosuchprofile" $(mac_args) -unprotected_errors \
      -newkey "$T/b1.key" -subject /CN=b1 && fail "unknown profile accepted"
  expect_output "PKIFailureInfo: badRequest; StatusString: \"CMP Profile not found: nosuchprofile"
  cmp -cmd ir -server "$BASE/raProfile/nosuchra" $(mac_args) -unprotected_errors \
      -newkey "$T/b1.key" -subject /CN=b1 && fail "unknown RA profile accepted"
  expect_output "PKIFailureInfo: badRequest; StatusString: \"RA Profile not found: nosuchra"
  cmp -cmd ir -server "$BASE/off" $(mac_args) -newkey "$T/b1.key" -subject /CN=b1 && fail "disabled accepted"
  expect_output "PKIFailureInfo: notAuthorized; StatusString: \"CMP Profile is disabled"
  cmp -cmd ir -server "$BASE/raProfile/raoff" $(mac_args) -newkey "$T/b1.key" -subject /CN=b1 \
      && fail "disabled RA accepted"
  expect_output "PKIFailureInfo: notAuthorized; StatusString: \"RA Profile is disabled"
  cmp -cmd ir -server "$BASE/viaraoff" $(mac_args) -unprotected_errors -newkey "$T/b1.key" -subject /CN=b1 \
      && fail "CMP Profile with disabled RA Profile accepted"
  expect_output "RA Profile is disabled"
  cmp -cmd ir -server "$BASE/nodefault" $(mac_args) -unprotected_errors -newkey "$T/b1.key" -subject /CN=b1 \
      && fail "profile without default RA accepted"
  expect_output "PKIFailureInfo: systemUnavail; StatusString: \"CMP Profile has no default RA Profile"
  # disabling and enabling takes effect at once
  sql "UPDATE cmp_profile SET enabled = false WHERE name = 'demo'"
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/b1.key" -subject /CN=b1 && fail "disabled demo accepted"
  expect_output "CMP Profile is disabled"
  sql "UPDATE cmp_profile SET enabled = true WHERE name = 'demo'"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/b1.key" -subject /CN=b1 -certout "$T/b1.pem"
  [ "$(cert_status "$T/b1.pem")" = valid ] || fail "re-enabled profile does not issue"
}
run_test "unknown, disabled and half-configured profiles -> error messages" t_profile_states

t_untrusted_signer() {
  local F=$T/fx n0; n0=$(cert_count)
  cmp -cmd ir -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$F/stranger.pem" -key "$F/stranger.key" \
      -newkey "$T/b1.key" -subject /CN=b2 && fail "stranger accepted"
  expect_output "signer certificate is not trusted"
  expect_output "PKIFailureInfo: signerNotTrusted"
  cmp -cmd ir -server "$BASE/sig" $(mac_args) -newkey "$T/b1.key" -subject /CN=b2 && fail "MAC accepted on signature profile"
  expect_output "protection method not allowed"
  expect_output "PKIFailureInfo: wrongIntegrity"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "signature by an untrusted certificate; MAC where signatures are required" t_untrusted_signer

t_unprotected() {
  local n0; n0=$(cert_count)
  cmp -cmd ir -server "$CMP_URL" -trusted "$CA_CERT_FILE" -unprotected_requests -unprotected_errors \
      -newkey "$T/b1.key" -subject /CN=b3 && fail "unprotected accepted"
  expect_output "request is not protected"
  # the failInfo of the reason (RFC 9483 3.6.4), not OpenSSL's fixed badRequest
  expect_output "PKIFailureInfo: badMessageCheck"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "unprotected request -> error message" t_unprotected

t_kur_refused() {
  local F=$T/fx n0
  fx_revoked kr1
  fx_cert kr2
  n0=$(cert_count)
  newkey "$T/k1.key" ec
  # a revoked certificate
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/kr1.pem" -key "$T/kr1.key" \
      -newkey "$T/k1.key" && fail "kur with revoked cert accepted"
  expect_output "PKIFailureInfo: certRevoked; StatusString: \"signer certificate is revoked or not valid: the signer certificate is revoked"
  # foreign certificate: the manufacturer's, on the profile that trusts it for ir
  cmp -cmd kur -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$F/idevid.pem" -key "$F/idevid.key" \
      -newkey "$T/k1.key" && fail "kur with foreign cert accepted"
  expect_output "PKIFailureInfo: notAuthorized; StatusString: \"key update must be signed by a valid certificate of this RA Profile"
  # foreign certificate: one of ours, but of another RA Profile (an EC one:
  # OpenSSL 3.0's client cannot sign CMP messages with Ed25519)
  cmp -cmd kur -server "$BASE/strict" -trusted "$CA_CERT_FILE" -cert "$T/kr2.pem" -key "$T/kr2.key" \
      -newkey "$T/k1.key" && fail "kur across RA Profiles accepted"
  expect_output "key update must be signed by a valid certificate of this RA Profile"
  # MAC-protected kur
  cmp -cmd kur -server "$CMP_URL" $(mac_args) -oldcert "$T/kr2.pem" -newkey "$T/k1.key" && fail "MAC kur accepted"
  expect_output "PKIFailureInfo: wrongIntegrity; StatusString: \"protection method not allowed for this request: kur must be signed"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "kur with a revoked or foreign certificate, or MAC-protected" t_kur_refused

t_rr_not_holder() {
  fx_cert nh1
  fx_cert nh2
  fx_revoked nh3
  fx_rsaca_cert nh4
  cmp -cmd rr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/nh1.pem" -key "$T/nh1.key" \
      -oldcert "$T/nh2.pem" && fail "rr by non-holder accepted"
  expect_output "notAuthorized"
  [ "$(cert_status "$T/nh2.pem")" = valid ] || fail "nh2 changed"
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/nh3.pem" && fail "second rr accepted"
  expect_output "certRevoked"
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/nh4.pem" && fail "rr of another CA's cert accepted"
  expect_output "badCertId"
}
run_test "rr of a certificate the sender does not hold, already revoked, or not ours" t_rr_not_holder

t_certconf_wrong_hash() {
  newkey "$T/c1.key" ec
  "$BUILD/cmpclient" -url "$CMP_URL" -secret "$(cat "$CMP_SECRET_FILE")" -trusted "$CA_CERT_FILE" \
      -newkey "$T/c1.key" -subject c1 -mode wronghash >"$T/last.out" 2>&1 && fail "wrong hash accepted"
  cat "$T/last.out"
  expect_output "certHash does not match"
  expect_output "PKIFailureInfo: badCertId"
  [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=c1'")" = pending ] || fail "not pending"
}
run_test "certConf with a wrong certHash -> error, certificate stays unconfirmed" t_certconf_wrong_hash

# The POP is checked with the key we build from the template (cmp_key.h) and
# then stands as raVerified for OpenSSL; neither a POP that does not verify
# nor a request that itself claims raVerified may get a certificate.
t_bad_pop() {
  local n0; n0=$(cert_count)
  newkey "$T/pop1.key" ec
  "$BUILD/cmpclient" -url "$CMP_URL" -secret "$(cat "$CMP_SECRET_FILE")" -trusted "$CA_CERT_FILE" \
      -newkey "$T/pop1.key" -subject pop1 -implicit -mode badpop >"$T/last.out" 2>&1 \
      && fail "a POP over another key accepted"
  cat "$T/last.out"
  expect_output "badPOP"
  expect_output "proof of possession does not verify"
  newkey "$T/pop2.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/pop2.key" -subject /CN=pop2 \
      -popo 0 -implicit_confirm -certout "$T/pop2.pem" && fail "raVerified POP accepted"
  expect_output "badPOP"
  [ "$(cert_count)" = "$n0" ] || fail "a certificate was stored"
  # the same client with a good POP, RSA and Ed25519 keys: accepted
  for kt in rsa ed25519; do
    newkey "$T/pop-$kt.key" $kt
    "$BUILD/cmpclient" -url "$CMP_URL" -secret "$(cat "$CMP_SECRET_FILE")" -trusted "$CA_CERT_FILE" \
        -newkey "$T/pop-$kt.key" -subject "pop-$kt" -implicit || fail "good POP ($kt) refused"
  done
}
run_test "a POP that does not verify, or raVerified sent by a client -> badPOP, nothing stored" t_bad_pop

t_certconf_rejecting() {
  newkey "$T/c2.key" ec
  "$BUILD/cmpclient" -url "$CMP_URL" -secret "$(cat "$CMP_SECRET_FILE")" -trusted "$CA_CERT_FILE" \
      -newkey "$T/c2.key" -subject c2 -mode reject && fail "client accepted"
  [ "$(sql "SELECT c.status || '|' || t.state FROM certificate c JOIN cmp_transaction t
            ON t.certificate_id = c.id WHERE c.subject_dn = 'CN=c2'")" = "rejected|rejected" ] \
      || fail "rejecting certConf not recorded"
}
run_test "rejecting certConf marks the certificate rejected" t_certconf_rejecting

t_certconf_unknown_and_replayed() {
  fx_cert cc1 ec -reqout "$T/cc1-ir.der,$T/cc1-cc.der"
  # cc1's certConf changed: its transaction is closed (the same one again
  # is a resend, answered with a pkiConf: t_27)
  "$BUILD/cmpmutate" -in "$T/cc1-cc.der" -out "$T/cc1-cc2.der" -secret "$(cat "$CMP_SECRET_FILE")" \
      -nonce "$(openssl rand -hex 16)"
  [ "$(post "$CMP_URL" "$T/cc1-cc2.der")" = 200 ] || fail "status"
  "$BUILD/cmpmutate" -show "$T/resp.der" | grep -q "^body=error status=2 failInfo=badRequest text=transaction is not waiting for this message" \
      || fail "replayed certConf: $("$BUILD/cmpmutate" -show "$T/resp.der")"
  # cc1's certConf at another profile (same secret): no such transaction there
  [ "$(post "$BASE/strict" "$T/cc1-cc.der")" = 200 ] || fail "status"
  "$BUILD/cmpmutate" -show "$T/resp.der" | grep -q "^body=error status=2 failInfo=badRequest text=unknown transaction" \
      || fail "unknown transaction: $("$BUILD/cmpmutate" -show "$T/resp.der")"
}
run_test "certConf for an unknown or closed transaction" t_certconf_unknown_and_replayed

t_replayed_transaction_id() {
  local n0
  fx_cert rt1 ec -reqout "$T/rt1-ir.der,$T/rt1-cc.der"
  n0=$(cert_count)
  [ "$(post "$CMP_URL" "$T/rt1-ir.der")" = 200 ] || fail "status"
  resp_text | grep -q "transactionID already in use" || fail "replayed ir: $(resp_text)"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "replayed ir (transactionID in use) -> error, nothing stored" t_replayed_transaction_id

t_http_level() {
  local n0
  fx_cert hl1 ec -reqout "$T/hl1-ir.der,$T/hl1-cc.der"
  n0=$(cert_count)
  head -c 100 "$T/hl1-ir.der" >"$T/trunc.der"
  [ "$(post "$CMP_URL" "$T/trunc.der")" = 400 ] || fail "truncated DER"
  head -c 2000 /dev/urandom >"$T/random.bin"
  [ "$(post "$CMP_URL" "$T/random.bin")" = 400 ] || fail "random bytes"
  : >"$T/empty.bin"
  [ "$(post "$CMP_URL" "$T/empty.bin")" = 400 ] || fail "empty body"
  head -c 10485760 /dev/zero >"$T/big.bin"
  [ "$(post "$CMP_URL" "$T/big.bin")" = 413 ] || fail "10 MB body"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CMP_URL")" = 405 ] || fail "GET"
  curl -s -D - -o /dev/null "$CMP_URL" | grep -qi '^Allow: POST' || fail "no Allow header"
  # TRACE is httpd's own (answered before any handler): the shipped confs
  # and the demo set TraceEnable off, so nothing is echoed
  local h
  h=$(curl -s -D - -o /dev/null -X TRACE "$CMP_URL")
  [[ $h == *" 405"* ]] || fail "TRACE on CMP: $(head -1 <<<"$h")"
  h=$(curl -s -D - -o /dev/null -X TRACE --cacert "$ADMIN_CA_FILE" \
        -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" "$ADMIN_URL/cmpProfiles")
  [[ $h == *" 405"* ]] || fail "TRACE on the admin API: $(head -1 <<<"$h")"
  # /.well-known/cmp only at the root of the origin (RFC 8615)
  [ "$(post "$BASE/demo/.well-known/cmp" "$T/hl1-ir.der")" = 404 ] || fail "well-known inside a path"
  [ "$(post "$CMP_URL" "$T/hl1-ir.der" application/json)" = 415 ] || fail "content type"
  [ "$(post "$BASE/a/b" "$T/hl1-ir.der")" = 404 ] || fail "unknown path"
  [ "$(post "$BASE/bad%20name" "$T/hl1-ir.der")" = 404 ] || fail "bad name"
  # chunked upload is counted too
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/pkixcmp' \
        -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.bin" "$CMP_URL")" = 413 ] || fail "chunked 10 MB"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "truncated DER, random bytes, empty, 10 MB, GET, wrong type -> 400/413/405/415" t_http_level

t_still_serving() {
  newkey "$T/s1.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/s1.key" -subject /CN=s1 -certout "$T/s1.pem"
  [ "$(cert_status "$T/s1.pem")" = valid ] || fail "not valid"
}
run_test "server still serving after the bad input" t_still_serving
