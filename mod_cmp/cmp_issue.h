/* SPDX-License-Identifier: Apache-2.0 */
/* Issuance by a local CA: a certificate built from a checked request. */
#ifndef CMP_ISSUE_H
#define CMP_ISSUE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cmp_policy.h"

typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    /* added to every certificate it issues: where relying parties find
     * its CRL and certificate (cmp_crl_cert_exts); NULL: none */
    STACK_OF(X509_EXTENSION) *exts;
} cmp_ca_t;

/* Builds and signs the certificate. subject and the SubjectPublicKeyInfo
 * come from the request (copied as they are: no key is decoded or encoded),
 * extensions from the policy (SAN copied from req_exts when present);
 * req_not_after may only shorten the validity; grant (cmp_policy_grant,
 * NULL: the policy as it is) sets the keyUsage for the key's type. The CA
 * key's own default digest is used, so any key type OpenSSL signs with
 * works. */
apr_status_t cmp_issue_build(const cmp_ca_t *ca, const cmp_policy_t *pol,
                             const X509_NAME *subject, const X509_PUBKEY *spki,
                             const STACK_OF(X509_EXTENSION) *req_exts,
                             const ASN1_TIME *req_not_after,
                             const cmp_grant_t *grant, X509 **out);

/* A self-signed CA certificate (keyCertSign, cRLSign) for key; NULL when
 * it cannot be made. */
X509 *cmp_issue_root_ca(EVP_PKEY *key, const X509_NAME *subject, int days);

/* A subordinate CA's certificate (keyCertSign, cRLSign) for key, issued by
 * issuer with its exts, never outliving it; NULL when it cannot be made. */
X509 *cmp_issue_sub_ca(const cmp_ca_t *issuer, EVP_PKEY *key,
                       const X509_NAME *subject, int days);

/* A link certificate of a CA key rollover (RFC 9810 4.4.1): key's CA
 * certificate (keyCertSign, cRLSign) signed by signer, valid from now until
 * the earlier end of signer's and until's certificates; NULL when it cannot
 * be made. */
X509 *cmp_issue_link(const cmp_ca_t *signer, EVP_PKEY *key,
                     const X509_NAME *subject, const X509 *until);

/* id-kp-cmKGA (RFC 9483 4.1.6): a key generation authority */
#define CMP_OID_KP_CMKGA "1.3.6.1.5.5.7.3.32"
/* the extendedKeyUsage of a CMP signer: id-kp-cmcRA, id-kp-cmKGA */
#define CMP_SIGNER_EKU "1.3.6.1.5.5.7.3.28," CMP_OID_KP_CMKGA
/* Whether cert's extendedKeyUsage names id-kp-cmKGA. */
int cmp_issue_is_kga(X509 *cert);

/* A CMP signer certificate (RFC 9483 3.1: id-kp-cmcRA) for key, issued by
 * ca, never outliving it; NULL when it cannot be made. */
X509 *cmp_issue_cmp_signer(const cmp_ca_t *ca, EVP_PKEY *key,
                           const X509_NAME *subject, int days);

/* The digest key signs with: its own default one, or NULL where the key
 * type signs without a separate one (Ed25519, ML-DSA and the like). 0 when
 * OpenSSL names none it has. Certificates and CRLs are signed with it. */
int cmp_issue_sign_md(EVP_PKEY *key, const EVP_MD **md);

/* A delegated OCSP signing certificate (RFC 6960 4.2.2.2: id-kp-OCSPSigning,
 * and id-pkix-ocsp-nocheck, so relying parties do not ask about it) for
 * key, issued by ca, never outliving it; NULL when it cannot be made. */
X509 *cmp_issue_ocsp_signer(const cmp_ca_t *ca, EVP_PKEY *key,
                            const X509_NAME *subject, int days);

/* Random positive serial of 128 bits. */
ASN1_INTEGER *cmp_issue_serial(void);

/* The RFC 4514/2253 text of a name, from p: the one form mod_cmp writes
 * names in (database, API, logs, refusal reasons); "" for NULL. */
const char *cmp_issue_name_text(apr_pool_t *p, const X509_NAME *name);

/* Lower-case hex of the serial without leading zeros, from p ("" when it
 * cannot be had). */
const char *cmp_issue_serial_hex(apr_pool_t *p, const ASN1_INTEGER *serial);

/* The text of each general name, as OpenSSL prints it ("DNS:host",
 * "IP Address:10.0.0.1"): the one form mod_cmp writes subjectAltNames in
 * (the certificate's sans column joins them with ", "). From p. */
apr_array_header_t *cmp_issue_names_text(apr_pool_t *p,
                                         const GENERAL_NAMES *names);

#endif
