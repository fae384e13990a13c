#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run by .ci/debian13.sh inside the fresh Debian root, as root, in a clean
# clone at /src/main: what a new user does, in the README's order.
set -euo pipefail
cd /src/main
say() { printf '[inside %s] %s\n' "$(date +%T)" "$*"; }

say "make start (first call, on a machine with nothing installed)"
make start 2>&1 | tee /tmp/start.log

say "enrolling with the command make start printed"
# the commands after "Enroll a certificate:": openssl lines and their continuations
awk '/^Enroll a certificate:/ {on = 1; next}
     on && (cont || $1 == "openssl") {print; cont = /\\$/; next}
     on {exit}' /tmp/start.log > /tmp/enroll.sh
cat /tmp/enroll.sh
[ -s /tmp/enroll.sh ] || { echo "make start printed no enrollment command" >&2; exit 1; }
mkdir -p /tmp/enroll
(cd /tmp/enroll && bash -e /tmp/enroll.sh)
subject=$(openssl x509 -in /tmp/enroll/device.pem -noout -subject)
say "enrolled: $subject"
[[ $subject == *"CN"*"device-1"* ]] || { echo "unexpected certificate: $subject" >&2; exit 1; }
make stop

say "make test"
make test

say "make deb, installed into the system Apache"
make deb
apt-get install -y -qq ssl-cert >/dev/null
apt-get install -y -qq ./build/deb/libapache2-mod-cmp_*_amd64.deb >/dev/null
[ -e /etc/apache2/mods-enabled/cmp.load ] && [ -e /etc/apache2/mods-enabled/cmp_admin.load ] \
  || { echo "the package did not enable both modules" >&2; exit 1; }
[ "$(stat -c '%a %U' /etc/mod-cmp/secret.key)" = "600 root" ] || { echo "secret.key not made root-only" >&2; exit 1; }

say "the unedited confs, no database: Apache starts, the default site serves"
apache2ctl configtest
service apache2 start
curl -sf -o /dev/null http://127.0.0.1/ || { tail /var/log/apache2/error.log; exit 1; }
for i in $(seq 1 30); do grep -q CMP10021 /var/log/apache2/error.log && break; sleep 0.2; done
grep CMP10021 /var/log/apache2/error.log | head -1
grep -q "CMP10021: .*cannot connect to PostgreSQL" /var/log/apache2/error.log \
  || { echo "no log line saying the database cannot be reached" >&2; exit 1; }

say "the database: role, cmp-db-migrate, a CA and profile made with cmpadm"
service postgresql start
pw=$(openssl rand -hex 12)
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE cmp LOGIN PASSWORD '$pw';
CREATE DATABASE cmp OWNER cmp;
\c cmp
CREATE EXTENSION pgcrypto;
SQL
printf '127.0.0.1:5432:cmp:cmp:%s\n' "$pw" > /etc/mod-cmp/pgpass
chown www-data /etc/mod-cmp/pgpass; chmod 600 /etc/mod-cmp/pgpass
export DATABASE_URL="postgresql://cmp:$pw@127.0.0.1:5432/cmp" CMP_SECRET_KEY_FILE=/etc/mod-cmp/secret.key
cmp-db-migrate "$DATABASE_URL"
w=/tmp/deb; mkdir -p $w
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $w/ca.key -out $w/ca.pem \
  -subj "/CN=Debian package test CA" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
ca=$(jq -n --rawfile c $w/ca.pem --rawfile k $w/ca.key '{name: "debca", certificate: $c, privateKey: $k}' \
     | cmpadm POST /authorities - | jq -r .uuid)
ra=$(cmpadm POST "/authorities/$ca/raProfiles" '{"name": "debra", "validityDays": 30}' | jq -r .uuid)
cmpadm PATCH "/authorities/$ca/raProfiles/$ra/enable" >/dev/null
cmpp=$(jq -n --arg ra "$ra" '{name: "devices", variant: "v2", requestProtectionMethod: "sharedSecret",
         sharedSecret: "deb-secret-1", responseProtectionMethod: "sharedSecret", raProfileUuid: $ra}' \
       | cmpadm POST /cmpProfiles - | jq -r .uuid)
cmpadm PATCH "/cmpProfiles/$cmpp/enable" >/dev/null

say "the example site, with an administrators' CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $w/admca.key \
  -out /etc/mod-cmp/admin-ca.pem -subj "/CN=Test admin CA" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $w/alice.key \
  -subj "/CN=alice" -out $w/alice.csr 2>/dev/null
openssl x509 -req -in $w/alice.csr -CA /etc/mod-cmp/admin-ca.pem -CAkey $w/admca.key -CAcreateserial \
  -days 30 -out $w/alice.pem 2>/dev/null
a2dissite -q 000-default
a2enmod -q ssl
a2ensite -q mod-cmp
apache2ctl configtest
service apache2 reload
sleep 2

say "enrolling through the system Apache"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $w/dev.key
ok=0
for i in $(seq 1 20); do
  if openssl cmp -cmd ir -server http://127.0.0.1/.well-known/cmp/p/devices -ref devices \
       -secret pass:deb-secret-1 -newkey $w/dev.key -subject /CN=deb-device-1 -certout $w/dev.pem \
       >$w/cmp.out 2>&1; then ok=1; break; fi
  sleep 0.5
done
[ "$ok" = 1 ] || { cat $w/cmp.out; tail -20 /var/log/apache2/error.log; exit 1; }
openssl verify -CAfile $w/ca.pem $w/dev.pem
code=$(curl -s -o /dev/null -w '%{http_code}' -X TRACE http://127.0.0.1/.well-known/cmp/p/devices)
[ "$code" = 405 ] || { echo "TRACE answered $code: the example site sets TraceEnable off" >&2; exit 1; }
say "the admin API: 200 with an administrator's certificate, JSON 403 without"
code=$(curl -sk -o $w/api.json -w '%{http_code}' --cert $w/alice.pem --key $w/alice.key \
         https://127.0.0.1/admin/api/v1/cmpProfiles)
[ "$code" = 200 ] && jq -e '.[] | select(.name == "devices")' $w/api.json >/dev/null \
  || { echo "admin API with a client certificate: $code $(cat $w/api.json)" >&2; exit 1; }
code=$(curl -sk -o $w/api.json -w '%{http_code}' https://127.0.0.1/admin/api/v1/cmpProfiles)
[ "$code" = 403 ] && jq -e .message $w/api.json >/dev/null \
  || { echo "admin API without a certificate: $code $(head -c 200 $w/api.json)" >&2; exit 1; }
# a change by certificate is audited with the subject and its issuer
code=$(curl -sk -o $w/api.json -w '%{http_code}' --cert $w/alice.pem --key $w/alice.key -X PATCH \
         "https://127.0.0.1/admin/api/v1/cmpProfiles/$cmpp/enable")
[ "$code" = 204 ] || [ "$code" = 200 ] || { echo "PATCH enable: $code $(cat $w/api.json)" >&2; exit 1; }
actor=$(psql -X -At "$DATABASE_URL" -c "SELECT actor FROM audit_event ORDER BY id DESC LIMIT 1")
[ "$actor" = "cert:CN=alice (issuer CN=Test admin CA)" ] || { echo "audit actor: $actor" >&2; exit 1; }
service apache2 stop
service postgresql stop
say "the Debian package installs, enables and enrolls"
