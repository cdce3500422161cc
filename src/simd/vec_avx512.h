/* The vector vocabulary of simd/vec_scalar.h (read its header comment: it
 * is the specification) for AVX-512 F + BW + DQ + VL, eight double lanes.
 * Compile with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mavx2
 * -mf16c -mavx512bf16: the one AVX-512 BF16 instruction used, the float to
 * bfloat16 conversion, runs only where CPUID says the CPU has it
 * (vx_has_bf16, from dispatch.c), so the table still needs only F, BW, DQ
 * and VL.
 *
 * vm is a __mmask8, one bit per lane (bit i is lane i), so masks combine
 * with plain C operators too; all eight bits are meaningful.
 *
 * v_hsum adds (((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))); v_hmax
 * takes the maxima in the same order.
 *
 * Names beginning with vx_ or vmath_ are internal (the vmath_ ones are the
 * primitives simd/vec_math.h builds exp, log and log1p from). */
#ifndef FOCAL_VEC_AVX512_H
#define FOCAL_VEC_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#define V_LANES 8
#define V_ISA "avx512"
/* vrcp14pd and one Newton step beat vdivpd (see V_RECIP_CHEAP in vec_scalar.h). */
#define V_RECIP_CHEAP 1

typedef __m512d vd;
typedef __mmask8 vm;
typedef __m512i vi;

/* Forced inline where the compiler optimises (the kernels are built from
 * these pieces, specialised by constants); plain functions otherwise, so
 * that unoptimised and coverage builds stay small and fast to compile. */
#if defined(__OPTIMIZE__) && !defined(FOCAL_NO_FORCE_INLINE)
#  define V_INLINE static inline __attribute__((always_inline))
#else
#  define V_INLINE static inline
#endif

V_INLINE vd v_set(double d) { return _mm512_set1_pd(d); }
V_INLINE vd v_zero(void) { return _mm512_setzero_pd(); }
V_INLINE vd v_iota(void) { return _mm512_setr_pd(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0); }

/* n = 8 gives 0xff: the shift is done in unsigned int, not in 8 bits. */
V_INLINE vm m_first(int n) { return (vm)((1u << n) - 1u); }

/* Masked loads and stores neither read nor write the masked-off lanes'
 * memory (and do not fault there). */
V_INLINE vd v_load(const double *p) { return _mm512_loadu_pd(p); }
V_INLINE void v_store(double *p, vd v) { _mm512_storeu_pd(p, v); }
V_INLINE vd v_load_part(const double *p, int n, double fill)
{
    return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), m_first(n), p);
}
V_INLINE void v_store_part(double *p, int n, vd v) { _mm512_mask_storeu_pd(p, m_first(n), v); }

/* vcvtpd2ps rounds by MXCSR, round to nearest even unless a caller
 * changed it; NaN stays NaN (quieted), overflow gives inf. */
V_INLINE vd v_load_f32(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
V_INLINE void v_store_f32(float *p, vd v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
V_INLINE vd v_load_f32_part(const float *p, int n, double fill)
{
    const vm m = m_first(n);
    /* fill is a double and stays one: it is put in after the widening. */
    return _mm512_mask_blend_pd(m, _mm512_set1_pd(fill), _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, p)));
}
V_INLINE void v_store_f32_part(float *p, int n, vd v) { _mm256_mask_storeu_ps(p, m_first(n), _mm512_cvtpd_ps(v)); }

/* Half storage. The double is first narrowed to float rounding to odd
 * (toward zero, then the last bit set where that was inexact): a float
 * keeps 24 bits, more than two beyond either half format's 8 or 11, so
 * rounding that float to nearest even gives the double rounded once to
 * nearest even (the round-to-odd theorem), subnormals, overflow and
 * signed zeros included. NaN stays NaN (quiet, its sign kept). */
V_INLINE __m256i vx_to_float_odd(vd v)
{
    const __m256 z = _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const vm inexact = _mm512_cmp_pd_mask(_mm512_cvtps_pd(z), v, _CMP_NEQ_OQ);
    const __m256i zi = _mm256_castps_si256(z);
    return _mm256_mask_or_epi32(zi, inexact, zi, _mm256_set1_epi32(1));
}
/* Whether the CPU has AVX-512 BF16: set by dispatch.c when it probes the
 * CPU, which happens before any table serves a call (pthread_once), and
 * never changed after; a plain int, so that a kernel's loop reads it once.
 * Programs that use this header without the library define it. */
extern int focal_cpu_avx512_bf16;
V_INLINE int vx_has_bf16(void) { return focal_cpu_avx512_bf16; }
/* float to bfloat16, nearest even, in integer operations: add 0x7fff plus
 * the kept part's lowest bit, drop 16 bits; NaN becomes the quiet NaN of
 * its sign. */
static __m128i vx_float_to_bf16_int(__m256i f, vd v)
{
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(f, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(f, _mm256_set1_epi32(0x7fff)), lsb), 16);
    const vm nan = _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
    r = _mm256_mask_or_epi32(r, nan, _mm256_srli_epi32(f, 16), _mm256_set1_epi32(0x40));
    return _mm256_cvtepi32_epi16(r);
}
/* vcvtneps2bf16 rounds to nearest even and quiets NaN as the integer
 * path does, but reads subnormal floats as zero: a vector holding one
 * takes the integer path. The nearest float is tried first: rounded on to
 * bfloat16 it gives the double rounded once unless it is a tie of
 * bfloat16's grid (a float strictly inside one half of a bfloat16
 * interval came from a double inside it: the float grid holds the
 * midpoint); a vector with a tie, or, without AVX-512 BF16, a NaN (whose
 * payload adding half could carry into the sign), rounds to odd first. */
V_INLINE __m128i vx_to_bf16(vd v)
{
    const __m256 n = _mm512_cvtpd_ps(v);
    const __m256i ni = _mm256_castps_si256(n);
    /* the low 16 bits of each float equal to 0x8000 */
    const unsigned tie = _mm256_mask_cmpeq_epi16_mask(0x5555, ni, _mm256_set1_epi32(0x8000));
    if (vx_has_bf16()) {
        if (!(tie | _mm256_fpclass_ps_mask(n, 0x20)))
            return (__m128i)_mm256_cvtneps_pbh(n);
    } else if (!(tie | _mm256_cmp_ps_mask(n, n, _CMP_UNORD_Q))) {
        return _mm256_cvtepi32_epi16(_mm256_srli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(0x8000)), 16));
    }
    const __m256i f = vx_to_float_odd(v);
    if (vx_has_bf16() && !_mm256_fpclass_ps_mask(_mm256_castsi256_ps(f), 0x20))
        return (__m128i)_mm256_cvtneps_pbh(_mm256_castsi256_ps(f));
    return vx_float_to_bf16_int(f, v);
}
V_INLINE __m128i vx_to_f16(vd v)
{
    return _mm256_cvtps_ph(_mm256_castsi256_ps(vx_to_float_odd(v)), _MM_FROUND_TO_NEAREST_INT);
}
/* A bfloat16 is the upper half of its float: one word permute puts each in
 * the odd word of its lane and zeroes the even ones. */
V_INLINE vd vx_from_bf16(__m128i h)
{
    const __m256i up = _mm256_setr_epi16(0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7);
    return _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_maskz_permutexvar_epi16(0xaaaa, up, _mm256_castsi128_si256(h))));
}
V_INLINE vd vx_from_f16(__m128i h) { return _mm512_cvtps_pd(_mm256_cvtph_ps(h)); }
#define VX_HALF(T)                                                                                             \
    V_INLINE vd v_load_##T(const uint16_t *p) { return vx_from_##T(_mm_loadu_si128((const __m128i *)(const void *)p)); } \
    V_INLINE void v_store_##T(uint16_t *p, vd v) { _mm_storeu_si128((__m128i *)(void *)p, vx_to_##T(v)); }   \
    V_INLINE vd v_load_##T##_part(const uint16_t *p, int n, double fill)                                       \
    {                                                                                                          \
        const vm m = m_first(n);                                                                               \
        return _mm512_mask_blend_pd(m, _mm512_set1_pd(fill), vx_from_##T(_mm_maskz_loadu_epi16(m, p)));        \
    }                                                                                                          \
    V_INLINE void v_store_##T##_part(uint16_t *p, int n, vd v) { _mm_mask_storeu_epi16(p, m_first(n), vx_to_##T(v)); }
VX_HALF(bf16)
VX_HALF(f16)
#undef VX_HALF

V_INLINE vi vi_set(int64_t i) { return _mm512_set1_epi64(i); }
V_INLINE vi vi_iota(void) { return _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7); }
V_INLINE vi vi_load(const int64_t *p) { return _mm512_loadu_si512((const void *)p); }
V_INLINE vi vi_load_part(const int64_t *p, int n, int64_t fill)
{
    return _mm512_mask_loadu_epi64(_mm512_set1_epi64(fill), m_first(n), (const void *)p);
}
V_INLINE vi vi_add(vi a, vi b) { return _mm512_add_epi64(a, b); }
V_INLINE vm vi_eq(vi a, vi b) { return _mm512_cmpeq_epi64_mask(a, b); }
V_INLINE vm vi_ltu(vi a, vi b) { return _mm512_cmplt_epu64_mask(a, b); }
/* Lanes outside m are neither loaded nor their index used; they get the
 * source's zero. Their index is also set to 0 first, so that tools which
 * check every lane's address (AddressSanitizer) see none out of range. */
V_INLINE vd v_gather(const double *base, vi idx, vm m)
{
    return _mm512_mask_i64gather_pd(_mm512_setzero_pd(), m, _mm512_maskz_mov_epi64(m, idx), base, 8);
}

/* Non-temporal stores of a whole vector: p aligned to the stored bytes
 * (64 for doubles, 32 for floats); then v_stream_fence before the data
 * is handed on. */
V_INLINE void v_stream(double *p, vd v) { _mm512_stream_pd(p, v); }
V_INLINE void v_stream_f32(float *p, vd v) { _mm256_stream_ps(p, _mm512_cvtpd_ps(v)); }
V_INLINE void v_stream_fence(void) { _mm_sfence(); }

/* Asks for the cache line at p ahead of its use; never faults. */
V_INLINE void v_prefetch(const void *p) { _mm_prefetch((const char *)(p), _MM_HINT_T0); }

V_INLINE vd v_add(vd a, vd b) { return _mm512_add_pd(a, b); }
V_INLINE vd v_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
V_INLINE vd v_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
V_INLINE vd v_div(vd a, vd b) { return _mm512_div_pd(a, b); }
V_INLINE vd v_sqrt(vd a) { return _mm512_sqrt_pd(a); }
/* 1 / d without the divider (which takes 16 cycles a vector): the 14-bit
 * estimate, then a cubic Newton step (to 2^-42) and, for the full
 * version, a quadratic one. d in [2^-1000, 2^1000]. */
V_INLINE vd v_recip_lo(vd d)
{
    const vd r = _mm512_rcp14_pd(d);
    const vd e = _mm512_fnmadd_pd(d, r, _mm512_set1_pd(1.0));
    return _mm512_fmadd_pd(r, _mm512_fmadd_pd(e, e, e), r);
}
V_INLINE vd v_recip(vd d)
{
    const vd r = v_recip_lo(d);
    return _mm512_fmadd_pd(r, _mm512_fnmadd_pd(d, r, _mm512_set1_pd(1.0)), r);
}
V_INLINE vd v_neg(vd a) { return _mm512_xor_pd(a, _mm512_set1_pd(-0.0)); }
V_INLINE vd v_abs(vd a) { return _mm512_andnot_pd(_mm512_set1_pd(-0.0), a); }
V_INLINE vd v_fma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
V_INLINE vd v_fnma(vd a, vd b, vd c) { return _mm512_fnmadd_pd(a, b, c); }
/* vminpd / vmaxpd: the second operand when the first is not strictly
 * smaller (larger), which includes either being NaN. */
V_INLINE vd v_min(vd a, vd b) { return _mm512_min_pd(a, b); }
V_INLINE vd v_max(vd a, vd b) { return _mm512_max_pd(a, b); }

V_INLINE vm v_lt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
V_INLINE vm v_le(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
V_INLINE vm v_gt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
V_INLINE vm v_ge(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
V_INLINE vm v_eq(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
V_INLINE vm v_ne(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
V_INLINE vm v_isnan(vd a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }

V_INLINE vm m_and(vm a, vm b) { return (vm)(a & b); }
V_INLINE vm m_or(vm a, vm b) { return (vm)(a | b); }
V_INLINE vm m_andnot(vm a, vm b) { return (vm)(a & ~b); }
V_INLINE vm m_not(vm a) { return (vm)~a; }
V_INLINE vm m_true(void) { return (vm)0xff; }
V_INLINE int m_any(vm m) { return m != 0; }
V_INLINE int m_all(vm m) { return m == 0xff; }

V_INLINE vd v_sel(vm m, vd a, vd b) { return _mm512_mask_blend_pd(m, b, a); }
V_INLINE vd v_keep(vm m, vd a) { return _mm512_maskz_mov_pd(m, a); }

V_INLINE double v_hsum(vd v)
{
    const __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
}
V_INLINE double v_hmax(vd v)
{
    const __m256d s4 = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    const __m128d s2 = _mm_max_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s2, _mm_unpackhi_pd(s2, s2)));
}

/* The primitives of simd/vec_math.h. vscalefpd computes p 2^floor(n) with
 * one rounding over the whole exponent range, subnormals included. */
#define VMATH_SCALE_IS_CHEAP 1

V_INLINE vd vmath_scale(vd p, vd n) { return _mm512_scalef_pd(p, n); }
V_INLINE vd vmath_scale_normal(vd p, vd n, vd t)
{
    (void)t;
    return _mm512_scalef_pd(p, n);
}
V_INLINE vd vmath_scale_down(vd c, vd e) { return _mm512_scalef_pd(c, v_neg(e)); }

/* getmant gives the mantissa in [1, 2) and getexp the exponent (both exact,
 * subnormals included); the mantissas from sqrt(2) up move down a binade. */
V_INLINE vd vmath_frexp(vd x, vd *e)
{
    const vd m = _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    const vd ex = _mm512_getexp_pd(x);
    const vm high = _mm512_cmp_pd_mask(m, _mm512_set1_pd(0x1.6a09e667f3bcdp+0), _CMP_GE_OQ);
    *e = _mm512_mask_add_pd(ex, high, ex, _mm512_set1_pd(1.0));
    return _mm512_mask_mul_pd(m, high, m, _mm512_set1_pd(0.5));
}

/* Lanes that are positive, normal and finite: one vfpclasspd (classes
 * QNaN, +-0, +-inf, subnormal, negative, SNaN) and its complement. */
V_INLINE vm vmath_pos_normal(vd x) { return (vm)~_mm512_fpclass_pd_mask(x, 0xff); }

#include "vec_math.h"

#endif /* FOCAL_VEC_AVX512_H */
