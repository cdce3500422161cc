/* AVX2+FMA kernels for float32 logits: the hot loops of the softmax
 * (index targets) and sigmoid modes. Compiled with -mavx2 -mfma and called
 * only when dispatch.c found both on the CPU. They compute the same
 * formulas as the portable path (docs/math.md) in float32, with sums of a
 * row in float lanes and the row totals in double. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "simd_avx2.h"

/* q^gamma for one double, the exponents of the common cases exact. */
static double pow_gamma(double q, double gamma)
{
    if (gamma == 2.0)
        return q * q;
    if (gamma == 1.0)
        return q;
    if (gamma == 0.0)
        return 1.0;
    return pow(q, gamma);
}

static inline __m256 load_row(const float *p, int64_t j, int64_t c, __m256i tail, __m256 fill)
{
    if (j + 8 <= c)
        return _mm256_loadu_ps(p + j);
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p + j, tail), _mm256_castsi256_ps(tail));
}

static inline void store_row(float *p, int64_t j, int64_t c, __m256i tail, __m256 v)
{
    if (j + 8 <= c)
        _mm256_storeu_ps(p + j, v);
    else
        _mm256_maskstore_ps(p + j, tail, v);
}

/* Sum of e[0..c) in float lanes, totalled in double. */
static double sum_row(const float *e, int64_t c, __m256i tail)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= c; j += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(e + j));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(e + j + 8));
    }
    for (; j < c; j += 8)
        a0 = _mm256_add_ps(a0, load_row(e, j, c, tail, _mm256_setzero_ps()));
    return focal_v_hsum_pd(_mm256_add_ps(a0, a1));
}

/* dst[i] = src[i] * k for n (a multiple of 8) floats, dst 32-byte
 * aligned, with non-temporal stores. */
static inline void stream_scaled(float *dst, const float *src, int64_t n, __m256 k)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_stream_ps(dst + i, _mm256_mul_ps(_mm256_loadu_ps(src + i), k));
        _mm256_stream_ps(dst + i + 8, _mm256_mul_ps(_mm256_loadu_ps(src + i + 8), k));
    }
    if (i < n)
        _mm256_stream_ps(dst + i, _mm256_mul_ps(_mm256_loadu_ps(src + i), k));
}

/* e_j of one row into e: exp(x_j) (x_j capped at 88, where exp stays
 * finite) when direct, else exp(x_j - max); returns their sum. Prefetches
 * the next row, one cache line per step, so that its loads overlap this
 * row's arithmetic (prefetches never fault). */
static inline __attribute__((always_inline)) double rows_exps(const float *xr, int64_t c, __m256i tail, int direct,
                                                              __m256 vmax, float *e)
{
    const __m256 cap = focal_v_set(88.0f), ninf = focal_v_set(-__builtin_inff());
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= c; j += 16) {
        if (direct)
            _mm_prefetch((const char *)(xr + c + j), _MM_HINT_T0);
        const __m256 a0 = _mm256_loadu_ps(xr + j), a1 = _mm256_loadu_ps(xr + j + 8);
        /* min returns its second operand for NaN: a NaN logit stays NaN. */
        const __m256 e0 = focal_v_exp_neg(direct ? _mm256_min_ps(cap, a0) : _mm256_sub_ps(a0, vmax));
        const __m256 e1 = focal_v_exp_neg(direct ? _mm256_min_ps(cap, a1) : _mm256_sub_ps(a1, vmax));
        _mm256_storeu_ps(e + j, e0);
        _mm256_storeu_ps(e + j + 8, e1);
        s0 = _mm256_add_ps(s0, e0);
        s1 = _mm256_add_ps(s1, e1);
    }
    for (; j < c; j += 8) {
        const __m256 a = load_row(xr, j, c, tail, ninf);
        const __m256 v = focal_v_exp_neg(direct ? _mm256_min_ps(cap, a) : _mm256_sub_ps(a, vmax));
        store_row(e, j, c, tail, v);
        s0 = _mm256_add_ps(s0, v);
    }
    return focal_v_hsum_pd(_mm256_add_ps(s0, s1));
}

void focal_avx2_softmax_rows(const float *x, int64_t rows, int64_t c, const int64_t *target,
                             double gamma, const float *gs, float *grad, float *e, double *term,
                             int stream)
{
    const __m256i tail = focal_v_tail_mask((int)(c & 7));
    const __m256 ninf = focal_v_set(-__builtin_inff());
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *gr = grad != NULL ? grad + r * c : NULL;
        const int64_t t = target[r];
        if (t < 0) {
            term[r] = 0;
            if (gr != NULL)
                memset(gr, 0, (size_t)c * sizeof(float));
            continue;
        }
        /* e_j = exp(x_j) directly, without a pass for the maximum; a row
         * whose e_t is below 2^-20 or whose sum is above 2^100 (or NaN) is
         * redone relative to its maximum (see the planes kernel). */
        int direct = 1;
        float m = 0.0f;
        double sum = rows_exps(xr, c, tail, 1, _mm256_setzero_ps(), e);
        if (!(e[t] >= 0x1p-20f) || !(sum <= 0x1p100)) {
            direct = 0;
            __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
            int64_t jm = 0;
            for (; jm + 32 <= c; jm += 32) {
                m0 = _mm256_max_ps(m0, _mm256_loadu_ps(xr + jm));
                m1 = _mm256_max_ps(m1, _mm256_loadu_ps(xr + jm + 8));
                m2 = _mm256_max_ps(m2, _mm256_loadu_ps(xr + jm + 16));
                m3 = _mm256_max_ps(m3, _mm256_loadu_ps(xr + jm + 24));
            }
            for (; jm < c; jm += 8)
                m0 = _mm256_max_ps(m0, load_row(xr, jm, c, tail, ninf));
            m = focal_v_hmax(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
            sum = rows_exps(xr, c, tail, 0, focal_v_set(m), e);
        }
        const double et = e[t], xt = xr[t];
        /* The other classes' mass, summed directly where subtracting the
         * target's share from the total would cancel. */
        double others = sum - et;
        if (!(et <= 0.25 * sum)) {
            const float keep = e[t];
            e[t] = 0;
            others = sum_row(e, c, tail);
            e[t] = keep;
        }
        const double total = et + others;
        const double l = direct ? -log1p(others / et) : xt == m ? -log1p(others) : (xt - m) - log(total);
        const double p = et / total, q = others / total;
        const double f = pow_gamma(q, gamma);
        term[r] = -f * l;
        if (gr == NULL)
            continue;
        const double pl = p > 0 ? p * l : 0.0;
        const double big_g = (double)gs[r] * f * (q - gamma * pl);
        const float rho = others != 0 ? (float)(big_g / others) : 0.0f;
        int64_t j;
        if (!stream) {
            const __m256 vrho = focal_v_set(rho);
            for (j = 0; j + 8 <= c; j += 8)
                _mm256_storeu_ps(gr + j, _mm256_mul_ps(_mm256_loadu_ps(e + j), vrho));
            if (j < c)
                store_row(gr, j, c, tail, _mm256_mul_ps(load_row(e, j, c, tail, _mm256_setzero_ps()), vrho));
            gr[t] = (float)-big_g;
            continue;
        }
        /* Non-temporal stores for a gradient too large to stay in cache:
         * no read-for-ownership of lines that are only written. */
        e[t] = 0;
        const float gt = (float)-big_g;
        for (j = 0; j < c && ((uintptr_t)(gr + j) & 31) != 0; j++)
            gr[j] = j == t ? gt : e[j] * rho;
        const __m256 vrho = focal_v_set(rho);
        /* Whole vectors: plain ones around the one that holds the target,
         * which gets the target's value blended in. */
        const int64_t full = j + ((c - j) & ~(int64_t)7);
        const int64_t at = t >= j && t < full ? j + ((t - j) & ~(int64_t)7) : full;
        stream_scaled(gr + j, e + j, at - j, vrho);
        if (at < full) {
            const __m256i lane = _mm256_cmpeq_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                    _mm256_set1_epi32((int)(t - at)));
            _mm256_stream_ps(gr + at, _mm256_blendv_ps(_mm256_mul_ps(_mm256_loadu_ps(e + at), vrho), focal_v_set(gt),
                                                       _mm256_castsi256_ps(lane)));
            stream_scaled(gr + at + 8, e + at + 8, full - at - 8, vrho);
        }
        for (j = full; j < c; j++)
            gr[j] = j == t ? gt : e[j] * rho;
    }
    if (stream)
        _mm_sfence();
}


/* Targets of 8 positions as int32 lanes, -1 where the target is `ignore`
 * (validation has put every other target in [0, c), c <= 64). */
static inline __m256i planes_targets(const int64_t *t, int64_t ignore)
{
    const __m256i ign = _mm256_set1_epi64x(ignore), none = _mm256_set1_epi64x(-1);
    __m256i lo = _mm256_loadu_si256((const __m256i *)t);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(t + 4));
    lo = _mm256_blendv_epi8(lo, none, _mm256_cmpeq_epi64(lo, ign));
    hi = _mm256_blendv_epi8(hi, none, _mm256_cmpeq_epi64(hi, ign));
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    return _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(lo, even),
                                     _mm256_permutevar8x32_epi32(hi, even), 0x20);
}

static inline __m256 planes_load(const float *p, int full, __m256i mask)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

static inline void planes_store(float *p, int full, __m256i mask, __m256 v)
{
    if (full)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, mask, v);
}

/* The per-position part of the softmax focal loss for 8 positions, from
 * log p_t = l, p_t, 1 - p_t = q and the other classes' mass `others` (on
 * the scale of the e_j kept in ev): writes the loss term (0 where not
 * valid), the target's gradient gt and the multiplier rho of the other
 * classes' e_j. */
static inline void planes_finish(__m256 l, __m256 p, __m256 q, __m256 others, __m256 valid, __m256 gl, float g,
                                 __m256 *term, __m256 *gt, __m256 *rho)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 f = focal_v_pow(q, g);
    *term = _mm256_and_ps(valid, _mm256_mul_ps(f, _mm256_sub_ps(zero, l)));
    const __m256 pl = _mm256_and_ps(_mm256_cmp_ps(p, zero, _CMP_GT_OQ), _mm256_mul_ps(p, l));
    const __m256 big_g = _mm256_and_ps(valid, _mm256_mul_ps(_mm256_mul_ps(gl, f), _mm256_fnmadd_ps(focal_v_set(g), pl, q)));
    *gt = _mm256_sub_ps(zero, big_g);
    *rho = _mm256_andnot_ps(_mm256_cmp_ps(others, zero, _CMP_EQ_OQ), _mm256_div_ps(big_g, others));
}

/* With e_j = exp(x_j - max) and the target's logit xt. */
static inline void planes_position(__m256 vm, __m256 xt, __m256 others, __m256 valid, __m256 gl, float g,
                                   __m256 *term, __m256 *gt, __m256 *rho)
{
    const __m256 one = focal_v_set(1.0f);
    const __m256 et = focal_v_exp_neg(_mm256_sub_ps(xt, vm));
    const __m256 sum = _mm256_add_ps(others, et);
    const __m256 inv = _mm256_div_ps(one, sum);
    /* log p_t = (x_t - max) - log1p(sum - 1), where for a target at the
     * maximum (e_t = 1) sum - 1 is exactly the other classes' mass:
     * summed, never subtracted. One log1p serves both cases, its
     * 1 / (1 + u) being 1 / sum. */
    const __m256 at_max = _mm256_cmp_ps(xt, vm, _CMP_EQ_OQ);
    const __m256 u = _mm256_blendv_ps(_mm256_sub_ps(sum, one), others, at_max);
    const __m256 l = _mm256_sub_ps(_mm256_andnot_ps(at_max, _mm256_sub_ps(xt, vm)),
                                   focal_v_log1p_inv(u, _mm256_add_ps(one, u), inv));
    planes_finish(l, _mm256_mul_ps(et, inv), _mm256_mul_ps(others, inv), others, valid, gl, g, term, gt, rho);
}

/* With e_j = exp(x_j) and the target's et: log p_t = -log1p(others / e_t),
 * no cancellation whichever class is largest. */
static inline void planes_position_direct(__m256 et, __m256 others, __m256 valid, __m256 gl, float g,
                                          __m256 *term, __m256 *gt, __m256 *rho)
{
    const __m256 one = focal_v_set(1.0f);
    const __m256 u = _mm256_div_ps(others, et);
    const __m256 w = _mm256_add_ps(one, u);
    const __m256 inv = _mm256_div_ps(one, w);
    const __m256 l = _mm256_sub_ps(_mm256_setzero_ps(), focal_v_log1p_inv(u, w, inv));
    planes_finish(l, inv, _mm256_mul_ps(u, inv), others, valid, gl, g, term, gt, rho);
}

/* e_j of every class for 16 positions into ev, and the mass of the
 * classes other than the target's. Lanes outside `redo`: e_j = exp(x_j)
 * (x_j capped at 88, where exp stays finite) and pick = the target's e_t.
 * Lanes in `redo` (only when mixed): e_j = exp(x_j - max) and pick = the
 * target's logit. */
static inline __attribute__((always_inline)) void
planes_exps(const float *x, int64_t xstride, int64_t s0, int full0, int full1, __m256i m0, __m256i m1, int64_t c,
            __m256i vt0, __m256i vt1, int mixed, __m256 redo0, __m256 redo1, __m256 vm0, __m256 vm1, __m256 *ev,
            __m256 *others0, __m256 *others1, __m256 *pick0, __m256 *pick1)
{
    const __m256i one_i = _mm256_set1_epi32(1);
    const __m256 cap = focal_v_set(88.0f);
    __m256 o0 = _mm256_setzero_ps(), o1 = o0, p0 = o0, p1 = o0;
    __m256i cv = _mm256_setzero_si256();
    const float *xp = x + s0;
#pragma GCC unroll 2
    for (int64_t cls = 0; cls < c; cls++, xp += xstride, cv = _mm256_add_epi32(cv, one_i)) {
        /* Two steps ahead in each class's run: the hardware prefetchers do
         * not follow this many streams (prefetches never fault). */
        _mm_prefetch((const char *)(xp + 32), _MM_HINT_T0);
        const __m256 a0 = planes_load(xp, full0, m0), a1 = planes_load(xp + 8, full1, m1);
        const __m256 t0 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(vt0, cv));
        const __m256 t1 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(vt1, cv));
        /* min returns its second operand for NaN: a NaN logit stays NaN. */
        __m256 d0 = _mm256_min_ps(cap, a0), d1 = _mm256_min_ps(cap, a1);
        if (mixed) {
            d0 = _mm256_blendv_ps(d0, _mm256_sub_ps(a0, vm0), redo0);
            d1 = _mm256_blendv_ps(d1, _mm256_sub_ps(a1, vm1), redo1);
        }
        const __m256 e0 = focal_v_exp_neg(d0), e1 = focal_v_exp_neg(d1);
        ev[2 * cls] = e0;
        ev[2 * cls + 1] = e1;
        o0 = _mm256_add_ps(o0, _mm256_andnot_ps(t0, e0));
        o1 = _mm256_add_ps(o1, _mm256_andnot_ps(t1, e1));
        p0 = _mm256_blendv_ps(p0, mixed ? _mm256_blendv_ps(e0, a0, redo0) : e0, t0);
        p1 = _mm256_blendv_ps(p1, mixed ? _mm256_blendv_ps(e1, a1, redo1) : e1, t1);
    }
    *others0 = o0;
    *others1 = o1;
    *pick0 = p0;
    *pick1 = p1;
}

/* One step of focal_avx2_softmax_planes: 16 positions from s0, k of them
 * real; full0 / full1 say whether each half is whole (constants in the
 * common case, so the loads and stores carry no tests). Adds the terms to
 * *total and writes them to term when not NULL. */
static inline __attribute__((always_inline)) void
planes_group(const float *x, int64_t xstride, float *grad, int64_t gstride, int64_t s0, int k, int full0,
             int full1, int64_t c, const int64_t *target, int64_t ignore, const float *gs, float scale, float g,
             double *term, int stream, __m256 *ev, __m256d *total)
{
    const __m256i none = _mm256_set1_epi32(-1);
    const __m256i m0 = focal_v_tail_mask(k), m1 = focal_v_tail_mask(k - 8);
    __m256i vt0, vt1;
    __m256 gl0, gl1;
    if (full1) {
        vt0 = planes_targets(target + s0, ignore);
        vt1 = planes_targets(target + s0 + 8, ignore);
        gl0 = gs != NULL ? _mm256_loadu_ps(gs + s0) : focal_v_set(scale);
        gl1 = gs != NULL ? _mm256_loadu_ps(gs + s0 + 8) : focal_v_set(scale);
    } else {
        int32_t tl[16];
        float fl[16];
        for (int i = 0; i < 16; i++) {
            tl[i] = i < k && target[s0 + i] != ignore ? (int32_t)target[s0 + i] : -1;
            fl[i] = i < k ? (gs != NULL ? gs[s0 + i] : scale) : 0.0f;
        }
        vt0 = _mm256_loadu_si256((const __m256i *)tl);
        vt1 = _mm256_loadu_si256((const __m256i *)(tl + 8));
        gl0 = _mm256_loadu_ps(fl);
        gl1 = _mm256_loadu_ps(fl + 8);
    }
    const __m256 valid0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vt0, none));
    const __m256 valid1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vt1, none));

    /* e_j = exp(x_j) directly: no pass for the maximum. Positions whose
     * e_t is below 2^-20 (a target logit below about -13.9: exp of a
     * logit below -87.3 flushes to 0, which must stay negligible next to
     * e_t) or whose other classes' mass is above 2^100 (a logit above
     * about 69), or NaN, are redone relative to their maximum. Each
     * position's result depends on its own logits alone. */
    __m256 others0, others1, pick0, pick1, tv0, tv1, gt0, gt1, rho0, rho1;
    const __m256 zero = _mm256_setzero_ps();
    planes_exps(x, xstride, s0, full0, full1, m0, m1, c, vt0, vt1, 0, zero, zero, zero, zero, ev, &others0, &others1,
                &pick0, &pick1);
    const __m256 tiny = focal_v_set(0x1p-20f), huge = focal_v_set(0x1p100f);
    const __m256 redo0 = _mm256_and_ps(valid0, _mm256_or_ps(_mm256_cmp_ps(pick0, tiny, _CMP_NGE_UQ),
                                                            _mm256_cmp_ps(others0, huge, _CMP_NLE_UQ)));
    const __m256 redo1 = _mm256_and_ps(valid1, _mm256_or_ps(_mm256_cmp_ps(pick1, tiny, _CMP_NGE_UQ),
                                                            _mm256_cmp_ps(others1, huge, _CMP_NLE_UQ)));
    const __m256 redo = _mm256_or_ps(redo0, redo1);
    if (_mm256_testz_ps(redo, redo)) {
        planes_position_direct(pick0, others0, valid0, gl0, g, &tv0, &gt0, &rho0);
        planes_position_direct(pick1, others1, valid1, gl1, g, &tv1, &gt1, &rho1);
    } else {
        const float *xp = x + s0;
        __m256 vm0 = focal_v_set(-__builtin_inff()), vm1 = vm0;
        for (int64_t cls = 0; cls < c; cls++, xp += xstride) {
            vm0 = _mm256_max_ps(vm0, planes_load(xp, full0, m0));
            vm1 = _mm256_max_ps(vm1, planes_load(xp + 8, full1, m1));
        }
        planes_exps(x, xstride, s0, full0, full1, m0, m1, c, vt0, vt1, 1, redo0, redo1, vm0, vm1, ev, &others0,
                    &others1, &pick0, &pick1);
        __m256 tm, gm, rm;
        planes_position_direct(pick0, others0, valid0, gl0, g, &tv0, &gt0, &rho0);
        planes_position(vm0, pick0, others0, valid0, gl0, g, &tm, &gm, &rm);
        tv0 = _mm256_blendv_ps(tv0, tm, redo0);
        gt0 = _mm256_blendv_ps(gt0, gm, redo0);
        rho0 = _mm256_blendv_ps(rho0, rm, redo0);
        planes_position_direct(pick1, others1, valid1, gl1, g, &tv1, &gt1, &rho1);
        planes_position(vm1, pick1, others1, valid1, gl1, g, &tm, &gm, &rm);
        tv1 = _mm256_blendv_ps(tv1, tm, redo1);
        gt1 = _mm256_blendv_ps(gt1, gm, redo1);
        rho1 = _mm256_blendv_ps(rho1, rm, redo1);
    }
    *total = _mm256_add_pd(*total, _mm256_add_pd(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(tv0)),
                                                               _mm256_cvtps_pd(_mm256_extractf128_ps(tv0, 1))),
                                                 _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(tv1)),
                                                               _mm256_cvtps_pd(_mm256_extractf128_ps(tv1, 1)))));
    if (term != NULL) {
        float tf[16];
        _mm256_storeu_ps(tf, tv0);
        _mm256_storeu_ps(tf + 8, tv1);
        for (int i = 0; i < k; i++)
            term[s0 + i] = tf[i];
    }
    if (grad == NULL)
        return;
    const __m256i one_i = _mm256_set1_epi32(1);
    float *gp = grad + s0;
    /* Non-temporal stores when each class's 16 gradients fill one cache
     * line: no read-for-ownership of lines that are only written. */
    const int nt = stream && full1 && (((uintptr_t)gp | (uintptr_t)(gstride * (int64_t)sizeof(float))) & 63) == 0;
    __m256i cv = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int64_t cls = 0; cls < c; cls++, gp += gstride, cv = _mm256_add_epi32(cv, one_i)) {
        const __m256 t0 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(vt0, cv));
        const __m256 t1 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(vt1, cv));
        /* Ignored positions get 0, whatever their logits. */
        const __m256 g0 = _mm256_and_ps(valid0, _mm256_blendv_ps(_mm256_mul_ps(ev[2 * cls], rho0), gt0, t0));
        const __m256 g1 = _mm256_and_ps(valid1, _mm256_blendv_ps(_mm256_mul_ps(ev[2 * cls + 1], rho1), gt1, t1));
        if (nt) {
            _mm256_stream_ps(gp, g0);
            _mm256_stream_ps(gp + 8, g1);
        } else {
            planes_store(gp, full0, m0, g0);
            planes_store(gp + 8, full1, m1, g1);
        }
    }
}

double focal_avx2_softmax_planes(const float *x, int64_t xstride, float *grad, int64_t gstride, int64_t cols,
                                 int64_t c, const int64_t *target, int64_t ignore, const float *gs, float scale,
                                 double gamma, double *term, int stream)
{
    /* Two vectors of 8 positions per step: e_j of every class kept here. */
    __m256 ev[2 * FOCAL_PLANES_MAX_C];
    const float g = (float)gamma;
    __m256d total = _mm256_setzero_pd();
    int64_t s0 = 0;
    /* Streaming: a short first step brings the rest onto cache lines. */
    const int64_t head = (int64_t)(((64 - ((uintptr_t)grad & 63)) & 63) / sizeof(float));
    if (stream && ((uintptr_t)grad & 3) == 0 && head > 0 && head < cols) {
        planes_group(x, xstride, grad, gstride, 0, (int)head, head >= 8, 0, c, target, ignore, gs, scale, g, term,
                     0, ev, &total);
        s0 = head;
    }
    for (; s0 + 16 <= cols; s0 += 16)
        planes_group(x, xstride, grad, gstride, s0, 16, 1, 1, c, target, ignore, gs, scale, g, term, stream, ev,
                     &total);
    if (s0 < cols) {
        const int k = (int)(cols - s0);
        planes_group(x, xstride, grad, gstride, s0, k, k >= 8, 0, c, target, ignore, gs, scale, g, term, 0, ev,
                     &total);
    }
    if (stream)
        _mm_sfence();
    const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(total), _mm256_extractf128_pd(total, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

/* Index targets for the pre-pass (validate.c): whether every target is
 * `ignore` (when has_ignore) or in [0, limit); adds the number not ignored
 * to *kept and of those below c to *below_c. */
int focal_avx2_scan_index(const int64_t *t, int64_t n, int has_ignore, int64_t ignore, int64_t limit, int64_t c,
                          int64_t *kept, int64_t *below_c)
{
    const __m256i ign = _mm256_set1_epi64x(ignore), lim = _mm256_set1_epi64x(limit);
    const __m256i cc = _mm256_set1_epi64x(c), neg1 = _mm256_set1_epi64x(-1);
    const __m256i use_ign = _mm256_set1_epi64x(has_ignore ? -1 : 0);
    __m256i bad = _mm256_setzero_si256(), nk = _mm256_setzero_si256(), nb = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(t + i));
        const __m256i ignored = _mm256_and_si256(use_ign, _mm256_cmpeq_epi64(v, ign));
        const __m256i in_range = _mm256_and_si256(_mm256_cmpgt_epi64(v, neg1), _mm256_cmpgt_epi64(lim, v));
        bad = _mm256_or_si256(bad, _mm256_andnot_si256(_mm256_or_si256(ignored, in_range), neg1));
        /* Masks are -1: subtracting counts them. */
        nk = _mm256_sub_epi64(nk, _mm256_andnot_si256(ignored, neg1));
        nb = _mm256_sub_epi64(nb, _mm256_andnot_si256(ignored, _mm256_cmpgt_epi64(cc, v)));
    }
    int ok = _mm256_testz_si256(bad, bad);
    int64_t lanes[4], k = 0, b = 0;
    _mm256_storeu_si256((__m256i *)lanes, nk);
    k = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    _mm256_storeu_si256((__m256i *)lanes, nb);
    b = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < n; i++) {
        const int ignored = has_ignore && t[i] == ignore;
        ok &= ignored | (t[i] >= 0 && t[i] < limit);
        k += !ignored;
        b += !ignored & (t[i] < c);
    }
    *kept += k;
    *below_c += b;
    return ok;
}

/* One vector of the sigmoid focal loss: the loss and its derivative with
 * respect to the logit, for targets vy (label smoothing applied) and, when
 * has_alpha, per-lane alphas va. Inlined into loops specialised on gamma,
 * so the common exponents fold. */
static inline __attribute__((always_inline)) void sigmoid_vec(__m256 vx, __m256 vy, int has_alpha, __m256 va,
                                                             float gamma, __m256 *loss, __m256 *d)
{
    const __m256 one = focal_v_set(1.0f), zero = _mm256_setzero_ps();
    const __m256 sign = focal_v_set(-0.0f);
    const __m256 vg = focal_v_set(gamma);
    const __m256 is_one = _mm256_cmp_ps(vy, one, _CMP_EQ_OQ);
    const __m256 is_zero = _mm256_cmp_ps(vy, zero, _CMP_EQ_OQ);
    /* e = exp(-|x|), 1 / (1 + e) and e / (1 + e) are sigmoid(|x|) and
     * sigmoid(-|x|); log1p(e) is softplus(-|x|). */
    const __m256 e = focal_v_exp_neg(_mm256_or_ps(sign, vx));
    const __m256 l1 = focal_v_log1p_unit(e);
    const __m256 inv = _mm256_div_ps(one, _mm256_add_ps(one, e));
    const __m256 pe = _mm256_mul_ps(e, inv);
    if (_mm256_movemask_ps(_mm256_or_ps(is_one, is_zero)) == 0xff) {
        /* Hard labels: with z = x for y = 0 and -x for y = 1, CE is
         * softplus(z), 1 - p_t is sigmoid(z) and p_t sigmoid(-z); the
         * derivative is sign * alpha_t m^gamma (gamma p_t CE + m), with
         * m = 1 - p_t and sign = 1 - 2y. */
        const __m256 flip = _mm256_and_ps(is_one, sign);
        const __m256 z = _mm256_xor_ps(vx, flip);
        const __m256 zpos = _mm256_cmp_ps(z, zero, _CMP_GE_OQ);
        const __m256 ce = _mm256_add_ps(_mm256_max_ps(zero, z), l1);
        const __m256 m = _mm256_blendv_ps(pe, inv, zpos);
        const __m256 r = _mm256_blendv_ps(inv, pe, zpos);
        __m256 af = focal_v_pow(m, gamma);
        if (has_alpha)
            af = _mm256_mul_ps(af, _mm256_blendv_ps(_mm256_sub_ps(one, va), va, is_one));
        *loss = _mm256_mul_ps(af, ce);
        *d = _mm256_xor_ps(flip, _mm256_mul_ps(af, _mm256_fmadd_ps(_mm256_mul_ps(vg, r), ce, m)));
        return;
    }
    /* Soft targets. Terms with a zero target weight are dropped, not
     * multiplied, so a -inf logit on a negative (masking) adds nothing. */
    const __m256 ny = _mm256_sub_ps(one, vy);
    const __m256 pos = _mm256_cmp_ps(vx, zero, _CMP_GE_OQ);
    const __m256 p = _mm256_blendv_ps(pe, inv, pos), q = _mm256_blendv_ps(inv, pe, pos);
    const __m256 sp_pos = _mm256_add_ps(_mm256_max_ps(zero, vx), l1);
    const __m256 sp_neg = _mm256_add_ps(_mm256_max_ps(zero, _mm256_xor_ps(sign, vx)), l1);
    const __m256 ce = _mm256_add_ps(
        _mm256_andnot_ps(is_zero, _mm256_mul_ps(vy, sp_neg)),
        _mm256_and_ps(_mm256_cmp_ps(ny, zero, _CMP_NEQ_UQ), _mm256_mul_ps(ny, sp_pos)));
    const __m256 m = _mm256_fmadd_ps(vy, q, _mm256_mul_ps(ny, p));
    __m256 af = focal_v_pow(m, gamma);
    if (has_alpha)
        af = _mm256_mul_ps(af, _mm256_fmadd_ps(va, vy, _mm256_mul_ps(_mm256_sub_ps(one, va), ny)));
    *loss = _mm256_mul_ps(af, ce);
    const __m256 r = _mm256_andnot_ps(_mm256_cmp_ps(m, zero, _CMP_EQ_OQ), _mm256_div_ps(_mm256_mul_ps(p, q), m));
    const __m256 lin = _mm256_fmsub_ps(p, ny, _mm256_mul_ps(vy, q));
    const __m256 two_y = _mm256_sub_ps(one, _mm256_add_ps(vy, vy));
    *d = _mm256_mul_ps(af, _mm256_fmadd_ps(_mm256_mul_ps(vg, r), _mm256_mul_ps(two_y, ce), lin));
}

/* The targets of one vector: dense ones loaded (label smoothing applied),
 * or the one-hot row of index target t. */
static inline __m256 sigmoid_targets(const float *y, int64_t t, int64_t j, int64_t c, __m256i tail, float ls)
{
    __m256 vy;
    if (y != NULL) {
        vy = load_row(y, j, c, tail, _mm256_setzero_ps());
    } else {
        /* The target's lane in this vector, in 64-bit arithmetic so that
         * no class number is truncated; -1 when it is elsewhere. */
        const int64_t lane = t - j;
        const int hit = lane >= 0 && lane < 8 ? (int)lane : -1;
        vy = _mm256_and_ps(focal_v_set(1.0f),
                           _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                                  _mm256_set1_epi32(hit))));
    }
    if (ls != 0)
        vy = _mm256_fmadd_ps(vy, focal_v_set(1.0f - ls), focal_v_set(0.5f * ls));
    return vy;
}
/* One vector of sigmoid_elements: loads, computes, stores; returns the
 * loss lanes (zero beyond a tail). */
static inline __attribute__((always_inline)) __m256
sigmoid_step(const float *x, const float *y, int64_t t, int64_t j, int64_t c, __m256i tail, const float *alpha,
             float alpha_s, int has_alpha, float ls, float gamma, __m256 vw, __m256 vscale, const float *up,
             float *grad, float *out)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 vx = load_row(x, j, c, tail, zero);
    const __m256 vy = sigmoid_targets(y, t, j, c, tail, ls);
    const __m256 va = alpha != NULL ? load_row(alpha, j, c, tail, zero) : focal_v_set(alpha_s);
    __m256 loss, d;
    sigmoid_vec(vx, vy, has_alpha, va, gamma, &loss, &d);
    if (j + 8 > c)
        loss = _mm256_and_ps(_mm256_castsi256_ps(tail), loss);
    if (out != NULL)
        store_row(out, j, c, tail, _mm256_mul_ps(vw, loss));
    if (grad != NULL) {
        __m256 gv = _mm256_mul_ps(vscale, d);
        if (up != NULL)
            gv = _mm256_mul_ps(gv, load_row(up, j, c, tail, zero));
        store_row(grad, j, c, tail, gv);
    }
    return loss;
}

/* Sums loss lanes over at most this many vectors before adding the
 * partial sum to the double total. */
#define SIGMOID_FLUSH_VECTORS 16

static inline __attribute__((always_inline)) double
sigmoid_elements(const float *x, const float *y, int64_t t, int64_t c, const float *alpha, float alpha_s,
                 int has_alpha, float ls, float gamma, float w, float scale, const float *up, float *grad,
                 float *out)
{
    const __m256i tail = focal_v_tail_mask((int)(c & 7));
    const __m256 vscale = focal_v_set(scale), vw = focal_v_set(w);
    const int64_t full = c & ~(int64_t)7;
    double total = 0;
    int64_t j = 0;
    while (j < full) {
        const int64_t end = full - j > 8 * SIGMOID_FLUSH_VECTORS ? j + 8 * SIGMOID_FLUSH_VECTORS : full;
        __m256 acc = _mm256_setzero_ps();
        /* Whole vectors: c is replaced by a bound no tail can reach. */
        for (; j < end; j += 8)
            acc = _mm256_add_ps(acc, sigmoid_step(x, y, t, j, INT64_MAX, tail, alpha, alpha_s, has_alpha, ls,
                                                  gamma, vw, vscale, up, grad, out));
        total += focal_v_hsum_pd(acc);
    }
    if (j < c)
        total += focal_v_hsum_pd(sigmoid_step(x, y, t, j, c, tail, alpha, alpha_s, has_alpha, ls, gamma, vw,
                                              vscale, up, grad, out));
    return (double)w * total;
}

double focal_avx2_sigmoid_row(const float *x, const float *y, int64_t t, int64_t c, const float *alpha,
                              int has_alpha, float alpha_s, float ls, double gamma, float w, float scale,
                              const float *up, float *grad, float *out)
{
    /* Specialised on the common exponents, each folding its power, and on
     * the common form (dense targets, one alpha or none, no label
     * smoothing, the gradient of a reduced loss). */
#define SIGMOID_GAMMA(G)                                                                                      \
    do {                                                                                                      \
        if (y != NULL && alpha == NULL && ls == 0 && up == NULL && out == NULL && grad != NULL) {             \
            if (has_alpha)                                                                                    \
                return sigmoid_elements(x, y, -1, c, NULL, alpha_s, 1, 0.0f, G, w, scale, NULL, grad, NULL);  \
            return sigmoid_elements(x, y, -1, c, NULL, 1.0f, 0, 0.0f, G, w, scale, NULL, grad, NULL);         \
        }                                                                                                     \
        return sigmoid_elements(x, y, t, c, alpha, alpha_s, has_alpha, ls, G, w, scale, up, grad, out);       \
    } while (0)
    if (gamma == 2.0)
        SIGMOID_GAMMA(2.0f);
    if (gamma == 0.0)
        SIGMOID_GAMMA(0.0f);
    if (gamma == 1.0)
        SIGMOID_GAMMA(1.0f);
    SIGMOID_GAMMA((float)gamma);
#undef SIGMOID_GAMMA
}

int64_t focal_avx2_scan_dense_f32(const float *y, int64_t n, double *sum)
{
    /* A float in [0, 1] has bits at most those of 1.0f as an unsigned
     * integer; negatives (-0 included, re-checked exactly below) and NaN
     * have more. One unsigned max per vector tracks the largest. */
    const __m256i one_bits = _mm256_set1_epi32(0x3f800000);
    double total = 0;
    for (int64_t b = 0; b < n; b += 256) {
        const int64_t e = n - b < 256 ? n - b : 256;
        const float *v = y + b;
        __m256 p0 = _mm256_setzero_ps(), p1 = p0;
        __m256i hi0 = _mm256_setzero_si256(), hi1 = hi0;
        int64_t i = 0;
        for (; i + 16 <= e; i += 16) {
            const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + 8);
            hi0 = _mm256_max_epu32(hi0, _mm256_castps_si256(x0));
            hi1 = _mm256_max_epu32(hi1, _mm256_castps_si256(x1));
            p0 = _mm256_add_ps(p0, x0);
            p1 = _mm256_add_ps(p1, x1);
        }
        for (; i + 8 <= e; i += 8) {
            const __m256 x0 = _mm256_loadu_ps(v + i);
            hi0 = _mm256_max_epu32(hi0, _mm256_castps_si256(x0));
            p0 = _mm256_add_ps(p0, x0);
        }
        const __m256i hi = _mm256_max_epu32(hi0, hi1);
        int ok = _mm256_testz_si256(_mm256_xor_si256(_mm256_max_epu32(hi, one_bits), one_bits),
                                    _mm256_set1_epi32(-1));
        float rest = 0;
        for (; i < e; i++) {
            ok &= (v[i] >= 0) & (v[i] <= 1);
            rest += v[i];
        }
        if (!ok) {
            for (i = 0; i < e; i++)
                if (!(v[i] >= 0 && v[i] <= 1))
                    return b + i;
        }
        total += focal_v_hsum_pd(_mm256_add_ps(p0, p1)) + (double)rest;
    }
    *sum += total;
    return -1;
}
