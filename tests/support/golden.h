/*
 * Golden reference data: a reader for the text format of the .golden files in tests/golden
 * (described in tests/golden/README.md), the configuration of a context from
 * one case, and a runner that checks libfocal against every case in float64
 * and float32 as one cmocka test per case and precision.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_GOLDEN_H
#define FOCAL_TEST_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include <focal/focal.h>

/* Tolerances used when a case has no "tol" line. */
#define GOLDEN_DEFAULT_RTOL64 1e-12
#define GOLDEN_DEFAULT_RTOL32 2e-6

typedef enum golden_alpha_kind {
    GOLDEN_ALPHA_NONE = 0,
    GOLDEN_ALPHA_SCALAR = 1,
    GOLDEN_ALPHA_VECTOR = 2
} golden_alpha_kind;

typedef enum golden_half {
    GOLDEN_HALF_NONE = 0,
    GOLDEN_HALF_BF16 = 1,
    GOLDEN_HALF_F16 = 2
} golden_half;

/* A counted array of doubles; values is NULL when count is 0. */
typedef struct golden_array {
    int64_t count;
    double *values;
} golden_array;

typedef struct golden_case {
    char *name;
    int line;                       /* line of the "case" keyword */

    focal_mode mode;
    int dense_targets;              /* 0: index targets, 1: dense targets */
    focal_input input;
    double gamma;
    golden_alpha_kind alpha_kind;
    double alpha;                   /* GOLDEN_ALPHA_SCALAR */
    golden_array alpha_vector;      /* GOLDEN_ALPHA_VECTOR */
    focal_reduction reduction;
    int has_ignore_index;
    int64_t ignore_index;
    double smoothing;
    double epsilon;
    focal_variant variant;
    double beta;
    double rtol64;
    double rtol32;
    /* Since 1.1; optional keys, defaulting to the library's defaults. */
    double divisor;                 /* "divisor", default 1 */
    focal_soft_form soft_form;      /* "soft_form", default torchvision */
    golden_array pos_weight;        /* "pos_weight", count 0: none */
    double gamma_negative;          /* "gamma_negative", default 4 */
    double clip;                    /* "clip", default 0.05 */
    double poly_epsilon;            /* "poly_epsilon", default 0 */

    int64_t n, c, inner;
    golden_array x;                 /* n*c*inner inputs */
    int64_t *target_index;          /* index targets: target_count values */
    golden_array target_dense;      /* dense targets: n*c*inner values */
    int64_t target_count;
    int has_weights;
    golden_array w;                 /* n*inner weights when has_weights */
    golden_array g;                 /* upstream gradient, shaped like out */
    golden_array out;               /* forward output */
    golden_array grad;              /* backward output for upstream g */
    golden_array fgrad;             /* gradient of out (sum of out for NONE) */
    golden_array counts;            /* "counts": 3 values, or count 0 when absent */
    golden_array tgrad;             /* "tgrad": gradient w.r.t. dense targets, or count 0 */
    golden_half half;               /* "half": also run the half-precision entry points */
    golden_array hout;              /* out, grad, fgrad rounded to the half type (decoded) */
    golden_array hgrad;
    golden_array hfgrad;
} golden_case;

typedef struct golden_file {
    golden_case *cases;
    size_t count;
} golden_file;

/* Reads every case of the file at path. Returns 0 on success; otherwise
 * writes a message naming the line into err (err_size bytes) and returns
 * -1 with *file empty. */
int golden_load(const char *path, golden_file *file, char *err, size_t err_size);

/* Frees what golden_load allocated; leaves *file empty. */
void golden_free(golden_file *file);

/* The number of values out has for this case: 1 when reduced, one per
 * position (softmax) or element (sigmoid) with FOCAL_REDUCTION_NONE. */
int64_t golden_out_count(const golden_case *gc);

/* Creates a context with every setting of the case applied through the
 * setters. On failure prints the failing setter and focal_last_error()
 * (through cmocka's print_error), destroys the partial context and returns
 * the status; *out is set only on success. */
focal_status golden_configure(const golden_case *gc, focal_loss **out);

/* Runs the case through libfocal in float64 (use_f32 = 0) or float32:
 * forward, backward with g, and forward_backward (both outputs, and each
 * with the other output skipped), comparing with the case's tolerance.
 * With "counts", also the focal_counts_* entry point; with "tgrad", also
 * focal_backward_target_dense_*. With "half", the float32 run also calls the
 * _bf16 or _f16 entry points: each half result must be within one half ulp
 * of the expected rounding and bitwise the round-to-nearest-even of the
 * float32 entry point's result on the same inputs, and with "counts" the
 * half counts entry points.
 * Every mismatch and every failing call is printed with the case's name.
 * Returns the number of failed checks (0 when everything matched). */
int golden_check_case(const golden_case *gc, int use_f32);

/* Runs every case of file as two cmocka tests, "<name>/f64" and
 * "<name>/f32", in one group. Returns cmocka's result (the number of
 * failed tests), or 1 when the tests cannot be set up. */
int golden_run_cases(const char *group, const golden_file *file);

#endif /* FOCAL_TEST_GOLDEN_H */
