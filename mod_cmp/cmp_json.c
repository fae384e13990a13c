/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_strings.h>

#include "cmp_json.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

json_t *cmp_json_own(apr_pool_t *p, json_t *j)
{
    if (j != NULL)
        apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    return j;
}

apr_status_t cmp_json_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                            json_t **out, const char **why)
{
    json_error_t err;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);

    if (j == NULL) {
        *why = apr_psprintf(p, "malformed JSON at line %d, column %d: %s",
                            err.line, err.column, err.text);
        return APR_EINVAL;
    }
    *out = cmp_json_own(p, j);
    return APR_SUCCESS;
}

static json_t *value(const json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

    return v == NULL || json_is_null(v) ? NULL : v;
}

int cmp_json_str(const json_t *o, const char *key, const char **out)
{
    json_t *v = value(o, key);

    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

int cmp_json_bool(const json_t *o, const char *key, int *out)
{
    json_t *v = value(o, key);

    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return -1;
    *out = json_is_true(v);
    return 1;
}

int cmp_json_int(const json_t *o, const char *key, long long *out)
{
    json_t *v = value(o, key);

    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 1;
}

int cmp_json_strs(apr_pool_t *p, const json_t *o, const char *key,
                  apr_array_header_t **out)
{
    json_t *v = value(o, key), *item;
    size_t i;

    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return -1;
    *out = apr_array_make(p, (int)json_array_size(v), sizeof(const char *));
    json_array_foreach(v, i, item) {
        if (!json_is_string(item))
            return -1;
        APR_ARRAY_PUSH(*out, const char *) = apr_pstrdup(p, json_string_value(item));
    }
    return 1;
}

/* What json_dumps() returns was allocated by Jansson's allocator, which a
 * host may have replaced (json_set_alloc_funcs): give it back to that. */
static void json_free_string(char *s)
{
    json_free_t free_fn = NULL;

    json_get_alloc_funcs(NULL, &free_fn);
    (free_fn != NULL ? free_fn : free)(s);
}

char *cmp_json_text(apr_pool_t *p, const json_t *j, apr_size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *out;

    if (s == NULL) {
        *len = 0;
        return apr_pstrdup(p, "null");
    }
    *len = strlen(s);
    out = apr_pmemdup(p, s, *len + 1);
    json_free_string(s);
    return out;
}

/* The length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when there is none. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    for (i = 1; i < n; i++) {
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
            return 0;
    }
    return n;
}

const char *cmp_json_utf8(apr_pool_t *p, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    char *out, *o;
    size_t n;

    while (*s != '\0' && (n = utf8_seq(s)) > 0)
        s += n;
    if (*s == '\0')
        return text;
    o = out = apr_palloc(p, strlen(text) + 1);
    for (s = (const unsigned char *)text; *s != '\0'; s += n > 0 ? n : 1) {
        n = utf8_seq(s);
        if (n == 0)
            *o++ = '?';
        else {
            memcpy(o, s, n);
            o += n;
        }
    }
    *o = '\0';
    return out;
}

json_t *cmp_json_message(apr_pool_t *p, const char *text)
{
    return cmp_json_own(p, json_pack("{s:s}", "message", cmp_json_utf8(p, text)));
}
