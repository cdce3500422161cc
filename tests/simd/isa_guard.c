/* Exits with 77 (ctest's skip) before main when the CPU cannot run the
 * instruction set the test program was compiled for. Compiled without the
 * test's -m flags, and run as a constructor, because the compiler may use
 * those instructions anywhere in the test's own file, main's prologue
 * included. VEC_GUARD_AVX2 or VEC_GUARD_AVX512 says which set. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((unused)) static void skip(const char *isa)
{
    printf("skipped: CPU lacks %s\n", isa);
    fflush(stdout);
    exit(77);
}

__attribute__((constructor)) static void vec_isa_guard(void)
{
#if defined(VEC_GUARD_AVX512) || defined(VEC_GUARD_AVX2)
    /* Constructors may run before the library's own CPU detection. The
     * x86 builtins exist only on x86: the scalar program has no guard. */
    __builtin_cpu_init();
#endif
#if defined(VEC_GUARD_AVX512)
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
          __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        skip("avx512");
#elif defined(VEC_GUARD_AVX2)
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        skip("avx2");
#endif
}
