/* The AVX2+FMA tables: compiled with -mavx2 -mfma (src/CMakeLists.txt) and
 * used only when dispatch.c found both on the CPU. */
#include "simd/vec_avx2.h"
#define FOCAL_KERNELS_TABLES focal_kernels_avx2
#include "kernels/kernels_isa.h"
