/* SPDX-License-Identifier: Apache-2.0 */
/* What mod_cmp shares with mod_cmp_admin in the same process: the database
 * pool and the key that encrypts secrets at rest (one of each per child). */
#ifndef MOD_CMP_H
#define MOD_CMP_H

#include <apr_optional.h>
#include <httpd.h>

#include "cmp_db.h"
#include "cmp_secret.h"

typedef struct {
    cmp_db_t *db;
    const cmp_secret_key_t *key;
} cmp_shared_t;

/* NULL until child_init has run, or when mod_cmp is not configured. */
APR_DECLARE_OPTIONAL_FN(const cmp_shared_t *, cmp_shared, (void));

/* The whole request body, at most max bytes, NUL-terminated, from r->pool:
 * OK, or the HTTP status to answer (413 over max, 400 when it cannot be
 * read). Counts what arrives: r->remaining is 0 for chunked and HTTP/2. */
APR_DECLARE_OPTIONAL_FN(int, cmp_read_body, (request_rec *r, apr_off_t max,
                                             char **out, apr_size_t *len));

/* Until r's pool goes, the core's lines from this thread go to r's log
 * (its vhost's ErrorLog, with its client), at r's LogLevel for cmp. */
APR_DECLARE_OPTIONAL_FN(void, cmp_bind_log, (request_rec *r));

#endif
