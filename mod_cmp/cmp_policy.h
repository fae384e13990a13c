/* The certificate policy of an RA Profile and its checks on a request. */
#ifndef CMP_POLICY_H
#define CMP_POLICY_H

#include <regex.h>
#include <stddef.h>
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
    char *key_usage;         /* X509v3 config value, e.g. "critical,digitalSignature" */
    char *ext_key_usage;     /* "" = no extendedKeyUsage */
    /* basicConstraints, keyUsage and extendedKeyUsage of every certificate,
     * made from the strings once; NULL when one does not parse, named in
     * bad_ext (the issuance is refused then, and says so) */
    STACK_OF(X509_EXTENSION) *exts;
    char bad_ext[160];
} cmp_policy_t;

/* key_types is a comma-separated list. Strings are copied (malloc). */
int cmp_policy_init(cmp_policy_t *pol, int validity_days, const char *key_types,
                    int min_security_bits, const char *subject_pattern,
                    int allow_san, const char *key_usage,
                    const char *ext_key_usage, const char **why);
void cmp_policy_clear(cmp_policy_t *pol);

/* CMP_E_NONE when the request fits; else the reason, with detail in why. */
cmp_reason_e cmp_policy_check(const cmp_policy_t *pol, const X509_NAME *subject,
                              EVP_PKEY *pubkey,
                              const STACK_OF(X509_EXTENSION) *exts,
                              char *why, size_t whylen);

#endif
