/* SPDX-License-Identifier: Apache-2.0 */
/* mod_cmp: httpd glue for the CMP endpoints (RFC 9810 / RFC 9811 over HTTP).
 *
 *   CMPDatabase "host=127.0.0.1 port=5432 dbname=cmp user=cmp password=..."
 *   CMPSecretKeyFile /etc/apache2/cmp/secret.key
 *   <Location /api/v1/protocols/cmp>
 *       SetHandler cmp-server
 *   </Location>
 *   <Location /.well-known/cmp>
 *       SetHandler cmp-server
 *   </Location>
 *   <Location /crl>                      (GET /crl/<Authority>.crl)
 *       SetHandler cmp-crl
 *   </Location>
 *
 * Over 500 lines: this is the module's one glue file (directives, start-up,
 * the handler), as apxs builds one source per module; the work is in the core. */
#include <string.h>
#include <strings.h>

#include <apr_optional.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_watchdog.h>
#include <util_filter.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#define CMP_DECLARES_MODULE
#include "cmp_crl.h"
#include "cmp_db.h"
#include "cmp_err.h"
#include "cmp_key.h"
#include "cmp_ocsp.h"
#include "cmp_profile.h"
#include "cmp_rollover.h"
#include "cmp_secret.h"
#include "cmp_server.h"
#include "cmp_store.h"
#include "cmp_version.h"
#include "mod_cmp.h"
#include "mod_cmp_private.h"

#define CMP_HANDLER "cmp-server"
#define CRL_HANDLER "cmp-crl"
#define OCSP_HANDLER "cmp-ocsp"
#define OCSP_MAX_REQUEST (64 * 1024)
#define CMP_CONTENT_TYPE "application/pkixcmp"
#define DEFAULT_MAX_REQUEST (256 * 1024)
#define DEFAULT_SWEEP_SECONDS 60
#define UNSET (-1)

module AP_MODULE_DECLARE_DATA cmp_module;

typedef struct {
    const char *conninfo;
    const char *key_file;
    int max_conns;
    int sweep_seconds;
    int time_tolerance;          /* CMPMessageTimeTolerance, seconds; 0: off */
    int core_skew;               /* the core library is of another version */
    cmp_secret_key_t *key;       /* loaded in post_config, before fork */
    apr_array_header_t *named;   /* named_profile_t: what the config names */
    cmp_server_t *server;        /* per process, made in child_init */
    cmp_ocsp_t *ocsp;            /* per process, made in child_init */
    cmp_shared_t shared;         /* what mod_cmp_admin uses, per process */
} cmp_srv_conf_t;

typedef struct {
    apr_off_t max_request;
    const char *default_profile; /* CMPDefaultProfile: /.well-known/cmp alone,
                                    or the location where it is set */
    const char *default_location;
    const char *profile;         /* CMPProfile: the only one served here */
    const char *location;        /* the <Location> path CMPProfile was set in;
                                    NULL for a pattern (LocationMatch) */
} cmp_dir_conf_t;

/* RFC 9483 3.3 / IANA "CMP Well-Known URI Path Segments": the operation a
 * client may name after the profile. */
static const char *const operation_labels[] = {
    "initialization", "certification", "keyupdate", "pkcs10", "revocation",
    "getcacerts", "getrootupdate", "getcertreqtemplate", "getcrls", "nested",
    NULL
};

/* ---- configuration ------------------------------------------------------- */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    cmp_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->max_conns = UNSET;
    c->sweep_seconds = UNSET;
    c->time_tolerance = UNSET;
    return c;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    cmp_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->max_request = UNSET;
    return c;
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    cmp_dir_conf_t *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));

    c->max_request = add->max_request != UNSET ? add->max_request
                                               : base->max_request;
    if (add->default_profile != NULL) {
        c->default_profile = add->default_profile;
        c->default_location = add->default_location;
    } else {
        c->default_profile = base->default_profile;
        c->default_location = base->default_location;
    }
    if (add->profile != NULL) {
        c->profile = add->profile;
        c->location = add->location;
    } else {
        c->profile = base->profile;
        c->location = base->location;
    }
    return c;
}

static cmp_srv_conf_t *srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &cmp_module);
}

static const char *set_global(cmd_parms *cmd, void *dummy, const char *arg)
{
    cmp_srv_conf_t *c = srv_conf(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err != NULL)
        return err;
    if (strcmp(cmd->directive->directive, "CMPDatabase") == 0)
        c->conninfo = arg;
    else
        c->key_file = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

static const char *set_positive(cmd_parms *cmd, const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || v <= 0 || v > 1000000)
        return apr_pstrcat(cmd->pool, cmd->directive->directive,
                           " needs a positive whole number, not '", arg, "'",
                           NULL);
    *out = (int)v;
    return NULL;
}

static const char *set_max_conns(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err != NULL ? err : set_positive(cmd, arg, &srv_conf(cmd->server)->max_conns);
}

static const char *set_sweep(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err != NULL ? err
                       : set_positive(cmd, arg, &srv_conf(cmd->server)->sweep_seconds);
}

static const char *set_time_tolerance(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err != NULL)
        return err;
    if (strcmp(arg, "0") == 0 || strcasecmp(arg, "off") == 0) {
        srv_conf(cmd->server)->time_tolerance = 0;
        return NULL;
    }
    return set_positive(cmd, arg, &srv_conf(cmd->server)->time_tolerance);
}

static const char *set_max_request(cmd_parms *cmd, void *dconf, const char *arg)
{
    cmp_dir_conf_t *c = dconf;
    int v = 0;
    const char *err = set_positive(cmd, arg, &v);

    if (err == NULL)
        c->max_request = v;
    return err;
}

/* Every profile the configuration names, with where: checked against the
 * database once it can be read (health_cb). Kept with the configuration's
 * pool, so a reload starts a new list. */
typedef struct {
    const char *name, *where;
} named_profile_t;

#define NAMED_KEY "cmp_named_profiles"

static apr_array_header_t *named_profiles(apr_pool_t *pconf)
{
    void *v = NULL;

    apr_pool_userdata_get(&v, NAMED_KEY, pconf);
    if (v == NULL) {
        v = apr_array_make(pconf, 4, sizeof(named_profile_t));
        apr_pool_userdata_setn(v, NAMED_KEY, NULL, pconf);
    }
    return v;
}

static const char *set_profile(cmd_parms *cmd, void *dconf, const char *arg)
{
    cmp_dir_conf_t *c = dconf;
    const ap_directive_t *sect = cmd->directive->parent;
    const char *where = NULL;
    named_profile_t *np;

    if (!cmp_name_valid(arg))
        return apr_pstrcat(cmd->pool, cmd->directive->directive, " '", arg,
                           "' is not a profile name (1 to 255 letters, digits, "
                           "'-', '.', '_', '~')", NULL);
    np = apr_array_push(named_profiles(cmd->pool));
    np->name = arg;
    np->where = apr_psprintf(cmd->pool, "%s %s, %s line %d",
                             cmd->directive->directive, arg,
                             cmd->directive->filename, cmd->directive->line_num);
    /* The path the profile is served at: that of its <Location>, where the
     * request path may go on only by an operation label. */
    if (sect != NULL && strcasecmp(sect->directive, "<Location") == 0
            && cmd->path != NULL) {
        apr_size_t n = strlen(cmd->path);

        while (n > 0 && cmd->path[n - 1] == '/')
            n--;
        where = apr_pstrndup(cmd->pool, cmd->path, n);
    }
    if (strcmp(cmd->directive->directive, "CMPDefaultProfile") == 0) {
        c->default_profile = arg;
        c->default_location = where;
    } else {
        c->profile = arg;
        c->location = where;
    }
    return NULL;
}

static const command_rec cmp_cmds[] = {
    AP_INIT_TAKE1("CMPDatabase", set_global, NULL, RSRC_CONF,
                  "libpq connection string of the mod_cmp database"),
    AP_INIT_TAKE1("CMPSecretKeyFile", set_global, NULL, RSRC_CONF,
                  "file with the 256-bit key (64 hex digits) that encrypts "
                  "shared secrets and private keys in the database"),
    AP_INIT_TAKE1("CMPDatabaseMaxConnections", set_max_conns, NULL, RSRC_CONF,
                  "PostgreSQL connections per httpd child (default: threads "
                  "per child)"),
    AP_INIT_TAKE1("CMPConfirmSweepInterval", set_sweep, NULL, RSRC_CONF,
                  "seconds between sweeps that reject certificates whose "
                  "certConf did not come in time (default 60)"),
    AP_INIT_TAKE1("CMPMessageTimeTolerance", set_time_tolerance, NULL, RSRC_CONF,
                  "seconds a request's messageTime may be off the server's "
                  "clock either way (default 600; 0 or off: not checked)"),
    AP_INIT_TAKE1("CMPMaxRequestSize", set_max_request, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest CMP request body in bytes (default 262144)"),
    AP_INIT_TAKE1("CMPProfile", set_profile, NULL, RSRC_CONF | ACCESS_CONF,
                  "the CMP Profile this location serves (and no other)"),
    AP_INIT_TAKE1("CMPDefaultProfile", set_profile, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "CMP Profile served at /.well-known/cmp itself (RFC 9811 "
                  "paths with /p/<name> name their own)"),
    {NULL}
};

/* ---- logging from the core ----------------------------------------------- */

/* The core's lines go to a request (its vhost's log, with its client and
 * its LogLevel) while a thread works for one, else to the main server. */
typedef struct {
    server_rec *s;
    request_rec *r;
} log_target_t;

static log_target_t main_target;

static void core_log(void *baton, cmp_log_level_e level, const char *file,
                     int line, const char *msg)
{
    const log_target_t *t = baton;

    if (t->r != NULL)
        ap_log_rerror(file, line, APLOG_MODULE_INDEX, (int)level, 0, t->r,
                      "%s", msg);
    else
        ap_log_error(file, line, APLOG_MODULE_INDEX, (int)level, 0, t->s,
                     "%s", msg);
}

static cmp_log_level_e core_level(int level)
{
    return level > APLOG_DEBUG ? CMP_LOG_DEBUG : (cmp_log_level_e)level;
}

static void connect_core_log(server_rec *s)
{
    main_target.s = s;
    main_target.r = NULL;
    cmp_log_set(core_log, &main_target,
                core_level(ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX)));
}

static apr_status_t unbind_log(void *data)
{
    cmp_log_unbind();
    return APR_SUCCESS;
}

/* Until the request's pool goes, this thread's core lines are the
 * request's. */
static void cmp_bind_log(request_rec *r)
{
    log_target_t *t = apr_palloc(r->pool, sizeof(*t));

    t->s = r->server;
    t->r = r;
    cmp_log_bind(t, core_level(ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX)));
    apr_pool_cleanup_register(r->pool, t, unbind_log, apr_pool_cleanup_null);
}

/* ---- start-up -------------------------------------------------------------- */

static apr_status_t sweep_cb(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    cmp_srv_conf_t *c = srv_conf(s);
    int n = 0;

    if (state != AP_WATCHDOG_STATE_RUNNING || c->server == NULL)
        return APR_SUCCESS;
    if (cmp_server_sweep(c->server, pool, &n) == APR_SUCCESS && n > 0)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, CMPLOGNO(10003)
                     "rejected %d certificate(s) not confirmed in time", n);
    return APR_SUCCESS;
}

/* A CMPProfile or CMPDefaultProfile whose profile is not in the database
 * serves nothing but refusals: said once, when the database is first read. */
static void check_named_profiles(server_rec *s, cmp_srv_conf_t *c, apr_pool_t *p)
{
    PGconn *conn;
    int i;

    if (c->named == NULL || c->named->nelts == 0
            || cmp_db_acquire(c->shared.db, p, &conn) != APR_SUCCESS)
        return;
    for (i = 0; i < c->named->nelts; i++) {
        const named_profile_t *np = &APR_ARRAY_IDX(c->named, i, named_profile_t);
        cmp_store_head_t h;
        int found = 0;

        if (cmp_store_head(p, conn, 0, np->name, &h, &found) == APR_SUCCESS
                && !found)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10023)
                         "%s: there is no CMP Profile named %s: requests there "
                         "are refused until one is created", np->where, np->name);
    }
}

/* The server-wide view of the database, from one child (a singleton
 * watchdog): one line when it becomes unusable, saying why and what to do,
 * and one when it is back. Each child finds out by itself, as its requests
 * need connections; this is only what the administrator reads. */
static apr_status_t health_cb(int state, void *data, apr_pool_t *pool)
{
    static int last = -1;                 /* -1 unknown, 0 down, 1 up */
    static char last_why[512];
    server_rec *s = data;
    cmp_srv_conf_t *c = srv_conf(s);
    const char *why = NULL;
    int up;

    if (state != AP_WATCHDOG_STATE_RUNNING || c->server == NULL)
        return APR_SUCCESS;
    up = cmp_db_probe(c->shared.db, pool, &why) == APR_SUCCESS;
    if (up && last != 1)
        check_named_profiles(s, c, pool);
    if (up && last != 1)
        ap_log_error(APLOG_MARK, last == 0 ? APLOG_NOTICE : APLOG_INFO, 0, s,
                     CMPLOGNO(10020) "the CMP database is %s",
                     last == 0 ? "available again: CMP and the admin API serve"
                               : "available");
    else if (!up && (last != 0 || strcmp(last_why, why) != 0))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, CMPLOGNO(10021)
                     "the CMP database cannot be used: %s. Until it can, CMP "
                     "requests get an error message and the admin API a 503; "
                     "mod_cmp tries again every second, no restart needed", why);
    apr_cpystrn(last_why, up ? "" : why, sizeof(last_why));
    last = up;
    return APR_SUCCESS;
}

static apr_status_t maintain_cb(int state, void *data, apr_pool_t *pool)
{
    cmp_srv_conf_t *c = srv_conf(data);

    if (state == AP_WATCHDOG_STATE_RUNNING && c->server != NULL)
        cmp_server_maintain(c->server, pool);
    return APR_SUCCESS;
}

/* The CRLs, from one child (a singleton watchdog): made after every
 * revocation and before they run out (cmp_crl_refresh). A CRL that cannot
 * be made is said once, and again when the reason changes. */
static apr_status_t crl_cb(int state, void *data, apr_pool_t *pool)
{
    static char last_why[512];
    server_rec *s = data;
    cmp_srv_conf_t *c = srv_conf(s);
    const char *why = NULL;
    int made = 0;

    if (state != AP_WATCHDOG_STATE_RUNNING || c->server == NULL
            || cmp_db_unavailable(c->shared.db, pool) != NULL)
        return APR_SUCCESS;
    if (cmp_crl_refresh(c->shared.db, c->key, pool, &made, &why) == APR_SUCCESS)
        last_why[0] = '\0';
    else if (why != NULL && strcmp(why, last_why) != 0) {     /* not the database */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, CMPLOGNO(10024)
                     "cannot make a CRL: %s; relying parties get the last one "
                     "until it can be made (tried again every %d s)", why,
                     CMP_CRL_INTERVAL_S);
        apr_cpystrn(last_why, why, sizeof(last_why));
    }
    /* The thread's OpenSSL state (error queue, random generators) goes
     * after each run and is made anew by the next: a sanitizer run once
     * reported this thread's error queue as leaked when a child ended. */
    OPENSSL_thread_stop();
    return APR_SUCCESS;
}

/* Two watchdogs: the confirmation sweep, one for the whole server; and in
 * every child, the upkeep of its configuration listener. */
static void start_watchdogs(apr_pool_t *pconf, server_rec *s, cmp_srv_conf_t *c)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_wd =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *reg_wd =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *sweep = NULL, *upkeep = NULL, *health = NULL, *crl = NULL;
    int secs = c->sweep_seconds != UNSET ? c->sweep_seconds
                                         : DEFAULT_SWEEP_SECONDS;

    if (get_wd == NULL || reg_wd == NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10004)
                     "mod_watchdog is not loaded: unconfirmed certificates "
                     "stay pending (never valid), no CRL is made, and a lost "
                     "configuration listener is not reconnected");
        return;
    }
    if (get_wd(&sweep, "_cmp_sweep_", 0, 1, pconf) != APR_SUCCESS
            || reg_wd(sweep, apr_time_from_sec(secs), s, sweep_cb) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10005)
                     "cannot register the confirmation sweep with mod_watchdog");
    if (get_wd(&health, "_cmp_health_", 0, 1, pconf) != APR_SUCCESS
            || reg_wd(health, apr_time_from_sec(1), s, health_cb) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10022)
                     "cannot register the database health check with "
                     "mod_watchdog: database outages are logged per request only");
    if (get_wd(&crl, "_cmp_crl_", 0, 1, pconf) != APR_SUCCESS
            || reg_wd(crl, apr_time_from_sec(CMP_CRL_INTERVAL_S), s, crl_cb)
               != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10025)
                     "cannot register the CRL job with mod_watchdog: no CRL "
                     "is made");
    if (get_wd(&upkeep, "_cmp_upkeep_", 0, 0, pconf) != APR_SUCCESS
            || reg_wd(upkeep, apr_time_from_sec(1), s, maintain_cb) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10015)
                     "cannot register the listener upkeep with mod_watchdog");
}

static int cmp_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    cmp_srv_conf_t *c = srv_conf(s);
    cmp_secret_key_t *key;
    const char *why = NULL;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    c->named = named_profiles(pconf);
    c->core_skew = strcmp(cmp_core_version(), CMP_MODULE_VERSION) != 0;
    if (c->core_skew) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CMPLOGNO(10016)
                     "mod_cmp %s cannot run with the mod_cmp core library %s: "
                     "install the modules and libcmpcore from one build; CMP "
                     "endpoints answer 503", CMP_MODULE_VERSION,
                     cmp_core_version());
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, CMPLOGNO(10017)
                 "mod_cmp %s with its core library %s, %s; post-quantum keys "
                 "(ML-DSA, SLH-DSA, ML-KEM): %s", CMP_MODULE_VERSION,
                 cmp_core_version(), OpenSSL_version(OPENSSL_VERSION),
                 cmp_key_pqc_available() ? "available"
                                         : "not available (OpenSSL 3.5 or later needed)");
    if (c->conninfo == NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CMPLOGNO(10006)
                     "CMPDatabase is not set: CMP endpoints answer 503");
        return OK;
    }
    /* Nothing here stops Apache: the other sites serve whatever is wrong
     * with ours. The database is not touched at all (children connect as
     * they need, as the user they run as; the health check reports). */
    c->key = NULL;
    if (c->key_file == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CMPLOGNO(10007)
                     "CMPSecretKeyFile is not set: mod_cmp cannot read the "
                     "secrets in its database; CMP endpoints answer 503");
        return OK;
    }
    key = apr_pcalloc(pconf, sizeof(*key));
    if (cmp_secret_key_load(c->key_file, key, &why) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CMPLOGNO(10008)
                     "CMPSecretKeyFile %s: %s; CMP endpoints answer 503",
                     c->key_file, why);
        return OK;
    }
    if (!cmp_err_init()) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CMPLOGNO(10009)
                     "cannot register mod_cmp's error texts with OpenSSL; CMP "
                     "endpoints answer 503");
        return OK;
    }
    c->key = key;
    connect_core_log(s);
    start_watchdogs(pconf, s, c);
    return OK;
}

static void cmp_child_init(apr_pool_t *pchild, server_rec *s)
{
    cmp_srv_conf_t *c = srv_conf(s);
    cmp_db_conf_t *dbc;
    cmp_db_t *db = NULL;
    int threads = 1;
    apr_status_t rv;

    if (c->conninfo == NULL || c->key == NULL || c->core_skew)
        return;
    connect_core_log(s);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    dbc = apr_pcalloc(pchild, sizeof(*dbc));
    dbc->conninfo = c->conninfo;
    dbc->check = cmp_store_check_schema;
    dbc->max_conns = c->max_conns != UNSET ? c->max_conns
                                           : (threads > 0 ? threads : 1);
    dbc->ttl = apr_time_from_sec(300);
    dbc->acquire_timeout = apr_time_from_sec(10);
    rv = cmp_db_create(pchild, dbc, cmp_store_stmts, &db);
    if (rv == APR_SUCCESS)
        rv = cmp_server_create(pchild, db, c->key, c->conninfo, &c->server);
    if (rv == APR_SUCCESS)
        rv = cmp_ocsp_create(pchild, db, c->key, &c->ocsp);
    if (rv == APR_SUCCESS) {
        if (c->time_tolerance != UNSET)
            cmp_server_set_time_tolerance(c->server, c->time_tolerance);
        c->shared.db = db;
        c->shared.key = c->key;
    }
    if (rv != APR_SUCCESS) {
        c->server = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, CMPLOGNO(10010)
                     "cannot set up the CMP server in this child");
    }
}

/* ---- the handler ----------------------------------------------------------- */

static int is_operation(const char *seg)
{
    const char *const *l;

    for (l = operation_labels; *l != NULL; l++)
        if (strcmp(seg, *l) == 0)
            return 1;
    return 0;
}

/* What may follow a profile in a path: nothing, "/", or "/" and one
 * operation label. */
static int profile_tail_ok(const char *m)
{
    if (*m == '\0' || strcmp(m, "/") == 0)
        return 1;
    return *m == '/' && is_operation(m + 1);
}

/* Which profile the URL names; 0 when the URL is none of ours (*why says
 * why, for the log). */
/* What follows "<location>/" in the URI when the <Location> the request is
 * served from (core's: the last section merged, whatever module set the
 * handler) has a path ending in /protocols/cmp; NULL otherwise. */
static const char *czertainly_name(request_rec *r)
{
    static const char tail[] = "/protocols/cmp";
    const core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *d = cd != NULL && cd->r == NULL ? cd->d : NULL;
    apr_size_t n = d != NULL ? strlen(d) : 0;

    while (n > 0 && d[n - 1] == '/')
        n--;
    if (n < sizeof(tail) - 1 || strncmp(d + n - (sizeof(tail) - 1), tail,
                                        sizeof(tail) - 1) != 0
            || strncmp(r->uri, d, n) != 0 || r->uri[n] != '/')
        return NULL;
    return r->uri + n + 1;
}

static int route_of(request_rec *r, const cmp_dir_conf_t *dc, cmp_route_e *route,
                    const char **name, const char **why)
{
    const char *u = r->uri, *m;

    *route = CMP_ROUTE_CMP_PROFILE;
    /* CMPProfile pins the location to one profile: no path form reaches
     * another from here. */
    if (dc->profile != NULL) {
        *name = dc->profile;
        if (dc->location == NULL)
            return 1;
        if (strncmp(u, dc->location, strlen(dc->location)) == 0
                && profile_tail_ok(u + strlen(dc->location)))
            return 1;
        *why = apr_pstrcat(r->pool, "CMPProfile ", dc->profile, " is served at ",
                           dc->location, " alone, or followed by an operation "
                           "label (RFC 9483 3.3)", NULL);
        return 0;
    }
    /* well-known URIs are at the root of the origin (RFC 8615) */
    if (strncmp(u, "/.well-known/cmp", 16) == 0
            && (u[16] == '\0' || u[16] == '/')) {
        m = u + strlen("/.well-known/cmp");
        if (profile_tail_ok(m)) {
            *name = dc->default_profile != NULL ? dc->default_profile : "";
            return 1;
        }
        /* RFC 9811 3.3: /p/{profile}[/{operation}] */
        if (strncmp(m, "/p/", 3) == 0) {
            const char *slash = strchr(m + 3, '/');

            *name = slash != NULL ? apr_pstrndup(r->pool, m + 3, slash - (m + 3))
                                  : m + 3;
            if (cmp_name_valid(*name) && profile_tail_ok(slash != NULL ? slash : ""))
                return 1;
        }
        *why = "RFC 9811 paths are /.well-known/cmp[/p/<profile>][/<operation>]";
        return 0;
    }
    /* CZERTAINLY: <Location .../protocols/cmp>, then <name> or
     * raProfile/<name> right after the location's path */
    if ((m = czertainly_name(r)) != NULL) {
        if (strncmp(m, "raProfile/", 10) == 0) {
            *route = CMP_ROUTE_RA_PROFILE;
            m += 10;
        }
        *name = m;
        if (cmp_name_valid(m))
            return 1;
        *why = ".../protocols/cmp/<profile> and .../protocols/cmp/raProfile/"
               "<profile> name one profile";
        return 0;
    }
    /* CMPDefaultProfile in a <Location> of its own: that path (and its
     * operation labels) goes to it */
    if (dc->default_profile != NULL && dc->default_location != NULL
            && strncmp(u, dc->default_location, strlen(dc->default_location)) == 0
            && profile_tail_ok(u + strlen(dc->default_location))) {
        *name = dc->default_profile;
        return 1;
    }
    *why = "this location names no CMP Profile: set CMPProfile <name> in its "
           "<Location>, or serve the RFC 9811 (/.well-known/cmp/p/<name>) or "
           "CZERTAINLY (<Location .../protocols/cmp>, then /<name>) paths";
    return 0;
}

static int is_pkixcmp(const char *ct)
{
    size_t n = strlen(CMP_CONTENT_TYPE);

    return ct != NULL && strncasecmp(ct, CMP_CONTENT_TYPE, n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int cmp_read_body(request_rec *r, apr_off_t max, char **out,
                         apr_size_t *outlen)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    apr_off_t total = 0;
    char *buf;
    int seen_eos = 0;

    if (cl != NULL && apr_atoi64(cl) > max)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    buf = apr_palloc(r->pool, (apr_size_t)max + 1);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);

        if (rv != APR_SUCCESS)
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS)
                return HTTP_BAD_REQUEST;
            if (total + (apr_off_t)n > max)
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            memcpy(buf + total, data, n);
            total += (apr_off_t)n;
        }
        apr_brigade_cleanup(bb);
    }
    buf[total] = '\0';
    *out = buf;
    *outlen = (apr_size_t)total;
    return OK;
}

/* A DER body of that type (from r->pool or longer-lived), or only its
 * headers for HEAD. */
static int send_der(request_rec *r, const char *type, const unsigned char *der,
                    apr_size_t len)
{
    apr_bucket_brigade *bb;

    ap_set_content_type(r, type);
    ap_set_content_length(r, (apr_off_t)len);
    if (r->header_only)
        return OK;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create((const char *)der, len,
                                                       r->pool, bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS ? OK
                                                                : AP_FILTER_ERROR;
}

static int send_response(request_rec *r, const cmp_response_t *resp)
{
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return send_der(r, CMP_CONTENT_TYPE, resp->der, resp->len);
}

static int cmp_handler(request_rec *r)
{
    cmp_srv_conf_t *sc;
    cmp_dir_conf_t *dc;
    cmp_route_e route;
    const char *name, *why = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    cmp_response_t resp;
    apr_status_t rv;
    int status;

    if (r->handler == NULL || strcmp(r->handler, CMP_HANDLER) != 0)
        return DECLINED;
    dc = ap_get_module_config(r->per_dir_config, &cmp_module);
    if (!route_of(r, dc, &route, &name, &why)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CMPLOGNO(10019)
                      "no CMP endpoint at %s: %s", r->uri, why);
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_POST) {
        /* The Allow header of a 405: httpd 2.4 builds it from r->allowed
         * (the method bits) and, in some releases, r->allowed_methods. */
        r->allowed = AP_METHOD_BIT << M_POST;
        ap_allow_methods(r, REPLACE_ALLOW, "POST", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!is_pkixcmp(apr_table_get(r->headers_in, "Content-Type")))
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    status = cmp_read_body(r, dc->max_request != UNSET ? dc->max_request
                                                       : DEFAULT_MAX_REQUEST,
                           &body, &len);
    if (status != OK)
        return status;
    if (len == 0)
        return HTTP_BAD_REQUEST;
    /* Database and key are global: they live in the main server's config. */
    sc = srv_conf(ap_server_conf);
    cmp_bind_log(r);
    if (sc->server == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CMPLOGNO(10011)
                      "mod_cmp is not configured (CMPDatabase, "
                      "CMPSecretKeyFile) or its database is unreachable");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ERR_clear_error();
    rv = cmp_server_handle(sc->server, r->pool, route, name,
                           (const unsigned char *)body, len, &resp);
    ERR_clear_error();
    if (rv == APR_EINVAL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CMPLOGNO(10012)
                      "request body is not a CMP PKIMessage (%" APR_SIZE_T_FMT
                      " bytes)", len);
        return HTTP_BAD_REQUEST;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, CMPLOGNO(10013)
                      "cannot build any CMP response");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (resp.reason != CMP_E_NONE)
        ap_log_rerror(APLOG_MARK,
                      resp.reason == CMP_E_DATABASE || resp.reason == CMP_E_INTERNAL
                      ? APLOG_ERR : APLOG_INFO, 0, r, CMPLOGNO(10014)
                      "CMP request (body %d) to %s refused: %s%s%s%s", resp.req_body,
                      name, cmp_err_text(resp.reason),
                      resp.detail && *resp.detail ? ": " : "",
                      resp.detail ? resp.detail : "",
                      resp.unprotected ? " (the error went unprotected: no profile "
                                         "is known to protect it with)" : "");
    return send_response(r, &resp);
}

/* ---- the CRLs -------------------------------------------------------------- */

typedef struct {
    const char *name;
    int generation;              /* of the Authority's key (cmp_rollover.h) */
    int cert;                    /* the CA certificate, not the CRL */
    cmp_crl_doc_t doc;
    int found;
} crl_lookup_t;

static apr_status_t crl_lookup(apr_pool_t *p, PGconn *conn, void *baton)
{
    crl_lookup_t *l = baton;

    if (l->cert)
        return cmp_crl_ca_cert(p, conn, l->name, l->generation, &l->doc.der,
                               &l->doc.len, &l->found);
    return cmp_crl_current(p, conn, l->name, 0, l->generation, &l->doc,
                           &l->found);
}

/* GET /<location>/<Authority name>.crl: the Authority's current CRL (DER),
 * cacheable until its nextUpdate, with ETag (the CRL number) and
 * Last-Modified (thisUpdate) for conditional requests. .crt: its
 * certificate (the caIssuers of what it issues, RFC 5280 4.2.2.1). After a
 * key rollover, <name>(g).crl and .crt are those of its key of generation
 * g, and <name>.crl those of its first key (cmp_rollover_file). */
static int crl_handler(request_rec *r)
{
    cmp_srv_conf_t *sc = srv_conf(ap_server_conf);
    const char *seg = strrchr(r->uri, '/'), *dot;
    crl_lookup_t l = {NULL, 0, 0, {NULL, 0, 0, 0, 0}, 0};
    PGconn *conn;
    apr_time_t now = apr_time_now();
    long max_age;
    char *date;
    int status;

    r->allowed = AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    dot = seg != NULL ? strrchr(seg, '.') : NULL;
    l.cert = dot != NULL && strcmp(dot, ".crt") == 0;
    if (dot == NULL || (strcmp(dot, ".crl") != 0 && !l.cert) || dot == seg + 1
            || strspn(seg + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789._~-()") != (size_t)(dot - seg) + 3
            || !cmp_rollover_parse(r->pool, apr_pstrmemdup(r->pool, seg + 1,
                                   (apr_size_t)(dot - seg - 1)), &l.name,
                                   &l.generation))
        return HTTP_NOT_FOUND;
    if (sc->server == NULL)
        return HTTP_SERVICE_UNAVAILABLE;
    cmp_bind_log(r);
    if (cmp_db_first(sc->shared.db, r->pool, crl_lookup, &l, &conn)
            != APR_SUCCESS) {
        apr_table_setn(r->headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!l.found) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CMPLOGNO(10026)
                      "no %s of an Authority named %s%s",
                      l.cert ? "certificate" : "CRL", l.name,
                      l.cert ? "" : " (yet)");
        return HTTP_NOT_FOUND;
    }
    if (l.cert) {
        apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=3600");
        return send_der(r, "application/pkix-cert", l.doc.der, l.doc.len);
    }
    apr_table_setn(r->headers_out, "ETag",
                   apr_psprintf(r->pool, "\"crl-%" APR_INT64_T_FMT "\"",
                                (apr_int64_t)l.doc.number));
    r->mtime = apr_time_from_sec(l.doc.this_update);
    ap_set_last_modified(r);
    date = apr_palloc(r->pool, APR_RFC822_DATE_LEN);
    apr_rfc822_date(date, apr_time_from_sec(l.doc.next_update));
    apr_table_setn(r->headers_out, "Expires", date);
    max_age = (long)(l.doc.next_update - apr_time_sec(now));
    apr_table_setn(r->headers_out, "Cache-Control",
                   apr_psprintf(r->pool, "public, max-age=%ld, no-transform",
                                max_age > 0 ? max_age : 0));
    status = ap_meets_conditions(r);
    if (status != OK)
        return status;
    return send_der(r, "application/pkix-crl", l.doc.der, l.doc.len);
}

static int cmp_crl_handler(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, CRL_HANDLER) != 0)
        return DECLINED;
    return crl_handler(r);
}

/* ---- OCSP ------------------------------------------------------------------- */

/* POST <location>/<Authority name> (application/ocsp-request) or GET
 * <location>/<Authority name>/<base64 request>: the OCSPResponse, HTTP 200
 * whatever its status (RFC 6960 A.1). */
static int ocsp_handler(request_rec *r)
{
    cmp_srv_conf_t *sc = srv_conf(ap_server_conf);
    const char *ct, *name = NULL;
    size_t len = 0;
    unsigned char *der = NULL;
    char *body = NULL;
    apr_size_t blen = 0;
    cmp_ocsp_answer_t ans;
    int status;

    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number == M_POST)
        name = strrchr(r->uri, '/') + 1;
    else if (r->method_number == M_GET)
        name = cmp_ocsp_get_request(r->pool, r->uri, &der, &len);
    else {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "POST", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (name == NULL || !cmp_name_valid(name)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CMPLOGNO(10027)
                      "no OCSP responder at %s: cmp-ocsp serves POST "
                      "<location>/<Authority name> and GET <location>/"
                      "<Authority name>/<base64 request>", r->uri);
        return HTTP_NOT_FOUND;
    }
    if (r->method_number == M_POST) {
        ct = apr_table_get(r->headers_in, "Content-Type");
        if (ct == NULL || strncasecmp(ct, "application/ocsp-request", 24) != 0
                || (ct[24] != '\0' && ct[24] != ';' && ct[24] != ' '))
            return HTTP_UNSUPPORTED_MEDIA_TYPE;
        status = cmp_read_body(r, OCSP_MAX_REQUEST, &body, &blen);
        if (status != OK)
            return status;
        der = (unsigned char *)body;
        len = blen;
    }
    if (sc->server == NULL || sc->ocsp == NULL)
        return HTTP_SERVICE_UNAVAILABLE;
    cmp_bind_log(r);
    if (cmp_ocsp_answer(sc->ocsp, r->pool, name, der, len, &ans) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (ans.status != 0)
        ap_log_rerror(APLOG_MARK, ans.status == 2 ? APLOG_ERR : APLOG_INFO, 0, r,
                      CMPLOGNO(10028) "OCSP request to %s answered with status "
                      "%d: %s", name, ans.status, ans.why);
    /* how it was made, for the access log (%{cmp-ocsp}n) */
    apr_table_setn(r->notes, "cmp-ocsp", ans.made != NULL ? ans.made : "error");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    return send_der(r, "application/ocsp-response", ans.der, ans.len);
}

static int cmp_ocsp_handler(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, OCSP_HANDLER) != 0)
        return DECLINED;
    return ocsp_handler(r);
}

/* ---- URLs that are not files ----------------------------------------------
 * The handlers of this module serve no file, so the URLs SetHandler gives
 * them are not mapped to the filesystem, as mod_proxy does for its own: no
 * directory walk (a stat and an .htaccess look-up per directory level, per
 * request). What applies to them is <Location> and <If>, not <Directory>
 * or <Files>. */

#define NOT_A_FILE "cmp:"

/* The handler SetHandler names for r, as far as the <Location> sections
 * walked before translate_name say: core's own expression, evaluated as
 * core does when it sets r->handler. */
static int handler_is_ours(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *h, *err = NULL;

    if (d == NULL || d->expr_handler == NULL)
        return 0;
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    return h != NULL && err == NULL
           && (strcmp(h, CMP_HANDLER) == 0 || strcmp(h, CRL_HANDLER) == 0
               || strcmp(h, OCSP_HANDLER) == 0);
}

static int cmp_translate_name(request_rec *r)
{
    if (r->proxyreq != PROXYREQ_NONE || r->uri[0] != '/' || !handler_is_ours(r))
        return DECLINED;
    r->filename = apr_pstrcat(r->pool, NOT_A_FILE, r->uri, NULL);
    return OK;
}

static int cmp_map_to_storage(request_rec *r)
{
    if (r->filename == NULL || strncmp(r->filename, NOT_A_FILE,
                                       sizeof(NOT_A_FILE) - 1) != 0)
        return DECLINED;
    return OK;
}

static const cmp_shared_t *cmp_shared(void)
{
    cmp_srv_conf_t *c = srv_conf(ap_server_conf);

    return c->shared.db != NULL ? &c->shared : NULL;
}

static void cmp_register_hooks(apr_pool_t *p)
{
    APR_REGISTER_OPTIONAL_FN(cmp_shared);
    APR_REGISTER_OPTIONAL_FN(cmp_read_body);
    APR_REGISTER_OPTIONAL_FN(cmp_bind_log);
    ap_hook_post_config(cmp_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(cmp_child_init, NULL, NULL, APR_HOOK_FIRST);
    /* after mod_rewrite, mod_alias and their kind (their rules still apply
     * to these URLs), before core's mapping to the DocumentRoot */
    ap_hook_translate_name(cmp_translate_name, NULL, NULL, APR_HOOK_LAST);
    ap_hook_map_to_storage(cmp_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(cmp_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(cmp_crl_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(cmp_ocsp_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(cmp) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_srv_conf,
    NULL,
    cmp_cmds,
    cmp_register_hooks,
    AP_MODULE_FLAG_NONE
};
