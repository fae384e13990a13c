/* SPDX-License-Identifier: Apache-2.0 */
#include <apr_errno.h>
#include <apr_thread_mutex.h>
#include <libpq-fe.h>

#include "cmp_db.h"
#include "cmp_log.h"
#include "cmp_notify.h"

struct cmp_notify_t {
    const char *conninfo;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
    PGconn *conn;               /* NULL while down */
    apr_uint64_t generation;
};

static void lock(cmp_notify_t *n)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(n->mutex);
#endif
}

static void unlock(cmp_notify_t *n)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(n->mutex);
#endif
}

/* Under the lock. */
static void go_down(cmp_notify_t *n)
{
    PQfinish(n->conn);
    n->conn = NULL;
}

/* Under the lock. */
static void connect_listener(cmp_notify_t *n)
{
    PGconn *c = cmp_db_connect(n->conninfo);
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK) {
        /* tried every second while the database is away: the health check
         * reports the outage once, this is for debugging */
        if (cmp_log_enabled(CMP_LOG_DEBUG)) {
            apr_pool_t *tmp;

            if (apr_pool_create(&tmp, NULL) == APR_SUCCESS) {
                cmp_log(CMP_LOG_DEBUG, CMPLOGNO(10701) "configuration listener "
                        "cannot connect: %s", cmp_db_text(tmp, PQerrorMessage(c)));
                apr_pool_destroy(tmp);
            }
        }
        PQfinish(c);
        return;
    }
    r = PQexec(c, "LISTEN cmp_config");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        cmp_log(CMP_LOG_WARN, CMPLOGNO(10702) "LISTEN cmp_config failed: %s",
                PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) != NULL
                ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "no reason given");
        PQclear(r);
        PQfinish(c);
        return;
    }
    PQclear(r);
    PQsetnonblocking(c, 1);
    n->conn = c;
    /* Whatever was cached before may predate changes we did not hear of. */
    n->generation++;
}

static apr_status_t notify_cleanup(void *data)
{
    go_down(data);
    return APR_SUCCESS;
}

apr_status_t cmp_notify_create(apr_pool_t *p, const char *conninfo,
                               cmp_notify_t **out)
{
    cmp_notify_t *n = apr_pcalloc(p, sizeof(*n));

    n->conninfo = conninfo;
    n->generation = 1;
#if APR_HAS_THREADS
    {
        apr_status_t rv = apr_thread_mutex_create(&n->mutex,
                                                  APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS)
            return rv;
    }
#endif
    apr_pool_cleanup_register(p, n, notify_cleanup, apr_pool_cleanup_null);
    lock(n);
    connect_listener(n);
    unlock(n);
    *out = n;
    return APR_SUCCESS;
}

/* Under the lock: take in what the server sent. */
static void drain(cmp_notify_t *n)
{
    PGnotify *note;

    if (n->conn == NULL)
        return;
    if (PQconsumeInput(n->conn) != 1 || PQstatus(n->conn) != CONNECTION_OK) {
        cmp_log(CMP_LOG_INFO, CMPLOGNO(10703) "configuration listener lost its "
                "connection; resolving profiles from the database until it is back");
        go_down(n);
        return;
    }
    while ((note = PQnotifies(n->conn)) != NULL) {
        n->generation++;
        PQfreemem(note);
    }
}

int cmp_notify_generation(cmp_notify_t *n, apr_uint64_t *gen)
{
    int up;

    lock(n);
    drain(n);
    up = n->conn != NULL;
    *gen = n->generation;
    unlock(n);
    return up;
}

void cmp_notify_maintain(cmp_notify_t *n)
{
    cmp_notify_t fresh;
    int down;

    lock(n);
    drain(n);
    down = n->conn == NULL;
    unlock(n);
    if (!down)
        return;
    /* Connect without holding the lock: requests keep going meanwhile. */
    fresh.conninfo = n->conninfo;
    fresh.conn = NULL;
    fresh.generation = 0;
    connect_listener(&fresh);
    lock(n);
    if (n->conn == NULL && fresh.conn != NULL) {
        n->conn = fresh.conn;
        fresh.conn = NULL;
        n->generation++;
    }
    unlock(n);
    PQfinish(fresh.conn);
}
