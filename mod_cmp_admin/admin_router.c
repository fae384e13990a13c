/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "cmp_log.h"
#include "cmp_profile.h"

char *admin_crl_pem(apr_pool_t *p, const unsigned char *der, size_t len)
{
    const unsigned char *q = der;
    X509_CRL *crl = der != NULL ? d2i_X509_CRL(NULL, &q, (long)len) : NULL;
    BIO *b = crl != NULL ? BIO_new(BIO_s_mem()) : NULL;
    char *data = NULL, *out = NULL;
    long n;

    if (b != NULL && PEM_write_bio_X509_CRL(b, crl)
            && (n = BIO_get_mem_data(b, &data)) > 0)
        out = apr_pstrndup(p, data, (apr_size_t)n);
    BIO_free(b);
    X509_CRL_free(crl);
    return out;
}

const char *admin_time_text(apr_pool_t *p, time_t t)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, apr_time_from_sec(t));
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900,
                        x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

static void openapi(admin_req_t *rq, admin_resp_t *rs);

static const admin_route_t own_routes[] = {
    {ADMIN_GET, "/openapi.json", openapi, NULL, 0},
    {ADMIN_OTHER, NULL, NULL, NULL, 0}
};

static const admin_route_t *const route_sets[] = {
    admin_authority_routes, admin_ra_profile_routes, admin_cmp_profile_routes,
    admin_signing_routes, admin_certificate_routes, admin_device_routes,
    admin_approval_routes, own_routes, NULL
};

static const char *method_name(admin_method_e m)
{
    static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE",
                                        "OTHER"};

    return names[m];
}

const char *const *admin_route_list(void)
{
    static const char *list[128];
    static char buf[128][96];
    int n = 0, i, j;

    if (list[0] != NULL)
        return list;
    for (i = 0; route_sets[i] != NULL; i++)
        for (j = 0; route_sets[i][j].pattern != NULL && n < 127; j++, n++) {
            snprintf(buf[n], sizeof(buf[n]), "%s %s",
                     method_name(route_sets[i][j].method),
                     route_sets[i][j].pattern);
            list[n] = buf[n];
        }
    list[n] = NULL;
    return list;
}

int admin_is_resource(const char *seg, apr_size_t len)
{
    int i, j;

    for (i = 0; route_sets[i] != NULL; i++)
        for (j = 0; route_sets[i][j].pattern != NULL; j++) {
            const char *pat = route_sets[i][j].pattern + 1;
            const char *end = strchr(pat, '/');
            apr_size_t n = end != NULL ? (apr_size_t)(end - pat) : strlen(pat);

            if (n == len && strncmp(pat, seg, len) == 0)
                return 1;
        }
    return 0;
}

/* ---- responses ----------------------------------------------------------- */

void admin_json(admin_req_t *rq, admin_resp_t *rs, int status, json_t *body)
{
    rs->status = status;
    rs->body = cmp_json_own(rq->p, body);
}

void admin_no_content(admin_resp_t *rs)
{
    rs->status = 204;
    rs->body = NULL;
}

void admin_error(admin_req_t *rq, admin_resp_t *rs, int status,
                 const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(rq->p, fmt, ap);
    va_end(ap);
    rs->status = status;
    rs->body = cmp_json_message(rq->p, msg);
    rs->location = NULL;
}

void admin_invalid(admin_req_t *rq, admin_resp_t *rs, json_t *messages)
{
    rs->status = 422;
    rs->body = cmp_json_own(rq->p, messages);
}

/* ---- helpers ------------------------------------------------------------- */

const char *admin_seg(const admin_req_t *rq, int i)
{
    return i < rq->seg->nelts ? APR_ARRAY_IDX(rq->seg, i, const char *) : "";
}

apr_array_header_t *admin_path_segments(apr_pool_t *p, const char *path)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(const char *));
    char *copy = apr_pstrdup(p, path), *seg, *save = NULL;

    for (seg = apr_strtok(copy, "/", &save); seg != NULL;
         seg = apr_strtok(NULL, "/", &save))
        APR_ARRAY_PUSH(a, const char *) = seg;
    return a;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* %XX and + decoded in place; 0 when an escape is malformed or decodes to
 * a NUL (which no value of ours holds). */
static int unescape(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
            continue;
        }
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2])
                || (s[1] == '0' && s[2] == '0'))
            return 0;
        *o++ = (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]));
        s += 2;
    }
    *o = '\0';
    return 1;
}

apr_table_t *admin_query_args(apr_pool_t *p, const char *args, const char **bad)
{
    apr_table_t *t = apr_table_make(p, 8);
    char *copy = apr_pstrdup(p, args != NULL ? args : ""), *pair, *save = NULL;

    *bad = NULL;
    for (pair = apr_strtok(copy, "&", &save); pair != NULL;
         pair = apr_strtok(NULL, "&", &save)) {
        char *eq = strchr(pair, '='), *value = eq != NULL ? eq + 1 : apr_pstrdup(p, "");

        if (eq != NULL)
            *eq = '\0';
        if (!unescape(pair) || !unescape(value)) {
            *bad = pair;
            return NULL;
        }
        /* added, not set: the route refuses an argument given twice */
        apr_table_add(t, pair, value);
    }
    return t;
}

int admin_is_uuid(const char *s)
{
    int i;

    if (strlen(s) != 36)
        return 0;
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* A date (YYYY-MM-DD, midnight UTC) or an RFC 3339 date-time with its
 * offset ("2027-01-31T12:00:00Z", "...+02:00", fractions allowed), for the
 * database as it is; 0 for anything else, PostgreSQL's words such as
 * "tomorrow" included, and for a day the month does not have. */
int admin_is_rfc3339_time(const char *s)
{
    return admin_is_rfc3339(s) && strchr(s, 'T') != NULL;
}

int admin_is_rfc3339(const char *s)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, oh, om;
    struct tm tm;
    time_t t;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10
            || strspn(s, "0123456789") != 4)
        return 0;
    s += n;
    if (*s != '\0') {
        if ((*s != 'T' && *s != 't') || sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3
                || n != 8 || h > 23 || mi > 59 || sec > 60)
            return 0;
        s += 1 + n;
        if (*s == '.' && strspn(s + 1, "0123456789") > 0)
            s += 1 + strspn(s + 1, "0123456789");
        if (*s == 'Z' || *s == 'z')
            s++;
        else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2
                 && n == 5 && oh < 24 && om < 60)
            s += 1 + n;
        else
            return 0;
        if (*s != '\0')
            return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    t = timegm(&tm);
    return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && t != (time_t)-1
           && tm.tm_mday == d && tm.tm_mon == mo - 1;
}

/* A whole-number query argument in lo..hi (dflt when absent); non-zero
 * when it set a 400 that names it. */
int admin_query_int(admin_req_t *rq, admin_resp_t *rs, const char *name,
                    long long dflt, long long lo, long long hi, long long *out)
{
    const char *v = apr_table_get(rq->query, name);
    char *end;

    *out = dflt;
    if (v == NULL)
        return 0;
    *out = strtoll(v, &end, 10);
    if (*v != '\0' && *end == '\0' && *out >= lo && *out <= hi)
        return 0;
    admin_error(rq, rs, 400, "%s must be a whole number %" APR_INT64_T_FMT "..%"
                APR_INT64_T_FMT, name, (apr_int64_t)lo, (apr_int64_t)hi);
    return 1;
}

/* A CSV field (RFC 4180), with a leading = + - @ or control character made
 * text (a spreadsheet would run it: subjects come from CMP requests). */
void admin_csv_field(apr_pool_t *p, struct iovec *out, const char *v, int last)
{
    const char *lead = strchr("=+-@\t\r", *v) != NULL && *v != '\0' ? "'" : "";
    char *q = apr_palloc(p, 2 * strlen(v) + 5), *w = q;

    *w++ = '"';
    for (; *lead; lead++)
        *w++ = *lead;
    for (; *v; v++) {
        if (*v == '"')
            *w++ = '"';
        *w++ = *v;
    }
    *w++ = '"';
    *w++ = last ? '\n' : ',';
    out->iov_base = q;
    out->iov_len = (size_t)(w - q);
}

apr_array_header_t *admin_csv_parse(apr_pool_t *p, const char *text,
                                    apr_size_t len, const char **why)
{
    apr_array_header_t *recs = apr_array_make(p, 64, sizeof(apr_array_header_t *));
    apr_array_header_t *rec = NULL;
    char *field = apr_palloc(p, len + 1), *f = field;
    apr_size_t i = 0;
    int line = 1, quoted = 0, after_quote = 0, empty = 1;

    while (i <= len) {
        char c = i < len ? text[i] : '\n';
        int end = i == len;

        if (!end && c == '\0') {
            *why = apr_psprintf(p, "line %d: a NUL character", line);
            return NULL;
        }
        if (quoted) {
            if (end) {
                *why = apr_psprintf(p, "line %d: a quoted field is not closed",
                                    line);
                return NULL;
            }
            if (c == '"' && i + 1 < len && text[i + 1] == '"') {
                *f++ = '"';
                i += 2;
                continue;
            }
            if (c == '"') {
                quoted = 0;
                after_quote = 1;
            } else {
                if (c == '\n')
                    line++;
                *f++ = c;
            }
            i++;
            continue;
        }
        if (c == '"' && f == field && !after_quote) {
            quoted = 1;
            empty = 0;
            i++;
            continue;
        }
        if (c == '\r' && i + 1 < len && text[i + 1] == '\n') {
            i++;
            continue;
        }
        if (c == ',' || c == '\n') {
            if (rec == NULL)
                rec = apr_array_make(p, 8, sizeof(const char *));
            APR_ARRAY_PUSH(rec, const char *) = apr_pstrndup(p, field,
                                                             (apr_size_t)(f - field));
            f = field;
            after_quote = 0;
            if (c == ',')
                empty = 0;
            if (c == '\n') {
                /* an empty line is no record */
                if (!(empty && rec->nelts == 1 && *APR_ARRAY_IDX(rec, 0, const char *) == '\0'))
                    APR_ARRAY_PUSH(recs, apr_array_header_t *) = rec;
                rec = NULL;
                empty = 1;
                line++;
            }
            i++;
            continue;
        }
        if (after_quote) {
            *why = apr_psprintf(p, "line %d: text after a closing quote", line);
            return NULL;
        }
        *f++ = c;
        empty = 0;
        i++;
    }
    return recs;
}

int admin_need_object(admin_req_t *rq, admin_resp_t *rs)
{
    if (rq->body != NULL && json_is_object(rq->body))
        return 0;
    admin_error(rq, rs, 400, "the request body must be a JSON object");
    return 1;
}

int admin_type_error(admin_req_t *rq, admin_resp_t *rs, int got,
                     const char *field, const char *type)
{
    if (got >= 0)
        return 0;
    admin_error(rq, rs, 400, "field '%s' must be %s", field, type);
    return 1;
}

int admin_sql(admin_req_t *rq, admin_resp_t *rs, const char *sql, int n,
              const char *const *vals, const int *lens, PGresult **res)
{
    const char *state = NULL;
    apr_status_t rv = cmp_db_query(rq->p, rq->conn, sql, n, vals, lens, res,
                                   &state);

    if (rv == APR_SUCCESS)
        return 0;
    if (state != NULL && strcmp(state, "23505") == 0)
        admin_error(rq, rs, 409, "an object with this name already exists");
    else if (state != NULL && strcmp(state, "23503") == 0)
        admin_error(rq, rs, 422, "the object is still referenced by others");
    else if (state != NULL && (strncmp(state, "22", 2) == 0
                               || strncmp(state, "23", 2) == 0))
        admin_error(rq, rs, 422, "a value is out of range or not allowed");
    else if (rv == APR_ECONNRESET)
        admin_error(rq, rs, 503, "the database is unavailable");
    else
        admin_error(rq, rs, 500, "internal server error");
    return 1;
}

int admin_sql_json(admin_req_t *rq, admin_resp_t *rs, const char *sql, int n,
                   const char *const *vals, json_t **out)
{
    PGresult *r;
    const char *why = NULL;

    *out = NULL;
    if (admin_sql(rq, rs, sql, n, vals, NULL, &r))
        return 1;
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0))
        return 0;
    if (cmp_json_parse(rq->p, PQgetvalue(r, 0, 0),
                       strlen(PQgetvalue(r, 0, 0)), out, &why) != APR_SUCCESS) {
        admin_error(rq, rs, 500, "internal server error");
        return 1;
    }
    return 0;
}

int admin_only(admin_req_t *rq, admin_resp_t *rs, json_t *list,
               const char *what, const char *uuid, json_t **out)
{
    *out = NULL;
    if (json_array_size(list) == 1)
        *out = cmp_json_own(rq->p, json_incref(json_array_get(list, 0)));
    json_decref(list);
    if (*out != NULL)
        return 0;
    admin_error(rq, rs, 404, "%s %s not found", what, uuid);
    return 1;
}

char *admin_pem_of(apr_pool_t *p, const unsigned char *der, size_t len)
{
    STACK_OF(X509) *certs = cmp_profile_certs(der, len);
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;
    int i;

    if (b == NULL || certs == NULL) {
        BIO_free(b);
        sk_X509_pop_free(certs, X509_free);
        return apr_pstrdup(p, "");
    }
    for (i = 0; i < sk_X509_num(certs); i++)
        PEM_write_bio_X509(b, sk_X509_value(certs, i));
    sk_X509_pop_free(certs, X509_free);
    n = BIO_get_mem_data(b, &data);
    out = apr_pstrndup(p, n > 0 ? data : "", n > 0 ? (apr_size_t)n : 0);
    BIO_free(b);
    return out;
}

static void openapi(admin_req_t *rq, admin_resp_t *rs)
{
    json_t *doc = NULL;
    const char *why = NULL;

    if (cmp_json_parse(rq->p, admin_openapi_json, strlen(admin_openapi_json),
                       &doc, &why) != APR_SUCCESS) {
        admin_error(rq, rs, 500, "the OpenAPI document does not parse");
        return;
    }
    rs->status = 200;
    rs->body = json_incref(doc);
    cmp_json_own(rq->p, rs->body);
}

/* ---- dispatch ------------------------------------------------------------ */

static int matches(const admin_req_t *rq, const char *pattern)
{
    const char *p = pattern;
    int i = 0;

    while (*p == '/') {
        const char *end = strchr(p + 1, '/');
        size_t n = end != NULL ? (size_t)(end - p - 1) : strlen(p + 1);
        const char *seg = admin_seg(rq, i);

        if (i >= rq->seg->nelts)
            return 0;
        if (strncmp(p + 1, "{uuid}", n) == 0 && n == 6) {
            if (!admin_is_uuid(seg))
                return 0;
        } else if (p[1] == '{') {
            if (*seg == '\0')
                return 0;
        } else if (strlen(seg) != n || strncmp(seg, p + 1, n) != 0) {
            return 0;
        }
        i++;
        if (end == NULL)
            break;
        p = end;
    }
    return i == rq->seg->nelts;
}

/* The route of the request; NULL with *allow, the methods the path has
 * ("GET, POST"; NULL: no such path), when it has none for this method. */
static const admin_route_t *find_route(const admin_req_t *rq, const char **allow)
{
    int i, j;

    *allow = NULL;
    for (i = 0; route_sets[i] != NULL; i++)
        for (j = 0; route_sets[i][j].pattern != NULL; j++) {
            const admin_route_t *rt = &route_sets[i][j];

            if (!matches(rq, rt->pattern))
                continue;
            if (rt->method == rq->method)
                return rt;
            *allow = *allow == NULL ? method_name(rt->method)
                                    : apr_pstrcat(rq->p, *allow, ", ",
                                                  method_name(rt->method), NULL);
        }
    return NULL;
}

static int tx(admin_req_t *rq, const char *sql)
{
    PGresult *r;

    return cmp_db_query(rq->p, rq->conn, sql, 0, NULL, NULL, &r, NULL)
           == APR_SUCCESS;
}

/* The audit event of a change; inside the change's transaction, so that a
 * change that cannot be audited is not made either. */
static apr_status_t audit(admin_req_t *rq, const admin_route_t *rt, int status,
                          const char *result)
{
    PGresult *r;
    const char *vals[8], *colon;
    apr_status_t rv;

    vals[0] = rq->actor;
    vals[1] = apr_pstrcat(rq->p, method_name(rt->method), " ", rt->pattern, NULL);
    vals[2] = rq->audit_object != NULL ? rq->audit_object : rq->path;
    vals[3] = result;
    vals[4] = apr_psprintf(rq->p, "HTTP %d", status);
    vals[5] = rq->audit_name;
    /* "kind:uuid": the object's name, and a certificate's id (its history) */
    colon = strchr(vals[2], ':');
    vals[6] = colon != NULL ? apr_pstrndup(rq->p, vals[2], (apr_size_t)(colon - vals[2])) : "";
    vals[7] = colon != NULL && admin_is_uuid(colon + 1) ? colon + 1 : NULL;
    rv = cmp_db_query(rq->p, rq->conn, "INSERT INTO audit_event (actor, action, "
                      "object, result, details, object_name, certificate_id) "
                      "VALUES ($1, $2, $3, $4, $5, coalesce($6, CASE $7 WHEN "
                      "'cmpProfile' THEN (SELECT name FROM cmp_profile WHERE uuid = "
                      "$8::uuid) WHEN 'raProfile' THEN (SELECT name FROM ra_profile "
                      "WHERE uuid = $8::uuid) WHEN 'authority' THEN (SELECT name FROM "
                      "authority WHERE uuid = $8::uuid) WHEN 'certificate' THEN (SELECT "
                      CMP_STORE_CERT_NAME("c") " FROM certificate c WHERE "
                      "c.uuid = $8::uuid) END, ''), CASE WHEN $7 = 'certificate' THEN "
                      "(SELECT id FROM certificate WHERE uuid = $8::uuid) END)",
                      8, vals, NULL, &r, NULL);
    if (rv != APR_SUCCESS)
        cmp_log(CMP_LOG_ERR, CMPLOGNO(10501) "cannot write the audit event of "
                "%s %s by %s", vals[1], vals[2], rq->actor);
    return rv;
}

static const char *result_text(admin_req_t *rq, const admin_resp_t *rs)
{
    const char *msg = NULL;

    if (rs->status < 400)
        return "ok";
    if (rs->body != NULL && cmp_json_str(rs->body, "message", &msg) == 1)
        return msg;
    if (rs->body != NULL && json_is_array(rs->body)) {
        apr_size_t n;

        return cmp_json_text(rq->p, rs->body, &n);
    }
    return "error";
}

/* A query argument the route does not take, or one given twice, is a 400
 * that names it: never silently ignored. */
static int bad_query(admin_req_t *rq, admin_resp_t *rs, const admin_route_t *rt)
{
    const apr_array_header_t *a = apr_table_elts(rq->query);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    int i, j;

    for (i = 0; i < a->nelts; i++) {
        const char *key = e[i].key;

        if (rt->query == NULL || strchr(key, ' ') != NULL || *key == '\0'
                || strstr(rt->query, apr_pstrcat(rq->p, " ", key, " ", NULL)) == NULL) {
            if (rt->query == NULL)
                admin_error(rq, rs, 400, "unknown query argument '%s': %s takes none",
                            key, rq->path);
            else
                admin_error(rq, rs, 400, "unknown query argument '%s': %s takes%s",
                            key, rq->path, apr_pstrndup(rq->p, rt->query,
                                                        strlen(rt->query) - 1));
            return 1;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(e[j].key, key) == 0) {
                admin_error(rq, rs, 400, "query argument '%s' given more than once", key);
                return 1;
            }
        }
    }
    return 0;
}

void admin_dispatch(admin_req_t *rq, admin_resp_t *rs)
{
    const admin_route_t *rt;
    const char *allow = NULL;

    memset(rs, 0, sizeof(*rs));
    rs->status = 500;
    rt = find_route(rq, &allow);
    if (rt == NULL) {
        if (allow != NULL) {
            admin_error(rq, rs, 405, "method not allowed on %s (it takes %s)",
                        rq->path, allow);
            rs->allow = allow;
        } else {
            admin_error(rq, rs, 404, "no such resource: %s", rq->path);
        }
        return;
    }
    if (bad_query(rq, rs, rt))
        return;
    if (rq->text != NULL && !rt->takes_csv) {
        admin_error(rq, rs, 415, "the body must be application/json");
        return;
    }
    if (rt->method == ADMIN_GET) {
        rt->fn(rq, rs);
        return;
    }
    /* A change and its audit event commit together, or neither does. */
    if (!tx(rq, "BEGIN")) {
        admin_error(rq, rs, 503, "the database is unavailable");
        return;
    }
    rt->fn(rq, rs);
    if (rs->status >= 400) {
        tx(rq, "ROLLBACK");
        /* nothing changed: a refusal that cannot be audited is only logged */
        audit(rq, rt, rs->status, result_text(rq, rs));
        return;
    }
    if (audit(rq, rt, rs->status, "ok") != APR_SUCCESS) {
        tx(rq, "ROLLBACK");
        admin_error(rq, rs, 503, "the change was not made: its audit event "
                    "cannot be written");
        return;
    }
    if (cmp_db_commit(rq->p, rq->conn) != APR_SUCCESS) {
        tx(rq, "ROLLBACK");
        admin_error(rq, rs, 503, "the change could not be committed");
    }
}
