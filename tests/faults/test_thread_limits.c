/*
 * A real resource limit at the thread pool's thread start, with no wrapper
 * in between (test_faults injects failures through --wrap instead): in a
 * child process whose pool has not started yet, the address-space limit
 * (RLIMIT_AS) is set to what the process maps plus FOCAL_HEADROOM_MB, too
 * little for a thread's stack (RLIMIT_STACK, 8 MiB by default) but enough
 * for a call's scratch. Threads parked on a pipe first take the stacks
 * glibc keeps for reuse (from threads that ended). Then every
 * pthread_create of the pool fails in glibc itself, and:
 *   - calls asking for 4 threads (softmax and sigmoid, float32 and
 *     float64) still succeed, bitwise equal to the single-threaded results
 *     computed before the limit, with no pool thread alive;
 *   - once the limit is lifted, the next call starts the pool's threads and
 *     gives the same bits.
 * The single-threaded results are checked against a long-double closed form.
 *
 * Under AddressSanitizer, ThreadSanitizer or valgrind (which reserve large
 * address ranges of their own) the limit cannot be applied: the program
 * reports itself skipped (77). It is also skipped when the limit does not
 * stop thread starts (a stack size limit small enough to fit).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <focal/focal.h>

#include "numcheck.h"
#include "proc.h"

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

#define N 4096
#define C 17   /* N * C values: above the size that runs on one thread */
#define HEADROOM_MB 4

/* Child exit statuses. */
enum { OK = 0, SKIP = 77, E_SETUP = 10, E_CALL = 11, E_BITS = 12, E_THREADS = 13, E_AFTER = 14, E_CLOSED = 15 };

typedef struct call {
    focal_mode mode;
    int f64;
    double out;
    void *input, *grad, *ref_grad;
    int64_t *target;
} call;

static focal_status run(call *k, int threads, void *grad, double *out)
{
    focal_loss *loss = NULL;
    focal_status s = focal_loss_create(&loss, k->mode);
    if (s == FOCAL_OK)
        s = focal_loss_set_threads(loss, threads);
    if (s == FOCAL_OK && k->mode == FOCAL_MODE_SIGMOID)
        s = focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM);
    if (s == FOCAL_OK) {
        if (k->f64) {
            s = focal_forward_backward_f64(loss, N, C, 1, k->input, k->target, NULL, out, grad);
        } else {
            float o = NAN;
            s = focal_forward_backward_f32(loss, N, C, 1, k->input, k->target, NULL, &o, grad);
            *out = o;
        }
    }
    focal_loss_destroy(loss);
    return s;
}

/* The reduced loss in long double (gamma 2, no alpha): softmax mean over
 * the rows, sigmoid sum over the elements (API.md). */
static long double closed_form(const call *k)
{
    long double sum = 0;
    for (int r = 0; r < N; r++) {
        long double x[C], m = -INFINITY, z = 0;
        for (int c = 0; c < C; c++) {
            x[c] = k->f64 ? ((const double *)k->input)[r * C + c] : ((const float *)k->input)[r * C + c];
            m = fmaxl(m, x[c]);
        }
        if (k->mode == FOCAL_MODE_SOFTMAX) {
            for (int c = 0; c < C; c++)
                z += expl(x[c] - m);
            const long double logp = x[k->target[r]] - m - logl(z), q = 1.0L - expl(logp);
            sum -= q * q * logp;
            continue;
        }
        for (int c = 0; c < C; c++) {
            const long double lp = fminl(x[c], 0) - log1pl(expl(-fabsl(x[c])));   /* log sigmoid */
            const long double p = expl(lp);
            const int y = c == k->target[r];
            const long double q = y ? 1.0L - p : p;
            sum -= q * q * (y ? lp : lp - x[c]);
        }
    }
    return k->mode == FOCAL_MODE_SOFTMAX ? sum / N : sum;
}

#define MAX_PARKED 64

/* Holds a stack until the pipe's write end is closed. */
static void *parked_main(void *p)
{
    char byte;
    while (read((int)(intptr_t)p, &byte, 1) < 0) {
    }
    return NULL;
}

static int child(void)
{
    call calls[4];
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 4242);
    for (int i = 0; i < 4; i++) {
        call *k = &calls[i];
        k->mode = i < 2 ? FOCAL_MODE_SOFTMAX : FOCAL_MODE_SIGMOID;
        k->f64 = i % 2;
        const size_t esz = k->f64 ? sizeof(double) : sizeof(float);
        k->input = malloc(esz * N * C);
        k->grad = malloc(esz * N * C);
        k->ref_grad = malloc(esz * N * C);
        k->target = malloc(sizeof(int64_t) * N);
        if (!k->input || !k->grad || !k->ref_grad || !k->target)
            return E_SETUP;
        for (int j = 0; j < N * C; j++) {
            const double v = numcheck_rng_uniform(&rng, -4.0, 4.0);
            if (k->f64)
                ((double *)k->input)[j] = v;
            else
                ((float *)k->input)[j] = (float)v;
        }
        for (int r = 0; r < N; r++)   /* sigmoid: C is background */
            k->target[r] = numcheck_rng_below(&rng, C + (k->mode == FOCAL_MODE_SIGMOID));
        if (run(k, 1, k->ref_grad, &k->out) != FOCAL_OK)
            return E_CALL;
        const long double want = closed_form(k);
        if (!(fabsl(k->out - want) <= (k->f64 ? 1e-12L : 1e-5L) * fabsl(want))) {
            fprintf(stderr, "call %d: loss %.17g, closed form %.17Lg\n", i, k->out, want);
            return E_CLOSED;
        }
    }
    if (proc_pool_threads() != 0)
        return E_THREADS;   /* the child's pool starts empty */

    struct rlimit old;
    if (getrlimit(RLIMIT_AS, &old) != 0)
        return E_SETUP;
    const long vm = proc_status_kb("VmSize");
    if (vm <= 0)
        return E_SETUP;
    struct rlimit lim = old;
    lim.rlim_cur = ((rlim_t)vm + HEADROOM_MB * 1024) * 1024;
    if (old.rlim_cur != RLIM_INFINITY && lim.rlim_cur > old.rlim_cur)
        return SKIP;
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        return E_SETUP;
    /* glibc keeps the stacks of threads that ended (here the threads
     * OpenBLAS had in the parent) for reuse: threads parked on a pipe take
     * them until a start fails for want of address space. */
    int park[2];
    if (pipe(park) != 0)
        return E_SETUP;
    pthread_t parked[MAX_PARKED];
    int nparked = 0;
    while (nparked < MAX_PARKED &&
           pthread_create(&parked[nparked], NULL, parked_main, (void *)(intptr_t)park[0]) == 0)
        nparked++;
    if (nparked == MAX_PARKED) {
        printf("SKIP: threads still start within %d MiB of headroom\n", HEADROOM_MB);
        return SKIP;
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 4; i++) {
            call *k = &calls[i];
            double out = NAN;
            if (run(k, 4, k->grad, &out) != FOCAL_OK) {
                fprintf(stderr, "call %d under the limit: %s\n", i, focal_last_error());
                return E_CALL;
            }
            const size_t bytes = (k->f64 ? sizeof(double) : sizeof(float)) * N * C;
            if (memcmp(&out, &k->out, sizeof out) != 0 || memcmp(k->grad, k->ref_grad, bytes) != 0)
                return E_BITS;
        }
    if (proc_pool_threads() != 0)
        return E_THREADS;
    close(park[1]);
    for (int i = 0; i < nparked; i++)
        pthread_join(parked[i], NULL);
    close(park[0]);
    if (setrlimit(RLIMIT_AS, &old) != 0)
        return E_SETUP;
    for (int i = 0; i < 4; i++) {
        call *k = &calls[i];
        double out = NAN;
        const size_t bytes = (k->f64 ? sizeof(double) : sizeof(float)) * N * C;
        if (run(k, 4, k->grad, &out) != FOCAL_OK || memcmp(&out, &k->out, sizeof out) != 0 ||
            memcmp(k->grad, k->ref_grad, bytes) != 0)
            return E_AFTER;
    }
    const int threads = proc_pool_threads();
    printf("under the limit (%d cached stacks taken first): 12 calls on the calling thread alone, same "
           "bits; after it: %d pool threads\n",
           nparked, threads);
    if (threads < 1)
        return E_AFTER;
    for (int i = 0; i < 4; i++) {
        free(calls[i].input);
        free(calls[i].grad);
        free(calls[i].ref_grad);
        free(calls[i].target);
    }
    return OK;
}

int main(void)
{
    if (UNDER_SANITIZER || proc_under_valgrind()) {
        puts("SKIP: an address-space limit cannot be applied under a sanitizer or valgrind");
        return 77;
    }
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0)
        exit(child());
    const int st = proc_child_status(pid);
    static const char *const what[] = {"setup failed", "a call failed", "results differ from the one-thread ones",
                                       "pool threads where none could start", "wrong after the limit was lifted",
                                       "the one-thread result is off its closed form"};
    if (st == OK || st == SKIP)
        return st;
    fprintf(stderr, "FAIL: child status %d%s%s\n", st, st >= E_SETUP && st <= E_CLOSED ? ": " : "",
            st >= E_SETUP && st <= E_CLOSED ? what[st - E_SETUP] : "");
    return 1;
}
