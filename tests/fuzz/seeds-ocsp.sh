#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The seeds of fuzz_ocsp (see its top for the mode byte), made by openssl
# ocsp for a CA: single and several single requests, with and without a
# nonce, SHA-1 and SHA-256 CertIDs, as POST bodies (made again for the demo
# CA, with and without its serials) and as GET paths (URL-encoded base64
# and raw).  bash tests/fuzz/seeds-ocsp.sh CA.pem OUT_DIR
set -euo pipefail
ca=$1 out=$2
mkdir -p "$out"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
n=0
for args in "-serial 0x1" "-serial 0x7fa1b2c3d4e5f60718293a4b5c6d7e8f -no_nonce" \
            "-serial 0x10 -serial 0x20 -serial 0x30" "-sha256 -serial 0x1234" \
            "-serial 0x0 -nonce"; do
  # shellcheck disable=SC2086
  openssl ocsp -issuer "$ca" $args -reqout "$w/r.der" >/dev/null 2>&1
  { printf '\2'; cat "$w/r.der"; } >"$out/post-issuer-$n"
  { printf '\6'; cat "$w/r.der"; } >"$out/post-serials-$n"
  { printf '\0'; cat "$w/r.der"; } >"$out/post-as-is-$n"
  { printf '\1/ocsp/demo/'; base64 -w0 "$w/r.der" | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g'; } >"$out/get-encoded-$n"
  { printf '\1/ocsp/demo/'; base64 -w0 "$w/r.der"; } >"$out/get-raw-$n"
  n=$((n + 1))
done
printf '\1/ocsp/demo/bm90IGFuIE9DU1AgcmVxdWVzdA%%3D%%3D' >"$out/get-garbage"
printf '\1/ocsp/' >"$out/get-no-name"
printf '\0garbage' >"$out/post-garbage"
