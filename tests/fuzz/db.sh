# SPDX-License-Identifier: Apache-2.0
# The fuzz targets' scratch PostgreSQL with the demo profiles, under
# $VAR_DIR on $PG_PORT (set both first); source it. fuzz_db_start exports
# what fuzz_server reads (CMP_FUZZ_*).
# shellcheck disable=SC2034
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
export BUILD_DIR

fuzz_db_start() {
  fuzz_db_stop
  rm -rf "$VAR_DIR"
  mkdir -p "$VAR_DIR"
  bash "$ROOT/scripts/pg.sh" start >"$VAR_DIR/../db-$(basename "$VAR_DIR").log" 2>&1 \
    && bash "$ROOT/scripts/demo.sh" >>"$VAR_DIR/../db-$(basename "$VAR_DIR").log" 2>&1 \
    || { tail -20 "$VAR_DIR/../db-$(basename "$VAR_DIR").log" >&2; return 1; }
  # shellcheck disable=SC1091
  . "$VAR_DIR/demo.env"
  # what is lost in a crash of this scratch cluster does not matter
  export CMP_FUZZ_DATABASE_URL="$DATABASE_URL?options=-c%20synchronous_commit%3Doff"
  export CMP_FUZZ_SECRET_KEY_FILE=$VAR_DIR/secret.key CMP_FUZZ_SECRET_FILE=$CMP_SECRET_FILE
  export CMP_FUZZ_CA_FILE=$CA_CERT_FILE
}

fuzz_db_stop() {
  bash "$ROOT/scripts/pg.sh" stop >/dev/null 2>&1 || true
}
