/* Instruction-set dispatch: the CPU is probed once, and the kernels of the
 * widest path it supports (capped by FOCAL_MAX_ISA) are used from then on.
 * This file is compiled for the baseline CPU, so probing itself never
 * executes an instruction the CPU may lack. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__AVX__) || defined(__AVX2__)
#  error "dispatch.c must be compiled for the baseline instruction set"
#endif

#if defined(FOCAL_HAVE_AVX2_KERNELS) && (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#  include <cpuid.h>
#  define FOCAL_X86 1
#endif

static focal_isa_level isa_level = FOCAL_ISA_SCALAR;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

#ifdef FOCAL_X86
static int cpu_has_avx2_fma(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!fma || !osxsave || !avx)
        return 0;
    /* The OS must save the YMM registers: XCR0 bits 1 (SSE) and 2 (AVX). */
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    if ((xcr0_lo & 6u) != 6u)
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;
}
#endif

static void isa_detect(void)
{
    const char *cap = getenv("FOCAL_MAX_ISA");
    const int scalar_only = cap != NULL && strcmp(cap, "scalar") == 0;
#ifdef FOCAL_X86
    if (!scalar_only && cpu_has_avx2_fma())
        isa_level = FOCAL_ISA_AVX2;
#else
    (void)scalar_only;
#endif
}

focal_isa_level focal_isa_current(void)
{
    pthread_once(&isa_once, isa_detect);
    return isa_level;
}

const char *focal_isa(void)
{
    return focal_isa_current() == FOCAL_ISA_AVX2 ? "avx2" : "scalar";
}
