/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <unistd.h>

#include "cmp_secret.h"
#include "unit.h"

static cmp_secret_key_t key_of(unsigned char b)
{
    cmp_secret_key_t k;

    memset(k.key, b, sizeof(k.key));
    return k;
}

START_TEST(round_trip_and_tamper)
{
    cmp_secret_key_t k = key_of(7), other = key_of(8);
    const unsigned char msg[] = "a shared secret";
    unsigned char *enc, *dec = NULL;
    size_t enclen, declen;

    ck_assert_int_eq(cmp_secret_encrypt(upool, &k, "label", msg, sizeof(msg) - 1,
                                        &enc, &enclen), APR_SUCCESS);
    ck_assert_int_eq(enclen, sizeof(msg) - 1 + 1 + 12 + 16);
    ck_assert(memmem(enc, enclen, "shared", 6) == NULL);
    ck_assert_int_eq(cmp_secret_decrypt(&k, "label", enc, enclen, &dec, &declen),
                     APR_SUCCESS);
    ck_assert_int_eq(declen, sizeof(msg) - 1);
    ck_assert_mem_eq(dec, msg, declen);
    cmp_secret_free(dec, declen);
    /* wrong key, wrong label (the value belongs elsewhere), altered bytes */
    ck_assert_int_ne(cmp_secret_decrypt(&other, "label", enc, enclen, &dec, &declen), APR_SUCCESS);
    ck_assert_int_ne(cmp_secret_decrypt(&k, "other", enc, enclen, &dec, &declen), APR_SUCCESS);
    enc[enclen / 2] ^= 1;
    ck_assert_int_ne(cmp_secret_decrypt(&k, "label", enc, enclen, &dec, &declen), APR_SUCCESS);
    ck_assert_int_ne(cmp_secret_decrypt(&k, "label", enc, 10, &dec, &declen), APR_SUCCESS);
}
END_TEST

static const char *write_tmp(const char *content)
{
    static char path[64];
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/cmp-unit-key-%d", (int)getpid());
    f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

START_TEST(key_file)
{
    cmp_secret_key_t k;
    const char *why = NULL;
    const char *hex = "000102030405060708090a0b0c0d0e0f"
                      "101112131415161718191A1B1C1D1E1F";
    char buf[100];

    snprintf(buf, sizeof(buf), "  %s\n", hex);
    ck_assert_int_eq(cmp_secret_key_load(write_tmp(buf), &k, &why), APR_SUCCESS);
    ck_assert_int_eq(k.key[0], 0);
    ck_assert_int_eq(k.key[31], 0x1f);
    ck_assert_int_ne(cmp_secret_key_load(write_tmp("0011"), &k, &why), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(why, "64 hex"));
    snprintf(buf, sizeof(buf), "%sff", hex);
    ck_assert_int_ne(cmp_secret_key_load(write_tmp(buf), &k, &why), APR_SUCCESS);
    ck_assert_int_ne(cmp_secret_key_load("/nonexistent/key", &k, &why), APR_SUCCESS);
    unlink(write_tmp(""));
}
END_TEST

Suite *suite_secret(void)
{
    Suite *s = suite_create("secret");
    TCase *tc = tcase_create("secret");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, round_trip_and_tamper);
    tcase_add_test(tc, key_file);
    suite_add_tcase(s, tc);
    return s;
}
