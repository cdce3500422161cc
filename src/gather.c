/* Gather-by-target: a position's class, weight, ignore mask and alpha_t. */
#include "internal.h"

void focal_gather_softmax_targets(const focal_call *call, int64_t target, const double *dense_row,
                                  double *y)
{
    const int64_t c = call->c;
    const double ls = call->loss->label_smoothing;
    const double spread = ls / (double)c;
    if (dense_row != NULL) {
        for (int64_t j = 0; j < c; j++)
            y[j] = dense_row[j] * (1 - ls) + spread;
        return;
    }
    for (int64_t j = 0; j < c; j++)
        y[j] = spread;
    y[target] += 1 - ls;
}

double focal_gather_sigmoid_target(const focal_call *call, double y)
{
    const double ls = call->loss->label_smoothing;
    return y * (1 - ls) + ls / 2;
}

double focal_gather_sigmoid_alpha(const focal_call *call, int64_t cls, double y)
{
    if (!call->has_alpha)
        return 1.0;
    const double a = focal_gather_alpha(call, cls);
    return a * y + (1 - a) * (1 - y);
}
