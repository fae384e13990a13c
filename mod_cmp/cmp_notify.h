/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration changes, announced by PostgreSQL: every change to
 * authorities, RA Profiles, CMP Profiles or signing credentials sends a
 * NOTIFY on 'cmp_config' (sql/002). Each process keeps one connection that
 * LISTENs, and a generation number that moves on with every notification.
 * What a request resolved under one generation stays good while the
 * generation stands; reading the socket costs no round trip. */
#ifndef CMP_NOTIFY_H
#define CMP_NOTIFY_H

#include <apr_pools.h>

typedef struct cmp_notify_t cmp_notify_t;

/* Connects at once (a failure only leaves the listener down). */
apr_status_t cmp_notify_create(apr_pool_t *p, const char *conninfo,
                               cmp_notify_t **out);

/* 1 and the current generation when the listener is up; 0 when it is down
 * and nothing may be taken from a cache. Reads what arrived, never waits. */
int cmp_notify_generation(cmp_notify_t *n, apr_uint64_t *gen);

/* Reconnects a listener that is down (it then moves the generation on, as
 * notifications may have been missed). For a background thread. */
void cmp_notify_maintain(cmp_notify_t *n);

#endif
