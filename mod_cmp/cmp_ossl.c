/* SPDX-License-Identifier: Apache-2.0 */
#include "cmp_log.h"
#include "cmp_ossl.h"

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t msg_cleanup(void *data)
{
    OSSL_CMP_MSG_free(data);
    return APR_SUCCESS;
}

static apr_status_t srv_ctx_cleanup(void *data)
{
    OSSL_CMP_SRV_CTX_free(data);
    return APR_SUCCESS;
}

static apr_status_t cmp_ctx_cleanup(void *data)
{
    OSSL_CMP_CTX_free(data);
    return APR_SUCCESS;
}

void cmp_own_x509(apr_pool_t *p, X509 *x)
{
    apr_pool_cleanup_register(p, x, x509_cleanup, apr_pool_cleanup_null);
}

void cmp_own_pkey(apr_pool_t *p, EVP_PKEY *k)
{
    apr_pool_cleanup_register(p, k, pkey_cleanup, apr_pool_cleanup_null);
}

void cmp_own_msg(apr_pool_t *p, OSSL_CMP_MSG *m)
{
    apr_pool_cleanup_register(p, m, msg_cleanup, apr_pool_cleanup_null);
}

void cmp_own_srv_ctx(apr_pool_t *p, OSSL_CMP_SRV_CTX *s)
{
    apr_pool_cleanup_register(p, s, srv_ctx_cleanup, apr_pool_cleanup_null);
}

static int debug_log_cb(const char *func, const char *file, int line,
                        OSSL_CMP_severity level, const char *msg)
{
    cmp_log(CMP_LOG_DEBUG, "openssl %s: %s", func != NULL ? func : "", msg);
    return 1;
}

void cmp_ossl_debug_log(OSSL_CMP_CTX *ctx)
{
    OSSL_CMP_CTX_set_log_cb(ctx, debug_log_cb);
}

OSSL_CMP_CTX *cmp_ossl_cmp_ctx(apr_pool_t *p)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);

    if (ctx == NULL)
        return NULL;
    apr_pool_cleanup_register(p, ctx, cmp_ctx_cleanup, apr_pool_cleanup_null);
    cmp_ossl_debug_log(ctx);
    return ctx;
}
