/* The pipeline: drives tiles of positions through the stages (reshape,
 * log-softmax, gather, modulate, reduce, and back through reshape for the
 * gradient), and owns the threads. Scratch is per worker and per tile, so
 * the extra memory does not grow with the tensor; tile and chunk
 * boundaries depend on the shape alone, so every thread count gives
 * bitwise identical results. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Elements per tile: rows x c doubles in a few L1/L2-sized buffers. */
#define FOCAL_TILE_ELEMENTS 8192
/* Below this many elements a call runs on the calling thread alone. */
#define FOCAL_PARALLEL_MIN_ELEMENTS (1 << 16)

void focal_tiling_init(focal_tiling *t, int64_t n, int64_t c, int64_t inner)
{
    int64_t rows = FOCAL_TILE_ELEMENTS / c;
    if (rows < 1)
        rows = 1;
    /* Whole multiples of 16 positions: the class-major kernel's steps,
     * whose gradient runs then start on cache lines. */
    if (rows >= 32)
        rows &= ~(int64_t)15;
    t->plane = inner > 1 ? inner : n;
    if (rows > t->plane)
        rows = t->plane;
    t->rows = rows;
    t->tiles_per_plane = (t->plane + rows - 1) / rows;
    t->tiles = (inner > 1 ? n : 1) * t->tiles_per_plane;
    t->chunks = t->tiles < FOCAL_MAX_CHUNKS ? t->tiles : FOCAL_MAX_CHUNKS;
}

void focal_tile_range(const focal_tiling *t, int64_t inner, int64_t k, int64_t *image,
                      int64_t *first, int64_t *count)
{
    (void)inner;
    *image = k / t->tiles_per_plane;
    *first = (k % t->tiles_per_plane) * t->rows;
    *count = t->plane - *first < t->rows ? t->plane - *first : t->rows;
}

void focal_chunk_tiles(const focal_tiling *t, int64_t chunk, int64_t *begin, int64_t *end)
{
    /* Balanced split of tiles into chunks; exact in 64-bit arithmetic
     * because chunks <= FOCAL_MAX_CHUNKS. */
    const int64_t q = t->tiles / t->chunks, r = t->tiles % t->chunks;
    *begin = chunk * q + (chunk < r ? chunk : r);
    *end = *begin + q + (chunk < r ? 1 : 0);
}

/* ---- threads ----------------------------------------------------------- */

typedef struct pool_shared {
    atomic_llong next;
    int64_t chunks;
    focal_chunk_fn fn;
    void *arg;
} pool_shared;

typedef struct pool_worker {
    pool_shared *shared;
    int index;
} pool_worker;

static void *pool_run(void *p)
{
    const pool_worker *w = p;
    pool_shared *s = w->shared;
    for (;;) {
        const int64_t k = (int64_t)atomic_fetch_add(&s->next, 1);
        if (k >= s->chunks)
            break;
        s->fn(s->arg, k, w->index);
    }
    return NULL;
}

int focal_workers_for(const focal_loss *loss, int64_t elements, int64_t chunks)
{
    if (elements < FOCAL_PARALLEL_MIN_ELEMENTS)
        return 1;
    long threads = loss->threads;
    if (threads == 0) {
        threads = sysconf(_SC_NPROCESSORS_ONLN);
        if (threads < 1)
            threads = 1;
    }
    if (threads > chunks)
        threads = (long)chunks;
    if (threads > FOCAL_MAX_CHUNKS)
        threads = FOCAL_MAX_CHUNKS;
    return (int)threads;
}

void focal_parallel_chunks(int64_t chunks, int workers, focal_chunk_fn fn, void *arg)
{
    if (workers <= 1) {
        for (int64_t k = 0; k < chunks; k++)
            fn(arg, k, 0);
        return;
    }
    pool_shared shared = {.chunks = chunks, .fn = fn, .arg = arg};
    atomic_init(&shared.next, 0);
    pthread_t threads[FOCAL_MAX_CHUNKS];
    pool_worker ws[FOCAL_MAX_CHUNKS];
    int started = 0;
    for (int i = 1; i < workers; i++) {
        ws[i] = (pool_worker){&shared, i};
        if (pthread_create(&threads[i], NULL, pool_run, &ws[i]) != 0)
            break;   /* the threads already running, and this one, share the rest */
        started = i;
    }
    ws[0] = (pool_worker){&shared, 0};
    pool_run(&ws[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(threads[i], NULL);
}

/* ---- the computation --------------------------------------------------- */

/* Per-class loss and backward coefficients of one softmax row with a
 * target distribution y (dense targets, or an index target smoothed). The
 * gradient is scale times the derivative with each class's
 * y_j alpha_j / alpha_scale divided by mass. mass is 1 but under a tiny
 * denominator, where the chunk moves the row's mass into its multipliers;
 * the loss returned is then sum_j (y_j alpha_j / alpha_scale / mass)
 * times the focal term. */
static double softmax_row_dense(const focal_call *call, const double *x, const double *y,
                                const focal_scratch *s, const focal_softmax_row *st, double *grad,
                                double scale, double mass)
{
    const int64_t c = call->c;
    const double gamma = call->loss->gamma;
    double loss = 0;
    if (!call->probabilities) {
        for (int64_t j = 0; j < c; j++) {
            s->k[j] = 0;
            if (y[j] == 0)
                continue;
            const double l = focal_log_softmax_logp(x, st, j);
            const double p = s->e[j] / st->sum;
            const double q = focal_softmax_others(s->e, st, j) / st->sum;
            double term, k;
            focal_modulate(p, q, l, gamma, &term, &k);
            const double alpha = focal_gather_alpha(call, j);
            const double ya = y[j] * (alpha / call->alpha_scale);
            if (mass == 1) {
                loss += y[j] * alpha * term;
                s->k[j] = ya * k;
            } else {
                loss += ya / mass * term;
                s->k[j] = ya / mass * k;
            }
        }
        if (grad != NULL)
            focal_log_softmax_backward_dense(s->e, st, c, s->k, scale, grad);
        return loss;
    }
    for (int64_t j = 0; j < c; j++) {
        if (grad != NULL)
            grad[j] = 0;
        if (y[j] == 0)
            continue;
        const double v = x[j];
        const double p = v < call->clip_lo ? call->clip_lo : v > call->clip_hi ? call->clip_hi : v;
        const double q = 1 - p, l = log(p);
        const double alpha = focal_gather_alpha(call, j);
        double term, k;
        focal_modulate(p, q, l, gamma, &term, &k);
        loss += mass == 1 ? y[j] * alpha * term : y[j] * (alpha / call->alpha_scale) / mass * term;
        /* The clip passes the gradient inside [lo, hi] (bounds included). */
        if (grad != NULL && v >= call->clip_lo && v <= call->clip_hi)
            grad[j] = mass == 1 ? scale * y[j] * (alpha / call->alpha_scale) * focal_modulate_dprob(p, q, l, gamma)
                                : scale * (y[j] * (alpha / call->alpha_scale) / mass) *
                                      focal_modulate_dprob(p, q, l, gamma);
        else if (grad != NULL && isnan(v))
            grad[j] = v;
    }
    return loss;
}

/* Index target without label smoothing: only the target class matters. */
static double softmax_row_index(const focal_call *call, const double *x, int64_t t,
                                double alpha_t, const focal_scratch *s, const focal_softmax_row *st,
                                double *grad, double scale)
{
    const int64_t c = call->c;
    const double gamma = call->loss->gamma;
    double term, k;
    if (!call->probabilities) {
        const double l = focal_log_softmax_logp(x, st, t);
        const double p = s->e[t] / st->sum;
        const double q = focal_softmax_others(s->e, st, t) / st->sum;
        focal_modulate(p, q, l, gamma, &term, &k);
        if (grad != NULL)
            focal_log_softmax_backward_index(s->e, st, c, t, k, scale, grad);
        return alpha_t * term;
    }
    const double v = x[t];
    const double p = v < call->clip_lo ? call->clip_lo : v > call->clip_hi ? call->clip_hi : v;
    const double q = 1 - p, l = log(p);
    focal_modulate(p, q, l, gamma, &term, &k);
    if (grad != NULL) {
        memset(grad, 0, (size_t)c * sizeof(double));
        if (v >= call->clip_lo && v <= call->clip_hi)
            grad[t] = scale * focal_modulate_dprob(p, q, l, gamma);
        else if (isnan(v))
            grad[t] = v;
    }
    return alpha_t * term;
}

static void softmax_chunk(void *arg, int64_t chunk, int worker)
{
    focal_run *rn = arg;
    const focal_call *call = rn->call;
    const focal_scratch *s = &rn->scratch[worker];
    const int64_t c = call->c, inner = call->inner;
    const int smoothed = call->loss->label_smoothing > 0;
    const int zero_denominator = call->reduced && call->denominator == 0;
    double acc = 0;
    int64_t tb, te;
    focal_chunk_tiles(rn->tiling, chunk, &tb, &te);
    for (int64_t tile = tb; tile < te; tile++) {
        int64_t image, s0, rows;
        focal_tile_range(rn->tiling, inner, tile, &image, &s0, &rows);
        const int64_t pos0 = image * inner + s0;
        focal_tile_load(call->dtype, call->input, c, inner, image, s0, rows, s->x, s->stage);
        if (call->dense)
            focal_tile_load(call->dtype, call->target_dense, c, inner, image, s0, rows, s->y, s->stage);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t pos = pos0 + r;
            const double *x = s->x + r * c;
            double *grad = call->want_grad ? s->grad + r * c : NULL;
            focal_position p;
            focal_gather_position(call, pos, &p);
            if (p.ignored || zero_denominator) {
                /* Ignored: loss 0, gradient 0. A zero denominator makes the
                 * reduced loss 0 whatever the rows hold. */
                if (grad != NULL)
                    memset(grad, 0, (size_t)c * sizeof(double));
                if (call->want_loss && !call->reduced)
                    focal_store_scalar(call->dtype, call->out, pos, 0.0);
                continue;
            }
            /* The gradient's multiplier holds the weight and alpha: alpha_t
             * for an index target, alpha_scale (the largest |alpha|) for a
             * target distribution, whose k then carry alpha / alpha_scale.
             * Multiplying before dividing keeps it finite when the
             * denominator sum(w * alpha_t) is tiny. */
            const int by_class = call->dense || smoothed;
            double scale = p.weight * (by_class ? call->alpha_scale : p.alpha_t);
            if (call->reduced)
                scale = scale * call->upstream / call->denominator;
            else if (call->op == FOCAL_OP_BACKWARD)
                scale *= focal_load_scalar(call->dtype, call->grad_out, pos);

            focal_softmax_row st = {0};
            if (!call->probabilities)
                focal_log_softmax_forward(x, c, s->e, &st);
            double loss;
            if (call->dense || smoothed) {
                focal_gather_softmax_targets(call, p.target, call->dense ? s->y + r * c : NULL, s->t);
                /* Under a tiny denominator, alpha_scale / denominator can
                 * overflow; the row's own mass sum(y_j |alpha_j|) /
                 * alpha_scale, which the denominator holds, is moved from
                 * the coefficients into the multiplier to keep it bounded
                 * (a row of zero mass has a zero multiplier). */
                double mass = 1, share = 0;
                if (call->partials_divided) {
                    double m = 0;
                    for (int64_t j = 0; j < c; j++)
                        m += fabs(s->t[j] * (focal_gather_alpha(call, j) / call->alpha_scale));
                    /* The row's share of the reduced loss per unit of its
                     * normalised loss: w alpha_scale m / denominator. */
                    share = m > 0 ? p.weight * call->alpha_scale * m / call->denominator : 0.0;
                    scale = share * call->upstream;
                    mass = m > 0 ? m : 1;
                }
                loss = softmax_row_dense(call, x, s->t, s, &st, grad, scale, mass);
                if (call->partials_divided) {
                    acc += share * loss;
                    continue;
                }
            } else {
                loss = softmax_row_index(call, x, p.target, p.alpha_t, s, &st, grad, scale);
            }
            const double wl = p.weight * loss;
            acc += wl;
            if (call->want_loss && !call->reduced)
                focal_store_scalar(call->dtype, call->out, pos, wl);
        }
        if (call->want_grad)
            focal_tile_store(call->dtype, call->grad_input, c, inner, image, s0, rows, s->grad, s->stage);
    }
    rn->partial[chunk] = acc;
}

/* Sigmoid mode: every element is its own binary problem. */
static void sigmoid_chunk(void *arg, int64_t chunk, int worker)
{
    focal_run *rn = arg;
    const focal_call *call = rn->call;
    const focal_scratch *s = &rn->scratch[worker];
    const focal_loss *loss = call->loss;
    const int64_t c = call->c, inner = call->inner;
    const int zero_denominator = call->reduced && call->denominator == 0;
    const int per_element_out = call->want_loss && !call->reduced;
    const int per_element_up = call->want_grad && !call->reduced && call->op == FOCAL_OP_BACKWARD;
    const int fl_star = loss->variant == FOCAL_VARIANT_FL_STAR;
    const double y_neg = focal_gather_sigmoid_target(call, 0.0);
    const double y_pos = focal_gather_sigmoid_target(call, 1.0);
    double acc = 0;
    int64_t tb, te;
    focal_chunk_tiles(rn->tiling, chunk, &tb, &te);
    for (int64_t tile = tb; tile < te; tile++) {
        int64_t image, s0, rows;
        focal_tile_range(rn->tiling, inner, tile, &image, &s0, &rows);
        const int64_t pos0 = image * inner + s0;
        focal_tile_load(call->dtype, call->input, c, inner, image, s0, rows, s->x, s->stage);
        if (call->dense)
            focal_tile_load(call->dtype, call->target_dense, c, inner, image, s0, rows, s->y, s->stage);
        if (per_element_up)
            focal_tile_load(call->dtype, call->grad_out, c, inner, image, s0, rows, s->up, s->stage);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t row = r * c;
            focal_position p;
            focal_gather_position(call, pos0 + r, &p);
            if (p.ignored || zero_denominator) {
                if (call->want_grad)
                    memset(s->grad + row, 0, (size_t)c * sizeof(double));
                if (per_element_out)
                    memset(s->out + row, 0, (size_t)c * sizeof(double));
                continue;
            }
            /* alpha_t enters the per-element derivative divided by
             * alpha_scale and the multiplier times it, so neither a tiny
             * alpha nor a tiny denominator overflows the quotient. */
            double scale = p.weight * call->alpha_scale;
            if (call->reduced)
                scale = scale * call->upstream / call->denominator;
            for (int64_t j = 0; j < c; j++) {
                const double y = call->dense ? focal_gather_sigmoid_target(call, s->y[row + j])
                                             : (j == p.target ? y_pos : y_neg);
                const double alpha_t = focal_gather_sigmoid_alpha(call, j, y) / call->alpha_scale;
                const double x = s->x[row + j];
                double l, g = 0;
                double *gp = call->want_grad ? &g : NULL;
                if (fl_star) {
                    focal_modulate_fl_star(x, y, alpha_t, loss->gamma, loss->beta, &l, gp);
                } else if (!call->probabilities) {
                    focal_modulate_sigmoid(x, y, alpha_t, loss->gamma, &l, gp);
                } else {
                    const double v = x < call->clip_lo ? call->clip_lo : x > call->clip_hi ? call->clip_hi : x;
                    focal_modulate_sigmoid_prob(v, y, alpha_t, loss->gamma, &l, gp);
                    /* The clip passes the gradient inside [lo, hi] only. */
                    if (!(x >= call->clip_lo && x <= call->clip_hi))
                        g = isnan(x) ? x : 0.0;
                }
                const double wl = p.weight * (l * call->alpha_scale);
                acc += wl;
                if (per_element_out)
                    s->out[row + j] = wl;
                if (call->want_grad)
                    s->grad[row + j] = (per_element_up ? scale * s->up[row + j] : scale) * g;
            }
        }
        if (per_element_out)
            focal_tile_store(call->dtype, call->out, c, inner, image, s0, rows, s->out, s->stage);
        if (call->want_grad)
            focal_tile_store(call->dtype, call->grad_input, c, inner, image, s0, rows, s->grad, s->stage);
    }
    rn->partial[chunk] = acc;
}

static void free_scratch(focal_scratch *s, int workers)
{
    for (int i = 0; i < workers; i++)
        free(s[i].x);
    free(s);
}

static focal_scratch *alloc_scratch(const focal_call *call, const focal_tiling *t, int workers)
{
    focal_scratch *s = calloc((size_t)workers, sizeof *s);
    if (s == NULL)
        return NULL;
    const size_t tile = (size_t)(t->rows * call->c), c = (size_t)call->c, rows = (size_t)t->rows;
    /* Six tiles, three rows of c, four per-row arrays and two float rows of
     * c + 8, all 8-byte units; a shape whose scratch cannot be counted in a
     * size_t cannot be allocated either. */
    const size_t limit = SIZE_MAX / sizeof(double) / 16;
    if (tile > limit || c > limit || rows > limit) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < workers; i++) {
        double *block = malloc((6 * tile + 3 * c + 4 * rows + (c + 8)) * sizeof(double));
        if (block == NULL) {
            free_scratch(s, i);
            return NULL;
        }
        s[i].x = block;
        s[i].y = block + tile;
        s[i].grad = block + 2 * tile;
        s[i].stage = block + 3 * tile;
        s[i].out = block + 4 * tile;
        s[i].up = block + 5 * tile;
        s[i].e = block + 6 * tile;
        s[i].t = block + 6 * tile + c;
        s[i].k = block + 6 * tile + 2 * c;
        double *rowbuf = block + 6 * tile + 3 * c;
        s[i].row_target = (int64_t *)rowbuf;
        s[i].row_scale = (float *)(rowbuf + rows);
        s[i].row_term = rowbuf + 2 * rows;
        s[i].row_weight = rowbuf + 3 * rows;
        s[i].ef = (float *)(rowbuf + 4 * rows);
        s[i].alpha = s[i].ef + c + 8;
        if (call->alpha_c != NULL)   /* one alpha for every class is passed as a number */
            for (size_t j = 0; j < c; j++)
                s[i].alpha[j] = (float)focal_gather_alpha(call, (int64_t)j);
    }
    return s;
}

focal_status focal_pipeline_run(focal_call *call)
{
    focal_tiling tiling;
    focal_tiling_init(&tiling, call->n, call->c, call->inner);
    const int workers = focal_workers_for(call->loss, call->n * call->c * call->inner, tiling.chunks);
    focal_run rn = {.call = call, .tiling = &tiling};
    rn.scratch = alloc_scratch(call, &tiling, workers);
    if (rn.scratch == NULL)
        return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "out of memory for %d tile buffers", workers);
    if (call->op == FOCAL_OP_BACKWARD && call->reduced)
        call->upstream = focal_load_scalar(call->dtype, call->grad_out, 0);
    else
        call->upstream = 1.0;
    /* Multiplying by upstream / denominator is one division per call; a
     * denominator below 2^-900 is divided per position instead, after the
     * weights and alphas that make the quotient bounded. */
    call->tiny_denominator = call->reduced && fabs(call->denominator) < 0x1p-900;
    /* Softmax rows with a target distribution then add their share of the
     * reduced loss already divided, because w * loss itself can be
     * subnormal (see softmax_chunk). */
    call->partials_divided = call->tiny_denominator && !call->sigmoid &&
                             (call->dense || call->loss->label_smoothing > 0);
    call->gradient_factor = call->reduced && !call->tiny_denominator && call->denominator != 0
                                ? call->upstream / call->denominator
                                : 0.0;

    focal_chunk_fn fn = call->sigmoid ? sigmoid_chunk : softmax_chunk;
    if (focal_f32_kernels_apply(call))
        fn = call->sigmoid ? focal_sigmoid_chunk_f32 : focal_softmax_chunk_f32;
    focal_parallel_chunks(tiling.chunks, workers, fn, &rn);
    free_scratch(rn.scratch, workers);

    if (call->want_loss && call->reduced)
        focal_store_scalar(call->dtype, call->out, 0,
                           focal_reduce_finish(call, focal_reduce_partials(rn.partial, tiling.chunks)));
    return FOCAL_OK;
}
