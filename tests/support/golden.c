/*
 * Reader and runner for the golden reference data; see golden.h and
 * tests/golden/README.md for the format.
 *
 * SPDX-License-Identifier: MIT
 */
#include "golden.h"
#include "half.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

/* Arrays in the golden files are small; anything larger is a corrupt file. */
#define GOLDEN_MAX_COUNT ((int64_t)1 << 28)
/* Mismatches printed per compared array before only counting them. */
#define GOLDEN_MAX_PRINT 5

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

enum golden_field {
    F_MODE = 1 << 0,
    F_TARGETS = 1 << 1,
    F_INPUT = 1 << 2,
    F_GAMMA = 1 << 3,
    F_ALPHA = 1 << 4,
    F_REDUCTION = 1 << 5,
    F_IGNORE = 1 << 6,
    F_SMOOTHING = 1 << 7,
    F_EPSILON = 1 << 8,
    F_VARIANT = 1 << 9,
    F_BETA = 1 << 10,
    F_TOL = 1 << 11,
    F_SHAPE = 1 << 12,
    F_X = 1 << 13,
    F_T = 1 << 14,
    F_W = 1 << 15,
    F_G = 1 << 16,
    F_OUT = 1 << 17,
    F_GRAD = 1 << 18,
    F_FGRAD = 1 << 19,
    /* Optional keys added with 1.1. */
    F_DIVISOR = 1 << 20,
    F_SOFT_FORM = 1 << 21,
    F_POS_WEIGHT = 1 << 22,
    F_GAMMA_NEGATIVE = 1 << 23,
    F_CLIP = 1 << 24,
    F_POLY_EPSILON = 1 << 25,
    F_COUNTS = 1 << 26,
    F_TGRAD = 1 << 27
};
/* Past an int's bits: unsigned constants. */
#define F_HALF (1u << 28)
#define F_HOUT (1u << 29)
#define F_HGRAD (1u << 30)
#define F_HFGRAD (1u << 31)
#define F_HALF_ALL (F_HALF | F_HOUT | F_HGRAD | F_HFGRAD)

#define F_REQUIRED (F_MODE | F_TARGETS | F_INPUT | F_GAMMA | F_ALPHA | F_REDUCTION | F_IGNORE | \
                    F_SMOOTHING | F_EPSILON | F_VARIANT | F_BETA | F_SHAPE | F_X | F_T | F_W | \
                    F_G | F_OUT | F_GRAD | F_FGRAD)

typedef struct golden_parser {
    int line;
    char *err;
    size_t err_size;
} golden_parser;

static int parse_error(golden_parser *ps, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (ps->err != NULL && ps->err_size > 0) {
        snprintf(ps->err, ps->err_size, "line %d: %s", ps->line, detail);
    }
    return -1;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Copies the next blank-separated word into word (size bytes) and advances
 * *cur past it. Returns its length, 0 at the end of the line, -1 if too long. */
static int next_word(const char **cur, char *word, size_t size)
{
    const char *p = skip_blanks(*cur);
    size_t len = 0;
    while (p[len] != '\0' && p[len] != ' ' && p[len] != '\t') {
        len++;
    }
    if (len >= size) {
        return -1;
    }
    memcpy(word, p, len);
    word[len] = '\0';
    *cur = p + len;
    return (int)len;
}

static int at_separator(const char *p)
{
    return *p == '\0' || *p == ' ' || *p == '\t';
}

static int parse_f64(golden_parser *ps, const char **cur, const char *what, double *out)
{
    const char *p = skip_blanks(*cur);
    char *end = NULL;
    double v;
    if (*p == '\0') {
        return parse_error(ps, "%s: missing value", what);
    }
    errno = 0;
    v = strtod(p, &end);
    if (end == p || !at_separator(end)) {
        return parse_error(ps, "%s: not a number near \"%.20s\"", what, p);
    }
    /* Underflow to a subnormal or zero is what Python's repr meant too. */
    if (errno == ERANGE && isinf(v)) {
        return parse_error(ps, "%s: out of range near \"%.20s\"", what, p);
    }
    *out = v;
    *cur = end;
    return 0;
}

static int parse_i64(golden_parser *ps, const char **cur, const char *what, int64_t *out)
{
    const char *p = skip_blanks(*cur);
    char *end = NULL;
    long long v;
    if (*p == '\0') {
        return parse_error(ps, "%s: missing value", what);
    }
    errno = 0;
    v = strtoll(p, &end, 10);
    if (end == p || !at_separator(end)) {
        return parse_error(ps, "%s: not an integer near \"%.20s\"", what, p);
    }
    if (errno == ERANGE) {
        return parse_error(ps, "%s: out of range near \"%.20s\"", what, p);
    }
    *out = (int64_t)v;
    *cur = end;
    return 0;
}

static int parse_count(golden_parser *ps, const char **cur, const char *what, int64_t *count)
{
    if (parse_i64(ps, cur, what, count) != 0) {
        return -1;
    }
    if (*count < 0 || *count > GOLDEN_MAX_COUNT) {
        return parse_error(ps, "%s: bad count %" PRId64, what, *count);
    }
    return 0;
}

static int expect_line_end(golden_parser *ps, const char *cur, const char *what)
{
    cur = skip_blanks(cur);
    if (*cur != '\0') {
        return parse_error(ps, "%s: unexpected \"%.20s\"", what, cur);
    }
    return 0;
}

static void *alloc_array(int64_t count, size_t size)
{
    return malloc(count > 0 ? (size_t)count * size : 1);
}

static int parse_array(golden_parser *ps, const char **cur, const char *what, golden_array *a)
{
    int64_t count;
    if (parse_count(ps, cur, what, &count) != 0) {
        return -1;
    }
    a->values = alloc_array(count, sizeof(double));
    if (a->values == NULL) {
        return parse_error(ps, "%s: out of memory", what);
    }
    a->count = count;
    for (int64_t i = 0; i < count; i++) {
        if (parse_f64(ps, cur, what, &a->values[i]) != 0) {
            return -1;
        }
    }
    return expect_line_end(ps, *cur, what);
}

static int parse_index_array(golden_parser *ps, const char **cur, const char *what, int64_t **values,
                             int64_t *count)
{
    if (parse_count(ps, cur, what, count) != 0) {
        return -1;
    }
    *values = alloc_array(*count, sizeof(int64_t));
    if (*values == NULL) {
        return parse_error(ps, "%s: out of memory", what);
    }
    for (int64_t i = 0; i < *count; i++) {
        if (parse_i64(ps, cur, what, &(*values)[i]) != 0) {
            return -1;
        }
    }
    return expect_line_end(ps, *cur, what);
}

/* One number and the end of the line. */
static int parse_scalar(golden_parser *ps, const char *cur, const char *what, double *out)
{
    return parse_f64(ps, &cur, what, out) != 0 ? -1 : expect_line_end(ps, cur, what);
}

/* Parses one word naming an enum value; names[i] is the name of value i. */
static int parse_choice(golden_parser *ps, const char **cur, const char *what, const char *const *names,
                        int count, int *out)
{
    char word[64];
    if (next_word(cur, word, sizeof word) <= 0) {
        return parse_error(ps, "%s: missing or overlong value", what);
    }
    for (int i = 0; i < count; i++) {
        if (names[i] != NULL && strcmp(word, names[i]) == 0) {
            *out = i;
            return expect_line_end(ps, *cur, what);
        }
    }
    return parse_error(ps, "%s: unknown value \"%s\"", what, word);
}

/* "none" or a number; *is_none says which. */
static int parse_none_or(golden_parser *ps, const char **cur, const char *what, int *is_none)
{
    const char *p = skip_blanks(*cur);
    if (strncmp(p, "none", 4) == 0 && at_separator(p + 4)) {
        *is_none = 1;
        *cur = p + 4;
        return expect_line_end(ps, *cur, what);
    }
    *is_none = 0;
    return 0;
}

static int checked_product(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0 || (a != 0 && b > GOLDEN_MAX_COUNT / a)) {
        return -1;
    }
    *out = a * b;
    return 0;
}

int64_t golden_out_count(const golden_case *gc)
{
    if (gc->reduction != FOCAL_REDUCTION_NONE) {
        return 1;
    }
    return gc->mode == FOCAL_MODE_SOFTMAX ? gc->n * gc->inner : gc->n * gc->c * gc->inner;
}

static int finish_case(golden_parser *ps, golden_case *gc, unsigned seen)
{
    int64_t positions, elements;
    if ((seen & F_REQUIRED) != F_REQUIRED) {
        return parse_error(ps, "case %s: missing fields (mask 0x%x of 0x%x)", gc->name, seen & F_REQUIRED,
                           (unsigned)F_REQUIRED);
    }
    if (!(seen & F_TOL)) {
        gc->rtol64 = GOLDEN_DEFAULT_RTOL64;
        gc->rtol32 = GOLDEN_DEFAULT_RTOL32;
    }
    if (!(seen & F_DIVISOR)) {
        gc->divisor = 1.0;
    }
    if (!(seen & F_GAMMA_NEGATIVE)) {
        gc->gamma_negative = 4.0;
    }
    if (!(seen & F_CLIP)) {
        gc->clip = 0.05;
    }
    if (checked_product(gc->n, gc->inner, &positions) != 0 ||
        checked_product(positions, gc->c, &elements) != 0) {
        return parse_error(ps, "case %s: shape too large", gc->name);
    }
    if (gc->x.count != elements) {
        return parse_error(ps, "case %s: x has %" PRId64 " values, expected %" PRId64, gc->name, gc->x.count,
                           elements);
    }
    if (gc->target_count != (gc->dense_targets ? elements : positions)) {
        return parse_error(ps, "case %s: t has %" PRId64 " values", gc->name, gc->target_count);
    }
    if (gc->has_weights && gc->w.count != positions) {
        return parse_error(ps, "case %s: w has %" PRId64 " values, expected %" PRId64, gc->name, gc->w.count,
                           positions);
    }
    if (gc->out.count != golden_out_count(gc) || gc->g.count != gc->out.count) {
        return parse_error(ps, "case %s: out/g have %" PRId64 "/%" PRId64 " values, expected %" PRId64, gc->name,
                           gc->out.count, gc->g.count, golden_out_count(gc));
    }
    if (gc->grad.count != elements || gc->fgrad.count != elements) {
        return parse_error(ps, "case %s: grad/fgrad must have %" PRId64 " values", gc->name, elements);
    }
    if ((seen & F_COUNTS) && gc->counts.count != 3) {
        return parse_error(ps, "case %s: counts must have 3 values", gc->name);
    }
    if ((seen & F_TGRAD) && (!gc->dense_targets || gc->tgrad.count != elements)) {
        return parse_error(ps, "case %s: tgrad needs dense targets and %" PRId64 " values", gc->name, elements);
    }
    if ((seen & F_HALF_ALL) != 0 &&
        ((seen & F_HALF_ALL) != F_HALF_ALL || gc->hout.count != gc->out.count || gc->hgrad.count != elements ||
         gc->hfgrad.count != elements)) {
        return parse_error(ps, "case %s: half needs hout, hgrad and hfgrad shaped as out, grad, fgrad", gc->name);
    }
    if ((seen & F_POS_WEIGHT) && gc->pos_weight.count == 0) {
        return parse_error(ps, "case %s: pos_weight needs values", gc->name);
    }
    return 0;
}

static const char *const mode_names[] = {"softmax", "sigmoid"};
static const char *const targets_names[] = {"index", "dense"};
static const char *const input_names[] = {"logits", "probabilities"};
static const char *const reduction_names[] = {"none", "mean", "sum", "weighted_mean", "sum_over_positives",
                                              "divisor"};
static const char *const variant_names[] = {"fl", "fl_star", "qfl", "vfl", "asl"};
static const char *const soft_form_names[] = {"torchvision", "split"};
static const char *const half_names[] = {NULL, "bf16", "f16"};
static const char *const alpha_names[] = {"none", "scalar", "vector"};

#define NAMES_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Offset of a golden_array field of golden_case. */
#define GOLDEN_ARRAY_AT(field) offsetof(golden_case, field)

/* Parses one keyword line of a case. */
static int parse_field(golden_parser *ps, golden_case *gc, const char *key, const char *cur, unsigned *seen)
{
    static const struct {
        const char *key;
        unsigned bit;
        size_t array;           /* offset of a plain golden_array field, else 0 */
    } fields[] = {
        {"mode", F_MODE, 0},
        {"targets", F_TARGETS, 0},
        {"input", F_INPUT, 0},
        {"gamma", F_GAMMA, 0},
        {"alpha", F_ALPHA, 0},
        {"reduction", F_REDUCTION, 0},
        {"ignore_index", F_IGNORE, 0},
        {"smoothing", F_SMOOTHING, 0},
        {"epsilon", F_EPSILON, 0},
        {"variant", F_VARIANT, 0},
        {"beta", F_BETA, 0},
        {"tol", F_TOL, 0},
        {"shape", F_SHAPE, 0},
        {"x", F_X, GOLDEN_ARRAY_AT(x)},
        {"t", F_T, 0},
        {"w", F_W, 0},
        {"g", F_G, GOLDEN_ARRAY_AT(g)},
        {"out", F_OUT, GOLDEN_ARRAY_AT(out)},
        {"grad", F_GRAD, GOLDEN_ARRAY_AT(grad)},
        {"fgrad", F_FGRAD, GOLDEN_ARRAY_AT(fgrad)},
        {"divisor", F_DIVISOR, 0},
        {"soft_form", F_SOFT_FORM, 0},
        {"pos_weight", F_POS_WEIGHT, GOLDEN_ARRAY_AT(pos_weight)},
        {"gamma_negative", F_GAMMA_NEGATIVE, 0},
        {"clip", F_CLIP, 0},
        {"poly_epsilon", F_POLY_EPSILON, 0},
        {"counts", F_COUNTS, GOLDEN_ARRAY_AT(counts)},
        {"tgrad", F_TGRAD, GOLDEN_ARRAY_AT(tgrad)},
        {"half", F_HALF, 0},
        {"hout", F_HOUT, GOLDEN_ARRAY_AT(hout)},
        {"hgrad", F_HGRAD, GOLDEN_ARRAY_AT(hgrad)},
        {"hfgrad", F_HFGRAD, GOLDEN_ARRAY_AT(hfgrad)},
    };
    unsigned bit = 0;
    size_t array = 0;
    int choice = 0;
    int rc;
    int is_none = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(key, fields[i].key) == 0) {
            bit = fields[i].bit;
            array = fields[i].array;
            break;
        }
    }
    if (bit == 0) {
        return parse_error(ps, "unknown keyword \"%s\"", key);
    }
    if (*seen & bit) {
        return parse_error(ps, "\"%s\" given twice", key);
    }
    *seen |= bit;
    if (array != 0) {
        return parse_array(ps, &cur, key, (golden_array *)(void *)((char *)gc + array));
    }

    switch (bit) {
    case F_MODE:
        if (parse_choice(ps, &cur, key, mode_names, NAMES_COUNT(mode_names), &choice) != 0) {
            return -1;
        }
        gc->mode = choice == 0 ? FOCAL_MODE_SOFTMAX : FOCAL_MODE_SIGMOID;
        return 0;
    case F_TARGETS:
        if (parse_choice(ps, &cur, key, targets_names, NAMES_COUNT(targets_names), &choice) != 0) {
            return -1;
        }
        gc->dense_targets = choice;
        return 0;
    case F_INPUT:
        if (parse_choice(ps, &cur, key, input_names, NAMES_COUNT(input_names), &choice) != 0) {
            return -1;
        }
        gc->input = choice == 0 ? FOCAL_INPUT_LOGITS : FOCAL_INPUT_PROBABILITIES;
        return 0;
    case F_REDUCTION:
        if (parse_choice(ps, &cur, key, reduction_names, NAMES_COUNT(reduction_names), &choice) != 0) {
            return -1;
        }
        gc->reduction = (focal_reduction)choice;
        return 0;
    case F_VARIANT:
        if (parse_choice(ps, &cur, key, variant_names, NAMES_COUNT(variant_names), &choice) != 0) {
            return -1;
        }
        gc->variant = (focal_variant)choice;   /* the names are in the enum's order */
        return 0;
    /* The names of these two are in their enums' order. */
    case F_SOFT_FORM:
        rc = parse_choice(ps, &cur, key, soft_form_names, NAMES_COUNT(soft_form_names), &choice);
        gc->soft_form = (focal_soft_form)choice;
        return rc;
    case F_HALF:
        rc = parse_choice(ps, &cur, key, half_names, NAMES_COUNT(half_names), &choice);
        gc->half = (golden_half)choice;
        return rc;
    case F_GAMMA:
        return parse_scalar(ps, cur, key, &gc->gamma);
    case F_SMOOTHING:
        return parse_scalar(ps, cur, key, &gc->smoothing);
    case F_EPSILON:
        return parse_scalar(ps, cur, key, &gc->epsilon);
    case F_BETA:
        return parse_scalar(ps, cur, key, &gc->beta);
    case F_DIVISOR:
        return parse_scalar(ps, cur, key, &gc->divisor);
    case F_GAMMA_NEGATIVE:
        return parse_scalar(ps, cur, key, &gc->gamma_negative);
    case F_CLIP:
        return parse_scalar(ps, cur, key, &gc->clip);
    case F_POLY_EPSILON:
        return parse_scalar(ps, cur, key, &gc->poly_epsilon);
    case F_TOL:
        if (parse_f64(ps, &cur, key, &gc->rtol64) != 0 || parse_f64(ps, &cur, key, &gc->rtol32) != 0) {
            return -1;
        }
        return expect_line_end(ps, cur, key);
    case F_ALPHA: {
        char word[16];
        if (next_word(&cur, word, sizeof word) <= 0) {
            return parse_error(ps, "alpha: missing kind");
        }
        for (choice = 0; choice < NAMES_COUNT(alpha_names); choice++) {
            if (strcmp(word, alpha_names[choice]) == 0) {
                break;
            }
        }
        if (choice == NAMES_COUNT(alpha_names)) {
            return parse_error(ps, "alpha: unknown kind \"%s\"", word);
        }
        gc->alpha_kind = (golden_alpha_kind)choice;
        if (gc->alpha_kind == GOLDEN_ALPHA_NONE) {
            return expect_line_end(ps, cur, key);
        }
        if (gc->alpha_kind == GOLDEN_ALPHA_SCALAR) {
            return parse_scalar(ps, cur, key, &gc->alpha);
        }
        return parse_array(ps, &cur, key, &gc->alpha_vector);
    }
    case F_IGNORE:
        if (parse_none_or(ps, &cur, key, &is_none) != 0) {
            return -1;
        }
        gc->has_ignore_index = !is_none;
        if (is_none) {
            return 0;
        }
        return parse_i64(ps, &cur, key, &gc->ignore_index) != 0 ? -1 : expect_line_end(ps, cur, key);
    case F_SHAPE:
        if (parse_i64(ps, &cur, key, &gc->n) != 0 || parse_i64(ps, &cur, key, &gc->c) != 0 ||
            parse_i64(ps, &cur, key, &gc->inner) != 0) {
            return -1;
        }
        if (gc->n < 1 || gc->c < 1 || gc->inner < 1) {
            return parse_error(ps, "shape: sizes must be >= 1");
        }
        return expect_line_end(ps, cur, key);
    case F_T:
        if (!(*seen & F_TARGETS)) {
            return parse_error(ps, "t before targets");
        }
        if (gc->dense_targets) {
            if (parse_array(ps, &cur, key, &gc->target_dense) != 0) {
                return -1;
            }
            gc->target_count = gc->target_dense.count;
            return 0;
        }
        return parse_index_array(ps, &cur, key, &gc->target_index, &gc->target_count);
    case F_W:
        if (parse_none_or(ps, &cur, key, &is_none) != 0) {
            return -1;
        }
        gc->has_weights = !is_none;
        return is_none ? 0 : parse_array(ps, &cur, key, &gc->w);
    default:
        return parse_error(ps, "internal: unhandled keyword \"%s\"", key);
    }
}

static char *read_text(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t size = 0, cap = 0;
    if (f == NULL) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;
        if (cap - size < 65536) {
            char *bigger;
            cap = cap == 0 ? 1 << 20 : cap * 2;
            bigger = realloc(buf, cap + 1);
            if (bigger == NULL) {
                free(buf);
                fclose(f);
                snprintf(err, err_size, "out of memory reading %s", path);
                return NULL;
            }
            buf = bigger;
        }
        got = fread(buf + size, 1, cap - size, f);
        size += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        snprintf(err, err_size, "error reading %s", path);
        return NULL;
    }
    fclose(f);
    buf[size] = '\0';
    if (strlen(buf) != size) {
        free(buf);
        snprintf(err, err_size, "%s contains a NUL byte", path);
        return NULL;
    }
    return buf;
}

int golden_load(const char *path, golden_file *file, char *err, size_t err_size)
{
    golden_parser ps = {0, err, err_size};
    golden_case *gc = NULL;
    unsigned seen = 0;
    size_t cap = 0;
    char *text, *line;
    int rc = 0;

    file->cases = NULL;
    file->count = 0;
    if (err_size > 0) {
        err[0] = '\0';
    }
    text = read_text(path, err, err_size);
    if (text == NULL) {
        return -1;
    }
    for (line = text; rc == 0 && line != NULL;) {
        char *next = strchr(line, '\n');
        const char *cur;
        char key[32];
        int len;
        if (next != NULL) {
            *next++ = '\0';
        }
        len = (int)strlen(line);
        if (len > 0 && line[len - 1] == '\r') {
            line[len - 1] = '\0';
        }
        ps.line++;
        cur = line;
        len = next_word(&cur, key, sizeof key);
        if (len < 0) {
            rc = parse_error(&ps, "overlong keyword");
        } else if (len == 0 || key[0] == '#') {
            /* blank line or comment */
        } else if (gc == NULL) {
            char name[256];
            if (strcmp(key, "case") != 0) {
                rc = parse_error(&ps, "expected \"case\", got \"%s\"", key);
            } else if (next_word(&cur, name, sizeof name) <= 0) {
                rc = parse_error(&ps, "case: missing or overlong name");
            } else if (expect_line_end(&ps, cur, "case") != 0) {
                rc = -1;
            } else {
                if (file->count == cap) {
                    size_t new_cap = cap == 0 ? 64 : cap * 2;
                    golden_case *bigger = realloc(file->cases, new_cap * sizeof *bigger);
                    if (bigger == NULL) {
                        rc = parse_error(&ps, "out of memory");
                        break;
                    }
                    file->cases = bigger;
                    cap = new_cap;
                }
                gc = &file->cases[file->count++];
                memset(gc, 0, sizeof *gc);
                gc->line = ps.line;
                gc->name = malloc(strlen(name) + 1);
                if (gc->name == NULL) {
                    rc = parse_error(&ps, "out of memory");
                } else {
                    memcpy(gc->name, name, strlen(name) + 1);
                }
                seen = 0;
            }
        } else if (strcmp(key, "end") == 0) {
            rc = expect_line_end(&ps, cur, "end");
            if (rc == 0) {
                rc = finish_case(&ps, gc, seen);
            }
            gc = NULL;
        } else {
            rc = parse_field(&ps, gc, key, cur, &seen);
        }
        line = next;
    }
    if (rc == 0 && gc != NULL) {
        rc = parse_error(&ps, "case %s: missing \"end\"", gc->name);
    }
    free(text);
    if (rc != 0) {
        golden_free(file);
        return -1;
    }
    return 0;
}

void golden_free(golden_file *file)
{
    if (file == NULL) {
        return;
    }
    for (size_t i = 0; i < file->count; i++) {
        golden_case *gc = &file->cases[i];
        free(gc->name);
        free(gc->alpha_vector.values);
        free(gc->x.values);
        free(gc->target_index);
        free(gc->target_dense.values);
        free(gc->w.values);
        free(gc->g.values);
        free(gc->out.values);
        free(gc->grad.values);
        free(gc->fgrad.values);
        free(gc->pos_weight.values);
        free(gc->counts.values);
        free(gc->tgrad.values);
        free(gc->hout.values);
        free(gc->hgrad.values);
        free(gc->hfgrad.values);
    }
    free(file->cases);
    file->cases = NULL;
    file->count = 0;
}

/* ------------------------------------------------------------------------
 * Configuring a context
 * ------------------------------------------------------------------------ */

static int setter_ok(const golden_case *gc, const char *what, focal_status st)
{
    if (st == FOCAL_OK) {
        return 1;
    }
    print_error("case %s: %s returned %d (%s): %s\n", gc->name, what, (int)st, focal_status_string(st),
                focal_last_error());
    return 0;
}

focal_status golden_configure(const golden_case *gc, focal_loss **out)
{
    focal_loss *loss = NULL;
    focal_status st = focal_loss_create(&loss, gc->mode);
    if (!setter_ok(gc, "focal_loss_create", st)) {
        return st;
    }
#define GOLDEN_SET(call)                    \
    do {                                    \
        st = (call);                        \
        if (!setter_ok(gc, #call, st)) {    \
            focal_loss_destroy(loss);       \
            return st;                      \
        }                                   \
    } while (0)

    GOLDEN_SET(focal_loss_set_gamma(loss, gc->gamma));
    switch (gc->alpha_kind) {
    case GOLDEN_ALPHA_NONE:
        GOLDEN_SET(focal_loss_clear_alpha(loss));
        break;
    case GOLDEN_ALPHA_SCALAR:
        GOLDEN_SET(focal_loss_set_alpha(loss, gc->alpha));
        break;
    case GOLDEN_ALPHA_VECTOR:
        GOLDEN_SET(focal_loss_set_alpha_vector(loss, gc->alpha_vector.values, gc->alpha_vector.count));
        break;
    }
    GOLDEN_SET(focal_loss_set_reduction(loss, gc->reduction));
    if (gc->has_ignore_index) {
        GOLDEN_SET(focal_loss_set_ignore_index(loss, gc->ignore_index));
    } else {
        GOLDEN_SET(focal_loss_clear_ignore_index(loss));
    }
    GOLDEN_SET(focal_loss_set_input(loss, gc->input));
    GOLDEN_SET(focal_loss_set_epsilon(loss, gc->epsilon));
    GOLDEN_SET(focal_loss_set_label_smoothing(loss, gc->smoothing));
    GOLDEN_SET(focal_loss_set_beta(loss, gc->beta));
    GOLDEN_SET(focal_loss_set_variant(loss, gc->variant));
    GOLDEN_SET(focal_loss_set_divisor(loss, gc->divisor));
    GOLDEN_SET(focal_loss_set_soft_form(loss, gc->soft_form));
    if (gc->pos_weight.count > 0) {
        GOLDEN_SET(focal_loss_set_pos_weight_vector(loss, gc->pos_weight.values, gc->pos_weight.count));
    } else {
        GOLDEN_SET(focal_loss_clear_pos_weight(loss));
    }
    GOLDEN_SET(focal_loss_set_gamma_negative(loss, gc->gamma_negative));
    GOLDEN_SET(focal_loss_set_clip(loss, gc->clip));
    GOLDEN_SET(focal_loss_set_poly_epsilon(loss, gc->poly_epsilon));
#undef GOLDEN_SET
    *out = loss;
    return FOCAL_OK;
}

/* ------------------------------------------------------------------------
 * Running and comparing
 * ------------------------------------------------------------------------ */

static int golden_close(double got, double want, double rtol, double atol)
{
    if (isnan(want)) {
        return isnan(got);
    }
    if (isinf(want)) {
        return got == want;
    }
    if (!isfinite(got)) {
        return 0;
    }
    return fabs(got - want) <= atol + rtol * fabs(want);
}

/* Compares got with want; prints the first mismatches. Returns 1 if any. */
static int compare(const golden_case *gc, const char *prec, const char *call, const char *what,
                   const double *got, const golden_array *want, double rtol)
{
    double scale = 0.0, atol;
    int64_t bad = 0;
    for (int64_t i = 0; i < want->count; i++) {
        double a = fabs(want->values[i]);
        if (isfinite(a) && a > scale) {
            scale = a;
        }
    }
    atol = rtol * (scale > 1e-300 ? scale : 1e-300) * 0.1;
    for (int64_t i = 0; i < want->count; i++) {
        if (!golden_close(got[i], want->values[i], rtol, atol)) {
            if (bad < GOLDEN_MAX_PRINT) {
                print_error("case %s [%s]: %s: %s[%" PRId64 "] = %.17g, expected %.17g (rtol %g, atol %g)\n",
                            gc->name, prec, call, what, i, got[i], want->values[i], rtol, atol);
            }
            bad++;
        }
    }
    if (bad > GOLDEN_MAX_PRINT) {
        print_error("case %s [%s]: %s: %s: %" PRId64 " of %" PRId64 " values differ\n", gc->name, prec, call,
                    what, bad, want->count);
    }
    return bad != 0;
}

static int call_ok(const golden_case *gc, const char *prec, const char *call, focal_status st)
{
    if (st == FOCAL_OK) {
        return 1;
    }
    print_error("case %s [%s]: %s returned %d (%s): %s\n", gc->name, prec, call, (int)st, focal_status_string(st),
                focal_last_error());
    return 0;
}

static void fill_nan(double *v, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        v[i] = NAN;
    }
}

/* The float64 and float32 entry points behind one signature. */
typedef struct golden_buffers {
    const golden_case *gc;
    int use_f32;
    float *x32, *t32, *w32, *g32;   /* float32 copies of the inputs */
    float *out32, *grad32;          /* float32 outputs */
} golden_buffers;

static float *to_f32(const double *v, int64_t count)
{
    float *f = alloc_array(count, sizeof(float));
    if (f != NULL) {
        for (int64_t i = 0; i < count; i++) {
            f[i] = (float)v[i];
        }
    }
    return f;
}

static void widen(const float *f, double *v, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        v[i] = (double)f[i];
    }
}

static focal_status do_forward(golden_buffers *b, const focal_loss *loss, double *out)
{
    const golden_case *gc = b->gc;
    const double *w = gc->has_weights ? gc->w.values : NULL;
    focal_status st;
    if (!b->use_f32) {
        if (gc->dense_targets) {
            return focal_forward_dense_f64(loss, gc->n, gc->c, gc->inner, gc->x.values, gc->target_dense.values,
                                           w, out);
        }
        return focal_forward_f64(loss, gc->n, gc->c, gc->inner, gc->x.values, gc->target_index, w, out);
    }
    for (int64_t i = 0; i < gc->out.count; i++) {
        b->out32[i] = NAN;
    }
    if (gc->dense_targets) {
        st = focal_forward_dense_f32(loss, gc->n, gc->c, gc->inner, b->x32, b->t32, b->w32, b->out32);
    } else {
        st = focal_forward_f32(loss, gc->n, gc->c, gc->inner, b->x32, gc->target_index, b->w32, b->out32);
    }
    widen(b->out32, out, gc->out.count);
    return st;
}

static focal_status do_backward(golden_buffers *b, const focal_loss *loss, double *grad)
{
    const golden_case *gc = b->gc;
    const double *w = gc->has_weights ? gc->w.values : NULL;
    focal_status st;
    if (!b->use_f32) {
        if (gc->dense_targets) {
            return focal_backward_dense_f64(loss, gc->n, gc->c, gc->inner, gc->x.values, gc->target_dense.values,
                                            w, gc->g.values, grad);
        }
        return focal_backward_f64(loss, gc->n, gc->c, gc->inner, gc->x.values, gc->target_index, w,
                                  gc->g.values, grad);
    }
    for (int64_t i = 0; i < gc->x.count; i++) {
        b->grad32[i] = NAN;
    }
    if (gc->dense_targets) {
        st = focal_backward_dense_f32(loss, gc->n, gc->c, gc->inner, b->x32, b->t32, b->w32, b->g32, b->grad32);
    } else {
        st = focal_backward_f32(loss, gc->n, gc->c, gc->inner, b->x32, gc->target_index, b->w32, b->g32,
                                b->grad32);
    }
    widen(b->grad32, grad, gc->x.count);
    return st;
}

/* out or grad may be NULL to skip that output. */
static focal_status do_forward_backward(golden_buffers *b, const focal_loss *loss, double *out, double *grad)
{
    const golden_case *gc = b->gc;
    const double *w = gc->has_weights ? gc->w.values : NULL;
    float *out32 = out != NULL ? b->out32 : NULL;
    float *grad32 = grad != NULL ? b->grad32 : NULL;
    focal_status st;
    if (!b->use_f32) {
        if (gc->dense_targets) {
            return focal_forward_backward_dense_f64(loss, gc->n, gc->c, gc->inner, gc->x.values,
                                                    gc->target_dense.values, w, out, grad);
        }
        return focal_forward_backward_f64(loss, gc->n, gc->c, gc->inner, gc->x.values, gc->target_index, w, out,
                                          grad);
    }
    for (int64_t i = 0; out32 != NULL && i < gc->out.count; i++) {
        out32[i] = NAN;
    }
    for (int64_t i = 0; grad32 != NULL && i < gc->x.count; i++) {
        grad32[i] = NAN;
    }
    if (gc->dense_targets) {
        st = focal_forward_backward_dense_f32(loss, gc->n, gc->c, gc->inner, b->x32, b->t32, b->w32, out32,
                                              grad32);
    } else {
        st = focal_forward_backward_f32(loss, gc->n, gc->c, gc->inner, b->x32, gc->target_index, b->w32, out32,
                                        grad32);
    }
    if (out != NULL) {
        widen(out32, out, gc->out.count);
    }
    if (grad != NULL) {
        widen(grad32, grad, gc->x.count);
    }
    return st;
}

static focal_status do_counts(golden_buffers *b, const focal_loss *loss, double counts[3])
{
    const golden_case *gc = b->gc;
    const double *w = gc->has_weights ? gc->w.values : NULL;
    if (!b->use_f32) {
        if (gc->dense_targets) {
            return focal_counts_dense_f64(loss, gc->n, gc->c, gc->inner, gc->target_dense.values, w, counts);
        }
        return focal_counts_f64(loss, gc->n, gc->c, gc->inner, gc->target_index, w, counts);
    }
    if (gc->dense_targets) {
        return focal_counts_dense_f32(loss, gc->n, gc->c, gc->inner, b->t32, b->w32, counts);
    }
    return focal_counts_f32(loss, gc->n, gc->c, gc->inner, gc->target_index, b->w32, counts);
}

/* The gradient with respect to the dense targets, into grad (x.count values). */
static focal_status do_backward_target(golden_buffers *b, const focal_loss *loss, double *grad)
{
    const golden_case *gc = b->gc;
    const double *w = gc->has_weights ? gc->w.values : NULL;
    focal_status st;
    if (!b->use_f32) {
        return focal_backward_target_dense_f64(loss, gc->n, gc->c, gc->inner, gc->x.values,
                                               gc->target_dense.values, w, gc->g.values, grad);
    }
    for (int64_t i = 0; i < gc->x.count; i++) {
        b->grad32[i] = NAN;
    }
    st = focal_backward_target_dense_f32(loss, gc->n, gc->c, gc->inner, b->x32, b->t32, b->w32, b->g32,
                                         b->grad32);
    widen(b->grad32, grad, gc->x.count);
    return st;
}

/* ------------------------------------------------------------------------
 * Half-precision storage
 * ------------------------------------------------------------------------ */

/* The test support's half formats (half.h), by the case's type. */
static half_kind kind_of(golden_half kind) { return kind == GOLDEN_HALF_BF16 ? HALF_BF16 : HALF_F16; }
static uint16_t round_half(golden_half kind, float f) { return half_from_float(kind_of(kind), f); }
static double half_to_double(golden_half kind, uint16_t h) { return half_to_float(kind_of(kind), h); }

/* Monotone integer key of a finite half value: neighbours differ by 1. */
static int32_t half_order(uint16_t h)
{
    return (h & 0x8000u) ? -(int32_t)(h & 0x7fffu) : (int32_t)h;
}

static uint16_t *to_half(golden_half kind, const double *v, int64_t count)
{
    uint16_t *h = alloc_array(count, sizeof(uint16_t));
    for (int64_t i = 0; h != NULL && i < count; i++) {
        h[i] = round_half(kind, (float)v[i]);
    }
    return h;
}

/* got (half) against want (decoded expected halves) within one half ulp, and
 * bitwise against the rounding of the float32 entry point's result f32 (or
 * its other neighbour where f32 lies exactly halfway: the half result is
 * rounded once from double, not from the float32 result). */
static int compare_half(const golden_case *gc, const char *call, const char *what, const uint16_t *got,
                        const golden_array *want, const double *f32)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < want->count; i++) {
        uint16_t w = round_half(gc->half, (float)want->values[i]);
        uint16_t r = round_half(gc->half, (float)f32[i]);
        int nan_got = isnan(half_to_double(gc->half, got[i]));
        int ok = nan_got ? isnan(want->values[i]) && isnan(f32[i])
                         : half_matches_rounded(kind_of(gc->half), got[i], (float)f32[i]) &&
                               llabs((long long)half_order(got[i]) - half_order(w)) <= 1;
        if (!ok) {
            if (bad < GOLDEN_MAX_PRINT) {
                print_error("case %s [half]: %s: %s[%" PRId64 "] = 0x%04x (%.9g), expected 0x%04x (%.9g) "
                            "within 1 ulp and the float32 result's rounding 0x%04x\n",
                            gc->name, call, what, i, got[i], half_to_double(gc->half, got[i]), w,
                            want->values[i], r);
            }
            bad++;
        }
    }
    return bad != 0;
}

static focal_status half_forward(const golden_case *gc, const focal_loss *loss, const uint16_t *x,
                                 const uint16_t *t, const uint16_t *w, uint16_t *out)
{
    if (gc->half == GOLDEN_HALF_BF16) {
        return gc->dense_targets ? focal_forward_dense_bf16(loss, gc->n, gc->c, gc->inner, x, t, w, out)
                                 : focal_forward_bf16(loss, gc->n, gc->c, gc->inner, x, gc->target_index, w, out);
    }
    return gc->dense_targets ? focal_forward_dense_f16(loss, gc->n, gc->c, gc->inner, x, t, w, out)
                             : focal_forward_f16(loss, gc->n, gc->c, gc->inner, x, gc->target_index, w, out);
}

static focal_status half_backward(const golden_case *gc, const focal_loss *loss, const uint16_t *x,
                                  const uint16_t *t, const uint16_t *w, const uint16_t *g, uint16_t *grad)
{
    if (gc->half == GOLDEN_HALF_BF16) {
        return gc->dense_targets
                   ? focal_backward_dense_bf16(loss, gc->n, gc->c, gc->inner, x, t, w, g, grad)
                   : focal_backward_bf16(loss, gc->n, gc->c, gc->inner, x, gc->target_index, w, g, grad);
    }
    return gc->dense_targets ? focal_backward_dense_f16(loss, gc->n, gc->c, gc->inner, x, t, w, g, grad)
                             : focal_backward_f16(loss, gc->n, gc->c, gc->inner, x, gc->target_index, w, g, grad);
}

static focal_status half_forward_backward(const golden_case *gc, const focal_loss *loss, const uint16_t *x,
                                          const uint16_t *t, const uint16_t *w, uint16_t *out, uint16_t *grad)
{
    if (gc->half == GOLDEN_HALF_BF16) {
        return gc->dense_targets
                   ? focal_forward_backward_dense_bf16(loss, gc->n, gc->c, gc->inner, x, t, w, out, grad)
                   : focal_forward_backward_bf16(loss, gc->n, gc->c, gc->inner, x, gc->target_index, w, out, grad);
    }
    return gc->dense_targets
               ? focal_forward_backward_dense_f16(loss, gc->n, gc->c, gc->inner, x, t, w, out, grad)
               : focal_forward_backward_f16(loss, gc->n, gc->c, gc->inner, x, gc->target_index, w, out, grad);
}

/* The half entry points of the case's type on the half-exact inputs; b holds
 * the float32 copies (use_f32), whose results give the bitwise reference. */
static int check_half(golden_buffers *b, const focal_loss *loss)
{
    const golden_case *gc = b->gc;
    const char *ty = gc->half == GOLDEN_HALF_BF16 ? "bf16" : "f16";
    const char *dn = gc->dense_targets ? "_dense" : "";
    uint16_t *x = to_half(gc->half, gc->x.values, gc->x.count);
    uint16_t *t = gc->dense_targets ? to_half(gc->half, gc->target_dense.values, gc->target_dense.count) : NULL;
    uint16_t *w = gc->has_weights ? to_half(gc->half, gc->w.values, gc->w.count) : NULL;
    uint16_t *g = to_half(gc->half, gc->g.values, gc->g.count);
    uint16_t *hout = alloc_array(gc->out.count, sizeof(uint16_t));
    uint16_t *hgrad = alloc_array(gc->x.count, sizeof(uint16_t));
    double *out32 = alloc_array(gc->out.count, sizeof(double));
    double *grad32 = alloc_array(gc->x.count, sizeof(double));
    char call[96];
    int failures = 0;

    if (x == NULL || g == NULL || hout == NULL || hgrad == NULL || out32 == NULL || grad32 == NULL ||
        (gc->dense_targets && t == NULL) || (gc->has_weights && w == NULL)) {
        print_error("case %s [half]: out of memory\n", gc->name);
        failures++;
        goto done;
    }
    for (int64_t i = 0; i < gc->x.count; i++) {
        if (half_to_double(gc->half, x[i]) != gc->x.values[i]) {
            print_error("case %s [half]: x[%" PRId64 "] is not exact in %s\n", gc->name, i, ty);
            failures++;
            goto done;
        }
    }

    snprintf(call, sizeof call, "focal_forward%s_%s", dn, ty);
    if (call_ok(gc, ty, call, half_forward(gc, loss, x, t, w, hout)) &&
        call_ok(gc, "f32", "float32 forward", do_forward(b, loss, out32))) {
        failures += compare_half(gc, call, "out", hout, &gc->hout, out32);
    } else {
        failures++;
    }
    snprintf(call, sizeof call, "focal_backward%s_%s", dn, ty);
    if (call_ok(gc, ty, call, half_backward(gc, loss, x, t, w, g, hgrad)) &&
        call_ok(gc, "f32", "float32 backward", do_backward(b, loss, grad32))) {
        failures += compare_half(gc, call, "grad_input", hgrad, &gc->hgrad, grad32);
    } else {
        failures++;
    }
    snprintf(call, sizeof call, "focal_forward_backward%s_%s", dn, ty);
    if (call_ok(gc, ty, call, half_forward_backward(gc, loss, x, t, w, hout, hgrad)) &&
        call_ok(gc, "f32", "float32 forward_backward", do_forward_backward(b, loss, out32, grad32))) {
        failures += compare_half(gc, call, "out", hout, &gc->hout, out32);
        failures += compare_half(gc, call, "grad_input (fgrad)", hgrad, &gc->hfgrad, grad32);
    } else {
        failures++;
    }
    if (gc->counts.count == 3) {
        /* The counts of the half-exact targets and weights are the case's. */
        double counts[3] = {NAN, NAN, NAN};
        const int bf = gc->half == GOLDEN_HALF_BF16;
        focal_status st;
        if (gc->dense_targets) {
            st = bf ? focal_counts_dense_bf16(loss, gc->n, gc->c, gc->inner, t, w, counts)
                    : focal_counts_dense_f16(loss, gc->n, gc->c, gc->inner, t, w, counts);
        } else {
            st = bf ? focal_counts_bf16(loss, gc->n, gc->c, gc->inner, gc->target_index, w, counts)
                    : focal_counts_f16(loss, gc->n, gc->c, gc->inner, gc->target_index, w, counts);
        }
        snprintf(call, sizeof call, "focal_counts%s_%s", dn, ty);
        if (call_ok(gc, ty, call, st)) {
            failures += compare(gc, ty, call, "counts", counts, &gc->counts, gc->rtol32);
        } else {
            failures++;
        }
    }

done:
    free(x);
    free(t);
    free(w);
    free(g);
    free(hout);
    free(hgrad);
    free(out32);
    free(grad32);
    return failures;
}

int golden_check_case(const golden_case *gc, int use_f32)
{
    const char *prec = use_f32 ? "f32" : "f64";
    const double rtol = use_f32 ? gc->rtol32 : gc->rtol64;
    golden_buffers b;
    focal_loss *loss = NULL;
    double *out = NULL, *grad = NULL;
    int failures = 0;
    char call[96];

    memset(&b, 0, sizeof b);
    b.gc = gc;
    b.use_f32 = use_f32;
    if (golden_configure(gc, &loss) != FOCAL_OK) {
        return 1;
    }
    out = alloc_array(gc->out.count, sizeof(double));
    grad = alloc_array(gc->x.count, sizeof(double));
    if (use_f32) {
        b.x32 = to_f32(gc->x.values, gc->x.count);
        b.t32 = gc->dense_targets ? to_f32(gc->target_dense.values, gc->target_dense.count) : NULL;
        b.w32 = gc->has_weights ? to_f32(gc->w.values, gc->w.count) : NULL;
        b.g32 = to_f32(gc->g.values, gc->g.count);
        b.out32 = alloc_array(gc->out.count, sizeof(float));
        b.grad32 = alloc_array(gc->x.count, sizeof(float));
    }
    if (out == NULL || grad == NULL ||
        (use_f32 && (b.x32 == NULL || b.g32 == NULL || b.out32 == NULL || b.grad32 == NULL ||
                     (gc->dense_targets && b.t32 == NULL) || (gc->has_weights && b.w32 == NULL)))) {
        print_error("case %s [%s]: out of memory\n", gc->name, prec);
        failures++;
        goto done;
    }

    snprintf(call, sizeof call, "focal_forward%s_%s", gc->dense_targets ? "_dense" : "", prec);
    fill_nan(out, gc->out.count);
    if (call_ok(gc, prec, call, do_forward(&b, loss, out))) {
        failures += compare(gc, prec, call, "out", out, &gc->out, rtol);
    } else {
        failures++;
    }

    snprintf(call, sizeof call, "focal_backward%s_%s", gc->dense_targets ? "_dense" : "", prec);
    fill_nan(grad, gc->x.count);
    if (call_ok(gc, prec, call, do_backward(&b, loss, grad))) {
        failures += compare(gc, prec, call, "grad_input", grad, &gc->grad, rtol);
    } else {
        failures++;
    }

    snprintf(call, sizeof call, "focal_forward_backward%s_%s", gc->dense_targets ? "_dense" : "", prec);
    fill_nan(out, gc->out.count);
    fill_nan(grad, gc->x.count);
    if (call_ok(gc, prec, call, do_forward_backward(&b, loss, out, grad))) {
        failures += compare(gc, prec, call, "out", out, &gc->out, rtol);
        failures += compare(gc, prec, call, "grad_input (fgrad)", grad, &gc->fgrad, rtol);
    } else {
        failures++;
    }

    snprintf(call, sizeof call, "focal_forward_backward%s_%s(out=NULL)", gc->dense_targets ? "_dense" : "",
             prec);
    fill_nan(grad, gc->x.count);
    if (call_ok(gc, prec, call, do_forward_backward(&b, loss, NULL, grad))) {
        failures += compare(gc, prec, call, "grad_input (fgrad)", grad, &gc->fgrad, rtol);
    } else {
        failures++;
    }

    snprintf(call, sizeof call, "focal_forward_backward%s_%s(grad_input=NULL)",
             gc->dense_targets ? "_dense" : "", prec);
    fill_nan(out, gc->out.count);
    if (call_ok(gc, prec, call, do_forward_backward(&b, loss, out, NULL))) {
        failures += compare(gc, prec, call, "out", out, &gc->out, rtol);
    } else {
        failures++;
    }

    if (gc->counts.count == 3) {
        double counts[3] = {NAN, NAN, NAN};
        snprintf(call, sizeof call, "focal_counts%s_%s", gc->dense_targets ? "_dense" : "", prec);
        if (call_ok(gc, prec, call, do_counts(&b, loss, counts))) {
            failures += compare(gc, prec, call, "counts", counts, &gc->counts, rtol);
        } else {
            failures++;
        }
    }

    if (gc->tgrad.count > 0) {
        snprintf(call, sizeof call, "focal_backward_target_dense_%s", prec);
        fill_nan(grad, gc->x.count);
        if (call_ok(gc, prec, call, do_backward_target(&b, loss, grad))) {
            failures += compare(gc, prec, call, "grad_target", grad, &gc->tgrad, rtol);
        } else {
            failures++;
        }
    }

    if (use_f32 && gc->half != GOLDEN_HALF_NONE) {
        failures += check_half(&b, loss);
    }

done:
    free(out);
    free(grad);
    free(b.x32);
    free(b.t32);
    free(b.w32);
    free(b.g32);
    free(b.out32);
    free(b.grad32);
    focal_loss_destroy(loss);
    return failures;
}

/* ------------------------------------------------------------------------
 * cmocka
 * ------------------------------------------------------------------------ */

typedef struct golden_test {
    const golden_case *gc;
    int use_f32;
} golden_test;

static void golden_test_case(void **state)
{
    const golden_test *t = *state;
    int failures = golden_check_case(t->gc, t->use_f32);
    if (failures != 0) {
        print_error("case %s [%s] (golden file line %d): %d check(s) failed\n", t->gc->name,
                    t->use_f32 ? "f32" : "f64", t->gc->line, failures);
        fail();
    }
}

int golden_run_cases(const char *group, const golden_file *file)
{
    size_t count = file->count * 2;
    struct CMUnitTest *tests;
    golden_test *states;
    char **names;
    int rc;

    if (count == 0) {
        fprintf(stderr, "%s: no golden cases\n", group);
        return 1;
    }
    tests = calloc(count, sizeof *tests);
    states = calloc(count, sizeof *states);
    names = calloc(count, sizeof *names);
    if (tests == NULL || states == NULL || names == NULL) {
        free(tests);
        free(states);
        free(names);
        fprintf(stderr, "%s: out of memory\n", group);
        return 1;
    }
    rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const golden_case *gc = &file->cases[i / 2];
        size_t len = strlen(gc->name) + 5;
        states[i].gc = gc;
        states[i].use_f32 = (int)(i % 2);
        names[i] = malloc(len);
        if (names[i] == NULL) {
            rc = 1;
            break;
        }
        snprintf(names[i], len, "%s/%s", gc->name, states[i].use_f32 ? "f32" : "f64");
        tests[i].name = names[i];
        tests[i].test_func = golden_test_case;
        tests[i].initial_state = &states[i];
    }
    if (rc == 0) {
        rc = _cmocka_run_group_tests(group, tests, count, NULL, NULL);
    } else {
        fprintf(stderr, "%s: out of memory\n", group);
    }
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
    }
    free(names);
    free(states);
    free(tests);
    return rc;
}
