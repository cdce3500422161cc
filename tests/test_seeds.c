/*
 * The seed implementations the project started from, run as written on
 * float64 inputs (tests/golden/seeds.golden, written by
 * tests/golden/gen_seeds.py), each with the libfocal configuration that
 * computes the same loss. Every case runs in float64 and float32 as its
 * own cmocka test.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "golden.h"

/* Every seed the file is generated from must be present. */
static const char *const seed_prefixes[] = {
    "seed000_", "seed002_torch_", "seed002_keras_", "seed003_",
};

int main(void)
{
    const char *path = FOCAL_TEST_GOLDEN_DIR "/seeds.golden";
    golden_file file;
    char err[512];
    int rc;

    if (golden_load(path, &file, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 1;
    }
    for (size_t k = 0; k < sizeof seed_prefixes / sizeof seed_prefixes[0]; k++) {
        size_t found = 0;
        for (size_t i = 0; i < file.count; i++) {
            if (strncmp(file.cases[i].name, seed_prefixes[k], strlen(seed_prefixes[k])) == 0) {
                found++;
            }
        }
        if (found == 0) {
            fprintf(stderr, "%s: no case for %s*\n", path, seed_prefixes[k]);
            golden_free(&file);
            return 1;
        }
    }
    rc = golden_run_cases("seeds", &file);
    golden_free(&file);
    return rc;
}
