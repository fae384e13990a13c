/* SPDX-License-Identifier: Apache-2.0 */
/* The approval queue (RFC 9483 4.4 delayed delivery): requests of RA
 * Profiles that require approval wait in pending_request; an administrator
 * approves or rejects each (who and why, audited). The device that sent it
 * learns the decision by its next pollReq (cmp_server.c). */
#include <string.h>

#include <apr_strings.h>

#include "admin.h"

#define APPROVAL_STATE \
    "CASE WHEN q.state = 'waiting' AND q.expires_at <= now() THEN 'expired' " \
    "ELSE q.state END"
#define APPROVAL_JSON \
    "json_build_object('uuid', q.uuid, 'state', " APPROVAL_STATE ", " \
    "'requestType', q.body_type, 'subject', q.subject_dn, 'subjectAltNames', " \
    "to_json(coalesce(string_to_array(nullif(q.sans, ''), ', '), '{}')), " \
    "'keyType', q.key_type, 'sender', q.sender, 'raProfileUuid', r.uuid, " \
    "'raProfileName', r.name, 'authorityUuid', a.uuid, 'cmpProfileName', " \
    "p.name, 'createdAt', q.created_at, 'expiresAt', q.expires_at, " \
    "'decidedBy', q.decided_by, 'decidedAt', q.decided_at, 'reason', " \
    "q.reason, 'certificateUuid', c.uuid)"
#define APPROVAL_FROM \
    " FROM pending_request q JOIN ra_profile r ON r.id = q.ra_profile_id " \
    "JOIN authority a ON a.id = r.authority_id JOIN cmp_profile p ON p.id = " \
    "q.cmp_profile_id LEFT JOIN certificate c ON c.id = q.certificate_id "

/* the longest reason or comment kept */
#define REASON_MAX 500

static void list(admin_req_t *rq, admin_resp_t *rs)
{
    const char *state = apr_table_get(rq->query, "state"), *vals[4];
    const char *ra = apr_table_get(rq->query, "raProfileUuid");
    long long limit, offset;
    json_t *o;

    if (state != NULL && strcmp(state, "waiting") != 0 && strcmp(state, "approved") != 0
            && strcmp(state, "rejected") != 0 && strcmp(state, "delivered") != 0
            && strcmp(state, "expired") != 0) {
        admin_error(rq, rs, 400, "state must be waiting, approved, rejected, "
                    "delivered or expired");
        return;
    }
    if (ra != NULL && !admin_is_uuid(ra)) {
        admin_error(rq, rs, 400, "raProfileUuid must be a UUID");
        return;
    }
    if (admin_query_int(rq, rs, "limit", 100, 1, 1000, &limit)
            || admin_query_int(rq, rs, "offset", 0, 0, 100000000, &offset))
        return;
    vals[0] = state;
    vals[1] = ra;
    vals[2] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)limit);
    vals[3] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)offset);
    /* the oldest waiting first: the queue in its order */
    if (admin_sql_json(rq, rs, "WITH f AS (SELECT q.id, " APPROVAL_JSON " AS j"
                       APPROVAL_FROM "WHERE ($1::text IS NULL OR " APPROVAL_STATE
                       " = $1) AND ($2::uuid IS NULL OR r.uuid = $2::uuid)) "
                       "SELECT json_build_object('total', (SELECT count(*) FROM f), "
                       "'limit', $3::int, 'offset', $4::int, 'approvals', coalesce(("
                       "SELECT json_agg(j ORDER BY id) FROM (SELECT * FROM f ORDER "
                       "BY id LIMIT $3::int OFFSET $4::int) x), '[]'))::text",
                       4, vals, &o))
        return;
    admin_json(rq, rs, 200, json_incref(o));
}

static int load_one(admin_req_t *rq, admin_resp_t *rs, json_t **out)
{
    const char *vals[1] = {admin_seg(rq, 1)};

    *out = NULL;
    if (admin_sql_json(rq, rs, "SELECT " APPROVAL_JSON "::text" APPROVAL_FROM
                       "WHERE q.uuid = $1::uuid", 1, vals, out))
        return 1;
    if (*out != NULL)
        return 0;
    admin_error(rq, rs, 404, "Request %s not found in the approval queue", vals[0]);
    return 1;
}

static void get_one(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *o;

    if (!load_one(rq, rs, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

/* approve (reason: an optional comment) or reject (reason required) */
static void decide(admin_req_t *rq, admin_resp_t *rs, int approve)
{
    const char *reason = NULL, *vals[4];
    json_t *o;
    PGresult *r;

    if (rq->body != NULL
            && (admin_need_object(rq, rs)
                || admin_type_error(rq, rs, cmp_json_str(rq->body, "reason", &reason),
                                    "reason", "a string")))
        return;
    if (reason != NULL && *reason == '\0')
        reason = NULL;
    if (!approve && reason == NULL) {
        admin_invalid(rq, rs, json_pack("[s]", "reason is required: the device "
                                        "is told it"));
        return;
    }
    if (reason != NULL && strlen(reason) > REASON_MAX) {
        admin_invalid(rq, rs, json_pack("[s]", apr_psprintf(rq->p, "reason must "
                                        "be at most %d characters", REASON_MAX)));
        return;
    }
    if (load_one(rq, rs, &o))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "approval:", admin_seg(rq, 1), NULL);
    rq->audit_name = json_string_value(json_object_get(o, "subject"));
    if (strcmp(json_string_value(json_object_get(o, "state")), "waiting") != 0) {
        admin_error(rq, rs, 409, "the request is %s: only a waiting one is "
                    "decided", json_string_value(json_object_get(o, "state")));
        return;
    }
    vals[0] = admin_seg(rq, 1);
    vals[1] = approve ? "approved" : "rejected";
    vals[2] = rq->actor;
    vals[3] = reason;
    if (admin_sql(rq, rs, "UPDATE pending_request SET state = $2, decided_by = "
                  "$3, decided_at = now(), reason = $4 WHERE uuid = $1::uuid AND "
                  "state = 'waiting' AND expires_at > now() RETURNING id", 4, vals,
                  NULL, &r))
        return;
    if (PQntuples(r) != 1) {
        admin_error(rq, rs, 409, "the request was decided or expired meanwhile");
        return;
    }
    if (!load_one(rq, rs, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

static void approve(admin_req_t *rq, admin_resp_t *rs)
{
    decide(rq, rs, 1);
}

static void reject(admin_req_t *rq, admin_resp_t *rs)
{
    decide(rq, rs, 0);
}

const admin_route_t admin_approval_routes[] = {
    {ADMIN_GET, "/approvals", list, " state raProfileUuid limit offset ", 0},
    {ADMIN_GET, "/approvals/{uuid}", get_one, NULL, 0},
    {ADMIN_POST, "/approvals/{uuid}/approve", approve, NULL, 0},
    {ADMIN_POST, "/approvals/{uuid}/reject", reject, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
