/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: what mod_cmp reads of an untrusted request before any
 * profile or database is involved. The bytes go through the header view and
 * its generic checks (RFC 9483 3.5), the certConf, rr and status views, the
 * crlStatusList of a genm, the stand-in a message OpenSSL cannot decode is
 * answered through, the certConf
 * without hashAlg for OpenSSL 3.0, and OpenSSL's own decoding with the DER
 * re-encoding check. Run by `make fuzz`. */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <openssl/cmp.h>
#include <openssl/err.h>

#include "cmp_asn1.h"
#include "cmp_server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static X509_NAME *crl_issuer;       /* a CA a crlStatusList may name */

static void standin(apr_pool_t *p, const uint8_t *data, size_t size)
{
    unsigned char *out = NULL;
    const unsigned char *q;
    apr_size_t out_len = 0;

    if (cmp_asn1_standin(p, data, (long)size, &out, &out_len) == APR_SUCCESS) {
        q = out;
        OSSL_CMP_MSG_free(d2i_OSSL_CMP_MSG(NULL, &q, (long)out_len));
    }
    if (cmp_asn1_certconf_v2(p, data, (long)size, &out, &out_len) == APR_SUCCESS) {
        q = out;
        OSSL_CMP_MSG_free(d2i_OSSL_CMP_MSG(NULL, &q, (long)out_len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    cmp_view_t *v = NULL;
    const unsigned char *q = data;
    OSSL_CMP_MSG *m;

    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
        crl_issuer = X509_NAME_new();
        X509_NAME_add_entry_by_txt(crl_issuer, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"mod_cmp Demo CA", -1, -1, 0);
    }
    if (size > 0x7fffffff)
        return 0;
    apr_pool_create(&p, root);
    if (cmp_view_decode(p, data, (long)size, &v) == APR_SUCCESS) {
        char why[400];
        int body = cmp_view_body_type(v), bad = 0, b = 0, status = 0;
        unsigned long fi = 0;
        const char *text = NULL;
        cmp_certconf_info_t cc;
        cmp_crl_status_t *crls = NULL;
        unsigned char *old_root = NULL;
        int old_root_len = 0;

        (void)cmp_srv_check_header(v, body, 1, 600, why, sizeof(why));
        (void)cmp_view_general_info_problem(v, body, &bad);
        (void)cmp_view_certconf(v, &cc);
        (void)cmp_view_rr_reason(v);
        (void)cmp_view_pop_encrypted_key(v);
        (void)cmp_view_pop_priv_key(v);
        (void)cmp_view_no_popo(v);
        (void)cmp_view_protection(v);
        (void)cmp_view_crl_status_list(v, p, crl_issuer, "http://pki.example/crl/ca.crl", &crls);
        if (cmp_view_genm_value(v, p, "1.3.6.1.5.5.7.4.20", &old_root, &old_root_len)
                && old_root != NULL) {
            const unsigned char *rq = old_root;      /* as cmp_srv_check_genm reads it */

            X509_free(d2i_X509(NULL, &rq, old_root_len));
        }
        (void)cmp_asn1_status_of(p, data, (long)size, &b, &status, &fi, &text);
        standin(p, data, size);
    }
    m = d2i_OSSL_CMP_MSG(NULL, &q, (long)size);
    if (m != NULL) {
        unsigned char *again = NULL;
        int n = i2d_OSSL_CMP_MSG(m, &again);

        if (n > 0 && (size_t)n == size)
            (void)memcmp(again, data, size);
        OPENSSL_free(again);
        OSSL_CMP_MSG_free(m);
    }
    apr_pool_destroy(p);
    ERR_clear_error();
    return 0;
}
