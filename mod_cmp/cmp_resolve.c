/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "cmp_resolve.h"
#include "cmp_store.h"

#define HEAD_SLOTS 512

/* What a URL's profile name resolved to, under a configuration generation. */
typedef struct {
    char key[262];              /* route letter + name */
    apr_uint64_t gen;           /* 0: empty slot */
    int found;
    cmp_store_head_t head;
} head_slot_t;

struct cmp_resolver_t {
    cmp_db_t *db;
    cmp_profile_cache_t *cache;
    cmp_notify_t *notify;       /* NULL: no slots */
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
    head_slot_t *heads;
};

apr_status_t cmp_resolver_create(apr_pool_t *p, cmp_db_t *db,
                                 cmp_profile_cache_t *cache,
                                 cmp_notify_t *notify, cmp_resolver_t **out)
{
    cmp_resolver_t *rs = apr_pcalloc(p, sizeof(*rs));

    rs->db = db;
    rs->cache = cache;
    rs->notify = notify;
    if (notify != NULL) {
#if APR_HAS_THREADS
        apr_status_t rv = apr_thread_mutex_create(&rs->mutex,
                                                  APR_THREAD_MUTEX_DEFAULT, p);

        if (rv != APR_SUCCESS)
            return rv;
#endif
        rs->heads = apr_pcalloc(p, sizeof(head_slot_t) * HEAD_SLOTS);
    }
    *out = rs;
    return APR_SUCCESS;
}

static head_slot_t *head_slot(cmp_resolver_t *rs, const char *key)
{
    unsigned long h = 5381;
    const char *c;

    for (c = key; *c; c++)
        h = h * 33 + (unsigned char)*c;
    return &rs->heads[h % HEAD_SLOTS];
}

static void heads_lock(cmp_resolver_t *rs, int on)
{
#if APR_HAS_THREADS
    if (on)
        apr_thread_mutex_lock(rs->mutex);
    else
        apr_thread_mutex_unlock(rs->mutex);
#endif
}

/* 1 when the slot holds key under generation gen; gen 0: under whatever
 * generation (what was last known of it, for when the database cannot say;
 * real generations start at 1). */
static int head_get(cmp_resolver_t *rs, const char *key, apr_uint64_t gen,
                    cmp_store_head_t *h, int *found)
{
    head_slot_t *s = head_slot(rs, key);
    int hit;

    heads_lock(rs, 1);
    hit = s->gen != 0 && (gen == 0 || s->gen == gen) && strcmp(s->key, key) == 0;
    if (hit) {
        *h = s->head;
        *found = s->found;
    }
    heads_lock(rs, 0);
    return hit;
}

/* The slot key of a name: 'r' or 'c' (RA or CMP Profile) and the name. */
static void head_key(char *key, apr_size_t size, int by_ra, const char *name)
{
    apr_snprintf(key, size, "%c%s", by_ra ? 'r' : 'c', name);
}

static void head_put(cmp_resolver_t *rs, const char *key, apr_uint64_t gen,
                     const cmp_store_head_t *h, int found)
{
    head_slot_t *s = head_slot(rs, key);

    heads_lock(rs, 1);
    apr_cpystrn(s->key, key, sizeof(s->key));
    s->gen = gen;
    s->head = *h;
    s->found = found;
    heads_lock(rs, 0);
}

static cmp_reason_e check_head(int by_ra, const cmp_store_head_t *h)
{
    if (!by_ra) {
        if (!h->cmp_enabled)
            return CMP_E_PROFILE_DISABLED;
        if (h->ra_id == 0)
            return CMP_E_NO_DEFAULT_RA_PROFILE;
        if (!h->ra_enabled)
            return CMP_E_RA_PROFILE_DISABLED;
    } else {
        if (!h->ra_enabled)
            return CMP_E_RA_PROFILE_DISABLED;
        if (h->cmp_id == 0)
            return CMP_E_RA_PROFILE_NO_CMP;
        if (!h->cmp_enabled)
            return CMP_E_PROFILE_DISABLED;
    }
    return h->auth_enabled ? CMP_E_NONE : CMP_E_AUTHORITY_DISABLED;
}

typedef struct {
    int by_ra;
    const char *name;
    cmp_store_head_t *h;
    int *found;
} head_query_t;

static apr_status_t query_head(apr_pool_t *p, PGconn *c, void *baton)
{
    head_query_t *q = baton;

    return cmp_store_head(p, c, q->by_ra, q->name, q->h, q->found);
}

/* The ids, versions and enabled flags of the chain: from the slot while no
 * change was announced, else from the database. */
static apr_status_t read_head(cmp_resolver_t *rs, apr_pool_t *p, int by_ra,
                              const char *name, PGconn **conn,
                              cmp_store_head_t *h, int *found)
{
    head_query_t q = {by_ra, name, h, found};
    char key[262];
    apr_uint64_t gen = 0;
    apr_status_t rv;
    /* The generation is read before the database: a change announced while
     * we read leaves the slot behind, and the next request reads again. */
    int cacheable = rs->notify != NULL && strlen(name) < 256
                    && cmp_notify_generation(rs->notify, &gen);

    head_key(key, sizeof(key), by_ra, name);
    if (cacheable && head_get(rs, key, gen, h, found))
        return cmp_db_acquire(rs->db, p, conn);
    rv = cmp_db_first(rs->db, p, query_head, &q, conn);
    if (rv == APR_SUCCESS && cacheable)
        head_put(rs, key, gen, h, *found);
    return rv;
}

/* The database cannot be asked: the profile last known under that name,
 * if this process still holds it, only to protect the refusal with. */
static void last_known(cmp_resolver_t *rs, apr_pool_t *p, int by_ra,
                       const char *name, const cmp_profile_t **prof)
{
    char key[262];
    cmp_store_head_t h;
    int found = 0;

    if (rs->heads == NULL || strlen(name) >= 256)
        return;
    head_key(key, sizeof(key), by_ra, name);
    if (head_get(rs, key, 0, &h, &found) && found && h.cmp_id != 0 && h.ra_id != 0
            && cmp_profile_peek(rs->cache, p, &h, prof) != APR_SUCCESS)
        *prof = NULL;
}

cmp_reason_e cmp_resolve(cmp_resolver_t *rs, apr_pool_t *p, int by_ra,
                         const char *name, PGconn **conn,
                         const cmp_profile_t **prof)
{
    cmp_store_head_t h;
    cmp_reason_e r;
    int found = 0;

    memset(&h, 0, sizeof(h));
    *prof = NULL;
    if (read_head(rs, p, by_ra, name, conn, &h, &found) != APR_SUCCESS) {
        last_known(rs, p, by_ra, name, prof);
        return CMP_E_DATABASE;
    }
    if (!found)
        return by_ra ? CMP_E_RA_PROFILE_NOT_FOUND : CMP_E_PROFILE_NOT_FOUND;
    r = check_head(by_ra, &h);
    if (h.cmp_id != 0 && h.ra_id != 0
            && cmp_profile_get(rs->cache, p, *conn, &h, prof) != APR_SUCCESS) {
        *prof = NULL;
        if (r == CMP_E_NONE)
            r = CMP_E_INTERNAL;
    }
    return r;
}
