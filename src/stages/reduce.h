/* Reduction: the denominators of the reductions. The sums themselves are
 * the driver's (fixed chunks combined in order). Plain C: the plan calls
 * it once per call. */
#ifndef FOCAL_STAGE_REDUCE_H
#define FOCAL_STAGE_REDUCE_H

#include "focal/focal.h"

/* count: non-ignored positions (softmax) or elements (sigmoid);
 * weight_alpha: sum of w alpha_t over them; positives: P; divisor: the
 * context's. */
static inline double st_denominator(focal_reduction r, double count, double weight_alpha, double positives,
                                    double divisor)
{
    switch (r) {
    case FOCAL_REDUCTION_DIVISOR:
        return divisor;
    case FOCAL_REDUCTION_MEAN:
        return count;
    case FOCAL_REDUCTION_WEIGHTED_MEAN:
        return weight_alpha;
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES:
        return positives > 1 ? positives : 1.0;
    case FOCAL_REDUCTION_NONE:
    case FOCAL_REDUCTION_SUM:
    default:
        return 1.0;
    }
}

#endif /* FOCAL_STAGE_REDUCE_H */
