/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the mod_cmp core, without httpd.
 *   unit_tests            all suites that need no database
 *   unit_tests store      the database suites (CMP_TEST_DATABASE_URL, CMP_TEST_*)
 */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include <stdio.h>

#include "cmp_err.h"
#include "cmp_log.h"
#include "unit.h"

apr_pool_t *upool;
static apr_pool_t *root;
static long live_bytes;

/* Count what OpenSSL holds, to show that pool cleanups free it. */
static void *count_malloc(size_t n, const char *file, int line)
{
    size_t *p = malloc(n + sizeof(size_t) * 2);

    if (p == NULL)
        return NULL;
    p[0] = n;
    __atomic_add_fetch(&live_bytes, (long)n, __ATOMIC_RELAXED);
    return p + 2;
}

static void count_free(void *ptr, const char *file, int line)
{
    size_t *p;

    if (ptr == NULL)
        return;
    p = (size_t *)ptr - 2;
    __atomic_sub_fetch(&live_bytes, (long)p[0], __ATOMIC_RELAXED);
    free(p);
}

static void *count_realloc(void *ptr, size_t n, const char *file, int line)
{
    void *q;
    size_t old;

    if (ptr == NULL)
        return count_malloc(n, file, line);
    old = ((size_t *)ptr - 2)[0];
    q = count_malloc(n, file, line);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, old < n ? old : n);
    count_free(ptr, file, line);
    return q;
}

/* Count what Jansson holds, to show that request pools free every json_t. */
static long json_live;

static void *count_json_malloc(size_t n)
{
    __atomic_add_fetch(&json_live, 1, __ATOMIC_RELAXED);
    return malloc(n);
}

static void count_json_free(void *ptr)
{
    if (ptr != NULL)
        __atomic_sub_fetch(&json_live, 1, __ATOMIC_RELAXED);
    free(ptr);
}

long unit_json_live(void)
{
    return __atomic_load_n(&json_live, __ATOMIC_RELAXED);
}

static void to_stderr(void *baton, cmp_log_level_e level, const char *file,
                      int line, const char *msg)
{
    fprintf(stderr, "[core %d] %s:%d %s\n", (int)level, file, line, msg);
}

long unit_openssl_live(void)
{
    return __atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
}

void unit_pool_setup(void)
{
    apr_pool_create(&upool, root);
}

void unit_pool_teardown(void)
{
    apr_pool_destroy(upool);
    upool = NULL;
}

int main(int argc, const char *const *argv)
{
    SRunner *sr;
    int failed, store = argc > 1 && strcmp(argv[1], "store") == 0;

    CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
    json_set_alloc_funcs(count_json_malloc, count_json_free);
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&root, NULL);
    cmp_err_init();
    cmp_log_set(to_stderr, NULL, CMP_LOG_WARN);
    if (store) {
        sr = srunner_create(suite_store());
        srunner_add_suite(sr, suite_dispatch());
    } else {
        sr = srunner_create(suite_policy());
        srunner_add_suite(sr, suite_issue());
        srunner_add_suite(sr, suite_secret());
        srunner_add_suite(sr, suite_asn1());
        srunner_add_suite(sr, suite_admin());
    }
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(root);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
