/*
 * Distribution Focal Loss (GFL, Li et al. 2020) with libfocal's softmax mode:
 * a box side's continuous target y in [0, C - 1) over C bins becomes the
 * two-hot target that puts r - y on bin l = floor(y) and y - l on bin
 * r = l + 1; gamma 0, no alpha. The example checks each loss against the
 * closed form -(r - y) log s_l - (y - l) log s_r (s = softmax of the row)
 * and each gradient against s - target, and exits non-zero on a mismatch.
 *
 * ultralytics' DFLoss first clamps the target to reg_max - 1 - 0.01 (its
 * reg_max is C here): that is the caller's step, shown below.
 *
 * SPDX-License-Identifier: MIT
 */
#include <focal/focal.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>

enum { N = 5, C = 8 }; /* five box sides, eight bins (reg_max 8 in ultralytics' terms) */

/* The two-hot target of y over C bins (0 <= y < C - 1). */
static void two_hot(double y, double *row)
{
    const int l = (int)floor(y);
    for (int j = 0; j < C; j++)
        row[j] = 0.0;
    row[l] = (double)(l + 1) - y;
    row[l + 1] = y - (double)l;
}

int main(void)
{
    /* Distances predicted as C logits each, and their continuous targets;
     * the last is ultralytics-clamped from 7.0 to 7 - 0.01 = 6.99. */
    const double logits[N * C] = {
        0.3, 1.2, 2.5, 1.1, -0.4, -1.0, -2.0, -2.5,  /* */
        -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5,     /* */
        2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0,  /* */
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,       /* */
        -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0,    /* */
    };
    double y[N] = {2.3, 5.75, 0.0, 3.5, 7.0};
    for (int i = 0; i < N; i++)
        if (y[i] > C - 1 - 0.01)
            y[i] = C - 1 - 0.01; /* ultralytics: target.clamp_(0, reg_max - 1 - 0.01) */

    double target[N * C];
    for (int i = 0; i < N; i++)
        two_hot(y[i], target + i * C);

    double out[N], grad[N * C];
    focal_loss *loss = NULL;
    focal_status s = focal_loss_create(&loss, FOCAL_MODE_SOFTMAX);
    if (s == FOCAL_OK)
        s = focal_loss_set_gamma(loss, 0.0);
    if (s == FOCAL_OK)
        s = focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE);
    if (s == FOCAL_OK)
        s = focal_forward_backward_dense_f64(loss, N, C, 1, logits, target, NULL, out, grad);
    if (s != FOCAL_OK) {
        fprintf(stderr, "libfocal error: %s: %s\n", focal_status_string(s), focal_last_error());
        focal_loss_destroy(loss);
        return 1;
    }
    focal_loss_destroy(loss);

    int bad = 0;
    for (int i = 0; i < N; i++) {
        const double *x = logits + i * C;
        double mx = x[0], sum = 0.0;
        for (int j = 1; j < C; j++)
            mx = x[j] > mx ? x[j] : mx;
        for (int j = 0; j < C; j++)
            sum += exp(x[j] - mx);
        const int l = (int)floor(y[i]);
        const double ls_l = x[l] - mx - log(sum), ls_r = x[l + 1] - mx - log(sum);
        const double want = -((double)(l + 1) - y[i]) * ls_l - (y[i] - (double)l) * ls_r;
        double gerr = 0.0;
        for (int j = 0; j < C; j++) {
            const double gw = exp(x[j] - mx) / sum - target[i * C + j];
            gerr = fmax(gerr, fabs(grad[i * C + j] - gw));
        }
        const int ok = fabs(out[i] - want) <= 1e-12 * fmax(1.0, fabs(want)) && gerr <= 1e-12;
        bad += !ok;
        printf("y = %-5.2f bins %d,%d weights %.2f,%.2f  DFL = %.12f  (closed form %.12f, gradient off by %.1e)%s\n",
               y[i], l, l + 1, (double)(l + 1) - y[i], y[i] - (double)l, out[i], want, gerr, ok ? "" : "  MISMATCH");
    }
    return bad ? 1 : 0;
}
