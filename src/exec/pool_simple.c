/* Placeholder pool: threads per call (replaced by pool.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "exec/pool.h"

typedef struct shared {
    atomic_llong next;
    int64_t count;
    focal_task_fn fn;
    void *arg;
} shared;
typedef struct worker {
    shared *s;
    int id;
} worker;

static void *run(void *p)
{
    const worker *w = p;
    for (;;) {
        const int64_t k = atomic_fetch_add(&w->s->next, 1);
        if (k >= w->s->count)
            break;
        w->s->fn(w->s->arg, k, w->id);
    }
    return NULL;
}

void focal_pool_run(int workers, int64_t count, focal_task_fn fn, void *arg)
{
    shared s = {.count = count, .fn = fn, .arg = arg};
    atomic_init(&s.next, 0);
    pthread_t th[256];
    worker ws[256];
    int started = 0;
    if (workers > 256)
        workers = 256;
    for (int i = 1; i < workers; i++) {
        ws[i] = (worker){&s, i};
        if (pthread_create(&th[i], NULL, run, &ws[i]) != 0)
            break;
        started = i;
    }
    ws[0] = (worker){&s, 0};
    run(&ws[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
}

int focal_pool_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return 1;
}
