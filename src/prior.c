/* focal_prior_bias: the classifier bias that starts every anchor at a
 * given foreground probability (the paper's initialisation). */
#include <math.h>

#include "internal.h"

focal_status focal_prior_bias(double prior, double *bias)
{
    if (bias == NULL)
        return focal_fail(FOCAL_ERROR_NULL_POINTER, "focal_prior_bias: bias is NULL");
    if (!(prior > 0 && prior < 1))
        return focal_fail(FOCAL_ERROR_INVALID_PARAMETER, "prior = %g is outside (0, 1)", prior);
    *bias = log(prior) - log1p(-prior);
    return FOCAL_OK;
}
