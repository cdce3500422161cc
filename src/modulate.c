/* The modulating factor (1 - p_t)^gamma, the loss term and the gradient
 * coefficient, in a form with no (1 - p)^(gamma - 1) that could overflow. */
#include <math.h>

#include "internal.h"

static double power(double q, double gamma)
{
    if (gamma == 2.0)
        return q * q;
    if (gamma == 1.0)
        return q;
    if (gamma == 0.0)
        return 1.0;
    return pow(q, gamma);
}

void focal_modulate(double p, double q, double l, double gamma, double *loss_term, double *k)
{
    const double f = power(q, gamma);
    /* p log p -> 0 as p -> 0, also where log p is -inf (a -inf logit). */
    const double pl = p > 0 ? p * l : 0.0;
    *loss_term = -f * l;
    *k = f * (q - gamma * pl);
}

double focal_modulate_dprob(double p, double q, double l, double gamma)
{
    /* d/dp [-(1 - p)^gamma log p] = (1 - p)^gamma (gamma log p / (1 - p) - 1 / p) */
    const double f = power(q, gamma);
    return f * (gamma * l / q - 1.0 / p);
}
