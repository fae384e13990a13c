#include <openssl/cmp.h>
#include <openssl/err.h>

#include "cmp_asn1.h"
#include "cmp_issue.h"
#include "unit.h"

static OSSL_CMP_MSG *captured;

/* Stands in for the network: keeps the request, answers nothing. */
static OSSL_CMP_MSG *capture(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    OSSL_CMP_MSG_free(captured);
    captured = OSSL_CMP_MSG_dup(req);
    return NULL;
}

static OSSL_CMP_CTX *client(EVP_PKEY *newkey)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    X509_NAME *n = unit_name("unit-device");

    ck_assert_ptr_nonnull(ctx);
    OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_EMERG);
    OSSL_CMP_CTX_set_transfer_cb(ctx, capture);
    ck_assert(OSSL_CMP_CTX_set1_secretValue(ctx, (const unsigned char *)"s3cret", 6));
    ck_assert(OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)"ref", 3));
    ck_assert(OSSL_CMP_CTX_set1_subjectName(ctx, n));
    if (newkey != NULL) {
        ck_assert(EVP_PKEY_up_ref(newkey));
        ck_assert(OSSL_CMP_CTX_set0_newPkey(ctx, 1, newkey));
    }
    X509_NAME_free(n);
    return ctx;
}

static cmp_view_t *view_of(const OSSL_CMP_MSG *m)
{
    unsigned char *der = NULL;
    int len = i2d_OSSL_CMP_MSG(m, &der);
    cmp_view_t *v = NULL;

    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(cmp_view_decode(upool, der, len, &v), APR_SUCCESS);
    OPENSSL_free(der);
    return v;
}

/* A CRMF message the client would send (validity of days, 0: none), and
 * what cmp_template_read finds in its template; the key must be k's. */
static OSSL_CRMF_MSG *read_template(OSSL_CMP_CTX *c, int days, EVP_PKEY *k,
                                    const X509_PUBKEY **pub,
                                    const ASN1_TIME **nb, const ASN1_TIME **na)
{
    OSSL_CRMF_MSG *crm;

    OSSL_CMP_CTX_set_option(c, OSSL_CMP_OPT_VALIDITY_DAYS, days);
    crm = OSSL_CMP_CTX_setup_CRM(c, 0, 0);
    ck_assert_ptr_nonnull(crm);
    ck_assert_int_eq(cmp_template_read(OSSL_CRMF_MSG_get0_tmpl(crm), pub, nb, na),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(*pub);
    ck_assert_int_eq(EVP_PKEY_eq(X509_PUBKEY_get0(*pub), k), 1);
    return crm;
}

START_TEST(ir_header_and_template)
{
    EVP_PKEY *k = unit_key("EC");
    const X509_PUBKEY *pub = NULL;
    OSSL_CMP_CTX *ctx = client(k);
    cmp_view_t *v;
    const ASN1_TIME *nb = NULL, *na = NULL;
    X509_NAME *want = unit_name("unit-device");

    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1);
    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_VALIDITY_DAYS, 3);
    ck_assert_ptr_null(OSSL_CMP_exec_IR_ses(ctx));
    ERR_clear_error();
    ck_assert_ptr_nonnull(captured);
    ck_assert_int_eq(OSSL_CMP_MSG_get_bodytype(captured), CMP_BODY_IR);
    v = view_of(captured);
    ck_assert_int_eq(cmp_view_protection(v), CMP_PROT_MAC);
    ck_assert(cmp_view_implicit_confirm(v));
    ck_assert_ptr_nonnull(cmp_view_transaction_id(v));
    ck_assert_int_eq(cmp_view_transaction_id(v)->length, 16);
    ck_assert_ptr_nonnull(cmp_view_sender_nonce(v));
    ck_assert_int_eq(ASN1_OCTET_STRING_cmp(cmp_view_transaction_id(v),
                                           OSSL_CMP_HDR_get0_transactionID(
                                               OSSL_CMP_MSG_get0_header(captured))), 0);
    ck_assert_int_eq(cmp_view_rr_reason(v), -1);

    /* the template's key and validity, which 3.0 has no getter for */
    {
        OSSL_CMP_CTX *c2 = client(k);
        OSSL_CRMF_MSG *crm = read_template(c2, 3, k, &pub, &nb, &na);
        int days = -1, secs = -1;

        ck_assert_int_eq(X509_NAME_cmp(OSSL_CRMF_CERTTEMPLATE_get0_subject(
                                           OSSL_CRMF_MSG_get0_tmpl(crm)), want), 0);
        ck_assert_ptr_nonnull(nb);
        ck_assert_ptr_nonnull(na);
        ck_assert(ASN1_TIME_diff(&days, &secs, nb, na));
        ck_assert_int_eq(days, 3);
        OSSL_CRMF_MSG_free(crm);
        /* no validity asked: no times; the key is still found */
        crm = read_template(c2, 0, k, &pub, &nb, &na);
        ck_assert_ptr_null(nb);
        ck_assert_ptr_null(na);
        OSSL_CRMF_MSG_free(crm);
        OSSL_CMP_CTX_free(c2);
    }
    X509_NAME_free(want);
    OSSL_CMP_CTX_free(ctx);
    EVP_PKEY_free(k);
    OSSL_CMP_MSG_free(captured);
    captured = NULL;
}
END_TEST

START_TEST(rr_reason_and_signature)
{
    cmp_ca_t ca = unit_ca("EC");
    cmp_policy_t pol;
    const char *why = NULL;
    EVP_PKEY *ee = unit_key("EC");
    X509_PUBKEY *spki = unit_spki(ee);
    X509_NAME *subj = unit_name("unit-holder");
    X509 *cert = NULL;
    OSSL_CMP_CTX *ctx = client(NULL);
    cmp_view_t *v;

    ck_assert(cmp_policy_init(&pol, 5, "", 0, NULL, 1, "digitalSignature", "", &why));
    ck_assert_int_eq(cmp_issue_build(&ca, &pol, subj, spki, NULL, NULL, &cert), APR_SUCCESS);
    cert = unit_reparse(cert);
    /* signed by the holder, revoking its own certificate, reason 1 */
    ck_assert(OSSL_CMP_CTX_set1_secretValue(ctx, NULL, 0));
    ck_assert(OSSL_CMP_CTX_set1_cert(ctx, cert));
    ck_assert(OSSL_CMP_CTX_set1_pkey(ctx, ee));
    ck_assert(OSSL_CMP_CTX_set1_oldCert(ctx, cert));
    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_REVOCATION_REASON, 1);
    ck_assert_int_eq(OSSL_CMP_exec_RR_ses(ctx), 0);
    ERR_clear_error();
    ck_assert_ptr_nonnull(captured);
    v = view_of(captured);
    ck_assert_int_eq(cmp_view_protection(v), CMP_PROT_SIG);
    ck_assert(!cmp_view_implicit_confirm(v));
    ck_assert_int_eq(cmp_view_rr_reason(v), 1);
    ck_assert_int_ge(sk_X509_num(cmp_view_extra_certs(v)), 1);
    ck_assert_int_eq(X509_cmp(sk_X509_value(cmp_view_extra_certs(v), 0), cert), 0);
    ck_assert_int_eq(X509_NAME_cmp(cmp_view_sender(v), subj), 0);
    OSSL_CMP_CTX_free(ctx);
    X509_free(cert);
    X509_NAME_free(subj);
    X509_PUBKEY_free(spki);
    EVP_PKEY_free(ee);
    cmp_policy_clear(&pol);
    unit_ca_free(&ca);
    OSSL_CMP_MSG_free(captured);
    captured = NULL;
}
END_TEST

START_TEST(garbage_is_refused)
{
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    cmp_view_t *v = NULL;

    ck_assert_int_eq(cmp_view_decode(upool, junk, sizeof(junk), &v), APR_EINVAL);
    ck_assert_int_eq(cmp_view_decode(upool, junk, 2, &v), APR_EINVAL);
    ERR_clear_error();
}
END_TEST

/* What a view holds belongs to the pool: clearing the pool frees it. */
START_TEST(pool_owns_the_view)
{
    EVP_PKEY *k = unit_key("EC");
    OSSL_CMP_CTX *ctx = client(k);
    apr_pool_t *sub;
    unsigned char *der = NULL;
    int len;
    long before;
    cmp_view_t *v;

    ck_assert_ptr_null(OSSL_CMP_exec_IR_ses(ctx));
    ERR_clear_error();
    len = i2d_OSSL_CMP_MSG(captured, &der);
    apr_pool_create(&sub, upool);
    before = unit_openssl_live();
    ck_assert_int_eq(cmp_view_decode(sub, der, len, &v), APR_SUCCESS);
    ck_assert_int_gt(unit_openssl_live(), before);
    apr_pool_clear(sub);
    ck_assert_int_eq(unit_openssl_live(), before);
    apr_pool_destroy(sub);
    OPENSSL_free(der);
    OSSL_CMP_CTX_free(ctx);
    EVP_PKEY_free(k);
    OSSL_CMP_MSG_free(captured);
    captured = NULL;
}
END_TEST

Suite *suite_asn1(void)
{
    Suite *s = suite_create("asn1");
    TCase *tc = tcase_create("views");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, ir_header_and_template);
    tcase_add_test(tc, rr_reason_and_signature);
    tcase_add_test(tc, garbage_is_refused);
    tcase_add_test(tc, pool_owns_the_view);
    suite_add_tcase(s, tc);
    return s;
}
