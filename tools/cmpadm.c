/* SPDX-License-Identifier: Apache-2.0 */
/* cmpadm: the Core CMP API from the command line, without httpd. The same
 * resources, rules and audit events as mod_cmp_admin (admin_dispatch()),
 * run on the database directly: for setting up before Apache serves (the
 * demo, the tests, the bench) and for scripts on the database host.
 *
 *   DATABASE_URL=... CMP_SECRET_KEY_FILE=... cmpadm METHOD PATH [BODY]
 *
 *   cmpadm GET /raProfiles
 *   cmpadm PATCH /cmpProfiles/{uuid}/enable
 *   jq -n --rawfile c ca.pem --rawfile k ca.key '{name: "demo",
 *       certificate: $c, privateKey: $k}' | cmpadm POST /authorities -
 *
 * PATH is the API's, below /api/v1 (a query string may follow); BODY is
 * JSON, or - to read it from standard input. The answer's body goes to
 * standard output; the exit status is 0 for 2xx, 1 for any other answer
 * (its message on standard error), 2 for a usage or set-up error. The audit
 * log names the actor "cmpadm:" and the user it runs as. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "cmp_db.h"
#include "cmp_err.h"
#include "cmp_log.h"
#include "cmp_store.h"

#define MAX_BODY (1024 * 1024)

static void usage(void)
{
    fprintf(stderr, "usage: cmpadm METHOD PATH [BODY | -]\n"
            "  METHOD: GET POST PUT PATCH DELETE; PATH below /api/v1, e.g. "
            "/raProfiles\n"
            "  environment: DATABASE_URL, CMP_SECRET_KEY_FILE\n");
    exit(2);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "cmpadm: %s%s%s\n", what, detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    exit(2);
}

static void to_stderr(void *baton, cmp_log_level_e level, const char *file,
                      int line, const char *msg)
{
    fprintf(stderr, "cmpadm: %s\n", msg);
}

static admin_method_e method_of(const char *m)
{
    static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    int i;

    for (i = 0; i < 5; i++)
        if (strcmp(m, names[i]) == 0)
            return (admin_method_e)i;
    usage();
    return ADMIN_OTHER;
}

static const char *read_stdin(apr_pool_t *p)
{
    char *buf = apr_palloc(p, MAX_BODY + 1);
    size_t n = fread(buf, 1, MAX_BODY, stdin);

    if (!feof(stdin))
        fail("the body on standard input is over 1 MB or unreadable", NULL);
    buf[n] = '\0';
    return buf;
}

/* Who runs it, as the system knows the user (not what the environment says). */
static const char *actor(apr_pool_t *p)
{
    const struct passwd *pw = getpwuid(geteuid());

    return pw != NULL ? apr_pstrcat(p, "cmpadm:", pw->pw_name, NULL)
                      : apr_psprintf(p, "cmpadm:uid %ld", (long)geteuid());
}

/* The request as mod_cmp_admin would hand it to admin_dispatch(). */
static void make_request(apr_pool_t *p, int argc, char **argv, admin_req_t *rq)
{
    char *path = apr_pstrdup(p, argv[2]), *q = strchr(path, '?');
    const char *body = argc > 3 ? argv[3] : NULL, *why = NULL;

    memset(rq, 0, sizeof(*rq));
    rq->p = p;
    rq->actor = actor(p);
    rq->method = method_of(argv[1]);
    if (q != NULL)
        *q++ = '\0';
    if (path[0] != '/')
        usage();
    rq->path = path;
    rq->seg = admin_path_segments(p, path);
    if ((rq->query = admin_query_args(p, q, &why)) == NULL)
        fail("a query argument is not URL-encoded text", why);
    rq->cmp_base = "";
    if (body != NULL && strcmp(body, "-") == 0)
        body = read_stdin(p);
    if (body != NULL && *body != '\0'
            && cmp_json_parse(p, body, strlen(body), &rq->body, &why) != APR_SUCCESS)
        fail("the body is not JSON", why);
}

static void connect_db(apr_pool_t *p, admin_req_t *rq, cmp_secret_key_t *key)
{
    static cmp_db_conf_t conf;
    const char *why = NULL, *keyfile = getenv("CMP_SECRET_KEY_FILE");
    cmp_db_t *db = NULL;

    conf.conninfo = getenv("DATABASE_URL");
    conf.check = cmp_store_check_schema;
    conf.max_conns = 1;
    conf.ttl = apr_time_from_sec(60);
    conf.acquire_timeout = apr_time_from_sec(10);
    if (conf.conninfo == NULL || keyfile == NULL)
        usage();
    if (cmp_secret_key_load(keyfile, key, &why) != APR_SUCCESS)
        fail(keyfile, why);
    rq->key = key;
    if (cmp_db_create(p, &conf, cmp_store_stmts, &db) != APR_SUCCESS)
        fail("cannot set up the database pool", "out of memory");
    if (cmp_db_acquire(db, p, &rq->conn) != APR_SUCCESS) {
        why = cmp_db_unavailable(db, p);
        fail("the database (DATABASE_URL) cannot be used",
             why != NULL ? why : "no connection");
    }
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    admin_req_t rq;
    admin_resp_t rs;
    cmp_secret_key_t key;
    const char *msg = NULL;
    apr_size_t n;
    int ok;

    if (argc < 3 || argc > 4)
        usage();
    apr_app_initialize(&argc, (const char *const **)&argv, NULL);
    apr_pool_create(&p, NULL);
    cmp_err_init();
    cmp_log_set(to_stderr, NULL, CMP_LOG_WARN);
    make_request(p, argc, argv, &rq);
    connect_db(p, &rq, &key);
    admin_dispatch(&rq, &rs);
    ok = rs.status >= 200 && rs.status < 300;
    if (rs.raw != NULL && ok)
        fwrite(rs.raw, 1, rs.raw_len, stdout);
    if (rs.body != NULL)
        printf("%s\n", cmp_json_text(p, rs.body, &n));
    if (!ok && (rs.body == NULL || cmp_json_str(rs.body, "message", &msg) != 1))
        msg = rs.body != NULL ? cmp_json_text(p, rs.body, &n) : "";
    if (!ok)
        fprintf(stderr, "cmpadm: %s %s: HTTP %d: %s\n", argv[1], argv[2],
                rs.status, msg);
    OPENSSL_cleanse(&key, sizeof(key));
    apr_pool_destroy(p);
    apr_terminate();
    return ok ? 0 : 1;
}
