/* The vector vocabulary (src/simd/vec_<isa>.h) on one instruction set,
 * chosen at compile time: -DVEC_HEADER="simd/vec_avx2.h" and that set's
 * -m flags (tests/simd/tests.cmake builds one program per set, with
 * isa_guard.c skipping it on CPUs that lack the set).
 *
 * Math: v_exp, v_log, v_log1p against long-double libm over a sweep of bit
 * patterns through the whole double range (both signs, subnormals, huge
 * values), dense sweeps of the ranges where the results are ordinary, the
 * same sweeps with one special lane in every vector (so the ordinary lanes
 * also go through the functions' rare-case path), and the special values.
 * The full versions are measured in ulps of the double result (below
 * DBL_MIN: of the smallest subnormal), the _lo versions by relative error
 * (below DBL_MIN: relative to DBL_MIN).
 *
 * Everything else: loads and stores of every length, next to a page that
 * faults when touched and between guard bytes; float rounding; gathers;
 * unsigned compares; NaN in min, max and the compares; masks; selection;
 * the order of v_hsum; the iotas.
 *
 * One line per function: its worst error and where. `--quick`, or
 * FOCAL_TEST_QUICK=1 in the environment as the sanitizer stages set it,
 * runs 1/64 of the sweeps. Exit 0 when everything is within bounds. */
#define _DEFAULT_SOURCE
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include VEC_HEADER

#include "proc.h"

/* The documented bounds. */
#define FULL_ULP_LIMIT 2.0
#define LO_REL_LIMIT 0x1p-32

static int g_passed, g_failed;
static long g_scale = 1; /* divides the sweep sizes */

static void result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-4s ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (ok)
        g_passed++;
    else
        g_failed++;
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint64_t g_rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1dULL;
}

/* ---------------------------------------------------------------- math */

typedef void (*apply_fn)(const double *in, double *out, size_t n);

#define APPLY(fn)                                                        \
    static void apply_##fn(const double *in, double *out, size_t n)      \
    {                                                                    \
        for (size_t i = 0; i < n; i += V_LANES)                          \
            v_store(out + i, fn(v_load(in + i)));                        \
    }
APPLY(v_exp)
APPLY(v_exp_lo)
APPLY(v_log)
APPLY(v_log_lo)
APPLY(v_log1p)
APPLY(v_log1p_lo)
APPLY(v_recip)
APPLY(v_recip_lo)
APPLY(v_recip1p_unit)
APPLY(v_recip1p_unit_lo)

/* v_log1p_unit's two results, each as a function of its own. */
#define APPLY_UNIT(fn, which)                                            \
    static void apply_##fn##_##which(const double *in, double *out, size_t n) \
    {                                                                    \
        for (size_t i = 0; i < n; i += V_LANES) {                        \
            vd r;                                                        \
            const vd l = fn(v_load(in + i), &r);                         \
            (void)l;                                                     \
            v_store(out + i, which);                                     \
        }                                                                \
    }
APPLY_UNIT(v_log1p_unit, l)
APPLY_UNIT(v_log1p_unit, r)
APPLY_UNIT(v_log1p_unit_lo, l)
APPLY_UNIT(v_log1p_unit_lo, r)

static long double recipl(long double x) { return 1.0L / x; }
static long double recip1pl(long double x) { return 1.0L / (1.0L + x); }

struct fn_case {
    const char *name;
    apply_fn apply;
    long double (*ref)(long double);
    int lo; /* relative error instead of ulps */
    double worst;
    double worst_x, worst_got;
    long double worst_want;
    long count;
    double worst_normal; /* over the results from DBL_MIN up */
    double worst_normal_x;
};

/* 2^1024 (1 - 2^-54): the exact values from here up round to inf. */
#define OVERFLOW_EDGE (0x1p1024L - 0x1p970L)

/* The error of got against want, in ulps of the double result (full) or
 * relative (lo); inf when the special value is wrong. An inf where the
 * exact value is finite counts as 2^1024, as if the exponent went on. */
static double error_of(double got, long double want, int lo)
{
    if (isnan(want))
        return isnan(got) ? 0 : INFINITY;
    if (isnan(got))
        return INFINITY;
    if (isinf(want) || fabsl(want) >= OVERFLOW_EDGE) {
        if (isinf(got) && !signbit(got) == !signbit(want))
            return 0;
        if (isinf(want))
            return INFINITY;
    }
    if (want == 0)
        return got == 0 && !signbit(got) == !signbit(want) ? 0 : INFINITY;
    const long double g = isinf(got) ? copysignl(0x1p1024L, (long double)got) : (long double)got;
    const long double diff = fabsl(g - want);
    if (lo)
        return (double)(diff / fmaxl(fabsl(want), (long double)DBL_MIN));
    int ex = ilogbl(want);
    if (ex < -1022)
        ex = -1022;
    return (double)(diff / ldexpl(1.0L, ex - 52));
}

#define CHUNK 4096

/* Runs fc over xs[0..n) (n a multiple of V_LANES) and folds the errors into
 * fc's worst. */
static void run_values(struct fn_case *fc, const double *xs, size_t n)
{
    static double out[CHUNK];
    for (size_t at = 0; at < n; at += CHUNK) {
        const size_t k = n - at < CHUNK ? n - at : CHUNK;
        fc->apply(xs + at, out, k);
        for (size_t i = 0; i < k; i++) {
            const double x = xs[at + i];
            const long double want = fc->ref((long double)x);
            const double err = error_of(out[i], want, fc->lo);
            fc->count++;
            if (!(err <= fc->worst_normal) && fabsl(want) >= (long double)DBL_MIN) {
                fc->worst_normal = err;
                fc->worst_normal_x = x;
            }
            if (!(err <= fc->worst)) {
                fc->worst = err;
                fc->worst_x = x;
                fc->worst_got = out[i];
                fc->worst_want = want;
            }
        }
    }
}

/* In every vector, lane (vector number mod V_LANES) replaced by a special
 * value, which sends the whole vector through the rare-case path. */
static void poison(double *xs, size_t n, double special)
{
    if (V_LANES == 1)
        return;
    for (size_t v = 0; v * V_LANES < n; v++)
        xs[v * V_LANES + v % V_LANES] = special;
}

static double *g_buf;
static size_t g_cap;

static double *buffer(size_t n)
{
    if (n > g_cap) {
        free(g_buf);
        g_buf = malloc(n * sizeof *g_buf);
        if (!g_buf) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        g_cap = n;
    }
    return g_buf;
}

static size_t round_lanes(size_t n) { return (n + V_LANES - 1) / V_LANES * V_LANES; }

/* Bit patterns from +0 (or -0) to inf in k equal steps, each moved by a
 * random amount within its step, so every binade gets its share. */
static void sweep_bits(struct fn_case *fc, size_t k, int sign)
{
    k = round_lanes(k / (size_t)g_scale);
    double *xs = buffer(k);
    const uint64_t top = 0x7ff0000000000000u;
    const uint64_t step = top / k;
    for (size_t i = 0; i < k; i++)
        xs[i] = from_bits(((uint64_t)i * step + rnd() % step) | (sign ? 0x8000000000000000u : 0));
    run_values(fc, xs, k);
}

/* k values in [a, b]: evenly spaced, each moved randomly within its step;
 * again with one special lane per vector. */
static void sweep_range(struct fn_case *fc, double a, double b, size_t k, double special)
{
    k = round_lanes(k / (size_t)g_scale);
    double *xs = buffer(k);
    const double step = (b - a) / (double)k;
    for (size_t i = 0; i < k; i++) {
        const double x = a + step * ((double)i + (double)(rnd() >> 11) * 0x1p-53);
        xs[i] = x < a ? a : x > b ? b : x;
    }
    run_values(fc, xs, k);
    poison(xs, k, special);
    run_values(fc, xs, k);
}

/* Every value of a list, and each value's neighbours within 4 ulps, in
 * every lane position beside ordinary values. */
static void sweep_list(struct fn_case *fc, const double *list, size_t count, double ordinary)
{
    const size_t k = count * 9 * V_LANES * V_LANES;
    double *xs = buffer(k);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        for (int d = -4; d <= 4; d++) {
            double x = list[i];
            for (int s = 0; s < (d < 0 ? -d : d); s++)
                x = nextafter(x, d < 0 ? -INFINITY : INFINITY);
            for (int lane = 0; lane < V_LANES; lane++) {
                for (int j = 0; j < V_LANES; j++)
                    xs[at + (size_t)j] = j == lane ? x : ordinary;
                at += V_LANES;
            }
        }
    }
    run_values(fc, xs, at);
}

static double g_full_limit = FULL_ULP_LIMIT;

static void report_fn(struct fn_case *fc)
{
    const double limit = fc->lo ? LO_REL_LIMIT : g_full_limit;
    const int ok = fc->worst <= limit;
    if (fc->lo)
        result(ok, "%-12s %9ld values  worst rel error %.3g (2^%.1f, limit 2^-32) at x = %a (%.17g): got %a, want %La",
               fc->name, fc->count, fc->worst, fc->worst > 0 ? log2(fc->worst) : -INFINITY, fc->worst_x,
               fc->worst_x, fc->worst_got, fc->worst_want);
    else
        result(ok,
               "%-12s %9ld values  worst %.3f ulp (limit %.0f) at x = %a (%.17g): got %a, want %La;"
               " normal results: %.3f ulp at x = %a",
               fc->name, fc->count, fc->worst, limit, fc->worst_x, fc->worst_x, fc->worst_got, fc->worst_want,
               fc->worst_normal, fc->worst_normal_x);
}

static void test_exp(const char *name, apply_fn apply, int lo)
{
    struct fn_case fc = {name, apply, expl, lo, 0, 0, 0, 0, 0, 0, 0};
    sweep_bits(&fc, 1u << 22, 0);
    sweep_bits(&fc, 1u << 22, 1);
    sweep_range(&fc, -746.0, 710.0, 1u << 22, NAN);
    sweep_range(&fc, -750.0, -700.0, 1u << 20, INFINITY);   /* subnormal results */
    sweep_range(&fc, 700.0, 710.0, 1u << 18, -INFINITY);
    sweep_range(&fc, -1.0, 1.0, 1u << 20, 1000.0);
    sweep_range(&fc, -0x1p-20, 0x1p-20, 1u << 18, -1000.0);
    static const double list[] = {
        0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0, 0x1p-1074, -0x1p-1074, DBL_MIN, -DBL_MIN,
        DBL_MAX, -DBL_MAX, 1e-300, -1e-300, 0x1p-54, -0x1p-54,
        0x1.62e42fefa39efp+9,   /* 709.78...: the largest x with a finite result */
        0x1.62e42fefa39f0p+9,   /* 1024 ln2 rounded up: overflows */
        -0x1.6232bdd7abcd2p+9,  /* ln(DBL_MIN): results become subnormal */
        -0x1.74385446d71c3p+9,  /* ln(2^-1074) */
        -0x1.74910d52d3051p+9,  /* ln(2^-1075): results become 0 */
        -0x1.74910d52d3052p+9, 707.0, -707.0, 708.0, -708.0, 709.0, -709.0, 710.0, -745.0, -746.0,
        0x1.62e42fefa39efp-2,   /* ln2 / 2: where n changes */
        -0x1.62e42fefa39efp-2, 0x1.62e42fefa39efp-1, 1e10, -1e10, 1e300, -1e300};
    sweep_list(&fc, list, sizeof list / sizeof list[0], 0.5);
    sweep_list(&fc, list, sizeof list / sizeof list[0], NAN);
    report_fn(&fc);
}

static void test_log(const char *name, apply_fn apply, int lo)
{
    struct fn_case fc = {name, apply, logl, lo, 0, 0, 0, 0, 0, 0, 0};
    sweep_bits(&fc, 1u << 22, 0);
    sweep_bits(&fc, 1u << 20, 1);
    sweep_range(&fc, 0.5, 2.0, 1u << 22, 0.0);
    sweep_range(&fc, 1.0 - 0x1p-20, 1.0 + 0x1p-20, 1u << 20, -1.0);
    sweep_range(&fc, 0x1p-1074, 0x1p-1022, 1u << 20, NAN);   /* subnormals */
    sweep_range(&fc, 0.0, 1e6, 1u << 20, INFINITY);
    static const double list[] = {
        0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0, 2.0, 0.5, 0x1p-1074, 0x1p-1073, 0x1.8p-1073,
        0x5p-1074, DBL_MIN, DBL_MAX, -DBL_MIN, -0x1p-1074,
        0x1.6a09e667f3bcdp+0, 0x1.6a09e667f3bcdp-1,   /* the mantissa range's edges */
        0x1.6a09e667f3bcdp-1000, 0x1.6a09e667f3bcdp+1000, 0x1.6a09e667f3bcdp-1030, 1e300, 1e-300, 10.0,
        0x1.0000000000001p0, 0x1.fffffffffffffp-1};
    sweep_list(&fc, list, sizeof list / sizeof list[0], 3.0);
    sweep_list(&fc, list, sizeof list / sizeof list[0], 0.0);
    report_fn(&fc);
}

static void test_log1p(const char *name, apply_fn apply, int lo)
{
    struct fn_case fc = {name, apply, log1pl, lo, 0, 0, 0, 0, 0, 0, 0};
    sweep_bits(&fc, 1u << 22, 0);
    sweep_bits(&fc, 1u << 22, 1);   /* above -1: most of it NaN */
    sweep_range(&fc, -1.0, 1.0, 1u << 22, -2.0);
    sweep_range(&fc, -1.0, -1.0 + 0x1p-20, 1u << 18, NAN);
    sweep_range(&fc, -0x1p-20, 0x1p-20, 1u << 20, INFINITY);
    sweep_range(&fc, 0.0, 1e6, 1u << 20, -1.0);
    sweep_range(&fc, 0x1p52, 0x1p55, 1u << 18, -INFINITY);
    static const double list[] = {
        0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0, -2.0, -0x1.fffffffffffffp-1,
        -0x1.0000000000001p0, -1.0 + 0x1p-53, 0x1p-1074, -0x1p-1074, DBL_MIN, -DBL_MIN, DBL_MAX, -DBL_MAX,
        1e-300, -1e-300, 0x1p-53, -0x1p-53, 0x1p-54, -0x1p-54, 0x1p53, 0x1p53 + 2, 0x1p54, 0x1p1023,
        0x1.6a09e667f3bcdp+0 - 1, 0x1.6a09e667f3bcdp-1 - 1, 1e300, 0.5, -0.5, 3.0};
    sweep_list(&fc, list, sizeof list / sizeof list[0], 0.25);
    sweep_list(&fc, list, sizeof list / sizeof list[0], -1.0);
    report_fn(&fc);
}

/* 1 / d over the domain the vocabulary promises, [2^-125, 2^125]. */
static void test_recip(const char *name, apply_fn apply, int lo)
{
    struct fn_case fc = {name, apply, recipl, lo, 0, 0, 0, 0, 0, 0, 0};
    sweep_range(&fc, 0x1p-125, 0x1p-100, 1u << 18, 1.0);
    sweep_range(&fc, 0.5, 8.0, 1u << 22, 3.0);
    sweep_range(&fc, 1.0, 0x1p20, 1u << 20, 2.0);
    sweep_range(&fc, 0x1p100, 0x1p125, 1u << 18, 1.0);
    static const double list[] = {0x1p-125, 0x1p125, 1.0, 2.0, 3.0, 0.75, 1.5, 1e-30, 1e30, 6.0, 4.0, 0.1};
    sweep_list(&fc, list, sizeof list / sizeof list[0], 1.25);
    report_fn(&fc);
}

/* log1p(u) and 1 / (1 + u) together, for u in [0, 1] (and NaN), within
 * 4 ulp each. */
static void test_log1p_unit(const char *name, apply_fn apply, long double (*ref)(long double), int lo)
{
    struct fn_case fc = {name, apply, ref, lo, 0, 0, 0, 0, 0, 0, 0};
    g_full_limit = 4;
    sweep_range(&fc, 0.0, 1.0, 1u << 22, 0.5);
    sweep_range(&fc, 0.0, 0x1p-30, 1u << 20, 0.25);
    sweep_range(&fc, 0x1.6a09e667f3bcdp+0 - 1 - 0x1p-20, 0x1.6a09e667f3bcdp+0 - 1 + 0x1p-20, 1u << 18, 0.75);
    static const double list[] = {0.0, 1.0, 0x1p-1074, DBL_MIN, 0x1p-53, 0x1p-30, 0.5, 0x1.6a09e667f3bcdp+0 - 1,
                                  NAN, 1e-300, 0.999999, 0x1p-1};
    sweep_list(&fc, list, sizeof list / sizeof list[0], 0.3);
    report_fn(&fc);
    g_full_limit = FULL_ULP_LIMIT;
}

/* ----------------------------------------------------- the vocabulary */

/* A page that faults when touched, right after `len` bytes of usable
 * memory: p + len is the faulting page's first byte. */
struct fenced {
    unsigned char *base;
    size_t map_len;
    unsigned char *end; /* first byte of the protected page */
};

static struct fenced fence_make(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct fenced f;
    f.map_len = 2 * page;
    f.base = mmap(NULL, f.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f.base == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    if (mprotect(f.base + page, page, PROT_NONE) != 0) {
        perror("mprotect");
        exit(1);
    }
    f.end = f.base + page;
    return f;
}

#define GUARD 0xa5

static int guards_intact(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != GUARD)
            return 0;
    return 1;
}

static void lanes(vd v, double out[V_LANES]) { v_store(out, v); }

static int mask_bits(vm m)
{
    double o[V_LANES];
    lanes(v_sel(m, v_set(1.0), v_zero()), o);
    int bits = 0;
    for (int i = 0; i < V_LANES; i++) {
        if (o[i] == 1.0)
            bits |= 1 << i;
        else if (o[i] != 0.0)
            return -1;
    }
    return bits;
}

static int same_bits(double a, double b) { return to_bits(a) == to_bits(b); }

static void test_loads_stores(struct fenced *fz)
{
    int ok = 1;
    /* Loads: the n elements end at the protected page, so reading any lane
     * past n faults. */
    for (int n = 0; n <= V_LANES; n++) {
        double *p = (double *)(void *)(fz->end - (size_t)n * sizeof(double));
        for (int i = 0; i < n; i++)
            p[i] = 10.0 + i;
        double o[V_LANES];
        lanes(v_load_part(p, n, -7.5), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= same_bits(o[i], i < n ? 10.0 + i : -7.5);
        if (n == V_LANES) {
            lanes(v_load(p), o);
            for (int i = 0; i < V_LANES; i++)
                ok &= o[i] == 10.0 + i;
        }
    }
    result(ok, "v_load, v_load_part (every n, next to a faulting page)");

    ok = 1;
    for (int n = 0; n <= V_LANES; n++) {
        /* Stores: guard bytes before and after, and the faulting page
         * right after the n elements. */
        double *p = (double *)(void *)(fz->end - (size_t)n * sizeof(double));
        unsigned char *front = (unsigned char *)p - 64;
        memset(front, GUARD, 64 + (size_t)n * sizeof(double));
        v_store_part(p, n, v_add(v_iota(), v_set(1.0)));
        ok &= guards_intact(front, 64);
        for (int i = 0; i < n; i++)
            ok &= p[i] == 1.0 + i;
        /* And in the middle of memory: the bytes past n keep their guard. */
        double mid[V_LANES + 16];
        memset(mid, GUARD, sizeof mid);
        v_store_part(mid + 8, n, v_add(v_iota(), v_set(1.0)));
        ok &= guards_intact((unsigned char *)mid, 8 * sizeof(double));
        ok &= guards_intact((unsigned char *)(mid + 8 + n), (size_t)(V_LANES - n + 8) * sizeof(double));
        for (int i = 0; i < n; i++)
            ok &= mid[8 + i] == 1.0 + i;
    }
    {
        double full[V_LANES + 2];
        memset(full, GUARD, sizeof full);
        v_store(full + 1, v_iota());
        for (int i = 0; i < V_LANES; i++)
            ok &= full[1 + i] == (double)i;
        ok &= guards_intact((unsigned char *)full, sizeof(double));
        ok &= guards_intact((unsigned char *)(full + 1 + V_LANES), sizeof(double));
    }
    result(ok, "v_store, v_store_part (every n, guard bytes, faulting page)");

    ok = 1;
    for (int n = 0; n <= V_LANES; n++) {
        float *p = (float *)(void *)(fz->end - (size_t)n * sizeof(float));
        /* The cast to float drops the excess precision a target with
         * FLT_EVAL_METHOD 1 (s390x) gives 0.1f and the product. */
        for (int i = 0; i < n; i++)
            p[i] = (float)(0.1f * (float)(i + 1));
        double o[V_LANES];
        /* fill is a double and must not pass through float */
        lanes(v_load_f32_part(p, n, 0.1), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= same_bits(o[i], i < n ? (double)p[i] : 0.1);
        if (n == V_LANES) {
            lanes(v_load_f32(p), o);
            for (int i = 0; i < V_LANES; i++)
                ok &= o[i] == (double)(float)(0.1f * (float)(i + 1));
        }
    }
    result(ok, "v_load_f32, v_load_f32_part (every n, faulting page, double fill)");

    ok = 1;
    for (int n = 0; n <= V_LANES; n++) {
        float *p = (float *)(void *)(fz->end - (size_t)n * sizeof(float));
        unsigned char *front = (unsigned char *)p - 64;
        memset(front, GUARD, 64 + (size_t)n * sizeof(float));
        v_store_f32_part(p, n, v_add(v_iota(), v_set(0.5)));
        ok &= guards_intact(front, 64);
        for (int i = 0; i < n; i++)
            ok &= p[i] == 0.5f + (float)i;
        float mid[V_LANES + 16];
        memset(mid, GUARD, sizeof mid);
        v_store_f32_part(mid + 8, n, v_add(v_iota(), v_set(0.5)));
        ok &= guards_intact((unsigned char *)mid, 8 * sizeof(float));
        ok &= guards_intact((unsigned char *)(mid + 8 + n), (size_t)(V_LANES - n + 8) * sizeof(float));
    }
    {
        float full[V_LANES + 2];
        memset(full, GUARD, sizeof full);
        v_store_f32(full + 1, v_iota());
        for (int i = 0; i < V_LANES; i++)
            ok &= full[1 + i] == (float)i;
        ok &= guards_intact((unsigned char *)full, sizeof(float));
        ok &= guards_intact((unsigned char *)(full + 1 + V_LANES), sizeof(float));
    }
    result(ok, "v_store_f32, v_store_f32_part (every n, guard bytes, faulting page)");

    ok = 1;
    for (int n = 0; n <= V_LANES; n++) {
        int64_t *p = (int64_t *)(void *)(fz->end - (size_t)n * sizeof(int64_t));
        int64_t want[V_LANES];
        for (int i = 0; i < V_LANES; i++) {
            want[i] = i < n ? (int64_t)(0x8000000000000000u + (uint64_t)i * 3) : -5;
            if (i < n)
                p[i] = want[i];
        }
        ok &= m_all(vi_eq(vi_load_part(p, n, -5), vi_load(want)));
        if (n == V_LANES)
            ok &= m_all(vi_eq(vi_load(p), vi_load(want)));
    }
    result(ok, "vi_load, vi_load_part (every n, faulting page)");

    /* The same on heap blocks of exactly n elements, for the memory
     * checkers (valgrind, ASan) to watch. */
    ok = 1;
    for (int n = 0; n <= V_LANES; n++) {
        const size_t cnt = n ? (size_t)n : 1;
        double *d = malloc(cnt * sizeof *d);
        float *f = malloc(cnt * sizeof *f);
        int64_t *q = malloc(cnt * sizeof *q);
        if (!d || !f || !q) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        for (int i = 0; i < n; i++) {
            d[i] = i;
            f[i] = (float)i;
            q[i] = i;
        }
        const vm m = m_first(n);
        ok &= m_all(v_eq(v_load_part(d, n, -1.0), v_sel(m, v_iota(), v_set(-1.0))));
        ok &= m_all(v_eq(v_load_f32_part(f, n, -1.0), v_sel(m, v_iota(), v_set(-1.0))));
        ok &= m_all(m_or(m_not(m), vi_eq(vi_load_part(q, n, -1), vi_iota())));
        v_store_part(d, n, v_set(5.0));
        v_store_f32_part(f, n, v_set(5.0));
        for (int i = 0; i < n; i++)
            ok &= d[i] == 5.0 && f[i] == 5.0f;
        free(d);
        free(f);
        free(q);
    }
    result(ok, "the _part loads and stores on heap blocks of exactly n elements");
}

/* The double d rounded to float must have the bits `want`. */
static int f32_case(double d, uint32_t want)
{
    float out[V_LANES];
    v_store_f32(out, v_set(d));
    int ok = 1;
    for (int i = 0; i < V_LANES; i++)
        ok &= f32_bits(out[i]) == want || (isnan(d) && isnan(out[i]) && !signbit(out[i]) == !signbit(d));
    /* the partial store rounds the same way */
    float one[1] = {0};
    v_store_f32_part(one, 1, v_set(d));
    ok &= f32_bits(one[0]) == want || (isnan(d) && isnan(one[0]) && !signbit(one[0]) == !signbit(d));
    if (!ok)
        printf("     v_store_f32(%a) = %#x, want %#x\n", d, (unsigned)f32_bits(out[0]), (unsigned)want);
    return ok;
}

static void test_f32_rounding(void)
{
    int ok = 1;
    ok &= f32_case(1.0, 0x3f800000u);
    ok &= f32_case(1.0 + 0x1p-24, 0x3f800000u);           /* tie: to even (down) */
    ok &= f32_case(1.0 + 3 * 0x1p-24, 0x3f800002u);       /* tie: to even (up) */
    ok &= f32_case(1.0 + 0x1p-24 + 0x1p-50, 0x3f800001u); /* just above the tie */
    ok &= f32_case(1.0 + 0x1p-24 - 0x1p-52, 0x3f800000u); /* just below */
    ok &= f32_case(-(1.0 + 0x1p-24), 0xbf800000u);
    ok &= f32_case(-(1.0 + 3 * 0x1p-24), 0xbf800002u);
    ok &= f32_case(0x1.fffffefffffffp+127, 0x7f7fffffu);  /* below FLT_MAX's half ulp */
    ok &= f32_case(0x1.ffffffp+127, 0x7f800000u);         /* tie above FLT_MAX: to even = inf */
    ok &= f32_case(1e300, 0x7f800000u);
    ok &= f32_case(-1e300, 0xff800000u);
    ok &= f32_case(INFINITY, 0x7f800000u);
    ok &= f32_case(-INFINITY, 0xff800000u);
    ok &= f32_case(-0.0, 0x80000000u);
    ok &= f32_case(0x1p-149, 0x00000001u);                /* smallest float subnormal */
    ok &= f32_case(0x1p-150, 0x00000000u);                /* tie with 0: to even */
    ok &= f32_case(0x1.8p-149, 0x00000002u);              /* tie: to even (up) */
    ok &= f32_case(0x1.0000000000001p-150, 0x00000001u);  /* just above the tie */
    ok &= f32_case(1e-300, 0x00000000u);
    ok &= f32_case(-1e-300, 0x80000000u);
    ok &= f32_case(0.1, 0x3dcccccdu);
    ok &= f32_case(NAN, 0x7fc00000u);
    ok &= f32_case(-NAN, 0xffc00000u);
    result(ok, "v_store_f32 rounding (nearest even, ties, subnormals, overflow to inf, NaN)");
}


/* ------------------------------------------------------------------------
 * bfloat16 and float16 storage, against a reference built from the
 * formats' definitions: each bit pattern decoded from its fields, and
 * rounding as the search for the nearest representable value (the
 * positive patterns are ordered like their values), ties to the even
 * pattern, beyond the largest finite value the next power of two standing
 * for infinity.
 * ------------------------------------------------------------------------ */

struct half_format {
    const char *name;
    int exp_bits, frac_bits;
    void (*store)(uint16_t *, vd);
    vd (*load)(const uint16_t *);
    void (*store_part)(uint16_t *, int, vd);
    vd (*load_part)(const uint16_t *, int, double);
};

static void st_bf16(uint16_t *p, vd v) { v_store_bf16(p, v); }
static vd ld_bf16(const uint16_t *p) { return v_load_bf16(p); }
static void stp_bf16(uint16_t *p, int n, vd v) { v_store_bf16_part(p, n, v); }
static vd ldp_bf16(const uint16_t *p, int n, double fill) { return v_load_bf16_part(p, n, fill); }
static void st_f16(uint16_t *p, vd v) { v_store_f16(p, v); }
static vd ld_f16(const uint16_t *p) { return v_load_f16(p); }
static void stp_f16(uint16_t *p, int n, vd v) { v_store_f16_part(p, n, v); }
static vd ldp_f16(const uint16_t *p, int n, double fill) { return v_load_f16_part(p, n, fill); }

static const struct half_format g_bf16 = {"bfloat16", 8, 7, st_bf16, ld_bf16, stp_bf16, ldp_bf16};
static const struct half_format g_f16 = {"float16", 5, 10, st_f16, ld_f16, stp_f16, ldp_f16};

/* The value of pattern h, from its fields. */
static double half_decode(const struct half_format *f, unsigned h)
{
    const int bias = (1 << (f->exp_bits - 1)) - 1, emax = (1 << f->exp_bits) - 1;
    const unsigned frac = h & ((1u << f->frac_bits) - 1), e = (h >> f->frac_bits) & (unsigned)emax;
    const double sign = (h >> 15) ? -1.0 : 1.0;
    if ((int)e == emax)
        return frac ? NAN : sign * INFINITY;
    if (e == 0)
        return sign * ldexp((double)frac, 1 - bias - f->frac_bits);
    return sign * ldexp((double)(frac | (1u << f->frac_bits)), (int)e - bias - f->frac_bits);
}

static unsigned half_inf(const struct half_format *f) { return ((1u << f->exp_bits) - 1) << f->frac_bits; }

/* The pattern d rounds to (d not NaN). */
static unsigned half_round_ref(const struct half_format *f, double d)
{
    const unsigned sign = signbit(d) ? 0x8000u : 0u, inf = half_inf(f);
    const long double a = fabsl((long double)d);
    if (isinf(d))
        return sign | inf;
    /* The largest pattern k whose value is <= a, 0 <= k < inf. */
    static double table[2][65536]; /* the positive patterns' values, decoded once */
    static int filled[2];
    double *const values = table[f->exp_bits == 5];
    if (!filled[f->exp_bits == 5]) {
        for (unsigned h = 0; h < 65536; h++)
            values[h] = half_decode(f, h);
        filled[f->exp_bits == 5] = 1;
    }
    unsigned lo = 0, hi = inf; /* value(lo) <= a; hi is past the search */
    while (hi - lo > 1) {
        const unsigned mid = (lo + hi) / 2;
        if ((long double)values[mid] <= a)
            lo = mid;
        else
            hi = mid;
    }
    const long double v0 = half_decode(f, lo);
    if (v0 == a)
        return sign | lo;
    const int bias = (1 << (f->exp_bits - 1)) - 1;
    const long double v1 = lo + 1 == inf ? ldexpl(1.0L, bias + 1) : (long double)half_decode(f, lo + 1);
    const long double below = a - v0, above = v1 - a;
    unsigned k;
    if (below < above)
        k = lo;
    else if (above < below)
        k = lo + 1;
    else
        k = (lo & 1) ? lo + 1 : lo;
    return sign | k;
}

static int half_store_case(const struct half_format *f, double d, unsigned *got_out)
{
    uint16_t out[V_LANES];
    f->store(out, v_set(d));
    uint16_t one[1] = {0x1234};
    f->store_part(one, 1, v_set(d));
    const unsigned nanbits = half_inf(f) | (1u << (f->frac_bits - 1));
    const unsigned want = isnan(d) ? 0 : half_round_ref(f, d);
    int ok = 1;
    for (int i = 0; i < V_LANES; i++) {
        if (isnan(d))
            /* a quiet NaN of the same sign */
            ok &= (out[i] & 0x7fffu & nanbits) == nanbits && !(out[i] >> 15) == !signbit(d);
        else
            ok &= out[i] == want;
    }
    ok &= one[0] == out[0];
    *got_out = out[0];
    return ok;
}

static void test_half(const struct half_format *f, struct fenced *fz)
{
    const unsigned inf = half_inf(f);
    /* Loads: every pattern, widened exactly. */
    int ok = 1;
    for (unsigned h = 0; h < 65536; h++) {
        uint16_t in[V_LANES];
        for (int i = 0; i < V_LANES; i++)
            in[i] = (uint16_t)h;
        double o[V_LANES];
        lanes(f->load(in), o);
        const double want = half_decode(f, h);
        for (int i = 0; i < V_LANES; i++)
            ok &= isnan(want) ? isnan(o[i]) != 0 : same_bits(o[i], want);
        lanes(f->load_part(in, 1, -3.0), o);
        ok &= isnan(want) ? isnan(o[0]) != 0 : same_bits(o[0], want);
        for (int i = 1; i < V_LANES; i++)
            ok &= o[i] == -3.0;
    }
    result(ok, "v_load_%s: all 65536 patterns widened exactly (NaN stays NaN)", f->name);

    /* Stores: every finite value back to its own pattern; the midpoints
     * between neighbours (ties to even), and the doubles just below and
     * above them, against the reference. */
    long bad = 0, cases = 0;
    for (unsigned sign = 0; sign <= 0x8000u; sign += 0x8000u)
        for (unsigned h = 0; h < inf; h++) {
            const double v0 = half_decode(f, sign | h);
            const int bias = (1 << (f->exp_bits - 1)) - 1;
            const double v1 = h + 1 == inf ? copysign(ldexp(1.0, bias + 1), v0) : half_decode(f, sign | (h + 1));
            const double mid = v0 + (v1 - v0) / 2; /* exact: the formats are far narrower than double */
            const double ds[] = {v0, mid, nextafter(mid, 0.0), nextafter(mid, v1 * 2), v0 + (v1 - v0) / 4,
                                 v0 + 3 * (v1 - v0) / 4};
            for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
                unsigned got;
                cases++;
                if (!half_store_case(f, ds[i], &got)) {
                    if (bad++ < 5)
                        printf("     v_store_%s(%a) = %#x, want %#x\n", f->name, ds[i], got,
                               half_round_ref(f, ds[i]));
                }
            }
        }
    result(bad == 0, "v_store_%s: %ld values (each pattern, the midpoints, their neighbours) round to nearest even",
           f->name, cases);

    /* Random doubles over the whole range the formats round from, and the
     * special values. */
    bad = 0;
    const long n = 2000000 / g_scale;
    for (long i = 0; i < n; i++) {
        /* exponents around the format's range, and a few far outside */
        const uint64_t r = rnd();
        const int e = (int)(r % 360) - 180 + (f->exp_bits == 5 ? 0 : 0);
        double d = ldexp(1.0 + (double)(rnd() >> 12) * 0x1p-52, e);
        if (r & (1ull << 40))
            d = -d;
        unsigned got;
        if (!half_store_case(f, d, &got) && bad++ < 5)
            printf("     v_store_%s(%a) = %#x, want %#x\n", f->name, d, got, half_round_ref(f, d));
    }
    static const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1e300, -1e300, 1e-300,
                                      -1e-300, DBL_MAX, -DBL_MAX, 0x1p-1074, DBL_MIN, 65504.0, 65519.99, 65520.0,
                                      -65520.0, 0x1p-24, 0x1p-25, 0x1.8p-24, 0x1.0000000000001p-25, 0x1p-133,
                                      0x1p-134, 0x1.8p-133, 0x1.fep127, 0x1.ffp127, 0x1.fefffffffffffp127};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        unsigned got;
        if (!half_store_case(f, specials[i], &got) && bad++ < 10)
            printf("     v_store_%s(%a) = %#x\n", f->name, specials[i], got);
    }
    /* NaNs whose payloads fill the fraction: rounding their bits must not
     * carry into the exponent or the sign. */
    static const uint64_t nan_bits[] = {0x7fffffffffffffffull, 0xffffffffffffffffull, 0x7ff0000000000001ull,
                                        0xfff0000000000001ull, 0x7fffffffe0000000ull, 0x7ff8000000008000ull};
    for (size_t i = 0; i < sizeof nan_bits / sizeof nan_bits[0]; i++) {
        double d;
        memcpy(&d, &nan_bits[i], sizeof d);
        unsigned got;
        if (!half_store_case(f, d, &got) && bad++ < 10)
            printf("     v_store_%s(NaN %#llx) = %#x\n", f->name, (unsigned long long)nan_bits[i], got);
    }
    result(bad == 0, "v_store_%s: %ld random doubles over 2^-180..2^180, the special values and NaN payloads", f->name, n);

    /* Parts: every n with the elements ending at a protected page, the
     * bytes around them untouched. */
    ok = 1;
    for (int n2 = 0; n2 <= V_LANES; n2++) {
        uint16_t *p = (uint16_t *)(void *)(fz->end - (size_t)n2 * sizeof(uint16_t));
        for (int i = 0; i < n2; i++)
            p[i] = (uint16_t)(half_inf(f) >> 1 | (unsigned)i); /* ordinary values */
        double o[V_LANES];
        lanes(f->load_part(p, n2, -7.5), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= i < n2 ? same_bits(o[i], half_decode(f, p[i])) : o[i] == -7.5;
        memset(fz->end - 64, GUARD, 64 - (size_t)n2 * sizeof(uint16_t));
        f->store_part(p, n2, v_add(v_iota(), v_set(1.0)));
        for (int i = 0; i < n2; i++)
            ok &= half_decode(f, p[i]) == i + 1.0;
        ok &= guards_intact(fz->end - 64, 64 - (size_t)n2 * sizeof(uint16_t));
    }
    result(ok, "v_load_%s_part, v_store_%s_part (every n, guard bytes, faulting page)", f->name, f->name);
}

static void test_gather(void)
{
    static const double table[16] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150};
    int ok = 1;
    int64_t idx[V_LANES];
    /* Masked-off lanes get an index far outside any mapping: reading it
     * would fault. */
    for (int pattern = 0; pattern < (1 << V_LANES) && pattern < 256; pattern++) {
        double want[V_LANES];
        for (int i = 0; i < V_LANES; i++) {
            const int on = (pattern >> i) & 1;
            idx[i] = on ? (int64_t)((i * 5 + pattern) % 16) : (int64_t)0x4000000000000000 + i;
            want[i] = on ? table[idx[i]] : 0.0;
        }
        double mk[V_LANES];
        for (int i = 0; i < V_LANES; i++)
            mk[i] = (pattern >> i) & 1 ? 1.0 : 0.0;
        const vm m = v_eq(v_load(mk), v_set(1.0));
        double o[V_LANES];
        lanes(v_gather(table, vi_load(idx), m), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= same_bits(o[i], want[i]);
    }
    result(ok, "v_gather (every mask, wild indices in the masked-off lanes)");
}

static void test_int(void)
{
    int ok = 1;
    static const uint64_t vals[] = {0,
                                    1,
                                    2,
                                    0x7fffffffffffffffu,
                                    0x8000000000000000u,
                                    0x8000000000000001u,
                                    0xfffffffffffffffeu,
                                    0xffffffffffffffffu,
                                    0x00000000ffffffffu,
                                    0x0000000100000000u,
                                    0xffffffff00000000u,
                                    0x123456789abcdef0u};
    const size_t nv = sizeof vals / sizeof vals[0];
    for (size_t a = 0; a < nv; a++) {
        for (size_t b = 0; b < nv; b++) {
            int64_t av[V_LANES], bv[V_LANES];
            int want_lt = 0, want_eq = 0;
            for (int i = 0; i < V_LANES; i++) {
                /* each lane a different pair, so lanes cannot leak */
                const uint64_t x = vals[(a + (size_t)i) % nv], y = vals[(b + (size_t)i * 3) % nv];
                av[i] = (int64_t)x;
                bv[i] = (int64_t)y;
                want_lt |= (x < y) << i;
                want_eq |= (x == y) << i;
            }
            ok &= mask_bits(vi_ltu(vi_load(av), vi_load(bv))) == want_lt;
            ok &= mask_bits(vi_eq(vi_load(av), vi_load(bv))) == want_eq;
            int64_t sum[V_LANES];
            for (int i = 0; i < V_LANES; i++)
                sum[i] = (int64_t)((uint64_t)av[i] + (uint64_t)bv[i]);
            ok &= m_all(vi_eq(vi_add(vi_load(av), vi_load(bv)), vi_load(sum)));
        }
    }
    result(ok, "vi_ltu, vi_eq, vi_add (top bit set, wrap-around)");

    ok = 1;
    int64_t io[V_LANES];
    for (int i = 0; i < V_LANES; i++)
        io[i] = i;
    ok &= m_all(vi_eq(vi_iota(), vi_load(io)));
    for (int i = 0; i < V_LANES; i++)
        io[i] = INT64_MIN;
    ok &= m_all(vi_eq(vi_set(INT64_MIN), vi_load(io)));
    double o[V_LANES];
    lanes(v_iota(), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == (double)i;
    lanes(v_set(-3.25), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == -3.25;
    lanes(v_zero(), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= same_bits(o[i], 0.0);
    result(ok, "v_iota, vi_iota, v_set, vi_set, v_zero");
}

static void test_arith(void)
{
    int ok = 1;
    double o[V_LANES];
    const vd a = v_add(v_iota(), v_set(1.0)); /* 1, 2, ... */
    lanes(v_add(a, v_set(0.5)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == i + 1.5;
    lanes(v_sub(a, v_set(0.5)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == i + 0.5;
    lanes(v_mul(a, v_set(3.0)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == 3.0 * (i + 1);
    lanes(v_div(v_set(1.0), a), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == 1.0 / (i + 1);
    lanes(v_sqrt(a), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == sqrt(i + 1.0);
    lanes(v_neg(v_set(0.0)), o);
    ok &= same_bits(o[0], -0.0);
    lanes(v_abs(v_set(-0.0)), o);
    ok &= same_bits(o[0], 0.0);
    lanes(v_abs(v_set(-INFINITY)), o);
    ok &= o[0] == INFINITY;
    /* one rounding: (1 + 2^-52)(1 - 2^-52) - 1 = -2^-104 exactly */
    lanes(v_fma(v_set(1 + 0x1p-52), v_set(1 - 0x1p-52), v_set(-1.0)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == -0x1p-104;
    lanes(v_fnma(v_set(1 + 0x1p-52), v_set(1 - 0x1p-52), v_set(1.0)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == 0x1p-104;
    result(ok, "v_add v_sub v_mul v_div v_sqrt v_neg v_abs v_fma v_fnma");
}

static void test_minmax_compare(void)
{
    int ok = 1;
    double o[V_LANES];
    const double nan = NAN;
    /* a NaN in a yields b; a NaN in b yields NaN (b); equal zeros give b */
    lanes(v_min(v_set(nan), v_set(1.0)), o);
    ok &= o[0] == 1.0;
    lanes(v_min(v_set(1.0), v_set(nan)), o);
    ok &= isnan(o[0]);
    lanes(v_max(v_set(nan), v_set(1.0)), o);
    ok &= o[0] == 1.0;
    lanes(v_max(v_set(1.0), v_set(nan)), o);
    ok &= isnan(o[0]);
    lanes(v_min(v_set(0.0), v_set(-0.0)), o);
    ok &= same_bits(o[0], -0.0);
    lanes(v_min(v_set(-0.0), v_set(0.0)), o);
    ok &= same_bits(o[0], 0.0);
    lanes(v_max(v_set(-0.0), v_set(0.0)), o);
    ok &= same_bits(o[0], 0.0);
    lanes(v_max(v_set(0.0), v_set(-0.0)), o);
    ok &= same_bits(o[0], -0.0);
    lanes(v_min(v_iota(), v_set(1.5)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == (i < 1.5 ? i : 1.5);
    lanes(v_max(v_iota(), v_set(1.5)), o);
    for (int i = 0; i < V_LANES; i++)
        ok &= o[i] == (i > 1.5 ? i : 1.5);
    result(ok, "v_min v_max (NaN in either operand, signed zeros)");

    ok = 1;
    const int all = (1 << V_LANES) - 1;
    const vd n = v_set(nan), one = v_set(1.0);
    const vd pairs[][2] = {{n, one}, {one, n}, {n, n}};
    for (size_t k = 0; k < 3; k++) {
        const vd x = pairs[k][0], y = pairs[k][1];
        ok &= mask_bits(v_lt(x, y)) == 0 && mask_bits(v_le(x, y)) == 0 && mask_bits(v_gt(x, y)) == 0 &&
              mask_bits(v_ge(x, y)) == 0 && mask_bits(v_eq(x, y)) == 0 && mask_bits(v_ne(x, y)) == all;
    }
    ok &= mask_bits(v_isnan(n)) == all && mask_bits(v_isnan(v_set(INFINITY))) == 0;
    /* lane-wise against iota: 0, 1, 2, ... compared with 1 */
    int lt = 0, le = 0, gt = 0, ge = 0, eq = 0;
    for (int i = 0; i < V_LANES; i++) {
        lt |= (i < 1) << i;
        le |= (i <= 1) << i;
        gt |= (i > 1) << i;
        ge |= (i >= 1) << i;
        eq |= (i == 1) << i;
    }
    const vd io = v_iota();
    ok &= mask_bits(v_lt(io, one)) == lt && mask_bits(v_le(io, one)) == le && mask_bits(v_gt(io, one)) == gt &&
          mask_bits(v_ge(io, one)) == ge && mask_bits(v_eq(io, one)) == eq &&
          mask_bits(v_ne(io, one)) == (all & ~eq);
    ok &= mask_bits(v_eq(v_set(0.0), v_set(-0.0))) == all;
    result(ok, "v_lt v_le v_gt v_ge v_eq v_ne v_isnan (NaN, signed zeros)");
}

static void test_masks(void)
{
    int ok = 1;
    const int all = (1 << V_LANES) - 1;
    for (int n = 0; n <= V_LANES; n++) {
        const vm m = m_first(n);
        ok &= mask_bits(m) == (1 << n) - 1;
        ok &= m_any(m) == (n > 0);
        ok &= m_all(m) == (n == V_LANES);
        ok &= mask_bits(m_not(m)) == (all & ~((1 << n) - 1));
        for (int k = 0; k <= V_LANES; k++) {
            const vm q = m_first(k);
            const int a = (1 << n) - 1, b = (1 << k) - 1;
            ok &= mask_bits(m_and(m, q)) == (a & b);
            ok &= mask_bits(m_or(m, q)) == (a | b);
            ok &= mask_bits(m_andnot(m, q)) == (a & ~b);
        }
    }
    ok &= mask_bits(m_true()) == all && m_all(m_true()) && m_any(m_true());
    /* masks from compares, every lane pattern */
    for (int pattern = 0; pattern <= all && pattern < 256; pattern++) {
        double x[V_LANES];
        for (int i = 0; i < V_LANES; i++)
            x[i] = (pattern >> i) & 1 ? 2.0 : -2.0;
        const vm m = v_gt(v_load(x), v_zero());
        ok &= mask_bits(m) == pattern;
        ok &= m_any(m) == (pattern != 0) && m_all(m) == (pattern == all);
        double o[V_LANES];
        lanes(v_sel(m, v_iota(), v_set(-1.0)), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= o[i] == ((pattern >> i) & 1 ? (double)i : -1.0);
        lanes(v_keep(m, v_add(v_iota(), v_set(1.0))), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= same_bits(o[i], (pattern >> i) & 1 ? (double)i + 1 : 0.0);
        lanes(v_sel(m, v_set(NAN), v_set(-0.0)), o);
        for (int i = 0; i < V_LANES; i++)
            ok &= (pattern >> i) & 1 ? isnan(o[i]) : same_bits(o[i], -0.0);
    }
    result(ok, "m_first (every n) m_and m_or m_andnot m_not m_true m_any m_all v_sel v_keep");
}

/* The documented order of v_hsum's additions, in scalar code. */
static double hsum_order(const double *l)
{
#if V_LANES == 1
    return l[0];
#elif V_LANES == 4
    return (l[0] + l[2]) + (l[1] + l[3]);
#elif V_LANES == 8
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
#else
#error "no documented v_hsum order for this lane count"
#endif
}

static void test_reductions(void)
{
    int ok = 1;
    double l[V_LANES];
    for (int t = 0; t < 20000; t++) {
        for (int i = 0; i < V_LANES; i++) {
            /* magnitudes far apart, so the order of additions shows */
            const double mag = ldexp(1.0, (int)(rnd() % 120) - 60);
            l[i] = (rnd() & 1 ? -mag : mag) * (1.0 + (double)(rnd() >> 11) * 0x1p-53);
        }
        const vd v = v_load(l);
        const double s = v_hsum(v);
        ok &= same_bits(s, hsum_order(l));
        ok &= same_bits(s, v_hsum(v_load(l))); /* deterministic */
        double m = l[0];
        for (int i = 1; i < V_LANES; i++)
            m = l[i] > m ? l[i] : m;
        ok &= v_hmax(v) == m;
    }
    for (int i = 0; i < V_LANES; i++)
        l[i] = i % 2 ? 1.0 : 0x1p53;
    ok &= same_bits(v_hsum(v_load(l)), hsum_order(l));
    ok &= v_hsum(v_iota()) == (double)(V_LANES * (V_LANES - 1) / 2);
    result(ok, "v_hsum (documented order, bit for bit) v_hmax");
}

/* v_prefetch never faults, even on the page that does; the non-temporal
 * stores write what the plain ones write, at their alignment. */
static void test_prefetch_stream(struct fenced *fz)
{
    v_prefetch(fz->end);
    v_prefetch(NULL);
    v_prefetch(fz->end + 4096 * 16);
    result(1, "v_prefetch       on a faulting page, NULL, unmapped: no fault");
    _Alignas(64) double d[2 * V_LANES];
    _Alignas(64) float f[2 * V_LANES];
    double src[V_LANES];
    for (int i = 0; i < V_LANES; i++)
        src[i] = 1.0 / 3.0 + i;
    const vd v = v_load(src);
    v_stream(d, v);
    v_stream_f32(f, v);
    v_stream_fence();
    int ok = 1;
    for (int i = 0; i < V_LANES; i++)
        ok &= same_bits(d[i], src[i]) && f32_bits(f[i]) == f32_bits((float)src[i]);
    result(ok, "v_stream, v_stream_f32, v_stream_fence: the stored values");
}

#ifdef FOCAL_VEC_AVX512_H
#  include <cpuid.h>
/* The library's dispatch.c sets this; here the same CPUID bit (leaf 7,
 * subleaf 1, EAX bit 5: AVX512_BF16). */
int focal_cpu_avx512_bf16;
static void probe_bf16(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 1, a, b, c, d);
        focal_cpu_avx512_bf16 = (int)((a >> 5) & 1u);
    }
}
#else
static void probe_bf16(void) {}
#endif

int main(int argc, char **argv)
{
    probe_bf16();
    if ((argc > 1 && strcmp(argv[1], "--quick") == 0) || proc_quick())
        g_scale = 64;
    printf("vector table %s, %d lanes\n", V_ISA, V_LANES);

    struct fenced fz = fence_make();
    test_loads_stores(&fz);
    test_f32_rounding();
    test_half(&g_bf16, &fz);
#ifdef FOCAL_VEC_AVX512_H
    /* The bfloat16 stores once more on the integer path that CPUs without
     * AVX-512 BF16 take (and every CPU for vectors holding a subnormal). */
    printf("AVX-512 BF16 %s: the bfloat16 stores again on the integer path\n",
           vx_has_bf16() ? "present" : "absent");
    if (vx_has_bf16()) {
        focal_cpu_avx512_bf16 = 0;
        test_half(&g_bf16, &fz);
        focal_cpu_avx512_bf16 = 1;
    }
#endif
    test_half(&g_f16, &fz);
    test_gather();
    test_int();
    test_arith();
    test_minmax_compare();
    test_masks();
    test_reductions();

    test_exp("v_exp", apply_v_exp, 0);
    test_exp("v_exp_lo", apply_v_exp_lo, 1);
    test_log("v_log", apply_v_log, 0);
    test_log("v_log_lo", apply_v_log_lo, 1);
    test_log1p("v_log1p", apply_v_log1p, 0);
    test_log1p("v_log1p_lo", apply_v_log1p_lo, 1);
    test_recip("v_recip", apply_v_recip, 0);
    test_recip("v_recip_lo", apply_v_recip_lo, 1);
    test_log1p_unit("v_log1p_unit (log)", apply_v_log1p_unit_l, log1pl, 0);
    test_log1p_unit("v_log1p_unit (recip)", apply_v_log1p_unit_r, recip1pl, 0);
    test_log1p_unit("v_log1p_unit_lo (log)", apply_v_log1p_unit_lo_l, log1pl, 1);
    test_log1p_unit("v_log1p_unit_lo (recip)", apply_v_log1p_unit_lo_r, recip1pl, 1);
    test_log1p_unit("v_recip1p_unit", apply_v_recip1p_unit, recip1pl, 0);
    test_log1p_unit("v_recip1p_unit_lo", apply_v_recip1p_unit_lo, recip1pl, 1);
    {
        /* The sigmoid's p and q come from either: the same bits. */
        int same = 1;
        for (int i = 0; i <= 1 << 16; i++) {
            const double u = i / 65536.0 + (i & 1) * 0x1p-40;
            vd r, rl;
            (void)v_log1p_unit(v_set(u), &r);
            (void)v_log1p_unit_lo(v_set(u), &rl);
            double a[V_LANES], b[V_LANES], al[V_LANES], bl[V_LANES];
            lanes(r, a);
            lanes(v_recip1p_unit(v_set(u)), b);
            lanes(rl, al);
            lanes(v_recip1p_unit_lo(v_set(u)), bl);
            same &= same_bits(a[0], b[0]) && same_bits(al[0], bl[0]);
        }
        result(same, "v_recip1p_unit(_lo): v_log1p_unit(_lo)'s reciprocal bit for bit, 65537 values in [0, 1]");
    }
    test_prefetch_stream(&fz);
    munmap(fz.base, fz.map_len);
    free(g_buf);

    printf("%s: %d passed, %d failed\n", V_ISA, g_passed, g_failed);
    return g_failed ? 1 : 0;
}
