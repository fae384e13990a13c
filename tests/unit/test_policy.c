#include <openssl/x509v3.h>

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

    ck_assert(cmp_policy_init(&pol, 30, "EC, ED25519", 112, NULL, 1,
                              "digitalSignature", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, n, ec, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, n, ed, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, n, rsa, NULL, buf, sizeof(buf)), CMP_E_POLICY_KEY);
    ck_assert_ptr_nonnull(strstr(buf, "RSA"));
    cmp_policy_clear(&pol);

    /* any type, but at least 128 bits of strength: RSA-2048 (112) fails */
    ck_assert(cmp_policy_init(&pol, 30, "", 128, NULL, 1, "", "", &why));
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

    ck_assert(!cmp_policy_init(&pol, 30, "", 0, "([", 1, "", "", &why));
    cmp_policy_clear(&pol);
    ck_assert(cmp_policy_init(&pol, 30, "", 0, "^CN=dev-[0-9]+$", 0, "", "", &why));
    ck_assert_int_eq(cmp_policy_check(&pol, good, ec, NULL, buf, sizeof(buf)), CMP_E_NONE);
    ck_assert_int_eq(cmp_policy_check(&pol, bad, ec, NULL, buf, sizeof(buf)), CMP_E_POLICY_SUBJECT);
    ck_assert_int_eq(cmp_policy_check(&pol, empty, ec, NULL, buf, sizeof(buf)), CMP_E_POLICY_SUBJECT);
    ck_assert_int_eq(cmp_policy_check(&pol, good, ec, exts, buf, sizeof(buf)), CMP_E_POLICY_SAN);
    cmp_policy_clear(&pol);

    /* SAN allowed: an empty subject is fine when a SAN names the entity */
    ck_assert(cmp_policy_init(&pol, 30, "", 0, NULL, 1, "", "", &why));
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

Suite *suite_policy(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, key_types_and_strength);
    tcase_add_test(tc, subject_and_san);
    suite_add_tcase(s, tc);
    return s;
}
