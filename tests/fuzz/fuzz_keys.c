/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the key and MAC parameters of an untrusted request.
 * The first byte picks what the rest is:
 *   even: a SubjectPublicKeyInfo, parsed as requests are (no key decoded),
 *         checked for its form under the default RA Profile policy
 *         (cmp_policy_check_key_form) and built by the keyless key builder
 *         (cmp_key_from_spki);
 *   odd:  the protectionAlg AlgorithmIdentifier of a MAC-protected request
 *         (PasswordBasedMac or PBMAC1 parameters), derived with a secret
 *         (cmp_pbm_derive) and, when it derives, a MAC over the input.
 * Run by `make fuzz`. */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cmp_key.h"
#include "cmp_pbm.h"
#include "cmp_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static OSSL_LIB_CTX *keyless;
static cmp_policy_t policy;

static void spki(const uint8_t *data, size_t size)
{
    const unsigned char *q = data;
    X509_PUBKEY *pk = X509_PUBKEY_new_ex(keyless, NULL);
    EVP_PKEY *k;
    char why[200];

    if (pk == NULL || d2i_X509_PUBKEY(&pk, &q, (long)size) == NULL) {
        X509_PUBKEY_free(pk);
        return;
    }
    (void)cmp_policy_check_key_form(&policy, pk, why, sizeof(why));
    k = cmp_key_from_spki(pk);
    if (k != NULL)
        (void)EVP_PKEY_get_security_bits(k);
    EVP_PKEY_free(k);
    X509_PUBKEY_free(pk);
}

static void pbm(apr_pool_t *p, const uint8_t *data, size_t size)
{
    static const unsigned char secret[] = "fuzz secret";
    const unsigned char *q = data;
    X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &q, (long)size);
    cmp_pbm_t *k = NULL;
    const char *why = NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;

    if (alg == NULL)
        return;
    if (cmp_pbm_derive(p, alg, secret, sizeof(secret) - 1, &k, &why) == APR_SUCCESS)
        (void)cmp_pbm_mac(k, data, size, mac, &mac_len);
    apr_pool_clear(p);      /* the key's cleanup runs while alg lives */
    X509_ALGOR_free(alg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (root == NULL) {
        cmp_policy_spec_t spec = {365, 112, "", NULL, 1, "digitalSignature", "",
                                  NULL, 0, 0, NULL};
        const char *why = NULL;

        apr_initialize();
        apr_pool_create(&root, NULL);
        if (cmp_key_keyless_ctx(root, &keyless) != APR_SUCCESS
                || !cmp_policy_init(&policy, &spec, &why))
            __builtin_trap();
    }
    if (size < 1 || size > 0x7fffffff)
        return 0;
    apr_pool_create(&p, root);
    if ((data[0] & 1) == 0)
        spki(data + 1, size - 1);
    else
        pbm(p, data + 1, size - 1);
    apr_pool_destroy(p);
    ERR_clear_error();
    return 0;
}
