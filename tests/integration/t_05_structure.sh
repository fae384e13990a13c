# SPDX-License-Identifier: Apache-2.0
# One core per process: both modules use the one libcmpcore.so beside them,
# and a module built for another version of it refuses to serve, saying why.

t_one_core_per_process() {
  local m pid child maps soname dyn syms
  soname=$(readelf -d "$BUILD"/libcmpcore.so.* | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ -n "$soname" ] || fail "libcmpcore has no SONAME"
  # (outputs are read whole: grep -q would end a pipe early, and pipefail
  # would count the writer's SIGPIPE as a failure)
  for m in mod_cmp mod_cmp_admin; do
    dyn=$(readelf -d "$BUILD/$m.so")
    grep -q "(NEEDED).*\[$soname\]" <<<"$dyn" || fail "$m.so does not use $soname"
    grep -q '(RUNPATH).*\[\$ORIGIN\]' <<<"$dyn" || fail "$m.so: no RUNPATH \$ORIGIN"
    # the core is not inside the module: its symbols are only referenced
    [ -z "$(nm -D --defined-only "$BUILD/$m.so" | awk '$3 ~ /^cmp_/ && $3 !~ /_module$/')" ] || fail "$m.so holds core code"
    syms=$(nm -D --undefined-only "$BUILD/$m.so")
    grep -q ' cmp_core_version' <<<"$syms" || fail "$m.so: no handshake"
  done
  # the library exports the core's API and nothing else
  [ -z "$(nm -D --defined-only "$BUILD/$soname" | awk '$2 ~ /[TDBR]/ && $3 !~ /^cmp_/ && $3 !~ /^CMPCORE_/')" ] \
      || fail "libcmpcore exports more than cmp_*"
  # a running child maps exactly one core library, and both modules
  pid=$(cat "$VAR_DIR/httpd/httpd.pid")
  child=$(pgrep -P "$pid")
  child=${child%%$'\n'*}
  [ -n "$child" ] || fail "no httpd child"
  maps=$(awk '{print $6}' "/proc/$child/maps" | sort -u)
  [ "$(grep -c 'libcmpcore' <<<"$maps")" = 1 ] || fail "not one core in the child: $(grep libcmpcore <<<"$maps")"
  grep -q 'mod_cmp_admin.so' <<<"$maps" || fail "mod_cmp_admin not mapped"
  # the handshake at start-up, as the error log tells it
  grep -q "CMP10017: mod_cmp .* with its core library " "$VAR_DIR/httpd/error.log" || fail "mod_cmp start line"
  grep -q "CMP10604: mod_cmp_admin \([0-9.]*\) with the mod_cmp core library \1" "$VAR_DIR/httpd/error.log" \
      || fail "mod_cmp_admin handshake line"
}
run_test "one core library per process, shared by both modules; the version handshake" \
    t_one_core_per_process

t_admin_of_another_version_refuses() {
  local I=$VAR_DIR/skew HP=$((HTTP_PORT + 5)) SP=$((HTTPS_PORT + 5)) rc=0 got
  HTTPD_INSTANCE=skew HTTP_PORT=$HP HTTPS_PORT=$SP bash "$ROOT/scripts/httpd.sh" conf
  sed -i "s|LoadModule cmp_admin_module .*|LoadModule cmp_admin_module $BUILD/skew/mod_cmp_admin.so|" "$I/httpd.conf"
  grep -q "$BUILD/skew/mod_cmp_admin.so" "$I/httpd.conf" || fail "skewed module not configured"
  # (HTTPD_PRELOAD: the sanitizer runtime, as scripts/httpd.sh gives it)
  env ${HTTPD_PRELOAD:+LD_PRELOAD=$HTTPD_PRELOAD} "$HTTPD_BIN" -f "$I/httpd.conf" -k start \
      || fail "Apache did not start with a skewed module"
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$HP/" && break; sleep 0.1; done
  got=$(curl -s -o "$T/skew.json" -w '%{http_code}' --cacert "$ADMIN_CA_FILE" \
             -u "$ADMIN_USER:$(cat "$ADMIN_PASSWORD_FILE")" "https://127.0.0.1:$SP/api/v1/cmpProfiles") || rc=$?
  # CMP itself still serves: a body that is no PKIMessage gets mod_cmp's 400
  printf 'not a PKIMessage' >"$T/junk.der"
  local cmp_status; cmp_status=$(post "http://127.0.0.1:$HP/api/v1/protocols/cmp/demo" "$T/junk.der")
  env ${HTTPD_PRELOAD:+LD_PRELOAD=$HTTPD_PRELOAD} "$HTTPD_BIN" -f "$I/httpd.conf" -k stop \
      || kill "$(cat "$I/httpd.pid")"
  for _ in $(seq 1 50); do [ -f "$I/httpd.pid" ] || break; sleep 0.1; done
  [ "$rc" = 0 ] && [ "$got" = 503 ] || fail "the skewed admin module answered $got"
  [[ "$(jq -r .message "$T/skew.json")" == "mod_cmp_admin 0.0.0-skew cannot run with the mod_cmp core library "* ]] \
      || fail "503 body: $(cat "$T/skew.json")"
  grep -q "CMP10603: mod_cmp_admin 0.0.0-skew cannot run with the mod_cmp core library" "$I/error.log" \
      || fail "no log line names the mismatch"
  [ "$cmp_status" = 400 ] || fail "CMP endpoint answered $cmp_status next to the skewed admin module"
}
run_test "an admin module built for another core version refuses (503, a log line), Apache stays up" \
    t_admin_of_another_version_refuses
