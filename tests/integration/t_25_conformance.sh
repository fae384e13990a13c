# SPDX-License-Identifier: Apache-2.0
# RFC 9483 conformance: each row of the README's refusal table, checked for
# the body type, PKIStatus, failInfo and statusString of the answer. Headers
# no client sends are made by tests/tools/cmpmutate from a request that
# `openssl cmp` wrote, MACed again with the shared secret so that the change
# reaches the checks behind the protection.

SECRET_VALUE=$(cat "$CMP_SECRET_FILE")

# A fresh transactionID for each mutated request: 16 random octets.
fresh_tid() { openssl rand -hex 16; }

# the base request: an ir that openssl cmp sent (and got a certificate for)
conf_base() {
  [ -s "$T/conf-ir.der" ] && return 0
  newkey "$T/conf.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/conf.key" -subject /CN=conf \
      -implicit_confirm -reqout "$T/conf-ir.der" -certout "$T/conf.pem"
}

# mutate NAME EDITS...: the base ir with a fresh transactionID, edited, MACed
# again, posted to the demo profile; the answer shown in $T/NAME.show
mutate() {
  local name=$1; shift
  conf_base
  local mac=(-secret "$SECRET_VALUE")
  [ -n "${NOMAC:-}" ] && mac=()
  "$BUILD/cmpmutate" -in "${BASE_MSG:-$T/conf-ir.der}" -out "$T/$name.der" "${mac[@]}" \
      -tid "$(fresh_tid)" "$@"
  [ "$(post "${MUTATE_URL:-$CMP_URL}" "$T/$name.der")" = 200 ] || fail "$name: HTTP $(cat "$T/resp.der" | head -c 200)"
  "$BUILD/cmpmutate" -show "$T/resp.der" | tee "$T/$name.show"
}

# expect_answer NAME BODY STATUS FAILINFO TEXT: the answer of mutate NAME
expect_answer() {
  local s; s=$(cat "$T/$1.show")
  [[ $s == "body=$2 status=$3 failInfo=$4 text="* ]] || fail "$1: got '$s', wanted body=$2 status=$3 failInfo=$4"
  [[ $s == *"$5"* ]] || fail "$1: statusString lacks '$5': $s"
}

t_conf_base() { conf_base; [ -s "$T/conf-ir.der" ] || fail "no base request"; }
run_test "the base request: an ir that openssl cmp sends" t_conf_base

# RFC 9810 7: a version the CMP Profile speaks is answered in that version;
# one below them at the lowest (2), one above at the highest. Variant v2
# speaks cmp2000 (a certConf with hashAlg at pvno 3 aside, below); variant
# v3 cmp2021 too, where OpenSSL speaks it (3.5 and later)
t_conf_pvno() {
  local n0 body; n0=$(cert_count)
  mutate pvno1 -pvno 1
  expect_answer pvno1 error 2 unsupportedVersion "protocol version not supported: pvno 1"
  grep -qx "pvno=2" "$T/pvno1.show" || fail "pvno 1 answered at another version than 2"
  mutate pvno5 -pvno 5
  expect_answer pvno5 error 2 unsupportedVersion "pvno 5"
  grep -qx "pvno=2" "$T/pvno5.show" || fail "pvno 5 to a v2 profile not answered at 2"
  "$BUILD/cmpmutate" -verify "$CA_CERT_FILE" "$T/resp.der" | grep -qx "signature ok" \
    || fail "the pvno 2 error's signature does not verify"
  # the demo is a CMP Profile of variant v2: an ir at pvno 3 is refused
  mutate pvno3 -pvno 3
  expect_answer pvno3 error 2 unsupportedVersion "protocol version not supported: pvno 3; this"
  grep -q "cmp2021 (3) is spoken by CMP Profiles of variant v3\|cmp2021 (3) needs OpenSSL 3.2 or later" \
    "$T/pvno3.show" || fail "the refusal does not say who speaks cmp2021: $(cat "$T/pvno3.show")"
  grep -qx "pvno=2" "$T/pvno3.show" || fail "pvno 3 ir answered at $(grep pvno= "$T/pvno3.show")"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  # a CMP Profile of variant v3, for the demo's RA Profile
  body=$(fx_demo_secret '{name: "conf-v3", variant: "v3", requestProtectionMethod: "sharedSecret",
                          responseProtectionMethod: "signature", signingCertificateUuid: $sig,
                          raProfileUuid: $ra}' "$(adm_uuid /raProfiles demo)" "$(cat "$VAR_DIR/demo/signer.uuid")")
  if ! openssl version | grep -q "^OpenSSL 3\.[2-9]"; then
    expect_status 422 POST /cmpProfiles "$body"
    jq -r '.[]' "$T/api.json" | grep -q "^variant v3 (CMPv3: cmp2021, RFC 9810) needs OpenSSL 3.2 or later; this server runs OpenSSL 3.0" \
      || fail "variant v3 on OpenSSL 3.0: $(cat "$T/api.json")"
    return 0
  fi
  expect_status 201 POST /cmpProfiles "$body"
  [ "$(jf .variant)" = v3 ] || fail "variant: $(jf .variant)"
  expect_status 204 PATCH "/cmpProfiles/$(jf .uuid)/enable"
  MUTATE_URL="$BASE/conf-v3" mutate v3pvno3 -pvno 3
  grep -q "^body=ip status=0 " "$T/v3pvno3.show" || fail "pvno 3 ir to v3: $(cat "$T/v3pvno3.show")"
  grep -qx "pvno=3" "$T/v3pvno3.show" || fail "pvno 3 ir to v3 answered at $(grep pvno= "$T/v3pvno3.show")"
  "$BUILD/cmpmutate" -verify "$CA_CERT_FILE" "$T/resp.der" | grep -qx "signature ok" \
    || fail "the answer's signature does not verify after its pvno was set"
  MUTATE_URL="$BASE/conf-v3" mutate v3pvno2
  grep -q "^body=ip status=0 " "$T/v3pvno2.show" && grep -qx "pvno=2" "$T/v3pvno2.show" \
    || fail "pvno 2 ir to v3: $(cat "$T/v3pvno2.show")"
  MUTATE_URL="$BASE/conf-v3" mutate v3pvno5 -pvno 5
  expect_answer v3pvno5 error 2 unsupportedVersion "pvno 5; this CMP Profile speaks cmp2000 (2) and cmp2021 (3)"
  grep -qx "pvno=3" "$T/v3pvno5.show" || fail "pvno 5 to v3 not answered at 3"
}
run_test "pvno: 2 to a v2 CMP Profile (3 refused), 2 and 3 to a v3 one where OpenSSL speaks cmp2021 (on 3.0 the API refuses v3 naming the version); answers at the version RFC 9810 7 asks" t_conf_pvno

t_conf_transaction_id() {
  local n0; n0=$(cert_count)
  mutate tid-none -tid none
  expect_answer tid-none error 2 badDataFormat "no transactionID"
  mutate tid-empty -tid ""
  expect_answer tid-empty error 2 badDataFormat "a transactionID of 0 octets"
  mutate tid-1 -tid 01
  expect_answer tid-1 error 2 badDataFormat "a transactionID of 1 octets"
  mutate tid-big -tid "$(openssl rand -hex 2048)"
  expect_answer tid-big error 2 badDataFormat "a transactionID of 2048 octets"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  [ "$(sql "SELECT count(*) FROM cmp_transaction WHERE length(transaction_id) < 16")" = 0 ] \
      || fail "a short transactionID was stored"
}
run_test "transactionID missing, empty, 1 octet, 2 KB -> badDataFormat, nothing stored" t_conf_transaction_id

t_conf_nonces() {
  local n0; n0=$(cert_count)
  mutate nonce-none -nonce none
  expect_answer nonce-none error 2 badSenderNonce "senderNonce not acceptable: no senderNonce"
  mutate nonce-short -nonce 12345678
  expect_answer nonce-short error 2 badSenderNonce "a senderNonce of 4 octets"
  mutate recip-first -recipnonce "$(openssl rand -hex 16)"
  expect_answer recip-first error 2 badRecipientNonce "a recipNonce in the first message"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "senderNonce missing or short, recipNonce in a first message -> badSenderNonce, badRecipientNonce" \
    t_conf_nonces

t_conf_message_time() {
  local n0; n0=$(cert_count)
  mutate time-ahead -time +3600
  expect_answer time-ahead error 2 badTime "s ahead of the server's clock; at most 600 s are accepted"
  mutate time-past -time -86400000
  expect_answer time-past error 2 badTime "behind the server's clock"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  # messageTime is RECOMMENDED only: without it, and a little off, accepted
  mutate time-none -time none
  expect_answer time-none ip 0 "" ""
  mutate time-near -time -30
  expect_answer time-near ip 0 "" ""
}
run_test "messageTime far ahead or long past -> badTime; absent or near -> accepted" t_conf_message_time

t_conf_sender_kid() {
  local n0; n0=$(cert_count)
  mutate kid-none -kid none
  expect_answer kid-none error 2 badMessageCheck "a MAC-protected request without senderKID"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "MAC-protected request without senderKID -> badMessageCheck" t_conf_sender_kid

# sharedSecretReference: the senderKID a profile's MAC requests must carry
t_conf_secret_reference() {
  local ra signer
  ra=$(adm_uuid /raProfiles demo)
  signer=$(cat "$VAR_DIR/demo/signer.uuid")
  fx_cmp_profile "$(fx_demo_secret '{name: "withref", signingCertificateUuid: $sig, raProfileUuid: $ra,
                                     sharedSecretReference: "device-secret-7"}' "$ra" "$signer")" enable >/dev/null
  api GET "/cmpProfiles/$(adm_uuid /cmpProfiles withref)" >/dev/null
  [ "$(jf .sharedSecretReference)" = device-secret-7 ] || fail "API: $(cat "$T/api.json")"
  newkey "$T/wr.key" ec
  cmp -cmd ir -server "$BASE/withref" -ref other -secret "file:$CMP_SECRET_FILE" -trusted "$CA_CERT_FILE" \
      -newkey "$T/wr.key" -subject /CN=wr -rspout "$T/wr-rsp.der" && fail "another senderKID accepted"
  "$BUILD/cmpmutate" -show "$T/wr-rsp.der" | tee "$T/wr.show"
  expect_answer wr error 2 badMessageCheck "senderKID does not name this CMP Profile's shared secret"
  cmp -cmd ir -server "$BASE/withref" -ref device-secret-7 -secret "file:$CMP_SECRET_FILE" \
      -trusted "$CA_CERT_FILE" -newkey "$T/wr.key" -subject /CN=wr -certout "$T/wr.pem"
  [ "$(cert_status "$T/wr.pem")" = valid ] || fail "not enrolled with the reference"
}
run_test "sharedSecretReference set: another senderKID -> badMessageCheck; the reference enrolls" t_conf_secret_reference

t_conf_sender_name() {
  local n0; n0=$(cert_count)
  mutate sender822 -sender822 device@example.com
  expect_answer sender822 error 2 badMessageCheck "the sender is not a directoryName"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "sender not a directoryName -> badMessageCheck" t_conf_sender_name

# Signed requests (RFC 9483 3.1): senderKID is the protection certificate's
# subjectKeyIdentifier and the sender its subject; signed again by cmpmutate
t_conf_signed_sender() {
  fx_cert sgn
  newkey "$T/sgn-new.key" ec
  cmp -cmd cr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/sgn.pem" -key "$T/sgn.key" \
      -newkey "$T/sgn-new.key" -subject /CN=sgn -implicit_confirm -reqout "$T/sgn-cr.der"
  local n0; n0=$(cert_count)
  NOMAC=1 BASE_MSG=$T/sgn-cr.der mutate sgn-ok -signkey "$T/sgn.key"
  expect_answer sgn-ok cp 0 "" ""
  n0=$(cert_count)
  NOMAC=1 BASE_MSG=$T/sgn-cr.der mutate sgn-nokid -kid none -signkey "$T/sgn.key"
  expect_answer sgn-nokid error 2 badMessageCheck "no senderKID, and the protection certificate has a subjectKeyIdentifier"
  NOMAC=1 BASE_MSG=$T/sgn-cr.der mutate sgn-kid -kid not-the-ski -signkey "$T/sgn.key"
  expect_answer sgn-kid error 2 badMessageCheck "senderKID is not the subjectKeyIdentifier"
  NOMAC=1 BASE_MSG=$T/sgn-cr.der mutate sgn-sender -sendercn someone-else -signkey "$T/sgn.key"
  expect_answer sgn-sender error 2 badMessageCheck "the sender is not the subject of the protection certificate"
  # a signature that does not verify (signed with another key)
  NOMAC=1 BASE_MSG=$T/sgn-cr.der mutate sgn-bad -signkey "$T/sgn-new.key"
  expect_answer sgn-bad error 2 badMessageCheck "signature protection does not verify"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "signed: senderKID missing or not the SKID, sender not the subject, bad signature -> badMessageCheck" \
    t_conf_signed_sender

t_conf_mac_algorithms() {
  local n0; n0=$(cert_count)
  # a bare HMAC or KMAC (RFC 9481 6.2): refused before any MAC is computed
  NOMAC=1 mutate hmac -protalg 1.2.840.113549.2.9
  expect_answer hmac error 2 badAlg "protection algorithm not supported: hmacWithSHA256"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "HMAC protection -> badAlg" t_conf_mac_algorithms

# PBMAC1 (RFC 9481 6.1.2): accepted as PasswordBasedMac is; a profile with
# MAC-protected responses answers with the request's PBMAC1 parameters
t_conf_pbmac1() {
  mutate pbmac1 -pbmac1
  expect_answer pbmac1 ip 0 "" ""
  # the wrong secret
  mutate pbmac1-bad -secret not-the-secret -pbmac1
  expect_answer pbmac1-bad error 2 badMessageCheck "MAC protection does not verify"
  # the RSA CA's profile 'rsa' MACs its responses
  fx_rsaca_cert pbm-rsa
  openssl cmp -cmd cr -server "$BASE/rsa" -ref rsa -secret "file:$T/fx/rsa-secret.txt" \
      -trusted "$T/fx/rsaca.pem" -newkey "$T/pbm-rsa.key" -subject /CN=pbm-rsa2 -implicit_confirm \
      -reqout "$T/rsa-cr.der" -certout "$T/pbm-rsa2.pem" >/dev/null 2>&1 || fail "rsa cr"
  "$BUILD/cmpmutate" -in "$T/rsa-cr.der" -out "$T/rsa-pbmac1.der" -secret "$(cat "$T/fx/rsa-secret.txt")" \
      -pbmac1 -tid "$(fresh_tid)"
  [ "$(post "$BASE/rsa" "$T/rsa-pbmac1.der")" = 200 ] || fail "HTTP"
  "$BUILD/cmpmutate" -show "$T/resp.der" | grep -q "^body=cp status=0" || fail "$("$BUILD/cmpmutate" -show "$T/resp.der")"
  "$BUILD/cmpmutate" -check "$(cat "$T/fx/rsa-secret.txt")" "$T/resp.der" | tee "$T/pbmac1-check.out"
  grep -q "^mac ok (PBMAC1)" "$T/pbmac1-check.out" || fail "the response is not PBMAC1-protected"
}
run_test "PBMAC1-protected requests accepted; MAC-protected responses use the request's PBMAC1" t_conf_pbmac1

t_conf_body() {
  local n0; n0=$(cert_count)
  # an ir body OpenSSL cannot decode ([0] holding an INTEGER), header readable
  mutate body-bad -body a003020101
  expect_answer body-bad error 2 badDataFormat "OpenSSL cannot decode the message"
  # pollReq of a transaction no request waits in (RFC 9483 4.4)
  mutate body-poll -geninfo none -body b90730053003020100
  expect_answer body-poll error 2 badRequest "unknown transaction: no request of this transaction waits for approval"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "a body OpenSSL cannot decode -> badDataFormat; a pollReq nothing waits for -> badRequest" t_conf_body

# tlv TAG CONTENT: a DER TLV in hex
tlv() {
  local n=$((${#2} / 2))
  if [ $n -lt 128 ]; then printf '%s%02x%s' "$1" $n "$2"
  elif [ $n -lt 256 ]; then printf '%s81%02x%s' "$1" $n "$2"
  else printf '%s82%04x%s' "$1" $n "$2"; fi
}

# pwri_ir_body NAME: an ir body whose one CertReqMsg proves possession of an
# EC key by sending it encrypted (POPOPrivKey encryptedKey [4], RFC 9810
# 5.2.8.3.1 / RFC 4211 4.2), an EnvelopedData to a password (PWRI, RFC 3211)
# as `openssl cms -pwri_password` makes it
pwri_ir_body() {
  local n=$1 line off hl ed spki name tmpl
  newkey "$T/$n.key" ec
  openssl pkey -in "$T/$n.key" -pubout -outform DER -out "$T/$n.spki"
  openssl pkcs8 -topk8 -nocrypt -in "$T/$n.key" -outform DER -out "$T/$n.p8"
  openssl cms -encrypt -pwri_password "$SECRET_VALUE" -aes-256-cbc -binary -in "$T/$n.p8" \
      -outform DER -out "$T/$n.cms"
  # ContentInfo { envelopedData, [0] { EnvelopedData } }: the inner SEQUENCE
  line=$(openssl asn1parse -inform DER -in "$T/$n.cms" | awk '/d=2 / {print; exit}')
  off=${line%%:*}; off=${off// /}
  hl=$(sed 's/.*hl= *\([0-9]*\).*/\1/' <<<"$line")
  ed=$(hexof "$T/$n.cms"); ed=${ed:$(( (off + hl) * 2 ))}
  spki=$(hexof "$T/$n.spki")
  name=$(tlv 30 "$(tlv 31 "$(tlv 30 "0603550403$(tlv 0c "$(printf '%s' "$n" | od -An -tx1 | tr -d ' \n')")")")")
  tmpl=$(tlv 30 "$(tlv a5 "$name")a6${spki:2}")
  tlv a0 "$(tlv 30 "$(tlv 30 "$(tlv 30 "020100$tmpl")$(tlv a2 "$(tlv a4 "$ed")")")")"
}

t_conf_pwri() {
  local n0; n0=$(cert_count)
  mutate pwri -body "$(pwri_ir_body pwri)"
  expect_answer pwri error 2 badPOP "proof of possession method not supported: the private key sent encrypted (POPOPrivKey encryptedKey, an EnvelopedData) is not taken"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  grep -q "proof of possession method not supported" "$VAR_DIR/httpd/error.log" || fail "not logged"
}
run_test "a private key sent encrypted as POP (POPOPrivKey encryptedKey, PWRI EnvelopedData) -> badPOP, the same on OpenSSL 3.0 and 3.5" t_conf_pwri

# generalInfo, as DER: implicitConfirm with the value INTEGER 1 (not NULL);
# implicitConfirm (NULL) beside confirmWaitTime; confirmWaitTime as UTCTime
IC_INT=300f300d06082b060105050704 IC_INT+=0d020101
IC_AND_WAIT=302b300c06082b0601050507040d0500301b06082b0601050507040e180f32303330303130313030303030305a
WAIT_UTC=301b301906082b0601050507040e170d3330303130313030303030305a
t_conf_general_info() {
  local n0; n0=$(cert_count)
  mutate gi-ic-int -geninfo "$IC_INT"
  expect_answer gi-ic-int error 2 badDataFormat "the value of implicitConfirm must be NULL"
  mutate gi-ic-wait -geninfo "$IC_AND_WAIT"
  expect_answer gi-ic-wait error 2 badRequest "implicitConfirm and confirmWaitTime exclude each other"
  mutate gi-wait-utc -geninfo "$WAIT_UTC"
  expect_answer gi-wait-utc error 2 badDataFormat "confirmWaitTime must be a GeneralizedTime"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "generalInfo: implicitConfirm not NULL, beside confirmWaitTime, confirmWaitTime as UTCTime" \
    t_conf_general_info

IC_NULL=300e300c06082b060105050704 IC_NULL+=0d0500
WAIT_ONLY=301d301b06082b0601050507040e180f32303330303130313030303030305a
t_conf_general_info_place() {
  cmp -cmd genm -server "$CMP_URL" $(mac_args) -reqout "$T/conf-genm.der"
  BASE_MSG=$T/conf-genm.der mutate gi-ic-genm -geninfo "$IC_NULL"
  expect_answer gi-ic-genm error 2 badRequest "implicitConfirm is allowed in ir, cr, p10cr and kur only"
  mutate gi-wait -geninfo "$WAIT_ONLY"
  expect_answer gi-wait error 2 badRequest "confirmWaitTime is for responses (ip, cp, kup) only"
  # a genm of caCerts with a value (NULL) where none is due
  BASE_MSG=$T/conf-genm.der mutate genm-value -body b510300e300c06082b060105050704110500
  expect_answer genm-value error 2 badRequest "a genm of caCerts carries no infoValue"
  # rootCaCert whose value is no certificate (an OCTET STRING)
  BASE_MSG=$T/conf-genm.der mutate genm-root -body b511300f300d06082b060105050704140401ff
  expect_answer genm-root error 2 badDataFormat "the rootCaCert of a genm is the old root CA certificate"
}
run_test "implicitConfirm in a genm, confirmWaitTime in a request, a genm value where none is due -> badRequest; a rootCaCert that is no certificate -> badDataFormat" \
    t_conf_general_info_place

t_conf_ber() {
  local n0; n0=$(cert_count)
  mutate ber -ber
  expect_answer ber error 2 badDataFormat "the message is not DER encoded"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "indefinite-length BER -> badDataFormat" t_conf_ber

t_conf_transaction_in_use() {
  local tid; tid=$(fresh_tid)
  mutate tiu-1 -tid "$tid"
  expect_answer tiu-1 ip 0 "" ""
  local n0; n0=$(cert_count)
  # (the same bytes again would be a resend, answered again: t_27)
  mutate tiu-2 -tid "$tid" -nonce "$(openssl rand -hex 16)"
  expect_answer tiu-2 error 2 transactionIdInUse "transactionID already in use"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "a transactionID already used -> transactionIdInUse" t_conf_transaction_in_use

# Refusals OpenSSL's server makes by itself carry its decision, not the
# leftover of its protection pass ("missing secret")
t_conf_openssl_refusals() {
  local n0; n0=$(cert_count)
  newkey "$T/conf-pop.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/conf-pop.key" -subject /CN=cpop \
      -popo 0 -reqout "$T/conf-ravf.der" && fail "raVerified accepted"
  [ "$(post "$CMP_URL" "$T/conf-ravf.der")" = 200 ] || fail "status"
  "$BUILD/cmpmutate" -show "$T/resp.der" | tee "$T/ravf.show"
  grep -q "status=2 failInfo=badPOP text=proof of possession does not verify" "$T/ravf.show" \
      || fail "raVerified: $(cat "$T/ravf.show")"
  grep -q "missing secret" "$T/ravf.show" && fail "stale reason"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
}
run_test "refusals OpenSSL's server decides: its own reason and failInfo, no stale text" \
    t_conf_openssl_refusals

# certConf (RFC 9483 4.1, 3.5): a transaction left waiting by cmpclient
# -mode noconf, whose certConf (written, not sent) is then changed
# cc_wait NAME CMPCLIENT-ARGS...: $T/NAME-cc.der, and the ip in $T/NAME-ip.der
cc_wait() {
  local n=$1; shift
  newkey "$T/$n.key" ec
  "$BUILD/cmpclient" -url "$CMP_URL" -trusted "$CA_CERT_FILE" -newkey "$T/$n.key" -subject "$n" \
      -mode noconf -reqout "$T/$n-cc.der" -rspout "$T/$n-ip.der" "$@" >"$T/$n.out" 2>&1 || true
  [ -s "$T/$n-cc.der" ] && [ -s "$T/$n-ip.der" ] || { cat "$T/$n.out"; fail "$n: no waiting transaction"; }
}
# cc_send NAME TAG EDITS...: the certConf of NAME changed, answer in $T/TAG.show
cc_send() {
  local n=$1 tag=$2; shift 2
  "$BUILD/cmpmutate" -in "$T/$n-cc.der" -out "$T/$tag.der" -secret "$SECRET_VALUE" "$@"
  [ "$(post "$CMP_URL" "$T/$tag.der")" = 200 ] || fail "$tag: HTTP"
  "$BUILD/cmpmutate" -show "$T/resp.der" | tee "$T/$tag.show"
}
# one CertStatus (certHash of 32 zero octets, certReqId 0), twice; and one
# with status accepted and a failInfo
H32=0420$(printf '0%.0s' {1..64})
CC_TWO=b8503 CC_TWO+=04e3025${H32}0201003025${H32}020100
CC_ACCEPTED_FAIL=b832303030 CC_ACCEPTED_FAIL+=2e${H32}0201003007020100030207 CC_ACCEPTED_FAIL+=80
t_conf_certconf() {
  cc_wait ccm -secret "$SECRET_VALUE" -ref demo
  cc_send ccm cc-two -body "$CC_TWO"
  expect_answer cc-two error 2 badRequest "request not acceptable: 2 CertStatus"
  cc_send ccm cc-accfail -body "$CC_ACCEPTED_FAIL"
  expect_answer cc-accfail error 2 badRequest "a CertStatus of accepted with a failInfo"
  cc_send ccm cc-recip -recipnonce "$(openssl rand -hex 16)"
  expect_answer cc-recip error 2 badRecipientNonce "recipNonce is not the senderNonce of the server's response"
  cc_send ccm cc-norecip -recipnonce none
  expect_answer cc-norecip error 2 badRecipientNonce "a certConf without recipNonce"
  # the ip's recipNonce is the senderNonce of the ir
  local ir_nonce; ir_nonce=$("$BUILD/cmpmutate" -nonces "$T/ccm-ip.der" | cut -d' ' -f2)
  cc_send ccm cc-reuse -nonce "$ir_nonce"
  expect_answer cc-reuse error 2 badSenderNonce "the certConf reuses the senderNonce of the request"
  [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=ccm'")" = pending ] || fail "not pending"
  # the certConf as the client made it still confirms
  [ "$(post "$CMP_URL" "$T/ccm-cc.der")" = 200 ] || fail "HTTP"
  "$BUILD/cmpmutate" -show "$T/resp.der" | grep -q "^body=pkiconf" || fail "$("$BUILD/cmpmutate" -show "$T/resp.der")"
  [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=ccm'")" = valid ] || fail "not valid"
}
run_test "certConf: two CertStatus, accepted with failInfo, wrong/missing recipNonce, reused senderNonce" \
    t_conf_certconf

t_conf_certconf_protection() {
  fx_cert ccs-signer
  cc_wait ccs -cert "$T/ccs-signer.pem" -key "$T/ccs-signer.key" -cmd cr
  cc_send ccs cc-mac -pbmfrom "$T/conf-ir.der"
  expect_answer cc-mac error 2 wrongIntegrity "a MAC-protected certConf for a signed request"
  [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=ccs'")" = pending ] || fail "not pending"
}
run_test "certConf MAC-protected after a signed request -> wrongIntegrity" t_conf_certconf_protection

# certConf with the hashAlg of RFC 9810 (pvno 3): taken on OpenSSL 3.0 too
t_conf_certconf_hash_alg() {
  cc_wait cch -secret "$SECRET_VALUE" -ref demo -certout "$T/cch.pem"
  local h; h=$(openssl x509 -in "$T/cch.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
  # hashAlg with an OID that names no digest -> badAlg
  cc_send cch cch-bad -pvno 3 -body "b8323030302e0420${h}020100a007300506032a0304"
  expect_answer cch-bad error 2 badAlg "hashAlg names no digest this server has"
  # CertStatus {SHA-256 of the certificate, certReqId 0, hashAlg sha256}
  cc_send cch cch-ok -pvno 3 -body "b838303630340420${h}020100a00d300b0609608648016503040201"
  grep -q "^body=pkiconf" "$T/cch-ok.show" || fail "hashAlg certConf: $(cat "$T/cch-ok.show")"
  grep -qx "pvno=3" "$T/cch-ok.show" || fail "the pkiConf to a pvno 3 certConf is not at pvno 3"
  "$BUILD/cmpmutate" -verify "$CA_CERT_FILE" "$T/resp.der" | grep -qx "signature ok" \
    || fail "the pvno 3 pkiConf's signature does not verify"
  [ "$(sql "SELECT status FROM certificate WHERE subject_dn = 'CN=cch'")" = valid ] || fail "not valid"
}
run_test "certConf with hashAlg (pvno 3): the certHash checked with that digest; an unknown one -> badAlg" \
    t_conf_certconf_hash_alg

# Revocation (RFC 9483 4.2)
t_conf_rr_reason() {
  fx_cert rr20
  # the rr openssl cmp makes (reason 1) is written, not sent: no server there
  openssl cmp -cmd rr -server 127.0.0.1:1 $(mac_args) -oldcert "$T/rr20.pem" -revreason 1 \
      -reqout "$T/rr20.der" >/dev/null 2>&1 || true
  # CRLReason extension (2.5.29.21) with the value 20 instead of 1
  hexof "$T/rr20.der" | sed 's/0603551d1504030a0101/0603551d1504030a0114/' | unhex >"$T/rr20-bad.der"
  [ "$(md5sum <"$T/rr20.der")" != "$(md5sum <"$T/rr20-bad.der")" ] || fail "no CRLReason found to change"
  BASE_MSG=$T/rr20-bad.der mutate rr20
  expect_answer rr20 rp 2 badRequest "revocation reason not allowed: CRLReason 20"
  [ "$(cert_status "$T/rr20.pem")" = valid ] || fail "revoked"
}
run_test "rr with an unknown CRLReason (20) -> rp rejection badRequest, nothing revoked" t_conf_rr_reason


t_conf_rr_used_tid() {
  conf_base
  fx_cert rrt
  openssl cmp -cmd rr -server 127.0.0.1:1 $(mac_args) -oldcert "$T/rrt.pem" -reqout "$T/rrt.der" >/dev/null 2>&1 || true
  # the transactionID of a finished enrollment (the base ir's)
  local used; used=$("$BUILD/cmpmutate" -nonces "$T/conf-ir.der" | cut -d' ' -f3)
  BASE_MSG=$T/rrt.der mutate rrt -tid "$used"
  expect_answer rrt rp 2 transactionIdInUse "transactionID already in use: an enrollment used it"
  [ "$(cert_status "$T/rrt.pem")" = valid ] || fail "revoked"
}
run_test "rr with the transactionID of a finished enrollment -> transactionIdInUse, nothing revoked" t_conf_rr_used_tid

t_conf_rr_by_revoked() {
  fx_revoked rrv
  cmp -cmd rr -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/rrv.pem" -key "$T/rrv.key" \
      -oldcert "$T/rrv.pem" -rspout "$T/rrv-rsp.der" && fail "accepted"
  "$BUILD/cmpmutate" -show "$T/rrv-rsp.der" | tee "$T/rrv.show"
  expect_answer rrv rp 2 certRevoked "certificate already revoked"
}
run_test "rr signed by a revoked certificate -> rp with certRevoked" t_conf_rr_by_revoked

# Requested extensions (RFC 4210 5.2.3): what is issued otherwise than asked
# is said (grantedWithMods); what an RA Profile never issues is refused
# p10cr_ext NAME OPENSSL-REQ-ADDEXT...: a p10cr of a fresh EC key with them
p10cr_ext() {
  local n=$1; shift
  local a=() e
  for e in "$@"; do a+=(-addext "$e"); done
  newkey "$T/$n.key" ec
  openssl req -new -key "$T/$n.key" -subj "/CN=$n" "${a[@]}" -out "$T/$n.csr"
  cmp -cmd p10cr -server "$CMP_URL" $(mac_args) -csr "$T/$n.csr" -certout "$T/$n.pem" \
      -rspout "$T/$n-rsp.der" || true
  "$BUILD/cmpmutate" -show "$T/$n-rsp.der" | tee "$T/$n.show"
}
t_conf_requested_extensions() {
  local n0; n0=$(cert_count)
  p10cr_ext ext-ca "basicConstraints=critical,CA:TRUE"
  expect_answer ext-ca cp 2 badCertTemplate "certificate template not acceptable: an RA Profile issues end-entity certificates"
  p10cr_ext ext-path "basicConstraints=CA:FALSE,pathlen:2"
  expect_answer ext-path cp 2 badCertTemplate "pathLenConstraint without cA"
  p10cr_ext ext-crit "1.2.3.4=critical,DER:0500"
  expect_answer ext-crit cp 2 unacceptedExtension "requested extension not accepted: critical extension 1.2.3.4"
  [ "$(cert_count)" = "$n0" ] || fail "stored"
  # an EC key: keyAgreement where the RA Profile says keyEncipherment (RFC 5480)
  p10cr_ext ext-none
  expect_answer ext-none cp 0 "" ""
  openssl x509 -in "$T/ext-none.pem" -noout -ext keyUsage | tee "$T/ext-none.ku"
  grep -q "Digital Signature, Key Agreement" "$T/ext-none.ku" || fail "EC keyUsage"
  # keyCertSign asked, the RA Profile's issued: granted with modifications
  p10cr_ext ext-ku "keyUsage=critical,keyCertSign" "1.2.3.5=DER:0500"
  expect_answer ext-ku cp 1 "" "keyUsage digitalSignature,keyAgreement issued, keyCertSign asked; extension 1.2.3.5 not issued"
  [ "$(cert_status "$T/ext-ku.pem")" = valid ] || fail "not issued"
  openssl x509 -in "$T/ext-ku.pem" -noout -ext keyUsage | grep -q "Certificate Sign" && fail "keyCertSign issued"
  true
}
run_test "requested extensions: cA, pathLen -> badCertTemplate; unknown critical -> unacceptedExtension; others grantedWithMods" \
    t_conf_requested_extensions

# An RA Profile that lets the request choose its keyUsage (keyUsageFromRequest):
# the asked keyUsage as the key can have it, within the RA Profile's
# (digitalSignature,keyEncipherment on the demo)
t_conf_key_usage_from_request() {
  local ca ra n0
  ca=$(adm_uuid /authorities demo)
  ra=$(adm_uuid /raProfiles demo)
  expect_status 400 PUT "/authorities/$ca/raProfiles/$ra" '{"keyUsageFromRequest": 1}'
  jf .message | grep -q "field 'keyUsageFromRequest' must be a boolean" || fail "field not named: $(cat "$T/api.json")"
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"keyUsageFromRequest": true}'
  # the demo's setting comes back however this test ends (it runs in a subshell)
  trap "api PUT /authorities/$ca/raProfiles/$ra '{\"keyUsageFromRequest\": false}' >/dev/null" EXIT
  [ "$(jf .keyUsageFromRequest)" = true ] || fail "not stored"
  n0=$(cert_count)
  # a part of the RA Profile's: issued as asked
  p10cr_ext kfr-ds "keyUsage=critical,digitalSignature"
  expect_answer kfr-ds cp 0 "" ""
  openssl x509 -in "$T/kfr-ds.pem" -noout -ext keyUsage | tail -n +2 | tee "$T/kfr-ds.ku"
  grep -qx " *Digital Signature" "$T/kfr-ds.ku" || fail "keyUsage not as asked"
  # an EC key asking keyEncipherment gets keyAgreement (RFC 5480), said
  p10cr_ext kfr-ke "keyUsage=critical,keyEncipherment"
  expect_answer kfr-ke cp 1 "" "EC keys cannot have keyUsage keyEncipherment; keyUsage keyAgreement issued, keyEncipherment asked"
  openssl x509 -in "$T/kfr-ke.pem" -noout -ext keyUsage | tail -n +2 | tee "$T/kfr-ke.ku"
  grep -qx " *Key Agreement" "$T/kfr-ke.ku" || fail "EC keyUsage"
  # nothing of it allowed: refused, nothing stored
  p10cr_ext kfr-cs "keyUsage=critical,keyCertSign"
  expect_answer kfr-cs cp 2 badCertTemplate "certificate template not acceptable: keyUsage keyCertSign asked: the RA Profile allows digitalSignature,keyAgreement for EC keys"
  [ "$(cert_count)" = "$((n0 + 2))" ] || fail "the refused one stored"
  # off again: the RA Profile's keyUsage whatever is asked
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"keyUsageFromRequest": false}'
  trap - EXIT
  p10cr_ext kfr-off "keyUsage=critical,digitalSignature"
  expect_answer kfr-off cp 1 "" "keyUsage digitalSignature,keyAgreement issued, digitalSignature asked"
}
run_test "keyUsageFromRequest: the asked keyUsage as the key can have it (EC: keyAgreement), within the RA Profile's; none of it allowed -> badCertTemplate" \
    t_conf_key_usage_from_request

# rr protected with the shared secret: a CMP Profile option, off by default
# (RFC 9483 4.2); the demo turns it on, "strict" keeps the default
t_conf_mac_rr() {
  newkey "$T/mrr.key" ec
  cmp -cmd ir -server "$BASE/strict" $(mac_args) -newkey "$T/mrr.key" -subject /CN=dev-77 -certout "$T/mrr.pem"
  cmp -cmd rr -server "$BASE/strict" $(mac_args) -oldcert "$T/mrr.pem" -rspout "$T/mrr-rsp.der" \
      && fail "MAC rr accepted"
  "$BUILD/cmpmutate" -show "$T/mrr-rsp.der" | tee "$T/mrr.show"
  expect_answer mrr error 2 wrongIntegrity "rr must be signed by the certificate to revoke"
  [ "$(cert_status "$T/mrr.pem")" = valid ] || fail "revoked"
  # signed by the holder: revoked
  cmp -cmd rr -server "$BASE/strict" -trusted "$CA_CERT_FILE" -cert "$T/mrr.pem" -key "$T/mrr.key" \
      -oldcert "$T/mrr.pem"
  [ "$(cert_status "$T/mrr.pem")" = revoked ] || fail "not revoked"
  # the API shows the options, with their defaults
  api GET "/cmpProfiles/$(adm_uuid /cmpProfiles strict)" >/dev/null
  [ "$(jf .allowMacRevocation)|$(jf .revokeOnKeyUpdate)" = "false|true" ] || fail "strict: $(cat "$T/api.json")"
  api GET "/cmpProfiles/$(adm_uuid /cmpProfiles demo)" >/dev/null
  [ "$(jf .allowMacRevocation)" = true ] || fail "demo allows MAC rr"
}
run_test "MAC-protected rr refused unless the CMP Profile allows it (off by default); the holder's signed rr taken" \
    t_conf_mac_rr

# kur (RFC 9483 4.1.3): the replaced certificate is revoked (superseded) once
# the new one is confirmed; a second kur waits for the first's certConf
t_conf_kur_supersedes() {
  fx_cert ku1
  newkey "$T/ku1b.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ku1.pem" -key "$T/ku1.key" \
      -newkey "$T/ku1b.key" -implicit_confirm -certout "$T/ku1b.pem"
  [ "$(cert_status "$T/ku1b.pem")" = valid ] || fail "new not valid"
  [ "$(sql "SELECT status || '|' || revocation_reason FROM certificate WHERE serial = '$(serial_of "$T/ku1.pem")'")" \
      = "revoked|4" ] || fail "the replaced certificate is not revoked (superseded)"
  # the replaced certificate serves nothing more
  newkey "$T/ku1c.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ku1.pem" -key "$T/ku1.key" \
      -newkey "$T/ku1c.key" -implicit_confirm -rspout "$T/ku1c-rsp.der" && fail "kur by the replaced certificate"
  "$BUILD/cmpmutate" -show "$T/ku1c-rsp.der" | tee "$T/ku1c.show"
  expect_answer ku1c error 2 certRevoked "signer certificate is revoked or not valid"
  # a kur waiting for its certConf: a second one is refused; the certConf
  # then confirms and supersedes
  fx_cert ku2
  newkey "$T/ku2b.key" ec
  "$BUILD/cmpclient" -cmd kur -url "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ku2.pem" -key "$T/ku2.key" \
      -newkey "$T/ku2b.key" -subject ku2 -mode noconf -reqout "$T/ku2-cc.der" >"$T/ku2.out" 2>&1 || true
  [ -s "$T/ku2-cc.der" ] || { cat "$T/ku2.out"; fail "no waiting kur"; }
  newkey "$T/ku2c.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ku2.pem" -key "$T/ku2.key" \
      -newkey "$T/ku2c.key" -implicit_confirm -rspout "$T/ku2c-rsp.der" && fail "a second kur accepted"
  "$BUILD/cmpmutate" -show "$T/ku2c-rsp.der" | tee "$T/ku2c.show"
  expect_answer ku2c error 2 badRequest "a key update of this certificate waits for its certConf"
  [ "$(cert_status "$T/ku2.pem")" = valid ] || fail "revoked before the certConf"
  [ "$(post "$CMP_URL" "$T/ku2-cc.der")" = 200 ] || fail "HTTP"
  "$BUILD/cmpmutate" -show "$T/resp.der" | grep -q "^body=pkiconf" || fail "certConf: $("$BUILD/cmpmutate" -show "$T/resp.der")"
  [ "$(cert_status "$T/ku2.pem")" = revoked ] || fail "not superseded after the certConf"
}
run_test "kur: the replaced certificate revoked (superseded) on confirmation; a second kur before it refused" \
    t_conf_kur_supersedes

t_conf_kur_keeps() {
  local ra signer
  ra=$(adm_uuid /raProfiles demo)
  signer=$(cat "$VAR_DIR/demo/signer.uuid")
  fx_cmp_profile "$(fx_demo_secret '{name: "keep", signingCertificateUuid: $sig, raProfileUuid: $ra,
                                     revokeOnKeyUpdate: false}' "$ra" "$signer")" enable >/dev/null
  fx_cert ku3
  newkey "$T/ku3b.key" ec
  cmp -cmd kur -server "$BASE/keep" -trusted "$CA_CERT_FILE" -cert "$T/ku3.pem" -key "$T/ku3.key" \
      -newkey "$T/ku3b.key" -implicit_confirm -certout "$T/ku3b.pem"
  [ "$(cert_status "$T/ku3.pem")|$(cert_status "$T/ku3b.pem")" = "valid|valid" ] || fail "the old one was revoked"
}
run_test "kur on a CMP Profile with revokeOnKeyUpdate false: the replaced certificate stays valid" t_conf_kur_keeps

# General messages (RFC 9483 4.3)
t_conf_genm_ca_certs() {
  # openssl cmp asks for caCerts; the genp carries the CA certificate
  # (OpenSSL 3.2 and later save them: -cacertsout; 3.0 saves only caPubs there)
  local out=() v
  v=$(openssl version | awk '{print $2}')
  [ "$(printf '%s\n' 3.2 "$v" | sort -V | head -1)" = 3.2 ] && out=(-cacertsout "$T/cacerts.pem")
  cmp -cmd genm -server "$CMP_URL" $(mac_args) -infotype caCerts -rspout "$T/cacerts-rsp.der" "${out[@]}"
  expect_output "received GENP"
  if [ ${#out[@]} -gt 0 ]; then
    openssl x509 -in "$T/cacerts.pem" -noout -fingerprint >"$T/cacerts.fpr"
    [ "$(cat "$T/cacerts.fpr")" = "$(openssl x509 -in "$CA_CERT_FILE" -noout -fingerprint)" ] \
        || fail "-cacertsout: $(cat "$T/cacerts.fpr")"
  fi
  local ca; ca=$(openssl x509 -in "$CA_CERT_FILE" -outform DER -out "$T/ca.der"; hexof "$T/ca.der")
  hexof "$T/cacerts-rsp.der" | grep -q "$ca" || fail "the CA certificate is not in the genp"
  "$BUILD/cmpclient" -cmd genm -url "$CMP_URL" -secret "$SECRET_VALUE" -ref demo -trusted "$CA_CERT_FILE" \
      -infotype 1.3.6.1.5.5.7.4.17 -rspout "$T/genm-ca.der" | tee "$T/genm-ca.out"
  [ "$(cat "$T/genm-ca.out")" = "itav 1.3.6.1.5.5.7.4.17 value" ] || fail "caCerts"
  # the value: SEQUENCE OF the CA certificate
  hexof "$T/genm-ca.der" | grep -q "06082b0601050507041130.*$ca" || fail "caCerts value"
}
run_test "genm caCerts (openssl cmp and cmpclient): the CA certificate in a SEQUENCE" t_conf_genm_ca_certs

t_conf_genm_others() {
  local g=("$BUILD/cmpclient" -cmd genm -url "$CMP_URL" -secret "$SECRET_VALUE" -ref demo
           -trusted "$CA_CERT_FILE" -rspout "$T/genp.der")
  hex() { hexof "$T/genp.der"; }
  # rootCaCert -> rootCaKeyUpdate without value: no update available
  "${g[@]}" -infotype 1.3.6.1.5.5.7.4.20 | tee "$T/genm.out"
  [ "$(cat "$T/genm.out")" = "itav 1.3.6.1.5.5.7.4.18 absent" ] || fail "rootCaKeyUpdate"
  # certReqTemplate: a CertTemplate with the RA Profile's extensions
  # (keyUsage 2.5.29.15 = 0603551d0f)
  "${g[@]}" -infotype 1.3.6.1.5.5.7.4.19 | tee "$T/genm.out"
  [ "$(cat "$T/genm.out")" = "itav 1.3.6.1.5.5.7.4.19 value" ] || fail "certReqTemplate"
  hex | grep -q "06082b06010505070413.*0603551d0f" || fail "certReqTemplate value"
  # the demo allows any key type: no keySpec; "strict" allows EC: one
  # id-regCtrl-algId (2b060105050705010b) per curve, P-256 (2a8648ce3d030107) first
  hex | grep -q "2b060105050705010b" && fail "keySpec where any key type goes"
  "$BUILD/cmpclient" -cmd genm -url "$BASE/strict" -secret "$SECRET_VALUE" -ref demo \
      -trusted "$CA_CERT_FILE" -rspout "$T/genp.der" -infotype 1.3.6.1.5.5.7.4.19 | tee "$T/genm.out"
  hex | grep -q "06092b060105050705010b301306072a8648ce3d020106082a8648ce3d030107" \
      || fail "strict: no keySpec with P-256"
  # a type RFC 9810 lists, asked without value: echoed without value
  "${g[@]}" -infotype 1.3.6.1.5.5.7.4.2 | tee "$T/genm.out"
  [ "$(cat "$T/genm.out")" = "itav 1.3.6.1.5.5.7.4.2 absent" ] || fail "signKeyPairTypes"
  # crlStatusList without its value (SEQUENCE SIZE (1..MAX) OF CRLStatus)
  "${g[@]}" -infotype 1.3.6.1.5.5.7.4.22 >"$T/genm.out" 2>&1 && fail "crlStatusList without value answered"
  # an unknown type: named back in unsupportedOIDs (1.2.3.4 = 06032a0304)
  "${g[@]}" -infotype 1.2.3.4 | tee "$T/genm.out"
  [ "$(cat "$T/genm.out")" = "itav 1.3.6.1.5.5.7.4.7 value" ] || fail "unsupportedOIDs"
  hex | grep -q "06082b06010505070407300506032a0304" || fail "unsupportedOIDs value"
}
run_test "genm rootCaCert, certReqTemplate, signKeyPairTypes, crlStatusList, unknown type" t_conf_genm_others


# nth_d2 FILE N: the hex of the Nth element at depth 2 of a DER file
nth_d2() {
  local line off hl l
  line=$(openssl asn1parse -inform DER -in "$1" | grep ':d=2 ' | sed -n "${2}p")
  off=$(sed 's/^ *\([0-9]*\):.*/\1/' <<<"$line")
  hl=$(sed 's/.*hl= *\([0-9]*\).*/\1/' <<<"$line")
  l=$(sed 's/.* l= *\([0-9]*\).*/\1/' <<<"$line")
  tail -c +$((off + 1)) "$1" | head -c $((hl + l)) | od -An -tx1 -v | tr -d ' \n'
}

# crl_genm NAME CRLSTATUS...: a genm of crlStatusList with these CRLStatus
# (hex) sent as NAME; the answer's body in $T/NAME.show, DER in $T/resp.der
crl_genm() {
  local name=$1 list; shift
  list=$(tlv 30 "$(printf '%s' "$@")")
  cmp -cmd genm -server "$CMP_URL" $(mac_args) -reqout "$T/conf-genm.der" >/dev/null
  BASE_MSG=$T/conf-genm.der mutate "$name" -body "$(tlv b5 "$(tlv 30 "$(tlv 30 "06082b06010505070416$list")")")"
}

# One round of crlStatusList genms against the CRL served at its start; false
# when the served CRL changed meanwhile (the confirmation sweep rejecting an
# earlier test's unconfirmed certificate makes a new one at any time).
genm_crls_round() {
  local name tu other i
  for i in $(seq 1 50); do
    curl -s -o "$T/g.crl" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/crl/demo.crl" | grep -q 200 && break
    sleep 0.2
  done
  openssl x509 -in "$CA_CERT_FILE" -outform DER -out "$T/ca.der"
  name=$(nth_d2 "$T/ca.der" 6)                       # the CA's subject
  openssl x509 -in "$T/fx/rsaca.pem" -outform DER -out "$T/rsaca.der"
  other=$(nth_d2 "$T/rsaca.der" 6)
  tu=$(date -u -d "$(openssl crl -inform DER -in "$T/g.crl" -noout -lastupdate | cut -d= -f2)" +%y%m%d%H%M%SZ)
  tu=$(printf '%s' "$tu" | od -An -tx1 -v | tr -d ' \n')
  # by issuer, without thisUpdate: the current CRL
  crl_genm crls-issuer "$(tlv 30 "$(tlv a1 "$(tlv 30 "$(tlv a4 "$name")")")")"
  cp "$T/resp.der" "$T/crls-issuer.resp"
  # with the CRL's own thisUpdate: nothing newer
  crl_genm crls-same "$(tlv 30 "$(tlv a1 "$(tlv 30 "$(tlv a4 "$name")")")$(tlv 17 "$tu")")"
  cp "$T/resp.der" "$T/crls-same.resp"
  # an older thisUpdate (2001)
  crl_genm crls-old "$(tlv 30 "$(tlv a1 "$(tlv 30 "$(tlv a4 "$name")")")$(tlv 17 "$(printf '010101000000Z' | od -An -tx1 -v | tr -d ' \n')")")"
  cp "$T/resp.der" "$T/crls-old.resp"
  # another issuer's CRL: not ours
  crl_genm crls-other "$(tlv 30 "$(tlv a1 "$(tlv 30 "$(tlv a4 "$other")")")")"
  cp "$T/resp.der" "$T/crls-other.resp"
  curl -s -o "$T/g2.crl" "http://127.0.0.1:$HTTP_PORT/crl/demo.crl"
  [ "$(hexof "$T/g.crl")" = "$(hexof "$T/g2.crl")" ]
}

t_conf_genm_crls() {
  local crlhex hdr i
  for i in 1 2 3 4 5; do
    genm_crls_round && break
    echo "the CRL changed during round $i; again"
    [ "$i" != 5 ] || fail "the CRL kept changing during five rounds"
    sleep 2
  done
  crlhex=$(hexof "$T/g.crl")
  grep -q "^body=genp" "$T/crls-issuer.show" || fail "no genp: $(cat "$T/crls-issuer.show")"
  hdr=$(tlv 30 "$crlhex")
  hexof "$T/crls-issuer.resp" | grep -q "06082b06010505070417${hdr%"$crlhex"}$crlhex" \
    || fail "the current CRL is not in the crls"
  hexof "$T/crls-same.resp" | grep -q "300a06082b06010505070417" || fail "crls with a value where none is newer"
  ! hexof "$T/crls-same.resp" | grep -q "$crlhex" || fail "a CRL that is not newer"
  hexof "$T/crls-old.resp" | grep -q "$crlhex" || fail "an older thisUpdate did not get the CRL"
  hexof "$T/crls-other.resp" | grep -q "300a06082b06010505070417" || fail "crls for another issuer"
  # a CRLStatus that is none: badDataFormat
  crl_genm crls-bad "$(tlv 30 "$(tlv 02 01)")"
  expect_answer crls-bad error 2 badDataFormat "the crlStatusList of a genm is a SEQUENCE of at least one CRLStatus"
}
run_test "genm crlStatusList (RFC 9483 4.3.4): the CA's current CRL when newer than the client's, by issuer; none for another issuer; badDataFormat for no CRLStatus" \
    t_conf_genm_crls

# rr_with_invalidity CERT NAME TIME: the rr openssl cmp makes for CERT
# (keyCompromise), its crlEntryDetails given an invalidityDate
# (GeneralizedTime TIME, RFC 5280 5.3.2; twice when a fourth argument is
# given), sent as NAME
rr_with_invalidity() {
  local cert=$1 name=$2 when=$3 off hl l tmpl ext
  openssl cmp -cmd rr -server 127.0.0.1:1 $(mac_args) -oldcert "$cert" -revreason 1 \
      -reqout "$T/$name-base.der" >/dev/null 2>&1 || true
  # the CertTemplate: the first element at depth 4 after the body's [11]
  read -r off hl l < <(openssl asn1parse -inform DER -in "$T/$name-base.der" \
    | awk '/cont \[ 11 \]/ {b = 1} b && /d=4/ {gsub(/[:=]/, " "); for (i = 1; i <= NF; i++) {
             if ($i == "hl") h = $(i + 1); if ($i == "l") n = $(i + 1) }; print $1, h, n; exit}')
  [ -n "$l" ] || fail "no CertTemplate in the rr"
  tmpl=$(hexof "$T/$name-base.der" | cut -c $((off * 2 + 1))-$(((off + hl + l) * 2)))
  ext=$(tlv 30 "0603551d18$(tlv 04 "$(tlv 18 "$(printf '%s' "$when" | od -An -tx1 -v | tr -d ' \n')")")")
  [ -n "${4:-}" ] && ext=$ext$ext
  BASE_MSG=$T/$name-base.der mutate "$name" \
      -body "$(tlv ab "$(tlv 30 "$(tlv 30 "$tmpl$(tlv 30 "300a0603551d1504030a0101$ext")")")")"
}

t_conf_rr_invalidity() {
  fx_cert rrinv
  fx_cert rrfut
  fx_cert rrtwo
  # two invalidityDate extensions: refused before any lookup
  rr_with_invalidity "$T/rrtwo.pem" rrtwo "$(date -u -d '-1 day' +%Y%m%d000000Z)" twice
  expect_answer rrtwo rp 2 badDataFormat "two invalidityDate extensions, or one that does not decode"
  [ "$(cert_status "$T/rrtwo.pem")" = valid ] || fail "revoked with two invalidity dates"
  # one in the future: refused, nothing revoked
  rr_with_invalidity "$T/rrfut.pem" rrfut "$(date -u -d '+1 day' +%Y%m%d%H%M%SZ)"
  expect_answer rrfut rp 2 badRequest "invalidity date not accepted: the invalidity date lies"
  [ "$(cert_status "$T/rrfut.pem")" = valid ] || fail "revoked with a future invalidity date"
  # a day ago: revoked, the date stored, on the CRL entry and in OCSP
  rr_with_invalidity "$T/rrinv.pem" rrinv "$(date -u -d '-1 day' +%Y%m%d000000Z)"
  grep -q "^body=rp status=0" "$T/rrinv.show" || fail "rr with an invalidityDate: $(cat "$T/rrinv.show")"
  [ "$(sql "SELECT invalidity_date = date_trunc('day', now() AT TIME ZONE 'UTC' - interval '1 day') AT TIME ZONE 'UTC'
            FROM certificate WHERE serial = '$(serial_of "$T/rrinv.pem")'")" = t ] \
    || fail "invalidity date not stored: $(sql "SELECT invalidity_date FROM certificate WHERE serial = '$(serial_of "$T/rrinv.pem")'")"
}
run_test "rr with an invalidityDate (RFC 5280 5.3.2): stored; one in the future -> rp rejection badRequest; two -> badDataFormat" \
    t_conf_rr_invalidity

t_conf_still_serving() {
  mutate good
  expect_answer good ip 0 "" ""
}
run_test "an unchanged request (fresh transactionID) still gets its certificate" t_conf_still_serving
