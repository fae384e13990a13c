/* SPDX-License-Identifier: Apache-2.0 */
/* cmpclient: a CMP client for the tests, on OpenSSL's client API, for what
 * `openssl cmp` cannot do: send the certConf of a transaction to another
 * server than its ir (two nodes, one database), confirm with a wrong
 * certHash, reject the certificate in the certConf, or send an ir whose
 * proof of possession does not verify (badpop: the template's key is
 * replaced after the POP was signed with -newkey), or leave the transaction
 * waiting (noconf: the certConf is written to -reqout, not sent). With
 * -url2, the pollReqs of a request waiting for approval go there too: a
 * second node answers them.
 *
 *   cmpclient -url URL [-url2 URL] -secret S | -cert C -key K  -trusted CA
 *             -newkey K -subject DN [-cmd ir|cr|kur] [-implicit]
 *             [-mode ok|wronghash|reject|badpop|noconf] [-certout F]
 *             [-reqout F] [-rspout F] [-irout F]
 *
 * -irout keeps the first request (the ir, cr or kur), -reqout the last.
 *
 * With -cmd genm -infotype OID it sends a general message asking for OID
 * (no value, or the certificate in -infovalue PEM, as rootCaCert has it)
 * and prints each InfoTypeAndValue of the genp, one per line:
 * "itav OID absent" or "itav OID value"; -rspout FILE keeps the response.
 * -rootupdate PREFIX writes the certificates of a rootCaKeyUpdate value
 * (RFC 9810 5.3.19.15) to PREFIX.newWithNew.pem, PREFIX.newWithOld.pem and
 * PREFIX.oldWithNew.pem.
 *
 * Exit status 0 when the enrollment (or genm) succeeded as the client sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

typedef struct {
    char *host, *port, *path;
} url_t;

static url_t url1, url2;
static int have_url2;
static const char *rspout;          /* -rspout: the last response, DER */
static const char *reqout;          /* -reqout: the last request, DER */
static const char *irout;           /* -irout: the ir, cr or kur, DER */
static const char *mode = "ok";

static void die(const char *msg)
{
    fprintf(stderr, "cmpclient: %s\n", msg);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static void parse_url(const char *s, url_t *u)
{
    char *user = NULL, *query = NULL, *frag = NULL;
    int ssl = 0;

    if (!OSSL_HTTP_parse_url(s, &ssl, &user, &u->host, &u->port, NULL,
                             &u->path, &query, &frag))
        die("cannot parse the URL");
    OPENSSL_free(user);
    OPENSSL_free(query);
    OPENSSL_free(frag);
}

static void use_url(OSSL_CMP_CTX *ctx, const url_t *u)
{
    if (!OSSL_CMP_CTX_set1_server(ctx, u->host)
            || !OSSL_CMP_CTX_set_serverPort(ctx, atoi(u->port))
            || !OSSL_CMP_CTX_set1_serverPath(ctx, u->path))
        die("cannot set the server");
}

/* The ir/cr goes to the first server; pollReq, certConf and error to the
 * second. */
static OSSL_CMP_MSG *transfer(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    int body = OSSL_CMP_MSG_get_bodytype(req);

    OSSL_CMP_MSG *rsp;

    if (reqout != NULL && !OSSL_CMP_MSG_write(reqout, req))
        die("cannot write -reqout");
    if (irout != NULL && (body == 0 || body == 2 || body == 7)
            && !OSSL_CMP_MSG_write(irout, req))
        die("cannot write -irout");
    /* noconf: the transaction is left waiting for its certConf */
    if (body == 24 && strcmp(mode, "noconf") == 0)
        return NULL;
    use_url(ctx, have_url2 && (body == 24 || body == 23 || body == 25) ? &url2 : &url1);
    rsp = OSSL_CMP_MSG_http_perform(ctx, req);
    if (rsp != NULL && rspout != NULL && !OSSL_CMP_MSG_write(rspout, rsp))
        die("cannot write -rspout");
    return rsp;
}

static const char *noconf_certout;  /* noconf: the certificate received */

static int certconf_cb(OSSL_CMP_CTX *ctx, X509 *cert, int fail_info,
                       const char **txt)
{
    if (strcmp(mode, "noconf") == 0 && noconf_certout != NULL) {
        FILE *f = fopen(noconf_certout, "w");

        if (f == NULL || !PEM_write_X509(f, cert))
            die("cannot write -certout");
        fclose(f);
    }
    if (strcmp(mode, "wronghash") == 0) {
        /* Confirm another certificate than the one received: signing it
         * anew (3.0's setters keep the cached encoding; signing does not)
         * changes the certHash the client computes. */
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

        if (k == NULL || X509_sign(cert, k, EVP_sha256()) <= 0)
            die("cannot re-sign the certificate");
        EVP_PKEY_free(k);
        return 0;
    }
    if (strcmp(mode, "reject") == 0) {
        *txt = "rejected by the test client";
        return 1 << OSSL_CMP_PKIFAILUREINFO_incorrectData;
    }
    return OSSL_CMP_certConf_cb(ctx, cert, fail_info, txt);
}

static EVP_PKEY *read_key(const char *file)
{
    FILE *f = fopen(file, "r");
    EVP_PKEY *k;

    if (f == NULL)
        die("cannot open a key file");
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL)
        die("no private key in the file");
    return k;
}

static X509 *read_cert(const char *file)
{
    FILE *f = fopen(file, "r");
    X509 *x;

    if (f == NULL)
        die("cannot open a certificate file");
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL)
        die("no certificate in the file");
    return x;
}

/* An InfoTypeAndValue of type with the certificate in pemfile for value:
 * OpenSSL 3.0 holds such values as ANY, later versions typed per infoType
 * (only rootCaCert is asked with a certificate here). */
static OSSL_CMP_ITAV *itav_with_cert(ASN1_OBJECT *type, const char *pemfile)
{
    X509 *x = read_cert(pemfile);
    OSSL_CMP_ITAV *itav;
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    ASN1_OBJECT_free(type);
    itav = OSSL_CMP_ITAV_new_rootCaCert(x);
#else
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    ASN1_TYPE *v = ASN1_TYPE_new();
    ASN1_STRING *seq = ASN1_STRING_new();

    if (len <= 0 || v == NULL || seq == NULL || !ASN1_STRING_set(seq, der, len))
        die("cannot encode -infovalue");
    ASN1_TYPE_set(v, V_ASN1_SEQUENCE, seq);
    itav = OSSL_CMP_ITAV_create(type, v);
    OPENSSL_free(der);
#endif
    X509_free(x);
    return itav;
}

static void write_cert(const X509 *x, const char *prefix, const char *name)
{
    char path[1024];
    FILE *f;

    if (x == NULL)
        return;
    snprintf(path, sizeof(path), "%s.%s.pem", prefix, name);
    if ((f = fopen(path, "w")) == NULL || !PEM_write_X509(f, x))
        die("cannot write -rootupdate");
    fclose(f);
}

/* RootCaKeyUpdateContent ::= SEQUENCE { newWithNew CMPCertificate,
 * newWithOld [0] CMPCertificate OPTIONAL, oldWithNew [1] CMPCertificate
 * OPTIONAL } (explicit tags): OpenSSL 3.2 and later decode it, 3.0 hands
 * over its DER. */
static void save_root_update(const OSSL_CMP_ITAV *it, const char *prefix)
{
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    X509 *nwn = NULL, *nwo = NULL, *own = NULL;

    if (!OSSL_CMP_ITAV_get0_rootCaKeyUpdate(it, &nwn, &nwo, &own))
        die("rootCaKeyUpdate does not decode");
    write_cert(nwn, prefix, "newWithNew");
    write_cert(nwo, prefix, "newWithOld");
    write_cert(own, prefix, "oldWithNew");
#else
    const ASN1_TYPE *v = OSSL_CMP_ITAV_get0_value(it);
    const unsigned char *q, *end;
    long inner;
    int tag, cls, first = 1;

    if (v == NULL || v->type != V_ASN1_SEQUENCE)
        die("rootCaKeyUpdate is no SEQUENCE");
    q = v->value.sequence->data;
    if (ASN1_get_object(&q, &inner, &tag, &cls, v->value.sequence->length) & 0x80)
        die("rootCaKeyUpdate does not decode");
    end = q + inner;
    while (q < end) {
        X509 *x;
        const char *name = "newWithNew";

        if (!first) {
            if (ASN1_get_object(&q, &inner, &tag, &cls, end - q) & 0x80)
                die("rootCaKeyUpdate: a tagged element does not decode");
            name = tag == 0 ? "newWithOld" : "oldWithNew";
        }
        first = 0;
        if ((x = d2i_X509(NULL, &q, end - q)) == NULL)
            die("rootCaKeyUpdate: a certificate does not decode");
        write_cert(x, prefix, name);
        X509_free(x);
    }
#endif
}

static int genm(OSSL_CMP_CTX *ctx, const char *infotype, const char *infovalue,
                const char *rootupdate)
{
    ASN1_OBJECT *type = infotype != NULL ? OBJ_txt2obj(infotype, 1) : NULL;
    OSSL_CMP_ITAV *itav = type == NULL ? NULL
                          : infovalue != NULL ? itav_with_cert(type, infovalue)
                                              : OSSL_CMP_ITAV_create(type, NULL);
    STACK_OF(OSSL_CMP_ITAV) *got;
    int i;

    if (itav == NULL || !OSSL_CMP_CTX_push0_genm_ITAV(ctx, itav))
        die("need -infotype OID");
    if ((got = OSSL_CMP_exec_GENM_ses(ctx)) == NULL) {
        char buf[512];

        fprintf(stderr, "cmpclient: genm failed: %s\n",
                OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof(buf))
                    ? buf : "no status");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    for (i = 0; i < sk_OSSL_CMP_ITAV_num(got); i++) {
        const OSSL_CMP_ITAV *it = sk_OSSL_CMP_ITAV_value(got, i);
        char oid[80];

        /* how OpenSSL holds a value depends on its type: -rspout has it */
        OBJ_obj2txt(oid, sizeof(oid), OSSL_CMP_ITAV_get0_type(it), 1);
        printf("itav %s %s\n", oid,
               OSSL_CMP_ITAV_get0_value(it) != NULL ? "value" : "absent");
        if (rootupdate != NULL && strcmp(oid, "1.3.6.1.5.5.7.4.18") == 0
                && OSSL_CMP_ITAV_get0_value(it) != NULL)
            save_root_update(it, rootupdate);
    }
    sk_OSSL_CMP_ITAV_pop_free(got, OSSL_CMP_ITAV_free);
    return 0;
}

int main(int argc, char **argv)
{
    const char *secret = NULL, *ref = "test", *certf = NULL, *keyf = NULL;
    const char *trusted = NULL, *newkey = NULL, *subject = NULL;
    const char *cmd = "ir", *certout = NULL, *infotype = NULL;
    const char *infovalue = NULL, *rootupdate = NULL;
    int implicit = 0, i;
    OSSL_CMP_CTX *ctx;
    X509 *newcert;

    for (i = 1; i + 1 < argc || (i < argc && strcmp(argv[i], "-implicit") == 0); i++) {
        const char *a = argv[i];

        if (strcmp(a, "-implicit") == 0) { implicit = 1; continue; }
        if (strcmp(a, "-url") == 0) parse_url(argv[++i], &url1);
        else if (strcmp(a, "-url2") == 0) { parse_url(argv[++i], &url2); have_url2 = 1; }
        else if (strcmp(a, "-secret") == 0) secret = argv[++i];
        else if (strcmp(a, "-ref") == 0) ref = argv[++i];
        else if (strcmp(a, "-cert") == 0) certf = argv[++i];
        else if (strcmp(a, "-key") == 0) keyf = argv[++i];
        else if (strcmp(a, "-trusted") == 0) trusted = argv[++i];
        else if (strcmp(a, "-newkey") == 0) newkey = argv[++i];
        else if (strcmp(a, "-subject") == 0) subject = argv[++i];
        else if (strcmp(a, "-cmd") == 0) cmd = argv[++i];
        else if (strcmp(a, "-mode") == 0) mode = argv[++i];
        else if (strcmp(a, "-certout") == 0) certout = argv[++i];
        else if (strcmp(a, "-infotype") == 0) infotype = argv[++i];
        else if (strcmp(a, "-infovalue") == 0) infovalue = argv[++i];
        else if (strcmp(a, "-rootupdate") == 0) rootupdate = argv[++i];
        else if (strcmp(a, "-rspout") == 0) rspout = argv[++i];
        else if (strcmp(a, "-reqout") == 0) reqout = argv[++i];
        else if (strcmp(a, "-irout") == 0) irout = argv[++i];
        else die("unknown option");
    }
    if (url1.host == NULL || trusted == NULL
            || (strcmp(cmd, "genm") != 0 && (newkey == NULL || subject == NULL)))
        die("need -url, -trusted, -newkey and -subject");
    if ((ctx = OSSL_CMP_CTX_new(NULL, NULL)) == NULL)
        die("out of memory");
    use_url(ctx, &url1);
    OSSL_CMP_CTX_set_transfer_cb(ctx, transfer);
    /* a kept-alive connection would carry the certConf to the first server */
    if (have_url2)
        OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_KEEP_ALIVE, 0);
    OSSL_CMP_CTX_set_certConf_cb(ctx, certconf_cb);
    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM, implicit);
    OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_WARNING);
    {
        X509_STORE *ts = X509_STORE_new();

        if (ts == NULL || !X509_STORE_load_file(ts, trusted)
                || !OSSL_CMP_CTX_set0_trustedStore(ctx, ts))
            die("cannot load -trusted");
    }
    if (secret != NULL) {
        if (!OSSL_CMP_CTX_set1_secretValue(ctx, (const unsigned char *)secret,
                                           (int)strlen(secret))
                || !OSSL_CMP_CTX_set1_referenceValue(ctx,
                                                     (const unsigned char *)ref,
                                                     (int)strlen(ref)))
            die("cannot set the secret");
    } else if (certf != NULL && keyf != NULL) {
        X509 *c = read_cert(certf);
        EVP_PKEY *k = read_key(keyf);

        if (!OSSL_CMP_CTX_set1_cert(ctx, c) || !OSSL_CMP_CTX_set1_pkey(ctx, k))
            die("cannot set -cert/-key");
        X509_free(c);
        EVP_PKEY_free(k);
    } else {
        die("need -secret or -cert and -key");
    }
    if (strcmp(cmd, "genm") == 0)
        return genm(ctx, infotype, infovalue, rootupdate);
    noconf_certout = certout;
    {
        X509_NAME *n = X509_NAME_new();
        EVP_PKEY *k = read_key(newkey);

        if (n == NULL || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                                     (const unsigned char *)subject,
                                                     -1, -1, 0)
                || !OSSL_CMP_CTX_set1_subjectName(ctx, n)
                || !OSSL_CMP_CTX_set0_newPkey(ctx, 1, k))
            die("cannot set -subject/-newkey");
        X509_NAME_free(n);
    }
    if (strcmp(mode, "badpop") == 0) {
        OSSL_CRMF_MSG *crm = OSSL_CMP_CTX_setup_CRM(ctx, 0, 0);
        EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

        if (crm == NULL || other == NULL
                || !OSSL_CRMF_MSG_create_popo(OSSL_CRMF_POPO_SIGNATURE, crm,
                                              OSSL_CMP_CTX_get0_newPkey(ctx, 1),
                                              EVP_sha256(), NULL, NULL)
                || !OSSL_CRMF_CERTTEMPLATE_fill(OSSL_CRMF_MSG_get0_tmpl(crm),
                                                other, NULL, NULL, NULL))
            die("cannot make the bad POP");
        newcert = OSSL_CMP_exec_certreq(ctx, 0 /* ir */, crm);
        OSSL_CRMF_MSG_free(crm);
        EVP_PKEY_free(other);
    } else {
        newcert = strcmp(cmd, "cr") == 0 ? OSSL_CMP_exec_CR_ses(ctx)
                  : strcmp(cmd, "kur") == 0 ? OSSL_CMP_exec_KUR_ses(ctx)
                  : OSSL_CMP_exec_IR_ses(ctx);
    }
    if (newcert == NULL) {
        char buf[512];

        fprintf(stderr, "cmpclient: enrollment failed: %s\n",
                OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof(buf))
                    ? buf : "no status");
        ERR_print_errors_fp(stderr);
        OSSL_CMP_CTX_free(ctx);
        return 1;
    }
    if (certout != NULL) {
        FILE *f = fopen(certout, "w");

        if (f == NULL || !PEM_write_X509(f, newcert))
            die("cannot write -certout");
        fclose(f);
    }
    OSSL_CMP_CTX_free(ctx);
    return 0;
}
