/* SPDX-License-Identifier: Apache-2.0 */
/* Over 500 lines: every read-only ASN.1 view of a structure OpenSSL 3.0
 * keeps opaque is declared here, in one place, so that each can go when
 * OpenSSL gives a getter. */
#include <string.h>
#include <time.h>

#include <apr_errno.h>
#include <apr_strings.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cmp_asn1.h"

/* InfoTypeAndValue (RFC 4210 5.3.19) */
typedef struct {
    ASN1_OBJECT *type;
    ASN1_TYPE *value;
} CMPV_ITAV;
DEFINE_STACK_OF(CMPV_ITAV)
ASN1_SEQUENCE(CMPV_ITAV) = {
    ASN1_SIMPLE(CMPV_ITAV, type, ASN1_OBJECT),
    ASN1_OPT(CMPV_ITAV, value, ASN1_ANY)
} static_ASN1_SEQUENCE_END(CMPV_ITAV)

/* CRLSource and CRLStatus (RFC 9810 5.3.19.16, RFC 9483 4.3.4; explicit
 * tags as the module has them), for the crlStatusList of a genm */
typedef struct {
    int type;
    union {
        DIST_POINT_NAME *dpn;
        GENERAL_NAMES *issuer;
    } value;
} CMPV_CRLSOURCE;
ASN1_CHOICE(CMPV_CRLSOURCE) = {
    ASN1_EXP(CMPV_CRLSOURCE, value.dpn, DIST_POINT_NAME, 0),
    ASN1_EXP_SEQUENCE_OF(CMPV_CRLSOURCE, value.issuer, GENERAL_NAME, 1)
} static_ASN1_CHOICE_END(CMPV_CRLSOURCE)

typedef struct {
    CMPV_CRLSOURCE *source;
    ASN1_TIME *thisUpdate;
} CMPV_CRLSTATUS;
DEFINE_STACK_OF(CMPV_CRLSTATUS)
ASN1_SEQUENCE(CMPV_CRLSTATUS) = {
    ASN1_SIMPLE(CMPV_CRLSTATUS, source, CMPV_CRLSOURCE),
    ASN1_OPT(CMPV_CRLSTATUS, thisUpdate, ASN1_TIME)
} static_ASN1_SEQUENCE_END(CMPV_CRLSTATUS)

typedef STACK_OF(CMPV_CRLSTATUS) CMPV_CRLSTATUSLIST;
ASN1_ITEM_TEMPLATE(CMPV_CRLSTATUSLIST) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, crlStatusList, CMPV_CRLSTATUS)
static_ASN1_ITEM_TEMPLATE_END(CMPV_CRLSTATUSLIST)

typedef STACK_OF(CMPV_ITAV) CMPV_GENINFO;
ASN1_ITEM_TEMPLATE(CMPV_GENINFO) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, generalInfo, CMPV_ITAV)
static_ASN1_ITEM_TEMPLATE_END(CMPV_GENINFO)

/* PKIHeader (RFC 4210 5.1.1, EXPLICIT TAGS) */
typedef struct {
    ASN1_INTEGER *pvno;
    GENERAL_NAME *sender;
    GENERAL_NAME *recipient;
    ASN1_GENERALIZEDTIME *messageTime;
    X509_ALGOR *protectionAlg;
    ASN1_OCTET_STRING *senderKID;
    ASN1_OCTET_STRING *recipKID;
    ASN1_OCTET_STRING *transactionID;
    ASN1_OCTET_STRING *senderNonce;
    ASN1_OCTET_STRING *recipNonce;
    STACK_OF(ASN1_UTF8STRING) *freeText;
    STACK_OF(CMPV_ITAV) *generalInfo;
} CMPV_HEADER;
ASN1_SEQUENCE(CMPV_HEADER) = {
    ASN1_SIMPLE(CMPV_HEADER, pvno, ASN1_INTEGER),
    ASN1_SIMPLE(CMPV_HEADER, sender, GENERAL_NAME),
    ASN1_SIMPLE(CMPV_HEADER, recipient, GENERAL_NAME),
    ASN1_EXP_OPT(CMPV_HEADER, messageTime, ASN1_GENERALIZEDTIME, 0),
    ASN1_EXP_OPT(CMPV_HEADER, protectionAlg, X509_ALGOR, 1),
    ASN1_EXP_OPT(CMPV_HEADER, senderKID, ASN1_OCTET_STRING, 2),
    ASN1_EXP_OPT(CMPV_HEADER, recipKID, ASN1_OCTET_STRING, 3),
    ASN1_EXP_OPT(CMPV_HEADER, transactionID, ASN1_OCTET_STRING, 4),
    ASN1_EXP_OPT(CMPV_HEADER, senderNonce, ASN1_OCTET_STRING, 5),
    ASN1_EXP_OPT(CMPV_HEADER, recipNonce, ASN1_OCTET_STRING, 6),
    ASN1_EXP_SEQUENCE_OF_OPT(CMPV_HEADER, freeText, ASN1_UTF8STRING, 7),
    ASN1_EXP_SEQUENCE_OF_OPT(CMPV_HEADER, generalInfo, CMPV_ITAV, 8)
} static_ASN1_SEQUENCE_END(CMPV_HEADER)

/* PKIMessage with the body left as an opaque element */
typedef struct {
    CMPV_HEADER *header;
    ASN1_TYPE *body;
    ASN1_BIT_STRING *protection;
    STACK_OF(X509) *extraCerts;
} CMPV_MSG;
ASN1_SEQUENCE(CMPV_MSG) = {
    ASN1_SIMPLE(CMPV_MSG, header, CMPV_HEADER),
    ASN1_SIMPLE(CMPV_MSG, body, ASN1_ANY),
    ASN1_EXP_OPT(CMPV_MSG, protection, ASN1_BIT_STRING, 0),
    ASN1_EXP_SEQUENCE_OF_OPT(CMPV_MSG, extraCerts, X509, 1)
} static_ASN1_SEQUENCE_END(CMPV_MSG)

/* OptionalValidity and CertTemplate (RFC 4211 5, IMPLICIT TAGS) */
typedef struct {
    ASN1_TIME *notBefore;
    ASN1_TIME *notAfter;
} CMPV_VALIDITY;
ASN1_SEQUENCE(CMPV_VALIDITY) = {
    ASN1_EXP_OPT(CMPV_VALIDITY, notBefore, ASN1_TIME, 0),
    ASN1_EXP_OPT(CMPV_VALIDITY, notAfter, ASN1_TIME, 1)
} static_ASN1_SEQUENCE_END(CMPV_VALIDITY)

typedef struct {
    ASN1_INTEGER *version;
    ASN1_INTEGER *serialNumber;
    X509_ALGOR *signingAlg;
    X509_NAME *issuer;
    CMPV_VALIDITY *validity;
    X509_NAME *subject;
    X509_PUBKEY *publicKey;
    ASN1_BIT_STRING *issuerUID;
    ASN1_BIT_STRING *subjectUID;
    STACK_OF(X509_EXTENSION) *extensions;
} CMPV_TEMPLATE;
ASN1_SEQUENCE(CMPV_TEMPLATE) = {
    ASN1_IMP_OPT(CMPV_TEMPLATE, version, ASN1_INTEGER, 0),
    ASN1_IMP_OPT(CMPV_TEMPLATE, serialNumber, ASN1_INTEGER, 1),
    ASN1_IMP_OPT(CMPV_TEMPLATE, signingAlg, X509_ALGOR, 2),
    ASN1_EXP_OPT(CMPV_TEMPLATE, issuer, X509_NAME, 3),
    ASN1_IMP_OPT(CMPV_TEMPLATE, validity, CMPV_VALIDITY, 4),
    ASN1_EXP_OPT(CMPV_TEMPLATE, subject, X509_NAME, 5),
    ASN1_IMP_OPT(CMPV_TEMPLATE, publicKey, X509_PUBKEY, 6),
    ASN1_IMP_OPT(CMPV_TEMPLATE, issuerUID, ASN1_BIT_STRING, 7),
    ASN1_IMP_OPT(CMPV_TEMPLATE, subjectUID, ASN1_BIT_STRING, 8),
    ASN1_IMP_SEQUENCE_OF_OPT(CMPV_TEMPLATE, extensions, X509_EXTENSION, 9)
} static_ASN1_SEQUENCE_END(CMPV_TEMPLATE)

/* RevDetails and the rr body: [11] RevReqContent */
typedef struct {
    CMPV_TEMPLATE *certDetails;
    STACK_OF(X509_EXTENSION) *crlEntryDetails;
} CMPV_REVDETAILS;
DEFINE_STACK_OF(CMPV_REVDETAILS)
ASN1_SEQUENCE(CMPV_REVDETAILS) = {
    ASN1_SIMPLE(CMPV_REVDETAILS, certDetails, CMPV_TEMPLATE),
    ASN1_SEQUENCE_OF_OPT(CMPV_REVDETAILS, crlEntryDetails, X509_EXTENSION)
} static_ASN1_SEQUENCE_END(CMPV_REVDETAILS)

typedef STACK_OF(CMPV_REVDETAILS) CMPV_RRBODY;
ASN1_ITEM_TEMPLATE(CMPV_RRBODY) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_EXPLICIT | ASN1_TFLG_SEQUENCE_OF,
                          CMP_BODY_RR, rr, CMPV_REVDETAILS)
static_ASN1_ITEM_TEMPLATE_END(CMPV_RRBODY)

/* CertReqMessages (RFC 4211 3) as far as the proof of possession: certReq
 * and regInfo opaque, and of ProofOfPossession the choice made, with the
 * POPOPrivKey of keyEncipherment [2] and keyAgreement [3] (a CHOICE, so
 * tagged explicitly) left as the element it holds */
typedef struct {
    int type;
    union {
        ASN1_NULL *raVerified;
        STACK_OF(ASN1_TYPE) *signature;
        ASN1_TYPE *keyEncipherment;
        ASN1_TYPE *keyAgreement;
    } value;
} CMPV_POPO;
ASN1_CHOICE(CMPV_POPO) = {
    ASN1_IMP(CMPV_POPO, value.raVerified, ASN1_NULL, 0),
    ASN1_IMP_SEQUENCE_OF(CMPV_POPO, value.signature, ASN1_ANY, 1),
    ASN1_EXP(CMPV_POPO, value.keyEncipherment, ASN1_ANY, 2),
    ASN1_EXP(CMPV_POPO, value.keyAgreement, ASN1_ANY, 3)
} static_ASN1_CHOICE_END(CMPV_POPO)

typedef struct {
    STACK_OF(ASN1_TYPE) *certReq;
    CMPV_POPO *popo;
    STACK_OF(ASN1_TYPE) *regInfo;
} CMPV_CRM;
DEFINE_STACK_OF(CMPV_CRM)
ASN1_SEQUENCE(CMPV_CRM) = {
    ASN1_SEQUENCE_OF(CMPV_CRM, certReq, ASN1_ANY),
    ASN1_OPT(CMPV_CRM, popo, CMPV_POPO),
    ASN1_SEQUENCE_OF_OPT(CMPV_CRM, regInfo, ASN1_ANY)
} static_ASN1_SEQUENCE_END(CMPV_CRM)

/* the bodies that carry CertReqMessages: ir [0], cr [2], kur [7] */
typedef struct {
    int type;
    union {
        STACK_OF(CMPV_CRM) *ir;
        STACK_OF(CMPV_CRM) *cr;
        STACK_OF(CMPV_CRM) *kur;
    } value;
} CMPV_CRMBODY;
ASN1_CHOICE(CMPV_CRMBODY) = {
    ASN1_EXP_SEQUENCE_OF(CMPV_CRMBODY, value.ir, CMPV_CRM, CMP_BODY_IR),
    ASN1_EXP_SEQUENCE_OF(CMPV_CRMBODY, value.cr, CMPV_CRM, CMP_BODY_CR),
    ASN1_EXP_SEQUENCE_OF(CMPV_CRMBODY, value.kur, CMPV_CRM, CMP_BODY_KUR)
} static_ASN1_CHOICE_END(CMPV_CRMBODY)

/* PKIStatusInfo (RFC 4210 5.2.3) */
typedef struct {
    ASN1_INTEGER *status;
    STACK_OF(ASN1_UTF8STRING) *statusString;
    ASN1_BIT_STRING *failInfo;
} CMPV_PKISI;
ASN1_SEQUENCE(CMPV_PKISI) = {
    ASN1_SIMPLE(CMPV_PKISI, status, ASN1_INTEGER),
    ASN1_SEQUENCE_OF_OPT(CMPV_PKISI, statusString, ASN1_UTF8STRING),
    ASN1_OPT(CMPV_PKISI, failInfo, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(CMPV_PKISI)

/* The bodies that carry a PKIStatusInfo, as far as cmp_asn1_status_of
 * reads them: ErrorMsgContent, CertRepMessage, RevRepContent. */
typedef struct {
    CMPV_PKISI *status;
    ASN1_INTEGER *errorCode;
    STACK_OF(ASN1_UTF8STRING) *errorDetails;
} CMPV_ERRV;
ASN1_SEQUENCE(CMPV_ERRV) = {
    ASN1_SIMPLE(CMPV_ERRV, status, CMPV_PKISI),
    ASN1_OPT(CMPV_ERRV, errorCode, ASN1_INTEGER),
    ASN1_SEQUENCE_OF_OPT(CMPV_ERRV, errorDetails, ASN1_UTF8STRING)
} static_ASN1_SEQUENCE_END(CMPV_ERRV)

typedef struct {
    ASN1_INTEGER *certReqId;
    CMPV_PKISI *status;
    ASN1_STRING *certifiedKeyPair;      /* its whole encoding */
    ASN1_OCTET_STRING *rspInfo;
} CMPV_CERTRESP;
DEFINE_STACK_OF(CMPV_CERTRESP)
ASN1_SEQUENCE(CMPV_CERTRESP) = {
    ASN1_SIMPLE(CMPV_CERTRESP, certReqId, ASN1_INTEGER),
    ASN1_SIMPLE(CMPV_CERTRESP, status, CMPV_PKISI),
    ASN1_OPT(CMPV_CERTRESP, certifiedKeyPair, ASN1_SEQUENCE),
    ASN1_OPT(CMPV_CERTRESP, rspInfo, ASN1_OCTET_STRING)
} static_ASN1_SEQUENCE_END(CMPV_CERTRESP)

/* CertifiedKeyPair (RFC 9810 5.3.4, EXPLICIT TAGS): its parts as encoded */
typedef struct {
    ASN1_TYPE *certOrEncCert;
    ASN1_TYPE *privateKey;
    ASN1_TYPE *publicationInfo;
} CMPV_CKP;
ASN1_SEQUENCE(CMPV_CKP) = {
    ASN1_SIMPLE(CMPV_CKP, certOrEncCert, ASN1_ANY),
    ASN1_EXP_OPT(CMPV_CKP, privateKey, ASN1_ANY, 0),
    ASN1_EXP_OPT(CMPV_CKP, publicationInfo, ASN1_ANY, 1)
} static_ASN1_SEQUENCE_END(CMPV_CKP)

/* ContentInfo (RFC 5652 3): the content as encoded */
typedef struct {
    ASN1_OBJECT *contentType;
    ASN1_TYPE *content;
} CMPV_CONTENTINFO;
ASN1_SEQUENCE(CMPV_CONTENTINFO) = {
    ASN1_SIMPLE(CMPV_CONTENTINFO, contentType, ASN1_OBJECT),
    ASN1_EXP(CMPV_CONTENTINFO, content, ASN1_ANY, 0)
} static_ASN1_SEQUENCE_END(CMPV_CONTENTINFO)

typedef struct {
    ASN1_TYPE *caPubs;
    STACK_OF(CMPV_CERTRESP) *response;
} CMPV_CERTREP;
ASN1_SEQUENCE(CMPV_CERTREP) = {
    ASN1_EXP_OPT(CMPV_CERTREP, caPubs, ASN1_ANY, 1),
    ASN1_SEQUENCE_OF(CMPV_CERTREP, response, CMPV_CERTRESP)
} static_ASN1_SEQUENCE_END(CMPV_CERTREP)

DEFINE_STACK_OF(CMPV_PKISI)
typedef struct {
    STACK_OF(CMPV_PKISI) *status;
    ASN1_TYPE *revCerts;
    ASN1_TYPE *crls;
} CMPV_REVREP;
ASN1_SEQUENCE(CMPV_REVREP) = {
    ASN1_SEQUENCE_OF(CMPV_REVREP, status, CMPV_PKISI),
    ASN1_EXP_OPT(CMPV_REVREP, revCerts, ASN1_ANY, 0),
    ASN1_EXP_OPT(CMPV_REVREP, crls, ASN1_ANY, 1)
} static_ASN1_SEQUENCE_END(CMPV_REVREP)

/* CertStatus and CertConfirmContent (RFC 9810 5.3.18, EXPLICIT TAGS) */
typedef struct {
    ASN1_OCTET_STRING *certHash;
    ASN1_INTEGER *certReqId;
    CMPV_PKISI *statusInfo;
    X509_ALGOR *hashAlg;
} CMPV_CERTSTATUS;
DEFINE_STACK_OF(CMPV_CERTSTATUS)
ASN1_SEQUENCE(CMPV_CERTSTATUS) = {
    ASN1_SIMPLE(CMPV_CERTSTATUS, certHash, ASN1_OCTET_STRING),
    ASN1_SIMPLE(CMPV_CERTSTATUS, certReqId, ASN1_INTEGER),
    ASN1_OPT(CMPV_CERTSTATUS, statusInfo, CMPV_PKISI),
    ASN1_EXP_OPT(CMPV_CERTSTATUS, hashAlg, X509_ALGOR, 0)
} static_ASN1_SEQUENCE_END(CMPV_CERTSTATUS)

typedef STACK_OF(CMPV_CERTSTATUS) CMPV_CERTCONF;
ASN1_ITEM_TEMPLATE(CMPV_CERTCONF) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, certConf, CMPV_CERTSTATUS)
static_ASN1_ITEM_TEMPLATE_END(CMPV_CERTCONF)

/* PKIMessage with only the header decoded (body and extraCerts left as
 * encoded): read for the nonce, and edited to protect a response we made */
typedef struct {
    CMPV_HEADER *header;
    ASN1_TYPE *body;
    ASN1_TYPE *protection;
    ASN1_TYPE *extraCerts;
} CMPV_MSG_LITE;
ASN1_SEQUENCE(CMPV_MSG_LITE) = {
    ASN1_SIMPLE(CMPV_MSG_LITE, header, CMPV_HEADER),
    ASN1_SIMPLE(CMPV_MSG_LITE, body, ASN1_ANY),
    ASN1_EXP_OPT(CMPV_MSG_LITE, protection, ASN1_ANY, 0),
    ASN1_EXP_OPT(CMPV_MSG_LITE, extraCerts, ASN1_ANY, 1)
} static_ASN1_SEQUENCE_END(CMPV_MSG_LITE)

/* ProtectedPart (RFC 4210 5.1.3): what a PKIMessage's protection covers */
typedef struct {
    CMPV_HEADER *header;
    ASN1_TYPE *body;
} CMPV_PPART;
ASN1_SEQUENCE(CMPV_PPART) = {
    ASN1_SIMPLE(CMPV_PPART, header, CMPV_HEADER),
    ASN1_SIMPLE(CMPV_PPART, body, ASN1_ANY)
} static_ASN1_SEQUENCE_END(CMPV_PPART)

struct cmp_view_t {
    CMPV_MSG *msg;
};

static apr_status_t view_cleanup(void *data)
{
    cmp_view_t *v = data;

    ASN1_item_free((ASN1_VALUE *)v->msg, ASN1_ITEM_rptr(CMPV_MSG));
    v->msg = NULL;
    return APR_SUCCESS;
}

apr_status_t cmp_view_decode(apr_pool_t *p, const unsigned char *der,
                             long len, cmp_view_t **out)
{
    const unsigned char *q = der;
    cmp_view_t *v;
    CMPV_MSG *msg;

    msg = (CMPV_MSG *)ASN1_item_d2i(NULL, &q, len, ASN1_ITEM_rptr(CMPV_MSG));
    if (msg == NULL)
        return APR_EINVAL;
    v = apr_pcalloc(p, sizeof(*v));
    v->msg = msg;
    apr_pool_cleanup_register(p, v, view_cleanup, apr_pool_cleanup_null);
    *out = v;
    return APR_SUCCESS;
}

cmp_prot_e cmp_view_protection(const cmp_view_t *v)
{
    const X509_ALGOR *alg = v->msg->header->protectionAlg;

    if (alg == NULL || v->msg->protection == NULL)
        return CMP_PROT_NONE;
    switch (OBJ_obj2nid(alg->algorithm)) {
    case NID_id_PasswordBasedMAC: case NID_pbmac1:
        return CMP_PROT_MAC;
    case NID_hmac_sha1: case NID_hmacWithSHA224:
    case NID_hmacWithSHA256: case NID_hmacWithSHA384: case NID_hmacWithSHA512:
    case NID_hmac_sha3_224: case NID_hmac_sha3_256:
    case NID_hmac_sha3_384: case NID_hmac_sha3_512:
    case NID_kmac128: case NID_kmac256:
        return CMP_PROT_OTHER_MAC;
    default:
        return CMP_PROT_SIG;
    }
}

const X509_ALGOR *cmp_view_protection_alg(const cmp_view_t *v)
{
    return v->msg->header->protectionAlg;
}

const ASN1_BIT_STRING *cmp_view_protection_bits(const cmp_view_t *v)
{
    return v->msg->protection;
}

/* The DER of val (of item it), from p. */
static apr_status_t item_der(apr_pool_t *p, const ASN1_VALUE *val,
                             const ASN1_ITEM *it, unsigned char **der, int *len)
{
    unsigned char *d = NULL;
    int n = ASN1_item_i2d(val, &d, it);

    if (n <= 0)
        return APR_EGENERAL;
    *der = apr_pmemdup(p, d, (apr_size_t)n);
    *len = n;
    OPENSSL_free(d);
    return APR_SUCCESS;
}

static apr_status_t ppart_der(apr_pool_t *p, CMPV_HEADER *header,
                              ASN1_TYPE *body, unsigned char **der, int *len)
{
    CMPV_PPART pp;

    pp.header = header;
    pp.body = body;
    return item_der(p, (const ASN1_VALUE *)&pp, ASN1_ITEM_rptr(CMPV_PPART), der, len);
}

apr_status_t cmp_view_protected_part(apr_pool_t *p, const cmp_view_t *v,
                                     unsigned char **der, int *len)
{
    return ppart_der(p, v->msg->header, v->msg->body, der, len);
}

apr_status_t cmp_asn1_protect(apr_pool_t *p, const unsigned char *der,
                              long len, const X509_ALGOR *alg,
                              cmp_mac_fn fn, const void *arg,
                              unsigned char **out, apr_size_t *out_len)
{
    const unsigned char *q = der;
    CMPV_MSG_LITE *m = (CMPV_MSG_LITE *)ASN1_item_d2i(NULL, &q, len,
                                                      ASN1_ITEM_rptr(CMPV_MSG_LITE));
    unsigned char *pp = NULL, mac[CMP_PROTECT_MAX];
    ASN1_BIT_STRING *bits = NULL;
    size_t mac_len = 0;
    int pp_len = 0, n = 0;
    apr_status_t rv = APR_EGENERAL;

    if (m == NULL || q != der + len) {
        rv = APR_EINVAL;
        goto done;
    }
    X509_ALGOR_free(m->header->protectionAlg);
    ASN1_TYPE_free(m->protection);
    m->protection = NULL;
    if ((m->header->protectionAlg = X509_ALGOR_dup(alg)) == NULL
            || ppart_der(p, m->header, m->body, &pp, &pp_len) != APR_SUCCESS
            || !fn(arg, pp, (size_t)pp_len, mac, &mac_len)
            || (bits = ASN1_BIT_STRING_new()) == NULL
            || !ASN1_BIT_STRING_set(bits, mac, (int)mac_len)
            || (m->protection = ASN1_TYPE_new()) == NULL)
        goto done;
    /* a MAC is a whole number of octets: no unused bits */
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    ASN1_TYPE_set(m->protection, V_ASN1_BIT_STRING, bits);
    bits = NULL;
    rv = item_der(p, (const ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE), out, &n);
    if (rv == APR_SUCCESS)
        *out_len = (apr_size_t)n;
done:
    OPENSSL_cleanse(mac, sizeof(mac));
    ASN1_BIT_STRING_free(bits);
    ASN1_item_free((ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE));
    return rv;
}

int cmp_view_implicit_confirm(const cmp_view_t *v)
{
    const STACK_OF(CMPV_ITAV) *gi = v->msg->header->generalInfo;
    int i;

    for (i = 0; i < sk_CMPV_ITAV_num(gi); i++) {
        if (OBJ_obj2nid(sk_CMPV_ITAV_value(gi, i)->type)
                == NID_id_it_implicitConfirm)
            return 1;
    }
    return 0;
}

const X509_NAME *cmp_view_sender(const cmp_view_t *v)
{
    const GENERAL_NAME *gn = v->msg->header->sender;

    return gn != NULL && gn->type == GEN_DIRNAME ? gn->d.directoryName : NULL;
}

const ASN1_OCTET_STRING *cmp_view_sender_kid(const cmp_view_t *v)
{
    return v->msg->header->senderKID;
}

const ASN1_OCTET_STRING *cmp_view_sender_nonce(const cmp_view_t *v)
{
    return v->msg->header->senderNonce;
}

const ASN1_OCTET_STRING *cmp_view_transaction_id(const cmp_view_t *v)
{
    return v->msg->header->transactionID;
}

STACK_OF(X509) *cmp_view_extra_certs(const cmp_view_t *v)
{
    return v->msg->extraCerts;
}

long cmp_view_pvno(const cmp_view_t *v)
{
    long n = ASN1_INTEGER_get(v->msg->header->pvno);

    return n >= 0 && n < 1000 ? n : -1;
}

const ASN1_GENERALIZEDTIME *cmp_view_message_time(const cmp_view_t *v)
{
    return v->msg->header->messageTime;
}

const ASN1_OCTET_STRING *cmp_view_recip_nonce(const cmp_view_t *v)
{
    return v->msg->header->recipNonce;
}

int cmp_view_sender_type(const cmp_view_t *v)
{
    return v->msg->header->sender != NULL ? v->msg->header->sender->type : -1;
}

int cmp_view_body_type(const cmp_view_t *v)
{
    const ASN1_TYPE *body = v->msg->body;
    const unsigned char *d;

    if (body == NULL || body->type != V_ASN1_OTHER
            || body->value.asn1_string == NULL
            || body->value.asn1_string->length < 2)
        return -1;
    d = body->value.asn1_string->data;
    /* [n] EXPLICIT: context-specific, constructed, n below 31 */
    if ((d[0] & 0xe0) != 0xa0 || (d[0] & 0x1f) == 0x1f)
        return -1;
    return d[0] & 0x1f;
}

/* id-it-confirmWaitTime (RFC 9810 5.1.1.2), 1.3.6.1.5.5.7.4.14, as encoded
 * (OpenSSL 3.0 has no NID for it) */
static const unsigned char oid_confirm_wait_time[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, 0x0e};

static int is_confirm_wait_time(const ASN1_OBJECT *o)
{
    return OBJ_length(o) == sizeof(oid_confirm_wait_time)
           && memcmp(OBJ_get0_data(o), oid_confirm_wait_time,
                     sizeof(oid_confirm_wait_time)) == 0;
}

const char *cmp_view_general_info_problem(const cmp_view_t *v, int body,
                                          int *bad_format)
{
    const STACK_OF(CMPV_ITAV) *gi = v->msg->header->generalInfo;
    const char *bad = NULL;
    int i, implicit = 0, wait = 0;

    *bad_format = 0;
    for (i = 0; bad == NULL && i < sk_CMPV_ITAV_num(gi); i++) {
        const CMPV_ITAV *it = sk_CMPV_ITAV_value(gi, i);

        if (OBJ_obj2nid(it->type) == NID_id_it_implicitConfirm) {
            implicit = 1;
            if (it->value != NULL && it->value->type != V_ASN1_NULL) {
                *bad_format = 1;
                bad = "the value of implicitConfirm must be NULL";
            }
        } else if (is_confirm_wait_time(it->type)) {
            wait = 1;
            if (it->value == NULL
                    || it->value->type != V_ASN1_GENERALIZEDTIME) {
                *bad_format = 1;
                bad = "the value of confirmWaitTime must be a GeneralizedTime";
            }
        }
    }
    if (bad != NULL)
        return bad;
    if (implicit && wait)
        return "implicitConfirm and confirmWaitTime exclude each other";
    if (implicit && body != 0 && body != 2 && body != 4 && body != 7)
        return "implicitConfirm is allowed in ir, cr, p10cr and kur only";
    if (wait)
        return "confirmWaitTime is for responses (ip, cp, kup) only";
    return NULL;
}

static int edit_bytes(ASN1_OCTET_STRING **field, const cmp_edit_bytes_t *b)
{
    if (b->what == CMP_EDIT_KEEP)
        return 1;
    ASN1_OCTET_STRING_free(*field);
    *field = NULL;
    if (b->what == CMP_EDIT_DROP)
        return 1;
    return (*field = ASN1_OCTET_STRING_new()) != NULL
           && ASN1_OCTET_STRING_set(*field, b->data, b->len);
}

/* The sender replaced by a new GeneralName of type and value (taken). */
static int set_sender(CMPV_HEADER *h, int type, void *value)
{
    GENERAL_NAME *g = GENERAL_NAME_new();

    if (g == NULL)
        return 0;
    GENERAL_NAME_set0_value(g, type, value);
    GENERAL_NAME_free(h->sender);
    h->sender = g;
    return 1;
}

static int edit_header(CMPV_HEADER *h, const cmp_edit_t *e)
{
    if (e->pvno >= 0 && !ASN1_INTEGER_set(h->pvno, e->pvno))
        return 0;
    if (!edit_bytes(&h->transactionID, &e->tid)
            || !edit_bytes(&h->senderNonce, &e->nonce)
            || !edit_bytes(&h->recipNonce, &e->recip_nonce)
            || !edit_bytes(&h->senderKID, &e->kid))
        return 0;
    if (e->sender_email != NULL) {
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();

        if (s == NULL || !ASN1_STRING_set(s, e->sender_email, -1)) {
            ASN1_IA5STRING_free(s);
            return 0;
        }
        if (!set_sender(h, GEN_EMAIL, s)) {
            ASN1_IA5STRING_free(s);
            return 0;
        }
    }
    if (e->sender_cn != NULL) {
        X509_NAME *n = X509_NAME_new();

        if (n == NULL || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                                     (const unsigned char *)e->sender_cn,
                                                     -1, -1, 0)) {
            X509_NAME_free(n);
            return 0;
        }
        if (!set_sender(h, GEN_DIRNAME, n)) {
            X509_NAME_free(n);
            return 0;
        }
    }
    if (e->prot_alg_oid != NULL) {
        ASN1_OBJECT *o = OBJ_txt2obj(e->prot_alg_oid, 1);

        if (o == NULL || h->protectionAlg == NULL
                || !X509_ALGOR_set0(h->protectionAlg, o, V_ASN1_UNDEF, NULL)) {
            ASN1_OBJECT_free(o);
            return 0;
        }
    }
    if (e->time != CMP_EDIT_KEEP) {
        ASN1_GENERALIZEDTIME_free(h->messageTime);
        h->messageTime = NULL;
        if (e->time == CMP_EDIT_SET
                && (h->messageTime = ASN1_GENERALIZEDTIME_set(NULL, e->time_value))
                       == NULL)
            return 0;
    }
    if (e->general_info != CMP_EDIT_KEEP) {
        const unsigned char *q = e->general_info_der;

        ASN1_item_free((ASN1_VALUE *)h->generalInfo, ASN1_ITEM_rptr(CMPV_GENINFO));
        h->generalInfo = NULL;
        if (e->general_info == CMP_EDIT_SET
                && (h->generalInfo = (CMPV_GENINFO *)ASN1_item_d2i(
                        NULL, &q, e->general_info_len,
                        ASN1_ITEM_rptr(CMPV_GENINFO))) == NULL)
            return 0;
    }
    return 1;
}

apr_status_t cmp_asn1_edit(apr_pool_t *p, const unsigned char *der, long len,
                           const cmp_edit_t *e, unsigned char **out,
                           apr_size_t *out_len)
{
    const unsigned char *q = der;
    CMPV_MSG_LITE *m = (CMPV_MSG_LITE *)ASN1_item_d2i(NULL, &q, len,
                                                      ASN1_ITEM_rptr(CMPV_MSG_LITE));
    apr_status_t rv = APR_EGENERAL;
    int n = 0;

    if (m == NULL || q != der + len) {
        rv = APR_EINVAL;
        goto done;
    }
    if (!edit_header(m->header, e))
        goto done;
    if (e->body_der != NULL) {
        ASN1_TYPE *b = NULL;

        q = e->body_der;
        if ((b = d2i_ASN1_TYPE(NULL, &q, e->body_len)) == NULL)
            goto done;
        ASN1_TYPE_free(m->body);
        m->body = b;
    }
    if (e->drop_protection) {
        X509_ALGOR_free(m->header->protectionAlg);
        m->header->protectionAlg = NULL;
        ASN1_TYPE_free(m->protection);
        m->protection = NULL;
    }
    if (e->drop_extra_certs || e->extra_certs_der != NULL) {
        ASN1_TYPE_free(m->extraCerts);
        m->extraCerts = NULL;
    }
    if (e->extra_certs_der != NULL) {
        q = e->extra_certs_der;
        if ((m->extraCerts = d2i_ASN1_TYPE(NULL, &q, e->extra_certs_len)) == NULL)
            goto done;
    }
    rv = item_der(p, (const ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE), out, &n);
    if (rv == APR_SUCCESS)
        *out_len = (apr_size_t)n;
done:
    ASN1_item_free((ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE));
    return rv;
}

static int reason_from_exts(const STACK_OF(X509_EXTENSION) *exts)
{
    int i = X509v3_get_ext_by_NID(exts, NID_crl_reason, -1);
    ASN1_ENUMERATED *e;
    long reason;

    if (i < 0)
        return -1;
    if (X509v3_get_ext_by_NID(exts, NID_crl_reason, i) >= 0)
        return CMP_RR_REASON_BAD;       /* two of them */
    if ((e = X509V3_EXT_d2i(X509v3_get_ext(exts, i))) == NULL)
        return CMP_RR_REASON_BAD;
    reason = ASN1_ENUMERATED_get(e);
    ASN1_ENUMERATED_free(e);
    return reason >= 0 && reason < 1000 ? (int)reason : CMP_RR_REASON_BAD;
}

/* The invalidityDate extension (RFC 5280 5.3.2): 1 and *when, 0 when
 * absent, CMP_RR_REASON_BAD when there are two or it does not decode. */
static int invalidity_from_exts(const STACK_OF(X509_EXTENSION) *exts,
                                long long *when)
{
    int i = X509v3_get_ext_by_NID(exts, NID_invalidity_date, -1);
    ASN1_GENERALIZEDTIME *t;
    struct tm tm;
    int ok;

    if (i < 0)
        return 0;
    if (X509v3_get_ext_by_NID(exts, NID_invalidity_date, i) >= 0)
        return CMP_RR_REASON_BAD;
    if ((t = X509V3_EXT_d2i(X509v3_get_ext(exts, i))) == NULL)
        return CMP_RR_REASON_BAD;
    ok = ASN1_TIME_to_tm(t, &tm);
    ASN1_GENERALIZEDTIME_free(t);
    if (!ok)
        return CMP_RR_REASON_BAD;
    *when = (long long)timegm(&tm);
    return 1;
}

/* The view's body (kept as its encoding, [n] tag included) decoded as an
 * item that declares that tag (body_as, below, takes the content of the
 * tag); NULL when it is not one (no error left behind). Free with
 * ASN1_item_free(, it). */
static ASN1_VALUE *body_whole_as(const cmp_view_t *v, const ASN1_ITEM *it)
{
    const ASN1_TYPE *body = v->msg->body;
    const unsigned char *q;
    ASN1_VALUE *out;

    if (body == NULL || body->type != V_ASN1_OTHER
            || body->value.asn1_string == NULL)
        return NULL;
    q = body->value.asn1_string->data;
    out = ASN1_item_d2i(NULL, &q, body->value.asn1_string->length, it);
    if (out == NULL)
        ERR_clear_error();
    return out;
}

int cmp_view_rr_invalidity(const cmp_view_t *v, long long *when)
{
    CMPV_RRBODY *rr = (CMPV_RRBODY *)body_whole_as(v, ASN1_ITEM_rptr(CMPV_RRBODY));
    int got = 0;

    *when = 0;
    if (rr == NULL)
        return 0;
    if (sk_CMPV_REVDETAILS_num(rr) > 0)
        got = invalidity_from_exts(sk_CMPV_REVDETAILS_value(rr, 0)->crlEntryDetails,
                                   when);
    ASN1_item_free((ASN1_VALUE *)rr, ASN1_ITEM_rptr(CMPV_RRBODY));
    ERR_clear_error();
    return got;
}

/* Whether a CertReqMsg of an ir, cr or kur has a POP that is_it says yes
 * to. */
static int any_popo(const cmp_view_t *v, int (*is_it)(const CMPV_POPO *))
{
    CMPV_CRMBODY *b = (CMPV_CRMBODY *)body_whole_as(v, ASN1_ITEM_rptr(CMPV_CRMBODY));
    STACK_OF(CMPV_CRM) *crms;
    int i, found = 0;

    if (b == NULL)
        return 0;
    crms = b->value.ir;                 /* the three are one member */
    for (i = 0; i < sk_CMPV_CRM_num(crms) && !found; i++) {
        const CMPV_POPO *popo = sk_CMPV_CRM_value(crms, i)->popo;

        found = popo != NULL && is_it(popo);
    }
    ASN1_item_free((ASN1_VALUE *)b, ASN1_ITEM_rptr(CMPV_CRMBODY));
    return found;
}

/* POPOPrivKey of keyEncipherment [2] or keyAgreement [3] */
static int is_priv_key(const CMPV_POPO *popo)
{
    return popo->type == 2 || popo->type == 3;
}

/* ... whose encryptedKey [4] is an EnvelopedData: as a context-specific
 * element the ANY holds its whole encoding */
static int is_encrypted_key(const CMPV_POPO *popo)
{
    const ASN1_TYPE *pk;

    if (!is_priv_key(popo))
        return 0;
    pk = popo->type == 2 ? popo->value.keyEncipherment : popo->value.keyAgreement;
    return pk != NULL && pk->type == V_ASN1_OTHER && pk->value.asn1_string != NULL
           && pk->value.asn1_string->length > 0
           && pk->value.asn1_string->data[0] == 0xa4;
}

int cmp_view_pop_encrypted_key(const cmp_view_t *v)
{
    return any_popo(v, is_encrypted_key);
}

int cmp_view_pop_priv_key(const cmp_view_t *v)
{
    return any_popo(v, is_priv_key);
}

int cmp_view_rr_reason(const cmp_view_t *v)
{
    CMPV_RRBODY *rr = (CMPV_RRBODY *)body_whole_as(v, ASN1_ITEM_rptr(CMPV_RRBODY));
    int reason = -1;

    if (rr == NULL)
        return -1;
    if (sk_CMPV_REVDETAILS_num(rr) > 0)
        reason = reason_from_exts(sk_CMPV_REVDETAILS_value(rr, 0)->crlEntryDetails);
    ASN1_item_free((ASN1_VALUE *)rr, ASN1_ITEM_rptr(CMPV_RRBODY));
    return reason;
}

/* A field of a SEQUENCE that OpenSSL decoded, found through the ASN.1
 * template OpenSSL declares the structure with (field name, offset, type):
 * OpenSSL 3.0 keeps the structure opaque but publishes its ASN1_ITEM. NULL
 * when the field is absent or not of the expected kind. */
static const void *field_of(const ASN1_ITEM *it, const void *obj,
                            const char *name, const ASN1_ITEM **type)
{
    long i;

    if (obj == NULL || (it->itype != ASN1_ITYPE_SEQUENCE
                        && it->itype != ASN1_ITYPE_NDEF_SEQUENCE))
        return NULL;
    for (i = 0; i < it->tcount; i++) {
        const ASN1_TEMPLATE *tt = &it->templates[i];
        const char *at = (const char *)obj + tt->offset;

        if (tt->field_name == NULL || strcmp(tt->field_name, name) != 0)
            continue;
        /* a SET OF / SEQUENCE OF or an ANY DEFINED BY is not a plain field */
        if ((tt->flags & (ASN1_TFLG_SK_MASK | ASN1_TFLG_ADB_MASK)) != 0)
            return NULL;
        *type = ASN1_ITEM_ptr(tt->item);
        return (tt->flags & ASN1_TFLG_EMBED) ? (const void *)at
                                             : *(const void *const *)at;
    }
    return NULL;
}

/* The chosen alternative of a CHOICE that OpenSSL decoded: its index (the
 * ASN.1 engine keeps it in the selector at it->utype), value and type. */
static void *choice_of(const ASN1_ITEM *it, const void *obj, int *index,
                       const char **name, const ASN1_ITEM **type)
{
    const ASN1_TEMPLATE *tt;
    int sel;

    if (obj == NULL || it->itype != ASN1_ITYPE_CHOICE)
        return NULL;
    sel = *(const int *)((const char *)obj + it->utype);
    if (sel < 0 || sel >= it->tcount)
        return NULL;
    tt = &it->templates[sel];
    if ((tt->flags & (ASN1_TFLG_SK_MASK | ASN1_TFLG_ADB_MASK | ASN1_TFLG_EMBED))
            != 0)
        return NULL;
    *index = sel;
    *name = tt->field_name != NULL ? tt->field_name : "";
    *type = ASN1_ITEM_ptr(tt->item);
    return *(void *const *)((const char *)obj + tt->offset);
}

OSSL_CRMF_MSG *cmp_msg_first_crm(OSSL_CMP_MSG *msg, int *count)
{
    const ASN1_ITEM *type = NULL;
    const void *body = field_of(ASN1_ITEM_rptr(OSSL_CMP_MSG), msg, "body", &type);
    const char *name = NULL;
    int sel = -1;
    OSSL_CRMF_MSGS *reqs;

    *count = 0;
    if (body == NULL)
        return NULL;
    reqs = choice_of(type, body, &sel, &name, &type);
    /* ir, cr and kur carry CertReqMessages (RFC 4210 5.1.2) */
    if (reqs == NULL || type != ASN1_ITEM_rptr(OSSL_CRMF_MSGS)
            || (sel != CMP_BODY_IR && sel != CMP_BODY_CR && sel != CMP_BODY_KUR))
        return NULL;
    *count = sk_OSSL_CRMF_MSG_num(reqs);
    return sk_OSSL_CRMF_MSG_value(reqs, 0);
}

X509_REQ *cmp_msg_p10cr(OSSL_CMP_MSG *msg)
{
    const ASN1_ITEM *type = NULL;
    const void *body = field_of(ASN1_ITEM_rptr(OSSL_CMP_MSG), msg, "body", &type);
    const char *name = NULL;
    int sel = -1;
    X509_REQ *csr;

    if (body == NULL)
        return NULL;
    csr = choice_of(type, body, &sel, &name, &type);
    return csr != NULL && sel == CMP_BODY_P10CR
           && type == ASN1_ITEM_rptr(X509_REQ) ? csr : NULL;
}

int cmp_crmf_verify_sig_pop(const OSSL_CRMF_MSG *crm, EVP_PKEY *pkey)
{
    const ASN1_ITEM *it = ASN1_ITEM_rptr(OSSL_CRMF_MSG), *req_it = NULL,
                    *popo_it = NULL, *sig_it = NULL, *t = NULL;
    const void *req, *popo, *input, *alg, *bits;
    const void *sig;
    const char *name = NULL;
    const OSSL_CRMF_CERTTEMPLATE *tmpl = OSSL_CRMF_MSG_get0_tmpl(crm);
    int sel = -1;

    if (tmpl == NULL || OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl) == NULL
            || (req = field_of(it, crm, "certReq", &req_it)) == NULL
            || (popo = field_of(it, crm, "popo", &popo_it)) == NULL)
        return -1;
    sig = choice_of(popo_it, popo, &sel, &name, &sig_it);
    if (sig == NULL || sel != OSSL_CRMF_POPO_SIGNATURE
            || strcmp(name, "value.signature") != 0
            || sig_it->itype != ASN1_ITYPE_SEQUENCE)
        return -1;
    /* with poposkInput the signature covers that instead of certReq */
    input = field_of(sig_it, sig, "poposkInput", &t);
    if (input != NULL)
        return -1;
    if ((alg = field_of(sig_it, sig, "algorithmIdentifier", &t)) == NULL
            || t != ASN1_ITEM_rptr(X509_ALGOR)
            || (bits = field_of(sig_it, sig, "signature", &t)) == NULL
            || t != ASN1_ITEM_rptr(ASN1_BIT_STRING))
        return -1;
    /* what OpenSSL's OSSL_CRMF_MSGS_verify_popo checks, with our key */
    return ASN1_item_verify_ex(req_it, alg, (ASN1_BIT_STRING *)bits, req,
                               NULL, pkey, NULL, NULL) == 1 ? 1 : 0;
}

static const ASN1_TIME *time_of(const ASN1_ITEM *it, const void *obj,
                                const char *name)
{
    const ASN1_ITEM *type = NULL;
    const void *t = field_of(it, obj, name, &type);

    return t != NULL && type == ASN1_ITEM_rptr(ASN1_TIME) ? t : NULL;
}

apr_status_t cmp_template_read(const OSSL_CRMF_CERTTEMPLATE *tmpl,
                               const X509_PUBKEY **spki,
                               const ASN1_TIME **not_before,
                               const ASN1_TIME **not_after)
{
    const ASN1_ITEM *it = ASN1_ITEM_rptr(OSSL_CRMF_CERTTEMPLATE), *type = NULL;
    const void *key, *validity;

    *spki = NULL;
    *not_before = *not_after = NULL;
    if (tmpl == NULL)
        return APR_EINVAL;
    /* The key OpenSSL decoded when it parsed the request: decoding a key is
     * costly in OpenSSL 3.0 (its decoder set-up), so it is done once. */
    key = field_of(it, tmpl, "publicKey", &type);
    if (key != NULL && type != ASN1_ITEM_rptr(X509_PUBKEY))
        return APR_EINVAL;
    *spki = key;
    validity = field_of(it, tmpl, "validity", &type);
    if (validity != NULL) {
        *not_before = time_of(type, validity, "notBefore");
        *not_after = time_of(type, validity, "notAfter");
    }
    return APR_SUCCESS;
}

/* The content of a [n] EXPLICIT body as an item of it: freed by the caller */
static ASN1_VALUE *body_as(const ASN1_TYPE *body, const ASN1_ITEM *it)
{
    const unsigned char *q, *start;
    long clen = 0;
    int tag = 0, cls = 0;

    if (body == NULL || body->type != V_ASN1_OTHER || body->value.asn1_string == NULL)
        return NULL;
    q = start = body->value.asn1_string->data;
    if (ASN1_get_object(&q, &clen, &tag, &cls, body->value.asn1_string->length)
            & 0x80)
        return NULL;
    return ASN1_item_d2i(NULL, &q, clen, it);
}

apr_status_t cmp_asn1_status_of(apr_pool_t *p, const unsigned char *der,
                                long len, int *body, int *status,
                                unsigned long *failinfo, const char **text)
{
    cmp_view_t *v = NULL;
    CMPV_PKISI *si = NULL;
    ASN1_VALUE *b = NULL;
    const ASN1_ITEM *it = NULL;
    apr_status_t rv = APR_EINVAL;
    int i;

    *text = "";
    *failinfo = 0;
    *status = -1;
    if (cmp_view_decode(p, der, len, &v) != APR_SUCCESS)
        return APR_EINVAL;
    *body = cmp_view_body_type(v);
    switch (*body) {
    case CMP_BODY_ERROR:
        it = ASN1_ITEM_rptr(CMPV_ERRV);
        if ((b = body_as(v->msg->body, it)) != NULL)
            si = ((CMPV_ERRV *)b)->status;
        break;
    case CMP_BODY_IP: case CMP_BODY_CP: case CMP_BODY_KUP:
        it = ASN1_ITEM_rptr(CMPV_CERTREP);
        if ((b = body_as(v->msg->body, it)) != NULL
                && sk_CMPV_CERTRESP_num(((CMPV_CERTREP *)b)->response) > 0)
            si = sk_CMPV_CERTRESP_value(((CMPV_CERTREP *)b)->response, 0)->status;
        break;
    case CMP_BODY_RP:
        it = ASN1_ITEM_rptr(CMPV_REVREP);
        if ((b = body_as(v->msg->body, it)) != NULL)
            si = sk_CMPV_PKISI_value(((CMPV_REVREP *)b)->status, 0);
        break;
    default:
        return APR_EINVAL;
    }
    if (si != NULL) {
        *status = (int)ASN1_INTEGER_get(si->status);
        for (i = 0; si->failInfo != NULL && i < 27; i++)
            if (ASN1_BIT_STRING_get_bit(si->failInfo, i))
                *failinfo |= 1UL << i;
        for (i = 0; i < sk_ASN1_UTF8STRING_num(si->statusString); i++) {
            const ASN1_UTF8STRING *s = sk_ASN1_UTF8STRING_value(si->statusString, i);

            *text = apr_pstrcat(p, *text, i > 0 ? "; " : "",
                                apr_pstrmemdup(p, (const char *)s->data,
                                               (apr_size_t)s->length), NULL);
        }
        rv = APR_SUCCESS;
    }
    ASN1_item_free(b, it);
    return rv;
}

/* body, a [tag] EXPLICIT element, made anew around content val of item it */
static ASN1_TYPE *body_of(const ASN1_VALUE *val, const ASN1_ITEM *it, int tag)
{
    unsigned char *content = NULL, *buf, *q;
    int clen = ASN1_item_i2d(val, &content, it), total;
    ASN1_STRING *s = NULL;
    ASN1_TYPE *t = NULL;

    if (clen <= 0)
        return NULL;
    total = ASN1_object_size(1, clen, tag);
    if (total > 0 && (buf = OPENSSL_malloc((size_t)total)) != NULL) {
        q = buf;
        ASN1_put_object(&q, 1, clen, tag, V_ASN1_CONTEXT_SPECIFIC);
        memcpy(q, content, (size_t)clen);
        if ((s = ASN1_STRING_type_new(V_ASN1_OTHER)) != NULL
                && (t = ASN1_TYPE_new()) != NULL) {
            ASN1_STRING_set0(s, buf, total);
            ASN1_TYPE_set(t, V_ASN1_OTHER, s);
            s = NULL;
        } else {
            OPENSSL_free(buf);
        }
    }
    ASN1_STRING_free(s);
    OPENSSL_free(content);
    return t;
}

apr_status_t cmp_view_certconf(const cmp_view_t *v, cmp_certconf_info_t *out)
{
    CMPV_CERTCONF *cc;
    const CMPV_CERTSTATUS *cs;

    memset(out, 0, sizeof(*out));
    out->status = -1;
    if (cmp_view_body_type(v) != CMP_BODY_CERTCONF
            || (cc = (CMPV_CERTCONF *)body_as(v->msg->body,
                                              ASN1_ITEM_rptr(CMPV_CERTCONF))) == NULL)
        return APR_EINVAL;
    out->count = sk_CMPV_CERTSTATUS_num(cc);
    if ((cs = sk_CMPV_CERTSTATUS_value(cc, 0)) != NULL) {
        if (cs->statusInfo != NULL) {
            out->status = (int)ASN1_INTEGER_get(cs->statusInfo->status);
            out->has_failinfo = cs->statusInfo->failInfo != NULL;
        }
        out->has_hash_alg = cs->hashAlg != NULL;
        out->hash_nid = cs->hashAlg != NULL ? OBJ_obj2nid(cs->hashAlg->algorithm)
                                            : NID_undef;
    }
    ASN1_item_free((ASN1_VALUE *)cc, ASN1_ITEM_rptr(CMPV_CERTCONF));
    return APR_SUCCESS;
}

int cmp_view_genm_itavs(const cmp_view_t *v, apr_pool_t *p, const char ***oids,
                        int **has_value)
{
    CMPV_GENINFO *sk;
    int i, n;

    if (cmp_view_body_type(v) != CMP_BODY_GENM
            || (sk = (CMPV_GENINFO *)body_as(v->msg->body,
                                             ASN1_ITEM_rptr(CMPV_GENINFO))) == NULL)
        return -1;
    n = sk_CMPV_ITAV_num(sk);
    *oids = apr_pcalloc(p, sizeof(**oids) * (size_t)(n + 1));
    *has_value = apr_pcalloc(p, sizeof(**has_value) * (size_t)(n + 1));
    for (i = 0; i < n; i++) {
        const CMPV_ITAV *it = sk_CMPV_ITAV_value(sk, i);
        char oid[80];

        if (OBJ_obj2txt(oid, sizeof(oid), it->type, 1) <= 0)
            oid[0] = '\0';
        (*oids)[i] = apr_pstrdup(p, oid);
        (*has_value)[i] = it->value != NULL;
    }
    ASN1_item_free((ASN1_VALUE *)sk, ASN1_ITEM_rptr(CMPV_GENINFO));
    return n;
}

int cmp_view_genm_value(const cmp_view_t *v, apr_pool_t *p, const char *oid,
                        unsigned char **der, int *len)
{
    CMPV_GENINFO *sk;
    int i, found = 0;

    *der = NULL;
    *len = 0;
    if (cmp_view_body_type(v) != CMP_BODY_GENM
            || (sk = (CMPV_GENINFO *)body_as(v->msg->body,
                                             ASN1_ITEM_rptr(CMPV_GENINFO))) == NULL)
        return 0;
    for (i = 0; !found && i < sk_CMPV_ITAV_num(sk); i++) {
        const CMPV_ITAV *it = sk_CMPV_ITAV_value(sk, i);
        unsigned char *d = NULL;
        char name[80];

        if (OBJ_obj2txt(name, sizeof(name), it->type, 1) <= 0
                || strcmp(name, oid) != 0)
            continue;
        found = 1;
        if (it->value != NULL && (*len = i2d_ASN1_TYPE(it->value, &d)) > 0) {
            *der = apr_pmemdup(p, d, (apr_size_t)*len);
            OPENSSL_free(d);
        }
    }
    ASN1_item_free((ASN1_VALUE *)sk, ASN1_ITEM_rptr(CMPV_GENINFO));
    return found;
}

/* Whether a CRLSource names the CA: an issuer directoryName equal to its
 * name, or a fullName URI equal to its CRL's URL. */
static int source_is(const CMPV_CRLSOURCE *src, const X509_NAME *ca_name,
                     const char *crl_url)
{
    const GENERAL_NAMES *names = NULL;
    int i;

    if (src->type == 1)
        names = src->value.issuer;
    else if (src->type == 0 && src->value.dpn != NULL && src->value.dpn->type == 0)
        names = src->value.dpn->name.fullname;
    for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

        if (src->type == 1 && gn->type == GEN_DIRNAME && ca_name != NULL
                && X509_NAME_cmp(gn->d.directoryName, ca_name) == 0)
            return 1;
        if (src->type == 0 && gn->type == GEN_URI && crl_url != NULL
                && ASN1_STRING_length(gn->d.uniformResourceIdentifier) == (int)strlen(crl_url)
                && memcmp(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                          crl_url, strlen(crl_url)) == 0)
            return 1;
    }
    return 0;
}

int cmp_view_crl_status_list(const cmp_view_t *v, apr_pool_t *p,
                             const X509_NAME *ca_name, const char *crl_url,
                             cmp_crl_status_t **out)
{
    CMPV_GENINFO *sk;
    CMPV_CRLSTATUSLIST *list = NULL;
    int i, n = -1;

    if (cmp_view_body_type(v) != CMP_BODY_GENM
            || (sk = (CMPV_GENINFO *)body_as(v->msg->body,
                                             ASN1_ITEM_rptr(CMPV_GENINFO))) == NULL)
        return -1;
    for (i = 0; i < sk_CMPV_ITAV_num(sk) && list == NULL; i++) {
        const CMPV_ITAV *it = sk_CMPV_ITAV_value(sk, i);
        unsigned char *der = NULL;
        const unsigned char *q;
        char oid[80];
        int len;


        if (OBJ_obj2txt(oid, sizeof(oid), it->type, 1) <= 0
                || strcmp(oid, "1.3.6.1.5.5.7.4.22") != 0)   /* crlStatusList */
            continue;
        if (it->value == NULL || (len = i2d_ASN1_TYPE(it->value, &der)) <= 0)
            break;
        q = der;
        list = (CMPV_CRLSTATUSLIST *)ASN1_item_d2i(NULL, &q, len,
                                                   ASN1_ITEM_rptr(CMPV_CRLSTATUSLIST));
        if (list != NULL && q != der + len) {
            ASN1_item_free((ASN1_VALUE *)list, ASN1_ITEM_rptr(CMPV_CRLSTATUSLIST));
            list = NULL;
        }
        OPENSSL_free(der);
        break;
    }
    if (list != NULL && (n = sk_CMPV_CRLSTATUS_num(list)) > 0) {
        *out = apr_pcalloc(p, sizeof(**out) * (size_t)n);
        for (i = 0; i < n; i++) {
            const CMPV_CRLSTATUS *st = sk_CMPV_CRLSTATUS_value(list, i);
            struct tm tm;

            (*out)[i].ours = source_is(st->source, ca_name, crl_url);
            if (st->thisUpdate != NULL && ASN1_TIME_to_tm(st->thisUpdate, &tm))
                (*out)[i].this_update = timegm(&tm);
            else if (st->thisUpdate != NULL)
                n = -1;
        }
    } else
        n = -1;       /* SIZE (1..MAX) */
    ASN1_item_free((ASN1_VALUE *)list, ASN1_ITEM_rptr(CMPV_CRLSTATUSLIST));
    ASN1_item_free((ASN1_VALUE *)sk, ASN1_ITEM_rptr(CMPV_GENINFO));
    return n;
}

apr_status_t cmp_asn1_standin(apr_pool_t *p, const unsigned char *der,
                              long len, unsigned char **out,
                              apr_size_t *out_len)
{
    static const unsigned char pkiconf[] = {0xb3, 0x02, 0x05, 0x00};
    cmp_edit_t e;

    memset(&e, 0, sizeof(e));
    e.pvno = 2;
    e.general_info = CMP_EDIT_DROP;
    e.body_der = pkiconf;
    e.body_len = sizeof(pkiconf);
    e.drop_protection = 1;
    e.drop_extra_certs = 1;
    return cmp_asn1_edit(p, der, len, &e, out, out_len);
}

apr_status_t cmp_asn1_certconf_v2(apr_pool_t *p, const unsigned char *der,
                                  long len, unsigned char **out,
                                  apr_size_t *out_len)
{
    cmp_view_t *v = NULL;
    CMPV_CERTCONF *cc;
    unsigned char *body = NULL;
    int i, body_len;
    cmp_edit_t e;
    apr_status_t rv;
    ASN1_TYPE *nb;

    if (cmp_view_decode(p, der, len, &v) != APR_SUCCESS
            || cmp_view_body_type(v) != CMP_BODY_CERTCONF
            || (cc = (CMPV_CERTCONF *)body_as(v->msg->body,
                                              ASN1_ITEM_rptr(CMPV_CERTCONF))) == NULL)
        return APR_EINVAL;
    for (i = 0; i < sk_CMPV_CERTSTATUS_num(cc); i++) {
        CMPV_CERTSTATUS *cs = sk_CMPV_CERTSTATUS_value(cc, i);

        X509_ALGOR_free(cs->hashAlg);
        cs->hashAlg = NULL;
    }
    nb = body_of((const ASN1_VALUE *)cc, ASN1_ITEM_rptr(CMPV_CERTCONF),
                 CMP_BODY_CERTCONF);
    ASN1_item_free((ASN1_VALUE *)cc, ASN1_ITEM_rptr(CMPV_CERTCONF));
    if (nb == NULL)
        return APR_EGENERAL;
    body_len = i2d_ASN1_TYPE(nb, &body);
    ASN1_TYPE_free(nb);
    if (body_len <= 0)
        return APR_EGENERAL;
    memset(&e, 0, sizeof(e));
    e.pvno = 2;
    e.body_der = body;
    e.body_len = body_len;
    e.drop_protection = 1;
    rv = cmp_asn1_edit(p, der, len, &e, out, out_len);
    OPENSSL_free(body);
    return rv;
}

apr_status_t cmp_asn1_set_status(apr_pool_t *p, const unsigned char *der,
                                 long len, const OSSL_CMP_PKISI *si,
                                 unsigned char **out, apr_size_t *out_len)
{
    const unsigned char *q = der;
    CMPV_MSG_LITE *m = (CMPV_MSG_LITE *)ASN1_item_d2i(NULL, &q, len,
                                                      ASN1_ITEM_rptr(CMPV_MSG_LITE));
    unsigned char *si_der = NULL;
    CMPV_PKISI *vsi = NULL, **slot = NULL;
    ASN1_VALUE *b = NULL;
    const ASN1_ITEM *it = NULL;
    ASN1_TYPE *nb;
    apr_status_t rv = APR_EINVAL;
    int n = 0, tag = -1;

    if (m == NULL || q != der + len)
        goto done;
    if (m->body->type == V_ASN1_OTHER && m->body->value.asn1_string->length > 0)
        tag = m->body->value.asn1_string->data[0] & 0x1f;
    if (tag == CMP_BODY_ERROR) {
        it = ASN1_ITEM_rptr(CMPV_ERRV);
        if ((b = body_as(m->body, it)) != NULL)
            slot = &((CMPV_ERRV *)b)->status;
    } else if (tag == CMP_BODY_IP || tag == CMP_BODY_CP || tag == CMP_BODY_KUP) {
        it = ASN1_ITEM_rptr(CMPV_CERTREP);
        if ((b = body_as(m->body, it)) != NULL
                && sk_CMPV_CERTRESP_num(((CMPV_CERTREP *)b)->response) > 0)
            slot = &sk_CMPV_CERTRESP_value(((CMPV_CERTREP *)b)->response, 0)->status;
    }
    if (slot == NULL)
        goto done;
    rv = APR_EGENERAL;
    n = i2d_OSSL_CMP_PKISI(si, &si_der);
    q = si_der;
    if (n <= 0 || (vsi = (CMPV_PKISI *)ASN1_item_d2i(NULL, &q, n,
                                                      ASN1_ITEM_rptr(CMPV_PKISI))) == NULL)
        goto done;
    ASN1_item_free((ASN1_VALUE *)*slot, ASN1_ITEM_rptr(CMPV_PKISI));
    *slot = vsi;
    if ((nb = body_of(b, it, tag)) == NULL)
        goto done;
    ASN1_TYPE_free(m->body);
    m->body = nb;
    rv = item_der(p, (const ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE), out, &n);
    if (rv == APR_SUCCESS)
        *out_len = (apr_size_t)n;
done:
    OPENSSL_free(si_der);
    ASN1_item_free(b, it);
    ASN1_item_free((ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE));
    return rv;
}

apr_status_t cmp_asn1_wrap(apr_pool_t *p, int tag, int context,
                           const unsigned char *const *ders, const int *lens,
                           int n, unsigned char **out, int *out_len)
{
    unsigned char *q;
    long content = 0;
    int i, total;

    for (i = 0; i < n; i++)
        content += lens[i];
    if (content > 0x7fffffffL / 2
            || (total = ASN1_object_size(1, (int)content, tag)) <= 0)
        return APR_EINVAL;
    q = *out = apr_palloc(p, (apr_size_t)total);
    ASN1_put_object(&q, 1, (int)content, tag,
                    context ? V_ASN1_CONTEXT_SPECIFIC : V_ASN1_UNIVERSAL);
    for (i = 0; i < n; i++) {
        memcpy(q, ders[i], (size_t)lens[i]);
        q += lens[i];
    }
    *out_len = total;
    return APR_SUCCESS;
}

int cmp_pkisi_status(const OSSL_CMP_PKISI *si)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    CMPV_PKISI *v;
    int len, status = -1;

    len = ASN1_item_i2d((const ASN1_VALUE *)si, &der,
                        ASN1_ITEM_rptr(OSSL_CMP_PKISI));
    if (len <= 0)
        return -1;
    q = der;
    v = (CMPV_PKISI *)ASN1_item_d2i(NULL, &q, len, ASN1_ITEM_rptr(CMPV_PKISI));
    if (v != NULL)
        status = (int)ASN1_INTEGER_get(v->status);
    ASN1_item_free((ASN1_VALUE *)v, ASN1_ITEM_rptr(CMPV_PKISI));
    OPENSSL_free(der);
    return status;
}

apr_status_t cmp_asn1_sender_nonce(apr_pool_t *p, const unsigned char *der,
                                   long len, unsigned char **nonce,
                                   int *nonce_len)
{
    const unsigned char *q = der;
    CMPV_MSG_LITE *m = (CMPV_MSG_LITE *)ASN1_item_d2i(NULL, &q, len,
                                                      ASN1_ITEM_rptr(CMPV_MSG_LITE));
    apr_status_t rv = APR_EINVAL;

    *nonce = NULL;
    *nonce_len = 0;
    if (m != NULL && m->header->senderNonce != NULL) {
        *nonce_len = m->header->senderNonce->length;
        *nonce = apr_pmemdup(p, m->header->senderNonce->data,
                             (apr_size_t)*nonce_len);
        rv = APR_SUCCESS;
    }
    ASN1_item_free((ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE));
    return rv;
}

apr_status_t cmp_asn1_cms_content(apr_pool_t *p, const unsigned char *der,
                                  long len, unsigned char **out, int *out_len)
{
    const unsigned char *q = der;
    CMPV_CONTENTINFO *ci = (CMPV_CONTENTINFO *)ASN1_item_d2i(NULL, &q, len,
                                                             ASN1_ITEM_rptr(CMPV_CONTENTINFO));
    unsigned char *d = NULL;
    int n = 0;

    if (ci != NULL && q == der + len)
        n = i2d_ASN1_TYPE(ci->content, &d);
    ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(CMPV_CONTENTINFO));
    if (n <= 0)
        return APR_EINVAL;
    *out = apr_pmemdup(p, d, (apr_size_t)n);
    *out_len = n;
    OPENSSL_clear_free(d, (size_t)n);       /* it may hold a private key */
    return APR_SUCCESS;
}

apr_status_t cmp_asn1_set_private_key(apr_pool_t *p, const unsigned char *der,
                                      long len, const unsigned char *key_der,
                                      int key_len, unsigned char **out,
                                      apr_size_t *out_len)
{
    const unsigned char *q = der;
    CMPV_MSG_LITE *m = (CMPV_MSG_LITE *)ASN1_item_d2i(NULL, &q, len,
                                                      ASN1_ITEM_rptr(CMPV_MSG_LITE));
    CMPV_CERTREP *rep = NULL;
    CMPV_CERTRESP *resp;
    CMPV_CKP *ckp = NULL;
    unsigned char *ckp_der = NULL;
    ASN1_TYPE *nb;
    apr_status_t rv = APR_EINVAL;
    int n = 0, tag = -1;

    if (m == NULL || q != der + len)
        goto done;
    if (m->body->type == V_ASN1_OTHER && m->body->value.asn1_string->length > 0)
        tag = m->body->value.asn1_string->data[0] & 0x1f;
    if ((tag != CMP_BODY_IP && tag != CMP_BODY_CP && tag != CMP_BODY_KUP)
            || (rep = (CMPV_CERTREP *)body_as(m->body, ASN1_ITEM_rptr(CMPV_CERTREP))) == NULL
            || sk_CMPV_CERTRESP_num(rep->response) != 1
            || (resp = sk_CMPV_CERTRESP_value(rep->response, 0))->certifiedKeyPair == NULL)
        goto done;
    q = resp->certifiedKeyPair->data;
    ckp = (CMPV_CKP *)ASN1_item_d2i(NULL, &q, resp->certifiedKeyPair->length,
                                    ASN1_ITEM_rptr(CMPV_CKP));
    if (ckp == NULL || ckp->privateKey != NULL)
        goto done;
    rv = APR_EGENERAL;
    q = key_der;
    if ((ckp->privateKey = d2i_ASN1_TYPE(NULL, &q, key_len)) == NULL
            || q != key_der + key_len
            || (n = ASN1_item_i2d((ASN1_VALUE *)ckp, &ckp_der,
                                  ASN1_ITEM_rptr(CMPV_CKP))) <= 0
            || !ASN1_STRING_set(resp->certifiedKeyPair, ckp_der, n)
            || (nb = body_of((ASN1_VALUE *)rep, ASN1_ITEM_rptr(CMPV_CERTREP), tag)) == NULL)
        goto done;
    ASN1_TYPE_free(m->body);
    m->body = nb;
    rv = item_der(p, (const ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE), out, &n);
    if (rv == APR_SUCCESS)
        *out_len = (apr_size_t)n;
done:
    OPENSSL_free(ckp_der);
    ASN1_item_free((ASN1_VALUE *)ckp, ASN1_ITEM_rptr(CMPV_CKP));
    ASN1_item_free((ASN1_VALUE *)rep, ASN1_ITEM_rptr(CMPV_CERTREP));
    ASN1_item_free((ASN1_VALUE *)m, ASN1_ITEM_rptr(CMPV_MSG_LITE));
    return rv;
}

int cmp_view_no_popo(const cmp_view_t *v)
{
    CMPV_CRMBODY *b = (CMPV_CRMBODY *)body_whole_as(v, ASN1_ITEM_rptr(CMPV_CRMBODY));
    int none;

    if (b == NULL)
        return 0;
    none = sk_CMPV_CRM_num(b->value.ir) == 1
           && sk_CMPV_CRM_value(b->value.ir, 0)->popo == NULL;
    ASN1_item_free((ASN1_VALUE *)b, ASN1_ITEM_rptr(CMPV_CRMBODY));
    return none;
}
