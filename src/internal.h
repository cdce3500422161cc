/* Internal declarations shared by the API files (context, status, version,
 * compute), the plan and the dispatcher. Nothing here is part of the ABI:
 * every symbol is hidden by -fvisibility=hidden and the linker version
 * script. */
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
    double divisor;           /* FOCAL_REDUCTION_DIVISOR's (since 1.1) */
    double gamma_negative;    /* ASL */
    double clip;              /* ASL */
    double poly_epsilon;      /* Poly-1 */
    focal_soft_form soft_form;
    double *pos_weight;       /* owned, pos_weight_count values, or NULL */
    int64_t pos_weight_count;
};

#endif /* FOCAL_INTERNAL_H */
