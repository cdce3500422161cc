/*
 * mpi_shards: the focal loss of one global batch computed by several MPI
 * ranks, each holding a shard of the batch's rows (data-parallel training).
 *
 * The loss of the whole batch is normalised by a count over the whole
 * batch: the non-ignored samples (MEAN), the sum of weight * alpha_t
 * (WEIGHTED_MEAN) or the positives (SUM_OVER_POSITIVES: RetinaNet's
 * normaliser, mmdetection's avg_factor, DETR's num_boxes). No rank can
 * count that from its own shard, so every rank
 *
 *   1. computes its shard's counts with focal_counts_*,
 *   2. sums them over the ranks with MPI_Allreduce,
 *   3. sets the divisor to the global count (max(1, P) for positives), and
 *   4. computes its shard's loss and gradient with FOCAL_REDUCTION_DIVISOR.
 *
 * Each rank then holds exactly its share of the single-process result: the
 * ranks' losses add up to the loss of the whole batch, and their gradients,
 * side by side, are its gradient. That is the convention for code that sums
 * the parameters' gradients over the ranks (MPI_Allreduce with MPI_SUM); a
 * framework that averages them, as PyTorch DDP does, wants the divisor
 * global count / world size instead (docs/distributed.md).
 *
 * The program runs the softmax loss (classification: index targets, some
 * samples ignored, an alpha per class) and the sigmoid loss (detection:
 * one-hot targets per anchor, alpha 0.25), float64, with a weight per
 * sample or anchor, under MEAN, WEIGHTED_MEAN and SUM_OVER_POSITIVES
 * (sigmoid only), on two batches: a full one, shared unevenly between the
 * ranks, and the short last batch of an epoch, which leaves some ranks with
 * no rows at all (n = 0 is a valid call since libfocal 1.1). Rank 0 then
 * checks every result against one single-process call over the whole batch
 * with the ordinary reduction and prints how far apart they are.
 *
 * Build: mpicc mpi_shards.c $(pkg-config --cflags --libs focal) -lm -o mpi_shards
 * Run:   mpirun -np 3 ./mpi_shards
 * Exit status: 0 when every result matches to 1e-12 (relative), 1 when one
 * does not, 2 when a call fails (MPI_Abort ends every rank).
 *
 * SPDX-License-Identifier: MIT
 */
#include <focal/focal.h>

#include <mpi.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* How close the distributed result must be to the single-process one: the
 * two differ only in the order of a few floating-point sums. */
static const double tolerance = 1e-12;

enum { IGNORE = -100 };   /* the softmax targets' ignore_index, as PyTorch's */

/* ------------------------------------------------------------------------
 * Errors
 *
 * Every rank must take part in every collective call: a rank that merely
 * returned after an error would leave the others waiting in MPI_Allreduce
 * forever. MPI_Abort ends them all.
 * ------------------------------------------------------------------------ */

static void check(focal_status s, const char *call)
{
    if (s != FOCAL_OK) {
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr, "mpi_shards: rank %d: %s failed: %s (%s)\n", rank, call, focal_status_string(s),
                focal_last_error());
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

static void check_mpi(int rc, const char *call)
{
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "mpi_shards: %s failed (%d)\n", call, rc);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

static void *xcalloc(int64_t count, size_t size)
{
    /* At least one element: an empty shard's buffers must still be valid,
     * non-NULL pointers (libfocal checks them as for any call). */
    void *p = calloc(count > 0 ? (size_t)count : 1, size);
    if (p == NULL) {
        fprintf(stderr, "mpi_shards: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return p;
}

/* ------------------------------------------------------------------------
 * Batches and shards
 * ------------------------------------------------------------------------ */

/* A batch of (n, c, inner) logits, row-major, with one weight per position
 * (n * inner) and either index targets (one class per position) or dense
 * targets (one value per element, shaped like the logits). */
typedef struct {
    int64_t n, c, inner;
    double *input;
    int64_t *index;   /* softmax here; NULL when the targets are dense */
    double *dense;    /* sigmoid here; NULL when the targets are indices */
    double *weight;
} batch;

/* Rows [first, first + rows) of `all`, in place. The pointers stay valid
 * and non-NULL for rows = 0 (at most one past the end of the buffers). */
static batch rows_of(const batch *all, int64_t first, int64_t rows)
{
    const int64_t row = all->c * all->inner;
    batch b = *all;
    b.n = rows;
    b.input = all->input + first * row;
    b.index = all->index != NULL ? all->index + first * all->inner : NULL;
    b.dense = all->dense != NULL ? all->dense + first * row : NULL;
    b.weight = all->weight + first * all->inner;
    return b;
}

/* The rows rank `rank` of `size` holds of an n-row batch: [*first, *first +
 * *rows). The shares are uneven on purpose, in proportion 1 : 2 : 3 ...
 * (as a sampler that groups images by size might hand them out), and a
 * batch shorter than the world leaves the first ranks with no rows. */
static void shard_of(int64_t n, int rank, int size, int64_t *first, int64_t *rows)
{
    const int64_t parts = (int64_t)size * (size + 1) / 2;
    const int64_t lo = n * ((int64_t)rank * (rank + 1) / 2) / parts;
    const int64_t hi = n * ((int64_t)(rank + 1) * (rank + 2) / 2) / parts;
    *first = lo;
    *rows = hi - lo;
}

/* ------------------------------------------------------------------------
 * The data-parallel step: the part to copy
 * ------------------------------------------------------------------------ */

/* This rank's share of the loss and of its gradient with respect to the
 * shard's logits, under `reduction` (MEAN, WEIGHTED_MEAN or
 * SUM_OVER_POSITIVES) taken over the global batch that the ranks of `comm`
 * hold between them. `loss` carries every other setting; this function sets
 * its divisor and its reduction (DIVISOR). Every rank of `comm` must call
 * it, an empty shard included. */
static void shard_forward_backward(focal_loss *loss, focal_reduction reduction, const batch *shard, MPI_Comm comm,
                                   double *value, double *grad)
{
    /* 1. The shard's denominators, from its targets and weights alone:
     *    counts[0] non-ignored positions (softmax) or elements (sigmoid),
     *    counts[1] the sum of w * alpha_t, counts[2] the positives P.
     *    Count with the ordinary reduction set: libfocal 1.1.0 sums
     *    w * alpha_t only when the reduction is WEIGHTED_MEAN and reports
     *    counts[1] = 0 under any other, DIVISOR included. */
    check(focal_loss_set_reduction(loss, reduction), "focal_loss_set_reduction");
    double counts[3];
    if (shard->index != NULL)
        check(focal_counts_f64(loss, shard->n, shard->c, shard->inner, shard->index, shard->weight, counts),
              "focal_counts_f64");
    else
        check(focal_counts_dense_f64(loss, shard->n, shard->c, shard->inner, shard->dense, shard->weight, counts),
              "focal_counts_dense_f64");

    /* 2. The global batch's, summed over the ranks in double (a float sum
     *    of many weights would drop digits). An empty shard adds zeros. */
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, counts, 3, MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce");

    /* 3. The divisor. The clamp max(1, P) applies to the global number of
     *    positives, as a single process applies it to its batch: a shard
     *    without positives is normal and must not be clamped on its own. A
     *    zero count (every sample ignored) needs no clamp: libfocal then
     *    gives a zero loss and gradient, as the single process does. */
    double divisor;
    switch (reduction) {
    case FOCAL_REDUCTION_MEAN:
        divisor = counts[0];
        break;
    case FOCAL_REDUCTION_WEIGHTED_MEAN:
        divisor = counts[1];
        break;
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES:
        divisor = fmax(1.0, counts[2]);
        break;
    default:
        fprintf(stderr, "mpi_shards: reduction %d has no global count\n", (int)reduction);
        MPI_Abort(comm, 2);
        return;
    }
    /* With PyTorch DDP, or any framework that averages the gradients over
     * the ranks: divisor / world size here (docs/distributed.md). */
    check(focal_loss_set_divisor(loss, divisor), "focal_loss_set_divisor");
    check(focal_loss_set_reduction(loss, FOCAL_REDUCTION_DIVISOR), "focal_loss_set_reduction");

    /* 4. The shard's sum of w * loss over the global divisor, and its
     *    gradient. */
    if (shard->index != NULL)
        check(focal_forward_backward_f64(loss, shard->n, shard->c, shard->inner, shard->input, shard->index,
                                         shard->weight, value, grad),
              "focal_forward_backward_f64");
    else
        check(focal_forward_backward_dense_f64(loss, shard->n, shard->c, shard->inner, shard->input, shard->dense,
                                               shard->weight, value, grad),
              "focal_forward_backward_dense_f64");
}

/* ------------------------------------------------------------------------
 * Data: every rank generates the whole batch from the same seed (a real
 * program would load only its own shard) so that rank 0 can also compute
 * the single-process result. splitmix64 makes it the same everywhere.
 * ------------------------------------------------------------------------ */

static uint64_t next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state)   /* [0, 1) */
{
    return (double)(next(state) >> 11) * 0x1p-53;
}

/* Classification: n samples over c classes; one in eight ignored, one in
 * eight weighted 0, the others weighted in [0.5, 2). */
static batch make_softmax(int64_t n, int64_t c, uint64_t seed)
{
    batch b = {.n = n, .c = c, .inner = 1};
    b.input = xcalloc(n * c, sizeof *b.input);
    b.index = xcalloc(n, sizeof *b.index);
    b.weight = xcalloc(n, sizeof *b.weight);
    for (int64_t i = 0; i < n; i++) {
        b.index[i] = next(&seed) % 8 == 0 ? IGNORE : (int64_t)(next(&seed) % (uint64_t)c);
        b.weight[i] = next(&seed) % 8 == 0 ? 0.0 : 0.5 + 1.5 * uniform(&seed);
        for (int64_t j = 0; j < c; j++)
            b.input[i * c + j] = 6.0 * uniform(&seed) - 3.0;
    }
    return b;
}

/* Detection: n images of `anchors` anchors over c classes, logits
 * (n, c, anchors) leaning to background as a trained head's do; about one
 * anchor in ten is an object's, of a random class (a one-hot target);
 * anchors in the ignored band between foreground and background get weight
 * 0, the others weights in [0.5, 1.5). `objects` 0 makes images without
 * any object. */
static batch make_sigmoid(int64_t n, int64_t c, int64_t anchors, int objects, uint64_t seed)
{
    batch b = {.n = n, .c = c, .inner = anchors};
    b.input = xcalloc(n * c * anchors, sizeof *b.input);
    b.dense = xcalloc(n * c * anchors, sizeof *b.dense);
    b.weight = xcalloc(n * anchors, sizeof *b.weight);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t a = 0; a < anchors; a++) {
            if (objects && next(&seed) % 10 == 0)
                b.dense[(i * c + (int64_t)(next(&seed) % (uint64_t)c)) * anchors + a] = 1.0;
            b.weight[i * anchors + a] = next(&seed) % 10 == 0 ? 0.0 : 0.5 + uniform(&seed);
        }
        for (int64_t e = 0; e < c * anchors; e++)
            b.input[i * c * anchors + e] = 7.0 * uniform(&seed) - 5.5;
    }
    return b;
}

static void free_batch(batch *b)
{
    free(b->input);
    free(b->index);
    free(b->dense);
    free(b->weight);
}

/* ------------------------------------------------------------------------
 * The check against one process
 * ------------------------------------------------------------------------ */

static const char *reduction_name(focal_reduction r)
{
    switch (r) {
    case FOCAL_REDUCTION_MEAN:
        return "MEAN";
    case FOCAL_REDUCTION_WEIGHTED_MEAN:
        return "WEIGHTED_MEAN";
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES:
        return "SUM_OVER_POSITIVES";
    default:
        return "?";
    }
}

/* |got - want| / |want|, 0 when both are 0. */
static double relative(double got, double want)
{
    if (got == want)
        return 0.0;
    return want != 0.0 ? fabs(got - want) / fabs(want) : INFINITY;
}

/* Sums the ranks' losses and gathers their gradients on rank 0, which
 * compares them with one call over the whole batch under `reduction`
 * itself. Returns, on rank 0, the larger of the two relative differences
 * (the loss's, and the worst of the gradient's elements). */
static double compare(const focal_loss *settings, focal_reduction reduction, const batch *all, double value,
                      const double *grad, int rank, int size, const char *label)
{
    const int64_t row = all->c * all->inner;
    int64_t first, rows;
    shard_of(all->n, rank, size, &first, &rows);

    double total = 0;
    check_mpi(MPI_Reduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD), "MPI_Reduce");

    int *counts = NULL, *displs = NULL;
    double *gathered = NULL;
    if (rank == 0) {
        counts = xcalloc(size, sizeof *counts);
        displs = xcalloc(size, sizeof *displs);
        gathered = xcalloc(all->n * row, sizeof *gathered);
        for (int r = 0; r < size; r++) {
            int64_t f, k;
            shard_of(all->n, r, size, &f, &k);
            counts[r] = (int)(k * row);
            displs[r] = (int)(f * row);
        }
    }
    check_mpi(MPI_Gatherv(grad, (int)(rows * row), MPI_DOUBLE, gathered, counts, displs, MPI_DOUBLE, 0,
                          MPI_COMM_WORLD),
              "MPI_Gatherv");
    if (rank != 0)
        return 0.0;

    focal_loss *single = NULL;
    check(focal_loss_clone(settings, &single), "focal_loss_clone");
    check(focal_loss_set_reduction(single, reduction), "focal_loss_set_reduction");
    double want = 0;
    double *want_grad = xcalloc(all->n * row, sizeof *want_grad);
    if (all->index != NULL)
        check(focal_forward_backward_f64(single, all->n, all->c, all->inner, all->input, all->index, all->weight,
                                         &want, want_grad),
              "focal_forward_backward_f64");
    else
        check(focal_forward_backward_dense_f64(single, all->n, all->c, all->inner, all->input, all->dense,
                                               all->weight, &want, want_grad),
              "focal_forward_backward_dense_f64");
    focal_loss_destroy(single);

    const double loss_diff = relative(total, want);
    double grad_diff = 0;
    for (int64_t e = 0; e < all->n * row; e++)
        grad_diff = fmax(grad_diff, relative(gathered[e], want_grad[e]));

    char split[96];
    int used = 0;
    for (int r = 0; r < size && used < (int)sizeof split; r++)
        used += snprintf(split + used, sizeof split - (size_t)used, "%s%d", r ? "+" : "", counts[r] / (int)row);
    const double worst = fmax(loss_diff, grad_diff);
    printf("%-8s %-19s %-6s batch, %2" PRId64 " rows as %-8s loss %.15f vs %.15f: rel. diff %.1e; "
           "gradient (%4" PRId64 " values) worst rel. diff %.1e  %s\n",
           all->index != NULL ? "softmax" : "sigmoid", reduction_name(reduction), label, all->n, split, total, want,
           loss_diff, all->n * row, grad_diff, worst <= tolerance ? "ok" : "MISMATCH");
    free(want_grad);
    free(gathered);
    free(displs);
    free(counts);
    return worst;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    check_mpi(MPI_Init(&argc, &argv), "MPI_Init");
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0)
        printf("mpi_shards: %d ranks, libfocal %s (%s kernels), float64, tolerance %.0e relative\n", size,
               focal_version_string(), focal_isa(), tolerance);

    /* The settings of each mode; the reduction is the step's to set. */
    const double class_alpha[5] = {0.10, 0.40, 0.25, 0.15, 0.10};
    focal_loss *softmax = NULL, *sigmoid = NULL;
    check(focal_loss_create(&softmax, FOCAL_MODE_SOFTMAX), "focal_loss_create");
    check(focal_loss_set_gamma(softmax, 2.0), "focal_loss_set_gamma");
    check(focal_loss_set_alpha_vector(softmax, class_alpha, 5), "focal_loss_set_alpha_vector");
    check(focal_loss_set_ignore_index(softmax, IGNORE), "focal_loss_set_ignore_index");
    check(focal_loss_create(&sigmoid, FOCAL_MODE_SIGMOID), "focal_loss_create");
    check(focal_loss_set_gamma(sigmoid, 2.0), "focal_loss_set_gamma");
    check(focal_loss_set_alpha(sigmoid, 0.25), "focal_loss_set_alpha");

    static const focal_reduction reductions[] = {FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_WEIGHTED_MEAN,
                                                 FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    /* A full batch, then the epoch's short last one: 2 samples, or 1 image
     * without objects (P = 0: the divisor is max(1, 0) = 1). */
    static const struct {
        const char *label;
        int64_t samples, images;
        int objects;
    } batches[] = {{"full", 37, 7, 1}, {"last", 2, 1, 0}};

    double worst = 0;
    int checks = 0;
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        for (int mode = 0; mode < 2; mode++) {
            focal_loss *loss = mode == 0 ? softmax : sigmoid;
            batch all = mode == 0 ? make_softmax(batches[k].samples, 5, 1000 + k)
                                  : make_sigmoid(batches[k].images, 4, 45, batches[k].objects, 2000 + k);
            int64_t first, rows;
            shard_of(all.n, rank, size, &first, &rows);
            const batch shard = rows_of(&all, first, rows);
            double *grad = xcalloc(rows * all.c * all.inner, sizeof *grad);

            for (size_t r = 0; r < sizeof reductions / sizeof reductions[0]; r++) {
                if (mode == 0 && reductions[r] == FOCAL_REDUCTION_SUM_OVER_POSITIVES)
                    continue;   /* sigmoid mode only */
                double value = 0;
                shard_forward_backward(loss, reductions[r], &shard, MPI_COMM_WORLD, &value, grad);
                const double diff = compare(loss, reductions[r], &all, value, grad, rank, size, batches[k].label);
                worst = fmax(worst, diff);
                checks++;
            }
            free(grad);
            free_batch(&all);
        }
    }

    /* Rank 0's verdict becomes every rank's exit status. */
    int failed = rank == 0 && !(worst <= tolerance);
    check_mpi(MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
    if (rank == 0)
        printf("mpi_shards: %d checks on %d ranks, worst relative difference %.1e: %s\n", checks, size, worst,
               failed ? "FAILED" : "all match");

    focal_loss_destroy(sigmoid);
    focal_loss_destroy(softmax);
    MPI_Finalize();
    return failed ? 1 : 0;
}
