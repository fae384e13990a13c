/* SPDX-License-Identifier: Apache-2.0 */
/* RA Profiles: /raProfiles and /authorities/{uuid}/raProfiles, with the
 * certificate policy and the CMP protocol activation. */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>

#include "admin.h"
#include "cmp_profile.h"
#include "cmp_policy.h"

#define RA_JSON \
    "json_build_object('uuid', r.uuid, 'name', r.name, 'description', " \
    "r.description, 'enabled', r.enabled, 'authorityUuid', a.uuid, " \
    "'authorityName', a.name, 'validityDays', r.validity_days, " \
    "'allowedKeyTypes', to_json(r.allowed_key_types), 'allowedEcCurves', " \
    "to_json(r.allowed_ec_curves), 'minSecurityBits', " \
    "r.min_security_bits, 'subjectPattern', r.subject_pattern, " \
    "'allowSubjectAltName', r.allow_san, 'allowKurIdentityChange', " \
    "r.allow_kur_identity_change, 'keyUsageFromRequest', " \
    "r.key_usage_from_request, 'keyUsage', to_json(array_remove(" \
    "string_to_array(r.key_usage, ','), 'critical')), 'extendedKeyUsage', " \
    "to_json(coalesce(string_to_array(nullif(r.extended_key_usage, ''), ','), " \
    "'{}')), 'enabledProtocols', CASE WHEN r.cmp_profile_id IS NULL THEN " \
    "'[]'::json ELSE '[\"CMP\"]'::json END, 'cmpProfileUuid', c.uuid, " \
    "'requireApproval', r.require_approval, 'approvalTimeout', " \
    "r.approval_timeout_s, 'approvalCheckAfter', r.approval_check_after_s, " \
    "'maxPendingApprovals', r.max_pending_approvals, 'centralKeyType', " \
    "nullif(r.central_key_type, ''), " \
    "'createdAt', r.created_at)"
#define RA_FROM \
    " FROM ra_profile r JOIN authority a ON a.id = r.authority_id " \
    "LEFT JOIN cmp_profile c ON c.id = r.cmp_profile_id "

static void list_all(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *o;

    if (!admin_sql_json(rq, rs, "SELECT coalesce(json_agg(" RA_JSON
                        " ORDER BY r.name), '[]')::text" RA_FROM, 0, NULL, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

/* The Authority of the path exists; non-zero when it set the answer. */
static int need_authority(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 1)};
    PGresult *r;

    if (admin_sql(rq, rs, "SELECT 1 FROM authority WHERE uuid = $1::uuid", 1,
                  vals, NULL, &r))
        return 1;
    if (PQntuples(r) == 1)
        return 0;
    admin_error(rq, rs, 404, "Authority %s not found", vals[0]);
    return 1;
}

static void list_of_authority(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 1)};
    json_t *o;

    if (!need_authority(rq, rs)
            && !admin_sql_json(rq, rs, "SELECT coalesce(json_agg(" RA_JSON
                               " ORDER BY r.name), '[]')::text" RA_FROM
                               "WHERE a.uuid = $1::uuid", 1, vals, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

/* The RA Profile of the path (authority segment 1, profile segment 3). */
static int load_one(admin_req_t *rq, admin_resp_t *rs, json_t **out)
{
    const char *vals[2] = {admin_seg(rq, 1), admin_seg(rq, 3)};

    if (admin_sql_json(rq, rs, "SELECT " RA_JSON "::text" RA_FROM
                       "WHERE a.uuid = $1::uuid AND r.uuid = $2::uuid", 2, vals,
                       out))
        return 1;
    if (*out == NULL) {
        admin_error(rq, rs, 404, "RA Profile %s not found in Authority %s",
                    vals[1], vals[0]);
        return 1;
    }
    return 0;
}

static void get_one(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *o;

    if (!load_one(rq, rs, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

/* The policy fields of a create or edit; absent fields stay NULL (SQL keeps
 * the default or the stored value). */
typedef struct {
    const char *description, *validity, *key_types, *min_bits, *pattern;
    const char *allow_san, *key_usage, *eku, *curves, *kur_change, *ku_choose;
    int clear_pattern;
    /* approval (RFC 9483 4.4): not policy, the RA Profile's own */
    const char *approval, *approval_timeout, *check_after, *max_pending;
    const char *central;            /* "" clears it */
} policy_in_t;

static const char *joined(admin_req_t *rq, apr_array_header_t *a,
                          const char *prefix)
{
    const char *s = prefix;
    int i;

    for (i = 0; i < a->nelts; i++)
        s = apr_pstrcat(rq->p, s, *s ? "," : "", APR_ARRAY_IDX(a, i, const char *),
                        NULL);
    return s;
}

static int read_strs(admin_req_t *rq, admin_resp_t *rs, const char *key,
                     apr_array_header_t **out)
{
    *out = NULL;
    return admin_type_error(rq, rs, cmp_json_strs(rq->p, rq->body, key, out), key,
                            "an array of strings");
}

/* A JSON number as an int for the policy: one out of int's range stays out
 * of every range the policy allows. */
static int read_number(admin_req_t *rq, admin_resp_t *rs, const char *key,
                       int *out, const char **text)
{
    long long v = 0;
    int got = cmp_json_int(rq->body, key, &v);

    *out = CMP_POLICY_UNSET;
    if (admin_type_error(rq, rs, got, key, "a number"))
        return 1;
    if (got == 1) {
        *out = v < -1 ? -1 : v > INT_MAX ? INT_MAX : (int)v;
        *text = apr_psprintf(rq->p, "%d", *out);
    }
    return 0;
}

/* A whole number in lo..hi (its text in *text), or a message in errs. */
static int read_bounded(admin_req_t *rq, admin_resp_t *rs, json_t *errs,
                        const char *key, int lo, int hi, const char **text)
{
    int v;

    *text = NULL;
    if (read_number(rq, rs, key, &v, text))
        return 1;
    if (v != CMP_POLICY_UNSET && (v < lo || v > hi)) {
        json_array_append_new(errs, json_sprintf("%s must be %d..%d", key, lo, hi));
        *text = NULL;
    }
    return 0;
}

/* The JSON fields in the stored format, then the core's rules over them
 * (the same that load the policy for CMP): what they refuse, errs lists. */
static int read_policy(admin_req_t *rq, admin_resp_t *rs, json_t *errs,
                       policy_in_t *in)
{
    cmp_policy_spec_t spec;
    apr_array_header_t *types, *ku, *eku, *curves, *msgs;
    const char *pattern = NULL;
    int san = 0, got, i;

    memset(in, 0, sizeof(*in));
    memset(&spec, 0, sizeof(spec));
    if (admin_type_error(rq, rs, cmp_json_str(rq->body, "description", &in->description), "description", "a string")
            || read_number(rq, rs, "validityDays", &spec.validity_days, &in->validity)
            || read_number(rq, rs, "minSecurityBits", &spec.min_security_bits, &in->min_bits)
            || admin_type_error(rq, rs, got = cmp_json_bool(rq->body, "allowSubjectAltName", &san), "allowSubjectAltName", "a boolean"))
        return 1;
    if (got == 1)
        in->allow_san = san ? "true" : "false";
    if (admin_type_error(rq, rs, got = cmp_json_bool(rq->body, "allowKurIdentityChange", &san), "allowKurIdentityChange", "a boolean"))
        return 1;
    if (got == 1)
        in->kur_change = san ? "true" : "false";
    if (admin_type_error(rq, rs, got = cmp_json_bool(rq->body, "keyUsageFromRequest", &san), "keyUsageFromRequest", "a boolean"))
        return 1;
    if (got == 1)
        in->ku_choose = san ? "true" : "false";
    if (admin_type_error(rq, rs, got = cmp_json_bool(rq->body, "requireApproval", &san), "requireApproval", "a boolean"))
        return 1;
    if (got == 1)
        in->approval = san ? "true" : "false";
    if (read_bounded(rq, rs, errs, "approvalTimeout", 60, 2592000, &in->approval_timeout)
            || read_bounded(rq, rs, errs, "approvalCheckAfter", 1, 3600, &in->check_after)
            || read_bounded(rq, rs, errs, "maxPendingApprovals", 1, 100000, &in->max_pending))
        return 1;
    if (admin_type_error(rq, rs, got = cmp_json_str(rq->body, "subjectPattern", &pattern), "subjectPattern", "a string"))
        return 1;
    if (got == 1 && *pattern)
        in->pattern = spec.subject_pattern = pattern;
    else if (got == 1 || json_is_null(json_object_get(rq->body, "subjectPattern")))
        in->clear_pattern = 1;
    if (admin_type_error(rq, rs, got = cmp_json_str(rq->body, "centralKeyType", &in->central), "centralKeyType", "a string"))
        return 1;
    if (got == 1)
        spec.central_key = in->central;
    else if (json_is_null(json_object_get(rq->body, "centralKeyType")))
        in->central = "";
    if (read_strs(rq, rs, "allowedKeyTypes", &types) || read_strs(rq, rs, "keyUsage", &ku)
            || read_strs(rq, rs, "extendedKeyUsage", &eku)
            || read_strs(rq, rs, "allowedEcCurves", &curves))
        return 1;
    if (types != NULL)
        in->key_types = spec.key_types = joined(rq, types, "");
    if (ku != NULL)
        in->key_usage = spec.key_usage = ku->nelts > 0 ? joined(rq, ku, "critical") : "";
    if (eku != NULL)
        in->eku = spec.ext_key_usage = joined(rq, eku, "");
    if (curves != NULL)
        in->curves = spec.ec_curves = joined(rq, curves, "");
    msgs = apr_array_make(rq->p, 4, sizeof(const char *));
    cmp_policy_validate(rq->p, &spec, msgs);
    for (i = 0; i < msgs->nelts; i++)
        json_array_append_new(errs, json_string(APR_ARRAY_IDX(msgs, i, const char *)));
    return 0;
}

static void create(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *errs = cmp_json_own(rq->p, json_array()), *o;
    const char *name = NULL, *vals[18];
    policy_in_t in;
    PGresult *r;

    if (admin_need_object(rq, rs)
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "name", &name), "name", "a string")
            || read_policy(rq, rs, errs, &in))
        return;
    if (name == NULL || !cmp_name_valid(name))
        json_array_insert_new(errs, 0, json_string("name is required and may hold "
                                                   "only A-Z a-z 0-9 - . _ ~"));
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    if (need_authority(rq, rs))
        return;
    vals[0] = admin_seg(rq, 1);
    vals[1] = name;
    vals[2] = in.description;
    vals[3] = in.validity;
    vals[4] = in.key_types;
    vals[5] = in.min_bits;
    vals[6] = in.pattern;
    vals[7] = in.allow_san;
    vals[8] = in.key_usage;
    vals[9] = in.eku;
    vals[10] = in.curves;
    vals[11] = in.kur_change;
    vals[12] = in.ku_choose;
    vals[13] = in.approval;
    vals[14] = in.approval_timeout;
    vals[15] = in.check_after;
    vals[16] = in.max_pending;
    vals[17] = in.central;
    if (admin_sql(rq, rs, "INSERT INTO ra_profile (authority_id, name, "
                  "description, validity_days, allowed_key_types, "
                  "min_security_bits, subject_pattern, allow_san, key_usage, "
                  "extended_key_usage, allowed_ec_curves, "
                  "allow_kur_identity_change, key_usage_from_request, "
                  "require_approval, approval_timeout_s, approval_check_after_s, "
                  "max_pending_approvals, central_key_type) "
                  "SELECT a.id, $2, "
                  "coalesce($3, ''), "
                  "coalesce($4::int, 365), coalesce(string_to_array(nullif($5, ''), "
                  "','), '{}'), coalesce($6::int, 112), nullif($7, ''), "
                  "coalesce($8::boolean, true), coalesce($9, 'critical,"
                  "digitalSignature'), coalesce($10, ''), string_to_array("
                  "coalesce($11, '" CMP_POLICY_DEFAULT_CURVES "'), ','), "
                  "coalesce($12::boolean, false), coalesce($13::boolean, false), "
                  "coalesce($14::boolean, false), coalesce($15::int, 86400), "
                  "coalesce($16::int, 30), coalesce($17::int, 1000), coalesce($18, '') "
                  "FROM authority a WHERE a.uuid = $1::uuid RETURNING uuid",
                  18, vals, NULL, &r))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", PQgetvalue(r, 0, 0), NULL);
    vals[1] = PQgetvalue(r, 0, 0);
    if (admin_sql_json(rq, rs, "SELECT " RA_JSON "::text" RA_FROM
                       "WHERE a.uuid = $1::uuid AND r.uuid = $2::uuid", 2, vals, &o))
        return;
    rs->location = apr_pstrcat(rq->p, "/authorities/", vals[0],
                               "/raProfiles/", vals[1], NULL);
    admin_json(rq, rs, 201, json_incref(o));
}

static void edit(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *errs = cmp_json_own(rq->p, json_array()), *o;
    const char *name = NULL, *vals[18];
    policy_in_t in;
    PGresult *r;

    if (admin_need_object(rq, rs)
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "name", &name), "name", "a string")
            || read_policy(rq, rs, errs, &in) || load_one(rq, rs, &o))
        return;
    if (name != NULL && strcmp(name, json_string_value(json_object_get(o, "name"))) != 0)
        json_array_insert_new(errs, 0, json_string("name cannot be changed"));
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    vals[0] = admin_seg(rq, 3);
    vals[1] = in.description;
    vals[2] = in.validity;
    vals[3] = in.key_types;
    vals[4] = in.min_bits;
    vals[5] = in.pattern;
    vals[6] = in.allow_san;
    vals[7] = in.key_usage;
    vals[8] = in.eku;
    vals[9] = in.clear_pattern ? "true" : "false";
    vals[10] = in.curves;
    vals[11] = in.kur_change;
    vals[12] = in.ku_choose;
    vals[13] = in.approval;
    vals[14] = in.approval_timeout;
    vals[15] = in.check_after;
    vals[16] = in.max_pending;
    vals[17] = in.central;
    if (admin_sql(rq, rs, "UPDATE ra_profile SET description = coalesce($2, "
                  "description), validity_days = coalesce($3::int, validity_days), "
                  "allowed_key_types = CASE WHEN $4::text IS NULL THEN "
                  "allowed_key_types ELSE coalesce(string_to_array(nullif($4, ''), "
                  "','), '{}') END, min_security_bits = coalesce($5::int, "
                  "min_security_bits), subject_pattern = CASE WHEN $10::boolean "
                  "THEN NULL ELSE coalesce($6, subject_pattern) END, allow_san = "
                  "coalesce($7::boolean, allow_san), key_usage = coalesce($8, "
                  "key_usage), extended_key_usage = coalesce($9, extended_key_usage), "
                  "allowed_ec_curves = coalesce(string_to_array($11, ','), "
                  "allowed_ec_curves), allow_kur_identity_change = coalesce("
                  "$12::boolean, allow_kur_identity_change), "
                  "key_usage_from_request = coalesce($13::boolean, "
                  "key_usage_from_request), require_approval = coalesce("
                  "$14::boolean, require_approval), approval_timeout_s = "
                  "coalesce($15::int, approval_timeout_s), approval_check_after_s "
                  "= coalesce($16::int, approval_check_after_s), "
                  "max_pending_approvals = coalesce($17::int, "
                  "max_pending_approvals), central_key_type = coalesce($18, "
                  "central_key_type) WHERE uuid = $1::uuid",
                  18, vals, NULL, &r))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", vals[0], NULL);
    if (!load_one(rq, rs, &o))
        admin_json(rq, rs, 200, json_incref(o));
}

static void remove_one(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 3)};
    json_t *o;
    PGresult *r;

    const char *force = apr_table_get(rq->query, "force");

    if (load_one(rq, rs, &o))
        return;
    if (force != NULL && strcmp(force, "true") != 0 && strcmp(force, "false") != 0) {
        admin_error(rq, rs, 400, "force must be true or false");
        return;
    }
    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", vals[0], NULL);
    rq->audit_name = json_string_value(json_object_get(o, "name"));
    /* a CMP Profile whose default it is could no longer serve: refused
     * unless forced, which unlinks it there (the foreign key sets NULL) */
    if (admin_sql(rq, rs, "SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM "
                  "cmp_profile p JOIN ra_profile r ON r.id = p.default_ra_profile_id "
                  "WHERE r.uuid = $1::uuid HAVING count(*) > 0", 1, vals, NULL, &r))
        return;
    if (PQntuples(r) > 0 && (force == NULL || strcmp(force, "true") != 0)) {
        admin_invalid(rq, rs, json_pack("[s]", apr_psprintf(rq->p,
            "RA Profile %s is the default RA Profile of CMP Profile %s, which could "
            "no longer serve: set another default there first, or delete with "
            "?force=true, which unlinks it", json_string_value(json_object_get(o, "name")),
            PQgetvalue(r, 0, 0))));
        return;
    }
    if (!admin_sql(rq, rs, "DELETE FROM ra_profile WHERE uuid = $1::uuid", 1, vals,
                   NULL, &r))
        admin_no_content(rs);
}

static void set_enabled(admin_req_t *rq, admin_resp_t *rs, int on)
{
    const char *vals[3] = {admin_seg(rq, 1), admin_seg(rq, 3), on ? "true" : "false"};
    PGresult *r;

    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", vals[1], NULL);
    if (admin_sql(rq, rs, "UPDATE ra_profile r SET enabled = $3 FROM authority a "
                  "WHERE a.id = r.authority_id AND a.uuid = $1::uuid AND r.uuid = "
                  "$2::uuid RETURNING r.id", 3, vals, NULL, &r))
        return;
    if (PQntuples(r) == 0)
        admin_error(rq, rs, 404, "RA Profile %s not found in Authority %s", vals[1],
                    vals[0]);
    else
        admin_no_content(rs);
}

static void enable(admin_req_t *rq, admin_resp_t *rs)
{
    set_enabled(rq, rs, 1);
}

static void disable(admin_req_t *rq, admin_resp_t *rs)
{
    set_enabled(rq, rs, 0);
}

static void cmp_detail(admin_req_t *rq, admin_resp_t *rs, int status)
{
    const char *vals[2] = {admin_seg(rq, 1), admin_seg(rq, 3)};
    const char *avail = NULL, *name = NULL;
    json_t *o;

    if (admin_sql_json(rq, rs, "SELECT json_build_object('cmpAvailable', "
                       "c.id IS NOT NULL, 'cmpProfile', CASE WHEN c.id IS NULL THEN "
                       "NULL ELSE json_build_object('uuid', c.uuid, 'name', c.name) "
                       "END, 'raProfileName', r.name)::text" RA_FROM
                       "WHERE a.uuid = $1::uuid AND r.uuid = $2::uuid", 2, vals, &o))
        return;
    if (o == NULL) {
        admin_error(rq, rs, 404, "RA Profile %s not found in Authority %s", vals[1],
                    vals[0]);
        return;
    }
    (void)avail;
    if (json_is_true(json_object_get(o, "cmpAvailable"))
            && cmp_json_str(o, "raProfileName", &name) == 1)
        json_object_set_new(o, "cmpUrl", json_sprintf("%s/api/v1/protocols/cmp/"
                                                      "raProfile/%s", rq->cmp_base, name));
    json_object_del(o, "raProfileName");
    admin_json(rq, rs, status, json_incref(o));
}

static void get_cmp(admin_req_t *rq, admin_resp_t *rs)
{
    cmp_detail(rq, rs, 200);
}

static void activate_cmp(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[3] = {admin_seg(rq, 1), admin_seg(rq, 3), admin_seg(rq, 7)};
    PGresult *r;
    json_t *o;

    if (load_one(rq, rs, &o))
        return;
    if (admin_sql(rq, rs, "SELECT 1 FROM cmp_profile WHERE uuid = $1::uuid", 1,
                  vals + 2, NULL, &r))
        return;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "CMP Profile %s not found", vals[2]);
        return;
    }
    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", vals[1], NULL);
    if (admin_sql(rq, rs, "UPDATE ra_profile SET cmp_profile_id = (SELECT id FROM "
                  "cmp_profile WHERE uuid = $3::uuid) WHERE uuid = $2::uuid AND "
                  "authority_id = (SELECT id FROM authority WHERE uuid = $1::uuid)",
                  3, vals, NULL, &r))
        return;
    cmp_detail(rq, rs, 200);
}

static void deactivate_cmp(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[2] = {admin_seg(rq, 1), admin_seg(rq, 3)};
    PGresult *r;
    json_t *o;

    if (load_one(rq, rs, &o))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "raProfile:", vals[1], NULL);
    if (!admin_sql(rq, rs, "UPDATE ra_profile SET cmp_profile_id = NULL WHERE uuid "
                   "= $2::uuid AND authority_id = (SELECT id FROM authority WHERE "
                   "uuid = $1::uuid)", 2, vals, NULL, &r))
        admin_no_content(rs);
}

#define RA "/authorities/{uuid}/raProfiles/{uuid}"
const admin_route_t admin_ra_profile_routes[] = {
    {ADMIN_GET, "/raProfiles", list_all, NULL, 0},
    {ADMIN_GET, "/authorities/{uuid}/raProfiles", list_of_authority, NULL, 0},
    {ADMIN_POST, "/authorities/{uuid}/raProfiles", create, NULL, 0},
    {ADMIN_GET, RA, get_one, NULL, 0},
    {ADMIN_PUT, RA, edit, NULL, 0},
    {ADMIN_DELETE, RA, remove_one, " force ", 0},
    {ADMIN_PATCH, RA "/enable", enable, NULL, 0},
    {ADMIN_PATCH, RA "/disable", disable, NULL, 0},
    {ADMIN_GET, RA "/protocols/cmp", get_cmp, NULL, 0},
    {ADMIN_PATCH, RA "/protocols/cmp/activate/{uuid}", activate_cmp, NULL, 0},
    {ADMIN_PATCH, RA "/protocols/cmp/deactivate", deactivate_cmp, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
