/*
 * Sigmoid mode against golden reference data computed by PyTorch in float64
 * (tests/golden/sigmoid.golden, written by tests/golden/gen_sigmoid.py and
 * cross-checked there against torchvision.ops.sigmoid_focal_loss).
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
#define MIN_CASES 200

/* Every family of the generator must be present; a case name contains
 * its marker. */
static const char *const required_markers[] = {
    "_index_",          /* index targets (with background) */
    "_dense-",          /* dense targets */
    "_flstar_",         /* FL* */
    "_pair-index",      /* index-vs-dense pairs */
    "_pair-dense",
    "_all-ignored",
    "_clip-",           /* probabilities that need clipping */
    "_sum_over_positives_",
};

int main(void)
{
    const char *path = FOCAL_TEST_GOLDEN_DIR "/sigmoid.golden";
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
        if (file.cases[i].mode != FOCAL_MODE_SIGMOID) {
            fprintf(stderr, "%s: case %s is not sigmoid mode\n", path, file.cases[i].name);
            golden_free(&file);
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof required_markers / sizeof required_markers[0]; k++) {
        size_t found = 0;
        for (size_t i = 0; i < file.count; i++) {
            if (strstr(file.cases[i].name, required_markers[k]) != NULL) {
                found++;
            }
        }
        if (found == 0) {
            fprintf(stderr, "%s: no case named *%s*\n", path, required_markers[k]);
            golden_free(&file);
            return 1;
        }
    }
    rc = golden_run_cases("golden_sigmoid", &file);
    golden_free(&file);
    return rc;
}
