#!/usr/bin/env python3
"""PyTorch DDP (gloo, CPU, 2 processes) training a small detection head with
libfocal's sigmoid focal loss normalised by the positives of the global
batch, checked against training on the whole batch in one process.

    ddp_detection.py LIBFOCAL_SO

The head is one 3x3 convolution from an 8-channel feature map to 3 class
logits per location (one anchor per location), trained for 20 SGD steps
(momentum 0.9) in float64. Each step's global batch of 6 images is split
2 + 4 between the ranks. One step's batch holds no object at all, and in
every step some image holds none.

Every rank, every step (docs/distributed.md, the averaged-gradients
convention):
  1. counts its shard with focal_counts_dense_f64,
  2. sums the counts over the ranks (dist.all_reduce),
  3. sets the divisor max(1, P) / world_size (DDP averages the gradients),
  4. computes its shard's loss with FOCAL_REDUCTION_DIVISOR through the
     autograd Function below, and steps.

The parameters of both ranks after 20 steps must equal, to 1e-10 relative
(float64), those of
  - one process training on the whole batch with libfocal's ordinary
    SUM_OVER_POSITIVES reduction (the stated property), and
  - one process training on the whole batch with the focal loss written in
    PyTorch operations and differentiated by autograd (a path that does not
    go through libfocal at all);
and the per-step global loss (the mean of the ranks' losses) must equal
theirs to the same tolerance. As a check that the comparison can fail, the
same DDP training with each rank dividing by its own positives (what
SUM_OVER_POSITIVES on a shard does) must end at least 1e-6 away.

libfocal is called through ctypes here, so that the test stands alone,
without the Python package (bindings/python, whose libfocal.nn.focal_loss
takes a divisor and whose Loss.counts gives the shard's counts).
Exit status: 0 when every check holds, 1 when one does not, 77 (skipped)
when torch, torch.distributed or its gloo backend is missing.
"""

import ctypes
import os
import sys
import tempfile
import time

SKIPPED = 77


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(SKIPPED)


try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch.nn.parallel import DistributedDataParallel
except ImportError as e:
    skip("PyTorch is not importable by %s (%s); Debian: apt-get install python3-torch" % (sys.executable, e))
if not dist.is_available() or not dist.is_gloo_available():
    skip("this PyTorch has no torch.distributed with the gloo backend")

WORLD = 2
STEPS = 20
BATCH = 6            # images per global batch
SHARDS = (2, 4)      # images per rank: uneven on purpose
EMPTY_STEP = 7       # this step's batch has no object at all
FEATURES, CLASSES, HEIGHT, WIDTH = 8, 3, 6, 6
GAMMA, ALPHA = 2.0, 0.25
LR, MOMENTUM = 0.05, 0.9
TOLERANCE = 1e-10
CONTROL_MIN = 1e-6

MODE_SIGMOID = 1
REDUCTION_SUM_OVER_POSITIVES = 4
REDUCTION_DIVISOR = 5

# ---------------------------------------------------------------------------
# libfocal through ctypes
# ---------------------------------------------------------------------------

_i64 = ctypes.c_int64
_ptr = ctypes.c_void_p


def load_library(path):
    lib = ctypes.CDLL(path)
    lib.focal_status_string.restype = ctypes.c_char_p
    lib.focal_status_string.argtypes = [ctypes.c_int]
    lib.focal_last_error.restype = ctypes.c_char_p
    lib.focal_last_error.argtypes = []
    lib.focal_loss_create.argtypes = [ctypes.POINTER(_ptr), ctypes.c_int]
    lib.focal_loss_destroy.restype = None
    lib.focal_loss_destroy.argtypes = [_ptr]
    for name in ("gamma", "alpha", "divisor"):
        getattr(lib, "focal_loss_set_" + name).argtypes = [_ptr, ctypes.c_double]
    lib.focal_loss_set_reduction.argtypes = [_ptr, ctypes.c_int]
    lib.focal_loss_set_threads.argtypes = [_ptr, ctypes.c_int]
    lib.focal_counts_dense_f64.argtypes = [_ptr, _i64, _i64, _i64, _ptr, _ptr, _ptr]
    lib.focal_forward_backward_dense_f64.argtypes = [_ptr, _i64, _i64, _i64, _ptr, _ptr, _ptr, _ptr, _ptr]
    return lib


class SigmoidFocal:
    """A libfocal context: sigmoid mode, gamma 2, alpha 0.25, one thread
    (the two processes share two cores)."""

    def __init__(self, lib):
        self.lib = lib
        self.handle = _ptr()
        self.check(lib.focal_loss_create(ctypes.byref(self.handle), MODE_SIGMOID), "focal_loss_create")
        self.check(lib.focal_loss_set_gamma(self.handle, GAMMA), "focal_loss_set_gamma")
        self.check(lib.focal_loss_set_alpha(self.handle, ALPHA), "focal_loss_set_alpha")
        self.check(lib.focal_loss_set_threads(self.handle, 1), "focal_loss_set_threads")

    def check(self, status, call):
        if status != 0:
            raise RuntimeError("%s: %s (%s)" % (call, self.lib.focal_status_string(status).decode(),
                                                self.lib.focal_last_error().decode()))

    def set_reduction(self, reduction):
        self.check(self.lib.focal_loss_set_reduction(self.handle, reduction), "focal_loss_set_reduction")

    def set_divisor(self, divisor):
        self.check(self.lib.focal_loss_set_divisor(self.handle, divisor), "focal_loss_set_divisor")

    def counts(self, targets, weight):
        """The shard's [count, sum(w alpha_t), positives], float64."""
        counts = torch.zeros(3, dtype=torch.float64)
        n, c, inner = shape_of(targets)
        self.check(self.lib.focal_counts_dense_f64(self.handle, n, c, inner, targets.data_ptr(), weight.data_ptr(),
                                                   counts.data_ptr()), "focal_counts_dense_f64")
        return counts

    def close(self):
        self.lib.focal_loss_destroy(self.handle)
        self.handle = _ptr()


def shape_of(t):
    """libfocal's (n, c, inner) of an (N, C, H, W) tensor."""
    return t.shape[0], t.shape[1], t[0, 0].numel()


class FocalFunction(torch.autograd.Function):
    """The reduced loss of `logits` under the context's current settings,
    differentiable with respect to the logits. forward computes the loss and
    the gradient in one call; backward scales the kept gradient."""

    @staticmethod
    def forward(ctx, logits, targets, weight, loss):
        x = logits.detach().contiguous()
        n, c, inner = shape_of(x)
        out = torch.zeros((), dtype=torch.float64)
        grad = torch.empty_like(x)
        loss.check(loss.lib.focal_forward_backward_dense_f64(loss.handle, n, c, inner, x.data_ptr(),
                                                             targets.data_ptr(), weight.data_ptr(),
                                                             out.data_ptr(), grad.data_ptr()),
                   "focal_forward_backward_dense_f64")
        ctx.save_for_backward(grad)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None, None


# ---------------------------------------------------------------------------
# Data and model, the same in every process
# ---------------------------------------------------------------------------

def batch(step):
    """Step `step`'s global batch: features (N, 8, H, W); one-hot targets
    (N, 3, H, W), about one location in eight an object's, none in image 1
    (nor in any image of EMPTY_STEP); weights (N, H, W), 0 for about one
    location in ten (the band between foreground and background that
    detectors ignore), 1 elsewhere."""
    g = torch.Generator().manual_seed(1000 + step)
    features = torch.randn(BATCH, FEATURES, HEIGHT, WIDTH, generator=g, dtype=torch.float64)
    objects = torch.rand(BATCH, HEIGHT, WIDTH, generator=g, dtype=torch.float64) < 0.125
    objects[1] = False
    if step == EMPTY_STEP:
        objects[:] = False
    classes = torch.randint(0, CLASSES, (BATCH, HEIGHT, WIDTH), generator=g)
    targets = torch.zeros(BATCH, CLASSES, HEIGHT, WIDTH, dtype=torch.float64)
    targets.scatter_(1, classes.unsqueeze(1), objects.unsqueeze(1).to(torch.float64))
    weight = (torch.rand(BATCH, HEIGHT, WIDTH, generator=g, dtype=torch.float64) >= 0.1).to(torch.float64)
    return features, targets, weight


def shard(tensors, rank):
    first = sum(SHARDS[:rank])
    return [t[first:first + SHARDS[rank]].contiguous() for t in tensors]


def make_head():
    torch.manual_seed(0)
    head = torch.nn.Conv2d(FEATURES, CLASSES, 3, padding=1).to(torch.float64)
    with torch.no_grad():   # RetinaNet's prior: every anchor starts at p = 0.01
        head.bias.fill_(-torch.log(torch.tensor((1 - 0.01) / 0.01, dtype=torch.float64)).item())
    return head


def optimizer(head):
    return torch.optim.SGD(head.parameters(), lr=LR, momentum=MOMENTUM)


def parameters(module):
    return [p.detach().clone() for p in module.parameters()]


# ---------------------------------------------------------------------------
# The distributed run
# ---------------------------------------------------------------------------

def train_ddp(lib, rank, normaliser):
    """20 steps of DDP training; `normaliser` "global" (the recipe) or
    "local" (each rank divides by its own positives: the control). Returns
    the parameters and the per-step global losses."""
    head = DistributedDataParallel(make_head())
    opt = optimizer(head)
    loss = SigmoidFocal(lib)
    losses = []
    for step in range(STEPS):
        features, targets, weight = shard(batch(step), rank)
        loss.set_reduction(REDUCTION_SUM_OVER_POSITIVES)     # the reduction to count for
        counts = loss.counts(targets, weight)
        if normaliser == "global":
            dist.all_reduce(counts)                          # sum over the ranks
            loss.set_divisor(max(1.0, counts[2].item()) / WORLD)
        else:
            loss.set_divisor(max(1.0, counts[2].item()))
        loss.set_reduction(REDUCTION_DIVISOR)
        value = FocalFunction.apply(head(features), targets, weight, loss)
        opt.zero_grad()
        value.backward()                                     # DDP averages the gradients
        opt.step()
        logged = value.detach().clone()
        dist.all_reduce(logged)
        losses.append(logged.item() / WORLD)
    loss.close()
    return parameters(head.module), losses


def worker(rank, library, init_file, out_dir):
    import datetime
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=60))
    lib = load_library(library)
    result = {}
    for normaliser in ("global", "local"):
        result[normaliser] = train_ddp(lib, rank, normaliser)
    torch.save(result, os.path.join(out_dir, "rank%d.pt" % rank))
    dist.barrier()
    dist.destroy_process_group()


# ---------------------------------------------------------------------------
# The single-process references
# ---------------------------------------------------------------------------

def torch_focal(logits, targets, weight):
    """torchvision's sigmoid focal loss in PyTorch operations, weighted per
    location, summed and divided by max(1, positives)."""
    p = torch.sigmoid(logits)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = ALPHA * targets + (1 - ALPHA) * (1 - targets)
    per_element = alpha_t * ce * (1 - p_t) ** GAMMA
    positives = targets.sum()
    return (per_element * weight.unsqueeze(1)).sum() / torch.clamp(positives, min=1)


def train_single(lib, path):
    head = make_head()
    opt = optimizer(head)
    loss = SigmoidFocal(lib) if path == "libfocal" else None
    if loss is not None:
        loss.set_reduction(REDUCTION_SUM_OVER_POSITIVES)
    losses = []
    for step in range(STEPS):
        features, targets, weight = batch(step)
        logits = head(features)
        if loss is not None:
            value = FocalFunction.apply(logits, targets, weight, loss)
        else:
            value = torch_focal(logits, targets, weight)
        opt.zero_grad()
        value.backward()
        opt.step()
        losses.append(value.item())
    if loss is not None:
        loss.close()
    return parameters(head), losses


# ---------------------------------------------------------------------------

def relative_difference(got, want):
    """max |got - want| over the max |want| (parameter lists or loss lists)."""
    got = torch.cat([torch.as_tensor(g, dtype=torch.float64).reshape(-1) for g in got])
    want = torch.cat([torch.as_tensor(w, dtype=torch.float64).reshape(-1) for w in want])
    return ((got - want).abs().max() / want.abs().max()).item()


def main():
    if len(sys.argv) != 2:
        print("usage: ddp_detection.py LIBFOCAL_SO", file=sys.stderr)
        return 2
    library = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    # Gloo finds its peers through the host name unless told an interface:
    # one host, the loopback interface.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="focal-ddp-") as tmp:
        mp.spawn(worker, args=(library, os.path.join(tmp, "init"), tmp), nprocs=WORLD, join=True)
        ranks = [torch.load(os.path.join(tmp, "rank%d.pt" % r)) for r in range(WORLD)]
    lib = load_library(library)
    references = {"libfocal": train_single(lib, "libfocal"), "torch": train_single(lib, "torch")}
    print("DDP gloo, %d processes (%s images per step), %d steps, float64, libfocal %s; %.1f s"
          % (WORLD, "+".join(map(str, SHARDS)), STEPS, library, time.monotonic() - start))
    first, last = references["torch"][1][0], references["torch"][1][-1]
    print("single-process loss (PyTorch formula): step 1 %.6f, step %d %.6f" % (first, STEPS, last))

    failures = 0

    def report(what, diff, ok):
        nonlocal failures
        failures += not ok
        print("%-80s %.1e  %s" % (what, diff, "ok" if ok else "FAILED"))

    for r, result in enumerate(ranks):
        params, losses = result["global"]
        for name, (ref_params, ref_losses) in references.items():
            where = "single process, %s" % ("libfocal SUM_OVER_POSITIVES" if name == "libfocal"
                                            else "PyTorch formula")
            d = relative_difference(params, ref_params)
            report("rank %d parameters vs %s" % (r, where), d, d <= TOLERANCE)
            d = relative_difference(losses, ref_losses)
            report("rank %d per-step global losses vs %s" % (r, where), d, d <= TOLERANCE)
        d = relative_difference(result["local"][0], references["libfocal"][0])
        report("rank %d control, each rank dividing by its own positives: must differ" % r, d, d >= CONTROL_MIN)
    print("ddp_detection: %s" % ("all checks hold" if failures == 0 else "%d checks FAILED" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
