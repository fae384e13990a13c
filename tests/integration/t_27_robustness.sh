# SPDX-License-Identifier: Apache-2.0
# Robustness (issue 13): keys only in their canonical form, and answers to
# requests a client sends again after it lost the answer.

# ---- keys in canonical form ------------------------------------------------

# refused_key NAME KEYFILE TEXT [p10cr]: an ir (or a p10cr) with that key is an
# ip/cp rejection badAlg naming TEXT, and nothing is stored
refused_key() {
  local name=$1 key=$2 text=$3 n0; n0=$(cert_count)
  if [ "${4:-}" = p10cr ]; then
    openssl req -new -key "$key" -subj "/CN=$name" -out "$T/$name.csr" 2>/dev/null \
      || fail "$name: no CSR"
    cmp -cmd p10cr -server "$CMP_URL" $(mac_args) -csr "$T/$name.csr" -certout "$T/$name.pem" \
      && fail "$name: p10cr accepted"
  else
    cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$key" -subject "/CN=$name" \
        -certout "$T/$name.pem" && fail "$name: ir accepted"
  fi
  expect_output "PKIStatus: rejection; PKIFailureInfo: badAlg; StatusString: \"public key not in an accepted form: $text"
  [ "$(cert_count)" = "$n0" ] || fail "$name: a certificate was stored"
  [ "$(sql "SELECT count(*) FROM certificate WHERE subject_dn = 'CN=$name'")" = 0 ] || fail "$name stored"
}

t_key_forms() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:explicit \
      -out "$T/explicit.key" 2>/dev/null || fail "no explicit-parameter key"
  openssl pkey -in "$T/explicit.key" -pubout -outform DER | openssl asn1parse -inform DER \
      | grep -q "prime-field" || fail "the key does not carry explicit parameters"
  refused_key kf-explicit "$T/explicit.key" "the EC key has explicit or implicit curve parameters"
  refused_key kf-explicit-p10 "$T/explicit.key" "the EC key has explicit" p10cr
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$T/k1.key" 2>/dev/null
  refused_key kf-k1 "$T/k1.key" "EC curve secp256k1 is not allowed by the RA Profile (allowedEcCurves)"
  if openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:sect571r1 -out "$T/b571.key" 2>/dev/null; then
    refused_key kf-binary "$T/b571.key" "EC curve sect571r1 is not allowed"
  else
    echo "(this OpenSSL has no binary curves)"
  fi
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 \
      -out "$T/e3.key" 2>/dev/null
  refused_key kf-e3 "$T/e3.key" "the RSA public exponent 3 must be odd and between 2^16 and 2^256"
  # the forms that are canonical still enroll
  fx_cert kf-ok ec && fx_cert kf-rsa rsa && fx_cert kf-ed ed25519
}
run_test "explicit EC parameters, a curve not allowed (binary, secp256k1), RSA e=3 -> badAlg before POP, nothing stored" t_key_forms

t_key_forms_api() {
  local ra; ra=$(api GET /raProfiles >/dev/null; jq -r '.[] | select(.name == "demo") | .uuid' "$T/api.json")
  [ "$(jq -c '.[] | select(.name == "demo") | .allowedEcCurves' "$T/api.json")" \
    = '["P-256","P-384","P-521","brainpoolP256r1","brainpoolP384r1","brainpoolP512r1"]' ] \
      || fail "default curves: $(jq -c '.[0].allowedEcCurves' "$T/api.json")"
  local auth; auth=$(jq -r '.[] | select(.name == "demo") | .authorityUuid' "$T/api.json")
  expect_status 422 POST "/authorities/$auth/raProfiles" '{"name":"kf","allowedEcCurves":["P-256","nocurve"]}'
  jf '.[]' | grep -q "allowedEcCurves: 'nocurve' is not a named curve of this OpenSSL" \
      || fail "422 does not name the curve: $(cat "$T/api.json")"
  expect_status 422 POST "/authorities/$auth/raProfiles" '{"name":"kf","allowedEcCurves":[]}'
  expect_status 201 POST "/authorities/$auth/raProfiles" '{"name":"kf","allowedEcCurves":["P-384","sect571r1"]}'
  [ "$(jf '.allowedEcCurves | join(",")')" = "P-384,sect571r1" ] || fail "curves not kept"
  local u; u=$(jf .uuid)
  expect_status 200 PUT "/authorities/$auth/raProfiles/$u" '{"description":"x"}'
  [ "$(jf '.allowedEcCurves | join(",")')" = "P-384,sect571r1" ] || fail "an edit without the field changed it"
  expect_status 204 DELETE "/authorities/$auth/raProfiles/$u"
}
run_test "allowedEcCurves in the API: the default list, 422 naming an unknown curve, kept across edits" t_key_forms_api

# ---- a request sent again after its answer was lost (RFC 6712 3.1) --------

SECRET_VALUE=$(cat "$CMP_SECRET_FILE")
tid_of() { "$BUILD/cmpmutate" -nonces "$1" | cut -d' ' -f3; }
tid_certs() { sql "SELECT count(*) FROM certificate WHERE transaction_id = '\\x$1'"; }
show() { "$BUILD/cmpmutate" -show "$T/resp.der"; }

t_resent_implicit() {
  newkey "$T/rsi.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/rsi.key" -subject /CN=rsi -implicit_confirm \
      -reqout "$T/rsi-ir.der" -certout "$T/rsi.pem" || fail "first ir"
  openssl x509 -in "$T/rsi.pem" -outform DER -out "$T/rsi.cer"
  local tid n0; tid=$(tid_of "$T/rsi-ir.der") n0=$(cert_count)
  [ "$(post "$CMP_URL" "$T/rsi-ir.der")" = 200 ] || fail "HTTP"
  [[ $(show) == "body=ip status=0 "* ]] || fail "resent ir: $(show)"
  hexof "$T/resp.der" | grep -q "$(hexof "$T/rsi.cer")" || fail "the answer does not carry the first certificate"
  [ "$(tid_certs "$tid")" = 1 ] || fail "$(tid_certs "$tid") certificates for the transaction"
  [ "$(cert_status "$T/rsi.pem")" = valid ] || fail "status"
  # another request with that transactionID is still refused
  "$BUILD/cmpmutate" -in "$T/rsi-ir.der" -out "$T/rsi-other.der" -secret "$SECRET_VALUE" \
      -tid "$tid" -nonce "$(openssl rand -hex 16)"
  [ "$(post "$CMP_URL" "$T/rsi-other.der")" = 200 ] || fail "HTTP"
  [[ $(show) == "body=error status=2 failInfo=transactionIdInUse text=transactionID already in use"* ]] \
      || fail "another request with the transactionID: $(show)"
  [ "$(tid_certs "$tid")" = 1 ] || fail "a second certificate"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "an implicitly confirmed ir sent again gets its certificate again; another request with its transactionID is refused" \
    t_resent_implicit

t_resent_waiting() {
  newkey "$T/rsw.key" ec
  "$BUILD/cmpclient" -url "$CMP_URL" -trusted "$CA_CERT_FILE" -secret "$SECRET_VALUE" -newkey "$T/rsw.key" \
      -subject rsw -mode noconf -irout "$T/rsw-ir.der" -reqout "$T/rsw-cc.der" -rspout "$T/rsw-ip.der" \
      -certout "$T/rsw.pem" >"$T/rsw.out" 2>&1 || true
  [ -s "$T/rsw-ir.der" ] && [ -s "$T/rsw-cc.der" ] && [ -s "$T/rsw-ip.der" ] || { cat "$T/rsw.out"; fail "no waiting transaction"; }
  local tid; tid=$(tid_of "$T/rsw-ir.der")
  # the ip was lost: the same ir gets the same ip, byte for byte
  [ "$(post "$CMP_URL" "$T/rsw-ir.der")" = 200 ] || fail "HTTP"
  command cmp -s "$T/resp.der" "$T/rsw-ip.der" || fail "a different answer: $(show)"
  [ "$(tid_certs "$tid")" = 1 ] || fail "a second certificate"
  # its certConf (whose recipNonce is that ip's senderNonce) confirms it
  [ "$(post "$CMP_URL" "$T/rsw-cc.der")" = 200 ] || fail "HTTP"
  [[ $(show) == body=pkiconf* ]] || fail "certConf: $(show)"
  [ "$(cert_status "$T/rsw.pem")" = valid ] || fail "not valid"
  # the pkiConf was lost: the same certConf gets a pkiConf again
  [ "$(post "$CMP_URL" "$T/rsw-cc.der")" = 200 ] || fail "HTTP"
  [[ $(show) == body=pkiconf* ]] || fail "resent certConf: $(show)"
  [ "$(cert_status "$T/rsw.pem")" = valid ] || fail "not valid after the resent certConf"
  [ "$(tid_certs "$tid")" = 1 ] || fail "a second certificate"
  # a different certConf, or the ir once the transaction is over: refused
  "$BUILD/cmpmutate" -in "$T/rsw-cc.der" -out "$T/rsw-cc2.der" -secret "$SECRET_VALUE" -nonce "$(openssl rand -hex 16)"
  [ "$(post "$CMP_URL" "$T/rsw-cc2.der")" = 200 ] || fail "HTTP"
  [[ $(show) == "body=error status=2 failInfo=badRequest text=transaction is not waiting for this message: confirmed"* ]] \
      || fail "another certConf: $(show)"
  [ "$(post "$CMP_URL" "$T/rsw-ir.der")" = 200 ] || fail "HTTP"
  [[ $(show) == "body=error status=2 failInfo=transactionIdInUse text=transactionID already in use: the same request again, after its transaction was confirmed"* ]] \
      || fail "the ir after the certConf: $(show)"
  [ "$(sql "SELECT count(*) FROM certificate WHERE subject_dn = 'CN=rsw' AND status = 'valid'")" = 1 ] \
      || fail "not exactly one valid certificate"
}
run_test "an ir and its certConf sent again after lost answers get the same ip and a pkiConf: one certificate" \
    t_resent_waiting

t_resent_kur() {
  fx_cert rsk
  newkey "$T/rsk2.key" ec
  "$BUILD/cmpclient" -cmd kur -url "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/rsk.pem" -key "$T/rsk.key" \
      -newkey "$T/rsk2.key" -subject rsk -mode noconf -irout "$T/rsk-kur.der" -reqout "$T/rsk-cc.der" \
      -rspout "$T/rsk-kup.der" >"$T/rsk.out" 2>&1 || true
  [ -s "$T/rsk-kur.der" ] && [ -s "$T/rsk-kup.der" ] || { cat "$T/rsk.out"; fail "no waiting kur"; }
  [ "$(post "$CMP_URL" "$T/rsk-kur.der")" = 200 ] || fail "HTTP"
  command cmp -s "$T/resp.der" "$T/rsk-kup.der" || fail "a different answer: $(show)"
  [ "$(post "$CMP_URL" "$T/rsk-cc.der")" = 200 ] || fail "HTTP"
  [[ $(show) == body=pkiconf* ]] || fail "certConf: $(show)"
  [ "$(sql "SELECT count(*) FROM certificate WHERE subject_dn = 'CN=rsk' AND status = 'valid'")" = 1 ] \
      || fail "not exactly one valid certificate"
}
run_test "a kur sent again while it waits for its certConf gets the same kup" t_resent_kur
