/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "cmp_log.h"

static cmp_log_fn *log_fn;
static void *log_baton;
static cmp_log_level_e log_max = CMP_LOG_WARN;
/* A request thread's own target and level, while it is bound. */
static __thread void *bound_baton;
static __thread int bound;
static __thread cmp_log_level_e bound_max;

void cmp_log_set(cmp_log_fn *fn, void *baton, cmp_log_level_e max_level)
{
    log_fn = fn;
    log_baton = baton;
    log_max = max_level;
}

void cmp_log_bind(void *baton, cmp_log_level_e max_level)
{
    bound_baton = baton;
    bound_max = max_level;
    bound = 1;
}

void cmp_log_unbind(void)
{
    bound = 0;
    bound_baton = NULL;
}

int cmp_log_enabled(cmp_log_level_e level)
{
    return log_fn != NULL && level <= (bound ? bound_max : log_max);
}

void cmp_log_emit(cmp_log_level_e level, const char *file, int line,
                  const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!cmp_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fn(bound ? bound_baton : log_baton, level, file, line, buf);
}
