/*
 * Load and unload of the thread pool: dlopen() a module built from
 * src/exec/pool.c (tests/pool/pool_module.c), run a job with 4 workers,
 * dlclose() it, 100 times. After each dlclose the module must be gone and
 * /proc/self/task must list no pool thread (named "focal-pool"), and
 * from the second round on exactly as many threads as after the first (a
 * sanitizer's runtime may start a thread of its own once): the library's
 * destructor joined the pool's threads. Some rounds unload a module whose pool was
 * never started. Then fork() must still work (glibc dropped the module's
 * fork handler), and the program ends with a loaded module whose pool is
 * running (the destructor at exit).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

typedef int (*run_fn)(int workers, int64_t count, long long *sum);

static void *load(run_fn *run)
{
    void *h = dlopen(FOCAL_POOL_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        fail_msg("dlopen: %s", dlerror());
    *(void **)run = dlsym(h, "pool_module_run");
    assert_non_null(*run);
    return h;
}

static void test_load_unload(void **state)
{
    (void)state;
    int tasks = -1;
    assert_int_equal(proc_pool_threads(), 0);
    for (int round = 0; round < 100; round++) {
        run_fn run;
        void *h = load(&run);
        if (round % 10 != 9) {
            long long sum = 0;
            const int threads = run(4, 1000, &sum);
            assert_int_equal(sum, 999LL * 1000 / 2);
            assert_int_equal(threads, 3);
            assert_int_equal(proc_pool_threads(), 3);
        }
        assert_int_equal(dlclose(h), 0);
        /* Really unloaded, and no thread left over. */
        assert_null(dlopen(FOCAL_POOL_MODULE, RTLD_NOW | RTLD_NOLOAD));
        assert_int_equal(proc_pool_threads(), 0);
        if (round == 0)
            tasks = proc_task_count();
        assert_int_equal(proc_task_count(), tasks);
    }
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_unload),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* Exit with the module loaded and its pool running. */
    run_fn run;
    (void)load(&run);
    long long sum = 0;
    if (run(4, 100, &sum) != 3 || sum != 4950)
        return 1;
    return failed;
}
