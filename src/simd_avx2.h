/* Vectorised float32 exp and log for the AVX2+FMA kernels. Only included
 * by files compiled with -mavx2 -mfma.
 *
 * Accuracy (measured against glibc's double-precision exp and log over
 * their whole float range by tests/test_simd_math.c): exp within 2 ulp,
 * log and log1p within 2 ulp. Special values follow C99: exp(-inf) = 0,
 * exp(+inf) = +inf, results below FLT_MIN flush to 0 (focal_v_exp_neg's
 * are 0 or a positive value below FLT_MIN); log(0) = -inf,
 * log(x < 0) = NaN, log(+inf) = +inf; NaN propagates through both. */
#ifndef FOCAL_SIMD_AVX2_H
#define FOCAL_SIMD_AVX2_H

#include <immintrin.h>

static inline __m256 focal_v_set(float v) { return _mm256_set1_ps(v); }

/* e^r for |r| <= ln2 / 2: 1 + r + c2 r^2 + ... + c6 r^6, the c_k fitted
 * for least maximum relative error (3.1e-9, below float's rounding). */
static inline __m256 focal_v_exp_poly(__m256 r)
{
    __m256 p = _mm256_fmadd_ps(focal_v_set(1.3814540580e-3f), r, focal_v_set(8.3687454462e-3f));
    p = _mm256_fmadd_ps(p, r, focal_v_set(4.1668388993e-2f));
    p = _mm256_fmadd_ps(p, r, focal_v_set(1.6666521132e-1f));
    p = _mm256_fmadd_ps(p, r, focal_v_set(4.9999994040e-1f));
    p = _mm256_fmadd_ps(p, r, focal_v_set(1.0f));
    return _mm256_fmadd_ps(p, r, focal_v_set(1.0f));
}

/* exp(x): x = n ln2 + r, |r| <= ln2 / 2, e^r by focal_v_exp_poly. */
static inline __m256 focal_v_exp(__m256 x)
{
    const __m256 hi = focal_v_set(88.72283172607421875f);   /* > ln(FLT_MAX) */
    const __m256 lo = focal_v_set(-87.33654022216796875f);  /* ln(FLT_MIN) */
    /* max/min return their second operand for NaN, so NaN passes through. */
    __m256 xc = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, focal_v_set(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, focal_v_set(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, focal_v_set(-2.12194440e-4f), r);
    const __m256 p = focal_v_exp_poly(r);
    /* 2^n for n in [-126, 128]: split in two factors so n = 128 (x just
     * below ln(FLT_MAX) rounds up) does not overflow the exponent field. */
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, focal_v_set(__builtin_inff()), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    return y;
}


/* log(m 2^e) from f = m - 1, with m in [sqrt(1/2), sqrt(2)): a polynomial
 * in f (Cephes' logf coefficients) plus e ln 2 split in two parts. */
static inline __m256 focal_v_log_reduced(__m256 f, __m256 e)
{
    const __m256 z = _mm256_mul_ps(f, f);
    __m256 p = _mm256_fmadd_ps(focal_v_set(7.0376836292e-2f), f, focal_v_set(-1.1514610310e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(1.1676998740e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(-1.2420140846e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(1.4249322787e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(-1.6668057665e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(2.0000714765e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(-2.4999993993e-1f));
    p = _mm256_fmadd_ps(p, f, focal_v_set(3.3333331174e-1f));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
    y = _mm256_fmadd_ps(e, focal_v_set(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(z, focal_v_set(0.5f), y);
    y = _mm256_add_ps(f, y);
    return _mm256_fmadd_ps(e, focal_v_set(0.693359375f), y);
}

/* exp(x) for x <= 88 (or NaN), as in exp(x - max), exp(x_j) capped at 88
 * and exp(-|x|): no overflow to handle, 2^n with n <= 127 fitting the
 * exponent field. n = round(x / ln 2) comes from adding and subtracting
 * 1.5 * 2^23; 2^n is applied by adding n to the exponent field of e^r. For
 * x just above ln(FLT_MIN) the result may be a positive value below
 * FLT_MIN; below ln(FLT_MIN), and for -inf, it is 0. */
static inline __m256 focal_v_exp_neg(__m256 x)
{
    const __m256 lo = focal_v_set(-87.33654022216796875f);
    const __m256 shift = focal_v_set(12582912.0f);   /* 1.5 * 2^23 */
    const __m256 xc = _mm256_max_ps(lo, x);           /* NaN passes through */
    const __m256 t = _mm256_fmadd_ps(xc, focal_v_set(1.44269504088896341f), shift);
    const __m256 n = _mm256_sub_ps(t, shift);
    __m256 r = _mm256_fnmadd_ps(n, focal_v_set(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, focal_v_set(-2.12194440e-4f), r);
    const __m256 p = focal_v_exp_poly(r);
    /* n converts exactly; a NaN converts to 0x80000000, which the shift
     * turns into 0, so NaN keeps its bits. */
    const __m256i bits = _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), _mm256_castsi256_ps(bits));
}

/* log1p(u) for u in [0, 1] (as log1p(exp(-|x|))): 2 atanh(s) with
 * s = u / (2 + u) in [0, 1/3], as 2s (1 + t P(t)), t = s^2, P of degree 3
 * fitted for least maximum relative error (4.5e-9). */
static inline __m256 focal_v_log1p_unit(__m256 u)
{
    const __m256 two = focal_v_set(2.0f);
    const __m256 d = _mm256_add_ps(u, two);
    /* d's rounding error, exactly (|2| >= |u|), taken out of the quotient:
     * s = u / (d + err) ~ q - q err / d, the small correction needing
     * only an approximate 1 / d. */
    const __m256 err = _mm256_add_ps(_mm256_sub_ps(two, d), u);
    const __m256 q = _mm256_div_ps(u, d);
    const __m256 s = _mm256_fnmadd_ps(_mm256_mul_ps(q, err), _mm256_rcp_ps(d), q);
    const __m256 t = _mm256_mul_ps(s, s);
    __m256 p = _mm256_fmadd_ps(focal_v_set(1.4012233913e-1f), t, focal_v_set(1.3999569416e-1f));
    p = _mm256_fmadd_ps(p, t, focal_v_set(2.0010849833e-1f));
    p = _mm256_fmadd_ps(p, t, focal_v_set(3.3333206177e-1f));
    const __m256 s2 = _mm256_add_ps(s, s);
    return _mm256_fmadd_ps(s2, _mm256_mul_ps(p, t), s2);
}

/* log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by a
 * polynomial in f = m - 1. Subnormal inputs are scaled up first. */
static inline __m256 focal_v_log(__m256 x)
{
    const __m256 tiny = focal_v_set(1.17549435e-38f);
    const __m256 sub = _mm256_cmp_ps(x, tiny, _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, focal_v_set(8388608.0f)), sub);
    __m256 e_adj = _mm256_blendv_ps(_mm256_setzero_ps(), focal_v_set(-23.0f), sub);
    const __m256i bits = _mm256_castps_si256(xs);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    /* m in [0.5, 1): bring it to [sqrt(1/2), sqrt(2)). */
    const __m256 small = _mm256_cmp_ps(m, focal_v_set(0.707106781186547524f), _CMP_LT_OQ);
    e = _mm256_add_ps(_mm256_sub_ps(e, _mm256_and_ps(small, focal_v_set(1.0f))), e_adj);
    const __m256 f = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), focal_v_set(1.0f));
    __m256 y = focal_v_log_reduced(f, e);
    /* Special values. */
    y = _mm256_blendv_ps(y, focal_v_set(-__builtin_inff()), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    y = _mm256_blendv_ps(y, focal_v_set(__builtin_nanf("")), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, focal_v_set(__builtin_inff()), _CMP_EQ_OQ));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return y;
}

/* log1p(u) for u >= 0 (or u > -1): log(w) corrected by the rounding of
 * w = 1 + u, so tiny u keep their full precision. */
static inline __m256 focal_v_log1p(__m256 u)
{
    const __m256 w = _mm256_add_ps(u, focal_v_set(1.0f));
    const __m256 d = _mm256_sub_ps(_mm256_sub_ps(w, focal_v_set(1.0f)), u);
    __m256 y = _mm256_sub_ps(focal_v_log(w), _mm256_div_ps(d, w));
    /* w == 1 exactly: log1p(u) = u to full precision. */
    return _mm256_blendv_ps(y, u, _mm256_cmp_ps(w, focal_v_set(1.0f), _CMP_EQ_OQ));
}

/* log1p(u) given w = 1 + u and inv = 1 / w, already at hand. */
static inline __m256 focal_v_log1p_inv(__m256 u, __m256 w, __m256 inv)
{
    const __m256 d = _mm256_sub_ps(_mm256_sub_ps(w, focal_v_set(1.0f)), u);
    const __m256 y = _mm256_fnmadd_ps(d, inv, focal_v_log(w));
    return _mm256_blendv_ps(y, u, _mm256_cmp_ps(w, focal_v_set(1.0f), _CMP_EQ_OQ));
}

/* q^gamma for q >= 0 with the common exponents exact and fast. */
static inline __m256 focal_v_pow(__m256 q, float gamma)
{
    if (gamma == 2.0f)
        return _mm256_mul_ps(q, q);
    if (gamma == 1.0f)
        return q;
    if (gamma == 0.0f)
        return focal_v_set(1.0f);
    if (gamma == 3.0f)
        return _mm256_mul_ps(_mm256_mul_ps(q, q), q);
    /* log(0) = -inf and exp(-inf) = 0: q = 0 gives 0 for gamma > 0. */
    return focal_v_exp(_mm256_mul_ps(focal_v_set(gamma), focal_v_log(q)));
}

/* Horizontal reductions. */
static inline float focal_v_hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline double focal_v_hsum_pd(__m256 v)
{
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    const __m256d s = _mm256_add_pd(a, b);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    t = _mm_add_sd(t, _mm_unpackhi_pd(t, t));
    return _mm_cvtsd_f64(t);
}

/* A mask with the first k of 8 lanes set, for row tails. */
static inline __m256i focal_v_tail_mask(int k)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), idx);
}

#endif /* FOCAL_SIMD_AVX2_H */
