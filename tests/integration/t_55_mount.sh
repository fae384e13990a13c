# SPDX-License-Identifier: Apache-2.0
# Mount anywhere, take nothing else: CMP under a Location of our choosing with
# a fixed profile (CMPProfile), the admin API and the console under another
# prefix, and a second site on the same Apache whose /api/v1/... is its own.

MNT_CONF=$VAR_DIR/httpd/conf.d/mount-test.conf
MNT_VHOST=$VAR_DIR/httpd/vhost.d/mount-test.conf
MNT_SITE=$VAR_DIR/httpd/othersite

mount_setup() {
  mkdir -p "$(dirname "$MNT_CONF")" "$(dirname "$MNT_VHOST")" "$MNT_SITE/api/v1"
  echo "the other site's own file" >"$MNT_SITE/api/v1/x"
  chmod -R a+rX "$MNT_SITE"
  cat >"$MNT_CONF" <<CONF
<Location /pki/enroll>
    SetHandler cmp-server
    CMPProfile demo
</Location>
<LocationMatch "^/regex/[a-z]+/cmp$">
    SetHandler cmp-server
    CMPProfile demo
</LocationMatch>
<Location /pki/legacy>
    SetHandler cmp-server
    CMPDefaultProfile demo
</Location>
<Location /pki/nothing>
    SetHandler cmp-server
</Location>
<Location /pki/ghost>
    SetHandler cmp-server
    CMPProfile ghost-profile
</Location>
# the shipped module confs, as Debian's mods-enabled would include them
Include "$ROOT/conf/cmp_admin.conf"
# a second site on the same address: the first vhost stays the default
<VirtualHost 127.0.0.1:$HTTP_PORT>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost 127.0.0.1:$HTTP_PORT>
    ServerName other.test
    DocumentRoot "$MNT_SITE"
    ErrorLog "$VAR_DIR/httpd/other-error.log"
    LogLevel warn cmp:debug
    <Directory "$MNT_SITE">
        Require all granted
    </Directory>
    <Location /vh/enroll>
        SetHandler cmp-server
        CMPProfile demo
    </Location>
</VirtualHost>
CONF
  cat >"$MNT_VHOST" <<CONF
    Alias /pki/admin/ui/ "$ROOT/htdocs/ui/"
    <Location /pki/admin/api/v1>
        SetHandler cmp-admin
        AuthType Basic
        AuthName "mod_cmp admin (moved)"
        AuthBasicProvider file
        AuthUserFile "$VAR_DIR/admin.htpasswd"
        Require valid-user
    </Location>
    <Location /pki/certonly/api>
        SetHandler cmp-admin
    </Location>
CONF
  bash "$ROOT/scripts/httpd.sh" graceful && sleep 1.5
}

mount_teardown() {
  rm -f "$MNT_CONF" "$MNT_VHOST"
  bash "$ROOT/scripts/httpd.sh" graceful && sleep 1.5
}

mount_checks() {
  local base=http://127.0.0.1:$HTTP_PORT code
  # CMP at a path of our own, the profile fixed by the location
  newkey "$T/mnt1.key" ec
  cmp -cmd ir -server "$base/pki/enroll" $(mac_args) -newkey "$T/mnt1.key" \
      -subject /CN=mnt1 -certout "$T/mnt1.pem" -reqout "$T/mnt1-ir.der,$T/mnt1-cc.der" >/dev/null \
    || fail "ir to /pki/enroll" || return 1
  [ "$(cert_status "$T/mnt1.pem")" = valid ] || fail "mnt1 not stored" || return 1
  # an RFC 9483 operation label after it is fine
  newkey "$T/mnt2.key" ec
  cmp -cmd ir -server "$base/pki/enroll/initialization" $(mac_args) -newkey "$T/mnt2.key" \
      -subject /CN=mnt2 -certout "$T/mnt2.pem" >/dev/null || fail "ir to .../initialization" || return 1
  cmp -cmd ir -server "$base/pki/legacy" $(mac_args) -newkey "$T/mnt2.key" \
      -subject /CN=mnt2b -certout "$T/mnt2b.pem" >/dev/null || fail "ir to a CMPDefaultProfile location" || return 1
  cmp -cmd ir -server "$base/regex/abc/cmp" $(mac_args) -newkey "$T/mnt2.key" \
      -subject /CN=mnt3 -certout "$T/mnt3.pem" >/dev/null || fail "ir to a LocationMatch" || return 1
  # the location serves its profile and no other: path forms do not escape it
  [ "$(post "$base/pki/enroll/protocols/cmp/rsa" "$T/mnt1-ir.der")" = 404 ] \
    || fail "a pinned location served another profile's path" || return 1
  [ "$(post "$base/pki/enroll/bogus" "$T/mnt1-ir.der")" = 404 ] || fail "an unknown label was served" || return 1
  # the CZERTAINLY form only right under a <Location .../protocols/cmp>
  [ "$(post "$base/pki/nothing/protocols/cmp/demo" "$T/mnt1-ir.der")" = 404 ] \
    || fail "/protocols/cmp/<name> served below another location" || return 1
  [ "$(post "$base/pki/legacy/x/protocols/cmp/raProfile/demo" "$T/mnt1-ir.der")" = 404 ] \
    || fail "/protocols/cmp/raProfile/<name> served below another location" || return 1
  # a location with the handler and no profile: 404, and the log says why
  [ "$(post "$base/pki/nothing" "$T/mnt1-ir.der")" = 404 ] || fail "no 404 without a profile" || return 1
  grep -q "CMP10019: no CMP endpoint at /pki/nothing: this location names no CMP Profile: set CMPProfile" \
      "$VAR_DIR/httpd/error.log" || fail "the 404 is not explained in the log" || return 1
  # a profile the configuration names but the database does not have: said once
  local i; for i in $(seq 1 30); do
    grep -q "CMP10023: CMPProfile ghost-profile, .*mount-test.conf line [0-9]*: there is no CMP Profile named ghost-profile" \
        "$VAR_DIR/httpd/error.log" && break; sleep 0.1; done
  [ "$i" -lt 30 ] || fail "no warning about CMPProfile ghost-profile" || return 1
  # the well-known and CZERTAINLY forms keep working where they are configured
  cmp -cmd ir -server "$base/.well-known/cmp/p/demo/initialization" $(mac_args) -newkey "$T/mnt1.key" \
      -subject /CN=mnt5 -certout "$T/mnt5.pem" >/dev/null || fail "RFC 9811 path with a label" || return 1
  cmp -cmd ir -server "$base/.well-known/cmp/initialization" $(mac_args) -newkey "$T/mnt1.key" \
      -subject /CN=mnt6 -certout "$T/mnt6.pem" >/dev/null || fail "RFC 9811 default with a label" || return 1
  # the API under another prefix, its Location header too
  ADMIN_BASE=https://127.0.0.1:$HTTPS_PORT/pki/admin/api/v1 expect_status 200 GET /cmpProfiles || return 1
  jf '.[].name' | grep -qx demo || fail "no demo profile listed" || return 1
  ADMIN_BASE=https://127.0.0.1:$HTTPS_PORT/pki/admin/api/v1 expect_status 201 POST /cmpProfiles \
      '{"name": "mnt-moved", "variant": "v2", "requestProtectionMethod": "sharedSecret", "sharedSecret": "x-secret-long",
        "responseProtectionMethod": "sharedSecret"}' -D "$T/mnt-headers" || return 1
  grep -qi "^Location: /pki/admin/api/v1/cmpProfiles/" "$T/mnt-headers" \
    || fail "the Location header ignores the prefix: $(grep -i ^location "$T/mnt-headers")" || return 1
  # a location without Basic auth: 401 JSON with no Basic challenge
  code=$(curl -s -D "$T/mnt-401" -o "$T/mnt-401.json" -w '%{http_code}' --cacert "$ADMIN_CA_FILE" \
           "https://127.0.0.1:$HTTPS_PORT/pki/certonly/api/cmpProfiles")
  [ "$code" = 401 ] || fail "certonly answered $code" || return 1
  ! grep -qi "^WWW-Authenticate" "$T/mnt-401" || fail "a Basic challenge where Basic is not configured" || return 1
  [ "$(jq -r .message "$T/mnt-401.json")" = "authentication required" ] || fail "401 body" || return 1
  # ... and where Basic is configured, its realm
  code=$(curl -s -D "$T/mnt-401b" -o /dev/null -w '%{http_code}' --cacert "$ADMIN_CA_FILE" \
           "https://127.0.0.1:$HTTPS_PORT/pki/admin/api/v1/cmpProfiles")
  grep -qi '^WWW-Authenticate: Basic realm="mod_cmp admin (moved)"' "$T/mnt-401b" \
    || fail "no Basic challenge with the location's realm" || return 1
  # the other site's /api/v1/x is its own, with the shipped confs included
  code=$(curl -s -o "$T/mnt-other" -w '%{http_code}' -H "Host: other.test" "$base/api/v1/x")
  [ "$code" = 200 ] && grep -q "the other site's own file" "$T/mnt-other" \
    || fail "the other site's /api/v1/x answered $code: $(head -c 200 "$T/mnt-other")" || return 1
  # a vhost's own ErrorLog and LogLevel cmp:debug: the request's lines, the
  # core's included, go there with the client; none to the main log
  : >"$VAR_DIR/httpd/other-error.log"
  curl -s -o /dev/null -H "Host: other.test" -H "Content-Type: application/pkixcmp" \
       --data-binary @"$T/mnt1-ir.der" "$base/vh/enroll"
  sleep 0.3
  grep -q "\[cmp:debug\] .*\[client 127.0.0.1:[0-9]*\] openssl " "$VAR_DIR/httpd/other-error.log" \
    || fail "no core debug line with the client in the vhost's log: $(head -c 400 "$VAR_DIR/httpd/other-error.log")" || return 1
  grep -q "\[cmp:info\] .*\[client 127.0.0.1:[0-9]*\] CMP10014: .*to demo refused" "$VAR_DIR/httpd/other-error.log" \
    || fail "the refusal is not in the vhost's log" || return 1
  ! grep -q "cmp:debug" "$VAR_DIR/httpd/error.log" || fail "debug lines in the main log" || return 1
  # the console under the other prefix finds the API relative to itself
  (cd "$ROOT/tests/browser" && VAR_DIR=$VAR_DIR SHOTS=$ROOT/tests/out/screenshots/moved \
     UI_URL=https://127.0.0.1:$HTTPS_PORT/pki/admin/ui/ \
     bash node.sh --test --test-name-pattern='every page renders' ui.test.mjs) >"$T/mnt-browser.out" 2>&1 \
    || { tail -30 "$T/mnt-browser.out"; fail "the console under /pki/admin/ui/"; }
}

t_mount_anywhere() {
  local rc=0
  mount_setup || { mount_teardown; fail "Apache did not take the test configuration"; return 1; }
  mount_checks || rc=1
  mount_teardown
  return $rc
}
run_test "CMP under any Location (CMPProfile pins it), the admin API and console under another prefix, another site's /api/v1 untouched" \
    t_mount_anywhere

# The URLs of mod_cmp's handlers are not files (mod_proxy's way): Apache
# does not walk the filesystem for them, so <Directory> sections do not
# reach them and <Location> sections do. Debian's apache2.conf denies
# <Directory />; a DocumentRoot that does not grant it would otherwise
# have refused CMP, CRLs and OCSP.
NF_CONF=$VAR_DIR/httpd/conf.d/not-a-file-test.conf
nf_checks() {
  local base=http://127.0.0.1:$HTTP_PORT code
  # the <Directory /> rule is in force for what is a file ...
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/some-static-file.txt")
  [ "$code" = 403 ] || fail "a static path answered $code under <Directory /> Require all denied" || return 1
  # ... and not for OCSP, CRLs, CA certificates and CMP
  [ "$(post "$base/ocsp/demo" "$T/nf-req.der" application/ocsp-request)" = 200 ] \
    || fail "OCSP refused by a <Directory> rule" || return 1
  [ "$(resp_status "$T/resp.der")" = successful ] || fail "OCSP answer not successful" || return 1
  code=$(curl -s -o "$T/nf-ca.der" -w '%{http_code}' "$base/crl/demo.crt")
  [ "$code" = 200 ] || fail "the CA certificate (cmp-crl) answered $code" || return 1
  newkey "$T/nf2.key" ec
  cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/nf2.key" -subject /CN=nf2 \
      -certout "$T/nf2.pem" >/dev/null || fail "CMP refused by a <Directory> rule" || return 1
  # a <Location> rule reaches them
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
           --data-binary @"$T/nf-req.der" "$base/ocsp/locked")
  [ "$code" = 403 ] || fail "<Location /ocsp/locked> Require all denied: answered $code" || return 1
  # mod_alias (and mod_rewrite) still map these URLs first
  code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$base/ocsp/moved")
  [ "$code" = "301 $base/ocsp/demo" ] || fail "a server-level Redirect of /ocsp/moved: $code" || return 1
}

t_urls_not_files() {
  local rc=0
  fx_cert nf1
  openssl ocsp -issuer "$CA_CERT_FILE" -cert "$T/nf1.pem" -no_nonce -reqout "$T/nf-req.der" >/dev/null 2>&1
  cat >"$NF_CONF" <<CONF
<Directory />
    Require all denied
</Directory>
<Location /ocsp/locked>
    Require all denied
</Location>
Redirect permanent /ocsp/moved http://127.0.0.1:$HTTP_PORT/ocsp/demo
CONF
  bash "$ROOT/scripts/httpd.sh" graceful && sleep 1.5
  nf_checks || rc=1
  rm -f "$NF_CONF"
  bash "$ROOT/scripts/httpd.sh" graceful && sleep 1.5
  return $rc
}
run_test "CMP, CRL and OCSP URLs are not files: <Directory> rules do not reach them, <Location> rules do" \
    t_urls_not_files
