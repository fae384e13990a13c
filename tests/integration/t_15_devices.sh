# SPDX-License-Identifier: Apache-2.0
# Per-device enrollment secrets (device registrations): registered through
# the API, used by openssl cmp with the registration's senderKID and secret.

DEV_PATH=   # /authorities/<demo CA>/raProfiles/<demo RA>/deviceRegistrations

dev_path() {
  [ -n "$DEV_PATH" ] || DEV_PATH="/authorities/$(adm_uuid /authorities demo)/raProfiles/$(adm_uuid /raProfiles demo)/deviceRegistrations"
  echo "$DEV_PATH"
}

# dev_register JSON: a registration of the demo RA Profile; its secret in
# $T/<senderKid>.secret, its uuid printed.
dev_register() {
  local kid
  kid=$(jq -r .senderKid <<<"$1")
  expect_status 201 POST "$(dev_path)" "$1"
  jf .secret >"$T/$kid.secret"
  jf .uuid
}

# dev_ir KID SECRET_FILE SUBJECT [openssl cmp options]: an ir to the demo CMP
# Profile with the registration's senderKID and secret.
dev_ir() {
  local kid=$1 sf=$2 subj=$3
  shift 3
  [ -f "$T/$kid.key" ] || newkey "$T/$kid.key" ec
  cmp -cmd ir -server "$CMP_URL" -ref "$kid" -secret "file:$sf" -trusted "$CA_CERT_FILE" \
      -newkey "$T/$kid.key" -subject "$subj" "$@"
}

# pkibody FILE: the PKIBody of a PKIMessage (DER), in hex: what follows the
# header (the second element of the outer SEQUENCE), without the protection.
pkibody() {
  local line off hl len
  line=$(openssl asn1parse -inform DER -in "$1" | grep -E '^ *[0-9]+:d=1 ' | sed -n 2p)
  off=${line%%:*}; off=${off// /}
  hl=$(sed -E 's/.*hl= *([0-9]+).*/\1/' <<<"$line")
  len=$(sed -E 's/.* l= *([0-9]+) .*/\1/' <<<"$line")
  tail -c +"$((off + 1))" "$1" | head -c "$((hl + len))" | od -An -tx1 -v | tr -d ' \n'
}

t_device_registration_enrolls() {
  local uuid cert
  uuid=$(dev_register '{"senderKid": "dev-a1", "subject": "CN=dev-a1,O=Acme",
                        "subjectAltNames": ["DNS:dev-a1.example", "IP:10.0.0.7"]}')
  [ "$(jf .state)" = active ] && [ "$(jf .subject)" = "CN=dev-a1,O=Acme" ] \
    && [ "$(jf '.subjectAltNames | join(",")')" = "DNS:dev-a1.example,IP Address:10.0.0.7" ] \
    || fail "registration as stored: $(cat "$T/api.json")"
  [[ "$(cat "$T/dev-a1.secret")" =~ ^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$ ]] || fail "secret form"
  # the secret is shown once: never by a GET, and stored encrypted
  expect_status 200 GET "$(dev_path)/$uuid"
  [ "$(jf .secret)" = null ] || fail "GET shows the secret"
  [ "$(sql "SELECT position('$(cat "$T/dev-a1.secret")' in encode(secret_enc, 'escape'))
            FROM device_registration WHERE uuid = '$uuid'")" = 0 ] || fail "secret stored in clear"
  # a SAN subset, explicit certConf protected with the registration's secret
  dev_ir dev-a1 "$T/dev-a1.secret" "/O=Acme/CN=dev-a1" -sans "dev-a1.example" -certout "$T/dev-a1.pem"
  expect_output "sending CERTCONF"
  verify_cert "$T/dev-a1.pem" "$CA_CERT_FILE"
  [ "$(openssl x509 -in "$T/dev-a1.pem" -noout -subject -nameopt RFC2253)" = "subject=CN=dev-a1,O=Acme" ] \
    || fail "subject of the certificate"
  [ "$(cert_status "$T/dev-a1.pem")" = valid ] || fail "not valid"
  expect_status 200 GET "$(dev_path)/$uuid"
  cert=$(jf .certificateUuid)
  [ "$(jf .state)" = used ] && [ "$(jf .failures)" = 0 ] && [ "$(jf .usedAt)" != null ] \
    || fail "registration after use: $(cat "$T/api.json")"
  [ "$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/dev-a1.pem")'")" = "$cert" ] \
    || fail "certificateUuid"
  # the certificate's history names the registration
  expect_status 200 GET "/certificates/$cert"
  [ "$(jf '[.history[] | .actor] | unique | join(",")')" = "cmp:demo:device:dev-a1" ] \
    || fail "history: $(jf .history)"
  # the same with a p10cr and a cr, each with its own registration
  dev_register '{"senderKid": "dev-a2", "subject": "/O=Acme/CN=dev-a2"}' >/dev/null
  newkey "$T/dev-a2.key" ec
  openssl req -new -key "$T/dev-a2.key" -subj "/O=Acme/CN=dev-a2" -out "$T/dev-a2.csr"
  cmp -cmd p10cr -server "$CMP_URL" -ref dev-a2 -secret "file:$T/dev-a2.secret" \
      -trusted "$CA_CERT_FILE" -csr "$T/dev-a2.csr" -certout "$T/dev-a2.pem"
  [ "$(cert_status "$T/dev-a2.pem")" = valid ] || fail "p10cr"
  dev_register '{"senderKid": "dev-a3", "subject": "/CN=dev-a3"}' >/dev/null
  newkey "$T/dev-a3.key" ec
  cmp -cmd cr -server "$CMP_URL" -ref dev-a3 -secret "file:$T/dev-a3.secret" \
      -trusted "$CA_CERT_FILE" -newkey "$T/dev-a3.key" -subject /CN=dev-a3 -implicit_confirm \
      -certout "$T/dev-a3.pem"
  [ "$(cert_status "$T/dev-a3.pem")" = valid ] || fail "cr"
}
run_test "a device registration's secret enrolls once (ir with certConf, p10cr, cr): the registered subject, a used registration, the history" \
    t_device_registration_enrolls

t_device_refusals_are_identical() {
  local f want="the request does not match an active device registration" n=0
  dev_register '{"senderKid": "dev-b1", "subject": "/O=Acme/CN=dev-b1",
                 "subjectAltNames": ["DNS:dev-b1.example"], "maxFailures": 20}' >/dev/null
  printf 'WRONG-SECRET-0000' >"$T/wrong.secret"
  dev_ir dev-b1 "$T/wrong.secret" "/O=Acme/CN=dev-b1" -rspout "$T/b-secret.der" && fail "wrong secret"
  dev_ir dev-b1 "$T/dev-b1.secret" "/O=Acme/CN=someone-else" -rspout "$T/b-subject.der" && fail "wrong subject"
  dev_ir dev-b1 "$T/dev-b1.secret" "/O=Acme/CN=dev-b1" -sans "other.example" -rspout "$T/b-san.der" \
    && fail "a SAN not registered"
  expect_status 200 GET "$(dev_path)?q=dev-b1"
  [ "$(jf '.deviceRegistrations[0].failures')" = 3 ] && [ "$(jf '.deviceRegistrations[0].state')" = active ] \
    || fail "three failures counted: $(cat "$T/api.json")"
  [[ "$(jf '.deviceRegistrations[0].lastFailure')" == *"'DNS:other.example' asked is not registered"* ]] \
    || fail "lastFailure names the real reason"
  dev_ir dev-b1 "$T/dev-b1.secret" "/O=Acme/CN=dev-b1" -certout "$T/dev-b1.pem"
  dev_ir dev-b1 "$T/dev-b1.secret" "/O=Acme/CN=dev-b1" -rspout "$T/b-used.der" && fail "second use"
  # expired
  dev_register '{"senderKid": "dev-b2", "subject": "/O=Acme/CN=dev-b2"}' >/dev/null
  sql "UPDATE device_registration SET expires_at = now() - interval '1 second' WHERE sender_kid = 'dev-b2'" >/dev/null
  expect_status 200 GET "$(dev_path)?state=expired"
  [ "$(jf '[.deviceRegistrations[].senderKid] | index("dev-b2") != null')" = true ] || fail "state expired"
  dev_ir dev-b2 "$T/dev-b2.secret" "/O=Acme/CN=dev-b2" -rspout "$T/b-expired.der" && fail "expired"
  # byte-for-byte the same error body (the header differs only in nonces, time, names)
  for f in secret subject san used expired; do
    [ -s "$T/b-$f.der" ] || fail "no response kept for $f"
    [ "$(pkibody "$T/b-$f.der")" = "$(pkibody "$T/b-secret.der")" ] || fail "the $f answer differs"
    openssl asn1parse -inform DER -in "$T/b-$f.der" >"$T/b-$f.txt"
    grep -q ":$want" "$T/b-$f.txt" || fail "$f: statusString"
    n=$((n + 1))
  done
  [ "$n" = 5 ] || fail "compared $n"
  expect_output "PKIFailureInfo: badMessageCheck"
  # and nothing was issued for any of them
  [ "$(sql "SELECT count(*) FROM certificate WHERE subject_dn LIKE 'CN=someone-else%' OR subject_dn = 'CN=dev-b2,O=Acme'")" = 0 ] \
    || fail "a refused request was stored"
}
run_test "wrong secret, another subject, an unregistered SAN, a second use, an expired registration: the same error body, badMessageCheck" \
    t_device_refusals_are_identical

t_device_lockout_and_new_secret() {
  local uuid
  uuid=$(dev_register '{"senderKid": "dev-c1", "subject": "/CN=dev-c1", "maxFailures": 3}')
  printf 'WRONG-SECRET-0000' >"$T/wrong.secret"
  dev_ir dev-c1 "$T/wrong.secret" /CN=dev-c1 && fail "1"
  dev_ir dev-c1 "$T/wrong.secret" /CN=dev-c1 && fail "2"
  expect_status 200 GET "$(dev_path)/$uuid"
  [ "$(jf .state)" = active ] || fail "locked too early"
  dev_ir dev-c1 "$T/wrong.secret" /CN=dev-c1 && fail "3"
  expect_status 200 GET "$(dev_path)/$uuid"
  [ "$(jf .state)" = locked ] && [ "$(jf .failures)" = 3 ] || fail "not locked: $(cat "$T/api.json")"
  [ "$(sql "SELECT count(*) FROM audit_event WHERE action = 'cmp.deviceRegistration.lock'
            AND object = 'deviceRegistration:$uuid'")" = 1 ] || fail "lock not audited"
  # the right secret is refused now, with the same answer
  dev_ir dev-c1 "$T/dev-c1.secret" /CN=dev-c1 -rspout "$T/c-locked.der" && fail "locked but enrolled"
  expect_output "the request does not match an active device registration"
  # a new secret unlocks it; the old one is gone
  expect_status 200 POST "$(dev_path)/$uuid/secret" '{}'
  [ "$(jf .state)" = active ] && [ "$(jf .failures)" = 0 ] && [ "$(jf .secret)" != "$(cat "$T/dev-c1.secret")" ] \
    || fail "new secret: $(cat "$T/api.json")"
  jf .secret >"$T/dev-c1.new"
  dev_ir dev-c1 "$T/dev-c1.secret" /CN=dev-c1 && fail "the old secret still works"
  dev_ir dev-c1 "$T/dev-c1.new" /CN=dev-c1 -certout "$T/dev-c1.pem"
  [ "$(cert_status "$T/dev-c1.pem")" = valid ] || fail "not enrolled with the new secret"
}
run_test "repeated failures lock a registration (audited); a new secret from the API unlocks it" \
    t_device_lockout_and_new_secret

t_device_registration_api_checks() {
  local uuid zero=00000000-0000-0000-0000-000000000000
  expect_status 422 POST "$(dev_path)" '{"subject": "/CN=x"}'
  grep -q senderKid "$T/api.json" || fail "names senderKid"
  expect_status 422 POST "$(dev_path)" '{"senderKid": "has space", "subject": "/CN=x"}'
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1"}'
  grep -q "subject is required" "$T/api.json" || fail "names subject"
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "no-equals"}'
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "subjectAltNames": ["FOO:bar"]}'
  grep -q "FOO:bar" "$T/api.json" || fail "names the SAN"
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "subjectAltNames": ["IP:not-an-ip"]}'
  expect_status 400 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "subjectAltNames": "DNS:a"}'
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "expiresAt": "tomorrow"}'
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "expiresAt": "2020-01-01T00:00:00Z"}'
  grep -q "in the future" "$T/api.json" || fail "past expiresAt"
  expect_status 400 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "maxFailures": "five"}'
  expect_status 422 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=x", "maxFailures": 0}'
  [ "$(sql "SELECT count(*) FROM device_registration WHERE sender_kid = 'dev-d1'")" = 0 ] || fail "stored"
  uuid=$(dev_register '{"senderKid": "dev-d1", "subject": "/CN=x", "expiresAt": "2099-01-01T00:00:00Z"}')
  [ "$(jf .expiresAt)" = "2099-01-01T00:00:00+00:00" ] || fail "expiresAt: $(jf .expiresAt)"
  expect_status 409 POST "$(dev_path)" '{"senderKid": "dev-d1", "subject": "/CN=y"}'
  grep -q dev-d1 "$T/api.json" || fail "409 names the senderKid"
  expect_status 400 GET "$(dev_path)?state=gone"
  expect_status 400 GET "$(dev_path)?color=red"
  expect_status 404 GET "/authorities/$zero/raProfiles/$zero/deviceRegistrations"
  expect_status 404 GET "$(dev_path)/$zero"
  expect_status 422 POST "$(dev_path)/$uuid/secret" '{"expiresAt": "2001-01-01T00:00:00Z"}'
  expect_status 204 DELETE "$(dev_path)/$uuid"
  expect_status 404 GET "$(dev_path)/$uuid"
  [ "$(sql "SELECT count(*) FROM audit_event WHERE object = 'deviceRegistration:$uuid' AND object_name = 'dev-d1'")" = 3 ] \
    || fail "create, secret refusal... audited: $(sql "SELECT action, result FROM audit_event WHERE object = 'deviceRegistration:$uuid'")"
  # a JSON route refuses CSV, the import refuses JSON
  [ "$(api POST "$(dev_path)" "" -H 'Content-Type: text/csv' --data-binary 'a,b')" = 415 ] || fail "CSV to a JSON route"
  expect_status 415 POST "$(dev_path)/import" '{"senderKid": "x"}'
}
run_test "device registration API: each field checked and named, 409 on a senderKid taken, 404s, delete" \
    t_device_registration_api_checks

t_device_csv_import() {
  local i csv="$T/devices.csv" t0 t1 line kid secret before
  {
    echo "senderKid,subject,subjectAltNames,expiresAt,maxFailures"
    for i in $(seq -w 1 1000); do
      echo "line1-$i,\"CN=line1-$i,O=Acme Plant 1\",DNS:line1-$i.example IP:10.1.$((10#$i / 250)).$((10#$i % 250 + 1)),2030-01-01T00:00:00Z,5"
    done
  } >"$csv"
  before=$(sql "SELECT count(*) FROM device_registration")
  # a bad row stops all of it, named by its number
  { head -n 500 "$csv"; echo 'line1-bad,/CN=x,FOO:bar,,'; tail -n +501 "$csv"; } >"$T/bad.csv"
  [ "$(api POST "$(dev_path)/import" "" -H 'Content-Type: text/csv' --data-binary "@$T/bad.csv")" = 422 ] \
    || fail "bad row: $(cat "$T/api.json")"
  grep -q "row 501: subjectAltNames" "$T/api.json" || fail "names row 501: $(cat "$T/api.json")"
  [ "$(api POST "$(dev_path)/import" "" -H 'Content-Type: text/csv' --data-binary $'senderKid,subject,colour\nx,/CN=x,red\n')" = 400 ] \
    || fail "unknown column"
  [ "$(api POST "$(dev_path)/import" "" -H 'Content-Type: text/csv' --data-binary $'senderKid,subject\n"x,/CN=x\n')" = 400 ] \
    || fail "an unclosed quote"
  [ "$(sql "SELECT count(*) FROM device_registration")" = "$before" ] || fail "something was stored"
  t0=$(date +%s%N)
  [ "$(api POST "$(dev_path)/import?format=csv" "" -H 'Content-Type: text/csv' --data-binary "@$csv")" = 201 ] \
    || fail "import: $(head -c 300 "$T/api.json")"
  t1=$(date +%s%N)
  echo "imported 1,000 devices in $(((t1 - t0) / 1000000)) ms"
  [ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "1,000 devices took over 5 s"
  [ "$(wc -l <"$T/api.json")" = 1001 ] && [ "$(head -1 "$T/api.json")" = "senderKid,secret,uuid" ] \
    || fail "the CSV answer: $(head -3 "$T/api.json")"
  cp "$T/api.json" "$T/line1-secrets.csv"
  [ "$(sql "SELECT count(*) FROM device_registration WHERE sender_kid LIKE 'line1-%' AND state = 'active'
            AND subject_dn LIKE 'CN=line1-%,O=Acme Plant 1' AND cardinality(sans) = 2")" = 1000 ] \
    || fail "1,000 stored"
  # the same again: every senderKid is taken
  [ "$(api POST "$(dev_path)/import" "" -H 'Content-Type: text/csv' --data-binary "@$csv")" = 409 ] \
    || fail "import again"
  # one device of the line enrolls with its row of the answer
  line=$(grep '^"line1-0777"' "$T/line1-secrets.csv")
  kid=line1-0777
  secret=$(cut -d, -f2 <<<"$line" | tr -d '"')
  printf '%s' "$secret" >"$T/l777.secret"
  dev_ir "$kid" "$T/l777.secret" "/O=Acme Plant 1/CN=line1-0777" -sans "line1-0777.example 10.1.3.28" \
      -certout "$T/l777.pem"
  [ "$(cert_status "$T/l777.pem")" = valid ] || fail "a device of the import did not enroll"
  # JSON answer for a small import
  [ "$(api POST "$(dev_path)/import" "" -H 'Content-Type: text/csv' --data-binary $'subject,senderKid\r\n/CN=j1,line2-1\r\n/CN=j2,line2-2\r\n')" = 201 ] \
    || fail "small import: $(cat "$T/api.json")"
  [ "$(jf .created)" = 2 ] && [ "$(jf '.deviceRegistrations[1].senderKid')" = line2-2 ] \
    && [ "$(jf '.deviceRegistrations[0].secret | length')" = 29 ] || fail "JSON answer: $(cat "$T/api.json")"
}
run_test "CSV import of 1,000 devices (all or none, rows named), under 5 s; a device of it enrolls" t_device_csv_import

t_registrations_only_profile() {
  local ca ra cmp uuid
  ca=$(adm_uuid /authorities demo)
  ra=$(fx_ra_profile "$ca" '{"name": "devonly"}' enable)
  cmp=$(fx_cmp_profile '{"name": "devonly", "responseProtectionMethod": "sharedSecret",
        "sharedSecret": "devonly-profile-secret", "sharedSecretReference": "devonly"}' enable "$ca/raProfiles/$ra")
  printf 'devonly-profile-secret' >"$T/devonly.secret"
  newkey "$T/do.key" ec
  # the profile's own secret works while registrationsOnly is off ...
  cmp -cmd ir -server "$BASE/raProfile/devonly" -ref devonly -secret "file:$T/devonly.secret" \
      -trusted "$CA_CERT_FILE" -newkey "$T/do.key" -subject /CN=do-1 -certout "$T/do1.pem"
  expect_status 200 PUT "/cmpProfiles/$cmp" '{"registrationsOnly": true}'
  [ "$(jf .registrationsOnly)" = true ] || fail "registrationsOnly not set"
  # ... and not after: the answer a registration gives
  cmp -cmd ir -server "$BASE/raProfile/devonly" -ref devonly -secret "file:$T/devonly.secret" \
      -trusted "$CA_CERT_FILE" -newkey "$T/do.key" -subject /CN=do-2 && fail "profile secret accepted"
  expect_output "the request does not match an active device registration"
  # a registration of its RA Profile enrolls; the MAC-protected response is
  # protected with the registration's secret (the client checks it)
  expect_status 201 POST "/authorities/$ca/raProfiles/$ra/deviceRegistrations" '{"senderKid": "do-3", "subject": "/CN=do-3"}'
  jf .secret >"$T/do-3.secret"
  cmp -cmd ir -server "$BASE/raProfile/devonly" -ref do-3 -secret "file:$T/do-3.secret" \
      -trusted "$CA_CERT_FILE" -newkey "$T/do.key" -subject /CN=do-3 -certout "$T/do3.pem"
  [ "$(cert_status "$T/do3.pem")" = valid ] || fail "registration did not enroll"
  # a registration of another RA Profile (demo's) is unknown here
  dev_register '{"senderKid": "do-4", "subject": "/CN=do-4"}' >/dev/null
  # (the error is MAC-protected with the profile's secret, which the device
  # does not have: the client cannot read it; the log says why)
  cmp -cmd ir -server "$BASE/raProfile/devonly" -ref do-4 -secret "file:$T/do-4.secret" \
      -trusted "$CA_CERT_FILE" -newkey "$T/do.key" -subject /CN=do-4 && fail "another RA Profile's registration"
  grep -q "CMP10404: device registration do-4 of RA Profile devonly refused a request: no such registration" \
      "$VAR_DIR"/httpd/error.log || fail "the refusal is not logged"
  # a registrations-only profile needs no secret of its own
  expect_status 201 POST /cmpProfiles '{"name": "devonly2", "variant": "v2", "requestProtectionMethod": "sharedSecret",
      "responseProtectionMethod": "sharedSecret", "registrationsOnly": true}'
  [ "$(jf .hasSharedSecret)" = false ] || fail "a secret appeared"
  expect_status 422 POST /cmpProfiles '{"name": "devonly3", "variant": "v2", "requestProtectionMethod": "signature",
      "responseProtectionMethod": "signature", "signingCertificateUuid": "'"$(cat "$VAR_DIR/demo/signer.uuid")"'",
      "registrationsOnly": true}'
  grep -q "registrationsOnly needs requestProtectionMethod sharedSecret" "$T/api.json" || fail "422 text"
  expect_status 422 POST /cmpProfiles '{"name": "devonly4", "variant": "v2", "requestProtectionMethod": "sharedSecret",
      "responseProtectionMethod": "sharedSecret"}'
}
run_test "a CMP Profile with registrationsOnly takes no shared secret but its RA Profile's registrations" \
    t_registrations_only_profile

t_device_flag_of_ra_profile() {
  local ca ra a b flag
  ca=$(adm_uuid /authorities demo)
  ra=$(fx_ra_profile "$ca" '{"name": "flagra"}')
  flag() { sql "SELECT has_device_registrations FROM ra_profile WHERE uuid = '$ra'"; }
  [ "$(flag)" = f ] || fail "a new RA Profile has registrations"
  expect_status 201 POST "/authorities/$ca/raProfiles/$ra/deviceRegistrations" '{"senderKid": "f1", "subject": "/CN=f1"}'
  a=$(jf .uuid)
  [ "$(flag)" = t ] || fail "not set by the first"
  expect_status 201 POST "/authorities/$ca/raProfiles/$ra/deviceRegistrations" '{"senderKid": "f2", "subject": "/CN=f2"}'
  b=$(jf .uuid)
  expect_status 204 DELETE "/authorities/$ca/raProfiles/$ra/deviceRegistrations/$a"
  [ "$(flag)" = t ] || fail "cleared while one is left"
  expect_status 204 DELETE "/authorities/$ca/raProfiles/$ra/deviceRegistrations/$b"
  [ "$(flag)" = f ] || fail "not cleared by the last"
  # deleting the RA Profile takes its registrations along
  expect_status 201 POST "/authorities/$ca/raProfiles/$ra/deviceRegistrations" '{"senderKid": "f3", "subject": "/CN=f3"}'
  expect_status 204 DELETE "/authorities/$ca/raProfiles/$ra"
  [ "$(sql "SELECT count(*) FROM device_registration WHERE sender_kid = 'f3'")" = 0 ] || fail "left behind"
}
run_test "an RA Profile knows whether it has registrations (a MAC request to one without costs no lookup)" \
    t_device_flag_of_ra_profile

t_readme_device_session() {
  local D=$T/device-session
  rm -rf "$D"; mkdir -p "$D"
  readme_block device-session "$D/session.sh"
  [ "$(wc -l <"$D/session.sh")" -gt 10 ] || fail "the README block is missing"
  (cd "$D" && bash -e -o pipefail "$D/session.sh") || fail "the README device session failed"
  [ "$(wc -l <"$D/line1-secrets.csv")" = 4 ] || fail "the line's secrets"
  [ "$(sql "SELECT count(*) FROM certificate c JOIN device_registration d ON d.id = c.device_registration_id
            WHERE d.sender_kid IN ('plc-0001', 'line1-02') AND c.status = 'valid'")" = 2 ] || fail "not linked"
}
run_test "README device session: a registered device and a CSV line enroll with their own secrets" \
    t_readme_device_session
