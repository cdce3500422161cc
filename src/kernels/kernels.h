/* The kernel tables: one per (instruction set, storage type), each filled
 * by kernels_<isa>.c from the same stage code (kernels_body.h). The
 * dispatcher hands out the tables of one instruction set per process. */
#ifndef FOCAL_KERNELS_H
#define FOCAL_KERNELS_H

#include <stdint.h>

#include "plan.h"

/* One tile of positions: [s0, s0 + rows) of image `image` (with inner ==
 * 1: rows s0.. of the (n, c) matrix, image 0). pos0 is the flat index of
 * its first position, base that of its first element. */
typedef struct focal_tile {
    int64_t image, s0, rows, pos0, base;
} focal_tile;

/* A tile function adds its tile's figures to *acc; a pre-pass tile that
 * finds a bad value sets acc->status and the bad_ fields instead. scratch
 * is the worker's own, plan->scratch_bytes long (or the pre-pass's). */
typedef void (*focal_tile_fn)(const focal_plan *plan, const focal_tile *tile, void *scratch, focal_sums *acc);

typedef struct focal_kernels {
    const char *isa;
    int lanes;
    int element_size;           /* bytes of the storage type */
    focal_tile_fn scan;         /* the pre-pass: targets and weights, the denominators' sums */
    focal_tile_fn softmax;      /* softmax mode, every setting */
    focal_tile_fn sigmoid;      /* sigmoid mode, every setting */
    focal_tile_fn target_grad;  /* the gradient with respect to dense targets, both modes */
    /* One value of the storage type, widened / rounded once. */
    double (*load1)(const void *p, int64_t i);
    void (*store1)(void *p, int64_t i, double v);
} focal_kernels;

/* Whether softmax works class-major, lanes across positions (its steps
 * keep c vectors of exponentials), or in rows of c: class-major for up to
 * 64 classes, and up to 256 where the planes are in place (inner > 1),
 * which then need no transposing. */
static inline int focal_softmax_planes(int64_t c, int64_t inner)
{
    return c <= 64 || (inner > 1 && c <= 256);
}

/* The tables of every instruction set this build has (NULL where it was
 * not compiled in), indexed by focal_dtype. */
extern const focal_kernels *const focal_kernels_scalar[FOCAL_DTYPES];
extern const focal_kernels *const focal_kernels_avx2[FOCAL_DTYPES];
extern const focal_kernels *const focal_kernels_avx512[FOCAL_DTYPES];

/* Scratch per worker that the softmax and sigmoid kernels need for a tile
 * of `rows` positions of c classes in this layout; 0 if it would not fit
 * in size_t. */
size_t focal_kernels_scratch(const focal_plan *plan, int64_t rows);

/* ---- dispatch.c -------------------------------------------------------- */

typedef enum focal_isa_level { FOCAL_ISA_SCALAR = 0, FOCAL_ISA_AVX2 = 1, FOCAL_ISA_AVX512 = 2 } focal_isa_level;

/* The level in use, chosen once per process. */
focal_isa_level focal_isa_current(void);
/* The table of the level in use for a storage type. */
const focal_kernels *focal_kernels_for(focal_dtype dtype);
/* The best level the CPU and OS support, ignoring FOCAL_MAX_ISA, and
 * whether this build has its tables: for tests that run every table. */
focal_isa_level focal_isa_supported(void);
/* Makes every later call use this level's tables (tests that compare the
 * tables in one process; the level must be supported and compiled in). */
void focal_isa_override(focal_isa_level level);
/* The tables of one level, or NULL when not compiled in. */
const focal_kernels *focal_kernels_of(focal_isa_level level, focal_dtype dtype);

#endif /* FOCAL_KERNELS_H */
