/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <openssl/cmp.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <apr_strings.h>

#include "cmp_device.h"
#include "cmp_err.h"
#include "cmp_issue.h"
#include "cmp_key.h"
#include "cmp_policy.h"
#include "unit.h"

static STACK_OF(X509_EXTENSION) *san_exts(void)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                            "DNS:dev.example");

    ck_assert_ptr_nonnull(e);
    sk_X509_EXTENSION_push(exts, e);
    return exts;
}

START_TEST(key_types_and_strength)
{
    cmp_policy_t pol;
    const char *why = NULL;
    char buf[200];
    EVP_PKEY *ec = unit_key("EC"), *rsa = unit_key("RSA"), *ed = unit_key("ED25519");
    X509_NAME *n = unit_name("dev-1");

    ck_assert(unit_policy(&pol, 30, "EC, ED25519", 112, NULL, 1,
                              "digitalSignature", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, n, ec, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, n, ed, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, n, rsa, NULL, buf, sizeof(buf)), CMP_E_POLICY_KEY);
    ck_assert_ptr_nonnull(strstr(buf, "RSA"));
    cmp_policy_clear(&pol);

    /* any type, but at least 128 bits of strength: RSA-2048 (112) fails */
    ck_assert(unit_policy(&pol, 30, "", 128, NULL, 1, "", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, n, ec, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, n, rsa, NULL, buf, sizeof(buf)), CMP_E_POLICY_KEY);
    ck_assert_int_eq(cmp_policy_check(&pol, n, NULL, NULL, buf, sizeof(buf)), CMP_E_BAD_TEMPLATE);
    cmp_policy_clear(&pol);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
    X509_NAME_free(n);
}
END_TEST

START_TEST(subject_and_san)
{
    cmp_policy_t pol;
    const char *why = NULL;
    char buf[200];
    EVP_PKEY *ec = unit_key("EC");
    X509_NAME *good = unit_name("dev-42"), *bad = unit_name("printer"),
              *empty = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = san_exts();

    ck_assert(!unit_policy(&pol, 30, "", 0, "([", 1, "", "", &why));
    cmp_policy_clear(&pol);
    ck_assert(unit_policy(&pol, 30, "", 0, "^CN=dev-[0-9]+$", 0, "", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, good, ec, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, bad, ec, NULL, buf, sizeof(buf)), CMP_E_POLICY_SUBJECT);
    ck_assert_int_eq(cmp_policy_check(&pol, empty, ec, NULL, buf, sizeof(buf)), CMP_E_POLICY_SUBJECT);
    ck_assert_int_eq(cmp_policy_check(&pol, good, ec, exts, buf, sizeof(buf)), CMP_E_POLICY_SAN);
    cmp_policy_clear(&pol);

    /* SAN allowed: an empty subject is fine when a SAN names the entity */
    ck_assert(unit_policy(&pol, 30, "", 0, NULL, 1, "", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, empty, ec, exts, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, empty, ec, NULL, buf, sizeof(buf)), CMP_E_POLICY_SUBJECT);
    cmp_policy_clear(&pol);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(good);
    X509_NAME_free(bad);
    X509_NAME_free(empty);
    EVP_PKEY_free(ec);
}
END_TEST

/* A certificate to update: subject CN=cn, subjectAltName san (NULL: none). */
static X509 *old_cert(const char *cn, const char *san)
{
    X509 *x = X509_new();
    X509_NAME *n = unit_name(cn);

    ck_assert(X509_set_subject_name(x, n));
    if (san != NULL) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL,
                                                NID_subject_alt_name, san);

        ck_assert(e != NULL && X509_add_ext(x, e, -1));
        X509_EXTENSION_free(e);
    }
    X509_NAME_free(n);
    return x;
}

static const ASN1_OCTET_STRING *san_of(const STACK_OF(X509_EXTENSION) *exts)
{
    int at = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

    ck_assert_int_ge(at, 0);
    return X509_EXTENSION_get_data(sk_X509_EXTENSION_value(exts, at));
}

/* RFC 9483 4.1.3: a kur keeps the identity of the certificate it updates:
 * subject and subjectAltName left out are the old ones; others are refused
 * unless the RA Profile allows the change. */
START_TEST(kur_keeps_identity)
{
    cmp_policy_t pol;
    const char *why = NULL;
    char buf[300];
    X509 *old = old_cert("dev-7", "DNS:dev.example"), *bare = old_cert("dev-8", NULL);
    X509_NAME *empty = X509_NAME_new(), *same = unit_name("dev-7"),
              *other = unit_name("dev-9");
    STACK_OF(X509_EXTENSION) *exts = san_exts(), *none = sk_X509_EXTENSION_new_null(),
                             *made = NULL;
    STACK_OF(X509_EXTENSION) *other_san = sk_X509_EXTENSION_new_null();
    const X509_NAME *subj;
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                            "DNS:elsewhere.example");

    sk_X509_EXTENSION_push(other_san, e);
    ck_assert(unit_policy(&pol, 30, "", 0, NULL, 1, "", "", &why));

    /* nothing asked: both kept; the template's other extensions stay */
    subj = NULL;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, old, &subj, NULL, &made,
                                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(X509_NAME_cmp(subj, X509_get_subject_name(old)), 0);
    ck_assert_ptr_nonnull(made);
    ck_assert_int_eq(ASN1_OCTET_STRING_cmp(san_of(made), san_of(X509_get0_extensions(old))), 0);
    sk_X509_EXTENSION_pop_free(made, X509_EXTENSION_free);
    subj = empty;
    sk_X509_EXTENSION_push(none, X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
                                                     "CA:FALSE"));
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, old, &subj, none, &made,
                                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_ptr_eq(subj, X509_get_subject_name(old));
    ck_assert_int_eq(sk_X509_EXTENSION_num(made), 2);
    ck_assert_int_ge(X509v3_get_ext_by_NID(made, NID_basic_constraints, -1), 0);
    sk_X509_EXTENSION_pop_free(made, X509_EXTENSION_free);

    /* the same asked: fine, nothing to add */
    subj = same;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, old, &subj, exts, &made,
                                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_ptr_eq(subj, same);
    ck_assert_ptr_null(made);
    /* an old certificate without names: none added */
    subj = NULL;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, bare, &subj, NULL, &made,
                                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_ptr_null(made);

    /* another subject, other names, names the old one lacks: refused */
    subj = other;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, old, &subj, NULL, &made,
                                             buf, sizeof(buf)), CMP_E_KUR_IDENTITY);
    ck_assert_ptr_nonnull(strstr(buf, "subject 'CN=dev-9' asked, the certificate it updates has 'CN=dev-7'"));
    ck_assert_ptr_null(made);
    subj = same;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, old, &subj, other_san, &made,
                                             buf, sizeof(buf)), CMP_E_KUR_IDENTITY);
    ck_assert_ptr_nonnull(strstr(buf, "subjectAltName"));
    subj = NULL;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, bare, &subj, exts, &made,
                                             buf, sizeof(buf)), CMP_E_KUR_IDENTITY);
    ck_assert_int_eq(cmp_err_failinfo_bit(CMP_E_KUR_IDENTITY),
                     OSSL_CMP_PKIFAILUREINFO_badCertTemplate);
    cmp_policy_clear(&pol);

    /* ... unless the RA Profile allows the change */
    ck_assert(unit_policy(&pol, 30, "", 0, NULL, 1, "", "", &why));
    pol.kur_identity_change = 1;
    subj = other;
    ck_assert_int_eq(cmp_policy_kur_identity(&pol, old, &subj, other_san, &made,
                                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_ptr_eq(subj, other);
    ck_assert_ptr_null(made);
    cmp_policy_clear(&pol);

    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    sk_X509_EXTENSION_pop_free(none, X509_EXTENSION_free);
    sk_X509_EXTENSION_pop_free(other_san, X509_EXTENSION_free);
    X509_NAME_free(empty);
    X509_NAME_free(same);
    X509_NAME_free(other);
    X509_free(old);
    X509_free(bare);
}
END_TEST

static apr_array_header_t *problems(const cmp_policy_spec_t *spec)
{
    apr_array_header_t *msgs = apr_array_make(upool, 4, sizeof(const char *));

    ck_assert_int_eq(cmp_policy_validate(upool, spec, msgs), msgs->nelts);
    return msgs;
}

static const char *msg(apr_array_header_t *msgs, int i)
{
    ck_assert_int_lt(i, msgs->nelts);
    return APR_ARRAY_IDX(msgs, i, const char *);
}

/* The rules the admin API applies before storing are the ones the CMP path
 * loads with: what one refuses, the other never sees. */
START_TEST(validation_is_the_loaders)
{
    cmp_policy_spec_t ok = {365, 112, "EC, id-ecPublicKey,RSA", "^CN=", 1,
                            "critical,digitalSignature,keyAgreement",
                            "serverAuth,1.3.6.1.5.5.7.3.2", NULL, 0, 0, NULL};
    cmp_policy_spec_t none = {CMP_POLICY_UNSET, CMP_POLICY_UNSET, NULL, NULL, 0,
                              NULL, NULL, NULL, 0, 0, NULL};
    cmp_policy_spec_t bad = {0, 257, "EC,NOPE", "([", 1, "critical,flying",
                             "serverAuth,notAnEku", NULL, 0, 0, NULL};
    cmp_policy_spec_t eku = ok;
    apr_array_header_t *m;
    cmp_policy_t pol;
    const char *why = NULL;

    ck_assert_int_eq(problems(&ok)->nelts, 0);
    ck_assert_int_eq(problems(&none)->nelts, 0);
    m = problems(&bad);
    ck_assert_int_eq(m->nelts, 6);
    ck_assert_str_eq(msg(m, 0), "validityDays must be 1..36500");
    ck_assert_str_eq(msg(m, 1), "minSecurityBits must be 0..256");
    ck_assert_str_eq(msg(m, 2), "allowedKeyTypes: 'NOPE' is not a key type of this OpenSSL");
    ck_assert_str_eq(msg(m, 3), "subjectPattern is not a valid POSIX extended regular expression");
    ck_assert_str_eq(msg(m, 4), "keyUsage 'flying' is unknown");
    ck_assert_str_eq(msg(m, 5), "extendedKeyUsage 'notAnEku' is neither a name nor an OID");
    /* OpenSSL's OID parser takes "2. ", its extension parser does not: an
     * earlier API stored it and every issuance failed */
    eku.ext_key_usage = "2. ";
    m = problems(&eku);
    ck_assert_int_eq(m->nelts, 1);
    ck_assert_ptr_nonnull(strstr(msg(m, 0), "extendedKeyUsage '2."));
    ck_assert(cmp_policy_init(&pol, &eku, &why));
    ck_assert_ptr_null(pol.exts);
    ck_assert_ptr_nonnull(strstr(pol.bad_ext, "extendedKeyUsage"));
    cmp_policy_clear(&pol);
    /* what passes builds every extension */
    ck_assert(cmp_policy_init(&pol, &ok, &why));
    ck_assert_ptr_nonnull(pol.exts);
    ck_assert_int_eq(sk_X509_EXTENSION_num(pol.exts), 3);
    cmp_policy_clear(&pol);
}
END_TEST

/* A subject pattern whose repetitions would make regcomp() take gigabytes
 * is refused before it is compiled, by the API and by the loader alike
 * (fuzz_admin found "((a{100}){100}){100}"-like patterns exhausting 2 GB);
 * real patterns, bounded repetitions in them included, pass. */
static const char *pattern_problem(const char *pattern)
{
    cmp_policy_spec_t spec = {CMP_POLICY_UNSET, CMP_POLICY_UNSET, NULL,
                              NULL, 0, NULL, NULL, NULL, 0, 0, NULL};
    apr_array_header_t *m;
    cmp_policy_t pol;
    const char *why = NULL, *first;

    spec.subject_pattern = pattern;
    m = problems(&spec);
    first = m->nelts > 0 ? msg(m, 0) : NULL;
    spec.key_types = "";
    spec.key_usage = "digitalSignature";
    spec.ext_key_usage = "";
    if (cmp_policy_init(&pol, &spec, &why)) {
        ck_assert_ptr_null(first);
        cmp_policy_clear(&pol);
    } else {
        ck_assert_ptr_nonnull(first);
        ck_assert_str_eq(why, first);
        cmp_policy_clear(&pol);
    }
    return first;
}

START_TEST(subject_pattern_bounds)
{
    char deep[200], longp[1100];
    const char *too = "subjectPattern is too complex: its repetitions expand "
                      "to more than 10000 elements";
    const char *opt = "subjectPattern is too complex: its repetitions expand "
                      "to more than 500 optional elements";
    const char *too_deep = "subjectPattern is too complex: it repeats repetitions "
                       "of repetitions more than 3 deep (as in \"((a?)+){2}\" "
                       "or \"a?+*\")";
    const char *loop = "subjectPattern is too complex: '+' or {n,} repeats "
                       "parts with too many optional elements (100 in one, or "
                       "several with fewer)";

    ck_assert_ptr_null(pattern_problem(
        "^CN=[a-z0-9-]{1,63}(\\.[a-z0-9-]{1,63})*,O=Example( GmbH)?$"));
    ck_assert_ptr_null(pattern_problem("^serialNumber=[0-9]{1,64}(,|$)"));
    ck_assert_ptr_null(pattern_problem("x{9990}"));
    ck_assert_ptr_null(pattern_problem("x{0,400}"));
    ck_assert_ptr_null(pattern_problem("^CN=[a-z0-9-]{1,63}(\\.[a-z0-9-]{1,63}){0,4}$"));
    ck_assert_ptr_null(pattern_problem("[]{]{2}[[:alpha:]]{100}"));
    ck_assert_str_eq(pattern_problem("((a{100}){100}){100}"), too);
    ck_assert_str_eq(pattern_problem("(a|b{1000}){1000}"), too);
    ck_assert_str_eq(pattern_problem("x{32767}"), too);
    /* what is optional costs glibc the square of its number: a{1,9999}
     * took 790 MB, 43 stars then 8 '+' 36 s and 1.3 GB (fuzz_admin) */
    ck_assert_str_eq(pattern_problem("x{1,9999}"), too);
    ck_assert_str_eq(pattern_problem("x{1,4000}"), opt);
    ck_assert_ptr_nonnull(strstr(pattern_problem("1..2++*******************************************"
                                                 "++++++++)+++++*************************"),
                                 "is too complex"));
    ck_assert_str_eq(pattern_problem("2*******************************************+++++"), too_deep);
    ck_assert_str_eq(pattern_problem("0++++++++.????????????????+++1+0"), too_deep);
    ck_assert_str_eq(pattern_problem("(((x?){0,10}){0,10}){0,4}"), too_deep);
    ck_assert_ptr_null(pattern_problem("(((.?){0,7}){0,7})"));
    /* '+' (or {n,}) over many optional elements: ((a|b?){0,100})+ took 2.4 s */
    ck_assert_str_eq(pattern_problem("((a|b?){0,100})+"), loop);
    ck_assert_str_eq(pattern_problem("((.?){0,70}){2,}"), loop);
    /* "{,m}" is "{0,m}" to glibc: 35 s and 900 MB (fuzz_admin) */
    ck_assert_ptr_nonnull(strstr(pattern_problem("~+,{,0399}{180,}{2}"), "is too complex"));
    ck_assert_ptr_null(pattern_problem("((.?){0,50})+"));
    ck_assert_ptr_null(pattern_problem("^CN=[a-z0-9-]{1,63}(\\.[a-z0-9-]{1,63})+$"));
    /* each '+' doubles what it repeats (found by fuzz_admin) */
    ck_assert_ptr_null(pattern_problem("1..2+++"));
    ck_assert_str_eq(pattern_problem("1..2++++++++++++++++++++++++++++++"), too_deep);
    ck_assert_str_eq(pattern_problem("x{1,}{1,}{1,}{200,}{200,}"), too_deep);
    ck_assert_str_eq(pattern_problem("((((x{20})+)+)+){20}{20}"), too_deep);
    ck_assert_str_eq(pattern_problem("(x{99}|(y{99}){99}"), too);
    memset(deep, '(', 65);
    deep[65] = 'x';
    memset(deep + 66, ')', 65);
    deep[131] = '\0';
    ck_assert_str_eq(pattern_problem(deep),
                     "subjectPattern nests groups deeper than 64");
    memset(longp, 'a', 1025);
    longp[1025] = '\0';
    ck_assert_str_eq(pattern_problem(longp),
                     "subjectPattern is longer than 1024 characters");
    ck_assert_str_eq(pattern_problem("a{2,1}"),
                     "subjectPattern is not a valid POSIX extended regular "
                     "expression");
}
END_TEST

/* A key type named by an alias matches the keys of that type. */
START_TEST(key_type_aliases)
{
    cmp_policy_t pol;
    const char *why = NULL;
    char buf[200];
    EVP_PKEY *ec = unit_key("EC"), *rsa = unit_key("RSA");
    X509_NAME *n = unit_name("dev-1");

    ck_assert(unit_policy(&pol, 30, "id-ecPublicKey", 0, NULL, 1, "", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, n, ec, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, n, rsa, NULL, buf, sizeof(buf)), CMP_E_POLICY_KEY);
    cmp_policy_clear(&pol);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    X509_NAME_free(n);
}
END_TEST

/* One extension from its OpenSSL config text. */
static STACK_OF(X509_EXTENSION) *asked(int nid, const char *value)
{
    STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

    ck_assert_ptr_nonnull(e);
    ck_assert(sk_X509_EXTENSION_push(sk, e));
    return sk;
}

/* What a request is granted: keyUsage by key type, and what it asked. */
START_TEST(grant_by_key_type_and_request)
{
    cmp_policy_t pol;
    const char *why = NULL;
    EVP_PKEY *ec = unit_key("EC"), *ed = unit_key("ED25519"), *rsa = unit_key("RSA");
    STACK_OF(X509_EXTENSION) *x;
    cmp_grant_t g;
    char w[300];

    ck_assert(unit_policy(&pol, 30, "", 0, NULL, 1, "critical,digitalSignature,keyEncipherment",
                          "clientAuth", &why));
    /* RSA as the profile says; EC agrees on keys (RFC 5480); EdDSA signs */
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, NULL, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, -1);
    ck_assert_ptr_null(g.mods);
    ck_assert_int_eq(cmp_policy_grant(&pol, ec, NULL, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
    ck_assert_int_eq(cmp_policy_grant(&pol, ed, NULL, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_DIGITAL_SIGNATURE);
    /* what is asked otherwise is said */
    x = asked(NID_key_usage, "digitalSignature,keyAgreement");
    ck_assert_int_eq(cmp_policy_grant(&pol, ec, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_ptr_null(g.mods);                 /* as the EC key gets it */
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_str_eq(g.mods, "keyUsage digitalSignature,keyEncipherment issued, "
                             "digitalSignature,keyAgreement asked");
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    x = asked(NID_ext_key_usage, "serverAuth");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_ptr_nonnull(strstr(g.mods, "extendedKeyUsage"));
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    /* refused: a CA, a pathLen, an unknown critical extension */
    x = asked(NID_basic_constraints, "critical,CA:TRUE");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_BAD_TEMPLATE);
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    x = asked(NID_basic_constraints, "CA:FALSE,pathlen:3");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_BAD_TEMPLATE);
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    x = asked(NID_basic_constraints, "CA:FALSE");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_ptr_null(g.mods);
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    x = asked(NID_policy_constraints, "critical,requireExplicitPolicy:1");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)),
                     CMP_E_UNACCEPTED_EXTENSION);
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    cmp_policy_clear(&pol);
    /* a keyUsage that leaves nothing the key can do */
    ck_assert(unit_policy(&pol, 30, "", 0, NULL, 1, "keyEncipherment", "", &why));
    ck_assert_int_eq(cmp_policy_grant(&pol, ed, NULL, upool, &g, w, sizeof(w)), CMP_E_POLICY_KEY);
    cmp_policy_clear(&pol);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
}
END_TEST

/* An RA Profile that lets the request choose its keyUsage: what is asked, as
 * the key can have it, within the RA Profile's keyUsage. */
START_TEST(grant_key_usage_from_request)
{
    cmp_policy_t pol;
    cmp_policy_spec_t spec = {30, 0, "", NULL, 1,
                              "critical,digitalSignature,keyEncipherment", "",
                              NULL, 0, 1, NULL};
    const char *why = NULL;
    EVP_PKEY *ec = unit_key("EC"), *ed = unit_key("ED25519"), *rsa = unit_key("RSA");
    STACK_OF(X509_EXTENSION) *x;
    cmp_grant_t g;
    char w[300];

    ck_assert(cmp_policy_init(&pol, &spec, &why));
    /* nothing asked: the RA Profile's, as the key can have it */
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, NULL, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, -1);
    ck_assert_int_eq(cmp_policy_grant(&pol, ec, NULL, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
    /* a part of it: issued as asked, nothing to say */
    x = asked(NID_key_usage, "digitalSignature");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_DIGITAL_SIGNATURE);
    ck_assert_ptr_null(g.mods);
    ck_assert_int_eq(cmp_policy_grant(&pol, ec, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_DIGITAL_SIGNATURE);
    ck_assert_ptr_null(g.mods);
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    /* an EC key asking keyEncipherment gets keyAgreement (RFC 5480) */
    x = asked(NID_key_usage, "keyEncipherment");
    ck_assert_int_eq(cmp_policy_grant(&pol, ec, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_KEY_AGREEMENT);
    ck_assert_str_eq(g.mods, "EC keys cannot have keyUsage keyEncipherment; "
                             "keyUsage keyAgreement issued, keyEncipherment asked");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_KEY_ENCIPHERMENT);
    ck_assert_ptr_null(g.mods);
    /* a signature-only key asking for it has nothing left: refused */
    ck_assert_int_eq(cmp_policy_grant(&pol, ed, x, upool, &g, w, sizeof(w)), CMP_E_BAD_TEMPLATE);
    ck_assert_str_eq(w, "keyUsage keyEncipherment asked: the RA Profile allows "
                        "digitalSignature for ED25519 keys");
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    /* more than the RA Profile allows: the rest is issued and said */
    x = asked(NID_key_usage, "digitalSignature,nonRepudiation");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_NONE);
    ck_assert_int_eq(g.ku_bits, KU_DIGITAL_SIGNATURE);
    ck_assert_str_eq(g.mods, "keyUsage digitalSignature issued, "
                             "digitalSignature,nonRepudiation asked");
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    /* nothing of it allowed: refused, nothing issued */
    x = asked(NID_key_usage, "keyCertSign");
    ck_assert_int_eq(cmp_policy_grant(&pol, rsa, x, upool, &g, w, sizeof(w)), CMP_E_BAD_TEMPLATE);
    ck_assert_str_eq(w, "keyUsage keyCertSign asked: the RA Profile allows "
                        "digitalSignature,keyEncipherment for RSA keys");
    sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    cmp_policy_clear(&pol);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
}
END_TEST

/* occurrences of needle in hay */
static int count_of(const unsigned char *hay, int n, const unsigned char *needle, int m)
{
    int i, c = 0;

    for (i = 0; i + m <= n; i++)
        c += memcmp(hay + i, needle, (size_t)m) == 0;
    return c;
}

/* certReqTemplate keySpec: by key type and minimum strength */
START_TEST(key_spec_of_the_policy)
{
    static const unsigned char algid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x05, 0x01, 0x0b};
    static const unsigned char rsalen7680[] = {0x02, 0x02, 0x1e, 0x00};
    static const unsigned char p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    cmp_policy_t pol;
    const char *why = NULL;
    unsigned char *der = NULL;
    int len = 0;

    ck_assert(unit_policy(&pol, 30, "", 0, NULL, 1, "", "", &why));
    ck_assert(cmp_policy_key_spec(&pol, upool, &der, &len));
    ck_assert_ptr_null(der);                    /* any key type: no keySpec */
    cmp_policy_clear(&pol);
    ck_assert(unit_policy(&pol, 30, "EC, RSA, ED25519", 192, NULL, 1, "", "", &why));
    ck_assert(cmp_policy_key_spec(&pol, upool, &der, &len));
    ck_assert_ptr_nonnull(der);
    /* P-384, P-521 and the Brainpool curves of 384 and 512 bits (not
     * P-256), RSA 7680, no Ed25519 (128 bits) */
    ck_assert_int_eq(count_of(der, len, algid, sizeof(algid)), 4);
    ck_assert_int_eq(count_of(der, len, p256, sizeof(p256)), 0);
    ck_assert_int_eq(count_of(der, len, rsalen7680, sizeof(rsalen7680)), 1);
    cmp_policy_clear(&pol);
}
END_TEST

static cmp_reason_e form_of(const cmp_policy_t *pol, EVP_PKEY *k, char *why,
                            size_t whylen)
{
    X509_PUBKEY *pk = unit_spki(k);
    cmp_reason_e r = cmp_policy_check_key_form(pol, pk, why, whylen);

    X509_PUBKEY_free(pk);
    EVP_PKEY_free(k);
    return r;
}

static EVP_PKEY *ec_explicit(void)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[3];
    EVP_PKEY *k = NULL;

    params[0] = OSSL_PARAM_construct_utf8_string("group", "P-256", 0);
    params[1] = OSSL_PARAM_construct_utf8_string("encoding", "explicit", 0);
    params[2] = OSSL_PARAM_construct_end();
    ck_assert(EVP_PKEY_keygen_init(c) > 0);
    ck_assert(EVP_PKEY_CTX_set_params(c, params) > 0);
    ck_assert(EVP_PKEY_keygen(c, &k) > 0);
    EVP_PKEY_CTX_free(c);
    return k;
}

static EVP_PKEY *rsa_e(unsigned int e)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *bn = BN_new();
    EVP_PKEY *k = NULL;

    ck_assert(BN_set_word(bn, e));
    ck_assert(EVP_PKEY_keygen_init(c) > 0);
    ck_assert(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) > 0);
    ck_assert(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, bn) > 0);
    ck_assert(EVP_PKEY_keygen(c, &k) > 0);
    EVP_PKEY_CTX_free(c);
    BN_free(bn);
    return k;
}

/* Keys in the one form their algorithm allows (issue 13, point 1): named
 * curves of the RA Profile only, RSA bounds, RFC 8410 forms. */
/* An ML-DSA-65 SubjectPublicKeyInfo of len key bytes (not a real key: the
 * form checks never decode it), with NULL parameters when asked. */
static X509_PUBKEY *mldsa65_spki(int len, int with_null)
{
    X509_PUBKEY *pk = X509_PUBKEY_new();
    unsigned char *bytes = OPENSSL_zalloc((size_t)len);

    ck_assert(pk != NULL && bytes != NULL);
    ck_assert(X509_PUBKEY_set0_param(pk, OBJ_txt2obj("2.16.840.1.101.3.4.3.18", 1),
                                     with_null ? V_ASN1_NULL : V_ASN1_UNDEF, NULL,
                                     bytes, len));
    return pk;
}

/* centralKeyType (RFC 9483 4.1.6): refused with the OpenSSL version it
 * needs where this one lacks central key generation; else a key this
 * OpenSSL makes, among allowedKeyTypes when both are given; loaded into the
 * policy as type and parameter. */
START_TEST(central_key_type)
{
    cmp_policy_spec_t spec = {30, 0, "", NULL, 1, "", "", NULL, 0, 0, "EC:P-384"};
    cmp_policy_spec_t none = {CMP_POLICY_UNSET, CMP_POLICY_UNSET, NULL, NULL, 0,
                              NULL, NULL, NULL, 0, 0, NULL};
    cmp_policy_t pol;
    const char *why = NULL;
    char buf[200];
    apr_array_header_t *m;

    ck_assert(cmp_policy_init(&pol, &spec, &why));
    ck_assert_str_eq(pol.central_type, "EC");
    ck_assert_str_eq(pol.central_param, "P-384");
    cmp_policy_clear(&pol);
    none.central_key = "EC:P-256";
    m = problems(&none);
    if (cmp_key_central_missing(buf, sizeof(buf)) != NULL) {
        ck_assert_int_eq(OPENSSL_VERSION_NUMBER < 0x30500000L, 1);
        ck_assert_int_eq(m->nelts, 1);
        ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(m, 0, const char *),
                                     "centralKeyType: central key generation (RFC "
                                     "9483 4.1.6) needs OpenSSL 3.5 or later; this "
                                     "server runs OpenSSL 3."));
        return;
    }
    ck_assert_int_eq(m->nelts, 0);
    none.central_key = "ML-DSA-65";
    ck_assert_int_eq(problems(&none)->nelts, 0);
    none.central_key = "RSA:4096";
    ck_assert_int_eq(problems(&none)->nelts, 0);
    none.central_key = "EC:P-999";
    m = problems(&none);
    ck_assert_int_eq(m->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(m, 0, const char *),
                     "centralKeyType: 'EC:P-999': unknown curve for this key type");
    none.central_key = "RSA:512";
    m = problems(&none);
    ck_assert_str_eq(APR_ARRAY_IDX(m, 0, const char *),
                     "centralKeyType: 'RSA:512': the key size must be a number of "
                     "bits, 2048..16384");
    none.central_key = "NOPE";
    m = problems(&none);
    ck_assert_str_eq(APR_ARRAY_IDX(m, 0, const char *),
                     "centralKeyType: 'NOPE': key type not supported by this OpenSSL");
    none.central_key = "ED25519:x";
    m = problems(&none);
    ck_assert_str_eq(APR_ARRAY_IDX(m, 0, const char *),
                     "centralKeyType: 'ED25519:x': unknown curve for this key type");
    none.central_key = "EC";
    none.key_types = "RSA,ML-DSA-65";
    m = problems(&none);
    ck_assert_int_eq(m->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(m, 0, const char *),
                     "centralKeyType: EC is not among allowedKeyTypes");
    none.key_types = "rsa,id-ecPublicKey";
    ck_assert_int_eq(problems(&none)->nelts, 0);
}
END_TEST

/* Post-quantum keys (FIPS 203-205): refused with the OpenSSL version they
 * need where this one lacks them, else checked for their length and absent
 * parameters; the API's key types named the same way. */
START_TEST(pqc_key_forms)
{
    cmp_policy_spec_t spec = {30, 0, "", NULL, 1, "", "", NULL, 0, 0, NULL};
    cmp_policy_t pol;
    const char *why = NULL;
    char buf[200];
    X509_PUBKEY *pk;

    ck_assert(cmp_policy_init(&pol, &spec, &why));
    ck_assert_int_eq(cmp_key_pqc_available(), OPENSSL_VERSION_NUMBER >= 0x30500000L);
    ck_assert_ptr_null(cmp_key_pqc_missing("EC", buf, sizeof(buf)));
    pk = mldsa65_spki(1952, 0);
    if (!cmp_key_pqc_available()) {
        ck_assert_int_eq(cmp_policy_check_key_form(&pol, pk, buf, sizeof(buf)), CMP_E_KEY_FORM);
        ck_assert_ptr_nonnull(strstr(buf, "ML-DSA-65 keys need OpenSSL 3.5 or later; this server runs OpenSSL 3."));
        ck_assert_ptr_nonnull(cmp_key_pqc_missing("ml-dsa-65", buf, sizeof(buf)));
        ck_assert_ptr_nonnull(cmp_key_pqc_missing("2.16.840.1.101.3.4.4.2", buf, sizeof(buf)));
        ck_assert_ptr_nonnull(strstr(buf, "ML-KEM-768 keys need OpenSSL 3.5"));
        ck_assert_ptr_nonnull(cmp_key_pqc_missing("SLH-DSA-SHAKE-256f", buf, sizeof(buf)));
    } else {
        ck_assert_int_eq(cmp_policy_check_key_form(&pol, pk, buf, sizeof(buf)), CMP_E_NONE);
        ck_assert_ptr_null(cmp_key_pqc_missing("ML-DSA-65", buf, sizeof(buf)));
        X509_PUBKEY_free(pk);
        pk = mldsa65_spki(1951, 0);
        ck_assert_int_eq(cmp_policy_check_key_form(&pol, pk, buf, sizeof(buf)), CMP_E_KEY_FORM);
        ck_assert_str_eq(buf, "the ML-DSA-65 key has the wrong length");
        X509_PUBKEY_free(pk);
        pk = mldsa65_spki(1952, 1);
        ck_assert_int_eq(cmp_policy_check_key_form(&pol, pk, buf, sizeof(buf)), CMP_E_KEY_FORM);
        ck_assert_ptr_nonnull(strstr(buf, "the ML-DSA-65 key has parameters"));
    }
    X509_PUBKEY_free(pk);
    cmp_policy_clear(&pol);
}
END_TEST

START_TEST(key_forms)
{
    cmp_policy_spec_t spec = {30, 0, "", NULL, 1, "", "", NULL, 0, 0, NULL}, binary;
    cmp_policy_t pol, bin;
    const char *why = NULL;
    char buf[200];
    X509_PUBKEY *pk;
    EVP_PKEY *rsa;
    unsigned char *der = NULL;
    const unsigned char *bits = NULL;
    int len = 0;
    apr_array_header_t *m;

    ck_assert(cmp_policy_init(&pol, &spec, &why));
    ck_assert_int_eq(form_of(&pol, unit_key("EC"), buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(form_of(&pol, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "brainpoolP384r1"),
                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(form_of(&pol, unit_key("ED25519"), buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(form_of(&pol, unit_key("RSA"), buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(form_of(&pol, ec_explicit(), buf, sizeof(buf)), CMP_E_KEY_FORM);
    ck_assert_ptr_nonnull(strstr(buf, "named curves"));
    ck_assert_int_eq(form_of(&pol, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"),
                             buf, sizeof(buf)), CMP_E_KEY_FORM);
    ck_assert_str_eq(buf, "EC curve secp256k1 is not allowed by the RA Profile "
                     "(allowedEcCurves)");
    ck_assert_int_eq(form_of(&pol, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "sect571r1"),
                             buf, sizeof(buf)), CMP_E_KEY_FORM);
    ck_assert_int_eq(form_of(&pol, rsa_e(3), buf, sizeof(buf)), CMP_E_KEY_FORM);
    ck_assert_str_eq(buf, "the RSA public exponent 3 must be odd and between "
                     "2^16 and 2^256 (FIPS 186-5)");
    /* rsaEncryption without its NULL parameters */
    rsa = unit_key("RSA");
    pk = unit_spki(rsa);
    ck_assert(X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, pk));
    der = OPENSSL_memdup(bits, (size_t)len);
    ck_assert(X509_PUBKEY_set0_param(pk, OBJ_nid2obj(NID_rsaEncryption),
                                     V_ASN1_UNDEF, NULL, der, len));
    ck_assert_int_eq(cmp_policy_check_key_form(&pol, pk, buf, sizeof(buf)),
                     CMP_E_KEY_FORM);
    ck_assert_ptr_nonnull(strstr(buf, "parameters must be NULL"));
    X509_PUBKEY_free(pk);
    EVP_PKEY_free(rsa);
    cmp_policy_clear(&pol);

    /* a binary curve when the RA Profile names it, and then only it */
    binary = spec;
    binary.ec_curves = "sect571r1";
    ck_assert(cmp_policy_init(&bin, &binary, &why));
    ck_assert_int_eq(form_of(&bin, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "sect571r1"),
                             buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(form_of(&bin, unit_key("EC"), buf, sizeof(buf)), CMP_E_KEY_FORM);
    cmp_policy_clear(&bin);

    /* the admin API's rules over the list */
    binary.ec_curves = "P-256, nocurve";
    m = problems(&binary);
    ck_assert_int_eq(m->nelts, 1);
    ck_assert_str_eq(msg(m, 0), "allowedEcCurves: 'nocurve' is not a named curve "
                     "of this OpenSSL");
    binary.ec_curves = " ";
    ck_assert_int_eq(problems(&binary)->nelts, 1);
    binary.ec_curves = "P-256,secp384r1,brainpoolP512r1,secp256k1";
    ck_assert_int_eq(problems(&binary)->nelts, 0);
}
END_TEST

/* ---- device registrations (cmp_device.h) ---------------------------------- */

static apr_array_header_t *strs(const char *a, const char *b, const char *c)
{
    apr_array_header_t *x = apr_array_make(upool, 3, sizeof(const char *));

    if (a != NULL)
        APR_ARRAY_PUSH(x, const char *) = a;
    if (b != NULL)
        APR_ARRAY_PUSH(x, const char *) = b;
    if (c != NULL)
        APR_ARRAY_PUSH(x, const char *) = c;
    return x;
}

static STACK_OF(X509_EXTENSION) *sans_ext(const char *conf)
{
    STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();

    sk_X509_EXTENSION_push(sk, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                                   (char *)conf));
    return sk;
}

START_TEST(device_secret_and_kid)
{
    const char *a = cmp_device_new_secret(upool), *b = cmp_device_new_secret(upool);
    size_t i;

    ck_assert_uint_eq(strlen(a), 29);
    for (i = 0; i < 29; i++)
        ck_assert(i % 5 == 4 ? a[i] == '-' : strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", a[i]) != NULL);
    ck_assert_str_ne(a, b);
    ck_assert(cmp_device_kid_valid("line1-0001"));
    ck_assert(cmp_device_kid_valid("a"));
    ck_assert(!cmp_device_kid_valid(""));
    ck_assert(!cmp_device_kid_valid("has space"));
    ck_assert(!cmp_device_kid_valid("tab\there"));
    ck_assert(!cmp_device_kid_valid("\xc3\xbc"));
    ck_assert(!cmp_device_kid_valid(apr_psprintf(upool, "%0129d", 0)));
    ck_assert(cmp_device_kid_valid(apr_psprintf(upool, "%0128d", 0)));
}
END_TEST

START_TEST(device_sans_stored_form)
{
    const char *why = NULL;
    apr_array_header_t *s = cmp_device_sans(upool, strs("DNS:a.example", "IP:10.0.0.1",
                                                        "DNS:a.example"), &why);

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->nelts, 2);             /* the duplicate dropped */
    ck_assert_str_eq(APR_ARRAY_IDX(s, 0, const char *), "DNS:a.example");
    ck_assert_str_eq(APR_ARRAY_IDX(s, 1, const char *), "IP Address:10.0.0.1");
    ck_assert_str_eq(cmp_device_sans_join(upool, s), "DNS:a.example\nIP Address:10.0.0.1");
    ck_assert_int_eq(cmp_device_sans_split(upool, "DNS:a.example\nIP Address:10.0.0.1", "\n")->nelts, 2);
    ck_assert_int_eq(cmp_device_sans_split(upool, "", "\n")->nelts, 0);
    s = cmp_device_sans(upool, strs("email:a@example.com", "URI:urn:example:1", NULL), &why);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(APR_ARRAY_IDX(s, 0, const char *), "email:a@example.com");
    ck_assert_ptr_null(cmp_device_sans(upool, strs("FOO:bar", NULL, NULL), &why));
    ck_assert_ptr_nonnull(strstr(why, "FOO:bar"));
    ck_assert_ptr_null(cmp_device_sans(upool, strs("IP:not-an-ip", NULL, NULL), &why));
    ck_assert_ptr_null(cmp_device_sans(upool, strs("DNS:", NULL, NULL), &why));
    ck_assert_ptr_null(cmp_device_sans(upool, strs("DNS:a\nb", NULL, NULL), &why));
    ck_assert_ptr_null(cmp_device_sans(upool, strs("dirName:x", NULL, NULL), &why));
    ck_assert_int_eq(cmp_device_sans(upool, NULL, &why)->nelts, 0);
}
END_TEST

START_TEST(device_fits_registered_identity)
{
    const char *why = NULL;
    X509_NAME *n = unit_name("dev-1"), *other = unit_name("dev-2");
    apr_array_header_t *reg = cmp_device_sans(upool, strs("DNS:dev-1.example", "IP:10.0.0.1",
                                                          NULL), &why);
    STACK_OF(X509_EXTENSION) *one = sans_ext("DNS:dev-1.example"),
                             *both = sans_ext("IP:10.0.0.1, DNS:dev-1.example"),
                             *more = sans_ext("DNS:dev-1.example, DNS:evil.example");
    const char *subject = cmp_issue_name_text(upool, n);

    ck_assert(cmp_device_fits(upool, subject, reg, n, NULL, &why));
    ck_assert(cmp_device_fits(upool, subject, reg, n, one, &why));
    ck_assert(cmp_device_fits(upool, subject, reg, n, both, &why));
    ck_assert(!cmp_device_fits(upool, subject, reg, n, more, &why));
    ck_assert_ptr_nonnull(strstr(why, "DNS:evil.example"));
    ck_assert(!cmp_device_fits(upool, subject, reg, other, NULL, &why));
    ck_assert_ptr_nonnull(strstr(why, "CN=dev-2"));
    ck_assert(!cmp_device_fits(upool, subject, reg, NULL, NULL, &why));
    ck_assert(!cmp_device_fits(upool, subject, cmp_device_sans(upool, NULL, &why), n, one, &why));
    /* the refusal's words are one text, whatever the reason */
    ck_assert_str_eq(cmp_err_text(CMP_E_DEVICE), CMP_DEVICE_REFUSED);
    ck_assert_int_eq(cmp_err_failinfo_bit(CMP_E_DEVICE), OSSL_CMP_PKIFAILUREINFO_badMessageCheck);
    sk_X509_EXTENSION_pop_free(one, X509_EXTENSION_free);
    sk_X509_EXTENSION_pop_free(both, X509_EXTENSION_free);
    sk_X509_EXTENSION_pop_free(more, X509_EXTENSION_free);
    X509_NAME_free(n);
    X509_NAME_free(other);
}
END_TEST

Suite *suite_policy(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    /* RSA key generation takes what it takes (prime search), more so on a
     * busy machine or under the sanitizers: Check's 4 s failed key_forms */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, key_types_and_strength);
    tcase_add_test(tc, subject_and_san);
    tcase_add_test(tc, kur_keeps_identity);
    tcase_add_test(tc, validation_is_the_loaders);
    tcase_add_test(tc, subject_pattern_bounds);
    tcase_add_test(tc, key_type_aliases);
    tcase_add_test(tc, grant_by_key_type_and_request);
    tcase_add_test(tc, grant_key_usage_from_request);
    tcase_add_test(tc, device_secret_and_kid);
    tcase_add_test(tc, device_sans_stored_form);
    tcase_add_test(tc, device_fits_registered_identity);
    tcase_add_test(tc, key_spec_of_the_policy);
    tcase_add_test(tc, key_forms);
    tcase_add_test(tc, pqc_key_forms);
    tcase_add_test(tc, central_key_type);
    suite_add_tcase(s, tc);
    return s;
}

