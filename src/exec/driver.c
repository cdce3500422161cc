/* The tile driver. Tiles hold `rows` positions of one image with all c
 * classes; they are grouped into at most FOCAL_MAX_CHUNKS chunks of
 * consecutive tiles. Both depend only on the shape. Each chunk is summed
 * in order, in double, by one worker; the chunks are combined in chunk
 * order. The thread count therefore decides which thread runs a chunk,
 * never how anything is summed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "exec/driver.h"
#include "exec/pool.h"

/* Elements per tile: a few tiles of doubles stay in L1 / L2. */
#define FOCAL_TILE_ELEMENTS 8192
/* Below this many values a pass runs on the calling thread alone. */
#define FOCAL_PARALLEL_MIN_VALUES (1 << 16)

void focal_tiling_init(focal_tiling *t, int64_t n, int64_t c, int64_t inner)
{
    if (n == 0 || inner == 0) {
        /* An empty tensor: no tile, no chunk. */
        *t = (focal_tiling){.rows = 1, .plane = 0, .tiles_per_plane = 1, .tiles = 0, .chunks = 0};
        return;
    }
    int64_t rows = FOCAL_TILE_ELEMENTS / c;
    if (rows < 1)
        rows = 1;
    /* Whole multiples of 16 positions, so that the class-major kernels'
     * vectors and the gradient's cache lines start on a boundary. */
    if (rows >= 32)
        rows &= ~(int64_t)15;
    t->plane = inner > 1 ? inner : n;
    if (rows > t->plane)
        rows = t->plane;
    t->rows = rows;
    t->tiles_per_plane = (t->plane + rows - 1) / rows;
    t->tiles = (inner > 1 ? n : 1) * t->tiles_per_plane;
    t->chunks = t->tiles < FOCAL_MAX_CHUNKS ? t->tiles : FOCAL_MAX_CHUNKS;
}

int focal_workers_for(const focal_loss *loss, int64_t values, const focal_tiling *t)
{
    if (values < FOCAL_PARALLEL_MIN_VALUES)
        return 1;
    int64_t threads = loss->threads > 0 ? loss->threads : focal_pool_default_threads();
    if (threads > t->chunks)
        threads = t->chunks;
    return threads < 1 ? 1 : (int)threads;
}

typedef struct drive_job {
    const focal_plan *plan;
    focal_tile_fn fn;
    char *scratch;
    size_t scratch_bytes;
    focal_sums *chunks;
} drive_job;

static void run_chunk(void *arg, int64_t chunk, int worker)
{
    const drive_job *job = arg;
    const focal_tiling *t = &job->plan->tiling;
    const int64_t inner = job->plan->a.inner, c = job->plan->a.c;
    /* A balanced split of tiles into chunks. */
    const int64_t q = t->tiles / t->chunks, r = t->tiles % t->chunks;
    const int64_t begin = chunk * q + (chunk < r ? chunk : r);
    const int64_t end = begin + q + (chunk < r ? 1 : 0);
    focal_sums *acc = &job->chunks[chunk];
    *acc = (focal_sums){.status = FOCAL_OK};
    void *scratch = job->scratch ? job->scratch + (size_t)worker * job->scratch_bytes : NULL;
    for (int64_t k = begin; k < end && acc->status == FOCAL_OK; k++) {
        focal_tile tile;
        tile.image = k / t->tiles_per_plane;
        tile.s0 = (k % t->tiles_per_plane) * t->rows;
        tile.rows = t->plane - tile.s0 < t->rows ? t->plane - tile.s0 : t->rows;
        tile.pos0 = tile.image * inner + tile.s0;
        tile.base = focal_element(c, inner, tile.image, tile.s0, 0);
        job->fn(job->plan, &tile, scratch, acc);
    }
}

focal_status focal_drive(const focal_plan *plan, focal_tile_fn fn, int workers, size_t scratch_bytes,
                         focal_sums *total)
{
    const focal_tiling *t = &plan->tiling;
    focal_sums chunks[FOCAL_MAX_CHUNKS];
    /* Scratch is cut into 64-byte aligned slices, one per worker. */
    scratch_bytes = (scratch_bytes + 63) & ~(size_t)63;
    char *block = NULL, *scratch = NULL;
    if (scratch_bytes > 0) {
        /* Beyond 2^40 bytes a worker the request cannot be met: refused
         * before asking malloc (which some allocators abort on). */
        if ((uint64_t)scratch_bytes > (UINT64_C(1) << 40) || scratch_bytes > (SIZE_MAX - 64) / (size_t)workers ||
            (block = malloc(scratch_bytes * (size_t)workers + 64)) == NULL)
            return focal_fail(FOCAL_ERROR_OUT_OF_MEMORY, "out of memory for %d tile buffers of %zu bytes",
                              workers, scratch_bytes);
        scratch = block + (64 - (uintptr_t)block % 64) % 64;
    }
    drive_job job = {plan, fn, scratch, scratch_bytes, chunks};
    if (workers > 1)
        focal_pool_run(workers, t->chunks, run_chunk, &job);
    else
        for (int64_t k = 0; k < t->chunks; k++)
            run_chunk(&job, k, 0);
    free(block);

    *total = (focal_sums){.status = FOCAL_OK};
    for (int64_t k = 0; k < t->chunks; k++) {
        if (chunks[k].status != FOCAL_OK) {
            *total = chunks[k];
            return chunks[k].status;
        }
        total->count += chunks[k].count;
        total->weight_alpha += chunks[k].weight_alpha;
        total->positives += chunks[k].positives;
        total->loss += chunks[k].loss;
        total->weight_max = fmax(total->weight_max, chunks[k].weight_max);
    }
    return FOCAL_OK;
}
