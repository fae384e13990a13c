/* SPDX-License-Identifier: Apache-2.0 */
/* The generic checks of a request (RFC 9483 3.1, 3.5). Those of the header
 * need neither the protection nor the database: made on the header as our
 * view decoded it, before the protection is checked (nothing there costs
 * more than a comparison), for messages OpenSSL cannot decode as well. Those
 * of a certConf need its transaction, loaded from the database. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/x509v3.h>

#include "cmp_server_int.h"

/* RFC 9483 3.1: 128 bits of random data for transactionID and senderNonce;
 * more than 64 octets is no nonce anyone sends, and is not stored. */
#define ID_MIN 16
#define ID_MAX 64

static int first_message(int body)
{
    return body == CMP_BODY_IR || body == CMP_BODY_CR || body == CMP_BODY_P10CR
           || body == CMP_BODY_KUR || body == CMP_BODY_RR || body == CMP_BODY_GENM;
}

/* pvno 3 (RFC 9810 7): for a CMP Profile of variant v3 where OpenSSL speaks
 * it, and for a certConf with hashAlg, which we take on any profile and
 * any OpenSSL */
static int pvno_ok(long pvno, int body, int v3)
{
#ifdef OSSL_CMP_PVNO_3
    return pvno == OSSL_CMP_PVNO_2
           || (pvno == OSSL_CMP_PVNO_3 && (v3 || body == CMP_BODY_CERTCONF));
#else
    (void)v3;
    return pvno == OSSL_CMP_PVNO || (pvno == 3 && body == CMP_BODY_CERTCONF);
#endif
}

int cmp_srv_speaks_v3(const cmp_profile_t *pr)
{
    return pr != NULL && pr->speaks_v3;
}

long cmp_srv_response_pvno(long pvno, int body, int v3)
{
    if (pvno_ok(pvno, body, v3))
        return pvno;
    if (pvno < OSSL_CMP_PVNO)
        return OSSL_CMP_PVNO;
    return pvno_ok(3, body, v3) ? 3 : OSSL_CMP_PVNO;
}

static cmp_reason_e check_time(const cmp_view_t *v, long tolerance,
                               char *why, size_t n)
{
    const ASN1_GENERALIZEDTIME *t = cmp_view_message_time(v);
    int days = 0, secs = 0;
    long off;

    /* messageTime is RECOMMENDED, not required (RFC 9483 3.1) */
    if (t == NULL || tolerance <= 0)
        return CMP_E_NONE;
    if (!ASN1_TIME_diff(&days, &secs, NULL, t)) {
        snprintf(why, n, "messageTime is not a valid time");
        return CMP_E_BAD_TIME;
    }
    off = (long)days * 86400 + secs;
    if (off > tolerance || off < -tolerance) {
        snprintf(why, n, "messageTime is %ld s %s the server's clock; at most "
                 "%ld s are accepted", off < 0 ? -off : off,
                 off < 0 ? "behind" : "ahead of", tolerance);
        return CMP_E_BAD_TIME;
    }
    return CMP_E_NONE;
}

cmp_reason_e cmp_srv_check_header(const cmp_view_t *v, int body, int v3,
                                  long time_tolerance, char *why, size_t n)
{
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(v);
    const ASN1_OCTET_STRING *nonce = cmp_view_sender_nonce(v);
    const char *gi;
    long pvno = cmp_view_pvno(v);
    int bad_format = 0;

    if (!pvno_ok(pvno, body, v3)) {
#ifdef OSSL_CMP_PVNO_3
        if (v3)
            snprintf(why, n, "pvno %ld; this CMP Profile speaks cmp2000 (2) "
                     "and cmp2021 (3)", pvno);
        else
            snprintf(why, n, "pvno %ld; this CMP Profile speaks cmp2000 (2): "
                     "cmp2021 (3) is spoken by CMP Profiles of variant v3",
                     pvno);
#else
        snprintf(why, n, "pvno %ld; this server speaks cmp2000 (2) only: "
                 "cmp2021 (3) needs OpenSSL 3.2 or later", pvno);
#endif
        return CMP_E_UNSUPPORTED_VERSION;
    }
    if (tid == NULL) {
        snprintf(why, n, "no transactionID");
        return CMP_E_BAD_DATA_FORMAT;
    }
    if (tid->length < ID_MIN || tid->length > ID_MAX) {
        snprintf(why, n, "a transactionID of %d octets; %d to %d are accepted",
                 tid->length, ID_MIN, ID_MAX);
        return CMP_E_BAD_DATA_FORMAT;
    }
    if (nonce == NULL || nonce->length < ID_MIN || nonce->length > ID_MAX) {
        if (nonce == NULL)
            snprintf(why, n, "no senderNonce");
        else
            snprintf(why, n, "a senderNonce of %d octets; %d to %d are "
                     "accepted", nonce->length, ID_MIN, ID_MAX);
        return CMP_E_BAD_SENDER_NONCE;
    }
    if (first_message(body) && cmp_view_recip_nonce(v) != NULL) {
        snprintf(why, n, "a recipNonce in the first message of a transaction");
        return CMP_E_BAD_RECIP_NONCE;
    }
    if (body == CMP_BODY_CERTCONF && cmp_view_recip_nonce(v) == NULL) {
        snprintf(why, n, "a certConf without recipNonce");
        return CMP_E_BAD_RECIP_NONCE;
    }
    if (cmp_view_sender_type(v) != GEN_DIRNAME) {
        snprintf(why, n, "the sender is not a directoryName");
        return CMP_E_BAD_SENDER;
    }
    if ((gi = cmp_view_general_info_problem(v, body, &bad_format)) != NULL) {
        snprintf(why, n, "%s", gi);
        return bad_format ? CMP_E_BAD_DATA_FORMAT : CMP_E_BAD_REQUEST;
    }
    return check_time(v, time_tolerance, why, n);
}

static int same_bytes(const ASN1_OCTET_STRING *a, const unsigned char *b,
                      apr_size_t n)
{
    return a != NULL && (apr_size_t)a->length == n
           && memcmp(a->data, b, n) == 0;
}

cmp_reason_e cmp_srv_check_certconf(req_t *rq, const char **detail)
{
    cmp_certconf_info_t cc;
    cmp_view_t *first = NULL;
    const ASN1_OCTET_STRING *n1;

    if (cmp_view_certconf(rq->view, &cc) != APR_SUCCESS) {
        *detail = "the certConf body does not decode";
        return CMP_E_BAD_DATA_FORMAT;
    }
    if (cc.count != 1) {
        *detail = apr_psprintf(rq->p, "%d CertStatus; one certificate was "
                               "issued in this transaction", cc.count);
        return CMP_E_BAD_REQUEST;
    }
    if (cc.has_hash_alg && (cc.hash_nid == NID_undef
                            || EVP_get_digestbynid(cc.hash_nid) == NULL)) {
        *detail = "hashAlg names no digest this server has";
        return CMP_E_BAD_ALG;
    }
    rq->certconf_hash_nid = cc.hash_nid;
    if (cc.status == OSSL_CMP_PKISTATUS_accepted && cc.has_failinfo) {
        *detail = "a CertStatus of accepted with a failInfo";
        return CMP_E_BAD_REQUEST;
    }
    if (!same_bytes(cmp_view_recip_nonce(rq->view), rq->tx.nonce,
                    (apr_size_t)rq->tx.nonce_len)) {
        *detail = "recipNonce is not the senderNonce of the server's response";
        return CMP_E_BAD_RECIP_NONCE;
    }
    if (cmp_view_decode(rq->p, rq->tx.req_der, (long)rq->tx.req_len, &first)
            != APR_SUCCESS)
        return CMP_E_INTERNAL;
    n1 = cmp_view_sender_nonce(first);
    if (n1 != NULL && same_bytes(cmp_view_sender_nonce(rq->view), n1->data,
                                 (apr_size_t)n1->length)) {
        *detail = "the certConf reuses the senderNonce of the request";
        return CMP_E_BAD_SENDER_NONCE;
    }
    if (cmp_view_protection(first) != rq->prot) {
        *detail = rq->prot == CMP_PROT_MAC
                  ? "a MAC-protected certConf for a signed request"
                  : "a signed certConf for a MAC-protected request";
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    return CMP_E_NONE;
}
