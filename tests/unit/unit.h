/* SPDX-License-Identifier: Apache-2.0 */
/* Shared fixtures of the Check unit tests. */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <apr_pools.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmp_db.h"
#include "cmp_issue.h"
#include "cmp_secret.h"

extern apr_pool_t *upool;          /* fresh for every test (fixture) */
void unit_pool_setup(void);
void unit_pool_teardown(void);

/* Bytes OpenSSL holds right now (counted by our allocator). */
long unit_openssl_live(void);
/* Blocks Jansson holds right now (counted by our allocator). */
long unit_json_live(void);

EVP_PKEY *unit_key(const char *type);          /* "EC", "RSA", "ED25519" */
/* A self-signed CA of the key type; free with unit_ca_free(). */
cmp_ca_t unit_ca(const char *type);
void unit_ca_free(cmp_ca_t *ca);
X509_NAME *unit_name(const char *cn);
/* A SubjectPublicKeyInfo of k; free with X509_PUBKEY_free(). */
X509_PUBKEY *unit_spki(EVP_PKEY *k);
/* The certificate as a peer sees it (encoded and decoded); x is freed. */
X509 *unit_reparse(X509 *x);

/* cmp_policy_init() of the fields of a spec. */
int unit_policy(cmp_policy_t *pol, int days, const char *key_types, int bits,
                const char *pattern, int allow_san, const char *ku,
                const char *eku, const char **why);

/* The database fixture (CMP_TEST_DATABASE_URL, CMP_TEST_VAR_DIR: the
 * integration harness's database with its demo): a pool of connections and
 * one connection of it for the test, and the secret key. */
extern cmp_db_conf_t unit_dbconf;
extern cmp_db_t *unit_db;
extern cmp_secret_key_t unit_skey;
extern PGconn *unit_conn;
void unit_db_setup(void);
void unit_db_teardown(void);
/* A file below CMP_TEST_VAR_DIR, from upool. */
const char *unit_var_path(const char *rel);

Suite *suite_policy(void);
Suite *suite_issue(void);
Suite *suite_secret(void);
Suite *suite_asn1(void);
Suite *suite_store(void);
Suite *suite_admin(void);
Suite *suite_dispatch(void);       /* needs the database fixture */

#endif
