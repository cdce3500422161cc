/* The benchmark's shapes, configuration matrix and data (matrix.h). */
#include "matrix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const BENCH_DTYPE_NAMES[BENCH_DTYPES] = {"f32", "f64"};
const char *const BENCH_OP_NAMES[BENCH_OPS] = {"forward", "backward", "fused"};

/* The headline workloads; cls, seg and det also carry the matrix. The
 * order fixes each shape's random stream (seeded by its index). */
const bench_shape BENCH_SHAPES[BENCH_SHAPE_COUNT] = {
    {"cls", "softmax, (N, C) = (16384, 1000)", FOCAL_MODE_SOFTMAX, 16384, 1000, 1, 1024, 1, 0.0, 1, 0},
    {"seg", "softmax, NCHW (4, 19, 512, 512): n 4, c 19, inner 262144", FOCAL_MODE_SOFTMAX, 4, 19, 512 * 512, 1,
     256 * 256, 0.0, 1, 0},
    {"det", "sigmoid, (200000, 80)", FOCAL_MODE_SIGMOID, 200000, 80, 1, 20000, 1, 0.01, 1, 0},
    {"small", "softmax, (N, C) = (64, 10)", FOCAL_MODE_SOFTMAX, 64, 10, 1, 64, 1, 0.0, 0, 1},
};
_Static_assert(sizeof BENCH_SHAPES / sizeof BENCH_SHAPES[0] == BENCH_SHAPE_COUNT, "BENCH_SHAPE_COUNT");

/* The configuration matrix: each row changes its shapes' base
 * configuration (bench_resolve) in one respect. "reduced" marks the rows
 * of the reduced matrix, which slow tables (scalar) run instead of all. */
const bench_config BENCH_CONFIGS[] = {
    {MODES_BOTH, "base", "the base configuration", 1, {{CHANGE_END, 0, 0}}},
    /* targets */
    {MODES_SOFTMAX, "soft-targets", "soft targets: a random distribution over the classes per position", 1,
     {{CHANGE_TARGETS, TARGETS_SOFT, 0}}},
    {MODES_SIGMOID, "index-targets", "index targets: a class for 80 % of positions, the background c for the rest",
     1, {{CHANGE_TARGETS, TARGETS_INDEX, 0}}},
    {MODES_SIGMOID, "soft-targets", "soft dense targets, uniform in [0, 1]", 1, {{CHANGE_TARGETS, TARGETS_SOFT, 0}}},
    /* alpha */
    {MODES_SOFTMAX, "alpha-scalar", "alpha 0.25", 0, {{CHANGE_ALPHA, ALPHA_SCALAR, 0.25}}},
    {MODES_SIGMOID, "alpha-none", "no alpha", 0, {{CHANGE_ALPHA, ALPHA_NONE, 0}}},
    {MODES_BOTH, "alpha-vector", "a per-class alpha vector (0.1 to 0.9)", 0, {{CHANGE_ALPHA, ALPHA_VECTOR, 0}}},
    /* weights, ignore_index, label smoothing, input, variant */
    {MODES_BOTH, "weights", "per-position weights, uniform in [0.5, 1.5)", 1, {{CHANGE_WEIGHTS, 0, 0}}},
    {MODES_SOFTMAX, "ignore-index", "10 % of positions ignored (ignore_index -100)", 1,
     {{CHANGE_IGNORE, 0, 0}}},
    {MODES_SIGMOID, "ignore-index", "index targets, 10 % of positions ignored (ignore_index -100)", 0,
     {{CHANGE_TARGETS, TARGETS_INDEX, 0}, {CHANGE_IGNORE, 0, 0}}},
    {MODES_BOTH, "label-smoothing", "label smoothing 0.1", 0, {{CHANGE_LABEL_SMOOTHING, 0, 0.1}}},
    {MODES_BOTH, "probabilities", "probabilities input (the softmax or sigmoid of the logits)", 1,
     {{CHANGE_PROBABILITIES, 0, 0}}},
    {MODES_SIGMOID, "fl-star", "FL* (variant FL_STAR, beta 0)", 1, {{CHANGE_VARIANT, FOCAL_VARIANT_FL_STAR, 0.0}}},
    /* reductions */
    {MODES_BOTH, "reduction-none", "reduction NONE (one output per position or element)", 1,
     {{CHANGE_REDUCTION, FOCAL_REDUCTION_NONE, 0}}},
    {MODES_BOTH, "reduction-sum", "reduction SUM", 0, {{CHANGE_REDUCTION, FOCAL_REDUCTION_SUM, 0}}},
    {MODES_SIGMOID, "reduction-mean", "reduction MEAN", 0, {{CHANGE_REDUCTION, FOCAL_REDUCTION_MEAN, 0}}},
    {MODES_BOTH, "reduction-weighted-mean", "reduction WEIGHTED_MEAN", 0,
     {{CHANGE_REDUCTION, FOCAL_REDUCTION_WEIGHTED_MEAN, 0}}},
    /* gamma */
    {MODES_BOTH, "gamma-0", "gamma 0 (cross-entropy)", 0, {{CHANGE_GAMMA, 0, 0.0}}},
    {MODES_BOTH, "gamma-0.5", "gamma 0.5", 1, {{CHANGE_GAMMA, 0, 0.5}}},
    {MODES_BOTH, "gamma-1", "gamma 1", 0, {{CHANGE_GAMMA, 0, 1.0}}},
    {MODES_BOTH, "gamma-3", "gamma 3", 0, {{CHANGE_GAMMA, 0, 3.0}}},
    /* 1.1: data-parallel divisor, soft forms, the family, half storage */
    {MODES_BOTH, "divisor", "reduction DIVISOR (sum / 1000)", 0, {{CHANGE_DIVISOR, 0, 1000.0}}},
    {MODES_SIGMOID, "split", "soft targets in the split form", 0,
     {{CHANGE_TARGETS, TARGETS_SOFT, 0}, {CHANGE_SOFT_SPLIT, 0, 0}}},
    {MODES_SIGMOID, "pos-weight", "a pos_weight vector (0.5 to 2)", 0, {{CHANGE_POS_WEIGHT, 0, 0}}},
    {MODES_SIGMOID, "qfl", "QFL on soft targets (beta 2)", 1,
     {{CHANGE_TARGETS, TARGETS_SOFT, 0}, {CHANGE_VARIANT, FOCAL_VARIANT_QFL, 0.0}, {CHANGE_ALPHA, ALPHA_NONE, 0}}},
    {MODES_SIGMOID, "vfl", "VFL on soft targets (alpha 0.75, gamma 2)", 1,
     {{CHANGE_TARGETS, TARGETS_SOFT, 0}, {CHANGE_VARIANT, FOCAL_VARIANT_VFL, 0.0}, {CHANGE_ALPHA, ALPHA_SCALAR, 0.75}}},
    {MODES_SIGMOID, "asl", "ASL (gamma 1, gamma_negative 4, clip 0.05)", 1,
     {{CHANGE_VARIANT, FOCAL_VARIANT_ASL, 0.0}, {CHANGE_GAMMA, 0, 1.0}, {CHANGE_ALPHA, ALPHA_NONE, 0}}},
    {MODES_BOTH, "poly-1", "Poly-1, epsilon 1", 1, {{CHANGE_POLY, 0, 1.0}}},
    {MODES_BOTH, "bf16", "bfloat16 storage", 1, {{CHANGE_STORAGE, STORAGE_BF16, 0}}},
    {MODES_BOTH, "f16", "float16 storage", 0, {{CHANGE_STORAGE, STORAGE_F16, 0}}},
};
const int BENCH_CONFIG_COUNT = (int)(sizeof BENCH_CONFIGS / sizeof BENCH_CONFIGS[0]);

int bench_find_shape(const char *name)
{
    for (int i = 0; i < BENCH_SHAPE_COUNT; i++)
        if (strcmp(BENCH_SHAPES[i].name, name) == 0)
            return i;
    return -1;
}

int bench_config_applies(const bench_config *cfg, const bench_shape *shape)
{
    return (cfg->modes & (shape->mode == FOCAL_MODE_SOFTMAX ? MODES_SOFTMAX : MODES_SIGMOID)) != 0;
}

int bench_find_config(const char *name, const bench_shape *shape)
{
    for (int i = 0; i < BENCH_CONFIG_COUNT; i++)
        if (strcmp(BENCH_CONFIGS[i].name, name) == 0 && bench_config_applies(&BENCH_CONFIGS[i], shape))
            return i;
    return -1;
}

void bench_resolve(const bench_shape *shape, const bench_config *cfg, bench_settings *s)
{
    /* The base configurations: softmax as PyTorch's composed loss (index
     * targets, gamma 2, no alpha, MEAN); sigmoid as RetinaNet and
     * torchvision (dense 0/1 targets, gamma 2, alpha 0.25, normalised by
     * the positives). */
    *s = (bench_settings){.targets = TARGETS_INDEX, .alpha = ALPHA_NONE, .gamma = 2.0,
                          .reduction = FOCAL_REDUCTION_MEAN, .variant = FOCAL_VARIANT_FL};
    if (shape->mode == FOCAL_MODE_SIGMOID) {
        s->targets = TARGETS_DENSE;
        s->alpha = ALPHA_SCALAR;
        s->alpha_value = 0.25;
        s->reduction = FOCAL_REDUCTION_SUM_OVER_POSITIVES;
    }
    if (cfg == NULL)
        return;
    for (int i = 0; i < BENCH_MAX_CHANGES && cfg->changes[i].kind != CHANGE_END; i++) {
        const bench_change *ch = &cfg->changes[i];
        switch (ch->kind) {
        case CHANGE_TARGETS: s->targets = (bench_targets)ch->i; break;
        case CHANGE_ALPHA: s->alpha = (bench_alpha)ch->i, s->alpha_value = ch->x; break;
        case CHANGE_WEIGHTS: s->weights = 1; break;
        case CHANGE_IGNORE: s->ignore_fraction = BENCH_IGNORE_FRACTION; break;
        case CHANGE_LABEL_SMOOTHING: s->label_smoothing = ch->x; break;
        case CHANGE_PROBABILITIES: s->probabilities = 1; break;
        case CHANGE_VARIANT: s->variant = (focal_variant)ch->i, s->beta = ch->x; break;
        case CHANGE_REDUCTION: s->reduction = (focal_reduction)ch->i; break;
        case CHANGE_GAMMA: s->gamma = ch->x; break;
        case CHANGE_DIVISOR: s->reduction = FOCAL_REDUCTION_DIVISOR, s->divisor = ch->x; break;
        case CHANGE_POS_WEIGHT: s->pos_weight = 1; break;
        case CHANGE_SOFT_SPLIT: s->split = 1; break;
        case CHANGE_POLY: s->poly = ch->x; break;
        case CHANGE_STORAGE: s->storage = (bench_storage)ch->i; break;
        case CHANGE_END: break;
        }
    }
}

const char *bench_reduction_name(focal_reduction r)
{
    switch (r) {
    case FOCAL_REDUCTION_NONE: return "NONE";
    case FOCAL_REDUCTION_MEAN: return "MEAN";
    case FOCAL_REDUCTION_SUM: return "SUM";
    case FOCAL_REDUCTION_WEIGHTED_MEAN: return "WEIGHTED_MEAN";
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES: return "SUM_OVER_POSITIVES";
    case FOCAL_REDUCTION_DIVISOR: return "DIVISOR";
    }
    return "unknown";
}

void bench_describe(const bench_settings *s, char *out, size_t size)
{
    static const char *const targets[] = {"index targets", "dense 0/1 targets", "soft targets"};
    char alpha[32];
    if (s->alpha == ALPHA_NONE)
        snprintf(alpha, sizeof alpha, "no alpha");
    else if (s->alpha == ALPHA_SCALAR)
        snprintf(alpha, sizeof alpha, "alpha %g", s->alpha_value);
    else
        snprintf(alpha, sizeof alpha, "alpha vector");
    char ignore[48] = "", smoothing[48] = "";
    if (s->ignore_fraction > 0)
        snprintf(ignore, sizeof ignore, " (%g %% ignored)", 100 * s->ignore_fraction);
    if (s->label_smoothing > 0)
        snprintf(smoothing, sizeof smoothing, ", label smoothing %g", s->label_smoothing);
    char variant[96] = "";
    static const char *const variants[] = {"FL", "FL*", "QFL", "VFL", "ASL"};
    if (s->variant == FOCAL_VARIANT_FL_STAR)
        snprintf(variant, sizeof variant, ", FL* (beta %g)", s->beta);
    else if (s->variant != FOCAL_VARIANT_FL && (int)s->variant < 5)
        snprintf(variant, sizeof variant, ", %s", variants[s->variant]);
    if (s->poly != 0)
        snprintf(variant + strlen(variant), sizeof variant - strlen(variant), ", poly epsilon %g", s->poly);
    if (s->split)
        snprintf(variant + strlen(variant), sizeof variant - strlen(variant), ", split form");
    if (s->pos_weight)
        snprintf(variant + strlen(variant), sizeof variant - strlen(variant), ", pos_weight");
    if (s->storage != STORAGE_RUN)
        snprintf(variant + strlen(variant), sizeof variant - strlen(variant), ", %s storage",
                 s->storage == STORAGE_BF16 ? "bfloat16" : "float16");
    snprintf(out, size, "%s%s, gamma %g, %s%s%s%s%s, %s", targets[s->targets], ignore, s->gamma, alpha,
             s->weights ? ", weights" : "", smoothing, s->probabilities ? ", probabilities input" : "", variant,
             bench_reduction_name(s->reduction));
}

#define BENCH_TRY(call, what)                                                                              \
    do {                                                                                                   \
        const focal_status st_ = (call);                                                                   \
        if (st_ != FOCAL_OK) {                                                                             \
            snprintf(err, err_size, "%s: %s: %s", what, focal_status_string(st_), focal_last_error());     \
            focal_loss_destroy(loss);                                                                      \
            return st_;                                                                                    \
        }                                                                                                  \
    } while (0)

focal_status bench_configure(focal_loss **out, const bench_shape *shape, const bench_settings *s, int threads,
                             char *err, size_t err_size)
{
    *out = NULL;
    focal_loss *loss = NULL;
    BENCH_TRY(focal_loss_create(&loss, shape->mode), "focal_loss_create");
    BENCH_TRY(focal_loss_set_gamma(loss, s->gamma), "focal_loss_set_gamma");
    if (s->alpha == ALPHA_SCALAR) {
        BENCH_TRY(focal_loss_set_alpha(loss, s->alpha_value), "focal_loss_set_alpha");
    } else if (s->alpha == ALPHA_VECTOR) {
        double *alpha = bench_xmalloc((size_t)shape->c * sizeof *alpha);
        for (int64_t j = 0; j < shape->c; j++)
            alpha[j] = 0.1 + 0.8 * (double)j / (double)(shape->c > 1 ? shape->c - 1 : 1);
        const focal_status st = focal_loss_set_alpha_vector(loss, alpha, shape->c);
        free(alpha);
        BENCH_TRY(st, "focal_loss_set_alpha_vector");
    }
    BENCH_TRY(focal_loss_set_reduction(loss, s->reduction), "focal_loss_set_reduction");
    if (s->ignore_fraction > 0)
        BENCH_TRY(focal_loss_set_ignore_index(loss, BENCH_IGNORE_INDEX), "focal_loss_set_ignore_index");
    if (s->probabilities)
        BENCH_TRY(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), "focal_loss_set_input");
    if (s->label_smoothing > 0)
        BENCH_TRY(focal_loss_set_label_smoothing(loss, s->label_smoothing), "focal_loss_set_label_smoothing");
    if (s->variant != FOCAL_VARIANT_FL) {
        BENCH_TRY(focal_loss_set_variant(loss, s->variant), "focal_loss_set_variant");
        BENCH_TRY(focal_loss_set_beta(loss, s->beta), "focal_loss_set_beta");
    }
    if (s->reduction == FOCAL_REDUCTION_DIVISOR)
        BENCH_TRY(focal_loss_set_divisor(loss, s->divisor), "focal_loss_set_divisor");
    if (s->split)
        BENCH_TRY(focal_loss_set_soft_form(loss, FOCAL_SOFT_SPLIT), "focal_loss_set_soft_form");
    if (s->pos_weight) {
        double *pw = bench_xmalloc((size_t)shape->c * sizeof *pw);
        for (int64_t j = 0; j < shape->c; j++)
            pw[j] = 0.5 + 1.5 * (double)j / (double)(shape->c > 1 ? shape->c - 1 : 1);
        const focal_status st = focal_loss_set_pos_weight_vector(loss, pw, shape->c);
        free(pw);
        BENCH_TRY(st, "focal_loss_set_pos_weight_vector");
    }
    if (s->poly != 0)
        BENCH_TRY(focal_loss_set_poly_epsilon(loss, s->poly), "focal_loss_set_poly_epsilon");
    BENCH_TRY(focal_loss_set_threads(loss, threads), "focal_loss_set_threads");
    *out = loss;
    return FOCAL_OK;
}

unsigned bench_needs(const bench_shape *shape, const bench_settings *s)
{
    unsigned needs = s->probabilities ? NEED_PROBABILITIES : NEED_LOGITS;
    if (s->targets == TARGETS_INDEX)
        needs |= s->ignore_fraction > 0 ? NEED_INDEX_IGNORE : NEED_INDEX;
    else
        needs |= s->targets == TARGETS_SOFT ? NEED_SOFT : NEED_DENSE;
    if (s->weights)
        needs |= NEED_WEIGHTS;
    if (s->reduction == FOCAL_REDUCTION_NONE)
        needs |= NEED_OUT_EACH;
    if (s->storage == STORAGE_BF16)
        needs |= NEED_BF16;
    else if (s->storage == STORAGE_F16)
        needs |= NEED_F16;
    (void)shape;
    return needs;
}

/* ---- the generator ------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bench_rng_seed(bench_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15u;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        r->s[i] = z ^ (z >> 31);
    }
    r->has_spare = 0;
}

uint64_t bench_rng_next(bench_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

double bench_rng_uniform(bench_rng *r) { return (double)(bench_rng_next(r) >> 11) * 0x1.0p-53; }

int64_t bench_rng_below(bench_rng *r, int64_t bound) { return (int64_t)(bench_rng_uniform(r) * (double)bound); }

double bench_rng_normal(bench_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u = bench_rng_uniform(r);
    while (u <= 0)
        u = bench_rng_uniform(r);
    const double v = bench_rng_uniform(r);
    const double radius = sqrt(-2.0 * log(u)), angle = 6.283185307179586 * v;
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

/* Buffers start on a 64-byte boundary, as PyTorch's CPU allocator
 * aligns the tensors the peers run on. */
void *bench_xmalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "focal_bench: out of memory (%zu bytes)\n", bytes);
        exit(2);
    }
    return p;
}

/* ---- data ---------------------------------------------------------------- */

static void store(void *buf, int dtype, int64_t i, double v)
{
    if (dtype == BENCH_F32)
        ((float *)buf)[i] = (float)v;
    else
        ((double *)buf)[i] = v;
}

static double load(const void *buf, int dtype, int64_t i)
{
    return dtype == BENCH_F32 ? (double)((const float *)buf)[i] : ((const double *)buf)[i];
}

/* v rounded to nearest even in a binary format with frac_bits fraction
 * bits and exponents down to emin (bfloat16: 7, -126; float16: 10, -14),
 * as its bit pattern; beyond the largest finite value, infinity. */
static uint16_t to_half(double v, int frac_bits, int emin, int emax)
{
    const uint16_t sign = signbit(v) ? 0x8000u : 0u;
    const int bias = -emin + 1;
    const uint16_t inf = (uint16_t)((2 * bias + 1) << frac_bits);
    if (isnan(v))
        return (uint16_t)(sign | inf | (1u << (frac_bits - 1)));
    const double a = fabs(v);
    if (a == 0)
        return sign;
    int e = ilogb(a);
    if (e < emin)
        e = emin;
    double q = nearbyint(ldexp(a, frac_bits - e));   /* the default rounding: to nearest even */
    if (q >= ldexp(1.0, frac_bits + 1))
        q /= 2, e++;
    if (e > emax)
        return (uint16_t)(sign | inf);
    if (q < ldexp(1.0, frac_bits))   /* subnormal */
        return (uint16_t)(sign | (uint16_t)q);
    return (uint16_t)(sign | ((e + bias) << frac_bits) | ((uint16_t)q - (1u << frac_bits)));
}

static void *alloc(bench_data *d, size_t bytes)
{
    d->bytes += (bytes + 63) / 64 * 64;
    return bench_xmalloc(bytes);
}

enum { STREAM_SHAPE = 0, STREAM_SIGMOID_INDEX, STREAM_IGNORE, STREAM_SOFT, STREAM_WEIGHTS };

static void stream(bench_rng *r, int shape_index, int which)
{
    bench_rng_seed(r, 0x5eed0000u + (uint64_t)shape_index + ((uint64_t)which << 16));
}

int bench_data_init(bench_data *d, int shape_index, int dtype, int64_t n, int64_t inner, unsigned needs)
{
    const bench_shape *shape = &BENCH_SHAPES[shape_index];
    memset(d, 0, sizeof *d);
    d->dtype = dtype;
    d->n = n;
    d->c = shape->c;
    d->inner = inner;
    d->sigmoid = shape->mode == FOCAL_MODE_SIGMOID;
    const int64_t c = shape->c, e = n * c * inner, p = n * inner;
    const size_t size = dtype == BENCH_F32 ? sizeof(float) : sizeof(double);
    const int sigmoid = d->sigmoid;
    needs |= NEED_LOGITS;
    if (needs & NEED_INDEX_IGNORE)
        needs |= NEED_INDEX;

    /* The shape's own stream: the logits, then the base targets, as the
     * headline workloads have always drawn them. */
    bench_rng r;
    stream(&r, shape_index, STREAM_SHAPE);
    d->logits = alloc(d, (size_t)e * size);
    for (int64_t i = 0; i < e; i++)
        store(d->logits, dtype, i, 2.0 * bench_rng_normal(&r));
    if (needs & NEED_DENSE) {
        d->dense = alloc(d, (size_t)e * size);
        for (int64_t i = 0; i < e; i++)
            store(d->dense, dtype, i, bench_rng_uniform(&r) < shape->positive_rate ? 1.0 : 0.0);
    }
    if (needs & NEED_INDEX) {
        d->index = alloc(d, (size_t)p * sizeof(int64_t));
        if (!sigmoid) {
            for (int64_t i = 0; i < p; i++)
                d->index[i] = bench_rng_below(&r, c);
        } else {
            /* A class for c * positive_rate of the positions (capped at
             * all of them), the same positives per position on average as
             * the dense 0/1 targets; the background c for the rest. */
            const double foreground = fmin(1.0, (double)c * shape->positive_rate);
            bench_rng ri;
            stream(&ri, shape_index, STREAM_SIGMOID_INDEX);
            for (int64_t i = 0; i < p; i++)
                d->index[i] = bench_rng_uniform(&ri) < foreground ? bench_rng_below(&ri, c) : c;
        }
    }
    if (needs & NEED_INDEX_IGNORE) {
        bench_rng ri;
        stream(&ri, shape_index, STREAM_IGNORE);
        d->index_ignore = alloc(d, (size_t)p * sizeof(int64_t));
        for (int64_t i = 0; i < p; i++)
            d->index_ignore[i] = bench_rng_uniform(&ri) < BENCH_IGNORE_FRACTION ? BENCH_IGNORE_INDEX : d->index[i];
    }
    if (needs & NEED_SOFT) {
        bench_rng rs;
        stream(&rs, shape_index, STREAM_SOFT);
        d->soft = alloc(d, (size_t)e * size);
        if (sigmoid) {
            for (int64_t i = 0; i < e; i++)
                store(d->soft, dtype, i, bench_rng_uniform(&rs));
        } else {
            /* Per position, uniform values normalised to sum 1. */
            for (int64_t b = 0; b < n; b++) {
                for (int64_t s = 0; s < inner; s++) {
                    double sum = 0;
                    for (int64_t j = 0; j < c; j++) {
                        const double u = bench_rng_uniform(&rs);
                        sum += u;
                        store(d->soft, dtype, (b * c + j) * inner + s, u);
                    }
                    for (int64_t j = 0; j < c; j++) {
                        const int64_t i = (b * c + j) * inner + s;
                        store(d->soft, dtype, i, sum > 0 ? load(d->soft, dtype, i) / sum : 1.0 / (double)c);
                    }
                }
            }
        }
    }
    if (needs & NEED_PROBABILITIES) {
        d->probabilities = alloc(d, (size_t)e * size);
        if (sigmoid) {
            for (int64_t i = 0; i < e; i++)
                store(d->probabilities, dtype, i, 1.0 / (1.0 + exp(-load(d->logits, dtype, i))));
        } else {
            for (int64_t b = 0; b < n; b++) {
                for (int64_t s = 0; s < inner; s++) {
                    double max = -INFINITY, sum = 0;
                    for (int64_t j = 0; j < c; j++)
                        max = fmax(max, load(d->logits, dtype, (b * c + j) * inner + s));
                    for (int64_t j = 0; j < c; j++)
                        sum += exp(load(d->logits, dtype, (b * c + j) * inner + s) - max);
                    for (int64_t j = 0; j < c; j++) {
                        const int64_t i = (b * c + j) * inner + s;
                        store(d->probabilities, dtype, i, exp(load(d->logits, dtype, i) - max) / sum);
                    }
                }
            }
        }
    }
    if (needs & NEED_WEIGHTS) {
        bench_rng rw;
        stream(&rw, shape_index, STREAM_WEIGHTS);
        d->weights = alloc(d, (size_t)p * size);
        for (int64_t i = 0; i < p; i++)
            store(d->weights, dtype, i, 0.5 + bench_rng_uniform(&rw));
    }
    if (needs & (NEED_OUT_EACH | NEED_GRAD_OUT_EACH)) {
        const int64_t count = sigmoid ? e : p;
        d->out_each = alloc(d, (size_t)count * size);
        memset(d->out_each, 0, (size_t)count * size);
        if (needs & NEED_GRAD_OUT_EACH) {
            d->grad_out_each = alloc(d, (size_t)count * size);
            for (int64_t i = 0; i < count; i++)
                store(d->grad_out_each, dtype, i, 1.0);
        }
    }
    d->grad = alloc(d, (size_t)e * size);
    memset(d->grad, 0, (size_t)e * size);
    if (dtype == BENCH_F32) {
        const float one = 1.0f;
        memcpy(d->grad_out_scalar, &one, sizeof one);
    } else {
        d->grad_out_scalar[0] = 1.0;
    }
    for (int h = 0; h < 2; h++) {
        if (!(needs & (h == 0 ? NEED_BF16 : NEED_F16)))
            continue;
        const int fb = h == 0 ? 7 : 10, emin = h == 0 ? -126 : -14, emax = h == 0 ? 127 : 15;
#define BENCH_HALF(field, count)                                                                           \
    if (d->field != NULL) {                                                                                \
        d->half[h].field = alloc(d, (size_t)(count) * sizeof(uint16_t));                                   \
        for (int64_t i = 0; i < (count); i++)                                                              \
            d->half[h].field[i] = to_half(load(d->field, dtype, i), fb, emin, emax);                      \
    }
        BENCH_HALF(logits, e)
        BENCH_HALF(probabilities, e)
        BENCH_HALF(dense, e)
        BENCH_HALF(soft, e)
        BENCH_HALF(weights, p)
        BENCH_HALF(out_each, sigmoid ? e : p)
        BENCH_HALF(grad_out_each, sigmoid ? e : p)
        BENCH_HALF(grad, e)
#undef BENCH_HALF
        d->half[h].grad_out_scalar[0] = to_half(1.0, fb, emin, emax);
    }
    d->have = needs;
    return 1;
}

void bench_data_free(bench_data *d)
{
    free(d->logits), free(d->probabilities), free(d->dense), free(d->soft), free(d->weights);
    free(d->out_each), free(d->grad_out_each), free(d->grad), free(d->index), free(d->index_ignore);
    for (int h = 0; h < 2; h++) {
        free(d->half[h].logits), free(d->half[h].probabilities), free(d->half[h].dense), free(d->half[h].soft);
        free(d->half[h].weights), free(d->half[h].out_each), free(d->half[h].grad_out_each), free(d->half[h].grad);
    }
    memset(d, 0, sizeof *d);
}

double bench_fused_bytes(const bench_data *d, const bench_settings *s)
{
    const double size = s->storage != STORAGE_RUN ? 2.0 : d->dtype == BENCH_F32 ? 4.0 : 8.0;
    const double e = (double)(d->n * d->c * d->inner), p = (double)(d->n * d->inner);
    double bytes = 2.0 * e * size;   /* input read, gradient written */
    bytes += s->targets == TARGETS_INDEX ? p * 8.0 : e * size;
    if (s->weights)
        bytes += p * size;
    if (s->reduction == FOCAL_REDUCTION_NONE)
        bytes += (d->sigmoid ? e : p) * size;
    return bytes;
}

/* A half-storage call: the bfloat16 or float16 entry point on d's copies. */
static focal_status half_call(const focal_loss *loss, bench_data *d, const bench_settings *s, int op)
{
    const int bf = s->storage == STORAGE_BF16;
    const int64_t n = d->n, c = d->c, inner = d->inner;
    const int h = bf ? 0 : 1;
    const uint16_t *x = s->probabilities ? d->half[h].probabilities : d->half[h].logits;
    const uint16_t *w = s->weights ? d->half[h].weights : NULL;
    const uint16_t *yt = s->targets == TARGETS_SOFT ? d->half[h].soft : d->half[h].dense;
    const int64_t *t = s->ignore_fraction > 0 ? d->index_ignore : d->index;
    const int each = s->reduction == FOCAL_REDUCTION_NONE;
    uint16_t *out = each ? d->half[h].out_each : d->half[h].out_scalar;
    const uint16_t *go = each ? d->half[h].grad_out_each : d->half[h].grad_out_scalar;
    uint16_t *g = d->half[h].grad;
    if (s->targets != TARGETS_INDEX) {
        switch (op) {
        case BENCH_OP_FORWARD:
            return bf ? focal_forward_dense_bf16(loss, n, c, inner, x, yt, w, out)
                      : focal_forward_dense_f16(loss, n, c, inner, x, yt, w, out);
        case BENCH_OP_BACKWARD:
            return bf ? focal_backward_dense_bf16(loss, n, c, inner, x, yt, w, go, g)
                      : focal_backward_dense_f16(loss, n, c, inner, x, yt, w, go, g);
        default:
            return bf ? focal_forward_backward_dense_bf16(loss, n, c, inner, x, yt, w, out, g)
                      : focal_forward_backward_dense_f16(loss, n, c, inner, x, yt, w, out, g);
        }
    }
    switch (op) {
    case BENCH_OP_FORWARD:
        return bf ? focal_forward_bf16(loss, n, c, inner, x, t, w, out) : focal_forward_f16(loss, n, c, inner, x, t, w, out);
    case BENCH_OP_BACKWARD:
        return bf ? focal_backward_bf16(loss, n, c, inner, x, t, w, go, g)
                  : focal_backward_f16(loss, n, c, inner, x, t, w, go, g);
    default:
        return bf ? focal_forward_backward_bf16(loss, n, c, inner, x, t, w, out, g)
                  : focal_forward_backward_f16(loss, n, c, inner, x, t, w, out, g);
    }
}

focal_status bench_call(const focal_loss *loss, bench_data *d, const bench_settings *s, int op)
{
    if (s->storage != STORAGE_RUN)
        return half_call(loss, d, s, op);
    const int64_t n = d->n, c = d->c, inner = d->inner;
    const void *x = s->probabilities ? d->probabilities : d->logits;
    const void *w = s->weights ? d->weights : NULL;
    const int dense = s->targets != TARGETS_INDEX;
    const void *yt = s->targets == TARGETS_SOFT ? d->soft : d->dense;
    const int64_t *t = s->ignore_fraction > 0 ? d->index_ignore : d->index;
    const int each = s->reduction == FOCAL_REDUCTION_NONE;
    void *out = each ? d->out_each : (void *)d->out_scalar;
    const void *go = each ? d->grad_out_each : (const void *)d->grad_out_scalar;
    if (d->dtype == BENCH_F32) {
        const float *xf = x, *wf = w, *gof = go;
        float *of = out, *gf = d->grad;
        if (dense) {
            switch (op) {
            case BENCH_OP_FORWARD: return focal_forward_dense_f32(loss, n, c, inner, xf, yt, wf, of);
            case BENCH_OP_BACKWARD: return focal_backward_dense_f32(loss, n, c, inner, xf, yt, wf, gof, gf);
            default: return focal_forward_backward_dense_f32(loss, n, c, inner, xf, yt, wf, of, gf);
            }
        }
        switch (op) {
        case BENCH_OP_FORWARD: return focal_forward_f32(loss, n, c, inner, xf, t, wf, of);
        case BENCH_OP_BACKWARD: return focal_backward_f32(loss, n, c, inner, xf, t, wf, gof, gf);
        default: return focal_forward_backward_f32(loss, n, c, inner, xf, t, wf, of, gf);
        }
    }
    const double *xd = x, *wd = w, *god = go;
    double *od = out, *gd = d->grad;
    if (dense) {
        switch (op) {
        case BENCH_OP_FORWARD: return focal_forward_dense_f64(loss, n, c, inner, xd, yt, wd, od);
        case BENCH_OP_BACKWARD: return focal_backward_dense_f64(loss, n, c, inner, xd, yt, wd, god, gd);
        default: return focal_forward_backward_dense_f64(loss, n, c, inner, xd, yt, wd, od, gd);
        }
    }
    switch (op) {
    case BENCH_OP_FORWARD: return focal_forward_f64(loss, n, c, inner, xd, t, wd, od);
    case BENCH_OP_BACKWARD: return focal_backward_f64(loss, n, c, inner, xd, t, wd, god, gd);
    default: return focal_forward_backward_f64(loss, n, c, inner, xd, t, wd, od, gd);
    }
}
