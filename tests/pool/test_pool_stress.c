/*
 * The thread pool under load from many callers: eight threads share four
 * contexts (read-only, as API.md allows) and each makes FOCAL_STRESS_CALLS
 * fused calls (10^4 by default), cycling through sixteen cases: each
 * context with two shapes above the library's parallel threshold (they run
 * on the pool's workers when the pool is free, on the caller alone when
 * another caller owns it) and two small shapes that always stay on the
 * calling thread. The contexts ask for 0 (the default), 2, 3 and 4 threads.
 *
 * Every result must be bitwise the one the main thread computed first,
 * alone, with a clone of the context set to one thread. That reference is
 * itself checked against closed forms in long double (the reduced loss of
 * the softmax-mean and sigmoid-sum contexts), so that a wrong reference
 * cannot make the test pass.
 *
 * It is a ThreadSanitizer target: .ci/sanitizers.sh runs it (label pool)
 * with FOCAL_TEST_QUICK=1, which makes each thread do 10^3 calls (as under
 * AddressSanitizer; the full 10^4 took 5 minutes under ThreadSanitizer); the
 * environment variable FOCAL_STRESS_CALLS sets the count of calls per
 * thread in any build. Under valgrind (whose memcheck stage runs every
 * test_* program, and which runs threads one at a time at a hundredth of
 * the speed) each thread makes each call once; in an unoptimised build
 * (the coverage build) 100 calls.
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <focal/focal.h>

#include "numcheck.h"
#include "pool_cases.h"
#include "proc.h"

#define CALLERS 8

/* ------------------------------------------------------------------------
 * The callers
 * ------------------------------------------------------------------------ */

typedef struct caller {
    pthread_t thread;
    int index;
    long calls, large_calls;
    unsigned char *out[POOL_CASES], *grad[POOL_CASES];
    long failures;
    char first[256];
} caller;

static atomic_int go;

static void *caller_main(void *arg)
{
    caller *cl = arg;
    while (!atomic_load(&go)) {
    }
    for (long j = 0; j < cl->calls; j++) {
        /* Each caller walks the cases in its own order: at any moment the
         * eight callers are on different contexts and shapes. */
        const int ci = (int)((j * 5 + cl->index * 3) % POOL_CASES);
        const pool_case *k = &pool_cases[ci];
        cl->large_calls += k->large;
        const int r = pool_case_check(k, cl->out[ci], cl->grad[ci]);
        if (r != 0 && cl->failures++ == 0)
            snprintf(cl->first, sizeof cl->first,
                     "caller %d, call %ld, context %d, shape (%" PRId64 ", %" PRId64 ", %" PRId64 ") %s: %s",
                     cl->index, j, k->ctx, k->sh.n, k->sh.c, k->sh.inner, k->f64 ? "f64" : "f32",
                     r == 1 ? focal_last_error() : "result differs from the single-threaded one");
    }
    return NULL;
}

/* AddressSanitizer (whose stage of .ci/sanitizers.sh runs without
 * FOCAL_TEST_QUICK) checks memory, not races: a tenth of the calls. */
#if defined(__SANITIZE_ADDRESS__)
#  define UNDER_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define UNDER_ASAN 1
#  endif
#endif
#ifndef UNDER_ASAN
#  define UNDER_ASAN 0
#endif

static long calls_per_thread(void)
{
    const char *env = getenv("FOCAL_STRESS_CALLS");
    if (env != NULL && *env != '\0')
        return strtol(env, NULL, 10);
    if (proc_under_valgrind())
        return POOL_CASES;   /* every case once per thread */
#ifndef __OPTIMIZE__
    /* An unoptimised build (the coverage build: -O0 with atomic counters,
     * 10^4 calls per thread would take 11 to 19 minutes). */
    return 100;
#endif
    return UNDER_ASAN || proc_quick() ? 1000 : 10000;
}

/* One call of each case with its context's own thread count gives the
 * bits of the single-threaded reference (which the group's setup checked
 * against the closed forms). */
static void test_references(void **state)
{
    (void)state;
    for (int i = 0; i < POOL_CASES; i++) {
        const pool_case *k = &pool_cases[i];
        unsigned char *out = numcheck_alloc(k->out_bytes, 1), *grad = numcheck_alloc(k->grad_bytes, 1);
        const int r = pool_case_check(k, out, grad);
        free(out);
        free(grad);
        if (r != 0)
            fail_msg("case %d: %s", i, r == 1 ? focal_last_error() : "differs from the single-threaded result");
    }
}

static void test_stress(void **state)
{
    (void)state;
    caller callers[CALLERS];
    const long calls = calls_per_thread();
    assert_true(calls >= POOL_CASES);
    atomic_store(&go, 0);
    for (int t = 0; t < CALLERS; t++) {
        caller *cl = &callers[t];
        memset(cl, 0, sizeof *cl);
        cl->index = t;
        cl->calls = calls;
        for (int i = 0; i < POOL_CASES; i++) {
            cl->out[i] = numcheck_alloc(pool_cases[i].out_bytes, 1);
            cl->grad[i] = numcheck_alloc(pool_cases[i].grad_bytes, 1);
        }
        assert_int_equal(pthread_create(&cl->thread, NULL, caller_main, cl), 0);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    atomic_store(&go, 1);
    long failures = 0, large = 0;
    for (int t = 0; t < CALLERS; t++) {
        caller *cl = &callers[t];
        assert_int_equal(pthread_join(cl->thread, NULL), 0);
        if (cl->failures > 0)
            print_error("%ld failing call(s); first: %s\n", cl->failures, cl->first);
        failures += cl->failures;
        large += cl->large_calls;
        for (int i = 0; i < POOL_CASES; i++) {
            free(cl->out[i]);
            free(cl->grad[i]);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    print_message("%d threads x %ld calls on %d shared contexts (%ld above the parallel threshold): "
                  "%.1f s, %ld differing or failing\n",
                  CALLERS, calls, POOL_CONTEXTS, large, secs, failures);
    assert_int_equal(failures, 0);
    /* The large calls did use the pool (its threads are named focal-pool). */
    const int pool_threads = proc_pool_threads();
    print_message("pool threads after the run: %d\n", pool_threads);
    assert_true(pool_threads >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_stress),
    };
    return cmocka_run_group_tests_name("pool_stress", tests, pool_cases_setup, pool_cases_teardown);
}
