#!/usr/bin/env python3
"""Draws the focal loss against the probability of the true class, p_t, for
gamma in {0, 0.5, 1, 2, 5} (Figure 1 of Lin et al., "Focal Loss for Dense
Object Detection", ICCV 2017), and next to it the magnitude of the gradient
with respect to the logit. Every value plotted is computed by libfocal itself
(sigmoid mode, target 1, one element per p_t, reduction NONE) through the
Python binding in bindings/python; the script checks each value against the
closed form -(1 - p)^gamma log p before drawing it.

usage: focal_curves.py [OUT.svg]      (default: docs/figures/focal-loss.svg)
Needs numpy and matplotlib (Debian: python3-numpy, python3-matplotlib) and an
installed or built libfocal (FOCAL_LIBRARY names the .so to load).
"""
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

import numpy as np  # noqa: E402

import libfocal  # noqa: E402

GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)


def curves(p):
    """{gamma: (loss, |d loss / d logit|)} from libfocal, in float64."""
    logits = np.log(p) - np.log1p(-p)
    x = logits.reshape(1, 1, -1)          # (N, C, inner) = (1, 1, points)
    target = np.ones_like(x)              # the true class: p_t = p
    out = {}
    for gamma in GAMMAS:
        with libfocal.Loss("sigmoid", gamma=gamma, reduction="none") as loss:
            value, grad = loss.forward_backward(x, target)
        value = value.reshape(-1)
        grad = grad.reshape(-1)
        # The closed forms, as an independent check of what is drawn.
        want = -((1 - p) ** gamma) * np.log(p)
        want_grad = -((1 - p) ** gamma) * (1 - p) + gamma * p * (1 - p) ** gamma * np.log(p) \
            if gamma > 0 else -(1 - p)
        if not np.allclose(value, want, rtol=1e-12, atol=1e-300):
            sys.exit(f"libfocal's loss differs from the closed form at gamma {gamma}")
        if not np.allclose(grad, want_grad, rtol=1e-10, atol=1e-300):
            sys.exit(f"libfocal's gradient differs from the closed form at gamma {gamma}")
        out[gamma] = (value, np.abs(grad))
    return out


def main(path):
    import matplotlib
    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "libfocal"   # stable ids: reproducible files
    p = np.linspace(0.005, 0.995, 199)
    data = curves(p)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for gamma in GAMMAS:
        label = f"γ = {gamma:g}" + (" (cross-entropy)" if gamma == 0 else "")
        left.plot(p, data[gamma][0], label=label, linewidth=1.8)
        right.plot(p, data[gamma][1], label=label, linewidth=1.8)
    left.set_xlabel("probability of the ground-truth class, $p_t$")
    left.set_ylabel("loss  $-(1-p_t)^\\gamma \\log p_t$")
    left.set_ylim(0, 5)
    left.axvspan(0.6, 1.0, color="0.92")
    left.text(0.8, 2.2, "well-classified\nexamples", ha="center", fontsize=9)
    right.set_xlabel("probability of the ground-truth class, $p_t$")
    right.set_ylabel("gradient magnitude  $|\\partial\\,\\mathrm{loss} / \\partial x|$")
    right.set_ylim(0, 1.45)
    for ax in (left, right):
        ax.set_xlim(0, 1)
        ax.grid(True, color="0.85")
        ax.legend(frameon=False)
    fig.suptitle("Focal loss computed by libfocal " + libfocal.version())
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None, "Creator": "docs/figures/focal_curves.py"})
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    main(sys.argv[1] if len(sys.argv) == 2 else os.path.join(HERE, "focal-loss.svg"))
