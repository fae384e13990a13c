#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench [QUICK=1]: enrollment throughput, latency and server CPU per
# enrollment of mod_cmp (httpd + PostgreSQL) beside OpenSSL's mock CMP server
# (`openssl cmp -port`), on this machine. Runs its own instance (ports 28080,
# 28443, 55434; tests/out/bench-var), so a demo can stay up.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export VAR_DIR=${BENCH_VAR_DIR:-$ROOT/tests/out/bench-var}
export HTTP_PORT=${BENCH_HTTP_PORT:-28080} HTTPS_PORT=${BENCH_HTTPS_PORT:-28443}
export PG_PORT=${BENCH_PG_PORT:-55434}
MOCK_PORT=${BENCH_MOCK_PORT:-28090}
QUICK=${QUICK:-}
SECS=${BENCH_SECONDS:-20}
BENCH=$ROOT/build/cmpbench
OUT=$ROOT/tests/out/bench
mkdir -p "$OUT"
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
SERVER_CPU=0
LOAD_CPU=$(( NCPU > 1 ? 1 : 0 ))

log() { echo "bench: $*" >&2; }
platform() {
  echo "$(. /etc/os-release && echo "$PRETTY_NAME"), $(openssl version | cut -d' ' -f1-2), PostgreSQL $(pg_config --version 2>/dev/null | awk '{print $2}' || true)"
}

# BENCH_ALSO=SUITE (trixie, bookworm): this bench here, then the same, with
# the same settings, in a Debian root of that suite (scripts/debian-root.sh;
# kept in BENCH_ROOT, default /var/tmp/mod_cmp-bench-SUITE, made on first
# use; its packages installed by scripts/deps.sh) on the same cores; then
# the summary lines of both, each with its platform
if [ -n "${BENCH_ALSO:-}" ]; then
  BENCH_ALSO= bash "$0" | tee "$OUT/here.txt"
  AROOT=${BENCH_ROOT:-/var/tmp/mod_cmp-bench-$BENCH_ALSO}
  [ -x "$AROOT/usr/bin/apt-get" ] || { log "bootstrapping a $BENCH_ALSO root in $AROOT"
                                      bash "$ROOT/scripts/debian-root.sh" bootstrap "$AROOT" "$BENCH_ALSO"; }
  bash "$ROOT/scripts/debian-root.sh" sync "$AROOT"
  settings=
  for v in QUICK BENCH_ONLY BENCH_SECONDS BENCH_ROWS BENCH_OCSP_SECONDS BENCH_RSS_REQUESTS; do
    [ -n "${!v:-}" ] && settings="$settings $v='${!v}'"
  done
  log "the same bench in the $BENCH_ALSO root ($AROOT)"
  bash "$ROOT/scripts/debian-root.sh" run "$AROOT" "bash scripts/deps.sh >/dev/null && env$settings make bench" \
    | tee "$OUT/also-$BENCH_ALSO.txt"
  echo
  for f in "$OUT/here.txt" "$OUT/also-$BENCH_ALSO.txt"; do
    sed -n 's/^platform: //p' "$f"
    grep -E '^(headline:|ocsp:|pqc:|crl-[0-9]+ |replay-)' "$f" | sed 's/^/  /'
  done
  exit 0
fi
echo "platform: $(platform)"

HTTP2_PORT=$((HTTP_PORT + 1)) HTTPS2_PORT=$((HTTPS_PORT + 1))
# a second node: another httpd on the same database
node2() { HTTPD_INSTANCE=httpd2 HTTP_PORT=$HTTP2_PORT HTTPS_PORT=$HTTPS2_PORT \
              bash "$ROOT/scripts/httpd.sh" "$1"; }
node_pids() { pgrep -f "$VAR_DIR/$1/httpd.conf" || true; }
pg_pids() { [ -f "$VAR_DIR/pg/data/postmaster.pid" ] || return 0
            local pm; pm=$(head -1 "$VAR_DIR/pg/data/postmaster.pid"); echo "$pm"; pgrep -P "$pm" || true; }
pin() {   # pin CPUS PIDS...
  local cpus=$1 p; shift
  for p in "$@"; do taskset -a -cp "$cpus" "$p" >/dev/null 2>&1 || true; done
}

cleanup() {
  [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null || true
  [ -n "${OCSP_PID:-}" ] && kill "$OCSP_PID" 2>/dev/null || true
  node2 stop >/dev/null 2>&1 || true
  bash "$ROOT/scripts/httpd.sh" stop >/dev/null 2>&1 || true
  bash "$ROOT/scripts/pg.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

server_pids() { pgrep -f "$VAR_DIR/httpd/httpd.conf" || true; pgrep -u postgres -f "postgres.*$VAR_DIR" || true
                [ -f "$VAR_DIR/pg/data/postmaster.pid" ] && { local pm; pm=$(head -1 "$VAR_DIR/pg/data/postmaster.pid"); echo "$pm"; pgrep -P "$pm" || true; } ; }

# CPU ticks (user + system) used so far by the given processes
ticks() {
  local t=0 p f
  for p in "$@"; do
    f=/proc/$p/stat
    [ -r "$f" ] || continue
    t=$(( t + $(awk '{print $14 + $15}' "$f") ))
  done
  echo "$t"
}

# CPU ticks the server's core has been busy so far (user, nice, system,
# irq, softirq of cpuN in /proc/stat): what the processes' own ticks miss,
# the softirq work of loopback TCP (with IRQ time accounting the kernel
# charges it to no process). Only the pinned server runs there.
core_ticks() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# per_tx TICKS N: milliseconds per transaction
per_tx() { awk -v d="$1" -v hz="$HZ" -v n="$2" 'BEGIN { printf "%.3f", n ? d * 1000 / hz / n : 0 }'; }

pin_server() {
  local p
  for p in $(server_pids | sort -u); do taskset -a -cp "$SERVER_CPU" "$p" >/dev/null 2>&1 || true; done
}

unpin_server() {
  local p
  for p in $(server_pids | sort -u); do taskset -a -cp "0-$((NCPU - 1))" "$p" >/dev/null 2>&1 || true; done
}

cert_count() { psql -X -At "$DATABASE_URL" -c "SELECT count(*) FROM certificate"; }

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# table FILE TITLE RATE CPU: the results of FILE (one line each: name, then
# cmpbench's fields, cpu_ms_per_tx and core_ms_per_tx), as a table; rss
# lines left out
table() {
  printf '%-36s %12s %10s %10s %10s %12s %12s\n' "$2" "$3" "p50 ms" "p99 ms" "errors" "$4" "core0 ms"
  while read -r name rest; do
    case "$name" in rss-*) continue ;; esac
    printf '%-36s %12s %10s %10s %10s %12s %12s\n' "$name" "$(field rate "$rest")" "$(field p50_ms "$rest")" \
        "$(field p99_ms "$rest")" "$(field errors "$rest")" "$(field cpu_ms_per_tx "$rest")" \
        "$(field core_ms_per_tx "$rest")"
  done <"$1"
}

once() {   # once NAME NEW_ROWS OK: the database holds each enrollment once
  [ "$2" = "$3" ] || { log "$1: the database holds $2 new certificates for $3 enrollments"; exit 1; }
}

# run_full NAME ARGS...: a full-mode run; each certificate received must be
# in the database exactly once
run_full() {
  local name=$1 line found; shift
  line=$("$BENCH" -mode full -trusted "$CA" -serials "$OUT/serials.txt" "$@")
  tr 'A-F' 'a-f' <"$OUT/serials.txt" | sed 's/^0*//' >"$OUT/serials.lc"
  found=$(psql -X -At "$DATABASE_URL" <<SQL | tail -1
CREATE TEMP TABLE got (serial text);
\\copy got FROM '$OUT/serials.lc'
SELECT count(*) FROM (SELECT g.serial FROM got g JOIN certificate c ON c.serial = g.serial
                      GROUP BY g.serial HAVING count(*) = 1) once;
SQL
)
  [ "$found" = "$(field ok "$line")" ] && [ "$found" = "$(wc -l <"$OUT/serials.lc")" ] \
    || { log "$name: only $found of $(field ok "$line") certificates found once"; exit 1; }
  echo "$name $line"
}

# run_replay NAME URL SECRET CLIENTS PIDS...: prints the cmpbench line + cpu
run_replay() {
  local name=$1 url=$2 secret=$3 clients=$4; shift 4
  local per=$(( (SECS * 4000) / clients + 500 ))
  local t0 t1 c0 c1 line core=
  local n0; n0=$(cert_count)
  t0=$(ticks "$@"); c0=$(core_ticks)
  local u urls=()
  for u in $url; do urls+=(-url "$u"); done
  line=$(taskset -c "${LOAD_CPUS:-$LOAD_CPU}" "$BENCH" -mode replay "${urls[@]}" $secret \
         -trusted "$CA" -clients "$clients" -seconds "$SECS" -requests "$per")
  t1=$(ticks "$@"); c1=$(core_ticks)
  local ok; ok=$(field ok "$line")
  # every enrollment answered is one new row (serials are unique); the
  # mock stores nothing
  [ -n "${NO_DB:-}" ] || once "$name" $(( $(cert_count) - n0 )) "$ok"
  # the server's core alone when the load is on the other one
  [ -n "${LOAD_CPUS:-}" ] || core=" core_ms_per_tx=$(per_tx $((c1 - c0)) "$ok")"
  echo "$name $line cpu_ms_per_tx=$(per_tx $((t1 - t0)) "$ok")$core"
}

log "starting mod_cmp (httpd + PostgreSQL) under $VAR_DIR"
bash "$ROOT/scripts/pg.sh" start >/dev/null
bash "$ROOT/scripts/demo.sh" >/dev/null
. "$VAR_DIR/demo.env"
export DATABASE_URL CMP_SECRET_KEY_FILE="$VAR_DIR/secret.key"
CA=$CA_CERT_FILE
SECRET=$(cat "$CMP_SECRET_FILE")
# the headline profile: MAC-protected requests and responses, EC P-256 CA
. "$ROOT/scripts/lib.sh"      # adm, adm_uuid: the admin API without httpd
# bench_profile NAME RA_UUID [JSON]: a CMP Profile with the demo's shared
# secret, MAC-protected both ways unless JSON says otherwise, enabled
bench_profile() {
  local u
  u=$(jq -n --rawfile s "$CMP_SECRET_FILE" --arg n "$1" --arg ra "$2" --argjson x "${3:-{\}}" \
        '{name: $n, variant: "v2", requestProtectionMethod: "sharedSecret", sharedSecret: $s,
          responseProtectionMethod: "sharedSecret", raProfileUuid: $ra} + $x' \
      | adm POST /cmpProfiles - | jq -r .uuid)
  adm PATCH "/cmpProfiles/$u/enable" >/dev/null
}
if [ -z "$(adm_uuid /cmpProfiles bench)" ]; then
  bench_profile bench "$(adm_uuid /raProfiles demo)"
fi
# every run starts on an empty certificate table (the bench instance's own
# database): the headline is the empty-table figure, the 1M-row run the other
psql -X -q "$DATABASE_URL" -c "TRUNCATE certificate, cmp_transaction, ocsp_response, pending_request" \
  -c "VACUUM ANALYZE certificate" -c "VACUUM ANALYZE cmp_transaction"
# Replay requests are made minutes before they are sent (the 1 M-request
# memory run: 15 minutes): their messageTime would be refused as too old
mkdir -p "$VAR_DIR/httpd/conf.d"
echo "CMPMessageTimeTolerance off" >"$VAR_DIR/httpd/conf.d/bench-time.conf"
bash "$ROOT/scripts/httpd.sh" start >/dev/null
URL="http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/bench"
SIG_URL="http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/demo"

# bulk_rows N: the certificate table holds at least N rows (valid ones of
# the demo Authority beyond those enrolled)
bulk_rows() {
  local rows=$1 have
  have=$(cert_count)
  if [ "$have" -lt "$rows" ]; then
    log "bulk-loading $((rows - have)) certificate rows"
    psql -X -q "$DATABASE_URL" <<SQL
INSERT INTO certificate (authority_id, serial, issuer_dn, subject_dn, not_before, not_after,
    key_type, key_fingerprint, der, status, ra_profile_id, cmp_profile_id, transaction_id)
SELECT a.id, 'b' || to_hex(g), 'CN=bulk', 'CN=bulk-' || g, now(), now() + interval '1 year',
    'EC', sha256(int8send(g)), sha256(int8send(g)), 'valid', r.id, NULL, sha256(int4send(g::int))
FROM generate_series($have, $rows - 1) g, authority a, ra_profile r
WHERE a.name = 'demo' AND r.name = 'demo';
ANALYZE certificate;
SQL
  fi
}

# crl_at N: N certificates of the demo Authority revoked (bulk rows first),
# then the time until the CRL job has made a CRL with them, what it says it
# took (crl.made_ms), its size, and the enrollments done meanwhile (full
# mode, 4 clients, the whole time: the job must not hold enrollment up)
crl_at() {
  local want=$1 have t0 t1 line made entries size
  have=$(psql -X -At "$DATABASE_URL" -c "SELECT count(*) FROM certificate c JOIN authority a ON
      a.id = c.authority_id WHERE a.name = 'demo' AND c.status IN ('revoked', 'rejected')")
  if [ "$have" -lt "$want" ]; then
    psql -X -q "$DATABASE_URL" -c "UPDATE certificate SET status = 'revoked', revoked_at = now(),
        revocation_reason = 1 WHERE id IN (SELECT id FROM certificate WHERE status = 'valid'
        AND serial LIKE 'b%' ORDER BY id LIMIT $((want - have)))"
  fi
  t0=$(date +%s.%N)
  taskset -c "$LOAD_CPU" "$BENCH" -mode full -url "$URL" -secret "$SECRET" -trusted "$CA" \
      -clients 4 -seconds 600 >"$OUT/crl-enroll.out" 2>"$OUT/crl-enroll.err" &
  local enroll=$!
  for _ in $(seq 1 1200); do
    [ "$(psql -X -At "$DATABASE_URL" -c "SELECT c.changes = c.made_at_changes FROM crl c JOIN authority a
        ON a.id = c.authority_id WHERE a.name = 'demo'")" = t ] && break
    sleep 0.25
  done
  t1=$(date +%s.%N)
  kill -INT "$enroll" 2>/dev/null || true
  wait "$enroll" 2>/dev/null || true
  read -r made entries size < <(psql -X -At -F ' ' "$DATABASE_URL" -c "SELECT c.made_ms, c.entries,
      length(c.der) FROM crl c JOIN authority a ON a.id = c.authority_id WHERE a.name = 'demo'")
  line=$(grep -h 'rate=' "$OUT/crl-enroll.out" || true)
  echo "crl-$want entries=$entries made_ms=$made bytes=$size revocation_to_crl_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') enrollments_meanwhile: ${line:-none (see $OUT/crl-enroll.err)}"
}

# dashboard_at: the time of GET /statistics/certificates?days=14 (curl's
# time_total, TLS and Basic authentication included), best and worst of
# 10: right after the rows came (their counts still deltas, sql/013), and
# once the confirmation sweep (every 60 s) has folded them
dashboard_once() {
  local times deltas
  deltas=$(psql -X -At "$DATABASE_URL" -c "SELECT count(*) FROM certificate_count_delta")
  times=$(for _ in $(seq 1 10); do
    curl -s -o /dev/null -w '%{time_total}\n' --cacert "$ADMIN_CA_FILE" \
        -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" "$ADMIN_URL/statistics/certificates?days=14"
  done | sort -n)
  echo "dashboard-at-$(cert_count)-rows-$1 deltas=$deltas best_ms=$(head -1 <<<"$times" | awk '{ printf "%.1f", $1 * 1000 }') worst_ms=$(tail -1 <<<"$times" | awk '{ printf "%.1f", $1 * 1000 }')"
}
dashboard_at() {
  dashboard_once unfolded
  for _ in $(seq 1 90); do
    [ "$(psql -X -At "$DATABASE_URL" -c "SELECT count(*) < 1000 FROM certificate_count_delta")" = t ] && break
    sleep 1
  done
  dashboard_once folded
}

# ---- OCSP: mod_cmp's responder beside openssl ocsp -index -port -----------
OCSP_PORT=${BENCH_OCSP_PORT:-28095}
OSECS=${BENCH_OCSP_SECONDS:-10}
OCSP_RESULTS=$OUT/ocsp.txt
O=$OUT/ocsp-requests
OCSP_URL="http://127.0.0.1:$HTTP_PORT/ocsp/demo"
ACCESS=$VAR_DIR/httpd/access.log
# httpd_times LINE SUFFIX: the requests to paths ending in SUFFIX that the
# access log has after line LINE, as httpd timed them (%D, the last field)
httpd_times() {
  sleep 0.5
  tail -n +"$(($1 + 1))" "$ACCESS" | awk -v s="$2" 'substr($7, length($7) - length(s) + 1) == s {print $NF}' | sort -n \
    | awk '{v[NR] = $1} END { if (NR) printf "ok=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f", NR,
           v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, v[NR] / 1000 }'
}
# run_post NAME URL LIST CLIENTS PIDS...: cmpbench's post mode, and the
# server CPU per answer
run_post() {
  local name=$1 url=$2 list=$3 clients=$4 t0 t1 c0 c1 line; shift 4
  t0=$(ticks "$@"); c0=$(core_ticks)
  line=$(taskset -c "$LOAD_CPU" "$BENCH" -mode post -url "$url" -bodies "$list" \
         -ctype application/ocsp-request -trusted "$CA" -clients "$clients" -seconds "$OSECS")
  t1=$(ticks "$@"); c1=$(core_ticks)
  echo "$name $line cpu_ms_per_tx=$(per_tx $((t1 - t0)) "$(field ok "$line")") core_ms_per_tx=$(per_tx $((c1 - c0)) "$(field ok "$line")")"
}
# ocsp_bench: 200 certificates of the headline run (every other one
# revoked), answered by openssl ocsp and by mod_cmp; sets OSSL_OCSP, OCSP32
# and OSRV32
ocsp_bench() {
  : >"$OCSP_RESULTS"
  rm -rf "$O"
  mkdir -p "$O"
  log "OCSP: 200 certificates of the headline run (every other one revoked), one request each"
  psql -X -q "$DATABASE_URL" -c "UPDATE certificate SET status = 'revoked', revoked_at = now(),
      revocation_reason = 1 WHERE id IN (SELECT id FROM certificate WHERE status = 'valid'
      AND serial NOT LIKE 'b%' ORDER BY id LIMIT 100)"
  # serial, the openssl index line (V|R, expiry, revocation, serial in upper
  # case of even length, file, subject)
  psql -X -At -F ' ' "$DATABASE_URL" -c "SELECT serial, CASE WHEN status = 'valid' THEN 'V' ELSE 'R' END,
      to_char(not_after AT TIME ZONE 'UTC', 'YYMMDDHH24MISS') || 'Z',
      coalesce(to_char(revoked_at AT TIME ZONE 'UTC', 'YYMMDDHH24MISS') || 'Z,keyCompromise', '-'),
      upper(CASE WHEN length(serial) % 2 = 1 THEN '0' || serial ELSE serial END)
      FROM certificate WHERE status IN ('valid', 'revoked') AND serial NOT LIKE 'b%'
      ORDER BY status, id LIMIT 200" >"$O/certs"
  [ "$(grep -c ' R ' "$O/certs")" = 100 ] && [ "$(wc -l <"$O/certs")" = 200 ] \
    || { log "OCSP: expected 100 revoked and 100 valid certificates"; exit 1; }
  : >"$O/index.txt"; : >"$O/plain.list"; : >"$O/nonce.list"
  i=0
  while read -r serial st exp rev upper; do
    [ "$rev" = - ] && rev=
    printf '%s\t%s\t%s\t%s\tunknown\t/CN=bench-%s\n' "$st" "$exp" "$rev" "$upper" "$i" >>"$O/index.txt"
    openssl ocsp -issuer "$CA" -serial "0x$serial" -no_nonce -reqout "$O/plain-$i.der" >/dev/null 2>&1
    openssl ocsp -issuer "$CA" -serial "0x$serial" -reqout "$O/nonce-$i.der" >/dev/null 2>&1
    echo "$O/plain-$i.der" >>"$O/plain.list"
    echo "$O/nonce-$i.der" >>"$O/nonce.list"
    i=$((i + 1))
  done <"$O/certs"
  # nodes agree before anything is timed: a good and a revoked serial as each
  # responder answers them
  taskset -c "$SERVER_CPU" openssl ocsp -index "$O/index.txt" -port "$OCSP_PORT" -rsigner "$CA" \
      -rkey "$VAR_DIR/demo/ca.key" -CA "$CA" -nmin 1440 -ignore_err -timeout 5 >"$OUT/openssl-ocsp.log" 2>&1 &
  OCSP_PID=$!
  # (a connection closed without a request makes openssl ocsp spin: asked
  # with a request until it answers)
  for _ in $(seq 1 50); do
    timeout 5 openssl ocsp -url "http://127.0.0.1:$OCSP_PORT/" -reqin "$O/plain-0.der" -noverify \
        -resp_text >/dev/null 2>&1 && break
    sleep 0.2
  done
  for url in "$OCSP_URL" "http://127.0.0.1:$OCSP_PORT/"; do
    for st in V R; do
      serial=$(awk -v s="$st" '$2 == s {print $1; exit}' "$O/certs")
      want=$([ "$st" = V ] && echo good || echo revoked)
      timeout 10 openssl ocsp -url "$url" -issuer "$CA" -CAfile "$CA" -serial "0x$serial" 2>&1 | grep -q "0x$serial: $want" \
        || { log "OCSP: $url does not say $want for $serial"; exit 1; }
    done
  done
  log "OCSP: openssl ocsp -index -port (one connection at a time), pinned to CPU $SERVER_CPU, ${OSECS}s"
  OSSL_OCSP=$(run_post ocsp-openssl "http://127.0.0.1:$OCSP_PORT/" "$O/plain.list" 1 "$OCSP_PID")
  echo "$OSSL_OCSP" | tee -a "$OCSP_RESULTS" >&2
  kill "$OCSP_PID" 2>/dev/null || true
  OCSP_PID=
  log "OCSP: mod_cmp, server pinned to CPU $SERVER_CPU, ${OSECS}s each"
  pin_server
  a0=$(wc -l <"$ACCESS")
  OCSP32=$(run_post ocsp-mod_cmp-32-clients "$OCSP_URL" "$O/plain.list" 32 $(server_pids | sort -u))
  echo "$OCSP32" | tee -a "$OCSP_RESULTS" >&2
  OSRV32=$(httpd_times "$a0" '/ocsp/demo')
  echo "ocsp-mod_cmp-32-httpd-time $OSRV32" | tee -a "$OCSP_RESULTS" >&2
  line=$(run_post ocsp-mod_cmp-1-client "$OCSP_URL" "$O/plain.list" 1 $(server_pids | sort -u))
  echo "$line" | tee -a "$OCSP_RESULTS" >&2
  line=$(run_post ocsp-mod_cmp-nonce-32-clients "$OCSP_URL" "$O/nonce.list" 32 $(server_pids | sort -u))
  echo "$line" | tee -a "$OCSP_RESULTS" >&2
  unpin_server
}

# ocsp_at_rows: the 32-client OCSP load again, the certificate table as
# large as it is now (the server pinned already)
ocsp_at_rows() {
  local line
  line=$(run_post "ocsp-at-$(cert_count)-rows" "$OCSP_URL" "$O/plain.list" 32 $(server_pids | sort -u))
  echo "$line" | tee -a "$OCSP_RESULTS" >&2
}

ocsp_summary() {
  local orate oossl
  table "$OCSP_RESULTS" "OCSP scenario" "answers/s" "cpu ms/answer"
  orate=$(field rate "$OCSP32"); oossl=$(field rate "$OSSL_OCSP")
  echo "ocsp: mod_cmp $orate answers/s at 32 clients (p99 $(field p99_ms "$OCSP32") ms, httpd p99 $(field p99_ms "$OSRV32") ms, core $(field core_ms_per_tx "$OCSP32") ms/answer), openssl ocsp $oossl answers/s (core $(field core_ms_per_tx "$OSSL_OCSP") ms/answer), ratio $(awk -v a="$orate" -v b="$oossl" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
}

# BENCH_ONLY=ocsp: only the OCSP figures (the certificates they need are
# enrolled first), then at BENCH_ROWS certificate rows (default 1 M)
if [ "${BENCH_ONLY:-}" = ocsp ]; then
  while [ "$(cert_count)" -lt 300 ]; do
    taskset -c "$LOAD_CPU" "$BENCH" -mode full -url "$URL" -secret "$SECRET" -trusted "$CA" -clients 4 -seconds 2 >/dev/null
  done
  ocsp_bench
  bulk_rows "${BENCH_ROWS:-1000000}"
  pin_server
  ocsp_at_rows
  unpin_server
  echo
  ocsp_summary
  exit 0
fi

# BENCH_ONLY=crl: only the CRL generation figures (BENCH_ROWS, default 1 M)
if [ "${BENCH_ONLY:-}" = crl ]; then
  : >"$OUT/crl.txt"
  bulk_rows 200000
  crl_at 100000 | tee -a "$OUT/crl.txt"
  bulk_rows $(( ${BENCH_ROWS:-1000000} * 11 / 10 ))
  crl_at "${BENCH_ROWS:-1000000}" | tee -a "$OUT/crl.txt"
  exit 0
fi
# BENCH_ONLY=dashboard: only the dashboard's figures (BENCH_ROWS, default 1 M)
if [ "${BENCH_ONLY:-}" = dashboard ]; then
  bulk_rows "${BENCH_ROWS:-1000000}"
  dashboard_at | tee "$OUT/dashboard.txt"
  exit 0
fi

# BENCH_ONLY=pqc: ML-DSA-65 beside EC P-256 in one run (OpenSSL 3.5 and
# later: the Debian 13 stage), replay mode on one server core: the four
# pairs of CA key and request key, MAC-protected both ways as the headline
# (EC/EC first and again last: the spread of the run), and OpenSSL's speed
# for both algorithms
if [ "${BENCH_ONLY:-}" = pqc ]; then
  if ! openssl list -signature-algorithms 2>/dev/null | grep -q ML-DSA-65; then
    echo "pqc: skipped: $(openssl version | cut -d' ' -f1-2) has no ML-DSA (OpenSSL 3.5 or later: the Debian 13 stage)"
    exit 0
  fi
  if [ -z "$(adm_uuid /authorities benchpq)" ]; then
    pq_ca=$(adm POST /authorities '{"name": "benchpq", "generate": {"subject": "CN=Bench ML-DSA-65 CA",
        "keyType": "ML-DSA-65"}}' | jq -r .uuid)
    pq_ra=$(adm POST "/authorities/$pq_ca/raProfiles" '{"name": "benchpq"}' | jq -r .uuid)
    adm PATCH "/authorities/$pq_ca/raProfiles/$pq_ra/enable" >/dev/null
    bench_profile benchpq "$pq_ra"
  fi
  adm GET "/authorities/$(adm_uuid /authorities benchpq)" | jq -r .certificate >"$VAR_DIR/benchpq.pem"
  PQ_URL="http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/benchpq"
  SPEEDPQ=$( (taskset -c "$SERVER_CPU" openssl speed -seconds 1 ecdsap256 2>/dev/null \
              | awk '/256 bits ecdsa/ {printf "ECDSA P-256 %d sign/s %d verify/s; ", $(NF-1), $NF}'
            taskset -c "$SERVER_CPU" openssl speed -seconds 1 ML-DSA-65 2>/dev/null \
              | awk '$1 == "ML-DSA-65" {printf "ML-DSA-65 %d sign/s %d verify/s", $(NF-1), $NF}') )
  : >"$OUT/pqc.txt"
  EC_CA=$CA
  for run in "replay-ec-ca-ec-keys $URL ec $EC_CA" "replay-ec-ca-mldsa65-keys $URL ml-dsa-65 $EC_CA" \
             "replay-mldsa65-ca-ec-keys $PQ_URL ec $VAR_DIR/benchpq.pem" \
             "replay-mldsa65-ca-mldsa65-keys $PQ_URL ml-dsa-65 $VAR_DIR/benchpq.pem" \
             "replay-ec-ca-ec-keys-again $URL ec $EC_CA"; do
    read -r name url kt CA <<<"$run"
    taskset -c "$LOAD_CPU" "$BENCH" -mode full -url "$url" -secret "$SECRET" -trusted "$CA" -clients 4 \
        -seconds 1 -keytype "$kt" >/dev/null
    pin_server
    line=$(run_replay "$name" "$url" "-secret $SECRET -keytype $kt" 4 $(server_pids | sort -u))
    unpin_server
    echo "$line" | tee -a "$OUT/pqc.txt" >&2
  done
  CA=$EC_CA
  echo
  table "$OUT/pqc.txt" scenario "enroll/s" "cpu ms/tx"
  echo "crypto ceiling (one core): $SPEEDPQ"
  # an enrollment's own crypto: one verify of the request key (its POP),
  # one sign of the CA key (the certificate)
  awk -v s="$SPEEDPQ" 'BEGIN {
    if (match(s, /ECDSA P-256 [0-9]+ sign\/s [0-9]+ verify/)) { split(substr(s, RSTART, RLENGTH), e, " "); es = e[3]; ev = e[5] }
    if (match(s, /ML-DSA-65 [0-9]+ sign\/s [0-9]+ verify/)) { split(substr(s, RSTART, RLENGTH), m, " "); ms = m[2]; mv = m[4] }
    if (es && ev && ms && mv) printf "crypto per enrollment (POP verify + certificate sign): EC/EC %.3f ms, EC CA/ML-DSA key %.3f ms, ML-DSA CA/EC key %.3f ms, ML-DSA/ML-DSA %.3f ms\n",
      1000 / ev + 1000 / es, 1000 / mv + 1000 / es, 1000 / ev + 1000 / ms, 1000 / mv + 1000 / ms }'
  exit 0
fi

log "crypto ceiling (openssl speed, one core)"
# the keys involved: the CA's (EC P-256, RSA-3072), the requests' (EC P-256,
# RSA-2048, Ed25519), and the PBM key (500 SHA-256 of 32 bytes)
SPEED=$(taskset -c "$SERVER_CPU" openssl speed -seconds 1 ecdsap256 rsa2048 rsa3072 ed25519 2>/dev/null \
        | awk '/256 bits ecdsa/ {printf "ECDSA P-256 %d sign/s %d verify/s; ", $(NF-1), $NF}
               /^rsa (2048|3072) bits/ {printf "RSA-%s %d sign/s %d verify/s; ", $2, $(NF-1), $NF}
               /EdDSA \(Ed25519\)/ {printf "Ed25519 %d sign/s %d verify/s; ", $(NF-1), $NF}')
SPEED="$SPEED$(taskset -c "$SERVER_CPU" openssl speed -seconds 1 -bytes 32 sha256 2>/dev/null \
        | awk '/^sha256/ {v = $2; sub(/k$/, "", v); printf "PBM key (500 x SHA-256) %d/s", v * 1000 / 32 / 500}')"

log "warming up"
taskset -c "$LOAD_CPU" "$BENCH" -mode full -url "$URL" -secret "$SECRET" -trusted "$CA" -clients 4 -seconds 2 >/dev/null

RESULTS=$OUT/results.txt
: >"$RESULTS"

log "replay mode, server pinned to CPU $SERVER_CPU, load on CPU $LOAD_CPU, ${SECS}s"
pin_server
OURS=$(run_replay mod_cmp "$URL" "-secret $SECRET" 4 $(server_pids | sort -u))
echo "$OURS" | tee -a "$RESULTS" >&2
unpin_server

log "OpenSSL mock server (openssl cmp -port), pinned to CPU $SERVER_CPU"
taskset -c "$SERVER_CPU" openssl cmp -port "$MOCK_PORT" -srv_ref demo -srv_secret "pass:$SECRET" \
    -srv_cert "$VAR_DIR/demo/signer.pem" -srv_key "$VAR_DIR/demo/signer.key" \
    -rsp_cert "$VAR_DIR/demo/signer.pem" -max_msgs 0 >"$OUT/mock.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$MOCK_PORT") 2>/dev/null && break; sleep 0.1; done
# the mock serves one connection at a time: one client connection
MOCK=$(NO_DB=1 run_replay mock "http://127.0.0.1:$MOCK_PORT/pkix/" "-secret $SECRET" 1 "$MOCK_PID")
echo "$MOCK" | tee -a "$RESULTS" >&2
kill "$MOCK_PID" 2>/dev/null || true
MOCK_PID=

log "full mode, 32 clients (OpenSSL's client verifying every response), 10s"
a0=$(wc -l <"$ACCESS")
FULL32=$(run_full full32 -url "$URL" -secret "$SECRET" -clients 32 -seconds 10)
echo "$FULL32" | tee -a "$RESULTS" >&2
# the same requests as httpd timed them (%D, request read to response
# written): what the server adds to the latency; the rest is the clients'
# own CPU on the same two cores
SRV32=$(httpd_times "$a0" '/cmp/bench')
echo "full32-httpd-time $SRV32" | tee -a "$RESULTS" >&2


ocsp_bench

rss_kb() {   # resident memory of the httpd children, summed
  local t=0 p
  for p in $(pgrep -f "$VAR_DIR/httpd/httpd.conf"); do
    [ "$p" = "$(cat "$VAR_DIR/httpd/httpd.pid")" ] && continue
    t=$(( t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
  done
  echo "$t"
}

if [ -z "$QUICK" ]; then
  # signed responses (the demo profile) and an RSA CA, replay mode on one core
  if [ -z "$(adm_uuid /authorities benchrsa)" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$VAR_DIR/benchrsa.key" 2>/dev/null
    openssl req -x509 -new -key "$VAR_DIR/benchrsa.key" -subj "/CN=Bench RSA CA" -days 365 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -out "$VAR_DIR/benchrsa.pem" 2>/dev/null
    rsa_ca=$(jq -n --rawfile c "$VAR_DIR/benchrsa.pem" --rawfile k "$VAR_DIR/benchrsa.key" \
               '{name: "benchrsa", certificate: $c, privateKey: $k}' | adm POST /authorities - | jq -r .uuid)
    rsa_ra=$(adm POST "/authorities/$rsa_ca/raProfiles" '{"name": "benchrsa"}' | jq -r .uuid)
    adm PATCH "/authorities/$rsa_ca/raProfiles/$rsa_ra/enable" >/dev/null
    bench_profile benchrsa "$rsa_ra"
  fi
  pin_server
  line=$(run_replay replay-signed-responses "$SIG_URL" "-secret $SECRET" 4 $(server_pids | sort -u))
  echo "$line" | tee -a "$RESULTS" >&2
  CA_SAVE=$CA; CA=$VAR_DIR/benchrsa.pem
  line=$(run_replay replay-rsa3072-ca "http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/benchrsa" "-secret $SECRET" 4 $(server_pids | sort -u))
  CA=$CA_SAVE
  echo "$line" | tee -a "$RESULTS" >&2
  unpin_server
  # signature-protected requests: a device certificate of a manufacturer CA
  # (a trust anchor of the profile) signs every ir; signed responses
  if [ -z "$(adm_uuid /cmpProfiles benchsig)" ]; then
    M=$VAR_DIR/bench-maker
    mkdir -p "$M"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$M/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$M/ca.key" -subj "/CN=Bench Manufacturer CA" -days 365 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -out "$M/ca.pem" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$M/device.key" 2>/dev/null
    openssl req -new -key "$M/device.key" -subj "/CN=bench-device" 2>/dev/null \
      | openssl x509 -req -CA "$M/ca.pem" -CAkey "$M/ca.key" -CAcreateserial -days 365 \
          -extfile <(printf 'keyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\n') \
          -out "$M/device.pem" 2>/dev/null
    bench_profile benchsig "$(adm_uuid /raProfiles demo)" "$(jq -n --rawfile ta "$M/ca.pem" \
        --arg sig "$(cat "$VAR_DIR/demo/signer.uuid")" '{requestProtectionMethod: "signature",
        responseProtectionMethod: "signature", signingCertificateUuid: $sig, trustAnchors: $ta,
        sharedSecret: null}')"
  fi
  M=$VAR_DIR/bench-maker
  pin_server
  line=$(run_replay replay-signed-requests "http://127.0.0.1:$HTTP_PORT/api/v1/protocols/cmp/benchsig" \
         "-cert $M/device.pem -key $M/device.key" 4 $(server_pids | sort -u))
  echo "$line" | tee -a "$RESULTS" >&2
  unpin_server
  # two nodes on one database. On one core (both nodes and PostgreSQL on
  # CPU 0): what a second node costs or adds with the same CPU. On two cores
  # (node 1 and PostgreSQL on CPU 0, node 2 on CPU 1), the load shares both
  # cores with them: this machine has no third core for it.
  node2 start >/dev/null
  URL2="http://127.0.0.1:$HTTP2_PORT/api/v1/protocols/cmp/bench"
  taskset -c "$LOAD_CPU" "$BENCH" -mode full -url "$URL2" -secret "$SECRET" -trusted "$CA" -clients 4 -seconds 2 >/dev/null
  both=$( (node_pids httpd; node_pids httpd2; pg_pids) | sort -u)
  pin "$SERVER_CPU" $both
  line=$(run_replay replay-two-nodes-one-core "$URL $URL2" "-secret $SECRET" 4 $both)
  echo "$line" | tee -a "$RESULTS" >&2
  pin "$SERVER_CPU" $(node_pids httpd) $(pg_pids)
  pin "$LOAD_CPU" $(node_pids httpd2)
  line=$(LOAD_CPUS="0-$((NCPU - 1))" run_replay replay-two-nodes-two-cores "$URL $URL2" "-secret $SECRET" 8 $both)
  echo "$line" | tee -a "$RESULTS" >&2
  pin "$SERVER_CPU" $(node_pids httpd) $(pg_pids)
  line=$(LOAD_CPUS="0-$((NCPU - 1))" run_replay replay-one-node-load-shares-cores "$URL" "-secret $SECRET" 8 \
         $(node_pids httpd) $(pg_pids))
  echo "$line" | tee -a "$RESULTS" >&2
  node2 stop >/dev/null
  unpin_server
  # a large certificate table (BENCH_ROWS, default 1M; 10M with BENCH_ROWS=10000000)
  ROWS=${BENCH_ROWS:-1000000}
  bulk_rows "$ROWS"
  pin_server
  line=$(run_replay "replay-at-$(cert_count)-rows" "$URL" "-secret $SECRET" 4 $(server_pids | sort -u))
  echo "$line" | tee -a "$RESULTS" >&2
  ocsp_at_rows
  unpin_server
  # the dashboard's figures at that size: GET /statistics/certificates,
  # HTTPS with Basic authentication, the best and the worst of 10 (goal:
  # under 200 ms at 1 M certificates)
  dashboard_at | tee "$OUT/dashboard.txt" >&2
  # CRLs of 100 k and 1 M entries, enrollment going on meanwhile
  : >"$OUT/crl.txt"
  crl_at 100000 | tee -a "$OUT/crl.txt" >&2
  bulk_rows $((ROWS * 11 / 10))
  crl_at "$ROWS" | tee -a "$OUT/crl.txt" >&2
  # memory of the children over 1M requests (BENCH_RSS_REQUESTS; the
  # requests are made first, about 2.5 minutes, then sent, about 13)
  RSS_N=${BENCH_RSS_REQUESTS:-1000000}
  r0=$(rss_kb)
  n0=$(cert_count)
  line=$("$BENCH" -mode replay -url "$URL" -secret "$SECRET" -trusted "$CA" -clients 4 \
         -seconds 3600 -requests $((RSS_N / 4)) 2>"$OUT/rss.err") \
    || { log "the long run failed: $line"; exit 1; }
  r1=$(rss_kb)
  once rss $(( $(cert_count) - n0 )) "$(field ok "$line")"
  echo "rss-httpd-children-kb before=$r0 after=$r1 requests=$(field ok "$line")" | tee -a "$OUT/rss.txt" >&2
  for c in 1 8 128; do
    run_full "full$c" -url "$URL" -secret "$SECRET" -clients "$c" -seconds 10 | tee -a "$RESULTS" >&2
  done
  run_full full8-signed-responses -url "$SIG_URL" -secret "$SECRET" -clients 8 -seconds 10 \
    | tee -a "$RESULTS" >&2
  for kt in rsa ed25519; do
    run_full "full8-$kt-request-keys" -url "$URL" -secret "$SECRET" -clients 8 -seconds 10 -keytype $kt \
      | tee -a "$RESULTS" >&2
  done
  run_full full8-explicit-certConf -url "$URL" -secret "$SECRET" -clients 8 -seconds 10 -explicit \
    | tee -a "$RESULTS" >&2
fi

rate=$(field rate "$OURS"); mrate=$(field rate "$MOCK")
cpu=$(field cpu_ms_per_tx "$OURS"); mcpu=$(field cpu_ms_per_tx "$MOCK")
core=$(field core_ms_per_tx "$OURS"); mcore=$(field core_ms_per_tx "$MOCK")
p99=$(field p99_ms "$FULL32")
ratio=$(awk -v a="$rate" -v b="$mrate" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

echo
table "$RESULTS" scenario "enroll/s" "cpu ms/tx"
echo "crypto ceiling (one core): $SPEED"
# what the headline enrollment needs of it: one P-256 verify (the POP), one
# P-256 sign (the certificate), one PBM key (the request's MAC, reused)
awk -v s="$SPEED" 'BEGIN {
  if (match(s, /ECDSA P-256 [0-9]+ sign\/s [0-9]+ verify/)) { split(substr(s, RSTART, RLENGTH), e, " "); sg = e[3]; vf = e[5] }
  if (match(s, /SHA-256\) [0-9]+/)) { split(substr(s, RSTART, RLENGTH), p, " "); pb = p[2] }
  if (sg && vf && pb) printf "crypto per headline enrollment: %.3f ms (1 P-256 verify, 1 P-256 sign, 1 PBM key)\n", 1000 / vf + 1000 / sg + 1000 / pb }'
[ -f "$OUT/rss.txt" ] && [ -z "$QUICK" ] && tail -1 "$OUT/rss.txt"
[ -f "$OUT/crl.txt" ] && [ -z "$QUICK" ] && cat "$OUT/crl.txt"
[ -f "$OUT/dashboard.txt" ] && [ -z "$QUICK" ] && cat "$OUT/dashboard.txt"
echo
ocsp_summary
echo "headline: $rate enroll/s, mock $mrate enroll/s, ratio $ratio, p99 $p99 ms, cpu/tx $cpu ms (core $core), mock cpu/tx $mcpu ms (core $mcore)"

