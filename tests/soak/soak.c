/*
 * The soak: for a given time, several threads make random calls across the
 * whole public API, valid and deliberately invalid, while the main thread
 * samples the resident set size once a second.
 *
 *   soak [--seconds S] [--threads N] [--seed X] [--rss-bound-kib K] [--no-rss-check]
 *        [--leak-kib-per-s L]
 *
 * --leak-kib-per-s makes the main thread leak L KiB (touched) every second:
 * the check of the check, which must then report the growth.
 *
 * Every call's status must be one the API allows for it: exactly OK when
 * nothing is wrong, otherwise one of the errors that what is wrong calls
 * for (the API does not rank them). A failing call must leave a detail
 * message and every output byte as it was (the outputs are filled with a
 * guard pattern and compared after the call); a successful one must not
 * write past its outputs and, where the inputs and settings keep the true
 * values far from overflow, must give finite values. Cheap spot checks
 * compare the library with closed forms computed here in double; counts
 * are compared with the targets' own tally.
 *
 * Contexts: a few shared ones, configured before the threads start and
 * from then on only read (compute, counts, getters, clone), as the header's
 * thread-safety rule allows; each thread also owns contexts that it
 * reconfigures with every setter, recreates and clones into.
 *
 * Resident memory (docs/reliability.md, "Soak"): the samples after the
 * warm-up (the first fifth of the run, at least 2 s) are split into three
 * equal thirds A, B and C. A sample is the least of ten reads of VmRSS
 * in its second. The run fails when median(C) > median(A) + bound
 * (default 2 MiB) and median(C) > median(B): the resident floor has grown
 * beyond the bound and is still higher in the last third than in the
 * middle one. Floors and medians, not maxima: the peaks follow how many
 * threads happen to hold a large call's buffers at a read, several MiB
 * apart from one second to the next, while a leak lifts every read. A
 * one-off step, or a bulge in the middle, does not fail; a leak, which
 * rises through every third, does. In a sanitizer build the check is
 * reported but not applied.
 *
 * Exit status: 0 pass, 1 a violated property or growing memory, 2 bad
 * arguments, 77 skipped (no /proc/self/status to read the RSS from).
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__)
#  include <malloc.h>
#endif

#include <focal/focal.h>

/* Sanitizers hold memory on purpose (AddressSanitizer's quarantine,
 * ThreadSanitizer's shadow and history): the resident size says nothing
 * about leaks there, and LeakSanitizer does that job. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SOAK_SANITIZER 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#    define SOAK_SANITIZER 1
#  endif
#endif
#ifndef SOAK_SANITIZER
#  define SOAK_SANITIZER 0
#endif

#define MAX_VEC 8            /* longest alpha / pos_weight vector */
#define GUARD_BYTES 64       /* checked past every output on success */
#define N_SHARED 6           /* shared read-only contexts */
#define MAX_FAILURES 20      /* reported before the run stops */

/* ------------------------------------------------------------------------
 * Failure reporting and the run's state
 * ------------------------------------------------------------------------ */

static atomic_int g_stop;
static atomic_int g_failures;
static pthread_mutex_t g_print_lock = PTHREAD_MUTEX_INITIALIZER;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(const char *where, const char *fmt, ...)
{
    const int k = atomic_fetch_add(&g_failures, 1);
    atomic_store(&g_stop, 1);
    if (k >= MAX_FAILURES)
        return;
    pthread_mutex_lock(&g_print_lock);
    fprintf(stderr, "SOAK FAILURE (%s): ", where);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  focal_last_error(): \"%s\"\n", focal_last_error());
    fflush(stderr);
    pthread_mutex_unlock(&g_print_lock);
}

/* xorshift64*: each thread has its own stream. */
typedef struct rng { uint64_t s; } rng;

static uint64_t rnd(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}
static unsigned rn(rng *r, unsigned n) { return (unsigned)(rnd(r) >> 33) % n; }
static int chance(rng *r, unsigned one_in) { return rn(r, one_in) == 0; }
static double runif(rng *r, double lo, double hi) { return lo + (hi - lo) * (double)(rnd(r) >> 11) * 0x1p-53; }

/* ------------------------------------------------------------------------
 * Storage types. Test values are multiples of 1/256 of moderate size, so
 * they are exact in every type; the conversions below round to nearest
 * even anyway and decode everything (outputs may be any value).
 * ------------------------------------------------------------------------ */

enum { T_F32, T_F64, T_BF16, T_F16, T_COUNT };
static const char *const type_names[T_COUNT] = {"f32", "f64", "bf16", "f16"};
static const size_t type_size[T_COUNT] = {4, 8, 2, 2};

static uint16_t to_bf16(double v)
{
    const float f = (float)v;
    uint32_t b;
    memcpy(&b, &f, 4);
    if (isnan(f))
        return (uint16_t)((b >> 16) | 0x40);
    return (uint16_t)((b + 0x7FFF + ((b >> 16) & 1)) >> 16);
}

static double from_bf16(uint16_t h)
{
    const uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static uint16_t to_f16(double v)
{
    const uint16_t sign = signbit(v) ? 0x8000 : 0;
    const double a = fabs(v);
    if (isnan(v))
        return 0x7E00;
    if (a >= 65520.0)
        return sign | 0x7C00;
    if (a < 0x1p-14) {   /* subnormal or zero: units of 2^-24 */
        return sign | (uint16_t)nearbyint(a * 0x1p24);
    }
    int e;
    const double m = frexp(a, &e);   /* a = m 2^e, m in [0.5, 1) */
    double q = nearbyint(m * 2048.0);  /* 11 significant bits */
    if (q == 2048.0) {
        q = 1024.0;
        e++;
    }
    if (e + 14 >= 31)
        return sign | 0x7C00;
    return sign | (uint16_t)((unsigned)(e + 14) << 10) | (uint16_t)((unsigned)q - 1024u);
}

static double from_f16(uint16_t h)
{
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const unsigned e = (h >> 10) & 0x1F, m = h & 0x3FF;
    if (e == 0)
        return sign * ldexp(m, -24);
    if (e == 31)
        return m ? NAN : sign * INFINITY;
    return sign * ldexp(1024 + m, (int)e - 25);
}

static void st(int type, void *buf, size_t i, double v)
{
    switch (type) {
    case T_F32: ((float *)buf)[i] = (float)v; break;
    case T_F64: ((double *)buf)[i] = v; break;
    case T_BF16: ((uint16_t *)buf)[i] = to_bf16(v); break;
    default: ((uint16_t *)buf)[i] = to_f16(v); break;
    }
}

static double ld(int type, const void *buf, size_t i)
{
    switch (type) {
    case T_F32: return ((const float *)buf)[i];
    case T_F64: return ((const double *)buf)[i];
    case T_BF16: return from_bf16(((const uint16_t *)buf)[i]);
    default: return from_f16(((const uint16_t *)buf)[i]);
    }
}

/* ------------------------------------------------------------------------
 * Settings: a mirror of what a context holds, so that the expected status
 * of every call follows from the documented rules.
 * ------------------------------------------------------------------------ */

typedef struct cfg {
    focal_mode mode;
    double gamma;
    int alpha_kind;   /* 0 none, 1 scalar, 2 vector */
    double alpha;
    double alpha_vec[MAX_VEC];
    int64_t alpha_count;
    focal_reduction reduction;
    int has_ignore;
    int64_t ignore_index;
    focal_input input;
    double epsilon, label_smoothing;
    focal_variant variant;
    double beta, gamma_negative, clip, poly, divisor;
    focal_soft_form soft_form;
    double pos_weight[MAX_VEC];
    int64_t pw_count;
    int threads;
} cfg;

static double pick_gamma(rng *r)
{
    static const double g[] = {0, 0.5, 1, 2, 2, 3.5, 0.25};
    return chance(r, 4) ? runif(r, 0, 4) : g[rn(r, 7)];
}

/* Random settings with every value inside its domain; the combination may
 * not fit (INCOMPATIBLE at compute) unless make_compatible() follows. */
static void random_cfg(rng *r, cfg *k, focal_mode mode)
{
    memset(k, 0, sizeof *k);
    k->mode = mode;
    k->gamma = pick_gamma(r);
    k->alpha_kind = (int)rn(r, 3);
    k->alpha = chance(r, 2) ? 0.25 : runif(r, 0, 1);
    k->alpha_count = 1 + rn(r, 6);
    for (int64_t i = 0; i < k->alpha_count; i++)
        k->alpha_vec[i] = chance(r, 6) ? 0.0 : runif(r, 0.05, 1);
    if (k->alpha_kind != 2)
        k->alpha_count = 0;
    k->reduction = (focal_reduction)rn(r, 6);
    k->has_ignore = chance(r, 3);
    k->ignore_index = chance(r, 2) ? -100 : (int64_t)rn(r, 7) - 1;
    k->input = chance(r, 5) ? FOCAL_INPUT_PROBABILITIES : FOCAL_INPUT_LOGITS;
    k->epsilon = chance(r, 2) ? 1e-7 : runif(r, 1e-6, 0.01);
    k->label_smoothing = chance(r, 3) ? runif(r, 0, 0.3) : 0;
    static const focal_variant vs[] = {FOCAL_VARIANT_FL,      FOCAL_VARIANT_FL,  FOCAL_VARIANT_FL,
                                       FOCAL_VARIANT_FL_STAR, FOCAL_VARIANT_QFL, FOCAL_VARIANT_VFL,
                                       FOCAL_VARIANT_ASL};
    k->variant = vs[rn(r, 7)];
    k->beta = runif(r, -2, 2);
    k->gamma_negative = chance(r, 3) ? 4 : (chance(r, 3) ? 0 : runif(r, 0, 5));
    k->clip = chance(r, 2) ? 0.05 : (chance(r, 2) ? 0 : runif(r, 0, 0.3));
    k->poly = chance(r, 3) ? runif(r, -1, 2) : 0;
    static const double divs[] = {1, 0, 0.5, 3, 100};
    k->divisor = divs[rn(r, 5)];
    k->soft_form = chance(r, 4) ? FOCAL_SOFT_SPLIT : FOCAL_SOFT_TORCHVISION;
    k->pw_count = chance(r, 4) ? 1 + rn(r, 6) : 0;
    for (int64_t i = 0; i < k->pw_count; i++)
        k->pos_weight[i] = chance(r, 6) ? 0.0 : runif(r, 0, 3);
    k->threads = 1 + (int)rn(r, 4);
}

static void make_compatible(cfg *k)
{
    if (k->mode == FOCAL_MODE_SOFTMAX) {
        k->variant = FOCAL_VARIANT_FL;
        if (k->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES)
            k->reduction = FOCAL_REDUCTION_MEAN;
        k->soft_form = FOCAL_SOFT_TORCHVISION;
        k->pw_count = 0;
        if (k->poly != 0)
            k->label_smoothing = 0;
        return;
    }
    if (k->variant != FOCAL_VARIANT_FL) {
        k->soft_form = FOCAL_SOFT_TORCHVISION;
        k->pw_count = 0;
        k->poly = 0;
    }
    if (k->variant != FOCAL_VARIANT_FL)
        k->input = FOCAL_INPUT_LOGITS;
    if (k->variant == FOCAL_VARIANT_FL_STAR && k->gamma == 0)
        k->gamma = 1;
    if (k->variant == FOCAL_VARIANT_QFL && k->gamma > 0 && k->gamma < 1)
        k->gamma += 1;
    if (k->variant == FOCAL_VARIANT_VFL) {
        if (k->alpha_kind == 2) {
            k->alpha_kind = 1;
            k->alpha_count = 0;
        }
        k->label_smoothing = 0;
        if (k->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN)
            k->reduction = FOCAL_REDUCTION_MEAN;
    }
    if (k->variant == FOCAL_VARIANT_ASL && k->clip > 0 && k->gamma_negative > 0 && k->gamma_negative < 1)
        k->gamma_negative += 1;
    if (k->poly != 0) {
        k->soft_form = FOCAL_SOFT_TORCHVISION;
        k->pw_count = 0;
    }
    /* Both vectors are checked against c: give them one length. */
    if (k->pw_count > 0 && k->alpha_count > 0 && k->pw_count != k->alpha_count) {
        for (int64_t i = k->pw_count; i < k->alpha_count; i++)
            k->pos_weight[i] = 1;
        k->pw_count = k->alpha_count;
    }
}

#define SET_OK(call)                                                              \
    do {                                                                          \
        const focal_status s_ = (call);                                           \
        if (s_ != FOCAL_OK) {                                                     \
            fail("setter", "%s returned %d for a value in its domain", #call, (int)s_); \
            return;                                                               \
        }                                                                         \
    } while (0)

/* Every setter, in a random order of the two vector kinds (a scalar alpha
 * replaces a vector and the other way round). */
static void apply_cfg(rng *r, focal_loss *l, const cfg *k)
{
    SET_OK(focal_loss_set_gamma(l, k->gamma));
    if (chance(r, 2))
        SET_OK(focal_loss_set_alpha_vector(l, k->alpha_vec, 1 + rn(r, MAX_VEC)));
    if (k->alpha_kind == 0)
        SET_OK(focal_loss_clear_alpha(l));
    else if (k->alpha_kind == 1)
        SET_OK(focal_loss_set_alpha(l, k->alpha));
    else
        SET_OK(focal_loss_set_alpha_vector(l, k->alpha_vec, k->alpha_count));
    SET_OK(focal_loss_set_reduction(l, k->reduction));
    if (k->has_ignore)
        SET_OK(focal_loss_set_ignore_index(l, k->ignore_index));
    else
        SET_OK(focal_loss_clear_ignore_index(l));
    SET_OK(focal_loss_set_input(l, k->input));
    SET_OK(focal_loss_set_epsilon(l, k->epsilon));
    SET_OK(focal_loss_set_label_smoothing(l, k->label_smoothing));
    SET_OK(focal_loss_set_variant(l, k->variant));
    SET_OK(focal_loss_set_beta(l, k->beta));
    SET_OK(focal_loss_set_gamma_negative(l, k->gamma_negative));
    SET_OK(focal_loss_set_clip(l, k->clip));
    SET_OK(focal_loss_set_poly_epsilon(l, k->poly));
    SET_OK(focal_loss_set_divisor(l, k->divisor));
    SET_OK(focal_loss_set_soft_form(l, k->soft_form));
    if (k->pw_count > 0)
        SET_OK(focal_loss_set_pos_weight_vector(l, k->pos_weight, k->pw_count));
    else
        SET_OK(focal_loss_clear_pos_weight(l));
    SET_OK(focal_loss_set_threads(l, k->threads));
}

/* The getters agree with the mirror (they may run while other threads
 * compute with the same context). */
static void check_getters(const focal_loss *l, const cfg *k)
{
    double d;
    int64_t i64;
    focal_mode m;
    focal_reduction red;
    int th;
    if (focal_loss_get_mode(l, &m) != FOCAL_OK || m != k->mode)
        fail("getter", "mode");
    if (focal_loss_get_gamma(l, &d) != FOCAL_OK || d != k->gamma)
        fail("getter", "gamma %.17g, expected %.17g", d, k->gamma);
    const focal_status sa = focal_loss_get_alpha(l, &d);
    if (k->alpha_kind == 1 ? (sa != FOCAL_OK || d != k->alpha) : sa != FOCAL_ERROR_INCOMPATIBLE)
        fail("getter", "alpha: status %d", (int)sa);
    if (focal_loss_get_alpha_count(l, &i64) != FOCAL_OK || i64 != k->alpha_count)
        fail("getter", "alpha count %" PRId64 ", expected %" PRId64, i64, k->alpha_count);
    if (k->alpha_count > 0) {
        double v[MAX_VEC];
        if (focal_loss_get_alpha_vector(l, v, k->alpha_count) != FOCAL_OK ||
            memcmp(v, k->alpha_vec, (size_t)k->alpha_count * sizeof(double)) != 0)
            fail("getter", "alpha vector");
    }
    if (focal_loss_get_reduction(l, &red) != FOCAL_OK || red != k->reduction)
        fail("getter", "reduction");
    const focal_status si = focal_loss_get_ignore_index(l, &i64);
    if (k->has_ignore ? (si != FOCAL_OK || i64 != k->ignore_index) : si != FOCAL_ERROR_INCOMPATIBLE)
        fail("getter", "ignore_index: status %d", (int)si);
    if (focal_loss_get_divisor(l, &d) != FOCAL_OK || d != k->divisor)
        fail("getter", "divisor");
    if (focal_loss_get_poly_epsilon(l, &d) != FOCAL_OK || d != k->poly)
        fail("getter", "poly epsilon");
    if (focal_loss_get_pos_weight_count(l, &i64) != FOCAL_OK || i64 != k->pw_count)
        fail("getter", "pos_weight count");
    if (focal_loss_get_threads(l, &th) != FOCAL_OK || th != k->threads)
        fail("getter", "threads %d, expected %d", th, k->threads);
}

/* ------------------------------------------------------------------------
 * One compute call
 * ------------------------------------------------------------------------ */

enum { OP_FORWARD, OP_BACKWARD, OP_FUSED, OP_COUNTS, OP_TARGET_GRAD, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"forward", "backward", "forward_backward", "counts",
                                               "backward_target"};

enum fault {
    F_NONE,
    F_NULL_LOSS, F_NULL_INPUT, F_NULL_TARGET, F_NULL_OUT, F_NULL_GRAD_OUT, F_NULL_GRAD_INPUT, F_NULL_COUNTS,
    F_NEG_N, F_NEG_INNER, F_ZERO_C, F_OVERFLOW,
    F_BAD_INDEX, F_NAN_DENSE, F_RANGE_DENSE,
    F_NEG_WEIGHT, F_NAN_WEIGHT, F_INF_WEIGHT,
    F_COUNT
};

typedef struct thr {
    int id;
    rng r;
    focal_loss *own;
    cfg own_cfg;
    focal_loss *spot;           /* sigmoid, SUM: spot checks */
    focal_loss *spot_softmax;   /* softmax, SUM: spot checks */
    focal_loss *const *shared;
    const cfg *shared_cfg;
    uint64_t calls, valid, invalid, spot_checks, counts_checks, finite_checks;
} thr;

#define BIT(x) (1u << (x))

static int fault_applies(int f, int op, int dense)
{
    switch (f) {
    case F_NULL_INPUT: return op != OP_COUNTS;
    case F_NULL_OUT: return op == OP_FORWARD || op == OP_FUSED;
    case F_NULL_GRAD_OUT: return op == OP_BACKWARD || op == OP_TARGET_GRAD;
    case F_NULL_GRAD_INPUT: return op == OP_BACKWARD || op == OP_TARGET_GRAD;
    case F_NULL_COUNTS: return op == OP_COUNTS;
    case F_BAD_INDEX: return !dense;
    case F_NAN_DENSE: case F_RANGE_DENSE: return dense;
    default: return 1;
    }
}

/* What the documented rules make of the settings and the call (the fault
 * is what this call injected on top). */
static unsigned allowed(const cfg *k, int op, int dense, int64_t c, int f)
{
    unsigned wrong = 0, extra = 0;
    switch (f) {
    case F_NULL_LOSS: case F_NULL_INPUT: case F_NULL_TARGET: case F_NULL_GRAD_OUT:
    case F_NULL_GRAD_INPUT: case F_NULL_COUNTS:
        wrong |= BIT(FOCAL_ERROR_NULL_POINTER);
        break;
    case F_NULL_OUT:
        if (op == OP_FORWARD)
            wrong |= BIT(FOCAL_ERROR_NULL_POINTER);
        else
            extra |= BIT(FOCAL_ERROR_NULL_POINTER);   /* fused with nothing to compute */
        break;
    case F_NEG_N: case F_NEG_INNER: case F_ZERO_C: case F_OVERFLOW:
        wrong |= BIT(FOCAL_ERROR_INVALID_SHAPE);
        break;
    case F_BAD_INDEX: case F_NAN_DENSE: case F_RANGE_DENSE:
        wrong |= BIT(FOCAL_ERROR_INVALID_TARGET);
        break;
    case F_NEG_WEIGHT: case F_NAN_WEIGHT: case F_INF_WEIGHT:
        wrong |= BIT(FOCAL_ERROR_INVALID_WEIGHT);
        break;
    default: break;
    }
    if (f != F_NULL_LOSS) {
        const int sig = k->mode == FOCAL_MODE_SIGMOID;
        const int probs = k->input == FOCAL_INPUT_PROBABILITIES;
        const unsigned inc = BIT(FOCAL_ERROR_INCOMPATIBLE);
        if (k->alpha_count > 0 && k->alpha_count != c)
            wrong |= BIT(FOCAL_ERROR_INVALID_SHAPE);
        if (k->pw_count > 0 && k->pw_count != c)
            wrong |= BIT(FOCAL_ERROR_INVALID_SHAPE);
        if (!sig && (k->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES || k->variant == FOCAL_VARIANT_FL_STAR))
            wrong |= inc;
        if ((k->soft_form == FOCAL_SOFT_SPLIT || k->pw_count > 0) && (!sig || k->variant != FOCAL_VARIANT_FL))
            wrong |= inc;
        if (sig && k->variant == FOCAL_VARIANT_FL_STAR && (probs || k->gamma == 0))
            wrong |= inc;
        if (k->variant >= FOCAL_VARIANT_QFL && (!sig || probs))
            wrong |= inc;
        if (k->variant == FOCAL_VARIANT_QFL && k->gamma > 0 && k->gamma < 1)
            wrong |= inc;
        if (k->variant == FOCAL_VARIANT_VFL &&
            (k->alpha_kind == 2 || k->label_smoothing > 0 || k->reduction == FOCAL_REDUCTION_WEIGHTED_MEAN))
            wrong |= inc;
        if (k->variant == FOCAL_VARIANT_ASL && k->clip > 0 && k->gamma_negative > 0 && k->gamma_negative < 1)
            wrong |= inc;
        if (k->poly != 0 &&
            (k->variant != FOCAL_VARIANT_FL || (!sig && (dense || k->label_smoothing > 0)) ||
             k->soft_form == FOCAL_SOFT_SPLIT || k->pw_count > 0))
            wrong |= inc;
    }
    return wrong ? wrong | extra : BIT(FOCAL_OK) | extra;
}

typedef struct buf {
    unsigned char *p;
    size_t bytes;      /* allocated: the output's bytes and GUARD_BYTES */
    size_t used;       /* the output's own bytes */
    unsigned char *copy;
} buf;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        fprintf(stderr, "soak: out of memory (%zu bytes)\n", bytes);
        abort();
    }
    return p;
}

static void out_alloc(buf *b, size_t used, unsigned char guard)
{
    b->used = used;
    b->bytes = used + GUARD_BYTES;
    b->p = xmalloc(b->bytes);
    memset(b->p, guard, b->bytes);
    b->copy = xmalloc(b->bytes);
    memcpy(b->copy, b->p, b->bytes);
}

static void out_free(buf *b)
{
    free(b->p);
    free(b->copy);
    b->p = b->copy = NULL;
}

static int untouched(const buf *b) { return b->p == NULL || memcmp(b->p, b->copy, b->bytes) == 0; }
static int tail_untouched(const buf *b)
{
    return b->p == NULL || memcmp(b->p + b->used, b->copy + b->used, GUARD_BYTES) == 0;
}

static focal_status call_api(int type, int op, int dense, const focal_loss *l, int64_t n, int64_t c,
                             int64_t inner, const void *x, const int64_t *ti, const void *td, const void *w,
                             const void *go, void *out, void *gi, double *counts)
{
#define CALLS(sfx)                                                                                  \
    switch (op * 2 + dense) {                                                                          \
    case 0: return focal_forward_##sfx(l, n, c, inner, x, ti, w, out);                                 \
    case 1: return focal_forward_dense_##sfx(l, n, c, inner, x, td, w, out);                           \
    case 2: return focal_backward_##sfx(l, n, c, inner, x, ti, w, go, gi);                             \
    case 3: return focal_backward_dense_##sfx(l, n, c, inner, x, td, w, go, gi);                       \
    case 4: return focal_forward_backward_##sfx(l, n, c, inner, x, ti, w, out, gi);                    \
    case 5: return focal_forward_backward_dense_##sfx(l, n, c, inner, x, td, w, out, gi);              \
    case 6: return focal_counts_##sfx(l, n, c, inner, ti, w, counts);                                  \
    case 7: return focal_counts_dense_##sfx(l, n, c, inner, td, w, counts);                            \
    default: break;                                                                                    \
    }
    switch (type) {
    case T_F32:
        if (op == OP_TARGET_GRAD)
            return focal_backward_target_dense_f32(l, n, c, inner, x, td, w, go, gi);
        CALLS(f32)
        break;
    case T_F64:
        if (op == OP_TARGET_GRAD)
            return focal_backward_target_dense_f64(l, n, c, inner, x, td, w, go, gi);
        CALLS(f64)
        break;
    case T_BF16: CALLS(bf16) break;
    default: CALLS(f16) break;
    }
#undef CALLS
    return (focal_status)-1;
}

/* Values far from overflow in the call's output type: f16 tops out at
 * 65504, so its sums over many elements, its weighted means (whose
 * denominators may be small) and its probability-input gradients are
 * exempt, as the header allows. */
static int tame(int type, const cfg *k, size_t elements)
{
    if (type != T_F16)
        return 1;
    if (k->input == FOCAL_INPUT_PROBABILITIES)
        return 0;
    if (k->reduction == FOCAL_REDUCTION_NONE || k->reduction == FOCAL_REDUCTION_MEAN)
        return 1;
    return elements <= 64 && k->reduction != FOCAL_REDUCTION_WEIGHTED_MEAN;
}

static void compute_call(thr *t, const focal_loss *l, const cfg *k)
{
    rng *r = &t->r;
    int type = (int)rn(r, T_COUNT);
    int op = (int)rn(r, OP_COUNT);
    if (op == OP_TARGET_GRAD && type >= T_BF16)
        op = OP_COUNTS;
    const int dense = op == OP_TARGET_GRAD ? 1 : (int)rn(r, 2);
    const int sig = k->mode == FOCAL_MODE_SIGMOID;

    /* The shape: mostly small, sometimes large enough for the pool to
     * share the work (65536 values), sometimes empty. */
    int64_t n, c, inner;
    const unsigned shape = rn(r, 40);
    if (shape == 0) {
        n = 256 + rn(r, 64);
        c = 4 + rn(r, 2);
        inner = 64 + rn(r, 16);
    } else {
        n = 1 + rn(r, 6);
        c = 1 + rn(r, 6);
        inner = 1 + rn(r, 4);
        if (shape == 1)
            n = 0;
        else if (shape == 2)
            inner = 0;
    }
    const int64_t vec = k->alpha_count > 0 ? k->alpha_count : k->pw_count;
    if (vec > 0 && !chance(r, 6))
        c = vec;
    const size_t es = type_size[type];
    const size_t positions = (size_t)(n * inner), elements = (size_t)(n * c * inner);

    int f = F_NONE;
    if (chance(r, 6)) {
        do
            f = 1 + (int)rn(r, F_COUNT - 1);
        while (!fault_applies(f, op, dense));
        if ((f == F_BAD_INDEX || f == F_NAN_DENSE || f == F_RANGE_DENSE || f >= F_NEG_WEIGHT) && positions == 0)
            f = F_NULL_TARGET;   /* an empty call has no value to spoil */
    }
    const int use_weight = f >= F_NEG_WEIGHT || chance(r, 3);

    /* Inputs. */
    void *x = xmalloc(elements * es);
    for (size_t i = 0; i < elements; i++) {
        const double v = k->input == FOCAL_INPUT_PROBABILITIES ? (1 + rn(r, 255)) / 256.0
                                                                : ((double)rn(r, 97) - 48) / 8.0;
        st(type, x, i, v);
    }
    int64_t *ti = NULL;
    void *td = NULL;
    if (dense) {
        td = xmalloc(elements * es);
        for (size_t i = 0; i < elements; i++)
            st(type, td, i, chance(r, 2) ? (double)rn(r, 2) : rn(r, 17) / 16.0);
    } else {
        ti = xmalloc(positions * sizeof(int64_t));
        const int64_t hi = sig ? c + 1 : c;
        for (size_t i = 0; i < positions; i++)
            ti[i] = (k->has_ignore && chance(r, 8)) ? k->ignore_index : (int64_t)rn(r, (unsigned)hi);
        if (f == F_BAD_INDEX) {
            int64_t bad = chance(r, 2) ? hi + (int64_t)rn(r, 5) : -1 - (int64_t)rn(r, 5);
            if (k->has_ignore && bad == k->ignore_index)
                bad = hi + 7;
            ti[rn(r, (unsigned)positions)] = bad;
        }
    }
    if (f == F_NAN_DENSE)
        st(type, td, rn(r, (unsigned)elements), NAN);
    if (f == F_RANGE_DENSE)
        st(type, td, rn(r, (unsigned)elements), chance(r, 2) ? 1.5 : -0.25);
    void *w = NULL;
    if (use_weight) {
        w = xmalloc(positions * es);
        for (size_t i = 0; i < positions; i++)
            st(type, w, i, chance(r, 8) ? 0.0 : rn(r, 17) / 8.0);
        if (f >= F_NEG_WEIGHT) {
            const double bad = f == F_NEG_WEIGHT ? -0.5 : f == F_NAN_WEIGHT ? NAN : INFINITY;
            st(type, w, rn(r, (unsigned)positions), bad);
        }
    }
    const size_t out_n = k->reduction == FOCAL_REDUCTION_NONE ? (sig ? elements : positions) : 1;
    void *go = NULL;
    if (op == OP_BACKWARD || op == OP_TARGET_GRAD) {
        go = xmalloc(out_n * es);
        for (size_t i = 0; i < out_n; i++)
            st(type, go, i, ((double)rn(r, 33) - 16) / 8.0);
    }

    /* Outputs, filled with a guard pattern. */
    const unsigned char guard = (unsigned char)(0x80 | rn(r, 128));
    buf out = {0}, gi = {0}, cnt = {0};
    int want_out = op == OP_FORWARD, want_gi = op == OP_BACKWARD || op == OP_TARGET_GRAD;
    if (op == OP_FUSED) {
        want_out = !chance(r, 6);
        want_gi = !want_out || !chance(r, 5);
        if (f == F_NULL_OUT)
            want_out = want_gi = 0;
    }
    if (f == F_NULL_OUT)
        want_out = 0;
    if (f == F_NULL_GRAD_INPUT)
        want_gi = 0;
    if (want_out)
        out_alloc(&out, out_n * es, guard);
    if (want_gi)
        out_alloc(&gi, elements * es, guard);
    if (op == OP_COUNTS && f != F_NULL_COUNTS)
        out_alloc(&cnt, 3 * sizeof(double), guard);

    /* The faults that the call's arguments carry. */
    int64_t pn = n, pc = c, pinner = inner;
    switch (f) {
    case F_NEG_N: pn = -1 - (int64_t)rn(r, 3); break;
    case F_NEG_INNER: pinner = -1 - (int64_t)rn(r, 3); break;
    case F_ZERO_C: pc = chance(r, 2) ? 0 : -2; break;
    case F_OVERFLOW: pn = INT64_MAX / 2; pc = 4; pinner = 1 + (int64_t)rn(r, 3); break;
    default: break;
    }
    const focal_loss *pl = f == F_NULL_LOSS ? NULL : l;
    const void *px = f == F_NULL_INPUT ? NULL : x;
    const int64_t *pti = f == F_NULL_TARGET ? NULL : ti;
    const void *ptd = f == F_NULL_TARGET ? NULL : td;
    if (f == F_NULL_GRAD_OUT)
        go = (free(go), NULL);

    const unsigned mask = allowed(k, op, dense, pc, f);
    const focal_status s = call_api(type, op, dense, pl, pn, pc, pinner, px, pti, ptd, w, go, out.p, gi.p,
                                    (double *)(void *)cnt.p);
    t->calls++;
    if (mask & BIT(FOCAL_OK))
        t->valid++;
    else
        t->invalid++;

    char what[160];
    snprintf(what, sizeof what, "%s %s%s, n %" PRId64 " c %" PRId64 " inner %" PRId64 ", fault %d, mode %d variant %d reduction %d",
             op_names[op], type_names[type], dense ? " dense" : "", pn, pc, pinner, f, (int)k->mode,
             (int)k->variant, (int)k->reduction);
    if ((unsigned)s > 99 || !(mask & BIT(s))) {
        fail("status", "%s: returned %d, allowed mask 0x%x", what, (int)s, mask);
    } else if (s != FOCAL_OK) {
        if (focal_last_error()[0] == '\0')
            fail("detail", "%s: status %d with an empty focal_last_error()", what, (int)s);
        if (!untouched(&out) || !untouched(&gi) || !untouched(&cnt))
            fail("no writes on failure", "%s: status %d but an output was written", what, (int)s);
    } else {
        if (!tail_untouched(&out) || !tail_untouched(&gi) || !tail_untouched(&cnt))
            fail("bounds", "%s: written past the end of an output", what);
        if (tame(type, k, elements)) {
            t->finite_checks++;
            if (out.p != NULL)
                for (size_t i = 0; i < out_n; i++)
                    if (!isfinite(ld(type, out.p, i))) {
                        fail("finite", "%s: out[%zu] = %g", what, i, ld(type, out.p, i));
                        break;
                    }
            if (gi.p != NULL)
                for (size_t i = 0; i < elements; i++)
                    if (!isfinite(ld(type, gi.p, i))) {
                        fail("finite", "%s: grad[%zu] = %g", what, i, ld(type, gi.p, i));
                        break;
                    }
        }
        if (cnt.p != NULL) {
            /* counts[0] and counts[2] from the targets themselves. */
            const double *cv = (const double *)(void *)cnt.p;
            double c0 = 0, c2 = 0;
            for (size_t i = 0; i < positions; i++) {
                if (dense) {
                    c0 += sig ? (double)c : 1;
                    if (sig)
                        for (int64_t j = 0; j < c; j++)
                            c2 += ld(type, td, (i / (size_t)inner) * (size_t)(c * inner) + (size_t)j * (size_t)inner +
                                                   i % (size_t)inner);
                    continue;
                }
                if (k->has_ignore && ti[i] == k->ignore_index)
                    continue;
                c0 += sig ? (double)c : 1;
                if (sig && ti[i] < c)
                    c2 += 1;
            }
            t->counts_checks++;
            if (cv[0] != c0 || fabs(cv[2] - c2) > 1e-9 * (1 + c2) || !(cv[1] >= 0) || !isfinite(cv[1]))
                fail("counts", "%s: counts {%.17g, %.17g, %.17g}, expected {%.17g, >= 0, %.17g}", what, cv[0],
                     cv[1], cv[2], c0, c2);
        }
    }
    free(x);
    free(ti);
    free(td);
    free(w);
    free(go);
    out_free(&out);
    out_free(&gi);
    out_free(&cnt);
}

/* ------------------------------------------------------------------------
 * Spot checks against closed forms in double
 * ------------------------------------------------------------------------ */

static int close_to(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fmax(fabs(want), 1e-3);
}

/* Sigmoid FL of one element, reduction SUM: loss and d loss / d x. */
static void spot_sigmoid(thr *t)
{
    rng *r = &t->r;
    focal_loss *l = t->spot;
    const double g = (double[]){0, 0.5, 1, 2, 3.5}[rn(r, 5)];
    const int has_alpha = chance(r, 2);
    const double a = rn(r, 5) / 4.0;
    const double x = ((double)rn(r, 65) - 32) / 8.0;
    const int64_t tgt = rn(r, 2);   /* 0: positive, 1 (= c): background */
    SET_OK(focal_loss_set_gamma(l, g));
    SET_OK(has_alpha ? focal_loss_set_alpha(l, a) : focal_loss_clear_alpha(l));
    SET_OK(focal_loss_set_threads(l, 1 + (int)rn(r, 4)));

    const double p = 1 / (1 + exp(-x));
    const double q = tgt == 0 ? p : 1 - p;                /* p_t */
    const double at = !has_alpha ? 1 : tgt == 0 ? a : 1 - a;
    const double sgn = tgt == 0 ? 1 : -1;
    const double want_loss = -at * pow(1 - q, g) * log(q);
    const double want_grad = sgn * at * (g * pow(1 - q, g) * q * log(q) - pow(1 - q, g + 1));

    const int type = (int)rn(r, T_COUNT);
    static const double tol[T_COUNT] = {1e-5, 1e-12, 2e-2, 4e-3};
    unsigned char xin[8], out[8], grad[8];
    st(type, xin, 0, x);
    const focal_status s = call_api(type, OP_FUSED, 0, l, 1, 1, 1, xin, &tgt, NULL, NULL, NULL, out, grad, NULL);
    t->spot_checks++;
    if (s != FOCAL_OK) {
        fail("spot sigmoid", "%s returned %d", type_names[type], (int)s);
        return;
    }
    const double got_loss = ld(type, out, 0), got_grad = ld(type, grad, 0);
    if (!close_to(got_loss, want_loss, tol[type]) || !close_to(got_grad, want_grad, tol[type]))
        fail("spot sigmoid", "%s x %g target %" PRId64 " gamma %g alpha %s%g: loss %.17g grad %.17g, closed form %.17g %.17g",
             type_names[type], x, tgt, g, has_alpha ? "" : "none ", a, got_loss, got_grad, want_loss, want_grad);
}

/* Softmax FL of one position with three classes, reduction SUM. */
static void spot_softmax(thr *t)
{
    rng *r = &t->r;
    focal_loss *l = t->spot_softmax;
    const double g = (double[]){0, 0.5, 1, 2, 3.5}[rn(r, 5)];
    double x[3];
    for (int i = 0; i < 3; i++)
        x[i] = ((double)rn(r, 65) - 32) / 8.0;
    const int64_t tgt = rn(r, 3);
    SET_OK(focal_loss_set_gamma(l, g));
    const double m = fmax(x[0], fmax(x[1], x[2]));
    const double z = exp(x[0] - m) + exp(x[1] - m) + exp(x[2] - m);
    const double pt = exp(x[tgt] - m) / z;
    const double want = -pow(1 - pt, g) * log(pt);
    double out = NAN;
    const focal_status s = focal_forward_f64(l, 1, 3, 1, x, &tgt, NULL, &out);
    t->spot_checks++;
    if (s != FOCAL_OK || !close_to(out, want, 1e-12))
        fail("spot softmax", "status %d, loss %.17g, closed form %.17g (gamma %g)", (int)s, out, want, g);
}

/* ------------------------------------------------------------------------
 * Everything else: setters' domains, create, clone, helpers, getters
 * ------------------------------------------------------------------------ */

static void misc_call(thr *t)
{
    rng *r = &t->r;
    focal_loss *l = t->own;
    const cfg *k = &t->own_cfg;
    focal_status s = FOCAL_OK, want = FOCAL_ERROR_INVALID_PARAMETER;
    t->calls++;
    switch (rn(r, 14)) {
    case 0: s = focal_loss_set_gamma(l, chance(r, 2) ? -0.5 : NAN); break;
    case 1: s = focal_loss_set_reduction(l, (focal_reduction)(6 + rn(r, 5))); break;
    case 2: s = focal_loss_set_epsilon(l, chance(r, 2) ? 0.5 : 0.0); break;
    case 3: s = focal_loss_set_label_smoothing(l, chance(r, 2) ? 1.0 : -0.1); break;
    case 4: s = focal_loss_set_threads(l, -1 - (int)rn(r, 4)); break;
    case 5: s = focal_loss_set_clip(l, chance(r, 2) ? 1.0 : -0.01); break;
    case 6: s = focal_loss_set_divisor(l, chance(r, 2) ? -1.0 : INFINITY); break;
    case 7: s = focal_loss_set_variant(l, (focal_variant)(5 + rn(r, 3))); break;
    case 8: {
        const double bad[2] = {1.0, chance(r, 2) ? -1.0 : NAN};
        s = focal_loss_set_pos_weight_vector(l, bad, 2);
        break;
    }
    case 9:
        if (chance(r, 2)) {
            s = focal_loss_set_alpha_vector(l, NULL, 3);
            want = FOCAL_ERROR_NULL_POINTER;
        } else {
            const double a[1] = {0.5};
            s = focal_loss_set_alpha_vector(l, a, 0);
            want = FOCAL_ERROR_INVALID_SHAPE;
        }
        break;
    case 10:
        s = focal_loss_set_gamma(NULL, 2.0);
        want = FOCAL_ERROR_NULL_POINTER;
        break;
    case 11: {
        focal_loss *sentinel = (focal_loss *)(void *)&sentinel, *out = sentinel;
        s = focal_loss_create(&out, (focal_mode)(2 + rn(r, 3)));
        if (out != sentinel)
            fail("create", "a failing create wrote *out");
        break;
    }
    case 12: {
        double bias = 12345, want_bias;
        const double prior = chance(r, 2) ? runif(r, 0.001, 0.999) : (chance(r, 2) ? 0.0 : 1.5);
        s = focal_prior_bias(prior, &bias);
        if (prior > 0 && prior < 1) {
            want = FOCAL_OK;
            want_bias = log(prior / (1 - prior));
            if (s == FOCAL_OK && !close_to(bias, want_bias, 1e-12))
                fail("prior_bias", "%.17g for prior %.17g", bias, prior);
        } else if (bias != 12345) {
            fail("prior_bias", "a failing call wrote the bias");
        }
        break;
    }
    default: {
        /* Library-wide queries. */
        if (focal_version_number() / 10000 != FOCAL_VERSION_MAJOR || focal_version_string()[0] == '\0' ||
            focal_isa()[0] == '\0' || focal_status_string((focal_status)(int)rn(r, 120))[0] == '\0')
            fail("queries", "version, isa or status string");
        return;
    }
    }
    if (want == FOCAL_OK)
        t->valid++;
    else
        t->invalid++;
    if (s != want)
        fail("setter domain", "returned %d, expected %d", (int)s, (int)want);
    if (s != FOCAL_OK && focal_last_error()[0] == '\0')
        fail("detail", "a failing setter left focal_last_error() empty");
    /* A failing setter leaves the context as it was. */
    if (chance(r, 4))
        check_getters(l, k);
}

/* Reconfigure the thread's own context: new settings, sometimes a new
 * mode (a new context), sometimes a clone of a shared one. */
static void reconfigure(thr *t)
{
    rng *r = &t->r;
    if (chance(r, 8)) {
        const int j = (int)rn(r, N_SHARED);
        focal_loss *copy = NULL;
        if (focal_loss_clone(t->shared[j], &copy) != FOCAL_OK) {
            fail("clone", "of a shared context");
            return;
        }
        focal_loss_destroy(t->own);
        t->own = copy;
        t->own_cfg = t->shared_cfg[j];
        check_getters(t->own, &t->own_cfg);
        return;
    }
    const focal_mode mode = chance(r, 2) ? FOCAL_MODE_SIGMOID : FOCAL_MODE_SOFTMAX;
    if (mode != t->own_cfg.mode || chance(r, 16)) {
        focal_loss *fresh = NULL;
        if (focal_loss_create(&fresh, mode) != FOCAL_OK) {
            fail("create", "mode %d", (int)mode);
            return;
        }
        focal_loss_destroy(t->own);
        t->own = fresh;
    }
    random_cfg(r, &t->own_cfg, mode);
    if (!chance(r, 8))
        make_compatible(&t->own_cfg);
    apply_cfg(r, t->own, &t->own_cfg);
    if (chance(r, 8))
        check_getters(t->own, &t->own_cfg);
}

static void *worker(void *arg)
{
    thr *t = arg;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        const unsigned what = rn(&t->r, 64);
        if (what < 6) {
            reconfigure(t);
        } else if (what < 9) {
            misc_call(t);
        } else if (what == 9) {
            spot_sigmoid(t);
        } else if (what == 10) {
            spot_softmax(t);
        } else if (what < 38) {
            compute_call(t, t->own, &t->own_cfg);
        } else {
            const int j = (int)rn(&t->r, N_SHARED);
            if (chance(&t->r, 32))
                check_getters(t->shared[j], &t->shared_cfg[j]);
            compute_call(t, t->shared[j], &t->shared_cfg[j]);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * Resident memory
 * ------------------------------------------------------------------------ */

/* VmRSS in KiB, or -1 when it cannot be read. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

static long max_of(const long *v, size_t from, size_t to)
{
    long m = 0;
    for (size_t i = from; i < to; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static int cmp_long(const void *a, const void *b)
{
    const long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long median_of(const long *v, size_t from, size_t to)
{
    long tmp[4096];
    size_t m = to - from;
    if (m > 4096) {
        from = to - 4096;
        m = 4096;
    }
    memcpy(tmp, v + from, m * sizeof *tmp);
    qsort(tmp, m, sizeof *tmp, cmp_long);
    return tmp[m / 2];
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak [--seconds S] [--threads N] [--seed X] [--rss-bound-kib K] [--no-rss-check]\n"
                    "            [--leak-kib-per-s L]\n");
}

int main(int argc, char **argv)
{
    double seconds = 600;
    int nthreads = 4, rss_check = !SOAK_SANITIZER;
    uint64_t seed = 1;
    long bound_kib = 2048, leak_kib = 0;
    for (int i = 1; i < argc; i++) {
        const int more = i + 1 < argc;
        if (strcmp(argv[i], "--seconds") == 0 && more)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--threads") == 0 && more)
            nthreads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && more)
            seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--rss-bound-kib") == 0 && more)
            bound_kib = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--leak-kib-per-s") == 0 && more)
            leak_kib = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--no-rss-check") == 0)
            rss_check = 0;
        else {
            usage();
            return 2;
        }
    }
    if (!(seconds >= 5) || nthreads < 1 || nthreads > 64 || bound_kib < 0 || leak_kib < 0) {
        usage();
        fprintf(stderr, "soak: --seconds must be >= 5 (a 2 s warm-up and three thirds), --threads in [1, 64]\n");
        return 2;
    }
#if defined(__GLIBC__)
    /* glibc raises its mmap threshold after the first large free, then
     * keeps large blocks on the heap, where the resident size follows its
     * fragmentation rather than the live memory; a fixed threshold keeps
     * blocks of 64 KiB and more in their own mappings, returned on free. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
    if (leak_kib > 0 && SOAK_SANITIZER) {
        printf("skipped: the memory check, which --leak-kib-per-s tests, is not applied in a sanitizer build\n");
        return 77;
    }
    const long rss_start = rss_kib();
    if (rss_start < 0) {
        printf("skipped: /proc/self/status has no VmRSS to sample (not Linux?)\n");
        return 77;
    }
    printf("soak: %.0f s, %d threads, seed %" PRIu64 ", table %s, libfocal %s%s\n", seconds, nthreads, seed,
           focal_isa(), focal_version_string(), SOAK_SANITIZER ? ", sanitizer build" : "");
    fflush(stdout);

    /* The shared contexts: configured here, only read by the threads. */
    rng r0 = {seed * 0x9E3779B97F4A7C15ULL + 1};
    focal_loss *shared[N_SHARED];
    cfg shared_cfg[N_SHARED];
    for (int j = 0; j < N_SHARED; j++) {
        const focal_mode mode = j % 2 ? FOCAL_MODE_SIGMOID : FOCAL_MODE_SOFTMAX;
        if (focal_loss_create(&shared[j], mode) != FOCAL_OK) {
            fprintf(stderr, "soak: focal_loss_create failed\n");
            return 1;
        }
        random_cfg(&r0, &shared_cfg[j], mode);
        if (j < N_SHARED - 1)   /* the last one keeps whatever does not fit */
            make_compatible(&shared_cfg[j]);
        if (j > 0 && j < N_SHARED - 1 && mode == FOCAL_MODE_SOFTMAX)
            shared_cfg[j].poly = 0;   /* Poly-1 in softmax takes no dense targets: only the first keeps it */
        apply_cfg(&r0, shared[j], &shared_cfg[j]);
    }

    thr *ts = calloc((size_t)nthreads, sizeof *ts);
    pthread_t *tid = calloc((size_t)nthreads, sizeof *tid);
    if (ts == NULL || tid == NULL)
        return 1;
    for (int i = 0; i < nthreads; i++) {
        thr *t = &ts[i];
        t->id = i;
        t->r.s = (seed + 1) * 0xD1B54A32D192ED03ULL + (uint64_t)i * 0x9E3779B97F4A7C15ULL + 7;
        t->shared = shared;
        t->shared_cfg = shared_cfg;
        if (focal_loss_create(&t->own, FOCAL_MODE_SOFTMAX) != FOCAL_OK ||
            focal_loss_create(&t->spot, FOCAL_MODE_SIGMOID) != FOCAL_OK ||
            focal_loss_create(&t->spot_softmax, FOCAL_MODE_SOFTMAX) != FOCAL_OK ||
            focal_loss_set_reduction(t->spot, FOCAL_REDUCTION_SUM) != FOCAL_OK ||
            focal_loss_set_reduction(t->spot_softmax, FOCAL_REDUCTION_SUM) != FOCAL_OK) {
            fprintf(stderr, "soak: setting up the thread's contexts failed\n");
            return 1;
        }
        random_cfg(&t->r, &t->own_cfg, FOCAL_MODE_SOFTMAX);
        make_compatible(&t->own_cfg);
        apply_cfg(&t->r, t->own, &t->own_cfg);
    }
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&tid[i], NULL, worker, &ts[i]) != 0) {
            fprintf(stderr, "soak: pthread_create failed\n");
            atomic_store(&g_stop, 1);
            nthreads = i;
            break;
        }

    /* One RSS sample a second: the least of ten reads within the second,
     * the floor under the large calls' transient buffers (which come and
     * go several MiB at a time); the greatest is kept for the record. */
    const size_t cap = (size_t)seconds + 16;
    long *rss = calloc(cap, sizeof *rss), *rss_peak = calloc(cap, sizeof *rss_peak);
    if (rss == NULL || rss_peak == NULL)
        return 1;
    size_t ns = 0;
    const double t0 = now_seconds();
    double elapsed = 0;
    while (!atomic_load(&g_stop)) {
        long lo = LONG_MAX, hi = 0;
        for (int k = 1; k <= 10 && !atomic_load(&g_stop); k++) {
            const double next = t0 + (double)ns + 0.1 * k;
            double left;
            while ((left = next - now_seconds()) > 0 && !atomic_load(&g_stop)) {
                struct timespec d = {0, (long)(left * 1e9)};
                nanosleep(&d, NULL);
            }
            const long v = rss_kib();
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (atomic_load(&g_stop))
            break;
        if (leak_kib > 0) {
            char *leak = malloc((size_t)leak_kib * 1024);   /* deliberately never freed */
            if (leak != NULL)
                memset(leak, 0x5A, (size_t)leak_kib * 1024);
            printf("leaked %ld KiB at %p\n", leak_kib, (void *)leak);
        }
        if (ns < cap) {
            rss[ns] = lo;
            rss_peak[ns] = hi;
            ns++;
        }
        elapsed = now_seconds() - t0;
        if (elapsed >= seconds)
            atomic_store(&g_stop, 1);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);
    elapsed = now_seconds() - t0;

    uint64_t calls = 0, valid = 0, invalid = 0, spots = 0, counts = 0, finite = 0;
    for (int i = 0; i < nthreads; i++) {
        calls += ts[i].calls;
        valid += ts[i].valid;
        invalid += ts[i].invalid;
        spots += ts[i].spot_checks;
        counts += ts[i].counts_checks;
        finite += ts[i].finite_checks;
        focal_loss_destroy(ts[i].own);
        focal_loss_destroy(ts[i].spot);
        focal_loss_destroy(ts[i].spot_softmax);
    }
    for (int j = 0; j < N_SHARED; j++)
        focal_loss_destroy(shared[j]);

    const int failures = atomic_load(&g_failures);
    printf("calls %" PRIu64 " in %.1f s (%.0f/s): %" PRIu64 " valid, %" PRIu64 " invalid; %" PRIu64
           " closed-form spot checks, %" PRIu64 " counts checks, %" PRIu64 " finiteness checks\n",
           calls, elapsed, (double)calls / elapsed, valid, invalid, spots, counts, finite);

    int rss_fail = 0;
    const size_t warm = ns / 5 > 2 ? ns / 5 : 2;
    if (ns >= warm + 3) {
        const size_t third = (ns - warm) / 3;
        const size_t a = warm, b = warm + third, c = warm + 2 * third;
        const long ma = max_of(rss_peak, a, b), mb = max_of(rss_peak, b, c), mc = max_of(rss_peak, c, ns);
        const long da = median_of(rss, a, b), db = median_of(rss, b, c), dc = median_of(rss, c, ns);
        /* The least-squares slope after the warm-up, for the record. */
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        const double m = (double)(ns - warm);
        for (size_t i = warm; i < ns; i++) {
            sx += (double)i;
            sy += (double)rss[i];
            sxx += (double)i * (double)i;
            sxy += (double)i * (double)rss[i];
        }
        const double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);   /* KiB per second */
        printf("RSS (KiB; a sample is a second's floor): start %ld, after warm-up (%zu s) %ld, end %ld, peak %ld; "
               "thirds after warm-up: median %ld, %ld, %ld, peak %ld, %ld, %ld; slope %.1f KiB/min; bound %ld KiB\n",
               rss_start, warm, rss[warm - 1], rss[ns - 1], max_of(rss_peak, 0, ns), da, db, dc, ma, mb, mc,
               slope * 60, bound_kib);
        rss_fail = dc > da + bound_kib && dc > db;
        if (!rss_check)
            printf("RSS check: not applied%s (would have %s)\n", SOAK_SANITIZER ? " in a sanitizer build" : "",
                   rss_fail ? "failed" : "passed");
        else if (rss_fail)
            printf("RSS check: FAILED: the last third's median %ld KiB exceeds the first third's %ld KiB by more "
                   "than %ld KiB and rises above the middle third's %ld KiB\n",
                   dc, da, bound_kib, db);
        else
            printf("RSS check: passed\n");
        if (!rss_check)
            rss_fail = 0;
    } else if (failures == 0) {
        printf("RSS check: too few samples (%zu)\n", ns);
        rss_fail = rss_check;
    }
    free(rss);
    free(rss_peak);
    free(ts);
    free(tid);
    if (failures > 0)
        printf("FAILED: %d violated properties\n", failures);
    else if (!rss_fail)
        printf("PASSED\n");
    return failures > 0 || rss_fail ? 1 : 0;
}
