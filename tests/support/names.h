/*
 * The names the suites print for the library's enumerations, so that a
 * failing case reads the same in every suite.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_NAMES_H
#define FOCAL_TEST_NAMES_H

#include <focal/focal.h>

/* "softmax" or "sigmoid". */
const char *names_mode(focal_mode mode);

/* "NONE", "MEAN", "SUM", "WEIGHTED_MEAN", "SUM_OVER_POSITIVES", or "?" for
 * a value outside the enumeration. */
const char *names_reduction(focal_reduction reduction);

#endif /* FOCAL_TEST_NAMES_H */
