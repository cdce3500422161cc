/* The benchmark's shapes, its configuration matrix and the data both are
 * timed on, shared by focal_bench (which times them) and focal_profile
 * (which counts one call's instructions under callgrind).
 *
 * A configuration is a row of BENCH_CONFIGS (matrix.c): the settings it
 * changes from its shape's base configuration, one at a time. Adding a
 * setting to the benchmark is adding a row there; a setting of a kind the
 * table cannot express yet is one new bench_change_kind, one case in
 * bench_resolve / bench_configure (and in bench_needs and bench_call when
 * it needs data of its own), and its rows. */
#ifndef FOCAL_BENCH_MATRIX_H
#define FOCAL_BENCH_MATRIX_H

#include <focal/focal.h>

#include <stddef.h>
#include <stdint.h>

/* Storage types a configuration is timed in. bfloat16 and float16
 * storage are rows of the matrix instead (CHANGE_STORAGE), timed in the
 * float32 run on the float32 data rounded to the half type. */
enum { BENCH_F32 = 0, BENCH_F64 = 1, BENCH_DTYPES = 2 };
extern const char *const BENCH_DTYPE_NAMES[BENCH_DTYPES];

/* ---- shapes ---------------------------------------------------------------- */

typedef struct bench_shape {
    const char *name;
    const char *problem;       /* the tensor's shape, in words */
    focal_mode mode;
    int64_t n, c, inner;
    int64_t profile_n, profile_inner;   /* the reduced copy profile.sh counts */
    double positive_rate;      /* sigmoid: probability of a positive element */
    int in_matrix;             /* the configuration matrix runs on it */
    int per_call;              /* timed in batches of calls, reported per call */
} bench_shape;

/* cls, seg, det, small (matrix.c checks the count). */
enum { BENCH_SHAPE_COUNT = 4 };
extern const bench_shape BENCH_SHAPES[BENCH_SHAPE_COUNT];

/* ---- the configuration matrix --------------------------------------------- */

enum { MODES_SOFTMAX = 1, MODES_SIGMOID = 2, MODES_BOTH = 3 };

typedef enum bench_targets {
    TARGETS_INDEX = 0,   /* one class per position (sigmoid: a class, or the background c) */
    TARGETS_DENSE = 1,   /* one 0/1 value per element (sigmoid) */
    TARGETS_SOFT = 2     /* softmax: a random distribution over the classes per position;
                          * sigmoid: one value uniform in [0, 1] per element */
} bench_targets;

/* The storage of a row's buffers: the run's type, or a half type. */
typedef enum bench_storage { STORAGE_RUN = 0, STORAGE_BF16 = 1, STORAGE_F16 = 2 } bench_storage;

typedef enum bench_alpha { ALPHA_NONE = 0, ALPHA_SCALAR = 1, ALPHA_VECTOR = 2 } bench_alpha;

typedef enum bench_change_kind {
    CHANGE_END = 0,
    CHANGE_TARGETS,          /* i: bench_targets */
    CHANGE_ALPHA,            /* i: bench_alpha; x: the scalar alpha */
    CHANGE_WEIGHTS,          /* per-position weights, uniform in [0.5, 1.5) */
    CHANGE_IGNORE,           /* BENCH_IGNORE_FRACTION of the positions' targets are ignore_index */
    CHANGE_LABEL_SMOOTHING,  /* x */
    CHANGE_PROBABILITIES,    /* probabilities input: the softmax (sigmoid) of the logits */
    CHANGE_VARIANT,          /* i: focal_variant; x: beta */
    CHANGE_REDUCTION,        /* i: focal_reduction */
    CHANGE_GAMMA,            /* x */
    CHANGE_DIVISOR,          /* reduction DIVISOR, focal_loss_set_divisor(x) */
    CHANGE_POS_WEIGHT,       /* a pos_weight vector, 0.5 to 2 over the classes */
    CHANGE_SOFT_SPLIT,       /* the soft form FOCAL_SOFT_SPLIT */
    CHANGE_POLY,             /* focal_loss_set_poly_epsilon(x) */
    CHANGE_STORAGE           /* i: bench_storage (float32 runs only) */
} bench_change_kind;

typedef struct bench_change {
    bench_change_kind kind;
    int i;
    double x;
} bench_change;

enum { BENCH_MAX_CHANGES = 4 };

typedef struct bench_config {
    unsigned modes;            /* MODES_*: the shapes it applies to, by mode */
    const char *name;          /* unique within a mode; "base" is the base configuration */
    const char *what;          /* what it changes, in words */
    int reduced;               /* also in the reduced matrix */
    bench_change changes[BENCH_MAX_CHANGES];
} bench_config;

extern const bench_config BENCH_CONFIGS[];
extern const int BENCH_CONFIG_COUNT;

/* Every setting a call is made with, resolved from a shape and a row. */
typedef struct bench_settings {
    bench_targets targets;
    bench_alpha alpha;
    double alpha_value;
    int weights;
    double ignore_fraction;
    double label_smoothing;
    int probabilities;
    focal_variant variant;
    double beta;
    focal_reduction reduction;
    double gamma;
    double divisor;            /* with reduction DIVISOR */
    int pos_weight, split;
    double poly;
    bench_storage storage;
} bench_settings;

enum { BENCH_IGNORE_INDEX = -100 };
#define BENCH_IGNORE_FRACTION 0.1

int bench_find_shape(const char *name);
/* The index of the row `name` that applies to shape, or -1. */
int bench_find_config(const char *name, const bench_shape *shape);
int bench_config_applies(const bench_config *cfg, const bench_shape *shape);
/* The shape's base settings with cfg's changes; cfg may be NULL (base). */
void bench_resolve(const bench_shape *shape, const bench_config *cfg, bench_settings *out);
/* The settings in words, e.g. "index targets, gamma 2, no alpha, MEAN". */
void bench_describe(const bench_settings *s, char *out, size_t size);
/* A context with these settings and threads; on failure *loss is NULL and
 * err says which setter failed and why. */
focal_status bench_configure(focal_loss **loss, const bench_shape *shape, const bench_settings *s, int threads,
                             char *err, size_t err_size);
const char *bench_reduction_name(focal_reduction r);

/* ---- data ------------------------------------------------------------------ */

enum {
    NEED_LOGITS = 1 << 0,
    NEED_PROBABILITIES = 1 << 1,
    NEED_INDEX = 1 << 2,
    NEED_INDEX_IGNORE = 1 << 3,
    NEED_DENSE = 1 << 4,
    NEED_SOFT = 1 << 5,
    NEED_WEIGHTS = 1 << 6,
    NEED_OUT_EACH = 1 << 7,     /* reduction NONE: one output per position or element */
    NEED_GRAD_OUT_EACH = 1 << 8, /* backward with NONE: one upstream value (1) per output */
    NEED_BF16 = 1 << 9,          /* bfloat16 copies of every floating-point buffer */
    NEED_F16 = 1 << 10           /* float16 copies */
};

/* The buffers a fused call with these settings reads and writes (a
 * backward call with reduction NONE also needs NEED_GRAD_OUT_EACH). */
unsigned bench_needs(const bench_shape *shape, const bench_settings *s);

typedef struct bench_data {
    int dtype, sigmoid;
    int64_t n, c, inner;
    unsigned have;             /* NEED_* bits allocated and filled */
    void *logits, *probabilities, *dense, *soft, *weights, *out_each, *grad_out_each, *grad;
    int64_t *index, *index_ignore;
    double out_scalar[1], grad_out_scalar[1];
    /* The half copies (NEED_BF16, NEED_F16: [0] bfloat16, [1] float16),
     * each value rounded to nearest even; out_scalar for the reduced value. */
    struct {
        uint16_t *logits, *probabilities, *dense, *soft, *weights, *out_each, *grad_out_each, *grad;
        uint16_t out_scalar[1], grad_out_scalar[1];
    } half[2];
    size_t bytes;              /* everything allocated */
} bench_data;

/* Allocates (64-byte aligned) and fills every buffer `needs` names, plus
 * the logits and the gradient, for the shape at n x inner positions (the
 * shape's own or profile sizes). The same numbers on every platform and
 * run: logits normal with standard deviation 2 and the base targets come
 * from the shape's own stream (seeded by its index), every other array
 * from a stream of its own, so what one array holds never depends on which
 * others were asked for. Returns 0 when out of memory. */
int bench_data_init(bench_data *d, int shape_index, int dtype, int64_t n, int64_t inner, unsigned needs);
void bench_data_free(bench_data *d);
/* Bytes a fused call with these settings must move: read the input, the
 * targets (8 bytes per position for indices, input-sized for dense) and
 * the weights, write the gradient (and, with NONE, the outputs). */
double bench_fused_bytes(const bench_data *d, const bench_settings *s);

enum { BENCH_OP_FORWARD = 0, BENCH_OP_BACKWARD = 1, BENCH_OP_FUSED = 2, BENCH_OPS = 3 };
extern const char *const BENCH_OP_NAMES[BENCH_OPS];

/* One call of op on d with the buffers these settings select. */
focal_status bench_call(const focal_loss *loss, bench_data *d, const bench_settings *s, int op);

/* ---- the generator ----------------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: the same numbers everywhere. */
typedef struct bench_rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} bench_rng;

void bench_rng_seed(bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(bench_rng *r);
double bench_rng_uniform(bench_rng *r);
int64_t bench_rng_below(bench_rng *r, int64_t bound);
double bench_rng_normal(bench_rng *r);

void *bench_xmalloc(size_t bytes);

#endif /* FOCAL_BENCH_MATRIX_H */
