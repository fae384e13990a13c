/* SPDX-License-Identifier: Apache-2.0 */
/* mod_cmp_admin: httpd glue for the JSON "Core CMP API", served wherever
 * the administrator maps the handler (the API's root is that Location):
 *
 *   <Location /api/v1>
 *       SetHandler cmp-admin
 *       AuthType Basic ... / SSLVerifyClient require
 *       Require valid-user
 *   </Location>
 *
 * Authentication is Apache's: the handler takes the identity Apache
 * established (r->user, or a verified client certificate's subject) and
 * refuses with 401 when there is none. The database and the secret key are
 * mod_cmp's (CMPDatabase, CMPSecretKeyFile), shared through an optional
 * function, so mod_cmp must be loaded too. */
#include <string.h>

#include <apr_optional.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <util_filter.h>

#include <openssl/err.h>

#include "admin.h"
#include "cmp_log.h"
#include "cmp_version.h"
#include "mod_cmp.h"

#define ADMIN_HANDLER "cmp-admin"
#define MAX_BODY (1024 * 1024)

module AP_MODULE_DECLARE_DATA cmp_admin_module;

static APR_OPTIONAL_FN_TYPE(cmp_shared) *get_shared;
static APR_OPTIONAL_FN_TYPE(cmp_read_body) *read_body;
static APR_OPTIONAL_FN_TYPE(cmp_bind_log) *bind_log;
/* Set at each start: the core library is of another version than this
 * module, which then answers 503. */
static int core_skew;

/* The API's root for this request: the URI up to the first segment that is
 * one of the API's resources. httpd does not tell a handler which
 * <Location> mapped it, so the API serves under any path that has no such
 * segment itself ("/api/v1", "/pki/admin/api"; not "/certificates/api").
 * NULL: the URI names no resource. */
static const char *api_root(request_rec *r)
{
    const char *seg = r->uri;

    while ((seg = strchr(seg, '/')) != NULL) {
        const char *end = strchr(seg + 1, '/');
        apr_size_t n = end != NULL ? (apr_size_t)(end - seg - 1) : strlen(seg + 1);

        if (n > 0 && admin_is_resource(seg + 1, n))
            return apr_pstrndup(r->pool, r->uri, seg - r->uri);
        seg++;
    }
    return NULL;
}

static const char *actor_of(request_rec *r)
{
    const char *verify, *dn;

    if (r->user != NULL && *r->user)
        return apr_pstrcat(r->pool, "user:", r->user, NULL);
    verify = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                               "SSL_CLIENT_VERIFY");
    dn = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                           "SSL_CLIENT_S_DN");
    /* a subject is only unique under its issuer */
    if (verify != NULL && strcmp(verify, "SUCCESS") == 0 && dn != NULL && *dn) {
        const char *issuer = ap_ssl_var_lookup(r->pool, r->server, r->connection,
                                               r, "SSL_CLIENT_I_DN");

        return apr_pstrcat(r->pool, "cert:", dn, " (issuer ",
                           issuer != NULL ? issuer : "?", ")", NULL);
    }
    return NULL;
}

static admin_method_e method_of(request_rec *r)
{
    switch (r->method_number) {
    case M_GET: return ADMIN_GET;
    case M_POST: return ADMIN_POST;
    case M_PUT: return ADMIN_PUT;
    case M_PATCH: return ADMIN_PATCH;
    case M_DELETE: return ADMIN_DELETE;
    default: return ADMIN_OTHER;
    }
}

/* A body that is not JSON (rs.raw, an export). */
static int send_raw(request_rec *r, const admin_resp_t *rs)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);

    r->status = rs->status;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_type(r, rs->content_type);
    ap_set_content_length(r, (apr_off_t)rs->raw_len);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(rs->raw, rs->raw_len, r->pool,
                                                       bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS ? OK
                                                                : AP_FILTER_ERROR;
}

static int send_json(request_rec *r, int status, const json_t *body,
                     const char *location)
{
    apr_bucket_brigade *bb;
    apr_size_t len = 0;
    char *text;

    r->status = status;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (location != NULL)
        apr_table_setn(r->headers_out, "Location", location);
    if (body == NULL) {
        ap_set_content_length(r, 0);
        return OK;
    }
    text = cmp_json_text(r->pool, body, &len);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)len + 1);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(text, len, r->pool,
                                                       bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("\n", 1,
                                                           bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS ? OK
                                                                : AP_FILTER_ERROR;
}

static int problem(request_rec *r, int status, const char *msg)
{
    json_t *b = cmp_json_message(r->pool, msg);

    /* A challenge only where Basic is what the location asks for; with
     * client certificates there is nothing a browser could answer. */
    if (status == HTTP_UNAUTHORIZED && ap_auth_type(r) != NULL
            && strcasecmp(ap_auth_type(r), "Basic") == 0)
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       apr_psprintf(r->pool, "Basic realm=\"%s\"",
                                    ap_auth_name(r) != NULL ? ap_auth_name(r)
                                                            : "mod_cmp admin"));
    return send_json(r, status, b, NULL);
}

/* Same scheme, host and port as the request itself, or no Origin at all. */
static int same_origin(request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *own = ap_construct_url(r->pool, "", r);
    size_t n;

    if (origin == NULL)
        return 1;
    n = strlen(own);
    if (n > 0 && own[n - 1] == '/')
        n--;
    if (strlen(origin) == n && strncasecmp(origin, own, n) == 0)
        return 1;
    /* ap_construct_url leaves out default ports; browsers do too */
    return 0;
}

/* The media type of a Content-Type header is type (parameters aside). */
static int is_type(const char *ct, const char *type)
{
    size_t n = strlen(type);

    return ct != NULL && strncasecmp(ct, type, n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int admin_handler(request_rec *r)
{
    const cmp_shared_t *shared;
    admin_req_t rq;
    admin_resp_t rs;
    char *body = NULL;
    apr_size_t len = 0;
    const char *why = NULL, *base, *root;
    int status;

    if (r->handler == NULL || strcmp(r->handler, ADMIN_HANDLER) != 0)
        return DECLINED;
    memset(&rq, 0, sizeof(rq));
    rq.p = r->pool;
    rq.method = method_of(r);
    if (rq.method == ADMIN_OTHER) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST)
                     | (AP_METHOD_BIT << M_PUT) | (AP_METHOD_BIT << M_PATCH)
                     | (AP_METHOD_BIT << M_DELETE);
        return problem(r, HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    }
    if ((rq.actor = actor_of(r)) == NULL)
        return problem(r, HTTP_UNAUTHORIZED, "authentication required");
    if ((root = api_root(r)) == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CMPLOGNO(10605) "%s names no "
                      "resource of the admin API (see GET <root>/openapi.json)",
                      r->uri);
        return problem(r, HTTP_NOT_FOUND, "no such resource");
    }
    if (rq.method != ADMIN_GET && !same_origin(r))
        return problem(r, HTTP_FORBIDDEN, "cross-origin requests are refused");
    if (core_skew)
        return problem(r, HTTP_SERVICE_UNAVAILABLE,
                       apr_psprintf(r->pool, "mod_cmp_admin %s cannot run with "
                                    "the mod_cmp core library %s",
                                    CMP_MODULE_VERSION, cmp_core_version()));
    shared = get_shared != NULL ? get_shared() : NULL;
    if (shared == NULL || read_body == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CMPLOGNO(10601) "mod_cmp is not "
                      "loaded or not configured (CMPDatabase, CMPSecretKeyFile)");
        return problem(r, HTTP_SERVICE_UNAVAILABLE, "the CMP database is not configured");
    }
    if (bind_log != NULL)
        bind_log(r);
    status = read_body(r, MAX_BODY, &body, &len);
    if (status == HTTP_REQUEST_ENTITY_TOO_LARGE)
        return problem(r, status, "the request body is too large");
    if (status != OK)
        return problem(r, HTTP_BAD_REQUEST, "the request body cannot be read");
    if (len > 0) {
        if (rq.method == ADMIN_GET)
            return problem(r, HTTP_BAD_REQUEST, "GET takes no body");
        if (is_type(apr_table_get(r->headers_in, "Content-Type"), "text/csv")) {
            /* only the routes that take it (admin_dispatch says 415) */
            rq.text = body;
            rq.text_len = len;
        } else if (!is_type(apr_table_get(r->headers_in, "Content-Type"),
                            "application/json")) {
            return problem(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                           "the body must be application/json");
        } else if (cmp_json_parse(r->pool, body, len, &rq.body, &why) != APR_SUCCESS) {
            return problem(r, HTTP_BAD_REQUEST, why);
        }
    }
    if ((rq.query = admin_query_args(r->pool, r->args, &why)) == NULL)
        return problem(r, HTTP_BAD_REQUEST,
                       apr_psprintf(r->pool, "query argument '%s' is not URL-encoded "
                                    "text", why));
    if (cmp_db_acquire(shared->db, r->pool, &rq.conn) != APR_SUCCESS) {
        /* the caller is an administrator: the reason is for them */
        why = cmp_db_unavailable(shared->db, r->pool);
        return problem(r, HTTP_SERVICE_UNAVAILABLE,
                       apr_pstrcat(r->pool, "the database is unavailable",
                                   why != NULL ? ": " : "", why, NULL));
    }
    rq.key = shared->key;
    rq.path = r->uri + strlen(root);
    rq.seg = admin_path_segments(r->pool, rq.path);
    base = ap_construct_url(r->pool, "", r);
    rq.cmp_base = apr_pstrndup(r->pool, base, strlen(base) > 0 && base[strlen(base) - 1] == '/'
                                              ? strlen(base) - 1 : strlen(base));
    ERR_clear_error();
    admin_dispatch(&rq, &rs);
    ERR_clear_error();
    if (rs.status >= 500)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CMPLOGNO(10602) "%s %s failed with %d",
                      r->method, r->uri, rs.status);
    if (rs.raw != NULL && rs.status < 400)
        return send_raw(r, &rs);
    if (rs.allow != NULL)           /* RFC 9110 15.5.6 */
        apr_table_setn(r->headers_out, "Allow", rs.allow);
    return send_json(r, rs.status, rs.body,
                     rs.location != NULL ? apr_pstrcat(r->pool, root, rs.location, NULL)
                                         : NULL);
}

/* The core library is mod_cmp's, one per process (its log goes through
 * mod_cmp): this module only checks that it was built for the same one. */
static int admin_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    core_skew = strcmp(cmp_core_version(), CMP_MODULE_VERSION) != 0;
    if (core_skew)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CMPLOGNO(10603)
                     "mod_cmp_admin %s cannot run with the mod_cmp core library "
                     "%s: install the modules and libcmpcore from one build; the "
                     "admin API answers 503", CMP_MODULE_VERSION, cmp_core_version());
    else
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, CMPLOGNO(10604)
                     "mod_cmp_admin %s with the mod_cmp core library %s",
                     CMP_MODULE_VERSION, cmp_core_version());
    return OK;
}

static void admin_child_init(apr_pool_t *p, server_rec *s)
{
    get_shared = APR_RETRIEVE_OPTIONAL_FN(cmp_shared);
    read_body = APR_RETRIEVE_OPTIONAL_FN(cmp_read_body);
    bind_log = APR_RETRIEVE_OPTIONAL_FN(cmp_bind_log);
}

static void admin_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(admin_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(admin_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(admin_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(cmp_admin) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    admin_register_hooks,
    AP_MODULE_FLAG_NONE
};
