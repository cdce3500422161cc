#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets: tests/fuzz/corpus/<target>/.

Each seed is a small, meaningful input in the byte format that
fuzz_common.h, fuzz_compute.c, fuzz_settings.c, fuzz_half.c and
fuzz_diff.c decode (README.md describes it). The finding_* inputs the
fuzzers found are kept as they are. Standard library only; run it again after changing the
format, and commit what it writes:

    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import math
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# Values: mirrors fuzz_special[] and fr_value() in fuzz_common.h.
# ---------------------------------------------------------------------------

NAN = float("nan")
INF = float("inf")
SPECIAL = [
    0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 0.25, 0.75,
    3.0, 1e-7, 1e-8, 0.4999999, 0.9999999, 1e4, -1e4, 88.0,
    -88.0, 104.0, -104.0, 1e30, -1e30, 1e38, 3.4e38, 1e300,
    -1e300, sys.float_info.max, -sys.float_info.max, sys.float_info.min, 5e-324, 1e-45,
    1.1754943508222875e-38, 1e-300,
    NAN, -NAN, INF, -INF, 1.0000001, -1e-30, 0.01, 100.0,
    1e-3, 0.1, 0.9, 0.99, 4.0, 1e-310, 20.0, -20.0,
]
NSPECIAL = len(SPECIAL)
assert NSPECIAL == 48

LOGIT, UNIT, SCALE = 0, 1, 2


def _same(a, b):
    return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b)
                                                          and math.copysign(1, a) == math.copysign(1, b))


def val(v, kind=LOGIT):
    """The bytes that decode to the double v."""
    for i, s in enumerate(SPECIAL):
        if _same(s, v):
            return bytes([i])
    if kind == LOGIT:
        s = 0x80 + round(v * 8)
        if NSPECIAL <= s < 0xF0 and (s - 0x80) / 8 == v:
            return bytes([s])
    elif kind == UNIT:
        s = NSPECIAL + round(v * (0xEF - NSPECIAL))
        if NSPECIAL <= s < 0xF0 and (s - NSPECIAL) / (0xEF - NSPECIAL) == v:
            return bytes([s])
    else:
        s = NSPECIAL + round(v * 32)
        if NSPECIAL <= s < 0xF0 and (s - NSPECIAL) / 32 == v:
            return bytes([s])
    return bytes([0xF0]) + struct.pack("<d", v)


def vals(values, kind=LOGIT):
    return b"".join(val(v, kind) for v in values)


def unit_grid(v):
    """v rounded to the nearest ordinary UNIT value (one byte)."""
    return round(v * (0xEF - NSPECIAL)) / (0xEF - NSPECIAL)


# ---------------------------------------------------------------------------
# Setters: mirrors fuzz_apply_setter().
# ---------------------------------------------------------------------------

(SET_GAMMA, SET_ALPHA, SET_ALPHA_VECTOR, CLEAR_ALPHA, SET_REDUCTION, SET_IGNORE, CLEAR_IGNORE,
 SET_INPUT, SET_EPSILON, SET_SMOOTHING, SET_VARIANT, SET_BETA, SET_THREADS) = range(13)

BAD_INT = [-1, 5, 2, -2**31, 2**31 - 1, 100, -100, 7]


def enum(v, valid):
    if 0 <= v < valid:
        return bytes([v])
    return bytes([0x80 + BAD_INT.index(v)])


def index(v):
    if -2 <= v < 18:
        return bytes([v + 2])
    odd = {-100: 0, -2**63: 1, 2**63 - 1: 2, 255: 3}
    if v in odd:
        return bytes([0xA2 + (odd[v] - 0xA2 % 6) % 6])
    s = 0xA0 + (4 - 0xA0 % 6) % 6
    return bytes([s]) + struct.pack("<q", v)


def threads(v):
    if 0 <= v <= 4:
        return bytes([v])
    odd = [-1, -2**31, -4, 8, 64, 2**31 - 1, 1000, 2]
    return bytes([0xC0 + odd.index(v)])


def alpha_vector(values=None, count=None, null=False):
    if null:
        return bytes([SET_ALPHA_VECTOR, 0xF6]) + vals([0.5, 0.5, 0.5], UNIT)
    if count is not None:
        odd = [0, -1, -2**63, 2**63 - 1, 1 << 62, 1 << 61, 3, -5]
        return bytes([SET_ALPHA_VECTOR, 0xF0 + odd.index(count)]) + vals([0.5, 0.5, 0.5], UNIT)
    assert 1 <= len(values) <= 80
    return bytes([SET_ALPHA_VECTOR, len(values) - 1]) + vals(values, UNIT)


def setter(op, v=None):
    b = bytes([op])
    if op == SET_GAMMA:
        return b + val(v, SCALE)
    if op in (SET_ALPHA, SET_EPSILON, SET_SMOOTHING):
        return b + val(v, UNIT)
    if op == SET_BETA:
        return b + val(v, LOGIT)
    if op == SET_REDUCTION:
        return b + enum(v, 5)
    if op in (SET_INPUT, SET_VARIANT):
        return b + enum(v, 2)
    if op == SET_IGNORE:
        return b + index(v)
    if op == SET_THREADS:
        return b + threads(v)
    return b   # CLEAR_ALPHA, CLEAR_IGNORE


NONE, MEAN, SUM, WMEAN, SOP = range(5)

# ---------------------------------------------------------------------------
# fuzz_compute inputs
# ---------------------------------------------------------------------------

FWD, BWD, FUSED = 0, 1, 2
DECODE_MAX = 512
N_LOSS, N_INPUT, N_TARGET, N_OUT, N_GRAD_OUT, N_GRAD_INPUT = 1, 2, 4, 8, 16, 32


def small_shape(n, c, inner, vector_c=False):
    assert 1 <= n <= 40 and 1 <= inner <= 8 and (n * c * inner <= 4096 or n == 1)
    if vector_c:
        cb = 0
    elif c <= 12:
        cb = next(b for b in range(0x80, 0xC0) if 1 + b % 12 == c)
    elif c in (129, 257, 1000, 2100):
        cb = 0xFC + (129, 257, 1000, 2100).index(c)
    else:
        assert 13 <= c <= 72
        cb = 0xC0 + c - 13
    return bytes([0x00, n - 1, cb, inner - 1])


def big_shape(n, c, inner):
    cb = 0xFF if c == 22000 else next(b for b in range(0x80, 0xFF) if 1 + b % 80 == c)
    return bytes([0xE8]) + struct.pack("<H", n - 1) + bytes([cb, inner - 1])


def invalid_shape(s):
    return bytes([0xF8, s])


class Compute:
    """One fuzz_compute input."""

    def __init__(self, sigmoid=False, op=FUSED, dense=False, f64=False):
        self.sigmoid, self.op, self.dense, self.f64 = sigmoid, op, dense, f64
        self.setters = []
        self.nulls = 0
        self.shape = small_shape(2, 3, 1)
        self.n, self.c, self.inner = 2, 3, 1
        self.input = None
        self.targets = None
        self.weights = None
        self.grad_out = None
        self.probabilities = False

    def set(self, op, v=None):
        self.setters.append(setter(op, v))
        if op == SET_INPUT:
            self.probabilities = v == 1
        return self

    def raw_setter(self, b):
        self.setters.append(b)
        return self

    def with_shape(self, n, c, inner, vector_c=False):
        self.n, self.c, self.inner = n, c, inner
        self.shape = small_shape(n, c, inner, vector_c)
        return self

    def encode(self):
        """The bytes; at most DECODE_MAX values per array are read, the
        decoder repeats them over the rest."""
        for field in ("input", "targets", "weights", "grad_out"):
            v = getattr(self, field)
            if v is not None and len(v) > DECODE_MAX:
                setattr(self, field, v[:DECODE_MAX])
        out = bytes([1 if self.sigmoid else 0, len(self.setters)]) + b"".join(self.setters)
        fn = (3 if self.op == FUSED else self.op) | (4 if self.dense else 0) | (8 if self.f64 else 0)
        out += bytes([fn, 0xC0 | self.nulls if self.nulls else 0]) + self.shape
        kind = UNIT if self.probabilities else LOGIT
        out += vals(self.input if self.input is not None else [0.0], kind)
        if self.dense:
            out += vals(self.targets if self.targets is not None else [0.0], UNIT)
        else:
            out += b"".join(self._target(t) for t in (self.targets if self.targets is not None else [0]))
        if self.weights is None:
            out += bytes([0])
        else:
            out += bytes([1]) + vals(self.weights, SCALE)
        if self.op == BWD:
            if self.grad_out is None:
                out += bytes([0])
            else:
                out += bytes([0x80]) + vals(self.grad_out, LOGIT)
        return out

    def _target(self, t):
        if isinstance(t, str):   # "ignore", "bg", "-1", "-100", "c+1", "min", "max"
            if t.startswith("raw:"):
                return bytes([0xD6]) + struct.pack("<q", int(t[4:]))
            code = {"ignore": 0xD0, "bg": 0xC0, "-1": 0xD1, "-100": 0xD2, "c+1": 0xD3, "min": 0xD4,
                    "max": 0xD5}[t]
            return bytes([code])
        assert 0 <= t < self.c
        if t >= 0xC0:
            return bytes([0xD6]) + struct.pack("<q", t)
        return bytes([t])


def rnd_logits(rng, count, scale=3.0):
    return [round(rng.uniform(-scale, scale) * 8) / 8 for _ in range(count)]


def compute_seeds():
    rng = random.Random(20240611)
    seeds = {}

    def add(name, case, n=None, c=None, inner=None, fill=True):
        if fill:
            elements = case.n * case.c * case.inner
            positions = case.n * case.inner
            if case.input is None:
                if case.probabilities:
                    case.input = [unit_grid(rng.random()) for _ in range(elements)]
                else:
                    case.input = rnd_logits(rng, elements)
            if case.targets is None:
                if case.dense:
                    case.targets = [unit_grid(rng.random()) for _ in range(elements)]
                else:
                    case.targets = [rng.randrange(case.c) for _ in range(positions)]
        seeds[name] = case.encode()

    for f64 in (False, True):
        t = "f64" if f64 else "f32"
        for op, on in ((FWD, "forward"), (BWD, "backward"), (FUSED, "fused")):
            add(f"softmax_index_{on}_{t}", Compute(False, op, False, f64).with_shape(4, 5, 1))
            add(f"sigmoid_index_{on}_{t}", Compute(True, op, False, f64).with_shape(3, 4, 2))
        add(f"softmax_dense_{t}", Compute(False, FUSED, True, f64).with_shape(3, 4, 2))
        add(f"sigmoid_dense_{t}", Compute(True, FUSED, True, f64).with_shape(2, 3, 3))

    # The float32 kernel layouts: class-major planes (c <= 64), rows (c > 64).
    add("softmax_planes_inner", Compute().with_shape(3, 7, 8))
    add("softmax_rows_c70", Compute().with_shape(6, 70, 1))
    add("softmax_rows_c70_inner", Compute().with_shape(2, 70, 3))
    add("sigmoid_rows_c67_inner", Compute(True).with_shape(2, 67, 2))
    add("softmax_multi_tile", Compute().with_shape(40, 60, 1))
    add("softmax_c2100_one_row_per_tile", Compute(False, FUSED, False, True).with_shape(1, 2100, 2))
    add("sigmoid_c257", Compute(True).with_shape(1, 257, 3))
    c = Compute().set(SET_IGNORE, 3).set(SET_REDUCTION, NONE).with_shape(5, 70, 1)
    c.targets = [0, "ignore", 69, "ignore", 5]
    add("softmax_rows_c70_ignored", c)
    c = Compute(True, FUSED, False, True).set(SET_IGNORE, -1).set(SET_REDUCTION, NONE).with_shape(3, 4, 2)
    c.targets = [0, "-1", "bg", 3, "-1", 1]
    add("sigmoid_none_ignored_f64", c)

    # Reductions.
    for r, name in ((NONE, "none"), (SUM, "sum"), (WMEAN, "wmean")):
        add(f"softmax_{name}", Compute().set(SET_REDUCTION, r).with_shape(3, 4, 2))
        add(f"sigmoid_{name}", Compute(True).set(SET_REDUCTION, r).with_shape(3, 4, 2))
    add("sigmoid_sum_over_positives", Compute(True).set(SET_REDUCTION, SOP).with_shape(3, 4, 1))
    add("softmax_sum_over_positives_incompatible", Compute().set(SET_REDUCTION, SOP))

    # Alpha.
    add("softmax_alpha_scalar", Compute().set(SET_ALPHA, 0.25).with_shape(3, 4, 1))
    add("sigmoid_alpha_scalar", Compute(True).set(SET_ALPHA, 0.25).set(SET_REDUCTION, WMEAN).with_shape(3, 4, 1))
    a = [0.1, 0.5, 0.9, 0.25]
    add("softmax_alpha_vector", Compute().raw_setter(alpha_vector([unit_grid(x) for x in a]))
        .set(SET_REDUCTION, WMEAN).with_shape(3, 4, 2, vector_c=True))
    add("sigmoid_alpha_vector", Compute(True).raw_setter(alpha_vector([unit_grid(x) for x in a]))
        .with_shape(3, 4, 2, vector_c=True))
    add("alpha_vector_wrong_length", Compute().raw_setter(alpha_vector([0.5, 0.5])).with_shape(3, 4, 1))

    # ignore_index, background, invalid targets.
    c = Compute().set(SET_IGNORE, -100).with_shape(4, 3, 1)
    c.targets = [0, "-100", 2, "-100"]
    add("softmax_ignore_index", c)
    c = Compute().set(SET_IGNORE, -100).set(SET_REDUCTION, MEAN).with_shape(2, 3, 1)
    c.targets = ["-100", "-100"]
    add("softmax_all_ignored", c)
    c = Compute(True).set(SET_IGNORE, 1).with_shape(2, 3, 2)
    c.targets = [1, "bg", 0, 2]
    add("sigmoid_ignore_and_background", c)
    c = Compute().with_shape(2, 3, 1)
    c.targets = [0, "c+1"]
    add("softmax_target_out_of_range", c)
    c = Compute().with_shape(2, 3, 1)
    c.targets = ["bg", 1]
    add("softmax_target_equals_c", c)
    c = Compute(True, FUSED, True).with_shape(1, 2, 1)
    c.targets = [0.5, 1.0000001]
    add("dense_target_above_one", c)
    c = Compute(False, FUSED, True, True).with_shape(1, 2, 1)
    c.targets = [NAN, 0.5]
    add("dense_target_nan", c)

    # Weights.
    c = Compute().set(SET_REDUCTION, WMEAN).with_shape(3, 3, 1)
    c.weights = [0.0, 0.0, 0.0]
    add("weights_all_zero_wmean", c)
    c = Compute().with_shape(3, 3, 1)
    c.weights = [1.0, -1.0, 2.0]
    add("weight_negative", c)
    c = Compute(True).with_shape(2, 2, 1)
    c.weights = [NAN, 1.0]
    add("weight_nan", c)
    c = Compute(False, FUSED, False, True).set(SET_REDUCTION, WMEAN).with_shape(2, 2, 1)
    c.weights = [5e-324, 1e-310]
    add("weights_denormal_f64", c)

    # Probabilities input.
    c = Compute().set(SET_INPUT, 1).with_shape(2, 3, 1)
    c.input = [0.0, 1.0, 0.5, 0.2, 0.3, 1.0]
    add("softmax_probabilities", c)
    c = Compute(True).set(SET_INPUT, 1).set(SET_EPSILON, 1e-3).with_shape(2, 3, 1)
    c.input = [0.0, 1.0, 0.5, 0.2, 0.99, 1e-8]
    add("sigmoid_probabilities_eps", c)
    c = Compute(False, FUSED, True, False).set(SET_INPUT, 1).set(SET_EPSILON, 0.4999999).with_shape(1, 3, 1)
    add("softmax_probabilities_dense_wide_eps", c)

    # Label smoothing, FL*.
    add("softmax_label_smoothing", Compute().set(SET_SMOOTHING, 0.1).with_shape(3, 5, 1))
    add("sigmoid_label_smoothing", Compute(True).set(SET_SMOOTHING, 0.1).with_shape(3, 5, 1))
    add("sigmoid_fl_star", Compute(True).set(SET_VARIANT, 1).set(SET_BETA, 1.0).with_shape(3, 4, 1))
    add("sigmoid_fl_star_gamma0", Compute(True).set(SET_VARIANT, 1).set(SET_GAMMA, 0.0))
    add("sigmoid_fl_star_probabilities", Compute(True).set(SET_VARIANT, 1).set(SET_INPUT, 1))
    add("softmax_fl_star_incompatible", Compute().set(SET_VARIANT, 1))

    # Gamma.
    for g, name in ((0.0, "0"), (0.5, "half"), (1.0, "1"), (100.0, "100")):
        add(f"softmax_gamma_{name}", Compute().set(SET_GAMMA, g).with_shape(3, 4, 1))
    c = Compute().set(SET_GAMMA, 0.25).with_shape(2, 3, 1)
    c.input = [1e4, -1e4, 0.0, 20.0, -20.0, 0.0]
    c.targets = [0, 0]
    add("softmax_gamma_quarter_pt_one", c)
    c = Compute().set(SET_GAMMA, NAN).set(SET_GAMMA, -1.0).set(SET_GAMMA, INF).set(SET_EPSILON, 0.5)
    c.set(SET_SMOOTHING, 1.0).set(SET_REDUCTION, 5).set(SET_INPUT, -1).set(SET_VARIANT, 2).set(SET_THREADS, -1)
    add("invalid_settings", c)

    # Extreme logits.
    c = Compute().with_shape(2, 4, 1)
    c.input = [-INF, 1.0, -INF, 0.0, 2.0, -INF, -INF, -INF]
    c.targets = [1, 0]
    add("softmax_inf_mask", c)
    c = Compute(False, FUSED, False, True).with_shape(2, 4, 1)
    c.input = [-INF, 1.0, -INF, 0.0, 2.0, -INF, -INF, -INF]
    c.targets = [1, 0]
    add("softmax_inf_mask_f64", c)
    c = Compute(True).with_shape(1, 3, 1)
    c.input = [-INF, 2.0, -INF]
    c.targets = [1]
    add("sigmoid_inf_mask", c)
    c = Compute().with_shape(2, 3, 1)
    c.input = [1e4, -1e4, 0.0, 1e30, -1e30, 88.0]
    add("softmax_huge_logits", c)
    c = Compute(True).with_shape(2, 3, 1)
    c.input = [1e4, -1e4, 104.0, -104.0, 1e30, -1e30]
    add("sigmoid_huge_logits", c)
    c = Compute().set(SET_REDUCTION, NONE).with_shape(3, 3, 1)
    c.input = [NAN, 0.0, 1.0, 0.5, 0.5, 0.5, 1.0, INF, 2.0]
    add("softmax_nan_inf_none", c)
    c = Compute(True).set(SET_REDUCTION, NONE).with_shape(2, 2, 1)
    c.input = [1e-45, 5e-324, -1e-310, NAN]
    add("sigmoid_denormals_nan", c)

    # Backward with its own upstream.
    c = Compute(False, BWD).set(SET_REDUCTION, NONE).with_shape(3, 3, 2)
    c.grad_out = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0]
    add("softmax_backward_upstream_none", c)
    c = Compute(True, BWD, False, True).set(SET_REDUCTION, SUM).with_shape(2, 3, 1)
    c.grad_out = [-0.5]
    add("sigmoid_backward_upstream_sum", c)

    # NULL pointers.
    for flag, name in ((N_LOSS, "loss"), (N_INPUT, "input"), (N_TARGET, "target"), (N_OUT, "out"),
                       (N_GRAD_INPUT, "grad_input")):
        c = Compute(False, FUSED if flag in (N_OUT, N_GRAD_INPUT) else FWD)
        c.nulls = flag
        add(f"null_{name}", c)
    c = Compute(False, BWD)
    c.nulls = N_GRAD_OUT
    add("null_grad_out", c)
    c = Compute(False, FWD)
    c.nulls = N_OUT
    add("null_out_forward", c)
    c = Compute(True, FUSED)
    c.nulls = N_OUT | N_GRAD_INPUT
    add("null_both_outputs_fused", c)

    # Invalid shapes: a zero or negative dimension, products that overflow.
    for s, name in ((0x00, "n_zero"), (0x28, "c_minus_one"), (0x58, "inner_min"), (0x01, "n_int64_max"),
                    (0x09, "product_2_63"), (0x13, "huge_product"), (0x0F, "bytes_2_64_f64")):
        c = Compute(False, FUSED, False, name in ("huge_product", "bytes_2_64_f64"))
        c.shape = invalid_shape(s)
        add(f"shape_{name}", c, fill=False)

    # Threads: a call large enough for the pool, and explicit counts.
    c = Compute().set(SET_THREADS, 3)
    c.shape = big_shape(400, 20, 9)
    c.n, c.c, c.inner = 400, 20, 9
    c.input = rnd_logits(rng, 200)
    c.targets = [rng.randrange(20) for _ in range(64)]
    add("big_softmax_threads", c, fill=False)
    c = Compute(True, FUSED, False, True).set(SET_THREADS, 2).set(SET_REDUCTION, NONE)
    c.shape = big_shape(1100, 3, 20)
    c.n, c.c, c.inner = 1100, 3, 20
    c.input = rnd_logits(rng, 100)
    c.targets = [rng.choice([0, 1, 2, "bg"]) for _ in range(64)]
    add("big_sigmoid_threads_f64", c, fill=False)
    c = Compute().set(SET_THREADS, 4)
    c.shape = big_shape(3, 22000, 1)
    c.n, c.c, c.inner = 3, 22000, 1
    c.input = rnd_logits(rng, 300)
    c.targets = [5, 21999, 0]
    add("big_c22000_fewer_tiles_than_threads", c, fill=False)
    return seeds


# ---------------------------------------------------------------------------
# fuzz_settings inputs: a sequence of operations on three slots.
# ---------------------------------------------------------------------------

def opbyte(kind, slot=0, slots=3):
    for b in range(256):
        if b % 12 == kind and (b >> 4) % slots == slot:
            return b
    raise ValueError((kind, slot))


def create(slot, mode=0, null_out=False):
    return bytes([opbyte(0, slot), 0x0F if null_out else 0]) + enum(mode, 2)


def clone(src, dst, null_out=False):
    b = next(b for b in range(256)
             if b % 3 == src and (b >> 2) % 3 == dst and ((b & 0xE0) == 0xE0) == null_out)
    return bytes([opbyte(1), b])


def destroy(slot):
    return bytes([opbyte(2, slot)])


def set_on(slot, setter_bytes):
    """slot 3 is a NULL context."""
    return bytes([opbyte(3, slot, 4)]) + setter_bytes


def getter_null(b):
    return bytes([opbyte(6), b])


def get_alpha(slot, how):
    b = next(b for b in range(256) if b % 3 == slot and (b >> 2) % 6 == how)
    return bytes([opbyte(7), b])


def status_string(b, raw=None):
    out = bytes([opbyte(8), b])
    if raw is not None:
        out += struct.pack("<Q", raw)
    return out


def prior(p, null=False):
    return bytes([opbyte(9), 0x0F if null else 0]) + val(p, UNIT)


def misc():
    return bytes([opbyte(10)])


def last_error(slot, nan=False):
    b = next(b for b in range(256) if b % 3 == slot and bool(b & 4) == nan)
    return bytes([opbyte(11), b])


def settings_seeds():
    s = {}
    s["create_defaults"] = create(0) + create(1, 1) + misc()
    s["create_invalid_modes"] = create(0, 2) + create(1, -1) + create(2, 0, null_out=True) + create(0, 2**31 - 1)
    seq = create(0)
    for st in [setter(SET_GAMMA, 0.5), setter(SET_ALPHA, 0.25), setter(SET_REDUCTION, SUM),
               setter(SET_IGNORE, -100), setter(SET_INPUT, 1), setter(SET_EPSILON, 1e-3),
               setter(SET_SMOOTHING, 0.1), setter(SET_VARIANT, 1), setter(SET_BETA, -1.0),
               setter(SET_THREADS, 3)]:
        seq += set_on(0, st)
    s["every_setter_valid"] = seq + clone(0, 1) + destroy(0) + misc()
    seq = create(0, 1)
    for st in [setter(SET_GAMMA, NAN), setter(SET_GAMMA, -1.0), setter(SET_GAMMA, INF), setter(SET_ALPHA, NAN),
               setter(SET_ALPHA, -INF), setter(SET_REDUCTION, 5), setter(SET_REDUCTION, -1),
               setter(SET_INPUT, 2), setter(SET_EPSILON, 0.0), setter(SET_EPSILON, 0.5),
               setter(SET_EPSILON, NAN), setter(SET_SMOOTHING, 1.0), setter(SET_SMOOTHING, -0.0),
               setter(SET_SMOOTHING, -1e-30), setter(SET_VARIANT, 7), setter(SET_BETA, NAN),
               setter(SET_THREADS, -1), setter(SET_THREADS, -2**31)]:
        seq += set_on(0, st)
    s["every_setter_invalid"] = seq
    seq = b""
    for st in [setter(SET_GAMMA, 1.0), setter(CLEAR_ALPHA), setter(CLEAR_IGNORE), setter(SET_THREADS, 2),
               alpha_vector([0.5])]:
        seq += set_on(3, st)
    s["setters_null_context"] = seq
    s["alpha_vector_round_trip"] = (create(0) + set_on(0, alpha_vector([0.1, 0.2, 0.3, 1.0]))
                                    + get_alpha(0, 0) + get_alpha(0, 1) + get_alpha(0, 2) + get_alpha(0, 3)
                                    + get_alpha(0, 4) + get_alpha(0, 5)
                                    + set_on(0, setter(SET_ALPHA, 0.5)) + get_alpha(0, 0)
                                    + set_on(0, setter(CLEAR_ALPHA)) + get_alpha(0, 0))
    s["alpha_vector_invalid"] = (create(1) + set_on(1, alpha_vector(count=0)) + set_on(1, alpha_vector(count=-1))
                                 + set_on(1, alpha_vector(count=2**63 - 1))
                                 + set_on(1, alpha_vector(count=1 << 61)) + set_on(1, alpha_vector(null=True))
                                 + set_on(1, alpha_vector([0.5, NAN, 0.5])))
    s["alpha_vector_80"] = create(2) + set_on(2, alpha_vector([unit_grid(i / 80) for i in range(80)])) + get_alpha(2, 1)
    s["clone_deep_copy"] = (create(0) + set_on(0, alpha_vector([0.25, 0.75])) + clone(0, 1) + destroy(0)
                            + get_alpha(1, 0) + set_on(1, setter(SET_GAMMA, 3.0)) + clone(1, 1) + clone(1, 2)
                            + set_on(2, alpha_vector([0.5])) + destroy(1))
    s["clone_null"] = clone(0, 1) + create(0) + clone(0, 1, null_out=True)
    s["getters_null"] = create(0) + b"".join(getter_null(b) for b in (0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18,
                                                                      0x1C, 0x20, 0x24, 0x28, 0x2C, 0x30,
                                                                      0x80, 0xC4, 0xD0))
    s["status_strings"] = b"".join(status_string(b) for b in range(12)) + status_string(0x80 + 3) + \
        status_string(0xC0, 0xFFFFFFFF) + status_string(0xC0, 0x80000000)
    s["prior_bias"] = b"".join(prior(p) for p in (0.01, 0.5, 0.99, 5e-324, 0.9999999, 1e-300)) + \
        b"".join(prior(p) for p in (0.0, 1.0, -0.0, NAN, INF, -1.0)) + prior(0.25, null=True) + prior(2.0, null=True)
    s["last_error"] = last_error(0) + create(0) + last_error(0, nan=True) + last_error(1)
    s["ignore_index_values"] = create(0) + b"".join(set_on(0, setter(SET_IGNORE, v))
                                                    for v in (-100, -2**63, 2**63 - 1, 0, 255, 12345678901))
    s["threads_large"] = create(0) + set_on(0, setter(SET_THREADS, 2**31 - 1)) + set_on(0, setter(SET_THREADS, 64))
    s["gamma_values"] = create(1) + b"".join(set_on(1, setter(SET_GAMMA, g))
                                             for g in (0.0, -0.0, 5e-324, 1e300, sys.float_info.max, 1e-8))
    return s


def finding_seeds():
    """Inputs that show the library bugs the fuzzer found (README.md,
    "Findings"); they fail with FOCAL_FUZZ_SKIP_KNOWN_BUGS=OFF."""
    s = {}
    c = Compute().raw_setter(alpha_vector([unit_grid(0.25), unit_grid(0.75)])).with_shape(2, 2, 1, vector_c=True)
    c.input = [0.5, -0.5, 1.0, 2.0]
    c.targets = [0, "raw:%d" % (1 << 40)]
    s["1_alpha_vector_target_2_40"] = c.encode()
    c = Compute(False, FWD, False, True).raw_setter(alpha_vector([unit_grid(0.25), unit_grid(0.75)]))
    c.with_shape(1, 2, 1, vector_c=True)
    c.input = [0.5, -0.5]
    c.targets = ["c+1"]
    s["1_alpha_vector_target_c_plus_1"] = c.encode()
    c = Compute(True).with_shape(1, 3, 1)
    c.input = [-INF, 2.0, -INF]
    c.targets = [1]
    s["2_sigmoid_inf_logit_negative_element"] = c.encode()
    c = Compute(False, FUSED, False, True).set(SET_REDUCTION, WMEAN).with_shape(2, 2, 1)
    c.input = [1.0, 0.0, 0.0, 1.0]
    c.targets = [0, 0]
    c.weights = [5e-324, 1e-310]
    s["3_weighted_mean_subnormal_weights_f64"] = c.encode()
    c = Compute(False, FUSED, False, False).set(SET_REDUCTION, WMEAN).set(SET_ALPHA, 1e-310).with_shape(2, 2, 1)
    c.input = [1.0, 0.0, 0.0, 1.0]
    c.targets = [0, 0]
    s["3_weighted_mean_subnormal_alpha_f32"] = c.encode()
    c = Compute(True, FUSED, False, False).set(SET_INPUT, 1).set(SET_EPSILON, 1e-8).with_shape(1, 1, 1)
    c.input = [1.0]
    c.targets = [0]
    s["4_probabilities_eps_1e-8_f32_sigmoid"] = c.encode()
    c = Compute(False, FUSED, False, False).set(SET_INPUT, 1).set(SET_EPSILON, 1e-8).with_shape(1, 2, 1)
    c.input = [1.0, 0.0]
    c.targets = [0]
    s["4_probabilities_eps_1e-8_f32_softmax"] = c.encode()
    c = Compute(True, FUSED, False, True).set(SET_INPUT, 1).set(SET_EPSILON, 1e-17).with_shape(1, 1, 1)
    c.input = [1.0]
    c.targets = [0]
    s["4_probabilities_eps_1e-17_f64_sigmoid"] = c.encode()
    c = Compute(True, FUSED, False, True).set(SET_VARIANT, 1).set(SET_GAMMA, 1e300).with_shape(1, 1, 1)
    c.input = [-1e30]
    c.targets = [0]
    s["5_fl_star_gamma_1e300_f64"] = c.encode()
    c = Compute(True, FUSED, False, False).set(SET_VARIANT, 1).set(SET_GAMMA, 1e300).with_shape(1, 2, 1)
    c.input = [1e30, -1e4]
    c.targets = ["bg"]
    s["5_fl_star_gamma_1e300_f32"] = c.encode()
    for f64, tiny in ((True, 5e-324), (False, 1.401298464324817e-45)):
        c = Compute(False, FUSED, True, f64).set(SET_REDUCTION, WMEAN).with_shape(2, 2, 1)
        c.input = [1.125, -2.875, 2.875, 0.625]
        c.targets = [0.0, 0.0, -0.0, tiny]
        s["6_dense_weighted_mean_subnormal_targets_" + ("f64" if f64 else "f32")] = c.encode()
    return s


# fuzz_half inputs (fuzz_half.c): header, shape, reduction, variant, five
# setting values, flags, then per element the half input, dense target,
# index target, weight and upstream bits.
def half_bits(v, f16):
    if f16:
        return struct.unpack("<H", struct.pack("<e", v))[0]
    return struct.unpack("<I", struct.pack("<f", v))[0] >> 16


def half_case(rng, sigmoid, dense, f16, op, weighted, red, variant, values, flags, shape,
              special=None):
    n, c, inner = shape
    out = bytes([sigmoid | dense << 1 | f16 << 2 | op << 3 | weighted << 5, n, c - 1, inner])
    out += bytes([red, variant])
    out += b"".join(val(v, SCALE) for v in values[:2]) + val(values[2], UNIT)
    out += val(values[3], LOGIT) + val(values[4], SCALE)
    out += bytes([flags])
    elems, positions = n * c * inner, n * inner
    probs = flags & 8
    for i in range(elems):
        x = rng.uniform(0.0, 1.0) if probs else rng.uniform(-6.0, 6.0)
        if special is not None and i in special:
            x = special[i]
        out += struct.pack("<H", half_bits(x, f16))
        if dense:
            out += struct.pack("<H", half_bits(rng.choice([0.0, 1.0, rng.uniform(0, 1)]), f16))
        if not dense and i < positions:
            out += bytes([rng.randrange(c + sigmoid)])  # sigmoid: c is background
        if weighted and i < positions:
            out += struct.pack("<H", half_bits(rng.uniform(0.25, 2.0), f16))
        out += struct.pack("<H", half_bits(rng.uniform(-1.5, 1.5), f16))
    return out


def half_seeds():
    rng = random.Random(0x4a1f)
    FWD, BWD, FB, COUNTS = 0, 1, 2, 3
    NONE_, MEAN_, SUM_, WMEAN_, SOP_, DIV_ = 0, 1, 2, 3, 4, 5
    FL_, QFL_, VFL_, ASL_ = 0, 2, 3, 4
    base = [2.0, 4.0, 0.05, 0.0, 1.0]
    nan, inf = float("nan"), float("inf")
    s = {}
    s["qfl_f16_dense_mean_weighted"] = half_case(rng, 1, 1, 1, FB, 1, MEAN_, QFL_, base, 0, (3, 4, 2))
    s["vfl_bf16_index_sum_alpha"] = half_case(rng, 1, 0, 0, FB, 0, SUM_, VFL_, base, 1, (4, 3, 1))
    s["asl_f16_dense_backward_clip"] = half_case(rng, 1, 1, 1, BWD, 0, SUM_, ASL_,
                                                 [0.0, 1.0, 0.05, 0.0, 1.0], 0, (2, 5, 3))
    s["split_pos_weight_bf16_divisor"] = half_case(rng, 1, 1, 0, FB, 1, DIV_, FL_,
                                                   [2.0, 4.0, 0.05, 0.0, 3.0], 1 | 2 | 4, (2, 3, 2))
    s["poly_softmax_f16_weighted_mean"] = half_case(rng, 0, 0, 1, FB, 1, WMEAN_, FL_,
                                                    [0.5, 4.0, 0.05, 1.0, 1.0], 1, (4, 5, 1))
    s["poly_sigmoid_probs_f16_p0_p1"] = half_case(rng, 1, 1, 1, FB, 0, NONE_, FL_,
                                                  [0.5, 4.0, 0.05, -0.5, 1.0], 8, (2, 2, 2),
                                                  {0: 0.0, 1: 1.0, 5: 0.0, 6: 1.0})
    s["counts_dense_bf16_positives"] = half_case(rng, 1, 1, 0, COUNTS, 1, SOP_, FL_, base, 16, (3, 2, 3))
    s["counts_index_f16_softmax"] = half_case(rng, 0, 0, 1, COUNTS, 1, WMEAN_, FL_, base, 1, (4, 4, 2))
    s["empty_n0_f16_fused"] = half_case(rng, 1, 1, 1, FB, 1, MEAN_, QFL_, base, 0, (0, 3, 2))
    s["empty_inner0_bf16_counts"] = half_case(rng, 0, 1, 0, COUNTS, 0, MEAN_, FL_, base, 0, (2, 3, 0))
    s["nan_inf_logits_bf16_softmax_none"] = half_case(rng, 0, 1, 0, FB, 0, NONE_, FL_, base, 0, (3, 4, 2),
                                                      {0: nan, 9: -inf, 13: inf})
    s["nan_inf_logits_f16_sigmoid_sum"] = half_case(rng, 1, 0, 1, FB, 1, SUM_, ASL_, base, 0, (2, 4, 2),
                                                    {2: nan, 7: inf, 11: -inf})
    s["overflow_f16_sum_large_logits"] = half_case(rng, 1, 1, 1, FWD, 0, SUM_, FL_,
                                                   [0.0, 4.0, 0.05, 0.0, 1.0], 0, (4, 5, 3),
                                                   {i: 60000.0 for i in range(60)})
    return s


def write(target, seeds, under="corpus"):
    """Replaces the directory's seeds; keeps the finding_* inputs that the
    fuzzers found (committed as found, not written here)."""
    d = os.path.join(HERE, under, target)
    if os.path.isdir(d):
        for name in os.listdir(d):
            if not name.startswith("finding_"):
                os.remove(os.path.join(d, name))
    else:
        os.makedirs(d)
    total = 0
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        total += len(data)
    print(f"{under}/{target}: {len(seeds)} inputs, {total} bytes")


def diff_seeds():
    """fuzz_diff inputs (fuzz_diff.c): a header of ten bytes (mode and
    setting bits, the big-shape byte, shape, settings, alpha, divisor), then
    the values; random, from a fixed seed, every combination of the header's
    bits in turn."""
    rnd = random.Random(20261205)
    s = {}
    for i in range(48):
        m = (i * 37) & 0xFF
        big = 0 if i % 16 == 5 else 1
        head = [m, big, rnd.randrange(256), rnd.randrange(256), rnd.randrange(256) if i % 3 else 0,
                rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), rnd.randrange(256),
                rnd.randrange(256)]
        body = [rnd.randrange(256) for _ in range(rnd.randrange(64, 600))]
        s["seed_%02d" % i] = bytes(head + body)
    return s


def main():
    seeds = compute_seeds()
    for name, data in finding_seeds().items():
        seeds["finding_" + name] = data
    write("fuzz_compute", seeds)
    write("fuzz_settings", settings_seeds())
    write("fuzz_half", half_seeds())
    write("fuzz_diff", diff_seeds())


if __name__ == "__main__":
    main()
