/* What every stage header shares: the vector vocabulary of the including
 * kernels file (simd/vec_<isa>.h, included first) and the choice of the
 * elementary functions' accuracy.
 *
 * Stages are static inline functions of vd lanes, written once and
 * compiled into every kernel table. Their `lo` argument is a constant of
 * the instantiation: 1 where results are stored in float or narrower
 * (the cheaper functions' relative error, below 2^-32, is far below the
 * final rounding), 0 for double. */
#ifndef FOCAL_STAGE_H
#define FOCAL_STAGE_H

#ifndef V_LANES
#  error "include a simd/vec_<isa>.h before the stages"
#endif

#define ST_EXP(x, lo) ((lo) ? v_exp_lo(x) : v_exp(x))
#define ST_LOG(x, lo) ((lo) ? v_log_lo(x) : v_log(x))
#define ST_LOG1P(x, lo) ((lo) ? v_log1p_lo(x) : v_log1p(x))
#define ST_LOG1P_UNIT(u, r, lo) ((lo) ? v_log1p_unit_lo((u), (r)) : v_log1p_unit((u), (r)))
#define ST_RECIP1P_UNIT(u, lo) ((lo) ? v_recip1p_unit_lo(u) : v_recip1p_unit(u))
/* a / d: a times the estimate v_recip_lo(d) where results are stored in
 * float or narrower (lo), the instruction set's estimate is cheaper than
 * its division (V_RECIP_CHEAP) and `est` (the caller's proof that d is in
 * [2^-125, 2^125], the estimate's range: the product is then finite
 * where a is); the division otherwise (0 / d is 0 for every d > 0). */
/* The smallest divisor a caller's `est` vouches for (twice the range's
 * lower end). */
#define ST_QUOT_MIN 0x1p-124
#define ST_QUOT(a, d, est, lo) (((est) && (lo) && V_RECIP_CHEAP) ? v_mul((a), v_recip_lo(d)) : v_div((a), (d)))

/* Forced inline where the compiler optimises, plain otherwise (see
 * V_INLINE). */
#if defined(__OPTIMIZE__) && !defined(FOCAL_NO_FORCE_INLINE)
#  define ST_INLINE static inline __attribute__((always_inline))
#else
#  define ST_INLINE static inline
#endif

#endif /* FOCAL_STAGE_H */
