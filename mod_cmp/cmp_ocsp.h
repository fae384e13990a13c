/* SPDX-License-Identifier: Apache-2.0 */
/* The OCSP responder of the local Authorities (RFC 6960): a request in, a
 * signed response out, from what the database holds at that moment. */
#ifndef CMP_OCSP_H
#define CMP_OCSP_H

#include <apr_pools.h>

#include "cmp_db.h"
#include "cmp_secret.h"

/* The statements the responder runs per request (prepared on every
 * connection of the CMP module, see cmp_store_stmts):
 *   lookup: the local Authority named $1 (its signer's stamp, the validity
 *     of its answers, its count of revocation changes), joined with its
 *     certificates of the serials $2 (a
 *     text[] of lower-case hex) and, for each, the stored response that
 *     still says what the row says (the state, computed here only) and is
 *     not due for refreshing; no row: no such local Authority.
 *   keep: a response made for certificate $1 stored for reuse (state $2,
 *     signer $3, thisUpdate $4, nextUpdate $5 and refresh time $6 in epoch
 *     seconds, DER $7). */
#define CMP_OCSP_S_LOOKUP "cmp_ocsp_lookup"
#define CMP_OCSP_S_KEEP "cmp_ocsp_keep"
#define CMP_OCSP_STATE(c) \
    c ".status || '/' || coalesce(" c ".revocation_reason, 0) || '/' || " \
    "coalesce(extract(epoch from " c ".revoked_at)::bigint, 0) || '/' || " \
    "coalesce(extract(epoch from " c ".invalidity_date)::bigint, 0)"
#define CMP_OCSP_STATEMENTS \
    {CMP_OCSP_S_LOOKUP, "SELECT a.id, a.version, coalesce(extract(epoch from " \
     "s.created_at) * 1000000, 0)::bigint, a.crl_validity_s, c.id, c.serial, " \
     "c.status, extract(epoch from c.revoked_at)::bigint, " \
     "coalesce(c.revocation_reason, 0), " CMP_OCSP_STATE("c") ", o.signer, " \
     "o.der, extract(epoch from o.refresh_at)::bigint, extract(epoch from " \
     "o.next_update)::bigint, coalesce(r.changes, 0) + coalesce((SELECT " \
     "sum(k.crl_changes) FROM authority_key k WHERE k.authority_id = a.id), 0), " \
     "coalesce(extract(epoch from c.invalidity_date)::bigint, 0), " \
     "c.ca_generation, a.key_generation FROM authority a " \
     "LEFT JOIN ocsp_signer s ON s.authority_id = a.id " \
     "LEFT JOIN crl r ON r.authority_id = a.id " \
     "LEFT JOIN certificate c ON c.authority_id = a.id AND c.serial = ANY " \
     "($2::text[]) LEFT JOIN ocsp_response o ON o.certificate_id = c.id AND " \
     "o.state = " CMP_OCSP_STATE("c") " AND o.refresh_at > now() " \
     "WHERE a.name = $1 AND a.kind = 'local'"}, \
    {CMP_OCSP_S_KEEP, "INSERT INTO ocsp_response (certificate_id, state, " \
     "signer, this_update, next_update, refresh_at, der) VALUES ($1, $2, $3, " \
     "to_timestamp($4), to_timestamp($5), to_timestamp($6), $7) ON CONFLICT " \
     "(certificate_id) DO UPDATE SET state = $2, signer = $3, this_update = " \
     "to_timestamp($4), next_update = to_timestamp($5), refresh_at = " \
     "to_timestamp($6), der = $7"}

/* How long the database's word on an Authority (its key, signer and
 * revocations) is taken for current by a process: answers kept in memory
 * are sent for so long after the database was last asked. The bound on
 * how late an OCSP answer shows a revocation made on any node. */
#define CMP_OCSP_FRESH_MS 1000

/* The most answers a process keeps in memory per Authority, and the
 * longest request whose answer it keeps (a request about one certificate
 * is about 100 bytes). */
#define CMP_OCSP_MEMORY_ANSWERS 10000
#define CMP_OCSP_MEMORY_REQUEST_MAX 512

/* How an answer was made (cmp_ocsp_answer_t.made; the request note
 * cmp-ocsp). */
#define CMP_OCSP_SIGNED "signed"
#define CMP_OCSP_STORED "stored"
#define CMP_OCSP_MEMORY "memory"
#define CMP_OCSP_MEMORY_STALE "memory-db-down"

/* The most single requests one OCSPRequest may hold. */
#define CMP_OCSP_MAX_REQUESTS 32

typedef struct cmp_ocsp_t cmp_ocsp_t;

/* The Authority's name and the request (DER, from p) of a GET path,
 * <location>/<name>/<base64 request> (RFC 6960 A.1): the base64 URL-encoded
 * or not (raw slashes then split it: the leftmost split whose rest decodes
 * to one DER object is taken). Without one, the last segment is taken as
 * the request (empty: malformed) of the one before it; NULL when the path
 * has no two segments. */
const char *cmp_ocsp_get_request(apr_pool_t *p, const char *uri,
                                 unsigned char **der, size_t *len);

/* A responder for this process: it keeps each Authority's certificate and
 * key once decrypted (reloaded when the Authority's row changes). */
apr_status_t cmp_ocsp_create(apr_pool_t *p, cmp_db_t *db,
                             const cmp_secret_key_t *key, cmp_ocsp_t **out);

typedef struct {
    const unsigned char *der;   /* the OCSPResponse, from p */
    size_t len;
    int status;                 /* its OCSPResponseStatus (0: successful) */
    const char *why;            /* for the log, when not successful */
    int good, revoked, unknown; /* the single responses, when successful */
    const char *made;           /* CMP_OCSP_SIGNED, _STORED, _MEMORY...; NULL: an error */
} cmp_ocsp_answer_t;

/* Answers the OCSPRequest req to the Authority named authority: always an
 * OCSPResponse, the error statuses included: malformedRequest (not one
 * DER OCSPRequest, none or more than CMP_OCSP_MAX_REQUESTS single
 * requests), unauthorized (no such local Authority, or a certificate of
 * another issuer asked for), tryLater (the database cannot be used),
 * internalError. A successful one is signed by the Authority's delegated
 * OCSP signer while it has a valid one (its certificate in the response),
 * else by the Authority's key (default digest, responderID by key), and says for each certificate good
 * (valid), revoked (revoked, or rejected after it was sent: time and
 * reason) or unknown (not issued by it, or not confirmed yet), with the
 * request's nonce when it has one, valid for the Authority's CRL validity
 * (nextUpdate). The answer to one certificate of the Authority without a
 * nonce is stored (ocsp_response) and sent again, unsigned anew, while the
 * certificate's row says the same, the same signer would sign and half of
 * its validity has not passed: then the request costs one lookup. Not
 * APR_SUCCESS only when not even an error response can be made. */
apr_status_t cmp_ocsp_answer(cmp_ocsp_t *o, apr_pool_t *p,
                             const char *authority, const unsigned char *req,
                             size_t len, cmp_ocsp_answer_t *out);

#endif
