# SPDX-License-Identifier: Apache-2.0
# Post-quantum keys (FIPS 203, 204, 205): on OpenSSL 3.5 and later (the
# Debian 13 stage) ML-DSA and SLH-DSA Authorities, signers and devices; on
# OpenSSL 3.0 the same requests refused precisely.

PQ=$T/pq
# the ir an OpenSSL 3.5 client sent for an ML-DSA-65 key (made once with
# `openssl cmp -cmd ir -newkey mldsa65.key -reqout`, any secret): MACed
# again with the demo's secret, it reaches the server's checks
PQ_IR=$ROOT/tests/integration/data/mldsa65-ir.der

pq_openssl_35() { [ "$(printf '%s\n' 3.5 "$(openssl version | awk '{print $2}')" | sort -V | head -1)" = 3.5 ]; }

t_pq_reported() {
  if pq_openssl_35; then
    grep -q "CMP10017: .*post-quantum keys (ML-DSA, SLH-DSA, ML-KEM): available" "$VAR_DIR/httpd/error.log" \
      || fail "start-up does not say post-quantum keys are available"
  else
    grep -q "CMP10017: .*post-quantum keys (ML-DSA, SLH-DSA, ML-KEM): not available (OpenSSL 3.5 or later needed)" \
        "$VAR_DIR/httpd/error.log" || fail "start-up does not say post-quantum keys need OpenSSL 3.5"
  fi
}
run_test "post-quantum: start-up says whether this OpenSSL has ML-DSA, SLH-DSA and ML-KEM" t_pq_reported

t_pq_refused_before_35() {
  if pq_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has them"; return 0; fi
  rm -rf "$PQ"; mkdir -p "$PQ"
  # the API: 422 naming the version needed
  expect_status 422 POST /authorities '{"name": "pq-root", "generate": {"subject": "CN=PQ Root", "keyType": "ML-DSA-65"}}'
  jq -r '.[0]' "$T/api.json" | grep -q "ML-DSA-65 keys need OpenSSL 3.5 or later; this server runs OpenSSL 3.0" \
    || fail "API: $(cat "$T/api.json")"
  expect_status 422 POST /cmpProfiles/signingCertificates \
      "{\"issue\": {\"authorityUuid\": \"$(adm_uuid /authorities demo)\", \"subject\": \"CN=PQ signer\", \"keyType\": \"SLH-DSA-SHA2-128f\"}}"
  grep -q "SLH-DSA-SHA2-128f keys need OpenSSL 3.5" "$T/api.json" || fail "signer: $(cat "$T/api.json")"
  expect_status 422 POST "/authorities/$(adm_uuid /authorities demo)/raProfiles" \
      '{"name": "pq-policy", "allowedKeyTypes": ["EC", "ML-DSA-87"]}'
  grep -q "allowedKeyTypes: ML-DSA-87 keys need OpenSSL 3.5 or later" "$T/api.json" || fail "policy: $(cat "$T/api.json")"
  # CMP: badAlg, nothing stored
  local n0 s; n0=$(cert_count)
  s=$(fixture_post "$PQ_IR" "$PQ/ir.der")
  [[ $s == "body=ip status=2 failInfo=badAlg text=public key not in an accepted form: "* ]] || fail "answer: $s"
  [[ $s == *"ML-DSA-65 keys need OpenSSL 3.5 or later"* ]] || fail "reason: $s"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "post-quantum on OpenSSL 3.0: an ML-DSA-65 ir -> rejection, badAlg, naming OpenSSL 3.5; the API's 422 (key types, allowedKeyTypes) says the same" \
    t_pq_refused_before_35

# pq_profile NAME AUTHORITY_UUID SIGNER_KEYTYPE [RA_JSON]: an RA Profile
# (with those fields) and a CMP Profile NAME on that Authority, responses
# signed by a signer it issues with a key of that type
pq_profile() {
  local ra sig fields=${4:-'{}'}
  ra=$(fx_ra_profile "$2" "$(jq -c --arg n "$1" '. + {name: $n}' <<<"$fields")" enable)
  expect_status 201 POST /cmpProfiles/signingCertificates \
      "{\"issue\": {\"authorityUuid\": \"$2\", \"subject\": \"CN=$1 CMP signer\", \"keyType\": \"$3\"}}"
  sig=$(jf .uuid)
  [ "$(jf .keyType)" = "$3" ] || fail "the signer's key: $(jf .keyType)"
  fx_cmp_profile "$(fx_demo_secret "{name: \"$1\", raProfileUuid: \$ra, signingCertificateUuid: \$sig,
                                     sharedSecretReference: \"$1\"}" "$ra" "$sig")" enable "$2/raProfiles/$ra" >/dev/null
}

t_pq_ml_dsa() {
  if ! pq_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has no ML-DSA"; return 0; fi
  local ca
  rm -rf "$PQ"; mkdir -p "$PQ"
  expect_status 201 POST /authorities '{"name": "pq-root", "generate": {"subject": "CN=PQ Root,O=Test", "keyType": "ML-DSA-65"}}'
  ca=$(jf .uuid)
  [ "$(jf .keyType)" = ML-DSA-65 ] || fail "the Authority's key: $(jf .keyType)"
  jf .certificate >"$PQ/root.pem"
  # the policy: ML-DSA keys of NIST category 3 and up (OpenSSL rates
  # ML-DSA-65 at 192 security bits)
  pq_profile pq "$ca" ML-DSA-65 '{"allowedKeyTypes": ["ML-DSA-65", "ML-DSA-87"], "minSecurityBits": 192}'
  openssl genpkey -algorithm ML-DSA-44 -out "$PQ/weak.key"
  cmp -cmd ir -server "$BASE/pq" -ref pq -secret "file:$CMP_SECRET_FILE" -trusted "$PQ/root.pem" \
      -newkey "$PQ/weak.key" -subject "/CN=pq-weak" -certout "$PQ/weak.pem" && fail "ML-DSA-44 enrolled"
  expect_output "key type ML-DSA-44 is not allowed"
  newkey "$PQ/ec.key" ec
  cmp -cmd ir -server "$BASE/pq" -ref pq -secret "file:$CMP_SECRET_FILE" -trusted "$PQ/root.pem" \
      -newkey "$PQ/ec.key" -subject "/CN=pq-ec" -certout "$PQ/ec.pem" && fail "EC enrolled"
  expect_output "PKIFailureInfo: badAlg"
  # a device with an ML-DSA-65 key: ir (MAC), the response signed with ML-DSA
  openssl genpkey -algorithm ML-DSA-65 -out "$PQ/dev.key"
  cmp -cmd ir -server "$BASE/pq" -ref pq -secret "file:$CMP_SECRET_FILE" -trusted "$PQ/root.pem" \
      -newkey "$PQ/dev.key" -subject "/CN=pq-device" -certout "$PQ/dev.pem" || fail "ir"
  openssl verify -CAfile "$PQ/root.pem" "$PQ/dev.pem" >/dev/null || fail "the certificate does not verify"
  openssl x509 -in "$PQ/dev.pem" -noout -text | grep -q "Public Key Algorithm: ML-DSA-65" || fail "not an ML-DSA key"
  openssl x509 -in "$PQ/dev.pem" -noout -text | grep -q "Signature Algorithm: ML-DSA-65" || fail "not signed with ML-DSA"
  # kur signed with it, to a new ML-DSA key; rr signed with the new one
  openssl genpkey -algorithm ML-DSA-65 -out "$PQ/dev2.key"
  cmp -cmd kur -server "$BASE/pq" -trusted "$PQ/root.pem" -cert "$PQ/dev.pem" -key "$PQ/dev.key" \
      -newkey "$PQ/dev2.key" -certout "$PQ/dev2.pem" || fail "kur"
  openssl verify -CAfile "$PQ/root.pem" "$PQ/dev2.pem" >/dev/null || fail "the renewed certificate"
  cmp -cmd rr -server "$BASE/pq" -trusted "$PQ/root.pem" -cert "$PQ/dev2.pem" -key "$PQ/dev2.key" \
      -oldcert "$PQ/dev2.pem" || fail "rr"
  [ "$(cert_status "$PQ/dev2.pem")" = revoked ] || fail "not revoked"
  # the ir a 3.5 client made for an ML-DSA-65 key, MACed again: enrolled
  fixture_post "$PQ_IR" "$PQ/ir.der" | grep -q "^body=ip status=0" || fail "the fixture: $("$BUILD/cmpmutate" -show "$T/resp.der")"
  # its POP signature with one bit changed (the last octet of the body is
  # the signature's): refused, nothing stored. The key is built from its
  # parts and the POP checked by mod_cmp (cmp_key_from_spki), as for EC.
  local off hl l body n0
  read -r off hl l < <(openssl asn1parse -inform DER -in "$PQ_IR" \
      | awk '/d=1/ && /cont \[ 0 \]/ { split($1, o, ":"); sub("hl=", "", $2); sub("l=", "", $3); print o[1], $2, $3; exit }')
  body=$(dd if="$PQ_IR" bs=1 skip="$off" count=$((hl + l)) 2>/dev/null | hexof /dev/stdin)
  body="${body:0:${#body}-2}$(printf '%02x' $(( 0x${body: -2} ^ 1 )))"
  n0=$(cert_count)
  fixture_post "$PQ_IR" "$PQ/badpop.der" -body "$body" | grep -q "^body=ip status=2 failInfo=badPOP text=proof of possession does not verify: the POP signature does not verify" \
    || fail "a bad ML-DSA POP: $("$BUILD/cmpmutate" -show "$T/resp.der")"
  [ "$(cert_count)" = "$n0" ] || fail "a bad POP stored"
}
run_test "post-quantum on OpenSSL 3.5: an ML-DSA-65 Authority and CMP signer; a policy of ML-DSA keys (ML-DSA-44 and EC refused); openssl cmp enrolls an ML-DSA-65 key (verifies), kur and rr with it" \
    t_pq_ml_dsa

t_pq_slh_dsa() {
  if ! pq_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has no SLH-DSA"; return 0; fi
  local ca
  mkdir -p "$PQ"
  expect_status 201 POST /authorities '{"name": "pq-slh", "generate": {"subject": "CN=PQ SLH Root,O=Test", "keyType": "SLH-DSA-SHA2-128f"}}'
  ca=$(jf .uuid)
  [ "$(jf .keyType)" = SLH-DSA-SHA2-128f ] || fail "the Authority's key: $(jf .keyType)"
  jf .certificate >"$PQ/slh-root.pem"
  pq_profile pq-slh "$ca" ML-DSA-44
  newkey "$PQ/slh-dev.key" ec
  cmp -cmd ir -server "$BASE/pq-slh" -ref pq-slh -secret "file:$CMP_SECRET_FILE" -trusted "$PQ/slh-root.pem" \
      -newkey "$PQ/slh-dev.key" -subject "/CN=slh-device" -certout "$PQ/slh-dev.pem" || fail "ir"
  openssl verify -CAfile "$PQ/slh-root.pem" "$PQ/slh-dev.pem" >/dev/null || fail "the certificate does not verify"
  openssl x509 -in "$PQ/slh-dev.pem" -noout -text | grep -q "Signature Algorithm: SLH-DSA-SHA2-128f" \
    || fail "not signed with SLH-DSA"
}
run_test "post-quantum on OpenSSL 3.5: an SLH-DSA-SHA2-128f Authority issues (an EC device, an ML-DSA-44 signer)" t_pq_slh_dsa

# An Authority imported with an ML-DSA-87 key an operator made with openssl:
# taken, its key sealed at rest, and it issues
t_pq_import() {
  if ! pq_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has no ML-DSA"; return 0; fi
  local ca
  mkdir -p "$PQ"
  openssl genpkey -algorithm ML-DSA-87 -out "$PQ/imp.key"
  openssl req -x509 -new -key "$PQ/imp.key" -subj "/CN=PQ Imported Root/O=Test" -days 365 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$PQ/imp.pem" 2>/dev/null
  expect_status 201 POST /authorities "$(jq -n --rawfile c "$PQ/imp.pem" --rawfile k "$PQ/imp.key" \
      '{name: "pq-imported", certificate: $c, privateKey: $k}')"
  ca=$(jf .uuid)
  [ "$(jf .keyType)" = ML-DSA-87 ] || fail "the Authority's key: $(jf .keyType)"
  [ "$(sql "SELECT position(decode('$(openssl pkey -in "$PQ/imp.key" -outform DER | hexof /dev/stdin)', 'hex')
                 in ca_key_enc) FROM authority WHERE uuid = '$ca'")" = 0 ] || fail "the key is stored as it came"
  pq_profile pq-imp "$ca" ML-DSA-65
  openssl genpkey -algorithm ML-DSA-65 -out "$PQ/imp-dev.key"
  cmp -cmd ir -server "$BASE/pq-imp" -ref pq-imp -secret "file:$CMP_SECRET_FILE" -trusted "$PQ/imp.pem" \
      -newkey "$PQ/imp-dev.key" -subject "/CN=imp-device" -certout "$PQ/imp-dev.pem" || fail "ir"
  openssl verify -CAfile "$PQ/imp.pem" "$PQ/imp-dev.pem" >/dev/null || fail "the certificate does not verify"
  openssl x509 -in "$PQ/imp-dev.pem" -noout -text | grep -q "Signature Algorithm: ML-DSA-87" || fail "not signed with ML-DSA-87"
}
run_test "post-quantum on OpenSSL 3.5: an Authority imported with an ML-DSA-87 key made by openssl issues (its key sealed at rest)" t_pq_import

# RFC 9810 5.2.8.3: a KEM key cannot sign its request; its POP would be
# the encrypted certificate (indirect method), which is not built yet: the
# refusal says so
t_pq_ml_kem() {
  if ! pq_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has no ML-KEM (refused as t_pq_refused_before_35 shows for ML-DSA)"; return 0; fi
  local n0; n0=$(cert_count)
  mkdir -p "$PQ"
  openssl genpkey -algorithm ML-KEM-768 -out "$PQ/kem.key"
  # openssl cmp cannot sign with it; -popo 2 sends keyEncipherment
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$PQ/kem.key" -popo 2 -subject "/CN=kem" \
      -certout "$PQ/kem.pem" && fail "an ML-KEM key enrolled"
  expect_output "PKIFailureInfo: badPOP"
  expect_output "proof of possession method not supported: possession of a key that does not sign"
  expect_output "for ML-KEM OpenSSL 3.5's CMS cannot encrypt to the key at all (no KEMRecipientInfo, RFC 9629)"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "post-quantum on OpenSSL 3.5: an ML-KEM-768 ir (keyEncipherment POP) -> badPOP saying the KEM POP is not taken yet, nothing stored" \
    t_pq_ml_kem

# The README's post-quantum PKI (ML-DSA-87 root, ML-DSA-65 issuing CA, an
# ML-DSA-65 device), run as it stands
t_pq_readme() {
  if ! pq_openssl_35; then echo "skipped: OpenSSL $(openssl version | awk '{print $2}') has no ML-DSA"; return 0; fi
  local D=$T/pq-readme
  rm -rf "$D"; mkdir -p "$D"
  readme_block pq-session "$D/session.sh"
  [ "$(wc -l <"$D/session.sh")" -gt 20 ] || fail "the README block is missing"
  (cd "$D" && bash -e -o pipefail "$D/session.sh") || fail "the README post-quantum session failed"
  openssl x509 -in "$D/device.pem" -noout -text | grep -q "Public Key Algorithm: ML-DSA-65" || fail "the device key"
  openssl x509 -in "$D/pq-ca.pem" -noout -text | grep -q "Signature Algorithm: ML-DSA-87" || fail "the CA is not signed by the root"
  openssl x509 -in "$D/device.pem" -noout -text | grep -q "Signature Algorithm: ML-DSA-65" || fail "the device is not signed by the CA"
}
run_test "post-quantum on OpenSSL 3.5: the README session (an ML-DSA-87 root, an ML-DSA-65 issuing CA it certifies, an ML-DSA-65 device)" \
    t_pq_readme
