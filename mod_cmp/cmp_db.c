/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <apr_errno.h>
#include <apr_reslist.h>
#include <apr_strings.h>

#include "cmp_db.h"
#include "cmp_log.h"

struct cmp_db_t {
    apr_reslist_t *list;
    const cmp_db_conf_t *conf;
    const cmp_db_stmt_t *stmts;
};

typedef struct {
    cmp_db_t *db;
    PGconn *conn;
    apr_pool_t *pool;
} lease_t;

static apr_status_t conn_prepare(PGconn *conn, const cmp_db_stmt_t *stmts)
{
    const cmp_db_stmt_t *s;

    for (s = stmts; s->name != NULL; s++) {
        PGresult *r = PQprepare(conn, s->name, s->sql, 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

        if (!ok)
            cmp_log(CMP_LOG_ERR, CMPLOGNO(10101) "preparing %s failed: %s",
                    s->name, PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t conn_construct(void **resource, void *params,
                                   apr_pool_t *pool)
{
    cmp_db_t *db = params;
    PGconn *conn = PQconnectdb(db->conf->conninfo);

    if (PQstatus(conn) != CONNECTION_OK) {
        cmp_log(CMP_LOG_ERR, CMPLOGNO(10102) "cannot connect to PostgreSQL: %s",
                PQerrorMessage(conn));
        PQfinish(conn);
        return APR_ECONNREFUSED;
    }
    if (conn_prepare(conn, db->stmts) != APR_SUCCESS) {
        PQfinish(conn);
        return APR_EGENERAL;
    }
    *resource = conn;
    return APR_SUCCESS;
}

static apr_status_t conn_destruct(void *resource, void *params,
                                  apr_pool_t *pool)
{
    PQfinish(resource);
    return APR_SUCCESS;
}

apr_status_t cmp_db_create(apr_pool_t *p, const cmp_db_conf_t *conf,
                           const cmp_db_stmt_t *stmts, cmp_db_t **out)
{
    cmp_db_t *db = apr_pcalloc(p, sizeof(*db));
    apr_status_t rv;

    db->conf = conf;
    db->stmts = stmts;
    rv = apr_reslist_create(&db->list, 0, conf->max_conns, conf->max_conns,
                            conf->ttl, conn_construct, conn_destruct, db, p);
    if (rv != APR_SUCCESS)
        return rv;
    apr_reslist_timeout_set(db->list, conf->acquire_timeout);
    *out = db;
    return APR_SUCCESS;
}

int cmp_db_max_conns(const cmp_db_t *db)
{
    return db->conf->max_conns;
}

static int conn_usable(PGconn *conn)
{
    return PQstatus(conn) == CONNECTION_OK
           && PQtransactionStatus(conn) == PQTRANS_IDLE;
}

static apr_status_t lease_cleanup(void *data)
{
    lease_t *l = data;

    if (l->conn == NULL)
        return APR_SUCCESS;
    if (conn_usable(l->conn))
        apr_reslist_release(l->db->list, l->conn);
    else
        apr_reslist_invalidate(l->db->list, l->conn);
    l->conn = NULL;
    return APR_SUCCESS;
}

apr_status_t cmp_db_acquire(cmp_db_t *db, apr_pool_t *p, PGconn **conn)
{
    void *res = NULL;
    lease_t *l;
    apr_status_t rv;
    int tries;

    /* Idle connections may have died with their server backend (restart,
     * pg_terminate_backend): reading what the server sent, without waiting,
     * shows it. After a database restart all of them are dead, so try as
     * many as the pool can hold, then one new. */
    for (tries = 0; tries <= db->conf->max_conns; tries++) {
        rv = apr_reslist_acquire(db->list, &res);
        if (rv != APR_SUCCESS)
            return rv;
        /* The first read may bring the server's goodbye (FATAL), the
         * second the end of the stream. Neither waits. */
        if (PQconsumeInput(res) == 1 && PQconsumeInput(res) == 1
                && conn_usable(res))
            break;
        apr_reslist_invalidate(db->list, res);
        res = NULL;
    }
    if (res == NULL)
        return APR_ECONNREFUSED;
    l = apr_palloc(p, sizeof(*l));
    l->db = db;
    l->conn = res;
    l->pool = p;
    apr_pool_cleanup_register(p, l, lease_cleanup, apr_pool_cleanup_null);
    *conn = res;
    return APR_SUCCESS;
}

static apr_status_t result_cleanup(void *data)
{
    PQclear(data);
    return APR_SUCCESS;
}

static apr_status_t finish(apr_pool_t *p, PGconn *conn, const char *what,
                           PGresult *r, PGresult **res, const char **sqlstate)
{
    ExecStatusType st;

    if (r == NULL) {
        if (sqlstate != NULL)
            *sqlstate = "08000";
        return APR_ECONNRESET;
    }
    st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

        if (sqlstate != NULL)
            *sqlstate = apr_pstrdup(p, state != NULL ? state : "08000");
        /* Constraint violations and bad values are answers (a replayed
         * transaction, a duplicate name, a malformed date), not faults of
         * the database. */
        cmp_log(state != NULL && (strncmp(state, "23", 2) == 0
                                  || strncmp(state, "22", 2) == 0)
                ? CMP_LOG_DEBUG : CMP_LOG_WARN,
                CMPLOGNO(10103) "statement %s failed: %s", what,
                PQresultErrorMessage(r));
        PQclear(r);
        return PQstatus(conn) == CONNECTION_OK ? APR_EGENERAL : APR_ECONNRESET;
    }
    apr_pool_cleanup_register(p, r, result_cleanup, apr_pool_cleanup_null);
    *res = r;
    return APR_SUCCESS;
}

/* One statement, prepared (stmt is its name) or not (stmt is the SQL). */
static apr_status_t run(apr_pool_t *p, PGconn *conn, int prepared,
                        const char *stmt, int nparams, const char *const *vals,
                        const int *lens, PGresult **res, const char **sqlstate)
{
    int fmts[32] = {0};
    int i;

    *res = NULL;
    if (sqlstate != NULL)
        *sqlstate = NULL;
    if (nparams > 32)
        return APR_EINVAL;
    for (i = 0; i < nparams; i++)
        fmts[i] = lens != NULL && lens[i] > 0 ? 1 : 0;
    return finish(p, conn, prepared ? stmt : "(admin)",
                  prepared ? PQexecPrepared(conn, stmt, nparams, vals, lens, fmts, 0)
                           : PQexecParams(conn, stmt, nparams, NULL, vals, lens,
                                          fmts, 0),
                  res, sqlstate);
}

apr_status_t cmp_db_exec(apr_pool_t *p, PGconn *conn, const char *stmt,
                         int nparams, const char *const *vals,
                         const int *lens, PGresult **res,
                         const char **sqlstate)
{
    return run(p, conn, 1, stmt, nparams, vals, lens, res, sqlstate);
}

apr_status_t cmp_db_query(apr_pool_t *p, PGconn *conn, const char *sql,
                          int nparams, const char *const *vals,
                          const int *lens, PGresult **res,
                          const char **sqlstate)
{
    return run(p, conn, 0, sql, nparams, vals, lens, res, sqlstate);
}

apr_status_t cmp_db_first(cmp_db_t *db, apr_pool_t *p, cmp_db_first_fn *fn,
                          void *baton, PGconn **conn)
{
    apr_status_t rv = APR_ECONNRESET;
    int tries;

    for (tries = 0; tries <= cmp_db_max_conns(db) && rv == APR_ECONNRESET;
         tries++) {
        if ((rv = cmp_db_acquire(db, p, conn)) != APR_SUCCESS)
            return rv;
        rv = fn(p, *conn, baton);
    }
    return rv;
}

apr_status_t cmp_db_commit(apr_pool_t *p, PGconn *conn)
{
    PGresult *r;
    apr_status_t rv = run(p, conn, 0, "COMMIT", 0, NULL, NULL, &r, NULL);

    if (rv == APR_SUCCESS && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        cmp_log(CMP_LOG_WARN, CMPLOGNO(10104) "COMMIT ended as %s: the "
                "transaction had failed", PQcmdStatus(r));
        rv = APR_EGENERAL;
    }
    return rv;
}

long long cmp_db_ll(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int cmp_db_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

unsigned char *cmp_db_bytea(apr_pool_t *p, const PGresult *r, int row, int col,
                            size_t *len)
{
    unsigned char *tmp, *out;
    size_t n;

    *len = 0;
    if (PQgetisnull(r, row, col))
        return NULL;
    tmp = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (tmp == NULL)
        return NULL;
    out = apr_pmemdup(p, tmp, n > 0 ? n : 1);
    PQfreemem(tmp);
    *len = n;
    return out;
}
