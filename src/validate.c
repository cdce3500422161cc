/* Validation: everything is checked before the first write, so a failing
 * call leaves every output as it was. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

static const char *const op_names[] = {"forward", "backward", "forward_backward"};

static focal_status check_shape(const focal_call *call)
{
    const char *names[3] = {"n", "c", "inner"};
    const int64_t dims[3] = {call->n, call->c, call->inner};
    for (int i = 0; i < 3; i++)
        if (dims[i] < 1)
            return focal_fail(FOCAL_ERROR_INVALID_SHAPE, "%s = %lld is less than 1", names[i],
                              (long long)dims[i]);
    /* Every index and byte count of the tensor and of the per-position
     * arrays (at most 8 bytes an element) must fit in int64_t and size_t. */
    const uint64_t limit = (uint64_t)(SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX) / 8;
    const uint64_t total = (uint64_t)call->n;
    if (total > limit / (uint64_t)call->c || total * (uint64_t)call->c > limit / (uint64_t)call->inner)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE,
                          "n * c * inner = %lld * %lld * %lld overflows", (long long)call->n,
                          (long long)call->c, (long long)call->inner);
    if (call->loss->alpha_kind == FOCAL_ALPHA_VECTOR && call->loss->alpha_count != call->c)
        return focal_fail(FOCAL_ERROR_INVALID_SHAPE,
                          "alpha vector length %lld differs from c = %lld",
                          (long long)call->loss->alpha_count, (long long)call->c);
    return FOCAL_OK;
}

static focal_status check_settings(const focal_call *call)
{
    const focal_loss *loss = call->loss;
    if (loss->mode == FOCAL_MODE_SOFTMAX) {
        if (loss->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE,
                              "reduction SUM_OVER_POSITIVES is for sigmoid mode only");
        if (loss->variant == FOCAL_VARIANT_FL_STAR)
            return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant FL_STAR is for sigmoid mode only");
        return FOCAL_OK;
    }
    if (loss->variant == FOCAL_VARIANT_FL_STAR && loss->input == FOCAL_INPUT_PROBABILITIES)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE,
                          "variant FL_STAR takes logits, not probabilities input");
    if (loss->variant == FOCAL_VARIANT_FL_STAR && loss->gamma == 0)
        return focal_fail(FOCAL_ERROR_INCOMPATIBLE, "variant FL_STAR needs gamma > 0 (gamma = 0)");
    return FOCAL_OK;
}

/* Rounds to the nearest float. Through a volatile so that no optimiser
 * folds the round trip away: gcc 12 at -O2 drops (double)(float)x here. */
static double round_to_float(double v)
{
    volatile float f = (float)v;
    return f;
}

focal_status focal_validate_call(focal_call *call)
{
    const char *op = op_names[call->op];
    if (call->loss == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: loss is NULL", op);
    if (call->input == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: input is NULL", op);
    if (call->target_index == NULL && call->target_dense == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: target is NULL", op);
    if (call->op == FOCAL_OP_FORWARD && call->out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: out is NULL", op);
    if (call->op == FOCAL_OP_BACKWARD && call->grad_out == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: grad_out is NULL", op);
    if (call->op == FOCAL_OP_BACKWARD && call->grad_input == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "%s: grad_input is NULL", op);

    focal_status s = check_shape(call);
    if (s != FOCAL_OK)
        return s;
    s = check_settings(call);
    if (s != FOCAL_OK)
        return s;

    const focal_loss *loss = call->loss;
    call->sigmoid = loss->mode == FOCAL_MODE_SIGMOID;
    call->reduced = loss->reduction != FOCAL_REDUCTION_NONE;
    call->want_loss = call->out != NULL && call->op != FOCAL_OP_BACKWARD;
    call->want_grad = call->grad_input != NULL && call->op != FOCAL_OP_FORWARD;
    call->probabilities = loss->input == FOCAL_INPUT_PROBABILITIES;
    if (call->dtype == FOCAL_F32) {
        /* Clip exactly where a float32 framework clips, but strictly
         * inside (0, 1): an epsilon below half a float ulp of 1 would
         * otherwise leave 1 - epsilon == 1 and log(1 - p) = -inf. */
        call->clip_lo = fmax(round_to_float(loss->epsilon), 0x1p-149);
        call->clip_hi = fmin(round_to_float(1.0 - loss->epsilon), 1.0 - 0x1p-24);
    } else {
        call->clip_lo = loss->epsilon;
        call->clip_hi = fmin(1.0 - loss->epsilon, 1.0 - 0x1p-53);
    }
    call->has_alpha = loss->alpha_kind != FOCAL_ALPHA_NONE;
    call->alpha_c = loss->alpha_kind == FOCAL_ALPHA_VECTOR ? loss->alpha_vector : NULL;
    call->alpha_s = loss->alpha_kind == FOCAL_ALPHA_SCALAR ? loss->alpha : 1.0;
    /* The magnitude gradients are normalised by (pipeline.c): the largest
     * |alpha_c| (softmax) or |alpha_t| over y in [0, 1], i.e. the larger of
     * |a| and |1 - a| (sigmoid). */
    double scale = 0;
    for (int64_t j = 0; j < (call->alpha_c != NULL ? call->c : 1); j++) {
        const double a = call->alpha_c != NULL ? call->alpha_c[j] : call->alpha_s;
        const double m = call->sigmoid && call->has_alpha ? fmax(fabs(a), fabs(1 - a)) : fabs(a);
        scale = fmax(scale, m);
    }
    call->alpha_scale = scale > 0 ? scale : 1.0;
    return FOCAL_OK;
}

/* ---- the data pre-pass ------------------------------------------------- */

typedef struct prepass_chunk {
    focal_status status;
    int64_t bad_index;         /* flat index of the offending value */
    double bad_value;          /* weights and dense targets */
    int64_t bad_class;         /* index targets */
    double count, weight_alpha_sum, positives;
} prepass_chunk;

typedef struct prepass {
    const focal_call *call;
    const focal_tiling *tiling;
    prepass_chunk *chunks;
} prepass;

static int bad_weight(double w) { return !(w >= 0) || !isfinite(w); }

/* Scans n dense targets for values outside [0, 1] (NaN included) and sums
 * them. The scan runs in blocks whose inner loops have no early exit, so
 * the compiler vectorises them; the sum is over fixed blocks, so it does
 * not depend on how the tensor is split between threads. Returns the index
 * of the first bad value, or -1. */
#define FOCAL_SCAN_BLOCK 256
#define FOCAL_DEFINE_SCAN(NAME, REAL)                                                   \
    static int64_t NAME(const REAL *y, int64_t n, double *sum)                         \
    {                                                                                   \
        double total = 0;                                                               \
        for (int64_t b = 0; b < n; b += FOCAL_SCAN_BLOCK) {                             \
            const int64_t e = n - b < FOCAL_SCAN_BLOCK ? n - b : FOCAL_SCAN_BLOCK;      \
            const REAL *v = y + b;                                                      \
            int ok = 1;                                                                 \
            REAL part[8] = {0};                                                         \
            int64_t i = 0;                                                              \
            for (; i + 8 <= e; i += 8)                                                  \
                for (int k = 0; k < 8; k++) {                                           \
                    ok &= (v[i + k] >= 0) & (v[i + k] <= 1);                            \
                    part[k] += v[i + k];                                                \
                }                                                                       \
            for (; i < e; i++) {                                                        \
                ok &= (v[i] >= 0) & (v[i] <= 1);                                        \
                part[0] += v[i];                                                        \
            }                                                                           \
            if (!ok) {                                                                  \
                for (i = 0; i < e; i++)                                                 \
                    if (!(v[i] >= 0 && v[i] <= 1))                                      \
                        return b + i;                                                   \
            }                                                                           \
            for (int k = 0; k < 8; k++)                                                 \
                total += (double)part[k];                                               \
        }                                                                               \
        *sum += total;                                                                  \
        return -1;                                                                      \
    }
FOCAL_DEFINE_SCAN(scan_dense_f32, float)
FOCAL_DEFINE_SCAN(scan_dense_f64, double)

/* The dense targets of one tile: contiguous for inner == 1, one run of
 * `rows` values per class otherwise. */
static int64_t scan_dense_tile(const focal_call *call, int64_t image, int64_t s0, int64_t rows,
                               double *sum)
{
    const int64_t c = call->c, inner = call->inner;
    const int64_t runs = inner == 1 ? 1 : c, len = inner == 1 ? rows * c : rows;
    for (int64_t k = 0; k < runs; k++) {
        const int64_t at = focal_element(c, inner, image, s0, k);
        int64_t bad;
        if (call->dtype == FOCAL_F64)
            bad = scan_dense_f64((const double *)call->target_dense + at, len, sum);
#ifdef FOCAL_HAVE_AVX2_KERNELS
        else if (focal_isa_current() == FOCAL_ISA_AVX2)
            bad = focal_avx2_scan_dense_f32((const float *)call->target_dense + at, len, sum);
#endif
        else
            bad = scan_dense_f32((const float *)call->target_dense + at, len, sum);
        if (bad >= 0)
            return at + bad;
    }
    return -1;
}

static double dense_target(const focal_call *call, int64_t image, int64_t s, int64_t cls)
{
    return focal_load_scalar(call->dtype, call->target_dense,
                             focal_element(call->c, call->inner, image, s, cls));
}

/* Sum over a position's classes of alpha_t (WEIGHTED_MEAN with dense
 * targets only). */
static double dense_alpha_sum(const focal_call *call, int64_t image, int64_t s)
{
    const int64_t c = call->c;
    const double ls = call->loss->label_smoothing;
    double sum = 0;
    for (int64_t cls = 0; cls < c; cls++) {
        const double y = dense_target(call, image, s, cls);
        sum += call->sigmoid
                   ? focal_gather_sigmoid_alpha(call, cls, focal_gather_sigmoid_target(call, y))
                   : (y * (1 - ls) + ls / (double)c) * focal_gather_alpha(call, cls);
    }
    return sum;
}

static void prepass_chunk_run(void *arg, int64_t chunk, int worker)
{
    (void)worker;
    const prepass *pp = arg;
    const focal_call *call = pp->call;
    prepass_chunk *out = &pp->chunks[chunk];
    const int64_t c = call->c, inner = call->inner;
    const int need_alpha = call->loss->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN;
    /* Sigmoid, index targets: the sum of alpha_t over a background row,
     * corrected for the one positive class. */
    const double y_neg = focal_gather_sigmoid_target(call, 0.0);
    const double y_pos = focal_gather_sigmoid_target(call, 1.0);
    double background = 0;
    if (call->sigmoid && need_alpha && !call->dense)
        for (int64_t cls = 0; cls < c; cls++)
            background += focal_gather_sigmoid_alpha(call, cls, y_neg);
    const double per_position = call->sigmoid ? (double)c : 1.0;

    double count = 0, wa = 0, positives = 0;
    int64_t tb, te;
    focal_chunk_tiles(pp->tiling, chunk, &tb, &te);
    /* Index targets without weights or a weighted mean: a branch-free scan
     * of the targets, the general loop below only to name a bad one. */
    const int quick = !call->dense && call->weight == NULL && !need_alpha;
    const int has_ignore = call->loss->has_ignore_index;
    const int64_t ignore = call->loss->ignore_index;
    const uint64_t limit = (uint64_t)(call->sigmoid ? c + 1 : c);
    for (int64_t k = tb; k < te; k++) {
        int64_t image, s0, rows;
        focal_tile_range(pp->tiling, inner, k, &image, &s0, &rows);
        const int64_t pos0 = image * inner + s0;
        if (quick) {
            const int64_t *tg = call->target_index + pos0;
            int ok = 1;
            int64_t kept = 0, pos_count = 0;
#ifdef FOCAL_HAVE_AVX2_KERNELS
            if (focal_isa_current() == FOCAL_ISA_AVX2)
                ok = focal_avx2_scan_index(tg, rows, has_ignore, ignore, (int64_t)limit, c, &kept, &pos_count);
            else
#endif
            for (int64_t r = 0; r < rows; r++) {
                const int64_t t = tg[r];
                const int ignored = has_ignore & (t == ignore);
                ok &= ignored | ((uint64_t)t < limit);
                kept += !ignored;
                pos_count += !ignored & (t < c);
            }
            if (ok) {
                count += per_position * (double)kept;
                if (call->sigmoid)
                    positives += (double)pos_count;
                continue;
            }
        }
        for (int64_t r = 0; r < rows; r++) {
            const int64_t pos = pos0 + r;
            focal_position p;
            focal_gather_position(call, pos, &p);
            if (bad_weight(p.weight)) {
                *out = (prepass_chunk){.status = FOCAL_ERROR_INVALID_WEIGHT, .bad_index = pos,
                                       .bad_value = p.weight};
                return;
            }
            if (p.ignored)
                continue;
            if (!call->dense && (p.target < 0 || p.target >= (call->sigmoid ? c + 1 : c))) {
                *out = (prepass_chunk){.status = FOCAL_ERROR_INVALID_TARGET, .bad_index = pos,
                                       .bad_class = p.target};
                return;
            }
            count += per_position;
            if (!call->dense && call->sigmoid) {
                const int positive = p.target < c;
                positives += positive;
                if (need_alpha)
                    p.alpha_t = background + (positive ? focal_gather_sigmoid_alpha(call, p.target, y_pos) -
                                                             focal_gather_sigmoid_alpha(call, p.target, y_neg)
                                                       : 0.0);
            }
            if (need_alpha) {
                if (call->dense)
                    p.alpha_t = dense_alpha_sum(call, image, s0 + r);
                wa += p.weight * p.alpha_t;
            }
        }
        if (call->dense) {
            const int64_t bad = scan_dense_tile(call, image, s0, rows, &positives);
            if (bad >= 0) {
                *out = (prepass_chunk){.status = FOCAL_ERROR_INVALID_TARGET, .bad_index = bad,
                                       .bad_value = focal_load_scalar(call->dtype, call->target_dense, bad)};
                return;
            }
        }
    }
    *out = (prepass_chunk){.status = FOCAL_OK, .count = count, .weight_alpha_sum = wa,
                           .positives = call->sigmoid ? positives : 0};
}

focal_status focal_validate_data(focal_call *call)
{
    focal_tiling tiling;
    focal_tiling_init(&tiling, call->n, call->c, call->inner);
    prepass_chunk chunks[FOCAL_MAX_CHUNKS];
    prepass pp = {call, &tiling, chunks};
    const int64_t values = call->n * call->inner * (call->dense ? call->c : 1);
    focal_parallel_chunks(tiling.chunks, focal_workers_for(call->loss, values, tiling.chunks),
                          prepass_chunk_run, &pp);

    double count = 0, wa = 0, positives = 0;
    for (int64_t k = 0; k < tiling.chunks; k++) {
        const prepass_chunk *ch = &chunks[k];
        if (ch->status == FOCAL_ERROR_INVALID_WEIGHT)
            return focal_fail(ch->status, "weight[%lld] = %g is negative or not finite",
                              (long long)ch->bad_index, ch->bad_value);
        if (ch->status == FOCAL_ERROR_INVALID_TARGET && call->dense)
            return focal_fail(ch->status, "target[%lld] = %g is outside [0, 1] or not finite",
                              (long long)ch->bad_index, ch->bad_value);
        if (ch->status == FOCAL_ERROR_INVALID_TARGET)
            return focal_fail(ch->status, "target[%lld] = %lld is outside [0, %lld)%s",
                              (long long)ch->bad_index, (long long)ch->bad_class,
                              (long long)(call->sigmoid ? call->c + 1 : call->c),
                              call->loss->has_ignore_index ? " and is not ignore_index" : "");
        count += ch->count;
        wa += ch->weight_alpha_sum;
        positives += ch->positives;
    }
    call->count = count;
    call->weight_alpha_sum = wa;
    call->positives = positives;
    call->denominator = focal_reduce_denominator(call);
    return FOCAL_OK;
}
