/* Reshape: moves tiles between the (n, c, inner) layout and rows of c
 * classes. Planes with inner > 1 are transposed by OpenBLAS's out-of-place
 * matrix copy; with inner == 1 the rows are already contiguous. */
#include <limits.h>
#include <string.h>
#include <cblas.h>

#include "internal.h"

/* OpenBLAS takes blasint (32-bit in Debian's build): larger strides fall
 * back to a plain loop rather than being truncated. */
static int blas_fits(int64_t c, int64_t inner) { return c <= INT_MAX && inner <= INT_MAX; }

void focal_tile_load(enum focal_dtype dtype, const void *src, int64_t c, int64_t inner,
                     int64_t image, int64_t s0, int64_t rows, double *tile, void *stage)
{
    const int64_t base = focal_element(c, inner, image, s0, 0);
    const int64_t count = rows * c;
    if (inner == 1) {
        for (int64_t i = 0; i < count; i++)
            tile[i] = focal_load_scalar(dtype, src, base + i);
        return;
    }
    if (!blas_fits(c, inner)) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < c; j++)
                tile[r * c + j] = focal_load_scalar(dtype, src, base + j * inner + r);
        return;
    }
    /* A (c x rows) block with row stride inner becomes rows x c. */
    if (dtype == FOCAL_F64) {
        cblas_domatcopy(CblasRowMajor, CblasTrans, (blasint)c, (blasint)rows, 1.0,
                        (const double *)src + base, (blasint)inner, tile, (blasint)c);
        return;
    }
    float *f = stage;
    cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)c, (blasint)rows, 1.0f,
                    (const float *)src + base, (blasint)inner, f, (blasint)c);
    for (int64_t i = 0; i < count; i++)
        tile[i] = f[i];
}

void focal_tile_store(enum focal_dtype dtype, void *dst, int64_t c, int64_t inner,
                      int64_t image, int64_t s0, int64_t rows, const double *tile, void *stage)
{
    const int64_t base = focal_element(c, inner, image, s0, 0);
    const int64_t count = rows * c;
    if (inner == 1) {
        for (int64_t i = 0; i < count; i++)
            focal_store_scalar(dtype, dst, base + i, tile[i]);
        return;
    }
    if (!blas_fits(c, inner)) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < c; j++)
                focal_store_scalar(dtype, dst, base + j * inner + r, tile[r * c + j]);
        return;
    }
    if (dtype == FOCAL_F64) {
        cblas_domatcopy(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)c, 1.0, tile,
                        (blasint)c, (double *)dst + base, (blasint)inner);
        return;
    }
    float *f = stage;
    for (int64_t i = 0; i < count; i++)
        f[i] = (float)tile[i];
    cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)c, 1.0f, f, (blasint)c,
                    (float *)dst + base, (blasint)inner);
}

void focal_tile_load_f32(const float *src, int64_t c, int64_t inner, int64_t image, int64_t s0,
                         int64_t rows, float *tile)
{
    const int64_t base = focal_element(c, inner, image, s0, 0);
    if (inner > 1 && blas_fits(c, inner)) {
        cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)c, (blasint)rows, 1.0f, src + base,
                        (blasint)inner, tile, (blasint)c);
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++)
            tile[r * c + j] = src[inner == 1 ? base + r * c + j : base + j * inner + r];
}

void focal_tile_store_f32(float *dst, int64_t c, int64_t inner, int64_t image, int64_t s0,
                          int64_t rows, const float *tile)
{
    const int64_t base = focal_element(c, inner, image, s0, 0);
    if (inner > 1 && blas_fits(c, inner)) {
        cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)c, 1.0f, tile,
                        (blasint)c, dst + base, (blasint)inner);
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++)
            dst[inner == 1 ? base + r * c + j : base + j * inner + r] = tile[r * c + j];
}

/* Class-major float32 tiles (c runs of `rows` positions each) from the
 * rows of an inner == 1 tensor, transposed by OpenBLAS. (Planes of an
 * inner > 1 tensor are class-major already: the kernel reads them in
 * place.) */
void focal_tile_load_planes_f32(const float *src, int64_t c, int64_t inner, int64_t image,
                                int64_t s0, int64_t rows, float *tile)
{
    const int64_t base = focal_element(c, inner, image, s0, 0);
    if (blas_fits(c, rows)) {
        cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)c, 1.0f, src + base,
                        (blasint)c, tile, (blasint)rows);
        return;
    }
    for (int64_t k = 0; k < c; k++)
        for (int64_t r = 0; r < rows; r++)
            tile[k * rows + r] = src[base + r * c + k];
}

void focal_tile_store_planes_f32(float *dst, int64_t c, int64_t inner, int64_t image, int64_t s0,
                                 int64_t rows, const float *tile)
{
    const int64_t base = focal_element(c, inner, image, s0, 0);
    if (blas_fits(c, rows)) {
        cblas_somatcopy(CblasRowMajor, CblasTrans, (blasint)c, (blasint)rows, 1.0f, tile,
                        (blasint)rows, dst + base, (blasint)c);
        return;
    }
    for (int64_t k = 0; k < c; k++)
        for (int64_t r = 0; r < rows; r++)
            dst[base + r * c + k] = tile[k * rows + r];
}
