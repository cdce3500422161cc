/*
 * Fuzz target: fuzz_diff without its large calls (the one shape in 2048
 * that reaches the library's thread threshold), so that it runs a
 * thousand cases a second or more; fuzz_diff keeps them, and with them the
 * comparison of two threads against one. The same input format and seed
 * corpus.
 *
 * SPDX-License-Identifier: MIT
 */
#define FUZZ_DIFF_SMALL 1
#include "fuzz_diff.c"
