#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# embed.sh FILE SYMBOL > out.c: FILE as a NUL-terminated C string named SYMBOL.
set -euo pipefail
echo "/* generated from $1 by scripts/embed.sh; do not edit */"
echo "const char $2[] = {"
od -An -v -tx1 "$1" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "0x00 };"
