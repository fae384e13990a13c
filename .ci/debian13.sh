#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI stage 2: a freshly bootstrapped Debian 13 (trixie) root, in which a clean
# clone of this commit must work as a new user's would: `make start`, one
# enrollment with the command it prints, `make stop`, then `make test`; then
# `make deb`, the package installed into the root's own Apache and one
# enrollment through it. Runs as root (mmdebstrap, chroot); the root lives in
# its own mount and PID namespace, so whatever it started dies with it.
#
#   bash .ci/debian13.sh            (KEEP_ROOT=1 leaves the root for a look)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
SUITE=${DEBIAN_SUITE:-trixie}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mod_cmp-$SUITE.XXXXXX")
ROOT="$WORK/root"

say() { printf '[%s %s] %s\n' "$SUITE" "$(date +%T)" "$*"; }

cleanup() {
  [ "${KEEP_ROOT:-0}" = 1 ] && { say "root kept in $ROOT"; return; }
  # The mounts belonged to the namespace; never remove through one left behind.
  if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
    say "mounts left under $ROOT; not removing it"
    return
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

say "bootstrapping $SUITE"
bash scripts/debian-root.sh bootstrap "$ROOT" "$SUITE"

# A clean clone of this commit, with ../shared beside it as CI has it.
git clone --quiet "$SRC" "$ROOT/src/main"
git -C "$ROOT/src/main" checkout --quiet "$(git -C "$SRC" rev-parse HEAD)"
[ -d "$SRC/../shared" ] && cp -a "$SRC/../shared" "$ROOT/src/shared"

say "running the stage inside the root"
bash scripts/debian-root.sh run "$ROOT" "bash .ci/debian13-inside.sh"
say "stage passed"
