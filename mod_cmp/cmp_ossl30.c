/* SPDX-License-Identifier: Apache-2.0 */
/* What OpenSSL 3.0's CMP server needs worked around, in one place, so that
 * each can be dropped for the OpenSSL versions that no longer need it:
 *   - error messages: its server builds one only from the oldest error on
 *     its queue, and always with the failInfo badRequest; we put in the
 *     PKIStatusInfo of our reason and protect the message anew
 *     (cmp_srv_error_message);
 *   - certConf: it keeps what a certConf is checked against in the context
 *     that answered the ir (cmp_srv_prepare_certconf);
 *   - key decoding: every SubjectPublicKeyInfo d2i meets sets up a decoder
 *     chain over all algorithms, ~0.1 ms (cmp_srv_own_pop);
 * and what every OpenSSL's server lacks: a response at the request's pvno
 * (RFC 9810 7; it answers every version with pvno 2: cmp_srv_repvno). */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crmferr.h>
#include <openssl/cmperr.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "cmp_asn1.h"
#include "cmp_err.h"
#include "cmp_key.h"
#include "cmp_log.h"
#include "cmp_ossl.h"
#include "cmp_server_int.h"

/* ---- error messages ------------------------------------------------------ */

static int refuse_every_sender(OSSL_CMP_CTX *ctx)
{
    unsigned char rnd[16];
    char cn[40];
    X509_NAME *name = X509_NAME_new();
    int i, ok;

    if (name == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        X509_NAME_free(name);
        return 0;
    }
    for (i = 0; i < 16; i++)
        snprintf(cn + 2 * i, 3, "%02x", rnd[i]);
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0)
         && OSSL_CMP_CTX_set1_expected_sender(ctx, name);
    X509_NAME_free(name);
    return ok;
}

/* A response rsp changed by fn (on its DER, with arg) and protected anew by
 * ctx as OpenSSL protected it, with the same transactionID; NULL when that
 * cannot be done. rsp is left to the caller. Unless keep_extra_certs, its
 * extraCerts are dropped before OpenSSL decodes it again and added anew by
 * the protection, as they were made (the signer's chain, then
 * extraCertsOut): decoding them cost OpenSSL 3.0 a key decoder set-up per
 * certificate, most of what an error message cost. The messages changed so
 * (errors, rejections without a certificate, genp) carry no other
 * extraCerts; one that may (an ip with its certificate's chain) keeps
 * them, and the protection adds none twice. */
typedef apr_status_t (*change_fn)(apr_pool_t *p, const unsigned char *der,
                                  long len, const void *arg,
                                  unsigned char **out, apr_size_t *out_len);

static OSSL_CMP_MSG *changed(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                             const OSSL_CMP_MSG *rsp, change_fn fn,
                             const void *arg, int keep_extra_certs)
{
    const ASN1_OCTET_STRING *tid =
        OSSL_CMP_HDR_get0_transactionID(OSSL_CMP_MSG_get0_header(rsp));
    unsigned char *der = NULL, *out = NULL;
    const unsigned char *q;
    apr_size_t out_len = 0;
    OSSL_CMP_MSG *m = NULL;
    cmp_edit_t e;
    int n;

    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.drop_extra_certs = !keep_extra_certs;
    if (tid != NULL && (n = i2d_OSSL_CMP_MSG(rsp, &der)) > 0
            && fn(p, der, n, arg, &out, &out_len) == APR_SUCCESS
            && cmp_asn1_edit(p, out, (long)out_len, &e, &out, &out_len) == APR_SUCCESS) {
        q = out;
        m = d2i_OSSL_CMP_MSG(NULL, &q, (long)out_len);
        if (m != NULL && (q != out + out_len
                          || !OSSL_CMP_CTX_set1_transactionID(ctx, tid)
                          || !OSSL_CMP_MSG_update_transactionID(ctx, m))) {
            OSSL_CMP_MSG_free(m);
            m = NULL;
        }
    }
    OPENSSL_free(der);
    return m;
}

static apr_status_t set_status(apr_pool_t *p, const unsigned char *der,
                               long len, const void *si, unsigned char **out,
                               apr_size_t *out_len)
{
    return cmp_asn1_set_status(p, der, len, si, out, out_len);
}

static apr_status_t set_body(apr_pool_t *p, const unsigned char *der, long len,
                             const void *e, unsigned char **out,
                             apr_size_t *out_len)
{
    return cmp_asn1_edit(p, der, len, e, out, out_len);
}

OSSL_CMP_MSG *cmp_srv_restatus(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                               OSSL_CMP_MSG *rsp, cmp_reason_e reason,
                               const char *detail)
{
    OSSL_CMP_PKISI *si = cmp_srv_rejection(reason, detail);
    OSSL_CMP_MSG *m = si != NULL ? changed(p, ctx, rsp, set_status, si, 0) : NULL;

    OSSL_CMP_PKISI_free(si);
    if (m == NULL) {
        cmp_log(CMP_LOG_WARN, CMPLOGNO(10406) "the error message keeps "
                "OpenSSL's failInfo badRequest: it could not be rebuilt for '%s'",
                cmp_err_text(reason));
        return rsp;
    }
    OSSL_CMP_MSG_free(rsp);
    return m;
}

OSSL_CMP_MSG *cmp_srv_rebody(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                             OSSL_CMP_MSG *rsp, const unsigned char *body,
                             int len)
{
    cmp_edit_t e;
    OSSL_CMP_MSG *m;

    memset(&e, 0, sizeof(e));
    e.pvno = -1;
    e.body_der = body;
    e.body_len = len;
    m = changed(p, ctx, rsp, set_body, &e, 0);
    OSSL_CMP_MSG_free(rsp);
    return m;
}

typedef struct {
    const unsigned char *der;
    int len;
} key_der_t;

static apr_status_t set_private_key(apr_pool_t *p, const unsigned char *der,
                                    long len, const void *arg,
                                    unsigned char **out, apr_size_t *out_len)
{
    const key_der_t *k = arg;

    return cmp_asn1_set_private_key(p, der, len, k->der, k->len, out, out_len);
}

OSSL_CMP_MSG *cmp_srv_add_private_key(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                                      OSSL_CMP_MSG *rsp,
                                      const unsigned char *der, int len)
{
    key_der_t k = {der, len};
    /* the ip keeps the chain of its certificate */
    OSSL_CMP_MSG *m = changed(p, ctx, rsp, set_private_key, &k, 1);

    OSSL_CMP_MSG_free(rsp);
    return m;
}

static apr_status_t set_pvno(apr_pool_t *p, const unsigned char *der,
                             long len, const void *pvno, unsigned char **out,
                             apr_size_t *out_len)
{
    cmp_edit_t e;

    memset(&e, 0, sizeof(e));
    e.pvno = *(const long *)pvno;
    return cmp_asn1_edit(p, der, len, &e, out, out_len);
}

OSSL_CMP_MSG *cmp_srv_repvno(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                             OSSL_CMP_MSG *rsp, long pvno)
{
    /* any response: an ip keeps the chain of its certificate (the
     * protection adds what it adds only once) */
    OSSL_CMP_MSG *m = changed(p, ctx, rsp, set_pvno, &pvno, 1);

    if (m == NULL) {
        cmp_log(CMP_LOG_WARN, CMPLOGNO(10407) "the response keeps pvno 2: "
                "it could not be rebuilt at pvno %ld", pvno);
        return rsp;
    }
    OSSL_CMP_MSG_free(rsp);
    return m;
}

/* What OpenSSL's failInfo means when its error queue says nothing. */
static cmp_reason_e from_failinfo(unsigned long fi, const char **detail)
{
    if (fi & (1UL << OSSL_CMP_PKIFAILUREINFO_badPOP)) {
        *detail = "the POP is not a signature over certReq that the server "
                  "checks (raVerified is never accepted from a client)";
        return CMP_E_BAD_POP;
    }
    if (fi & (1UL << OSSL_CMP_PKIFAILUREINFO_badCertTemplate)) {
        *detail = "refused by OpenSSL's CMP server";
        return CMP_E_BAD_TEMPLATE;
    }
    if (fi & (1UL << OSSL_CMP_PKIFAILUREINFO_badDataFormat)) {
        *detail = "refused by OpenSSL's CMP server";
        return CMP_E_BAD_DATA_FORMAT;
    }
    *detail = "refused by OpenSSL's CMP server";
    return CMP_E_BAD_REQUEST;
}

cmp_reason_e cmp_srv_ossl_refusal(apr_pool_t *p, unsigned long failinfo,
                                  const char **detail)
{
    unsigned long e = ERR_peek_last_error();
    const char *data = NULL, *text;
    int lib = ERR_GET_LIB(e), r = ERR_GET_REASON(e), flags = 0;
    cmp_reason_e reason = CMP_E_BAD_REQUEST;

    if (e == 0)
        return from_failinfo(failinfo, detail);
    (void)ERR_peek_last_error_data(&data, &flags);
    text = ERR_reason_error_string(e);
    *detail = apr_psprintf(p, "%s%s%s", text != NULL ? text : "refused by "
                           "OpenSSL's CMP server", data != NULL && *data
                           && (flags & ERR_TXT_STRING) ? ": " : "",
                           data != NULL && (flags & ERR_TXT_STRING) ? data : "");
    if (lib == ERR_LIB_CRMF) {
        switch (r) {
        case CRMF_R_POPO_MISSING_PUBLIC_KEY: case CRMF_R_POPO_MISSING_SUBJECT:
            reason = CMP_E_BAD_TEMPLATE;
            break;
        case CRMF_R_POPO_MISSING: case CRMF_R_POPO_RAVERIFIED_NOT_ACCEPTED:
        case CRMF_R_POPO_INCONSISTENT_PUBLIC_KEY:
        case CRMF_R_UNSUPPORTED_POPO_METHOD: case CRMF_R_POPOSKINPUT_NOT_SUPPORTED:
            reason = CMP_E_BAD_POP;
            break;
        }
    } else if (lib == ERR_LIB_CMP) {
        switch (r) {
        case CMP_R_UNEXPECTED_PVNO:
            reason = CMP_E_UNSUPPORTED_VERSION;
            break;
        case CMP_R_RECIPNONCE_UNMATCHED:
            reason = CMP_E_BAD_RECIP_NONCE;
            break;
        case CMP_R_MULTIPLE_REQUESTS_NOT_SUPPORTED: case CMP_R_CERTREQMSG_NOT_FOUND:
        case CMP_R_BAD_REQUEST_ID:
            reason = CMP_E_BAD_DATA_FORMAT;
            break;
        }
    } else if (lib == ERR_LIB_X509 || lib == ERR_LIB_ASN1 || lib == ERR_LIB_EVP) {
        /* a p10cr whose signature does not verify */
        reason = CMP_E_BAD_POP;
    }
    return reason;
}

/* An error PKIMessage carrying our reason as statusString. OpenSSL builds it:
 * its server turns the oldest queued error into the error message when no
 * handler takes the request, so we queue ours and offer no handler. The
 * message is protected as the profile says when the profile is known. */
OSSL_CMP_MSG *cmp_srv_error_message(apr_pool_t *p, const OSSL_CMP_MSG *msg,
                                    const cmp_profile_t *pr,
                                    cmp_reason_e reason, const char *detail,
                                    long pvno)
{
    OSSL_CMP_SRV_CTX *srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    OSSL_CMP_CTX *ctx;
    OSSL_CMP_MSG *rsp = NULL;

    if (srv == NULL)
        return NULL;
    cmp_own_srv_ctx(p, srv);
    ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    cmp_ossl_debug_log(ctx);
    if (pr == NULL || !cmp_srv_response_protection(ctx, pr))
        OSSL_CMP_SRV_CTX_set_send_unprotected_errors(srv, 1);
    /* OpenSSL must not look at the request's protection here: checking a
     * signature dumps the error queue, ours with it. A sender name that no
     * request carries stops the check before it starts. */
    if (!refuse_every_sender(ctx))
        return NULL;
    cmp_err_raise(reason, "%s", detail != NULL ? detail : "");
    rsp = OSSL_CMP_SRV_process_request(srv, msg);
    if (rsp != NULL && OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_ERROR)
        rsp = cmp_srv_restatus(p, ctx, rsp, reason, detail);
    if (rsp != NULL && pvno != OSSL_CMP_PVNO)
        rsp = cmp_srv_repvno(p, ctx, rsp, pvno);
    ERR_clear_error();
    return rsp;
}

/* ---- certConf on any node ------------------------------------------------ */

/* OpenSSL 3.0 keeps what a certConf is checked against (transactionID,
 * certReqId, transaction status) in the OSSL_CMP_SRV_CTX that answered the
 * ir. Any node rebuilds it from the database: the stored request is run once
 * more through a fresh context, answering with the certificate issued then
 * and a throwaway MAC, and the nonce we sent in the real response is put
 * back. No certificate is issued and nothing is stored by that run. */
cmp_reason_e cmp_srv_prepare_certconf(req_t *rq, OSSL_CMP_SRV_CTX *srv,
                                      const char **detail)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    const unsigned char *q;
    OSSL_CMP_MSG *orig, *rsp;
    ASN1_OCTET_STRING *nonce;
    static const unsigned char scratch[] = "mod_cmp certConf replay";
    cmp_reason_e r;
    int found = 0, ok;

    if (tid == NULL)
        return CMP_E_TX_UNKNOWN;
    if (cmp_store_tx_get(rq->p, rq->conn, tid->data, tid->length, &rq->tx,
                         &found) != APR_SUCCESS)
        return CMP_E_DATABASE;
    if (!found || rq->tx.cmp_id != rq->prof->cmp_id
            || rq->tx.ra_id != rq->prof->ra_id)
        return CMP_E_TX_UNKNOWN;
    if (strcmp(rq->tx.state, "waiting_conf") != 0 || rq->tx.req_der == NULL) {
        /* the certConf that closed it, sent again after its pkiConf was
         * lost, is answered again (the request is kept until the expiry) */
        if (rq->tx.req_der == NULL || rq->tx.conf_hash == NULL
                || rq->tx.conf_hash_len != sizeof(rq->req_hash)
                || memcmp(rq->tx.conf_hash, cmp_srv_request_hash(rq),
                          sizeof(rq->req_hash)) != 0) {
            *detail = rq->tx.state;
            return CMP_E_TX_STATE;
        }
        rq->certconf_resent = 1;
    } else if (rq->tx.expired) {
        return CMP_E_TX_EXPIRED;
    }
    if ((r = cmp_srv_check_certconf(rq, detail)) != CMP_E_NONE)
        return r;
    q = rq->tx.cert_der;
    rq->replay_cert = d2i_X509(NULL, &q, (long)rq->tx.cert_len);
    q = rq->tx.req_der;
    orig = d2i_OSSL_CMP_MSG(NULL, &q, (long)rq->tx.req_len);
    if (rq->replay_cert == NULL || orig == NULL) {
        X509_free(rq->replay_cert);
        rq->replay_cert = NULL;
        OSSL_CMP_MSG_free(orig);
        return CMP_E_INTERNAL;
    }
    cmp_own_x509(rq->p, rq->replay_cert);
    cmp_own_msg(rq->p, orig);
    OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv, 0);
    /* (with the request's MAC reused, the context protects nothing) */
    if (rq->pbm == NULL
            && !OSSL_CMP_CTX_set1_secretValue(ctx, scratch, sizeof(scratch)))
        return CMP_E_INTERNAL;
    rsp = OSSL_CMP_SRV_process_request(srv, orig);
    ok = rsp != NULL && OSSL_CMP_MSG_get_bodytype(rsp) != CMP_BODY_ERROR;
    OSSL_CMP_MSG_free(rsp);
    ERR_clear_error();
    if (!ok)
        return CMP_E_INTERNAL;
    nonce = ASN1_OCTET_STRING_new();
    ok = nonce != NULL
         && ASN1_OCTET_STRING_set(nonce, rq->tx.nonce, (int)rq->tx.nonce_len)
         && OSSL_CMP_CTX_set1_senderNonce(ctx, nonce)
         && OSSL_CMP_CTX_set1_secretValue(ctx, NULL, 0)
         && OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv,
                                                         rq->prof->implicit_confirm)
         && cmp_srv_request_protection(rq, ctx);
    ASN1_OCTET_STRING_free(nonce);
    return ok ? CMP_E_NONE : CMP_E_INTERNAL;
}

/* ---- requests parsed without decoding keys ------------------------------- */

/* The request as OpenSSL parses it by default, keys decoded. */
static apr_status_t redecode(req_t *rq)
{
    const unsigned char *q = rq->der;
    OSSL_CMP_MSG *m = d2i_OSSL_CMP_MSG(NULL, &q, (long)rq->len);

    if (m == NULL)
        return APR_EGENERAL;
    cmp_own_msg(rq->p, m);
    rq->msg = m;
    return APR_SUCCESS;
}

/* RFC 9483 4.1.6: one CertReqMsg whose template has no public key, or
 * only its algorithm, and no POP asks the server to make the key. */
static int central_asked(const req_t *rq, const OSSL_CRMF_MSG *crm,
                         const X509_PUBKEY *spki)
{
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
    (void)rq;
    (void)spki;
    return OSSL_CRMF_MSG_centralkeygen_requested(crm, NULL) == 1;
#else
    const unsigned char *pk = NULL;
    int pklen = 0;

    (void)crm;
    return (spki == NULL
            || (X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL,
                                       (X509_PUBKEY *)spki) && pklen == 0))
           && cmp_view_no_popo(rq->view);
#endif
}

int cmp_srv_central_asked(OSSL_CMP_MSG *m)
{
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
    int n = 0;
    OSSL_CRMF_MSG *crm = cmp_msg_first_crm(m, &n);

    return crm != NULL && n == 1 && OSSL_CRMF_MSG_centralkeygen_requested(crm, NULL) == 1;
#else
    (void)m;
    return 0;
#endif
}

/* The request was parsed without decoding keys (cmp_key.h). First the
 * key's form is checked on its undecoded parts (cmp_policy_check_key_form):
 * a key in another form is never decoded or used, its POP is not checked
 * (OpenSSL is told raVerified, or for a p10cr finds no key), and
 * cert_request_cb() or process() refuse it with badAlg. For the usual
 * ir, cr or kur (one CertReqMsg, a signature POP over certReq, a key we can
 * build) we build the template's key and check the POP with it as OpenSSL
 * would; OpenSSL is then told that the POP was checked (raVerified), and
 * cert_request_cb() refuses a POP that did not verify. Anything else is
 * parsed again with the keys and left to OpenSSL, which answers as it
 * always does. Runs after the protection check: the body that was
 * protected is changed here. */
apr_status_t cmp_srv_own_pop(req_t *rq)
{
    OSSL_CRMF_MSG *crm = NULL;
    const X509_PUBKEY *spki = NULL;
    const ASN1_TIME *nb, *na;
    EVP_PKEY *k = NULL;
    int n = 0, v, have = 0;
    char why[200];

    if (rq->body != CMP_BODY_P10CR) {
        crm = cmp_msg_first_crm((OSSL_CMP_MSG *)rq->msg, &n);
        have = crm != NULL
               && cmp_template_read(OSSL_CRMF_MSG_get0_tmpl(crm), &spki, &nb,
                                    &na) == APR_SUCCESS;
    } else {
        X509_REQ *csr = cmp_msg_p10cr((OSSL_CMP_MSG *)rq->msg);

        have = csr != NULL && (spki = X509_REQ_get_X509_PUBKEY(csr)) != NULL;
    }
    if (crm != NULL && n == 1 && have && central_asked(rq, crm, spki)) {
        /* no key to check: the server makes it (cert_request_cb) */
        rq->central = 1;
        ERR_clear_error();
        return redecode(rq);
    }
    if (have && cmp_policy_check_key_form(&rq->prof->policy, spki, why,
                                          sizeof(why)) != CMP_E_NONE) {
        rq->key_refused = apr_pstrdup(rq->p, why);
        if (crm != NULL && !OSSL_CRMF_MSG_create_popo(OSSL_CRMF_POPO_RAVERIFIED,
                                                      crm, NULL, NULL, NULL, NULL))
            return APR_EGENERAL;
        return APR_SUCCESS;
    }
    if (crm != NULL && n == 1 && have
            && (k = cmp_key_from_spki(spki)) != NULL) {
        cmp_own_pkey(rq->p, k);
        v = cmp_crmf_verify_sig_pop(crm, k);
        if (v >= 0 && OSSL_CRMF_MSG_create_popo(OSSL_CRMF_POPO_RAVERIFIED, crm,
                                                NULL, NULL, NULL, NULL)) {
            rq->req_key = k;
            rq->pop_failed = v == 0;
            return APR_SUCCESS;
        }
    }
    ERR_clear_error();
    return redecode(rq);
}
