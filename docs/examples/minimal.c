/*
 * The smallest complete libfocal program: the softmax focal loss of a batch
 * of four samples over three classes, and its gradient with respect to the
 * logits.
 *
 * SPDX-License-Identifier: MIT
 */
#include <focal/focal.h>

#include <stdint.h>
#include <stdio.h>

int main(void)
{
    enum { N = 4, C = 3 };
    /* Raw scores, one row per sample (shape (N, C), row-major). */
    const float logits[N * C] = {
         2.0f,  0.5f, -1.0f,
         0.1f,  1.5f,  0.3f,
        -0.5f,  0.2f,  2.5f,
         1.0f,  1.0f,  1.0f,
    };
    const int64_t target[N] = {0, 1, 2, 2};   /* the true class of each sample */
    const double alpha[C] = {0.25, 0.25, 0.5}; /* per-class weights */

    float value;        /* the loss, averaged over the batch */
    float grad[N * C];  /* d value / d logits, shaped like logits */

    focal_loss *loss = NULL;
    focal_status s = focal_loss_create(&loss, FOCAL_MODE_SOFTMAX);
    if (s == FOCAL_OK) {
        s = focal_loss_set_gamma(loss, 2.0);
    }
    if (s == FOCAL_OK) {
        s = focal_loss_set_alpha_vector(loss, alpha, C);
    }
    if (s == FOCAL_OK) {
        s = focal_forward_backward_f32(loss, N, C, 1, logits, target, NULL, &value, grad);
    }
    if (s != FOCAL_OK) {
        fprintf(stderr, "libfocal error: %s: %s\n", focal_status_string(s), focal_last_error());
        focal_loss_destroy(loss);
        return 1;
    }

    printf("focal loss = %.6f\n", value);
    for (int i = 0; i < N; i++) {
        printf("grad[%d] = {% .6f, % .6f, % .6f}\n", i, grad[i * C], grad[i * C + 1],
               grad[i * C + 2]);
    }

    focal_loss_destroy(loss);
    return 0;
}
