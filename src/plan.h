/* The plan of one compute call: the caller's arguments, every setting
 * resolved to what the kernels read, and the pre-pass's figures. plan.c
 * builds it (validation, then the pre-pass through the driver); from then
 * on it is read-only: the driver and the kernels take it as const. */
#ifndef FOCAL_PLAN_H
#define FOCAL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Storage types of the tensors. Arithmetic is double whatever they are. */
typedef enum focal_dtype { FOCAL_F32 = 0, FOCAL_F64 = 1, FOCAL_BF16 = 2, FOCAL_F16 = 3 } focal_dtype;
#define FOCAL_DTYPES 4

/* Bytes of one element of the storage type. */
static inline size_t focal_dtype_size(focal_dtype dtype)
{
    return dtype == FOCAL_F64 ? 8 : dtype == FOCAL_F32 ? 4 : 2;
}

typedef enum focal_op {
    FOCAL_OP_FORWARD = 0,
    FOCAL_OP_BACKWARD = 1,
    FOCAL_OP_FUSED = 2,
    FOCAL_OP_COUNTS = 3,        /* the denominators' sums only */
    FOCAL_OP_TARGET = 4         /* the gradient with respect to dense targets */
} focal_op;

/* What a public entry point was given. */
typedef struct focal_args {
    const focal_loss *loss;
    focal_dtype dtype;
    focal_op op;
    int dense;                  /* dense targets (else index targets) */
    int64_t n, c, inner;
    const void *input;
    const int64_t *target_index;
    const void *target_dense;
    const void *weight;
    const void *grad_out;
    void *out;
    void *grad_input;
    void *grad_target;          /* FOCAL_OP_TARGET */
    double *counts;             /* FOCAL_OP_COUNTS */
} focal_args;

/* Positions per tile and chunks of tiles: a function of the shape alone,
 * so that every thread count sums in the same order. */
typedef struct focal_tiling {
    int64_t rows;               /* positions per tile */
    int64_t plane;              /* positions per image: inner, or n when inner == 1 */
    int64_t tiles_per_plane;
    int64_t tiles;
    int64_t chunks;             /* fixed groups of consecutive tiles */
} focal_tiling;

#define FOCAL_MAX_CHUNKS 256

struct focal_kernels;

typedef struct focal_plan {
    focal_args a;
    const struct focal_kernels *k;  /* the table of this call's storage type */
    focal_tiling tiling;
    int workers;
    size_t scratch_bytes;       /* per worker, for the main pass */

    /* Settings. */
    int sigmoid;
    int dense;
    int probabilities;
    int fl_star;
    int variant;                /* focal_variant */
    double gamma_neg, clip;     /* ASL */
    double asl_dead;            /* ASL with a clip in [2^-1000, 1/2]: every logit
                                   below it has p below the clip (-inf: none) */
    double poly;                /* Poly-1's epsilon, 0 without */
    int smoothed;               /* label smoothing > 0 */
    int reduced;                /* reduction != NONE */
    int want_loss;              /* write out */
    int want_grad;              /* write grad_input */
    int out_each;               /* out holds one value per position / element */
    int up_each;                /* grad_out holds one value per position / element */
    int stream;                 /* the gradient is too large to stay in cache: non-temporal stores */
    int empty;                  /* n * inner == 0 */
    int split;                  /* sigmoid soft form SPLIT */
    const double *pos_weight;   /* per class, or NULL */
    double gamma, beta, ls;
    double clip_lo, clip_hi;    /* probabilities input, rounded to the storage type */
    int alpha_kind;             /* enum focal_alpha_kind */
    double alpha_s;             /* the scalar alpha; 1 when none */
    const double *alpha_v;      /* the per-class alpha, or NULL */
    /* Sigmoid alpha_t = a y + (alpha_one - a)(1 - y): alpha_one is 1, or
     * the power of two that alpha_s and alpha_v were scaled by (below). */
    double alpha_one;
    /* WEIGHTED_MEAN is a ratio of sums homogeneous in the weights and
     * (without Poly-1) in alpha: far from 1 they are scaled by powers of two
     * (exactly) into plan-owned copies, so that no sum or product
     * overflows where the ratio does not. NULL when not. */
    double *alpha_owned;
    double *weight_owned;       /* float64 weights only */
    int has_ignore;
    int64_t ignore;
    /* Targets as the formulas see them: sigmoid index targets and softmax
     * label smoothing become these values of y. */
    double y_neg, y_pos;
    /* Sigmoid: the sum over the classes of alpha_t at y_neg (WEIGHTED_MEAN
     * with index targets: a background position's share). */
    double alpha_background;
    /* The pre-pass sums w alpha_t: WEIGHTED_MEAN's denominator, and every
     * counts call (counts[1] whatever the reduction). */
    int need_weight_alpha;

    /* The pre-pass (plan.c fills them before the plan is handed on). */
    double count, weight_alpha, positives;
    double denominator;
    double upstream;            /* grad_out[0] of a reduced backward; else 1 */
    /* Gradient multiplier of a position: w alpha_t times factor. Under a
     * denominator so small that upstream / denominator could overflow
     * (tiny), the product w alpha_t upstream is divided per position
     * instead, alpha_t enters sigmoid elements divided by alpha_scale, and
     * softmax target distributions are normalised per row (see
     * stages/gather.h). */
    double factor;
    int tiny;
    double alpha_scale;         /* softmax: the largest |alpha_c|; sigmoid: of |a| and |1 - a|; 1 without alpha */
    int alpha_exp;              /* alphas scaled by 2^-alpha_exp (scale_alpha in plan.c), else 0 */
    int divided;                /* tiny, softmax target distributions: the tiles' sums are already divided */
    int zero;                   /* reduced with a zero denominator: every value 0 */

    /* The target gradient (FOCAL_OP_TARGET): d/dy of the reduced loss L
     * is tg_loss times the difference, formed first, of w dloss/dy and
     * L (tg_share) times the denominator's derivative, where that depends
     * on the targets (tg_den_kind). */
    double tg_loss, tg_share;   /* tg_loss: upstream / denominator; under a tiny one upstream, each entry divided last */
    int tg_den_kind;            /* 0 none, 1 WEIGHTED_MEAN's sum(w alpha_t), 2 max(1, P) */
} focal_plan;

/* The per-tile pre-pass result and its combination. */
typedef struct focal_sums {
    double count, weight_alpha, positives;
    double loss;
    double weight_max;          /* the pre-pass: the largest weight */
    focal_status status;        /* first failure of the chunk, else FOCAL_OK */
    int64_t bad_index;          /* flat index of the offending value */
    double bad_value;           /* weights and dense targets */
    int64_t bad_class;          /* index targets */
} focal_sums;

/* Validates the call and runs the pre-pass: on success *plan is complete
 * and nothing has been written; on failure the status says why (with the
 * thread's detail message set) and nothing has been written either. */
focal_status focal_plan_build(const focal_args *args, focal_plan *plan);

/* Frees what the plan owns (after focal_plan_build, whatever it returned). */
void focal_plan_release(focal_plan *plan);

/* Flat index of class cls at in-plane position s of image `image`. With
 * inner == 1 a tile spans many rows: image is 0 and s is the row. */
static inline int64_t focal_element(int64_t c, int64_t inner, int64_t image, int64_t s, int64_t cls)
{
    return inner == 1 ? s * c + cls : (image * c + cls) * inner + s;
}

#endif /* FOCAL_PLAN_H */
