/*
 * Helpers for tests that check failing calls: a snapshot of every setting
 * of a context (to prove a failing call left it as it was), a copy of the
 * thread's detail message, and case-insensitive message matching.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_ERRCHECK_H
#define FOCAL_TEST_ERRCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <focal/focal.h>

/* Alpha vectors longer than this are compared by count only. */
#define ERRCHECK_MAX_ALPHA 64

/* What every getter reports, status included: a getter that fails (no
 * scalar alpha, no ignore index) is part of the state as well. */
typedef struct errcheck_snapshot {
    focal_status mode_status;
    focal_mode mode;
    focal_status gamma_status;
    double gamma;
    focal_status alpha_status;
    double alpha;
    focal_status alpha_count_status;
    int64_t alpha_count;
    focal_status alpha_vector_status;
    double alpha_vector[ERRCHECK_MAX_ALPHA];
    focal_status reduction_status;
    focal_reduction reduction;
    focal_status ignore_index_status;
    int64_t ignore_index;
    focal_status input_status;
    focal_input input;
    focal_status epsilon_status;
    double epsilon;
    focal_status label_smoothing_status;
    double label_smoothing;
    focal_status variant_status;
    focal_variant variant;
    focal_status beta_status;
    double beta;
    focal_status threads_status;
    int threads;
    /* Since 1.1. */
    focal_status divisor_status;
    double divisor;
    focal_status soft_form_status;
    focal_soft_form soft_form;
    focal_status pos_weight_count_status;
    int64_t pos_weight_count;
    focal_status pos_weight_vector_status;
    double pos_weight_vector[ERRCHECK_MAX_ALPHA];
    focal_status gamma_negative_status;
    double gamma_negative;
    focal_status clip_status;
    double clip;
    focal_status poly_epsilon_status;
    double poly_epsilon;
} errcheck_snapshot;

/* Reads every setting of loss through the public getters. The getters may
 * set this thread's detail message, so copy the message first. */
void errcheck_snapshot_take(const focal_loss *loss, errcheck_snapshot *snap);

/* 1 when a and b hold the same statuses and bitwise the same values;
 * otherwise 0, with the differing settings described in what[0..size). */
int errcheck_snapshot_equal(const errcheck_snapshot *a, const errcheck_snapshot *b,
                            char *what, size_t size);

/* Copies focal_last_error() into buf; returns 0 (and copies "<NULL>") when
 * the library returned NULL. */
int errcheck_copy_last_error(char *buf, size_t size);

/* 1 when text contains, ignoring ASCII case, at least one of the
 * alternatives separated by '|' in pattern (e.g. "loss|context"). */
int errcheck_contains(const char *text, const char *pattern);

/* 1 when every byte of buf[0..size) equals byte. */
int errcheck_all_bytes(const void *buf, size_t size, unsigned char byte);

/* A test's tally of problems: errcheck_problem reports one (the first 40
 * of a test are printed), errcheck_finish fails the test if there was any,
 * and errcheck_reset_tally (a cmocka setup function) starts a test at 0. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void errcheck_problem(const char *fmt, ...);
int errcheck_reset_tally(void **state);
void errcheck_finish(void);

#endif /* FOCAL_TEST_ERRCHECK_H */
