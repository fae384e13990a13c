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
      -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=1.3.6.1.5.5.7.3.28,1.3.6.1.5.5.7.3.32\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n') 2>/dev/null
  rm -f "$D/signer.csr"
fi

# The demo objects, made through the admin API's own code (cmpadm).
ca=$(adm_uuid /authorities demo)
if [ -z "$ca" ]; then
  ca=$(jq -n --rawfile c "$D/ca.pem" --rawfile k "$D/ca.key" \
         '{name: "demo", description: "Demo local CA", certificate: $c, privateKey: $k}' \
       | adm POST /authorities - | jq -r .uuid)
fi
ra=$(adm_uuid /raProfiles demo)
if [ -z "$ra" ]; then
  ra=$(adm POST "/authorities/$ca/raProfiles" '{"name": "demo", "description": "Demo RA Profile",
         "validityDays": 365, "keyUsage": ["digitalSignature", "keyEncipherment"],
         "extendedKeyUsage": ["clientAuth", "serverAuth"]}' | jq -r .uuid)
  adm PATCH "/authorities/$ca/raProfiles/$ra/enable" >/dev/null
fi
# The demo takes rr protected with its shared secret too (allowMacRevocation),
# so that the quick start can revoke with the secret it enrolled with.
if [ -z "$(adm_uuid /cmpProfiles demo)" ]; then
  cred=$(jq -n --rawfile c <(cat "$D/signer.pem" "$D/ca.pem") --rawfile k "$D/signer.key" \
           '{certificate: $c, privateKey: $k}' \
         | adm POST /cmpProfiles/signingCertificates - | jq -r .uuid)
  echo "$cred" > "$D/signer.uuid"
  cmp=$(jq -n --rawfile s "$D/secret.txt" --arg cred "$cred" --arg ra "$ra" \
          '{name: "demo", description: "Demo CMP Profile", variant: "v2",
            requestProtectionMethod: "sharedSecret", sharedSecret: $s,
            responseProtectionMethod: "signature", signingCertificateUuid: $cred,
            raProfileUuid: $ra, allowMacRevocation: true}' \
        | adm POST /cmpProfiles - | jq -r .uuid)
  adm PATCH "/cmpProfiles/$cmp/enable" >/dev/null
  adm PATCH "/authorities/$ca/raProfiles/$ra/protocols/cmp/activate/$cmp" >/dev/null
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
