/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cmp_asn1.h"
#include "cmp_err.h"
#include "cmp_issue.h"
#include "cmp_key.h"
#include "cmp_log.h"
#include "cmp_notify.h"
#include "cmp_pbm.h"
#include "cmp_server.h"
#include "cmp_store.h"

#define HEAD_SLOTS 512

/* What a URL's profile name resolved to, under a configuration generation. */
typedef struct {
    char key[262];              /* route letter + name */
    apr_uint64_t gen;           /* 0: empty slot */
    int found;
    cmp_store_head_t head;
} head_slot_t;

struct cmp_server_t {
    cmp_db_t *db;
    OSSL_LIB_CTX *keyless;      /* requests are parsed in it: see cmp_key.h */
    cmp_profile_cache_t *cache;
    cmp_notify_t *notify;       /* NULL: no cache of heads */
#if APR_HAS_THREADS
    apr_thread_mutex_t *heads_mutex;
#endif
    head_slot_t *heads;
    /* refusals by reason since the last flush; [CMP_E_NONE] counts bodies
     * that are no PKIMessage at all */
    apr_uint32_t refusals[CMP_E_MAX];
};

/* Everything one request needs; the custom context of its OSSL_CMP_SRV_CTX. */
typedef struct {
    cmp_server_t *srv;
    apr_pool_t *p;
    PGconn *conn;
    const cmp_profile_t *prof;
    const OSSL_CMP_MSG *msg;
    cmp_view_t *view;
    const unsigned char *der;
    apr_size_t len;
    int body;
    cmp_prot_e prot;
    X509 *signer;                   /* verified signer of a signed request */
    cmp_store_cert_t signer_row;    /* when the signer is one of ours */
    int signer_ours;
    EVP_PKEY *req_key;              /* the template's key, when we checked
                                     * the POP with it (see own_pop) */
    int pop_failed;                 /* ... and it did not verify */
    X509 *issued;                   /* certificate built for ir/cr/p10cr/kur */
    const char *key_type;           /* of its key (static string) */
    long long replaces_id;
    X509 *replay_cert;              /* certConf: certificate of the transaction */
    cmp_store_tx_t tx;
    int certconf_seen;
    /* the verified MAC key of the request, when the response is MAC-protected
     * too: the response reuses its PBMParameter (RFC 4210 5.1.3.1) */
    const cmp_pbm_t *pbm;
    cmp_reason_e reason;
    const char *detail;
} req_t;

apr_status_t cmp_server_create(apr_pool_t *p, cmp_db_t *db,
                               const cmp_secret_key_t *key,
                               const char *listen_conninfo,
                               cmp_server_t **out)
{
    cmp_server_t *srv = apr_pcalloc(p, sizeof(*srv));
    apr_status_t rv;

    srv->db = db;
    if ((rv = cmp_profile_cache_create(p, key, &srv->cache)) != APR_SUCCESS)
        return rv;
    if ((rv = cmp_key_keyless_ctx(p, &srv->keyless)) != APR_SUCCESS)
        return rv;
    if (listen_conninfo != NULL) {
        if ((rv = cmp_notify_create(p, listen_conninfo, &srv->notify))
                != APR_SUCCESS)
            return rv;
#if APR_HAS_THREADS
        if ((rv = apr_thread_mutex_create(&srv->heads_mutex,
                                          APR_THREAD_MUTEX_DEFAULT, p))
                != APR_SUCCESS)
            return rv;
#endif
        srv->heads = apr_pcalloc(p, sizeof(head_slot_t) * HEAD_SLOTS);
    }
    *out = srv;
    return APR_SUCCESS;
}

static void flush_refusals(cmp_server_t *srv, apr_pool_t *p)
{
    PGconn *c = NULL;
    int i;

    for (i = 0; i < CMP_E_MAX; i++) {
        apr_uint32_t n = apr_atomic_xchg32(&srv->refusals[i], 0);

        if (n == 0)
            continue;
        if ((c == NULL && cmp_db_acquire(srv->db, p, &c) != APR_SUCCESS)
                || cmp_store_count_refusals(p, c, i == CMP_E_NONE
                                                  ? "not a CMP message"
                                                  : cmp_err_text(i), n)
                       != APR_SUCCESS) {
            apr_atomic_add32(&srv->refusals[i], n);     /* next time */
            return;
        }
    }
}

void cmp_server_maintain(cmp_server_t *srv, apr_pool_t *p)
{
    if (srv->notify != NULL)
        cmp_notify_maintain(srv->notify);
    flush_refusals(srv, p);
}

static head_slot_t *head_slot(cmp_server_t *srv, const char *key)
{
    unsigned long h = 5381;
    const char *c;

    for (c = key; *c; c++)
        h = h * 33 + (unsigned char)*c;
    return &srv->heads[h % HEAD_SLOTS];
}

static void heads_lock(cmp_server_t *srv, int on)
{
#if APR_HAS_THREADS
    if (on)
        apr_thread_mutex_lock(srv->heads_mutex);
    else
        apr_thread_mutex_unlock(srv->heads_mutex);
#endif
}

/* 1 when the slot holds key under generation gen. */
static int head_get(cmp_server_t *srv, const char *key, apr_uint64_t gen,
                    cmp_store_head_t *h, int *found)
{
    head_slot_t *s = head_slot(srv, key);
    int hit;

    heads_lock(srv, 1);
    hit = s->gen == gen && strcmp(s->key, key) == 0;
    if (hit) {
        *h = s->head;
        *found = s->found;
    }
    heads_lock(srv, 0);
    return hit;
}

static void head_put(cmp_server_t *srv, const char *key, apr_uint64_t gen,
                     const cmp_store_head_t *h, int found)
{
    head_slot_t *s = head_slot(srv, key);

    heads_lock(srv, 1);
    apr_cpystrn(s->key, key, sizeof(s->key));
    s->gen = gen;
    s->head = *h;
    s->found = found;
    heads_lock(srv, 0);
}

/* OpenSSL's CMP diagnostics are detail for debugging; what a request came to
 * is logged once, by the caller. */
static int ossl_log_cb(const char *func, const char *file, int line,
                       OSSL_CMP_severity level, const char *msg)
{
    cmp_log(CMP_LOG_DEBUG, "openssl %s: %s", func != NULL ? func : "", msg);
    return 1;
}

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t msg_cleanup(void *data)
{
    OSSL_CMP_MSG_free(data);
    return APR_SUCCESS;
}

static apr_status_t cmp_ctx_cleanup(void *data)
{
    OSSL_CMP_CTX_free(data);
    return APR_SUCCESS;
}

static apr_status_t srv_ctx_cleanup(void *data)
{
    OSSL_CMP_SRV_CTX_free(data);
    return APR_SUCCESS;
}

static OSSL_CMP_CTX *new_cmp_ctx(apr_pool_t *p)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);

    if (ctx == NULL)
        return NULL;
    apr_pool_cleanup_register(p, ctx, cmp_ctx_cleanup, apr_pool_cleanup_null);
    OSSL_CMP_CTX_set_log_cb(ctx, ossl_log_cb);
    return ctx;
}

static void keep_x509(apr_pool_t *p, X509 *x)
{
    apr_pool_cleanup_register(p, x, x509_cleanup, apr_pool_cleanup_null);
}

static OSSL_CMP_PKISI *status_rejection(cmp_reason_e reason, const char *detail)
{
    char text[600];

    snprintf(text, sizeof(text), "%s%s%s", cmp_err_text(reason),
             detail != NULL && *detail ? ": " : "", detail != NULL ? detail : "");
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection,
                                   1 << cmp_err_failinfo_bit(reason), text);
}

/* Remember why a callback refused, for the log line of the request. */
static void note(req_t *rq, cmp_reason_e reason, const char *detail)
{
    rq->reason = reason;
    rq->detail = apr_pstrdup(rq->p, detail != NULL ? detail : "");
}

static OSSL_CMP_PKISI *refuse(req_t *rq, cmp_reason_e reason,
                              const char *detail)
{
    note(rq, reason, detail);
    return status_rejection(reason, detail);
}

/* ---- response protection ------------------------------------------------ */

static int set_response_protection(OSSL_CMP_CTX *ctx, const cmp_profile_t *pr)
{
    if (pr->sig_responses) {
        /* The chain goes out as configured; nothing is built per message. */
        return OSSL_CMP_CTX_set1_cert(ctx, pr->signer)
               && OSSL_CMP_CTX_set1_pkey(ctx, pr->signer_key)
               && OSSL_CMP_CTX_set1_extraCertsOut(ctx, pr->signer_chain);
    }
    /* A MAC-protected message needs a sender name (RFC 4210 5.1.1): the CA's. */
    return OSSL_CMP_CTX_set1_secretValue(ctx, pr->secret, (int)pr->secret_len)
           && OSSL_CMP_CTX_set1_subjectName(ctx,
                                            X509_get_subject_name(pr->ca.cert));
}

/* The protection OpenSSL gives the responses of a request. A MAC response
 * to a verified MAC request is left unprotected by OpenSSL: process() adds
 * the MAC with the request's PBMParameter and base key. */
static int request_response_protection(const req_t *rq, OSSL_CMP_CTX *ctx)
{
    if (rq->pbm == NULL)
        return set_response_protection(ctx, rq->prof);
    return OSSL_CMP_CTX_set1_subjectName(ctx,
                                         X509_get_subject_name(rq->prof->ca.cert))
           && OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_UNPROTECTED_SEND, 1);
}

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

/* An error PKIMessage carrying our reason as statusString. OpenSSL builds it:
 * its server turns the oldest queued error into the error message when no
 * handler takes the request, so we queue ours and offer no handler. The
 * message is protected as the profile says when the profile is known. */
static OSSL_CMP_MSG *error_message(apr_pool_t *p, const OSSL_CMP_MSG *msg,
                                   const cmp_profile_t *pr,
                                   cmp_reason_e reason, const char *detail)
{
    OSSL_CMP_SRV_CTX *srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    OSSL_CMP_CTX *ctx;
    OSSL_CMP_MSG *rsp = NULL;

    if (srv == NULL)
        return NULL;
    apr_pool_cleanup_register(p, srv, srv_ctx_cleanup, apr_pool_cleanup_null);
    ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    OSSL_CMP_CTX_set_log_cb(ctx, ossl_log_cb);
    if (pr == NULL || !set_response_protection(ctx, pr))
        OSSL_CMP_SRV_CTX_set_send_unprotected_errors(srv, 1);
    /* OpenSSL must not look at the request's protection here: checking a
     * signature dumps the error queue, ours with it. A sender name that no
     * request carries stops the check before it starts. */
    if (!refuse_every_sender(ctx))
        return NULL;
    cmp_err_raise(reason, "%s", detail != NULL ? detail : "");
    rsp = OSSL_CMP_SRV_process_request(srv, msg);
    ERR_clear_error();
    return rsp;
}

/* ---- protection of the request ------------------------------------------ */

static int kid_matches(const ASN1_OCTET_STRING *kid, X509 *cert)
{
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(cert);

    return kid == NULL || skid == NULL || ASN1_OCTET_STRING_cmp(kid, skid) == 0;
}

/* RFC 4210 5.1.1 / RFC 9483 3.3: the protecting certificate comes first in
 * extraCerts; take the first whose subject is the sender. */
static X509 *find_signer(const cmp_view_t *v)
{
    STACK_OF(X509) *extra = cmp_view_extra_certs(v);
    const X509_NAME *sender = cmp_view_sender(v);
    int i;

    if (sender == NULL)
        return NULL;
    for (i = 0; i < sk_X509_num(extra); i++) {
        X509 *x = sk_X509_value(extra, i);

        if (X509_NAME_cmp(X509_get_subject_name(x), sender) == 0
                && kid_matches(cmp_view_sender_kid(v), x))
            return x;
    }
    return NULL;
}

static cmp_reason_e check_mac(req_t *rq, char *why, size_t n)
{
    const cmp_profile_t *pr = rq->prof;
    cmp_pbm_t *k = NULL;
    const char *bad = NULL;
    apr_status_t rv;

    if (pr->secret == NULL) {
        snprintf(why, n, "the CMP Profile has no shared secret");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    if (rq->body == CMP_BODY_KUR) {
        snprintf(why, n, "kur must be signed with the certificate to update");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    if (!pr->mac_requests && (rq->body == CMP_BODY_IR || rq->body == CMP_BODY_CR
                              || rq->body == CMP_BODY_P10CR)) {
        snprintf(why, n, "the CMP Profile requires signed requests");
        return CMP_E_PROTECTION_NOT_ALLOWED;
    }
    rv = cmp_pbm_derive(rq->p, cmp_view_protection_alg(rq->view), pr->secret,
                        pr->secret_len, &k, &bad);
    if (rv != APR_SUCCESS) {
        snprintf(why, n, "PasswordBasedMac: %s", bad);
        /* parameters we refuse are the sender's fault, a failing digest ours */
        return rv == APR_EINVAL ? CMP_E_BAD_MAC : CMP_E_INTERNAL;
    }
    if (!cmp_pbm_verify(k, rq->p, rq->view)) {
        snprintf(why, n, "wrong shared secret or corrupted message");
        return CMP_E_BAD_MAC;
    }
    if (!pr->sig_responses)
        rq->pbm = k;
    return CMP_E_NONE;
}

static cmp_reason_e check_signer_ours(req_t *rq, char *why, size_t n)
{
    const cmp_profile_t *pr = rq->prof;
    int found = 0;

    if (X509_check_issued(pr->ca.cert, rq->signer) != X509_V_OK)
        return CMP_E_NONE;
    if (cmp_store_cert_get(rq->p, rq->conn, pr->auth_id,
                           cmp_issue_serial_hex(rq->p, X509_get0_serialNumber(rq->signer)),
                           &rq->signer_row, &found) != APR_SUCCESS)
        return CMP_E_DATABASE;
    if (!found) {
        snprintf(why, n, "the signer certificate was not issued by this CA");
        return CMP_E_UNTRUSTED_SIGNER;
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
    X509 *signer = find_signer(rq->view);
    cmp_reason_e r;

    if (signer == NULL) {
        snprintf(why, n, "no certificate of the sender in extraCerts");
        return CMP_E_UNTRUSTED_SIGNER;
    }
    if ((vctx = new_cmp_ctx(rq->p)) == NULL
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
    return CMP_E_NONE;
}

static cmp_reason_e check_protection(req_t *rq, char *why, size_t n)
{
    rq->prot = cmp_view_protection(rq->view);
    switch (rq->prot) {
    case CMP_PROT_MAC:
        return check_mac(rq, why, n);
    case CMP_PROT_SIG:
        return check_signature(rq, why, n);
    default:
        snprintf(why, n, "unprotected requests are never accepted");
        return CMP_E_UNPROTECTED;
    }
}

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
        return refuse(rq, CMP_E_BAD_POP, "the POP signature does not verify "
                      "with the public key of the template");
    if (!read_wanted(crm, p10cr, rq->req_key, &w)) {
        wanted_free(&w);
        return refuse(rq, CMP_E_BAD_TEMPLATE, "the template does not parse");
    }
    if (rq->body == CMP_BODY_KUR) {
        if (!kur_old_cert_matches(rq, crm)) {
            wanted_free(&w);
            return refuse(rq, CMP_E_KUR_OLD_CERT,
                          "oldCertID does not name the signing certificate");
        }
        if (w.subject == NULL || X509_NAME_entry_count(w.subject) == 0)
            w.subject = X509_get_subject_name(rq->signer);
        rq->replaces_id = rq->signer_row.id;
    }
    r = cmp_policy_check(&pr->policy, w.subject, w.pubkey, w.exts, why,
                         sizeof(why));
    if (r != CMP_E_NONE) {
        wanted_free(&w);
        return refuse(rq, r, why);
    }
    rq->key_type = EVP_PKEY_get0_type_name(w.pubkey);
    if (cmp_issue_build(&pr->ca, &pr->policy, w.subject, w.spki, w.exts,
                        w.not_after, &cert) != APR_SUCCESS) {
        wanted_free(&w);
        ERR_clear_error();
        return refuse(rq, CMP_E_INTERNAL, "signing the certificate failed");
    }
    wanted_free(&w);
    si = OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
    if (si == NULL || !X509_up_ref(cert)) {
        OSSL_CMP_PKISI_free(si);
        X509_free(cert);
        return NULL;
    }
    rq->issued = cert;
    keep_x509(rq->p, cert);
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
        return refuse(rq, CMP_E_CERT_UNKNOWN, "issuer and serial are required");
    hex = cmp_issue_serial_hex(rq->p, serial);
    if (X509_NAME_cmp(issuer, X509_get_subject_name(pr->ca.cert)) != 0)
        return refuse(rq, CMP_E_CERT_UNKNOWN, cmp_issue_name_text(rq->p, issuer));
    if (cmp_store_cert_get(rq->p, rq->conn, pr->auth_id, hex, &row, &found)
            != APR_SUCCESS)
        return refuse(rq, CMP_E_DATABASE, NULL);
    if (!found || row.ra_id != pr->ra_id || strcmp(row.status, "pending") == 0)
        return refuse(rq, CMP_E_CERT_UNKNOWN, apr_pstrcat(rq->p, "serial ", hex,
                                                          NULL));
    if (strcmp(row.status, "valid") != 0)
        return refuse(rq, CMP_E_CERT_REVOKED, apr_pstrcat(rq->p, "serial ", hex,
                                                          NULL));
    if (rq->prot != CMP_PROT_MAC && !signer_is(rq, issuer, serial))
        return refuse(rq, CMP_E_NOT_AUTHORIZED,
                      "only the holder or the profile's shared secret may revoke");
    reason = cmp_view_rr_reason(rq->view);
    if (reason < 0)
        reason = 0;     /* unspecified */
    if (!cmp_store_revocation_reason_ok(reason))
        return refuse(rq, CMP_E_BAD_REVOCATION_REASON,
                      apr_psprintf(rq->p, "CRLReason %d", reason));
    actor = rq->prot == CMP_PROT_MAC
            ? apr_pstrcat(rq->p, "cmp:", pr->cmp_name, ":shared-secret", NULL)
            : apr_pstrcat(rq->p, "cmp:", cmp_issue_name_text(rq->p, cmp_view_sender(rq->view)),
                          NULL);
    if (cmp_store_revoke(rq->p, rq->conn, row.id, reason, actor, &updated)
            != APR_SUCCESS)
        return refuse(rq, CMP_E_DATABASE, NULL);
    if (!updated)
        return refuse(rq, CMP_E_CERT_REVOKED, apr_pstrcat(rq->p, "serial ", hex,
                                                          NULL));
    cmp_log(CMP_LOG_INFO, CMPLOGNO(10401) "revoked certificate %s of RA "
            "Profile %s, reason %d", hex, pr->ra_name, reason);
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

/* ---- confirmation -------------------------------------------------------- */

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
        note(rq, CMP_E_CERTHASH, NULL);
        cmp_err_raise(CMP_E_CERTHASH, NULL);
        return 0;
    }
    accepted = si == NULL
               || cmp_pkisi_status(si) == OSSL_CMP_PKISTATUS_accepted
               || cmp_pkisi_status(si) == OSSL_CMP_PKISTATUS_grantedWithMods;
    if (cmp_store_tx_finish(rq->p, rq->conn, rq->tx.id, accepted, &updated)
            != APR_SUCCESS) {
        note(rq, CMP_E_DATABASE, NULL);
        cmp_err_raise(CMP_E_DATABASE, NULL);
        return 0;
    }
    if (!updated) {
        note(rq, CMP_E_TX_STATE, "already confirmed or expired");
        cmp_err_raise(CMP_E_TX_STATE, "already confirmed or expired");
        return 0;
    }
    if (!accepted)
        note(rq, CMP_E_NONE, "certificate rejected by the client");
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
    note(rq, CMP_E_NONE, "transaction aborted by the client");
}

static int genm_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *msg,
                   const STACK_OF(OSSL_CMP_ITAV) *in,
                   STACK_OF(OSSL_CMP_ITAV) **out)
{
    *out = sk_OSSL_CMP_ITAV_new_null();
    return *out != NULL;
}

/* ---- the request --------------------------------------------------------- */

static OSSL_CMP_SRV_CTX *new_srv_ctx(req_t *rq)
{
    OSSL_CMP_SRV_CTX *srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    OSSL_CMP_CTX *ctx;

    if (srv == NULL)
        return NULL;
    apr_pool_cleanup_register(rq->p, srv, srv_ctx_cleanup,
                              apr_pool_cleanup_null);
    ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    OSSL_CMP_CTX_set_log_cb(ctx, ossl_log_cb);
    /* Protection was verified by check_protection() already, with the
     * rules of the profile; OpenSSL's own check would lack them. */
    if (!OSSL_CMP_SRV_CTX_init(srv, rq, cert_request_cb, rr_cb, genm_cb,
                               error_cb, certconf_cb, NULL)
            || !OSSL_CMP_SRV_CTX_set_accept_unprotected(srv, 1)
            /* a POP own_pop() verified stands as raVerified; a request sent
             * with raVerified is never accepted */
            || !OSSL_CMP_SRV_CTX_set_accept_raverified(srv, rq->req_key != NULL)
            || !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv,
                                                             rq->prof->implicit_confirm)
            || !request_response_protection(rq, ctx))
        return NULL;
    return srv;
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

static apr_status_t respond_error(req_t *rq, cmp_reason_e reason,
                                  const char *detail, cmp_response_t *resp)
{
    OSSL_CMP_MSG *m = error_message(rq->p, rq->msg, rq->prof, reason, detail);

    resp->reason = reason;
    resp->detail = apr_pstrdup(rq->p, detail != NULL ? detail : "");
    if (m == NULL)
        return APR_EGENERAL;
    apr_pool_cleanup_register(rq->p, m, msg_cleanup, apr_pool_cleanup_null);
    return to_der(rq->p, m, resp);
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
        in.req_der = rq->der;
        in.req_len = (int)rq->len;
    }
    in.timeout_s = pr->confirm_timeout;
    st = cmp_store_issue(rq->p, rq->conn, &in, &cert_id, &sqlstate);
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

/* OpenSSL 3.0 keeps what a certConf is checked against (transactionID,
 * certReqId, transaction status) in the OSSL_CMP_SRV_CTX that answered the
 * ir. Any node rebuilds it from the database: the stored request is run once
 * more through a fresh context, answering with the certificate issued then
 * and a throwaway MAC, and the nonce we sent in the real response is put
 * back. No certificate is issued and nothing is stored by that run. */
static cmp_reason_e prepare_certconf(req_t *rq, OSSL_CMP_SRV_CTX *srv,
                                     const char **detail)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv);
    const ASN1_OCTET_STRING *tid = cmp_view_transaction_id(rq->view);
    const unsigned char *q;
    OSSL_CMP_MSG *orig, *rsp;
    ASN1_OCTET_STRING *nonce;
    static const unsigned char scratch[] = "mod_cmp certConf replay";
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
        *detail = rq->tx.state;
        return CMP_E_TX_STATE;
    }
    if (rq->tx.expired)
        return CMP_E_TX_EXPIRED;
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
    keep_x509(rq->p, rq->replay_cert);
    apr_pool_cleanup_register(rq->p, orig, msg_cleanup, apr_pool_cleanup_null);
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
         && request_response_protection(rq, ctx);
    ASN1_OCTET_STRING_free(nonce);
    return ok ? CMP_E_NONE : CMP_E_INTERNAL;
}

static cmp_reason_e check_head(cmp_route_e route, const cmp_store_head_t *h)
{
    if (route == CMP_ROUTE_CMP_PROFILE) {
        if (!h->cmp_enabled)
            return CMP_E_PROFILE_DISABLED;
        if (h->ra_id == 0)
            return CMP_E_NO_DEFAULT_RA_PROFILE;
        if (!h->ra_enabled)
            return CMP_E_RA_PROFILE_DISABLED;
    } else {
        if (!h->ra_enabled)
            return CMP_E_RA_PROFILE_DISABLED;
        if (h->cmp_id == 0)
            return CMP_E_RA_PROFILE_NO_CMP;
        if (!h->cmp_enabled)
            return CMP_E_PROFILE_DISABLED;
    }
    return h->auth_enabled ? CMP_E_NONE : CMP_E_AUTHORITY_DISABLED;
}

/* Finds the profile chain the URL names; the profile is loaded even when a
 * part of it is disabled, so that the refusal can be protected. */
static cmp_reason_e resolve(req_t *rq, cmp_route_e route, const char *name)
{
    cmp_store_head_t h;
    cmp_reason_e r;
    int found = 0;

    apr_status_t rv;
    int tries;

    char key[262];
    apr_uint64_t gen = 0;
    int cacheable;

    memset(&h, 0, sizeof(h));
    apr_snprintf(key, sizeof(key), "%c%s", route == CMP_ROUTE_RA_PROFILE ? 'r' : 'c',
                 name);
    /* The generation is read before the database: a change announced while
     * we read leaves the slot behind, and the next request reads again. */
    cacheable = rq->srv->notify != NULL && strlen(name) < 256
                && cmp_notify_generation(rq->srv->notify, &gen);
    if (cmp_db_acquire(rq->srv->db, rq->p, &rq->conn) != APR_SUCCESS)
        return CMP_E_DATABASE;
    if (!cacheable || !head_get(rq->srv, key, gen, &h, &found)) {
        /* A connection can break while idle without a sign (after a
         * database restart, all of them); the first statement finds out,
         * and the next connection is tried, up to a fresh one. */
        for (tries = 0; tries <= cmp_db_max_conns(rq->srv->db); tries++) {
            if (tries > 0 && cmp_db_acquire(rq->srv->db, rq->p, &rq->conn)
                                 != APR_SUCCESS)
                return CMP_E_DATABASE;
            rv = cmp_store_head(rq->p, rq->conn, route == CMP_ROUTE_RA_PROFILE,
                                name, &h, &found);
            if (rv != APR_ECONNRESET)
                break;
        }
        if (rv != APR_SUCCESS)
            return CMP_E_DATABASE;
        if (cacheable)
            head_put(rq->srv, key, gen, &h, found);
    }
    if (!found)
        return route == CMP_ROUTE_RA_PROFILE ? CMP_E_RA_PROFILE_NOT_FOUND
                                             : CMP_E_PROFILE_NOT_FOUND;
    r = check_head(route, &h);
    if (h.cmp_id != 0 && h.ra_id != 0
            && cmp_profile_get(rq->srv->cache, rq->p, rq->conn, &h, &rq->prof)
                   != APR_SUCCESS) {
        rq->prof = NULL;
        if (r == CMP_E_NONE)
            r = CMP_E_INTERNAL;
    }
    return r;
}

static int body_supported(int body)
{
    switch (body) {
    case CMP_BODY_IR: case CMP_BODY_CR: case CMP_BODY_P10CR: case CMP_BODY_KUR:
    case CMP_BODY_RR: case CMP_BODY_CERTCONF: case CMP_BODY_GENM:
    case CMP_BODY_ERROR:
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

/* The request as OpenSSL parses it by default, keys decoded. */
static apr_status_t redecode(req_t *rq)
{
    const unsigned char *q = rq->der;
    OSSL_CMP_MSG *m = d2i_OSSL_CMP_MSG(NULL, &q, (long)rq->len);

    if (m == NULL)
        return APR_EGENERAL;
    apr_pool_cleanup_register(rq->p, m, msg_cleanup, apr_pool_cleanup_null);
    rq->msg = m;
    return APR_SUCCESS;
}

/* The request was parsed without decoding keys (cmp_key.h). For the usual
 * ir, cr or kur (one CertReqMsg, a signature POP over certReq, a key we can
 * build) we build the template's key and check the POP with it as OpenSSL
 * would; OpenSSL is then told that the POP was checked (raVerified), and
 * cert_request_cb() refuses a POP that did not verify. Anything else is
 * parsed again with the keys and left to OpenSSL, which answers as it
 * always does. Runs after the protection check: the body that was
 * protected is changed here. */
static apr_status_t own_pop(req_t *rq)
{
    OSSL_CRMF_MSG *crm = NULL;
    const X509_PUBKEY *spki = NULL;
    const ASN1_TIME *nb, *na;
    EVP_PKEY *k = NULL;
    int n = 0, v;

    if (rq->body != CMP_BODY_P10CR)
        crm = cmp_msg_first_crm((OSSL_CMP_MSG *)rq->msg, &n);
    if (crm != NULL && n == 1
            && cmp_template_read(OSSL_CRMF_MSG_get0_tmpl(crm), &spki, &nb, &na)
                   == APR_SUCCESS
            && (k = cmp_key_from_spki(spki)) != NULL) {
        apr_pool_cleanup_register(rq->p, k, pkey_cleanup, apr_pool_cleanup_null);
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

static apr_status_t process(req_t *rq, cmp_response_t *resp)
{
    OSSL_CMP_SRV_CTX *srv;
    OSSL_CMP_MSG *rsp;
    const char *detail = NULL;
    cmp_reason_e r;
    char why[400] = "";

    if (!body_supported(rq->body))
        return respond_error(rq, CMP_E_UNSUPPORTED_BODY, NULL, resp);
    if (cmp_view_transaction_id(rq->view) == NULL)
        return respond_error(rq, CMP_E_TX_UNKNOWN, "no transactionID", resp);
    if ((r = check_protection(rq, why, sizeof(why))) != CMP_E_NONE)
        return respond_error(rq, r, why, resp);
    if (is_cert_request(rq->body) && own_pop(rq) != APR_SUCCESS)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if ((srv = new_srv_ctx(rq)) == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (rq->body == CMP_BODY_CERTCONF
            && (r = prepare_certconf(rq, srv, &detail)) != CMP_E_NONE)
        return respond_error(rq, r, detail, resp);
    ERR_clear_error();
    rsp = OSSL_CMP_SRV_process_request(srv, rq->msg);
    if (rsp == NULL)
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    apr_pool_cleanup_register(rq->p, rsp, msg_cleanup, apr_pool_cleanup_null);
    if (to_der(rq->p, rsp, resp) != APR_SUCCESS
            || (rq->pbm != NULL
                && cmp_pbm_protect(rq->pbm, rq->p, resp->der, resp->len,
                                   &resp->der, &resp->len) != APR_SUCCESS))
        return respond_error(rq, CMP_E_INTERNAL, NULL, resp);
    if (is_cert_request(rq->body) && rq->issued != NULL
            && resp->body != CMP_BODY_ERROR) {
        r = store_issued(rq, OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv), resp, &detail);
        if (r != CMP_E_NONE)
            return respond_error(rq, r, detail, resp);
    }
    if (rq->body == CMP_BODY_CERTCONF && !rq->certconf_seen
            && OSSL_CMP_MSG_get_bodytype(rsp) == CMP_BODY_PKICONF) {
        int updated = 0;

        /* An empty certConf rejects the certificate (RFC 4210 5.3.18). */
        if (cmp_store_tx_finish(rq->p, rq->conn, rq->tx.id, 0, &updated)
                != APR_SUCCESS)
            return respond_error(rq, CMP_E_DATABASE, NULL, resp);
        note(rq, CMP_E_NONE, "certificate rejected by the client");
    }
    ERR_clear_error();
    resp->reason = rq->reason;
    resp->detail = rq->detail;
    return APR_SUCCESS;
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

    memset(resp, 0, sizeof(*resp));
    ERR_clear_error();
    if (len == 0 || len > 0x7fffffff)
        return APR_EINVAL;
    /* keys are left undecoded (cmp_key.h): own_pop() or OpenSSL do it */
    msg = (OSSL_CMP_MSG *)ASN1_item_d2i_ex(NULL, &q, (long)len,
                                           ASN1_ITEM_rptr(OSSL_CMP_MSG),
                                           srv->keyless, NULL);
    if (msg == NULL || q != der + len) {
        OSSL_CMP_MSG_free(msg);
        ERR_clear_error();
        apr_atomic_inc32(&srv->refusals[CMP_E_NONE]);
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, msg, msg_cleanup, apr_pool_cleanup_null);
    rq = apr_pcalloc(p, sizeof(*rq));
    rq->srv = srv;
    rq->p = p;
    rq->msg = msg;
    rq->der = der;
    rq->len = len;
    rq->body = OSSL_CMP_MSG_get_bodytype(msg);
    resp->req_body = rq->body;
    if (cmp_view_decode(p, der, (long)len, &rq->view) != APR_SUCCESS) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    r = resolve(rq, route, name);
    if (r != CMP_E_NONE)
        rv = respond_error(rq, r, name, resp);
    else
        rv = process(rq, resp);
    if (resp->reason > CMP_E_NONE && resp->reason < CMP_E_MAX)
        apr_atomic_inc32(&srv->refusals[resp->reason]);
    ERR_clear_error();
    return rv;
}

apr_status_t cmp_server_sweep(cmp_server_t *srv, apr_pool_t *p, int *count)
{
    PGconn *c;
    apr_status_t rv = cmp_db_acquire(srv->db, p, &c);

    *count = 0;
    if (rv != APR_SUCCESS)
        return rv;
    return cmp_store_expire(p, c, count);
}
