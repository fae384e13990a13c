# SPDX-License-Identifier: Apache-2.0
# CA key rollover (RFC 9810 4.4, RFC 9483 4.3.2): a root Authority gets a
# successor key through the API; devices learn it by genm rootCaCert
# before the cut-over; afterwards certificates of both keys verify with
# either root, and each key's CRL lists the certificates it issued.

ROLL=$T/roll
ROLL_CRL="http://127.0.0.1:$HTTP_PORT/crl"

# roll_genm OUT [OLD_ROOT]: genm rootCaCert to the roll profile (with the
# old root as value when given); prints cmpclient's itav line, the
# certificates in OUT.newWithNew.pem, OUT.newWithOld.pem, OUT.oldWithNew.pem.
roll_genm() {
  local v=()
  rm -f "$1".*.pem
  [ -n "${2:-}" ] && v=(-infovalue "$2")
  "$BUILD/cmpclient" -cmd genm -url "$BASE/roll" -secret "$(cat "$CMP_SECRET_FILE")" -ref roll \
      -trusted "$ROLL/old-root.pem" -infotype 1.3.6.1.5.5.7.4.20 "${v[@]}" -rootupdate "$1"
}

# roll_ir NAME TRUSTED: an ir to the roll profile (MAC), $ROLL/NAME.pem
roll_ir() {
  newkey "$ROLL/$1.key" ec
  cmp -cmd ir -server "$BASE/roll" -ref roll -secret "file:$CMP_SECRET_FILE" -trusted "$2" \
      -newkey "$ROLL/$1.key" -subject "/CN=$1" -certout "$ROLL/$1.pem"
}

fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
skid() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' '; }
akid() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | grep -v Authority | head -1 | sed 's/keyid://' | tr -d ' '; }

t_rollover_api_and_genm() {
  local ca ra sig i
  rm -rf "$ROLL"; mkdir -p "$ROLL"
  expect_status 201 POST /authorities "{\"name\": \"roll-ca\", \"publicUrl\": \"$ROLL_CRL\",
      \"ocspUrl\": \"http://127.0.0.1:$HTTP_PORT/ocsp\",
      \"generate\": {\"subject\": \"CN=Roll Root,O=Test\", \"keyType\": \"EC\"}}"
  ca=$(jf .uuid)
  jf .certificate >"$ROLL/old-root.pem"
  [ "$(jf .keyGeneration)|$(jf .successor)|$(jf '.retiredKeys | length')|$(jf .crlFile)" = "0|null|0|roll-ca.crl" ] \
    || fail "a new Authority: $(jq -c '{keyGeneration, successor, retiredKeys, crlFile}' "$T/api.json")"
  ra=$(fx_ra_profile "$ca" '{"name": "roll"}' enable)
  expect_status 201 POST /cmpProfiles/signingCertificates \
      "{\"issue\": {\"authorityUuid\": \"$ca\", \"subject\": \"CN=Roll CMP Signer\"}}"
  sig=$(jf .uuid)
  fx_cmp_profile "$(fx_demo_secret '{name: "roll", raProfileUuid: $ra, signingCertificateUuid: $sig,
                                     sharedSecretReference: "roll"}' "$ra" "$sig")" enable "$ca/raProfiles/$ra" >/dev/null
  # a delegated OCSP signer, certified by the key that will be retired
  expect_status 201 POST "/authorities/$ca/ocspSigner" '{}'
  roll_ir old1 "$ROLL/old-root.pem" || fail "ir before the rollover"
  roll_ir old2 "$ROLL/old-root.pem" || fail "ir before the rollover"
  # nothing to update yet
  [ "$(roll_genm "$ROLL/none" "$ROLL/old-root.pem")" = "itav 1.3.6.1.5.5.7.4.18 absent" ] \
    || fail "an update offered before any rollover"

  # the API's checks
  expect_status 422 POST "/authorities/$ca/rollover" '{"activeFrom": "tomorrow"}'
  jf '.[0]' | grep -q activeFrom || fail "activeFrom not named: $(cat "$T/api.json")"
  expect_status 422 POST "/authorities/$ca/rollover" '{"validityDays": 0}'
  expect_status 422 POST "/authorities/$ca/rollover" '{"keyType": "NOPE"}'
  expect_status 422 POST "/authorities/$ca/rollover" '{"activeFrom": "2999-01-01T00:00:00Z"}'
  jf '.[0]' | grep -q "before the Authority's certificate ends" || fail "$(cat "$T/api.json")"
  expect_status 404 POST "/authorities/00000000-0000-4000-8000-000000000000/rollover" '{}'

  # the successor, taking over in 12 s
  expect_status 201 POST "/authorities/$ca/rollover" \
      "{\"activeFrom\": \"$(date -u -d '+12 sec' +%Y-%m-%dT%H:%M:%SZ)\"}"
  [ "$(jf .keyGeneration)|$(jf .successor.generation)|$(jf .successor.keyType)|$(jf .successor.subjectDn)" \
      = "0|1|EC|CN=Roll Root,O=Test" ] || fail "the successor: $(jq -c .successor "$T/api.json")"
  [ "$(jf .successor.createdBy)" = "user:$ADMIN_USER" ] || fail "createdBy"
  jf .successor.certificate >"$ROLL/api-successor.pem"
  expect_status 409 POST "/authorities/$ca/rollover" '{}'
  jf .message | grep -q "already has a successor" || fail "$(cat "$T/api.json")"

  # RFC 9483 4.3.2 before the cut-over: the three certificates, which verify
  [ "$(roll_genm "$ROLL/u" "$ROLL/old-root.pem")" = "itav 1.3.6.1.5.5.7.4.18 value" ] || fail "no update"
  for i in newWithNew newWithOld oldWithNew; do [ -s "$ROLL/u.$i.pem" ] || fail "no $i"; done
  openssl verify -CAfile "$ROLL/u.newWithNew.pem" "$ROLL/u.newWithNew.pem" >/dev/null || fail "newWithNew"
  openssl verify -CAfile "$ROLL/old-root.pem" "$ROLL/u.newWithOld.pem" >/dev/null || fail "newWithOld"
  openssl verify -CAfile "$ROLL/u.newWithNew.pem" "$ROLL/u.oldWithNew.pem" >/dev/null || fail "oldWithNew"
  [ "$(openssl x509 -in "$ROLL/u.newWithNew.pem" -noout -pubkey)" \
      = "$(openssl x509 -in "$ROLL/u.newWithOld.pem" -noout -pubkey)" ] || fail "newWithOld is not the new key"
  [ "$(openssl x509 -in "$ROLL/old-root.pem" -noout -pubkey)" \
      = "$(openssl x509 -in "$ROLL/u.oldWithNew.pem" -noout -pubkey)" ] || fail "oldWithNew is not the old key"
  [ "$(fpr "$ROLL/u.newWithNew.pem")" = "$(fpr "$ROLL/api-successor.pem")" ] || fail "genm and API disagree"
  # without a value: the profile's root, the same answer
  [ "$(roll_genm "$ROLL/p" "")" = "itav 1.3.6.1.5.5.7.4.18 value" ] || fail "no update for the profile's root"
  cmp_files "$ROLL/p.newWithNew.pem" "$ROLL/u.newWithNew.pem" || fail "another newWithNew"
  # OpenSSL 3.2 and later check the chain of trust themselves
  if [ "$(printf '%s\n' 3.2 "$(openssl version | awk '{print $2}')" | sort -V | head -1)" = 3.2 ]; then
    cmp -cmd genm -server "$BASE/roll" -ref roll -secret "file:$CMP_SECRET_FILE" -trusted "$ROLL/old-root.pem" \
        -infotype rootCaCert -oldwithold "$ROLL/old-root.pem" -newwithnew "$ROLL/o.nwn.pem" \
        -newwithold "$ROLL/o.nwo.pem" -oldwithnew "$ROLL/o.own.pem" || fail "openssl cmp rootCaCert"
    cmp_files "$ROLL/o.nwn.pem" "$ROLL/u.newWithNew.pem" || fail "openssl cmp's newWithNew differs"
  fi
  # until the cut-over, the old key issues
  roll_ir before "$ROLL/old-root.pem" || fail "ir before the cut-over"
  [ "$(akid "$ROLL/before.pem")" = "$(skid "$ROLL/old-root.pem")" ] || fail "issued by the new key too early"

  # the cut-over, by the CRL job of a node (within its 2 s)
  for i in $(seq 1 60); do
    api GET "/authorities/$ca" >/dev/null
    [ "$(jf .keyGeneration)" = 1 ] && break
    sleep 0.5
  done
  [ "$(jf .keyGeneration)|$(jf .successor)|$(jf '.retiredKeys[0].generation')|$(jf .crlFile)|$(jf .certificateFile)" \
      = "1|null|0|roll-ca(1).crl|roll-ca(1).crt" ] || fail "after the cut-over: $(jq -c '{keyGeneration, successor, retiredKeys, crlFile}' "$T/api.json")"
  jf .certificate >"$ROLL/api-current.pem"
  jf .oldWithNew >"$ROLL/api-own.pem"
  [ "$(fpr "$ROLL/api-current.pem")" = "$(fpr "$ROLL/u.newWithNew.pem")" ] || fail "the Authority's certificate"
  [ "$(fpr "$ROLL/api-own.pem")" = "$(fpr "$ROLL/u.oldWithNew.pem")" ] || fail "the links are not kept"
  # the delegated OCSP signer was the old key's: it is gone
  expect_status 404 GET "/authorities/$ca/ocspSigner"
  # the audit log: who scheduled it, and the cut-over
  expect_status 200 GET "/auditLogs?object=$ca"
  jq -e '[.auditLogs[] | select(.action == "POST /authorities/{uuid}/rollover" and .actor == "user:'"$ADMIN_USER"'")] | length >= 1' \
      "$T/api.json" >/dev/null || fail "the rollover is not audited: $(jq -c '[.auditLogs[] | .action]' "$T/api.json")"
  jq -e '[.auditLogs[] | select(.action == "mod_cmp.keyRollover" and (.result | test("key generation 1 issues from now on")))] | length == 1' \
      "$T/api.json" >/dev/null || fail "the cut-over is not audited: $(jq -c '[.auditLogs[] | [.action, .result]]' "$T/api.json")"
}
run_test "CA key rollover: the API's successor (checks, 409), genm rootCaCert before the cut-over gives newWithNew, newWithOld, oldWithNew that verify; the old key issues until activeFrom" \
    t_rollover_api_and_genm

t_rollover_after_cutover() {
  local nwn=$ROLL/u.newWithNew.pem old=$ROLL/old-root.pem
  [ -s "$nwn" ] || fail "needs the rollover"
  # a client that trusts only the new root (the response signer, issued by
  # the old key, comes with oldWithNew), and one that trusts only the old
  roll_ir new1 "$nwn" || fail "ir trusting the new root"
  roll_ir new2 "$old" || fail "ir trusting the old root"
  [ "$(akid "$ROLL/new1.pem")" = "$(skid "$nwn")" ] || fail "not issued by the new key"
  openssl x509 -in "$ROLL/new1.pem" -noout -ext crlDistributionPoints | grep -q "roll-ca(1).crl" \
    || fail "the CDP of the new key: $(openssl x509 -in "$ROLL/new1.pem" -noout -ext crlDistributionPoints)"
  # new certificates: with the new root, or the old one and newWithOld
  openssl verify -CAfile "$nwn" "$ROLL/new1.pem" >/dev/null || fail "new with the new root"
  openssl verify -CAfile "$old" "$ROLL/new1.pem" >/dev/null 2>&1 && fail "new with the old root alone"
  openssl verify -CAfile "$old" -untrusted "$ROLL/u.newWithOld.pem" "$ROLL/new1.pem" >/dev/null \
    || fail "new with the old root and newWithOld"
  # old certificates: with the old root, or the new one and oldWithNew
  openssl verify -CAfile "$old" "$ROLL/old2.pem" >/dev/null || fail "old with the old root"
  openssl verify -CAfile "$nwn" -untrusted "$ROLL/u.oldWithNew.pem" "$ROLL/old2.pem" >/dev/null \
    || fail "old with the new root and oldWithNew"
  # an old certificate renews (kur signed with it) and gets the new key's
  newkey "$ROLL/old1b.key" ec
  cmp -cmd kur -server "$BASE/roll" -trusted "$nwn" -cert "$ROLL/old1.pem" -key "$ROLL/old1.key" \
      -newkey "$ROLL/old1b.key" -certout "$ROLL/old1b.pem" || fail "kur with a certificate of the old key"
  openssl verify -CAfile "$nwn" "$ROLL/old1b.pem" >/dev/null || fail "the renewed certificate"
  # rootCaCert after the cut-over: the holder of the old root still gets
  # the update; the profile's root (the new one) has none
  [ "$(roll_genm "$ROLL/late" "$old")" = "itav 1.3.6.1.5.5.7.4.18 value" ] || fail "a late device"
  cmp_files "$ROLL/late.newWithNew.pem" "$nwn" || fail "the late newWithNew"
  [ "$(roll_genm "$ROLL/cur" "")" = "itav 1.3.6.1.5.5.7.4.18 absent" ] || fail "an update of the new root"
  # each key's CA certificate at its caIssuers URL
  curl -s -o "$ROLL/g0.crt" "$ROLL_CRL/roll-ca.crt"
  curl -s -o "$ROLL/g1.crt" "$ROLL_CRL/roll-ca(1).crt"
  [ "$(openssl x509 -inform DER -in "$ROLL/g0.crt" -noout -fingerprint -sha256)" = "$(fpr "$old")" ] || fail "roll-ca.crt"
  [ "$(openssl x509 -inform DER -in "$ROLL/g1.crt" -noout -fingerprint -sha256)" = "$(fpr "$nwn")" ] || fail "roll-ca(1).crt"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$ROLL_CRL/roll-ca(2).crt")" = 404 ] || fail "a key that does not exist"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$ROLL_CRL/roll-ca(0).crl")" = 404 ] || fail "(0) is not a name"
}
run_test "CA key rollover: after the cut-over new certificates chain to the new key (CDP roll-ca(1).crl), old ones still verify, clients of either root enroll, an old certificate renews by kur" \
    t_rollover_after_cutover

# roll_crl FILE CERT GOOD ANCHOR URL: waits until the CRL at URL lists CERT,
# signed by ANCHOR; openssl verify -crl_check refuses CERT and accepts GOOD.
roll_crl() {
  local i s
  s=$(openssl x509 -in "$2" -noout -serial | cut -d= -f2)
  for i in $(seq 1 50); do
    curl -s -o "$1" "$5"
    openssl crl -inform DER -in "$1" -out "$1.pem" 2>/dev/null \
      && openssl crl -in "$1.pem" -noout -text | grep -q "Serial Number: $s" && break
    sleep 0.2
  done
  openssl crl -in "$1.pem" -noout -text | grep -q "Serial Number: $s" || fail "$2 not on $5"
  openssl crl -in "$1.pem" -CAfile "$4" -noout 2>&1 | grep -q "verify OK" || fail "$5 not signed by $4"
  cat "$4" "$1.pem" >"$1.chk"
  openssl verify -crl_check -CAfile "$1.chk" "$2" >/dev/null 2>&1 && fail "$2 passes the CRL check"
  openssl verify -crl_check -CAfile "$1.chk" "$3" >/dev/null || fail "$3 fails the CRL check"
}

# roll_ocsp ISSUER CERT STATUS: openssl ocsp (with a nonce) at the AIA
# URL says STATUS, in a response signed by ISSUER's key.
roll_ocsp() {
  openssl ocsp -issuer "$1" -cert "$2" -url "http://127.0.0.1:$HTTP_PORT/ocsp/roll-ca" \
      -CAfile "$1" >"$ROLL/ocsp.out" 2>&1
  grep -q "Response verify OK" "$ROLL/ocsp.out" && grep -q ": $3\$" "$ROLL/ocsp.out" \
    || fail "OCSP of $2 by $1: $(cat "$ROLL/ocsp.out")"
}

t_rollover_crls() {
  local nwn=$ROLL/u.newWithNew.pem old=$ROLL/old-root.pem n0 n1
  [ -s "$ROLL/new2.pem" ] || fail "needs the cut-over"
  # one of each key revoked by rr (signed with the certificate itself), on node 2
  cmp -cmd rr -server "$BASE2/roll" -trusted "$nwn" -cert "$ROLL/old2.pem" -key "$ROLL/old2.key" \
      -oldcert "$ROLL/old2.pem" -revreason 1 || fail "rr of an old certificate"
  cmp -cmd rr -server "$BASE2/roll" -trusted "$old" -cert "$ROLL/new2.pem" -key "$ROLL/new2.key" \
      -oldcert "$ROLL/new2.pem" -revreason 1 || fail "rr of a new certificate"
  # the old key's CRL (the URL its certificates carry) and the new key's,
  # each signed by its own key, from node 1
  roll_crl "$ROLL/g0.crl" "$ROLL/old2.pem" "$ROLL/before.pem" "$old" "$ROLL_CRL/roll-ca.crl"
  roll_crl "$ROLL/g1.crl" "$ROLL/new2.pem" "$ROLL/new1.pem" "$nwn" "$ROLL_CRL/roll-ca(1).crl"
  openssl crl -in "$ROLL/g0.crl.pem" -noout -text | grep -q "Serial Number: $(openssl x509 -in "$ROLL/new2.pem" -noout -serial | cut -d= -f2)" \
    && fail "the old key's CRL lists a certificate of the new key"
  # one series of CRL numbers for both keys
  n0=$(openssl crl -in "$ROLL/g0.crl.pem" -noout -crlnumber | sed 's/.*=//')
  n1=$(openssl crl -in "$ROLL/g1.crl.pem" -noout -crlnumber | sed 's/.*=//')
  [ "$n0" != "$n1" ] || fail "both CRLs have number $n0"
  # OCSP at the one URL: each key answers (and signs) for its own
  # certificates, with a nonce; another key's certificate is unknown to it
  roll_ocsp "$old" "$ROLL/old2.pem" revoked
  roll_ocsp "$old" "$ROLL/before.pem" good
  roll_ocsp "$nwn" "$ROLL/new2.pem" revoked
  roll_ocsp "$nwn" "$ROLL/new1.pem" good
  roll_ocsp "$nwn" "$ROLL/before.pem" unknown
  openssl ocsp -issuer "$old" -cert "$ROLL/before.pem" -issuer "$nwn" -cert "$ROLL/new1.pem" \
      -url "http://127.0.0.1:$HTTP_PORT/ocsp/roll-ca" -CAfile "$old" >"$ROLL/ocsp.out" 2>&1 \
    && fail "two keys in one request answered"
  grep -q "unauthorized" "$ROLL/ocsp.out" || fail "two keys in one request: $(cat "$ROLL/ocsp.out")"
  # the API: the retired key's CRL state
  api GET "/authorities/$(adm_uuid /authorities roll-ca)" >/dev/null
  [ "$(jf '.retiredKeys[0].crlNumber')" != null ] || fail "retiredKeys: $(jq -c .retiredKeys "$T/api.json")"
}
run_test "CA key rollover: each key's CRL lists the certificates it issued (roll-ca.crl by the old key, roll-ca(1).crl by the new one), openssl verify -crl_check; OCSP answered by the key that issued" \
    t_rollover_crls

t_rollover_refusals() {
  local sub now i
  # at once (no activeFrom): the new key issues from the answer on
  expect_status 201 POST /authorities '{"name": "roll-now", "generate": {"subject": "CN=Roll Now", "keyType": "RSA", "keyParameter": "2048"}}'
  now=$(jf .uuid)
  expect_status 201 POST "/authorities/$now/rollover" '{}'
  [ "$(jf .keyGeneration)|$(jf .successor)|$(jf '.retiredKeys | length')|$(jf .keyType)" = "1|null|1|RSA" ] \
    || fail "at once: $(jq -c '{keyGeneration, successor, retiredKeys, keyType}' "$T/api.json")"
  # a successor that waits can be cancelled, once
  expect_status 201 POST "/authorities/$now/rollover" '{"activeFrom": "2030-01-01T00:00:00Z", "keyType": "EC"}'
  [ "$(jf .successor.keyType)" = EC ] || fail "keyType"
  expect_status 204 DELETE "/authorities/$now/rollover"
  expect_status 404 DELETE "/authorities/$now/rollover"
  api GET "/authorities/$now" >/dev/null
  [ "$(jf .successor)|$(jf .keyGeneration)" = "null|1" ] || fail "cancelled"
  # a second rollover: three keys, three CRLs, one series of numbers
  expect_status 201 POST "/authorities/$now/rollover" '{}'
  [ "$(jf .keyGeneration)|$(jf '[.retiredKeys[].generation] | join(",")')|$(jf .crlFile)" = "2|0,1|roll-now(2).crl" ] \
    || fail "a second rollover: $(jq -c '{keyGeneration, retiredKeys, crlFile}' "$T/api.json")"
  local g f nums=""
  for g in "" "(1)" "(2)"; do
    f="$ROLL/now$g.crl"
    for i in $(seq 1 50); do
      [ "$(curl -s -o "$f" -w '%{http_code}' "$ROLL_CRL/roll-now$g.crl")" = 200 ] && break
      sleep 0.2
    done
    nums+="$(openssl crl -inform DER -in "$f" -noout -crlnumber | sed 's/.*=//') "
  done
  [ "$(tr ' ' '\n' <<<"$nums" | grep -c .)" = 3 ] && [ "$(tr ' ' '\n' <<<"$nums" | grep . | sort -u | wc -l)" = 3 ] \
    || fail "the CRLs of the three keys: numbers '$nums'"
  # a subordinate CA's new key is its issuer's to certify
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ROLL/sub.key" \
      -subj "/CN=Roll Sub" -out "$ROLL/sub.csr" 2>/dev/null
  newkey "$ROLL/r2.key" ec
  openssl req -x509 -new -key "$ROLL/r2.key" -subj "/CN=Roll R2" -days 30 -out "$ROLL/r2.pem"
  openssl x509 -req -in "$ROLL/sub.csr" -CA "$ROLL/r2.pem" -CAkey "$ROLL/r2.key" -days 30 \
      -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n') \
      -out "$ROLL/sub.pem" 2>/dev/null
  expect_status 201 POST /authorities "$(jq -n --rawfile c "$ROLL/sub.pem" --rawfile k "$ROLL/sub.key" \
      --rawfile ch "$ROLL/r2.pem" '{name: "roll-sub", certificate: $c, privateKey: $k, chain: $ch}')"
  sub=$(jf .uuid)
  expect_status 422 POST "/authorities/$sub/rollover" '{}'
  jf '.[0]' | grep -q "self-signed" || fail "$(cat "$T/api.json")"
}
run_test "CA key rollover: at once without activeFrom, cancel a waiting successor (204, then 404), a second rollover (three keys, three CRLs), a subordinate CA refused (422)" \
    t_rollover_refusals
