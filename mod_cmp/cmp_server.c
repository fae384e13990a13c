/* SPDX-License-Identifier: Apache-2.0 */
/* One CMP request in, one CMP response out: parse it (keys left undecoded),
 * resolve its profile, check its protection, let OpenSSL's server run our
 * callbacks, store what was issued before the response leaves, and answer
 * every refusal with an error message protected as the profile says. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>

#include "cmp_key.h"
#include "cmp_log.h"
#include "cmp_notify.h"
#include "cmp_ossl.h"
#include "cmp_refusals.h"
#include "cmp_resolve.h"
#include "cmp_server_int.h"

struct cmp_server_t {
    cmp_db_t *db;
    OSSL_LIB_CTX *keyless;      /* requests are parsed in it: see cmp_key.h */
    cmp_profile_cache_t *cache;
    cmp_notify_t *notify;       /* NULL: profiles resolved from the database */
    const cmp_secret_key_t *key;
    cmp_resolver_t *resolver;
    cmp_refusals_t *refusals;
    long time_tolerance;        /* messageTime, seconds either way; 0: any */
};

apr_status_t cmp_server_create(apr_pool_t *p, cmp_db_t *db,
                               const cmp_secret_key_t *key,
                               const char *listen_conninfo,
                               cmp_server_t **out)
{
    cmp_server_t *srv = apr_pcalloc(p, sizeof(*srv));
    apr_status_t rv;

    srv->db = db;
    srv->key = key;
    if ((rv = cmp_profile_cache_create(p, key, &srv->cache)) != APR_SUCCESS)
        return rv;
    if ((rv = cmp_key_keyless_ctx(p, &srv->keyless)) != APR_SUCCESS)
        return rv;
    if (listen_conninfo != NULL
            && (rv = cmp_notify_create(p, listen_conninfo, &srv->notify))
                   != APR_SUCCESS)
        return rv;
    if ((rv = cmp_resolver_create(p, db, srv->cache, srv->notify,
                                  &srv->resolver)) != APR_SUCCESS)
        return rv;
    srv->refusals = cmp_refusals_create(p);
    srv->time_tolerance = CMP_DEFAULT_TIME_TOLERANCE;
    *out = srv;
    return APR_SUCCESS;
}

void cmp_server_set_time_tolerance(cmp_server_t *srv, long seconds)
{
    srv->time_tolerance = seconds;
}

void cmp_server_maintain(cmp_server_t *srv, apr_pool_t *p)
{
    if (srv->notify != NULL)
        cmp_notify_maintain(srv->notify);
    cmp_refusals_flush(srv->refusals, srv->db, p);
}

OSSL_CMP_PKISI *cmp_srv_rejection(cmp_reason_e reason, const char *detail)
{
    char text[600];

    snprintf(text, sizeof(text), "%s%s%s", cmp_err_text(reason),
             detail != NULL && *detail ? ": " : "", detail != NULL ? detail : "");
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
                                   1 << cmp_err_failinfo_bit(reason), text);
}

/* Remember why a callback refused, for the log line of the request. */
void cmp_srv_note(req_t *rq, cmp_reason_e reason, const char *detail)
{
    rq->reason = reason;
    rq->detail = apr_pstrdup(rq->p, detail != NULL ? detail : "");
}

OSSL_CMP_PKISI *cmp_srv_refuse(req_t *rq, cmp_reason_e reason,
                               const char *detail)
{
    cmp_srv_note(rq, reason, detail);
    return cmp_srv_rejection(reason, detail);
}

const unsigned char *cmp_srv_request_hash(req_t *rq)
{
    if (!rq->req_hashed)
        rq->req_hashed = EVP_Digest(rq->der, rq->len, rq->req_hash, NULL,
                                    EVP_sha256(), NULL);
    return rq->req_hash;
}

static apr_status_t to_der(apr_pool_t *p, const OSSL_CMP_MSG *m,
                           cmp_response_t *resp)
{
    unsigned char *der = NULL;
    int n = i2d_OSSL_CMP_MSG(m, &der);

    if (n <= 0)
        return APR_EGENERAL;
    resp->der = apr_pmemdup(p, der, (apr_size_t)n);
    resp->len = (apr_size_t)n;
    resp->body = OSSL_CMP_MSG_get_bodytype(m);
    OPENSSL_free(der);
    return APR_SUCCESS;
}

/* RFC 9810 7: the response at the request's version where we speak it */
static long response_pvno(const req_t *rq)
{
    return rq->view != NULL
           ? cmp_srv_response_pvno(cmp_view_pvno(rq->view), rq->body,
                                   cmp_srv_speaks_v3(rq->prof))
           : OSSL_CMP_PVNO;
}

static apr_status_t respond_error(req_t *rq, cmp_reason_e reason,
                                  const char *detail, cmp_response_t *resp)
{
    OSSL_CMP_MSG *m = cmp_srv_error_message(rq->p, rq->msg, rq->prof, reason,
                                            detail, response_pvno(rq));

    resp->reason = reason;
    resp->detail = apr_pstrdup(rq->p, detail != NULL ? detail : "");
    /* without a profile there are no credentials to protect it with */
    resp->unprotected = rq->prof == NULL;
    if (m == NULL)
        return APR_EGENERAL;
    cmp_own_msg(rq->p, m);
    return to_der(rq->p, m, resp);
}

/* The response as it goes out: DER, MAC-protected anew with the request's
 * PBM parameters when the response reuses them. */
static apr_status_t encode(req_t *rq, const OSSL_CMP_MSG *rsp,
                           cmp_response_t *resp)
{
    if (to_der(rq->p, rsp, resp) != APR_SUCCESS
            || (rq->pbm != NULL
                && cmp_pbm_protect(rq->pbm, rq->p, resp->der, resp->len,
                                   &resp->der, &resp->len) != APR_SUCCESS))
        return APR_EGENERAL;
    return APR_SUCCESS;
}

static const char *body_name(int body)
{
    switch (body) {
    case CMP_BODY_IR: return "ir";
    case CMP_BODY_CR: return "cr";
    case CMP_BODY_P10CR: return "p10cr";
    case CMP_BODY_KUR: return "kur";
    default: return "other";
    }
}

/* Commit the certificate (and the transaction that may confirm it) before
 * the response that carries it goes out. */
/* out holds the response as it will be sent (encoded once, by process()). */
static cmp_reason_e store_issued(req_t *rq, OSSL_CMP_CTX *ctx,
                                 const cmp_response_t *out, const char **detail)
{
    const cmp_profile_t *pr = rq->prof;
    int granted = OSSL_CMP_CTX_get_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM) == 1;
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    unsigned char *nonce = NULL;
    int nonce_len = 0;
    ASN1_OCTET_STRING *hash;
    cmp_store_issue_t in;
    long long cert_id = 0;
    const char *sqlstate = NULL;
    apr_status_t st;

    memset(&in, 0, sizeof(in));
    in.authority_id = pr->auth_id;
    in.ra_id = pr->ra_id;
    in.cmp_id = pr->cmp_id;
    in.replaces_id = rq->replaces_id;
    if (cmp_store_cert_columns(rq->p, rq->issued, rq->key_type, &in) != APR_SUCCESS)
        return CMP_E_INTERNAL;
    in.status = granted ? "valid" : "pending";
    in.tid = tid->data;
    in.tid_len = tid->length;
    in.body_type = body_name(rq->body);
    in.tx_state = granted ? "confirmed" : "waiting_conf";
    in.req_hash = cmp_srv_request_hash(rq);
    in.req_hash_len = (int)sizeof(rq->req_hash);
    if (rq->pending != NULL) {
        /* an approved request, issued on its pollReq: the request is the
         * one that waited (a certConf is checked against it) */
        in.body_type = rq->pending->body_type;
        in.req_hash = rq->pending->req_hash;
        in.req_hash_len = (int)rq->pending->req_hash_len;
        in.approved = 1;
    }
    if (!granted) {
        /* what the certConf will be checked against, on any node */
        if (cmp_asn1_sender_nonce(rq->p, out->der, (long)out->len, &nonce,
                                  &nonce_len) != APR_SUCCESS
                || (hash = X509_digest_sig(rq->issued, NULL, NULL)) == NULL)
            return CMP_E_INTERNAL;
        in.cert_hash = apr_pmemdup(rq->p, hash->data, (apr_size_t)hash->length);
        in.hash_len = hash->length;
        ASN1_OCTET_STRING_free(hash);
        in.nonce = nonce;
        in.nonce_len = nonce_len;
        in.req_der = rq->pending != NULL ? rq->pending->req_der : rq->der;
        in.req_len = rq->pending != NULL ? (int)rq->pending->req_len : (int)rq->len;
        /* a response with a centrally generated key is never stored: a
         * resent request is refused (answer_resent) */
        in.rsp_der = rq->central_der == NULL ? out->der : NULL;
        in.rsp_len = rq->central_der == NULL ? (int)out->len : 0;
    }
    in.timeout_s = pr->confirm_timeout;
    in.actor = cmp_srv_actor(rq);
    in.device_id = rq->device_id;
    in.ca_generation = pr->ca_generation;
    st = cmp_store_issue(rq->p, rq->conn, &in, &cert_id, &sqlstate);
    if (st == APR_NOTFOUND) {
        /* the registration was used by another request meanwhile */
        cmp_log(CMP_LOG_INFO, CMPLOGNO(10405) "device registration %s of RA "
                "Profile %s was no longer active when its certificate was to "
                "be stored", rq->device_kid, pr->ra_name);
        return CMP_E_DEVICE;
    }
    if (st != APR_SUCCESS) {
        if (sqlstate != NULL && strcmp(sqlstate, "23505") == 0)
            return CMP_E_TX_IN_USE;
        *detail = "the certificate could not be stored";
        return CMP_E_DATABASE;
    }
    cmp_log(CMP_LOG_INFO, CMPLOGNO(10402) "issued certificate %s for %s by RA "
            "Profile %s (%s)", in.serial_hex, in.subject_dn, pr->ra_name,
            granted ? "implicitly confirmed" : "waiting for certConf");
    return CMP_E_NONE;
}

static int body_supported(int body)
{
    switch (body) {
    case CMP_BODY_IR: case CMP_BODY_CR: case CMP_BODY_P10CR: case CMP_BODY_KUR:
    case CMP_BODY_RR: case CMP_BODY_CERTCONF: case CMP_BODY_GENM:
    case CMP_BODY_ERROR: case CMP_BODY_POLLREQ:
        return 1;
    default:
        return 0;
    }
}

static int is_cert_request(int body)
{
    return body == CMP_BODY_IR || body == CMP_BODY_CR || body == CMP_BODY_P10CR
           || body == CMP_BODY_KUR;
}

/* An error, or a certificate response whose status is rejection. */
static int refused(apr_pool_t *p, const OSSL_CMP_MSG *rsp, unsigned long *fi)
{
    unsigned char *der = NULL;
    int n = i2d_OSSL_CMP_MSG(rsp, &der), body = -1, status = -1;
    const char *text = NULL;

    if (n > 0)
        (void)cmp_asn1_status_of(p, der, n, &body, &status, fi, &text);
    OPENSSL_free(der);
    return body == CMP_BODY_ERROR
           || ((body == CMP_BODY_IP || body == CMP_BODY_CP || body == CMP_BODY_KUP)
               && status == OSSL_CMP_PKISTATUS_rejection);
}

/* RFC 9483 4.1.6: a centrally generated key goes into the response that
 * carries its certificate, and nowhere else. rsp itself when there is none;
 * NULL when it cannot be added. */
static OSSL_CMP_MSG *with_central_key(req_t *rq, OSSL_CMP_CTX *ctx,
                                      OSSL_CMP_MSG *rsp)
{
    int body = OSSL_CMP_MSG_get_bodytype(rsp);

    if (rq->central_der == NULL || rq->issued == NULL
            || (body != CMP_BODY_IP && body != CMP_BODY_CP && body != CMP_BODY_KUP))
        return rsp;
    return cmp_srv_add_private_key(rq->p, ctx, rsp, rq->central_der,
                                   rq->central_len);
}

/* RFC 6712 3.1: a client that lost its answer sends the same request
 * again (same transactionID, senderNonce and bytes). It gets the answer
 * again from what the database holds, and never a second certificate:
 * the response itself while the transaction waits for its certConf (whose
 * recipNonce must match it), else one made anew around the certificate
 * issued then. Anything else that reuses the transactionID, or comes when
 * the transaction is over, is refused with reason and detail. */
static apr_status_t answer_resent(req_t *rq, cmp_response_t *resp,
                                  cmp_reason_e reason, const char *detail)
{
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    const unsigned char *hash = cmp_srv_request_hash(rq), *q;
    cmp_store_resent_t old;
    OSSL_CMP_SRV_CTX *srv;
    OSSL_CMP_MSG *rsp;
    unsigned long fi;
    int found = 0, status;
    const char *text;

    if (cmp_store_resent_get(rq->p, rq->conn, tid->data, tid->length, &old,
                             &found) != APR_SUCCESS)
        return respond_error(rq, CMP_E_DATABASE, NULL, resp);
    if (!found || old.req_hash_len != sizeof(rq->req_hash)
            || memcmp(old.req_hash, hash, sizeof(rq->req_hash)) != 0
            || old.cmp_id != rq->prof->cmp_id || old.ra_id != rq->prof->ra_id)
        return respond_error(rq, reason, detail, resp);
    if (rq->central)
        return respond_error(rq, reason, "the same request again: its "
                             "certificate was issued with a key the server "
                             "made, which is not kept; send a new request",
                             resp);
    if (old.tx_state != NULL) {
        if (strcmp(old.tx_state, "waiting_conf") != 0 || old.rsp_der == NULL)
            return respond_error(rq, reason, apr_pstrcat(rq->p, "the same "
                                 "request again, after its transaction was ",
                                 old.tx_state, NULL), resp);
        resp->der = old.rsp_der;
        resp->len = old.rsp_len;
        if (cmp_asn1_status_of(rq->p, resp->der, (long)resp->len, &resp->body,
                               &status, &fi, &text) != APR_SUCCESS)
            return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    } else {
        if (strcmp(old.status, "valid") != 0)
            return respond_error(rq, reason, apr_pstrcat(rq->p, "the same "
                                 "request again, but its certificate is ",
                                 old.status, NULL), resp);
        q = old.cert_der;
        if ((rq->replay_cert = d2i_X509(NULL, &q, (long)old.cert_len)) == NULL)
            return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
        cmp_own_x509(rq->p, rq->replay_cert);
        rq->issued = NULL;
        ERR_clear_error();
        if ((srv = cmp_srv_new_ctx(rq)) == NULL
                || (rsp = OSSL_CMP_SRV_process_request(srv, rq->msg)) == NULL)
            return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
        cmp_own_msg(rq->p, rsp);
        if (encode(rq, rsp, resp) != APR_SUCCESS)
            return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
        ERR_clear_error();
    }
    resp->reason = CMP_E_NONE;
    resp->detail = "the same request again: its certificate again";
    return APR_SUCCESS;
}

/* RFC 4211 4.2 / RFC 9810 5.2.8.3.1: a private key sent to the CA, which
 * mod_cmp neither archives nor decrypts */
#define POP_ENCRYPTED_KEY "the private key sent encrypted (POPOPrivKey " \
    "encryptedKey, an EnvelopedData) is not taken: prove possession with a " \
    "signature"
#define POP_PRIV_KEY "possession of a key that does not sign (POPOPrivKey " \
    "of keyEncipherment or keyAgreement, RFC 9810 5.2.8.3: ML-KEM, or RSA " \
    "and X25519 keys for encryption) is not proven to this server: the " \
    "indirect method (the certificate returned encrypted to the key) is not " \
    "built, and for ML-KEM OpenSSL 3.5's CMS cannot encrypt to the key at " \
    "all (no KEMRecipientInfo, RFC 9629); it takes a signature POP (RFC " \
    "9483 4.1.1)"

/* RFC 9483 4.4: the 'waiting' answer is stored with the request, what it
 * asks and who sent it, before it leaves; the same request again gets the
 * same answer. */
static apr_status_t queue_request(req_t *rq, cmp_response_t *resp)
{
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    cmp_store_pending_t in, old;
    unsigned char *nonce = NULL;
    int nonce_len = 0, added = 0, found = 0;

    memset(&in, 0, sizeof(in));
    if (cmp_asn1_sender_nonce(rq->p, resp->der, (long)resp->len, &nonce,
                              &nonce_len) != APR_SUCCESS)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    in.tid = tid->data;
    in.tid_len = (size_t)tid->length;
    in.ra_id = rq->prof->ra_id;
    in.cmp_id = rq->prof->cmp_id;
    in.body_type = body_name(rq->body);
    in.req_der = (unsigned char *)rq->der;
    in.req_len = rq->len;
    in.req_hash = (unsigned char *)cmp_srv_request_hash(rq);
    in.req_hash_len = sizeof(rq->req_hash);
    in.rsp_der = (unsigned char *)resp->der;
    in.rsp_len = resp->len;
    in.nonce = nonce;
    in.nonce_len = (size_t)nonce_len;
    in.subject_dn = rq->queue_subject;
    in.sans = rq->queue_sans;
    in.key_type = rq->key_type != NULL ? rq->key_type : "unknown";
    in.sender = cmp_srv_actor(rq);
    in.timeout_s = rq->prof->approval_timeout;
    if (cmp_store_pending_add(rq->p, rq->conn, &in, &added) != APR_SUCCESS)
        return respond_error(rq, CMP_E_DATABASE, NULL, resp);
    if (added) {
        cmp_log(CMP_LOG_INFO, CMPLOGNO(10408) "a request for %s waits for "
                "approval by RA Profile %s", in.subject_dn, rq->prof->ra_name);
        resp->reason = CMP_E_NONE;
        resp->detail = "waiting for approval";
        return APR_SUCCESS;
    }
    /* its transactionID waits already: the same request again? */
    if (cmp_store_pending_get(rq->p, rq->conn, tid->data, tid->length, &old,
                              &found) != APR_SUCCESS)
        return respond_error(rq, CMP_E_DATABASE, NULL, resp);
    if (!found || old.req_hash_len != sizeof(rq->req_hash)
            || memcmp(old.req_hash, cmp_srv_request_hash(rq), sizeof(rq->req_hash)) != 0
            || strcmp(old.state, "waiting") != 0)
        return respond_error(rq, CMP_E_TX_IN_USE, "a request waiting for "
                             "approval has it", resp);
    resp->der = old.rsp_der;
    resp->len = old.rsp_len;
    resp->reason = CMP_E_NONE;
    resp->detail = "the same request again: its answer again";
    return APR_SUCCESS;
}

/* A pollReq (RFC 9483 4.4) for a request waiting for approval, on any
 * node: OpenSSL's server is brought to the state it had after the
 * 'waiting' answer (the request run once more, answered 'waiting' again,
 * the senderNonce of our last answer put back, which the pollReq must
 * echo), then it answers the pollReq: a pollRep with checkAfter while the
 * request waits; once decided, the answer to the request itself (issued
 * now, or refused), which ends the waiting. */
static apr_status_t process_poll(req_t *rq, cmp_response_t *resp)
{
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    cmp_store_pending_t *pd = apr_pcalloc(rq->p, sizeof(*pd));
    static const unsigned char scratch[] = "mod_cmp pollReq replay";
    OSSL_CMP_SRV_CTX *srv;
    OSSL_CMP_CTX *ctx;
    OSSL_CMP_MSG *rsp;
    ASN1_OCTET_STRING *nonce;
    const unsigned char *q;
    unsigned char *our_nonce = NULL;
    const char *detail = NULL;
    int found = 0, ok, our_nonce_len = 0, phase;
    cmp_reason_e r;

    if (cmp_store_pending_get(rq->p, rq->conn, tid->data, tid->length, pd,
                              &found) != APR_SUCCESS)
        return respond_error(rq, CMP_E_DATABASE, NULL, resp);
    if (!found || pd->cmp_id != rq->prof->cmp_id || pd->ra_id != rq->prof->ra_id)
        return respond_error(rq, CMP_E_TX_UNKNOWN, "no request of this "
                             "transaction waits for approval", resp);
    if (strcmp(pd->state, "waiting") == 0 && !pd->expired) {
        phase = POLL_WAIT;
    } else if (strcmp(pd->state, "waiting") == 0) {
        phase = POLL_REFUSE;
        rq->poll_reason = CMP_E_APPROVAL_EXPIRED;
        rq->poll_detail = apr_psprintf(rq->p, "no decision within %d s",
                                       rq->prof->approval_timeout);
    } else if (strcmp(pd->state, "rejected") == 0) {
        phase = POLL_REFUSE;
        rq->poll_reason = CMP_E_APPROVAL_REJECTED;
        rq->poll_detail = *pd->reason ? pd->reason : "no reason given";
    } else if (strcmp(pd->state, "approved") == 0) {
        phase = POLL_ISSUE;
    } else {
        return respond_error(rq, CMP_E_TX_STATE, apr_pstrcat(rq->p, "the "
                             "request is ", pd->state, " already", NULL), resp);
    }
    q = pd->req_der;
    if ((rq->poll_orig = d2i_OSSL_CMP_MSG(NULL, &q, (long)pd->req_len)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    cmp_own_msg(rq->p, rq->poll_orig);
    rq->central = cmp_srv_central_asked(rq->poll_orig);
    rq->pending = pd;
    if ((srv = cmp_srv_new_ctx(rq)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    /* the replay: answered 'waiting' with a throwaway MAC */
    rq->poll_phase = POLL_WAIT;
    if (rq->pbm == NULL
            && !OSSL_CMP_CTX_set1_secretValue(ctx, scratch, sizeof(scratch)))
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    ERR_clear_error();
    rsp = OSSL_CMP_SRV_process_request(srv, rq->poll_orig);
    ok = rsp != NULL && OSSL_CMP_MSG_get_bodytype(rsp) != CMP_BODY_ERROR;
    OSSL_CMP_MSG_free(rsp);
    ERR_clear_error();
    nonce = ASN1_OCTET_STRING_new();
    ok = ok && nonce != NULL
         && ASN1_OCTET_STRING_set(nonce, pd->nonce, (int)pd->nonce_len)
         && OSSL_CMP_CTX_set1_senderNonce(ctx, nonce)
         && OSSL_CMP_CTX_set1_secretValue(ctx, NULL, 0)
         && cmp_srv_request_protection(rq, ctx);
    ASN1_OCTET_STRING_free(nonce);
    if (!ok)
        return respond_error(rq, CMP_E_INTERNAL, "the request waiting for "
                             "approval cannot be run again", resp);
    rq->poll_phase = phase;
    rsp = OSSL_CMP_SRV_process_request(srv, rq->msg);
    if (rsp == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_ERROR && rq->reason == CMP_E_NONE) {
        /* refused by OpenSSL itself (a recipNonce not ours, another
         * certReqId): named from its queue */
        unsigned long fi = 0;

        (void)refused(rq->p, rsp, &fi);
        r = cmp_srv_ossl_refusal(rq->p, fi, &detail);
        cmp_srv_note(rq, r, detail);
        rsp = cmp_srv_restatus(rq->p, ctx, rsp, r, detail);
    } else if (OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_ERROR) {
        rsp = cmp_srv_restatus(rq->p, ctx, rsp, rq->reason, rq->detail);
    }
    if ((rsp = with_central_key(rq, ctx, rsp)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, "the centrally generated "
                             "key could not be added to the response", resp);
    if (response_pvno(rq) != OSSL_CMP_PVNO)
        rsp = cmp_srv_repvno(rq->p, ctx, rsp, response_pvno(rq));
    cmp_own_msg(rq->p, rsp);
    if (encode(rq, rsp, resp) != APR_SUCCESS)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    resp->reason = rq->reason;
    resp->detail = rq->detail;
    if (resp->body == CMP_BODY_ERROR)
        return APR_SUCCESS;
    if (phase == POLL_ISSUE && rq->issued != NULL) {
        r = store_issued(rq, ctx, resp, &detail);
        if (r != CMP_E_NONE)
            return respond_error(rq, r, detail, resp);
        resp->detail = "approved: issued";
        ERR_clear_error();
        return APR_SUCCESS;
    }
    if (cmp_asn1_sender_nonce(rq->p, resp->der, (long)resp->len, &our_nonce,
                              &our_nonce_len) != APR_SUCCESS
            || cmp_store_pending_nonce(rq->p, rq->conn, pd->id, our_nonce,
                                       our_nonce_len, phase == POLL_REFUSE)
               != APR_SUCCESS)
        return respond_error(rq, CMP_E_DATABASE, NULL, resp);
    if (phase == POLL_WAIT) {
        resp->reason = CMP_E_NONE;
        resp->detail = "still waiting for approval";
    }
    ERR_clear_error();
    return APR_SUCCESS;
}

static apr_status_t process(req_t *rq, cmp_response_t *resp)
{
    OSSL_CMP_SRV_CTX *srv;
    OSSL_CMP_MSG *rsp;
    const char *detail = NULL;
    cmp_reason_e r;
    unsigned long fi = 0;
    char why[400] = "";

    if ((r = cmp_srv_check_header(rq->view, rq->body, cmp_srv_speaks_v3(rq->prof),
                                  rq->srv->time_tolerance,
                                  why, sizeof(why))) != CMP_E_NONE)
        return respond_error(rq, r, why, resp);
    if (rq->body == CMP_BODY_GENM
            && (r = cmp_srv_check_genm(rq, why, sizeof(why))) != CMP_E_NONE)
        return respond_error(rq, r, why, resp);
    if (rq->undecodable != NULL) {
        if (cmp_view_pop_encrypted_key(rq->view))         /* OpenSSL 3.0 */
            return respond_error(rq, CMP_E_POP_METHOD, POP_ENCRYPTED_KEY, resp);
        return respond_error(rq, CMP_E_BAD_DATA_FORMAT, rq->undecodable, resp);
    }
    if (!body_supported(rq->body))
        return respond_error(rq, CMP_E_UNSUPPORTED_BODY, NULL, resp);
    if ((r = cmp_srv_check_protection(rq, why, sizeof(why))) != CMP_E_NONE) {
        /* a kur waiting for its certConf, sent again */
        if (r == CMP_E_BAD_REQUEST && rq->body == CMP_BODY_KUR
                && rq->signer_row.being_replaced)
            return answer_resent(rq, resp, r, why);
        return respond_error(rq, r, why, resp);
    }
    if (rq->body == CMP_BODY_POLLREQ)
        return process_poll(rq, resp);
    if (is_cert_request(rq->body) && cmp_srv_own_pop(rq) != APR_SUCCESS)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (rq->central && cmp_key_central_missing(why, sizeof(why)) != NULL)
        return respond_error(rq, CMP_E_CENTRAL_UNAVAILABLE, why, resp);
    /* not a signature POP we checked: the same answer as on OpenSSL 3.0 */
    if (is_cert_request(rq->body) && rq->body != CMP_BODY_P10CR
            && rq->req_key == NULL && rq->key_refused == NULL
            && cmp_view_pop_encrypted_key(rq->view))
        return respond_error(rq, CMP_E_POP_METHOD, POP_ENCRYPTED_KEY, resp);
    /* a key that proves possession otherwise (a KEM key): said as such */
    if (is_cert_request(rq->body) && rq->body != CMP_BODY_P10CR
            && rq->req_key == NULL && rq->key_refused == NULL
            && cmp_view_pop_priv_key(rq->view))
        return respond_error(rq, CMP_E_POP_METHOD, POP_PRIV_KEY, resp);
    if ((srv = cmp_srv_new_ctx(rq)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (rq->body == CMP_BODY_CERTCONF
            && (r = cmp_srv_prepare_certconf(rq, srv, &detail)) != CMP_E_NONE)
        return respond_error(rq, r, detail, resp);
    ERR_clear_error();
    rsp = OSSL_CMP_SRV_process_request(srv, rq->msg);
    if (rsp == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (rq->key_refused != NULL && rq->reason == CMP_E_NONE
            && refused(rq->p, rsp, &fi)) {
        /* a p10cr whose key was not decoded: OpenSSL refused its POP */
        cmp_srv_note(rq, CMP_E_KEY_FORM, rq->key_refused);
        rsp = cmp_srv_restatus(rq->p, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), rsp,
                               CMP_E_KEY_FORM, rq->key_refused);
    } else if (rq->reason == CMP_E_NONE
            && (OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_ERROR
                || (is_cert_request(rq->body) && rq->issued == NULL))
            && refused(rq->p, rsp, &fi)) {
        /* refused by OpenSSL's server itself: its statusString is the
         * oldest error on its queue, a leftover; say what it decided */
        r = cmp_srv_ossl_refusal(rq->p, fi, &detail);
        cmp_srv_note(rq, r, detail);
        rsp = cmp_srv_restatus(rq->p, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), rsp,
                               r, detail);
    } else if (rq->reason != CMP_E_NONE
               && OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_ERROR) {
        /* a callback's refusal: OpenSSL gave it the failInfo badRequest */
        rsp = cmp_srv_restatus(rq->p, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), rsp,
                               rq->reason, rq->detail);
    }
    if (rq->genp_body != NULL && OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_GENP
            && (rsp = cmp_srv_rebody(rq->p, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv),
                                     rsp, rq->genp_body, rq->genp_len)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, "the genp could not be made", resp);
    if ((rsp = with_central_key(rq, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), rsp)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, "the centrally generated "
                             "key could not be added to the response", resp);
    if (response_pvno(rq) != OSSL_CMP_PVNO)
        rsp = cmp_srv_repvno(rq->p, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), rsp,
                             response_pvno(rq));
    cmp_own_msg(rq->p, rsp);
    if (encode(rq, rsp, resp) != APR_SUCCESS)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (is_cert_request(rq->body) && rq->queue && resp->body != CMP_BODY_ERROR)
        return queue_request(rq, resp);
    if (is_cert_request(rq->body) && rq->issued != NULL
            && resp->body != CMP_BODY_ERROR) {
        r = store_issued(rq, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), resp, &detail);
        if (r == CMP_E_TX_IN_USE)
            return answer_resent(rq, resp, r, detail);
        if (r != CMP_E_NONE)
            return respond_error(rq, r, detail, resp);
    }
    if (rq->body == CMP_BODY_CERTCONF && !rq->certconf_seen
            && !rq->certconf_resent
            && OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_PKICONF) {
        int updated = 0;

        /* An empty certConf rejects the certificate (RFC 4210 5.3.18). */
        if (cmp_store_tx_finish(rq->p, rq->conn, rq->tx.id, 0,
                                cmp_srv_request_hash(rq),
                                (int)sizeof(rq->req_hash), cmp_srv_actor(rq),
                                &updated)
                != APR_SUCCESS)
            return respond_error(rq, CMP_E_DATABASE, NULL, resp);
        cmp_srv_note(rq, CMP_E_NONE, "certificate rejected by the client");
    }
    ERR_clear_error();
    resp->reason = rq->reason;
    resp->detail = rq->detail;
    return APR_SUCCESS;
}

/* A form of a request that OpenSSL can decode, made by one of our
 * builders (cmp_asn1.h), as an OSSL_CMP_MSG owned by p; NULL when that
 * cannot be had. The builders:
 *   cmp_asn1_standin: a message OpenSSL does not decode but our view of the
 *     header does (RFC 9480 and 9810 additions OpenSSL 3.0 lacks, odd
 *     generalInfo values), answered in CMP all the same through the
 *     request's header with an empty pkiConf for body;
 *   cmp_asn1_certconf_v2: a certConf with the hashAlg of RFC 9810 (pvno 3)
 *     handed to OpenSSL 3.0 without it (cmp_srv_check_certconf() keeps the
 *     digest for the certHash check). */
typedef apr_status_t (*rebuild_fn)(apr_pool_t *p, const unsigned char *der,
                                   long len, unsigned char **out,
                                   apr_size_t *out_len);

static OSSL_CMP_MSG *rebuilt(apr_pool_t *p, rebuild_fn fn,
                             const unsigned char *der, apr_size_t len)
{
    unsigned char *out = NULL;
    const unsigned char *q;
    apr_size_t out_len = 0;
    OSSL_CMP_MSG *m = NULL;

    if (fn(p, der, (long)len, &out, &out_len) == APR_SUCCESS) {
        q = out;
        if ((m = d2i_OSSL_CMP_MSG(NULL, &q, (long)out_len)) != NULL)
            cmp_own_msg(p, m);
    }
    ERR_clear_error();
    return m;
}

/* RFC 9483 3.1 asks for DER: a message in BER (indefinite or long-form
 * lengths, say) is not encoded by OpenSSL as it came. */
static int is_der(const OSSL_CMP_MSG *msg, const unsigned char *der,
                  apr_size_t len)
{
    unsigned char *again = NULL;
    int n = i2d_OSSL_CMP_MSG(msg, &again), same;

    same = n == (int)len && memcmp(again, der, len) == 0;
    OPENSSL_free(again);
    return same;
}

/* OpenSSL's text for the last reason on its queue, from p. */
static const char *ossl_reason(apr_pool_t *p)
{
    unsigned long e = ERR_peek_last_error();
    const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;

    return apr_pstrdup(p, s != NULL ? s : "unknown reason");
}

apr_status_t cmp_server_handle(cmp_server_t *srv, apr_pool_t *p,
                               cmp_route_e route, const char *name,
                               const unsigned char *der, apr_size_t len,
                               cmp_response_t *resp)
{
    const unsigned char *q = der;
    OSSL_CMP_MSG *msg;
    req_t *rq;
    cmp_reason_e r;
    apr_status_t rv;
    const char *undecodable = NULL;
    cmp_view_t *view = NULL;

    memset(resp, 0, sizeof(*resp));
    ERR_clear_error();
    if (len == 0 || len > 0x7fffffff)
        return APR_EINVAL;
    /* keys are left undecoded (cmp_key.h): cmp_srv_own_pop() or OpenSSL do it */
    msg = (OSSL_CMP_MSG *)ASN1_item_d2i_ex(NULL, &q, (long)len,
                                           ASN1_ITEM_rptr(OSSL_CMP_MSG),
                                           srv->keyless, NULL);
    if (msg != NULL && q != der + len) {
        OSSL_CMP_MSG_free(msg);
        msg = NULL;
    }
    if (msg == NULL)
        undecodable = apr_pstrcat(p, "OpenSSL cannot decode the message: ",
                                  ossl_reason(p), NULL);
    else if (!is_der(msg, der, len))
        undecodable = "the message is not DER encoded";
    if (msg != NULL)
        cmp_own_msg(p, msg);
    ERR_clear_error();
    if (cmp_view_decode(p, der, (long)len, &view) == APR_SUCCESS && msg == NULL
            && cmp_view_body_type(view) == CMP_BODY_CERTCONF
            && (msg = rebuilt(p, cmp_asn1_certconf_v2, der, len)) != NULL)
        undecodable = NULL;
    if (view == NULL || (msg == NULL
                             && (msg = rebuilt(p, cmp_asn1_standin, der, len)) == NULL)) {
        ERR_clear_error();
        cmp_refusals_count(srv->refusals, CMP_E_NONE);
        return APR_EINVAL;
    }
    rq = apr_pcalloc(p, sizeof(*rq));
    rq->srv = srv;
    rq->key = srv->key;
    rq->p = p;
    rq->msg = msg;
    rq->der = der;
    rq->len = len;
    rq->view = view;
    rq->undecodable = undecodable;
    rq->body = undecodable != NULL ? cmp_view_body_type(view)
                                   : OSSL_CMP_MSG_get_bodytype(msg);
    resp->req_body = rq->body;
    r = cmp_resolve(srv->resolver, p, route == CMP_ROUTE_RA_PROFILE, name,
                    &rq->conn, &rq->prof);
    if (r != CMP_E_NONE)
        rv = respond_error(rq, r, r == CMP_E_DATABASE ? NULL : name, resp);
    else
        rv = process(rq, resp);
    if (resp->reason != CMP_E_NONE)
        cmp_refusals_count(srv->refusals, resp->reason);
    ERR_clear_error();
    return rv;
}

apr_status_t cmp_server_sweep(cmp_server_t *srv, apr_pool_t *p, int *count)
{
    PGconn *c;
    apr_status_t rv = cmp_db_acquire(srv->db, p, &c);

    long long folded = 0;

    *count = 0;
    if (rv != APR_SUCCESS)
        return rv;
    rv = cmp_store_expire(p, c, count);
    return rv == APR_SUCCESS ? cmp_store_compact_counts(p, c, &folded) : rv;
}
