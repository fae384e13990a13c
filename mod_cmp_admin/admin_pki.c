/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "admin_pki.h"
#include "cmp_key.h"
#include "cmp_store.h"

/* RFC 4514 strings name the most specific RDN first, the reverse of the
 * encoded order; OpenSSL's "/O=org/CN=name" form is in encoded order. */
X509_NAME *admin_parse_name(const char *s, const char **why)
{
    X509_NAME *n = X509_NAME_new();
    char *copy = strdup(s), *tok, *save = NULL;
    const char *sep = *s == '/' ? "/" : ",";

    for (tok = strtok_r(copy, sep, &save); tok != NULL && n != NULL;
         tok = strtok_r(NULL, sep, &save)) {
        char *eq = strchr(tok, '=');

        while (*tok == ' ')
            tok++;
        if (eq == NULL || eq == tok || eq[1] == '\0'
                || (*eq = '\0', !X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8,
                                                           (unsigned char *)eq + 1,
                                                           -1, *sep == ',' ? 0 : -1,
                                                           0))) {
            *why = "the subject must be like CN=name,O=org";
            X509_NAME_free(n);
            n = NULL;
        }
    }
    free(copy);
    if (n != NULL && X509_NAME_entry_count(n) == 0) {
        *why = "the subject is empty";
        X509_NAME_free(n);
        n = NULL;
    }
    ERR_clear_error();
    return n;
}

STACK_OF(X509) *admin_parse_certs(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;

    while (b != NULL && sk != NULL
           && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    BIO_free(b);
    ERR_clear_error();
    if (sk != NULL && sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        return NULL;
    }
    return sk;
}

EVP_PKEY *admin_parse_key(const char *pem, const char *pass)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL,
                                                      (void *)(pass ? pass : ""))
                            : NULL;

    BIO_free(b);
    ERR_clear_error();
    return k;
}

unsigned char *admin_der(apr_pool_t *p, X509 *x, int *len)
{
    unsigned char *der = NULL, *out;

    *len = i2d_X509(x, &der);
    if (*len <= 0)
        return NULL;
    out = apr_pmemdup(p, der, (apr_size_t)*len);
    OPENSSL_free(der);
    return out;
}

unsigned char *admin_der_chain(apr_pool_t *p, STACK_OF(X509) *sk, int from,
                               int *len)
{
    unsigned char *out = NULL;
    int i, total = 0;

    for (i = from; i < sk_X509_num(sk); i++) {
        int n;
        unsigned char *one = admin_der(p, sk_X509_value(sk, i), &n), *grown;

        if (one == NULL)
            return NULL;
        grown = apr_palloc(p, (apr_size_t)(total + n));
        if (total > 0)
            memcpy(grown, out, (size_t)total);
        memcpy(grown + total, one, (size_t)n);
        out = grown;
        total += n;
    }
    *len = total;
    return out;
}

static const char *iso_time(apr_pool_t *p, const ASN1_TIME *t)
{
    const char *s = cmp_store_time(p, t);

    return s != NULL ? s : "";
}

void admin_cert_fields(apr_pool_t *p, json_t *o, const unsigned char *der,
                       size_t len)
{
    const unsigned char *q = der;
    X509 *x = der != NULL ? d2i_X509(NULL, &q, (long)len) : NULL;
    const char *type;
    BIO *b;

    if (x == NULL)
        return;
    type = EVP_PKEY_get0_type_name(X509_get0_pubkey(x));
    json_object_set_new(o, "subjectDn", json_string(cmp_issue_name_text(p, X509_get_subject_name(x))));
    json_object_set_new(o, "issuerDn", json_string(cmp_issue_name_text(p, X509_get_issuer_name(x))));
    json_object_set_new(o, "serialNumber", json_string(cmp_issue_serial_hex(p, X509_get0_serialNumber(x))));
    json_object_set_new(o, "notBefore", json_string(iso_time(p, X509_get0_notBefore(x))));
    json_object_set_new(o, "notAfter", json_string(iso_time(p, X509_get0_notAfter(x))));
    json_object_set_new(o, "keyType", json_string(type != NULL ? type : "unknown"));
    if ((b = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(b, x)) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);

        json_object_set_new(o, "certificate", json_stringn(data, (size_t)n));
    }
    BIO_free(b);
    X509_free(x);
}

int admin_ca_of_row(admin_req_t *rq, const PGresult *r, int col, cmp_ca_t *ca)
{
    size_t n, kn;
    const unsigned char *der = cmp_db_bytea(rq->p, r, 0, col, &n);
    unsigned char *enc = cmp_db_bytea(rq->p, r, 0, col + 1, &kn);

    ca->cert = der != NULL ? d2i_X509(NULL, &der, (long)n) : NULL;
    ca->key = cmp_secret_unseal_key(rq->key, CMP_LABEL_CA_KEY, enc, kn);
    ERR_clear_error();
    if (ca->cert != NULL && ca->key != NULL)
        return 1;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca->cert = NULL;
    ca->key = NULL;
    return 0;
}

int admin_store_issued(admin_req_t *rq, admin_resp_t *rs, X509 *cert,
                       long long authority_id, int generation,
                       const char *action)
{
    cmp_store_issue_t in;
    long long id = 0;
    apr_status_t rv;

    memset(&in, 0, sizeof(in));
    in.authority_id = authority_id;
    in.ca_generation = generation;
    in.status = "valid";
    /* its history starts with who issued it */
    in.actor = rq->actor;
    in.body_type = action;
    rv = cmp_store_cert_columns(rq->p, cert, NULL, &in);
    if (rv == APR_SUCCESS)
        rv = cmp_store_issue(rq->p, rq->conn, &in, &id, NULL);
    if (rv == APR_SUCCESS)
        return 0;
    admin_error(rq, rs, rv == APR_ECONNRESET ? 503 : 500, "the certificate could "
                "not be stored in the inventory");
    return 1;
}

/* A signer can sign CMP responses while its certificate is within its
 * validity (CZERTAINLY: isCertificateCmpAcceptable). */
int admin_signer_usable(const unsigned char *der, size_t n)
{
    const unsigned char *q = der;
    X509 *x = der != NULL ? d2i_X509(NULL, &q, (long)n) : NULL;
    int ok = x != NULL && X509_cmp_current_time(X509_get0_notBefore(x)) < 0
             && X509_cmp_current_time(X509_get0_notAfter(x)) > 0;

    X509_free(x);
    return ok;
}
