/*
 * Fuzz target: the bfloat16 and float16 entry points (compute and counts)
 * against the float32 ones on the widened inputs, after the 1.1 settings
 * (variants QFL, VFL, ASL with gamma_negative and clip, the poly epsilon,
 * DIVISOR and its divisor, the SPLIT soft form, a pos_weight vector), and
 * the dense-target gradient against the dense backward call's statuses.
 *
 * Input: a header byte (bit 0 sigmoid, bit 1 dense, bit 2 float16, bits
 * 3-4 the call: forward, backward, fused, counts; bit 5 weights), n % 5,
 * 1 + c % 5, inner % 4, the reduction, the variant, then gamma, gamma_negative, clip, poly epsilon,
 * divisor (fr_value; setters may refuse them), a flags byte (bit 0 scalar
 * alpha, bit 1 SPLIT, bit 2 pos_weight of ones and halves, bit 3
 * probabilities input, bit 4 label smoothing 0.1), then the half bit
 * patterns of the input, the targets (index:
 * a byte each, c + 1 may be out of range), the weights and the upstream.
 *
 * Properties: the half call's status equals the float32 call's; on
 * success every stored value is the half rounding of float32's (either
 * neighbour where float32's value is a half tie: both round one unrounded
 * value once) and the counts are equal; on failure no output byte
 * changes (tests/support/half.c rounds from the formats' fields). The
 * target gradient returns backward_dense's status, writes
 * nothing on failure.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"
#include "half.h"

#define FH_MAX 256 /* elements: n <= 4, c <= 5, inner <= 3 */

enum { FH_FWD, FH_BWD, FH_FUSED, FH_COUNTS };

static float fh_widen(int f16, uint16_t h)
{
    return half_to_float(f16 ? HALF_F16 : HALF_BF16, h);
}

static int fh_matches(int f16, uint16_t got, float ref)
{
    return half_matches_rounded(f16 ? HALF_F16 : HALF_BF16, got, ref);
}

typedef struct fh_case {
    int sigmoid, dense, f16, op, weighted;
    int64_t n, c, inner;
    size_t elems, positions;
    uint16_t x[FH_MAX], y[FH_MAX], w[FH_MAX], up[FH_MAX];
    float xf[FH_MAX], yf[FH_MAX], wf[FH_MAX], upf[FH_MAX];
    int64_t t[FH_MAX];
} fh_case;

static focal_status fh_half(const focal_loss *l, const fh_case *k, uint16_t *out, uint16_t *grad,
                            double *counts)
{
    const uint16_t *w = k->weighted ? k->w : NULL;
    const int64_t n = k->n, c = k->c, in = k->inner;
#define FH_CALLS(S)                                                                                \
    switch (k->op * 2 + k->dense) {                                                                \
    case 0: return focal_forward_##S(l, n, c, in, k->x, k->t, w, out);                             \
    case 1: return focal_forward_dense_##S(l, n, c, in, k->x, k->y, w, out);                       \
    case 2: return focal_backward_##S(l, n, c, in, k->x, k->t, w, k->up, grad);                    \
    case 3: return focal_backward_dense_##S(l, n, c, in, k->x, k->y, w, k->up, grad);              \
    case 4: return focal_forward_backward_##S(l, n, c, in, k->x, k->t, w, out, grad);              \
    case 5: return focal_forward_backward_dense_##S(l, n, c, in, k->x, k->y, w, out, grad);        \
    case 6: return focal_counts_##S(l, n, c, in, k->t, w, counts);                                 \
    default: return focal_counts_dense_##S(l, n, c, in, k->y, w, counts);                          \
    }
    if (k->f16) {
        FH_CALLS(f16)
    }
    FH_CALLS(bf16)
#undef FH_CALLS
}

static focal_status fh_f32(const focal_loss *l, const fh_case *k, float *out, float *grad,
                           double *counts)
{
    const float *w = k->weighted ? k->wf : NULL;
    const int64_t n = k->n, c = k->c, in = k->inner;
    switch (k->op * 2 + k->dense) {
    case 0: return focal_forward_f32(l, n, c, in, k->xf, k->t, w, out);
    case 1: return focal_forward_dense_f32(l, n, c, in, k->xf, k->yf, w, out);
    case 2: return focal_backward_f32(l, n, c, in, k->xf, k->t, w, k->upf, grad);
    case 3: return focal_backward_dense_f32(l, n, c, in, k->xf, k->yf, w, k->upf, grad);
    case 4: return focal_forward_backward_f32(l, n, c, in, k->xf, k->t, w, out, grad);
    case 5: return focal_forward_backward_dense_f32(l, n, c, in, k->xf, k->yf, w, out, grad);
    case 6: return focal_counts_f32(l, n, c, in, k->t, w, counts);
    default: return focal_counts_dense_f32(l, n, c, in, k->yf, w, counts);
    }
}

static void fh_settings(fuzz_reader *r, focal_loss *l, int64_t c_hint)
{
    (void)focal_loss_set_reduction(l, (focal_reduction)(fr_u8(r) % 6));
    (void)focal_loss_set_variant(l, (focal_variant)(fr_u8(r) % 5));
    (void)focal_loss_set_gamma(l, fr_value(r, FUZZ_SCALE));
    (void)focal_loss_set_gamma_negative(l, fr_value(r, FUZZ_SCALE));
    (void)focal_loss_set_clip(l, fr_value(r, FUZZ_UNIT));
    (void)focal_loss_set_poly_epsilon(l, fr_value(r, FUZZ_LOGIT));
    (void)focal_loss_set_divisor(l, fr_value(r, FUZZ_SCALE));
    const uint8_t flags = fr_u8(r);
    if (flags & 1)
        (void)focal_loss_set_alpha(l, 0.25);
    if (flags & 2)
        (void)focal_loss_set_soft_form(l, FOCAL_SOFT_SPLIT);
    if (flags & 4) {
        static const double pw[5] = {1.0, 0.5, 2.0, 1.5, 0.25};
        (void)focal_loss_set_pos_weight_vector(l, pw, c_hint);
    }
    if (flags & 8)
        (void)focal_loss_set_input(l, FOCAL_INPUT_PROBABILITIES);
    if (flags & 16)
        (void)focal_loss_set_label_smoothing(l, 0.1);
    (void)focal_loss_set_threads(l, 1);
}

static void fh_decode(fuzz_reader *r, fh_case *k, uint8_t head)
{
    k->sigmoid = head & 1;
    k->dense = (head >> 1) & 1;
    k->f16 = (head >> 2) & 1;
    k->op = (head >> 3) & 3;
    k->weighted = (head >> 5) & 1;
    k->elems = (size_t)(k->n * k->c * k->inner);
    k->positions = (size_t)(k->n * k->inner);
    for (size_t i = 0; i < FH_MAX; i++) {
        k->x[i] = i < k->elems ? fr_u16(r) : 0;
        k->y[i] = i < k->elems && k->dense ? fr_u16(r) : 0;
        k->t[i] = i < k->positions && !k->dense ? (int64_t)(fr_u8(r) % (k->c + 2)) : 0;
        k->w[i] = i < k->positions && k->weighted ? fr_u16(r) : 0;
        k->up[i] = i < k->elems ? fr_u16(r) : 0;
        k->xf[i] = fh_widen(k->f16, k->x[i]);
        k->yf[i] = fh_widen(k->f16, k->y[i]);
        k->wf[i] = fh_widen(k->f16, k->w[i]);
        k->upf[i] = fh_widen(k->f16, k->up[i]);
    }
}

static int fh_untouched(const void *p, size_t bytes)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < bytes; i++)
        if (b[i] != 0xA5)
            return 0;
    return 1;
}

static void fh_target_gradient(const focal_loss *l, const fh_case *k)
{
    if (!k->dense)
        return;
    float g[FH_MAX], gb[FH_MAX];
    memset(g, 0xA5, sizeof g);
    memset(gb, 0xA5, sizeof gb);
    const float *w = k->weighted ? k->wf : NULL;
    focal_status st = focal_backward_target_dense_f32(l, k->n, k->c, k->inner, k->xf, k->yf, w,
                                                      k->upf, g);
    focal_status sb = focal_backward_dense_f32(l, k->n, k->c, k->inner, k->xf, k->yf, w, k->upf, gb);
    FUZZ_CHECK_STATUS(st, "focal_backward_target_dense_f32");
    FUZZ_CHECK(st == sb, "target gradient status %d, backward_dense %d", (int)st, (int)sb);
    if (st != FOCAL_OK)
        FUZZ_CHECK(fh_untouched(g, sizeof g), "failing target gradient wrote its output");
    else
        FUZZ_CHECK(fh_untouched(g + k->elems, sizeof g - k->elems * sizeof g[0]),
                   "target gradient wrote beyond its elements");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size, 0};
    static fh_case k;
    const uint8_t head = fr_u8(&r);
    focal_loss *l = NULL;
    if (focal_loss_create(&l, (head & 1) ? FOCAL_MODE_SIGMOID : FOCAL_MODE_SOFTMAX) != FOCAL_OK)
        return 0;
    k.n = fr_u8(&r) % 5;
    k.c = 1 + fr_u8(&r) % 5;
    k.inner = fr_u8(&r) % 4;
    fh_settings(&r, l, k.c);
    fh_decode(&r, &k, head);

    uint16_t out[FH_MAX], grad[FH_MAX];
    float outf[FH_MAX], gradf[FH_MAX];
    double counts[4], countsf[4];
    memset(out, 0xA5, sizeof out);
    memset(grad, 0xA5, sizeof grad);
    memset(counts, 0xA5, sizeof counts);
    memset(outf, 0, sizeof outf);
    memset(gradf, 0, sizeof gradf);
    memset(countsf, 0, sizeof countsf);
    focal_status sh = fh_half(l, &k, out, grad, counts);
    focal_status sf = fh_f32(l, &k, outf, gradf, countsf);
    if (getenv("FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "fuzz_half: %s %s %s call %d weights %d shape (%lld, %lld, %lld): status %d\n",
                k.f16 ? "f16" : "bf16", k.sigmoid ? "sigmoid" : "softmax", k.dense ? "dense" : "index",
                k.op, k.weighted, (long long)k.n, (long long)k.c, (long long)k.inner, (int)sh);
    FUZZ_CHECK_STATUS(sh, "half call");
    FUZZ_CHECK(sh == sf, "%s call %d: status %d, float32's %d", k.f16 ? "f16" : "bf16", k.op,
               (int)sh, (int)sf);
    focal_reduction red = FOCAL_REDUCTION_MEAN;
    (void)focal_loss_get_reduction(l, &red);
    const size_t out_len = red != FOCAL_REDUCTION_NONE ? 1 : k.sigmoid ? k.elems : k.positions;
    const int writes_out = k.op == FH_FWD || k.op == FH_FUSED;
    const int writes_grad = k.op == FH_BWD || k.op == FH_FUSED;
    if (sh != FOCAL_OK) {
        FUZZ_CHECK(fh_untouched(out, sizeof out) && fh_untouched(grad, sizeof grad) &&
                       fh_untouched(counts, sizeof counts),
                   "a failing half call wrote an output");
    } else if (k.op == FH_COUNTS) {
        FUZZ_CHECK(memcmp(counts, countsf, 3 * sizeof(double)) == 0 && fh_untouched(&counts[3], 8),
                   "half counts %g %g %g, float32's %g %g %g", counts[0], counts[1], counts[2],
                   countsf[0], countsf[1], countsf[2]);
    } else {
        for (size_t i = 0; writes_out && i < out_len; i++)
            FUZZ_CHECK(fh_matches(k.f16, out[i], outf[i]), "out[%zu] 0x%04x, float32 %.9g", i,
                       (unsigned)out[i], (double)outf[i]);
        for (size_t i = 0; writes_grad && i < k.elems; i++)
            FUZZ_CHECK(fh_matches(k.f16, grad[i], gradf[i]), "grad[%zu] 0x%04x, float32 %.9g", i,
                       (unsigned)grad[i], (double)gradf[i]);
        FUZZ_CHECK(fh_untouched(out + (writes_out ? out_len : 0),
                                sizeof out - (writes_out ? out_len : 0) * sizeof out[0]) &&
                       fh_untouched(grad + (writes_grad ? k.elems : 0),
                                    sizeof grad - (writes_grad ? k.elems : 0) * sizeof grad[0]),
                   "a half call wrote beyond its output");
    }
    fh_target_gradient(l, &k);
    focal_loss_destroy(l);
    return 0;
}
