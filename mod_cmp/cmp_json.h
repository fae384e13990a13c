/* SPDX-License-Identifier: Apache-2.0 */
/* The one Jansson wrapper: parsing that reports errors, typed getters that
 * tell absent from wrongly typed, and values owned by APR pools. */
#ifndef CMP_JSON_H
#define CMP_JSON_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

/* json_decref(j) when p is cleared; returns j. */
json_t *cmp_json_own(apr_pool_t *p, json_t *j);

/* One JSON value (object or array); duplicate keys are refused. */
apr_status_t cmp_json_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                            json_t **out, const char **why);

/* The getters return 1 when the key holds a value of the type, 0 when the
 * key is absent or null, -1 when it holds another type. */
int cmp_json_str(const json_t *o, const char *key, const char **out);
int cmp_json_bool(const json_t *o, const char *key, int *out);
int cmp_json_int(const json_t *o, const char *key, long long *out);
/* An array of strings, copied to p. */
int cmp_json_strs(apr_pool_t *p, const json_t *o, const char *key,
                  apr_array_header_t **out);

/* Compact text of j, allocated from p. */
char *cmp_json_text(apr_pool_t *p, const json_t *j, apr_size_t *len);

/* {"message": text} */
json_t *cmp_json_message(apr_pool_t *p, const char *text);

/* text when it is UTF-8, else a copy from p with '?' for each byte that is
 * not part of a UTF-8 sequence: what a JSON string can hold of a request's
 * bytes (a path or query argument decoded from %XX). */
const char *cmp_json_utf8(apr_pool_t *p, const char *text);

#endif
