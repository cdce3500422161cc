/* Log-sigmoid for sigmoid mode, and its inverse for the prior bias. */
#include <math.h>

#include "internal.h"

double focal_log_sigmoid(double x)
{
    /* -softplus(-x) = min(x, 0) - log1p(exp(-|x|)): no overflow for any x. */
    return fmin(x, 0.0) - log1p(exp(-fabs(x)));
}

double focal_sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

focal_status focal_prior_bias(double prior, double *bias)
{
    if (bias == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_prior_bias: bias is NULL");
    if (!(prior > 0 && prior < 1))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "prior = %g is outside (0, 1)", prior);
    *bias = log(prior) - log1p(-prior);
    return FOCAL_OK;
}
