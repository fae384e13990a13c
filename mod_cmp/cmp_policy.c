#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_policy.h"

static char *dupstr(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static int split_key_types(cmp_policy_t *pol, const char *list)
{
    char *copy, *tok, *save = NULL;
    int n = 1;
    const char *c;

    for (c = list; *c; c++)
        n += *c == ',';
    pol->key_types = calloc((size_t)n, sizeof(char *));
    if (pol->key_types == NULL || (copy = strdup(list)) == NULL)
        return 0;
    for (tok = strtok_r(copy, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save))
        pol->key_types[pol->n_key_types++] = strdup(tok);
    free(copy);
    return 1;
}

static int push_conf_ext(cmp_policy_t *pol, int nid, const char *value)
{
    X509_EXTENSION *ext;

    if (value == NULL || *value == '\0')
        return 1;
    if ((ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value)) == NULL) {
        snprintf(pol->bad_ext, sizeof(pol->bad_ext), "%s=%s", OBJ_nid2sn(nid),
                 value);
        return 0;
    }
    if (!sk_X509_EXTENSION_push(pol->exts, ext)) {
        X509_EXTENSION_free(ext);
        snprintf(pol->bad_ext, sizeof(pol->bad_ext), "(out of memory)");
        return 0;
    }
    return 1;
}

static void make_exts(cmp_policy_t *pol)
{
    if ((pol->exts = sk_X509_EXTENSION_new_null()) == NULL
            || !push_conf_ext(pol, NID_basic_constraints, "critical,CA:FALSE")
            || !push_conf_ext(pol, NID_key_usage, pol->key_usage)
            || !push_conf_ext(pol, NID_ext_key_usage, pol->ext_key_usage)) {
        sk_X509_EXTENSION_pop_free(pol->exts, X509_EXTENSION_free);
        pol->exts = NULL;
        ERR_clear_error();
    }
}

int cmp_policy_init(cmp_policy_t *pol, int validity_days, const char *key_types,
                    int min_security_bits, const char *subject_pattern,
                    int allow_san, const char *key_usage,
                    const char *ext_key_usage, const char **why)
{
    memset(pol, 0, sizeof(*pol));
    pol->validity_days = validity_days;
    pol->min_security_bits = min_security_bits;
    pol->allow_san = allow_san;
    pol->key_usage = dupstr(key_usage);
    pol->ext_key_usage = dupstr(ext_key_usage);
    make_exts(pol);
    if (!split_key_types(pol, key_types != NULL ? key_types : "")) {
        *why = "out of memory";
        return 0;
    }
    if (subject_pattern != NULL && *subject_pattern != '\0') {
        if (regcomp(&pol->subject_re, subject_pattern,
                    REG_EXTENDED | REG_NOSUB) != 0) {
            *why = "subject_pattern is not a valid regular expression";
            return 0;
        }
        pol->has_subject_re = 1;
    }
    return 1;
}

void cmp_policy_clear(cmp_policy_t *pol)
{
    int i;

    for (i = 0; i < pol->n_key_types; i++)
        free(pol->key_types[i]);
    free(pol->key_types);
    free(pol->key_usage);
    free(pol->ext_key_usage);
    sk_X509_EXTENSION_pop_free(pol->exts, X509_EXTENSION_free);
    if (pol->has_subject_re)
        regfree(&pol->subject_re);
    memset(pol, 0, sizeof(*pol));
}

static cmp_reason_e check_key(const cmp_policy_t *pol, EVP_PKEY *pkey,
                              char *why, size_t whylen)
{
    const char *type = EVP_PKEY_get0_type_name(pkey);
    int i, bits;

    if (type == NULL)
        type = "unknown";
    if (pol->n_key_types > 0) {
        for (i = 0; i < pol->n_key_types; i++)
            if (strcasecmp(pol->key_types[i], type) == 0)
                break;
        if (i == pol->n_key_types) {
            snprintf(why, whylen, "key type %s is not allowed", type);
            return CMP_E_POLICY_KEY;
        }
    }
    bits = EVP_PKEY_get_security_bits(pkey);
    if (bits < pol->min_security_bits) {
        snprintf(why, whylen, "%s key has %d security bits, at least %d needed",
                 type, bits, pol->min_security_bits);
        return CMP_E_POLICY_KEY;
    }
    return CMP_E_NONE;
}

static cmp_reason_e check_subject(const cmp_policy_t *pol,
                                  const X509_NAME *subject, int has_san,
                                  char *why, size_t whylen)
{
    BIO *b;
    char *text = NULL;
    long n;
    cmp_reason_e r = CMP_E_NONE;

    if (subject == NULL || X509_NAME_entry_count(subject) == 0) {
        if (has_san && pol->allow_san && !pol->has_subject_re)
            return CMP_E_NONE;
        snprintf(why, whylen, "the subject is empty");
        return CMP_E_POLICY_SUBJECT;
    }
    if (!pol->has_subject_re)
        return CMP_E_NONE;
    if ((b = BIO_new(BIO_s_mem())) == NULL)
        return CMP_E_INTERNAL;
    if (X509_NAME_print_ex(b, subject, 0, XN_FLAG_RFC2253) < 0
            || BIO_write(b, "", 1) != 1) {
        BIO_free(b);
        return CMP_E_INTERNAL;
    }
    n = BIO_get_mem_data(b, &text);
    if (n <= 0 || regexec(&pol->subject_re, text, 0, NULL, 0) != 0) {
        snprintf(why, whylen, "subject '%s' does not match the RA Profile",
                 n > 0 ? text : "");
        r = CMP_E_POLICY_SUBJECT;
    }
    BIO_free(b);
    return r;
}

cmp_reason_e cmp_policy_check(const cmp_policy_t *pol, const X509_NAME *subject,
                              EVP_PKEY *pubkey,
                              const STACK_OF(X509_EXTENSION) *exts,
                              char *why, size_t whylen)
{
    int has_san = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) >= 0;
    cmp_reason_e r;

    why[0] = '\0';
    if (pubkey == NULL) {
        snprintf(why, whylen, "the template has no public key");
        return CMP_E_BAD_TEMPLATE;
    }
    if ((r = check_key(pol, pubkey, why, whylen)) != CMP_E_NONE)
        return r;
    if (has_san && !pol->allow_san) {
        snprintf(why, whylen, "the RA Profile does not allow subjectAltName");
        return CMP_E_POLICY_SAN;
    }
    return check_subject(pol, subject, has_san, why, whylen);
}
