/* SPDX-License-Identifier: Apache-2.0 */
/* CA key rollover (RFC 9810 4.4, RFC 9483 4.3.2). An Authority's keys are
 * numbered by generation; the authority row holds the key it issues with,
 * a successor waits in authority_key until its activeFrom, when
 * cmp_rollover_promote moves it in and retires the old key, which keeps
 * signing the CRL of the certificates it issued (cmp_crl). */
#ifndef CMP_ROLLOVER_H
#define CMP_ROLLOVER_H

#include <apr_pools.h>
#include <libpq-fe.h>
#include <openssl/x509.h>

#include "cmp_issue.h"

/* The three certificates of a rollover (RFC 9810 4.4.1). */
typedef struct {
    X509 *new_with_new;     /* the new self-signed CA certificate */
    X509 *new_with_old;     /* the new public key, signed with the old key */
    X509 *old_with_new;     /* the old public key, signed with the new key */
} cmp_rollover_certs_t;

/* The rollover of the self-signed CA old to new_key: newWithNew with the
 * old certificate's subject, valid for days from now; the links from now
 * until the old certificate ends. APR_EINVAL with *why when old is not
 * self-signed (its issuer would have to certify the new key) or a
 * certificate cannot be made. */
apr_status_t cmp_rollover_make(const cmp_ca_t *old, EVP_PKEY *new_key,
                               int days, cmp_rollover_certs_t *out,
                               const char **why);
void cmp_rollover_certs_free(cmp_rollover_certs_t *c);

/* Moves every successor whose activeFrom has come (of the Authority with
 * that id only, when id > 0) into its Authority, in one statement that
 * retires the old key; *n counts them. */
apr_status_t cmp_rollover_promote(apr_pool_t *p, PGconn *c, long long id,
                                  int *n);

/* The root CA key update for a holder of the root certificate old (DER):
 * when old is an Authority's current key and a successor waits, the
 * successor's newWithNew and links; when old is the key its Authority just
 * retired, the current key's. *found = 0: no update (from p). */
apr_status_t cmp_rollover_find(apr_pool_t *p, PGconn *c,
                               const unsigned char *old, size_t old_len,
                               const unsigned char *der[3], size_t len[3],
                               int *found);

/* The file name under publicUrl of a generation's CRL (".crl") or CA
 * certificate (".crt"): <name><ext> for generation 0, <name>(g)<ext> after
 * rollovers (from p). */
const char *cmp_rollover_file(apr_pool_t *p, const char *authority,
                              int generation, const char *ext);

/* The Authority name and generation a file name of cmp_rollover_file
 * names, without its extension (base: "ca(2)" -> "ca", 2); 0 when it is
 * not one. */
int cmp_rollover_parse(apr_pool_t *p, const char *base, const char **authority,
                       int *generation);

#endif
