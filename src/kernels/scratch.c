/* Scratch per worker for a tile of the main pass: the layouts' needs
 * (kernels_body.h), counted without overflow. */
#include <stdint.h>

#include "kernels/kernels.h"

static int mul(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }

size_t focal_kernels_scratch(const focal_plan *plan, int64_t rows)
{
    if (plan->sigmoid)
        return 0;
    const size_t c = (size_t)plan->a.c, lanes = (size_t)plan->k->lanes, esize = (size_t)plan->k->element_size;
    const int planes = focal_softmax_planes(plan->a.c, plan->a.inner);
    size_t rowbuf, tiles = 0;
    /* Class-major: exponentials, coefficients and quotients of a step, c
     * vectors each; rows: the same as c doubles each. */
    if (mul(3 * c, planes ? lanes * sizeof(double) : sizeof(double), &rowbuf))
        return 0;
    /* Transposed tiles of input, dense target and gradient. */
    if (planes == (plan->a.inner == 1)) {
        if (mul((size_t)rows, c, &tiles) || mul(tiles, 3 * esize, &tiles))
            return 0;
    }
    if (rowbuf > SIZE_MAX - tiles - 64)
        return 0;
    return rowbuf + tiles + 64;
}
