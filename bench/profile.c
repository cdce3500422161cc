/* One fused call of a benchmark configuration on a reduced copy of its
 * shape, for instruction counts under callgrind (bench/profile.sh): the
 * counts say where the work goes independently of the machine's load.
 *
 *   focal_profile SHAPE[:CONFIG[:DTYPE]]     e.g. cls, det:fl-star, seg:weights:f64
 *
 * SHAPE is cls, seg, det or small, CONFIG a row of the configuration
 * matrix (focal_bench --list-configs; default base), DTYPE f32 (default)
 * or f64. The data and settings are those focal_bench times, on
 * profile_n x profile_inner positions (matrix.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

__attribute__((noinline)) static focal_status measured_call(const focal_loss *loss, bench_data *d,
                                                            const bench_settings *s)
{
    return bench_call(loss, d, s, BENCH_OP_FUSED);
}

int main(int argc, char **argv)
{
    char spec[256];
    snprintf(spec, sizeof spec, "%s", argc > 1 ? argv[1] : "cls");
    char *shape_name = spec, *config_name = "base", *dtype_name = "f32";
    char *colon = strchr(shape_name, ':');
    if (colon != NULL) {
        *colon = '\0';
        config_name = colon + 1;
        if ((colon = strchr(config_name, ':')) != NULL) {
            *colon = '\0';
            dtype_name = colon + 1;
        }
    }
    const int wi = bench_find_shape(shape_name);
    if (wi < 0) {
        fprintf(stderr, "focal_profile: unknown shape '%s' (cls, seg, det, small)\n", shape_name);
        return 2;
    }
    const bench_shape *shape = &BENCH_SHAPES[wi];
    const int ci = bench_find_config(config_name, shape);
    if (ci < 0) {
        fprintf(stderr, "focal_profile: no configuration '%s' for %s (focal_bench --list-configs)\n", config_name,
                shape_name);
        return 2;
    }
    const int dtype = strcmp(dtype_name, "f64") == 0 ? BENCH_F64 : BENCH_F32;
    if (dtype == BENCH_F32 && strcmp(dtype_name, "f32") != 0) {
        fprintf(stderr, "focal_profile: unknown dtype '%s' (f32, f64)\n", dtype_name);
        return 2;
    }
    bench_settings s;
    bench_resolve(shape, &BENCH_CONFIGS[ci], &s);
    bench_data d;
    bench_data_init(&d, wi, dtype, shape->profile_n, shape->profile_inner, bench_needs(shape, &s));
    focal_loss *loss;
    char err[512];
    if (bench_configure(&loss, shape, &s, 1, err, sizeof err) != FOCAL_OK) {
        fprintf(stderr, "focal_profile: %s\n", err);
        return 1;
    }
    /* A first call binds the library's symbols and detects the CPU; only
     * the second, inside measured_call, is counted (profile.sh collects
     * there alone). */
    focal_status st = bench_call(loss, &d, &s, BENCH_OP_FUSED);
    if (st == FOCAL_OK)
        st = measured_call(loss, &d, &s);
    double loss_value = d.out_scalar[0];
    if (s.storage != STORAGE_RUN) {
        /* One bfloat16 or float16 value, in the half copies' buffer. */
        const uint16_t h = d.half[s.storage == STORAGE_BF16 ? 0 : 1].out_scalar[0];
        if (s.storage == STORAGE_BF16) {
            const uint32_t u = (uint32_t)h << 16;
            float v;
            memcpy(&v, &u, sizeof v);
            loss_value = v;
        } else {
            const int e = (h >> 10) & 31, m = h & 1023;
            loss_value = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
            if (h & 0x8000)
                loss_value = -loss_value;
        }
    } else if (dtype == BENCH_F32) {
        float v;
        memcpy(&v, d.out_scalar, sizeof v);
        loss_value = v;
    }
    if (s.reduction == FOCAL_REDUCTION_NONE)
        loss_value = 0.0;   /* one value per position or element: not printed */
    char text[512];
    bench_describe(&s, text, sizeof text);
    printf("%s:%s:%s: %lld elements, status %d, loss %g, table %s; %s\n", shape->name, BENCH_CONFIGS[ci].name,
           BENCH_DTYPE_NAMES[dtype], (long long)(d.n * d.c * d.inner), (int)st, loss_value, focal_isa(), text);
    if (st != FOCAL_OK)
        fprintf(stderr, "focal_profile: %s\n", focal_last_error());
    focal_loss_destroy(loss);
    bench_data_free(&d);
    return st != FOCAL_OK;
}
