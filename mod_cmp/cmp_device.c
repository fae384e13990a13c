/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cmp_device.h"
#include "cmp_issue.h"

char *cmp_device_new_secret(apr_pool_t *p)
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char rnd[24];
    char *out = apr_palloc(p, 30), *o = out;
    int i;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return NULL;
    for (i = 0; i < 24; i++) {
        if (i > 0 && i % 4 == 0)
            *o++ = '-';
        *o++ = b32[rnd[i] & 31];       /* 5 bits of each byte: 120 bits */
    }
    *o = '\0';
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return out;
}

int cmp_device_kid_valid(const char *kid)
{
    size_t n = kid != NULL ? strlen(kid) : 0, i;

    if (n == 0 || n > CMP_DEVICE_KID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (kid[i] <= ' ' || kid[i] > '~')
            return 0;
    return 1;
}

static int has_name(const apr_array_header_t *a, const char *s)
{
    int i;

    for (i = 0; i < a->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), s) == 0)
            return 1;
    return 0;
}

/* the kinds of name a registration takes, as OpenSSL's configuration
 * names them */
static int kind_ok(const char *kind, size_t n)
{
    static const char *const kinds[] = {"DNS", "IP", "email", "URI", NULL};
    int i;

    for (i = 0; kinds[i] != NULL; i++)
        if (strlen(kinds[i]) == n && strncmp(kinds[i], kind, n) == 0)
            return 1;
    return 0;
}

apr_array_header_t *cmp_device_sans(apr_pool_t *p,
                                    const apr_array_header_t *given,
                                    const char **why)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    int i;

    for (i = 0; given != NULL && i < given->nelts; i++) {
        const char *s = APR_ARRAY_IDX(given, i, const char *), *c, *v;
        CONF_VALUE cv;
        GENERAL_NAME *gen;
        GENERAL_NAMES *one;
        apr_array_header_t *text;

        for (c = s; *c; c++)
            if ((unsigned char)*c < ' ' || *c == 0x7f) {
                *why = apr_psprintf(p, "subjectAltName %d has a control "
                                    "character", i + 1);
                return NULL;
            }
        v = strchr(s, ':');
        if (v == NULL || !kind_ok(s, (size_t)(v - s)) || v[1] == '\0') {
            *why = apr_psprintf(p, "subjectAltName '%s' must be DNS:, IP:, "
                                "email: or URI: and a value", s);
            return NULL;
        }
        memset(&cv, 0, sizeof(cv));
        cv.name = apr_pstrndup(p, s, (apr_size_t)(v - s));
        cv.value = apr_pstrdup(p, v + 1);
        gen = v2i_GENERAL_NAME(NULL, NULL, &cv);
        ERR_clear_error();
        if (gen == NULL) {
            *why = apr_psprintf(p, "subjectAltName '%s' is not a valid name "
                                "of its kind", s);
            return NULL;
        }
        one = GENERAL_NAMES_new();
        if (one == NULL || !sk_GENERAL_NAME_push(one, gen)) {
            GENERAL_NAME_free(gen);
            GENERAL_NAMES_free(one);
            *why = "out of memory";
            return NULL;
        }
        text = cmp_issue_names_text(p, one);
        GENERAL_NAMES_free(one);
        if (text->nelts != 1) {
            *why = apr_psprintf(p, "subjectAltName '%s' cannot be printed", s);
            return NULL;
        }
        if (!has_name(out, APR_ARRAY_IDX(text, 0, const char *)))
            APR_ARRAY_PUSH(out, const char *) = APR_ARRAY_IDX(text, 0, const char *);
    }
    if (out->nelts > CMP_DEVICE_MAX_SANS) {
        *why = apr_psprintf(p, "at most %d subjectAltNames", CMP_DEVICE_MAX_SANS);
        return NULL;
    }
    return out;
}

apr_array_header_t *cmp_device_request_sans(apr_pool_t *p,
                                            const STACK_OF(X509_EXTENSION) *exts)
{
    int crit = 0;
    GENERAL_NAMES *gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
    apr_array_header_t *out;

    /* crit: -1 absent, -2 more than one (refused by the policy anyway) */
    if (gens == NULL && crit != -1) {
        ERR_clear_error();
        return NULL;
    }
    out = cmp_issue_names_text(p, gens);
    GENERAL_NAMES_free(gens);
    return out;
}

int cmp_device_fits(apr_pool_t *p, const char *reg_subject,
                    const apr_array_header_t *reg_sans,
                    const X509_NAME *subject,
                    const STACK_OF(X509_EXTENSION) *exts, const char **why)
{
    const char *asked = cmp_issue_name_text(p, subject);
    apr_array_header_t *sans;
    int i;

    if (strcmp(asked, reg_subject) != 0) {
        *why = apr_psprintf(p, "subject '%s' asked, '%s' registered", asked,
                            reg_subject);
        return 0;
    }
    if ((sans = cmp_device_request_sans(p, exts)) == NULL) {
        *why = "the request's subjectAltName does not decode";
        return 0;
    }
    for (i = 0; i < sans->nelts; i++)
        if (!has_name(reg_sans, APR_ARRAY_IDX(sans, i, const char *))) {
            *why = apr_psprintf(p, "subjectAltName '%s' asked is not "
                                "registered", APR_ARRAY_IDX(sans, i, const char *));
            return 0;
        }
    return 1;
}

const char *cmp_device_sans_join(apr_pool_t *p, const apr_array_header_t *sans)
{
    const char *out = "";
    int i;

    for (i = 0; i < sans->nelts; i++)
        out = apr_pstrcat(p, out, i ? "\n" : "", APR_ARRAY_IDX(sans, i, const char *),
                          NULL);
    return out;
}

apr_array_header_t *cmp_device_sans_split(apr_pool_t *p, const char *text,
                                          const char *sep)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    char *copy = apr_pstrdup(p, text != NULL ? text : ""), *tok, *save = NULL;

    for (tok = apr_strtok(copy, sep, &save); tok != NULL;
         tok = apr_strtok(NULL, sep, &save))
        APR_ARRAY_PUSH(out, const char *) = tok;
    return out;
}
