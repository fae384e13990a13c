/* SPDX-License-Identifier: Apache-2.0 */
/* Device registrations (per-device enrollment secrets, cmp_device.h) of an
 * RA Profile: registered one by one or imported from CSV for a production
 * line; each with a secret generated here, shown once in the answer that
 * made it and stored encrypted. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "admin.h"
#include "admin_pki.h"
#include "cmp_device.h"
#include "cmp_issue.h"

#define RA "/authorities/{uuid}/raProfiles/{uuid}"
#define DEV RA "/deviceRegistrations"

/* a registration without expiresAt expires this many days after it is made
 * (or its secret renewed) */
#define DEFAULT_DAYS "30"
/* rows of one CSV import (the body limit allows about ten thousand) */
#define MAX_IMPORT 10000

#define DEV_STATE \
    "CASE WHEN d.state = 'active' AND d.expires_at <= now() THEN 'expired' " \
    "ELSE d.state END"
#define DEV_JSON \
    "json_build_object('uuid', d.uuid, 'senderKid', d.sender_kid, 'subject', " \
    "d.subject_dn, 'subjectAltNames', to_json(d.sans), 'state', " DEV_STATE \
    ", 'expiresAt', d.expires_at, 'maxFailures', d.max_failures, 'failures', " \
    "d.failures, 'lastFailure', d.last_failure, 'lastFailureAt', " \
    "d.last_failure_at, 'usedAt', d.used_at, 'certificateUuid', (SELECT " \
    "c.uuid FROM certificate c WHERE c.device_registration_id = d.id ORDER " \
    "BY c.id DESC LIMIT 1), 'raProfileUuid', r.uuid, 'createdAt', " \
    "d.created_at, 'createdBy', d.created_by)"
#define DEV_FROM \
    " FROM device_registration d JOIN ra_profile r ON r.id = d.ra_profile_id " \
    "JOIN authority a ON a.id = r.authority_id "

/* What one registration asks, as given and as it is stored. */
typedef struct {
    const char *kid, *subject, *expires, *max_failures;
    apr_array_header_t *sans_given;
    const char *subject_dn;          /* RFC 2253, as certificates have it */
    const char *sans;                /* stored form, joined by newlines */
} reg_in_t;

/* The RA Profile of the path: its id, or NULL with a 404 set. */
static const char *ra_id(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[2] = {admin_seg(rq, 1), admin_seg(rq, 3)};
    PGresult *r;

    if (admin_sql(rq, rs, "SELECT r.id FROM ra_profile r JOIN authority a ON "
                  "a.id = r.authority_id WHERE a.uuid = $1::uuid AND r.uuid = "
                  "$2::uuid", 2, vals, NULL, &r))
        return NULL;
    if (PQntuples(r) == 1)
        return apr_pstrdup(rq->p, PQgetvalue(r, 0, 0));
    admin_error(rq, rs, 404, "RA Profile %s not found", vals[1]);
    return NULL;
}

/* What is wrong with in (NULL: nothing), the field named; the stored forms
 * of subject and SANs made. */
static const char *reg_check(admin_req_t *rq, reg_in_t *in)
{
    X509_NAME *name;
    apr_array_header_t *sans;
    const char *why = NULL;
    long long n;
    char *end;

    if (in->kid == NULL || !cmp_device_kid_valid(in->kid))
        return apr_psprintf(rq->p, "senderKid is required: 1 to %d printable "
                            "ASCII characters without spaces", CMP_DEVICE_KID_MAX);
    if (in->subject == NULL || *in->subject == '\0')
        return "subject is required";
    if ((name = admin_parse_name(in->subject, &why)) == NULL)
        return apr_psprintf(rq->p, "subject: %s", why);
    in->subject_dn = cmp_issue_name_text(rq->p, name);
    X509_NAME_free(name);
    if ((sans = cmp_device_sans(rq->p, in->sans_given, &why)) == NULL)
        return apr_psprintf(rq->p, "subjectAltNames: %s", why);
    in->sans = cmp_device_sans_join(rq->p, sans);
    if (in->expires != NULL && !admin_is_rfc3339_time(in->expires))
        return "expiresAt must be an RFC 3339 date-time such as "
               "2027-01-31T12:00:00Z";
    if (in->max_failures != NULL) {
        n = strtoll(in->max_failures, &end, 10);
        if (*in->max_failures == '\0' || *end != '\0' || n < 1
                || n > CMP_DEVICE_MAX_FAILURES)
            return apr_psprintf(rq->p, "maxFailures must be a whole number "
                                "1..%d", CMP_DEVICE_MAX_FAILURES);
    }
    return NULL;
}

/* Stores in under the RA Profile ra with a new secret (*secret, *uuid);
 * non-zero when it set the answer (an expiresAt not in the future: 422). */
static int reg_insert(admin_req_t *rq, admin_resp_t *rs, const char *ra,
                      const reg_in_t *in, const char **secret, const char **uuid)
{
    const char *vals[8];
    int lens[8] = {0};
    unsigned char *enc = NULL;
    size_t n = 0;
    char *s = cmp_device_new_secret(rq->p);
    PGresult *r;

    if (s == NULL || cmp_secret_encrypt(rq->p, rq->key, CMP_LABEL_DEVICE_SECRET,
                                        (const unsigned char *)s, strlen(s),
                                        &enc, &n) != APR_SUCCESS) {
        admin_error(rq, rs, 500, "the secret could not be made or sealed");
        return 1;
    }
    vals[0] = ra;
    vals[1] = in->kid;
    vals[2] = (const char *)enc;
    lens[2] = (int)n;
    vals[3] = in->subject_dn;
    vals[4] = in->sans;
    vals[5] = in->expires;
    vals[6] = in->max_failures;
    vals[7] = rq->actor;
    if (admin_sql(rq, rs, "INSERT INTO device_registration (ra_profile_id, "
                  "sender_kid, secret_enc, subject_dn, sans, expires_at, "
                  "max_failures, created_by) SELECT $1::bigint, $2, $3, $4, "
                  "coalesce(string_to_array(nullif($5, ''), E'\\n'), '{}'), "
                  "coalesce($6::timestamptz, now() + interval '" DEFAULT_DAYS
                  " days'), coalesce($7::int, 5), $8 WHERE coalesce("
                  "$6::timestamptz, now() + interval '1 day') > now() "
                  "RETURNING uuid", 8, vals, lens, &r))
        return 1;
    if (PQntuples(r) != 1) {
        admin_invalid(rq, rs, json_pack("[s]", apr_psprintf(rq->p, "expiresAt "
                                        "of %s must be in the future", in->kid)));
        return 1;
    }
    *secret = s;
    *uuid = apr_pstrdup(rq->p, PQgetvalue(r, 0, 0));
    return 0;
}

/* 409 naming the senderKIDs (joined by newlines) the RA Profile has
 * already; non-zero when it set it. */
static int kids_taken(admin_req_t *rq, admin_resp_t *rs, const char *ra,
                      const char *kids)
{
    const char *vals[2] = {ra, kids};
    PGresult *r;

    if (admin_sql(rq, rs, "SELECT string_agg(sender_kid, ', ' ORDER BY "
                  "sender_kid) FROM (SELECT sender_kid FROM device_registration "
                  "WHERE ra_profile_id = $1::bigint AND sender_kid = ANY("
                  "string_to_array($2, E'\\n')) LIMIT 20) x HAVING count(*) > 0",
                  2, vals, NULL, &r))
        return 1;
    if (PQntuples(r) == 0)
        return 0;
    admin_error(rq, rs, 409, "the RA Profile has a device registration with "
                "senderKid %s already", PQgetvalue(r, 0, 0));
    return 1;
}

static int load_one(admin_req_t *rq, admin_resp_t *rs, json_t **out)
{
    const char *vals[3] = {admin_seg(rq, 1), admin_seg(rq, 3), admin_seg(rq, 5)};

    *out = NULL;
    if (admin_sql_json(rq, rs, "SELECT " DEV_JSON "::text" DEV_FROM "WHERE "
                       "a.uuid = $1::uuid AND r.uuid = $2::uuid AND d.uuid = "
                       "$3::uuid", 3, vals, out))
        return 1;
    if (*out != NULL)
        return 0;
    admin_error(rq, rs, 404, "Device registration %s not found", vals[2]);
    return 1;
}

/* the registration of the path, with its new secret (shown this once) */
static void answer_with_secret(admin_req_t *rq, admin_resp_t *rs, int status,
                               const char *secret)
{
    json_t *o, *copy;

    if (load_one(rq, rs, &o))
        return;
    copy = json_deep_copy(o);
    json_object_set_new(copy, "secret", json_string(secret));
    admin_json(rq, rs, status, copy);
}

static void list(admin_req_t *rq, admin_resp_t *rs)
{
    const char *state = apr_table_get(rq->query, "state"), *vals[6];
    long long limit, offset;
    json_t *o;

    if (state != NULL && strcmp(state, "active") != 0 && strcmp(state, "used") != 0
            && strcmp(state, "locked") != 0 && strcmp(state, "expired") != 0) {
        admin_error(rq, rs, 400, "state must be active, used, locked or expired");
        return;
    }
    if (admin_query_int(rq, rs, "limit", 100, 1, 1000, &limit)
            || admin_query_int(rq, rs, "offset", 0, 0, 100000000, &offset)
            || ra_id(rq, rs) == NULL)
        return;
    vals[0] = admin_seg(rq, 3);
    vals[1] = state;
    vals[2] = apr_table_get(rq->query, "q");
    vals[3] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)limit);
    vals[4] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)offset);
    if (admin_sql_json(rq, rs, "WITH f AS (SELECT d.id, d.sender_kid, " DEV_JSON
                       " AS j" DEV_FROM "WHERE r.uuid = $1::uuid AND ($2::text "
                       "IS NULL OR " DEV_STATE " = $2) AND ($3::text IS NULL OR "
                       ADMIN_SQL_CONTAINS("d.sender_kid", "$3") " OR "
                       ADMIN_SQL_CONTAINS("d.subject_dn", "$3") ")) SELECT "
                       "json_build_object('total', (SELECT count(*) FROM f), "
                       "'limit', $4::int, 'offset', $5::int, 'deviceRegistrations', "
                       "coalesce((SELECT json_agg(j ORDER BY sender_kid) FROM (SELECT "
                       "* FROM f ORDER BY sender_kid LIMIT $4::int OFFSET $5::int) "
                       "x), '[]'))::text", 5, vals, &o))
        return;
    admin_json(rq, rs, 200, json_incref(o));
}

static void get_one(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *o;

    if (!load_one(rq, rs, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

static void create(admin_req_t *rq, admin_resp_t *rs)
{
    reg_in_t in;
    const char *ra, *err, *secret = NULL, *uuid = NULL;
    long long mf = 0;
    int got;

    memset(&in, 0, sizeof(in));
    if (admin_need_object(rq, rs)
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "senderKid", &in.kid),
                                "senderKid", "a string")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "subject", &in.subject),
                                "subject", "a string")
            || admin_type_error(rq, rs, cmp_json_strs(rq->p, rq->body, "subjectAltNames",
                                                      &in.sans_given),
                                "subjectAltNames", "an array of strings")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "expiresAt", &in.expires),
                                "expiresAt", "a string")
            || admin_type_error(rq, rs, got = cmp_json_int(rq->body, "maxFailures", &mf),
                                "maxFailures", "a whole number"))
        return;
    if (got == 1)
        in.max_failures = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)mf);
    if ((err = reg_check(rq, &in)) != NULL) {
        admin_invalid(rq, rs, json_pack("[s]", err));
        return;
    }
    if ((ra = ra_id(rq, rs)) == NULL || kids_taken(rq, rs, ra, in.kid)
            || reg_insert(rq, rs, ra, &in, &secret, &uuid))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "deviceRegistration:", uuid, NULL);
    rq->audit_name = in.kid;
    APR_ARRAY_PUSH(rq->seg, const char *) = uuid;
    rs->location = apr_pstrcat(rq->p, "/authorities/", admin_seg(rq, 1),
                               "/raProfiles/", admin_seg(rq, 3),
                               "/deviceRegistrations/", uuid, NULL);
    answer_with_secret(rq, rs, 201, secret);
    if (rs->status != 201)
        rs->location = NULL;
}

/* the column of each field of an import, from its header line */
typedef struct {
    int kid, subject, sans, expires, max_failures;
} columns_t;

static const char *read_header(admin_req_t *rq, apr_array_header_t *head,
                               columns_t *c)
{
    int i;

    c->kid = c->subject = c->sans = c->expires = c->max_failures = -1;
    for (i = 0; i < head->nelts; i++) {
        const char *h = APR_ARRAY_IDX(head, i, const char *);
        int *slot = strcmp(h, "senderKid") == 0 ? &c->kid
                    : strcmp(h, "subject") == 0 ? &c->subject
                    : strcmp(h, "subjectAltNames") == 0 ? &c->sans
                    : strcmp(h, "expiresAt") == 0 ? &c->expires
                    : strcmp(h, "maxFailures") == 0 ? &c->max_failures : NULL;

        if (slot == NULL)
            return apr_psprintf(rq->p, "row 1: unknown column '%s' (the columns "
                                "are senderKid, subject, subjectAltNames, "
                                "expiresAt, maxFailures)", h);
        if (*slot >= 0)
            return apr_psprintf(rq->p, "row 1: column '%s' given twice", h);
        *slot = i;
    }
    if (c->kid < 0 || c->subject < 0)
        return "row 1 must be a header naming the columns, senderKid and "
               "subject among them";
    return NULL;
}

static const char *field(apr_array_header_t *rec, int col)
{
    const char *v = col >= 0 && col < rec->nelts
                    ? APR_ARRAY_IDX(rec, col, const char *) : NULL;

    return v != NULL && *v != '\0' ? v : NULL;
}

/* The registrations of a CSV body, all or none: any bad row is a 422 that
 * names it (the first twenty), a senderKid given twice or already
 * registered a 409. The answer lists each with its secret, as JSON or
 * (format=csv) as CSV for the production line. */
static void import(admin_req_t *rq, admin_resp_t *rs)
{
    const char *format = apr_table_get(rq->query, "format"), *why = NULL, *ra;
    apr_array_header_t *recs, *ins;
    json_t *errs = cmp_json_own(rq->p, json_array()), *out;
    apr_hash_t *seen = apr_hash_make(rq->p);
    struct iovec *v;
    columns_t c;
    const char *kids = "";
    int i, csv = format != NULL && strcmp(format, "csv") == 0;

    if (format != NULL && !csv && strcmp(format, "json") != 0) {
        admin_error(rq, rs, 400, "format must be json or csv");
        return;
    }
    if (rq->text == NULL) {
        admin_error(rq, rs, 415, "the body must be text/csv: a header row "
                    "(senderKid,subject,subjectAltNames,expiresAt,maxFailures) "
                    "and a row per device");
        return;
    }
    if ((recs = admin_csv_parse(rq->p, rq->text, rq->text_len, &why)) == NULL) {
        admin_error(rq, rs, 400, "the CSV does not parse: %s", why);
        return;
    }
    if (recs->nelts < 2) {
        admin_error(rq, rs, 400, "the CSV has no device: a header row and a "
                    "row per device");
        return;
    }
    if (recs->nelts - 1 > MAX_IMPORT) {
        admin_invalid(rq, rs, json_pack("[s]", apr_psprintf(rq->p, "at most %d "
                                        "devices per import", MAX_IMPORT)));
        return;
    }
    if ((why = read_header(rq, APR_ARRAY_IDX(recs, 0, apr_array_header_t *), &c))
            != NULL) {
        admin_error(rq, rs, 400, "%s", why);
        return;
    }
    ins = apr_array_make(rq->p, recs->nelts, sizeof(reg_in_t));
    for (i = 1; i < recs->nelts && json_array_size(errs) < 20; i++) {
        apr_array_header_t *rec = APR_ARRAY_IDX(recs, i, apr_array_header_t *);
        reg_in_t *in = apr_array_push(ins);

        memset(in, 0, sizeof(*in));
        in->kid = field(rec, c.kid);
        in->subject = field(rec, c.subject);
        in->sans_given = cmp_device_sans_split(rq->p, field(rec, c.sans), " ");
        in->expires = field(rec, c.expires);
        in->max_failures = field(rec, c.max_failures);
        if (rec->nelts != APR_ARRAY_IDX(recs, 0, apr_array_header_t *)->nelts)
            json_array_append_new(errs, json_sprintf("row %d: %d fields, the header "
                                                     "has %d", i + 1, rec->nelts,
                                                     APR_ARRAY_IDX(recs, 0, apr_array_header_t *)->nelts));
        else if ((why = reg_check(rq, in)) != NULL)
            json_array_append_new(errs, json_sprintf("row %d: %s", i + 1, why));
        else if (apr_hash_get(seen, in->kid, APR_HASH_KEY_STRING) != NULL)
            json_array_append_new(errs, json_sprintf("row %d: senderKid %s is given "
                                                     "twice", i + 1, in->kid));
        else
            apr_hash_set(seen, in->kid, APR_HASH_KEY_STRING, in);
        kids = apr_pstrcat(rq->p, kids, i > 1 ? "\n" : "", in->kid ? in->kid : "",
                           NULL);
    }
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    if ((ra = ra_id(rq, rs)) == NULL || kids_taken(rq, rs, ra, kids))
        return;
    out = cmp_json_own(rq->p, json_array());
    v = apr_palloc(rq->p, sizeof(*v) * ((apr_size_t)ins->nelts * 3 + 1));
    v[0].iov_base = (void *)"senderKid,secret,uuid\n";
    v[0].iov_len = strlen(v[0].iov_base);
    for (i = 0; i < ins->nelts; i++) {
        reg_in_t *in = &APR_ARRAY_IDX(ins, i, reg_in_t);
        const char *secret = NULL, *uuid = NULL;

        if (reg_insert(rq, rs, ra, in, &secret, &uuid))
            return;
        json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "uuid", uuid,
                                             "senderKid", in->kid, "secret", secret));
        admin_csv_field(rq->p, &v[1 + i * 3], in->kid, 0);
        admin_csv_field(rq->p, &v[2 + i * 3], secret, 0);
        admin_csv_field(rq->p, &v[3 + i * 3], uuid, 1);
    }
    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", admin_seg(rq, 3), NULL);
    if (csv) {
        rs->status = 201;
        rs->content_type = "text/csv; charset=utf-8";
        rs->raw = apr_pstrcatv(rq->p, v, (apr_size_t)ins->nelts * 3 + 1, &rs->raw_len);
        return;
    }
    admin_json(rq, rs, 201, json_pack("{s:i, s:O}", "created", (json_int_t)ins->nelts,
                                      "deviceRegistrations", out));
}

static void remove_one(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 5)};
    json_t *o;
    PGresult *r;

    if (load_one(rq, rs, &o))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "deviceRegistration:", vals[0], NULL);
    rq->audit_name = json_string_value(json_object_get(o, "senderKid"));
    if (!admin_sql(rq, rs, "DELETE FROM device_registration WHERE uuid = $1::uuid",
                   1, vals, NULL, &r))
        admin_no_content(rs);
}

/* A new secret: the registration active again (unlocked, usable once
 * more), until expiresAt when given, else until its expiry or, when that
 * has passed, DEFAULT_DAYS from now. */
static void new_secret(admin_req_t *rq, admin_resp_t *rs)
{
    const char *expires = NULL, *vals[4];
    int lens[4] = {0};
    unsigned char *enc = NULL;
    size_t n = 0;
    char *s;
    json_t *o;
    PGresult *r;

    if (rq->body != NULL
            && (admin_need_object(rq, rs)
                || admin_type_error(rq, rs, cmp_json_str(rq->body, "expiresAt", &expires),
                                    "expiresAt", "a string")))
        return;
    if (expires != NULL && !admin_is_rfc3339_time(expires)) {
        admin_invalid(rq, rs, json_pack("[s]", "expiresAt must be an RFC 3339 "
                                        "date-time such as 2027-01-31T12:00:00Z"));
        return;
    }
    if (load_one(rq, rs, &o))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "deviceRegistration:", admin_seg(rq, 5), NULL);
    rq->audit_name = json_string_value(json_object_get(o, "senderKid"));
    if ((s = cmp_device_new_secret(rq->p)) == NULL
            || cmp_secret_encrypt(rq->p, rq->key, CMP_LABEL_DEVICE_SECRET,
                                  (const unsigned char *)s, strlen(s), &enc, &n)
               != APR_SUCCESS) {
        admin_error(rq, rs, 500, "the secret could not be made or sealed");
        return;
    }
    vals[0] = admin_seg(rq, 5);
    vals[1] = (const char *)enc;
    lens[1] = (int)n;
    vals[2] = expires;
    if (admin_sql(rq, rs, "UPDATE device_registration SET secret_enc = $2, state "
                  "= 'active', failures = 0, last_failure = NULL, last_failure_at "
                  "= NULL, transaction_id = NULL, expires_at = coalesce("
                  "$3::timestamptz, CASE WHEN expires_at <= now() THEN now() + "
                  "interval '" DEFAULT_DAYS " days' ELSE expires_at END) WHERE "
                  "uuid = $1::uuid AND coalesce($3::timestamptz, now() + interval "
                  "'1 day') > now() RETURNING id", 3, vals, lens, &r))
        return;
    if (PQntuples(r) != 1) {
        admin_invalid(rq, rs, json_pack("[s]", "expiresAt must be in the future"));
        return;
    }
    answer_with_secret(rq, rs, 200, s);
}

const admin_route_t admin_device_routes[] = {
    {ADMIN_GET, DEV, list, " state q limit offset ", 0},
    {ADMIN_POST, DEV, create, NULL, 0},
    {ADMIN_POST, DEV "/import", import, " format ", 1},
    {ADMIN_GET, DEV "/{uuid}", get_one, NULL, 0},
    {ADMIN_DELETE, DEV "/{uuid}", remove_one, NULL, 0},
    {ADMIN_POST, DEV "/{uuid}/secret", new_secret, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
