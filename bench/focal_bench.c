/* focal_bench: libfocal's throughput, per-call latency and extra memory on
 * four headline workloads and on a matrix of configurations, next to the
 * machine's own limits (streaming read+write bandwidth over the same
 * sizes, and the throughput of a vectorised exp), measured in the same
 * run. bench/README.md explains every figure.
 *
 *   focal_bench [--quick] [--workload NAMES] [--threads LIST] [--ops LIST]
 *               [--matrix full|reduced|base|none] [--config NAMES]
 *               [--expect-isa NAME] [--json FILE]
 *   focal_bench --tables [--json FILE]    which kernel tables this CPU and library can run
 *   focal_bench --print-isa               focal_isa() of this process
 *   focal_bench --list-configs            the configuration matrix
 *
 * One run measures the kernel table libfocal picked for the process
 * (FOCAL_MAX_ISA caps it); bench/run.sh runs it once per table.
 *
 * Each (workload, precision) pair runs in its own child process, which
 * allocates and touches its buffers, resets the kernel's peak-RSS mark
 * (/proc/self/clear_refs) and then times every call: the growth of the peak
 * over the resident set before the calls is the memory libfocal needed
 * beyond the inputs and outputs. The matrix runs one child per (shape,
 * precision), with the buffers of every selected configuration, and resets
 * the mark before each configuration. */
#define _GNU_SOURCE

#include "matrix.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__)
#  include <malloc.h>
#endif

/* focal_isa() is newer than 1.0.0; a weak reference lets this program run
 * against a library that does not have it yet. */
#if defined(__GNUC__)
extern const char *focal_isa(void) __attribute__((weak));
#  define BENCH_HAVE_ISA_PROBE 1
#else
#  define BENCH_HAVE_ISA_PROBE 0
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#  define BENCH_X86 1
#else
#  define BENCH_X86 0
#endif

#ifndef FOCAL_BENCH_BUILD_TYPE
#  define FOCAL_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef FOCAL_BENCH_C_FLAGS
#  define FOCAL_BENCH_C_FLAGS "unknown"
#endif

#if defined(__clang__)
#  define BENCH_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#  define BENCH_COMPILER "gcc " __VERSION__
#else
#  define BENCH_COMPILER "unknown"
#endif

enum { MAX_THREAD_COUNTS = 8, MAX_TIMINGS = 512, MAX_BANDWIDTH = 64, MAX_EXP = 32, MAX_MATRIX = 1024 };
enum { F32 = BENCH_F32, F64 = BENCH_F64 };
enum { OP_FORWARD = BENCH_OP_FORWARD, OP_BACKWARD = BENCH_OP_BACKWARD, OP_FUSED = BENCH_OP_FUSED, OP_COUNT = BENCH_OPS };
enum { MAX_CONFIG_NAMES = 64 };

#define DTYPE_NAMES BENCH_DTYPE_NAMES
#define OP_NAMES BENCH_OP_NAMES

/* The kernel tables libfocal may have, lowest first, as FOCAL_MAX_ISA and
 * focal_isa() name them. */
static const char *const TABLES[] = {"scalar", "avx2", "avx512"};
enum { TABLE_COUNT = 3 };

typedef enum matrix_policy { MATRIX_NONE = 0, MATRIX_BASE, MATRIX_REDUCED, MATRIX_FULL } matrix_policy;
static const char *const MATRIX_POLICY_NAMES[] = {"none", "base", "reduced", "full"};

/* ---- workloads: the shapes of matrix.c in their base configuration -------- */

#define WORKLOAD_COUNT BENCH_SHAPE_COUNT
#define WORKLOADS BENCH_SHAPES
typedef bench_shape workload;

static int64_t workload_elements(const workload *w) { return w->n * w->c * w->inner; }

static void workload_description(const workload *w, char *out, size_t size)
{
    bench_settings s;
    char settings_text[256];
    bench_resolve(w, NULL, &s);
    bench_describe(&s, settings_text, sizeof settings_text);
    snprintf(out, size, "%s; %s", w->problem, settings_text);
}

/* Bytes one fused call must move at least in the base configuration: the
 * input and the targets read, the gradient written. */
static double fused_bytes(const workload *w, int dtype)
{
    bench_settings s;
    bench_resolve(w, NULL, &s);
    bench_data d = {.dtype = dtype, .sigmoid = w->mode == FOCAL_MODE_SIGMOID, .n = w->n, .c = w->c, .inner = w->inner};
    return bench_fused_bytes(&d, &s);
}

/* ---- settings ------------------------------------------------------------ */

typedef struct settings {
    int quick;
    int selected[WORKLOAD_COUNT];
    int threads[MAX_THREAD_COUNTS];
    int thread_count;
    int ops[OP_COUNT];         /* headline operations to time */
    matrix_policy matrix;
    const char *config_names[MAX_CONFIG_NAMES];   /* --config: only these rows (and base) */
    int config_name_count;
    char config_arg[1024];
    const char *expect_isa;
    const char *json_path;
    int warmup, min_runs, max_runs;
    int slow_min_runs;         /* min_runs when one call takes longer than slow_s */
    double slow_s;
    double budget_s;           /* stop repeating after this, once min_runs are done */
    int small_samples;
    double small_sample_s;     /* target duration of one per-call batch */
} settings;

/* ---- results, in memory shared with the child processes ------------------ */

typedef struct timing {
    int workload, dtype, op, threads;
    int runs;
    int64_t calls_per_run;     /* > 1 for per-call workloads */
    double median_s, min_s;    /* per call */
    int failed;
} timing;

typedef struct bandwidth {
    int workload, threads;
    double bytes;              /* read + written per pass */
    double scale_best, scale_median;   /* GB/s, y[i] = x[i] * k */
    double copy_best, copy_median;     /* GB/s, memcpy */
} bandwidth;

typedef struct memory {
    int measured;
    int hwm_reset;             /* /proc/self/clear_refs accepted */
    long buffers_kib;          /* what the benchmark allocated itself */
    long rss_before_kib, hwm_after_kib, extra_kib, maxrss_kib;
} memory;

typedef struct exp_result {
    char isa[32];
    int threads;
    double gexp_s;
    double max_rel_error;
} exp_result;

/* One configuration of the matrix at one precision and thread count. */
typedef struct matrix_result {
    int shape, config, dtype, threads;
    int runs;
    double median_s, min_s;
    double bytes;              /* what the fused call must move (bench_fused_bytes) */
    int mem_measured, hwm_reset;
    long extra_kib;
    char error[240];           /* empty, or why it was not measured */
} matrix_result;

typedef struct results {
    timing timings[MAX_TIMINGS];
    int timing_count;
    bandwidth bw[MAX_BANDWIDTH];
    int bw_count;
    memory mem[WORKLOAD_COUNT][2];
    exp_result exps[MAX_EXP];
    int exp_count;
    matrix_result matrix[MAX_MATRIX];
    int matrix_count;
    char error[512];
} results;

static results *g_results;

/* Records the run's first error, for the JSON. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void note_error(const char *fmt, ...)
{
    if (g_results == NULL || g_results->error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_results->error, sizeof g_results->error, fmt, ap);
    va_end(ap);
}

/* ---- small utilities ----------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int count)
{
    qsort(v, (size_t)count, sizeof *v, compare_double);
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

#define xmalloc bench_xmalloc
typedef bench_rng rng;
#define rng_seed bench_rng_seed
#define rng_uniform bench_rng_uniform

/* ---- /proc readers ------------------------------------------------------- */

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long value = -1;
    const size_t len = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, len) == 0 && line[len] == ':') {
            value = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

static int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return 0;
    const int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static void read_first_field(const char *path, const char *key, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[512];
    const size_t len = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, len) != 0)
            continue;
        const char *p = line + len;
        while (*p == ' ' || *p == '\t' || *p == ':' || *p == '=' || *p == '"')
            p++;
        snprintf(out, size, "%s", p);
        size_t l = strlen(out);
        while (l > 0 && (out[l - 1] == '\n' || out[l - 1] == '"' || out[l - 1] == ' '))
            out[--l] = '\0';
        break;
    }
    fclose(f);
}

/* Physical cores: distinct (physical id, core id) pairs in /proc/cpuinfo. */
static int physical_cores(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return -1;
    long pairs[1024][2];
    int count = 0;
    long phys = 0;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "physical id", 11) == 0) {
            phys = strtol(strchr(line, ':') + 1, NULL, 10);
        } else if (strncmp(line, "core id", 7) == 0) {
            const long core = strtol(strchr(line, ':') + 1, NULL, 10);
            int seen = 0;
            for (int i = 0; i < count; i++)
                seen |= pairs[i][0] == phys && pairs[i][1] == core;
            if (!seen && count < 1024) {
                pairs[count][0] = phys;
                pairs[count][1] = core;
                count++;
            }
        }
    }
    fclose(f);
    return count > 0 ? count : -1;
}

static void cache_size(int index, char *out, size_t size)
{
    char path[128], level[32] = "", type[32] = "", sz[32] = "";
    snprintf(out, size, "unknown");
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", index);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(level, sizeof level, f) == NULL)
        level[0] = '\0';
    fclose(f);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", index);
    if ((f = fopen(path, "r")) != NULL) {
        if (fgets(type, sizeof type, f) == NULL)
            type[0] = '\0';
        fclose(f);
    }
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    if ((f = fopen(path, "r")) != NULL) {
        if (fgets(sz, sizeof sz, f) == NULL)
            sz[0] = '\0';
        fclose(f);
    }
    level[strcspn(level, "\n")] = '\0';
    type[strcspn(type, "\n")] = '\0';
    sz[strcspn(sz, "\n")] = '\0';
    snprintf(out, size, "L%s %s %s", level, type, sz);
}

typedef struct machine {
    char cpu[256];
    int logical_cpus, cores;
    long mem_kib;
    char kernel[256], os[256];
    char caches[4][96];
    int cache_count;
    int cpu_avx2, cpu_fma;
    int cpu_avx512[4];         /* avx512f, avx512dq, avx512bw, avx512vl */
    int cpu_table[TABLE_COUNT];   /* the CPU (and its OS) can run TABLES[i] */
    char cpu_missing[TABLE_COUNT][96];  /* what it lacks for TABLES[i] */
    const char *isa;
    const char *max_isa_env;
    char load_start[64], load_end[64];   /* /proc/loadavg: 1, 5, 15 minutes */
} machine;

static void read_loadavg(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
        snprintf(out, size, "%.2f %.2f %.2f", a, b, c);
    fclose(f);
}

static const char *library_isa(void)
{
#if BENCH_HAVE_ISA_PROBE
    if (focal_isa != NULL) {
        const char *s = focal_isa();
        return s != NULL ? s : "unknown";
    }
#endif
    return "unknown";
}

static const char *const AVX512_FEATURES[4] = {"avx512f", "avx512dq", "avx512bw", "avx512vl"};

/* What each kernel table needs, as libfocal's dispatcher checks it: avx2
 * needs AVX2 and FMA, avx512 also AVX-512 F, DQ, BW and VL;
 * __builtin_cpu_supports also checks that the OS saves the registers. */
static void cpu_tables(machine *m)
{
    memset(m->cpu_avx512, 0, sizeof m->cpu_avx512);
    m->cpu_avx2 = m->cpu_fma = 0;
#if BENCH_X86
    __builtin_cpu_init();
    m->cpu_avx2 = __builtin_cpu_supports("avx2") != 0;
    m->cpu_fma = __builtin_cpu_supports("fma") != 0;
    m->cpu_avx512[0] = __builtin_cpu_supports("avx512f") != 0;
    m->cpu_avx512[1] = __builtin_cpu_supports("avx512dq") != 0;
    m->cpu_avx512[2] = __builtin_cpu_supports("avx512bw") != 0;
    m->cpu_avx512[3] = __builtin_cpu_supports("avx512vl") != 0;
#endif
    for (int t = 0; t < TABLE_COUNT; t++)
        m->cpu_missing[t][0] = '\0';
    m->cpu_table[0] = 1;
#if BENCH_X86
    snprintf(m->cpu_missing[1], sizeof m->cpu_missing[1], "%s%s%s", m->cpu_avx2 ? "" : "avx2",
             !m->cpu_avx2 && !m->cpu_fma ? " " : "", m->cpu_fma ? "" : "fma");
    size_t len = 0;
    m->cpu_missing[2][0] = '\0';
    len += (size_t)snprintf(m->cpu_missing[2], sizeof m->cpu_missing[2], "%s", m->cpu_missing[1]);
    for (int i = 0; i < 4 && len < sizeof m->cpu_missing[2]; i++)
        if (!m->cpu_avx512[i])
            len += (size_t)snprintf(m->cpu_missing[2] + len, sizeof m->cpu_missing[2] - len, "%s%s",
                                    len ? " " : "", AVX512_FEATURES[i]);
#else
    snprintf(m->cpu_missing[1], sizeof m->cpu_missing[1], "not an x86-64 CPU");
    snprintf(m->cpu_missing[2], sizeof m->cpu_missing[2], "not an x86-64 CPU");
#endif
    m->cpu_table[1] = m->cpu_missing[1][0] == '\0';
    m->cpu_table[2] = m->cpu_missing[2][0] == '\0';
}

static void describe_machine(machine *m)
{
    read_first_field("/proc/cpuinfo", "model name", m->cpu, sizeof m->cpu);
    m->logical_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    m->cores = physical_cores();
    char mem[64];
    read_first_field("/proc/meminfo", "MemTotal", mem, sizeof mem);
    m->mem_kib = strtol(mem, NULL, 10);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof m->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    else
        snprintf(m->kernel, sizeof m->kernel, "unknown");
    read_first_field("/etc/os-release", "PRETTY_NAME", m->os, sizeof m->os);
    m->cache_count = 0;
    for (int i = 0; i < 4; i++) {
        cache_size(i, m->caches[m->cache_count], sizeof m->caches[0]);
        if (strcmp(m->caches[m->cache_count], "unknown") != 0)
            m->cache_count++;
    }
    cpu_tables(m);
    m->isa = library_isa();
    m->max_isa_env = getenv("FOCAL_MAX_ISA");
    read_loadavg(m->load_start, sizeof m->load_start);
    snprintf(m->load_end, sizeof m->load_end, "unknown");
}

/* ---- running a function on several threads ------------------------------- */

/* ---- running a function on several threads ------------------------------- */

typedef void (*part_fn)(void *arg, int part, int parts);

typedef struct part_job {
    part_fn fn;
    void *arg;
    int part, parts;
} part_job;

static void *part_main(void *p)
{
    const part_job *j = p;
    j->fn(j->arg, j->part, j->parts);
    return NULL;
}

/* Seconds to run fn on `parts` threads (the caller's included). */
static double run_parts(int parts, part_fn fn, void *arg)
{
    pthread_t tids[64];
    part_job jobs[64];
    if (parts > 64)
        parts = 64;
    const double t0 = now_s();
    int started = 0;
    for (int i = 1; i < parts; i++) {
        jobs[i] = (part_job){fn, arg, i, parts};
        if (pthread_create(&tids[i], NULL, part_main, &jobs[i]) != 0) {
            fprintf(stderr, "focal_bench: cannot start a thread\n");
            exit(2);
        }
        started = i;
    }
    fn(arg, 0, parts);
    for (int i = 1; i <= started; i++)
        pthread_join(tids[i], NULL);
    return now_s() - t0;
}

static void part_range(size_t total, int part, int parts, size_t *begin, size_t *end)
{
    *begin = total / (size_t)parts * (size_t)part;
    *end = part == parts - 1 ? total : total / (size_t)parts * (size_t)(part + 1);
}

/* ---- machine limit: streaming bandwidth ---------------------------------- */

typedef struct stream_job {
    const float *x;
    float *y;
    size_t count;
} stream_job;

static void stream_scale(void *arg, int part, int parts)
{
    const stream_job *j = arg;
    size_t b, e;
    part_range(j->count, part, parts, &b, &e);
    const float *restrict x = j->x;
    float *restrict y = j->y;
    for (size_t i = b; i < e; i++)
        y[i] = x[i] * 1.0001f;
}

static void stream_copy(void *arg, int part, int parts)
{
    const stream_job *j = arg;
    size_t b, e;
    part_range(j->count, part, parts, &b, &e);
    memcpy(j->y + b, j->x + b, (e - b) * sizeof(float));
}

static void measure_bandwidth(const settings *st, int wi, int threads, const float *x, float *y,
                              size_t count, bandwidth *out)
{
    stream_job job = {x, y, count};
    const int reps = st->quick ? 5 : 15;
    double scale[16], copy[16];
    run_parts(threads, stream_scale, &job);
    run_parts(threads, stream_copy, &job);
    for (int r = 0; r < reps; r++) {
        scale[r] = run_parts(threads, stream_scale, &job);
        copy[r] = run_parts(threads, stream_copy, &job);
    }
    const double bytes = 2.0 * (double)count * sizeof(float);
    out->workload = wi;
    out->threads = threads;
    out->bytes = bytes;
    out->scale_median = bytes / median_of(scale, reps) * 1e-9;
    out->scale_best = bytes / scale[0] * 1e-9;
    out->copy_median = bytes / median_of(copy, reps) * 1e-9;
    out->copy_best = bytes / copy[0] * 1e-9;
}

static double bandwidth_limit(const bandwidth *b)
{
    return b->scale_best > b->copy_best ? b->scale_best : b->copy_best;
}

/* ---- machine limit: exp throughput --------------------------------------- */

/* A Cody-Waite reduced polynomial expf (Cephes' coefficients), saturating
 * outside [-87, 88], branch-free so that gcc -O3 vectorises the loop for
 * the baseline instruction set. The clamp compares the bit patterns as
 * integers: a float comparison may trap, which stops gcc's if-conversion
 * under the default -ftrapping-math. MADD is a*b+c, fused where the
 * instruction set has FMA. */
#define BENCH_DEFINE_EXP_KERNEL(NAME, ATTR, MADD)                                      \
    ATTR static void NAME(const float *restrict x, float *restrict y, size_t count)    \
    {                                                                                  \
        for (size_t i = 0; i < count; i++) {                                           \
            uint32_t u;                                                                \
            memcpy(&u, &x[i], sizeof u);                                               \
            u = u > 0xc2ae0000u ? 0xc2ae0000u : u;                                     \
            u = (int32_t)u > (int32_t)0x42b00000 ? 0x42b00000u : u;                    \
            float v;                                                                   \
            memcpy(&v, &u, sizeof v);                                                  \
            const float k = MADD(v, 1.44269504088896341f, 12582912.0f) - 12582912.0f; \
            float r = MADD(k, -0.693359375f, v);                                       \
            r = MADD(k, 2.12194440e-4f, r);                                            \
            float p = 1.9875691500e-4f;                                                \
            p = MADD(p, r, 1.3981999507e-3f);                                          \
            p = MADD(p, r, 8.3334519073e-3f);                                          \
            p = MADD(p, r, 4.1665795894e-2f);                                          \
            p = MADD(p, r, 1.6666665459e-1f);                                          \
            p = MADD(p, r, 5.0000001201e-1f);                                          \
            p = MADD(p, r * r, r) + 1.0f;                                              \
            const uint32_t bits = (uint32_t)((int32_t)k + 127) << 23;                  \
            float scale;                                                               \
            memcpy(&scale, &bits, sizeof scale);                                       \
            y[i] = p * scale;                                                          \
        }                                                                              \
    }

#define BENCH_MADD_PLAIN(a, b, c) ((a) * (b) + (c))
BENCH_DEFINE_EXP_KERNEL(exp_kernel_baseline, , BENCH_MADD_PLAIN)
#if BENCH_X86
#  define BENCH_MADD_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
BENCH_DEFINE_EXP_KERNEL(exp_kernel_avx2, __attribute__((target("avx2,fma"))), BENCH_MADD_FMA)
#  if defined(__clang__)
#    define BENCH_AVX512_TARGET "avx512f,avx512dq,avx2,fma"
#  else
#    define BENCH_AVX512_TARGET "avx512f,avx512dq,avx2,fma,prefer-vector-width=512"
#  endif
BENCH_DEFINE_EXP_KERNEL(exp_kernel_avx512, __attribute__((target(BENCH_AVX512_TARGET))), BENCH_MADD_FMA)
#endif


typedef void (*exp_kernel)(const float *restrict, float *restrict, size_t);

enum { EXP_BLOCK = 4096 };

typedef struct exp_job {
    exp_kernel kernel;
    float *x[64], *y[64];      /* one L1-resident block per thread */
    long repeats;
} exp_job;

static void exp_part(void *arg, int part, int parts)
{
    const exp_job *j = arg;
    (void)parts;
    for (long r = 0; r < j->repeats; r++)
        j->kernel(j->x[part], j->y[part], EXP_BLOCK);
}

static const char *baseline_isa_name(void)
{
#if defined(__AVX512F__)
    return "avx512 (build flags)";
#elif defined(__AVX2__)
    return "avx2 (build flags)";
#elif defined(__AVX__)
    return "avx (build flags)";
#elif defined(__SSE2__)
    return "sse2 (baseline)";
#else
    return "portable";
#endif
}

static void measure_exp(const settings *st, const machine *m, results *res)
{
    struct {
        const char *name;
        exp_kernel kernel;
    } kernels[3] = {{baseline_isa_name(), exp_kernel_baseline}, {NULL, NULL}, {NULL, NULL}};
    int kernel_count = 1;
#if BENCH_X86
    if (m->cpu_table[1]) {
        kernels[kernel_count].name = "avx2+fma";
        kernels[kernel_count++].kernel = exp_kernel_avx2;
    }
    if (m->cpu_table[2]) {
        kernels[kernel_count].name = "avx512 (512-bit)";
        kernels[kernel_count++].kernel = exp_kernel_avx512;
    }
#else
    (void)m;
#endif
    int max_threads = 1;
    for (int i = 0; i < st->thread_count; i++)
        max_threads = st->threads[i] > max_threads ? st->threads[i] : max_threads;
    if (max_threads > 64)
        max_threads = 64;
    exp_job job;
    rng r;
    rng_seed(&r, 7);
    for (int t = 0; t < max_threads; t++) {
        job.x[t] = xmalloc(EXP_BLOCK * sizeof(float));
        job.y[t] = xmalloc(EXP_BLOCK * sizeof(float));
        for (int i = 0; i < EXP_BLOCK; i++)
            job.x[t][i] = (float)(20.0 * rng_uniform(&r) - 10.0);
    }
    const double target_s = st->quick ? 0.01 : 0.02;
    for (int k = 0; k < kernel_count; k++) {
        job.kernel = kernels[k].kernel;
        job.kernel(job.x[0], job.y[0], EXP_BLOCK);
        double max_rel = 0;
        for (int i = 0; i < EXP_BLOCK; i++) {
            const double ref = exp((double)job.x[0][i]);
            const double rel = fabs((double)job.y[0][i] - ref) / ref;
            max_rel = rel > max_rel ? rel : max_rel;
        }
        job.repeats = 64;
        const double t1 = run_parts(1, exp_part, &job);
        job.repeats = (long)(64.0 * target_s / (t1 > 1e-6 ? t1 : 1e-6));
        if (job.repeats < 1)
            job.repeats = 1;
        for (int ti = 0; ti < st->thread_count && res->exp_count < MAX_EXP; ti++) {
            const int threads = st->threads[ti] < 64 ? st->threads[ti] : 64;
            double best = 1e300;
            run_parts(threads, exp_part, &job);
            for (int rep = 0; rep < (st->quick ? 5 : 15); rep++) {
                const double t = run_parts(threads, exp_part, &job);
                best = t < best ? t : best;
            }
            exp_result *e = &res->exps[res->exp_count++];
            snprintf(e->isa, sizeof e->isa, "%s", kernels[k].name);
            e->threads = threads;
            e->gexp_s = (double)EXP_BLOCK * (double)job.repeats * threads / best * 1e-9;
            e->max_rel_error = max_rel;
        }
    }
    for (int t = 0; t < max_threads; t++) {
        free(job.x[t]);
        free(job.y[t]);
    }
}


/* ---- timing libfocal ----------------------------------------------------- */

typedef struct call_ctx {
    const focal_loss *loss;
    bench_data *data;
    const bench_settings *settings;
    int op;
    int per_call;
} call_ctx;

/* Seconds for `calls` back-to-back calls, or a negative value when a call
 * fails (*status says why). */
static double time_calls(const call_ctx *k, int64_t calls, focal_status *status)
{
    const double t0 = now_s();
    for (int64_t i = 0; i < calls; i++) {
        const focal_status s = bench_call(k->loss, k->data, k->settings, k->op);
        if (s != FOCAL_OK) {
            *status = s;
            return -1.0;
        }
    }
    return now_s() - t0;
}

enum { MAX_RUNS = 64 };

/* The median time per call after a warm-up; FOCAL_OK, or the status of
 * the first failing call. */
static focal_status measure_call(const settings *st, const call_ctx *k, int *runs_out, int64_t *calls_out,
                                 double *median_s, double *min_s)
{
    double samples[MAX_RUNS];
    int runs = 0;
    int64_t calls = 1;
    focal_status status = FOCAL_OK;
    if (k->per_call) {
        /* Batches of calls long enough for the clock, median of batches. */
        if (time_calls(k, 100, &status) < 0)
            return status;
        const double tb = time_calls(k, 100, &status);
        if (tb < 0)
            return status;
        calls = (int64_t)(100.0 * st->small_sample_s / (tb > 1e-7 ? tb : 1e-7));
        calls = calls < 1 ? 1 : calls;
        for (runs = 0; runs < st->small_samples && runs < MAX_RUNS; runs++) {
            const double t = time_calls(k, calls, &status);
            if (t < 0)
                return status;
            samples[runs] = t / (double)calls;
        }
    } else {
        double warm = 0;
        for (int i = 0; i < st->warmup; i++)
            if ((warm = time_calls(k, 1, &status)) < 0)
                return status;
        const int min_runs = warm > st->slow_s ? st->slow_min_runs : st->min_runs;
        double spent = 0;
        while (runs < st->max_runs && runs < MAX_RUNS && !(runs >= min_runs && spent >= st->budget_s)) {
            const double t = time_calls(k, 1, &status);
            if (t < 0)
                return status;
            samples[runs] = t;
            spent += samples[runs];
            runs++;
        }
    }
    *runs_out = runs;
    *calls_out = calls;
    *min_s = samples[0];
    for (int i = 1; i < runs; i++)
        *min_s = samples[i] < *min_s ? samples[i] : *min_s;
    *median_s = median_of(samples, runs);
    return FOCAL_OK;
}

/* ---- the headline workloads: every operation in the base configuration --- */

static void headline_child(const settings *st, int wi, int dtype, results *res)
{
    const workload *w = &WORKLOADS[wi];
    bench_settings base;
    bench_resolve(w, NULL, &base);
    bench_data data;
    bench_data_init(&data, wi, dtype, w->n, w->inner, bench_needs(w, &base));

    char err[512];
    focal_loss *loss = NULL;
    if (bench_configure(&loss, w, &base, st->threads[0], err, sizeof err) != FOCAL_OK) {
        note_error("%s %s: %s", w->name, DTYPE_NAMES[dtype], err);
        _exit(3);
    }

#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    memory *mem = &res->mem[wi][dtype];
    mem->buffers_kib = (long)(data.bytes / 1024);
    mem->hwm_reset = reset_peak_rss();
    mem->rss_before_kib = status_kib("VmRSS");

    call_ctx k = {loss, &data, &base, 0, w->per_call};
    for (int ti = 0; ti < st->thread_count; ti++) {
        const focal_status s = focal_loss_set_threads(loss, st->threads[ti]);
        if (s != FOCAL_OK) {
            note_error("%s: focal_loss_set_threads(%d): %s", w->name, st->threads[ti], focal_status_string(s));
            _exit(3);
        }
        for (int op = 0; op < OP_COUNT; op++) {
            if (!st->ops[op] || res->timing_count >= MAX_TIMINGS)
                continue;
            timing *t = &res->timings[res->timing_count];
            *t = (timing){.workload = wi, .dtype = dtype, .op = op, .threads = st->threads[ti]};
            k.op = op;
            fprintf(stderr, "  %s %s %s, %d thread%s...\n", w->name, DTYPE_NAMES[dtype], OP_NAMES[op],
                    st->threads[ti], st->threads[ti] == 1 ? "" : "s");
            const focal_status s2 = measure_call(st, &k, &t->runs, &t->calls_per_run, &t->median_s, &t->min_s);
            if (s2 != FOCAL_OK) {
                note_error("%s %s %s: %s", w->name, DTYPE_NAMES[dtype], OP_NAMES[op], focal_last_error());
                t->failed = 1;
            }
            res->timing_count++;
        }
    }

    mem->hwm_after_kib = status_kib("VmHWM");
    mem->extra_kib = mem->hwm_after_kib - mem->rss_before_kib;
    if (mem->extra_kib < 0)
        mem->extra_kib = 0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        mem->maxrss_kib = ru.ru_maxrss;
    mem->measured = mem->rss_before_kib >= 0 && mem->hwm_after_kib >= 0;

    /* The machine's streaming limit over the same sizes, reusing the
     * input as the source and the gradient as the destination. */
    if (dtype == F32 && !w->per_call) {
        for (int ti = 0; ti < st->thread_count && res->bw_count < MAX_BANDWIDTH; ti++) {
            fprintf(stderr, "  %s streaming bandwidth, %d thread%s...\n", w->name, st->threads[ti],
                    st->threads[ti] == 1 ? "" : "s");
            measure_bandwidth(st, wi, st->threads[ti], data.logits, data.grad, (size_t)workload_elements(w),
                              &res->bw[res->bw_count]);
            res->bw_count++;
        }
    }
    focal_loss_destroy(loss);
    bench_data_free(&data);
}

/* ---- the configuration matrix -------------------------------------------- */

/* Whether the run includes row ci on shape wi. */
static int config_selected(const settings *st, int wi, int ci)
{
    const bench_config *cfg = &BENCH_CONFIGS[ci];
    const workload *w = &WORKLOADS[wi];
    if (!w->in_matrix || !bench_config_applies(cfg, w) || st->matrix == MATRIX_NONE)
        return 0;
    const int is_base = strcmp(cfg->name, "base") == 0;
    if (is_base)
        return 1;   /* every ratio is to the base */
    if (st->config_name_count > 0) {
        for (int i = 0; i < st->config_name_count; i++)
            if (strcmp(st->config_names[i], cfg->name) == 0)
                return st->matrix != MATRIX_BASE;
        return 0;
    }
    return st->matrix == MATRIX_FULL || (st->matrix == MATRIX_REDUCED && cfg->reduced);
}

static int shape_has_matrix(const settings *st, int wi)
{
    if (!st->selected[wi] || !WORKLOADS[wi].in_matrix || st->matrix == MATRIX_NONE)
        return 0;
    return 1;
}

static void matrix_child(const settings *st, int wi, int dtype, results *res)
{
    const workload *w = &WORKLOADS[wi];
    unsigned needs = 0;
    for (int ci = 0; ci < BENCH_CONFIG_COUNT; ci++) {
        if (!config_selected(st, wi, ci))
            continue;
        bench_settings s;
        bench_resolve(w, &BENCH_CONFIGS[ci], &s);
        if (s.storage != STORAGE_RUN && dtype != F32)
            continue; /* half storage: timed in the float32 run only */
        needs |= bench_needs(w, &s);
    }
    const double t0 = now_s();
    bench_data data;
    bench_data_init(&data, wi, dtype, w->n, w->inner, needs);
    fprintf(stderr, "  matrix %s %s: data prepared in %.1f s (%.0f MB)\n", w->name, DTYPE_NAMES[dtype], now_s() - t0,
            (double)data.bytes * 1e-6);
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    for (int ci = 0; ci < BENCH_CONFIG_COUNT; ci++) {
        if (!config_selected(st, wi, ci))
            continue;
        const bench_config *cfg = &BENCH_CONFIGS[ci];
        bench_settings s;
        bench_resolve(w, cfg, &s);
        if (s.storage != STORAGE_RUN && dtype != F32)
            continue;
        /* Every thread count for the base, the first for the others. */
        const int thread_counts = strcmp(cfg->name, "base") == 0 ? st->thread_count : 1;
        for (int ti = 0; ti < thread_counts && res->matrix_count < MAX_MATRIX; ti++) {
            matrix_result *m = &res->matrix[res->matrix_count++];
            *m = (matrix_result){.shape = wi, .config = ci, .dtype = dtype, .threads = st->threads[ti]};
            m->bytes = bench_fused_bytes(&data, &s);
            fprintf(stderr, "  matrix %s %s %s, %d thread%s...\n", w->name, cfg->name, DTYPE_NAMES[dtype],
                    st->threads[ti], st->threads[ti] == 1 ? "" : "s");
            focal_loss *loss = NULL;
            char err[sizeof m->error];
            if (bench_configure(&loss, w, &s, st->threads[ti], err, sizeof err) != FOCAL_OK) {
                snprintf(m->error, sizeof m->error, "%s", err);
                continue;
            }
            m->hwm_reset = reset_peak_rss();
            const long before = status_kib("VmRSS");
            call_ctx k = {loss, &data, &s, OP_FUSED, 0};
            int64_t calls;
            const focal_status status = measure_call(st, &k, &m->runs, &calls, &m->median_s, &m->min_s);
            const long after = status_kib("VmHWM");
            if (status != FOCAL_OK) {
                snprintf(m->error, sizeof m->error, "%s: %s", focal_status_string(status), focal_last_error());
                m->runs = 0;
            }
            m->mem_measured = before >= 0 && after >= 0;
            m->extra_kib = after > before ? after - before : 0;
            focal_loss_destroy(loss);
        }
    }
    bench_data_free(&data);
}

/* ---- reporting ----------------------------------------------------------- */

static const timing *find_timing(const results *res, int wi, int dtype, int op, int threads)
{
    for (int i = 0; i < res->timing_count; i++) {
        const timing *t = &res->timings[i];
        if (t->workload == wi && t->dtype == dtype && t->op == op && t->threads == threads && !t->failed)
            return t;
    }
    return NULL;
}

static const bandwidth *find_bandwidth(const results *res, int wi, int threads)
{
    for (int i = 0; i < res->bw_count; i++)
        if (res->bw[i].workload == wi && res->bw[i].threads == threads)
            return &res->bw[i];
    return NULL;
}

static const matrix_result *find_matrix(const results *res, int wi, int ci, int dtype, int threads)
{
    for (int i = 0; i < res->matrix_count; i++) {
        const matrix_result *m = &res->matrix[i];
        if (m->shape == wi && m->config == ci && m->dtype == dtype && m->threads == threads)
            return m;
    }
    return NULL;
}

static void print_workload(const settings *st, const results *res, int wi)
{
    const workload *w = &WORKLOADS[wi];
    const double e = (double)workload_elements(w);
    char description[512];
    workload_description(w, description, sizeof description);
    printf("\n%s: %s; %.0f elements\n", w->name, description, e);
    if (w->per_call)
        printf("  dtype threads |  forward ns/call  Melem/s | backward ns/call  Melem/s |    fused ns/call  Melem/s\n");
    else
        printf("  dtype threads |   forward ms  Melem/s |  backward ms  Melem/s |     fused ms  Melem/s\n");
    for (int dtype = 0; dtype < 2; dtype++) {
        for (int ti = 0; ti < st->thread_count; ti++) {
            printf("  %-5s %7d |", DTYPE_NAMES[dtype], st->threads[ti]);
            for (int op = 0; op < OP_COUNT; op++) {
                const timing *t = find_timing(res, wi, dtype, op, st->threads[ti]);
                if (t == NULL)
                    printf(w->per_call ? " %16s %8s |" : " %12s %8s |", "-", "-");
                else if (w->per_call)
                    printf(" %16.0f %8.1f |", t->median_s * 1e9, e / t->median_s * 1e-6);
                else
                    printf(" %12.2f %8.1f |", t->median_s * 1e3, e / t->median_s * 1e-6);
            }
            printf("\n");
        }
    }
    for (int dtype = 0; dtype < 2; dtype++) {
        const memory *m = &res->mem[wi][dtype];
        if (!m->measured)
            continue;
        printf("  memory %s: %ld KiB beyond inputs and outputs (peak RSS %ld KiB, resident before the calls %ld KiB, buffers %ld KiB%s)\n",
               DTYPE_NAMES[dtype], m->extra_kib, m->hwm_after_kib, m->rss_before_kib, m->buffers_kib,
               m->hwm_reset ? "" : "; peak mark not reset, figure is an upper bound");
    }
    for (int ti = 0; ti < st->thread_count; ti++) {
        const bandwidth *b = find_bandwidth(res, wi, st->threads[ti]);
        const timing *t = find_timing(res, wi, F32, OP_FUSED, st->threads[ti]);
        if (b == NULL)
            continue;
        printf("  %d thread%s: streaming read+write over %.1f MB: scale %.2f GB/s, memcpy %.2f GB/s (best; median %.2f, %.2f)",
               st->threads[ti], st->threads[ti] == 1 ? " " : "s", b->bytes * 1e-6, b->scale_best, b->copy_best,
               b->scale_median, b->copy_median);
        if (t != NULL) {
            const double gbs = fused_bytes(w, F32) / t->median_s * 1e-9;
            printf("; fused f32 moves %.1f MB at %.2f GB/s = %.1f%% of %.2f GB/s",
                   fused_bytes(w, F32) * 1e-6, gbs, 100.0 * gbs / bandwidth_limit(b), bandwidth_limit(b));
        }
        printf("\n");
    }
    fflush(stdout);
}

static void print_matrix(const settings *st, const results *res, int wi)
{
    const workload *w = &WORKLOADS[wi];
    const int base = bench_find_config("base", w);
    printf("\nmatrix on %s (%s), fused forward+backward; ratio = time / base f32 time at the same thread count\n",
           w->name, w->problem);
    printf("  %-24s %7s | %12s %7s | %12s %7s | %9s\n", "configuration", "threads", "f32 ms", "ratio", "f64 ms", "ratio",
           "extra KiB");
    for (int ci = 0; ci < BENCH_CONFIG_COUNT; ci++) {
        if (!config_selected(st, wi, ci))
            continue;
        const int thread_counts = ci == base ? st->thread_count : 1;
        for (int ti = 0; ti < thread_counts; ti++) {
            const int th = st->threads[ti];
            const matrix_result *b = find_matrix(res, wi, base, F32, th);
            printf("  %-24s %7d |", BENCH_CONFIGS[ci].name, th);
            long extra = -1;
            const char *error = NULL;
            for (int dtype = 0; dtype < 2; dtype++) {
                const matrix_result *m = find_matrix(res, wi, ci, dtype, th);
                if (m == NULL || m->runs == 0) {
                    printf(" %12s %7s |", m == NULL ? "-" : "error", "-");
                    if (m != NULL && m->error[0])
                        error = m->error;
                    continue;
                }
                if (b != NULL && b->runs > 0)
                    printf(" %12.2f %6.2fx |", m->median_s * 1e3, m->median_s / b->median_s);
                else
                    printf(" %12.2f %7s |", m->median_s * 1e3, "-");
                if (m->mem_measured && m->extra_kib > extra)
                    extra = m->extra_kib;
            }
            if (extra >= 0)
                printf(" %9ld", extra);
            printf("\n");
            if (error != NULL)
                printf("    error: %s\n", error);
        }
    }
    fflush(stdout);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_string_or_null(FILE *f, const char *s)
{
    if (s != NULL)
        json_string(f, s);
    else
        fputs("null", f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static const char *json_bool(int v) { return v ? "true" : "false"; }

static void write_json_machine(FILE *f, const machine *m)
{
    fprintf(f, "  \"machine\": {\n    \"cpu\": ");
    json_string(f, m->cpu);
    fprintf(f, ",\n    \"logical_cpus\": %d,\n    \"cores\": %d,\n    \"memory_kib\": %ld,\n    \"kernel\": ",
            m->logical_cpus, m->cores, m->mem_kib);
    json_string(f, m->kernel);
    fprintf(f, ",\n    \"os\": ");
    json_string(f, m->os);
    fprintf(f, ",\n    \"caches\": [");
    for (int i = 0; i < m->cache_count; i++) {
        fputs(i ? ", " : "", f);
        json_string(f, m->caches[i]);
    }
    fprintf(f, "],\n    \"cpu_avx2\": %s,\n    \"cpu_fma\": %s,\n    \"cpu_avx512\": {", json_bool(m->cpu_avx2),
            json_bool(m->cpu_fma));
    for (int i = 0; i < 4; i++)
        fprintf(f, "%s\"%s\": %s", i ? ", " : "", AVX512_FEATURES[i], json_bool(m->cpu_avx512[i]));
    fprintf(f, "},\n    \"cpu_tables\": [");
    for (int t = 0, first = 1; t < TABLE_COUNT; t++) {
        if (!m->cpu_table[t])
            continue;
        fprintf(f, "%s\"%s\"", first ? "" : ", ", TABLES[t]);
        first = 0;
    }
    fprintf(f, "],\n    \"compiler\": ");
    json_string(f, BENCH_COMPILER);
    fprintf(f, ",\n    \"build_type\": ");
    json_string(f, FOCAL_BENCH_BUILD_TYPE);
    fprintf(f, ",\n    \"c_flags\": ");
    json_string(f, FOCAL_BENCH_C_FLAGS);
    fprintf(f, ",\n    \"libfocal_version\": ");
    json_string(f, focal_version_string());
    fprintf(f, ",\n    \"header_version\": ");
    json_string(f, FOCAL_VERSION_STRING);
    fprintf(f, ",\n    \"focal_isa\": ");
    json_string(f, m->isa);
    fprintf(f, ",\n    \"focal_max_isa_env\": ");
    json_string_or_null(f, m->max_isa_env);
    fprintf(f, ",\n    \"loadavg_start\": ");
    json_string(f, m->load_start);
    fprintf(f, ",\n    \"loadavg_end\": ");
    json_string(f, m->load_end);
    fprintf(f, "\n  },\n");
}

static void write_json_date(FILE *f)
{
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_string(f, date);
}

static int write_json(const char *path, const settings *st, const machine *m, const results *res)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "focal_bench: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    fprintf(f, "{\n  \"tool\": \"focal_bench\",\n  \"schema\": 2,\n  \"date\": ");
    write_json_date(f);
    fprintf(f, ",\n  \"quick\": %s,\n  \"threads\": [", json_bool(st->quick));
    for (int i = 0; i < st->thread_count; i++)
        fprintf(f, "%s%d", i ? ", " : "", st->threads[i]);
    fprintf(f, "],\n  \"ops\": [");
    for (int op = 0, first = 1; op < OP_COUNT; op++) {
        if (st->ops[op]) {
            fprintf(f, "%s\"%s\"", first ? "" : ", ", OP_NAMES[op]);
            first = 0;
        }
    }
    fprintf(f, "],\n  \"matrix_policy\": \"%s\",\n  \"matrix_config_filter\": ", MATRIX_POLICY_NAMES[st->matrix]);
    if (st->config_name_count > 0) {
        fputc('[', f);
        for (int i = 0; i < st->config_name_count; i++) {
            fputs(i ? ", " : "", f);
            json_string(f, st->config_names[i]);
        }
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\n  \"repeats\": {\"warmup\": %d, \"min_runs\": %d, \"min_runs_slow\": %d, \"max_runs\": %d, "
               "\"slow_s\": ",
            st->warmup, st->min_runs, st->slow_min_runs, st->max_runs);
    json_number(f, st->slow_s);
    fprintf(f, ", \"budget_s\": ");
    json_number(f, st->budget_s);
    fprintf(f, ", \"per_call_batches\": %d},\n", st->small_samples);
    fprintf(f, "  \"table\": {\"requested\": ");
    json_string_or_null(f, m->max_isa_env);
    fprintf(f, ", \"expected\": ");
    json_string_or_null(f, st->expect_isa);
    fprintf(f, ", \"focal_isa\": ");
    json_string(f, m->isa);
    fprintf(f, "},\n");
    write_json_machine(f, m);

    fprintf(f, "  \"workloads\": [\n");
    int first = 1;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        if (!st->selected[wi])
            continue;
        const workload *w = &WORKLOADS[wi];
        bench_settings base;
        bench_resolve(w, NULL, &base);
        char description[512];
        workload_description(w, description, sizeof description);
        fprintf(f, "%s    {\"name\": ", first ? "" : ",\n");
        first = 0;
        json_string(f, w->name);
        fprintf(f, ", \"description\": ");
        json_string(f, description);
        fprintf(f, ", \"mode\": \"%s\", \"targets\": \"%s\", \"n\": %lld, \"c\": %lld, \"inner\": %lld, "
                   "\"elements\": %lld, \"per_call\": %s, \"in_matrix\": %s, \"fused_bytes_f32\": ",
                w->mode == FOCAL_MODE_SOFTMAX ? "softmax" : "sigmoid",
                base.targets == TARGETS_INDEX ? "index" : "dense", (long long)w->n, (long long)w->c,
                (long long)w->inner, (long long)workload_elements(w), json_bool(w->per_call),
                json_bool(w->in_matrix));
        json_number(f, fused_bytes(w, F32));
        fprintf(f, ", \"fused_bytes_f64\": ");
        json_number(f, fused_bytes(w, F64));
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");

    fprintf(f, "  \"timings\": [\n");
    first = 1;
    for (int i = 0; i < res->timing_count; i++) {
        const timing *t = &res->timings[i];
        if (t->failed)
            continue;
        const workload *w = &WORKLOADS[t->workload];
        const double e = (double)workload_elements(w);
        fprintf(f, "%s    {\"workload\": \"%s\", \"dtype\": \"%s\", \"op\": \"%s\", \"threads\": %d, \"runs\": %d, "
                   "\"calls_per_run\": %lld, \"median_ms\": ",
                first ? "" : ",\n", w->name, DTYPE_NAMES[t->dtype], OP_NAMES[t->op], t->threads, t->runs,
                (long long)t->calls_per_run);
        first = 0;
        json_number(f, t->median_s * 1e3);
        fprintf(f, ", \"min_ms\": ");
        json_number(f, t->min_s * 1e3);
        fprintf(f, ", \"ns_per_call\": ");
        json_number(f, t->median_s * 1e9);
        fprintf(f, ", \"melem_per_s\": ");
        json_number(f, e / t->median_s * 1e-6);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");

    fprintf(f, "  \"memory\": [\n");
    first = 1;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        for (int dtype = 0; dtype < 2; dtype++) {
            const memory *mm = &res->mem[wi][dtype];
            if (!mm->measured)
                continue;
            fprintf(f, "%s    {\"workload\": \"%s\", \"dtype\": \"%s\", \"extra_kib\": %ld, \"buffers_kib\": %ld, "
                       "\"rss_before_kib\": %ld, \"hwm_after_kib\": %ld, \"maxrss_kib\": %ld, \"peak_reset\": %s}",
                    first ? "" : ",\n", WORKLOADS[wi].name, DTYPE_NAMES[dtype], mm->extra_kib, mm->buffers_kib,
                    mm->rss_before_kib, mm->hwm_after_kib, mm->maxrss_kib, json_bool(mm->hwm_reset));
            first = 0;
        }
    }
    fprintf(f, "\n  ],\n");

    fprintf(f, "  \"bandwidth\": [\n");
    for (int i = 0; i < res->bw_count; i++) {
        const bandwidth *b = &res->bw[i];
        fprintf(f, "    {\"workload\": \"%s\", \"threads\": %d, \"bytes\": ", WORKLOADS[b->workload].name, b->threads);
        json_number(f, b->bytes);
        fprintf(f, ", \"scale_gbs_best\": ");
        json_number(f, b->scale_best);
        fprintf(f, ", \"scale_gbs_median\": ");
        json_number(f, b->scale_median);
        fprintf(f, ", \"memcpy_gbs_best\": ");
        json_number(f, b->copy_best);
        fprintf(f, ", \"memcpy_gbs_median\": ");
        json_number(f, b->copy_median);
        fprintf(f, ", \"limit_gbs\": ");
        json_number(f, bandwidth_limit(b));
        fprintf(f, "}%s\n", i + 1 < res->bw_count ? "," : "");
    }
    fprintf(f, "  ],\n");

    fprintf(f, "  \"fused_f32_bandwidth\": [\n");
    first = 1;
    for (int i = 0; i < res->bw_count; i++) {
        const bandwidth *b = &res->bw[i];
        const timing *t = find_timing(res, b->workload, F32, OP_FUSED, b->threads);
        if (t == NULL)
            continue;
        const double bytes = fused_bytes(&WORKLOADS[b->workload], F32), gbs = bytes / t->median_s * 1e-9;
        fprintf(f, "%s    {\"workload\": \"%s\", \"threads\": %d, \"bytes\": ", first ? "" : ",\n",
                WORKLOADS[b->workload].name, b->threads);
        first = 0;
        json_number(f, bytes);
        fprintf(f, ", \"fused_ms\": ");
        json_number(f, t->median_s * 1e3);
        fprintf(f, ", \"gbs\": ");
        json_number(f, gbs);
        fprintf(f, ", \"limit_gbs\": ");
        json_number(f, bandwidth_limit(b));
        fprintf(f, ", \"percent\": ");
        json_number(f, 100.0 * gbs / bandwidth_limit(b));
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");

    fprintf(f, "  \"exp\": [\n");
    for (int i = 0; i < res->exp_count; i++) {
        const exp_result *e = &res->exps[i];
        fprintf(f, "    {\"isa\": ");
        json_string(f, e->isa);
        fprintf(f, ", \"threads\": %d, \"block_floats\": %d, \"gexp_per_s\": ", e->threads, EXP_BLOCK);
        json_number(f, e->gexp_s);
        fprintf(f, ", \"max_rel_error\": ");
        json_number(f, e->max_rel_error);
        fprintf(f, "}%s\n", i + 1 < res->exp_count ? "," : "");
    }
    fprintf(f, "  ],\n");

    fprintf(f, "  \"matrix_threads\": %d,\n  \"matrix_shapes\": [\n", st->threads[0]);
    first = 1;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        if (!shape_has_matrix(st, wi))
            continue;
        const workload *w = &WORKLOADS[wi];
        bench_settings base;
        bench_resolve(w, NULL, &base);
        char text[512];
        bench_describe(&base, text, sizeof text);
        fprintf(f, "%s    {\"name\": \"%s\", \"problem\": ", first ? "" : ",\n", w->name);
        first = 0;
        json_string(f, w->problem);
        fprintf(f, ", \"mode\": \"%s\", \"n\": %lld, \"c\": %lld, \"inner\": %lld, \"elements\": %lld, \"base\": ",
                w->mode == FOCAL_MODE_SOFTMAX ? "softmax" : "sigmoid", (long long)w->n, (long long)w->c,
                (long long)w->inner, (long long)workload_elements(w));
        json_string(f, text);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"matrix_configs\": [\n");
    first = 1;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        if (!shape_has_matrix(st, wi))
            continue;
        const workload *w = &WORKLOADS[wi];
        for (int ci = 0; ci < BENCH_CONFIG_COUNT; ci++) {
            const bench_config *cfg = &BENCH_CONFIGS[ci];
            if (!bench_config_applies(cfg, w))
                continue;
            bench_settings s;
            bench_resolve(w, cfg, &s);
            char text[512];
            bench_describe(&s, text, sizeof text);
            fprintf(f, "%s    {\"shape\": \"%s\", \"name\": ", first ? "" : ",\n", w->name);
            first = 0;
            json_string(f, cfg->name);
            fprintf(f, ", \"what\": ");
            json_string(f, cfg->what);
            fprintf(f, ", \"settings\": ");
            json_string(f, text);
            fprintf(f, ", \"reduced\": %s, \"selected\": %s}", json_bool(cfg->reduced),
                    json_bool(config_selected(st, wi, ci)));
        }
    }
    fprintf(f, "\n  ],\n  \"matrix\": [\n");
    for (int i = 0; i < res->matrix_count; i++) {
        const matrix_result *r = &res->matrix[i];
        const workload *w = &WORKLOADS[r->shape];
        fprintf(f, "    {\"shape\": \"%s\", \"config\": ", w->name);
        json_string(f, BENCH_CONFIGS[r->config].name);
        fprintf(f, ", \"dtype\": \"%s\", \"threads\": %d, \"runs\": %d, \"median_ms\": ", DTYPE_NAMES[r->dtype],
                r->threads, r->runs);
        const int ok = r->runs > 0;
        json_number(f, ok ? r->median_s * 1e3 : NAN);
        fprintf(f, ", \"min_ms\": ");
        json_number(f, ok ? r->min_s * 1e3 : NAN);
        fprintf(f, ", \"melem_per_s\": ");
        json_number(f, ok ? (double)workload_elements(w) / r->median_s * 1e-6 : NAN);
        fprintf(f, ", \"bytes\": ");
        json_number(f, r->bytes);
        fprintf(f, ", \"gbs\": ");
        json_number(f, ok ? r->bytes / r->median_s * 1e-9 : NAN);
        fprintf(f, ", \"extra_kib\": ");
        if (ok && r->mem_measured)
            fprintf(f, "%ld", r->extra_kib);
        else
            fputs("null", f);
        fprintf(f, ", \"peak_reset\": %s, \"error\": ", json_bool(r->hwm_reset));
        json_string_or_null(f, r->error[0] ? r->error : NULL);
        fprintf(f, "}%s\n", i + 1 < res->matrix_count ? "," : "");
    }
    fprintf(f, "  ],\n  \"error\": ");
    json_string_or_null(f, res->error[0] ? res->error : NULL);
    fprintf(f, "\n}\n");
    const int ok = !ferror(f);
    return fclose(f) == 0 && ok;
}

/* ---- which kernel tables can run ----------------------------------------- */

/* focal_isa() in a fresh process of this program with FOCAL_MAX_ISA = cap
 * (unset for NULL): libfocal picks its table once per process. */
static void probe_isa(const char *self, const char *cap, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    int fds[2];
    if (pipe(fds) != 0)
        return;
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (cap != NULL)
            setenv("FOCAL_MAX_ISA", cap, 1);
        else
            unsetenv("FOCAL_MAX_ISA");
        execl(self, self, "--print-isa", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[64];
    size_t len = 0;
    ssize_t got;
    while (len + 1 < sizeof buf && (got = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)got;
    buf[len] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[strcspn(buf, "\r\n")] = '\0';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && buf[0])
        snprintf(out, size, "%s", buf);
}

static int probe_tables(const char *self, const machine *m, const char *json_path)
{
    char isa[TABLE_COUNT][64], reason[TABLE_COUNT][256], fallback[64];
    const char *status[TABLE_COUNT];
    probe_isa(self, NULL, fallback, sizeof fallback);
    for (int t = 0; t < TABLE_COUNT; t++) {
        probe_isa(self, TABLES[t], isa[t], sizeof isa[t]);
        if (!m->cpu_table[t]) {
            status[t] = "cpu";
            snprintf(reason[t], sizeof reason[t], "this CPU cannot run it (it lacks %s)", m->cpu_missing[t]);
        } else if (strcmp(isa[t], TABLES[t]) != 0) {
            status[t] = "library";
            snprintf(reason[t], sizeof reason[t],
                     "this build of libfocal has no %s table: with FOCAL_MAX_ISA=%s, focal_isa() says \"%s\"",
                     TABLES[t], TABLES[t], isa[t]);
        } else {
            status[t] = "run";
            snprintf(reason[t], sizeof reason[t], "with FOCAL_MAX_ISA=%s, focal_isa() says \"%s\"", TABLES[t],
                     isa[t]);
        }
        printf("%-7s %s: %s\n", TABLES[t], strcmp(status[t], "run") == 0 ? "run" : "not run", reason[t]);
    }
    printf("default: focal_isa() says \"%s\" without FOCAL_MAX_ISA\nrunnable:", fallback);
    for (int t = 0; t < TABLE_COUNT; t++)
        if (strcmp(status[t], "run") == 0)
            printf(" %s", TABLES[t]);
    printf("\n");
    if (json_path == NULL)
        return 1;
    FILE *f = fopen(json_path, "w");
    if (f == NULL) {
        fprintf(stderr, "focal_bench: cannot write %s: %s\n", json_path, strerror(errno));
        return 0;
    }
    fprintf(f, "{\n  \"tool\": \"focal_bench --tables\",\n  \"schema\": 2,\n  \"date\": ");
    write_json_date(f);
    fprintf(f, ",\n");
    write_json_machine(f, m);
    fprintf(f, "  \"default_isa\": ");
    json_string(f, fallback);
    fprintf(f, ",\n  \"tables\": [\n");
    for (int t = 0; t < TABLE_COUNT; t++) {
        fprintf(f, "    {\"name\": \"%s\", \"cpu\": %s, \"cpu_missing\": ", TABLES[t], json_bool(m->cpu_table[t]));
        json_string(f, m->cpu_missing[t]);
        fprintf(f, ", \"focal_isa\": ");
        json_string(f, isa[t]);
        fprintf(f, ", \"status\": \"%s\", \"reason\": ", status[t]);
        json_string(f, reason[t]);
        fprintf(f, "}%s\n", t + 1 < TABLE_COUNT ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    const int ok = !ferror(f);
    return fclose(f) == 0 && ok;
}

static void list_configs(void)
{
    printf("%-6s %-24s %-7s %s\n", "shape", "configuration", "reduced", "settings");
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        const workload *w = &WORKLOADS[wi];
        if (!w->in_matrix)
            continue;
        for (int ci = 0; ci < BENCH_CONFIG_COUNT; ci++) {
            const bench_config *cfg = &BENCH_CONFIGS[ci];
            if (!bench_config_applies(cfg, w))
                continue;
            bench_settings s;
            bench_resolve(w, cfg, &s);
            char text[512];
            bench_describe(&s, text, sizeof text);
            printf("%-6s %-24s %-7s %s\n", w->name, cfg->name, cfg->reduced ? "yes" : "", text);
        }
    }
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: focal_bench [options]\n"
            "  --quick            fewer repeats, for a smoke test\n"
            "  --workload NAMES   only these workloads (cls, seg, det, small); the matrix runs on cls, seg, det\n"
            "  --threads LIST     thread counts, e.g. 1,2 (default 1,2); matrix rows other than base run\n"
            "                     at the first\n"
            "  --ops LIST         headline operations: forward,backward,fused (default all), or none\n"
            "  --matrix POLICY    full (default), reduced (the rows marked reduced), base, none\n"
            "  --config NAMES     matrix rows by name (base is always run), e.g. gamma-0.5,weights\n"
            "  --expect-isa NAME  measure nothing unless focal_isa() says NAME\n"
            "  --json FILE        also write every figure to FILE as JSON\n"
            "  --tables           which kernel tables this CPU and this libfocal can run, then exit\n"
            "  --print-isa        print focal_isa() and exit\n"
            "  --list-configs     print the configuration matrix and exit\n");
}

static int parse_workloads(const char *arg, settings *st)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    memset(st->selected, 0, sizeof st->selected);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        const int wi = bench_find_shape(tok);
        if (wi < 0) {
            fprintf(stderr, "focal_bench: unknown workload '%s'\n", tok);
            return 0;
        }
        st->selected[wi] = 1;
    }
    return 1;
}

static int parse_threads(const char *arg, settings *st)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    st->thread_count = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        const long v = strtol(tok, &end, 10);
        if (*end != '\0' || v < 1 || v > 64 || st->thread_count >= MAX_THREAD_COUNTS) {
            fprintf(stderr, "focal_bench: bad thread list '%s' (1..64, at most %d entries)\n", arg,
                    MAX_THREAD_COUNTS);
            return 0;
        }
        st->threads[st->thread_count++] = (int)v;
    }
    return st->thread_count > 0;
}

static int parse_ops(const char *arg, settings *st)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    memset(st->ops, 0, sizeof st->ops);
    if (strcmp(arg, "none") == 0)
        return 1;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int op = 0; op < OP_COUNT; op++)
            if (strcmp(tok, OP_NAMES[op]) == 0)
                st->ops[op] = found = 1;
        if (!found) {
            fprintf(stderr, "focal_bench: unknown operation '%s' (forward, backward, fused, none)\n", tok);
            return 0;
        }
    }
    return 1;
}

static int parse_configs(const char *arg, settings *st)
{
    snprintf(st->config_arg, sizeof st->config_arg, "%s", arg);
    st->config_name_count = 0;
    for (char *save = NULL, *tok = strtok_r(st->config_arg, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int ci = 0; ci < BENCH_CONFIG_COUNT; ci++)
            found |= strcmp(BENCH_CONFIGS[ci].name, tok) == 0;
        if (!found || st->config_name_count >= MAX_CONFIG_NAMES) {
            fprintf(stderr, "focal_bench: unknown configuration '%s' (focal_bench --list-configs)\n", tok);
            return 0;
        }
        st->config_names[st->config_name_count++] = tok;
    }
    return 1;
}

typedef enum action { ACTION_MEASURE, ACTION_TABLES, ACTION_PRINT_ISA, ACTION_LIST } action;

static int parse_args(int argc, char **argv, settings *st, action *act)
{
    *st = (settings){0};
    *act = ACTION_MEASURE;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++)
        st->selected[wi] = 1;
    for (int op = 0; op < OP_COUNT; op++)
        st->ops[op] = 1;
    st->threads[0] = 1;
    st->threads[1] = 2;
    st->thread_count = 2;
    st->matrix = MATRIX_FULL;
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--quick") == 0) {
            st->quick = 1;
        } else if (strcmp(argv[i], "--workload") == 0 && has_value) {
            if (!parse_workloads(argv[++i], st))
                return 0;
        } else if (strcmp(argv[i], "--threads") == 0 && has_value) {
            if (!parse_threads(argv[++i], st))
                return 0;
        } else if (strcmp(argv[i], "--ops") == 0 && has_value) {
            if (!parse_ops(argv[++i], st))
                return 0;
        } else if (strcmp(argv[i], "--matrix") == 0 && has_value) {
            const char *v = argv[++i];
            int found = 0;
            for (int p = 0; p < 4; p++)
                if (strcmp(v, MATRIX_POLICY_NAMES[p]) == 0)
                    st->matrix = (matrix_policy)p, found = 1;
            if (!found) {
                fprintf(stderr, "focal_bench: --matrix takes full, reduced, base or none\n");
                return 0;
            }
        } else if (strcmp(argv[i], "--config") == 0 && has_value) {
            if (!parse_configs(argv[++i], st))
                return 0;
        } else if (strcmp(argv[i], "--expect-isa") == 0 && has_value) {
            st->expect_isa = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 && has_value) {
            st->json_path = argv[++i];
        } else if (strcmp(argv[i], "--tables") == 0) {
            *act = ACTION_TABLES;
        } else if (strcmp(argv[i], "--print-isa") == 0) {
            *act = ACTION_PRINT_ISA;
        } else if (strcmp(argv[i], "--list-configs") == 0) {
            *act = ACTION_LIST;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            return 0;
        }
    }
    if (st->quick) {
        st->warmup = 1;
        st->min_runs = 2;
        st->slow_min_runs = 1;
        st->slow_s = 0.5;
        st->max_runs = 3;
        st->budget_s = 0.3;
        st->small_samples = 5;
        st->small_sample_s = 0.002;
    } else {
        st->warmup = 1;
        st->min_runs = 5;
        st->slow_min_runs = 3;
        st->slow_s = 0.5;
        st->max_runs = 7;
        st->budget_s = 2.0;
        st->small_samples = 21;
        st->small_sample_s = 0.01;
    }
    return 1;
}

/* Runs fn(st, wi, dtype, res) in a child process; 1 when it succeeded. */
static int run_child(void (*fn)(const settings *, int, int, results *), const settings *st, int wi, int dtype,
                     results *res, const char *what)
{
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "focal_bench: fork: %s\n", strerror(errno));
        exit(2);
    }
    if (pid == 0) {
        fn(st, wi, dtype, res);
        fflush(stderr);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 1;
    if (res->error[0] == '\0')
        snprintf(res->error, sizeof res->error, "%s %s %s: the measuring process %s %d", what, WORKLOADS[wi].name,
                 DTYPE_NAMES[dtype], WIFSIGNALED(status) ? "died of signal" : "exited with",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    fprintf(stderr, "focal_bench: %s\n", res->error);
    return 0;
}

int main(int argc, char **argv)
{
    settings st;
    action act;
    if (!parse_args(argc, argv, &st, &act))
        return 2;
    if (act == ACTION_PRINT_ISA) {
        printf("%s\n", library_isa());
        return 0;
    }
    if (act == ACTION_LIST) {
        list_configs();
        return 0;
    }
    machine m;
    describe_machine(&m);
    if (act == ACTION_TABLES) {
        char self[4096];
        const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len > 0)
            self[len] = '\0';
        else
            snprintf(self, sizeof self, "%s", argv[0]);
        return probe_tables(self, &m, st.json_path) ? 0 : 2;
    }

    results *res = mmap(NULL, sizeof(results), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED) {
        fprintf(stderr, "focal_bench: mmap: %s\n", strerror(errno));
        return 2;
    }
    memset(res, 0, sizeof *res);
    g_results = res;

    printf("libfocal %s (header %s), kernel table: %s%s%s\n", focal_version_string(), FOCAL_VERSION_STRING, m.isa,
           m.max_isa_env ? ", FOCAL_MAX_ISA=" : "", m.max_isa_env ? m.max_isa_env : "");
    printf("CPU: %s; %d logical CPUs, %d cores; %.1f GiB; %s; %s\n", m.cpu, m.logical_cpus, m.cores,
           (double)m.mem_kib / (1024.0 * 1024.0), m.os, m.kernel);
    printf("compiler: %s; build %s, flags '%s'%s\n", BENCH_COMPILER, FOCAL_BENCH_BUILD_TYPE, FOCAL_BENCH_C_FLAGS,
           st.quick ? "; QUICK run (few repeats)" : "");
    printf("matrix: %s\n", MATRIX_POLICY_NAMES[st.matrix]);
    printf("load average (1, 5, 15 min): %s\n", m.load_start);
    fflush(stdout);

    int failures = 0;
    if (st.expect_isa != NULL && strcmp(st.expect_isa, m.isa) != 0) {
        snprintf(res->error, sizeof res->error,
                 "expected the %s table, but focal_isa() says \"%s\" (FOCAL_MAX_ISA=%s): nothing measured",
                 st.expect_isa, m.isa, m.max_isa_env ? m.max_isa_env : "(unset)");
        fprintf(stderr, "focal_bench: %s\n", res->error);
        failures++;
    } else {
        fprintf(stderr, "exp throughput...\n");
        measure_exp(&st, &m, res);
        printf("\nexp throughput (4096 floats resident in L1, max relative error vs exp):\n");
        for (int i = 0; i < res->exp_count; i++)
            printf("  %-22s %d thread%s: %7.2f Gexp/s (max rel. error %.2g)\n", res->exps[i].isa,
                   res->exps[i].threads, res->exps[i].threads == 1 ? " " : "s", res->exps[i].gexp_s,
                   res->exps[i].max_rel_error);
        fflush(stdout);

        int any_op = 0;
        for (int op = 0; op < OP_COUNT; op++)
            any_op |= st.ops[op];
        for (int wi = 0; wi < WORKLOAD_COUNT && any_op; wi++) {
            if (!st.selected[wi])
                continue;
            for (int dtype = 0; dtype < 2; dtype++)
                failures += !run_child(headline_child, &st, wi, dtype, res, "headline");
            print_workload(&st, res, wi);
        }
        for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
            if (!shape_has_matrix(&st, wi))
                continue;
            for (int dtype = 0; dtype < 2; dtype++)
                failures += !run_child(matrix_child, &st, wi, dtype, res, "matrix");
            print_matrix(&st, res, wi);
        }
        for (int i = 0; i < res->matrix_count; i++)
            if (res->matrix[i].error[0] && res->error[0] == '\0')
                snprintf(res->error, sizeof res->error, "matrix %s %s %s: %s", WORKLOADS[res->matrix[i].shape].name,
                         BENCH_CONFIGS[res->matrix[i].config].name, DTYPE_NAMES[res->matrix[i].dtype],
                         res->matrix[i].error);
    }

    read_loadavg(m.load_end, sizeof m.load_end);
    printf("\nload average (1, 5, 15 min): %s at the start, %s at the end\n", m.load_start, m.load_end);
    if (st.json_path != NULL && !write_json(st.json_path, &st, &m, res))
        return 2;
    return failures || res->error[0] ? 1 : 0;
}
