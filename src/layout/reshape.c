/* The reshape stage. A tile of `rows` positions is a (c x rows) block of
 * an (n, c, inner) tensor with row stride inner, or a (rows x c) block
 * of an inner == 1 tensor; the kernels that need the other orientation
 * (softmax rows over many classes; class-major work on an (n, c) matrix)
 * get a transposed copy. OpenBLAS's out-of-place matrix copy does it,
 * on the calling thread; its arguments are checked first (its xerbla only
 * prints) and must fit its blasint, which may be 32-bit: anything larger,
 * and blocks too small to be worth a library call, take a plain loop. */
#include <limits.h>
#include <string.h>
#include <cblas.h>

#include "layout/layout.h"

/* Below this many elements the loop beats the call into OpenBLAS. */
#define FOCAL_BLAS_MIN_ELEMENTS 1024

static int blas_fits(int64_t rows, int64_t cols, int64_t src_stride, int64_t dst_stride)
{
    return rows <= INT_MAX && cols <= INT_MAX && src_stride <= INT_MAX && dst_stride <= INT_MAX &&
           rows * cols >= FOCAL_BLAS_MIN_ELEMENTS;
}

#define FOCAL_DEFINE_TRANSPOSE(NAME, T)                                                             \
    static void NAME(const T *src, int64_t rows, int64_t cols, int64_t ss, T *dst, int64_t ds)      \
    {                                                                                               \
        for (int64_t i = 0; i < rows; i++)                                                          \
            for (int64_t j = 0; j < cols; j++)                                                      \
                dst[j * ds + i] = src[i * ss + j];                                                  \
    }
FOCAL_DEFINE_TRANSPOSE(transpose_f32, float)
FOCAL_DEFINE_TRANSPOSE(transpose_f64, double)

void focal_transpose(focal_dtype dtype, const void *src, int64_t rows, int64_t cols, int64_t src_stride,
                     void *dst, int64_t dst_stride)
{
    const int blas = blas_fits(rows, cols, src_stride, dst_stride);
    switch (dtype) {
    case FOCAL_F32:
        if (blas)
            cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)cols, 1.0f, src,
                            (blasint)src_stride, dst, (blasint)dst_stride);
        else
            transpose_f32(src, rows, cols, src_stride, dst, dst_stride);
        return;
    case FOCAL_F64:
        if (blas)
            cblas_domatcopy(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)cols, 1.0, src,
                            (blasint)src_stride, dst, (blasint)dst_stride);
        else
            transpose_f64(src, rows, cols, src_stride, dst, dst_stride);
        return;
    }
}
