/*
 * Fault injection. This program is linked with the library's object files
 * (not libfocal.so) and with
 *     -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=pthread_create
 * so that every allocation and thread creation the library makes passes
 * through the wrappers below (tests/faults/tests.cmake).
 *
 * For each operation (create, clone, set_alpha_vector and the compute
 * calls over modes, types, target kinds, ops, layouts and thread counts):
 *   1. a clean run counts the allocations A and thread creations T the
 *      call makes, and keeps its outputs as the reference;
 *   2. for k = 1..A the k-th allocation fails (alone, then together with
 *      every later one): the call must return FOCAL_ERROR_OUT_OF_MEMORY
 *      with a message about memory, write no output (sentinel bytes stay),
 *      leave the context as it was, and free everything it allocated;
 *   3. for k = 1..T the k-th thread creation fails (alone, then every
 *      later one too): the library runs the work on the threads it has, so
 *      the call must succeed with outputs bitwise equal to the reference
 *      (which is checked to be the single-threaded result too), and free
 *      everything.
 * The thread pool keeps its threads from one call to the next; before each
 * run the test shuts it down (focal_pool_shutdown, a hidden function of the
 * objects it links), so that every run starts its threads again and their
 * creation can fail. Softmax calls allocate their tile scratch; sigmoid
 * calls need none, and the test checks that they allocate nothing.
 * Every allocation the wrappers let through while a call runs is tracked
 * until it is freed; one still live when the check expects none is a leak.
 *
 * The summary line counts the distinct call sites (return addresses) whose
 * failure was injected.
 *
 * FOCAL_TEST_QUICK=1 (set by .ci/sanitizers.sh for ThreadSanitizer and
 * valgrind) halves the compute configurations and fails the k-th event
 * alone only; every call site still fails.
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "errcheck.h"
#include "numcheck.h"
#include "proc.h"

void focal_pool_shutdown(void);

/* ------------------------------------------------------------------------
 * The wrappers
 * ------------------------------------------------------------------------ */

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);

#define MAX_LIVE 4096
#define MAX_SITES 64

typedef struct site_set {
    const void *at[MAX_SITES];
    int count;
} site_set;

static void site_add(site_set *s, const void *at)
{
    for (int i = 0; i < s->count; i++)
        if (s->at[i] == at)
            return;
    if (s->count < MAX_SITES)
        s->at[s->count++] = at;
}

static pthread_mutex_t fi_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    int armed;
    /* Events seen since arming. */
    long allocs, threads;
    /* 0: never fail; k: fail the k-th (and with persist, every later one). */
    long fail_alloc_at, fail_thread_at;
    int alloc_persist, thread_persist;
    long injected_allocs, injected_threads;
    /* Allocations made while armed and not yet freed. */
    void *live[MAX_LIVE];
    int nlive;
    int live_overflow;
} fi;

/* Over the whole run. */
static site_set alloc_sites_failed, thread_sites_failed, alloc_sites_seen;
static long total_injected_allocs, total_injected_threads, total_configs;
static int quick;

static int alloc_should_fail(const void *site)
{
    fi.allocs++;
    const int fail = fi.fail_alloc_at > 0 &&
                     (fi.allocs == fi.fail_alloc_at || (fi.alloc_persist && fi.allocs > fi.fail_alloc_at));
    if (fail) {
        fi.injected_allocs++;
        total_injected_allocs++;
        site_add(&alloc_sites_failed, site);
    } else {
        site_add(&alloc_sites_seen, site);
    }
    return fail;
}

static void live_add(void *p)
{
    if (p == NULL)
        return;
    if (fi.nlive < MAX_LIVE)
        fi.live[fi.nlive++] = p;
    else
        fi.live_overflow = 1;
}

static int live_remove(void *p)
{
    for (int i = 0; i < fi.nlive; i++)
        if (fi.live[i] == p) {
            fi.live[i] = fi.live[--fi.nlive];
            return 1;
        }
    return 0;
}

void *__wrap_malloc(size_t size)
{
    const void *site = __builtin_return_address(0);
    pthread_mutex_lock(&fi_lock);
    void *p = NULL;
    if (!fi.armed) {
        p = __real_malloc(size);
    } else if (alloc_should_fail(site)) {
        errno = ENOMEM;
    } else {
        p = __real_malloc(size);
        live_add(p);
    }
    pthread_mutex_unlock(&fi_lock);
    return p;
}

void *__wrap_calloc(size_t count, size_t size)
{
    const void *site = __builtin_return_address(0);
    pthread_mutex_lock(&fi_lock);
    void *p = NULL;
    if (!fi.armed) {
        p = __real_calloc(count, size);
    } else if (alloc_should_fail(site)) {
        errno = ENOMEM;
    } else {
        p = __real_calloc(count, size);
        live_add(p);
    }
    pthread_mutex_unlock(&fi_lock);
    return p;
}

void *__wrap_realloc(void *old, size_t size)
{
    const void *site = __builtin_return_address(0);
    pthread_mutex_lock(&fi_lock);
    void *p = NULL;
    if (!fi.armed) {
        p = __real_realloc(old, size);
        if (p != NULL && old != NULL && live_remove(old))
            live_add(p);
    } else if (alloc_should_fail(site)) {
        errno = ENOMEM;
    } else {
        const int tracked = old == NULL || live_remove(old);
        p = __real_realloc(old, size);
        if (p != NULL && tracked)
            live_add(p);
        else if (p == NULL && old != NULL && tracked)
            live_add(old);
    }
    pthread_mutex_unlock(&fi_lock);
    return p;
}

void __wrap_free(void *p)
{
    pthread_mutex_lock(&fi_lock);
    (void)live_remove(p);
    __real_free(p);
    pthread_mutex_unlock(&fi_lock);
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
    const void *site = __builtin_return_address(0);
    pthread_mutex_lock(&fi_lock);
    int fail = 0;
    if (fi.armed) {
        fi.threads++;
        fail = fi.fail_thread_at > 0 &&
               (fi.threads == fi.fail_thread_at || (fi.thread_persist && fi.threads > fi.fail_thread_at));
        if (fail) {
            fi.injected_threads++;
            total_injected_threads++;
            site_add(&thread_sites_failed, site);
        }
    }
    pthread_mutex_unlock(&fi_lock);
    if (fail)
        return EAGAIN;
    return __real_pthread_create(thread, attr, fn, arg);
}

typedef struct plan {
    long fail_alloc_at, fail_thread_at;
    int alloc_persist, thread_persist;
} plan;

static const plan no_faults = {0, 0, 0, 0};

/* Starts counting (and failing, per the plan) from a clean slate. */
static void arm(plan p)
{
    pthread_mutex_lock(&fi_lock);
    fi.armed = 1;
    fi.allocs = fi.threads = 0;
    fi.injected_allocs = fi.injected_threads = 0;
    fi.fail_alloc_at = p.fail_alloc_at;
    fi.fail_thread_at = p.fail_thread_at;
    fi.alloc_persist = p.alloc_persist;
    fi.thread_persist = p.thread_persist;
    fi.nlive = 0;
    fi.live_overflow = 0;
    pthread_mutex_unlock(&fi_lock);
}

typedef struct tally {
    long allocs, threads, injected_allocs, injected_threads;
    int live;
} tally;

/* Stops failing; the live set stays tracked until the next arm. */
static tally disarm(void)
{
    pthread_mutex_lock(&fi_lock);
    fi.armed = 0;
    const tally t = {fi.allocs, fi.threads, fi.injected_allocs, fi.injected_threads,
                     fi.live_overflow ? MAX_LIVE + 1 : fi.nlive};
    pthread_mutex_unlock(&fi_lock);
    return t;
}

static int live_now(void)
{
    pthread_mutex_lock(&fi_lock);
    const int n = fi.nlive;
    pthread_mutex_unlock(&fi_lock);
    return n;
}

/* ------------------------------------------------------------------------
 * Checks after a failed call
 * ------------------------------------------------------------------------ */

static void check_oom_message(const char *what)
{
    char msg[512];
    errcheck_copy_last_error(msg, sizeof msg);
    if (!errcheck_contains(msg, "memory"))
        errcheck_problem("%s: the message \"%s\" does not mention memory", what, msg);
}

static void check_same_context(const char *what, const focal_loss *loss, const errcheck_snapshot *before)
{
    errcheck_snapshot now;
    errcheck_snapshot_take(loss, &now);
    char diff[512];
    if (!errcheck_snapshot_equal(before, &now, diff, sizeof diff))
        errcheck_problem("%s: the context changed: %s", what, diff);
}

/* ------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------ */

static void test_create(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        focal_loss *loss = NULL;
        arm(no_faults);
        focal_status s = focal_loss_create(&loss, (focal_mode)mode);
        tally t = disarm();
        assert_int_equal(s, FOCAL_OK);
        if (t.allocs < 1)
            errcheck_problem("create made no allocation: nothing to inject");
        arm(no_faults);
        focal_loss_destroy(loss);
        if (disarm().live != 0 || live_now() != 0)
            errcheck_problem("create + destroy left %d allocation(s)", live_now());

        for (long k = 1; k <= t.allocs; k++)
            for (int persist = 0; persist < (quick ? 1 : 2); persist++) {
                char what[96];
                snprintf(what, sizeof what, "create(mode %d), allocation %ld%s failing", mode, k,
                         persist ? " and later" : "");
                focal_loss *const sentinel = (focal_loss *)(uintptr_t)0x5A5A5A50u;
                loss = sentinel;
                arm((plan){k, 0, persist, 0});
                s = focal_loss_create(&loss, (focal_mode)mode);
                const tally f = disarm();
                if (s != FOCAL_ERROR_OUT_OF_MEMORY) {
                    errcheck_problem("%s: status %d, expected OUT_OF_MEMORY", what, (int)s);
                    if (s == FOCAL_OK)
                        focal_loss_destroy(loss);
                    continue;
                }
                check_oom_message(what);
                if (loss != sentinel)
                    errcheck_problem("%s: *out was written", what);
                if (f.injected_allocs < 1)
                    errcheck_problem("%s: no failure was injected", what);
                if (f.live != 0)
                    errcheck_problem("%s: %d allocation(s) leaked", what, f.live);
            }
        total_configs++;
    }
    errcheck_finish();
}

/* A context with every setting away from its default. */
static focal_loss *rich_context(focal_mode mode, int alpha_vector)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 1.5), FOCAL_OK);
    if (alpha_vector) {
        const double a[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
        assert_int_equal(focal_loss_set_alpha_vector(loss, a, 5), FOCAL_OK);
    } else {
        assert_int_equal(focal_loss_set_alpha(loss, 0.3), FOCAL_OK);
    }
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM), FOCAL_OK);
    assert_int_equal(focal_loss_set_ignore_index(loss, 4), FOCAL_OK);
    assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
    assert_int_equal(focal_loss_set_threads(loss, 3), FOCAL_OK);
    return loss;
}

static void test_clone(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++)
        for (int vec = 0; vec < 2; vec++) {
            focal_loss *src = rich_context((focal_mode)mode, vec);
            errcheck_snapshot before;
            errcheck_snapshot_take(src, &before);

            focal_loss *copy = NULL;
            arm(no_faults);
            focal_status s = focal_loss_clone(src, &copy);
            const tally t = disarm();
            assert_int_equal(s, FOCAL_OK);
            /* The context, and its own copy of an alpha vector. */
            if (t.allocs < (vec ? 2 : 1))
                errcheck_problem("clone (vector %d) made %ld allocation(s), expected at least %d", vec, t.allocs,
                                 vec ? 2 : 1);
            check_same_context("a clone", copy, &before);
            arm(no_faults);
            focal_loss_destroy(copy);
            if (disarm().live != 0 || live_now() != 0)
                errcheck_problem("clone + destroy left %d allocation(s)", live_now());

            for (long k = 1; k <= t.allocs; k++)
                for (int persist = 0; persist < (quick ? 1 : 2); persist++) {
                    char what[96];
                    snprintf(what, sizeof what, "clone(mode %d, vector %d), allocation %ld%s failing",
                             mode, vec, k, persist ? " and later" : "");
                    focal_loss *const sentinel = (focal_loss *)(uintptr_t)0x5A5A5A50u;
                    copy = sentinel;
                    arm((plan){k, 0, persist, 0});
                    s = focal_loss_clone(src, &copy);
                    const tally f = disarm();
                    if (s != FOCAL_ERROR_OUT_OF_MEMORY) {
                        errcheck_problem("%s: status %d, expected OUT_OF_MEMORY", what, (int)s);
                        if (s == FOCAL_OK)
                            focal_loss_destroy(copy);
                        continue;
                    }
                    check_oom_message(what);
                    if (copy != sentinel)
                        errcheck_problem("%s: *out was written", what);
                    if (f.live != 0)
                        errcheck_problem("%s: %d allocation(s) leaked", what, f.live);
                    check_same_context(what, src, &before);
                }
            focal_loss_destroy(src);
            total_configs++;
        }
    errcheck_finish();
}

static void test_set_alpha_vector(void **state)
{
    (void)state;
    const double a[3] = {0.25, 0.5, 0.75};
    /* Before: no alpha, a scalar alpha, a vector of another length. */
    for (int mode = 0; mode < 2; mode++)
        for (int prior = 0; prior < 3; prior++) {
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, (focal_mode)mode), FOCAL_OK);
            if (prior == 1)
                assert_int_equal(focal_loss_set_alpha(loss, 0.4), FOCAL_OK);
            if (prior == 2) {
                const double b[5] = {1, 2, 3, 4, 5};
                assert_int_equal(focal_loss_set_alpha_vector(loss, b, 5), FOCAL_OK);
            }
            errcheck_snapshot before;
            errcheck_snapshot_take(loss, &before);

            /* The clean run on a clone: the vector it keeps is its only
             * live allocation, and destroy frees it. */
            focal_loss *probe = NULL;
            assert_int_equal(focal_loss_clone(loss, &probe), FOCAL_OK);
            arm(no_faults);
            focal_status s = focal_loss_set_alpha_vector(probe, a, 3);
            const tally t = disarm();
            assert_int_equal(s, FOCAL_OK);
            if (t.live != 1)
                errcheck_problem("set_alpha_vector (prior %d) kept %d allocations, expected 1", prior, t.live);
            arm(no_faults);
            focal_loss_destroy(probe);
            if (disarm().live != 0 || live_now() != 0)
                errcheck_problem("set_alpha_vector + destroy left %d allocation(s)", live_now());

            for (long k = 1; k <= t.allocs; k++)
                for (int persist = 0; persist < (quick ? 1 : 2); persist++) {
                    char what[112];
                    snprintf(what, sizeof what,
                             "set_alpha_vector(mode %d, prior %d), allocation %ld%s failing", mode,
                             prior, k, persist ? " and later" : "");
                    arm((plan){k, 0, persist, 0});
                    s = focal_loss_set_alpha_vector(loss, a, 3);
                    const tally f = disarm();
                    if (s != FOCAL_ERROR_OUT_OF_MEMORY) {
                        errcheck_problem("%s: status %d, expected OUT_OF_MEMORY", what, (int)s);
                        continue;
                    }
                    check_oom_message(what);
                    if (f.live != 0)
                        errcheck_problem("%s: %d allocation(s) leaked", what, f.live);
                    check_same_context(what, loss, &before);
                }
            focal_loss_destroy(loss);
            total_configs++;
        }
    errcheck_finish();
}

/* ------------------------------------------------------------------------
 * Compute calls
 * ------------------------------------------------------------------------ */

typedef enum op_kind { OP_FORWARD = 0, OP_BACKWARD = 1, OP_FUSED = 2 } op_kind;

typedef struct config {
    focal_mode mode;
    int threads;
    int f64, dense;
    op_kind op;
    int64_t n, c, inner;
} config;

typedef struct buffers {
    int64_t elems, positions, outs;
    size_t esz;
    void *input, *target, *weight, *grad_out;
    unsigned char *out, *grad;           /* the call's outputs */
    unsigned char *ref_out, *ref_grad;   /* the clean run's */
    size_t out_bytes, grad_bytes;
} buffers;

static focal_reduction config_reduction(const config *cf)
{
    /* A different reduction per op: NONE writes per-position (or
     * per-element) outputs, the others one value. */
    return cf->op == OP_FORWARD ? FOCAL_REDUCTION_NONE
         : cf->op == OP_BACKWARD ? FOCAL_REDUCTION_MEAN
                                 : FOCAL_REDUCTION_SUM;
}

static void put(void *p, int f64, int64_t i, double v)
{
    if (f64)
        ((double *)p)[i] = v;
    else
        ((float *)p)[i] = (float)v;
}

static void buffers_init(buffers *b, const config *cf, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    b->elems = cf->n * cf->c * cf->inner;
    b->positions = cf->n * cf->inner;
    b->esz = cf->f64 ? sizeof(double) : sizeof(float);
    const int reduced = config_reduction(cf) != FOCAL_REDUCTION_NONE;
    b->outs = reduced ? 1 : cf->mode == FOCAL_MODE_SIGMOID ? b->elems : b->positions;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    b->input = numcheck_alloc((size_t)b->elems, b->esz);
    for (int64_t i = 0; i < b->elems; i++)
        put(b->input, cf->f64, i, numcheck_rng_uniform(&rng, -3.0, 3.0));
    if (cf->dense) {
        b->target = numcheck_alloc((size_t)b->elems, b->esz);
        for (int64_t i = 0; i < b->elems; i++)
            put(b->target, cf->f64, i, numcheck_rng_uniform(&rng, 0.0, 1.0));
    } else {
        int64_t *t = numcheck_alloc((size_t)b->positions, sizeof(int64_t));
        const int64_t classes = cf->mode == FOCAL_MODE_SIGMOID ? cf->c + 1 : cf->c;
        for (int64_t i = 0; i < b->positions; i++)
            t[i] = numcheck_rng_below(&rng, classes);
        b->target = t;
    }
    if (cf->op != OP_FUSED) {
        b->weight = numcheck_alloc((size_t)b->positions, b->esz);
        for (int64_t i = 0; i < b->positions; i++)
            put(b->weight, cf->f64, i, numcheck_rng_uniform(&rng, 0.5, 1.5));
    }
    if (cf->op == OP_BACKWARD) {
        b->grad_out = numcheck_alloc((size_t)b->outs, b->esz);
        for (int64_t i = 0; i < b->outs; i++)
            put(b->grad_out, cf->f64, i, numcheck_rng_uniform(&rng, 0.5, 1.5));
    }
    b->out_bytes = cf->op == OP_BACKWARD ? 0 : (size_t)b->outs * b->esz;
    b->grad_bytes = cf->op == OP_FORWARD ? 0 : (size_t)b->elems * b->esz;
    b->out = numcheck_alloc(b->out_bytes + 1, 1);
    b->grad = numcheck_alloc(b->grad_bytes + 1, 1);
    b->ref_out = numcheck_alloc(b->out_bytes + 1, 1);
    b->ref_grad = numcheck_alloc(b->grad_bytes + 1, 1);
}

static void buffers_free(buffers *b)
{
    free(b->input);
    free(b->target);
    free(b->weight);
    free(b->grad_out);
    free(b->out);
    free(b->grad);
    free(b->ref_out);
    free(b->ref_grad);
}

#define SENTINEL 0x5A

static void sentinel_fill(buffers *b)
{
    memset(b->out, SENTINEL, b->out_bytes);
    memset(b->grad, SENTINEL, b->grad_bytes);
}

static focal_status run_config(const config *cf, const focal_loss *loss, buffers *b)
{
    focal_pool_shutdown();
    const int64_t n = cf->n, c = cf->c, in = cf->inner;
    void *out = b->out_bytes ? b->out : NULL, *grad = b->grad_bytes ? b->grad : NULL;
    if (cf->f64) {
        const double *x = b->input, *w = b->weight, *g = b->grad_out;
        if (cf->dense) {
            const double *y = b->target;
            switch (cf->op) {
            case OP_FORWARD: return focal_forward_dense_f64(loss, n, c, in, x, y, w, out);
            case OP_BACKWARD: return focal_backward_dense_f64(loss, n, c, in, x, y, w, g, grad);
            default: return focal_forward_backward_dense_f64(loss, n, c, in, x, y, w, out, grad);
            }
        }
        const int64_t *t = b->target;
        switch (cf->op) {
        case OP_FORWARD: return focal_forward_f64(loss, n, c, in, x, t, w, out);
        case OP_BACKWARD: return focal_backward_f64(loss, n, c, in, x, t, w, g, grad);
        default: return focal_forward_backward_f64(loss, n, c, in, x, t, w, out, grad);
        }
    }
    const float *x = b->input, *w = b->weight, *g = b->grad_out;
    if (cf->dense) {
        const float *y = b->target;
        switch (cf->op) {
        case OP_FORWARD: return focal_forward_dense_f32(loss, n, c, in, x, y, w, out);
        case OP_BACKWARD: return focal_backward_dense_f32(loss, n, c, in, x, y, w, g, grad);
        default: return focal_forward_backward_dense_f32(loss, n, c, in, x, y, w, out, grad);
        }
    }
    const int64_t *t = b->target;
    switch (cf->op) {
    case OP_FORWARD: return focal_forward_f32(loss, n, c, in, x, t, w, out);
    case OP_BACKWARD: return focal_backward_f32(loss, n, c, in, x, t, w, g, grad);
    default: return focal_forward_backward_f32(loss, n, c, in, x, t, w, out, grad);
    }
}

static const char *const op_names[3] = {"forward", "backward", "forward_backward"};

static void config_name(const config *cf, char *buf, size_t size)
{
    snprintf(buf, size, "%s %s%s_%s threads=%d (%" PRId64 ", %" PRId64 ", %" PRId64 ")",
             cf->mode == FOCAL_MODE_SIGMOID ? "sigmoid" : "softmax", op_names[cf->op],
             cf->dense ? "_dense" : "", cf->f64 ? "f64" : "f32", cf->threads, cf->n, cf->c, cf->inner);
}

static int all_sentinel(const buffers *b)
{
    return errcheck_all_bytes(b->out, b->out_bytes, SENTINEL) &&
           errcheck_all_bytes(b->grad, b->grad_bytes, SENTINEL);
}

static int same_as_reference(const buffers *b)
{
    return memcmp(b->out, b->ref_out, b->out_bytes) == 0 &&
           memcmp(b->grad, b->ref_grad, b->grad_bytes) == 0;
}

static void fault_config(const config *cf, uint64_t seed)
{
    char name[128];
    config_name(cf, name, sizeof name);
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, cf->mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_threads(loss, cf->threads), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, config_reduction(cf)), FOCAL_OK);
    if (cf->mode == FOCAL_MODE_SOFTMAX) {
        /* A per-class alpha vector (copied to the workers' scratch on the
         * float32 path). */
        double a[64];
        for (int64_t j = 0; j < cf->c && j < 64; j++)
            a[j] = 0.25 + 0.05 * (double)j;
        assert_int_equal(focal_loss_set_alpha_vector(loss, a, cf->c), FOCAL_OK);
    } else {
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
    }
    errcheck_snapshot before;
    errcheck_snapshot_take(loss, &before);

    buffers b;
    buffers_init(&b, cf, seed);

    /* The clean run. */
    sentinel_fill(&b);
    arm(no_faults);
    focal_status s = run_config(cf, loss, &b);
    const tally t = disarm();
    if (s != FOCAL_OK) {
        errcheck_problem("%s: the clean run returned %d (%s)", name, (int)s, focal_last_error());
        goto done;
    }
    if (t.live != 0)
        errcheck_problem("%s: the clean run leaked %d allocation(s)", name, t.live);
    if (cf->mode == FOCAL_MODE_SOFTMAX && t.allocs < 1)
        errcheck_problem("%s: the clean run made no allocation", name);
    if (cf->mode == FOCAL_MODE_SIGMOID && t.allocs != 0)
        errcheck_problem("%s: the clean run made %ld allocation(s); sigmoid mode needs no scratch", name, t.allocs);
    if (cf->threads > 1 && b.elems > (1 << 16) && t.threads < 1)
        errcheck_problem("%s: threads = %d but no worker was started", name, cf->threads);
    memcpy(b.ref_out, b.out, b.out_bytes);
    memcpy(b.ref_grad, b.grad, b.grad_bytes);
    if (cf->threads != 1) {
        /* The reference is the single-threaded result as well, so a call
         * whose workers could not start must give the one-thread bits. */
        focal_loss *one = NULL;
        assert_int_equal(focal_loss_clone(loss, &one), FOCAL_OK);
        assert_int_equal(focal_loss_set_threads(one, 1), FOCAL_OK);
        sentinel_fill(&b);
        s = run_config(cf, one, &b);
        focal_loss_destroy(one);
        if (s != FOCAL_OK || !same_as_reference(&b))
            errcheck_problem("%s: the clean run differs from the single-threaded one", name);
    }

    for (long k = 1; k <= t.allocs; k++)
        for (int persist = 0; persist < (quick ? 1 : 2); persist++) {
            sentinel_fill(&b);
            arm((plan){k, 0, persist, 0});
            s = run_config(cf, loss, &b);
            const tally f = disarm();
            char what[200];
            snprintf(what, sizeof what, "%s, allocation %ld%s failing", name, k, persist ? " and later" : "");
            if (s != FOCAL_ERROR_OUT_OF_MEMORY) {
                errcheck_problem("%s: status %d, expected OUT_OF_MEMORY", what, (int)s);
                continue;
            }
            check_oom_message(what);
            if (f.injected_allocs < 1)
                errcheck_problem("%s: no failure was injected", what);
            if (!all_sentinel(&b))
                errcheck_problem("%s: an output was written", what);
            if (f.live != 0)
                errcheck_problem("%s: %d allocation(s) leaked", what, f.live);
            check_same_context(what, loss, &before);
        }

    for (long k = 1; k <= t.threads; k++)
        for (int persist = 0; persist < (quick ? 1 : 2); persist++) {
            sentinel_fill(&b);
            arm((plan){0, k, 0, persist});
            s = run_config(cf, loss, &b);
            const tally f = disarm();
            char what[200];
            snprintf(what, sizeof what, "%s, thread creation %ld%s failing", name, k,
                     persist ? " and later" : "");
            if (s != FOCAL_OK) {
                errcheck_problem("%s: status %d (%s), expected the call to run on fewer threads", what, (int)s,
                                 focal_last_error());
                continue;
            }
            if (f.injected_threads < 1)
                errcheck_problem("%s: no failure was injected", what);
            if (!same_as_reference(&b))
                errcheck_problem("%s: the results differ from the clean run's", what);
            if (f.live != 0)
                errcheck_problem("%s: %d allocation(s) leaked", what, f.live);
        }
    check_same_context(name, loss, &before);
    total_configs++;

done:
    buffers_free(&b);
    focal_loss_destroy(loss);
}

/* Shapes above the library's parallel threshold (2^16 elements), in many
 * chunks: inner = 1 (rows) and inner > 1 (planes). */
static const int64_t shapes[2][3] = {{6600, 10, 1}, {2, 10, 3300}};

/* Every mode, type, target kind, op and layout with threads = 2. */
static void compute_all_ops(focal_mode mode)
{
    uint64_t seed = 100u * (uint64_t)mode;
    for (int f64 = 0; f64 < 2; f64++)
        for (int dense = 0; dense < 2; dense++)
            for (int op = 0; op < 3; op++)
                for (int sh = 0; sh < 2; sh++) {
                    if (quick && sh != (f64 + dense + op) % 2)
                        continue;
                    const config cf = {mode, 2, f64, dense, (op_kind)op,
                                       shapes[sh][0], shapes[sh][1], shapes[sh][2]};
                    fault_config(&cf, ++seed);
                }
    errcheck_finish();
}

static void test_compute_softmax(void **state) { (void)state; compute_all_ops(FOCAL_MODE_SOFTMAX); }
static void test_compute_sigmoid(void **state) { (void)state; compute_all_ops(FOCAL_MODE_SIGMOID); }

/* The fused call with threads = 1 (no worker), 4 (more allocations and
 * thread creations than the CPUs) and 0 (the library's default). */
static void test_compute_thread_counts(void **state)
{
    (void)state;
    static const int counts[3] = {1, 4, 0};
    uint64_t seed = 900;
    for (int mode = 0; mode < 2; mode++)
        for (int t = 0; t < 3; t++)
            for (int f64 = 0; f64 < 2; f64++)
                for (int dense = 0; dense < 2; dense++)
                    for (int sh = 0; sh < 2; sh++) {
                        if (quick && sh != (f64 + dense) % 2)
                            continue;
                        const config cf = {(focal_mode)mode, counts[t], f64, dense, OP_FUSED,
                                           shapes[sh][0], shapes[sh][1], shapes[sh][2]};
                        fault_config(&cf, ++seed);
                    }
    errcheck_finish();
}

/* A small call runs on the calling thread: still one scratch allocation
 * (softmax), still no leak and no write when it fails. */
static void test_compute_small(void **state)
{
    (void)state;
    uint64_t seed = 1700;
    for (int mode = 0; mode < 2; mode++)
        for (int f64 = 0; f64 < 2; f64++)
            for (int op = 0; op < 3; op++) {
                const config cf = {(focal_mode)mode, 2, f64, op == OP_BACKWARD, (op_kind)op, 3, 5, 7};
                fault_config(&cf, ++seed);
            }
    errcheck_finish();
}

static int print_summary(void **state)
{
    (void)state;
    printf("fault injection: %d allocation sites and %d thread-creation sites failed on purpose; "
           "%ld allocation failures and %ld thread-creation failures injected over %ld call "
           "configurations\n",
           alloc_sites_failed.count, thread_sites_failed.count, total_injected_allocs,
           total_injected_threads, total_configs);
    int unexercised = 0;
    for (int i = 0; i < alloc_sites_seen.count; i++) {
        int failed = 0;
        for (int j = 0; j < alloc_sites_failed.count; j++)
            failed |= alloc_sites_seen.at[i] == alloc_sites_failed.at[j];
        unexercised += !failed;
    }
    if (unexercised != 0) {
        print_error("%d allocation site(s) were seen but never failed\n", unexercised);
        return 1;
    }
    return 0;
}

int main(void)
{
    quick = proc_quick();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_create, errcheck_reset_tally),
        cmocka_unit_test_setup(test_clone, errcheck_reset_tally),
        cmocka_unit_test_setup(test_set_alpha_vector, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_softmax, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_sigmoid, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_thread_counts, errcheck_reset_tally),
        cmocka_unit_test_setup(test_compute_small, errcheck_reset_tally),
    };
    return cmocka_run_group_tests_name("fault_injection", tests, NULL, print_summary);
}
