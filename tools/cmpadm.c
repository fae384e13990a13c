/* SPDX-License-Identifier: Apache-2.0 */
/* cmpadm: create mod_cmp objects from the command line, for setting up the
 * demo and tests until the REST API exists. Certificates and keys are read
 * from PEM files; keys and shared secrets are encrypted with the same key
 * file httpd uses (CMPSecretKeyFile) before they reach the database.
 *
 *   DATABASE_URL=... CMP_SECRET_KEY_FILE=... cmpadm authority name=demo \
 *       cert=ca.pem key=ca.key
 *   cmpadm ra-profile name=demo authority=demo enabled=true
 *   cmpadm signing-credential cert=signer.pem chain=ca.pem key=signer.key
 *   cmpadm cmp-profile name=demo default_ra_profile=demo \
 *       request_protection=shared_secret response_protection=signature \
 *       shared_secret=secret.txt signing_credential=<uuid printed above>
 *
 * Prints the UUID of the new object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cmp_secret.h"

typedef enum { F_TEXT, F_CERT, F_CERTS, F_KEY, F_SECRET, F_REF, F_REF_UUID } kind_e;

typedef struct {
    const char *arg;       /* name on the command line */
    const char *column;
    kind_e kind;
    const char *extra;     /* label for F_KEY / F_SECRET, table for F_REF */
} field_t;

typedef struct {
    const char *command;
    const char *table;
    const field_t *fields;
} object_t;

static const field_t authority_fields[] = {
    {"name", "name", F_TEXT, NULL},
    {"description", "description", F_TEXT, NULL},
    {"enabled", "enabled", F_TEXT, NULL},
    {"cert", "ca_cert", F_CERT, NULL},
    {"chain", "ca_chain", F_CERTS, NULL},
    {"key", "ca_key_enc", F_KEY, CMP_LABEL_CA_KEY},
    {NULL, NULL, F_TEXT, NULL}
};

static const field_t ra_fields[] = {
    {"name", "name", F_TEXT, NULL},
    {"description", "description", F_TEXT, NULL},
    {"enabled", "enabled", F_TEXT, NULL},
    {"authority", "authority_id", F_REF, "authority"},
    {"cmp_profile", "cmp_profile_id", F_REF, "cmp_profile"},
    {"validity_days", "validity_days", F_TEXT, NULL},
    {"allowed_key_types", "allowed_key_types", F_TEXT, NULL},
    {"min_security_bits", "min_security_bits", F_TEXT, NULL},
    {"subject_pattern", "subject_pattern", F_TEXT, NULL},
    {"allow_san", "allow_san", F_TEXT, NULL},
    {"key_usage", "key_usage", F_TEXT, NULL},
    {"extended_key_usage", "extended_key_usage", F_TEXT, NULL},
    {NULL, NULL, F_TEXT, NULL}
};

static const field_t cmp_fields[] = {
    {"name", "name", F_TEXT, NULL},
    {"description", "description", F_TEXT, NULL},
    {"enabled", "enabled", F_TEXT, NULL},
    {"variant", "variant", F_TEXT, NULL},
    {"default_ra_profile", "default_ra_profile_id", F_REF, "ra_profile"},
    {"request_protection", "request_protection", F_TEXT, NULL},
    {"response_protection", "response_protection", F_TEXT, NULL},
    {"shared_secret", "shared_secret_enc", F_SECRET, CMP_LABEL_SHARED_SECRET},
    {"signing_credential", "signing_credential_id", F_REF_UUID, "signing_credential"},
    {"trust_anchors", "trust_anchors", F_CERTS, NULL},
    {"allow_implicit_confirm", "allow_implicit_confirm", F_TEXT, NULL},
    {"confirm_timeout_s", "confirm_timeout_s", F_TEXT, NULL},
    {NULL, NULL, F_TEXT, NULL}
};

static const field_t credential_fields[] = {
    {"cert", "cert", F_CERT, NULL},
    {"chain", "chain", F_CERTS, NULL},
    {"key", "key_enc", F_KEY, CMP_LABEL_SIGNING_KEY},
    {NULL, NULL, F_TEXT, NULL}
};

static const object_t objects[] = {
    {"signing-credential", "signing_credential", credential_fields},
    {"authority", "authority", authority_fields},
    {"ra-profile", "ra_profile", ra_fields},
    {"cmp-profile", "cmp_profile", cmp_fields},
    {NULL, NULL, NULL}
};

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "cmpadm: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* All certificates of a PEM file as concatenated DER. */
static unsigned char *certs_der(apr_pool_t *p, const char *file, int one,
                                int *len)
{
    FILE *f = fopen(file, "r");
    X509 *x;
    unsigned char *out = NULL;
    int total = 0, n = 0;

    if (f == NULL)
        die("cannot open", file);
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        unsigned char *der = NULL;
        int dl = i2d_X509(x, &der);
        unsigned char *grown = apr_palloc(p, (apr_size_t)(total + dl));

        if (dl <= 0)
            die("cannot encode a certificate of", file);
        if (total > 0)
            memcpy(grown, out, (size_t)total);
        memcpy(grown + total, der, (size_t)dl);
        out = grown;
        total += dl;
        OPENSSL_free(der);
        X509_free(x);
        n++;
    }
    ERR_clear_error();
    fclose(f);
    if (n == 0 || (one && n != 1))
        die(one ? "expected exactly one certificate in" : "no certificate in",
            file);
    *len = total;
    return out;
}

static unsigned char *key_enc(apr_pool_t *p, const cmp_secret_key_t *k,
                              const char *label, const char *file, int *len)
{
    FILE *f = fopen(file, "r");
    EVP_PKEY *pkey;
    unsigned char *out;
    size_t outlen;

    if (f == NULL)
        die("cannot open", file);
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (pkey == NULL)
        die("no private key in", file);
    if (cmp_secret_seal_key(p, k, label, pkey, &out, &outlen) != APR_SUCCESS)
        die("cannot encrypt the key of", file);
    EVP_PKEY_free(pkey);
    *len = (int)outlen;
    return out;
}

static unsigned char *secret_enc(apr_pool_t *p, const cmp_secret_key_t *k,
                                 const char *label, const char *file, int *len)
{
    char buf[1024];
    size_t n;
    unsigned char *out;
    size_t outlen;
    FILE *f = fopen(file, "r");

    if (f == NULL)
        die("cannot open", file);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 0)
        die("the shared secret file is empty:", file);
    if (cmp_secret_encrypt(p, k, label, (unsigned char *)buf, n, &out, &outlen)
            != APR_SUCCESS)
        die("cannot encrypt the secret of", file);
    OPENSSL_cleanse(buf, sizeof(buf));
    *len = (int)outlen;
    return out;
}

static const field_t *find_field(const field_t *fields, const char *arg)
{
    for (; fields->arg != NULL; fields++)
        if (strcmp(fields->arg, arg) == 0)
            return fields;
    return NULL;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const object_t *obj;
    const char *db = getenv("DATABASE_URL");
    const char *keyfile = getenv("CMP_SECRET_KEY_FILE");
    const char *vals[32], *why = NULL;
    int lens[32], fmts[32], n = 0, i;
    char *cols = "", *params = "";
    cmp_secret_key_t key;
    int have_key = 0;
    PGconn *conn;
    PGresult *r;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (argc < 2)
        die("usage", "cmpadm authority|ra-profile|signing-credential|cmp-profile name=value ...");
    for (obj = objects; obj->command != NULL; obj++)
        if (strcmp(obj->command, argv[1]) == 0)
            break;
    if (obj->command == NULL)
        die("unknown object", argv[1]);
    if (db == NULL)
        die("DATABASE_URL is not set", NULL);
    if (keyfile != NULL) {
        if (cmp_secret_key_load(keyfile, &key, &why) != APR_SUCCESS)
            die(why, keyfile);
        have_key = 1;
    }
    for (i = 2; i < argc && n < 32; i++) {
        const char *eq = strchr(argv[i], '=');
        const char *arg, *val, *ph;
        const field_t *f;

        if (eq == NULL)
            die("arguments are name=value, not", argv[i]);
        arg = apr_pstrndup(p, argv[i], (apr_size_t)(eq - argv[i]));
        val = eq + 1;
        if ((f = find_field(obj->fields, arg)) == NULL)
            die("unknown field", arg);
        lens[n] = 0;
        fmts[n] = 0;
        vals[n] = val;
        ph = apr_psprintf(p, "$%d", n + 1);
        switch (f->kind) {
        case F_CERT:
        case F_CERTS:
            vals[n] = (const char *)certs_der(p, val, f->kind == F_CERT,
                                              &lens[n]);
            fmts[n] = 1;
            break;
        case F_KEY:
        case F_SECRET:
            if (!have_key)
                die("CMP_SECRET_KEY_FILE is needed for", arg);
            vals[n] = (const char *)(f->kind == F_KEY
                                     ? key_enc(p, &key, f->extra, val, &lens[n])
                                     : secret_enc(p, &key, f->extra, val,
                                                  &lens[n]));
            fmts[n] = 1;
            break;
        case F_REF:
            ph = apr_psprintf(p, "(SELECT id FROM %s WHERE name = $%d)",
                              f->extra, n + 1);
            break;
        case F_REF_UUID:
            ph = apr_psprintf(p, "(SELECT id FROM %s WHERE uuid = $%d::uuid)",
                              f->extra, n + 1);
            break;
        default:
            if (strcmp(f->column, "allowed_key_types") == 0)
                ph = apr_psprintf(p, "string_to_array($%d, ',')", n + 1);
            break;
        }
        cols = apr_pstrcat(p, cols, n ? ", " : "", f->column, NULL);
        params = apr_pstrcat(p, params, n ? ", " : "", ph, NULL);
        n++;
    }
    conn = PQconnectdb(db);
    if (PQstatus(conn) != CONNECTION_OK)
        die("cannot connect", PQerrorMessage(conn));
    r = PQexecParams(conn, apr_psprintf(p, "INSERT INTO %s (%s) VALUES (%s) "
                                        "RETURNING uuid", obj->table, cols,
                                        params),
                     n, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("insert failed", PQresultErrorMessage(r));
    printf("%s\n", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(conn);
    if (have_key)
        OPENSSL_cleanse(&key, sizeof(key));
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
