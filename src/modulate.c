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

/* Sigmoid mode, one element with logit x and target y in [0, 1]:
 * CE = y softplus(-x) + (1 - y) softplus(x), 1 - p_t = y (1 - p) + (1 - y) p,
 * loss = alpha_t (1 - p_t)^gamma CE. The derivative
 *   alpha_t (1 - p_t)^gamma [gamma r (1 - 2y) CE + p (1 - y) - y (1 - p)],
 * r = p (1 - p) / (1 - p_t) <= 1, has no (1 - p_t)^(gamma - 1) to blow up. */
void focal_modulate_sigmoid(double x, double y, double alpha_t, double gamma, double *loss,
                            double *grad)
{
    const double lp = focal_log_sigmoid(x), lq = focal_log_sigmoid(-x);
    const double p = focal_sigmoid(x), q = focal_sigmoid(-x);
    /* A term whose target weight is 0 is left out rather than multiplied:
     * a -inf logit on a negative (masking) has log p = -inf and must add
     * nothing, not 0 * -inf. */
    const double ce = -((y != 0 ? y * lp : 0.0) + (y != 1 ? (1 - y) * lq : 0.0));
    const double m = y * q + (1 - y) * p;
    const double f = power(m, gamma);
    *loss = alpha_t * f * ce;
    if (grad != NULL) {
        const double r = m > 0 ? p * q / m : 0.0;
        *grad = alpha_t * f * (gamma * r * (1 - 2 * y) * ce + (p * (1 - y) - y * q));
    }
}

/* The same with probabilities p in [eps, 1 - eps] as input; the derivative
 * is with respect to p and 1 - p_t >= eps keeps it finite. */
void focal_modulate_sigmoid_prob(double p, double y, double alpha_t, double gamma, double *loss,
                                 double *grad)
{
    const double q = 1 - p;
    const double ce = -(y * log(p) + (1 - y) * log1p(-p));
    const double m = y * q + (1 - y) * p;
    const double f = power(m, gamma);
    *loss = alpha_t * f * ce;
    if (grad != NULL)
        *grad = alpha_t * f * (gamma * (1 - 2 * y) * ce / m + (1 - y) / q - y / p);
}

/* FL* (the paper's appendix): x_t = x (2y - 1),
 * loss = -alpha_t log sigmoid(gamma x_t + beta) / gamma, gamma > 0. */
void focal_modulate_fl_star(double x, double y, double alpha_t, double gamma, double beta,
                            double *loss, double *grad)
{
    /* With u = x_t + beta / gamma, z = gamma u and
     * -log sigmoid(z) / gamma = max(-u, 0) + log1p(exp(-gamma |u|)) / gamma:
     * finite even where gamma u itself overflows. */
    const double s = 2 * y - 1;
    const double u = x * s + beta / gamma;
    const double z = gamma * u;
    *loss = alpha_t * (fmax(-u, 0.0) + log1p(exp(-fabs(z))) / gamma);
    if (grad != NULL)
        *grad = -alpha_t * s * focal_sigmoid(-z);
}
