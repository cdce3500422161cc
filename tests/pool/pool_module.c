/*
 * A loadable module made of src/exec/pool.c and this file, for
 * test_pool_unload: it loads the module, runs a job through it and unloads
 * it, many times over, and checks that no thread is left behind.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdint.h>

#include "exec/pool.h"

#define POOL_MODULE_EXPORT __attribute__((visibility("default")))

static void add_index(void *arg, int64_t index, int worker)
{
    (void)worker;
    atomic_fetch_add((atomic_llong *)arg, (long long)index);
}

/* Runs indices [0, count) on `workers` workers; writes their sum and returns
 * the number of threads the pool has. */
POOL_MODULE_EXPORT int pool_module_run(int workers, int64_t count, long long *sum);
int pool_module_run(int workers, int64_t count, long long *sum)
{
    atomic_llong total = 0;
    focal_pool_run(workers, count, add_index, &total);
    *sum = atomic_load(&total);
    return focal_pool_threads();
}
