#!/usr/bin/python3
"""Golden data from the seed implementations the project started from.

Writes seeds.golden next to this script. Each seed implementation is
transcribed below as written (Python 3 fixes only: `long` dropped from the
isinstance tuples, indentation restored, classes renamed so the three
`FocalLoss` classes can live in one file) and RUN on float64 inputs; every
case records the libfocal configuration that computes the same thing. The
generator also asserts that libfocal's own reference (gen_softmax.reference,
or gen_sigmoid.reference for the sigmoid-mode binary seed) agrees with each
seed within the case's tolerance, so the configuration mapping is checked.

Run with Debian's interpreter (it has torch, torchvision and numpy):

    /usr/bin/python3 tests/golden/gen_seeds.py

TensorFlow is not available on Debian, so the Keras seeds are transcribed op
for op into torch through the small `K` and `tf` shims below.
"""

import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_softmax as ref  # noqa: E402
import gen_sigmoid as sig  # noqa: E402

HERE = ref.HERE
SEED_GAMMAS = (0.0, 2.0, 1.5)

# Seeds 000 and 003 call softmax without dim=, which warns.
warnings.filterwarnings("ignore", message="Implicit dimension choice")


# ---------------------------------------------------------------------------
# Seed 000: clcarwin/focal_loss_pytorch, focalloss.py
# ---------------------------------------------------------------------------

class Seed000FocalLoss(nn.Module):
    def __init__(self, gamma=0, alpha=None, size_average=True):
        super(Seed000FocalLoss, self).__init__()
        self.gamma = gamma
        self.alpha = alpha
        if isinstance(alpha, (float, int)): self.alpha = torch.Tensor([alpha, 1 - alpha])
        if isinstance(alpha, list): self.alpha = torch.Tensor(alpha)
        self.size_average = size_average

    def forward(self, input, target):
        if input.dim() > 2:
            input = input.view(input.size(0), input.size(1), -1)  # N,C,H,W => N,C,H*W
            input = input.transpose(1, 2)    # N,C,H*W => N,H*W,C
            input = input.contiguous().view(-1, input.size(2))   # N,H*W,C => N*H*W,C
        target = target.view(-1, 1)

        logpt = F.log_softmax(input)
        logpt = logpt.gather(1, target)
        logpt = logpt.view(-1)
        pt = Variable(logpt.data.exp())

        if self.alpha is not None:
            if self.alpha.type() != input.data.type():
                self.alpha = self.alpha.type_as(input.data)
            at = self.alpha.gather(0, target.data.view(-1))
            logpt = logpt * Variable(at)

        loss = -1 * (1 - pt)**self.gamma * logpt
        if self.size_average: return loss.mean()
        else: return loss.sum()


class Seed000FocalLossAttached(Seed000FocalLoss):
    """Seed 000 with one change: p_t keeps its graph (no .data), so autograd
    returns the gradient of the loss the seed computes."""

    def forward(self, input, target):
        if input.dim() > 2:
            input = input.view(input.size(0), input.size(1), -1)
            input = input.transpose(1, 2)
            input = input.contiguous().view(-1, input.size(2))
        target = target.view(-1, 1)

        logpt = F.log_softmax(input)
        logpt = logpt.gather(1, target)
        logpt = logpt.view(-1)
        pt = logpt.exp()

        if self.alpha is not None:
            if self.alpha.type() != input.data.type():
                self.alpha = self.alpha.type_as(input.data)
            at = self.alpha.gather(0, target.data.view(-1))
            logpt = logpt * Variable(at)

        loss = -1 * (1 - pt)**self.gamma * logpt
        if self.size_average: return loss.mean()
        else: return loss.sum()


# ---------------------------------------------------------------------------
# Seed 002: the PyTorch class (probabilities input)
# ---------------------------------------------------------------------------

class Seed002FocalLoss(nn.Module):
    def __init__(self, alpha=0.25, gamma=2, size_average=True):
        super(Seed002FocalLoss, self).__init__()
        self.alpha = alpha
        self.gamma = torch.Tensor([gamma])
        self.size_average = size_average
        if isinstance(alpha, (float, int)):
            if self.alpha > 1:
                raise ValueError('Not supported value, alpha should be small than 1.0')
            self.alpha = torch.Tensor([alpha, 1.0 - alpha])
        if isinstance(alpha, list): self.alpha = torch.Tensor(alpha)
        self.alpha /= torch.sum(self.alpha)

    def forward(self, input, target):
        if input.dim() > 2:
            input = input.view(input.size(0), input.size(1), -1)  # [N,C,H,W]->[N,C,H*W] ([N,C,D,H,W]->[N,C,D*H*W])
        # target
        # [N,1,D,H,W] ->[N*D*H*W,1]
        if self.alpha.device != input.device:
            self.alpha = torch.tensor(self.alpha, device=input.device)
        target = target.view(-1, 1)
        logpt = torch.log(input + 1e-10)
        logpt = logpt.gather(1, target)
        logpt = logpt.view(-1, 1)
        pt = torch.exp(logpt)
        alpha = self.alpha.gather(0, target.view(-1))
        gamma = self.gamma
        if not self.gamma.device == input.device:
            gamma = torch.tensor(self.gamma, device=input.device)
        loss = -1 * alpha * torch.pow((1 - pt), gamma) * logpt
        if self.size_average:
            loss = loss.mean()
        loss = loss.sum()
        return loss


# ---------------------------------------------------------------------------
# Seed 002: the Keras categorical_focal_loss, transcribed to torch
# ---------------------------------------------------------------------------

class K:
    """The Keras backend functions the seed uses, as their torch equivalents."""

    @staticmethod
    def epsilon():
        return 1e-7

    @staticmethod
    def clip(x, min_value, max_value):
        return torch.clamp(x, min_value, max_value)

    @staticmethod
    def log(x):
        return torch.log(x)

    @staticmethod
    def pow(x, a):
        return torch.pow(x, a)

    @staticmethod
    def sum(x, axis=None):
        return torch.sum(x, dim=axis)

    @staticmethod
    def equal(x, y):
        return torch.eq(x, y)

    @staticmethod
    def ones_like(x):
        return torch.ones_like(x)


class tf:
    """The TensorFlow function the binary seed uses, as its torch equivalent."""

    @staticmethod
    def where(condition, x, y):
        return torch.where(condition, x, y)


def categorical_focal_loss(gamma=2.0, alpha=0.25):
    def focal_loss(y_true, y_pred):
        # Define epsilon so that the backpropagation will not result in NaN
        # for 0 divisor case
        epsilon = K.epsilon()
        # Add the epsilon to prediction value
        # y_pred = y_pred + epsilon
        # Clip the prediction value
        y_pred = K.clip(y_pred, epsilon, 1.0 - epsilon)
        # Calculate cross entropy
        cross_entropy = -y_true * K.log(y_pred)
        # Calculate weight that consists of modulating factor and weighting factor
        weight = alpha * y_true * K.pow((1 - y_pred), gamma)
        # Calculate focal loss
        loss = weight * cross_entropy
        # Sum the losses in mini_batch
        loss = K.sum(loss, axis=1)
        return loss
    return focal_loss


def binary_focal_loss(gamma=2.0, alpha=0.25):
    def focal_loss(y_true, y_pred):
        # Define epsilon so that the backpropagation will not result in NaN
        # for 0 divisor case
        epsilon = K.epsilon()
        # Add the epsilon to prediction value
        # y_pred = y_pred + epsilon
        # Clip the prediciton value
        y_pred = K.clip(y_pred, epsilon, 1.0 - epsilon)
        # Calculate p_t
        p_t = tf.where(K.equal(y_true, 1), y_pred, 1 - y_pred)
        # Calculate alpha_t
        alpha_factor = K.ones_like(y_true) * alpha
        alpha_t = tf.where(K.equal(y_true, 1), alpha_factor, 1 - alpha_factor)
        # Calculate cross entropy
        cross_entropy = -K.log(p_t)
        weight = alpha_t * K.pow((1 - p_t), gamma)
        # Calculate focal loss
        loss = weight * cross_entropy
        # Sum the losses in mini_batch
        loss = K.sum(loss, axis=1)
        return loss
    return focal_loss


# ---------------------------------------------------------------------------
# Seed 003: FocalLoss(n_class, alpha, gamma, reduction)
# ---------------------------------------------------------------------------

class Seed003FocalLoss(nn.Module):
    def __init__(self, n_class, alpha=None, gamma=2, reduction='mean'):
        super(Seed003FocalLoss, self).__init__()
        if alpha is None:
            self.alpha = Variable(torch.ones(n_class, 1))
        else:
            self.alpha = alpha if isinstance(alpha, Variable) else Variable(alpha)
        self.gamma = gamma
        self.n_class = n_class
        self.reduction = reduction

    def forward(self, inputs, targets):
        device = inputs.device
        bs = inputs.size(0)
        n_channel = inputs.size(1)
        probs = F.softmax(inputs)
        class_mask = inputs.data.new(bs, n_channel).fill_(0)
        class_mask = Variable(class_mask)
        ys = targets.view(-1, 1)
        # onehot encoding
        class_mask.scatter_(1, ys.data, 1.)
        if inputs.is_cuda and not self.alpha.is_cuda:
            self.alpha = self.alpha.to(device)
        alphas = self.alpha[ys.data.view(-1)]
        probs = (probs * class_mask).sum(1).view(-1, 1)
        log_p = probs.log()
        batch_loss = -alphas * (torch.pow((1 - probs), self.gamma)) * log_p
        if self.reduction == "mean":
            loss = batch_loss.mean()
        else:
            loss = batch_loss.sum()
        return loss


# ---------------------------------------------------------------------------
# Running a seed
# ---------------------------------------------------------------------------

def run(fn, x, x_shape, g):
    """out, d sum(g*out)/dx and d sum(out)/dx of fn(x viewed as x_shape)."""
    leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(leaf.view(*x_shape))
    gt = torch.tensor(g, dtype=torch.float64).view_as(out)
    grad, = torch.autograd.grad((gt * out).sum(), leaf, retain_graph=True)
    fgrad, = torch.autograd.grad(out.sum(), leaf)
    return out.detach().reshape(-1).numpy().copy(), grad.numpy().copy(), fgrad.numpy().copy()


def agree(spec, x, t, w, g, seed_result, margin=0.5, reference=ref.reference):
    """Asserts libfocal's reference for spec reproduces the seed."""
    mine = reference(spec, x, t, w, g)
    rtol = spec["tol"][0] if spec["tol"] else ref.DEFAULT_RTOL64
    for what, a, b in zip(("out", "grad", "fgrad"), seed_result, mine):
        need = ref.needed_rtol(a, b)
        if not need <= rtol * margin:
            raise AssertionError("%s: the seed's %s differs from libfocal's reference (rtol %g)"
                                 % (spec["name"], what, need))


def differs(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    return float(np.max(np.abs(a - b))) > 1e-6 * float(np.max(np.abs(b)))


def gtag(gamma):
    return "g%g" % gamma


def seed000_cases(gen):
    cases = []
    configs = [
        # tag, x shape, alpha, size_average
        ("nc6x2_alpha-scalar0.25_mean", (6, 2), 0.25, True),
        ("nc6x5_alpha-list_sum", (6, 5), "list", False),
        ("nchw2x3x4x5_alpha-none_mean", (2, 3, 4, 5), None, True),
        ("nchw2x3x2x3_alpha-list_sum", (2, 3, 2, 3), "list", False),
        ("nc5x2_alpha-scalar0.6_sum", (5, 2), 0.6, False),
    ]
    for gamma in SEED_GAMMAS:
        for tag, xs, alpha, size_average in configs:
            N, C = xs[0], xs[1]
            inner = int(np.prod(xs[2:])) if len(xs) > 2 else 1
            if alpha == "list":
                alpha = [float(v) for v in gen.rng.uniform(0.1, 1.0, size=C)]
            shape = (N, C, inner)
            x = [float(v) for v in gen.logits(shape)]
            t = [int(v) for v in gen.rng.randint(0, C, size=N * inner)]
            g = [float(v) for v in gen.upstream(1)]
            target = torch.tensor(t, dtype=torch.int64).view((N,) + tuple(xs[2:]))
            # The seed's own autograd (p_t detached) and the true gradient.
            seed = Seed000FocalLoss(gamma=gamma, alpha=alpha, size_average=size_average)
            out, dgrad, dfgrad = run(lambda v: seed(v, target), x, xs, g)
            true = Seed000FocalLossAttached(gamma=gamma, alpha=alpha, size_average=size_average)
            out2, grad, fgrad = run(lambda v: true(v, target), x, xs, g)
            assert np.array_equal(out, out2)
            if gamma > 0:
                assert differs(dgrad, grad) and differs(dfgrad, fgrad), \
                    "seed 000: the detached gradient should differ from the true one for gamma > 0"
            else:
                assert not differs(dgrad, grad) and not differs(dfgrad, fgrad)
            # libfocal configuration: the seed's alpha tensor is float32.
            if alpha is None:
                lf_alpha = None
            else:
                lf_alpha = [float(v) for v in seed.alpha.double()]
                assert lf_alpha == [float(v) for v in ref.r32(lf_alpha)]
            spec = ref.make_spec("seed000_clcarwin_%s_%s" % (gtag(gamma), tag), shape,
                                 gamma=gamma, alpha=lf_alpha,
                                 reduction="mean" if size_average else "sum")
            result = (out, grad, fgrad)
            agree(spec, x, t, None, g, result)
            cases.append((spec, x, t, None, g, result))
    return cases


def seed003_cases(gen):
    cases = []
    configs = [
        # tag, (N, C), alpha, reduction
        ("nc6x5_alpha-default_mean", (6, 5), None, "mean"),
        ("nc7x4_alpha-tensor_sum", (7, 4), "tensor", "sum"),
        ("nc4x3_alpha-tensor_reduction-none-sums", (4, 3), "tensor", "none"),
    ]
    for gamma in SEED_GAMMAS:
        for tag, (N, C), alpha, reduction in configs:
            shape = (N, C, 1)
            if alpha == "tensor":
                alpha = torch.Tensor(gen.rng.uniform(0.1, 1.0, size=(C, 1)))
            x = [float(v) for v in gen.logits(shape)]
            t = [int(v) for v in gen.rng.randint(0, C, size=N)]
            g = [float(v) for v in gen.upstream(1)]
            target = torch.tensor(t, dtype=torch.int64)
            seed = Seed003FocalLoss(C, alpha=alpha, gamma=gamma, reduction=reduction)
            result = run(lambda v: seed(v, target), x, (N, C), g)
            lf_alpha = None if alpha is None else [float(v) for v in alpha.double().view(-1)]
            spec = ref.make_spec("seed003_%s_%s" % (gtag(gamma), tag), shape, gamma=gamma,
                                 alpha=lf_alpha, reduction="mean" if reduction == "mean" else "sum")
            agree(spec, x, t, None, g, result)
            cases.append((spec, x, t, None, g, result))
    return cases


def seed002_torch_cases(gen):
    """The class broadcasts its (N,) alpha against the (N, 1) loss, giving an
    (N, N) matrix: entry (i, j) is alpha[t_j] times sample i's focal term. With
    N = 1 that is the per-sample alpha vector; with N > 1 the result is the
    focal term summed (or averaged) with one scalar alpha, sum_j alpha[t_j]
    (divided by N for size_average), and that is the configuration recorded."""
    cases = []
    configs = [
        # tag, (N, C), alpha, size_average
        ("nc1x2_alpha-scalar0.25_mean", (1, 2), 0.25, True),
        ("nc1x4_alpha-list_sum", (1, 4), "list", False),
        ("nc1x3_alpha-list_mean", (1, 3), "list", True),
        ("nc6x2_alpha-scalar0.25_mean_broadcast", (6, 2), 0.25, True),
        ("nc5x4_alpha-list_sum_broadcast", (5, 4), "list", False),
    ]
    for gamma in SEED_GAMMAS:
        for tag, (N, C), alpha, size_average in configs:
            shape = (N, C, 1)
            if alpha == "list":
                alpha = [float(v) for v in gen.rng.uniform(0.1, 1.0, size=C)]
            x = [float(v) for v in gen.softmax_rows(shape, lo=0.02, hi=0.98)]
            t = [int(v) for v in gen.rng.randint(0, C, size=N)]
            if N > 1:
                t[0] = 0
                t[1] = 1     # targets with different alpha
            g = [float(v) for v in gen.upstream(1)]
            target = torch.tensor(t, dtype=torch.int64)
            seed = Seed002FocalLoss(alpha=alpha, gamma=gamma, size_average=size_average)
            result = run(lambda v: seed(v, target), x, (N, C), g)
            norm = [float(v) for v in seed.alpha.double()]
            assert seed.alpha.dtype == torch.float32
            reduction = "mean" if size_average else "sum"
            if N == 1:
                lf_alpha = norm
            else:
                total = float(sum(norm[k] for k in t))
                lf_alpha = total / N if size_average else total
                per_sample = ref.make_spec("probe", shape, input="probabilities", gamma=gamma,
                                           alpha=norm, reduction=reduction)
                probe = ref.reference(per_sample, x, t, None, g)
                assert differs(result[0], probe[0]), "seed 002 (torch): expected the (N, N) broadcast"
            spec = ref.make_spec("seed002_torch_%s_%s" % (gtag(gamma), tag), shape,
                                 input="probabilities", gamma=gamma, alpha=lf_alpha,
                                 reduction=reduction, epsilon=1e-7, tol=(1e-7, 2e-6))
            agree(spec, x, t, None, g, result)
            cases.append((spec, x, t, None, g, result))
    return cases


def seed002_keras_cases(gen):
    """y_true enters the Keras loss twice (in `weight` and in `cross_entropy`),
    so the seed computes sum_c alpha y_c^2 (1-p_c)^gamma (-log p_c): libfocal
    reproduces it with the dense target y^2. Soft targets are multiples of
    1/64 so that y^2 is exact in float32; for one-hot targets y^2 = y."""
    cases = []
    configs = [
        # tag, (N, C), target kind, reduction
        ("nc5x4_onehot_none", (5, 4), "onehot", "none"),
        ("nc6x3_onehot_mean", (6, 3), "onehot", "mean"),
        ("nc5x4_soft_none", (5, 4), "soft", "none"),
        ("nc4x5_soft_mean", (4, 5), "soft", "mean"),
    ]
    for gamma in SEED_GAMMAS:
        for tag, (N, C), kind, reduction in configs:
            shape = (N, C, 1)
            x = [float(v) for v in gen.softmax_rows(shape, lo=1e-3, hi=1 - 1e-3)]
            if kind == "onehot":
                y = np.zeros((N, C))
                y[np.arange(N), gen.rng.randint(0, C, size=N)] = 1.0
            else:
                while True:
                    cuts = np.sort(gen.rng.randint(0, 65, size=(N, C - 1)), axis=1)
                    edges = np.concatenate([np.zeros((N, 1)), cuts, np.full((N, 1), 64.0)], axis=1)
                    y = np.diff(edges, axis=1) / 64.0
                    if (y < 1.0).all():
                        break
            y_true = torch.tensor(y, dtype=torch.float64)
            g = [float(v) for v in gen.upstream(N if reduction == "none" else 1)]
            loss_fn = categorical_focal_loss(gamma=gamma, alpha=0.25)
            if reduction == "none":
                fn = lambda v: loss_fn(y_true, v)  # noqa: E731
            else:
                fn = lambda v: loss_fn(y_true, v).mean()  # noqa: E731  Keras' batch average
            result = run(fn, x, (N, C), g)
            y2 = [float(v) for v in (y * y).reshape(-1)]
            assert y2 == [float(v) for v in ref.r32(y2)]
            spec = ref.make_spec("seed002_keras_%s_%s" % (gtag(gamma), tag), shape, targets="dense",
                                 input="probabilities", gamma=gamma, alpha=0.25,
                                 reduction=reduction, epsilon=1e-7)
            agree(spec, x, y2, None, g, result)
            cases.append((spec, x, y2, None, g, result))
    return cases


def seed002_keras_binary_cases(gen):
    """The Keras binary_focal_loss is libfocal's sigmoid mode with dense 0/1
    targets, probabilities input, epsilon 1e-7 and a scalar alpha, per
    element; the seed sums each sample over its classes (axis 1). So the
    cases record reduction SUM: for one sample it is the seed's per-sample
    value; for a batch it is the sum of the seed's per-sample values; and
    Keras' default batch average (that sum / N) is SUM with every position
    weight 1/N (N a power of 2, exact in float32). MEAN would divide by
    N * C. tf.where(y_true == 1) makes any y != 1 a negative, so only hard
    0/1 targets are used."""
    cases = []
    configs = [
        # tag, (N, C), target kind, alpha, what out is
        ("nc1x4_onehot_sum_sample", (1, 4), "onehot", 0.25, "sample"),
        ("nc6x3_onehot_sum_batch_clip", (6, 3), "onehot", 0.25, "batch-sum"),
        ("nc5x4_multihot_sum_batch", (5, 4), "multihot", 0.6, "batch-sum"),
        ("nc4x5_onehot_sum_batch-mean_w0.25", (4, 5), "onehot", 0.25, "batch-mean"),
    ]
    for gamma in SEED_GAMMAS:
        for tag, (N, C), kind, alpha, what in configs:
            shape = (N, C, 1)
            x = np.asarray(gen.probabilities(shape)).reshape(N, C).copy()
            if kind == "onehot":
                y = np.zeros((N, C))
                y[np.arange(N), gen.rng.randint(0, C, size=N)] = 1.0
            else:
                y = (gen.rng.uniform(size=(N, C)) < 0.4).astype(np.float64)
                y[0] = 0.0          # one sample with no positive class
                y[1, 0] = 1.0
            if tag.endswith("_clip"):
                # Clipped at the bottom on a positive and on a negative, and at
                # the top on a positive only: on a negative, float32's upper
                # bound 0.99999988 would move -log(1 - p) by 1 %.
                rows = np.arange(N)
                ks = y.argmax(axis=1)
                x[0, ks[0]] = 0.0
                x[1, (ks[1] + 1) % C] = 0.0
                x[2, ks[2]] = 1.0
                assert y[rows[:3], ks[:3]].all()
            x = [float(v) for v in ref.r32(x.reshape(-1))]
            y_true = torch.tensor(y, dtype=torch.float64)
            g = [float(v) for v in gen.upstream(1)]
            loss_fn = binary_focal_loss(gamma=gamma, alpha=alpha)
            if what == "sample":
                fn = lambda v: loss_fn(y_true, v)  # noqa: E731  shape (1,)
            elif what == "batch-sum":
                fn = lambda v: loss_fn(y_true, v).sum()  # noqa: E731
            else:
                fn = lambda v: loss_fn(y_true, v).mean()  # noqa: E731  Keras' batch average
            result = run(fn, x, (N, C), g)
            w = [1.0 / N] * N if what == "batch-mean" else None
            assert w is None or w == [float(v) for v in ref.r32(w)]
            t = [float(v) for v in y.reshape(-1)]
            spec = sig.make_spec("seed002_keras_binary_%s_%s" % (gtag(gamma), tag), shape,
                                 targets="dense", input="probabilities", gamma=gamma, alpha=alpha,
                                 reduction="sum", epsilon=1e-7)
            agree(spec, x, t, w, g, result, reference=sig.reference)
            cases.append((spec, x, t, w, g, result))
    return cases


def main():
    gen = ref.Gen(3)
    groups = [seed000_cases(gen), seed003_cases(gen), seed002_torch_cases(gen), seed002_keras_cases(gen)]
    # A stream of its own, so the cases above stay as they were.
    groups.append(seed002_keras_binary_cases(sig.SigmoidGen(2002)))
    cases = [c for grp in groups for c in grp]
    names = set()
    path = os.path.join(HERE, "seeds.golden")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# libfocal golden data from the seed implementations; written by gen_seeds.py, "
                "format in README.md\n\n")
        for spec, x, t, w, g, result in cases:
            assert spec["name"] not in names, spec["name"]
            names.add(spec["name"])
            ref.write_case(f, spec, x, t, w, g, *result)
    os.replace(tmp, path)
    print("%s: %d cases (seed 000: %d, seed 003: %d, seed 002 torch: %d, seed 002 keras: %d, "
          "seed 002 keras binary: %d)"
          % (os.path.relpath(path), len(cases), *[len(grp) for grp in groups]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
