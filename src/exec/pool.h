/* The persistent thread pool that runs a call's tasks. Nothing here is part
 * of the ABI: the library is built with -fvisibility=hidden, so these
 * functions are internal to it.
 *
 * The pool needs no initialisation: it starts its threads on the first call
 * that wants more than one worker and keeps them, adding threads when a
 * later call wants more (up to FOCAL_POOL_MAX_WORKERS workers, the caller
 * included). It allocates no heap memory. It is released by the library's
 * destructor (threads told to exit and joined). After fork() the child
 * starts with an empty pool that it creates afresh on first need.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_EXEC_POOL_H
#define FOCAL_EXEC_POOL_H

#include <stdint.h>

/* The most workers one call runs on: the calling thread and up to
 * FOCAL_POOL_MAX_WORKERS - 1 pool threads. */
#define FOCAL_POOL_MAX_WORKERS 256

/* fn(arg, index, worker) for every index in [0, count), each exactly once, on
 * up to `workers` threads of which the calling thread is one (worker 0);
 * worker ids are in [0, workers) and each id is used by at most one thread
 * during the call, so callers index per-worker scratch by it. Returns when
 * every index is done.
 * If the pool is busy with another caller's job, or threads cannot be started
 * (pthread_create fails, out of memory), the work runs on the threads
 * available (at worst the caller alone): never an error.
 *
 * workers is clamped to [1, FOCAL_POOL_MAX_WORKERS] and to count. Thread
 * cancellation is disabled for the duration of the call. fn must not fork()
 * (unless the child only calls async-signal-safe functions and exec or
 * _exit), must not leave the call by longjmp, and may itself call
 * focal_pool_run (the inner call runs on its own thread). Not
 * async-signal-safe. */
typedef void (*focal_task_fn)(void *arg, int64_t index, int worker);
void focal_pool_run(int workers, int64_t count, focal_task_fn fn, void *arg);

/* The default number of threads: the CPUs this process may run on
 * (sched_getaffinity), further limited by a cgroup CPU quota where one is set
 * (cgroup v2 cpu.max of the process's cgroup, found through /proc/self/cgroup;
 * cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us), rounded up, at least 1.
 * Computed once per process (and again in a child after fork). */
int focal_pool_default_threads(void);

/* ---- internal, for the tests ------------------------------------------ */

/* Threads the pool has started and not yet joined (the caller not counted). */
int focal_pool_threads(void);
/* What the library's destructor does: tells the pool's threads to exit and
 * joins them. The pool can be used again afterwards (it starts new threads).
 * Does nothing while a call is using the pool. */
void focal_pool_shutdown(void);

/* The CPUs the calling thread may run on (sched_getaffinity), at least 1. */
int focal_pool_affinity_count(void);
/* The CPU limit of a cgroup v2 cpu.max text ("max 100000", "150000 100000"):
 * quota / period rounded up, at least 1; 0 for no limit or text that is not
 * two such numbers. */
int focal_pool_parse_cpu_max(const char *text);
/* The same from cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us texts
 * ("-1" is no limit). */
int focal_pool_parse_cfs(const char *quota, const char *period);
/* The CPU limit of the process's cgroups, 0 for none: the smallest limit of
 * its cgroup v2 and cgroup v1 "cpu" cgroups and their ancestors up to the
 * mount point. Files are read under `root` ("" for the real system):
 * root/proc/self/cgroup, root/proc/self/mountinfo, and the cgroup files
 * under root followed by the mount points that mountinfo names. */
int focal_pool_cgroup_cpu_limit(const char *root);

#endif /* FOCAL_EXEC_POOL_H */
