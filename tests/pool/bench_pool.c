/*
 * The cost of a call: focal_pool_run with 2 workers and a trivial task,
 * against starting and joining a thread per call as the library's
 * focal_parallel_chunks does, and against the caller alone. Prints the
 * median ns per call over many batches.
 *
 * Usage: bench_pool [batches [calls-per-batch]]   (default 201 x 2000)
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exec/pool.h"

/* A sum per worker, each on its own cache line: the task touches nothing
 * that another worker writes. */
static struct {
    _Alignas(64) volatile int64_t v;
} sums[FOCAL_POOL_MAX_WORKERS];

static void trivial(void *arg, int64_t index, int worker)
{
    (void)arg;
    sums[worker].v = sums[worker].v + index;
}

/* What focal_parallel_chunks does for 2 workers. */
typedef struct per_call {
    atomic_llong next;
    int64_t count;
} per_call;

static void *per_call_worker(void *p)
{
    per_call *s = p;
    for (int64_t k; (k = atomic_fetch_add(&s->next, 1)) < s->count;)
        trivial(NULL, k, 1);
    return NULL;
}

static void thread_per_call(int64_t count)
{
    per_call s = {.count = count};
    pthread_t t;
    const int started = pthread_create(&t, NULL, per_call_worker, &s) == 0;
    for (int64_t k; (k = atomic_fetch_add(&s.next, 1)) < s.count;)
        trivial(NULL, k, 0);
    if (started)
        pthread_join(t, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { POOL, THREAD, ALONE };

static double median_ns(int what, int64_t count, int batches, int calls)
{
    double *t = malloc((size_t)batches * sizeof *t);
    if (t == NULL)
        exit(1);
    for (int b = 0; b < batches; b++) {
        const double t0 = now();
        for (int i = 0; i < calls; i++) {
            if (what == POOL)
                focal_pool_run(2, count, trivial, NULL);
            else if (what == THREAD)
                thread_per_call(count);
            else
                focal_pool_run(1, count, trivial, NULL);
        }
        t[b] = (now() - t0) / calls;
    }
    qsort(t, (size_t)batches, sizeof *t, cmp);
    const double m = t[batches / 2];
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    const int batches = argc > 1 ? atoi(argv[1]) : 201;
    const int calls = argc > 2 ? atoi(argv[2]) : 2000;
    if (batches < 1 || calls < 1)
        return 2;
    printf("median ns per call, %d batches of %d calls, 2 workers, trivial task\n", batches, calls);
    printf("%8s %14s %14s %14s\n", "indices", "pool", "thread/call", "caller alone");
    const int64_t counts[] = {2, 64, 1024};
    focal_pool_run(2, 2, trivial, NULL);   /* warm-up: the pool's thread */
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const double p = median_ns(POOL, counts[i], batches, calls);
        const double t = median_ns(THREAD, counts[i], batches, calls / 10 > 0 ? calls / 10 : 1);
        const double a = median_ns(ALONE, counts[i], batches, calls);
        printf("%8lld %14.0f %14.0f %14.0f\n", (long long)counts[i], p, t, a);
    }
    return 0;
}
