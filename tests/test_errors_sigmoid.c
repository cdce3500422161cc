/*
 * Failing compute calls in sigmoid mode: the status of the API's table, a
 * detail message that names the offending value (and its index where there
 * is one), every output buffer untouched, the context unchanged. Each case
 * runs against every one of the twelve compute functions it applies to.
 *
 * Sigmoid mode differs from softmax in what is valid: an index target may
 * be c (background), SUM_OVER_POSITIVES and FL* are accepted, NONE writes
 * one value per element and takes one upstream value per element. Those
 * calls must succeed, and write exactly their outputs.
 *
 * A case that goes wrong is counted and reported rather than stopping the
 * test, so one run lists every discrepancy.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"

/* ------------------------------------------------------------------------
 * Status labels
 * ------------------------------------------------------------------------ */

static const char *status_label(focal_status s)
{
    switch (s) {
    case FOCAL_OK: return "OK";
    case FOCAL_ERROR_NULL_POINTER: return "NULL_POINTER";
    case FOCAL_ERROR_INVALID_SHAPE: return "INVALID_SHAPE";
    case FOCAL_ERROR_INVALID_PARAMETER: return "INVALID_PARAMETER";
    case FOCAL_ERROR_INVALID_TARGET: return "INVALID_TARGET";
    case FOCAL_ERROR_INVALID_WEIGHT: return "INVALID_WEIGHT";
    case FOCAL_ERROR_INCOMPATIBLE: return "INCOMPATIBLE";
    case FOCAL_ERROR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case FOCAL_ERROR_INTERNAL: return "INTERNAL";
    }
    return "(not a focal_status)";
}

/* ------------------------------------------------------------------------
 * The problem: (n, c, inner) = (2, 5, 3) in sigmoid mode
 * ------------------------------------------------------------------------ */

enum { N = 2, C = 5, INNER = 3, POS = N * INNER, ELEM = N * C * INNER, SLACK = 4 };

#define SENTINEL 0xC3
#define MSG_SIZE 512
#define IGNORE_VALUE ((int64_t)-100)

typedef struct data {
    float in32[ELEM];
    double in64[ELEM];
    int64_t tidx[POS];
    float td32[ELEM];
    double td64[ELEM];
    float w32[POS];
    double w64[POS];
    /* Upstream gradients: one per element covers NONE in sigmoid mode. */
    float go32[ELEM];
    double go64[ELEM];
    /* Outputs as raw bytes (float or double), with slack after the end. */
    _Alignas(double) unsigned char out[(ELEM + SLACK) * sizeof(double)];
    _Alignas(double) unsigned char gin[(ELEM + SLACK) * sizeof(double)];
} data;

/* Index targets: classes, the background value C and (position 4) the
 * ignore index of the contexts that set one. Dense targets: soft values
 * with exact 0 and 1 among them. */
static void data_init(data *d)
{
    static const int64_t targets[POS] = {0, C, 3, 4, IGNORE_VALUE, C};
    static const double weights[POS] = {1.0, 0.5, 2.0, 0.0, 1.25, 0.75};
    for (size_t k = 0; k < ELEM; ++k) {
        /* In (0, 1): valid as logits and as probabilities. */
        double v = 0.04 + 0.92 * (double)((k * 11) % ELEM) / (double)(ELEM - 1);
        d->in64[k] = v;
        d->in32[k] = (float)v;
        double y = k % 4 == 0 ? 1.0 : k % 4 == 1 ? 0.0 : 0.125 * (double)(k % 8);
        d->td64[k] = y;
        d->td32[k] = (float)y;
        d->go64[k] = 0.5 + 0.125 * (double)(k % 5);
        d->go32[k] = (float)d->go64[k];
    }
    for (size_t p = 0; p < POS; ++p) {
        d->tidx[p] = targets[p];
        d->w64[p] = weights[p];
        d->w32[p] = (float)weights[p];
    }
    memset(d->out, SENTINEL, sizeof d->out);
    memset(d->gin, SENTINEL, sizeof d->gin);
}

static int has_ignore(const focal_loss *loss);

/* data_init, with position 4 made a class when loss has no ignore index,
 * so that the data alone is valid for loss. */
static void prepare(data *d, const focal_loss *loss)
{
    data_init(d);
    if (!has_ignore(loss)) {
        d->tidx[4] = 1;
    }
}

static void set_weight(data *d, size_t p, double v)
{
    d->w64[p] = v;
    d->w32[p] = (float)v;
}

static void set_dense(data *d, size_t e, double v)
{
    d->td64[e] = v;
    d->td32[e] = (float)v;
}

/* ------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------ */

enum config { CFG_DEFAULT, CFG_SCALAR, CFG_VECTOR, CFG_STAR, CFG_COUNT };

static const char *const config_names[CFG_COUNT] = {
    "sigmoid defaults", "scalar alpha, NONE, ignore_index, label smoothing",
    "alpha vector, probabilities, SUM_OVER_POSITIVES", "FL*, WEIGHTED_MEAN"};

static const double alpha5[C] = {0.25, 0.5, 0.75, 0.1, 0.9};

/* Every configuration is valid for a compute call on data_init's data. */
static focal_loss *make_context(enum config cfg)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_non_null(loss);
    switch (cfg) {
    case CFG_DEFAULT:
        break;
    case CFG_SCALAR:
        assert_int_equal(focal_loss_set_gamma(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 2), FOCAL_OK);
        break;
    case CFG_VECTOR:
        assert_int_equal(focal_loss_set_gamma(loss, 3.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha5, C), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES),
                         FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
        assert_int_equal(focal_loss_set_epsilon(loss, 1e-3), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 1), FOCAL_OK);
        break;
    case CFG_STAR:
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 1.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        break;
    case CFG_COUNT:
        fail();
    }
    return loss;
}

static int has_ignore(const focal_loss *loss)
{
    int64_t v;
    return focal_loss_get_ignore_index(loss, &v) == FOCAL_OK;
}

/* ------------------------------------------------------------------------
 * The twelve compute functions behind one signature
 * ------------------------------------------------------------------------ */

typedef enum op_kind { OP_FORWARD = 1, OP_BACKWARD = 2, OP_FUSED = 4 } op_kind;

typedef struct fn {
    const char *name;
    op_kind op;
    int dense;
    int f64;
} fn;

static const fn fns[] = {
    {"focal_forward_f32", OP_FORWARD, 0, 0},
    {"focal_backward_f32", OP_BACKWARD, 0, 0},
    {"focal_forward_backward_f32", OP_FUSED, 0, 0},
    {"focal_forward_dense_f32", OP_FORWARD, 1, 0},
    {"focal_backward_dense_f32", OP_BACKWARD, 1, 0},
    {"focal_forward_backward_dense_f32", OP_FUSED, 1, 0},
    {"focal_forward_f64", OP_FORWARD, 0, 1},
    {"focal_backward_f64", OP_BACKWARD, 0, 1},
    {"focal_forward_backward_f64", OP_FUSED, 0, 1},
    {"focal_forward_dense_f64", OP_FORWARD, 1, 1},
    {"focal_backward_dense_f64", OP_BACKWARD, 1, 1},
    {"focal_forward_backward_dense_f64", OP_FUSED, 1, 1},
};
#define N_FNS (sizeof fns / sizeof fns[0])

/* Which functions a case applies to. */
enum {
    SEL_INDEX = 1u,
    SEL_DENSE = 2u,
    SEL_TARGETS = SEL_INDEX | SEL_DENSE,
    SEL_FORWARD = 4u,
    SEL_BACKWARD = 8u,
    SEL_FUSED = 16u,
    SEL_OPS = SEL_FORWARD | SEL_BACKWARD | SEL_FUSED,
    SEL_ALL = SEL_TARGETS | SEL_OPS
};

static int selected(const fn *f, unsigned sel)
{
    unsigned t = f->dense ? SEL_DENSE : SEL_INDEX;
    unsigned o = f->op == OP_FORWARD ? SEL_FORWARD : f->op == OP_BACKWARD ? SEL_BACKWARD : SEL_FUSED;
    return (sel & t) != 0 && (sel & o) != 0;
}

enum {
    NUL_LOSS = 1u,
    NUL_INPUT = 2u,
    NUL_TARGET = 4u,
    NUL_OUT = 8u,
    NUL_GRAD_OUT = 16u,
    NUL_GRAD_INPUT = 32u
};

typedef struct args {
    const focal_loss *loss;
    int64_t n, c, inner;
    unsigned nulls;
    int weighted;
    const char *what;
} args;

static args base_args(const focal_loss *loss, int weighted, const char *what)
{
    args a = {loss, N, C, INNER, 0u, weighted, what};
    return a;
}

static focal_status call_fn(const fn *f, const args *a, data *d)
{
    const focal_loss *loss = (a->nulls & NUL_LOSS) ? NULL : a->loss;
    const int64_t *tidx = (a->nulls & NUL_TARGET) ? NULL : d->tidx;
    if (f->f64) {
        const double *in = (a->nulls & NUL_INPUT) ? NULL : d->in64;
        const double *td = (a->nulls & NUL_TARGET) ? NULL : d->td64;
        const double *w = a->weighted ? d->w64 : NULL;
        const double *go = (a->nulls & NUL_GRAD_OUT) ? NULL : d->go64;
        double *out = (a->nulls & NUL_OUT) ? NULL : (double *)(void *)d->out;
        double *gin = (a->nulls & NUL_GRAD_INPUT) ? NULL : (double *)(void *)d->gin;
        switch (f->op) {
        case OP_FORWARD:
            return f->dense ? focal_forward_dense_f64(loss, a->n, a->c, a->inner, in, td, w, out)
                            : focal_forward_f64(loss, a->n, a->c, a->inner, in, tidx, w, out);
        case OP_BACKWARD:
            return f->dense
                       ? focal_backward_dense_f64(loss, a->n, a->c, a->inner, in, td, w, go, gin)
                       : focal_backward_f64(loss, a->n, a->c, a->inner, in, tidx, w, go, gin);
        case OP_FUSED:
            return f->dense ? focal_forward_backward_dense_f64(loss, a->n, a->c, a->inner, in, td,
                                                               w, out, gin)
                            : focal_forward_backward_f64(loss, a->n, a->c, a->inner, in, tidx, w,
                                                         out, gin);
        }
        return FOCAL_ERROR_INTERNAL;
    }
    const float *in = (a->nulls & NUL_INPUT) ? NULL : d->in32;
    const float *td = (a->nulls & NUL_TARGET) ? NULL : d->td32;
    const float *w = a->weighted ? d->w32 : NULL;
    const float *go = (a->nulls & NUL_GRAD_OUT) ? NULL : d->go32;
    float *out = (a->nulls & NUL_OUT) ? NULL : (float *)(void *)d->out;
    float *gin = (a->nulls & NUL_GRAD_INPUT) ? NULL : (float *)(void *)d->gin;
    switch (f->op) {
    case OP_FORWARD:
        return f->dense ? focal_forward_dense_f32(loss, a->n, a->c, a->inner, in, td, w, out)
                        : focal_forward_f32(loss, a->n, a->c, a->inner, in, tidx, w, out);
    case OP_BACKWARD:
        return f->dense ? focal_backward_dense_f32(loss, a->n, a->c, a->inner, in, td, w, go, gin)
                        : focal_backward_f32(loss, a->n, a->c, a->inner, in, tidx, w, go, gin);
    case OP_FUSED:
        return f->dense
                   ? focal_forward_backward_dense_f32(loss, a->n, a->c, a->inner, in, td, w, out,
                                                      gin)
                   : focal_forward_backward_f32(loss, a->n, a->c, a->inner, in, tidx, w, out, gin);
    }
    return FOCAL_ERROR_INTERNAL;
}

static void describe(char *buf, size_t size, const fn *f, const args *a)
{
    snprintf(buf, size,
             "%s(n=%" PRId64 ", c=%" PRId64 ", inner=%" PRId64 "%s%s%s%s%s%s%s) [%s]", f->name,
             a->n, a->c, a->inner, (a->nulls & NUL_LOSS) ? ", loss=NULL" : "",
             (a->nulls & NUL_INPUT) ? ", input=NULL" : "",
             (a->nulls & NUL_TARGET) ? ", target=NULL" : "",
             (a->nulls & NUL_OUT) ? ", out=NULL" : "",
             (a->nulls & NUL_GRAD_OUT) ? ", grad_out=NULL" : "",
             (a->nulls & NUL_GRAD_INPUT) ? ", grad_input=NULL" : "",
             a->weighted ? ", weighted" : "", a->what);
}

/* A known message from a different failing call, so that a call which
 * fails without setting its own message is caught. */
static void plant_marker(char *marker, size_t size)
{
    double bias;
    (void)focal_prior_bias(-321.0, &bias);
    errcheck_copy_last_error(marker, size);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_failure(const fn *f, const args *a, data *d, focal_status expected,
                           const char *const *needles)
{
    char label[768];
    char marker[MSG_SIZE];
    char msg[MSG_SIZE];
    errcheck_snapshot before;
    describe(label, sizeof label, f, a);
    if (a->loss != NULL) {
        errcheck_snapshot_take(a->loss, &before);
    }
    plant_marker(marker, sizeof marker);
    memset(d->out, SENTINEL, sizeof d->out);
    memset(d->gin, SENTINEL, sizeof d->gin);

    focal_status got = call_fn(f, a, d);
    errcheck_copy_last_error(msg, sizeof msg);

    if (got != expected) {
        errcheck_problem("%s: returned %d %s, expected %d %s; message \"%s\"", label, (int)got,
                         status_label(got), (int)expected, status_label(expected),
                         got == FOCAL_OK ? "(the call succeeded)" : msg);
    }
    if (got != FOCAL_OK) {
        if (strcmp(msg, "<NULL>") == 0 || msg[0] == '\0') {
            errcheck_problem("%s: focal_last_error() is %s after the failing call", label,
                             msg[0] == '\0' ? "empty" : "NULL");
        } else if (strcmp(msg, marker) == 0) {
            errcheck_problem("%s: the failing call did not set its message (still \"%s\")", label, msg);
        } else {
            for (const char *const *nd = needles; nd != NULL && *nd != NULL; ++nd) {
                if (!errcheck_contains(msg, *nd)) {
                    errcheck_problem("%s: message \"%s\" does not mention \"%s\"", label, msg, *nd);
                }
            }
        }
    }
    if (!errcheck_all_bytes(d->out, sizeof d->out, SENTINEL)) {
        errcheck_problem("%s: out was written by a failing call", label);
    }
    if (!errcheck_all_bytes(d->gin, sizeof d->gin, SENTINEL)) {
        errcheck_problem("%s: grad_input was written by a failing call", label);
    }
    if (a->loss != NULL) {
        errcheck_snapshot after;
        char what[256];
        errcheck_snapshot_take(a->loss, &after);
        if (!errcheck_snapshot_equal(&before, &after, what, sizeof what)) {
            errcheck_problem("%s: the failing call changed the context (%s)", label, what);
        }
    }
}

/* Runs the case against every function sel selects; data is reset first
 * by the caller and restored to the case's state by prepare. */
static void expect_all_fail(unsigned sel, const args *a, data *d, focal_status expected,
                            const char *const *needles)
{
    int ran = 0;
    for (size_t i = 0; i < N_FNS; ++i) {
        if (selected(&fns[i], sel)) {
            expect_failure(&fns[i], a, d, expected, needles);
            ++ran;
        }
    }
    assert_true(ran > 0);
}

static double value_at(const unsigned char *buf, int f64, size_t i)
{
    if (f64) {
        double v;
        memcpy(&v, buf + i * sizeof v, sizeof v);
        return v;
    }
    float v;
    memcpy(&v, buf + i * sizeof v, sizeof v);
    return (double)v;
}

static int untouched_value(const unsigned char *buf, int f64, size_t i)
{
    size_t size = f64 ? sizeof(double) : sizeof(float);
    return errcheck_all_bytes(buf + i * size, size, SENTINEL);
}

/* A successful call writes exactly its outputs: every value of a written
 * output set and finite, nothing past its end (sigmoid NONE: one value per
 * element), and a skipped output untouched. */
static int expect_success(const fn *f, const args *a, data *d)
{
    char label[768];
    describe(label, sizeof label, f, a);
    memset(d->out, SENTINEL, sizeof d->out);
    memset(d->gin, SENTINEL, sizeof d->gin);
    focal_status got = call_fn(f, a, d);
    if (got != FOCAL_OK) {
        char msg[MSG_SIZE];
        errcheck_copy_last_error(msg, sizeof msg);
        errcheck_problem("%s: returned %d %s, expected OK; message \"%s\"", label, (int)got,
                         status_label(got), msg);
        return 0;
    }
    focal_reduction r = FOCAL_REDUCTION_MEAN;
    assert_int_equal(focal_loss_get_reduction(a->loss, &r), FOCAL_OK);
    const size_t vsize = f->f64 ? sizeof(double) : sizeof(float);
    const size_t out_count = r == FOCAL_REDUCTION_NONE ? ELEM : 1;
    const int writes_out = f->op == OP_FORWARD || (f->op == OP_FUSED && !(a->nulls & NUL_OUT));
    const int writes_gin =
        f->op == OP_BACKWARD || (f->op == OP_FUSED && !(a->nulls & NUL_GRAD_INPUT));
    int ok = 1;
    if (writes_out) {
        for (size_t i = 0; i < out_count; ++i) {
            if (untouched_value(d->out, f->f64, i) || !isfinite(value_at(d->out, f->f64, i))) {
                errcheck_problem("%s: out[%zu] was not written or is not finite", label, i);
                ok = 0;
                break;
            }
        }
        if (!errcheck_all_bytes(d->out + out_count * vsize, sizeof d->out - out_count * vsize,
                                SENTINEL)) {
            errcheck_problem("%s: wrote past the end of out (%zu values)", label, out_count);
            ok = 0;
        }
    } else if (!errcheck_all_bytes(d->out, sizeof d->out, SENTINEL)) {
        errcheck_problem("%s: out was written although this call does not output it", label);
        ok = 0;
    }
    if (writes_gin) {
        for (size_t i = 0; i < ELEM; ++i) {
            if (untouched_value(d->gin, f->f64, i) || !isfinite(value_at(d->gin, f->f64, i))) {
                errcheck_problem("%s: grad_input[%zu] was not written or is not finite", label, i);
                ok = 0;
                break;
            }
        }
        if (!errcheck_all_bytes(d->gin + ELEM * vsize, sizeof d->gin - ELEM * vsize, SENTINEL)) {
            errcheck_problem("%s: wrote past the end of grad_input", label);
            ok = 0;
        }
    } else if (!errcheck_all_bytes(d->gin, sizeof d->gin, SENTINEL)) {
        errcheck_problem("%s: grad_input was written although this call does not output it", label);
        ok = 0;
    }
    return ok;
}

/* ------------------------------------------------------------------------
 * Valid sigmoid calls succeed (what softmax rejects included)
 * ------------------------------------------------------------------------ */

static void test_sigmoid_valid_calls(void **state)
{
    (void)state;
    data d;
    for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
        focal_loss *loss = make_context((enum config)cfg);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < N_FNS; ++i) {
                prepare(&d, loss);
                args a = base_args(loss, weighted, config_names[cfg]);
                (void)expect_success(&fns[i], &a, &d);
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* SUM_OVER_POSITIVES and FL* are errors in softmax mode only; c itself is
 * a valid index target (background), also for every position at once. */
static void test_sigmoid_softmax_restrictions_lifted(void **state)
{
    (void)state;
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN,
                                           FOCAL_REDUCTION_SUM, FOCAL_REDUCTION_WEIGHTED_MEAN,
                                           FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    data d;
    for (size_t ri = 0; ri < sizeof reds / sizeof reds[0]; ++ri) {
        for (int star = 0; star < 2; ++star) {
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
            assert_int_equal(focal_loss_set_reduction(loss, reds[ri]), FOCAL_OK);
            if (star) {
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
            }
            char what[96];
            snprintf(what, sizeof what, "reduction %d%s, every target = c", (int)reds[ri],
                     star ? ", FL*" : "");
            for (int weighted = 0; weighted < 2; ++weighted) {
                for (size_t i = 0; i < N_FNS; ++i) {
                    data_init(&d);
                    for (size_t p = 0; p < POS; ++p) {
                        d.tidx[p] = C;
                    }
                    args a = base_args(loss, weighted, what);
                    (void)expect_success(&fns[i], &a, &d);
                }
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * NULL pointers and the optional outputs of the fused call
 * ------------------------------------------------------------------------ */

static void test_sigmoid_null_pointers(void **state)
{
    (void)state;
    data d;
    for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
        focal_loss *loss = make_context((enum config)cfg);
        for (int weighted = 0; weighted < 2; ++weighted) {
            prepare(&d, loss);
            args a = base_args(loss, weighted, config_names[cfg]);
            a.nulls = NUL_LOSS;
            expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("loss|context"));
            a.nulls = NUL_INPUT;
            expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("input"));
            a.nulls = NUL_TARGET;
            expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("target"));
            a.nulls = NUL_OUT;
            expect_all_fail(SEL_TARGETS | SEL_FORWARD, &a, &d, FOCAL_ERROR_NULL_POINTER,
                            NEEDLES("out"));
            a.nulls = NUL_GRAD_OUT;
            expect_all_fail(SEL_TARGETS | SEL_BACKWARD, &a, &d, FOCAL_ERROR_NULL_POINTER,
                            NEEDLES("grad_out"));
            a.nulls = NUL_GRAD_INPUT;
            expect_all_fail(SEL_TARGETS | SEL_BACKWARD, &a, &d, FOCAL_ERROR_NULL_POINTER,
                            NEEDLES("grad_input"));
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* "out or grad_input may be NULL to skip it": each alone and both; with
 * both skipped the inputs are still validated. */
static void test_sigmoid_fused_optional_outputs(void **state)
{
    (void)state;
    data d;
    for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
        focal_loss *loss = make_context((enum config)cfg);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < N_FNS; ++i) {
                const fn *f = &fns[i];
                if (f->op != OP_FUSED) {
                    continue;
                }
                static const unsigned skips[3] = {NUL_OUT, NUL_GRAD_INPUT,
                                                  NUL_OUT | NUL_GRAD_INPUT};
                for (size_t k = 0; k < 3; ++k) {
                    prepare(&d, loss);
                    args a = base_args(loss, weighted, config_names[cfg]);
                    a.nulls = skips[k];
                    (void)expect_success(f, &a, &d);
                }
                prepare(&d, loss);
                args a = base_args(loss, weighted, config_names[cfg]);
                a.nulls = NUL_OUT | NUL_GRAD_INPUT;
                if (f->dense) {
                    set_dense(&d, 7, 1.5);
                    expect_failure(f, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                   NEEDLES("target", "[7]", "1.5"));
                } else {
                    d.tidx[3] = C + 2;
                    expect_failure(f, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                   NEEDLES("target", "[3]", "7"));
                }
                if (weighted) {
                    prepare(&d, loss);
                    set_weight(&d, 2, -1.0);
                    expect_failure(f, &a, &d, FOCAL_ERROR_INVALID_WEIGHT,
                                   NEEDLES("weight", "[2]", "-1"));
                }
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Shapes
 * ------------------------------------------------------------------------ */

/* Contexts without an alpha vector, so that the shape is the only fault. */
static const enum config shape_configs[] = {CFG_DEFAULT, CFG_SCALAR, CFG_STAR};
#define N_SHAPE_CONFIGS (sizeof shape_configs / sizeof shape_configs[0])

static void test_sigmoid_invalid_shape(void **state)
{
    (void)state;
    static const struct {
        int64_t n, c, inner;
        const char *value;
        const char *name; /* n and c are too short to look for */
    } bad[] = {
        {0, C, INNER, "0", ""},        {N, 0, INNER, "0", ""},        {N, C, 0, "0", "inner"},
        {-7, C, INNER, "-7", ""},      {N, -7, INNER, "-7", ""},      {N, C, -7, "-7", "inner"},
        {INT64_MIN, C, INNER, "-9223372036854775808", ""},
        {N, INT64_MIN, INNER, "-9223372036854775808", ""},
        {N, C, INT64_MIN, "-9223372036854775808", "inner"},
    };
    data d;
    for (size_t ci = 0; ci < N_SHAPE_CONFIGS; ++ci) {
        focal_loss *loss = make_context(shape_configs[ci]);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                data_init(&d);
                args a = base_args(loss, weighted, config_names[shape_configs[ci]]);
                a.n = bad[i].n;
                a.c = bad[i].c;
                a.inner = bad[i].inner;
                expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_INVALID_SHAPE,
                                NEEDLES(bad[i].name, bad[i].value));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* The buffers are tiny: the shape must be rejected before any is read. */
static void test_sigmoid_shape_overflow(void **state)
{
    (void)state;
    const int64_t big = INT64_MAX;
    const int64_t p21 = (int64_t)1 << 21;
    const int64_t p22 = (int64_t)1 << 22;
    const int64_t p31 = (int64_t)1 << 31;
    const int64_t p32 = (int64_t)1 << 32;
    const struct {
        int64_t n, c, inner;
    } bad[] = {
        {p22, p22, p22}, {p21, p21, p21}, {big, big, big}, {big, 2, 1}, {2, big, 1},
        {1, 2, big},     {3037000500, 3037000500, 1},     {p32, 1, p32}, {p31, p31, 1},
        {big, 1, 1},     {1, 1, big},
    };
    data d;
    for (size_t ci = 0; ci < N_SHAPE_CONFIGS; ++ci) {
        focal_loss *loss = make_context(shape_configs[ci]);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                data_init(&d);
                args a = base_args(loss, weighted, config_names[shape_configs[ci]]);
                a.n = bad[i].n;
                a.c = bad[i].c;
                a.inner = bad[i].inner;
                expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_INVALID_SHAPE, NEEDLES(""));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

static void test_sigmoid_alpha_vector_length(void **state)
{
    (void)state;
    static const double alpha[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    static const struct {
        int64_t count;
        const char *text;
    } counts[] = {{1, "1"}, {3, "3"}, {4, "4"}, {6, "6"}};
    data d;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; ++i) {
        for (int star = 0; star < 2; ++star) {
            focal_loss *loss = make_context(star ? CFG_STAR : CFG_DEFAULT);
            char what[96];
            snprintf(what, sizeof what, "alpha vector of %s, c = %d%s", counts[i].text, C,
                     star ? ", FL*" : "");
            assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, counts[i].count), FOCAL_OK);
            for (int weighted = 0; weighted < 2; ++weighted) {
                prepare(&d, loss);
                args a = base_args(loss, weighted, what);
                expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_INVALID_SHAPE,
                                NEEDLES("alpha", counts[i].text, "5"));
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Targets and weights
 * ------------------------------------------------------------------------ */

static void test_sigmoid_index_target_out_of_range(void **state)
{
    (void)state;
    /* C (= 5) is background and valid; C + 1 is the first bad value. */
    static const int64_t values[] = {C + 1, C + 2, 12, -1, -5, INT64_MAX, INT64_MIN};
    data d;
    for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
        focal_loss *loss = make_context((enum config)cfg);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
                char text[32];
                char what[160];
                snprintf(text, sizeof text, "%" PRId64, values[i]);
                snprintf(what, sizeof what, "%s, target[3] = %s", config_names[cfg], text);
                prepare(&d, loss);
                d.tidx[3] = values[i];
                args a = base_args(loss, weighted, what);
                expect_all_fail(SEL_INDEX | SEL_OPS, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                NEEDLES("target", "[3]", text));
            }
            if (has_ignore(loss)) {
                /* An ignored position before it does not hide a bad one. */
                char what[160];
                snprintf(what, sizeof what, "%s, target[4] ignored, target[5] = -5",
                         config_names[cfg]);
                data_init(&d);
                d.tidx[5] = -5;
                args a = base_args(loss, weighted, what);
                expect_all_fail(SEL_INDEX | SEL_OPS, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                NEEDLES("target", "[5]", "-5"));
            } else {
                /* Without an ignore index, -100 is just out of range. */
                char what[160];
                snprintf(what, sizeof what, "%s, no ignore_index, target[4] = -100",
                         config_names[cfg]);
                data_init(&d);
                args a = base_args(loss, weighted, what);
                expect_all_fail(SEL_INDEX | SEL_OPS, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                NEEDLES("target", "[4]", "-100"));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

static void test_sigmoid_dense_target_invalid(void **state)
{
    (void)state;
    static const struct {
        double value;
        const char *text;
    } bad[] = {{-0.1, "-0.1"}, {1.5, "1.5"},      {-1.0, "-1"},
               {NAN, "nan"},   {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    /* Element 7 is (n = 0, k = 2, s = 1); 29 is the last one. */
    static const struct {
        size_t at;
        const char *index;
    } where[] = {{7, "[7]"}, {ELEM - 1, "[29]"}};
    data d;
    for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
        focal_loss *loss = make_context((enum config)cfg);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t wi = 0; wi < 2; ++wi) {
                for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                    char what[160];
                    snprintf(what, sizeof what, "%s, target%s = %s", config_names[cfg],
                             where[wi].index, bad[i].text);
                    prepare(&d, loss);
                    set_dense(&d, where[wi].at, bad[i].value);
                    args a = base_args(loss, weighted, what);
                    expect_all_fail(SEL_DENSE | SEL_OPS, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                    NEEDLES("target", where[wi].index, bad[i].text));
                }
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* The float32 pre-pass's vector scan at the edges of [0, 1]: -0 is a
 * valid 0 (with the loss of +0), the floats just outside are not; in the
 * vector part of a block and in its scalar tail. */
static void test_sigmoid_dense_target_edges(void **state)
{
    (void)state;
    enum { EC = 45 };
    float x[EC], y[EC], g[EC], out_pos, out_neg;
    for (int k = 0; k < EC; ++k) {
        x[k] = 0.1f * (float)(k % 7) - 0.3f;
        y[k] = k % 5 == 0 ? 1.0f : 0.0f;
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_forward_backward_dense_f32(loss, 1, EC, 1, x, y, NULL, &out_pos, g), FOCAL_OK);
    static const int at[] = {3, 43};   /* vector part, scalar tail */
    for (size_t i = 0; i < 2; ++i) {
        float yy[EC];
        memcpy(yy, y, sizeof yy);
        yy[at[i]] = -0.0f;
        assert_int_equal(focal_forward_backward_dense_f32(loss, 1, EC, 1, x, yy, NULL, &out_neg, g), FOCAL_OK);
        assert_true(out_neg == out_pos);
        const float outside[] = {nextafterf(1.0f, 2.0f), -FLT_TRUE_MIN};
        for (size_t j = 0; j < 2; ++j) {
            yy[at[i]] = outside[j];
            out_neg = 42.0f;
            assert_int_equal(focal_forward_backward_dense_f32(loss, 1, EC, 1, x, yy, NULL, &out_neg, g),
                             FOCAL_ERROR_INVALID_TARGET);
            assert_true(out_neg == 42.0f);
        }
    }
    focal_loss_destroy(loss);
}

static void test_sigmoid_weight_invalid(void **state)
{
    (void)state;
    static const struct {
        double value;
        const char *text;
    } bad[] = {{-1.0, "-1"}, {-0.25, "-0.25"}, {NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct {
        size_t at;
        const char *index;
    } where[] = {{2, "[2]"}, {5, "[5]"}};
    data d;
    for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
        focal_loss *loss = make_context((enum config)cfg);
        for (size_t wi = 0; wi < 2; ++wi) {
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                char what[160];
                snprintf(what, sizeof what, "%s, weight%s = %s", config_names[cfg],
                         where[wi].index, bad[i].text);
                prepare(&d, loss);
                set_weight(&d, where[wi].at, bad[i].value);
                args a = base_args(loss, 1, what);
                expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_INVALID_WEIGHT,
                                NEEDLES("weight", where[wi].index, bad[i].text));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * FL* settings that do not fit: checked at compute time
 * ------------------------------------------------------------------------ */

static void test_sigmoid_fl_star_incompatible(void **state)
{
    (void)state;
    data d;
    for (int order = 0; order < 2; ++order) {
        for (int weighted = 0; weighted < 2; ++weighted) {
            /* gamma = 0: the setters accept it in either order. */
            focal_loss *loss = make_context(CFG_STAR);
            if (order == 0) {
                assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
            } else {
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL), FOCAL_OK);
                assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
            }
            prepare(&d, loss);
            args a = base_args(loss, weighted, "FL* with gamma 0");
            expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_INCOMPATIBLE,
                            NEEDLES("fl*|fl_star|fl star|variant", "gamma"));
            /* The same context with gamma > 0 is fine again. */
            assert_int_equal(focal_loss_set_gamma(loss, 0.25), FOCAL_OK);
            for (size_t i = 0; i < N_FNS; ++i) {
                prepare(&d, loss);
                a = base_args(loss, weighted, "FL* with gamma 0.25");
                (void)expect_success(&fns[i], &a, &d);
            }
            focal_loss_destroy(loss);

            /* Probabilities input. */
            loss = make_context(CFG_STAR);
            if (order == 0) {
                assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
            } else {
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL), FOCAL_OK);
                assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
            }
            prepare(&d, loss);
            a = base_args(loss, weighted, "FL* with probabilities input");
            expect_all_fail(SEL_ALL, &a, &d, FOCAL_ERROR_INCOMPATIBLE,
                            NEEDLES("fl*|fl_star|fl star|variant", "probabilit"));
            /* Plain FL takes probabilities. */
            assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL), FOCAL_OK);
            for (size_t i = 0; i < N_FNS; ++i) {
                prepare(&d, loss);
                a = base_args(loss, weighted, "FL with probabilities input");
                (void)expect_success(&fns[i], &a, &d);
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_sigmoid_valid_calls, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_softmax_restrictions_lifted, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_null_pointers, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_fused_optional_outputs, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_invalid_shape, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_shape_overflow, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_alpha_vector_length, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_index_target_out_of_range, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_dense_target_invalid, errcheck_reset_tally),
        cmocka_unit_test(test_sigmoid_dense_target_edges),
        cmocka_unit_test_setup(test_sigmoid_weight_invalid, errcheck_reset_tally),
        cmocka_unit_test_setup(test_sigmoid_fl_star_incompatible, errcheck_reset_tally),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
