/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the whole CMP request path of the core, request DER in,
 * response DER out (cmp_server_handle), against the demo profiles in a real
 * PostgreSQL (tests/fuzz/run.sh starts one; make test's replay uses the
 * integration database). Every response must be a PKIMessage OpenSSL
 * decodes; anything else is a finding (abort).
 *
 * The first input byte says what the harness does to the rest before the
 * server sees it, so that a mutation reaches the code behind the
 * protection, as an attacker holding the shared secret or a device
 * certificate could:
 *   bits 0-1  0: as it is; 1: MACed again with the demo shared secret and
 *             the message's own PBM/PBMAC1 parameters; 2: signed again by a
 *             device certificate the harness enrolled at start (extraCerts,
 *             sender and senderKID made its own); 3: as 1
 *   bit 2     the RA Profile route instead of the CMP Profile route
 *   bit 3     a fresh transactionID first (else a mutated ir would mostly
 *             meet "transactionID in use")
 *
 * Environment (all required): CMP_FUZZ_DATABASE_URL, CMP_FUZZ_SECRET_KEY_FILE
 * (the key that encrypts secrets at rest), CMP_FUZZ_SECRET_FILE (the demo
 * shared secret), CMP_FUZZ_CA_FILE (the demo CA). With CMP_FUZZ_SEEDS_OUT set
 * to a folder, the start also runs one session of every kind through the
 * server with OpenSSL's client and writes each request there as a seed,
 * with hostile variants (tests/fuzz/corpus is made so). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cmp_asn1.h"
#include "cmp_pbm.h"
#include "cmp_secret.h"
#include "cmp_server.h"
#include "cmp_store.h"

#define FUZZ_NAME "fuzz_server"
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODE_PROT      3
#define MODE_MAC       1
#define MODE_SIGN      2
#define MODE_RA_ROUTE  4
#define MODE_FRESH_TID 8

static apr_pool_t *root;
static cmp_server_t *srv;
static cmp_secret_key_t skey;
static char secret[256];
static size_t secret_len;
static X509_STORE *trust;
static EVP_PKEY *dev_key;           /* the device the harness enrolled */
static X509 *dev_cert;
static unsigned char *dev_chain;    /* its extraCerts: SEQUENCE { cert } */
static int dev_chain_len;
static const char *dev_cn = "fuzz-device";
static ASN1_OCTET_STRING *dev_skid;
static const char *seeds_out;       /* CMP_FUZZ_SEEDS_OUT */
static const char *seed_label;
static int seed_mode;
static unsigned char tid_run[8];    /* random per run, then a counter */
static unsigned long tid_counter;
static int verbose;                 /* CMP_FUZZ_VERBOSE: each answer on stderr */

/* One input as the server sees it: DER in, a response that must decode. */
static void serve(apr_pool_t *p, int route, const unsigned char *der, apr_size_t len,
                  OSSL_CMP_MSG **out)
{
    cmp_response_t resp;
    cmp_edit_t e;
    unsigned char *der_out = NULL;
    apr_size_t len_out = 0;
    const unsigned char *q = NULL;
    OSSL_CMP_MSG *m;

    memset(&resp, 0, sizeof(resp));
    if (cmp_server_handle(srv, p, route ? CMP_ROUTE_RA_PROFILE : CMP_ROUTE_CMP_PROFILE,
                          "demo", der, len, &resp) != APR_SUCCESS)
        return;                 /* not a PKIMessage at all: HTTP 400 */
    /* OpenSSL decodes it as a client would; when fuzzing, without its
     * extraCerts, which are the profile's own chain whatever the input
     * (decoding certificates costs OpenSSL 3.0 more than the rest) */
    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.drop_extra_certs = out == NULL;
    m = NULL;
    if (resp.der != NULL
            && cmp_asn1_edit(p, resp.der, (long)resp.len, &e, &der_out, &len_out)
                   == APR_SUCCESS) {
        q = der_out;
        m = d2i_OSSL_CMP_MSG(NULL, &q, (long)len_out);
    }
    if (m == NULL || q != der_out + len_out
            || OSSL_CMP_MSG_get_bodytype(m) != resp.body) {
        fprintf(stderr, "fuzz_server: the response (%lu bytes, body %d) is no PKIMessage\n",
                (unsigned long)resp.len, resp.body);
        abort();
    }
    if (verbose) {
        int body = 0, status = -1;
        unsigned long fi = 0;
        const char *text = "";

        (void)cmp_asn1_status_of(p, resp.der, (long)resp.len, &body, &status, &fi, &text);
        fprintf(stderr, "fuzz_server: body %d -> %d: status %d failInfo 0x%lx \"%s\"\n",
                resp.req_body, resp.body, status, fi, text);
    }
    if (out != NULL)
        *out = m;
    else
        OSSL_CMP_MSG_free(m);
}

static void write_seed(const char *label, int mode, const unsigned char *der, apr_size_t len)
{
    static int n;
    char *name = apr_psprintf(root, "%s/%02x-%s-%d", seeds_out, mode, label, n++);
    FILE *f = fopen(name, "wb");
    unsigned char m = (unsigned char)mode;

    if (f == NULL || fwrite(&m, 1, 1, f) != 1 || fwrite(der, 1, len, f) != len)
        die("cannot write a seed");
    fclose(f);
}

/* The hostile shapes of a request: no senderNonce, an empty transactionID,
 * an old pvno, other bodies in its header (pollReq, error, pkiConf). */
static void write_variants(apr_pool_t *p, const unsigned char *der, apr_size_t len)
{
    static const unsigned char poll[] = {0xb9, 0x07, 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00};
    static const unsigned char error[] = {0xb7, 0x07, 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02};
    static const unsigned char conf[] = {0xb3, 0x02, 0x05, 0x00};
    /* what a server does not take: responses and bodies RFC 9483 leaves
     * out, each with an empty SEQUENCE (OF) */
    static const unsigned char ip[] = {0xa1, 0x04, 0x30, 0x02, 0x30, 0x00};
    static const unsigned char cp[] = {0xa3, 0x04, 0x30, 0x02, 0x30, 0x00};
    static const unsigned char kup[] = {0xa8, 0x04, 0x30, 0x02, 0x30, 0x00};
    static const unsigned char rp[] = {0xac, 0x07, 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00};
    static const unsigned char genp[] = {0xb6, 0x02, 0x30, 0x00};
    static const unsigned char pollrep[] = {0xba, 0x02, 0x30, 0x00};
    static const unsigned char nested[] = {0xb4, 0x02, 0x30, 0x00};
    static const unsigned char krr[] = {0xa9, 0x02, 0x30, 0x00};
    static const unsigned char ccr[] = {0xad, 0x02, 0x30, 0x00};
    static const struct {
        const char *label;
        const unsigned char *body;
        int len;
    } bodies[] = {{"pollreq", poll, sizeof(poll)}, {"error", error, sizeof(error)},
                  {"pkiconf", conf, sizeof(conf)}, {"ip", ip, sizeof(ip)},
                  {"cp", cp, sizeof(cp)}, {"kup", kup, sizeof(kup)}, {"rp", rp, sizeof(rp)},
                  {"genp", genp, sizeof(genp)}, {"pollrep", pollrep, sizeof(pollrep)},
                  {"nested", nested, sizeof(nested)}, {"krr", krr, sizeof(krr)},
                  {"ccr", ccr, sizeof(ccr)}};
    cmp_edit_t e;
    unsigned char *out;
    apr_size_t out_len;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        memset(&e, 0, sizeof(e));
        e.pvno = -1;
        e.body_der = bodies[i].body;
        e.body_len = bodies[i].len;
        if (cmp_asn1_edit(p, der, (long)len, &e, &out, &out_len) == APR_SUCCESS)
            write_seed(bodies[i].label, seed_mode | MODE_FRESH_TID, out, out_len);
    }
    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.nonce.what = CMP_EDIT_DROP;
    if (cmp_asn1_edit(p, der, (long)len, &e, &out, &out_len) == APR_SUCCESS)
        write_seed("nononce", seed_mode | MODE_FRESH_TID, out, out_len);
    memset(&e, 0, sizeof(e));
    e.pvno = 1;
    e.tid.what = CMP_EDIT_SET;
    e.tid.data = (const unsigned char *)"";
    if (cmp_asn1_edit(p, der, (long)len, &e, &out, &out_len) == APR_SUCCESS)
        write_seed("pvno1-emptytid", seed_mode, out, out_len);
}

/* OpenSSL's client talks to the server in this process. */
static OSSL_CMP_MSG *in_process(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    apr_pool_t *p;
    unsigned char *der = NULL;
    int n = i2d_OSSL_CMP_MSG(req, &der);
    OSSL_CMP_MSG *rsp = NULL;

    (void)ctx;
    if (n <= 0)
        return NULL;
    apr_pool_create(&p, root);
    if (seeds_out != NULL) {
        const char *label = OSSL_CMP_MSG_get_bodytype(req) == CMP_BODY_CERTCONF
                            ? apr_pstrcat(p, seed_label, "-certconf", NULL) : seed_label;

        write_seed(label, 0, der, (apr_size_t)n);
        write_seed(label, seed_mode | MODE_FRESH_TID, der, (apr_size_t)n);
        write_seed(label, seed_mode | MODE_RA_ROUTE, der, (apr_size_t)n);
        if (OSSL_CMP_MSG_get_bodytype(req) == CMP_BODY_IR)
            write_variants(p, der, (apr_size_t)n);
    }
    serve(p, 0, der, (apr_size_t)n, &rsp);
    OPENSSL_free(der);
    apr_pool_destroy(p);
    return rsp;
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    if (k == NULL)
        die("cannot make a key");
    return k;
}

static OSSL_CMP_CTX *client(const char *label, int mode, EVP_PKEY *cert_key, X509 *cert)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    X509_NAME *subject = X509_NAME_new();

    seed_label = label;
    seed_mode = mode;
    if (ctx == NULL || subject == NULL
            || !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                           (const unsigned char *)dev_cn, -1, -1, 0)
            || !OSSL_CMP_CTX_set_transfer_cb(ctx, in_process)
            || !OSSL_CMP_CTX_set1_subjectName(ctx, subject)
            || !X509_STORE_up_ref(trust)
            || !OSSL_CMP_CTX_set0_trustedStore(ctx, trust))
        die("cannot set up the client");
    X509_NAME_free(subject);
    if (cert == NULL) {
        if (!OSSL_CMP_CTX_set1_secretValue(ctx, (unsigned char *)secret, (int)secret_len)
                || !OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)"demo", 4))
            die("cannot set the shared secret");
    } else if (!OSSL_CMP_CTX_set1_cert(ctx, cert) || !OSSL_CMP_CTX_set1_pkey(ctx, cert_key)
               || !OSSL_CMP_CTX_set1_oldCert(ctx, cert)) {
        die("cannot set the client certificate");
    }
    return ctx;
}

static X509 *enroll(const char *label, int type, EVP_PKEY *key, EVP_PKEY *cert_key,
                    X509 *cert)
{
    OSSL_CMP_CTX *ctx = client(label, cert == NULL ? MODE_MAC : MODE_SIGN, cert_key, cert);
    X509 *got = NULL;

    if (!OSSL_CMP_CTX_set1_pkey(ctx, cert != NULL ? cert_key : key)
            || !EVP_PKEY_up_ref(key) || !OSSL_CMP_CTX_set0_newPkey(ctx, 1, key))
        die("cannot set the new key");
    if (type == CMP_BODY_P10CR) {
        X509_REQ *csr = X509_REQ_new();
        X509_NAME *n = X509_NAME_new();

        if (csr == NULL || n == NULL
                || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                               (const unsigned char *)dev_cn, -1, -1, 0)
                || !X509_REQ_set_subject_name(csr, n) || !X509_REQ_set_pubkey(csr, key)
                || X509_REQ_sign(csr, key, EVP_sha256()) <= 0
                || !OSSL_CMP_CTX_set1_p10CSR(ctx, csr))
            die("cannot make a CSR");
        X509_NAME_free(n);
        X509_REQ_free(csr);
    }
    if (type == CMP_BODY_IR)
        got = OSSL_CMP_exec_IR_ses(ctx);
    else if (type == CMP_BODY_CR)
        got = OSSL_CMP_exec_CR_ses(ctx);
    else if (type == CMP_BODY_P10CR)
        got = OSSL_CMP_exec_P10CR_ses(ctx);
    else
        got = OSSL_CMP_exec_KUR_ses(ctx);
    if (got == NULL || !X509_up_ref(got))
        die(apr_psprintf(root, "the %s session failed", label));
    OSSL_CMP_CTX_free(ctx);
    return got;
}

/* One session of every kind, each request written as seeds. */
static void make_seeds(void)
{
    EVP_PKEY *k1 = new_key(), *k2 = new_key(), *k3 = new_key();
    X509 *c1, *c2;
    OSSL_CMP_CTX *ctx;
    STACK_OF(OSSL_CMP_ITAV) *itavs = NULL;

    X509_free(enroll("cr", CMP_BODY_CR, k1, NULL, NULL));
    X509_free(enroll("p10cr", CMP_BODY_P10CR, k1, NULL, NULL));
    c1 = enroll("ir", CMP_BODY_IR, k1, NULL, NULL);
    X509_free(enroll("ir-signed", CMP_BODY_IR, k2, k1, c1));
    c2 = enroll("kur", CMP_BODY_KUR, k2, k1, c1);
    ctx = client("rr", MODE_SIGN, k2, c2);
    if (!OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_REVOCATION_REASON, 1)
            || OSSL_CMP_exec_RR_ses(ctx) != 1)
        die("the rr session failed");
    OSSL_CMP_CTX_free(ctx);
    ctx = client("genm", MODE_MAC, NULL, NULL);
    if (!OSSL_CMP_CTX_push0_genm_ITAV(ctx, OSSL_CMP_ITAV_create(
                OBJ_nid2obj(NID_id_it_signKeyPairTypes), NULL))
            || (itavs = OSSL_CMP_exec_GENM_ses(ctx)) == NULL)
        die("the genm session failed");
    sk_OSSL_CMP_ITAV_pop_free(itavs, OSSL_CMP_ITAV_free);
    OSSL_CMP_CTX_free(ctx);
    X509_free(c1);
    X509_free(c2);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
}

static char *read_file(const char *path, apr_size_t *len)
{
    char *s = NULL;
    apr_file_t *f;
    apr_finfo_t fi;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, root) != APR_SUCCESS
            || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
            || (s = apr_pcalloc(root, (apr_size_t)fi.size + 1)) == NULL
            || apr_file_read_full(f, s, (apr_size_t)fi.size, len) != APR_SUCCESS)
        die(apr_pstrcat(root, "cannot read ", path, NULL));
    apr_file_close(f);
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static cmp_db_conf_t dbc;
    cmp_db_t *db;
    const char *why = NULL;
    X509 *ca = NULL;
    BIO *b = NULL;
    apr_size_t n;
    char *s;
    unsigned char *q;

    (void)argc;
    (void)argv;
    apr_initialize();
    /* Debian's APR allocator maps its memory (mmap), where LeakSanitizer
     * does not look: what the profile cache and the connection pool hold
     * is seen only once they are freed. So leaks are judged at exit, after
     * every pool is gone (run.sh fuzzes with -detect_leaks=0, then replays
     * the corpus with leak detection). */
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
            || cmp_server_create(root, db, &skey, NULL, &srv) != APR_SUCCESS)
        die("cannot set up the server");
    cmp_server_set_time_tolerance(srv, 0);      /* the corpus is old */
    s = read_file(env("CMP_FUZZ_SECRET_FILE"), &n);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (n >= sizeof(secret))
        die("the shared secret is too long");
    memcpy(secret, s, n);
    secret_len = n;
    if ((b = BIO_new_file(env("CMP_FUZZ_CA_FILE"), "r")) == NULL
            || (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL
            || (trust = X509_STORE_new()) == NULL || !X509_STORE_add_cert(trust, ca))
        die("cannot read the CA certificate");
    X509_free(ca);
    BIO_free(b);
    verbose = getenv("CMP_FUZZ_VERBOSE") != NULL;
    if (RAND_bytes(tid_run, sizeof(tid_run)) != 1)
        die("no random bytes");
    seeds_out = getenv("CMP_FUZZ_SEEDS_OUT");
    if (seeds_out != NULL && *seeds_out != '\0')
        make_seeds();
    seeds_out = NULL;
    /* the device whose certificate signs again (MODE_SIGN) */
    dev_key = new_key();
    dev_cert = enroll("device", CMP_BODY_IR, dev_key, NULL, NULL);
    if ((dev_skid = (ASN1_OCTET_STRING *)X509_get0_subject_key_id(dev_cert)) == NULL)
        die("the device certificate has no subjectKeyIdentifier");
    n = (apr_size_t)i2d_X509(dev_cert, NULL);
    dev_chain = apr_palloc(root, n + 8);
    q = dev_chain;
    dev_chain_len = ASN1_object_size(1, (int)n, V_ASN1_SEQUENCE);
    ASN1_put_object(&q, 1, (int)n, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    if (i2d_X509(dev_cert, &q) != (int)n)
        die("cannot encode the device certificate");
    return 0;
}

static int sign_cb(const void *arg, const unsigned char *data, size_t len,
                   unsigned char *sig, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    *sig_len = CMP_PROTECT_MAX;
    ok = md != NULL
         && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, (EVP_PKEY *)arg) == 1
         && EVP_DigestSign(md, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* The input as the harness hands it on (see the top); 0 when it cannot. */
static int prepare(apr_pool_t *p, int mode, const unsigned char *in, apr_size_t in_len,
                   unsigned char **der, apr_size_t *len)
{
    cmp_edit_t e;
    unsigned char tid[16];
    cmp_view_t *v = NULL;

    *der = (unsigned char *)in;
    *len = in_len;
    if ((mode & (MODE_PROT | MODE_FRESH_TID)) == 0)
        return 1;
    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    if (mode & MODE_FRESH_TID) {
        memset(tid, 0, sizeof(tid));
        memcpy(tid, tid_run, sizeof(tid_run));
        memcpy(tid + 8, &tid_counter, sizeof(tid_counter));
        tid_counter++;
        e.tid.what = CMP_EDIT_SET;
        e.tid.data = tid;
        e.tid.len = sizeof(tid);
    }
    if ((mode & MODE_PROT) == MODE_SIGN) {
        e.extra_certs_der = dev_chain;
        e.extra_certs_len = dev_chain_len;
        e.sender_cn = dev_cn;
        e.kid.what = CMP_EDIT_SET;
        e.kid.data = ASN1_STRING_get0_data(dev_skid);
        e.kid.len = ASN1_STRING_length(dev_skid);
    }
    if (cmp_asn1_edit(p, in, (long)in_len, &e, der, len) != APR_SUCCESS)
        return 0;
    if ((mode & MODE_PROT) == MODE_SIGN) {
        X509_ALGOR *alg = X509_ALGOR_new();
        int ok = alg != NULL
                 && X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL)
                 && cmp_asn1_protect(p, *der, (long)*len, alg, sign_cb, dev_key, der, len)
                        == APR_SUCCESS;

        X509_ALGOR_free(alg);
        return ok;
    }
    if (mode & MODE_MAC) {
        cmp_pbm_t *k = NULL;
        const char *why = NULL;

        /* the parameters of the message as edited (its own) */
        if (cmp_view_decode(p, *der, (long)*len, &v) != APR_SUCCESS
                || cmp_view_protection(v) != CMP_PROT_MAC
                || cmp_pbm_derive(p, cmp_view_protection_alg(v),
                                  (const unsigned char *)secret, secret_len, &k, &why)
                       != APR_SUCCESS)
            return 1;           /* not MACed: on as edited */
        return cmp_pbm_protect(k, p, *der, *len, der, len) == APR_SUCCESS;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    unsigned char *der;
    apr_size_t len;

    if (size < 1 || size > 0x7fffffff)
        return 0;
    apr_pool_create(&p, root);
    if (prepare(p, data[0], data + 1, size - 1, &der, &len))
        serve(p, data[0] & MODE_RA_ROUTE, der, len, NULL);
    apr_pool_destroy(p);
    ERR_clear_error();
    return 0;
}
