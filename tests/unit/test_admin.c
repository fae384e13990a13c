/* SPDX-License-Identifier: Apache-2.0 */
/* The admin API's route table against its OpenAPI document. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>

#include "admin.h"
#include "unit.h"

/* "GET /a/{x}/b" -> "GET /a/{}/b" */
static const char *normal(apr_pool_t *p, const char *route)
{
    char *out = apr_palloc(p, strlen(route) + 1), *o = out;
    const char *c;

    for (c = route; *c; c++) {
        *o++ = *c;
        if (*c == '{') {
            while (*c && *c != '}')
                c++;
            *o++ = '}';
        }
    }
    *o = '\0';
    return out;
}

START_TEST(routes_and_openapi_agree)
{
    json_error_t err;
    json_t *doc = json_loads(admin_openapi_json, 0, &err), *paths, *ops, *op;
    const char *const *routes = admin_route_list();
    const char *path, *method;
    apr_hash_t *served = apr_hash_make(upool), *documented = apr_hash_make(upool);
    apr_hash_index_t *hi;
    int i, n = 0;

    ck_assert_msg(doc != NULL, "openapi.json: %s", err.text);
    for (i = 0; routes[i] != NULL; i++) {
        apr_hash_set(served, normal(upool, routes[i]), APR_HASH_KEY_STRING, "");
        n++;
    }
    ck_assert_int_ge(n, 30);
    paths = json_object_get(doc, "paths");
    json_object_foreach(paths, path, ops) {
        json_object_foreach(ops, method, op) {
            char *m = apr_pstrdup(upool, method);

            for (char *c = m; *c; c++)
                *c = (char)(*c - (*c >= 'a' && *c <= 'z' ? 32 : 0));
            apr_hash_set(documented, normal(upool, apr_pstrcat(upool, m, " ", path, NULL)),
                         APR_HASH_KEY_STRING, "");
        }
    }
    for (hi = apr_hash_first(upool, served); hi; hi = apr_hash_next(hi)) {
        const char *k = apr_hash_this_key(hi);

        ck_assert_msg(apr_hash_get(documented, k, APR_HASH_KEY_STRING) != NULL,
                      "served but not documented: %s", k);
    }
    for (hi = apr_hash_first(upool, documented); hi; hi = apr_hash_next(hi)) {
        const char *k = apr_hash_this_key(hi);

        ck_assert_msg(apr_hash_get(served, k, APR_HASH_KEY_STRING) != NULL,
                      "documented but not served: %s", k);
    }
    json_decref(doc);
}
END_TEST

Suite *suite_admin(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("openapi");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, routes_and_openapi_agree);
    suite_add_tcase(s, tc);
    return s;
}
