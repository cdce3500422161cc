/*
 * Softmax mode against golden reference data computed by PyTorch in float64
 * (tests/golden/softmax.golden, written by tests/golden/gen_softmax.py).
 * Every case runs in float64 and float32 as its own cmocka test.
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

/* A truncated or mis-generated file must not pass by checking nothing. */
#define MIN_CASES 100

int main(void)
{
    const char *path = FOCAL_TEST_GOLDEN_DIR "/softmax.golden";
    golden_file file;
    char err[512];
    int rc;

    if (golden_load(path, &file, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 1;
    }
    if (file.count < MIN_CASES) {
        fprintf(stderr, "%s: %zu cases, expected at least %d\n", path, file.count, MIN_CASES);
        golden_free(&file);
        return 1;
    }
    for (size_t i = 0; i < file.count; i++) {
        if (file.cases[i].mode != FOCAL_MODE_SOFTMAX) {
            fprintf(stderr, "%s: case %s is not softmax mode\n", path, file.cases[i].name);
            golden_free(&file);
            return 1;
        }
    }
    rc = golden_run_cases("golden_softmax", &file);
    golden_free(&file);
    return rc;
}
