/*
 * Non-finite values in bfloat16 and float16 storage (API.md, "Additions in
 * 1.1", half-precision storage: the math as the float32 path, every stored
 * result rounded once to nearest even, NaN stays NaN).
 *
 * Logits: random half values with NaNs, infinities and (softmax) -inf
 * masks for non-target classes. The half call's out and grad_input must
 * equal, bit for bit, the rounding (tests/support/half.c, built from the
 * formats' fields) of the float32 call on the widened (exact) inputs, and
 * NaN where the float32 result is NaN. The one allowed difference: where
 * the float32 result lies exactly halfway between two half values, the
 * half result may be either (both round one unrounded value, once each). Independently of the float32 path,
 * NaN must stay local: with NONE, out is NaN exactly at the positions
 * (softmax) or elements (sigmoid) whose inputs hold a NaN, and no
 * gradient outside those rows is NaN (a sigmoid element with an infinite
 * logit is left to the float32 comparison); a reduced SUM with a NaN is
 * NaN.
 *
 * Rejection: a NaN or infinite dense target, or a NaN or infinite weight,
 * given in half precision gives the status float32 gives for the same
 * widened values (INVALID_TARGET, INVALID_WEIGHT), for the compute calls
 * and the counts, and writes nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"
#include "half.h"
#include "names.h"
#include "numcheck.h"

#define HN_N 40
#define HN_C 5
#define HN_INNER 3
#define HN_POS (HN_N * HN_INNER)
#define HN_ELEMS (HN_N * HN_C * HN_INNER)

typedef struct hn_data {
    half_kind kind;
    focal_mode mode;
    int dense;
    uint16_t x[HN_ELEMS], y[HN_ELEMS], w[HN_POS];
    float xf[HN_ELEMS], yf[HN_ELEMS], wf[HN_POS];
    int64_t t[HN_POS];
    int nan_elem[HN_ELEMS], inf_elem[HN_ELEMS];
} hn_data;

static size_t hn_elem(size_t pos, int64_t cls)
{
    return (pos / HN_INNER * HN_C + (size_t)cls) * HN_INNER + pos % HN_INNER;
}

static void hn_fill(hn_data *d, half_kind kind, focal_mode mode, int dense, uint64_t seed)
{
    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->mode = mode;
    d->dense = dense;
    for (size_t i = 0; i < HN_POS; i++) {
        d->t[i] = numcheck_rng_below(&rng, mode == FOCAL_MODE_SIGMOID ? HN_C + 1 : HN_C);
        d->w[i] = half_from_float(kind, (float)numcheck_rng_uniform(&rng, 0.25, 2.0));
    }
    for (size_t e = 0; e < HN_ELEMS; e++) {
        d->x[e] = half_from_float(kind, (float)numcheck_rng_uniform(&rng, -4.0, 4.0));
        d->y[e] = half_from_float(kind, (float)numcheck_rng_uniform(&rng, 0.0, 1.0));
    }
    /* Every fifth position gets a NaN in one element, every seventh an
     * infinity: sigmoid either sign, softmax -inf on a class that is not
     * the index target (a mask; dense rows: that class's target set 0). */
    for (size_t pos = 0; pos < HN_POS; pos++) {
        int64_t cls = numcheck_rng_below(&rng, HN_C);
        if (pos % 5 == 2) {
            size_t e = hn_elem(pos, cls);
            d->x[e] = half_from_float(kind, NAN);
            d->nan_elem[e] = 1;
        } else if (pos % 7 == 3) {
            if (mode == FOCAL_MODE_SOFTMAX && cls == d->t[pos]) {
                cls = (cls + 1) % HN_C;
            }
            size_t e = hn_elem(pos, cls);
            int negative = mode == FOCAL_MODE_SOFTMAX || numcheck_rng_below(&rng, 2) == 0;
            d->x[e] = half_from_float(kind, negative ? -INFINITY : INFINITY);
            d->inf_elem[e] = 1;
            if (mode == FOCAL_MODE_SOFTMAX) {
                d->y[e] = 0;
            }
        }
    }
    for (size_t e = 0; e < HN_ELEMS; e++) {
        d->xf[e] = half_to_float(kind, d->x[e]);
        d->yf[e] = half_to_float(kind, d->y[e]);
    }
    for (size_t i = 0; i < HN_POS; i++) {
        d->wf[i] = half_to_float(kind, d->w[i]);
    }
}

static focal_status hn_fused_half(const focal_loss *loss, const hn_data *d, const uint16_t *x,
                                  const uint16_t *y, const uint16_t *w, uint16_t *out,
                                  uint16_t *grad)
{
    if (d->kind == HALF_BF16) {
        return d->dense ? focal_forward_backward_dense_bf16(loss, HN_N, HN_C, HN_INNER, x, y, w, out, grad)
                        : focal_forward_backward_bf16(loss, HN_N, HN_C, HN_INNER, x, d->t, w, out, grad);
    }
    return d->dense ? focal_forward_backward_dense_f16(loss, HN_N, HN_C, HN_INNER, x, y, w, out, grad)
                    : focal_forward_backward_f16(loss, HN_N, HN_C, HN_INNER, x, d->t, w, out, grad);
}

static focal_status hn_fused_f32(const focal_loss *loss, const hn_data *d, const float *x,
                                 const float *y, const float *w, float *out, float *grad)
{
    return d->dense ? focal_forward_backward_dense_f32(loss, HN_N, HN_C, HN_INNER, x, y, w, out, grad)
                    : focal_forward_backward_f32(loss, HN_N, HN_C, HN_INNER, x, d->t, w, out, grad);
}

static focal_status hn_counts_half(const focal_loss *loss, const hn_data *d, const uint16_t *y,
                                   const uint16_t *w, double *counts)
{
    if (d->kind == HALF_BF16) {
        return d->dense ? focal_counts_dense_bf16(loss, HN_N, HN_C, HN_INNER, y, w, counts)
                        : focal_counts_bf16(loss, HN_N, HN_C, HN_INNER, d->t, w, counts);
    }
    return d->dense ? focal_counts_dense_f16(loss, HN_N, HN_C, HN_INNER, y, w, counts)
                    : focal_counts_f16(loss, HN_N, HN_C, HN_INNER, d->t, w, counts);
}

static focal_status hn_counts_f32(const focal_loss *loss, const hn_data *d, const float *y,
                                  const float *w, double *counts)
{
    return d->dense ? focal_counts_dense_f32(loss, HN_N, HN_C, HN_INNER, y, w, counts)
                    : focal_counts_f32(loss, HN_N, HN_C, HN_INNER, d->t, w, counts);
}

static const char *hn_name(const hn_data *d)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "%s %s %s", half_name(d->kind), names_mode(d->mode),
             d->dense ? "dense" : "index");
    return buf;
}

static void hn_compare_rounded(const hn_data *d, const char *what, const uint16_t *got,
                               const float *ref, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint16_t want = half_from_float(d->kind, ref[i]);
        if (!half_matches_rounded(d->kind, got[i], ref[i])) {
            errcheck_problem("%s %s[%zu]: 0x%04x, float32 %.9g rounds to 0x%04x", hn_name(d), what, i,
                       (unsigned)got[i], (double)ref[i], (unsigned)want);
        }
    }
}

/* Whether position pos holds a NaN input, and (sigmoid) element e. */
static int hn_pos_has_nan(const hn_data *d, size_t pos)
{
    for (int64_t k = 0; k < HN_C; k++) {
        if (d->nan_elem[hn_elem(pos, k)]) {
            return 1;
        }
    }
    return 0;
}

static void hn_locality(const hn_data *d, const uint16_t *out, const uint16_t *grad)
{
    for (size_t pos = 0; pos < HN_POS; pos++) {
        int row_nan = hn_pos_has_nan(d, pos);
        for (int64_t k = 0; k < HN_C; k++) {
            size_t e = hn_elem(pos, k);
            int local = d->mode == FOCAL_MODE_SOFTMAX ? row_nan : d->nan_elem[e];
            /* sigmoid: an infinite logit's own results are compared with
             * float32's only (the API defines them for finite inputs) */
            if (d->mode == FOCAL_MODE_SIGMOID && d->inf_elem[e]) {
                continue;
            }
            if (!local && half_is_nan(d->kind, grad[e])) {
                errcheck_problem("%s: grad[%zu] is NaN, no NaN input touches it", hn_name(d), e);
            }
            if (d->mode == FOCAL_MODE_SIGMOID &&
                half_is_nan(d->kind, out[e]) != d->nan_elem[e]) {
                errcheck_problem("%s: out[%zu] NaN %d, NaN input %d", hn_name(d), e,
                           half_is_nan(d->kind, out[e]), d->nan_elem[e]);
            }
        }
        if (d->mode == FOCAL_MODE_SOFTMAX && half_is_nan(d->kind, out[pos]) != row_nan) {
            errcheck_problem("%s: out[%zu] NaN %d, NaN in the position %d", hn_name(d), pos,
                       half_is_nan(d->kind, out[pos]), row_nan);
        }
    }
}

static focal_loss *hn_loss(focal_mode mode, focal_reduction r)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, r), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha(loss, mode == FOCAL_MODE_SIGMOID ? 0.25 : 0.5), FOCAL_OK);
    return loss;
}

static void hn_values(half_kind kind, focal_mode mode, int dense)
{
    hn_data *d = numcheck_alloc(1, sizeof *d);
    hn_fill(d, kind, mode, dense, 0x4a1fu + (uint64_t)kind * 11u + (uint64_t)mode * 3u + (uint64_t)dense);
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM};
    for (size_t ri = 0; ri < 2; ri++) {
        focal_loss *loss = hn_loss(mode, reds[ri]);
        uint16_t out[HN_ELEMS], grad[HN_ELEMS];
        float outf[HN_ELEMS], gradf[HN_ELEMS];
        assert_int_equal(hn_fused_half(loss, d, d->x, d->y, d->w, out, grad), FOCAL_OK);
        assert_int_equal(hn_fused_f32(loss, d, d->xf, d->yf, d->wf, outf, gradf), FOCAL_OK);
        size_t out_len = reds[ri] != FOCAL_REDUCTION_NONE ? 1
                         : mode == FOCAL_MODE_SIGMOID       ? HN_ELEMS
                                                            : HN_POS;
        hn_compare_rounded(d, "out", out, outf, out_len);
        hn_compare_rounded(d, "grad", grad, gradf, HN_ELEMS);
        if (reds[ri] == FOCAL_REDUCTION_NONE) {
            hn_locality(d, out, grad);
        } else if (!half_is_nan(kind, out[0])) {
            errcheck_problem("%s: SUM over NaN losses is not NaN", hn_name(d));
        }
        focal_loss_destroy(loss);
    }
    free(d);
}

/* One bad value at element or position 17: the half call's status equals
 * the float32 call's, which is the documented one, and nothing is written. */
static void hn_reject_one(hn_data *d, int bad_weight, float bad, focal_status want)
{
    focal_loss *loss = hn_loss(d->mode, FOCAL_REDUCTION_NONE);
    uint16_t y[HN_ELEMS], w[HN_POS];
    float yf[HN_ELEMS], wf[HN_POS];
    memcpy(y, d->y, sizeof y);
    memcpy(w, d->w, sizeof w);
    memcpy(yf, d->yf, sizeof yf);
    memcpy(wf, d->wf, sizeof wf);
    if (bad_weight) {
        w[17] = half_from_float(d->kind, bad);
        wf[17] = bad;
    } else {
        y[17] = half_from_float(d->kind, bad);
        yf[17] = bad;
    }
    uint16_t out[HN_ELEMS], grad[HN_ELEMS], sentinel[HN_ELEMS];
    float outf[HN_ELEMS], gradf[HN_ELEMS];
    double counts[3] = {-1, -1, -1};
    double countsf[3];
    memset(sentinel, 0x5a, sizeof sentinel);
    memcpy(out, sentinel, sizeof out);
    memcpy(grad, sentinel, sizeof grad);
    focal_status sf = hn_fused_f32(loss, d, d->xf, yf, wf, outf, gradf);
    focal_status sh = hn_fused_half(loss, d, d->x, y, w, out, grad);
    focal_status cf = hn_counts_f32(loss, d, yf, wf, countsf);
    focal_status ch = hn_counts_half(loss, d, y, w, counts);
    if (sf != want || sh != want || cf != want || ch != want) {
        errcheck_problem("%s bad %s %g: statuses float32 %d half %d, counts float32 %d half %d, want %d",
                   hn_name(d), bad_weight ? "weight" : "target", (double)bad, (int)sf, (int)sh,
                   (int)cf, (int)ch, (int)want);
    }
    if (memcmp(out, sentinel, sizeof out) != 0 || memcmp(grad, sentinel, sizeof grad) != 0 ||
        counts[0] != -1 || counts[1] != -1 || counts[2] != -1) {
        errcheck_problem("%s bad %s %g: an output was written", hn_name(d),
                   bad_weight ? "weight" : "target", (double)bad);
    }
    focal_loss_destroy(loss);
}

static void hn_reject(half_kind kind, focal_mode mode, int dense)
{
    hn_data *d = numcheck_alloc(1, sizeof *d);
    hn_fill(d, kind, mode, dense, 0x3e1ecu + (uint64_t)kind);
    /* finite inputs only: the rejection must not depend on them */
    for (size_t e = 0; e < HN_ELEMS; e++) {
        if (d->nan_elem[e] || d->inf_elem[e]) {
            d->x[e] = half_from_float(kind, 0.5f);
            d->xf[e] = 0.5f;
        }
    }
    static const float bads[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        if (dense) {
            hn_reject_one(d, 0, bads[i], FOCAL_ERROR_INVALID_TARGET);
        }
        hn_reject_one(d, 1, bads[i], FOCAL_ERROR_INVALID_WEIGHT);
    }
    free(d);
}

typedef void (*hn_fn)(half_kind, focal_mode, int);

static void hn_all(hn_fn fn, const char *what)
{
    size_t runs = 0;
    for (int kind = HALF_BF16; kind <= HALF_F16; kind++) {
        for (int mode = FOCAL_MODE_SOFTMAX; mode <= FOCAL_MODE_SIGMOID; mode++) {
            for (int dense = 0; dense < 2; dense++) {
                fn((half_kind)kind, (focal_mode)mode, dense);
                runs++;
            }
        }
    }
    print_message("%s: %zu runs\n", what, runs);
    errcheck_finish();
}

static void test_half_nonfinite_logits(void **state)
{
    (void)state;
    hn_all(hn_values, "non-finite logits");
}

static void test_half_rejects_like_float32(void **state)
{
    (void)state;
    hn_all(hn_reject, "rejected targets and weights");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_half_nonfinite_logits, errcheck_reset_tally),
        cmocka_unit_test_setup(test_half_rejects_like_float32, errcheck_reset_tally),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
