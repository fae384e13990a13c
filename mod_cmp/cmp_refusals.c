/* SPDX-License-Identifier: Apache-2.0 */
#include <apr_atomic.h>

#include "cmp_refusals.h"
#include "cmp_store.h"

struct cmp_refusals_t {
    apr_uint32_t n[CMP_E_MAX];      /* since the last flush */
};

cmp_refusals_t *cmp_refusals_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(cmp_refusals_t));
}

void cmp_refusals_count(cmp_refusals_t *rf, cmp_reason_e reason)
{
    if (reason >= CMP_E_NONE && reason < CMP_E_MAX)
        apr_atomic_inc32(&rf->n[reason]);
}

void cmp_refusals_flush(cmp_refusals_t *rf, cmp_db_t *db, apr_pool_t *p)
{
    PGconn *c = NULL;
    int i;

    for (i = 0; i < CMP_E_MAX; i++) {
        apr_uint32_t n = apr_atomic_xchg32(&rf->n[i], 0);

        if (n == 0)
            continue;
        if ((c == NULL && cmp_db_acquire(db, p, &c) != APR_SUCCESS)
                || cmp_store_count_refusals(p, c, i == CMP_E_NONE
                                                  ? "not a CMP message"
                                                  : cmp_err_text(i), n)
                       != APR_SUCCESS) {
            apr_atomic_add32(&rf->n[i], n);     /* next time */
            return;
        }
    }
}
