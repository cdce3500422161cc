/*
 * libfocal - the focal loss of Lin et al., "Focal Loss for Dense Object
 * Detection" (ICCV 2017), forward and backward, in float32 and float64.
 *
 * This is the only public header and it reads top to bottom as the manual.
 *
 *   focal_loss *loss;
 *   focal_loss_create(&loss, FOCAL_MODE_SOFTMAX);
 *   focal_loss_set_gamma(loss, 2.0);
 *   focal_forward_backward_f32(loss, n, c, inner, logits, target, NULL,
 *                              &value, grad);
 *   focal_loss_destroy(loss);
 *
 * Conventions shared by every function:
 *   - Every function that can fail returns a focal_status. A failing call
 *     writes no output buffer, leaves the context as it was, and sets a
 *     per-thread detail message that focal_last_error() returns. It never
 *     prints, aborts or exits.
 *   - Only scalars, int-sized enums and pointers cross the ABI: no structs,
 *     unions, varargs or callbacks, so every function binds 1:1 from Rust,
 *     Go (cgo), Julia (ccall) and Python (ctypes).
 *   - Thread safety: a context is never modified by a compute call, so any
 *     number of threads may compute with one context at once, provided no
 *     thread calls a setter on it meanwhile. Functions without a context
 *     are thread-safe.
 *   - "Since" names the library version that added a function.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_FOCAL_H
#define FOCAL_FOCAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FOCAL_STATIC_DEFINE)
#  define FOCAL_API
#elif defined(_WIN32)
#  if defined(FOCAL_BUILDING_LIBRARY)
#    define FOCAL_API __declspec(dllexport)
#  else
#    define FOCAL_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define FOCAL_API __attribute__((visibility("default")))
#else
#  define FOCAL_API
#endif

/* ------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------ */

#define FOCAL_VERSION_MAJOR 1
#define FOCAL_VERSION_MINOR 1
#define FOCAL_VERSION_PATCH 0
#define FOCAL_VERSION_NUMBER \
    (FOCAL_VERSION_MAJOR * 10000 + FOCAL_VERSION_MINOR * 100 + FOCAL_VERSION_PATCH)
#define FOCAL_VERSION_STRING "1.1.0"

/* The version of the library actually loaded, as FOCAL_VERSION_NUMBER
 * (major*10000 + minor*100 + patch). Compare its major part with the
 * header's to detect a mismatched shared object. Thread-safe. Since 1.0. */
FOCAL_API unsigned focal_version_number(void);
/* The loaded library's version as "major.minor.patch"; static storage,
 * never NULL. Thread-safe. Since 1.0. */
FOCAL_API const char *focal_version_string(void);

/* The kernel table this process computes with: "avx512" (x86-64 with
 * AVX-512 F, BW, DQ and VL; since 1.1), "avx2" (x86-64 with AVX2 and FMA)
 * or "scalar" (the portable C table, for every other CPU). Chosen once, at
 * the first call into libfocal, from the CPU's features and what the OS
 * saves; the environment variable FOCAL_MAX_ISA set to exactly "scalar",
 * "avx2" or "avx512" before that caps the choice (any other value is
 * ignored). Every table computes in double and meets the same accuracy
 * tests; results are bitwise reproducible for a given table and any thread
 * count. Static storage, never NULL. Thread-safe. Since 1.0. */
FOCAL_API const char *focal_isa(void);

/* ------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------ */

/* Values are pinned forever; new codes may be added. */
typedef enum focal_status {
    FOCAL_OK                      = 0,
    FOCAL_ERROR_NULL_POINTER      = 1,  /* a required pointer is NULL */
    FOCAL_ERROR_INVALID_SHAPE     = 2,  /* n or inner < 0, c < 1 (1.0: n or inner < 1); n*c*inner overflows;
                                           alpha or pos_weight vector length != c */
    FOCAL_ERROR_INVALID_PARAMETER = 3,  /* setter value outside its domain; unknown enum value */
    FOCAL_ERROR_INVALID_TARGET    = 4,  /* class index out of range and not ignore_index; dense target outside [0,1] or not finite */
    FOCAL_ERROR_INVALID_WEIGHT    = 5,  /* weight negative or not finite */
    FOCAL_ERROR_INCOMPATIBLE      = 6,  /* settings that do not fit together or do not fit this call */
    FOCAL_ERROR_OUT_OF_MEMORY     = 7,
    FOCAL_ERROR_INTERNAL          = 99
} focal_status;

/* A short English description of s, e.g. "invalid target"; static storage,
 * never NULL, also for values that are not a focal_status ("unknown
 * status"). Thread-safe. Since 1.0. */
FOCAL_API const char *focal_status_string(focal_status s);

/* The detail message of the last failing call made by this thread, e.g.
 * "target[37] = 12 is outside [0, 10)"; "" when no call of this thread has
 * failed. A successful call does not clear it. The pointer is valid until
 * this thread's next call into libfocal. Thread-safe. Since 1.0. */
FOCAL_API const char *focal_last_error(void);

/* ------------------------------------------------------------------------
 * The loss context
 * ------------------------------------------------------------------------ */

typedef struct focal_loss focal_loss;   /* opaque */

typedef enum focal_mode {
    FOCAL_MODE_SOFTMAX = 0,   /* one softmax over the c axis per position */
    FOCAL_MODE_SIGMOID = 1    /* an independent sigmoid per element */
} focal_mode;

typedef enum focal_reduction {
    FOCAL_REDUCTION_NONE               = 0,  /* one value per position (softmax) or element (sigmoid) */
    FOCAL_REDUCTION_MEAN               = 1,  /* SUM / number of non-ignored positions or elements */
    FOCAL_REDUCTION_SUM                = 2,  /* sum of w * loss */
    FOCAL_REDUCTION_WEIGHTED_MEAN      = 3,  /* SUM / sum(w * alpha_t) */
    FOCAL_REDUCTION_SUM_OVER_POSITIVES = 4,  /* SUM / max(1, positives); sigmoid mode only */
    FOCAL_REDUCTION_DIVISOR            = 5   /* SUM / the context's divisor (data-parallel training); since 1.1 */
} focal_reduction;

typedef enum focal_input {
    FOCAL_INPUT_LOGITS        = 0,  /* raw scores */
    FOCAL_INPUT_PROBABILITIES = 1   /* probabilities, clipped to [epsilon, 1 - epsilon] */
} focal_input;

/* The soft-target form of sigmoid mode (since 1.1). */
typedef enum focal_soft_form {
    FOCAL_SOFT_TORCHVISION = 0,  /* alpha_t (1 - p_t)^gamma CE, p_t = p y + (1 - p)(1 - y) (torchvision) */
    FOCAL_SOFT_SPLIT       = 1   /* -a pw y (1 - p)^gamma log p - (1 - a)(1 - y) p^gamma log(1 - p) (kornia) */
} focal_soft_form;

typedef enum focal_variant {
    FOCAL_VARIANT_FL      = 0,  /* the focal loss */
    FOCAL_VARIANT_FL_STAR = 1,  /* FL* of the paper's appendix; sigmoid mode, logits, gamma > 0 */
    FOCAL_VARIANT_QFL     = 2,  /* Quality Focal Loss (GFL, Li et al. 2020); sigmoid, logits; since 1.1 */
    FOCAL_VARIANT_VFL     = 3,  /* Varifocal Loss (VarifocalNet, Zhang et al. 2021); sigmoid, logits; since 1.1 */
    FOCAL_VARIANT_ASL     = 4   /* Asymmetric Loss (Ridnik et al. 2021); sigmoid, logits; since 1.1 */
} focal_variant;

/* The generalized focal family (since 1.1), sigmoid mode, logits input, per
 * element with target y in [0, 1], p = sigmoid(x), BCE(x, y) the binary
 * cross-entropy from logits, alpha_t as in FL (1 without alpha):
 *   QFL  alpha_t BCE(x, y) |y - p|^gamma (gamma is the paper's beta; 0 or
 *        >= 1, as for 0 < gamma < 1 the gradient is unbounded at p = y)
 *   VFL  BCE(x, y) y where y > 0, a p^gamma BCE(x, 0) where y = 0, a the
 *        scalar alpha (1 without; the paper uses 0.75); not with an alpha
 *        vector, label smoothing or WEIGHTED_MEAN
 *   ASL  -alpha_t [y (1 - p)^gamma log p + (1 - y) p_m^gamma_negative
 *        log(1 - p_m)], p_m = max(p - clip, 0); with clip > 0,
 *        gamma_negative 0 or >= 1
 * Settings that do not fit are INCOMPATIBLE at compute. docs/math.md has
 * the gradients and the stable forms; Distribution Focal Loss needs no
 * variant (softmax mode, gamma 0, two-hot dense targets: docs/math.md). */

/* Creates a context with the defaults: gamma 2, no alpha, reduction MEAN,
 * no ignore_index, logits input, epsilon 1e-7, label smoothing 0, variant
 * FL, beta 0, threads 0. Errors: NULL_POINTER (out is NULL),
 * INVALID_PARAMETER (unknown mode), OUT_OF_MEMORY; *out is untouched on
 * error. Thread-safe. Since 1.0. */
FOCAL_API focal_status focal_loss_create(focal_loss **out, focal_mode mode);

/* A deep copy of src (the alpha vector included). Errors: NULL_POINTER,
 * OUT_OF_MEMORY; *out is untouched on error. Safe while other threads
 * compute with src. Since 1.0. */
FOCAL_API focal_status focal_loss_clone(const focal_loss *src, focal_loss **out);

/* Frees the context; NULL is a no-op. Since 1.0. */
FOCAL_API void focal_loss_destroy(focal_loss *loss);

/* Setters. Each returns NULL_POINTER for a NULL context and
 * INVALID_PARAMETER for a value outside its domain, leaving the context as
 * it was. A setter must not run while another thread uses the same context.
 * Since 1.0. */

/* gamma: finite and >= 0; default 2. gamma = 0 is cross-entropy. */
FOCAL_API focal_status focal_loss_set_gamma(focal_loss *loss, double gamma);
/* A scalar alpha, finite (any sign is accepted; the paper uses [0, 1]).
 * Softmax: alpha_t = alpha for every class. Sigmoid: alpha_t = alpha*y +
 * (1 - alpha)*(1 - y). Replaces an alpha vector. Default: no alpha. */
FOCAL_API focal_status focal_loss_set_alpha(focal_loss *loss, double alpha);
/* A per-class alpha (copied), count >= 1, every value finite. A compute
 * call with c != count fails with INVALID_SHAPE. Errors also: NULL_POINTER
 * (alpha NULL), INVALID_SHAPE (count < 1), OUT_OF_MEMORY. */
FOCAL_API focal_status focal_loss_set_alpha_vector(focal_loss *loss, const double *alpha, int64_t count);
/* Back to no alpha (alpha_t = 1). */
FOCAL_API focal_status focal_loss_clear_alpha(focal_loss *loss);
/* One of focal_reduction; default MEAN. */
FOCAL_API focal_status focal_loss_set_reduction(focal_loss *loss, focal_reduction r);
/* A target value meaning "ignore this position" (index targets only; any
 * int64 value, e.g. -100 as in PyTorch). Default: none. */
FOCAL_API focal_status focal_loss_set_ignore_index(focal_loss *loss, int64_t index);
FOCAL_API focal_status focal_loss_clear_ignore_index(focal_loss *loss);
/* One of focal_input; default LOGITS. */
FOCAL_API focal_status focal_loss_set_input(focal_loss *loss, focal_input kind);
/* The clipping bound for probabilities input, in (0, 0.5); default 1e-7
 * (Keras' epsilon). Inputs are clipped to [eps, 1 - eps] with both bounds
 * rounded to the input's type (as a float32 framework does) and kept
 * strictly inside (0, 1). */
FOCAL_API focal_status focal_loss_set_epsilon(focal_loss *loss, double eps);
/* Label smoothing in [0, 1); default 0. Softmax: y_c = (1 - ls)[c == t] +
 * ls / C. Sigmoid: y <- y (1 - ls) + ls / 2. */
FOCAL_API focal_status focal_loss_set_label_smoothing(focal_loss *loss, double eps);
/* One of focal_variant; default FL. */
FOCAL_API focal_status focal_loss_set_variant(focal_loss *loss, focal_variant v);
/* The FL* shift beta, finite; default 0. */
FOCAL_API focal_status focal_loss_set_beta(focal_loss *loss, double beta);
/* ASL's exponent of the negative term, gamma_negative: finite and >= 0;
 * default 4. (gamma is the positive term's.) Since 1.1. */
FOCAL_API focal_status focal_loss_set_gamma_negative(focal_loss *loss, double gamma);
/* ASL's probability margin: the negative term sees max(p - clip, 0); in
 * [0, 1); default 0.05. Since 1.1. */
FOCAL_API focal_status focal_loss_set_clip(focal_loss *loss, double clip);
/* Poly-1's epsilon (Leng et al. 2022): loss = FL + epsilon (1 - p_t)^(gamma
 * + 1), times the position weight; finite, any sign; default 0 (plain
 * FL). Variant FL only, softmax with index targets and no label smoothing,
 * sigmoid in the TORCHVISION form without pos_weight (INCOMPATIBLE at
 * compute otherwise). Since 1.1. */
FOCAL_API focal_status focal_loss_set_poly_epsilon(focal_loss *loss, double epsilon);
/* The divisor of FOCAL_REDUCTION_DIVISOR: finite and >= 0; default 1. A
 * data-parallel caller sets it to the count all-reduced over the ranks
 * (docs/distributed.md); 0 gives a zero loss and gradient. Since 1.1. */
FOCAL_API focal_status focal_loss_set_divisor(focal_loss *loss, double divisor);
/* One of focal_soft_form; default TORCHVISION. SPLIT is for sigmoid mode,
 * variant FL (INCOMPATIBLE at compute otherwise). Since 1.1. */
FOCAL_API focal_status focal_loss_set_soft_form(focal_loss *loss, focal_soft_form form);
/* A per-class weight of the positive term (copied), as BCEWithLogitsLoss's
 * pos_weight: count >= 1 (a compute call with c != count fails with
 * INVALID_SHAPE), every value finite and >= 0. Sigmoid mode, variant FL
 * (INCOMPATIBLE at compute otherwise). Errors also: NULL_POINTER (vector
 * NULL), INVALID_SHAPE (count < 1), OUT_OF_MEMORY. Since 1.1. */
FOCAL_API focal_status focal_loss_set_pos_weight_vector(focal_loss *loss, const double *pos_weight, int64_t count);
/* Back to no pos_weight (1 for every class). Since 1.1. */
FOCAL_API focal_status focal_loss_clear_pos_weight(focal_loss *loss);
/* Threads a compute call may use: >= 0, 0 = the library's default (the
 * CPUs this process may run on, from its affinity mask, limited by a
 * cgroup CPU quota where one is set). The threads belong to one pool,
 * created at the first call that shares its work and reused after; calls
 * too small to share run on the calling thread. Results are bitwise
 * identical for every value. */
FOCAL_API focal_status focal_loss_set_threads(focal_loss *loss, int threads);

/* Getters: *out receives the setting. Errors: NULL_POINTER (loss or out
 * NULL); nothing is written on error. Thread-safe with concurrent compute
 * calls. Since 1.0. */
FOCAL_API focal_status focal_loss_get_mode(const focal_loss *loss, focal_mode *out);
FOCAL_API focal_status focal_loss_get_gamma(const focal_loss *loss, double *out);
/* The scalar alpha. Errors also: INCOMPATIBLE when no scalar alpha is set
 * (none, or a vector). */
FOCAL_API focal_status focal_loss_get_alpha(const focal_loss *loss, double *out);
/* The alpha vector's length; 0 when no vector is set. */
FOCAL_API focal_status focal_loss_get_alpha_count(const focal_loss *loss, int64_t *out);
/* Copies the alpha vector into out[0..count). Errors also: INCOMPATIBLE
 * when no vector is set, INVALID_SHAPE when count differs from its length. */
FOCAL_API focal_status focal_loss_get_alpha_vector(const focal_loss *loss, double *out, int64_t count);
FOCAL_API focal_status focal_loss_get_reduction(const focal_loss *loss, focal_reduction *out);
/* The ignore index. Errors also: INCOMPATIBLE when none is set. */
FOCAL_API focal_status focal_loss_get_ignore_index(const focal_loss *loss, int64_t *out);
FOCAL_API focal_status focal_loss_get_input(const focal_loss *loss, focal_input *out);
FOCAL_API focal_status focal_loss_get_epsilon(const focal_loss *loss, double *out);
FOCAL_API focal_status focal_loss_get_label_smoothing(const focal_loss *loss, double *out);
FOCAL_API focal_status focal_loss_get_variant(const focal_loss *loss, focal_variant *out);
FOCAL_API focal_status focal_loss_get_beta(const focal_loss *loss, double *out);
FOCAL_API focal_status focal_loss_get_threads(const focal_loss *loss, int *out);
/* Since 1.1. */
FOCAL_API focal_status focal_loss_get_gamma_negative(const focal_loss *loss, double *out);
/* Since 1.1. */
FOCAL_API focal_status focal_loss_get_clip(const focal_loss *loss, double *out);
/* Since 1.1. */
FOCAL_API focal_status focal_loss_get_poly_epsilon(const focal_loss *loss, double *out);
/* Since 1.1. */
FOCAL_API focal_status focal_loss_get_divisor(const focal_loss *loss, double *out);
/* Since 1.1. */
FOCAL_API focal_status focal_loss_get_soft_form(const focal_loss *loss, focal_soft_form *out);
/* The pos_weight vector's length; 0 when none is set. Since 1.1. */
FOCAL_API focal_status focal_loss_get_pos_weight_count(const focal_loss *loss, int64_t *out);
/* Copies the pos_weight vector into out[0..count). Errors also:
 * INCOMPATIBLE when none is set, INVALID_SHAPE when count differs from its
 * length. Since 1.1. */
FOCAL_API focal_status focal_loss_get_pos_weight_vector(const focal_loss *loss, double *out, int64_t count);

/* ------------------------------------------------------------------------
 * Compute
 *
 * Tensors are dense and C-contiguous, described by n (outer), c (classes)
 * and inner (product of the spatial sizes): (N, C) is (N, C, 1); (N, C, H, W)
 * is (N, C, H*W); channels-last (N, H, W, C) is (N*H*W, C, 1). A position is
 * one (n, inner) pair; an element is one (n, c, inner) triple.
 *
 * input      (n, c, inner) logits or probabilities.
 * target     index: one int64 class per position, target[n*inner + s];
 *            dense: one value in [0, 1] per element, shaped like input.
 * weight     NULL, or one finite weight >= 0 per position (n*inner).
 * out        NONE: w * loss per position (softmax) or element (sigmoid),
 *            0 for ignored ones; otherwise one reduced value.
 * grad_out   the upstream gradient, shaped like out.
 * grad_input shaped like input: the gradient with respect to input.
 *
 * forward_backward computes the loss and the gradient of the reduced loss
 * (with NONE: of the sum of out) in one pass; out or grad_input may be
 * NULL to skip it. Buffers must not overlap.
 *
 * Empty tensors (since 1.1): n = 0 or inner = 0 (with c >= 1) is a valid
 * call: a reduced out is 0, NONE writes nothing, grad_input has no
 * elements. Settings and pointers are checked as for any call.
 *
 * Errors: NULL_POINTER (loss, input, target or a required output NULL;
 * grad_out NULL), INVALID_SHAPE (n or inner < 0, c < 1, n*c*inner or its
 * byte size overflows, alpha or pos_weight vector length != c),
 * INVALID_TARGET, INVALID_WEIGHT, INCOMPATIBLE (settings that do not fit
 * the mode or the call), OUT_OF_MEMORY. Everything is validated before the
 * first write. Thread-safe for concurrent calls sharing one context.
 * Since 1.0.
 * ------------------------------------------------------------------------ */

FOCAL_API focal_status focal_forward_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                         const float *input, const int64_t *target, const float *weight,
                                         float *out);
FOCAL_API focal_status focal_backward_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                          const float *input, const int64_t *target, const float *weight,
                                          const float *grad_out, float *grad_input);
FOCAL_API focal_status focal_forward_backward_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                  const float *input, const int64_t *target, const float *weight,
                                                  float *out, float *grad_input);

FOCAL_API focal_status focal_forward_dense_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                               const float *input, const float *target, const float *weight,
                                               float *out);
FOCAL_API focal_status focal_backward_dense_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                const float *input, const float *target, const float *weight,
                                                const float *grad_out, float *grad_input);
FOCAL_API focal_status focal_forward_backward_dense_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                        const float *input, const float *target, const float *weight,
                                                        float *out, float *grad_input);

FOCAL_API focal_status focal_forward_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                         const double *input, const int64_t *target, const double *weight,
                                         double *out);
FOCAL_API focal_status focal_backward_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                          const double *input, const int64_t *target, const double *weight,
                                          const double *grad_out, double *grad_input);
FOCAL_API focal_status focal_forward_backward_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                  const double *input, const int64_t *target, const double *weight,
                                                  double *out, double *grad_input);

FOCAL_API focal_status focal_forward_dense_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                               const double *input, const double *target, const double *weight,
                                               double *out);
FOCAL_API focal_status focal_backward_dense_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                const double *input, const double *target, const double *weight,
                                                const double *grad_out, double *grad_input);
FOCAL_API focal_status focal_forward_backward_dense_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                        const double *input, const double *target, const double *weight,
                                                        double *out, double *grad_input);

/* ------------------------------------------------------------------------
 * bfloat16 and float16 storage (since 1.1)
 *
 * The same twelve calls with every tensor (input, dense target, weight,
 * out, grad_out, grad_input) stored as bfloat16 (_bf16) or IEEE binary16
 * (_f16), passed as uint16_t bit patterns. The arithmetic is the float32
 * path's (in double); every stored result is rounded once, to nearest
 * even, NaN staying NaN. Results are finite for finite inputs unless the
 * exact result overflows the type (float16's largest is 65504), which then
 * rounds to infinity. Targets and weights are validated after widening,
 * as in float32. Errors and thread safety: as the float32 calls. Since 1.1.
 * ------------------------------------------------------------------------ */

FOCAL_API focal_status focal_forward_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                          const uint16_t *input, const int64_t *target, const uint16_t *weight,
                                          uint16_t *out);
FOCAL_API focal_status focal_backward_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                           const uint16_t *input, const int64_t *target, const uint16_t *weight,
                                           const uint16_t *grad_out, uint16_t *grad_input);
FOCAL_API focal_status focal_forward_backward_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                   const uint16_t *input, const int64_t *target,
                                                   const uint16_t *weight, uint16_t *out, uint16_t *grad_input);
FOCAL_API focal_status focal_forward_dense_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                const uint16_t *input, const uint16_t *target,
                                                const uint16_t *weight, uint16_t *out);
FOCAL_API focal_status focal_backward_dense_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                 const uint16_t *input, const uint16_t *target,
                                                 const uint16_t *weight, const uint16_t *grad_out,
                                                 uint16_t *grad_input);
FOCAL_API focal_status focal_forward_backward_dense_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                         const uint16_t *input, const uint16_t *target,
                                                         const uint16_t *weight, uint16_t *out, uint16_t *grad_input);

FOCAL_API focal_status focal_forward_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                         const uint16_t *input, const int64_t *target, const uint16_t *weight,
                                         uint16_t *out);
FOCAL_API focal_status focal_backward_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                          const uint16_t *input, const int64_t *target, const uint16_t *weight,
                                          const uint16_t *grad_out, uint16_t *grad_input);
FOCAL_API focal_status focal_forward_backward_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                  const uint16_t *input, const int64_t *target,
                                                  const uint16_t *weight, uint16_t *out, uint16_t *grad_input);
FOCAL_API focal_status focal_forward_dense_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                               const uint16_t *input, const uint16_t *target, const uint16_t *weight,
                                               uint16_t *out);
FOCAL_API focal_status focal_backward_dense_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                const uint16_t *input, const uint16_t *target,
                                                const uint16_t *weight, const uint16_t *grad_out,
                                                uint16_t *grad_input);
FOCAL_API focal_status focal_forward_backward_dense_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                        const uint16_t *input, const uint16_t *target,
                                                        const uint16_t *weight, uint16_t *out, uint16_t *grad_input);

/* ------------------------------------------------------------------------
 * Data-parallel training: the shard's counts (since 1.1)
 *
 * counts[0]  non-ignored positions (softmax) or elements (sigmoid)   MEAN
 * counts[1]  sum(w * alpha_t)                                        WEIGHTED_MEAN
 * counts[2]  positives P (sigmoid; 0 in softmax mode)                SUM_OVER_POSITIVES
 *
 * exactly the denominators, before any max(1, .), that a compute call with
 * the same settings and arguments uses. A caller all-reduces them over the
 * ranks, sets the divisor to the global figure and computes its shard with
 * FOCAL_REDUCTION_DIVISOR (docs/distributed.md). The settings, target and
 * weight are validated as a compute call validates them (same statuses and
 * detail messages); no input is read; only counts is written. Errors:
 * NULL_POINTER (loss, target or counts NULL), INVALID_SHAPE,
 * INVALID_TARGET, INVALID_WEIGHT, INCOMPATIBLE. Thread-safe for concurrent
 * calls sharing one context. Since 1.1.
 * ------------------------------------------------------------------------ */

FOCAL_API focal_status focal_counts_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                        const int64_t *target, const float *weight, double counts[3]);
FOCAL_API focal_status focal_counts_dense_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                              const float *target, const float *weight, double counts[3]);
FOCAL_API focal_status focal_counts_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                        const int64_t *target, const double *weight, double counts[3]);
FOCAL_API focal_status focal_counts_dense_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                              const double *target, const double *weight, double counts[3]);
/* bfloat16 and float16 dense targets and weights (uint16_t bit patterns). */
FOCAL_API focal_status focal_counts_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                         const int64_t *target, const uint16_t *weight, double counts[3]);
FOCAL_API focal_status focal_counts_dense_bf16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                               const uint16_t *target, const uint16_t *weight, double counts[3]);
FOCAL_API focal_status focal_counts_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                        const int64_t *target, const uint16_t *weight, double counts[3]);
FOCAL_API focal_status focal_counts_dense_f16(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                              const uint16_t *target, const uint16_t *weight, double counts[3]);

/* ------------------------------------------------------------------------
 * The gradient with respect to dense targets (since 1.1)
 *
 * grad_target (shaped like target) receives the gradient of
 * sum(grad_out * out) with respect to the dense targets (a reduced loss
 * has one grad_out value), for distillation and learned soft labels:
 * through the loss and through the denominators, WEIGHTED_MEAN's
 * sum(w alpha_t) and SUM_OVER_POSITIVES' max(1, P), whose derivative is
 * taken as 1 where P >= 1 and 0 where P < 1 (as torch.clamp(min=1)). With
 * label smoothing, with respect to the unsmoothed target. Both modes, every
 * variant and input kind. Errors: as focal_backward_dense_*. Thread-safe
 * for concurrent calls sharing one context. Since 1.1.
 * ------------------------------------------------------------------------ */

FOCAL_API focal_status focal_backward_target_dense_f32(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                       const float *input, const float *target, const float *weight,
                                                       const float *grad_out, float *grad_target);
FOCAL_API focal_status focal_backward_target_dense_f64(const focal_loss *loss, int64_t n, int64_t c, int64_t inner,
                                                       const double *input, const double *target, const double *weight,
                                                       const double *grad_out, double *grad_target);

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* The final-layer bias that makes a sigmoid output start at the prior
 * probability (the paper's pi = 0.01): *bias = log(prior / (1 - prior)).
 * Errors: NULL_POINTER (bias NULL), INVALID_PARAMETER (prior not in
 * (0, 1)). Thread-safe. Since 1.0. */
FOCAL_API focal_status focal_prior_bias(double prior, double *bias);

#ifdef __cplusplus
}
#endif

#endif /* FOCAL_FOCAL_H */
