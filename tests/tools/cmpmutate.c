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
 *             [-sender822 TEXT] [-protalg OID]
 *   cmpmutate -nonces MSG      prints: <senderNonce hex> <recipNonce hex|->
 *   cmpmutate -show RESP
 *     prints: body=<name> status=<n> failInfo=<name,...> text=<statusString>
 *
 * -pbmfrom takes the PBMParameter of another (MAC-protected) message, to MAC
 * one that was signed. HEX is hex digits ("" for zero octets). -ber re-encodes the outer SEQUENCE
 * with an indefinite length (BER, not DER). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/asn1.h>

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
        printf("body=%s\n", body_name(cmp_view_body_type(v)));
        return 0;
    }
    printf("body=%s status=%d failInfo=", body_name(body), status);
    for (i = 0; i < 27; i++)
        if (fi & (1UL << i)) {
            printf("%s%s", first ? "" : ",", fail_names[i]);
            first = 0;
        }
    printf(" text=%s\n", text);
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
    printf("\n");
    return 0;
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
    cmp_edit_t e;
    int i, ber = 0;
    long len;
    unsigned char *der, *out = NULL;
    apr_size_t out_len = 0;
    FILE *f;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (argc == 3 && strcmp(argv[1], "-show") == 0)
        return show(argv[2]);
    if (argc == 3 && strcmp(argv[1], "-nonces") == 0)
        return nonces(argv[2]);
    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "-ber") == 0) { ber = 1; continue; }
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

        if (pbmfrom != NULL)
            pder = read_all(pbmfrom, &plen);
        if (cmp_view_decode(pool, pder, plen, &v) != APR_SUCCESS
                || cmp_view_protection_alg(v) == NULL
                || cmp_pbm_derive(pool, cmp_view_protection_alg(v),
                                  (const unsigned char *)secret, strlen(secret),
                                  &k, &why) != APR_SUCCESS
                || cmp_pbm_protect(k, pool, out, out_len, &out, &out_len)
                       != APR_SUCCESS)
            die("cannot MAC the message again");
    }
    if (ber)
        out = to_ber(out, &out_len);
    if ((f = fopen(outf, "wb")) == NULL || fwrite(out, 1, out_len, f) != out_len)
        die("cannot write the output");
    fclose(f);
    return 0;
}
