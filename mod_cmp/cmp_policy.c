/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_asn1.h"
#include "cmp_key.h"
#include "cmp_policy.h"

static char *dupstr(const char *s)
{
    return strdup(s != NULL ? s : "");
}

typedef int item_fn(void *baton, const char *item);

/* fn for each item of a comma-separated list, spaces around it trimmed and
 * empty items skipped; 0 when out of memory or when fn returned 0. */
static int each_item(const char *list, item_fn *fn, void *baton)
{
    char *copy = strdup(list != NULL ? list : ""), *tok, *save = NULL;
    int ok = copy != NULL;

    for (tok = ok ? strtok_r(copy, ",", &save) : NULL; tok != NULL && ok;
         tok = strtok_r(NULL, ",", &save)) {
        char *end = tok + strlen(tok);

        while (*tok == ' ')
            tok++;
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        if (*tok != '\0')
            ok = fn(baton, tok);
    }
    free(copy);
    return ok;
}

/* OpenSSL's own name of a key type (the first name of its key management,
 * which is what EVP_PKEY_get0_type_name() gives for such keys), so that
 * aliases like "id-ecPublicKey" match; NULL when OpenSSL has no such type.
 * The caller frees it. */
static char *key_type_name(const char *name)
{
    EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(NULL, name, NULL);
    char *out = km != NULL ? strdup(EVP_KEYMGMT_get0_name(km)) : NULL;

    EVP_KEYMGMT_free(km);
    ERR_clear_error();
    return out;
}

static int ext_parses(int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

    X509_EXTENSION_free(ext);
    ERR_clear_error();
    return ext != NULL;
}

/* The NID of a curve name (NIST "P-256" or OpenSSL's "prime256v1",
 * "brainpoolP256r1", "sect571r1"...) that this OpenSSL can use, and its
 * security bits (half the order's); NID_undef when there is none. */
static int curve_nid(const char *name, int *bits)
{
    int nid = EC_curve_nist2nid(name);
    EC_GROUP *g;

    if (nid == NID_undef)
        nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(name);
    if (nid == NID_undef || (g = EC_GROUP_new_by_curve_name(nid)) == NULL) {
        ERR_clear_error();
        return NID_undef;
    }
    if (bits != NULL)
        *bits = EC_GROUP_order_bits(g) / 2;
    EC_GROUP_free(g);
    return nid;
}

/* ---- validation (the admin API) ---------------------------------------- */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *msgs;
    int n;
} report_t;

static void report(report_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(report_t *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(r->msgs, const char *) = apr_pvsprintf(r->p, fmt, ap);
    va_end(ap);
    r->n++;
}

static int check_key_type(void *baton, const char *item)
{
    char *name = key_type_name(item), missing[200];

    if (name == NULL && cmp_key_pqc_missing(item, missing, sizeof(missing)) != NULL)
        report(baton, "allowedKeyTypes: %s", missing);
    else if (name == NULL)
        report(baton, "allowedKeyTypes: '%s' is not a key type of this OpenSSL",
               item);
    free(name);
    return 1;
}

typedef struct {
    report_t *r;
    int n;
} curves_check_t;

static int check_curve(void *baton, const char *item)
{
    curves_check_t *c = baton;

    c->n++;
    if (curve_nid(item, NULL) == NID_undef)
        report(c->r, "allowedEcCurves: '%s' is not a named curve of this "
               "OpenSSL", item);
    return 1;
}

static int check_key_usage(void *baton, const char *item)
{
    if (strcmp(item, "critical") != 0 && !ext_parses(NID_key_usage, item))
        report(baton, "keyUsage '%s' is unknown", item);
    return 1;
}

static int check_eku(void *baton, const char *item)
{
    ASN1_OBJECT *o = OBJ_txt2obj(item, 0);

    if (o == NULL || !ext_parses(NID_ext_key_usage, item))
        report(baton, "extendedKeyUsage '%s' is neither a name nor an OID", item);
    ASN1_OBJECT_free(o);
    ERR_clear_error();
    return 1;
}

/* Each item alone, then the whole value as issuance makes it. */
static void check_ext(report_t *r, int nid, const char *field,
                      const char *value, item_fn *item_check)
{
    int before = r->n;

    if (value == NULL || *value == '\0')
        return;
    each_item(value, item_check, r);
    if (r->n == before && !ext_parses(nid, value))
        report(r, "%s '%s' is not an extension OpenSSL can make", field, value);
}

/* ---- the subject pattern ------------------------------------------------- */

/* glibc's regcomp() copies a bounded repetition's subexpression once per
 * count, and nested ones multiply: "((a{100}){100}){100}" takes gigabytes
 * and minutes. And what is optional in the copies ("a{1,9999}", a starred
 * atom repeated by '+') costs it time and memory that grow with the square
 * of their number: 43 stars and 8 '+' took 36 s and 1.3 GB. So a pattern
 * is measured before it is compiled: how many elements its expansion has,
 * and how many of them are optional (a '*', '?', '+' or the copies beyond
 * n of {n,m}), both saturating above their limits; and how deep
 * repetitions repeat what has repetitions in it ("a?" 1, "(a?)+" 2, "a??"
 * 2): in glibc the time grows with a high power of that depth ("0++++++++"
 * then ".?" with 16 '?' took 6 s in 2 MB); and what '+' or {n,} repeats
 * without end costs the square of the optional elements in it
 * ("((a|b?){0,100})+" took 2.4 s), summed over the pattern. Measured: 10,000
 * elements, 500 optional ones, a depth of 3 and that sum at 10,000 compile
 * in under 0.3 s. */
#define PATTERN_MAX_CHARS 1024
#define PATTERN_MAX_ELEMENTS 10000
#define PATTERN_MAX_OPTIONAL 500
#define PATTERN_MAX_DEPTH 64
#define PATTERN_MAX_REPEAT_DEPTH 3
#define PATTERN_MAX_LOOP_COST 10000

typedef struct {
    double e, o;     /* elements, and how many of them are optional */
} pattern_size_t;

typedef struct {
    pattern_size_t alts;     /* the finished alternatives of this group */
    pattern_size_t branch;   /* the current alternative */
    pattern_size_t last;     /* its last atom, for a repetition to repeat */
    int last_depth;          /* repetitions within repetitions of last */
    int depth;               /* ... of anything in the group */
} pattern_group_t;

static pattern_size_t size_of(double e, double o)
{
    pattern_size_t z;

    z.e = e > PATTERN_MAX_ELEMENTS + 1 ? PATTERN_MAX_ELEMENTS + 1 : e;
    z.o = o > PATTERN_MAX_OPTIONAL + 1 ? PATTERN_MAX_OPTIONAL + 1 : o;
    return z;
}

static pattern_size_t size_add(pattern_size_t a, pattern_size_t b)
{
    return size_of(a.e + b.e, a.o + b.o);
}

/* The end of the bracket expression that starts at s ('['), or NULL. */
static const char *bracket_end(const char *s)
{
    s++;
    if (*s == '^')
        s++;
    if (*s == ']')
        s++;
    for (; *s != '\0' && *s != ']'; s++) {
        if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
            char close = s[1];

            for (s += 2; *s != '\0' && !(*s == close && s[1] == ']'); s++)
                ;
            if (*s == '\0')
                return NULL;
            s++;
        }
    }
    return *s == ']' ? s : NULL;
}

/* The repetition "{n}", "{n,}", "{n,m}" or "{,m}" at s: how many copies regcomp
 * makes of its atom (*copies) and how many of them are optional
 * (*optional), its end in *end; 0 when it is not one. */
static int interval_at(const char *s, const char **end, double *copies,
                       double *optional, int *unbounded)
{
    char *e;
    unsigned long n, m;

    *unbounded = 0;
    if (s[1] == ',') {             /* glibc reads "{,m}" as "{0,m}" */
        n = 0;
        e = (char *)s + 1;
    } else if (s[1] < '0' || s[1] > '9')
        return 0;
    else
        n = strtoul(s + 1, &e, 10);
    m = n;
    if (*e == ',') {
        if (e[1] >= '0' && e[1] <= '9')
            m = strtoul(e + 1, &e, 10);
        else {
            m = n + 1;   /* {n,}: n copies and a starred one */
            e++;
            *unbounded = 1;
        }
    }
    if (*e != '}')
        return 0;
    *end = e;
    *copies = m > n ? (double)m : (double)n + 1;
    *optional = m > n ? (double)(m - n) : 1;
    return 1;
}

/* The last atom of g, now z, repeated once more. */
static void repeat_last(pattern_group_t *g, pattern_size_t z)
{
    g->branch = size_of(g->branch.e - g->last.e + z.e, g->branch.o - g->last.o + z.o);
    g->last = z;
    g->last_depth++;
    if (g->last_depth > g->depth)
        g->depth = g->last_depth;
}

/* The size of pattern's expansion (saturated above the limits) and its
 * repetition depth in *depth; -1 in z.e when its groups nest deeper than
 * PATTERN_MAX_DEPTH. Malformed patterns get some size; regcomp() refuses
 * them afterwards. */
static pattern_size_t pattern_size(const char *pattern, int *depth,
                                   double *loop)
{
    pattern_group_t g[PATTERN_MAX_DEPTH + 1], *top = g;
    pattern_size_t atom, one = {1, 0}, z;
    const char *s, *end;
    double copies, optional;
    int atom_depth, unbounded;

    *loop = 0;
    memset(top, 0, sizeof(*top));
    for (s = pattern; *s != '\0'; s++) {
        atom = one;
        atom_depth = 0;
        switch (*s) {
        case '(':
            if (top == g + PATTERN_MAX_DEPTH) {
                z.e = -1;
                z.o = 0;
                return z;
            }
            memset(++top, 0, sizeof(*top));
            continue;
        case ')':
            if (top == g)
                break;   /* an ordinary character */
            atom = size_add(size_add(top->alts, top->branch), one);
            atom_depth = top->depth;
            top--;
            break;
        case '|':
            top->alts = size_add(size_add(top->alts, top->branch), one);
            memset(&top->branch, 0, sizeof(top->branch));
            memset(&top->last, 0, sizeof(top->last));
            top->last_depth = 0;
            continue;
        case '*':
        case '?':   /* one node more, and an optional one */
            repeat_last(top, size_of(top->last.e + 1, top->last.o + 1));
            continue;
        case '+':   /* "a+" is "aa*": "a++" is four a's, and so on */
            *loop += top->last.o * top->last.o;
            repeat_last(top, size_of(top->last.e * 2 + 1, top->last.o * 2 + 1));
            continue;
        case '{':
            if (!interval_at(s, &end, &copies, &optional, &unbounded))
                break;
            if (unbounded)
                *loop += top->last.o * top->last.o;
            repeat_last(top, size_of(top->last.e * copies + optional,
                                     top->last.o * copies + optional));
            s = end;
            continue;
        case '[':
            end = bracket_end(s);
            if (end != NULL)
                s = end;
            break;
        case '\\':
            if (s[1] != '\0')
                s++;
            break;
        default:
            break;
        }
        top->branch = size_add(top->branch, atom);
        top->last = atom;
        top->last_depth = atom_depth;
        if (atom_depth > top->depth)
            top->depth = atom_depth;
    }
    while (top > g) {   /* unclosed: regcomp refuses it */
        atom = size_add(size_add(top->alts, top->branch), one);
        atom_depth = top->depth;
        top--;
        top->branch = size_add(top->branch, atom);
        if (atom_depth > top->depth)
            top->depth = atom_depth;
    }
    *depth = top->depth;
    return size_add(top->alts, top->branch);
}

/* Compiles a subject pattern into re; NULL, or what is wrong with it
 * (naming it "subjectPattern", as the API and the console do). */
static const char *pattern_compile(regex_t *re, const char *pattern)
{
    pattern_size_t z;
    int depth = 0;
    double loop = 0;

    if (strlen(pattern) > PATTERN_MAX_CHARS)
        return "subjectPattern is longer than 1024 characters";
    z = pattern_size(pattern, &depth, &loop);
    if (z.e < 0)
        return "subjectPattern nests groups deeper than 64";
    if (depth > PATTERN_MAX_REPEAT_DEPTH)
        return "subjectPattern is too complex: it repeats repetitions of "
               "repetitions more than 3 deep (as in \"((a?)+){2}\" or \"a?+*\")";
    if (z.e > PATTERN_MAX_ELEMENTS)
        return "subjectPattern is too complex: its repetitions expand to "
               "more than 10000 elements";
    if (z.o > PATTERN_MAX_OPTIONAL)
        return "subjectPattern is too complex: its repetitions expand to "
               "more than 500 optional elements";
    if (loop > PATTERN_MAX_LOOP_COST)
        return "subjectPattern is too complex: '+' or {n,} repeats parts with "
               "too many optional elements (100 in one, or several with fewer)";
    if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return "subjectPattern is not a valid POSIX extended regular "
               "expression";
    return NULL;
}

/* One of allowedKeyTypes is the named key type (found = 1). */
typedef struct {
    const char *name;           /* OpenSSL's own name of the type */
    int found;
} type_in_t;

static int type_is(void *baton, const char *item)
{
    type_in_t *t = baton;
    char *other = key_type_name(item);

    t->found = t->found || (other != NULL && strcasecmp(other, t->name) == 0);
    free(other);
    return 1;
}

/* The key type of central key generation: one this build generates (on an
 * OpenSSL that has central key generation), among allowedKeyTypes when both
 * are given. */
static void check_central(report_t *r, const cmp_policy_spec_t *spec)
{
    const char *type, *param, *why = NULL;
    char missing[200], *name;
    type_in_t in = {NULL, 0};

    if (cmp_key_central_missing(missing, sizeof(missing)) != NULL) {
        report(r, "centralKeyType: %s", missing);
        return;
    }
    cmp_key_spec_split(r->p, spec->central_key, &type, &param);
    if (!cmp_key_can_generate(r->p, type, param, &why)) {
        report(r, "centralKeyType: '%s': %s", spec->central_key, why);
        return;
    }
    if (spec->key_types == NULL || *spec->key_types == '\0')
        return;
    if ((in.name = name = key_type_name(type)) != NULL)
        each_item(spec->key_types, type_is, &in);
    if (!in.found)
        report(r, "centralKeyType: %s is not among allowedKeyTypes", type);
    free(name);
}

int cmp_policy_validate(apr_pool_t *p, const cmp_policy_spec_t *spec,
                        apr_array_header_t *msgs)
{
    report_t r = {p, msgs, 0};
    regex_t re;
    const char *bad;

    if (spec->validity_days != CMP_POLICY_UNSET
            && (spec->validity_days < 1 || spec->validity_days > CMP_POLICY_MAX_DAYS))
        report(&r, "validityDays must be 1..%d", CMP_POLICY_MAX_DAYS);
    if (spec->min_security_bits != CMP_POLICY_UNSET
            && (spec->min_security_bits < 0 || spec->min_security_bits > 256))
        report(&r, "minSecurityBits must be 0..256");
    if (spec->key_types != NULL)
        each_item(spec->key_types, check_key_type, &r);
    if (spec->ec_curves != NULL) {
        curves_check_t c = {&r, 0};

        each_item(spec->ec_curves, check_curve, &c);
        if (c.n == 0)
            report(&r, "allowedEcCurves must name at least one curve "
                   "(allowedKeyTypes without EC refuses EC keys)");
    }
    if (spec->subject_pattern != NULL && *spec->subject_pattern != '\0') {
        bad = pattern_compile(&re, spec->subject_pattern);
        if (bad != NULL)
            report(&r, "%s", bad);
        else
            regfree(&re);
    }
    if (spec->central_key != NULL && *spec->central_key != '\0')
        check_central(&r, spec);
    check_ext(&r, NID_key_usage, "keyUsage", spec->key_usage, check_key_usage);
    check_ext(&r, NID_ext_key_usage, "extendedKeyUsage", spec->ext_key_usage,
              check_eku);
    return r.n;
}

/* ---- the loaded policy (the CMP path) ------------------------------------ */

static int add_key_type(void *baton, const char *item)
{
    cmp_policy_t *pol = baton;
    char *name = key_type_name(item);

    /* a type this OpenSSL does not know matches no key */
    if (name == NULL && (name = strdup(item)) == NULL)
        return 0;
    pol->key_types[pol->n_key_types++] = name;
    return 1;
}

static int split_key_types(cmp_policy_t *pol, const char *list)
{
    int n = 1;
    const char *c;

    for (c = list; *c; c++)
        n += *c == ',';
    pol->key_types = calloc((size_t)n, sizeof(char *));
    return pol->key_types != NULL && each_item(list, add_key_type, pol);
}

static int add_curve(void *baton, const char *item)
{
    cmp_policy_t *pol = baton;
    int bits = 0, nid = curve_nid(item, &bits);

    /* a curve this OpenSSL does not know matches no key */
    if (nid != NID_undef) {
        pol->curves[pol->n_curves] = nid;
        pol->curve_bits[pol->n_curves++] = bits;
    }
    return 1;
}

static int split_curves(cmp_policy_t *pol, const char *list)
{
    int n = 1;
    const char *c;

    for (c = list; *c; c++)
        n += *c == ',';
    pol->curves = calloc((size_t)n, sizeof(int));
    pol->curve_bits = calloc((size_t)n, sizeof(int));
    return pol->curves != NULL && pol->curve_bits != NULL
           && each_item(list, add_curve, pol);
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

/* The keyUsage bits of an extension stack (KU_*), -1 when it has none. */
static int ku_bits_of(const STACK_OF(X509_EXTENSION) *exts, int *critical)
{
    ASN1_BIT_STRING *ku;
    int crit = 0, bits = 0, i;

    if ((ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL)) == NULL)
        return crit == -1 ? -1 : -2;        /* -2: malformed or twice */
    for (i = 0; i < 9; i++)
        if (ASN1_BIT_STRING_get_bit(ku, i))
            bits |= i < 8 ? 0x80 >> i : KU_DECIPHER_ONLY;
    ASN1_BIT_STRING_free(ku);
    if (critical != NULL)
        *critical = crit;
    return bits;
}

static void make_exts(cmp_policy_t *pol)
{
    pol->ku_bits = -1;
    if ((pol->exts = sk_X509_EXTENSION_new_null()) == NULL
            || !push_conf_ext(pol, NID_basic_constraints, "critical,CA:FALSE")
            || !push_conf_ext(pol, NID_key_usage, pol->key_usage)
            || !push_conf_ext(pol, NID_ext_key_usage, pol->ext_key_usage)) {
        sk_X509_EXTENSION_pop_free(pol->exts, X509_EXTENSION_free);
        pol->exts = NULL;
        ERR_clear_error();
        return;
    }
    pol->ku_bits = ku_bits_of(pol->exts, &pol->ku_critical);
    ERR_clear_error();
}

int cmp_policy_init(cmp_policy_t *pol, const cmp_policy_spec_t *spec,
                    const char **why)
{
    memset(pol, 0, sizeof(*pol));
    pol->validity_days = spec->validity_days;
    pol->min_security_bits = spec->min_security_bits;
    pol->allow_san = spec->allow_san;
    pol->kur_identity_change = spec->kur_identity_change;
    pol->ku_from_request = spec->ku_from_request;
    pol->key_usage = dupstr(spec->key_usage);
    pol->ext_key_usage = dupstr(spec->ext_key_usage);
    make_exts(pol);
    if (!split_key_types(pol, spec->key_types != NULL ? spec->key_types : "")
            || !split_curves(pol, spec->ec_curves != NULL ? spec->ec_curves
                                  : CMP_POLICY_DEFAULT_CURVES)) {
        *why = "out of memory";
        return 0;
    }
    if (spec->central_key != NULL && *spec->central_key != '\0') {
        const char *colon = strchr(spec->central_key, ':');

        pol->central_type = colon != NULL
                            ? strndup(spec->central_key,
                                      (size_t)(colon - spec->central_key))
                            : strdup(spec->central_key);
        pol->central_param = colon != NULL ? strdup(colon + 1) : NULL;
        if (pol->central_type == NULL || (colon != NULL && pol->central_param == NULL)) {
            *why = "out of memory";
            return 0;
        }
    }
    if (spec->subject_pattern != NULL && *spec->subject_pattern != '\0') {
        *why = pattern_compile(&pol->subject_re, spec->subject_pattern);
        if (*why != NULL)
            return 0;
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
    free(pol->curves);
    free(pol->curve_bits);
    free(pol->key_usage);
    free(pol->ext_key_usage);
    free(pol->central_type);
    free(pol->central_param);
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

cmp_reason_e cmp_policy_check_key_form(const cmp_policy_t *pol,
                                       const X509_PUBKEY *spki, char *why,
                                       size_t whylen)
{
    return cmp_key_form_ok(spki, pol->curves, pol->n_curves, why, whylen)
           ? CMP_E_NONE : CMP_E_KEY_FORM;
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

/* ---- a key update's identity --------------------------------------------- */

/* The RFC 2253 form of name into buf (cut to fit); "" when it cannot. */
static const char *name_text(const X509_NAME *name, char *buf, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *text = NULL;
    long n;

    buf[0] = '\0';
    if (b != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0
            && (n = BIO_get_mem_data(b, &text)) > 0)
        snprintf(buf, len, "%.*s", (int)n, text);
    BIO_free(b);
    return buf;
}

cmp_reason_e cmp_policy_kur_identity(const cmp_policy_t *pol, X509 *old,
                                     const X509_NAME **subject,
                                     const STACK_OF(X509_EXTENSION) *exts,
                                     STACK_OF(X509_EXTENSION) **made,
                                     char *why, size_t whylen)
{
    const X509_NAME *had = X509_get_subject_name(old);
    int at = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    int old_at = X509_get_ext_by_NID(old, NID_subject_alt_name, -1);
    X509_EXTENSION *old_san = old_at >= 0 ? X509_get_ext(old, old_at) : NULL;
    char asked[128], kept[128];

    *made = NULL;
    why[0] = '\0';
    if (*subject == NULL || X509_NAME_entry_count(*subject) == 0) {
        *subject = had;
    } else if (X509_NAME_cmp(*subject, had) != 0 && !pol->kur_identity_change) {
        snprintf(why, whylen, "subject '%s' asked, the certificate it updates "
                 "has '%s', and the RA Profile does not allow a change",
                 name_text(*subject, asked, sizeof(asked)),
                 name_text(had, kept, sizeof(kept)));
        return CMP_E_KUR_IDENTITY;
    }
    if (at >= 0) {
        const ASN1_OCTET_STRING *want =
            X509_EXTENSION_get_data(sk_X509_EXTENSION_value(exts, at));

        if (!pol->kur_identity_change
                && (old_san == NULL || ASN1_OCTET_STRING_cmp(
                        want, X509_EXTENSION_get_data(old_san)) != 0)) {
            snprintf(why, whylen, "subjectAltName other than the certificate "
                     "it updates has, and the RA Profile does not allow a "
                     "change");
            return CMP_E_KUR_IDENTITY;
        }
        return CMP_E_NONE;
    }
    if (old_san == NULL)
        return CMP_E_NONE;
    /* the template's extensions and the old certificate's names */
    *made = exts != NULL
            ? sk_X509_EXTENSION_deep_copy(exts, X509_EXTENSION_dup,
                                          X509_EXTENSION_free)
            : sk_X509_EXTENSION_new_null();
    if (*made == NULL || X509v3_add_ext(made, old_san, -1) == NULL) {
        sk_X509_EXTENSION_pop_free(*made, X509_EXTENSION_free);
        *made = NULL;
        snprintf(why, whylen, "the old subjectAltName could not be copied");
        return CMP_E_INTERNAL;
    }
    return CMP_E_NONE;
}

/* ---- what a request is granted ------------------------------------------- */

#define KU_SIGNING (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | KU_KEY_CERT_SIGN \
                    | KU_CRL_SIGN)
#define KU_ENCIPHERING (KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT)

/* The policy's keyUsage bits as a key of this type can have them. */
static int ku_for_key(int bits, EVP_PKEY *key)
{
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS"))
        return bits;
    if (EVP_PKEY_is_a(key, "EC")) {
        /* RFC 5480 3: an EC key agrees on keys, it does not encipher them */
        if (bits & KU_ENCIPHERING)
            bits = (bits & ~KU_ENCIPHERING) | KU_KEY_AGREEMENT;
        return bits;
    }
    /* EdDSA (RFC 8410), ML-DSA, SLH-DSA ...: signatures only */
    return bits & KU_SIGNING;
}

static const char *ku_text(apr_pool_t *p, int bits)
{
    static const struct { int bit; const char *name; } names[] = {
        {KU_DIGITAL_SIGNATURE, "digitalSignature"},
        {KU_NON_REPUDIATION, "nonRepudiation"},
        {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
        {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
        {KU_KEY_AGREEMENT, "keyAgreement"}, {KU_KEY_CERT_SIGN, "keyCertSign"},
        {KU_CRL_SIGN, "cRLSign"}, {KU_ENCIPHER_ONLY, "encipherOnly"},
        {KU_DECIPHER_ONLY, "decipherOnly"}};
    const char *s = "";
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (bits & names[i].bit)
            s = apr_pstrcat(p, s, *s ? "," : "", names[i].name, NULL);
    return *s ? s : "none";
}

static void add_mod(apr_pool_t *p, const char **mods, const char *what)
{
    *mods = *mods == NULL ? what : apr_pstrcat(p, *mods, "; ", what, NULL);
}

cmp_reason_e cmp_policy_grant(const cmp_policy_t *pol, EVP_PKEY *key,
                              const STACK_OF(X509_EXTENSION) *req,
                              apr_pool_t *p, cmp_grant_t *out, char *why,
                              size_t whylen)
{
    int i, asked;

    out->ku_bits = -1;
    out->mods = NULL;
    if (pol->ku_bits >= 0) {
        int kb = ku_for_key(pol->ku_bits, key);

        if (kb == 0) {
            snprintf(why, whylen, "the RA Profile's keyUsage (%s) leaves nothing "
                     "a %s key can do", ku_text(p, pol->ku_bits),
                     EVP_PKEY_get0_type_name(key));
            return CMP_E_POLICY_KEY;
        }
        if (kb != pol->ku_bits)
            out->ku_bits = kb;
    }
    for (i = 0; i < sk_X509_EXTENSION_num(req); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(req, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        char oid[80];

        switch (nid) {
        case NID_subject_alt_name:              /* cmp_policy_check's */
        case NID_subject_key_identifier:        /* made from the key */
        case NID_authority_key_identifier:
            break;
        case NID_basic_constraints: {
            BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(ext);
            int ca = bc != NULL && bc->ca, path = bc != NULL && bc->pathlen != NULL;

            BASIC_CONSTRAINTS_free(bc);
            if (bc == NULL || ca || path) {
                snprintf(why, whylen, "%s", bc == NULL ? "basicConstraints does "
                         "not decode" : ca ? "an RA Profile issues end-entity "
                         "certificates: cA cannot be asked" : "pathLenConstraint "
                         "without cA (RFC 5280 4.2.1.9)");
                ERR_clear_error();
                return CMP_E_BAD_TEMPLATE;
            }
            break;
        }
        case NID_key_usage: {
            STACK_OF(X509_EXTENSION) *one = sk_X509_EXTENSION_new_null();
            int issued = out->ku_bits >= 0 ? out->ku_bits : pol->ku_bits;

            asked = one != NULL && sk_X509_EXTENSION_push(one, ext)
                    ? ku_bits_of(one, NULL) : -2;
            sk_X509_EXTENSION_free(one);
            ERR_clear_error();
            if (asked == -2) {
                snprintf(why, whylen, "keyUsage does not decode");
                return CMP_E_BAD_TEMPLATE;
            }
            if (pol->ku_from_request && issued >= 0) {
                /* the request chooses within what the RA Profile allows, as
                 * the key can do it (an EC key: keyAgreement, RFC 5480) */
                int can = ku_for_key(asked, key);

                if ((can & issued) == 0) {
                    snprintf(why, whylen, "keyUsage %s asked: the RA Profile "
                             "allows %s for %s keys", ku_text(p, asked),
                             ku_text(p, issued), EVP_PKEY_get0_type_name(key));
                    return CMP_E_BAD_TEMPLATE;
                }
                out->ku_bits = issued = can & issued;
                if (can != asked)
                    add_mod(p, &out->mods, apr_psprintf(p, "%s keys cannot "
                            "have keyUsage %s", EVP_PKEY_get0_type_name(key),
                            ku_text(p, asked & ~can)));
            }
            if (asked != issued)
                add_mod(p, &out->mods, apr_psprintf(p, "keyUsage %s issued, %s "
                                                    "asked", ku_text(p, issued),
                                                    ku_text(p, asked)));
            break;
        }
        case NID_ext_key_usage: {
            int j = X509v3_get_ext_by_NID(pol->exts, NID_ext_key_usage, -1);
            ASN1_OCTET_STRING *mine = j >= 0
                ? X509_EXTENSION_get_data(X509v3_get_ext(pol->exts, j)) : NULL;

            if (mine == NULL || ASN1_OCTET_STRING_cmp(mine, X509_EXTENSION_get_data(ext)) != 0)
                add_mod(p, &out->mods, mine == NULL
                        ? "extendedKeyUsage asked, none issued"
                        : "extendedKeyUsage issued as the RA Profile says, not "
                          "as asked");
            break;
        }
        default:
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 0);
            if (X509_EXTENSION_get_critical(ext)) {
                snprintf(why, whylen, "critical extension %s is not issued by "
                         "this RA Profile", oid);
                return CMP_E_UNACCEPTED_EXTENSION;
            }
            add_mod(p, &out->mods, apr_psprintf(p, "extension %s not issued", oid));
        }
    }
    return CMP_E_NONE;
}

/* ---- certReqTemplate keySpec ---------------------------------------------- */

#define OID_REGCTRL_ALGID "1.3.6.1.5.5.7.5.1.11"
#define OID_REGCTRL_RSAKEYLEN "1.3.6.1.5.5.7.5.1.12"

/* AttributeTypeAndValue { oid, value } appended to the list */
static int add_control(apr_pool_t *p, apr_array_header_t *ders,
                       apr_array_header_t *lens, const char *oid,
                       const unsigned char *value, int value_len)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    unsigned char *od = NULL, *out = NULL;
    const unsigned char *parts[2];
    int pl[2], n = o != NULL ? i2d_ASN1_OBJECT(o, &od) : 0, out_len = 0, ok;

    ASN1_OBJECT_free(o);
    parts[0] = od;
    pl[0] = n;
    parts[1] = value;
    pl[1] = value_len;
    ok = n > 0 && cmp_asn1_wrap(p, V_ASN1_SEQUENCE, 0, parts, pl, 2, &out,
                                &out_len) == APR_SUCCESS;
    OPENSSL_free(od);
    if (ok) {
        APR_ARRAY_PUSH(ders, const unsigned char *) = out;
        APR_ARRAY_PUSH(lens, int) = out_len;
    }
    return ok;
}

/* id-regCtrl-algId: AlgorithmIdentifier of nid, with the curve param_nid */
static int add_alg(apr_pool_t *p, apr_array_header_t *ders,
                   apr_array_header_t *lens, int nid, int param_nid)
{
    X509_ALGOR *a = X509_ALGOR_new();
    unsigned char *d = NULL;
    int n = 0, ok;

    ok = a != NULL
         && X509_ALGOR_set0(a, OBJ_nid2obj(nid),
                            param_nid != NID_undef ? V_ASN1_OBJECT : V_ASN1_UNDEF,
                            param_nid != NID_undef ? OBJ_nid2obj(param_nid) : NULL)
         && (n = i2d_X509_ALGOR(a, &d)) > 0
         && add_control(p, ders, lens, OID_REGCTRL_ALGID, d, n);
    OPENSSL_free(d);
    X509_ALGOR_free(a);
    return ok;
}

static int add_rsa_len(apr_pool_t *p, apr_array_header_t *ders,
                       apr_array_header_t *lens, int min_bits)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    unsigned char *d = NULL;
    /* NIST SP 800-57: the modulus for a security strength */
    long bits = min_bits <= 112 ? 2048 : min_bits <= 128 ? 3072
                : min_bits <= 192 ? 7680 : 15360;
    int n = 0, ok;

    ok = i != NULL && ASN1_INTEGER_set(i, bits) && (n = i2d_ASN1_INTEGER(i, &d)) > 0
         && add_control(p, ders, lens, OID_REGCTRL_RSAKEYLEN, d, n);
    OPENSSL_free(d);
    ASN1_INTEGER_free(i);
    return ok;
}

int cmp_policy_key_spec(const cmp_policy_t *pol, apr_pool_t *p,
                        unsigned char **der, int *len)
{
    apr_array_header_t *ders = apr_array_make(p, 4, sizeof(const unsigned char *));
    apr_array_header_t *lens = apr_array_make(p, 4, sizeof(int));
    int i, c, ok = 1;

    *der = NULL;
    *len = 0;
    if (pol->n_key_types == 0)
        return 1;
    for (i = 0; ok && i < pol->n_key_types; i++) {
        const char *t = pol->key_types[i];

        if (strcasecmp(t, "EC") == 0 || strcasecmp(t, "id-ecPublicKey") == 0) {
            for (c = 0; ok && c < pol->n_curves; c++)
                if (pol->curve_bits[c] >= pol->min_security_bits)
                    ok = add_alg(p, ders, lens, NID_X9_62_id_ecPublicKey,
                                 pol->curves[c]);
        } else if (strcasecmp(t, "RSA") == 0 || strcasecmp(t, "rsaEncryption") == 0) {
            ok = add_rsa_len(p, ders, lens, pol->min_security_bits);
        } else if (strcasecmp(t, "ED25519") == 0 && pol->min_security_bits <= 128) {
            ok = add_alg(p, ders, lens, NID_ED25519, NID_undef);
        } else if (strcasecmp(t, "ED448") == 0 && pol->min_security_bits <= 224) {
            ok = add_alg(p, ders, lens, NID_ED448, NID_undef);
        }
    }
    if (!ok || ders->nelts == 0)
        return ok;
    return cmp_asn1_wrap(p, V_ASN1_SEQUENCE, 0,
                         (const unsigned char *const *)ders->elts,
                         (const int *)lens->elts, ders->nelts, der, len)
           == APR_SUCCESS;
}
