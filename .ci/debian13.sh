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
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
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

command -v mmdebstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
}

# The host's trusted CA certificates and package-client settings, as build
# roots get them, so the root reaches the registries as the host does.
hooks=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates" "$1/src"')
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -e "$crt" ] && hooks+=(--customize-hook="copy-in $crt /usr/local/share/ca-certificates/")
done
hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
for rc in /root/.npmrc /etc/npmrc; do
  [ -f "$rc" ] && hooks+=(--customize-hook="copy-in $rc $(dirname "$rc")/")
done
for conf in /etc/apt/apt.conf.d/99artifact-registry; do
  [ -f "$conf" ] && hooks+=(--customize-hook="copy-in $conf /etc/apt/apt.conf.d/")
done

say "bootstrapping $SUITE from $MIRROR"
mmdebstrap --quiet --variant=apt --include=ca-certificates,git,make "${hooks[@]}" "$SUITE" "$ROOT" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main"

# A clean clone of this commit, with ../shared beside it as CI has it.
git clone --quiet "$SRC" "$ROOT/src/main"
git -C "$ROOT/src/main" checkout --quiet "$(git -C "$SRC" rev-parse HEAD)"
[ -d "$SRC/../shared" ] && cp -a "$SRC/../shared" "$ROOT/src/shared"

say "running the stage inside the root"
unshare --mount --pid --fork --kill-child bash -s "$ROOT" <<'NS'
set -euo pipefail
ROOT=$1
mount --make-rprivate /
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"
mount -t tmpfs tmpfs "$ROOT/dev/shm"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
exec chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM=dumb bash /src/main/.ci/debian13-inside.sh
NS
say "stage passed"
