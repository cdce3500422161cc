/*
 * One context shared by many threads: eight threads call the compute
 * functions at once on the same focal_loss (softmax and sigmoid, float32
 * and float64, index and dense targets, forward, backward and fused), each
 * with its own output buffers and the shared read-only inputs. Every result
 * must be bitwise the one the main thread computed alone beforehand.
 *
 * Each mode runs with contexts whose own thread count is 1 and 2 (separate
 * contexts); the threads = 2 cases are large enough (more than 2^16
 * elements, several chunks) for the library to start its own workers, so
 * up to sixteen threads touch one context at a time. Further checks: the
 * library's thread count never changes a bit of the result; clones made
 * while other threads compute with the original behave like it; a failing
 * call's detail message stays with the thread that made it.
 *
 * This is the ThreadSanitizer target of .ci/sanitizers.sh. Under
 * FOCAL_TEST_QUICK=1 (set there for ThreadSanitizer and valgrind, which
 * slow it down 10 to 50 times) each thread makes a third of the calls and
 * fewer thread counts are compared; every kind of call still runs on
 * eight threads at once.
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "numcheck.h"
#include "proc.h"

#define CALLERS 8
#define IGNORE_INDEX ((int64_t)-100)
#define MAX_REPORTS 8

static int quick;

/* ------------------------------------------------------------------------
 * Contexts and cases
 * ------------------------------------------------------------------------ */

typedef enum op_kind { OP_FORWARD = 0, OP_BACKWARD = 1, OP_FUSED = 2 } op_kind;

typedef struct shape {
    int64_t n, c, inner;
} shape;

/* Large: above the library's parallel threshold with several chunks, so a
 * context with threads = 2 runs two workers. c = 8 and c = 80 take the
 * float32 kernels' class-major and row layouts, inner = 1 and > 1 the two
 * reshape paths. */
static const shape large_shapes[4] = {{8192, 8, 1}, {2, 8, 4100}, {820, 80, 1}, {2, 80, 420}};
/* Small: the same layouts for the threads = 1 contexts. */
static const shape small_shapes[4] = {{512, 8, 1}, {2, 8, 260}, {52, 80, 1}, {2, 80, 26}};

typedef enum setting {
    /* softmax, gamma 2, scalar alpha, ignore_index, MEAN */
    SET_SOFTMAX_A,
    /* softmax, gamma 0.5, label smoothing, NONE */
    SET_SOFTMAX_B,
    /* sigmoid, gamma 2, alpha 0.25, SUM */
    SET_SIGMOID_A,
    /* sigmoid FL*, gamma 2, beta 1, label smoothing, NONE */
    SET_SIGMOID_B,
    SET_COUNT
} setting;

static int setting_is_sigmoid(setting s) { return s == SET_SIGMOID_A || s == SET_SIGMOID_B; }
static int setting_has_ignore(setting s) { return s == SET_SOFTMAX_A; }
static int setting_reduced(setting s) { return s == SET_SOFTMAX_A || s == SET_SIGMOID_A; }

static focal_loss *make_context(setting s, int threads)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, setting_is_sigmoid(s) ? FOCAL_MODE_SIGMOID
                                                                    : FOCAL_MODE_SOFTMAX),
                     FOCAL_OK);
    switch (s) {
    case SET_SOFTMAX_A:
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, IGNORE_INDEX), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_MEAN), FOCAL_OK);
        break;
    case SET_SOFTMAX_B:
        assert_int_equal(focal_loss_set_gamma(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        break;
    case SET_SIGMOID_A:
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM), FOCAL_OK);
        break;
    case SET_SIGMOID_B:
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, 1.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.05), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        break;
    default:
        fail();
    }
    assert_int_equal(focal_loss_set_threads(loss, threads), FOCAL_OK);
    return loss;
}

/* One call: its inputs (shared by every thread, read-only) and the
 * reference outputs of the main thread. */
typedef struct tcase {
    setting set;
    int f64, dense;
    op_kind op;
    shape sh;
    int64_t elems, positions, outs;
    size_t esz;
    void *input, *target, *weight, *grad_out;
    void *ref_out, *ref_grad;
} tcase;

static size_t out_bytes(const tcase *k) { return k->op == OP_BACKWARD ? 0 : (size_t)k->outs * k->esz; }
static size_t grad_bytes(const tcase *k) { return k->op == OP_FORWARD ? 0 : (size_t)k->elems * k->esz; }

static void fill_real(void *p, int f64, int64_t i, double v)
{
    if (f64)
        ((double *)p)[i] = v;
    else
        ((float *)p)[i] = (float)v;
}

static void case_init(tcase *k, setting set, int f64, int dense, op_kind op, shape sh, uint64_t seed)
{
    memset(k, 0, sizeof *k);
    k->set = set;
    k->f64 = f64;
    k->dense = dense;
    k->op = op;
    k->sh = sh;
    k->elems = sh.n * sh.c * sh.inner;
    k->positions = sh.n * sh.inner;
    k->outs = setting_reduced(set) ? 1 : setting_is_sigmoid(set) ? k->elems : k->positions;
    k->esz = f64 ? sizeof(double) : sizeof(float);

    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    k->input = numcheck_alloc((size_t)k->elems, k->esz);
    for (int64_t i = 0; i < k->elems; i++)
        fill_real(k->input, f64, i, numcheck_rng_uniform(&rng, -4.0, 4.0));
    if (dense) {
        k->target = numcheck_alloc((size_t)k->elems, k->esz);
        for (int64_t i = 0; i < k->elems; i++)
            fill_real(k->target, f64, i, numcheck_rng_uniform(&rng, 0.0, 1.0));
    } else {
        int64_t *t = numcheck_alloc((size_t)k->positions, sizeof(int64_t));
        const int64_t classes = setting_is_sigmoid(set) ? sh.c + 1 : sh.c;
        for (int64_t i = 0; i < k->positions; i++) {
            t[i] = numcheck_rng_below(&rng, classes);
            if (setting_has_ignore(set) && numcheck_rng_below(&rng, 16) == 0)
                t[i] = IGNORE_INDEX;
        }
        k->target = t;
    }
    /* Weights on every backward call and on the odd ones of the rest. */
    if (op == OP_BACKWARD || (seed & 1) != 0) {
        k->weight = numcheck_alloc((size_t)k->positions, k->esz);
        for (int64_t i = 0; i < k->positions; i++)
            fill_real(k->weight, f64, i, numcheck_rng_uniform(&rng, 0.5, 2.0));
    }
    if (op == OP_BACKWARD) {
        k->grad_out = numcheck_alloc((size_t)k->outs, k->esz);
        for (int64_t i = 0; i < k->outs; i++)
            fill_real(k->grad_out, f64, i, k->outs == 1 ? 0.75 : numcheck_rng_uniform(&rng, -1.0, 1.0));
    }
    if (out_bytes(k) > 0)
        k->ref_out = numcheck_alloc(out_bytes(k), 1);
    if (grad_bytes(k) > 0)
        k->ref_grad = numcheck_alloc(grad_bytes(k), 1);
}

static void case_free(tcase *k)
{
    free(k->input);
    free(k->target);
    free(k->weight);
    free(k->grad_out);
    free(k->ref_out);
    free(k->ref_grad);
}

/* The call the case describes; out and grad are sized for it. */
static focal_status case_run(const tcase *k, const focal_loss *loss, void *out, void *grad)
{
    const int64_t n = k->sh.n, c = k->sh.c, in = k->sh.inner;
    if (k->f64) {
        const double *x = k->input, *w = k->weight, *g = k->grad_out;
        if (k->dense) {
            const double *y = k->target;
            switch (k->op) {
            case OP_FORWARD: return focal_forward_dense_f64(loss, n, c, in, x, y, w, out);
            case OP_BACKWARD: return focal_backward_dense_f64(loss, n, c, in, x, y, w, g, grad);
            default: return focal_forward_backward_dense_f64(loss, n, c, in, x, y, w, out, grad);
            }
        }
        const int64_t *t = k->target;
        switch (k->op) {
        case OP_FORWARD: return focal_forward_f64(loss, n, c, in, x, t, w, out);
        case OP_BACKWARD: return focal_backward_f64(loss, n, c, in, x, t, w, g, grad);
        default: return focal_forward_backward_f64(loss, n, c, in, x, t, w, out, grad);
        }
    }
    const float *x = k->input, *w = k->weight, *g = k->grad_out;
    if (k->dense) {
        const float *y = k->target;
        switch (k->op) {
        case OP_FORWARD: return focal_forward_dense_f32(loss, n, c, in, x, y, w, out);
        case OP_BACKWARD: return focal_backward_dense_f32(loss, n, c, in, x, y, w, g, grad);
        default: return focal_forward_backward_dense_f32(loss, n, c, in, x, y, w, out, grad);
        }
    }
    const int64_t *t = k->target;
    switch (k->op) {
    case OP_FORWARD: return focal_forward_f32(loss, n, c, in, x, t, w, out);
    case OP_BACKWARD: return focal_backward_f32(loss, n, c, in, x, t, w, g, grad);
    default: return focal_forward_backward_f32(loss, n, c, in, x, t, w, out, grad);
    }
}

static const char *const op_names[3] = {"forward", "backward", "forward_backward"};
static const char *const set_names[SET_COUNT] = {"softmax-A", "softmax-B", "sigmoid-A", "sigmoid-B"};

static void case_name(const tcase *k, int threads, char *buf, size_t size)
{
    snprintf(buf, size, "%s threads=%d %s%s_%s (%" PRId64 ", %" PRId64 ", %" PRId64 ")",
             set_names[k->set], threads, op_names[k->op], k->dense ? "_dense" : "",
             k->f64 ? "f64" : "f32", k->sh.n, k->sh.c, k->sh.inner);
}

/* ------------------------------------------------------------------------
 * The callers
 * ------------------------------------------------------------------------ */

typedef struct group {
    const focal_loss *loss;   /* the shared context */
    int threads;              /* its thread count, for messages */
    const tcase *cases;
    int ncases;
    pthread_barrier_t *start;
} group;

typedef struct caller {
    const group *g;
    int index;
    unsigned char *out, *grad;   /* this thread's outputs */
    size_t out_cap, grad_cap;
    int calls, failures;
    char report[MAX_REPORTS][256];
    int reports;
} caller;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void caller_report(caller *cl, const char *fmt, ...)
{
    cl->failures++;
    if (cl->reports >= MAX_REPORTS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cl->report[cl->reports++], sizeof cl->report[0], fmt, ap);
    va_end(ap);
}

/* Index of the first differing byte, or -1. */
static long first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return -1;
}

static void check_case(caller *cl, const tcase *k, const focal_loss *loss, int threads)
{
    const size_t ob = out_bytes(k), gb = grad_bytes(k);
    memset(cl->out, 0xA5, ob);
    memset(cl->grad, 0xA5, gb);
    const focal_status s = case_run(k, loss, ob ? cl->out : NULL, gb ? cl->grad : NULL);
    cl->calls++;
    char name[160];
    if (s != FOCAL_OK) {
        case_name(k, threads, name, sizeof name);
        caller_report(cl, "thread %d, %s: status %d (%s)", cl->index, name, (int)s, focal_last_error());
        return;
    }
    const long d_out = ob ? first_difference(cl->out, k->ref_out, ob) : -1;
    const long d_grad = gb ? first_difference(cl->grad, k->ref_grad, gb) : -1;
    if (d_out >= 0 || d_grad >= 0) {
        case_name(k, threads, name, sizeof name);
        caller_report(cl, "thread %d, %s: differs from the single-threaded result (out at %ld, "
                          "grad_input at %ld, element %ld)",
                      cl->index, name, d_out / (long)k->esz, d_grad / (long)k->esz,
                      (d_out >= 0 ? d_out : d_grad) / (long)k->esz);
    }
}

static void *caller_main(void *arg)
{
    caller *cl = arg;
    const group *g = cl->g;
    pthread_barrier_wait(g->start);
    /* Each caller starts at a different case, so different calls overlap
     * as well as identical ones. */
    for (int i = 0; i < g->ncases; i++) {
        const int at = (i + cl->index * g->ncases / CALLERS) % g->ncases;
        /* Quick: caller j takes the cases with at = j (mod 3), so every
         * case still runs on several threads at once. */
        if (quick && at % 3 != cl->index % 3)
            continue;
        check_case(cl, &g->cases[at], g->loss, g->threads);
    }
    return NULL;
}

static void caller_init(caller *cl, const group *g, int index, const tcase *cases, int ncases)
{
    memset(cl, 0, sizeof *cl);
    cl->g = g;
    cl->index = index;
    for (int i = 0; i < ncases; i++) {
        if (out_bytes(&cases[i]) > cl->out_cap)
            cl->out_cap = out_bytes(&cases[i]);
        if (grad_bytes(&cases[i]) > cl->grad_cap)
            cl->grad_cap = grad_bytes(&cases[i]);
    }
    cl->out = numcheck_alloc(cl->out_cap + 1, 1);
    cl->grad = numcheck_alloc(cl->grad_cap + 1, 1);
}

/* Runs the group's cases on CALLERS threads at once; returns the number of
 * mismatches and failed calls, printed. */
static int run_callers(const focal_loss *loss, int threads, const tcase *cases, int ncases)
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, CALLERS), 0);
    group g = {loss, threads, cases, ncases, &start};
    caller *cl = numcheck_alloc(CALLERS, sizeof *cl);
    pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        caller_init(&cl[i], &g, i, cases, ncases);
        assert_int_equal(pthread_create(&th[i], NULL, caller_main, &cl[i]), 0);
    }
    int bad = 0, calls = 0, expected_calls = 0;
    for (int i = 0; i < CALLERS; i++) {
        for (int at = 0; at < ncases; at++)
            expected_calls += !quick || at % 3 == i % 3;
        assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int r = 0; r < cl[i].reports; r++)
            print_error("  %s\n", cl[i].report[r]);
        bad += cl[i].failures;
        calls += cl[i].calls;
        free(cl[i].out);
        free(cl[i].grad);
    }
    free(cl);
    pthread_barrier_destroy(&start);
    assert_int_equal(calls, expected_calls);
    return bad;
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

/* The twelve calls of a setting (2 types x 2 target kinds x 3 ops), the
 * shapes rotating so that every type and target kind meets several
 * layouts. */
#define CASES_PER_SETTING 12

static void make_cases(tcase *cases, setting set, const shape *shapes, uint64_t seed)
{
    int i = 0;
    for (int f64 = 0; f64 < 2; f64++)
        for (int dense = 0; dense < 2; dense++)
            for (int op = 0; op < 3; op++, i++)
                case_init(&cases[i], set, f64, dense, (op_kind)op, shapes[(f64 + 2 * dense + op) % 4],
                          seed + (uint64_t)i);
}

/* Fills every case's reference on this thread alone. */
static void compute_references(const focal_loss *loss, tcase *cases, int ncases)
{
    for (int i = 0; i < ncases; i++) {
        const focal_status s = case_run(&cases[i], loss, cases[i].ref_out, cases[i].ref_grad);
        if (s != FOCAL_OK) {
            char name[160];
            case_name(&cases[i], -1, name, sizeof name);
            print_error("reference %s: status %d (%s)\n", name, (int)s, focal_last_error());
        }
        assert_int_equal(s, FOCAL_OK);
    }
}

static void shared_context(setting set)
{
    int bad = 0;
    for (int threads = 1; threads <= 2; threads++) {
        focal_loss *loss = make_context(set, threads);
        tcase cases[CASES_PER_SETTING];
        make_cases(cases, set, threads == 1 ? small_shapes : large_shapes,
                   1000u * (unsigned)set + 100u * (unsigned)threads);
        compute_references(loss, cases, CASES_PER_SETTING);
        bad += run_callers(loss, threads, cases, CASES_PER_SETTING);
        for (int i = 0; i < CASES_PER_SETTING; i++)
            case_free(&cases[i]);
        focal_loss_destroy(loss);
    }
    assert_int_equal(bad, 0);
}

static void test_shared_softmax_a(void **state) { (void)state; shared_context(SET_SOFTMAX_A); }
static void test_shared_softmax_b(void **state) { (void)state; shared_context(SET_SOFTMAX_B); }
static void test_shared_sigmoid_a(void **state) { (void)state; shared_context(SET_SIGMOID_A); }
static void test_shared_sigmoid_b(void **state) { (void)state; shared_context(SET_SIGMOID_B); }

/* The library's own thread count never changes a bit: the large cases
 * with threads = 1, 2, 3 and 0 (the default) against threads = 2. */
static void test_thread_count_bitwise(void **state)
{
    (void)state;
    int bad = 0;
    for (int set = 0; set < SET_COUNT; set++) {
        if (quick && set % 2 == 1)
            continue;
        focal_loss *loss = make_context((setting)set, 2);
        tcase cases[CASES_PER_SETTING];
        make_cases(cases, (setting)set, large_shapes, 5000u + 100u * (unsigned)set);
        compute_references(loss, cases, CASES_PER_SETTING);
        static const int counts[3] = {1, 3, 0};
        for (int t = 0; t < (quick ? 1 : 3); t++) {
            assert_int_equal(focal_loss_set_threads(loss, counts[t]), FOCAL_OK);
            for (int i = 0; i < CASES_PER_SETTING; i++) {
                const tcase *k = &cases[i];
                unsigned char *out = numcheck_alloc(out_bytes(k) + 1, 1);
                unsigned char *grad = numcheck_alloc(grad_bytes(k) + 1, 1);
                const focal_status s = case_run(k, loss, out_bytes(k) ? out : NULL,
                                                grad_bytes(k) ? grad : NULL);
                char name[160];
                case_name(k, counts[t], name, sizeof name);
                if (s != FOCAL_OK) {
                    print_error("%s: status %d (%s)\n", name, (int)s, focal_last_error());
                    bad++;
                } else if ((out_bytes(k) && memcmp(out, k->ref_out, out_bytes(k)) != 0) ||
                           (grad_bytes(k) && memcmp(grad, k->ref_grad, grad_bytes(k)) != 0)) {
                    print_error("%s: differs bitwise from threads=2\n", name);
                    bad++;
                }
                free(out);
                free(grad);
            }
        }
        for (int i = 0; i < CASES_PER_SETTING; i++)
            case_free(&cases[i]);
        focal_loss_destroy(loss);
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Clones and detail messages while other threads compute
 * ------------------------------------------------------------------------ */

typedef struct clone_job {
    const focal_loss *shared;
    const tcase *cases;
    int ncases;
    pthread_barrier_t *start;
    int index;
    int failures;
    char report[MAX_REPORTS][256];
    int reports;
} clone_job;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void job_report(clone_job *j, const char *fmt, ...)
{
    j->failures++;
    if (j->reports >= MAX_REPORTS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->report[j->reports++], sizeof j->report[0], fmt, ap);
    va_end(ap);
}

/* Position at which this thread plants its bad target, and the message
 * the library must report for it. */
static void own_failure(clone_job *j, const focal_loss *loss, char *expected, size_t size)
{
    enum { N = 3 * CALLERS };
    float x[N * 3];
    int64_t t[N];
    for (int i = 0; i < N * 3; i++)
        x[i] = (float)(i % 7) * 0.25f;
    for (int i = 0; i < N; i++)
        t[i] = i % 3;
    const int at = 2 * j->index + 1;
    t[at] = 40 + j->index;
    float out = -7.0f;
    const focal_status s = focal_forward_f32(loss, N, 3, 1, x, t, NULL, &out);
    if (s != FOCAL_ERROR_INVALID_TARGET)
        job_report(j, "thread %d: bad target gave status %d, expected INVALID_TARGET", j->index, (int)s);
    if (out != -7.0f)
        job_report(j, "thread %d: a failing call wrote out", j->index);
    snprintf(expected, size, "target[%d] = %d", at, 40 + j->index);
    if (strstr(focal_last_error(), expected) == NULL)
        job_report(j, "thread %d: message \"%s\" does not name \"%s\"", j->index, focal_last_error(),
                   expected);
}

static void *clone_main(void *arg)
{
    clone_job *j = arg;
    pthread_barrier_wait(j->start);
    char expected[64];
    for (int i = 0; i < (quick ? 4 : j->ncases); i++) {
        const tcase *k = &j->cases[(i + j->index) % j->ncases];
        /* Cloning reads the shared context while others compute with it. */
        focal_loss *mine = NULL;
        focal_status s = focal_loss_clone(j->shared, &mine);
        if (s != FOCAL_OK) {
            job_report(j, "thread %d: clone failed with %d", j->index, (int)s);
            return NULL;
        }
        /* A thread count of the clone's own must not change a bit. */
        s = focal_loss_set_threads(mine, (j->index + i) % 4);
        if (s != FOCAL_OK)
            job_report(j, "thread %d: set_threads on a clone failed with %d", j->index, (int)s);
        own_failure(j, mine, expected, sizeof expected);

        unsigned char *out = malloc(out_bytes(k) + 1), *grad = malloc(grad_bytes(k) + 1);
        if (out == NULL || grad == NULL) {
            job_report(j, "thread %d: out of memory in the test", j->index);
            free(out);
            free(grad);
            focal_loss_destroy(mine);
            return NULL;
        }
        s = case_run(k, (i & 1) ? mine : j->shared, out_bytes(k) ? out : NULL,
                     grad_bytes(k) ? grad : NULL);
        char name[160];
        case_name(k, (i & 1) ? (j->index + i) % 4 : 2, name, sizeof name);
        if (s != FOCAL_OK)
            job_report(j, "thread %d, %s: status %d", j->index, name, (int)s);
        else if ((out_bytes(k) && memcmp(out, k->ref_out, out_bytes(k)) != 0) ||
                 (grad_bytes(k) && memcmp(grad, k->ref_grad, grad_bytes(k)) != 0))
            job_report(j, "thread %d, %s: differs from the single-threaded result", j->index, name);
        free(out);
        free(grad);
        focal_loss_destroy(mine);
        /* Successful calls leave the thread's message alone, and no other
         * thread's failure reaches it. */
        if (strstr(focal_last_error(), expected) == NULL)
            job_report(j, "thread %d: message became \"%s\", expected one naming \"%s\"", j->index,
                       focal_last_error(), expected);
    }
    return NULL;
}

static void test_clones_and_messages(void **state)
{
    (void)state;
    focal_loss *shared = make_context(SET_SOFTMAX_A, 2);
    tcase cases[CASES_PER_SETTING];
    make_cases(cases, SET_SOFTMAX_A, large_shapes, 9000u);
    compute_references(shared, cases, CASES_PER_SETTING);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, CALLERS), 0);
    clone_job *jobs = numcheck_alloc(CALLERS, sizeof *jobs);
    pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        jobs[i] = (clone_job){.shared = shared, .cases = cases, .ncases = CASES_PER_SETTING,
                              .start = &start, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, clone_main, &jobs[i]), 0);
    }
    int bad = 0;
    for (int i = 0; i < CALLERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int r = 0; r < jobs[i].reports; r++)
            print_error("  %s\n", jobs[i].report[r]);
        bad += jobs[i].failures;
    }
    free(jobs);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < CASES_PER_SETTING; i++)
        case_free(&cases[i]);
    focal_loss_destroy(shared);
    assert_int_equal(bad, 0);
}

int main(void)
{
    quick = proc_quick();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_softmax_a),
        cmocka_unit_test(test_shared_softmax_b),
        cmocka_unit_test(test_shared_sigmoid_a),
        cmocka_unit_test(test_shared_sigmoid_b),
        cmocka_unit_test(test_thread_count_bitwise),
        cmocka_unit_test(test_clones_and_messages),
    };
    return cmocka_run_group_tests_name("threads_shared", tests, NULL, NULL);
}
