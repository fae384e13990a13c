/* SPDX-License-Identifier: Apache-2.0 */
/* PasswordBasedMac (RFC 4211 4.4, RFC 4210 5.1.3.1), and PBMAC1 (RFC 9481
 * 6.1.2), with the base key
 * derived once per request: the key is OWF applied iterationCount times to
 * the secret and the salt, which is most of the cost of a MAC. RFC 4210
 * recommends keeping the PBMParameter constant within a transaction, so a
 * MAC-protected response reuses the request's parameters and its base key:
 * one derivation per request instead of one to verify and one to protect. */
#ifndef CMP_PBM_H
#define CMP_PBM_H

#include <apr_pools.h>
#include <openssl/x509.h>

#include "cmp_asn1.h"

/* OpenSSL's bounds (OSSL_CRMF_pbm_new): RFC 4211 asks for at least 100. */
#define CMP_PBM_MIN_ITERATIONS 100
#define CMP_PBM_MAX_ITERATIONS 100000

typedef struct cmp_pbm_t cmp_pbm_t;

/* The base key of the PBMParameter in alg (id-PasswordBasedMac) for the
 * secret, or the PBKDF2 key of the PBMAC1-params in alg (id-PBMAC1, RFC 9481
 * 6.1.2: PBKDF2 with an HMAC as PRF, an HMAC as MAC, iterationCount within
 * the same bounds, keyLength 16 to 64 octets); the key is wiped when p is cleared. APR_EINVAL with *why set when
 * the parameters are malformed, out of bounds or name an algorithm we do
 * not have. alg must outlive the result. */
apr_status_t cmp_pbm_derive(apr_pool_t *p, const X509_ALGOR *alg,
                            const unsigned char *secret, size_t secret_len,
                            cmp_pbm_t **out, const char **why);

/* The MAC of data (at most EVP_MAX_MD_SIZE bytes into mac); 1 on success. */
int cmp_pbm_mac(const cmp_pbm_t *k, const unsigned char *data, size_t len,
                unsigned char *mac, size_t *mac_len);

/* 1 when the protection of the message in v is the MAC under k of its
 * ProtectedPart. */
int cmp_pbm_verify(const cmp_pbm_t *k, apr_pool_t *p, const cmp_view_t *v);

/* The unprotected PKIMessage der protected with k's parameters and key. */
apr_status_t cmp_pbm_protect(const cmp_pbm_t *k, apr_pool_t *p,
                             const unsigned char *der, apr_size_t len,
                             unsigned char **out, apr_size_t *out_len);

#endif
