/*
 * Calls for the tests of the thread pool through the public API
 * (test_pool_stress, test_pool_fork): four contexts with their own thread
 * counts and four shapes (two above the library's parallel threshold, two
 * small), sixteen cases of fused calls with index targets, each with its
 * single-threaded reference and a closed form of its reduced loss.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_POOL_CASES_H
#define FOCAL_TEST_POOL_CASES_H

#include <stddef.h>
#include <stdint.h>

#include <focal/focal.h>

#define POOL_CONTEXTS 4
#define POOL_SHAPES 4
#define POOL_CASES (POOL_CONTEXTS * POOL_SHAPES)

typedef struct pool_shape {
    int64_t n, c, inner;
} pool_shape;

typedef struct pool_case {
    int ctx, f64, large;
    pool_shape sh;
    int64_t elems, positions, outs;
    size_t esz;
    void *input;
    int64_t *target;
    unsigned char *ref_out, *ref_grad;   /* the single-threaded results */
    size_t out_bytes, grad_bytes;
} pool_case;

extern pool_case pool_cases[POOL_CASES];
extern focal_loss *pool_contexts[POOL_CONTEXTS];

/* cmocka group fixtures. Setup creates the contexts and the cases'
 * inputs, computes each reference with a one-thread clone of its context on
 * the calling thread, and checks every reduced reference against its closed
 * form in long double (relative 1e-12 for float64, 1e-5 for float32); it
 * fails (non-zero, with a message) if anything is off. */
int pool_cases_setup(void **state);
int pool_cases_teardown(void **state);

/* The case's fused call with the given context (out and grad as large as
 * the reference's). */
focal_status pool_case_run(const pool_case *k, const focal_loss *loss, void *out, void *grad);
/* pool_case_run with the case's own context into buffers first filled
 * with 0xA5, compared bitwise with the reference: 0 when equal, 1 when the call failed, 2 when a bit differs. */
int pool_case_check(const pool_case *k, void *out, void *grad);

/* The thread counts of the four contexts. */
extern const int pool_context_threads[POOL_CONTEXTS];

#endif /* FOCAL_TEST_POOL_CASES_H */
