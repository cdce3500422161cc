/* The plan of a compute call: pointers, shape and settings checked, every
 * setting resolved, then the pre-pass over targets and weights (through
 * the driver and the table's scan kernel), which rejects bad values and
 * sums what the reduction divides by. Nothing is written before all of
 * it has passed, so a failing call leaves every output as it was; and
 * knowing the denominator before the main pass lets the fused call write
 * the final gradient in the pass that computes the loss. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/driver.h"
#include "kernels/kernels.h"
#include "plan.h"
#include "stages/reduce.h"

static const char *const op_names[] = {"forward", "backward", "forward_backward", "counts", "backward_target"};

static focal_status check_pointers(const focal_args *a)
{
    const char *op = op_names[a->op];
    if (a->loss == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: loss is NULL", op);
    if (a->op != FOCAL_OP_COUNTS && a->input == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: input is NULL", op);
    if (a->target_index == NULL && a->target_dense == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: target is NULL", op);
    if (a->op == FOCAL_OP_FORWARD && a->out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: out is NULL", op);
    if (a->op == FOCAL_OP_BACKWARD && a->grad_out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: grad_out is NULL", op);
    if (a->op == FOCAL_OP_BACKWARD && a->grad_input == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: grad_input is NULL", op);
    if (a->op == FOCAL_OP_TARGET && a->grad_out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: grad_out is NULL", op);
    if (a->op == FOCAL_OP_TARGET && a->grad_target == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: grad_target is NULL", op);
    if (a->op == FOCAL_OP_COUNTS && a->counts == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: counts is NULL", op);
    return FOCAL_OK;
}

static focal_status check_shape(const focal_args *a)
{
    if (a->n < 0)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "n = %lld is negative", (long long)a->n);
    if (a->c < 1)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "c = %lld is less than 1", (long long)a->c);
    if (a->inner < 0)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "inner = %lld is negative", (long long)a->inner);
    /* Every index and byte count of the tensor and of the per-position
     * arrays (at most 8 bytes an element) must fit in int64_t and size_t;
     * an empty tensor (n or inner 0) has none. */
    const uint64_t limit = (uint64_t)(SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX) / 8;
    const uint64_t total = (uint64_t)a->n;
    if (a->n > 0 && a->inner > 0 &&
        (total > limit / (uint64_t)a->c || total * (uint64_t)a->c > limit / (uint64_t)a->inner))
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "n * c * inner = %lld * %lld * %lld overflows", (long long)a->n,
                          (long long)a->c, (long long)a->inner);
    if (a->loss->alpha_kind == FOCAL_ALPHA_VECTOR && a->loss->alpha_count != a->c)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "alpha vector length %lld differs from c = %lld",
                          (long long)a->loss->alpha_count, (long long)a->c);
    if (a->loss->pos_weight != NULL && a->loss->pos_weight_count != a->c)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "pos_weight vector length %lld differs from c = %lld",
                          (long long)a->loss->pos_weight_count, (long long)a->c);
    return FOCAL_OK;
}

static const char *const variant_names[] = {"FL", "FL_STAR", "QFL", "VFL", "ASL"};

/* The 1.1 variants' and Poly-1's fit with the other settings and the call. */
static focal_status check_family(const focal_args *a)
{
    const focal_loss *loss = a->loss;
    const focal_variant v = loss->variant;
    const char *name = variant_names[v];
    if (v >= FOCAL_VARIANT_QFL) {
        if (loss->mode == FOCAL_MODE_SOFTMAX)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant %s is for sigmoid mode only", name);
        if (loss->input == FOCAL_INPUT_PROBABILITIES)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant %s takes logits, not probabilities input", name);
    }
    if (v == FOCAL_VARIANT_QFL && loss->gamma > 0 && loss->gamma < 1)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE,
                          "variant QFL needs gamma 0 or >= 1 (gamma = %g: its gradient is unbounded at p = y)",
                          loss->gamma);
    if (v == FOCAL_VARIANT_VFL) {
        if (loss->alpha_kind == FOCAL_ALPHA_VECTOR)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant VFL takes a scalar alpha, not an alpha vector");
        if (loss->label_smoothing > 0)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant VFL does not take label smoothing");
        if (loss->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant VFL does not take reduction WEIGHTED_MEAN");
    }
    if (v == FOCAL_VARIANT_ASL && loss->clip > 0 && loss->gamma_negative > 0 && loss->gamma_negative < 1)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE,
                          "variant ASL with clip > 0 needs gamma_negative 0 or >= 1 (gamma_negative = %g: its "
                          "gradient is unbounded at p = clip)",
                          loss->gamma_negative);
    if (loss->poly_epsilon != 0) {
        if (v != FOCAL_VARIANT_FL)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a poly epsilon is for variant FL only (variant %s)", name);
        if (loss->mode == FOCAL_MODE_SOFTMAX && a->dense)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a poly epsilon takes index targets in softmax mode, "
                                                        "not dense targets");
        if (loss->mode == FOCAL_MODE_SOFTMAX && loss->label_smoothing > 0)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a poly epsilon does not take label smoothing in softmax mode");
        if (loss->soft_form == FOCAL_SOFT_SPLIT)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a poly epsilon does not take soft form SPLIT");
        if (loss->pos_weight != NULL)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a poly epsilon does not take a pos_weight vector");
    }
    return FOCAL_OK;
}

static focal_status check_settings(const focal_args *a)
{
    const focal_loss *loss = a->loss;
    /* The soft-target forms and pos_weight are sigmoid FL's. */
    if (loss->soft_form == FOCAL_SOFT_SPLIT && loss->mode == FOCAL_MODE_SOFTMAX)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "soft form SPLIT is for sigmoid mode only");
    if (loss->pos_weight != NULL && loss->mode == FOCAL_MODE_SOFTMAX)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a pos_weight vector is for sigmoid mode only");
    if (loss->soft_form == FOCAL_SOFT_SPLIT && loss->variant != FOCAL_VARIANT_FL)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "soft form SPLIT is for variant FL only");
    if (loss->pos_weight != NULL && loss->variant != FOCAL_VARIANT_FL)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "a pos_weight vector is for variant FL only");
    if (loss->mode == FOCAL_MODE_SOFTMAX) {
        if (loss->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "reduction SUM_OVER_POSITIVES is for sigmoid mode only");
        if (loss->variant == FOCAL_VARIANT_FL_STAR)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant FL_STAR is for sigmoid mode only");
        return check_family(a);
    }
    if (loss->variant == FOCAL_VARIANT_FL_STAR && loss->input == FOCAL_INPUT_PROBABILITIES)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant FL_STAR takes logits, not probabilities input");
    if (loss->variant == FOCAL_VARIANT_FL_STAR && loss->gamma == 0)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant FL_STAR needs gamma > 0 (gamma = 0)");
    return check_family(a);
}

/* Rounds to the nearest float. Through a volatile so that no optimiser
 * folds the round trip away. */
static double round_to_float(double v)
{
    volatile float f = (float)v;
    return f;
}

/* v times 2^-e for the exponent e of the scale m (> 0; m 2^-e in [1, 2)),
 * in two exact steps: 2^-e itself overflows for a subnormal m. */
static double unit_scaled(double v, double m)
{
    const int e = ilogb(m);
    return ldexp(ldexp(v, -e / 2), -(e - e / 2));
}

/* WEIGHTED_MEAN's sums far from 1 (see focal_plan): from 2^32 on, or below
 * 2^-32, they are scaled. */
#define SCALE_ABOVE 0x1p32
#define SCALE_BELOW 0x1p-32

/* WEIGHTED_MEAN = sum(w alpha_t loss) / sum(w alpha_t) does not change
 * when alpha is scaled (every variant that takes WEIGHTED_MEAN multiplies
 * by alpha_t, which is linear in alpha; the sigmoid's 1 - a becomes
 * alpha_one - a). An alpha far from 1 is scaled to about 1, so that
 * w alpha_t and the sums stay far from overflow and from subnormals.
 * Poly-1's term is not multiplied by alpha_t: with it nothing is scaled.
 * The counts (focal_counts_*) are scaled under every reduction and
 * variant, and sum(w alpha_t) is scaled back at the end (alpha_exp): with
 * an alpha of +-DBL_MAX the positives' and negatives' terms would
 * otherwise overflow to infinities of both signs and a NaN. */
static focal_status scale_alpha(focal_plan *p)
{
    const focal_loss *loss = p->a.loss;
    const double m = p->alpha_scale;
    const int counts = p->a.op == FOCAL_OP_COUNTS;
    if ((loss->reduction != FOCAL_REDUCTION_WEIGHTED_MEAN && !counts) || p->alpha_kind == FOCAL_ALPHA_NONE ||
        ((p->poly != 0 || p->variant == FOCAL_VARIANT_VFL) && !counts) || (m <= SCALE_ABOVE && m >= SCALE_BELOW))
        return FOCAL_OK;
    p->alpha_exp = ilogb(m);
    if (p->alpha_v != NULL) {
        const int64_t c = p->a.c;
        p->alpha_owned = malloc((size_t)c * sizeof(double));
        if (p->alpha_owned == NULL)
            return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "out of memory for a scaled alpha vector of %lld",
                              (long long)c);
        for (int64_t j = 0; j < c; j++)
            p->alpha_owned[j] = unit_scaled(p->alpha_v[j], m);
        p->alpha_v = p->alpha_owned;
    }
    p->alpha_s = unit_scaled(p->alpha_s, m);
    p->alpha_one = unit_scaled(1.0, m);   /* sigmoid only: there m >= 1/2 */
    p->alpha_scale = unit_scaled(m, m);
    return FOCAL_OK;
}

/* Everything the kernels read, from the context and the call. */
static focal_status resolve(focal_plan *p)
{
    const focal_loss *loss = p->a.loss;
    p->sigmoid = loss->mode == FOCAL_MODE_SIGMOID;
    p->dense = p->a.dense;
    p->probabilities = loss->input == FOCAL_INPUT_PROBABILITIES;
    p->fl_star = loss->variant == FOCAL_VARIANT_FL_STAR;
    p->variant = loss->variant;
    p->gamma_neg = loss->gamma_negative;
    p->clip = loss->clip;
    /* The logit where p is the clip, less a margin far wider than the
     * error of a computed p in relative terms (p's slope there is p (1 -
     * p), at least p / 2; a normal clip keeps p's error relative). */
    p->asl_dead = -INFINITY;
    if (p->variant == FOCAL_VARIANT_ASL && p->clip >= 0x1p-1000 && p->clip <= 0.5) {
        const double at_clip = log(p->clip) - log1p(-p->clip);
        p->asl_dead = at_clip - 1e-6 * (1.0 + fabs(at_clip));
    }
    p->poly = loss->poly_epsilon;
    p->ls = loss->label_smoothing;
    p->smoothed = p->ls > 0;
    p->reduced = loss->reduction != FOCAL_REDUCTION_NONE;
    p->want_loss = p->a.out != NULL && (p->a.op == FOCAL_OP_FORWARD || p->a.op == FOCAL_OP_FUSED);
    p->want_grad = p->a.grad_input != NULL && (p->a.op == FOCAL_OP_BACKWARD || p->a.op == FOCAL_OP_FUSED);
    p->out_each = p->want_loss && !p->reduced;
    p->up_each = !p->reduced && (p->a.op == FOCAL_OP_BACKWARD || p->a.op == FOCAL_OP_TARGET);
    p->empty = p->a.n == 0 || p->a.inner == 0;
    p->split = p->sigmoid && loss->soft_form == FOCAL_SOFT_SPLIT;
    p->pos_weight = loss->pos_weight;
    /* Gradients of 16 MiB or more cannot stay in cache anyway. */
    p->stream = p->want_grad && p->a.n * p->a.c * p->a.inner * (int64_t)focal_dtype_size(p->a.dtype) >= (16 << 20);
    p->gamma = loss->gamma;
    p->beta = loss->beta;
    if (p->a.dtype != FOCAL_F64) {
        /* Clip exactly where a float32 framework clips, but strictly
         * inside (0, 1): an epsilon below half a float ulp of 1 would
         * otherwise leave 1 - epsilon == 1 and log(1 - p) = -inf. The
         * half types compute as float32 does, so they clip there too. */
        p->clip_lo = fmax(round_to_float(loss->epsilon), 0x1p-149);
        p->clip_hi = fmin(round_to_float(1.0 - loss->epsilon), 1.0 - 0x1p-24);
    } else {
        p->clip_lo = loss->epsilon;
        p->clip_hi = fmin(1.0 - loss->epsilon, 1.0 - 0x1p-53);
    }
    p->alpha_kind = loss->alpha_kind;
    p->alpha_v = loss->alpha_kind == FOCAL_ALPHA_VECTOR ? loss->alpha_vector : NULL;
    p->alpha_s = loss->alpha_kind == FOCAL_ALPHA_SCALAR ? loss->alpha : 1.0;
    p->has_ignore = loss->has_ignore_index;
    p->ignore = loss->ignore_index;
    const int64_t c = p->a.c;
    if (p->sigmoid) {
        p->y_neg = p->ls / 2;
        p->y_pos = 1 - p->ls + p->ls / 2;
    } else {
        p->y_neg = p->ls / (double)c;
        p->y_pos = 1 - p->ls + p->ls / (double)c;
    }
    /* The largest |alpha_t| a class can have: |alpha_c| (softmax), the
     * larger of |a| and |1 - a| over y in [0, 1] (sigmoid). */
    double scale = 0, background = 0;
    for (int64_t j = 0; j < (p->alpha_v != NULL ? c : 1); j++) {
        const double a = p->alpha_v != NULL ? p->alpha_v[j] : p->alpha_s;
        const double m = p->sigmoid && p->alpha_kind != FOCAL_ALPHA_NONE ? fmax(fabs(a), fabs(1 - a)) : fabs(a);
        scale = fmax(scale, m);
    }
    p->alpha_scale = scale > 0 ? scale : 1.0;
    p->alpha_one = 1.0;
    const focal_status s = scale_alpha(p);
    if (s != FOCAL_OK)
        return s;
    p->need_weight_alpha = loss->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN || p->a.op == FOCAL_OP_COUNTS;
    if (p->sigmoid && p->need_weight_alpha) {
        for (int64_t j = 0; j < c; j++) {
            if (p->alpha_kind == FOCAL_ALPHA_NONE) {
                background += 1.0;
                continue;
            }
            const double a = p->alpha_v != NULL ? p->alpha_v[j] : p->alpha_s;
            background += a * p->y_neg + (p->alpha_one - a) * (1 - p->y_neg);
        }
    }
    p->alpha_background = background;
    return FOCAL_OK;
}

/* The weights' half of the scaling (see scale_alpha): WEIGHTED_MEAN does
 * not change when every weight is scaled, and weights from 2^32 on are
 * scaled so that the largest is about 1, into a copy the plan owns. The
 * pre-pass runs again on the copy. */
static focal_status scale_weights(focal_plan *p, focal_sums *sums)
{
    /* Only float64 weights can come near overflow: every table computes in
     * double, and float32 and the half types hold no weight above 2^128
     * (scaling them in their own storage would also round the small ones
     * differently from the float32 call on the same values). */
    if (p->a.loss->reduction != FOCAL_REDUCTION_WEIGHTED_MEAN || p->a.op == FOCAL_OP_COUNTS ||
        p->a.dtype != FOCAL_F64 || p->a.weight == NULL || !(sums->weight_max > SCALE_ABOVE))
        return FOCAL_OK;
    const double m = sums->weight_max, *w = p->a.weight;
    const int64_t positions = p->a.n * p->a.inner;
    double *copy = malloc((size_t)positions * sizeof(double));
    if (copy == NULL)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "out of memory for %lld scaled weights", (long long)positions);
    for (int64_t i = 0; i < positions; i++)
        copy[i] = unit_scaled(w[i], m);
    p->weight_owned = copy;
    p->a.weight = copy;
    const int64_t values = positions * (p->a.dense ? p->a.c : 1);
    return focal_drive(p, p->k->scan, focal_workers_for(p->a.loss, values, &p->tiling), 0, sums);
}

void focal_plan_release(focal_plan *p)
{
    free(p->alpha_owned);
    free(p->weight_owned);
    p->alpha_owned = NULL;
    p->weight_owned = NULL;
}

/* The gradient's multipliers, from the denominator and the upstream. */
static void scale(focal_plan *p, const focal_sums *sums)
{
    const focal_loss *loss = p->a.loss;
    p->count = sums->count;
    p->weight_alpha = sums->weight_alpha;
    p->positives = sums->positives;
    p->denominator = st_denominator(loss->reduction, p->count, p->weight_alpha, p->positives, loss->divisor);
    p->zero = p->reduced && p->denominator == 0;
    p->upstream = (p->a.op == FOCAL_OP_BACKWARD || p->a.op == FOCAL_OP_TARGET) && p->reduced
                      ? p->k->load1(p->a.grad_out, 0)
                      : 1.0;
    /* One division per call; a denominator below 2^-900 is divided per
     * position instead, after the weights and alphas that keep the
     * quotient bounded. */
    p->tiny = p->reduced && !p->zero && fabs(p->denominator) < 0x1p-900;
    p->divided = p->tiny && !p->sigmoid && (p->dense || p->smoothed);
    p->factor = p->reduced ? (p->zero || p->tiny ? 0.0 : p->upstream / p->denominator) : 1.0;
}

/* The target gradient's coefficients. Where the denominator depends on the
 * targets (WEIGHTED_MEAN's sum(w alpha_t), SUM_OVER_POSITIVES' max(1, P)
 * for P >= 1), its derivative enters times the reduced sum S, which a
 * forward pass of the loss gives first. */
static focal_status target_terms(focal_plan *p)
{
    const focal_reduction r = p->a.loss->reduction;
    int kind = 0;
    if (r == FOCAL_REDUCTION_WEIGHTED_MEAN && (!p->sigmoid || p->alpha_kind != FOCAL_ALPHA_NONE))
        kind = 1;
    else if (r == FOCAL_REDUCTION_SUM_OVER_POSITIVES && p->positives >= 1)
        kind = 2;
    /* Under a tiny denominator the kernels divide each entry by it last
     * (1 / denominator may overflow where the entry does not). */
    p->tg_loss = !p->reduced ? 1.0 : p->zero ? 0.0 : p->tiny ? p->upstream : p->upstream / p->denominator;
    if (kind == 0 || p->zero)
        return FOCAL_OK;
    focal_sums sums;
    const focal_status s =
        focal_drive(p, p->sigmoid ? p->k->sigmoid : p->k->softmax, p->workers, p->scratch_bytes, &sums);
    if (s != FOCAL_OK)
        return s;
    p->tg_den_kind = kind;
    p->tg_share = p->divided ? sums.loss : sums.loss / p->denominator;
    return FOCAL_OK;
}

focal_status focal_plan_build(const focal_args *args, focal_plan *p)
{
    memset(p, 0, sizeof *p);
    p->a = *args;
    focal_status s = check_pointers(args);
    if (s == FOCAL_OK)
        s = check_shape(args);
    if (s == FOCAL_OK)
        s = check_settings(args);
    if (s != FOCAL_OK)
        return s;
    s = resolve(p);
    if (s != FOCAL_OK)
        return s;
    p->k = focal_kernels_for(args->dtype);
    focal_tiling_init(&p->tiling, args->n, args->c, args->inner);

    /* The pre-pass. */
    const int64_t values = args->n * args->inner * (args->dense ? args->c : 1);
    focal_sums sums;
    s = focal_drive(p, p->k->scan, focal_workers_for(args->loss, values, &p->tiling), 0, &sums);
    if (s == FOCAL_ERROR_INVALID_WEIGHT)
        return focal_fail(s, "weight[%lld] = %g is negative or not finite", (long long)sums.bad_index, sums.bad_value);
    if (s == FOCAL_ERROR_INVALID_TARGET && args->dense)
        return focal_fail(s, "target[%lld] = %g is outside [0, 1] or not finite", (long long)sums.bad_index,
                          sums.bad_value);
    if (s == FOCAL_ERROR_INVALID_TARGET)
        return focal_fail(s, "target[%lld] = %lld is outside [0, %lld)%s", (long long)sums.bad_index,
                          (long long)sums.bad_class, (long long)(p->sigmoid ? args->c + 1 : args->c),
                          p->has_ignore ? " and is not ignore_index" : "");
    if (s == FOCAL_OK)
        s = scale_weights(p, &sums);
    if (s != FOCAL_OK)
        return s;
    scale(p, &sums);
    if (args->op == FOCAL_OP_COUNTS)
        return FOCAL_OK;

    /* The main pass's workers and scratch. */
    p->workers = focal_workers_for(args->loss, args->n * args->c * args->inner, &p->tiling);
    p->scratch_bytes = focal_kernels_scratch(p, p->tiling.rows);
    if (p->scratch_bytes == 0 && !p->sigmoid)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "the tile buffers for c = %lld do not fit in memory",
                          (long long)args->c);
    return args->op == FOCAL_OP_TARGET ? target_terms(p) : FOCAL_OK;
}
