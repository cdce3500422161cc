/* The portable tables: the stage code with one-lane vectors, for every
 * CPU. */
#include "simd/vec_scalar.h"
#define FOCAL_KERNELS_TABLES focal_kernels_scalar
#include "kernels/kernels_isa.h"
