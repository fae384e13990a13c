/* SPDX-License-Identifier: Apache-2.0 */
/* One CMP request in, one CMP response out: the core of mod_cmp, free of
 * httpd. Built on OpenSSL's OSSL_CMP_SRV_CTX, a fresh one per request; all
 * state between the messages of a transaction lives in PostgreSQL. */
#ifndef CMP_SERVER_H
#define CMP_SERVER_H

#include <apr_pools.h>

#include "cmp_db.h"
#include "cmp_profile.h"
#include "cmp_secret.h"

typedef enum {
    CMP_ROUTE_CMP_PROFILE,      /* /api/v1/protocols/cmp/{name}, /.well-known/cmp/p/{name} */
    CMP_ROUTE_RA_PROFILE        /* /api/v1/protocols/cmp/raProfile/{name} */
} cmp_route_e;

typedef struct cmp_server_t cmp_server_t;

typedef struct {
    unsigned char *der;         /* the PKIMessage to send, from the request pool */
    apr_size_t len;
    int body;                   /* its PKIBody type (cmp_asn1.h CMP_BODY_*) */
    int req_body;               /* the request's PKIBody type */
    cmp_reason_e reason;        /* why it was refused, CMP_E_NONE when not */
    const char *detail;         /* readable detail of the refusal */
    int unprotected;            /* an error sent unprotected: no profile known */
} cmp_response_t;

/* Per process, after fork: db and the secret key must outlive p. With a
 * conninfo, the process listens for configuration changes and resolves
 * profiles from memory until one is announced (cmp_notify.h); without,
 * every request asks the database. */
apr_status_t cmp_server_create(apr_pool_t *p, cmp_db_t *db,
                               const cmp_secret_key_t *key,
                               const char *listen_conninfo,
                               cmp_server_t **out);

/* How far a request's messageTime may be from the server's clock, in
 * seconds either way (RFC 9483 3.5, badTime); 0 accepts any. */
#define CMP_DEFAULT_TIME_TOLERANCE 600
void cmp_server_set_time_tolerance(cmp_server_t *srv, long seconds);

/* Background upkeep, about once a second: reconnects the configuration
 * listener and adds the refusals counted in memory to the database. */
void cmp_server_maintain(cmp_server_t *srv, apr_pool_t *p);

/* APR_EINVAL when der is not a PKIMessage at all (HTTP 400); otherwise
 * APR_SUCCESS and a PKIMessage in resp, an error message included. */
apr_status_t cmp_server_handle(cmp_server_t *srv, apr_pool_t *p,
                               cmp_route_e route, const char *name,
                               const unsigned char *der, apr_size_t len,
                               cmp_response_t *resp);

/* Reject certificates whose confirmation did not come in time, and fold
 * the certificate counts' deltas (cmp_store_compact_counts). */
apr_status_t cmp_server_sweep(cmp_server_t *srv, apr_pool_t *p, int *count);

#endif
