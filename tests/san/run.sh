#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make sancheck: the unit suites and the integration suite with the build of
# build/san (ASan, UBSan, LeakSanitizer). httpd is not instrumented: it
# preloads the ASan runtime, and its children, the tools and the unit tests
# write every report to tests/out/san/ when they exit. Any report fails the
# run, and is printed. Leaks that are not ours are suppressed in lsan.supp,
# each with its reason.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/san}
OUT=$ROOT/tests/out/san
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 1777 "$OUT"          # the children run as another user

ASAN_RT=$(gcc -print-file-name=libasan.so)
[ -e "$ASAN_RT" ] || { echo "sancheck: no libasan.so (gcc)" >&2; exit 1; }
export ASAN_OPTIONS="detect_leaks=1:log_path=$OUT/asan:log_exe_name=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$ROOT/tests/san/lsan.supp:print_suppressions=0:exitcode=0:fast_unwind_on_malloc=0:malloc_context_size=40"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$OUT/ubsan:log_exe_name=1"
export HTTPD_PRELOAD=$ASAN_RT

rc=0
echo "== unit suites (ASan, UBSan, LeakSanitizer)"
CK_FORK=no "$BUILD_DIR/unit_tests" || rc=1
echo "== integration suite (the same build in httpd)"
BUILD_DIR=$BUILD_DIR bash "$ROOT/tests/integration/run.sh" || rc=1

# Every report of httpd, the unit tests and cmpadm counts. The test clients
# (cmpclient, cmpbench, cmpmutate: one request, then exit) count for memory
# errors; what they leave unfreed at exit is listed, not counted.
reports=
for f in $(find "$OUT" -type f | sort); do
  case $(basename "$f") in
    *.cmpclient.*|*.cmpbench.*|*.cmpmutate.*)
      if grep -q "ERROR: AddressSanitizer\|runtime error" "$f"; then reports="$reports $f"
      else echo "sancheck: (a test client's leaks at exit, not counted: $f)"; fi ;;
    *) reports="$reports $f" ;;
  esac
done
if [ -n "$reports" ]; then
  echo "sancheck: sanitizer reports:"
  for f in $reports; do echo "---- $f"; head -60 "$f"; done
  rc=1
else
  echo "sancheck: no sanitizer report"
fi
exit $rc
