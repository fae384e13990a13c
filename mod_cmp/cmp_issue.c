/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cmp_issue.h"
#include "cmp_log.h"

ASN1_INTEGER *cmp_issue_serial(void)
{
    unsigned char buf[16];
    BIGNUM *bn;
    ASN1_INTEGER *serial = NULL;

    do {
        if (RAND_bytes(buf, sizeof(buf)) != 1)
            return NULL;
        buf[0] &= 0x7f;
    } while (buf[0] == 0);
    bn = BN_bin2bn(buf, sizeof(buf), NULL);
    if (bn != NULL)
        serial = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return serial;
}

const char *cmp_issue_serial_hex(apr_pool_t *p, const ASN1_INTEGER *serial)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, *c;
    const char *out;

    BN_free(bn);
    if (hex == NULL)
        return "";
    for (c = hex; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* BN_bn2hex writes whole bytes; drop a leading zero digit. */
    out = apr_pstrdup(p, hex[0] == '0' && hex[1] != '\0' ? hex + 1 : hex);
    OPENSSL_free(hex);
    return out;
}

apr_array_header_t *cmp_issue_names_text(apr_pool_t *p,
                                         const GENERAL_NAMES *names)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    STACK_OF(CONF_VALUE) *vals;
    int i;

    if (names == NULL)
        return out;
    vals = i2v_GENERAL_NAMES(NULL, (GENERAL_NAMES *)names, NULL);
    for (i = 0; i < sk_CONF_VALUE_num(vals); i++) {
        CONF_VALUE *cv = sk_CONF_VALUE_value(vals, i);

        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p, cv->name, ":",
                                                        cv->value, NULL);
    }
    sk_CONF_VALUE_pop_free(vals, X509V3_conf_free);
    return out;
}

const char *cmp_issue_name_text(apr_pool_t *p, const X509_NAME *name)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    const char *out = "";

    if (b == NULL)
        return out;
    if (name != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0
            && (n = BIO_get_mem_data(b, &data)) > 0)
        out = apr_pstrndup(p, data, (apr_size_t)n);
    BIO_free(b);
    return out;
}

/* The policy's extensions (made once), then the key identifiers: the
 * subject's is the SHA-1 of its key bits (RFC 5280 4.2.1.2, what OpenSSL's
 * "hash" computes), the authority's the CA's own (RFC 5280 4.2.1.1). */
/* keyUsage of the KU_* bits, critical when the RA Profile's is */
static int add_ku(X509 *cert, int bits, int critical)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    int i, ok;

    for (i = 0; bs != NULL && i < 9; i++)
        if ((bits & (i < 8 ? 0x80 >> i : KU_DECIPHER_ONLY))
                && !ASN1_BIT_STRING_set_bit(bs, i, 1))
            break;
    ok = bs != NULL && i == 9
         && X509_add1_ext_i2d(cert, NID_key_usage, bs, critical, X509V3_ADD_APPEND);
    ASN1_BIT_STRING_free(bs);
    return ok;
}

static int add_exts(X509 *cert, const cmp_ca_t *ca, const cmp_policy_t *pol,
                    const cmp_grant_t *grant)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ASN1_OCTET_STRING *skid = ASN1_OCTET_STRING_new();
    const ASN1_OCTET_STRING *ca_kid = X509_get0_subject_key_id(ca->cert);
    AUTHORITY_KEYID *akid = NULL;
    int i, ok = 0;

    if (pol->exts == NULL) {
        cmp_log(CMP_LOG_ERR, CMPLOGNO(10201) "RA Profile extension %s is not "
                "valid", pol->bad_ext);
        goto out;
    }
    for (i = 0; i < sk_X509_EXTENSION_num(pol->exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(pol->exts, i);

        /* the keyUsage of the key's type (cmp_policy_grant) */
        if (grant != NULL && grant->ku_bits >= 0
                && OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_key_usage) {
            if (!add_ku(cert, grant->ku_bits, pol->ku_critical))
                goto out;
            continue;
        }
        if (!X509_add_ext(cert, ext, -1))
            goto out;
    }
    for (i = 0; i < sk_X509_EXTENSION_num(ca->exts); i++)
        if (!X509_add_ext(cert, sk_X509_EXTENSION_value(ca->exts, i), -1))
            goto out;
    if (skid == NULL || !X509_pubkey_digest(cert, EVP_sha1(), md, &n)
            || !ASN1_OCTET_STRING_set(skid, md, (int)n)
            || !X509_add1_ext_i2d(cert, NID_subject_key_identifier, skid, 0,
                                  X509V3_ADD_APPEND))
        goto out;
    if (ca_kid == NULL) {
        cmp_log(CMP_LOG_ERR, CMPLOGNO(10202) "the CA certificate has no "
                "subjectKeyIdentifier for the authorityKeyIdentifier");
        goto out;
    }
    if ((akid = AUTHORITY_KEYID_new()) == NULL
            || (akid->keyid = ASN1_OCTET_STRING_dup(ca_kid)) == NULL
            || !X509_add1_ext_i2d(cert, NID_authority_key_identifier, akid, 0,
                                  X509V3_ADD_APPEND))
        goto out;
    ok = 1;
out:
    ASN1_OCTET_STRING_free(skid);
    AUTHORITY_KEYID_free(akid);
    return ok;
}

/* Never beyond the issuing CA's own validity. */
static int within_issuer(X509 *cert, const X509 *ca)
{
    return ASN1_TIME_compare(X509_get0_notAfter(ca), X509_get0_notAfter(cert)) >= 0
           || X509_set1_notAfter(cert, X509_get0_notAfter(ca));
}

static int set_validity(X509 *cert, const X509 *ca, int days,
                        const ASN1_TIME *req_not_after)
{
    time_t now = time(NULL);
    ASN1_TIME *nb = X509_getm_notBefore(cert), *na = X509_getm_notAfter(cert);

    if (X509_time_adj_ex(nb, 0, 0, &now) == NULL
            || X509_time_adj_ex(na, days, 0, &now) == NULL)
        return 0;
    if (req_not_after != NULL && ASN1_TIME_compare(req_not_after, na) < 0
            && X509_cmp_time(req_not_after, &now) > 0) {
        if (!X509_set1_notAfter(cert, req_not_after))
            return 0;
    }
    return within_issuer(cert, ca);
}

/* X509_set_pubkey() would encode the key anew through OpenSSL 3.0's
 * encoders (~0.2 ms); the request's SubjectPublicKeyInfo is copied instead. */
static int copy_spki(X509 *cert, const X509_PUBKEY *src)
{
    ASN1_OBJECT *alg_oid;
    const unsigned char *bits;
    int nbits, ptype;
    X509_ALGOR *alg;
    const ASN1_OBJECT *aobj;
    const void *pval = NULL;   /* X509_ALGOR_get0 leaves it alone when absent */
    void *pcopy = NULL;
    unsigned char *penc;

    if (src == NULL
            || !X509_PUBKEY_get0_param(&alg_oid, &bits, &nbits, &alg,
                                       (X509_PUBKEY *)src))
        return 0;
    X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
    if (ptype == V_ASN1_OBJECT)
        pcopy = OBJ_dup(pval);
    else if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL && pval != NULL)
        pcopy = ASN1_STRING_dup(pval);
    penc = OPENSSL_memdup(bits, (size_t)nbits);
    if ((pval == NULL || ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF
         || pcopy != NULL) && penc != NULL
            && X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_dup(aobj),
                                      ptype, pcopy, penc, nbits))
        return 1;
    if (ptype == V_ASN1_OBJECT)
        ASN1_OBJECT_free(pcopy);
    else
        ASN1_STRING_free(pcopy);
    OPENSSL_free(penc);
    return 0;
}

int cmp_issue_sign_md(EVP_PKEY *key, const EVP_MD **md)
{
    char name[80];

    *md = NULL;
    if (EVP_PKEY_get_default_digest_name(key, name, sizeof(name)) <= 0)
        return 0;
    if (strcmp(name, "UNDEF") == 0)
        return 1;
    *md = EVP_get_digestbyname(name);
    return *md != NULL;
}

static int sign_cert(X509 *cert, EVP_PKEY *key)
{
    const EVP_MD *md;

    return cmp_issue_sign_md(key, &md) && X509_sign(cert, key, md) > 0;
}

apr_status_t cmp_issue_build(const cmp_ca_t *ca, const cmp_policy_t *pol,
                             const X509_NAME *subject, const X509_PUBKEY *spki,
                             const STACK_OF(X509_EXTENSION) *req_exts,
                             const ASN1_TIME *req_not_after,
                             const cmp_grant_t *grant, X509 **out)
{
    X509 *cert = X509_new();
    ASN1_INTEGER *serial = cmp_issue_serial();
    int san, ok = 0;

    *out = NULL;
    if (cert == NULL || serial == NULL)
        goto out;
    if (!X509_set_version(cert, X509_VERSION_3)
            || !X509_set_serialNumber(cert, serial)
            || !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert))
            || !X509_set_subject_name(cert, subject)
            || !copy_spki(cert, spki)
            || !set_validity(cert, ca->cert, pol->validity_days, req_not_after))
        goto out;
    if (!add_exts(cert, ca, pol, grant))
        goto out;
    san = X509v3_get_ext_by_NID(req_exts, NID_subject_alt_name, -1);
    if (san >= 0 && pol->allow_san
            && !X509_add_ext(cert, X509v3_get_ext(req_exts, san), -1))
        goto out;
    if (!sign_cert(cert, ca->key))
        goto out;
    ok = 1;
    *out = cert;
    cert = NULL;
out:
    ASN1_INTEGER_free(serial);
    X509_free(cert);
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

/* ---- certificates the administrator asks for ------------------------------ */

static int add_conf_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext;
    int ok;

    if (value == NULL)
        return 1;
    ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    ok = ext != NULL && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* What the issuer adds to every certificate it issues (its CRL and
 * certificate URLs, cmp_ca_t.exts). */
static int issuer_exts(X509 *cert, const cmp_ca_t *issuer)
{
    int i;

    for (i = 0; i < sk_X509_EXTENSION_num(issuer->exts); i++)
        if (!X509_add_ext(cert, sk_X509_EXTENSION_value(issuer->exts, i), -1))
            return 0;
    return 1;
}

/* key's certificate with the given extension values, signed by issuer (by
 * key itself when issuer is NULL), with the issuer's exts. */
static X509 *make_cert(const cmp_ca_t *issuer, EVP_PKEY *key,
                       const X509_NAME *subject, int days, const char *bc,
                       const char *ku, const char *eku, int nocheck,
                       const X509 *until)
{
    X509 *cert = X509_new();
    ASN1_INTEGER *serial = cmp_issue_serial();
    X509 *icert = issuer != NULL ? issuer->cert : NULL;
    X509V3_CTX v3;
    time_t now = time(NULL);
    int ok = cert != NULL && serial != NULL
             && X509_set_version(cert, X509_VERSION_3)
             && X509_set_serialNumber(cert, serial)
             && X509_set_subject_name(cert, subject)
             && X509_set_issuer_name(cert, icert != NULL ? X509_get_subject_name(icert)
                                                         : subject)
             && X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &now)
             && X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, &now)
             && X509_set_pubkey(cert, key);

    if (ok) {
        X509V3_set_ctx(&v3, icert != NULL ? icert : cert, cert, NULL, NULL, 0);
        ok = add_conf_ext(cert, &v3, NID_basic_constraints, bc)
             && add_conf_ext(cert, &v3, NID_key_usage, ku)
             && add_conf_ext(cert, &v3, NID_ext_key_usage, eku)
             && add_conf_ext(cert, &v3, NID_id_pkix_OCSP_noCheck,
                             nocheck ? "yes" : NULL)
             && add_conf_ext(cert, &v3, NID_subject_key_identifier, "hash")
             && add_conf_ext(cert, &v3, NID_authority_key_identifier, "keyid:always")
             && (issuer == NULL || issuer_exts(cert, issuer))
             && (icert == NULL || within_issuer(cert, icert))
             && (until == NULL || within_issuer(cert, until))
             && sign_cert(cert, issuer != NULL ? issuer->key : key);
    }
    ASN1_INTEGER_free(serial);
    if (!ok) {
        X509_free(cert);
        cert = NULL;
    }
    ERR_clear_error();
    return cert;
}

X509 *cmp_issue_root_ca(EVP_PKEY *key, const X509_NAME *subject, int days)
{
    return make_cert(NULL, key, subject, days, "critical,CA:TRUE",
                     "critical,keyCertSign,cRLSign", NULL, 0, NULL);
}

X509 *cmp_issue_sub_ca(const cmp_ca_t *issuer, EVP_PKEY *key,
                       const X509_NAME *subject, int days)
{
    return make_cert(issuer, key, subject, days, "critical,CA:TRUE",
                     "critical,keyCertSign,cRLSign", NULL, 0, NULL);
}

X509 *cmp_issue_link(const cmp_ca_t *signer, EVP_PKEY *key,
                     const X509_NAME *subject, const X509 *until)
{
    return make_cert(signer, key, subject, 36500, "critical,CA:TRUE",
                     "critical,keyCertSign,cRLSign", NULL, 0, until);
}

int cmp_issue_is_kga(X509 *cert)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
    ASN1_OBJECT *kga = OBJ_txt2obj(CMP_OID_KP_CMKGA, 1);
    int i, found = 0;

    for (i = 0; kga != NULL && i < sk_ASN1_OBJECT_num(eku) && !found; i++)
        found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), kga) == 0;
    ASN1_OBJECT_free(kga);
    EXTENDED_KEY_USAGE_free(eku);
    ERR_clear_error();
    return found;
}

X509 *cmp_issue_cmp_signer(const cmp_ca_t *ca, EVP_PKEY *key,
                           const X509_NAME *subject, int days)
{
    /* id-kp-cmcRA; id-kp-cmKGA: it signs the keys the server makes
     * (RFC 9483 4.1.6) */
    return make_cert(ca, key, subject, days, "critical,CA:FALSE",
                     "critical,digitalSignature", CMP_SIGNER_EKU, 0, NULL);
}

X509 *cmp_issue_ocsp_signer(const cmp_ca_t *ca, EVP_PKEY *key,
                            const X509_NAME *subject, int days)
{
    return make_cert(ca, key, subject, days, "critical,CA:FALSE",
                     "critical,digitalSignature", "critical,OCSPSigning", 1,
                     NULL);
}
