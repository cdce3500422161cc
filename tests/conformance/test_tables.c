/*
 * Table conformance: every kernel table this build has and this CPU can
 * run, against the portable (scalar) table, on the same calls. The scalar
 * table takes its exp, log and log1p from the C library; the vector tables
 * from their own polynomials; everything else is the same stage code, in
 * double, so the results agree to a few units in the last place:
 *
 *   float32 outputs        within 2 ulp (float) of the scalar table's
 *   float64 outputs        within 2^-44 relative (about 64 ulp)
 * each loss relative to its own magnitude, each gradient entry relative to
 * the largest magnitude of its position's row (its c entries), and NaN,
 * infinities and zeros exactly where the scalar table has them.
 *
 * The calls cover the settings matrix (mode, storage type, target kind,
 * operation, reduction, alpha, weights, ignore_index, label smoothing,
 * probabilities input, FL*, gamma, both layouts and both softmax kernels,
 * rows of every tail length) on random logits in [-20, 20] and on edge
 * inputs (logits of magnitude 1e4, -inf masks, NaN, probabilities at and
 * beyond the clip bounds). The test is linked with the library's objects
 * to switch tables within one process.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"
#include "kernels/kernels.h"
#include "numcheck.h"

typedef struct config {
    focal_mode mode;
    int f32, dense, op, reduction, alpha, weights, ignore, smoothing, probs, star, edge;
    double gamma;
    int64_t n, c, inner;
} config;

typedef struct result {
    focal_status status;
    double *out, *grad;
    size_t nout, ngrad;
} result;

static const int64_t shapes[][3] = {{7, 5, 1},  {3, 19, 37}, {2, 70, 5},  {33, 1, 1}, {4, 3, 17},
                                    {5, 130, 1}, {1, 64, 9},  {9, 11, 1}, {2, 2, 45}, {3, 200, 3}};
static const double gammas[] = {0.0, 0.5, 1.0, 2.0, 3.7};

static void describe(const config *cf, char *buf, size_t size)
{
    snprintf(buf, size,
             "%s %s %s op%d red%d alpha%d w%d ign%d ls%d probs%d star%d edge%d gamma %g shape (%lld, %lld, %lld)",
             cf->mode ? "sigmoid" : "softmax", cf->f32 ? "f32" : "f64", cf->dense ? "dense" : "index", cf->op,
             cf->reduction, cf->alpha, cf->weights, cf->ignore, cf->smoothing, cf->probs, cf->star, cf->edge,
             cf->gamma, (long long)cf->n, (long long)cf->c, (long long)cf->inner);
}

/* Inputs and targets of a configuration, the same for every table. */
typedef struct inputs {
    double *x, *yd, *w, *g;
    int64_t *t;
} inputs;

static void make_inputs(const config *cf, uint64_t seed, inputs *in)
{
    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    const int64_t elems = cf->n * cf->c * cf->inner, positions = cf->n * cf->inner;
    const size_t nout = cf->reduction == FOCAL_REDUCTION_NONE ? (size_t)(cf->mode ? elems : positions) : 1;
    in->x = numcheck_alloc((size_t)elems, sizeof(double));
    in->yd = numcheck_alloc((size_t)elems, sizeof(double));
    in->w = numcheck_alloc((size_t)positions, sizeof(double));
    in->g = numcheck_alloc(nout, sizeof(double));
    in->t = numcheck_alloc((size_t)positions, sizeof(int64_t));
    for (int64_t i = 0; i < elems; i++) {
        double v = cf->probs ? numcheck_rng_uniform(&rng, 0.0, 1.0) : numcheck_rng_uniform(&rng, -20.0, 20.0);
        if (cf->edge) {
            const int64_t k = numcheck_rng_below(&rng, 16);
            if (cf->probs)
                v = k == 0 ? 0.0 : k == 1 ? 1.0 : k == 2 ? 1e-9 : k == 3 ? 1.0 - 1e-9 : v;
            else
                v = k == 0 ? 1e4 : k == 1 ? -1e4 : k == 2 ? 80.0 : k == 3 ? -80.0 : k == 4 ? -INFINITY : v;
        }
        in->x[i] = cf->f32 ? (double)(float)v : v;
        const double y = numcheck_rng_below(&rng, 3) == 0 ? numcheck_rng_uniform(&rng, 0.0, 1.0)
                                                          : (double)numcheck_rng_below(&rng, 2);
        in->yd[i] = cf->f32 ? (double)(float)y : y;
    }
    for (int64_t i = 0; i < positions; i++) {
        in->t[i] = numcheck_rng_below(&rng, cf->mode ? cf->c + 1 : cf->c);
        if (cf->ignore && numcheck_rng_below(&rng, 5) == 0)
            in->t[i] = -100;
        const double w = numcheck_rng_uniform(&rng, 0.0, 2.0);
        in->w[i] = cf->f32 ? (double)(float)w : w;
    }
    for (size_t i = 0; i < nout; i++) {
        const double g = numcheck_rng_uniform(&rng, -1.0, 1.0);
        in->g[i] = cf->f32 ? (double)(float)g : g;
    }
    if (cf->edge && !cf->probs) {
        /* A NaN in one element, and a -inf mask over a whole class. */
        in->x[numcheck_rng_below(&rng, elems)] = NAN;
        for (int64_t s = 0; s < cf->inner; s++)
            in->x[s + (cf->c > 1 ? cf->inner : 0)] = -INFINITY;
    }
}

static void free_inputs(inputs *in)
{
    free(in->x);
    free(in->yd);
    free(in->w);
    free(in->g);
    free(in->t);
}

static focal_loss *make_loss(const config *cf)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, cf->mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, cf->gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, (focal_reduction)cf->reduction), FOCAL_OK);
    if (cf->alpha == 1)
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
    if (cf->alpha == 2) {
        double a[256];
        for (int64_t j = 0; j < cf->c; j++)
            a[j] = 0.1 + 0.8 * (double)((j * 37) % 11) / 10.0;
        assert_int_equal(focal_loss_set_alpha_vector(loss, a, cf->c), FOCAL_OK);
    }
    if (cf->ignore)
        assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
    if (cf->smoothing)
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
    if (cf->probs) {
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
        assert_int_equal(focal_loss_set_epsilon(loss, 1e-6), FOCAL_OK);
    }
    if (cf->star) {
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, 0.5), FOCAL_OK);
    }
    return loss;
}

/* One call through the public API on the tables in use. */
static result run(const config *cf, const inputs *in)
{
    focal_loss *loss = make_loss(cf);
    const int64_t elems = cf->n * cf->c * cf->inner, positions = cf->n * cf->inner;
    result r = {0};
    r.nout = cf->reduction == FOCAL_REDUCTION_NONE ? (size_t)(cf->mode ? elems : positions) : 1;
    r.ngrad = (size_t)elems;
    r.out = numcheck_alloc(r.nout, sizeof(double));
    r.grad = numcheck_alloc(r.ngrad, sizeof(double));
    const double *w = cf->weights ? in->w : NULL;
    if (cf->f32) {
        float *x = numcheck_alloc((size_t)elems, sizeof(float)), *y = numcheck_alloc((size_t)elems, sizeof(float));
        float *wf = numcheck_alloc((size_t)positions, sizeof(float)), *g = numcheck_alloc(r.nout, sizeof(float));
        float *out = numcheck_alloc(r.nout, sizeof(float)), *grad = numcheck_alloc(r.ngrad, sizeof(float));
        for (int64_t i = 0; i < elems; i++) {
            x[i] = (float)in->x[i];
            y[i] = (float)in->yd[i];
        }
        for (int64_t i = 0; i < positions; i++)
            wf[i] = (float)in->w[i];
        for (size_t i = 0; i < r.nout; i++)
            g[i] = (float)in->g[i];
        const float *wp = w != NULL ? wf : NULL;
        if (cf->dense)
            r.status = cf->op == 0   ? focal_forward_dense_f32(loss, cf->n, cf->c, cf->inner, x, y, wp, out)
                       : cf->op == 1 ? focal_backward_dense_f32(loss, cf->n, cf->c, cf->inner, x, y, wp, g, grad)
                                     : focal_forward_backward_dense_f32(loss, cf->n, cf->c, cf->inner, x, y, wp,
                                                                        out, grad);
        else
            r.status = cf->op == 0 ? focal_forward_f32(loss, cf->n, cf->c, cf->inner, x, in->t, wp, out)
                       : cf->op == 1
                           ? focal_backward_f32(loss, cf->n, cf->c, cf->inner, x, in->t, wp, g, grad)
                           : focal_forward_backward_f32(loss, cf->n, cf->c, cf->inner, x, in->t, wp, out, grad);
        for (size_t i = 0; i < r.nout; i++)
            r.out[i] = cf->op == 1 ? 0.0 : out[i];
        for (size_t i = 0; i < r.ngrad; i++)
            r.grad[i] = cf->op == 0 ? 0.0 : grad[i];
        free(x);
        free(y);
        free(wf);
        free(g);
        free(out);
        free(grad);
    } else {
        if (cf->op == 1)
            memset(r.out, 0, r.nout * sizeof(double));
        if (cf->op == 0)
            memset(r.grad, 0, r.ngrad * sizeof(double));
        if (cf->dense)
            r.status = cf->op == 0   ? focal_forward_dense_f64(loss, cf->n, cf->c, cf->inner, in->x, in->yd, w, r.out)
                       : cf->op == 1 ? focal_backward_dense_f64(loss, cf->n, cf->c, cf->inner, in->x, in->yd, w,
                                                                in->g, r.grad)
                                     : focal_forward_backward_dense_f64(loss, cf->n, cf->c, cf->inner, in->x, in->yd,
                                                                        w, r.out, r.grad);
        else
            r.status = cf->op == 0
                           ? focal_forward_f64(loss, cf->n, cf->c, cf->inner, in->x, in->t, w, r.out)
                       : cf->op == 1
                           ? focal_backward_f64(loss, cf->n, cf->c, cf->inner, in->x, in->t, w, in->g, r.grad)
                           : focal_forward_backward_f64(loss, cf->n, cf->c, cf->inner, in->x, in->t, w, r.out,
                                                        r.grad);
    }
    focal_loss_destroy(loss);
    return r;
}

static void free_result(result *r)
{
    free(r->out);
    free(r->grad);
}

/* |got - want| within `units` of the unit of `scale` (float ulp, or the
 * relative bound for float64); special values exactly. */
static int agrees(double got, double want, double scale, int f32)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    if (want == 0 || got == 0)
        if (scale == 0)
            return got == want;
    const double s = fabs(scale) > 0 ? fabs(scale) : fabs(want);
    double unit;
    if (f32) {
        int e;
        frexp((float)s, &e);
        unit = ldexp(1.0, e - 24) * 2;   /* 2 ulp of float at the scale */
        if (s < 0x1p-126)
            unit = 0x1p-148;
    } else {
        unit = s * 0x1p-44;
    }
    return fabs(got - want) <= unit;
}

static int compare(const config *cf, const result *ref, const result *got, const char *table)
{
    char what[256];
    int bad = 0;
    if (ref->status != got->status) {
        describe(cf, what, sizeof what);
        errcheck_problem("%s: %s: status %d, scalar %d", table, what, (int)got->status, (int)ref->status);
        return 1;
    }
    if (ref->status != FOCAL_OK)
        return 0;
    for (size_t i = 0; i < ref->nout; i++)
        if (!agrees(got->out[i], ref->out[i], ref->out[i], cf->f32)) {
            describe(cf, what, sizeof what);
            errcheck_problem("%s: %s: out[%zu] = %.17g, scalar %.17g", table, what, i, got->out[i], ref->out[i]);
            return 1;
        }
    /* Gradients relative to the largest entry of their row. */
    const int64_t c = cf->c, inner = cf->inner;
    for (int64_t pos = 0; pos < cf->n * inner && !bad; pos++) {
        const int64_t image = pos / inner, s = pos % inner;
        double scale = 0;
        for (int64_t j = 0; j < c; j++) {
            const double v = ref->grad[(image * c + j) * inner + s];
            if (isfinite(v))
                scale = fmax(scale, fabs(v));
        }
        for (int64_t j = 0; j < c; j++) {
            const size_t i = (size_t)((image * c + j) * inner + s);
            if (!agrees(got->grad[i], ref->grad[i], scale, cf->f32)) {
                describe(cf, what, sizeof what);
                errcheck_problem("%s: %s: grad[%zu] = %.17g, scalar %.17g (row scale %.3g)", table, what, i,
                                 got->grad[i], ref->grad[i], scale);
                bad = 1;
                break;
            }
        }
    }
    return bad;
}

/* The settings matrix, sampled: every combination of mode, storage type,
 * target kind, operation and shape, with the other settings drawn. */
static size_t make_configs(config *out, size_t max)
{
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 20261204);
    size_t k = 0;
    for (int mode = 0; mode < 2; mode++)
        for (int f32 = 0; f32 < 2; f32++)
            for (int dense = 0; dense < 2; dense++)
                for (int op = 0; op < 3; op++)
                    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
                        for (int rep = 0; rep < 3 && k < max; rep++) {
                            config cf = {.mode = (focal_mode)mode, .f32 = f32, .dense = dense, .op = op};
                            cf.n = shapes[sh][0];
                            cf.c = shapes[sh][1];
                            cf.inner = shapes[sh][2];
                            cf.reduction = (int)numcheck_rng_below(&rng, mode ? 5 : 4);
                            cf.alpha = (int)numcheck_rng_below(&rng, 3);
                            cf.weights = (int)numcheck_rng_below(&rng, 2);
                            cf.ignore = !dense && numcheck_rng_below(&rng, 2);
                            cf.smoothing = numcheck_rng_below(&rng, 3) == 0;
                            cf.probs = numcheck_rng_below(&rng, 4) == 0;
                            cf.star = mode && !cf.probs && numcheck_rng_below(&rng, 4) == 0;
                            cf.edge = rep == 2;
                            cf.gamma = gammas[numcheck_rng_below(&rng, 5)];
                            if (cf.star && cf.gamma == 0)
                                cf.gamma = 1.0;
                            out[k++] = cf;
                        }
    return k;
}

static void test_tables_against_scalar(void **state)
{
    (void)state;
    static config configs[2048];
    const size_t count = make_configs(configs, sizeof configs / sizeof configs[0]);
    static const char *const names[] = {"scalar", "avx2", "avx512"};
    int compared = 0;
    for (int level = FOCAL_ISA_AVX2; level <= FOCAL_ISA_AVX512; level++) {
        if (focal_kernels_of((focal_isa_level)level, FOCAL_F32) == NULL) {
            printf("conformance: table %s not compiled in: skipped\n", names[level]);
            continue;
        }
        if ((int)focal_isa_supported() < level) {
            printf("conformance: this CPU cannot run table %s: skipped\n", names[level]);
            continue;
        }
        for (size_t i = 0; i < count; i++) {
            inputs in;
            make_inputs(&configs[i], 1000 + i, &in);
            focal_isa_override(FOCAL_ISA_SCALAR);
            result ref = run(&configs[i], &in);
            focal_isa_override((focal_isa_level)level);
            result got = run(&configs[i], &in);
            compare(&configs[i], &ref, &got, names[level]);
            free_result(&ref);
            free_result(&got);
            free_inputs(&in);
        }
        printf("conformance: table %s against scalar: %zu calls\n", names[level], count);
        compared++;
    }
    focal_isa_override(focal_isa_supported());
    assert_true(compared > 0);
    errcheck_finish();
}

int main(void)
{
    /* Nothing to compare is a skip (exit 77), never a pass. */
    if (focal_isa_supported() == FOCAL_ISA_SCALAR || focal_kernels_of(FOCAL_ISA_AVX2, FOCAL_F32) == NULL) {
        printf("conformance: no vector table this CPU can run is compiled in: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tables_against_scalar, errcheck_reset_tally),
    };
    return cmocka_run_group_tests_name("conformance", tests, NULL, NULL);
}
