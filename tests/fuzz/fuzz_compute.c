/*
 * Fuzz target: the twelve compute functions, driven with settings, shapes,
 * data and pointers decoded from the input (README.md gives the format).
 *
 * Every call is checked against the API's contract:
 *   - the status is a listed one, a failure leaves a detail message;
 *   - the status is one the inputs call for (OK exactly when nothing is
 *     wrong with them, otherwise one of the errors they justify);
 *   - a failure leaves every output byte as it was;
 *   - no call changes the context or any input buffer;
 *   - ignored positions give 0 loss and 0 gradient, a zero denominator a
 *     0 loss and a 0 gradient;
 *   - outputs are finite wherever the inputs that feed them are finite and
 *     the true value is far from the type's range;
 *   - the fused call's loss equals the forward call's, and the backward
 *     call's gradient with a unit upstream equals the fused call's, bitwise;
 *     so do the fused call's outputs with the other output skipped;
 *   - large calls give bitwise identical results with 1 and 3 threads.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"


/* The per-element checking loops need no comparison tracing: it guides
 * nothing there and would dominate the run time of large cases. */
#if defined(__clang__)
#  define NO_TRACE __attribute__((no_sanitize("coverage")))
#else
#  define NO_TRACE
#endif

/* FUZZ_SMALL (fuzz_small.c): the same target restricted to small calls on
 * one thread, for speed; the large and threaded calls stay here. */
#ifdef FUZZ_SMALL
#  define SMALL_MAX_ELEMENTS 256    /* unless c alone is larger */
#else
#  define SMALL_MAX_ELEMENTS 4096   /* unless c alone is larger */
#endif
#define BIG_MIN_ELEMENTS (1 << 16)   /* the library's threshold for threads */
#define BIG_MAX_ELEMENTS ((1 << 16) + (1 << 14))   /* unless c * inner alone is larger */
#define DUMMY_ELEMENTS 64            /* buffers passed with an invalid shape */
#define DECODE_MAX 512               /* values decoded per array; the rest repeat them */

enum { OP_FORWARD = 0, OP_BACKWARD = 1, OP_FUSED = 2 };
static const char *const op_names[3] = {"forward", "backward", "forward_backward"};

enum {
    NULL_LOSS = 1, NULL_INPUT = 2, NULL_TARGET = 4, NULL_OUT = 8, NULL_GRAD_OUT = 16,
    NULL_GRAD_INPUT = 32
};

typedef struct fz_case {
    fuzz_snap set;             /* the context's settings, read back */
    int sigmoid, dense, f64, op, nulls;
    int64_t n, c, inner;
    int shape_ok, big;
    size_t elements, positions, out_len, esize;
    void *input;               /* elements */
    int64_t *target_index;     /* positions */
    void *target_dense;        /* elements */
    void *weight;              /* positions, or NULL */
    void *grad_out;            /* out_len: the main backward call's upstream */
    void *ones;                /* out_len ones */
} fz_case;

static const fz_case *g_case;
static int g_verbose;   /* FUZZ_VERBOSE=1: describe every case; 2: and print its tensors */

static void describe(FILE *f)
{
    const fz_case *k = g_case;
    if (k == NULL)
        return;
    const fuzz_snap *s = &k->set;
    fprintf(f,
            "  case: %s %s %s %s, n=%" PRId64 " c=%" PRId64 " inner=%" PRId64 " (%s), nulls=0x%x, weight=%s\n"
            "  settings: gamma=%.17g alpha=%s%.17g alpha_count=%" PRId64 " reduction=%d ignore=%s%" PRId64
            " input=%d eps=%.17g ls=%.17g variant=%d beta=%.17g threads=%d\n",
            k->sigmoid ? "sigmoid" : "softmax", op_names[k->op], k->dense ? "dense" : "index",
            k->f64 ? "f64" : "f32", k->n, k->c, k->inner,
            k->shape_ok ? (k->big ? "big" : "small") : "invalid", (unsigned)k->nulls,
            k->weight ? "yes" : "NULL", s->gamma, s->alpha_status == FOCAL_OK ? "" : "(none)",
            s->alpha, s->alpha_count, (int)s->reduction, s->ignore_status == FOCAL_OK ? "" : "(none)",
            s->ignore_index, (int)s->input, s->epsilon, s->label_smoothing, (int)s->variant, s->beta,
            s->threads);
    fprintf(f,
            "  1.1 settings: gamma_negative=%.17g clip=%.17g poly_epsilon=%.17g divisor=%.17g soft_form=%d"
            " pos_weight_count=%" PRId64 "\n",
            s->gamma_negative, s->clip, s->poly_epsilon, s->divisor, (int)s->soft_form, s->pos_weight_count);
    for (int64_t i = 0; i < s->alpha_count; i++)
        fprintf(f, "  alpha[%" PRId64 "] = %.17g\n", i, s->alpha_vector[i]);
    for (int64_t i = 0; i < s->pos_weight_count; i++)
        fprintf(f, "  pos_weight[%" PRId64 "] = %.17g\n", i, s->pos_weight[i]);
    if (g_verbose < 2 || !k->shape_ok)
        return;
    const struct { const char *name; const void *buf; size_t len; } arrays[] = {
        {"input", k->input, k->elements},
        {"target", k->dense ? k->target_dense : NULL, k->dense ? k->elements : 0},
        {"weight", k->weight, k->weight != NULL ? k->positions : 0},
        {"grad_out", k->grad_out, k->out_len},
    };
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        if (arrays[a].buf == NULL)
            continue;
        fprintf(f, "  %s:", arrays[a].name);
        for (size_t i = 0; i < arrays[a].len; i++)
            fprintf(f, " %.17g", k->f64 ? ((const double *)arrays[a].buf)[i] : (double)((const float *)arrays[a].buf)[i]);
        fprintf(f, "\n");
    }
    if (!k->dense) {
        fprintf(f, "  target:");
        for (size_t i = 0; i < k->positions; i++)
            fprintf(f, " %" PRId64, k->target_index[i]);
        fprintf(f, "\n");
    }
}

/* ------------------------------------------------------------------------
 * Buffers of the call's element type
 * ------------------------------------------------------------------------ */

NO_TRACE static double ld(const fz_case *k, const void *buf, size_t i)
{
    return k->f64 ? ((const double *)buf)[i] : (double)((const float *)buf)[i];
}

NO_TRACE static void st(const fz_case *k, void *buf, size_t i, double v)
{
    if (k->f64)
        ((double *)buf)[i] = v;
    else
        ((float *)buf)[i] = (float)v;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL)
        abort();
    return p;
}

static void *dup_bytes(const void *p, size_t bytes)
{
    if (p == NULL)
        return NULL;
    void *q = xmalloc(bytes);
    memcpy(q, p, bytes);
    return q;
}

NO_TRACE static int same_bytes(const void *a, const void *b, size_t bytes)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && memcmp(a, b, bytes) == 0);
}

#define SENTINEL 0xA5

static void *sentinel_buffer(size_t bytes)
{
    void *p = xmalloc(bytes);
    memset(p, SENTINEL, bytes);
    return p;
}

NO_TRACE static int untouched(const void *p, size_t bytes)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < bytes; i++)
        if (b[i] != SENTINEL)
            return 0;
    return 1;
}

/* Decodes up to DECODE_MAX values, then repeats them (or dflt when the
 * input is exhausted before the first). */
static void fill_values(fuzz_reader *r, const fz_case *k, void *buf, size_t len, enum fuzz_kind kind,
                        double dflt)
{
    double decoded[DECODE_MAX];
    size_t got = 0;
    for (size_t i = 0; i < len; i++) {
        double v;
        if (got == i && got < DECODE_MAX && fr_left(r)) {
            v = fr_value(r, kind);
            decoded[got++] = v;
        } else {
            v = got ? decoded[i % got] : dflt;
        }
        st(k, buf, i, v);
    }
}

/* An index target: mostly a valid class, sometimes c (background in
 * sigmoid mode, out of range in softmax mode), ignore_index or a value out
 * of range. */
static int64_t fr_target(fuzz_reader *r, const fz_case *k)
{
    const uint8_t s = fr_u8(r);
    const int64_t c = k->shape_ok ? k->c : 4;
    if (s < 0xC0)
        return s % c;
    if (s < 0xD0)
        return c;
    switch (s % 8) {
    case 0:
    case 7:
        return k->set.ignore_status == FOCAL_OK ? k->set.ignore_index : -1;
    case 1: return -1;
    case 2: return -100;
    case 3: return c + 1;
    case 4: return INT64_MIN;
    case 5: return INT64_MAX;
    default: return fr_raw_i64(r);
    }
}

/* ------------------------------------------------------------------------
 * Shapes
 * ------------------------------------------------------------------------ */

static int64_t pick_c(uint8_t b, const fz_case *k, int big)
{
    if (k->set.alpha_count > 0 && b < 0x80)
        return k->set.alpha_count;
    if (big)   /* 22000 classes: fewer tiles than threads */
        return b == 0xFF ? 22000 : 1 + b % 80;
    /* Mostly few classes; 13..72 crosses the kernels' 64-class switch;
     * the widest take one tile per position. */
#ifdef FUZZ_SMALL
    return b < 0xC0 ? 1 + b % 12 : 13 + (b - 0xC0) % 60;
#else
    static const int64_t wide[4] = {129, 257, 1000, 2100};
    return b < 0xC0 ? 1 + b % 12 : b < 0xFC ? 13 + (b - 0xC0) : wide[b - 0xFC];
#endif
}

static void decode_shape(fuzz_reader *r, fz_case *k)
{
    const uint8_t kind = fr_u8(r);
    k->shape_ok = 1;
    k->big = 0;
#ifdef FUZZ_SMALL
    if (kind < 0xEC) {
#else
    if (kind < 0xE8) {
#endif
        k->n = 1 + fr_u8(r) % 40;
        k->c = pick_c(fr_u8(r), k, 0);
        k->inner = 1 + fr_u8(r) % 8;
        if (k->n * k->c * k->inner > SMALL_MAX_ELEMENTS) {
            k->n = SMALL_MAX_ELEMENTS / (k->c * k->inner);
            if (k->n < 1)
                k->n = 1;
        }
        /* An empty batch (n = 0 or inner = 0, valid since 1.1), one kind
         * in 29. */
        if (kind % 29 == 7) {
            if (kind & 0x20)
                k->n = 0;
            else
                k->inner = 0;
        }
    } else if (kind < 0xEC) {
        k->big = 1;
        k->n = 1 + fr_u16(r) % 4096;
        k->c = pick_c(fr_u8(r), k, 1);
        k->inner = 1 + fr_u8(r) % (k->c > 80 ? 3 : 64);
        const int64_t per = k->c * k->inner;
        const int64_t lo = (BIG_MIN_ELEMENTS + per - 1) / per, hi = BIG_MAX_ELEMENTS / per;
        if (k->n < lo)
            k->n = lo;
        if (k->n > hi)
            k->n = hi > lo ? hi : lo;
    } else {
        /* Invalid: n or inner below 0, c below 1, or a product whose
         * element count (or, for float64, byte size) overflows 64 bits,
         * which every implementation must reject before touching a buffer.
         * (n = 0 or inner = 0 is a valid empty call since 1.1.) */
        static const int64_t bad_dims[4] = {0, -1, -7, INT64_MIN};
        static const int64_t huge[10][3] = {
            {INT64_MAX, 1, 1},
            {INT64_MAX, INT64_MAX, INT64_MAX},
            {(int64_t)1 << 32, (int64_t)1 << 31, 1},
            {3037000500, 3037000500, 1},
            {(int64_t)1 << 21, (int64_t)1 << 21, (int64_t)1 << 21},
            {1, (int64_t)1 << 62, 2},
            {2, 3, (int64_t)1 << 62},
            {(int64_t)1 << 61, 1, 1},
            {(int64_t)1 << 20, (int64_t)1 << 20, (int64_t)1 << 21},
            {4, (int64_t)1 << 62, (int64_t)1 << 62},
        };
        const uint8_t s = fr_u8(r);
        k->shape_ok = 0;
        k->n = 1 + s % 3;
        k->c = 1 + (s >> 2) % 5;
        k->inner = 1 + (s >> 4) % 3;
        if (s & 1) {
            const int64_t *h = huge[(s >> 1) % 10];
            /* Exact enough in double: the products are far from the bound. */
            const double p = (double)h[0] * (double)h[1] * (double)h[2];
            if (p >= ldexp(1.0, k->f64 ? 61 : 63)) {
                k->n = h[0];
                k->c = h[1];
                k->inner = h[2];
                return;
            }
        }
        int64_t bad = bad_dims[(s >> 3) % 4];
        if (bad == 0 && (s >> 5) % 3 != 1)
            bad = -1;
        switch ((s >> 5) % 3) {
        case 0: k->n = bad; break;
        case 1: k->c = bad; break;
        default: k->inner = bad; break;
        }
    }
}

/* ------------------------------------------------------------------------
 * The call
 * ------------------------------------------------------------------------ */

static focal_status api(const fz_case *k, const focal_loss *loss, int op, const void *input,
                        const void *target, const void *weight, const void *grad_out, void *out,
                        void *grad)
{
    const int64_t n = k->n, c = k->c, in = k->inner;
    const int which = (k->f64 ? 6 : 0) + (k->dense ? 3 : 0) + op;
    switch (which) {
    case 0: return focal_forward_f32(loss, n, c, in, input, target, weight, out);
    case 1: return focal_backward_f32(loss, n, c, in, input, target, weight, grad_out, grad);
    case 2: return focal_forward_backward_f32(loss, n, c, in, input, target, weight, out, grad);
    case 3: return focal_forward_dense_f32(loss, n, c, in, input, target, weight, out);
    case 4: return focal_backward_dense_f32(loss, n, c, in, input, target, weight, grad_out, grad);
    case 5: return focal_forward_backward_dense_f32(loss, n, c, in, input, target, weight, out, grad);
    case 6: return focal_forward_f64(loss, n, c, in, input, target, weight, out);
    case 7: return focal_backward_f64(loss, n, c, in, input, target, weight, grad_out, grad);
    case 8: return focal_forward_backward_f64(loss, n, c, in, input, target, weight, out, grad);
    case 9: return focal_forward_dense_f64(loss, n, c, in, input, target, weight, out);
    case 10: return focal_backward_dense_f64(loss, n, c, in, input, target, weight, grad_out, grad);
    default: return focal_forward_backward_dense_f64(loss, n, c, in, input, target, weight, out, grad);
    }
}

NO_TRACE static int64_t element_of(const fz_case *k, int64_t pos, int64_t cls)
{
    const int64_t image = pos / k->inner, s = pos % k->inner;
    return (image * k->c + cls) * k->inner + s;
}

NO_TRACE static int ignored(const fz_case *k, int64_t pos)
{
    return !k->dense && k->set.ignore_status == FOCAL_OK && k->target_index[pos] == k->set.ignore_index;
}

/* The statuses the call may return, as a mask of 1 << status: exactly OK
 * when nothing is wrong, otherwise the errors that something wrong calls
 * for (the API does not rank them). */
NO_TRACE static unsigned allowed_statuses(const fz_case *k, int op, int nulls)
{
    unsigned wrong = 0, extra = 0;
    const fuzz_snap *s = &k->set;
#define BIT(x) (1u << (x))
    if (nulls & (NULL_LOSS | NULL_INPUT | NULL_TARGET))
        wrong |= BIT(FOCAL_ERROR_NULL_POINTER);
    if (op == OP_FORWARD && (nulls & NULL_OUT))
        wrong |= BIT(FOCAL_ERROR_NULL_POINTER);
    if (op == OP_BACKWARD && (nulls & (NULL_GRAD_OUT | NULL_GRAD_INPUT)))
        wrong |= BIT(FOCAL_ERROR_NULL_POINTER);
    /* A fused call that skips both outputs has nothing to do. */
    if (op == OP_FUSED && (nulls & NULL_OUT) && (nulls & NULL_GRAD_INPUT))
        extra |= BIT(FOCAL_ERROR_NULL_POINTER);
    if (!k->shape_ok)
        wrong |= BIT(FOCAL_ERROR_INVALID_SHAPE);
    const int have_loss = !(nulls & NULL_LOSS);
    if (have_loss) {
        if (s->alpha_count > 0 && s->alpha_count != k->c)
            wrong |= BIT(FOCAL_ERROR_INVALID_SHAPE);
        if (s->pos_weight_count > 0 && s->pos_weight_count != k->c)
            wrong |= BIT(FOCAL_ERROR_INVALID_SHAPE);
        /* SPLIT and a pos_weight: sigmoid mode, variant FL (API.md, 1.1). */
        if ((s->soft_form == FOCAL_SOFT_SPLIT || s->pos_weight_count > 0) &&
            (!k->sigmoid || s->variant != FOCAL_VARIANT_FL))
            wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
        /* Poly-1: variant FL; softmax with index targets and no label
         * smoothing; sigmoid in the TORCHVISION form without pos_weight. */
        if (s->poly_epsilon != 0 &&
            (s->variant != FOCAL_VARIANT_FL ||
             (!k->sigmoid && (k->dense || s->label_smoothing > 0)) ||
             (k->sigmoid && (s->soft_form == FOCAL_SOFT_SPLIT || s->pos_weight_count > 0))))
            wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
        if (!k->sigmoid && (s->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES ||
                            s->variant == FOCAL_VARIANT_FL_STAR))
            wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
        if (k->sigmoid && s->variant == FOCAL_VARIANT_FL_STAR &&
            (s->input == FOCAL_INPUT_PROBABILITIES || s->gamma == 0))
            wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
        /* The generalized family (1.1): sigmoid mode, logits input; QFL's
         * gamma 0 or >= 1; VFL without an alpha vector, label smoothing or
         * WEIGHTED_MEAN; ASL with clip > 0 needs gamma_negative 0 or >= 1. */
        if (s->variant >= FOCAL_VARIANT_QFL) {
            if (!k->sigmoid || s->input == FOCAL_INPUT_PROBABILITIES)
                wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
            if (s->variant == FOCAL_VARIANT_QFL && s->gamma > 0 && s->gamma < 1)
                wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
            if (s->variant == FOCAL_VARIANT_VFL && (s->alpha_count > 0 || s->label_smoothing > 0 ||
                                                    s->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN))
                wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
            if (s->variant == FOCAL_VARIANT_ASL && s->clip > 0 && s->gamma_negative > 0 &&
                s->gamma_negative < 1)
                wrong |= BIT(FOCAL_ERROR_INCOMPATIBLE);
        }
    }
    if (k->shape_ok && have_loss) {
        if (k->weight != NULL)
            for (size_t i = 0; i < k->positions; i++) {
                const double w = ld(k, k->weight, i);
                if (!(w >= 0) || !isfinite(w)) {
                    wrong |= BIT(FOCAL_ERROR_INVALID_WEIGHT);
                    break;
                }
            }
        if (k->dense) {
            for (size_t i = 0; i < k->elements; i++) {
                const double y = ld(k, k->target_dense, i);
                if (!(y >= 0 && y <= 1)) {
                    wrong |= BIT(FOCAL_ERROR_INVALID_TARGET);
                    break;
                }
            }
        } else {
            const int64_t hi = k->sigmoid ? k->c + 1 : k->c;
            for (size_t i = 0; i < k->positions; i++) {
                const int64_t t = k->target_index[i];
                if (!ignored(k, (int64_t)i) && (t < 0 || t >= hi)) {
                    wrong |= BIT(FOCAL_ERROR_INVALID_TARGET);
                    break;
                }
            }
        }
    }
    return wrong ? wrong | extra : BIT(FOCAL_OK) | extra;
#undef BIT
}

/* ------------------------------------------------------------------------
 * What a successful call's outputs must satisfy
 * ------------------------------------------------------------------------ */

typedef struct fz_bounds {
    int settings_tame;   /* the settings keep every true value far from overflow */
    double limit;        /* magnitude bound that counts as far from overflow */
    double loss, grad;   /* bounds of |out| and |grad_input| entries */
} fz_bounds;

/* An input element that needs no finiteness: a -inf logit of a class other
 * than the target (masking, which the API allows), with index targets and
 * no label smoothing; in sigmoid mode, of a negative element. */
NO_TRACE static int maskable(const fz_case *k, int64_t t, int64_t cls, double x)
{
    return x == -INFINITY && k->set.input == FOCAL_INPUT_LOGITS && !k->dense &&
           k->set.label_smoothing == 0 && cls != t;
}

/* Whether a position's own inputs are all finite (or maskable), and its
 * upstream gradient (NONE backward) too. */
NO_TRACE static int position_finite(const fz_case *k, int64_t pos, const void *up)
{
    const int64_t t = k->dense ? -1 : k->target_index[pos];
    for (int64_t cls = 0; cls < k->c; cls++) {
        const double x = ld(k, k->input, (size_t)element_of(k, pos, cls));
        if (!isfinite(x) && !maskable(k, t, cls, x))
            return 0;
    }
    if (up != NULL && k->set.reduction == FOCAL_REDUCTION_NONE) {
        if (!k->sigmoid)
            return isfinite(ld(k, up, (size_t)pos));
        for (int64_t cls = 0; cls < k->c; cls++)
            if (!isfinite(ld(k, up, (size_t)element_of(k, pos, cls))))
                return 0;
    }
    return 1;
}


/* Conservative bounds of every loss and gradient entry, from the finite
 * inputs. Anything that could legitimately overflow (huge logits, weights
 * or alpha, FL* with a tiny gamma, weighted means whose denominators may
 * cancel) makes the settings not tame, and then finiteness is not asserted. */
NO_TRACE static fz_bounds bounds(const fz_case *k, const void *up)
{
    const fuzz_snap *s = &k->set;
    fz_bounds b = {1, k->f64 ? 1e300 : 1e36, 0, 0};
    const double c = (double)k->c;
    const double gamma = s->variant == FOCAL_VARIANT_ASL ? fmax(s->gamma, s->gamma_negative) : s->gamma;
    const int probs = s->input == FOCAL_INPUT_PROBABILITIES;
    const int fl_star = k->sigmoid && s->variant == FOCAL_VARIANT_FL_STAR;

    double alphas[FUZZ_MAX_ALPHA];
    int64_t na = 0;
    if (s->alpha_status == FOCAL_OK)
        alphas[na++] = s->alpha;
    for (int64_t i = 0; i < s->alpha_count; i++)
        alphas[na++] = s->alpha_vector[i];
    double amax = 1, amin = 1;
    int mixed = 0;
    if (na > 0) {
        amax = 0;
        amin = INFINITY;
        for (int64_t i = 0; i < na; i++) {
            const double a = alphas[i];
            const double m = k->sigmoid ? fmax(fabs(a), fabs(1 - a)) : fabs(a);
            amax = fmax(amax, m);
            amin = fmin(amin, fabs(a));
            if (a < 0 || (k->sigmoid && a > 1))
                mixed = 1;
        }
    }
    /* Settings must be representable in the call's type. */
    if (!k->f64 && amax > 1e30)
        b.settings_tame = 0;
    /* The 1.1 settings: a pos_weight multiplies the positive term (at most
     * by its largest entry), the SPLIT form adds alpha's and 1 - alpha's
     * terms (twice amax), Poly-1 adds epsilon (1 - p_t)^(gamma + 1) to each
     * term, not times alpha_t: under WEIGHTED_MEAN with an alpha that term
     * is divided by sum(w alpha_t), which alpha may make as small as it
     * likes, so finiteness is then not asserted; nor for ASL's negative
     * exponent below 1, whose bound is not modelled here. */
    double pwmax = 1;
    for (int64_t i = 0; i < s->pos_weight_count; i++)
        pwmax = fmax(pwmax, s->pos_weight[i]);
    const double term_scale = pwmax * (s->soft_form == FOCAL_SOFT_SPLIT ? 2.0 : 1.0);
    const double poly = fabs(s->poly_epsilon);
    if (poly != 0 && s->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN && na > 0)
        b.settings_tame = 0;
    if (s->variant == FOCAL_VARIANT_ASL && s->gamma_negative < 1)
        b.settings_tame = 0;

    double wmax = 1;
    if (k->weight != NULL) {
        wmax = 0;
        for (size_t i = 0; i < k->positions; i++)
            wmax = fmax(wmax, ld(k, k->weight, i));
    }
    double wa;
    if (s->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN) {
        /* SUM / sum(w alpha_t): a convex combination while no alpha_t is
         * negative; softmax index targets with label smoothing weigh the
         * smoothed classes by their own alpha but divide by the target's. */
        if (mixed)
            b.settings_tame = 0;
        wa = 1;
        if (!k->sigmoid && !k->dense && s->label_smoothing > 0 && s->alpha_count > 0)
            wa = amin > 0 ? amax / amin : INFINITY;
    } else {
        wa = wmax * amax;
        /* Poly-1's term is weighted but not multiplied by alpha_t. */
        if (poly != 0)
            wa = fmax(wa, wmax);
    }
    /* A zero weight does not excuse an unweighted term that overflows:
     * 0 * inf is NaN. */
    wa = fmax(wa, fmax(amax, 1.0));

    double xmax = 0;
    for (size_t i = 0; i < k->elements; i++) {
        const double x = ld(k, k->input, i);
        if (isfinite(x))
            xmax = fmax(xmax, fabs(x));
    }
    double u = 1;
    if (up != NULL) {
        u = 0;
        const size_t m = s->reduction == FOCAL_REDUCTION_NONE ? k->out_len : 1;
        for (size_t i = 0; i < m; i++) {
            const double g = ld(k, up, i);
            if (isfinite(g))
                u = fmax(u, fabs(g));
            else if (s->reduction != FOCAL_REDUCTION_NONE)
                b.settings_tame = 0;
        }
    }

    double lx, g;
    if (probs) {
        lx = -log(s->epsilon) + 1;
        g = 2 * (1 + gamma) * (lx + 1) * c / s->epsilon;
    } else if (fl_star) {
        lx = xmax + (fabs(s->beta) + 1) / gamma;
        g = 1;
    } else if (k->sigmoid) {
        lx = xmax + 1;
        g = gamma * (lx + 1) + 2;
    } else {
        lx = 2 * xmax + log(c) + 1;
        g = 2 * (1 + gamma) * (lx + 2) * c;
    }
    lx = lx * term_scale + poly;
    g = g * term_scale + poly * (gamma + 2) * 2 * c;
    const double per_unit = !k->sigmoid && (k->dense || s->label_smoothing > 0) ? c * lx : lx;
    double terms = 1;
    if (s->reduction == FOCAL_REDUCTION_SUM || s->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES ||
        s->reduction == FOCAL_REDUCTION_DIVISOR)
        terms = (double)(k->sigmoid ? k->elements : k->positions);
    /* DIVISOR: SUM / divisor (0 gives 0). */
    if (s->reduction == FOCAL_REDUCTION_DIVISOR && s->divisor > 0 && s->divisor < 1)
        terms /= s->divisor;
    b.loss = wa * per_unit * terms;
    b.grad = wa * u * g;
    if (s->reduction == FOCAL_REDUCTION_DIVISOR && s->divisor > 0 && s->divisor < 1)
        b.grad /= s->divisor;
    if (!(b.loss < b.limit) || !(b.grad < b.limit))
        b.settings_tame = 0;
    return b;
}

/* Whether the reduction's denominator is certainly 0, which must give a 0
 * loss and a 0 gradient whatever the inputs hold. */
NO_TRACE static int zero_denominator(const fz_case *k, int all_ignored)
{
    const fuzz_snap *s = &k->set;
    if (s->reduction == FOCAL_REDUCTION_DIVISOR)   /* a divisor of 0 (1.1) */
        return s->divisor == 0;
    if (s->reduction != FOCAL_REDUCTION_MEAN && s->reduction != FOCAL_REDUCTION_WEIGHTED_MEAN)
        return 0;
    if (all_ignored)
        return 1;
    if (s->reduction != FOCAL_REDUCTION_WEIGHTED_MEAN)
        return 0;
    if (k->weight != NULL) {
        int zero = 1;
        for (int64_t p = 0; p < (int64_t)k->positions && zero; p++)
            if (!ignored(k, p) && ld(k, k->weight, (size_t)p) != 0)
                zero = 0;
        if (zero)
            return 1;
    }
    if (!k->sigmoid && (s->alpha_status == FOCAL_OK || s->alpha_count > 0)) {
        if (s->alpha_status == FOCAL_OK)
            return s->alpha == 0;
        for (int64_t i = 0; i < s->alpha_count; i++)
            if (s->alpha_vector[i] != 0)
                return 0;
        return 1;
    }
    return 0;
}

/* out and grad as a successful call of `what` wrote them (either may be
 * NULL when not written); up is the backward call's upstream, NULL for a
 * unit one. */
NO_TRACE static void check_outputs(const fz_case *k, const char *what, const void *out, const void *grad,
                          const void *up)
{
    const fuzz_snap *s = &k->set;
    const int reduced = s->reduction != FOCAL_REDUCTION_NONE;
    const fz_bounds b = bounds(k, up);
    int all_ignored = 1, all_finite = 1;
    for (int64_t pos = 0; pos < (int64_t)k->positions; pos++) {
        if (ignored(k, pos)) {
            for (int64_t cls = 0; cls < k->c; cls++) {
                const int64_t e = element_of(k, pos, cls);
                if (grad != NULL)
                    FUZZ_CHECK(ld(k, grad, (size_t)e) == 0,
                               "%s: grad_input[%" PRId64 "] = %g at ignored position %" PRId64, what, e,
                               ld(k, grad, (size_t)e), pos);
                if (out != NULL && !reduced && k->sigmoid)
                    FUZZ_CHECK(ld(k, out, (size_t)e) == 0,
                               "%s: out[%" PRId64 "] = %g at ignored position %" PRId64, what, e,
                               ld(k, out, (size_t)e), pos);
            }
            if (out != NULL && !reduced && !k->sigmoid)
                FUZZ_CHECK(ld(k, out, (size_t)pos) == 0, "%s: out[%" PRId64 "] = %g at an ignored position",
                           what, pos, ld(k, out, (size_t)pos));
            continue;
        }
        all_ignored = 0;
        const int fin = position_finite(k, pos, up);
        all_finite &= fin;
        if (!fin || !b.settings_tame)
            continue;
        for (int64_t cls = 0; cls < k->c; cls++) {
            const int64_t e = element_of(k, pos, cls);
            if (grad != NULL)
                FUZZ_CHECK(isfinite(ld(k, grad, (size_t)e)),
                           "%s: grad_input[%" PRId64 "] = %g is not finite though its inputs are "
                           "(bounds: loss %g, grad %g)",
                           what, e, ld(k, grad, (size_t)e), b.loss, b.grad);
            if (out != NULL && !reduced && k->sigmoid)
                FUZZ_CHECK(isfinite(ld(k, out, (size_t)e)),
                           "%s: out[%" PRId64 "] = %g is not finite though its inputs are (bound %g)", what,
                           e, ld(k, out, (size_t)e), b.loss);
        }
        if (out != NULL && !reduced && !k->sigmoid)
            FUZZ_CHECK(isfinite(ld(k, out, (size_t)pos)),
                       "%s: out[%" PRId64 "] = %g is not finite though its inputs are (bound %g)", what, pos,
                       ld(k, out, (size_t)pos), b.loss);
    }
    if (out != NULL && reduced) {
        const double v = ld(k, out, 0);
        if (all_ignored)
            FUZZ_CHECK(v == 0, "%s: every position is ignored but the loss is %g", what, v);
        if (b.settings_tame && all_finite)
            FUZZ_CHECK(isfinite(v), "%s: the loss %g is not finite though every input is (bound %g)", what,
                       v, b.loss);
    }
    if (reduced && zero_denominator(k, all_ignored)) {
        if (out != NULL)
            FUZZ_CHECK(ld(k, out, 0) == 0, "%s: the denominator is 0 but the loss is %g", what,
                       ld(k, out, 0));
        if (grad != NULL)
            for (size_t i = 0; i < k->elements; i++)
                FUZZ_CHECK(ld(k, grad, i) == 0, "%s: the denominator is 0 but grad_input[%zu] = %g", what,
                           i, ld(k, grad, i));
    }
}

/* ------------------------------------------------------------------------
 * The consistency of the three ops, and of thread counts
 * ------------------------------------------------------------------------ */

typedef struct fz_result {
    focal_status status;
    void *out, *grad;
} fz_result;

static fz_result run_clean(const fz_case *k, const focal_loss *loss, int op, int want_out, int want_grad)
{
    fz_result res = {FOCAL_OK, NULL, NULL};
    if (want_out)
        res.out = sentinel_buffer(k->out_len * k->esize);
    if (want_grad)
        res.grad = sentinel_buffer(k->elements * k->esize);
    const void *target = k->dense ? k->target_dense : (const void *)k->target_index;
    res.status = api(k, loss, op, k->input, target, k->weight, k->ones, res.out, res.grad);
    FUZZ_CHECK_STATUS(res.status, op_names[op]);
    FUZZ_CHECK(res.status == FOCAL_OK, "%s failed with %d on inputs that need no error", op_names[op],
               (int)res.status);
    return res;
}

static void free_result(fz_result *r)
{
    free(r->out);
    free(r->grad);
}

NO_TRACE static void check_same(const fz_case *k, const void *a, const void *b, size_t len, const char *what)
{
    if (memcmp(a, b, len * k->esize) == 0)
        return;
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(memcmp((const char *)a + i * k->esize, (const char *)b + i * k->esize, k->esize) == 0,
                   "%s: entry %zu differs: %.17g vs %.17g", what, i, ld(k, a, i), ld(k, b, i));
}

/* The 1.1 entry points on inputs the compute calls accept: the shard's
 * counts (the count exact; the other two not NaN where the settings are
 * tame, P >= 0) and, for dense targets, the gradient with respect to the
 * targets (a status the API lists; the same bits twice; nothing written on
 * failure; no NaN on success from finite inputs under tame settings). */
static void entry_points_11(const fz_case *k, focal_loss *loss)
{
    const int64_t n = k->n, c = k->c, in = k->inner;
    double counts[3] = {-1.0, -1.0, -1.0};
    focal_status s;
    if (k->f64)
        s = k->dense ? focal_counts_dense_f64(loss, n, c, in, k->target_dense, k->weight, counts)
                     : focal_counts_f64(loss, n, c, in, k->target_index, k->weight, counts);
    else
        s = k->dense ? focal_counts_dense_f32(loss, n, c, in, k->target_dense, k->weight, counts)
                     : focal_counts_f32(loss, n, c, in, k->target_index, k->weight, counts);
    FUZZ_CHECK(s == FOCAL_OK, "counts failed with %d where the compute call succeeded", (int)s);
    double want = 0;
    for (size_t i = 0; i < k->positions; i++)
        if (k->dense || !(k->set.ignore_status == FOCAL_OK && k->target_index[i] == k->set.ignore_index))
            want += 1;
    if (k->sigmoid)
        want *= (double)c;
    FUZZ_CHECK(counts[0] == want, "counts[0] = %.17g, the non-ignored %s number %.17g", counts[0],
               k->sigmoid ? "elements" : "positions", want);
    const int tame = bounds(k, NULL).settings_tame;
    FUZZ_CHECK(!tame || (!isnan(counts[1]) && !isnan(counts[2])), "counts (%.17g, %.17g, %.17g) hold a NaN",
               counts[0], counts[1], counts[2]);
    FUZZ_CHECK(isnan(counts[2]) || counts[2] >= 0, "counts[2] = %.17g is negative", counts[2]);
    if (!k->dense)
        return;
    void *g1 = sentinel_buffer(k->elements * k->esize), *g2 = sentinel_buffer(k->elements * k->esize);
    focal_status s1, s2;
    if (k->f64) {
        s1 = focal_backward_target_dense_f64(loss, n, c, in, k->input, k->target_dense, k->weight, k->ones, g1);
        s2 = focal_backward_target_dense_f64(loss, n, c, in, k->input, k->target_dense, k->weight, k->ones, g2);
    } else {
        s1 = focal_backward_target_dense_f32(loss, n, c, in, k->input, k->target_dense, k->weight, k->ones, g1);
        s2 = focal_backward_target_dense_f32(loss, n, c, in, k->input, k->target_dense, k->weight, k->ones, g2);
    }
    FUZZ_CHECK_STATUS(s1, "backward_target_dense");
    FUZZ_CHECK(s1 == s2, "backward_target_dense returned %d, then %d", (int)s1, (int)s2);
    if (s1 != FOCAL_OK) {
        FUZZ_CHECK(untouched(g1, k->elements * k->esize), "the failing target gradient (%d) wrote", (int)s1);
    } else {
        check_same(k, g1, g2, k->elements, "the target gradient, twice");
        int finite = tame;
        for (size_t e = 0; finite && e < k->elements; e++)
            finite = isfinite(ld(k, k->input, e));
        for (size_t e = 0; finite && e < k->elements; e++)
            FUZZ_CHECK(!isnan(ld(k, g1, e)), "grad_target[%zu] is NaN from finite inputs", e);
    }
    free(g1);
    free(g2);
}

static void consistency(const fz_case *k, focal_loss *loss)
{
    fz_result fused = run_clean(k, loss, OP_FUSED, 1, 1);
    check_outputs(k, "forward_backward", fused.out, fused.grad, NULL);

    fz_result fwd = run_clean(k, loss, OP_FORWARD, 1, 0);
    check_same(k, fwd.out, fused.out, k->out_len, "forward's loss vs forward_backward's");

    fz_result bwd = run_clean(k, loss, OP_BACKWARD, 0, 1);
    check_same(k, bwd.grad, fused.grad, k->elements,
               "backward's gradient (unit upstream) vs forward_backward's");

    fz_result only_grad = {FOCAL_OK, NULL, NULL}, only_out = {FOCAL_OK, NULL, NULL};
    if (!k->big) {
        only_grad = run_clean(k, loss, OP_FUSED, 0, 1);
        check_same(k, only_grad.grad, fused.grad, k->elements, "forward_backward without out vs with");
        only_out = run_clean(k, loss, OP_FUSED, 1, 0);
        check_same(k, only_out.out, fused.out, k->out_len, "forward_backward without grad_input vs with");
    }

    if (k->big) {
        focal_loss *copy = NULL;
        focal_status s = focal_loss_clone(loss, &copy);
        FUZZ_CHECK(s == FOCAL_OK, "focal_loss_clone failed with %d", (int)s);
        const int counts[2] = {1, 3};
        for (int i = 0; i < 2; i++) {
            s = focal_loss_set_threads(copy, counts[i]);
            FUZZ_CHECK(s == FOCAL_OK, "focal_loss_set_threads(%d) failed with %d", counts[i], (int)s);
            fz_result t = run_clean(k, copy, OP_FUSED, 1, 1);
            check_same(k, t.out, fused.out, k->out_len, counts[i] == 1 ? "loss, 1 thread vs default"
                                                                        : "loss, 3 threads vs default");
            check_same(k, t.grad, fused.grad, k->elements,
                       counts[i] == 1 ? "gradient, 1 thread vs default" : "gradient, 3 threads vs default");
            free_result(&t);
        }
        focal_loss_destroy(copy);
    }
    if (!k->big)
        entry_points_11(k, loss);
    free_result(&fused);
    free_result(&fwd);
    free_result(&bwd);
    free_result(&only_grad);
    free_result(&only_out);
}

/* ------------------------------------------------------------------------
 * The instruction-set path
 * ------------------------------------------------------------------------ */

static void check_isa(void)
{
    const char *cap = getenv("FOCAL_MAX_ISA");
    const char *isa = focal_isa();
    const int level = strcmp(isa, "avx512") == 0 ? 2 : strcmp(isa, "avx2") == 0 ? 1 : 0;
    FUZZ_CHECK(level > 0 || strcmp(isa, "scalar") == 0, "focal_isa() = \"%s\"", isa);
    /* The cap: exactly these names, any other value ignored. */
    int limit = 2;
    if (cap != NULL && strcmp(cap, "scalar") == 0)
        limit = 0;
    else if (cap != NULL && strcmp(cap, "avx2") == 0)
        limit = 1;
    FUZZ_CHECK(level <= limit, "FOCAL_MAX_ISA=%s but focal_isa() = \"%s\"", cap, isa);
#if defined(__x86_64__) && defined(__GNUC__)
    /* The best table the CPU has, up to the cap (x86-64 builds with gcc
     * and clang compile every table). */
    __builtin_cpu_init();
    int best = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        best = 1;
    if (best && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        best = 2;
    const int want = best < limit ? best : limit;
    FUZZ_CHECK(level == want, "the CPU's best table up to the cap is level %d but focal_isa() = \"%s\"", want, isa);
#endif
}

/* The main call, with the pointers the input asks for, and then the same
 * call with every pointer given through each op. */
static void run_case(const fz_case *k, focal_loss *loss)
{
    /* Copies of everything no call may change. */
    const size_t target_bytes = k->dense ? k->elements * k->esize : k->positions * sizeof(int64_t);
    const void *target = k->dense ? k->target_dense : (const void *)k->target_index;
    void *input_copy = dup_bytes(k->input, k->elements * k->esize);
    void *target_copy = dup_bytes(target, target_bytes);
    void *weight_copy = dup_bytes(k->weight, k->positions * k->esize);
    void *grad_out_copy = dup_bytes(k->grad_out, k->out_len * k->esize);

    /* The main call, with the pointers the input asks for. */
    void *out = sentinel_buffer(k->out_len * k->esize);
    void *grad = sentinel_buffer(k->elements * k->esize);
    const int nl = k->nulls;
    const focal_status s = api(k, (nl & NULL_LOSS) ? NULL : loss, k->op, (nl & NULL_INPUT) ? NULL : k->input,
            (nl & NULL_TARGET) ? NULL : target, k->weight, (nl & NULL_GRAD_OUT) ? NULL : k->grad_out,
            (nl & NULL_OUT) ? NULL : out, (nl & NULL_GRAD_INPUT) ? NULL : grad);
    FUZZ_CHECK_STATUS(s, op_names[k->op]);
    if (g_verbose) {
        describe(stderr);
        fprintf(stderr, "  main call: status %d%s%s\n", (int)s, s != FOCAL_OK ? ", " : "",
                s != FOCAL_OK ? focal_last_error() : "");
    }
    const unsigned allowed = allowed_statuses(k, k->op, nl);
    FUZZ_CHECK((unsigned)s < 32 && (allowed & (1u << (unsigned)s)),
               "%s returned %d; the inputs allow the mask 0x%x", op_names[k->op], (int)s, allowed);

    fuzz_snap after;
    fuzz_snapshot(loss, &after);
    FUZZ_CHECK_SNAP(&k->set, &after, "a compute call");
    FUZZ_CHECK(same_bytes(input_copy, k->input, k->elements * k->esize), "the call changed its input");
    FUZZ_CHECK(same_bytes(target_copy, target, target_bytes), "the call changed its target");
    FUZZ_CHECK(same_bytes(weight_copy, k->weight, k->positions * k->esize), "the call changed its weights");
    FUZZ_CHECK(same_bytes(grad_out_copy, k->grad_out, k->out_len * k->esize), "the call changed grad_out");

    const int wrote_out = k->op != OP_BACKWARD && !(nl & NULL_OUT);
    const int wrote_grad = k->op != OP_FORWARD && !(nl & NULL_GRAD_INPUT);
    if (s != FOCAL_OK) {
        FUZZ_CHECK(untouched(out, k->out_len * k->esize), "the failing call (%d) wrote out", (int)s);
        FUZZ_CHECK(untouched(grad, k->elements * k->esize), "the failing call (%d) wrote grad_input", (int)s);
    } else {
        if (!wrote_out)
            FUZZ_CHECK(untouched(out, k->out_len * k->esize), "the call wrote an out it was not given");
        if (!wrote_grad)
            FUZZ_CHECK(untouched(grad, k->elements * k->esize), "the call wrote a grad_input it was not given");
        check_outputs(k, op_names[k->op], wrote_out ? out : NULL, wrote_grad ? grad : NULL,
                      k->op == OP_BACKWARD ? k->grad_out : NULL);
    }

    /* The same call with every pointer given: the three ops must agree. */
    if (allowed_statuses(k, OP_FUSED, 0) == (1u << FOCAL_OK)) {
        consistency(k, loss);
        fuzz_snapshot(loss, &after);
        FUZZ_CHECK_SNAP(&k->set, &after, "the consistency calls");
        FUZZ_CHECK(same_bytes(input_copy, k->input, k->elements * k->esize), "a call changed its input");
        FUZZ_CHECK(same_bytes(target_copy, target, target_bytes), "a call changed its target");
        FUZZ_CHECK(same_bytes(weight_copy, k->weight, k->positions * k->esize), "a call changed its weights");
    }

    free(out);
    free(grad);
    free(input_copy);
    free(target_copy);
    free(weight_copy);
    free(grad_out_copy);
}

/* ------------------------------------------------------------------------
 * The entry point
 * ------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    if (!started) {
        check_isa();
        fuzz_describe = describe;
        g_verbose = getenv("FUZZ_VERBOSE") != NULL ? atoi(getenv("FUZZ_VERBOSE")) : 0;
        started = 1;
    }
    fuzz_reader r = {data, size, 0};

    const uint8_t head = fr_u8(&r);
    focal_loss *loss = NULL;
    focal_status s = focal_loss_create(&loss, (focal_mode)(head & 1));
    FUZZ_CHECK(s == FOCAL_OK && loss != NULL, "focal_loss_create failed with %d", (int)s);
    const int nset = fr_u8(&r) % 12;
    for (int i = 0; i < nset; i++)
        fuzz_apply_setter(loss, &r, 0);
#ifdef FUZZ_SMALL
    s = focal_loss_set_threads(loss, 1);
    FUZZ_CHECK(s == FOCAL_OK, "focal_loss_set_threads(1) failed with %d", (int)s);
#endif

    fz_case k;
    memset(&k, 0, sizeof k);
    fuzz_snapshot(loss, &k.set);
    k.sigmoid = k.set.mode == FOCAL_MODE_SIGMOID;
    const uint8_t fn = fr_u8(&r);
    k.op = (fn & 3) == 3 ? OP_FUSED : (fn & 3);
    k.dense = (fn >> 2) & 1;
    k.f64 = (fn >> 3) & 1;
    k.esize = k.f64 ? sizeof(double) : sizeof(float);
    const uint8_t nb = fr_u8(&r);
    k.nulls = (nb & 0xC0) == 0xC0 ? nb & 0x3F : 0;
    decode_shape(&r, &k);
    if (k.shape_ok) {
        k.elements = (size_t)(k.n * k.c * k.inner);
        k.positions = (size_t)(k.n * k.inner);
        k.out_len = k.set.reduction != FOCAL_REDUCTION_NONE ? 1 : k.sigmoid ? k.elements : k.positions;
    } else {
        k.elements = k.positions = k.out_len = DUMMY_ELEMENTS;
    }
    g_case = &k;

    /* The data. */
    const enum fuzz_kind input_kind = k.set.input == FOCAL_INPUT_PROBABILITIES ? FUZZ_UNIT : FUZZ_LOGIT;
    k.input = xmalloc(k.elements * k.esize);
    fill_values(&r, &k, k.input, k.elements, input_kind, 0.0);
    if (k.dense) {
        k.target_dense = xmalloc(k.elements * k.esize);
        fill_values(&r, &k, k.target_dense, k.elements, FUZZ_UNIT, 0.0);
    } else {
        k.target_index = xmalloc(k.positions * sizeof(int64_t));
        size_t got = 0;
        for (size_t i = 0; i < k.positions; i++) {
            if (got == i && got < DECODE_MAX && fr_left(&r))
                k.target_index[got++] = fr_target(&r, &k);
            else
                k.target_index[i] = got ? k.target_index[i % got] : 0;
        }
    }
    if (fr_u8(&r) % 3 != 0) {
        k.weight = xmalloc(k.positions * k.esize);
        fill_values(&r, &k, k.weight, k.positions, FUZZ_SCALE, 1.0);
    }
    k.ones = xmalloc(k.out_len * k.esize);
    for (size_t i = 0; i < k.out_len; i++)
        st(&k, k.ones, i, 1.0);
    if (k.op == OP_BACKWARD) {
        k.grad_out = xmalloc(k.out_len * k.esize);
        if (fr_u8(&r) < 0x80)
            memcpy(k.grad_out, k.ones, k.out_len * k.esize);
        else
            fill_values(&r, &k, k.grad_out, k.out_len, FUZZ_LOGIT, 1.0);
    }

    run_case(&k, loss);
    g_case = NULL;
    free(k.input);
    free(k.target_index);
    free(k.target_dense);
    free(k.weight);
    free(k.ones);
    free(k.grad_out);
    focal_loss_destroy(loss);
    return 0;
}
