/*
 * Load and unload of the library itself: dlopen() the built libfocal
 * (FOCAL_LIBRARY, the path CMake gives: this program is not linked with
 * it), compute a call on four threads (the pool starts its threads),
 * dlclose(), 100 times. After each dlclose:
 *   - the library is gone (RTLD_NOLOAD finds nothing);
 *   - /proc/self/task lists no pool thread, and as many threads as after
 *     the first round, which is as many as before the first dlopen (one
 *     more under ThreadSanitizer, whose runtime starts a thread once): the
 *     library's destructor joined its pool's threads, and OpenBLAS, which
 *     it loads, joined its own;
 *   - the heap bytes in use (mallinfo2) and the resident set (VmRSS) are
 *     where they were after the tenth round, within the slack given below.
 * Every round's results must be bitwise equal to the first round's
 * single-threaded ones, whose loss matches a long-double closed form.
 * Under AddressSanitizer, LeakSanitizer checks the whole run at exit.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numcheck.h"
#include "proc.h"

/* Under a sanitizer the heap and resident-set figures are the runtime's
 * (ASan keeps freed blocks in quarantine): LeakSanitizer checks instead,
 * as memcheck does under valgrind. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define UNDER_SANITIZER 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define UNDER_SANITIZER 1
#  endif
#endif
#ifndef UNDER_SANITIZER
#  define UNDER_SANITIZER 0
#endif

#define WARMUP 10
#define N 4096
#define C 17   /* N * C values: above the size that runs on one thread */

/* The few entry points used, with the ABI's types (focal.h). */
typedef struct api {
    int (*create)(void **loss, int mode);
    void (*destroy)(void *loss);
    int (*set_threads)(void *loss, int threads);
    int (*forward_backward_f64)(const void *loss, int64_t n, int64_t c, int64_t inner, const double *input,
                                const int64_t *target, const double *weight, double *out, double *grad_input);
} api;

static void *load(api *a)
{
    void *h = dlopen(FOCAL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        fail_msg("dlopen(%s): %s", FOCAL_LIBRARY, dlerror());
    *(void **)&a->create = dlsym(h, "focal_loss_create");
    *(void **)&a->destroy = dlsym(h, "focal_loss_destroy");
    *(void **)&a->set_threads = dlsym(h, "focal_loss_set_threads");
    *(void **)&a->forward_backward_f64 = dlsym(h, "focal_forward_backward_f64");
    assert_non_null(a->create);
    assert_non_null(a->destroy);
    assert_non_null(a->set_threads);
    assert_non_null(a->forward_backward_f64);
    return h;
}

/* Softmax focal loss with the defaults (gamma 2, no alpha, mean). */
static void compute(const api *a, int threads, const double *x, const int64_t *t, double *out, double *grad)
{
    void *loss = NULL;
    assert_int_equal(a->create(&loss, 0 /* FOCAL_MODE_SOFTMAX */), 0);
    assert_int_equal(a->set_threads(loss, threads), 0);
    assert_int_equal(a->forward_backward_f64(loss, N, C, 1, x, t, NULL, out, grad), 0);
    a->destroy(loss);
}

static long double closed_form(const double *x, const int64_t *t)
{
    long double sum = 0;
    for (int r = 0; r < N; r++) {
        const double *row = x + (size_t)r * C;
        long double m = row[0], z = 0;
        for (int c = 1; c < C; c++)
            m = fmaxl(m, row[c]);
        for (int c = 0; c < C; c++)
            z += expl(row[c] - m);
        const long double logp = row[t[r]] - m - logl(z), q = 1.0L - expl(logp);
        sum += -q * q * logp;
    }
    return sum / N;
}

static void test_load_unload(void **state)
{
    (void)state;
    double *x = numcheck_alloc(N * C, sizeof(double)), *grad = numcheck_alloc(N * C, sizeof(double));
    double *ref_grad = numcheck_alloc(N * C, sizeof(double));
    int64_t *t = numcheck_alloc(N, sizeof(int64_t));
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 77);
    for (int i = 0; i < N * C; i++)
        x[i] = numcheck_rng_uniform(&rng, -4.0, 4.0);
    for (int r = 0; r < N; r++)
        t[r] = numcheck_rng_below(&rng, C);
    double ref_out = NAN, out = NAN;

    const int tasks0 = proc_task_count();
    assert_true(tasks0 >= 1);
    int tasks = tasks0;
    long rss0 = -1;
    size_t heap0 = 0;
    /* 100 rounds; 20 under valgrind (whose memcheck stage runs every test_*
     * program, and which takes half a second for each dlopen). */
    const int rounds = proc_under_valgrind() ? 20 : 100;
    for (int round = 0; round < rounds; round++) {
        api a;
        void *h = load(&a);
        if (round == 0) {
            compute(&a, 1, x, t, &ref_out, ref_grad);
            const long double want = closed_form(x, t);
            if (!(fabsl(ref_out - want) <= 1e-12L * fabsl(want)))
                fail_msg("loss %.17g, closed form %.17Lg", ref_out, want);
        }
        compute(&a, 4, x, t, &out, grad);
        if (memcmp(&out, &ref_out, sizeof out) != 0 || memcmp(grad, ref_grad, sizeof(double) * N * C) != 0)
            fail_msg("round %d: the four-thread results differ from the single-threaded ones", round);
        const int loaded = proc_task_count();
        assert_int_equal(dlclose(h), 0);
        /* Really unloaded, and no thread left over. */
        void *again = dlopen(FOCAL_LIBRARY, RTLD_NOW | RTLD_NOLOAD);
        if (again != NULL)
            fail_msg("round %d: the library is still loaded after dlclose", round);
        if (proc_pool_threads() != 0)
            fail_msg("round %d: %d pool threads after dlclose", round, proc_pool_threads());
        if (round == 0) {
            assert_true(loaded >= tasks0 + 3);   /* the pool's three workers at least */
            /* A sanitizer's runtime may start one thread of its own, once
             * (ThreadSanitizer's background thread): from then on the
             * count must not move. */
            tasks = proc_task_count();
            if (tasks > tasks0 + UNDER_SANITIZER)
                fail_msg("%d threads after the first dlclose, %d before the first dlopen", tasks, tasks0);
        } else if (proc_task_count() != tasks) {
            fail_msg("round %d: %d threads after dlclose, %d after the first round's (%d while loaded)", round,
                     proc_task_count(), tasks, loaded);
        }
        if (round + 1 == WARMUP) {
            rss0 = proc_status_kb("VmRSS");
            heap0 = mallinfo2().uordblks;
        }
    }
    const int figures = !UNDER_SANITIZER && !proc_under_valgrind();
    const long rss1 = proc_status_kb("VmRSS");
    const size_t heap1 = mallinfo2().uordblks;
    print_message("%d rounds: threads %d before the first, %d after each; heap in use %zu -> %zu bytes, VmRSS %ld -> %ld kB "
                  "(rounds %d to %d)\n",
                  rounds, tasks0, tasks, heap0, heap1, rss0, rss1, WARMUP, rounds);
    /* A leak of a context (a few hundred bytes) or of a call's scratch
     * (tens of kB) per round would add up to more than this over 90 rounds. */
    if (figures && heap1 > heap0 + 16 * 1024)
        fail_msg("heap in use grew by %zu bytes over %d rounds", heap1 - heap0, rounds - WARMUP);
    if (figures && rss0 > 0 && rss1 > rss0 + 2048)
        fail_msg("VmRSS grew by %ld kB over %d rounds", rss1 - rss0, rounds - WARMUP);
    free(x);
    free(grad);
    free(ref_grad);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_unload),
    };
    return cmocka_run_group_tests_name("library_unload", tests, NULL, NULL);
}
