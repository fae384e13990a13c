/* SPDX-License-Identifier: Apache-2.0 */
/* CRLs of the local Authorities (RFC 5280 5): made by a background job
 * (cmp_crl_refresh) on one node at a time, stored in the database, served
 * from there by every node (cmp_crl_current). */
#ifndef CMP_CRL_H
#define CMP_CRL_H

#include <time.h>
#include <apr_pools.h>
#include <libpq-fe.h>
#include <openssl/x509.h>

#include "cmp_db.h"
#include "cmp_issue.h"
#include "cmp_secret.h"

/* The longest a revocation waits for its CRL, in seconds: the job runs
 * every CMP_CRL_INTERVAL_S on one child per node (mod_watchdog), plus the
 * time to make the CRL. */
#define CMP_CRL_INTERVAL_S 2

/* The class of the PostgreSQL advisory lock (two-key form, the Authority's
 * id the other key) a node holds while it makes that Authority's CRL. */
#define CMP_CRL_LOCK_CLASS 7301

/* An Authority's crlValiditySeconds: from thisUpdate to nextUpdate (the
 * database's check says the same). */
#define CMP_CRL_VALIDITY_MIN 300
#define CMP_CRL_VALIDITY_MAX 31622400
int cmp_crl_validity_ok(long long seconds);

/* An Authority's publicUrl (where the cmp-crl handler serves its CRL,
 * <publicUrl>/<name>.crl, and certificate, <publicUrl>/<name>.crt) or
 * ocspUrl (where cmp-ocsp answers, <ocspUrl>/<name>), as issued
 * certificates name them. NULL when url is one; else what is wrong, naming
 * the field (from p). */
const char *cmp_crl_url_problem(apr_pool_t *p, const char *field,
                                const char *url);

/* The extensions that point relying parties there: crlDistributionPoints
 * and authorityInfoAccess (OCSP, caIssuers), for the URLs given (NULL: not
 * that one); file names the CRL and certificate of the key that issues
 * (cmp_rollover_file without extension; NULL: the authority's name). NULL
 * when they cannot be made. */
STACK_OF(X509_EXTENSION) *cmp_crl_cert_exts(const char *public_url,
                                            const char *ocsp_url,
                                            const char *authority,
                                            const char *file);

/* The highest CRLReason (RFC 5280 5.3.1: aACompromise). */
#define CMP_CRL_REASON_MAX 10

typedef struct {
    const char *serial_hex;   /* lower-case hex, as the certificate table */
    time_t revoked_at;
    int reason;               /* CRLReason; 0 (unspecified) is left out */
    time_t invalidity;        /* invalidityDate; 0: none */
} cmp_crl_entry_t;

/* A signed v2 CRL of ca: CRL number, authorityKeyIdentifier, one entry per
 * revoked certificate with its reasonCode (RFC 5280 5.3.1), signed with
 * the CA key's default digest. NULL when it cannot be made. */
X509_CRL *cmp_crl_build(const cmp_ca_t *ca, long long number,
                        time_t this_update, time_t next_update,
                        const cmp_crl_entry_t *entries, int n);

/* The same CRL as cmp_crl_build makes (with the entries in the order
 * given, not sorted), as DER in *der (OPENSSL_free it) of *len bytes,
 * written in one pass: the entries are encoded directly, the rest by
 * OpenSSL, and the signature's AlgorithmIdentifier is the one the signing
 * context reports. cmp_crl_build would take several times as long for a
 * million entries (an object per entry, encoded twice). APR_EGENERAL when
 * it cannot be made (a serial that is not hex, a reason out of range, the
 * key). */
apr_status_t cmp_crl_encode(const cmp_ca_t *ca, long long number,
                            time_t this_update, time_t next_update,
                            const cmp_crl_entry_t *entries, int n,
                            unsigned char **der, size_t *len);

/* Makes and stores the CRL of every local Authority that needs one: none
 * yet, a revocation since the last one, or half of its validity passed.
 * One node makes an Authority's CRL at a time (a PostgreSQL advisory
 * lock); the others skip it. *made counts the CRLs made. A CRL that cannot
 * be made (the CA's key, the CRL itself) is named in *why (from p) and the
 * others are still made; when the database cannot be used, *why stays
 * NULL (the health check says so) and the next run tries again. */
apr_status_t cmp_crl_refresh(cmp_db_t *db, const cmp_secret_key_t *key,
                             apr_pool_t *p, int *made, const char **why);
/* The same run first lets the successors whose activeFrom has come take
 * over (cmp_rollover_promote), and makes the CRLs of retired keys too. */

typedef struct {
    const unsigned char *der;
    size_t len;
    long long number;
    time_t this_update, next_update;
} cmp_crl_doc_t;

/* The certificate (DER, from p) of a key of the local Authority with that
 * name: its current key for generation -1, else the key of that generation
 * (cmp_rollover.h); *found = 0 when there is none. */
apr_status_t cmp_crl_ca_cert(apr_pool_t *p, PGconn *c, const char *authority,
                             int generation, const unsigned char **der,
                             size_t *len, int *found);

/* The CRL of a key of the Authority with that name (by_uuid: that uuid, in
 * the canonical form the caller has checked): its current key's for
 * generation -1, else that generation's, from p; *found = 0 when it has
 * none yet (or there is no such Authority or key). */
apr_status_t cmp_crl_current(apr_pool_t *p, PGconn *c, const char *authority,
                             int by_uuid, int generation, cmp_crl_doc_t *doc,
                             int *found);

#endif
