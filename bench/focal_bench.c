/* focal_bench: libfocal's throughput, per-call latency and extra memory on
 * four workloads, next to the machine's own limits (streaming read+write
 * bandwidth over the same sizes, and the throughput of a vectorised exp),
 * measured in the same run. bench/README.md explains every figure.
 *
 *   focal_bench [--quick] [--workload NAME[,NAME..]] [--threads LIST] [--json FILE]
 *
 * Each (workload, precision) pair runs in its own child process, which
 * allocates and touches its buffers, resets the kernel's peak-RSS mark
 * (/proc/self/clear_refs) and then times every call: the growth of the peak
 * over the resident set before the calls is the memory libfocal needed
 * beyond the inputs and outputs. */
#define _GNU_SOURCE

#include <focal/focal.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
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

enum { MAX_THREAD_COUNTS = 8, MAX_TIMINGS = 512, MAX_BANDWIDTH = 64, MAX_EXP = 16 };
enum { F32 = 0, F64 = 1 };
enum { OP_FORWARD = 0, OP_BACKWARD = 1, OP_FUSED = 2, OP_COUNT = 3 };

static const char *const DTYPE_NAMES[2] = {"f32", "f64"};
static const char *const OP_NAMES[OP_COUNT] = {"forward", "backward", "fused"};

/* ---- workloads ----------------------------------------------------------- */

typedef struct workload {
    const char *name;
    const char *description;
    focal_mode mode;
    int dense;                  /* dense 0/1 targets (else class indices) */
    int64_t n, c, inner;
    focal_reduction reduction;
    int has_alpha;
    double alpha, gamma;
    double positive_rate;       /* dense targets: fraction of ones */
    int per_call;               /* report ns per call */
} workload;

static const workload WORKLOADS[] = {
    {"cls", "softmax, index targets, (N, C) = (16384, 1000), gamma 2, no alpha, mean",
     FOCAL_MODE_SOFTMAX, 0, 16384, 1000, 1, FOCAL_REDUCTION_MEAN, 0, 0.0, 2.0, 0.0, 0},
    {"seg", "softmax, index targets, NCHW (4, 19, 512, 512), gamma 2, no alpha, mean",
     FOCAL_MODE_SOFTMAX, 0, 4, 19, 512 * 512, FOCAL_REDUCTION_MEAN, 0, 0.0, 2.0, 0.0, 0},
    {"det", "sigmoid, dense 0/1 targets (1% positives), (200000, 80), gamma 2, alpha 0.25, sum over positives",
     FOCAL_MODE_SIGMOID, 1, 200000, 80, 1, FOCAL_REDUCTION_SUM_OVER_POSITIVES, 1, 0.25, 2.0, 0.01, 0},
    {"small", "softmax, index targets, (N, C) = (64, 10), gamma 2, no alpha, mean",
     FOCAL_MODE_SOFTMAX, 0, 64, 10, 1, FOCAL_REDUCTION_MEAN, 0, 0.0, 2.0, 0.0, 1},
};
enum { WORKLOAD_COUNT = (int)(sizeof WORKLOADS / sizeof WORKLOADS[0]) };

static int64_t workload_elements(const workload *w) { return w->n * w->c * w->inner; }
static int64_t workload_positions(const workload *w) { return w->n * w->inner; }

/* Bytes one fused call must move at least: the input and the targets read,
 * the gradient written (no weights in these workloads). */
static double fused_bytes(const workload *w, int dtype)
{
    const double size = dtype == F32 ? 4.0 : 8.0;
    const double e = (double)workload_elements(w);
    const double targets = w->dense ? e * size : (double)workload_positions(w) * 8.0;
    return e * size + targets + e * size;
}

/* ---- settings ------------------------------------------------------------ */

typedef struct settings {
    int quick;
    int selected[WORKLOAD_COUNT];
    int threads[MAX_THREAD_COUNTS];
    int thread_count;
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
    char isa[16];
    int threads;
    double gexp_s;
    double max_rel_error;
} exp_result;

typedef struct results {
    timing timings[MAX_TIMINGS];
    int timing_count;
    bandwidth bw[MAX_BANDWIDTH];
    int bw_count;
    memory mem[WORKLOAD_COUNT][2];
    exp_result exps[MAX_EXP];
    int exp_count;
    char error[512];
} results;

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

/* Buffers start on a 64-byte boundary, as PyTorch's CPU allocator
 * aligns the tensors the peers run on. */
static void *xmalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "focal_bench: out of memory (%zu bytes)\n", bytes);
        exit(2);
    }
    return p;
}

/* xoshiro256** seeded through splitmix64: the same numbers on every
 * platform, so every run times the same data. */
typedef struct rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} rng;

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15u;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        r->s[i] = z ^ (z >> 31);
    }
    r->has_spare = 0;
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

static double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static int64_t rng_below(rng *r, int64_t bound)
{
    return (int64_t)(rng_uniform(r) * (double)bound);
}

static double rng_normal(rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u = rng_uniform(r);
    while (u <= 0)
        u = rng_uniform(r);
    const double v = rng_uniform(r);
    const double radius = sqrt(-2.0 * log(u)), angle = 6.283185307179586 * v;
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

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
#if BENCH_X86
    __builtin_cpu_init();
    m->cpu_avx2 = __builtin_cpu_supports("avx2") != 0;
    m->cpu_fma = __builtin_cpu_supports("fma") != 0;
#else
    m->cpu_avx2 = m->cpu_fma = 0;
#endif
    m->isa = library_isa();
    m->max_isa_env = getenv("FOCAL_MAX_ISA");
    read_loadavg(m->load_start, sizeof m->load_start);
    snprintf(m->load_end, sizeof m->load_end, "unknown");
}

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
    } kernels[2] = {{baseline_isa_name(), exp_kernel_baseline}, {NULL, NULL}};
    int kernel_count = 1;
#if BENCH_X86
    if (m->cpu_avx2 && m->cpu_fma) {
        kernels[1].name = "avx2+fma";
        kernels[1].kernel = exp_kernel_avx2;
        kernel_count = 2;
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
    const workload *w;
    const focal_loss *loss;
    int dtype, op;
    const void *input, *target, *grad_out;
    void *out, *grad;
} call_ctx;

static focal_status run_call(const call_ctx *k)
{
    const workload *w = k->w;
    const int64_t n = w->n, c = w->c, inner = w->inner;
    if (k->dtype == F32) {
        const float *x = k->input, *go = k->grad_out;
        float *out = k->out, *g = k->grad;
        if (w->dense) {
            const float *t = k->target;
            switch (k->op) {
            case OP_FORWARD: return focal_forward_dense_f32(k->loss, n, c, inner, x, t, NULL, out);
            case OP_BACKWARD: return focal_backward_dense_f32(k->loss, n, c, inner, x, t, NULL, go, g);
            default: return focal_forward_backward_dense_f32(k->loss, n, c, inner, x, t, NULL, out, g);
            }
        }
        const int64_t *t = k->target;
        switch (k->op) {
        case OP_FORWARD: return focal_forward_f32(k->loss, n, c, inner, x, t, NULL, out);
        case OP_BACKWARD: return focal_backward_f32(k->loss, n, c, inner, x, t, NULL, go, g);
        default: return focal_forward_backward_f32(k->loss, n, c, inner, x, t, NULL, out, g);
        }
    }
    const double *x = k->input, *go = k->grad_out;
    double *out = k->out, *g = k->grad;
    if (w->dense) {
        const double *t = k->target;
        switch (k->op) {
        case OP_FORWARD: return focal_forward_dense_f64(k->loss, n, c, inner, x, t, NULL, out);
        case OP_BACKWARD: return focal_backward_dense_f64(k->loss, n, c, inner, x, t, NULL, go, g);
        default: return focal_forward_backward_dense_f64(k->loss, n, c, inner, x, t, NULL, out, g);
        }
    }
    const int64_t *t = k->target;
    switch (k->op) {
    case OP_FORWARD: return focal_forward_f64(k->loss, n, c, inner, x, t, NULL, out);
    case OP_BACKWARD: return focal_backward_f64(k->loss, n, c, inner, x, t, NULL, go, g);
    default: return focal_forward_backward_f64(k->loss, n, c, inner, x, t, NULL, out, g);
    }
}

static results *g_results;

static void checked_call(const call_ctx *k)
{
    const focal_status s = run_call(k);
    if (s != FOCAL_OK) {
        snprintf(g_results->error, sizeof g_results->error, "%s %s %s: %s: %s", k->w->name,
                 DTYPE_NAMES[k->dtype], OP_NAMES[k->op], focal_status_string(s), focal_last_error());
        _exit(3);
    }
}

static double time_calls(const call_ctx *k, int64_t calls)
{
    const double t0 = now_s();
    for (int64_t i = 0; i < calls; i++)
        checked_call(k);
    return now_s() - t0;
}

enum { MAX_RUNS = 64 };

static void measure_call(const settings *st, const call_ctx *k, timing *t)
{
    double samples[MAX_RUNS];
    int runs = 0;
    int64_t calls = 1;
    if (k->w->per_call) {
        /* Batches of calls long enough for the clock, median of batches. */
        time_calls(k, 100);
        double tb = time_calls(k, 100);
        calls = (int64_t)(100.0 * st->small_sample_s / (tb > 1e-7 ? tb : 1e-7));
        calls = calls < 1 ? 1 : calls;
        for (runs = 0; runs < st->small_samples && runs < MAX_RUNS; runs++)
            samples[runs] = time_calls(k, calls) / (double)calls;
    } else {
        double warm = 0;
        for (int i = 0; i < st->warmup; i++)
            warm = time_calls(k, 1);
        const int min_runs = warm > st->slow_s ? st->slow_min_runs : st->min_runs;
        double spent = 0;
        while (runs < st->max_runs && runs < MAX_RUNS && !(runs >= min_runs && spent >= st->budget_s)) {
            samples[runs] = time_calls(k, 1);
            spent += samples[runs];
            runs++;
        }
    }
    t->runs = runs;
    t->calls_per_run = calls;
    t->median_s = median_of(samples, runs);
    t->min_s = samples[0];
}

static void fill_inputs(const workload *w, int wi, int dtype, void *input, void *target)
{
    rng r;
    rng_seed(&r, 0x5eed0000u + (uint64_t)wi);
    const int64_t e = workload_elements(w), p = workload_positions(w);
    for (int64_t i = 0; i < e; i++) {
        const double v = 2.0 * rng_normal(&r);
        if (dtype == F32)
            ((float *)input)[i] = (float)v;
        else
            ((double *)input)[i] = v;
    }
    if (w->dense) {
        for (int64_t i = 0; i < e; i++) {
            const double y = rng_uniform(&r) < w->positive_rate ? 1.0 : 0.0;
            if (dtype == F32)
                ((float *)target)[i] = (float)y;
            else
                ((double *)target)[i] = y;
        }
    } else {
        for (int64_t i = 0; i < p; i++)
            ((int64_t *)target)[i] = rng_below(&r, w->c);
    }
}

static void child_main(const settings *st, int wi, int dtype, results *res)
{
    const workload *w = &WORKLOADS[wi];
    const size_t size = dtype == F32 ? sizeof(float) : sizeof(double);
    const size_t e = (size_t)workload_elements(w), p = (size_t)workload_positions(w);
    const size_t target_bytes = w->dense ? e * size : p * sizeof(int64_t);
    void *input = xmalloc(e * size), *target = xmalloc(target_bytes), *grad = xmalloc(e * size);
    double out_storage[1] = {0}, upstream_storage[1];
    if (dtype == F32) {
        const float one = 1.0f;
        memcpy(upstream_storage, &one, sizeof one);
    } else {
        upstream_storage[0] = 1.0;
    }
    fill_inputs(w, wi, dtype, input, target);
    memset(grad, 0, e * size);

    focal_loss *loss = NULL;
    focal_status s = focal_loss_create(&loss, w->mode);
    if (s == FOCAL_OK)
        s = focal_loss_set_gamma(loss, w->gamma);
    if (s == FOCAL_OK && w->has_alpha)
        s = focal_loss_set_alpha(loss, w->alpha);
    if (s == FOCAL_OK)
        s = focal_loss_set_reduction(loss, w->reduction);
    if (s != FOCAL_OK) {
        snprintf(res->error, sizeof res->error, "%s: setting up the context: %s: %s", w->name,
                 focal_status_string(s), focal_last_error());
        _exit(3);
    }

#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    memory *mem = &res->mem[wi][dtype];
    mem->buffers_kib = (long)((2 * e * size + target_bytes) / 1024);
    mem->hwm_reset = reset_peak_rss();
    mem->rss_before_kib = status_kib("VmRSS");

    call_ctx k = {w, loss, dtype, 0, input, target, upstream_storage, out_storage, grad};
    for (int ti = 0; ti < st->thread_count; ti++) {
        s = focal_loss_set_threads(loss, st->threads[ti]);
        if (s != FOCAL_OK) {
            snprintf(res->error, sizeof res->error, "%s: focal_loss_set_threads(%d): %s", w->name,
                     st->threads[ti], focal_status_string(s));
            _exit(3);
        }
        for (int op = 0; op < OP_COUNT; op++) {
            if (res->timing_count >= MAX_TIMINGS)
                break;
            timing *t = &res->timings[res->timing_count];
            *t = (timing){.workload = wi, .dtype = dtype, .op = op, .threads = st->threads[ti]};
            k.op = op;
            fprintf(stderr, "  %s %s %s, %d thread%s...\n", w->name, DTYPE_NAMES[dtype], OP_NAMES[op],
                    st->threads[ti], st->threads[ti] == 1 ? "" : "s");
            measure_call(st, &k, t);
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
            measure_bandwidth(st, wi, st->threads[ti], input, grad, e, &res->bw[res->bw_count]);
            res->bw_count++;
        }
    }
    focal_loss_destroy(loss);
    free(input);
    free(target);
    free(grad);
}

/* ---- reporting ----------------------------------------------------------- */

static const timing *find_timing(const results *res, int wi, int dtype, int op, int threads)
{
    for (int i = 0; i < res->timing_count; i++) {
        const timing *t = &res->timings[i];
        if (t->workload == wi && t->dtype == dtype && t->op == op && t->threads == threads)
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

static void print_workload(const settings *st, const results *res, int wi)
{
    const workload *w = &WORKLOADS[wi];
    const double e = (double)workload_elements(w);
    printf("\n%s: %s; %.0f elements\n", w->name, w->description, e);
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

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static int write_json(const char *path, const settings *st, const machine *m, const results *res)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "focal_bench: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(f, "{\n  \"tool\": \"focal_bench\",\n  \"schema\": 1,\n  \"date\": ");
    json_string(f, date);
    fprintf(f, ",\n  \"quick\": %s,\n  \"threads\": [", st->quick ? "true" : "false");
    for (int i = 0; i < st->thread_count; i++)
        fprintf(f, "%s%d", i ? ", " : "", st->threads[i]);
    fprintf(f, "],\n  \"repeats\": {\"warmup\": %d, \"min_runs\": %d, \"min_runs_slow\": %d, \"max_runs\": %d, "
               "\"slow_s\": ",
            st->warmup, st->min_runs, st->slow_min_runs, st->max_runs);
    json_number(f, st->slow_s);
    fprintf(f, ", \"budget_s\": ");
    json_number(f, st->budget_s);
    fprintf(f, ", \"per_call_batches\": %d},\n", st->small_samples);

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
    fprintf(f, "],\n    \"cpu_avx2\": %s,\n    \"cpu_fma\": %s,\n    \"compiler\": ", m->cpu_avx2 ? "true" : "false",
            m->cpu_fma ? "true" : "false");
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
    if (m->max_isa_env != NULL)
        json_string(f, m->max_isa_env);
    else
        fputs("null", f);
    fprintf(f, ",\n    \"loadavg_start\": ");
    json_string(f, m->load_start);
    fprintf(f, ",\n    \"loadavg_end\": ");
    json_string(f, m->load_end);
    fprintf(f, "\n  },\n");

    fprintf(f, "  \"workloads\": [\n");
    int first = 1;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        if (!st->selected[wi])
            continue;
        const workload *w = &WORKLOADS[wi];
        fprintf(f, "%s    {\"name\": ", first ? "" : ",\n");
        first = 0;
        json_string(f, w->name);
        fprintf(f, ", \"description\": ");
        json_string(f, w->description);
        fprintf(f, ", \"mode\": \"%s\", \"targets\": \"%s\", \"n\": %lld, \"c\": %lld, \"inner\": %lld, "
                   "\"elements\": %lld, \"per_call\": %s, \"fused_bytes_f32\": ",
                w->mode == FOCAL_MODE_SOFTMAX ? "softmax" : "sigmoid", w->dense ? "dense" : "index",
                (long long)w->n, (long long)w->c, (long long)w->inner, (long long)workload_elements(w),
                w->per_call ? "true" : "false");
        json_number(f, fused_bytes(w, F32));
        fprintf(f, ", \"fused_bytes_f64\": ");
        json_number(f, fused_bytes(w, F64));
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");

    fprintf(f, "  \"timings\": [\n");
    for (int i = 0; i < res->timing_count; i++) {
        const timing *t = &res->timings[i];
        const workload *w = &WORKLOADS[t->workload];
        const double e = (double)workload_elements(w);
        fprintf(f, "    {\"workload\": \"%s\", \"dtype\": \"%s\", \"op\": \"%s\", \"threads\": %d, \"runs\": %d, "
                   "\"calls_per_run\": %lld, \"median_ms\": ",
                w->name, DTYPE_NAMES[t->dtype], OP_NAMES[t->op], t->threads, t->runs, (long long)t->calls_per_run);
        json_number(f, t->median_s * 1e3);
        fprintf(f, ", \"min_ms\": ");
        json_number(f, t->min_s * 1e3);
        fprintf(f, ", \"ns_per_call\": ");
        json_number(f, t->median_s * 1e9);
        fprintf(f, ", \"melem_per_s\": ");
        json_number(f, e / t->median_s * 1e-6);
        fprintf(f, "}%s\n", i + 1 < res->timing_count ? "," : "");
    }
    fprintf(f, "  ],\n");

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
                    mm->rss_before_kib, mm->hwm_after_kib, mm->maxrss_kib, mm->hwm_reset ? "true" : "false");
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
    fprintf(f, "  ],\n  \"error\": ");
    if (res->error[0])
        json_string(f, res->error);
    else
        fputs("null", f);
    fprintf(f, "\n}\n");
    const int ok = !ferror(f);
    return fclose(f) == 0 && ok;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: focal_bench [--quick] [--workload NAME[,NAME...]] [--threads LIST] [--json FILE]\n"
            "  --quick            fewer repeats, for a smoke test\n"
            "  --workload NAMES   only these workloads (cls, seg, det, small)\n"
            "  --threads LIST     thread counts, e.g. 1,2 (default 1,2)\n"
            "  --json FILE        also write every figure to FILE as JSON\n");
}

static int parse_workloads(const char *arg, settings *st)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    memset(st->selected, 0, sizeof st->selected);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
            if (strcmp(tok, WORKLOADS[wi].name) == 0) {
                st->selected[wi] = 1;
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "focal_bench: unknown workload '%s'\n", tok);
            return 0;
        }
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

static int parse_args(int argc, char **argv, settings *st)
{
    *st = (settings){0};
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++)
        st->selected[wi] = 1;
    st->threads[0] = 1;
    st->threads[1] = 2;
    st->thread_count = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            st->quick = 1;
        } else if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            if (!parse_workloads(argv[++i], st))
                return 0;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!parse_threads(argv[++i], st))
                return 0;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            st->json_path = argv[++i];
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

int main(int argc, char **argv)
{
    settings st;
    if (!parse_args(argc, argv, &st))
        return 2;
    machine m;
    describe_machine(&m);

    results *res = mmap(NULL, sizeof(results), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED) {
        fprintf(stderr, "focal_bench: mmap: %s\n", strerror(errno));
        return 2;
    }
    memset(res, 0, sizeof *res);
    g_results = res;

    printf("libfocal %s (header %s), instruction set: %s%s%s\n", focal_version_string(), FOCAL_VERSION_STRING,
           m.isa, m.max_isa_env ? ", FOCAL_MAX_ISA=" : "", m.max_isa_env ? m.max_isa_env : "");
    printf("CPU: %s; %d logical CPUs, %d cores; %.1f GiB; %s; %s\n", m.cpu, m.logical_cpus, m.cores,
           (double)m.mem_kib / (1024.0 * 1024.0), m.os, m.kernel);
    printf("compiler: %s; build %s, flags '%s'%s\n", BENCH_COMPILER, FOCAL_BENCH_BUILD_TYPE, FOCAL_BENCH_C_FLAGS,
           st.quick ? "; QUICK run (few repeats)" : "");
    printf("load average (1, 5, 15 min): %s\n", m.load_start);
    fflush(stdout);

    fprintf(stderr, "exp throughput...\n");
    measure_exp(&st, &m, res);
    printf("\nexp throughput (4096 floats resident in L1, max relative error vs exp):\n");
    for (int i = 0; i < res->exp_count; i++)
        printf("  %-22s %d thread%s: %7.2f Gexp/s (max rel. error %.2g)\n", res->exps[i].isa, res->exps[i].threads,
               res->exps[i].threads == 1 ? " " : "s", res->exps[i].gexp_s, res->exps[i].max_rel_error);
    fflush(stdout);

    int failures = 0;
    for (int wi = 0; wi < WORKLOAD_COUNT; wi++) {
        if (!st.selected[wi])
            continue;
        for (int dtype = 0; dtype < 2; dtype++) {
            fflush(stdout);
            fflush(stderr);
            const pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "focal_bench: fork: %s\n", strerror(errno));
                return 2;
            }
            if (pid == 0) {
                child_main(&st, wi, dtype, res);
                fflush(stderr);
                _exit(0);
            }
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                failures++;
                if (res->error[0] == '\0')
                    snprintf(res->error, sizeof res->error, "%s %s: the measuring process %s %d",
                             WORKLOADS[wi].name, DTYPE_NAMES[dtype],
                             WIFSIGNALED(status) ? "died of signal" : "exited with",
                             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                fprintf(stderr, "focal_bench: %s\n", res->error);
            }
        }
        print_workload(&st, res, wi);
    }

    read_loadavg(m.load_end, sizeof m.load_end);
    printf("\nload average (1, 5, 15 min): %s at the start, %s at the end\n", m.load_start, m.load_end);
    if (st.json_path != NULL && !write_json(st.json_path, &st, &m, res))
        return 2;
    return failures ? 1 : 0;
}
