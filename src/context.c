/* The loss context: creation, copies, and every setting with its domain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHECK_LOSS(loss, fn)                                                       \
    do {                                                                           \
        if ((loss) == NULL)                                                        \
            return focal_fail(FOCAL_ERROR_NULL_POINTER, fn ": loss is NULL");      \
    } while (0)

#define CHECK_GET(loss, out, fn)                                                   \
    do {                                                                           \
        CHECK_LOSS(loss, fn);                                                      \
        if ((out) == NULL)                                                         \
            return focal_fail(FOCAL_ERROR_NULL_POINTER, fn ": out is NULL");       \
    } while (0)

/* A heap copy of count doubles, or NULL. */
static double *copy_vector(const double *v, int64_t count)
{
    double *copy = malloc((size_t)count * sizeof(double));
    if (copy != NULL)
        memcpy(copy, v, (size_t)count * sizeof(double));
    return copy;
}

focal_status focal_loss_create(focal_loss **out, focal_mode mode)
{
    if (out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_loss_create: out is NULL");
    if (mode != FOCAL_MODE_SOFTMAX && mode != FOCAL_MODE_SIGMOID)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER,
                          "focal_loss_create: mode = %d is not a focal_mode", (int)mode);
    focal_loss *loss = calloc(1, sizeof *loss);
    if (loss == NULL)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "focal_loss_create: out of memory");
    loss->mode = mode;
    loss->gamma = 2.0;
    loss->alpha_kind = FOCAL_ALPHA_NONE;
    loss->reduction = FOCAL_REDUCTION_MEAN;
    loss->input = FOCAL_INPUT_LOGITS;
    loss->epsilon = 1e-7;
    loss->variant = FOCAL_VARIANT_FL;
    loss->divisor = 1.0;
    loss->soft_form = FOCAL_SOFT_TORCHVISION;
    loss->gamma_negative = 4.0;
    loss->clip = 0.05;
    *out = loss;
    return FOCAL_OK;
}

focal_status focal_loss_clone(const focal_loss *src, focal_loss **out)
{
    if (src == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_loss_clone: src is NULL");
    if (out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_loss_clone: out is NULL");
    focal_loss *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "focal_loss_clone: out of memory");
    *copy = *src;
    copy->alpha_vector = NULL;
    copy->pos_weight = NULL;
    if (src->alpha_kind == FOCAL_ALPHA_VECTOR &&
        (copy->alpha_vector = copy_vector(src->alpha_vector, src->alpha_count)) == NULL) {
        free(copy);
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "focal_loss_clone: out of memory");
    }
    if (src->pos_weight != NULL && (copy->pos_weight = copy_vector(src->pos_weight, src->pos_weight_count)) == NULL) {
        free(copy->alpha_vector);
        free(copy);
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "focal_loss_clone: out of memory");
    }
    *out = copy;
    return FOCAL_OK;
}

void focal_loss_destroy(focal_loss *loss)
{
    if (loss == NULL)
        return;
    free(loss->alpha_vector);
    free(loss->pos_weight);
    free(loss);
}

focal_status focal_loss_set_gamma(focal_loss *loss, double gamma)
{
    CHECK_LOSS(loss, "focal_loss_set_gamma");
    if (!isfinite(gamma) || gamma < 0)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER,
                          "gamma = %g is outside [0, inf) or not finite", gamma);
    loss->gamma = gamma;
    return FOCAL_OK;
}

focal_status focal_loss_set_alpha(focal_loss *loss, double alpha)
{
    CHECK_LOSS(loss, "focal_loss_set_alpha");
    if (!isfinite(alpha))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "alpha = %g is not finite", alpha);
    free(loss->alpha_vector);
    loss->alpha_vector = NULL;
    loss->alpha_count = 0;
    loss->alpha_kind = FOCAL_ALPHA_SCALAR;
    loss->alpha = alpha;
    return FOCAL_OK;
}

focal_status focal_loss_set_alpha_vector(focal_loss *loss, const double *alpha, int64_t count)
{
    CHECK_LOSS(loss, "focal_loss_set_alpha_vector");
    if (alpha == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_loss_set_alpha_vector: alpha is NULL");
    if (count < 1)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE,
                          "alpha vector count = %lld is less than 1", (long long)count);
    if ((uint64_t)count > SIZE_MAX / sizeof(double))
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE,
                          "alpha vector count = %lld is too large", (long long)count);
    for (int64_t i = 0; i < count; i++)
        if (!isfinite(alpha[i]))
            return focal_fail(FOCAL_ERROR_INVALID_PARAMETER,
                              "alpha[%lld] = %g is not finite", (long long)i, alpha[i]);
    double *copy = copy_vector(alpha, count);
    if (copy == NULL)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "focal_loss_set_alpha_vector: out of memory");
    free(loss->alpha_vector);
    loss->alpha_vector = copy;
    loss->alpha_count = count;
    loss->alpha_kind = FOCAL_ALPHA_VECTOR;
    loss->alpha = 0;
    return FOCAL_OK;
}

focal_status focal_loss_clear_alpha(focal_loss *loss)
{
    CHECK_LOSS(loss, "focal_loss_clear_alpha");
    free(loss->alpha_vector);
    loss->alpha_vector = NULL;
    loss->alpha_count = 0;
    loss->alpha_kind = FOCAL_ALPHA_NONE;
    loss->alpha = 0;
    return FOCAL_OK;
}

focal_status focal_loss_set_reduction(focal_loss *loss, focal_reduction r)
{
    CHECK_LOSS(loss, "focal_loss_set_reduction");
    if ((int)r < (int)FOCAL_REDUCTION_NONE || (int)r > (int)FOCAL_REDUCTION_DIVISOR)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER,
                          "reduction = %d is not a focal_reduction", (int)r);
    loss->reduction = r;
    return FOCAL_OK;
}

focal_status focal_loss_set_ignore_index(focal_loss *loss, int64_t index)
{
    CHECK_LOSS(loss, "focal_loss_set_ignore_index");
    loss->has_ignore_index = 1;
    loss->ignore_index = index;
    return FOCAL_OK;
}

focal_status focal_loss_clear_ignore_index(focal_loss *loss)
{
    CHECK_LOSS(loss, "focal_loss_clear_ignore_index");
    loss->has_ignore_index = 0;
    loss->ignore_index = 0;
    return FOCAL_OK;
}

focal_status focal_loss_set_input(focal_loss *loss, focal_input kind)
{
    CHECK_LOSS(loss, "focal_loss_set_input");
    if (kind != FOCAL_INPUT_LOGITS && kind != FOCAL_INPUT_PROBABILITIES)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "input = %d is not a focal_input", (int)kind);
    loss->input = kind;
    return FOCAL_OK;
}

focal_status focal_loss_set_epsilon(focal_loss *loss, double eps)
{
    CHECK_LOSS(loss, "focal_loss_set_epsilon");
    if (!(eps > 0 && eps < 0.5))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "epsilon = %g is outside (0, 0.5)", eps);
    loss->epsilon = eps;
    return FOCAL_OK;
}

focal_status focal_loss_set_label_smoothing(focal_loss *loss, double eps)
{
    CHECK_LOSS(loss, "focal_loss_set_label_smoothing");
    if (!(eps >= 0 && eps < 1))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER,
                          "label_smoothing = %g is outside [0, 1)", eps);
    loss->label_smoothing = eps;
    return FOCAL_OK;
}

focal_status focal_loss_set_variant(focal_loss *loss, focal_variant v)
{
    CHECK_LOSS(loss, "focal_loss_set_variant");
    if ((int)v < (int)FOCAL_VARIANT_FL || (int)v > (int)FOCAL_VARIANT_ASL)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "variant = %d is not a focal_variant", (int)v);
    loss->variant = v;
    return FOCAL_OK;
}

focal_status focal_loss_set_beta(focal_loss *loss, double beta)
{
    CHECK_LOSS(loss, "focal_loss_set_beta");
    if (!isfinite(beta))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "beta = %g is not finite", beta);
    loss->beta = beta;
    return FOCAL_OK;
}

focal_status focal_loss_set_threads(focal_loss *loss, int threads)
{
    CHECK_LOSS(loss, "focal_loss_set_threads");
    if (threads < 0)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "threads = %d is negative", threads);
    loss->threads = threads;
    return FOCAL_OK;
}

focal_status focal_loss_set_gamma_negative(focal_loss *loss, double gamma)
{
    CHECK_LOSS(loss, "focal_loss_set_gamma_negative");
    if (!isfinite(gamma) || gamma < 0)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "gamma_negative = %g is outside [0, inf) or not finite",
                          gamma);
    loss->gamma_negative = gamma;
    return FOCAL_OK;
}

focal_status focal_loss_set_clip(focal_loss *loss, double clip)
{
    CHECK_LOSS(loss, "focal_loss_set_clip");
    if (!(clip >= 0 && clip < 1))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "clip = %g is outside [0, 1)", clip);
    loss->clip = clip;
    return FOCAL_OK;
}

focal_status focal_loss_set_poly_epsilon(focal_loss *loss, double epsilon)
{
    CHECK_LOSS(loss, "focal_loss_set_poly_epsilon");
    if (!isfinite(epsilon))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "poly epsilon = %g is not finite", epsilon);
    loss->poly_epsilon = epsilon;
    return FOCAL_OK;
}

focal_status focal_loss_set_divisor(focal_loss *loss, double divisor)
{
    CHECK_LOSS(loss, "focal_loss_set_divisor");
    if (!isfinite(divisor) || divisor < 0)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "divisor = %g is outside [0, inf) or not finite", divisor);
    loss->divisor = divisor;
    return FOCAL_OK;
}

focal_status focal_loss_set_soft_form(focal_loss *loss, focal_soft_form form)
{
    CHECK_LOSS(loss, "focal_loss_set_soft_form");
    if (form != FOCAL_SOFT_TORCHVISION && form != FOCAL_SOFT_SPLIT)
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "soft form = %d is not a focal_soft_form", (int)form);
    loss->soft_form = form;
    return FOCAL_OK;
}

focal_status focal_loss_set_pos_weight_vector(focal_loss *loss, const double *pos_weight, int64_t count)
{
    CHECK_LOSS(loss, "focal_loss_set_pos_weight_vector");
    if (pos_weight == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_loss_set_pos_weight_vector: pos_weight is NULL");
    if (count < 1)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "pos_weight vector count = %lld is less than 1", (long long)count);
    if ((uint64_t)count > SIZE_MAX / sizeof(double))
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "pos_weight vector count = %lld is too large", (long long)count);
    for (int64_t i = 0; i < count; i++)
        if (!isfinite(pos_weight[i]) || pos_weight[i] < 0)
            return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "pos_weight[%lld] = %g is negative or not finite",
                              (long long)i, pos_weight[i]);
    double *copy = copy_vector(pos_weight, count);
    if (copy == NULL)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "focal_loss_set_pos_weight_vector: out of memory");
    free(loss->pos_weight);
    loss->pos_weight = copy;
    loss->pos_weight_count = count;
    return FOCAL_OK;
}

focal_status focal_loss_clear_pos_weight(focal_loss *loss)
{
    CHECK_LOSS(loss, "focal_loss_clear_pos_weight");
    free(loss->pos_weight);
    loss->pos_weight = NULL;
    loss->pos_weight_count = 0;
    return FOCAL_OK;
}

#define FOCAL_GETTER(name, type, field)                                        \
    focal_status focal_loss_get_##name(const focal_loss *loss, type *out)      \
    {                                                                          \
        CHECK_GET(loss, out, "focal_loss_get_" #name);                         \
        *out = loss->field;                                                    \
        return FOCAL_OK;                                                       \
    }

FOCAL_GETTER(mode, focal_mode, mode)
FOCAL_GETTER(gamma, double, gamma)
FOCAL_GETTER(reduction, focal_reduction, reduction)
FOCAL_GETTER(input, focal_input, input)
FOCAL_GETTER(epsilon, double, epsilon)
FOCAL_GETTER(label_smoothing, double, label_smoothing)
FOCAL_GETTER(variant, focal_variant, variant)
FOCAL_GETTER(beta, double, beta)
FOCAL_GETTER(threads, int, threads)
FOCAL_GETTER(divisor, double, divisor)
FOCAL_GETTER(gamma_negative, double, gamma_negative)
FOCAL_GETTER(clip, double, clip)
FOCAL_GETTER(poly_epsilon, double, poly_epsilon)
FOCAL_GETTER(soft_form, focal_soft_form, soft_form)
FOCAL_GETTER(pos_weight_count, int64_t, pos_weight_count)

focal_status focal_loss_get_pos_weight_vector(const focal_loss *loss, double *out, int64_t count)
{
    CHECK_GET(loss, out, "focal_loss_get_pos_weight_vector");
    if (loss->pos_weight == NULL)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "focal_loss_get_pos_weight_vector: no pos_weight vector is set");
    if (count != loss->pos_weight_count)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE,
                          "focal_loss_get_pos_weight_vector: count = %lld differs from the vector's length %lld",
                          (long long)count, (long long)loss->pos_weight_count);
    memcpy(out, loss->pos_weight, (size_t)count * sizeof(double));
    return FOCAL_OK;
}

focal_status focal_loss_get_alpha(const focal_loss *loss, double *out)
{
    CHECK_GET(loss, out, "focal_loss_get_alpha");
    if (loss->alpha_kind != FOCAL_ALPHA_SCALAR)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "focal_loss_get_alpha: no scalar alpha is set");
    *out = loss->alpha;
    return FOCAL_OK;
}

focal_status focal_loss_get_alpha_count(const focal_loss *loss, int64_t *out)
{
    CHECK_GET(loss, out, "focal_loss_get_alpha_count");
    *out = loss->alpha_kind == FOCAL_ALPHA_VECTOR ? loss->alpha_count : 0;
    return FOCAL_OK;
}

focal_status focal_loss_get_alpha_vector(const focal_loss *loss, double *out, int64_t count)
{
    CHECK_GET(loss, out, "focal_loss_get_alpha_vector");
    if (loss->alpha_kind != FOCAL_ALPHA_VECTOR)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "focal_loss_get_alpha_vector: no alpha vector is set");
    if (count != loss->alpha_count)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE,
                          "focal_loss_get_alpha_vector: count = %lld differs from the vector's length %lld",
                          (long long)count, (long long)loss->alpha_count);
    memcpy(out, loss->alpha_vector, (size_t)count * sizeof(double));
    return FOCAL_OK;
}

focal_status focal_loss_get_ignore_index(const focal_loss *loss, int64_t *out)
{
    CHECK_GET(loss, out, "focal_loss_get_ignore_index");
    if (!loss->has_ignore_index)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "focal_loss_get_ignore_index: no ignore_index is set");
    *out = loss->ignore_index;
    return FOCAL_OK;
}
