#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A Debian root made with mmdebstrap, for what must run on another Debian
# than the machine's (the CI's Debian 13 stage, make bench BENCH_ALSO=...).
# Runs as root.
#
#   scripts/debian-root.sh bootstrap ROOT [SUITE]   a root of SUITE (trixie)
#   scripts/debian-root.sh sync ROOT                this working tree (what git
#       sees: tracked and new files, not build outputs or var/) to ROOT/src/main,
#       ../shared to ROOT/src/shared; ROOT/src/main/build is kept
#   scripts/debian-root.sh run ROOT COMMAND         bash -c COMMAND in
#       /src/main inside, in a mount and PID namespace of its own: whatever it
#       starts dies with it
#
# The root gets the host's trusted CA certificates and package-client
# settings, as build roots do, so it reaches the registries as the host does.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

bootstrap() {
  local root=$1 suite=${2:-trixie} crt rc conf
  local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local security=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
  command -v mmdebstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
  }
  local hooks=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates" "$1/src"')
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
  mmdebstrap --quiet --variant=apt --include=ca-certificates,git,make "${hooks[@]}" "$suite" "$root" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
}

sync() {
  local root=$1
  mkdir -p "$root/src/main"
  find "$root/src/main" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
  # (tar keeps the files' times: make rebuilds only what changed)
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -C "$root/src/main" -xf -
  rm -rf "$root/src/shared"
  [ -d "$SRC/../shared" ] && cp -a "$SRC/../shared" "$root/src/shared"
  return 0
}

run() {
  local root=$1 cmd=$2
  unshare --mount --pid --fork --kill-child bash -s "$root" "$cmd" <<'NS'
set -euo pipefail
ROOT=$1
mount --make-rprivate /
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"
mount -t tmpfs tmpfs "$ROOT/dev/shm"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
exec chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM=dumb bash -c "cd /src/main && $2"
NS
}

case "${1:-}" in
  bootstrap) [ $# -ge 2 ] || { echo "usage: $0 bootstrap ROOT [SUITE]" >&2; exit 2; }; bootstrap "$2" "${3:-}" ;;
  sync) [ $# -eq 2 ] || { echo "usage: $0 sync ROOT" >&2; exit 2; }; sync "$2" ;;
  run) [ $# -eq 3 ] || { echo "usage: $0 run ROOT COMMAND" >&2; exit 2; }; run "$2" "$3" ;;
  *) echo "usage: $0 bootstrap ROOT [SUITE] | sync ROOT | run ROOT COMMAND" >&2; exit 2 ;;
esac
