/* SPDX-License-Identifier: Apache-2.0 */
/* hdrcost: what the request checks of RFC 9483 3.5 cost per request, on
 * one core, without httpd or the database: a request (DER, e.g. one that
 * `openssl cmp -reqout` wrote) parsed as mod_cmp parses it (keyless, and our
 * header view), then again with the DER check and the header checks added
 * (messageTime checked, with a tolerance that lets an old request pass).
 *
 *   hdrcost REQUEST.der [ROUNDS]   prints microseconds per request of each
 *
 * hdrcost -keys REQUEST.der [ROUNDS]: what the request's key costs: the
 * keyless parse alone; then with the template's key built from its parts
 * (cmp_key_from_spki, our path for EC, RSA, EdDSA, ML-DSA and SLH-DSA);
 * then with the request parsed again by OpenSSL with its decoders (our path
 * for the other algorithms: redecode in cmp_ossl30.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <openssl/cmp.h>

#include "cmp_key.h"
#include "cmp_server_int.h"

static double now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* the -keys mode: three ways to the template's key, us per request */
static int key_costs(const unsigned char *der, long len, long rounds,
                     OSSL_LIB_CTX *keyless)
{
    const char *what[3] = {"keyless parse", "keyless parse + key from its parts",
                           "keyless parse + OpenSSL's parse with keys"};
    double cost[3];
    long i;
    int way, n;

    for (way = 0; way < 3; way++) {
        double t0 = now_us();

        for (i = 0; i < rounds; i++) {
            const unsigned char *q = der;
            OSSL_CMP_MSG *m = (OSSL_CMP_MSG *)ASN1_item_d2i_ex(NULL, &q, len,
                                  ASN1_ITEM_rptr(OSSL_CMP_MSG), keyless, NULL), *full;
            OSSL_CRMF_MSG *crm = m != NULL ? cmp_msg_first_crm(m, &n) : NULL;
            const X509_PUBKEY *spki = NULL;
            const ASN1_TIME *nb, *na;
            EVP_PKEY *k;

            if (crm == NULL || cmp_template_read(OSSL_CRMF_MSG_get0_tmpl(crm), &spki,
                                                 &nb, &na) != APR_SUCCESS || spki == NULL)
                return 1;
            if (way == 1) {
                if ((k = cmp_key_from_spki(spki)) == NULL) {
                    fprintf(stderr, "hdrcost: this key is not built from its parts\n");
                    return 1;
                }
                EVP_PKEY_free(k);
            } else if (way == 2) {
                q = der;
                if ((full = d2i_OSSL_CMP_MSG(NULL, &q, len)) == NULL)
                    return 1;
                OSSL_CMP_MSG_free(full);
            }
            OSSL_CMP_MSG_free(m);
        }
        cost[way] = (now_us() - t0) / rounds;
    }
    for (way = 0; way < 3; way++)
        printf("%s: %.1f us\n", what[way], cost[way]);
    return 0;
}

int main(int argc, char **argv)
{
    static unsigned char der[65536];
    int keys = argc > 1 && strcmp(argv[1], "-keys") == 0;
    FILE *f = argc > 1 + keys ? fopen(argv[1 + keys], "rb") : NULL;
    long len, rounds = argc > 2 + keys ? atol(argv[2 + keys]) : 20000, i, pass;
    apr_pool_t *root, *p;
    OSSL_LIB_CTX *keyless = NULL;
    double t0, cost[2];

    if (f == NULL || (len = (long)fread(der, 1, sizeof(der), f)) <= 0) {
        fprintf(stderr, "usage: hdrcost [-keys] REQUEST.der [ROUNDS]\n");
        return 2;
    }
    fclose(f);
    apr_initialize();
    apr_pool_create(&root, NULL);
    if (cmp_key_keyless_ctx(root, &keyless) != APR_SUCCESS)
        return 1;
    if (keys)
        return key_costs(der, len, rounds, keyless);
    for (pass = 0; pass < 2; pass++) {
        t0 = now_us();
        for (i = 0; i < rounds; i++) {
            const unsigned char *q = der;
            OSSL_CMP_MSG *m;
            cmp_view_t *v = NULL;
            char why[400];

            apr_pool_create(&p, root);
            m = (OSSL_CMP_MSG *)ASN1_item_d2i_ex(NULL, &q, len,
                                                 ASN1_ITEM_rptr(OSSL_CMP_MSG),
                                                 keyless, NULL);
            if (m == NULL || cmp_view_decode(p, der, len, &v) != APR_SUCCESS)
                return 1;
            if (pass == 1) {
                unsigned char *again = NULL;
                int n = i2d_OSSL_CMP_MSG(m, &again);

                if (n != len || memcmp(again, der, (size_t)len) != 0
                        || cmp_srv_check_header(v, OSSL_CMP_MSG_get_bodytype(m), 0,
                                                1000000000L, why, sizeof(why)) != CMP_E_NONE) {
                    fprintf(stderr, "hdrcost: the request does not pass: %s\n", why);
                    return 1;
                }
                OPENSSL_free(again);
            }
            OSSL_CMP_MSG_free(m);
            apr_pool_destroy(p);
        }
        cost[pass] = (now_us() - t0) / rounds;
    }
    printf("parse %.1f us, parse + DER check + header checks %.1f us: the checks "
           "cost %.1f us per request\n", cost[0], cost[1], cost[1] - cost[0]);
    return 0;
}
