/* Gather-by-target: a position's class, weight, ignore mask and alpha_t. */
#include "internal.h"

double focal_gather_alpha(const focal_call *call, int64_t cls)
{
    return call->alpha_c != NULL ? call->alpha_c[cls] : call->alpha_s;
}

void focal_gather_position(const focal_call *call, int64_t pos, focal_position *out)
{
    out->weight = call->weight != NULL ? focal_load_scalar(call->dtype, call->weight, pos) : 1.0;
    out->alpha_t = 1.0;
    out->target = -1;
    out->ignored = 0;
    if (call->dense)
        return;
    const int64_t t = call->target_index[pos];
    out->target = t;
    if (call->loss->has_ignore_index && t == call->loss->ignore_index) {
        out->ignored = 1;
        return;
    }
    /* Softmax: alpha of the target class, also under label smoothing (the
     * denominator of cross_entropy(weight=alpha, label_smoothing=ls)). */
    if (!call->sigmoid)
        out->alpha_t = focal_gather_alpha(call, t);
}

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
