/* SPDX-License-Identifier: Apache-2.0 */
/* Per-device enrollment registrations (sql/012): a senderKID, a single-use
 * secret and the identity (subject, subjectAltNames) a device may get under
 * an RA Profile. The rules the admin API (registration, CSV import) and the
 * CMP path (cmp_protect.c) share: the secret's form, the stored form of the
 * identity, and whether a request fits it. */
#ifndef CMP_DEVICE_H
#define CMP_DEVICE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/x509.h>

/* What a refused registration request is told, whatever the reason (wrong
 * secret, used, expired, locked, another identity): the same words, so
 * that a guesser learns nothing. The reason is logged and stored with the
 * registration (last_failure) for its administrator. */
#define CMP_DEVICE_REFUSED "the request does not match an active device " \
    "registration"

/* A registration's secret: 24 characters of the RFC 4648 base32 alphabet
 * (120 random bits) in groups of four joined by '-' (29 characters), from
 * p; NULL when the random generator fails. */
char *cmp_device_new_secret(apr_pool_t *p);

#define CMP_DEVICE_KID_MAX 128
#define CMP_DEVICE_MAX_SANS 16
#define CMP_DEVICE_MAX_FAILURES 100

/* A senderKID an administrator gives: 1 to CMP_DEVICE_KID_MAX printable
 * ASCII characters, no space. */
int cmp_device_kid_valid(const char *kid);

/* The subjectAltNames an administrator gives ("DNS:host", "IP:10.0.0.1",
 * "email:a@example.com", "URI:urn:x", as OpenSSL's configuration has them),
 * in the form stored and compared: OpenSSL's print of each name ("DNS:host",
 * "IP Address:10.0.0.1"), duplicates dropped, order kept. NULL with *why
 * (naming the entry) when one does not parse. */
apr_array_header_t *cmp_device_sans(apr_pool_t *p,
                                    const apr_array_header_t *given,
                                    const char **why);

/* The subjectAltNames of a request's extensions in the same form (empty
 * when it has none); NULL when its subjectAltName does not decode. */
apr_array_header_t *cmp_device_request_sans(apr_pool_t *p,
                                            const STACK_OF(X509_EXTENSION) *exts);

/* Whether a request for subject (NULL: none) with extensions exts fits a
 * registration of reg_subject (the RFC 2253 text, cmp_issue_name_text) and
 * reg_sans (cmp_device_sans): the subject the same, every subjectAltName
 * asked among the registered ones. 0 with *why (for the log) when not. */
int cmp_device_fits(apr_pool_t *p, const char *reg_subject,
                    const apr_array_header_t *reg_sans,
                    const X509_NAME *subject,
                    const STACK_OF(X509_EXTENSION) *exts, const char **why);

/* SANs joined by newlines, the form they travel to SQL in (the statements
 * split them with string_to_array(.., E'\n')), and back: the parts of text
 * between any of the characters of sep ("\n"; " " for a CSV import's
 * field), empty ones dropped. */
const char *cmp_device_sans_join(apr_pool_t *p, const apr_array_header_t *sans);
apr_array_header_t *cmp_device_sans_split(apr_pool_t *p, const char *text,
                                          const char *sep);

#endif
