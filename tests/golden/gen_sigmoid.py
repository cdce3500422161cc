#!/usr/bin/python3
"""Golden reference data for libfocal's sigmoid mode.

Writes sigmoid.golden next to this script. Two references:

  (1) torchvision.ops.sigmoid_focal_loss in float64 autograd, wherever it
      applies: logits, the FL variant, no per-position weights, no label
      smoothing, no alpha or a scalar alpha >= 0 (torchvision's alpha = -1
      means no alpha), index targets as one-hot rows over the non-ignored
      positions;
  (2) a plain float64 autograd transcription of the documented semantics,
      used for every case.

The generator asserts that (1) and (2) agree to 1e-12 wherever (1) applies,
that FL* with gamma = 1, beta = 0 and no alpha is
torch.nn.functional.binary_cross_entropy_with_logits (value and gradient),
and that each index-target case of a pair equals its one-hot dense twin.

Run with Debian's interpreter (it has torch, torchvision and numpy):

    /usr/bin/python3 tests/golden/gen_sigmoid.py

The output is deterministic: the inputs come from numpy's frozen legacy
RandomState stream with a fixed seed, and torch runs single-threaded.

The helpers (reference, SigmoidGen, ...) are also used by gen_seeds.py.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_softmax as common  # noqa: E402

HERE = common.HERE
GRID_GAMMAS = (0.0, 0.5, 2.0)       # every shape x reduction x {index, dense}
EXTRA_GAMMAS = (1.0, 3.7)           # every shape x reduction, one target kind each
REDUCTIONS = ("none", "mean", "sum", "weighted_mean", "sum_over_positives")
DEFAULT_EPSILON = common.DEFAULT_EPSILON
DEFAULT_RTOL64 = common.DEFAULT_RTOL64
DEFAULT_RTOL32 = common.DEFAULT_RTOL32
CROSSCHECK_RTOL = common.CROSSCHECK_RTOL
MAX_BYTES = 6 * 1024 * 1024

r32 = common.r32
f32_scalar = common.f32_scalar

torch.set_num_threads(1)


def make_spec(name, shape, **kw):
    return common.make_spec(name, shape, mode="sigmoid", **kw)


def alpha_kind(alpha):
    if alpha is None:
        return "none"
    return "vector" if isinstance(alpha, (list, tuple)) else "scalar"


# ---------------------------------------------------------------------------
# Reference (2): the documented semantics, transcribed
# ---------------------------------------------------------------------------

def targets_and_mask(spec, t_flat):
    """The raw targets y (N, C, S) before smoothing, the non-ignored mask
    (N, 1, S) as float64, and P, the positives of SUM_OVER_POSITIVES."""
    n, c, inner = spec["shape"]
    if spec["targets"] == "index":
        t = torch.tensor(t_flat, dtype=torch.int64).view(n, inner)
        if spec["ignore_index"] is None:
            keep = torch.ones_like(t, dtype=torch.bool)
        else:
            keep = t != int(spec["ignore_index"])
        # An ignored position's row does not matter; make it background.
        safe = torch.where(keep, t, torch.full_like(t, c))
        if bool(((safe < 0) | (safe > c)).any()):
            raise AssertionError(spec["name"] + ": index target outside [0, c]")
        # one_hot over c + 1 classes, the last one (background) dropped
        y = F.one_hot(safe, c + 1)[:, :, :c].permute(0, 2, 1).to(torch.float64)
        positives = float(((safe < c) & keep).sum())
    else:
        assert spec["ignore_index"] is None, "ignore_index applies to index targets only"
        y = torch.tensor(t_flat, dtype=torch.float64).view(n, c, inner)
        keep = torch.ones(n, inner, dtype=torch.bool)
        positives = float(y.sum())
    return y, keep.to(torch.float64).view(n, 1, inner), positives


def alpha_per_element(spec, ys):
    """alpha_t = alpha y + (1 - alpha)(1 - y) per element, 1 without alpha."""
    c = ys.shape[1]
    a = spec["alpha"]
    if a is None:
        return torch.ones_like(ys)
    if isinstance(a, (list, tuple)):
        assert len(a) == c
        av = torch.tensor(a, dtype=torch.float64).view(1, c, 1)
    else:
        av = torch.full((1, c, 1), float(a), dtype=torch.float64)
    return av * ys + (1.0 - av) * (1.0 - ys)


def position_weights(spec, w_flat):
    n, c, inner = spec["shape"]
    if w_flat is None:
        return torch.ones(n, 1, inner, dtype=torch.float64)
    return torch.tensor(w_flat, dtype=torch.float64).view(n, 1, inner)


def element_loss(spec, x, ys, alpha_t, clip=None):
    """The per-element loss, (N, C, S), for the stored inputs x."""
    gamma = float(spec["gamma"])
    if spec["variant"] == "fl_star":
        assert gamma > 0 and spec["input"] == "logits"
        xt = x * (2.0 * ys - 1.0)
        return -alpha_t * F.logsigmoid(gamma * xt + float(spec["beta"])) / gamma
    assert spec["variant"] == "fl"
    if spec["input"] == "logits":
        ce = -(ys * F.logsigmoid(x) + (1.0 - ys) * F.logsigmoid(-x))
        # 1 - p_t without the cancellation of 1 - (p y + (1 - p)(1 - y))
        q = ys * torch.sigmoid(-x) + (1.0 - ys) * torch.sigmoid(x)
    else:
        lo, hi = clip if clip is not None else (spec["epsilon"], 1.0 - spec["epsilon"])
        p = torch.clamp(x, lo, hi)
        ce = -(ys * torch.log(p) + (1.0 - ys) * torch.log1p(-p))
        q = ys * (1.0 - p) + (1.0 - ys) * p
    if 0.0 < gamma < 1.0 and not bool((q > 0).all()):
        # the derivative of q^gamma at q = 0 would be infinite
        raise AssertionError(spec["name"] + ": 1 - p_t underflowed to 0")
    return alpha_t * q ** gamma * ce


def reduce(spec, wl, denominators):
    red = spec["reduction"]
    if red == "none":
        return wl.reshape(-1)
    total = wl.sum()
    if red == "sum":
        return total
    denom = denominators[red]
    if denom == 0.0:
        return total * 0.0
    return total / denom


def sigmoid_forward(spec, leaf, t_flat, w_flat, clip=None):
    """out as a function of the stored input leaf."""
    n, c, inner = spec["shape"]
    x = leaf.view(n, c, inner)
    y, keep, positives = targets_and_mask(spec, t_flat)
    ls = float(spec["smoothing"])
    ys = y * (1.0 - ls) + ls / 2.0
    alpha_t = alpha_per_element(spec, ys)
    w = position_weights(spec, w_flat)
    loss = element_loss(spec, x, ys, alpha_t, clip)
    wl = w * loss * keep
    denominators = {
        "mean": float(c * keep.sum()),
        "weighted_mean": float((w * alpha_t * keep).sum()),
        "sum_over_positives": max(1.0, positives),
    }
    return reduce(spec, wl, denominators)


def reference(spec, x, t, w, g, clip=None):
    """(out, grad, fgrad) of reference (2)."""
    return common.gradients(lambda leaf: sigmoid_forward(spec, leaf, t, w, clip), x, g)


# ---------------------------------------------------------------------------
# Reference (1): torchvision, and BCE for FL* with gamma = 1, beta = 0
# ---------------------------------------------------------------------------

def torchvision_applies(spec, x, t):
    """Logits, FL, alpha >= 0; and not where torchvision's 1 - p_t, computed
    as 1 - (p y + (1 - p)(1 - y)), rounds to 0 with gamma in (0, 1), which
    makes its gradient NaN (the confident cases)."""
    a = spec["alpha"]
    alphas = [] if a is None else (list(a) if isinstance(a, (list, tuple)) else [a])
    if not (spec["variant"] == "fl" and spec["input"] == "logits"
            and all(float(v) >= 0.0 for v in alphas)):
        return False
    if 0.0 < spec["gamma"] < 1.0:
        n, c, inner = spec["shape"]
        y, keep, _ = targets_and_mask(spec, t)
        ls = float(spec["smoothing"])
        y = y * (1.0 - ls) + ls / 2.0
        p = torch.sigmoid(torch.tensor(x, dtype=torch.float64).view(n, c, inner))
        q = 1 - (p * y + (1 - p) * (1 - y))
        if bool(((q == 0) & (keep > 0)).any()):
            return False
    return True


def rows_of_kept_positions(spec, leaf, t_flat, w_flat=None):
    """Inputs, raw targets and weights as (K, C), (K, C) and (K, 1) rows of
    the K non-ignored positions, the (N, S) mask and P."""
    n, c, inner = spec["shape"]
    y, keep, positives = targets_and_mask(spec, t_flat)
    kept = keep.view(n, inner) > 0
    xr = leaf.view(n, c, inner).permute(0, 2, 1)[kept]
    yr = y.permute(0, 2, 1)[kept]
    if w_flat is None:
        wr = torch.ones(xr.shape[0], 1, dtype=torch.float64)
    else:
        wr = torch.tensor(w_flat, dtype=torch.float64).view(n, inner)[kept].view(-1, 1)
    return xr, yr, wr, kept, positives


def scatter_rows(spec, rows, kept):
    """(K, C) rows back to a flat (N, C, S) tensor with zeros elsewhere."""
    n, c, inner = spec["shape"]
    full = torch.zeros(n, inner, c, dtype=torch.float64)
    full[kept] = rows
    return full.permute(0, 2, 1).reshape(-1)


def map_reduction(spec, per, wr, alpha_rows, kept, positives):
    """libfocal's reduction of torch's per-element losses per (K, C) of the
    kept rows, weighted by wr; None where torch has no value (a mean over
    nothing, a zero denominator)."""
    red = spec["reduction"]
    wl = wr * per
    if red == "none":
        return scatter_rows(spec, wl, kept)
    if red == "sum":
        return wl.sum()
    if red == "sum_over_positives":
        return wl.sum() / max(1.0, positives)
    if red == "mean":
        return wl.sum() / wl.numel() if wl.numel() else None
    denom = float((wr * alpha_rows).sum())
    return wl.sum() / denom if denom != 0.0 else None


def torchvision_forward(spec, leaf, t_flat, w_flat):
    """out from torchvision.ops.sigmoid_focal_loss: torchvision's own
    'mean' and 'sum' where they are libfocal's (no weights, no smoothing,
    no alpha vector), else its per-element losses ('none'), one class
    column at a time for an alpha vector, with the smoothed targets,
    weighted and reduced by libfocal's rules."""
    c = spec["shape"][1]
    xr, yr, wr, kept, positives = rows_of_kept_positions(spec, leaf, t_flat, w_flat)
    ls = float(spec["smoothing"])
    yt = yr * (1.0 - ls) + ls / 2.0
    gamma = float(spec["gamma"])
    a = spec["alpha"]
    red = spec["reduction"]
    if isinstance(a, (list, tuple)):
        per = torch.stack([sigmoid_focal_loss(xr[:, k], yt[:, k], alpha=float(a[k]), gamma=gamma,
                                              reduction="none") for k in range(c)], dim=1)
        av = torch.tensor(a, dtype=torch.float64).view(1, c)
        alpha_rows = av * yt + (1.0 - av) * (1.0 - yt)
    else:
        alpha = -1.0 if a is None else float(a)
        if w_flat is None and ls == 0.0 and red in ("mean", "sum") and xr.shape[0] > 0:
            return sigmoid_focal_loss(xr, yt, alpha=alpha, gamma=gamma, reduction=red)
        per = sigmoid_focal_loss(xr, yt, alpha=alpha, gamma=gamma, reduction="none")
        alpha_rows = torch.ones_like(yt) if a is None else alpha * yt + (1.0 - alpha) * (1.0 - yt)
    return map_reduction(spec, per, wr, alpha_rows, kept, positives)


def bce_forward(spec, leaf, t_flat, w_flat):
    """FL* with gamma = 1, beta = 0 and no alpha, from
    binary_cross_entropy_with_logits' per-element losses, weighted and
    reduced by libfocal's rules."""
    xr, yr, wr, kept, positives = rows_of_kept_positions(spec, leaf, t_flat, w_flat)
    per = F.binary_cross_entropy_with_logits(xr, yr, reduction="none")
    return map_reduction(spec, per, wr, torch.ones_like(yr), kept, positives)


def hard_targets(spec, t):
    if spec["smoothing"] != 0.0:
        return False
    if spec["targets"] == "index":
        return True
    return all(v in (0.0, 1.0) for v in t)


def check_against(name, what, ref, fn, x, g):
    out, grad, fgrad = common.gradients(fn, x, g)
    common.assert_close(name, what + " out", ref[0], out, CROSSCHECK_RTOL)
    common.assert_close(name, what + " grad", ref[1], grad, CROSSCHECK_RTOL)
    common.assert_close(name, what + " fgrad", ref[2], fgrad, CROSSCHECK_RTOL)


def crosscheck(spec, x, t, w, g, ref):
    """Runs every applicable independent check; returns their names."""
    done = []
    probe = torch.tensor(x, dtype=torch.float64)
    if torchvision_applies(spec, x, t) and torchvision_forward(spec, probe, t, w) is not None:
        check_against(spec["name"], "torchvision", ref,
                      lambda leaf: torchvision_forward(spec, leaf, t, w), x, g)
        done.append("torchvision")
    if spec["variant"] == "fl_star" and hard_targets(spec, t):
        # This case's own configuration when it is gamma 1, beta 0, no alpha;
        # otherwise a probe with those settings on the same data.
        if spec["gamma"] == 1.0 and spec["beta"] == 0.0 and spec["alpha"] is None:
            pspec, pref = spec, ref
        else:
            pspec = dict(spec, gamma=1.0, beta=0.0, alpha=None)
            pref = reference(pspec, x, t, w, g)
        if bce_forward(pspec, probe, t, w) is not None:
            check_against(spec["name"], "bce", pref, lambda leaf: bce_forward(pspec, leaf, t, w), x, g)
            done.append("bce" if pspec is spec else "bce-probe")
    return done


# ---------------------------------------------------------------------------
# Input generation
# ---------------------------------------------------------------------------

class SigmoidGen(common.Gen):
    def index_targets_sigmoid(self, shape, ignore_index=None, fraction=0.25):
        """Values in [0, c], c the background; at least one positive and one
        background, and with ignore_index at least one ignored position."""
        n, c, inner = shape
        count = n * inner
        t = self.rng.randint(0, c + 1, size=count).astype(np.int64)
        if count >= 3:
            i, j, k = self.rng.permutation(count)[:3]
            t[i] = self.rng.randint(0, c)
            t[j] = c
            if ignore_index is not None:
                drop = self.rng.uniform(size=count) < fraction
                drop[k] = True
                drop[i] = drop[j] = False
                t[drop] = ignore_index
        return [int(v) for v in t]

    def dense_targets_sigmoid(self, shape, kind):
        n, c, inner = shape
        if kind == "hard":
            y = (self.rng.uniform(size=(n, c, inner)) < 0.3).astype(np.float64)
            y.reshape(-1)[self.rng.randint(0, y.size)] = 1.0
        elif kind == "soft":
            y = self.rng.uniform(0.0, 1.0, size=(n, c, inner))
        elif kind == "onehot":
            t = self.index_targets_sigmoid(shape)
            y = onehot_from_index(shape, t)
        else:
            raise ValueError(kind)
        return r32(y.reshape(-1))

    def probabilities(self, shape, scale=1.5):
        n, c, inner = shape
        z = self.rng.normal(0.0, scale, size=n * c * inner)
        return r32(1.0 / (1.0 + np.exp(-z)))


def onehot_from_index(shape, t):
    """Dense (N, C, S) targets of index targets without ignored positions."""
    n, c, inner = shape
    y = np.zeros((n, c, inner))
    for pos, v in enumerate(t):
        assert 0 <= v <= c
        if v < c:
            y[pos // inner, v, pos % inner] = 1.0
    return y


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------

SHAPES = [
    # tag, (n, c, inner)
    ("nc6x5", (6, 5, 1)),
    ("nchw2x4x3x5", (2, 4, 15)),
    ("ncdhw2x3x2x3x2", (2, 3, 12)),
    ("nc5x1", (5, 1, 1)),
]

# Feature profiles, rotated over the (gamma, reduction) grid of each shape;
# one list for index targets and one for dense targets.
INDEX_PROFILES = [
    dict(alpha="none"),
    dict(alpha="scalar", ignore=-1, weights=True),
    dict(alpha="vector", ignore=-100),
    dict(alpha="scalar", smoothing=0.1, ignore=-1, weights=True),
    dict(alpha="vector", scale=10.0),
    dict(alpha="scalar", input="probabilities", ignore=-100),
    dict(alpha="none", input="probabilities", smoothing=0.1, weights=True),
]
DENSE_PROFILES = [
    dict(dense="hard", alpha="scalar"),
    dict(dense="soft", alpha="none", weights=True),
    dict(dense="hard", alpha="vector", smoothing=0.1),
    dict(dense="soft", alpha="scalar", input="probabilities"),
    dict(dense="hard", alpha="none", scale=10.0),
    dict(dense="soft", alpha="vector", scale=10.0, weights=True),
    dict(dense="hard", alpha="vector", input="probabilities", smoothing=0.1, weights=True),
]


def gamma_tag(gamma):
    return "g%g" % gamma


def build(gen, tag, shape, targets, gamma, reduction, prof, variant="fl", beta=0.0, suffix=""):
    n, c, inner = shape
    inp = prof.get("input", "logits")
    scale = prof.get("scale", 1.0)
    akind = prof.get("alpha", "none")
    ls = prof.get("smoothing", 0.0)
    ignore = prof.get("ignore") if targets == "index" else None
    use_w = prof.get("weights", False)

    if akind == "none":
        alpha = None
    elif akind == "scalar":
        alpha = 0.25
    else:
        alpha = gen.alpha_vector(c)

    parts = [tag]
    if variant == "fl_star":
        parts.append("flstar")
    parts += [gamma_tag(gamma)]
    if variant == "fl_star":
        parts.append("b%g" % beta)
    parts.append(reduction)
    parts.append("index" if targets == "index" else "dense-" + prof["dense"])
    parts.append(inp if scale == 1.0 else "%s-x%g" % (inp, scale))
    parts.append("alpha-" + akind)
    if ls:
        parts.append("ls%g" % ls)
    if ignore is not None:
        parts.append("ignore%d" % ignore)
    if use_w:
        parts.append("w")
    if suffix:
        parts.append(suffix)
    name = "_".join(parts)

    spec = make_spec(name, shape, targets=targets, input=inp, gamma=gamma, alpha=alpha,
                     reduction=reduction, ignore_index=ignore, smoothing=ls,
                     variant=variant, beta=beta)
    x = gen.logits(shape, scale) if inp == "logits" else gen.probabilities(shape)
    if targets == "index":
        t = gen.index_targets_sigmoid(shape, ignore)
    else:
        t = gen.dense_targets_sigmoid(shape, prof["dense"])
    w = gen.weights(n * inner) if use_w else None
    g = gen.upstream(common.out_count(spec))
    return spec, x, t, w, g


def grid(gen):
    cases = []
    for si, (tag, shape) in enumerate(SHAPES):
        for gi, gamma in enumerate(GRID_GAMMAS):
            for ri, red in enumerate(REDUCTIONS):
                k = gi * len(REDUCTIONS) + ri + 3 * si
                cases.append(build(gen, tag, shape, "index", gamma, red,
                                   INDEX_PROFILES[k % len(INDEX_PROFILES)]))
                cases.append(build(gen, tag, shape, "dense", gamma, red,
                                   DENSE_PROFILES[k % len(DENSE_PROFILES)]))
        for gi, gamma in enumerate(EXTRA_GAMMAS):
            for ri, red in enumerate(REDUCTIONS):
                k = gi * len(REDUCTIONS) + ri + 2 * si + 1
                if (gi + ri + si) % 2 == 0:
                    cases.append(build(gen, tag, shape, "index", gamma, red,
                                       INDEX_PROFILES[k % len(INDEX_PROFILES)]))
                else:
                    cases.append(build(gen, tag, shape, "dense", gamma, red,
                                       DENSE_PROFILES[k % len(DENSE_PROFILES)]))
    return cases


def fl_star_cases(gen):
    """FL* with gamma {1, 2} and beta {0, 1} on every shape; the gamma 1,
    beta 0 ones without alpha double as BCE cross-checks."""
    cases = []
    profiles = [
        ("index", dict(alpha="none")),
        ("dense", dict(dense="hard", alpha="scalar", weights=True)),
        ("index", dict(alpha="vector", ignore=-1, weights=True)),
        ("dense", dict(dense="soft", alpha="none", scale=10.0)),
        ("index", dict(alpha="scalar", ignore=-100, scale=10.0)),
        ("dense", dict(dense="hard", alpha="none", weights=True)),
        ("index", dict(alpha="none", smoothing=0.1, ignore=-1)),
        ("dense", dict(dense="soft", alpha="vector", smoothing=0.1, weights=True)),
    ]
    k = 0
    for si, (tag, shape) in enumerate(SHAPES):
        for gamma in (1.0, 2.0):
            for beta in (0.0, 1.0):
                targets, prof = profiles[k % len(profiles)]
                red = REDUCTIONS[(k + si) % len(REDUCTIONS)]
                cases.append(build(gen, tag, shape, targets, gamma, red, prof, "fl_star", beta))
                k += 1
    # gamma 1, beta 0, no alpha, hard targets: BCE with logits, every reduction.
    for ri, red in enumerate(REDUCTIONS):
        tag, shape = SHAPES[ri % 3]
        if ri % 2 == 0:
            cases.append(build(gen, tag, shape, "index", 1.0, red,
                               dict(alpha="none", ignore=-1, weights=ri >= 2), "fl_star", 0.0, "bce"))
        else:
            cases.append(build(gen, tag, shape, "dense", 1.0, red,
                               dict(dense="hard", alpha="none", weights=True), "fl_star", 0.0, "bce"))
    return cases


def pair_cases(gen):
    """The same configuration and inputs with index targets (background
    included, nothing ignored) and with the equivalent one-hot dense targets."""
    configs = [
        # tag, shape, gamma, reduction, profile
        ("nc6x5", (6, 5, 1), 2.0, "mean", dict(alpha="scalar")),
        ("nc6x5", (6, 5, 1), 0.5, "sum_over_positives", dict(alpha="vector", weights=True)),
        ("nchw2x4x3x5", (2, 4, 15), 2.0, "weighted_mean", dict(alpha="scalar", smoothing=0.1)),
        ("nchw2x4x3x5", (2, 4, 15), 0.0, "none", dict(alpha="vector")),
        ("ncdhw2x3x2x3x2", (2, 3, 12), 2.0, "sum_over_positives", dict(alpha="none", input="probabilities")),
        ("ncdhw2x3x2x3x2", (2, 3, 12), 0.5, "weighted_mean", dict(alpha="vector", weights=True, scale=10.0)),
        ("nc5x1", (5, 1, 1), 2.0, "sum", dict(alpha="scalar", smoothing=0.1)),
        ("nc5x1", (5, 1, 1), 3.7, "weighted_mean", dict(alpha="vector", input="probabilities", weights=True)),
        ("nc6x5", (6, 5, 1), 1.0, "none", dict(alpha="scalar", weights=True, scale=10.0)),
        ("nchw2x4x3x5", (2, 4, 15), 2.0, "sum_over_positives", dict(alpha="scalar", variant="fl_star", beta=1.0)),
    ]
    cases = []
    for tag, shape, gamma, red, prof in configs:
        prof = dict(prof)
        variant = prof.pop("variant", "fl")
        beta = prof.pop("beta", 0.0)
        spec, x, t, w, g = build(gen, tag, shape, "index", gamma, red, prof, variant, beta, "pair-index")
        cases.append((spec, x, t, w, g))
        dspec = dict(spec, targets="dense", name=spec["name"].replace("_index_", "_dense-onehot_")
                     .replace("pair-index", "pair-dense"))
        y = r32(onehot_from_index(shape, t).reshape(-1))
        cases.append((dspec, x, y, w, g))
    return cases


def specials(gen):
    cases = []
    s65 = (6, 5, 1)

    # Every position ignored: every reduction gives 0 and a zero gradient.
    for tag, shp, gamma, red, akind in [("nc6x5", s65, 2.0, "mean", "none"),
                                        ("nc6x5", s65, 2.0, "weighted_mean", "vector"),
                                        ("nc6x5", s65, 0.5, "sum_over_positives", "scalar"),
                                        ("nc6x5", s65, 2.0, "sum", "scalar"),
                                        ("nc6x5", s65, 0.0, "none", "vector"),
                                        ("nchw2x4x3x5", (2, 4, 15), 2.0, "mean", "scalar")]:
        n, c, inner = shp
        a = gen.alpha_vector(c) if akind == "vector" else (0.25 if akind == "scalar" else None)
        spec = make_spec("%s_%s_%s_index_logits_alpha-%s_ignore-1_w_all-ignored" % (tag, gamma_tag(gamma), red, akind),
                         shp, gamma=gamma, alpha=a, reduction=red, ignore_index=-1)
        cases.append((spec, gen.logits(shp), [-1] * (n * inner), gen.weights(n * inner),
                      gen.upstream(common.out_count(spec))))

    # No positives: SUM_OVER_POSITIVES divides by max(1, 0) = 1.
    spec = make_spec("nc6x5_g2_sum_over_positives_index_logits_alpha-scalar_all-background", s65,
                     gamma=2.0, alpha=0.25, reduction="sum_over_positives")
    cases.append((spec, gen.logits(s65), [5] * 6, None, gen.upstream(1)))
    spec = make_spec("nc6x5_g0.5_sum_over_positives_index_logits_alpha-none_ignore-100_background-or-ignored", s65,
                     gamma=0.5, reduction="sum_over_positives", ignore_index=-100)
    cases.append((spec, gen.logits(s65), [5, -100, 5, 5, -100, 5], gen.weights(6), gen.upstream(1)))
    spec = make_spec("nchw2x4x3x5_g2_sum_over_positives_dense-zero_logits_alpha-vector_ls0.1", (2, 4, 15),
                     targets="dense", gamma=2.0, alpha=gen.alpha_vector(4), reduction="sum_over_positives",
                     smoothing=0.1)
    cases.append((spec, gen.logits((2, 4, 15)), r32(np.zeros(120)), None, gen.upstream(1)))
    # Few positives (P < 1 for soft targets): still max(1, P).
    spec = make_spec("nc6x5_g2_sum_over_positives_dense-small_logits_alpha-scalar", s65,
                     targets="dense", gamma=2.0, alpha=0.25, reduction="sum_over_positives")
    y = np.zeros(30)
    y[[3, 17]] = [0.25, 0.5]
    cases.append((spec, gen.logits(s65), r32(y), None, gen.upstream(1)))

    # Zero denominators of WEIGHTED_MEAN, and MEAN with all-zero weights.
    for red in ("weighted_mean", "mean", "sum_over_positives"):
        spec = make_spec("nc6x5_g2_%s_index_logits_alpha-vector_zero-weights" % red, s65,
                         gamma=2.0, alpha=gen.alpha_vector(5), reduction=red)
        cases.append((spec, gen.logits(s65), gen.index_targets_sigmoid(s65), r32(np.zeros(6)),
                      gen.upstream(1)))
    # alpha = 1 and all-zero dense targets: every alpha_t = y = 0.
    spec = make_spec("nc6x5_g0.5_weighted_mean_dense-zero_logits_alpha-scalar1", s65,
                     targets="dense", gamma=0.5, alpha=1.0, reduction="weighted_mean")
    cases.append((spec, gen.logits(s65), r32(np.zeros(30)), None, gen.upstream(1)))
    # alpha = 0 (torchvision applies: alpha >= 0).
    spec = make_spec("nc6x5_g2_mean_dense-hard_logits_alpha-scalar0", s65,
                     targets="dense", gamma=2.0, alpha=0.0, reduction="mean")
    cases.append((spec, gen.logits(s65), gen.dense_targets_sigmoid(s65, "hard"), None, gen.upstream(1)))

    # ignore_index equal to a valid class, and to the background value c.
    for red in ("mean", "none", "sum_over_positives"):
        spec = make_spec("nc6x5_g1_%s_index_logits_alpha-vector_ignore-class2" % red, s65,
                         gamma=1.0, alpha=gen.alpha_vector(5), reduction=red, ignore_index=2)
        cases.append((spec, gen.logits(s65), [0, 2, 5, 2, 4, 3], gen.weights(6, zeros=0.0),
                      gen.upstream(common.out_count(spec))))
    for red in ("mean", "sum_over_positives"):
        spec = make_spec("nc6x5_g2_%s_index_logits_alpha-scalar_ignore-background5" % red, s65,
                         gamma=2.0, alpha=0.25, reduction=red, ignore_index=5)
        cases.append((spec, gen.logits(s65), [0, 5, 1, 5, 4, 3], None, gen.upstream(1)))

    # Confident elements (1 - p_t -> 0) with gamma in (0, 1), and confidently
    # wrong ones, on hard targets.
    for gamma, red, targets in [(0.5, "none", "dense"), (0.5, "sum", "index"), (0.25, "mean", "dense"),
                                (0.25, "sum_over_positives", "index")]:
        shp = s65
        if targets == "index":
            t = gen.index_targets_sigmoid(shp)
            y = onehot_from_index(shp, t).reshape(-1)
        else:
            t = gen.dense_targets_sigmoid(shp, "hard")
            y = np.asarray(t)
        x = gen.logits(shp, 1.0)
        sign = 2.0 * y - 1.0
        mag = gen.rng.uniform(25.0, 40.0, size=x.size)
        pick = gen.rng.uniform(size=x.size)
        x = np.where(pick < 0.5, sign * mag, x)                  # confident and right
        x = np.where((pick >= 0.5) & (pick < 0.6), -sign * mag, x)   # confident and wrong
        spec = make_spec("nc6x5_%s_%s_%s_logits-x30_alpha-vector_confident" %
                         (gamma_tag(gamma), red, "index" if targets == "index" else "dense-hard"),
                         shp, targets=targets, gamma=gamma, alpha=gen.alpha_vector(5), reduction=red)
        cases.append((spec, r32(x), t, None, gen.upstream(common.out_count(spec))))
    # Logits of magnitude 1e4 (gamma >= 1 or 0: 1 - p_t is exactly 0 in
    # float64 for the right ones).
    for gamma, red, variant in [(2.0, "none", "fl"), (0.0, "sum", "fl"), (1.0, "mean", "fl"),
                                (2.0, "none", "fl_star")]:
        shp = s65
        t = gen.dense_targets_sigmoid(shp, "hard")
        x = gen.logits(shp, 1.0)
        sign = 2.0 * np.asarray(t) - 1.0
        pick = gen.rng.uniform(size=x.size)
        x = np.where(pick < 0.4, sign * 1e4, np.where(pick < 0.6, -sign * 1e4, x))
        name = "nc6x5_%s%s_%s_dense-hard_logits-x1e4_alpha-scalar" % (
            "flstar_" if variant == "fl_star" else "", gamma_tag(gamma), red)
        spec = make_spec(name, shp, targets="dense", gamma=gamma, alpha=0.25, reduction=red,
                         variant=variant)
        cases.append((spec, r32(x), t, None, gen.upstream(common.out_count(spec))))
    return cases


def clip_cases(gen):
    """Probabilities that need clipping, and values on the clip bounds
    (whose gradient passes). With eps = 1e-7 the float32 upper bound
    0.99999988 differs from 1 - 1e-7 by 19 % of eps, which moves -log(1 - p)
    by 1 %, so values clipped at the top sit on positives (where the loss is
    of order eps) and smoothing is off; eps = 2^-10 has exact float32 bounds
    and is used everywhere."""
    cases = []
    s65 = (6, 5, 1)
    lo7 = f32_scalar(1e-7)
    low_values_7 = [0.0, 1e-9, 3e-8, lo7, 1e-12]
    high_values_7 = [1.0, 0.99999994, 0.99999988]
    e10 = 2.0 ** -10
    values_10 = [0.0, 5e-4, e10, 1.0, 0.9995, 1.0 - e10, 0.5]
    configs = [
        # eps, tag, targets, gamma, reduction, alpha, smoothing
        (DEFAULT_EPSILON, "eps1e-7", "index", 2.0, "none", "vector", 0.0),
        (DEFAULT_EPSILON, "eps1e-7", "dense-hard", 0.5, "mean", "scalar", 0.0),
        (DEFAULT_EPSILON, "eps1e-7", "index", 0.0, "sum_over_positives", None, 0.0),
        (DEFAULT_EPSILON, "eps1e-7", "dense-hard", 2.0, "weighted_mean", "scalar", 0.0),
        (e10, "eps2^-10", "index", 2.0, "none", "scalar", 0.1),
        (e10, "eps2^-10", "dense-soft", 0.5, "sum", "vector", 0.0),
        (e10, "eps2^-10", "dense-hard", 0.0, "weighted_mean", None, 0.1),
        (e10, "eps2^-10", "index", 3.7, "sum_over_positives", "vector", 0.0),
    ]
    for eps, etag, targets, gamma, red, akind, ls in configs:
        a = gen.alpha_vector(5) if akind == "vector" else (0.25 if akind == "scalar" else None)
        name = "nc6x5_%s_%s_%s_probabilities_alpha-%s%s_clip-%s" % (
            gamma_tag(gamma), red, targets, alpha_kind(a), "_ls%g" % ls if ls else "", etag)
        spec = make_spec(name, s65, targets="index" if targets == "index" else "dense",
                         input="probabilities", gamma=gamma, alpha=a, reduction=red, epsilon=eps,
                         smoothing=ls)
        x = np.asarray(gen.probabilities(s65)).copy()
        if targets == "index":
            t = gen.index_targets_sigmoid(s65)
            y = onehot_from_index(s65, t).reshape(-1)
        else:
            t = gen.dense_targets_sigmoid(s65, targets.split("-")[1])
            y = np.asarray(t)
        order = gen.rng.permutation(x.size)
        if eps == DEFAULT_EPSILON:
            pos = [i for i in order if y[i] == 1.0]
            assert len(pos) >= len(high_values_7), name
            for i, v in zip(pos, high_values_7):
                x[i] = v
            rest = [i for i in order if i not in pos[:len(high_values_7)]]
            for i, v in zip(rest, low_values_7):
                x[i] = v
        else:
            for i, v in zip(order, values_10):
                x[i] = v
        cases.append((spec, r32(x), t, None, gen.upstream(common.out_count(spec))))
    return cases


def big_cases(gen):
    """A few larger tensors: many tiles, planes longer than one tile."""
    cases = []
    configs = [
        ("nchw2x7x15x20", (2, 7, 300), "index", 2.0, "mean", dict(alpha="vector", ignore=-100)),
        ("nchw2x7x15x20", (2, 7, 300), "dense", 0.5, "sum_over_positives",
         dict(dense="soft", alpha="scalar", weights=True)),
        ("nc3x1000", (3, 1000, 1), "index", 2.0, "weighted_mean",
         dict(alpha="scalar", smoothing=0.1, ignore=-1, weights=True)),
        ("nc40x80", (40, 80, 1), "dense", 2.0, "sum_over_positives",
         dict(dense="hard", alpha="scalar", scale=10.0)),
    ]
    for tag, shape, targets, gamma, red, prof in configs:
        cases.append(build(gen, tag, shape, targets, gamma, red, prof))
    return cases


# ---------------------------------------------------------------------------
# Checks of the design and of float32
# ---------------------------------------------------------------------------

def check_coverage(cases):
    """Every grid shape sees every reduction with index and with dense
    targets for gamma 0, 0.5 and 2, gammas 1 and 3.7, each alpha form,
    weights, smoothing, probabilities, ignore_index -1 and -100, scale 10
    logits and FL*."""
    seen = {}
    for spec, x, t, w, g in cases:
        s = seen.setdefault(spec["shape"], set())
        if spec["variant"] == "fl":
            s.add(("grid", spec["gamma"], spec["reduction"], spec["targets"]))
            s.add(("gamma", spec["gamma"]))
        else:
            s.add(("fl_star", spec["gamma"], spec["beta"]))
        s.add(("alpha", alpha_kind(spec["alpha"])))
        s.add(("input", spec["input"]))
        if w is not None:
            s.add(("weights", bool(np.any(np.asarray(w) == 0.0))))
        if spec["smoothing"]:
            s.add(("smoothing",))
        if spec["ignore_index"] is not None:
            s.add(("ignore", spec["ignore_index"]))
        if "-x10_" in spec["name"]:
            s.add(("scale10",))
    want = ({("grid", gm, r, tk) for gm in GRID_GAMMAS for r in REDUCTIONS for tk in ("index", "dense")}
            | {("gamma", gm) for gm in EXTRA_GAMMAS}
            | {("fl_star", gm, b) for gm in (1.0, 2.0) for b in (0.0, 1.0)}
            | {("alpha", k) for k in ("none", "scalar", "vector")}
            | {("input", "logits"), ("input", "probabilities"), ("weights", True), ("smoothing",),
               ("ignore", -1), ("ignore", -100), ("scale10",)})
    for tag, shape in SHAPES:
        missing = want - seen.get(shape, set())
        assert not missing, (tag, sorted(missing, key=str))


def float32_clip_check(spec, x, t, w, g, ref):
    """libfocal's float32 path clips at the float32 neighbours of eps and
    1 - eps; asserts that this stays within the default float32 tolerance
    (with a margin of 4), so the case needs no tol line."""
    lo = f32_scalar(spec["epsilon"])
    hi = f32_scalar(1.0 - spec["epsilon"])
    alt = reference(spec, x, t, w, g, clip=(lo, hi))
    need = max(common.needed_rtol(a, r) for a, r in zip(alt, ref))
    if not 4.0 * need <= DEFAULT_RTOL32:
        raise AssertionError("%s: float32 clip bounds need rtol %g" % (spec["name"], need))


def main():
    gen = SigmoidGen(20170808)
    groups = [("grid", grid(gen)), ("fl_star", fl_star_cases(gen)), ("pairs", pair_cases(gen)),
              ("specials", specials(gen)), ("clip", clip_cases(gen)), ("big", big_cases(gen))]
    cases = [c for _, grp in groups for c in grp]
    check_coverage(cases)
    names = set()
    path = os.path.join(HERE, "sigmoid.golden")
    tmp = path + ".tmp"
    checks = {}
    pair_refs = {}
    with open(tmp, "w") as f:
        f.write("# libfocal golden data, sigmoid mode; written by gen_sigmoid.py, format in README.md\n\n")
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
            for what in crosscheck(spec, x, t, w, g, ref):
                checks[what] = checks.get(what, 0) + 1
            if "clip" in spec["name"]:
                float32_clip_check(spec, x, t, w, g, ref)
            if "pair-" in spec["name"]:
                key = spec["name"].replace("_dense-onehot_", "_index_").replace("pair-dense", "pair-index")
                if key in pair_refs:
                    for what, a, b in zip(("out", "grad", "fgrad"), pair_refs.pop(key), ref):
                        common.assert_close(spec["name"], "index-vs-dense " + what, a, b, 1e-15)
                    checks["pair"] = checks.get("pair", 0) + 1
                else:
                    pair_refs[spec["name"]] = ref
            common.write_case(f, spec, x, t, w, g, *ref)
    assert not pair_refs, sorted(pair_refs)
    assert os.path.getsize(tmp) < MAX_BYTES, os.path.getsize(tmp)
    os.replace(tmp, path)
    print("%s: %d cases (%s); cross-checked: %s" % (
        os.path.relpath(path), len(cases), ", ".join("%s %d" % (k, len(v)) for k, v in groups),
        ", ".join("%s %d" % kv for kv in sorted(checks.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
