/*
 * The calls shared by the thread pool's API-level tests (pool_cases.h).
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include "pool_cases.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numcheck.h"

/* Two shapes of 69,632 values, more than the 2^16 below which a call runs
 * on its caller alone (rows and planes), and two small ones. */
static const pool_shape shapes[POOL_SHAPES] = {{4096, 17, 1}, {2, 8, 4352}, {64, 8, 1}, {3, 5, 7}};

typedef struct context_spec {
    focal_mode mode;
    double gamma;
    focal_reduction reduction;
} context_spec;

static const context_spec specs[POOL_CONTEXTS] = {
    {FOCAL_MODE_SOFTMAX, 2.0, FOCAL_REDUCTION_MEAN},
    {FOCAL_MODE_SOFTMAX, 0.5, FOCAL_REDUCTION_NONE},
    {FOCAL_MODE_SIGMOID, 2.0, FOCAL_REDUCTION_SUM},
    {FOCAL_MODE_SIGMOID, 1.5, FOCAL_REDUCTION_NONE},
};
/* 0: the library's default. */
const int pool_context_threads[POOL_CONTEXTS] = {0, 2, 4, 3};
#define SIGMOID_ALPHA 0.25

pool_case pool_cases[POOL_CASES];
focal_loss *pool_contexts[POOL_CONTEXTS];

static focal_loss *make_context(int ctx)
{
    const context_spec *sp = &specs[ctx];
    focal_loss *loss = NULL;
    if (focal_loss_create(&loss, sp->mode) != FOCAL_OK)
        return NULL;
    if (focal_loss_set_gamma(loss, sp->gamma) != FOCAL_OK ||
        focal_loss_set_reduction(loss, sp->reduction) != FOCAL_OK ||
        (sp->mode == FOCAL_MODE_SIGMOID && focal_loss_set_alpha(loss, SIGMOID_ALPHA) != FOCAL_OK) ||
        focal_loss_set_threads(loss, pool_context_threads[ctx]) != FOCAL_OK) {
        focal_loss_destroy(loss);
        return NULL;
    }
    return loss;
}

static double get(const pool_case *k, const void *p, int64_t i)
{
    return k->f64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

focal_status pool_case_run(const pool_case *k, const focal_loss *loss, void *out, void *grad)
{
    const pool_shape *s = &k->sh;
    if (k->f64)
        return focal_forward_backward_f64(loss, s->n, s->c, s->inner, k->input, k->target, NULL, out, grad);
    return focal_forward_backward_f32(loss, s->n, s->c, s->inner, k->input, k->target, NULL, out, grad);
}

int pool_case_check(const pool_case *k, void *out, void *grad)
{
    /* Poisoned first: a call that wrote nothing cannot pass on what an
     * earlier call left there. */
    memset(out, 0xA5, k->out_bytes);
    memset(grad, 0xA5, k->grad_bytes);
    if (pool_case_run(k, pool_contexts[k->ctx], out, grad) != FOCAL_OK)
        return 1;
    return memcmp(out, k->ref_out, k->out_bytes) != 0 || memcmp(grad, k->ref_grad, k->grad_bytes) != 0 ? 2 : 0;
}

static void case_init(pool_case *k, int ctx, int sh, uint64_t seed)
{
    memset(k, 0, sizeof *k);
    k->ctx = ctx;
    k->f64 = (ctx + sh) % 2;
    k->large = sh < 2;
    k->sh = shapes[sh];
    k->elems = k->sh.n * k->sh.c * k->sh.inner;
    k->positions = k->sh.n * k->sh.inner;
    k->esz = k->f64 ? sizeof(double) : sizeof(float);
    const int sigmoid = specs[ctx].mode == FOCAL_MODE_SIGMOID;
    k->outs = specs[ctx].reduction != FOCAL_REDUCTION_NONE ? 1 : sigmoid ? k->elems : k->positions;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    k->input = numcheck_alloc((size_t)k->elems, k->esz);
    for (int64_t i = 0; i < k->elems; i++) {
        const double v = numcheck_rng_uniform(&rng, -4.0, 4.0);
        if (k->f64)
            ((double *)k->input)[i] = v;
        else
            ((float *)k->input)[i] = (float)v;
    }
    k->target = numcheck_alloc((size_t)k->positions, sizeof(int64_t));
    for (int64_t i = 0; i < k->positions; i++)   /* sigmoid: c is background */
        k->target[i] = numcheck_rng_below(&rng, k->sh.c + sigmoid);
    k->out_bytes = (size_t)k->outs * k->esz;
    k->grad_bytes = (size_t)k->elems * k->esz;
    k->ref_out = numcheck_alloc(k->out_bytes, 1);
    k->ref_grad = numcheck_alloc(k->grad_bytes, 1);
}

static int cases_init(char *msg, size_t size)
{
    for (int c = 0; c < POOL_CONTEXTS; c++)
        if ((pool_contexts[c] = make_context(c)) == NULL) {
            snprintf(msg, size, "context %d: %s", c, focal_last_error());
            return 1;
        }
    for (int c = 0; c < POOL_CONTEXTS; c++)
        for (int s = 0; s < POOL_SHAPES; s++) {
            const int i = c * POOL_SHAPES + s;
            pool_case *k = &pool_cases[i];
            case_init(k, c, s, 1000u + 17u * (uint64_t)i);
            focal_loss *one = NULL;
            const int ok = focal_loss_clone(pool_contexts[c], &one) == FOCAL_OK &&
                           focal_loss_set_threads(one, 1) == FOCAL_OK &&
                           pool_case_run(k, one, k->ref_out, k->ref_grad) == FOCAL_OK;
            focal_loss_destroy(one);
            if (!ok) {
                snprintf(msg, size, "reference of case %d: %s", i, focal_last_error());
                return 1;
            }
        }
    return 0;
}

static void cases_free(void)
{
    for (int i = 0; i < POOL_CASES; i++) {
        pool_case *k = &pool_cases[i];
        free(k->input);
        free(k->target);
        free(k->ref_out);
        free(k->ref_grad);
        memset(k, 0, sizeof *k);
    }
    for (int c = 0; c < POOL_CONTEXTS; c++) {
        focal_loss_destroy(pool_contexts[c]);
        pool_contexts[c] = NULL;
    }
}

/* The reduced loss of a case in long double, from the definitions in
 * API.md: softmax FL averaged over the positions; sigmoid FL with the
 * scalar alpha, summed over the elements. */
static long double closed_form(const pool_case *k)
{
    const pool_shape *s = &k->sh;
    const long double gamma = specs[k->ctx].gamma;
    long double sum = 0;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t i = 0; i < s->inner; i++) {
            const int64_t t = k->target[n * s->inner + i];
            if (specs[k->ctx].mode == FOCAL_MODE_SOFTMAX) {
                long double m = -INFINITY, z = 0;
                for (int64_t c = 0; c < s->c; c++)
                    m = fmaxl(m, get(k, k->input, (n * s->c + c) * s->inner + i));
                for (int64_t c = 0; c < s->c; c++)
                    z += expl(get(k, k->input, (n * s->c + c) * s->inner + i) - m);
                const long double logp = get(k, k->input, (n * s->c + t) * s->inner + i) - m - logl(z);
                sum += -powl(1.0L - expl(logp), gamma) * logp;
                continue;
            }
            for (int64_t c = 0; c < s->c; c++) {
                const long double x = get(k, k->input, (n * s->c + c) * s->inner + i);
                const int y = c == t;
                /* log sigmoid(x) and log(1 - sigmoid(x)) = log sigmoid(x) - x. */
                const long double lp = fminl(x, 0) - log1pl(expl(-fabsl(x)));
                const long double p = expl(lp);
                const long double pt = y ? p : 1.0L - p;
                const long double at = y ? SIGMOID_ALPHA : 1.0L - SIGMOID_ALPHA;
                sum -= at * powl(1.0L - pt, gamma) * (y ? lp : lp - x);
            }
        }
    return specs[k->ctx].reduction == FOCAL_REDUCTION_MEAN ? sum / (long double)k->positions : sum;
}

static int check_closed_forms(char *msg, size_t size)
{
    int checked = 0;
    for (int i = 0; i < POOL_CASES; i++) {
        const pool_case *k = &pool_cases[i];
        if (specs[k->ctx].reduction == FOCAL_REDUCTION_NONE)
            continue;
        const long double want = closed_form(k);
        const double got = get(k, k->ref_out, 0);
        const long double tol = (k->f64 ? 1e-12L : 1e-5L) * fabsl(want);
        if (!(fabsl(got - want) <= tol)) {
            snprintf(msg, size, "case %d (context %d, %s): loss %.17g, closed form %.17Lg", i, k->ctx,
                     k->f64 ? "f64" : "f32", got, want);
            return -1 - i;
        }
        checked++;
    }
    return checked;
}

int pool_cases_setup(void **state)
{
    (void)state;
    char msg[256];
    if (cases_init(msg, sizeof msg) != 0) {
        print_error("%s\n", msg);
        return 1;
    }
    /* Two reduced contexts, four shapes each. */
    const int checked = check_closed_forms(msg, sizeof msg);
    if (checked != 2 * POOL_SHAPES) {
        print_error("%s\n", checked < 0 ? msg : "not every reduced case was checked");
        return 1;
    }
    return 0;
}

int pool_cases_teardown(void **state)
{
    (void)state;
    cases_free();
    return 0;
}
