/*
 * bfloat16 and IEEE binary16 bit patterns for the tests, built from the
 * formats' fields (no library code): exact widening to float, and float
 * to half rounded to nearest even (NaN stays NaN, quiet; overflow rounds
 * to infinity as IEEE rounding does).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_HALF_H
#define FOCAL_TEST_HALF_H

#include <stdint.h>

typedef enum half_kind { HALF_BF16, HALF_F16 } half_kind;

float half_to_float(half_kind kind, uint16_t bits);
uint16_t half_from_float(half_kind kind, float value);
int half_is_nan(half_kind kind, uint16_t bits);
const char *half_name(half_kind kind);

/* Whether got is the half rounding of the float ref (NaN for NaN), or the
 * other neighbour where ref lies exactly halfway between two half values:
 * a result rounded once from its unrounded value may land on either side
 * of a tie that float's own rounding created. */
int half_matches_rounded(half_kind kind, uint16_t got, float ref);

#endif /* FOCAL_TEST_HALF_H */
