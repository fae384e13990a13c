/* SPDX-License-Identifier: Apache-2.0 */
/* /certificates (search, details, revocation) and /auditLogs. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "admin.h"
#include "cmp_store.h"
#include "admin_pki.h"

#define CERT_JSON \
    "json_build_object('uuid', c.uuid, 'serialNumber', c.serial, 'subjectDn', " \
    "c.subject_dn, 'issuerDn', c.issuer_dn, 'subjectAltNames', c.sans, " \
    "'notBefore', c.not_before, 'notAfter', c.not_after, 'keyType', c.key_type, " \
    "'fingerprint', encode(c.key_fingerprint, 'hex'), 'status', c.status, " \
    "'revocationReason', c.revocation_reason, 'revokedAt', c.revoked_at, " \
    "'invalidityDate', c.invalidity_date, " \
    "'authorityUuid', a.uuid, 'raProfile', CASE WHEN r.id IS NULL THEN NULL " \
    "ELSE json_build_object('uuid', r.uuid, 'name', r.name) END, 'cmpProfile', " \
    "CASE WHEN p.id IS NULL THEN NULL ELSE json_build_object('uuid', p.uuid, " \
    "'name', p.name) END, 'createdAt', c.created_at)"
#define CERT_FROM \
    " FROM certificate c JOIN authority a ON a.id = c.authority_id LEFT JOIN " \
    "ra_profile r ON r.id = c.ra_profile_id LEFT JOIN cmp_profile p ON " \
    "p.id = c.cmp_profile_id "

/* The audit events the query's filters select (actor and object: a text
 * they contain; action: the action or its family, "cmp" for "cmp.ir"...;
 * certificateUuid: that certificate's history; from/to: a time range),
 * newest first: $1..$6 the filters, $7 the limit, $8 the offset. */
#define AUDIT_COLS \
    "e.id, e.at, e.actor, e.action, e.object, e.object_name, e.result, " \
    "e.details, c.uuid"
#define AUDIT_SELECTED \
    "SELECT " AUDIT_COLS " FROM audit_event e LEFT JOIN certificate c ON " \
    "c.id = e.certificate_id WHERE ($1::text IS NULL OR " \
    ADMIN_SQL_CONTAINS("e.actor", "$1") ") AND ($2::text IS NULL OR e.action " \
    "= $2 OR e.action LIKE " ADMIN_SQL_LIKE_TEXT("$2") " || '.%') AND ($3::text IS NULL OR " \
    ADMIN_SQL_CONTAINS("e.object", "$3") " OR " \
    ADMIN_SQL_CONTAINS("e.object_name", "$3") ") AND ($4::uuid IS NULL OR " \
    "e.certificate_id = (SELECT id FROM certificate WHERE uuid = $4::uuid)) " \
    "AND ($5::timestamptz IS NULL OR e.at >= $5::timestamptz) AND " \
    "($6::timestamptz IS NULL OR e.at < $6::timestamptz)"
#define AUDIT_JSON \
    "json_build_object('id', e.id, 'at', e.at, 'actor', e.actor, 'action', " \
    "e.action, 'object', e.object, 'objectName', e.object_name, " \
    "'certificateUuid', e.uuid, 'result', e.result, 'details', e.details)"

/* The query's filters, into vals: each names its argument, and how it is
 * checked ("raProfileUuid:uuid", "to:date"; else any text); a bad one is a
 * 400 naming it, and non-zero. The paging ones (limit, offset) follow them
 * in vals. */
static int query_filters(admin_req_t *rq, admin_resp_t *rs, const char *const *specs,
                         int n, long long limit, long long offset, const char **vals)
{
    int i;

    for (i = 0; i < n; i++) {
        const char *colon = strchr(specs[i], ':');
        const char *name = colon != NULL ? apr_pstrndup(rq->p, specs[i], (apr_size_t)(colon - specs[i]))
                                         : specs[i];

        vals[i] = apr_table_get(rq->query, name);
        if (vals[i] == NULL || colon == NULL)
            continue;
        if (strcmp(colon, ":uuid") == 0 && !admin_is_uuid(vals[i])) {
            admin_error(rq, rs, 400, "%s is not a UUID", name);
            return 1;
        }
        if (strcmp(colon, ":date") == 0 && !admin_is_rfc3339(vals[i])) {
            admin_error(rq, rs, 400, "%s must be a date (2027-01-31) or an RFC 3339 "
                        "date-time with its offset (2027-01-31T12:00:00Z)", name);
            return 1;
        }
    }
    vals[n] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)limit);
    vals[n + 1] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)offset);
    return 0;
}

/* The order a sort argument asks ("notAfter", "-notAfter": descending),
 * as SQL on f's columns, ties broken by id; NULL when it names none. */
static const char *sort_sql(apr_pool_t *p, const char *sort)
{
    static const char *const keys[][2] = {
        {"createdAt", "id"}, {"notAfter", "not_after"}, {"notBefore", "not_before"},
        {"subjectDn", "subject_dn"}, {"serialNumber", "serial"}, {"revokedAt", "revoked_at"}};
    int desc = sort != NULL && *sort == '-';
    size_t i;

    if (sort == NULL)
        return "id DESC";
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(sort + desc, keys[i][0]) == 0)
            return apr_pstrcat(p, keys[i][1], desc ? " DESC NULLS LAST" : " ASC NULLS LAST",
                               ", id", desc ? " DESC" : "", NULL);
    return NULL;
}

static void list_certificates(admin_req_t *rq, admin_resp_t *rs)
{
    static const char *const filters[] = {"subject", "serial", "status", "raProfileUuid:uuid",
                                          "cmpProfileUuid:uuid", "expiresBefore:date",
                                          "expiresAfter:date", "authorityUuid:uuid", "keyType",
                                          "issuedAfter:date", "issuedBefore:date"};
    const char *vals[13], *order;
    long long limit, offset;
    const char *status = apr_table_get(rq->query, "status");
    const char *kt = apr_table_get(rq->query, "keyType");
    json_t *o;

    if (admin_query_int(rq, rs, "limit", 100, 1, 1000, &limit)
            || admin_query_int(rq, rs, "offset", 0, 0, INT_MAX, &offset))
        return;
    if (status != NULL && strcmp(status, "valid") != 0 && strcmp(status, "revoked") != 0
            && strcmp(status, "pending") != 0 && strcmp(status, "rejected") != 0) {
        admin_error(rq, rs, 400, "status must be valid, revoked, pending or rejected");
        return;
    }
    if (kt != NULL && (*kt == '\0' || strlen(kt) > 32
                       || strspn(kt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789-") != strlen(kt))) {
        admin_error(rq, rs, 400, "keyType must be a key type such as EC, RSA, ED25519");
        return;
    }
    if ((order = sort_sql(rq->p, apr_table_get(rq->query, "sort"))) == NULL) {
        admin_error(rq, rs, 400, "sort must be createdAt, notAfter, notBefore, subjectDn, "
                    "serialNumber or revokedAt, with a leading - for descending");
        return;
    }
    if (query_filters(rq, rs, filters, 11, limit, offset, vals))
        return;
    if (admin_sql_json(rq, rs, apr_pstrcat(rq->p, "WITH f AS (SELECT c.id, c.not_after, "
                       "c.not_before, c.subject_dn, c.serial, c.revoked_at, " CERT_JSON " AS j" CERT_FROM
                       "WHERE ($1::text IS NULL OR " ADMIN_SQL_CONTAINS("c.subject_dn", "$1")
                       ") AND ($2::text IS NULL OR c.serial = "
                       "lower(ltrim($2, '0'))) AND ($3::text IS NULL OR c.status = $3) "
                       "AND ($4::uuid IS NULL OR r.uuid = $4::uuid) AND ($5::uuid IS "
                       "NULL OR p.uuid = $5::uuid) AND ($6::timestamptz IS NULL OR "
                       "c.not_after < $6::timestamptz) AND ($7::timestamptz IS NULL OR "
                       "c.not_after >= $7::timestamptz) AND ($8::uuid IS NULL OR a.uuid = "
                       "$8::uuid) AND ($9::text IS NULL OR upper(c.key_type) = upper($9)) "
                       "AND ($10::timestamptz IS NULL OR c.created_at >= $10::timestamptz) "
                       "AND ($11::timestamptz IS NULL OR c.created_at < $11::timestamptz)) "
                       "SELECT json_build_object('total', (SELECT count(*) FROM f), "
                       "'limit', $12::int, 'offset', $13::int, 'certificates', coalesce(("
                       "SELECT json_agg(j ORDER BY ", order, ") FROM (SELECT * FROM f ORDER "
                       "BY ", order, " LIMIT $12::int OFFSET $13::int) x), '[]'))::text",
                       NULL), 13, vals, &o))
        return;
    admin_json(rq, rs, 200, json_incref(o));
}

static int load_one(admin_req_t *rq, admin_resp_t *rs, json_t **out)
{
    const char *vals[1] = {admin_seg(rq, 1)};
    PGresult *r;
    size_t n;
    unsigned char *der;

    *out = NULL;
    if (admin_sql(rq, rs, "SELECT " CERT_JSON "::text, c.der" CERT_FROM
                  "WHERE c.uuid = $1::uuid", 1, vals, NULL, &r))
        return 1;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "Certificate %s not found", vals[0]);
        return 1;
    }
    *out = cmp_json_own(rq->p, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    der = cmp_db_bytea(rq->p, r, 0, 1, &n);
    if (*out != NULL)
        admin_cert_fields(rq->p, *out, der, n);
    return *out == NULL;
}

/* A certificate with its history: the audit events of it, oldest first
 * (enrolled, confirmed, superseded, revoked, released; by CMP or by an
 * administrator). */
static void get_certificate(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 1)};
    json_t *o, *h;

    if (load_one(rq, rs, &o)
            || admin_sql_json(rq, rs, "SELECT coalesce(json_agg(" AUDIT_JSON
                              " ORDER BY e.id), '[]')::text FROM (SELECT "
                              AUDIT_COLS " FROM audit_event e JOIN certificate c "
                              "ON c.id = e.certificate_id WHERE c.uuid = $1::uuid "
                              "ORDER BY e.id LIMIT 1000) e", 1, vals, &h))
        return;
    json_object_set(o, "history", h);
    admin_json(rq, rs, 200, json_incref(o));
}

/* The body's reason (an RFC 5280 CRLReason name or code; none is
 * unspecified), if it is one a certificate may be revoked for. */
static int reason_code(const json_t *body, int *code)
{
    const char *name = NULL;
    long long n = 0;

    *code = 0;
    if (body == NULL || json_object_get(body, "reason") == NULL)
        return 1;
    if (cmp_json_int(body, "reason", &n) == 1)
        *code = n >= 0 && n <= 10 ? (int)n : -1;
    else if (cmp_json_str(body, "reason", &name) == 1)
        *code = cmp_store_revocation_reason_code(name);
    else
        return 0;
    return cmp_store_revocation_reason_ok(*code);
}

/* The id of the path's certificate (*inv: the epoch seconds of the RFC
 * 3339 date inv_text, 0 when NULL); non-zero when the answer is set (404,
 * 503). */
static int cert_for_change(admin_req_t *rq, admin_resp_t *rs,
                           const char *inv_text, long long *id, long long *inv)
{
    const char *vals[2] = {admin_seg(rq, 1), inv_text};
    PGresult *r;
    json_t *o;

    if (load_one(rq, rs, &o)
            || admin_sql(rq, rs, "SELECT id, coalesce(extract(epoch from "
                         "$2::timestamptz)::bigint, 0) FROM certificate WHERE "
                         "uuid = $1::uuid", 2, vals, NULL, &r))
        return 1;
    rq->audit_object = apr_pstrcat(rq->p, "certificate:", vals[0], NULL);
    *id = cmp_db_ll(r, 0, 0);
    *inv = cmp_db_ll(r, 0, 1);
    return 0;
}

/* The answer to a revocation or release cmp_store made (rv, *updated): the
 * certificate as it is now, or 422 with rule when it did not apply. */
static void cert_changed(admin_req_t *rq, admin_resp_t *rs, apr_status_t rv,
                         int updated, const char *what, const char *rule)
{
    json_t *o;

    if (rv != APR_SUCCESS) {
        admin_error(rq, rs, rv == APR_ECONNRESET ? 503 : 500,
                    "the certificate could not be %s", what);
        return;
    }
    if (!updated) {
        admin_invalid(rq, rs, json_pack("[s]", rule));
        return;
    }
    if (!load_one(rq, rs, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

static void revoke_certificate(admin_req_t *rq, admin_resp_t *rs)
{
    const char *inv_text = NULL, *problem;
    long long id, inv;
    int code, updated = 0;
    apr_status_t rv;

    if (rq->body != NULL && !json_is_object(rq->body)) {
        admin_error(rq, rs, 400, "the body must be a JSON object");
        return;
    }
    if (!reason_code(rq->body, &code)) {
        admin_invalid(rq, rs, json_pack("[s]", "reason must be an RFC 5280 "
                                        "CRLReason name or code (not "
                                        "removeFromCRL)"));
        return;
    }
    if (rq->body != NULL && json_object_get(rq->body, "invalidityDate") != NULL
            && !json_is_null(json_object_get(rq->body, "invalidityDate"))
            && (cmp_json_str(rq->body, "invalidityDate", &inv_text) != 1
                || !admin_is_rfc3339_time(inv_text))) {
        admin_invalid(rq, rs, json_pack("[s]", "invalidityDate must be an RFC "
                                        "3339 date-time with its offset, e.g. "
                                        "2027-01-31T12:00:00Z"));
        return;
    }
    if (cert_for_change(rq, rs, inv_text, &id, &inv))
        return;
    if (inv_text != NULL
            && (problem = cmp_store_invalidity_problem(rq->p, inv, (long long)time(NULL)))
               != NULL) {
        admin_invalid(rq, rs, json_pack("[s]", apr_pstrcat(rq->p, "invalidityDate: ",
                                                           problem, NULL)));
        return;
    }
    rv = cmp_store_revoke(rq->p, rq->conn, id, code, inv, NULL, &updated);
    cert_changed(rq, rs, rv, updated, "revoked", "only a valid certificate, or "
                 "one on hold (certificateHold) for another reason, can be "
                 "revoked");
}

/* certificateHold undone: the certificate is valid again and leaves the
 * next CRL. */
static void release_certificate(admin_req_t *rq, admin_resp_t *rs)
{
    long long id, inv;
    int updated = 0;
    apr_status_t rv;

    if (cert_for_change(rq, rs, NULL, &id, &inv))
        return;
    rv = cmp_store_release(rq->p, rq->conn, id, &updated);
    cert_changed(rq, rs, rv, updated, "released", "only a certificate on hold "
                 "(revoked for certificateHold) can be released");
}

static void audit_csv(admin_req_t *rq, admin_resp_t *rs, PGresult *r)
{
    static const char head[] = "id,at,actor,action,object,objectName,result,details,"
                               "certificateUuid\n";
    struct iovec *v;
    int i, j, n = PQntuples(r);

    v = apr_palloc(rq->p, sizeof(*v) * ((apr_size_t)n * 9 + 1));
    v[0].iov_base = (void *)head;
    v[0].iov_len = sizeof(head) - 1;
    for (i = 0; i < n; i++)
        for (j = 0; j < 9; j++)
            admin_csv_field(rq->p, &v[1 + i * 9 + j], PQgetvalue(r, i, j), j == 8);
    rs->status = 200;
    rs->content_type = "text/csv; charset=utf-8";
    rs->raw = apr_pstrcatv(rq->p, v, (apr_size_t)n * 9 + 1, &rs->raw_len);
}

static void audit_logs(admin_req_t *rq, admin_resp_t *rs)
{
    static const char *const filters[] = {"actor", "action", "object",
                                          "certificateUuid:uuid", "from:date", "to:date"};
    const char *vals[8], *format = apr_table_get(rq->query, "format");
    int csv = format != NULL && strcmp(format, "csv") == 0;
    long long limit, offset;
    PGresult *r;
    json_t *o;

    if (format != NULL && !csv && strcmp(format, "json") != 0) {
        admin_error(rq, rs, 400, "format must be json or csv");
        return;
    }
    if (admin_query_int(rq, rs, "limit", csv ? 10000 : 100, 1, csv ? 100000 : 1000, &limit)
            || admin_query_int(rq, rs, "offset", 0, 0, INT_MAX, &offset))
        return;
    if (query_filters(rq, rs, filters, 6, limit, offset, vals))
        return;
    if (csv) {
        if (!admin_sql(rq, rs, AUDIT_SELECTED " ORDER BY e.id DESC LIMIT $7::int "
                       "OFFSET $8::int", 8, vals, NULL, &r))
            audit_csv(rq, rs, r);
        return;
    }
    if (!admin_sql_json(rq, rs, "WITH f AS (" AUDIT_SELECTED ") SELECT "
                        "json_build_object('total', (SELECT count(*) FROM f), "
                        "'limit', $7::int, 'offset', $8::int, 'auditLogs', "
                        "coalesce((SELECT json_agg(" AUDIT_JSON " ORDER BY e.id DESC) "
                        "FROM (SELECT * FROM f ORDER BY id DESC LIMIT $7::int OFFSET "
                        "$8::int) e), '[]'))::text", 8, vals, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

/* The dashboard's certificate figures, aggregated by the database: every
 * day of the last `days` (UTC, today included, days without any too) with
 * the certificates issued (created) and revoked that day, the totals per
 * status and the valid ones expiring within 30 days. The counts are those
 * the database keeps as certificates come and change (sql/013:
 * certificate_count and its deltas), so that the figures cost the same at
 * a million certificates as at ten; only the expiring ones are counted
 * from the certificates (an index range on not_after). */
#define SQL_CERT_STATS \
    "WITH span AS (SELECT (now() AT TIME ZONE 'UTC')::date - ($1::int - 1) " \
    "AS first), d AS (SELECT generate_series(first, first + ($1::int - 1), " \
    "interval '1 day')::date AS day FROM span), cnt AS (SELECT kind, day, " \
    "status, sum(n) AS n FROM (SELECT kind, day, status, n FROM " \
    "certificate_count UNION ALL SELECT kind, day, status, n FROM " \
    "certificate_count_delta) x GROUP BY 1, 2, 3), i AS (SELECT cnt.day, " \
    "sum(cnt.n) AS n FROM cnt, span WHERE cnt.kind = 'c' AND cnt.day >= " \
    "span.first GROUP BY 1), r AS (SELECT cnt.day, sum(cnt.n) AS n FROM cnt, " \
    "span WHERE cnt.kind = 'r' AND cnt.status = 'revoked' AND cnt.day >= " \
    "span.first GROUP BY 1), t AS (SELECT coalesce(sum(n), 0) AS n, " \
    "coalesce(sum(n) FILTER (WHERE status = 'valid'), 0) AS valid, " \
    "coalesce(sum(n) FILTER (WHERE status = 'revoked'), 0) AS revoked, " \
    "coalesce(sum(n) FILTER (WHERE status = 'rejected'), 0) AS rejected, " \
    "coalesce(sum(n) FILTER (WHERE status = 'pending'), 0) AS pending FROM " \
    "cnt WHERE kind = 'c') " \
    "SELECT json_build_object('days', $1::int, 'total', t.n, 'byStatus', " \
    "json_build_object('valid', t.valid, 'revoked', t.revoked, 'rejected', " \
    "t.rejected, 'pending', t.pending), 'expiringWithin30Days', (SELECT " \
    "count(*) FROM certificate WHERE status = 'valid' AND not_after > now() " \
    "AND not_after <= now() + interval '30 days'), 'perDay', (SELECT " \
    "json_agg(json_build_object('day', d.day, 'issued', coalesce(i.n, 0), " \
    "'revoked', coalesce(r.n, 0)) ORDER BY d.day) FROM d LEFT JOIN i ON " \
    "i.day = d.day LEFT JOIN r ON r.day = d.day))::text FROM t"

/* A statistics query of one argument, the query's `days` (1..max, default
 * 14), answered with the JSON text the SQL makes. */
static void days_json(admin_req_t *rq, admin_resp_t *rs, long long max,
                      const char *sql)
{
    long long days;
    const char *vals[1];
    json_t *o;

    if (admin_query_int(rq, rs, "days", 14, 1, max, &days))
        return;
    vals[0] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)days);
    if (!admin_sql_json(rq, rs, sql, 1, vals, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

static void certificate_stats(admin_req_t *rq, admin_resp_t *rs)
{
    days_json(rq, rs, 366, SQL_CERT_STATS);
}

/* Refused CMP requests per day and reason (counted by every node). */
static void cmp_refusals(admin_req_t *rq, admin_resp_t *rs)
{
    days_json(rq, rs, 3660, "SELECT coalesce(json_agg(json_build_object("
              "'day', day, 'reason', reason, 'count', count) ORDER BY day, "
              "reason), '[]')::text FROM cmp_refusal_count WHERE day > "
              "current_date - $1::int");
}

const admin_route_t admin_certificate_routes[] = {
    {ADMIN_GET, "/statistics/cmpRefusals", cmp_refusals, " days ", 0},
    {ADMIN_GET, "/statistics/certificates", certificate_stats, " days ", 0},
    {ADMIN_GET, "/certificates", list_certificates,
     " limit offset subject serial status raProfileUuid cmpProfileUuid expiresBefore expiresAfter "
     "authorityUuid keyType issuedAfter issuedBefore sort ", 0},
    {ADMIN_GET, "/certificates/{uuid}", get_certificate, NULL, 0},
    {ADMIN_POST, "/certificates/{uuid}/revoke", revoke_certificate, NULL, 0},
    {ADMIN_POST, "/certificates/{uuid}/release", release_certificate, NULL, 0},
    {ADMIN_GET, "/auditLogs", audit_logs,
     " limit offset actor action object certificateUuid from to format ", 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
