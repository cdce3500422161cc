#!/usr/bin/python3
"""Golden reference data for libfocal 1.1 part 1.

Writes parallel.golden next to this script: FOCAL_REDUCTION_DIVISOR, the
shard's counts (focal_counts_*), the SPLIT soft form, the pos_weight vector
and the gradient with respect to dense targets, each under every reduction
that allows it, in softmax and sigmoid mode, index and dense targets.

The references are float64 torch autograd, independent of libfocal:

  - sigmoid, TORCHVISION form with pos_weight: torchvision
    sigmoid_focal_loss's factor alpha_t (1 - p_t)^gamma on
    torch.nn.BCEWithLogitsLoss(pos_weight=...)'s per-element loss,
    -(pw y logsigmoid(x) + (1 - y) logsigmoid(-x));
  - sigmoid, SPLIT form: kornia's binary_focal_loss_with_logits,
    -alpha pw sigmoid(-x)^gamma y logsigmoid(x)
    - (1 - alpha) sigmoid(x)^gamma (1 - y) logsigmoid(-x)
    (with probabilities input: p the clipped input, log p and log(1 - p));
  - softmax: sum_c y_c alpha_c (1 - p_c)^gamma (-log p_c);
  - the reductions, counts and divisor as API.md ("Additions in 1.1")
    defines them; the target gradient is autograd with respect to the
    unsmoothed dense targets, through the denominators (max(1, P) as
    torch.clamp(min=1)).

The generator asserts that the SPLIT form equals the TORCHVISION form for
0/1 targets and that gamma 0 with no alpha and the pos_weight equals
F.binary_cross_entropy_with_logits(pos_weight=...).

Run with Debian's interpreter: /usr/bin/python3 tests/golden/gen_parallel.py
"""

import io
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_softmax as common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)

REDUCTIONS = ("none", "mean", "sum", "weighted_mean", "sum_over_positives", "divisor")


def make_spec(name, shape, **kw):
    extra = {k: kw.pop(k) for k in ("divisor", "soft_form", "pos_weight", "counts", "tgrad",
                                     "gamma_negative", "clip", "poly_epsilon", "half") if k in kw}
    spec = common.make_spec(name, shape, **kw)
    spec.update({"divisor": 1.0, "soft_form": "torchvision", "pos_weight": None,
                 "counts": True, "tgrad": spec["targets"] == "dense",
                 "gamma_negative": 4.0, "clip": 0.05, "poly_epsilon": 0.0, "half": None})
    spec.update(extra)
    return spec


def alpha_vec(spec, c):
    a = spec["alpha"]
    if a is None:
        return None
    if isinstance(a, (list, tuple)):
        return torch.tensor(a, dtype=torch.float64).view(1, c, 1)
    return torch.full((1, c, 1), float(a), dtype=torch.float64)


def targets(spec, t):
    """(y raw (n, c, inner), position mask (n, 1, inner)); y is the leaf
    for dense targets."""
    n, c, inner = spec["shape"]
    if spec["targets"] == "dense":
        return t.view(n, c, inner), torch.ones(n, 1, inner, dtype=torch.float64)
    t = torch.tensor(t, dtype=torch.int64).view(n, 1, inner)
    keep = torch.ones_like(t, dtype=torch.bool)
    if spec["ignore_index"] is not None:
        keep = t != int(spec["ignore_index"])
    width = c + 1 if spec["mode"] == "sigmoid" else c
    safe = torch.where(keep, t, torch.zeros_like(t))
    onehot = F.one_hot(safe.view(n, inner), width).permute(0, 2, 1)[:, :c].to(torch.float64)
    return onehot, keep.to(torch.float64)


def element_terms(spec, x, y):
    """Per-element loss (n, c, inner) and alpha_t for the sigmoid forms."""
    n, c, inner = spec["shape"]
    ls = spec["smoothing"]
    ys = y * (1.0 - ls) + ls / 2.0
    av = alpha_vec(spec, c)
    pw = torch.ones(1, c, 1, dtype=torch.float64) if spec["pos_weight"] is None else \
        torch.tensor(spec["pos_weight"], dtype=torch.float64).view(1, c, 1)
    g = spec["gamma"]
    if spec["input"] == "logits":
        p = torch.sigmoid(x)
        q = torch.sigmoid(-x)          # 1 - p without cancellation
        logp, log1mp = F.logsigmoid(x), F.logsigmoid(-x)
    else:
        eps = spec["epsilon"]
        p = torch.clamp(x, eps, 1.0 - eps)
        q = 1.0 - p
        logp, log1mp = torch.log(p), torch.log(q)
    alpha_t = torch.ones_like(ys) if av is None else av * ys + (1.0 - av) * (1.0 - ys)
    if spec["soft_form"] == "split":
        a = torch.ones_like(ys) if av is None else av.expand_as(ys)
        b = torch.ones_like(ys) if av is None else (1.0 - av).expand_as(ys)
        # kornia binary_focal_loss_with_logits
        loss = -a * pw * q.pow(g) * ys * logp - b * p.pow(g) * (1.0 - ys) * log1mp
    else:
        # torch.nn.BCEWithLogitsLoss(pos_weight) times torchvision's factor
        ce = -(pw * ys * logp + (1.0 - ys) * log1mp)
        one_minus_pt = ys * q + (1.0 - ys) * p
        loss = alpha_t * one_minus_pt.pow(g) * ce
    return loss, alpha_t


def softmax_terms(spec, x, y):
    """Per-position loss (n, 1, inner) and alpha_t of the softmax mode."""
    n, c, inner = spec["shape"]
    ls = spec["smoothing"]
    ys = y * (1.0 - ls) + ls / c
    av = alpha_vec(spec, c)
    av = torch.ones(1, c, 1, dtype=torch.float64) if av is None else av
    if spec["input"] == "logits":
        logp = F.log_softmax(x, dim=1)
    else:
        eps = spec["epsilon"]
        logp = torch.log(torch.clamp(x, eps, 1.0 - eps))
    p = torch.exp(logp)
    loss = (ys * av * (1.0 - p).pow(spec["gamma"]) * (-logp)).sum(dim=1, keepdim=True)
    if spec["targets"] == "index":
        alpha_t = (y * av).sum(dim=1, keepdim=True)     # alpha[t] even with smoothing
    else:
        alpha_t = (ys * av).sum(dim=1, keepdim=True)
    return loss, alpha_t


def forward(spec, x, t, w, terms=None):
    """(out, counts) in float64; x (and t when dense) may require grad.
    terms(spec, x, y) gives the unweighted loss and alpha_t: per element
    (sigmoid) or per position (softmax); by default the FL forms above."""
    n, c, inner = spec["shape"]
    y, keep = targets(spec, t)
    wt = torch.ones(n, 1, inner, dtype=torch.float64) if w is None else \
        torch.tensor(w, dtype=torch.float64).view(n, 1, inner)
    x = x.view(n, c, inner)
    if terms is None:
        terms = element_terms if spec["mode"] == "sigmoid" else softmax_terms
    loss, alpha_t = terms(spec, x, y)
    if spec["mode"] == "sigmoid":
        wl = loss * wt * keep
        count = (keep.expand(n, c, inner)).sum()
        wsum = (wt * keep * alpha_t).sum()
        positives = (y * keep).sum()
    else:
        wl = loss * wt * keep
        count = keep.sum()
        wsum = (wt * keep * alpha_t).sum()
        positives = torch.zeros((), dtype=torch.float64)
    red = spec["reduction"]
    if red == "none":
        out = wl.reshape(-1)
    else:
        total = wl.sum()
        denom = {"mean": count, "sum": torch.ones((), dtype=torch.float64), "weighted_mean": wsum,
                 "sum_over_positives": torch.clamp(positives, min=1.0),
                 "divisor": torch.tensor(spec["divisor"], dtype=torch.float64)}[red]
        out = (total * 0.0 if float(denom) == 0.0 else total / denom).reshape(1)
    counts = [float(count), float(wsum), float(positives)]
    return out, counts


def reference(spec, x, t, w, g, terms=None):
    """out, grad, fgrad, counts and (dense targets) the target gradient."""
    xl = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    dense = spec["targets"] == "dense"
    tl = torch.tensor(t, dtype=torch.float64, requires_grad=True) if dense else t
    out, counts = forward(spec, xl, tl, w, terms)
    gt = torch.tensor(g, dtype=torch.float64)
    grads = torch.autograd.grad((out * gt).sum(), [xl, tl] if dense else [xl], allow_unused=True)
    grad = grads[0].numpy().copy()
    tgrad = None
    if dense:
        tgrad = np.zeros(len(t)) if grads[1] is None else grads[1].numpy().copy()
    xl2 = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out2, _ = forward(spec, xl2, torch.tensor(t, dtype=torch.float64) if dense else t, w, terms)
    fgrad = torch.autograd.grad(out2.sum(), xl2)[0].numpy().copy()
    return out.detach().numpy().copy(), grad, fgrad, counts, tgrad


def fmt_list(key, values):
    return common.fmt_array(key, values)


def write_case(f, spec, x, t, w, g, ref):
    """The 1.0 block (through gen_softmax.write_case) with the 1.1 keys
    before its "end"."""
    out, grad, fgrad, counts, tgrad = ref
    buf = io.StringIO()
    common.write_case(buf, spec, x, t, w, g, out, grad, fgrad)
    text = buf.getvalue()
    assert text.endswith("end\n\n")
    lines = [text[:-len("end\n\n")].rstrip("\n")]
    if spec["reduction"] == "divisor" or spec["divisor"] != 1.0:
        lines.append("divisor " + common.fmt(spec["divisor"]))
    if spec["soft_form"] != "torchvision":
        lines.append("soft_form " + spec["soft_form"])
    if spec["pos_weight"] is not None:
        lines.append(fmt_list("pos_weight", spec["pos_weight"]))
    for key, default in (("gamma_negative", 4.0), ("clip", 0.05), ("poly_epsilon", 0.0)):
        if spec[key] != default:
            lines.append(key + " " + common.fmt(spec[key]))
    if spec["counts"]:
        lines.append(fmt_list("counts", counts))
    if tgrad is not None and spec["tgrad"]:
        assert np.all(np.isfinite(tgrad)), spec["name"]
        lines.append(fmt_list("tgrad", tgrad))
    if spec["half"] is not None:
        # the float64 reference rounded once to the storage type by torch
        dtype = {"bf16": torch.bfloat16, "f16": torch.float16}[spec["half"]]
        arrays = [x, g] + ([t] if spec["targets"] == "dense" else []) + ([w] if w is not None else [])
        for arr in arrays:
            arr = torch.tensor(arr, dtype=torch.float64)
            assert torch.equal(arr.to(dtype).double(), arr), spec["name"] + ": input not exact in " + spec["half"]
        lines.append("half " + spec["half"])
        for key, arr in (("hout", out), ("hgrad", grad), ("hfgrad", fgrad)):
            lines.append(fmt_list(key, torch.tensor(np.asarray(arr), dtype=torch.float64).to(dtype).double()
                                  .numpy()))
    lines.append("end")
    f.write("\n".join(lines) + "\n\n")


# ---------------------------------------------------------------------------
# Cross-checks against torch's own functions
# ---------------------------------------------------------------------------

def check_split_equals_torchvision(spec, x, t, w, g):
    """For 0/1 targets SPLIT is the TORCHVISION form (API.md)."""
    other = dict(spec, soft_form="torchvision" if spec["soft_form"] == "split" else "split")
    a, b = reference(spec, x, t, w, g), reference(other, x, t, w, g)
    for i in range(3):
        common.assert_close(spec["name"], "split-vs-torchvision", a[i], b[i], 1e-12)


def check_bce_pos_weight(spec, x, t, w):
    """gamma 0, no alpha, no smoothing, dense logits: the loss is
    BCEWithLogitsLoss(pos_weight) (reduction none / sum / mean)."""
    n, c, inner = spec["shape"]
    xl = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(t, dtype=torch.float64).view(n, c, inner)
    pw = torch.tensor(spec["pos_weight"], dtype=torch.float64).view(1, c, 1)
    # BCEWithLogitsLoss wants pos_weight broadcast over the last axis
    per = F.binary_cross_entropy_with_logits(xl.view(n, c, inner).permute(0, 2, 1), y.permute(0, 2, 1),
                                             pos_weight=pw.view(c), reduction="none").permute(0, 2, 1)
    if w is not None:
        per = per * torch.tensor(w, dtype=torch.float64).view(n, 1, inner)
    red = spec["reduction"]
    want = {"none": per.reshape(-1), "sum": per.sum().reshape(1), "mean": per.mean().reshape(1)}[red]
    got, _ = forward(spec, torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64), w)
    common.assert_close(spec["name"], "BCEWithLogitsLoss(pos_weight)", got.numpy(), want.detach().numpy(), 1e-12)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

SHAPES = ((6, 5, 1), (2, 4, 6), (3, 3, 4))


class Gen(common.Gen):
    def soft(self, count):
        return common.r32(self.rng.uniform(0.0, 1.0, size=count))

    def hard(self, count, p=0.3):
        return (self.rng.uniform(size=count) < p).astype(np.float64)

    def weights(self, count):
        w = common.r32(self.rng.uniform(0.0, 2.0, size=count))
        w[self.rng.uniform(size=count) < 0.2] = 0.0
        return w

    def grad_out(self, count):
        return common.r32(self.rng.uniform(-1.0, 1.0, size=count))

    def index(self, shape, mode, ignore):
        n, c, inner = shape
        hi = c + 1 if mode == "sigmoid" else c
        t = self.rng.randint(0, hi, size=n * inner).astype(np.int64)
        if ignore is not None:
            t[self.rng.uniform(size=n * inner) < 0.25] = ignore
        return t

    def alpha(self, kind, c):
        if kind == "none":
            return None
        if kind == "scalar":
            return 0.25
        return [float(v) for v in common.r32(self.rng.uniform(0.1, 0.9, size=c))]

    def pos_weight(self, c):
        return [float(v) for v in common.r32(self.rng.uniform(0.5, 3.0, size=c))]


def case(gen, name, shape, mode, targets, reduction, gamma=2.0, alpha="none", weights=False,
         ignore=None, soft=True, probabilities=False, **kw):
    n, c, inner = shape
    spec = make_spec(name, shape, mode=mode, targets=targets, reduction=reduction, gamma=gamma,
                     alpha=gen.alpha(alpha, c), ignore_index=ignore if targets == "index" else None,
                     input="probabilities" if probabilities else "logits", **kw)
    if probabilities:
        if mode == "sigmoid":
            x = common.r32(gen.rng.uniform(0.02, 0.98, size=n * c * inner))
        else:
            x = gen.softmax_rows(shape)
    else:
        x = gen.logits(shape, 1.5)
    if targets == "index":
        t = gen.index(shape, mode, spec["ignore_index"])
    elif mode == "softmax":
        raw = gen.rng.uniform(0.0, 1.0, size=(n, c, inner))
        t = common.r32((raw / raw.sum(axis=1, keepdims=True)).reshape(-1)) if soft else \
            gen.hard(n * c * inner)
    else:
        t = gen.soft(n * c * inner) if soft else gen.hard(n * c * inner)
    w = gen.weights(n * inner) if weights else None
    g = gen.grad_out(common.out_count(spec))
    return spec, [float(v) for v in x], [float(v) if targets == "dense" else int(v) for v in t], \
        None if w is None else [float(v) for v in w], [float(v) for v in g]


def reductions_for(mode):
    return [r for r in REDUCTIONS if mode == "sigmoid" or r != "sum_over_positives"]


def all_cases(gen):
    cases = []
    k = 0
    # DIVISOR (and every other reduction: counts and target gradients go
    # with every case), both modes, index and dense targets.
    for mode in ("softmax", "sigmoid"):
        for targets in ("index", "dense"):
            for red in reductions_for(mode):
                for alpha in ("none", "scalar", "vector"):
                    shape = SHAPES[k % len(SHAPES)]
                    k += 1
                    divisor = (7.5, 0.3, 2.0)[k % 3] if red == "divisor" else 1.0
                    cases.append(case(gen, "%s_%s_%s_alpha-%s" % (mode, targets, red, alpha), shape, mode,
                                      targets, red, gamma=(0.0, 0.5, 2.0, 3.7)[k % 4], alpha=alpha,
                                      weights=k % 2 == 0, ignore=(-100 if k % 3 == 0 else None),
                                      smoothing=0.1 if k % 5 == 0 else 0.0, divisor=divisor,
                                      probabilities=(k % 7 == 3)))
    # divisor 0: zero loss and gradient
    for mode in ("softmax", "sigmoid"):
        cases.append(case(gen, "%s_divisor-zero" % mode, SHAPES[0], mode, "dense", "divisor", divisor=0.0,
                          alpha="scalar", weights=True))
    # SPLIT form and pos_weight, sigmoid: every reduction, soft and hard targets
    for form in ("split", "torchvision"):
        for pw in (False, True):
            if form == "torchvision" and not pw:
                continue
            for red in REDUCTIONS:
                for soft in (True, False):
                    shape = SHAPES[k % len(SHAPES)]
                    k += 1
                    tag = "%s%s" % (form, "_pos-weight" if pw else "")
                    targets = "dense" if soft or k % 2 == 0 else "index"
                    cases.append(case(gen, "sigmoid_%s_%s_%s_%s" % (tag, targets, red, "soft" if soft else "hard"),
                                      shape, "sigmoid", targets, red, gamma=(0.0, 0.5, 2.0, 1.0)[k % 4],
                                      alpha=("none", "scalar", "vector")[k % 3], weights=k % 2 == 1,
                                      ignore=-1 if k % 4 == 1 else None, soft=soft, soft_form=form,
                                      pos_weight=gen.pos_weight(shape[1]) if pw else None,
                                      smoothing=0.1 if k % 5 == 2 else 0.0, divisor=3.25,
                                      probabilities=(k % 6 == 4 and not pw)))
    # BCEWithLogitsLoss(pos_weight): gamma 0, no alpha
    for red in ("none", "mean", "sum"):
        cases.append(case(gen, "sigmoid_pos-weight_bce_%s" % red, SHAPES[1], "sigmoid", "dense", red,
                          gamma=0.0, pos_weight=gen.pos_weight(SHAPES[1][1]), weights=red != "mean"))
    # SUM_OVER_POSITIVES with P < 1 (the clamp's derivative is 0 there)
    spec, x, t, w, g = case(gen, "sigmoid_sum_over_positives_p-below-1", (2, 3, 2), "sigmoid", "dense",
                            "sum_over_positives")
    t = [v * 0.05 for v in common.r32(t)]
    t = [float(v) for v in common.r32(t)]
    cases.append((spec, x, t, w, g))
    return cases


def main():
    gen = Gen(20260101)
    cases = all_cases(gen)
    path = os.path.join(HERE, "parallel.golden")
    tmp = path + ".tmp"
    names = set()
    checked = 0
    with open(tmp, "w") as f:
        f.write("# libfocal golden data, 1.1 part 1; written by gen_parallel.py, format in README.md\n\n")
        for spec, x, t, w, g in cases:
            assert spec["name"] not in names, spec["name"]
            names.add(spec["name"])
            if spec["mode"] == "sigmoid" and spec["targets"] == "dense" and spec["smoothing"] == 0.0 and \
                    spec["input"] == "logits" and set(t) <= {0.0, 1.0}:
                check_split_equals_torchvision(spec, x, t, w, g)
                checked += 1
            if spec["pos_weight"] is not None and spec["gamma"] == 0.0 and spec["alpha"] is None and \
                    spec["targets"] == "dense" and spec["smoothing"] == 0.0 and spec["input"] == "logits" and \
                    spec["soft_form"] == "torchvision" and spec["reduction"] in ("none", "mean", "sum"):
                check_bce_pos_weight(spec, x, t, w)
                checked += 1
            write_case(f, spec, x, t, w, g, reference(spec, x, t, w, g))
    os.replace(tmp, path)
    print("%s: %d cases, %d cross-checks" % (os.path.relpath(path), len(cases), checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
