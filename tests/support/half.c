/*
 * SPDX-License-Identifier: MIT
 */
#include "half.h"

#include <math.h>
#include <string.h>

static float bf16_to_float(uint16_t bits)
{
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint16_t bf16_from_float(float value)
{
    uint32_t u;
    memcpy(&u, &value, sizeof u);
    if (isnan(value)) {
        return (uint16_t)((u >> 16) | 0x0040u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float f16_to_float(uint16_t bits)
{
    int sign = (bits & 0x8000u) != 0;
    int exponent = (bits >> 10) & 0x1f;
    unsigned mantissa = bits & 0x3ffu;
    double v;
    if (exponent == 0x1f) {
        v = mantissa != 0 ? (double)NAN : (double)INFINITY;
    } else if (exponent == 0) {
        v = ldexp((double)mantissa, -24);
    } else {
        v = ldexp((double)(mantissa | 0x400u), exponent - 25);
    }
    return (float)(sign ? -v : v);
}

static uint16_t f16_from_float(float value)
{
    uint16_t sign = signbit(value) ? 0x8000u : 0;
    double a = fabs((double)value);
    if (isnan(value)) {
        return (uint16_t)(sign | 0x7e00u);
    }
    if (a >= 65520.0) { /* halfway between 65504 and 2^16 rounds to even: infinity */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (a < ldexp(1.0, -14)) {
        /* subnormal, exact in double; nearbyint rounds to nearest even */
        return (uint16_t)(sign | (uint16_t)nearbyint(ldexp(a, 24)));
    }
    int k;
    (void)frexp(a, &k); /* a = m 2^k, m in [0.5, 1) */
    int e = k - 1;
    unsigned q = (unsigned)nearbyint(ldexp(a, 10 - e)); /* in [1024, 2048] */
    return (uint16_t)(sign | (uint16_t)(((unsigned)(e + 15) << 10) + (q - 1024u)));
}

float half_to_float(half_kind kind, uint16_t bits)
{
    return kind == HALF_BF16 ? bf16_to_float(bits) : f16_to_float(bits);
}

uint16_t half_from_float(half_kind kind, float value)
{
    return kind == HALF_BF16 ? bf16_from_float(value) : f16_from_float(value);
}

int half_is_nan(half_kind kind, uint16_t bits)
{
    return isnan(half_to_float(kind, bits));
}

const char *half_name(half_kind kind)
{
    return kind == HALF_BF16 ? "bf16" : "f16";
}

int half_matches_rounded(half_kind kind, uint16_t got, float ref)
{
    if (isnan(ref)) {
        return half_is_nan(kind, got);
    }
    uint16_t want = half_from_float(kind, ref);
    if (got == want) {
        return 1;
    }
    if (((got ^ want) & 0x8000u) != 0 || (got > want ? got - want : want - got) != 1) {
        return 0;
    }
    double mid = ((double)half_to_float(kind, got) + (double)half_to_float(kind, want)) / 2.0;
    return (double)ref == mid;
}
