/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <time.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <apr_thread_mutex.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "cmp_issue.h"
#include "cmp_log.h"
#include "cmp_ocsp.h"

/* the Authority, and its delegated signer when it has one (stamped by its
 * creation, so that a rotation is seen); SQL_RETIRED its retired keys,
 * which answer for the certificates they issued */
#define SQL_AUTHORITY \
    "SELECT a.id, a.version, a.ca_cert, a.ca_key_enc, s.cert, s.key_enc, " \
    "coalesce(extract(epoch from s.created_at) * 1000000, 0)::bigint FROM " \
    "authority a LEFT JOIN ocsp_signer s ON s.authority_id = a.id WHERE " \
    "a.id = $1"
#define SQL_RETIRED \
    "SELECT generation, ca_cert, ca_key_enc FROM authority_key WHERE " \
    "authority_id = $1 AND state = 'retired' ORDER BY generation"

/* columns of CMP_OCSP_SQL_LOOKUP */
enum { L_AUTH_ID, L_AUTH_VERSION, L_SIGNER_STAMP, L_VALIDITY, L_CERT_ID,
       L_SERIAL, L_STATUS, L_REVOKED_AT, L_REASON, L_STATE, L_SIGNER, L_DER,
       L_REFRESH, L_NEXT, L_CHANGES, L_INVALIDITY, L_GENERATION, L_KEY_GEN };

/* The longest base64 a GET may carry: a request of the most single
 * requests with long serials fits. */
#define GET_MAX_CHARS (16 * 1024)

/* A retired key of an Authority (cmp_rollover.h), which signs the answers
 * about the certificates it issued itself. */
typedef struct {
    int generation;
    X509 *cert;
    EVP_PKEY *key;
} retired_key_t;

/* An Authority as the responder keeps it. */
typedef struct ca_entry_t {
    struct ca_entry_t *next;
    char *name;
    long long id, version, signer_stamp;
    X509 *cert;
    EVP_PKEY *key;
    X509 *signer;                /* the delegated signer, or NULL */
    EVP_PKEY *signer_key;
    retired_key_t *retired;      /* malloc'd, nretired of them */
    int nretired;
} ca_entry_t;

/* What one answer uses of an entry (references the caller frees). */
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    X509 *signer;
    EVP_PKEY *signer_key;
    retired_key_t *retired;
    int nretired;
} ca_refs_t;

static void retired_free(retired_key_t *r, int n)
{
    int i;

    for (i = 0; r != NULL && i < n; i++) {
        X509_free(r[i].cert);
        EVP_PKEY_free(r[i].key);
    }
    free(r);
}

static void refs_free(ca_refs_t *r)
{
    X509_free(r->cert);
    EVP_PKEY_free(r->key);
    X509_free(r->signer);
    EVP_PKEY_free(r->signer_key);
    retired_free(r->retired, r->nretired);
    memset(r, 0, sizeof(*r));
}

/* (refs is empty; a failure leaves it without the retired keys, which then
 * answer "unauthorized") */
static void refs_take(ca_refs_t *r, const ca_entry_t *e)
{
    int i;

    X509_up_ref(e->cert);
    EVP_PKEY_up_ref(e->key);
    r->cert = e->cert;
    r->key = e->key;
    if (e->signer != NULL) {
        X509_up_ref(e->signer);
        EVP_PKEY_up_ref(e->signer_key);
        r->signer = e->signer;
        r->signer_key = e->signer_key;
    }
    if (e->nretired > 0
            && (r->retired = calloc((size_t)e->nretired, sizeof(*r->retired))) != NULL) {
        for (i = 0; i < e->nretired; i++) {
            r->retired[i] = e->retired[i];
            X509_up_ref(r->retired[i].cert);
            EVP_PKEY_up_ref(r->retired[i].key);
        }
        r->nretired = e->nretired;
    }
}

typedef struct cmp_ocsp_view_t cmp_ocsp_view_t;

typedef struct {
    unsigned char *der;
    size_t len;
    time_t refresh, next;
    int good;
} mem_answer_t;

struct cmp_ocsp_view_t {
    cmp_ocsp_view_t *next;
    char *name;
    apr_pool_t *pool;           /* unmanaged: the answers */
    apr_hash_t *answers;
    long long version, stamp, changes;
    apr_time_t checked;         /* when the database said so (asked) */
};

struct cmp_ocsp_t {
    cmp_db_t *db;
    const cmp_secret_key_t *key;
    apr_thread_mutex_t *lock;    /* cas and views */
    ca_entry_t *cas;
    cmp_ocsp_view_t *views;
};

static void entry_free(ca_entry_t *e)
{
    retired_free(e->retired, e->nretired);
    X509_free(e->cert);
    EVP_PKEY_free(e->key);
    X509_free(e->signer);
    EVP_PKEY_free(e->signer_key);
    free(e->name);
    free(e);
}

static apr_status_t responder_cleanup(void *data)
{
    cmp_ocsp_t *o = data;

    while (o->cas != NULL) {
        ca_entry_t *next = o->cas->next;

        entry_free(o->cas);
        o->cas = next;
    }
    while (o->views != NULL) {
        cmp_ocsp_view_t *next = o->views->next;

        apr_pool_destroy(o->views->pool);
        free(o->views->name);
        free(o->views);
        o->views = next;
    }
    return APR_SUCCESS;
}

apr_status_t cmp_ocsp_create(apr_pool_t *p, cmp_db_t *db,
                             const cmp_secret_key_t *key, cmp_ocsp_t **out)
{
    cmp_ocsp_t *o = apr_pcalloc(p, sizeof(*o));
    apr_status_t rv = apr_thread_mutex_create(&o->lock, APR_THREAD_MUTEX_DEFAULT, p);

    if (rv != APR_SUCCESS)
        return rv;
    o->db = db;
    o->key = key;
    apr_pool_cleanup_register(p, o, responder_cleanup, apr_pool_cleanup_null);
    *out = o;
    return APR_SUCCESS;
}

static const char *num(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

/* The retired keys of e's Authority (their CRL job checks them too). */
static apr_status_t load_retired(cmp_ocsp_t *o, apr_pool_t *p, PGconn *c,
                                 ca_entry_t *e, const char **why)
{
    const char *vals[1] = {num(p, e->id)};
    const unsigned char *b;
    PGresult *r;
    size_t n;
    int i, rows;
    apr_status_t rv = cmp_db_query(p, c, SQL_RETIRED, 1, vals, NULL, &r, NULL);

    if (rv != APR_SUCCESS) {
        *why = "the database cannot be used";
        return rv;
    }
    if ((rows = PQntuples(r)) == 0)
        return APR_SUCCESS;
    if ((e->retired = calloc((size_t)rows, sizeof(*e->retired))) == NULL) {
        *why = "out of memory";
        return APR_ENOMEM;
    }
    for (i = 0; i < rows; i++) {
        retired_key_t *k = &e->retired[e->nretired++];

        k->generation = (int)cmp_db_ll(r, i, 0);
        b = cmp_db_bytea(p, r, i, 1, &n);
        k->cert = b != NULL ? d2i_X509(NULL, &b, (long)n) : NULL;
        b = cmp_db_bytea(p, r, i, 2, &n);
        k->key = cmp_secret_unseal_key(o->key, CMP_LABEL_CA_KEY, b, n);
        if (k->cert == NULL || k->key == NULL || !X509_check_private_key(k->cert, k->key)) {
            *why = "a retired key of the Authority does not decode, decrypt or match";
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* The Authority's certificate and key, and its delegated signer's
 * (references in *refs), from the cache while its version and signer stamp
 * are those the lookup found; else from the database. */
static apr_status_t load_ca(cmp_ocsp_t *o, apr_pool_t *p, PGconn *c,
                            const char *name, long long id, long long version,
                            long long stamp, ca_refs_t *refs, const char **why)
{
    const char *vals[1];
    PGresult *r;
    ca_entry_t *e, **pe;
    const unsigned char *b;
    size_t n;
    apr_status_t rv;

    refs_free(refs);
    apr_thread_mutex_lock(o->lock);
    for (e = o->cas; e != NULL; e = e->next)
        if (e->id == id && e->version == version && e->signer_stamp == stamp) {
            refs_take(refs, e);
            break;
        }
    apr_thread_mutex_unlock(o->lock);
    if (refs->cert != NULL)
        return APR_SUCCESS;
    vals[0] = num(p, id);
    rv = cmp_db_query(p, c, SQL_AUTHORITY, 1, vals, NULL, &r, NULL);
    if (rv != APR_SUCCESS)
        return rv;
    if (PQntuples(r) != 1) {
        *why = "the Authority was deleted meanwhile";
        return APR_EAGAIN;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->name = strdup(name)) == NULL) {
        free(e);
        *why = "out of memory";
        return APR_ENOMEM;
    }
    e->id = cmp_db_ll(r, 0, 0);
    e->version = cmp_db_ll(r, 0, 1);
    e->signer_stamp = cmp_db_ll(r, 0, 6);
    b = cmp_db_bytea(p, r, 0, 2, &n);
    e->cert = b != NULL ? d2i_X509(NULL, &b, (long)n) : NULL;
    b = cmp_db_bytea(p, r, 0, 3, &n);
    e->key = cmp_secret_unseal_key(o->key, CMP_LABEL_CA_KEY, b, n);
    if (e->cert == NULL || e->key == NULL || !X509_check_private_key(e->cert, e->key)) {
        entry_free(e);
        *why = "the Authority's certificate or key does not decode, decrypt or match";
        return APR_EINVAL;
    }
    if (!PQgetisnull(r, 0, 4)) {
        b = cmp_db_bytea(p, r, 0, 4, &n);
        e->signer = b != NULL ? d2i_X509(NULL, &b, (long)n) : NULL;
        b = cmp_db_bytea(p, r, 0, 5, &n);
        e->signer_key = cmp_secret_unseal_key(o->key, CMP_LABEL_OCSP_KEY, b, n);
        if (e->signer == NULL || e->signer_key == NULL
                || !X509_check_private_key(e->signer, e->signer_key)) {
            entry_free(e);
            *why = "the Authority's OCSP signer does not decode, decrypt or match";
            return APR_EINVAL;
        }
    }
    if (load_retired(o, p, c, e, why) != APR_SUCCESS) {
        entry_free(e);
        return APR_EINVAL;
    }
    refs_take(refs, e);
    apr_thread_mutex_lock(o->lock);
    /* replaces the entry of an older version */
    for (pe = &o->cas; *pe != NULL; pe = &(*pe)->next)
        if ((*pe)->id == e->id) {
            ca_entry_t *old = *pe;

            e->next = old->next;
            *pe = e;
            entry_free(old);
            e = NULL;
            break;
        }
    if (e != NULL) {
        e->next = o->cas;
        o->cas = e;
    }
    apr_thread_mutex_unlock(o->lock);
    return APR_SUCCESS;
}

/* An unsigned OCSPResponse of that status into out. */
static apr_status_t error_response(apr_pool_t *p, int status, const char *why,
                                   cmp_ocsp_answer_t *out)
{
    OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
    unsigned char *der = NULL;
    int len = resp != NULL ? i2d_OCSP_RESPONSE(resp, &der) : -1;

    OCSP_RESPONSE_free(resp);
    if (len <= 0)
        return APR_ENOMEM;
    out->der = apr_pmemdup(p, der, (apr_size_t)len);
    out->len = (size_t)len;
    out->status = status;
    out->why = why;
    OPENSSL_free(der);
    return APR_SUCCESS;
}

typedef struct {
    OCSP_REQUEST *req;
    OCSP_BASICRESP *bs;
    OCSP_CERTID *ours;
    ca_refs_t ca;
    const char **serials;       /* hex, per single request */
    PGresult *found;            /* the lookup's rows */
    X509 *signer;               /* what signs: the CA's or the delegated */
    EVP_PKEY *signer_key;
    const char *signer_tag;     /* and its name in ocsp_response.signer */
    const retired_key_t *key;   /* the retired key asked about, or NULL */
    int generation;             /* of the key asked about */
} work_t;

static void work_free(work_t *w)
{
    OCSP_REQUEST_free(w->req);
    OCSP_BASICRESP_free(w->bs);
    OCSP_CERTID_free(w->ours);
    refs_free(&w->ca);
}

/* Which of our CA's keys cid names as issuer (its hash algorithm, whatever
 * it is): the current one (NULL in *key), a retired one, or none (0). */
static int our_issuer(work_t *w, OCSP_CERTID *cid, const retired_key_t **key)
{
    ASN1_OBJECT *alg = NULL;
    const EVP_MD *md;
    int i;

    *key = NULL;
    if (!OCSP_id_get0_info(NULL, &alg, NULL, NULL, cid)
            || (md = EVP_get_digestbyobj(alg)) == NULL)
        return 0;
    for (i = -1; i < w->ca.nretired; i++) {
        X509 *cert = i < 0 ? w->ca.cert : w->ca.retired[i].cert;

        OCSP_CERTID_free(w->ours);
        w->ours = OCSP_cert_to_id(md, NULL, cert);
        if (w->ours != NULL && OCSP_id_issuer_cmp(w->ours, cid) == 0) {
            *key = i < 0 ? NULL : &w->ca.retired[i];
            return 1;
        }
    }
    return 0;
}

/* The lookup's row of serial, or -1 (unknown to the Authority, or issued
 * by another of its keys than the one asked about). */
static int row_of(const work_t *w, const char *serial)
{
    int j;

    for (j = 0; j < PQntuples(w->found); j++)
        if (!PQgetisnull(w->found, j, L_SERIAL)
                && strcmp(PQgetvalue(w->found, j, L_SERIAL), serial) == 0)
            return cmp_db_ll(w->found, j, L_GENERATION) == w->generation ? j : -1;
    return -1;
}

/* The statuses of every single request, from the lookup, added to w->bs,
 * each valid from now to next. */
static int add_statuses(work_t *w, int n, time_t now, time_t next,
                        cmp_ocsp_answer_t *out)
{
    ASN1_TIME *this_upd = ASN1_TIME_set(NULL, now);
    ASN1_TIME *next_upd = ASN1_TIME_set(NULL, next);
    int i, ok = this_upd != NULL && next_upd != NULL;

    for (i = 0; ok && i < n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(w->req, i));
        int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS;
        int j = row_of(w, w->serials[i]);
        ASN1_TIME *revtime = NULL;
        OCSP_SINGLERESP *single;

        if (j >= 0) {
            const char *st = PQgetvalue(w->found, j, L_STATUS);

            if (strcmp(st, "valid") == 0)
                status = V_OCSP_CERTSTATUS_GOOD;
            else if (strcmp(st, "revoked") == 0 || strcmp(st, "rejected") == 0) {
                status = V_OCSP_CERTSTATUS_REVOKED;
                revtime = ASN1_TIME_set(NULL, (time_t)cmp_db_ll(w->found, j,
                                                                 L_REVOKED_AT));
                /* unspecified is left out, as on the CRL */
                if (cmp_db_ll(w->found, j, L_REASON) > 0)
                    reason = (int)cmp_db_ll(w->found, j, L_REASON);
                ok = revtime != NULL;
            }
        }
        out->good += status == V_OCSP_CERTSTATUS_GOOD;
        out->revoked += status == V_OCSP_CERTSTATUS_REVOKED;
        out->unknown += status == V_OCSP_CERTSTATUS_UNKNOWN;
        single = ok ? OCSP_basic_add1_status(w->bs, cid, status, reason, revtime,
                                             this_upd, next_upd) : NULL;
        ok = single != NULL;
        /* the CRL entry's invalidityDate, as a singleExtension (RFC 6960 4.4) */
        if (ok && revtime != NULL && cmp_db_ll(w->found, j, L_INVALIDITY) > 0) {
            ASN1_GENERALIZEDTIME *inv = ASN1_GENERALIZEDTIME_set(
                NULL, (time_t)cmp_db_ll(w->found, j, L_INVALIDITY));

            ok = inv != NULL && OCSP_SINGLERESP_add1_ext_i2d(
                     single, NID_invalidity_date, inv, 0, 0);
            ASN1_GENERALIZEDTIME_free(inv);
        }
        ASN1_TIME_free(revtime);
    }
    ASN1_TIME_free(this_upd);
    ASN1_TIME_free(next_upd);
    return ok;
}

typedef struct {
    const char *name;
    const char *const *vals;
    PGresult *r;
} lookup_t;

static apr_status_t lookup(apr_pool_t *p, PGconn *c, void *baton)
{
    lookup_t *l = baton;

    return cmp_db_exec(p, c, CMP_OCSP_S_LOOKUP, 2, l->vals, NULL, &l->r, NULL);
}

/* Who signs: the delegated signer while it is valid (its certificate in
 * the response, RFC 6960 4.2.2.2), else the CA. */
static void pick_signer(apr_pool_t *p, work_t *w, long long version,
                        long long stamp)
{
    if (w->key != NULL) {       /* a retired key answers for its own */
        w->signer = w->key->cert;
        w->signer_key = w->key->key;
        w->signer_tag = apr_psprintf(p, "ca:%" APR_INT64_T_FMT ":%d",
                                     (apr_int64_t)version, w->key->generation);
    } else if (w->ca.signer != NULL
            && X509_cmp_current_time(X509_get0_notBefore(w->ca.signer)) < 0
            && X509_cmp_current_time(X509_get0_notAfter(w->ca.signer)) > 0) {
        w->signer = w->ca.signer;
        w->signer_key = w->ca.signer_key;
        w->signer_tag = apr_psprintf(p, "delegated:%" APR_INT64_T_FMT,
                                     (apr_int64_t)stamp);
    } else {
        w->signer = w->ca.cert;
        w->signer_key = w->ca.key;
        w->signer_tag = apr_psprintf(p, "ca:%" APR_INT64_T_FMT,
                                     (apr_int64_t)version);
    }
}

static int sign_response(work_t *w)
{
    STACK_OF(X509) *certs = NULL;
    unsigned long flags = OCSP_NOCERTS | OCSP_RESPID_KEY;
    const EVP_MD *md;
    int ok;

    if (w->signer == w->ca.signer) {   /* delegated: its certificate goes */
        flags = OCSP_RESPID_KEY;
        if ((certs = sk_X509_new_null()) == NULL)
            return 0;
    }
    ok = cmp_issue_sign_md(w->signer_key, &md)
         && OCSP_basic_sign(w->bs, w->signer, w->signer_key, md, certs, flags);
    sk_X509_free(certs);
    return ok;
}

/* What the lookup said of the Authority, and when the answer may be made
 * anew and stops being valid (keep: a single request without nonce about a
 * certificate good or revoked, which memory may keep). */
typedef struct {
    int looked_up, keep;
    long long id, version, stamp, changes;
    time_t refresh, next;
} facts_t;

/* Keeps the response to a single request without nonce for reuse; a
 * failure costs only the reuse. */
static void keep(apr_pool_t *p, PGconn *c, const work_t *w, int row,
                 time_t now, const facts_t *f, const unsigned char *der, int len)
{
    const char *vals[7];
    int lens[7] = {0, 0, 0, 0, 0, 0, len};
    PGresult *r;

    vals[0] = PQgetvalue(w->found, row, L_CERT_ID);
    vals[1] = PQgetvalue(w->found, row, L_STATE);
    vals[2] = w->signer_tag;
    vals[3] = num(p, (long long)now);
    vals[4] = num(p, (long long)f->next);
    vals[5] = num(p, (long long)f->refresh);
    vals[6] = (const char *)der;
    (void)cmp_db_exec(p, c, CMP_OCSP_S_KEEP, 7, vals, lens, &r, NULL);
}

/* The DER of a GET request's last part (RFC 6960 A.1: the URL encoding of
 * the base64 of the DER): %2F, %2B and %3D undone (what Apache leaves
 * encoded with AllowEncodedSlashes NoDecode, or what a client encoded that
 * need not be), then base64. NULL when it is not base64. */
static unsigned char *get_der(apr_pool_t *p, const char *b64, size_t *len)
{
    char *s = apr_palloc(p, strlen(b64) + 1), *o = s;
    unsigned char *der;
    size_t n, pad = 0;
    int got;

    for (; *b64 != '\0'; b64++) {
        if (b64[0] == '%' && b64[1] != '\0' && b64[2] != '\0') {
            if (strncasecmp(b64, "%2F", 3) == 0) *o++ = '/';
            else if (strncasecmp(b64, "%2B", 3) == 0) *o++ = '+';
            else if (strncasecmp(b64, "%3D", 3) == 0) *o++ = '=';
            else return NULL;
            b64 += 2;
        } else
            *o++ = *b64;
    }
    *o = '\0';
    n = (size_t)(o - s);
    if (n == 0 || n % 4 != 0 || n > GET_MAX_CHARS)
        return NULL;
    while (pad < 2 && s[n - 1 - pad] == '=')
        pad++;
    der = apr_palloc(p, n / 4 * 3 + 1);
    got = EVP_DecodeBlock(der, (const unsigned char *)s, (int)n);
    if (got < 0 || (size_t)got < pad)
        return NULL;
    *len = (size_t)got - pad;
    return der;
}

/* Whether der is one whole DER TLV (what a request's base64 decodes to). */
static int one_tlv(const unsigned char *der, size_t len)
{
    const unsigned char *q = der;
    long n = 0;
    int tag, cls;

    return len > 0 && der[0] == 0x30
           && !(ASN1_get_object(&q, &n, &tag, &cls, (long)len) & 0x80)
           && q + n == der + len;
}

const char *cmp_ocsp_get_request(apr_pool_t *p, const char *uri,
                                 unsigned char **der, size_t *len)
{
    const char *s, *start;

    *der = (unsigned char *)"";
    *len = 0;
    if (*uri == '\0')
        return NULL;
    for (s = strchr(uri + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
        unsigned char *d = get_der(p, s + 1, len);

        if (d == NULL || !one_tlv(d, *len))
            continue;
        *der = d;
        for (start = s; start > uri && start[-1] != '/'; start--)
            ;
        return apr_pstrmemdup(p, start, (apr_size_t)(s - start));
    }
    *len = 0;
    s = strrchr(uri, '/');
    if (s == NULL || s[1] == '\0' || s == uri)
        return NULL;
    for (start = s; start > uri && start[-1] != '/'; start--)
        ;
    return apr_pstrmemdup(p, start, (apr_size_t)(s - start));
}

/* The time a certificate stops being valid. */
static time_t not_after(const X509 *x)
{
    struct tm tm;

    if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
        return 0;
    return timegm(&tm);
}

/* The answer to the parsed request from the database: the stored one when
 * it is current, else one made (and stored when it is a single request
 * without nonce about a certificate of the Authority). */
static apr_status_t from_db(cmp_ocsp_t *o, apr_pool_t *p, const char *authority,
                            work_t *w, int n, facts_t *f, cmp_ocsp_answer_t *out)
{
    const char *vals[2], *list = "{", *why = NULL, *st;
    lookup_t l = {authority, vals, NULL};
    OCSP_RESPONSE *resp = NULL;
    unsigned char *der = NULL;
    time_t now, until;
    long validity;
    PGconn *c;
    apr_status_t rv;
    int i, dlen = 0, row, reuse;

    w->serials = apr_pcalloc(p, sizeof(*w->serials) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(w->req, i));
        ASN1_INTEGER *serial = NULL;

        OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid);
        w->serials[i] = cmp_issue_serial_hex(p, serial);
        /* what our serials never are: asked for, and unknown */
        if (*w->serials[i] == '\0' || strspn(w->serials[i], "0123456789abcdef")
                                      != strlen(w->serials[i]))
            w->serials[i] = "-";
        list = apr_pstrcat(p, list, i ? "," : "", w->serials[i], NULL);
    }
    vals[0] = authority;
    vals[1] = apr_pstrcat(p, list, "}", NULL);
    rv = cmp_db_first(o->db, p, lookup, &l, &c);
    if (rv == APR_SUCCESS && PQntuples(l.r) == 0)
        return error_response(p, OCSP_RESPONSE_STATUS_UNAUTHORIZED,
                              apr_psprintf(p, "no local Authority named %s",
                                           authority), out);
    if (rv == APR_SUCCESS) {
        w->found = l.r;
        f->looked_up = 1;
        f->id = cmp_db_ll(l.r, 0, L_AUTH_ID);
        f->version = cmp_db_ll(l.r, 0, L_AUTH_VERSION);
        f->stamp = cmp_db_ll(l.r, 0, L_SIGNER_STAMP);
        f->changes = cmp_db_ll(l.r, 0, L_CHANGES);
        rv = load_ca(o, p, c, authority, f->id, f->version, f->stamp, &w->ca, &why);
    }
    if (rv != APR_SUCCESS)
        return error_response(p, rv == APR_EINVAL || rv == APR_ENOMEM
                              ? OCSP_RESPONSE_STATUS_INTERNALERROR
                              : OCSP_RESPONSE_STATUS_TRYLATER,
                              why != NULL ? why : "the database cannot be used",
                              out);
    /* one key answers a request: after a key rollover, the certificates of
     * each key are asked about in requests of their own */
    for (i = 0; i < n; i++) {
        const retired_key_t *key = NULL;

        if (!our_issuer(w, OCSP_onereq_get0_id(OCSP_request_onereq_get0(w->req, i)),
                        &key)) {
            ERR_clear_error();
            return error_response(p, OCSP_RESPONSE_STATUS_UNAUTHORIZED,
                                  apr_psprintf(p, "a certificate of another "
                                               "issuer than %s asked for",
                                               authority), out);
        }
        if (i > 0 && key != w->key)
            return error_response(p, OCSP_RESPONSE_STATUS_UNAUTHORIZED,
                                  apr_psprintf(p, "certificates of two keys of "
                                               "%s asked for in one request",
                                               authority), out);
        w->key = key;
    }
    w->generation = w->key != NULL ? w->key->generation
                                   : (int)cmp_db_ll(l.r, 0, L_KEY_GEN);
    pick_signer(p, w, f->version, f->stamp);
    /* one certificate of ours without a nonce: the response kept for it
     * while it is current, else one made and kept */
    row = n == 1 ? row_of(w, w->serials[0]) : -1;
    reuse = row >= 0 && OCSP_REQUEST_get_ext_by_NID(w->req, NID_id_pkix_OCSP_Nonce, -1) < 0;
    if (reuse) {
        st = PQgetvalue(l.r, row, L_STATUS);
        f->keep = strcmp(st, "valid") == 0 || strcmp(st, "revoked") == 0
                  || strcmp(st, "rejected") == 0;
    }
    if (reuse && !PQgetisnull(l.r, row, L_DER)
            && strcmp(PQgetvalue(l.r, row, L_SIGNER), w->signer_tag) == 0) {
        size_t dn;
        const unsigned char *d = cmp_db_bytea(p, l.r, row, L_DER, &dn);

        if (d == NULL)
            return error_response(p, OCSP_RESPONSE_STATUS_INTERNALERROR,
                                  "a stored response does not decode", out);
        out->der = d;
        out->len = dn;
        out->made = CMP_OCSP_STORED;
        out->good = strcmp(st, "valid") == 0;
        out->revoked = strcmp(st, "revoked") == 0 || strcmp(st, "rejected") == 0;
        out->unknown = !out->good && !out->revoked;
        f->refresh = (time_t)cmp_db_ll(l.r, row, L_REFRESH);
        f->next = (time_t)cmp_db_ll(l.r, row, L_NEXT);
        return APR_SUCCESS;
    }
    /* valid for the Authority's CRL validity, not beyond the signer's
     * certificate; made anew after half of it */
    now = time(NULL);
    validity = (long)cmp_db_ll(l.r, 0, L_VALIDITY);
    until = not_after(w->signer);
    f->next = until > now && until < now + validity ? until : now + validity;
    f->refresh = now + (f->next - now) / 2;
    w->bs = OCSP_BASICRESP_new();
    if (w->bs == NULL || !add_statuses(w, n, now, f->next, out)
            || OCSP_copy_nonce(w->bs, w->req) <= 0
            || !sign_response(w)
            || (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
                                            w->bs)) == NULL
            || (dlen = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
        rv = APR_ENOMEM;
    if (rv == APR_SUCCESS && reuse)
        keep(p, c, w, row, now, f, der, dlen);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    if (rv != APR_SUCCESS) {
        OPENSSL_free(der);
        return error_response(p, OCSP_RESPONSE_STATUS_INTERNALERROR,
                              "the response cannot be made", out);
    }
    out->der = apr_pmemdup(p, der, (apr_size_t)dlen);
    out->len = (size_t)dlen;
    out->made = CMP_OCSP_SIGNED;
    OPENSSL_free(der);
    return APR_SUCCESS;
}

/* ---- answers kept in this process's memory --------------------------------
 * Per Authority, what the database said last (its version, signer stamp and
 * count of revocation changes) and when; and the answers to single requests
 * without nonce made under exactly that, keyed by the request's own bytes:
 * the same bytes parse to the same request, so a request seen before is
 * answered without being parsed again. While the database was asked less
 * than CMP_OCSP_FRESH_MS ago, such an answer is sent from memory; any
 * revocation of the Authority's certificates, a new key or signer drops all
 * of them. */

static cmp_ocsp_view_t *view_of(cmp_ocsp_t *o, const char *name)
{
    cmp_ocsp_view_t *v;

    for (v = o->views; v != NULL; v = v->next)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

/* The answer memory keeps for key, copied to p: while the view is fresh
 * and the answer due for refreshing later; or, stale (the database cannot
 * be asked), while the answer is valid. */
static int mem_get(cmp_ocsp_t *o, apr_pool_t *p, const char *authority,
                   const unsigned char *key, int klen, int stale,
                   cmp_ocsp_answer_t *out)
{
    apr_time_t t = apr_time_now();
    cmp_ocsp_view_t *v;
    mem_answer_t *a = NULL;
    int hit = 0;

    apr_thread_mutex_lock(o->lock);
    v = view_of(o, authority);
    if (v != NULL)
        a = apr_hash_get(v->answers, key, klen);
    /* (a view that changes drops its answers: those left were made under
     * what it says) */
    if (a != NULL) {
        if (!stale)
            hit = t - v->checked < apr_time_from_msec(CMP_OCSP_FRESH_MS)
                  && apr_time_sec(t) < a->refresh;
        else
            hit = apr_time_sec(t) < a->next;
    }
    if (hit) {
        out->der = apr_pmemdup(p, a->der, a->len);
        out->len = a->len;
        out->good = a->good;
        out->revoked = !a->good;
        out->made = stale ? CMP_OCSP_MEMORY_STALE : CMP_OCSP_MEMORY;
    }
    apr_thread_mutex_unlock(o->lock);
    return hit;
}

/* What the database said at asked (the request's start), kept unless a
 * later question already said more; the answer made from it kept too. */
static void mem_put(cmp_ocsp_t *o, const char *authority, apr_time_t asked,
                    const facts_t *f, const unsigned char *key, int klen,
                    const cmp_ocsp_answer_t *ans)
{
    cmp_ocsp_view_t *v;
    mem_answer_t *a;

    apr_thread_mutex_lock(o->lock);
    v = view_of(o, authority);
    if (v == NULL && (v = calloc(1, sizeof(*v))) != NULL) {
        if ((v->name = strdup(authority)) == NULL
                || apr_pool_create_unmanaged_ex(&v->pool, NULL, NULL) != APR_SUCCESS) {
            free(v->name);
            free(v);
            v = NULL;
        } else {
            v->answers = apr_hash_make(v->pool);
            v->next = o->views;
            o->views = v;
        }
    }
    if (v != NULL && asked > v->checked) {
        if (f->version != v->version || f->stamp != v->stamp
                || f->changes != v->changes
                || apr_hash_count(v->answers) >= CMP_OCSP_MEMORY_ANSWERS) {
            apr_pool_clear(v->pool);
            v->answers = apr_hash_make(v->pool);
        }
        v->version = f->version;
        v->stamp = f->stamp;
        v->changes = f->changes;
        v->checked = asked;
    }
    if (v != NULL && key != NULL && f->version == v->version
            && f->stamp == v->stamp && f->changes == v->changes
            && apr_hash_count(v->answers) < CMP_OCSP_MEMORY_ANSWERS) {
        a = apr_palloc(v->pool, sizeof(*a));
        a->der = apr_pmemdup(v->pool, ans->der, ans->len);
        a->len = ans->len;
        a->refresh = f->refresh;
        a->next = f->next;
        a->good = ans->good;
        apr_hash_set(v->answers, apr_pmemdup(v->pool, key, (apr_size_t)klen),
                     klen, a);
    }
    apr_thread_mutex_unlock(o->lock);
}

apr_status_t cmp_ocsp_answer(cmp_ocsp_t *o, apr_pool_t *p,
                             const char *authority, const unsigned char *req,
                             size_t len, cmp_ocsp_answer_t *out)
{
    work_t w;
    facts_t f;
    const unsigned char *q = req;
    /* the memory's key: the request as it came (kept only for a single
     * request without nonce, f.keep) */
    const unsigned char *key = len <= CMP_OCSP_MEMORY_REQUEST_MAX ? req : NULL;
    int klen = (int)len;
    apr_time_t asked;
    apr_status_t rv;
    int n;

    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    memset(&f, 0, sizeof(f));
    if (key != NULL && mem_get(o, p, authority, key, klen, 0, out))
        return APR_SUCCESS;
    w.req = d2i_OCSP_REQUEST(NULL, &q, (long)len);
    if (w.req == NULL || q != req + len) {
        work_free(&w);
        ERR_clear_error();
        return error_response(p, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
                              "not one DER OCSPRequest", out);
    }
    n = OCSP_request_onereq_count(w.req);
    if (n < 1 || n > CMP_OCSP_MAX_REQUESTS) {
        work_free(&w);
        return error_response(p, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
                              apr_psprintf(p, "%d single requests (1 to %d "
                                           "are answered)", n,
                                           CMP_OCSP_MAX_REQUESTS), out);
    }
    asked = apr_time_now();
    rv = from_db(o, p, authority, &w, n, &f, out);
    work_free(&w);
    if (rv == APR_SUCCESS && out->status == OCSP_RESPONSE_STATUS_TRYLATER
            && key != NULL) {
        cmp_ocsp_answer_t kept;

        memset(&kept, 0, sizeof(kept));
        if (mem_get(o, p, authority, key, klen, 1, &kept))
            *out = kept;
    }
    if (rv == APR_SUCCESS && f.looked_up)
        mem_put(o, authority, asked, &f,
                f.keep && out->status == OCSP_RESPONSE_STATUS_SUCCESSFUL ? key : NULL,
                klen, out);
    return rv;
}
