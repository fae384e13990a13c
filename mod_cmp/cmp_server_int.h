/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the CMP server share; not the core's API (hidden from
 * libcmpcore.so's exports). A request goes:
 *   cmp_server.c     parse, resolve the profile, process, store, respond
 *   cmp_protect.c    the request's protection checked, the response's set
 *   cmp_callbacks.c  OpenSSL's server and our callbacks for each body
 *   cmp_ossl30.c     what OpenSSL 3.0 needs worked around (each says why) */
#ifndef CMP_SERVER_INT_H
#define CMP_SERVER_INT_H

#include <openssl/cmp.h>

#include "cmp_asn1.h"
#include "cmp_pbm.h"
#include "cmp_server.h"
#include "cmp_store.h"

#define CMP_INTERNAL __attribute__((visibility("hidden")))

/* the statusString of a 'waiting' answer (RFC 9483 4.4) */
#define CMP_WAITING_TEXT "waiting for an administrator's approval"

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
    int signer_revoked;             /* an rr signed by a revoked one of ours */
    int prev_secret;                /* MAC with the profile's previous secret */
    const cmp_secret_key_t *key;    /* secrets at rest (device registrations) */
    long long device_id;            /* MAC with this device registration's */
    const char *device_kid;         /* ... secret, named by this senderKID */
    EVP_PKEY *req_key;              /* the template's key, when we checked
                                     * the POP with it (see own_pop) */
    int pop_failed;                 /* ... and it did not verify */
    const char *key_refused;        /* why the template's key is not in an
                                     * accepted form (no POP was checked) */
    int central;                    /* the request asks the server to make
                                     * the key (RFC 9483 4.1.6) */
    const unsigned char *central_der;   /* ... made: its EncryptedKey, for
                                         * the response only (never stored) */
    int central_len;
    const unsigned char *mac_secret;    /* the secret that verified a MAC */
    size_t mac_secret_len;
    X509 *issued;                   /* certificate built for ir/cr/p10cr/kur */
    const char *key_type;           /* of its key (static string) */
    long long replaces_id;
    X509 *replay_cert;              /* certConf, or a resent request: the
                                     * certificate of the transaction */
    const char *mods;               /* grantedWithMods text of the issuance */
    unsigned char req_hash[32];     /* SHA-256 of der (cmp_srv_request_hash) */
    int req_hashed;
    int certconf_resent;            /* the certConf that closed it, again */
    cmp_store_tx_t tx;
    int certconf_seen;
    int certconf_hash_nid;          /* the certConf's hashAlg (RFC 9810), or
                                     * NID_undef: the signature's digest */
    /* the verified MAC key of the request, when the response is MAC-protected
     * too: the response reuses its PBMParameter (RFC 4210 5.1.3.1) */
    const cmp_pbm_t *pbm;
    cmp_reason_e reason;
    const char *detail;
    const unsigned char *genp_body; /* the genp's PKIBody, DER, made by
                                     * genm_cb */
    int genp_len;
    const char *undecodable;        /* why OpenSSL cannot take the message
                                     * as it is (msg is then a stand-in) */
    /* approval (RFC 9483 4.4): a certificate request answered 'waiting' is
     * queued (queue, with what it asks); a pollReq runs the request it
     * polls for (poll_orig) in a phase: */
    int queue;
    const char *queue_subject, *queue_sans;
    enum {
        POLL_NONE, POLL_WAIT,       /* answered 'waiting' (the queueing, or
                                     * the replay that sets OpenSSL's state) */
        POLL_ISSUE,                 /* approved: issued now */
        POLL_REFUSE                 /* rejected or expired: poll_reason */
    } poll_phase;
    OSSL_CMP_MSG *poll_orig;
    cmp_reason_e poll_reason;
    const char *poll_detail;
    const cmp_store_pending_t *pending;
} req_t;

/* cmp_server.c: the SHA-256 of the request's DER, made once. */
CMP_INTERNAL const unsigned char *cmp_srv_request_hash(req_t *rq);

/* cmp_server.c: a refusal from a callback, remembered for the log line of
 * the request (cmp_srv_note) and answered as a rejection (cmp_srv_refuse). */
/* A rejection PKIStatusInfo: the reason's failInfo, its text and detail. */
CMP_INTERNAL OSSL_CMP_PKISI *cmp_srv_rejection(cmp_reason_e reason,
                                               const char *detail);
CMP_INTERNAL void cmp_srv_note(req_t *rq, cmp_reason_e reason,
                               const char *detail);
CMP_INTERNAL OSSL_CMP_PKISI *cmp_srv_refuse(req_t *rq, cmp_reason_e reason,
                                            const char *detail);

/* cmp_header.c: CMP_E_NONE when the header of the request passes the
 * generic checks of RFC 9483 3.5 (pvno 2, or 3 where v3 says the profile
 * speaks cmp2021 or for a certConf; messageTime within time_tolerance
 * seconds, when given and the tolerance is not 0); else the reason, with
 * detail in why. */
CMP_INTERNAL cmp_reason_e cmp_srv_check_header(const cmp_view_t *v, int body,
                                               int v3, long time_tolerance,
                                               char *why, size_t n);

/* cmp_header.c: the pvno of the response to a request of that pvno and
 * body (RFC 9810 7): the request's when the profile speaks it (v3: it
 * speaks cmp2021); else the lowest version spoken for one below it, the
 * highest for one above. */
CMP_INTERNAL long cmp_srv_response_pvno(long pvno, int body, int v3);

/* cmp_header.c: whether the profile speaks cmp2021 (RFC 9810): variant v3,
 * on an OpenSSL that speaks it (3.5 and later). */
CMP_INTERNAL int cmp_srv_speaks_v3(const cmp_profile_t *pr);

/* cmp_header.c: a certConf checked against its transaction (rq->tx): one
 * CertStatus, no failInfo beside accepted, fresh senderNonce, the recipNonce
 * of our response, the protection of the request (RFC 9483 3.5, 4.1). */
CMP_INTERNAL cmp_reason_e cmp_srv_check_certconf(req_t *rq,
                                                 const char **detail);

/* cmp_protect.c: who sent the request, as its audit events name it: the
 * shared secret (current or previous) of the CMP Profile, or the subject
 * of the signer. */
CMP_INTERNAL const char *cmp_srv_actor(req_t *rq);

/* cmp_protect.c: CMP_E_NONE when the request's protection is one the
 * profile takes and verifies (rq->prot, rq->signer, rq->pbm are set); else
 * the reason, with detail in why. */
CMP_INTERNAL cmp_reason_e cmp_srv_check_protection(req_t *rq, char *why,
                                                   size_t n);
/* The profile's protection of responses, set on ctx. */
CMP_INTERNAL int cmp_srv_response_protection(OSSL_CMP_CTX *ctx,
                                             const cmp_profile_t *pr);
/* The protection OpenSSL gives the responses to this request: as the
 * profile says, or none where the request's MAC key is reused. */
CMP_INTERNAL int cmp_srv_request_protection(const req_t *rq, OSSL_CMP_CTX *ctx);

/* cmp_callbacks.c: CMP_E_NONE unless a genm carries an infoValue where RFC
 * 9483 4.3 has none (read from our view, whatever OpenSSL decodes). */
CMP_INTERNAL cmp_reason_e cmp_srv_check_genm(const req_t *rq, char *why,
                                             size_t n);

/* cmp_callbacks.c: OpenSSL's server for the request, our callbacks in it,
 * owned by rq->p; NULL when it cannot be made. */
CMP_INTERNAL OSSL_CMP_SRV_CTX *cmp_srv_new_ctx(req_t *rq);

/* cmp_ossl30.c */
/* An error message answering msg with our reason and detail, at that
 * pvno, protected as the profile pr says (unprotected without one). */
CMP_INTERNAL OSSL_CMP_MSG *cmp_srv_error_message(apr_pool_t *p,
                                                 const OSSL_CMP_MSG *msg,
                                                 const cmp_profile_t *pr,
                                                 cmp_reason_e reason,
                                                 const char *detail,
                                                 long pvno);
/* rsp, an error message, with the PKIStatusInfo of reason and detail (its
 * failInfo from cmp_err.c), protected anew by ctx as it was; rsp itself
 * when that cannot be done. */
CMP_INTERNAL OSSL_CMP_MSG *cmp_srv_restatus(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                                            OSSL_CMP_MSG *rsp,
                                            cmp_reason_e reason,
                                            const char *detail);
/* rsp (an ip, cp or kup that carries a certificate) with the EncryptedKey
 * der as its privateKey (RFC 9483 4.1.6), protected anew by ctx as it was;
 * NULL when that cannot be done (rsp is then freed). */
CMP_INTERNAL OSSL_CMP_MSG *cmp_srv_add_private_key(apr_pool_t *p,
                                                   OSSL_CMP_CTX *ctx,
                                                   OSSL_CMP_MSG *rsp,
                                                   const unsigned char *der,
                                                   int len);
/* rsp with its PKIBody replaced by body (DER), protected anew by ctx as
 * it was; NULL when that cannot be done (rsp is then freed). */
CMP_INTERNAL OSSL_CMP_MSG *cmp_srv_rebody(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                                          OSSL_CMP_MSG *rsp,
                                          const unsigned char *body, int len);
/* rsp with pvno in its header, protected anew by ctx as it was; rsp
 * itself (logged) when that cannot be done. OpenSSL's server answers every
 * version with pvno 2. */
CMP_INTERNAL OSSL_CMP_MSG *cmp_srv_repvno(apr_pool_t *p, OSSL_CMP_CTX *ctx,
                                          OSSL_CMP_MSG *rsp, long pvno);
/* The reason for a refusal OpenSSL's server made by itself: from the last
 * error on its queue (the first ones can be leftovers of earlier steps),
 * else from the failInfo bits it gave (failinfo). */
CMP_INTERNAL cmp_reason_e cmp_srv_ossl_refusal(apr_pool_t *p,
                                               unsigned long failinfo,
                                               const char **detail);
CMP_INTERNAL cmp_reason_e cmp_srv_prepare_certconf(req_t *rq,
                                                   OSSL_CMP_SRV_CTX *srv,
                                                   const char **detail);
CMP_INTERNAL apr_status_t cmp_srv_own_pop(req_t *rq);
/* Whether the request m (a queued one, run again on its pollReq) asks the
 * server to make the key (RFC 9483 4.1.6); 0 on an OpenSSL without central
 * key generation, where such a request is refused before it can wait. */
CMP_INTERNAL int cmp_srv_central_asked(OSSL_CMP_MSG *m);

#endif
