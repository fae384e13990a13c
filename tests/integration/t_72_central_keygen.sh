# SPDX-License-Identifier: Apache-2.0
# Central key generation (RFC 9483 4.1.6): on OpenSSL 3.5 and later (the
# Debian 13 stage) `openssl cmp -centralkeygen` gets a key the RA Profile
# makes, inside EnvelopedData (to the shared secret or to the requester's
# certificate), and the server keeps no trace of it; on OpenSSL 3.0 such a
# request and such an RA Profile are refused, naming the version needed.

CK=$T/ckg
# the ir an OpenSSL 3.5 client sends for central key generation (made once
# with `openssl cmp -cmd ir -centralkeygen -reqout`, no key and no POP in
# it): MACed again with the demo's secret, it reaches the server's checks
CK_IR=$ROOT/tests/integration/data/centralkeygen-ir.der

ck_openssl_35() { [ "$(printf '%s\n' 3.5 "$(openssl version | awk '{print $2}')" | sort -V | head -1)" = 3.5 ]; }

ck_demo_ra() { echo "$(adm_uuid /authorities demo)/raProfiles/$(adm_uuid /raProfiles demo)"; }

# the private scalar (or seed) of a key, in hex: what the database must
# never hold
ck_secret_hex() {
  openssl pkey -in "$1" -noout -text | awk '/^(priv|seed):/{p=1; next} /^[a-zA-Z]/{p=0} p' | tr -d ' :\n'
}

# ck_dump CERT: the database, every table as text, in $CK/dump.txt; it must
# hold CERT (DER, as bytea) for a search in it to mean anything
ck_dump() {
  pg_dump -d "$DATABASE_URL" --data-only | tr -d '\n' >"$CK/dump.txt" || fail "pg_dump"
  grep -qi "$(openssl x509 -in "$1" -outform DER | hexof /dev/stdin)" "$CK/dump.txt" \
    || fail "the dump does not hold the certificate: it shows nothing"
}

t_ck_refused_before_35() {
  if ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has it"; return 0; fi
  rm -rf "$CK"; mkdir -p "$CK"
  expect_status 422 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": "EC:P-256"}'
  jq -r '.[0]' "$T/api.json" | grep -q "centralKeyType: central key generation (RFC 9483 4.1.6) needs OpenSSL 3.5 or later; this server runs OpenSSL 3.0" \
    || fail "API: $(cat "$T/api.json")"
  local n0 s; n0=$(cert_count)
  s=$(fixture_post "$CK_IR" "$CK/ir.der")
  [[ $s == "body=error status=2 failInfo=badAlg text=central key generation not possible: "* ]] || fail "answer: $s"
  [[ $s == *"needs OpenSSL 3.5 or later; this server runs OpenSSL 3.0"* ]] || fail "reason: $s"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "central key generation on OpenSSL 3.0: a keyless ir -> error, badAlg, naming OpenSSL 3.5; centralKeyType -> 422 saying the same" \
    t_ck_refused_before_35

t_ck_not_allowed() {
  if ! ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') (see the test above)"; return 0; fi
  rm -rf "$CK"; mkdir -p "$CK"
  local n0; n0=$(cert_count)
  expect_status 200 GET "/authorities/$(ck_demo_ra)"
  [ "$(jf .centralKeyType)" = null ] || fail "the demo makes keys: $(jf .centralKeyType)"
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -centralkeygen -newkeyout "$CK/none.key" -subject "/CN=ckg-none" \
      && fail "a key was made"
  expect_output "PKIFailureInfo: badCertTemplate"
  expect_output "central key generation not allowed by the RA Profile: RA Profile demo does not generate keys"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  [ ! -s "$CK/none.key" ] || fail "a key file"
  # what the API refuses
  expect_status 422 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": "EC:P-999"}'
  grep -q "centralKeyType: 'EC:P-999': unknown curve" "$T/api.json" || fail "$(cat "$T/api.json")"
  expect_status 422 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": "RSA:512"}'
  grep -q "centralKeyType: 'RSA:512': the key size must be a number of bits, 2048..16384" "$T/api.json" \
    || fail "$(cat "$T/api.json")"
  expect_status 422 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": "EC", "allowedKeyTypes": ["RSA"]}'
  grep -q "centralKeyType: EC is not among allowedKeyTypes" "$T/api.json" || fail "$(cat "$T/api.json")"
  expect_status 400 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": 5}'
  grep -q "field 'centralKeyType' must be a string" "$T/api.json" || fail "$(cat "$T/api.json")"
}
run_test "central key generation on OpenSSL 3.5: an RA Profile without centralKeyType refuses -centralkeygen (badCertTemplate, nothing stored); the API refuses key types it cannot make" \
    t_ck_not_allowed

t_ck_mac() {
  if ! ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}')"; return 0; fi
  mkdir -p "$CK"
  local n0 serial hex tid; n0=$(cert_count)
  expect_status 200 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": "EC:P-384"}'
  [ "$(jf .centralKeyType)" = EC:P-384 ] || fail "not stored: $(cat "$T/api.json")"
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -centralkeygen -newkeyout "$CK/dev.key" -subject "/CN=ckg-device" \
      -certout "$CK/dev.pem" -reqout "$CK/ir.der" || fail "ir -centralkeygen"
  verify_cert "$CK/dev.pem" "$CA_CERT_FILE" || fail "the certificate does not verify"
  openssl x509 -in "$CK/dev.pem" -noout -text | grep -q "NIST CURVE: P-384" || fail "not a P-384 key"
  # the key is the certificate's, and works
  [ "$(openssl pkey -in "$CK/dev.key" -pubout | openssl pkey -pubin -outform DER | hexof /dev/stdin)" \
    = "$(openssl x509 -in "$CK/dev.pem" -noout -pubkey | openssl pkey -pubin -outform DER | hexof /dev/stdin)" ] \
    || fail "the key is not the certificate's"
  echo data >"$CK/data"
  openssl pkeyutl -sign -rawin -digest sha384 -inkey "$CK/dev.key" -in "$CK/data" -out "$CK/sig" \
    && openssl pkeyutl -verify -rawin -digest sha384 -certin -inkey "$CK/dev.pem" -in "$CK/data" -sigfile "$CK/sig" \
       >/dev/null || fail "the key does not sign for the certificate"
  [ "$(cert_count)" = $((n0 + 1)) ] || fail "not one certificate"
  serial=$(serial_of "$CK/dev.pem")
  [ "$(sql "SELECT status FROM certificate WHERE serial = '$serial'")" = valid ] || fail "not confirmed"
  # the private key is nowhere in the database
  hex=$(ck_secret_hex "$CK/dev.key")
  [ ${#hex} -ge 64 ] || fail "the key's secret was not read: $hex"
  ck_dump "$CK/dev.pem"
  grep -qi "$hex" "$CK/dump.txt" && fail "the database holds the private key"
  tid=$(sql "SELECT encode(transaction_id, 'hex') FROM certificate WHERE serial = '$serial'")
  [ "$(sql "SELECT count(*) FROM cmp_transaction WHERE transaction_id = '\\x$tid' AND response_der IS NOT NULL")" = 0 ] \
    || fail "a response is kept"
  # the same request again: refused, the key is not kept to send again
  [ "$(post "$CMP_URL" "$CK/ir.der")" = 200 ] || fail "HTTP"
  "$BUILD/cmpmutate" -show "$T/resp.der" >"$CK/resent.show"
  grep -q "^body=error status=2 failInfo=transactionIdInUse text=transactionID already in use: the same request again: its certificate was issued with a key the server made, which is not kept; send a new request" \
      "$CK/resent.show" || fail "resent: $(cat "$CK/resent.show")"
  [ "$(cert_count)" = $((n0 + 1)) ] || fail "resent: stored"
}
run_test "central key generation, MAC: openssl cmp -centralkeygen gets a P-384 key of the RA Profile's centralKeyType and its certificate (the key is the certificate's and signs); the database holds no trace of the key; the same request again is refused" \
    t_ck_mac

t_ck_signed() {
  if ! ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}')"; return 0; fi
  local hex
  [ -s "$CK/dev.pem" ] || fail "needs the test above"
  # cr signed by the device: the key comes encrypted to its certificate
  # (an EC key: key agreement); implicit confirmation
  cmp -cmd cr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$CK/dev.pem" -key "$CK/dev.key" \
      -centralkeygen -newkeyout "$CK/dev2.key" -subject "/CN=ckg-device-2" -implicit_confirm \
      -certout "$CK/dev2.pem" || fail "cr -centralkeygen"
  verify_cert "$CK/dev2.pem" "$CA_CERT_FILE" || fail "the certificate does not verify"
  [ "$(openssl pkey -in "$CK/dev2.key" -pubout | openssl pkey -pubin -outform DER | hexof /dev/stdin)" \
    = "$(openssl x509 -in "$CK/dev2.pem" -noout -pubkey | openssl pkey -pubin -outform DER | hexof /dev/stdin)" ] \
    || fail "the key is not the certificate's"
  hex=$(ck_secret_hex "$CK/dev2.key")
  [ ${#hex} -ge 64 ] || fail "the key's secret was not read: $hex"
  ck_dump "$CK/dev2.pem"
  grep -qi "$hex" "$CK/dump.txt" && fail "the database holds the private key"
  # kur: a new key made by the server for the certificate it renews
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$CK/dev2.pem" -key "$CK/dev2.key" \
      -centralkeygen -newkeyout "$CK/dev3.key" -certout "$CK/dev3.pem" || fail "kur -centralkeygen"
  openssl x509 -in "$CK/dev3.pem" -noout -subject | grep -q "CN *= *ckg-device-2" || fail "kur changed the subject"
  [ "$(cert_status "$CK/dev2.pem")" = revoked ] || [ "$(cert_status "$CK/dev2.pem")" = valid ] || fail "the old one"
}
run_test "central key generation, signatures: a cr signed by an EC certificate gets its key encrypted to that certificate; kur renews with a key the server makes" \
    t_ck_signed

t_ck_ml_dsa() {
  if ! ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}')"; return 0; fi
  mkdir -p "$CK"
  local n0
  expect_status 200 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": "ML-DSA-65"}'
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -centralkeygen -newkeyout "$CK/pq.key" -subject "/CN=ckg-pq" \
      -certout "$CK/pq.pem" || fail "ir -centralkeygen ML-DSA-65"
  openssl x509 -in "$CK/pq.pem" -noout -text | grep -q "Public Key Algorithm: ML-DSA-65" || fail "not an ML-DSA-65 key"
  [ "$(openssl pkey -in "$CK/pq.key" -pubout | openssl pkey -pubin -outform DER | hexof /dev/stdin)" \
    = "$(openssl x509 -in "$CK/pq.pem" -noout -pubkey | openssl pkey -pubin -outform DER | hexof /dev/stdin)" ] \
    || fail "the key is not the certificate's"
  # a request signed with an ML-DSA key: no key can be encrypted to it
  n0=$(cert_count)
  cmp -cmd cr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$CK/pq.pem" -key "$CK/pq.key" \
      -centralkeygen -newkeyout "$CK/pq2.key" -subject "/CN=ckg-pq-2" -certout "$CK/pq2.pem" && fail "enrolled"
  expect_output "PKIFailureInfo: badAlg"
  expect_output "a key that only signs"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  # the template asks for another algorithm than the profile makes
  newkey "$CK/rsa.key" rsa
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -centralkeygen -newkey "$CK/rsa.key" -newkeyout "$CK/x.key" \
      -subject "/CN=ckg-rsa" -certout "$CK/x.pem" && fail "enrolled"
  expect_output "RA Profile demo generates ML-DSA-65 keys"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  expect_status 200 PUT "/authorities/$(ck_demo_ra)" '{"centralKeyType": null}'
  [ "$(jf .centralKeyType)" = null ] || fail "not cleared"
}
run_test "central key generation, ML-DSA-65: a post-quantum key made by the server; a request signed with a signature-only key is refused (badAlg), as is a template asking for another algorithm" \
    t_ck_ml_dsa

# With approval (RFC 9483 4.4): the key is made when the approved request
# is answered on a pollReq, and goes out in that answer only
t_ck_approval() {
  if ! ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}')"; return 0; fi
  local ra u
  mkdir -p "$CK"
  local ca ra_uuid i
  ca=$(adm_uuid /authorities demo)
  # an RA Profile that makes keys and waits for approval, and its CMP Profile
  ra_uuid=$(fx_ra_profile "$ca" '{"name": "ckg-approve", "requireApproval": true,
                                  "approvalCheckAfter": 1, "centralKeyType": "EC:P-256"}' enable)
  ra="$ca/raProfiles/$ra_uuid"
  fx_cmp_profile "$(fx_demo_secret '{name: "ckg-approve", signingCertificateUuid: $sig, raProfileUuid: $ra}' \
      "$ra_uuid" "$(cat "$VAR_DIR/demo/signer.uuid")")" enable "$ra" >/dev/null
  rm -f "$CK/appr.rc"
  (set +e; openssl cmp -cmd ir -server "$BASE/ckg-approve" $(mac_args) -centralkeygen -newkeyout "$CK/appr.key" \
       -subject "/CN=ckg-appr" -certout "$CK/appr.pem" >"$CK/appr.out" 2>&1; echo $? >"$CK/appr.rc") &
  for i in $(seq 1 100); do
    u=$(adm GET "/approvals?state=waiting" | jq -r '.approvals[] | select(.subject == "CN=ckg-appr") | .uuid')
    [ -n "$u" ] && break
    sleep 0.2
  done
  [ -n "$u" ] || fail "no waiting request: $(cat "$CK/appr.out")"
  expect_status 200 GET "/approvals/$u"
  [ "$(jf .keyType)" = EC ] || fail "the queue entry: $(cat "$T/api.json")"
  # approved once a pollReq of the client was answered with a pollRep
  # (each moves the nonce the next must echo); else its first pollReq may
  # already get the certificate
  local nonce
  nonce=$(sql "SELECT encode(last_nonce, 'hex') FROM pending_request WHERE uuid = '$u'")
  for i in $(seq 1 100); do
    [ "$(sql "SELECT encode(last_nonce, 'hex') FROM pending_request WHERE uuid = '$u'")" != "$nonce" ] && break
    sleep 0.1
  done
  [ "$i" -lt 100 ] || fail "no pollReq answered in 10 s"
  expect_status 200 POST "/approvals/$u/approve" '{"reason": "central key generation"}'
  for _ in $(seq 1 150); do [ -s "$CK/appr.rc" ] && break; sleep 0.2; done
  [ "$(cat "$CK/appr.rc" 2>/dev/null)" = 0 ] || fail "the client: $(cat "$CK/appr.out")"
  grep -q "received POLLREP" "$CK/appr.out" || fail "no polling: $(cat "$CK/appr.out")"
  verify_cert "$CK/appr.pem" "$CA_CERT_FILE" || fail "the certificate"
  [ "$(openssl pkey -in "$CK/appr.key" -pubout | openssl pkey -pubin -outform DER | hexof /dev/stdin)" \
    = "$(openssl x509 -in "$CK/appr.pem" -noout -pubkey | openssl pkey -pubin -outform DER | hexof /dev/stdin)" ] \
    || fail "the key is not the certificate's"
  ck_dump "$CK/appr.pem"
  grep -qi "$(ck_secret_hex "$CK/appr.key")" "$CK/dump.txt" && fail "the database holds the private key"
  expect_status 200 PUT "/authorities/$ra" '{"centralKeyType": ""}'
  [ "$(jf .centralKeyType)" = null ] || fail "not cleared"
}
run_test "central key generation with approval: openssl cmp -centralkeygen waits, polls, and gets the key made once an administrator approves; the database holds no trace of it" \
    t_ck_approval

# The README's session: an RA Profile that makes EC keys, a CMP signer the
# API issues (with id-kp-cmKGA), a device without a key of its own
t_ck_readme() {
  if ! ck_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}')"; return 0; fi
  local D=$T/ckg-readme
  rm -rf "$D"; mkdir -p "$D"
  readme_block ckg-session "$D/session.sh"
  [ "$(wc -l <"$D/session.sh")" -gt 15 ] || fail "the README block is missing"
  (cd "$D" && bash -e -o pipefail "$D/session.sh") || fail "the README central key generation session failed"
  verify_cert "$D/device-2.pem" "$CA_CERT_FILE" || fail "the certificate"
  openssl x509 -in "$D/device-2.pem" -noout -text | grep -q "NIST CURVE: P-256" || fail "not the profile's key type"
  # the signer the API issued names id-kp-cmKGA
  local sig
  expect_status 200 GET /cmpProfiles
  sig=$(jq -r '.[] | select(.name == "ckg-lab") | .signingCertificateUuid' "$T/api.json")
  expect_status 200 GET /cmpProfiles/signingCertificates
  jq -r --arg u "$sig" '.[] | select(.uuid == $u) | .certificate' "$T/api.json" \
    | openssl x509 -noout -ext extendedKeyUsage | grep -q "1.3.6.1.5.5.7.3.32\|Key Generation Authority" \
    || fail "the signer lacks id-kp-cmKGA"
}
run_test "central key generation: the README session (an RA Profile making EC keys, a signer issued by the API, a device without a key)" \
    t_ck_readme
