# SPDX-License-Identifier: Apache-2.0
# The OCSP responder (RFC 6960) of each local Authority at /ocsp/<name>
# (the cmp-ocsp handler), asked by openssl ocsp as a relying party asks.

OCSP1="http://127.0.0.1:$HTTP_PORT/ocsp"
OCSP2="http://127.0.0.1:$HTTP2_PORT/ocsp"

# ocsp_ask URL ISSUER ARGS...: openssl ocsp with a nonce, the response
# verified against the issuer; output in $T/ocsp.out
ocsp_ask() {
  local url=$1 issuer=$2; shift 2
  openssl ocsp -url "$url" -issuer "$issuer" -CAfile "$issuer" -resp_text "$@" >"$T/ocsp.out" 2>&1 \
    || { cat "$T/ocsp.out"; fail "openssl ocsp failed"; }
}

t_ocsp_statuses() {
  fx_cert og1
  fx_cert or1
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/or1.pem" -revreason 1
  expect_output "revocation accepted"
  # good, revoked (time and reason) and unknown, in one request, with a nonce
  ocsp_ask "$OCSP1/demo" "$CA_CERT_FILE" -cert "$T/og1.pem" -cert "$T/or1.pem" -serial 0x1234abcd
  grep -q "Response verify OK" "$T/ocsp.out" || fail "response does not verify: $(cat "$T/ocsp.out")"
  grep -q "og1.pem: good" "$T/ocsp.out" || fail "og1 not good"
  grep -q "or1.pem: revoked" "$T/ocsp.out" || fail "or1 not revoked"
  grep -q "Reason: keyCompromise" "$T/ocsp.out" || fail "no reason"
  grep -q "Revocation Time:" "$T/ocsp.out" || fail "no revocation time"
  grep -q "0x1234abcd: unknown" "$T/ocsp.out" || fail "a serial never issued is not unknown"
  grep -q "OCSP Nonce" "$T/ocsp.out" && ! grep -q "WARNING: no nonce" "$T/ocsp.out" || fail "nonce not echoed"
  grep -q "Responder Id: " "$T/ocsp.out" || fail "no responder id"
  # a revocation is seen at once, on the other node too
  fx_cert og2
  ocsp_ask "$OCSP2/demo" "$CA_CERT_FILE" -cert "$T/og2.pem"
  grep -q "og2.pem: good" "$T/ocsp.out" || fail "og2 not good on node 2"
  cmp -cmd rr -server "$BASE2/demo" $(mac_args) -oldcert "$T/og2.pem" -revreason 4
  ocsp_ask "$OCSP1/demo" "$CA_CERT_FILE" -cert "$T/og2.pem"
  grep -q "og2.pem: revoked" "$T/ocsp.out" && grep -q "Reason: superseded" "$T/ocsp.out" \
    || fail "a revocation on node 2 not seen by node 1's responder: $(cat "$T/ocsp.out")"
  # another Authority's responder (RSA CA), its own certificates
  fx_rsaca_cert ors
  ocsp_ask "$OCSP1/rsaca" "$T/fx/rsaca.pem" -cert "$T/ors.pem"
  grep -q "ors.pem: good" "$T/ocsp.out" && grep -q "Response verify OK" "$T/ocsp.out" \
    || fail "the RSA CA's responder: $(cat "$T/ocsp.out")"
}
run_test "OCSP: good, revoked (reason, time), unknown in one request with a nonce; both nodes; each Authority signs its own" t_ocsp_statuses

t_ocsp_get_and_errors() {
  fx_cert og3
  # GET: the URL-encoded base64 of the request after the Authority's name
  openssl ocsp -issuer "$CA_CERT_FILE" -cert "$T/og3.pem" -no_nonce -reqout "$T/oreq.der" >/dev/null 2>&1
  local b64
  b64=$(base64 -w0 "$T/oreq.der" | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')
  [ "$(curl -s -o "$T/oresp.der" -D "$T/oresp.h" -w '%{http_code}' "$OCSP1/demo/$b64")" = 200 ] || fail "GET not 200"
  grep -qi '^content-type: application/ocsp-response' "$T/oresp.h" || fail "content type"
  openssl ocsp -respin "$T/oresp.der" -reqin "$T/oreq.der" -issuer "$CA_CERT_FILE" -CAfile "$CA_CERT_FILE" \
      -cert "$T/og3.pem" >"$T/ocsp.out" 2>&1
  grep -q "og3.pem: good" "$T/ocsp.out" && grep -q "Response verify OK" "$T/ocsp.out" \
    || fail "GET answer: $(cat "$T/ocsp.out")"
  # and with the slashes and pluses as they are
  b64=$(base64 -w0 "$T/oreq.der")
  [ "$(curl -s -o "$T/oresp2.der" -w '%{http_code}' "$OCSP1/demo/$b64")" = 200 ] || fail "GET raw base64"
  [ "$(resp_status "$T/oresp2.der")" = successful ] || fail "GET raw base64 not answered"
  # what is not an OCSP request gets malformedRequest, an issuer not this
  # Authority's or an unknown Authority unauthorized
  printf 'garbage' >"$T/garbage"
  curl -s -o "$T/oresp3.der" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/garbage" "$OCSP1/demo"
  [ "$(resp_status "$T/oresp3.der")" = malformedrequest ] || fail "garbage: $(resp_status "$T/oresp3.der")"
  curl -s -o "$T/oresp4.der" "$OCSP1/demo/bm90IGFuIE9DU1AgcmVxdWVzdA%3D%3D"
  [ "$(resp_status "$T/oresp4.der")" = malformedrequest ] || fail "GET garbage"
  curl -s -o "$T/oresp5.der" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/oreq.der" "$OCSP1/rsaca"
  [ "$(resp_status "$T/oresp5.der")" = unauthorized ] || fail "another issuer's certificate: $(resp_status "$T/oresp5.der")"
  curl -s -o "$T/oresp6.der" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/oreq.der" "$OCSP1/nosuchca"
  [ "$(resp_status "$T/oresp6.der")" = unauthorized ] || fail "unknown Authority"
  # HTTP-level refusals
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary @"$T/oreq.der" "$OCSP1/demo")" = 415 ] \
    || fail "wrong content type"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "$OCSP1/demo")" = 405 ] || fail "PUT"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$OCSP1/")" = 404 ] || fail "no Authority named"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
        --data-binary @<(head -c 70000 /dev/zero) "$OCSP1/demo")" = 413 ] || fail "a body over 64 KB"
}
run_test "OCSP: GET (encoded and raw base64), malformedRequest, unauthorized, HTTP refusals" t_ocsp_get_and_errors

t_ocsp_delegated_signer() {
  local ca
  ca=$(adm_uuid /authorities demo)
  expect_status 404 GET "/authorities/$ca/ocspSigner"
  expect_status 422 POST "/authorities/$ca/ocspSigner" '{"validityDays": 0}'
  expect_status 400 POST "/authorities/$ca/ocspSigner" '{"keyType": 5}'
  expect_status 422 POST "/authorities/$ca/ocspSigner" '{"keyType": "NOPE"}'
  jf '.[0]' | grep -q "^keyType NOPE: " || fail "the 422 does not name the field: $(cat "$T/api.json")"
  expect_status 201 POST "/authorities/$ca/ocspSigner" '{"validityDays": 7}'
  jf .certificate >"$T/osig.pem"
  openssl x509 -in "$T/osig.pem" -noout -ext extendedKeyUsage,noCheck >"$T/osig.ext" 2>&1
  grep -q "OCSP Signing" "$T/osig.ext" && grep -qi "no check\|noCheck" "$T/osig.ext" \
    || fail "the signer lacks OCSPSigning or ocsp-nocheck: $(cat "$T/osig.ext")"
  openssl verify -CAfile "$CA_CERT_FILE" "$T/osig.pem" >/dev/null || fail "the signer is not the CA's"
  # answers are signed by it, its certificate inside, and verify as delegated
  fx_cert od1
  ocsp_ask "$OCSP1/demo" "$CA_CERT_FILE" -cert "$T/od1.pem"
  grep -q "od1.pem: good" "$T/ocsp.out" && grep -q "Response verify OK" "$T/ocsp.out" \
    || fail "the delegated answer: $(cat "$T/ocsp.out")"
  local kid
  kid=$(openssl x509 -in "$T/osig.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr 'a-f' 'A-F')
  grep -q "Responder Id: $kid" "$T/ocsp.out" || fail "the responder is not the signer ($kid): $(grep 'Responder Id' "$T/ocsp.out")"
  grep -q "OCSP Signer" "$T/ocsp.out" || fail "the signer's certificate is not in the answer"
  # rotated: the next answers come from the new one, on the other node too
  expect_status 201 POST "/authorities/$ca/ocspSigner" '{}'
  jf .certificate >"$T/osig2.pem"
  kid=$(openssl x509 -in "$T/osig2.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr 'a-f' 'A-F')
  ocsp_ask "$OCSP2/demo" "$CA_CERT_FILE" -cert "$T/od1.pem"
  grep -q "Responder Id: $kid" "$T/ocsp.out" && grep -q "Response verify OK" "$T/ocsp.out" \
    || fail "the rotated signer is not used: $(grep 'Responder Id\|verify' "$T/ocsp.out")"
  # removed: the CA signs again
  expect_status 204 DELETE "/authorities/$ca/ocspSigner"
  expect_status 404 DELETE "/authorities/$ca/ocspSigner"
  ocsp_ask "$OCSP1/demo" "$CA_CERT_FILE" -cert "$T/od1.pem"
  kid=$(openssl x509 -in "$CA_CERT_FILE" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr 'a-f' 'A-F')
  grep -q "Responder Id: $kid" "$T/ocsp.out" || fail "the CA does not sign again"
}
run_test "OCSP: a delegated signer issued, used (on both nodes), rotated and removed through the API" t_ocsp_delegated_signer

# post_ocsp REQ OUT URL: the request posted, the response kept
post_ocsp() {
  [ "$(curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
        --data-binary @"$1" "$3")" = 200 ] || fail "POST $3 not 200"
}

t_ocsp_reuse() {
  local ca id
  ca=$(adm_uuid /authorities demo)
  fx_cert oc1
  openssl ocsp -issuer "$CA_CERT_FILE" -cert "$T/oc1.pem" -no_nonce -reqout "$T/oc1.req" >/dev/null 2>&1
  # a question without nonce: answered, stored, and the same bytes again
  # (ECDSA signatures differ each time: the same bytes were not signed again),
  # from the other node too
  post_ocsp "$T/oc1.req" "$T/oc1.a" "$OCSP1/demo"
  post_ocsp "$T/oc1.req" "$T/oc1.b" "$OCSP1/demo"
  post_ocsp "$T/oc1.req" "$T/oc1.c" "$OCSP2/demo"
  cmp_files "$T/oc1.a" "$T/oc1.b" || fail "the stored answer was not sent again"
  cmp_files "$T/oc1.a" "$T/oc1.c" || fail "node 2 did not send the stored answer"
  openssl ocsp -respin "$T/oc1.b" -reqin "$T/oc1.req" -issuer "$CA_CERT_FILE" -CAfile "$CA_CERT_FILE" \
      -cert "$T/oc1.pem" -resp_text >"$T/ocsp.out" 2>&1
  grep -q "oc1.pem: good" "$T/ocsp.out" && grep -q "Response verify OK" "$T/ocsp.out" \
    || fail "the stored answer: $(cat "$T/ocsp.out")"
  grep -q "Next Update:" "$T/ocsp.out" || fail "no nextUpdate"
  id=$(sql "SELECT id FROM certificate WHERE serial = '$(serial_of "$T/oc1.pem")'")
  [ "$(sql "SELECT count(*) FROM ocsp_response WHERE certificate_id = $id AND state LIKE 'valid/%'")" = 1 ] \
    || fail "no stored answer for the certificate"
  # with a nonce: signed for the request, never stored
  ocsp_ask "$OCSP1/demo" "$CA_CERT_FILE" -cert "$T/oc1.pem"
  grep -q "oc1.pem: good" "$T/ocsp.out" && grep -q "OCSP Nonce" "$T/ocsp.out" || fail "with a nonce"
  # sent from memory: several questions, one child at least asked twice
  local a0 k
  a0=$(wc -l <"$VAR_DIR/httpd/access.log")
  for k in 1 2 3 4 5 6; do post_ocsp "$T/oc1.req" "$T/oc1.m$k" "$OCSP1/demo"; done
  for k in 1 2 3 4 5 6; do cmp_files "$T/oc1.a" "$T/oc1.m$k" || fail "answer $k differs"; done
  sleep 0.5
  tail -n +"$((a0 + 1))" "$VAR_DIR/httpd/access.log" | grep "POST /ocsp/demo " | grep -q " memory " \
    || fail "no answer from memory: $(tail -n +"$((a0 + 1))" "$VAR_DIR/httpd/access.log")"
  # revoked: the stored answer no longer says what the row says; within
  # 1 s (CMP_OCSP_FRESH_MS) every node makes a new one (revoked), stored
  # and reused
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/oc1.pem" -revreason 1
  sleep 1.1
  post_ocsp "$T/oc1.req" "$T/oc1.d" "$OCSP2/demo"
  post_ocsp "$T/oc1.req" "$T/oc1.e" "$OCSP1/demo"
  ! cmp_files "$T/oc1.a" "$T/oc1.d" || fail "the good answer sent after the revocation"
  cmp_files "$T/oc1.d" "$T/oc1.e" || fail "the revoked answer not reused"
  openssl ocsp -respin "$T/oc1.e" -reqin "$T/oc1.req" -issuer "$CA_CERT_FILE" -CAfile "$CA_CERT_FILE" \
      -cert "$T/oc1.pem" -resp_text >"$T/ocsp.out" 2>&1
  grep -q "oc1.pem: revoked" "$T/ocsp.out" && grep -q "Reason: keyCompromise" "$T/ocsp.out" \
    || fail "after revocation: $(cat "$T/ocsp.out")"
  # half of its validity passed: made anew (another revocation drops the
  # answers the nodes keep in memory, so that they read the stored one)
  sql "UPDATE ocsp_response SET refresh_at = now() - interval '1 second' WHERE certificate_id = $id" >/dev/null
  fx_cert oc2
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/oc2.pem" -revreason 1
  sleep 1.1
  post_ocsp "$T/oc1.req" "$T/oc1.f" "$OCSP1/demo"
  ! cmp_files "$T/oc1.e" "$T/oc1.f" || fail "an answer due for refreshing was sent again"
  [ "$(sql "SELECT refresh_at > now() FROM ocsp_response WHERE certificate_id = $id")" = t ] \
    || fail "the refreshed answer was not stored"
  # a delegated signer: the CA's stored answer is not its; removed, the CA's again
  expect_status 201 POST "/authorities/$ca/ocspSigner" '{}'
  sleep 1.1
  post_ocsp "$T/oc1.req" "$T/oc1.g" "$OCSP1/demo"
  post_ocsp "$T/oc1.req" "$T/oc1.h" "$OCSP2/demo"
  ! cmp_files "$T/oc1.f" "$T/oc1.g" || fail "the CA's answer sent while a delegated signer signs"
  cmp_files "$T/oc1.g" "$T/oc1.h" || fail "the delegated signer's answer not reused"
  openssl ocsp -respin "$T/oc1.h" -reqin "$T/oc1.req" -issuer "$CA_CERT_FILE" -CAfile "$CA_CERT_FILE" \
      -cert "$T/oc1.pem" -resp_text >"$T/ocsp.out" 2>&1
  grep -q "OCSP Signer" "$T/ocsp.out" && grep -q "Response verify OK" "$T/ocsp.out" \
    || fail "the delegated answer: $(cat "$T/ocsp.out")"
  expect_status 204 DELETE "/authorities/$ca/ocspSigner"
  sleep 1.1
  post_ocsp "$T/oc1.req" "$T/oc1.i" "$OCSP1/demo"
  ! cmp_files "$T/oc1.h" "$T/oc1.i" || fail "the removed signer's answer sent"
}
run_test "OCSP: the answer to one certificate without nonce stored and sent again (both nodes, from memory) until its row, its signer or half its validity changes; a revocation within 1 s" t_ocsp_reuse
