/* SPDX-License-Identifier: Apache-2.0 */
/* A CMP Profile with its RA Profile and Authority, loaded once into a form
 * ready for requests (keys decrypted and parsed, trust store built) and kept
 * in a per-process cache that the database versions invalidate. */
#ifndef CMP_PROFILE_H
#define CMP_PROFILE_H

#include <apr_pools.h>
#include <libpq-fe.h>
#include <openssl/x509.h>

#include "cmp_issue.h"
#include "cmp_policy.h"
#include "cmp_secret.h"
#include "cmp_store.h"

typedef struct cmp_profile_t {
    int refs;
    long long cmp_id, cmp_ver, ra_id, ra_ver, auth_id, auth_ver;
    char *cmp_name, *ra_name, *auth_name, *variant;
    int speaks_v3;                 /* variant v3 where OpenSSL speaks cmp2021
                                    * (RFC 9810): known at load */
    int mac_requests;              /* ir/cr may be MAC-protected */
    int sig_responses;             /* responses are signed */
    unsigned char *secret;
    size_t secret_len;
    unsigned char *prev_secret;    /* the secret it replaced, accepted ... */
    size_t prev_secret_len;
    apr_time_t prev_until;         /* ... before this time; 0: none */
    X509 *signer;
    EVP_PKEY *signer_key;
    STACK_OF(X509) *signer_chain;
    X509_STORE *trust;             /* trust anchors and our CA */
    cmp_ca_t ca;
    int ca_generation;             /* which of the Authority's keys ca is */
    STACK_OF(X509) *ca_chain;
    X509 *root;                    /* the top of ca and ca_chain (borrowed) */
    STACK_OF(X509) *retired;       /* the CA's certificates of its retired
                                    * keys, whose certificates stay ours */
    char *crl_url;                 /* where its CRL is published, or NULL */
    /* v2_3gpp (TS 33.310 9.5): the extraCerts of every response (the
     * signer's chain, the CA and its chain up to the root) and the caPubs
     * of an ip (the operator's root); NULL for other variants */
    STACK_OF(X509) *extra_out;
    STACK_OF(X509) *root_out;
    int implicit_confirm;
    int confirm_timeout;
    int revoke_on_key_update;      /* a confirmed kur revokes (superseded)
                                    * the certificate it replaces */
    int mac_revocation;            /* rr may be MAC-protected */
    char *secret_ref;              /* the senderKID MAC requests carry; NULL:
                                    * any */
    int registrations_only;        /* MAC requests only with a device
                                    * registration's secret (cmp_device.h) */
    int has_devices;               /* the RA Profile has registrations */
    int require_approval;          /* RFC 9483 4.4: requests wait for an */
    int approval_timeout;          /* administrator's decision this long */
    int check_after;               /* (s); pollRep's checkAfter (s) */
    long long max_pending;         /* requests that may wait at a time */
    cmp_policy_t policy;
} cmp_profile_t;

typedef struct cmp_profile_cache_t cmp_profile_cache_t;

apr_status_t cmp_profile_cache_create(apr_pool_t *p,
                                      const cmp_secret_key_t *key,
                                      cmp_profile_cache_t **out);

/* The profile for head, loaded when the cache has no entry of these
 * versions. The reference is dropped when pool p is cleared. */
apr_status_t cmp_profile_get(cmp_profile_cache_t *cache, apr_pool_t *p,
                             PGconn *c, const cmp_store_head_t *head,
                             const cmp_profile_t **out);

/* The same from the cache alone (no database): APR_NOTFOUND when it holds
 * no entry of these versions. */
apr_status_t cmp_profile_peek(cmp_profile_cache_t *cache, apr_pool_t *p,
                              const cmp_store_head_t *head,
                              const cmp_profile_t **out);

/* Parse concatenated DER certificates. */
STACK_OF(X509) *cmp_profile_certs(const unsigned char *der, size_t len);

/* Whether this build speaks cmp2021 (pvno 3, RFC 9810), which a CMP
 * Profile of variant v3 speaks: NULL when it does (OpenSSL 3.2 and later);
 * else why not, in buf. */
const char *cmp_profile_v3_missing(char *buf, size_t len);

/* A name of a CMP Profile, RA Profile or Authority: 1 to 255 of
 * A-Z a-z 0-9 - . _ ~, so that it stands in a URL path as it is. */
int cmp_name_valid(const char *s);

#endif
