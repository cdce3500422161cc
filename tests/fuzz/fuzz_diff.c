/*
 * Differential fuzz target: one decoded call, computed several ways that
 * must agree.
 *
 *   - every kernel table this CPU runs against the portable (scalar) table,
 *     within the table-conformance test's bounds (tests/conformance): float32
 *     outputs within 2 float ulp, float64 within 2^-44, each loss relative to
 *     its own magnitude (a reduced float64 loss also N 2^-53 for its N
 *     terms, summed in another order on each table) and each gradient
 *     entry relative to the largest magnitude of its position's c entries
 *     (the test's shapes are small; the fuzzer's reach 2^16 elements),
 *     plus the scalar table's own change when the inputs move a little
 *     (see conditioning: results that are small differences of larger
 *     terms); NaN and infinities exactly where the scalar table has them;
 *     the same status;
 *   - float32 against float64 on the same (float-exact) inputs, on the best
 *     table: within 2^-14 of the same scales, where the settings leave no
 *     cliff between the two types (no probabilities input, whose clip bounds
 *     are rounded to the input's type; gamma 0 or >= 1);
 *   - the fused call against forward and backward called apart, bitwise;
 *   - two threads against one, bitwise, on the calls large enough for the
 *     library to use threads (one shape in 2048).
 *
 * bfloat16 / float16 against float32 on the widened inputs is fuzz_half's.
 * The inputs are moderate (logits k / 8 in [-16, 16], weights k / 16,
 * probabilities and dense targets k / 256), so that the comparisons, not
 * overflow, are what is tested; fuzz_compute and fuzz_small take the
 * extremes. Linked with the library's objects (not the shared library) to
 * switch tables within one process (focal_isa_override).
 *
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"

#include "kernels/kernels.h"

#define MAX_C 140
#define BIG_ELEMENTS (1 << 16)   /* the library's threshold for threads */

typedef struct dcase {
    focal_mode mode;
    int dense, weights, ignore, reduction, variant, alpha_kind, probs, smoothing, big;
    double gamma, alpha, divisor, alpha_v[MAX_C];
    int64_t n, c, inner;
    size_t elements, positions, nout;
    double *x, *y, *w;          /* float-exact values */
    int64_t *t;
} dcase;

static const dcase *g_case;

static void describe(FILE *f)
{
    const dcase *k = g_case;
    if (k == NULL)
        return;
    fprintf(f,
            "  case: %s %s, n=%" PRId64 " c=%" PRId64 " inner=%" PRId64 "%s, weights %d, ignore %d, reduction %d, "
            "variant %d, alpha kind %d (%.17g), probs %d, smoothing %d, gamma %.17g, divisor %.17g\n",
            k->mode == FOCAL_MODE_SIGMOID ? "sigmoid" : "softmax", k->dense ? "dense" : "index", k->n, k->c,
            k->inner, k->big ? " (big)" : "", k->weights, k->ignore, k->reduction, k->variant, k->alpha_kind,
            k->alpha, k->probs, k->smoothing, k->gamma, k->divisor);
}

static const double gammas[] = {0.0, 0.5, 1.0, 2.0, 3.7, 0.25, 1.5, 5.0};

static void decode(fuzz_reader *r, dcase *k)
{
    memset(k, 0, sizeof *k);
    const uint8_t m = fr_u8(r);
    k->mode = (m & 1) ? FOCAL_MODE_SIGMOID : FOCAL_MODE_SOFTMAX;
    k->dense = (m >> 1) & 1;
    k->weights = (m >> 2) & 1;
    k->ignore = (m >> 3) & 1;
    k->probs = ((m >> 4) & 7) == 0;
    k->smoothing = ((m >> 4) & 7) == 1;
    k->big = fr_u8(r) == 0 && (fr_u8(r) & 7) == 0;   /* one shape in 2048 */
#ifdef FUZZ_DIFF_SMALL
    k->big = 0;   /* the bytes are read all the same: one corpus serves both */
#endif
    k->n = 1 + fr_u8(r) % 4;
    k->c = 1 + fr_u8(r) % 24;
    if ((fr_u8(r) & 15) == 0)
        k->c = 60 + fr_u8(r) % (MAX_C - 60);   /* the row layout's classes too */
    k->inner = 1 + fr_u8(r) % 4;
    if (k->big)
        k->n = (BIG_ELEMENTS + k->c * k->inner - 1) / (k->c * k->inner) + fr_u8(r) % 7;
    const uint8_t s = fr_u8(r);
    k->gamma = gammas[s & 7];
    k->reduction = (s >> 3) % 6;
    k->variant = (s >> 6) & 3;   /* FL, FL*, QFL, ASL */
    if (k->variant == 3)
        k->variant = FOCAL_VARIANT_ASL;
    /* Mostly settings that go together (the statuses of those that do not
     * are fuzz_compute's): the family in sigmoid mode on logits. */
    if (k->mode == FOCAL_MODE_SOFTMAX) {
        k->variant = FOCAL_VARIANT_FL;
        if (k->reduction == FOCAL_REDUCTION_SUM_OVER_POSITIVES)
            k->reduction = FOCAL_REDUCTION_MEAN;
    }
    if (k->variant != FOCAL_VARIANT_FL)
        k->probs = 0;
    if ((k->variant == FOCAL_VARIANT_FL_STAR && k->gamma == 0) ||
        (k->variant == FOCAL_VARIANT_QFL && k->gamma > 0 && k->gamma < 1))
        k->gamma = 2.0;
    const uint8_t a = fr_u8(r);
    k->alpha_kind = a % 3;
    k->alpha = (double)(a / 3) / 85.0;   /* [0, 1] */
    for (int64_t j = 0; j < k->c; j++)
        k->alpha_v[j] = (double)((a + 37 * j) % 64) / 64.0;
    k->divisor = (double)(fr_u8(r) + 1) / 8.0;

    k->elements = (size_t)(k->n * k->c * k->inner);
    k->positions = (size_t)(k->n * k->inner);
    const int per_element = k->mode == FOCAL_MODE_SIGMOID;
    k->nout = k->reduction == FOCAL_REDUCTION_NONE ? (per_element ? k->elements : k->positions) : 1;
    k->x = malloc(k->elements * sizeof(double));
    k->y = malloc(k->elements * sizeof(double));
    k->w = malloc(k->positions * sizeof(double));
    k->t = malloc(k->positions * sizeof(int64_t));
    if (k->x == NULL || k->y == NULL || k->w == NULL || k->t == NULL)
        abort();
    /* The bytes that are left give the values; zeros once they run out. */
    for (size_t i = 0; i < k->elements; i++) {
        const uint8_t b = fr_u8(r);
        k->x[i] = k->probs ? (double)b / 256.0 : (double)(int8_t)b / 8.0;
    }
    for (size_t i = 0; i < k->positions; i++) {
        k->w[i] = (double)(fr_u8(r) % 64) / 16.0;
        const uint8_t b = fr_u8(r);
        const int64_t classes = k->mode == FOCAL_MODE_SIGMOID ? k->c + 1 : k->c;
        k->t[i] = k->ignore && b % 11 == 0 ? -100 : (int64_t)(b % (uint8_t)(classes > 255 ? 255 : classes));
        if (k->t[i] >= classes)
            k->t[i] = classes - 1;
    }
    if (k->dense) {
        /* Softmax: a distribution per position (k / 256 parts, the last
         * takes the rest: all exact); sigmoid: any value in [0, 1]. */
        for (size_t p = 0; p < k->positions; p++) {
            const size_t img = p / (size_t)k->inner, at = p % (size_t)k->inner;
            double left = 1.0;
            for (int64_t j = 0; j < k->c; j++) {
                const size_t e = (img * (size_t)k->c + (size_t)j) * (size_t)k->inner + at;
                double v = (double)fr_u8(r) / 256.0;
                if (k->mode == FOCAL_MODE_SOFTMAX) {
                    v = j == k->c - 1 ? left : (v < left ? v : left) / 4;
                    left -= v;
                }
                k->y[e] = v;
            }
        }
    }
}

static void release(dcase *k)
{
    free(k->x);
    free(k->y);
    free(k->w);
    free(k->t);
}

/* The context; NULL when a setting is refused (then every table must be
 * refused the same way, which the setters do not depend on). */
static focal_loss *make_loss(const dcase *k, int threads)
{
    focal_loss *loss = NULL;
    FUZZ_CHECK(focal_loss_create(&loss, k->mode) == FOCAL_OK, "focal_loss_create failed");
    int ok = focal_loss_set_gamma(loss, k->gamma) == FOCAL_OK;
    ok &= focal_loss_set_reduction(loss, (focal_reduction)k->reduction) == FOCAL_OK;
    if (k->reduction == FOCAL_REDUCTION_DIVISOR)
        ok &= focal_loss_set_divisor(loss, k->divisor) == FOCAL_OK;
    if (k->alpha_kind == 1)
        ok &= focal_loss_set_alpha(loss, k->alpha) == FOCAL_OK;
    if (k->alpha_kind == 2)
        ok &= focal_loss_set_alpha_vector(loss, k->alpha_v, k->c) == FOCAL_OK;
    if (k->ignore)
        ok &= focal_loss_set_ignore_index(loss, -100) == FOCAL_OK;
    if (k->smoothing)
        ok &= focal_loss_set_label_smoothing(loss, 0.1) == FOCAL_OK;
    if (k->probs) {
        ok &= focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES) == FOCAL_OK;
        ok &= focal_loss_set_epsilon(loss, 0x1p-10) == FOCAL_OK;
    }
    if (k->variant != FOCAL_VARIANT_FL)
        ok &= focal_loss_set_variant(loss, (focal_variant)k->variant) == FOCAL_OK;
    ok &= focal_loss_set_threads(loss, threads) == FOCAL_OK;
    if (!ok) {
        focal_loss_destroy(loss);
        return NULL;
    }
    return loss;
}

typedef struct result {
    focal_status status;
    double *out, *grad;   /* widened to double */
} result;

enum { OP_FWD = 0, OP_BWD = 1, OP_FUSED = 2 };

/* One call in float64 (f32 = 0) or float32 on the tables in use. */
static result call(const dcase *k, const focal_loss *loss, int f32, int op)
{
    result res = {FOCAL_OK, calloc(k->nout, sizeof(double)), calloc(k->elements, sizeof(double))};
    double *ones = malloc(k->nout * sizeof(double));
    if (res.out == NULL || res.grad == NULL || ones == NULL)
        abort();
    for (size_t i = 0; i < k->nout; i++)
        ones[i] = 1.0;
    const int64_t n = k->n, c = k->c, in = k->inner;
    const double *w = k->weights ? k->w : NULL;
    if (!f32) {
        double *out = op == OP_BWD ? NULL : res.out, *grad = op == OP_FWD ? NULL : res.grad;
        if (k->dense)
            res.status = op == OP_FWD   ? focal_forward_dense_f64(loss, n, c, in, k->x, k->y, w, out)
                         : op == OP_BWD ? focal_backward_dense_f64(loss, n, c, in, k->x, k->y, w, ones, grad)
                                        : focal_forward_backward_dense_f64(loss, n, c, in, k->x, k->y, w, out, grad);
        else
            res.status = op == OP_FWD   ? focal_forward_f64(loss, n, c, in, k->x, k->t, w, out)
                         : op == OP_BWD ? focal_backward_f64(loss, n, c, in, k->x, k->t, w, ones, grad)
                                        : focal_forward_backward_f64(loss, n, c, in, k->x, k->t, w, out, grad);
    } else {
        float *x = malloc(k->elements * sizeof(float)), *y = malloc(k->elements * sizeof(float));
        float *wf = malloc(k->positions * sizeof(float)), *of = calloc(k->nout, sizeof(float));
        float *gf = calloc(k->elements, sizeof(float)), *up = malloc(k->nout * sizeof(float));
        if (x == NULL || y == NULL || wf == NULL || of == NULL || gf == NULL || up == NULL)
            abort();
        for (size_t i = 0; i < k->elements; i++) {
            x[i] = (float)k->x[i];
            y[i] = (float)k->y[i];
        }
        for (size_t i = 0; i < k->positions; i++)
            wf[i] = (float)k->w[i];
        for (size_t i = 0; i < k->nout; i++)
            up[i] = 1.0f;
        const float *wp = k->weights ? wf : NULL;
        float *out = op == OP_BWD ? NULL : of, *grad = op == OP_FWD ? NULL : gf;
        if (k->dense)
            res.status = op == OP_FWD   ? focal_forward_dense_f32(loss, n, c, in, x, y, wp, out)
                         : op == OP_BWD ? focal_backward_dense_f32(loss, n, c, in, x, y, wp, up, grad)
                                        : focal_forward_backward_dense_f32(loss, n, c, in, x, y, wp, out, grad);
        else
            res.status = op == OP_FWD   ? focal_forward_f32(loss, n, c, in, x, k->t, wp, out)
                         : op == OP_BWD ? focal_backward_f32(loss, n, c, in, x, k->t, wp, up, grad)
                                        : focal_forward_backward_f32(loss, n, c, in, x, k->t, wp, out, grad);
        for (size_t i = 0; i < k->nout; i++)
            res.out[i] = of[i];
        for (size_t i = 0; i < k->elements; i++)
            res.grad[i] = gf[i];
        free(x);
        free(y);
        free(wf);
        free(of);
        free(gf);
        free(up);
    }
    free(ones);
    return res;
}

static void drop(result *r)
{
    free(r->out);
    free(r->grad);
}

/* For each element, the largest magnitude among the c entries of its
 * position (one pass over the positions). */
static double *row_scales(const dcase *k, const double *g)
{
    const size_t in = (size_t)k->inner, c = (size_t)k->c;
    double *scale = malloc(k->elements * sizeof(double));
    if (scale == NULL)
        abort();
    for (size_t p = 0; p < k->positions; p++) {
        const size_t img = p / in, at = p % in;
        double m = 0;
        for (size_t j = 0; j < c; j++) {
            const double v = fabs(g[(img * c + j) * in + at]);
            if (isfinite(v) && v > m)
                m = v;
        }
        for (size_t j = 0; j < c; j++)
            scale[(img * c + j) * in + at] = m;
    }
    return scale;
}

/* |got - want| within tol times the scale plus atol (and exactly where
 * want is not finite). */
static int agree(double got, double want, double scale, double tol, double atol)
{
    if (!isfinite(want) || !isfinite(got))
        return memcmp(&got, &want, sizeof got) == 0 || (isnan(got) && isnan(want));
    return fabs(got - want) <= tol * scale + atol;
}

/* The conformance bounds: 2 float ulp at the scale, or 2^-44 of it. */
static double ulp_tol(int f32, double scale)
{
    if (!f32)
        return 0x1p-44;
    if (scale == 0 || !isfinite(scale))
        return 0;
    int e;
    frexp(scale, &e);
    return ldexp(1.0, e - 24) * 2 / scale;
}

/* How much the scalar table's float64 results move when the inputs move
 * a little (logits, and dense targets strictly between 0 and 1; each
 * apart): where a result is a difference of larger terms (a sigmoid
 * gradient p - y with y close to p) a table whose p is a little off
 * differs by that much, which a bound relative to the result alone does
 * not allow. For float64 results the inputs move by 4 units in their last
 * place, and the slack is at most 2^-30 of the result; for float32 ones,
 * whose path computes in double with elementary functions accurate to
 * 2^-32, by 2^-29 of their magnitude (of 1 for logits below 1, where a
 * relative move would barely move p), and the slack is at most 2^-16 of
 * the result. The caps keep a jump (a clip bound, a path change) from
 * opening the bound; a result of 0 gets no slack. */
typedef struct slack {
    double *out, *grad;
} slack;

static void slack_add(double *s, const double *moved, const double *ref, size_t count, double cap)
{
    for (size_t i = 0; i < count; i++) {
        const double d = fabs(moved[i] - ref[i]);
        if (isfinite(d) && isfinite(ref[i]))
            s[i] = fmin(s[i] + d, cap * fabs(ref[i]));
    }
}

static slack conditioning(const dcase *k, const focal_loss *loss, int f32, const result *ref64)
{
    slack s = {calloc(k->nout, sizeof(double)), calloc(k->elements, sizeof(double))};
    double *moved = malloc(k->elements * sizeof(double));
    if (s.out == NULL || s.grad == NULL || moved == NULL)
        abort();
    const double cap = f32 ? 0x1p-16 : 0x1p-30;
    for (int which = 0; which < 2 && ref64->status == FOCAL_OK; which++) {
        if (which == 1 && !k->dense)
            break;
        dcase m = *k;
        const double *from = which == 0 ? k->x : k->y;
        for (size_t e = 0; e < k->elements; e++) {
            const double v = from[e];
            if (which == 1 && !(v > 0 && v < 1))
                moved[e] = v;
            else if (!f32)
                moved[e] = v * (1 - 0x1p-50);
            else
                moved[e] = v - 0x1p-29 * (which == 0 ? fmax(fabs(v), 1.0) : v);
        }
        if (which == 0)
            m.x = moved;
        else
            m.y = moved;
        result r = call(&m, loss, 0, OP_FUSED);
        if (r.status == FOCAL_OK) {
            slack_add(s.out, r.out, ref64->out, k->nout, cap);
            slack_add(s.grad, r.grad, ref64->grad, k->elements, cap);
        }
        drop(&r);
    }
    free(moved);
    return s;
}

/* use_ulps: the conformance bounds (plus the float64 reference's slack,
 * when given); else tol of the scale, plus 2^-120 (float32's subnormal
 * range, where float32 keeps fewer digits). */
static void compare(const dcase *k, const char *what, int f32, const result *got, const result *want, double tol_f64,
                    int use_ulps, const slack *sl)
{
    const double atol = use_ulps ? 0.0 : 0x1p-120;
    FUZZ_CHECK(got->status == want->status, "%s: status %d, the reference's %d", what, (int)got->status,
               (int)want->status);
    if (want->status != FOCAL_OK)
        return;
    /* A reduced loss sums its terms (all >= 0 here) in another order on
     * each table: up to one rounding of the sum per term apart. */
    const double order = k->reduction != FOCAL_REDUCTION_NONE && !f32 ? (double)k->elements * 0x1p-53 : 0.0;
    for (size_t i = 0; i < k->nout; i++) {
        const double scale = fabs(want->out[i]);
        const double tol = (use_ulps ? ulp_tol(f32, scale) : tol_f64) + order;
        FUZZ_CHECK(agree(got->out[i], want->out[i], scale, tol, atol + (sl != NULL ? sl->out[i] : 0.0)),
                   "%s: out[%zu] = %.17g, the reference's %.17g", what, i, got->out[i], want->out[i]);
    }
    double *scales = row_scales(k, want->grad);
    for (size_t e = 0; e < k->elements; e++) {
        const double scale = scales[e];
        const double tol = use_ulps ? ulp_tol(f32, scale) : tol_f64;
        FUZZ_CHECK(agree(got->grad[e], want->grad[e], scale, tol, atol + (sl != NULL ? sl->grad[e] : 0.0)),
                   "%s: grad[%zu] = %.17g, the reference's %.17g", what, e, got->grad[e], want->grad[e]);
    }
    free(scales);
}

static void same_bits(const dcase *k, const char *what, const result *got, const result *want, int check_out,
                      int check_grad)
{
    FUZZ_CHECK(got->status == want->status, "%s: status %d, the reference's %d", what, (int)got->status,
               (int)want->status);
    if (want->status != FOCAL_OK)
        return;
    if (check_out)
        FUZZ_CHECK(memcmp(got->out, want->out, k->nout * sizeof(double)) == 0, "%s: the losses differ in bits", what);
    if (check_grad)
        FUZZ_CHECK(memcmp(got->grad, want->grad, k->elements * sizeof(double)) == 0,
                   "%s: the gradients differ in bits", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_describe = describe;
    fuzz_reader r = {data, size, 0};
    dcase k;
    decode(&r, &k);
    g_case = &k;
    focal_loss *loss = make_loss(&k, 1);
    const int verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) {
        describe(stderr);
        fprintf(stderr, "  settings %s\n", loss != NULL ? "accepted" : "refused");
        for (size_t e = 0; e < k.elements; e++)
            fprintf(stderr, "  x[%zu] = %.17g%s%.17g\n", e, k.x[e], k.dense ? ", y = " : "", k.dense ? k.y[e] : 0.0);
        for (size_t i = 0; k.t != NULL && i < k.positions; i++)
            fprintf(stderr, "  t[%zu] = %" PRId64 "\n", i, k.t[i]);
        for (size_t i = 0; k.w != NULL && i < k.positions; i++)
            fprintf(stderr, "  w[%zu] = %.17g\n", i, k.w[i]);
    }
    if (loss == NULL) {
        g_case = NULL;
        release(&k);
        return 0;
    }
    const focal_isa_level best = focal_isa_supported();

    /* Every table against the scalar table, both types, the fused call.
     * The slack is measured in float64 for both types, from the scalar
     * table's float64 result of the first pass. */
    result scalar64 = {0};
    for (int f32 = 0; f32 <= 1; f32++) {
        focal_isa_override(FOCAL_ISA_SCALAR);
        result ref = call(&k, loss, f32, OP_FUSED);
        if (!f32)
            scalar64 = ref;
        slack sl = conditioning(&k, loss, f32, &scalar64);
        for (int level = FOCAL_ISA_AVX2; level <= (int)best; level++) {
            if (focal_kernels_of((focal_isa_level)level, FOCAL_F32) == NULL)
                continue;
            focal_isa_override((focal_isa_level)level);
            result got = call(&k, loss, f32, OP_FUSED);
            compare(&k, level == FOCAL_ISA_AVX2 ? "avx2 table against scalar" : "avx512 table against scalar", f32,
                    &got, &ref, 0, 1, &sl);
            drop(&got);
        }
        free(sl.out);
        free(sl.grad);
        if (f32)
            drop(&ref);
    }
    drop(&scalar64);
    focal_isa_override(best);

    /* float32 against float64 on the best table. */
    result r64 = call(&k, loss, 0, OP_FUSED);
    result r32 = call(&k, loss, 1, OP_FUSED);
    FUZZ_CHECK(r32.status == r64.status, "float32 status %d, float64 %d", (int)r32.status, (int)r64.status);
    if (verbose)
        fprintf(stderr, "  status %d%s%s\n", (int)r64.status, r64.status != FOCAL_OK ? ": " : "",
                r64.status != FOCAL_OK ? focal_last_error() : "");
    if (!k.probs && (k.gamma == 0 || k.gamma >= 1))
        compare(&k, "float32 against float64", 1, &r32, &r64, 0x1p-14, 0, NULL);

    /* Fused against forward and backward apart (upstream 1), bitwise. */
    for (int f32 = 0; f32 <= 1; f32++) {
        const result *fused = f32 ? &r32 : &r64;
        result fwd = call(&k, loss, f32, OP_FWD), bwd = call(&k, loss, f32, OP_BWD);
        same_bits(&k, f32 ? "float32 forward against fused" : "float64 forward against fused", &fwd, fused, 1, 0);
        same_bits(&k, f32 ? "float32 backward against fused" : "float64 backward against fused", &bwd, fused, 0, 1);
        drop(&fwd);
        drop(&bwd);
    }

    /* Two threads against one, bitwise, where threads are used. */
    if (k.big) {
        focal_loss *two = make_loss(&k, 2);
        FUZZ_CHECK(two != NULL, "the settings were refused with two threads only");
        for (int f32 = 0; f32 <= 1; f32++) {
            result got = call(&k, two, f32, OP_FUSED);
            same_bits(&k, f32 ? "float32 two threads against one" : "float64 two threads against one", &got,
                      f32 ? &r32 : &r64, 1, 1);
            drop(&got);
        }
        focal_loss_destroy(two);
    }
    drop(&r64);
    drop(&r32);
    focal_loss_destroy(loss);
    g_case = NULL;
    release(&k);
    return 0;
}
