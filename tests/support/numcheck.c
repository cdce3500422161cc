/*
 * SPDX-License-Identifier: MIT
 */
#include "numcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

void numcheck_rng_seed(numcheck_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t numcheck_rng_next(numcheck_rng *rng)
{
    uint64_t z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double numcheck_rng_uniform(numcheck_rng *rng, double lo, double hi)
{
    double u = (double)(numcheck_rng_next(rng) >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
}

int64_t numcheck_rng_below(numcheck_rng *rng, int64_t bound)
{
    /* The modulo bias is irrelevant for the small bounds tests use. */
    return (int64_t)(numcheck_rng_next(rng) % (uint64_t)bound);
}

int numcheck_close(double got, double ref, double rtol, double atol)
{
    if (isnan(ref) || isnan(got)) {
        return isnan(ref) && isnan(got);
    }
    if (isinf(ref) || isinf(got)) {
        return got == ref;
    }
    return fabs(got - ref) <= rtol * fabs(ref) + atol;
}

size_t numcheck_report_close(const char *what, const double *got, const double *ref, size_t n,
                             double rtol, double atol, size_t max_print)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!numcheck_close(got[i], ref[i], rtol, atol)) {
            if (bad < max_print) {
                print_error("%s[%zu]: got %.17g, expected %.17g (|diff| %.3g > %.3g)\n", what, i,
                            got[i], ref[i], fabs(got[i] - ref[i]), rtol * fabs(ref[i]) + atol);
            }
            bad++;
        }
    }
    if (bad > max_print) {
        print_error("%s: %zu mismatches in all\n", what, bad);
    }
    return bad;
}

size_t numcheck_count_close(const double *got, const double *ref, size_t n, double rtol,
                            double atol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!numcheck_close(got[i], ref[i], rtol, atol)) {
            bad++;
        }
    }
    return bad;
}

size_t numcheck_report_same_bits_f64(const char *what, const double *got, const double *ref,
                                     size_t n, size_t max_print)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &ref[i], sizeof got[i]) != 0) {
            if (bad < max_print) {
                print_error("%s[%zu]: %a differs bitwise from %a\n", what, i, got[i], ref[i]);
            }
            bad++;
        }
    }
    if (bad > max_print) {
        print_error("%s: %zu bitwise differences in all\n", what, bad);
    }
    return bad;
}

size_t numcheck_report_same_bits_f32(const char *what, const float *got, const float *ref,
                                     size_t n, size_t max_print)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &ref[i], sizeof got[i]) != 0) {
            if (bad < max_print) {
                print_error("%s[%zu]: %a differs bitwise from %a\n", what, i, (double)got[i],
                            (double)ref[i]);
            }
            bad++;
        }
    }
    if (bad > max_print) {
        print_error("%s: %zu bitwise differences in all\n", what, bad);
    }
    return bad;
}

void *numcheck_alloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) {
        print_error("out of memory allocating %zu x %zu bytes\n", count, size);
        fail();
    }
    return p;
}
