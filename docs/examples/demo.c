/*
 * focal_demo: cross-entropy versus focal loss on an imbalanced problem.
 *
 * A softmax-regression classifier (logits = X W + b, computed with OpenBLAS)
 * is trained twice on the same generated data, from the same initial weights
 * and with the same mini-batch order and optimiser: once with libfocal set to
 * gamma = 0 and no alpha (plain cross-entropy), once with gamma = 2 and a
 * per-class alpha. Both runs are then scored on a held-out test set drawn
 * from the same distribution.
 *
 * What to expect: alpha moves the rare class's decision threshold, so its
 * recall rises a lot and its precision falls. Its average precision, which
 * does not depend on a threshold, rises because the focal run learns the
 * rare class faster within the fixed budget of EPOCHS epochs; trained for
 * several times longer, cross-entropy catches up.
 *
 * Usage: focal_demo [seed]
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <focal/focal.h>

#include <cblas.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    DIM = 24,        /* features */
    NCLASS = 3,      /* 0 common, 1 medium, 2 rare */
    RARE = 2,
    BATCH = 256,
    EPOCHS = 10
};

static const char *const class_name[NCLASS] = {"common", "medium", "rare"};
static const int64_t class_count[NCLASS] = {20000, 2000, 200};

static const float learning_rate = 0.01f;

/* ------------------------------------------------------------------------
 * Error handling
 * ------------------------------------------------------------------------ */

static void check(focal_status s, const char *call)
{
    if (s != FOCAL_OK) {
        fprintf(stderr, "focal_demo: %s failed: %s (%s)\n", call, focal_status_string(s),
                focal_last_error());
        exit(EXIT_FAILURE);
    }
}

static void *xmalloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p == NULL) {
        fprintf(stderr, "focal_demo: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

/* ------------------------------------------------------------------------
 * Random numbers: splitmix64 and Box-Muller, so the data are the same on
 * every platform and C library.
 * ------------------------------------------------------------------------ */

typedef struct {
    uint64_t state;
    int has_spare;
    double spare;
} rng;

static rng rng_make(uint64_t seed)
{
    rng r = {seed, 0, 0.0};
    return r;
}

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_uniform(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n); exact enough for n far below 2^53. */
static size_t rng_below(rng *r, size_t n)
{
    return (size_t)(rng_uniform(r) * (double)n);
}

static double rng_normal(rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = 1.0 - rng_uniform(r); /* (0, 1]: log(u1) is finite */
    double u2 = rng_uniform(r);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 6.283185307179586 * u2;
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

/* ------------------------------------------------------------------------
 * The data set
 *
 * Every class is a mixture of Gaussian blobs with identity covariance in DIM
 * dimensions; only the first four coordinates of the means are non-zero, the
 * other features are pure noise. The rare class overlaps a small, hard part
 * of the common class; most common samples are easy.
 * ------------------------------------------------------------------------ */

typedef struct {
    int cls;
    double share; /* fraction of the class's samples */
    double mean[4];
} blob;

static const blob blobs[] = {
    {0, 0.95, {-4.0, 0.0, 0.0, 0.0}},
    {0, 0.05, {2.0, 0.0, 0.0, 0.0}},
    {1, 1.00, {0.0, 3.5, 0.0, 0.0}},
    {2, 1.00, {0.0, 0.0, 2.0, 2.0}},
};

typedef struct {
    size_t n;
    float *x;      /* n x DIM, row-major */
    int64_t *y;    /* n */
} dataset;

static void dataset_generate(dataset *d, rng *r)
{
    size_t total = 0;
    for (int c = 0; c < NCLASS; c++) {
        total += (size_t)class_count[c];
    }
    d->n = total;
    d->x = xmalloc(total * DIM, sizeof *d->x);
    d->y = xmalloc(total, sizeof *d->y);

    size_t row = 0;
    for (int c = 0; c < NCLASS; c++) {
        for (int64_t k = 0; k < class_count[c]; k++, row++) {
            /* Pick one of the class's blobs by its share. */
            double u = rng_uniform(r);
            const blob *b = NULL;
            for (size_t j = 0; j < sizeof blobs / sizeof blobs[0]; j++) {
                if (blobs[j].cls != c) {
                    continue;
                }
                b = &blobs[j];
                if (u < blobs[j].share) {
                    break;
                }
                u -= blobs[j].share;
            }
            float *x = d->x + row * DIM;
            for (int f = 0; f < DIM; f++) {
                double m = f < 4 ? b->mean[f] : 0.0;
                x[f] = (float)(m + rng_normal(r));
            }
            d->y[row] = c;
        }
    }
}

static void dataset_free(dataset *d)
{
    free(d->x);
    free(d->y);
}

/* ------------------------------------------------------------------------
 * The model: logits = X W + b, W is DIM x NCLASS, row-major.
 * ------------------------------------------------------------------------ */

typedef struct {
    float w[DIM * NCLASS];
    float b[NCLASS];
} model;

static void model_logits(const model *m, const float *x, size_t rows, float *logits)
{
    for (size_t i = 0; i < rows; i++) {
        memcpy(logits + i * NCLASS, m->b, sizeof m->b);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, NCLASS, DIM, 1.0f, x, DIM,
                m->w, NCLASS, 1.0f, logits, NCLASS);
}

/* Adam state for every parameter of the model, in the model's layout. */
typedef struct {
    model m1, m2;
    long step;
} adam;

static void adam_update(float *param, const float *grad, float *m1, float *m2, size_t count,
                        float lr1, float bias2)
{
    const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    for (size_t i = 0; i < count; i++) {
        m1[i] = beta1 * m1[i] + (1.0f - beta1) * grad[i];
        m2[i] = beta2 * m2[i] + (1.0f - beta2) * grad[i] * grad[i];
        param[i] -= lr1 * m1[i] / (sqrtf(m2[i] / bias2) + eps);
    }
}

static void adam_step(adam *opt, model *m, const model *grad)
{
    opt->step++;
    float bias1 = 1.0f - powf(0.9f, (float)opt->step);
    float bias2 = 1.0f - powf(0.999f, (float)opt->step);
    float lr1 = learning_rate / bias1;
    adam_update(m->w, grad->w, opt->m1.w, opt->m2.w, DIM * NCLASS, lr1, bias2);
    adam_update(m->b, grad->b, opt->m1.b, opt->m2.b, NCLASS, lr1, bias2);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Trains m in place with the given loss; returns the wall time in seconds.
 * The batch order comes from shuffle_seed, so two runs see the same batches. */
static double train(model *m, const focal_loss *loss, const dataset *train_set,
                    uint64_t shuffle_seed)
{
    size_t n = train_set->n;
    size_t *order = xmalloc(n, sizeof *order);
    float *xb = xmalloc((size_t)BATCH * DIM, sizeof *xb);
    int64_t yb[BATCH];
    float logits[BATCH * NCLASS];
    float grad_logits[BATCH * NCLASS];
    model grad;
    adam opt;
    memset(&opt, 0, sizeof opt);
    rng r = rng_make(shuffle_seed);

    for (size_t i = 0; i < n; i++) {
        order[i] = i;
    }

    double start = seconds_now();
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = rng_below(&r, i + 1);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t first = 0; first < n; first += BATCH) {
            size_t rows = n - first < BATCH ? n - first : BATCH;
            for (size_t i = 0; i < rows; i++) {
                memcpy(xb + i * DIM, train_set->x + order[first + i] * DIM, DIM * sizeof *xb);
                yb[i] = train_set->y[order[first + i]];
            }
            model_logits(m, xb, rows, logits);

            /* The mean loss over the batch and its gradient w.r.t. the logits. */
            float value;
            check(focal_forward_backward_f32(loss, (int64_t)rows, NCLASS, 1, logits, yb, NULL,
                                             &value, grad_logits),
                  "focal_forward_backward_f32");

            /* Back to the parameters: dW = X^T dL/dlogits, db = column sums. */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, DIM, NCLASS, (int)rows, 1.0f, xb,
                        DIM, grad_logits, NCLASS, 0.0f, grad.w, NCLASS);
            for (int c = 0; c < NCLASS; c++) {
                grad.b[c] = 0.0f;
            }
            for (size_t i = 0; i < rows; i++) {
                for (int c = 0; c < NCLASS; c++) {
                    grad.b[c] += grad_logits[i * NCLASS + c];
                }
            }
            adam_step(&opt, m, &grad);
        }
    }
    double elapsed = seconds_now() - start;

    free(xb);
    free(order);
    return elapsed;
}

/* One untimed pass through OpenBLAS and every loss, so that the first timed
 * run does not pay alone for one-time start-up costs such as thread pools. */
static void warm_up(const model *m, const dataset *train_set, const focal_loss *const *losses,
                    int count)
{
    float logits[BATCH * NCLASS];
    float grad_logits[BATCH * NCLASS];
    float value;
    model_logits(m, train_set->x, BATCH, logits);
    for (int i = 0; i < count; i++) {
        check(focal_forward_backward_f32(losses[i], BATCH, NCLASS, 1, logits, train_set->y, NULL,
                                         &value, grad_logits),
              "focal_forward_backward_f32");
    }
}

/* ------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------ */

typedef struct {
    double precision[NCLASS];
    double recall[NCLASS];
    double rare_ap;
    double seconds;
    /* The rare class's precision-recall curve: one point per test sample in
     * ranked order (recall, precision), kept for --plot. */
    double *curve_recall;
    double *curve_precision;
    size_t curve_points;
} report;

typedef struct {
    double score;
    int positive;
} ranked;

static int ranked_descending(const void *a, const void *b)
{
    const ranked *ra = a, *rb = b;
    if (ra->score != rb->score) {
        return ra->score < rb->score ? 1 : -1;
    }
    /* Ties put negatives first, so a tie never flatters the model. */
    return ra->positive - rb->positive;
}

/* Step-wise average precision: the mean, over the positives, of the
 * precision among the samples ranked at or above each positive. Fills the
 * precision-recall curve of rep as it goes. */
static double average_precision(ranked *r, size_t n, report *rep)
{
    qsort(r, n, sizeof *r, ranked_descending);
    size_t positives = 0;
    for (size_t i = 0; i < n; i++) {
        positives += (size_t)r[i].positive;
    }
    rep->curve_recall = xmalloc(n, sizeof *rep->curve_recall);
    rep->curve_precision = xmalloc(n, sizeof *rep->curve_precision);
    rep->curve_points = n;
    size_t hits = 0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].positive) {
            hits++;
            sum += (double)hits / (double)(i + 1);
        }
        rep->curve_recall[i] = positives ? (double)hits / (double)positives : 0.0;
        rep->curve_precision[i] = (double)hits / (double)(i + 1);
    }
    return hits ? sum / (double)hits : 0.0;
}

static void evaluate(const model *m, const dataset *test, report *rep)
{
    float *logits = xmalloc(test->n * NCLASS, sizeof *logits);
    ranked *rank = xmalloc(test->n, sizeof *rank);
    long confusion[NCLASS][NCLASS] = {{0}}; /* [true][predicted] */

    model_logits(m, test->x, test->n, logits);
    for (size_t i = 0; i < test->n; i++) {
        const float *z = logits + i * NCLASS;
        int best = 0;
        for (int c = 1; c < NCLASS; c++) {
            if (z[c] > z[best]) {
                best = c;
            }
        }
        double denom = 0.0;
        for (int c = 0; c < NCLASS; c++) {
            denom += exp((double)z[c] - (double)z[best]);
        }
        confusion[test->y[i]][best]++;
        rank[i].score = exp((double)z[RARE] - (double)z[best]) / denom;
        rank[i].positive = test->y[i] == RARE;
    }

    for (int c = 0; c < NCLASS; c++) {
        long predicted = 0, actual = 0;
        for (int k = 0; k < NCLASS; k++) {
            predicted += confusion[k][c];
            actual += confusion[c][k];
        }
        rep->precision[c] = predicted ? (double)confusion[c][c] / (double)predicted : 0.0;
        rep->recall[c] = actual ? (double)confusion[c][c] / (double)actual : 0.0;
    }
    rep->rare_ap = average_precision(rank, test->n, rep);

    free(rank);
    free(logits);
}

static void print_row(const char *name, const report *r)
{
    printf("%-24s", name);
    for (int c = 0; c < NCLASS; c++) {
        printf(" %6.3f", r->precision[c]);
    }
    printf("  ");
    for (int c = 0; c < NCLASS; c++) {
        printf(" %6.3f", r->recall[c]);
    }
    printf("   %6.3f  %4.0f ms\n", r->rare_ap, 1e3 * r->seconds);
}

/* ------------------------------------------------------------------------
 * --plot: the rare class's precision-recall curves as an SVG file
 * ------------------------------------------------------------------------ */

enum { PLOT_W = 640, PLOT_H = 480, PLOT_LEFT = 70, PLOT_RIGHT = 20, PLOT_TOP = 40, PLOT_BOTTOM = 60 };

static double plot_x(double recall)
{
    return PLOT_LEFT + recall * (PLOT_W - PLOT_LEFT - PLOT_RIGHT);
}

static double plot_y(double precision)
{
    return PLOT_H - PLOT_BOTTOM - precision * (PLOT_H - PLOT_TOP - PLOT_BOTTOM);
}

/* Writes the curves of the runs as polylines over a unit square with a grid
 * every 0.1. Points closer than a pixel to the last one drawn are skipped,
 * which keeps the file small without changing the picture. */
static int write_plot(const char *path, const report *rep, const char *const *names,
                      const char *const *colours, int runs, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            PLOT_W, PLOT_H, PLOT_W, PLOT_H);
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
               "Rare class (1:100) on the test set, seed %" PRIu64 "</text>\n",
            (PLOT_W + PLOT_LEFT - PLOT_RIGHT) / 2, seed);
    for (int i = 0; i <= 10; i++) {
        double v = i / 10.0;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                plot_x(v), plot_y(0.0), plot_x(v), plot_y(1.0));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                plot_x(0.0), plot_y(v), plot_x(1.0), plot_y(v));
        if (i % 2 == 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
                    plot_x(v), plot_y(0.0) + 18, v);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                    plot_x(0.0) - 6, plot_y(v) + 4, v);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"black\"/>\n",
            plot_x(0.0), plot_y(1.0), plot_x(1.0) - plot_x(0.0), plot_y(0.0) - plot_y(1.0));
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">recall</text>\n",
            (plot_x(0.0) + plot_x(1.0)) / 2, PLOT_H - 20);
    fprintf(f, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 20 %.1f)\">precision</text>\n",
            (plot_y(0.0) + plot_y(1.0)) / 2, (plot_y(0.0) + plot_y(1.0)) / 2);
    for (int run = 0; run < runs; run++) {
        const report *r = &rep[run];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                colours[run]);
        double last_x = -1e9, last_y = -1e9;
        for (size_t i = 0; i < r->curve_points; i++) {
            double x = plot_x(r->curve_recall[i]), y = plot_y(r->curve_precision[i]);
            if (i + 1 < r->curve_points && fabs(x - last_x) < 1.0 && fabs(y - last_y) < 1.0) {
                continue;
            }
            fprintf(f, "%.1f,%.1f ", x, y);
            last_x = x;
            last_y = y;
        }
        fprintf(f, "\"/>\n");
        double ly = plot_y(0.14) + 20 * run;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"3\"/>\n",
                plot_x(0.03), ly - 4, plot_x(0.09), ly - 4, colours[run]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s: AP %.3f</text>\n", plot_x(0.11), ly,
                names[run], r->rare_ap);
    }
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0) {
        bad = 1;
    }
    return bad ? -1 : 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--plot FILE.svg] [seed]\n", argv0);
}

int main(int argc, char **argv)
{
    uint64_t seed = 42;
    const char *plot_path = NULL;
    int have_seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plot") == 0) {
            if (i + 1 >= argc) {
                usage(argv[0]);
                return EXIT_FAILURE;
            }
            plot_path = argv[++i];
        } else if (!have_seed) {
            char *end;
            seed = strtoull(argv[i], &end, 10);
            if (*end != '\0' || end == argv[i] || argv[i][0] == '-') {
                usage(argv[0]);
                return EXIT_FAILURE;
            }
            have_seed = 1;
        } else {
            usage(argv[0]);
            return EXIT_FAILURE;
        }
    }
    /* The ABI is stable within a major version. */
    if (focal_version_number() / 10000 != FOCAL_VERSION_MAJOR) {
        fprintf(stderr, "focal_demo: built for libfocal %s, loaded %s\n", FOCAL_VERSION_STRING,
                focal_version_string());
        return EXIT_FAILURE;
    }

    rng data_rng = rng_make(seed);
    dataset train_set, test_set;
    dataset_generate(&train_set, &data_rng);
    dataset_generate(&test_set, &data_rng);

    /* One initialisation shared by both runs. */
    model init;
    memset(&init, 0, sizeof init);
    for (int i = 0; i < DIM * NCLASS; i++) {
        init.w[i] = (float)(0.01 * rng_normal(&data_rng));
    }
    uint64_t shuffle_seed = rng_next(&data_rng);

    /* alpha_c proportional to 1 / sqrt(n_c), normalised to sum to 1. Full
     * inverse frequency over-corrects once gamma has already taken most of the
     * weight off the easy common samples: the rare class's precision collapses
     * and its AP drops; the paper, too, found its best alpha far below the
     * inverse frequency. */
    double alpha[NCLASS], alpha_sum = 0.0;
    for (int c = 0; c < NCLASS; c++) {
        alpha[c] = 1.0 / sqrt((double)class_count[c]);
        alpha_sum += alpha[c];
    }
    for (int c = 0; c < NCLASS; c++) {
        alpha[c] /= alpha_sum;
    }

    focal_loss *ce, *fl;
    check(focal_loss_create(&ce, FOCAL_MODE_SOFTMAX), "focal_loss_create");
    check(focal_loss_set_gamma(ce, 0.0), "focal_loss_set_gamma");
    check(focal_loss_create(&fl, FOCAL_MODE_SOFTMAX), "focal_loss_create");
    check(focal_loss_set_gamma(fl, 2.0), "focal_loss_set_gamma");
    check(focal_loss_set_alpha_vector(fl, alpha, NCLASS), "focal_loss_set_alpha_vector");

    printf("libfocal %s: softmax regression, cross-entropy vs focal loss (seed %" PRIu64 ")\n",
           focal_version_string(), seed);
    printf("data:  %d features, %d classes of %" PRId64 " / %" PRId64 " / %" PRId64
           " samples (1:%" PRId64 "), train and test alike\n",
           DIM, NCLASS, class_count[0], class_count[1], class_count[2],
           class_count[0] / class_count[RARE]);
    printf("train: Adam lr %.3g, batch %d, %d epochs, same init and batch order for both runs\n",
           (double)learning_rate, BATCH, EPOCHS);
    printf("focal: gamma 2, alpha = {%.3f, %.3f, %.3f} (proportional to 1/sqrt(class count))\n\n",
           alpha[0], alpha[1], alpha[2]);

    const focal_loss *losses[2] = {ce, fl};
    warm_up(&init, &train_set, losses, 2);

    report rep[2];
    const char *names[2] = {"cross-entropy (gamma 0)", "focal (gamma 2, alpha)"};
    for (int run = 0; run < 2; run++) {
        model m = init;
        rep[run].seconds = train(&m, losses[run], &train_set, shuffle_seed);
        evaluate(&m, &test_set, &rep[run]);
    }

    printf("%-24s %s   %s%9s%9s\n", "test set", "---- precision -----",
           "------ recall ------", "rare", "train");
    printf("%-24s", "loss");
    for (int block = 0; block < 2; block++) {
        for (int c = 0; c < NCLASS; c++) {
            printf(" %6s", class_name[c]);
        }
        printf("  ");
    }
    printf(" %6s  %7s\n", "AP", "time");
    for (int run = 0; run < 2; run++) {
        print_row(names[run], &rep[run]);
    }
    printf("\nrare class, cross-entropy -> focal: AP %.3f -> %.3f, recall %.3f -> %.3f\n",
           rep[0].rare_ap, rep[1].rare_ap, rep[0].recall[RARE], rep[1].recall[RARE]);

    int status = EXIT_SUCCESS;
    if (plot_path) {
        const char *colours[2] = {"#1f77b4", "#d62728"};
        if (write_plot(plot_path, rep, names, colours, 2, seed) != 0) {
            fprintf(stderr, "focal_demo: cannot write %s\n", plot_path);
            status = EXIT_FAILURE;
        } else {
            printf("precision-recall curves of the rare class written to %s\n", plot_path);
        }
    }
    for (int run = 0; run < 2; run++) {
        free(rep[run].curve_recall);
        free(rep[run].curve_precision);
    }
    focal_loss_destroy(fl);
    focal_loss_destroy(ce);
    dataset_free(&test_set);
    dataset_free(&train_set);
    return status;
}
