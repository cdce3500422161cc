/*
 * Empty calls (API.md, "Additions in 1.1", empty tensors): n = 0 or
 * inner = 0 with c >= 1 is valid for every compute, counts and
 * target-gradient entry point and every storage type. Every reduced value
 * is 0, NONE writes nothing, grad_input and grad_target have no elements,
 * counts are 0. Every buffer is filled with a byte pattern first; the
 * call may change only the reduced value (its first element) and the
 * three counts, nothing else and nothing beyond. Both modes, every
 * reduction each mode allows, with and without a weight buffer. The same
 * pointers are required as for a non-empty call: a NULL input (counts: a
 * NULL target) is NULL_POINTER with nothing written.
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

#include <focal/focal.h>

#include "errcheck.h"
#include "names.h"

#define EM_BYTES 256
#define EM_FILL 0xA5

typedef enum em_type { EM_F32, EM_F64, EM_BF16, EM_F16, EM_TYPE_COUNT } em_type;
static const char *const em_type_names[EM_TYPE_COUNT] = {"f32", "f64", "bf16", "f16"};
static const size_t em_type_size[EM_TYPE_COUNT] = {4, 8, 2, 2};

typedef enum em_op {
    EM_FWD, EM_BWD, EM_FB, EM_FWD_D, EM_BWD_D, EM_FB_D, EM_COUNTS, EM_COUNTS_D, EM_TGRAD,
    EM_OP_COUNT
} em_op;
static const char *const em_op_names[EM_OP_COUNT] = {
    "forward", "backward", "forward_backward", "forward_dense", "backward_dense",
    "forward_backward_dense", "counts", "counts_dense", "backward_target_dense"};

/* The buffers of one call, each EM_BYTES bytes. */
typedef struct em_bufs {
    unsigned char input[EM_BYTES], dense[EM_BYTES], weight[EM_BYTES], grad_out[EM_BYTES];
    unsigned char out[EM_BYTES], grad[EM_BYTES];
    int64_t target[EM_BYTES / 8];
    double counts[8];
} em_bufs;

/* null_first: the first pointer the call requires is NULL (the input; the
 * counts' target). */
static focal_status em_call(const focal_loss *loss, em_type ty, em_op op, int64_t n, int64_t c,
                            int64_t inner, em_bufs *b, int weighted, int null_first)
{
    const int counts = op == EM_COUNTS || op == EM_COUNTS_D;
    const void *w = weighted ? (const void *)b->weight : NULL;
    const void *in = null_first && !counts ? NULL : b->input;
    const void *dn = null_first && counts ? NULL : b->dense, *go = b->grad_out;
    void *out = b->out, *gr = b->grad;
    const int64_t *t = null_first && counts ? NULL : b->target;
    double *cnt = b->counts;
#define EM_SIX(S, F, H)                                                                            \
    switch (op) {                                                                                  \
    case EM_FWD: return focal_forward_##S(loss, n, c, inner, (const F *)in, t, (const F *)w, (F *)out); \
    case EM_BWD:                                                                                   \
        return focal_backward_##S(loss, n, c, inner, (const F *)in, t, (const F *)w, (const F *)go, \
                                  (F *)gr);                                                        \
    case EM_FB:                                                                                    \
        return focal_forward_backward_##S(loss, n, c, inner, (const F *)in, t, (const F *)w,       \
                                          (F *)out, (F *)gr);                                      \
    case EM_FWD_D:                                                                                 \
        return focal_forward_dense_##S(loss, n, c, inner, (const F *)in, (const F *)dn,            \
                                       (const F *)w, (F *)out);                                    \
    case EM_BWD_D:                                                                                 \
        return focal_backward_dense_##S(loss, n, c, inner, (const F *)in, (const F *)dn,           \
                                        (const F *)w, (const F *)go, (F *)gr);                     \
    case EM_FB_D:                                                                                  \
        return focal_forward_backward_dense_##S(loss, n, c, inner, (const F *)in, (const F *)dn,   \
                                                (const F *)w, (F *)out, (F *)gr);                  \
    case EM_COUNTS: return focal_counts_##S(loss, n, c, inner, t, (const F *)w, cnt);             \
    case EM_COUNTS_D:                                                                              \
        return focal_counts_dense_##S(loss, n, c, inner, (const F *)dn, (const F *)w, cnt);       \
    case EM_TGRAD: H;                                                                              \
    default: return FOCAL_ERROR_INTERNAL;                                                          \
    }
    switch (ty) {
    case EM_F32:
        EM_SIX(f32, float,
               return focal_backward_target_dense_f32(loss, n, c, inner, (const float *)in,
                                                      (const float *)dn, (const float *)w,
                                                      (const float *)go, (float *)gr))
    case EM_F64:
        EM_SIX(f64, double,
               return focal_backward_target_dense_f64(loss, n, c, inner, (const double *)in,
                                                      (const double *)dn, (const double *)w,
                                                      (const double *)go, (double *)gr))
    case EM_BF16: EM_SIX(bf16, uint16_t, return FOCAL_ERROR_INTERNAL)
    case EM_F16: EM_SIX(f16, uint16_t, return FOCAL_ERROR_INTERNAL)
    default: return FOCAL_ERROR_INTERNAL;
    }
#undef EM_SIX
}

static int em_has_op(em_type ty, em_op op)
{
    return op != EM_TGRAD || ty == EM_F32 || ty == EM_F64;
}

static int em_writes_out(em_op op)
{
    return op == EM_FWD || op == EM_FB || op == EM_FWD_D || op == EM_FB_D;
}

static int em_is_zero(em_type ty, const unsigned char *p)
{
    switch (ty) {
    case EM_F32: {
        float v;
        memcpy(&v, p, sizeof v);
        return v == 0.0f;
    }
    case EM_F64: {
        double v;
        memcpy(&v, p, sizeof v);
        return v == 0.0;
    }
    default: {
        uint16_t v;
        memcpy(&v, p, sizeof v);
        return (v & 0x7fffu) == 0; /* both formats: +-0 */
    }
    }
}

static size_t em_changed_from(const unsigned char *p, size_t from)
{
    size_t changed = 0;
    for (size_t i = from; i < EM_BYTES; i++) {
        changed += p[i] != EM_FILL;
    }
    return changed;
}

static void em_set_one(em_type ty, unsigned char *p)
{
    float f = 1.0f;
    double d = 1.0;
    uint16_t h = ty == EM_BF16 ? 0x3F80u : 0x3C00u;
    if (ty == EM_F32) {
        memcpy(p, &f, sizeof f);
    } else if (ty == EM_F64) {
        memcpy(p, &d, sizeof d);
    } else {
        memcpy(p, &h, sizeof h);
    }
}

static void em_one(focal_mode mode, focal_reduction r, em_type ty, em_op op, int64_t n,
                   int64_t inner, int weighted, size_t *calls)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, r), FOCAL_OK);
    em_bufs b;
    memset(&b, EM_FILL, sizeof b);
    for (size_t i = 0; i < EM_BYTES / em_type_size[ty]; i++) {
        em_set_one(ty, b.grad_out + i * em_type_size[ty]);
    }
    unsigned char grad_out_before[EM_BYTES], input_before[EM_BYTES];
    memcpy(grad_out_before, b.grad_out, EM_BYTES);
    memcpy(input_before, b.input, EM_BYTES);
    const int64_t c = 3;
    char what[160];
    snprintf(what, sizeof what, "%s %s_%s reduction %d n %lld inner %lld weight %s",
             names_mode(mode), em_op_names[op], em_type_names[ty], (int)r, (long long)n,
             (long long)inner, weighted ? "yes" : "NULL");
    /* The same pointers are required as for a non-empty call. */
    focal_status st = em_call(loss, ty, op, n, c, inner, &b, weighted, 1);
    if (st != FOCAL_ERROR_NULL_POINTER || em_changed_from(b.out, 0) != 0 ||
        em_changed_from(b.grad, 0) != 0 ||
        !errcheck_all_bytes(b.counts, sizeof b.counts, EM_FILL)) {
        errcheck_problem("%s, first pointer NULL: status %d, expected NULL_POINTER, nothing written",
                         what, (int)st);
    }
    st = em_call(loss, ty, op, n, c, inner, &b, weighted, 0);
    (*calls)++;
    if (st != FOCAL_OK) {
        errcheck_problem("%s: status %d (%s), expected OK", what, (int)st, focal_status_string(st));
    }
    size_t keep_out = 0;
    if (em_writes_out(op) && r != FOCAL_REDUCTION_NONE) {
        keep_out = em_type_size[ty];
        if (!em_is_zero(ty, b.out)) {
            errcheck_problem("%s: the reduced value is not 0", what);
        }
    }
    if (em_changed_from(b.out, keep_out) != 0) {
        errcheck_problem("%s: out written beyond %zu bytes", what, keep_out);
    }
    if (em_changed_from(b.grad, 0) != 0) {
        errcheck_problem("%s: a gradient buffer was written", what);
    }
    if (op == EM_COUNTS || op == EM_COUNTS_D) {
        for (int k = 0; k < 3; k++) {
            if (b.counts[k] != 0.0) {
                errcheck_problem("%s: counts[%d] = %g, expected 0", what, k, b.counts[k]);
            }
        }
        unsigned char pattern[5 * sizeof(double)];
        memset(pattern, EM_FILL, sizeof pattern);
        if (memcmp(&b.counts[3], pattern, sizeof pattern) != 0) {
            errcheck_problem("%s: written beyond counts[2]", what);
        }
    } else {
        unsigned char pattern[sizeof b.counts];
        memset(pattern, EM_FILL, sizeof pattern);
        assert_memory_equal(b.counts, pattern, sizeof pattern);
    }
    if (memcmp(grad_out_before, b.grad_out, EM_BYTES) != 0 ||
        memcmp(input_before, b.input, EM_BYTES) != 0 || em_changed_from(b.dense, 0) != 0 ||
        em_changed_from(b.weight, 0) != 0) {
        errcheck_problem("%s: an input buffer was written", what);
    }
    focal_loss_destroy(loss);
}

static const focal_reduction em_reductions[] = {
    FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
    FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES, FOCAL_REDUCTION_DIVISOR};

static void em_mode(focal_mode mode)
{
    static const int64_t shapes[][2] = {{0, 2}, {2, 0}, {0, 0}};
    size_t calls = 0;
    for (size_t ri = 0; ri < sizeof em_reductions / sizeof em_reductions[0]; ri++) {
        focal_reduction r = em_reductions[ri];
        if (mode == FOCAL_MODE_SOFTMAX && r == FOCAL_REDUCTION_SUM_OVER_POSITIVES) {
            continue; /* sigmoid only: INCOMPATIBLE for any shape */
        }
        for (int ty = 0; ty < EM_TYPE_COUNT; ty++) {
            for (int op = 0; op < EM_OP_COUNT; op++) {
                if (!em_has_op((em_type)ty, (em_op)op)) {
                    continue;
                }
                for (size_t s = 0; s < 3; s++) {
                    for (int weighted = 0; weighted < 2; weighted++) {
                        em_one(mode, r, (em_type)ty, (em_op)op, shapes[s][0], shapes[s][1],
                               weighted, &calls);
                    }
                }
            }
        }
    }
    print_message("%s: %zu empty calls\n", names_mode(mode), calls);
    assert_true(calls > 0);
    errcheck_finish();
}

static void test_empty_softmax(void **state)
{
    (void)state;
    em_mode(FOCAL_MODE_SOFTMAX);
}

static void test_empty_sigmoid(void **state)
{
    (void)state;
    em_mode(FOCAL_MODE_SIGMOID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty_softmax, errcheck_reset_tally),
        cmocka_unit_test_setup(test_empty_sigmoid, errcheck_reset_tally),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
