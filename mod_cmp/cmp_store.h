/* SPDX-License-Identifier: Apache-2.0 */
/* Everything mod_cmp reads and writes in PostgreSQL, as prepared statements.
 * One round trip per step; multi-row changes are single statements (CTEs),
 * so each step commits whole or not at all. */
#ifndef CMP_STORE_H
#define CMP_STORE_H

#include <apr_pools.h>
#include <libpq-fe.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "cmp_db.h"

/* The schema version this build expects (sql/NNN_*.sql, highest NNN). It
 * also works with the next one: migrations are additive first (new tables,
 * columns with defaults), destructive only one version later, so nodes can
 * be upgraded one by one after the database (README, Upgrading). */
#define CMP_SCHEMA_VERSION 13

/* A number as the text of SQL (CMP_STR(CMP_SCHEMA_VERSION) -> "11"). */
#define CMP_STR_(x) #x
#define CMP_STR(x) CMP_STR_(x)

/* The name of a certificate in the audit log (objectName), as SQL on a row
 * t of certificate: its subject and serial. */
#define CMP_STORE_CERT_NAME(t) \
    t ".subject_dn || ' (serial ' || " t ".serial || ')'"

/* The head of a statement's audit event: a SELECT of these columns follows. */
#define CMP_STORE_AUDIT_INSERT "INSERT INTO audit_event (actor, action, " \
    "object, object_name, result, certificate_id) "

extern const cmp_db_stmt_t cmp_store_stmts[];

typedef struct {
    long long cmp_id, cmp_ver;
    int cmp_enabled;
    long long ra_id, ra_ver;
    int ra_enabled;
    long long auth_id, auth_ver;
    int auth_enabled;
} cmp_store_head_t;

apr_status_t cmp_store_schema_version(apr_pool_t *p, PGconn *c, int *version);
/* Whether this build works with a database at that schema version. */
int cmp_store_schema_supported(int version);
/* The check of every new connection (a cmp_db_check_fn): the schema must
 * be one this build supports; *why says what to do when it is not. */
apr_status_t cmp_store_check_schema(apr_pool_t *p, PGconn *conn,
                                    const char **why);

/* Ids, versions and enabled flags of the profile chain a URL names.
 * *found = 0 when no CMP Profile (by_ra = 0) or RA Profile has that name. */
apr_status_t cmp_store_head(apr_pool_t *p, PGconn *c, int by_ra,
                            const char *name, cmp_store_head_t *h, int *found);

/* Full rows for loading a profile into the cache (text format). */
apr_status_t cmp_store_load(apr_pool_t *p, PGconn *c, const char *stmt,
                            long long id, PGresult **r);

typedef struct {
    long long authority_id, ra_id, cmp_id, replaces_id;
    const char *serial_hex, *issuer_dn, *subject_dn, *sans;
    const char *not_before, *not_after, *key_type, *status;
    const unsigned char *fpr, *der, *tid, *cert_hash, *nonce, *req_der;
    int fpr_len, der_len, tid_len, hash_len, nonce_len, req_len;
    const unsigned char *req_hash;  /* SHA-256 of the request */
    int req_hash_len;
    const unsigned char *rsp_der;   /* the response, kept while waiting_conf */
    int rsp_len;
    const char *body_type, *tx_state; /* body_type "admin.<what>": issued by
                                       * the admin API (audited so) */
    int timeout_s;
    const char *actor;              /* who asked (the audit event of the
                                     * enrollment); NULL: no event */
    long long device_id;            /* the device registration it uses, which
                                     * the same statement claims; 0: none */
    int approved;                   /* it delivers an approved request
                                     * (pending_request of the transactionID) */
    int ca_generation;              /* the Authority's key that signed it
                                     * (cmp_rollover.h) */
} cmp_store_issue_t;

/* The columns a certificate gives itself (serial, names, SANs, validity,
 * key type, key fingerprint, DER), from p. key_type is the caller's when
 * it knows it (the CMP path, which does not decode the key once more);
 * NULL reads it from the certificate. */
apr_status_t cmp_store_cert_columns(apr_pool_t *p, X509 *cert,
                                    const char *key_type, cmp_store_issue_t *in);

/* The certificate row (with the request's hash), with a transaction row
 * (with the request and the response) when tx_state is waiting_conf (ra_id,
 * cmp_id, replaces_id 0: none). A duplicate transactionID gives sqlstate
 * 23505 and stores nothing. With a device_id, the registration is claimed
 * (used, with the transactionID) in the same statement; when it is no
 * longer active (used meanwhile, expired, locked) nothing is stored and
 * the answer is APR_NOTFOUND. */
apr_status_t cmp_store_issue(apr_pool_t *p, PGconn *c,
                             const cmp_store_issue_t *in, long long *cert_id,
                             const char **sqlstate);

/* A device registration (sql/012) of an RA Profile, by its senderKID. */
typedef struct {
    long long id;
    unsigned char *secret_enc;
    size_t secret_len;
    const char *subject_dn, *sans;  /* sans joined by newlines */
    const char *state;              /* active, used, locked */
    int expired;
    unsigned char *tid;             /* the transaction that used it */
    size_t tid_len;
} cmp_store_device_t;

apr_status_t cmp_store_device_get(apr_pool_t *p, PGconn *c, long long ra_id,
                                  const char *kid, cmp_store_device_t *out,
                                  int *found);
/* A failed attempt on registration id (why: for its administrator) is
 * counted; at its max_failures an active one is locked, with an audit
 * event by actor. */
apr_status_t cmp_store_device_failed(apr_pool_t *p, PGconn *c, long long id,
                                     const char *why, const char *actor);

/* A request waiting for approval (sql/012, RFC 9483 4.4). */
typedef struct {
    long long id, cmp_id, ra_id;
    const unsigned char *tid;
    size_t tid_len;
    const char *body_type;          /* ir, cr, p10cr, kur */
    unsigned char *req_der, *req_hash, *rsp_der, *nonce;
    size_t req_len, req_hash_len, rsp_len, nonce_len;
    const char *subject_dn, *sans, *key_type, *sender;
    const char *state;              /* waiting, approved, rejected, delivered,
                                     * expired */
    int expired;                    /* waiting past its time */
    const char *reason, *decided_by;
    int timeout_s;
} cmp_store_pending_t;

/* The RA Profile's requests waiting, not expired. */
apr_status_t cmp_store_pending_count(apr_pool_t *p, PGconn *c, long long ra_id,
                                    long long *n);
/* A request to wait (with its audit event); *added = 0 when its
 * transactionID waits already. */
apr_status_t cmp_store_pending_add(apr_pool_t *p, PGconn *c,
                                   const cmp_store_pending_t *in, int *added);
apr_status_t cmp_store_pending_get(apr_pool_t *p, PGconn *c,
                                   const unsigned char *tid, int tid_len,
                                   cmp_store_pending_t *out, int *found);
/* The senderNonce of our answer to a pollReq; close: the answer ends it (a
 * rejection, or the expiry, said to the poller; audited). */
apr_status_t cmp_store_pending_nonce(apr_pool_t *p, PGconn *c, long long id,
                                     const unsigned char *nonce, int nonce_len,
                                     int close);

typedef struct {
    long long id, cmp_id, ra_id, cert_id;
    const char *state;
    int expired;
    unsigned char *nonce, *req_der, *cert_hash, *cert_der, *conf_hash;
    size_t nonce_len, req_len, hash_len, cert_len, conf_hash_len;
} cmp_store_tx_t;

apr_status_t cmp_store_tx_get(apr_pool_t *p, PGconn *c,
                              const unsigned char *tid, int tid_len,
                              cmp_store_tx_t *tx, int *found);
/* *used = 1 when a certificate or a transaction holds this transactionID
 * (an enrollment made it, finished or not). */
apr_status_t cmp_store_tid_used(apr_pool_t *p, PGconn *c,
                               const unsigned char *tid, int tid_len, int *used);
/* Close a waiting transaction: accepted -> certificate valid, else rejected;
 * conf_hash (SHA-256 of the certConf; NULL for none) is kept to know that
 * certConf when it is sent again. actor (NULL: none) is written as the
 * audit event of the certificate (and of the one it supersedes). *updated
 * = 0 when it was no longer waiting (raced by another node). */
apr_status_t cmp_store_tx_finish(apr_pool_t *p, PGconn *c, long long tx_id,
                                 int accepted, const unsigned char *conf_hash,
                                 int conf_hash_len, const char *actor,
                                 int *updated);

/* What answered the enrollment of a transactionID, for the same request
 * sent again (RFC 6712 3.1): the certificate, the hash of the request, the
 * transaction's state (NULL: implicitly confirmed, no transaction row) and
 * the response while it waits for its certConf. */
typedef struct {
    unsigned char *cert_der, *req_hash, *rsp_der;
    size_t cert_len, req_hash_len, rsp_len;
    const char *status, *tx_state;
    long long cmp_id, ra_id;
} cmp_store_resent_t;

apr_status_t cmp_store_resent_get(apr_pool_t *p, PGconn *c,
                                  const unsigned char *tid, int tid_len,
                                  cmp_store_resent_t *out, int *found);

typedef struct {
    long long id, ra_id;
    const char *status;
    int expired;
    int being_replaced;     /* a kur of it waits for its certConf */
} cmp_store_cert_t;

apr_status_t cmp_store_cert_get(apr_pool_t *p, PGconn *c,
                                long long authority_id, const char *serial_hex,
                                cmp_store_cert_t *out, int *found);
/* The one way a certificate is revoked (CMP rr, the admin API): a valid
 * certificate becomes revoked with the reason, and one on hold
 * (certificateHold) revoked for another reason, keeping the hold's date;
 * *updated = 0 when it was neither (any more). actor, when not NULL, is written as the audit event
 * (the admin API writes its own, in the same transaction). */
apr_status_t cmp_store_revoke(apr_pool_t *p, PGconn *c, long long cert_id,
                              int reason, long long invalidity,
                              const char *actor, int *updated);
/* invalidity (above): the invalidityDate (RFC 5280 5.3.2) the revocation
 * gives, epoch seconds, 0 for none (a hold revoked for good keeps its
 * own). One given must not lie after now (up to this much clock skew);
 * the problem, or NULL. */
#define CMP_STORE_INVALIDITY_SKEW_S 300
const char *cmp_store_invalidity_problem(apr_pool_t *p, long long when,
                                         long long now);
/* Releases a certificate from hold (certificateHold): valid again, off the
 * next CRL (RFC 5280 5.3.1). *updated = 0 when it was not on hold. */
apr_status_t cmp_store_release(apr_pool_t *p, PGconn *c, long long cert_id,
                               int *updated);
/* RFC 5280 CRLReason codes a revocation may give: 0..10 but 7 (unused) and
 * 8 (removeFromCRL, which delta CRLs use, not a reason to revoke). */
int cmp_store_revocation_reason_ok(int code);
/* The code of an RFC 5280 CRLReason name, -1 when there is none. */
int cmp_store_revocation_reason_code(const char *name);
/* Unconfirmed certificates whose transaction timed out become rejected. */
apr_status_t cmp_store_expire(apr_pool_t *p, PGconn *c, int *count);

/* Folds the certificate counts' deltas into their totals (sql/013, the
 * dashboard's figures); *folded: how many delta rows. */
apr_status_t cmp_store_compact_counts(apr_pool_t *p, PGconn *c, long long *folded);

/* Add n refusals of the reason to today's count. */
apr_status_t cmp_store_count_refusals(apr_pool_t *p, PGconn *c,
                                      const char *reason, unsigned n);

/* ASN1_TIME in ISO 8601, UTC ("2026-12-01T23:59:59Z"): what PostgreSQL
 * takes as a timestamptz and the admin API shows; from p, NULL when t is
 * no time. */
const char *cmp_store_time(apr_pool_t *p, const ASN1_TIME *t);

#endif
