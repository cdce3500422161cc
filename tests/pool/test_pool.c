/*
 * The thread pool (src/exec/pool.c: the library's object files are linked
 * into this program). The program is linked with -Wl,--wrap=pthread_create
 * so that the test counts the threads the pool starts and can make the k-th
 * start fail (tests/pool/tests.cmake). The test's own threads are started
 * through spawn(), which the wrapper lets through uncounted.
 *
 * FOCAL_TEST_QUICK=1 (ThreadSanitizer, valgrind) makes the loops shorter.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/pool.h"
#include "proc.h"

/* Built for helgrind or drd (as pool.c is, see there): the test's own
 * atomic variables are left out of their checks. */
#if defined(FOCAL_POOL_HELGRIND)
#  include <valgrind/helgrind.h>
#elif defined(FOCAL_POOL_DRD)
#  include <valgrind/drd.h>
#endif
#if defined(FOCAL_POOL_HELGRIND) || defined(FOCAL_POOL_DRD)
#  define TEST_ATOMICS(p, size) ANNOTATE_BENIGN_RACE_SIZED((p), (size), "C11 atomics")
#else
#  define TEST_ATOMICS(p, size) ((void)0)
#endif

/* ------------------------------------------------------------------------
 * The pthread_create wrapper
 * ------------------------------------------------------------------------ */

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);

static atomic_long creates;        /* the pool's thread starts, failed ones included */
static atomic_long fail_at;        /* 0: none; k: the k-th start fails */
static atomic_int fail_persist;    /* and every later one */
static _Thread_local int own_thread;

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
    if (own_thread)
        return __real_pthread_create(thread, attr, fn, arg);
    const long n = atomic_fetch_add(&creates, 1) + 1;
    const long k = atomic_load(&fail_at);
    if (k > 0 && (n == k || (atomic_load(&fail_persist) && n > k)))
        return EAGAIN;
    return __real_pthread_create(thread, attr, fn, arg);
}

static void faults_reset(void)
{
    atomic_store(&fail_at, 0);
    atomic_store(&fail_persist, 0);
    atomic_store(&creates, 0);
}

static pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    own_thread = 1;
    const int rc = pthread_create(&t, NULL, fn, arg);
    own_thread = 0;
    assert_int_equal(rc, 0);
    return t;
}

static int quick;

/* Under ThreadSanitizer: the fork tests start threads in children of a
 * process with threads, which TSan refuses by default. Options given in
 * TSAN_OPTIONS come after these. */
const char *__tsan_default_options(void);
__attribute__((used, visibility("default"))) const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}

/* fork() with the stdio buffers flushed first, so that a child that calls
 * exit() does not print the parent's pending output again. */
static pid_t fork_flushed(void)
{
    fflush(NULL);
    return fork();
}

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------------
 * A checked job: every index once, worker ids in range and each used by one
 * thread only, pool threads with every signal blocked.
 * ------------------------------------------------------------------------ */

typedef struct job {
    int64_t count;
    int workers;
    long spin;                       /* busy work per index */
    long sleep;                      /* ns of sleep per index */
    atomic_int *hits;
    atomic_uintptr_t owner[FOCAL_POOL_MAX_WORKERS];
    atomic_int bad_worker, shared_id, signals_open, max_worker;
    atomic_int started;
} job;

static void job_init(job *j, int workers, int64_t count)
{
    memset(j, 0, sizeof *j);
    j->count = count;
    j->workers = workers;
    j->hits = calloc(count > 0 ? (size_t)count : 1, sizeof *j->hits);
    assert_non_null(j->hits);
    TEST_ATOMICS(j, sizeof *j);
    TEST_ATOMICS(j->hits, (count > 0 ? (size_t)count : 1) * sizeof *j->hits);
}

static void job_task(void *arg, int64_t index, int worker)
{
    job *j = arg;
    atomic_store(&j->started, 1);
    const int limit = j->workers < 1 ? 1 : j->workers;
    if (worker < 0 || worker >= limit || worker >= FOCAL_POOL_MAX_WORKERS) {
        atomic_fetch_add(&j->bad_worker, 1);
        return;
    }
    const uintptr_t self = (uintptr_t)pthread_self();
    uintptr_t prev = 0;
    if (!atomic_compare_exchange_strong(&j->owner[worker], &prev, self) && prev != self)
        atomic_fetch_add(&j->shared_id, 1);
    for (int m = atomic_load(&j->max_worker); worker > m &&
         !atomic_compare_exchange_weak(&j->max_worker, &m, worker);) {
    }
    if (worker > 0) {
        sigset_t cur;
        pthread_sigmask(SIG_BLOCK, NULL, &cur);
        if (!sigismember(&cur, SIGINT) || !sigismember(&cur, SIGTERM) || !sigismember(&cur, SIGUSR1) ||
            !sigismember(&cur, SIGCHLD) || !sigismember(&cur, SIGALRM))
            atomic_fetch_add(&j->signals_open, 1);
    }
    volatile long busy_work = 0;
    for (long i = 0; i < j->spin; i++)
        busy_work = busy_work + i;
    (void)busy_work;
    if (j->sleep > 0)
        sleep_ns(j->sleep);
    atomic_fetch_add(&j->hits[index], 1);
}

/* 0 when the job ran correctly; the number of problems otherwise. */
static int job_problems(job *j)
{
    int bad = atomic_load(&j->bad_worker) + atomic_load(&j->shared_id) + atomic_load(&j->signals_open);
    for (int64_t i = 0; i < j->count; i++)
        if (atomic_load(&j->hits[i]) != 1)
            bad++;
    return bad;
}

static void job_free(job *j)
{
    free(j->hits);
    j->hits = NULL;
}

/* Runs a checked job; returns its problems. */
static int run_checked(int workers, int64_t count, long spin, int *max_worker)
{
    job *j = malloc(sizeof *j);
    assert_non_null(j);
    job_init(j, workers, count);
    j->spin = spin;
    focal_pool_run(workers, count, job_task, j);
    const int bad = job_problems(j);
    if (max_worker != NULL)
        *max_worker = atomic_load(&j->max_worker);
    job_free(j);
    free(j);
    return bad;
}

/* ------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------ */

static void test_every_index_once(void **state)
{
    (void)state;
    const int cpus = focal_pool_affinity_count();
    const int workers[] = {-3, 0, 1, 2, 3, 4, 5, 8, 16, cpus, cpus + 1, 2 * cpus + 3, 64, 255, 256, 257, 1000};
    const int64_t counts[] = {0, 1, 2, 3, 4, 7, 64, 255, 256, 257, 1000, 100003};
    for (size_t a = 0; a < sizeof workers / sizeof workers[0]; a++)
        for (size_t b = 0; b < sizeof counts / sizeof counts[0]; b++) {
            if (quick && counts[b] > 1000 && workers[a] > 16)
                continue;
            int max_worker = 0;
            const int bad = run_checked(workers[a], counts[b], 20, &max_worker);
            if (bad != 0)
                fail_msg("workers %d count %lld: %d problems", workers[a], (long long)counts[b], bad);
            assert_true(max_worker < (workers[a] < 1 ? 1 : workers[a]));
        }
    /* Calls that wanted them started the pool's threads (the most: 255). */
    assert_true(focal_pool_threads() >= 1);
    assert_true(focal_pool_threads() <= FOCAL_POOL_MAX_WORKERS - 1);
}

static void test_worker_ids_exclusive(void **state)
{
    (void)state;
    /* Slow enough tasks that every thread of the job takes some. */
    const int rounds = quick ? 20 : 200;
    int max_seen = 0;
    for (int r = 0; r < rounds; r++) {
        const int w = 2 + r % 15;
        job j;
        job_init(&j, w, 64 + r);
        j.sleep = r % 4 == 0 ? 20000 : 0;
        j.spin = 2000;
        focal_pool_run(w, j.count, job_task, &j);
        assert_int_equal(job_problems(&j), 0);
        if (atomic_load(&j.max_worker) > max_seen)
            max_seen = atomic_load(&j.max_worker);
        job_free(&j);
    }
    /* Pool threads took part. */
    assert_true(max_seen > 0);
}

static void test_no_thread_per_call(void **state)
{
    (void)state;
    focal_pool_shutdown();
    assert_int_equal(focal_pool_threads(), 0);
    faults_reset();
    assert_int_equal(run_checked(4, 100, 0, NULL), 0);
    const long first = atomic_load(&creates);
    assert_true(first >= 1 && first <= 3);
    assert_int_equal(focal_pool_threads(), 3);
    for (int i = 0; i < 1000; i++) {
        job j;
        job_init(&j, 4, 1 + i % 40);
        focal_pool_run(4, j.count, job_task, &j);
        assert_int_equal(job_problems(&j), 0);
        job_free(&j);
    }
    assert_int_equal(atomic_load(&creates), first);
    /* Fewer workers use the threads there are; more add threads. */
    assert_int_equal(run_checked(2, 100, 0, NULL), 0);
    assert_int_equal(atomic_load(&creates), first);
    assert_int_equal(run_checked(6, 100, 0, NULL), 0);
    assert_int_equal(atomic_load(&creates), first + 2);
    assert_int_equal(focal_pool_threads(), 5);
}

static void test_thread_start_failure(void **state)
{
    (void)state;
    for (int persist = 0; persist <= 1; persist++)
        for (long k = 1; k <= 8; k++) {
            focal_pool_shutdown();
            faults_reset();
            atomic_store(&fail_persist, persist);
            atomic_store(&fail_at, k);
            int max_worker = -1;
            assert_int_equal(run_checked(8, 500, 200, &max_worker), 0);
            /* The threads started before the failure stay and do their share;
             * no worker id beyond them is used. */
            const int expect = k <= 7 ? (int)k - 1 : 7;
            assert_int_equal(focal_pool_threads(), expect);
            assert_true(max_worker <= expect);
            /* The next call tries again. */
            assert_int_equal(run_checked(8, 500, 0, NULL), 0);
            assert_int_equal(focal_pool_threads(), persist ? expect : 7);
        }
    /* Every start fails: the caller alone. */
    focal_pool_shutdown();
    faults_reset();
    atomic_store(&fail_persist, 1);
    atomic_store(&fail_at, 1);
    int max_worker = -1;
    assert_int_equal(run_checked(16, 1000, 0, &max_worker), 0);
    assert_int_equal(max_worker, 0);
    assert_int_equal(focal_pool_threads(), 0);
    faults_reset();
    assert_int_equal(run_checked(16, 1000, 0, NULL), 0);
    assert_int_equal(focal_pool_threads(), 15);
}

/* ------------------------------------------------------------------------
 * Several callers
 * ------------------------------------------------------------------------ */

typedef struct caller {
    int id, calls;
    int problems;
    int pooled;          /* calls on which a pool thread took part */
} caller;

static void *caller_main(void *p)
{
    caller *c = p;
    unsigned seed = 12345u + (unsigned)c->id;
    for (int i = 0; i < c->calls; i++) {
        seed = seed * 1103515245u + 12345u;
        const int w = 1 + (int)(seed >> 16) % 8;
        const int64_t count = (int64_t)((seed >> 8) % 97);
        job j;
        job_init(&j, w, count);
        /* Now and then a slow task: callers that find the pool busy meanwhile
         * run alone and must not wait for it. */
        j.sleep = (seed >> 4) % 64 == 0 ? 200000 : 0;
        focal_pool_run(w, count, job_task, &j);
        c->problems += job_problems(&j);
        c->pooled += atomic_load(&j.max_worker) > 0;
        job_free(&j);
    }
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    enum { CALLERS = 8 };
    const int total = quick ? 2000 : 10000;
    caller cs[CALLERS];
    pthread_t ts[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        cs[i] = (caller){.id = i, .calls = total / CALLERS};
        ts[i] = spawn(caller_main, &cs[i]);
    }
    int problems = 0, pooled = 0;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(ts[i], NULL);
        problems += cs[i].problems;
        pooled += cs[i].pooled;
    }
    print_message("%d calls from %d threads, %d with pool threads\n", total, CALLERS, pooled);
    assert_int_equal(problems, 0);
    assert_true(pooled > 0);
}

static void inner_task(void *arg, int64_t index, int worker)
{
    (void)index;
    (void)worker;
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void outer_task(void *arg, int64_t index, int worker)
{
    (void)index;
    (void)worker;
    focal_pool_run(4, 10, inner_task, arg);
}

static void test_nested_call(void **state)
{
    (void)state;
    atomic_int n = 0;
    TEST_ATOMICS(&n, sizeof n);
    focal_pool_run(4, 20, outer_task, &n);
    assert_int_equal(atomic_load(&n), 200);
}

/* A caller cancelled in the middle of a job: the job completes (the call
 * disables cancellation), the thread is cancelled after it, and the pool is
 * free again. */
static void *cancelled_main(void *p)
{
    job *j = p;
    focal_pool_run(4, j->count, job_task, j);
    pthread_testcancel();
    return NULL;
}

static void test_cancelled_caller(void **state)
{
    (void)state;
    job j;
    job_init(&j, 4, 200);
    j.sleep = 200000;
    pthread_t t = spawn(cancelled_main, &j);
    while (!atomic_load(&j.started))
        sleep_ns(100000);
    pthread_cancel(t);
    void *ret = NULL;
    pthread_join(t, &ret);
    assert_ptr_equal(ret, PTHREAD_CANCELED);
    assert_int_equal(job_problems(&j), 0);
    job_free(&j);
    /* The pool is free: its threads take part in the next job. */
    job_init(&j, 4, 40);
    j.sleep = 1000000;
    focal_pool_run(4, j.count, job_task, &j);
    assert_int_equal(job_problems(&j), 0);
    assert_true(atomic_load(&j.max_worker) > 0);
    job_free(&j);
}

static void test_shutdown_and_reuse(void **state)
{
    (void)state;
    assert_int_equal(run_checked(4, 100, 0, NULL), 0);
    assert_true(focal_pool_threads() >= 3);
    focal_pool_shutdown();
    assert_int_equal(focal_pool_threads(), 0);
    assert_int_equal(proc_pool_threads(), 0);
    focal_pool_shutdown();   /* nothing to do */
    faults_reset();
    assert_int_equal(run_checked(4, 100, 0, NULL), 0);
    assert_int_equal(focal_pool_threads(), 3);
    assert_int_equal(proc_pool_threads(), 3);
    assert_int_equal(atomic_load(&creates), 3);
}

/* ------------------------------------------------------------------------
 * fork
 * ------------------------------------------------------------------------ */

/* In a child: a checked job with 4 workers on a fresh pool. */
static int child_job(void)
{
    alarm(30);   /* a deadlock kills the child */
    if (focal_pool_threads() != 0)
        return 2;
    int max_worker = 0;
    if (run_checked(4, 1000, 500, &max_worker) != 0)
        return 3;
    if (focal_pool_threads() != 3)
        return 4;
    if (run_checked(4, 1000, 500, NULL) != 0)
        return 5;
    return 0;
}

static void test_fork_idle_pool(void **state)
{
    (void)state;
    assert_int_equal(run_checked(4, 100, 0, NULL), 0);
    assert_true(focal_pool_threads() >= 3);
    const pid_t pid = fork_flushed();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_job());
    assert_int_equal(proc_child_status(pid), 0);
    /* The parent's pool is untouched. */
    assert_int_equal(run_checked(4, 100, 0, NULL), 0);
}

typedef struct busy_parent {
    atomic_int stop;
    atomic_int calls;
    int problems;
    int slow;
} busy_parent;

static void *busy_main(void *p)
{
    busy_parent *b = p;
    while (!atomic_load(&b->stop)) {
        job j;
        job_init(&j, 4, b->slow ? 64 : 16);
        j.sleep = b->slow ? 100000 : 0;
        focal_pool_run(4, j.count, job_task, &j);
        b->problems += job_problems(&j);
        job_free(&j);
        atomic_fetch_add(&b->calls, 1);
    }
    return NULL;
}

static void fork_while_busy(int slow, int forks)
{
    busy_parent b = {.slow = slow};
    TEST_ATOMICS(&b, sizeof b);
    pthread_t t = spawn(busy_main, &b);
    while (atomic_load(&b.calls) < 2)
        sleep_ns(100000);
    for (int i = 0; i < forks; i++) {
        sleep_ns(slow ? 1000000 : 37000 * (i % 5));
        const pid_t pid = fork_flushed();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_job());
        const int st = proc_child_status(pid);
        if (st != 0)
            fail_msg("fork %d (%s jobs): child status %d", i, slow ? "slow" : "quick", st);
    }
    atomic_store(&b.stop, 1);
    pthread_join(t, NULL);
    assert_int_equal(b.problems, 0);
}

static void test_fork_during_job(void **state)
{
    (void)state;
    /* A fork while the other thread's job is in its tasks, and forks at
     * arbitrary moments of a stream of short jobs. */
    fork_while_busy(1, quick ? 3 : 10);
    fork_while_busy(0, quick ? 10 : 50);
}

/* exit() while another thread's job runs, and exit() from a task on a pool
 * thread: the destructor leaves the pool alone and the process ends. One
 * pool thread calls exit(); the others wait for the end: exit() from two
 * threads at once is undefined (glibc 2.36 runs the exit handlers in both,
 * and a coverage build's two dumps of the same counter files then
 * interleave and corrupt them). */
static atomic_int exit_called;
static void exit_task(void *arg, int64_t index, int worker)
{
    (void)arg;
    if (worker > 0 && index >= 8) {
        if (atomic_exchange(&exit_called, 1) == 0)
            exit(3);
        for (;;)
            pause();
    }
    sleep_ns(1000000);
}

static void test_exit_during_job(void **state)
{
    (void)state;
    pid_t pid = fork_flushed();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30);
        busy_parent b = {.slow = 1};
        TEST_ATOMICS(&b, sizeof b);
        spawn(busy_main, &b);
        while (atomic_load(&b.calls) < 1)
            sleep_ns(100000);
        exit(0);
    }
    assert_int_equal(proc_child_status(pid), 0);

    pid = fork_flushed();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30);
        focal_pool_run(4, 100000, exit_task, NULL);
        _exit(4);   /* not reached unless no pool thread ever ran */
    }
    assert_int_equal(proc_child_status(pid), 3);
}

/* ------------------------------------------------------------------------
 * The default thread count and the cgroup files
 * ------------------------------------------------------------------------ */

static void test_parse_cpu_max(void **state)
{
    (void)state;
    assert_int_equal(focal_pool_parse_cpu_max("max 100000"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("max 100000\n"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("max"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("150000 100000"), 2);
    assert_int_equal(focal_pool_parse_cpu_max("150000 100000\n"), 2);
    assert_int_equal(focal_pool_parse_cpu_max("50000 100000"), 1);
    assert_int_equal(focal_pool_parse_cpu_max("100000 100000"), 1);
    assert_int_equal(focal_pool_parse_cpu_max("100001 100000"), 2);
    assert_int_equal(focal_pool_parse_cpu_max("400000 100000\n"), 4);
    assert_int_equal(focal_pool_parse_cpu_max("1000 1000000"), 1);
    assert_int_equal(focal_pool_parse_cpu_max("12800000 100000"), 128);
    /* Malformed: no limit. */
    assert_int_equal(focal_pool_parse_cpu_max(""), 0);
    assert_int_equal(focal_pool_parse_cpu_max("\n"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("abc"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("150000"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("150000 "), 0);
    assert_int_equal(focal_pool_parse_cpu_max("150000 abc"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("150000 100000 7"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("-150000 100000"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("150000 0"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("0 100000"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("1.5 1"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("99999999999999999999999 100000"), 0);
    assert_int_equal(focal_pool_parse_cpu_max("18446744073709551615 1"), INT_MAX);
}

static void test_parse_cfs(void **state)
{
    (void)state;
    assert_int_equal(focal_pool_parse_cfs("-1\n", "100000\n"), 0);
    assert_int_equal(focal_pool_parse_cfs("150000\n", "100000\n"), 2);
    assert_int_equal(focal_pool_parse_cfs("50000\n", "100000\n"), 1);
    assert_int_equal(focal_pool_parse_cfs("200000", "100000"), 2);
    assert_int_equal(focal_pool_parse_cfs("350000\n", "50000\n"), 7);
    assert_int_equal(focal_pool_parse_cfs("", "100000"), 0);
    assert_int_equal(focal_pool_parse_cfs("x", "100000"), 0);
    assert_int_equal(focal_pool_parse_cfs("150000", ""), 0);
    assert_int_equal(focal_pool_parse_cfs("150000", "0"), 0);
    assert_int_equal(focal_pool_parse_cfs("150000 1", "100000"), 0);
}

/* A fake file system for focal_pool_cgroup_cpu_limit: files under a
 * temporary directory. */
static char fake_root[256];

static void fake_write(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fake_root, rel);
    /* Create the parent directories. */
    for (char *p = path + strlen(fake_root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void fake_remove_all(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fake_root);
    assert_int_equal(system(cmd), 0);
}

static void fake_new(void)
{
    snprintf(fake_root, sizeof fake_root, "%s/focal-pool-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(fake_root));
}

/* A mountinfo line of more than the reader's buffer, as overlay mounts with
 * many layers have. */
static void fake_mountinfo(const char *cgroup_lines)
{
    char *text = malloc(20000);
    assert_non_null(text);
    strcpy(text, "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=");
    for (int i = 0; i < 300; i++)
        strcat(text, "/var/lib/layer/aaaaaaaaaaaaaaaaaaaa:");
    strcat(text, "/x\n");
    strcat(text, "23 22 0:22 / /proc rw,nosuid shared:12 - proc proc rw\n");
    strcat(text, cgroup_lines);
    fake_write("proc/self/mountinfo", text);
    free(text);
}

static void test_cgroup_files(void **state)
{
    (void)state;
    /* cgroup v2, limits in the cgroup and its parent: the smaller wins. */
    fake_new();
    fake_write("proc/self/cgroup", "0::/a/b\n");
    fake_mountinfo("30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
    fake_write("sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
    fake_write("sys/fs/cgroup/a/cpu.max", "250000 100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 3);
    fake_write("sys/fs/cgroup/a/b/cpu.max", "150000 100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 2);
    fake_write("sys/fs/cgroup/cpu.max", "50000 100000\n");   /* the mount point's own */
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 1);
    fake_write("sys/fs/cgroup/cpu.max", "garbage\n");
    fake_write("sys/fs/cgroup/a/cpu.max", "max 100000\n");
    fake_write("sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_remove_all();

    /* A container: the mount's root is the container's cgroup, the mount
     * point has a space (escaped in mountinfo). */
    fake_new();
    fake_write("proc/self/cgroup", "0::/kube/pod1/ctr\n");
    fake_mountinfo("30 22 0:26 /kube/pod1 /sys/fs/my\\040cgroup ro - cgroup2 cgroup2 rw\n");
    fake_write("sys/fs/my cgroup/ctr/cpu.max", "350000 100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 4);
    fake_remove_all();

    /* A cgroup outside the mount's root: the mount point's own limit. */
    fake_new();
    fake_write("proc/self/cgroup", "0::/elsewhere\n");
    fake_mountinfo("30 22 0:26 /kube/pod1 /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n");
    fake_write("sys/fs/cgroup/cpu.max", "200000 100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 2);
    fake_remove_all();

    /* cgroup v1 (hybrid: a v2 hierarchy without the cpu controller too). */
    fake_new();
    fake_write("proc/self/cgroup",
               "12:pids:/docker/x\n4:cpu,cpuacct:/docker/x\n1:name=systemd:/docker/x\n0::/docker/x\n");
    fake_mountinfo("31 22 0:27 /docker/x /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                   "32 22 0:28 /docker/x /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
                   "33 22 0:29 /docker/x /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    fake_write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    fake_write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    fake_write("sys/fs/cgroup/pids/cpu.cfs_quota_us", "50000\n");   /* not the cpu hierarchy */
    fake_write("sys/fs/cgroup/pids/cpu.cfs_period_us", "100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "50000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 1);
    fake_write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "150000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 2);
    /* And a v2 limit as well: the smaller. */
    fake_write("sys/fs/cgroup/unified/cpu.max", "100000 100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 1);
    fake_remove_all();

    /* v1 with the cgroup below the mount's root, parents walked up. */
    fake_new();
    fake_write("proc/self/cgroup", "3:cpuacct,cpu:/user.slice/session-1.scope\n");
    fake_mountinfo("31 22 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpuacct,cpu\n");
    fake_write("sys/fs/cgroup/cpu/user.slice/session-1.scope/cpu.cfs_quota_us", "-1\n");
    fake_write("sys/fs/cgroup/cpu/user.slice/session-1.scope/cpu.cfs_period_us", "100000\n");
    fake_write("sys/fs/cgroup/cpu/user.slice/cpu.cfs_quota_us", "300000\n");
    fake_write("sys/fs/cgroup/cpu/user.slice/cpu.cfs_period_us", "100000\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 3);
    fake_remove_all();

    /* Missing or malformed files: no limit. */
    fake_new();
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_write("proc/self/cgroup", "0::/a\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_mountinfo("30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_write("sys/fs/cgroup/a/cpu.max", "lots\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_write("proc/self/cgroup", "garbage without colons\n::\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_write("proc/self/mountinfo", "30 22 0:26 /\n- cgroup2\n\n");
    fake_write("proc/self/cgroup", "0::/a\n");
    assert_int_equal(focal_pool_cgroup_cpu_limit(fake_root), 0);
    fake_remove_all();
}

static void test_default_threads(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    const int affinity = CPU_COUNT(&set);
    assert_int_equal(focal_pool_affinity_count(), affinity);
    const int limit = focal_pool_cgroup_cpu_limit("");
    const int expect = limit > 0 && limit < affinity ? limit : affinity;
    print_message("affinity %d CPUs, cgroup limit %d (0: none), default %d\n", affinity, limit,
                  focal_pool_default_threads());
    assert_int_equal(focal_pool_default_threads(), expect);
    if (limit == 0)
        assert_int_equal(focal_pool_default_threads(), affinity);
    assert_int_equal(focal_pool_default_threads(), expect);   /* cached */
}

/* In a child restricted to one CPU, the default is computed again: 1. */
static void test_default_threads_after_fork(void **state)
{
    (void)state;
    (void)focal_pool_default_threads();   /* the parent's, cached */
    for (int first_use_in_child = 0; first_use_in_child <= 1; first_use_in_child++) {
        const pid_t pid = fork_flushed();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(30);
            cpu_set_t set, one;
            if (sched_getaffinity(0, sizeof set, &set) != 0)
                _exit(2);
            CPU_ZERO(&one);
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &set)) {
                    CPU_SET(c, &one);
                    break;
                }
            if (sched_setaffinity(0, sizeof one, &one) != 0)
                _exit(3);
            if (focal_pool_default_threads() != 1)
                _exit(4);
            if (focal_pool_affinity_count() != 1)
                _exit(5);
            /* More workers than CPUs still works. */
            if (!first_use_in_child && run_checked(4, 100, 0, NULL) != 0)
                _exit(6);
            _exit(0);
        }
        assert_int_equal(proc_child_status(pid), 0);
    }
}

int main(void)
{
    TEST_ATOMICS(&creates, sizeof creates);
    TEST_ATOMICS(&fail_at, sizeof fail_at);
    TEST_ATOMICS(&fail_persist, sizeof fail_persist);
    quick = proc_quick();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cpu_max),
        cmocka_unit_test(test_parse_cfs),
        cmocka_unit_test(test_cgroup_files),
        cmocka_unit_test(test_default_threads),
        cmocka_unit_test(test_default_threads_after_fork),
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_worker_ids_exclusive),
        cmocka_unit_test(test_no_thread_per_call),
        cmocka_unit_test(test_thread_start_failure),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_nested_call),
        cmocka_unit_test(test_cancelled_caller),
        cmocka_unit_test(test_shutdown_and_reuse),
        cmocka_unit_test(test_fork_idle_pool),
        cmocka_unit_test(test_fork_during_job),
        cmocka_unit_test(test_exit_during_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
