/* SPDX-License-Identifier: Apache-2.0 */
/* The fuzz targets without libFuzzer: each file named (or in a folder
 * named) is handed once to LLVMFuzzerTestOneInput, in name order, so that
 * make test replays the checked-in corpus and every crash ever found with
 * the ordinary build (and make sancheck under ASan and UBSan). A finding
 * aborts, as it would under libFuzzer.
 *
 *   replay-TARGET FILE|DIR...     prints "replayed N inputs" */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replayed;

static void one(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
            || fseek(f, 0, SEEK_SET) != 0
            || (buf = malloc((size_t)n + 1)) == NULL
            || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    replayed++;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void each(const char *path)
{
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name), i;

    if (n < 0) {
        one(path);
        return;
    }
    for (i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && strcmp(names[i]->d_name, "README") != 0) {
            size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
            char *p = malloc(len);

            if (p == NULL)
                exit(2);
            snprintf(p, len, "%s/%s", path, names[i]->d_name);
            each(p);
            free(p);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int i;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++)
        each(argv[i]);
    printf("replayed %ld inputs\n", replayed);
    return 0;
}
