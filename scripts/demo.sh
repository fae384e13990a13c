#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Seeds the demo once: a local CA (generated at first start), RA Profile
# 'demo', CMP Profile 'demo' (MAC-protected requests, signed responses, a
# random shared secret), and writes $VAR_DIR/demo.env for scripts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$VAR_DIR/demo"
DATABASE_URL=$(bash "$ROOT_DIR/scripts/pg.sh" url)
export DATABASE_URL CMP_SECRET_KEY_FILE="$VAR_DIR/secret.key"
CMPADM="$BUILD_DIR/cmpadm"
mkdir -p "$D"

# The key that encrypts secrets and private keys at rest.
if [ ! -f "$VAR_DIR/secret.key" ]; then
  (umask 077; openssl rand -hex 32 > "$VAR_DIR/secret.key")
fi

if [ ! -f "$D/ca.pem" ]; then
  (umask 077
   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/ca.key"
   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/signer.key"
   openssl rand -base64 18 | tr -d '\n' > "$D/secret.txt")
  openssl req -x509 -new -key "$D/ca.key" -subj "/O=mod_cmp demo/CN=mod_cmp Demo CA" \
      -days 3650 -out "$D/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -key "$D/signer.key" -subj "/O=mod_cmp demo/CN=mod_cmp Demo CMP Signer" \
      -out "$D/signer.csr" 2>/dev/null
  openssl x509 -req -in "$D/signer.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" \
      -CAcreateserial -days 1825 -out "$D/signer.pem" \
      -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=1.3.6.1.5.5.7.3.28\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n') 2>/dev/null
  rm -f "$D/signer.csr"
fi

exists() { psql -X -At "$DATABASE_URL" -c "SELECT 1 FROM $1 WHERE name = 'demo'" | grep -q 1; }
if ! exists authority; then
  "$CMPADM" authority name=demo description="Demo local CA" cert="$D/ca.pem" key="$D/ca.key" >/dev/null
fi
if ! exists ra_profile; then
  "$CMPADM" ra-profile name=demo description="Demo RA Profile" authority=demo \
      enabled=true validity_days=365 key_usage="critical,digitalSignature,keyEncipherment" \
      extended_key_usage="clientAuth,serverAuth" >/dev/null
fi
if ! exists cmp_profile; then
  cred=$("$CMPADM" signing-credential cert="$D/signer.pem" chain="$D/ca.pem" key="$D/signer.key")
  echo "$cred" > "$D/signer.uuid"
  "$CMPADM" cmp-profile name=demo description="Demo CMP Profile" enabled=true \
      default_ra_profile=demo request_protection=shared_secret \
      response_protection=signature shared_secret="$D/secret.txt" \
      signing_credential="$cred" >/dev/null
  psql -X -q "$DATABASE_URL" -c "UPDATE ra_profile SET cmp_profile_id = (SELECT id FROM cmp_profile WHERE name = 'demo') WHERE name = 'demo'"
fi

# The admin API's demo credentials (Basic auth over HTTPS).
if [ ! -f "$VAR_DIR/admin.password" ]; then
  (umask 077; openssl rand -hex 12 > "$VAR_DIR/admin.password")
  htpasswd -bcB "$VAR_DIR/admin.htpasswd" admin "$(cat "$VAR_DIR/admin.password")" 2>/dev/null
  chmod 644 "$VAR_DIR/admin.htpasswd"
fi

cat > "$VAR_DIR/demo.env" <<ENV
CMP_BASE_URL=http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp
CMP_URL=http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/demo
CMP_RA_URL=http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/raProfile/demo
CMP_WELL_KNOWN_URL=http://127.0.0.1:$HTTP_PORT/.well-known/cmp/p/demo
CMP_REF=demo
CMP_SECRET_FILE=$D/secret.txt
CA_CERT_FILE=$D/ca.pem
ADMIN_URL=https://127.0.0.1:$HTTPS_PORT/api/v1
ADMIN_UI_URL=https://127.0.0.1:$HTTPS_PORT/ui/
ADMIN_USER=admin
ADMIN_PASSWORD_FILE=$VAR_DIR/admin.password
ADMIN_CA_FILE=$VAR_DIR/tls/server.pem
DATABASE_URL=$DATABASE_URL
ENV
chmod 600 "$VAR_DIR/demo.env"
