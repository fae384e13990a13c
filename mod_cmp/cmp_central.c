/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/cms.h>
#include <openssl/crmf.h>
#include <openssl/err.h>

#include "cmp_asn1.h"
#include "cmp_central.h"

#if OPENSSL_VERSION_NUMBER >= 0x30500000L

/* id-ct-KP-aKeyPackage (RFC 5958 3) */
#define OID_KEY_PACKAGE "2.16.840.1.101.2.1.2.78.5"
/* RFC 8018 recommends at least 10000 iterations for PBKDF2 */
#define PWRI_ITERATIONS 10000

/* The DER of a CMS ContentInfo's content: the SignedData or EnvelopedData. */
static apr_status_t content_der(apr_pool_t *p, CMS_ContentInfo *cms,
                                unsigned char **der, int *len)
{
    unsigned char *d = NULL;
    int n = i2d_CMS_ContentInfo(cms, &d);
    apr_status_t rv = n > 0 ? cmp_asn1_cms_content(p, d, n, der, len)
                            : APR_EGENERAL;

    OPENSSL_clear_free(d, n > 0 ? (size_t)n : 0);   /* it holds the key */
    return rv;
}

/* The SignedData of the key, by the key generation authority. */
static apr_status_t signed_key(apr_pool_t *p, EVP_PKEY *key, X509 *kga,
                               EVP_PKEY *kga_key, STACK_OF(X509) *chain,
                               unsigned char **der, int *len)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    BIO *in = BIO_new(BIO_s_mem());
    ASN1_OBJECT *type = OBJ_txt2obj(OID_KEY_PACKAGE, 1);
    CMS_ContentInfo *cms = NULL;
    apr_status_t rv = APR_EGENERAL;
    const unsigned int flags = CMS_BINARY | CMS_PARTIAL;

    if (p8 != NULL && in != NULL && type != NULL
            && i2d_PKCS8_PRIV_KEY_INFO_bio(in, p8) > 0
            && (cms = CMS_sign_ex(kga, kga_key, chain, NULL, flags,
                                  NULL, NULL)) != NULL
            && CMS_set1_eContentType(cms, type)
            && CMS_final(cms, in, NULL, CMS_BINARY))
        rv = content_der(p, cms, der, len);
    CMS_ContentInfo_free(cms);
    ASN1_OBJECT_free(type);
    BIO_free(in);             /* a memory BIO's buffer is cleared when freed */
    PKCS8_PRIV_KEY_INFO_free(p8);
    return rv;
}

apr_status_t cmp_central_package(apr_pool_t *p, EVP_PKEY *key,
                                 X509 *kga, EVP_PKEY *kga_key,
                                 STACK_OF(X509) *chain,
                                 X509 *recipient, const unsigned char *secret,
                                 size_t secret_len, unsigned char **der,
                                 int *len, const char **why)
{
    unsigned char *sd = NULL, *env_der = NULL, *ek_der = NULL, *pass = NULL;
    const unsigned char *q;
    int sd_len = 0, env_len = 0, n;
    STACK_OF(X509) *to = NULL;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    CMS_ContentInfo *cms = NULL;
    CMS_EnvelopedData *env = NULL;
    OSSL_CRMF_ENCRYPTEDKEY *ek = NULL;
    BIO *in = NULL;
    apr_status_t rv = APR_EGENERAL;

    *why = "the key could not be packaged";
    if (cipher == NULL || signed_key(p, key, kga, kga_key, chain, &sd, &sd_len) != APR_SUCCESS
            || (in = BIO_new_mem_buf(sd, sd_len)) == NULL)
        goto done;
    if (recipient != NULL) {
        if ((to = sk_X509_new_null()) == NULL || !sk_X509_push(to, recipient))
            goto done;
        cms = CMS_encrypt_ex(to, in, cipher, CMS_BINARY, NULL, NULL);
        if (cms == NULL) {
            *why = "the key cannot be returned encrypted to the public key "
                   "of the signer's certificate (a key that only signs): "
                   "protect the request with a MAC, or sign it with an RSA "
                   "or EC key";
            rv = APR_EINVAL;
            goto done;
        }
    } else {
        if ((cms = CMS_encrypt_ex(NULL, in, cipher, CMS_BINARY | CMS_PARTIAL,
                                  NULL, NULL)) == NULL
                || (pass = OPENSSL_memdup(secret, secret_len)) == NULL
                || CMS_add0_recipient_password(cms, PWRI_ITERATIONS, NID_undef,
                                               NID_undef, pass,
                                               (ossl_ssize_t)secret_len,
                                               NULL) == NULL)
            goto done;
        pass = NULL;          /* the recipient info owns it */
        if (!CMS_final(cms, in, NULL, CMS_BINARY))
            goto done;
    }
    if (content_der(p, cms, &env_der, &env_len) != APR_SUCCESS)
        goto done;
    q = env_der;
    if ((env = (CMS_EnvelopedData *)ASN1_item_d2i(NULL, &q, env_len,
                                                  ASN1_ITEM_rptr(CMS_EnvelopedData))) == NULL
            || (ek = OSSL_CRMF_ENCRYPTEDKEY_init_envdata(env)) == NULL)
        goto done;
    env = NULL;               /* ek owns it */
    if ((n = i2d_OSSL_CRMF_ENCRYPTEDKEY(ek, &ek_der)) <= 0)
        goto done;
    *der = apr_pmemdup(p, ek_der, (apr_size_t)n);
    *len = n;
    *why = NULL;
    rv = APR_SUCCESS;
done:
    if (sd != NULL)
        OPENSSL_cleanse(sd, (size_t)sd_len);
    OPENSSL_clear_free(pass, secret_len);
    OPENSSL_free(ek_der);
    OSSL_CRMF_ENCRYPTEDKEY_free(ek);
    ASN1_item_free((ASN1_VALUE *)env, ASN1_ITEM_rptr(CMS_EnvelopedData));
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    sk_X509_free(to);
    EVP_CIPHER_free(cipher);
    ERR_clear_error();
    return rv;
}

#else

apr_status_t cmp_central_package(apr_pool_t *p, EVP_PKEY *key,
                                 X509 *kga, EVP_PKEY *kga_key,
                                 STACK_OF(X509) *chain,
                                 X509 *recipient, const unsigned char *secret,
                                 size_t secret_len, unsigned char **der,
                                 int *len, const char **why)
{
    (void)p, (void)key, (void)kga, (void)kga_key, (void)chain, (void)recipient, (void)secret;
    (void)secret_len, (void)der, (void)len;
    *why = "central key generation needs OpenSSL 3.5 or later";
    return APR_ENOTIMPL;
}

#endif
