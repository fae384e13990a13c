/* SPDX-License-Identifier: Apache-2.0 */
/* Central key generation (RFC 9483 4.1.6, RFC 9810 5.2.2): the private key
 * the server made for a request, as the EncryptedKey of its response. */
#ifndef CMP_CENTRAL_H
#define CMP_CENTRAL_H

#include <apr_pools.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmp_issue.h"

/* key as an EncryptedKey (the envelopedData choice), DER from p: the key
 * (a OneAsymmetricKey, RFC 5958) signed by the key generation authority
 * (SignedData by kga, with its chain; its certificate names id-kp-cmKGA)
 * and enveloped for the requester: to the public key of
 * recipient (a signature-protected request), else to the secret (a
 * MAC-protected one: password-based, PBKDF2, RFC 3211). AES-256-CBC.
 * APR_ENOTIMPL on a build without central key generation; APR_EINVAL with
 * *why when the recipient's key cannot receive a key (it only signs). */
apr_status_t cmp_central_package(apr_pool_t *p, EVP_PKEY *key,
                                 X509 *kga, EVP_PKEY *kga_key,
                                 STACK_OF(X509) *chain,
                                 X509 *recipient, const unsigned char *secret,
                                 size_t secret_len, unsigned char **der,
                                 int *len, const char **why);

#endif
