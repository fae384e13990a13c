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
# fuzz_keys: "\0" + a SubjectPublicKeyInfo, "\1" + a MAC protectionAlg
KSEEDS=$OUT/seeds-keys
if [ ! -s "$KSEEDS/mac-pbm" ]; then
  mkdir -p "$KSEEDS"
  w=$(mktemp -d)
  for k in "EC -pkeyopt ec_paramgen_curve:P-256" \
           "EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:explicit" \
           "RSA -pkeyopt rsa_keygen_bits:2048" "ED25519" "X448"; do
    n=$(echo "$k" | tr -c 'A-Za-z0-9' _)
    # shellcheck disable=SC2086
    openssl genpkey -algorithm $k -out "$w/k.pem" 2>/dev/null || continue
    { printf '\0'; openssl pkey -in "$w/k.pem" -pubout -outform DER; } >"$KSEEDS/spki-$n"
  done
  # the protectionAlg (header [1]) of a PasswordBasedMac-protected request
  line=$(openssl asn1parse -inform DER -in "$SEEDS/ir-mac.der" | grep -A1 'd=2 .*cont \[ 1 \]' | tail -1)
  off=$(echo "$line" | sed 's/^ *\([0-9]*\):.*/\1/')
  hl=$(echo "$line" | sed 's/.*hl= *\([0-9]*\).*/\1/')
  l=$(echo "$line" | sed 's/.* l= *\([0-9]*\).*/\1/')
  { printf '\1'; tail -c +$((off + 1)) "$SEEDS/ir-mac.der" | head -c $((hl + l)); } >"$KSEEDS/mac-pbm"
  rm -rf "$w"
fi
# fuzz_admin: path, query and JSON body, NUL-separated
ASEEDS=$OUT/seeds-admin
if [ ! -s "$ASEEDS/ra" ]; then
  mkdir -p "$ASEEDS"
  printf '%s\0%s\0%s' /authorities/00000000-0000-0000-0000-000000000000/raProfiles '' \
    '{"name":"p1","validityDays":30,"allowedKeyTypes":["RSA","EC"],"allowedEcCurves":["P-256","sect571r1"],"minSecurityBits":128,"keyUsage":["digitalSignature","keyAgreement"],"extendedKeyUsage":["serverAuth","1.3.6.1.5.5.7.3.2"],"subjectPattern":"^CN=.*$","allowSubjectAltName":false}' \
    >"$ASEEDS/ra"
  printf '%s\0%s\0%s' /certificates 'status=valid&serial=%7a&offset=10&limit=5&subject=a%20b' '' >"$ASEEDS/query"
  printf '%s\0%s\0%s' /cmpProfiles '' '{"name":"x","variant":"v2","sharedSecret":"s","confirmTimeout":60}' >"$ASEEDS/cmp"
fi
for t in "$OUT"/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  seeds=$SEEDS
  [ -d "$OUT/seeds-${name#fuzz_}" ] && seeds=$OUT/seeds-${name#fuzz_}
  mkdir -p "$OUT/corpus/$name"
  echo "fuzz: $name for ${SECONDS_EACH}s ($(ls "$seeds" | wc -l) seeds)"
  (cd "$OUT" && "$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$OUT/corpus/$name" "$seeds" 2>&1 | tail -12)
done
