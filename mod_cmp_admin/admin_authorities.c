/* SPDX-License-Identifier: Apache-2.0 */
/* /authorities: local CAs, generated here or imported. Private keys go into
 * the database encrypted and never come out through the API. */
#include <string.h>
#include <time.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "cmp_crl.h"
#include "cmp_profile.h"
#include "cmp_rollover.h"
#include "admin_pki.h"

#define AUTHORITY_JSON \
    "json_build_object('uuid', a.uuid, 'name', a.name, 'description', " \
    "a.description, 'kind', a.kind, 'enabled', a.enabled, 'createdAt', " \
    "a.created_at, 'crlValiditySeconds', a.crl_validity_s, 'publicUrl', " \
    "a.public_url, 'ocspUrl', a.ocsp_url, 'crl', (SELECT " \
    "json_build_object('crlNumber', c.crl_number, 'thisUpdate', c.this_update, " \
    "'nextUpdate', c.next_update, 'entries', c.entries) FROM crl c WHERE " \
    "c.authority_id = a.id AND c.der IS NOT NULL), 'raProfiles', (SELECT coalesce(json_agg(json_build_object(" \
    "'uuid', r.uuid, 'name', r.name) ORDER BY r.name), '[]') FROM ra_profile r " \
    "WHERE r.authority_id = a.id), 'hasIssuedCertificates', EXISTS (SELECT 1 FROM " \
    "certificate c WHERE c.authority_id = a.id), 'keyGeneration', " \
    "a.key_generation, 'successor', (SELECT json_build_object('generation', " \
    "k.generation, 'activeFrom', k.active_from, 'createdAt', k.created_at, " \
    "'createdBy', k.created_by) FROM authority_key k WHERE k.authority_id = " \
    "a.id AND k.state = 'next'), 'retiredKeys', (SELECT coalesce(json_agg(" \
    "json_build_object('generation', k.generation, 'retiredAt', k.retired_at, " \
    "'crlNumber', nullif(k.crl_number, 0), 'crlNextUpdate', k.crl_next_update) " \
    "ORDER BY k.generation), '[]') FROM authority_key k WHERE k.authority_id = " \
    "a.id AND k.state = 'retired'))::text, a.ca_cert, a.ca_chain, " \
    "a.new_with_old, a.old_with_new, n.ca_cert, n.new_with_old, " \
    "n.old_with_new, a.name, a.key_generation"
#define AUTHORITY_FROM \
    " FROM authority a LEFT JOIN authority_key n ON n.authority_id = a.id " \
    "AND n.state = 'next' "

/* A certificate column as PEM under name; nothing when it is NULL. */
static void set_pem(admin_req_t *rq, json_t *o, const char *name,
                    PGresult *r, int row, int col)
{
    size_t n;
    unsigned char *der = cmp_db_bytea(rq->p, r, row, col, &n);

    if (der != NULL)
        json_object_set_new(o, name, json_string(admin_pem_of(rq->p, der, n)));
}

/* Rows of AUTHORITY_JSON to JSON objects with the CA's details, its chain
 * (PEM, the certificates above it; "" for a root), the file names of its
 * current key's CRL and certificate under publicUrl, the link
 * certificates of its last key rollover and its successor's, if any. */
static json_t *authority_rows(admin_req_t *rq, PGresult *r)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < PQntuples(r); i++) {
        json_t *o = json_loads(PQgetvalue(r, i, 0), 0, NULL), *next;
        size_t n;
        unsigned char *der = cmp_db_bytea(rq->p, r, i, 1, &n);
        int gen = (int)cmp_db_ll(r, i, 9);

        if (o == NULL)
            continue;
        admin_cert_fields(rq->p, o, der, n);
        der = cmp_db_bytea(rq->p, r, i, 2, &n);
        json_object_set_new(o, "chain", json_string(der != NULL && n > 0
                                                    ? admin_pem_of(rq->p, der, n) : ""));
        json_object_set_new(o, "crlFile", json_string(cmp_rollover_file(
                                rq->p, PQgetvalue(r, i, 8), gen, ".crl")));
        json_object_set_new(o, "certificateFile", json_string(cmp_rollover_file(
                                rq->p, PQgetvalue(r, i, 8), gen, ".crt")));
        set_pem(rq, o, "newWithOld", r, i, 3);
        set_pem(rq, o, "oldWithNew", r, i, 4);
        if ((next = json_object_get(o, "successor")) != NULL && json_is_object(next)) {
            der = cmp_db_bytea(rq->p, r, i, 5, &n);
            admin_cert_fields(rq->p, next, der, n);
            set_pem(rq, next, "newWithOld", r, i, 6);
            set_pem(rq, next, "oldWithNew", r, i, 7);
        }
        json_array_append_new(list, o);
    }
    return list;
}

/* The Authority as JSON, owned by the request pool (borrowed). */
static int load_one(admin_req_t *rq, admin_resp_t *rs, const char *uuid,
                    json_t **out)
{
    const char *vals[1] = {uuid};
    PGresult *r;

    *out = NULL;
    if (admin_sql(rq, rs, "SELECT " AUTHORITY_JSON AUTHORITY_FROM
                  "WHERE a.uuid = $1::uuid", 1, vals, NULL, &r))
        return 1;
    return admin_only(rq, rs, authority_rows(rq, r), "Authority", uuid, out);
}

static void list_authorities(admin_req_t *rq, admin_resp_t *rs)
{
    PGresult *r;

    if (admin_sql(rq, rs, "SELECT " AUTHORITY_JSON AUTHORITY_FROM
                  "ORDER BY a.name", 0, NULL, NULL, &r))
        return;
    admin_json(rq, rs, 200, authority_rows(rq, r));
}

static void get_authority(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *o;

    if (!load_one(rq, rs, admin_seg(rq, 1), &o))
        admin_json(rq, rs, 200, json_incref(o));
}

typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) *chain;      /* certificates above cert */
    long long issuer_id;        /* a local Authority that issued cert, or 0 */
    int issuer_generation;      /* with its key of this generation */
} ca_material_t;

static void material_free(ca_material_t *m)
{
    X509_free(m->cert);
    EVP_PKEY_free(m->key);
    sk_X509_pop_free(m->chain, X509_free);
}

/* generate.issuerAuthorityUuid: the local Authority that certifies the new
 * one (its current key, the URLs it puts into what it issues), and the
 * chain above the new CA (the issuer and its chain). */
static int load_issuer(admin_req_t *rq, const char *uuid, json_t *errs,
                       cmp_ca_t *issuer, ca_material_t *m)
{
    PGresult *r;
    size_t n;
    unsigned char *b;

    if (!admin_is_uuid(uuid)) {
        json_array_append_new(errs, json_string("generate.issuerAuthorityUuid must be a UUID"));
        return 0;
    }
    if (cmp_db_query(rq->p, rq->conn, "SELECT id, key_generation, ca_cert, "
                     "ca_key_enc, ca_chain, public_url, ocsp_url, name FROM "
                     "authority WHERE uuid = $1::uuid AND kind = 'local' AND "
                     "enabled", 1, &uuid, NULL, &r, NULL) != APR_SUCCESS
            || PQntuples(r) != 1) {
        json_array_append_new(errs, json_sprintf("generate.issuerAuthorityUuid: "
                              "no enabled local Authority %s", uuid));
        return 0;
    }
    m->issuer_id = cmp_db_ll(r, 0, 0);
    m->issuer_generation = (int)cmp_db_ll(r, 0, 1);
    b = cmp_db_bytea(rq->p, r, 0, 4, &n);
    m->chain = cmp_profile_certs(b, n);
    if (!admin_ca_of_row(rq, r, 2, issuer) || m->chain == NULL
            || !X509_up_ref(issuer->cert)
            || !sk_X509_unshift(m->chain, issuer->cert)) {
        json_array_append_new(errs, json_string("the issuing Authority's "
                              "certificate, key or chain cannot be read"));
        return 0;
    }
    if ((!PQgetisnull(r, 0, 5) || !PQgetisnull(r, 0, 6))
            && (issuer->exts = cmp_crl_cert_exts(
                    PQgetisnull(r, 0, 5) ? NULL : PQgetvalue(r, 0, 5),
                    PQgetisnull(r, 0, 6) ? NULL : PQgetvalue(r, 0, 6),
                    PQgetvalue(r, 0, 7),
                    cmp_rollover_file(rq->p, PQgetvalue(r, 0, 7),
                                      m->issuer_generation, ""))) == NULL) {
        json_array_append_new(errs, json_string("the issuing Authority's CRL "
                              "and authorityInfoAccess extensions cannot be made"));
        return 0;
    }
    return 1;
}

static void generate(admin_req_t *rq, const json_t *gen, json_t *errs,
                     ca_material_t *m)
{
    const char *subject = NULL, *type = "EC", *param = NULL, *why = NULL;
    const char *issuer_uuid = NULL;
    long long days = 3650;
    X509_NAME *name = NULL;
    cmp_ca_t issuer = {NULL, NULL, NULL};

    if (cmp_json_str(gen, "subject", &subject) != 1)
        json_array_append_new(errs, json_string("generate.subject is required"));
    if (cmp_json_str(gen, "keyType", &type) < 0
            || cmp_json_str(gen, "keyParameter", &param) < 0
            || cmp_json_str(gen, "issuerAuthorityUuid", &issuer_uuid) < 0
            || cmp_json_int(gen, "validityDays", &days) < 0) {
        json_array_append_new(errs, json_string("generate: keyType, keyParameter "
                              "and issuerAuthorityUuid are strings, validityDays "
                              "a number"));
        return;
    }
    if (days < 1 || days > 36500)
        json_array_append_new(errs, json_string("generate.validityDays must be 1..36500"));
    if (subject != NULL && (name = admin_parse_name(subject, &why)) == NULL)
        json_array_append_new(errs, json_sprintf("generate.subject: %s", why));
    if (json_array_size(errs) == 0 && issuer_uuid != NULL)
        (void)load_issuer(rq, issuer_uuid, errs, &issuer, m);
    if (json_array_size(errs) == 0
            && (m->key = cmp_key_generate(rq->p, type, param, &why)) == NULL)
        json_array_append_new(errs, json_sprintf("generate.keyType %s: %s", type, why));
    /* a root, or a subordinate CA that never outlives its issuer */
    if (json_array_size(errs) == 0
            && (m->cert = issuer_uuid != NULL
                          ? cmp_issue_sub_ca(&issuer, m->key, name, (int)days)
                          : cmp_issue_root_ca(m->key, name, (int)days)) == NULL)
        json_array_append_new(errs, json_string("the CA certificate could not be made"));
    X509_NAME_free(name);
    X509_free(issuer.cert);
    EVP_PKEY_free(issuer.key);
    sk_X509_EXTENSION_pop_free(issuer.exts, X509_EXTENSION_free);
}

static void import(admin_req_t *rq, const json_t *body, json_t *errs,
                   ca_material_t *m)
{
    const char *pem = NULL, *key = NULL, *pass = NULL, *chain = NULL;
    STACK_OF(X509) *certs;

    cmp_json_str(body, "certificate", &pem);
    cmp_json_str(body, "chain", &chain);
    cmp_json_str(body, "passphrase", &pass);
    if (cmp_json_str(body, "privateKey", &key) != 1) {
        json_array_append_new(errs, json_string("privateKey is required with certificate"));
        return;
    }
    if (strncmp(key, "pkcs11:", 7) == 0) {
        json_array_append_new(errs, json_string("PKCS#11 keys are not supported "
                                                "by this build"));
        return;
    }
    if ((certs = admin_parse_certs(pem)) == NULL) {
        json_array_append_new(errs, json_string("certificate is not a PEM certificate"));
        return;
    }
    m->cert = sk_X509_shift(certs);
    m->chain = certs;
    if (chain != NULL && *chain) {
        STACK_OF(X509) *more = admin_parse_certs(chain);

        if (more == NULL)
            json_array_append_new(errs, json_string("chain is not PEM certificates"));
        while (more != NULL && sk_X509_num(more) > 0)
            sk_X509_push(m->chain, sk_X509_shift(more));
        sk_X509_free(more);
    }
    if ((m->key = admin_parse_key(key, pass)) == NULL)
        json_array_append_new(errs, json_string("privateKey does not parse "
                                                "(wrong or missing passphrase?)"));
    else if (!X509_check_private_key(m->cert, m->key))
        json_array_append_new(errs, json_string("privateKey does not match the certificate"));
    if (X509_check_ca(m->cert) == 0)
        json_array_append_new(errs, json_string("certificate is not a CA certificate"));
    ERR_clear_error();
}

/* crlValiditySeconds of a POST or PUT: 1 after a 400 (not an integer);
 * a range problem goes to errs. *out stays when it is not given. */
static int crl_validity(admin_req_t *rq, admin_resp_t *rs, json_t *errs,
                        const char **out)
{
    long long v = 0;

    if (admin_type_error(rq, rs, cmp_json_int(rq->body, "crlValiditySeconds", &v),
                         "crlValiditySeconds", "an integer"))
        return 1;
    if (json_object_get(rq->body, "crlValiditySeconds") == NULL)
        return 0;
    if (!cmp_crl_validity_ok(v))
        json_array_append_new(errs, json_sprintf("crlValiditySeconds must be "
                                                 "%d..%d", CMP_CRL_VALIDITY_MIN,
                                                 CMP_CRL_VALIDITY_MAX));
    else
        *out = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
    return 0;
}

/* publicUrl or ocspUrl of a POST or PUT: 1 after a 400; a bad URL goes to
 * errs. *out stays when it is not given; *clear = 1 for null. */
static int url_field(admin_req_t *rq, admin_resp_t *rs, json_t *errs,
                     const char *field, const char **out, int *clear)
{
    const char *url = NULL, *bad;
    int got = cmp_json_str(rq->body, field, &url);

    *clear = got != 1 && json_is_null(json_object_get(rq->body, field));
    if (*clear)
        return 0;
    if (admin_type_error(rq, rs, got, field, "a string or null"))
        return 1;
    if (got != 1)
        return 0;
    if ((bad = cmp_crl_url_problem(rq->p, field, url)) != NULL)
        json_array_append_new(errs, json_string(bad));
    else
        *out = url;
    return 0;
}

static void create_authority(admin_req_t *rq, admin_resp_t *rs)
{
    const char *name = NULL, *desc = "", *kind = "local", *pem = NULL;
    const char *validity = NULL, *url = NULL, *ocsp = NULL;
    const json_t *gen;
    json_t *errs = cmp_json_own(rq->p, json_array()), *o;
    ca_material_t m = {NULL, NULL, NULL, 0, 0};
    int enabled = 1, len = 0, clen = 0, clear = 0;
    size_t klen = 0;
    unsigned char *der, *key, *chain;
    const char *vals[9];
    int lens[9] = {0};
    PGresult *r;

    if (admin_need_object(rq, rs) || crl_validity(rq, rs, errs, &validity)
            || url_field(rq, rs, errs, "publicUrl", &url, &clear)
            || url_field(rq, rs, errs, "ocspUrl", &ocsp, &clear)
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "name", &name), "name", "a string")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "description", &desc), "description", "a string")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "kind", &kind), "kind", "a string")
            || admin_type_error(rq, rs, cmp_json_bool(rq->body, "enabled", &enabled), "enabled", "a boolean")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "certificate", &pem), "certificate", "a string"))
        return;
    gen = json_object_get(rq->body, "generate");
    if (name == NULL || !cmp_name_valid(name))
        json_array_append_new(errs, json_string("name is required and may hold "
                                                "only A-Z a-z 0-9 - . _ ~"));
    if (strcmp(kind, "local") != 0)
        json_array_append_new(errs, json_string("kind must be 'local' (cmp-upstream "
                                                "is not available yet)"));
    if ((gen != NULL) == (pem != NULL))
        json_array_append_new(errs, json_string("give either generate or "
                                                "certificate with privateKey"));
    else if (gen != NULL && !json_is_object(gen))
        json_array_append_new(errs, json_string("generate must be an object"));
    else if (gen != NULL)
        generate(rq, gen, errs, &m);
    else
        import(rq, rq->body, errs, &m);
    if (json_array_size(errs) > 0) {
        material_free(&m);
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    der = admin_der(rq->p, m.cert, &len);
    chain = admin_der_chain(rq->p, m.chain, 0, &clen);
    if (cmp_secret_seal_key(rq->p, rq->key, CMP_LABEL_CA_KEY, m.key, &key, &klen)
            != APR_SUCCESS)
        key = NULL;
    if (der == NULL || key == NULL) {
        admin_error(rq, rs, 500, "the CA could not be stored");
        goto out;
    }
    vals[0] = name;
    vals[1] = desc;
    vals[2] = enabled ? "true" : "false";
    vals[3] = (const char *)der;
    lens[3] = len;
    vals[4] = clen > 0 ? (const char *)chain : NULL;
    lens[4] = clen;
    vals[5] = (const char *)key;
    lens[5] = (int)klen;
    vals[6] = validity;
    vals[7] = url;
    vals[8] = ocsp;
    if (admin_sql(rq, rs, "INSERT INTO authority (name, description, enabled, "
                  "ca_cert, ca_chain, ca_key_enc, kind, crl_validity_s, "
                  "public_url, ocsp_url) VALUES ($1, $2, $3, $4, $5, $6, "
                  "'local', coalesce($7::integer, 86400), $8, $9) RETURNING "
                  "uuid", 9, vals, lens, &r))
        goto out;
    rq->audit_object = apr_pstrcat(rq->p, "authority:", PQgetvalue(r, 0, 0), NULL);
    /* a subordinate CA is a certificate its issuer issued: in its inventory
     * (revocable, on its CRL), its history begun by the administrator */
    if (m.issuer_id != 0
            && admin_store_issued(rq, rs, m.cert, m.issuer_id, m.issuer_generation,
                                  "admin.issueSubordinateAuthority"))
        goto out;
    if (load_one(rq, rs, PQgetvalue(r, 0, 0), &o))
        goto out;
    rs->location = apr_pstrcat(rq->p, "/authorities/", PQgetvalue(r, 0, 0), NULL);
    admin_json(rq, rs, 201, json_incref(o));
out:
    material_free(&m);
}

static void edit_authority(admin_req_t *rq, admin_resp_t *rs)
{
    const char *desc = NULL, *name = NULL, *validity = NULL, *url = NULL;
    const char *ocsp = NULL;
    const char *vals[7];
    json_t *errs = cmp_json_own(rq->p, json_array());
    PGresult *r;
    json_t *o;
    int clear = 0, clear_ocsp = 0;

    if (admin_need_object(rq, rs)
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "description", &desc), "description", "a string")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "name", &name), "name", "a string")
            || crl_validity(rq, rs, errs, &validity)
            || url_field(rq, rs, errs, "publicUrl", &url, &clear)
            || url_field(rq, rs, errs, "ocspUrl", &ocsp, &clear_ocsp))
        return;
    if (load_one(rq, rs, admin_seg(rq, 1), &o))
        return;
    if (name != NULL && strcmp(name, json_string_value(json_object_get(o, "name"))) != 0)
        json_array_append_new(errs, json_string("name cannot be changed"));
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    vals[0] = admin_seg(rq, 1);
    vals[1] = desc;
    vals[2] = validity;
    vals[3] = url;
    vals[4] = clear ? "true" : "false";
    vals[5] = ocsp;
    vals[6] = clear_ocsp ? "true" : "false";
    /* a new CRL validity applies to the next CRL, made at once; new URLs
     * to the certificates issued from now on */
    if ((desc != NULL || validity != NULL || url != NULL || clear
         || ocsp != NULL || clear_ocsp)
            && admin_sql(rq, rs, "WITH a AS (UPDATE authority SET description = "
                         "coalesce($2, description), crl_validity_s = coalesce("
                         "$3::integer, crl_validity_s), public_url = CASE WHEN "
                         "$5::boolean THEN NULL ELSE coalesce($4, public_url) END, "
                         "ocsp_url = CASE WHEN $7::boolean THEN NULL ELSE "
                         "coalesce($6, ocsp_url) END WHERE uuid = $1::uuid "
                         "RETURNING id) UPDATE crl SET changes = changes + 1 "
                         "FROM a WHERE crl.authority_id = a.id AND "
                         "$3::integer IS NOT NULL", 7, vals, NULL, &r))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "authority:", vals[0], NULL);
    if (!load_one(rq, rs, vals[0], &o))
        admin_json(rq, rs, 200, json_incref(o));
}

static void set_enabled(admin_req_t *rq, admin_resp_t *rs, int on)
{
    const char *vals[2] = {admin_seg(rq, 1), on ? "true" : "false"};
    PGresult *r;

    rq->audit_object = apr_pstrcat(rq->p, "authority:", vals[0], NULL);
    if (admin_sql(rq, rs, "UPDATE authority SET enabled = $2 WHERE uuid = $1::uuid "
                  "RETURNING id", 2, vals, NULL, &r))
        return;
    if (PQntuples(r) == 0)
        admin_error(rq, rs, 404, "Authority %s not found", vals[0]);
    else
        admin_no_content(rs);
}

static void enable_authority(admin_req_t *rq, admin_resp_t *rs)
{
    set_enabled(rq, rs, 1);
}

static void disable_authority(admin_req_t *rq, admin_resp_t *rs)
{
    set_enabled(rq, rs, 0);
}

static void delete_authority(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 1)};
    PGresult *r;
    json_t *o;

    if (load_one(rq, rs, vals[0], &o))
        return;
    rq->audit_object = apr_pstrcat(rq->p, "authority:", vals[0], NULL);
    rq->audit_name = json_string_value(json_object_get(o, "name"));
    if (json_array_size(json_object_get(o, "raProfiles")) > 0) {
        admin_invalid(rq, rs, json_pack("[s]", "Cannot remove the Authority: RA "
                                        "Profiles use it"));
        return;
    }
    if (admin_sql(rq, rs, "SELECT 1 FROM certificate c JOIN authority a ON "
                  "a.id = c.authority_id WHERE a.uuid = $1::uuid LIMIT 1", 1, vals,
                  NULL, &r))
        return;
    if (PQntuples(r) > 0) {
        admin_invalid(rq, rs, json_pack("[s]", "Cannot remove the Authority: it "
                                        "has issued certificates; disable it"));
        return;
    }
    if (!admin_sql(rq, rs, "DELETE FROM authority WHERE uuid = $1::uuid", 1, vals,
                   NULL, &r))
        admin_no_content(rs);
}

/* The current CRL, as the public URL serves it (cmp-crl), in PEM. */
static void get_crl(admin_req_t *rq, admin_resp_t *rs)
{
    cmp_crl_doc_t doc;
    json_t *o;
    char *pem;
    int found = 0;

    if (load_one(rq, rs, admin_seg(rq, 1), &o))
        return;
    if (cmp_crl_current(rq->p, rq->conn, admin_seg(rq, 1), 1, -1, &doc, &found)
            != APR_SUCCESS) {
        admin_error(rq, rs, 503, "the database cannot be used");
        return;
    }
    if (!found) {
        admin_error(rq, rs, 404, "Authority %s has no CRL yet: mod_cmp makes "
                    "the first within seconds of the Authority's creation "
                    "(mod_watchdog must be loaded)", admin_seg(rq, 1));
        return;
    }
    pem = admin_crl_pem(rq->p, doc.der, doc.len);
    if (pem == NULL) {
        admin_error(rq, rs, 500, "the stored CRL does not decode");
        return;
    }
    admin_json(rq, rs, 200, json_pack("{s:I, s:s, s:s, s:s}", "crlNumber",
                                      (json_int_t)doc.number, "thisUpdate",
                                      admin_time_text(rq->p, doc.this_update),
                                      "nextUpdate",
                                      admin_time_text(rq->p, doc.next_update),
                                      "pem", pem));
}

/* The key type of key, and its group or size, for a successor like it. */
static void key_like(apr_pool_t *p, const EVP_PKEY *key, const char **type,
                     const char **param)
{
    char group[80];

    *type = EVP_PKEY_get0_type_name(key);
    *param = NULL;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), NULL))
        *param = apr_pstrdup(p, group);
    else if (EVP_PKEY_get_bits(key) > 0 && EVP_PKEY_is_a(key, "RSA"))
        *param = apr_psprintf(p, "%d", EVP_PKEY_get_bits(key));
    ERR_clear_error();
}

/* The Authority's current certificate and key, and its version (so that
 * the successor is stored only if they are still current). */
static int load_current(admin_req_t *rq, admin_resp_t *rs, cmp_ca_t *ca,
                        const char **version)
{
    const char *uuid = admin_seg(rq, 1);
    PGresult *r;

    if (admin_sql(rq, rs, "SELECT a.version, a.ca_cert, a.ca_key_enc, n.generation, "
                  "n.active_from FROM authority a LEFT JOIN authority_key n ON "
                  "n.authority_id = a.id AND n.state = 'next' WHERE a.uuid = "
                  "$1::uuid AND a.kind = 'local'", 1, &uuid, NULL, &r))
        return 1;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "Authority %s not found", uuid);
        return 1;
    }
    if (!PQgetisnull(r, 0, 3)) {
        admin_error(rq, rs, 409, "Authority %s already has a successor key "
                    "(generation %s, active from %s): cancel it first (DELETE "
                    "/authorities/%s/rollover)", uuid, PQgetvalue(r, 0, 3),
                    PQgetvalue(r, 0, 4), uuid);
        return 1;
    }
    *version = apr_pstrdup(rq->p, PQgetvalue(r, 0, 0));
    if (!admin_ca_of_row(rq, r, 1, ca)) {
        admin_error(rq, rs, 500, "the Authority's key cannot be read");
        return 1;
    }
    return 0;
}

/* POST /authorities/{uuid}/rollover: a successor key and its certificates
 * (RFC 9810 4.4.1: newWithNew, newWithOld, oldWithNew), which takes over
 * at activeFrom (at once when absent or past; the CRL job promotes it
 * within CMP_CRL_INTERVAL_S of a later time). */
static void start_rollover(admin_req_t *rq, admin_resp_t *rs)
{
    const char *from = NULL, *type = NULL, *param = NULL, *why = NULL;
    const char *version = NULL, *vals[10];
    long long days = 3650;
    int lens[10] = {0}, len[3], i, n;
    json_t *errs = cmp_json_own(rq->p, json_array()), *o;
    cmp_ca_t ca = {NULL, NULL, NULL};
    cmp_rollover_certs_t certs = {NULL, NULL, NULL};
    EVP_PKEY *key = NULL;
    unsigned char *der[3], *enc = NULL;
    size_t klen = 0;
    struct tm tm;
    PGresult *r;

    if (admin_need_object(rq, rs)
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "activeFrom", &from), "activeFrom", "a string")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "keyType", &type), "keyType", "a string")
            || admin_type_error(rq, rs, cmp_json_str(rq->body, "keyParameter", &param), "keyParameter", "a string")
            || admin_type_error(rq, rs, cmp_json_int(rq->body, "validityDays", &days), "validityDays", "a number"))
        return;
    if (from != NULL && !admin_is_rfc3339_time(from))
        json_array_append_new(errs, json_string("activeFrom must be an RFC 3339 "
                                                "date-time with its offset, e.g. "
                                                "2027-01-31T12:00:00Z"));
    if (days < 1 || days > 36500)
        json_array_append_new(errs, json_string("validityDays must be 1..36500"));
    if (param != NULL && type == NULL)
        json_array_append_new(errs, json_string("keyParameter needs keyType"));
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        return;
    }
    if (load_current(rq, rs, &ca, &version))
        goto out;
    if (type == NULL)
        key_like(rq->p, X509_get0_pubkey(ca.cert), &type, &param);
    if ((key = cmp_key_generate(rq->p, type, param, &why)) == NULL)
        json_array_append_new(errs, json_sprintf("keyType %s: %s", type, why));
    else if (cmp_rollover_make(&ca, key, (int)days, &certs, &why) != APR_SUCCESS)
        json_array_append_new(errs, json_string(why));
    if (json_array_size(errs) > 0) {
        admin_invalid(rq, rs, json_incref(errs));
        goto out;
    }
    der[0] = admin_der(rq->p, certs.new_with_new, &len[0]);
    der[1] = admin_der(rq->p, certs.new_with_old, &len[1]);
    der[2] = admin_der(rq->p, certs.old_with_new, &len[2]);
    if (der[0] == NULL || der[1] == NULL || der[2] == NULL
            || cmp_secret_seal_key(rq->p, rq->key, CMP_LABEL_CA_KEY, key, &enc,
                                   &klen) != APR_SUCCESS) {
        admin_error(rq, rs, 500, "the successor key could not be stored");
        goto out;
    }
    vals[0] = admin_seg(rq, 1);
    vals[1] = version;
    for (i = 0; i < 3; i++) {
        vals[2 + i] = (const char *)der[i];
        lens[2 + i] = len[i];
    }
    vals[5] = (const char *)enc;
    lens[5] = (int)klen;
    vals[6] = from;
    vals[7] = rq->actor;
    /* the successor's time must come while the old key can still be
     * trusted through newWithOld */
    ASN1_TIME_to_tm(X509_get0_notAfter(ca.cert), &tm);
    vals[8] = apr_psprintf(rq->p, "%" APR_INT64_T_FMT, (apr_int64_t)timegm(&tm));
    if (admin_sql(rq, rs, "INSERT INTO authority_key (authority_id, generation, "
                  "state, ca_cert, new_with_old, old_with_new, ca_key_enc, "
                  "active_from, created_by) SELECT a.id, a.key_generation + 1, "
                  "'next', $3, $4, $5, $6, greatest(coalesce($7::timestamptz, "
                  "now()), now()), $8 FROM authority a WHERE a.uuid = $1::uuid "
                  "AND a.version = $2 AND coalesce($7::timestamptz, now()) < "
                  "to_timestamp($9) RETURNING authority_id", 9, vals, lens, &r))
        goto out;
    if (PQntuples(r) == 0) {
        admin_invalid(rq, rs, json_pack("[s]", "activeFrom must come before the "
                                        "Authority's certificate ends (or the "
                                        "Authority changed meanwhile: try again)"));
        goto out;
    }
    if (cmp_rollover_promote(rq->p, rq->conn, cmp_db_ll(r, 0, 0), &n)
            != APR_SUCCESS) {
        admin_error(rq, rs, 503, "the database cannot be used");
        goto out;
    }
    rq->audit_object = apr_pstrcat(rq->p, "authority:", vals[0], NULL);
    if (load_one(rq, rs, vals[0], &o))
        goto out;
    admin_json(rq, rs, 201, json_incref(o));
out:
    X509_free(ca.cert);
    EVP_PKEY_free(ca.key);
    EVP_PKEY_free(key);
    cmp_rollover_certs_free(&certs);
}

/* DELETE /authorities/{uuid}/rollover: the successor that waits goes. */
static void cancel_rollover(admin_req_t *rq, admin_resp_t *rs)
{
    const char *vals[1] = {admin_seg(rq, 1)};
    PGresult *r;

    if (admin_sql(rq, rs, "DELETE FROM authority_key k USING authority a WHERE "
                  "a.id = k.authority_id AND a.uuid = $1::uuid AND k.state = "
                  "'next' RETURNING k.generation", 1, vals, NULL, &r))
        return;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "Authority %s has no successor key waiting "
                    "(unknown, or it took over already)", vals[0]);
        return;
    }
    rq->audit_object = apr_pstrcat(rq->p, "authority:", vals[0], NULL);
    admin_no_content(rs);
}

const admin_route_t admin_authority_routes[] = {
    {ADMIN_GET, "/authorities/{uuid}/crl", get_crl, NULL, 0},
    {ADMIN_GET, "/authorities", list_authorities, NULL, 0},
    {ADMIN_POST, "/authorities", create_authority, NULL, 0},
    {ADMIN_GET, "/authorities/{uuid}", get_authority, NULL, 0},
    {ADMIN_PUT, "/authorities/{uuid}", edit_authority, NULL, 0},
    {ADMIN_DELETE, "/authorities/{uuid}", delete_authority, NULL, 0},
    {ADMIN_PATCH, "/authorities/{uuid}/enable", enable_authority, NULL, 0},
    {ADMIN_PATCH, "/authorities/{uuid}/disable", disable_authority, NULL, 0},
    {ADMIN_POST, "/authorities/{uuid}/rollover", start_rollover, NULL, 0},
    {ADMIN_DELETE, "/authorities/{uuid}/rollover", cancel_rollover, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
