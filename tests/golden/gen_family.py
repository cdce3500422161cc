#!/usr/bin/python3
"""Golden reference data for libfocal 1.1 part 2: the generalized focal family.

Writes family.golden next to this script. Each reference is the original
project's formula re-implemented in float64 torch (no network, no pip):

  - QFL: mmdetection quality_focal_loss (mmdet/models/losses/gfocal_loss.py),
    the (label, score) form: every element BCE-with-logits against 0 times
    sigmoid(x)^beta, the positive class's element BCE against the score times
    |score - sigmoid(x)|^beta; libfocal's gamma is mmdetection's beta, its
    dense target the one-hot row scaled by the score;
  - VFL: mmdetection varifocal_loss (mmdet/models/losses/varifocal_loss.py),
    iou_weighted=True (the only form API.md defines): BCE-with-logits(x, t)
    times t (t > 0) or alpha |sigmoid(x) - t|^gamma (t <= 0), the masks
    constant under autograd;
  - ASL: timm AsymmetricLossOptimized.forward (timm/loss/asymmetric_loss.py)
    without its eps clamp, written out of place: gamma_pos is libfocal's
    gamma, gamma_neg its gamma_negative, clip its clip; for soft targets
    (where timm applies one combined factor) API.md's per-term formula;
  - Poly-1: Leng et al. 2022, poly1_focal_loss: FL + epsilon (1 - p_t)^(gamma + 1),
    softmax (index targets) and sigmoid;
  - DFL: mmdetection distribution_focal_loss (gfocal_loss.py) and ultralytics
    DFLoss.__call__ (ultralytics/utils/loss.py, the target clamped to
    reg_max - 1 - 0.01 in float32, as its targets are), through softmax
    mode, gamma 0, no alpha, with the two-hot dense targets.

alpha_t (an alpha none of those projects has) multiplies the project's
per-element loss, position weights multiply it, and the reductions and
counts are those of gen_parallel.py (API.md).

Run with Debian's interpreter: /usr/bin/python3 tests/golden/gen_family.py
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_softmax as common  # noqa: E402
import gen_parallel as par  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def alpha_t_of(spec, y):
    av = par.alpha_vec(spec, spec["shape"][1])
    return torch.ones_like(y) if av is None else av * y + (1.0 - av) * (1.0 - y)


def mmdet_quality_focal_loss(pred, label_onehot, score, beta):
    """mmdetection quality_focal_loss, per element (before its sum over
    classes); label_onehot marks the positive class of each row."""
    pred_sigmoid = pred.sigmoid()
    scale_factor = pred_sigmoid
    zerolabel = torch.zeros_like(pred)
    loss = F.binary_cross_entropy_with_logits(pred, zerolabel, reduction="none") * scale_factor.pow(beta)
    pos = label_onehot > 0
    scale_factor = score - pred_sigmoid
    pos_loss = F.binary_cross_entropy_with_logits(pred, score.expand_as(pred), reduction="none") * \
        scale_factor.abs().pow(beta)
    return torch.where(pos, pos_loss, loss)


def qfl_tensor_terms(spec, x, y):
    """mmdetection quality_focal_loss_tensor_target (soft targets anywhere):
    the per-element formula, also the target gradient's reference (the
    (label, score) form holds the negatives' zero target constant)."""
    pred_sigmoid = x.sigmoid()
    scale_factor = pred_sigmoid - y
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none") * scale_factor.abs().pow(spec["gamma"])
    return alpha_t_of(spec, y) * loss, alpha_t_of(spec, y)


def qfl_terms(spec, x, y):
    """The (label, score) form, asserted equal in value and input gradient to
    the tensor-target form, which is returned."""
    # the dense target is the score on the positive class, 0 elsewhere; a
    # position's score is its row's maximum
    xd = x.detach().requires_grad_(True)
    yd = y.detach()
    label = (yd > 0).to(torch.float64)
    score = yd.max(dim=1, keepdim=True)[0]
    a = mmdet_quality_focal_loss(xd, label, score, spec["gamma"])
    b = qfl_tensor_terms(spec, xd, yd)[0] / alpha_t_of(spec, yd)
    common.assert_close(spec["name"], "mmdet QFL forms", a.detach().numpy(), b.detach().numpy(), 1e-12)
    ga = torch.autograd.grad(a.sum(), xd)[0]
    gb = torch.autograd.grad(b.sum(), xd)[0]
    common.assert_close(spec["name"], "mmdet QFL forms (grad)", ga.numpy(), gb.numpy(), 1e-12)
    return qfl_tensor_terms(spec, x, y)


def vfl_terms(spec, x, y):
    """mmdetection varifocal_loss, iou_weighted=True, per element."""
    alpha = 1.0 if spec["alpha"] is None else float(spec["alpha"])
    pred_sigmoid = x.sigmoid()
    target = y
    focal_weight = target * (target > 0.0).to(torch.float64) + \
        alpha * (pred_sigmoid - target).abs().pow(spec["gamma"]) * (target <= 0.0).to(torch.float64)
    loss = F.binary_cross_entropy_with_logits(x, target, reduction="none") * focal_weight
    return loss, alpha_t_of(spec, y)


def timm_asl(x, y, gamma_pos, gamma_neg, clip):
    """timm AsymmetricLossOptimized.forward without the eps clamp, per
    element (before -sum)."""
    targets = y
    anti_targets = 1 - y
    xs_pos = torch.sigmoid(x)
    xs_neg = 1.0 - xs_pos
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    loss = targets * torch.log(xs_pos)
    loss = loss + anti_targets * torch.log(xs_neg)
    if gamma_neg > 0 or gamma_pos > 0:
        xs_pos = xs_pos * targets
        xs_neg = xs_neg * anti_targets
        asymmetric_w = torch.pow(1 - xs_pos - xs_neg, gamma_pos * targets + gamma_neg * anti_targets)
        loss = loss * asymmetric_w
    return -loss


def asl_api(x, y, gamma_pos, gamma_neg, clip):
    """API.md's ASL: each term with its own factor."""
    p = torch.sigmoid(x)
    pm = torch.clamp(p - clip, min=0.0)
    return -(y * (1.0 - p).pow(gamma_pos) * F.logsigmoid(x) + (1.0 - y) * pm.pow(gamma_neg) * torch.log1p(-pm))


def asl_terms(spec, x, y):
    """API.md's per-term ASL (also the target gradient's reference: timm's
    exponent depends on the target); for 0/1 targets asserted equal to timm
    in value and input gradient."""
    args = (spec["gamma"], spec["gamma_negative"], spec["clip"])
    if bool(((y == 0) | (y == 1)).all()):
        xd = x.detach().requires_grad_(True)
        a, b = timm_asl(xd, y.detach(), *args), asl_api(xd, y.detach(), *args)
        common.assert_close(spec["name"], "timm ASL", a.detach().numpy(), b.detach().numpy(), 1e-12)
        ga = torch.autograd.grad(a.sum(), xd)[0]
        gb = torch.autograd.grad(b.sum(), xd)[0]
        common.assert_close(spec["name"], "timm ASL (grad)", ga.numpy(), gb.numpy(), 1e-12)
    return alpha_t_of(spec, y) * asl_api(x, y, *args), alpha_t_of(spec, y)


def poly_sigmoid_terms(spec, x, y):
    """poly1_focal_loss (Leng et al. 2022) on torchvision's sigmoid focal loss."""
    ls = spec["smoothing"]
    ys = y * (1.0 - ls) + ls / 2.0
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, ys, reduction="none")
    p_t = p * ys + (1 - p) * (1 - ys)
    alpha_t = alpha_t_of(spec, ys)
    fl = alpha_t * ce * ((1 - p_t) ** spec["gamma"])
    return fl + spec["poly_epsilon"] * torch.pow(1 - p_t, spec["gamma"] + 1), alpha_t


def poly_softmax_terms(spec, x, y):
    """poly1 on the softmax focal loss, index targets: FL + eps (1 - p_t)^(gamma + 1)."""
    fl, alpha_t = par.softmax_terms(spec, x, y)
    p_t = (torch.softmax(x, dim=1) * y).sum(dim=1, keepdim=True)
    return fl + spec["poly_epsilon"] * torch.pow(1 - p_t, spec["gamma"] + 1), alpha_t


def mmdet_distribution_focal_loss(pred, label):
    """mmdetection distribution_focal_loss: pred (N, n+1), label (N,)."""
    dis_left = label.long()
    dis_right = dis_left + 1
    weight_left = dis_right.to(label.dtype) - label
    weight_right = label - dis_left.to(label.dtype)
    loss = F.cross_entropy(pred, dis_left, reduction="none") * weight_left \
        + F.cross_entropy(pred, dis_right, reduction="none") * weight_right
    return loss


def ultralytics_dfl(pred_dist, target, reg_max):
    """ultralytics DFLoss.__call__, per side (before its mean over the four
    sides); the target arithmetic in float32 as ultralytics' targets are."""
    target = target.to(torch.float32).clamp(0, reg_max - 1 - 0.01)
    tl = target.long()
    tr = tl + 1
    wl = tr - target
    wr = 1 - wl
    wl, wr = wl.double(), wr.double()
    return (F.cross_entropy(pred_dist, tl.view(-1), reduction="none").view(tl.shape) * wl
            + F.cross_entropy(pred_dist, tr.view(-1), reduction="none").view(tl.shape) * wr), tl, wl, wr


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

SHAPES = par.SHAPES
SIGMOID_REDUCTIONS = ("none", "mean", "sum", "weighted_mean", "sum_over_positives", "divisor")


def sigmoid_case(gen, name, shape, targets, reduction, variant, gamma, alpha="none", weights=False,
                 ignore=None, soft=True, **kw):
    spec, x, t, w, g = par.case(gen, name, shape, "sigmoid", targets, reduction, gamma=gamma, alpha=alpha,
                                weights=weights, ignore=ignore, soft=soft, variant=variant, **kw)
    return spec, x, t, w, g


def qfl_targets(gen, shape):
    """One positive class per position (or background) scaled by a score
    in (0, 1]: mmdetection's (label, score) as a dense target."""
    n, c, inner = shape
    y = np.zeros((n, c, inner))
    label = gen.rng.randint(0, c + 1, size=(n, inner))
    score = common.r32(gen.rng.uniform(0.05, 1.0, size=n * inner)).reshape(n, inner)
    for i in range(n):
        for s in range(inner):
            if label[i, s] < c:
                y[i, label[i, s], s] = score[i, s]
    return [float(v) for v in y.reshape(-1)]


def vfl_targets(gen, shape):
    """IoU targets: 0 on most elements, an IoU in (0, 1] on some."""
    n, c, inner = shape
    y = common.r32(gen.rng.uniform(0.05, 1.0, size=n * c * inner))
    y[gen.rng.uniform(size=n * c * inner) < 0.7] = 0.0
    return [float(v) for v in y]


def family_cases(gen):
    cases = []
    k = 0
    for red in SIGMOID_REDUCTIONS:
        for i in range(2):
            k += 1
            shape = SHAPES[k % 3]
            # QFL: mmdetection's (label, score) form as dense targets
            spec, x, t, w, g = sigmoid_case(gen, "qfl_%s_%d" % (red, i), shape, "dense", red, "qfl",
                                            (2.0, 1.0, 0.0, 3.0)[k % 4], alpha=("none", "scalar", "vector")[k % 3],
                                            weights=i == 1, divisor=2.5)
            t = qfl_targets(gen, shape)
            cases.append((spec, x, t, w, g, qfl_terms))
            # QFL through index targets (score 1) and soft targets anywhere
            if i == 0:
                spec, x, t, w, g = sigmoid_case(gen, "qfl_index_%s" % red, shape, "index", red, "qfl", 2.0,
                                                ignore=-1 if k % 2 else None, weights=True, divisor=4.0)
                cases.append((spec, x, t, w, g, qfl_tensor_terms))
            else:
                spec, x, t, w, g = sigmoid_case(gen, "qfl_tensor-target_%s" % red, shape, "dense", red, "qfl",
                                                1.5, divisor=0.75)
                cases.append((spec, x, t, w, g, qfl_tensor_terms))
            # VFL (no WEIGHTED_MEAN, no alpha vector)
            if red != "weighted_mean":
                spec, x, t, w, g = sigmoid_case(gen, "vfl_%s_%d" % (red, i), shape, "dense", red, "vfl",
                                                (2.0, 1.5)[i], alpha=("scalar", "none")[i], weights=i == 0,
                                                divisor=5.0)
                if spec["alpha"] is not None:
                    spec["alpha"] = 0.75
                t = vfl_targets(gen, shape)
                cases.append((spec, x, t, w, g, vfl_terms))
                spec, x, t, w, g = sigmoid_case(gen, "vfl_index_%s_%d" % (red, i), shape, "index", red, "vfl",
                                                2.0, alpha="scalar", ignore=-100 if i else None, divisor=3.0)
                spec["alpha"] = 0.75
                cases.append((spec, x, t, w, g, vfl_terms))
            # ASL: hard targets (timm), soft targets (API.md), index targets
            gneg, clip = ((4.0, 0.05), (1.0, 0.0), (2.0, 0.2), (0.0, 0.1))[k % 4]
            spec, x, t, w, g = sigmoid_case(gen, "asl_%s_%d" % (red, i), shape, "dense", red, "asl",
                                            (0.0, 1.0, 2.0)[k % 3], alpha=("none", "scalar", "vector")[(k + 1) % 3],
                                            weights=i == 1, soft=False, gamma_negative=gneg, clip=clip,
                                            divisor=6.0)
            cases.append((spec, x, t, w, g, asl_terms))
            spec, x, t, w, g = sigmoid_case(gen, "asl_soft_%s_%d" % (red, i), shape, "dense", red, "asl",
                                            1.0, soft=True, gamma_negative=(4.0, 2.0)[i], clip=(0.05, 0.0)[i],
                                            weights=i == 0, divisor=1.5)
            cases.append((spec, x, t, w, g, asl_terms))
            if i == 0:
                spec, x, t, w, g = sigmoid_case(gen, "asl_index_%s" % red, shape, "index", red, "asl", 1.0,
                                                ignore=-1, weights=True, divisor=2.0)
                cases.append((spec, x, t, w, g, asl_terms))
            # Poly-1, sigmoid (TORCHVISION form)
            spec, x, t, w, g = sigmoid_case(gen, "poly_sigmoid_%s_%d" % (red, i), shape, ("dense", "index")[i], red,
                                            "fl", (0.0, 2.0, 0.5)[k % 3], alpha=("scalar", "vector", "none")[k % 3],
                                            weights=True, ignore=-1 if i else None, soft=i == 0,
                                            poly_epsilon=(1.0, -0.5)[i], smoothing=0.1 if k % 3 == 1 else 0.0,
                                            divisor=2.0)
            cases.append((spec, x, t, w, g, poly_sigmoid_terms))
            # Poly-1, softmax (index targets, no smoothing)
            if red != "sum_over_positives":
                spec, x, t, w, g = par.case(gen, "poly_softmax_%s_%d" % (red, i), shape, "softmax", "index", red,
                                            gamma=(0.0, 2.0, 1.0)[k % 3], alpha=("vector", "scalar", "none")[k % 3],
                                            weights=i == 1, ignore=-100 if i == 0 else None,
                                            poly_epsilon=(2.0, -1.0)[i], divisor=7.0)
                cases.append((spec, x, t, w, g, poly_softmax_terms))
    return cases


def dfl_cases(gen):
    """DFL through softmax mode, gamma 0, no alpha, two-hot dense targets."""
    cases = []
    for reg_max, boxes, src in ((8, 3, "mmdet"), (16, 2, "ultralytics"), (5, 4, "mmdet")):
        shape = (boxes * 4, reg_max, 1)
        x = [float(v) for v in gen.logits(shape, 2.0)]
        pred = torch.tensor(x, dtype=torch.float64).view(boxes * 4, reg_max)
        if src == "mmdet":
            # continuous targets in [0, reg_max - 1), multiples of 1/64
            label = torch.tensor(gen.rng.randint(0, (reg_max - 1) * 64, size=boxes * 4) / 64.0,
                                 dtype=torch.float64)
            per = mmdet_distribution_focal_loss(pred, label)
            left = label.long()
            wl = (left + 1).double() - label
            wr = label - left.double()
        else:
            # ultralytics clamps the target to reg_max - 1 - 0.01; values
            # past it are in the draw
            label = torch.tensor(common.r32(gen.rng.uniform(0.0, reg_max - 0.5, size=boxes * 4)),
                                 dtype=torch.float64)
            per, left, wl, wr = ultralytics_dfl(pred, label.view(boxes, 4), reg_max)
            per, left, wl, wr = per.view(-1), left.view(-1), wl.view(-1), wr.view(-1)
            assert bool((left <= reg_max - 2).all())
        y = torch.zeros(boxes * 4, reg_max, dtype=torch.float64)
        y[torch.arange(boxes * 4), left] = wl
        y[torch.arange(boxes * 4), left + 1] = wr
        t = [float(v) for v in y.reshape(-1)]
        for red in ("none", "mean", "sum", "divisor"):
            spec = par.make_spec("dfl_%s_reg%d_%s" % (src, reg_max, red), shape, mode="softmax", targets="dense",
                                 gamma=0.0, reduction=red, divisor=float(boxes))
            g = [float(v) for v in gen.grad_out(common.out_count(spec))]
            ref = par.reference(spec, x, t, None, g)
            # the project's own value: per side (none), the mean over sides
            # and boxes (mean), the sum, the sum per box (divisor = boxes)
            want = {"none": per, "mean": per.mean().reshape(1), "sum": per.sum().reshape(1),
                    "divisor": (per.sum() / boxes).reshape(1)}[red]
            common.assert_close(spec["name"], src + " DFL", ref[0], want.numpy(), 1e-12)
            cases.append((spec, x, t, None, g, None))
    return cases


def to_half(values, half):
    dtype = {"bf16": torch.bfloat16, "f16": torch.float16}[half]
    return [float(v) for v in torch.tensor(values, dtype=torch.float64).to(dtype).double()]


def half_cases(gen):
    """bfloat16 / float16 storage: the inputs (and dense targets, weights,
    upstream gradients) rounded to the storage type, so that they are exact
    there; every family and reduction in turn."""
    cases = []
    base = [c for c in family_cases(gen) if c[0]["reduction"] in ("none", "mean", "sum", "divisor") and
            "_1" not in c[0]["name"][-2:]]
    base += [(s, x, t, w, g, None) for s, x, t, w, g in par.all_cases(gen)
             if s["reduction"] in ("none", "weighted_mean", "sum_over_positives") and s["input"] == "logits"]
    k = 0
    for spec, x, t, w, g, terms in base:
        k += 1
        if k % 3:
            continue
        half = ("bf16", "f16")[(k // 3) % 2]
        spec = dict(spec, name="half-%s_%s" % (half, spec["name"]), half=half)
        x = to_half(x, half)
        if spec["targets"] == "dense":
            t = to_half(t, half)
        w = None if w is None else to_half(w, half)
        g = to_half(g, half)
        cases.append((spec, x, t, w, g, terms))
    return cases


def check_coverage(cases):
    names = [c[0]["name"] for c in cases]
    for prefix in ("qfl_", "qfl_index_", "qfl_tensor-target_", "vfl_", "vfl_index_", "asl_", "asl_soft_",
                   "asl_index_", "poly_sigmoid_", "poly_softmax_", "dfl_mmdet_", "dfl_ultralytics_"):
        for red in ("none", "mean", "sum", "divisor"):
            assert any(n.startswith(prefix) and ("_%s" % red) in n for n in names), (prefix, red)


def main():
    gen = par.Gen(20260202)
    cases = family_cases(gen) + dfl_cases(gen) + half_cases(par.Gen(20260303))
    check_coverage(cases)
    path = os.path.join(HERE, "family.golden")
    tmp = path + ".tmp"
    names = set()
    with open(tmp, "w") as f:
        f.write("# libfocal golden data, 1.1 part 2; written by gen_family.py, format in README.md\n\n")
        for spec, x, t, w, g, terms in cases:
            assert spec["name"] not in names, spec["name"]
            names.add(spec["name"])
            par.write_case(f, spec, x, t, w, g, par.reference(spec, x, t, w, g, terms))
    os.replace(tmp, path)
    print("%s: %d cases" % (os.path.relpath(path), len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
