/* Reduction: the denominators of the reductions and the deterministic sum
 * of per-chunk partials, combined in chunk order whatever the thread count. */
#include "internal.h"

double focal_reduce_denominator(const focal_call *call)
{
    switch (call->loss->reduction) {
    case FOCAL_REDUCTION_MEAN:
        return call->count;
    case FOCAL_REDUCTION_WEIGHTED_MEAN:
        return call->weight_alpha_sum;
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES:
        return call->positives > 1 ? call->positives : 1.0;
    case FOCAL_REDUCTION_NONE:
    case FOCAL_REDUCTION_SUM:
    default:
        return 1.0;
    }
}

double focal_reduce_partials(const double *partials, int64_t chunks)
{
    double sum = 0;
    for (int64_t k = 0; k < chunks; k++)
        sum += partials[k];
    return sum;
}

double focal_reduce_finish(const focal_call *call, double sum)
{
    /* A zero denominator (nothing counted, or zero total weight) gives 0. */
    if (call->partials_divided)
        return sum;
    return call->denominator != 0 ? sum / call->denominator : 0.0;
}
