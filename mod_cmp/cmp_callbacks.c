/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL's CMP server for one request, and our callbacks in it: what each
 * body asks (certificate requests, revocation, confirmation, general
 * messages, a client's error) is decided here, against the profile. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_central.h"
#include "cmp_crl.h"
#include "cmp_issue.h"
#include "cmp_key.h"
#include "cmp_log.h"
#include "cmp_ossl.h"
#include "cmp_rollover.h"
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

/* The caPubs of an ip: RFC 9483 4.1.1, the CA's chain to an end entity
 * that authenticated with a MAC; 3GPP TS 33.310 9.5, the operator's root
 * to a base station (signed with its vendor certificate). */
static STACK_OF(X509) *ca_pubs(const req_t *rq, int body)
{
    if (body != CMP_BODY_IR)
        return NULL;
    if (rq->prof->root_out != NULL)
        return X509_chain_up_ref(rq->prof->root_out);
    return rq->prot == CMP_PROT_MAC ? ca_chain_out(rq->prof) : NULL;
}

static apr_status_t pubkey_cleanup(void *data)
{
    X509_PUBKEY_free(data);
    return APR_SUCCESS;
}

/* The algorithm the template names (an algorithm-only publicKey) is that
 * of key: the same OID, and the same parameters where it gives them (the
 * curve of an EC key). */
static int same_algorithm(const X509_PUBKEY *asked, const X509_PUBKEY *made)
{
    X509_ALGOR *a = NULL, *m = NULL;
    ASN1_OBJECT *ao = NULL, *mo = NULL;

    if (!X509_PUBKEY_get0_param(&ao, NULL, NULL, &a, (X509_PUBKEY *)asked)
            || !X509_PUBKEY_get0_param(&mo, NULL, NULL, &m, (X509_PUBKEY *)made)
            || OBJ_cmp(ao, mo) != 0)
        return 0;
    return a->parameter == NULL || a->parameter->type == V_ASN1_NULL
           || (m->parameter != NULL
               && ASN1_TYPE_cmp(a->parameter, m->parameter) == 0);
}

/* RFC 9483 4.1.6: the key of a request that asks the server to make it,
 * of the RA Profile's centralKeyType (the algorithm the template names, if
 * any, the same). It leaves in the response only, as an EncryptedKey
 * (rq->central_der): to the requester's certificate for a signed request,
 * to the secret of a MAC-protected one; nothing keeps it. w then wants the
 * made key. NULL with the refusal in *si. */
static EVP_PKEY *central_key(req_t *rq, wanted_t *w, OSSL_CMP_PKISI **si)
{
    const cmp_profile_t *pr = rq->prof;
    const cmp_policy_t *pol = &pr->policy;
    const char *why = NULL;
    X509_PUBKEY *spki = NULL;
    EVP_PKEY *key;
    unsigned char *der = NULL;
    int len = 0;
    apr_status_t rv;

    if (pol->central_type == NULL) {
        *si = cmp_srv_refuse(rq, CMP_E_CENTRAL_NOT_ALLOWED, apr_psprintf(rq->p,
                             "RA Profile %s does not generate keys: send the "
                             "public key of your own key pair, with its POP",
                             pr->ra_name));
        return NULL;
    }
    if ((rq->prot == CMP_PROT_MAC && rq->mac_secret == NULL)
            || (rq->prot != CMP_PROT_MAC && rq->signer == NULL)) {
        *si = cmp_srv_refuse(rq, CMP_E_CENTRAL_UNAVAILABLE, "the request's "
                             "protection gives no way to return the key "
                             "encrypted to its sender");
        return NULL;
    }
    if (pr->signer == NULL || !cmp_issue_is_kga(pr->signer)) {
        *si = cmp_srv_refuse(rq, CMP_E_CENTRAL_UNAVAILABLE, apr_psprintf(rq->p,
                             "the key the server makes is signed by the CMP "
                             "signing certificate of CMP Profile %s, which "
                             "needs extendedKeyUsage id-kp-cmKGA (RFC 9483 "
                             "4.1.6): %s", pr->cmp_name, pr->signer == NULL
                             ? "it has none"
                             : "this one does not name it; issue a new one "
                               "(mod_cmp 0.21 and later issue them with it)"));
        return NULL;
    }
    if ((key = cmp_key_generate(rq->p, pol->central_type, pol->central_param,
                                &why)) == NULL) {
        *si = cmp_srv_refuse(rq, CMP_E_INTERNAL, apr_pstrcat(rq->p, "the key "
                             "of centralKeyType could not be made: ", why, NULL));
        return NULL;
    }
    cmp_own_pkey(rq->p, key);
    if (!X509_PUBKEY_set(&spki, key)) {
        ERR_clear_error();
        *si = cmp_srv_refuse(rq, CMP_E_INTERNAL, NULL);
        return NULL;
    }
    apr_pool_cleanup_register(rq->p, spki, pubkey_cleanup, apr_pool_cleanup_null);
    if (w->spki != NULL && !same_algorithm(w->spki, spki)) {
        ASN1_OBJECT *oid = NULL;
        char asked[80] = "another";

        if (X509_PUBKEY_get0_param(&oid, NULL, NULL, NULL, (X509_PUBKEY *)w->spki))
            OBJ_obj2txt(asked, sizeof(asked), oid, 0);
        *si = cmp_srv_refuse(rq, CMP_E_POLICY_KEY, apr_psprintf(rq->p,
                             "the template asks for a key of %s; RA Profile "
                             "%s generates %s%s%s keys", asked, pr->ra_name,
                             pol->central_type, pol->central_param ? ":" : "",
                             pol->central_param ? pol->central_param : ""));
        return NULL;
    }
    rv = cmp_central_package(rq->p, key, pr->signer, pr->signer_key,
                             pr->signer_chain,
                             rq->prot == CMP_PROT_MAC ? NULL : rq->signer,
                             rq->mac_secret, rq->mac_secret_len, &der, &len,
                             &why);
    if (rv != APR_SUCCESS) {
        *si = cmp_srv_refuse(rq, rv == APR_EINVAL ? CMP_E_CENTRAL_UNAVAILABLE
                                                  : CMP_E_INTERNAL, why);
        return NULL;
    }
    rq->central_der = der;
    rq->central_len = len;
    w->spki = spki;
    w->pubkey = key;
    return key;
}

/* RFC 9483 4.4: a request the RA Profile's policy admits waits for an
 * administrator's approval, when it requires one: answered 'waiting' and
 * queued (process() stores it with that answer), unless the queue is full. */
static OSSL_CMP_PKISI *wait_for_approval(req_t *rq, const wanted_t *w)
{
    long long n = 0;
    GENERAL_NAMES *sans = X509V3_get_d2i(w->exts, NID_subject_alt_name, NULL, NULL);
    apr_array_header_t *text = cmp_issue_names_text(rq->p, sans);
    int i;

    GENERAL_NAMES_free(sans);
    ERR_clear_error();
    if (cmp_store_pending_count(rq->p, rq->conn, rq->prof->ra_id, &n) != APR_SUCCESS)
        return cmp_srv_refuse(rq, CMP_E_DATABASE, NULL);
    if (n >= rq->prof->max_pending)
        return cmp_srv_refuse(rq, CMP_E_QUEUE_FULL, apr_psprintf(rq->p,
                              "RA Profile %s has %" APR_INT64_T_FMT " waiting, "
                              "its bound", rq->prof->ra_name, (apr_int64_t)n));
    rq->queue = 1;
    rq->queue_subject = cmp_issue_name_text(rq->p, w->subject);
    rq->queue_sans = "";
    for (i = 0; i < text->nelts; i++)
        rq->queue_sans = apr_pstrcat(rq->p, rq->queue_sans, i ? ", " : "",
                                     APR_ARRAY_IDX(text, i, const char *), NULL);
    cmp_srv_note(rq, CMP_E_NONE, "waiting for approval");
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_waiting, 0, CMP_WAITING_TEXT);
}

/* A pollReq: the request it polls for is handed back to OpenSSL once it
 * is decided (issued, or refused, by cert_request_cb); until then a
 * pollRep with the RA Profile's checkAfter. */
static int pollreq_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *req,
                      int certReqId, OSSL_CMP_MSG **certReq,
                      int64_t *check_after)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);

    (void)req;
    (void)certReqId;
    *certReq = NULL;
    *check_after = rq->prof->check_after;
    if (rq->poll_phase == POLL_ISSUE || rq->poll_phase == POLL_REFUSE)
        return (*certReq = OSSL_CMP_MSG_dup(rq->poll_orig)) != NULL;
    return 1;
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
    int body = OSSL_CMP_MSG_get_bodytype(msg);
    wanted_t w;
    cmp_grant_t grant;
    X509 *cert = NULL;
    char why[300];
    cmp_reason_e r;
    OSSL_CMP_PKISI *si;

    /* a pollReq: the request it polls for, run as its phase says */
    if (rq->poll_phase == POLL_WAIT)
        return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_waiting, 0,
                                       CMP_WAITING_TEXT);
    if (rq->poll_phase == POLL_REFUSE)
        return cmp_srv_refuse(rq, rq->poll_reason, rq->poll_detail);
    if (rq->replay_cert != NULL) {
        /* Re-running the original request to reach the state OpenSSL expects
         * before a certConf: hand back the certificate already issued. */
        if (!X509_up_ref(rq->replay_cert))
            return NULL;
        *certOut = rq->replay_cert;
        *chainOut = ca_chain_out(pr);
        *caPubs = ca_pubs(rq, rq->body);
        return rq->mods != NULL
               ? OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_grantedWithMods, 0,
                                         rq->mods)
               : OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
    }
    if (rq->key_refused != NULL)
        return cmp_srv_refuse(rq, CMP_E_KEY_FORM, rq->key_refused);
    if (rq->pop_failed)
        return cmp_srv_refuse(rq, CMP_E_BAD_POP, "the POP signature does not "
                              "verify with the public key of the template");
    if (!read_wanted(crm, p10cr, rq->req_key, &w)) {
        wanted_free(&w);
        return cmp_srv_refuse(rq, CMP_E_BAD_TEMPLATE,
                              "the template does not parse");
    }
    if (body == CMP_BODY_KUR && (rq->signer == NULL || !rq->signer_ours)) {
        wanted_free(&w);
        return cmp_srv_refuse(rq, CMP_E_KUR_OLD_CERT, "a key update must be "
                              "signed by the certificate to update");
    }
    if (body == CMP_BODY_KUR) {
        if (!kur_old_cert_matches(rq, crm)) {
            wanted_free(&w);
            return cmp_srv_refuse(rq, CMP_E_KUR_OLD_CERT, "oldCertID does not "
                                  "name the signing certificate");
        }
        STACK_OF(X509_EXTENSION) *made;

        r = cmp_policy_kur_identity(&pr->policy, rq->signer, &w.subject,
                                    w.exts, &made, why, sizeof(why));
        if (r != CMP_E_NONE) {
            wanted_free(&w);
            return cmp_srv_refuse(rq, r, why);
        }
        if (made != NULL) {
            /* the template's extensions are copied into made */
            wanted_free(&w);
            w.exts = made;
            w.own_exts = 1;
        }
        rq->replaces_id = rq->signer_row.id;
    }
    if (rq->central && central_key(rq, &w, &si) == NULL) {
        wanted_free(&w);
        return si;
    }
    r = cmp_policy_check(&pr->policy, w.subject, w.pubkey, w.exts, why,
                         sizeof(why));
    if (r != CMP_E_NONE) {
        wanted_free(&w);
        return cmp_srv_refuse(rq, r, why);
    }
    r = cmp_policy_grant(&pr->policy, w.pubkey, w.exts, rq->p, &grant, why,
                         sizeof(why));
    if (r != CMP_E_NONE) {
        wanted_free(&w);
        return cmp_srv_refuse(rq, r, why);
    }
    rq->key_type = EVP_PKEY_get0_type_name(w.pubkey);
    if (pr->require_approval && rq->poll_phase != POLL_ISSUE) {
        si = wait_for_approval(rq, &w);
        wanted_free(&w);
        return si;
    }
    if (cmp_issue_build(&pr->ca, &pr->policy, w.subject, w.spki, w.exts,
                        w.not_after, &grant, &cert) != APR_SUCCESS) {
        wanted_free(&w);
        ERR_clear_error();
        return cmp_srv_refuse(rq, CMP_E_INTERNAL,
                              "signing the certificate failed");
    }
    wanted_free(&w);
    /* RFC 4210 5.2.3: what was issued otherwise than asked is said */
    si = grant.mods != NULL
         ? OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_grantedWithMods, 0,
                                   grant.mods)
         : OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
    rq->mods = grant.mods;
    if (grant.mods != NULL)
        cmp_srv_note(rq, CMP_E_NONE, apr_pstrcat(rq->p, "granted with "
                                                 "modifications: ", grant.mods,
                                                 NULL));
    if (si == NULL || !X509_up_ref(cert)) {
        OSSL_CMP_PKISI_free(si);
        X509_free(cert);
        return NULL;
    }
    rq->issued = cert;
    cmp_own_x509(rq->p, cert);
    *certOut = cert;
    *chainOut = ca_chain_out(pr);
    *caPubs = ca_pubs(rq, body);
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
    const ASN1_OCTET_STRING *tid;
    const char *hex, *problem;
    long long invalidity = 0;
    int found = 0, updated = 0, reason, used = 0;

    if (issuer == NULL || serial == NULL)
        return cmp_srv_refuse(rq, CMP_E_CERT_UNKNOWN,
                              "issuer and serial are required");
    reason = cmp_view_rr_reason(rq->view);
    if (reason == CMP_RR_REASON_BAD)
        return cmp_srv_refuse(rq, CMP_E_BAD_REVOCATION_REASON, "two CRLReason "
                              "extensions, or one that does not decode");
    if (reason < 0)
        reason = 0;     /* unspecified */
    if (cmp_view_rr_invalidity(rq->view, &invalidity) == CMP_RR_REASON_BAD)
        return cmp_srv_refuse(rq, CMP_E_BAD_DATA_FORMAT, "two invalidityDate "
                              "extensions, or one that does not decode");
    if (invalidity != 0 && (problem = cmp_store_invalidity_problem(
                                rq->p, invalidity, (long long)time(NULL))) != NULL)
        return cmp_srv_refuse(rq, CMP_E_BAD_INVALIDITY_DATE, problem);
    if (!cmp_store_revocation_reason_ok(reason))
        return cmp_srv_refuse(rq, CMP_E_BAD_REVOCATION_REASON,
                              apr_psprintf(rq->p, "CRLReason %d", reason));
    hex = cmp_issue_serial_hex(rq->p, serial);
    if (X509_NAME_cmp(issuer, X509_get_subject_name(pr->ca.cert)) != 0)
        return cmp_srv_refuse(rq, CMP_E_CERT_UNKNOWN,
                              cmp_issue_name_text(rq->p, issuer));
    /* the first message of a transaction: not one an enrollment used */
    tid = cmp_view_transaction_id(rq->view);
    if (cmp_store_tid_used(rq->p, rq->conn, tid->data, tid->length, &used)
            != APR_SUCCESS)
        return cmp_srv_refuse(rq, CMP_E_DATABASE, NULL);
    if (used)
        return cmp_srv_refuse(rq, CMP_E_TX_IN_USE, "an enrollment used it");
    if (cmp_store_cert_get(rq->p, rq->conn, pr->auth_id, hex, &row, &found)
            != APR_SUCCESS)
        return cmp_srv_refuse(rq, CMP_E_DATABASE, NULL);
    if (!found || row.ra_id != pr->ra_id || strcmp(row.status, "pending") == 0)
        return cmp_srv_refuse(rq, CMP_E_CERT_UNKNOWN,
                              apr_pstrcat(rq->p, "serial ", hex, NULL));
    if (strcmp(row.status, "valid") != 0)
        return cmp_srv_refuse(rq, CMP_E_CERT_REVOKED,
                              apr_pstrcat(rq->p, "serial ", hex, NULL));
    if (rq->signer_revoked)
        return cmp_srv_refuse(rq, CMP_E_SIGNER_REVOKED, "the rr is signed by a "
                              "revoked certificate");
    if (rq->prot != CMP_PROT_MAC && !signer_is(rq, issuer, serial))
        return cmp_srv_refuse(rq, CMP_E_NOT_AUTHORIZED, "only the holder or the "
                              "profile's shared secret may revoke");
    if (cmp_store_revoke(rq->p, rq->conn, row.id, reason, invalidity,
                         cmp_srv_actor(rq),
                         &updated)
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

/* The certHash of cert: with the digest of the certConf's hashAlg, else
 * with that of the certificate's signature (RFC 9810 5.3.18). */
static ASN1_OCTET_STRING *cert_hash(X509 *cert, int hash_nid)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ASN1_OCTET_STRING *h;

    if (hash_nid == NID_undef || hash_nid == 0)
        return X509_digest_sig(cert, NULL, NULL);
    if (!X509_digest(cert, EVP_get_digestbynid(hash_nid), md, &n)
            || (h = ASN1_OCTET_STRING_new()) == NULL)
        return NULL;
    if (!ASN1_OCTET_STRING_set(h, md, (int)n)) {
        ASN1_OCTET_STRING_free(h);
        return NULL;
    }
    return h;
}

static int certconf_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                       int certReqId, const ASN1_OCTET_STRING *certHash,
                       const OSSL_CMP_PKISI *si)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    ASN1_OCTET_STRING *mine;
    int accepted, updated = 0, same;

    rq->certconf_seen = 1;
    mine = cert_hash(rq->replay_cert, rq->certconf_hash_nid);
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
    if (rq->certconf_resent) {
        /* its pkiConf was lost: answered again, nothing changes */
        cmp_srv_note(rq, CMP_E_NONE, "the same certConf again: its pkiConf again");
        return 1;
    }
    if (cmp_store_tx_finish(rq->p, rq->conn, rq->tx.id, accepted,
                            cmp_srv_request_hash(rq), (int)sizeof(rq->req_hash),
                            cmp_srv_actor(rq), &updated) != APR_SUCCESS) {
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
    (void)cmp_store_tx_finish(rq->p, rq->conn, tx.id, 0, NULL, 0,
                              cmp_srv_actor(rq), &updated);
    cmp_srv_note(rq, CMP_E_NONE, "transaction aborted by the client");
}

/* General messages (RFC 9483 4.3; RFC 9810 5.3.19): the id-it-* types.
 * The genp is made as DER here and put in place of the (empty) one OpenSSL
 * builds (process() in cmp_server.c): OpenSSL versions differ in how they
 * hold an infoValue (3.0 as ANY, later ones typed per infoType). */
#define IT(n) "1.3.6.1.5.5.7.4." #n

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *itavs;      /* DER of each InfoTypeAndValue */
    apr_array_header_t *lens;
} genp_t;

/* An InfoTypeAndValue of type oid; value (DER) NULL: absent. */
static int add_itav(genp_t *g, const char *oid, const unsigned char *value,
                    int value_len)
{
    ASN1_OBJECT *type = OBJ_txt2obj(oid, 1);
    unsigned char *odr = NULL, *out = NULL;
    const unsigned char *parts[2];
    int n = type != NULL ? i2d_ASN1_OBJECT(type, &odr) : 0, lens[2], out_len = 0;
    apr_status_t rv;

    ASN1_OBJECT_free(type);
    if (n <= 0)
        return 0;
    parts[0] = odr;
    lens[0] = n;
    parts[1] = value;
    lens[1] = value_len;
    rv = cmp_asn1_wrap(g->p, V_ASN1_SEQUENCE, 0, parts, lens, value != NULL ? 2 : 1,
                       &out, &out_len);
    OPENSSL_free(odr);
    if (rv != APR_SUCCESS)
        return 0;
    APR_ARRAY_PUSH(g->itavs, const unsigned char *) = out;
    APR_ARRAY_PUSH(g->lens, int) = out_len;
    return 1;
}

/* caCerts: the issuing CA and its chain, as SEQUENCE OF CMPCertificate */
static int add_ca_certs(genp_t *g, const cmp_profile_t *pr)
{
    STACK_OF(X509) *chain = ca_chain_out(pr);
    int i, n = sk_X509_num(chain), ok = n > 0, len = 0;
    const unsigned char **ders = apr_pcalloc(g->p, sizeof(*ders) * (n + 1));
    int *lens = apr_pcalloc(g->p, sizeof(*lens) * (n + 1));
    unsigned char *seq = NULL;

    for (i = 0; ok && i < n; i++) {
        unsigned char *d = NULL;

        if ((ok = (lens[i] = i2d_X509(sk_X509_value(chain, i), &d)) > 0))
            ders[i] = apr_pmemdup(g->p, d, (apr_size_t)lens[i]);
        OPENSSL_free(d);
    }
    sk_X509_pop_free(chain, X509_free);
    return ok && cmp_asn1_wrap(g->p, V_ASN1_SEQUENCE, 0, ders, lens, n, &seq,
                               &len) == APR_SUCCESS
           && add_itav(g, IT(17), seq, len);
}

/* certReqTemplate: CertReqTemplateContent with the extensions every
 * certificate of the RA Profile gets (basicConstraints, keyUsage,
 * extendedKeyUsage), which a request cannot change, and the keySpec of the
 * key types it allows */
static int add_template(genp_t *g, const cmp_profile_t *pr)
{
    OSSL_CRMF_MSG *crm = OSSL_CRMF_MSG_new();
    STACK_OF(X509_EXTENSION) *exts = NULL;
    unsigned char *d = NULL, *seq = NULL, *spec = NULL;
    const unsigned char *der[2];
    int len[2], seq_len = 0, spec_len = 0, ok = 0;

    if (crm != NULL && pr->policy.exts != NULL
            && cmp_policy_key_spec(&pr->policy, g->p, &spec, &spec_len)
            && (exts = sk_X509_EXTENSION_deep_copy(pr->policy.exts,
                                                   X509_EXTENSION_dup,
                                                   X509_EXTENSION_free)) != NULL
            && OSSL_CRMF_MSG_set0_extensions(crm, exts)) {
        exts = NULL;
        len[0] = ASN1_item_i2d((const ASN1_VALUE *)OSSL_CRMF_MSG_get0_tmpl(crm),
                               &d, ASN1_ITEM_rptr(OSSL_CRMF_CERTTEMPLATE));
        der[0] = d;
        der[1] = spec;
        len[1] = spec_len;
        ok = len[0] > 0
             && cmp_asn1_wrap(g->p, V_ASN1_SEQUENCE, 0, der, len,
                              spec != NULL ? 2 : 1, &seq, &seq_len) == APR_SUCCESS
             && add_itav(g, IT(19), seq, seq_len);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    OPENSSL_free(d);
    OSSL_CRMF_MSG_free(crm);
    return ok;
}

/* unsupportedOIDs (RFC 9810 5.3.19.7): the types we do not know */
static int add_unsupported(genp_t *g, const STACK_OF(ASN1_OBJECT) *unknown)
{
    int i, n = sk_ASN1_OBJECT_num(unknown), ok = 1, len = 0;
    const unsigned char **ders = apr_pcalloc(g->p, sizeof(*ders) * (n + 1));
    int *lens = apr_pcalloc(g->p, sizeof(*lens) * (n + 1));
    unsigned char *seq = NULL;

    for (i = 0; ok && i < n; i++) {
        unsigned char *d = NULL;

        if ((ok = (lens[i] = i2d_ASN1_OBJECT(sk_ASN1_OBJECT_value(unknown, i),
                                             &d)) > 0))
            ders[i] = apr_pmemdup(g->p, d, (apr_size_t)lens[i]);
        OPENSSL_free(d);
    }
    return ok && cmp_asn1_wrap(g->p, V_ASN1_SEQUENCE, 0, ders, lens, n, &seq,
                               &len) == APR_SUCCESS
           && add_itav(g, IT(7), seq, len);
}

typedef enum { IT_ECHO, IT_CA_CERTS, IT_ROOT_CA_CERT, IT_TEMPLATE, IT_CRLS }
    it_answer_e;

static const struct {
    const char *oid, *name;
    it_answer_e answer;
    int value_allowed;          /* the genm may carry a value */
} known_types[] = {
    {IT(17), "caCerts", IT_CA_CERTS, 0},
    {IT(20), "rootCaCert", IT_ROOT_CA_CERT, 1},
    {IT(19), "certReqTemplate", IT_TEMPLATE, 0},
    {IT(22), "crlStatusList", IT_CRLS, 1},
    /* RFC 9810 5.3.19: asked without value; answered without one, as we
     * have nothing to add to what the profile's responses say */
    {IT(2), "signKeyPairTypes", IT_ECHO, 0},
    {IT(3), "encKeyPairTypes", IT_ECHO, 0},
    {IT(4), "preferredSymmAlg", IT_ECHO, 0},
    {IT(5), "caKeyUpdateInfo", IT_ECHO, 0},
    {IT(6), "currentCRL", IT_ECHO, 0},
    {IT(10), "keyPairParamReq", IT_ECHO, 1},
    {IT(16), "suppLangTags", IT_ECHO, 1},
};
#define N_KNOWN_TYPES (sizeof(known_types) / sizeof(known_types[0]))

/* RFC 9483 4.3.4: the CA's current CRL when a CRLStatus names it (by
 * issuer or distribution point) without a thisUpdate or with an older one;
 * else crls without value (no newer CRL). */
static int add_crls(req_t *rq, genp_t *g)
{
    cmp_crl_status_t *st = NULL;
    cmp_crl_doc_t doc;
    int i, n, found = 0, newer = 0, part_len[1], len = 0;
    const unsigned char *part[1];
    unsigned char *seq = NULL;

    n = cmp_view_crl_status_list(rq->view, rq->p,
                                 X509_get_subject_name(rq->prof->ca.cert),
                                 rq->prof->crl_url, &st);
    for (i = 0; i < n; i++)
        if (st[i].ours) {
            if (!found && cmp_crl_current(rq->p, rq->conn, rq->prof->auth_name, 0,
                                          -1, &doc, &found) != APR_SUCCESS)
                return 0;
            newer |= found && (st[i].this_update == 0
                               || doc.this_update > st[i].this_update);
        }
    if (!newer)
        return add_itav(g, IT(23), NULL, 0);
    part[0] = doc.der;
    part_len[0] = (int)doc.len;
    return cmp_asn1_wrap(g->p, V_ASN1_SEQUENCE, 0, part, part_len, 1, &seq, &len)
               == APR_SUCCESS
           && add_itav(g, IT(23), seq, len);
}

/* RFC 9483 4.3.2: the root CA key update for the root the genm names (the
 * profile's when it names none), as RootCaKeyUpdateContent (RFC 9810
 * 5.3.19.15, explicit tags); rootCaKeyUpdate without value when there is
 * none. */
static int add_root_update(req_t *rq, genp_t *g)
{
    unsigned char *old = NULL, *mine = NULL, *seq = NULL;
    const unsigned char *der[3], *part[3];
    size_t len[3];
    int old_len = 0, found = 0, part_len[3], seq_len = 0, i;

    (void)cmp_view_genm_value(rq->view, rq->p, IT(20), &old, &old_len);
    if (old == NULL) {
        if ((old_len = i2d_X509(rq->prof->root, &mine)) <= 0)
            return 0;
        old = apr_pmemdup(rq->p, mine, (apr_size_t)old_len);
        OPENSSL_free(mine);
    }
    if (cmp_rollover_find(rq->p, rq->conn, old, (size_t)old_len, der, len,
                          &found) != APR_SUCCESS)
        return 0;
    if (!found)
        return add_itav(g, IT(18), NULL, 0);
    part[0] = der[0];
    part_len[0] = (int)len[0];
    for (i = 1; i < 3; i++) {   /* newWithOld [0], oldWithNew [1] */
        int one = (int)len[i];
        unsigned char *tagged = NULL;

        if (cmp_asn1_wrap(rq->p, i - 1, 1, &der[i], &one, 1, &tagged,
                          &part_len[i]) != APR_SUCCESS)
            return 0;
        part[i] = tagged;
    }
    return cmp_asn1_wrap(rq->p, V_ASN1_SEQUENCE, 0, part, part_len, 3, &seq,
                         &seq_len) == APR_SUCCESS
           && add_itav(g, IT(18), seq, seq_len);
}

cmp_reason_e cmp_srv_check_genm(const req_t *rq, char *why, size_t n)
{
    const char **oids = NULL;
    int *has_value = NULL, count, i;
    size_t k;

    count = cmp_view_genm_itavs(rq->view, rq->p, &oids, &has_value);
    for (i = 0; i < count; i++) {
        cmp_crl_status_t *st;

        if (strcmp(oids[i], IT(22)) == 0
                && cmp_view_crl_status_list(rq->view, rq->p, NULL, NULL, &st) < 1) {
            snprintf(why, n, "the crlStatusList of a genm is a SEQUENCE of at "
                     "least one CRLStatus (RFC 9483 4.3.4)");
            return CMP_E_BAD_DATA_FORMAT;
        }
        if (strcmp(oids[i], IT(20)) == 0 && has_value[i]) {
            unsigned char *der = NULL;
            const unsigned char *q;
            int len = 0;
            X509 *x;

            (void)cmp_view_genm_value(rq->view, rq->p, IT(20), &der, &len);
            q = der;
            x = der != NULL ? d2i_X509(NULL, &q, len) : NULL;
            X509_free(x);
            ERR_clear_error();
            if (x == NULL || q != der + len) {
                snprintf(why, n, "the rootCaCert of a genm is the old root CA "
                         "certificate (RFC 9483 4.3.2), and this one does not "
                         "decode as one");
                return CMP_E_BAD_DATA_FORMAT;
            }
        }
        for (k = 0; k < N_KNOWN_TYPES; k++)
            if (strcmp(known_types[k].oid, oids[i]) == 0)
                break;
        if (k < N_KNOWN_TYPES && has_value[i] && !known_types[k].value_allowed) {
            snprintf(why, n, "a genm of %s carries no infoValue (RFC 9483 4.3)",
                     known_types[k].name);
            return CMP_E_BAD_REQUEST;
        }
    }
    return CMP_E_NONE;
}

static int genm_answer(req_t *rq, genp_t *g, const STACK_OF(OSSL_CMP_ITAV) *in,
                       STACK_OF(ASN1_OBJECT) *unknown)
{
    int i;

    for (i = 0; i < sk_OSSL_CMP_ITAV_num(in); i++) {
        const OSSL_CMP_ITAV *it = sk_OSSL_CMP_ITAV_value(in, i);
        const ASN1_OBJECT *type = OSSL_CMP_ITAV_get0_type(it);
        char oid[80];
        size_t k;
        int ok;

        if (OBJ_obj2txt(oid, sizeof(oid), type, 1) <= 0)
            oid[0] = '\0';
        for (k = 0; k < N_KNOWN_TYPES; k++)
            if (strcmp(known_types[k].oid, oid) == 0)
                break;
        if (k == N_KNOWN_TYPES) {
            ASN1_OBJECT *dup = OBJ_dup(type);

            if (dup == NULL || !sk_ASN1_OBJECT_push(unknown, dup)) {
                ASN1_OBJECT_free(dup);
                return 0;
            }
            continue;
        }
        switch (known_types[k].answer) {
        case IT_CA_CERTS:
            ok = add_ca_certs(g, rq->prof);
            break;
        case IT_ROOT_CA_CERT:
            ok = add_root_update(rq, g);
            break;
        case IT_TEMPLATE:
            ok = add_template(g, rq->prof);
            break;
        case IT_CRLS:
            ok = add_crls(rq, g);
            break;
        default:
            ok = add_itav(g, known_types[k].oid, NULL, 0);
            break;
        }
        if (!ok)
            return 0;
    }
    return sk_ASN1_OBJECT_num(unknown) == 0 || add_unsupported(g, unknown);
}

static int genm_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                   const STACK_OF(OSSL_CMP_ITAV) *in,
                   STACK_OF(OSSL_CMP_ITAV) **out)
{
    req_t *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    STACK_OF(ASN1_OBJECT) *unknown = sk_ASN1_OBJECT_new_null();
    unsigned char *seq = NULL, *body = NULL;
    const unsigned char *part[1];
    int seq_len = 0, body_len = 0, part_len[1], ok;
    genp_t g;

    g.p = rq->p;
    g.itavs = apr_array_make(rq->p, 4, sizeof(const unsigned char *));
    g.lens = apr_array_make(rq->p, 4, sizeof(int));
    ok = unknown != NULL && genm_answer(rq, &g, in, unknown)
         && cmp_asn1_wrap(rq->p, V_ASN1_SEQUENCE, 0,
                          (const unsigned char *const *)g.itavs->elts,
                          (const int *)g.lens->elts, g.itavs->nelts, &seq,
                          &seq_len) == APR_SUCCESS;
    sk_ASN1_OBJECT_pop_free(unknown, ASN1_OBJECT_free);
    if (!ok)
        return 0;
    part[0] = seq;
    part_len[0] = seq_len;
    if (cmp_asn1_wrap(rq->p, CMP_BODY_GENP, 1, part, part_len, 1, &body,
                      &body_len) != APR_SUCCESS)
        return 0;
    rq->genp_body = body;
    rq->genp_len = body_len;
    /* OpenSSL builds an empty genp; its body is replaced by ours */
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
                               error_cb, certconf_cb, pollreq_cb)
            || !OSSL_CMP_SRV_CTX_set_accept_unprotected(srv, 1)
            /* a POP cmp_srv_own_pop() verified (or a key it refused) stands
             * as raVerified; a request sent with raVerified is never accepted */
            || !OSSL_CMP_SRV_CTX_set_accept_raverified(srv, rq->req_key != NULL
                                                          || rq->key_refused != NULL)
            || !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv,
                                                             rq->prof->implicit_confirm)
            || !cmp_srv_request_protection(rq, ctx))
        return NULL;
    return srv;
}
