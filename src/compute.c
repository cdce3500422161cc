/* The compute entry points: each describes its call, has it planned
 * (validation and the pre-pass), and runs the plan's main pass through
 * the driver. */
#include <math.h>
#include <string.h>

#include "exec/driver.h"
#include "kernels/kernels.h"
#include "plan.h"

static focal_status run(const focal_plan *p)
{
    const focal_args *a = &p->a;
    const size_t elements = (size_t)(a->n * a->c * a->inner);
    if (a->op == FOCAL_OP_COUNTS) {
        a->counts[0] = p->count;
        /* sum(w alpha_t) of scaled alphas, scaled back (rounded once; an
         * overflow is the true sum's). */
        a->counts[1] = ldexp(p->weight_alpha, p->alpha_exp);
        a->counts[2] = p->positives;
        return FOCAL_OK;
    }
    if (a->op == FOCAL_OP_TARGET) {
        if (p->zero) {
            memset(a->grad_target, 0, elements * (size_t)p->k->element_size);
            return FOCAL_OK;
        }
        focal_sums sums;
        return focal_drive(p, p->k->target_grad, p->workers, p->scratch_bytes, &sums);
    }
    if (p->zero) {
        /* A zero denominator makes the reduced loss 0 and its gradient 0,
         * whatever the inputs hold (all-zero bits are 0 in every storage
         * type). */
        if (p->want_grad)
            memset(a->grad_input, 0, elements * (size_t)p->k->element_size);
        if (p->want_loss)
            p->k->store1(a->out, 0, 0.0);
        return FOCAL_OK;
    }
    focal_sums sums;
    const focal_status s =
        focal_drive(p, p->sigmoid ? p->k->sigmoid : p->k->softmax, p->workers, p->scratch_bytes, &sums);
    if (s != FOCAL_OK)
        return s;
    if (p->want_loss && p->reduced)
        p->k->store1(a->out, 0, p->divided ? sums.loss : sums.loss / p->denominator);
    return FOCAL_OK;
}

static focal_status compute(const focal_args *args)
{
    focal_plan plan;
    focal_status s = focal_plan_build(args, &plan);
    if (s == FOCAL_OK)
        s = run(&plan);
    focal_plan_release(&plan);
    return s;
}

/* One definition per element type and target kind for the three ops. */
#define FOCAL_DEFINE(SUFFIX, REAL, DTYPE, KIND, TARGET_T, TARGET_FIELD, DENSE)                                   \
    focal_status focal_forward##KIND##_##SUFFIX(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,      \
                                                const REAL *input, const TARGET_T *target, const REAL *weight,    \
                                                REAL *out)                                                        \
    {                                                                                                             \
        focal_args a = {.loss = loss, .dtype = DTYPE, .op = FOCAL_OP_FORWARD, .dense = DENSE, .n = n, .c = c,     \
                        .inner = inner, .input = input, .weight = weight, .out = out};                           \
        a.TARGET_FIELD = target;                                                                                  \
        return compute(&a);                                                                                       \
    }                                                                                                             \
    focal_status focal_backward##KIND##_##SUFFIX(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,     \
                                                 const REAL *input, const TARGET_T *target, const REAL *weight,   \
                                                 const REAL *grad_out, REAL *grad_input)                          \
    {                                                                                                             \
        focal_args a = {.loss = loss, .dtype = DTYPE, .op = FOCAL_OP_BACKWARD, .dense = DENSE, .n = n, .c = c,    \
                        .inner = inner, .input = input, .weight = weight, .grad_out = grad_out,                  \
                        .grad_input = grad_input};                                                               \
        a.TARGET_FIELD = target;                                                                                  \
        return compute(&a);                                                                                       \
    }                                                                                                             \
    focal_status focal_forward_backward##KIND##_##SUFFIX(const focal_loss *loss, int64_t n, int64_t c,            \
                                                         int64_t inner, const REAL *input, const TARGET_T *target, \
                                                         const REAL *weight, REAL *out, REAL *grad_input)         \
    {                                                                                                             \
        focal_args a = {.loss = loss, .dtype = DTYPE, .op = FOCAL_OP_FUSED, .dense = DENSE, .n = n, .c = c,       \
                        .inner = inner, .input = input, .weight = weight, .out = out, .grad_input = grad_input}; \
        a.TARGET_FIELD = target;                                                                                  \
        return compute(&a);                                                                                       \
    }

/* The counts per storage type, and the target gradient. */
#define FOCAL_DEFINE_COUNTS(SUFFIX, REAL, DTYPE)                                                                 \
    focal_status focal_counts_##SUFFIX(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,              \
                                       const int64_t *target, const REAL *weight, double counts[3])              \
    {                                                                                                             \
        const focal_args a = {.loss = loss, .dtype = DTYPE, .op = FOCAL_OP_COUNTS, .n = n, .c = c, .inner = inner, \
                              .target_index = target, .weight = weight, .counts = counts};                        \
        return compute(&a);                                                                                       \
    }                                                                                                             \
    focal_status focal_counts_dense_##SUFFIX(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,        \
                                             const REAL *target, const REAL *weight, double counts[3])           \
    {                                                                                                             \
        const focal_args a = {.loss = loss, .dtype = DTYPE, .op = FOCAL_OP_COUNTS, .dense = 1, .n = n, .c = c,    \
                              .inner = inner, .target_dense = target, .weight = weight, .counts = counts};       \
        return compute(&a);                                                                                       \
    }
#define FOCAL_DEFINE_TARGET(SUFFIX, REAL, DTYPE)                                                                 \
    focal_status focal_backward_target_dense_##SUFFIX(const focal_loss *loss, int64_t n, int64_t c, int64_t inner, \
                                                      const REAL *input, const REAL *target, const REAL *weight,  \
                                                      const REAL *grad_out, REAL *grad_target)                    \
    {                                                                                                             \
        const focal_args a = {.loss = loss, .dtype = DTYPE, .op = FOCAL_OP_TARGET, .dense = 1, .n = n, .c = c,    \
                              .inner = inner, .input = input, .target_dense = target, .weight = weight,           \
                              .grad_out = grad_out, .grad_target = grad_target};                                  \
        return compute(&a);                                                                                       \
    }

FOCAL_DEFINE_COUNTS(f32, float, FOCAL_F32)
FOCAL_DEFINE_COUNTS(f64, double, FOCAL_F64)
FOCAL_DEFINE_COUNTS(bf16, uint16_t, FOCAL_BF16)
FOCAL_DEFINE_COUNTS(f16, uint16_t, FOCAL_F16)
FOCAL_DEFINE_TARGET(f32, float, FOCAL_F32)
FOCAL_DEFINE_TARGET(f64, double, FOCAL_F64)

FOCAL_DEFINE(f32, float, FOCAL_F32, , int64_t, target_index, 0)
FOCAL_DEFINE(f32, float, FOCAL_F32, _dense, float, target_dense, 1)
FOCAL_DEFINE(f64, double, FOCAL_F64, , int64_t, target_index, 0)
FOCAL_DEFINE(f64, double, FOCAL_F64, _dense, double, target_dense, 1)
FOCAL_DEFINE(bf16, uint16_t, FOCAL_BF16, , int64_t, target_index, 0)
FOCAL_DEFINE(bf16, uint16_t, FOCAL_BF16, _dense, uint16_t, target_dense, 1)
FOCAL_DEFINE(f16, uint16_t, FOCAL_F16, , int64_t, target_index, 0)
FOCAL_DEFINE(f16, uint16_t, FOCAL_F16, _dense, uint16_t, target_dense, 1)
