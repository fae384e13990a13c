/* SPDX-License-Identifier: Apache-2.0 */
/* /cmpProfiles: how the CMP endpoint talks (CZERTAINLY's Core CMP API). The
 * signing certificates its responses may be signed with: admin_signing.c.
 *
 * Over 500 lines: one resource, with its rules, create and edit, and the
 * bulk actions CZERTAINLY's API has. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>

#include "admin.h"
#include "cmp_profile.h"
#include "cmp_store.h"
#include "admin_pki.h"

#define CMP_JSON \
    "json_build_object('uuid', p.uuid, 'name', p.name, 'description', " \
    "p.description, 'enabled', p.enabled, 'variant', p.variant, " \
    "'requestProtectionMethod', CASE p.request_protection WHEN 'shared_secret' " \
    "THEN 'sharedSecret' ELSE 'signature' END, 'responseProtectionMethod', " \
    "CASE p.response_protection WHEN 'shared_secret' THEN 'sharedSecret' ELSE " \
    "'signature' END, 'hasSharedSecret', p.shared_secret_enc IS NOT NULL, " \
    "'signingCertificateUuid', s.uuid, 'raProfileUuid', r.uuid, 'raProfile', " \
    "CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object('uuid', r.uuid, " \
    "'name', r.name, 'enabled', r.enabled, 'authorityUuid', a.uuid) END, " \
    "'allowImplicitConfirm', p.allow_implicit_confirm, 'revokeOnKeyUpdate', " \
    "p.revoke_on_key_update, 'allowMacRevocation', p.allow_mac_revocation, " \
    "'sharedSecretReference', p.shared_secret_reference, " \
    "'registrationsOnly', p.registrations_only, " \
    "'previousSecretValidUntil', CASE WHEN p.previous_secret_until > now() " \
    "THEN p.previous_secret_until END, 'confirmTimeout', " \
    "p.confirm_timeout_s, 'raProfiles', (SELECT coalesce(json_agg(" \
    "json_build_object('uuid', x.uuid, 'name', x.name) ORDER BY x.name), '[]') " \
    "FROM ra_profile x WHERE x.cmp_profile_id = p.id), 'createdAt', " \
    "p.created_at)::text, s.cert, p.trust_anchors"
#define CMP_FROM \
    " FROM cmp_profile p LEFT JOIN signing_credential s ON s.id = " \
    "p.signing_credential_id LEFT JOIN ra_profile r ON r.id = " \
    "p.default_ra_profile_id LEFT JOIN authority a ON a.id = r.authority_id "

static json_t *profile_rows(admin_req_t *rq, PGresult *r)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < PQntuples(r); i++) {
        json_t *o = json_loads(PQgetvalue(r, i, 0), 0, NULL), *sc;
        size_t n = 0;
        unsigned char *der;
        const char *name = NULL;

        if (o == NULL)
            continue;
        if ((der = cmp_db_bytea(rq->p, r, i, 1, &n)) != NULL) {
            sc = json_pack("{s:O}", "uuid", json_object_get(o, "signingCertificateUuid"));
            admin_cert_fields(rq->p, sc, der, n);
            json_object_set_new(o, "signingCertificate", sc);
        } else {
            json_object_set_new(o, "signingCertificate", json_null());
        }
        der = cmp_db_bytea(rq->p, r, i, 2, &n);
        json_object_set_new(o, "trustAnchors", json_string(admin_pem_of(rq->p, der, n)));
        /* CZERTAINLY: the URL only when a default RA Profile makes it work */
        if (!json_is_null(json_object_get(o, "raProfile"))
                && cmp_json_str(o, "name", &name) == 1)
            json_object_set_new(o, "cmpUrl", json_sprintf("%s/api/v1/protocols/cmp/%s",
                                                          rq->cmp_base, name));
        json_array_append_new(list, o);
    }
    return list;
}

static int load_one(admin_req_t *rq, admin_resp_t *rs, const char *uuid,
                    json_t **out)
{
    const char *vals[1] = {uuid};
    PGresult *r;

    *out = NULL;
    if (admin_sql(rq, rs, "SELECT " CMP_JSON CMP_FROM "WHERE p.uuid = $1::uuid",
                  1, vals, NULL, &r))
        return 1;
    return admin_only(rq, rs, profile_rows(rq, r), "CMP Profile", uuid, out);
}

static void list_profiles(admin_req_t *rq, admin_resp_t *rs)
{
    PGresult *r;

    if (!admin_sql(rq, rs, "SELECT " CMP_JSON CMP_FROM "ORDER BY p.name", 0, NULL,
                   NULL, &r))
        admin_json(rq, rs, 200, profile_rows(rq, r));
}

static void get_profile(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *o;

    if (!load_one(rq, rs, admin_seg(rq, 1), &o))
        admin_json(rq, rs, 200, json_incref(o));
}

/* ---- create and edit ----------------------------------------------------- */

typedef struct {
    const char *name, *description, *variant, *req, *resp, *secret;
    const char *signing, *ra, *anchors, *secret_ref;
    /* previousSecretValidUntil: prev_given is 0 when omitted (the window
     * stays as it is), 1 for a time (prev_until) or null (none) */
    const char *prev_until;
    int prev_given;
    int implicit, revoke_on_kur, mac_rr;
    int reg_only;                   /* MAC requests only with device
                                     * registrations' secrets */
    long long timeout;
    /* derived */
    const char *req_db, *resp_db;
    unsigned char *secret_enc, *anchors_der;
    int secret_len, anchors_len;
} profile_in_t;

static const char *protection_db(const char *api)
{
    if (api == NULL)
        return NULL;
    if (strcmp(api, "sharedSecret") == 0)
        return "shared_secret";
    if (strcmp(api, "signature") == 0)
        return "signature";
    return NULL;
}

/* What a PUT leaves out keeps its stored value (cur, the profile as GET
 * shows it), as an RA Profile's PUT does; a null clears what may be empty
 * (raProfileUuid, signingCertificateUuid, sharedSecretReference,
 * trustAnchors). cur is NULL for a POST: the defaults. */
static void stored_fields(const json_t *cur, profile_in_t *in)
{
    long long timeout;

    (void)cmp_json_str(cur, "description", &in->description);
    (void)cmp_json_str(cur, "variant", &in->variant);
    (void)cmp_json_str(cur, "requestProtectionMethod", &in->req);
    (void)cmp_json_str(cur, "responseProtectionMethod", &in->resp);
    (void)cmp_json_str(cur, "signingCertificateUuid", &in->signing);
    (void)cmp_json_str(cur, "raProfileUuid", &in->ra);
    (void)cmp_json_str(cur, "trustAnchors", &in->anchors);
    (void)cmp_json_str(cur, "sharedSecretReference", &in->secret_ref);
    (void)cmp_json_bool(cur, "allowImplicitConfirm", &in->implicit);
    (void)cmp_json_bool(cur, "revokeOnKeyUpdate", &in->revoke_on_kur);
    (void)cmp_json_bool(cur, "allowMacRevocation", &in->mac_rr);
    (void)cmp_json_bool(cur, "registrationsOnly", &in->reg_only);
    if (cmp_json_int(cur, "confirmTimeout", &timeout) == 1)
        in->timeout = timeout;
}

static void null_clears(const json_t *b, const char *key, const char **field)
{
    if (json_is_null(json_object_get(b, key)))
        *field = NULL;
}

static int read_fields(admin_req_t *rq, admin_resp_t *rs, const json_t *cur,
                       profile_in_t *in)
{
    const json_t *b = rq->body;
    int got;

    memset(in, 0, sizeof(*in));
    in->implicit = 1;
    in->revoke_on_kur = 1;
    in->mac_rr = 0;
    in->timeout = 300;
    in->description = "";
    if (cur != NULL)
        stored_fields(cur, in);
    if (admin_need_object(rq, rs)
            || admin_type_error(rq, rs, cmp_json_str(b, "name", &in->name), "name", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "description", &in->description), "description", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "variant", &in->variant), "variant", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "requestProtectionMethod", &in->req), "requestProtectionMethod", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "responseProtectionMethod", &in->resp), "responseProtectionMethod", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "sharedSecret", &in->secret), "sharedSecret", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "signingCertificateUuid", &in->signing), "signingCertificateUuid", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "raProfileUuid", &in->ra), "raProfileUuid", "a string")
            || admin_type_error(rq, rs, cmp_json_str(b, "trustAnchors", &in->anchors), "trustAnchors", "a string (PEM)")
            || admin_type_error(rq, rs, cmp_json_bool(b, "allowImplicitConfirm", &in->implicit), "allowImplicitConfirm", "a boolean")
            || admin_type_error(rq, rs, cmp_json_bool(b, "revokeOnKeyUpdate", &in->revoke_on_kur), "revokeOnKeyUpdate", "a boolean")
            || admin_type_error(rq, rs, cmp_json_bool(b, "allowMacRevocation", &in->mac_rr), "allowMacRevocation", "a boolean")
            || admin_type_error(rq, rs, cmp_json_bool(b, "registrationsOnly", &in->reg_only), "registrationsOnly", "a boolean")
            || admin_type_error(rq, rs, cmp_json_str(b, "sharedSecretReference", &in->secret_ref), "sharedSecretReference", "a string")
            || admin_type_error(rq, rs, got = cmp_json_int(b, "confirmTimeout", &in->timeout), "confirmTimeout", "a number")
            || admin_type_error(rq, rs, cmp_json_str(b, "previousSecretValidUntil", &in->prev_until),
                                "previousSecretValidUntil", "an RFC 3339 date-time or null"))
        return 1;
    in->prev_given = json_object_get(b, "previousSecretValidUntil") != NULL;
    (void)got;
    null_clears(b, "signingCertificateUuid", &in->signing);
    null_clears(b, "raProfileUuid", &in->ra);
    null_clears(b, "sharedSecretReference", &in->secret_ref);
    null_clears(b, "trustAnchors", &in->anchors);
    if (in->secret != NULL && *in->secret == '\0')
        in->secret = NULL;
    if (in->secret_ref != NULL && *in->secret_ref == '\0')
        in->secret_ref = NULL;
    return 0;
}

/* A shared secret is guessed offline from one MAC-protected message (the
 * PBM's iteration count is the client's choice), so a short one is
 * refused; the console's generator makes 32 random characters. */
#define ADMIN_SECRET_MIN_CHARS 12
/* The longest overlap of an old and a new shared secret. */
#define ADMIN_SECRET_OVERLAP_MAX_DAYS 366

static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* CZERTAINLY's rules (CmpProfileServiceImpl), plus ours. */
static void check_rules(admin_req_t *rq, profile_in_t *in, int has_stored_secret,
                        json_t *errs)
{
    char missing[200];

    in->req_db = protection_db(in->req);
    in->resp_db = protection_db(in->resp);
    if (in->variant == NULL)
        json_array_append_new(errs, json_string("variant is required"));
    else if (strcmp(in->variant, "v3") == 0) {
        if (cmp_profile_v3_missing(missing, sizeof(missing)) != NULL)
            json_array_append_new(errs, json_string(missing));
    } else if (strcmp(in->variant, "v2") != 0 && strcmp(in->variant, "v2_3gpp") != 0)
        json_array_append_new(errs, json_string("variant must be v2, v2_3gpp or v3"));
    if (in->req_db == NULL)
        json_array_append_new(errs, json_string("requestProtectionMethod must be "
                                                "sharedSecret or signature"));
    if (in->resp_db == NULL)
        json_array_append_new(errs, json_string("responseProtectionMethod must be "
                                                "sharedSecret or signature"));
    if (in->req_db != NULL && in->resp_db != NULL && in->variant != NULL) {
        if (strcmp(in->variant, "v2_3gpp") == 0
                && (strcmp(in->req_db, "signature") != 0
                    || strcmp(in->resp_db, "signature") != 0))
            json_array_append_new(errs, json_string("CMPv2 3GPP requires signature "
                                                    "protection of requests and responses"));
        else if (strcmp(in->req_db, "signature") == 0
                 && strcmp(in->resp_db, "shared_secret") == 0)
            json_array_append_new(errs, json_string("signed requests need signed "
                                                    "responses"));
    }
    if (in->reg_only && in->req_db != NULL && strcmp(in->req_db, "shared_secret") != 0)
        json_array_append_new(errs, json_string("registrationsOnly needs "
                                                "requestProtectionMethod sharedSecret "
                                                "(the device registrations' secrets)"));
    /* with registrations only, the MAC of each request (and its response)
     * is the registration's: the profile needs no secret of its own */
    if (((in->req_db && strcmp(in->req_db, "shared_secret") == 0)
            || (in->resp_db && strcmp(in->resp_db, "shared_secret") == 0))
            && in->secret == NULL && !has_stored_secret && !in->reg_only)
        json_array_append_new(errs, json_string("Shared secret cannot be empty"));
    if (in->resp_db != NULL && strcmp(in->resp_db, "signature") == 0
            && in->signing == NULL)
        json_array_append_new(errs, json_string("Signing certificate cannot be empty"));
    if (in->signing != NULL && !admin_is_uuid(in->signing))
        json_array_append_new(errs, json_string("signingCertificateUuid is not a UUID"));
    if (in->ra != NULL && !admin_is_uuid(in->ra))
        json_array_append_new(errs, json_string("raProfileUuid is not a UUID"));
    if (in->secret != NULL && utf8_chars(in->secret) < ADMIN_SECRET_MIN_CHARS)
        json_array_append_new(errs, json_sprintf("sharedSecret must be at least %d "
                                                 "characters", ADMIN_SECRET_MIN_CHARS));
    if (in->timeout < 1 || in->timeout > 86400)
        json_array_append_new(errs, json_string("confirmTimeout must be 1..86400 seconds"));
    if (in->secret_ref != NULL && strlen(in->secret_ref) > 128)
        json_array_append_new(errs, json_string("sharedSecretReference must be 1 "
                                                "to 128 characters"));
    if (in->anchors != NULL && *in->anchors) {
        STACK_OF(X509) *tas = admin_parse_certs(in->anchors);

        if (tas == NULL)
            json_array_append_new(errs, json_string("trustAnchors must be PEM certificates"));
        else
            in->anchors_der = admin_der_chain(rq->p, tas, 0, &in->anchors_len);
        sk_X509_pop_free(tas, X509_free);
    }
}

/* previousSecretValidUntil (cur: the profile, NULL for a POST): with a new
 * sharedSecret the stored one stays valid until then (none: a cut-over);
 * alone it moves (null: ends) the window of the secret already kept.
 * Non-zero when it set the response (the database failed). */
static int check_rotation(admin_req_t *rq, admin_resp_t *rs,
                          const profile_in_t *in, const json_t *cur, json_t *errs)
{
    const json_t *kept = cur != NULL ? json_object_get(cur, "previousSecretValidUntil") : NULL;
    const char *vals[1] = {in->prev_until};
    PGresult *r;

    if (in->prev_until == NULL)
        return 0;
    if (!admin_is_rfc3339_time(in->prev_until))
        json_array_append_new(errs, json_string("previousSecretValidUntil must be an "
                                                "RFC 3339 date-time with its offset, "
                                                "e.g. 2027-01-31T12:00:00Z"));
    else if (cur == NULL)
        json_array_append_new(errs, json_string("previousSecretValidUntil: a new CMP "
                                                "Profile has no previous shared secret"));
    else if (in->secret != NULL && !json_is_true(json_object_get(cur, "hasSharedSecret")))
        json_array_append_new(errs, json_string("previousSecretValidUntil: the CMP "
                                                "Profile has no shared secret to keep"));
    else if (in->secret == NULL && json_is_null(kept))
        json_array_append_new(errs, json_string("previousSecretValidUntil needs a new "
                                                "sharedSecret: no previous shared secret "
                                                "is kept"));
    else if (admin_sql(rq, rs, "SELECT $1::timestamptz > now() AND $1::timestamptz "
                       "<= now() + interval '" CMP_STR(ADMIN_SECRET_OVERLAP_MAX_DAYS)
                       " days'", 1, vals, NULL, &r))
        return 1;
    else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
        json_array_append_new(errs, json_string("previousSecretValidUntil must lie in "
                                                "the future, at most "
                                                CMP_STR(ADMIN_SECRET_OVERLAP_MAX_DAYS)
                                                " days ahead"));
    return 0;
}

/* Referenced objects must exist: 404 as CZERTAINLY. */
static int check_refs(admin_req_t *rq, admin_resp_t *rs, const profile_in_t *in)
{
    PGresult *r;

    if (in->signing != NULL) {
        size_t n;
        unsigned char *der;

        if (admin_sql(rq, rs, "SELECT cert FROM signing_credential WHERE uuid = "
                      "$1::uuid", 1, &in->signing, NULL, &r))
            return 1;
        if (PQntuples(r) == 0) {
            admin_error(rq, rs, 404, "Signing certificate %s not found", in->signing);
            return 1;
        }
        der = cmp_db_bytea(rq->p, r, 0, 0, &n);
        if (!admin_signer_usable(der, n)) {
            admin_invalid(rq, rs, json_pack("[s]", "Signing certificate cannot be "
                                            "used for CMP Profile (not valid now)"));
            return 1;
        }
    }
    if (in->ra != NULL) {
        if (admin_sql(rq, rs, "SELECT 1 FROM ra_profile WHERE uuid = $1::uuid", 1,
                      &in->ra, NULL, &r))
            return 1;
        if (PQntuples(r) == 0) {
            admin_error(rq, rs, 404, "RA Profile %s not found", in->ra);
            return 1;
        }
    }
    return 0;
}

static int seal_secret(admin_req_t *rq, admin_resp_t *rs, profile_in_t *in)
{
    size_t n = 0;

    if (in->secret == NULL)
        return 0;
    if (cmp_secret_encrypt(rq->p, rq->key, CMP_LABEL_SHARED_SECRET,
                           (const unsigned char *)in->secret, strlen(in->secret),
                           &in->secret_enc, &n) != APR_SUCCESS) {
        admin_error(rq, rs, 500, "the shared secret could not be sealed");
        return 1;
    }
    in->secret_len = (int)n;
    return 0;
}

/* Parameters $2..$12 shared by INSERT and UPDATE. */
static void params(admin_req_t *rq, const profile_in_t *in, const char **vals,
                   int *lens)
{
    vals[1] = in->description;
    vals[2] = in->variant;
    vals[3] = in->req_db;
    vals[4] = in->resp_db;
    vals[5] = (const char *)in->secret_enc;
    lens[5] = in->secret_len;
    vals[6] = in->resp_db != NULL && strcmp(in->resp_db, "signature") == 0
              ? in->signing : NULL;
    vals[7] = in->ra;
    vals[8] = (const char *)in->anchors_der;
    lens[8] = in->anchors_len;
    vals[9] = in->implicit ? "true" : "false";
    vals[10] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)in->timeout);
    /* the secret is kept only while something uses it */
    vals[11] = strcmp(in->req_db, "shared_secret") == 0
               || strcmp(in->resp_db, "shared_secret") == 0 ? "true" : "false";
    vals[12] = in->revoke_on_kur ? "true" : "false";
    vals[13] = in->mac_rr ? "true" : "false";
    vals[14] = in->secret_ref;
    vals[15] = in->prev_given ? "true" : "false";
    vals[16] = in->prev_until;
    vals[17] = in->reg_only ? "true" : "false";
}

static void create_profile(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *errs = cmp_json_own(rq->p, json_array()), *o;
    profile_in_t in;
    const char *vals[18];
    int lens[18] = {0};
    PGresult *r;

    if (read_fields(rq, rs, NULL, &in))
        return;
    if (in.name == NULL || !cmp_name_valid(in.name))
        json_array_append_new(errs, json_string("name is required and may hold "
                                                "only A-Z a-z 0-9 - . _ ~"));
    check_rules(rq, &in, 0, errs);
    if (check_rotation(rq, rs, &in, NULL, errs))
        return;
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    if (check_refs(rq, rs, &in) || seal_secret(rq, rs, &in))
        return;
    vals[0] = in.name;
    params(rq, &in, vals, lens);
    vals[15] = vals[17];                /* $16 of the INSERT */
    if (admin_sql(rq, rs, "INSERT INTO cmp_profile (name, description, variant, "
                  "request_protection, response_protection, shared_secret_enc, "
                  "signing_credential_id, default_ra_profile_id, trust_anchors, "
                  "allow_implicit_confirm, confirm_timeout_s, enabled, "
                  "revoke_on_key_update, allow_mac_revocation, "
                  "shared_secret_reference, registrations_only) VALUES ($1, "
                  "$2, $3, $4, $5, CASE WHEN $12::boolean THEN $6::bytea END, "
                  "(SELECT id FROM signing_credential WHERE uuid = $7::uuid), "
                  "(SELECT id FROM ra_profile WHERE uuid = $8::uuid), $9, $10, "
                  "$11::int, false, $13, $14, $15, $16::boolean) RETURNING uuid", 16, vals, lens,
                  &r))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "cmpProfile:", PQgetvalue(r, 0, 0), NULL);
    if (load_one(rq, rs, PQgetvalue(r, 0, 0), &o))
        return;
    rs->location = apr_pstrcat(rq->p, "/cmpProfiles/", PQgetvalue(r, 0, 0),
                               NULL);
    admin_json(rq, rs, 201, json_incref(o));
}

static void edit_profile(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *errs = cmp_json_own(rq->p, json_array()), *cur;
    profile_in_t in;
    const char *vals[18], *uuid = admin_seg(rq, 1);
    int lens[18] = {0};
    PGresult *r;

    if (load_one(rq, rs, uuid, &cur) || read_fields(rq, rs, cur, &in))
        return;
    if (in.name != NULL && strcmp(in.name, json_string_value(json_object_get(cur, "name"))) != 0)
        json_array_append_new(errs, json_string("name cannot be changed"));
    check_rules(rq, &in, json_is_true(json_object_get(cur, "hasSharedSecret")), errs);
    if (check_rotation(rq, rs, &in, cur, errs))
        return;
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    if (check_refs(rq, rs, &in) || seal_secret(rq, rs, &in))
        return;
    vals[0] = uuid;
    params(rq, &in, vals, lens);
    rq->audit_object = apr_pstrcat(rq->p, "cmpProfile:", uuid, NULL);
    /* A blank sharedSecret keeps the stored one. */
    if (admin_sql(rq, rs, "UPDATE cmp_profile SET description = $2, variant = $3, "
                  "request_protection = $4, response_protection = $5, "
                  "shared_secret_enc = CASE WHEN NOT $12::boolean THEN NULL ELSE "
                  "coalesce($6::bytea, shared_secret_enc) END, signing_credential_id "
                  "= (SELECT id FROM signing_credential WHERE uuid = $7::uuid), "
                  "default_ra_profile_id = (SELECT id FROM ra_profile WHERE uuid = "
                  "$8::uuid), trust_anchors = $9, allow_implicit_confirm = $10, "
                  "confirm_timeout_s = $11::int, revoke_on_key_update = $13, "
                  "allow_mac_revocation = $14, shared_secret_reference = $15, "
                  "registrations_only = $18::boolean, "
                  /* a new secret: the stored one kept until $17 (or not at
                   * all); none: the window moved ($16), or the kept one
                   * dropped once its time has passed */
                  "previous_secret_enc = CASE WHEN NOT $12::boolean THEN NULL "
                  "WHEN $6::bytea IS NOT NULL THEN CASE WHEN $17::timestamptz "
                  "IS NOT NULL THEN shared_secret_enc END WHEN $16::boolean THEN "
                  "CASE WHEN $17::timestamptz IS NOT NULL THEN previous_secret_enc "
                  "END WHEN previous_secret_until > now() THEN previous_secret_enc "
                  "END, previous_secret_until = CASE WHEN NOT $12::boolean THEN "
                  "NULL WHEN $6::bytea IS NOT NULL THEN CASE WHEN shared_secret_enc "
                  "IS NOT NULL THEN $17::timestamptz END WHEN $16::boolean THEN "
                  "CASE WHEN previous_secret_enc IS NOT NULL THEN $17::timestamptz "
                  "END WHEN previous_secret_until > now() THEN previous_secret_until "
                  "END WHERE uuid = $1::uuid", 18, vals, lens, &r))
        return;
    if (!load_one(rq, rs, uuid, &cur))
        admin_json(rq, rs, 200, json_incref(cur));
}

/* ---- delete, enable, link ------------------------------------------------ */

/* NULL when deleted, else why not. */
static const char *delete_uuid(admin_req_t *rq, admin_resp_t *rs, const char *uuid,
                               int force)
{
    PGresult *r;
    json_t *o, *ras;
    const char *names = "";
    size_t i;

    if (load_one(rq, rs, uuid, &o))
        return "not found";
    rq->audit_name = json_string_value(json_object_get(o, "name"));
    ras = json_object_get(o, "raProfiles");
    if (json_array_size(ras) > 0 && !force) {
        for (i = 0; i < json_array_size(ras); i++)
            names = apr_pstrcat(rq->p, names, i ? "," : "", json_string_value(
                                json_object_get(json_array_get(ras, i), "name")), NULL);
        return apr_psprintf(rq->p, "Cannot remove as there are associated RA "
                            "Profiles (%d): %s", (int)json_array_size(ras), names);
    }
    if (admin_sql(rq, rs, "UPDATE ra_profile SET cmp_profile_id = NULL WHERE "
                  "cmp_profile_id = (SELECT id FROM cmp_profile WHERE uuid = $1::uuid)",
                  1, &uuid, NULL, &r)
            || admin_sql(rq, rs, "DELETE FROM cmp_profile WHERE uuid = $1::uuid", 1,
                         &uuid, NULL, &r))
        return "database error";
    return NULL;
}

static void delete_profile(admin_req_t *rq, admin_resp_t *rs)
{
    const char *why;

    rq->audit_object = apr_pstrcat(rq->p, "cmpProfile:", admin_seg(rq, 1), NULL);
    why = delete_uuid(rq, rs, admin_seg(rq, 1), 0);
    if (why == NULL)
        admin_no_content(rs);
    else if (rs->status < 400 || rs->status == 500)
        admin_invalid(rq, rs, json_pack("[s]", why));
}

static apr_array_header_t *uuid_list(admin_req_t *rq, admin_resp_t *rs)
{
    apr_array_header_t *a;
    json_t *item;
    size_t i;

    if (rq->body == NULL || !json_is_array(rq->body)) {
        admin_error(rq, rs, 400, "the body must be a JSON array of UUIDs");
        return NULL;
    }
    a = apr_array_make(rq->p, 8, sizeof(const char *));
    json_array_foreach(rq->body, i, item) {
        if (!json_is_string(item) || !admin_is_uuid(json_string_value(item))) {
            admin_error(rq, rs, 400, "the body must be a JSON array of UUIDs");
            return NULL;
        }
        APR_ARRAY_PUSH(a, const char *) = json_string_value(item);
    }
    return a;
}

static void bulk_delete(admin_req_t *rq, admin_resp_t *rs, int force)
{
    apr_array_header_t *a = uuid_list(rq, rs);
    json_t *failures;
    const char *names = NULL;
    int i;

    if (a == NULL)
        return;
    failures = cmp_json_own(rq->p, json_array());
    rq->audit_object = apr_psprintf(rq->p, "cmpProfiles:%d", a->nelts);
    for (i = 0; i < a->nelts; i++) {
        const char *uuid = APR_ARRAY_IDX(a, i, const char *), *why;
        admin_resp_t one = {0, NULL, NULL, NULL, NULL, NULL, 0};

        rq->audit_name = NULL;
        why = delete_uuid(rq, &one, uuid, force);
        if (why == NULL && rq->audit_name != NULL)    /* the names deleted */
            names = names == NULL ? rq->audit_name
                                  : apr_pstrcat(rq->p, names, ", ", rq->audit_name, NULL);
        if (one.status == 503 || one.status == 500) {
            *rs = one;
            return;
        }
        if (why != NULL)
            json_array_append_new(failures, json_pack("{s:s,s:o,s:s}", "uuid", uuid,
                                                      "name", rq->audit_name != NULL
                                                      ? json_string(rq->audit_name)
                                                      : json_null(), "message", why));
    }
    rq->audit_name = names != NULL ? names : "";
    admin_json(rq, rs, 200, json_incref(failures));
}

static void bulk_delete_plain(admin_req_t *rq, admin_resp_t *rs)
{
    bulk_delete(rq, rs, 0);
}

static void bulk_delete_force(admin_req_t *rq, admin_resp_t *rs)
{
    bulk_delete(rq, rs, 1);
}

static void set_enabled(admin_req_t *rq, admin_resp_t *rs, const char *uuid, int on,
                        int must_exist)
{
    const char *vals[2] = {uuid, on ? "true" : "false"};
    PGresult *r;

    if (admin_sql(rq, rs, "UPDATE cmp_profile SET enabled = $2 WHERE uuid = "
                  "$1::uuid RETURNING id", 2, vals, NULL, &r))
        return;
    if (PQntuples(r) == 0 && must_exist)
        admin_error(rq, rs, 404, "CMP Profile %s not found", uuid);
    else
        admin_no_content(rs);
}

static void enable_profile(admin_req_t *rq, admin_resp_t *rs)
{
    rq->audit_object = apr_pstrcat(rq->p, "cmpProfile:", admin_seg(rq, 1), NULL);
    set_enabled(rq, rs, admin_seg(rq, 1), 1, 1);
}

static void disable_profile(admin_req_t *rq, admin_resp_t *rs)
{
    rq->audit_object = apr_pstrcat(rq->p, "cmpProfile:", admin_seg(rq, 1), NULL);
    set_enabled(rq, rs, admin_seg(rq, 1), 0, 1);
}

static void bulk_enabled(admin_req_t *rq, admin_resp_t *rs, int on)
{
    apr_array_header_t *a = uuid_list(rq, rs);
    int i;

    if (a == NULL)
        return;
    rq->audit_object = apr_psprintf(rq->p, "cmpProfiles:%d", a->nelts);
    admin_no_content(rs);
    /* unknown UUIDs are skipped, as CZERTAINLY does */
    for (i = 0; i < a->nelts && rs->status < 400; i++)
        set_enabled(rq, rs, APR_ARRAY_IDX(a, i, const char *), on, 0);
}

static void bulk_enable(admin_req_t *rq, admin_resp_t *rs)
{
    bulk_enabled(rq, rs, 1);
}

static void bulk_disable(admin_req_t *rq, admin_resp_t *rs)
{
    bulk_enabled(rq, rs, 0);
}

static void set_default_ra(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[2] = {admin_seg(rq, 1), admin_seg(rq, 3)};
    PGresult *r;

    rq->audit_object = apr_pstrcat(rq->p, "cmpProfile:", vals[0], NULL);
    if (admin_sql(rq, rs, "SELECT 1 FROM ra_profile WHERE uuid = $1::uuid", 1,
                  vals + 1, NULL, &r))
        return;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "RA Profile %s not found", vals[1]);
        return;
    }
    if (admin_sql(rq, rs, "UPDATE cmp_profile SET default_ra_profile_id = (SELECT id "
                  "FROM ra_profile WHERE uuid = $2::uuid) WHERE uuid = $1::uuid "
                  "RETURNING id", 2, vals, NULL, &r))
        return;
    if (PQntuples(r) == 0)
        admin_error(rq, rs, 404, "CMP Profile %s not found", vals[0]);
    else
        admin_no_content(rs);
}

const admin_route_t admin_cmp_profile_routes[] = {
    {ADMIN_GET, "/cmpProfiles", list_profiles, NULL, 0},
    {ADMIN_POST, "/cmpProfiles", create_profile, NULL, 0},
    {ADMIN_DELETE, "/cmpProfiles/delete", bulk_delete_plain, NULL, 0},
    {ADMIN_DELETE, "/cmpProfiles/delete/force", bulk_delete_force, NULL, 0},
    {ADMIN_PATCH, "/cmpProfiles/enable", bulk_enable, NULL, 0},
    {ADMIN_PATCH, "/cmpProfiles/disable", bulk_disable, NULL, 0},
    {ADMIN_GET, "/cmpProfiles/{uuid}", get_profile, NULL, 0},
    {ADMIN_PUT, "/cmpProfiles/{uuid}", edit_profile, NULL, 0},
    {ADMIN_DELETE, "/cmpProfiles/{uuid}", delete_profile, NULL, 0},
    {ADMIN_PATCH, "/cmpProfiles/{uuid}/enable", enable_profile, NULL, 0},
    {ADMIN_PATCH, "/cmpProfiles/{uuid}/disable", disable_profile, NULL, 0},
    {ADMIN_PATCH, "/cmpProfiles/{uuid}/raProfiles/{uuid}", set_default_ra, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
