/*
 * SPDX-License-Identifier: MIT
 */
#include "names.h"

const char *names_mode(focal_mode mode)
{
    return mode == FOCAL_MODE_SOFTMAX ? "softmax" : "sigmoid";
}

const char *names_reduction(focal_reduction reduction)
{
    switch (reduction) {
    case FOCAL_REDUCTION_NONE: return "NONE";
    case FOCAL_REDUCTION_MEAN: return "MEAN";
    case FOCAL_REDUCTION_SUM: return "SUM";
    case FOCAL_REDUCTION_WEIGHTED_MEAN: return "WEIGHTED_MEAN";
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES: return "SUM_OVER_POSITIVES";
    case FOCAL_REDUCTION_DIVISOR: return "DIVISOR";
    }
    return "?";
}
