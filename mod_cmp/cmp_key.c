/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <stdlib.h>

#include <apr_strings.h>
#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/provider.h>

#include "cmp_key.h"

/* RSAPublicKey (RFC 8017 A.1.1) */
typedef struct {
    ASN1_INTEGER *n;
    ASN1_INTEGER *e;
} CMPV_RSAPUB;
ASN1_SEQUENCE(CMPV_RSAPUB) = {
    ASN1_SIMPLE(CMPV_RSAPUB, n, ASN1_INTEGER),
    ASN1_SIMPLE(CMPV_RSAPUB, e, ASN1_INTEGER)
} static_ASN1_SEQUENCE_END(CMPV_RSAPUB)

typedef struct {
    OSSL_LIB_CTX *ctx;
    OSSL_PROVIDER *null;
} keyless_t;

static apr_status_t keyless_cleanup(void *data)
{
    keyless_t *k = data;

    /* the load holds a reference that freeing the context does not drop */
    if (k->null != NULL)
        OSSL_PROVIDER_unload(k->null);
    OSSL_LIB_CTX_free(k->ctx);
    return APR_SUCCESS;
}

apr_status_t cmp_key_keyless_ctx(apr_pool_t *p, OSSL_LIB_CTX **out)
{
    keyless_t *k = apr_pcalloc(p, sizeof(*k));

    apr_pool_cleanup_register(p, k, keyless_cleanup, apr_pool_cleanup_null);
    /* the null provider offers nothing; loading it keeps OpenSSL from
     * loading the default provider into this context on first use */
    if ((k->ctx = OSSL_LIB_CTX_new()) == NULL
            || (k->null = OSSL_PROVIDER_load(k->ctx, "null")) == NULL)
        return APR_EGENERAL;
    *out = k->ctx;
    return APR_SUCCESS;
}

static EVP_PKEY *from_params(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;

    if (c == NULL || EVP_PKEY_fromdata_init(c) <= 0
            || EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY,
                                 (OSSL_PARAM *)params) <= 0) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    EVP_PKEY_CTX_free(c);
    return k;
}

static EVP_PKEY *ec_key(const X509_ALGOR *alg, const unsigned char *pk,
                        int pklen)
{
    const ASN1_OBJECT *oid;
    const void *pval;
    int ptype, nid;
    OSSL_PARAM params[3];

    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    /* named curves only (RFC 5480 2.1.1); explicit parameters go to OpenSSL */
    if (ptype != V_ASN1_OBJECT
            || (nid = OBJ_obj2nid(pval)) == NID_undef || OBJ_nid2sn(nid) == NULL)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)OBJ_nid2sn(nid), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  (void *)pk, (size_t)pklen);
    params[2] = OSSL_PARAM_construct_end();
    /* the import checks that the point is on the curve */
    return from_params("EC", params);
}

static EVP_PKEY *rsa_key(const X509_ALGOR *alg, const unsigned char *pk,
                         int pklen)
{
    const unsigned char *q = pk;
    CMPV_RSAPUB *r;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *k = NULL;
    int ptype;

    /* rsaEncryption has NULL parameters (RFC 8017 A.1) */
    X509_ALGOR_get0(NULL, &ptype, NULL, alg);
    if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        return NULL;
    r = (CMPV_RSAPUB *)ASN1_item_d2i(NULL, &q, pklen, ASN1_ITEM_rptr(CMPV_RSAPUB));
    if (r == NULL || q != pk + pklen
            || (n = ASN1_INTEGER_to_BN(r->n, NULL)) == NULL
            || (e = ASN1_INTEGER_to_BN(r->e, NULL)) == NULL
            || BN_is_negative(n) || BN_is_negative(e)
            || (bld = OSSL_PARAM_BLD_new()) == NULL
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
            || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    k = from_params("RSA", params);
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(CMPV_RSAPUB));
    return k;
}

static EVP_PKEY *pqc_signature_key(const ASN1_OBJECT *oid,
                                   const X509_ALGOR *alg,
                                   const unsigned char *pk, int pklen);

EVP_PKEY *cmp_key_from_spki(const X509_PUBKEY *spki)
{
    ASN1_OBJECT *oid = NULL;
    const unsigned char *pk = NULL;
    X509_ALGOR *alg = NULL;
    int pklen = 0, ptype;

    if (spki == NULL
            || !X509_PUBKEY_get0_param(&oid, &pk, &pklen, &alg,
                                       (X509_PUBKEY *)spki)
            || pk == NULL || pklen <= 0)
        return NULL;
    switch (OBJ_obj2nid(oid)) {
    case NID_X9_62_id_ecPublicKey:
        return ec_key(alg, pk, pklen);
    case NID_rsaEncryption:
        return rsa_key(alg, pk, pklen);
    case NID_ED25519:
    case NID_ED448:
        /* parameters absent (RFC 8410 3) */
        X509_ALGOR_get0(NULL, &ptype, NULL, alg);
        if (ptype != V_ASN1_UNDEF)
            return NULL;
        return EVP_PKEY_new_raw_public_key_ex(NULL,
                                              OBJ_obj2nid(oid) == NID_ED25519
                                              ? "ED25519" : "ED448",
                                              NULL, pk, (size_t)pklen);
    default:
        return pqc_signature_key(oid, alg, pk, pklen);
    }
}

/* ---- the one form a key may take ----------------------------------------- */

static int refuse(char *why, size_t whylen, const char *fmt, const char *arg)
{
    snprintf(why, whylen, fmt, arg);
    return 0;
}

static int ec_form_ok(const X509_ALGOR *alg, const unsigned char *pk, int pklen,
                      const int *curves, int n_curves, char *why, size_t whylen)
{
    const void *pval;
    int ptype, nid, i;

    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype != V_ASN1_OBJECT)
        return refuse(why, whylen, "%s", "the EC key has explicit or implicit "
                      "curve parameters; only named curves are accepted "
                      "(RFC 5480 2.1.1)");
    nid = OBJ_obj2nid(pval);
    for (i = 0; i < n_curves; i++)
        if (curves[i] == nid)
            break;
    if (i == n_curves) {
        char name[80];

        OBJ_obj2txt(name, sizeof(name), pval, 0);
        return refuse(why, whylen, "EC curve %s is not allowed by the RA "
                      "Profile (allowedEcCurves)", name);
    }
    /* uncompressed (04) or compressed (02, 03) only: RFC 5480 2.2 */
    if (pk[0] != 0x04 && pk[0] != 0x02 && pk[0] != 0x03)
        return refuse(why, whylen, "%s", "the EC point is neither compressed "
                      "nor uncompressed (RFC 5480 2.2)");
    return 1;
}

static int rsa_form_ok(const X509_ALGOR *alg, const unsigned char *pk,
                       int pklen, char *why, size_t whylen)
{
    const unsigned char *q = pk;
    CMPV_RSAPUB *r = NULL;
    BIGNUM *n = NULL, *e = NULL;
    int ptype, ok = 0, bits;

    X509_ALGOR_get0(NULL, &ptype, NULL, alg);
    if (ptype != V_ASN1_NULL) {
        refuse(why, whylen, "%s", "rsaEncryption parameters must be NULL "
               "(RFC 8017 A.1)");
        goto done;
    }
    r = (CMPV_RSAPUB *)ASN1_item_d2i(NULL, &q, pklen, ASN1_ITEM_rptr(CMPV_RSAPUB));
    if (r == NULL || q != pk + pklen
            || (n = ASN1_INTEGER_to_BN(r->n, NULL)) == NULL
            || (e = ASN1_INTEGER_to_BN(r->e, NULL)) == NULL) {
        refuse(why, whylen, "%s", "the RSAPublicKey does not parse as DER");
        goto done;
    }
    bits = BN_num_bits(n);
    if (BN_is_negative(n) || !BN_is_odd(n) || bits < CMP_KEY_RSA_MIN_BITS
            || bits > CMP_KEY_RSA_MAX_BITS) {
        snprintf(why, whylen, "the RSA modulus (%d bits) must be odd and of "
                 "%d..%d bits", bits, CMP_KEY_RSA_MIN_BITS, CMP_KEY_RSA_MAX_BITS);
        goto done;
    }
    /* FIPS 186-5 A.1.1: e odd, 2^16 < e < 2^256 */
    if (BN_is_negative(e) || !BN_is_odd(e) || BN_num_bits(e) <= 16
            || BN_num_bits(e) > 256) {
        char *dec = BN_bn2dec(e);

        refuse(why, whylen, "the RSA public exponent %s must be odd and "
               "between 2^16 and 2^256 (FIPS 186-5)", dec != NULL ? dec : "?");
        OPENSSL_free(dec);
        goto done;
    }
    ok = 1;
done:
    BN_free(n);
    BN_free(e);
    ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(CMPV_RSAPUB));
    return ok;
}

/* RFC 8410 3: no parameters, a key of the algorithm's length */
static int raw_form_ok(const X509_ALGOR *alg, int pklen, int want,
                       const char *name, char *why, size_t whylen)
{
    int ptype;

    X509_ALGOR_get0(NULL, &ptype, NULL, alg);
    if (ptype != V_ASN1_UNDEF)
        return refuse(why, whylen, "the %s key has parameters (RFC 8410 3, "
                      "FIPS 203-205 keys likewise: absent)", name);
    if (pklen != want)
        return refuse(why, whylen, "the %s key has the wrong length", name);
    return 1;
}

/* The post-quantum signature and KEM algorithms of FIPS 203, 204 and 205
 * by their OIDs (NIST CSOR, as RFC 9881 / RFC 9909 and the LAMPS drafts
 * use them in a SubjectPublicKeyInfo, without parameters), OpenSSL's names
 * for them, and their public keys' lengths. */
static const struct {
    const char *oid, *name;
    int pklen;
} pqc[] = {
    {"2.16.840.1.101.3.4.3.17", "ML-DSA-44", 1312},
    {"2.16.840.1.101.3.4.3.18", "ML-DSA-65", 1952},
    {"2.16.840.1.101.3.4.3.19", "ML-DSA-87", 2592},
    {"2.16.840.1.101.3.4.3.20", "SLH-DSA-SHA2-128s", 32},
    {"2.16.840.1.101.3.4.3.21", "SLH-DSA-SHA2-128f", 32},
    {"2.16.840.1.101.3.4.3.22", "SLH-DSA-SHA2-192s", 48},
    {"2.16.840.1.101.3.4.3.23", "SLH-DSA-SHA2-192f", 48},
    {"2.16.840.1.101.3.4.3.24", "SLH-DSA-SHA2-256s", 64},
    {"2.16.840.1.101.3.4.3.25", "SLH-DSA-SHA2-256f", 64},
    {"2.16.840.1.101.3.4.3.26", "SLH-DSA-SHAKE-128s", 32},
    {"2.16.840.1.101.3.4.3.27", "SLH-DSA-SHAKE-128f", 32},
    {"2.16.840.1.101.3.4.3.28", "SLH-DSA-SHAKE-192s", 48},
    {"2.16.840.1.101.3.4.3.29", "SLH-DSA-SHAKE-192f", 48},
    {"2.16.840.1.101.3.4.3.30", "SLH-DSA-SHAKE-256s", 64},
    {"2.16.840.1.101.3.4.3.31", "SLH-DSA-SHAKE-256f", 64},
    {"2.16.840.1.101.3.4.4.1", "ML-KEM-512", 800},
    {"2.16.840.1.101.3.4.4.2", "ML-KEM-768", 1184},
    {"2.16.840.1.101.3.4.4.3", "ML-KEM-1024", 1568},
};
#define N_PQC (sizeof(pqc) / sizeof(pqc[0]))

/* An ML-DSA or SLH-DSA key (they sign their POP; ML-KEM keys do not) of
 * its length and without parameters, imported from its raw public key as
 * OpenSSL's decoder would: on OpenSSL 3.5 this costs less than parsing the
 * request again with the decoders (hdrcost -keys, README "Post-quantum
 * keys"). NULL for other algorithms, and where OpenSSL lacks them. */
static EVP_PKEY *pqc_signature_key(const ASN1_OBJECT *oid,
                                   const X509_ALGOR *alg,
                                   const unsigned char *pk, int pklen)
{
    char txt[40];
    int ptype;
    size_t i;

    X509_ALGOR_get0(NULL, &ptype, NULL, alg);
    if (ptype != V_ASN1_UNDEF || OBJ_obj2txt(txt, sizeof(txt), oid, 1) <= 0)
        return NULL;
    for (i = 0; i < N_PQC; i++)
        if (strcmp(pqc[i].oid, txt) == 0 && strncmp(pqc[i].name, "ML-KEM", 6) != 0
                && pqc[i].pklen == pklen) {
            EVP_PKEY *k = EVP_PKEY_new_raw_public_key_ex(NULL, pqc[i].name, NULL,
                                                         pk, (size_t)pklen);

            ERR_clear_error();
            return k;
        }
    return NULL;
}

int cmp_key_pqc_available(void)
{
    static int known = -1;
    EVP_KEYMGMT *km;

    if (known < 0) {            /* the same answer for every thread */
        km = EVP_KEYMGMT_fetch(NULL, "ML-DSA-65", NULL);
        known = km != NULL;
        EVP_KEYMGMT_free(km);
        ERR_clear_error();
    }
    return known;
}

const char *cmp_key_pqc_missing(const char *name, char *buf, size_t len)
{
    size_t i;

    for (i = 0; name != NULL && i < N_PQC; i++)
        if (strcasecmp(pqc[i].name, name) == 0 || strcmp(pqc[i].oid, name) == 0) {
            if (cmp_key_pqc_available())
                return NULL;
            snprintf(buf, len, "%s keys need OpenSSL 3.5 or later; this server "
                     "runs %s", pqc[i].name, OpenSSL_version(OPENSSL_VERSION));
            return buf;
        }
    return NULL;
}

/* A post-quantum key: refused where OpenSSL lacks the algorithm, else of
 * its algorithm's length, without parameters; 1 when oid is none of them. */
static int pqc_form_ok(const ASN1_OBJECT *oid, const X509_ALGOR *alg,
                       int pklen, char *why, size_t whylen)
{
    char text[80];
    size_t i;

    if (OBJ_obj2txt(text, sizeof(text), oid, 1) <= 0)
        return 1;
    for (i = 0; i < N_PQC; i++)
        if (strcmp(pqc[i].oid, text) == 0)
            return cmp_key_pqc_missing(text, why, whylen) != NULL ? 0
                   : raw_form_ok(alg, pklen, pqc[i].pklen, pqc[i].name, why,
                                 whylen);
    return 1;
}

int cmp_key_form_ok(const X509_PUBKEY *spki, const int *curves, int n_curves,
                    char *why, size_t whylen)
{
    ASN1_OBJECT *oid = NULL;
    const unsigned char *pk = NULL;
    X509_ALGOR *alg = NULL;
    int pklen = 0;

    why[0] = '\0';
    if (spki == NULL)
        return 1;
    if (!X509_PUBKEY_get0_param(&oid, &pk, &pklen, &alg, (X509_PUBKEY *)spki)
            || pk == NULL || pklen <= 0)
        return refuse(why, whylen, "%s", "the public key is empty");
    switch (OBJ_obj2nid(oid)) {
    case NID_X9_62_id_ecPublicKey:
        return ec_form_ok(alg, pk, pklen, curves, n_curves, why, whylen);
    case NID_rsaEncryption:
        return rsa_form_ok(alg, pk, pklen, why, whylen);
    case NID_ED25519:
        return raw_form_ok(alg, pklen, 32, "Ed25519", why, whylen);
    case NID_ED448:
        return raw_form_ok(alg, pklen, 57, "Ed448", why, whylen);
    case NID_X25519:
        return raw_form_ok(alg, pklen, 32, "X25519", why, whylen);
    case NID_X448:
        return raw_form_ok(alg, pklen, 56, "X448", why, whylen);
    default:
        /* post-quantum keys checked here (a 3.0 OpenSSL cannot decode
         * them); others: OpenSSL decodes them, the policy judges them */
        return pqc_form_ok(oid, alg, pklen, why, whylen);
    }
}

/* ---- key generation ------------------------------------------------------ */

const char *cmp_key_central_missing(char *buf, size_t len)
{
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
    (void)buf;
    (void)len;
    return NULL;
#else
    snprintf(buf, len, "central key generation (RFC 9483 4.1.6) needs "
             "OpenSSL 3.5 or later; this server runs %s",
             OpenSSL_version(OPENSSL_VERSION));
    return buf;
#endif
}

static int settable(EVP_PKEY_CTX *ctx, const char *name)
{
    const OSSL_PARAM *ps = EVP_PKEY_CTX_settable_params(ctx);

    return ps != NULL && OSSL_PARAM_locate_const(ps, name) != NULL;
}

/* A context ready to generate a key of type and param, or NULL with *why. */
static EVP_PKEY_CTX *keygen_ctx(apr_pool_t *p, const char *type,
                                const char *param, size_t *bits,
                                const char **why)
{
    EVP_PKEY_CTX *ctx = type != NULL && *type
                        ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    OSSL_PARAM ps[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
    char missing[200], *end = NULL;

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0) {
        *why = cmp_key_pqc_missing(type, missing, sizeof(missing)) != NULL
               ? apr_pstrdup(p, missing) : "key type not supported by this OpenSSL";
        goto fail;
    }
    /* EC defaults to P-256; Ed25519 and the like have a group too, their
     * own, and take no other */
    if (settable(ctx, OSSL_PKEY_PARAM_GROUP_NAME)
            && ((param != NULL && *param) || strcasecmp(type, "EC") == 0)) {
        ps[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)(param && *param ? param
                                                                          : "P-256"), 0);
    } else if (settable(ctx, OSSL_PKEY_PARAM_BITS)) {
        *bits = param != NULL && *param ? strtoul(param, &end, 10) : 3072;
        if ((end != NULL && *end != '\0') || *bits < CMP_KEY_RSA_MIN_BITS
                || *bits > CMP_KEY_RSA_MAX_BITS) {
            *why = apr_psprintf(p, "the key size must be a number of bits, %d..%d",
                                CMP_KEY_RSA_MIN_BITS, CMP_KEY_RSA_MAX_BITS);
            goto fail;
        }
        ps[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_BITS, bits);
    } else if (param != NULL && *param) {
        *why = "this key type takes no parameter";
        goto fail;
    }
    if (!EVP_PKEY_CTX_set_params(ctx, ps)) {
        *why = settable(ctx, OSSL_PKEY_PARAM_GROUP_NAME)
               ? "unknown curve for this key type"
               : "unsupported size for this key type";
        goto fail;
    }
    ERR_clear_error();
    return ctx;
fail:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

EVP_PKEY *cmp_key_generate(apr_pool_t *p, const char *type, const char *param,
                           const char **why)
{
    size_t bits = 0;
    EVP_PKEY_CTX *ctx = keygen_ctx(p, type, param, &bits, why);
    EVP_PKEY *key = NULL;

    if (ctx != NULL && EVP_PKEY_generate(ctx, &key) <= 0) {
        *why = "key generation failed (unknown curve or size?)";
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return key;
}

int cmp_key_can_generate(apr_pool_t *p, const char *type, const char *param,
                         const char **why)
{
    size_t bits = 0;
    EVP_PKEY_CTX *ctx = keygen_ctx(p, type, param, &bits, why);
    EVP_PKEY *key = NULL;
    int ok = ctx != NULL;

    /* a curve name is only known to be one when a key is made on it; EC
     * keys are cheap, the expensive ones (RSA) are checked above */
    if (ok && settable(ctx, OSSL_PKEY_PARAM_GROUP_NAME)
            && (ok = EVP_PKEY_generate(ctx, &key) > 0) == 0)
        *why = "unknown curve for this key type";
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

void cmp_key_spec_split(apr_pool_t *p, const char *spec, const char **type,
                        const char **param)
{
    const char *colon = spec != NULL ? strchr(spec, ':') : NULL;

    *type = colon != NULL ? apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec))
                          : spec;
    *param = colon != NULL ? colon + 1 : NULL;
}
