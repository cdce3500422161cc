"""PyTorch integration: an autograd Function over libfocal and nn.Modules.

    from libfocal.nn import FocalLoss, SigmoidFocalLoss, sigmoid_focal_loss

`sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)` and
`SigmoidFocalLoss` replace torchvision.ops.sigmoid_focal_loss;
`Seed000FocalLoss` and `Seed003FocalLoss` take the constructor arguments of
the two seed classes (docs/seeds.md) and compute their losses, but with the
true gradient. libfocal runs on the CPU: tensors on another device (CUDA)
raise a RuntimeError rather than being copied behind the caller's back.
float16 and bfloat16 tensors
are computed natively by the _f16 / _bf16 entry points (the float32 math,
each result rounded once), without a widening copy. Dense targets that
require grad get the gradient with respect to the targets.
"""

import numpy as np
import torch
from torch.autograd.function import once_differentiable

import libfocal as focal
from libfocal import Reduction

__all__ = ["FocalFunction", "focal_loss", "FocalLoss", "sigmoid_focal_loss", "SigmoidFocalLoss",
           "Seed000FocalLoss", "Seed003FocalLoss", "QualityFocalLoss", "VarifocalLoss",
           "DistributionFocalLoss", "AsymmetricLoss"]

_NATIVE = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _check_cpu(*tensors):
    """libfocal computes on the CPU only; a tensor elsewhere is an error
    (a silent copy to the host and back would hide a transfer per call)."""
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.device.type != "cpu":
            raise RuntimeError("libfocal computes on the CPU, but a %s tensor is on device %s: "
                               "move the tensors with .cpu() (and the loss back with .to(device))"
                               % (tuple(t.shape), t.device))


def _compute_dtype(t):
    return t.dtype if t.dtype in _NATIVE else torch.float32


def _numpy(t, dtype=None):
    """The tensor's data as a numpy array on the CPU; bfloat16 as its bit
    patterns (uint16), which numpy has no type for."""
    t = t.detach()
    if dtype is not None:
        t = t.to(dtype)
    t = t.cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def _tensor(a, dtype):
    """A numpy result back as a tensor of `dtype` (bfloat16 from its bits)."""
    a = np.asarray(a)
    if dtype == torch.bfloat16:
        if a.dtype == np.uint16:
            return torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16)
        return torch.as_tensor(np.asarray(a, dtype=np.float32)).to(torch.bfloat16)
    return torch.as_tensor(a).to(dtype)


class FocalFunction(torch.autograd.Function):
    """apply(input, target, weight, loss, channels_last=False, dense=None).

    `loss` is a focal.Loss; the gradient flows to `input` only. With a
    reduced loss, forward calls focal_forward_backward and keeps the
    gradient, which backward scales by grad_output; with reduction NONE,
    backward calls focal_backward with grad_output (on a clone of `loss`,
    so later changes to its settings do not affect the graph).
    """

    @staticmethod
    def forward(ctx, input, target, weight, loss, channels_last=False, dense=None):
        _check_cpu(input, target, weight)
        dtype = _compute_dtype(input)
        if dense is None:
            dense = target.is_floating_point() or target.dtype == torch.bool
        bf16 = dtype == torch.bfloat16
        x = _numpy(input, dtype)
        t = _numpy(target, dtype if dense else torch.int64)
        w = None if weight is None else _numpy(weight, dtype)
        reduced = loss.reduction != Reduction.NONE
        need_grad = ctx.needs_input_grad[0]
        need_tgrad = dense and ctx.needs_input_grad[1]
        ctx.reduced = reduced
        ctx.dtype = dtype
        ctx.options = {"channels_last": channels_last, "dense": dense}
        kw = dict(ctx.options, bfloat16=bf16)
        if reduced and need_grad:
            value, grad = loss.forward_backward(x, t, w, **kw)
            ctx.grad = _tensor(grad, dtype)
        else:
            value = loss.forward(x, t, w, **kw)
        if (need_grad and not reduced) or need_tgrad:
            ctx.loss = loss.clone()
            ctx.save_for_backward(input, target, weight)
        ctx.need_tgrad = need_tgrad
        if reduced:
            out = torch.tensor(value, dtype=torch.float64).to(dtype)
        else:
            out = _tensor(value, dtype)
        return out.to(device=input.device, dtype=input.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        grad = grad_target = None
        if ctx.needs_input_grad[0]:
            if ctx.reduced:
                grad = ctx.grad.to(grad_output.device) * grad_output.to(ctx.grad.dtype)
                grad = grad.to(grad_output.dtype)
            else:
                input, target, weight = ctx.saved_tensors
                dtype = ctx.dtype
                dense = ctx.options["dense"]
                g = ctx.loss.backward(_numpy(input, dtype), _numpy(target, dtype if dense else torch.int64),
                                      _numpy(grad_output, dtype),
                                      None if weight is None else _numpy(weight, dtype), **ctx.options,
                                      bfloat16=dtype == torch.bfloat16)
                grad = _tensor(g, dtype).to(device=input.device, dtype=input.dtype)
        if ctx.need_tgrad:
            # The target gradient is computed in float32 or float64 (the
            # half types widened: there are no half target-gradient calls).
            input, target, weight = ctx.saved_tensors
            wide = ctx.dtype if ctx.dtype in (torch.float32, torch.float64) else torch.float32
            go = grad_output.to(wide)
            gt = ctx.loss.backward_target(_numpy(input, wide), _numpy(target, wide),
                                          _numpy(go, wide) if not ctx.reduced else 1.0,
                                          None if weight is None else _numpy(weight, wide),
                                          channels_last=ctx.options["channels_last"])
            grad_target = torch.from_numpy(gt)
            if ctx.reduced:
                grad_target = grad_target * go.cpu()
            grad_target = grad_target.to(device=target.device, dtype=target.dtype)
        return grad, grad_target, None, None, None, None


def focal_loss(input, target, loss, weight=None, channels_last=False, dense=None, divisor=None):
    """The loss of `input` under the focal.Loss `loss`, differentiable with
    respect to `input` (and to dense targets that require grad). Index
    targets are integer tensors of the position shape, dense targets float
    tensors of the input's shape. `divisor` (a number or a one-element
    tensor, e.g. all-reduced positives) computes SUM / divisor instead of
    the loss's own reduction, as data-parallel training needs
    (docs/distributed.md)."""
    if divisor is not None:
        loss = loss.clone()
        loss.reduction = Reduction.DIVISOR
        loss.divisor = float(divisor)
    return FocalFunction.apply(input, target, weight, loss, channels_last, dense)


class FocalLoss(torch.nn.Module):
    """Softmax focal loss over dim 1 (or the last dim with channels_last),
    with libfocal's settings: forward(input, target, weight=None)."""

    def __init__(self, gamma=2.0, alpha=None, reduction="mean", ignore_index=None,
                 label_smoothing=0.0, input="logits", epsilon=1e-7, channels_last=False, threads=0):
        super().__init__()
        if isinstance(alpha, torch.Tensor):
            alpha = _numpy(alpha, torch.float64)
        self.loss = focal.Loss("softmax", gamma=gamma, alpha=alpha, reduction=reduction,
                               ignore_index=ignore_index, label_smoothing=label_smoothing,
                               input=input, epsilon=epsilon, threads=threads)
        self.channels_last = channels_last

    def forward(self, input, target, weight=None):
        return focal_loss(input, target, self.loss, weight, self.channels_last)

    def extra_repr(self):
        return "%r, channels_last=%r" % (self.loss, self.channels_last)


_TORCHVISION_REDUCTIONS = {"none": Reduction.NONE, "mean": Reduction.MEAN, "sum": Reduction.SUM}


def _sigmoid_loss(alpha, gamma, reduction):
    if reduction not in _TORCHVISION_REDUCTIONS:
        # torchvision's message (since 0.15; 0.14 returned the unreduced loss), verbatim.
        raise ValueError(
            f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction modes: 'none', 'mean', 'sum'"
        )
    # torchvision: a negative alpha means no alpha weighting.
    return focal.Loss("sigmoid", gamma=gamma, alpha=alpha if alpha >= 0 else None,
                      reduction=_TORCHVISION_REDUCTIONS[reduction])


def _sigmoid_apply(loss, inputs, targets):
    shape = inputs.shape
    if targets.size() != inputs.size():
        # torchvision's error, raised by F.binary_cross_entropy_with_logits.
        raise ValueError("Target size ({}) must be the same as input size ({})".format(targets.size(), inputs.size()))
    _check_cpu(inputs, targets)
    if inputs.numel() == 0:
        # torchvision gives an empty loss, a sum of 0 and a mean of NaN;
        # libfocal's MEAN of no element is 0, and it rejects c = 0.
        empty = inputs * 0
        if loss.reduction == Reduction.NONE:
            return empty
        return empty.sum() if loss.reduction == Reduction.SUM else empty.mean()
    if inputs.dim() < 2:
        # Elementwise: any layout gives the same losses.
        inputs = inputs.reshape(-1, 1)
        targets = targets.reshape(-1, 1)
    out = FocalFunction.apply(inputs, targets, None, loss, False, True)
    return out.reshape(shape) if loss.reduction == Reduction.NONE else out


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss computed by libfocal, with its
    signature, defaults and errors (an unknown reduction raises torchvision's
    ValueError, as torchvision does since 0.15). `targets` must have the
    shape of `inputs` and values in [0, 1]."""
    with _sigmoid_loss(alpha, gamma, reduction) as loss:
        return _sigmoid_apply(loss, inputs, targets)


class SigmoidFocalLoss(torch.nn.Module):
    """Module form of sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)."""

    def __init__(self, alpha=0.25, gamma=2, reduction="none"):
        super().__init__()
        self.loss = _sigmoid_loss(alpha, gamma, reduction)

    def forward(self, inputs, targets):
        return _sigmoid_apply(self.loss, inputs, targets)

    def extra_repr(self):
        return repr(self.loss)


def _positions_target(input, target):
    """The seeds flatten the target with view(-1); libfocal wants it in the
    position shape (N, d1..dk) of the (N, C, d1..dk) input."""
    return target.reshape((input.shape[0],) + tuple(input.shape[2:]))


class Seed000FocalLoss(torch.nn.Module):
    """Seed 000 (clcarwin FocalLoss(gamma, alpha, size_average)): softmax on
    logits over dim 1, scalar alpha a -> [a, 1 - a], list alpha per class
    (both held in float32 as the seed does), mean or sum. The value is the
    seed's; the gradient is the true one, where the seed detaches p_t."""

    def __init__(self, gamma=0, alpha=None, size_average=True):
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        if isinstance(alpha, (float, int)):
            self.alpha = torch.tensor([alpha, 1 - alpha], dtype=torch.float32)
        if isinstance(alpha, list):
            self.alpha = torch.tensor(alpha, dtype=torch.float32)
        self.size_average = size_average

    def forward(self, input, target):
        # The seed casts its alpha to the input's type before using it.
        alpha = None if self.alpha is None else _numpy(self.alpha.to(_compute_dtype(input)), torch.float64)
        reduction = Reduction.MEAN if self.size_average else Reduction.SUM
        with focal.Loss("softmax", gamma=self.gamma, alpha=alpha, reduction=reduction) as loss:
            return focal_loss(input, _positions_target(input, target), loss)


class Seed003FocalLoss(torch.nn.Module):
    """Seed 003 (FocalLoss(n_class, alpha, gamma, reduction)): softmax on
    (N, C) logits, alpha a (C, 1) tensor (default: ones, i.e. no alpha),
    'mean' averages and every other reduction sums, as in the seed."""

    def __init__(self, n_class, alpha=None, gamma=2, reduction="mean"):
        super().__init__()
        self.alpha = None if alpha is None else torch.as_tensor(alpha)
        self.gamma = gamma
        self.n_class = n_class
        self.reduction = reduction

    def forward(self, inputs, targets):
        alpha = None if self.alpha is None else _numpy(self.alpha, torch.float64).reshape(-1)
        reduction = Reduction.MEAN if self.reduction == "mean" else Reduction.SUM
        with focal.Loss("softmax", gamma=self.gamma, alpha=alpha, reduction=reduction) as loss:
            return focal_loss(inputs, targets.reshape(-1), loss)


# ---------------------------------------------------------------------------
# The generalized focal family, with the constructor arguments of
# mmdetection's QualityFocalLoss, VarifocalLoss and DistributionFocalLoss and
# timm's AsymmetricLoss. Where mmdetection divides by an avg_factor it adds
# torch.finfo(torch.float32).eps, as mmdetection's weight_reduce_loss does.
# ---------------------------------------------------------------------------

_MMDET_EPS = float(torch.finfo(torch.float32).eps)


def _mmdet_reduce(loss_elements, positions, reduction, avg_factor, per_position):
    """The loss context's reduction for mmdetection's weight_reduce_loss:
    'mean' over `positions` items (the rows when the loss is summed per
    position first, else every element), 'sum', or sum / (avg_factor + eps)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError("invalid reduction %r: expected 'none', 'mean' or 'sum'" % (reduction,))
    if avg_factor is not None:
        if reduction == "sum":
            raise ValueError('avg_factor can not be used with reduction="sum"')
        if reduction == "mean":
            return "divisor", float(avg_factor) + _MMDET_EPS
    if reduction == "mean":
        return "divisor", float(positions if per_position else loss_elements)
    return reduction, None


def _family_apply(loss, pred, target, weight, reduction, avg_factor, per_position, dense=True):
    n = pred.shape[0]
    kind, divisor = _mmdet_reduce(pred.numel(), n, reduction, avg_factor, per_position)
    if kind == "none":
        loss.reduction = Reduction.NONE
        out = FocalFunction.apply(pred, target, weight, loss, False, dense)
        return out.sum(dim=1) if per_position and out.dim() > 1 else out
    if kind == "sum":
        loss.reduction = Reduction.SUM
        return FocalFunction.apply(pred, target, weight, loss, False, dense)
    loss.reduction = Reduction.DIVISOR
    loss.divisor = divisor
    return FocalFunction.apply(pred, target, weight, loss, False, dense)


def _position_weight(weight, pred):
    if weight is None:
        return None
    if weight.dim() == 2 and weight.shape == pred.shape:
        raise ValueError("libfocal takes one weight per position (N,), got an element weight %r"
                         % (tuple(weight.shape),))
    return weight.reshape(pred.shape[0])


class QualityFocalLoss(torch.nn.Module):
    """mmdetection's QualityFocalLoss(use_sigmoid=True, beta=2.0,
    reduction='mean', loss_weight=1.0, activated=False):
    forward(pred, target, weight=None, avg_factor=None, reduction_override=None)
    with target a (label, score) pair (label == C is background) or an (N, C)
    tensor of quality scores. The loss is summed over classes per position,
    then reduced as mmdetection does. Only sigmoid logits: use_sigmoid=False
    and activated=True raise NotImplementedError."""

    def __init__(self, use_sigmoid=True, beta=2.0, reduction="mean", loss_weight=1.0, activated=False):
        super().__init__()
        if not use_sigmoid:
            raise NotImplementedError("Only sigmoid in QFL supported now.")
        if activated:
            raise NotImplementedError("libfocal's QFL takes logits: activated=True is not supported")
        self.beta = beta
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        assert reduction_override in (None, "none", "mean", "sum")
        reduction = reduction_override if reduction_override else self.reduction
        if isinstance(target, (tuple, list)):
            label, score = target
            y = pred.new_zeros(pred.shape, dtype=score.dtype if score.is_floating_point() else pred.dtype)
            pos = ((label >= 0) & (label < pred.shape[1])).nonzero().squeeze(1)
            y[pos, label[pos]] = score[pos].to(y.dtype)
        else:
            y = target
        with focal.Loss("sigmoid", variant="qfl", gamma=self.beta) as loss:
            out = _family_apply(loss, pred, y, _position_weight(weight, pred), reduction, avg_factor, True)
        return self.loss_weight * out


class VarifocalLoss(torch.nn.Module):
    """mmdetection's VarifocalLoss(use_sigmoid=True, alpha=0.75, gamma=2.0,
    iou_weighted=True, reduction='mean', loss_weight=1.0):
    forward(pred, target, weight=None, avg_factor=None, reduction_override=None)
    with target the (N, C) IoU-aware scores. Elementwise, reduced as
    mmdetection does ('mean' over every element). iou_weighted=False raises
    NotImplementedError; weights are per position (N,)."""

    def __init__(self, use_sigmoid=True, alpha=0.75, gamma=2.0, iou_weighted=True, reduction="mean",
                 loss_weight=1.0):
        super().__init__()
        if use_sigmoid is not True:
            raise NotImplementedError("Only sigmoid varifocal loss supported now.")
        if alpha < 0.0:
            raise ValueError("alpha must be >= 0, got %r" % (alpha,))
        if not iou_weighted:
            raise NotImplementedError("libfocal's VFL is the iou_weighted form")
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        assert reduction_override in (None, "none", "mean", "sum")
        reduction = reduction_override if reduction_override else self.reduction
        with focal.Loss("sigmoid", variant="vfl", gamma=self.gamma, alpha=self.alpha) as loss:
            out = _family_apply(loss, pred, target, _position_weight(weight, pred), reduction, avg_factor,
                                False)
        return self.loss_weight * out


class DistributionFocalLoss(torch.nn.Module):
    """mmdetection's DistributionFocalLoss(reduction='mean', loss_weight=1.0):
    forward(pred, target, weight=None, avg_factor=None, reduction_override=None)
    with pred the (N, n + 1) bin logits and target the (N,) distances in
    [0, n). Softmax mode, gamma 0, the two-hot target (docs/math.md)."""

    def __init__(self, reduction="mean", loss_weight=1.0):
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        assert reduction_override in (None, "none", "mean", "sum")
        reduction = reduction_override if reduction_override else self.reduction
        bins = pred.shape[1]
        if target.numel() and (target.min() < 0 or target.max() >= bins - 1):
            raise ValueError("DFL targets must lie in [0, %d), got [%g, %g]"
                             % (bins - 1, target.min().item(), target.max().item()))
        left = target.detach().long()
        w_left = (left + 1).to(pred.dtype) - target.detach().to(pred.dtype)
        y = pred.new_zeros(pred.shape)
        rows = torch.arange(pred.shape[0], device=pred.device)
        y[rows, left] = w_left
        y[rows, left + 1] = 1 - w_left
        # A softmax position is one item: 'mean' is over the N positions.
        with focal.Loss("softmax", gamma=0.0) as loss:
            out = _family_apply(loss, pred, y, _position_weight(weight, pred), reduction, avg_factor, True)
        return self.loss_weight * out


class AsymmetricLoss(torch.nn.Module):
    """timm's AsymmetricLoss(gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8,
    disable_torch_grad_focal_loss=False): forward(x, y) with y the (N, C)
    binarized multi-label targets; returns the summed loss, as timm does.
    The loss is timm's without its eps clamp of the probabilities (eps is
    accepted and not used); the gradient is the true one, so
    disable_torch_grad_focal_loss=True raises NotImplementedError."""

    def __init__(self, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8, disable_torch_grad_focal_loss=False):
        super().__init__()
        if disable_torch_grad_focal_loss:
            raise NotImplementedError("libfocal computes the true gradient of ASL; "
                                      "disable_torch_grad_focal_loss=True is not supported")
        self.gamma_neg = gamma_neg
        self.gamma_pos = gamma_pos
        self.clip = clip
        self.eps = eps

    def forward(self, x, y):
        clip = 0.0 if self.clip is None else self.clip
        with focal.Loss("sigmoid", variant="asl", gamma=self.gamma_pos, gamma_negative=self.gamma_neg,
                        clip=clip, reduction="sum") as loss:
            return FocalFunction.apply(x, y.to(x.dtype) if not y.is_floating_point() else y, None, loss, False,
                                       True)
