/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/cmp.h>
#include <openssl/err.h>

#include "cmp_asn1.h"
#include "cmp_issue.h"
#include "cmp_key.h"
#include "cmp_pbm.h"
#include "cmp_server_int.h"
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

    ck_assert(unit_policy(&pol, 5, "", 0, NULL, 1, "digitalSignature", "", &why));
    ck_assert_int_eq(cmp_issue_build(&ca, &pol, subj, spki, NULL, NULL, NULL, &cert), APR_SUCCESS);
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

/* ---- PasswordBasedMac -------------------------------------------------- */

static const unsigned char secret[] = "s3cret";

/* The DER of the client's ir: MAC-protected with the secret, or not. */
static unsigned char *client_ir(int protect, int *len)
{
    EVP_PKEY *k = unit_key("EC");
    OSSL_CMP_CTX *ctx = client(k);
    unsigned char *der = NULL;

    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1);
    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_UNPROTECTED_SEND, !protect);
    ck_assert_ptr_null(OSSL_CMP_exec_IR_ses(ctx));
    ERR_clear_error();
    ck_assert_ptr_nonnull(captured);
    *len = i2d_OSSL_CMP_MSG(captured, &der);
    ck_assert_int_gt(*len, 0);
    OSSL_CMP_MSG_free(captured);
    captured = NULL;
    OSSL_CMP_CTX_free(ctx);
    EVP_PKEY_free(k);
    return der;
}

static cmp_view_t *view_der(const unsigned char *der, int len)
{
    cmp_view_t *v = NULL;

    ck_assert_int_eq(cmp_view_decode(upool, der, len, &v), APR_SUCCESS);
    return v;
}

static cmp_pbm_t *derive(const cmp_view_t *v, const char *sec)
{
    cmp_pbm_t *k = NULL;
    const char *why = NULL;

    ck_assert_int_eq(cmp_pbm_derive(upool, cmp_view_protection_alg(v),
                                    (const unsigned char *)sec, strlen(sec),
                                    &k, &why), APR_SUCCESS);
    ck_assert_ptr_null(why);
    return k;
}

START_TEST(pbm_verifies_the_request)
{
    int len, i;
    unsigned char *der = client_ir(1, &len);
    cmp_view_t *v = view_der(der, len);
    cmp_pbm_t *k;

    ck_assert_int_eq(cmp_view_protection(v), CMP_PROT_MAC);
    ck_assert_int_eq(cmp_pbm_verify(derive(v, (const char *)secret), upool, v), 1);
    ck_assert_int_eq(cmp_pbm_verify(derive(v, "s3cres"), upool, v), 0);
    /* one byte of the body changed (the CN of the template) */
    for (i = len - 11; i > 0 && memcmp(der + i, "unit-device", 11) != 0; i--)
        ;
    ck_assert_int_gt(i, 0);
    der[i] ^= 0x01;
    k = derive(view_der(der, len), (const char *)secret);
    ck_assert_int_eq(cmp_pbm_verify(k, upool, view_der(der, len)), 0);
    OPENSSL_free(der);
}
END_TEST

/* The response carries the request's PBMParameter, and OpenSSL's client
 * accepts its MAC with the secret and only with it. */
START_TEST(pbm_protects_with_the_request_parameters)
{
    int req_len, rsp_len;
    unsigned char *req = client_ir(1, &req_len), *rsp = client_ir(0, &rsp_len);
    unsigned char *out = NULL;
    apr_size_t out_len = 0;
    cmp_view_t *rv = view_der(req, req_len), *ov;
    const unsigned char *q;
    OSSL_CMP_MSG *m;
    OSSL_CMP_CTX *c;
    long before;
    int i;

    ck_assert_int_eq(cmp_view_protection(view_der(rsp, rsp_len)), CMP_PROT_NONE);
    /* the second time OpenSSL's algorithm caches are warm: nothing is kept */
    for (i = 0; i < 2; i++) {
        before = unit_openssl_live();
        ck_assert_int_eq(cmp_pbm_protect(derive(rv, (const char *)secret), upool,
                                         rsp, (apr_size_t)rsp_len, &out, &out_len),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(unit_openssl_live(), before);
    ov = view_der(out, (int)out_len);
    ck_assert_int_eq(cmp_view_protection(ov), CMP_PROT_MAC);
    ck_assert_int_eq(X509_ALGOR_cmp(cmp_view_protection_alg(ov),
                                    cmp_view_protection_alg(rv)), 0);
    ck_assert_int_eq(cmp_pbm_verify(derive(ov, (const char *)secret), upool, ov), 1);
    q = out;
    m = d2i_OSSL_CMP_MSG(NULL, &q, (long)out_len);
    ck_assert_ptr_nonnull(m);
    c = OSSL_CMP_CTX_new(NULL, NULL);
    OSSL_CMP_CTX_set_log_verbosity(c, OSSL_CMP_LOG_EMERG);
    ck_assert(OSSL_CMP_CTX_set1_secretValue(c, secret, 6));
    ck_assert_int_eq(OSSL_CMP_validate_msg(c, m), 1);
    ck_assert(OSSL_CMP_CTX_set1_secretValue(c, (const unsigned char *)"other", 5));
    ck_assert_int_ne(OSSL_CMP_validate_msg(c, m), 1);
    ERR_clear_error();
    OSSL_CMP_CTX_free(c);
    OSSL_CMP_MSG_free(m);
    OPENSSL_free(req);
    OPENSSL_free(rsp);
}
END_TEST

/* PBMParameter as a test builds it, any values allowed */
typedef struct {
    ASN1_OCTET_STRING *salt;
    X509_ALGOR *owf;
    ASN1_INTEGER *iter;
    X509_ALGOR *mac;
} T_PBM;
ASN1_SEQUENCE(T_PBM) = {
    ASN1_SIMPLE(T_PBM, salt, ASN1_OCTET_STRING),
    ASN1_SIMPLE(T_PBM, owf, X509_ALGOR),
    ASN1_SIMPLE(T_PBM, iter, ASN1_INTEGER),
    ASN1_SIMPLE(T_PBM, mac, X509_ALGOR)
} static_ASN1_SEQUENCE_END(T_PBM)

static const char *derive_fails(long iter, int owf, int mac)
{
    T_PBM *t = (T_PBM *)ASN1_item_new(ASN1_ITEM_rptr(T_PBM));
    ASN1_STRING *param = ASN1_STRING_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    unsigned char *der = NULL;
    int n;
    cmp_pbm_t *k = NULL;
    const char *why = NULL;

    ck_assert(ASN1_OCTET_STRING_set(t->salt, (const unsigned char *)"saltsalt", 8));
    ck_assert(X509_ALGOR_set0(t->owf, OBJ_nid2obj(owf), V_ASN1_UNDEF, NULL));
    ck_assert(ASN1_INTEGER_set(t->iter, iter));
    ck_assert(X509_ALGOR_set0(t->mac, OBJ_nid2obj(mac), V_ASN1_UNDEF, NULL));
    n = ASN1_item_i2d((ASN1_VALUE *)t, &der, ASN1_ITEM_rptr(T_PBM));
    ck_assert(ASN1_STRING_set(param, der, n));
    ck_assert(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_id_PasswordBasedMAC),
                              V_ASN1_SEQUENCE, param));
    if (cmp_pbm_derive(upool, alg, secret, 6, &k, &why) == APR_SUCCESS) {
        ck_assert_ptr_nonnull(k);
        why = NULL;
    } else {
        ck_assert_ptr_null(k);
        ck_assert_ptr_nonnull(why);
    }
    X509_ALGOR_free(alg);
    OPENSSL_free(der);
    ASN1_item_free((ASN1_VALUE *)t, ASN1_ITEM_rptr(T_PBM));
    return why;
}

START_TEST(pbm_refuses_what_it_cannot_compute)
{
    ck_assert_ptr_null(derive_fails(CMP_PBM_MIN_ITERATIONS, NID_sha256, NID_hmac_sha1));
    ck_assert_ptr_null(derive_fails(CMP_PBM_MAX_ITERATIONS, NID_sha512, NID_hmacWithSHA256));
    ck_assert_str_eq(derive_fails(CMP_PBM_MIN_ITERATIONS - 1, NID_sha256, NID_hmac_sha1),
                     "iterationCount out of bounds");
    ck_assert_str_eq(derive_fails(CMP_PBM_MAX_ITERATIONS + 1, NID_sha256, NID_hmac_sha1),
                     "iterationCount out of bounds");
    ck_assert_str_eq(derive_fails(500, NID_commonName, NID_hmac_sha1),
                     "unsupported one-way function");
    ck_assert_str_eq(derive_fails(500, NID_shake128, NID_hmac_sha1),
                     "unsupported one-way function");
    ck_assert_str_eq(derive_fails(500, NID_sha256, NID_sha256WithRSAEncryption),
                     "unsupported MAC algorithm");
}
END_TEST

/* ---- keys built from their parts, the POP checked with them ------------ */

/* The SubjectPublicKeyInfo of k as a parse without algorithms leaves it:
 * algorithm and bits, no key. */
static X509_PUBKEY *keyless_spki(OSSL_LIB_CTX *nl, EVP_PKEY *k)
{
    X509_PUBKEY *p = unit_spki(k), *out;
    unsigned char *der = NULL;
    const unsigned char *q;
    int n = i2d_X509_PUBKEY(p, &der);

    q = der;
    out = (X509_PUBKEY *)ASN1_item_d2i_ex(NULL, &q, n, ASN1_ITEM_rptr(X509_PUBKEY),
                                         nl, NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_null(X509_PUBKEY_get0(out));
    ERR_clear_error();
    OPENSSL_free(der);
    X509_PUBKEY_free(p);
    return out;
}

START_TEST(keys_from_their_parts)
{
    OSSL_LIB_CTX *nl = NULL;
    EVP_PKEY *keys[5], *b;
    X509_PUBKEY *s;
    unsigned char bad[65];
    int i;

    ck_assert_int_eq(cmp_key_keyless_ctx(upool, &nl), APR_SUCCESS);
    keys[0] = unit_key("EC");
    keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    keys[2] = unit_key("RSA");
    keys[3] = unit_key("ED25519");
    keys[4] = unit_key("ED448");
    for (i = 0; i < 5; i++) {
        s = keyless_spki(nl, keys[i]);
        b = cmp_key_from_spki(s);
        ck_assert_msg(b != NULL && EVP_PKEY_eq(b, keys[i]) == 1, "key %d", i);
        EVP_PKEY_free(b);
        X509_PUBKEY_free(s);
        EVP_PKEY_free(keys[i]);
    }
    /* a key that signs nothing: left to OpenSSL */
    keys[0] = unit_key("X25519");
    s = keyless_spki(nl, keys[0]);
    ck_assert_ptr_null(cmp_key_from_spki(s));
    X509_PUBKEY_free(s);
    EVP_PKEY_free(keys[0]);
    /* a P-256 point that is not on the curve */
    memset(bad, 0x01, sizeof(bad));
    bad[0] = 0x04;
    s = X509_PUBKEY_new();
    ck_assert(X509_PUBKEY_set0_param(s, OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                                     V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1),
                                     OPENSSL_memdup(bad, sizeof(bad)), sizeof(bad)));
    ck_assert_ptr_null(cmp_key_from_spki(s));
    ERR_clear_error();
    X509_PUBKEY_free(s);
}
END_TEST

static OSSL_CMP_MSG *keyless_msg(OSSL_LIB_CTX *nl, const unsigned char *der, int len)
{
    const unsigned char *q = der;
    OSSL_CMP_MSG *m = (OSSL_CMP_MSG *)ASN1_item_d2i_ex(NULL, &q, len,
                                                       ASN1_ITEM_rptr(OSSL_CMP_MSG),
                                                       nl, NULL);

    ck_assert_ptr_nonnull(m);
    return m;
}

START_TEST(pop_checked_with_the_built_key)
{
    OSSL_LIB_CTX *nl = NULL;
    int len, n = 0;
    unsigned char *der = client_ir(1, &len), *gder = NULL;
    OSSL_CMP_MSG *m, *g;
    OSSL_CRMF_MSG *crm;
    const X509_PUBKEY *spki = NULL;
    const ASN1_TIME *nb, *na;
    EVP_PKEY *k, *other = unit_key("EC");
    OSSL_CMP_CTX *ctx;

    ck_assert_int_eq(cmp_key_keyless_ctx(upool, &nl), APR_SUCCESS);
    m = keyless_msg(nl, der, len);
    crm = cmp_msg_first_crm(m, &n);
    ck_assert_ptr_nonnull(crm);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(cmp_template_read(OSSL_CRMF_MSG_get0_tmpl(crm), &spki, &nb, &na),
                     APR_SUCCESS);
    ck_assert_ptr_null(X509_PUBKEY_get0(spki));
    ERR_clear_error();
    k = cmp_key_from_spki(spki);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(cmp_crmf_verify_sig_pop(crm, k), 1);
    ck_assert_int_eq(cmp_crmf_verify_sig_pop(crm, other), 0);
    ERR_clear_error();
    /* raVerified is no signature POP */
    ck_assert(OSSL_CRMF_MSG_create_popo(OSSL_CRMF_POPO_RAVERIFIED, crm, NULL, NULL,
                                        NULL, NULL));
    ck_assert_int_eq(cmp_crmf_verify_sig_pop(crm, k), -1);
    /* a genm carries no CertReqMsg */
    ctx = client(NULL);
    ck_assert_ptr_null(OSSL_CMP_exec_GENM_ses(ctx));
    ERR_clear_error();
    ck_assert_ptr_nonnull(captured);
    len = i2d_OSSL_CMP_MSG(captured, &gder);
    g = keyless_msg(nl, gder, len);
    ck_assert_ptr_null(cmp_msg_first_crm(g, &n));
    ck_assert_int_eq(n, 0);
    OSSL_CMP_MSG_free(g);
    OSSL_CMP_MSG_free(captured);
    captured = NULL;
    OSSL_CMP_CTX_free(ctx);
    OPENSSL_free(gder);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    OSSL_CMP_MSG_free(m);
    OPENSSL_free(der);
}
END_TEST

/* ---- the generic header checks (RFC 9483 3.5) --------------------------- */

/* The view of der changed as e says. */
static cmp_view_t *view_edited(const unsigned char *der, int len,
                               const cmp_edit_t *e)
{
    unsigned char *out = NULL;
    apr_size_t out_len = 0;
    cmp_view_t *v = NULL;

    ck_assert_int_eq(cmp_asn1_edit(upool, der, len, e, &out, &out_len), APR_SUCCESS);
    ck_assert_int_eq(cmp_view_decode(upool, out, (long)out_len, &v), APR_SUCCESS);
    return v;
}

/* The header check of der changed as e says. */
static cmp_reason_e check_edited(const unsigned char *der, int len,
                                 const cmp_edit_t *e, int v3, long tolerance)
{
    cmp_view_t *v = view_edited(der, len, e);
    char why[300];

    return cmp_srv_check_header(v, cmp_view_body_type(v), v3, tolerance, why,
                                sizeof(why));
}

START_TEST(header_checks)
{
    int len;
    unsigned char *der = client_ir(1, &len);
    static const unsigned char shorty[4] = {1, 2, 3, 4};
    cmp_edit_t e;

    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_NONE);
    e.pvno = 1;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_UNSUPPORTED_VERSION);
    /* pvno 3 (cmp2021): only to a CMP Profile of variant v3, where OpenSSL
     * speaks it; the answers at the version RFC 9810 7 asks */
    e.pvno = 3;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_UNSUPPORTED_VERSION);
#ifdef OSSL_CMP_PVNO_3
    ck_assert_int_eq(check_edited(der, len, &e, 1, 600), CMP_E_NONE);
    ck_assert_int_eq(cmp_srv_response_pvno(3, CMP_BODY_IR, 1), 3);
    ck_assert_int_eq(cmp_srv_response_pvno(5, CMP_BODY_IR, 1), 3);
#else
    ck_assert_int_eq(check_edited(der, len, &e, 1, 600), CMP_E_UNSUPPORTED_VERSION);
    ck_assert_int_eq(cmp_srv_response_pvno(5, CMP_BODY_IR, 1), 2);
#endif
    ck_assert_int_eq(cmp_srv_response_pvno(3, CMP_BODY_IR, 0), 2);
    ck_assert_int_eq(cmp_srv_response_pvno(5, CMP_BODY_IR, 0), 2);
    ck_assert_int_eq(cmp_srv_response_pvno(1, CMP_BODY_IR, 1), 2);
    ck_assert_int_eq(cmp_srv_response_pvno(3, CMP_BODY_CERTCONF, 0), 3);
    e.pvno = -1;
    e.tid.what = CMP_EDIT_DROP;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_DATA_FORMAT);
    e.tid.what = CMP_EDIT_SET;
    e.tid.data = shorty;
    e.tid.len = 4;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_DATA_FORMAT);
    e.tid.what = CMP_EDIT_KEEP;
    e.nonce = e.tid;
    e.nonce.what = CMP_EDIT_SET;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_SENDER_NONCE);
    e.nonce.what = CMP_EDIT_DROP;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_SENDER_NONCE);
    e.nonce.what = CMP_EDIT_KEEP;
    e.recip_nonce.what = CMP_EDIT_SET;
    e.recip_nonce.data = (const unsigned char *)"0123456789abcdef";
    e.recip_nonce.len = 16;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_RECIP_NONCE);
    e.recip_nonce.what = CMP_EDIT_KEEP;
    e.time = CMP_EDIT_SET;
    e.time_value = time(NULL) + 3600;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_TIME);
    ck_assert_int_eq(check_edited(der, len, &e, 0, 0), CMP_E_NONE);    /* off */
    e.time_value = time(NULL) - 60;
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_NONE);
    e.time = CMP_EDIT_DROP;     /* RECOMMENDED, not required */
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_NONE);
    e.time = CMP_EDIT_KEEP;
    e.sender_email = "device@example.com";
    ck_assert_int_eq(check_edited(der, len, &e, 0, 600), CMP_E_BAD_SENDER);
    OPENSSL_free(der);
}
END_TEST

/* A certConf body of two CertStatus is counted; an ip's status is read. */
START_TEST(certconf_and_status_views)
{
    int len;
    unsigned char *der = client_ir(1, &len);
    cmp_certconf_info_t cc;
    cmp_view_t *v = NULL;
    cmp_edit_t e;
    int body = -1, status = -1;
    unsigned long fi = 0;
    const char *text = NULL;
    /* two CertStatus {certHash, certReqId 0}; then one accepted + failInfo */
    static const unsigned char two[] = {
        0xb8, 0x14, 0x30, 0x12, 0x30, 0x07, 0x04, 0x02, 0xaa, 0xbb, 0x02, 0x01,
        0x00, 0x30, 0x07, 0x04, 0x02, 0xaa, 0xbb, 0x02, 0x01, 0x00};
    static const unsigned char acc_fail[] = {
        0xb8, 0x14, 0x30, 0x12, 0x30, 0x10, 0x04, 0x02, 0xaa, 0xbb, 0x02, 0x01,
        0x00, 0x30, 0x07, 0x02, 0x01, 0x00, 0x03, 0x02, 0x07, 0x80};

    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.body_der = two;
    e.body_len = sizeof(two);
    v = view_edited(der, len, &e);
    ck_assert_int_eq(cmp_view_body_type(v), CMP_BODY_CERTCONF);
    ck_assert_int_eq(cmp_view_certconf(v, &cc), APR_SUCCESS);
    ck_assert_int_eq(cc.count, 2);
    ck_assert_int_eq(cc.status, -1);
    e.body_der = acc_fail;
    e.body_len = sizeof(acc_fail);
    v = view_edited(der, len, &e);
    ck_assert_int_eq(cmp_view_certconf(v, &cc), APR_SUCCESS);
    ck_assert_int_eq(cc.count, 1);
    ck_assert_int_eq(cc.status, 0);
    ck_assert(cc.has_failinfo);
    ck_assert(!cc.has_hash_alg);
    /* an ir is no certConf, nor a response with a status */
    ck_assert_int_eq(cmp_view_decode(upool, der, len, &v), APR_SUCCESS);
    ck_assert_int_eq(cmp_view_certconf(v, &cc), APR_EINVAL);
    ck_assert_int_eq(cmp_asn1_status_of(upool, der, len, &body, &status, &fi, &text),
                     APR_EINVAL);
    OPENSSL_free(der);
}
END_TEST

/* CRLReason of an rr: two extensions or one that does not decode are
 * marked, an unknown value is passed on (the store's rule refuses it). */
START_TEST(rr_reason_twice_or_odd)
{
    int len;
    unsigned char *der = client_ir(1, &len);
    cmp_view_t *v = NULL;
    cmp_edit_t e;
    long long when;
    /* [11] { RevDetails { CertTemplate {}, { CRLReason 1, CRLReason 1 } } } */
    static const unsigned char two[] = {
        0xab, 0x20, 0x30, 0x1e, 0x30, 0x1c, 0x30, 0x00, 0x30, 0x18,
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x01,
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x01};
    /* ... and one CRLReason 20 */
    static const unsigned char twenty[] = {
        0xab, 0x14, 0x30, 0x12, 0x30, 0x10, 0x30, 0x00, 0x30, 0x0c,
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x14};

    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.body_der = two;
    e.body_len = sizeof(two);
    v = view_edited(der, len, &e);
    ck_assert_int_eq(cmp_view_body_type(v), CMP_BODY_RR);
    ck_assert_int_eq(cmp_view_rr_reason(v), CMP_RR_REASON_BAD);
    e.body_der = twenty;
    e.body_len = sizeof(twenty);
    v = view_edited(der, len, &e);
    ck_assert_int_eq(cmp_view_rr_reason(v), 20);
    ck_assert_int_eq(cmp_view_rr_invalidity(v, &when), 0);
    OPENSSL_free(der);
}
END_TEST

/* invalidityDate of an rr (RFC 5280 5.3.2): a GeneralizedTime read as
 * epoch seconds; a UTCTime (not what the extension holds) is marked. */
START_TEST(rr_invalidity_date)
{
    int len;
    unsigned char *der = client_ir(1, &len);
    cmp_view_t *v = NULL;
    cmp_edit_t e;
    long long when = -1;
    /* [11] { RevDetails { {}, { CRLReason 1, invalidityDate 20231114221320Z } } } */
    static const unsigned char with_date[] = {
        0xab, 0x2e, 0x30, 0x2c, 0x30, 0x2a, 0x30, 0x00, 0x30, 0x26, 0x30, 0x0a,
        0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x01, 0x30, 0x18,
        0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11, 0x18, 0x0f, 0x32, 0x30, 0x32,
        0x33, 0x31, 0x31, 0x31, 0x34, 0x32, 0x32, 0x31, 0x33, 0x32, 0x30, 0x5a};
    /* ... the date as a UTCTime */
    static const unsigned char utc_date[] = {
        0xab, 0x2c, 0x30, 0x2a, 0x30, 0x28, 0x30, 0x00, 0x30, 0x24, 0x30, 0x0a,
        0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x01, 0x30, 0x16,
        0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x0f, 0x17, 0x0d, 0x32, 0x33, 0x31,
        0x31, 0x31, 0x34, 0x32, 0x32, 0x31, 0x33, 0x32, 0x30, 0x5a};

    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.body_der = with_date;
    e.body_len = sizeof(with_date);
    v = view_edited(der, len, &e);
    ck_assert_int_eq(cmp_view_rr_reason(v), 1);
    ck_assert_int_eq(cmp_view_rr_invalidity(v, &when), 1);
    ck_assert_int_eq(when, 1700000000);
    e.body_der = utc_date;
    e.body_len = sizeof(utc_date);
    v = view_edited(der, len, &e);
    ck_assert_int_eq(cmp_view_rr_invalidity(v, &when), CMP_RR_REASON_BAD);
    OPENSSL_free(der);
}
END_TEST

/* PBMAC1 parameters that do not decode, and a bare HMAC, are refused. */
START_TEST(pbmac1_refuses_malformed_parameters)
{
    X509_ALGOR *a = X509_ALGOR_new();
    ASN1_STRING *s = ASN1_STRING_new();
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    cmp_pbm_t *k = NULL;
    const char *why = NULL;

    ck_assert(ASN1_STRING_set(s, junk, sizeof(junk)));
    ck_assert(X509_ALGOR_set0(a, OBJ_nid2obj(NID_pbmac1), V_ASN1_SEQUENCE, s));
    ck_assert_int_eq(cmp_pbm_derive(upool, a, secret, 6, &k, &why), APR_EINVAL);
    ck_assert_str_eq(why, "malformed PBMAC1-params");
    ck_assert_ptr_null(k);
    X509_ALGOR_free(a);
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
    tcase_add_test(tc, header_checks);
    tcase_add_test(tc, certconf_and_status_views);
    tcase_add_test(tc, rr_reason_twice_or_odd);
    tcase_add_test(tc, rr_invalidity_date);
    suite_add_tcase(s, tc);
    tc = tcase_create("pbm");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, pbm_verifies_the_request);
    tcase_add_test(tc, pbm_protects_with_the_request_parameters);
    tcase_add_test(tc, pbm_refuses_what_it_cannot_compute);
    tcase_add_test(tc, pbmac1_refuses_malformed_parameters);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, keys_from_their_parts);
    tcase_add_test(tc, pop_checked_with_the_built_key);
    suite_add_tcase(s, tc);
    return s;
}
