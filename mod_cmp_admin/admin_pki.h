/* Keys and certificates the admin API makes or imports. */
#ifndef ADMIN_PKI_H
#define ADMIN_PKI_H

#include <apr_pools.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmp_issue.h"
#include <jansson.h>

#include "cmp_secret.h"

/* Any key type OpenSSL generates; param is the group (EC and the like) or
 * the bit size (RSA and the like), whichever the type takes. */
EVP_PKEY *admin_keygen(const char *type, const char *param, const char **why);

/* "CN=a,O=b" or "/CN=a/O=b". */
X509_NAME *admin_parse_name(const char *s, const char **why);

X509 *admin_make_ca(EVP_PKEY *key, const X509_NAME *subject, int days,
                    const char **why);
/* A CMP signer certificate (RFC 9483: id-kp-cmcRA) issued by ca. */
X509 *admin_make_signer(const cmp_ca_t *ca, EVP_PKEY *key,
                        const X509_NAME *subject, int days, const char **why);

STACK_OF(X509) *admin_parse_certs(const char *pem);
EVP_PKEY *admin_parse_key(const char *pem, const char *pass);

/* DER of one or more certificates, from p. */
unsigned char *admin_der(apr_pool_t *p, X509 *x, int *len);
unsigned char *admin_der_chain(apr_pool_t *p, STACK_OF(X509) *sk, int from,
                               int *len);
/* The private key as PKCS#8, encrypted for the database, from p. */
unsigned char *admin_key_sealed(apr_pool_t *p, const cmp_secret_key_t *k,
                                const char *label, EVP_PKEY *key, int *len);

/* Adds subjectDn, issuerDn, serialNumber, notBefore, notAfter, keyType and
 * certificate (PEM) of the DER certificate to o. */
void admin_cert_fields(apr_pool_t *p, json_t *o, const unsigned char *der,
                       size_t len);

#endif
