/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "cmp_log.h"

static cmp_log_fn *log_fn;
static void *log_baton;
static cmp_log_level_e log_max = CMP_LOG_WARN;

void cmp_log_set(cmp_log_fn *fn, void *baton, cmp_log_level_e max_level)
{
    log_fn = fn;
    log_baton = baton;
    log_max = max_level;
}

int cmp_log_enabled(cmp_log_level_e level)
{
    return log_fn != NULL && level <= log_max;
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
    log_fn(log_baton, level, file, line, buf);
}
