/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: what the admin API parses of an untrusted request. The
 * input is "path\0query\0body": the path split into segments
 * (admin_path_segments), the query string decoded (admin_query_args), the
 * body parsed as JSON (cmp_json_parse) and, when it is an object, its RA
 * Profile policy fields read with the API's getters and judged by the
 * core's rules (cmp_policy_validate), as a POST or PUT of an RA Profile
 * does; and the body as a device import's CSV (admin_csv_parse), each
 * field read as a senderKid and a list of subjectAltNames. With CMP_FUZZ_DATABASE_URL and CMP_FUZZ_SECRET_KEY_FILE set (make
 * fuzz, make test's replay), the path and query then go through
 * admin_dispatch as a GET against that database: every answer must be a
 * status from 200 to 599 and every 4xx/5xx a JSON object with a message.
 * Only GET: what the other methods would change must not change the demo
 * profiles the other targets and tests use. Run by `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/err.h>

#include "admin.h"
#include "cmp_device.h"
#include "cmp_json.h"
#include "cmp_policy.h"
#include "cmp_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static cmp_db_t *db;                /* NULL: no database, no dispatch */
static cmp_secret_key_t skey;

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
                              NULL, NULL, NULL, 0, 0, NULL};
    apr_array_header_t *a = NULL, *msgs = apr_array_make(p, 4, sizeof(const char *));
    long long v = 0;
    int b = 0;

    if (cmp_json_int(body, "validityDays", &v) == 1)
        spec.validity_days = v < -1 ? -1 : v > 100000 ? 100000 : (int)v;
    if (cmp_json_int(body, "minSecurityBits", &v) == 1)
        spec.min_security_bits = v < -1 ? -1 : v > 100000 ? 100000 : (int)v;
    (void)cmp_json_str(body, "subjectPattern", &spec.subject_pattern);
    (void)cmp_json_str(body, "centralKeyType", &spec.central_key);
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

static void setup(void)
{
    static cmp_db_conf_t dbc;
    const char *url = getenv("CMP_FUZZ_DATABASE_URL"), *why = NULL;

    apr_initialize();
    atexit(apr_terminate);      /* leaks are judged after the pools are gone */
    apr_pool_create(&root, NULL);
    if (url == NULL || *url == '\0')
        return;
    dbc.conninfo = url;
    dbc.check = cmp_store_check_schema;
    dbc.max_conns = 1;
    dbc.ttl = apr_time_from_sec(300);
    dbc.acquire_timeout = apr_time_from_sec(10);
    if (cmp_secret_key_load(getenv("CMP_FUZZ_SECRET_KEY_FILE"), &skey, &why) != APR_SUCCESS
            || cmp_db_create(root, &dbc, cmp_store_stmts, &db) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_admin: no database: %s\n", why != NULL ? why : "?");
        exit(1);
    }
}

/* A GET of path?query, as mod_cmp_admin hands it over. */
static void dispatch(apr_pool_t *p, const char *path, apr_table_t *query)
{
    admin_req_t rq;
    admin_resp_t rs;
    const char *msg = NULL;

    memset(&rq, 0, sizeof(rq));
    memset(&rs, 0, sizeof(rs));
    rq.p = p;
    if (cmp_db_acquire(db, p, &rq.conn) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_admin: the database is gone\n");
        exit(1);
    }
    rq.key = &skey;
    rq.actor = "fuzz";
    rq.method = ADMIN_GET;
    rq.path = path;
    rq.seg = admin_path_segments(p, path);
    rq.query = query;
    rq.cmp_base = "http://fuzz.test";
    admin_dispatch(&rq, &rs);
    if (rs.status < 200 || rs.status > 599
            || (rs.status >= 400 && (!json_is_object(rs.body)
                                     || cmp_json_str(rs.body, "message", &msg) != 1))) {
        fprintf(stderr, "fuzz_admin: GET %s answered %d without a message\n", path, rs.status);
        abort();
    }
}

/* The body as a device import (CSV): its records, each field as the
 * import reads it (senderKid, subjectAltNames split at spaces). */
static void import_of(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const char *why = NULL;
    apr_array_header_t *recs = admin_csv_parse(p, (const char *)data, size, &why);
    int i, j;

    for (i = 0; recs != NULL && i < recs->nelts && i < 64; i++) {
        apr_array_header_t *rec = APR_ARRAY_IDX(recs, i, apr_array_header_t *);

        for (j = 0; j < rec->nelts; j++) {
            const char *f = APR_ARRAY_IDX(rec, j, const char *);
            apr_array_header_t *sans = cmp_device_sans_split(p, f, " ");

            (void)cmp_device_kid_valid(f);
            if (sans->nelts <= CMP_DEVICE_MAX_SANS)
                (void)cmp_device_sans(p, sans, &why);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *path, *query, *why = NULL;
    apr_table_t *args;
    json_t *body = NULL;

    if (root == NULL)
        setup();
    if (size > 1 << 20)
        return 0;
    apr_pool_create(&p, root);
    path = part(p, &data, &size);
    query = part(p, &data, &size);
    (void)admin_path_segments(p, path);
    args = admin_query_args(p, query, &why);
    if (db != NULL && args != NULL && strlen(path) < 1000)
        dispatch(p, path, args);
    if (cmp_json_parse(p, (const char *)data, size, &body, &why) == APR_SUCCESS
            && json_is_object(body))
        policy_of(p, body);
    import_of(p, data, size);
    apr_pool_destroy(p);
    ERR_clear_error();
    return 0;
}
