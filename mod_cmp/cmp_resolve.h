/* SPDX-License-Identifier: Apache-2.0 */
/* Which profile chain (CMP Profile, RA Profile, Authority) a CMP URL names,
 * and the loaded profile for it (cmp_profile.h). Per process; with a
 * configuration listener (cmp_notify.h) the answer for a name is kept in
 * memory until a change is announced, else every request asks. */
#ifndef CMP_RESOLVE_H
#define CMP_RESOLVE_H

#include <apr_pools.h>

#include "cmp_db.h"
#include "cmp_err.h"
#include "cmp_notify.h"
#include "cmp_profile.h"

typedef struct cmp_resolver_t cmp_resolver_t;

/* db, cache and notify (NULL: remember nothing) must outlive p. */
apr_status_t cmp_resolver_create(apr_pool_t *p, cmp_db_t *db,
                                 cmp_profile_cache_t *cache,
                                 cmp_notify_t *notify, cmp_resolver_t **out);

/* The chain name resolves to (by_ra: name is an RA Profile's, else a CMP
 * Profile's), with a database connection for p in *conn. CMP_E_NONE when
 * it serves; else why not. *prof is loaded whenever the chain is whole, even
 * when a part of it is disabled, so that the refusal can be protected as the
 * profile says; NULL otherwise. */
cmp_reason_e cmp_resolve(cmp_resolver_t *rs, apr_pool_t *p, int by_ra,
                         const char *name, PGconn **conn,
                         const cmp_profile_t **prof);

#endif
