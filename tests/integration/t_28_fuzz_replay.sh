# SPDX-License-Identifier: Apache-2.0
# The fuzz corpus (tests/fuzz/corpus) and every crash ever found
# (tests/fuzz/crashes) replayed through the fuzz targets built without
# libFuzzer (build/replay; under make sancheck with ASan, UBSan and
# LeakSanitizer): fuzz_server against this suite's database and demo
# profiles. A finding aborts the replay.

t_fuzz_replay() {
  local t n before after
  for t in fuzz_request fuzz_keys fuzz_admin fuzz_server fuzz_ocsp; do
    [ -x "$BUILD_DIR/replay/$t" ] || fail "no $BUILD_DIR/replay/$t (make testbins)" || return 1
    n=$(find "$ROOT/tests/fuzz/corpus/$t" "$ROOT/tests/fuzz/crashes/$t" -type f ! -name README | wc -l)
    [ "$n" -gt 0 ] || fail "no corpus for $t" || return 1
    before=$(cert_count)
    CMP_FUZZ_DATABASE_URL=$DATABASE_URL CMP_FUZZ_SECRET_KEY_FILE=$CMP_SECRET_KEY_FILE \
      CMP_FUZZ_SECRET_FILE=$CMP_SECRET_FILE CMP_FUZZ_CA_FILE=$CA_CERT_FILE \
      "$BUILD_DIR/replay/$t" "$ROOT/tests/fuzz/corpus/$t" "$ROOT/tests/fuzz/crashes/$t" \
      >"$T/replay-$t.out" 2>&1 || { tail -40 "$T/replay-$t.out"; fail "$t: the replay failed"; } || return 1
    grep -q "^replayed $n inputs$" "$T/replay-$t.out" \
      || fail "$t: $(tail -1 "$T/replay-$t.out"), expected $n" || return 1
    after=$(cert_count)
    # the MAC-protected cr, ir and p10cr and the signed ir of the corpus (each
    # with a fresh transactionID) reach issuance: the replay is no mere decode
    if [ "$t" = fuzz_server ] && [ "$((after - before))" -lt 5 ]; then
      fail "fuzz_server: $((after - before)) certificates issued by the replay (the harness's own and 4 seeds expected)"
      return 1
    fi
  done
}
run_test "the fuzz corpus and every crash found replay without a finding (request path with the database, keys, admin)" \
    t_fuzz_replay
