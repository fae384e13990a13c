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

START_TEST(csv_records)
{
    const char *why = NULL, *text;
    apr_array_header_t *r;

#define REC(i) APR_ARRAY_IDX(r, i, apr_array_header_t *)
#define FIELD(i, j) APR_ARRAY_IDX(REC(i), j, const char *)
    text = "a,b,c\r\n\"x, \"\"y\"\"\",,\"line\nbreak\"\n\n1,2,3";
    r = admin_csv_parse(upool, text, strlen(text), &why);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->nelts, 3);            /* the empty line is no record */
    ck_assert_int_eq(REC(0)->nelts, 3);
    ck_assert_str_eq(FIELD(0, 2), "c");
    ck_assert_str_eq(FIELD(1, 0), "x, \"y\"");
    ck_assert_str_eq(FIELD(1, 1), "");
    ck_assert_str_eq(FIELD(1, 2), "line\nbreak");
    ck_assert_str_eq(FIELD(2, 2), "3");
    /* a last line without its line break; a lone field */
    r = admin_csv_parse(upool, "only", 4, &why);
    ck_assert_int_eq(r->nelts, 1);
    ck_assert_str_eq(FIELD(0, 0), "only");
    r = admin_csv_parse(upool, "", 0, &why);
    ck_assert_int_eq(r->nelts, 0);
    ck_assert_ptr_null(admin_csv_parse(upool, "a\n\"open", 7, &why));
    ck_assert_str_eq(why, "line 2: a quoted field is not closed");
    ck_assert_ptr_null(admin_csv_parse(upool, "\"a\"b", 4, &why));
    ck_assert_ptr_nonnull(strstr(why, "after a closing quote"));
    ck_assert_ptr_null(admin_csv_parse(upool, "a\0b", 3, &why));
    ck_assert_ptr_nonnull(strstr(why, "NUL"));
#undef FIELD
#undef REC
}
END_TEST

Suite *suite_admin(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("openapi");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, routes_and_openapi_agree);
    tcase_add_test(tc, csv_records);
    suite_add_tcase(s, tc);
    return s;
}
