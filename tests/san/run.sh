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
export LSAN_OPTIONS="suppressions=$ROOT/tests/san/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$OUT/ubsan:log_exe_name=1"
export HTTPD_PRELOAD=$ASAN_RT

rc=0
echo "== unit suites (ASan, UBSan, LeakSanitizer)"
CK_FORK=no "$BUILD_DIR/unit_tests" || rc=1
echo "== integration suite (the same build in httpd)"
BUILD_DIR=$BUILD_DIR bash "$ROOT/tests/integration/run.sh" || rc=1

# reports of our code only: the runtime also writes for programs of the
# test harness it is preloaded into (none are), so every file counts
reports=$(find "$OUT" -type f | sort)
if [ -n "$reports" ]; then
  echo "sancheck: sanitizer reports:"
  for f in $reports; do echo "---- $f"; head -60 "$f"; done
  rc=1
else
  echo "sancheck: no sanitizer report"
fi
exit $rc
