#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration tests: a real PostgreSQL and two real httpd instances loading the
# freshly built modules, driven by `openssl cmp`, curl and tests/tools/cmpclient.
# Runs on its own ports and VAR_DIR, so a `make run` demo can stay up.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export VAR_DIR=${TEST_VAR_DIR:-$ROOT/tests/out/var}
export HTTP_PORT=${TEST_HTTP_PORT:-18080} HTTPS_PORT=${TEST_HTTPS_PORT:-18443}
export PG_PORT=${TEST_PG_PORT:-55433}
HTTP2_PORT=$((HTTP_PORT + 1)) HTTPS2_PORT=$((HTTPS_PORT + 1))
T=$ROOT/tests/out/work
LOG=$ROOT/tests/out/integration.log
BUILD=${BUILD_DIR:-$ROOT/build}   # build/san for make sancheck
export BUILD_DIR=$BUILD
# every admin API response the tests see (api() here, the browser tests),
# checked against openapi.json at the end (check_openapi_responses)
API_LOG=$T/api-responses.jsonl
export T LOG API_LOG

. "$ROOT/tests/integration/lib.sh"

stop_all() {
  HTTPD_INSTANCE=httpd3 HTTP_PORT=$((HTTP_PORT + 2)) HTTPS_PORT=$((HTTPS_PORT + 2)) \
      bash "$ROOT/scripts/httpd.sh" stop
  HTTPD_INSTANCE=httpd2 HTTP_PORT=$HTTP2_PORT HTTPS_PORT=$HTTPS2_PORT bash "$ROOT/scripts/httpd.sh" stop
  bash "$ROOT/scripts/httpd.sh" stop
  bash "$ROOT/scripts/pg.sh" stop
}

setup() {
  stop_all 2>/dev/null
  rm -rf "$VAR_DIR" "$T"
  mkdir -p "$T" "$VAR_DIR"
  : >"$LOG"
  bash "$ROOT/scripts/pg.sh" start >>"$LOG" 2>&1 || return 1
  bash "$ROOT/scripts/demo.sh" >>"$LOG" 2>&1 || return 1
  # shellcheck disable=SC1091
  . "$VAR_DIR/demo.env"
  export CMP_URL CMP_RA_URL CMP_WELL_KNOWN_URL CMP_REF CMP_SECRET_FILE CA_CERT_FILE DATABASE_URL
  export ADMIN_URL ADMIN_USER ADMIN_PASSWORD_FILE ADMIN_CA_FILE CMP_BASE_URL
  export CMP_SECRET_KEY_FILE="$VAR_DIR/secret.key"
  BASE="http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp"
  BASE2="http://127.0.0.1:$HTTP2_PORT/api/v1/protocols/cmp"
  export BASE BASE2
  fixtures >>"$LOG" 2>&1 || return 1
  bash "$ROOT/scripts/httpd.sh" start >>"$LOG" 2>&1 || return 1
  HTTPD_INSTANCE=httpd2 HTTP_PORT=$HTTP2_PORT HTTPS_PORT=$HTTPS2_PORT \
      bash "$ROOT/scripts/httpd.sh" start >>"$LOG" 2>&1 || return 1
}

# Profiles beyond the demo: an RSA CA with MAC-protected responses, a profile
# for signed requests trusting a manufacturer CA, a strict policy, disabled
# and half-configured profiles.
fixtures() {
  set -e
  local F=$T/fx
  mkdir -p "$F"
  # RSA CA
  newkey "$F/rsaca.key" rsa
  openssl req -x509 -new -key "$F/rsaca.key" -subj "/CN=Test RSA CA" -days 365 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$F/rsaca.pem"
  # manufacturer CA and a device's IDevID
  newkey "$F/mfg.key" ec
  openssl req -x509 -new -key "$F/mfg.key" -subj "/CN=Test Manufacturer CA" -days 365 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
      -out "$F/mfg.pem"
  newkey "$F/idevid.key" ec
  openssl req -new -key "$F/idevid.key" -subj "/CN=idevid-0001" -out "$F/idevid.csr"
  openssl x509 -req -in "$F/idevid.csr" -CA "$F/mfg.pem" -CAkey "$F/mfg.key" -CAcreateserial \
      -days 365 -out "$F/idevid.pem" \
      -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectKeyIdentifier=hash\n')
  # a self-signed stranger
  newkey "$F/stranger.key" ec
  openssl req -x509 -new -key "$F/stranger.key" -subj "/CN=stranger" -days 30 \
      -addext "subjectKeyIdentifier=hash" -out "$F/stranger.pem"
  printf 'rsa-secret-%s' "$RANDOM" >"$F/rsa-secret.txt"

  local ca ra rsa_ca rsa_ra strict_ra raoff_ra off signer
  ca=$(adm_uuid /authorities demo)
  ra=$(adm_uuid /raProfiles demo)
  signer=$(cat "$VAR_DIR/demo/signer.uuid")
  rsa_ca=$(jq -n --rawfile c "$F/rsaca.pem" --rawfile k "$F/rsaca.key" \
             '{name: "rsaca", certificate: $c, privateKey: $k}' | adm POST /authorities - | jq -r .uuid)
  rsa_ra=$(fx_ra_profile "$rsa_ca" '{"name": "rsa", "validityDays": 30}' enable)
  fx_cmp_profile "$(jq -n --rawfile s "$F/rsa-secret.txt" --arg ra "$rsa_ra" \
      '{name: "rsa", sharedSecret: $s, raProfileUuid: $ra, responseProtectionMethod: "sharedSecret"}')" \
      enable "$rsa_ca/raProfiles/$rsa_ra"

  fx_cmp_profile "$(jq -n --rawfile ta "$F/mfg.pem" --arg ra "$ra" --arg sig "$signer" \
      '{name: "sig", requestProtectionMethod: "signature", trustAnchors: $ta,
        signingCertificateUuid: $sig, raProfileUuid: $ra}')" enable

  strict_ra=$(fx_ra_profile "$ca" '{"name": "strict", "validityDays": 7, "allowedKeyTypes": ["EC"],
      "subjectPattern": "^CN=dev-[0-9]+$", "allowSubjectAltName": false}' enable)
  fx_cmp_profile "$(fx_demo_secret '{name: "strict", signingCertificateUuid: $sig, raProfileUuid: $ra}' \
      "$strict_ra" "$signer")" enable "$ca/raProfiles/$strict_ra"

  off=$(fx_cmp_profile "$(fx_demo_secret '{name: "off", signingCertificateUuid: $sig, raProfileUuid: $ra}' \
      "$ra" "$signer")")
  fx_cmp_profile "$(fx_demo_secret '{name: "nodefault", responseProtectionMethod: "sharedSecret"}')" enable
  raoff_ra=$(fx_ra_profile "$ca" '{"name": "raoff"}')
  adm PATCH "/authorities/$ca/raProfiles/$raoff_ra/protocols/cmp/activate/$off" >/dev/null
  fx_cmp_profile "$(fx_demo_secret '{name: "viaraoff", responseProtectionMethod: "sharedSecret",
      raProfileUuid: $ra}' "$raoff_ra")" enable
  fx_cmp_profile "$(fx_demo_secret '{name: "fast", responseProtectionMethod: "sharedSecret",
      raProfileUuid: $ra, confirmTimeout: 1}' "$ra")" enable
  set +e
}

# The error logs must hold nothing worse than our own info lines.
check_error_logs() {
  local bad
  bad=$(cat "$VAR_DIR"/httpd*/error.log | grep -E ':(error|crit|alert|emerg)\]|Segmentation|exit signal|AddressSanitizer|double free|free\(\): ' \
        | grep -v 'mod_ssl was compiled against a newer library' \
        | grep -v 'AH01617: user admin: authentication failure' \
        | grep -Ev 'AH01630: client denied by server configuration: (.*/some-static-file.txt|cmp:/ocsp/locked)$') || true
  if [ -n "$bad" ]; then echo "$bad"; return 1; fi
}

main() {
  if ! setup; then
    echo "integration: setup failed; see $LOG" >&2
    tail -40 "$LOG" >&2
    stop_all >/dev/null 2>&1
    echo "0 passed, 1 failed"
    exit 1
  fi
  local f
  # ONLY=<glob>: just the test files whose names match (while developing)
  for f in "$ROOT"/tests/integration/t_*.sh; do
    # shellcheck disable=SC2254
    case $(basename "$f") in ${ONLY:-*}) ;; *) continue ;; esac
    # shellcheck disable=SC1090
    . "$f"
  done
  run_test "every admin API response the tests saw validates against openapi.json" check_openapi_responses
  run_test "error logs hold no unexpected errors" check_error_logs
  for f in "$ROOT"/tests/integration/last_*.sh; do
    # shellcheck disable=SC2254
    case $(basename "$f") in ${ONLY:-*}) ;; *) continue ;; esac
    # shellcheck disable=SC1090
    . "$f"
  done
  stop_all >/dev/null 2>&1
  if [ "$FAILED" -gt 0 ]; then
    echo "failed: ${FAILED_NAMES[*]} (details in $LOG)"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

main "$@"
