# SPDX-License-Identifier: Apache-2.0
# The Core CMP API (mod_cmp_admin) against the real httpd and PostgreSQL.
export ADMIN_URL ADMIN_USER ADMIN_PASSWORD_FILE ADMIN_CA_FILE CMP_BASE_URL

t_readme_session_from_empty_database() {
  # A fresh database with the schema only, its own httpd, the README's block.
  local E=$ROOT/tests/out/var-empty HP=$((HTTP_PORT + 3)) SP=$((HTTPS_PORT + 3)) url signer
  url=$(empty_instance_start "$E" "$HP" "$SP" cmp_empty)
  mkdir -p "$E/session"
  readme_block admin-session "$E/session.sh"
  local rc=0
  (cd "$E/session" && VAR_DIR=$E bash -e -o pipefail "$E/session.sh") || rc=$?
  signer=$(curl -sS --cacert "$ADMIN_CA_FILE" -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" \
           "https://127.0.0.1:$SP/api/v1/certificates?subject=Factory%20CMP%20RA" \
           | jq -r '.certificates[] | "\(.status) \(.issuerDn)"') || true
  VAR_DIR=$E HTTPD_INSTANCE=httpd bash "$ROOT/scripts/httpd.sh" stop
  [ "$rc" = 0 ] || fail "the README session failed ($rc)"
  [ -s "$E/session/dev1.pem" ] && [ -s "$E/session/dev2.pem" ] || fail "no certificates"
  [ "$(psql -X -At "$url" -c "SELECT count(*) FROM certificate WHERE status = 'valid' AND subject_dn IN ('CN=dev1', 'CN=dev2')")" = 2 ] \
      || fail "the certificates are not in the database"
  # the CMP signer the CA issued is in the inventory like the devices'
  [ "$signer" = "valid CN=Factory CA,O=Example" ] || fail "the issued signer is not listed: $signer"
  ! grep -E ':(error|crit)\]' "$E/httpd/error.log" || fail "errors in the log"
}
run_test "README curl session: empty database to enrolled certificates, both CMP URLs" \
    t_readme_session_from_empty_database

t_admin_auth_and_media() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADMIN_CA_FILE" "$ADMIN_URL/cmpProfiles")" = 401 ] \
      || fail "no 401 without credentials"
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADMIN_CA_FILE" -u admin:wrong "$ADMIN_URL/cmpProfiles")" = 401 ] \
      || fail "no 401 with a wrong password"
  curl -s -D "$T/h401" --cacert "$ADMIN_CA_FILE" "$ADMIN_URL/cmpProfiles" | jq -e .message >/dev/null \
      || fail "the 401 body is not JSON"
  grep -qi '^Content-Type: application/json' "$T/h401" || fail "the 401 is not application/json"
  # the admin API is not on the plain HTTP port
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/api/v1/cmpProfiles")" = 404 ] \
      || fail "admin API reachable over plain HTTP"
  expect_status 415 POST /cmpProfiles '{"name":"x"}' -H 'Content-Type: text/plain'
  expect_status 400 POST /cmpProfiles '{"name": '
  expect_status 400 POST /cmpProfiles '{"name": 5}'
  expect_status 403 POST /cmpProfiles '{"name":"x"}' -H 'Origin: https://evil.example'
  expect_status 404 GET /cmpProfiles/00000000-0000-0000-0000-000000000000
  expect_status 404 GET /nothing-here
  expect_status 405 DELETE /raProfiles
  jf .message >/dev/null || fail "error body is not JSON"
  # the methods the path has, in Allow (RFC 9110 15.5.6)
  [ "$(curl -s -o /dev/null -D - --cacert "$ADMIN_CA_FILE" -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" \
        -X PATCH "$ADMIN_URL/authorities" | tr -d '\r' | sed -n 's/^Allow: //Ip')" = "GET, POST" ] \
    || fail "no Allow header naming GET and POST"
}
run_test "admin API: 401 without identity, 415, 400, 403 cross-origin, 404, 405 as JSON with Allow" \
    t_admin_auth_and_media

t_cmp_profile_lifecycle() {
  local ra sig uuid
  ra=$(sql "SELECT uuid FROM ra_profile WHERE name = 'demo'")
  sig=$(cat "$VAR_DIR/demo/signer.uuid")
  # rule violations, all reported at once
  expect_status 422 POST /cmpProfiles '{"name":"bad name","variant":"v3","requestProtectionMethod":"signature","responseProtectionMethod":"sharedSecret"}'
  # variant v3 where OpenSSL speaks cmp2021 (3.2 and later), else refused naming the version
  if openssl version | grep -q "^OpenSSL 3\.[2-9]"; then
    jf '.[]' | grep -q "variant" && fail "v3 refused where OpenSSL speaks cmp2021: $(cat "$T/api.json")"
  else
    jf '.[]' | grep -q "^variant v3 (CMPv3: cmp2021, RFC 9810) needs OpenSSL 3.2 or later; this server runs OpenSSL 3.0" \
      || fail "v3 not refused: $(cat "$T/api.json")"
  fi
  jf '.[]' | grep -q "name is required" || fail "bad name not refused"
  expect_status 422 POST /cmpProfiles '{"name":"g3","variant":"v2_3gpp","requestProtectionMethod":"sharedSecret","responseProtectionMethod":"signature","sharedSecret":"x","signingCertificateUuid":"'"$sig"'"}'
  jf '.[]' | grep -q "3GPP" || fail "3GPP rule"
  expect_status 422 POST /cmpProfiles '{"name":"nosecret","variant":"v2","requestProtectionMethod":"sharedSecret","responseProtectionMethod":"sharedSecret"}'
  jf '.[]' | grep -q "Shared secret cannot be empty" || fail "secret rule"
  expect_status 404 POST /cmpProfiles '{"name":"nosig","variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"x-secret-long","responseProtectionMethod":"signature","signingCertificateUuid":"00000000-0000-0000-0000-000000000000"}'
  # create: 201, Location, disabled, secret never shown
  expect_status 201 POST /cmpProfiles '{"name":"life","description":"<img src=x onerror=alert(1)> '"'"'; DROP TABLE x; --","variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"TopSecret-123","responseProtectionMethod":"signature","signingCertificateUuid":"'"$sig"'","raProfileUuid":"'"$ra"'"}' -D "$T/headers"
  uuid=$(jf .uuid)
  grep -qi "^Location: /api/v1/cmpProfiles/$uuid" "$T/headers" || fail "no Location"
  [ "$(jf .enabled)" = false ] || fail "enabled on create"
  [ "$(jf .description)" = "<img src=x onerror=alert(1)> '; DROP TABLE x; --" ] || fail "description not exact"
  [ "$(jf .cmpUrl)" = "https://127.0.0.1:$HTTPS_PORT/api/v1/protocols/cmp/life" ] || fail "cmpUrl $(jf .cmpUrl)"
  [ "$(jf .hasSharedSecret)" = true ] || fail "hasSharedSecret"
  ! grep -q TopSecret "$T/api.json" || fail "secret in a response"
  expect_status 409 POST /cmpProfiles '{"name":"life","variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"x-secret-long","responseProtectionMethod":"sharedSecret"}'
  # a secret shorter than 12 characters is refused
  expect_status 422 POST /cmpProfiles '{"name":"shortsecret","variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"elevenchars","responseProtectionMethod":"sharedSecret"}'
  jq -e 'index("sharedSecret must be at least 12 characters") != null' "$T/api.json" >/dev/null || fail "short secret message: $(cat "$T/api.json")"
  # edit: a blank secret keeps the stored one; the name cannot change
  expect_status 200 PUT "/cmpProfiles/$uuid" '{"variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"","responseProtectionMethod":"signature","signingCertificateUuid":"'"$sig"'","raProfileUuid":"'"$ra"'","description":"edited","confirmTimeout":60}'
  [ "$(jf .description)" = edited ] && [ "$(jf .confirmTimeout)" = 60 ] || fail "edit not applied"
  expect_status 422 PUT "/cmpProfiles/$uuid" '{"name":"renamed","variant":"v2","requestProtectionMethod":"sharedSecret","responseProtectionMethod":"signature","signingCertificateUuid":"'"$sig"'"}'
  # what a PUT leaves out keeps its value (editing the description reset the
  # confirmation timeout and unlinked the RA Profile); null clears what may be empty
  expect_status 200 PUT "/cmpProfiles/$uuid" '{"description":"only this"}'
  [ "$(jf .description)" = "only this" ] && [ "$(jf .confirmTimeout)" = 60 ] \
    && [ "$(jf .raProfileUuid)" = "$ra" ] && [ "$(jf .signingCertificateUuid)" = "$sig" ] \
    && [ "$(jf .responseProtectionMethod)" = signature ] && [ "$(jf .hasSharedSecret)" = true ] \
    || fail "a PUT reset what it left out: $(cat "$T/api.json")"
  expect_status 200 PUT "/cmpProfiles/$uuid" '{"raProfileUuid":null,"confirmTimeout":120}'
  [ "$(jf .raProfileUuid)" = null ] && [ "$(jf .confirmTimeout)" = 120 ] && [ "$(jf .description)" = "only this" ] \
    || fail "null did not clear raProfileUuid: $(cat "$T/api.json")"
  expect_status 200 PUT "/cmpProfiles/$uuid" '{"raProfileUuid":"'"$ra"'"}'
  [ "$(jf .raProfileUuid)" = "$ra" ] || fail "raProfileUuid not set again"
  expect_status 200 PUT "/cmpProfiles/$uuid" '{"sharedSecretReference":"kid-1"}'
  [ "$(jf .sharedSecretReference)" = kid-1 ] || fail "sharedSecretReference not set"
  expect_status 200 PUT "/cmpProfiles/$uuid" '{"sharedSecretReference":null,"trustAnchors":null}'
  [ "$(jf .sharedSecretReference)" = null ] && [ "$(jf .trustAnchors)" = "" ] \
    && [ "$(jf .raProfileUuid)" = "$ra" ] || fail "null did not clear: $(cat "$T/api.json")"
  # the kept secret still works on the CMP endpoint once enabled
  expect_status 204 PATCH "/cmpProfiles/$uuid/enable"
  newkey "$T/l1.key" ec
  cmp -cmd ir -server "$BASE/life" -ref x -secret pass:TopSecret-123 -trusted "$CA_CERT_FILE" \
      -newkey "$T/l1.key" -subject /CN=life1 -certout "$T/l1.pem"
  [ "$(cert_status "$T/l1.pem")" = valid ] || fail "not enrolled through the new profile"
  # list, bulk disable, delete refused while an RA Profile uses it, force delete
  expect_status 200 GET /cmpProfiles
  [ "$(jq -r '.[] | select(.name == "life") | .enabled' "$T/api.json")" = true ] || fail "list"
  expect_status 204 PATCH /cmpProfiles/disable "[\"$uuid\"]"
  expect_status 200 GET "/cmpProfiles/$uuid"
  [ "$(jf .enabled)" = false ] || fail "bulk disable"
  local ca; ca=$(sql "SELECT a.uuid FROM authority a JOIN ra_profile r ON r.authority_id = a.id WHERE r.name = 'strict'")
  local strict; strict=$(sql "SELECT uuid FROM ra_profile WHERE name = 'strict'")
  expect_status 200 PATCH "/authorities/$ca/raProfiles/$strict/protocols/cmp/activate/$uuid"
  [ "$(jf .cmpProfile.name)" = life ] || fail "activation"
  expect_status 422 DELETE "/cmpProfiles/$uuid"
  jf '.[]' | grep -q "associated RA Profiles (1): strict" || fail "delete message"
  expect_status 200 DELETE /cmpProfiles/delete "[\"$uuid\"]"
  [ "$(jq length "$T/api.json")" = 1 ] || fail "bulk delete should report the refusal"
  expect_status 200 DELETE /cmpProfiles/delete/force "[\"$uuid\"]"
  [ "$(jq length "$T/api.json")" = 0 ] || fail "force delete failed"
  expect_status 404 GET "/cmpProfiles/$uuid"
  expect_status 200 GET "/authorities/$ca/raProfiles/$strict/protocols/cmp"
  [ "$(jf .cmpAvailable)" = false ] || fail "RA Profile still linked"
  # the audit log has every change, and no secret
  expect_status 200 GET "/auditLogs?limit=200"
  jq -e '.auditLogs[] | select(.action == "POST /cmpProfiles" and .result == "ok")' "$T/api.json" >/dev/null \
      || fail "no audit event for the create"
  jq -e '.auditLogs[] | select(.result != "ok" and (.actor | startswith("user:admin")))' "$T/api.json" >/dev/null \
      || fail "no audit event for a refused change"
  ! grep -q TopSecret "$T/api.json" || fail "secret in the audit log"
  ! sql "SELECT * FROM audit_event" | grep -q TopSecret || fail "secret in audit_event"
  sql "SELECT encode(shared_secret_enc, 'escape') FROM cmp_profile" | grep -q TopSecret && fail "secret not encrypted"
  # SQL metacharacters stored exactly
  [ "$(sql "SELECT count(*) FROM pg_tables WHERE tablename = 'cmp_profile'")" = 1 ] || fail "table gone"
}
run_test "CMP Profiles: rules (422), create 201, 409, edit, enable, bulk, delete rules, audit, no secret leaks" \
    t_cmp_profile_lifecycle

t_ra_profiles_and_authorities() {
  local ca ra
  expect_status 422 POST /authorities '{"name":"x1"}'
  expect_status 422 POST /authorities '{"name":"x1","generate":{"subject":"CN=X","keyType":"NOPE"}}'
  expect_status 201 POST /authorities '{"name":"rsa-gen","generate":{"subject":"CN=Gen RSA CA","keyType":"RSA","keyParameter":"2048","validityDays":100}}'
  ca=$(jf .uuid)
  [ "$(jf .keyType)" = RSA ] && [ "$(jf .subjectDn)" = "CN=Gen RSA CA" ] || fail "generated CA"
  ! grep -q "PRIVATE KEY" "$T/api.json" || fail "private key in a response"
  # import: certificate and encrypted key
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass pass:pw -out "$T/imp.key"
  openssl req -x509 -new -key "$T/imp.key" -passin pass:pw -subj "/CN=Imported CA" -days 30 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out "$T/imp.pem"
  expect_status 422 POST /authorities "$(jq -n --rawfile c "$T/imp.pem" --rawfile k "$T/imp.key" '{name:"imported",certificate:$c,privateKey:$k,passphrase:"wrong"}')"
  expect_status 201 POST /authorities "$(jq -n --rawfile c "$T/imp.pem" --rawfile k "$T/imp.key" '{name:"imported",certificate:$c,privateKey:$k,passphrase:"pw"}')"
  # RA Profile policy validation and round trip
  expect_status 422 POST "/authorities/$ca/raProfiles" '{"name":"p1","keyUsage":["flying"],"allowedKeyTypes":["NOPE"],"subjectPattern":"(["}'
  [ "$(jq length "$T/api.json")" = 3 ] || fail "all three problems reported"
  # a pattern glibc would take gigabytes to compile is refused, quickly
  expect_status 422 POST "/authorities/$ca/raProfiles" '{"name":"p1","subjectPattern":"((a{100}){100}){100}"}'
  jf '.[0]' | grep -q "subjectPattern is too complex" || fail "an exploding subjectPattern was not refused as such"
  # the core's rules decide: an EKU OpenSSL's OID parser takes but the
  # extension parser refuses was once stored, and then every issuance failed
  expect_status 422 POST "/authorities/$ca/raProfiles" '{"name":"p1","extendedKeyUsage":["serverAuth","2. "]}'
  jf '.[0]' | grep -q "extendedKeyUsage '2\.' is neither" || fail "an EKU the core cannot make was accepted"
  expect_status 201 POST "/authorities/$ca/raProfiles" '{"name":"p-alias","allowedKeyTypes":["id-ecPublicKey"]}'
  expect_status 204 DELETE "/authorities/$ca/raProfiles/$(jf .uuid)"
  expect_status 201 POST "/authorities/$ca/raProfiles" '{"name":"p1","validityDays":30,"allowedKeyTypes":["RSA","EC"],"minSecurityBits":128,"keyUsage":["digitalSignature","keyAgreement"],"extendedKeyUsage":["serverAuth","1.3.6.1.5.5.7.3.2"],"subjectPattern":"^CN=.*$","allowSubjectAltName":false}'
  ra=$(jf .uuid)
  [ "$(jf '.keyUsage | join(",")')" = "digitalSignature,keyAgreement" ] || fail "keyUsage round trip"
  [ "$(jf .enabled)" = false ] || fail "RA Profile enabled on create"
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"validityDays":10,"subjectPattern":null}'
  [ "$(jf .validityDays)" = 10 ] && [ "$(jf .subjectPattern)" = null ] && [ "$(jf .minSecurityBits)" = 128 ] \
      || fail "edit"
  expect_status 200 GET /raProfiles
  [ "$(jq -r '.[] | select(.name == "demo") | .enabledProtocols[0]' "$T/api.json")" = CMP ] || fail "enabledProtocols"
  expect_status 204 PATCH "/authorities/$ca/raProfiles/$ra/enable"
  expect_status 422 DELETE "/authorities/$ca"
  # an RA Profile that a CMP Profile serves by default: refused, naming it,
  # unless forced, which unlinks it there
  expect_status 201 POST /cmpProfiles '{"name":"uses-p1","variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"x-secret-long","responseProtectionMethod":"sharedSecret","raProfileUuid":"'"$ra"'"}'
  local uses; uses=$(jf .uuid)
  expect_status 422 DELETE "/authorities/$ca/raProfiles/$ra"
  jf '.[0]' | grep -q "RA Profile p1 is the default RA Profile of CMP Profile uses-p1" || fail "delete refusal: $(cat "$T/api.json")"
  expect_status 400 DELETE "/authorities/$ca/raProfiles/$ra?force=yes"
  expect_status 200 GET "/authorities/$ca/raProfiles/$ra"
  expect_status 204 DELETE "/authorities/$ca/raProfiles/$ra?force=true"
  expect_status 200 GET "/cmpProfiles/$uses"
  [ "$(jf .raProfileUuid)" = null ] || fail "the forced delete left the link"
  expect_status 204 DELETE "/cmpProfiles/$uses"
  expect_status 204 PATCH "/authorities/$ca/disable"
  expect_status 204 DELETE "/authorities/$ca"
  expect_status 404 GET "/authorities/$ca"
  # a signer imported as PEM
  expect_status 201 POST /cmpProfiles/signingCertificates "$(jq -n --rawfile c "$VAR_DIR/demo/signer.pem" --rawfile k "$VAR_DIR/demo/signer.key" '{certificate:$c,privateKey:$k}')"
  expect_status 200 GET /cmpProfiles/signingCertificates
  [ "$(jq length "$T/api.json")" -ge 2 ] || fail "signing certificates list"
  ! grep -q "PRIVATE KEY" "$T/api.json" || fail "private key in a response"
}
run_test "Authorities (generate, import, delete rules) and RA Profiles (policy, edit, enable)" \
    t_ra_profiles_and_authorities

t_certificates_api() {
  local uuid
  fx_cert ca-list-1
  fx_cert ca-list-2
  fx_cert ca-q1
  expect_status 200 GET "/certificates?limit=2&status=valid"
  [ "$(jf '.certificates | length')" = 2 ] && [ "$(jf .total)" -gt 2 ] || fail "paging"
  expect_status 200 GET "/certificates?subject=ca-q1"
  [ "$(jf .total)" = 1 ] || fail "subject filter"
  uuid=$(jf '.certificates[0].uuid')
  expect_status 200 GET "/certificates?serial=$(serial_of "$T/ca-q1.pem")"
  [ "$(jf '.certificates[0].uuid')" = "$uuid" ] || fail "serial filter"
  expect_status 200 GET "/certificates/$uuid"
  jf .certificate | openssl x509 -noout -serial >/dev/null || fail "no PEM"
  expect_status 400 GET "/certificates?limit=0"
  jf .message | grep -q "limit must be a whole number 1..1000" || fail "limit message"
  expect_status 400 GET "/certificates?offset=3000000000"
  expect_status 400 GET "/certificates?status=%00"
  # no argument is silently ignored: unknown, repeated, or a date PostgreSQL
  # would read its own way ("tomorrow")
  expect_status 400 GET "/certificates?stauts=valid"
  jf .message | grep -q "unknown query argument 'stauts'" || fail "unknown argument message"
  expect_status 400 GET "/raProfiles?limit=5"
  expect_status 400 GET "/certificates?status=valid&status=revoked"
  expect_status 400 GET "/certificates?expiresAfter=tomorrow"
  jf .message | grep -q "expiresAfter must be a date" || fail "date message"
  expect_status 400 GET "/certificates?expiresBefore=2027-02-30"
  expect_status 400 GET "/certificates?expiresBefore=2027-01-31T12:00:00"
  expect_status 200 GET "/certificates?expiresBefore=2100-01-31&expiresAfter=2000-01-01T00:00:00.5%2B02:00"
  [ "$(jf .total)" -ge 1 ] || fail "the date filters found nothing"
  expect_status 400 GET "/certificates?serial=%zz"
  jf .message | grep -q "query argument 'serial'" || fail "bad escape message"
  # a path that is no UTF-8 once decoded: a 404 with its message all the same
  expect_status 404 GET "/certificates/x%E9"
  [ "$(jf .message)" = "no such resource: /certificates/x?" ] || fail "404 message: $(cat "$T/api.json")"
  expect_status 422 POST "/certificates/$uuid/revoke" '{"reason":"bored"}'
  expect_status 422 POST "/certificates/$uuid/revoke" '{"reason":"removeFromCRL"}'
  expect_status 422 POST "/certificates/$uuid/revoke" '{"reason":8}'
  expect_status 200 POST "/certificates/$uuid/revoke" '{"reason":"keyCompromise"}'
  [ "$(jf .status)" = revoked ] && [ "$(jf .revocationReason)" = 1 ] || fail "revoke"
  expect_status 422 POST "/certificates/$uuid/revoke" '{}'
  # the CMP side sees it: kur with the revoked certificate is refused
  newkey "$T/r9.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/ca-q1.pem" -key "$T/ca-q1.key" \
      -newkey "$T/r9.key" -certout "$T/r9.pem" && fail "kur with a certificate revoked through the API"
  expect_output "revoked"
}
run_test "certificates: paging, filters, details with PEM, revoke (CMP sees it)" t_certificates_api

t_live_on_every_node() {
  local demo; demo=$(sql "SELECT uuid FROM cmp_profile WHERE name = 'demo'")
  newkey "$T/v1.key" ec
  expect_status 204 PATCH "/cmpProfiles/$demo/disable"
  cmp -cmd ir -server "$BASE/demo" $(mac_args) -newkey "$T/v1.key" -subject /CN=v1 && fail "node 1 still serves"
  expect_output "CMP Profile is disabled"
  cmp -cmd ir -server "$BASE2/demo" $(mac_args) -newkey "$T/v1.key" -subject /CN=v1 && fail "node 2 still serves"
  expect_output "CMP Profile is disabled"
  expect_status 204 PATCH "/cmpProfiles/$demo/enable"
  cmp -cmd ir -server "$BASE2/demo" $(mac_args) -newkey "$T/v1.key" -subject /CN=v1 -certout "$T/v1.pem"
  [ "$(cert_status "$T/v1.pem")" = valid ] || fail "node 2 after enable"
  cmp -cmd ir -server "$BASE/demo" $(mac_args) -newkey "$T/v1.key" -subject /CN=v2 -certout "$T/v2.pem"
  [ "$(cert_status "$T/v2.pem")" = valid ] || fail "node 1 after enable"
}
run_test "a change through the API is in force at once on both nodes" t_live_on_every_node

t_openapi_paths_served() {
  local n=0 path method url status zero=00000000-0000-0000-0000-000000000000
  expect_status 200 GET /openapi.json
  cp "$T/api.json" "$T/openapi.json"
  [ "$(jq -r .openapi "$T/openapi.json")" = 3.1.0 ] || fail "not an OpenAPI 3.1 document"
  while read -r path method; do
    url=$(echo "$path" | sed "s/{[^}]*}/$zero/g")
    case "$method" in get) status=$(api GET "$url") ;; *) status=$(api "${method^^}" "$url" '{}') ;; esac
    if [ "$status" = 405 ] || grep -q '"no such resource' "$T/api.json"; then
      fail "documented but not served: ${method^^} $path ($status)"
    fi
    n=$((n + 1))
  done < <(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\($p) \(.)"' "$T/openapi.json")
  [ "$n" -ge 30 ] || fail "only $n operations documented"
}
run_test "every path in /api/v1/openapi.json is served (the unit suite checks the converse)" \
    t_openapi_paths_served

t_remaining_endpoints_and_exact_strings() {
  local ca ra cmp demo_ra evil zero=00000000-0000-0000-0000-000000000000
  evil="<script>alert(1)</script> O'Brien \"; DROP TABLE ra_profile; -- \\ %_ ü"
  expect_status 201 POST /authorities "$(jq -n --arg d "$evil" '{name:"str-ca",description:$d,generate:{subject:"CN=Strings CA",keyType:"ED25519"}}')"
  ca=$(jf .uuid)
  [ "$(jf .description)" = "$evil" ] || fail "authority description not exact"
  expect_status 200 PUT "/authorities/$ca" "$(jq -n --arg d "$evil!" '{description:$d}')"
  [ "$(jf .description)" = "$evil!" ] || fail "authority edit"
  expect_status 404 PUT "/authorities/$zero" '{"description":"x"}'
  expect_status 200 GET /authorities
  jq -e --arg d "$evil!" '.[] | select(.description == $d)' "$T/api.json" >/dev/null || fail "list"
  expect_status 204 PATCH "/authorities/$ca/disable"
  expect_status 204 PATCH "/authorities/$ca/enable"
  expect_status 404 PATCH "/authorities/$zero/enable"
  expect_status 201 POST "/authorities/$ca/raProfiles" "$(jq -n --arg d "$evil" --arg p "^CN=O'Brien; DROP.*\$" '{name:"str-ra",description:$d,subjectPattern:$p}')"
  ra=$(jf .uuid)
  [ "$(jf .description)" = "$evil" ] && [ "$(jf .subjectPattern)" = "^CN=O'Brien; DROP.*\$" ] || fail "RA strings"
  expect_status 404 POST "/authorities/$zero/raProfiles" '{"name":"x"}'
  expect_status 409 POST "/authorities/$ca/raProfiles" '{"name":"str-ra"}'
  expect_status 200 GET "/authorities/$ca/raProfiles"
  [ "$(jq length "$T/api.json")" = 1 ] || fail "list of the authority"
  expect_status 404 GET "/authorities/$ca/raProfiles/$zero"
  expect_status 204 PATCH "/authorities/$ca/raProfiles/$ra/enable"
  expect_status 204 PATCH "/authorities/$ca/raProfiles/$ra/disable"
  expect_status 404 PATCH "/authorities/$ca/raProfiles/$zero/disable"
  # CMP Profile with MAC responses; default RA Profile set and activation undone
  expect_status 201 POST /cmpProfiles "$(jq -n --arg d "$evil" '{name:"str-cmp",description:$d,variant:"v2",requestProtectionMethod:"sharedSecret",responseProtectionMethod:"sharedSecret",sharedSecret:"a'\''\"; -- and more",trustAnchors:""}')"
  cmp=$(jf .uuid)
  [ "$(jf .description)" = "$evil" ] && [ "$(jf .cmpUrl)" = null ] || fail "CMP strings / cmpUrl without RA"
  expect_status 204 PATCH "/cmpProfiles/$cmp/raProfiles/$ra"
  expect_status 404 PATCH "/cmpProfiles/$cmp/raProfiles/$zero"
  expect_status 404 PATCH "/cmpProfiles/$zero/raProfiles/$ra"
  expect_status 200 GET "/cmpProfiles/$cmp"
  [ "$(jf .raProfile.name)" = str-ra ] || fail "default RA Profile not set"
  expect_status 200 PATCH "/authorities/$ca/raProfiles/$ra/protocols/cmp/activate/$cmp"
  [ "$(jf .cmpUrl)" = "https://127.0.0.1:$HTTPS_PORT/api/v1/protocols/cmp/raProfile/str-ra" ] || fail "cmpUrl"
  expect_status 404 PATCH "/authorities/$ca/raProfiles/$ra/protocols/cmp/activate/$zero"
  expect_status 204 PATCH "/authorities/$ca/raProfiles/$ra/protocols/cmp/deactivate"
  expect_status 200 GET "/authorities/$ca/raProfiles/$ra/protocols/cmp"
  [ "$(jf .cmpAvailable)" = false ] || fail "deactivate"
  # the MAC secret with quotes works on the CMP endpoint
  expect_status 204 PATCH /cmpProfiles/enable "[\"$cmp\", \"$zero\"]"
  expect_status 204 PATCH "/authorities/$ca/raProfiles/$ra/enable"
  newkey "$T/s9.key" ec
  # (no subject matches that pattern: a subject's text escapes the ';')
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"subjectPattern":null}'
  expect_status 200 GET "/authorities/$ca"
  jf .certificate >"$T/str-ca.pem"
  cmp -cmd ir -server "$BASE/str-cmp" -ref s -secret "pass:a'\"; -- and more" -trusted "$T/str-ca.pem" \
      -newkey "$T/s9.key" -subject /CN=s9 -certout "$T/s9.pem"
  verify_cert "$T/s9.pem" "$T/str-ca.pem"
  # expiry window filter
  expect_status 200 GET "/certificates?expiresBefore=2000-01-01T00:00:00Z"
  [ "$(jf .total)" = 0 ] || fail "expiresBefore"
  expect_status 200 GET "/certificates?expiresAfter=2000-01-01T00:00:00Z&expiresBefore=2100-01-01T00:00:00Z&limit=1"
  [ "$(jf .total)" -gt 1 ] && [ "$(jf '.certificates | length')" = 1 ] || fail "expiry window"
  expect_status 400 GET "/certificates?expiresBefore=yesterday-ish"
  # the strings are in the database exactly as sent
  [ "$(sql "SELECT description FROM ra_profile WHERE name = 'str-ra'")" = "$evil" ] || fail "stored RA description"
  [ "$(sql "SELECT count(*) FROM ra_profile")" -gt 1 ] || fail "ra_profile table damaged"
}
run_test "remaining endpoints with their errors; strings with HTML, quotes and SQL stored exactly" \
    t_remaining_endpoints_and_exact_strings

t_expired_signer_not_eligible() {
  local E=$T/expca
  mkdir -p "$E" && : >"$E/index.txt" && echo 01 >"$E/serial"
  cat >"$E/ca.cnf" <<CNF
[ca]
default_ca = x
[x]
database = $E/index.txt
serial = $E/serial
new_certs_dir = $E
default_md = sha256
policy = any
[any]
commonName = supplied
CNF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$E/old.key" \
      -subj /CN=old-signer -out "$E/old.csr"
  openssl ca -batch -config "$E/ca.cnf" -cert "$VAR_DIR/demo/ca.pem" -keyfile "$VAR_DIR/demo/ca.key" \
      -startdate 20200101000000Z -enddate 20200201000000Z -in "$E/old.csr" -out "$E/old.pem"
  expect_status 201 POST /cmpProfiles/signingCertificates "$(jq -n --rawfile c "$E/old.pem" --rawfile k "$E/old.key" '{certificate:$c,privateKey:$k}')"
  local old; old=$(jf .uuid)
  expect_status 200 GET /cmpProfiles/signingCertificates
  ! jq -e --arg u "$old" '.[] | select(.uuid == $u)' "$T/api.json" >/dev/null || fail "expired signer listed"
  expect_status 422 POST /cmpProfiles '{"name":"oldsig","variant":"v2","requestProtectionMethod":"sharedSecret","sharedSecret":"x-secret-long","responseProtectionMethod":"signature","signingCertificateUuid":"'"$old"'"}'
  jf '.[]' | grep -q "cannot be used" || fail "message"
}
run_test "an expired signing certificate is neither listed nor accepted" t_expired_signer_not_eligible

# the count of a reason over the days of the last answer
refusal_count() { jq "[.[] | select(.reason == \"$1\") | .count] | add // 0" "$T/api.json"; }

t_cmp_refusals_counted() {
  # refusals of three kinds, made here; the counts reach the database within
  # about a second (two days: a run may cross midnight)
  local mac0 junk0 off0 i ok=0
  expect_status 200 GET "/statistics/cmpRefusals?days=2"
  mac0=$(refusal_count "MAC protection does not verify")
  junk0=$(refusal_count "not a CMP message")
  off0=$(refusal_count "CMP Profile is disabled")
  newkey "$T/rc.key" ec
  cmp -cmd ir -server "$CMP_URL" -ref demo -secret pass:not-the-secret -trusted "$CA_CERT_FILE" \
      -newkey "$T/rc.key" -subject /CN=rc && fail "a wrong MAC accepted"
  cmp -cmd ir -server "$BASE/off" $(mac_args) -newkey "$T/rc.key" -subject /CN=rc \
    && fail "a disabled profile enrolled"
  printf 'no PKIMessage' >"$T/junk.der"
  post "$CMP_URL" "$T/junk.der" >/dev/null
  post "$CMP_URL" "$T/junk.der" >/dev/null
  for i in $(seq 1 30); do
    expect_status 200 GET "/statistics/cmpRefusals?days=2"
    if [ "$(refusal_count "MAC protection does not verify")" -ge $((mac0 + 1)) ] \
       && [ "$(refusal_count "not a CMP message")" -ge $((junk0 + 2)) ] \
       && [ "$(refusal_count "CMP Profile is disabled")" -ge $((off0 + 1)) ]; then
      ok=1; break
    fi
    sleep 0.2
  done
  [ "$ok" = 1 ] || fail "not counted (before: mac $mac0, junk $junk0, off $off0): $(cat "$T/api.json")"
  expect_status 400 GET "/statistics/cmpRefusals?days=0"
}
run_test "refused CMP requests are counted per day and reason (for the dashboard)" t_cmp_refusals_counted

# The dashboard's figures come from the database: every day of the span
# (UTC, today last, days without certificates too), issued and revoked per
# day, totals per status, as SQL counts them; bad spans are 400.
t_certificate_statistics() {
  local i ok=0 today want
  today=$(date -u +%F)
  for i in 1 2 3 4 5; do
    expect_status 200 GET "/statistics/certificates?days=3"
    want=$(sql "SELECT json_build_object('total', count(*), 'valid', count(*) FILTER (WHERE status = 'valid'),
        'revoked', count(*) FILTER (WHERE status = 'revoked'), 'rejected', count(*) FILTER (WHERE status = 'rejected'),
        'issuedToday', count(*) FILTER (WHERE (created_at AT TIME ZONE 'UTC')::date = '$today'),
        'revokedToday', count(*) FILTER (WHERE status = 'revoked' AND (revoked_at AT TIME ZONE 'UTC')::date = '$today'))
        FROM certificate")
    if [ "$(jq -c '{total, valid: .byStatus.valid, revoked: .byStatus.revoked, rejected: .byStatus.rejected,
                    issuedToday: .perDay[2].issued, revokedToday: .perDay[2].revoked}' "$T/api.json")" \
         = "$(jq -c '{total, valid, revoked, rejected, issuedToday, revokedToday}' <<<"$want")" ]; then
      ok=1; break
    fi
    sleep 0.3   # a confirmation sweep changed a status in between
  done
  [ "$ok" = 1 ] || fail "figures differ from SQL's: $(cat "$T/api.json") vs $want"
  [ "$(jq -r '.days, (.perDay | length), .perDay[2].day' "$T/api.json" | tr '\n' ' ')" = "3 3 $today " ] \
    || fail "span: $(jq -c .perDay "$T/api.json")"
  [ "$(jq -r '.perDay[0].day' "$T/api.json")" = "$(date -u -d '2 days ago' +%F)" ] || fail "first day"
  [ "$(jq -r '.perDay[2].issued > 0' "$T/api.json")" = true ] || fail "nothing issued today?"
  [ "$(jq -c 'keys' "$T/api.json")" = '["byStatus","days","expiringWithin30Days","perDay","total"]' ] \
    || fail "fields: $(jq -c keys "$T/api.json")"
  expect_status 200 GET "/statistics/certificates"
  [ "$(jq '.perDay | length' "$T/api.json")" = 14 ] || fail "the default span is not 14 days"
  for i in 0 367 abc; do
    expect_status 400 GET "/statistics/certificates?days=$i"
    jf .message | grep -q "days must be a whole number 1..366" || fail "days=$i: $(cat "$T/api.json")"
  done
  expect_status 400 GET "/statistics/certificates?day=3"
}
run_test "dashboard figures from the database: per day, per status, as SQL counts them" t_certificate_statistics

# A shared secret changed with an overlap: the old one still enrolls (and the
# responses to it are MAC-protected with it) until the time the administrator
# set, which can be moved or ended; a new secret without it is a cut-over.
t_secret_rotation_overlap() {
  local ra u a=rot-secret-A-$RANDOM b=rot-secret-B-$RANDOM c=rot-secret-C-$RANDOM until
  ra=$(adm_uuid /raProfiles demo)
  u=$(fx_cmp_profile "$(jq -n --arg s "$a" --arg ra "$ra" \
        '{name: "rot", sharedSecret: $s, raProfileUuid: $ra, responseProtectionMethod: "sharedSecret"}')" enable)
  rot_enroll() {   # rot_enroll SECRET NAME: enrolled with that secret, or not (status)
    newkey "$T/$2.key" ec
    cmp -cmd ir -server "$BASE/rot" -ref rot -secret "pass:$1" -trusted "$CA_CERT_FILE" \
        -newkey "$T/$2.key" -subject "/CN=$2" -implicit_confirm -certout "$T/$2.pem" >/dev/null
  }
  rot_enroll "$a" rot-a0 || fail "the first secret does not enroll"
  expect_status 200 GET "/cmpProfiles/$u"
  [ "$(jf .previousSecretValidUntil)" = null ] || fail "a previous secret from nowhere"

  # refused: not a date-time, the past, too far, nothing to keep, POST, a number
  until=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
  for v in '"tomorrow"' '"2027-01-31"' "\"$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)\"" \
           "\"$(date -u -d '+400 days' +%Y-%m-%dT%H:%M:%SZ)\""; do
    expect_status 422 PUT "/cmpProfiles/$u" "{\"sharedSecret\":\"$b\",\"previousSecretValidUntil\":$v}"
    jf '.[]' | grep -q previousSecretValidUntil || fail "$v: $(cat "$T/api.json")"
  done
  expect_status 422 PUT "/cmpProfiles/$u" "{\"previousSecretValidUntil\":\"$until\"}"
  jf '.[]' | grep -q "needs a new sharedSecret" || fail "nothing kept: $(cat "$T/api.json")"
  expect_status 422 POST /cmpProfiles "{\"name\":\"rot2\",\"variant\":\"v2\",\"requestProtectionMethod\":\"sharedSecret\",\"responseProtectionMethod\":\"sharedSecret\",\"sharedSecret\":\"$b\",\"previousSecretValidUntil\":\"$until\"}"
  expect_status 400 PUT "/cmpProfiles/$u" '{"previousSecretValidUntil":5}'
  rot_enroll "$b" rot-b0 && fail "a refused change took effect"

  # B with an overlap: A and B both enroll, C does not; the log names it
  expect_status 200 PUT "/cmpProfiles/$u" "{\"sharedSecret\":\"$b\",\"previousSecretValidUntil\":\"$until\"}"
  [ "$(jf .previousSecretValidUntil)" != null ] || fail "no window: $(cat "$T/api.json")"
  [ "$(sql "SELECT previous_secret_until = '$until'::timestamptz FROM cmp_profile WHERE name = 'rot'")" = t ] \
    || fail "stored window"
  sql "SELECT encode(previous_secret_enc, 'escape') FROM cmp_profile WHERE name = 'rot'" | grep -qF "$a" \
    && fail "the kept secret is stored in the clear"
  rot_enroll "$a" rot-a1 || fail "the old secret is refused inside the window"
  rot_enroll "$b" rot-b1 || fail "the new secret is refused"
  [ "$(cert_status "$T/rot-a1.pem")" = valid ] && [ "$(cert_status "$T/rot-b1.pem")" = valid ] || fail "status"
  rot_enroll "$c" rot-c1 && fail "a wrong secret enrolls"
  grep -q "CMP10403: a request to CMP Profile rot is protected with its previous shared secret, accepted until" \
      "$VAR_DIR"/httpd*/error.log || fail "no log line for the old secret"

  # the window moved, then ended: A refused at once, B still enrolls
  until=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
  expect_status 200 PUT "/cmpProfiles/$u" "{\"previousSecretValidUntil\":\"$until\"}"
  [ "$(sql "SELECT previous_secret_until = '$until'::timestamptz FROM cmp_profile WHERE name = 'rot'")" = t ] \
    || fail "window not moved"
  rot_enroll "$a" rot-a2 || fail "the old secret is refused after the window moved"
  expect_status 200 PUT "/cmpProfiles/$u" '{"previousSecretValidUntil":null}'
  [ "$(jf .previousSecretValidUntil)" = null ] || fail "window not ended"
  [ "$(sql "SELECT previous_secret_enc IS NULL FROM cmp_profile WHERE name = 'rot'")" = t ] || fail "old kept"
  rot_enroll "$a" rot-a3 && fail "the old secret enrolls after the window ended"
  rot_enroll "$b" rot-b3 || fail "the current secret is refused"

  # a window that runs out by itself
  until=$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)
  expect_status 200 PUT "/cmpProfiles/$u" "{\"sharedSecret\":\"$c\",\"previousSecretValidUntil\":\"$until\"}"
  rot_enroll "$b" rot-b4 || fail "B refused inside its window"
  while [ "$(date -u +%s)" -le "$(date -u -d "$until" +%s)" ]; do sleep 0.5; done
  rot_enroll "$b" rot-b5 && fail "B enrolls after its window"
  rot_enroll "$c" rot-c5 || fail "C refused"
  expect_status 200 GET "/cmpProfiles/$u"
  [ "$(jf .previousSecretValidUntil)" = null ] || fail "a passed window is shown"
  # the next edit drops the secret whose time has passed; a new secret
  # without a window is a cut-over
  expect_status 200 PUT "/cmpProfiles/$u" '{"description":"rotated"}'
  [ "$(sql "SELECT previous_secret_enc IS NULL FROM cmp_profile WHERE name = 'rot'")" = t ] || fail "expired kept"
  expect_status 200 PUT "/cmpProfiles/$u" "{\"sharedSecret\":\"$a-new\"}"
  rot_enroll "$c" rot-c6 && fail "no cut-over"
  rot_enroll "$a-new" rot-a6 || fail "the newest secret is refused"
  adm PATCH "/cmpProfiles/$u/disable" >/dev/null
  adm DELETE "/cmpProfiles/$u" >/dev/null
}
run_test "shared secret rotation with an overlap window (API, both secrets enroll, then only the new)" \
    t_secret_rotation_overlap

# Every enrollment, confirmation, supersession and revocation (by CMP or by an
# administrator) is an audit event of its certificate: its page shows its
# history; the audit log is filtered (actor, action, object, certificate,
# time), exported as CSV, and names its objects.
t_certificate_history_audit_filters() {
  local u1 u2 h
  fx_cert hist1                                   # ir + explicit certConf
  newkey "$T/hist2.key" ec
  cmp -cmd kur -server "$CMP_URL" -trusted "$CA_CERT_FILE" -cert "$T/hist1.pem" -key "$T/hist1.key" \
      -newkey "$T/hist2.key" -implicit_confirm -certout "$T/hist2.pem" >/dev/null
  u1=$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/hist1.pem")'")
  u2=$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/hist2.pem")'")
  expect_status 200 POST "/certificates/$u2/revoke" '{"reason":"keyCompromise"}'
  expect_status 200 GET "/certificates/$u1"
  h=$(jq -c '[.history[] | [.actor, .action, .result, .certificateUuid]]' "$T/api.json")
  [ "$h" = "$(jq -cn --arg u "$u1" '[["cmp:demo:shared-secret", "cmp.ir", "issued, awaiting certConf", $u],
        ["cmp:demo:shared-secret", "cmp.certConf", "accepted", $u],
        ["cmp:CN=hist1", "cmp.kur", "revoked: superseded by the key update", $u]]')" ] \
    || fail "history of the old certificate: $h"
  jq -e --arg s "$(serial_of "$T/hist1.pem")" \
      'all(.history[]; .objectName == "CN=hist1 (serial " + $s + ")" and .object == "certificate:" + .certificateUuid)' \
      "$T/api.json" >/dev/null || fail "object names: $(jq -c .history "$T/api.json")"
  expect_status 200 GET "/certificates/$u2"
  h=$(jq -c '[.history[] | [.action, .result]]' "$T/api.json")
  [ "$h" = '[["cmp.kur","issued"],["POST /certificates/{uuid}/revoke","ok"]]' ] \
    || fail "history of the new certificate: $h"
  [ "$(jq -r '.history[1].actor' "$T/api.json")" = "user:$ADMIN_USER" ] || fail "admin actor: $(jq -c .history "$T/api.json")"

  # filters
  expect_status 200 GET "/auditLogs?certificateUuid=$u1"
  [ "$(jf .total)" = 3 ] || fail "by certificate: $(cat "$T/api.json")"
  expect_status 200 GET "/auditLogs?action=cmp&object=CN%3Dhist1&limit=1000"
  [ "$(jq '[.auditLogs[] | select(.action | startswith("cmp.") | not)] | length' "$T/api.json")" = 0 ] \
    && [ "$(jf .total)" -ge 4 ] || fail "action family + object: $(cat "$T/api.json")"
  expect_status 200 GET "/auditLogs?action=cmp.certConf&certificateUuid=$u1"
  [ "$(jf .total)" = 1 ] || fail "exact action"
  expect_status 200 GET "/auditLogs?actor=CN%3Dhist1&certificateUuid=$u1"
  [ "$(jf .total)" = 1 ] || fail "actor"
  expect_status 200 GET "/auditLogs?certificateUuid=$u1&from=$(date -u -d '+1 day' +%F)"
  [ "$(jf .total)" = 0 ] || fail "from"
  expect_status 200 GET "/auditLogs?certificateUuid=$u1&from=$(date -u -d '-1 day' +%F)&to=$(date -u -d '+1 day' +%F)"
  [ "$(jf .total)" = 3 ] || fail "from..to"
  expect_status 200 GET "/auditLogs?object=100%25_sure"
  [ "$(jf .total)" = 0 ] || fail "LIKE wildcards in the text are wildcards"
  expect_status 400 GET "/auditLogs?to=tomorrow"
  jf .message | grep -q "to must be a date" || fail "to message"
  expect_status 400 GET "/auditLogs?certificateUuid=x"
  expect_status 400 GET "/auditLogs?format=xml"
  expect_status 400 GET "/auditLogs?format=csv&limit=100001"

  # CSV export, with the same filters
  local ct
  ct=$(curl -s -o "$T/audit.csv" -w '%{content_type}' --cacert "$ADMIN_CA_FILE" \
        -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" "$ADMIN_URL/auditLogs?format=csv&certificateUuid=$u1")
  [ "$ct" = "text/csv; charset=utf-8" ] || fail "content type $ct"
  [ "$(head -1 "$T/audit.csv")" = "id,at,actor,action,object,objectName,result,details,certificateUuid" ] \
    || fail "CSV header: $(head -1 "$T/audit.csv")"
  [ "$(wc -l <"$T/audit.csv")" = 4 ] || fail "CSV rows: $(cat "$T/audit.csv")"
  grep -q "^\"[0-9]*\",\"[^\"]*\",\"cmp:demo:shared-secret\",\"cmp.certConf\",\"certificate:$u1\",\"CN=hist1 (serial [0-9a-f]*)\",\"accepted\",\"\",\"$u1\"$" \
      "$T/audit.csv" || fail "CSV row: $(cat "$T/audit.csv")"

  # a CMP signer issued through the API: its history starts with who issued it
  local sg
  expect_status 201 POST /cmpProfiles/signingCertificates \
      "{\"issue\": {\"authorityUuid\": \"$(adm_uuid /authorities demo)\", \"subject\": \"CN=hist signer\"}}"
  expect_status 200 GET "/certificates?subject=hist%20signer"
  sg=$(jf '.certificates[0].uuid')
  expect_status 200 GET "/certificates/$sg"
  [ "$(jq -c '[.history[] | [.actor, .action, .result]]' "$T/api.json")" \
      = "[[\"user:$ADMIN_USER\",\"admin.issueSigningCertificate\",\"issued\"]]" ] \
    || fail "the signer's history: $(jq -c .history "$T/api.json")"

  # a deleted object keeps its name in the log
  local ca ra
  ca=$(adm_uuid /authorities demo)
  ra=$(fx_ra_profile "$ca" '{"name": "hist-gone"}')
  expect_status 204 DELETE "/authorities/$ca/raProfiles/$ra"
  expect_status 200 GET "/auditLogs?object=$ra"
  [ "$(jq -r '[.auditLogs[] | .objectName] | unique | join(",")' "$T/api.json")" = hist-gone ] \
    || fail "names of a deleted RA Profile's events: $(cat "$T/api.json")"
}
run_test "a certificate's history (CMP and admin events) and the audit log's filters, CSV and names" \
    t_certificate_history_audit_filters

# Certificates filtered and sorted by the server: Authority, key type, issue
# dates, and an order on a column either way; bad values are 400s naming them.
t_certificate_filters_sort() {
  local rsa_ca tomorrow total
  fx_rsaca_cert fs-rsaca
  fx_cert fs-rsa rsa
  rsa_ca=$(adm_uuid /authorities rsaca)
  tomorrow=$(date -u -d '+1 day' +%F)
  expect_status 200 GET "/certificates?authorityUuid=$rsa_ca&limit=1000"
  [ "$(jf .total)" -ge 1 ] && jq -e --arg a "$rsa_ca" 'all(.certificates[]; .authorityUuid == $a)' "$T/api.json" >/dev/null \
    || fail "authority filter: $(head -c 300 "$T/api.json")"
  expect_status 200 GET "/certificates?keyType=rsa&limit=1000"
  [ "$(jf .total)" -ge 1 ] && jq -e 'all(.certificates[]; .keyType == "RSA")' "$T/api.json" >/dev/null \
    || fail "keyType filter: $(jq -c '[.certificates[].keyType] | unique' "$T/api.json")"
  expect_status 200 GET "/certificates?issuedAfter=$tomorrow"
  [ "$(jf .total)" = 0 ] || fail "issuedAfter tomorrow"
  expect_status 200 GET "/certificates?issuedBefore=$tomorrow&issuedAfter=$(date -u +%F)&subject=fs-rsa"
  [ "$(jf .total)" -ge 1 ] || fail "issued today"
  expect_status 200 GET "/certificates"
  total=$(jf .total)
  expect_status 200 GET "/certificates?sort=notAfter&limit=1000"
  [ "$(jf .total)" = "$total" ] && jq -e '[.certificates[].notAfter] as $a | $a == ($a | sort)' "$T/api.json" >/dev/null \
    || fail "sort=notAfter"
  expect_status 200 GET "/certificates?sort=-notAfter&limit=1000"
  jq -e '[.certificates[].notAfter] as $a | $a == ($a | sort | reverse)' "$T/api.json" >/dev/null || fail "sort=-notAfter"
  expect_status 200 GET "/certificates?sort=subjectDn&limit=50&offset=3"
  [ "$(jq '.certificates | length' "$T/api.json")" -ge 1 ] || fail "a sorted page"
  expect_status 200 GET "/certificates?sort=-createdAt&limit=5"
  local a b
  a=$(jq -c '[.certificates[].uuid]' "$T/api.json")
  expect_status 200 GET "/certificates?limit=5"
  b=$(jq -c '[.certificates[].uuid]' "$T/api.json")
  [ "$a" = "$b" ] || fail "the default order is -createdAt"
  expect_status 400 GET "/certificates?sort=color"
  jf .message | grep -q "sort must be createdAt" || fail "sort message"
  expect_status 400 GET "/certificates?keyType=EC%27%3B"
  expect_status 400 GET "/certificates?issuedAfter=2027-02-30"
  jf .message | grep -q "issuedAfter must be a date" || fail "issuedAfter message"
  expect_status 400 GET "/certificates?authorityUuid=nope"
}
run_test "certificates filtered (Authority, key type, issue dates) and sorted by the server" t_certificate_filters_sort

# One PUT semantics for every resource (as openapi.json documents it): what a
# PUT leaves out keeps its value; only what it names changes.
t_put_keeps_omitted_fields() {
  local ca ra cp before
  ca=$(adm_uuid /authorities demo)
  ra=$(fx_ra_profile "$ca" '{"name": "put-keeps", "validityDays": 42, "allowedKeyTypes": ["EC"],
      "keyUsage": ["digitalSignature", "keyAgreement"], "extendedKeyUsage": ["clientAuth"],
      "subjectPattern": "^CN=put-[0-9]+$", "allowSubjectAltName": false, "allowedEcCurves": ["P-384"],
      "allowKurIdentityChange": true, "keyUsageFromRequest": true}')
  cp=$(fx_cmp_profile "$(fx_demo_secret '{name: "put-keeps", raProfileUuid: $ra, confirmTimeout: 77,
      allowImplicitConfirm: false, revokeOnKeyUpdate: false, allowMacRevocation: true,
      sharedSecretReference: "kid-put", responseProtectionMethod: "sharedSecret"}' "$ra")")
  local adesc
  expect_status 200 GET "/authorities/$ca"
  adesc=$(jf .description)
  # (an Authority's CRL state is the CRL job's, made anew whenever the
  # sweep rejects an unconfirmed certificate: not compared)
  local keep='del(.description, .updatedAt, .crl, .retiredKeys)'
  for path in "/authorities/$ca" "/authorities/$ca/raProfiles/$ra" "/cmpProfiles/$cp"; do
    expect_status 200 GET "$path"
    before=$(jq -S "$keep" "$T/api.json")
    expect_status 200 PUT "$path" '{"description": "only the description"}'
    [ "$(jf .description)" = "only the description" ] || fail "$path: not applied"
    expect_status 200 GET "$path"
    [ "$(jq -S "$keep" "$T/api.json")" = "$before" ] \
      || fail "$path: a PUT changed what it left out: $(diff <(echo "$before") <(jq -S "$keep" "$T/api.json"))"
  done
  expect_status 200 PUT "/authorities/$ca" "$(jq -nc --arg d "$adesc" '{description: $d}')"
  adm DELETE "/cmpProfiles/$cp" >/dev/null
  adm DELETE "/authorities/$ca/raProfiles/$ra" >/dev/null
}
run_test "a PUT of each resource keeps what it leaves out (Authority, RA Profile, CMP Profile)" t_put_keeps_omitted_fields

# A subordinate CA generated under a local Authority: certified by the
# issuer's current key with its CRL and caIssuers URLs, never outliving it,
# in the issuer's inventory; it issues, and its certificates chain to the
# issuer's root.
t_subordinate_authority() {
  local demo sub ra S=$T/sub
  rm -rf "$S"; mkdir -p "$S"
  demo=$(adm_uuid /authorities demo)
  expect_status 422 POST /authorities '{"name": "sub-x", "generate": {"subject": "CN=X", "issuerAuthorityUuid": "nope"}}'
  jq -r '.[0]' "$T/api.json" | grep -q "issuerAuthorityUuid must be a UUID" || fail "$(cat "$T/api.json")"
  expect_status 422 POST /authorities '{"name": "sub-x", "generate": {"subject": "CN=X", "issuerAuthorityUuid": "00000000-0000-4000-8000-000000000000"}}'
  jq -r '.[0]' "$T/api.json" | grep -q "no enabled local Authority" || fail "$(cat "$T/api.json")"
  expect_status 201 POST /authorities "{\"name\": \"sub-ec\", \"generate\": {\"subject\": \"CN=Sub EC,O=Test\",
      \"issuerAuthorityUuid\": \"$demo\", \"validityDays\": 36500}}"
  sub=$(jf .uuid)
  jf .certificate >"$S/sub.pem"
  jf .chain >"$S/chain.pem"
  [ "$(jf .issuerDn)" = "$(openssl x509 -in "$CA_CERT_FILE" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" ] \
    || fail "issuer: $(jf .issuerDn)"
  [ "$(openssl x509 -in "$S/chain.pem" -noout -fingerprint -sha256)" = "$(openssl x509 -in "$CA_CERT_FILE" -noout -fingerprint -sha256)" ] \
    || fail "the chain is not the issuer"
  openssl verify -CAfile "$CA_CERT_FILE" "$S/sub.pem" >/dev/null || fail "the subordinate does not verify"
  openssl x509 -in "$S/sub.pem" -noout -ext basicConstraints,keyUsage | grep -q "CA:TRUE" || fail "not a CA"
  [ "$(openssl x509 -in "$S/sub.pem" -noout -enddate)" = "$(openssl x509 -in "$CA_CERT_FILE" -noout -enddate)" ] \
    || fail "outlives its issuer"
  # in the issuer's inventory, its history begun by the administrator
  expect_status 200 GET "/certificates?subject=Sub%20EC"
  [ "$(jf '.certificates[0].status')" = valid ] || fail "not in the inventory: $(cat "$T/api.json")"
  expect_status 200 GET "/certificates/$(jf '.certificates[0].uuid')"
  [ "$(jq -r '.history[0].action' "$T/api.json")" = admin.issueSubordinateAuthority ] || fail "history"
  # it issues; the device's certificate chains to the demo root
  ra=$(fx_ra_profile "$sub" '{"name": "sub-ec"}' enable)
  fx_cmp_profile "$(fx_demo_secret '{name: "sub-ec", raProfileUuid: $ra, responseProtectionMethod: "sharedSecret"}' "$ra")" \
      enable "$sub/raProfiles/$ra" >/dev/null
  newkey "$S/dev.key" ec
  cmp -cmd ir -server "$BASE/sub-ec" -ref sub -secret "file:$CMP_SECRET_FILE" -trusted "$CA_CERT_FILE" \
      -newkey "$S/dev.key" -subject "/CN=sub-device" -certout "$S/dev.pem" || fail "ir"
  openssl verify -CAfile "$CA_CERT_FILE" -untrusted "$S/sub.pem" "$S/dev.pem" >/dev/null || fail "the chain"
}
run_test "a subordinate Authority generated under a local one (issuerAuthorityUuid): certified, within its issuer, in its inventory; it issues" \
    t_subordinate_authority
