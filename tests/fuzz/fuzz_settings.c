/*
 * Fuzz target: the context's life cycle and every non-compute function.
 * The input is a sequence of operations on three context slots: create
 * (valid and invalid modes, NULL out), clone, destroy, every setter with
 * arbitrary values, getters with NULL or wrong arguments, the status
 * strings, the detail message, the version and ISA functions and
 * focal_prior_bias (README.md gives the format).
 *
 * A model of each slot (the snapshot its getters gave after the last
 * operation on it) must match every live context after every operation,
 * so a clone that shares state with its source, a setter that fails
 * half-way, or a getter that writes on failure is caught; leaks and
 * use-after-free are the sanitizers'.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"

#define SLOTS 3
#define MAX_OPS 64

static void expect_defaults(fuzz_snap *s, focal_mode mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->gamma = 2.0;
    s->alpha_status = FOCAL_ERROR_INCOMPATIBLE;
    s->reduction = FOCAL_REDUCTION_MEAN;
    s->ignore_status = FOCAL_ERROR_INCOMPATIBLE;
    s->input = FOCAL_INPUT_LOGITS;
    s->epsilon = 1e-7;
    s->variant = FOCAL_VARIANT_FL;
    s->gamma_negative = 4.0;
    s->clip = 0.05;
    s->divisor = 1.0;
    s->soft_form = FOCAL_SOFT_TORCHVISION;
}

static focal_loss *const NOT_WRITTEN = (focal_loss *)(uintptr_t)0x5a5a5a50;

static void op_create(focal_loss **slot, fuzz_snap *model, fuzz_reader *r)
{
    const uint8_t flags = fr_u8(r);
    const int mode = fr_enum(r, 2);
    focal_loss *made = NOT_WRITTEN;
    const int null_out = (flags & 0x0F) == 0x0F;
    const focal_status s = focal_loss_create(null_out ? NULL : &made, (focal_mode)mode);
    FUZZ_CHECK_STATUS(s, "focal_loss_create");
    if (null_out) {
        FUZZ_CHECK(s == FOCAL_ERROR_NULL_POINTER, "focal_loss_create(NULL, %d) returned %d", mode, (int)s);
        return;
    }
    if (mode != 0 && mode != 1) {
        FUZZ_CHECK(s == FOCAL_ERROR_INVALID_PARAMETER, "focal_loss_create(mode %d) returned %d", mode, (int)s);
        FUZZ_CHECK(made == NOT_WRITTEN, "focal_loss_create wrote *out on failure");
        return;
    }
    FUZZ_CHECK(s == FOCAL_OK && made != NULL && made != NOT_WRITTEN, "focal_loss_create(mode %d) returned %d",
               mode, (int)s);
    focal_loss_destroy(*slot);
    *slot = made;
    expect_defaults(model, (focal_mode)mode);
    fuzz_snap got;
    fuzz_snapshot(made, &got);
    FUZZ_CHECK_SNAP(model, &got, "a new context's defaults");
}

static void op_clone(focal_loss **slots, fuzz_snap *models, fuzz_reader *r)
{
    const uint8_t b = fr_u8(r);
    const int from = b % SLOTS, to = (b >> 2) % SLOTS;
    const int null_out = (b & 0xE0) == 0xE0;
    focal_loss *made = NOT_WRITTEN;
    const focal_status s = focal_loss_clone(slots[from], null_out ? NULL : &made);
    FUZZ_CHECK_STATUS(s, "focal_loss_clone");
    if (slots[from] == NULL || null_out) {
        FUZZ_CHECK(s == FOCAL_ERROR_NULL_POINTER, "focal_loss_clone with a NULL argument returned %d", (int)s);
        FUZZ_CHECK(made == NOT_WRITTEN, "focal_loss_clone wrote *out on failure");
        return;
    }
    FUZZ_CHECK(s == FOCAL_OK && made != NULL && made != NOT_WRITTEN, "focal_loss_clone returned %d", (int)s);
    fuzz_snap got;
    fuzz_snapshot(made, &got);
    FUZZ_CHECK_SNAP(&models[from], &got, "a clone");
    focal_loss_destroy(slots[to]);   /* may be the source: the clone stands alone */
    slots[to] = made;
    models[to] = got;
}

/* Getters with a NULL out or a NULL context: NULL_POINTER, nothing written. */
static void op_getter_nulls(focal_loss **slots, fuzz_reader *r)
{
    const uint8_t b = fr_u8(r);
    const focal_loss *loss = (b & 0x80) ? NULL : slots[b % SLOTS];
    const int which = (b >> 2) % 13;
    union {
        double d;
        int64_t i;
        int n;
        focal_mode m;
        focal_reduction red;
        focal_input in;
        focal_variant v;
        unsigned char bytes[16];
    } u;
    memset(&u, 0x77, sizeof u);
    const int null_out = loss != NULL || (b & 0x40);
    focal_status s;
    switch (which) {
    case 0: s = focal_loss_get_mode(loss, null_out ? NULL : &u.m); break;
    case 1: s = focal_loss_get_gamma(loss, null_out ? NULL : &u.d); break;
    case 2: s = focal_loss_get_alpha(loss, null_out ? NULL : &u.d); break;
    case 3: s = focal_loss_get_alpha_count(loss, null_out ? NULL : &u.i); break;
    case 4: s = focal_loss_get_alpha_vector(loss, null_out ? NULL : &u.d, 1); break;
    case 5: s = focal_loss_get_reduction(loss, null_out ? NULL : &u.red); break;
    case 6: s = focal_loss_get_ignore_index(loss, null_out ? NULL : &u.i); break;
    case 7: s = focal_loss_get_input(loss, null_out ? NULL : &u.in); break;
    case 8: s = focal_loss_get_epsilon(loss, null_out ? NULL : &u.d); break;
    case 9: s = focal_loss_get_label_smoothing(loss, null_out ? NULL : &u.d); break;
    case 10: s = focal_loss_get_variant(loss, null_out ? NULL : &u.v); break;
    case 11: s = focal_loss_get_beta(loss, null_out ? NULL : &u.d); break;
    default: s = focal_loss_get_threads(loss, null_out ? NULL : &u.n); break;
    }
    FUZZ_CHECK_STATUS(s, "a getter");
    FUZZ_CHECK(s == FOCAL_ERROR_NULL_POINTER, "getter %d with loss %s and out %s returned %d", which,
               loss ? "set" : "NULL", null_out ? "NULL" : "set", (int)s);
    for (size_t i = 0; i < sizeof u.bytes; i++)
        FUZZ_CHECK(u.bytes[i] == 0x77, "getter %d wrote its out on failure", which);
}

/* focal_loss_get_alpha_vector with counts around the real length. */
static void op_alpha_vector(focal_loss **slots, const fuzz_snap *models, fuzz_reader *r)
{
    const uint8_t b = fr_u8(r);
    const int i = b % SLOTS;
    if (slots[i] == NULL)
        return;
    const int64_t len = models[i].alpha_count;
    static const int64_t odd[4] = {-1, INT64_MIN, INT64_MAX, 0};
    int64_t count;
    switch ((b >> 2) % 6) {
    case 0: count = len; break;
    case 1: count = len + 1; break;
    case 2: count = len - 1; break;
    default: count = odd[(b >> 5) % 4]; break;
    }
    double buf[FUZZ_MAX_ALPHA + 1];
    memset(buf, 0x77, sizeof buf);
    const int fits = count >= 0 && count <= FUZZ_MAX_ALPHA + 1;
    if (!fits && count == len)
        return;
    const focal_status s = focal_loss_get_alpha_vector(slots[i], buf, count);
    FUZZ_CHECK_STATUS(s, "focal_loss_get_alpha_vector");
    if (len > 0 && count == len) {
        FUZZ_CHECK(s == FOCAL_OK, "get_alpha_vector(count = length %" PRId64 ") returned %d", len, (int)s);
        FUZZ_CHECK(memcmp(buf, models[i].alpha_vector, (size_t)len * sizeof(double)) == 0,
                   "get_alpha_vector gave other values than were set");
        const unsigned char *rest = (const unsigned char *)(buf + len);
        for (size_t j = 0; j < (FUZZ_MAX_ALPHA + 1 - (size_t)len) * sizeof(double); j++)
            FUZZ_CHECK(rest[j] == 0x77, "get_alpha_vector wrote past count");
        return;
    }
    if (len == 0)
        FUZZ_CHECK(s == FOCAL_ERROR_INCOMPATIBLE || (count != 0 && s == FOCAL_ERROR_INVALID_SHAPE),
                   "get_alpha_vector(count %" PRId64 ") without a vector returned %d", count, (int)s);
    else
        FUZZ_CHECK(s == FOCAL_ERROR_INVALID_SHAPE,
                   "get_alpha_vector(count %" PRId64 ") of a %" PRId64 "-vector returned %d", count, len, (int)s);
    const unsigned char *all = (const unsigned char *)buf;
    for (size_t j = 0; j < sizeof buf; j++)
        FUZZ_CHECK(all[j] == 0x77, "get_alpha_vector wrote on failure");
}

static void op_status_string(fuzz_reader *r)
{
    const uint8_t b = fr_u8(r);
    int v;
    if (b < 0x80)
        v = b % 12;
    else if (b < 0xC0)
        v = 95 + b % 8;
    else
        v = (int)(uint32_t)fr_u64(r);
    const char *text = focal_status_string((focal_status)v);
    FUZZ_CHECK(text != NULL && text[0] != '\0', "focal_status_string(%d) is NULL or empty", v);
    const int unknown = strcmp(text, "unknown status") == 0;
    FUZZ_CHECK(unknown == !fuzz_status_listed((focal_status)v),
               "focal_status_string(%d) = \"%s\" for a %s status", v, text,
               fuzz_status_listed((focal_status)v) ? "listed" : "unlisted");
}

static void op_prior_bias(fuzz_reader *r)
{
    const uint8_t b = fr_u8(r);
    const double prior = fr_value(r, FUZZ_UNIT);
    const int null_bias = (b & 0x0F) == 0x0F;
    const double sentinel = -777.25;
    double bias = sentinel;
    const focal_status s = focal_prior_bias(prior, null_bias ? NULL : &bias);
    FUZZ_CHECK_STATUS(s, "focal_prior_bias");
    const int valid = prior > 0 && prior < 1;
    if (null_bias) {
        FUZZ_CHECK(s == FOCAL_ERROR_NULL_POINTER || (!valid && s == FOCAL_ERROR_INVALID_PARAMETER),
                   "focal_prior_bias(%.17g, NULL) returned %d", prior, (int)s);
        return;
    }
    if (!valid) {
        FUZZ_CHECK(s == FOCAL_ERROR_INVALID_PARAMETER, "focal_prior_bias(%.17g) returned %d", prior, (int)s);
        FUZZ_CHECK(fuzz_same_double(bias, sentinel), "focal_prior_bias wrote *bias on failure");
        return;
    }
    FUZZ_CHECK(s == FOCAL_OK, "focal_prior_bias(%.17g) returned %d", prior, (int)s);
    const double want = log(prior) - log1p(-prior);
    FUZZ_CHECK(isfinite(bias) && fabs(bias - want) <= 1e-9 * fmax(1.0, fabs(want)),
               "focal_prior_bias(%.17g) = %.17g, log(p / (1 - p)) = %.17g", prior, bias, want);
}

static void op_misc(void)
{
    FUZZ_CHECK(focal_version_number() == FOCAL_VERSION_NUMBER, "focal_version_number() = %u",
               focal_version_number());
    FUZZ_CHECK(strcmp(focal_version_string(), FOCAL_VERSION_STRING) == 0, "focal_version_string() = \"%s\"",
               focal_version_string());
    const char *isa = focal_isa();
    FUZZ_CHECK(isa != NULL && (strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0 || strcmp(isa, "scalar") == 0),
               "focal_isa() = \"%s\"",
               isa ? isa : "(null)");
}

/* A failing call sets the detail, a successful one leaves it. */
static void op_last_error(focal_loss **slots, fuzz_reader *r)
{
    const uint8_t b = fr_u8(r);
    focal_loss *loss = slots[b % SLOTS];
    const focal_status s = focal_loss_set_gamma(loss, (b & 4) ? NAN : -1.0);
    FUZZ_CHECK(s != FOCAL_OK, "set_gamma(%s) succeeded", (b & 4) ? "NaN" : "-1");
    FUZZ_CHECK_STATUS(s, "focal_loss_set_gamma");
    char saved[600];
    snprintf(saved, sizeof saved, "%s", focal_last_error());
    double g;
    if (loss != NULL) {
        FUZZ_CHECK(focal_loss_get_gamma(loss, &g) == FOCAL_OK, "get_gamma failed");
    } else {
        double bias;
        FUZZ_CHECK(focal_prior_bias(0.25, &bias) == FOCAL_OK, "focal_prior_bias(0.25) failed");
    }
    FUZZ_CHECK(strcmp(saved, focal_last_error()) == 0, "a successful call changed the detail \"%s\" to \"%s\"",
               saved, focal_last_error());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size, 0};
    focal_loss *slots[SLOTS] = {NULL, NULL, NULL};
    fuzz_snap models[SLOTS];
    memset(models, 0, sizeof models);

    for (int step = 0; step < MAX_OPS && fr_left(&r); step++) {
        const uint8_t op = fr_u8(&r);
        switch (op % 12) {
        case 0:
            op_create(&slots[(op >> 4) % SLOTS], &models[(op >> 4) % SLOTS], &r);
            break;
        case 1:
            op_clone(slots, models, &r);
            break;
        case 2: {
            const int i = (op >> 4) % SLOTS;
            focal_loss_destroy(slots[i]);
            slots[i] = NULL;
            break;
        }
        case 3:
        case 4:
        case 5: {
            /* Mostly on a live context; slot index 3 means NULL. */
            const int i = (op >> 4) % (SLOTS + 1);
            focal_loss *loss = i < SLOTS ? slots[i] : NULL;
            const focal_status s = fuzz_apply_setter(loss, &r, 1);
            if (s == FOCAL_OK && i < SLOTS)
                fuzz_snapshot(loss, &models[i]);
            break;
        }
        case 6:
            op_getter_nulls(slots, &r);
            break;
        case 7:
            op_alpha_vector(slots, models, &r);
            break;
        case 8:
            op_status_string(&r);
            break;
        case 9:
            op_prior_bias(&r);
            break;
        case 10:
            op_misc();
            break;
        default:
            op_last_error(slots, &r);
            break;
        }
        /* Every live context still matches its model. */
        for (int i = 0; i < SLOTS; i++) {
            if (slots[i] == NULL)
                continue;
            fuzz_snap got;
            fuzz_snapshot(slots[i], &got);
            FUZZ_CHECK_SNAP(&models[i], &got, "a live context after an operation on any slot");
        }
    }
    focal_loss_destroy(NULL);
    for (int i = 0; i < SLOTS; i++)
        focal_loss_destroy(slots[i]);
    return 0;
}
