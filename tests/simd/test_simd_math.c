/* Accuracy of the AVX2 kernels' float32 exp, log and log1p (and their
 * variants for x <= 0 and u in [0, 1]) against glibc's
 * double-precision functions rounded to float, over a sweep of float bit
 * patterns and the special values. Skipped (exit 77) on CPUs without
 * AVX2 and FMA. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "simd_avx2.h"

typedef __m256 (*vfn)(__m256);

static __m256 v_log1p(__m256 x) { return focal_v_log1p(x); }
static __m256 v_log1p_unit(__m256 x) { return focal_v_log1p_unit(x); }

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Distance in units in the last place between two finite floats. */
static double ulps(float got, double want)
{
    const float wf = (float)want;
    if (got == wf)
        return 0;
    const double ulp = fabs((double)nextafterf(wf, INFINITY) - (double)wf);
    return fabs((double)got - want) / (ulp > 0 ? ulp : 1e-45);
}

static int check(const char *name, vfn f, double (*ref)(double), float lo, float hi, double limit)
{
    double worst = 0;
    float worst_x = 0;
    long n = 0;
    float in[8], out[8];
    int k = 0;
    /* Every 61st bit pattern between lo and hi (both signs handled by the
     * caller's range), plus the bounds. */
    const uint32_t step = 61;
    for (int sign = 0; sign < 2; sign++) {
        for (uint32_t b = 0; b < 0x7f800000u; b += step) {
            const float x = from_bits(b | (sign ? 0x80000000u : 0));
            if (!(x >= lo && x <= hi))
                continue;
            in[k++] = x;
            if (k < 8)
                continue;
            _mm256_storeu_ps(out, f(_mm256_loadu_ps(in)));
            for (int i = 0; i < 8; i++) {
                const double want = ref((double)in[i]);
                if ((float)want == 0 || !isfinite((float)want)) {
                    if (out[i] != (float)want && !(fabsf(out[i]) < 1.2e-38f && fabs(want) < 1.2e-38)) {
                        printf("%s(%a) = %a, want %a\n", name, (double)in[i], (double)out[i], want);
                        return 1;
                    }
                    continue;
                }
                if (fabs(want) < 1.17549435e-38)   /* results below FLT_MIN may flush */
                    continue;
                const double u = ulps(out[i], want);
                if (u > worst) {
                    worst = u;
                    worst_x = in[i];
                }
                n++;
            }
            k = 0;
        }
    }
    printf("%-6s %ld values in [%g, %g]: worst %.2f ulp at %a (limit %.1f)\n", name, n, lo, hi, worst,
           (double)worst_x, limit);
    return worst > limit;
}

static int special(const char *name, vfn f, float x, float want)
{
    float in[8], out[8];
    for (int i = 0; i < 8; i++)
        in[i] = x;
    _mm256_storeu_ps(out, f(_mm256_loadu_ps(in)));
    const int ok = isnan(want) ? isnan(out[0]) : out[0] == want;
    if (!ok)
        printf("%s(%g) = %g, want %g\n", name, (double)x, (double)out[0], (double)want);
    return !ok;
}

int main(void)
{
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("no AVX2+FMA on this CPU: skipped\n");
        return 77;
    }
    int bad = 0;
    bad += check("exp", focal_v_exp, exp, -87.0f, 88.5f, 2.0);
    bad += check("log", focal_v_log, log, 1e-45f, 3.4e38f, 2.0);
    bad += check("log1p", v_log1p, log1p, 0.0f, 1e6f, 2.0);
    bad += check("exp<=0", focal_v_exp_neg, exp, -87.0f, 0.0f, 2.0);
    bad += check("log1p1", v_log1p_unit, log1p, 0.0f, 1.0f, 2.0);
    bad += special("exp<=0", focal_v_exp_neg, -INFINITY, 0.0f);
    bad += special("exp<=0", focal_v_exp_neg, NAN, NAN);
    bad += special("exp<=0", focal_v_exp_neg, -100.0f, 0.0f);
    bad += special("log1p1", v_log1p_unit, 0.0f, 0.0f);
    bad += special("exp", focal_v_exp, -INFINITY, 0.0f);
    bad += special("exp", focal_v_exp, INFINITY, INFINITY);
    bad += special("exp", focal_v_exp, -1000.0f, 0.0f);
    bad += special("exp", focal_v_exp, 1000.0f, INFINITY);
    bad += special("exp", focal_v_exp, NAN, NAN);
    bad += special("exp", focal_v_exp, 0.0f, 1.0f);
    bad += special("log", focal_v_log, 0.0f, -INFINITY);
    bad += special("log", focal_v_log, -1.0f, NAN);
    bad += special("log", focal_v_log, INFINITY, INFINITY);
    bad += special("log", focal_v_log, NAN, NAN);
    bad += special("log", focal_v_log, 1.0f, 0.0f);
    bad += special("log1p", v_log1p, 0.0f, 0.0f);
    bad += special("log1p", v_log1p, 1e-30f, 1e-30f);
    printf("%s\n", bad ? "FAILED" : "all within limits");
    return bad != 0;
}
