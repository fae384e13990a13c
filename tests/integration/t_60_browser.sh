# SPDX-License-Identifier: Apache-2.0
# The management console in headless Chromium (tests/browser/ui.test.mjs):
# forms create an Authority, an RA Profile and a CMP Profile, openssl cmp
# enrolls, the console finds and revokes the certificate, kur is refused;
# HTML in a description stays text; 422 messages show next to the form.

t_browser_console() {
  local shots=$ROOT/tests/out/screenshots
  rm -rf "$shots"
  (cd "$ROOT/tests/browser" && VAR_DIR=$VAR_DIR SHOTS=$shots bash node.sh --test ui.test.mjs)
  local n; n=$(ls "$shots"/*.png 2>/dev/null | wc -l)
  [ "$n" -ge 8 ] || fail "only $n screenshots"
}
run_test "management console in headless Chromium (tests/browser, screenshots in tests/out/screenshots)" \
    t_browser_console

# Issue 16's acceptance: a database with the schema only and its own httpd;
# the console alone (tests/browser/empty.test.mjs) gets to enrolled devices
# with the command it shows, then rotates the secret with an overlap.
t_browser_from_empty_database() {
  local E=$ROOT/tests/out/var-empty-ui rc=0
  empty_instance_start "$E" $((HTTP_PORT + 4)) $((HTTPS_PORT + 4)) cmp_empty_ui >/dev/null
  (cd "$ROOT/tests/browser" && VAR_DIR=$E SHOTS=$ROOT/tests/out/screenshots bash node.sh --test empty.test.mjs) \
    || rc=$?
  empty_instance_stop "$E"
  [ "$rc" = 0 ] || fail "the console did not get from an empty database to enrolled devices"
  ! grep -E ':(error|crit)\]' "$E/httpd/error.log" || fail "errors in its log"
}
run_test "the console alone: an empty database to enrolled devices, then a secret rotated with an overlap" \
    t_browser_from_empty_database
