/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "cmp_pbm.h"

/* PBMParameter (RFC 4211 4.4) */
typedef struct {
    ASN1_OCTET_STRING *salt;
    X509_ALGOR *owf;
    ASN1_INTEGER *iterationCount;
    X509_ALGOR *mac;
} CMPV_PBMPARAM;
ASN1_SEQUENCE(CMPV_PBMPARAM) = {
    ASN1_SIMPLE(CMPV_PBMPARAM, salt, ASN1_OCTET_STRING),
    ASN1_SIMPLE(CMPV_PBMPARAM, owf, X509_ALGOR),
    ASN1_SIMPLE(CMPV_PBMPARAM, iterationCount, ASN1_INTEGER),
    ASN1_SIMPLE(CMPV_PBMPARAM, mac, X509_ALGOR)
} static_ASN1_SEQUENCE_END(CMPV_PBMPARAM)

/* PBMAC1-params (RFC 8018 A.5, RFC 9481 6.1.2) */
typedef struct {
    X509_ALGOR *keyDerivationFunc;
    X509_ALGOR *messageAuthScheme;
} CMPV_PBMAC1PARAM;
ASN1_SEQUENCE(CMPV_PBMAC1PARAM) = {
    ASN1_SIMPLE(CMPV_PBMAC1PARAM, keyDerivationFunc, X509_ALGOR),
    ASN1_SIMPLE(CMPV_PBMAC1PARAM, messageAuthScheme, X509_ALGOR)
} static_ASN1_SEQUENCE_END(CMPV_PBMAC1PARAM)

struct cmp_pbm_t {
    const X509_ALGOR *alg;
    char mac_md[64];            /* digest of the HMAC */
    unsigned char key[EVP_MAX_MD_SIZE];
    unsigned int key_len;
};

static apr_status_t pbm_cleanup(void *data)
{
    OPENSSL_cleanse(data, sizeof(cmp_pbm_t));
    return APR_SUCCESS;
}

/* The parameters of alg, when its OID is nid, decoded as item it. */
static ASN1_VALUE *params_of(const X509_ALGOR *alg, int nid, const ASN1_ITEM *it)
{
    const ASN1_OBJECT *oid;
    const void *pval;
    const ASN1_STRING *s;
    const unsigned char *q;
    int ptype;
    ASN1_VALUE *v;

    if (alg == NULL)
        return NULL;
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    if (OBJ_obj2nid(oid) != nid || ptype != V_ASN1_SEQUENCE || pval == NULL)
        return NULL;
    s = pval;
    q = s->data;
    v = ASN1_item_d2i(NULL, &q, s->length, it);
    if (v != NULL && q != s->data + s->length) {
        ASN1_item_free(v, it);
        return NULL;
    }
    return v;
}

/* The digest name of an HMAC algorithm (hmacWithSHA256 ...); 0 if none. */
static int hmac_digest(const X509_ALGOR *alg, char *name, size_t n)
{
    int md_nid = NID_undef;

    return alg != NULL
           && EVP_PBE_find(EVP_PBE_TYPE_PRF, OBJ_obj2nid(alg->algorithm), NULL,
                           &md_nid, NULL)
           && md_nid != NID_undef
           && OBJ_obj2txt(name, (int)n, OBJ_nid2obj(md_nid), 0) > 0;
}

static cmp_pbm_t *new_key(apr_pool_t *p)
{
    cmp_pbm_t *k = apr_pcalloc(p, sizeof(*k));

    apr_pool_cleanup_register(p, k, pbm_cleanup, apr_pool_cleanup_null);
    return k;
}

/* PBMAC1: the key is PBKDF2 of the secret; the MAC an HMAC with it. */
static apr_status_t pbmac1_derive(apr_pool_t *p, const X509_ALGOR *alg,
                                  const unsigned char *secret,
                                  size_t secret_len, cmp_pbm_t **out,
                                  const char **why)
{
    CMPV_PBMAC1PARAM *pm = (CMPV_PBMAC1PARAM *)params_of(
        alg, NID_pbmac1, ASN1_ITEM_rptr(CMPV_PBMAC1PARAM));
    PBKDF2PARAM *kdf = NULL;
    const EVP_MD *prf;
    char prf_md[64];
    cmp_pbm_t *k;
    int64_t iter = 0, key_len = 0;
    apr_status_t rv = APR_EINVAL;

    *why = "malformed PBMAC1-params";
    if (pm == NULL || (kdf = (PBKDF2PARAM *)params_of(
                           pm->keyDerivationFunc, NID_id_pbkdf2,
                           ASN1_ITEM_rptr(PBKDF2PARAM))) == NULL)
        goto done;
    *why = "the PBKDF2 salt is not an OCTET STRING";
    if (kdf->salt == NULL || kdf->salt->type != V_ASN1_OCTET_STRING)
        goto done;
    *why = "iterationCount out of bounds";
    if (!ASN1_INTEGER_get_int64(&iter, kdf->iter)
            || iter < CMP_PBM_MIN_ITERATIONS || iter > CMP_PBM_MAX_ITERATIONS)
        goto done;
    *why = "unsupported PBKDF2 pseudo-random function";
    /* an absent prf is hmacWithSHA1 (RFC 8018 A.2) */
    if (kdf->prf == NULL)
        strcpy(prf_md, "SHA1");
    else if (!hmac_digest(kdf->prf, prf_md, sizeof(prf_md)))
        goto done;
    k = new_key(p);
    *why = "unsupported MAC algorithm";
    if (!hmac_digest(pm->messageAuthScheme, k->mac_md, sizeof(k->mac_md)))
        goto done;
    *why = "keyLength out of bounds";
    if (kdf->keylength == NULL)
        key_len = EVP_MD_get_size(EVP_get_digestbyname(k->mac_md));
    else if (!ASN1_INTEGER_get_int64(&key_len, kdf->keylength))
        goto done;
    if (key_len < 16 || key_len > EVP_MAX_MD_SIZE)
        goto done;
    *why = "cannot compute the MAC key";
    rv = APR_EGENERAL;
    if ((prf = EVP_get_digestbyname(prf_md)) == NULL
            || !PKCS5_PBKDF2_HMAC((const char *)secret, (int)secret_len,
                                  kdf->salt->value.octet_string->data,
                                  kdf->salt->value.octet_string->length,
                                  (int)iter, prf, (int)key_len, k->key))
        goto done;
    k->key_len = (unsigned int)key_len;
    k->alg = alg;
    *out = k;
    *why = NULL;
    rv = APR_SUCCESS;
done:
    PBKDF2PARAM_free(kdf);
    ASN1_item_free((ASN1_VALUE *)pm, ASN1_ITEM_rptr(CMPV_PBMAC1PARAM));
    return rv;
}

apr_status_t cmp_pbm_derive(apr_pool_t *p, const X509_ALGOR *alg,
                            const unsigned char *secret, size_t secret_len,
                            cmp_pbm_t **out, const char **why)
{
    CMPV_PBMPARAM *pbm;
    EVP_MD *owf = NULL;
    EVP_MD_CTX *md = NULL;
    cmp_pbm_t *k = NULL;
    char name[64];
    int64_t iter = 0, i;
    apr_status_t rv = APR_EINVAL;

    *out = NULL;
    if (alg != NULL && OBJ_obj2nid(alg->algorithm) == NID_pbmac1)
        return pbmac1_derive(p, alg, secret, secret_len, out, why);
    pbm = (CMPV_PBMPARAM *)params_of(alg, NID_id_PasswordBasedMAC,
                                     ASN1_ITEM_rptr(CMPV_PBMPARAM));
    *why = "malformed PBMParameter";
    if (pbm == NULL)
        goto done;
    *why = "iterationCount out of bounds";
    if (!ASN1_INTEGER_get_int64(&iter, pbm->iterationCount)
            || iter < CMP_PBM_MIN_ITERATIONS || iter > CMP_PBM_MAX_ITERATIONS)
        goto done;
    *why = "unsupported one-way function";
    if (OBJ_obj2txt(name, sizeof(name), pbm->owf->algorithm, 0) <= 0
            || (owf = EVP_MD_fetch(NULL, name, NULL)) == NULL
            || (EVP_MD_get_flags(owf) & EVP_MD_FLAG_XOF) != 0)
        goto done;
    *why = "unsupported MAC algorithm";
    k = new_key(p);
    if (!hmac_digest(pbm->mac, k->mac_md, sizeof(k->mac_md)))
        goto done;
    *why = "cannot compute the MAC key";
    rv = APR_EGENERAL;
    /* base key: OWF(secret || salt), then OWF applied iterationCount - 1
     * times more */
    if ((md = EVP_MD_CTX_new()) == NULL
            || !EVP_DigestInit_ex2(md, owf, NULL)
            || !EVP_DigestUpdate(md, secret, secret_len)
            || !EVP_DigestUpdate(md, pbm->salt->data, (size_t)pbm->salt->length)
            || !EVP_DigestFinal_ex(md, k->key, &k->key_len))
        goto done;
    for (i = 1; i < iter; i++) {
        if (!EVP_DigestInit_ex2(md, NULL, NULL)
                || !EVP_DigestUpdate(md, k->key, k->key_len)
                || !EVP_DigestFinal_ex(md, k->key, &k->key_len))
            goto done;
    }
    k->alg = alg;
    *out = k;
    *why = NULL;
    rv = APR_SUCCESS;
done:
    EVP_MD_CTX_free(md);
    EVP_MD_free(owf);
    ASN1_item_free((ASN1_VALUE *)pbm, ASN1_ITEM_rptr(CMPV_PBMPARAM));
    return rv;
}

int cmp_pbm_mac(const cmp_pbm_t *k, const unsigned char *data, size_t len,
                unsigned char *mac, size_t *mac_len)
{
    return EVP_Q_mac(NULL, "HMAC", NULL, k->mac_md, NULL, k->key, k->key_len,
                     data, len, mac, EVP_MAX_MD_SIZE, mac_len) != NULL;
}

static int mac_cb(const void *arg, const unsigned char *data, size_t len,
                  unsigned char *mac, size_t *mac_len)
{
    return cmp_pbm_mac(arg, data, len, mac, mac_len);
}

int cmp_pbm_verify(const cmp_pbm_t *k, apr_pool_t *p, const cmp_view_t *v)
{
    const ASN1_BIT_STRING *bits = cmp_view_protection_bits(v);
    unsigned char *pp = NULL, mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    int pp_len = 0, ok;

    if (bits == NULL || cmp_view_protection_alg(v) != k->alg
            || cmp_view_protected_part(p, v, &pp, &pp_len) != APR_SUCCESS
            || !cmp_pbm_mac(k, pp, (size_t)pp_len, mac, &mac_len))
        return 0;
    ok = (size_t)bits->length == mac_len
         && CRYPTO_memcmp(bits->data, mac, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

apr_status_t cmp_pbm_protect(const cmp_pbm_t *k, apr_pool_t *p,
                             const unsigned char *der, apr_size_t len,
                             unsigned char **out, apr_size_t *out_len)
{
    if (len > 0x7fffffff)
        return APR_EINVAL;
    return cmp_asn1_protect(p, der, (long)len, k->alg, mac_cb, k, out, out_len);
}
