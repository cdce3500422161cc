/*
 * Would float32 lanes meet the float32 accuracy bounds?
 *
 * Every kernel table computes float32 (and bfloat16, float16) storage in
 * double lanes and rounds once at the store; half the lanes of a float
 * vector is the structural cost bench/analysis.md names for the matrix's
 * failing floors. This program measures what computing in float would
 * give instead: the library's own stable forms (stages/log_sigmoid.h,
 * stages/fl.h, stages/log_softmax.h, stages/modulate.h), written in
 * scalar float arithmetic with the C library's expf, logf and log1pf
 * (each within about 1 ulp, as good as a vector float implementation can
 * hope to be), against the same forms in double, on the inputs of the
 * accuracy bounds (tests/test_numerics.c): logits uniform in [-20, 20],
 * gamma up to 4, hard and soft targets. It reports, in float ulps:
 *   - sigmoid: each row's losses and gradient entries against the row's
 *     largest |value| (bound: 4 ulp);
 *   - softmax, index targets: each position's loss against itself and
 *     each row's gradient against its largest entry (bound: 4 ulp), with
 *     the exponentials' sums in float (a vector's lanes, then across) and
 *     in double.
 * Nothing of the library is called: this is a model, a lower bound on the
 * error of float lanes (a vector implementation of the same functions
 * and forms does no better than the C library's scalar ones).
 *
 *   float_model [rows]
 *
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16   /* partial sums of an AVX-512 float vector */

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static double uniform(double lo, double hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) * 0x1p-53;
}

/* One float ulp at the magnitude of v (the spacing of floats there). */
static double ulp_of(double v)
{
    const float f = fabsf((float)v);
    if (f < FLT_MIN)
        return 0x1p-149;
    return (double)nextafterf(f, INFINITY) - (double)f;
}

/* ---- the forms, once per type (T = float or double) ------------------ */

#define POW_F(q, g) ((g) == 1 ? (q) : (g) == 2 ? (q) * (q) : (g) == 3 ? (q) * (q) * (q) : (g) == 4 ? ((q) * (q)) * ((q) * (q)) : ((q) > 0 ? expf((float)(g) * logf(q)) : 0.0f))
#define POW_D(q, g) ((g) == 1 ? (q) : (g) == 2 ? (q) * (q) : (g) == 3 ? (q) * (q) * (q) : (g) == 4 ? ((q) * (q)) * ((q) * (q)) : ((q) > 0 ? exp((g) * log(q)) : 0.0))

/* Sigmoid FL of one element (st_fl_soft without pos_weight and Poly-1),
 * alpha_t applied: loss and d/dx. */
#define SIGMOID_FL(NAME, T, EXP, LOG1P, FMA, POW)                                                                 \
    static void NAME(T x, T y, T alpha, double gamma, T *loss, T *grad)                                          \
    {                                                                                                            \
        const T e = EXP(-(T)fabs((double)x));                                                                    \
        const T L = LOG1P(e);                                                                                    \
        const T big = (T)1 / ((T)1 + e), small = e * big;                                                        \
        const T p = x >= 0 ? big : small, q = x >= 0 ? small : big;                                              \
        const T sp_pos = (x > 0 ? x : (T)0) + L, sp_neg = (x < 0 ? -x : (T)0) + L;                              \
        const T ny = (T)1 - y;                                                                                   \
        const T ce = (y != 0 ? y * sp_neg : (T)0) + (y != 1 ? ny * sp_pos : (T)0);                               \
        const T m = FMA(y, q, ny * p);                                                                           \
        const T f = POW(m, gamma);                                                                               \
        const T r = m > 0 ? p * q / m : (T)0;                                                                    \
        const T lin = FMA(-y, q, p * ny);                                                                        \
        const T sign = FMA((T)-2, y, (T)1);                                                                      \
        const T at = FMA(alpha, y, ((T)1 - alpha) * ny);                                                         \
        *loss = at * (f * ce);                                                                                   \
        *grad = at * (f * FMA((T)gamma * r * sign, ce, lin));                                                    \
    }
SIGMOID_FL(sig_f, float, expf, log1pf, fmaf, POW_F)
SIGMOID_FL(sig_d, double, exp, log1p, fma, POW_D)

/* ---- softmax, index target ------------------------------------------ */

/* The loss of a position and its gradient row (st_softmax_ratio,
 * st_focal, st_softmax_rho on the scale of the maximum), in float, with
 * the exponentials' sums in float lanes (sum_double 0) or in double. */
static float softmax_f(const float *x, int c, int t, double gamma, int sum_double, int exact_arg, float *g,
                       float *e)
{
    float mx = x[0];
    for (int j = 1; j < c; j++)
        mx = x[j] > mx ? x[j] : mx;
    float lane[LANES] = {0};
    double rd = 0;
    for (int j = 0; j < c; j++) {
        const float d = x[j] - mx;
        e[j] = expf(d);
        if (exact_arg) {
            /* x_j - max rounded: its error (TwoSum) carried to first order */
            const float bb = d - x[j];
            const float err = (x[j] - (d - bb)) + (-mx - bb);
            e[j] = fmaf(e[j], err, e[j]);
        }
        if (j != t) {
            lane[j % LANES] += e[j];
            rd += e[j];
        }
    }
    float rf = 0;
    for (int k = 0; k < LANES; k++)
        rf += lane[k];
    const float R = sum_double ? (float)rd : rf;
    const float u = R / e[t];
    const float p = 1.0f / (1.0f + u), q = u * p, l = -log1pf(u);
    const float f = POW_F(q, gamma);
    const float term = -(f * l);
    const float k = f * fmaf(-(float)gamma, p * l, q);
    /* d/dx_t = -k; d/dx_j = k e_j / R */
    const float rho = R != 0 ? k / R : 0.0f;
    for (int j = 0; j < c; j++)
        g[j] = j == t ? -k : rho * e[j];
    return term;
}

static double softmax_d(const float *x, int c, int t, double gamma, double *g, double *e)
{
    double mx = x[0];
    for (int j = 1; j < c; j++)
        mx = x[j] > mx ? x[j] : mx;
    double R = 0;
    for (int j = 0; j < c; j++) {
        e[j] = exp((double)x[j] - mx);
        if (j != t)
            R += e[j];
    }
    const double u = R / e[t];
    const double p = 1.0 / (1.0 + u), q = u * p, l = -log1p(u);
    const double f = POW_D(q, gamma);
    const double term = -(f * l);
    const double k = f * fma(-gamma, p * l, q);
    const double rho = R != 0 ? k / R : 0.0;
    for (int j = 0; j < c; j++)
        g[j] = j == t ? -k : rho * e[j];
    return term;
}

static const double gammas[] = {0.5, 1, 2, 3, 4};
enum { NGAMMA = sizeof gammas / sizeof gammas[0] };

int main(int argc, char **argv)
{
    const int rows = argc > 1 ? atoi(argv[1]) : 20000;
    printf("float lanes model: the library's stable forms in float arithmetic (expf, logf, log1pf of the C\n"
           "library) against the same forms in double; logits uniform in [-20, 20]. Errors in float ulps\n"
           "(bound: 4).\n\n");

    /* Sigmoid: rows of 80 classes, alpha 0.25; hard targets (0/1) and soft (uniform in [0, 1]). */
    printf("sigmoid, rows of 80, alpha 0.25 | row losses / row max | row gradient / row max\n");
    for (int soft = 0; soft < 2; soft++)
        for (int gi = 0; gi < NGAMMA; gi++) {
            const double gamma = gammas[gi];
            double worst_l = 0, worst_g = 0;
            for (int r = 0; r < rows; r++) {
                float lf[80], gf[80];
                double ld[80], gd[80], ml = 0, mg = 0;
                for (int j = 0; j < 80; j++) {
                    const float x = (float)uniform(-20, 20);
                    const float y = soft ? (float)uniform(0, 1) : (uniform(0, 1) < 0.05 ? 1.0f : 0.0f);
                    sig_f(x, y, 0.25f, gamma, &lf[j], &gf[j]);
                    sig_d(x, y, 0.25, gamma, &ld[j], &gd[j]);
                    ml = fmax(ml, fabs(ld[j]));
                    mg = fmax(mg, fabs(gd[j]));
                }
                for (int j = 0; j < 80; j++) {
                    worst_l = fmax(worst_l, fabs(lf[j] - ld[j]) / ulp_of(ml));
                    worst_g = fmax(worst_g, fabs(gf[j] - gd[j]) / ulp_of(mg));
                }
            }
            printf("  %s targets, gamma %-3g          | %8.2f ulp          | %8.2f ulp\n", soft ? "soft" : "hard",
                   gamma, worst_l, worst_g);
        }

    /* Softmax, index targets: C = 10 and 1000. */
    printf("\nsoftmax, index targets | sums in                 | position loss / itself | row gradient / row max\n");
    static const int classes[] = {10, 1000};
    for (int ci = 0; ci < 2; ci++) {
        const int c = classes[ci];
        const int n = c == 1000 ? rows / 10 : rows;
        float *x = malloc(sizeof(float) * (size_t)c), *gf = malloc(sizeof(float) * (size_t)c),
              *ef = malloc(sizeof(float) * (size_t)c);
        double *gd = malloc(sizeof(double) * (size_t)c), *ed = malloc(sizeof(double) * (size_t)c);
        if (!x || !gf || !ef || !gd || !ed)
            return 1;
        for (int mode = 0; mode < 3; mode++)
            for (int gi = 0; gi < NGAMMA; gi++) {
                const int sum_double = mode >= 1, exact_arg = mode == 2;
                const double gamma = gammas[gi];
                double worst_l = 0, worst_g = 0;
                rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)gi;
                for (int r = 0; r < n; r++) {
                    for (int j = 0; j < c; j++)
                        x[j] = (float)uniform(-20, 20);
                    const int t = (int)uniform(0, c);
                    const float lf = softmax_f(x, c, t, gamma, sum_double, exact_arg, gf, ef);
                    const double ld = softmax_d(x, c, t, gamma, gd, ed);
                    if (ld != 0)
                        worst_l = fmax(worst_l, fabs(lf - ld) / ulp_of(ld));
                    double mg = 0;
                    for (int j = 0; j < c; j++)
                        mg = fmax(mg, fabs(gd[j]));
                    for (int j = 0; j < c; j++)
                        if (mg > 0)
                            worst_g = fmax(worst_g, fabs(gf[j] - gd[j]) / ulp_of(mg));
                }
                printf("  C = %-4d gamma %-3g | %-23s | %8.2f ulp           | %8.2f ulp\n", c, gamma,
                       exact_arg ? "double, x - max exact" : sum_double ? "double" : "float", worst_l, worst_g);
            }
        free(x);
        free(gf);
        free(ef);
        free(gd);
        free(ed);
    }
    return 0;
}
