/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only ASN.1 views of CMP/CRMF structures whose fields OpenSSL 3.0 keeps
 * opaque (header nonces and generalInfo, the extraCerts, the certificate
 * template's public key and validity, the revocation reason). They are
 * declared with OpenSSL's ASN.1 template macros and decoded by OpenSSL's
 * ASN.1 engine from the same DER that OpenSSL's CMP code decodes; nothing here
 * walks DER by hand. */
#ifndef CMP_ASN1_H
#define CMP_ASN1_H

#include <time.h>
#include <apr_pools.h>
#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/x509.h>

typedef enum {
    CMP_PROT_NONE = 0,
    CMP_PROT_MAC,               /* PasswordBasedMac, PBMAC1 */
    CMP_PROT_SIG,
    CMP_PROT_OTHER_MAC          /* HMAC, KMAC (RFC 9481 6.2) */
} cmp_prot_e;

/* PKIBody choice numbers (RFC 4210 5.1.2); OpenSSL 3.0 has no public names. */
enum {
    CMP_BODY_IR = 0, CMP_BODY_IP = 1, CMP_BODY_CR = 2, CMP_BODY_CP = 3,
    CMP_BODY_P10CR = 4, CMP_BODY_KUR = 7, CMP_BODY_KUP = 8, CMP_BODY_RR = 11,
    CMP_BODY_RP = 12, CMP_BODY_PKICONF = 19, CMP_BODY_GENM = 21,
    CMP_BODY_GENP = 22, CMP_BODY_ERROR = 23, CMP_BODY_CERTCONF = 24,
    CMP_BODY_POLLREQ = 25
};

typedef struct cmp_view_t cmp_view_t;

/* Decode the header and extraCerts of a PKIMessage; freed with the pool. */
apr_status_t cmp_view_decode(apr_pool_t *p, const unsigned char *der,
                             long len, cmp_view_t **out);

cmp_prot_e cmp_view_protection(const cmp_view_t *v);
int cmp_view_implicit_confirm(const cmp_view_t *v);
const X509_NAME *cmp_view_sender(const cmp_view_t *v);
const ASN1_OCTET_STRING *cmp_view_sender_kid(const cmp_view_t *v);
const ASN1_OCTET_STRING *cmp_view_sender_nonce(const cmp_view_t *v);
const ASN1_OCTET_STRING *cmp_view_transaction_id(const cmp_view_t *v);
STACK_OF(X509) *cmp_view_extra_certs(const cmp_view_t *v);
/* The protectionAlg and the protection bits; NULL when absent. */
const X509_ALGOR *cmp_view_protection_alg(const cmp_view_t *v);
const ASN1_BIT_STRING *cmp_view_protection_bits(const cmp_view_t *v);
/* DER of the message's ProtectedPart (header and body), from p. */
apr_status_t cmp_view_protected_part(apr_pool_t *p, const cmp_view_t *v,
                                     unsigned char **der, int *len);

/* Computes the MAC (or signature) of data into mac, of CMP_PROTECT_MAX
 * bytes at the most; 1 on success. */
#define CMP_PROTECT_MAX 1024
typedef int (*cmp_mac_fn)(const void *arg, const unsigned char *data,
                          size_t len, unsigned char *mac, size_t *mac_len);

/* A PKIMessage we made (der) with protectionAlg set to alg and the
 * protection that fn computes over its ProtectedPart; body and extraCerts
 * are carried over as encoded, nothing in them decoded. From p. */
apr_status_t cmp_asn1_protect(apr_pool_t *p, const unsigned char *der,
                              long len, const X509_ALGOR *alg,
                              cmp_mac_fn fn, const void *arg,
                              unsigned char **out, apr_size_t *out_len);

/* A response (der) with its PKIStatusInfo replaced by si: that of an
 * error body, or of the first CertResponse of ip/cp/kup; the rest as it
 * was, the protection now stale (the caller protects anew). APR_EINVAL for
 * other bodies. From p. */
apr_status_t cmp_asn1_set_status(apr_pool_t *p, const unsigned char *der,
                                 long len, const OSSL_CMP_PKISI *si,
                                 unsigned char **out, apr_size_t *out_len);

/* The ip, cp or kup der (one CertResponse with a certificate) with key_der,
 * an EncryptedKey (RFC 9810 5.2.2), as the privateKey of its
 * CertifiedKeyPair (RFC 9483 4.1.6); the protection now stale. From p;
 * APR_EINVAL for another message. */
apr_status_t cmp_asn1_set_private_key(apr_pool_t *p, const unsigned char *der,
                                      long len, const unsigned char *key_der,
                                      int key_len, unsigned char **out,
                                      apr_size_t *out_len);

/* The content of a CMS ContentInfo der (the encoded SignedData, ...), from
 * p. */
apr_status_t cmp_asn1_cms_content(apr_pool_t *p, const unsigned char *der,
                                  long len, unsigned char **out, int *out_len);

/* Whether an ir, cr or kur has one CertReqMsg, without a POP. */
int cmp_view_no_popo(const cmp_view_t *v);

/* PKIHeader fields for the generic checks (RFC 9483 3.1, 3.5). */
/* pvno; -1 when it is no small non-negative integer */
long cmp_view_pvno(const cmp_view_t *v);
const ASN1_GENERALIZEDTIME *cmp_view_message_time(const cmp_view_t *v);
const ASN1_OCTET_STRING *cmp_view_recip_nonce(const cmp_view_t *v);
/* The GeneralName type of the sender (GEN_DIRNAME ...). */
int cmp_view_sender_type(const cmp_view_t *v);
/* The PKIBody choice number, read from the body's tag; -1 when odd. */
int cmp_view_body_type(const cmp_view_t *v);
/* What RFC 9483 3.1 forbids in generalInfo for a request of this body
 * (implicitConfirm with a value other than NULL or in a message that cannot
 * ask for it, confirmWaitTime not a GeneralizedTime or beside
 * implicitConfirm), with the failInfo-bearing reason in *bad_format (1:
 * malformed value, 0: not allowed here); NULL when nothing. */
const char *cmp_view_general_info_problem(const cmp_view_t *v, int body,
                                          int *bad_format);

/* Changes to a PKIMessage's header (cmp_asn1_edit). */
typedef enum { CMP_EDIT_KEEP = 0, CMP_EDIT_DROP, CMP_EDIT_SET } cmp_edit_e;
typedef struct {
    cmp_edit_e what;
    const unsigned char *data;
    int len;
} cmp_edit_bytes_t;
typedef struct {
    long pvno;                      /* < 0: keep */
    cmp_edit_bytes_t tid, nonce, recip_nonce, kid;
    cmp_edit_e time;                /* SET: time_value */
    time_t time_value;
    cmp_edit_e general_info;        /* SET: general_info DER (a SEQUENCE OF
                                     * InfoTypeAndValue) */
    const unsigned char *general_info_der;
    int general_info_len;
    const unsigned char *body_der;  /* NULL: keep; else a whole PKIBody TLV */
    int body_len;
    int drop_protection;            /* protection and protectionAlg */
    int drop_extra_certs;
    const unsigned char *extra_certs_der; /* NULL: keep; else these extraCerts
                                           * (a SEQUENCE OF CMPCertificate) */
    int extra_certs_len;
    const char *sender_email;       /* sender as an rfc822Name instead */
    const char *sender_cn;          /* sender as the directoryName CN=this */
    const char *prot_alg_oid;       /* protectionAlg: this OID, no parameters */
} cmp_edit_t;

/* The PKIMessage der with its header changed as e says; the body and
 * extraCerts carried over as encoded (or the body replaced); the
 * protection kept (then stale) unless dropped. From p. APR_EINVAL when der
 * is no PKIMessage. Used for stand-in messages and by the test tools. */
apr_status_t cmp_asn1_edit(apr_pool_t *p, const unsigned char *der, long len,
                           const cmp_edit_t *e, unsigned char **out,
                           apr_size_t *out_len);

/* The PKIStatusInfo of a response or of a client's error message: of an
 * error body, of the first CertResponse of ip/cp/kup, or the first status
 * of rp. *body is the PKIBody type; *text the statusString lines joined by
 * "; " (from p, "" when none); *failinfo the failInfo bits (bit n is
 * 1 << n). APR_EINVAL for other bodies or what does not decode. */
apr_status_t cmp_asn1_status_of(apr_pool_t *p, const unsigned char *der,
                                long len, int *body, int *status,
                                unsigned long *failinfo, const char **text);

/* The DER elements ders[0..n-1] inside one constructed element: a
 * universal tag (V_ASN1_SEQUENCE) or, with context, [tag]. From p. */
apr_status_t cmp_asn1_wrap(apr_pool_t *p, int tag, int context,
                           const unsigned char *const *ders, const int *lens,
                           int n, unsigned char **out, int *out_len);

/* What the body of a certConf holds (RFC 9810 5.3.18): how many
 * CertStatus, and of the first its PKIStatus (-1: no statusInfo), whether
 * that carries a failInfo, and whether it has the v3 hashAlg. APR_EINVAL
 * when the body is no CertConfirmContent. */
typedef struct {
    int count;
    int status;
    int has_failinfo;
    int has_hash_alg;
    int hash_nid;           /* the digest hashAlg names; NID_undef if none */
} cmp_certconf_info_t;
apr_status_t cmp_view_certconf(const cmp_view_t *v, cmp_certconf_info_t *out);

/* The InfoTypeAndValues of a genm body as our view reads them (values as
 * ANY, whatever OpenSSL makes of them): their OIDs (dotted, from p) and
 * whether each has a value; the count, -1 when the body is no genm. */
/* The crlStatusList of a genm (RFC 9483 4.3.4): for each CRLStatus whether
 * its source names the CA (an issuer directoryName equal to ca_name, or a
 * distribution point fullName URI equal to crl_url, when not NULL) and its
 * thisUpdate (0: absent). *out from p; the count, -1 when the genm has no
 * crlStatusList with a value that is one (SIZE 1..MAX). */
typedef struct {
    int ours;
    time_t this_update;
} cmp_crl_status_t;
int cmp_view_crl_status_list(const cmp_view_t *v, apr_pool_t *p,
                             const X509_NAME *ca_name, const char *crl_url,
                             cmp_crl_status_t **out);

int cmp_view_genm_itavs(const cmp_view_t *v, apr_pool_t *p, const char ***oids,
                        int **has_value);

/* The value (DER, from p) of the genm's first InfoTypeAndValue of that OID
 * (dotted); *der NULL when it has none. 0 when the genm has no such one. */
int cmp_view_genm_value(const cmp_view_t *v, apr_pool_t *p, const char *oid,
                        unsigned char **der, int *len);

/* The stand-in for a message OpenSSL cannot decode but our view can: its
 * header (pvno 2, no generalInfo) with an empty pkiConf for body, no
 * protection and no extraCerts, for OpenSSL to answer in CMP. From p. */
apr_status_t cmp_asn1_standin(apr_pool_t *p, const unsigned char *der,
                              long len, unsigned char **out,
                              apr_size_t *out_len);

/* A certConf (der) as OpenSSL 3.0 can decode it: the v3 hashAlg taken out
 * of its CertStatus, pvno 2, no protection (it was checked on der). From
 * p; APR_EINVAL when der is no certConf. */
apr_status_t cmp_asn1_certconf_v2(apr_pool_t *p, const unsigned char *der,
                                  long len, unsigned char **out,
                                  apr_size_t *out_len);

/* 1 when a CertReqMsg of an ir, cr or kur proves possession by sending its
 * private key encrypted (POPOPrivKey encryptedKey [4], an EnvelopedData:
 * RFC 4211 4.2, RFC 9810 5.2.8.3.1), which OpenSSL 3.0 cannot decode; read
 * from our own view, so the same on every OpenSSL. */
int cmp_view_pop_encrypted_key(const cmp_view_t *v);

/* Whether a CertReqMsg of an ir, cr or kur proves possession by its private
 * key without a signature (POPOPrivKey, keyEncipherment [2] or keyAgreement
 * [3], any of its choices: RFC 9810 5.2.8.3). */
int cmp_view_pop_priv_key(const cmp_view_t *v);

/* CRLReason of the first RevDetails of an rr body; -1 when none is given,
 * CMP_RR_REASON_BAD when there are two or one that does not decode. */
#define CMP_RR_REASON_BAD (-2)
int cmp_view_rr_reason(const cmp_view_t *v);

/* invalidityDate of the first RevDetails of an rr body (RFC 5280 5.3.2):
 * 1 and *when (epoch seconds), 0 when none is given, CMP_RR_REASON_BAD when
 * there are two or one that does not decode. */
int cmp_view_rr_invalidity(const cmp_view_t *v, long long *when);

/* PKIStatus of a PKIStatusInfo (3.0 has no getter); -1 when unreadable. */
int cmp_pkisi_status(const OSSL_CMP_PKISI *si);

/* The parts of a certificate template that 3.0 has no getter for, as
 * OpenSSL decoded them: the SubjectPublicKeyInfo (its key inside, see
 * X509_PUBKEY_get0) and the requested validity. Borrowed from the template
 * (NULL when absent); APR_EINVAL when the template is not what OpenSSL
 * declares it to be. */
apr_status_t cmp_template_read(const OSSL_CRMF_CERTTEMPLATE *tmpl,
                               const X509_PUBKEY **spki,
                               const ASN1_TIME **not_before,
                               const ASN1_TIME **not_after);

/* The first CertReqMsg of an ir, cr or kur as OpenSSL decoded it, and how
 * many there are; NULL for other bodies. */
OSSL_CRMF_MSG *cmp_msg_first_crm(OSSL_CMP_MSG *msg, int *count);
/* The CSR of a p10cr as OpenSSL decoded it; NULL for other bodies. */
X509_REQ *cmp_msg_p10cr(OSSL_CMP_MSG *msg);

/* The signature proof of possession of crm (RFC 4211 4.1) verified with
 * pkey, as OpenSSL's OSSL_CRMF_MSGS_verify_popo checks a signature over
 * certReq: 1 verified, 0 does not verify, -1 not such a POP (another POP
 * type, poposkInput, no subject in the template). */
int cmp_crmf_verify_sig_pop(const OSSL_CRMF_MSG *crm, EVP_PKEY *pkey);

/* The senderNonce of a PKIMessage we made, without decoding its
 * extraCerts; a copy from p. */
apr_status_t cmp_asn1_sender_nonce(apr_pool_t *p, const unsigned char *der,
                                   long len, unsigned char **nonce,
                                   int *nonce_len);

#endif
