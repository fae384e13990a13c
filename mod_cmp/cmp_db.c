/* SPDX-License-Identifier: Apache-2.0 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_errno.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "cmp_db.h"
#include "cmp_log.h"

struct cmp_db_t {
    apr_reslist_t *list;
    const cmp_db_conf_t *conf;
    const cmp_db_stmt_t *stmts;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;      /* guards down and why */
#endif
    int down;                       /* the last connection attempt failed */
    char why[512];                  /* and this is why, with the fix */
};

static void state_lock(cmp_db_t *db)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(db->mutex);
#endif
}

static void state_unlock(cmp_db_t *db)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(db->mutex);
#endif
}

const char *cmp_db_text(apr_pool_t *p, const char *msg)
{
    char *t = apr_pstrdup(p, msg != NULL ? msg : ""), *in = t, *out = t;
    int space = 0;

    /* libpq's texts end in a newline and may go on, indented, on the next
     * line: one line, single spaces, nothing trailing. */
    for (; *in != '\0'; in++) {
        if (*in == '\n' || *in == '\r' || *in == '\t' || *in == ' ') {
            space = 1;
            continue;
        }
        if (space && out != t)
            *out++ = ' ';
        space = 0;
        *out++ = *in;
    }
    *out = '\0';
    return t;
}

static const char *run_as(apr_pool_t *p)
{
    struct passwd pw, *res = NULL;
    char buf[1024];

    if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
        return apr_pstrdup(p, res->pw_name);
    return apr_psprintf(p, "uid %ld", (long)geteuid());
}

/* What an administrator does about a failed connection. */
static const char *connect_fix(apr_pool_t *p, PGconn *conn, const char *text)
{
    if (PQconnectionNeedsPassword(conn))
        return apr_psprintf(p, "no password reached PostgreSQL: give it in "
                            "CMPDatabase, or in a passfile that user %s (who "
                            "serves the requests) can read", run_as(p));
    if (strstr(text, "password authentication failed") != NULL)
        return "the password in CMPDatabase (or its passfile) is not the "
               "role's: correct one of the two";
    if (strstr(text, "does not exist") != NULL)
        return "create the role or database, or correct CMPDatabase";
    if (strstr(text, "no pg_hba.conf entry") != NULL)
        return "allow this host and role in PostgreSQL's pg_hba.conf";
    if (strstr(text, "Connection refused") != NULL
            || strstr(text, "could not connect") != NULL
            || strstr(text, "timeout") != NULL
            || strstr(text, "could not translate host name") != NULL)
        return "check that PostgreSQL runs and listens at the host and port "
               "CMPDatabase names";
    return "check CMPDatabase";
}

/* Record the outcome of a connection attempt; a change is a debug line of
 * this process (the server-wide line is the health check's). */
static void set_state(cmp_db_t *db, int down, const char *why)
{
    int changed;

    state_lock(db);
    changed = db->down != down || (down && strcmp(db->why, why) != 0);
    db->down = down;
    apr_cpystrn(db->why, down ? why : "", sizeof(db->why));
    state_unlock(db);
    if (changed)
        cmp_log(CMP_LOG_DEBUG, CMPLOGNO(10105) "database %s%s",
                down ? "unavailable: " : "available", down ? why : "");
}

typedef struct {
    cmp_db_t *db;
    PGconn *conn;
    apr_pool_t *pool;
} lease_t;

static apr_status_t conn_prepare(apr_pool_t *p, PGconn *conn,
                                 const cmp_db_stmt_t *stmts, const char **why)
{
    const cmp_db_stmt_t *s;
    PGresult *r;

    /* The statements are lookups by key whose best plan does not depend on
     * the values. Left to choose, PostgreSQL plans some of them anew on
     * every execution (the OCSP lookup's "= ANY ($2)": half of the server's
     * CPU per answer); a generic plan is made once per connection. */
    if (stmts->name != NULL) {
        r = PQexec(conn, "SET plan_cache_mode = force_generic_plan");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            *why = apr_psprintf(p, "SET plan_cache_mode failed: %s",
                                cmp_db_text(p, PQresultErrorMessage(r)));
            PQclear(r);
            return APR_EGENERAL;
        }
        PQclear(r);
    }
    for (s = stmts; s->name != NULL; s++) {
        int ok;

        r = PQprepare(conn, s->name, s->sql, 0, NULL);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;

        if (!ok)
            *why = apr_psprintf(p, "preparing %s failed: %s: does the schema "
                                "match this mod_cmp?", s->name,
                                cmp_db_text(p, PQresultErrorMessage(r)));
        PQclear(r);
        if (!ok)
            return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

PGconn *cmp_db_connect(const char *conninfo)
{
    /* A default the connection string may override (it comes after): an
     * unreachable host must not hold a request for the kernel's TCP
     * timeout, minutes. */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {"10", conninfo, NULL};

    return PQconnectdbParams(keys, vals, 1);
}

/* A new connection: connected, checked (the schema version) and with every
 * statement prepared, or refused with the reason recorded. */
static apr_status_t conn_open(cmp_db_t *db, apr_pool_t *p, PGconn **out)
{
    PGconn *conn = cmp_db_connect(db->conf->conninfo);
    const char *why = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (PQstatus(conn) != CONNECTION_OK) {
        const char *text = cmp_db_text(p, PQerrorMessage(conn));

        why = apr_psprintf(p, "cannot connect to PostgreSQL (%s); %s", text,
                           connect_fix(p, conn, text));
        rv = APR_ECONNREFUSED;
    } else if (db->conf->check != NULL
               && (rv = db->conf->check(p, conn, &why)) != APR_SUCCESS) {
        rv = APR_ECONNREFUSED;
    } else if (conn_prepare(p, conn, db->stmts, &why) != APR_SUCCESS) {
        rv = APR_ECONNREFUSED;
    }
    if (rv != APR_SUCCESS) {
        set_state(db, 1, why);
        PQfinish(conn);
        return rv;
    }
    set_state(db, 0, NULL);
    *out = conn;
    return APR_SUCCESS;
}

static apr_status_t conn_construct(void **resource, void *params,
                                   apr_pool_t *pool)
{
    cmp_db_t *db = params;
    apr_pool_t *tmp;
    PGconn *conn = NULL;
    apr_status_t rv;

    /* pool is the list's, for its life: the texts go in a pool of their own */
    if ((rv = apr_pool_create(&tmp, NULL)) != APR_SUCCESS)
        return rv;
    rv = conn_open(db, tmp, &conn);
    apr_pool_destroy(tmp);
    if (rv == APR_SUCCESS)
        *resource = conn;
    return rv;
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
#if APR_HAS_THREADS
    rv = apr_thread_mutex_create(&db->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return rv;
#endif
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

const char *cmp_db_unavailable(cmp_db_t *db, apr_pool_t *p)
{
    const char *why = NULL;

    state_lock(db);
    if (db->down)
        why = apr_pstrdup(p, db->why);
    state_unlock(db);
    return why;
}

typedef struct {
    cmp_db_t *db;
    const char *why;
} probe_t;

/* The check on a pooled connection: one that broke while idle (a restart,
 * pg_terminate_backend) is no verdict on the database, the next is tried. */
static apr_status_t probe_check(apr_pool_t *p, PGconn *conn, void *baton)
{
    probe_t *pb = baton;

    pb->why = NULL;
    if (pb->db->conf->check == NULL
            || pb->db->conf->check(p, conn, &pb->why) == APR_SUCCESS)
        return APR_SUCCESS;
    return PQstatus(conn) == CONNECTION_OK ? APR_EGENERAL : APR_ECONNRESET;
}

apr_status_t cmp_db_probe(cmp_db_t *db, apr_pool_t *p, const char **why)
{
    probe_t pb = {db, NULL};
    PGconn *conn;
    apr_status_t rv;

    /* A pooled connection was checked when it was made; the schema may have
     * moved since (a migration): check again. */
    rv = cmp_db_first(db, p, probe_check, &pb, &conn);
    *why = pb.why;
    if (rv != APR_SUCCESS && *why != NULL && rv != APR_ECONNRESET)
        set_state(db, 1, *why);
    if (rv != APR_SUCCESS && *why == NULL)
        *why = cmp_db_unavailable(db, p);
    if (rv != APR_SUCCESS && *why == NULL)
        *why = "no connection came free in time";
    return rv;
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
                cmp_db_text(p, PQresultErrorMessage(r)));
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
