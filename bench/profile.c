/* One fused float32 call on a reduced copy of a benchmark workload, for
 * instruction counts under callgrind (bench/profile.sh): the counts say
 * where the work goes independently of the machine's load. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

static focal_status one_call(focal_loss *loss, int sigmoid, int64_t n, int64_t c, int64_t inner, const float *x,
                             const float *y, const int64_t *t, float *g, float *out)
{
    return sigmoid ? focal_forward_backward_dense_f32(loss, n, c, inner, x, y, NULL, out, g)
                   : focal_forward_backward_f32(loss, n, c, inner, x, t, NULL, out, g);
}

__attribute__((noinline)) static focal_status measured_call(focal_loss *loss, int sigmoid, int64_t n, int64_t c,
                                                            int64_t inner, const float *x, const float *y,
                                                            const int64_t *t, float *g, float *out)
{
    return one_call(loss, sigmoid, n, c, inner, x, y, t, g, out);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "cls";
    int64_t n = 1024, c = 1000, inner = 1;
    int sigmoid = 0;
    if (strcmp(w, "seg") == 0) {
        n = 1, c = 19, inner = 256 * 256;
    } else if (strcmp(w, "det") == 0) {
        n = 20000, c = 80, sigmoid = 1;
    } else if (strcmp(w, "small") == 0) {
        n = 64, c = 10;
    }
    const int64_t elements = n * c * inner, positions = n * inner;
    float *x = malloc((size_t)elements * sizeof *x), *g = malloc((size_t)elements * sizeof *g);
    float *y = malloc((size_t)elements * sizeof *y);
    int64_t *t = malloc((size_t)positions * sizeof *t);
    if (x == NULL || g == NULL || y == NULL || t == NULL)
        return 1;
    uint64_t s = 42;
    for (int64_t i = 0; i < elements; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 40) / 16777216.0 * 8.0 - 4.0);
        y[i] = (s >> 20) % 100 == 0;
    }
    for (int64_t i = 0; i < positions; i++)
        t[i] = (int64_t)((uint64_t)i * 2654435761u % (uint64_t)c);
    focal_loss *loss;
    if (focal_loss_create(&loss, sigmoid ? FOCAL_MODE_SIGMOID : FOCAL_MODE_SOFTMAX) != FOCAL_OK)
        return 1;
    focal_loss_set_threads(loss, 1);
    if (sigmoid) {
        focal_loss_set_alpha(loss, 0.25);
        focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES);
    }
    float out;
    /* A first call binds the library's symbols and detects the CPU; only
     * the second, inside measured_call, is counted (profile.sh collects
     * there alone). */
    focal_status st = one_call(loss, sigmoid, n, c, inner, x, y, t, g, &out);
    if (st == FOCAL_OK)
        st = measured_call(loss, sigmoid, n, c, inner, x, y, t, g, &out);
    printf("%s: %lld elements, status %d, loss %g, path %s\n", w, (long long)elements, (int)st,
           (double)out, focal_isa());
    focal_loss_destroy(loss);
    free(x), free(g), free(y), free(t);
    return st != FOCAL_OK;
}
