/*
 * Helpers for numerical tests: a small seeded random generator (so every
 * run sees the same data), tolerance comparisons that report the first
 * mismatches with their index, and bitwise comparisons.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_NUMCHECK_H
#define FOCAL_TEST_NUMCHECK_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: tiny, full period, and good enough to scatter test data. */
typedef struct numcheck_rng {
    uint64_t state;
} numcheck_rng;

void numcheck_rng_seed(numcheck_rng *rng, uint64_t seed);
uint64_t numcheck_rng_next(numcheck_rng *rng);
/* Uniform in [lo, hi), 53 random bits. */
double numcheck_rng_uniform(numcheck_rng *rng, double lo, double hi);
/* Uniform in [0, bound), bound >= 1. */
int64_t numcheck_rng_below(numcheck_rng *rng, int64_t bound);

/* |got - ref| <= rtol * |ref| + atol. Two NaNs, or two infinities of the
 * same sign, are close; a NaN against a number is not. */
int numcheck_close(double got, double ref, double rtol, double atol);

/* Counts the indices where got and ref are not close and prints the first
 * max_print of them (with what, the index, both values and the tolerance)
 * through cmocka's print_error. Returns the count; never fails by itself. */
size_t numcheck_report_close(const char *what, const double *got, const double *ref, size_t n,
                             double rtol, double atol, size_t max_print);

/* The number of indices where got and ref are not close, printing nothing. */
size_t numcheck_count_close(const double *got, const double *ref, size_t n, double rtol,
                            double atol);

/* Like numcheck_report_close, for bitwise equality of the representations. */
size_t numcheck_report_same_bits_f64(const char *what, const double *got, const double *ref,
                                     size_t n, size_t max_print);
size_t numcheck_report_same_bits_f32(const char *what, const float *got, const float *ref,
                                     size_t n, size_t max_print);

/* malloc that fails the current cmocka test instead of returning NULL. */
void *numcheck_alloc(size_t count, size_t size);

#endif /* FOCAL_TEST_NUMCHECK_H */
