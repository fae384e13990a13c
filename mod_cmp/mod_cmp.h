/* SPDX-License-Identifier: Apache-2.0 */
/* What mod_cmp shares with mod_cmp_admin in the same process: the database
 * pool and the key that encrypts secrets at rest (one of each per child). */
#ifndef MOD_CMP_H
#define MOD_CMP_H

#include <apr_optional.h>

#include "cmp_db.h"
#include "cmp_secret.h"

typedef struct {
    cmp_db_t *db;
    const cmp_secret_key_t *key;
} cmp_shared_t;

/* NULL until child_init has run, or when mod_cmp is not configured. */
APR_DECLARE_OPTIONAL_FN(const cmp_shared_t *, cmp_shared, (void));

#endif
