/* SPDX-License-Identifier: Apache-2.0 */
/* Public keys of requests without OpenSSL 3.0's decoder set-up.
 *
 * Decoding a SubjectPublicKeyInfo in OpenSSL 3.0 (d2i_X509_PUBKEY, and so
 * every certificate template OpenSSL parses) builds a decoder chain over all
 * of the provider's algorithms each time: about 0.1 ms, more than verifying
 * the request's signature. Requests are therefore parsed with a library
 * context that has no algorithms (the key is left undecoded, its algorithm
 * and bits kept), and the key is built here from its parts with the
 * provider's key import, as a decoder would end up doing. */
#ifndef CMP_KEY_H
#define CMP_KEY_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* A library context without algorithms, for parsing requests; per process,
 * read-only once made, freed with p. */
apr_status_t cmp_key_keyless_ctx(apr_pool_t *p, OSSL_LIB_CTX **out);

/* The key of spki for EC on a named curve, Ed25519, Ed448 and RSA; NULL for
 * other algorithms and for malformed keys (then decode with OpenSSL). The
 * caller frees it. */
EVP_PKEY *cmp_key_from_spki(const X509_PUBKEY *spki);

/* RSA moduli a request may carry, whatever the RA Profile's strength */
#define CMP_KEY_RSA_MIN_BITS 2048
#define CMP_KEY_RSA_MAX_BITS 16384

/* Whether spki has the one form its algorithm allows, checked on the
 * undecoded key before any use of it: EC on a named curve of curves (no
 * explicit parameters: RFC 5480 2.1.1), its point compressed or not; RSA
 * with NULL parameters, an odd modulus of CMP_KEY_RSA_MIN_BITS..MAX_BITS
 * and an odd exponent 2^16 < e < 2^256 (FIPS 186-5 A.1.1); EdDSA and XDH
 * without parameters, of their length (RFC 8410). Other algorithms are
 * left to OpenSSL and the policy (1). 0 with the reason in why. */
int cmp_key_form_ok(const X509_PUBKEY *spki, const int *curves, int n_curves,
                    char *why, size_t whylen);

/* Whether this OpenSSL has the post-quantum algorithms (ML-DSA, SLH-DSA,
 * ML-KEM: 3.5 and later), asked of its default provider once. */
int cmp_key_pqc_available(void);

/* When name (OpenSSL's name, any case, or the dotted OID) is a post-quantum
 * algorithm that this OpenSSL lacks: why, in buf; else NULL. */
const char *cmp_key_pqc_missing(const char *name, char *buf, size_t len);

/* Whether this build has central key generation (RFC 9483 4.1.6:
 * OSSL_CRMF_MSG_centralkeygen_requested and the EnvelopedData of CRMF,
 * OpenSSL 3.5 and later): NULL when it has; else why not, in buf. */
const char *cmp_key_central_missing(char *buf, size_t len);

/* A key pair of type (OpenSSL's name: EC, RSA, ML-DSA-65, ...) with param:
 * the curve of an EC key (default P-256), the bits of an RSA key (default
 * 3072); none for the others. NULL with *why (static or from p) when this
 * OpenSSL cannot make it. The caller frees the key. */
EVP_PKEY *cmp_key_generate(apr_pool_t *p, const char *type, const char *param,
                           const char **why);

/* Whether cmp_key_generate(type, param) would make a key, found without
 * making one (1); 0 with *why. */
int cmp_key_can_generate(apr_pool_t *p, const char *type, const char *param,
                         const char **why);

/* A key spec "TYPE" or "TYPE:PARAM" (an RA Profile's centralKeyType) split
 * into its parts, from p; param is NULL when none is given. */
void cmp_key_spec_split(apr_pool_t *p, const char *spec, const char **type,
                        const char **param);

#endif
