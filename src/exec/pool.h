/* The persistent thread pool. */
#ifndef FOCAL_EXEC_POOL_H
#define FOCAL_EXEC_POOL_H

#include <stdint.h>

/* fn(arg, index, worker) for every index in [0, count), each exactly once,
 * on up to `workers` threads of which the calling thread is one (worker
 * 0); each worker id in [0, workers) is used by at most one thread during
 * the call. If threads cannot be had, the work runs on fewer (at worst the
 * caller alone): never an error. */
typedef void (*focal_task_fn)(void *arg, int64_t index, int worker);
void focal_pool_run(int workers, int64_t count, focal_task_fn fn, void *arg);

/* The default number of threads: the CPUs this process may run on, limited
 * by a cgroup CPU quota; at least 1. */
int focal_pool_default_threads(void);

#endif /* FOCAL_EXEC_POOL_H */
