/*
 * Size limits: no dimension, index or count is truncated or overflows on
 * its way through validation.
 *
 * - Shapes whose element count n*c*inner overflows int64_t, wraps around
 *   size_t to a small number, or whose byte count (8 bytes an element)
 *   overflows return FOCAL_ERROR_INVALID_SHAPE from each of the twelve
 *   compute functions without touching the (tiny) buffers.
 * - Shapes just inside the limit, and shapes with c or inner above INT_MAX
 *   (OpenBLAS's blasint is 32-bit in Debian) that do not overflow, are
 *   accepted. They cannot be allocated here, so the calls are made to fail
 *   right after the shape check, where no buffer has been read yet: with
 *   settings that do not fit together (INCOMPATIBLE is checked after the
 *   shape), or with a bad class index at a known position (index targets
 *   are read before the input, and only they).
 * - Class counts, class indices, ignore_index and alpha vector lengths
 *   above 32 bits are compared in full: a value equal to a valid one
 *   modulo 2^32 is not mistaken for it.
 * - A shape that passes the shape check but whose per-thread scratch
 *   (about ten doubles per class) cannot be counted in a size_t fails
 *   cleanly instead of allocating a wrapped-around size.
 * - A class index far outside [0, c) is reported as INVALID_TARGET and
 *   never used as an index, also into the per-class alpha vector.
 * - set_alpha_vector and get_alpha_vector refuse counts whose byte size
 *   overflows size_t before reading or writing the caller's array.
 *
 * Reference values are closed forms: with zero logits, softmax over c
 * classes has p = 1/c, so FL = (1 - 1/c)^gamma * log(c); sigmoid has
 * p = 1/2 and each element contributes (1/2)^gamma * log(2).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"

#define TINY 16
#define SENTINEL 0xC3

typedef struct tiny {
    float xf[TINY], yf[TINY], wf[TINY], gf[TINY];
    double xd[TINY], yd[TINY], wd[TINY], gd[TINY];
    int64_t t[TINY];
    float of[TINY], gif[TINY];
    double od[TINY], gid[TINY];
} tiny;

static void tiny_init(tiny *b)
{
    for (int i = 0; i < TINY; i++) {
        b->xf[i] = 0.5f;
        b->yf[i] = 0.0f;
        b->wf[i] = 1.0f;
        b->gf[i] = 1.0f;
        b->xd[i] = 0.5;
        b->yd[i] = 0.0;
        b->wd[i] = 1.0;
        b->gd[i] = 1.0;
        b->t[i] = 0;
    }
    memset(b->of, SENTINEL, sizeof b->of);
    memset(b->gif, SENTINEL, sizeof b->gif);
    memset(b->od, SENTINEL, sizeof b->od);
    memset(b->gid, SENTINEL, sizeof b->gid);
}

static int tiny_outputs_untouched(const tiny *b)
{
    return errcheck_all_bytes(b->of, sizeof b->of, SENTINEL) &&
           errcheck_all_bytes(b->gif, sizeof b->gif, SENTINEL) &&
           errcheck_all_bytes(b->od, sizeof b->od, SENTINEL) &&
           errcheck_all_bytes(b->gid, sizeof b->gid, SENTINEL);
}

#define NFUNCS 12
static const char *const func_names[NFUNCS] = {
    "focal_forward_f32",       "focal_backward_f32",       "focal_forward_backward_f32",
    "focal_forward_dense_f32", "focal_backward_dense_f32", "focal_forward_backward_dense_f32",
    "focal_forward_f64",       "focal_backward_f64",       "focal_forward_backward_f64",
    "focal_forward_dense_f64", "focal_backward_dense_f64", "focal_forward_backward_dense_f64",
};

static focal_status call_func(int f, const focal_loss *loss, int64_t n, int64_t c, int64_t inner, tiny *b)
{
    switch (f) {
    case 0: return focal_forward_f32(loss, n, c, inner, b->xf, b->t, NULL, b->of);
    case 1: return focal_backward_f32(loss, n, c, inner, b->xf, b->t, NULL, b->gf, b->gif);
    case 2: return focal_forward_backward_f32(loss, n, c, inner, b->xf, b->t, NULL, b->of, b->gif);
    case 3: return focal_forward_dense_f32(loss, n, c, inner, b->xf, b->yf, b->wf, b->of);
    case 4: return focal_backward_dense_f32(loss, n, c, inner, b->xf, b->yf, b->wf, b->gf, b->gif);
    case 5: return focal_forward_backward_dense_f32(loss, n, c, inner, b->xf, b->yf, b->wf, b->of, b->gif);
    case 6: return focal_forward_f64(loss, n, c, inner, b->xd, b->t, NULL, b->od);
    case 7: return focal_backward_f64(loss, n, c, inner, b->xd, b->t, NULL, b->gd, b->gid);
    case 8: return focal_forward_backward_f64(loss, n, c, inner, b->xd, b->t, NULL, b->od, b->gid);
    case 9: return focal_forward_dense_f64(loss, n, c, inner, b->xd, b->yd, b->wd, b->od);
    case 10: return focal_backward_dense_f64(loss, n, c, inner, b->xd, b->yd, b->wd, b->gd, b->gid);
    default: return focal_forward_backward_dense_f64(loss, n, c, inner, b->xd, b->yd, b->wd, b->od, b->gid);
    }
}

/* Every compute function with this shape must return `expected` and, when
 * pattern is not NULL, a message containing it; no output may be written
 * and the context must not change. */
static void expect_all(focal_loss *loss, int64_t n, int64_t c, int64_t inner, focal_status expected,
                       const char *pattern)
{
    errcheck_snapshot before, after;
    errcheck_snapshot_take(loss, &before);
    for (int f = 0; f < NFUNCS; f++) {
        tiny b;
        tiny_init(&b);
        const focal_status s = call_func(f, loss, n, c, inner, &b);
        char msg[512];
        errcheck_copy_last_error(msg, sizeof msg);
        if (s != expected)
            errcheck_problem("%s(n=%" PRId64 ", c=%" PRId64 ", inner=%" PRId64 ") returned %d (%s), expected %d",
                             func_names[f], n, c, inner, (int)s, msg, (int)expected);
        else if (pattern != NULL && !errcheck_contains(msg, pattern))
            errcheck_problem("%s(n=%" PRId64 ", c=%" PRId64 ", inner=%" PRId64 "): message \"%s\" lacks \"%s\"",
                             func_names[f], n, c, inner, msg, pattern);
        if (!tiny_outputs_untouched(&b))
            errcheck_problem("%s(n=%" PRId64 ", c=%" PRId64 ", inner=%" PRId64 ") wrote to an output",
                             func_names[f], n, c, inner);
    }
    errcheck_snapshot_take(loss, &after);
    char diff[256];
    if (!errcheck_snapshot_equal(&before, &after, diff, sizeof diff))
        errcheck_problem("the context changed: %s", diff);
}

/* A context whose settings do not fit together, so that a call with an
 * accepted shape fails with INCOMPATIBLE right after the shape check. */
static focal_loss *incompatible_context(focal_mode mode)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mode), FOCAL_OK);
    if (mode == FOCAL_MODE_SOFTMAX) {
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES), FOCAL_OK);
    } else {
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    }
    return loss;
}

typedef struct dims {
    int64_t n, c, inner;
} dims;

/* Each permutation of the three dimensions. */
static void expect_permutations(focal_loss *loss, dims d, focal_status expected, const char *pattern)
{
    const int64_t v[3] = {d.n, d.c, d.inner};
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++)
        expect_all(loss, v[perm[p][0]], v[perm[p][1]], v[perm[p][2]], expected, pattern);
}

/* ------------------------------------------------------------------------ */

static const dims overflowing[] = {
    /* n*c*inner above INT64_MAX. */
    {INT64_MAX, 2, 1},
    {INT64_MAX, INT64_MAX, INT64_MAX},
    {INT64_C(1) << 32, INT64_C(1) << 32, 1},
    {INT64_C(1) << 21, INT64_C(1) << 21, INT64_C(1) << 21},
    {3, INT64_MAX / 3 + 1, 1},
    /* 274177 * 67280421310721 = 2^64 + 1: wraps to 1 in 64-bit unsigned
     * arithmetic, to a tiny tensor. */
    {274177, INT64_C(67280421310721), 1},
    /* (2^32 + 1)(2^32 - 1) = 2^64 - 1: -1 in int64_t. */
    {(INT64_C(1) << 32) + 1, (INT64_C(1) << 32) - 1, 1},
    /* 2^33 * (2^31 + 1) = 2^64 + 2^33. */
    {INT64_C(1) << 33, (INT64_C(1) << 31) + 1, 1},
    /* Inside int64_t, but 8 bytes an element overflow: 2^60 elements. */
    {INT64_C(1) << 20, INT64_C(1) << 20, INT64_C(1) << 20},
    {INT64_C(1) << 60, 1, 1},
    {(INT64_C(1) << 31) + 1, (INT64_C(1) << 31) + 1, 1},
    {INT64_C(1) << 61, 1, 1},
    {INT64_MAX / 2, 1, 1},
};

static void test_overflowing_products_rejected(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        for (size_t i = 0; i < sizeof overflowing / sizeof overflowing[0]; i++)
            expect_permutations(loss, overflowing[i], FOCAL_ERROR_INVALID_SHAPE, "overflow");
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* The shape is checked before the settings: an overflowing shape is
 * INVALID_SHAPE also with settings that do not fit together. */
static void test_overflow_reported_before_settings(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = incompatible_context((focal_mode)mode);
        for (size_t i = 0; i < sizeof overflowing / sizeof overflowing[0]; i++)
            expect_all(loss, overflowing[i].n, overflowing[i].c, overflowing[i].inner,
                       FOCAL_ERROR_INVALID_SHAPE, "overflow");
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* n or inner below 0 and c below 1 are refused; n = 0 or inner = 0 with
 * c >= 1 is an empty call (since 1.1), checked in tests/test_empty.c: here
 * only that such a shape is not refused. */
static void test_nonpositive_dimensions_rejected(void **state)
{
    (void)state;
    static const dims bad[] = {
        {-1, 1, 1}, {INT64_MIN, 1, 1}, {INT64_MIN, INT64_MIN, INT64_MIN},
        {1, INT64_MIN, 1}, {1, 1, -(INT64_C(1) << 32)}, {-1, -1, 1}, {0, 0, 0}, {-1, 0, 0},
    };
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_permutations(loss, bad[i], FOCAL_ERROR_INVALID_SHAPE, "negative|less than 1");
    expect_all(loss, 1, 0, 1, FOCAL_ERROR_INVALID_SHAPE, "less than 1");
    expect_all(loss, 0, 0, 1, FOCAL_ERROR_INVALID_SHAPE, "less than 1");
    focal_loss_destroy(loss);
    errcheck_finish();
}

/* Large shapes that fit: 2^60 - 1 elements exactly (the largest count
 * whose 8-byte size fits in int64_t), and c or inner above INT_MAX or
 * above 2^32. They pass the shape check and fail on the settings. */
static void test_large_shapes_accepted(void **state)
{
    (void)state;
    static const dims fits[] = {
        /* 3^2 5^2 7 11 13 * 31 41 61 151 * 331 1321 = 2^60 - 1 */
        {225225, 11707181, 437251},
        {(INT64_C(1) << 60) - 1, 1, 1},
        {1, (INT64_C(1) << 31) + 1, 1},
        {1, (INT64_C(1) << 32) + 1, 1},
        {2, INT_MAX, INT64_C(1) << 28},
        {1, INT64_C(1) << 31, INT64_C(1) << 28},
        {1, (INT64_C(1) << 59) + 7, 1},
        {5, 3, (INT64_C(1) << 33) + 5},
    };
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = incompatible_context((focal_mode)mode);
        for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++)
            expect_permutations(loss, fits[i], FOCAL_ERROR_INCOMPATIBLE, NULL);
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* c above INT_MAX and above 2^32 with index targets: the class range check
 * uses the whole of c. Position 0 holds a class that is valid only if c is
 * not truncated to 32 bits, position 1 an invalid one, so the call fails
 * on position 1 before the input is read. */
static void test_large_c_class_range(void **state)
{
    (void)state;
    static const int64_t cs[] = {(INT64_C(1) << 31) + 1, (INT64_C(1) << 32) + 2, (INT64_C(1) << 40) + 3};
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 1), FOCAL_OK);
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
            const int64_t c = cs[i];
            /* Softmax: c - 1 is the last class; sigmoid: c is background. */
            const int64_t valid[2] = {c - 1, mode == FOCAL_MODE_SIGMOID ? c : (INT64_C(1) << 31)};
            const int64_t limit = mode == FOCAL_MODE_SIGMOID ? c + 1 : c;
            for (int v = 0; v < 2; v++)
                for (int f = 0; f < NFUNCS; f++) {
                    if (f % 6 >= 3)
                        continue;   /* index targets only */
                    tiny b;
                    tiny_init(&b);
                    b.t[0] = valid[v];
                    b.t[1] = limit;
                    const focal_status s = call_func(f, loss, 2, c, 1, &b);
                    char msg[512], want[128];
                    errcheck_copy_last_error(msg, sizeof msg);
                    snprintf(want, sizeof want, "target[1] = %" PRId64 " is outside [0, %" PRId64 ")",
                             limit, limit);
                    if (s != FOCAL_ERROR_INVALID_TARGET || strstr(msg, want) == NULL)
                        errcheck_problem("%s(2, %" PRId64 ", 1) with targets {%" PRId64 ", %" PRId64
                                         "}: status %d, message \"%s\"; expected INVALID_TARGET and \"%s\"",
                                         func_names[f], c, b.t[0], b.t[1], (int)s, msg, want);
                    if (!tiny_outputs_untouched(&b))
                        errcheck_problem("%s(2, %" PRId64 ", 1) wrote to an output", func_names[f], c);
                }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* An alpha vector of length 3 does not fit c = 2^32 + 3 (which is 3 in
 * 32 bits). */
static void test_alpha_length_against_large_c(void **state)
{
    (void)state;
    const double a[3] = {0.2, 0.3, 0.5};
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, a, 3), FOCAL_OK);
        expect_all(loss, 1, (INT64_C(1) << 32) + 3, 1, FOCAL_ERROR_INVALID_SHAPE, "4294967299");
        expect_all(loss, 1, (INT64_C(1) << 32) + 3, 1, FOCAL_ERROR_INVALID_SHAPE, "alpha");
        expect_all(loss, 2, 3 - (INT64_C(1) << 32), 1, FOCAL_ERROR_INVALID_SHAPE, NULL);
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* Compute function f on (2, 3, 1) with targets (first, bad): it must
 * return INVALID_TARGET naming target[1] and write no output. */
static void expect_bad_target(int f, const focal_loss *loss, int64_t first, int64_t bad, const char *what)
{
    tiny b;
    tiny_init(&b);
    b.t[0] = first;
    b.t[1] = bad;
    const focal_status s = call_func(f, loss, 2, 3, 1, &b);
    char msg[512], want[64];
    errcheck_copy_last_error(msg, sizeof msg);
    snprintf(want, sizeof want, "target[1] = %" PRId64, bad);
    if (s != FOCAL_ERROR_INVALID_TARGET || strstr(msg, want) == NULL)
        errcheck_problem("%s with target %" PRId64 "%s: status %d, message \"%s\"", func_names[f], bad, what, (int)s,
                         msg);
    if (!tiny_outputs_untouched(&b))
        errcheck_problem("%s with target %" PRId64 "%s wrote to an output", func_names[f], bad, what);
}

/* Class indices equal to a valid class modulo 2^32 are invalid. */
static void test_class_index_not_truncated(void **state)
{
    (void)state;
    static const int64_t bad[] = {(INT64_C(1) << 32) + 1, (INT64_C(1) << 32), -(INT64_C(1) << 32) + 1,
                                  INT64_MAX, INT64_MIN, INT64_MIN + 2};
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        /* An ignore_index that equals each bad value modulo 2^32 only. */
        assert_int_equal(focal_loss_set_ignore_index(loss, 1), FOCAL_OK);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            for (int f = 0; f < NFUNCS; f++) {
                if (f % 6 >= 3)
                    continue;
                expect_bad_target(f, loss, 2, bad[i], "");
            }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* With a per-class alpha vector the target's alpha is looked up per
 * position; a class index outside [0, c) must be rejected, not used to
 * index the vector (2^40 classes away is outside any mapping). */
static void test_far_class_index_with_alpha_vector(void **state)
{
    (void)state;
    static const int64_t bad[] = {INT64_C(1) << 40, -(INT64_C(1) << 40), INT64_MAX, INT64_MIN, 3, -1};
    const double a[3] = {0.25, 0.5, 0.25};
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, a, 3), FOCAL_OK);
        for (int red = 0; red < 2; red++) {
            /* WEIGHTED_MEAN reads alpha_t of every position up front. */
            assert_int_equal(focal_loss_set_reduction(loss, red ? FOCAL_REDUCTION_WEIGHTED_MEAN
                                                                : FOCAL_REDUCTION_MEAN),
                             FOCAL_OK);
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                for (int f = 0; f < NFUNCS; f++) {
                    if (f % 6 >= 3)
                        continue;
                    if (mode == FOCAL_MODE_SIGMOID && bad[i] == 3)
                        continue;   /* c is the background class in sigmoid mode */
                    expect_bad_target(f, loss, 1, bad[i],
                                      mode == FOCAL_MODE_SIGMOID ? ", sigmoid, alpha vector"
                                                                 : ", softmax, alpha vector");
                }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* One softmax position of c classes needs a scratch of 3 c doubles (rows)
 * or more. With c = 230584300921369396 that wraps past 2^64; the call must
 * fail (out of memory, or the shape refused) before it reads the input.
 * Index targets only: one target is read, and it is valid. Sigmoid mode
 * keeps nothing per class, so there such a call is an ordinary (huge)
 * one. */
static void test_scratch_size_not_wrapped(void **state)
{
    (void)state;
    static const int64_t cs[] = {INT64_C(230584300921369396), INT64_C(768614336404564651), (INT64_C(1) << 57) + 1,
                                 (INT64_C(1) << 60) - 1};
    for (int mode = 0; mode < 1; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 1), FOCAL_OK);
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
            for (int f = 0; f < NFUNCS; f++) {
                if (f % 6 >= 3)
                    continue;
                tiny b;
                tiny_init(&b);
                const focal_status s = call_func(f, loss, 1, cs[i], 1, &b);
                if (s != FOCAL_ERROR_OUT_OF_MEMORY && s != FOCAL_ERROR_INVALID_SHAPE)
                    errcheck_problem("mode %d, %s(1, %" PRId64 ", 1): status %d (%s), expected OUT_OF_MEMORY "
                                     "or INVALID_SHAPE",
                                     mode, func_names[f], cs[i], (int)s, focal_last_error());
                if (!tiny_outputs_untouched(&b))
                    errcheck_problem("mode %d, %s(1, %" PRId64 ", 1) wrote to an output", mode, func_names[f], cs[i]);
            }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* An ignore_index equal to a real class modulo 2^32 ignores nothing: the
 * sum over one position with zero logits is the closed form. */
static void test_ignore_index_not_truncated(void **state)
{
    (void)state;
    const double gamma = 2.0;
    /* Softmax, c = 3: (2/3)^2 log 3. Sigmoid, c = 3: 3 (1/2)^2 log 2. */
    const double want[2] = {pow(2.0 / 3.0, gamma) * log(3.0), 3.0 * pow(0.5, gamma) * log(2.0)};
    static const int64_t ignores[] = {(INT64_C(1) << 32) + 1, -(INT64_C(1) << 32) + 1,
                                      INT64_MIN + 1};
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, gamma), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM), FOCAL_OK);
        for (size_t i = 0; i < sizeof ignores / sizeof ignores[0]; i++) {
            assert_int_equal(focal_loss_set_ignore_index(loss, ignores[i]), FOCAL_OK);
            const float xf[3] = {0, 0, 0};
            const double xd[3] = {0, 0, 0};
            const int64_t t[1] = {1};
            float of = -1;
            double od = -1;
            assert_int_equal(focal_forward_f32(loss, 1, 3, 1, xf, t, NULL, &of), FOCAL_OK);
            assert_int_equal(focal_forward_f64(loss, 1, 3, 1, xd, t, NULL, &od), FOCAL_OK);
            if (fabs(od - want[mode]) > 1e-14 * want[mode])
                errcheck_problem("mode %d, ignore_index %" PRId64 ": f64 loss %.17g, expected %.17g", mode,
                                 ignores[i], od, want[mode]);
            if (fabs((double)of - want[mode]) > 1e-6 * want[mode])
                errcheck_problem("mode %d, ignore_index %" PRId64 ": f32 loss %.9g, expected %.9g", mode,
                                 ignores[i], (double)of, want[mode]);
        }
        /* And the real one does ignore it. */
        assert_int_equal(focal_loss_set_ignore_index(loss, 1), FOCAL_OK);
        const double xd[3] = {0, 0, 0};
        const int64_t t[1] = {1};
        double od = -1;
        assert_int_equal(focal_forward_f64(loss, 1, 3, 1, xd, t, NULL, &od), FOCAL_OK);
        if (od != 0.0)
            errcheck_problem("mode %d: the ignored position gave %.17g, expected 0", mode, od);
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* Alpha vector counts: refused before the array is read when the byte
 * size overflows size_t; accepted (and the array read from its first
 * element) when it fits. */
static void test_alpha_vector_counts(void **state)
{
    (void)state;
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    const double a[2] = {0.5, 0.25};
    assert_int_equal(focal_loss_set_alpha_vector(loss, a, 2), FOCAL_OK);
    errcheck_snapshot before, after;
    errcheck_snapshot_take(loss, &before);

    const int64_t max_count = (int64_t)(SIZE_MAX / sizeof(double) < (uint64_t)INT64_MAX
                                            ? SIZE_MAX / sizeof(double)
                                            : (uint64_t)INT64_MAX);
    const int64_t counts[3] = {INT64_MAX, INT64_C(1) << 62, max_count < INT64_MAX ? max_count + 1 : INT64_MAX};
    for (int i = 0; i < 3; i++) {
        if (counts[i] <= max_count)
            continue;
        const double one[1] = {0.5};
        const focal_status s = focal_loss_set_alpha_vector(loss, one, counts[i]);
        char msg[256];
        errcheck_copy_last_error(msg, sizeof msg);
        if (s != FOCAL_ERROR_INVALID_SHAPE)
            errcheck_problem("set_alpha_vector(count = %" PRId64 ") returned %d (%s)", counts[i], (int)s, msg);
    }
    /* The largest count that fits reads element 0 first: a NaN there is
     * reported, nothing beyond it is read. */
    const double nan1[1] = {NAN};
    focal_status s = focal_loss_set_alpha_vector(loss, nan1, max_count);
    char msg[256];
    errcheck_copy_last_error(msg, sizeof msg);
    if (s != FOCAL_ERROR_INVALID_PARAMETER || strstr(msg, "alpha[0]") == NULL)
        errcheck_problem("set_alpha_vector(NaN, count = %" PRId64 ") returned %d (%s), expected "
                         "INVALID_PARAMETER naming alpha[0]", max_count, (int)s, msg);

    /* get_alpha_vector with a count equal to the length modulo 2^32. */
    double outbuf[4] = {-1, -1, -1, -1};
    s = focal_loss_get_alpha_vector(loss, outbuf, (INT64_C(1) << 32) + 2);
    if (s != FOCAL_ERROR_INVALID_SHAPE)
        errcheck_problem("get_alpha_vector(count = 2^32 + 2) returned %d", (int)s);
    for (int i = 0; i < 4; i++)
        if (outbuf[i] != -1)
            errcheck_problem("get_alpha_vector with a wrong count wrote element %d", i);

    errcheck_snapshot_take(loss, &after);
    char diff[256];
    if (!errcheck_snapshot_equal(&before, &after, diff, sizeof diff))
        errcheck_problem("the context changed: %s", diff);
    focal_loss_destroy(loss);
    errcheck_finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_overflowing_products_rejected, errcheck_reset_tally),
        cmocka_unit_test_setup(test_overflow_reported_before_settings, errcheck_reset_tally),
        cmocka_unit_test_setup(test_nonpositive_dimensions_rejected, errcheck_reset_tally),
        cmocka_unit_test_setup(test_large_shapes_accepted, errcheck_reset_tally),
        cmocka_unit_test_setup(test_large_c_class_range, errcheck_reset_tally),
        cmocka_unit_test_setup(test_alpha_length_against_large_c, errcheck_reset_tally),
        cmocka_unit_test_setup(test_class_index_not_truncated, errcheck_reset_tally),
        cmocka_unit_test_setup(test_far_class_index_with_alpha_vector, errcheck_reset_tally),
        cmocka_unit_test_setup(test_scratch_size_not_wrapped, errcheck_reset_tally),
        cmocka_unit_test_setup(test_ignore_index_not_truncated, errcheck_reset_tally),
        cmocka_unit_test_setup(test_alpha_vector_counts, errcheck_reset_tally),
    };
    return cmocka_run_group_tests_name("size_limits", tests, NULL, NULL);
}
