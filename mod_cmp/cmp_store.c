/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <apr_errno.h>
#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cmp_issue.h"
#include "cmp_ocsp.h"
#include "cmp_store.h"

#define S_SCHEMA "cmp_schema"
#define SQL_SCHEMA "SELECT coalesce(max(version), 0) FROM schema_version"
#define S_HEAD_CMP "cmp_head_cmp"
#define S_HEAD_RA "cmp_head_ra"
#define S_ISSUE "cmp_issue"
#define S_ISSUE_DONE "cmp_issue_done"
#define S_TX_GET "cmp_tx_get"
#define S_TX_FINISH "cmp_tx_finish"
#define S_CERT_GET "cmp_cert_get"
#define S_REVOKE "cmp_revoke"
#define S_RELEASE "cmp_release"
#define S_EXPIRE "cmp_expire"
#define S_REFUSALS "cmp_refusals"
#define S_TID_USED "cmp_tid_used"
#define S_RESENT "cmp_resent"
#define S_DEV_GET "cmp_dev_get"
#define S_DEV_FAIL "cmp_dev_fail"
#define S_PEND_COUNT "cmp_pend_count"
#define S_PEND_ADD "cmp_pend_add"
#define S_PEND_GET "cmp_pend_get"
#define S_PEND_NONCE "cmp_pend_nonce"
#define S_PEND_CLOSE "cmp_pend_close"
#define S_COUNT_COMPACT "cmp_count_compact"

/* An audit event of each certificate in x (a CTE returning id, uuid,
 * subject_dn, serial): the certificate's history. */
#define AUDIT_CERTS(actor, action, result, x) \
    "SELECT " actor "::text, " action ", 'certificate:' || x.uuid, " \
    CMP_STORE_CERT_NAME("x") ", " result ", x.id FROM " #x " x"
#define AUDIT_INSERT CMP_STORE_AUDIT_INSERT
#define CERT_KEYS "id, uuid, subject_dn, serial"
/* A device registration claimed by the certificate that uses it (d), and
 * the condition of that certificate's insert: no registration, or claimed */
#define DEVICE_CLAIM(n) "d AS (UPDATE device_registration SET state = 'used', " \
    "used_at = now(), transaction_id = $14, failures = 0 WHERE id = " \
    "nullif(" n "::bigint, 0) AND state = 'active' AND expires_at > now() " \
    "RETURNING id)"
#define DEVICE_CLAIMED(n) "WHERE " n "::bigint = 0 OR EXISTS (SELECT 1 FROM d)"
/* the action of an issuance: the CMP body (cmp.ir, ...), or the admin
 * API's own name for what it issued (admin.issueSigningCertificate) */
#define ISSUE_ACTION(n) "CASE WHEN " n "::text LIKE 'admin.%' THEN " n "::text " \
    "ELSE 'cmp.' || " n "::text END"
/* an approved request (pending_request) delivered by the certificate c */
#define PENDING_DELIVERED(n) ", q AS (UPDATE pending_request SET state = " \
    "'delivered', certificate_id = (SELECT id FROM c) WHERE " n "::boolean " \
    "AND transaction_id = $14 AND state = 'approved')"

#define HEAD_COLS \
    "c.id, c.version, c.enabled, r.id, r.version, r.enabled, " \
    "a.id, a.version, a.enabled "

const cmp_db_stmt_t cmp_store_stmts[] = {
    {S_SCHEMA, SQL_SCHEMA},
    {S_HEAD_CMP, "SELECT " HEAD_COLS
     "FROM cmp_profile c LEFT JOIN ra_profile r ON r.id = c.default_ra_profile_id "
     "LEFT JOIN authority a ON a.id = r.authority_id WHERE c.name = $1"},
    {S_HEAD_RA, "SELECT " HEAD_COLS
     "FROM ra_profile r JOIN authority a ON a.id = r.authority_id "
     "LEFT JOIN cmp_profile c ON c.id = r.cmp_profile_id WHERE r.name = $1"},
    {"cmp_load_cmp", "SELECT p.name, p.request_protection, "
     "p.response_protection, p.shared_secret_enc, s.cert, s.chain, s.key_enc, "
     "p.trust_anchors, p.allow_implicit_confirm, p.confirm_timeout_s, p.variant, "
     "p.revoke_on_key_update, p.allow_mac_revocation, p.shared_secret_reference, "
     "p.previous_secret_enc, extract(epoch FROM p.previous_secret_until)::bigint, "
     "p.registrations_only "
     "FROM cmp_profile p LEFT JOIN signing_credential s "
     "ON s.id = p.signing_credential_id WHERE p.id = $1"},
    {"cmp_load_ra", "SELECT name, validity_days, "
     "array_to_string(allowed_key_types, ','), min_security_bits, "
     "subject_pattern, allow_san, key_usage, extended_key_usage, "
     "array_to_string(allowed_ec_curves, ','), allow_kur_identity_change, "
     "key_usage_from_request, has_device_registrations, require_approval, "
     "approval_timeout_s, approval_check_after_s, max_pending_approvals, "
     "central_key_type FROM ra_profile WHERE id = $1"},
    {"cmp_load_authority", "SELECT name, ca_cert, ca_chain, ca_key_enc, kind, "
     "public_url, ocsp_url, key_generation, old_with_new, (SELECT "
     "string_agg(k.ca_cert, ''::bytea ORDER BY k.generation) FROM authority_key "
     "k WHERE k.authority_id = $1 AND k.state = 'retired') "
     "FROM authority WHERE id = $1"},
    {S_ISSUE, "WITH " DEVICE_CLAIM("$25") ", c AS (INSERT INTO certificate ("
     "authority_id, serial, issuer_dn, subject_dn, sans, not_before, not_after, "
     "key_type, key_fingerprint, der, status, ra_profile_id, cmp_profile_id, "
     "transaction_id, replaces_id, request_hash, device_registration_id, "
     "ca_generation) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
     "$13, $14, nullif($15, 0), $16, (SELECT id FROM d), $27 " DEVICE_CLAIMED("$25")
     " RETURNING " CERT_KEYS "), a AS (" AUDIT_INSERT
     AUDIT_CERTS("$24", "'cmp.' || $17::text", "'issued, awaiting certConf'", c)
     " WHERE $24::text IS NOT NULL)" PENDING_DELIVERED("$26") " INSERT INTO cmp_transaction (transaction_id, "
     "cmp_profile_id, ra_profile_id, body_type, state, certificate_id, "
     "cert_hash, sender_nonce, request_der, expires_at, response_der) SELECT "
     "$14, $13, $12, $17, $18, c.id, $19, $20, $21, now() + "
     "make_interval(secs => $22), $23 FROM c RETURNING certificate_id"},
    /* a valid certificate that replaces another (kur, implicitly confirmed)
     * supersedes it when its CMP Profile says so (RFC 9483 4.1.3) */
    {S_ISSUE_DONE, "WITH " DEVICE_CLAIM("$19") ", c AS (INSERT INTO certificate ("
     "authority_id, serial, issuer_dn, subject_dn, sans, not_before, not_after, "
     "key_type, key_fingerprint, der, status, ra_profile_id, cmp_profile_id, "
     "transaction_id, replaces_id, request_hash, device_registration_id, "
     "ca_generation) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
     "nullif($12::bigint, 0), nullif($13::bigint, 0), $14, nullif($15, 0), $16, "
     "(SELECT id FROM d), $21 " DEVICE_CLAIMED("$19")
     " RETURNING " CERT_KEYS "), s AS (UPDATE certificate "
     "SET status = 'revoked', revocation_reason = 4, revoked_at = now() WHERE id = "
     "nullif($15::bigint, 0) AND status = 'valid' AND $11 = 'valid' AND "
     "(SELECT revoke_on_key_update FROM cmp_profile WHERE id = "
     "nullif($13::bigint, 0)) RETURNING " CERT_KEYS "), a AS (" AUDIT_INSERT
     AUDIT_CERTS("$18", ISSUE_ACTION("$17"), "'issued'", c) " WHERE $18::text IS NOT NULL "
     "UNION ALL " AUDIT_CERTS("$18", "'cmp.' || $17::text", "'revoked: superseded by "
     "the key update'", s) " WHERE $18::text IS NOT NULL)" PENDING_DELIVERED("$20")
     " SELECT id FROM c"},
    {S_DEV_GET, "SELECT id, secret_enc, subject_dn, array_to_string(sans, "
     "E'\\n'), state, expires_at <= now(), transaction_id FROM "
     "device_registration WHERE ra_profile_id = $1 AND sender_kid = $2"},
    {S_DEV_FAIL, "WITH u AS (UPDATE device_registration SET failures = "
     "failures + 1, last_failure = $2, last_failure_at = now(), state = CASE "
     "WHEN state = 'active' AND failures + 1 >= max_failures THEN 'locked' "
     "ELSE state END WHERE id = $1 RETURNING uuid, sender_kid, state, "
     "failures), a AS (" AUDIT_INSERT "SELECT $3::text, "
     "'cmp.deviceRegistration.lock', 'deviceRegistration:' || u.uuid, "
     "u.sender_kid, 'locked after ' || u.failures || ' failed attempts', NULL "
     "FROM u WHERE u.state = 'locked' AND u.failures = (SELECT max_failures "
     "FROM device_registration WHERE id = $1)) SELECT state FROM u"},
    {S_PEND_COUNT, "SELECT count(*) FROM pending_request WHERE ra_profile_id = $1 "
     "AND state = 'waiting' AND expires_at > now()"},
    {S_PEND_ADD, "WITH p AS (INSERT INTO pending_request (transaction_id, "
     "ra_profile_id, cmp_profile_id, body_type, request_der, request_hash, "
     "response_der, last_nonce, subject_dn, sans, key_type, sender, expires_at) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now() + "
     "make_interval(secs => $13::int)) ON CONFLICT (transaction_id) DO NOTHING "
     "RETURNING uuid, subject_dn, body_type, sender), a AS (" AUDIT_INSERT
     "SELECT p.sender, 'cmp.' || p.body_type, 'approval:' || p.uuid, "
     "p.subject_dn, 'waiting for approval', NULL FROM p) SELECT uuid FROM p"},
    {S_PEND_GET, "SELECT id, cmp_profile_id, ra_profile_id, body_type, "
     "request_der, request_hash, response_der, state, expires_at <= now(), "
     "last_nonce, coalesce(reason, ''), coalesce(decided_by, ''), "
     "extract(epoch FROM expires_at - created_at)::bigint FROM pending_request "
     "WHERE transaction_id = $1"},
    {S_PEND_NONCE, "UPDATE pending_request SET last_nonce = $2 WHERE id = $1"},
    /* a waiting request that expired, or a rejection said to its poller */
    {S_PEND_CLOSE, "WITH p AS (UPDATE pending_request SET state = CASE WHEN "
     "state = 'waiting' THEN 'expired' ELSE state END, decided_at = coalesce("
     "decided_at, now()), last_nonce = $2 WHERE id = $1 AND state IN "
     "('waiting', 'rejected') RETURNING uuid, subject_dn, state, body_type, "
     "sender), a AS (" AUDIT_INSERT "SELECT p.sender, 'cmp.pollReq', 'approval:' "
     "|| p.uuid, p.subject_dn, CASE p.state WHEN 'expired' THEN 'expired "
     "before a decision, said to the poller' ELSE 'rejection said to the "
     "poller' END, NULL FROM p) SELECT state FROM p"},
    {S_TX_GET, "SELECT t.id, t.state, t.expires_at < now(), t.sender_nonce, "
     "t.request_der, t.cert_hash, t.cmp_profile_id, t.ra_profile_id, c.der, "
     "c.id, t.conf_hash FROM cmp_transaction t JOIN certificate c ON c.id = "
     "t.certificate_id WHERE t.transaction_id = $1"},
    /* ... and so does one confirmed by certConf */
    /* the request stays until the transaction's expiry: a resent certConf
     * is answered through it (cmp_srv_prepare_certconf) */
    {S_TX_FINISH, "WITH t AS (UPDATE cmp_transaction SET state = "
     "CASE WHEN $2 THEN 'confirmed' ELSE 'rejected' END, updated_at = now(), "
     "conf_hash = $3, response_der = NULL WHERE id = $1 AND state = "
     "'waiting_conf' "
     "RETURNING certificate_id, cmp_profile_id), c AS (UPDATE certificate SET "
     "status = CASE WHEN $2 THEN 'valid' ELSE 'rejected' END, "
     "revoked_at = CASE WHEN $2 THEN NULL ELSE now() END, "
     "revocation_reason = CASE WHEN $2 THEN NULL ELSE 5 END "
     "WHERE id IN (SELECT certificate_id FROM t) AND status = 'pending' "
     "RETURNING " CERT_KEYS ", replaces_id), s AS (UPDATE certificate o SET status = "
     "'revoked', revocation_reason = 4, revoked_at = now() FROM c WHERE $2 "
     "AND o.id = c.replaces_id AND o.status = 'valid' AND (SELECT "
     "p.revoke_on_key_update FROM cmp_profile p JOIN t ON p.id = "
     "t.cmp_profile_id) RETURNING o.id, o.uuid, o.subject_dn, o.serial), a AS ("
     AUDIT_INSERT AUDIT_CERTS("$4", "'cmp.certConf'", "CASE WHEN $2 THEN "
     "'accepted' ELSE 'rejected by the client' END", c) " WHERE $4::text IS NOT "
     "NULL UNION ALL " AUDIT_CERTS("$4", "'cmp.certConf'", "'revoked: superseded "
     "by the key update'", s) " WHERE $4::text IS NOT NULL) SELECT id FROM c"},
    {S_CERT_GET, "SELECT c.id, c.status, coalesce(c.ra_profile_id, 0), "
     "c.not_after < now(), EXISTS (SELECT 1 FROM certificate r WHERE "
     "r.replaces_id = c.id AND r.status = 'pending') FROM certificate c "
     "WHERE c.authority_id = $1 AND c.serial = $2"},
    /* a certificate on hold (certificateHold) may be revoked for good: its
     * revocation date stays the hold's, since when it was not to be relied
     * on */
    {S_REVOKE, "WITH c AS (UPDATE certificate SET status = 'revoked', "
     "revocation_reason = $2, revoked_at = CASE WHEN status = 'valid' THEN "
     "now() ELSE revoked_at END, invalidity_date = CASE WHEN $4::bigint > 0 "
     "THEN to_timestamp($4) ELSE invalidity_date END WHERE id = $1 AND "
     "(status = 'valid' OR "
     "(status = 'revoked' AND revocation_reason = 6 AND $2::int <> 6)) "
     "RETURNING " CERT_KEYS "), a AS (" AUDIT_INSERT AUDIT_CERTS("$3", "'cmp.revoke'",
     "'revoked, CRLReason ' || $2", c) " WHERE $3::text IS NOT NULL) SELECT id FROM c"},
    {S_RELEASE, "UPDATE certificate SET status = 'valid', revocation_reason "
     "= NULL, revoked_at = NULL, invalidity_date = NULL WHERE id = $1 AND "
     "status = 'revoked' AND "
     "revocation_reason = 6 RETURNING id"},
    /* the certificate counts' deltas folded in (sql/013): what another
     * node folds at the same time is deleted by one of them only */
    {S_COUNT_COMPACT, "WITH d AS (DELETE FROM certificate_count_delta "
     "RETURNING kind, day, status, n), f AS (INSERT INTO certificate_count "
     "(kind, day, status, n) SELECT kind, day, status, sum(n) FROM d GROUP BY "
     "1, 2, 3 ON CONFLICT (kind, day, status) DO UPDATE SET n = "
     "certificate_count.n + EXCLUDED.n) SELECT count(*) FROM d"},
    {S_EXPIRE, "WITH t AS (UPDATE cmp_transaction SET state = 'expired', "
     "updated_at = now(), request_der = NULL, response_der = NULL WHERE "
     "state = 'waiting_conf' AND expires_at < now() RETURNING certificate_id), "
     "k AS (UPDATE cmp_transaction SET request_der = NULL WHERE request_der IS "
     "NOT NULL AND state <> 'waiting_conf' AND expires_at < now()), "
     "x AS (UPDATE certificate "
     "SET status = 'rejected', revoked_at = now(), revocation_reason = 5 "
     "WHERE id IN (SELECT certificate_id FROM t) AND status = 'pending' "
     "RETURNING " CERT_KEYS "), a AS (" AUDIT_INSERT AUDIT_CERTS("'mod_cmp: "
     "confirmation sweep'", "'cmp.confirmTimeout'", "'rejected: no certConf in "
     "time'", x) ") SELECT id FROM x"},
    {S_RESENT, "SELECT c.der, c.request_hash, c.status, t.state, t.response_der, "
     "coalesce(c.cmp_profile_id, 0), coalesce(c.ra_profile_id, 0) FROM "
     "certificate c LEFT JOIN cmp_transaction t ON t.certificate_id = c.id "
     "WHERE c.transaction_id = $1"},
    {S_TID_USED, "SELECT EXISTS (SELECT 1 FROM certificate WHERE transaction_id "
     "= $1) OR EXISTS (SELECT 1 FROM cmp_transaction WHERE transaction_id = $1)"},
    {S_REFUSALS, "INSERT INTO cmp_refusal_count (day, reason, count) VALUES "
     "(current_date, $1, $2) ON CONFLICT (day, reason) DO UPDATE SET count = "
     "cmp_refusal_count.count + EXCLUDED.count"},
    CMP_OCSP_STATEMENTS,
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

int cmp_store_schema_supported(int version)
{
    return version >= CMP_SCHEMA_VERSION && version <= CMP_SCHEMA_VERSION + 1;
}

apr_status_t cmp_store_check_schema(apr_pool_t *p, PGconn *conn,
                                    const char **why)
{
    PGresult *r = PQexec(conn, SQL_SCHEMA);
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int version;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        *why = state != NULL && strcmp(state, "42P01") == 0
               ? "the database holds no mod_cmp schema: apply the migrations "
                 "(cmp-db-migrate, or scripts/db-migrate.sh)"
               : apr_psprintf(p, "cannot read the schema version: %s",
                              cmp_db_text(p, PQresultErrorMessage(r)));
        PQclear(r);
        return APR_EGENERAL;
    }
    version = (int)cmp_db_ll(r, 0, 0);
    PQclear(r);
    if (cmp_store_schema_supported(version))
        return APR_SUCCESS;
    *why = version < CMP_SCHEMA_VERSION
           ? apr_psprintf(p, "the database schema is version %d, this mod_cmp "
                          "needs %d (or %d): apply the migrations (cmp-db-migrate, "
                          "or scripts/db-migrate.sh)", version, CMP_SCHEMA_VERSION,
                          CMP_SCHEMA_VERSION + 1)
           : apr_psprintf(p, "the database schema is version %d, newer than this "
                          "mod_cmp can use (%d or %d): upgrade mod_cmp on this "
                          "node", version, CMP_SCHEMA_VERSION, CMP_SCHEMA_VERSION + 1);
    return APR_EGENERAL;
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

/* SANs as OpenSSL prints them: "DNS:a, IP Address:10.0.0.1". */
static const char *san_text(apr_pool_t *p, X509 *cert)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    apr_array_header_t *names = cmp_issue_names_text(p, sans);
    const char *out = "";
    int i;

    for (i = 0; i < names->nelts; i++)
        out = apr_pstrcat(p, out, i ? ", " : "", APR_ARRAY_IDX(names, i, const char *),
                          NULL);
    GENERAL_NAMES_free(sans);
    return out;
}

apr_status_t cmp_store_cert_columns(apr_pool_t *p, X509 *cert,
                                    const char *key_type, cmp_store_issue_t *in)
{
    unsigned char *der = NULL, fpr[EVP_MAX_MD_SIZE];
    unsigned int fpr_len = 0;
    int der_len;

    if (key_type == NULL)
        key_type = EVP_PKEY_get0_type_name(X509_get0_pubkey(cert));
    in->serial_hex = cmp_issue_serial_hex(p, X509_get0_serialNumber(cert));
    in->issuer_dn = cmp_issue_name_text(p, X509_get_issuer_name(cert));
    in->subject_dn = cmp_issue_name_text(p, X509_get_subject_name(cert));
    in->sans = san_text(p, cert);
    in->not_before = cmp_store_time(p, X509_get0_notBefore(cert));
    in->not_after = cmp_store_time(p, X509_get0_notAfter(cert));
    in->key_type = key_type != NULL ? key_type : "unknown";
    if (!X509_pubkey_digest(cert, EVP_sha256(), fpr, &fpr_len)
            || (der_len = i2d_X509(cert, &der)) <= 0)
        return APR_EGENERAL;
    in->fpr = apr_pmemdup(p, fpr, fpr_len);
    in->fpr_len = (int)fpr_len;
    in->der = apr_pmemdup(p, der, (apr_size_t)der_len);
    in->der_len = der_len;
    OPENSSL_free(der);
    return APR_SUCCESS;
}

apr_status_t cmp_store_issue(apr_pool_t *p, PGconn *c,
                             const cmp_store_issue_t *in, long long *cert_id,
                             const char **sqlstate)
{
    const char *vals[27];
    int lens[27] = {0};
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
    BIN(15, in->req_hash, in->req_hash_len);
    vals[16] = in->body_type;
    vals[17] = in->tx_state;
    BIN(18, in->cert_hash, in->hash_len);
    BIN(19, in->nonce, in->nonce_len);
    BIN(20, in->req_der, in->req_len);
    vals[21] = apr_psprintf(p, "%d", in->timeout_s);
    BIN(22, in->rsp_der, in->rsp_len);
    vals[23] = in->actor;
    vals[24] = ll(p, in->device_id);
    vals[25] = in->approved ? "true" : "false";
    vals[26] = apr_psprintf(p, "%d", in->ca_generation);
#undef BIN
    if (in->tx_state != NULL && strcmp(in->tx_state, "waiting_conf") == 0) {
        rv = cmp_db_exec(p, c, S_ISSUE, 27, vals, lens, &r, sqlstate);
    } else {
        vals[17] = in->actor;        /* $18 of S_ISSUE_DONE */
        vals[18] = vals[24];         /* $19 */
        vals[19] = vals[25];         /* $20 */
        vals[20] = vals[26];         /* $21 */
        lens[18] = lens[19] = lens[20] = 0;
        rv = cmp_db_exec(p, c, S_ISSUE_DONE, 21, vals, lens, &r, sqlstate);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (PQntuples(r) != 1)           /* the registration was not claimed */
        return APR_NOTFOUND;
    *cert_id = cmp_db_ll(r, 0, 0);
    return APR_SUCCESS;
}

apr_status_t cmp_store_device_get(apr_pool_t *p, PGconn *c, long long ra_id,
                                  const char *kid, cmp_store_device_t *out,
                                  int *found)
{
    const char *vals[2] = {ll(p, ra_id), kid};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_DEV_GET, 2, vals, NULL, &r, NULL);

    if (rv != APR_SUCCESS)
        return rv;
    *found = PQntuples(r) == 1;
    if (!*found)
        return APR_SUCCESS;
    out->id = cmp_db_ll(r, 0, 0);
    out->secret_enc = cmp_db_bytea(p, r, 0, 1, &out->secret_len);
    out->subject_dn = apr_pstrdup(p, PQgetvalue(r, 0, 2));
    out->sans = apr_pstrdup(p, PQgetvalue(r, 0, 3));
    out->state = apr_pstrdup(p, PQgetvalue(r, 0, 4));
    out->expired = cmp_db_bool(r, 0, 5);
    out->tid = cmp_db_bytea(p, r, 0, 6, &out->tid_len);
    return APR_SUCCESS;
}

apr_status_t cmp_store_device_failed(apr_pool_t *p, PGconn *c, long long id,
                                     const char *why, const char *actor)
{
    const char *vals[3] = {ll(p, id), why, actor};
    PGresult *r;

    return cmp_db_exec(p, c, S_DEV_FAIL, 3, vals, NULL, &r, NULL);
}

apr_status_t cmp_store_pending_count(apr_pool_t *p, PGconn *c, long long ra_id,
                                    long long *n)
{
    const char *vals[1] = {ll(p, ra_id)};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_PEND_COUNT, 1, vals, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *n = cmp_db_ll(r, 0, 0);
    return rv;
}

apr_status_t cmp_store_pending_add(apr_pool_t *p, PGconn *c,
                                   const cmp_store_pending_t *in, int *added)
{
    const char *vals[13];
    int lens[13] = {0};
    PGresult *r;
    apr_status_t rv;

    vals[0] = (const char *)in->tid;
    lens[0] = (int)in->tid_len;
    vals[1] = ll(p, in->ra_id);
    vals[2] = ll(p, in->cmp_id);
    vals[3] = in->body_type;
    vals[4] = (const char *)in->req_der;
    lens[4] = (int)in->req_len;
    vals[5] = (const char *)in->req_hash;
    lens[5] = (int)in->req_hash_len;
    vals[6] = (const char *)in->rsp_der;
    lens[6] = (int)in->rsp_len;
    vals[7] = (const char *)in->nonce;
    lens[7] = (int)in->nonce_len;
    vals[8] = in->subject_dn;
    vals[9] = in->sans;
    vals[10] = in->key_type;
    vals[11] = in->sender;
    vals[12] = apr_psprintf(p, "%d", in->timeout_s);
    rv = cmp_db_exec(p, c, S_PEND_ADD, 13, vals, lens, &r, NULL);
    if (rv == APR_SUCCESS)
        *added = PQntuples(r) == 1;
    return rv;
}

apr_status_t cmp_store_pending_get(apr_pool_t *p, PGconn *c,
                                   const unsigned char *tid, int tid_len,
                                   cmp_store_pending_t *out, int *found)
{
    const char *vals[1] = {(const char *)tid};
    int lens[1] = {tid_len};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_PEND_GET, 1, vals, lens, &r, NULL);

    if (rv != APR_SUCCESS)
        return rv;
    *found = PQntuples(r) == 1;
    if (!*found)
        return APR_SUCCESS;
    memset(out, 0, sizeof(*out));
    out->id = cmp_db_ll(r, 0, 0);
    out->cmp_id = cmp_db_ll(r, 0, 1);
    out->ra_id = cmp_db_ll(r, 0, 2);
    out->body_type = apr_pstrdup(p, PQgetvalue(r, 0, 3));
    out->req_der = cmp_db_bytea(p, r, 0, 4, &out->req_len);
    out->req_hash = cmp_db_bytea(p, r, 0, 5, &out->req_hash_len);
    out->rsp_der = cmp_db_bytea(p, r, 0, 6, &out->rsp_len);
    out->state = apr_pstrdup(p, PQgetvalue(r, 0, 7));
    out->expired = cmp_db_bool(r, 0, 8);
    out->nonce = cmp_db_bytea(p, r, 0, 9, &out->nonce_len);
    out->reason = apr_pstrdup(p, PQgetvalue(r, 0, 10));
    out->decided_by = apr_pstrdup(p, PQgetvalue(r, 0, 11));
    out->timeout_s = (int)cmp_db_ll(r, 0, 12);
    return APR_SUCCESS;
}

apr_status_t cmp_store_pending_nonce(apr_pool_t *p, PGconn *c, long long id,
                                     const unsigned char *nonce, int nonce_len,
                                     int close)
{
    const char *vals[2] = {ll(p, id), (const char *)nonce};
    int lens[2] = {0, nonce_len};
    PGresult *r;

    return cmp_db_exec(p, c, close ? S_PEND_CLOSE : S_PEND_NONCE, 2, vals,
                       lens, &r, NULL);
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
    tx->conf_hash = cmp_db_bytea(p, r, 0, 10, &tx->conf_hash_len);
    return APR_SUCCESS;
}

apr_status_t cmp_store_resent_get(apr_pool_t *p, PGconn *c,
                                  const unsigned char *tid, int tid_len,
                                  cmp_store_resent_t *out, int *found)
{
    const char *vals[1] = {(const char *)tid};
    int lens[1] = {tid_len};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_RESENT, 1, vals, lens, &r, NULL);

    if (rv != APR_SUCCESS)
        return rv;
    *found = PQntuples(r) == 1;
    if (!*found)
        return APR_SUCCESS;
    out->cert_der = cmp_db_bytea(p, r, 0, 0, &out->cert_len);
    out->req_hash = cmp_db_bytea(p, r, 0, 1, &out->req_hash_len);
    out->status = apr_pstrdup(p, PQgetvalue(r, 0, 2));
    out->tx_state = PQgetisnull(r, 0, 3) ? NULL : apr_pstrdup(p, PQgetvalue(r, 0, 3));
    out->rsp_der = cmp_db_bytea(p, r, 0, 4, &out->rsp_len);
    out->cmp_id = cmp_db_ll(r, 0, 5);
    out->ra_id = cmp_db_ll(r, 0, 6);
    return APR_SUCCESS;
}

apr_status_t cmp_store_tid_used(apr_pool_t *p, PGconn *c,
                               const unsigned char *tid, int tid_len, int *used)
{
    const char *vals[1] = {(const char *)tid};
    int lens[1] = {tid_len};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_TID_USED, 1, vals, lens, &r, NULL);

    if (rv == APR_SUCCESS)
        *used = cmp_db_bool(r, 0, 0);
    return rv;
}

apr_status_t cmp_store_tx_finish(apr_pool_t *p, PGconn *c, long long tx_id,
                                 int accepted, const unsigned char *conf_hash,
                                 int conf_hash_len, const char *actor,
                                 int *updated)
{
    const char *vals[4] = {ll(p, tx_id), accepted ? "true" : "false",
                           (const char *)conf_hash, actor};
    int lens[4] = {0, 0, conf_hash != NULL ? conf_hash_len : 0, 0};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_TX_FINISH, 4, vals, lens, &r, NULL);

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
        out->being_replaced = cmp_db_bool(r, 0, 4);
    }
    return APR_SUCCESS;
}

apr_status_t cmp_store_revoke(apr_pool_t *p, PGconn *c, long long cert_id,
                              int reason, long long invalidity,
                              const char *actor, int *updated)
{
    const char *vals[4] = {ll(p, cert_id), apr_psprintf(p, "%d", reason), actor,
                           ll(p, invalidity)};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_REVOKE, 4, vals, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *updated = PQntuples(r);
    return rv;
}

static const char *const revocation_reasons[] = {
    "unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
    "superseded", "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn", "aACompromise"
};

apr_status_t cmp_store_release(apr_pool_t *p, PGconn *c, long long cert_id,
                               int *updated)
{
    const char *vals[1] = {ll(p, cert_id)};
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_RELEASE, 1, vals, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *updated = PQntuples(r);
    return rv;
}

const char *cmp_store_invalidity_problem(apr_pool_t *p, long long when,
                                         long long now)
{
    if (when <= 0)
        return "the invalidity date must lie after 1970";
    if (when > now + CMP_STORE_INVALIDITY_SKEW_S)
        return apr_psprintf(p, "the invalidity date lies %" APR_INT64_T_FMT
                            " s in the future (RFC 5280 5.3.2: when the "
                            "certificate became invalid)",
                            (apr_int64_t)(when - now));
    return NULL;
}

int cmp_store_revocation_reason_ok(int code)
{
    return code >= 0 && code <= 10 && code != 7 && code != 8;
}

int cmp_store_revocation_reason_code(const char *name)
{
    int i;

    for (i = 0; i <= 10; i++)
        if (revocation_reasons[i] != NULL && strcmp(revocation_reasons[i], name) == 0)
            return i;
    return -1;
}

apr_status_t cmp_store_expire(apr_pool_t *p, PGconn *c, int *count)
{
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_EXPIRE, 0, NULL, NULL, &r, NULL);

    if (rv == APR_SUCCESS)
        *count = PQntuples(r);
    return rv;
}

apr_status_t cmp_store_compact_counts(apr_pool_t *p, PGconn *c, long long *folded)
{
    PGresult *r;
    apr_status_t rv = cmp_db_exec(p, c, S_COUNT_COMPACT, 0, NULL, NULL, &r, NULL);

    *folded = rv == APR_SUCCESS ? cmp_db_ll(r, 0, 0) : 0;
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
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrdup(p, buf);
}
