#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make deb: the libapache2-mod-cmp package (debhelper, dh_apache2) from the
# files git tracks, its version mod_cmp's; the .deb lands in build/deb/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
need=()
for p in debhelper dpkg-dev fakeroot; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "deb: need root to apt-get install ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
version=$(sed -n 's/^#define CMP_VERSION "\(.*\)"/\1/p' mod_cmp/cmp_version.h)
out=$ROOT_DIR/build/deb
src=$out/mod-cmp-$version
rm -rf "$out"
mkdir -p "$src"
git ls-files -z | xargs -0 cp --parents -t "$src"
cat >"$src/debian/changelog" <<TXT
mod-cmp ($version) unstable; urgency=medium

  * mod_cmp $version.

 -- mod_cmp developers <mod-cmp@localhost>  $(date -R)
TXT
(cd "$src" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) \
  || { tail -40 "$out/build.log" >&2; die "dpkg-buildpackage failed (build/deb/build.log)"; }
ls "$out"/*.deb
