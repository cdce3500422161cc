/* The vector vocabulary of simd/vec_scalar.h (read its header comment: it
 * is the specification) for AVX2 + FMA, four double lanes. Compile with
 * -mavx2 -mfma.
 *
 * vm is a __m256d whose lanes are all ones (true) or all zeros (false), as
 * the compare instructions make them, so a mask is also a bit pattern for
 * v_keep's and and blendv's sign bit. Masks not made by this header's
 * functions must keep that form.
 *
 * v_hsum adds ((l0 + l2) + (l1 + l3)); v_hmax takes the maxima in the same
 * order.
 *
 * Names beginning with vx_ or vmath_ are internal (the vmath_ ones are the
 * primitives simd/vec_math.h builds exp, log and log1p from). */
#ifndef FOCAL_VEC_AVX2_H
#define FOCAL_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#define V_LANES 4
#define V_ISA "avx2"
/* The estimate goes through float (rcpps): dividing is faster here. */
#define V_RECIP_CHEAP 0

typedef __m256d vd;
typedef __m256d vm;
typedef __m256i vi;

/* Forced inline where the compiler optimises (the kernels are built from
 * these pieces, specialised by constants); plain functions otherwise, so
 * that unoptimised and coverage builds stay small and fast to compile. */
#if defined(__OPTIMIZE__) && !defined(FOCAL_NO_FORCE_INLINE)
#  define V_INLINE static inline __attribute__((always_inline))
#else
#  define V_INLINE static inline
#endif

V_INLINE vd v_set(double d) { return _mm256_set1_pd(d); }
V_INLINE vd v_zero(void) { return _mm256_setzero_pd(); }
V_INLINE vd v_iota(void) { return _mm256_setr_pd(0.0, 1.0, 2.0, 3.0); }

V_INLINE vm m_first(int n)
{
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)));
}

/* The 32-bit lanes of m_first(n), for the float loads and stores. */
V_INLINE __m128i vx_first32(int n) { return _mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3)); }

/* vmaskmov neither reads nor writes the masked-off lanes' memory (and
 * does not fault there), so a tail at the end of a mapping is safe. */
V_INLINE vd v_load(const double *p) { return _mm256_loadu_pd(p); }
V_INLINE void v_store(double *p, vd v) { _mm256_storeu_pd(p, v); }
V_INLINE vd v_load_part(const double *p, int n, double fill)
{
    const vm m = m_first(n);
    return _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, _mm256_castpd_si256(m)), m);
}
V_INLINE void v_store_part(double *p, int n, vd v) { _mm256_maskstore_pd(p, _mm256_castpd_si256(m_first(n)), v); }

/* cvtpd2ps rounds by MXCSR, round to nearest even unless a caller changed
 * it; NaN stays NaN (quieted), overflow gives inf. */
V_INLINE vd v_load_f32(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
V_INLINE void v_store_f32(float *p, vd v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
V_INLINE vd v_load_f32_part(const float *p, int n, double fill)
{
    const vd x = _mm256_cvtps_pd(_mm_maskload_ps(p, vx_first32(n)));
    return _mm256_blendv_pd(_mm256_set1_pd(fill), x, m_first(n));
}
V_INLINE void v_store_f32_part(float *p, int n, vd v) { _mm_maskstore_ps(p, vx_first32(n), _mm256_cvtpd_ps(v)); }

/* Half storage (see vx_round_half in simd/vec_scalar.h for the rounding:
 * the double is rounded once, at the format's precision, then narrowed
 * exactly). The 16-bit lanes have no masked load or store here, so a part
 * goes through a small buffer. */
V_INLINE vd vx_round_half(vd v, int drop, double tiny, double big)
{
    const __m256i b = _mm256_castpd_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi64(b, drop), _mm256_set1_epi64x(1));
    const __m256i bias = _mm256_add_epi64(_mm256_set1_epi64x(((int64_t)1 << (drop - 1)) - 1), odd);
    const __m256i r = _mm256_andnot_si256(_mm256_set1_epi64x(((int64_t)1 << drop) - 1), _mm256_add_epi64(b, bias));
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d a = _mm256_andnot_pd(sign, v);
    const __m256d s = _mm256_or_pd(_mm256_sub_pd(_mm256_add_pd(a, _mm256_set1_pd(big)), _mm256_set1_pd(big)),
                                   _mm256_and_pd(sign, v));
    const __m256d x = _mm256_blendv_pd(_mm256_castsi256_pd(r), s, _mm256_cmp_pd(a, _mm256_set1_pd(tiny), _CMP_LT_OQ));
    return _mm256_blendv_pd(x, v, _mm256_cmp_pd(v, v, _CMP_UNORD_Q));
}
/* bfloat16: the nearest float, then half up at bfloat16's precision. Two
 * roundings give the double rounded once wherever the float is not a tie
 * of bfloat16's grid (a float strictly inside one half of a bfloat16
 * interval came from a double inside it too: the float grid holds the
 * midpoint), subnormals and overflow included, as both formats share
 * their exponent range. A vector with a tie, or a NaN (whose payload the
 * addition could carry into the sign), rounds the double directly. */
V_INLINE __m128i vx_to_bf16(vd v)
{
    const __m128i f = _mm_castps_si128(_mm256_cvtpd_ps(v));
    const __m128i tie = _mm_cmpeq_epi32(_mm_and_si128(f, _mm_set1_epi32(0xffff)), _mm_set1_epi32(0x8000));
    const __m128 nan = _mm_cmpunord_ps(_mm_castsi128_ps(f), _mm_castsi128_ps(f));
    __m128i r;
    if (__builtin_expect(_mm_movemask_ps(_mm_or_ps(_mm_castsi128_ps(tie), nan)) != 0, 0))
        r = _mm_srli_epi32(_mm_castps_si128(_mm256_cvtpd_ps(vx_round_half(v, 45, 0x1p-126, 0x1p-81))), 16);
    else
        r = _mm_srli_epi32(_mm_add_epi32(f, _mm_set1_epi32(0x8000)), 16);
    return _mm_packus_epi32(r, r);
}
V_INLINE __m128i vx_to_f16(vd v)
{
    return _mm_cvtps_ph(_mm256_cvtpd_ps(vx_round_half(v, 42, 0x1p-14, 0x1p28)), _MM_FROUND_TO_NEAREST_INT);
}
/* A bfloat16 is the upper half of its float. */
V_INLINE vd vx_from_bf16(__m128i h) { return _mm256_cvtps_pd(_mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h))); }
V_INLINE vd vx_from_f16(__m128i h) { return _mm256_cvtps_pd(_mm_cvtph_ps(h)); }
V_INLINE __m128i vx_load4x16(const uint16_t *p) { return _mm_loadl_epi64((const __m128i *)(const void *)p); }
V_INLINE __m128i vx_load4x16_part(const uint16_t *p, int n)
{
    uint16_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++)
        t[i] = p[i];
    return vx_load4x16(t);
}
V_INLINE void vx_store4x16_part(uint16_t *p, int n, __m128i h)
{
    uint16_t t[4];
    _mm_storel_epi64((__m128i *)(void *)t, h);
    for (int i = 0; i < n; i++)
        p[i] = t[i];
}
#define VX_HALF(T)                                                                                             \
    V_INLINE vd v_load_##T(const uint16_t *p) { return vx_from_##T(vx_load4x16(p)); }                         \
    V_INLINE void v_store_##T(uint16_t *p, vd v) { _mm_storel_epi64((__m128i *)(void *)p, vx_to_##T(v)); }     \
    V_INLINE vd v_load_##T##_part(const uint16_t *p, int n, double fill)                                       \
    {                                                                                                          \
        return _mm256_blendv_pd(_mm256_set1_pd(fill), vx_from_##T(vx_load4x16_part(p, n)), m_first(n));        \
    }                                                                                                          \
    V_INLINE void v_store_##T##_part(uint16_t *p, int n, vd v) { vx_store4x16_part(p, n, vx_to_##T(v)); }
VX_HALF(bf16)
VX_HALF(f16)
#undef VX_HALF

V_INLINE vi vi_set(int64_t i) { return _mm256_set1_epi64x(i); }
V_INLINE vi vi_iota(void) { return _mm256_setr_epi64x(0, 1, 2, 3); }
V_INLINE vi vi_load(const int64_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
V_INLINE vi vi_load_part(const int64_t *p, int n, int64_t fill)
{
    const __m256i m = _mm256_castpd_si256(m_first(n));
    const __m256i x = _mm256_maskload_epi64((const long long *)(const void *)p, m);
    return _mm256_blendv_epi8(_mm256_set1_epi64x(fill), x, m);
}
V_INLINE vi vi_add(vi a, vi b) { return _mm256_add_epi64(a, b); }
V_INLINE vm vi_eq(vi a, vi b) { return _mm256_castsi256_pd(_mm256_cmpeq_epi64(a, b)); }
/* AVX2 compares int64 only as signed: flipping both sign bits maps the
 * unsigned order onto the signed one. */
V_INLINE vm vi_ltu(vi a, vi b)
{
    const __m256i bias = _mm256_set1_epi64x(INT64_MIN);
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_xor_si256(b, bias), _mm256_xor_si256(a, bias)));
}
/* vgatherqpd loads only the lanes whose mask sign bit is set and keeps the
 * source's (zero) elsewhere. */
V_INLINE vd v_gather(const double *base, vi idx, vm m)
{
    /* Masked-off lanes' indices set to 0, so that tools which check every
     * lane's address (AddressSanitizer) see none out of range. */
    const __m256i safe = _mm256_and_si256(idx, _mm256_castpd_si256(m));
    return _mm256_mask_i64gather_pd(_mm256_setzero_pd(), base, safe, m, 8);
}

/* Non-temporal stores of a whole vector: p aligned to the stored bytes
 * (32 for doubles, 16 for floats); then v_stream_fence before the data
 * is handed on. */
V_INLINE void v_stream(double *p, vd v) { _mm256_stream_pd(p, v); }
V_INLINE void v_stream_f32(float *p, vd v) { _mm_stream_ps(p, _mm256_cvtpd_ps(v)); }
V_INLINE void v_stream_fence(void) { _mm_sfence(); }

/* Asks for the cache line at p ahead of its use; never faults. */
V_INLINE void v_prefetch(const void *p) { _mm_prefetch((const char *)(p), _MM_HINT_T0); }

V_INLINE vd v_add(vd a, vd b) { return _mm256_add_pd(a, b); }
V_INLINE vd v_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
V_INLINE vd v_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
V_INLINE vd v_div(vd a, vd b) { return _mm256_div_pd(a, b); }
V_INLINE vd v_sqrt(vd a) { return _mm256_sqrt_pd(a); }
/* 1 / d without the divider (which takes 8 cycles a vector): float's
 * 12-bit estimate, then a cubic Newton step (to 2^-36) and, for the full
 * version, a quadratic one. d in [2^-125, 2^125]. */
V_INLINE vd v_recip_lo(vd d)
{
    const vd r = _mm256_cvtps_pd(_mm_rcp_ps(_mm256_cvtpd_ps(d)));
    const vd e = _mm256_fnmadd_pd(d, r, _mm256_set1_pd(1.0));
    return _mm256_fmadd_pd(r, _mm256_fmadd_pd(e, e, e), r);
}
V_INLINE vd v_recip(vd d)
{
    const vd r = v_recip_lo(d);
    return _mm256_fmadd_pd(r, _mm256_fnmadd_pd(d, r, _mm256_set1_pd(1.0)), r);
}
V_INLINE vd v_neg(vd a) { return _mm256_xor_pd(a, _mm256_set1_pd(-0.0)); }
V_INLINE vd v_abs(vd a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
V_INLINE vd v_fma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
V_INLINE vd v_fnma(vd a, vd b, vd c) { return _mm256_fnmadd_pd(a, b, c); }
/* minpd / maxpd: the second operand when the first is not strictly
 * smaller (larger), which includes either being NaN. */
V_INLINE vd v_min(vd a, vd b) { return _mm256_min_pd(a, b); }
V_INLINE vd v_max(vd a, vd b) { return _mm256_max_pd(a, b); }

V_INLINE vm v_lt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
V_INLINE vm v_le(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
V_INLINE vm v_gt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
V_INLINE vm v_ge(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
V_INLINE vm v_eq(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
V_INLINE vm v_ne(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_NEQ_UQ); }
V_INLINE vm v_isnan(vd a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }

V_INLINE vm m_and(vm a, vm b) { return _mm256_and_pd(a, b); }
V_INLINE vm m_or(vm a, vm b) { return _mm256_or_pd(a, b); }
V_INLINE vm m_andnot(vm a, vm b) { return _mm256_andnot_pd(b, a); }
V_INLINE vm m_true(void) { return _mm256_castsi256_pd(_mm256_set1_epi64x(-1)); }
V_INLINE vm m_not(vm a) { return _mm256_xor_pd(a, m_true()); }
V_INLINE int m_any(vm m) { return _mm256_movemask_pd(m) != 0; }
V_INLINE int m_all(vm m) { return _mm256_movemask_pd(m) == 0xf; }

V_INLINE vd v_sel(vm m, vd a, vd b) { return _mm256_blendv_pd(b, a, m); }
V_INLINE vd v_keep(vm m, vd a) { return _mm256_and_pd(m, a); }

V_INLINE double v_hsum(vd v)
{
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
V_INLINE double v_hmax(vd v)
{
    const __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}

/* The primitives of simd/vec_math.h. */
#define VMATH_SCALE_IS_CHEAP 0

/* 2^k for an integer k in [-1022, 1023]: k + 1023 shifted into the
 * exponent field. */
V_INLINE vd vmath_pow2(vd k)
{
    const __m256i t = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(0x1.8p52 + 1023.0)));
    return _mm256_castsi256_pd(_mm256_slli_epi64(t, 52));
}

/* n added to the exponent field: two integer instructions, no rounding. */
V_INLINE vd vmath_scale_normal(vd p, vd n, vd t)
{
    (void)n;
    return _mm256_castsi256_pd(
        _mm256_add_epi64(_mm256_castpd_si256(p), _mm256_slli_epi64(_mm256_castpd_si256(t), 52)));
}

/* Two factors 2^n1 2^n2, n1 + n2 = n, each within the normal exponents:
 * p 2^n1 is exact and the second product rounds once, also into the
 * subnormals. */
V_INLINE vd vmath_scale(vd p, vd n)
{
    const vd shift = _mm256_set1_pd(0x1.8p52);
    const vd n1 = _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(n, _mm256_set1_pd(0.5)), shift), shift);
    const vd n2 = _mm256_sub_pd(n, n1);
    return _mm256_mul_pd(_mm256_mul_pd(p, vmath_pow2(n1)), vmath_pow2(n2));
}

/* e is clamped so that 2^-e stays normal; c is 0 in the lanes clamped. */
V_INLINE vd vmath_scale_down(vd c, vd e)
{
    const vd k = _mm256_sub_pd(_mm256_set1_pd(0x1.8p52 + 1023.0), _mm256_min_pd(e, _mm256_set1_pd(1022.0)));
    return _mm256_mul_pd(c, _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(k), 52)));
}

/* With C the bits of sqrt(1/2), t = bits(x) - C + (1023 << 52) has e + 1023
 * in its exponent field and m's offset from sqrt(1/2) in its mantissa: the
 * mantissa range [sqrt(1/2), sqrt(2)) without a compare. e + 1023 is in
 * [1, 2047] for normal x; e comes out of 2^52 + (e + 1023) exactly. */
V_INLINE vd vmath_frexp(vd x, vd *e)
{
    const __m256i c = _mm256_set1_epi64x(0x3fe6a09e667f3bcdLL);
    const __m256i t = _mm256_sub_epi64(_mm256_castpd_si256(x), _mm256_set1_epi64x(0x3fe6a09e667f3bcdLL - 0x3ff0000000000000LL));
    const __m256i k = _mm256_srli_epi64(t, 52);
    *e = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(k, _mm256_set1_epi64x(0x4330000000000000LL))),
                       _mm256_set1_pd(0x1p52 + 1023.0));
    return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_and_si256(t, _mm256_set1_epi64x(0x000fffffffffffffLL)), c));
}

V_INLINE vm vmath_pos_normal(vd x)
{
    return m_and(v_ge(x, _mm256_set1_pd(0x1p-1022)), v_le(x, _mm256_set1_pd(0x1.fffffffffffffp+1023)));
}

#include "vec_math.h"

#endif /* FOCAL_VEC_AVX2_H */
