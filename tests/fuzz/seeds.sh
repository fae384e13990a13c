#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Writes the checked-in seed corpus of the fuzz targets (tests/fuzz/corpus/),
# run by hand when a new kind of message should be in it; make fuzz and
# make test use what is checked in. The requests are real: fuzz_server's
# start runs one session of every kind through the core against a scratch
# PostgreSQL with the demo profiles (build/fuzz/seedvar) and writes each
# request, with hostile variants.
#   bash tests/fuzz/seeds.sh      (after make testbins)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=$ROOT/tests/fuzz/corpus
export VAR_DIR=$ROOT/build/fuzz/seedvar PG_PORT=${FUZZ_PG_PORT:-55439}
export HTTP_PORT=18990 HTTPS_PORT=18991
. "$ROOT/tests/fuzz/db.sh"
. "$ROOT/scripts/lib.sh"
fuzz_db_start
trap fuzz_db_stop EXIT
export DATABASE_URL CMP_SECRET_KEY_FILE=$VAR_DIR/secret.key
rm -rf "$C/fuzz_server" "$C/fuzz_request" "$C/fuzz_keys" "$C/fuzz_admin" "$C/fuzz_ocsp"
mkdir -p "$C/fuzz_server" "$C/fuzz_request" "$C/fuzz_keys" "$C/fuzz_admin" "$C/fuzz_ocsp"
CMP_FUZZ_SEEDS_OUT=$C/fuzz_server "$BUILD_DIR/replay/fuzz_server" >/dev/null
# fuzz_request: the same requests (and variants) without the harness's mode byte
for f in "$C"/fuzz_server/*; do
  b=$(basename "$f")
  tail -c +2 "$f" >"$C/fuzz_request/${b#??-}"
done
# requests no client of the seed run sends, made by the integration tests
# (tests/fuzz/extra: an ir whose POP is an encrypted private key, t_25)
cp "$ROOT"/tests/fuzz/extra/fuzz_request/* "$C/fuzz_request/"
# fuzz_keys: "\0" + a SubjectPublicKeyInfo, "\1" + a MAC protectionAlg
w=$(mktemp -d)
for k in "EC -pkeyopt ec_paramgen_curve:P-256" \
         "EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:explicit" \
         "RSA -pkeyopt rsa_keygen_bits:2048" "ED25519" "X448"; do
  n=$(echo "$k" | tr -c 'A-Za-z0-9' _)
  # shellcheck disable=SC2086
  openssl genpkey -algorithm $k -out "$w/k.pem" 2>/dev/null
  { printf '\0'; openssl pkey -in "$w/k.pem" -pubout -outform DER; } >"$C/fuzz_keys/spki-$n"
done
rm -rf "$w"
ir=$(ls "$C"/fuzz_request/ir-* | head -1)
line=$(openssl asn1parse -inform DER -in "$ir" | grep -A1 'd=2 .*cont \[ 1 \]' | tail -1)
off=$(echo "$line" | sed 's/^ *\([0-9]*\):.*/\1/')
hl=$(echo "$line" | sed 's/.*hl= *\([0-9]*\).*/\1/')
l=$(echo "$line" | sed 's/.* l= *\([0-9]*\).*/\1/')
{ printf '\1'; tail -c +$((off + 1)) "$ir" | head -c $((hl + l)); } >"$C/fuzz_keys/mac-pbm"
# fuzz_admin: path, query and JSON body, NUL-separated
printf '%s\0%s\0%s' /authorities/00000000-0000-0000-0000-000000000000/raProfiles '' \
  '{"name":"p1","validityDays":30,"allowedKeyTypes":["RSA","EC"],"allowedEcCurves":["P-256","sect571r1"],"minSecurityBits":128,"keyUsage":["digitalSignature","keyAgreement"],"extendedKeyUsage":["serverAuth","1.3.6.1.5.5.7.3.2"],"subjectPattern":"^CN=.*$","allowSubjectAltName":false}' \
  >"$C/fuzz_admin/ra"
printf '%s\0%s\0%s' /certificates 'status=valid&serial=%7a&offset=10&limit=5&subject=a%20b' '' >"$C/fuzz_admin/query"
printf '%s\0%s\0%s' /cmpProfiles '' '{"name":"x","variant":"v2","sharedSecret":"s","confirmTimeout":60}' >"$C/fuzz_admin/cmp"
# the GET routes with the demo objects' uuids (fuzz_admin dispatches GETs)
ca=$(adm_uuid /authorities demo) ra=$(adm_uuid /raProfiles demo) cmpp=$(adm_uuid /cmpProfiles demo)
cert=$(adm GET /certificates | jq -r '.certificates[0].uuid')
n=0
for q in "/authorities" "/authorities/$ca" "/statistics/cmpRefusals" \
         "/certificates" "/certificates/$cert" "/auditLogs" "/cmpProfiles" "/cmpProfiles/$cmpp" \
         "/raProfiles" "/authorities/$ca/raProfiles" "/authorities/$ca/raProfiles/$ra" \
         "/authorities/$ca/raProfiles/$ra/protocols/cmp" "/openapi.json" \
         "/cmpProfiles/signingCertificates" \
         "/certificates?status=revoked&limit=2&offset=0&expiresAfter=2030-01-01T00:00:00Z&sort=serial" \
         "/auditLogs?limit=3&offset=1" "/certificates?subject=CN%3Dfuzz&raProfileUuid=$ra"; do
  printf '%s\0%s\0' "${q%%\?*}" "$(case $q in *\?*) echo "${q#*\?}" ;; esac)" >"$C/fuzz_admin/get-$n"
  n=$((n + 1))
done
bash "$ROOT/tests/fuzz/seeds-ocsp.sh" "$CA_CERT_FILE" "$C/fuzz_ocsp"
for t in fuzz_server fuzz_request fuzz_keys fuzz_admin fuzz_ocsp; do
  echo "seeds: $t $(ls "$C/$t" | wc -l)"
done
