/* The reshape stage. A tile of `rows` positions is a (c x rows) block of
 * an (n, c, inner) tensor with row stride inner, or a (rows x c) block
 * of an inner == 1 tensor; the kernels that need the other orientation
 * (softmax rows over many classes; class-major work on an (n, c) matrix)
 * get a transposed copy. OpenBLAS's out-of-place matrix copy does it,
 * on the calling thread; its arguments are checked first (its xerbla only
 * prints) and must fit its blasint, which may be 32-bit: anything larger,
 * and blocks too small to be worth a library call, take a plain loop.
 * OpenBLAS has no 16-bit copy: the half types always take the loops. */
#include <limits.h>
#include <string.h>
#include <cblas.h>
#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#include "layout/layout.h"

/* Below this many elements the loop beats the call into OpenBLAS. */
#define FOCAL_BLAS_MIN_ELEMENTS 1024

static int blas_fits(int64_t rows, int64_t cols, int64_t src_stride, int64_t dst_stride)
{
    return rows <= INT_MAX && cols <= INT_MAX && src_stride <= INT_MAX && dst_stride <= INT_MAX &&
           rows * cols >= FOCAL_BLAS_MIN_ELEMENTS;
}

/* The plain loops walk the source rows and write down the destination's
 * columns: one load and one store an element. */
#define FOCAL_DEFINE_TRANSPOSE(NAME, T)                                                             \
    static void NAME(const T *src, int64_t rows, int64_t cols, int64_t ss, T *dst, int64_t ds)      \
    {                                                                                               \
        for (int64_t i = 0; i < rows; i++) {                                                        \
            const T *s = src + i * ss;                                                              \
            T *d = dst + i;                                                                         \
            for (int64_t j = 0; j < cols; j++, d += ds)                                             \
                *d = s[j];                                                                          \
        }                                                                                           \
    }
FOCAL_DEFINE_TRANSPOSE(transpose_loop_f32, float)
FOCAL_DEFINE_TRANSPOSE(transpose_loop_f64, double)
FOCAL_DEFINE_TRANSPOSE(transpose_loop_u16, uint16_t)

#if defined(__SSE2__)
/* Blocks of 4 x 4 floats (2 x 2 doubles) through the baseline x86-64
 * registers, the edges by the loop: a few instructions per block instead
 * of two per element, for the small tiles of small calls. */
static void transpose_f32(const float *src, int64_t rows, int64_t cols, int64_t ss, float *dst, int64_t ds)
{
    const int64_t r4 = rows & ~(int64_t)3, c4 = cols & ~(int64_t)3;
    for (int64_t i = 0; i < r4; i += 4)
        for (int64_t j = 0; j < c4; j += 4) {
            __m128 a = _mm_loadu_ps(src + i * ss + j), b = _mm_loadu_ps(src + (i + 1) * ss + j);
            __m128 c = _mm_loadu_ps(src + (i + 2) * ss + j), d = _mm_loadu_ps(src + (i + 3) * ss + j);
            _MM_TRANSPOSE4_PS(a, b, c, d);
            _mm_storeu_ps(dst + j * ds + i, a);
            _mm_storeu_ps(dst + (j + 1) * ds + i, b);
            _mm_storeu_ps(dst + (j + 2) * ds + i, c);
            _mm_storeu_ps(dst + (j + 3) * ds + i, d);
        }
    if (c4 < cols)
        transpose_loop_f32(src + c4, r4, cols - c4, ss, dst + c4 * ds, ds);
    if (r4 < rows)
        transpose_loop_f32(src + r4 * ss, rows - r4, cols, ss, dst + r4, ds);
}

static void transpose_f64(const double *src, int64_t rows, int64_t cols, int64_t ss, double *dst, int64_t ds)
{
    const int64_t r2 = rows & ~(int64_t)1, c2 = cols & ~(int64_t)1;
    for (int64_t i = 0; i < r2; i += 2)
        for (int64_t j = 0; j < c2; j += 2) {
            const __m128d a = _mm_loadu_pd(src + i * ss + j), b = _mm_loadu_pd(src + (i + 1) * ss + j);
            _mm_storeu_pd(dst + j * ds + i, _mm_unpacklo_pd(a, b));
            _mm_storeu_pd(dst + (j + 1) * ds + i, _mm_unpackhi_pd(a, b));
        }
    if (c2 < cols)
        transpose_loop_f64(src + c2, r2, cols - c2, ss, dst + c2 * ds, ds);
    if (r2 < rows)
        transpose_loop_f64(src + r2 * ss, rows - r2, cols, ss, dst + r2, ds);
}
/* The half types, 8 x 8 blocks of 16-bit lanes: three rounds of
 * interleaving (16-, 32-, then 64-bit pieces) take row i's element j to
 * row j's element i. */
static void transpose_u16(const uint16_t *src, int64_t rows, int64_t cols, int64_t ss, uint16_t *dst, int64_t ds)
{
    const int64_t r8 = rows & ~(int64_t)7, c8 = cols & ~(int64_t)7;
    for (int64_t i = 0; i < r8; i += 8)
        for (int64_t j = 0; j < c8; j += 8) {
            __m128i r[8], t[8], u[8];
            for (int k = 0; k < 8; k++)
                r[k] = _mm_loadu_si128((const __m128i *)(const void *)(src + (i + k) * ss + j));
            for (int k = 0; k < 4; k++) {
                t[2 * k] = _mm_unpacklo_epi16(r[2 * k], r[2 * k + 1]);
                t[2 * k + 1] = _mm_unpackhi_epi16(r[2 * k], r[2 * k + 1]);
            }
            /* t[2k] holds rows 2k, 2k+1 of columns 0-3, t[2k+1] columns 4-7. */
            for (int h = 0; h < 2; h++)
                for (int q = 0; q < 2; q++) {
                    u[4 * h + 2 * q] = _mm_unpacklo_epi32(t[4 * q + h], t[4 * q + 2 + h]);
                    u[4 * h + 2 * q + 1] = _mm_unpackhi_epi32(t[4 * q + h], t[4 * q + 2 + h]);
                }
            /* u[4h + 2q + s] holds rows 4q..4q+3 of columns 4h + 2s, 4h + 2s + 1. */
            for (int h = 0; h < 2; h++)
                for (int s2 = 0; s2 < 2; s2++) {
                    const __m128i a = u[4 * h + s2], b = u[4 * h + 2 + s2];
                    const int64_t col = j + 4 * h + 2 * s2;
                    _mm_storeu_si128((__m128i *)(void *)(dst + col * ds + i), _mm_unpacklo_epi64(a, b));
                    _mm_storeu_si128((__m128i *)(void *)(dst + (col + 1) * ds + i), _mm_unpackhi_epi64(a, b));
                }
        }
    if (c8 < cols)
        transpose_loop_u16(src + c8, r8, cols - c8, ss, dst + c8 * ds, ds);
    if (r8 < rows)
        transpose_loop_u16(src + r8 * ss, rows - r8, cols, ss, dst + r8, ds);
}
#else
#  define transpose_f32 transpose_loop_f32
#  define transpose_f64 transpose_loop_f64
#  define transpose_u16 transpose_loop_u16
#endif

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
    case FOCAL_BF16:
    case FOCAL_F16:
        transpose_u16(src, rows, cols, src_stride, dst, dst_stride);
        return;
    }
}
