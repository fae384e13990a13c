/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_errno.h>
#include <apr_thread_mutex.h>
#include <openssl/cmp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "cmp_crl.h"
#include "cmp_log.h"
#include "cmp_profile.h"
#include "cmp_rollover.h"

#define CACHE_MAX 256

struct cmp_profile_cache_t {
    const cmp_secret_key_t *key;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
    cmp_profile_t *slots[CACHE_MAX];
    int n;
};

typedef struct {
    cmp_profile_cache_t *cache;
    cmp_profile_t *prof;
} ref_t;

static void lock(cmp_profile_cache_t *c)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(c->mutex);
#endif
}

static void unlock(cmp_profile_cache_t *c)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(c->mutex);
#endif
}

static void profile_free(cmp_profile_t *pr)
{
    if (pr == NULL)
        return;
    free(pr->cmp_name);
    free(pr->ra_name);
    free(pr->auth_name);
    free(pr->variant);
    free(pr->secret_ref);
    cmp_secret_free(pr->secret, pr->secret_len);
    cmp_secret_free(pr->prev_secret, pr->prev_secret_len);
    X509_free(pr->signer);
    EVP_PKEY_free(pr->signer_key);
    sk_X509_pop_free(pr->signer_chain, X509_free);
    X509_STORE_free(pr->trust);
    X509_free(pr->ca.cert);
    EVP_PKEY_free(pr->ca.key);
    sk_X509_EXTENSION_pop_free(pr->ca.exts, X509_EXTENSION_free);
    free(pr->crl_url);
    sk_X509_pop_free(pr->ca_chain, X509_free);
    sk_X509_pop_free(pr->retired, X509_free);
    sk_X509_pop_free(pr->extra_out, X509_free);
    sk_X509_pop_free(pr->root_out, X509_free);
    cmp_policy_clear(&pr->policy);
    free(pr);
}

static apr_status_t cache_cleanup(void *data)
{
    cmp_profile_cache_t *c = data;
    int i;

    for (i = 0; i < c->n; i++)
        profile_free(c->slots[i]);
    c->n = 0;
    return APR_SUCCESS;
}

apr_status_t cmp_profile_cache_create(apr_pool_t *p,
                                      const cmp_secret_key_t *key,
                                      cmp_profile_cache_t **out)
{
    cmp_profile_cache_t *c = apr_pcalloc(p, sizeof(*c));

    c->key = key;
#if APR_HAS_THREADS
    {
        apr_status_t rv = apr_thread_mutex_create(&c->mutex,
                                                  APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS)
            return rv;
    }
#endif
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *out = c;
    return APR_SUCCESS;
}

STACK_OF(X509) *cmp_profile_certs(const unsigned char *der, size_t len)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    const unsigned char *q = der, *end = der != NULL ? der + len : NULL;

    if (sk == NULL)
        return NULL;
    while (der != NULL && q < end) {
        X509 *x = d2i_X509(NULL, &q, end - q);

        if (x == NULL || !sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
    }
    return sk;
}

static X509 *one_cert(const unsigned char *der, size_t len)
{
    const unsigned char *q = der;

    return der != NULL ? d2i_X509(NULL, &q, (long)len) : NULL;
}

static char *col(const PGresult *r, int c)
{
    return PQgetisnull(r, 0, c) ? NULL : strdup(PQgetvalue(r, 0, c));
}

static apr_status_t load_cmp(cmp_profile_t *pr, apr_pool_t *p, PGconn *c,
                             const cmp_secret_key_t *key, const char **why)
{
    PGresult *r;
    unsigned char *b;
    size_t n;
    apr_status_t rv = cmp_store_load(p, c, "cmp_load_cmp", pr->cmp_id, &r);

    if (rv != APR_SUCCESS)
        return rv;
    pr->cmp_name = col(r, 0);
    pr->mac_requests = strcmp(PQgetvalue(r, 0, 1), "shared_secret") == 0;
    pr->sig_responses = strcmp(PQgetvalue(r, 0, 2), "signature") == 0;
    if ((b = cmp_db_bytea(p, r, 0, 3, &n)) != NULL
            && cmp_secret_decrypt(key, CMP_LABEL_SHARED_SECRET, b, n,
                                  &pr->secret, &pr->secret_len) != APR_SUCCESS) {
        *why = "shared secret does not decrypt with CMPSecretKeyFile";
        return APR_EINVAL;
    }
    if ((b = cmp_db_bytea(p, r, 0, 4, &n)) != NULL
            && (pr->signer = one_cert(b, n)) == NULL) {
        *why = "signing certificate does not parse";
        return APR_EINVAL;
    }
    b = cmp_db_bytea(p, r, 0, 5, &n);
    if ((pr->signer_chain = cmp_profile_certs(b, n)) == NULL) {
        *why = "signing chain does not parse";
        return APR_EINVAL;
    }
    if ((b = cmp_db_bytea(p, r, 0, 6, &n)) != NULL
            && (pr->signer_key = cmp_secret_unseal_key(key, CMP_LABEL_SIGNING_KEY, b, n))
                   == NULL) {
        *why = "signing key does not decrypt or parse";
        return APR_EINVAL;
    }
    if (pr->sig_responses && (pr->signer == NULL || pr->signer_key == NULL
            || !X509_check_private_key(pr->signer, pr->signer_key))) {
        *why = "signing certificate and key are missing or do not match";
        return APR_EINVAL;
    }
    if ((pr->trust = X509_STORE_new()) == NULL)
        return APR_ENOMEM;
    b = cmp_db_bytea(p, r, 0, 7, &n);
    {
        STACK_OF(X509) *tas = cmp_profile_certs(b, n);
        int i;

        if (tas == NULL) {
            *why = "trust anchors do not parse";
            return APR_EINVAL;
        }
        for (i = 0; i < sk_X509_num(tas); i++)
            X509_STORE_add_cert(pr->trust, sk_X509_value(tas, i));
        sk_X509_pop_free(tas, X509_free);
    }
    pr->implicit_confirm = cmp_db_bool(r, 0, 8);
    pr->confirm_timeout = (int)cmp_db_ll(r, 0, 9);
    pr->variant = col(r, 10);
#ifdef OSSL_CMP_PVNO_3
    pr->speaks_v3 = pr->variant != NULL && strcmp(pr->variant, "v3") == 0;
#endif
    pr->revoke_on_key_update = cmp_db_bool(r, 0, 11);
    pr->mac_revocation = cmp_db_bool(r, 0, 12);
    pr->secret_ref = PQgetisnull(r, 0, 13) ? NULL : col(r, 13);
    if ((b = cmp_db_bytea(p, r, 0, 14, &n)) != NULL) {
        if (cmp_secret_decrypt(key, CMP_LABEL_SHARED_SECRET, b, n,
                               &pr->prev_secret, &pr->prev_secret_len) != APR_SUCCESS) {
            *why = "previous shared secret does not decrypt with CMPSecretKeyFile";
            return APR_EINVAL;
        }
        pr->prev_until = apr_time_from_sec(cmp_db_ll(r, 0, 15));
    }
    pr->registrations_only = cmp_db_bool(r, 0, 16);
    return APR_SUCCESS;
}

static apr_status_t load_ra(cmp_profile_t *pr, apr_pool_t *p, PGconn *c,
                            const char **why)
{
    PGresult *r;
    cmp_policy_spec_t spec;
    apr_status_t rv = cmp_store_load(p, c, "cmp_load_ra", pr->ra_id, &r);

    if (rv != APR_SUCCESS)
        return rv;
    pr->ra_name = col(r, 0);
    spec.validity_days = (int)cmp_db_ll(r, 0, 1);
    spec.key_types = PQgetvalue(r, 0, 2);
    spec.min_security_bits = (int)cmp_db_ll(r, 0, 3);
    spec.subject_pattern = PQgetisnull(r, 0, 4) ? NULL : PQgetvalue(r, 0, 4);
    spec.allow_san = cmp_db_bool(r, 0, 5);
    spec.key_usage = PQgetvalue(r, 0, 6);
    spec.ext_key_usage = PQgetvalue(r, 0, 7);
    spec.ec_curves = PQgetvalue(r, 0, 8);
    spec.kur_identity_change = cmp_db_bool(r, 0, 9);
    spec.ku_from_request = cmp_db_bool(r, 0, 10);
    pr->has_devices = cmp_db_bool(r, 0, 11);
    pr->require_approval = cmp_db_bool(r, 0, 12);
    pr->approval_timeout = (int)cmp_db_ll(r, 0, 13);
    pr->check_after = (int)cmp_db_ll(r, 0, 14);
    pr->max_pending = cmp_db_ll(r, 0, 15);
    spec.central_key = PQgetvalue(r, 0, 16);
    if (!cmp_policy_init(&pr->policy, &spec, why))
        return APR_EINVAL;
    return APR_SUCCESS;
}

/* push x (a new reference) unless the stack holds it already */
static int push_new(STACK_OF(X509) *sk, X509 *x)
{
    int i;

    for (i = 0; i < sk_X509_num(sk); i++)
        if (X509_cmp(sk_X509_value(sk, i), x) == 0)
            return 1;
    return X509_up_ref(x) && (sk_X509_push(sk, x) > 0 || (X509_free(x), 0));
}

/* After a key rollover: the certificates the retired keys issued still
 * protect kur, rr and cr; a response signer the previous key certified is
 * sent with oldWithNew instead of the old root, so that a client that
 * trusts either key can verify it (RFC 9810 4.4). */
static apr_status_t load_retired(cmp_profile_t *pr, apr_pool_t *p,
                                 const PGresult *r, const char **why)
{
    size_t n;
    unsigned char *b = cmp_db_bytea(p, r, 0, 9, &n);
    X509 *link;
    int i, ok = (pr->retired = cmp_profile_certs(b, n)) != NULL;

    for (i = 0; ok && i < sk_X509_num(pr->retired); i++)
        ok = X509_STORE_add_cert(pr->trust, sk_X509_value(pr->retired, i));
    b = cmp_db_bytea(p, r, 0, 8, &n);
    link = b != NULL ? one_cert(b, n) : NULL;
    if (ok && link != NULL && pr->signer != NULL
            && X509_check_issued(link, pr->signer) == X509_V_OK) {
        /* the old root goes: a client that trusts it has it, and one that
         * does not would build its path through it and fail */
        for (i = sk_X509_num(pr->signer_chain) - 1; i >= 0; i--) {
            X509 *x = sk_X509_value(pr->signer_chain, i);

            if (X509_check_issued(x, x) == X509_V_OK
                    && EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(link)) == 1)
                X509_free(sk_X509_delete(pr->signer_chain, i));
        }
        ok = push_new(pr->signer_chain, link);
    }
    X509_free(link);
    ERR_clear_error();
    if (!ok) {
        *why = "the certificates of the Authority's retired keys or its "
               "oldWithNew do not parse";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t load_authority(cmp_profile_t *pr, apr_pool_t *p, PGconn *c,
                                   const cmp_secret_key_t *key,
                                   const char **why)
{
    PGresult *r;
    unsigned char *b;
    const char *file;
    size_t n;
    int i;
    apr_status_t rv = cmp_store_load(p, c, "cmp_load_authority", pr->auth_id,
                                     &r);

    if (rv != APR_SUCCESS)
        return rv;
    pr->auth_name = col(r, 0);
    if (strcmp(PQgetvalue(r, 0, 4), "local") != 0) {
        *why = "only local Authorities can issue";
        return APR_EINVAL;
    }
    b = cmp_db_bytea(p, r, 0, 1, &n);
    if ((pr->ca.cert = one_cert(b, n)) == NULL) {
        *why = "CA certificate does not parse";
        return APR_EINVAL;
    }
    b = cmp_db_bytea(p, r, 0, 2, &n);
    if ((pr->ca_chain = cmp_profile_certs(b, n)) == NULL) {
        *why = "CA chain does not parse";
        return APR_EINVAL;
    }
    b = cmp_db_bytea(p, r, 0, 3, &n);
    pr->ca.key = cmp_secret_unseal_key(key, CMP_LABEL_CA_KEY, b, n);
    if (pr->ca.key == NULL || !X509_check_private_key(pr->ca.cert, pr->ca.key)) {
        *why = "CA key does not decrypt, parse or match the CA certificate";
        return APR_EINVAL;
    }
    pr->ca_generation = (int)cmp_db_ll(r, 0, 7);
    pr->root = pr->ca.cert;
    for (i = 0; i < sk_X509_num(pr->ca_chain); i++)
        if (X509_check_issued(sk_X509_value(pr->ca_chain, i),
                              sk_X509_value(pr->ca_chain, i)) == X509_V_OK)
            pr->root = sk_X509_value(pr->ca_chain, i);
    /* the CRL and certificate of this key (cmp_rollover_file) */
    file = cmp_rollover_file(p, pr->auth_name, pr->ca_generation, "");
    if ((!PQgetisnull(r, 0, 5) || !PQgetisnull(r, 0, 6))
            && (pr->ca.exts = cmp_crl_cert_exts(
                    PQgetisnull(r, 0, 5) ? NULL : PQgetvalue(r, 0, 5),
                    PQgetisnull(r, 0, 6) ? NULL : PQgetvalue(r, 0, 6),
                    pr->auth_name, file)) == NULL) {
        *why = "the CRL distribution point and authorityInfoAccess "
               "extensions of the Authority's publicUrl and ocspUrl cannot "
               "be made";
        return APR_EINVAL;
    }
    if (!PQgetisnull(r, 0, 5)) {
        pr->crl_url = malloc(strlen(PQgetvalue(r, 0, 5)) + strlen(file) + 6);
        if (pr->crl_url == NULL)
            return APR_ENOMEM;
        sprintf(pr->crl_url, "%s/%s.crl", PQgetvalue(r, 0, 5), file);
    }
    /* Our own certificates may protect kur, rr and cr. */
    X509_STORE_add_cert(pr->trust, pr->ca.cert);
    return load_retired(pr, p, r, why);
}

/* 3GPP TS 33.310 9.5: the base station learns the operator's root from
 * the ip (caPubs) and checks the response's signature with the chain in
 * extraCerts: the signer's chain, the CA's and the root, made once. */
static apr_status_t load_3gpp(cmp_profile_t *pr, const char **why)
{
    int i, n = sk_X509_num(pr->ca_chain);
    X509 *root = pr->root;

    pr->extra_out = sk_X509_new_null();
    pr->root_out = sk_X509_new_null();
    if (pr->extra_out == NULL || pr->root_out == NULL || !push_new(pr->root_out, root)) {
        *why = "out of memory";
        return APR_ENOMEM;
    }
    for (i = 0; i < sk_X509_num(pr->signer_chain); i++)
        if (!push_new(pr->extra_out, sk_X509_value(pr->signer_chain, i)))
            return APR_ENOMEM;
    if (!push_new(pr->extra_out, pr->ca.cert))
        return APR_ENOMEM;
    for (i = 0; i < n; i++)
        if (!push_new(pr->extra_out, sk_X509_value(pr->ca_chain, i)))
            return APR_ENOMEM;
    ERR_clear_error();
    return APR_SUCCESS;
}

static apr_status_t profile_load(cmp_profile_cache_t *cache, apr_pool_t *p,
                                 PGconn *c, const cmp_store_head_t *h,
                                 cmp_profile_t **out)
{
    cmp_profile_t *pr = calloc(1, sizeof(*pr));
    const char *why = "database error";
    apr_status_t rv;

    if (pr == NULL)
        return APR_ENOMEM;
    pr->refs = 1;
    pr->cmp_id = h->cmp_id;
    pr->cmp_ver = h->cmp_ver;
    pr->ra_id = h->ra_id;
    pr->ra_ver = h->ra_ver;
    pr->auth_id = h->auth_id;
    pr->auth_ver = h->auth_ver;
    if ((rv = load_cmp(pr, p, c, cache->key, &why)) == APR_SUCCESS
            && (rv = load_ra(pr, p, c, &why)) == APR_SUCCESS
            && (rv = load_authority(pr, p, c, cache->key, &why)) == APR_SUCCESS
            && strcmp(pr->variant, "v2_3gpp") == 0)
        rv = load_3gpp(pr, &why);
    if (rv != APR_SUCCESS) {
        cmp_log(CMP_LOG_ERR, CMPLOGNO(10301) "cannot load CMP Profile %lld / "
                "RA Profile %lld: %s", h->cmp_id, h->ra_id, why);
        ERR_clear_error();
        profile_free(pr);
        return rv;
    }
    *out = pr;
    return APR_SUCCESS;
}

static void unref(cmp_profile_cache_t *cache, cmp_profile_t *pr)
{
    int gone;

    lock(cache);
    gone = --pr->refs == 0;
    unlock(cache);
    if (gone)
        profile_free(pr);
}

static apr_status_t ref_cleanup(void *data)
{
    ref_t *ref = data;

    unref(ref->cache, ref->prof);
    return APR_SUCCESS;
}

static int same(const cmp_profile_t *pr, const cmp_store_head_t *h)
{
    return pr->cmp_id == h->cmp_id && pr->ra_id == h->ra_id
           && pr->auth_id == h->auth_id && pr->cmp_ver == h->cmp_ver
           && pr->ra_ver == h->ra_ver && pr->auth_ver == h->auth_ver;
}

/* Under the lock: put pr in the slot of its profile pair, dropping the
 * cache's reference to an older version. */
static void cache_put(cmp_profile_cache_t *cache, cmp_profile_t *pr,
                      cmp_profile_t **dropped)
{
    int i;

    *dropped = NULL;
    for (i = 0; i < cache->n; i++) {
        cmp_profile_t *old = cache->slots[i];

        if (old->cmp_id == pr->cmp_id && old->ra_id == pr->ra_id)
            break;
    }
    if (i == CACHE_MAX)
        i = 0;                  /* full: evict the oldest slot */
    if (i < cache->n) {
        if (--cache->slots[i]->refs == 0)
            *dropped = cache->slots[i];
    } else {
        cache->n++;
    }
    pr->refs++;
    cache->slots[i] = pr;
}

/* The cached profile of head's versions, one more reference taken; NULL
 * when it is not cached. */
static cmp_profile_t *cached(cmp_profile_cache_t *cache, const cmp_store_head_t *head)
{
    cmp_profile_t *pr = NULL;
    int i;

    lock(cache);
    for (i = 0; i < cache->n; i++) {
        if (same(cache->slots[i], head)) {
            pr = cache->slots[i];
            pr->refs++;
            break;
        }
    }
    unlock(cache);
    return pr;
}

static void hand_out(cmp_profile_cache_t *cache, apr_pool_t *p,
                     cmp_profile_t *pr, const cmp_profile_t **out)
{
    ref_t *ref = apr_palloc(p, sizeof(*ref));

    ref->cache = cache;
    ref->prof = pr;
    apr_pool_cleanup_register(p, ref, ref_cleanup, apr_pool_cleanup_null);
    *out = pr;
}

apr_status_t cmp_profile_get(cmp_profile_cache_t *cache, apr_pool_t *p,
                             PGconn *c, const cmp_store_head_t *head,
                             const cmp_profile_t **out)
{
    cmp_profile_t *pr = cached(cache, head), *dropped;
    apr_status_t rv;

    if (pr == NULL) {
        if ((rv = profile_load(cache, p, c, head, &pr)) != APR_SUCCESS)
            return rv;
        lock(cache);
        cache_put(cache, pr, &dropped);
        unlock(cache);
        profile_free(dropped);
    }
    hand_out(cache, p, pr, out);
    return APR_SUCCESS;
}

apr_status_t cmp_profile_peek(cmp_profile_cache_t *cache, apr_pool_t *p,
                              const cmp_store_head_t *head,
                              const cmp_profile_t **out)
{
    cmp_profile_t *pr = cached(cache, head);

    if (pr == NULL)
        return APR_NOTFOUND;
    hand_out(cache, p, pr, out);
    return APR_SUCCESS;
}

int cmp_name_valid(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 255
           && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-._~") == n;
}

const char *cmp_profile_v3_missing(char *buf, size_t len)
{
#ifdef OSSL_CMP_PVNO_3
    (void)buf;
    (void)len;
    return NULL;
#else
    snprintf(buf, len, "variant v3 (CMPv3: cmp2021, RFC 9810) needs OpenSSL "
             "3.2 or later; this server runs %s", OpenSSL_version(OPENSSL_VERSION));
    return buf;
#endif
}
