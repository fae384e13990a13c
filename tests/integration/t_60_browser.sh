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
