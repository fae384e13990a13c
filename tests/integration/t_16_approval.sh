# SPDX-License-Identifier: Apache-2.0
# Approval with delayed delivery (RFC 9483 4.4): an RA Profile that requires
# an administrator's approval answers 'waiting'; the client polls (openssl
# cmp and cmpclient poll by themselves) until the API approves or rejects.

# appr_setup: the RA Profile 'approve' (checkAfter 1 s) on the demo CA and
# the CMP Profile 'approve' (MAC requests with the demo secret, signed
# responses) serving it; made once.
appr_setup() {
  local ca ra
  [ -n "$(adm_uuid /raProfiles approve)" ] && return 0
  ca=$(adm_uuid /authorities demo)
  ra=$(fx_ra_profile "$ca" '{"name": "approve", "requireApproval": true, "approvalCheckAfter": 1}' enable)
  fx_cmp_profile "$(fx_demo_secret '{name: "approve", signingCertificateUuid: $sig, raProfileUuid: $ra}' \
      "$ra" "$(cat "$VAR_DIR/demo/signer.uuid")")" enable "$ca/raProfiles/$ra" >/dev/null
}

# appr_wait SUBJECT: the uuid of the waiting request for SUBJECT, once the
# queue has it (at most 20 s).
appr_wait() {
  local i u
  for i in $(seq 1 100); do
    u=$(adm GET "/approvals?state=waiting" | jq -r --arg s "$1" '.approvals[] | select(.subject == $s) | .uuid')
    [ -n "$u" ] && { echo "$u"; return 0; }
    sleep 0.2
  done
  echo "no waiting request for $1" >&2
  return 1
}

# appr_ir NAME [openssl cmp options]: openssl cmp ir for /CN=NAME to the
# profile 'approve', in the background; output in $T/NAME.out, exit status
# in $T/NAME.rc when it ends.
appr_ir() {
  local n=$1
  shift
  newkey "$T/$n.key" ec
  rm -f "$T/$n.rc"
  (set +e; openssl cmp -cmd ir -server "$BASE/approve" $(mac_args) -newkey "$T/$n.key" \
       -subject "/CN=$n" -certout "$T/$n.pem" "$@" >"$T/$n.out" 2>&1; echo $? >"$T/$n.rc") &
}

# appr_done NAME: waits (at most 30 s) for the client of appr_ir; prints its status.
appr_done() {
  local i
  for i in $(seq 1 150); do
    [ -s "$T/$1.rc" ] && { cat "$T/$1.rc"; return 0; }
    sleep 0.2
  done
  echo "the client for $1 did not end" >&2
  return 1
}

t_approval_approved_openssl_polls() {
  local u cert nonce
  appr_setup
  appr_ir appr-1 -sans appr-1.example
  u=$(appr_wait CN=appr-1)
  expect_status 200 GET "/approvals/$u"
  [ "$(jf .state)" = waiting ] && [ "$(jf .requestType)" = ir ] && [ "$(jf .keyType)" = EC ] \
    && [ "$(jf .sender)" = cmp:approve:shared-secret ] && [ "$(jf .raProfileName)" = approve ] \
    && [ "$(jf '.subjectAltNames | join(",")')" = "DNS:appr-1.example" ] || fail "the queue entry: $(cat "$T/api.json")"
  # nothing issued while it waits; the client polls (each pollRep moves
  # the nonce the next pollReq must echo)
  nonce=$(sql "SELECT encode(last_nonce, 'hex') FROM pending_request WHERE uuid = '$u'")
  sleep 2.5
  [ ! -s "$T/appr-1.rc" ] || fail "the client ended before a decision: $(cat "$T/appr-1.out")"
  [ "$(sql "SELECT encode(last_nonce, 'hex') FROM pending_request WHERE uuid = '$u'")" != "$nonce" ] \
    || fail "no pollReq answered"
  [ "$(sql "SELECT count(*) FROM certificate WHERE subject_dn = 'CN=appr-1'")" = 0 ] || fail "issued before approval"
  expect_status 200 POST "/approvals/$u/approve" '{"reason": "a known device"}'
  [ "$(jf .state)" = approved ] && [ "$(jf .decidedBy)" = user:admin ] || fail "approve: $(cat "$T/api.json")"
  [ "$(appr_done appr-1)" = 0 ] || fail "the client failed: $(cat "$T/appr-1.out")"
  grep -q "received POLLREP" "$T/appr-1.out" && grep -q "sending CERTCONF" "$T/appr-1.out" \
    || fail "no pollRep or certConf: $(cat "$T/appr-1.out")"
  verify_cert "$T/appr-1.pem" "$CA_CERT_FILE"
  [ "$(cert_status "$T/appr-1.pem")" = valid ] || fail "not valid after certConf"
  expect_status 200 GET "/approvals/$u"
  cert=$(jf .certificateUuid)
  [ "$(jf .state)" = delivered ] && [ "$cert" != null ] || fail "after delivery: $(cat "$T/api.json")"
  [ "$(sql "SELECT uuid FROM certificate WHERE serial = '$(serial_of "$T/appr-1.pem")'")" = "$cert" ] || fail "link"
  # audited: queued by the device, approved by the administrator
  [ "$(sql "SELECT string_agg(actor || ' ' || result, '; ' ORDER BY id) FROM audit_event
            WHERE object = 'approval:$u'")" = "cmp:approve:shared-secret waiting for approval; user:admin ok" ] \
    || fail "audit: $(sql "SELECT actor, action, result FROM audit_event WHERE object = 'approval:$u'")"
}
run_test "approval: the ir waits, openssl cmp polls (pollRep), the API approves, the certificate arrives and is confirmed" \
    t_approval_approved_openssl_polls

t_approval_rejected() {
  local u
  appr_setup
  appr_ir appr-2
  u=$(appr_wait CN=appr-2)
  expect_status 422 POST "/approvals/$u/reject" '{}'
  grep -q "reason is required" "$T/api.json" || fail "422 text"
  expect_status 200 POST "/approvals/$u/reject" '{"reason": "not in the inventory"}'
  [ "$(appr_done appr-2)" != 0 ] || fail "the client got a certificate"
  grep -q "rejection" "$T/appr-2.out" && grep -q "PKIFailureInfo: notAuthorized" "$T/appr-2.out" \
    && grep -q "request rejected by an administrator: not in the inventory" "$T/appr-2.out" \
    || fail "the client was not told: $(tail -5 "$T/appr-2.out")"
  [ "$(sql "SELECT count(*) FROM certificate WHERE subject_dn = 'CN=appr-2'")" = 0 ] || fail "issued"
  expect_status 200 GET "/approvals/$u"
  [ "$(jf .state)" = rejected ] && [ "$(jf .reason)" = "not in the inventory" ] || fail "state"
  expect_status 409 POST "/approvals/$u/approve" '{}'
}
run_test "approval: a rejection with its reason reaches the polling client; nothing is issued" t_approval_rejected

t_approval_survives_restart_other_node() {
  local u pid rc=0
  appr_setup
  newkey "$T/appr-3.key" ec
  "$BUILD/cmpclient" -url "$BASE/approve" -url2 "$BASE2/approve" -secret "$(cat "$CMP_SECRET_FILE")" \
      -ref demo -trusted "$CA_CERT_FILE" -newkey "$T/appr-3.key" -subject appr-3 \
      -certout "$T/appr-3.pem" >"$T/appr-3.out" 2>&1 &
  pid=$!
  u=$(appr_wait CN=appr-3)
  # node 1, which queued it, restarts; node 2 answers the polls
  bash "$ROOT/scripts/httpd.sh" stop >/dev/null
  bash "$ROOT/scripts/httpd.sh" start >/dev/null
  expect_status 200 POST "/approvals/$u/approve" '{}'
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "cmpclient failed ($rc): $(cat "$T/appr-3.out")"
  [ "$(cert_status "$T/appr-3.pem")" = valid ] || fail "not valid"
  grep -q "issued certificate $(serial_of "$T/appr-3.pem") for CN=appr-3" "$VAR_DIR/httpd2/error.log" \
    || fail "node 2 did not issue it"
}
run_test "approval: the waiting request survives an httpd restart and is delivered by the other node" \
    t_approval_survives_restart_other_node

t_approval_expires() {
  local u
  appr_setup
  appr_ir appr-4
  u=$(appr_wait CN=appr-4)
  sql "UPDATE pending_request SET expires_at = now() WHERE uuid = '$u'" >/dev/null
  [ "$(appr_done appr-4)" != 0 ] || fail "the client got a certificate"
  grep -q "request expired before it was approved: no decision within 86400 s" "$T/appr-4.out" \
    || fail "the late poller was not told: $(tail -5 "$T/appr-4.out")"
  expect_status 200 GET "/approvals/$u"
  [ "$(jf .state)" = expired ] || fail "state $(jf .state)"
  expect_status 409 POST "/approvals/$u/approve" '{}'
  grep -q "the request is expired" "$T/api.json" || fail "409 text"
}
run_test "approval: a request not decided in time expires and says so to the late poller" t_approval_expires

t_approval_queue_bound() {
  local ca ra
  appr_setup
  ca=$(adm_uuid /authorities demo)
  ra=$(adm_uuid /raProfiles approve)
  expect_status 422 PUT "/authorities/$ca/raProfiles/$ra" '{"maxPendingApprovals": 0}'
  grep -q "maxPendingApprovals must be 1..100000" "$T/api.json" || fail "422 text"
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" \
      "{\"maxPendingApprovals\": $(( $(adm GET "/approvals?state=waiting&raProfileUuid=$ra" | jq .total) + 1 ))}"
  # one more waits (its client gives up after 2 s; the request stays queued)
  appr_ir appr-5 -total_timeout 2
  appr_wait CN=appr-5 >/dev/null
  appr_done appr-5 >/dev/null
  newkey "$T/appr-6.key" ec
  cmp -cmd ir -server "$BASE/approve" $(mac_args) -newkey "$T/appr-6.key" -subject /CN=appr-6 \
      -total_timeout 5 && fail "queued beyond the bound"
  expect_output "PKIFailureInfo: systemUnavail"
  expect_output "too many requests wait for approval: RA Profile approve has"
  expect_status 200 PUT "/authorities/$ca/raProfiles/$ra" '{"maxPendingApprovals": 1000}'
  [ "$(jf .maxPendingApprovals)" = 1000 ] && [ "$(jf .requireApproval)" = true ] || fail "RA Profile"
}
run_test "approval: the queue of an RA Profile has a bound (systemUnavail beyond it)" t_approval_queue_bound

t_approval_kur_signed_polls() {
  local u
  appr_setup
  appr_ir appr-7
  u=$(appr_wait CN=appr-7)
  expect_status 200 POST "/approvals/$u/approve" '{}'
  [ "$(appr_done appr-7)" = 0 ] || fail "ir: $(cat "$T/appr-7.out")"
  # a kur, signed with the certificate it updates: its pollReqs too
  newkey "$T/appr-7b.key" ec
  (set +e; openssl cmp -cmd kur -server "$BASE/approve" -trusted "$CA_CERT_FILE" -cert "$T/appr-7.pem" \
       -key "$T/appr-7.key" -newkey "$T/appr-7b.key" -certout "$T/appr-7b.pem" >"$T/appr-7b.out" 2>&1
   echo $? >"$T/appr-7b.rc") &
  u=$(appr_wait CN=appr-7)
  expect_status 200 GET "/approvals/$u"
  [ "$(jf .requestType)" = kur ] && [[ "$(jf .sender)" == "cmp:CN=appr-7" ]] || fail "$(cat "$T/api.json")"
  expect_status 200 POST "/approvals/$u/approve" '{}'
  [ "$(appr_done appr-7b)" = 0 ] || fail "kur: $(cat "$T/appr-7b.out")"
  [ "$(cert_status "$T/appr-7b.pem")" = valid ] && [ "$(cert_status "$T/appr-7.pem")" = revoked ] \
    || fail "the new one valid, the old one superseded"
}
run_test "approval: a kur signed with the old certificate waits, polls signed and is delivered" \
    t_approval_kur_signed_polls

t_approval_api_checks() {
  local zero=00000000-0000-0000-0000-000000000000
  expect_status 404 GET "/approvals/$zero"
  expect_status 404 POST "/approvals/$zero/approve" '{}'
  expect_status 400 GET "/approvals?state=pending"
  expect_status 400 GET "/approvals?raProfileUuid=x"
  expect_status 200 GET "/approvals?state=delivered"
  [ "$(jf '.total >= 1')" = true ] || fail "delivered ones"
  expect_status 400 POST "/approvals/$zero/reject" '{"reason": 5}'
}
run_test "approval API: filters, 404s, a decided request is not decided again" t_approval_api_checks
