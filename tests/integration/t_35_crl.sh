# SPDX-License-Identifier: Apache-2.0
# CRLs (RFC 5280 5): made by mod_cmp after every revocation, served by every
# node at /crl/<Authority>.crl (the cmp-crl handler), checked with OpenSSL as
# a relying party checks them.

CRL1="http://127.0.0.1:$HTTP_PORT/crl"
CRL2="http://127.0.0.1:$HTTP2_PORT/crl"

# crl_get URL OUT: the CRL at URL into OUT (DER) and OUT.pem, headers in
# OUT.h; prints the HTTP status.
crl_get() {
  local st
  st=$(curl -s -D "$2.h" -o "$2" -w '%{http_code}' "$1")
  [ "$st" = 200 ] && openssl crl -inform DER -in "$2" -out "$2.pem" 2>/dev/null
  echo "$st"
}

crl_number() { openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//; s/^crlNumber=//'; }
# the hex serial as openssl crl -text prints it (upper case, even length)
crl_lists() {
  local s; s=$(openssl x509 -in "$2" -noout -serial | cut -d= -f2)
  openssl crl -in "$1" -noout -text | grep -q "Serial Number: $s"
}

# wait_listed URL CERT OUT: up to 10 s for the CRL at URL to list CERT;
# prints the seconds it took.
wait_listed() {
  local start=$SECONDS i
  for i in $(seq 1 50); do
    if [ "$(crl_get "$1" "$3")" = 200 ] && crl_lists "$3.pem" "$2"; then
      echo $((SECONDS - start)); return 0
    fi
    sleep 0.2
  done
  fail "$2 not on the CRL at $1 after 10 s"
}

t_crl_served() {
  local i st
  for i in $(seq 1 50); do
    st=$(crl_get "$CRL1/demo.crl" "$T/c0.crl"); [ "$st" = 200 ] && break; sleep 0.2
  done
  [ "$st" = 200 ] || fail "no CRL for demo: $st"
  grep -qi '^content-type: application/pkix-crl' "$T/c0.crl.h" || fail "content type"
  grep -qi '^etag: "crl-[0-9]*"' "$T/c0.crl.h" || fail "ETag"
  grep -qi '^last-modified: ' "$T/c0.crl.h" || fail "Last-Modified"
  grep -qi '^expires: ' "$T/c0.crl.h" || fail "Expires"
  grep -qi '^cache-control: public, max-age=[0-9]*' "$T/c0.crl.h" || fail "Cache-Control"
  # signed by the CA, v2, with a CRL number and the CA's key identifier
  openssl crl -in "$T/c0.crl.pem" -CAfile "$CA_CERT_FILE" -noout 2>&1 | grep -q "verify OK" \
    || fail "the CRL does not verify with the CA"
  openssl crl -in "$T/c0.crl.pem" -noout -text >"$T/c0.txt"
  grep -q "Version 2" "$T/c0.txt" && grep -q "X509v3 CRL Number" "$T/c0.txt" \
    && grep -q "X509v3 Authority Key Identifier" "$T/c0.txt" || fail "CRL fields: $(head -20 "$T/c0.txt")"
  [ "$(openssl crl -in "$T/c0.crl.pem" -noout -issuer -nameopt RFC2253)" = \
    "issuer=$(openssl x509 -in "$CA_CERT_FILE" -noout -subject -nameopt RFC2253 | cut -d= -f2-)" ] \
    || fail "issuer is not the CA"
  # nextUpdate is a day after thisUpdate (the default crlValiditySeconds)
  local lu nu
  lu=$(date -d "$(openssl crl -in "$T/c0.crl.pem" -noout -lastupdate | cut -d= -f2)" +%s)
  nu=$(date -d "$(openssl crl -in "$T/c0.crl.pem" -noout -nextupdate | cut -d= -f2)" +%s)
  [ $((nu - lu)) = 86400 ] || fail "validity $((nu - lu))"
  # conditional GET, HEAD, and what is not served
  local etag
  etag=$(grep -i '^etag:' "$T/c0.crl.h" | cut -d' ' -f2 | tr -d '\r')
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$CRL1/demo.crl")" = 304 ] \
    || fail "If-None-Match not answered 304"
  [ "$(curl -s -I -o /dev/null -w '%{http_code}' "$CRL1/demo.crl")" = 200 ] || fail "HEAD"
  [ "$(curl -s -o "$T/c.out" -D "$T/c.h" -w '%{http_code}' -X POST --data x "$CRL1/demo.crl")" = 405 ] \
    && grep -qi '^allow: .*GET' "$T/c.h" || fail "POST not 405 with Allow"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRL1/nosuchca.crl")" = 404 ] || fail "unknown CA"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRL1/demo.pem")" = 404 ] || fail "other suffix"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRL1/de%20mo.crl")" = 404 ] || fail "bad name"
  # the same CRL through the API, in PEM
  local ca
  ca=$(adm_uuid /authorities demo)
  expect_status 200 GET "/authorities/$ca/crl"
  jf .pem | openssl crl -outform DER >"$T/c0-api.der"
  [ "$(jf .crlNumber)" -ge "$(printf '%d' "0x$(crl_number "$T/c0.crl.pem")")" ] || fail "API CRL number"
  expect_status 200 GET "/authorities/$ca"
  [ "$(jf .crlValiditySeconds)" = 86400 ] && [ "$(jf .crl.crlNumber)" -ge 1 ] || fail "Authority's crl fields"
}
run_test "each Authority's CRL served at /crl/<name>.crl: signed v2 CRL, cache headers, 304, API" t_crl_served

t_crl_after_revocation() {
  fx_cert cv1
  fx_cert cr1
  crl_get "$CRL1/demo.crl" "$T/c1.crl" >/dev/null
  local before; before=$(printf '%d' "0x$(crl_number "$T/c1.crl.pem")")
  # revoked by its holder on node 2, keyCompromise; seen on both nodes
  cmp -cmd rr -server "$BASE2/demo" -trusted "$CA_CERT_FILE" -cert "$T/cr1.pem" -key "$T/cr1.key" \
      -oldcert "$T/cr1.pem" -revreason 1
  expect_output "revocation accepted"
  local took
  took=$(wait_listed "$CRL1/demo.crl" "$T/cr1.pem" "$T/c2.crl") || return 1
  echo "revocation on the CRL after ${took}s (node 1)"
  [ "$took" -le 6 ] || fail "the CRL took ${took}s"
  wait_listed "$CRL2/demo.crl" "$T/cr1.pem" "$T/c3.crl" >/dev/null || return 1
  [ "$(printf '%d' "0x$(crl_number "$T/c2.crl.pem")")" -gt "$before" ] || fail "CRL number did not increase"
  openssl crl -in "$T/c2.crl.pem" -noout -text | grep -A4 "Serial Number: $(openssl x509 -in "$T/cr1.pem" -noout -serial | cut -d= -f2)" \
    | grep -q "Key Compromise" || fail "reason not listed"
  # a relying party: the revoked certificate is refused, the valid one accepted
  ! openssl verify -crl_check -CRLfile "$T/c2.crl.pem" -CAfile "$CA_CERT_FILE" "$T/cr1.pem" >"$T/v.out" 2>&1 \
    || fail "a revoked certificate verified with the CRL"
  grep -q "certificate revoked" "$T/v.out" || fail "not refused as revoked: $(cat "$T/v.out")"
  openssl verify -crl_check -CRLfile "$T/c2.crl.pem" -CAfile "$CA_CERT_FILE" "$T/cv1.pem" >/dev/null \
    || fail "a valid certificate was refused with the CRL"
  # a hold set through the API is listed as such; unspecified has no reason
  local u
  u=$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/cv1.pem")'")
  expect_status 200 POST "/certificates/$u/revoke" '{"reason":"certificateHold"}'
  wait_listed "$CRL1/demo.crl" "$T/cv1.pem" "$T/c4.crl" >/dev/null || return 1
  openssl crl -in "$T/c4.crl.pem" -noout -text | grep -A4 "Serial Number: $(openssl x509 -in "$T/cv1.pem" -noout -serial | cut -d= -f2)" \
    | grep -q "Certificate Hold" || fail "hold not listed"
  local held
  # released: valid again and off the next CRL
  expect_status 422 POST "/certificates/$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/cr1.pem")'")/release"
  jf '.[0]' | grep -q "only a certificate on hold" || fail "a keyCompromise revocation released"
  expect_status 200 POST "/certificates/$u/release"
  [ "$(jf .status)" = valid ] || fail "not valid after the release"
  local i
  for i in $(seq 1 50); do
    crl_get "$CRL1/demo.crl" "$T/c7.crl" >/dev/null
    crl_lists "$T/c7.crl.pem" "$T/cv1.pem" || break
    sleep 0.2
  done
  ! crl_lists "$T/c7.crl.pem" "$T/cv1.pem" || fail "a released certificate still on the CRL"
  openssl verify -crl_check -CRLfile "$T/c7.crl.pem" -CAfile "$CA_CERT_FILE" "$T/cv1.pem" >/dev/null \
    || fail "a released certificate refused with the CRL"
  # held again, then revoked for good: keyCompromise, dated from the hold
  expect_status 200 POST "/certificates/$u/revoke" '{"reason":"certificateHold"}'
  held=$(sql "SELECT extract(epoch from revoked_at)::bigint FROM certificate WHERE uuid = '$u'")
  sleep 1
  expect_status 422 POST "/certificates/$u/revoke" '{"reason":"certificateHold"}'
  expect_status 200 POST "/certificates/$u/revoke" '{"reason":"keyCompromise"}'
  [ "$(sql "SELECT revocation_reason || '|' || extract(epoch from revoked_at)::bigint FROM certificate
            WHERE uuid = '$u'")" = "1|$held" ] || fail "hold to keyCompromise: reason or date wrong"
  for i in $(seq 1 50); do
    crl_get "$CRL1/demo.crl" "$T/c8.crl" >/dev/null
    openssl crl -in "$T/c8.crl.pem" -noout -text | grep -A4 "Serial Number: $(openssl x509 -in "$T/cv1.pem" -noout -serial | cut -d= -f2)" \
      | grep -q "Key Compromise" && break
    sleep 0.2
  done
  openssl crl -in "$T/c8.crl.pem" -noout -text | grep -A4 "Serial Number: $(openssl x509 -in "$T/cv1.pem" -noout -serial | cut -d= -f2)" >"$T/e.txt"
  grep -q "Key Compromise" "$T/e.txt" || fail "keyCompromise not on the CRL: $(cat "$T/e.txt")"
  [ "$(date -d "$(sed -n 's/.*Revocation Date: //p' "$T/e.txt")" +%s)" = "$held" ] || fail "the CRL's date is not the hold's"
}
run_test "a revocation (rr on node 2, the API) is on both nodes' CRL within seconds; openssl verify -crl_check; hold, release, hold made permanent" t_crl_after_revocation

t_crl_validity_setting() {
  local ca
  ca=$(adm_uuid /authorities demo)
  expect_status 422 PUT "/authorities/$ca" '{"crlValiditySeconds": 299}'
  jf '.[0]' | grep -q "crlValiditySeconds must be 300" || fail "range not named"
  expect_status 400 PUT "/authorities/$ca" '{"crlValiditySeconds": "1h"}'
  expect_status 200 PUT "/authorities/$ca" '{"crlValiditySeconds": 3600}'
  [ "$(jf .crlValiditySeconds)" = 3600 ] || fail "not stored"
  local i lu nu
  for i in $(seq 1 50); do
    crl_get "$CRL1/demo.crl" "$T/c5.crl" >/dev/null
    lu=$(date -d "$(openssl crl -in "$T/c5.crl.pem" -noout -lastupdate | cut -d= -f2)" +%s)
    nu=$(date -d "$(openssl crl -in "$T/c5.crl.pem" -noout -nextupdate | cut -d= -f2)" +%s)
    [ $((nu - lu)) = 3600 ] && break
    sleep 0.2
  done
  [ $((nu - lu)) = 3600 ] || fail "the next CRL does not use the new validity"
  expect_status 200 PUT "/authorities/$ca" '{"crlValiditySeconds": 86400}'
}
run_test "crlValiditySeconds: checked, stored, and the next CRL made with it at once" t_crl_validity_setting

t_crl_invalidity_date() {
  local u s i
  fx_cert ci1
  u=$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/ci1.pem")'")
  s=$(openssl x509 -in "$T/ci1.pem" -noout -serial | cut -d= -f2)
  # checked: RFC 3339 with a time, not in the future
  expect_status 422 POST "/certificates/$u/revoke" '{"reason":"keyCompromise","invalidityDate":"yesterday"}'
  jf '.[0]' | grep -q "invalidityDate must be an RFC 3339" || fail "malformed date: $(cat "$T/api.json")"
  expect_status 422 POST "/certificates/$u/revoke" '{"reason":"keyCompromise","invalidityDate":"2031-01-01"}'
  expect_status 422 POST "/certificates/$u/revoke" \
      "{\"reason\":\"keyCompromise\",\"invalidityDate\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}"
  jf '.[0]' | grep -q "in the future" || fail "a future date: $(cat "$T/api.json")"
  [ "$(sql "SELECT status FROM certificate WHERE uuid = '$u'")" = valid ] || fail "revoked by a refused request"
  # given: in the API, on the CRL entry (GeneralizedTime) and in OCSP
  expect_status 200 POST "/certificates/$u/revoke" '{"reason":"keyCompromise","invalidityDate":"2026-01-02T03:04:05+01:00"}'
  [ "$(jf .invalidityDate)" != null ] || fail "no invalidityDate in the answer"
  [ "$(date -u -d "$(jf .invalidityDate)" +%s)" = "$(date -u -d 2026-01-02T02:04:05Z +%s)" ] \
    || fail "invalidityDate $(jf .invalidityDate)"
  for i in $(seq 1 50); do
    crl_get "$CRL1/demo.crl" "$T/ci.crl" >/dev/null
    crl_lists "$T/ci.crl.pem" "$T/ci1.pem" && break
    sleep 0.2
  done
  openssl crl -in "$T/ci.crl.pem" -noout -text | grep -A8 "Serial Number: $s" >"$T/ci.txt"
  grep -A1 "Invalidity Date" "$T/ci.txt" | grep -q "Jan  2 02:04:05 2026 GMT" \
    || fail "no invalidity date on the CRL entry: $(cat "$T/ci.txt")"
  # extension 2.5.29.24, OCTET STRING { GeneralizedTime 20260102020405Z }
  hexof "$T/ci.crl" | grep -q "0603551d180411180f$(printf 20260102020405Z | od -An -tx1 -v | tr -d ' \n')" \
    || fail "the invalidity date is not a GeneralizedTime"
  openssl ocsp -url "http://127.0.0.1:$HTTP_PORT/ocsp/demo" -issuer "$CA_CERT_FILE" -CAfile "$CA_CERT_FILE" \
      -cert "$T/ci1.pem" -resp_text >"$T/ci-ocsp.out" 2>&1
  grep -q "ci1.pem: revoked" "$T/ci-ocsp.out" && grep -A1 "Invalidity Date" "$T/ci-ocsp.out" \
      | grep -q "Jan  2 02:04:05 2026 GMT" || fail "no invalidity date in OCSP: $(cat "$T/ci-ocsp.out")"
}
run_test "invalidityDate (RFC 5280 5.3.2) through the API: checked, on the CRL entry and in OCSP" t_crl_invalidity_date

t_crl_points_in_certificates() {
  local ca u
  ca=$(adm_uuid /authorities demo)
  expect_status 422 PUT "/authorities/$ca" '{"publicUrl": "https://pki.example.org/crl"}'
  jf '.[0]' | grep -q "publicUrl must be an http:// URL" || fail "https refused without saying why"
  expect_status 422 PUT "/authorities/$ca" '{"publicUrl": "http://pki.example.org/crl/"}'
  expect_status 422 PUT "/authorities/$ca" '{"publicUrl": "http://pki.example.org/c rl"}'
  expect_status 400 PUT "/authorities/$ca" '{"publicUrl": 5}'
  expect_status 422 PUT "/authorities/$ca" '{"ocspUrl": "http://pki.example.org/ocsp?x"}'
  jf '.[0]' | grep -q "^ocspUrl is the base" || fail "ocspUrl not named"
  expect_status 200 PUT "/authorities/$ca" "{\"publicUrl\": \"$CRL1\", \"ocspUrl\": \"http://127.0.0.1:$HTTP_PORT/ocsp\"}"
  [ "$(jf .publicUrl)" = "$CRL1" ] && [ "$(jf .ocspUrl)" = "http://127.0.0.1:$HTTP_PORT/ocsp" ] \
    || fail "publicUrl/ocspUrl not stored"
  fx_cert cp1
  openssl x509 -in "$T/cp1.pem" -noout -ext crlDistributionPoints,authorityInfoAccess >"$T/cp1.ext"
  grep -q "URI:$CRL1/demo.crl" "$T/cp1.ext" || fail "no CRL distribution point: $(cat "$T/cp1.ext")"
  grep -q "CA Issuers - URI:$CRL1/demo.crt" "$T/cp1.ext" || fail "no caIssuers: $(cat "$T/cp1.ext")"
  # the OCSP responder it names answers for it
  [ "$(openssl x509 -in "$T/cp1.pem" -noout -ocsp_uri)" = "http://127.0.0.1:$HTTP_PORT/ocsp/demo" ] \
    || fail "no OCSP URL: $(cat "$T/cp1.ext")"
  openssl ocsp -issuer "$CA_CERT_FILE" -CAfile "$CA_CERT_FILE" -cert "$T/cp1.pem" \
      -url "$(openssl x509 -in "$T/cp1.pem" -noout -ocsp_uri)" >"$T/o.out" 2>&1
  grep -q "cp1.pem: good" "$T/o.out" || fail "the AIA's responder: $(cat "$T/o.out")"
  # the caIssuers URL serves the CA certificate (DER)
  [ "$(curl -s -o "$T/ca.der" -D "$T/ca.h" -w '%{http_code}' "$CRL1/demo.crt")" = 200 ] \
    && grep -qi '^content-type: application/pkix-cert' "$T/ca.h" || fail "CA certificate not served"
  [ "$(openssl x509 -inform DER -in "$T/ca.der" -noout -fingerprint -sha256)" = \
    "$(openssl x509 -in "$CA_CERT_FILE" -noout -fingerprint -sha256)" ] || fail "another certificate served"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRL1/nosuchca.crt")" = 404 ] || fail "unknown CA certificate"
  # a relying party follows the distribution point by itself
  openssl verify -crl_check -crl_download -CAfile "$CA_CERT_FILE" "$T/cp1.pem" >"$T/v.out" 2>&1 \
    || fail "not verified with the downloaded CRL: $(cat "$T/v.out")"
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/cp1.pem" -revreason 4
  wait_listed "$CRL1/demo.crl" "$T/cp1.pem" "$T/c6.crl" >/dev/null || return 1
  ! openssl verify -crl_check -crl_download -CAfile "$CA_CERT_FILE" "$T/cp1.pem" >"$T/v.out" 2>&1 \
    || fail "a revoked certificate verified with the downloaded CRL"
  grep -q "certificate revoked" "$T/v.out" || fail "not refused as revoked: $(cat "$T/v.out")"
  # null clears it: certificates issued then name no distribution point
  expect_status 200 PUT "/authorities/$ca" '{"publicUrl": null, "ocspUrl": null}'
  [ "$(jf .publicUrl)" = null ] && [ "$(jf .ocspUrl)" = null ] || fail "URLs not cleared"
  fx_cert cp2
  ! openssl x509 -in "$T/cp2.pem" -noout -text | grep -q "CRL Distribution\|Authority Information" \
    || fail "CDP or AIA after clearing"
}
run_test "publicUrl, ocspUrl: issued certificates carry the CRL distribution point, caIssuers and OCSP; openssl verify -crl_download, openssl ocsp" t_crl_points_in_certificates
