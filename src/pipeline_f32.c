/* The pipeline's float32 path: the same tiles, chunks and stages as
 * pipeline.c, with the hot loops in the vector kernels and no conversion
 * to double. It covers the common settings (logits, the FL variant,
 * softmax index targets without label smoothing, every sigmoid target
 * form); every other call takes the portable path.
 *
 * Layout per tile (softmax):
 *   c <= 64             class-major: the kernel is vectorised across
 *                       positions, so the per-position logarithms and
 *                       divisions run eight at a time. Rows (inner == 1)
 *                       are transposed by the reshape stage
 *                       (cblas_somatcopy); planes are class-major already
 *                       and each class's run is copied as it is.
 *   c > 64, inner == 1  rows in place: the kernel reads the input and
 *                       writes the gradient where they are.
 *   c > 64, inner > 1   the reshape stage transposes the block to rows
 *                       and the gradient back.
 * Sigmoid works element by element on rows: in place for inner == 1,
 * transposed by the reshape stage otherwise. */
#include <math.h>
#include <string.h>

#include "internal.h"

#ifndef FOCAL_HAVE_AVX2_KERNELS
/* Built without the vector kernels: every call takes the portable path. */
int focal_f32_kernels_apply(const focal_call *call)
{
    (void)call;
    return 0;
}
void focal_softmax_chunk_f32(void *arg, int64_t chunk, int worker) { (void)arg, (void)chunk, (void)worker; }
void focal_sigmoid_chunk_f32(void *arg, int64_t chunk, int worker) { (void)arg, (void)chunk, (void)worker; }
#else

/* Gradients of at least this many elements (16 MiB of float32) are
 * written with non-temporal stores: they cannot stay in cache anyway. */
#define FOCAL_STREAM_MIN_ELEMENTS (4 << 20)

int focal_f32_kernels_apply(const focal_call *call)
{
    if (focal_isa_current() != FOCAL_ISA_AVX2 || call->dtype != FOCAL_F32 || call->probabilities)
        return 0;
    /* The sigmoid kernel holds alpha in float and divides the multiplier
     * once per row: extreme alphas and tiny denominators go to the
     * portable path, which keeps both in double. */
    if (call->sigmoid)
        return call->loss->variant == FOCAL_VARIANT_FL && call->alpha_scale >= 0x1p-60 &&
               call->alpha_scale <= 0x1p60 && !(call->reduced && fabs(call->denominator) < 0x1p-900);
    return !call->dense && call->loss->label_smoothing == 0;
}

/* Gathers a tile's targets, weights and gradient multipliers (softmax,
 * index targets, float32). Ignored positions (and every position when the
 * reduction's denominator is 0) get target -1. The loop is written out
 * rather than going through focal_gather_position: with 19 classes a
 * position's bookkeeping would otherwise cost as much as its math. */
static void gather_rows(const focal_call *call, const focal_scratch *s, int64_t pos0, int64_t rows)
{
    const int zero_denominator = call->reduced && call->denominator == 0;
    const int has_ignore = call->loss->has_ignore_index;
    const int64_t ignore = call->loss->ignore_index;
    const int64_t *tg = call->target_index + pos0;
    const float *w = call->weight != NULL ? (const float *)call->weight + pos0 : NULL;
    const float *up = !call->reduced && call->op == FOCAL_OP_BACKWARD ? (const float *)call->grad_out + pos0 : NULL;
    const double *alpha = call->alpha_c;
    const double alpha_s = call->alpha_s;
    const int tiny = call->tiny_denominator;
    const double factor = call->reduced ? call->gradient_factor : 1.0;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t t = tg[r];
        if (zero_denominator || (has_ignore && t == ignore)) {
            s->row_target[r] = -1;
            s->row_scale[r] = 0;
            s->row_weight[r] = 0;
            continue;
        }
        const double wa = (w != NULL ? (double)w[r] : 1.0) * (alpha != NULL ? alpha[t] : alpha_s);
        double scale = tiny ? wa * call->upstream / call->denominator : wa * factor;
        if (up != NULL)
            scale *= up[r];
        s->row_target[r] = t;
        s->row_scale[r] = (float)scale;
        s->row_weight[r] = wa;
    }
}

/* The weighted terms of a tile's positions: their sum, and each one to
 * out for the NONE reduction. */
static double weighted_terms(const focal_call *call, const focal_scratch *s, int64_t pos0, int64_t rows)
{
    double acc = 0;
    for (int64_t r = 0; r < rows; r++) {
        const double wl = s->row_target[r] >= 0 ? s->row_weight[r] * s->row_term[r] : 0.0;
        acc += wl;
        if (call->want_loss && !call->reduced)
            ((float *)call->out)[pos0 + r] = (float)wl;
    }
    return acc;
}

void focal_softmax_chunk_f32(void *arg, int64_t chunk, int worker)
{
    focal_run *rn = arg;
    const focal_call *call = rn->call;
    const focal_scratch *s = &rn->scratch[worker];
    const int64_t c = call->c, inner = call->inner;
    const float *input = call->input;
    float *grad_input = call->want_grad ? call->grad_input : NULL;
    const float *gs = grad_input != NULL ? s->row_scale : NULL;
    const double gamma = call->loss->gamma;
    const int stream = call->n * c * inner >= FOCAL_STREAM_MIN_ELEMENTS;
    /* The common form for the class-major kernel: no weights, one alpha
     * (or none) and a reduced loss, so every position's multiplier is the
     * same and the kernel reads the targets as they are. */
    const int zero_denominator = call->reduced && call->denominator == 0;
    const int common = call->weight == NULL && call->alpha_c == NULL && call->reduced && !zero_denominator &&
                       !call->tiny_denominator;
    const float common_scale = (float)(call->alpha_s * call->gradient_factor);
    const int64_t ignore = call->loss->has_ignore_index ? call->loss->ignore_index : -1;
    double acc = 0;
    int64_t tb, te;
    focal_chunk_tiles(rn->tiling, chunk, &tb, &te);
    for (int64_t tile = tb; tile < te; tile++) {
        int64_t image, s0, rows;
        focal_tile_range(rn->tiling, inner, tile, &image, &s0, &rows);
        const int64_t pos0 = image * inner + s0;
        const int64_t base = focal_element(c, inner, image, s0, 0);
        if (c <= FOCAL_PLANES_MAX_C) {
            /* Planes are read and written where they are; rows are
             * transposed to class-major tiles and back. */
            const float *xp = input + base;
            float *gp = grad_input != NULL ? grad_input + base : NULL;
            int64_t xs = inner, gsd = inner;
            if (inner == 1) {
                focal_tile_load_planes_f32(input, c, inner, image, s0, rows, (float *)s->x);
                xp = (const float *)s->x;
                gp = grad_input != NULL ? (float *)s->grad : NULL;
                xs = gsd = rows;
            }
            if (common) {
                acc += call->alpha_s * focal_avx2_softmax_planes(xp, xs, gp, gsd, rows, c, call->target_index + pos0,
                                                                 ignore, NULL, common_scale, gamma, NULL,
                                                                 stream && inner > 1);
            } else {
                gather_rows(call, s, pos0, rows);
                focal_avx2_softmax_planes(xp, xs, gp, gsd, rows, c, s->row_target, -1, gs, 0.0f, gamma,
                                          s->row_term, stream && inner > 1);
                acc += weighted_terms(call, s, pos0, rows);
            }
            if (inner == 1 && grad_input != NULL)
                focal_tile_store_planes_f32(grad_input, c, inner, image, s0, rows, (float *)s->grad);
            continue;
        }
        gather_rows(call, s, pos0, rows);
        if (inner == 1) {
            focal_avx2_softmax_rows(input + base, rows, c, s->row_target, gamma, gs,
                                    grad_input != NULL ? grad_input + base : NULL, s->ef, s->row_term,
                                    stream);
        } else {
            float *xt = (float *)s->x, *gt = (float *)s->grad;
            focal_tile_load_f32(input, c, inner, image, s0, rows, xt);
            focal_avx2_softmax_rows(xt, rows, c, s->row_target, gamma, gs,
                                    grad_input != NULL ? gt : NULL, s->ef, s->row_term, 0);
            if (grad_input != NULL)
                focal_tile_store_f32(grad_input, c, inner, image, s0, rows, gt);
        }
        acc += weighted_terms(call, s, pos0, rows);
    }
    rn->partial[chunk] = acc;
}

void focal_sigmoid_chunk_f32(void *arg, int64_t chunk, int worker)
{
    focal_run *rn = arg;
    const focal_call *call = rn->call;
    const focal_scratch *s = &rn->scratch[worker];
    const int64_t c = call->c, inner = call->inner;
    /* focal_f32_kernels_apply sends reduced calls with a zero (or tiny)
     * denominator to the portable path: here the gradient factor
     * upstream / denominator is always set. */
    const double factor = call->reduced ? call->gradient_factor : 1.0;
    const int per_element_out = call->want_loss && !call->reduced;
    const int per_element_up = call->want_grad && !call->reduced && call->op == FOCAL_OP_BACKWARD;
    /* Per-class alphas come from the scratch copy in float; one alpha for
     * every class is passed as a number. */
    const float *alpha = call->alpha_c != NULL ? s->alpha : NULL;
    const float alpha_s = (float)call->alpha_s;
    /* Dense targets without weights and without per-class alphas treat a
     * tile's rows as one run of elements. */
    const int flat = call->dense && call->weight == NULL && alpha == NULL;
    const float ls = (float)call->loss->label_smoothing;
    const double gamma = call->loss->gamma;
    /* With inner == 1 the kernels work in place; otherwise on transposed
     * tiles (x, targets, upstream in; gradient and losses out). */
    const int in_place = inner == 1;
    float *xt = (float *)s->x, *yt = (float *)s->y, *ut = (float *)s->up;
    float *gt = (float *)s->grad, *ot = (float *)s->out;
    double acc = 0;
    int64_t tb, te;
    focal_chunk_tiles(rn->tiling, chunk, &tb, &te);
    for (int64_t tile = tb; tile < te; tile++) {
        int64_t image, s0, rows;
        focal_tile_range(rn->tiling, inner, tile, &image, &s0, &rows);
        const int64_t pos0 = image * inner + s0;
        const int64_t base = focal_element(c, inner, image, s0, 0);
        const float *x = (const float *)call->input + base;
        const float *y = call->dense ? (const float *)call->target_dense + base : NULL;
        const float *up = per_element_up ? (const float *)call->grad_out + base : NULL;
        float *g = call->want_grad ? (float *)call->grad_input + base : NULL;
        float *o = per_element_out ? (float *)call->out + base : NULL;
        if (!in_place) {
            focal_tile_load_f32(call->input, c, inner, image, s0, rows, xt);
            x = xt;
            if (y != NULL) {
                focal_tile_load_f32(call->target_dense, c, inner, image, s0, rows, yt);
                y = yt;
            }
            if (up != NULL) {
                focal_tile_load_f32(call->grad_out, c, inner, image, s0, rows, ut);
                up = ut;
            }
            g = g != NULL ? gt : NULL;
            o = o != NULL ? ot : NULL;
        }
        if (flat) {
            acc += focal_avx2_sigmoid_row(x, y, -1, rows * c, NULL, call->has_alpha, alpha_s, ls, gamma, 1.0f,
                                          (float)factor, up, g, o);
        } else {
            for (int64_t r = 0; r < rows; r++) {
                const int64_t row = r * c;
                focal_position p;
                focal_gather_position(call, pos0 + r, &p);
                if (p.ignored) {
                    if (g != NULL)
                        memset(g + row, 0, (size_t)c * sizeof(float));
                    if (o != NULL)
                        memset(o + row, 0, (size_t)c * sizeof(float));
                    continue;
                }
                acc += focal_avx2_sigmoid_row(x + row, y != NULL ? y + row : NULL, p.target, c, alpha,
                                              call->has_alpha, alpha_s, ls, gamma, (float)p.weight,
                                              (float)(p.weight * factor), up != NULL ? up + row : NULL,
                                              g != NULL ? g + row : NULL, o != NULL ? o + row : NULL);
            }
        }
        if (!in_place && g != NULL)
            focal_tile_store_f32(call->grad_input, c, inner, image, s0, rows, gt);
        if (!in_place && o != NULL)
            focal_tile_store_f32(call->out, c, inner, image, s0, rows, ot);
    }
    rn->partial[chunk] = acc;
}

#endif /* FOCAL_HAVE_AVX2_KERNELS */
