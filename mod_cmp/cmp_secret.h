/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets at rest: AES-256-GCM under a key read from a file named in
 * httpd.conf (CMPSecretKeyFile). Used for shared secrets and private keys. */
#ifndef CMP_SECRET_H
#define CMP_SECRET_H

#include <stddef.h>
#include <apr_pools.h>
#include <openssl/evp.h>

#define CMP_SECRET_KEY_LEN 32

typedef struct {
    unsigned char key[CMP_SECRET_KEY_LEN];
} cmp_secret_key_t;

/* The file holds 64 hex digits (whitespace around them is ignored). */
apr_status_t cmp_secret_key_load(const char *path, cmp_secret_key_t *key,
                                 const char **why);

/* out is allocated from p; label binds the value to its use (AAD). */
apr_status_t cmp_secret_encrypt(apr_pool_t *p, const cmp_secret_key_t *key,
                                const char *label, const unsigned char *in,
                                size_t inlen, unsigned char **out,
                                size_t *outlen);
/* The plain text is allocated with OPENSSL_secure_malloc-free semantics:
 * free it with cmp_secret_free(). */
apr_status_t cmp_secret_decrypt(const cmp_secret_key_t *key, const char *label,
                                const unsigned char *in, size_t inlen,
                                unsigned char **out, size_t *outlen);
void cmp_secret_free(unsigned char *buf, size_t len);

/* A private key as it is kept at rest: PKCS#8 (any key type), encrypted
 * under label; *out from p. */
apr_status_t cmp_secret_seal_key(apr_pool_t *p, const cmp_secret_key_t *key,
                                 const char *label, EVP_PKEY *pkey,
                                 unsigned char **out, size_t *outlen);
/* The key cmp_secret_seal_key() sealed, or NULL when it does not decrypt
 * or parse; the caller frees it. */
EVP_PKEY *cmp_secret_unseal_key(const cmp_secret_key_t *key, const char *label,
                                const unsigned char *in, size_t inlen);

#define CMP_LABEL_SHARED_SECRET "mod_cmp:cmp_profile.shared_secret"
#define CMP_LABEL_SIGNING_KEY "mod_cmp:cmp_profile.signing_key"
#define CMP_LABEL_CA_KEY "mod_cmp:authority.ca_key"
#define CMP_LABEL_OCSP_KEY "mod_cmp:ocsp_signer.key"
#define CMP_LABEL_DEVICE_SECRET "mod_cmp:device_registration.secret"

#endif
