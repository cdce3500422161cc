/* A float32 softmax call large enough (>= 4M elements, c > 64, rows
 * contiguous) to take the kernels' non-temporal store path, checked
 * element by element against the focal loss and its gradient computed
 * here in long double from the definitions (docs/math.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <focal/focal.h>

enum { N = 4200, C = 1000 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void test_large_rows(void **state)
{
    (void)state;
    float *x = malloc((size_t)N * C * sizeof *x), *grad = malloc((size_t)N * C * sizeof *grad);
    float *w = malloc(N * sizeof *w);
    int64_t *t = malloc(N * sizeof *t);
    double alpha[C];
    assert_non_null(x);
    assert_non_null(grad);
    assert_non_null(w);
    assert_non_null(t);
    for (int j = 0; j < C; j++)
        alpha[j] = 0.25 + uniform();
    for (size_t i = 0; i < (size_t)N * C; i++)
        x[i] = (float)(6.0 * uniform() - 3.0);
    for (int r = 0; r < N; r++) {
        t[r] = (int64_t)(uniform() * C);
        w[r] = (float)(2.0 * uniform());
        if (r % 7 == 0)   /* confident rows: p_t close to 1 */
            x[(size_t)r * C + (size_t)t[r]] = 20.0f;
    }
    const double gamma = 2.0;

    focal_loss *loss;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
    float out;
    assert_int_equal(focal_forward_backward_f32(loss, N, C, 1, x, t, w, &out, grad), FOCAL_OK);

    /* Reference. */
    long double sum = 0, denom = 0;
    for (int r = 0; r < N; r++)
        denom += (long double)w[r] * alpha[t[r]];
    size_t bad = 0;
    long double *p = malloc(C * sizeof *p);
    assert_non_null(p);
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * C;
        long double m = xr[0], s = 0;
        for (int j = 1; j < C; j++)
            if (xr[j] > m)
                m = xr[j];
        for (int j = 0; j < C; j++)
            s += expl((long double)xr[j] - m);
        long double others = 0;
        for (int j = 0; j < C; j++) {
            p[j] = expl((long double)xr[j] - m) / s;
            if (j != t[r])
                others += p[j];
        }
        const long double pt = p[t[r]], q = others, l = logl(pt);
        const long double a = alpha[t[r]];
        sum += (long double)w[r] * a * (-(q * q) * l);
        /* d/dx_j of -a q^2 log p_t, through the softmax. */
        const long double g_common = (long double)w[r] * a * q * q * (q - gamma * pt * l);
        for (int j = 0; j < C; j++) {
            const long double want = (j == t[r] ? -g_common : g_common * p[j] / q) / denom;
            const long double got = grad[(size_t)r * C + (size_t)j];
            if (fabsl(got - want) > 1e-4L * fabsl(want) + 1e-9L) {
                if (bad < 5)
                    printf("grad[%d][%d] = %.9Lg, want %.9Lg\n", r, j, got, want);
                bad++;
            }
        }
    }
    const long double want_out = sum / denom;
    printf("loss %.9g, reference %.9Lg, %zu gradient mismatches\n", (double)out, want_out, bad);
    assert_true(fabsl((long double)out - want_out) <= 1e-4L * fabsl(want_out));
    assert_int_equal(bad, 0);
    free(p);
    focal_loss_destroy(loss);
    free(x);
    free(grad);
    free(w);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_large_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
