#!/usr/bin/env python3
"""The workloads of focal_bench, run with PyTorch: what a user would write
without libfocal.

  peers.py [--quick] [--workload NAME[,NAME...]] [--threads LIST] [--no-f64] [--json FILE]

Implementations, each timed forward alone and forward+backward (autograd):
  composed        the focal loss composed from PyTorch ops (softmax workloads):
                  lp = log_softmax(x, 1); lpt = lp.gather(1, t); pt = lpt.exp();
                  loss = (-(1 - pt) ** gamma * lpt).mean()
  cross_entropy   F.cross_entropy(x, t): the gamma = 0 floor (softmax workloads)
  torchvision     torchvision.ops.sigmoid_focal_loss(x, y, 0.25, 2, 'sum')
                  / max(1, positives) (det)
  bce_with_logits F.binary_cross_entropy_with_logits(x, y, reduction='sum')
                  / max(1, positives): the gamma = 0 floor (det)
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

try:
    import torchvision
    from torchvision.ops import sigmoid_focal_loss
except ImportError:  # the det comparison is then skipped
    torchvision = None
    sigmoid_focal_loss = None

GAMMA = 2.0
ALPHA_DET = 0.25

WORKLOADS = {
    "cls": {"mode": "softmax", "shape": (16384, 1000), "per_call": False},
    "seg": {"mode": "softmax", "shape": (4, 19, 512, 512), "per_call": False},
    "det": {"mode": "sigmoid", "shape": (200000, 80), "per_call": False, "positive_rate": 0.01},
    "small": {"mode": "softmax", "shape": (64, 10), "per_call": True},
}


def composed_focal(x, t):
    lp = F.log_softmax(x, 1)
    lpt = lp.gather(1, t.unsqueeze(1))
    pt = lpt.exp()
    return (-(1 - pt) ** GAMMA * lpt).mean()


def cross_entropy(x, t):
    return F.cross_entropy(x, t)


def torchvision_focal(x, y):
    return sigmoid_focal_loss(x, y, alpha=ALPHA_DET, gamma=GAMMA, reduction="sum") / y.sum().clamp(min=1)


def bce_with_logits(x, y):
    return F.binary_cross_entropy_with_logits(x, y, reduction="sum") / y.sum().clamp(min=1)


class Policy:
    def __init__(self, quick):
        self.warmup = 1
        self.min_runs, self.max_runs, self.budget_s = (2, 3, 0.3) if quick else (5, 7, 2.0)
        self.slow_min_runs, self.slow_s = (1, 0.5) if quick else (3, 0.5)
        self.batches, self.batch_s = (5, 0.002) if quick else (21, 0.01)


def measure(policy, fn, per_call):
    """Median seconds per call of fn(), and the number of runs."""
    if per_call:
        for _ in range(100):
            fn()
        t0 = time.perf_counter()
        for _ in range(100):
            fn()
        one = max((time.perf_counter() - t0) / 100, 1e-7)
        calls = max(1, int(policy.batch_s / one))
        samples = []
        for _ in range(policy.batches):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            samples.append((time.perf_counter() - t0) / calls)
        return statistics.median(samples), min(samples), len(samples), calls
    warm = 0.0
    for _ in range(policy.warmup):
        t0 = time.perf_counter()
        fn()
        warm = time.perf_counter() - t0
    min_runs = policy.slow_min_runs if warm > policy.slow_s else policy.min_runs
    samples = []
    spent = 0.0
    while len(samples) < policy.max_runs and not (len(samples) >= min_runs and spent >= policy.budget_s):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        spent += samples[-1]
    return statistics.median(samples), min(samples), len(samples), 1


def make_inputs(name, dtype):
    w = WORKLOADS[name]
    gen = torch.Generator().manual_seed(1234 + list(WORKLOADS).index(name))
    x = (torch.randn(w["shape"], generator=gen, dtype=torch.float64) * 2.0).to(dtype)
    if w["mode"] == "softmax":
        c = w["shape"][1]
        tshape = (w["shape"][0],) + tuple(w["shape"][2:])
        t = torch.randint(0, c, tshape, generator=gen, dtype=torch.int64)
    else:
        t = (torch.rand(w["shape"], generator=gen, dtype=torch.float64) < w["positive_rate"]).to(dtype)
    return x.requires_grad_(True), t


def implementations(name):
    if WORKLOADS[name]["mode"] == "softmax":
        return [("composed", composed_focal), ("cross_entropy", cross_entropy)]
    impls = []
    if sigmoid_focal_loss is not None:
        impls.append(("torchvision", torchvision_focal))
    impls.append(("bce_with_logits", bce_with_logits))
    return impls


def run(args):
    policy = Policy(args.quick)
    threads = [int(v) for v in args.threads.split(",")]
    names = list(WORKLOADS) if args.workload is None else args.workload.split(",")
    torch.set_num_interop_threads(1)
    results = []
    for name in names:
        w = WORKLOADS[name]
        elements = 1
        for d in w["shape"]:
            elements *= d
        dtypes = [("f32", torch.float32)]
        if name == "cls" and not args.no_f64:
            dtypes.append(("f64", torch.float64))
        for dname, dtype in dtypes:
            x, t = make_inputs(name, dtype)
            for impl, loss_fn in implementations(name):
                for nt in threads:
                    torch.set_num_threads(nt)

                    def forward():
                        return loss_fn(x, t)

                    def fwd_bwd():
                        x.grad = None
                        loss_fn(x, t).backward()

                    for op, fn in (("forward", forward), ("fwd_bwd", fwd_bwd)):
                        print(f"  {name} {dname} {impl} {op}, {nt} thread{'s' if nt > 1 else ''}...",
                              file=sys.stderr, flush=True)
                        med, best, runs, calls = measure(policy, fn, w["per_call"])
                        results.append({
                            "workload": name, "impl": impl, "op": op, "dtype": dname, "threads": nt,
                            "runs": runs, "calls_per_run": calls,
                            "median_ms": med * 1e3, "min_ms": best * 1e3, "ns_per_call": med * 1e9,
                            "melem_per_s": elements / med * 1e-6,
                        })
            del x, t
    return results, threads, names


def print_table(results):
    print(f"{'workload':8} {'dtype':5} {'impl':16} {'op':8} {'threads':>7} {'ms':>11} {'ns/call':>11} {'Melem/s':>9}")
    for r in results:
        print(f"{r['workload']:8} {r['dtype']:5} {r['impl']:16} {r['op']:8} {r['threads']:7d} "
              f"{r['median_ms']:11.3f} {r['ns_per_call']:11.0f} {r['melem_per_s']:9.1f}")


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke test")
    ap.add_argument("--workload", help="only these workloads (cls, seg, det, small), comma-separated")
    ap.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    ap.add_argument("--no-f64", action="store_true", help="skip the float64 cls measurement")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    for n in [] if args.workload is None else args.workload.split(","):
        if n not in WORKLOADS:
            sys.exit(f"peers.py: unknown workload '{n}' (cls, seg, det, small)")
    try:
        if not all(int(v) >= 1 for v in args.threads.split(",")):
            raise ValueError
    except ValueError:
        sys.exit(f"peers.py: bad thread list '{args.threads}'")

    load_start = loadavg()
    print(f"PyTorch {torch.__version__}, torchvision {torchvision.__version__ if torchvision else 'missing'}, "
          f"Python {platform.python_version()}", flush=True)
    results, threads, names = run(args)
    print_table(results)
    if args.json:
        doc = {
            "tool": "peers.py",
            "schema": 1,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "quick": args.quick,
            "threads": threads,
            "workloads": names,
            "machine": {
                "python": platform.python_version(),
                "python_executable": sys.executable,
                "torch": torch.__version__,
                "torchvision": torchvision.__version__ if torchvision else None,
                "torch_parallel_info": torch.__config__.parallel_info(),
                "loadavg_start": load_start,
                "loadavg_end": loadavg(),
            },
            "timings": results,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
