/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_crl.h"
#include "cmp_rollover.h"
#include "cmp_store.h"
#include "cmp_log.h"

/* The CRLs due (see cmp_crl_refresh): each Authority's current key's
 * (generation -1 here), and each retired key's, which still answers for
 * the certificates it issued. Disabled Authorities too: their
 * certificates can still be revoked and relied on. */
#define SQL_DUE \
    "SELECT a.id, -1 FROM authority a LEFT JOIN crl c ON c.authority_id = a.id " \
    "WHERE a.kind = 'local' AND a.ca_key_enc IS NOT NULL AND (c.der IS NULL " \
    "OR c.changes <> c.made_at_changes OR c.next_update - now() < " \
    "make_interval(secs => a.crl_validity_s / 2.0)) UNION ALL " \
    "SELECT a.id, k.generation FROM authority_key k JOIN authority a ON " \
    "a.id = k.authority_id WHERE k.state = 'retired' AND (k.crl_der IS NULL " \
    "OR k.crl_changes <> k.crl_made_at_changes OR k.crl_next_update - now() < " \
    "make_interval(secs => a.crl_validity_s / 2.0)) ORDER BY 1, 2"

/* One node at a time per Authority: the lock ends with the transaction. */
#define SQL_LOCK "SELECT pg_try_advisory_xact_lock(" CMP_STR(CMP_CRL_LOCK_CLASS) \
    ", ($1::bigint % 2147483647)::int)"

/* The key and its CRL state, read under the lock: still due? One series
 * of CRL numbers runs over all of an Authority's keys (they share its
 * name). The Authority's row is share-locked until the CRL is stored: an
 * Authority deleted meanwhile goes after it, its CRL with it (a sanitizer
 * run once logged the CRL's insert refused for an Authority deleted
 * between the two). */
#define STATE_NUMBER \
    "greatest(coalesce(c.crl_number, 0), (SELECT max(crl_number) FROM " \
    "authority_key WHERE authority_id = a.id)), "
#define SQL_STATE \
    "SELECT a.name, a.ca_cert, a.ca_key_enc, a.crl_validity_s, " \
    "coalesce(c.changes, 0), " STATE_NUMBER "c.der IS NULL OR " \
    "c.changes <> c.made_at_changes OR c.next_update - now() < " \
    "make_interval(secs => a.crl_validity_s / 2.0), " \
    "extract(epoch from date_trunc('second', now()))::bigint, a.key_generation " \
    "FROM authority a LEFT JOIN crl c ON c.authority_id = a.id WHERE a.id = $1 " \
    "FOR KEY SHARE OF a"
#define SQL_STATE_RETIRED \
    "SELECT a.name, k.ca_cert, k.ca_key_enc, a.crl_validity_s, " \
    "k.crl_changes, " STATE_NUMBER "k.crl_der IS NULL OR " \
    "k.crl_changes <> k.crl_made_at_changes OR k.crl_next_update - now() < " \
    "make_interval(secs => a.crl_validity_s / 2.0), " \
    "extract(epoch from date_trunc('second', now()))::bigint, k.generation " \
    "FROM authority a JOIN authority_key k ON k.authority_id = a.id LEFT JOIN " \
    "crl c ON c.authority_id = a.id WHERE a.id = $1 AND k.generation = $2 AND " \
    "k.state = 'retired' FOR KEY SHARE OF a"

/* Revoked and rejected certificates (a rejected one was sent to its
 * requester all the same) until one CRL after their expiry (RFC 5280
 * 5.1.2.6: an entry stays until it appeared on a CRL issued beyond the
 * certificate's validity). In no order: RFC 5280 asks none, and sorting a
 * million rows cost PostgreSQL more than a second. */
#define SQL_ENTRIES \
    "SELECT serial, extract(epoch from revoked_at)::bigint, " \
    "coalesce(revocation_reason, 0), coalesce(extract(epoch from " \
    "invalidity_date)::bigint, 0) FROM certificate WHERE authority_id = $1 " \
    "AND status IN ('revoked', 'rejected') AND not_after > now() - " \
    "make_interval(secs => $2) AND ca_generation = $3"

#define SQL_STORE \
    "INSERT INTO crl (authority_id, changes, made_at_changes, crl_number, " \
    "this_update, next_update, entries, der, made_ms) VALUES ($1, $2, $2, $3, " \
    "to_timestamp($4), to_timestamp($5), $6, $7, $8) ON CONFLICT " \
    "(authority_id) DO UPDATE SET made_at_changes = $2, crl_number = $3, " \
    "this_update = to_timestamp($4), next_update = to_timestamp($5), " \
    "entries = $6, der = $7, made_ms = $8 WHERE (SELECT key_generation FROM " \
    "authority WHERE id = $1) = $9 RETURNING 1"
#define SQL_STORE_RETIRED \
    "UPDATE authority_key SET crl_made_at_changes = $2, crl_number = $3, " \
    "crl_this_update = to_timestamp($4), crl_next_update = to_timestamp($5), " \
    "crl_entries = $6, crl_der = $7, crl_made_ms = $8 WHERE authority_id = $1 " \
    "AND generation = $9 AND state = 'retired' RETURNING 1"

/* The CRL of a key of an Authority ($1: its name, or uuid with
 * CURRENT_BY_UUID): the current key's when $2 is -1 or its generation,
 * else the retired key's of generation $2. */
#define SQL_CURRENT(by) \
    "SELECT der, n, t, u FROM (SELECT c.der, c.crl_number AS n, extract(epoch " \
    "from c.this_update)::bigint AS t, extract(epoch from c.next_update)::bigint " \
    "AS u FROM crl c JOIN authority a ON a.id = c.authority_id WHERE " by \
    " AND $2::int IN (-1, a.key_generation) UNION ALL SELECT k.crl_der, " \
    "k.crl_number, extract(epoch from k.crl_this_update)::bigint, extract(epoch " \
    "from k.crl_next_update)::bigint FROM authority_key k JOIN authority a ON " \
    "a.id = k.authority_id WHERE " by " AND k.generation = $2 AND k.state = " \
    "'retired') x WHERE der IS NOT NULL"
#define SQL_CA_CERT \
    "SELECT ca_cert FROM authority WHERE name = $1 AND kind = 'local' AND " \
    "$2::int IN (-1, key_generation) UNION ALL SELECT k.ca_cert FROM " \
    "authority_key k JOIN authority a ON a.id = k.authority_id WHERE a.name = " \
    "$1 AND a.kind = 'local' AND k.generation = $2 AND k.state = 'retired'"

#define URL_MAX 400

const char *cmp_crl_url_problem(apr_pool_t *p, const char *field,
                                const char *url)
{
    const unsigned char *u;

    if (strncmp(url, "http://", 7) != 0 || url[7] == '\0' || url[7] == '/')
        return apr_psprintf(p, "%s must be an http:// URL with a host (RFC "
                            "5280, RFC 6960: relying parties fetch revocation "
                            "information without TLS, which would itself "
                            "need it)", field);
    if (strlen(url) > URL_MAX)
        return apr_psprintf(p, "%s is longer than %d characters", field, URL_MAX);
    for (u = (const unsigned char *)url; *u != '\0'; u++)
        if (*u <= ' ' || *u >= 0x7f || *u == '"' || *u == '<' || *u == '>'
                || *u == '\\' || *u == '^' || *u == '`' || *u == '{'
                || *u == '|' || *u == '}')
            return apr_psprintf(p, "%s may hold only the characters of a URI "
                                "(RFC 3986), no spaces", field);
    if (strpbrk(url, "?#") != NULL || url[strlen(url) - 1] == '/')
        return apr_psprintf(p, "%s is the base the Authority's name is added "
                            "to: no query, fragment or trailing slash", field);
    return NULL;
}

static GENERAL_NAME *uri_name(const char *url)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gn == NULL || s == NULL || !ASN1_STRING_set(s, url, -1)) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    return gn;
}

static X509_EXTENSION *cdp_ext(const char *url)
{
    CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
    DIST_POINT *dp = DIST_POINT_new();
    GENERAL_NAME *gn = uri_name(url);
    X509_EXTENSION *ext = NULL;

    if (cdp != NULL && dp != NULL && gn != NULL
            && (dp->distpoint = DIST_POINT_NAME_new()) != NULL
            && (dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) != NULL
            && sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
        gn = NULL;
        dp->distpoint->type = 0;   /* fullName */
        if (sk_DIST_POINT_push(cdp, dp)) {
            dp = NULL;
            ext = X509V3_EXT_i2d(NID_crl_distribution_points, 0, cdp);
        }
    }
    GENERAL_NAME_free(gn);
    DIST_POINT_free(dp);
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    return ext;
}

static int add_access(AUTHORITY_INFO_ACCESS *aia, int nid, const char *url)
{
    ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
    GENERAL_NAME *gn = uri_name(url);

    if (ad == NULL || gn == NULL) {
        ACCESS_DESCRIPTION_free(ad);
        GENERAL_NAME_free(gn);
        return 0;
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(nid);
    GENERAL_NAME_free(ad->location);
    ad->location = gn;
    if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
        ACCESS_DESCRIPTION_free(ad);
        return 0;
    }
    return 1;
}

STACK_OF(X509_EXTENSION) *cmp_crl_cert_exts(const char *public_url,
                                            const char *ocsp_url,
                                            const char *authority,
                                            const char *file)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    size_t n = strlen(public_url != NULL ? public_url : "")
               + strlen(ocsp_url != NULL ? ocsp_url : "") + strlen(authority)
               + strlen(file != NULL ? file : "") + 6;
    char *url = malloc(n);
    X509_EXTENSION *cdp = NULL, *ai = NULL;
    int ok = exts != NULL && aia != NULL && url != NULL;

    if (file == NULL)
        file = authority;
    /* RFC 5280 4.2.2.1: OCSP first, then caIssuers */
    if (ok && ocsp_url != NULL)
        ok = snprintf(url, n, "%s/%s", ocsp_url, authority) > 0
             && add_access(aia, NID_ad_OCSP, url);
    if (ok && public_url != NULL)
        ok = snprintf(url, n, "%s/%s.crl", public_url, file) > 0
             && (cdp = cdp_ext(url)) != NULL
             && sk_X509_EXTENSION_push(exts, cdp) && (cdp = NULL, 1)
             && snprintf(url, n, "%s/%s.crt", public_url, file) > 0
             && add_access(aia, NID_ad_ca_issuers, url);
    if (ok && sk_ACCESS_DESCRIPTION_num(aia) > 0)
        ok = (ai = X509V3_EXT_i2d(NID_info_access, 0, aia)) != NULL
             && sk_X509_EXTENSION_push(exts, ai) && (ai = NULL, 1);
    X509_EXTENSION_free(cdp);
    X509_EXTENSION_free(ai);
    sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
    free(url);
    if (!ok) {
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return NULL;
    }
    return exts;
}

int cmp_crl_validity_ok(long long seconds)
{
    return seconds >= CMP_CRL_VALIDITY_MIN && seconds <= CMP_CRL_VALIDITY_MAX;
}

static int add_entry(X509_CRL *crl, const cmp_crl_entry_t *e)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *at = ASN1_TIME_set(NULL, e->revoked_at);
    ASN1_ENUMERATED *reason = NULL;
    ASN1_GENERALIZEDTIME *inv = NULL;
    int ok = rev != NULL && at != NULL
             && BN_hex2bn(&bn, e->serial_hex) > 0
             && (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL
             && X509_REVOKED_set_serialNumber(rev, serial)
             && X509_REVOKED_set_revocationDate(rev, at);

    /* RFC 5280 5.3.1: unspecified is left out rather than sent */
    if (ok && e->reason > 0)
        ok = (reason = ASN1_ENUMERATED_new()) != NULL
             && ASN1_ENUMERATED_set(reason, e->reason)
             && X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0);
    /* RFC 5280 5.3.2: always GeneralizedTime */
    if (ok && e->invalidity > 0)
        ok = (inv = ASN1_GENERALIZEDTIME_set(NULL, e->invalidity)) != NULL
             && X509_REVOKED_add1_ext_i2d(rev, NID_invalidity_date, inv, 0, 0);
    if (ok)
        ok = X509_CRL_add0_revoked(crl, rev);
    if (!ok)
        X509_REVOKED_free(rev);
    ASN1_ENUMERATED_free(reason);
    ASN1_GENERALIZEDTIME_free(inv);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(at);
    BN_free(bn);
    return ok;
}

/* authorityKeyIdentifier: the CA's subjectKeyIdentifier, or its issuer and
 * serial when it has none (RFC 5280 5.2.1) */
static int add_aki(X509_CRL *crl, X509 *ca_cert)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, ca_cert, NULL, NULL, crl, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                              X509_get0_subject_key_id(ca_cert) != NULL
                              ? "keyid:always" : "issuer:always");
    ok = ext != NULL && X509_CRL_add_ext(crl, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A v2 CRL of ca without entries and unsigned: version, issuer, times,
 * CRL number and authorityKeyIdentifier. */
static X509_CRL *crl_head(const cmp_ca_t *ca, long long number,
                          time_t this_update, time_t next_update)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_set(NULL, this_update);
    ASN1_TIME *next = ASN1_TIME_set(NULL, next_update);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int ok = crl != NULL && last != NULL && next != NULL && num != NULL
             && ASN1_INTEGER_set_int64(num, number)
             && X509_CRL_set_version(crl, X509_CRL_VERSION_2)
             && X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert))
             && X509_CRL_set1_lastUpdate(crl, last)
             && X509_CRL_set1_nextUpdate(crl, next)
             && X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0)
             && add_aki(crl, ca->cert);

    ASN1_INTEGER_free(num);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    if (!ok) {
        X509_CRL_free(crl);
        return NULL;
    }
    return crl;
}

X509_CRL *cmp_crl_build(const cmp_ca_t *ca, long long number,
                        time_t this_update, time_t next_update,
                        const cmp_crl_entry_t *entries, int n)
{
    X509_CRL *crl = crl_head(ca, number, this_update, next_update);
    const EVP_MD *md;
    int i, ok = crl != NULL;

    for (i = 0; ok && i < n; i++)
        ok = add_entry(crl, &entries[i]);
    ok = ok && X509_CRL_sort(crl) && cmp_issue_sign_md(ca->key, &md)
         && X509_CRL_sign(crl, ca->key, md) > 0;
    if (!ok) {
        X509_CRL_free(crl);
        return NULL;
    }
    return crl;
}

/* ---- the CRL's DER, written once --------------------------------------- */

/* A growing DER buffer (OPENSSL_malloc'd); failed stays set once a step
 * fails, so that the steps can be chained and checked at the end. */
typedef struct {
    unsigned char *b;
    size_t len, cap;
    int failed;
} der_buf_t;

static unsigned char *reserve(der_buf_t *d, size_t n)
{
    if (d->failed)
        return NULL;
    if (d->len + n > d->cap) {
        size_t cap = d->cap > 0 ? d->cap : 256;
        unsigned char *b;

        while (cap < d->len + n)
            cap *= 2;
        if ((b = OPENSSL_realloc(d->b, cap)) == NULL) {
            d->failed = 1;
            return NULL;
        }
        d->b = b;
        d->cap = cap;
    }
    return d->b + d->len;
}

static void put(der_buf_t *d, const void *src, size_t n)
{
    unsigned char *at = reserve(d, n);

    if (at != NULL && n > 0) {
        memcpy(at, src, n);
        d->len += n;
    }
}

/* A tag and a definite length in DER's shortest form (X.690 8.1.3). */
static void put_head(der_buf_t *d, unsigned char tag, size_t len)
{
    unsigned char h[6];
    size_t n = 0, i;

    h[n++] = tag;
    if (len < 0x80) {
        h[n++] = (unsigned char)len;
    } else {
        int bytes = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;

        if (len > 0xffffffffUL) {
            d->failed = 1;
            return;
        }
        h[n++] = (unsigned char)(0x80 | bytes);
        for (i = (size_t)bytes; i > 0; i--)
            h[n++] = (unsigned char)(len >> (8 * (i - 1)));
    }
    put(d, h, n);
}

/* What OpenSSL's i2d function writes for obj, appended. */
#define PUT_I2D(d, fn, obj) do { \
        unsigned char *buf_ = NULL; \
        int n_ = fn(obj, &buf_); \
        if (n_ <= 0) \
            (d)->failed = 1; \
        else \
            put(d, buf_, (size_t)n_); \
        OPENSSL_free(buf_); \
    } while (0)

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The serial (hex, as the certificate table holds it) as a positive DER
 * INTEGER: no leading zero octets but one before a high bit (X.690 8.3.2). */
static void put_serial(der_buf_t *d, const char *hex)
{
    unsigned char v[64];
    size_t len = strlen(hex), n = 0, i, skip = 0;
    int hi, lo;

    if (len == 0 || len > 2 * sizeof(v)) {
        d->failed = 1;
        return;
    }
    for (i = 0; i < len; ) {
        /* an odd count of digits: the first octet has one */
        hi = (len - i) % 2 == 1 ? 0 : hexval(hex[i++]);
        lo = hexval(hex[i++]);
        if (hi < 0 || lo < 0) {
            d->failed = 1;
            return;
        }
        v[n++] = (unsigned char)(hi << 4 | lo);
    }
    while (skip + 1 < n && v[skip] == 0)
        skip++;
    if (v[skip] & 0x80) {
        put_head(d, V_ASN1_INTEGER, n - skip + 1);
        put(d, "", 1);
    } else {
        put_head(d, V_ASN1_INTEGER, n - skip);
    }
    put(d, v + skip, n - skip);
}

/* A Time as RFC 5280 4.1.2.5 has it: UTCTime through 2049, then
 * GeneralizedTime (what ASN1_TIME_set makes). */
static void put_time(der_buf_t *d, time_t t)
{
    struct tm tm;
    char text[24];
    int n, utc;

    if (gmtime_r(&t, &tm) == NULL) {
        d->failed = 1;
        return;
    }
    utc = tm.tm_year >= 50 && tm.tm_year < 150;     /* 1950 to 2049 */
    if (utc)
        n = snprintf(text, sizeof(text), "%02d%02d%02d%02d%02d%02dZ",
                     tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
    else
        n = snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n <= 0 || (size_t)n >= sizeof(text)) {
        d->failed = 1;
        return;
    }
    put_head(d, utc ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME, (size_t)n);
    put(d, text, (size_t)n);
}

/* An entry's extension (reasonCode, invalidityDate) as OpenSSL encodes
 * it, appended. */
static void put_entry_ext(der_buf_t *d, int nid, void *value)
{
    X509_EXTENSION *ext = X509V3_EXT_i2d(nid, 0, value);

    if (ext == NULL)
        d->failed = 1;
    else
        PUT_I2D(d, i2d_X509_EXTENSION, ext);
    X509_EXTENSION_free(ext);
}

/* The reasonCode extensions (RFC 5280 5.3.1) of every CRLReason, encoded
 * once for all entries; [0] stays empty (unspecified is left out). */
typedef struct {
    der_buf_t reason[CMP_CRL_REASON_MAX + 1];
} entry_exts_t;

static int make_reasons(entry_exts_t *x)
{
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    int r, ok = e != NULL;

    memset(x, 0, sizeof(*x));
    for (r = 1; ok && r <= CMP_CRL_REASON_MAX; r++) {
        ok = ASN1_ENUMERATED_set(e, r);
        if (ok) {
            put_entry_ext(&x->reason[r], NID_crl_reason, e);
            ok = !x->reason[r].failed;
        }
    }
    ASN1_ENUMERATED_free(e);
    return ok;
}

static void free_reasons(entry_exts_t *x)
{
    int r;

    for (r = 0; r <= CMP_CRL_REASON_MAX; r++)
        OPENSSL_free(x->reason[r].b);
}

/* One revokedCertificates entry: serial, revocationDate, and the
 * extensions as add_entry gives them. */
static void put_entry(der_buf_t *d, der_buf_t *tmp, const entry_exts_t *x,
                      const cmp_crl_entry_t *e)
{
    der_buf_t exts = {NULL, 0, 0, 0};

    tmp->len = 0;
    put_serial(tmp, e->serial_hex);
    put_time(tmp, e->revoked_at);
    if (e->reason < 0 || e->reason > CMP_CRL_REASON_MAX) {
        d->failed = 1;
        return;
    }
    if (e->reason > 0 || e->invalidity > 0) {
        if (e->reason > 0)
            put(&exts, x->reason[e->reason].b, x->reason[e->reason].len);
        if (e->invalidity > 0) {
            ASN1_GENERALIZEDTIME *inv = ASN1_GENERALIZEDTIME_set(NULL,
                                                                 e->invalidity);

            if (inv == NULL)
                exts.failed = 1;
            else
                put_entry_ext(&exts, NID_invalidity_date, inv);
            ASN1_GENERALIZEDTIME_free(inv);
        }
        put_head(tmp, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, exts.len);
        put(tmp, exts.b, exts.len);
        tmp->failed |= exts.failed;
        OPENSSL_free(exts.b);
    }
    put_head(d, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, tmp->len);
    put(d, tmp->b, tmp->len);
    d->failed |= tmp->failed;
}

apr_status_t cmp_crl_encode(const cmp_ca_t *ca, long long number,
                            time_t this_update, time_t next_update,
                            const cmp_crl_entry_t *entries, int n,
                            unsigned char **der, size_t *len)
{
    X509_CRL *head = crl_head(ca, number, this_update, next_update);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = NULL;
    unsigned char alg[256];
    size_t alg_len = 0, sig_len = 0;
    OSSL_PARAM params[2];
    der_buf_t list = {NULL, 0, 0, 0}, tmp = {NULL, 0, 0, 0};
    der_buf_t tbs = {NULL, 0, 0, 0}, body = {NULL, 0, 0, 0};
    der_buf_t out = {NULL, 0, 0, 0}, sig = {NULL, 0, 0, 0};
    entry_exts_t x;
    unsigned char *at;
    int i, ok;

    *der = NULL;
    *len = 0;
    memset(&x, 0, sizeof(x));
    /* the AlgorithmIdentifier of the signature, from the context that
     * makes it (whatever the key's algorithm and its parameters) */
    params[0] = OSSL_PARAM_construct_octet_string(
        OSSL_SIGNATURE_PARAM_ALGORITHM_ID, alg, sizeof(alg));
    params[1] = OSSL_PARAM_construct_end();
    ok = head != NULL && mctx != NULL && cmp_issue_sign_md(ca->key, &md)
         && EVP_DigestSignInit(mctx, &pctx, md, NULL, ca->key) > 0
         && EVP_PKEY_CTX_get_params(pctx, params) > 0
         && OSSL_PARAM_modified(&params[0])
         && (alg_len = params[0].return_size) > 0 && alg_len <= sizeof(alg)
         && make_reasons(&x);

    /* revokedCertificates: left out when empty (RFC 5280 5.1.2.6) */
    if (ok && n > 0) {
        (void)reserve(&list, (size_t)n * 48);
        for (i = 0; i < n && !list.failed; i++)
            put_entry(&list, &tmp, &x, &entries[i]);
    }
    if (ok) {
        static const unsigned char v2[] = {V_ASN1_INTEGER, 1, 1};

        put(&body, v2, sizeof(v2));
        put(&body, alg, alg_len);
        PUT_I2D(&body, i2d_X509_NAME, X509_CRL_get_issuer(head));
        PUT_I2D(&body, i2d_ASN1_TIME, X509_CRL_get0_lastUpdate(head));
        PUT_I2D(&body, i2d_ASN1_TIME, X509_CRL_get0_nextUpdate(head));
        if (n > 0) {
            put_head(&body, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, list.len);
            put(&body, list.b, list.len);
        }
        /* crlExtensions [0] EXPLICIT */
        tmp.len = 0;
        PUT_I2D(&tmp, i2d_X509_EXTENSIONS,
                (X509_EXTENSIONS *)X509_CRL_get0_extensions(head));
        put_head(&body, V_ASN1_CONTEXT_SPECIFIC | V_ASN1_CONSTRUCTED | 0,
                 tmp.len);
        put(&body, tmp.b, tmp.len);
        put_head(&tbs, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, body.len);
        put(&tbs, body.b, body.len);
        ok = !list.failed && !tmp.failed && !body.failed && !tbs.failed;
    }
    /* the signature over the TBSCertList, as a BIT STRING */
    ok = ok && EVP_DigestSign(mctx, NULL, &sig_len, tbs.b, tbs.len) > 0
         && (at = reserve(&sig, sig_len + 1)) != NULL;
    if (ok) {
        at[0] = 0;          /* no unused bits */
        ok = EVP_DigestSign(mctx, at + 1, &sig_len, tbs.b, tbs.len) > 0;
        sig.len = sig_len + 1;
    }
    if (ok) {
        /* CertificateList: the TBSCertList, the algorithm, the signature */
        body.len = 0;
        put(&body, tbs.b, tbs.len);
        put(&body, alg, alg_len);
        put_head(&body, V_ASN1_BIT_STRING, sig.len);
        put(&body, sig.b, sig.len);
        put_head(&out, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, body.len);
        put(&out, body.b, body.len);
        ok = !body.failed && !out.failed;
    }
    OPENSSL_free(list.b);
    OPENSSL_free(tmp.b);
    OPENSSL_free(body.b);
    OPENSSL_free(tbs.b);
    OPENSSL_free(sig.b);
    free_reasons(&x);
    EVP_MD_CTX_free(mctx);
    X509_CRL_free(head);
    if (!ok) {
        OPENSSL_free(out.b);
        ERR_clear_error();
        return APR_EGENERAL;
    }
    *der = out.b;
    *len = out.len;
    return APR_SUCCESS;
}

static const char *num(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

/* Makes and stores the CRL of one Authority's key (the current one for
 * generation -1, else that retired one), in a transaction of its own on c;
 * *made = 1 when it did (0: another node holds it, it is no longer due, or
 * the key was retired meanwhile). */
static apr_status_t make_one(apr_pool_t *p, PGconn *c,
                             const cmp_secret_key_t *key, long long id,
                             int generation, int *made, const char **why)
{
    const char *vals[9];
    int lens[9] = {0};
    PGresult *r, *e;
    cmp_ca_t ca = {NULL, NULL, NULL};
    cmp_crl_entry_t *entries;
    const unsigned char *b;
    unsigned char *der = NULL;
    size_t n, len = 0;
    long long validity, changes, number, now;
    apr_time_t started = apr_time_now();
    int i, rows;
    apr_status_t rv;

    *made = 0;
    vals[0] = num(p, id);
    rv = cmp_db_query(p, c, "BEGIN", 0, NULL, NULL, &r, NULL);
    if (rv == APR_SUCCESS)
        rv = cmp_db_query(p, c, SQL_LOCK, 1, vals, NULL, &r, NULL);
    if (rv != APR_SUCCESS || !cmp_db_bool(r, 0, 0))
        goto done;
    vals[1] = apr_psprintf(p, "%d", generation);
    rv = cmp_db_query(p, c, generation < 0 ? SQL_STATE : SQL_STATE_RETIRED,
                      generation < 0 ? 1 : 2, vals, NULL, &r, NULL);
    if (rv != APR_SUCCESS || PQntuples(r) != 1 || !cmp_db_bool(r, 0, 6))
        goto done;
    vals[8] = apr_pstrdup(p, PQgetvalue(r, 0, 8));    /* the generation */
    validity = cmp_db_ll(r, 0, 3);
    changes = cmp_db_ll(r, 0, 4);
    number = cmp_db_ll(r, 0, 5) + 1;
    now = cmp_db_ll(r, 0, 7);
    b = cmp_db_bytea(p, r, 0, 1, &n);
    ca.cert = b != NULL ? d2i_X509(NULL, &b, (long)n) : NULL;
    b = cmp_db_bytea(p, r, 0, 2, &n);
    ca.key = cmp_secret_unseal_key(key, CMP_LABEL_CA_KEY, b, n);
    if (ca.cert == NULL || ca.key == NULL
            || !X509_check_private_key(ca.cert, ca.key)) {
        *why = apr_psprintf(p, "the CA certificate or key of Authority %s does "
                            "not decode, decrypt or match", PQgetvalue(r, 0, 0));
        rv = APR_EINVAL;
        goto done;
    }
    vals[1] = num(p, validity);
    vals[2] = vals[8];
    rv = cmp_db_query(p, c, SQL_ENTRIES, 3, vals, NULL, &e, NULL);
    if (rv != APR_SUCCESS)
        goto done;
    rows = PQntuples(e);
    entries = apr_palloc(p, sizeof(*entries) * (rows > 0 ? rows : 1));
    for (i = 0; i < rows; i++) {
        entries[i].serial_hex = PQgetvalue(e, i, 0);
        entries[i].revoked_at = (time_t)cmp_db_ll(e, i, 1);
        entries[i].reason = (int)cmp_db_ll(e, i, 2);
        entries[i].invalidity = (time_t)cmp_db_ll(e, i, 3);
    }
    if (cmp_crl_encode(&ca, number, (time_t)now, (time_t)(now + validity),
                       entries, rows, &der, &len) != APR_SUCCESS
            || len > INT_MAX) {
        *why = apr_psprintf(p, "the CRL of Authority %s cannot be made",
                            PQgetvalue(r, 0, 0));
        rv = APR_EGENERAL;
        goto done;
    }
    vals[1] = num(p, changes);
    vals[2] = num(p, number);
    vals[3] = num(p, now);
    vals[4] = num(p, now + validity);
    vals[5] = num(p, rows);
    vals[6] = (const char *)der;
    lens[6] = (int)len;
    vals[7] = num(p, (long long)apr_time_as_msec(apr_time_now() - started));
    rv = cmp_db_query(p, c, generation < 0 ? SQL_STORE : SQL_STORE_RETIRED,
                      9, vals, lens, &r, NULL);
    if (rv != APR_SUCCESS || PQntuples(r) != 1)
        goto done;                  /* a rollover came first: made again */
    rv = cmp_db_commit(p, c);
    if (rv == APR_SUCCESS) {
        *made = 1;
        cmp_log(CMP_LOG_INFO, "CRL %lld of Authority %ld (key %s) made: %d "
                "entries, %s ms", number, (long)id, vals[8], rows, vals[7]);
    }
done:
    /* a statement refused on a working connection is ours to report; a
     * connection lost is the database's (the health check reports it) */
    if (rv != APR_SUCCESS && *why == NULL && PQstatus(c) == CONNECTION_OK)
        *why = apr_psprintf(p, "the database refused a statement about the "
                            "CRL of Authority %ld: %s", (long)id,
                            cmp_db_text(p, PQerrorMessage(c)));
    if (*made == 0)
        (void)cmp_db_query(p, c, "ROLLBACK", 0, NULL, NULL, &r, NULL);
    OPENSSL_free(der);
    X509_free(ca.cert);
    EVP_PKEY_free(ca.key);
    ERR_clear_error();
    return rv;
}

/* Successors whose time has come take over first (cmp_rollover_promote),
 * so that the new key's CRL is made in the same run. */
static apr_status_t due_query(apr_pool_t *p, PGconn *c, void *baton)
{
    int n;
    apr_status_t rv = cmp_rollover_promote(p, c, 0, &n);

    return rv != APR_SUCCESS ? rv : cmp_db_query(p, c, SQL_DUE, 0, NULL, NULL,
                                                 (PGresult **)baton, NULL);
}

apr_status_t cmp_crl_refresh(cmp_db_t *db, const cmp_secret_key_t *key,
                             apr_pool_t *p, int *made, const char **why)
{
    PGconn *c;
    PGresult *r = NULL;
    apr_status_t rv, first = APR_SUCCESS;
    int i, one;

    *made = 0;
    *why = NULL;
    /* a pooled connection a database restart broke is replaced */
    rv = cmp_db_first(db, p, due_query, &r, &c);
    if (rv != APR_SUCCESS)
        return rv;
    for (i = 0; i < PQntuples(r); i++) {
        const char *one_why = NULL;
        apr_pool_t *sub;

        apr_pool_create(&sub, p);
        rv = make_one(sub, c, key, cmp_db_ll(r, i, 0), (int)cmp_db_ll(r, i, 1),
                      &one, &one_why);
        *made += one;
        if (rv != APR_SUCCESS && one_why != NULL && first == APR_SUCCESS) {
            first = rv;
            *why = apr_pstrdup(p, one_why);
        }
        apr_pool_destroy(sub);
        if (rv != APR_SUCCESS && one_why == NULL)
            return first != APR_SUCCESS ? first : rv;   /* the database */
    }
    return first;
}

apr_status_t cmp_crl_ca_cert(apr_pool_t *p, PGconn *c, const char *authority,
                             int generation, const unsigned char **der,
                             size_t *len, int *found)
{
    const char *vals[2] = {authority, apr_psprintf(p, "%d", generation)};
    PGresult *r;
    apr_status_t rv = cmp_db_query(p, c, SQL_CA_CERT, 2, vals, NULL, &r, NULL);

    *found = 0;
    if (rv != APR_SUCCESS || PQntuples(r) != 1)
        return rv;
    *der = cmp_db_bytea(p, r, 0, 0, len);
    *found = *der != NULL;
    return APR_SUCCESS;
}

apr_status_t cmp_crl_current(apr_pool_t *p, PGconn *c, const char *authority,
                             int by_uuid, int generation, cmp_crl_doc_t *doc,
                             int *found)
{
    const char *vals[2] = {authority, apr_psprintf(p, "%d", generation)};
    PGresult *r;
    apr_status_t rv;

    *found = 0;
    rv = cmp_db_query(p, c, by_uuid ? SQL_CURRENT("a.uuid = $1::uuid")
                                    : SQL_CURRENT("a.name = $1"),
                      2, vals, NULL, &r, NULL);
    if (rv != APR_SUCCESS || PQntuples(r) != 1)
        return rv;
    doc->der = cmp_db_bytea(p, r, 0, 0, &doc->len);
    doc->number = cmp_db_ll(r, 0, 1);
    doc->this_update = (time_t)cmp_db_ll(r, 0, 2);
    doc->next_update = (time_t)cmp_db_ll(r, 0, 3);
    *found = doc->der != NULL;
    return APR_SUCCESS;
}
