/* SPDX-License-Identifier: Apache-2.0 */
/* What the fuzz targets that set up a database share: a fatal set-up error,
 * and the settings tests/fuzz/run.sh gives them. Define FUZZ_NAME (the
 * target's name, a string) before including. */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
    fprintf(stderr, FUZZ_NAME ": %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL || *v == '\0') {
        fprintf(stderr, FUZZ_NAME ": %s is not set (tests/fuzz/run.sh sets it)\n", name);
        exit(1);
    }
    return v;
}

#endif
