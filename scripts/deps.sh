#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages mod_cmp needs to build, run and test (with
# the argument fuzz: and to fuzz), when
# they are missing, and brings OpenSSL to the current Debian (security)
# update: OpenSSL 3.0's CMP server has fixes there, and Debian's mod_ssl is
# built against it. Needs root for apt-get; does nothing when all is in place.
set -euo pipefail
pkgs=(build-essential pkg-config apache2 apache2-utils apache2-dev libapr1-dev libaprutil1-dev
      libssl-dev openssl libjansson-dev libpq-dev postgresql postgresql-contrib
      check libsubunit-dev curl ca-certificates procps jq chromium)
# `deps.sh fuzz` (make fuzz): clang with libFuzzer and the sanitizers too
if [ "${1:-}" = fuzz ]; then
  pkgs+=(clang)
  # Debian 13's clang leaves libFuzzer's runtime to a recommended package
  v=$(apt-cache depends clang 2>/dev/null | sed -n 's/.*Depends: clang-\([0-9]*\)$/\1/p' | head -1)
  [ -n "$v" ] && apt-cache show "libclang-rt-$v-dev" >/dev/null 2>&1 && pkgs+=("libclang-rt-$v-dev")
fi
# Node.js runs the browser tests (playwright-core from the npm registry)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
ssl_pkgs=(libssl3 libssl-dev openssl)

installed() {
  # On Debian 13 postgresql-contrib is only a name the server package
  # provides: what it stands for, pgcrypto, is there when its control file is.
  if [ "$1" = postgresql-contrib ] && compgen -G "/usr/share/postgresql/*/extension/pgcrypto.control" >/dev/null; then
    return 0
  fi
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done

outdated() {
  local p inst cand
  for p in "${ssl_pkgs[@]}"; do
    inst=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$inst" ] && [ -n "$cand" ] && [ "$cand" != "(none)" ] \
        && dpkg --compare-versions "$inst" lt "$cand"; then
      echo "$p"
    fi
  done
}

[ ${#missing[@]} -eq 0 ] && [ -z "$(outdated)" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: need root to apt-get install: ${missing[*]} $(outdated | tr '\n' ' ')" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mapfile -t upgrade < <(outdated)
if [ ${#upgrade[@]} -gt 0 ]; then
  echo "deps: updating ${upgrade[*]}"
  apt-get install -y -qq --only-upgrade "${upgrade[@]}" >/dev/null
fi
# Debian starts these services on install; ours run under var/ instead.
service apache2 stop >/dev/null 2>&1 || true
service postgresql stop >/dev/null 2>&1 || true
