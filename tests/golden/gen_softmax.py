#!/usr/bin/python3
"""Golden reference data for libfocal's softmax mode.

Writes softmax.golden next to this script. The reference is a plain PyTorch
float64 autograd implementation of the semantics documented in
include/focal/focal.h, cross-checked against torch.nn.functional.cross_entropy
wherever gamma = 0.

Run with Debian's interpreter (it has torch and numpy):

    /usr/bin/python3 tests/golden/gen_softmax.py

The output is deterministic: the inputs come from numpy's frozen legacy
RandomState stream with a fixed seed, and torch runs single-threaded.

The helpers (reference, write_case, ...) are also used by gen_seeds.py.
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

GAMMAS = (0.0, 0.5, 1.0, 2.0, 3.7)
REDUCTIONS = ("none", "mean", "sum", "weighted_mean")
DEFAULT_EPSILON = 1e-7
DEFAULT_RTOL64 = 1e-12
DEFAULT_RTOL32 = 2e-6
CROSSCHECK_RTOL = 1e-12

torch.set_num_threads(1)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def r32(values):
    """values rounded to the nearest float32, as a float64 numpy array."""
    t = torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=torch.float64)
    return t.float().double().numpy()


def f32_scalar(v):
    return float(torch.tensor(v, dtype=torch.float64).float().double().item())


def make_spec(name, shape, **kw):
    """A case description with the format's defaults filled in."""
    spec = {
        "name": name,
        "mode": "softmax",
        "targets": "index",
        "input": "logits",
        "gamma": 2.0,
        "alpha": None,            # None, a float (scalar) or a list (vector)
        "reduction": "mean",
        "ignore_index": None,
        "smoothing": 0.0,
        "epsilon": DEFAULT_EPSILON,
        "variant": "fl",
        "beta": 0.0,
        "tol": None,              # None or (rtol64, rtol32)
        "shape": tuple(shape),    # (n, c, inner) as libfocal sees it
        "channels_last": None,    # (N, H, W, C) when the data is stored NHWC
    }
    for key, value in kw.items():
        if key not in spec:
            raise KeyError("unknown case field " + key)
        spec[key] = value
    if " " in name:
        raise ValueError("case names have no spaces: " + name)
    return spec


def out_count(spec):
    n, c, inner = spec["shape"]
    if spec["reduction"] != "none":
        return 1
    return n * inner if spec["mode"] == "softmax" else n * c * inner


# ---------------------------------------------------------------------------
# Layout: the stored data is always (n, c, inner), C-contiguous. For a
# channels-last case that is (N*H*W, C, 1); the reference permutes it to
# NCHW and computes there, so the storage order itself is under test.
# ---------------------------------------------------------------------------

def logical(stored_flat, spec):
    """(N, C, S) view of a tensor stored in the case's layout."""
    n, c, inner = spec["shape"]
    cl = spec["channels_last"]
    if cl is None:
        return stored_flat.view(n, c, inner)
    N, H, W, C = cl
    return stored_flat.view(N, H, W, C).permute(0, 3, 1, 2).reshape(N, C, H * W)


def positions(stored_flat, spec):
    """(N, S) view of a per-position tensor (targets, weights, outputs)."""
    n, c, inner = spec["shape"]
    cl = spec["channels_last"]
    if cl is None:
        return stored_flat.view(n, inner)
    N, H, W, C = cl
    return stored_flat.view(N, H * W)


def alpha_per_class(spec, C):
    a = spec["alpha"]
    if a is None:
        return torch.ones(C, dtype=torch.float64)
    if isinstance(a, (list, tuple)):
        assert len(a) == C
        return torch.tensor(a, dtype=torch.float64)
    return torch.full((C,), float(a), dtype=torch.float64)


# ---------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------

def probabilities(spec, xl, clip=None):
    """log p_c and the modulating factor (1 - p_c)^gamma, both (N, C, S)."""
    N, C, S = xl.shape
    gamma = float(spec["gamma"])
    if spec["input"] == "logits":
        logp = F.log_softmax(xl, dim=1)
        if C == 1:
            # p is identically 1 and log p identically 0, so the loss is 0
            # whatever the factor; a constant factor keeps autograd away from
            # the derivative of q^gamma at q = 0.
            mod = torch.full_like(logp, 1.0 if gamma == 0.0 else 0.0)
        else:
            p = torch.softmax(xl, dim=1)
            # 1 - p_c as the sum of the other classes' probabilities, which
            # stays accurate when p_c rounds to 1.
            others = 1.0 - torch.eye(C, dtype=torch.float64)
            q = torch.einsum("kc,nks->ncs", others, p)
            if not bool((q > 0).all()):
                raise AssertionError(spec["name"] + ": 1 - p underflowed to 0")
            mod = q ** gamma
    else:
        lo, hi = clip if clip is not None else (spec["epsilon"], 1.0 - spec["epsilon"])
        p = torch.clamp(xl, lo, hi)
        logp = torch.log(p)
        mod = (1.0 - p) ** gamma
    return logp, mod


def targets_and_mask(spec, t_flat):
    """y (N, C, S) after label smoothing, the non-ignored mask (N, S) and
    alpha_t (N, S), the per-position weight of WEIGHTED_MEAN's denominator."""
    n, c, inner = spec["shape"]
    C = c
    ls = float(spec["smoothing"])
    alpha_c = alpha_per_class(spec, C)
    if spec["targets"] == "index":
        t = positions(torch.tensor(t_flat, dtype=torch.int64), spec)
        if spec["ignore_index"] is None:
            mask = torch.ones_like(t, dtype=torch.bool)
        else:
            mask = t != int(spec["ignore_index"])
        safe = torch.where(mask, t, torch.zeros_like(t))
        if bool(((safe < 0) | (safe >= C)).any()):
            raise AssertionError(spec["name"] + ": class index out of range")
        onehot = F.one_hot(safe, C).permute(0, 2, 1).to(torch.float64)
        y = onehot * (1.0 - ls) + ls / C
        alpha_t = alpha_c[safe]
    else:
        assert spec["ignore_index"] is None
        y = logical(torch.tensor(t_flat, dtype=torch.float64), spec)
        y = y * (1.0 - ls) + ls / C
        mask = torch.ones(y.shape[0], y.shape[2], dtype=torch.bool)
        alpha_t = (y * alpha_c.view(1, C, 1)).sum(dim=1)
    return y, mask, alpha_t, alpha_c


def weights(spec, w_flat):
    n, c, inner = spec["shape"]
    if w_flat is None:
        return positions(torch.ones(n * inner, dtype=torch.float64), spec)
    return positions(torch.tensor(w_flat, dtype=torch.float64), spec)


def reduce(spec, wl, mask, w, alpha_t):
    red = spec["reduction"]
    maskf = mask.to(torch.float64)
    if red == "none":
        return wl
    total = wl.sum()
    if red == "sum":
        return total
    if red == "mean":
        denom = maskf.sum()
    elif red == "weighted_mean":
        denom = (w * alpha_t * maskf).sum()
    else:
        raise ValueError(red)
    if float(denom) == 0.0:
        return total * 0.0
    return total / denom


def focal_forward(spec, leaf, t_flat, w_flat, clip=None):
    """out as a function of the stored input leaf."""
    xl = logical(leaf, spec)
    logp, mod = probabilities(spec, xl, clip)
    y, mask, alpha_t, alpha_c = targets_and_mask(spec, t_flat)
    C = xl.shape[1]
    loss = (y * alpha_c.view(1, C, 1) * mod * (-logp)).sum(dim=1)
    w = weights(spec, w_flat)
    wl = w * loss * mask.to(torch.float64)
    out = reduce(spec, wl, mask, w, alpha_t)
    if spec["reduction"] == "none":
        out = out.reshape(-1)
    return out


def gradients(fn, x_flat, g_flat):
    """(out, grad, fgrad): out = fn(x); grad = d sum(g * out) / dx;
    fgrad = d sum(out) / dx."""
    leaf = torch.tensor(x_flat, dtype=torch.float64, requires_grad=True)
    out = fn(leaf)
    g = torch.tensor(g_flat, dtype=torch.float64).view_as(out)
    grad, = torch.autograd.grad((g * out).sum(), leaf, retain_graph=True, allow_unused=True)
    fgrad, = torch.autograd.grad(out.sum(), leaf, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(leaf)
    if fgrad is None:
        fgrad = torch.zeros_like(leaf)
    return (out.detach().reshape(-1).numpy().copy(), grad.numpy().copy(), fgrad.numpy().copy())


def reference(spec, x, t, w, g, clip=None):
    return gradients(lambda leaf: focal_forward(spec, leaf, t, w, clip), x, g)


# ---------------------------------------------------------------------------
# Cross-checks against torch's own losses (gamma = 0)
# ---------------------------------------------------------------------------

def torch_crosscheck_forward(spec, leaf, t_flat, w_flat):
    """out computed from torch.nn.functional.cross_entropy / nll_loss,
    or None when torch has no counterpart for this combination."""
    n, c, inner = spec["shape"]
    C = c
    xl = logical(leaf, spec)
    ls = float(spec["smoothing"])
    red = spec["reduction"]
    a = spec["alpha"]
    weight = None
    if a is not None:
        weight = alpha_per_class(spec, C)
    index = spec["targets"] == "index"
    logits = spec["input"] == "logits"
    if not logits and (not index or ls != 0.0):
        return None
    if index:
        target = positions(torch.tensor(t_flat, dtype=torch.int64), spec)
        ii = spec["ignore_index"] if spec["ignore_index"] is not None else -100
        if logits:
            def crit(reduction):
                return F.cross_entropy(xl, target, weight=weight, ignore_index=ii,
                                       label_smoothing=ls, reduction=reduction)
        else:
            eps = spec["epsilon"]
            logp = torch.log(torch.clamp(xl, eps, 1.0 - eps))

            def crit(reduction):
                return F.nll_loss(logp, target, weight=weight, ignore_index=ii, reduction=reduction)
        count = int((target != ii).sum())
    else:
        y = logical(torch.tensor(t_flat, dtype=torch.float64), spec)

        def crit(reduction):
            return F.cross_entropy(xl, y, weight=weight, label_smoothing=ls, reduction=reduction)
        count = y.shape[0] * y.shape[2]
    y_s, mask, alpha_t, _ = targets_and_mask(spec, t_flat)
    if w_flat is None:
        if red == "none":
            return crit("none").reshape(-1)
        if red == "sum":
            return crit("sum")
        if count == 0:
            return None          # torch returns NaN for an empty mean
        if red == "mean":
            if index and weight is not None:
                return crit("sum") / count
            return crit("mean")
        if red == "weighted_mean":
            if index:
                return crit("mean")
            denom = float(alpha_t.sum())
            return crit("sum") / denom if denom != 0.0 else None
    # Per-position weights have no torch counterpart; weight torch's
    # per-position losses and reduce them by the rule.
    w = weights(spec, w_flat)
    per = w * crit("none")
    if red == "none":
        return per.reshape(-1)
    if red == "sum":
        return per.sum()
    if red == "mean":
        return per.sum() / count if count else None
    denom = float((w * alpha_t * mask.to(torch.float64)).sum())
    return per.sum() / denom if denom != 0.0 else None


def assert_close(name, what, got, want, rtol):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (name, what, got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    if not err <= rtol * scale:
        raise AssertionError("%s: %s differs from torch by %g (scale %g)" % (name, what, err, scale))


def crosscheck(spec, x, t, w, g, ref):
    """Asserts the reference equals torch's cross-entropy for gamma = 0.
    Returns True when a check ran."""
    if spec["gamma"] != 0.0:
        return False
    probe = torch.tensor(x, dtype=torch.float64)
    if torch_crosscheck_forward(spec, probe, t, w) is None:
        return False
    out, grad, fgrad = gradients(lambda leaf: torch_crosscheck_forward(spec, leaf, t, w), x, g)
    assert_close(spec["name"], "out", ref[0], out, CROSSCHECK_RTOL)
    assert_close(spec["name"], "grad", ref[1], grad, CROSSCHECK_RTOL)
    assert_close(spec["name"], "fgrad", ref[2], fgrad, CROSSCHECK_RTOL)
    return True


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def fmt(v):
    return repr(float(v))


def fmt_array(key, values):
    values = list(values)
    return "%s %d %s" % (key, len(values), " ".join(fmt(v) for v in values))


def write_case(f, spec, x, t, w, g, out, grad, fgrad):
    n, c, inner = spec["shape"]
    assert len(x) == n * c * inner
    if spec["targets"] == "index":
        assert len(t) == n * inner
    else:
        assert len(t) == n * c * inner
    assert w is None or len(w) == n * inner
    assert len(g) == out_count(spec) and len(out) == out_count(spec)
    assert len(grad) == len(x) and len(fgrad) == len(x)
    for arr in (x, g) + ((t,) if spec["targets"] == "dense" else ()) + ((w,) if w is not None else ()):
        arr = np.asarray(arr, dtype=np.float64)
        assert np.array_equal(arr, r32(arr)), spec["name"] + ": input not float32-representable"
    for arr in (out, grad, fgrad):
        assert np.all(np.isfinite(arr)), spec["name"] + ": non-finite reference"

    lines = ["case " + spec["name"],
             "mode " + spec["mode"],
             "targets " + spec["targets"],
             "input " + spec["input"],
             "gamma " + fmt(spec["gamma"])]
    a = spec["alpha"]
    if a is None:
        lines.append("alpha none")
    elif isinstance(a, (list, tuple)):
        lines.append("alpha vector %d %s" % (len(a), " ".join(fmt(v) for v in a)))
    else:
        lines.append("alpha scalar " + fmt(a))
    lines.append("reduction " + spec["reduction"])
    lines.append("ignore_index " + ("none" if spec["ignore_index"] is None else str(int(spec["ignore_index"]))))
    lines.append("smoothing " + fmt(spec["smoothing"]))
    lines.append("epsilon " + fmt(spec["epsilon"]))
    lines.append("variant " + spec["variant"])
    lines.append("beta " + fmt(spec["beta"]))
    if spec["tol"] is not None:
        lines.append("tol %s %s" % (fmt(spec["tol"][0]), fmt(spec["tol"][1])))
    lines.append("shape %d %d %d" % (n, c, inner))
    lines.append(fmt_array("x", x))
    if spec["targets"] == "index":
        lines.append("t %d %s" % (len(t), " ".join(str(int(v)) for v in t)))
    else:
        lines.append(fmt_array("t", t))
    lines.append("w none" if w is None else fmt_array("w", w))
    lines.append(fmt_array("g", g))
    lines.append(fmt_array("out", out))
    lines.append(fmt_array("grad", grad))
    lines.append(fmt_array("fgrad", fgrad))
    lines.append("end")
    f.write("\n".join(lines) + "\n\n")


def needed_rtol(got, want):
    """The smallest rtol with |got - want| <= atol + rtol |want|, where
    atol = rtol * max(max |want|, 1e-300) * 0.1 (the C test's rule)."""
    got = np.asarray(got)
    want = np.asarray(want)
    scale = max(float(np.max(np.abs(want))), 1e-300) * 0.1
    return float(np.max(np.abs(got - want) / (scale + np.abs(want))))


# ---------------------------------------------------------------------------
# Input generation
# ---------------------------------------------------------------------------

class Gen:
    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)

    def logits(self, shape, scale=1.0):
        n, c, inner = shape
        return r32(self.rng.normal(0.0, scale, size=n * c * inner))

    def softmax_rows(self, shape, scale=1.0, lo=None, hi=None):
        """Probabilities: softmax over the class axis of random logits, each
        rounded to float32 (so rows sum to 1 only approximately)."""
        n, c, inner = shape
        if c == 1:
            return r32(self.rng.uniform(0.05, 0.95, size=n * inner))
        while True:
            z = self.rng.normal(0.0, scale, size=(n, c, inner))
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p = p / p.sum(axis=1, keepdims=True)
            if (lo is None or p.min() >= lo) and (hi is None or p.max() <= hi):
                return r32(p.reshape(-1))

    def index_targets(self, shape, ignore_index=None, fraction=0.3):
        n, c, inner = shape
        count = n * inner
        t = self.rng.randint(0, c, size=count).astype(np.int64)
        if ignore_index is not None and count >= 2:
            drop = self.rng.uniform(size=count) < fraction
            drop[self.rng.randint(0, count)] = True
            keep = self.rng.randint(0, count)
            drop[keep] = False
            t[drop] = ignore_index
        return [int(v) for v in t]

    def dense_targets(self, shape, kind):
        n, c, inner = shape
        if kind == "dist":
            y = self.rng.uniform(0.0, 1.0, size=(n, c, inner)) ** 2
            y = y / y.sum(axis=1, keepdims=True)
        elif kind == "onehot":
            k = self.rng.randint(0, c, size=(n, inner))
            y = np.zeros((n, c, inner))
            for i in range(n):
                for s in range(inner):
                    y[i, k[i, s], s] = 1.0
        elif kind == "arbitrary":
            y = self.rng.uniform(0.0, 1.0, size=(n, c, inner))
        else:
            raise ValueError(kind)
        return r32(y.reshape(-1))

    def weights(self, count, zeros=0.2):
        w = self.rng.uniform(0.0, 2.0, size=count)
        w[self.rng.uniform(size=count) < zeros] = 0.0
        return r32(w)

    def upstream(self, count):
        if count == 1:
            return r32([self.rng.uniform(0.5, 1.5) * (1 if self.rng.uniform() < 0.7 else -1)])
        return r32(self.rng.uniform(-1.0, 1.0, size=count))

    def alpha_vector(self, c):
        return [float(v) for v in r32(self.rng.uniform(0.1, 1.0, size=c))]


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------

SHAPES = [
    # tag, (n, c, inner), channels_last
    ("nc6x5", (6, 5, 1), None),
    ("nchw2x4x3x5", (2, 4, 15), None),
    ("ncdhw2x3x2x3x2", (2, 3, 12), None),
    ("nc5x1", (5, 1, 1), None),
    ("nhwc2x3x4x6", (24, 6, 1), (2, 3, 4, 6)),
]
BIG_SHAPE = ("nc3x1000", (3, 1000, 1), None)

# Feature profiles, rotated over the (gamma, reduction) grid of each shape.
PROFILES = [
    dict(targets="index", alpha="none"),
    dict(targets="index", alpha="scalar", weights=True),
    dict(targets="index", alpha="vector", ignore=True),
    dict(targets="dense", dense="dist", alpha="vector"),
    dict(targets="dense", dense="onehot", alpha="none", weights=True),
    dict(targets="dense", dense="arbitrary", alpha="scalar"),
    dict(targets="index", alpha="vector", smoothing=0.1, ignore=True, weights=True),
    dict(targets="index", input="probabilities", alpha="scalar", ignore=True),
    dict(targets="dense", dense="dist", input="probabilities", alpha="none", smoothing=0.1),
    dict(targets="index", scale=10.0, alpha="vector", weights=True),
    dict(targets="dense", dense="arbitrary", scale=10.0, alpha="vector", smoothing=0.1, weights=True),
]


def gamma_tag(gamma):
    return "g%g" % gamma


def build(gen, tag, shape, cl, gamma, reduction, prof, suffix=""):
    n, c, inner = shape
    targets = prof["targets"]
    inp = prof.get("input", "logits")
    scale = prof.get("scale", 1.0)
    alpha_kind = prof.get("alpha", "none")
    ls = prof.get("smoothing", 0.0)
    ignore = prof.get("ignore", False)
    use_w = prof.get("weights", False)

    if alpha_kind == "none":
        alpha = None
    elif alpha_kind == "scalar":
        alpha = 0.25
    else:
        alpha = gen.alpha_vector(c)

    parts = [tag, gamma_tag(gamma), reduction]
    parts.append(targets if targets == "index" else "dense-" + prof["dense"])
    parts.append(inp if scale == 1.0 else "%s-x%g" % (inp, scale))
    parts.append("alpha-" + alpha_kind)
    if ls:
        parts.append("ls%g" % ls)
    if ignore:
        parts.append("ignore")
    if use_w:
        parts.append("w")
    if suffix:
        parts.append(suffix)
    name = "_".join(parts)

    spec = make_spec(name, shape, targets=targets, input=inp, gamma=gamma, alpha=alpha,
                     reduction=reduction, ignore_index=(-100 if ignore else None),
                     smoothing=ls, channels_last=cl)
    if inp == "logits":
        x = gen.logits(shape, scale)
    else:
        x = gen.softmax_rows(shape, lo=1e-5, hi=0.999)
    if targets == "index":
        t = gen.index_targets(shape, spec["ignore_index"])
    else:
        t = gen.dense_targets(shape, prof["dense"])
    w = gen.weights(n * inner) if use_w else None
    g = gen.upstream(out_count(spec))
    return spec, x, t, w, g


def grid(gen):
    cases = []
    for si, (tag, shape, cl) in enumerate(SHAPES):
        for gi, gamma in enumerate(GAMMAS):
            for ri, red in enumerate(REDUCTIONS):
                prof = PROFILES[(gi * len(REDUCTIONS) + ri + 3 * si) % len(PROFILES)]
                cases.append(build(gen, tag, shape, cl, gamma, red, prof))
    tag, shape, cl = BIG_SHAPE
    big = [
        (0.0, "none", 0), (0.5, "mean", 3), (1.0, "sum", 1), (2.0, "weighted_mean", 6),
        (3.7, "none", 8), (2.0, "mean", 7), (0.0, "weighted_mean", 10), (3.7, "sum", 9),
        (1.0, "weighted_mean", 5),
    ]
    for gamma, red, pi in big:
        cases.append(build(gen, tag, shape, cl, gamma, red, PROFILES[pi]))
    return cases


def specials(gen):
    cases = []

    # C = 1 with probabilities input: not renormalised, so the loss is not 0.
    shape = (5, 1, 1)
    for gamma, red, alpha in [(0.0, "none", None), (0.5, "mean", 0.25), (2.0, "sum", [0.75]),
                              (3.7, "weighted_mean", [0.5]), (1.0, "weighted_mean", None)]:
        akind = "none" if alpha is None else ("vector" if isinstance(alpha, list) else "scalar")
        spec = make_spec("nc5x1_%s_%s_index_probabilities_alpha-%s" % (gamma_tag(gamma), red, akind),
                         shape, input="probabilities", gamma=gamma, alpha=alpha, reduction=red)
        cases.append((spec, gen.softmax_rows(shape), gen.index_targets(shape), None,
                      gen.upstream(out_count(spec))))
    spec = make_spec("nc5x1_g2_sum_dense-arbitrary_probabilities_alpha-scalar_w", shape,
                     targets="dense", input="probabilities", gamma=2.0, alpha=0.25, reduction="sum")
    cases.append((spec, gen.softmax_rows(shape), gen.dense_targets(shape, "arbitrary"),
                  gen.weights(5), gen.upstream(1)))

    # Every position ignored: MEAN and WEIGHTED_MEAN have a zero denominator.
    # (torch's cross_entropy returns NaN for such a mean, so the gamma = 0
    # ones are not cross-checked.)
    for gamma, red, alpha, ls, tag, shp in [(2.0, "mean", None, 0.0, "nc6x5", (6, 5, 1)),
                                            (2.0, "weighted_mean", "vector", 0.0, "nc6x5", (6, 5, 1)),
                                            (2.0, "sum", 0.25, 0.0, "nc6x5", (6, 5, 1)),
                                            (2.0, "none", "vector", 0.1, "nc6x5", (6, 5, 1)),
                                            (2.0, "mean", "vector", 0.1, "nchw2x4x3x5", (2, 4, 15)),
                                            (0.0, "mean", None, 0.1, "nc6x5", (6, 5, 1)),
                                            (0.0, "weighted_mean", "vector", 0.0, "nc6x5", (6, 5, 1))]:
        n, c, inner = shp
        a = gen.alpha_vector(c) if alpha == "vector" else alpha
        akind = "none" if a is None else ("vector" if isinstance(a, list) else "scalar")
        name = "%s_%s_%s_index_logits_alpha-%s%s_all-ignored" % (tag, gamma_tag(gamma), red, akind,
                                                               "_ls0.1" if ls else "")
        spec = make_spec(name, shp, gamma=gamma, alpha=a, reduction=red, ignore_index=-100, smoothing=ls)
        cases.append((spec, gen.logits(shp), [-100] * (n * inner), gen.weights(n * inner),
                      gen.upstream(out_count(spec))))

    # Zero weights everywhere: WEIGHTED_MEAN's denominator is 0, MEAN's is not.
    shp = (6, 5, 1)
    for red in ("weighted_mean", "mean"):
        spec = make_spec("nc6x5_g2_%s_index_logits_alpha-vector_zero-weights" % red, shp,
                         gamma=2.0, alpha=gen.alpha_vector(5), reduction=red)
        cases.append((spec, gen.logits(shp), gen.index_targets(shp), r32(np.zeros(6)), gen.upstream(1)))
    # Dense all-zero targets: WEIGHTED_MEAN's denominator sum_c y_c alpha_c is 0.
    spec = make_spec("nc6x5_g0.5_weighted_mean_dense-zero_logits_alpha-scalar", shp,
                     targets="dense", gamma=0.5, alpha=0.25, reduction="weighted_mean")
    cases.append((spec, gen.logits(shp), r32(np.zeros(30)), None, gen.upstream(1)))

    # ignore_index equal to a valid class.
    shp = (6, 5, 1)
    for red in ("mean", "weighted_mean", "none"):
        spec = make_spec("nc6x5_g1_%s_index_logits_alpha-vector_ignore-class2" % red, shp,
                         gamma=1.0, alpha=gen.alpha_vector(5), reduction=red, ignore_index=2)
        t = [0, 2, 1, 2, 4, 3]
        cases.append((spec, gen.logits(shp), t, gen.weights(6, zeros=0.0), gen.upstream(out_count(spec))))
    # label smoothing with ignore_index in 4-D and 5-D.
    for tag, shp, red in [("nchw2x4x3x5", (2, 4, 15), "mean"), ("ncdhw2x3x2x3x2", (2, 3, 12), "weighted_mean")]:
        n, c, inner = shp
        spec = make_spec("%s_g0_%s_index_logits_alpha-vector_ls0.1_ignore" % (tag, red), shp,
                         gamma=0.0, alpha=gen.alpha_vector(c), reduction=red, ignore_index=-100,
                         smoothing=0.1)
        cases.append((spec, gen.logits(shp), gen.index_targets(shp, -100), None, gen.upstream(1)))

    # Confident positions (p_t -> 1) with gamma in (0, 1), mixed with ordinary ones.
    shp = (6, 5, 1)
    for gamma, red in [(0.5, "none"), (0.5, "sum"), (0.25, "mean")]:
        x = gen.logits(shp, 1.0).reshape(6, 5)
        t = gen.index_targets(shp)
        for i in range(0, 6, 2):
            x[i, t[i]] += 30.0
        spec = make_spec("nc6x5_%s_%s_index_logits_alpha-none_confident" % (gamma_tag(gamma), red), shp,
                         gamma=gamma, reduction=red)
        cases.append((spec, r32(x.reshape(-1)), t, None, gen.upstream(out_count(spec))))
    spec = make_spec("nc6x5_g0.5_none_dense-onehot_logits-x10_alpha-vector_confident", shp,
                     targets="dense", gamma=0.5, alpha=gen.alpha_vector(5), reduction="none")
    y = gen.dense_targets(shp, "onehot").reshape(6, 5)
    x = gen.logits(shp, 1.0).reshape(6, 5)
    x[0::2] += 30.0 * y[0::2]
    cases.append((spec, r32(x.reshape(-1)), r32(y.reshape(-1)), None, gen.upstream(6)))

    # Probabilities that need clipping.
    shp = (6, 5, 1)
    clip_cases = []
    for eps, etag in [(DEFAULT_EPSILON, "eps1e-7"), (2.0 ** -10, "eps2^-10")]:
        if eps == DEFAULT_EPSILON:
            specials_vals = [0.0, 1e-9, 3e-8, 1.0, 0.99999994]
        else:
            specials_vals = [0.0, 5e-4, 1e-6, 1.0, 0.9995]
        for targets, red, gamma, alpha in [("index", "none", 2.0, "vector"), ("index", "mean", 0.5, None),
                                           ("dense", "sum", 2.0, 0.25), ("dense", "none", 0.0, "vector")]:
            a = gen.alpha_vector(5) if alpha == "vector" else alpha
            akind = "none" if a is None else ("vector" if isinstance(a, list) else "scalar")
            tname = "index" if targets == "index" else "dense-dist"
            spec = make_spec("nc6x5_%s_%s_%s_probabilities_alpha-%s_clip-%s" % (gamma_tag(gamma), red, tname, akind, etag),
                             shp, targets=targets, input="probabilities", gamma=gamma, alpha=a,
                             reduction=red, epsilon=eps)
            x = gen.softmax_rows(shp, lo=1e-3).reshape(6, 5)
            t = gen.index_targets(shp) if targets == "index" else gen.dense_targets(shp, "dist")
            # Put out-of-range values on target classes and on others.
            for i, v in enumerate(specials_vals):
                if targets == "index":
                    k = t[i] if i % 2 == 0 else (t[i] + 1) % 5
                else:
                    k = i % 5
                x[i, k] = v
            clip_cases.append((spec, r32(x.reshape(-1)), t, None, gen.upstream(out_count(spec))))
    cases.extend(clip_cases)
    return cases


def float32_clip_tolerance(spec, x, t, w, g, ref):
    """rtol32 for a clipping case: libfocal's float32 path may clip at the
    float32 neighbours of eps and 1 - eps, which moves the clipped values."""
    lo = f32_scalar(spec["epsilon"])
    hi = f32_scalar(1.0 - spec["epsilon"])
    alt = reference(spec, x, t, w, g, clip=(lo, hi))
    need = max(needed_rtol(a, r) for a, r in zip(alt, ref))
    rtol32 = max(DEFAULT_RTOL32, 4.0 * need)
    if rtol32 == DEFAULT_RTOL32:
        return None
    # round up to one significant digit so the file stays readable
    e = math.floor(math.log10(rtol32))
    rtol32 = math.ceil(rtol32 / 10 ** e) * 10 ** e
    return (DEFAULT_RTOL64, float("%.0e" % rtol32))


def check_coverage(cases):
    """Asserts the covering design: every shape sees every gamma, every
    reduction, index and dense targets, and each alpha form."""
    seen = {}
    for spec, x, t, w, g in cases:
        key = (spec["shape"], spec["channels_last"])
        a = spec["alpha"]
        akind = "none" if a is None else ("vector" if isinstance(a, (list, tuple)) else "scalar")
        s = seen.setdefault(key, set())
        s.update({("gamma", spec["gamma"]), ("reduction", spec["reduction"]),
                  ("targets", spec["targets"]), ("alpha", akind)})
    want = ({("gamma", v) for v in GAMMAS} | {("reduction", v) for v in REDUCTIONS}
            | {("targets", "index"), ("targets", "dense")}
            | {("alpha", v) for v in ("none", "scalar", "vector")})
    for tag, shape, cl in SHAPES + [BIG_SHAPE]:
        missing = want - seen.get((shape, cl), set())
        assert not missing, (tag, sorted(missing))


def main():
    gen = Gen(20170807)
    cases = grid(gen) + specials(gen)
    check_coverage(cases)
    names = set()
    path = os.path.join(HERE, "softmax.golden")
    checked = 0
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# libfocal golden data, softmax mode; written by gen_softmax.py, format in README.md\n\n")
        for spec, x, t, w, g in cases:
            assert spec["name"] not in names, spec["name"]
            names.add(spec["name"])
            x = [float(v) for v in x]
            if spec["targets"] == "dense":
                t = [float(v) for v in t]
            w = None if w is None else [float(v) for v in w]
            g = [float(v) for v in g]
            if spec["input"] == "probabilities" and "clip" not in spec["name"]:
                eps = spec["epsilon"]
                assert min(x) > 10 * eps and max(x) < 1 - 10 * eps, spec["name"]
            ref = reference(spec, x, t, w, g)
            if crosscheck(spec, x, t, w, g, ref):
                checked += 1
            if "clip" in spec["name"]:
                spec["tol"] = float32_clip_tolerance(spec, x, t, w, g, ref)
            write_case(f, spec, x, t, w, g, *ref)
    os.replace(tmp, path)
    print("%s: %d cases, %d cross-checked against torch" % (os.path.relpath(path), len(cases), checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
