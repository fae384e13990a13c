/* SPDX-License-Identifier: Apache-2.0 */
/* Refused CMP requests counted per reason in memory (atomics, no lock on the
 * request path) and added to the database's per-day counts by the upkeep. */
#ifndef CMP_REFUSALS_H
#define CMP_REFUSALS_H

#include <apr_pools.h>

#include "cmp_db.h"
#include "cmp_err.h"

typedef struct cmp_refusals_t cmp_refusals_t;

cmp_refusals_t *cmp_refusals_create(apr_pool_t *p);

/* One refusal for reason; CMP_E_NONE counts a body that is no PKIMessage. */
void cmp_refusals_count(cmp_refusals_t *rf, cmp_reason_e reason);

/* Adds the counts to the database and clears them; what cannot be written
 * now is kept for the next time. */
void cmp_refusals_flush(cmp_refusals_t *rf, cmp_db_t *db, apr_pool_t *p);

#endif
