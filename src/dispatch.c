/* Instruction-set dispatch: the CPU and the OS are probed once, and the
 * tables of the widest level both support (capped by FOCAL_MAX_ISA) serve
 * every call of the process. This file is compiled for the baseline CPU,
 * so probing never executes an instruction the CPU may lack. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#if defined(__AVX__) || defined(__AVX2__) || defined(__AVX512F__)
#  error "dispatch.c must be compiled for the baseline instruction set"
#endif

#if (defined(FOCAL_HAVE_AVX2) || defined(FOCAL_HAVE_AVX512)) && defined(__x86_64__) && defined(__GNUC__)
#  include <cpuid.h>
#  define FOCAL_X86 1
#endif

#ifndef FOCAL_HAVE_AVX2
const focal_kernels *const focal_kernels_avx2[FOCAL_DTYPES] = {NULL, NULL, NULL, NULL};
#endif
#ifndef FOCAL_HAVE_AVX512
const focal_kernels *const focal_kernels_avx512[FOCAL_DTYPES] = {NULL, NULL, NULL, NULL};
#endif

static focal_isa_level supported = FOCAL_ISA_SCALAR, chosen = FOCAL_ISA_SCALAR;

/* simd/vec_avx512.h: the AVX-512 tables' bfloat16 stores use the CPU's
 * float-to-bfloat16 instruction where this is 1. Set here once, before any
 * table serves a call. */
int focal_cpu_avx512_bf16;
static pthread_once_t once = PTHREAD_ONCE_INIT;

#ifdef FOCAL_X86
static unsigned long long xcr0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static focal_isa_level cpu_level(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return FOCAL_ISA_SCALAR;
    /* F16C converts the float16 storage. */
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!fma || !osxsave || !avx || !f16c || __get_cpuid_max(0, NULL) < 7)
        return FOCAL_ISA_SCALAR;
    /* The OS must save what the kernels use: XMM and YMM (XCR0 bits 1,
     * 2), and for AVX-512 the mask and ZMM registers (bits 5, 6, 7). */
    const unsigned long long x = xcr0();
    if ((x & 0x6) != 0x6)
        return FOCAL_ISA_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((b >> 5) & 1))
        return FOCAL_ISA_SCALAR;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (f && dq && bw && vl && (x & 0xe0) == 0xe0) {
        __cpuid_count(7, 1, a, b, c, d);
        focal_cpu_avx512_bf16 = (int)((a >> 5) & 1u);
        return FOCAL_ISA_AVX512;
    }
    return FOCAL_ISA_AVX2;
}
#endif

static void detect(void)
{
#ifdef FOCAL_X86
    supported = cpu_level();
#endif
    /* Only what this build compiled in. */
    while (supported > FOCAL_ISA_SCALAR && focal_kernels_of(supported, FOCAL_F32) == NULL)
        supported = (focal_isa_level)(supported - 1);
    chosen = supported;
    /* FOCAL_MAX_ISA caps the level; any other value is ignored. */
    const char *cap = getenv("FOCAL_MAX_ISA");
    static const char *const names[] = {"scalar", "avx2", "avx512"};
    for (int level = 0; cap != NULL && level < 3; level++)
        if (strcmp(cap, names[level]) == 0 && (focal_isa_level)level < chosen)
            chosen = (focal_isa_level)level;
}

const focal_kernels *focal_kernels_of(focal_isa_level level, focal_dtype dtype)
{
    switch (level) {
    case FOCAL_ISA_AVX512:
        return focal_kernels_avx512[dtype];
    case FOCAL_ISA_AVX2:
        return focal_kernels_avx2[dtype];
    case FOCAL_ISA_SCALAR:
    default:
        return focal_kernels_scalar[dtype];
    }
}

focal_isa_level focal_isa_current(void)
{
    pthread_once(&once, detect);
    return chosen;
}

focal_isa_level focal_isa_supported(void)
{
    pthread_once(&once, detect);
    return supported;
}

const focal_kernels *focal_kernels_for(focal_dtype dtype)
{
    return focal_kernels_of(focal_isa_current(), dtype);
}

const char *focal_isa(void)
{
    return focal_kernels_for(FOCAL_F32)->isa;
}

void focal_isa_override(focal_isa_level level)
{
    pthread_once(&once, detect);
    chosen = level;
}
