/* SPDX-License-Identifier: Apache-2.0 */
/* cmpmutate: the tests' message builder for what no client sends. It takes a
 * request that `openssl cmp -reqout` wrote, changes its header as told, and
 * MACs it again with the shared secret (same PBM parameters), so that the
 * change reaches the checks behind the protection; and it shows what a
 * response says. Both through the core's own ASN.1 code (cmp_asn1.h).
 *
 *   cmpmutate -in REQ -out OUT [-secret S [-pbmfrom MSG]] [-tid HEX|none] [-nonce HEX|none]
 *             [-recipnonce HEX|none] [-kid TEXT|none] [-time none|+S|-S]
 *             [-pvno N] [-geninfo HEX|none] [-body HEX] [-ber]
 *             [-sender822 TEXT] [-sendercn CN] [-protalg OID] [-pbmac1]
 *             [-signkey KEY]   (sign again with KEY, ECDSA or RSA with SHA-256,
 *                               instead of -secret)
 *   cmpmutate -check SECRET RESP   prints "mac ok" when RESP's MAC verifies
 *   cmpmutate -verify CA RESP  prints "signature ok" when RESP's signature
 *                              verifies (OpenSSL's validation, its signer
 *                              in extraCerts chaining to the CA file)
 *   cmpmutate -nonces MSG      prints: <senderNonce hex> <recipNonce hex|->
 *                              <transactionID hex>
 *   cmpmutate -show RESP
 *     prints: body=<name> status=<n> failInfo=<name,...> text=<statusString>
 *
 * -pbmfrom takes the PBMParameter of another (MAC-protected) message, to MAC
 * one that was signed; -pbmac1 MACs with PBMAC1 (PBKDF2-HMAC-SHA256, 1000
 * iterations, a 32-octet key, HMAC-SHA256) instead. HEX is hex digits ("" for zero octets). -ber re-encodes the outer SEQUENCE
 * with an indefinite length (BER, not DER). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cmp_asn1.h"
#include "cmp_pbm.h"

static apr_pool_t *pool;

static void die(const char *msg)
{
    fprintf(stderr, "cmpmutate: %s\n", msg);
    exit(2);
}

static unsigned char *read_all(const char *file, long *len)
{
    FILE *f = fopen(file, "rb");
    unsigned char *buf;

    if (f == NULL)
        die("cannot open the input");
    buf = apr_palloc(pool, 1 << 20);
    *len = (long)fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void hex_bytes(const char *s, cmp_edit_bytes_t *b)
{
    size_t i, n = strlen(s) / 2;
    unsigned char *d = apr_palloc(pool, n + 1);

    if (strcmp(s, "none") == 0) {
        b->what = CMP_EDIT_DROP;
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned int v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            die("bad hex");
        d[i] = (unsigned char)v;
    }
    b->what = CMP_EDIT_SET;
    b->data = d;
    b->len = (int)n;
}

static const char *fail_names[] = {
    "badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId",
    "badDataFormat", "wrongAuthority", "incorrectData", "missingTimeStamp",
    "badPOP", "certRevoked", "certConfirmed", "wrongIntegrity",
    "badRecipientNonce", "timeNotAvailable", "unacceptedPolicy",
    "unacceptedExtension", "addInfoNotAvailable", "badSenderNonce",
    "badCertTemplate", "signerNotTrusted", "transactionIdInUse",
    "unsupportedVersion", "notAuthorized", "systemUnavail", "systemFailure",
    "duplicateCertReq"
};

static const char *body_name(int b)
{
    switch (b) {
    case 1: return "ip";
    case 3: return "cp";
    case 8: return "kup";
    case 12: return "rp";
    case 19: return "pkiconf";
    case 22: return "genp";
    case 23: return "error";
    default: return "other";
    }
}

static int show(const char *file)
{
    long len;
    unsigned char *der = read_all(file, &len);
    int body = -1, status = -1, i, first = 1;
    unsigned long fi = 0;
    const char *text = "";
    cmp_view_t *v;

    if (cmp_asn1_status_of(pool, der, len, &body, &status, &fi, &text)
            != APR_SUCCESS) {
        if (cmp_view_decode(pool, der, len, &v) != APR_SUCCESS)
            die("not a PKIMessage");
        printf("body=%s\npvno=%ld\n", body_name(cmp_view_body_type(v)),
               cmp_view_pvno(v));
        return 0;
    }
    printf("body=%s status=%d failInfo=", body_name(body), status);
    for (i = 0; i < 27; i++)
        if (fi & (1UL << i)) {
            printf("%s%s", first ? "" : ",", fail_names[i]);
            first = 0;
        }
    printf(" text=%s\n", text);
    if (cmp_view_decode(pool, der, len, &v) == APR_SUCCESS)
        printf("pvno=%ld\n", cmp_view_pvno(v));
    return 0;
}

static void print_hex(const ASN1_OCTET_STRING *s)
{
    int i;

    if (s == NULL)
        printf("-");
    for (i = 0; s != NULL && i < s->length; i++)
        printf("%02x", s->data[i]);
}

static int nonces(const char *file)
{
    long len;
    unsigned char *der = read_all(file, &len);
    cmp_view_t *v;

    if (cmp_view_decode(pool, der, len, &v) != APR_SUCCESS)
        die("not a PKIMessage");
    print_hex(cmp_view_sender_nonce(v));
    printf(" ");
    print_hex(cmp_view_recip_nonce(v));
    printf(" ");
    print_hex(cmp_view_transaction_id(v));
    printf("\n");
    return 0;
}

/* An AlgorithmIdentifier of nid whose parameters are the DER der. */
static X509_ALGOR *alg_with(int nid, const unsigned char *der, int len)
{
    X509_ALGOR *a = X509_ALGOR_new();
    ASN1_STRING *s = ASN1_STRING_new();

    if (a == NULL || s == NULL || !ASN1_STRING_set(s, der, len)
            || !X509_ALGOR_set0(a, OBJ_nid2obj(nid), V_ASN1_SEQUENCE, s))
        die("cannot make an AlgorithmIdentifier");
    return a;
}

/* PBMAC1 with PBKDF2-HMAC-SHA256 (1000 iterations, a 32-octet key) and
 * HMAC-SHA256 (RFC 9481 6.1.2) */
static X509_ALGOR *pbmac1_alg(void)
{
    PBKDF2PARAM *kdf = PBKDF2PARAM_new();
    ASN1_OCTET_STRING *salt = ASN1_OCTET_STRING_new();
    unsigned char rnd[16], *kdf_der = NULL, *kalg_der = NULL, *malg_der = NULL, *seq;
    const unsigned char *parts[2];
    int lens[2], seq_len = 0, n;
    X509_ALGOR *kalg, *malg = X509_ALGOR_new();

    if (kdf == NULL || salt == NULL || malg == NULL || RAND_bytes(rnd, 16) != 1
            || !ASN1_OCTET_STRING_set(salt, rnd, 16)
            || !ASN1_INTEGER_set(kdf->iter, 1000)
            || (kdf->keylength = ASN1_INTEGER_new()) == NULL
            || !ASN1_INTEGER_set(kdf->keylength, 32)
            || (kdf->prf = X509_ALGOR_new()) == NULL
            || !X509_ALGOR_set0(kdf->prf, OBJ_nid2obj(NID_hmacWithSHA256),
                                V_ASN1_NULL, NULL)
            || !X509_ALGOR_set0(malg, OBJ_nid2obj(NID_hmacWithSHA256),
                                V_ASN1_NULL, NULL))
        die("cannot make PBMAC1 parameters");
    ASN1_TYPE_set(kdf->salt, V_ASN1_OCTET_STRING, salt);
    n = i2d_PBKDF2PARAM(kdf, &kdf_der);
    kalg = alg_with(NID_id_pbkdf2, kdf_der, n);
    lens[0] = i2d_X509_ALGOR(kalg, &kalg_der);
    lens[1] = i2d_X509_ALGOR(malg, &malg_der);
    parts[0] = kalg_der;
    parts[1] = malg_der;
    if (lens[0] <= 0 || lens[1] <= 0
            || cmp_asn1_wrap(pool, V_ASN1_SEQUENCE, 0, parts, lens, 2, &seq,
                             &seq_len) != APR_SUCCESS)
        die("cannot encode PBMAC1 parameters");
    OPENSSL_free(kdf_der);
    OPENSSL_free(kalg_der);
    OPENSSL_free(malg_der);
    X509_ALGOR_free(kalg);
    X509_ALGOR_free(malg);
    PBKDF2PARAM_free(kdf);
    return alg_with(NID_pbmac1, seq, seq_len);
}

/* ---- signing again ---------------------------------------------------------- */

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

static void sign_again(const char *keyfile, unsigned char **der, apr_size_t *len)
{
    FILE *f = fopen(keyfile, "r");
    EVP_PKEY *k = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    X509_ALGOR *alg = X509_ALGOR_new();
    int nid = k != NULL && EVP_PKEY_is_a(k, "EC") ? NID_ecdsa_with_SHA256
                                                  : NID_sha256WithRSAEncryption;

    if (f != NULL)
        fclose(f);
    if (k == NULL || alg == NULL
            || !X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
                                nid == NID_ecdsa_with_SHA256 ? V_ASN1_UNDEF : V_ASN1_NULL,
                                NULL)
            || cmp_asn1_protect(pool, *der, (long)*len, alg, sign_cb, k, der, len)
                   != APR_SUCCESS)
        die("cannot sign the message again");
    X509_ALGOR_free(alg);
    EVP_PKEY_free(k);
}

/* "mac ok" when the MAC of the message in file verifies with secret */
static int check(const char *secret, const char *file)
{
    long len;
    unsigned char *der = read_all(file, &len);
    cmp_view_t *v;
    cmp_pbm_t *k = NULL;
    const char *why = NULL;

    if (cmp_view_decode(pool, der, len, &v) != APR_SUCCESS)
        die("not a PKIMessage");
    if (cmp_view_protection(v) != CMP_PROT_MAC) {
        printf("not MAC-protected\n");
        return 1;
    }
    if (cmp_pbm_derive(pool, cmp_view_protection_alg(v),
                       (const unsigned char *)secret, strlen(secret), &k, &why)
            != APR_SUCCESS || !cmp_pbm_verify(k, pool, v)) {
        printf("mac bad (%s)\n", OBJ_nid2sn(OBJ_obj2nid(
                   cmp_view_protection_alg(v)->algorithm)));
        return 1;
    }
    printf("mac ok (%s)\n", OBJ_nid2sn(OBJ_obj2nid(
               cmp_view_protection_alg(v)->algorithm)));
    return 0;
}

static int verify(const char *ca_file, const char *file)
{
    long len;
    unsigned char *der = read_all(file, &len);
    const unsigned char *q = der;
    OSSL_CMP_MSG *m = d2i_OSSL_CMP_MSG(NULL, &q, len);
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    X509_STORE *store = X509_STORE_new();
    int ok;

    if (m == NULL || ctx == NULL || store == NULL
            || X509_STORE_load_file(store, ca_file) != 1
            || !OSSL_CMP_CTX_set0_trustedStore(ctx, store))
        die("cannot read the response or the CA");
    ok = OSSL_CMP_validate_msg(ctx, m);
    printf("signature %s\n", ok ? "ok" : "bad");
    OSSL_CMP_MSG_free(m);
    OSSL_CMP_CTX_free(ctx);
    return ok ? 0 : 1;
}

/* The outer SEQUENCE with an indefinite length: 30 80 <content> 00 00. */
static unsigned char *to_ber(const unsigned char *der, apr_size_t *len)
{
    const unsigned char *q = der;
    long clen = 0;
    int tag = 0, cls = 0;
    unsigned char *out;

    if (ASN1_get_object(&q, &clen, &tag, &cls, (long)*len) & 0x80)
        die("not DER");
    out = apr_palloc(pool, (apr_size_t)clen + 4);
    out[0] = 0x30;
    out[1] = 0x80;
    memcpy(out + 2, q, (size_t)clen);
    out[clen + 2] = out[clen + 3] = 0;
    *len = (apr_size_t)clen + 4;
    return out;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *outf = NULL, *secret = NULL, *pbmfrom = NULL;
    const char *signkey = NULL;
    int pbmac1 = 0;
    cmp_edit_t e;
    int i, ber = 0;
    long len;
    unsigned char *der, *out = NULL;
    apr_size_t out_len = 0;
    FILE *f;

    apr_initialize();
    atexit(apr_terminate);      /* the pool's cleanups free what it owns */
    apr_pool_create(&pool, NULL);
    if (argc == 3 && strcmp(argv[1], "-show") == 0)
        return show(argv[2]);
    if (argc == 3 && strcmp(argv[1], "-nonces") == 0)
        return nonces(argv[2]);
    if (argc == 4 && strcmp(argv[1], "-check") == 0)
        return check(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "-verify") == 0)
        return verify(argv[2], argv[3]);
    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "-ber") == 0) { ber = 1; continue; }
        if (strcmp(a, "-pbmac1") == 0) { pbmac1 = 1; continue; }
        if (v == NULL)
            die("an option lacks its value");
        i++;
        if (strcmp(a, "-in") == 0) in = v;
        else if (strcmp(a, "-out") == 0) outf = v;
        else if (strcmp(a, "-secret") == 0) secret = v;
        else if (strcmp(a, "-pbmfrom") == 0) pbmfrom = v;
        else if (strcmp(a, "-tid") == 0) hex_bytes(v, &e.tid);
        else if (strcmp(a, "-nonce") == 0) hex_bytes(v, &e.nonce);
        else if (strcmp(a, "-recipnonce") == 0) hex_bytes(v, &e.recip_nonce);
        else if (strcmp(a, "-kid") == 0) {
            if (strcmp(v, "none") == 0)
                e.kid.what = CMP_EDIT_DROP;
            else {
                e.kid.what = CMP_EDIT_SET;
                e.kid.data = (const unsigned char *)v;
                e.kid.len = (int)strlen(v);
            }
        } else if (strcmp(a, "-time") == 0) {
            e.time = strcmp(v, "none") == 0 ? CMP_EDIT_DROP : CMP_EDIT_SET;
            e.time_value = time(NULL) + atol(v);
        } else if (strcmp(a, "-pvno") == 0) e.pvno = atol(v);
        else if (strcmp(a, "-sender822") == 0) e.sender_email = v;
        else if (strcmp(a, "-sendercn") == 0) e.sender_cn = v;
        else if (strcmp(a, "-signkey") == 0) signkey = v;
        else if (strcmp(a, "-protalg") == 0) e.prot_alg_oid = v;
        else if (strcmp(a, "-geninfo") == 0) {
            cmp_edit_bytes_t b;

            memset(&b, 0, sizeof(b));
            hex_bytes(v, &b);
            e.general_info = b.what;
            e.general_info_der = b.data;
            e.general_info_len = b.len;
        } else if (strcmp(a, "-body") == 0) {
            cmp_edit_bytes_t b;

            memset(&b, 0, sizeof(b));
            hex_bytes(v, &b);
            e.body_der = b.data;
            e.body_len = b.len;
        } else die("unknown option");
    }
    if (in == NULL || outf == NULL)
        die("usage: cmpmutate -in REQ -out OUT [edits] | -show RESP");
    der = read_all(in, &len);
    if (cmp_asn1_edit(pool, der, len, &e, &out, &out_len) != APR_SUCCESS)
        die("cannot edit the message");
    if (secret != NULL) {
        cmp_view_t *v = NULL;
        cmp_pbm_t *k = NULL;
        const char *why = NULL;

        long plen = (long)out_len;
        unsigned char *pder = out;

        const X509_ALGOR *alg = NULL;

        if (pbmfrom != NULL)
            pder = read_all(pbmfrom, &plen);
        if (pbmac1)
            alg = pbmac1_alg();
        else if (cmp_view_decode(pool, pder, plen, &v) == APR_SUCCESS)
            alg = cmp_view_protection_alg(v);
        if (alg == NULL
                || cmp_pbm_derive(pool, alg,
                                  (const unsigned char *)secret, strlen(secret),
                                  &k, &why) != APR_SUCCESS
                || cmp_pbm_protect(k, pool, out, out_len, &out, &out_len)
                       != APR_SUCCESS)
            die("cannot MAC the message again");
    }
    if (signkey != NULL)
        sign_again(signkey, &out, &out_len);
    if (ber)
        out = to_ber(out, &out_len);
    if ((f = fopen(outf, "wb")) == NULL || fwrite(out, 1, out_len, f) != out_len)
        die("cannot write the output");
    fclose(f);
    return 0;
}
