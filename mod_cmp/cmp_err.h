/* SPDX-License-Identifier: Apache-2.0 */
/* Our reasons for refusing a CMP request: readable text for the statusString
 * and the PKIFailureInfo bit. Registered as an OpenSSL error library so that
 * OpenSSL's CMP server puts our text into the error messages it builds. */
/* The core's one error convention: functions return apr_status_t
 * (APR_SUCCESS, or what failed: APR_ECONNRESET for a lost database, APR_EINVAL
 * for input that is not what it must be, APR_EGENERAL otherwise) with results
 * through out-parameters and text in a *why; the CMP path decides with a
 * cmp_reason_e below, with detail text, which becomes the error message. */
#ifndef CMP_ERR_H
#define CMP_ERR_H

typedef enum {
    CMP_E_NONE = 0,
    CMP_E_PROFILE_NOT_FOUND,
    CMP_E_PROFILE_DISABLED,
    CMP_E_NO_DEFAULT_RA_PROFILE,
    CMP_E_RA_PROFILE_NOT_FOUND,
    CMP_E_RA_PROFILE_DISABLED,
    CMP_E_RA_PROFILE_NO_CMP,
    CMP_E_AUTHORITY_DISABLED,
    CMP_E_UNPROTECTED,
    CMP_E_BAD_MAC,
    CMP_E_BAD_SIGNATURE,
    CMP_E_UNTRUSTED_SIGNER,
    CMP_E_PROTECTION_NOT_ALLOWED,
    CMP_E_SIGNER_REVOKED,
    CMP_E_UNSUPPORTED_BODY,
    CMP_E_TX_IN_USE,
    CMP_E_TX_UNKNOWN,
    CMP_E_TX_EXPIRED,
    CMP_E_TX_STATE,
    CMP_E_CERTHASH,
    CMP_E_BAD_TEMPLATE,
    CMP_E_POLICY_KEY,
    CMP_E_POLICY_SUBJECT,
    CMP_E_POLICY_SAN,
    CMP_E_KUR_OLD_CERT,
    CMP_E_CERT_UNKNOWN,
    CMP_E_CERT_REVOKED,
    CMP_E_NOT_AUTHORIZED,
    CMP_E_DATABASE,
    CMP_E_INTERNAL,
    CMP_E_BAD_POP,              /* (after the others: codes stay as they were) */
    CMP_E_BAD_REVOCATION_REASON,
    CMP_E_BAD_DATA_FORMAT,
    CMP_E_UNSUPPORTED_VERSION,
    CMP_E_BAD_SENDER_NONCE,
    CMP_E_BAD_RECIP_NONCE,
    CMP_E_BAD_TIME,
    CMP_E_BAD_SENDER,
    CMP_E_BAD_ALG,
    CMP_E_BAD_REQUEST,
    CMP_E_UNACCEPTED_EXTENSION,
    CMP_E_KEY_FORM,
    CMP_E_BAD_INVALIDITY_DATE,
    CMP_E_KUR_IDENTITY,
    CMP_E_POP_METHOD,
    CMP_E_DEVICE,                  /* a device registration refused it */
    CMP_E_QUEUE_FULL,              /* too many requests wait for approval */
    CMP_E_APPROVAL_REJECTED,
    CMP_E_APPROVAL_EXPIRED,
    CMP_E_CENTRAL_UNAVAILABLE,     /* RFC 9483 4.1.6 not possible here */
    CMP_E_CENTRAL_NOT_ALLOWED,     /* ... not allowed by the RA Profile */
    CMP_E_MAX
} cmp_reason_e;

/* Register the texts with OpenSSL; once per process, before threads start. */
int cmp_err_init(void);

/* Clear the thread's OpenSSL error queue and push our reason with detail. */
void cmp_err_raise(cmp_reason_e reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *cmp_err_text(cmp_reason_e reason);

/* The OSSL_CMP_PKIFAILUREINFO_* bit number that fits the reason. */
int cmp_err_failinfo_bit(cmp_reason_e reason);

#endif
