/* The persistent thread pool (pool.h).
 *
 * One job at a time. A caller owns the pool while its job runs (the `busy`
 * flag, taken with a compare-and-swap); a caller that finds it taken runs
 * its job on its own thread, so no caller ever waits for another one.
 * Pool thread i (1 <= i < FOCAL_POOL_MAX_WORKERS) is worker i of every job
 * that wants more than i workers; the owner publishes the job, sets the
 * participants' `pending` flags and wakes them, takes indices from the
 * shared atomic counter as worker 0 like them, and returns once every
 * participant has checked out (`active` back to 0), so no pool thread
 * touches a job after its call returned.
 *
 * Waiting: a pool thread that finished a job polls its flag, yielding the
 * CPU, for FOCAL_POOL_SPIN_NS before it sleeps on its own condition
 * variable (calls that follow each other closely then skip the futex
 * wake-up); the owner polls `active` the same way before it sleeps on
 * `done`. Neither polls when the job has more workers than the process has
 * CPUs. The mutex is taken only to put a thread to sleep or wake one.
 *
 * The pool allocates no heap memory: the slots are static. fork(): the
 * child handler (pthread_atfork) forgets the parent's threads and
 * reinitialises the mutex and condition variables, whatever state the
 * parent's threads left them in. The destructor joins the threads.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include "exec/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a pool thread that finished a job, and an owner waiting for its
 * helpers, poll before they sleep (0: not at all). tests/pool/bench_pool.c
 * measures the cost of a call. */
#ifndef FOCAL_POOL_SPIN_NS
#  define FOCAL_POOL_SPIN_NS 20000
#endif

/* Valgrind's helgrind and drd do not model C11 atomics: a build for them
 * (-DFOCAL_POOL_HELGRIND or -DFOCAL_POOL_DRD, with valgrind's headers)
 * excludes the atomic variables from their checks and tells them the
 * ordering that the atomics give. Nothing in other builds. */
#if defined(FOCAL_POOL_HELGRIND)
#  include <valgrind/helgrind.h>
#elif defined(FOCAL_POOL_DRD)
#  include <valgrind/drd.h>
#endif
#if defined(FOCAL_POOL_HELGRIND) || defined(FOCAL_POOL_DRD)
#  define POOL_HAPPENS_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#  define POOL_HAPPENS_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
#  define POOL_ATOMIC_VAR(p) ANNOTATE_BENIGN_RACE_SIZED((p), sizeof *(p), "C11 atomic")
#  define POOL_FORGET(p) ANNOTATE_NEW_MEMORY((p), sizeof *(p))
#else
#  define POOL_HAPPENS_BEFORE(p) ((void)0)
#  define POOL_HAPPENS_AFTER(p) ((void)0)
#  define POOL_ATOMIC_VAR(p) ((void)0)
#  define POOL_FORGET(p) ((void)0)
#endif

typedef struct pool_slot {
    _Alignas(64) atomic_int pending;   /* 1: a job waits for this thread */
    atomic_int sleeping;               /* it waits on `wake` */
    pthread_cond_t wake;               /* initialised when the thread starts */
    pthread_t thread;
} pool_slot;

static struct {
    pthread_mutex_t lock;              /* for the condition variables */
    pthread_cond_t done;               /* the last helper of a job signals it */
    atomic_int busy;                   /* a caller owns the pool */
    atomic_int exiting;                /* the threads are being shut down */
    atomic_int threads;                /* slots 1..threads have a live thread */
    /* The job, written by the owner before it sets the flags. */
    focal_task_fn fn;
    void *arg;
    uint64_t count;
    int spin;                          /* poll before sleeping after it */
    _Alignas(64) atomic_uint_fast64_t next;
    _Alignas(64) atomic_int active;    /* helpers still in the job */
    atomic_int owner_sleeping;         /* the owner waits on `done` */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

/* Slot 0 stands for the caller and has no thread. */
static pool_slot slots[FOCAL_POOL_MAX_WORKERS];

/* 0: the fork handler is not registered, 1: being registered, 2: done. */
static atomic_int atfork_state;
/* focal_pool_default_threads(), 0 until computed. */
static atomic_int default_threads;

/* ---- time-bounded polling ---------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Polls until *flag reads `want` (1) or until the spin time is over (0).
 * With `stop`, also gives up as soon as *stop is set. Each poll yields the
 * CPU: on a machine with more runnable threads than CPUs the thread being
 * waited for may be queued behind the waiter on the same CPU (polling with
 * the pause instruction instead made the two take turns spinning out
 * their time, 50 times slower than sleeping at once; bench_pool). */
static int poll_for(atomic_int *flag, int want, atomic_int *stop, int spin)
{
    if (FOCAL_POOL_SPIN_NS <= 0 || !spin)
        return atomic_load_explicit(flag, memory_order_acquire) == want;
    int64_t deadline = 0;
    for (;;) {
        if (atomic_load_explicit(flag, memory_order_acquire) == want)
            return 1;
        if (stop != NULL && atomic_load_explicit(stop, memory_order_relaxed))
            return 0;
        const int64_t t = now_ns();
        if (deadline == 0)
            deadline = t + FOCAL_POOL_SPIN_NS;
        else if (t >= deadline)
            return 0;
        sched_yield();
    }
}

/* ---- the job ----------------------------------------------------------- */

static void run_indices(focal_task_fn fn, void *arg, uint64_t count, int worker)
{
    for (;;) {
        const uint64_t k = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (k >= count)
            return;
        fn(arg, (int64_t)k, worker);
    }
}

static void *pool_thread(void *p)
{
    pool_slot *s = p;
    const int worker = (int)(s - slots);
    int spin = 0;
    pthread_setname_np(pthread_self(), "focal-pool");
    for (;;) {
        if (!poll_for(&s->pending, 1, &pool.exiting, spin)) {
            /* Sleep. `sleeping` is set before the flag is checked again and
             * the owner sets the flag before it reads `sleeping` (both
             * sequentially consistent): either this thread sees the flag,
             * or the owner sees it sleeping and signals it under the lock. */
            pthread_mutex_lock(&pool.lock);
            atomic_store(&s->sleeping, 1);
            while (!atomic_load(&s->pending) && !atomic_load_explicit(&pool.exiting, memory_order_relaxed))
                pthread_cond_wait(&s->wake, &pool.lock);
            atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
            pthread_mutex_unlock(&pool.lock);
            /* A job is never pending when the pool shuts down: the
             * shutdown owns the pool. */
            if (!atomic_load_explicit(&s->pending, memory_order_acquire))
                return NULL;
        }
        POOL_HAPPENS_AFTER(&s->pending);
        atomic_store_explicit(&s->pending, 0, memory_order_relaxed);
        spin = pool.spin;
        run_indices(pool.fn, pool.arg, pool.count, worker);
        POOL_HAPPENS_BEFORE(&pool.active);
        /* The last one out wakes the owner if it sleeps (the same handshake
         * on `active` and `owner_sleeping`). */
        if (atomic_fetch_sub(&pool.active, 1) == 1 && atomic_load(&pool.owner_sleeping)) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
}

/* ---- fork and unload --------------------------------------------------- */

/* helgrind and drd builds: the atomic variables are not checked. */
static void pool_annotate(void)
{
    POOL_ATOMIC_VAR(&pool.busy);
    POOL_ATOMIC_VAR(&pool.exiting);
    POOL_ATOMIC_VAR(&pool.threads);
    POOL_ATOMIC_VAR(&pool.next);
    POOL_ATOMIC_VAR(&pool.active);
    POOL_ATOMIC_VAR(&pool.owner_sleeping);
    for (int i = 0; i < FOCAL_POOL_MAX_WORKERS; i++) {
        POOL_ATOMIC_VAR(&slots[i].pending);
        POOL_ATOMIC_VAR(&slots[i].sleeping);
    }
    POOL_ATOMIC_VAR(&atfork_state);
    POOL_ATOMIC_VAR(&default_threads);
}

/* The child has only the thread that called fork(): the pool's threads are
 * gone, and the lock and condition variables may have been in use by them.
 * The slots' condition variables are initialised again when their threads
 * are started. */
static void pool_atfork_child(void)
{
    /* helgrind and drd: the parent's threads' accesses are history. */
    POOL_FORGET(&pool);
    POOL_FORGET(&slots);
    pool_annotate();
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.done, NULL);
    for (int i = 0; i < FOCAL_POOL_MAX_WORKERS; i++) {
        atomic_store_explicit(&slots[i].pending, 0, memory_order_relaxed);
        atomic_store_explicit(&slots[i].sleeping, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&pool.owner_sleeping, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.threads, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.exiting, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.active, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.busy, 0, memory_order_relaxed);
    atomic_store_explicit(&default_threads, 0, memory_order_relaxed);
}

/* Registers the fork handler; 1 when it is registered. Without it the pool
 * starts no thread. glibc unregisters it when the library is unloaded. */
static int atfork_ready(void)
{
    int state = atomic_load_explicit(&atfork_state, memory_order_acquire);
    if (state == 2)
        return 1;
    if (state != 0 || !atomic_compare_exchange_strong(&atfork_state, &state, 1))
        return 0;
    const int ok = pthread_atfork(NULL, NULL, pool_atfork_child) == 0;
    atomic_store_explicit(&atfork_state, ok ? 2 : 0, memory_order_release);
    return ok;
}

__attribute__((constructor)) static void pool_load(void)
{
    pool_annotate();
    (void)atfork_ready();
}

void focal_pool_shutdown(void)
{
    int idle = 0;
    if (!atomic_compare_exchange_strong(&pool.busy, &idle, 1))
        return;   /* a call is running (or this is exit() from inside one) */
    POOL_HAPPENS_AFTER(&pool.busy);
    const int n = atomic_load_explicit(&pool.threads, memory_order_relaxed);
    if (n > 0) {
        atomic_store_explicit(&pool.exiting, 1, memory_order_relaxed);
        pthread_mutex_lock(&pool.lock);
        for (int i = 1; i <= n; i++)
            pthread_cond_signal(&slots[i].wake);
        pthread_mutex_unlock(&pool.lock);
        for (int i = 1; i <= n; i++) {
            pthread_join(slots[i].thread, NULL);
            pthread_cond_destroy(&slots[i].wake);
        }
        atomic_store_explicit(&pool.threads, 0, memory_order_relaxed);
        atomic_store_explicit(&pool.exiting, 0, memory_order_relaxed);
    }
    POOL_HAPPENS_BEFORE(&pool.busy);
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
}

__attribute__((destructor)) static void pool_unload(void)
{
    focal_pool_shutdown();
}

int focal_pool_threads(void)
{
    return atomic_load_explicit(&pool.threads, memory_order_relaxed);
}

/* ---- the call ---------------------------------------------------------- */

/* Makes sure `want` pool threads run, as far as they can be started; the
 * caller owns the pool. Returns how many of them the job can use. */
static int pool_grow(int want)
{
    int have = atomic_load_explicit(&pool.threads, memory_order_relaxed);
    if (have >= want)
        return want;
    if (!atfork_ready())
        return have;
    /* The threads start with every signal blocked and keep it so: the
     * application's asynchronous signals go to its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (have < want) {
        pool_slot *s = &slots[have + 1];
        atomic_store_explicit(&s->pending, 0, memory_order_relaxed);
        atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
        if (pthread_cond_init(&s->wake, NULL) != 0)
            break;
        if (pthread_create(&s->thread, NULL, pool_thread, s) != 0) {
            pthread_cond_destroy(&s->wake);
            break;   /* the threads already running take the job */
        }
        have++;
        atomic_store_explicit(&pool.threads, have, memory_order_relaxed);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return have;
}

void focal_pool_run(int workers, int64_t count, focal_task_fn fn, void *arg)
{
    if (count <= 0)
        return;
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    int w = workers < FOCAL_POOL_MAX_WORKERS ? workers : FOCAL_POOL_MAX_WORKERS;
    if (count < w)
        w = (int)count;
    int idle = 0;
    int helpers = 0;
    if (w > 1 && atomic_compare_exchange_strong(&pool.busy, &idle, 1)) {
        POOL_HAPPENS_AFTER(&pool.busy);
        helpers = pool_grow(w - 1);
        if (helpers == 0) {
            POOL_HAPPENS_BEFORE(&pool.busy);
            atomic_store_explicit(&pool.busy, 0, memory_order_release);
        }
    }
    if (helpers == 0) {
        for (int64_t k = 0; k < count; k++)
            fn(arg, k, 0);
        pthread_setcancelstate(cancel_state, NULL);
        return;
    }

    pool.fn = fn;
    pool.arg = arg;
    pool.count = (uint64_t)count;
    /* Polling pays when every worker has a CPU; with more workers than
     * CPUs the pollers would take the CPU from the threads that work. */
    const int spin = w <= focal_pool_default_threads();
    pool.spin = spin;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.active, helpers, memory_order_relaxed);
    int sleepers = 0;
    for (int i = 1; i <= helpers; i++) {
        POOL_HAPPENS_BEFORE(&slots[i].pending);
        atomic_store(&slots[i].pending, 1);
        sleepers += atomic_load(&slots[i].sleeping);
    }
    /* The lock only for threads that sleep (see pool_thread): taking it on
     * every call would make a polling helper and the owner queue on it. */
    if (sleepers > 0) {
        pthread_mutex_lock(&pool.lock);
        for (int i = 1; i <= helpers; i++)
            if (atomic_load_explicit(&slots[i].sleeping, memory_order_relaxed))
                pthread_cond_signal(&slots[i].wake);
        pthread_mutex_unlock(&pool.lock);
    }

    run_indices(fn, arg, (uint64_t)count, 0);

    if (!poll_for(&pool.active, 0, NULL, spin)) {
        pthread_mutex_lock(&pool.lock);
        atomic_store(&pool.owner_sleeping, 1);
        while (atomic_load(&pool.active) != 0)
            pthread_cond_wait(&pool.done, &pool.lock);
        atomic_store_explicit(&pool.owner_sleeping, 0, memory_order_relaxed);
        pthread_mutex_unlock(&pool.lock);
    }
    POOL_HAPPENS_AFTER(&pool.active);
    POOL_HAPPENS_BEFORE(&pool.busy);
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
    pthread_setcancelstate(cancel_state, NULL);
}

/* ---- the default thread count ------------------------------------------ */

int focal_pool_affinity_count(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        n = CPU_COUNT(&set);
    } else if (errno == EINVAL) {
        /* More CPUs than a cpu_set_t holds. */
        for (int cpus = 2 * CPU_SETSIZE; cpus <= (1 << 20) && n == 0; cpus *= 2) {
            cpu_set_t *big = CPU_ALLOC(cpus);
            if (big == NULL)
                break;
            const size_t size = CPU_ALLOC_SIZE(cpus);
            if (sched_getaffinity(0, size, big) == 0)
                n = CPU_COUNT_S(size, big);
            CPU_FREE(big);
            if (n == 0 && errno != EINVAL)
                break;
        }
    }
    if (n < 1) {
        const long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > INT_MAX ? INT_MAX : (int)online;
    }
    return n < 1 ? 1 : n;
}

/* Parses a decimal number without sign; the end of the digits in *end.
 * Returns 0 when there is none or it overflows. */
static int parse_u64(const char *s, const char **end, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        const uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *end = p;
    *out = v;
    return p != s;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    return p;
}

static int limit_of(uint64_t quota, uint64_t period)
{
    if (quota == 0 || period == 0)
        return 0;
    const uint64_t cpus = quota / period + (quota % period != 0);
    return cpus > INT_MAX ? INT_MAX : (int)cpus;
}

int focal_pool_parse_cpu_max(const char *text)
{
    uint64_t quota, period;
    const char *p = skip_blanks(text);
    if (strncmp(p, "max", 3) == 0)
        return 0;
    if (!parse_u64(p, &p, &quota) || (*p != ' ' && *p != '\t'))
        return 0;
    if (!parse_u64(skip_blanks(p), &p, &period) || *skip_blanks(p) != '\0')
        return 0;
    return limit_of(quota, period);
}

int focal_pool_parse_cfs(const char *quota_text, const char *period_text)
{
    uint64_t quota, period;
    const char *p = skip_blanks(quota_text);
    if (!parse_u64(p, &p, &quota) || *skip_blanks(p) != '\0')
        return 0;   /* -1 (no limit) or not a number */
    p = skip_blanks(period_text);
    if (!parse_u64(p, &p, &period) || *skip_blanks(p) != '\0')
        return 0;
    return limit_of(quota, period);
}

/* ---- reading the cgroup files -------------------------------------------
 * With open() and read() into buffers on the stack: no heap memory. */

#define POOL_PATH_MAX 1024

/* Reads a small file whole; 0 if it cannot be read or does not fit. */
static int read_small(const char *path, char *buf, size_t size)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t len = 0;
    for (;;) {
        const ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    /* One more byte would not fit: the text is longer than the buffer. */
    char extra;
    const int whole = len < size - 1 || read(fd, &extra, 1) == 0;
    close(fd);
    buf[len] = '\0';
    return whole && len > 0;
}

/* Lines of a file of any length; lines longer than the buffer are skipped. */
typedef struct line_reader {
    int fd;
    size_t len, pos;
    int eof, skipping;
    char buf[2048];
} line_reader;

static char *next_line(line_reader *r)
{
    for (;;) {
        char *start = r->buf + r->pos;
        char *nl = memchr(start, '\n', r->len - r->pos);
        if (nl != NULL) {
            *nl = '\0';
            r->pos = (size_t)(nl + 1 - r->buf);
            if (r->skipping) {
                r->skipping = 0;
                continue;
            }
            return start;
        }
        if (r->eof) {
            if (r->pos == r->len || r->skipping)
                return NULL;
            r->buf[r->len] = '\0';
            r->pos = r->len;
            return start;
        }
        memmove(r->buf, start, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
        if (r->len == sizeof r->buf - 1) {
            r->skipping = 1;   /* too long: drop it up to its newline */
            r->len = 0;
        }
        const ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r->eof = 1;
        else
            r->len += (size_t)n;
    }
}

/* Whether the comma-separated list [list, list + len) has the item `item`. */
static int list_has(const char *list, size_t len, const char *item)
{
    const size_t n = strlen(item);
    const char *end = list + len;
    while (list < end) {
        const char *comma = memchr(list, ',', (size_t)(end - list));
        const char *stop = comma != NULL ? comma : end;
        if ((size_t)(stop - list) == n && memcmp(list, item, n) == 0)
            return 1;
        list = stop + 1;
    }
    return 0;
}

/* Copies s into out (size POOL_PATH_MAX); 0 when it does not fit. */
static int copy_path(char *out, const char *s, size_t len)
{
    if (len >= POOL_PATH_MAX)
        return 0;
    memcpy(out, s, len);
    out[len] = '\0';
    return 1;
}

/* A mountinfo path field with its octal escapes (\040 for a space) undone. */
static int copy_unescaped(char *out, const char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (o + 1 >= POOL_PATH_MAX)
            return 0;
        if (s[i] == '\\' && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
            s[i + 3] >= '0' && s[i + 3] <= '7') {
            out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return 1;
}

typedef struct cgroup_place {
    int in_cgroup;                 /* /proc/self/cgroup names one */
    int mounted;                   /* mountinfo has its hierarchy */
    char path[POOL_PATH_MAX];      /* in the hierarchy, from /proc/self/cgroup */
    char root[POOL_PATH_MAX];      /* of the mount, in the hierarchy */
    char point[POOL_PATH_MAX];     /* the mount point */
} cgroup_place;

/* The limit set in one cgroup directory, 0 for none. */
static int limit_in_dir(const char *dir, int v2)
{
    char file[POOL_PATH_MAX + 32], text[64], period[64];
    if (v2) {
        snprintf(file, sizeof file, "%s/cpu.max", dir);
        return read_small(file, text, sizeof text) ? focal_pool_parse_cpu_max(text) : 0;
    }
    snprintf(file, sizeof file, "%s/cpu.cfs_quota_us", dir);
    if (!read_small(file, text, sizeof text))
        return 0;
    snprintf(file, sizeof file, "%s/cpu.cfs_period_us", dir);
    if (!read_small(file, period, sizeof period))
        return 0;
    return focal_pool_parse_cfs(text, period);
}

/* The smallest limit of the cgroup and its ancestors up to the mount. */
static int limit_of_place(const char *root_prefix, const cgroup_place *pl, int v2)
{
    if (!pl->in_cgroup || !pl->mounted)
        return 0;
    /* The cgroup's path below the mount: the part of its path after the
     * mount's root. A path outside the mount's root (a cgroup namespace the
     * mount does not show) leaves the mount point itself. */
    const char *rel = "";
    const size_t rl = strlen(pl->root);
    if (strcmp(pl->root, "/") == 0)
        rel = pl->path;
    else if (strncmp(pl->path, pl->root, rl) == 0 && (pl->path[rl] == '/' || pl->path[rl] == '\0'))
        rel = pl->path + rl;
    char dir[POOL_PATH_MAX];
    const int base = snprintf(dir, sizeof dir, "%s%s", root_prefix, pl->point);
    if (base < 0 || (size_t)base >= sizeof dir)
        return 0;
    const int full = snprintf(dir, sizeof dir, "%s%s%s", root_prefix, pl->point, rel);
    if (full < 0 || (size_t)full >= sizeof dir)
        return 0;
    size_t len = (size_t)full;
    while (len > (size_t)base && dir[len - 1] == '/')
        dir[--len] = '\0';
    int best = 0;
    for (;;) {
        const int lim = limit_in_dir(dir, v2);
        if (lim > 0 && (best == 0 || lim < best))
            best = lim;
        if (len <= (size_t)base)
            break;
        /* Up one level, not above the mount point. */
        while (len > (size_t)base && dir[len - 1] != '/')
            len--;
        while (len > (size_t)base && dir[len - 1] == '/')
            len--;
        if (len < (size_t)base)
            len = (size_t)base;
        dir[len] = '\0';
    }
    return best;
}

/* Reads /proc/self/cgroup: the v2 cgroup ("0::path") and the v1 cgroup of
 * the hierarchy with the cpu controller ("n:cpu,cpuacct:path"). */
static void read_proc_cgroup(const char *root_prefix, cgroup_place *v2, cgroup_place *v1)
{
    char file[POOL_PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/proc/self/cgroup", root_prefix);
    line_reader r = {.fd = open(file, O_RDONLY | O_CLOEXEC)};
    if (r.fd < 0)
        return;
    for (char *line; (line = next_line(&r)) != NULL;) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        const char *path = c2 + 1;
        if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
            if (!v2->in_cgroup)
                v2->in_cgroup = copy_path(v2->path, path, strlen(path));
        } else if (list_has(c1 + 1, (size_t)(c2 - c1 - 1), "cpu")) {
            if (!v1->in_cgroup)
                v1->in_cgroup = copy_path(v1->path, path, strlen(path));
        }
    }
    close(r.fd);
}

/* Whether the mount with root `root` shows the cgroup at `path`. */
static int mount_shows(const char *root, const char *path)
{
    const size_t rl = strlen(root);
    return strcmp(root, "/") == 0 ||
           (strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'));
}

/* Reads /proc/self/mountinfo: the mount of each hierarchy. Fields: id,
 * parent, major:minor, root, mount point, options, optional fields, "-",
 * file system type, source, super options. Of several mounts of a
 * hierarchy, the first that shows the process's cgroup, else the first. */
static void read_mountinfo(const char *root_prefix, cgroup_place *v2, cgroup_place *v1)
{
    char file[POOL_PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/proc/self/mountinfo", root_prefix);
    line_reader r = {.fd = open(file, O_RDONLY | O_CLOEXEC)};
    if (r.fd < 0)
        return;
    for (char *line; (line = next_line(&r)) != NULL;) {
        char *field[40];
        int nf = 0;
        for (char *save = NULL, *tok = strtok_r(line, " ", &save); tok != NULL && nf < 40;
             tok = strtok_r(NULL, " ", &save))
            field[nf++] = tok;
        int dash = 6;
        while (dash < nf && strcmp(field[dash], "-") != 0)
            dash++;
        if (dash + 1 >= nf)
            continue;
        const char *fstype = field[dash + 1];
        const char *super = dash + 3 < nf ? field[dash + 3] : "";
        cgroup_place *pl = NULL;
        if (strcmp(fstype, "cgroup2") == 0)
            pl = v2;
        else if (strcmp(fstype, "cgroup") == 0 && list_has(super, strlen(super), "cpu"))
            pl = v1;
        if (pl == NULL || !pl->in_cgroup || pl->mounted)
            continue;
        const int first = pl->point[0] == '\0';
        char root[POOL_PATH_MAX], point[POOL_PATH_MAX];
        if (!copy_unescaped(root, field[3]) || !copy_unescaped(point, field[4]))
            continue;
        const int shows = mount_shows(root, pl->path);
        if (shows || first) {
            memcpy(pl->root, root, sizeof root);
            memcpy(pl->point, point, sizeof point);
            pl->mounted = shows;
        }
    }
    close(r.fd);
    /* No mount shows the cgroup: the first mount's point itself. */
    if (v2->point[0] != '\0')
        v2->mounted = 1;
    if (v1->point[0] != '\0')
        v1->mounted = 1;
}

int focal_pool_cgroup_cpu_limit(const char *root)
{
    cgroup_place v2 = {0}, v1 = {0};
    read_proc_cgroup(root, &v2, &v1);
    if (!v2.in_cgroup && !v1.in_cgroup)
        return 0;
    read_mountinfo(root, &v2, &v1);
    const int a = limit_of_place(root, &v2, 1);
    const int b = limit_of_place(root, &v1, 0);
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

int focal_pool_default_threads(void)
{
    int n = atomic_load_explicit(&default_threads, memory_order_relaxed);
    if (n > 0)
        return n;
    (void)atfork_ready();   /* so that a child computes it again */
    n = focal_pool_affinity_count();
    const int quota = focal_pool_cgroup_cpu_limit("");
    if (quota > 0 && quota < n)
        n = quota;
    if (n < 1)
        n = 1;
    atomic_store_explicit(&default_threads, n, memory_order_relaxed);
    return n;
}
