/* SPDX-License-Identifier: Apache-2.0 */
/* The certificate policy of an RA Profile and its checks on a request. */
#ifndef CMP_POLICY_H
#define CMP_POLICY_H

#include <limits.h>
#include <regex.h>
#include <stddef.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmp_err.h"

typedef struct {
    int validity_days;
    char **key_types;        /* OpenSSL key type names; none = any */
    int n_key_types;
    int min_security_bits;
    int has_subject_re;
    regex_t subject_re;      /* on the RFC 2253 form of the subject */
    int allow_san;
    int kur_identity_change; /* a kur may ask another subject or SANs */
    int ku_from_request;     /* a template's keyUsage is issued, within key_usage */
    char *key_usage;         /* X509v3 config value, e.g. "critical,digitalSignature" */
    char *ext_key_usage;     /* "" = no extendedKeyUsage */
    /* basicConstraints, keyUsage and extendedKeyUsage of every certificate,
     * made from the strings once; NULL when one does not parse, named in
     * bad_ext (the issuance is refused then, and says so) */
    STACK_OF(X509_EXTENSION) *exts;
    char bad_ext[160];
    int ku_bits;             /* the keyUsage bits of exts (KU_*); -1: none */
    int ku_critical;
    int *curves;             /* the named curves EC keys may be on (NIDs) */
    int *curve_bits;         /* ... and the security bits of each */
    int n_curves;
    /* central key generation (RFC 9483 4.1.6): the key made for a request
     * without one; NULL: not made, such a request is refused */
    char *central_type, *central_param;
} cmp_policy_t;

/* An RA Profile's policy as the database holds it (ra_profile's columns in
 * text form). The same rules read it for the admin API, which refuses what
 * they refuse before it is stored, and for the CMP path, which loads it. */
typedef struct {
    int validity_days;            /* 1..36500 */
    int min_security_bits;        /* 0..256 */
    const char *key_types;        /* comma-separated OpenSSL key type names */
    const char *subject_pattern;  /* POSIX ERE on the RFC 2253 subject */
    int allow_san;
    const char *key_usage;        /* X509v3 value: "critical,digitalSignature" */
    const char *ext_key_usage;    /* names or OIDs, comma-separated; "" none */
    const char *ec_curves;        /* curve names (NIST, OpenSSL short names),
                                   * comma-separated; NULL: the default */
    int kur_identity_change;      /* a kur may ask another subject or SANs */
    int ku_from_request;          /* a template's keyUsage is issued, as far
                                   * as key_usage and the key allow it */
    const char *central_key;      /* "TYPE" or "TYPE:PARAM" generated for a
                                   * request without a key; "" none */
} cmp_policy_spec_t;

/* The curves of an RA Profile that names none: the NIST prime curves and
 * the Brainpool r1 curves of at least 256 bits (no binary curves). */
#define CMP_POLICY_DEFAULT_CURVES \
    "P-256,P-384,P-521,brainpoolP256r1,brainpoolP384r1,brainpoolP512r1"

#define CMP_POLICY_MAX_DAYS 36500
#define CMP_POLICY_UNSET INT_MIN   /* a number not given */

/* What is wrong with the given fields of spec (a NULL string or a
 * CMP_POLICY_UNSET number is not given, and not checked): one message per problem, naming
 * the RA Profile field, appended to msgs (const char *, from p). Returns
 * the number of messages added. */
int cmp_policy_validate(apr_pool_t *p, const cmp_policy_spec_t *spec,
                        apr_array_header_t *msgs);

/* Makes the policy of a stored spec (every field given). Key type names
 * are OpenSSL's, aliases included. A subject pattern that does not compile
 * fails (*why); an extension value that does not parse fails only at
 * issuance, named in bad_ext, so that the rest of a CMP Profile serves. */
int cmp_policy_init(cmp_policy_t *pol, const cmp_policy_spec_t *spec,
                    const char **why);
void cmp_policy_clear(cmp_policy_t *pol);

/* RFC 9483 4.1.3: a kur is for the end entity of old, the certificate it
 * updates. A template without subject gets old's subject (*subject set);
 * one without subjectAltName gets old's, when old has one: *made is then
 * a copy of the template's extensions (exts) with it, to issue instead
 * (the caller's to free; NULL otherwise). A subject or subjectAltName other than old's is CMP_E_KUR_IDENTITY
 * (why says which) unless the RA Profile allows the change. */
cmp_reason_e cmp_policy_kur_identity(const cmp_policy_t *pol, X509 *old,
                                     const X509_NAME **subject,
                                     const STACK_OF(X509_EXTENSION) *exts,
                                     STACK_OF(X509_EXTENSION) **made,
                                     char *why, size_t whylen);

/* CMP_E_NONE when the request fits; else the reason, with detail in why. */
cmp_reason_e cmp_policy_check(const cmp_policy_t *pol, const X509_NAME *subject,
                              EVP_PKEY *pubkey,
                              const STACK_OF(X509_EXTENSION) *exts,
                              char *why, size_t whylen);

/* CMP_E_NONE when the request's key has the one form its algorithm allows
 * and, for EC, a curve of the RA Profile (cmp_key_form_ok()); else
 * CMP_E_KEY_FORM (badAlg) with the reason in why. Run on the undecoded key,
 * before the POP and the rest of the policy. */
cmp_reason_e cmp_policy_check_key_form(const cmp_policy_t *pol,
                                       const X509_PUBKEY *spki, char *why,
                                       size_t whylen);

/* The keySpec of a certReqTemplate (RFC 9483 4.3.3): Controls with one
 * id-regCtrl-algId per EC curve or EdDSA algorithm and an id-regCtrl-rsaKeyLen
 * for RSA that the RA Profile allows at its minimum strength; *der NULL when
 * it allows any key type. 0 on failure. */
int cmp_policy_key_spec(const cmp_policy_t *pol, apr_pool_t *p,
                        unsigned char **der, int *len);

/* What a request gets beside its subject and key: the keyUsage bits its key
 * can have (RFC 5480 for EC: keyAgreement where the RA Profile says
 * keyEncipherment; RFC 8410 and signature-only keys: no encipherment or
 * agreement; -1: the RA Profile's keyUsage as it is), and, when what the
 * request's extensions ask differs from what is issued, a text saying so
 * (the response is then grantedWithMods). Where the RA Profile lets the
 * request choose (ku_from_request), a template's keyUsage is issued as the
 * key can have it (an EC key asking keyEncipherment gets keyAgreement) and
 * as far as the RA Profile's keyUsage allows. */
typedef struct {
    int ku_bits;
    const char *mods;            /* from p; NULL: issued as asked */
} cmp_grant_t;

/* CMP_E_NONE and *out; else the reason (a CA certificate or a pathLen asked:
 * badCertTemplate, and so is a keyUsage the request chooses of which the
 * RA Profile allows nothing; an unknown critical extension:
 * unacceptedExtension; no keyUsage the key can have: badAlg), with detail in
 * why. */
cmp_reason_e cmp_policy_grant(const cmp_policy_t *pol, EVP_PKEY *key,
                              const STACK_OF(X509_EXTENSION) *req,
                              apr_pool_t *p, cmp_grant_t *out, char *why,
                              size_t whylen);

#endif
