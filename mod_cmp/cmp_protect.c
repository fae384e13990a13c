/* SPDX-License-Identifier: Apache-2.0 */
/* Protection: the request's checked with the profile's rules (MAC by our own
 * PBM code, signatures by OpenSSL against the profile's trust anchors), and
 * the protection OpenSSL gives the responses. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_device.h"
#include "cmp_issue.h"
#include "cmp_log.h"
#include "cmp_ossl.h"
#include "cmp_server_int.h"

int cmp_srv_response_protection(OSSL_CMP_CTX *ctx, const cmp_profile_t *pr)
{
    if (pr->sig_responses) {
        /* The chain goes out as configured; nothing is built per message. */
        return OSSL_CMP_CTX_set1_cert(ctx, pr->signer)
               && OSSL_CMP_CTX_set1_pkey(ctx, pr->signer_key)
               && OSSL_CMP_CTX_set1_extraCertsOut(ctx, pr->extra_out != NULL
                                                       ? pr->extra_out
                                                       : pr->signer_chain);
    }
    /* A MAC-protected message needs a sender name (RFC 4210 5.1.1): the CA's. */
    return OSSL_CMP_CTX_set1_secretValue(ctx, pr->secret, (int)pr->secret_len)
           && OSSL_CMP_CTX_set1_subjectName(ctx,
                                            X509_get_subject_name(pr->ca.cert));
}

/* The protection OpenSSL gives the responses of a request. A MAC response
 * to a verified MAC request is left unprotected by OpenSSL: process() adds
 * the MAC with the request's PBMParameter and base key. */
int cmp_srv_request_protection(const req_t *rq, OSSL_CMP_CTX *ctx)
{
    if (rq->pbm == NULL)
        return cmp_srv_response_protection(ctx, rq->prof);
    return OSSL_CMP_CTX_set1_subjectName(ctx,
                                         X509_get_subject_name(rq->prof->ca.cert))
           && OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_UNPROTECTED_SEND, 1);
}

/* ---- the request ------------------------------------------------------- */

/* RFC 4210 5.1.1 / RFC 9483 3.1, 3.3: the protecting certificate comes
 * first in extraCerts; its subject is the sender, and senderKID is its
 * subjectKeyIdentifier when it has one. The first certificate whose subject
 * is the sender is taken. */
static cmp_reason_e find_signer(const cmp_view_t *v, X509 **signer,
                                char *why, size_t n)
{
    STACK_OF(X509) *extra = cmp_view_extra_certs(v);
    const X509_NAME *sender = cmp_view_sender(v);
    const ASN1_OCTET_STRING *kid = cmp_view_sender_kid(v), *skid;
    int i;

    *signer = NULL;
    if (sk_X509_num(extra) == 0) {
        snprintf(why, n, "no extraCerts: the protection certificate must "
                 "come first in them");
        return CMP_E_UNTRUSTED_SIGNER;
    }
    for (i = 0; sender != NULL && i < sk_X509_num(extra); i++) {
        X509 *x = sk_X509_value(extra, i);

        if (X509_NAME_cmp(X509_get_subject_name(x), sender) != 0)
            continue;
        skid = X509_get0_subject_key_id(x);
        if (skid != NULL && kid == NULL) {
            snprintf(why, n, "no senderKID, and the protection certificate "
                     "has a subjectKeyIdentifier");
            return CMP_E_BAD_SENDER;
        }
        if (skid != NULL && ASN1_OCTET_STRING_cmp(kid, skid) != 0) {
            snprintf(why, n, "senderKID is not the subjectKeyIdentifier of "
                     "the protection certificate");
            return CMP_E_BAD_SENDER;
        }
        *signer = x;
        return CMP_E_NONE;
    }
    /* a certificate that senderKID names, but another sender */
    for (i = 0; kid != NULL && i < sk_X509_num(extra); i++) {
        skid = X509_get0_subject_key_id(sk_X509_value(extra, i));
        if (skid != NULL && ASN1_OCTET_STRING_cmp(kid, skid) == 0) {
            snprintf(why, n, "the sender is not the subject of the protection "
                     "certificate that senderKID names");
            return CMP_E_BAD_SENDER;
        }
    }
    snprintf(why, n, "no certificate of the sender in extraCerts");
    return CMP_E_UNTRUSTED_SIGNER;
}

/* While the secret is being changed (an overlap its administrator set), the
 * secret replaced still verifies until its time; the responses are then
 * MAC-protected with it, so that the device can read them. */
/* A device's secret, kept for the request (a centrally generated key is
 * returned encrypted to it): wiped with the request's pool. */
typedef struct {
    unsigned char *data;
    size_t len;
} kept_secret_t;

static apr_status_t kept_secret_wipe(void *data)
{
    kept_secret_t *k = data;

    OPENSSL_cleanse(k->data, k->len);
    return APR_SUCCESS;
}

static void keep_secret(req_t *rq, const unsigned char *secret, size_t len)
{
    kept_secret_t *k = apr_palloc(rq->p, sizeof(*k));

    k->data = apr_pmemdup(rq->p, secret, len);
    k->len = len;
    apr_pool_cleanup_register(rq->p, k, kept_secret_wipe, apr_pool_cleanup_null);
    rq->mac_secret = k->data;
    rq->mac_secret_len = len;
}

static int previous_secret_verifies(req_t *rq, cmp_pbm_t **k)
{
    const cmp_profile_t *pr = rq->prof;
    const char *bad = NULL;
    char until[APR_RFC822_DATE_LEN];

    if (pr->prev_secret == NULL || apr_time_now() >= pr->prev_until
            || cmp_pbm_derive(rq->p, cmp_view_protection_alg(rq->view),
                              pr->prev_secret, pr->prev_secret_len, k, &bad)
               != APR_SUCCESS
            || !cmp_pbm_verify(*k, rq->p, rq->view))
        return 0;
    rq->prev_secret = 1;
    rq->mac_secret = pr->prev_secret;
    rq->mac_secret_len = pr->prev_secret_len;
    apr_rfc822_date(until, pr->prev_until);
    cmp_log(CMP_LOG_INFO, CMPLOGNO(10403) "a request to CMP Profile %s is "
            "protected with its previous shared secret, accepted until %s",
            pr->cmp_name, until);
    return 1;
}

const char *cmp_srv_actor(req_t *rq)
{
    if (rq->prot == CMP_PROT_MAC && rq->device_id != 0)
        return apr_pstrcat(rq->p, "cmp:", rq->prof->cmp_name, ":device:",
                           rq->device_kid, NULL);
    if (rq->prot == CMP_PROT_MAC)
        return apr_pstrcat(rq->p, "cmp:", rq->prof->cmp_name, rq->prev_secret
                           ? ":previous-shared-secret" : ":shared-secret", NULL);
    return apr_pstrcat(rq->p, "cmp:", cmp_issue_name_text(rq->p, cmp_view_sender(rq->view)),
                       NULL);
}

/* ---- device registrations (cmp_device.h) -------------------------------- */

/* senderKID as the text a registration is stored under; NULL when it is
 * not one (no registration has bytes outside printable ASCII). */
static const char *kid_text(apr_pool_t *p, const ASN1_OCTET_STRING *kid)
{
    const char *s = apr_pstrmemdup(p, (const char *)kid->data,
                                   (apr_size_t)kid->length);

    return strlen(s) == (size_t)kid->length && cmp_device_kid_valid(s) ? s : NULL;
}

/* Every refusal by a registration gets the same answer; its reason goes to
 * the log and, when it counts as a failed attempt, to the registration. */
static cmp_reason_e device_refused(req_t *rq, long long id, const char *kid,
                                   const char *reason, int counts, char *why,
                                   size_t n)
{
    cmp_log(CMP_LOG_INFO, CMPLOGNO(10404) "device registration %s of RA "
            "Profile %s refused a request: %s", kid, rq->prof->ra_name, reason);
    if (counts && cmp_store_device_failed(rq->p, rq->conn, id, reason,
                                          apr_pstrcat(rq->p, "cmp:",
                                                      rq->prof->cmp_name,
                                                      ":device:", kid, NULL))
                  != APR_SUCCESS)
        return CMP_E_DATABASE;
    *why = '\0';
    (void)n;
    return CMP_E_DEVICE;
}

/* The subject and extensions a certificate request asks (*exts owned by
 * the caller when *own); 0 when there is not exactly one request. */
static int asked_identity(req_t *rq, const X509_NAME **subject,
                          STACK_OF(X509_EXTENSION) **exts, int *own)
{
    *own = 0;
    if (rq->body == CMP_BODY_P10CR) {
        X509_REQ *csr = cmp_msg_p10cr((OSSL_CMP_MSG *)rq->msg);

        if (csr == NULL)
            return 0;
        *subject = X509_REQ_get_subject_name(csr);
        *exts = X509_REQ_get_extensions(csr);
        *own = 1;
    } else {
        int count = 0;
        OSSL_CRMF_MSG *crm = cmp_msg_first_crm((OSSL_CMP_MSG *)rq->msg, &count);
        const OSSL_CRMF_CERTTEMPLATE *t = crm != NULL ? OSSL_CRMF_MSG_get0_tmpl(crm)
                                                      : NULL;

        if (t == NULL || count != 1)
            return 0;
        *subject = OSSL_CRMF_CERTTEMPLATE_get0_subject(t);
        *exts = (STACK_OF(X509_EXTENSION) *)OSSL_CRMF_CERTTEMPLATE_get0_extensions(t);
    }
    ERR_clear_error();
    return 1;
}

static int is_enrollment(int body)
{
    return body == CMP_BODY_IR || body == CMP_BODY_CR || body == CMP_BODY_P10CR;
}

/* A MAC-protected request whose senderKID names a device registration of
 * the RA Profile is checked against it alone: its secret, its state, its
 * expiry, the identity it admits (*found = 0: no such registration). An
 * enrollment needs it active and unexpired (the certificate claims it when
 * stored, cmp_store_issue); the certConf of that enrollment (or the same
 * request again) needs it used by this transaction; a genm, active. */
static cmp_reason_e check_device(req_t *rq, const char *kid, int *found,
                                 char *why, size_t n)
{
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    cmp_store_device_t d;
    unsigned char *secret = NULL;
    size_t secret_len = 0;
    cmp_pbm_t *k = NULL;
    const char *bad = NULL, *mismatch = NULL;
    const X509_NAME *subject = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    int verified, same_tx, own = 0, fits;
    apr_status_t rv;

    *found = 0;
    if (cmp_store_device_get(rq->p, rq->conn, rq->prof->ra_id, kid, &d, found)
            != APR_SUCCESS)
        return CMP_E_DATABASE;
    if (!*found)
        return CMP_E_NONE;
    if (cmp_secret_decrypt(rq->key, CMP_LABEL_DEVICE_SECRET, d.secret_enc,
                           d.secret_len, &secret, &secret_len) != APR_SUCCESS) {
        snprintf(why, n, "the secret of device registration %s does not "
                 "decrypt with CMPSecretKeyFile", kid);
        return CMP_E_INTERNAL;
    }
    rv = cmp_pbm_derive(rq->p, cmp_view_protection_alg(rq->view), secret,
                        secret_len, &k, &bad);
    keep_secret(rq, secret, secret_len);
    cmp_secret_free(secret, secret_len);
    if (rv != APR_SUCCESS) {
        snprintf(why, n, "%s: %s", OBJ_nid2sn(OBJ_obj2nid(
                     cmp_view_protection_alg(rq->view)->algorithm)), bad);
        return rv == APR_EINVAL ? CMP_E_BAD_MAC : CMP_E_INTERNAL;
    }
    verified = cmp_pbm_verify(k, rq->p, rq->view);
    if (!verified)
        return device_refused(rq, d.id, kid, "wrong secret or corrupted "
                              "message", 1, why, n);
    if (strcmp(d.state, "locked") == 0)
        return device_refused(rq, d.id, kid, "locked after repeated failed "
                              "attempts", 0, why, n);
    same_tx = d.tid != NULL && tid != NULL && d.tid_len == (size_t)tid->length
              && memcmp(d.tid, tid->data, d.tid_len) == 0;
    if (rq->body == CMP_BODY_CERTCONF || rq->body == CMP_BODY_ERROR) {
        if (strcmp(d.state, "used") != 0 || !same_tx)
            return device_refused(rq, d.id, kid, "a certConf or error outside "
                                  "the enrollment that used the registration",
                                  1, why, n);
    } else if (is_enrollment(rq->body)) {
        if (strcmp(d.state, "used") == 0 && !same_tx)
            return device_refused(rq, d.id, kid, "already used", 1, why, n);
        if (d.expired && !same_tx)
            return device_refused(rq, d.id, kid, "expired", 1, why, n);
        if (!asked_identity(rq, &subject, &exts, &own))
            return device_refused(rq, d.id, kid, "not exactly one certificate "
                                  "request", 1, why, n);
        fits = cmp_device_fits(rq->p, d.subject_dn,
                               cmp_device_sans_split(rq->p, d.sans, "\n"), subject,
                               exts, &mismatch);
        if (own)
            sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        if (!fits)
            return device_refused(rq, d.id, kid, mismatch, 1, why, n);
    } else if (rq->body == CMP_BODY_POLLREQ) {
        /* its enrollment waits for approval (the registration is claimed
         * when the certificate is issued), or was just issued */
        if (!(strcmp(d.state, "active") == 0 && !d.expired)
                && !(strcmp(d.state, "used") == 0 && same_tx))
            return device_refused(rq, d.id, kid, "a pollReq while the "
                                  "registration is not active", 1, why, n);
    } else if (rq->body != CMP_BODY_GENM || strcmp(d.state, "active") != 0
               || d.expired) {
        return device_refused(rq, d.id, kid, "only ir, cr, p10cr, their "
                              "pollReq and certConf, and genm are taken with "
                              "a device registration's secret", 1, why, n);
    }
    rq->device_id = d.id;
    rq->device_kid = kid;
    if (!rq->prof->sig_responses)
        rq->pbm = k;
    return CMP_E_NONE;
}

static cmp_reason_e check_mac(req_t *rq, char *why, size_t n)
{
    const cmp_profile_t *pr = rq->prof;
    const ASN1_OCTET_STRING *kid;
    cmp_pbm_t *k = NULL;
    const char *bad = NULL;
    apr_status_t rv;

    if (pr->secret == NULL && !pr->registrations_only) {
        snprintf(why, n, "the CMP Profile has no shared secret");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    /* RFC 9483 3.1: senderKID names the shared secret */
    kid = cmp_view_sender_kid(rq->view);
    if (kid == NULL) {
        snprintf(why, n, "a MAC-protected request without senderKID");
        return CMP_E_BAD_SENDER;
    }
    if (rq->body == CMP_BODY_KUR) {
        snprintf(why, n, "kur must be signed with the certificate to update");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    if (rq->body == CMP_BODY_RR && !pr->mac_revocation) {
        snprintf(why, n, "rr must be signed by the certificate to revoke (the "
                 "CMP Profile does not allow MAC-protected revocation)");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    if (!pr->mac_requests && (rq->body == CMP_BODY_IR || rq->body == CMP_BODY_CR
                              || rq->body == CMP_BODY_P10CR)) {
        snprintf(why, n, "the CMP Profile requires signed requests");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    /* a device registration, unless senderKID names the profile's secret
     * (looked up only where the RA Profile has registrations) */
    if (pr->registrations_only
            || (pr->has_devices
                && (pr->secret_ref == NULL
                    || (size_t)kid->length != strlen(pr->secret_ref)
                    || memcmp(kid->data, pr->secret_ref, (size_t)kid->length) != 0))) {
        const char *text = kid_text(rq->p, kid);
        int found = 0;
        cmp_reason_e r;

        if (text != NULL && pr->has_devices
                && ((r = check_device(rq, text, &found, why, n)) != CMP_E_NONE
                    || found))
            return r;
        if (pr->registrations_only) {
            cmp_log(CMP_LOG_INFO, CMPLOGNO(10404) "device registration %s of "
                    "RA Profile %s refused a request: no such registration",
                    text != NULL ? text : "(not text)", pr->ra_name);
            *why = '\0';
            return CMP_E_DEVICE;
        }
    }
    if (pr->secret_ref != NULL
            && ((size_t)kid->length != strlen(pr->secret_ref)
                || memcmp(kid->data, pr->secret_ref, (size_t)kid->length) != 0)) {
        snprintf(why, n, "senderKID does not name this CMP Profile's shared "
                 "secret");
        return CMP_E_BAD_SENDER;
    }
    rv = cmp_pbm_derive(rq->p, cmp_view_protection_alg(rq->view), pr->secret,
                        pr->secret_len, &k, &bad);
    if (rv != APR_SUCCESS) {
        snprintf(why, n, "%s: %s", OBJ_nid2sn(OBJ_obj2nid(
                     cmp_view_protection_alg(rq->view)->algorithm)), bad);
        /* parameters we refuse are the sender's fault, a failing digest ours */
        return rv == APR_EINVAL ? CMP_E_BAD_MAC : CMP_E_INTERNAL;
    }
    rq->mac_secret = pr->secret;
    rq->mac_secret_len = pr->secret_len;
    if (!cmp_pbm_verify(k, rq->p, rq->view) && !previous_secret_verifies(rq, &k)) {
        snprintf(why, n, "wrong shared secret or corrupted message");
        return CMP_E_BAD_MAC;
    }
    if (!pr->sig_responses)
        rq->pbm = k;
    return CMP_E_NONE;
}

/* Whether our CA issued x, with its current key or a retired one. */
static int issued_by_us(const cmp_profile_t *pr, X509 *x)
{
    int i;

    if (X509_check_issued(pr->ca.cert, x) == X509_V_OK)
        return 1;
    for (i = 0; i < sk_X509_num(pr->retired); i++)
        if (X509_check_issued(sk_X509_value(pr->retired, i), x) == X509_V_OK)
            return 1;
    return 0;
}

static cmp_reason_e check_signer_ours(req_t *rq, char *why, size_t n)
{
    const cmp_profile_t *pr = rq->prof;
    int found = 0;

    if (!issued_by_us(pr, rq->signer))
        return CMP_E_NONE;
    if (cmp_store_cert_get(rq->p, rq->conn, pr->auth_id,
                           cmp_issue_serial_hex(rq->p, X509_get0_serialNumber(rq->signer)),
                           &rq->signer_row, &found) != APR_SUCCESS)
        return CMP_E_DATABASE;
    if (!found) {
        snprintf(why, n, "the signer certificate was not issued by this CA");
        return CMP_E_UNTRUSTED_SIGNER;
    }
    if (rq->body == CMP_BODY_RR && strcmp(rq->signer_row.status, "revoked") == 0) {
        /* RFC 9483 4.2: answered in the rp, with certRevoked (rr_cb) */
        rq->signer_revoked = 1;
        rq->signer_ours = 1;
        return CMP_E_NONE;
    }
    if (strcmp(rq->signer_row.status, "valid") != 0 || rq->signer_row.expired) {
        snprintf(why, n, "the signer certificate is %s",
                 rq->signer_row.expired ? "expired" : rq->signer_row.status);
        return CMP_E_SIGNER_REVOKED;
    }
    rq->signer_ours = 1;
    return CMP_E_NONE;
}

static cmp_reason_e check_signature(req_t *rq, char *why, size_t n)
{
    OSSL_CMP_CTX *vctx;
    X509 *signer = NULL;
    cmp_reason_e r;

    if ((r = find_signer(rq->view, &signer, why, n)) != CMP_E_NONE)
        return r;
    if ((vctx = cmp_ossl_cmp_ctx(rq->p)) == NULL
            || !OSSL_CMP_CTX_set1_srvCert(vctx, signer)
            || !OSSL_CMP_CTX_set1_untrusted(vctx, cmp_view_extra_certs(rq->view)))
        return CMP_E_INTERNAL;
    if (OSSL_CMP_validate_msg(vctx, rq->msg) != 1) {
        snprintf(why, n, "the signature does not verify with the sender's "
                 "certificate");
        return CMP_E_BAD_SIGNATURE;
    }
    if (OSSL_CMP_validate_cert_path(vctx, rq->prof->trust, signer) != 1) {
        snprintf(why, n, "%s", cmp_issue_name_text(rq->p, X509_get_subject_name(signer)));
        return CMP_E_UNTRUSTED_SIGNER;
    }
    rq->signer = signer;
    if ((r = check_signer_ours(rq, why, n)) != CMP_E_NONE)
        return r;
    if (rq->body == CMP_BODY_KUR
            && (!rq->signer_ours || rq->signer_row.ra_id != rq->prof->ra_id)) {
        snprintf(why, n, "%s", cmp_issue_name_text(rq->p, X509_get_subject_name(signer)));
        return CMP_E_KUR_OLD_CERT;
    }
    if (rq->body == CMP_BODY_KUR && rq->signer_row.being_replaced) {
        snprintf(why, n, "a key update of this certificate waits for its "
                 "certConf");
        return CMP_E_BAD_REQUEST;
    }
    return CMP_E_NONE;
}

cmp_reason_e cmp_srv_check_protection(req_t *rq, char *why, size_t n)
{
    rq->prot = cmp_view_protection(rq->view);
    switch (rq->prot) {
    case CMP_PROT_MAC:
        return check_mac(rq, why, n);
    case CMP_PROT_SIG:
        return check_signature(rq, why, n);
    case CMP_PROT_OTHER_MAC:
        snprintf(why, n, "%s: this server takes PasswordBasedMac and PBMAC1 "
                 "for MAC-based protection (RFC 9481 6.1)",
                 OBJ_nid2sn(OBJ_obj2nid(cmp_view_protection_alg(rq->view)->algorithm)));
        return CMP_E_BAD_ALG;
    default:
        snprintf(why, n, "unprotected requests are never accepted");
        return CMP_E_UNPROTECTED;
    }
}
