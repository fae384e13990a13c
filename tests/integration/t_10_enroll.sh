# SPDX-License-Identifier: Apache-2.0
# Enrollment, renewal, revocation and confirmation on the happy paths.

t_ir_mac_explicit_confirm() {
  newkey "$T/d1.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/d1.key" -subject /CN=d1 \
      -certout "$T/d1.pem" -reqout "$T/d1-ir.der,$T/d1-cc.der"
  expect_output "sending CERTCONF"
  verify_cert "$T/d1.pem" "$CA_CERT_FILE"
  [ "$(cert_status "$T/d1.pem")" = valid ] || fail "d1 not valid in the database"
  [ "$(sql "SELECT t.state FROM cmp_transaction t JOIN certificate c ON c.id = t.certificate_id
            WHERE c.serial = '$(serial_of "$T/d1.pem")'")" = confirmed ] || fail "transaction not confirmed"
  [ "$(sql "SELECT subject_dn || '|' || key_type || '|' || (der IS NOT NULL) FROM certificate
            WHERE serial = '$(serial_of "$T/d1.pem")'")" = "CN=d1|EC|true" ] || fail "row content"
}
run_test "ir, MAC-protected, EC P-256, explicit certConf, CMP Profile URL" t_ir_mac_explicit_confirm

t_ir_ra_url_rsa_implicit() {
  newkey "$T/d2.key" rsa
  cmp -cmd ir -server "$CMP_RA_URL" $(mac_args) -newkey "$T/d2.key" -subject /CN=d2 \
      -implicit_confirm -certout "$T/d2.pem"
  ! grep -q "sending CERTCONF" "$T/last.out" || fail "certConf sent despite implicitConfirm"
  verify_cert "$T/d2.pem" "$CA_CERT_FILE"
  [ "$(cert_status "$T/d2.pem")" = valid ] || fail "d2 not valid"
  [ "$(sql "SELECT key_type FROM certificate WHERE serial = '$(serial_of "$T/d2.pem")'")" = RSA ] || fail "key type"
}
run_test "ir, RSA-2048, implicitConfirm granted, RA Profile URL" t_ir_ra_url_rsa_implicit

t_ir_well_known_ed25519() {
  newkey "$T/d3.key" ed25519
  cmp -cmd ir -server "$CMP_WELL_KNOWN_URL" $(mac_args) -newkey "$T/d3.key" -subject /CN=d3 \
      -certout "$T/d3.pem"
  verify_cert "$T/d3.pem" "$CA_CERT_FILE"
  [ "$(cert_status "$T/d3.pem")" = valid ] || fail "d3 not valid"
  newkey "$T/d3b.key" ec
  cmp -cmd ir -server "http://127.0.0.1:$HTTP_PORT/.well-known/cmp" $(mac_args) \
      -newkey "$T/d3b.key" -subject /CN=d3b -certout "$T/d3b.pem"
  [ "$(cert_status "$T/d3b.pem")" = valid ] || fail "d3b (default profile) not valid"
}
run_test "ir, Ed25519, /.well-known/cmp/p/demo and /.well-known/cmp" t_ir_well_known_ed25519

t_cr_and_p10cr() {
  newkey "$T/d4.key" ec
  cmp -cmd cr -server "$CMP_URL" $(mac_args) -newkey "$T/d4.key" -subject /CN=d4 -certout "$T/d4.pem"
  [ "$(cert_status "$T/d4.pem")" = valid ] || fail "cr: d4 not valid"
  openssl req -new -key "$T/d4.key" -subj /CN=d4-p10 -out "$T/d4.csr"
  cmp -cmd p10cr -server "$CMP_URL" $(mac_args) -csr "$T/d4.csr" -certout "$T/d4p10.pem"
  [ "$(cert_status "$T/d4p10.pem")" = valid ] || fail "p10cr: not valid"
  verify_cert "$T/d4p10.pem" "$CA_CERT_FILE"
}
run_test "cr and p10cr" t_cr_and_p10cr

t_kur_signed_by_old_cert() {
  fx_cert u1
  newkey "$T/u1new.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/u1.pem" -key "$T/u1.key" \
      -newkey "$T/u1new.key" -certout "$T/u1new.pem"
  verify_cert "$T/u1new.pem" "$CA_CERT_FILE"
  [ "$(cert_status "$T/u1new.pem")" = valid ] || fail "new cert not valid"
  # OpenSSL 3.5's client leaves the subject out of the kur template, 3.0's
  # copies it: either way the old certificate's subject is kept (RFC 9483 4.1.3)
  [ "$(openssl x509 -in "$T/u1new.pem" -noout -subject -nameopt RFC2253)" = "subject=CN=u1" ] \
    || fail "subject not kept: $(openssl x509 -in "$T/u1new.pem" -noout -subject -nameopt RFC2253)"
  [ "$(sql "SELECT o.serial FROM certificate n JOIN certificate o ON o.id = n.replaces_id
            WHERE n.serial = '$(serial_of "$T/u1new.pem")'")" = "$(serial_of "$T/u1.pem")" ] \
      || fail "replaces_id does not name the old certificate"
}
run_test "kur signed by the certificate being updated (MAC profile)" t_kur_signed_by_old_cert

# RFC 9483 4.1.3: the new certificate is for the same end entity. A kur
# template without subjectAltName (-san_nodefault: the client does not copy
# them) gets the old certificate's; another subject or other names are
# refused with badCertTemplate unless the RA Profile allows the change.
t_kur_keeps_identity() {
  local ca ra
  fx_cert ki1 ec -sans "ki1.example 192.0.2.7"
  newkey "$T/ki1new.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ki1.pem" -key "$T/ki1.key" \
      -newkey "$T/ki1new.key" -san_nodefault -certout "$T/ki1new.pem" -reqout "$T/ki1-kur.der"
  # the template really had none: the one subjectAltName in the message
  # is the old certificate's, in extraCerts
  [ "$(openssl asn1parse -inform DER -in "$T/ki1-kur.der" | grep -c "X509v3 Subject Alternative Name")" = 1 ] \
    || fail "the client sent subjectAltName despite -san_nodefault"
  [ "$(openssl x509 -in "$T/ki1new.pem" -noout -ext subjectAltName | tail -1 | tr -d ' ')" \
      = "DNS:ki1.example,IPAddress:192.0.2.7" ] \
    || fail "names not kept: $(openssl x509 -in "$T/ki1new.pem" -noout -ext subjectAltName)"
  [ "$(openssl x509 -in "$T/ki1new.pem" -noout -subject -nameopt RFC2253)" = "subject=CN=ki1" ] \
    || fail "subject not kept"
  [ "$(sql "SELECT sans FROM certificate WHERE serial = '$(serial_of "$T/ki1new.pem")'")" != "" ] \
    || fail "the stored row lacks the names"

  newkey "$T/ki2.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ki1new.pem" -key "$T/ki1new.key" \
      -newkey "$T/ki2.key" -subject /CN=someone-else && fail "kur with another subject accepted"
  expect_output "PKIFailureInfo: badCertTemplate"
  expect_output "key update must keep the subject and subjectAltName: subject 'CN=someone-else' asked, the certificate it updates has 'CN=ki1'"
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ki1new.pem" -key "$T/ki1new.key" \
      -newkey "$T/ki2.key" -sans elsewhere.example && fail "kur with other names accepted"
  expect_output "PKIFailureInfo: badCertTemplate"
  expect_output "subjectAltName other than the certificate it updates has"
  [ "$(cert_status "$T/ki1new.pem")" = valid ] || fail "a refused kur touched the old certificate"

  # the RA Profile allows the change: the same requests succeed
  ca=$(adm_uuid /authorities demo)
  ra=$(adm_uuid /raProfiles demo)
  expect_status 400 PUT "/authorities/$ca/raProfiles/$ra" '{"allowKurIdentityChange": "yes"}'
  jf .message | grep -q "field 'allowKurIdentityChange' must be a boolean" || fail "the field is not named: $(cat "$T/api.json")"
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"allowKurIdentityChange": true}'
  [ "$(jf .allowKurIdentityChange)" = true ] || fail "not stored"
  local rc=0
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ki1new.pem" -key "$T/ki1new.key" \
      -newkey "$T/ki2.key" -subject /CN=ki1-renamed -sans renamed.example -certout "$T/ki2.pem" \
    || rc=$?
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"allowKurIdentityChange": false}'
  [ "$rc" = 0 ] || fail "kur with a new identity refused though allowed"
  [ "$(openssl x509 -in "$T/ki2.pem" -noout -subject -nameopt RFC2253)" = "subject=CN=ki1-renamed" ] \
    || fail "new subject not issued"
  openssl x509 -in "$T/ki2.pem" -noout -ext subjectAltName | grep -q "DNS:renamed.example" \
    || fail "new names not issued"
}
run_test "kur keeps the old subject and subjectAltName; another is refused unless allowed" t_kur_keeps_identity

t_rr_by_holder() {
  fx_cert rh1
  cmp -cmd rr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/rh1.pem" -key "$T/rh1.key" \
      -oldcert "$T/rh1.pem" -revreason 1
  expect_output "revocation accepted"
  [ "$(cert_status "$T/rh1.pem")" = revoked ] || fail "not revoked"
  [ "$(sql "SELECT revocation_reason || '|' || (revoked_at IS NOT NULL) FROM certificate
            WHERE serial = '$(serial_of "$T/rh1.pem")'")" = "1|true" ] || fail "reason/time not stored"
  [ "$(sql "SELECT count(*) FROM audit_event e JOIN certificate c ON c.id = e.certificate_id
            WHERE e.action = 'cmp.revoke' AND e.object = 'certificate:' || c.uuid
            AND e.actor = 'cmp:CN=rh1' AND c.serial = '$(serial_of "$T/rh1.pem")'")" = 1 ] \
    || fail "no audit event"
}
run_test "rr signed by the holder, reason stored, audit event" t_rr_by_holder

t_rr_by_shared_secret() {
  fx_cert r4
  # removeFromCRL is for delta CRLs, not a reason to revoke (the same rule as the API's)
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/r4.pem" -revreason 8 \
      && fail "rr with removeFromCRL accepted"
  expect_output "revocation reason not allowed"
  [ "$(cert_status "$T/r4.pem")" = valid ] || fail "revoked for removeFromCRL"
  cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/r4.pem"
  expect_output "revocation accepted"
  [ "$(cert_status "$T/r4.pem")" = revoked ] || fail "not revoked"
}
run_test "rr protected with the profile's shared secret" t_rr_by_shared_secret

t_ir_signature_protected() {
  local F=$T/fx
  newkey "$T/d5.key" ec
  cmp -cmd ir -server "$BASE/sig" -trusted "$CA_CERT_FILE" -cert "$F/idevid.pem" -key "$F/idevid.key" \
      -newkey "$T/d5.key" -subject /CN=d5 -certout "$T/d5.pem"
  verify_cert "$T/d5.pem" "$CA_CERT_FILE"
  [ "$(cert_status "$T/d5.pem")" = valid ] || fail "d5 not valid"
}
run_test "ir signature-protected by a manufacturer certificate (trust anchor)" t_ir_signature_protected

t_cr_signed_by_own_cert() {
  fx_cert o1
  newkey "$T/d6.key" ec
  cmp -cmd cr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/o1.pem" -key "$T/o1.key" \
      -newkey "$T/d6.key" -subject /CN=d6 -certout "$T/d6.pem"
  [ "$(cert_status "$T/d6.pem")" = valid ] || fail "d6 not valid"
}
run_test "cr signed with a valid certificate of ours" t_cr_signed_by_own_cert

t_rsa_ca_mac_responses() {
  newkey "$T/d7.key" ec
  cmp -cmd ir -server "$BASE/rsa" -ref rsa -secret "file:$T/fx/rsa-secret.txt" \
      -trusted "$T/fx/rsaca.pem" -newkey "$T/d7.key" -subject /CN=d7 -certout "$T/d7.pem"
  verify_cert "$T/d7.pem" "$T/fx/rsaca.pem"
  openssl x509 -in "$T/d7.pem" -noout -text | grep -q "sha256WithRSAEncryption" || fail "not RSA-signed"
  [ "$(cert_status "$T/d7.pem")" = valid ] || fail "d7 not valid"
  newkey "$T/d7b.key" ed25519
  cmp -cmd ir -server "$BASE/raProfile/rsa" -ref rsa -secret "file:$T/fx/rsa-secret.txt" \
      -trusted "$T/fx/rsaca.pem" -newkey "$T/d7b.key" -subject /CN=d7b -certout "$T/d7b.pem"
  verify_cert "$T/d7b.pem" "$T/fx/rsaca.pem"
}
run_test "RSA CA with MAC-protected responses, EC and Ed25519 requesters" t_rsa_ca_mac_responses

# RFC 4210 5.1.3.1 recommends one PBMParameter per transaction: each MAC
# response (the rsa profile's) carries the salt, OWF, iteration count and MAC of its request, and
# the key derived to verify the request protects the response.
t_mac_response_reuses_request_pbm() {
  local kind p
  newkey "$T/pbm.key" ec
  for kind in implicit explicit; do
    p="$T/pbm-$kind"
    cmp -cmd ir -server "$BASE/rsa" -ref rsa -secret "file:$T/fx/rsa-secret.txt" \
        -trusted "$T/fx/rsaca.pem" -newkey "$T/pbm.key" -subject "/CN=pbm-$kind" \
        -mac hmacWithSHA256 -digest sha512 $([ $kind = implicit ] && echo -implicit_confirm) \
        -certout "$p.pem" -reqout "$p-ir.der,$p-cc.der" -rspout "$p-ip.der,$p-conf.der"
    pbm_params "$p-ir.der" >"$p-ir.pbm"
    pbm_params "$p-ip.der" >"$p-ip.pbm"
    grep -q "OCTET STRING" "$p-ir.pbm" && grep -q "hmacWithSHA256" "$p-ir.pbm" && grep -q sha512 "$p-ir.pbm" \
      || fail "$kind: no PBMParameter with SHA-512 and hmacWithSHA256 in the ir"
    diff -q "$p-ir.pbm" "$p-ip.pbm" >/dev/null || fail "$kind: the ip has other PBM parameters than the ir"
    [ "$(cert_status "$p.pem")" = valid ] || fail "$kind: certificate not valid"
  done
  pbm_params "$T/pbm-explicit-cc.der" >"$T/pbm-cc.pbm"
  pbm_params "$T/pbm-explicit-conf.der" >"$T/pbm-conf.pbm"
  diff -q "$T/pbm-cc.pbm" "$T/pbm-conf.pbm" >/dev/null || fail "the pkiConf has other PBM parameters than the certConf"
}
run_test "a MAC response reuses its request's PBM parameters" t_mac_response_reuses_request_pbm

t_template_validity() {
  newkey "$T/d8.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/d8.key" -subject /CN=d8 \
      -days 2 -implicit_confirm -certout "$T/d8.pem"
  local secs; secs=$(( $(date -d "$(openssl x509 -in "$T/d8.pem" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) ))
  [ "$secs" -le $((2 * 86400 + 60)) ] && [ "$secs" -gt $((86400)) ] \
    || fail "validity of $secs s: the template asked for 2 days (the RA Profile allows 365)"
  [ "$(sql "SELECT not_after > now() + interval '1 day' AND not_after < now() + interval '3 days'
            FROM certificate WHERE serial = '$(serial_of "$T/d8.pem")'")" = t ] || fail "stored not_after"
}
run_test "a shorter validity asked in the template is honoured" t_template_validity

t_policy() {
  local n0; n0=$(cert_count)
  newkey "$T/p1.key" rsa
  cmp -cmd ir -server "$BASE/strict" $(mac_args) -newkey "$T/p1.key" -subject /CN=dev-1 -certout "$T/p1.pem" \
      && fail "RSA key accepted"
  expect_output 'PKIStatus: rejection; PKIFailureInfo: badAlg; StatusString: "public key not allowed by the RA Profile'
  expect_output "received CP\|received IP"
  newkey "$T/p2.key" ec
  cmp -cmd ir -server "$BASE/strict" $(mac_args) -newkey "$T/p2.key" -subject /CN=printer -certout "$T/p2.pem" \
      && fail "subject accepted"
  expect_output 'PKIStatus: rejection; PKIFailureInfo: badCertTemplate; StatusString: "subject not allowed by the RA Profile' 
  cmp -cmd ir -server "$BASE/strict" $(mac_args) -newkey "$T/p2.key" -subject /CN=dev-2 \
      -sans "dev2.example" -certout "$T/p2.pem" && fail "SAN accepted"
  expect_output 'PKIFailureInfo: badCertTemplate; StatusString: "subjectAltName not allowed by the RA Profile' 
  [ "$(cert_count)" = "$n0" ] || fail "a refused request stored a certificate"
  cmp -cmd ir -server "$BASE/strict" $(mac_args) -newkey "$T/p2.key" -subject /CN=dev-2 -certout "$T/p2.pem"
  [ "$(cert_status "$T/p2.pem")" = valid ] || fail "dev-2 not valid"
  local days; days=$(( ($(date -d "$(openssl x509 -in "$T/p2.pem" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
  [ "$days" -le 7 ] || fail "validity $days days exceeds the RA Profile's 7"
}
run_test "RA Profile policy: key type, subject pattern, SAN, validity" t_policy
