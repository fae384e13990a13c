/* SPDX-License-Identifier: Apache-2.0 */
/* /cmpProfiles/signingCertificates: the certificates (and keys) CMP
 * responses may be signed with, issued by one of our CAs or imported. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>

#include "admin.h"
#include "admin_pki.h"
#include "cmp_issue.h"

static json_t *credential_rows(admin_req_t *rq, PGresult *r, int usable_only)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < PQntuples(r); i++) {
        json_t *o;
        size_t n;
        unsigned char *der = cmp_db_bytea(rq->p, r, i, 1, &n);

        if (usable_only && !admin_signer_usable(der, n))
            continue;
        o = json_pack("{s:s,s:o}", "uuid", PQgetvalue(r, i, 0), "authorityUuid",
                      PQgetisnull(r, i, 2) ? json_null() : json_string(PQgetvalue(r, i, 2)));
        admin_cert_fields(rq->p, o, der, n);
        json_array_append_new(list, o);
    }
    return list;
}

#define CRED_SELECT "SELECT s.uuid, s.cert, a.uuid FROM signing_credential s " \
                    "LEFT JOIN authority a ON a.id = s.authority_id "

static void list_signing(admin_req_t *rq, admin_resp_t *rs)
{
    PGresult *r;

    if (!admin_sql(rq, rs, CRED_SELECT "ORDER BY s.created_at", 0, NULL, NULL, &r))
        admin_json(rq, rs, 200, credential_rows(rq, r, 1));
}

/* The local CA that issues a signer: its certificate and decrypted key. */
static int load_ca(admin_req_t *rq, admin_resp_t *rs, const char *uuid,
                   cmp_ca_t *ca, const char **id, int *generation)
{
    PGresult *r;

    if (admin_sql(rq, rs, "SELECT id, ca_cert, ca_key_enc, key_generation FROM authority WHERE "
                  "uuid = $1::uuid AND kind = 'local'", 1, &uuid, NULL, &r))
        return 1;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "Authority %s not found", uuid);
        return 1;
    }
    *id = apr_pstrdup(rq->p, PQgetvalue(r, 0, 0));
    *generation = (int)cmp_db_ll(r, 0, 3);
    if (!admin_ca_of_row(rq, r, 1, ca)) {
        admin_error(rq, rs, 500, "the Authority's key cannot be read");
        return 1;
    }
    return 0;
}

static void create_signing(admin_req_t *rq, admin_resp_t *rs)
{
    const json_t *issue;
    const char *pem = NULL, *keypem = NULL, *pass = NULL, *why = NULL;
    const char *auth_id = NULL, *vals[4];
    int gen = 0, lens[4] = {0}, len = 0, clen = 0;
    size_t klen = 0;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    STACK_OF(X509) *chain = NULL;
    unsigned char *der, *cder, *kenc;
    PGresult *r;

    if (admin_need_object(rq, rs))
        return;
    issue = json_object_get(rq->body, "issue");
    cmp_json_str(rq->body, "certificate", &pem);
    cmp_json_str(rq->body, "privateKey", &keypem);
    cmp_json_str(rq->body, "passphrase", &pass);
    if ((issue != NULL) == (pem != NULL)) {
        admin_invalid(rq, rs, json_pack("[s]", "give either issue or certificate "
                                        "with privateKey"));
        return;
    }
    if (issue != NULL) {
        const char *auuid = NULL, *subject = NULL, *type = "EC", *param = NULL;
        long long days = 730;
        X509_NAME *name;
        cmp_ca_t ca = {NULL, NULL, NULL};

        if (!json_is_object(issue) || cmp_json_str(issue, "authorityUuid", &auuid) != 1
                || !admin_is_uuid(auuid) || cmp_json_str(issue, "subject", &subject) != 1
                || cmp_json_str(issue, "keyType", &type) < 0
                || cmp_json_str(issue, "keyParameter", &param) < 0
                || cmp_json_int(issue, "validityDays", &days) < 0) {
            admin_invalid(rq, rs, json_pack("[s]", "issue needs authorityUuid and "
                                            "subject; keyType, keyParameter and "
                                            "validityDays are optional"));
            return;
        }
        if ((name = admin_parse_name(subject, &why)) == NULL
                || days < 1 || days > 36500) {
            X509_NAME_free(name);
            admin_invalid(rq, rs, json_pack("[s]", why != NULL ? why
                                            : "issue.validityDays must be 1..36500"));
            return;
        }
        if ((key = cmp_key_generate(rq->p, type, param, &why)) == NULL) {
            X509_NAME_free(name);
            admin_invalid(rq, rs, json_pack("[s]", apr_psprintf(rq->p, "issue.keyType "
                                                                "%s: %s", type, why)));
            return;
        }
        if (load_ca(rq, rs, auuid, &ca, &auth_id, &gen)) {
            X509_NAME_free(name);
            EVP_PKEY_free(key);
            return;
        }
        cert = cmp_issue_cmp_signer(&ca, key, name, (int)days);
        chain = sk_X509_new_null();
        if (cert != NULL && chain != NULL && X509_up_ref(ca.cert))
            sk_X509_push(chain, ca.cert);
        X509_free(ca.cert);
        EVP_PKEY_free(ca.key);
        X509_NAME_free(name);
    } else {
        STACK_OF(X509) *certs = admin_parse_certs(pem);

        if (certs != NULL)
            cert = sk_X509_shift(certs);
        chain = certs;
        key = keypem != NULL ? admin_parse_key(keypem, pass) : NULL;
        if (cert == NULL || key == NULL || !X509_check_private_key(cert, key)) {
            admin_invalid(rq, rs, json_pack("[s]", "certificate and privateKey must "
                                            "be PEM and belong together (passphrase?)"));
            goto out;
        }
    }
    if (cert == NULL) {
        admin_error(rq, rs, 500, "the signing certificate could not be made");
        goto out;
    }
    der = admin_der(rq->p, cert, &len);
    cder = admin_der_chain(rq->p, chain, 0, &clen);
    if (cmp_secret_seal_key(rq->p, rq->key, CMP_LABEL_SIGNING_KEY, key, &kenc, &klen)
            != APR_SUCCESS)
        kenc = NULL;
    vals[0] = (const char *)der;
    lens[0] = len;
    vals[1] = clen > 0 ? (const char *)cder : NULL;
    lens[1] = clen;
    vals[2] = (const char *)kenc;
    lens[2] = (int)klen;
    vals[3] = auth_id;
    if (der == NULL || kenc == NULL) {
        admin_error(rq, rs, 500, "the signing certificate could not be stored");
        goto out;
    }
    if (admin_sql(rq, rs, "WITH s AS (INSERT INTO signing_credential (cert, chain, "
                  "key_enc, authority_id) VALUES ($1, $2, $3, $4::bigint) RETURNING *) "
                  "SELECT s.uuid, s.cert, a.uuid FROM s LEFT JOIN authority a ON "
                  "a.id = s.authority_id", 4, vals, lens, &r))
        goto out;
    if (auth_id != NULL && admin_store_issued(rq, rs, cert, strtoll(auth_id, NULL, 10), gen,
                                              "admin.issueSigningCertificate"))
        goto out;
    rq->audit_object = apr_pstrcat(rq->p, "signingCertificate:", PQgetvalue(r, 0, 0),
                                   NULL);
    admin_json(rq, rs, 201, json_incref(json_array_get(
                   cmp_json_own(rq->p, credential_rows(rq, r, 0)), 0)));
out:
    X509_free(cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    ERR_clear_error();
}

/* ---- the delegated OCSP signer of an Authority (RFC 6960 4.2.2.2) -------- */

#define OCSP_SIGNER_DAYS 30

static void get_ocsp_signer(admin_req_t *rq, admin_resp_t *rs)
{
    const char *uuid = admin_seg(rq, 1);
    PGresult *r;
    json_t *o;
    size_t n;
    unsigned char *der;

    if (admin_sql(rq, rs, "SELECT s.cert, extract(epoch from s.created_at) FROM "
                  "authority a JOIN ocsp_signer s ON s.authority_id = a.id "
                  "WHERE a.uuid = $1::uuid", 1, &uuid, NULL, &r))
        return;
    if (PQntuples(r) == 0) {
        admin_error(rq, rs, 404, "Authority %s has no OCSP signer: it signs its "
                    "OCSP responses itself", uuid);
        return;
    }
    der = cmp_db_bytea(rq->p, r, 0, 0, &n);
    o = json_object();
    admin_cert_fields(rq->p, o, der, n);
    admin_json(rq, rs, 200, o);
}

/* Issues (or rotates: the new one replaces the old at once) the delegated
 * signer: a fresh key made here, id-kp-OCSPSigning and ocsp-nocheck. */
static void issue_ocsp_signer(admin_req_t *rq, admin_resp_t *rs)
{
    const char *uuid = admin_seg(rq, 1), *type = "EC", *param = NULL;
    const char *why = NULL, *auth_id = NULL, *vals[3];
    int gen = 0;
    long long days = OCSP_SIGNER_DAYS;
    cmp_ca_t ca = {NULL, NULL, NULL};
    X509_NAME *name = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    unsigned char *der, *kenc = NULL;
    int lens[3] = {0}, len = 0;
    size_t klen = 0;
    PGresult *r;

    if (rq->body != NULL && !json_is_object(rq->body)) {
        admin_error(rq, rs, 400, "the body must be a JSON object");
        return;
    }
    if (rq->body != NULL
            && (admin_type_error(rq, rs, cmp_json_str(rq->body, "keyType", &type), "keyType", "a string")
                || admin_type_error(rq, rs, cmp_json_str(rq->body, "keyParameter", &param), "keyParameter", "a string")
                || admin_type_error(rq, rs, cmp_json_int(rq->body, "validityDays", &days), "validityDays", "an integer")))
        return;
    if (days < 1 || days > 3650) {
        admin_invalid(rq, rs, json_pack("[s]", "validityDays must be 1..3650"));
        return;
    }
    if ((key = cmp_key_generate(rq->p, type, param, &why)) == NULL) {
        admin_invalid(rq, rs, json_pack("[s]", apr_psprintf(rq->p, "keyType %s: %s",
                                                            type, why)));
        return;
    }
    if (load_ca(rq, rs, uuid, &ca, &auth_id, &gen))
        goto out;
    name = X509_NAME_dup(X509_get_subject_name(ca.cert));
    if (name == NULL || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                                    (const unsigned char *)"OCSP Signer",
                                                    -1, -1, 0)
            || (cert = cmp_issue_ocsp_signer(&ca, key, name, (int)days)) == NULL) {
        admin_error(rq, rs, 500, "the OCSP signer could not be made");
        goto out;
    }
    der = admin_der(rq->p, cert, &len);
    if (der == NULL || cmp_secret_seal_key(rq->p, rq->key, CMP_LABEL_OCSP_KEY, key,
                                           &kenc, &klen) != APR_SUCCESS) {
        admin_error(rq, rs, 500, "the OCSP signer could not be stored");
        goto out;
    }
    vals[0] = auth_id;
    vals[1] = (const char *)der;
    lens[1] = len;
    vals[2] = (const char *)kenc;
    lens[2] = (int)klen;
    rq->audit_object = apr_pstrcat(rq->p, "authority:", uuid, NULL);
    if (admin_sql(rq, rs, "INSERT INTO ocsp_signer (authority_id, cert, key_enc) "
                  "VALUES ($1::bigint, $2, $3) ON CONFLICT (authority_id) DO UPDATE "
                  "SET cert = $2, key_enc = $3, created_at = clock_timestamp()",
                  3, vals, lens, &r)
            || admin_store_issued(rq, rs, cert, strtoll(auth_id, NULL, 10), gen,
                                  "admin.issueOcspSigner"))
        goto out;
    {
        json_t *o = json_object();

        admin_cert_fields(rq->p, o, der, (size_t)len);
        admin_json(rq, rs, 201, o);
    }
out:
    X509_free(cert);
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    X509_free(ca.cert);
    EVP_PKEY_free(ca.key);
    ERR_clear_error();
}

static void delete_ocsp_signer(admin_req_t *rq, admin_resp_t *rs)
{
    const char *uuid = admin_seg(rq, 1);
    PGresult *r;

    rq->audit_object = apr_pstrcat(rq->p, "authority:", uuid, NULL);
    if (admin_sql(rq, rs, "DELETE FROM ocsp_signer s USING authority a WHERE "
                  "a.id = s.authority_id AND a.uuid = $1::uuid RETURNING 1", 1,
                  &uuid, NULL, &r))
        return;
    if (PQntuples(r) == 0)
        admin_error(rq, rs, 404, "Authority %s has no OCSP signer", uuid);
    else
        admin_no_content(rs);
}

const admin_route_t admin_signing_routes[] = {
    {ADMIN_GET, "/cmpProfiles/signingCertificates", list_signing, NULL, 0},
    {ADMIN_POST, "/cmpProfiles/signingCertificates", create_signing, NULL, 0},
    {ADMIN_GET, "/authorities/{uuid}/ocspSigner", get_ocsp_signer, NULL, 0},
    {ADMIN_POST, "/authorities/{uuid}/ocspSigner", issue_ocsp_signer, NULL, 0},
    {ADMIN_DELETE, "/authorities/{uuid}/ocspSigner", delete_ocsp_signer, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};
