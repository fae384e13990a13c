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
