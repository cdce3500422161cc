/* Float32 softmax calls large enough (>= 4M elements) to take the
 * kernels' non-temporal store paths: rows (c > 64) and class-major planes
 * (c <= 64, NCHW, with a gradient buffer off its cache-line alignment),
 * checked element by element against the focal loss and its gradient
 * computed here in long double from the definitions (docs/math.md). */
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

/* NCHW planes: (2, 19, 131088), ignore_index 3 (a class), alpha 0.25;
 * once in the common form (mean, no weights) and once with weights. */
enum { PN = 2, PC = 19, PI = 131088 };

static void check_planes(int weighted)
{
    const size_t elements = (size_t)PN * PC * PI, positions = (size_t)PN * PI;
    /* One float past a 64-byte boundary: the kernel's first step is short. */
    const size_t bytes = (elements + 16) * sizeof(float) / 64 * 64 + 64;   /* a multiple of 64, as C11 asks */
    float *xb = aligned_alloc(64, bytes);
    float *gb = aligned_alloc(64, bytes);
    float *w = malloc(positions * sizeof *w);
    int64_t *t = malloc(positions * sizeof *t);
    assert_non_null(xb);
    assert_non_null(gb);
    assert_non_null(w);
    assert_non_null(t);
    float *x = xb + 1, *grad = gb + 1;
    for (size_t i = 0; i < elements; i++)
        x[i] = (float)(8.0 * uniform() - 4.0);
    for (size_t pos = 0; pos < positions; pos++) {
        t[pos] = (int64_t)(uniform() * PC);
        w[pos] = (float)(2.0 * uniform());
        const size_t img = pos / PI, s = pos % PI;
        if (pos % 5 == 0)   /* confident positions: p_t close to 1 */
            x[(img * PC + (size_t)t[pos]) * PI + s] = 25.0f;
    }
    const double gamma = 2.0, alpha = 0.25;
    focal_loss *loss;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha(loss, alpha), FOCAL_OK);
    assert_int_equal(focal_loss_set_ignore_index(loss, 3), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_MEAN), FOCAL_OK);
    float out;
    assert_int_equal(focal_forward_backward_f32(loss, PN, PC, PI, x, t, weighted ? w : NULL, &out, grad), FOCAL_OK);

    long double sum = 0, count = 0;
    for (size_t pos = 0; pos < positions; pos++)
        count += t[pos] != 3;
    size_t bad = 0;
    for (size_t pos = 0; pos < positions; pos++) {
        const size_t img = pos / PI, s = pos % PI;
        const float *xp = x + img * PC * PI + s;
        const float *gp = grad + img * PC * PI + s;
        if (t[pos] == 3) {
            for (int j = 0; j < PC; j++)
                if (gp[(size_t)j * PI] != 0.0f && bad++ < 5)
                    printf("ignored position %zu: grad[%d] = %g\n", pos, j, (double)gp[(size_t)j * PI]);
            continue;
        }
        long double m = xp[0], z = 0, p[PC], others = 0;
        for (int j = 1; j < PC; j++)
            if (xp[(size_t)j * PI] > m)
                m = xp[(size_t)j * PI];
        for (int j = 0; j < PC; j++)
            z += expl((long double)xp[(size_t)j * PI] - m);
        for (int j = 0; j < PC; j++) {
            p[j] = expl((long double)xp[(size_t)j * PI] - m) / z;
            if (j != t[pos])
                others += p[j];
        }
        const long double pt = p[t[pos]], q = others, l = logl(pt);
        const long double wa = (weighted ? (long double)w[pos] : 1.0L) * alpha;
        sum += wa * (-(q * q) * l);
        const long double g_common = wa * q * q * (q - gamma * pt * l);
        for (int j = 0; j < PC; j++) {
            const long double want = (j == t[pos] ? -g_common : g_common * p[j] / q) / count;
            const long double got = gp[(size_t)j * PI];
            if (fabsl(got - want) > 1e-4L * fabsl(want) + 1e-12L) {
                if (bad < 5)
                    printf("grad[%zu][%d] = %.9Lg, want %.9Lg\n", pos, j, got, want);
                bad++;
            }
        }
    }
    const long double want_out = sum / count;
    printf("planes%s: loss %.9g, reference %.9Lg, %zu gradient mismatches\n", weighted ? " (weighted)" : "",
           (double)out, want_out, bad);
    assert_true(fabsl((long double)out - want_out) <= 1e-5L * fabsl(want_out));
    assert_int_equal(bad, 0);
    focal_loss_destroy(loss);
    free(xb);
    free(gb);
    free(w);
    free(t);
}

static void test_large_planes(void **state)
{
    (void)state;
    check_planes(0);
    check_planes(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_large_rows), cmocka_unit_test(test_large_planes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
