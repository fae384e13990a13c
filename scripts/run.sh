#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make run / start / stop: PostgreSQL and httpd under $VAR_DIR with the demo.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

banner() {
  . "$VAR_DIR/demo.env"
  cat <<TXT

mod_cmp is running.
  CMP endpoint (CMP Profile 'demo'): $CMP_URL
  CMP endpoint (RA Profile 'demo'):  $CMP_RA_URL
  RFC 9811 well-known path:          $CMP_WELL_KNOWN_URL
  Management console (browser):      $ADMIN_UI_URL
  Core CMP API (JSON, HTTPS):        $ADMIN_URL
      user $ADMIN_USER, password in $ADMIN_PASSWORD_FILE; try
      curl --cacert $ADMIN_CA_FILE -u $ADMIN_USER:\$(cat $ADMIN_PASSWORD_FILE) $ADMIN_URL/cmpProfiles
  Database:                          $DATABASE_URL
  Facts for scripts:                 $VAR_DIR/demo.env

Enroll a certificate:
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device.key
  openssl cmp -cmd ir -server $CMP_URL \\
      -ref $CMP_REF -secret file:$CMP_SECRET_FILE -trusted $CA_CERT_FILE \\
      -newkey device.key -subject "/CN=device-1" -certout device.pem
TXT
}

case "${1:-}" in
  foreground)
    bash "$ROOT_DIR/scripts/pg.sh" start
    bash "$ROOT_DIR/scripts/demo.sh"
    banner
    echo "  (Ctrl-C stops httpd and PostgreSQL)"
    trap 'bash "$ROOT_DIR/scripts/pg.sh" stop' EXIT
    bash "$ROOT_DIR/scripts/httpd.sh" foreground
    ;;
  background)
    bash "$ROOT_DIR/scripts/pg.sh" start
    bash "$ROOT_DIR/scripts/demo.sh"
    bash "$ROOT_DIR/scripts/httpd.sh" start
    banner
    echo "  (make stop stops it)"
    ;;
  stop)
    bash "$ROOT_DIR/scripts/httpd.sh" stop
    bash "$ROOT_DIR/scripts/pg.sh" stop
    ;;
  *) die "usage: run.sh foreground|background|stop" ;;
esac
