/* SPDX-License-Identifier: Apache-2.0 */
/* The OCSP responder of the local Authorities (RFC 6960): a request in, a
 * signed response out, from what the database holds at that moment. */
#ifndef CMP_OCSP_H
#define CMP_OCSP_H

#include <apr_pools.h>

#include "cmp_db.h"
#include "cmp_secret.h"

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
 * request's nonce when it has one. Not APR_SUCCESS only when not even an
 * error response can be made. */
apr_status_t cmp_ocsp_answer(cmp_ocsp_t *o, apr_pool_t *p,
                             const char *authority, const unsigned char *req,
                             size_t len, cmp_ocsp_answer_t *out);

#endif
