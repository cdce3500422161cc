/*
 * SPDX-License-Identifier: MIT
 */
#include "errcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

void errcheck_snapshot_take(const focal_loss *loss, errcheck_snapshot *snap)
{
    /* Zero first so that values a failing getter leaves alone (and any
     * padding) compare equal between two snapshots. */
    memset(snap, 0, sizeof *snap);
    snap->mode_status = focal_loss_get_mode(loss, &snap->mode);
    snap->gamma_status = focal_loss_get_gamma(loss, &snap->gamma);
    snap->alpha_status = focal_loss_get_alpha(loss, &snap->alpha);
    snap->alpha_count_status = focal_loss_get_alpha_count(loss, &snap->alpha_count);
    if (snap->alpha_count_status == FOCAL_OK && snap->alpha_count >= 1 &&
        snap->alpha_count <= ERRCHECK_MAX_ALPHA) {
        snap->alpha_vector_status =
            focal_loss_get_alpha_vector(loss, snap->alpha_vector, snap->alpha_count);
    } else {
        snap->alpha_vector_status = FOCAL_OK;
    }
    snap->reduction_status = focal_loss_get_reduction(loss, &snap->reduction);
    snap->ignore_index_status = focal_loss_get_ignore_index(loss, &snap->ignore_index);
    snap->input_status = focal_loss_get_input(loss, &snap->input);
    snap->epsilon_status = focal_loss_get_epsilon(loss, &snap->epsilon);
    snap->label_smoothing_status = focal_loss_get_label_smoothing(loss, &snap->label_smoothing);
    snap->variant_status = focal_loss_get_variant(loss, &snap->variant);
    snap->beta_status = focal_loss_get_beta(loss, &snap->beta);
    snap->threads_status = focal_loss_get_threads(loss, &snap->threads);
    snap->divisor_status = focal_loss_get_divisor(loss, &snap->divisor);
    snap->soft_form_status = focal_loss_get_soft_form(loss, &snap->soft_form);
    snap->pos_weight_count_status = focal_loss_get_pos_weight_count(loss, &snap->pos_weight_count);
    if (snap->pos_weight_count_status == FOCAL_OK && snap->pos_weight_count >= 1 &&
        snap->pos_weight_count <= ERRCHECK_MAX_ALPHA)
        snap->pos_weight_vector_status =
            focal_loss_get_pos_weight_vector(loss, snap->pos_weight_vector, snap->pos_weight_count);
    else
        snap->pos_weight_vector_status = FOCAL_OK;
    snap->gamma_negative_status = focal_loss_get_gamma_negative(loss, &snap->gamma_negative);
    snap->clip_status = focal_loss_get_clip(loss, &snap->clip);
    snap->poly_epsilon_status = focal_loss_get_poly_epsilon(loss, &snap->poly_epsilon);
}

static void note(char *what, size_t size, size_t *used, const char *name)
{
    if (size == 0 || *used >= size - 1) {
        return;
    }
    int k = snprintf(what + *used, size - *used, "%s%s", *used ? ", " : "", name);
    if (k > 0) {
        *used += (size_t)k < size - *used ? (size_t)k : size - *used - 1;
    }
}

#define ERRCHECK_FIELD(field, name)                                                  \
    do {                                                                             \
        if (a->field##_status != b->field##_status ||                                \
            memcmp(&a->field, &b->field, sizeof a->field) != 0) {                    \
            note(what, size, &used, name);                                           \
            equal = 0;                                                               \
        }                                                                            \
    } while (0)

int errcheck_snapshot_equal(const errcheck_snapshot *a, const errcheck_snapshot *b,
                            char *what, size_t size)
{
    size_t used = 0;
    int equal = 1;
    if (size > 0) {
        what[0] = '\0';
    }
    ERRCHECK_FIELD(mode, "mode");
    ERRCHECK_FIELD(gamma, "gamma");
    ERRCHECK_FIELD(alpha, "alpha");
    ERRCHECK_FIELD(alpha_count, "alpha count");
    ERRCHECK_FIELD(alpha_vector, "alpha vector");
    ERRCHECK_FIELD(reduction, "reduction");
    ERRCHECK_FIELD(ignore_index, "ignore_index");
    ERRCHECK_FIELD(input, "input");
    ERRCHECK_FIELD(epsilon, "epsilon");
    ERRCHECK_FIELD(label_smoothing, "label smoothing");
    ERRCHECK_FIELD(variant, "variant");
    ERRCHECK_FIELD(beta, "beta");
    ERRCHECK_FIELD(threads, "threads");
    ERRCHECK_FIELD(divisor, "divisor");
    ERRCHECK_FIELD(soft_form, "soft form");
    ERRCHECK_FIELD(pos_weight_count, "pos_weight count");
    ERRCHECK_FIELD(pos_weight_vector, "pos_weight vector");
    ERRCHECK_FIELD(gamma_negative, "gamma_negative");
    ERRCHECK_FIELD(clip, "clip");
    ERRCHECK_FIELD(poly_epsilon, "poly epsilon");
    return equal;
}

#undef ERRCHECK_FIELD

int errcheck_copy_last_error(char *buf, size_t size)
{
    const char *msg = focal_last_error();
    if (size == 0) {
        return msg != NULL;
    }
    if (msg == NULL) {
        snprintf(buf, size, "<NULL>");
        return 0;
    }
    snprintf(buf, size, "%s", msg);
    return 1;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int contains_span(const char *text, const char *needle, size_t len)
{
    if (len == 0) {
        return 1;
    }
    for (const char *t = text; *t; ++t) {
        size_t i = 0;
        while (i < len && t[i] && lower((unsigned char)t[i]) == lower((unsigned char)needle[i])) {
            ++i;
        }
        if (i == len) {
            return 1;
        }
    }
    return 0;
}

int errcheck_contains(const char *text, const char *pattern)
{
    if (text == NULL || pattern == NULL) {
        return 0;
    }
    const char *start = pattern;
    for (;;) {
        const char *bar = strchr(start, '|');
        size_t len = bar ? (size_t)(bar - start) : strlen(start);
        if (contains_span(text, start, len)) {
            return 1;
        }
        if (!bar) {
            return 0;
        }
        start = bar + 1;
    }
}

int errcheck_all_bytes(const void *buf, size_t size, unsigned char byte)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < size; ++i) {
        if (p[i] != byte) {
            return 0;
        }
    }
    return 1;
}

static int g_problems;

void errcheck_problem(const char *fmt, ...)
{
    char buf[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g_problems < 40)
        print_error("  PROBLEM: %s\n", buf);
    g_problems++;
}

int errcheck_reset_tally(void **state)
{
    (void)state;
    g_problems = 0;
    return 0;
}

void errcheck_finish(void)
{
    if (g_problems != 0)
        print_error("  %d problem(s) in this test\n", g_problems);
    assert_int_equal(g_problems, 0);
}
