/*
 * Every failing call: the exact status of the API's table, a detail message
 * that names the offending value (and its index where there is one), every
 * output buffer untouched and the context unchanged. Setters, getters,
 * create and clone are checked in both modes; the compute cases run in
 * each mode (one cmocka test per case and mode, "<case>/<mode>") against
 * every one of the twelve compute functions (precision x target kind x
 * operation) they apply to.
 *
 * The modes differ in what is valid, and the mode's own tests say so:
 * in sigmoid mode an index target may be c (background), SUM_OVER_POSITIVES
 * and FL* are accepted, and NONE writes one value per element and takes one
 * upstream value per element. Calls that are valid must succeed and write
 * exactly their outputs.
 *
 * A case that goes wrong is reported and counted rather than stopping the
 * test at the first mismatch, so one run lists every discrepancy.
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"
#include "names.h"

/* ------------------------------------------------------------------------
 * Status names
 * ------------------------------------------------------------------------ */

static const char *status_name(focal_status s)
{
    switch (s) {
    case FOCAL_OK: return "FOCAL_OK";
    case FOCAL_ERROR_NULL_POINTER: return "FOCAL_ERROR_NULL_POINTER";
    case FOCAL_ERROR_INVALID_SHAPE: return "FOCAL_ERROR_INVALID_SHAPE";
    case FOCAL_ERROR_INVALID_PARAMETER: return "FOCAL_ERROR_INVALID_PARAMETER";
    case FOCAL_ERROR_INVALID_TARGET: return "FOCAL_ERROR_INVALID_TARGET";
    case FOCAL_ERROR_INVALID_WEIGHT: return "FOCAL_ERROR_INVALID_WEIGHT";
    case FOCAL_ERROR_INCOMPATIBLE: return "FOCAL_ERROR_INCOMPATIBLE";
    case FOCAL_ERROR_OUT_OF_MEMORY: return "FOCAL_ERROR_OUT_OF_MEMORY";
    case FOCAL_ERROR_INTERNAL: return "FOCAL_ERROR_INTERNAL";
    }
    return "(not a focal_status)";
}

/* ------------------------------------------------------------------------
 * Checking one failing call
 * ------------------------------------------------------------------------ */

#define SENTINEL 0xA5
#define MSG_SIZE 512

/* Before each failing call a different failing call leaves a known message,
 * so a call that fails without setting its own message is caught even when
 * an earlier message would happen to pass the checks. */
static void arm_marker(const char *call_text, char *marker, size_t size)
{
    if (strncmp(call_text, "focal_prior_bias", 16) == 0) {
        (void)focal_loss_set_threads(NULL, 1);
    } else {
        double bias;
        (void)focal_prior_bias(-123.0, &bias);
    }
    errcheck_copy_last_error(marker, size);
}

static void check_failure(const char *label, focal_status got, focal_status expected,
                          const char *msg, const char *marker, const char *const *needles)
{
    if (got != expected) {
        errcheck_problem("%s: returned %d %s, expected %d %s; message \"%s\"", label, (int)got,
                         status_name(got), (int)expected, status_name(expected),
                         got == FOCAL_OK ? "(none: call succeeded)" : msg);
    }
    if (got == FOCAL_OK) {
        return;
    }
    if (msg[0] == '\0') {
        errcheck_problem("%s: focal_last_error() is empty after the failing call", label);
        return;
    }
    if (strcmp(msg, "<NULL>") == 0) {
        errcheck_problem("%s: focal_last_error() returned NULL", label);
        return;
    }
    if (marker != NULL && strcmp(msg, marker) == 0) {
        errcheck_problem("%s: focal_last_error() was not set by this call (still \"%s\")", label, msg);
        return;
    }
    for (const char *const *n = needles; n && *n; ++n) {
        if (!errcheck_contains(msg, *n)) {
            errcheck_problem("%s: message \"%s\" does not mention \"%s\"", label, msg, *n);
        }
    }
}

struct pending {
    const focal_loss *loss;
    errcheck_snapshot before;
    char marker[MSG_SIZE];
    const char *prefix;
};

static void pending_begin(struct pending *p, const focal_loss *loss, const char *prefix,
                          const char *call_text)
{
    p->loss = loss;
    p->prefix = prefix;
    if (loss != NULL) {
        errcheck_snapshot_take(loss, &p->before);
    }
    arm_marker(call_text, p->marker, sizeof p->marker);
}

static void pending_end(struct pending *p, focal_status got, focal_status expected,
                        const char *call_text, const char *const *needles)
{
    char msg[MSG_SIZE];
    char label[768];
    errcheck_copy_last_error(msg, sizeof msg);
    snprintf(label, sizeof label, "%s%s%s", p->prefix, p->prefix[0] ? ": " : "", call_text);
    check_failure(label, got, expected, msg, p->marker, needles);
    if (p->loss != NULL) {
        errcheck_snapshot after;
        char what[256];
        errcheck_snapshot_take(p->loss, &after);
        if (!errcheck_snapshot_equal(&p->before, &after, what, sizeof what)) {
            errcheck_problem("%s: the failing call changed the context (%s)", label, what);
        }
    }
}

/* Runs call, expecting it to fail with expected and a message mentioning
 * each needle (each needle may list alternatives separated by '|');
 * snap_loss, when not NULL, is the context that must stay unchanged. */
#define EXPECT_FAILS(prefix, snap_loss, expected, call, ...)                              \
    do {                                                                                  \
        struct pending pending_;                                                          \
        pending_begin(&pending_, (snap_loss), (prefix), #call);                           \
        focal_status status_ = (call);                                                    \
        pending_end(&pending_, status_, (expected), #call,                                \
                    (const char *const[]){__VA_ARGS__, NULL});                            \
    } while (0)

#define EXPECT_OK(prefix, call)                                                           \
    do {                                                                                  \
        focal_status status_ = (call);                                                    \
        if (status_ != FOCAL_OK) {                                                        \
            char msg_[MSG_SIZE];                                                          \
            errcheck_copy_last_error(msg_, sizeof msg_);                                  \
            errcheck_problem("%s: %s returned %d %s, expected FOCAL_OK; message \"%s\"", (prefix), \
                             #call, (int)status_, status_name(status_), msg_);                     \
        }                                                                                 \
    } while (0)

static void expect_untouched(const void *buf, size_t size, const char *label)
{
    if (!errcheck_all_bytes(buf, size, SENTINEL)) {
        errcheck_problem("%s: an output was written by a failing call", label);
    }
}

/* ------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------ */

/* The first CFG_COUNT configurations are applied in either mode for the
 * setter and getter checks (EXOTIC only there); DEFAULT, SCALAR and VECTOR
 * are also valid for a softmax compute call on the problem below. The
 * SIG_ ones are sigmoid contexts for compute calls. */
enum config {
    CFG_DEFAULT,
    CFG_SCALAR,
    CFG_VECTOR,
    CFG_EXOTIC,
    CFG_COUNT,
    CFG_SIG_SCALAR = CFG_COUNT,
    CFG_SIG_VECTOR,
    CFG_SIG_STAR,
    CFG_ALL
};

static const char *const config_names[CFG_ALL] = {
    "defaults", "scalar-alpha", "alpha-vector", "exotic",
    "scalar alpha, NONE, ignore_index, label smoothing",
    "alpha vector, probabilities, SUM_OVER_POSITIVES", "FL*, WEIGHTED_MEAN"};

/* The ignore index of the compute contexts that set one, and the value
 * position 4 of the sigmoid problem holds. */
#define IGNORE_VALUE ((int64_t)-100)

static const double alpha5[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
static const double alpha7[7] = {0.9, -0.5, 0.0, 1.25, 0.5, 0.125, 3.0};
static const double sigmoid_alpha5[5] = {0.25, 0.5, 0.75, 0.1, 0.9};

static focal_loss *make_context(enum config cfg, focal_mode mode)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mode), FOCAL_OK);
    assert_non_null(loss);
    switch (cfg) {
    case CFG_DEFAULT:
        break;
    case CFG_SCALAR:
        assert_int_equal(focal_loss_set_gamma(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        assert_int_equal(focal_loss_set_epsilon(loss, 1e-4), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, 0.75), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 2), FOCAL_OK);
        break;
    case CFG_VECTOR:
        assert_int_equal(focal_loss_set_gamma(loss, 3.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha5, 5), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM), FOCAL_OK);
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
        assert_int_equal(focal_loss_set_epsilon(loss, 1e-3), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 1), FOCAL_OK);
        break;
    case CFG_EXOTIC:
        assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha7, 7), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES),
                         FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, INT64_MIN), FOCAL_OK);
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
        assert_int_equal(focal_loss_set_epsilon(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, -1.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 7), FOCAL_OK);
        break;
    case CFG_SIG_SCALAR:
        assert_int_equal(focal_loss_set_gamma(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 2), FOCAL_OK);
        break;
    case CFG_SIG_VECTOR:
        assert_int_equal(focal_loss_set_gamma(loss, 3.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, sigmoid_alpha5, 5), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES),
                         FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
        assert_int_equal(focal_loss_set_epsilon(loss, 1e-3), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(loss, 1), FOCAL_OK);
        break;
    case CFG_SIG_STAR:
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 1.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_VALUE), FOCAL_OK);
        break;
    case CFG_ALL:
        fail();
    }
    return loss;
}

static const focal_mode all_modes[] = {FOCAL_MODE_SOFTMAX, FOCAL_MODE_SIGMOID};

/* What a mode's compute tests run on: the contexts that are valid for a
 * compute call on the mode's problem, those of them without an alpha
 * vector (so that a bad shape or a wrong alpha length is the only fault),
 * and those that are given an alpha vector of the wrong length. */
#define MAX_CONFIGS 4

typedef struct mode_case {
    focal_mode mode;
    size_t n_compute;
    enum config compute[MAX_CONFIGS];
    size_t n_shape;
    enum config shape[MAX_CONFIGS];
    size_t n_alpha_length;
    enum config alpha_length[MAX_CONFIGS];
} mode_case;

static mode_case softmax_case = {
    FOCAL_MODE_SOFTMAX,
    3, {CFG_DEFAULT, CFG_SCALAR, CFG_VECTOR},
    2, {CFG_DEFAULT, CFG_SCALAR},
    1, {CFG_DEFAULT},
};

static mode_case sigmoid_case = {
    FOCAL_MODE_SIGMOID,
    4, {CFG_DEFAULT, CFG_SIG_SCALAR, CFG_SIG_VECTOR, CFG_SIG_STAR},
    3, {CFG_DEFAULT, CFG_SIG_SCALAR, CFG_SIG_STAR},
    2, {CFG_DEFAULT, CFG_SIG_STAR},
};

static int has_ignore(const focal_loss *loss, int64_t *value)
{
    int64_t v;
    int has = focal_loss_get_ignore_index(loss, &v) == FOCAL_OK;
    if (has && value != NULL) {
        *value = v;
    }
    return has;
}

/* ------------------------------------------------------------------------
 * The problem: (n, c, inner) = (2, 5, 3), with data for each mode
 * ------------------------------------------------------------------------ */

enum { N = 2, C = 5, INNER = 3, POS = N * INNER, ELEM = N * C * INNER, SLACK = 4 };

struct data {
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
    /* Outputs, used as float or double; the slack catches writes past the end. */
    _Alignas(double) unsigned char out[(ELEM + SLACK) * sizeof(double)];
    _Alignas(double) unsigned char gin[(ELEM + SLACK) * sizeof(double)];
};

static size_t elem_index(int64_t n, int64_t k, int64_t s)
{
    return (size_t)((n * C + k) * INNER + s);
}

/* Softmax: every position a class, dense targets their one-hot rows. */
static void data_init_softmax(struct data *d)
{
    static const double weights[POS] = {1.0, 0.5, 2.0, 1.0, 0.0, 1.5};
    for (size_t k = 0; k < ELEM; ++k) {
        /* In (0, 1), so valid as logits and as probabilities. */
        double v = 0.05 + 0.9 * (double)((k * 7) % ELEM) / (double)(ELEM - 1);
        d->in64[k] = v;
        d->in32[k] = (float)v;
    }
    for (int64_t p = 0; p < POS; ++p) {
        d->tidx[p] = p % C;
        d->w64[p] = weights[p];
        d->w32[p] = (float)weights[p];
        d->go64[p] = 0.5 + 0.25 * (double)p;
        d->go32[p] = (float)d->go64[p];
    }
    for (int64_t n = 0; n < N; ++n) {
        for (int64_t k = 0; k < C; ++k) {
            for (int64_t s = 0; s < INNER; ++s) {
                double y = d->tidx[n * INNER + s] == k ? 1.0 : 0.0;
                d->td64[elem_index(n, k, s)] = y;
                d->td32[elem_index(n, k, s)] = (float)y;
            }
        }
    }
}

/* Sigmoid: index targets are classes, the background value C and
 * (position 4) IGNORE_VALUE; dense targets are soft values with exact 0
 * and 1 among them. */
static void data_init_sigmoid(struct data *d)
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
}

static void data_init(struct data *d, focal_mode mode)
{
    memset(d, 0, sizeof *d);
    if (mode == FOCAL_MODE_SOFTMAX) {
        data_init_softmax(d);
    } else {
        data_init_sigmoid(d);
    }
    memset(d->out, SENTINEL, sizeof d->out);
    memset(d->gin, SENTINEL, sizeof d->gin);
}

/* data_init, with every index target valid for loss: the sigmoid problem's
 * IGNORE_VALUE at position 4 becomes a class when loss does not ignore it. */
static void prepare(struct data *d, const focal_loss *loss)
{
    focal_mode mode = FOCAL_MODE_SOFTMAX;
    int64_t ignore = 0;
    assert_int_equal(focal_loss_get_mode(loss, &mode), FOCAL_OK);
    data_init(d, mode);
    if (d->tidx[4] == IGNORE_VALUE && !(has_ignore(loss, &ignore) && ignore == IGNORE_VALUE)) {
        d->tidx[4] = 1;
    }
}

static void set_weight(struct data *d, size_t p, double v)
{
    d->w64[p] = v;
    d->w32[p] = (float)v;
}

static void set_dense_target(struct data *d, size_t e, double v)
{
    d->td64[e] = v;
    d->td32[e] = (float)v;
}

/* ------------------------------------------------------------------------
 * The twelve compute functions behind one signature
 * ------------------------------------------------------------------------ */

typedef focal_status (*compute_fn)(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                   const void *input, const void *target, const void *weight,
                                   const void *grad_out, void *out, void *grad_input);

#define WRAP_FORWARD(fn)                                                                     \
    static focal_status wrap_##fn(const focal_loss *loss, int64_t n, int64_t c, int64_t inner, \
                                  const void *input, const void *target, const void *weight,  \
                                  const void *grad_out, void *out, void *grad_input)          \
    {                                                                                        \
        (void)grad_out;                                                                      \
        (void)grad_input;                                                                    \
        return fn(loss, n, c, inner, input, target, weight, out);                            \
    }

#define WRAP_BACKWARD(fn)                                                                    \
    static focal_status wrap_##fn(const focal_loss *loss, int64_t n, int64_t c, int64_t inner, \
                                  const void *input, const void *target, const void *weight,  \
                                  const void *grad_out, void *out, void *grad_input)          \
    {                                                                                        \
        (void)out;                                                                           \
        return fn(loss, n, c, inner, input, target, weight, grad_out, grad_input);           \
    }

#define WRAP_FUSED(fn)                                                                       \
    static focal_status wrap_##fn(const focal_loss *loss, int64_t n, int64_t c, int64_t inner, \
                                  const void *input, const void *target, const void *weight,  \
                                  const void *grad_out, void *out, void *grad_input)          \
    {                                                                                        \
        (void)grad_out;                                                                      \
        return fn(loss, n, c, inner, input, target, weight, out, grad_input);                \
    }

WRAP_FORWARD(focal_forward_f32)
WRAP_BACKWARD(focal_backward_f32)
WRAP_FUSED(focal_forward_backward_f32)
WRAP_FORWARD(focal_forward_dense_f32)
WRAP_BACKWARD(focal_backward_dense_f32)
WRAP_FUSED(focal_forward_backward_dense_f32)
WRAP_FORWARD(focal_forward_f64)
WRAP_BACKWARD(focal_backward_f64)
WRAP_FUSED(focal_forward_backward_f64)
WRAP_FORWARD(focal_forward_dense_f64)
WRAP_BACKWARD(focal_backward_dense_f64)
WRAP_FUSED(focal_forward_backward_dense_f64)

enum {
    K_FWD = 1u,
    K_BWD = 2u,
    K_FUSED = 4u,
    K_KINDS = K_FWD | K_BWD | K_FUSED,
    T_INDEX = 8u,
    T_DENSE = 16u,
    T_TARGETS = T_INDEX | T_DENSE,
    ALL_FNS = K_KINDS | T_TARGETS
};

struct fn_entry {
    const char *name;
    compute_fn call;
    unsigned flags;
    int f64;
};

static const struct fn_entry fns[] = {
    {"focal_forward_f32", wrap_focal_forward_f32, K_FWD | T_INDEX, 0},
    {"focal_backward_f32", wrap_focal_backward_f32, K_BWD | T_INDEX, 0},
    {"focal_forward_backward_f32", wrap_focal_forward_backward_f32, K_FUSED | T_INDEX, 0},
    {"focal_forward_dense_f32", wrap_focal_forward_dense_f32, K_FWD | T_DENSE, 0},
    {"focal_backward_dense_f32", wrap_focal_backward_dense_f32, K_BWD | T_DENSE, 0},
    {"focal_forward_backward_dense_f32", wrap_focal_forward_backward_dense_f32,
     K_FUSED | T_DENSE, 0},
    {"focal_forward_f64", wrap_focal_forward_f64, K_FWD | T_INDEX, 1},
    {"focal_backward_f64", wrap_focal_backward_f64, K_BWD | T_INDEX, 1},
    {"focal_forward_backward_f64", wrap_focal_forward_backward_f64, K_FUSED | T_INDEX, 1},
    {"focal_forward_dense_f64", wrap_focal_forward_dense_f64, K_FWD | T_DENSE, 1},
    {"focal_backward_dense_f64", wrap_focal_backward_dense_f64, K_BWD | T_DENSE, 1},
    {"focal_forward_backward_dense_f64", wrap_focal_forward_backward_dense_f64,
     K_FUSED | T_DENSE, 1},
};
#define N_FNS (sizeof fns / sizeof fns[0])

/* The values out holds: 1 when reduced, else one per position (softmax)
 * or element (sigmoid). */
static size_t output_count(const focal_loss *loss)
{
    focal_reduction r = FOCAL_REDUCTION_MEAN;
    focal_mode mode = FOCAL_MODE_SOFTMAX;
    assert_int_equal(focal_loss_get_reduction(loss, &r), FOCAL_OK);
    assert_int_equal(focal_loss_get_mode(loss, &mode), FOCAL_OK);
    if (r != FOCAL_REDUCTION_NONE) {
        return 1;
    }
    return mode == FOCAL_MODE_SOFTMAX ? POS : ELEM;
}

static int applies(const struct fn_entry *f, unsigned mask)
{
    return (f->flags & mask & K_KINDS) != 0 && (f->flags & mask & T_TARGETS) != 0;
}

enum {
    NULL_INPUT = 1u,
    NULL_TARGET = 2u,
    NULL_OUT = 4u,
    NULL_GRAD_OUT = 8u,
    NULL_GRAD_INPUT = 16u,
    /* loss = NULL in the call; the context it stands for must stay as it was. */
    NULL_LOSS = 32u
};

struct call {
    const focal_loss *loss;
    int64_t n, c, inner;
    unsigned nulls;
    int weighted;
    const char *what; /* the case, for messages */
};

static struct call base_call(const focal_loss *loss, int weighted, const char *what)
{
    struct call a = {loss, N, C, INNER, 0u, weighted, what};
    return a;
}

static focal_status invoke(const struct fn_entry *f, const struct call *a, struct data *d)
{
    const void *input = f->f64 ? (const void *)d->in64 : (const void *)d->in32;
    const void *target = (f->flags & T_DENSE) == 0 ? (const void *)d->tidx
                         : f->f64                  ? (const void *)d->td64
                                                   : (const void *)d->td32;
    const void *weight = !a->weighted ? NULL : f->f64 ? (const void *)d->w64 : (const void *)d->w32;
    const void *grad_out = f->f64 ? (const void *)d->go64 : (const void *)d->go32;
    void *out = d->out;
    void *grad_input = d->gin;
    if (a->nulls & NULL_INPUT) input = NULL;
    if (a->nulls & NULL_TARGET) target = NULL;
    if (a->nulls & NULL_OUT) out = NULL;
    if (a->nulls & NULL_GRAD_OUT) grad_out = NULL;
    if (a->nulls & NULL_GRAD_INPUT) grad_input = NULL;
    const focal_loss *loss = (a->nulls & NULL_LOSS) ? NULL : a->loss;
    return f->call(loss, a->n, a->c, a->inner, input, target, weight, grad_out, out, grad_input);
}

static void make_label(char *label, size_t size, const struct fn_entry *f, const struct call *a)
{
    focal_mode mode = FOCAL_MODE_SOFTMAX;
    (void)focal_loss_get_mode(a->loss, &mode);
    snprintf(label, size,
             "%s(n=%" PRId64 ", c=%" PRId64 ", inner=%" PRId64 "%s%s%s%s%s%s%s) [%s mode, %s]",
             f->name, a->n, a->c, a->inner, (a->nulls & NULL_LOSS) ? ", loss=NULL" : "",
             (a->nulls & NULL_INPUT) ? ", input=NULL" : "",
             (a->nulls & NULL_TARGET) ? ", target=NULL" : "",
             (a->nulls & NULL_OUT) ? ", out=NULL" : "",
             (a->nulls & NULL_GRAD_OUT) ? ", grad_out=NULL" : "",
             (a->nulls & NULL_GRAD_INPUT) ? ", grad_input=NULL" : "",
             a->weighted ? ", weighted" : "", names_mode(mode), a->what);
}

static void expect_compute_failure(const struct fn_entry *f, const struct call *a, struct data *d,
                                   focal_status expected, const char *const *needles)
{
    char label[768];
    char marker[MSG_SIZE];
    char msg[MSG_SIZE];
    errcheck_snapshot before;
    make_label(label, sizeof label, f, a);
    if (a->loss != NULL) {
        errcheck_snapshot_take(a->loss, &before);
    }
    arm_marker("", marker, sizeof marker);
    memset(d->out, SENTINEL, sizeof d->out);
    memset(d->gin, SENTINEL, sizeof d->gin);

    focal_status got = invoke(f, a, d);
    errcheck_copy_last_error(msg, sizeof msg);

    check_failure(label, got, expected, msg, marker, needles);
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

/* Runs the case against every compute function that mask selects. */
static void expect_all_fail(unsigned mask, const struct call *a, struct data *d,
                            focal_status expected, const char *const *needles)
{
    int ran = 0;
    for (size_t i = 0; i < N_FNS; ++i) {
        if (applies(&fns[i], mask)) {
            expect_compute_failure(&fns[i], a, d, expected, needles);
            ++ran;
        }
    }
    assert_true(ran > 0);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static double read_value(const unsigned char *buf, int f64, size_t i)
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

static int value_is_sentinel(const unsigned char *buf, int f64, size_t i)
{
    size_t size = f64 ? sizeof(double) : sizeof(float);
    return errcheck_all_bytes(buf + i * size, size, SENTINEL);
}

/* Checks that a successful call wrote exactly its outputs: every value of
 * each written output finite and no longer the sentinel, nothing past its
 * end (NONE: one value per position in softmax mode, per element in
 * sigmoid mode), and a skipped output untouched. */
static int expect_compute_success(const struct fn_entry *f, const struct call *a, struct data *d)
{
    char label[768];
    make_label(label, sizeof label, f, a);
    memset(d->out, SENTINEL, sizeof d->out);
    memset(d->gin, SENTINEL, sizeof d->gin);

    focal_status got = invoke(f, a, d);
    if (got != FOCAL_OK) {
        char msg[MSG_SIZE];
        errcheck_copy_last_error(msg, sizeof msg);
        errcheck_problem("%s: returned %d %s, expected FOCAL_OK; message \"%s\"", label, (int)got,
                         status_name(got), msg);
        return 0;
    }

    size_t value_size = f->f64 ? sizeof(double) : sizeof(float);
    size_t out_count = output_count(a->loss);
    int writes_out = (f->flags & K_FWD) || ((f->flags & K_FUSED) && !(a->nulls & NULL_OUT));
    int writes_gin = (f->flags & K_BWD) || ((f->flags & K_FUSED) && !(a->nulls & NULL_GRAD_INPUT));
    int ok = 1;

    if (writes_out) {
        for (size_t i = 0; i < out_count; ++i) {
            if (value_is_sentinel(d->out, f->f64, i) || !isfinite(read_value(d->out, f->f64, i))) {
                errcheck_problem("%s: out[%zu] was not written or is not finite", label, i);
                ok = 0;
            }
        }
        if (!errcheck_all_bytes(d->out + out_count * value_size,
                                sizeof d->out - out_count * value_size, SENTINEL)) {
            errcheck_problem("%s: wrote past the end of out", label);
            ok = 0;
        }
    } else if (!errcheck_all_bytes(d->out, sizeof d->out, SENTINEL)) {
        errcheck_problem("%s: out was written although it is not an output of this call", label);
        ok = 0;
    }
    if (writes_gin) {
        for (size_t i = 0; i < ELEM; ++i) {
            if (value_is_sentinel(d->gin, f->f64, i) || !isfinite(read_value(d->gin, f->f64, i))) {
                errcheck_problem("%s: grad_input[%zu] was not written or is not finite", label, i);
                ok = 0;
            }
        }
        if (!errcheck_all_bytes(d->gin + ELEM * value_size, sizeof d->gin - ELEM * value_size,
                                SENTINEL)) {
            errcheck_problem("%s: wrote past the end of grad_input", label);
            ok = 0;
        }
    } else if (!errcheck_all_bytes(d->gin, sizeof d->gin, SENTINEL)) {
        errcheck_problem("%s: grad_input was written although it is not an output of this call", label);
        ok = 0;
    }
    return ok;
}

/* ------------------------------------------------------------------------
 * Status strings and the per-thread message
 * ------------------------------------------------------------------------ */

static void test_status_strings(void **state)
{
    (void)state;
    static const focal_status known[] = {
        FOCAL_OK,
        FOCAL_ERROR_NULL_POINTER,
        FOCAL_ERROR_INVALID_SHAPE,
        FOCAL_ERROR_INVALID_PARAMETER,
        FOCAL_ERROR_INVALID_TARGET,
        FOCAL_ERROR_INVALID_WEIGHT,
        FOCAL_ERROR_INCOMPATIBLE,
        FOCAL_ERROR_OUT_OF_MEMORY,
        FOCAL_ERROR_INTERNAL,
    };
    static const int unknown[] = {12345, 8, 98, 100, -1, INT_MAX, INT_MIN};
    const size_t n_known = sizeof known / sizeof known[0];

    for (size_t i = 0; i < n_known; ++i) {
        const char *s = focal_status_string(known[i]);
        if (s == NULL || s[0] == '\0') {
            errcheck_problem("focal_status_string(%s) is %s", status_name(known[i]),
                             s == NULL ? "NULL" : "empty");
            continue;
        }
        for (size_t j = 0; j < i; ++j) {
            const char *t = focal_status_string(known[j]);
            if (t != NULL && strcmp(s, t) == 0) {
                errcheck_problem("focal_status_string(%s) and focal_status_string(%s) are both \"%s\"",
                                 status_name(known[i]), status_name(known[j]), s);
            }
        }
    }
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
        const char *s = focal_status_string((focal_status)unknown[i]);
        if (s == NULL || s[0] == '\0') {
            errcheck_problem("focal_status_string(%d) is %s", unknown[i], s == NULL ? "NULL" : "empty");
            continue;
        }
        if (!errcheck_contains(s, "unknown")) {
            errcheck_problem("focal_status_string(%d) = \"%s\" does not say the status is unknown",
                             unknown[i], s);
        }
        for (size_t j = 0; j < n_known; ++j) {
            const char *t = focal_status_string(known[j]);
            if (t != NULL && strcmp(s, t) == 0) {
                errcheck_problem("focal_status_string(%d) = \"%s\", the string of %s", unknown[i], s,
                                 status_name(known[j]));
            }
        }
    }
    errcheck_finish();
}

struct fresh_result {
    int initial_null;
    char initial[MSG_SIZE];
    focal_status create_status;
    char after_success[MSG_SIZE];
};

static void *fresh_thread(void *arg)
{
    struct fresh_result *r = arg;
    const char *m = focal_last_error();
    r->initial_null = m == NULL;
    snprintf(r->initial, sizeof r->initial, "%s", m ? m : "");

    /* Successful calls only: none of them may set the message. */
    focal_loss *loss = NULL;
    r->create_status = focal_loss_create(&loss, FOCAL_MODE_SOFTMAX);
    if (r->create_status == FOCAL_OK) {
        double gamma = 0.0;
        double bias = 0.0;
        (void)focal_loss_set_gamma(loss, 1.5);
        (void)focal_loss_get_gamma(loss, &gamma);
        (void)focal_prior_bias(0.01, &bias);
        float in[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
        int64_t target[2] = {0, 2};
        float out = 0.0f;
        (void)focal_forward_f32(loss, 2, 3, 1, in, target, NULL, &out);
        focal_loss_destroy(loss);
    }
    errcheck_copy_last_error(r->after_success, sizeof r->after_success);
    return NULL;
}

static void test_last_error_fresh_thread(void **state)
{
    (void)state;
    /* A failure in this thread first, which the new thread must not see. */
    double bias;
    assert_int_equal(focal_prior_bias(2.0, &bias), FOCAL_ERROR_INVALID_PARAMETER);
    char mine[MSG_SIZE];
    errcheck_copy_last_error(mine, sizeof mine);

    struct fresh_result r;
    memset(&r, 0, sizeof r);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fresh_thread, &r), 0);
    assert_int_equal(pthread_join(th, NULL), 0);

    if (r.initial_null) {
        errcheck_problem("focal_last_error() in a fresh thread returned NULL, expected \"\"");
    } else if (r.initial[0] != '\0') {
        errcheck_problem("focal_last_error() in a fresh thread returned \"%s\", expected \"\"", r.initial);
    }
    if (r.create_status != FOCAL_OK) {
        errcheck_problem("focal_loss_create in a new thread returned %d", (int)r.create_status);
    }
    if (strcmp(r.after_success, "") != 0) {
        errcheck_problem("after only successful calls a new thread's focal_last_error() is \"%s\", "
                         "expected \"\"",
                         r.after_success);
    }
    char now[MSG_SIZE];
    errcheck_copy_last_error(now, sizeof now);
    if (strcmp(now, mine) != 0) {
        errcheck_problem("this thread's message changed from \"%s\" to \"%s\" while another thread ran",
                         mine, now);
    }
    errcheck_finish();
}

struct peer {
    pthread_barrier_t *first;
    pthread_barrier_t *second;
    focal_status status;
    char initial[MSG_SIZE];
    char own[MSG_SIZE];
    char later[MSG_SIZE];
};

static void *failing_peer(void *arg)
{
    struct peer *p = arg;
    errcheck_copy_last_error(p->initial, sizeof p->initial);
    focal_loss *loss = NULL;
    if (focal_loss_create(&loss, FOCAL_MODE_SOFTMAX) == FOCAL_OK) {
        p->status = focal_loss_set_gamma(loss, -5.0);
        focal_loss_destroy(loss);
    }
    /* Read the message without a further libfocal call in between. */
    errcheck_copy_last_error(p->own, sizeof p->own);
    pthread_barrier_wait(p->first);
    /* The main thread fails here. */
    pthread_barrier_wait(p->second);
    errcheck_copy_last_error(p->later, sizeof p->later);
    return NULL;
}

static void test_last_error_per_thread(void **state)
{
    (void)state;
    focal_loss *loss = make_context(CFG_DEFAULT, FOCAL_MODE_SOFTMAX);
    assert_int_equal(focal_loss_set_label_smoothing(loss, 1.5), FOCAL_ERROR_INVALID_PARAMETER);
    char m0[MSG_SIZE];
    errcheck_copy_last_error(m0, sizeof m0);
    assert_true(m0[0] != '\0');

    pthread_barrier_t first, second;
    assert_int_equal(pthread_barrier_init(&first, NULL, 2), 0);
    assert_int_equal(pthread_barrier_init(&second, NULL, 2), 0);
    struct peer p;
    memset(&p, 0, sizeof p);
    p.first = &first;
    p.second = &second;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, failing_peer, &p), 0);

    pthread_barrier_wait(&first);
    char now[MSG_SIZE];
    errcheck_copy_last_error(now, sizeof now);
    if (strcmp(now, m0) != 0) {
        errcheck_problem("a failure in another thread changed this thread's message from \"%s\" to \"%s\"",
                         m0, now);
    }
    focal_status st = focal_loss_set_epsilon(loss, 0.75);
    char m1[MSG_SIZE];
    errcheck_copy_last_error(m1, sizeof m1);
    pthread_barrier_wait(&second);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_barrier_destroy(&first);
    pthread_barrier_destroy(&second);

    if (st != FOCAL_ERROR_INVALID_PARAMETER) {
        errcheck_problem("focal_loss_set_epsilon(loss, 0.75) returned %d", (int)st);
    }
    if (p.initial[0] != '\0') {
        errcheck_problem("a new thread starts with message \"%s\" (this thread's?), expected \"\"",
                         p.initial);
    }
    if (p.status != FOCAL_ERROR_INVALID_PARAMETER) {
        errcheck_problem("focal_loss_set_gamma(loss, -5.0) in a thread returned %d", (int)p.status);
    }
    if (!errcheck_contains(p.own, "gamma") || !errcheck_contains(p.own, "-5")) {
        errcheck_problem("the thread's own message \"%s\" does not mention gamma and -5", p.own);
    }
    if (strcmp(p.own, p.later) != 0) {
        errcheck_problem("a failure in the main thread changed another thread's message from \"%s\" to "
                         "\"%s\"",
                         p.own, p.later);
    }
    errcheck_copy_last_error(now, sizeof now);
    if (strcmp(now, m1) != 0) {
        errcheck_problem("this thread's message changed from \"%s\" to \"%s\" after the other thread "
                         "finished",
                         m1, now);
    }
    focal_loss_destroy(loss);
    errcheck_finish();
}

static void test_last_error_kept_by_success(void **state)
{
    (void)state;
    focal_loss *loss = make_context(CFG_DEFAULT, FOCAL_MODE_SOFTMAX);
    assert_int_equal(focal_loss_set_gamma(loss, -3.0), FOCAL_ERROR_INVALID_PARAMETER);
    char before[MSG_SIZE];
    errcheck_copy_last_error(before, sizeof before);

    struct data d;
    data_init(&d, FOCAL_MODE_SOFTMAX);
    double gamma = 0.0;
    float out = 0.0f;
    EXPECT_OK("", focal_loss_set_gamma(loss, 1.0));
    EXPECT_OK("", focal_loss_get_gamma(loss, &gamma));
    EXPECT_OK("", focal_forward_f32(loss, N, C, INNER, d.in32, d.tidx, NULL, &out));

    char after[MSG_SIZE];
    errcheck_copy_last_error(after, sizeof after);
    if (strcmp(before, after) != 0) {
        errcheck_problem("successful calls changed the message from \"%s\" to \"%s\"", before, after);
    }
    focal_loss_destroy(loss);
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * create, clone, destroy
 * ------------------------------------------------------------------------ */

static unsigned char not_a_context;
#define SENTINEL_LOSS ((focal_loss *)(void *)&not_a_context)

static void test_create_errors(void **state)
{
    (void)state;
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER,
                 focal_loss_create(NULL, FOCAL_MODE_SOFTMAX), "out");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER,
                 focal_loss_create(NULL, FOCAL_MODE_SIGMOID), "out");

    static const struct {
        int mode;
        const char *text;
    } bad[] = {{2, "2"}, {17, "17"}, {-1, "-1"}, {INT_MAX, "2147483647"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "mode %d", bad[i].mode);
        focal_loss *loss = SENTINEL_LOSS;
        EXPECT_FAILS(prefix, NULL, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_create(&loss, (focal_mode)bad[i].mode), "mode", bad[i].text);
        if (loss != SENTINEL_LOSS) {
            errcheck_problem("focal_loss_create(&loss, %d) wrote *out on failure", bad[i].mode);
            if (loss != NULL) {
                focal_loss_destroy(loss);
            }
        }
    }
    errcheck_finish();
}

static void test_clone_errors(void **state)
{
    (void)state;
    focal_loss *copy = SENTINEL_LOSS;
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_clone(NULL, &copy),
                 "src|source|loss|context");
    if (copy != SENTINEL_LOSS) {
        errcheck_problem("focal_loss_clone(NULL, &out) wrote *out on failure");
    }
    for (size_t m = 0; m < 2; ++m) {
        for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
            focal_loss *loss = make_context((enum config)cfg, all_modes[m]);
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s, mode %d", config_names[cfg], (int)all_modes[m]);
            EXPECT_FAILS(prefix, loss, FOCAL_ERROR_NULL_POINTER, focal_loss_clone(loss, NULL),
                         "out");
            focal_loss_destroy(loss);
        }
    }
    focal_loss_destroy(NULL);
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Setters
 * ------------------------------------------------------------------------ */

static void test_setters_null_context(void **state)
{
    (void)state;
    static const double alpha[2] = {0.25, 0.75};
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_gamma(NULL, 1.0),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_alpha(NULL, 0.25),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_alpha_vector(NULL, alpha, 2),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_clear_alpha(NULL), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER,
                 focal_loss_set_reduction(NULL, FOCAL_REDUCTION_SUM), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_ignore_index(NULL, -100),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_clear_ignore_index(NULL),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER,
                 focal_loss_set_input(NULL, FOCAL_INPUT_PROBABILITIES), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_epsilon(NULL, 1e-3),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_label_smoothing(NULL, 0.1),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER,
                 focal_loss_set_variant(NULL, FOCAL_VARIANT_FL), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_beta(NULL, 0.5),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_threads(NULL, 2),
                 "loss|context");
    /* 1.1 */
    static const double pos_weight[2] = {1.0, 2.0};
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_divisor(NULL, 2.0), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_soft_form(NULL, FOCAL_SOFT_SPLIT),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_pos_weight_vector(NULL, pos_weight, 2),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_clear_pos_weight(NULL), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_gamma_negative(NULL, 2.0),
                 "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_clip(NULL, 0.1), "loss|context");
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_loss_set_poly_epsilon(NULL, 1.0), "loss|context");
    errcheck_finish();
}

struct dcase {
    double value;
    const char *text;
};

struct icase {
    int value;
    const char *text;
};

static void setter_domains_on(focal_loss *loss, const char *prefix)
{
    static const struct dcase gamma_bad[] = {{-1.0, "-1"},     {-0.5, "-0.5"},
                                             {NAN, "nan"},     {INFINITY, "inf"},
                                             {-INFINITY, "-inf"}};
    static const struct dcase alpha_bad[] = {{NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct dcase eps_bad[] = {{0.0, "0"},       {-0.25, "-0.25"},    {0.5, "0.5"},
                                           {0.75, "0.75"},   {1.0, "1"},          {NAN, "nan"},
                                           {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct dcase ls_bad[] = {{-0.25, "-0.25"}, {1.0, "1"},        {1.5, "1.5"},
                                          {NAN, "nan"},     {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct dcase beta_bad[] = {{NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct icase threads_bad[] = {{-1, "-1"}, {-7, "-7"}, {INT_MIN, "-2147483648"}};
    static const struct icase reduction_bad[] = {{6, "6"}, {17, "17"}, {-1, "-1"}};
    static const struct icase enum2_bad[] = {{2, "2"}, {17, "17"}, {-1, "-1"}};
    static const struct icase variant_bad[] = {{5, "5"}, {17, "17"}, {-1, "-1"}};
    char p[256];

    for (size_t i = 0; i < sizeof gamma_bad / sizeof gamma_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, gamma %s", prefix, gamma_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_gamma(loss, gamma_bad[i].value), "gamma", gamma_bad[i].text);
    }
    for (size_t i = 0; i < sizeof alpha_bad / sizeof alpha_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, alpha %s", prefix, alpha_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_alpha(loss, alpha_bad[i].value), "alpha", alpha_bad[i].text);
    }
    for (size_t i = 0; i < sizeof eps_bad / sizeof eps_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, epsilon %s", prefix, eps_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_epsilon(loss, eps_bad[i].value), "eps", eps_bad[i].text);
    }
    for (size_t i = 0; i < sizeof ls_bad / sizeof ls_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, label smoothing %s", prefix, ls_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_label_smoothing(loss, ls_bad[i].value), "smoothing",
                     ls_bad[i].text);
    }
    for (size_t i = 0; i < sizeof beta_bad / sizeof beta_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, beta %s", prefix, beta_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_beta(loss, beta_bad[i].value), "beta", beta_bad[i].text);
    }
    for (size_t i = 0; i < sizeof threads_bad / sizeof threads_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, threads %s", prefix, threads_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_threads(loss, threads_bad[i].value), "thread",
                     threads_bad[i].text);
    }
    for (size_t i = 0; i < sizeof reduction_bad / sizeof reduction_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, reduction %s", prefix, reduction_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_reduction(loss, (focal_reduction)reduction_bad[i].value),
                     "reduction", reduction_bad[i].text);
    }
    for (size_t i = 0; i < sizeof enum2_bad / sizeof enum2_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, input %s", prefix, enum2_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_input(loss, (focal_input)enum2_bad[i].value), "input",
                     enum2_bad[i].text);
    }
    for (size_t i = 0; i < sizeof variant_bad / sizeof variant_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, variant %s", prefix, variant_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_variant(loss, (focal_variant)variant_bad[i].value), "variant",
                     variant_bad[i].text);
    }

    /* 1.1: the generalized family's settings. */
    static const struct dcase gneg_bad[] = {{-0.5, "-0.5"}, {NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct dcase clip_bad[] = {{-0.25, "-0.25"}, {1.0, "1"}, {1.5, "1.5"},
                                            {NAN, "nan"},     {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    static const struct dcase poly_bad[] = {{NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    for (size_t i = 0; i < sizeof gneg_bad / sizeof gneg_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, gamma_negative %s", prefix, gneg_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER, focal_loss_set_gamma_negative(loss, gneg_bad[i].value),
                     "gamma_negative", gneg_bad[i].text);
    }
    for (size_t i = 0; i < sizeof clip_bad / sizeof clip_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, clip %s", prefix, clip_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER, focal_loss_set_clip(loss, clip_bad[i].value), "clip",
                     clip_bad[i].text);
    }
    for (size_t i = 0; i < sizeof poly_bad / sizeof poly_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, poly epsilon %s", prefix, poly_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER, focal_loss_set_poly_epsilon(loss, poly_bad[i].value),
                     "poly|epsilon", poly_bad[i].text);
    }

    /* The alpha vector. */
    static const double ok5[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
    snprintf(p, sizeof p, "%s, alpha vector", prefix);
    EXPECT_FAILS(p, loss, FOCAL_ERROR_NULL_POINTER, focal_loss_set_alpha_vector(loss, NULL, 5),
                 "alpha");
    EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_SHAPE, focal_loss_set_alpha_vector(loss, ok5, 0),
                 "alpha|count");
    EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_SHAPE, focal_loss_set_alpha_vector(loss, ok5, -1),
                 "alpha|count", "-1");
    EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_SHAPE,
                 focal_loss_set_alpha_vector(loss, ok5, INT64_MIN), "alpha|count",
                 "-9223372036854775808");
    static const struct {
        size_t at;
        double value;
        const char *index;
        const char *text;
    } bad_entries[] = {{2, NAN, "[2]", "nan"}, {4, INFINITY, "[4]", "inf"}, {0, -INFINITY, "[0]", "-inf"}};
    for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; ++i) {
        double v[5];
        memcpy(v, ok5, sizeof v);
        v[bad_entries[i].at] = bad_entries[i].value;
        snprintf(p, sizeof p, "%s, alpha vector with alpha%s = %s", prefix, bad_entries[i].index,
                 bad_entries[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER, focal_loss_set_alpha_vector(loss, v, 5),
                     "alpha", bad_entries[i].index, bad_entries[i].text);
    }

    /* 1.1: the divisor, the soft form, the pos_weight vector. */
    static const struct dcase divisor_bad[] = {{-1.0, "-1"}, {-0x1p-1074, "-4.9"}, {NAN, "nan"},
                                               {INFINITY, "inf"}, {-INFINITY, "-inf"}};
    for (size_t i = 0; i < sizeof divisor_bad / sizeof divisor_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, divisor %s", prefix, divisor_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER, focal_loss_set_divisor(loss, divisor_bad[i].value),
                     "divisor", divisor_bad[i].text);
    }
    for (size_t i = 0; i < sizeof enum2_bad / sizeof enum2_bad[0]; ++i) {
        snprintf(p, sizeof p, "%s, soft form %s", prefix, enum2_bad[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER,
                     focal_loss_set_soft_form(loss, (focal_soft_form)enum2_bad[i].value), "soft form",
                     enum2_bad[i].text);
    }
    snprintf(p, sizeof p, "%s, pos_weight vector", prefix);
    EXPECT_FAILS(p, loss, FOCAL_ERROR_NULL_POINTER, focal_loss_set_pos_weight_vector(loss, NULL, 5), "pos_weight");
    EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_SHAPE, focal_loss_set_pos_weight_vector(loss, ok5, 0),
                 "pos_weight|count");
    EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_SHAPE, focal_loss_set_pos_weight_vector(loss, ok5, -3),
                 "pos_weight|count", "-3");
    static const struct {
        size_t at;
        double value;
        const char *index;
        const char *text;
    } bad_pw[] = {{2, NAN, "[2]", "nan"}, {4, INFINITY, "[4]", "inf"}, {0, -0.5, "[0]", "-0.5"},
                  {3, -INFINITY, "[3]", "-inf"}};
    for (size_t i = 0; i < sizeof bad_pw / sizeof bad_pw[0]; ++i) {
        double v[5];
        memcpy(v, ok5, sizeof v);
        v[bad_pw[i].at] = bad_pw[i].value;
        snprintf(p, sizeof p, "%s, pos_weight vector with pos_weight%s = %s", prefix, bad_pw[i].index,
                 bad_pw[i].text);
        EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_PARAMETER, focal_loss_set_pos_weight_vector(loss, v, 5),
                     "pos_weight", bad_pw[i].index, bad_pw[i].text);
    }
}

static void test_setter_domains(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; ++m) {
        for (int cfg = 0; cfg < CFG_COUNT; ++cfg) {
            focal_loss *loss = make_context((enum config)cfg, all_modes[m]);
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s context, %s mode", config_names[cfg],
                     names_mode(all_modes[m]));
            setter_domains_on(loss, prefix);
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* The edges of each domain are accepted, so the rejections above are the
 * domain's and not a stricter one. */
static void test_setter_domain_edges_accepted(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; ++m) {
        focal_loss *loss = make_context(CFG_DEFAULT, all_modes[m]);
        static const double one[1] = {-2.5};
        double d = 0.0;
        int t = -1;
        int64_t i64 = 0;
        EXPECT_OK("", focal_loss_set_gamma(loss, 0.0));
        EXPECT_OK("", focal_loss_set_alpha(loss, -0.5));
        EXPECT_OK("", focal_loss_set_alpha(loss, 1.5));
        EXPECT_OK("", focal_loss_set_alpha_vector(loss, one, 1));
        EXPECT_OK("", focal_loss_set_epsilon(loss, 1e-300));
        EXPECT_OK("", focal_loss_set_epsilon(loss, 0.4999));
        EXPECT_OK("", focal_loss_set_label_smoothing(loss, 0.0));
        EXPECT_OK("", focal_loss_set_label_smoothing(loss, 0.999));
        EXPECT_OK("", focal_loss_set_beta(loss, -1e300));
        EXPECT_OK("", focal_loss_set_threads(loss, 0));
        EXPECT_OK("", focal_loss_set_ignore_index(loss, INT64_MIN));
        EXPECT_OK("", focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES));
        EXPECT_OK("", focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR));
        EXPECT_OK("", focal_loss_get_gamma(loss, &d));
        if (d != 0.0) errcheck_problem("gamma 0 read back as %g", d);
        EXPECT_OK("", focal_loss_get_epsilon(loss, &d));
        if (d != 0.4999) errcheck_problem("epsilon 0.4999 read back as %g", d);
        EXPECT_OK("", focal_loss_get_label_smoothing(loss, &d));
        if (d != 0.999) errcheck_problem("label smoothing 0.999 read back as %g", d);
        EXPECT_OK("", focal_loss_get_threads(loss, &t));
        if (t != 0) errcheck_problem("threads 0 read back as %d", t);
        EXPECT_OK("", focal_loss_get_ignore_index(loss, &i64));
        if (i64 != INT64_MIN) errcheck_problem("ignore_index INT64_MIN read back as %" PRId64, i64);
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Getters
 * ------------------------------------------------------------------------ */

#define CHECK_GETTER_NULLS(prefix, loss, getter, type)                                        \
    do {                                                                                    \
        type value_;                                                                        \
        memset(&value_, SENTINEL, sizeof value_);                                           \
        EXPECT_FAILS((prefix), NULL, FOCAL_ERROR_NULL_POINTER, getter(NULL, &value_),        \
                     "loss|context");                                                       \
        expect_untouched(&value_, sizeof value_, #getter "(NULL, &out)");                   \
        EXPECT_FAILS((prefix), (loss), FOCAL_ERROR_NULL_POINTER, getter((loss), NULL), "out"); \
    } while (0)

static void test_getters_null(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; ++m) {
        const char *prefix = names_mode(all_modes[m]);
        /* Scalar alpha and an ignore index are set, so only the NULL is wrong. */
        focal_loss *loss = make_context(CFG_SCALAR, all_modes[m]);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_mode, focal_mode);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_gamma, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_alpha, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_alpha_count, int64_t);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_reduction, focal_reduction);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_ignore_index, int64_t);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_input, focal_input);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_epsilon, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_label_smoothing, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_variant, focal_variant);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_beta, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_threads, int);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_divisor, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_soft_form, focal_soft_form);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_pos_weight_count, int64_t);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_gamma_negative, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_clip, double);
        CHECK_GETTER_NULLS(prefix, loss, focal_loss_get_poly_epsilon, double);
        focal_loss_destroy(loss);

        loss = make_context(CFG_VECTOR, all_modes[m]);
        double v[5];
        memset(v, SENTINEL, sizeof v);
        EXPECT_FAILS(prefix, NULL, FOCAL_ERROR_NULL_POINTER,
                     focal_loss_get_alpha_vector(NULL, v, 5), "loss|context");
        expect_untouched(v, sizeof v, "focal_loss_get_alpha_vector(NULL, out, 5)");
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_NULL_POINTER,
                     focal_loss_get_alpha_vector(loss, NULL, 5), "out");
        static const double pw[2] = {1.5, 2.5};
        EXPECT_OK(prefix, focal_loss_set_pos_weight_vector(loss, pw, 2));
        memset(v, SENTINEL, sizeof v);
        EXPECT_FAILS(prefix, NULL, FOCAL_ERROR_NULL_POINTER,
                     focal_loss_get_pos_weight_vector(NULL, v, 2), "loss|context");
        expect_untouched(v, sizeof v, "focal_loss_get_pos_weight_vector(NULL, out, 2)");
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_NULL_POINTER,
                     focal_loss_get_pos_weight_vector(loss, NULL, 2), "out");
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

static void test_getters_incompatible(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; ++m) {
        const char *prefix = names_mode(all_modes[m]);
        focal_loss *loss = make_context(CFG_DEFAULT, all_modes[m]);
        double a;
        double v[8];
        int64_t i64;

        /* No alpha at all. */
        memset(&a, SENTINEL, sizeof a);
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE, focal_loss_get_alpha(loss, &a),
                     "alpha");
        expect_untouched(&a, sizeof a, "focal_loss_get_alpha, no alpha set");
        memset(v, SENTINEL, sizeof v);
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE,
                     focal_loss_get_alpha_vector(loss, v, 1), "alpha");
        expect_untouched(v, sizeof v, "focal_loss_get_alpha_vector, no alpha set");
        EXPECT_OK(prefix, focal_loss_get_alpha_count(loss, &i64));
        if (i64 != 0) {
            errcheck_problem("%s: focal_loss_get_alpha_count without a vector gave %" PRId64
                             ", expected 0",
                             prefix, i64);
        }

        /* No ignore index, before and after clearing one. */
        memset(&i64, SENTINEL, sizeof i64);
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE,
                     focal_loss_get_ignore_index(loss, &i64), "ignore");
        expect_untouched(&i64, sizeof i64, "focal_loss_get_ignore_index, none set");
        EXPECT_OK(prefix, focal_loss_set_ignore_index(loss, 7));
        EXPECT_OK(prefix, focal_loss_clear_ignore_index(loss));
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE,
                     focal_loss_get_ignore_index(loss, &i64), "ignore");
        expect_untouched(&i64, sizeof i64, "focal_loss_get_ignore_index, cleared");

        /* A scalar alpha: there is no vector. */
        EXPECT_OK(prefix, focal_loss_set_alpha(loss, 0.25));
        memset(v, SENTINEL, sizeof v);
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE,
                     focal_loss_get_alpha_vector(loss, v, 1), "alpha");
        expect_untouched(v, sizeof v, "focal_loss_get_alpha_vector, scalar alpha set");

        /* A vector: there is no scalar, and the count must match. */
        EXPECT_OK(prefix, focal_loss_set_alpha_vector(loss, alpha5, 5));
        memset(&a, SENTINEL, sizeof a);
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE, focal_loss_get_alpha(loss, &a),
                     "alpha");
        expect_untouched(&a, sizeof a, "focal_loss_get_alpha, vector set");
        static const struct {
            int64_t count;
            const char *text;
        } wrong[] = {{4, "4"}, {6, "6"}, {0, "0"}, {-1, "-1"}};
        for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; ++i) {
            char p[96];
            snprintf(p, sizeof p, "%s, vector of 5, count %s", prefix, wrong[i].text);
            memset(v, SENTINEL, sizeof v);
            EXPECT_FAILS(p, loss, FOCAL_ERROR_INVALID_SHAPE,
                         focal_loss_get_alpha_vector(loss, v, wrong[i].count), "alpha",
                         wrong[i].text);
            expect_untouched(v, sizeof v, p);
        }

        /* Cleared again: no alpha. */
        EXPECT_OK(prefix, focal_loss_set_alpha(loss, 0.75));
        EXPECT_OK(prefix, focal_loss_clear_alpha(loss));
        memset(&a, SENTINEL, sizeof a);
        EXPECT_FAILS(prefix, loss, FOCAL_ERROR_INCOMPATIBLE, focal_loss_get_alpha(loss, &a),
                     "alpha");
        expect_untouched(&a, sizeof a, "focal_loss_get_alpha, alpha cleared");
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * focal_prior_bias
 * ------------------------------------------------------------------------ */

static void test_prior_bias_errors(void **state)
{
    (void)state;
    static const struct dcase bad[] = {{0.0, "0"},      {1.0, "1"},        {NAN, "nan"},
                                       {-0.5, "-0.5"},  {1.5, "1.5"},      {INFINITY, "inf"},
                                       {-INFINITY, "-inf"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        char p[64];
        snprintf(p, sizeof p, "prior %s", bad[i].text);
        double bias;
        memset(&bias, SENTINEL, sizeof bias);
        EXPECT_FAILS(p, NULL, FOCAL_ERROR_INVALID_PARAMETER, focal_prior_bias(bad[i].value, &bias),
                     "prior", bad[i].text);
        expect_untouched(&bias, sizeof bias, p);
    }
    EXPECT_FAILS("", NULL, FOCAL_ERROR_NULL_POINTER, focal_prior_bias(0.01, NULL), "bias");

    double bias = 0.0;
    EXPECT_OK("", focal_prior_bias(0.01, &bias));
    if (fabs(bias - log(0.01 / 0.99)) > 1e-12) {
        errcheck_problem("focal_prior_bias(0.01) = %.17g, expected %.17g", bias, log(0.01 / 0.99));
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Compute, in each mode: valid calls, NULL pointers and the optional
 * outputs of the fused call
 * ------------------------------------------------------------------------ */

static void context_label(char *buf, size_t size, enum config cfg, int weighted)
{
    snprintf(buf, size, "%s, %s", config_names[cfg], weighted ? "weighted" : "no weight");
}

/* Every valid context of the mode with every compute function: the call
 * succeeds and writes exactly its outputs (what softmax would reject
 * included, in sigmoid mode). */
static void test_compute_valid_calls(void **state)
{
    const mode_case *mc = *state;
    struct data d;
    for (size_t ci = 0; ci < mc->n_compute; ++ci) {
        focal_loss *loss = make_context(mc->compute[ci], mc->mode);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < N_FNS; ++i) {
                prepare(&d, loss);
                struct call a = base_call(loss, weighted, config_names[mc->compute[ci]]);
                (void)expect_compute_success(&fns[i], &a, &d);
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

static void test_compute_null_pointers(void **state)
{
    const mode_case *mc = *state;
    struct data d;
    for (size_t ci = 0; ci < mc->n_compute; ++ci) {
        focal_loss *loss = make_context(mc->compute[ci], mc->mode);
        for (int weighted = 0; weighted < 2; ++weighted) {
            char what[96];
            context_label(what, sizeof what, mc->compute[ci], weighted);
            prepare(&d, loss);
            struct call a = base_call(loss, weighted, what);
            a.nulls = NULL_LOSS;
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("loss|context"));
            a.nulls = NULL_INPUT;
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("input"));
            a.nulls = NULL_TARGET;
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("target"));
            a.nulls = NULL_OUT;
            expect_all_fail(K_FWD | T_TARGETS, &a, &d, FOCAL_ERROR_NULL_POINTER, NEEDLES("out"));
            a.nulls = NULL_GRAD_OUT;
            expect_all_fail(K_BWD | T_TARGETS, &a, &d, FOCAL_ERROR_NULL_POINTER,
                            NEEDLES("grad_out"));
            a.nulls = NULL_GRAD_INPUT;
            expect_all_fail(K_BWD | T_TARGETS, &a, &d, FOCAL_ERROR_NULL_POINTER,
                            NEEDLES("grad_input"));
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

static void compare_outputs(const char *label, const unsigned char *got,
                            const unsigned char *want, size_t count, int f64)
{
    double tol = f64 ? 1e-12 : 1e-5;
    for (size_t i = 0; i < count; ++i) {
        double g = read_value(got, f64, i);
        double w = read_value(want, f64, i);
        if (!(fabs(g - w) <= tol * (1.0 + fabs(w)))) {
            errcheck_problem("%s: value %zu is %.17g, the complete call gives %.17g", label, i, g, w);
            return;
        }
    }
}

/* Header: "out or grad_input may be NULL to skip it". Each is optional on
 * its own and only loss, input, target and a *required* output count as
 * NULL_POINTER errors, so with both NULL the call still validates and
 * returns FOCAL_OK when everything is valid, and the validation error
 * otherwise. An output computed alone is the complete call's. */
static void test_compute_fused_optional_outputs(void **state)
{
    const mode_case *mc = *state;
    /* Out of range in either mode (sigmoid's range includes c = 5). */
    static const struct {
        int64_t value;
        const char *text;
    } bad_index[] = {{12, "12"}, {C + 2, "7"}};
    struct data d;
    _Alignas(double) unsigned char want_out[sizeof d.out];
    _Alignas(double) unsigned char want_gin[sizeof d.gin];

    for (size_t ci = 0; ci < mc->n_compute; ++ci) {
        focal_loss *loss = make_context(mc->compute[ci], mc->mode);
        size_t out_count = output_count(loss);
        for (int weighted = 0; weighted < 2; ++weighted) {
            char what[96];
            context_label(what, sizeof what, mc->compute[ci], weighted);
            for (size_t i = 0; i < N_FNS; ++i) {
                const struct fn_entry *f = &fns[i];
                if (!applies(f, K_FUSED | T_TARGETS)) {
                    continue;
                }
                char label[768];
                prepare(&d, loss);
                struct call a = base_call(loss, weighted, what);
                int complete = expect_compute_success(f, &a, &d);
                memcpy(want_out, d.out, sizeof want_out);
                memcpy(want_gin, d.gin, sizeof want_gin);

                a.nulls = NULL_OUT;
                make_label(label, sizeof label, f, &a);
                if (expect_compute_success(f, &a, &d) && complete) {
                    compare_outputs(label, d.gin, want_gin, ELEM, f->f64);
                }
                a.nulls = NULL_GRAD_INPUT;
                make_label(label, sizeof label, f, &a);
                if (expect_compute_success(f, &a, &d) && complete) {
                    compare_outputs(label, d.out, want_out, out_count, f->f64);
                }
                a.nulls = NULL_OUT | NULL_GRAD_INPUT;
                (void)expect_compute_success(f, &a, &d);

                /* Both skipped: the inputs are still validated. */
                if (f->flags & T_DENSE) {
                    prepare(&d, loss);
                    set_dense_target(&d, 7, 1.5);
                    expect_compute_failure(f, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                           NEEDLES("target", "[7]", "1.5"));
                } else {
                    for (size_t b = 0; b < sizeof bad_index / sizeof bad_index[0]; ++b) {
                        prepare(&d, loss);
                        d.tidx[3] = bad_index[b].value;
                        expect_compute_failure(f, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                               NEEDLES("target", "[3]", bad_index[b].text));
                    }
                }
                if (weighted) {
                    prepare(&d, loss);
                    set_weight(&d, 2, -1.0);
                    expect_compute_failure(f, &a, &d, FOCAL_ERROR_INVALID_WEIGHT,
                                           NEEDLES("weight", "[2]", "-1"));
                }
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Compute, in each mode: shapes
 * ------------------------------------------------------------------------ */

static void test_compute_invalid_shape(void **state)
{
    const mode_case *mc = *state;
    static const struct {
        int64_t n, c, inner;
        const char *needle;
        const char *name; /* n and c are too short to look for */
    } bad[] = {
        /* n = 0 and inner = 0 are empty calls since 1.1 (tests/test_empty.c). */
        {N, 0, INNER, "0", ""},
        {-7, C, INNER, "-7", ""},
        {N, -7, INNER, "-7", ""},
        {N, C, -7, "-7", "inner"},
        {INT64_MIN, C, INNER, "-9223372036854775808", ""},
        {N, INT64_MIN, INNER, "-9223372036854775808", ""},
        {N, C, INT64_MIN, "-9223372036854775808", "inner"},
    };
    struct data d;
    for (size_t ci = 0; ci < mc->n_shape; ++ci) {
        focal_loss *loss = make_context(mc->shape[ci], mc->mode);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                data_init(&d, mc->mode);
                struct call a = base_call(loss, weighted, config_names[mc->shape[ci]]);
                a.n = bad[i].n;
                a.c = bad[i].c;
                a.inner = bad[i].inner;
                expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INVALID_SHAPE,
                                NEEDLES(bad[i].needle, bad[i].name));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* The buffers are tiny: the call must reject the shape before reading or
 * writing any of them. */
static void test_compute_shape_overflow(void **state)
{
    const mode_case *mc = *state;
    const int64_t big = INT64_MAX;
    const int64_t p22 = (int64_t)1 << 22;
    const int64_t p21 = (int64_t)1 << 21;
    const int64_t p31 = (int64_t)1 << 31;
    const int64_t p32 = (int64_t)1 << 32;
    const struct {
        int64_t n, c, inner;
    } bad[] = {
        {p22, p22, p22},               /* 2^66 elements */
        {p21, p21, p21},               /* 2^63: one past INT64_MAX */
        {big, big, big},
        {big, 2, 1},
        {2, big, 1},
        {1, 2, big},
        {3037000500, 3037000500, 1},   /* just over sqrt(INT64_MAX) squared */
        {p32, 1, p32},                 /* 2^64 elements with c = 1 */
        {p31, p31, 1},                 /* 2^62 elements: the byte size overflows */
        {big, 1, 1},                   /* INT64_MAX elements: the byte size overflows */
        {1, 1, big},
    };
    struct data d;
    for (size_t ci = 0; ci < mc->n_shape; ++ci) {
        focal_loss *loss = make_context(mc->shape[ci], mc->mode);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                data_init(&d, mc->mode);
                struct call a = base_call(loss, weighted, config_names[mc->shape[ci]]);
                a.n = bad[i].n;
                a.c = bad[i].c;
                a.inner = bad[i].inner;
                expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INVALID_SHAPE, NEEDLES(""));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

static void test_compute_alpha_vector_length(void **state)
{
    const mode_case *mc = *state;
    static const double alpha[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    static const struct {
        int64_t count;
        const char *text;
    } counts[] = {{1, "1"}, {3, "3"}, {4, "4"}, {6, "6"}};
    struct data d;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; ++i) {
        for (size_t ci = 0; ci < mc->n_alpha_length; ++ci) {
            focal_loss *loss = make_context(mc->alpha_length[ci], mc->mode);
            char what[128];
            snprintf(what, sizeof what, "%s, alpha vector of %s, c = %d",
                     config_names[mc->alpha_length[ci]], counts[i].text, C);
            assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, counts[i].count), FOCAL_OK);
            for (int weighted = 0; weighted < 2; ++weighted) {
                prepare(&d, loss);
                struct call a = base_call(loss, weighted, what);
                expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INVALID_SHAPE,
                                NEEDLES("alpha", counts[i].text, "5"));
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Compute, in each mode: targets and weights
 * ------------------------------------------------------------------------ */

/* Valid index targets: [0, c) in softmax mode, [0, c] in sigmoid mode
 * (c is background). */
static int index_target_valid(focal_mode mode, int64_t t)
{
    return t >= 0 && (t < C || (mode == FOCAL_MODE_SIGMOID && t == C));
}

static void test_compute_index_target_out_of_range(void **state)
{
    const mode_case *mc = *state;
    /* Just outside either mode's range, far outside, and the extremes;
     * the ones valid in a mode (C in sigmoid mode) or equal to the
     * context's ignore index are skipped. */
    static const int64_t values[] = {C,  C + 1, C + 2, 12,        -1,
                                     -2, -5,    -100,  INT64_MAX, INT64_MIN};
    /* An ignored position does not hide a bad one after it; without an
     * ignore index, -100 is just out of range. */
    static const struct {
        int with_ignore;
        int ignored_at; /* -1: none */
        size_t bad_at;
        int64_t bad;
        const char *index;
        const char *text;
    } placements[] = {
        {1, 3, 4, 12, "[4]", "12"},
        {1, 4, 5, -5, "[5]", "-5"},
        {0, -1, 4, -100, "[4]", "-100"},
    };
    struct data d;
    for (size_t ci = 0; ci < mc->n_compute; ++ci) {
        enum config cfg = mc->compute[ci];
        focal_loss *loss = make_context(cfg, mc->mode);
        int64_t ignore = 0;
        int with_ignore = has_ignore(loss, &ignore);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
                if (index_target_valid(mc->mode, values[i]) ||
                    (with_ignore && values[i] == ignore)) {
                    continue;
                }
                char what[160];
                char text[32];
                snprintf(text, sizeof text, "%" PRId64, values[i]);
                snprintf(what, sizeof what, "%s, %s, target[3] = %s", config_names[cfg],
                         weighted ? "weighted" : "no weight", text);
                prepare(&d, loss);
                d.tidx[3] = values[i];
                struct call a = base_call(loss, weighted, what);
                expect_all_fail(K_KINDS | T_INDEX, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                NEEDLES("target", "[3]", text));
            }
            for (size_t k = 0; k < sizeof placements / sizeof placements[0]; ++k) {
                if (placements[k].with_ignore != with_ignore) {
                    continue;
                }
                char what[160];
                snprintf(what, sizeof what, "%s, %s, target%s = %s%s", config_names[cfg],
                         weighted ? "weighted" : "no weight", placements[k].index,
                         placements[k].text,
                         placements[k].ignored_at >= 0 ? " after an ignored position" : "");
                prepare(&d, loss);
                if (placements[k].ignored_at >= 0) {
                    d.tidx[placements[k].ignored_at] = ignore;
                }
                d.tidx[placements[k].bad_at] = placements[k].bad;
                struct call a = base_call(loss, weighted, what);
                expect_all_fail(K_KINDS | T_INDEX, &a, &d, FOCAL_ERROR_INVALID_TARGET,
                                NEEDLES("target", placements[k].index, placements[k].text));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* An ignored position gets a loss of 0 (NONE) and a gradient of 0,
 * whatever the ignore index and the reduction. */
static void test_compute_index_target_ignored(void **state)
{
    const mode_case *mc = *state;
    static const int64_t ignores[] = {-100, 12, INT64_MIN};
    static const focal_reduction reductions[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN,
                                                 FOCAL_REDUCTION_SUM};
    struct data d;
    for (size_t ii = 0; ii < sizeof ignores / sizeof ignores[0]; ++ii) {
        for (size_t ri = 0; ri < sizeof reductions / sizeof reductions[0]; ++ri) {
            focal_loss *loss = make_context(CFG_DEFAULT, mc->mode);
            assert_int_equal(focal_loss_set_ignore_index(loss, ignores[ii]), FOCAL_OK);
            assert_int_equal(focal_loss_set_reduction(loss, reductions[ri]), FOCAL_OK);
            for (int weighted = 0; weighted < 2; ++weighted) {
                char what[128];
                snprintf(what, sizeof what, "ignore_index %" PRId64 " = target[3], reduction %d",
                         ignores[ii], (int)reductions[ri]);
                for (size_t i = 0; i < N_FNS; ++i) {
                    const struct fn_entry *f = &fns[i];
                    if (!applies(f, K_KINDS | T_INDEX)) {
                        continue;
                    }
                    prepare(&d, loss);
                    d.tidx[3] = ignores[ii];
                    struct call a = base_call(loss, weighted, what);
                    if (!expect_compute_success(f, &a, &d)) {
                        continue;
                    }
                    char label[768];
                    make_label(label, sizeof label, f, &a);
                    /* Position 3 is (n = 1, s = 0): out[3] in softmax mode,
                     * its c elements in sigmoid mode. */
                    if (reductions[ri] == FOCAL_REDUCTION_NONE && (f->flags & (K_FWD | K_FUSED))) {
                        for (int64_t k = 0; k < (mc->mode == FOCAL_MODE_SOFTMAX ? 1 : C); ++k) {
                            size_t o = mc->mode == FOCAL_MODE_SOFTMAX ? 3 : elem_index(1, k, 0);
                            if (read_value(d.out, f->f64, o) != 0.0) {
                                errcheck_problem("%s: out[%zu] of the ignored position is %g, "
                                                 "expected 0",
                                                 label, o, read_value(d.out, f->f64, o));
                            }
                        }
                    }
                    if (f->flags & (K_BWD | K_FUSED)) {
                        for (int64_t k = 0; k < C; ++k) {
                            size_t e = elem_index(1, k, 0);
                            if (read_value(d.gin, f->f64, e) != 0.0) {
                                errcheck_problem("%s: grad_input[%zu] of the ignored position is %g, "
                                                 "expected 0",
                                                 label, e, read_value(d.gin, f->f64, e));
                            }
                        }
                    }
                }
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

static void test_compute_dense_target_invalid(void **state)
{
    const mode_case *mc = *state;
    static const struct dcase bad[] = {{-0.1, "-0.1"}, {1.5, "1.5"},       {-1.0, "-1"},
                                       {NAN, "nan"},   {INFINITY, "inf"},  {-INFINITY, "-inf"}};
    /* Element 7 is (n = 0, k = 2, s = 1); element 29 is the last one. */
    static const struct {
        size_t at;
        const char *index;
    } where[] = {{7, "[7]"}, {ELEM - 1, "[29]"}};
    struct data d;
    for (size_t ci = 0; ci < mc->n_compute; ++ci) {
        focal_loss *loss = make_context(mc->compute[ci], mc->mode);
        for (int weighted = 0; weighted < 2; ++weighted) {
            for (size_t wi = 0; wi < sizeof where / sizeof where[0]; ++wi) {
                for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                    char what[160];
                    snprintf(what, sizeof what, "%s, %s, target%s = %s",
                             config_names[mc->compute[ci]], weighted ? "weighted" : "no weight",
                             where[wi].index, bad[i].text);
                    prepare(&d, loss);
                    set_dense_target(&d, where[wi].at, bad[i].value);
                    struct call a = base_call(loss, weighted, what);
                    expect_all_fail(K_KINDS | T_DENSE, &a, &d, FOCAL_ERROR_INVALID_TARGET,
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
static void test_compute_dense_target_edges(void **state)
{
    const mode_case *mc = *state;
    enum { EC = 45 };
    float x[EC], y[EC], g[EC], out_pos, out_neg;
    for (int k = 0; k < EC; ++k) {
        x[k] = 0.1f * (float)(k % 7) - 0.3f;
        y[k] = k % 5 == 0 ? 1.0f : 0.0f;
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mc->mode), FOCAL_OK);
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

static void test_compute_weight_invalid(void **state)
{
    const mode_case *mc = *state;
    static const struct dcase bad[] = {{-1.0, "-1"},     {-0.25, "-0.25"},
                                       {NAN, "nan"},     {INFINITY, "inf"},
                                       {-INFINITY, "-inf"}};
    static const struct {
        size_t at;
        const char *index;
    } where[] = {{2, "[2]"}, {5, "[5]"}};
    struct data d;
    for (size_t ci = 0; ci < mc->n_compute; ++ci) {
        focal_loss *loss = make_context(mc->compute[ci], mc->mode);
        for (size_t wi = 0; wi < sizeof where / sizeof where[0]; ++wi) {
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
                char what[160];
                snprintf(what, sizeof what, "%s, weight%s = %s", config_names[mc->compute[ci]],
                         where[wi].index, bad[i].text);
                prepare(&d, loss);
                set_weight(&d, where[wi].at, bad[i].value);
                struct call a = base_call(loss, 1, what);
                expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INVALID_WEIGHT,
                                NEEDLES("weight", where[wi].index, bad[i].text));
            }
        }
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Compute: settings only one mode takes
 * ------------------------------------------------------------------------ */

static void test_compute_incompatible_softmax(void **state)
{
    (void)state;
    struct data d;
    for (size_t ci = 0; ci < softmax_case.n_compute; ++ci) {
        enum config cfg = softmax_case.compute[ci];
        for (int weighted = 0; weighted < 2; ++weighted) {
            char what[128];
            focal_loss *loss = make_context(cfg, FOCAL_MODE_SOFTMAX);
            snprintf(what, sizeof what, "%s, softmax with SUM_OVER_POSITIVES", config_names[cfg]);
            EXPECT_OK(what,
                      focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES));
            prepare(&d, loss);
            struct call a = base_call(loss, weighted, what);
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INCOMPATIBLE,
                            NEEDLES("positives|sum_over", "softmax|sigmoid"));
            focal_loss_destroy(loss);

            /* FL* also needs logits input and gamma > 0; keep those right so
             * that softmax mode is the only misfit. */
            if (cfg == CFG_VECTOR) {
                continue;
            }
            loss = make_context(cfg, FOCAL_MODE_SOFTMAX);
            snprintf(what, sizeof what, "%s, softmax with FL_STAR", config_names[cfg]);
            EXPECT_OK(what, focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR));
            prepare(&d, loss);
            a = base_call(loss, weighted, what);
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INCOMPATIBLE,
                            NEEDLES("fl*|fl_star|fl star|variant", "softmax|sigmoid"));
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* SUM_OVER_POSITIVES and FL* are errors in softmax mode only; c itself is
 * a valid index target (background), also for every position at once. */
static void test_compute_sigmoid_takes_softmax_misfits(void **state)
{
    (void)state;
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN,
                                           FOCAL_REDUCTION_SUM, FOCAL_REDUCTION_WEIGHTED_MEAN,
                                           FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    struct data d;
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
                    data_init(&d, FOCAL_MODE_SIGMOID);
                    for (size_t p = 0; p < POS; ++p) {
                        d.tidx[p] = C;
                    }
                    struct call a = base_call(loss, weighted, what);
                    (void)expect_compute_success(&fns[i], &a, &d);
                }
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* FL* settings that do not fit, in sigmoid mode: checked at compute time,
 * whichever order the setters ran in. */
static void test_compute_fl_star_incompatible(void **state)
{
    (void)state;
    struct data d;
    for (int order = 0; order < 2; ++order) {
        for (int weighted = 0; weighted < 2; ++weighted) {
            /* gamma = 0: the setters accept it in either order. */
            focal_loss *loss = make_context(CFG_SIG_STAR, FOCAL_MODE_SIGMOID);
            if (order == 0) {
                assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
            } else {
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL), FOCAL_OK);
                assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
            }
            prepare(&d, loss);
            struct call a = base_call(loss, weighted, "FL* with gamma 0");
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INCOMPATIBLE,
                            NEEDLES("fl*|fl_star|fl star|variant", "gamma"));
            /* The same context with gamma > 0 is fine again. */
            assert_int_equal(focal_loss_set_gamma(loss, 0.25), FOCAL_OK);
            for (size_t i = 0; i < N_FNS; ++i) {
                prepare(&d, loss);
                a = base_call(loss, weighted, "FL* with gamma 0.25");
                (void)expect_compute_success(&fns[i], &a, &d);
            }
            focal_loss_destroy(loss);

            /* Probabilities input. */
            loss = make_context(CFG_SIG_STAR, FOCAL_MODE_SIGMOID);
            if (order == 0) {
                assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
            } else {
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL), FOCAL_OK);
                assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
                assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
            }
            prepare(&d, loss);
            a = base_call(loss, weighted, "FL* with probabilities input");
            expect_all_fail(ALL_FNS, &a, &d, FOCAL_ERROR_INCOMPATIBLE,
                            NEEDLES("fl*|fl_star|fl star|variant", "probabilit"));
            /* Plain FL takes probabilities. */
            assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL), FOCAL_OK);
            for (size_t i = 0; i < N_FNS; ++i) {
                prepare(&d, loss);
                a = base_call(loss, weighted, "FL with probabilities input");
                (void)expect_compute_success(&fns[i], &a, &d);
            }
            focal_loss_destroy(loss);
        }
    }
    errcheck_finish();
}

/* A compute case once per mode, named "<case>/<mode>". */
#define PER_MODE(f, name)                                                                    \
    {name "/softmax", f, errcheck_reset_tally, NULL, &softmax_case},                         \
    {name "/sigmoid", f, errcheck_reset_tally, NULL, &sigmoid_case}


/* ------------------------------------------------------------------------
 * 1.1: the split form and pos_weight fit sigmoid FL only; the counts and
 * the target gradient validate as the compute calls do.
 * ------------------------------------------------------------------------ */

enum { T11_N = 3, T11_C = 5, T11_INNER = 2, T11_POS = T11_N * T11_INNER, T11_ELEMS = T11_N * T11_C * T11_INNER };

/* Every 1.1 entry point and the fused compute calls, on one context; each
 * result that is not the expected status, or an output a failing call
 * wrote, or a message without the needle, is a problem. */
static void expect_1_1(const char *what, const focal_loss *loss, int64_t c, const double *x, const int64_t *t,
                       const double *yd, const double *w, focal_status want, const char *needle)
{
    double out = -7.0, grad[T11_ELEMS], counts[3] = {-7.0, -7.0, -7.0}, gt[T11_ELEMS];
    const double up = 1.0;
    float xf[T11_ELEMS], ydf[T11_ELEMS], wf[T11_POS], outf = -7.0f, gradf[T11_ELEMS], gtf[T11_ELEMS];
    const float upf = 1.0f;
    for (int i = 0; i < T11_ELEMS; ++i) {
        xf[i] = (float)x[i];
        ydf[i] = (float)yd[i];
        grad[i] = gt[i] = -7.0;
        gradf[i] = gtf[i] = -7.0f;
    }
    for (int i = 0; i < T11_POS; ++i)
        wf[i] = (float)w[i];
    const struct {
        const char *name;
        focal_status s;
    } calls[] = {
        {"forward_backward_f64", focal_forward_backward_f64(loss, T11_N, c, T11_INNER, x, t, w, &out, grad)},
        {"forward_backward_dense_f64",
         focal_forward_backward_dense_f64(loss, T11_N, c, T11_INNER, x, yd, w, &out, grad)},
        {"forward_backward_f32", focal_forward_backward_f32(loss, T11_N, c, T11_INNER, xf, t, wf, &outf, gradf)},
        {"counts_f64", focal_counts_f64(loss, T11_N, c, T11_INNER, t, w, counts)},
        {"counts_dense_f64", focal_counts_dense_f64(loss, T11_N, c, T11_INNER, yd, w, counts)},
        {"counts_f32", focal_counts_f32(loss, T11_N, c, T11_INNER, t, wf, counts)},
        {"counts_dense_f32", focal_counts_dense_f32(loss, T11_N, c, T11_INNER, ydf, wf, counts)},
        {"backward_target_dense_f64",
         focal_backward_target_dense_f64(loss, T11_N, c, T11_INNER, x, yd, w, &up, gt)},
        {"backward_target_dense_f32",
         focal_backward_target_dense_f32(loss, T11_N, c, T11_INNER, xf, ydf, wf, &upf, gtf)},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; ++i) {
        if (calls[i].s != want) {
            errcheck_problem("%s: %s returned %d, expected %d (%s)", what, calls[i].name, (int)calls[i].s, (int)want,
                             focal_last_error());
            continue;
        }
        if (want == FOCAL_OK)
            continue;
        char msg[512];
        errcheck_copy_last_error(msg, sizeof msg);
        if (!errcheck_contains(msg, needle))
            errcheck_problem("%s: %s: message \"%s\" lacks \"%s\"", what, calls[i].name, msg, needle);
    }
    if (want == FOCAL_OK)
        return;
    int written = out != -7.0 || outf != -7.0f || counts[0] != -7.0 || counts[1] != -7.0 || counts[2] != -7.0;
    for (int i = 0; i < T11_ELEMS; ++i)
        written |= grad[i] != -7.0 || gt[i] != -7.0 || gradf[i] != -7.0f || gtf[i] != -7.0f;
    if (written)
        errcheck_problem("%s: a failing call wrote an output", what);
}

static void test_compute_1_1_settings(void **state)
{
    (void)state;
    double x[T11_ELEMS], yd[T11_ELEMS], w[T11_POS];
    int64_t t[T11_POS];
    for (int i = 0; i < T11_ELEMS; ++i) {
        x[i] = 0.25 * (i % 7) - 0.75;
        yd[i] = (i % 3) * 0.5;
    }
    for (int i = 0; i < T11_POS; ++i) {
        t[i] = i % T11_C;
        w[i] = 0.5 + 0.25 * i;
    }
    static const double pw[T11_C] = {1.0, 2.0, 0.5, 3.0, 1.5};
    errcheck_snapshot before;
    char diff[256];
    for (int mode = 0; mode < 2; ++mode) {
        for (int setting = 0; setting < 2; ++setting) {
            /* SPLIT, then pos_weight: each alone, on softmax mode and on FL*. */
            for (int star = 0; star < 1 + mode; ++star) {
                focal_loss *loss = NULL;
                assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
                if (setting == 0)
                    assert_int_equal(focal_loss_set_soft_form(loss, FOCAL_SOFT_SPLIT), FOCAL_OK);
                else
                    assert_int_equal(focal_loss_set_pos_weight_vector(loss, pw, T11_C), FOCAL_OK);
                if (star)
                    assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
                errcheck_snapshot_take(loss, &before);
                char what[128];
                snprintf(what, sizeof what, "%s mode%s with %s", names_mode((focal_mode)mode), star ? ", FL*," : "",
                         setting == 0 ? "SPLIT" : "pos_weight");
                if (mode == FOCAL_MODE_SIGMOID && !star)
                    expect_1_1(what, loss, T11_C, x, t, yd, w, FOCAL_OK, "");
                else
                    expect_1_1(what, loss, T11_C, x, t, yd, w, FOCAL_ERROR_INCOMPATIBLE,
                               setting == 0 ? "split" : "pos_weight");
                errcheck_snapshot take_after;
                errcheck_snapshot_take(loss, &take_after);
                if (!errcheck_snapshot_equal(&before, &take_after, diff, sizeof diff))
                    errcheck_problem("%s: the context changed: %s", what, diff);
                focal_loss_destroy(loss);
            }
        }
        /* A pos_weight of another length than c. */
        if (mode == FOCAL_MODE_SIGMOID) {
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
            assert_int_equal(focal_loss_set_pos_weight_vector(loss, pw, 3), FOCAL_OK);
            expect_1_1("sigmoid, pos_weight of length 3", loss, T11_C, x, t, yd, w, FOCAL_ERROR_INVALID_SHAPE,
                       "pos_weight");
            focal_loss_destroy(loss);
        }
        /* Bad targets and weights: the same status and message as the
         * compute calls, for the counts and the target gradient. */
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
        double wb[T11_POS], ydb[T11_ELEMS];
        memcpy(wb, w, sizeof wb);
        wb[4] = -0.5;
        expect_1_1("a negative weight", loss, T11_C, x, t, yd, wb, FOCAL_ERROR_INVALID_WEIGHT, "weight[4]");
        memcpy(ydb, yd, sizeof ydb);
        ydb[7] = 1.5;
        int64_t tb[T11_POS];
        memcpy(tb, t, sizeof tb);
        tb[2] = mode == FOCAL_MODE_SIGMOID ? T11_C + 1 : T11_C;
        const focal_status want_t = FOCAL_ERROR_INVALID_TARGET;
        double counts[3] = {-7, -7, -7}, gt[T11_ELEMS];
        for (int i = 0; i < T11_ELEMS; ++i)
            gt[i] = -7.0;
        const double up = 1.0;
        const focal_status s1 = focal_counts_f64(loss, T11_N, T11_C, T11_INNER, tb, w, counts);
        char msg[512];
        errcheck_copy_last_error(msg, sizeof msg);
        if (s1 != want_t || !errcheck_contains(msg, "target[2]") || counts[0] != -7)
            errcheck_problem("%s: counts_f64 with target[2] out of range: %d \"%s\"", names_mode((focal_mode)mode),
                             (int)s1, msg);
        const focal_status s2 = focal_counts_dense_f64(loss, T11_N, T11_C, T11_INNER, ydb, w, counts);
        errcheck_copy_last_error(msg, sizeof msg);
        if (s2 != want_t || !errcheck_contains(msg, "target[7]") || counts[0] != -7)
            errcheck_problem("%s: counts_dense_f64 with target[7] = 1.5: %d \"%s\"", names_mode((focal_mode)mode),
                             (int)s2, msg);
        const focal_status s3 = focal_backward_target_dense_f64(loss, T11_N, T11_C, T11_INNER, x, ydb, w, &up, gt);
        errcheck_copy_last_error(msg, sizeof msg);
        int written = 0;
        for (int i = 0; i < T11_ELEMS; ++i)
            written |= gt[i] != -7.0;
        if (s3 != want_t || !errcheck_contains(msg, "target[7]") || written)
            errcheck_problem("%s: backward_target_dense_f64 with target[7] = 1.5: %d \"%s\"%s",
                             names_mode((focal_mode)mode), (int)s3, msg, written ? ", wrote" : "");
        /* The pointers each of them needs. */
        if (focal_counts_f64(loss, T11_N, T11_C, T11_INNER, t, w, NULL) != FOCAL_ERROR_NULL_POINTER ||
            focal_counts_f64(loss, T11_N, T11_C, T11_INNER, NULL, w, counts) != FOCAL_ERROR_NULL_POINTER ||
            focal_counts_dense_f64(NULL, T11_N, T11_C, T11_INNER, yd, w, counts) != FOCAL_ERROR_NULL_POINTER ||
            focal_backward_target_dense_f64(loss, T11_N, T11_C, T11_INNER, NULL, yd, w, &up, gt) !=
                FOCAL_ERROR_NULL_POINTER ||
            focal_backward_target_dense_f64(loss, T11_N, T11_C, T11_INNER, x, NULL, w, &up, gt) !=
                FOCAL_ERROR_NULL_POINTER ||
            focal_backward_target_dense_f64(loss, T11_N, T11_C, T11_INNER, x, yd, w, NULL, gt) !=
                FOCAL_ERROR_NULL_POINTER ||
            focal_backward_target_dense_f64(loss, T11_N, T11_C, T11_INNER, x, yd, w, &up, NULL) !=
                FOCAL_ERROR_NULL_POINTER)
            errcheck_problem("%s: a NULL required pointer was not NULL_POINTER", names_mode((focal_mode)mode));
        /* No input is read by the counts: NULL there is fine (no input
         * parameter exists), and they accept what compute accepts. */
        if (focal_counts_f64(loss, T11_N, T11_C, T11_INNER, t, NULL, counts) != FOCAL_OK)
            errcheck_problem("%s: counts_f64 failed on valid arguments: %s", names_mode((focal_mode)mode),
                             focal_last_error());
        focal_loss_destroy(loss);
    }
    errcheck_finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_status_strings, errcheck_reset_tally),
        cmocka_unit_test_setup(test_last_error_fresh_thread, errcheck_reset_tally),
        cmocka_unit_test_setup(test_last_error_per_thread, errcheck_reset_tally),
        cmocka_unit_test_setup(test_last_error_kept_by_success, errcheck_reset_tally),
        cmocka_unit_test_setup(test_create_errors, errcheck_reset_tally),
        cmocka_unit_test_setup(test_clone_errors, errcheck_reset_tally),
        cmocka_unit_test_setup(test_setters_null_context, errcheck_reset_tally),
        cmocka_unit_test_setup(test_setter_domains, errcheck_reset_tally),
        cmocka_unit_test_setup(test_setter_domain_edges_accepted, errcheck_reset_tally),
        cmocka_unit_test_setup(test_getters_null, errcheck_reset_tally),
        cmocka_unit_test_setup(test_getters_incompatible, errcheck_reset_tally),
        cmocka_unit_test_setup(test_prior_bias_errors, errcheck_reset_tally),
        PER_MODE(test_compute_valid_calls, "compute_valid_calls"),
        PER_MODE(test_compute_null_pointers, "compute_null_pointers"),
        PER_MODE(test_compute_fused_optional_outputs, "compute_fused_optional_outputs"),
        PER_MODE(test_compute_invalid_shape, "compute_invalid_shape"),
        PER_MODE(test_compute_shape_overflow, "compute_shape_overflow"),
        PER_MODE(test_compute_alpha_vector_length, "compute_alpha_vector_length"),
        PER_MODE(test_compute_index_target_out_of_range, "compute_index_target_out_of_range"),
        PER_MODE(test_compute_index_target_ignored, "compute_index_target_ignored"),
        PER_MODE(test_compute_dense_target_invalid, "compute_dense_target_invalid"),
        PER_MODE(test_compute_dense_target_edges, "compute_dense_target_edges"),
        PER_MODE(test_compute_weight_invalid, "compute_weight_invalid"),
        cmocka_unit_test_setup(test_compute_incompatible_softmax, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_sigmoid_takes_softmax_misfits, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_fl_star_incompatible, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_1_1_settings, errcheck_reset_tally),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
