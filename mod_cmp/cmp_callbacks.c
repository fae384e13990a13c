/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL's CMP server for one request, and our callbacks in it: what each
 * body asks (certificate requests, revocation, confirmation, general
 * messages, a client's error) is decided here, against the profile. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_issue.h"
#include "cmp_key.h"
#include "cmp_log.h"
#include "cmp_ossl.h"
#include "cmp_server_int.h"

/* ---- certificate requests ------------------------------------------------ */

typedef struct {
    const X509_NAME *subject;
    const X509_PUBKEY *spki;            /* the request's */
    EVP_PKEY *pubkey;                   /* inside spki */
    const STACK_OF(X509_EXTENSION) *exts;   /* owned when own_exts */
    int own_exts;
    const ASN1_TIME *not_after;         /* the request's; NULL: none asked */
} wanted_t;

static void wanted_free(wanted_t *w)
{
    if (w->own_exts)
        sk_X509_EXTENSION_pop_free((STACK_OF(X509_EXTENSION) *)w->exts,
                                   X509_EXTENSION_free);
}

static int read_wanted(const OSSL_CRMF_MSG *crm, const X509_REQ *p10cr,
                       EVP_PKEY *key, wanted_t *w)
{
    memset(w, 0, sizeof(*w));
    if (p10cr != NULL) {
        w->subject = X509_REQ_get_subject_name(p10cr);
        w->spki = X509_REQ_get_X509_PUBKEY((X509_REQ *)p10cr);
        w->pubkey = X509_REQ_get0_pubkey((X509_REQ *)p10cr);
        w->exts = X509_REQ_get_extensions((X509_REQ *)p10cr);
        w->own_exts = 1;
        return 1;
    } else {
        const OSSL_CRMF_CERTTEMPLATE *t = OSSL_CRMF_MSG_get0_tmpl(crm);
        const ASN1_TIME *not_before;

        if (t == NULL)
            return 0;
        w->subject = OSSL_CRMF_CERTTEMPLATE_get0_subject(t);
        w->exts = OSSL_CRMF_CERTTEMPLATE_get0_extensions(t);
        if (cmp_template_read(t, &w->spki, &not_before, &w->not_after)
                != APR_SUCCESS)
            return 0;
        w->pubkey = key != NULL ? key
                    : w->spki != NULL ? X509_PUBKEY_get0(w->spki) : NULL;
        return 1;
    }
}

/* RFC 9483 4.1.3: oldCertID, when given, names the certificate that signs. */
static int kur_old_cert_matches(req_t *rq, const OSSL_CRMF_MSG *crm)
{
    const OSSL_CRMF_CERTID *id = OSSL_CRMF_MSG_get0_regCtrl_oldCertID(crm);
    const X509_NAME *issuer;

    if (id == NULL)
        return 1;
    issuer = OSSL_CRMF_CERTID_get0_issuer(id);
    return issuer != NULL
           && X509_NAME_cmp(issuer, X509_get_issuer_name(rq->signer)) == 0
           && ASN1_INTEGER_cmp(OSSL_CRMF_CERTID_get0_serialNumber(id),
                               X509_get0_serialNumber(rq->signer)) == 0;
}

static STACK_OF(X509) *ca_chain_out(const cmp_profile_t *pr)
{
    STACK_OF(X509) *chain = X509_chain_up_ref(pr->ca_chain);

    if (chain != NULL && (!X509_up_ref(pr->ca.cert)
                          || !sk_X509_unshift(chain, pr->ca.cert))) {
        sk_X509_pop_free(chain, X509_free);
        return NULL;
    }
    return chain;
}

static OSSL_CMP_PKISI *cert_request_cb(OSSL_CMP_SRV_CTX *srv_ctx,
                                       const OSSL_CMP_MSG *msg, int certReqId,
                                       const OSSL_CRMF_MSG *crm,
                                       const X509_REQ *p10cr, X509 **certOut,
                                       STACK_OF(X509) **chainOut,
                                       STACK_OF(X509) **caPubs)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    const cmp_profile_t *pr = rq->prof;
    wanted_t w;
    X509 *cert = NULL;
    char why[300];
    cmp_reason_e r;
    OSSL_CMP_PKISI *si;

    if (rq->replay_cert != NULL) {
        /* Re-running the original request to reach the state OpenSSL expects
         * before a certConf: hand back the certificate already issued. */
        if (!X509_up_ref(rq->replay_cert))
            return NULL;
        *certOut = rq->replay_cert;
        return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
    }
    if (rq->pop_failed)
        return cmp_srv_refuse(rq, CMP_E_BAD_POP, "the POP signature does not "
                              "verify with the public key of the template");
    if (!read_wanted(crm, p10cr, rq->req_key, &w)) {
        wanted_free(&w);
        return cmp_srv_refuse(rq, CMP_E_BAD_TEMPLATE,
                              "the template does not parse");
    }
    if (rq->body == CMP_BODY_KUR) {
        if (!kur_old_cert_matches(rq, crm)) {
            wanted_free(&w);
            return cmp_srv_refuse(rq, CMP_E_KUR_OLD_CERT, "oldCertID does not "
                                  "name the signing certificate");
        }
        if (w.subject == NULL || X509_NAME_entry_count(w.subject) == 0)
            w.subject = X509_get_subject_name(rq->signer);
        rq->replaces_id = rq->signer_row.id;
    }
    r = cmp_policy_check(&pr->policy, w.subject, w.pubkey, w.exts, why,
                         sizeof(why));
    if (r != CMP_E_NONE) {
        wanted_free(&w);
        return cmp_srv_refuse(rq, r, why);
    }
    rq->key_type = EVP_PKEY_get0_type_name(w.pubkey);
    if (cmp_issue_build(&pr->ca, &pr->policy, w.subject, w.spki, w.exts,
                        w.not_after, &cert) != APR_SUCCESS) {
        wanted_free(&w);
        ERR_clear_error();
        return cmp_srv_refuse(rq, CMP_E_INTERNAL,
                              "signing the certificate failed");
    }
    wanted_free(&w);
    si = OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
    if (si == NULL || !X509_up_ref(cert)) {
        OSSL_CMP_PKISI_free(si);
        X509_free(cert);
        return NULL;
    }
    rq->issued = cert;
    cmp_own_x509(rq->p, cert);
    *certOut = cert;
    *chainOut = ca_chain_out(pr);
    /* RFC 9483 4.1.1: caPubs may carry the root to a MAC-authenticated EE. */
    if (rq->prot == CMP_PROT_MAC && rq->body == CMP_BODY_IR)
        *caPubs = ca_chain_out(pr);
    return si;
}

/* ---- revocation ---------------------------------------------------------- */

static int signer_is(const req_t *rq, const X509_NAME *issuer,
                     const ASN1_INTEGER *serial)
{
    return rq->signer != NULL
           && X509_NAME_cmp(X509_get_issuer_name(rq->signer), issuer) == 0
           && ASN1_INTEGER_cmp(X509_get0_serialNumber(rq->signer), serial) == 0;
}

static OSSL_CMP_PKISI *rr_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                             const X509_NAME *issuer,
                             const ASN1_INTEGER *serial)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    const cmp_profile_t *pr = rq->prof;
    cmp_store_cert_t row;
    const char *hex, *actor;
    int found = 0, updated = 0, reason;

    if (issuer == NULL || serial == NULL)
        return cmp_srv_refuse(rq, CMP_E_CERT_UNKNOWN,
                              "issuer and serial are required");
    hex = cmp_issue_serial_hex(rq->p, serial);
    if (X509_NAME_cmp(issuer, X509_get_subject_name(pr->ca.cert)) != 0)
        return cmp_srv_refuse(rq, CMP_E_CERT_UNKNOWN,
                              cmp_issue_name_text(rq->p, issuer));
    if (cmp_store_cert_get(rq->p, rq->conn, pr->auth_id, hex, &row, &found)
            != APR_SUCCESS)
        return cmp_srv_refuse(rq, CMP_E_DATABASE, NULL);
    if (!found || row.ra_id != pr->ra_id || strcmp(row.status, "pending") == 0)
        return cmp_srv_refuse(rq, CMP_E_CERT_UNKNOWN,
                              apr_pstrcat(rq->p, "serial ", hex, NULL));
    if (strcmp(row.status, "valid") != 0)
        return cmp_srv_refuse(rq, CMP_E_CERT_REVOKED,
                              apr_pstrcat(rq->p, "serial ", hex, NULL));
    if (rq->prot != CMP_PROT_MAC && !signer_is(rq, issuer, serial))
        return cmp_srv_refuse(rq, CMP_E_NOT_AUTHORIZED, "only the holder or the "
                              "profile's shared secret may revoke");
    reason = cmp_view_rr_reason(rq->view);
    if (reason < 0)
        reason = 0;     /* unspecified */
    if (!cmp_store_revocation_reason_ok(reason))
        return cmp_srv_refuse(rq, CMP_E_BAD_REVOCATION_REASON,
                              apr_psprintf(rq->p, "CRLReason %d", reason));
    actor = rq->prot == CMP_PROT_MAC
            ? apr_pstrcat(rq->p, "cmp:", pr->cmp_name, ":shared-secret", NULL)
            : apr_pstrcat(rq->p, "cmp:",
                          cmp_issue_name_text(rq->p, cmp_view_sender(rq->view)),
                          NULL);
    if (cmp_store_revoke(rq->p, rq->conn, row.id, reason, actor, &updated)
            != APR_SUCCESS)
        return cmp_srv_refuse(rq, CMP_E_DATABASE, NULL);
    if (!updated)
        return cmp_srv_refuse(rq, CMP_E_CERT_REVOKED,
                              apr_pstrcat(rq->p, "serial ", hex, NULL));
    cmp_log(CMP_LOG_INFO, CMPLOGNO(10401) "revoked certificate %s of RA "
            "Profile %s, reason %d", hex, pr->ra_name, reason);
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

/* ---- confirmation, errors, general messages ------------------------------ */

static int certconf_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                       int certReqId, const ASN1_OCTET_STRING *certHash,
                       const OSSL_CMP_PKISI *si)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    ASN1_OCTET_STRING *mine;
    int accepted, updated = 0, same;

    rq->certconf_seen = 1;
    mine = X509_digest_sig(rq->replay_cert, NULL, NULL);
    same = mine != NULL && certHash != NULL
           && ASN1_OCTET_STRING_cmp(mine, certHash) == 0;
    ASN1_OCTET_STRING_free(mine);
    if (!same) {
        cmp_srv_note(rq, CMP_E_CERTHASH, NULL);
        cmp_err_raise(CMP_E_CERTHASH, NULL);
        return 0;
    }
    accepted = si == NULL
               || cmp_pkisi_status(si) == OSSL_CMP_PKISTATUS_accepted
               || cmp_pkisi_status(si) == OSSL_CMP_PKISTATUS_grantedWithMods;
    if (cmp_store_tx_finish(rq->p, rq->conn, rq->tx.id, accepted, &updated)
            != APR_SUCCESS) {
        cmp_srv_note(rq, CMP_E_DATABASE, NULL);
        cmp_err_raise(CMP_E_DATABASE, NULL);
        return 0;
    }
    if (!updated) {
        cmp_srv_note(rq, CMP_E_TX_STATE, "already confirmed or expired");
        cmp_err_raise(CMP_E_TX_STATE, "already confirmed or expired");
        return 0;
    }
    if (!accepted)
        cmp_srv_note(rq, CMP_E_NONE, "certificate rejected by the client");
    return 1;
}

/* A client that gives up on a transaction sends an error message. */
static void error_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                     const OSSL_CMP_PKISI *statusInfo,
                     const ASN1_INTEGER *errorCode,
                     const OSSL_CMP_PKIFREETEXT *errDetails)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    cmp_store_tx_t tx;
    int found = 0, updated = 0;

    if (tid == NULL
            || cmp_store_tx_get(rq->p, rq->conn, tid->data, tid->length, &tx,
                                &found) != APR_SUCCESS
            || !found || tx.cmp_id != rq->prof->cmp_id
            || strcmp(tx.state, "waiting_conf") != 0)
        return;
    (void)cmp_store_tx_finish(rq->p, rq->conn, tx.id, 0, &updated);
    cmp_srv_note(rq, CMP_E_NONE, "transaction aborted by the client");
}

static int genm_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                   const STACK_OF(OSSL_CMP_ITAV) *in,
                   STACK_OF(OSSL_CMP_ITAV) **out)
{
    *out = sk_OSSL_CMP_ITAV_new_null();
    return *out != NULL;
}

/* ---- the server ------------------------------------------------------------ */

OSSL_CMP_SRV_CTX *cmp_srv_new_ctx(req_t *rq)
{
    OSSL_CMP_SRV_CTX *srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    OSSL_CMP_CTX *ctx;

    if (srv == NULL)
        return NULL;
    cmp_own_srv_ctx(rq->p, srv);
    ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    cmp_ossl_debug_log(ctx);
    /* Protection was verified by cmp_srv_check_protection() already, with the
     * rules of the profile; OpenSSL's own check would lack them. */
    if (!OSSL_CMP_SRV_CTX_init(srv, rq, cert_request_cb, rr_cb, genm_cb,
                               error_cb, certconf_cb, NULL)
            || !OSSL_CMP_SRV_CTX_set_accept_unprotected(srv, 1)
            /* a POP cmp_srv_own_pop() verified stands as raVerified; a request sent
             * with raVerified is never accepted */
            || !OSSL_CMP_SRV_CTX_set_accept_raverified(srv, rq->req_key != NULL)
            || !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv,
                                                             rq->prof->implicit_confirm)
            || !cmp_srv_request_protection(rq, ctx))
        return NULL;
    return srv;
}
