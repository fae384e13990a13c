/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include <apr_strings.h>
#include <openssl/x509v3.h>

#include "cmp_store.h"

#include "unit.h"

EVP_PKEY *unit_key(const char *type)
{
    EVP_PKEY *k;

    if (strcmp(type, "EC") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (strcmp(type, "RSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, type);
    ck_assert_ptr_nonnull(k);
    return k;
}

X509_NAME *unit_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    ck_assert_ptr_nonnull(n);
    ck_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                         (const unsigned char *)cn, -1, -1, 0));
    return n;
}

cmp_ca_t unit_ca(const char *type)
{
    cmp_ca_t ca = {NULL, NULL, NULL};
    X509_NAME *n = unit_name("Unit Test CA");
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    const char *md_name = strcmp(type, "ED25519") == 0 ? NULL : "SHA256";

    ca.key = unit_key(type);
    ca.cert = X509_new();
    ck_assert(X509_set_version(ca.cert, X509_VERSION_3));
    ASN1_INTEGER_set(X509_get_serialNumber(ca.cert), 1);
    ck_assert(X509_set_subject_name(ca.cert, n));
    ck_assert(X509_set_issuer_name(ca.cert, n));
    X509_gmtime_adj(X509_getm_notBefore(ca.cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(ca.cert), 3600L * 24 * 30);
    ck_assert(X509_set_pubkey(ca.cert, ca.key));
    X509V3_set_ctx(&v3, ca.cert, ca.cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(ca.cert, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
    X509_add_ext(ca.cert, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert(X509_sign(ca.cert, ca.key,
                        md_name ? EVP_get_digestbyname(md_name) : NULL) > 0);
    X509_NAME_free(n);
    return ca;
}

void unit_ca_free(cmp_ca_t *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    sk_X509_EXTENSION_pop_free(ca->exts, X509_EXTENSION_free);
}

X509_PUBKEY *unit_spki(EVP_PKEY *k)
{
    X509_PUBKEY *pk = NULL;

    ck_assert(X509_PUBKEY_set(&pk, k));
    return pk;
}

X509 *unit_reparse(X509 *x)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    int n = i2d_X509(x, &der);
    X509 *y;

    ck_assert_int_gt(n, 0);
    q = der;
    y = d2i_X509(NULL, &q, n);
    OPENSSL_free(der);
    ck_assert_ptr_nonnull(y);
    X509_free(x);
    return y;
}

cmp_db_conf_t unit_dbconf;
cmp_db_t *unit_db;
cmp_secret_key_t unit_skey;
PGconn *unit_conn;

const char *unit_var_path(const char *rel)
{
    return apr_pstrcat(upool, getenv("CMP_TEST_VAR_DIR"), "/", rel, NULL);
}

void unit_db_setup(void)
{
    const char *why = NULL;

    unit_pool_setup();
    unit_dbconf.conninfo = getenv("CMP_TEST_DATABASE_URL");
    unit_dbconf.check = cmp_store_check_schema;
    unit_dbconf.max_conns = 4;
    unit_dbconf.ttl = apr_time_from_sec(60);
    unit_dbconf.acquire_timeout = apr_time_from_sec(5);
    ck_assert_ptr_nonnull(unit_dbconf.conninfo);
    ck_assert_int_eq(cmp_db_create(upool, &unit_dbconf, cmp_store_stmts, &unit_db),
                     APR_SUCCESS);
    ck_assert_int_eq(cmp_secret_key_load(unit_var_path("secret.key"), &unit_skey, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(cmp_db_acquire(unit_db, upool, &unit_conn), APR_SUCCESS);
}

void unit_db_teardown(void)
{
    unit_pool_teardown();
}

int unit_policy(cmp_policy_t *pol, int days, const char *key_types, int bits,
                const char *pattern, int allow_san, const char *ku,
                const char *eku, const char **why)
{
    cmp_policy_spec_t spec = {days, bits, key_types, pattern, allow_san, ku, eku,
                             NULL, 0, 0, NULL};

    return cmp_policy_init(pol, &spec, why);
}
