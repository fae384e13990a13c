/* SPDX-License-Identifier: Apache-2.0 */
/* admin_dispatch() against the test database: routes, statuses, bodies, and
 * that a change commits with its audit event or not at all. */
#include <string.h>

#include <apr_strings.h>

#include "admin.h"
#include "unit.h"

static admin_resp_t call_in(apr_pool_t *p, admin_method_e m, const char *path,
                            const char *body)
{
    admin_req_t rq;
    admin_resp_t rs;
    const char *why = NULL;

    memset(&rq, 0, sizeof(rq));
    rq.p = p;
    rq.conn = unit_conn;
    rq.key = &unit_skey;
    rq.actor = "unit:dispatch";
    rq.method = m;
    rq.path = path;
    rq.seg = admin_path_segments(p, path);
    rq.query = apr_table_make(p, 4);
    rq.cmp_base = "http://unit.test";
    if (body != NULL)
        ck_assert_int_eq(cmp_json_parse(p, body, strlen(body), &rq.body, &why),
                         APR_SUCCESS);
    admin_dispatch(&rq, &rs);
    return rs;
}

static admin_resp_t call(admin_method_e m, const char *path, const char *body)
{
    return call_in(upool, m, path, body);
}

static const char *one(const char *sql)
{
    PGresult *r;

    ck_assert_int_eq(cmp_db_query(upool, unit_conn, sql, 0, NULL, NULL, &r, NULL),
                     APR_SUCCESS);
    return PQntuples(r) > 0 ? apr_pstrdup(upool, PQgetvalue(r, 0, 0)) : NULL;
}

static const char *message(const admin_resp_t *rs)
{
    const char *m = NULL;

    ck_assert_ptr_nonnull(rs->body);
    ck_assert_int_eq(cmp_json_str(rs->body, "message", &m), 1);
    return m;
}

static const char *demo_authority_path(void)
{
    return apr_pstrcat(upool, "/authorities/",
                       one("SELECT uuid FROM authority WHERE name = 'demo'"),
                       "/raProfiles", NULL);
}

START_TEST(routes_statuses_bodies)
{
    admin_resp_t rs;

    rs = call(ADMIN_GET, "/raProfiles", NULL);
    ck_assert_int_eq(rs.status, 200);
    ck_assert(json_is_array(rs.body));
    ck_assert_int_ge(json_array_size(rs.body), 1);
    rs = call(ADMIN_GET, "/nothing/here", NULL);
    ck_assert_int_eq(rs.status, 404);
    ck_assert_str_eq(message(&rs), "no such resource: /nothing/here");
    rs = call(ADMIN_DELETE, "/raProfiles", NULL);
    ck_assert_int_eq(rs.status, 405);
    rs = call(ADMIN_GET, "/cmpProfiles/00000000-0000-0000-0000-000000000000", NULL);
    ck_assert_int_eq(rs.status, 404);
    rs = call(ADMIN_POST, demo_authority_path(), "[1]");
    ck_assert_int_eq(rs.status, 400);
    ck_assert_ptr_null(rs.location);
    rs = call(ADMIN_POST, demo_authority_path(), "{\"name\": \"bad name\"}");
    ck_assert_int_eq(rs.status, 422);
    ck_assert(json_is_array(rs.body));
}
END_TEST

/* An audit event that cannot be written (a temporary audit_event table of
 * this session, which shadows the real one, refuses every 'ok' row): the
 * change is rolled back with it and the answer is 503. */
START_TEST(audit_failure_commits_nothing)
{
    const char *name = apr_psprintf(upool, "unit-audit-%d", (int)getpid());
    const char *body = apr_psprintf(upool, "{\"name\": \"%s\"}", name);
    const char *count = apr_psprintf(upool, "SELECT count(*) FROM ra_profile "
                                     "WHERE name = '%s'", name);
    admin_resp_t rs;

    one("CREATE TEMP TABLE audit_event (actor text, action text, object text, "
        "result text CHECK (result <> 'ok'), details text, object_name text, "
        "certificate_id bigint)");
    rs = call(ADMIN_POST, demo_authority_path(), body);
    ck_assert_int_eq(rs.status, 503);
    ck_assert_str_eq(message(&rs), "the change was not made: its audit event "
                                   "cannot be written");
    ck_assert_ptr_null(rs.location);
    ck_assert_str_eq(one(count), "0");
    one("DROP TABLE pg_temp.audit_event");
    rs = call(ADMIN_POST, demo_authority_path(), body);
    ck_assert_int_eq(rs.status, 201);
    ck_assert_str_eq(one(count), "1");
    ck_assert_str_eq(one(apr_psprintf(upool, "SELECT count(*) FROM audit_event "
                                      "WHERE actor = 'unit:dispatch' AND object = "
                                      "'raProfile:' || (SELECT uuid FROM ra_profile "
                                      "WHERE name = '%s')", name)), "1");
    one(apr_psprintf(upool, "DELETE FROM ra_profile WHERE name = '%s'", name));
}
END_TEST

/* Every json_t a request makes (its body, what the database returned, the
 * answer) belongs to the request pool: clearing the pool frees them all,
 * on success and on every refusal. */
START_TEST(messages_are_utf8)
{
    admin_resp_t rs;

    /* a path decoded from %E9 (no UTF-8): jansson refuses such a string,
     * and the 404 had no message at all (found by fuzz_admin) */
    rs = call(ADMIN_GET, "/x\xe9", NULL);
    ck_assert_int_eq(rs.status, 404);
    ck_assert_str_eq(message(&rs), "no such resource: /x?");
    ck_assert_str_eq(cmp_json_utf8(upool, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
                     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
    ck_assert_str_eq(cmp_json_utf8(upool, "\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82"),
                     "??|???|????|??");
    ck_assert_str_eq(cmp_json_utf8(upool, "\xff\xfe"), "??");
}
END_TEST

START_TEST(json_belongs_to_the_request_pool)
{
    static const char *const gets[] = {
        "/raProfiles", "/cmpProfiles", "/authorities", "/certificates",
        "/cmpProfiles/signingCertificates", "/auditLogs", "/openapi.json",
        "/nothing", NULL
    };
    const char *ra_path = demo_authority_path();
    apr_pool_t *rp;
    long before;
    int i;

    /* Jansson's first use sets up state of its own (the hash seed) */
    call(ADMIN_GET, "/raProfiles", NULL);
    before = unit_json_live();
    apr_pool_create(&rp, upool);
    for (i = 0; gets[i] != NULL; i++)
        ck_assert_ptr_nonnull(call_in(rp, ADMIN_GET, gets[i], NULL).body);
    ck_assert_int_eq(call_in(rp, ADMIN_POST, ra_path, "{\"name\": \"bad name\", "
                             "\"keyUsage\": [\"flying\"]}").status, 422);
    ck_assert_int_eq(call_in(rp, ADMIN_POST, ra_path, "{\"name\": 5}").status, 400);
    ck_assert_int_ge(unit_json_live(), before + 10);
    apr_pool_destroy(rp);
    ck_assert_int_eq(unit_json_live(), before);
}
END_TEST

Suite *suite_dispatch(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("dispatch");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, unit_db_setup, unit_db_teardown);
    tcase_add_test(tc, routes_statuses_bodies);
    tcase_add_test(tc, audit_failure_commits_nothing);
    tcase_add_test(tc, json_belongs_to_the_request_pool);
    tcase_add_test(tc, messages_are_utf8);
    suite_add_tcase(s, tc);
    return s;
}
