/* Log-softmax over the class axis, forward and backward, in the form that
 * keeps 1 - p accurate: the classes other than the argmax are summed
 * directly instead of computing 1 - p_max by subtraction. */
#include <math.h>

#include "internal.h"

void focal_log_softmax_forward(const double *x, int64_t c, double *e, focal_softmax_row *r)
{
    double m = x[0];
    int64_t a = 0;
    for (int64_t j = 1; j < c; j++)
        if (x[j] > m) {
            m = x[j];
            a = j;
        }
    /* A NaN anywhere in the row makes rest NaN, and with it every value of
     * the row: the NaN stays in the position it came from. */
    double rest = 0;
    for (int64_t j = 0; j < c; j++) {
        e[j] = exp(x[j] - m);
        if (j != a)
            rest += e[j];
    }
    r->max = m;
    r->argmax = a;
    r->rest = rest;
    r->sum = 1.0 + rest;
    r->log_sum = log1p(rest);
}

double focal_log_softmax_logp(const double *x, const focal_softmax_row *r, int64_t cls)
{
    return (x[cls] - r->max) - r->log_sum;
}

double focal_softmax_others(const double *e, const focal_softmax_row *r, int64_t cls)
{
    /* For cls != argmax, e[cls] <= sum / 2, so the subtraction is exact to
     * a few ulps; for the argmax the other classes were summed directly. */
    return cls == r->argmax ? r->rest : r->sum - e[cls];
}

void focal_log_softmax_backward_index(const double *e, const focal_softmax_row *r, int64_t c,
                                      int64_t t, double k, double scale, double *grad)
{
    const double others = focal_softmax_others(e, r, t);
    /* others == 0: every other class has probability 0 and so has its
     * gradient (k is 0 there too). A NaN in the row keeps rho NaN, so the
     * whole position's gradient is NaN. */
    const double rho = others != 0 ? scale * k / others : 0.0;
    for (int64_t j = 0; j < c; j++)
        grad[j] = rho * e[j];
    grad[t] = -scale * k;
}

void focal_log_softmax_backward_dense(const double *e, const focal_softmax_row *r, int64_t c,
                                      const double *k, double scale, double *grad)
{
    /* d loss / d x_j = e_j * sum_{i != j} k_i / (sum - e_i) - k_j, with the
     * argmax's term k_a / rest kept apart so that no large term cancels. */
    const int64_t a = r->argmax;
    double kk = 0;
    for (int64_t i = 0; i < c; i++)
        if (i != a && k[i] != 0)
            kk += k[i] / (r->sum - e[i]);
    const double ta = r->rest != 0 ? k[a] / r->rest : 0.0;
    for (int64_t j = 0; j < c; j++) {
        double g;
        if (j == a)
            g = kk - k[a];
        else
            g = e[j] * (kk + ta - (k[j] != 0 ? k[j] / (r->sum - e[j]) : 0.0)) - k[j];
        grad[j] = scale * g;
    }
}
