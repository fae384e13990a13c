/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL access: a pool of libpq connections per process (apr_reslist),
 * created after fork, with every statement prepared once per connection. */
#ifndef CMP_DB_H
#define CMP_DB_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

typedef struct {
    const char *name;
    const char *sql;
} cmp_db_stmt_t;

typedef struct cmp_db_t cmp_db_t;

/* Run on every new connection before its statements are prepared: not
 * APR_SUCCESS (and *why, from p, with what to do) refuses the connection. */
typedef apr_status_t cmp_db_check_fn(apr_pool_t *p, PGconn *conn,
                                     const char **why);

typedef struct {
    const char *conninfo;
    cmp_db_check_fn *check;           /* NULL: none */
    int max_conns;                    /* hard maximum per process */
    apr_interval_time_t ttl;          /* idle connections older than this close */
    apr_interval_time_t acquire_timeout;
} cmp_db_conf_t;

/* stmts ends with a {NULL, NULL} entry and must outlive the pool. */
apr_status_t cmp_db_create(apr_pool_t *p, const cmp_db_conf_t *conf,
                           const cmp_db_stmt_t *stmts, cmp_db_t **out);

/* A connection for the life of pool p, given back by p's cleanup; a broken
 * one (or one left inside a transaction) is destroyed, not handed out again. */
apr_status_t cmp_db_acquire(cmp_db_t *db, apr_pool_t *p, PGconn **conn);

/* How many connections the pool holds at most (so how many may be stale). */
int cmp_db_max_conns(const cmp_db_t *db);

/* The first statement of a request. A pooled connection can break while
 * idle without a sign (after a database restart, all of them); the first
 * statement finds out. fn runs on a connection for p; while it reports the
 * connection broken (APR_ECONNRESET), the next one is tried, up to a fresh
 * one. *conn is the connection fn ran on last. */
typedef apr_status_t cmp_db_first_fn(apr_pool_t *p, PGconn *conn, void *baton);
apr_status_t cmp_db_first(cmp_db_t *db, apr_pool_t *p, cmp_db_first_fn *fn,
                          void *baton, PGconn **conn);

/* NULL while the last connection this process tried to make was made;
 * else why it was not, with the fix (from p). Connections are made as they
 * are needed, so no database is needed to create the pool. */
const char *cmp_db_unavailable(cmp_db_t *db, apr_pool_t *p);

/* The health check: a connection for p, checked anew. Not APR_SUCCESS:
 * *why says why the database cannot be used, with the fix. */
apr_status_t cmp_db_probe(cmp_db_t *db, apr_pool_t *p, const char **why);

/* PQconnectdb with a connect_timeout of 10 s unless conninfo sets one. */
PGconn *cmp_db_connect(const char *conninfo);

/* A libpq text as one log line: newlines and indents become single spaces,
 * the trailing newline goes. */
const char *cmp_db_text(apr_pool_t *p, const char *msg);

/* Execute a prepared statement; the result is cleared with pool p.
 * Parameters are text unless lens[i] > 0 marks binary (bytea). On failure the
 * SQLSTATE (or "08000" for a lost connection) goes to *sqlstate. */
apr_status_t cmp_db_exec(apr_pool_t *p, PGconn *conn, const char *stmt,
                         int nparams, const char *const *vals,
                         const int *lens, PGresult **res,
                         const char **sqlstate);

/* An unprepared, parameterized statement (for the admin API, where plans
 * are not worth keeping). Same conventions as cmp_db_exec(). */
apr_status_t cmp_db_query(apr_pool_t *p, PGconn *conn, const char *sql,
                          int nparams, const char *const *vals,
                          const int *lens, PGresult **res,
                          const char **sqlstate);

/* COMMIT, and APR_SUCCESS only when PostgreSQL did commit: in a transaction
 * that a failed statement aborted, COMMIT "succeeds" as a ROLLBACK. */
apr_status_t cmp_db_commit(apr_pool_t *p, PGconn *conn);

/* Helpers for result values in text format. */
long long cmp_db_ll(const PGresult *r, int row, int col);
int cmp_db_bool(const PGresult *r, int row, int col);
/* bytea in text (hex) format to bytes allocated from p; NULL when SQL NULL. */
unsigned char *cmp_db_bytea(apr_pool_t *p, const PGresult *r, int row, int col,
                            size_t *len);

#endif
