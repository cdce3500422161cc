/*
 * libfocal against golden reference data computed by PyTorch in float64,
 * never by libfocal itself (tests/golden/README.md):
 *
 *   softmax.golden  softmax mode (gen_softmax.py)
 *   sigmoid.golden  sigmoid mode (gen_sigmoid.py, cross-checked there
 *                   against torchvision.ops.sigmoid_focal_loss)
 *   parallel.golden 1.1 part 1: the DIVISOR reduction, the counts, the SPLIT
 *                   soft form, pos_weight and the gradient with respect to
 *                   dense targets (gen_parallel.py)
 *   family.golden   1.1 part 2: QFL, VFL, ASL, Poly-1 and DFL against the
 *                   original projects' formulas (gen_family.py)
 *   seeds.golden    the seed implementations the project started from, run
 *                   as written, each case with the libfocal configuration
 *                   that computes the same loss (gen_seeds.py)
 *
 * Every case runs in float64 and float32 as its own cmocka test, named
 * "<case>/f64" and "<case>/f32", one cmocka group per file; the
 * comparisons and tolerances are those of tests/support/golden.c.
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

/* What a file must hold before its cases are trusted: a truncated or
 * mis-generated file must not pass by checking nothing (or too little). */
typedef struct golden_set {
    const char *group;                /* cmocka group name */
    const char *file;                 /* in FOCAL_TEST_GOLDEN_DIR */
    size_t min_cases;
    int one_mode;                     /* every case must be in mode */
    focal_mode mode;
    const char *const *markers;       /* each in some case's name; NULL-terminated */
    const char *const *prefixes;      /* each starts some case's name; NULL-terminated */
} golden_set;

/* Every family of the sigmoid generator. */
static const char *const sigmoid_markers[] = {
    "_index_",          /* index targets (with background) */
    "_dense-",          /* dense targets */
    "_flstar_",         /* FL* */
    "_pair-index",      /* index-vs-dense pairs */
    "_pair-dense",
    "_all-ignored",
    "_clip-",           /* probabilities that need clipping */
    "_sum_over_positives_",
    NULL,
};

/* Every family of the 1.1 part 1 generator. */
static const char *const parallel_markers[] = {
    "_divisor_", "_divisor-zero", "_split_", "_pos-weight", "_bce_", "_p-below-1", NULL,
};

/* Every family of the 1.1 part 2 generator. */
static const char *const family_markers[] = {
    "qfl_", "vfl_", "asl_", "asl_soft_", "poly_sigmoid_", "poly_softmax_", "dfl_mmdet_", "dfl_ultralytics_", NULL,
};

/* Every seed the seeds file is generated from. */
static const char *const seed_prefixes[] = {
    "seed000_", "seed002_torch_", "seed002_keras_", "seed003_", NULL,
};

static const golden_set sets[] = {
    {"golden_softmax", "softmax.golden", 100, 1, FOCAL_MODE_SOFTMAX, NULL, NULL},
    {"golden_sigmoid", "sigmoid.golden", 200, 1, FOCAL_MODE_SIGMOID, sigmoid_markers, NULL},
    {"golden_parallel", "parallel.golden", 100, 0, FOCAL_MODE_SOFTMAX, parallel_markers, NULL},
    {"golden_family", "family.golden", 100, 0, FOCAL_MODE_SOFTMAX, family_markers, NULL},
    /* The seeds cover both modes. */
    {"seeds", "seeds.golden", 0, 0, FOCAL_MODE_SOFTMAX, NULL, seed_prefixes},
};

static int has_case(const golden_file *file, const char *text, int prefix)
{
    for (size_t i = 0; i < file->count; i++) {
        const char *name = file->cases[i].name;
        if (prefix ? strncmp(name, text, strlen(text)) == 0 : strstr(name, text) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* 0 when the file holds what set asks for; otherwise prints why. */
static int validate(const golden_set *set, const char *path, const golden_file *file)
{
    if (file->count < set->min_cases) {
        fprintf(stderr, "%s: %zu cases, expected at least %zu\n", path, file->count,
                set->min_cases);
        return 1;
    }
    for (size_t i = 0; set->one_mode && i < file->count; i++) {
        if (file->cases[i].mode != set->mode) {
            fprintf(stderr, "%s: case %s is not %s mode\n", path, file->cases[i].name,
                    set->mode == FOCAL_MODE_SOFTMAX ? "softmax" : "sigmoid");
            return 1;
        }
    }
    for (const char *const *m = set->markers; m != NULL && *m != NULL; m++) {
        if (!has_case(file, *m, 0)) {
            fprintf(stderr, "%s: no case named *%s*\n", path, *m);
            return 1;
        }
    }
    for (const char *const *p = set->prefixes; p != NULL && *p != NULL; p++) {
        if (!has_case(file, *p, 1)) {
            fprintf(stderr, "%s: no case for %s*\n", path, *p);
            return 1;
        }
    }
    return 0;
}

int main(void)
{
    int failed = 0;
    /* Every file runs even when an earlier one fails, so one run reports
     * all of them. */
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        const golden_set *set = &sets[k];
        char path[1024];
        char err[512];
        golden_file file;
        snprintf(path, sizeof path, "%s/%s", FOCAL_TEST_GOLDEN_DIR, set->file);
        if (golden_load(path, &file, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", path, err);
            failed++;
            continue;
        }
        if (validate(set, path, &file) != 0) {
            failed++;
        } else {
            failed += golden_run_cases(set->group, &file);
        }
        golden_free(&file);
    }
    return failed != 0;
}
