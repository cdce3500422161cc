/* The reshape stage: moves tiles between the (n, c, inner) layout and the
 * layouts the kernels work in. The only user of OpenBLAS. */
#ifndef FOCAL_LAYOUT_H
#define FOCAL_LAYOUT_H

#include <stdint.h>

#include "plan.h"

/* dst (cols x rows, row stride dst_stride) = the transpose of src (rows x
 * cols, row stride src_stride), in the storage type dtype. */
void focal_transpose(focal_dtype dtype, const void *src, int64_t rows, int64_t cols, int64_t src_stride,
                     void *dst, int64_t dst_stride);

#endif /* FOCAL_LAYOUT_H */
