# SPDX-License-Identifier: Apache-2.0
# Shared settings of the run/test scripts; source it.
# VAR_DIR, HTTP_PORT, HTTPS_PORT and PG_PORT move an instance, so that two
# copies run side by side.
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR_DIR=${VAR_DIR:-var}
case "$VAR_DIR" in /*) ;; *) VAR_DIR="$ROOT_DIR/$VAR_DIR" ;; esac
HTTP_PORT=${HTTP_PORT:-8080}
HTTPS_PORT=${HTTPS_PORT:-8443}
PG_PORT=${PG_PORT:-55432}
BUILD_DIR=${BUILD_DIR:-$ROOT_DIR/build}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
HTTPD_BIN=${HTTPD_BIN:-/usr/sbin/apache2}
HTTPD_MODULES=/usr/lib/apache2/modules
export VAR_DIR HTTP_PORT HTTPS_PORT PG_PORT

# PostgreSQL refuses to run as root: its files and processes belong to the
# 'postgres' system user then.
pg_user() {
  if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

die() { echo "error: $*" >&2; exit 1; }

# make_traversable USER DIR...: when root, give the parents of DIR that USER
# cannot walk through the search bit (x) only, so that PostgreSQL (postgres)
# and httpd's children (www-data) reach their files even in a checkout under
# a private temporary folder. Nothing becomes readable by this.
make_traversable() {
  [ "$(id -u)" = 0 ] || return 0
  local user=$1 d; shift
  for d in "$@"; do
    while [ "$d" != / ]; do
      if [ -d "$d" ] && ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
        chmod o+x "$d"
      fi
      d=$(dirname "$d")
    done
  done
}

# adm METHOD PATH [BODY | -]: the admin API without httpd (build/cmpadm: the
# same rules and audit events); needs DATABASE_URL and CMP_SECRET_KEY_FILE.
adm() { "$BUILD_DIR/cmpadm" "$@"; }

# adm_uuid PATH NAME: the uuid of the object named NAME in the list at PATH
# (nothing when there is none).
adm_uuid() { adm GET "$1" | jq -r --arg n "$2" '.[] | select(.name == $n) | .uuid'; }
