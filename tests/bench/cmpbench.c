/* SPDX-License-Identifier: Apache-2.0 */
/* cmpbench: load client for CMP servers, on OpenSSL's CMP client API.
 *
 *   full mode    N threads run real transactions (ir with implicitConfirm, or
 *                ir + certConf), each response verified by OpenSSL's client
 *                (protection against -trusted / the secret, the certificate's
 *                key), for -seconds.
 *   -url may be given several times: the clients are spread over the servers.
 *
 *   post mode    the files listed in -bodies (one path per line) are posted
 *                round-robin with -ctype over keep-alive connections (one
 *                per thread, reopened when the server closes it); the
 *                answers must be successful OCSPResponses, every -sample'th
 *                one verified against -trusted (the OCSP bench).
 *
 *   replay mode  protected ir requests with implicitConfirm are made before
 *                the clock starts (unique transactionIDs and nonces), then
 *                posted over keep-alive connections as fast as the server
 *                answers; every -sample'th response is verified.
 *
 * HTTP/1.1 with keep-alive and TCP_NODELAY, one connection per thread.
 * Prints key=value lines; exits non-zero when any transaction failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_THREADS 512

#define MAX_URLS 8

/* One server; clients are spread over the -url options round-robin. */
typedef struct {
    char *host, *port, *path;
} target_t;

typedef struct {
    int fd;
    char *buf;
    size_t cap;
    const target_t *to;
} conn_t;

typedef struct {
    int id;
    conn_t conn;
    EVP_PKEY *key;
    unsigned char **reqs;           /* replay: pre-made requests */
    int *req_len;
    int nreqs;
    double *lat;                    /* ms */
    int nlat, caplat;
    long ok, errors;
    FILE *serials;
    pthread_mutex_t *serials_lock;
} worker_t;

static target_t targets[MAX_URLS];
static int ntargets;
static const char *secret, *ref = "bench", *certf, *keyf, *keytype = "ec";
static X509 *sender_cert;
static EVP_PKEY *sender_key;
static X509_STORE *trusted;
static const char *ctype = "application/pkixcmp";
static unsigned char **bodies;
static int *body_len, nbodies;
static STACK_OF(X509) *trusted_certs;
static int implicit = 1, seconds = 10, clients = 1, sample = 50, per_thread = 0;
static volatile int stop_flag;
static double t_end;

/* SIGINT: stop the clock, report what was done (the CRL bench ends a run
 * when the CRL is made) */
static void on_interrupt(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *m)
{
    fprintf(stderr, "cmpbench: %s\n", m);
    ERR_print_errors_fp(stderr);
    exit(2);
}

/* ---- HTTP/1.1 over one kept-alive connection ---------------------------- */

static int conn_open(conn_t *c)
{
    struct addrinfo hints, *ai;
    int one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(c->to->host, c->to->port, &hints, &ai) != 0)
        return 0;
    c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        freeaddrinfo(ai);
        return 0;
    }
    freeaddrinfo(ai);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 1;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int read_more(conn_t *c, size_t *have)
{
    ssize_t n;

    if (*have + 4096 > c->cap) {
        c->cap = c->cap * 2 + 8192;
        c->buf = realloc(c->buf, c->cap);
    }
    n = read(c->fd, c->buf + *have, c->cap - *have - 1);
    if (n <= 0)
        return 0;
    *have += (size_t)n;
    c->buf[*have] = '\0';
    return 1;
}

/* POST der; the response body is left in c->buf at *body. */
static int post_once(conn_t *c, const unsigned char *der, int len,
                     const unsigned char **body, long *blen)
{
    char head[512];
    struct iovec iov[2];
    size_t have = 0, hl;
    char *end, *cl;
    long clen;
    int status, keep = 1;

    if (c->fd < 0 && !conn_open(c))
        return 0;
    snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
             "Content-Type: %s\r\nContent-Length: %d\r\n\r\n",
             c->to->path, c->to->host, c->to->port, ctype, len);
    iov[0].iov_base = head;
    iov[0].iov_len = strlen(head);
    iov[1].iov_base = (void *)der;
    iov[1].iov_len = (size_t)len;
    if (writev(c->fd, iov, 2) != (ssize_t)(iov[0].iov_len + iov[1].iov_len))
        return 0;
    while ((end = strstr(c->buf ? c->buf : "", "\r\n\r\n")) == NULL || have == 0)
        if (!read_more(c, &have))
            return 0;
    hl = (size_t)(end - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1 || status != 200)
        return 0;
    cl = strcasestr(c->buf, "\r\nContent-Length:");
    if (cl == NULL || cl > end)
        return 0;
    clen = strtol(cl + 17, NULL, 10);
    cl = strcasestr(c->buf, "\r\nConnection: close");
    if (cl != NULL && cl < end)
        keep = 0;
    /* HTTP/1.0 (openssl ocsp) closes unless it says keep-alive */
    cl = strcasestr(c->buf, "\r\nConnection: keep-alive");
    if (strncmp(c->buf, "HTTP/1.0", 8) == 0 && (cl == NULL || cl > end))
        keep = 0;
    while (have < hl + (size_t)clen)
        if (!read_more(c, &have))
            return 0;
    *body = (unsigned char *)c->buf + hl;
    *blen = clen;
    c->buf[0] = '\0';
    if (!keep)
        conn_close(c);
    return 1;
}

/* A PKIMessage whose body is an ip ([1]), nothing of it decoded: what the
 * unsampled responses of replay mode are checked with, so that the load
 * client spends its CPU on load, not on decoding certificates. */
typedef struct {
    ASN1_TYPE *header;
    ASN1_TYPE *ip;
    ASN1_TYPE *protection;
    ASN1_TYPE *extra_certs;
} IP_LITE;
ASN1_SEQUENCE(IP_LITE) = {
    ASN1_SIMPLE(IP_LITE, header, ASN1_ANY),
    ASN1_EXP(IP_LITE, ip, ASN1_ANY, 1),
    ASN1_EXP_OPT(IP_LITE, protection, ASN1_ANY, 0),
    ASN1_EXP_OPT(IP_LITE, extra_certs, ASN1_ANY, 1)
} static_ASN1_SEQUENCE_END(IP_LITE)

static int is_ip(const unsigned char *der, long len)
{
    const unsigned char *q = der;
    ASN1_VALUE *v = ASN1_item_d2i(NULL, &q, len, ASN1_ITEM_rptr(IP_LITE));
    int ok = v != NULL && q == der + len;

    ASN1_item_free(v, ASN1_ITEM_rptr(IP_LITE));
    ERR_clear_error();
    return ok;
}

/* POST der; 1 when the answer is an ip (checked without decoding it). */
static int post_ip(conn_t *c, const unsigned char *der, int len)
{
    const unsigned char *body = NULL;
    long blen = 0;
    int tries;

    for (tries = 0; tries < 2; tries++) {
        if (post_once(c, der, len, &body, &blen))
            return is_ip(body, blen);
        conn_close(c);
    }
    return 0;
}

static OSSL_CMP_MSG *post(conn_t *c, const unsigned char *der, int len)
{
    const unsigned char *body = NULL, *q;
    long blen = 0;
    int tries;
    OSSL_CMP_MSG *rsp;

    for (tries = 0; tries < 2; tries++) {
        if (post_once(c, der, len, &body, &blen))
            break;
        conn_close(c);
        body = NULL;
    }
    if (body == NULL)
        return NULL;
    q = body;
    rsp = d2i_OSSL_CMP_MSG(NULL, &q, blen);
    return rsp;
}

static OSSL_CMP_MSG *transfer(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    worker_t *w = OSSL_CMP_CTX_get_transfer_cb_arg(ctx);
    unsigned char *der = NULL;
    int len = i2d_OSSL_CMP_MSG(req, &der);
    OSSL_CMP_MSG *rsp = len > 0 ? post(&w->conn, der, len) : NULL;

    OPENSSL_free(der);
    return rsp;
}


static OSSL_CMP_MSG *capture(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    OSSL_CMP_MSG **out = OSSL_CMP_CTX_get_transfer_cb_arg(ctx);

    *out = OSSL_CMP_MSG_dup(req);
    return NULL;
}

/* ---- client contexts ---------------------------------------------------- */

static EVP_PKEY *make_key(void)
{
    if (strcmp(keytype, "rsa") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (strcmp(keytype, "ed25519") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (strcmp(keytype, "ml-dsa-65") == 0)     /* OpenSSL 3.5 and later */
        return EVP_PKEY_Q_keygen(NULL, NULL, "ML-DSA-65");
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static OSSL_CMP_CTX *client(worker_t *w, int n)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    X509_NAME *name = X509_NAME_new();
    char cn[64];

    if (ctx == NULL || name == NULL)
        die("out of memory");
    OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_EMERG);
    snprintf(cn, sizeof(cn), "bench-%d-%d-%ld", w->id, n, (long)getpid());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0);
    if (!X509_STORE_up_ref(trusted) || !OSSL_CMP_CTX_set0_trustedStore(ctx, trusted)
            || !OSSL_CMP_CTX_set1_subjectName(ctx, name)
            || !EVP_PKEY_up_ref(w->key) || !OSSL_CMP_CTX_set0_newPkey(ctx, 1, w->key))
        die("cannot set up a client context");
    if (secret != NULL) {
        OSSL_CMP_CTX_set1_secretValue(ctx, (const unsigned char *)secret, (int)strlen(secret));
        OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)ref, (int)strlen(ref));
    } else {
        OSSL_CMP_CTX_set1_cert(ctx, sender_cert);
        OSSL_CMP_CTX_set1_pkey(ctx, sender_key);
    }
    OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM, implicit);
    X509_NAME_free(name);
    return ctx;
}

static void record(worker_t *w, double ms)
{
    if (w->nlat == w->caplat) {
        w->caplat = w->caplat * 2 + 1024;
        w->lat = realloc(w->lat, sizeof(double) * (size_t)w->caplat);
    }
    w->lat[w->nlat++] = ms;
}

static void note_serial(worker_t *w, X509 *cert)
{
    if (w->serials == NULL)
        return;
    pthread_mutex_lock(w->serials_lock);
    {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        char *hex = BN_bn2hex(bn);

        fprintf(w->serials, "%s\n", hex);
        OPENSSL_free(hex);
        BN_free(bn);
    }
    pthread_mutex_unlock(w->serials_lock);
}

static void *full_worker(void *arg)
{
    worker_t *w = arg;
    int n = 0;

    while (!stop_flag && now() < t_end) {
        OSSL_CMP_CTX *ctx = client(w, n++);
        double t0 = now();
        X509 *cert;

        OSSL_CMP_CTX_set_transfer_cb(ctx, transfer);
        OSSL_CMP_CTX_set_transfer_cb_arg(ctx, w);
        cert = OSSL_CMP_exec_IR_ses(ctx);
        if (cert != NULL) {
            w->ok++;
            record(w, (now() - t0) * 1000);
            note_serial(w, cert);
        } else {
            w->errors++;
            if (w->errors <= 3) {
                fprintf(stderr, "cmpbench: transaction failed\n");
                ERR_print_errors_fp(stderr);
            }
        }
        ERR_clear_error();
        OSSL_CMP_CTX_free(ctx);
    }
    return NULL;
}

static void make_requests(worker_t *w)
{
    int i;

    w->reqs = calloc((size_t)per_thread, sizeof(*w->reqs));
    w->req_len = calloc((size_t)per_thread, sizeof(int));
    for (i = 0; i < per_thread; i++) {
        OSSL_CMP_CTX *ctx = client(w, i);
        OSSL_CMP_MSG *m = NULL;

        OSSL_CMP_CTX_set_transfer_cb(ctx, capture);
        OSSL_CMP_CTX_set_transfer_cb_arg(ctx, &m);
        OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1);
        (void)OSSL_CMP_exec_IR_ses(ctx);
        ERR_clear_error();
        if (m == NULL)
            die("cannot make a request");
        w->req_len[i] = i2d_OSSL_CMP_MSG(m, &w->reqs[i]);
        OSSL_CMP_MSG_free(m);
        OSSL_CMP_CTX_free(ctx);
    }
    w->nreqs = per_thread;
}

static void *maker(void *arg)
{
    make_requests(arg);
    return NULL;
}

/* A sampled response must be an ip with a certificate, protected validly. */
static int check_response(worker_t *w, const OSSL_CMP_MSG *rsp)
{
    OSSL_CMP_CTX *v;
    int ok;

    if (OSSL_CMP_MSG_get_bodytype(rsp) != 1 /* ip */)
        return 0;
    v = OSSL_CMP_CTX_new(NULL, NULL);
    OSSL_CMP_CTX_set_log_verbosity(v, OSSL_CMP_LOG_EMERG);
    X509_STORE_up_ref(trusted);
    OSSL_CMP_CTX_set0_trustedStore(v, trusted);
    if (secret != NULL)
        OSSL_CMP_CTX_set1_secretValue(v, (const unsigned char *)secret, (int)strlen(secret));
    ok = OSSL_CMP_validate_msg(v, rsp) == 1;
    OSSL_CMP_CTX_free(v);
    ERR_clear_error();
    return ok;
}

static void *replay_worker(void *arg)
{
    worker_t *w = arg;
    int i;

    for (i = 0; i < w->nreqs && !stop_flag && now() < t_end; i++) {
        double t0 = now();
        int good;

        if (i % sample == 0) {
            OSSL_CMP_MSG *rsp = post(&w->conn, w->reqs[i], w->req_len[i]);

            good = rsp != NULL && OSSL_CMP_MSG_get_bodytype(rsp) == 1
                   && check_response(w, rsp);
            OSSL_CMP_MSG_free(rsp);
        } else {
            good = post_ip(&w->conn, w->reqs[i], w->req_len[i]);
        }
        if (good) {
            w->ok++;
            record(w, (now() - t0) * 1000);
        } else {
            w->errors++;
        }
    }
    if (i == w->nreqs && now() < t_end)
        fprintf(stderr, "cmpbench: thread %d ran out of requests\n", w->id);
    return NULL;
}

/* A successful OCSPResponse: SEQUENCE { ENUMERATED 0, [0] ... }, read
 * without decoding it; every -sample'th one decoded and its signature
 * verified (the signer in it, or one of -trusted taken as is). */
static int ocsp_ok(const unsigned char *der, long len, int verify)
{
    const unsigned char *q = der;
    long n;
    int tag, cls, ok;
    OCSP_RESPONSE *resp;
    OCSP_BASICRESP *bs;

    if (ASN1_get_object(&q, &n, &tag, &cls, len) & 0x80 || tag != V_ASN1_SEQUENCE
            || q + n != der + len || n < 3 || q[0] != 0x0a || q[1] != 1 || q[2] != 0)
        return 0;
    if (!verify)
        return 1;
    q = der;
    resp = d2i_OCSP_RESPONSE(NULL, &q, len);
    bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
    ok = bs != NULL && OCSP_basic_verify(bs, trusted_certs, trusted, OCSP_TRUSTOTHER) > 0;
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return ok;
}

static void *post_worker(void *arg)
{
    worker_t *w = arg;
    long i;

    for (i = w->id; !stop_flag && now() < t_end; i++) {
        const unsigned char *body = NULL;
        long blen = 0;
        int k = (int)(i % nbodies), tries, good = 0;
        double t0 = now();

        for (tries = 0; tries < 2 && !good; tries++) {
            if (post_once(&w->conn, bodies[k], body_len[k], &body, &blen))
                good = 1;
            else
                conn_close(&w->conn);
        }
        good = good && ocsp_ok(body, blen, (i - w->id) % sample == 0);
        if (good) {
            w->ok++;
            record(w, (now() - t0) * 1000);
        } else if (++w->errors <= 3)
            fprintf(stderr, "cmpbench: answer to %d not a successful OCSPResponse\n", k);
    }
    return NULL;
}

static void load_bodies(const char *list)
{
    FILE *f = fopen(list, "r");
    char path[4096];

    if (f == NULL)
        die("cannot read -bodies");
    while (fgets(path, sizeof(path), f) != NULL) {
        FILE *g;
        long n;

        path[strcspn(path, "\n")] = '\0';
        if (path[0] == '\0')
            continue;
        if ((g = fopen(path, "rb")) == NULL || fseek(g, 0, SEEK_END) != 0
                || (n = ftell(g)) <= 0 || fseek(g, 0, SEEK_SET) != 0)
            die("cannot read a body");
        bodies = realloc(bodies, sizeof(*bodies) * (size_t)(nbodies + 1));
        body_len = realloc(body_len, sizeof(int) * (size_t)(nbodies + 1));
        bodies[nbodies] = malloc((size_t)n);
        if (fread(bodies[nbodies], 1, (size_t)n, g) != (size_t)n)
            die("cannot read a body");
        body_len[nbodies++] = (int)n;
        fclose(g);
    }
    fclose(f);
    if (nbodies == 0)
        die("-bodies lists nothing");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);

    return n > 0 ? v[i] : 0;
}

int main(int argc, char **argv)
{
    const char *urls[MAX_URLS], *mode = "full", *trustf = NULL, *serials_file = NULL;
    const char *bodies_file = NULL;
    static worker_t w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    pthread_mutex_t serials_lock = PTHREAD_MUTEX_INITIALIZER;
    FILE *serials = NULL;
    char *user = NULL, *q = NULL, *frag = NULL;
    double t0, elapsed, *all;
    long ok = 0, errors = 0;
    int i, n = 0, ssl = 0;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

        if (strcmp(a, "-explicit") == 0) { implicit = 0; continue; }
        i++;
        if (strcmp(a, "-url") == 0) {
            if (ntargets == MAX_URLS)
                die("too many -url");
            urls[ntargets++] = v;
        }
        else if (strcmp(a, "-mode") == 0) mode = v;
        else if (strcmp(a, "-clients") == 0) clients = atoi(v);
        else if (strcmp(a, "-seconds") == 0) seconds = atoi(v);
        else if (strcmp(a, "-secret") == 0) secret = v;
        else if (strcmp(a, "-ref") == 0) ref = v;
        else if (strcmp(a, "-cert") == 0) certf = v;
        else if (strcmp(a, "-key") == 0) keyf = v;
        else if (strcmp(a, "-trusted") == 0) trustf = v;
        else if (strcmp(a, "-keytype") == 0) keytype = v;
        else if (strcmp(a, "-requests") == 0) per_thread = atoi(v);
        else if (strcmp(a, "-sample") == 0) sample = atoi(v);
        else if (strcmp(a, "-serials") == 0) serials_file = v;
        else if (strcmp(a, "-bodies") == 0) bodies_file = v;
        else if (strcmp(a, "-ctype") == 0) ctype = v;
        else die("unknown option");
    }
    if (ntargets == 0 || trustf == NULL || clients < 1 || clients > MAX_THREADS
            || sample < 1 || (strcmp(mode, "post") != 0 && secret == NULL
                              && (certf == NULL || keyf == NULL))
            || (strcmp(mode, "post") == 0) != (bodies_file != NULL))
        die("usage: -url U [-url U2 ...] -trusted CA (-secret S | -cert C -key K) [-mode full|replay] "
            "[-clients N] [-seconds S] [-requests N] [-keytype ec|rsa|ed25519|ml-dsa-65] [-explicit] | "
            "-mode post -bodies LIST [-ctype TYPE] -url U -trusted CA");
    for (i = 0; i < ntargets; i++) {
        target_t *t = &targets[i];

        if (!OSSL_HTTP_parse_url(urls[i], &ssl, &user, &t->host, &t->port, NULL,
                                 &t->path, &q, &frag) || ssl)
            die("need http:// URLs");
        OPENSSL_free(user);
        OPENSSL_free(q);
        OPENSSL_free(frag);
        user = q = frag = NULL;
    }
    trusted = X509_STORE_new();
    if (!X509_STORE_load_file(trusted, trustf))
        die("cannot load -trusted");
    if ((trusted_certs = X509_STORE_get1_all_certs(trusted)) == NULL)
        die("cannot load -trusted");
    if (bodies_file != NULL)
        load_bodies(bodies_file);
    if (certf != NULL) {
        FILE *f = fopen(certf, "r"), *g = fopen(keyf, "r");

        if (f == NULL || g == NULL)
            die("cannot open -cert/-key");
        sender_cert = PEM_read_X509(f, NULL, NULL, NULL);
        sender_key = PEM_read_PrivateKey(g, NULL, NULL, NULL);
        fclose(f);
        fclose(g);
    }
    if (serials_file != NULL && (serials = fopen(serials_file, "w")) == NULL)
        die("cannot write -serials");
    for (i = 0; i < clients; i++) {
        w[i].id = i;
        w[i].conn.fd = -1;
        w[i].conn.to = &targets[i % ntargets];
        w[i].key = strcmp(mode, "post") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                              : make_key();
        w[i].serials = serials;
        w[i].serials_lock = &serials_lock;
        if (w[i].key == NULL)
            die("key generation failed");
    }
    if (strcmp(mode, "replay") == 0) {
        if (per_thread <= 0)
            per_thread = 3000;
        for (i = 0; i < clients; i++)
            pthread_create(&th[i], NULL, maker, &w[i]);
        for (i = 0; i < clients; i++)
            pthread_join(th[i], NULL);
    }
    signal(SIGINT, on_interrupt);
    t0 = now();
    t_end = t0 + seconds;
    for (i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, strcmp(mode, "replay") == 0 ? replay_worker
                                     : strcmp(mode, "post") == 0 ? post_worker
                                     : full_worker, &w[i]);
    for (i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    elapsed = now() - t0;
    for (i = 0; i < clients; i++) {
        ok += w[i].ok;
        errors += w[i].errors;
        n += w[i].nlat;
    }
    all = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (i = 0, n = 0; i < clients; i++) {
        memcpy(all + n, w[i].lat, sizeof(double) * (size_t)w[i].nlat);
        n += w[i].nlat;
    }
    qsort(all, (size_t)n, sizeof(double), cmp_double);
    printf("mode=%s clients=%d seconds=%.2f ok=%ld errors=%ld rate=%.1f "
           "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", mode, clients,
           elapsed, ok, errors, ok / elapsed, pct(all, n, 0.5), pct(all, n, 0.9),
           pct(all, n, 0.99), n > 0 ? all[n - 1] : 0.0);
    if (serials != NULL)
        fclose(serials);
    return errors == 0 && ok > 0 ? 0 : 1;
}
