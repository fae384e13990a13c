#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make fuzz: the libFuzzer targets, each for FUZZ_SECONDS (default 60), from
# a seed corpus of requests `openssl cmp` writes (-reqout; no server is
# there, nothing is sent). A crash or a sanitizer report fails the run and
# leaves the input in build/fuzz/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
SEEDS=$OUT/seeds
mkdir -p "$SEEDS" "$OUT/corpus"
if [ -z "$(ls -A "$SEEDS")" ]; then
  w=$(mktemp -d)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$w/k.pem" 2>/dev/null
  openssl req -x509 -new -key "$w/k.pem" -subj /CN=fuzz -days 2 -out "$w/c.pem" 2>/dev/null
  openssl req -new -key "$w/k.pem" -subj /CN=fuzz -out "$w/csr.pem" 2>/dev/null
  mac=(-server 127.0.0.1:1 -ref fuzz -secret pass:fuzz -msg_timeout 1 -certout "$w/out.pem")
  sig=(-server 127.0.0.1:1 -cert "$w/c.pem" -key "$w/k.pem" -msg_timeout 1 -certout "$w/out.pem")
  for c in ir cr; do
    openssl cmp -cmd $c "${mac[@]}" -newkey "$w/k.pem" -subject /CN=fuzz -reqout "$SEEDS/$c-mac.der" >/dev/null 2>&1 || true
    openssl cmp -cmd $c "${sig[@]}" -newkey "$w/k.pem" -subject /CN=fuzz -implicit_confirm \
        -reqout "$SEEDS/$c-sig.der" >/dev/null 2>&1 || true
  done
  openssl cmp -cmd p10cr "${mac[@]}" -csr "$w/csr.pem" -reqout "$SEEDS/p10cr.der" >/dev/null 2>&1 || true
  openssl cmp -cmd kur "${sig[@]}" -newkey "$w/k.pem" -reqout "$SEEDS/kur.der" >/dev/null 2>&1 || true
  openssl cmp -cmd rr "${sig[@]}" -oldcert "$w/c.pem" -revreason 1 -reqout "$SEEDS/rr.der" >/dev/null 2>&1 || true
  openssl cmp -cmd genm "${mac[@]}" -infotype signKeyPairTypes -reqout "$SEEDS/genm.der" >/dev/null 2>&1 || true
  rm -rf "$w"
  [ -n "$(ls -A "$SEEDS")" ] || { echo "fuzz: no seed request was written" >&2; exit 1; }
fi
for t in "$OUT"/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  mkdir -p "$OUT/corpus/$name"
  echo "fuzz: $name for ${SECONDS_EACH}s ($(ls "$SEEDS" | wc -l) seeds)"
  (cd "$OUT" && "$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$OUT/corpus/$name" "$SEEDS" 2>&1 | tail -12)
done
