#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An httpd instance under $VAR_DIR/$HTTPD_INSTANCE (default: httpd) that loads
# the modules from build/, listening on $HTTP_PORT and $HTTPS_PORT.
#   httpd.sh start | stop | graceful | foreground | conf
set -euo pipefail
. "$(dirname "$0")/lib.sh"
INSTANCE=${HTTPD_INSTANCE:-httpd}
INSTANCE_DIR="$VAR_DIR/$INSTANCE"
CONF="$INSTANCE_DIR/httpd.conf"

tls() {
  [ -f "$VAR_DIR/tls/server.pem" ] && return 0
  mkdir -p "$VAR_DIR/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$VAR_DIR/tls/server.key" -out "$VAR_DIR/tls/server.pem" -days 825 \
      -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
      2>/dev/null
  chmod 600 "$VAR_DIR/tls/server.key"
}

conf() {
  mkdir -p "$INSTANCE_DIR/run"
  tls
  make_traversable www-data "$INSTANCE_DIR" "$ROOT_DIR/htdocs/ui"
  local ug=""
  if [ "$(id -u)" = 0 ]; then
    ug=$'User www-data\nGroup www-data'
    chown www-data "$INSTANCE_DIR/run"
  fi
  local url; url=${CMP_DATABASE_URL:-$(bash "$ROOT_DIR/scripts/pg.sh" url)}
  sed -e "s|@INSTANCE_DIR@|$INSTANCE_DIR|g" -e "s|@VAR_DIR@|$VAR_DIR|g" \
      -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
      -e "s|@BUILD_DIR@|$BUILD_DIR|g" -e "s|@HTTPD_MODULES@|$HTTPD_MODULES|g" \
      -e "s|@DATABASE_URL@|$url|g" -e "s|@ROOT_DIR@|$ROOT_DIR|g" \
      "$ROOT_DIR/conf/httpd-demo.conf.in" > "$CONF.tmp"
  # multi-line substitution
  awk -v ug="$ug" '{ if ($0 == "@USER_GROUP@") print ug; else print }' "$CONF.tmp" > "$CONF"
  rm -f "$CONF.tmp"
  chmod 600 "$CONF"
}

pid() { cat "$INSTANCE_DIR/httpd.pid" 2>/dev/null || true; }

running() { local p; p=$(pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

start() {
  conf
  running && stop
  : > "$INSTANCE_DIR/error.log"
  # HTTPD_PRELOAD: e.g. libasan.so, for modules built with make SAN=-fsanitize=address
  env ${HTTPD_PRELOAD:+LD_PRELOAD=$HTTPD_PRELOAD} "$HTTPD_BIN" -f "$CONF" -k start \
    || { cat "$INSTANCE_DIR/error.log" >&2; die "httpd did not start"; }
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/"; then return 0; fi
    sleep 0.1
  done
  cat "$INSTANCE_DIR/error.log" >&2
  die "httpd is not answering on port $HTTP_PORT"
}

stop() {
  running || return 0
  local p; p=$(pid)
  "$HTTPD_BIN" -f "$CONF" -k stop 2>/dev/null || kill "$p" 2>/dev/null || true
  # the daemon leads its process group: wait for all of it (children under
  # a sanitizer take seconds to exit), then kill what is left of it, so that
  # no child keeps the listening sockets
  for _ in $(seq 1 300); do kill -0 -- "-$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
  sleep 0.5
}

# A graceful restart (what logrotate does every night): children finish
# their requests, new ones read the configuration anew.
graceful() {
  running || die "httpd ($INSTANCE) is not running"
  env ${HTTPD_PRELOAD:+LD_PRELOAD=$HTTPD_PRELOAD} "$HTTPD_BIN" -f "$CONF" -k graceful
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  graceful) graceful ;;
  conf) conf ;;
  foreground) conf; exec "$HTTPD_BIN" -f "$CONF" -DFOREGROUND ;;
  *) die "usage: httpd.sh start|stop|graceful|foreground|conf" ;;
esac
