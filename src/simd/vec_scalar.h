/* The vector vocabulary the stages are written in, with one lane: the
 * portable table. Every simd/vec_<isa>.h defines exactly the names below
 * with the same meaning, for its own lane count; the stage code
 * (src/stages/) and the kernel bodies (src/kernels/kernels_body.h) use
 * nothing else, so they compile unchanged for every instruction set.
 *
 * All arithmetic is in double, whatever the storage type: loads widen and
 * stores round once, to nearest even.
 *
 * Types
 *   vd         V_LANES doubles            vm   a mask of V_LANES lanes
 *   vi         V_LANES int64 lanes        V_LANES, V_ISA ("scalar", ...)
 *
 * Construction, loads, stores (pointers need no alignment; a _part
 * function touches only the first n lanes' memory, 0 <= n <= V_LANES, and
 * fills the other lanes with `fill`):
 *   v_set(d) v_zero() v_iota()                  lanes 0, 1, 2, ...
 *   v_load(p) v_store(p, v) v_load_part(p, n, fill) v_store_part(p, n, v)
 *   v_load_f32(p) v_store_f32(p, v) v_load_f32_part(p, n, fill)
 *   v_store_f32_part(p, n, v)                   float storage, widened /
 *                                               rounded to nearest even
 *   v_load_bf16 v_store_bf16 v_load_bf16_part v_store_bf16_part
 *   v_load_f16 v_store_f16 v_load_f16_part v_store_f16_part
 *                                               bfloat16 and IEEE binary16
 *                                               storage (uint16_t bit
 *                                               patterns), widened exactly;
 *                                               stores round the double
 *                                               once to nearest even (never
 *                                               through float, which would
 *                                               round twice), overflow to
 *                                               inf, NaN to a quiet NaN of
 *                                               the same sign
 *   vi_set(i) vi_iota() vi_load(p) vi_load_part(p, n, fill) vi_add(a, b)
 *   vi_eq(a, b) -> vm                           int64 lanes
 *   vi_ltu(a, b) -> vm                          a < b as unsigned 64-bit
 *   v_gather(base, idx, m)                      base[idx] in the lanes of
 *                                               m, 0 elsewhere (idx of the
 *                                               other lanes is not read)
 *   v_prefetch(p)                               asks for p's cache line
 *                                               ahead of use; never faults
 *   v_stream(p, v) v_stream_f32(p, v)           non-temporal stores of a
 *                                               whole vector, p aligned to
 *                                               the bytes stored; then
 *   v_stream_fence()                            before the data is used
 *
 * Arithmetic (IEEE double, one rounding each; fma rounds once):
 *   v_add v_sub v_mul v_div v_sqrt v_neg v_abs
 *   v_fma(a, b, c)  = a*b + c      v_fnma(a, b, c) = c - a*b
 *   v_recip(d) v_recip_lo(d)     1 / d for a positive d in [2^-125, 2^125],
 *                   within 2 ulp (_lo: relative error below 2^-32), without
 *                   the divider where the instruction set has an estimate
 *   v_min(a, b)     = a < b ? a : b   v_max(a, b) = a > b ? a : b
 *                     (so a NaN in a yields b, as x86 minpd / maxpd)
 *
 * Comparisons (false where either lane is NaN, but v_ne and v_isnan):
 *   v_lt v_le v_gt v_ge v_eq v_ne v_isnan
 * Masks: m_and m_or m_andnot(a, b) = a & ~b  m_not  m_true() m_first(n)
 *   m_any(m) m_all(m) -> int
 * Selection: v_sel(m, a, b) = m ? a : b    v_keep(m, a) = m ? a : 0
 * Reductions: v_hsum(v) (a fixed order of additions, so results never
 *   depend on anything but the lanes) v_hmax(v) (ignores no NaN: a NaN
 *   lane may or may not win; callers test NaN separately)
 *
 * Math, over the whole double range (C99 special values: exp(-inf) = 0,
 * exp(+inf) = +inf, overflow to +inf, underflow to 0 or a subnormal;
 * log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf; log1p(-1) = -inf,
 * log1p(x < -1) = NaN; NaN in, NaN out):
 *   v_exp v_log v_log1p        within 2 ulp of the exact result
 *   v_log1p_unit(u, &r)        log1p(u) and r = 1 / (1 + u) for u in
 *                              [0, 1] (NaN passes), each within 4 ulp:
 *                              the pair log-sigmoid needs, for one
 *                              division
 *   v_recip1p_unit(u)          v_log1p_unit's r alone, the same bits
 *   v_exp_lo v_log_lo v_log1p_lo v_log1p_unit_lo v_recip1p_unit_lo
 *                              relative error below 2^-32 (for
 *                              results stored in float, bfloat16 or
 *                              float16: amplified by the formulas'
 *                              powers, still far below their final
 *                              rounding); same special values
 * The portable table takes them from the C library.
 */
#ifndef FOCAL_VEC_SCALAR_H
#define FOCAL_VEC_SCALAR_H

#include <math.h>
#include <stdint.h>

#define V_LANES 1
#define V_ISA "scalar"
/* V_RECIP_CHEAP: 1 where v_recip_lo costs less than a division, so that
 * stages take it where its error (below 2^-32) is far below the result's
 * rounding (float storage) and the divisor is in its range. */
#define V_RECIP_CHEAP 0

typedef double vd;
typedef int vm;
typedef int64_t vi;

/* Forced inline where the compiler optimises (the kernels are built from
 * these pieces, specialised by constants); plain functions otherwise, so
 * that unoptimised and coverage builds stay small and fast to compile. */
#if defined(__OPTIMIZE__) && !defined(FOCAL_NO_FORCE_INLINE)
#  define V_INLINE static inline __attribute__((always_inline))
#else
#  define V_INLINE static inline
#endif

V_INLINE vd v_set(double d) { return d; }
V_INLINE vd v_zero(void) { return 0.0; }
V_INLINE vd v_iota(void) { return 0.0; }
V_INLINE vd v_load(const double *p) { return *p; }
V_INLINE void v_store(double *p, vd v) { *p = v; }
V_INLINE vd v_load_part(const double *p, int n, double fill) { return n > 0 ? *p : fill; }
V_INLINE void v_store_part(double *p, int n, vd v)
{
    if (n > 0)
        *p = v;
}
V_INLINE vd v_load_f32(const float *p) { return (double)*p; }
V_INLINE void v_store_f32(float *p, vd v) { *p = (float)v; }
V_INLINE vd v_load_f32_part(const float *p, int n, double fill) { return n > 0 ? (double)*p : fill; }
V_INLINE void v_store_f32_part(float *p, int n, vd v)
{
    if (n > 0)
        *p = (float)v;
}

/* Half storage. vx_round_half(v, drop, tiny, big) is v rounded to nearest
 * even at the precision of a format with 52 - drop fraction bits whose
 * smallest normal is tiny and whose subnormals are multiples of big *
 * 2^-52: normal magnitudes by rounding the double's bits (a carry out of
 * the fraction steps the exponent, as it should), smaller ones by adding
 * and removing big, which makes the FPU round at the subnormal spacing.
 * The result is exactly representable in float, so a float conversion
 * after it is exact. NaN and inf pass. */
V_INLINE double vx_round_half(double v, int drop, double tiny, double big)
{
    if (v != v)
        return v;
    const double a = fabs(v);
    if (a < tiny)
        return copysign((a + big) - big, v);
    uint64_t b;
    __builtin_memcpy(&b, &v, sizeof b);
    b += (((uint64_t)1 << (drop - 1)) - 1) + ((b >> drop) & 1);
    b &= ~(((uint64_t)1 << drop) - 1);
    double r;
    __builtin_memcpy(&r, &b, sizeof r);
    return r;
}
#define VX_BF16_ROUND(v) vx_round_half((v), 45, 0x1p-126, 0x1p-81)
#define VX_F16_ROUND(v) vx_round_half((v), 42, 0x1p-14, 0x1p28)

V_INLINE vd v_load_bf16(const uint16_t *p)
{
    const uint32_t u = (uint32_t)*p << 16;
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return (double)f;
}
V_INLINE void v_store_bf16(uint16_t *p, vd v)
{
    const float f = (float)VX_BF16_ROUND(v);
    uint32_t u;
    __builtin_memcpy(&u, &f, sizeof u);
    *p = (uint16_t)(u >> 16);
}
V_INLINE vd v_load_f16(const uint16_t *p)
{
    const uint16_t h = *p;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f)
        return m != 0 ? copysign(NAN, sign) : sign * INFINITY;
    if (e == 0)
        return sign * (double)m * 0x1p-24;
    return sign * (double)(m | 0x400) * ldexp(1.0, e - 25);
}
V_INLINE void v_store_f16(uint16_t *p, vd v)
{
    const double r = VX_F16_ROUND(v);
    const uint16_t sign = signbit(r) ? 0x8000 : 0;
    const double a = fabs(r);
    if (r != r)
        *p = (uint16_t)(sign | 0x7e00);
    else if (a >= 65536.0)
        *p = (uint16_t)(sign | 0x7c00);
    else if (a < 0x1p-14)
        *p = (uint16_t)(sign | (uint16_t)(a * 0x1p24));
    else {
        int e;
        const double f = frexp(a, &e);            /* a = f 2^e, f in [0.5, 1) */
        *p = (uint16_t)(sign | (uint16_t)((e + 14) << 10) | (uint16_t)((int)(f * 2048.0) & 0x3ff));
    }
}
#define VX_HALF_PART(T)                                                                                        \
    V_INLINE vd v_load_##T##_part(const uint16_t *p, int n, double fill) { return n > 0 ? v_load_##T(p) : fill; } \
    V_INLINE void v_store_##T##_part(uint16_t *p, int n, vd v)                                                \
    {                                                                                                          \
        if (n > 0)                                                                                             \
            v_store_##T(p, v);                                                                                 \
    }
VX_HALF_PART(bf16)
VX_HALF_PART(f16)
#undef VX_HALF_PART

V_INLINE vi vi_set(int64_t i) { return i; }
V_INLINE vi vi_iota(void) { return 0; }
V_INLINE vi vi_load(const int64_t *p) { return *p; }
V_INLINE vi vi_load_part(const int64_t *p, int n, int64_t fill) { return n > 0 ? *p : fill; }
V_INLINE vi vi_add(vi a, vi b) { return (vi)((uint64_t)a + (uint64_t)b); }
V_INLINE vm vi_eq(vi a, vi b) { return a == b; }
V_INLINE vm vi_ltu(vi a, vi b) { return (uint64_t)a < (uint64_t)b; }
V_INLINE vd v_gather(const double *base, vi idx, vm m) { return m ? base[idx] : 0.0; }

/* Non-temporal stores: plain ones with one lane. */
V_INLINE void v_stream(double *p, vd v) { *p = v; }
V_INLINE void v_stream_f32(float *p, vd v) { *p = (float)v; }
V_INLINE void v_stream_fence(void) {}

/* Asks for the cache line at p ahead of its use; never faults. */
V_INLINE void v_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

V_INLINE vd v_add(vd a, vd b) { return a + b; }
V_INLINE vd v_sub(vd a, vd b) { return a - b; }
V_INLINE vd v_mul(vd a, vd b) { return a * b; }
V_INLINE vd v_div(vd a, vd b) { return a / b; }
V_INLINE vd v_sqrt(vd a) { return sqrt(a); }
V_INLINE vd v_recip(vd d) { return 1.0 / d; }
V_INLINE vd v_recip_lo(vd d) { return 1.0 / d; }
V_INLINE vd v_neg(vd a) { return -a; }
V_INLINE vd v_abs(vd a) { return fabs(a); }
V_INLINE vd v_fma(vd a, vd b, vd c) { return fma(a, b, c); }
V_INLINE vd v_fnma(vd a, vd b, vd c) { return fma(-a, b, c); }
V_INLINE vd v_min(vd a, vd b) { return a < b ? a : b; }
V_INLINE vd v_max(vd a, vd b) { return a > b ? a : b; }

V_INLINE vm v_lt(vd a, vd b) { return a < b; }
V_INLINE vm v_le(vd a, vd b) { return a <= b; }
V_INLINE vm v_gt(vd a, vd b) { return a > b; }
V_INLINE vm v_ge(vd a, vd b) { return a >= b; }
V_INLINE vm v_eq(vd a, vd b) { return a == b; }
V_INLINE vm v_ne(vd a, vd b) { return a != b; }
V_INLINE vm v_isnan(vd a) { return a != a; }

V_INLINE vm m_and(vm a, vm b) { return a & b; }
V_INLINE vm m_or(vm a, vm b) { return a | b; }
V_INLINE vm m_andnot(vm a, vm b) { return a & !b; }
V_INLINE vm m_not(vm a) { return !a; }
V_INLINE vm m_true(void) { return 1; }
V_INLINE vm m_first(int n) { return n > 0; }
V_INLINE int m_any(vm m) { return m; }
V_INLINE int m_all(vm m) { return m; }

V_INLINE vd v_sel(vm m, vd a, vd b) { return m ? a : b; }
V_INLINE vd v_keep(vm m, vd a) { return m ? a : 0.0; }

V_INLINE double v_hsum(vd v) { return v; }
V_INLINE double v_hmax(vd v) { return v; }

V_INLINE vd v_exp(vd x) { return exp(x); }
V_INLINE vd v_log(vd x) { return log(x); }
V_INLINE vd v_log1p(vd x) { return log1p(x); }
V_INLINE vd v_exp_lo(vd x) { return exp(x); }
V_INLINE vd v_log_lo(vd x) { return log(x); }
V_INLINE vd v_log1p_lo(vd x) { return log1p(x); }
V_INLINE vd v_log1p_unit(vd u, vd *recip)
{
    *recip = 1.0 / (1.0 + u);
    return log1p(u);
}
V_INLINE vd v_log1p_unit_lo(vd u, vd *recip) { return v_log1p_unit(u, recip); }
V_INLINE vd v_recip1p_unit(vd u) { return 1.0 / (1.0 + u); }
V_INLINE vd v_recip1p_unit_lo(vd u) { return v_recip1p_unit(u); }

#endif /* FOCAL_VEC_SCALAR_H */
