/*
 * bfloat16 and float16 storage on the layouts that reshape the data: an
 * (N, C, inner) softmax call with many classes runs its rows on transposed
 * copies of the class planes, and small class counts on class-major
 * copies of (N, C) rows (src/layout/reshape.c, whose 16-bit transposes
 * work in 8 x 8 blocks with loops for the edges). For each storage type,
 * shape (8 x 8 blocks with edges, and none), target kind and operation,
 * every stored result must be the rounding (tests/support/half.c, built
 * from the formats' fields) of the float32 call on the widened (exact)
 * inputs: the API's invariant for half storage. Where a float32 result
 * lies exactly halfway between two half values either neighbour passes.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"
#include "half.h"

typedef struct shape {
    int64_t n, c, inner;
} shape;

static const shape shapes[] = {
    {3, 70, 20},  /* many classes, planes: rows on transposed copies, 8 x 8 blocks and edges */
    {2, 300, 9},  /* longer rows, an odd plane */
    {64, 10, 1},  /* (N, C) rows of few classes: class-major copies */
    {37, 12, 1},  /* edges in both directions */
    {5, 7, 3},    /* smaller than one block */
};

static uint32_t next_u32(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static double uniform(uint64_t *s) { return (double)next_u32(s) / 4294967296.0; }

/* Compares a half result with the rounding of the float32 one. */
static void expect_rounded(half_kind kind, const uint16_t *got, const float *ref, size_t count,
                           const char *what, const shape *sh, int dense)
{
    for (size_t i = 0; i < count; ++i) {
        if (!half_matches_rounded(kind, got[i], ref[i])) {
            errcheck_problem("%s %s, shape (%lld, %lld, %lld), %s targets: [%zu] = 0x%04x (%g), float32 %.9g",
                             half_name(kind), what, (long long)sh->n, (long long)sh->c, (long long)sh->inner,
                             dense ? "dense" : "index", i, (unsigned)got[i], (double)half_to_float(kind, got[i]),
                             (double)ref[i]);
            return;
        }
    }
}

static void run_shape(half_kind kind, const shape *sh, int dense, uint64_t *seed)
{
    const size_t elems = (size_t)(sh->n * sh->c * sh->inner), pos = (size_t)(sh->n * sh->inner);
    uint16_t *x = malloc(elems * 2), *y = malloc(elems * 2), *g = malloc(elems * 2), *out = malloc(pos * 2);
    float *xf = malloc(elems * 4), *yf = malloc(elems * 4), *gf = malloc(elems * 4), *outf = malloc(pos * 4);
    int64_t *t = malloc(pos * 8);
    assert_non_null(x), assert_non_null(y), assert_non_null(g), assert_non_null(out);
    assert_non_null(xf), assert_non_null(yf), assert_non_null(gf), assert_non_null(outf), assert_non_null(t);
    for (size_t i = 0; i < elems; ++i) {
        x[i] = half_from_float(kind, (float)(8.0 * uniform(seed) - 4.0));
        xf[i] = half_to_float(kind, x[i]);
    }
    for (size_t p = 0; p < pos; ++p)
        t[p] = (int64_t)(next_u32(seed) % (uint32_t)sh->c);
    /* Dense: a soft distribution per position, exact in the half type. */
    for (int64_t b = 0; b < sh->n; ++b)
        for (int64_t s = 0; s < sh->inner; ++s)
            for (int64_t j = 0; j < sh->c; ++j) {
                const size_t i = (size_t)((b * sh->c + j) * sh->inner + s);
                const float v = j == t[b * sh->inner + s] ? 0.75f : (j % 5 == 0 ? 0.125f : 0.0f);
                y[i] = half_from_float(kind, v);
                yf[i] = half_to_float(kind, y[i]);
            }

    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
    const int bf = kind == HALF_BF16;
    focal_status s16, s32;
    if (dense) {
        s16 = bf ? focal_forward_backward_dense_bf16(loss, sh->n, sh->c, sh->inner, x, y, NULL, out, g)
                 : focal_forward_backward_dense_f16(loss, sh->n, sh->c, sh->inner, x, y, NULL, out, g);
        s32 = focal_forward_backward_dense_f32(loss, sh->n, sh->c, sh->inner, xf, yf, NULL, outf, gf);
    } else {
        s16 = bf ? focal_forward_backward_bf16(loss, sh->n, sh->c, sh->inner, x, t, NULL, out, g)
                 : focal_forward_backward_f16(loss, sh->n, sh->c, sh->inner, x, t, NULL, out, g);
        s32 = focal_forward_backward_f32(loss, sh->n, sh->c, sh->inner, xf, t, NULL, outf, gf);
    }
    assert_int_equal(s16, FOCAL_OK);
    assert_int_equal(s32, FOCAL_OK);
    expect_rounded(kind, out, outf, pos, "loss", sh, dense);
    expect_rounded(kind, g, gf, elems, "gradient", sh, dense);
    focal_loss_destroy(loss);
    free(x), free(y), free(g), free(out), free(xf), free(yf), free(gf), free(outf), free(t);
}

static void test_layouts(void **state)
{
    (void)state;
    uint64_t seed = 20261205;
    for (int k = 0; k < 2; ++k)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; ++i)
            for (int dense = 0; dense < 2; ++dense)
                run_shape(k == 0 ? HALF_BF16 : HALF_F16, &shapes[i], dense, &seed);
    errcheck_finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
