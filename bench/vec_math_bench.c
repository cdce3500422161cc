/* Throughput of the vector table's math (src/simd/vec_<isa>.h): ns and
 * core cycles per element of v_exp, v_log, v_log1p and their _lo variants
 * over arrays that stay in L1, as the library's hot loops call them. One
 * program per instruction set, like tests/simd/test_vec_math.c:
 *
 *   gcc -O2 -std=c11 -mavx2 -mfma -Isrc '-DVEC_HEADER="simd/vec_avx2.h"' \
 *       bench/vec_math_bench.c -lm -o vec_math_bench_avx2
 *
 * (bench/CMakeLists.txt builds vec_math_bench_scalar, _avx2 and _avx512).
 * Cycles come from the core clock measured in the same run with a chain of
 * dependent integer additions (one cycle each). */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include VEC_HEADER

#define N 1024

static double in[N] __attribute__((aligned(64)));
static double out[N] __attribute__((aligned(64)));

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ns per cycle: dependent one-cycle register adds (not adds of an
 * immediate, which recent cores fold away at rename). */
static double ns_per_cycle_once(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    uint64_t x = 0, one = 1, n = 1u << 16;
    const double t0 = now();
    __asm__ volatile("1:\n\t"
                     "add %2, %0\n\t"
                     "add %2, %0\n\t"
                     "add %2, %0\n\t"
                     "add %2, %0\n\t"
                     "dec %1\n\t"
                     "jnz 1b"
                     : "+r"(x), "+r"(n)
                     : "r"(one));
    return (now() - t0) / (4.0 * (1u << 16)) * 1e9;
#else
    return NAN;
#endif
}

#define KERNEL(fn)                                                       \
    static void run_##fn(void)                                           \
    {                                                                    \
        for (int i = 0; i < N; i += V_LANES)                             \
            v_store(out + i, fn(v_load(in + i)));                        \
    }

static vd copy(vd x) { return x; }
KERNEL(copy)
KERNEL(v_exp)
KERNEL(v_exp_lo)
KERNEL(v_log)
KERNEL(v_log_lo)
KERNEL(v_log1p)
KERNEL(v_log1p_lo)

/* q^gamma as the modulating factor of a focal loss computes it */
static vd pow_lo(vd q) { return v_exp_lo(v_mul(v_set(2.5), v_log_lo(q))); }
static vd pow_full(vd q) { return v_exp(v_mul(v_set(2.5), v_log(q))); }
KERNEL(pow_lo)
KERNEL(pow_full)

static uint64_t g_rng = 0x243f6a8885a308d3u;
static double uniform(double a, double b)
{
    g_rng = g_rng * 6364136223846793005u + 1442695040888963407u;
    return a + (b - a) * (double)(g_rng >> 11) * 0x1p-53;
}

static volatile double g_sink;

/* Short trials, many of them, the fastest counting: on a shared machine a
 * trial that nothing interrupted is the one that measures the code. */
#define TRIALS 3000

static double ns_per_cycle(void)
{
    double best = 1e9;
    for (int t = 0; t < TRIALS; t++) {
        const double c = ns_per_cycle_once();
        best = c < best ? c : best;
    }
    return best;
}

static double time_per_element(void (*run_arg)(void))
{
    /* called through a volatile pointer, so that no compiler merges the
     * repeated calls or drops the copy kernel's identical stores */
    void (*volatile run)(void) = run_arg;
    double best = 1e9;
    for (int t = 0; t < TRIALS; t++) {
        const double t0 = now();
        for (int r = 0; r < 32; r++)
            run();
        const double ns = (now() - t0) / (32.0 * N) * 1e9;
        best = ns < best ? ns : best;
    }
    g_sink = out[N / 2];
    return best;
}

static double g_cycle;

static void bench(const char *name, void (*run)(void), const char *inputs, double a, double b, int log_uniform)
{
    for (int i = 0; i < N; i++)
        in[i] = log_uniform ? exp(uniform(log(a), log(b))) : uniform(a, b);
    const double ns = time_per_element(run);
    printf("%-8s %-12s %-22s %7.3f ns  %6.2f cycles per element\n", V_ISA, name, inputs, ns, ns / g_cycle);
}

int main(void)
{
    g_cycle = ns_per_cycle();
    printf("%d lanes, %d-element arrays, best of %d trials; core clock %.2f GHz\n", V_LANES, N, TRIALS,
           1.0 / g_cycle);
    bench("copy", run_copy, "[-30, 10]", -30, 10, 0);
    bench("v_exp", run_v_exp, "[-30, 10]", -30, 10, 0);
    bench("v_exp_lo", run_v_exp_lo, "[-30, 10]", -30, 10, 0);
    bench("v_exp", run_v_exp, "[-700, 700]", -700, 700, 0);
    bench("v_log", run_v_log, "(0, 1]", 0x1p-30, 1, 0);
    bench("v_log_lo", run_v_log_lo, "(0, 1]", 0x1p-30, 1, 0);
    bench("v_log", run_v_log, "[1e-300, 1e300] log-u", 1e-300, 1e300, 1);
    bench("v_log1p", run_v_log1p, "[0, 1]", 0, 1, 0);
    bench("v_log1p_lo", run_v_log1p_lo, "[0, 1]", 0, 1, 0);
    bench("v_log1p", run_v_log1p, "[1e-6, 1e6] log-u", 1e-6, 1e6, 1);
    bench("exp(g log)", run_pow_full, "(0, 1]", 0x1p-30, 1, 0);
    bench("_lo of it", run_pow_lo, "(0, 1]", 0x1p-30, 1, 0);
    return 0;
}
