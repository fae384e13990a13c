# SPDX-License-Identifier: Apache-2.0
# Helpers of the integration tests; sourced by run.sh and the t_*.sh files.

. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"   # adm, adm_uuid

PASSED=0
FAILED=0
FAILED_NAMES=()

# run_test NAME FUNCTION: one test; its output goes to the log, a line to stdout.
# The test runs outside any condition: bash ignores set -e in the body of an
# `if`, which would let every assertion but the last one pass silently.
run_test() {
  local name=$1 fn=$2 rc from
  echo "=== $name" >>"$LOG"
  from=$(($(wc -l <"$LOG") + 1))
  ( set -eE; trap 'echo "stopped at: $BASH_COMMAND (exit $?)"' ERR; "$fn" ) >>"$LOG" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    PASSED=$((PASSED + 1)); echo "PASS $name"
  else
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name"); echo "FAIL $name"
    # the end of what it printed, so that a CI log alone shows why
    tail -n +"$from" "$LOG" | tail -n 25 | sed 's/^/    | /'
  fi
}

fail() { echo "assertion failed: $*"; return 1; }

sql() { psql -X -At -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }

newkey() {   # newkey FILE TYPE
  case "$2" in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$1" ;;
  esac
}

# cmp ARGS...: openssl cmp, its output kept in $T/last.out
# openssl cmp; an enrollment without -certout gets one: without it openssl
# refuses to start, and a test of a refusal would test nothing.
cmp() {
  local a out=(-certout "$T/unused-cert.pem")
  for a in "$@"; do
    case "$a" in -certout) out=() ;; esac
  done
  case " $* " in *" -cmd ir "*|*" -cmd cr "*|*" -cmd kur "*|*" -cmd p10cr "*) ;; *) out=() ;; esac
  local rc=0
  openssl cmp "$@" "${out[@]}" >"$T/last.out" 2>&1 || rc=$?
  cat "$T/last.out"
  return $rc
}

# MAC-protected request to the demo CMP Profile at URL
mac_args() { echo "-ref $CMP_REF -secret file:$CMP_SECRET_FILE -trusted $CA_CERT_FILE"; }

expect_output() { grep -q -- "$1" "$T/last.out" || fail "output lacks '$1'"; }

# cmp_files A B: the two files hold the same bytes (`cmp` is the openssl cmp wrapper)
cmp_files() { command cmp -s "$1" "$2"; }

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'; }

cert_status() { sql "SELECT status FROM certificate WHERE serial = '$(serial_of "$1")'"; }

cert_count() { sql "SELECT count(*) FROM certificate"; }

verify_cert() {   # verify_cert CERT CA
  openssl verify -CAfile "$2" "$1" | grep -q ': OK' || fail "$1 does not verify against $2"
}

post() {   # post URL FILE [content-type] -> prints HTTP status, body in $T/resp.der
  curl -s -o "$T/resp.der" -w '%{http_code}' -H "Content-Type: ${3:-application/pkixcmp}" \
       --data-binary @"$2" "$1"
}

# resp_status FILE: the OCSPResponseStatus of a DER response, lower case
# (openssl prints an error status as "Responder Error: name (n)")
resp_status() {
  { openssl ocsp -respin "$1" -resp_text -noverify 2>&1 || true; } \
    | sed -n -e 's/.*OCSP Response Status: \([a-zA-Z]*\).*/\1/p' -e 's/^Responder Error: \([a-zA-Z]*\).*/\1/p' \
    | head -1 | tr 'A-Z' 'a-z'
}

# pbm_params FILE: the PBMParameter (salt, OWF, iterationCount, MAC) of a
# PKIMessage's protectionAlg, one field per line
pbm_params() {
  openssl asn1parse -inform DER -in "$1" \
    | awk '/password based MAC/ && !done {on = 1; next}
           on { sub(/^ *[0-9]+:d=[0-9]+ +hl=[0-9]+ +l= *[0-9]+ /, ""); print }
           on && /hmac|HMAC/ { on = 0; done = 1 }'
}

# hexof FILE: its bytes as one line of lower-case hex; unhex: the reverse,
# stdin to stdout (coreutils and bash only: no xxd on a fresh Debian 13)
hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }
unhex() { local h; h=$(tr -d ' \n'); printf '%b' "$(sed 's/../\\x&/g' <<<"$h")"; }

# fixture_post FIXTURE OUT: a request an OpenSSL client wrote once (any
# secret), with a fresh transactionID and messageTime, MACed again with the
# demo's secret as OUT and posted to the demo profile; prints the answer as
# cmpmutate -show does (the answer itself in $T/resp.der)
fixture_post() {
  "$BUILD/cmpmutate" -in "$1" -out "$2" -secret "$(cat "$CMP_SECRET_FILE")" -kid demo -time +0 \
      -tid "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" "${@:3}"
  [ "$(post "$CMP_URL" "$2")" = 200 ] || fail "HTTP $(head -c 200 "$T/resp.der")"
  "$BUILD/cmpmutate" -show "$T/resp.der"
}

resp_text() { openssl asn1parse -inform DER -in "$T/resp.der" 2>/dev/null | grep UTF8STRING; }

as_superuser() {   # SQL (or - for stdin) as the cluster's superuser, over the private socket, in $AS_DB
  local run=$VAR_DIR/pg/run what=(-c "$1")
  [ "$1" = - ] && what=(-f -)
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- psql -X -At -h "$run" -p "$PG_PORT" -U postgres -d "${AS_DB:-cmp}" "${what[@]}"
  else
    psql -X -At -h "$run" -p "$PG_PORT" -U postgres -d "${AS_DB:-cmp}" "${what[@]}"
  fi
}

# api METHOD PATH [JSON] [extra curl args...]: the admin API of node 1;
# status in $T/api.status, body in $T/api.json; prints the status.
api() {
  local m=$1 path=$2 data=${3:-}
  shift 3 2>/dev/null || shift $#
  local args=(-s -o "$T/api.json" -w '%{http_code} %{size_download}' --cacert "$ADMIN_CA_FILE"
              -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" -X "$m")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  local out status size
  out=$(curl "${args[@]}" "$@" "${ADMIN_BASE:-$ADMIN_URL}$path")
  status=${out% *} size=${out##* }
  printf '%s' "$status" | tee "$T/api.status"
  # kept for check_openapi_responses (the admin API under /api/v1 only); an
  # empty body leaves api.json as it was
  if [ -z "${ADMIN_BASE:-}" ] && [ -n "${API_LOG:-}" ]; then
    if [ "$size" = 0 ]; then
      jq -nc --arg m "$m" --arg p "$path" --arg s "$status" \
         '{method: $m, path: $p, status: ($s | tonumber? // 0), body: ""}'
    else
      jq -nc --arg m "$m" --arg p "$path" --arg s "$status" --rawfile b "$T/api.json" \
         '{method: $m, path: $p, status: ($s | tonumber? // 0), body: $b}'
    fi >>"$API_LOG" 2>/dev/null || true
  fi
}

# Every admin API response the tests kept (API_LOG) validates against the
# OpenAPI document the module serves: a documented status, a body of its
# schema (tests/browser/openapi-check.mjs, ajv).
check_openapi_responses() {
  [ -s "$API_LOG" ] || { echo "no API response was kept"; return 0; }
  (cd "$ROOT/tests/browser" && bash node.sh openapi-check.mjs "$ROOT/mod_cmp_admin/openapi.json" "$API_LOG")
}

# readme_block NAME FILE: the shell block of README.md between
# <!-- NAME:start --> and <!-- NAME:end --> (without its fences) into FILE.
readme_block() {
  sed -n "/<!-- $1:start -->/,/<!-- $1:end -->/p" "$ROOT/README.md" | sed '1,2d;$d' | sed '$d' >"$2"
}

jf() { jq -r "$1" "$T/api.json"; }   # a field of the last API answer

expect_status() {   # expect_status CODE METHOD PATH [JSON]
  local want=$1; shift
  local got; got=$(api "$@")
  [ "$got" = "$want" ] || fail "$1 $2 gave $got, wanted $want: $(head -c 300 "$T/api.json")"
}

# ---- fixtures: what a test needs, made through the admin API's own code ----

# fx_cert NAME [ec|rsa|ed25519 [openssl cmp options...]]: a fresh key
# $T/NAME.key and its certificate $T/NAME.pem, enrolled by an ir to the demo
# CMP Profile (the options added, e.g. -reqout), for a test that needs a
# certificate to start from.
fx_cert() {
  local n=$1 kt=${2:-ec}
  shift
  if [ $# -gt 0 ]; then shift; fi
  newkey "$T/$n.key" "$kt"
  openssl cmp -cmd ir -server "$CMP_URL" $(mac_args) -newkey "$T/$n.key" -subject "/CN=$n" \
      -certout "$T/$n.pem" "$@" >"$T/fx-$n.out" 2>&1 \
    || { cat "$T/fx-$n.out"; fail "fixture: $n not enrolled"; }
}

# fx_rsaca_cert NAME: the same from the RSA CA's CMP Profile 'rsa'.
fx_rsaca_cert() {
  newkey "$T/$1.key" ec
  openssl cmp -cmd ir -server "$BASE/rsa" -ref rsa -secret "file:$T/fx/rsa-secret.txt" \
      -trusted "$T/fx/rsaca.pem" -newkey "$T/$1.key" -subject "/CN=$1" -certout "$T/$1.pem" \
      >"$T/fx-$1.out" 2>&1 || { cat "$T/fx-$1.out"; fail "fixture: $1 not enrolled"; }
}

# fx_revoked NAME: fx_cert, then revoked (MAC-protected rr).
fx_revoked() {
  fx_cert "$1"
  openssl cmp -cmd rr -server "$CMP_URL" $(mac_args) -oldcert "$T/$1.pem" >"$T/fx-$1.out" 2>&1 \
    || { cat "$T/fx-$1.out"; fail "fixture: $1 not revoked"; }
}

# fx_ra_profile AUTHORITY_UUID JSON [enable]: a new RA Profile; prints its uuid.
fx_ra_profile() {
  local u
  u=$(adm POST "/authorities/$1/raProfiles" "$2" | jq -r .uuid)
  if [ "${3:-}" = enable ]; then adm PATCH "/authorities/$1/raProfiles/$u/enable" >/dev/null; fi
  echo "$u"
}

# fx_cmp_profile JSON [enable [AUTHORITY_UUID/raProfiles/RA_UUID]]: a new CMP
# Profile (v2, shared-secret requests, signed responses unless JSON says
# otherwise), enabled and activated on that RA Profile when asked; prints
# its uuid.
fx_cmp_profile() {
  local u
  u=$(jq -c '{variant: "v2", requestProtectionMethod: "sharedSecret",
              responseProtectionMethod: "signature"} + .' <<<"$1" \
      | adm POST /cmpProfiles - | jq -r .uuid)
  if [ "${2:-}" = enable ]; then adm PATCH "/cmpProfiles/$u/enable" >/dev/null; fi
  if [ -n "${3:-}" ]; then adm PATCH "/authorities/$3/protocols/cmp/activate/$u" >/dev/null; fi
  echo "$u"
}

# fx_demo_secret JQ_OBJECT [RA_UUID [SIGNER_UUID]]: a CMP Profile body with
# the demo's shared secret; the object may use $ra and $sig.
fx_demo_secret() {
  jq -n --rawfile s "$CMP_SECRET_FILE" --arg ra "${2:-}" --arg sig "${3:-}" "$1 + {sharedSecret: \$s}"
}

# empty_instance_start DIR HTTP_PORT HTTPS_PORT DBNAME: a database of that
# name with the schema only (dropped first), and its own httpd under DIR
# (its demo.env, the same TLS, secret key and admin password); prints the
# database URL. empty_instance_stop DIR stops the httpd.
empty_instance_start() {
  local E=$1 HP=$2 SP=$3 db=$4 url
  rm -rf "$E"; mkdir -p "$E"
  pg_admin() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql -X -q -h "$VAR_DIR/pg/run" -p "$PG_PORT" -U postgres "$@"
    else psql -X -q -h "$VAR_DIR/pg/run" -p "$PG_PORT" -U postgres "$@"; fi
  }
  pg_admin -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  pg_admin -d postgres -c "CREATE DATABASE $db OWNER cmp" >/dev/null
  pg_admin -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null
  url=${DATABASE_URL%/cmp}/$db
  PGOPTIONS="-c client_min_messages=warning" bash "$ROOT/scripts/db-migrate.sh" "$url" >/dev/null
  [ "$(psql -X -At "$url" -c 'SELECT count(*) FROM authority')" = 0 ] || { echo "not empty" >&2; return 1; }
  ln -s "$VAR_DIR/secret.key" "$E/secret.key"
  ln -s "$VAR_DIR/tls" "$E/tls"
  cp "$VAR_DIR/admin.htpasswd" "$VAR_DIR/admin.password" "$E/"
  cat >"$E/demo.env" <<ENV
CMP_BASE_URL=http://127.0.0.1:$HP/api/v1/protocols/cmp
ADMIN_URL=https://127.0.0.1:$SP/api/v1
ADMIN_UI_URL=https://127.0.0.1:$SP/ui/
ADMIN_USER=admin
ADMIN_PASSWORD_FILE=$E/admin.password
ADMIN_CA_FILE=$E/tls/server.pem
ENV
  VAR_DIR=$E HTTPD_INSTANCE=httpd HTTP_PORT=$HP HTTPS_PORT=$SP CMP_DATABASE_URL=$url \
      bash "$ROOT/scripts/httpd.sh" start >&2
  echo "$url"
}

empty_instance_stop() { VAR_DIR=$1 HTTPD_INSTANCE=httpd bash "$ROOT/scripts/httpd.sh" stop >&2; }
