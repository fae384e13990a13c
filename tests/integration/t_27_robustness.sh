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
