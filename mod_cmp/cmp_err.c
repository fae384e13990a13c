/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include <openssl/cmp.h>
#include <openssl/err.h>

#include "cmp_device.h"
#include "cmp_err.h"

typedef struct {
    const char *text;
    int failinfo;
} reason_t;

static const reason_t reasons[CMP_E_MAX] = {
    [CMP_E_NONE] = {"no error", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_PROFILE_NOT_FOUND] = {"CMP Profile not found", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_PROFILE_DISABLED] = {"CMP Profile is disabled", OSSL_CMP_PKIFAILUREINFO_notAuthorized},
    [CMP_E_NO_DEFAULT_RA_PROFILE] = {"CMP Profile has no default RA Profile", OSSL_CMP_PKIFAILUREINFO_systemUnavail},
    [CMP_E_RA_PROFILE_NOT_FOUND] = {"RA Profile not found", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_RA_PROFILE_DISABLED] = {"RA Profile is disabled", OSSL_CMP_PKIFAILUREINFO_notAuthorized},
    [CMP_E_RA_PROFILE_NO_CMP] = {"RA Profile has no CMP Profile activated", OSSL_CMP_PKIFAILUREINFO_systemUnavail},
    [CMP_E_AUTHORITY_DISABLED] = {"Authority is disabled", OSSL_CMP_PKIFAILUREINFO_systemUnavail},
    [CMP_E_UNPROTECTED] = {"request is not protected", OSSL_CMP_PKIFAILUREINFO_badMessageCheck},
    [CMP_E_BAD_MAC] = {"MAC protection does not verify", OSSL_CMP_PKIFAILUREINFO_badMessageCheck},
    [CMP_E_BAD_SIGNATURE] = {"signature protection does not verify", OSSL_CMP_PKIFAILUREINFO_badMessageCheck},
    [CMP_E_UNTRUSTED_SIGNER] = {"signer certificate is not trusted", OSSL_CMP_PKIFAILUREINFO_signerNotTrusted},
    [CMP_E_PROTECTION_NOT_ALLOWED] = {"protection method not allowed for this request", OSSL_CMP_PKIFAILUREINFO_wrongIntegrity},
    [CMP_E_SIGNER_REVOKED] = {"signer certificate is revoked or not valid", OSSL_CMP_PKIFAILUREINFO_certRevoked},
    [CMP_E_UNSUPPORTED_BODY] = {"message type not supported", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_TX_IN_USE] = {"transactionID already in use", OSSL_CMP_PKIFAILUREINFO_transactionIdInUse},
    [CMP_E_TX_UNKNOWN] = {"unknown transaction", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_TX_EXPIRED] = {"transaction expired", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_TX_STATE] = {"transaction is not waiting for this message", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_CERTHASH] = {"certHash does not match the issued certificate", OSSL_CMP_PKIFAILUREINFO_badCertId},
    [CMP_E_BAD_TEMPLATE] = {"certificate template not acceptable", OSSL_CMP_PKIFAILUREINFO_badCertTemplate},
    [CMP_E_POLICY_KEY] = {"public key not allowed by the RA Profile", OSSL_CMP_PKIFAILUREINFO_badAlg},
    [CMP_E_POLICY_SUBJECT] = {"subject not allowed by the RA Profile", OSSL_CMP_PKIFAILUREINFO_badCertTemplate},
    [CMP_E_POLICY_SAN] = {"subjectAltName not allowed by the RA Profile", OSSL_CMP_PKIFAILUREINFO_badCertTemplate},
    [CMP_E_KUR_OLD_CERT] = {"key update must be signed by a valid certificate of this RA Profile", OSSL_CMP_PKIFAILUREINFO_notAuthorized},
    [CMP_E_CERT_UNKNOWN] = {"certificate not issued by this RA Profile", OSSL_CMP_PKIFAILUREINFO_badCertId},
    [CMP_E_CERT_REVOKED] = {"certificate already revoked", OSSL_CMP_PKIFAILUREINFO_certRevoked},
    [CMP_E_NOT_AUTHORIZED] = {"sender is not authorized for this request", OSSL_CMP_PKIFAILUREINFO_notAuthorized},
    [CMP_E_DATABASE] = {"database unavailable", OSSL_CMP_PKIFAILUREINFO_systemUnavail},
    [CMP_E_INTERNAL] = {"internal server error", OSSL_CMP_PKIFAILUREINFO_systemFailure},
    [CMP_E_BAD_POP] = {"proof of possession does not verify", OSSL_CMP_PKIFAILUREINFO_badPOP},
    [CMP_E_BAD_REVOCATION_REASON] = {"revocation reason not allowed", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_BAD_INVALIDITY_DATE] = {"invalidity date not accepted", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_BAD_DATA_FORMAT] = {"message not formatted as RFC 9483 requires", OSSL_CMP_PKIFAILUREINFO_badDataFormat},
    [CMP_E_UNSUPPORTED_VERSION] = {"protocol version not supported", OSSL_CMP_PKIFAILUREINFO_unsupportedVersion},
    [CMP_E_BAD_SENDER_NONCE] = {"senderNonce not acceptable", OSSL_CMP_PKIFAILUREINFO_badSenderNonce},
    [CMP_E_BAD_RECIP_NONCE] = {"recipNonce not acceptable", OSSL_CMP_PKIFAILUREINFO_badRecipientNonce},
    [CMP_E_BAD_TIME] = {"messageTime too far from the server's time", OSSL_CMP_PKIFAILUREINFO_badTime},
    [CMP_E_BAD_SENDER] = {"sender or senderKID does not identify the protection key", OSSL_CMP_PKIFAILUREINFO_badMessageCheck},
    [CMP_E_BAD_ALG] = {"protection algorithm not supported", OSSL_CMP_PKIFAILUREINFO_badAlg},
    [CMP_E_BAD_REQUEST] = {"request not acceptable", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_UNACCEPTED_EXTENSION] = {"requested extension not accepted", OSSL_CMP_PKIFAILUREINFO_unacceptedExtension},
    [CMP_E_KEY_FORM] = {"public key not in an accepted form", OSSL_CMP_PKIFAILUREINFO_badAlg},
    [CMP_E_KUR_IDENTITY] = {"key update must keep the subject and subjectAltName", OSSL_CMP_PKIFAILUREINFO_badCertTemplate},
    [CMP_E_POP_METHOD] = {"proof of possession method not supported", OSSL_CMP_PKIFAILUREINFO_badPOP},
    /* one text for every reason (cmp_device.h): a guesser learns nothing */
    [CMP_E_DEVICE] = {CMP_DEVICE_REFUSED, OSSL_CMP_PKIFAILUREINFO_badMessageCheck},
    [CMP_E_QUEUE_FULL] = {"too many requests wait for approval", OSSL_CMP_PKIFAILUREINFO_systemUnavail},
    [CMP_E_APPROVAL_REJECTED] = {"request rejected by an administrator", OSSL_CMP_PKIFAILUREINFO_notAuthorized},
    [CMP_E_APPROVAL_EXPIRED] = {"request expired before it was approved", OSSL_CMP_PKIFAILUREINFO_badRequest},
    [CMP_E_CENTRAL_UNAVAILABLE] = {"central key generation not possible", OSSL_CMP_PKIFAILUREINFO_badAlg},
    [CMP_E_CENTRAL_NOT_ALLOWED] = {"central key generation not allowed by the RA Profile", OSSL_CMP_PKIFAILUREINFO_badCertTemplate},
};

static int err_lib;
static ERR_STRING_DATA err_strings[CMP_E_MAX + 2];

int cmp_err_init(void)
{
    int i;

    if (err_lib != 0)
        return 1;
    err_lib = ERR_get_next_error_library();
    err_strings[0].error = ERR_PACK(err_lib, 0, 0);
    err_strings[0].string = "mod_cmp";
    for (i = 1; i < CMP_E_MAX; i++) {
        err_strings[i].error = ERR_PACK(err_lib, 0, i);
        err_strings[i].string = reasons[i].text;
    }
    err_strings[CMP_E_MAX].error = 0;
    err_strings[CMP_E_MAX].string = NULL;
    return ERR_load_strings(err_lib, err_strings);
}

void cmp_err_raise(cmp_reason_e reason, const char *fmt, ...)
{
    char detail[512];
    va_list ap;

    ERR_clear_error();
    detail[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
    }
    ERR_raise_data(err_lib, reason, "%s", detail);
}

const char *cmp_err_text(cmp_reason_e reason)
{
    if (reason <= CMP_E_NONE || reason >= CMP_E_MAX)
        return reasons[CMP_E_INTERNAL].text;
    return reasons[reason].text;
}

int cmp_err_failinfo_bit(cmp_reason_e reason)
{
    if (reason <= CMP_E_NONE || reason >= CMP_E_MAX)
        return OSSL_CMP_PKIFAILUREINFO_systemFailure;
    return reasons[reason].failinfo;
}
