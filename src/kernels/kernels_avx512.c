/* The AVX-512 tables (F, BW, DQ, VL): compiled with those flags
 * (src/CMakeLists.txt) and used only when dispatch.c found them on the
 * CPU with the OS saving the ZMM and mask registers. */
#include "simd/vec_avx512.h"
#define FOCAL_KERNELS_TABLES focal_kernels_avx512
#include "kernels/kernels_isa.h"
