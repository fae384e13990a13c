/* SPDX-License-Identifier: Apache-2.0 */
/* Keys and certificates the admin API makes or imports. */
#ifndef ADMIN_PKI_H
#define ADMIN_PKI_H

#include <apr_pools.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmp_issue.h"
#include <jansson.h>

#include "cmp_key.h"
#include "cmp_secret.h"


/* "CN=a,O=b" or "/CN=a/O=b". */
X509_NAME *admin_parse_name(const char *s, const char **why);

STACK_OF(X509) *admin_parse_certs(const char *pem);
EVP_PKEY *admin_parse_key(const char *pem, const char *pass);

/* DER of one or more certificates, from p. */
unsigned char *admin_der(apr_pool_t *p, X509 *x, int *len);
unsigned char *admin_der_chain(apr_pool_t *p, STACK_OF(X509) *sk, int from,
                               int *len);
/* A signer can sign CMP responses while its certificate (DER) is within its
 * validity (CZERTAINLY: isCertificateCmpAcceptable). */
int admin_signer_usable(const unsigned char *der, size_t n);

/* Adds subjectDn, issuerDn, serialNumber, notBefore, notAfter, keyType and
 * certificate (PEM) of the DER certificate to o. */
void admin_cert_fields(apr_pool_t *p, json_t *o, const unsigned char *der,
                       size_t len);

/* A local Authority's certificate and decrypted key, in columns col and
 * col + 1 of r's first row, into ca->cert and ca->key (the caller frees
 * them); 0, with neither, when they do not decode or decrypt. */
int admin_ca_of_row(admin_req_t *rq, const PGresult *r, int col, cmp_ca_t *ca);

#endif
