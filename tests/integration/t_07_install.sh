# SPDX-License-Identifier: Apache-2.0
# make install: everything the README's existing-Apache section needs, in
# Debian's layout, and an edited conf is never overwritten.

t_make_install() {
  local d=$T/inst f
  rm -rf "$d"
  make -C "$ROOT" --no-print-directory install DESTDIR="$d" >"$T/install.out" 2>&1 \
    || { tail -20 "$T/install.out"; fail "make install failed"; return 1; }
  for f in usr/lib/apache2/modules/mod_cmp.so usr/lib/apache2/modules/mod_cmp_admin.so \
           usr/lib/apache2/modules/libcmpcore.so.0 \
           etc/apache2/mods-available/cmp.load etc/apache2/mods-available/cmp.conf \
           etc/apache2/mods-available/cmp_admin.load etc/apache2/mods-available/cmp_admin.conf \
           etc/apache2/sites-available/mod-cmp.conf \
           usr/local/share/mod-cmp/ui/index.html usr/local/share/mod-cmp/ui/app.js \
           usr/local/share/mod-cmp/ui/favicon.svg usr/local/share/mod-cmp/api-errors/401.json \
           usr/local/share/mod-cmp/sql/001_schema.sql usr/local/sbin/cmp-db-migrate \
           usr/local/bin/cmpadm usr/local/share/doc/mod-cmp/directives.md; do
    [ -s "$d/$f" ] || fail "make install left out /$f" || return 1
  done
  [ "$(ls "$d/usr/local/share/mod-cmp/sql" | wc -l)" = "$(ls "$ROOT"/sql/*.sql | wc -l)" ] \
    || fail "not every migration installed" || return 1
  grep -q "^# Depends: cmp" "$d/etc/apache2/mods-available/cmp_admin.load" \
    || fail "cmp_admin.load does not depend on cmp" || return 1
  grep -q "/usr/local/share/mod-cmp/ui/" "$d/etc/apache2/sites-available/mod-cmp.conf" \
    || fail "the example site does not point at the installed console" || return 1
  ! grep -q "password=" "$d/etc/apache2/mods-available/cmp.conf" \
    || fail "cmp.conf (world-readable) holds a password" || return 1
  # the installed migration command finds the installed migrations
  grep -q "^sql_dir=\${CMP_SQL_DIR:-/usr/local/share/mod-cmp/sql}" "$d/usr/local/sbin/cmp-db-migrate" \
    || fail "cmp-db-migrate does not use the installed migrations" || return 1
  # a second install keeps an edited conf and puts the new one beside it
  echo "CMPConfirmSweepInterval 17" >>"$d/etc/apache2/mods-available/cmp.conf"
  make -C "$ROOT" --no-print-directory install DESTDIR="$d" >"$T/install2.out" 2>&1 || fail "second install" || return 1
  grep -q "CMPConfirmSweepInterval 17" "$d/etc/apache2/mods-available/cmp.conf" \
    || fail "the edited cmp.conf was overwritten" || return 1
  [ -s "$d/etc/apache2/mods-available/cmp.conf.dist" ] || fail "no cmp.conf.dist" || return 1
  [ ! -e "$d/etc/apache2/mods-available/cmp_admin.conf.dist" ] \
    || fail "an unedited conf was treated as edited" || return 1
  # the installed modules load in an Apache with the shipped confs (configtest)
  cat >"$T/inst-httpd.conf" <<CONF
ServerRoot "$T"
ServerName 127.0.0.1
Listen 127.0.0.1:1
PidFile "$T/inst-httpd.pid"
ErrorLog "$T/inst-error.log"
LoadModule mpm_event_module $HTTPD_MODULES/mod_mpm_event.so
LoadModule authz_core_module $HTTPD_MODULES/mod_authz_core.so
LoadModule alias_module $HTTPD_MODULES/mod_alias.so
LoadModule cmp_module $d/usr/lib/apache2/modules/mod_cmp.so
LoadModule cmp_admin_module $d/usr/lib/apache2/modules/mod_cmp_admin.so
Include "$d/etc/apache2/mods-available/cmp.conf"
Include "$d/etc/apache2/mods-available/cmp_admin.conf"
CONF
  env ${HTTPD_PRELOAD:+LD_PRELOAD=$HTTPD_PRELOAD} "$HTTPD_BIN" -t -f "$T/inst-httpd.conf" >"$T/inst-t.out" 2>&1 \
    || { cat "$T/inst-t.out"; fail "configtest with the installed modules and confs"; }
}
run_test "make install: modules, confs (an edited one kept), example site, console, migrations, cmp-db-migrate, cmpadm" \
    t_make_install
