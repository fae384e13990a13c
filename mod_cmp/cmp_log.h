/* SPDX-License-Identifier: Apache-2.0 */
/* Logging from the core: a callback the host (httpd glue, tools, tests) sets. */
#ifndef CMP_LOG_H
#define CMP_LOG_H

typedef enum {
    CMP_LOG_ERR = 3,
    CMP_LOG_WARN = 4,
    CMP_LOG_NOTICE = 5,
    CMP_LOG_INFO = 6,
    CMP_LOG_DEBUG = 7
} cmp_log_level_e;

typedef void cmp_log_fn(void *baton, cmp_log_level_e level, const char *file,
                        int line, const char *msg);

/* Set once at start-up, before any request thread runs. */
void cmp_log_set(cmp_log_fn *fn, void *baton, cmp_log_level_e max_level);
/* While a thread works for one request, its lines go to that request's
 * baton, up to that request's level (a vhost's or a Location's LogLevel);
 * cmp_log_unbind() returns the thread to the global target. */
void cmp_log_bind(void *baton, cmp_log_level_e max_level);
void cmp_log_unbind(void);
int cmp_log_enabled(cmp_log_level_e level);
void cmp_log_emit(cmp_log_level_e level, const char *file, int line,
                  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define cmp_log(level, ...) \
    do { if (cmp_log_enabled(level)) \
             cmp_log_emit(level, __FILE__, __LINE__, __VA_ARGS__); } while (0)

/* Our message tags, in the spirit of httpd's APLOGNO but our own range. */
#define CMPLOGNO(n) "CMP" #n ": "

#endif
