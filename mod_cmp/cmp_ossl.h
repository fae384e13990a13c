/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL objects owned by an APR pool: each is freed by a cleanup of the
 * pool it is given to, so a request's objects go with its pool whatever
 * path it took. */
#ifndef CMP_OSSL_H
#define CMP_OSSL_H

#include <apr_pools.h>
#include <openssl/cmp.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

void cmp_own_x509(apr_pool_t *p, X509 *x);
void cmp_own_pkey(apr_pool_t *p, EVP_PKEY *k);
void cmp_own_msg(apr_pool_t *p, OSSL_CMP_MSG *m);
void cmp_own_srv_ctx(apr_pool_t *p, OSSL_CMP_SRV_CTX *s);

/* OpenSSL's CMP diagnostics of ctx go to our log at debug level: detail
 * for debugging; what a request came to is logged once, by the caller. */
void cmp_ossl_debug_log(OSSL_CMP_CTX *ctx);

/* A new OSSL_CMP_CTX owned by p, logging as cmp_ossl_debug_log() says;
 * NULL when out of memory. */
OSSL_CMP_CTX *cmp_ossl_cmp_ctx(apr_pool_t *p);

#endif
