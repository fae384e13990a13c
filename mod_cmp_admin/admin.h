/* SPDX-License-Identifier: Apache-2.0 */
/* The Core CMP API: REST resources over JSON, free of httpd. The glue
 * (mod_cmp_admin.c) authenticates, reads the body and hands an admin_req_t
 * to admin_dispatch(); the answer comes back as an admin_resp_t. */
#ifndef ADMIN_H
#define ADMIN_H

#include <time.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <sys/uio.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/x509.h>

#include "cmp_db.h"
#include "cmp_json.h"
#include "cmp_secret.h"

typedef enum {
    ADMIN_GET, ADMIN_POST, ADMIN_PUT, ADMIN_PATCH, ADMIN_DELETE, ADMIN_OTHER
} admin_method_e;

typedef struct {
    apr_pool_t *p;
    PGconn *conn;
    const cmp_secret_key_t *key;
    const char *actor;               /* who is authenticated */
    admin_method_e method;
    const char *path;                /* below /api/v1, e.g. /cmpProfiles/{uuid} */
    apr_array_header_t *seg;         /* its segments */
    apr_table_t *query;              /* decoded query arguments */
    json_t *body;                    /* parsed JSON body, or NULL */
    const char *text;                /* a text/csv body (routes that take
                                      * one), or NULL */
    apr_size_t text_len;
    const char *cmp_base;            /* scheme://host[:port] for cmpUrl */
    /* filled by the resource for the audit log: "kind:uuid"; the object's
     * name is read with the event, or given (audit_name) when the change
     * removed it */
    const char *audit_object;
    const char *audit_name;
} admin_req_t;

typedef struct {
    int status;
    json_t *body;                    /* owned by the request pool; NULL = none */
    const char *location;            /* below the API's root: "/cmpProfiles/<uuid>" */
    const char *allow;               /* a 405's Allow header: the path's methods */
    /* a body that is not JSON (an export), from the request pool */
    const char *content_type;
    const char *raw;
    apr_size_t raw_len;
} admin_resp_t;

/* The route the request names is run; every change, in one transaction with
 * its audit event. Never fails: errors are statuses with JSON bodies. */
void admin_dispatch(admin_req_t *rq, admin_resp_t *rs);

/* The segments of a path below the API prefix ("/a/b" -> "a", "b"). */
apr_array_header_t *admin_path_segments(apr_pool_t *p, const char *path);

/* Whether a path's first segment is one of the API's top-level resources
 * ("cmpProfiles", "authorities", "openapi.json", ...). */
int admin_is_resource(const char *seg, apr_size_t len);

/* The arguments of a query string, URL-decoded; NULL when one is not
 * (a malformed escape, or %00), *bad naming it. */
apr_table_t *admin_query_args(apr_pool_t *p, const char *args, const char **bad);

/* The routes, for the OpenAPI check: "GET /cmpProfiles/{uuid}" ... */
const char *const *admin_route_list(void);

/* The OpenAPI document (mod_cmp_admin/openapi.json, compiled in). */
extern const char admin_openapi_json[];

/* ---- for the resources ----
 *
 * One error convention: a handler (admin_handler_fn) always sets rs. A
 * helper that takes rs returns 0 when it did its part and left rs alone,
 * and non-zero when it set rs (the request is answered: the caller returns
 * at once). Helpers without rs are predicates (admin_is_uuid,
 * admin_signer_usable: 1 for yes) or return what they made (NULL: none). */

typedef void admin_handler_fn(admin_req_t *rq, admin_resp_t *rs);

void admin_error(admin_req_t *rq, admin_resp_t *rs, int status,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 422 with a JSON list of messages (CZERTAINLY's ValidationException). */
void admin_invalid(admin_req_t *rq, admin_resp_t *rs, json_t *messages);
/* body is a new reference that the response takes over (json_incref what
 * belongs to someone else, e.g. what admin_sql_json() returned). */
void admin_json(admin_req_t *rq, admin_resp_t *rs, int status, json_t *body);
void admin_no_content(admin_resp_t *rs);

const char *admin_seg(const admin_req_t *rq, int i);
int admin_is_uuid(const char *s);
/* SQL: the text of parameter n (e.g. "$1") as a LIKE pattern that matches
 * it as it is (its wildcards escaped). */
#define ADMIN_SQL_LIKE_TEXT(n) \
    "replace(replace(replace(" n ", '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
/* SQL: column col holds the text of parameter n, case-insensitively. */
#define ADMIN_SQL_CONTAINS(col, n) col " ILIKE '%' || " ADMIN_SQL_LIKE_TEXT(n) " || '%'"

/* A date (YYYY-MM-DD) or an RFC 3339 date-time with its offset, as the API
 * takes them (never PostgreSQL's own words such as "tomorrow"). */
int admin_is_rfc3339(const char *s);
/* The same, a date-time only (never a bare date). */
int admin_is_rfc3339_time(const char *s);

/* Run SQL; on failure set the response (500/503, or the mapped constraint
 * error) and return non-zero. */
int admin_sql(admin_req_t *rq, admin_resp_t *rs, const char *sql, int n,
              const char *const *vals, const int *lens, PGresult **res);
/* A query returning one json column in one row (or none: *out = NULL).
 * *out belongs to the request pool: borrow it, do not json_decref it. */
int admin_sql_json(admin_req_t *rq, admin_resp_t *rs, const char *sql, int n,
                   const char *const *vals, json_t **out);

/* A certificate one of our CAs issued to someone (a CMP signer) is a row
 * of the inventory, valid, like those issued over CMP, its history begun by
 * the administrator's action ("admin.<what>"); non-zero when it set the
 * response. */
int admin_store_issued(admin_req_t *rq, admin_resp_t *rs, X509 *cert,
                       long long authority_id, int generation,
                       const char *action);

/* The one object of list (a new reference, taken over) in *out, owned by
 * the request pool; non-zero when there is not exactly one and it set a
 * 404 naming what and uuid. */
int admin_only(admin_req_t *rq, admin_resp_t *rs, json_t *list,
               const char *what, const char *uuid, json_t **out);

/* PEM text of DER certificates (concatenated). */
char *admin_pem_of(apr_pool_t *p, const unsigned char *der, size_t len);
/* A CRL (DER) in PEM, from p; NULL when it does not decode. */
char *admin_crl_pem(apr_pool_t *p, const unsigned char *der, size_t len);
/* RFC 3339 UTC text of a time, from p. */
const char *admin_time_text(apr_pool_t *p, time_t t);

/* A whole-number query argument in lo..hi (dflt when absent); non-zero
 * when it set a 400 that names it. */
int admin_query_int(admin_req_t *rq, admin_resp_t *rs, const char *name,
                    long long dflt, long long lo, long long hi, long long *out);

/* CSV (RFC 4180), the one form of the API's exports and imports. */
/* A field of an export into out (quoted; followed by ',' or, when last,
 * '\n'), with a leading = + - @ or control character made text (a
 * spreadsheet would run it). */
void admin_csv_field(apr_pool_t *p, struct iovec *out, const char *v, int last);
/* The records of an import: an array of records, each an array of fields
 * (const char *), from p; quoted fields may hold commas, quotes ("") and
 * line breaks; CRLF or LF ends a record; empty lines are skipped. NULL with
 * *why (naming the line) when a quote is not closed, a field has a NUL, or
 * text follows a closing quote. */
apr_array_header_t *admin_csv_parse(apr_pool_t *p, const char *text,
                                    apr_size_t len, const char **why);

/* Requires the body to be a JSON object (400 otherwise). */
int admin_need_object(admin_req_t *rq, admin_resp_t *rs);
/* 400 for a field of the wrong type; returns non-zero when it set rs. */
int admin_type_error(admin_req_t *rq, admin_resp_t *rs, int got,
                     const char *field, const char *type);

typedef struct {
    admin_method_e method;
    const char *pattern;             /* literal segments and {param}s */
    admin_handler_fn *fn;
    const char *query;               /* the query arguments it takes, each
                                      * between spaces: " limit offset ";
                                      * NULL: none (any other is a 400) */
    int takes_csv;                   /* the body may be text/csv */
} admin_route_t;

/* Each resource file's routes, ended by a {.pattern = NULL} entry. */
extern const admin_route_t admin_authority_routes[];
extern const admin_route_t admin_ra_profile_routes[];
extern const admin_route_t admin_cmp_profile_routes[];
extern const admin_route_t admin_signing_routes[];
extern const admin_route_t admin_certificate_routes[];
extern const admin_route_t admin_device_routes[];
extern const admin_route_t admin_approval_routes[];

#endif
