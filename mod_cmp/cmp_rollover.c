/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>

#include "cmp_db.h"
#include "cmp_log.h"
#include "cmp_rollover.h"
#include "cmp_store.h"

/* The successors due: each moves into its Authority and the key it
 * replaces becomes a retired row with the CRL state it had (its CRL stays
 * at its own URL; made anew at once, so that it lists what was revoked
 * while the promotion ran); the current key's CRL is made anew at once
 * (the job that promotes runs the CRL job next); the change is audited. A delegated OCSP signer was
 * certified by the old key, which no longer answers for new certificates:
 * it goes, and the Authority signs its responses itself until an
 * administrator issues another. */
#define SQL_PROMOTE \
    "WITH n AS (DELETE FROM authority_key k WHERE k.state = 'next' AND " \
    "k.active_from <= now() AND ($1::bigint = 0 OR k.authority_id = $1) " \
    "RETURNING k.*), " \
    "r AS (INSERT INTO authority_key (authority_id, generation, state, " \
    "ca_cert, ca_key_enc, retired_at, created_by, crl_changes, " \
    "crl_made_at_changes, crl_number, crl_this_update, crl_next_update, " \
    "crl_entries, crl_der, crl_made_ms) SELECT a.id, a.key_generation, " \
    "'retired', a.ca_cert, a.ca_key_enc, now(), n.created_by, " \
    "coalesce(c.changes, 0), -1, " \
    "coalesce(c.crl_number, 0), c.this_update, c.next_update, c.entries, " \
    "c.der, c.made_ms FROM n JOIN authority a ON a.id = n.authority_id " \
    "LEFT JOIN crl c ON c.authority_id = a.id), " \
    "cr AS (UPDATE crl SET der = NULL, changes = 0, made_at_changes = -1, " \
    "entries = NULL WHERE authority_id IN (SELECT authority_id FROM n)), " \
    "os AS (DELETE FROM ocsp_signer WHERE authority_id IN (SELECT " \
    "authority_id FROM n)), " \
    "u AS (UPDATE authority a SET ca_cert = n.ca_cert, ca_key_enc = " \
    "n.ca_key_enc, key_generation = n.generation, new_with_old = " \
    "n.new_with_old, old_with_new = n.old_with_new, updated_at = now() FROM " \
    "n WHERE a.id = n.authority_id RETURNING a.uuid, a.name, " \
    "a.key_generation, n.created_by, n.active_from), " \
    "au AS (" CMP_STORE_AUDIT_INSERT "SELECT 'mod_cmp: key rollover', " \
    "'mod_cmp.keyRollover', 'authority:' || u.uuid, u.name, 'key generation " \
    "' || u.key_generation || ' issues from now on (active from ' || " \
    "u.active_from || ', scheduled by ' || u.created_by || '); generation ' " \
    "|| (u.key_generation - 1) || ' retired', NULL FROM u) " \
    "SELECT name, key_generation FROM u"

/* RFC 9483 4.3.2 for a holder of root certificate $1 */
#define SQL_FIND \
    "SELECT k.ca_cert, k.new_with_old, k.old_with_new FROM authority a JOIN " \
    "authority_key k ON k.authority_id = a.id AND k.state = 'next' WHERE " \
    "a.ca_cert = $1 UNION ALL SELECT a.ca_cert, a.new_with_old, " \
    "a.old_with_new FROM authority a JOIN authority_key r ON r.authority_id " \
    "= a.id AND r.state = 'retired' AND r.generation = a.key_generation - 1 " \
    "WHERE r.ca_cert = $1 AND a.new_with_old IS NOT NULL LIMIT 1"

void cmp_rollover_certs_free(cmp_rollover_certs_t *c)
{
    X509_free(c->new_with_new);
    X509_free(c->new_with_old);
    X509_free(c->old_with_new);
    memset(c, 0, sizeof(*c));
}

apr_status_t cmp_rollover_make(const cmp_ca_t *old, EVP_PKEY *new_key,
                               int days, cmp_rollover_certs_t *out,
                               const char **why)
{
    const X509_NAME *subject = X509_get_subject_name(old->cert);
    cmp_ca_t fresh = {NULL, new_key, NULL};

    memset(out, 0, sizeof(*out));
    if (X509_check_issued(old->cert, old->cert) != X509_V_OK) {
        *why = "only a self-signed (root) Authority rolls its key over here: "
               "the new key of a subordinate CA is certified by its issuer";
        return APR_EINVAL;
    }
    if (X509_cmp_time(X509_get0_notAfter(old->cert), NULL) <= 0) {
        *why = "the Authority's certificate has expired: its key can no longer "
               "certify a successor (newWithOld)";
        return APR_EINVAL;
    }
    out->new_with_new = cmp_issue_root_ca(new_key, subject, days);
    fresh.cert = out->new_with_new;
    /* RFC 9810 4.4.1: the links last until the old key's certificate ends */
    if (out->new_with_new != NULL) {
        out->new_with_old = cmp_issue_link(old, new_key, subject, old->cert);
        out->old_with_new = cmp_issue_link(&fresh, X509_get0_pubkey(old->cert),
                                           subject, old->cert);
    }
    ERR_clear_error();
    if (out->new_with_new == NULL || out->new_with_old == NULL
            || out->old_with_new == NULL) {
        cmp_rollover_certs_free(out);
        *why = "the certificates of the rollover could not be made";
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t cmp_rollover_promote(apr_pool_t *p, PGconn *c, long long id,
                                  int *n)
{
    const char *vals[1];
    PGresult *r;
    apr_status_t rv;
    int i;

    vals[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)id);
    *n = 0;
    rv = cmp_db_query(p, c, SQL_PROMOTE, 1, vals, NULL, &r, NULL);
    if (rv != APR_SUCCESS)
        return rv;
    *n = PQntuples(r);
    for (i = 0; i < *n; i++)
        cmp_log(CMP_LOG_NOTICE, CMPLOGNO(10801) "Authority %s issues with its key of "
                "generation %s from now on; the previous key signs the CRL "
                "of the certificates it issued", PQgetvalue(r, i, 0),
                PQgetvalue(r, i, 1));
    return APR_SUCCESS;
}

apr_status_t cmp_rollover_find(apr_pool_t *p, PGconn *c,
                               const unsigned char *old, size_t old_len,
                               const unsigned char *der[3], size_t len[3],
                               int *found)
{
    const char *vals[1] = {(const char *)old};
    int lens[1] = {(int)old_len};
    PGresult *r;
    apr_status_t rv;
    int i;

    *found = 0;
    rv = cmp_db_query(p, c, SQL_FIND, 1, vals, lens, &r, NULL);
    if (rv != APR_SUCCESS || PQntuples(r) != 1)
        return rv;
    for (i = 0; i < 3; i++)
        if ((der[i] = cmp_db_bytea(p, r, 0, i, &len[i])) == NULL)
            return APR_SUCCESS;
    *found = 1;
    return APR_SUCCESS;
}

const char *cmp_rollover_file(apr_pool_t *p, const char *authority,
                              int generation, const char *ext)
{
    return generation == 0 ? apr_pstrcat(p, authority, ext, NULL)
                           : apr_psprintf(p, "%s(%d)%s", authority,
                                          generation, ext);
}

int cmp_rollover_parse(apr_pool_t *p, const char *base, const char **authority,
                       int *generation)
{
    const char *open = strchr(base, '(');
    size_t n = strlen(base);
    char *end;
    long g;

    *generation = 0;
    if (open == NULL) {
        *authority = base;
        return n > 0;
    }
    if (open == base || n < 3 || base[n - 1] != ')' || open[1] < '1'
            || open[1] > '9')
        return 0;
    g = strtol(open + 1, &end, 10);
    if (end != base + n - 1 || g < 1 || g > 1000000)
        return 0;
    *authority = apr_pstrndup(p, base, (apr_size_t)(open - base));
    *generation = (int)g;
    return 1;
}
