/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the OCSP responder of the core (cmp_ocsp.c), what a
 * relying party sends in, the answer out, against the demo Authority in a
 * real PostgreSQL (tests/fuzz/run.sh starts one; make test's replay uses
 * the integration database). The first input byte says how the rest
 * arrives: even, as a POST body to the demo Authority; odd, as the path
 * of a GET (cmp_ocsp_get_request splits it into the Authority's name and
 * the base64 request). Bit 1 (with a POST): the request is first made
 * again with the demo CA as the issuer of every single request (the same
 * hash algorithm, serial and request extensions), so that a mutation gets
 * past the issuer check whatever CA the seed was made for; bit 2 with it:
 * the serials become ones the demo CA issued (valid and revoked, read at
 * start), so that mutations meet the good and revoked paths too.
 * Every answer must be one DER OCSPResponse; a
 * successful one must verify with the demo CA and hold one single
 * response per single request. Anything else is a finding (abort).
 *
 * Environment (all required): CMP_FUZZ_DATABASE_URL,
 * CMP_FUZZ_SECRET_KEY_FILE (the key that encrypts the CA key at rest),
 * CMP_FUZZ_CA_FILE (the demo CA). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "cmp_issue.h"
#include "cmp_ocsp.h"
#include "cmp_store.h"

#define FUZZ_NAME "fuzz_ocsp"
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static cmp_ocsp_t *responder;
static cmp_secret_key_t skey;
static X509_STORE *trust;
static STACK_OF(X509) *ca_certs;
static X509 *ca_cert;
static ASN1_INTEGER *known[8];      /* serials the demo CA issued */
static int n_known;

static void finding(const char *what)
{
    fprintf(stderr, "fuzz_ocsp: %s\n", what);
    abort();
}

/* The answer as a relying party reads it. */
static void check(const unsigned char *req, size_t req_len,
                  const cmp_ocsp_answer_t *ans)
{
    const unsigned char *q = ans->der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)ans->len);
    OCSP_BASICRESP *bs = NULL;
    OCSP_REQUEST *rq = NULL;
    int nonce;

    if (resp == NULL || q != ans->der + ans->len)
        finding("the answer is no DER OCSPResponse");
    if (OCSP_response_status(resp) != ans->status)
        finding("the answer's status is not the one reported");
    if (ans->status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        q = req;
        rq = d2i_OCSP_REQUEST(NULL, &q, (long)req_len);
        if (rq == NULL || (bs = OCSP_response_get1_basic(resp)) == NULL)
            finding("a successful answer to what is no OCSPRequest");
        if (OCSP_basic_verify(bs, ca_certs, trust, OCSP_TRUSTOTHER) <= 0)
            finding("a successful answer does not verify with the CA");
        if (OCSP_resp_count(bs) != OCSP_request_onereq_count(rq)
                || OCSP_resp_count(bs) != ans->good + ans->revoked + ans->unknown)
            finding("not one single response per single request");
        /* 0: both, not equal; 3: in the request only */
        nonce = OCSP_check_nonce(rq, bs);
        if (nonce == 0 || nonce == 3)
            finding("the request's nonce is not echoed");
    }
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(rq);
    OCSP_RESPONSE_free(resp);
}

/* The request made again for the demo CA (see the top); NULL when the
 * input is no OCSPRequest. */
static unsigned char *reissue(apr_pool_t *p, const unsigned char *der,
                              size_t len, int serials, size_t *out_len)
{
    const unsigned char *q = der;
    OCSP_REQUEST *in = d2i_OCSP_REQUEST(NULL, &q, (long)len), *out = NULL;
    unsigned char *enc = NULL, *res = NULL;
    int i, n;

    if (in == NULL || (out = OCSP_REQUEST_new()) == NULL)
        goto done;
    for (i = 0; i < OCSP_request_onereq_count(in); i++) {
        ASN1_OBJECT *alg = NULL;
        ASN1_INTEGER *serial = NULL;
        const EVP_MD *md;
        OCSP_CERTID *cid;

        if (!OCSP_id_get0_info(NULL, &alg, NULL, &serial,
                               OCSP_onereq_get0_id(OCSP_request_onereq_get0(in, i)))
                || (md = EVP_get_digestbyobj(alg)) == NULL)
            md = EVP_sha1();
        if (serials && n_known > 0)
            serial = known[i % n_known];
        cid = OCSP_cert_id_new(md, X509_get_subject_name(ca_cert),
                               X509_get0_pubkey_bitstr(ca_cert), serial);
        if (cid == NULL || OCSP_request_add0_id(out, cid) == NULL) {
            OCSP_CERTID_free(cid);
            goto done;
        }
    }
    for (i = 0; i < OCSP_REQUEST_get_ext_count(in); i++)
        if (!OCSP_REQUEST_add_ext(out, OCSP_REQUEST_get_ext(in, i), -1))
            goto done;
    n = i2d_OCSP_REQUEST(out, &enc);
    if (n > 0) {
        res = apr_pmemdup(p, enc, (apr_size_t)n);
        *out_len = (size_t)n;
    }
done:
    OPENSSL_free(enc);
    OCSP_REQUEST_free(in);
    OCSP_REQUEST_free(out);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    cmp_ocsp_answer_t ans;
    const char *name = "demo";
    unsigned char *der;
    size_t len;

    if (size < 1)
        return 0;
    apr_pool_create(&p, root);
    der = apr_pmemdup(p, data + 1, size - 1);
    len = size - 1;
    if (data[0] & 1) {
        char *uri = apr_pstrmemdup(p, (const char *)data + 1, size - 1);

        name = cmp_ocsp_get_request(p, uri, &der, &len);
    } else if (data[0] & 2) {
        unsigned char *again = reissue(p, der, len, data[0] & 4, &len);

        if (again != NULL)
            der = again;
        else
            len = size - 1;
    }
    if (name != NULL) {
        if (cmp_ocsp_answer(responder, p, name, der, len, &ans) != APR_SUCCESS)
            finding("no answer at all");
        check(der, len, &ans);
    }
    apr_pool_destroy(p);
    ERR_clear_error();
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static cmp_db_conf_t dbc;
    cmp_db_t *db;
    const char *why = NULL;
    X509 *ca = NULL;
    BIO *b;
    PGconn *conn;
    PGresult *r;
    apr_pool_t *sub;
    int i;

    (void)argc;
    (void)argv;
    apr_initialize();
    /* leaks are judged at exit, as for fuzz_server (run.sh) */
    atexit(apr_terminate);
    apr_pool_create(&root, NULL);
    dbc.conninfo = env("CMP_FUZZ_DATABASE_URL");
    dbc.check = cmp_store_check_schema;
    dbc.max_conns = 2;
    dbc.ttl = apr_time_from_sec(300);
    dbc.acquire_timeout = apr_time_from_sec(10);
    if (cmp_secret_key_load(env("CMP_FUZZ_SECRET_KEY_FILE"), &skey, &why) != APR_SUCCESS)
        die(why);
    if (cmp_db_create(root, &dbc, cmp_store_stmts, &db) != APR_SUCCESS
            || cmp_ocsp_create(root, db, &skey, &responder) != APR_SUCCESS)
        die("cannot set up the responder");
    if ((b = BIO_new_file(env("CMP_FUZZ_CA_FILE"), "r")) == NULL
            || (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL
            || (trust = X509_STORE_new()) == NULL || !X509_STORE_add_cert(trust, ca)
            || (ca_certs = sk_X509_new_null()) == NULL || !sk_X509_push(ca_certs, ca))
        die("cannot read the CA certificate");
    BIO_free(b);
    ca_cert = ca;
    /* serials the demo CA issued, valid ones and revoked ones */
    apr_pool_create(&sub, root);
    if (cmp_db_acquire(db, sub, &conn) != APR_SUCCESS)
        die("cannot connect to the database");
    r = PQexec(conn, "(SELECT c.serial FROM certificate c JOIN authority a ON "
               "a.id = c.authority_id WHERE a.name = 'demo' AND c.status = "
               "'valid' ORDER BY c.id DESC LIMIT 4) UNION ALL (SELECT c.serial "
               "FROM certificate c JOIN authority a ON a.id = c.authority_id "
               "WHERE a.name = 'demo' AND c.status <> 'valid' ORDER BY c.id "
               "DESC LIMIT 4)");
    for (i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && i < 8; i++) {
        BIGNUM *bn = NULL;

        if (BN_hex2bn(&bn, PQgetvalue(r, i, 0)) > 0
                && (known[n_known] = BN_to_ASN1_INTEGER(bn, NULL)) != NULL)
            n_known++;
        BN_free(bn);
    }
    PQclear(r);
    apr_pool_destroy(sub);      /* the connection back to the pool */
    return 0;
}
