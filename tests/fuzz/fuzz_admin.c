/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: what the admin API parses of an untrusted request
 * before any database is involved. The input is "path\0query\0body": the
 * path split into segments (admin_path_segments), the query string decoded
 * (admin_query_args), the body parsed as JSON (cmp_json_parse) and, when it
 * is an object, its RA Profile policy fields read with the API's getters
 * and judged by the core's rules (cmp_policy_validate), as a POST or PUT of
 * an RA Profile does. Run by `make fuzz`. */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/err.h>

#include "admin.h"
#include "cmp_json.h"
#include "cmp_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;

/* the next NUL-terminated part of the input, from p */
static const char *part(apr_pool_t *p, const uint8_t **data, size_t *size)
{
    const uint8_t *end = memchr(*data, 0, *size);
    size_t n = end != NULL ? (size_t)(end - *data) : *size;
    const char *s = apr_pstrmemdup(p, (const char *)*data, n);

    *data += n < *size ? n + 1 : n;
    *size -= n < *size ? n + 1 : n;
    return s;
}

static const char *joined(apr_pool_t *p, apr_array_header_t *a)
{
    const char *s = "";
    int i;

    for (i = 0; a != NULL && i < a->nelts; i++)
        s = apr_pstrcat(p, s, i ? "," : "", APR_ARRAY_IDX(a, i, const char *), NULL);
    return a != NULL ? s : NULL;
}

static void policy_of(apr_pool_t *p, json_t *body)
{
    cmp_policy_spec_t spec = {CMP_POLICY_UNSET, CMP_POLICY_UNSET, NULL, NULL, 0,
                              NULL, NULL, NULL};
    apr_array_header_t *a = NULL, *msgs = apr_array_make(p, 4, sizeof(const char *));
    long long v = 0;
    int b = 0;

    if (cmp_json_int(body, "validityDays", &v) == 1)
        spec.validity_days = v < -1 ? -1 : v > 100000 ? 100000 : (int)v;
    if (cmp_json_int(body, "minSecurityBits", &v) == 1)
        spec.min_security_bits = v < -1 ? -1 : v > 100000 ? 100000 : (int)v;
    (void)cmp_json_str(body, "subjectPattern", &spec.subject_pattern);
    (void)cmp_json_bool(body, "allowSubjectAltName", &b);
    if (cmp_json_strs(p, body, "allowedKeyTypes", &a) == 1)
        spec.key_types = joined(p, a);
    if (cmp_json_strs(p, body, "keyUsage", &a) == 1)
        spec.key_usage = a->nelts > 0 ? apr_pstrcat(p, "critical,", joined(p, a), NULL) : "";
    if (cmp_json_strs(p, body, "extendedKeyUsage", &a) == 1)
        spec.ext_key_usage = joined(p, a);
    if (cmp_json_strs(p, body, "allowedEcCurves", &a) == 1)
        spec.ec_curves = joined(p, a);
    (void)cmp_policy_validate(p, &spec, msgs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *path, *query, *why = NULL;
    json_t *body = NULL;

    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    if (size > 1 << 20)
        return 0;
    apr_pool_create(&p, root);
    path = part(p, &data, &size);
    query = part(p, &data, &size);
    (void)admin_path_segments(p, path);
    (void)admin_query_args(p, query, &why);
    if (cmp_json_parse(p, (const char *)data, size, &body, &why) == APR_SUCCESS
            && json_is_object(body))
        policy_of(p, body);
    apr_pool_destroy(p);
    ERR_clear_error();
    return 0;
}
