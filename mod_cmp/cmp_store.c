#include <stdio.h>
#include <string.h>
#include <time.h>

#include <apr_errno.h>
#include <apr_strings.h>

#include "cmp_store.h"

#define S_SCHEMA "cmp_schema"
#define S_HEAD_CMP "cmp_head_cmp"
#define S_HEAD_RA "cmp_head_ra"
#define S_ISSUE "cmp_issue"
#define S_ISSUE_DONE "cmp_issue_done"
#define S_TX_GET "cmp_tx_get"
#define S_TX_FINISH "cmp_tx_finish"
#define S_CERT_GET "cmp_cert_get"
#define S_REVOKE "cmp_revoke"
#define S_EXPIRE "cmp_expire"
#define S_REFUSALS "cmp_refusals"

#define HEAD_COLS \
    "c.id, c.version, c.enabled, r.id, r.version, r.enabled, " \
    "a.id, a.version, a.enabled "

const cmp_db_stmt_t cmp_store_stmts[] = {
    {S_SCHEMA, "SELECT coalesce(max(version), 0) FROM schema_version"},
    {S_HEAD_CMP, "SELECT " HEAD_COLS
     "FROM cmp_profile c LEFT JOIN ra_profile r ON r.id = c.default_ra_profile_id "
     "LEFT JOIN authority a ON a.id = r.authority_id WHERE c.name = $1"},
    {S_HEAD_RA, "SELECT " HEAD_COLS
     "FROM ra_profile r JOIN authority a ON a.id = r.authority_id "
     "LEFT JOIN cmp_profile c ON c.id = r.cmp_profile_id WHERE r.name = $1"},
    {"cmp_load_cmp", "SELECT p.name, p.request_protection, "
     "p.response_protection, p.shared_secret_enc, s.cert, s.chain, s.key_enc, "
     "p.trust_anchors, p.allow_implicit_confirm, p.confirm_timeout_s, p.variant "
     "FROM cmp_profile p LEFT JOIN signing_credential s "
     "ON s.id = p.signing_credential_id WHERE p.id = $1"},
    {"cmp_load_ra", "SELECT name, validity_days, "
     "array_to_string(allowed_key_types, ','), min_security_bits, "
     "subject_pattern, allow_san, key_usage, extended_key_usage "
     "FROM ra_profile WHERE id = $1"},
    {"cmp_load_authority", "SELECT name, ca_cert, ca_chain, ca_key_enc, kind "
     "FROM authority WHERE id = $1"},
    {S_ISSUE, "WITH c AS (INSERT INTO certificate (authority_id, serial, "
     "issuer_dn, subject_dn, sans, not_before, not_after, key_type, "
     "key_fingerprint, der, status, ra_profile_id, cmp_profile_id, "
     "transaction_id, replaces_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
     "$9, $10, $11, $12, $13, $14, nullif($15, 0)) RETURNING id) "
     "INSERT INTO cmp_transaction (transaction_id, cmp_profile_id, "
     "ra_profile_id, body_type, state, certificate_id, cert_hash, "
     "sender_nonce, request_der, expires_at) SELECT $14, $13, $12, $16, $17, "
     "c.id, $18, $19, $20, now() + make_interval(secs => $21) FROM c "
     "RETURNING certificate_id"},
    {S_ISSUE_DONE, "INSERT INTO certificate (authority_id, serial, issuer_dn, "
     "subject_dn, sans, not_before, not_after, key_type, key_fingerprint, der, "
     "status, ra_profile_id, cmp_profile_id, transaction_id, replaces_id) VALUES "
     "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
     "nullif($15, 0)) RETURNING id"},
    {S_TX_GET, "SELECT t.id, t.state, t.expires_at < now(), t.sender_nonce, "
     "t.request_der, t.cert_hash, t.cmp_profile_id, t.ra_profile_id, c.der, "
     "c.id FROM cmp_transaction t JOIN certificate c ON c.id = t.certificate_id "
     "WHERE t.transaction_id = $1"},
    {S_TX_FINISH, "WITH t AS (UPDATE cmp_transaction SET state = "
     "CASE WHEN $2 THEN 'confirmed' ELSE 'rejected' END, updated_at = now(), "
     "request_der = NULL WHERE id = $1 AND state = 'waiting_conf' "
     "RETURNING certificate_id) UPDATE certificate SET "
     "status = CASE WHEN $2 THEN 'valid' ELSE 'rejected' END, "
     "revoked_at = CASE WHEN $2 THEN NULL ELSE now() END, "
     "revocation_reason = CASE WHEN $2 THEN NULL ELSE 5 END "
     "WHERE id IN (SELECT certificate_id FROM t) AND status = 'pending' "
     "RETURNING id"},
    {S_CERT_GET, "SELECT id, status, coalesce(ra_profile_id, 0), "
     "not_after < now() FROM certificate WHERE authority_id = $1 AND serial = $2"},
    {S_REVOKE, "WITH c AS (UPDATE certificate SET status = 'revoked', "
     "revocation_reason = $2, revoked_at = now() WHERE id = $1 "
     "AND status = 'valid' RETURNING id, serial) INSERT INTO audit_event "
     "(actor, action, object, result) SELECT $3, 'cmp.revoke', "
     "'certificate:' || c.serial, 'ok' FROM c RETURNING id"},
    {S_EXPIRE, "WITH t AS (UPDATE cmp_transaction SET state = 'expired', "
     "updated_at = now(), request_der = NULL WHERE state = 'waiting_conf' "
     "AND expires_at < now() RETURNING certificate_id) UPDATE certificate "
     "SET status = 'rejected', revoked_at = now(), revocation_reason = 5 "
     "WHERE id IN (SELECT certificate_id FROM t) AND status = 'pending' "
     "RETURNING id"},
    {S_REFUSALS, "INSERT INTO cmp_refusal_count (day, reason, count) VALUES "
     "(current_date, $1, $2) ON CONFLICT (day, reason) DO UPDATE SET count = "
     "cmp_refusal_count.count + EXCLUDED.count"},
    {NULL, NULL}
};

apr_status_t cmp_store_schema_version(apr_pool_t *p, PGconn *c, int *version)
{
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_SCHEMA, 0, NULL, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *version = (int)cmp_db_ll(r, 0, 0);
    return rv;
}

apr_status_t cmp_store_head(apr_pool_t *p, PGconn *c, int by_ra,
                            const char *name, cmp_store_head_t *h, int *found)
{
    const char *vals[1] = {name};
    PGresult *r;
    apr_status_t rv;

    rv = cmp_db_exec(p, c, by_ra ? S_HEAD_RA : S_HEAD_CMP, 1, vals, NULL, &r,
                     NULL);
    if (rv != APR_SUCCESS)
        return rv;
    *found = PQntuples(r) == 1;
    if (!*found)
        return APR_SUCCESS;
    h->cmp_id = cmp_db_ll(r, 0, 0);
    h->cmp_ver = cmp_db_ll(r, 0, 1);
    h->cmp_enabled = cmp_db_bool(r, 0, 2);
    h->ra_id = cmp_db_ll(r, 0, 3);
    h->ra_ver = cmp_db_ll(r, 0, 4);
    h->ra_enabled = cmp_db_bool(r, 0, 5);
    h->auth_id = cmp_db_ll(r, 0, 6);
    h->auth_ver = cmp_db_ll(r, 0, 7);
    h->auth_enabled = cmp_db_bool(r, 0, 8);
    return APR_SUCCESS;
}

apr_status_t cmp_store_load(apr_pool_t *p, PGconn *c, const char *stmt,
                            long long id, PGresult **r)
{
    const char *vals[1] = {apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)id)};
    apr_status_t rv = cmp_db_exec(p, c, stmt, 1, vals, NULL, r, NULL);

    if (rv == APR_SUCCESS && PQntuples(*r) != 1)
        return APR_NOTFOUND;
    return rv;
}

static const char *ll(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

apr_status_t cmp_store_issue(apr_pool_t *p, PGconn *c,
                             const cmp_store_issue_t *in, long long *cert_id,
                             const char **sqlstate)
{
    const char *vals[21];
    int lens[21] = {0};
    PGresult *r;
    apr_status_t rv;

#define BIN(i, ptr, n) (vals[i] = (const char *)(ptr), lens[i] = (ptr) ? (n) : 0)
    vals[0] = ll(p, in->authority_id);
    vals[1] = in->serial_hex;
    vals[2] = in->issuer_dn;
    vals[3] = in->subject_dn;
    vals[4] = in->sans;
    vals[5] = in->not_before;
    vals[6] = in->not_after;
    vals[7] = in->key_type;
    BIN(8, in->fpr, in->fpr_len);
    BIN(9, in->der, in->der_len);
    vals[10] = in->status;
    vals[11] = ll(p, in->ra_id);
    vals[12] = ll(p, in->cmp_id);
    BIN(13, in->tid, in->tid_len);
    vals[14] = ll(p, in->replaces_id);
    vals[15] = in->body_type;
    vals[16] = in->tx_state;
    BIN(17, in->cert_hash, in->hash_len);
    BIN(18, in->nonce, in->nonce_len);
    BIN(19, in->req_der, in->req_len);
    vals[20] = apr_psprintf(p, "%d", in->timeout_s);
#undef BIN
    if (strcmp(in->tx_state, "waiting_conf") == 0)
        rv = cmp_db_exec(p, c, S_ISSUE, 21, vals, lens, &r, sqlstate);
    else
        rv = cmp_db_exec(p, c, S_ISSUE_DONE, 15, vals, lens, &r, sqlstate);
    if (rv == APR_SUCCESS)
        *cert_id = cmp_db_ll(r, 0, 0);
    return rv;
}

apr_status_t cmp_store_tx_get(apr_pool_t *p, PGconn *c,
                              const unsigned char *tid, int tid_len,
                              cmp_store_tx_t *tx, int *found)
{
    const char *vals[1] = {(const char *)tid};
    int lens[1] = {tid_len};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_TX_GET, 1, vals, lens, &r, NULL);

    if (rv != APR_SUCCESS)
        return rv;
    *found = PQntuples(r) == 1;
    if (!*found)
        return APR_SUCCESS;
    tx->id = cmp_db_ll(r, 0, 0);
    tx->state = apr_pstrdup(p, PQgetvalue(r, 0, 1));
    tx->expired = cmp_db_bool(r, 0, 2);
    tx->nonce = cmp_db_bytea(p, r, 0, 3, &tx->nonce_len);
    tx->req_der = cmp_db_bytea(p, r, 0, 4, &tx->req_len);
    tx->cert_hash = cmp_db_bytea(p, r, 0, 5, &tx->hash_len);
    tx->cmp_id = cmp_db_ll(r, 0, 6);
    tx->ra_id = cmp_db_ll(r, 0, 7);
    tx->cert_der = cmp_db_bytea(p, r, 0, 8, &tx->cert_len);
    tx->cert_id = cmp_db_ll(r, 0, 9);
    return APR_SUCCESS;
}

apr_status_t cmp_store_tx_finish(apr_pool_t *p, PGconn *c, long long tx_id,
                                 int accepted, int *updated)
{
    const char *vals[2] = {ll(p, tx_id), accepted ? "true" : "false"};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_TX_FINISH, 2, vals, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *updated = PQntuples(r);
    return rv;
}

apr_status_t cmp_store_cert_get(apr_pool_t *p, PGconn *c,
                                long long authority_id, const char *serial_hex,
                                cmp_store_cert_t *out, int *found)
{
    const char *vals[2] = {ll(p, authority_id), serial_hex};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_CERT_GET, 2, vals, NULL, &r, NULL);

    if (rv != APR_SUCCESS)
        return rv;
    *found = PQntuples(r) == 1;
    if (*found) {
        out->id = cmp_db_ll(r, 0, 0);
        out->status = apr_pstrdup(p, PQgetvalue(r, 0, 1));
        out->ra_id = cmp_db_ll(r, 0, 2);
        out->expired = cmp_db_bool(r, 0, 3);
    }
    return APR_SUCCESS;
}

apr_status_t cmp_store_revoke(apr_pool_t *p, PGconn *c, long long cert_id,
                              int reason, const char *actor, int *updated)
{
    const char *vals[3] = {ll(p, cert_id), apr_psprintf(p, "%d", reason), actor};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_REVOKE, 3, vals, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *updated = PQntuples(r);
    return rv;
}

apr_status_t cmp_store_expire(apr_pool_t *p, PGconn *c, int *count)
{
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_EXPIRE, 0, NULL, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *count = PQntuples(r);
    return rv;
}

apr_status_t cmp_store_count_refusals(apr_pool_t *p, PGconn *c,
                                      const char *reason, unsigned n)
{
    const char *vals[2] = {reason, apr_psprintf(p, "%u", n)};
    PGresult *r;

    return cmp_db_exec(p, c, S_REFUSALS, 2, vals, NULL, &r, NULL);
}

const char *cmp_store_time(apr_pool_t *p, const ASN1_TIME *t)
{
    struct tm tm;
    char buf[40];

    if (!ASN1_TIME_to_tm(t, &tm))
        return NULL;
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S+00", &tm);
    return apr_pstrdup(p, buf);
}
