/* SPDX-License-Identifier: Apache-2.0 */
/* The database suite: the store's statements and the whole core (request in,
 * response out) against the PostgreSQL the integration harness starts, with
 * its demo profile. Environment: CMP_TEST_DATABASE_URL, CMP_TEST_VAR_DIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "cmp_asn1.h"
#include "cmp_crl.h"
#include "cmp_notify.h"
#include "cmp_server.h"
#include "cmp_store.h"
#include "unit.h"

static void demo_head(cmp_store_head_t *h)
{
    int found = 0;

    ck_assert_int_eq(cmp_store_head(upool, unit_conn, 0, "demo", h, &found), APR_SUCCESS);
    ck_assert(found);
}


/* RFC 5280 5.3.2: an invalidity date is not in the future (clock skew of
 * CMP_STORE_INVALIDITY_SKEW_S allowed) and not before 1970. */
START_TEST(invalidity_dates)
{
    long long now = 1800000000;

    ck_assert_ptr_null(cmp_store_invalidity_problem(upool, now - 86400, now));
    ck_assert_ptr_null(cmp_store_invalidity_problem(upool, now + CMP_STORE_INVALIDITY_SKEW_S, now));
    ck_assert_ptr_nonnull(strstr(cmp_store_invalidity_problem(
        upool, now + CMP_STORE_INVALIDITY_SKEW_S + 1, now), "in the future"));
    ck_assert_ptr_nonnull(cmp_store_invalidity_problem(upool, 0, now));
}
END_TEST

START_TEST(schema_and_heads)
{
    cmp_store_head_t h, r;
    int v = 0, found = 1;

    ck_assert_int_eq(cmp_store_schema_version(upool, unit_conn, &v), APR_SUCCESS);
    ck_assert_int_eq(v, CMP_SCHEMA_VERSION);
    demo_head(&h);
    ck_assert(h.cmp_enabled && h.ra_enabled && h.auth_enabled);
    ck_assert_int_eq(cmp_store_head(upool, unit_conn, 1, "demo", &r, &found), APR_SUCCESS);
    ck_assert(found);
    ck_assert_int_eq(r.cmp_id, h.cmp_id);
    ck_assert_int_eq(r.ra_id, h.ra_id);
    ck_assert_int_eq(cmp_store_head(upool, unit_conn, 0, "no'such;profile", &r, &found), APR_SUCCESS);
    ck_assert(!found);
}
END_TEST

START_TEST(schema_range_and_db_health)
{
    cmp_db_conf_t bad = unit_dbconf;
    cmp_db_t *d;
    PGconn *c;
    const char *why = NULL;

    /* a node works with its own schema version and the next one */
    ck_assert(cmp_store_schema_supported(CMP_SCHEMA_VERSION));
    ck_assert(cmp_store_schema_supported(CMP_SCHEMA_VERSION + 1));
    ck_assert(!cmp_store_schema_supported(CMP_SCHEMA_VERSION - 1));
    ck_assert(!cmp_store_schema_supported(CMP_SCHEMA_VERSION + 2));
    ck_assert_int_eq(cmp_store_check_schema(upool, unit_conn, &why), APR_SUCCESS);
    ck_assert_ptr_null(cmp_db_unavailable(unit_db, upool));
    ck_assert_int_eq(cmp_db_probe(unit_db, upool, &why), APR_SUCCESS);
    ck_assert_ptr_null(why);

    /* libpq's multi-line texts become one line */
    ck_assert_str_eq(cmp_db_text(upool, "connection failed: refused\n\tIs the server running?\n"),
                     "connection failed: refused Is the server running?");

    /* no database needed to create the pool; the reason and the fix come
     * with the first connection that fails */
    bad.conninfo = "host=127.0.0.1 port=1 dbname=cmp user=cmp connect_timeout=2";
    ck_assert_int_eq(cmp_db_create(upool, &bad, cmp_store_stmts, &d), APR_SUCCESS);
    ck_assert_ptr_null(cmp_db_unavailable(d, upool));
    ck_assert_int_ne(cmp_db_acquire(d, upool, &c), APR_SUCCESS);
    why = cmp_db_unavailable(d, upool);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "check that PostgreSQL runs"));
    ck_assert_ptr_null(strchr(why, '\n'));
    ck_assert_int_ne(cmp_db_probe(d, upool, &why), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(why, "cannot connect to PostgreSQL"));
}
END_TEST

/* The health check is not fooled by a pooled connection that died while idle
 * (after pg_terminate_backend, as after a database restart). */
START_TEST(probe_survives_dead_pooled_connection)
{
    cmp_db_t *d;
    PGconn *c;
    PGresult *r;
    apr_pool_t *lease;
    const char *why = NULL;
    char sql[96];
    int i;

    ck_assert_int_eq(cmp_db_create(upool, &unit_dbconf, cmp_store_stmts, &d), APR_SUCCESS);
    apr_pool_create(&lease, upool);
    ck_assert_int_eq(cmp_db_acquire(d, lease, &c), APR_SUCCESS);
    /* with a timeout, pg_terminate_backend waits until the backend is gone:
     * a connection cut half-way is another test (t_40) */
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 10000)", PQbackendPID(c));
    apr_pool_destroy(lease);            /* back in the pool, idle */
    r = PQexec(unit_conn, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cmp_db_probe(d, upool, &why), APR_SUCCESS);
        ck_assert_ptr_null(why);
    }
    ck_assert_ptr_null(cmp_db_unavailable(d, upool));
}
END_TEST

/* A schema this build cannot use refuses the connection, saying what to do. */
START_TEST(schema_mismatch_refuses_connections)
{
    PGresult *r;
    cmp_db_t *d;
    PGconn *c;
    const char *why = NULL;

    r = PQexec(unit_conn, "BEGIN; INSERT INTO schema_version (version, name) VALUES "
                          "(" CMP_STR(CMP_SCHEMA_VERSION) " + 2, 'unit-future')");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    ck_assert_int_ne(cmp_store_check_schema(upool, unit_conn, &why), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(why, "upgrade mod_cmp"));
    r = PQexec(unit_conn, "ROLLBACK");
    PQclear(r);

    /* a database without the schema at all */
    ck_assert_int_eq(cmp_db_create(upool, &unit_dbconf, cmp_store_stmts, &d), APR_SUCCESS);
    ck_assert_int_eq(cmp_db_acquire(d, upool, &c), APR_SUCCESS);
    r = PQexec(c, "BEGIN; ALTER TABLE schema_version RENAME TO schema_version_unit");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    ck_assert_int_ne(cmp_store_check_schema(upool, c, &why), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(why, "apply the migrations"));
    r = PQexec(c, "ROLLBACK");
    PQclear(r);
}
END_TEST

static void fake_issue(cmp_store_issue_t *in, const cmp_store_head_t *h,
                       unsigned char *tid, const char *serial, int timeout)
{
    static unsigned char der[64];

    RAND_bytes(tid, 16);
    RAND_bytes(der, sizeof(der));
    memset(in, 0, sizeof(*in));
    in->authority_id = h->auth_id;
    in->ra_id = h->ra_id;
    in->cmp_id = h->cmp_id;
    in->serial_hex = serial;
    in->issuer_dn = "CN=unit";
    in->subject_dn = "CN=unit-store";
    in->sans = "";
    in->not_before = "2026-01-01 00:00:00+00";
    in->not_after = "2027-01-01 00:00:00+00";
    in->key_type = "EC";
    in->fpr = der;
    in->fpr_len = 32;
    in->der = der;
    in->der_len = sizeof(der);
    in->status = "pending";
    in->tid = tid;
    in->tid_len = 16;
    in->body_type = "ir";
    in->tx_state = "waiting_conf";
    in->nonce = der;
    in->nonce_len = 16;
    in->req_der = der;
    in->req_len = 10;
    in->timeout_s = timeout;
    in->actor = "unit:store";
}

static const char *rand_serial(void)
{
    unsigned char b[8];
    char *s = apr_palloc(upool, 20);
    int i;

    RAND_bytes(b, sizeof(b));
    b[0] |= 0x10;
    b[0] &= 0x7f;
    for (i = 0; i < 8; i++)
        sprintf(s + 2 * i, "%02x", b[i]);
    return s;
}

START_TEST(issue_confirm_revoke)
{
    cmp_store_head_t h;
    cmp_store_issue_t in;
    cmp_store_tx_t tx;
    cmp_store_cert_t c;
    unsigned char tid[16], conf[32];
    char sql[400];
    const char *serial = rand_serial(), *state = NULL;
    long long id = 0;
    int found = 0, n = 0;
    PGresult *r;

    memset(conf, 0xc0, sizeof(conf));
    demo_head(&h);
    fake_issue(&in, &h, tid, serial, 300);
    ck_assert_int_eq(cmp_store_issue(upool, unit_conn, &in, &id, &state), APR_SUCCESS);
    ck_assert_int_gt(id, 0);
    /* the same transactionID again: refused whole, nothing stored */
    in.serial_hex = rand_serial();
    ck_assert_int_ne(cmp_store_issue(upool, unit_conn, &in, &id, &state), APR_SUCCESS);
    ck_assert_str_eq(state, "23505");
    ck_assert_int_eq(cmp_store_cert_get(upool, unit_conn, h.auth_id, in.serial_hex, &c, &found), APR_SUCCESS);
    ck_assert(!found);

    ck_assert_int_eq(cmp_store_tx_get(upool, unit_conn, tid, 16, &tx, &found), APR_SUCCESS);
    ck_assert(found);
    ck_assert_str_eq(tx.state, "waiting_conf");
    ck_assert(!tx.expired);
    ck_assert_int_eq(tx.nonce_len, 16);
    ck_assert_int_eq(tx.req_len, 10);
    ck_assert_int_eq(cmp_store_tx_finish(upool, unit_conn, tx.id, 1, conf, 32, "unit:store", &n),
                     APR_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(cmp_store_tx_finish(upool, unit_conn, tx.id, 1, NULL, 0, "unit:store", &n),
                     APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    /* the request and the certConf's hash stay for a resent certConf ... */
    ck_assert_int_eq(cmp_store_tx_get(upool, unit_conn, tid, 16, &tx, &found), APR_SUCCESS);
    ck_assert_ptr_nonnull(tx.req_der);
    ck_assert_int_eq(tx.conf_hash_len, 32);
    ck_assert_mem_eq(tx.conf_hash, conf, 32);
    /* ... until the transaction's expiry */
    snprintf(sql, sizeof(sql), "UPDATE cmp_transaction SET expires_at = "
             "now() - interval '1 second' WHERE id = %lld", tx.id);
    r = PQexec(unit_conn, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    ck_assert_int_eq(cmp_store_expire(upool, unit_conn, &n), APR_SUCCESS);
    ck_assert_int_eq(cmp_store_tx_get(upool, unit_conn, tid, 16, &tx, &found), APR_SUCCESS);
    ck_assert_ptr_null(tx.req_der);
    ck_assert_str_eq(tx.state, "confirmed");

    ck_assert_int_eq(cmp_store_cert_get(upool, unit_conn, h.auth_id, serial, &c, &found), APR_SUCCESS);
    ck_assert(found);
    ck_assert_str_eq(c.status, "valid");
    ck_assert_int_eq(cmp_store_revoke(upool, unit_conn, c.id, 4, 0, "unit", &n), APR_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(cmp_store_revoke(upool, unit_conn, c.id, 4, 0, "unit", &n), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    /* the certificate's history: issued, confirmed (once), revoked (once),
     * each naming it */
    snprintf(sql, sizeof(sql), "SELECT string_agg(action || '=' || result, ';' ORDER BY id) "
             "FROM audit_event WHERE certificate_id = %lld AND object_name = "
             "'CN=unit-store (serial %s)'", c.id, serial);
    r = PQexec(unit_conn, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "cmp.ir=issued, awaiting certConf;cmp.certConf=accepted;"
                                          "cmp.revoke=revoked, CRLReason 4");
    PQclear(r);
}
END_TEST

static long long sql_ll(const char *sql)
{
    PGresult *r = PQexec(unit_conn, sql);
    long long v;

    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQresultErrorMessage(r));
    v = PQntuples(r) > 0 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

/* How many (kind, day, status) counts the database keeps (sql/013:
 * certificate_count and its deltas) differ from a count of the
 * certificates themselves. */
#define COUNTS_OFF \
    "WITH live AS (SELECT 'c'::char(1) AS kind, (created_at AT TIME ZONE 'UTC')::date " \
    "AS day, status, count(*) AS n FROM certificate GROUP BY 2, 3 UNION ALL " \
    "SELECT 'r', (revoked_at AT TIME ZONE 'UTC')::date, status, count(*) FROM " \
    "certificate WHERE status = 'revoked' GROUP BY 2, 3), kept AS (SELECT kind, " \
    "day, status, sum(n) AS n FROM (SELECT kind, day, status, n FROM " \
    "certificate_count UNION ALL SELECT kind, day, status, n FROM " \
    "certificate_count_delta) x GROUP BY 1, 2, 3 HAVING sum(n) <> 0) SELECT " \
    "count(*) FROM live FULL JOIN kept USING (kind, day, status) WHERE " \
    "live.n IS DISTINCT FROM kept.n"

static void sql_ok(const char *sql)
{
    PGresult *r = PQexec(unit_conn, sql);

    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The dashboard's counts follow every way a certificate comes, changes and
 * goes (one statement or many rows at once), and folding the deltas keeps
 * them. */
START_TEST(certificate_counts_kept)
{
    long long folded = -1;

    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    sql_ok("INSERT INTO certificate (authority_id, serial, issuer_dn, subject_dn, "
           "not_before, not_after, key_type, key_fingerprint, der, status, "
           "revoked_at, created_at) SELECT a.id, 'c0' || g, 'CN=x', 'CN=count-' || g, "
           "now(), now() + interval '1 day', 'EC', '\\x00', '\\x00', CASE g % 3 "
           "WHEN 0 THEN 'pending' WHEN 1 THEN 'valid' ELSE 'revoked' END, CASE "
           "WHEN g % 3 = 2 THEN now() - interval '2 days' END, now() - g * "
           "interval '1 day' FROM generate_series(1, 12) g, authority a WHERE "
           "a.name = 'demo'");
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    /* confirmed, revoked, a hold released, a revocation date moved */
    sql_ok("UPDATE certificate SET status = 'valid' WHERE serial LIKE 'c0%' AND status = 'pending'");
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    sql_ok("UPDATE certificate SET status = 'revoked', revoked_at = now() WHERE serial IN ('c01', 'c04')");
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    sql_ok("UPDATE certificate SET status = 'valid', revoked_at = NULL WHERE serial = 'c02'");
    sql_ok("UPDATE certificate SET revoked_at = revoked_at - interval '1 day' WHERE serial = 'c05'");
    sql_ok("UPDATE certificate SET subject_dn = subject_dn || '!' WHERE serial LIKE 'c0%'");
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    ck_assert_int_eq(cmp_store_compact_counts(upool, unit_conn, &folded), APR_SUCCESS);
    ck_assert_int_gt(folded, 0);
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM certificate_count_delta"), 0);
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    sql_ok("DELETE FROM certificate WHERE serial LIKE 'c0%'");
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
    ck_assert_int_eq(cmp_store_compact_counts(upool, unit_conn, &folded), APR_SUCCESS);
    ck_assert_int_eq(sql_ll(COUNTS_OFF), 0);
}
END_TEST

/* One run of the CRL job, as the watchdog makes it: its connection goes back
 * to the pool when the run ends (a lease on upool would stay until the
 * test ends, and a test that waits for httpd's job runs it many times). */
static apr_status_t crl_run(int *made, const char **why)
{
    apr_pool_t *run;
    apr_status_t rv;

    apr_pool_create(&run, upool);
    rv = cmp_crl_refresh(unit_db, &unit_skey, run, made, why);
    if (*why != NULL)
        *why = apr_pstrdup(upool, *why);
    apr_pool_destroy(run);
    return rv;
}

/* A node makes an Authority's CRL only while no other holds its lock, and
 * then only once per change: the change counted by the trigger, the CRL
 * number one up, the stored CRL what cmp_crl_current hands out. (A running
 * httpd's CRL job may make it first: the outcome is the same.) */
START_TEST(crl_lock_and_changes)
{
    cmp_store_head_t h;
    cmp_crl_doc_t doc;
    char sql[300];
    const char *why = NULL;
    const unsigned char *q;
    X509_CRL *crl;
    ASN1_INTEGER *number;
    long long before, changes;
    int made = 0, found = 0, i;

    demo_head(&h);
    /* the first CRL (httpd's job has made it by now, or this does) */
    ck_assert_int_eq(crl_run(&made, &why), APR_SUCCESS);
    snprintf(sql, sizeof(sql), "SELECT 1 FROM (SELECT pg_advisory_lock(%d, %lld)) l",
             CMP_CRL_LOCK_CLASS, h.auth_id);
    (void)sql_ll(sql);
    snprintf(sql, sizeof(sql), "UPDATE crl SET changes = changes + 1 WHERE "
             "authority_id = %lld RETURNING changes", h.auth_id);
    changes = sql_ll(sql);
    ck_assert_int_gt(changes, 0);
    snprintf(sql, sizeof(sql), "SELECT crl_number FROM crl WHERE authority_id = %lld",
             h.auth_id);
    before = sql_ll(sql);
    ck_assert_int_gt(before, 0);
    /* locked: nobody makes it */
    ck_assert_int_eq(crl_run(&made, &why), APR_SUCCESS);
    ck_assert_int_eq(sql_ll(sql), before);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %lld)::int",
             CMP_CRL_LOCK_CLASS, h.auth_id);
    ck_assert_int_eq(sql_ll(sql), 1);
    /* unlocked: made, by this call or by the running httpd's job, which
     * may hold the lock right now and commit a moment later */
    snprintf(sql, sizeof(sql), "SELECT crl_number FROM crl WHERE authority_id = %lld "
             "AND made_at_changes >= %lld", h.auth_id, changes);
    for (i = 0; i < 100; i++) {
        why = NULL;
        ck_assert_int_eq(crl_run(&made, &why),
                         APR_SUCCESS);
        ck_assert_msg(why == NULL, "the CRL job failed: %s", why);
        if (sql_ll(sql) > before)
            break;
        apr_sleep(apr_time_from_msec(100));
    }
    ck_assert_int_gt(sql_ll(sql), before);
    ck_assert_int_eq(cmp_crl_current(upool, unit_conn, "demo", 0, -1, &doc, &found), APR_SUCCESS);
    ck_assert(found);
    q = doc.der;
    crl = d2i_X509_CRL(NULL, &q, (long)doc.len);
    ck_assert_ptr_nonnull(crl);
    number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    ck_assert_int_eq(ASN1_INTEGER_get(number), doc.number);
    ck_assert_int_gt(doc.number, before);
    ck_assert_int_gt(doc.next_update, doc.this_update);
    ASN1_INTEGER_free(number);
    X509_CRL_free(crl);
    ck_assert_int_eq(cmp_crl_current(upool, unit_conn, "no-such-authority", 0, -1, &doc,
                                     &found), APR_SUCCESS);
    ck_assert(!found);
}
END_TEST

START_TEST(expiry_sweep)
{
    cmp_store_head_t h;
    cmp_store_issue_t in;
    cmp_store_cert_t c;
    unsigned char tid[16];
    const char *serial = rand_serial(), *state = NULL;
    long long id = 0;
    int found = 0, n = 0;

    demo_head(&h);
    fake_issue(&in, &h, tid, serial, 1);
    ck_assert_int_eq(cmp_store_issue(upool, unit_conn, &in, &id, &state), APR_SUCCESS);
    sleep(2);
    /* the sweep of a running httpd (CMPConfirmSweepInterval) may come
     * first: then this one finds nothing left, and the outcome is the same */
    ck_assert_int_eq(cmp_store_expire(upool, unit_conn, &n), APR_SUCCESS);
    ck_assert_int_eq(cmp_store_cert_get(upool, unit_conn, h.auth_id, serial, &c, &found), APR_SUCCESS);
    ck_assert_str_eq(c.status, "rejected");
    /* in its history, once, whichever sweep it was */
    ck_assert_int_eq(sql_ll(apr_psprintf(upool, "SELECT count(*) FROM audit_event WHERE "
                                         "certificate_id = %" APR_INT64_T_FMT " AND action = "
                                         "'cmp.confirmTimeout' AND actor = 'mod_cmp: "
                                         "confirmation sweep'", (apr_int64_t)c.id)), 1);
}
END_TEST

START_TEST(profile_cache_follows_versions)
{
    cmp_profile_cache_t *cache;
    cmp_store_head_t h;
    const cmp_profile_t *a, *b, *c;
    PGresult *r;

    ck_assert_int_eq(cmp_profile_cache_create(upool, &unit_skey, &cache), APR_SUCCESS);
    demo_head(&h);
    ck_assert_int_eq(cmp_profile_get(cache, upool, unit_conn, &h, &a), APR_SUCCESS);
    ck_assert_int_eq(cmp_profile_get(cache, upool, unit_conn, &h, &b), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert(a->sig_responses && a->mac_requests && a->secret_len > 0);
    ck_assert_ptr_nonnull(a->ca.key);
    r = PQexec(unit_conn, "UPDATE ra_profile SET description = description || '.' WHERE name = 'demo'");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    demo_head(&h);
    ck_assert_int_eq(cmp_profile_get(cache, upool, unit_conn, &h, &c), APR_SUCCESS);
    ck_assert_ptr_ne(a, c);
    ck_assert_int_eq(c->ra_ver, a->ra_ver + 1);
    /* a is still usable: its request holds a reference until the pool ends */
    ck_assert_str_eq(a->ra_name, "demo");
    /* peek: the cache alone, no database */
    ck_assert_int_eq(cmp_profile_peek(cache, upool, &h, &b), APR_SUCCESS);
    ck_assert_ptr_eq(b, c);
    h.ra_ver += 100;
    ck_assert_int_eq(cmp_profile_peek(cache, upool, &h, &b), APR_NOTFOUND);
}
END_TEST

/* ---- the whole core, in process: OpenSSL's client talks to cmp_server ---- */

static cmp_server_t *node_ir, *node_conf;

static OSSL_CMP_MSG *to_core(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    int len = i2d_OSSL_CMP_MSG(req, &der);
    int body = OSSL_CMP_MSG_get_bodytype(req);
    cmp_server_t *node = body == CMP_BODY_CERTCONF ? node_conf : node_ir;
    cmp_response_t resp;
    apr_pool_t *rp;
    OSSL_CMP_MSG *out = NULL;

    apr_pool_create(&rp, upool);
    if (cmp_server_handle(node, rp, CMP_ROUTE_CMP_PROFILE, "demo", der,
                          (apr_size_t)len, &resp) == APR_SUCCESS) {
        q = resp.der;
        out = d2i_OSSL_CMP_MSG(NULL, &q, (long)resp.len);
    }
    apr_pool_destroy(rp);
    OPENSSL_free(der);
    return out;
}

/* An ir through the core; *failinfo (when asked) the failInfo bits of a
 * refusal as the client read it, -1 when it read none. */
static X509 *enroll_info(const char *cn, int *failinfo)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    X509_STORE *ts = X509_STORE_new();
    X509_NAME *n = unit_name(cn);
    EVP_PKEY *k = unit_key("EC");
    FILE *f = fopen(unit_var_path("demo/secret.txt"), "r");
    char secret[200];
    size_t sl;
    X509 *cert;

    ck_assert_ptr_nonnull(f);
    sl = fread(secret, 1, sizeof(secret), f);
    fclose(f);
    OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_EMERG);
    OSSL_CMP_CTX_set_transfer_cb(ctx, to_core);
    ck_assert(X509_STORE_load_file(ts, unit_var_path("demo/ca.pem")));
    ck_assert(OSSL_CMP_CTX_set0_trustedStore(ctx, ts));
    ck_assert(OSSL_CMP_CTX_set1_secretValue(ctx, (unsigned char *)secret, (int)sl));
    ck_assert(OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)"demo", 4));
    ck_assert(OSSL_CMP_CTX_set1_subjectName(ctx, n));
    ck_assert(OSSL_CMP_CTX_set0_newPkey(ctx, 1, k));
    cert = OSSL_CMP_exec_IR_ses(ctx);
    if (cert != NULL)
        X509_up_ref(cert);
    else if (failinfo == NULL)
        ERR_print_errors_fp(stderr);
    if (failinfo != NULL)
        *failinfo = OSSL_CMP_CTX_get_failInfoCode(ctx);
    ERR_clear_error();
    OSSL_CMP_CTX_free(ctx);
    X509_NAME_free(n);
    return cert;
}

static X509 *enroll(const char *cn)
{
    return enroll_info(cn, NULL);
}

static void make_node(cmp_server_t **node)
{
    cmp_db_t *d;

    ck_assert_int_eq(cmp_db_create(upool, &unit_dbconf, cmp_store_stmts, &d), APR_SUCCESS);
    ck_assert_int_eq(cmp_server_create(upool, d, &unit_skey, unit_dbconf.conninfo, node), APR_SUCCESS);
}

START_TEST(core_enrolls_across_nodes)
{
    X509 *cert;
    cmp_store_cert_t c;
    cmp_store_head_t h;
    const char *hex;
    int found = 0;

    make_node(&node_ir);
    make_node(&node_conf);          /* its own pool of connections and cache */
    cert = enroll("unit-core");
    ck_assert_ptr_nonnull(cert);
    demo_head(&h);
    hex = cmp_issue_serial_hex(upool, X509_get0_serialNumber(cert));
    ck_assert_int_eq(cmp_store_cert_get(upool, unit_conn, h.auth_id, hex, &c, &found), APR_SUCCESS);
    ck_assert(found);
    ck_assert_str_eq(c.status, "valid");
    X509_free(cert);
}
END_TEST

/* A refusal the core decides before OpenSSL's handlers is an error message
 * with that reason's failInfo (not OpenSSL's fixed badRequest), protected
 * anew so that the client accepts it. */
START_TEST(core_error_carries_failinfo)
{
    PGresult *r;
    X509 *cert;
    int failinfo = 0;

    make_node(&node_ir);
    make_node(&node_conf);
    r = PQexec(unit_conn, "UPDATE cmp_profile SET enabled = false WHERE name = 'demo'");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    cert = enroll_info("unit-refused", &failinfo);
    r = PQexec(unit_conn, "UPDATE cmp_profile SET enabled = true WHERE name = 'demo'");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    ck_assert_ptr_null(cert);
    ck_assert_int_eq(failinfo, 1 << OSSL_CMP_PKIFAILUREINFO_notAuthorized);
}
END_TEST

START_TEST(core_refuses_garbage)
{
    static const unsigned char junk[] = "not a PKIMessage";
    cmp_response_t resp;

    make_node(&node_ir);
    ck_assert_int_eq(cmp_server_handle(node_ir, upool, CMP_ROUTE_CMP_PROFILE, "demo",
                                       junk, sizeof(junk), &resp), APR_EINVAL);
    ck_assert_int_eq(cmp_server_handle(node_ir, upool, CMP_ROUTE_CMP_PROFILE, "demo",
                                       junk, 0, &resp), APR_EINVAL);
}
END_TEST

/* A change of configuration moves every listener's generation on. */
START_TEST(notify_moves_generation)
{
    cmp_notify_t *n;
    apr_uint64_t g0 = 0, g1 = 0;
    PGresult *r;
    int i;

    ck_assert_int_eq(cmp_notify_create(upool, unit_dbconf.conninfo, &n), APR_SUCCESS);
    ck_assert(cmp_notify_generation(n, &g0));
    ck_assert(cmp_notify_generation(n, &g1));
    ck_assert(g0 == g1);
    r = PQexec(unit_conn, "UPDATE cmp_profile SET description = description WHERE name = 'demo'");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    for (i = 0; i < 1000 && g1 == g0; i++) {     /* up to 10 s under load */
        usleep(10000);
        ck_assert(cmp_notify_generation(n, &g1));
    }
    ck_assert(g1 > g0);
    /* the listener's connection dies: no generation can be trusted ... */
    r = PQexec(unit_conn, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                     "WHERE query = 'LISTEN cmp_config'");
    PQclear(r);
    for (i = 0; i < 1000 && cmp_notify_generation(n, &g1); i++)
        usleep(10000);
    ck_assert(!cmp_notify_generation(n, &g1));
    /* ... until the upkeep reconnects it */
    cmp_notify_maintain(n);
    ck_assert(cmp_notify_generation(n, &g1));
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, unit_db_setup, unit_db_teardown);
    tcase_add_test(tc, schema_and_heads);
    tcase_add_test(tc, invalidity_dates);
    tcase_add_test(tc, schema_range_and_db_health);
    tcase_add_test(tc, schema_mismatch_refuses_connections);
    tcase_add_test(tc, probe_survives_dead_pooled_connection);
    tcase_add_test(tc, issue_confirm_revoke);
    tcase_add_test(tc, expiry_sweep);
    tcase_add_test(tc, crl_lock_and_changes);
    tcase_add_test(tc, certificate_counts_kept);
    tcase_add_test(tc, profile_cache_follows_versions);
    tcase_add_test(tc, core_enrolls_across_nodes);
    tcase_add_test(tc, core_refuses_garbage);
    tcase_add_test(tc, core_error_carries_failinfo);
    tcase_add_test(tc, notify_moves_generation);
    suite_add_tcase(s, tc);
    return s;
}
