/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_crl.h"
#include "cmp_issue.h"
#include "cmp_ocsp.h"
#include "cmp_rollover.h"
#include "unit.h"

static void issue_with(const char *ca_type, const char *ee_type)
{
    cmp_ca_t ca = unit_ca(ca_type);
    cmp_policy_t pol;
    const char *why = NULL;
    EVP_PKEY *ee = unit_key(ee_type);
    X509_PUBKEY *spki = unit_spki(ee);
    X509_NAME *subj = unit_name("device");
    X509 *cert = NULL;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();

    ck_assert(unit_policy(&pol, 10, "", 0, NULL, 1,
                              "critical,digitalSignature", "clientAuth", &why));
    ck_assert_int_eq(cmp_issue_build(&ca, &pol, subj, spki, NULL, NULL, NULL, &cert),
                     APR_SUCCESS);
    cert = unit_reparse(cert);
    ck_assert_int_eq(X509_verify(cert, ca.key), 1);
    ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(cert), subj), 0);
    ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(cert),
                                   X509_get_subject_name(ca.cert)), 0);
    ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(cert), ee), 1);
    ck_assert(X509_get_extension_flags(cert) & EXFLAG_KUSAGE);
    ck_assert_uint_eq(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
    ck_assert_uint_eq(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT);
    ck_assert_int_eq(X509_check_ca(cert), 0);
    ck_assert_ptr_nonnull(X509_get0_authority_key_id(cert));
    /* the key identifiers: SHA-1 of the key bits, and the CA's own */
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(cert);

        ck_assert(X509_pubkey_digest(cert, EVP_sha1(), md, &n));
        ck_assert_ptr_nonnull(skid);
        ck_assert_int_eq(skid->length, (int)n);
        ck_assert_mem_eq(skid->data, md, n);
        ck_assert_int_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert),
                                               X509_get0_subject_key_id(ca.cert)), 0);
    }
    /* chains to the CA */
    X509_STORE_add_cert(store, ca.cert);
    X509_STORE_CTX_init(vctx, store, cert, NULL);
    ck_assert_int_eq(X509_verify_cert(vctx), 1);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    X509_free(cert);
    X509_NAME_free(subj);
    X509_PUBKEY_free(spki);
    EVP_PKEY_free(ee);
    cmp_policy_clear(&pol);
    unit_ca_free(&ca);
}

START_TEST(ec_ca_issues_rsa_ec_ed25519)
{
    issue_with("EC", "EC");
    issue_with("EC", "RSA");
    issue_with("EC", "ED25519");
}
END_TEST

START_TEST(rsa_and_ed25519_cas)
{
    issue_with("RSA", "EC");
    issue_with("ED25519", "EC");
}
END_TEST

START_TEST(validity_rules)
{
    cmp_ca_t ca = unit_ca("EC");
    cmp_policy_t pol;
    const char *why = NULL;
    EVP_PKEY *ee = unit_key("EC");
    X509_PUBKEY *spki = unit_spki(ee);
    X509_NAME *subj = unit_name("device");
    X509 *cert = NULL;
    ASN1_TIME *want = ASN1_TIME_adj(NULL, time(NULL), 2, 0);
    int days = 0, secs = 0;

    /* 365 days asked by policy, but the CA ends in 30: clamped */
    ck_assert(unit_policy(&pol, 365, "", 0, NULL, 1, "digitalSignature", "", &why));
    ck_assert_int_eq(cmp_issue_build(&ca, &pol, subj, spki, NULL, NULL, NULL, &cert), APR_SUCCESS);
    ck_assert_int_eq(ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(ca.cert)), 0);
    X509_free(cert);
    /* a shorter validity requested in the template is honoured */
    ck_assert_int_eq(cmp_issue_build(&ca, &pol, subj, spki, NULL, want, NULL, &cert), APR_SUCCESS);
    ck_assert(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)));
    /* notBefore is the time of issuance, a moment after want was made */
    ck_assert_int_le(days * 86400 + secs, 2 * 86400);
    ck_assert_int_gt(days * 86400 + secs, 2 * 86400 - 60);
    X509_free(cert);
    ASN1_TIME_free(want);
    cmp_policy_clear(&pol);
    /* an invalid key usage in the RA Profile is refused, not ignored */
    ck_assert(unit_policy(&pol, 5, "", 0, NULL, 1, "notAUsage", "", &why));
    ck_assert_int_ne(cmp_issue_build(&ca, &pol, subj, spki, NULL, NULL, NULL, &cert), APR_SUCCESS);
    ck_assert_ptr_null(cert);
    cmp_policy_clear(&pol);
    X509_NAME_free(subj);
    X509_PUBKEY_free(spki);
    EVP_PKEY_free(ee);
    unit_ca_free(&ca);
}
END_TEST

/* A CRL as RFC 5280 5 has it: v2, the CA's name, thisUpdate/nextUpdate,
 * CRL number, AKI = the CA's SKI, entries sorted with their reasonCode
 * (none for unspecified) and invalidityDate (a GeneralizedTime, when
 * given), signed with the CA key's default digest (none for Ed25519); a
 * relying party's OpenSSL verifies it. */
static void check_crl(const char *type)
{
    cmp_ca_t ca = unit_ca(type);
    cmp_crl_entry_t e[3] = {{"ff01", 1700000000, 1, 1699990000},
                            {"1a2b3c4d5e6f708192a3b4c5d6e7f80", 1700000100, 0, 0},
                            {"7", 1700000200, 6, 0}};
    X509_CRL *crl = cmp_crl_build(&ca, 42, 1700001000, 1700087400, e, 3);
    unsigned char *der = NULL;
    const unsigned char *q;
    X509_CRL *got;
    STACK_OF(X509_REVOKED) *revs;
    ASN1_INTEGER *number;
    AUTHORITY_KEYID *aki;
    ASN1_ENUMERATED *reason;
    ASN1_GENERALIZEDTIME *inv;
    BIGNUM *bn;
    char *hex;
    int len, i, crit;

    ck_assert_ptr_nonnull(crl);
    len = i2d_X509_CRL(crl, &der);
    ck_assert_int_gt(len, 0);
    q = der;
    got = d2i_X509_CRL(NULL, &q, len);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(X509_CRL_verify(got, X509_get0_pubkey(ca.cert)), 1);
    ck_assert_int_eq(X509_CRL_get_version(got), X509_CRL_VERSION_2);
    ck_assert_int_eq(X509_NAME_cmp(X509_CRL_get_issuer(got),
                                   X509_get_subject_name(ca.cert)), 0);
    ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(got), 1700001000), 0);
    ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(got), 1700087400), 0);
    number = X509_CRL_get_ext_d2i(got, NID_crl_number, &crit, NULL);
    ck_assert_ptr_nonnull(number);
    ck_assert_int_eq(ASN1_INTEGER_get(number), 42);
    ck_assert_int_eq(crit, 0);
    ASN1_INTEGER_free(number);
    aki = X509_CRL_get_ext_d2i(got, NID_authority_key_identifier, NULL, NULL);
    ck_assert_ptr_nonnull(aki);
    ck_assert_ptr_nonnull(aki->keyid);
    ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki->keyid,
                                           X509_get0_subject_key_id(ca.cert)), 0);
    AUTHORITY_KEYID_free(aki);
    revs = X509_CRL_get_REVOKED(got);
    ck_assert_int_eq(sk_X509_REVOKED_num(revs), 3);
    for (i = 0; i < 3; i++) {
        X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
        int j;

        bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
        hex = BN_bn2hex(bn);
        for (j = 0; j < 3 && strcasecmp(hex, e[j].serial_hex) != 0
                    && !(hex[0] == '0' && strcasecmp(hex + 1, e[j].serial_hex) == 0); j++)
            ;
        ck_assert_msg(j < 3, "serial %s is not one revoked", hex);
        ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(r),
                                              e[j].revoked_at), 0);
        reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
        if (e[j].reason == 0)
            ck_assert_ptr_null(reason);
        else
            ck_assert_int_eq(ASN1_ENUMERATED_get(reason), e[j].reason);
        ASN1_ENUMERATED_free(reason);
        inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, &crit, NULL);
        if (e[j].invalidity == 0)
            ck_assert_ptr_null(inv);
        else {
            ck_assert_ptr_nonnull(inv);
            ck_assert_int_eq(crit, 0);
            ck_assert_int_eq(inv->type, V_ASN1_GENERALIZEDTIME);
            ck_assert_int_eq(ASN1_TIME_cmp_time_t(inv, e[j].invalidity), 0);
        }
        ASN1_GENERALIZEDTIME_free(inv);
        OPENSSL_free(hex);
        BN_free(bn);
        if (i > 0)   /* sorted by serial */
            ck_assert_int_lt(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
                                 sk_X509_REVOKED_value(revs, i - 1)),
                             X509_REVOKED_get0_serialNumber(r)), 0);
    }
    X509_CRL_free(got);
    X509_CRL_free(crl);
    OPENSSL_free(der);
    unit_ca_free(&ca);
}

START_TEST(crls)
{
    check_crl("EC");
    check_crl("ED25519");
    check_crl("RSA");
}
END_TEST

/* The one-pass encoder writes what OpenSSL's objects encode to: the same
 * TBSCertList byte for byte (entries given in OpenSSL's sorted order:
 * shorter serials first), the whole CRL too where the signature is
 * deterministic (Ed25519, RSA PKCS#1 v1.5); and the signature verifies.
 * Serials with leading zeros, an odd digit count and a high bit; every
 * reason; invalidity dates; times past 2049 (GeneralizedTime). */
static void check_crl_encode(const char *type, int n)
{
    cmp_ca_t ca = unit_ca(type);
    cmp_crl_entry_t e[] = {{"7", 1700000000, 1, 1699990000},
                           {"80", 1700000100, 0, 0},
                           {"00ab", 2600000000, 10, 2599990000},
                           {"ff01", 1700000200, 6, 0},
                           {"1a2b3c4d5e6f708192a3b4c5d6e7f80", 1700000300, 9, 0},
                           {"8a2b3c4d5e6f708192a3b4c5d6e7f801", 1700000400, 4, 1600000000}};
    X509_CRL *crl = cmp_crl_build(&ca, 4242, 1700001000, 2600087400, e, n), *got;
    unsigned char *der = NULL, *want = NULL, *tbs = NULL;
    const unsigned char *q;
    size_t len = 0, hdr;
    int want_len, tbs_len;

    ck_assert_ptr_nonnull(crl);
    ck_assert_int_eq(cmp_crl_encode(&ca, 4242, 1700001000, 2600087400, e, n,
                                    &der, &len), APR_SUCCESS);
    want_len = i2d_X509_CRL(crl, &want);
    tbs_len = i2d_re_X509_CRL_tbs(crl, &tbs);
    ck_assert_int_gt(tbs_len, 0);
    /* the TBSCertList follows the outer SEQUENCE's tag and length */
    ck_assert_int_eq(der[0], 0x30);
    hdr = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7f);
    ck_assert_uint_ge(len, hdr + (size_t)tbs_len);
    ck_assert_msg(memcmp(der + hdr, tbs, (size_t)tbs_len) == 0,
                  "%s: TBSCertList differs from OpenSSL's", type);
    if (strcmp(type, "EC") != 0) {
        ck_assert_int_eq((int)len, want_len);
        ck_assert_msg(memcmp(der, want, len) == 0, "%s: CRL differs", type);
    }
    q = der;
    got = d2i_X509_CRL(NULL, &q, (long)len);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_eq(q, der + len);
    ck_assert_int_eq(X509_CRL_verify(got, X509_get0_pubkey(ca.cert)), 1);
    if (n == 0)
        ck_assert_ptr_null(X509_CRL_get_REVOKED(got));
    else
        ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(got)), n);
    X509_CRL_free(got);
    X509_CRL_free(crl);
    OPENSSL_free(der);
    OPENSSL_free(want);
    OPENSSL_free(tbs);
    unit_ca_free(&ca);
}

START_TEST(crl_encoder_matches_openssl)
{
    cmp_ca_t ca;
    cmp_crl_entry_t bad_serial = {"12xz", 1700000000, 0, 0};
    cmp_crl_entry_t bad_reason = {"12", 1700000000, 11, 0};
    unsigned char *der = (unsigned char *)"x";
    size_t len = 1;

    check_crl_encode("EC", 6);
    check_crl_encode("ED25519", 6);
    check_crl_encode("RSA", 6);
    check_crl_encode("ED25519", 0);     /* no revokedCertificates at all */
    check_crl_encode("ED25519", 1);
    ca = unit_ca("EC");
    ck_assert_int_ne(cmp_crl_encode(&ca, 1, 1700001000, 1700087400,
                                    &bad_serial, 1, &der, &len), APR_SUCCESS);
    ck_assert_ptr_null(der);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_ne(cmp_crl_encode(&ca, 1, 1700001000, 1700087400,
                                    &bad_reason, 1, &der, &len), APR_SUCCESS);
    unit_ca_free(&ca);
}
END_TEST

/* 1 when leaf verifies against the anchor, through the untrusted link
 * (NULL: none). */
static int verifies(X509 *leaf, X509 *anchor, X509 *link)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int ok;

    X509_STORE_add_cert(store, anchor);
    if (link != NULL)
        sk_X509_push(untrusted, link);
    X509_STORE_CTX_init(vctx, store, leaf, untrusted);
    ok = X509_verify_cert(vctx);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);
    ERR_clear_error();
    return ok;
}

/* RFC 9810 4.4.1: newWithNew self-signed with the old subject; newWithOld
 * lets a holder of the old root trust what the new key issues, oldWithNew
 * a holder of the new root what the old key issued; the links end with the
 * old certificate. A subordinate CA is refused. */
START_TEST(rollover_certificates)
{
    cmp_ca_t old = unit_ca("EC"), fresh = {NULL, NULL, NULL}, sub = {NULL, NULL, NULL};
    cmp_rollover_certs_t c;
    cmp_policy_t pol;
    const char *why = NULL;
    EVP_PKEY *next = unit_key("EC"), *ee = unit_key("EC");
    X509_PUBKEY *spki = unit_spki(ee);
    X509_NAME *subj = unit_name("device");
    X509 *by_old = NULL, *by_new = NULL;

    ck_assert_int_eq(cmp_rollover_make(&old, next, 3650, &c, &why), APR_SUCCESS);
    ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(c.new_with_new),
                                   X509_get_subject_name(old.cert)), 0);
    ck_assert_int_eq(X509_check_issued(c.new_with_new, c.new_with_new), X509_V_OK);
    ck_assert_int_eq(X509_verify(c.new_with_old, old.key), 1);
    ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(c.new_with_old), next), 1);
    ck_assert_int_eq(X509_verify(c.old_with_new, next), 1);
    ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(c.old_with_new),
                                 X509_get0_pubkey(old.cert)), 1);
    ck_assert_int_eq(ASN1_TIME_compare(X509_get0_notAfter(c.new_with_old),
                                       X509_get0_notAfter(old.cert)), 0);
    ck_assert_int_eq(ASN1_TIME_compare(X509_get0_notAfter(c.old_with_new),
                                       X509_get0_notAfter(old.cert)), 0);
    ck_assert_int_eq(X509_check_ca(c.new_with_old), 1);
    /* certificates of either key verify with either root */
    ck_assert(unit_policy(&pol, 10, "", 0, NULL, 1, "critical,digitalSignature",
                          "clientAuth", &why));
    fresh.cert = c.new_with_new;
    fresh.key = next;
    ck_assert_int_eq(cmp_issue_build(&old, &pol, subj, spki, NULL, NULL, NULL, &by_old),
                     APR_SUCCESS);
    ck_assert_int_eq(cmp_issue_build(&fresh, &pol, subj, spki, NULL, NULL, NULL, &by_new),
                     APR_SUCCESS);
    by_old = unit_reparse(by_old);
    by_new = unit_reparse(by_new);
    ck_assert_int_eq(verifies(by_old, old.cert, NULL), 1);
    ck_assert_int_eq(verifies(by_new, c.new_with_new, NULL), 1);
    ck_assert_int_eq(verifies(by_old, c.new_with_new, NULL), 0);
    ck_assert_int_eq(verifies(by_old, c.new_with_new, c.old_with_new), 1);
    ck_assert_int_eq(verifies(by_new, old.cert, NULL), 0);
    ck_assert_int_eq(verifies(by_new, old.cert, c.new_with_old), 1);
    cmp_rollover_certs_free(&c);
    /* a subordinate CA's new key is its issuer's to certify */
    sub.key = unit_key("EC");
    sub.cert = cmp_issue_link(&old, sub.key, subj, NULL);
    ck_assert_ptr_nonnull(sub.cert);
    ck_assert_int_eq(cmp_rollover_make(&sub, next, 3650, &c, &why), APR_EINVAL);
    ck_assert_ptr_null(c.new_with_new);
    ck_assert_ptr_nonnull(strstr(why, "self-signed"));
    cmp_policy_clear(&pol);
    X509_free(by_old);
    X509_free(by_new);
    X509_free(sub.cert);
    EVP_PKEY_free(sub.key);
    X509_NAME_free(subj);
    X509_PUBKEY_free(spki);
    EVP_PKEY_free(ee);
    EVP_PKEY_free(next);
    unit_ca_free(&old);
}
END_TEST

/* The CRL and certificate file names of each key, and back. */
START_TEST(rollover_files)
{
    const char *name = NULL;
    int g = -1;

    ck_assert_str_eq(cmp_rollover_file(upool, "ca", 0, ".crl"), "ca.crl");
    ck_assert_str_eq(cmp_rollover_file(upool, "ca", 2, ".crt"), "ca(2).crt");
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca", &name, &g), 1);
    ck_assert_str_eq(name, "ca");
    ck_assert_int_eq(g, 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "my.ca(12)", &name, &g), 1);
    ck_assert_str_eq(name, "my.ca");
    ck_assert_int_eq(g, 12);
    ck_assert_int_eq(cmp_rollover_parse(upool, "(1)", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca()", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca(0)", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca(01)", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca(1)x", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca(1)(2)", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "ca(99999999999)", &name, &g), 0);
    ck_assert_int_eq(cmp_rollover_parse(upool, "", &name, &g), 0);
}
END_TEST

/* publicUrl: the rules, and the extensions that point at it */
START_TEST(crl_points)
{
    STACK_OF(X509_EXTENSION) *exts;
    X509 *cert = X509_new();
    STACK_OF(DIST_POINT) *cdp;
    AUTHORITY_INFO_ACCESS *aia;
    GENERAL_NAME *gn;
    ACCESS_DESCRIPTION *ad;
    int i;

    ck_assert_ptr_null(cmp_crl_url_problem(upool, "publicUrl", "http://pki.example.org/crl"));
    ck_assert_ptr_null(cmp_crl_url_problem(upool, "publicUrl", "http://[::1]:8080/a,b/c"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "https://pki.example.org/crl"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http://"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http:///crl"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http://h/crl/"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http://h/crl?x=1"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http://h/c rl"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http://h/c\x01rl"));
    ck_assert_ptr_nonnull(cmp_crl_url_problem(upool, "publicUrl", "http://h/\xc3\xa4"));

    ck_assert_str_eq(cmp_crl_url_problem(upool, "ocspUrl", "ftp://h"),
                     "ocspUrl must be an http:// URL with a host (RFC 5280, RFC "
                     "6960: relying parties fetch revocation information without "
                     "TLS, which would itself need it)");

    exts = cmp_crl_cert_exts("http://h:8080/a,b", "http://o/ocsp", "my-ca", NULL);
    ck_assert_ptr_nonnull(exts);
    for (i = 0; i < sk_X509_EXTENSION_num(exts); i++)
        ck_assert(X509_add_ext(cert, sk_X509_EXTENSION_value(exts, i), -1));
    cdp = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    ck_assert_int_eq(sk_DIST_POINT_num(cdp), 1);
    gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0);
    ck_assert_int_eq(gn->type, GEN_URI);
    ck_assert_str_eq((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                     "http://h:8080/a,b/my-ca.crl");
    aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
    ck_assert_int_eq(sk_ACCESS_DESCRIPTION_num(aia), 2);
    ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
    ck_assert_int_eq(OBJ_obj2nid(ad->method), NID_ad_OCSP);
    ck_assert_str_eq((const char *)ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier),
                     "http://o/ocsp/my-ca");
    ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
    ck_assert_int_eq(OBJ_obj2nid(ad->method), NID_ad_ca_issuers);
    ck_assert_str_eq((const char *)ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier),
                     "http://h:8080/a,b/my-ca.crt");
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    AUTHORITY_INFO_ACCESS_free(aia);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_free(cert);
    /* only an OCSP URL: no distribution point, the AIA with OCSP alone */
    exts = cmp_crl_cert_exts(NULL, "http://o/ocsp", "my-ca", NULL);
    ck_assert_int_eq(sk_X509_EXTENSION_num(exts), 1);
    ck_assert_int_eq(OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, 0))),
                     NID_info_access);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}
END_TEST

/* The GET form of an OCSP request (RFC 6960 A.1): the Authority's name and
 * the DER, whether the base64 is URL-encoded or holds raw slashes. */
START_TEST(ocsp_get_paths)
{
    static const unsigned char tlv[] = {0x30, 0x03, 0xff, 0xff, 0xff};
    unsigned char *der;
    size_t len;
    const char *name;

    name = cmp_ocsp_get_request(upool, "/ocsp/demo/MAP%2F%2F%2F8%3D", &der, &len);
    ck_assert_str_eq(name, "demo");
    ck_assert_int_eq(len, sizeof(tlv));
    ck_assert_mem_eq(der, tlv, sizeof(tlv));
    /* raw slashes: the leftmost split whose rest is one DER object */
    name = cmp_ocsp_get_request(upool, "/pki/ocsp/my-ca/MAP///8=", &der, &len);
    ck_assert_str_eq(name, "my-ca");
    ck_assert_int_eq(len, sizeof(tlv));
    /* no request that decodes: the last segment is one (malformed) */
    name = cmp_ocsp_get_request(upool, "/ocsp/demo/bm90IGFuIE9DU1AgcmVxdWVzdA%3D%3D", &der, &len);
    ck_assert_str_eq(name, "demo");
    ck_assert_int_eq(len, 0);
    name = cmp_ocsp_get_request(upool, "/ocsp/demo/MAP%2x", &der, &len);
    ck_assert_str_eq(name, "demo");
    ck_assert_int_eq(len, 0);
    ck_assert_ptr_null(cmp_ocsp_get_request(upool, "/ocsp/", &der, &len));
    ck_assert_ptr_null(cmp_ocsp_get_request(upool, "/ocsp", &der, &len));
    ck_assert_ptr_null(cmp_ocsp_get_request(upool, "", &der, &len));
}
END_TEST

START_TEST(serials)
{
    int i;
    const char *prev = NULL;

    for (i = 0; i < 50; i++) {
        ASN1_INTEGER *s = cmp_issue_serial();
        BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
        const char *hex = cmp_issue_serial_hex(upool, s);

        ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
        ck_assert_int_le(BN_num_bits(bn), 127);
        ck_assert_int_ge(BN_num_bits(bn), 100);
        ck_assert(hex[0] != '0');
        ck_assert(prev == NULL || strcmp(prev, hex) != 0);
        prev = hex;
        BN_free(bn);
        ASN1_INTEGER_free(s);
    }
}
END_TEST

Suite *suite_issue(void)
{
    Suite *s = suite_create("issue");
    TCase *tc = tcase_create("issue");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, ec_ca_issues_rsa_ec_ed25519);
    tcase_add_test(tc, rsa_and_ed25519_cas);
    tcase_add_test(tc, validity_rules);
    tcase_add_test(tc, serials);
    tcase_add_test(tc, ocsp_get_paths);
    tcase_add_test(tc, crls);
    tcase_add_test(tc, crl_encoder_matches_openssl);
    tcase_add_test(tc, crl_points);
    tcase_add_test(tc, rollover_certificates);
    tcase_add_test(tc, rollover_files);
    suite_add_tcase(s, tc);
    return s;
}
