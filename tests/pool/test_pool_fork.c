/*
 * fork() and the thread pool, through the public API (tests/test_process.c
 * checks one multi-threaded call in each of three children; this goes
 * further):
 *   - a child of a parent whose pool has threads makes many calls (every
 *     case of pool_cases.h, on contexts the parent created, several rounds),
 *     each bitwise equal to the parent's single-threaded reference, and
 *     starts a pool of its own; its own child (a grandchild) does the same;
 *   - children forked while other parent threads are in the middle of calls
 *     (the pool owned by one of them) compute correctly too, and the parent's
 *     callers never see a differing result;
 *   - after every child, the parent's pool keeps its threads and gives the
 *     same bits.
 * Children report through their exit status. With FOCAL_TEST_QUICK=1, in
 * an unoptimised build or under valgrind: 2 passes per child and 3 forks
 * during calls; under valgrind the forks during calls are skipped (see
 * there).
 *
 * The argument picks a part: "children" (the first two), "during-calls"
 * (the third); none runs both. ThreadSanitizer does not support a forked
 * child of a multi-threaded process starting threads: under it the program
 * reports itself skipped (77), as test_process does. "during-calls" is
 * skipped (77) under AddressSanitizer too: the allocator of the runtimes
 * Debian 12's GCC and clang ship does not hold its locks across fork(), so
 * a child forked while another thread is inside malloc or free can wait
 * forever for an allocator lock nobody in it holds (seen: a pool thread
 * the child started, blocked in the runtime's size-class lock while
 * setting up its stack).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <focal/focal.h>

#include "numcheck.h"
#include "pool_cases.h"
#include "proc.h"

#if defined(__SANITIZE_THREAD__)
#  define FOCAL_TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define FOCAL_TEST_TSAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define FOCAL_TEST_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define FOCAL_TEST_ASAN 1
#  endif
#endif

/* FOCAL_TEST_QUICK=1 or valgrind: fewer passes and forks. */
static int light;

/* Output buffers for every case. */
typedef struct outputs {
    unsigned char *out[POOL_CASES], *grad[POOL_CASES];
} outputs;

static int outputs_new(outputs *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < POOL_CASES; i++) {
        o->out[i] = malloc(pool_cases[i].out_bytes);
        o->grad[i] = malloc(pool_cases[i].grad_bytes);
        if (o->out[i] == NULL || o->grad[i] == NULL)
            return 0;
    }
    return 1;
}

static void outputs_free(outputs *o)
{
    for (int i = 0; i < POOL_CASES; i++) {
        free(o->out[i]);
        free(o->grad[i]);
    }
}

/* rounds x every case; 0 when every call gave the reference's bits, else
 * 20 + the first failing case (1: the call failed) or 40 + it (differs). */
static int all_cases(outputs *o, int rounds)
{
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < POOL_CASES; i++) {
            const int rc = pool_case_check(&pool_cases[i], o->out[i], o->grad[i]);
            if (rc != 0)
                return (rc == 1 ? 20 : 40) + i;
        }
    return 0;
}

/* A child's work: many calls, a pool of its own, and (depth > 0) a child
 * of its own doing the same. Exit status 0 when all is well. */
static int child_main(int rounds, int depth)
{
    alarm(120);
    outputs o;
    if (!outputs_new(&o))
        return 10;
    int rc = all_cases(&o, rounds);
    if (rc == 0 && proc_pool_threads() < 1)
        rc = 11;   /* the large cases ask for 2 to 4 workers */
    if (rc == 0 && depth > 0) {
        const int before = proc_pool_threads();
        fflush(NULL);
        const pid_t pid = fork();
        if (pid < 0)
            rc = 12;
        else if (pid == 0)
            exit(child_main(2, depth - 1));
        else if ((rc = proc_child_status(pid)) != 0)
            rc = rc > 0 ? 100 + rc % 100 : 13;
        else if (proc_pool_threads() != before || all_cases(&o, 1) != 0)
            rc = 14;   /* this child's pool after its own child */
    }
    outputs_free(&o);
    return rc;
}

static const char *status_text(int st)
{
    if (st >= 100)
        return "the grandchild failed (100 + its status)";
    if (st >= 40)
        return "a result differs from the single-threaded reference (40 + case)";
    if (st >= 20)
        return "a call failed (20 + case)";
    switch (st) {
    case 10: return "out of memory";
    case 11: return "no pool thread was started in the child";
    case 12: return "fork failed in the child";
    case 13: return "the grandchild was killed";
    case 14: return "the child's pool changed after its own child";
    default: return st < 0 ? "killed by a signal (-signal)" : "unknown";
    }
}

static void expect_child_ok(pid_t pid, const char *what)
{
    assert_true(pid >= 0);
    const int st = proc_child_status(pid);
    if (st != 0)
        fail_msg("%s: child status %d: %s", what, st, status_text(st));
}

static void test_child_many_calls(void **state)
{
    (void)state;
    outputs o;
    assert_true(outputs_new(&o));
    assert_int_equal(all_cases(&o, 1), 0);
    const int parent_threads = proc_pool_threads();
    assert_true(parent_threads >= 1);
    for (int round = 0; round < 3; round++) {
        fflush(NULL);
        const pid_t pid = fork();
        if (pid == 0)
            exit(child_main(light ? 2 : 20, round == 0 ? 2 : 0));   /* exit(): coverage counters */
        char what[64];
        snprintf(what, sizeof what, "round %d", round);
        expect_child_ok(pid, what);
        /* The parent's pool: same threads, same bits. */
        assert_int_equal(proc_pool_threads(), parent_threads);
        assert_int_equal(all_cases(&o, 2), 0);
    }
    outputs_free(&o);
}

/* Parent threads calling while the main thread forks. */
typedef struct busy_caller {
    pthread_t thread;
    int index;
    atomic_int *stop;
    long calls, failures;
} busy_caller;

static void *busy_main(void *arg)
{
    busy_caller *b = arg;
    outputs o;
    if (!outputs_new(&o)) {
        b->failures = -1;
        outputs_free(&o);
        return NULL;
    }
    for (long j = 0; !atomic_load(b->stop); j++) {
        /* Mostly the large cases, so that the pool is busy at the forks. */
        const int ci = (int)((j + b->index) % POOL_CASES);
        if (!pool_cases[ci].large && j % 4 != 0)
            continue;
        b->failures += pool_case_check(&pool_cases[ci], o.out[ci], o.grad[ci]) != 0;
        b->calls++;
    }
    outputs_free(&o);
    return NULL;
}

static void test_fork_during_calls(void **state)
{
    (void)state;
    if (proc_under_valgrind()) {
        /* The blocks the other threads hold at the fork (their buffers, a
         * call's scratch) are unreachable in the child: memcheck's leak
         * check would fail every child. */
        print_message("skipped under valgrind: a child cannot free what the parent's other threads held\n");
        skip();
    }
#ifdef FOCAL_TEST_ASAN
    print_message("skipped under AddressSanitizer (see the header)\n");
    skip();
#endif
    enum { BUSY = 3 };
    const int forks = light ? 3 : 20;
    atomic_int stop = 0;
    busy_caller busy[BUSY];
    for (int t = 0; t < BUSY; t++) {
        busy[t] = (busy_caller){.index = 5 * t, .stop = &stop};
        assert_int_equal(pthread_create(&busy[t].thread, NULL, busy_main, &busy[t]), 0);
    }
    for (int f = 0; f < forks; f++) {
        usleep(2000);
        fflush(NULL);
        const pid_t pid = fork();
        if (pid == 0) {
            /* _exit: the blocks the other threads held at the fork are
             * unreachable here, which LeakSanitizer's check at exit() would
             * report as leaks. */
            fflush(NULL);
            _exit(child_main(3, 0));
        }
        const int st = pid < 0 ? -1000 : proc_child_status(pid);
        if (st != 0) {
            atomic_store(&stop, 1);
            for (int t = 0; t < BUSY; t++)
                pthread_join(busy[t].thread, NULL);
            fail_msg("fork %d during calls: child status %d: %s", f, st, status_text(st));
        }
    }
    atomic_store(&stop, 1);
    long calls = 0;
    for (int t = 0; t < BUSY; t++) {
        assert_int_equal(pthread_join(busy[t].thread, NULL), 0);
        assert_int_equal(busy[t].failures, 0);
        calls += busy[t].calls;
    }
    print_message("%d children forked during %ld calls of %d parent threads\n", forks, calls, BUSY);
    assert_true(calls >= BUSY);
    outputs o;
    assert_true(outputs_new(&o));
    assert_int_equal(all_cases(&o, 1), 0);
    outputs_free(&o);
}

int main(int argc, char **argv)
{
#ifdef FOCAL_TEST_TSAN
    puts("SKIP: ThreadSanitizer cannot run a forked child that starts threads");
    return 77;
#endif
    const char *part = argc > 1 ? argv[1] : "";
    const int children = strcmp(part, "during-calls") != 0;
    const int during = strcmp(part, "children") != 0;
    if (!children && !during) {
        fprintf(stderr, "usage: %s [children|during-calls]\n", argv[0]);
        return 2;
    }
#ifdef FOCAL_TEST_ASAN
    if (!children) {
        puts("SKIP: under AddressSanitizer a child forked while other threads allocate can "
             "block forever on the runtime's allocator lock");
        return 77;
    }
#endif
    light = proc_quick() || proc_under_valgrind();
#ifndef __OPTIMIZE__
    light = 1;   /* an unoptimised build: the coverage build */
#endif
    struct CMUnitTest tests[2];
    size_t count = 0;
    if (children)
        tests[count++] = (struct CMUnitTest)cmocka_unit_test(test_child_many_calls);
    if (during)
        tests[count++] = (struct CMUnitTest)cmocka_unit_test(test_fork_during_calls);
    return _cmocka_run_group_tests("pool_fork", tests, count, pool_cases_setup, pool_cases_teardown);
}
