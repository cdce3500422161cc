/*
 * The library in fresh and forked processes.
 *
 * FOCAL_MAX_ISA: the table is chosen once per process, so each value is
 * tried in a new process (this program executed again with --print-isa,
 * which prints focal_isa()). The expected table comes from the CPU
 * (__builtin_cpu_supports: AVX2, FMA and F16C for avx2; AVX-512 F, BW, DQ
 * and VL as well for avx512): "scalar", "avx2" and "avx512" cap it, any
 * other value (case, blanks, unknown names, empty) leaves it as it is, and
 * a cap never raises it.
 *
 * fork(): a child of a process whose pool has threads computes a
 * multi-threaded call (the pool starts afresh there), with the same bits
 * as the parent's calls on one and on four threads and the value of a long
 * double reference; the parent's pool works on afterwards.
 *
 * It runs itself again through /proc/self/exe, which valgrind cannot
 * start: .ci/sanitizers.sh leaves it out of its valgrind runs.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <focal/focal.h>

#include "proc.h"

/* ThreadSanitizer does not support a forked child of a process with
 * threads starting threads of its own (its registry reports the child's
 * new threads as duplicates): under it this program reports itself as
 * skipped (77) rather than passing. */
#if defined(__SANITIZE_THREAD__)
#  define FOCAL_TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define FOCAL_TEST_TSAN 1
#  endif
#endif

static const char *self_path = "/proc/self/exe";

/* ---- FOCAL_MAX_ISA ------------------------------------------------------ */

static const char *const level_names[] = {"scalar", "avx2", "avx512"};

/* The level the CPU supports, from the compiler's CPU model. */
static int cpu_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
    /* F16C has no __builtin_cpu_supports name in every compiler: CPUID. */
    unsigned a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!((c >> 29) & 1))
        return 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return 2;
    return 1;
#else
    return -1;   /* not known here */
#endif
}

/* focal_isa() of a new process with FOCAL_MAX_ISA = cap (NULL: unset). */
static void isa_of_process(const char *cap, char *out, size_t size)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        if (dup2(fd[1], STDOUT_FILENO) < 0)
            _exit(120);
        unsetenv("FOCAL_REQUIRE_ISA");
        if (cap != NULL)
            setenv("FOCAL_MAX_ISA", cap, 1);
        else
            unsetenv("FOCAL_MAX_ISA");
        execl(self_path, self_path, "--print-isa", (char *)NULL);
        _exit(121);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    assert_non_null(f);
    if (fgets(out, (int)size, f) == NULL)
        out[0] = '\0';
    fclose(f);
    assert_int_equal(proc_child_status(pid), 0);
}

static int level_of_name(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void test_max_isa_values(void **state)
{
    (void)state;
    char got[64];
    isa_of_process(NULL, got, sizeof got);
    const int natural = level_of_name(got);
    assert_true(natural >= 0);
    const int cpu = cpu_level();
    print_message("table without a cap: %s (CPU: %s)\n", got, cpu >= 0 ? level_names[cpu] : "unknown");
    if (cpu >= 0)
        assert_int_equal(natural, cpu);

    for (int cap = 0; cap < 3; cap++) {
        isa_of_process(level_names[cap], got, sizeof got);
        const int want = cap < natural ? cap : natural;
        if (strcmp(got, level_names[want]) != 0)
            fail_msg("FOCAL_MAX_ISA=%s: table %s, expected %s", level_names[cap], got, level_names[want]);
    }
    static const char *const ignored[] = {"", "AVX2", "Scalar", "scalar ", " avx2", "avx", "avx5120",
                                          "sse4", "0", "avx512f"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        isa_of_process(ignored[i], got, sizeof got);
        if (strcmp(got, level_names[natural]) != 0)
            fail_msg("FOCAL_MAX_ISA=\"%s\": table %s, expected %s (the value is not a level)", ignored[i], got,
                     level_names[natural]);
    }
}

/* ---- fork() with a live pool -------------------------------------------- */

#define FN 4096
#define FC 32   /* FN * FC values: above the size that runs on one thread */

typedef struct fork_case {
    double *x, *grad1, *grad4;
    int64_t *t;
    double out1, out4;
    long double reference;
} fork_case;

/* Mean focal loss (gamma 2) of the rows, in long double. */
static long double mean_focal(const double *x, const int64_t *t)
{
    long double sum = 0;
    for (int r = 0; r < FN; r++) {
        const double *row = x + (size_t)r * FC;
        long double m = row[0], s = 0;
        for (int c = 1; c < FC; c++)
            m = row[c] > m ? row[c] : m;
        for (int c = 0; c < FC; c++)
            s += expl(row[c] - m);
        const long double logp = (row[t[r]] - m) - logl(s), q = 1.0L - expl(logp);
        sum += -q * q * logp;
    }
    return sum / FN;
}

static int compute(const double *x, const int64_t *t, int threads, double *out, double *grad)
{
    focal_loss *loss = NULL;
    if (focal_loss_create(&loss, FOCAL_MODE_SOFTMAX) != FOCAL_OK)
        return 0;
    const int ok = focal_loss_set_threads(loss, threads) == FOCAL_OK &&
                   focal_forward_backward_f64(loss, FN, FC, 1, x, t, NULL, out, grad) == FOCAL_OK;
    focal_loss_destroy(loss);
    return ok;
}

/* The child: the call on four threads, against the parent's results. */
static int child_compute(const fork_case *fc)
{
    double *grad = malloc(sizeof(double) * FN * FC);
    double out = NAN;
    if (grad == NULL)
        return 10;
    int rc = 0;
    if (!compute(fc->x, fc->t, 4, &out, grad))
        rc = 11;
    else if (memcmp(&out, &fc->out1, sizeof out) != 0)
        rc = 12;
    else if (memcmp(grad, fc->grad1, sizeof(double) * FN * FC) != 0)
        rc = 13;
    else if (proc_pool_threads() < 1)
        rc = 14;   /* four workers on a fresh pool: it started threads */
    free(grad);
    return rc;
}

static void test_fork_with_pool(void **state)
{
    (void)state;
    fork_case fc = {0};
    fc.x = malloc(sizeof(double) * FN * FC);
    fc.grad1 = malloc(sizeof(double) * FN * FC);
    fc.grad4 = malloc(sizeof(double) * FN * FC);
    fc.t = malloc(sizeof(int64_t) * FN);
    assert_non_null(fc.x);
    assert_non_null(fc.grad1);
    assert_non_null(fc.grad4);
    assert_non_null(fc.t);
    uint64_t s = 12345;
    for (int i = 0; i < FN * FC; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        fc.x[i] = (double)(s >> 11) * 0x1p-53 * 8.0 - 4.0;
    }
    for (int r = 0; r < FN; r++)
        fc.t[r] = (r * 7) % FC;
    fc.reference = mean_focal(fc.x, fc.t);

    assert_true(compute(fc.x, fc.t, 1, &fc.out1, fc.grad1));
    assert_true(compute(fc.x, fc.t, 4, &fc.out4, fc.grad4));
    if (fabsl(fc.out1 - fc.reference) > 1e-12L * fabsl(fc.reference))
        fail_msg("loss %.17g, reference %.17Lg", fc.out1, fc.reference);
    assert_memory_equal(&fc.out1, &fc.out4, sizeof fc.out1);
    assert_memory_equal(fc.grad1, fc.grad4, sizeof(double) * FN * FC);
    const int parent_threads = proc_pool_threads();
    print_message("pool threads in the parent: %d\n", parent_threads);

    for (int round = 0; round < 3; round++) {
        fflush(NULL);
        const pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(60);
            exit(child_compute(&fc));   /* exit(): the coverage counters are written */
        }
        const int st = proc_child_status(pid);
        if (st != 0)
            fail_msg("child %d: status %d (11 call failed, 12 loss differs, 13 gradient differs, 14 no pool "
                     "thread)",
                     round, st);
    }
    /* The parent's pool is untouched. */
    double out = NAN;
    assert_true(compute(fc.x, fc.t, 4, &out, fc.grad4));
    assert_memory_equal(&out, &fc.out1, sizeof out);
    assert_memory_equal(fc.grad1, fc.grad4, sizeof(double) * FN * FC);
    assert_int_equal(proc_pool_threads(), parent_threads);
    free(fc.x);
    free(fc.grad1);
    free(fc.grad4);
    free(fc.t);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-isa") == 0) {
        fputs(focal_isa(), stdout);
        return 0;
    }
#ifdef FOCAL_TEST_TSAN
    puts("SKIP: ThreadSanitizer cannot run a forked child that starts threads (test_fork_with_pool)");
    return 77;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_isa_values),
        cmocka_unit_test(test_fork_with_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
