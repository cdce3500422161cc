/* The one tile driver: every pass of every kernel (the pre-pass included)
 * runs through focal_drive. */
#ifndef FOCAL_EXEC_DRIVER_H
#define FOCAL_EXEC_DRIVER_H

#include "kernels/kernels.h"
#include "plan.h"

/* The tiling of an (n, c, inner) tensor: a function of the shape alone. */
void focal_tiling_init(focal_tiling *t, int64_t n, int64_t c, int64_t inner);

/* Workers for a pass over `values` values with this tiling: 1 below the
 * size worth sharing, else the context's thread count (0: the pool's
 * default), at most one per chunk. */
int focal_workers_for(const focal_loss *loss, int64_t values, const focal_tiling *t);

/* Runs fn over every tile of plan->tiling on `workers` workers, each with
 * scratch_bytes of its own scratch, and combines the chunks' figures in
 * chunk order into *total: the same bits for every thread count. A chunk
 * stops at the first tile that reports a failure; the failure of the
 * lowest chunk is returned (total->status). Returns OUT_OF_MEMORY, before
 * fn ever runs, when the scratch cannot be allocated. */
focal_status focal_drive(const focal_plan *plan, focal_tile_fn fn, int workers, size_t scratch_bytes,
                         focal_sums *total);

#endif /* FOCAL_EXEC_DRIVER_H */
