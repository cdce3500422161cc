/*
 * Shared by the fuzz targets: the byte reader that decodes a fuzz input,
 * the tables of special values, a snapshot of every getter of a context,
 * and the setters applied with checked results.
 *
 * A violated property prints what went wrong and aborts, so that libFuzzer
 * (or the replay driver) reports the input.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_FUZZ_COMMON_H
#define FOCAL_FUZZ_COMMON_H

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

/* ------------------------------------------------------------------------
 * Failure reporting
 * ------------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5), noreturn))
#endif
static inline void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...);

/* A target may describe the case being run; printed with a failure. */
static void (*fuzz_describe)(FILE *f);

static inline void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "\nFUZZ ASSERTION FAILED at %s:%d: %s\n  ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  focal_last_error(): \"%s\"\n", focal_last_error());
    if (fuzz_describe != NULL)
        fuzz_describe(stderr);
    fflush(stderr);
    abort();
}

#define FUZZ_CHECK(cond, ...)                                       \
    do {                                                            \
        if (!(cond))                                                \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);      \
    } while (0)

/* Every status the API lists. */
static inline int fuzz_status_listed(focal_status s)
{
    return ((int)s >= 0 && (int)s <= 7) || (int)s == 99;
}

/* A returned status must be listed, and a failure must leave a detail. */
#define FUZZ_CHECK_STATUS(s, what)                                                          \
    do {                                                                                    \
        FUZZ_CHECK(fuzz_status_listed(s), "%s returned %d, not a listed status", (what),    \
                   (int)(s));                                                               \
        if ((s) != FOCAL_OK)                                                                \
            FUZZ_CHECK(focal_last_error()[0] != '\0',                                       \
                       "%s failed with %d but focal_last_error() is empty", (what), (int)(s)); \
    } while (0)

/* ------------------------------------------------------------------------
 * The input reader: past the end every read returns zero bytes, so every
 * byte string decodes to some call.
 * ------------------------------------------------------------------------ */

typedef struct fuzz_reader {
    const uint8_t *data;
    size_t size, at;
} fuzz_reader;

static inline int fr_left(const fuzz_reader *r) { return r->at < r->size; }

static inline uint8_t fr_u8(fuzz_reader *r) { return r->at < r->size ? r->data[r->at++] : 0; }

static inline uint16_t fr_u16(fuzz_reader *r)
{
    const uint16_t lo = fr_u8(r);
    return (uint16_t)(lo | (uint16_t)fr_u8(r) << 8);
}

static inline uint64_t fr_u64(fuzz_reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)fr_u8(r) << (8 * i);
    return v;
}

static inline double fr_raw_f64(fuzz_reader *r)
{
    const uint64_t bits = fr_u64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline int64_t fr_raw_i64(fuzz_reader *r)
{
    const uint64_t bits = fr_u64(r);
    int64_t v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* ------------------------------------------------------------------------
 * Values. One selector byte s picks:
 *   s <  FUZZ_NSPECIAL        fuzz_special[s]
 *   s <  0xF0                 an ordinary value of the requested kind
 *   s >= 0xF0                 the next 8 bytes as a raw IEEE double
 * make_corpus.py mirrors these tables.
 * ------------------------------------------------------------------------ */

#define FUZZ_NSPECIAL 48
static const double fuzz_special[FUZZ_NSPECIAL] = {
    0.0,       -0.0,       1.0,        -1.0,      0.5,        2.0,     0.25,     0.75,
    3.0,       1e-7,       1e-8,       0.4999999, 0.9999999,  1e4,     -1e4,     88.0,
    -88.0,     104.0,      -104.0,     1e30,      -1e30,      1e38,    3.4e38,   1e300,
    -1e300,    DBL_MAX,    -DBL_MAX,   DBL_MIN,   5e-324,     1e-45,   FLT_MIN,  1e-300,
    NAN,       -NAN,       INFINITY,   -INFINITY, 1.0000001,  -1e-30,  0.01,     100.0,
    1e-3,      0.1,        0.9,        0.99,      4.0,        1e-310,  20.0,     -20.0,
};

enum fuzz_kind {
    FUZZ_LOGIT = 0,   /* ordinary: (s - 0x80) / 8, about [-10, 14] */
    FUZZ_UNIT = 1,    /* ordinary: [0, 1] */
    FUZZ_SCALE = 2    /* ordinary: [0, 6] in steps of 1/32 */
};

static inline double fr_value(fuzz_reader *r, enum fuzz_kind kind)
{
    const uint8_t s = fr_u8(r);
    if (s < FUZZ_NSPECIAL)
        return fuzz_special[s];
    if (s >= 0xF0)
        return fr_raw_f64(r);
    switch (kind) {
    case FUZZ_LOGIT:
        return ((int)s - 0x80) / 8.0;
    case FUZZ_UNIT:
        return (double)(s - FUZZ_NSPECIAL) / (double)(0xEF - FUZZ_NSPECIAL);
    case FUZZ_SCALE:
    default:
        return (double)(s - FUZZ_NSPECIAL) / 32.0;
    }
}

/* An int-sized enum value: s < 0x80 picks one of `valid` values 0..valid-1,
 * otherwise one of these (mostly invalid) values. */
#define FUZZ_NBAD_INT 8
static const int fuzz_bad_int[FUZZ_NBAD_INT] = {-1, 6, 2, INT_MIN, INT_MAX, 100, -100, 7};

static inline int fr_enum(fuzz_reader *r, int valid)
{
    const uint8_t s = fr_u8(r);
    if (s < 0x80)
        return s % valid;
    return fuzz_bad_int[s % FUZZ_NBAD_INT];
}

/* A thread count: mostly 0..4; sometimes negative; with `big`, also large. */
static inline int fr_threads(fuzz_reader *r, int big)
{
    const uint8_t s = fr_u8(r);
    if (s < 0xC0)
        return s % 5;
    static const int odd[8] = {-1, INT_MIN, -4, 8, 64, INT_MAX, 1000, 2};
    const int v = odd[s % 8];
    return (!big && v > 8) ? 4 : v;
}

/* An ignore_index: small values near the class range, PyTorch's -100, and
 * the extremes. */
static inline int64_t fr_index(fuzz_reader *r)
{
    const uint8_t s = fr_u8(r);
    if (s < 0xA0)
        return (int64_t)(s % 20) - 2;
    switch (s % 6) {
    case 0: return -100;
    case 1: return INT64_MIN;
    case 2: return INT64_MAX;
    case 3: return 255;
    case 4: return fr_raw_i64(r);
    default: return -1;
    }
}

/* ------------------------------------------------------------------------
 * Snapshot of a context, through its getters only.
 * ------------------------------------------------------------------------ */

#define FUZZ_MAX_ALPHA 96

typedef struct fuzz_snap {
    focal_mode mode;
    double gamma;
    focal_status alpha_status;      /* OK: scalar alpha; INCOMPATIBLE: none or vector */
    double alpha;
    int64_t alpha_count;
    double alpha_vector[FUZZ_MAX_ALPHA];
    focal_reduction reduction;
    focal_status ignore_status;     /* OK or INCOMPATIBLE */
    int64_t ignore_index;
    focal_input input;
    double epsilon;
    double label_smoothing;
    focal_variant variant;
    double beta;
    int threads;
    /* Since 1.1. */
    double gamma_negative;
    double clip;
    double poly_epsilon;
    double divisor;
    focal_soft_form soft_form;
    int64_t pos_weight_count;
    double pos_weight[FUZZ_MAX_ALPHA];
} fuzz_snap;

static inline int fuzz_same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static inline void fuzz_snapshot(const focal_loss *loss, fuzz_snap *s)
{
    memset(s, 0, sizeof *s);
    focal_status st;
#define FUZZ_GET(fn, field)                                                            \
    st = fn(loss, &s->field);                                                          \
    FUZZ_CHECK(st == FOCAL_OK, #fn " failed with %d on a valid context", (int)st)
    FUZZ_GET(focal_loss_get_mode, mode);
    FUZZ_GET(focal_loss_get_gamma, gamma);
    FUZZ_GET(focal_loss_get_alpha_count, alpha_count);
    FUZZ_GET(focal_loss_get_reduction, reduction);
    FUZZ_GET(focal_loss_get_input, input);
    FUZZ_GET(focal_loss_get_epsilon, epsilon);
    FUZZ_GET(focal_loss_get_label_smoothing, label_smoothing);
    FUZZ_GET(focal_loss_get_variant, variant);
    FUZZ_GET(focal_loss_get_beta, beta);
    FUZZ_GET(focal_loss_get_threads, threads);
    FUZZ_GET(focal_loss_get_gamma_negative, gamma_negative);
    FUZZ_GET(focal_loss_get_clip, clip);
    FUZZ_GET(focal_loss_get_poly_epsilon, poly_epsilon);
    FUZZ_GET(focal_loss_get_divisor, divisor);
    FUZZ_GET(focal_loss_get_soft_form, soft_form);
    FUZZ_GET(focal_loss_get_pos_weight_count, pos_weight_count);
#undef FUZZ_GET
    FUZZ_CHECK(s->pos_weight_count >= 0 && s->pos_weight_count <= FUZZ_MAX_ALPHA,
               "pos_weight count %" PRId64 " is not one the fuzzer set", s->pos_weight_count);
    if (s->pos_weight_count > 0) {
        st = focal_loss_get_pos_weight_vector(loss, s->pos_weight, s->pos_weight_count);
        FUZZ_CHECK(st == FOCAL_OK, "focal_loss_get_pos_weight_vector(count %" PRId64 ") failed with %d",
                   s->pos_weight_count, (int)st);
    }
    /* Getters that may fail must not write. */
    const double sentinel = -12345.678;
    double a = sentinel;
    s->alpha_status = focal_loss_get_alpha(loss, &a);
    FUZZ_CHECK_STATUS(s->alpha_status, "focal_loss_get_alpha");
    FUZZ_CHECK(s->alpha_status == FOCAL_OK || s->alpha_status == FOCAL_ERROR_INCOMPATIBLE,
               "focal_loss_get_alpha returned %d", (int)s->alpha_status);
    if (s->alpha_status != FOCAL_OK) {
        FUZZ_CHECK(fuzz_same_double(a, sentinel), "focal_loss_get_alpha wrote on failure");
        a = 0;
    }
    s->alpha = a;
    FUZZ_CHECK(s->alpha_count >= 0 && s->alpha_count <= FUZZ_MAX_ALPHA,
               "alpha count %" PRId64 " is not one the fuzzer set", s->alpha_count);
    FUZZ_CHECK(!(s->alpha_count > 0 && s->alpha_status == FOCAL_OK),
               "a scalar alpha and an alpha vector of %" PRId64 " at once", s->alpha_count);
    if (s->alpha_count > 0) {
        st = focal_loss_get_alpha_vector(loss, s->alpha_vector, s->alpha_count);
        FUZZ_CHECK(st == FOCAL_OK, "focal_loss_get_alpha_vector(count %" PRId64 ") failed with %d",
                   s->alpha_count, (int)st);
    }
    int64_t ig = -777;
    s->ignore_status = focal_loss_get_ignore_index(loss, &ig);
    FUZZ_CHECK_STATUS(s->ignore_status, "focal_loss_get_ignore_index");
    FUZZ_CHECK(s->ignore_status == FOCAL_OK || s->ignore_status == FOCAL_ERROR_INCOMPATIBLE,
               "focal_loss_get_ignore_index returned %d", (int)s->ignore_status);
    if (s->ignore_status != FOCAL_OK) {
        FUZZ_CHECK(ig == -777, "focal_loss_get_ignore_index wrote on failure");
        ig = 0;
    }
    s->ignore_index = ig;
}

/* Field by field, doubles bitwise; returns the first differing field. */
static inline const char *fuzz_snap_diff(const fuzz_snap *a, const fuzz_snap *b)
{
    if (a->mode != b->mode) return "mode";
    if (!fuzz_same_double(a->gamma, b->gamma)) return "gamma";
    if (a->alpha_status != b->alpha_status) return "alpha (scalar set or not)";
    if (!fuzz_same_double(a->alpha, b->alpha)) return "alpha";
    if (a->alpha_count != b->alpha_count) return "alpha count";
    for (int64_t i = 0; i < a->alpha_count; i++)
        if (!fuzz_same_double(a->alpha_vector[i], b->alpha_vector[i])) return "alpha vector";
    if (a->reduction != b->reduction) return "reduction";
    if (a->ignore_status != b->ignore_status) return "ignore_index (set or not)";
    if (a->ignore_index != b->ignore_index) return "ignore_index";
    if (a->input != b->input) return "input";
    if (!fuzz_same_double(a->epsilon, b->epsilon)) return "epsilon";
    if (!fuzz_same_double(a->label_smoothing, b->label_smoothing)) return "label_smoothing";
    if (a->variant != b->variant) return "variant";
    if (!fuzz_same_double(a->beta, b->beta)) return "beta";
    if (a->threads != b->threads) return "threads";
    if (!fuzz_same_double(a->gamma_negative, b->gamma_negative)) return "gamma_negative";
    if (!fuzz_same_double(a->clip, b->clip)) return "clip";
    if (!fuzz_same_double(a->poly_epsilon, b->poly_epsilon)) return "poly_epsilon";
    if (!fuzz_same_double(a->divisor, b->divisor)) return "divisor";
    if (a->soft_form != b->soft_form) return "soft_form";
    if (a->pos_weight_count != b->pos_weight_count) return "pos_weight count";
    for (int64_t i = 0; i < a->pos_weight_count; i++)
        if (!fuzz_same_double(a->pos_weight[i], b->pos_weight[i])) return "pos_weight vector";
    return NULL;
}

#define FUZZ_CHECK_SNAP(expected, actual, what)                                          \
    do {                                                                                 \
        const char *d_ = fuzz_snap_diff((expected), (actual));                           \
        FUZZ_CHECK(d_ == NULL, "%s: the context's %s is not as expected", (what), d_);   \
    } while (0)

/* ------------------------------------------------------------------------
 * Setters: one op byte picks the setter, then its value is decoded. The
 * expected outcome follows from the documented domain; after the call the
 * context must equal the snapshot before it, with the one setting changed
 * on success.
 * ------------------------------------------------------------------------ */

enum {
    FUZZ_SET_GAMMA, FUZZ_SET_ALPHA, FUZZ_SET_ALPHA_VECTOR, FUZZ_CLEAR_ALPHA, FUZZ_SET_REDUCTION,
    FUZZ_SET_IGNORE, FUZZ_CLEAR_IGNORE, FUZZ_SET_INPUT, FUZZ_SET_EPSILON, FUZZ_SET_SMOOTHING,
    FUZZ_SET_VARIANT, FUZZ_SET_BETA, FUZZ_SET_THREADS,
    /* Since 1.1. */
    FUZZ_SET_GAMMA_NEGATIVE, FUZZ_SET_CLIP, FUZZ_SET_POLY_EPSILON, FUZZ_SET_DIVISOR, FUZZ_SET_SOFT_FORM,
    FUZZ_SET_POS_WEIGHT, FUZZ_CLEAR_POS_WEIGHT, FUZZ_NSETTERS
};

static inline const char *fuzz_setter_name(int op)
{
    static const char *const names[FUZZ_NSETTERS] = {
        "set_gamma", "set_alpha", "set_alpha_vector", "clear_alpha", "set_reduction",
        "set_ignore_index", "clear_ignore_index", "set_input", "set_epsilon",
        "set_label_smoothing", "set_variant", "set_beta", "set_threads",
        "set_gamma_negative", "set_clip", "set_poly_epsilon", "set_divisor", "set_soft_form",
        "set_pos_weight_vector", "clear_pos_weight"};
    return op >= 0 && op < FUZZ_NSETTERS ? names[op] : "?";
}

/* An alpha vector: the count selector, then the values. Counts beyond
 * FUZZ_MAX_ALPHA are only ever ones whose byte size overflows size_t,
 * which the library must reject before reading a value. */
typedef struct fuzz_alpha {
    double values[FUZZ_MAX_ALPHA];
    int64_t count;
    int null_pointer;
    int64_t finite_count;   /* how many leading values are finite */
} fuzz_alpha;

static inline void fr_alpha(fuzz_reader *r, fuzz_alpha *a)
{
    const uint8_t s = fr_u8(r);
    a->null_pointer = 0;
    if (s < 0xF0) {
        a->count = 1 + s % 80;
    } else {
        static const int64_t odd[8] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 62,
                                       (int64_t)1 << 61, 3, -5};
        a->count = odd[s % 8];
        a->null_pointer = s == 0xF6;
    }
    const int64_t k = a->count > 0 && a->count <= FUZZ_MAX_ALPHA ? a->count : 3;
    for (int64_t i = 0; i < k; i++)
        a->values[i] = fr_value(r, FUZZ_UNIT);
    a->finite_count = 0;
    while (a->finite_count < k && isfinite(a->values[a->finite_count]))
        a->finite_count++;
}

/* Applies one decoded setter to loss (which may be NULL) and checks the
 * outcome. Returns the status. */
static inline focal_status fuzz_apply_setter(focal_loss *loss, fuzz_reader *r, int big_threads)
{
    const int op = fr_u8(r) % FUZZ_NSETTERS;
    fuzz_snap before, expect, after;
    if (loss != NULL)
        fuzz_snapshot(loss, &before);
    else
        memset(&before, 0, sizeof before);
    expect = before;
    focal_status st;
    focal_status want = FOCAL_OK;
    double v = 0;
    int e = 0;
    switch (op) {
    case FUZZ_SET_GAMMA:
        v = fr_value(r, FUZZ_SCALE);
        st = focal_loss_set_gamma(loss, v);
        if (!(isfinite(v) && v >= 0)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.gamma = v;
        break;
    case FUZZ_SET_ALPHA:
        v = fr_value(r, FUZZ_UNIT);
        st = focal_loss_set_alpha(loss, v);
        if (!isfinite(v)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.alpha_status = FOCAL_OK;
        expect.alpha = v;
        expect.alpha_count = 0;
        break;
    case FUZZ_SET_ALPHA_VECTOR: {
        fuzz_alpha a;
        fr_alpha(r, &a);
        st = focal_loss_set_alpha_vector(loss, a.null_pointer ? NULL : a.values, a.count);
        if (a.null_pointer)
            want = FOCAL_ERROR_NULL_POINTER;
        else if (a.count < 1 || a.count > FUZZ_MAX_ALPHA)
            want = FOCAL_ERROR_INVALID_SHAPE;
        else if (a.finite_count < a.count)
            want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.alpha_status = FOCAL_ERROR_INCOMPATIBLE;
        expect.alpha = 0;
        expect.alpha_count = a.count > 0 && a.count <= FUZZ_MAX_ALPHA ? a.count : 0;
        if (expect.alpha_count > 0)
            memcpy(expect.alpha_vector, a.values, (size_t)a.count * sizeof(double));
        /* A too large count may also be reported as out of memory. */
        if (loss != NULL && !a.null_pointer && a.count > FUZZ_MAX_ALPHA && st == FOCAL_ERROR_OUT_OF_MEMORY)
            want = st;
        break;
    }
    case FUZZ_CLEAR_ALPHA:
        st = focal_loss_clear_alpha(loss);
        expect.alpha_status = FOCAL_ERROR_INCOMPATIBLE;
        expect.alpha = 0;
        expect.alpha_count = 0;
        break;
    case FUZZ_SET_REDUCTION:
        e = fr_enum(r, 6);
        st = focal_loss_set_reduction(loss, (focal_reduction)e);
        if (e < 0 || e > 5) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.reduction = (focal_reduction)e;
        break;
    case FUZZ_SET_IGNORE: {
        const int64_t ix = fr_index(r);
        st = focal_loss_set_ignore_index(loss, ix);
        expect.ignore_status = FOCAL_OK;
        expect.ignore_index = ix;
        break;
    }
    case FUZZ_CLEAR_IGNORE:
        st = focal_loss_clear_ignore_index(loss);
        expect.ignore_status = FOCAL_ERROR_INCOMPATIBLE;
        expect.ignore_index = 0;
        break;
    case FUZZ_SET_INPUT:
        e = fr_enum(r, 2);
        st = focal_loss_set_input(loss, (focal_input)e);
        if (e < 0 || e > 1) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.input = (focal_input)e;
        break;
    case FUZZ_SET_EPSILON:
        v = fr_value(r, FUZZ_UNIT);
        st = focal_loss_set_epsilon(loss, v);
        if (!(v > 0 && v < 0.5)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.epsilon = v;
        break;
    case FUZZ_SET_SMOOTHING:
        v = fr_value(r, FUZZ_UNIT);
        st = focal_loss_set_label_smoothing(loss, v);
        if (!(v >= 0 && v < 1)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.label_smoothing = v;
        break;
    case FUZZ_SET_VARIANT:
        e = fr_enum(r, 5);
        st = focal_loss_set_variant(loss, (focal_variant)e);
        if (e < 0 || e > 4) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.variant = (focal_variant)e;
        break;
    case FUZZ_SET_BETA:
        v = fr_value(r, FUZZ_LOGIT);
        st = focal_loss_set_beta(loss, v);
        if (!isfinite(v)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.beta = v;
        break;
    case FUZZ_SET_GAMMA_NEGATIVE:
        v = fr_value(r, FUZZ_SCALE);
        st = focal_loss_set_gamma_negative(loss, v);
        if (!(isfinite(v) && v >= 0)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.gamma_negative = v;
        break;
    case FUZZ_SET_CLIP:
        v = fr_value(r, FUZZ_UNIT);
        st = focal_loss_set_clip(loss, v);
        if (!(v >= 0 && v < 1)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.clip = v;
        break;
    case FUZZ_SET_POLY_EPSILON:
        v = fr_value(r, FUZZ_LOGIT);
        st = focal_loss_set_poly_epsilon(loss, v);
        if (!isfinite(v)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.poly_epsilon = v;
        break;
    case FUZZ_SET_DIVISOR:
        v = fr_value(r, FUZZ_SCALE);
        st = focal_loss_set_divisor(loss, v);
        if (!(isfinite(v) && v >= 0)) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.divisor = v;
        break;
    case FUZZ_SET_SOFT_FORM:
        e = fr_enum(r, 2);
        st = focal_loss_set_soft_form(loss, (focal_soft_form)e);
        if (e < 0 || e > 1) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.soft_form = (focal_soft_form)e;
        break;
    case FUZZ_SET_POS_WEIGHT: {
        /* Decoded as an alpha vector; values must be finite and >= 0. */
        fuzz_alpha a;
        fr_alpha(r, &a);
        st = focal_loss_set_pos_weight_vector(loss, a.null_pointer ? NULL : a.values, a.count);
        int valid = 1;
        for (int64_t i = 0; i < a.count && i < FUZZ_MAX_ALPHA; i++)
            valid &= isfinite(a.values[i]) && a.values[i] >= 0;
        if (a.null_pointer)
            want = FOCAL_ERROR_NULL_POINTER;
        else if (a.count < 1 || a.count > FUZZ_MAX_ALPHA)
            want = FOCAL_ERROR_INVALID_SHAPE;
        else if (!valid)
            want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.pos_weight_count = a.count > 0 && a.count <= FUZZ_MAX_ALPHA ? a.count : 0;
        if (expect.pos_weight_count > 0)
            memcpy(expect.pos_weight, a.values, (size_t)a.count * sizeof(double));
        if (loss != NULL && !a.null_pointer && a.count > FUZZ_MAX_ALPHA && st == FOCAL_ERROR_OUT_OF_MEMORY)
            want = st;
        break;
    }
    case FUZZ_CLEAR_POS_WEIGHT:
        st = focal_loss_clear_pos_weight(loss);
        expect.pos_weight_count = 0;
        break;
    case FUZZ_SET_THREADS:
    default:
        e = fr_threads(r, big_threads);
        st = focal_loss_set_threads(loss, e);
        if (e < 0) want = FOCAL_ERROR_INVALID_PARAMETER;
        expect.threads = e;
        break;
    }
    const char *name = fuzz_setter_name(op);
    FUZZ_CHECK_STATUS(st, name);
    if (loss == NULL) {
        FUZZ_CHECK(st == FOCAL_ERROR_NULL_POINTER, "%s(NULL, ...) returned %d, not NULL_POINTER",
                   name, (int)st);
        return st;
    }
    FUZZ_CHECK(st == want, "%s(value %.17g / %d) returned %d, expected %d", name, v, e, (int)st,
               (int)want);
    fuzz_snapshot(loss, &after);
    if (st == FOCAL_OK)
        FUZZ_CHECK_SNAP(&expect, &after, name);
    else
        FUZZ_CHECK_SNAP(&before, &after, name);
    return st;
}

#endif /* FOCAL_FUZZ_COMMON_H */
