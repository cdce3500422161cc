/* Internal declarations shared by the stage modules. Nothing here is part
 * of the ABI: every symbol is hidden by -fvisibility=hidden and the linker
 * version script. */
#ifndef FOCAL_INTERNAL_H
#define FOCAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "focal/focal.h"

#if defined(__GNUC__)
#  define FOCAL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define FOCAL_PRINTF(f, a)
#endif

/* ---- dispatch.c -------------------------------------------------------- */

typedef enum focal_isa_level { FOCAL_ISA_SCALAR = 0, FOCAL_ISA_AVX2 = 1 } focal_isa_level;

/* The instruction-set path in use, chosen once per process. */
focal_isa_level focal_isa_current(void);

/* ---- status.c ---------------------------------------------------------- */

/* Records the thread's detail message and returns s. */
focal_status focal_fail(focal_status s, const char *fmt, ...) FOCAL_PRINTF(2, 3);

/* ---- context.c --------------------------------------------------------- */

enum focal_alpha_kind { FOCAL_ALPHA_NONE = 0, FOCAL_ALPHA_SCALAR = 1, FOCAL_ALPHA_VECTOR = 2 };

struct focal_loss {
    focal_mode mode;
    double gamma;
    enum focal_alpha_kind alpha_kind;
    double alpha;             /* the scalar, when alpha_kind is SCALAR */
    double *alpha_vector;     /* owned, alpha_count values, when VECTOR */
    int64_t alpha_count;
    focal_reduction reduction;
    int has_ignore_index;
    int64_t ignore_index;
    focal_input input;
    double epsilon;
    double label_smoothing;
    focal_variant variant;
    double beta;
    int threads;
};

/* ---- the call: everything a compute call needs, resolved once ---------- */

enum focal_dtype { FOCAL_F32 = 0, FOCAL_F64 = 1 };
enum focal_op { FOCAL_OP_FORWARD = 0, FOCAL_OP_BACKWARD = 1, FOCAL_OP_FUSED = 2 };

typedef struct focal_call {
    const focal_loss *loss;
    enum focal_dtype dtype;
    enum focal_op op;
    int dense;                 /* dense targets (else index targets) */
    int64_t n, c, inner;
    const void *input;
    const int64_t *target_index;
    const void *target_dense;
    const void *weight;
    const void *grad_out;
    void *out;
    void *grad_input;

    /* Resolved settings. */
    int sigmoid;
    int want_loss;             /* write out */
    int want_grad;             /* write grad_input */
    int reduced;               /* reduction != NONE */
    int probabilities;         /* probabilities input */
    double clip_lo, clip_hi;   /* clip bounds, rounded to the input's type */
    const double *alpha_c;     /* per-class alpha, or NULL */
    double alpha_s;            /* scalar alpha (or 1 when none) */
    int has_alpha;             /* an alpha (scalar or vector) is set */
    double alpha_scale;        /* the largest |alpha_t| a class can have; 1 without alpha */

    /* Filled by the validation pre-pass. */
    double count;              /* non-ignored positions (softmax) or elements (sigmoid) */
    double weight_alpha_sum;   /* sum of w * alpha_t over them */
    double positives;          /* sigmoid: positives or the sum of dense targets */
    double denominator;        /* of the reduction; 0 means "result 0" */
    double upstream;           /* grad_out[0] for reduced backward, 1 for fused */
    double gradient_factor;    /* upstream / denominator, where that is safe */
    int tiny_denominator;      /* |denominator| so small that 1 / it may overflow */
    int partials_divided;      /* the chunks' partial sums are already divided by it */
} focal_call;

/* ---- validate.c -------------------------------------------------------- */

/* Settings, shape and pointers: everything decidable without reading data. */
focal_status focal_validate_call(focal_call *call);
/* Reads targets and weights: rejects bad ones (lowest index first) and fills
 * count, weight_alpha_sum, positives and denominator. */
focal_status focal_validate_data(focal_call *call);

/* ---- pipeline.c -------------------------------------------------------- */

/* The geometry of a call: tiles of rows positions with all c classes. */
typedef struct focal_tiling {
    int64_t rows;              /* positions per tile */
    int64_t plane;             /* positions per image: inner, or n when inner == 1 */
    int64_t tiles_per_plane;
    int64_t tiles;
    int64_t chunks;            /* fixed groups of consecutive tiles */
} focal_tiling;

#define FOCAL_MAX_CHUNKS 256

/* Flat index of class cls at in-plane position s of image `image`. With
 * inner == 1 a tile spans many rows: image is 0 and s is the row. */
static inline int64_t focal_element(int64_t c, int64_t inner, int64_t image, int64_t s, int64_t cls)
{
    return inner == 1 ? s * c + cls : (image * c + cls) * inner + s;
}

void focal_tiling_init(focal_tiling *t, int64_t n, int64_t c, int64_t inner);
/* Position range [first, first + count) of tile k, and the image it is in. */
void focal_tile_range(const focal_tiling *t, int64_t inner, int64_t k,
                      int64_t *image, int64_t *first, int64_t *count);
void focal_chunk_tiles(const focal_tiling *t, int64_t chunk, int64_t *begin, int64_t *end);

/* Runs fn(arg, chunk, scratch_index) for every chunk on up to `threads`
 * threads; each chunk runs on exactly one thread. */
typedef void (*focal_chunk_fn)(void *arg, int64_t chunk, int worker);
void focal_parallel_chunks(int64_t chunks, int workers, focal_chunk_fn fn, void *arg);
/* The number of workers a call of this size should use. */
int focal_workers_for(const focal_loss *loss, int64_t elements, int64_t chunks);

typedef struct focal_scratch {
    double *x;       /* rows x c input tile */
    double *y;       /* rows x c dense target tile */
    double *grad;    /* rows x c gradient tile */
    double *out;     /* rows x c per-element losses (sigmoid, NONE) */
    double *up;      /* rows x c per-element upstream gradient (sigmoid, NONE) */
    double *e;       /* c: exp(x - max) */
    double *t;       /* c: effective targets */
    double *k;       /* c: log-softmax backward coefficients */
    void *stage;     /* rows x c of the tensor's type, for the reshape */
    /* The float32 kernels' per-row arrays and rows. */
    int64_t *row_target;
    float *row_scale;
    double *row_term;
    double *row_weight;
    float *ef;       /* c + 8 */
    float *alpha;    /* c + 8: per-class alpha in float, when a vector is set */
} focal_scratch;

typedef struct focal_run {
    const focal_call *call;
    const focal_tiling *tiling;
    focal_scratch *scratch;
    double partial[FOCAL_MAX_CHUNKS];
} focal_run;

/* ---- pipeline_f32.c: tiles through the float32 kernels ------------------ */

/* Whether the call can use the float32 kernels of the current ISA. */
int focal_f32_kernels_apply(const focal_call *call);
void focal_softmax_chunk_f32(void *arg, int64_t chunk, int worker);
void focal_sigmoid_chunk_f32(void *arg, int64_t chunk, int worker);

/* Runs the whole computation of a validated call. */
focal_status focal_pipeline_run(focal_call *call);

/* ---- reshape.c --------------------------------------------------------- */

/* Copies `rows` positions starting at position s0 of image `image` from a
 * (n, c, inner) tensor of the call's dtype into a rows x c row-major double
 * tile. `stage` is a rows x c scratch of the tensor's element type. */
void focal_tile_load(enum focal_dtype dtype, const void *src, int64_t c, int64_t inner,
                     int64_t image, int64_t s0, int64_t rows, double *tile, void *stage);
/* The inverse: writes a rows x c double tile back into a (n, c, inner) tensor. */
void focal_tile_store(enum focal_dtype dtype, void *dst, int64_t c, int64_t inner,
                      int64_t image, int64_t s0, int64_t rows, const double *tile, void *stage);
/* float32 tiles without conversion, for the float32 kernels. */
void focal_tile_load_f32(const float *src, int64_t c, int64_t inner, int64_t image, int64_t s0,
                         int64_t rows, float *tile);
void focal_tile_store_f32(float *dst, int64_t c, int64_t inner, int64_t image, int64_t s0,
                          int64_t rows, const float *tile);
/* Class-major float32 tiles (c runs of rows positions) from and to the
 * rows of an inner == 1 tensor, for the kernel vectorised across
 * positions. */
void focal_tile_load_planes_f32(const float *src, int64_t c, int64_t inner, int64_t image,
                                int64_t s0, int64_t rows, float *tile);
void focal_tile_store_planes_f32(float *dst, int64_t c, int64_t inner, int64_t image, int64_t s0,
                                 int64_t rows, const float *tile);
/* Reads / writes one per-position value of the call's dtype. */
static inline double focal_load_scalar(enum focal_dtype dtype, const void *p, int64_t i)
{
    return dtype == FOCAL_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void focal_store_scalar(enum focal_dtype dtype, void *p, int64_t i, double v)
{
    if (dtype == FOCAL_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* ---- log_softmax.c ----------------------------------------------------- */

/* The softmax of a row in the form that keeps 1 - p_c accurate:
 * e_j = exp(x_j - max), the argmax a (e_a = 1), rest = sum_{j != a} e_j,
 * sum = 1 + rest, log_sum = log1p(rest). */
typedef struct focal_softmax_row {
    double max;
    int64_t argmax;
    double rest;
    double sum;
    double log_sum;
} focal_softmax_row;

void focal_log_softmax_forward(const double *x, int64_t c, double *e, focal_softmax_row *r);
/* log p_c, p_c and 1 - p_c (as the sum over the other classes). */
double focal_log_softmax_logp(const double *x, const focal_softmax_row *r, int64_t cls);
double focal_softmax_others(const double *e, const focal_softmax_row *r, int64_t cls);
/* Backward through log-softmax for an index target: given k_t, the
 * derivative of the loss with respect to x_t is -k_t and to x_j is
 * k_t * e_j / sum_{i != t} e_i; grad[] receives scale times that. */
void focal_log_softmax_backward_index(const double *e, const focal_softmax_row *r, int64_t c,
                                      int64_t t, double k, double scale, double *grad);
/* Backward for a per-class k (dense targets, label smoothing). */
void focal_log_softmax_backward_dense(const double *e, const focal_softmax_row *r, int64_t c,
                                      const double *k, double scale, double *grad);

/* ---- log_sigmoid.c ----------------------------------------------------- */

/* log sigmoid(x) = -softplus(-x), finite for all finite x. */
double focal_log_sigmoid(double x);
/* sigmoid(x) without overflow. */
double focal_sigmoid(double x);

/* ---- gather.c ---------------------------------------------------------- */

/* One position's target, as the stages see it. */
typedef struct focal_position {
    int ignored;
    int64_t target;            /* index targets */
    double weight;
    double alpha_t;            /* softmax: alpha of the target (index) or sum y_c alpha_c (dense) */
} focal_position;

/* alpha_c for class cls (1 when no alpha is set). Inline, as the pipeline
 * calls these once per position. */
static inline double focal_gather_alpha(const focal_call *call, int64_t cls)
{
    return call->alpha_c != NULL ? call->alpha_c[cls] : call->alpha_s;
}
static inline void focal_gather_position(const focal_call *call, int64_t pos, focal_position *out)
{
    out->weight = call->weight != NULL ? focal_load_scalar(call->dtype, call->weight, pos) : 1.0;
    out->alpha_t = 1.0;
    out->target = -1;
    out->ignored = 0;
    if (call->dense)
        return;
    const int64_t t = call->target_index[pos];
    out->target = t;
    if (call->loss->has_ignore_index && t == call->loss->ignore_index) {
        out->ignored = 1;
        return;
    }
    /* Softmax: alpha of the target class, also under label smoothing (the
     * denominator of cross_entropy(weight=alpha, label_smoothing=ls)).
     * Validation has checked t before any call that reads alpha. */
    if (!call->sigmoid && t >= 0 && t < call->c)
        out->alpha_t = focal_gather_alpha(call, t);
}
/* Sigmoid mode: the smoothed target and alpha_t = a y + (1 - a)(1 - y) of
 * class cls (1 when no alpha is set). */
double focal_gather_sigmoid_target(const focal_call *call, double y);
double focal_gather_sigmoid_alpha(const focal_call *call, int64_t cls, double y);
/* The effective dense target row (label smoothing applied) for softmax mode:
 * from an index target, or from a dense tile row. */
void focal_gather_softmax_targets(const focal_call *call, int64_t target, const double *dense_row,
                                  double *y);

/* ---- modulate.c -------------------------------------------------------- */

/* The focal factor for one probability: given p, q = 1 - p and l = log p,
 * loss_term = q^gamma * (-l) and k = q^gamma * (q - gamma * p * l), the
 * coefficient of the log-softmax backward (finite for every gamma >= 0). */
void focal_modulate(double p, double q, double l, double gamma, double *loss_term, double *k);
/* d/dp of q^gamma * (-l) for probabilities input (q >= eps > 0). */
double focal_modulate_dprob(double p, double q, double l, double gamma);

/* Sigmoid mode, one element: the loss and its derivative with respect to
 * the logit (or the probability), for target y and alpha_t; grad may be
 * NULL. */
void focal_modulate_sigmoid(double x, double y, double alpha_t, double gamma, double *loss,
                            double *grad);
void focal_modulate_sigmoid_prob(double p, double y, double alpha_t, double gamma, double *loss,
                                 double *grad);
void focal_modulate_fl_star(double x, double y, double alpha_t, double gamma, double beta,
                            double *loss, double *grad);

/* ---- reduce.c ---------------------------------------------------------- */

/* The denominator of the call's reduction from the pre-pass figures. */
double focal_reduce_denominator(const focal_call *call);
/* Sums per-chunk partials in chunk order. */
double focal_reduce_partials(const double *partials, int64_t chunks);
/* The reduced value: sum / denominator, 0 for a zero denominator. */
double focal_reduce_finish(const focal_call *call, double sum);

/* ---- kernel_avx2.c (called only when focal_isa_current() is AVX2) ------- */

/* Largest c the class-major softmax kernel keeps in registers and stack. */
#define FOCAL_PLANES_MAX_C 64

/* Softmax, float32 logits, index targets, rows of c contiguous classes.
 * target[r] < 0 skips row r (its gradient row is zeroed). term[r]
 * receives (1 - p_t)^gamma (-log p_t); with grad, row r of grad receives
 * gs[r] times the derivative of that term. e is c + 8 floats of scratch.
 * With stream, the gradient is written with non-temporal stores. */
void focal_avx2_softmax_rows(const float *x, int64_t rows, int64_t c, const int64_t *target,
                             double gamma, const float *gs, float *grad, float *e, double *term,
                             int stream);
/* The pre-pass scan of float32 dense targets (validate.c): index of the
 * first value outside [0, 1] or NaN, or -1; adds the values to *sum. */
int64_t focal_avx2_scan_dense_f32(const float *y, int64_t n, double *sum);
/* Softmax, float32 logits, index targets, cols positions of one plane:
 * class j of position s at x[j * xstride + s] (gradient at
 * grad[j * gstride + s]), vectorised across positions; c <=
 * FOCAL_PLANES_MAX_C. Positions whose target is `ignore` count as nothing
 * and get a zero gradient (every other target is in [0, c)). The
 * gradient multiplier of position s is gs[s], or scale when gs is NULL.
 * Returns the sum of the terms (1 - p_t)^gamma (-log p_t), and writes them
 * to term when not NULL. With stream, gradient lines that one step fills
 * whole are written with non-temporal stores. */
double focal_avx2_softmax_planes(const float *x, int64_t xstride, float *grad, int64_t gstride, int64_t cols,
                                 int64_t c, const int64_t *target, int64_t ignore, const float *gs, float scale,
                                 double gamma, double *term, int stream);
/* The pre-pass over index targets: 1 when each is `ignore` (has_ignore)
 * or in [0, limit); adds the count of those not ignored to *kept and of
 * those also below c to *below_c. */
int focal_avx2_scan_index(const int64_t *t, int64_t n, int has_ignore, int64_t ignore, int64_t limit, int64_t c,
                          int64_t *kept, int64_t *below_c);
/* Sigmoid, float32 logits, one position's row of c elements with dense
 * targets y or index target t (c = background), label smoothing ls, and
 * alpha: per class (alpha), the same for every class (alpha_s, alpha NULL)
 * or none (has_alpha 0). Returns w times the row's summed loss; writes
 * w * loss per element to out and scale (times up[j]) times the
 * derivative to grad, each when not NULL. Dense targets with one alpha for
 * every class make any run of whole rows one row. */
double focal_avx2_sigmoid_row(const float *x, const float *y, int64_t t, int64_t c, const float *alpha,
                              int has_alpha, float alpha_s, float ls, double gamma, float w, float scale,
                              const float *up, float *grad, float *out);

#endif /* FOCAL_INTERNAL_H */
