#!/usr/bin/env bash
# Installs the Debian 12 packages mod_cmp needs to build, run and test, when
# they are missing. Needs root (apt-get); does nothing when all are present.
set -euo pipefail
pkgs=(build-essential pkg-config apache2 apache2-dev libapr1-dev libaprutil1-dev
      libssl-dev openssl libjansson-dev libpq-dev postgresql check libsubunit-dev
      curl ca-certificates procps xxd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "deps: need root to apt-get install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; ours run under var/ instead.
service apache2 stop >/dev/null 2>&1 || true
