#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make fuzz: the libFuzzer targets, each for FUZZ_SECONDS (default 60), from
# the checked-in seed corpus (tests/fuzz/corpus/TARGET, written by seeds.sh)
# and every crash ever found (tests/fuzz/crashes/TARGET); what a run adds to
# the corpus stays in build/fuzz/corpus. fuzz_server runs against a scratch
# PostgreSQL with the demo profiles (tests/fuzz/db.sh). A crash or a
# sanitizer report fails the run and leaves the input in build/fuzz/.
#   FUZZ_TARGETS="fuzz_server ..."   only these
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
export VAR_DIR=$OUT/var PG_PORT=${FUZZ_PG_PORT:-55439} HTTP_PORT=18992 HTTPS_PORT=18993
. "$ROOT/tests/fuzz/db.sh"
fuzz_db_start
trap fuzz_db_stop EXIT
for t in "$OUT"/fuzz_*; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  name=$(basename "$t")
  case " ${FUZZ_TARGETS:-$name} " in *" $name "*) ;; *) continue ;; esac
  seeds=$ROOT/tests/fuzz/corpus/$name crashes=$ROOT/tests/fuzz/crashes/$name
  mkdir -p "$OUT/corpus/$name"
  echo "fuzz: $name for ${SECONDS_EACH}s ($(ls "$seeds" | wc -l) seeds, $(ls "$crashes" | grep -vc README) crashes)"
  # the database targets' long-lived state (profile cache, connections) is
  # held in APR pool memory, which LeakSanitizer does not scan (Debian's APR
  # maps it): their leaks are judged at exit, after every pool is freed, by
  # the same target without libFuzzer (build/fuzz/replay) over what the run
  # found
  leaks=1
  case $name in fuzz_server|fuzz_admin|fuzz_ocsp) leaks=0 ;; esac
  (cd "$OUT" && "$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -detect_leaks=$leaks -print_final_stats=1 -artifact_prefix="$OUT/$name-" \
      "$OUT/corpus/$name" "$seeds" "$crashes" 2>&1 | tail -12)
  if [ $leaks = 0 ]; then
    echo "fuzz: $name: the corpus once more, leaks checked at exit"
    (cd "$OUT" && "$OUT/replay/$name" "$OUT/corpus/$name" "$seeds" "$crashes" 2>&1 | tail -40)
  fi
done
