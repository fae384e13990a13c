/* SPDX-License-Identifier: Apache-2.0 */
/* hdrcost: what the request checks of RFC 9483 3.5 cost per request, on
 * one core, without httpd or the database: a request (DER, e.g. one that
 * `openssl cmp -reqout` wrote) parsed as mod_cmp parses it (keyless, and our
 * header view), then again with the DER check and the header checks added
 * (messageTime checked, with a tolerance that lets an old request pass).
 *
 *   hdrcost REQUEST.der [ROUNDS]   prints microseconds per request of each */
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

int main(int argc, char **argv)
{
    static unsigned char der[65536];
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    long len, rounds = argc > 2 ? atol(argv[2]) : 20000, i, pass;
    apr_pool_t *root, *p;
    OSSL_LIB_CTX *keyless = NULL;
    double t0, cost[2];

    if (f == NULL || (len = (long)fread(der, 1, sizeof(der), f)) <= 0) {
        fprintf(stderr, "usage: hdrcost REQUEST.der [ROUNDS]\n");
        return 2;
    }
    fclose(f);
    apr_initialize();
    apr_pool_create(&root, NULL);
    if (cmp_key_keyless_ctx(root, &keyless) != APR_SUCCESS)
        return 1;
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
                        || cmp_srv_check_header(v, OSSL_CMP_MSG_get_bodytype(m),
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
