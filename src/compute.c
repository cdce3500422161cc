/* The twelve compute entry points: each describes its call and hands it to
 * validation and the pipeline. */
#include "internal.h"

static focal_status compute(focal_call *call)
{
    focal_status s = focal_validate_call(call);
    if (s != FOCAL_OK)
        return s;
    s = focal_validate_data(call);
    if (s != FOCAL_OK)
        return s;
    return focal_pipeline_run(call);
}

#define FOCAL_CALL(loss_, dtype_, op_, n_, c_, inner_, input_, weight_)                  \
    {.loss = (loss_), .dtype = (dtype_), .op = (op_), .n = (n_), .c = (c_),                \
     .inner = (inner_), .input = (input_), .weight = (weight_)}

/* One definition per element type and target kind for the three ops. */
#define FOCAL_DEFINE(SUFFIX, REAL, DTYPE, KIND, TARGET_T, TARGET_FIELD, DENSE)                       \
    focal_status focal_forward##KIND##_##SUFFIX(                                                    \
        const focal_loss *loss, int64_t n, int64_t c, int64_t inner, const REAL *input,             \
        const TARGET_T *target, const REAL *weight, REAL *out)                                      \
    {                                                                                               \
        focal_call call = FOCAL_CALL(loss, DTYPE, FOCAL_OP_FORWARD, n, c, inner, input, weight);    \
        call.TARGET_FIELD = target;                                                                 \
        call.dense = DENSE;                                                                         \
        call.out = out;                                                                             \
        return compute(&call);                                                                      \
    }                                                                                               \
    focal_status focal_backward##KIND##_##SUFFIX(                                                   \
        const focal_loss *loss, int64_t n, int64_t c, int64_t inner, const REAL *input,             \
        const TARGET_T *target, const REAL *weight, const REAL *grad_out, REAL *grad_input)         \
    {                                                                                               \
        focal_call call = FOCAL_CALL(loss, DTYPE, FOCAL_OP_BACKWARD, n, c, inner, input, weight);   \
        call.TARGET_FIELD = target;                                                                 \
        call.dense = DENSE;                                                                         \
        call.grad_out = grad_out;                                                                   \
        call.grad_input = grad_input;                                                               \
        return compute(&call);                                                                      \
    }                                                                                               \
    focal_status focal_forward_backward##KIND##_##SUFFIX(                                           \
        const focal_loss *loss, int64_t n, int64_t c, int64_t inner, const REAL *input,             \
        const TARGET_T *target, const REAL *weight, REAL *out, REAL *grad_input)                    \
    {                                                                                               \
        focal_call call = FOCAL_CALL(loss, DTYPE, FOCAL_OP_FUSED, n, c, inner, input, weight);      \
        call.TARGET_FIELD = target;                                                                 \
        call.dense = DENSE;                                                                         \
        call.out = out;                                                                             \
        call.grad_input = grad_input;                                                               \
        return compute(&call);                                                                      \
    }

FOCAL_DEFINE(f32, float, FOCAL_F32, , int64_t, target_index, 0)
FOCAL_DEFINE(f32, float, FOCAL_F32, _dense, float, target_dense, 1)
FOCAL_DEFINE(f64, double, FOCAL_F64, , int64_t, target_index, 0)
FOCAL_DEFINE(f64, double, FOCAL_F64, _dense, double, target_dense, 1)
