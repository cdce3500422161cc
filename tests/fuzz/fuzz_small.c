/*
 * Fuzz target: fuzz_compute restricted to small calls (about 256 elements
 * at most, up to 72 classes) on one thread, so that it runs thousands of
 * cases a second; fuzz_compute keeps the large and threaded calls.
 *
 * SPDX-License-Identifier: MIT
 */
#define FUZZ_SMALL 1
#include "fuzz_compute.c"
