/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <apr_errno.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cmp_secret.h"

#define SECRET_VERSION 1
#define IV_LEN 12
#define TAG_LEN 16
#define HEADER_LEN (1 + IV_LEN)

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

apr_status_t cmp_secret_key_load(const char *path, cmp_secret_key_t *key,
                                 const char **why)
{
    char buf[256];
    size_t n, i, j = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        *why = "cannot open the key file";
        return APR_ENOENT;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (i = 0; i < n && j < 2 * CMP_SECRET_KEY_LEN; i++) {
        int v;

        if (isspace((unsigned char)buf[i]))
            continue;
        if ((v = hexval((unsigned char)buf[i])) < 0)
            break;
        if (j % 2 == 0)
            key->key[j / 2] = (unsigned char)(v << 4);
        else
            key->key[j / 2] |= (unsigned char)v;
        j++;
    }
    while (i < n && isspace((unsigned char)buf[i]))
        i++;
    OPENSSL_cleanse(buf, sizeof(buf));
    if (j != 2 * CMP_SECRET_KEY_LEN || i != n) {
        *why = "the key file must hold exactly 64 hex digits";
        OPENSSL_cleanse(key, sizeof(*key));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static int gcm_run(int enc, const cmp_secret_key_t *key, const char *label,
                   const unsigned char *iv, const unsigned char *in,
                   size_t inlen, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = 0, n = 0, fin = 0;

    if (c == NULL)
        return 0;
    if (!EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
            || !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL)
            || !EVP_CipherInit_ex(c, NULL, NULL, key->key, iv, enc))
        goto out;
    if (!EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)label,
                          (int)strlen(label)))
        goto out;
    if (inlen > 0 && !EVP_CipherUpdate(c, out, &n, in, (int)inlen))
        goto out;
    if (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag))
        goto out;
    if (!EVP_CipherFinal_ex(c, out + n, &fin))
        goto out;
    if (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag))
        goto out;
    ok = 1;
out:
    EVP_CIPHER_CTX_free(c);
    return ok;
}

apr_status_t cmp_secret_encrypt(apr_pool_t *p, const cmp_secret_key_t *key,
                                const char *label, const unsigned char *in,
                                size_t inlen, unsigned char **out,
                                size_t *outlen)
{
    unsigned char *buf = apr_palloc(p, HEADER_LEN + inlen + TAG_LEN);

    buf[0] = SECRET_VERSION;
    if (RAND_bytes(buf + 1, IV_LEN) != 1)
        return APR_EGENERAL;
    if (!gcm_run(1, key, label, buf + 1, in, inlen, buf + HEADER_LEN,
                 buf + HEADER_LEN + inlen))
        return APR_EGENERAL;
    *out = buf;
    *outlen = HEADER_LEN + inlen + TAG_LEN;
    return APR_SUCCESS;
}

apr_status_t cmp_secret_decrypt(const cmp_secret_key_t *key, const char *label,
                                const unsigned char *in, size_t inlen,
                                unsigned char **out, size_t *outlen)
{
    unsigned char *buf;
    size_t n;

    if (inlen < HEADER_LEN + TAG_LEN || in[0] != SECRET_VERSION)
        return APR_EINVAL;
    n = inlen - HEADER_LEN - TAG_LEN;
    buf = OPENSSL_malloc(n + 1);
    if (buf == NULL)
        return APR_ENOMEM;
    if (!gcm_run(0, key, label, in + 1, in + HEADER_LEN, n, buf,
                 (unsigned char *)in + HEADER_LEN + n)) {
        cmp_secret_free(buf, n + 1);
        return APR_EINVAL;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return APR_SUCCESS;
}

void cmp_secret_free(unsigned char *buf, size_t len)
{
    if (buf != NULL)
        OPENSSL_clear_free(buf, len);
}

apr_status_t cmp_secret_seal_key(apr_pool_t *p, const cmp_secret_key_t *key,
                                 const char *label, EVP_PKEY *pkey,
                                 unsigned char **out, size_t *outlen)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    unsigned char *der = NULL;
    int n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
    apr_status_t rv = n > 0 ? cmp_secret_encrypt(p, key, label, der, (size_t)n,
                                                  out, outlen)
                            : APR_EGENERAL;

    PKCS8_PRIV_KEY_INFO_free(p8);
    if (der != NULL)
        OPENSSL_clear_free(der, (size_t)n);
    return rv;
}

EVP_PKEY *cmp_secret_unseal_key(const cmp_secret_key_t *key, const char *label,
                                const unsigned char *in, size_t inlen)
{
    unsigned char *plain = NULL;
    size_t n = 0;
    const unsigned char *q;
    EVP_PKEY *pkey;

    if (in == NULL || cmp_secret_decrypt(key, label, in, inlen, &plain, &n)
                          != APR_SUCCESS)
        return NULL;
    q = plain;
    pkey = d2i_AutoPrivateKey(NULL, &q, (long)n);
    cmp_secret_free(plain, n);
    return pkey;
}
