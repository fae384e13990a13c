# SPDX-License-Identifier: Apache-2.0
# 3GPP TS 33.310 (variant v2_3gpp): a base station enrolls with its vendor
# certificate and gets the operator's root in caPubs; the README's walkthrough.

t_3gpp_readme_walkthrough() {
  local D=$T/3gpp
  rm -rf "$D"; mkdir -p "$D"
  readme_block 3gpp-session "$D/session.sh"
  [ "$(wc -l <"$D/session.sh")" -gt 20 ] || fail "the README block is missing"
  (cd "$D" && bash -e -o pipefail "$D/session.sh") || fail "the README 3GPP walkthrough failed"
  # caPubs: the operator's root (the demo CA), and only it
  [ "$(grep -c 'BEGIN CERTIFICATE' "$D/operator-root.pem")" = 1 ] || fail "caPubs holds more than the root"
  [ "$(openssl x509 -in "$D/operator-root.pem" -noout -fingerprint -sha256)" \
      = "$(openssl x509 -in "$CA_CERT_FILE" -noout -fingerprint -sha256)" ] || fail "caPubs is not the root"
  [ "$(openssl x509 -in "$D/bs-operator.pem" -noout -subject -nameopt RFC2253)" = "subject=CN=gNB BS-4711,O=Operator" ] \
    || fail "subject"
  [ "$(cert_status "$D/bs-operator2.pem")" = valid ] && [ "$(cert_status "$D/bs-operator.pem")" = revoked ] \
    || fail "the kur did not supersede"
}
run_test "3GPP: the README walkthrough (vendor-signed ir with its chain, caPubs with the operator root, kur)" \
    t_3gpp_readme_walkthrough

t_3gpp_extra_certs_and_refusals() {
  local D=$T/3gpp F=$T/fx
  [ -s "$D/bs-vendor.pem" ] || fail "needs the walkthrough"
  newkey "$T/g2.key" ec
  # the ip's extraCerts: its signer and the chain up to the root
  cmp -cmd ir -server "$BASE/3gpp" -cert "$D/bs-vendor.pem" -key "$D/bs-vendor.key" \
      -extracerts "$D/vendor-ca.pem" -trusted "$CA_CERT_FILE" -newkey "$T/g2.key" \
      -subject "/O=Operator/CN=gNB 2" -extracertsout "$T/g2-extra.pem" -certout "$T/g2.pem"
  grep -q "BEGIN CERTIFICATE" "$T/g2-extra.pem" || fail "no extraCerts"
  openssl crl2pkcs7 -nocrl -certfile "$T/g2-extra.pem" | openssl pkcs7 -print_certs -noout \
      | grep -q "subject=.*mod_cmp Demo CA\|subject=.*Demo CA" || fail "the CA is not in extraCerts"
  # without the vendor's issuing CA the chain cannot be built
  cmp -cmd ir -server "$BASE/3gpp" -cert "$D/bs-vendor.pem" -key "$D/bs-vendor.key" \
      -trusted "$CA_CERT_FILE" -newkey "$T/g2.key" -subject "/O=Operator/CN=gNB 3" && fail "no chain"
  expect_output "PKIFailureInfo: signerNotTrusted"
  # another vendor (not a trust anchor of the profile)
  cmp -cmd ir -server "$BASE/3gpp" -cert "$F/idevid.pem" -key "$F/idevid.key" \
      -trusted "$CA_CERT_FILE" -newkey "$T/g2.key" -subject "/O=Operator/CN=gNB 4" && fail "untrusted vendor"
  expect_output "PKIFailureInfo: signerNotTrusted"
  # a shared secret is never taken by a 3GPP profile
  cmp -cmd ir -server "$BASE/3gpp" $(mac_args) -newkey "$T/g2.key" -subject "/O=Operator/CN=gNB 5" \
      && fail "MAC accepted"
  expect_output "PKIFailureInfo: wrongIntegrity"
}
run_test "3GPP: the ip's extraCerts hold the chain to the root; an untrusted vendor or chain gets signerNotTrusted, a MAC wrongIntegrity" \
    t_3gpp_extra_certs_and_refusals
