"""Tests of the Python bindings (libfocal, libfocal.nn) against the installed libfocal.

Run from this directory, after sourcing <prefix>/env.sh of an installed
libfocal:

    /usr/bin/python3 -m unittest -v test_focal

References are independent of libfocal: the golden files (PyTorch float64),
torch float64 autograd on the composed formulas, torchvision's
sigmoid_focal_loss, and the seed classes transcribed below.
"""

import contextlib
import copy
import ctypes
import io
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings
from unittest import mock

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import libfocal as focal  # noqa: E402
from libfocal import _capi, Reduction  # noqa: E402

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.autograd import Variable
    import libfocal.nn as fnn
except ImportError:  # the numpy bindings do not need torch
    torch = None

try:
    import torchvision.ops
except ImportError:
    torchvision = None

needs_torch = unittest.skipIf(torch is None, "torch is not installed")
needs_torchvision = unittest.skipIf(torch is None or torchvision is None, "torchvision is not installed")

GOLDEN_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "golden"))

if torch is not None:
    torch.manual_seed(0)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def assert_close(testcase, got, want, rtol, what=""):
    """|got - want| <= atol + rtol |want| elementwise, with atol = 0.1 rtol
    max |want| (the golden README's rule); NaN matches NaN and an infinity
    the same infinity."""
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    want = np.asarray(want, dtype=np.float64).reshape(-1)
    testcase.assertEqual(got.size, want.size, what)
    finite = np.isfinite(want)
    scale = np.max(np.abs(want[finite])) if finite.any() else 0.0
    atol = rtol * max(scale, 1e-300) * 0.1
    ok = np.where(np.isnan(want), np.isnan(got),
                  np.where(np.isinf(want), got == want,
                           np.isfinite(got) & (np.abs(got - want) <= atol + rtol * np.abs(want))))
    if not ok.all():
        i = int(np.argmin(ok))
        testcase.fail("%s: %d of %d values differ; first at [%d]: got %.17g, want %.17g (rtol %g)"
                      % (what, int((~ok).sum()), ok.size, i, got[i], want[i], rtol))


def read_golden(path):
    """The cases of a .golden file (format in tests/golden/README.md)."""
    tokens = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                tokens.extend(line.split())
    it = iter(tokens)
    cases, case = [], None
    for tok in it:
        if tok == "case":
            case = {"name": next(it), "tol": (1e-12, 2e-6), "divisor": None, "soft_form": None,
                    "pos_weight": None, "gamma_negative": None, "clip": None, "poly_epsilon": None,
                    "counts": None, "tgrad": None, "half": None}
        elif tok == "end":
            cases.append(case)
            case = None
        elif tok in ("mode", "targets", "input", "reduction", "variant", "soft_form", "half"):
            case[tok] = next(it)
        elif tok in ("gamma", "smoothing", "epsilon", "beta", "divisor", "gamma_negative", "clip",
                     "poly_epsilon"):
            case[tok] = float(next(it))
        elif tok == "alpha":
            kind = next(it)
            if kind == "none":
                case["alpha"] = None
            elif kind == "scalar":
                case["alpha"] = float(next(it))
            else:
                case["alpha"] = [float(next(it)) for _ in range(int(next(it)))]
        elif tok == "ignore_index":
            value = next(it)
            case["ignore_index"] = None if value == "none" else int(value)
        elif tok == "tol":
            case["tol"] = (float(next(it)), float(next(it)))
        elif tok == "shape":
            case["shape"] = tuple(int(next(it)) for _ in range(3))
        elif tok == "pos_weight":
            case[tok] = [float(next(it)) for _ in range(int(next(it)))]
        elif tok in ("x", "t", "w", "g", "out", "grad", "fgrad", "counts", "tgrad", "hout", "hgrad",
                     "hfgrad"):
            count = next(it)
            case[tok] = None if count == "none" else [next(it) for _ in range(int(count))]
        else:
            raise ValueError("%s: unknown keyword %r in case %s" % (path, tok, case and case["name"]))
    return cases


def golden_loss(case):
    return focal.Loss(case["mode"], gamma=case["gamma"], alpha=case["alpha"],
                      reduction=case["reduction"], ignore_index=case["ignore_index"],
                      input=case["input"], epsilon=case["epsilon"],
                      label_smoothing=case["smoothing"], variant=case["variant"], beta=case["beta"],
                      divisor=case["divisor"], soft_form=case["soft_form"], pos_weight=case["pos_weight"],
                      gamma_negative=case["gamma_negative"], clip=case["clip"],
                      poly_epsilon=case["poly_epsilon"])


def run_golden_file(testcase, name):
    path = os.path.join(GOLDEN_DIR, name)
    if not os.path.exists(path):
        testcase.skipTest("%s does not exist yet" % path)
    cases = read_golden(path)
    testcase.assertGreater(len(cases), 0)
    for case in cases:
        n, c, inner = case["shape"]
        dense = case["targets"] == "dense"
        x = np.array(case["x"], dtype=np.float64).reshape(n, c, inner)
        t = (np.array(case["t"], dtype=np.float64).reshape(n, c, inner) if dense
             else np.array([int(v) for v in case["t"]], dtype=np.int64).reshape(n, inner))
        w = None if case["w"] is None else np.array(case["w"], dtype=np.float64).reshape(n, inner)
        g = np.array(case["g"], dtype=np.float64)
        for dtype, rtol in ((np.float64, case["tol"][0]), (np.float32, case["tol"][1])):
            with testcase.subTest(case=case["name"], dtype=np.dtype(dtype).name), golden_loss(case) as loss:
                xd = x.astype(dtype)
                td = t.astype(dtype) if dense else t
                wd = None if w is None else w.astype(dtype)
                gd = g.astype(dtype)
                gd = gd.reshape(()) if loss.reduction != Reduction.NONE else gd
                out = loss.forward(xd, td, wd)
                if loss.reduction != Reduction.NONE:
                    testcase.assertIsInstance(out, float)
                else:
                    testcase.assertEqual(out.dtype, np.dtype(dtype))
                assert_close(testcase, out, case["out"], rtol, "forward")
                grad = loss.backward(xd, td, gd.reshape(np.shape(out)), wd)
                testcase.assertEqual(grad.dtype, np.dtype(dtype))
                assert_close(testcase, grad, case["grad"], rtol, "backward")
                out2, fgrad = loss.forward_backward(xd, td, wd)
                assert_close(testcase, out2, case["out"], rtol, "forward_backward out")
                assert_close(testcase, fgrad, case["fgrad"], rtol, "forward_backward grad")
                none, fgrad = loss.forward_backward(xd, td, wd, want_loss=False)
                testcase.assertIsNone(none)
                assert_close(testcase, fgrad, case["fgrad"], rtol, "forward_backward(want_loss=False)")
                out3, none = loss.forward_backward(xd, td, wd, want_grad=False)
                testcase.assertIsNone(none)
                assert_close(testcase, out3, case["out"], rtol, "forward_backward(want_grad=False)")
                if case["counts"] is not None:
                    assert_close(testcase, np.array(loss.counts(xd, td, wd)), case["counts"], rtol, "counts")
                if case["tgrad"] is not None:
                    tgrad = loss.backward_target(xd, td, gd.reshape(np.shape(out)), wd)
                    testcase.assertEqual(tgrad.dtype, np.dtype(dtype))
                    assert_close(testcase, tgrad, case["tgrad"], rtol, "backward_target")
        if case["half"] == "f16":
            # numpy's float16 computed natively: within one float16 unit of
            # torch's rounding, and bitwise the float32 result rounded once.
            with testcase.subTest(case=case["name"], dtype="float16"), golden_loss(case) as loss:
                xh = x.astype(np.float16)
                th = t.astype(np.float16) if dense else t
                wh = None if w is None else w.astype(np.float16)
                out, grad = loss.forward_backward(xh, th, wh)
                out32, grad32 = loss.forward_backward(xh.astype(np.float32),
                                                      th.astype(np.float32) if dense else th,
                                                      None if wh is None else wh.astype(np.float32))
                testcase.assertEqual(grad.dtype, np.float16)
                np.testing.assert_array_equal(np.asarray(out, dtype=np.float16), np.float16(out32))
                np.testing.assert_array_equal(grad, grad32.astype(np.float16))
                assert_close(testcase, np.asarray(out, dtype=np.float64), case["hout"], 2.0 ** -10, "float16 out")
                assert_close(testcase, grad.astype(np.float64), case["hfgrad"], 2.0 ** -10, "float16 grad")
    return cases


def installed_header():
    prefix = os.environ.get("FOCAL_PREFIX")
    if prefix:
        path = os.path.join(prefix, "include", "focal", "focal.h")
        if os.path.exists(path):
            return path
    res = subprocess.run(["pkg-config", "--variable=includedir", "focal"], capture_output=True, text=True)
    path = os.path.join(res.stdout.strip(), "focal", "focal.h")
    return path if res.returncode == 0 and os.path.exists(path) else None


def header_prototypes(path):
    """{name: (return type, [parameter types])} of every FOCAL_API function."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    protos = {}
    for ret, name, params in re.findall(r"FOCAL_API\s+([^;(]*?)\s*\b(focal_\w+)\s*\(([^)]*)\)\s*;", text):
        ptypes = []
        for p in params.split(","):
            p = " ".join(p.split())
            if p in ("void", ""):
                continue
            p = re.sub(r"\bconst\b", "", p)
            arrays = len(re.findall(r"\[\d*\]", p))   # "double counts[3]": a pointer
            p = re.sub(r"\[\d*\]", "", p)
            stars = p.count("*") + arrays
            words = re.findall(r"\w+", p)
            base = " ".join(words[:-1]) if len(words) > 1 else words[0]
            ptypes.append((base, stars))
        ret = re.sub(r"\bconst\b", "", ret)
        protos[name] = ((" ".join(re.findall(r"\w+", ret)), ret.count("*")), ptypes)
    return protos


_ENUMS = ("focal_status", "focal_mode", "focal_reduction", "focal_input", "focal_variant", "focal_soft_form")
_SCALARS = {"double": ctypes.c_double, "float": ctypes.c_float, "int64_t": ctypes.c_int64, "uint16_t": ctypes.c_uint16,
            "int": ctypes.c_int, "unsigned": ctypes.c_uint, "focal_loss": _capi.FocalLossStruct}


def ctype_of(base, stars, is_return=False):
    if base == "void" and stars == 0:
        return None
    if base == "char" and stars == 1:
        return ctypes.c_char_p
    t = ctypes.c_int if base in _ENUMS else _SCALARS[base]
    for _ in range(stars):
        t = ctypes.POINTER(t)
    return t


FAKE_LIBRARY_SOURCE = r"""
unsigned focal_version_number(void) { return 20100; }
const char *focal_version_string(void) { return "2.1.0"; }
"""


# ---------------------------------------------------------------------------
# Torch references (float64 autograd on the composed formulas)
# ---------------------------------------------------------------------------

def softmax_reference(x, target, *, gamma, alpha=None, reduction="mean", ignore_index=None,
                      weight=None, smoothing=0.0, probabilities=False, eps=1e-7):
    """The softmax focal loss of (N, C, d...) `x` by torch autograd.
    target: int64 (N, d...) indices, or float (N, C, d...) distributions."""
    C = x.shape[1]
    if probabilities:
        p = x.clamp(eps, 1 - eps)
        logp = p.log()
    else:
        logp = F.log_softmax(x, dim=1)
        p = logp.exp()
    shape_a = (1, C) + (1,) * (x.dim() - 2)
    if alpha is None:
        a = torch.ones(C, dtype=x.dtype)
    elif np.ndim(alpha) == 0:
        a = torch.full((C,), float(alpha), dtype=x.dtype)
    else:
        a = torch.tensor(alpha, dtype=x.dtype)
    dense = target.is_floating_point()
    if dense:
        keep = torch.ones(target.shape[:1] + target.shape[2:], dtype=torch.bool)
        y = target
        alpha_t = (y * a.view(shape_a)).sum(1)
    else:
        keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        safe = torch.where(keep, target, torch.zeros_like(target))
        alpha_t = a[safe]
    if not dense and smoothing == 0:
        logpt = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
        pt = logpt.exp()
        loss = -alpha_t * (1 - pt) ** gamma * logpt
    else:
        if not dense:
            y = F.one_hot(safe, C).movedim(-1, 1).to(x.dtype)
        y = y * (1 - smoothing) + smoothing / C
        loss = (y * a.view(shape_a) * (1 - p) ** gamma * -logp).sum(1)
    w = torch.ones_like(loss) if weight is None else weight
    loss = torch.where(keep, loss * w, torch.zeros_like(loss))
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if reduction == "mean":
        denominator = keep.sum().to(x.dtype)
    else:
        denominator = torch.where(keep, w * alpha_t, torch.zeros_like(loss)).sum()
    return total / denominator if denominator != 0 else total * 0


# ---------------------------------------------------------------------------
# The seed classes, transcribed as written (Python 3 fixes only)
# ---------------------------------------------------------------------------

if torch is not None:
    class Seed000(nn.Module):
        """clcarwin/focal_loss_pytorch focalloss.py (shared/seeds/000)."""

        def __init__(self, gamma=0, alpha=None, size_average=True):
            super(Seed000, self).__init__()
            self.gamma = gamma
            self.alpha = alpha
            if isinstance(alpha, (float, int)): self.alpha = torch.Tensor([alpha, 1 - alpha])
            if isinstance(alpha, list): self.alpha = torch.Tensor(alpha)
            self.size_average = size_average

        def forward(self, input, target):
            if input.dim() > 2:
                input = input.view(input.size(0), input.size(1), -1)  # N,C,H,W => N,C,H*W
                input = input.transpose(1, 2)  # N,C,H*W => N,H*W,C
                input = input.contiguous().view(-1, input.size(2))  # N,H*W,C => N*H*W,C
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

    class Seed000Attached(Seed000):
        """Seed 000 with p_t left in the graph: the gradient of its loss."""

        def forward(self, input, target):
            if input.dim() > 2:
                input = input.view(input.size(0), input.size(1), -1)
                input = input.transpose(1, 2)
                input = input.contiguous().view(-1, input.size(2))
            target = target.view(-1, 1)
            logpt = F.log_softmax(input, dim=1).gather(1, target).view(-1)
            pt = logpt.exp()
            if self.alpha is not None:
                if self.alpha.type() != input.data.type():
                    self.alpha = self.alpha.type_as(input.data)
                logpt = logpt * self.alpha.gather(0, target.data.view(-1))
            loss = -1 * (1 - pt)**self.gamma * logpt
            return loss.mean() if self.size_average else loss.sum()

    class Seed003(nn.Module):
        """FocalLoss(n_class, alpha, gamma, reduction) of shared/seeds/003."""

        def __init__(self, n_class, alpha=None, gamma=2, reduction='mean'):
            super(Seed003, self).__init__()
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


def value_and_grad(fn, x, grad_out=None):
    """fn(x) and d sum(grad_out * fn(x)) / dx, on a fresh leaf copy of x."""
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    if grad_out is None:
        grad_out = torch.ones_like(out)
    (out * grad_out).sum().backward()
    return out.detach(), x.grad


# ---------------------------------------------------------------------------
# The bindings themselves
# ---------------------------------------------------------------------------

class TestBindings(unittest.TestCase):
    def test_every_header_function_is_declared_with_its_types(self):
        header = installed_header()
        if header is None:
            self.skipTest("no installed focal.h (FOCAL_PREFIX / pkg-config)")
        protos = header_prototypes(header)
        self.assertGreaterEqual(len(protos), 40)
        declared = {name: (res, args) for name, res, args in _capi.DECLARATIONS}
        self.assertEqual(sorted(protos), sorted(declared))
        for name, (ret, params) in protos.items():
            with self.subTest(function=name):
                res, args = declared[name]
                self.assertIs(res, ctype_of(*ret))
                self.assertEqual(len(args), len(params))
                for want, got in zip(params, args):
                    self.assertIs(got, ctype_of(*want))
                fn = getattr(focal.lib, name)
                self.assertIs(fn.restype, res)
                self.assertEqual(list(fn.argtypes), list(args))

    def test_the_installed_library_is_loaded(self):
        prefix = os.environ.get("FOCAL_PREFIX")
        if not prefix:
            self.skipTest("FOCAL_PREFIX is not set (source <prefix>/env.sh)")
        self.assertTrue(os.path.realpath(focal.library_path).startswith(os.path.realpath(prefix) + os.sep),
                        focal.library_path)

    def test_find_library_falls_back_to_pkg_config(self):
        if not os.environ.get("PKG_CONFIG_PATH") or shutil.which("pkg-config") is None:
            self.skipTest("pkg-config or PKG_CONFIG_PATH missing")
        env = {k: v for k, v in os.environ.items() if k != "FOCAL_LIBRARY"}
        with mock.patch.dict(os.environ, env, clear=True):
            path = _capi.find_library()
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "focal"], capture_output=True,
                                text=True, check=True).stdout.strip()
        self.assertEqual(path, os.path.join(libdir, "libfocal.so.1"))
        self.assertEqual(os.path.realpath(path), os.path.realpath(focal.library_path))

    def test_version(self):
        number = focal.version_number()
        self.assertEqual(number // 10000, 1)
        self.assertEqual(focal.version(), "%d.%d.%d" % (number // 10000, number // 100 % 100, number % 100))
        header = installed_header()
        if header is not None:
            with open(header) as f:
                m = re.search(r'#define FOCAL_VERSION_STRING "([^"]+)"', f.read())
            self.assertEqual(focal.version(), m.group(1))

    def test_isa(self):
        self.assertIn(focal.isa(), ("avx512", "avx2", "scalar"))
        env = dict(os.environ, FOCAL_MAX_ISA="scalar", PYTHONDONTWRITEBYTECODE="1")
        res = subprocess.run([sys.executable, "-c", "import libfocal; print(libfocal.isa())"], cwd=HERE, env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual((res.returncode, res.stdout.strip()), (0, "scalar"), res.stderr)

    def test_prior_bias(self):
        self.assertAlmostEqual(focal.prior_bias(0.01), math.log(0.01 / 0.99), places=14)
        self.assertEqual(focal.prior_bias(0.5), 0.0)
        with self.assertRaises(focal.InvalidParameterError):
            focal.prior_bias(1.0)


class TestVersionCheck(unittest.TestCase):
    def test_check_version_accepts_major_1_only(self):
        for number in (10000, 10003, 10100, 19999):
            _capi.check_version(number, "lib")
        for number, text in ((20000, "2.0.0"), (20103, "2.1.3"), (0, "0.0.0"), (9900, "0.99.0")):
            with self.subTest(number=number):
                with self.assertRaisesRegex(ImportError, re.escape(text) + r".*need major version 1"):
                    _capi.check_version(number, "lib")

    def test_loading_a_library_reporting_major_2_fails(self):
        # The real library, with focal_version_number answering 2.0.3: the
        # loader must read the version through the library and refuse it.
        calls = []

        class Major2(ctypes.CDLL):
            def __getattr__(self, name):
                if name == "focal_version_number":
                    def number():
                        calls.append(name)
                        return 20003
                    fn = ctypes.CFUNCTYPE(ctypes.c_uint)(number)
                    setattr(self, name, fn)
                    return fn
                return super().__getattr__(name)

        with self.assertRaisesRegex(ImportError, r"version 2\.0\.3.*need major version 1"):
            _capi.load(focal.library_path, dll_type=Major2)
        self.assertEqual(calls, ["focal_version_number"])
        lib, _ = _capi.load(focal.library_path)
        self.assertEqual(lib.focal_version_number() // 10000, 1)

    def test_importing_against_a_major_2_library_fails(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            self.skipTest("no C compiler to build the fake library")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "fake.c")
            so = os.path.join(tmp, "libfocal.so.2")
            with open(src, "w") as f:
                f.write(FAKE_LIBRARY_SOURCE)
            subprocess.run([cc, "-shared", "-fPIC", "-o", so, src], check=True)
            env = dict(os.environ, FOCAL_LIBRARY=so, PYTHONDONTWRITEBYTECODE="1")
            res = subprocess.run([sys.executable, "-c", "import libfocal"], cwd=HERE, env=env,
                                 capture_output=True, text=True, timeout=60)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("ImportError: libfocal at %s has version 2.1.0" % so, res.stderr)
        self.assertIn("need major version 1", res.stderr)

    def test_missing_library_is_an_import_error(self):
        with self.assertRaisesRegex(ImportError, "cannot load libfocal"):
            _capi.load("/nonexistent/libfocal.so.1")


# ---------------------------------------------------------------------------
# The Loss object
# ---------------------------------------------------------------------------

class TestLoss(unittest.TestCase):
    def test_defaults(self):
        with focal.Loss() as loss:
            self.assertEqual(loss.mode, focal.Mode.SOFTMAX)
            self.assertEqual(loss.gamma, 2.0)
            self.assertIsNone(loss.alpha)
            self.assertEqual(loss.reduction, Reduction.MEAN)
            self.assertIsNone(loss.ignore_index)
            self.assertEqual(loss.input, focal.Input.LOGITS)
            self.assertEqual(loss.epsilon, 1e-7)
            self.assertEqual(loss.label_smoothing, 0.0)
            self.assertEqual(loss.variant, focal.Variant.FL)
            self.assertEqual(loss.beta, 0.0)
            self.assertEqual(loss.threads, 0)
        with focal.Loss("sigmoid") as loss:
            self.assertEqual(loss.mode, focal.Mode.SIGMOID)

    def test_setters_and_getters(self):
        with focal.Loss(focal.Mode.SIGMOID, gamma=1.5, alpha=0.25, reduction="sum_over_positives",
                        ignore_index=-100, input="probabilities", epsilon=1e-4, label_smoothing=0.1,
                        variant=focal.Variant.FL_STAR, beta=1.0, threads=3) as loss:
            self.assertEqual(loss.gamma, 1.5)
            self.assertEqual(loss.alpha, 0.25)
            self.assertEqual(loss.reduction, Reduction.SUM_OVER_POSITIVES)
            self.assertEqual(loss.ignore_index, -100)
            self.assertEqual(loss.input, focal.Input.PROBABILITIES)
            self.assertEqual(loss.epsilon, 1e-4)
            self.assertEqual(loss.label_smoothing, 0.1)
            self.assertEqual(loss.variant, focal.Variant.FL_STAR)
            self.assertEqual(loss.beta, 1.0)
            self.assertEqual(loss.threads, 3)
            loss.alpha = [0.1, 0.2, 0.7]
            np.testing.assert_array_equal(loss.alpha, [0.1, 0.2, 0.7])
            loss.alpha = np.float32(0.5)
            self.assertEqual(loss.alpha, 0.5)
            loss.alpha = None
            self.assertIsNone(loss.alpha)
            loss.ignore_index = None
            self.assertIsNone(loss.ignore_index)
            loss.reduction = Reduction.WEIGHTED_MEAN
            self.assertEqual(loss.reduction, Reduction.WEIGHTED_MEAN)
            loss.reduction = 0
            self.assertEqual(loss.reduction, Reduction.NONE)
            self.assertEqual(loss.settings()["reduction"], Reduction.NONE)

    def test_bad_values_raise_and_change_nothing(self):
        with focal.Loss(gamma=1.0) as loss:
            for name, value in (("gamma", -1.0), ("gamma", float("nan")), ("epsilon", 0.5),
                                ("epsilon", 0.0), ("label_smoothing", 1.0), ("threads", -1),
                                ("beta", float("inf")), ("alpha", float("inf")), ("reduction", 17),
                                ("input", 5), ("variant", -1)):
                with self.subTest(setting=name, value=value):
                    before = getattr(loss, name)
                    with self.assertRaises(focal.InvalidParameterError) as cm:
                        setattr(loss, name, value)
                    self.assertEqual(cm.exception.status, focal.Status.INVALID_PARAMETER)
                    self.assertNotEqual(cm.exception.message, "")
                    self.assertEqual(getattr(loss, name), before)
            with self.assertRaises(ValueError):
                loss.reduction = "average"
            with self.assertRaises(focal.InvalidShapeError):
                loss.alpha = []
        with self.assertRaises(focal.InvalidParameterError):
            focal.Loss(7)
        with self.assertRaises(focal.InvalidParameterError):
            focal.Loss(gamma=-2)

    def test_clone_is_independent(self):
        with focal.Loss(gamma=3.0, alpha=[1.0, 2.0], ignore_index=5) as loss:
            for other in (loss.clone(), copy.copy(loss), copy.deepcopy(loss),
                          pickle.loads(pickle.dumps(loss))):
                with other:
                    self.assertIsNot(other, loss)
                    self.assertEqual(repr(other), repr(loss))
                    other.gamma = 0.5
                    other.alpha = None
                    self.assertEqual(loss.gamma, 3.0)
                    np.testing.assert_array_equal(loss.alpha, [1.0, 2.0])
                    self.assertEqual(other.ignore_index, 5)

    def test_close_and_context_manager(self):
        with focal.Loss() as loss:
            self.assertFalse(loss.closed)
        self.assertTrue(loss.closed)
        loss.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            loss.gamma
        with self.assertRaisesRegex(ValueError, "closed"):
            loss.forward(np.zeros((2, 3)), np.zeros(2, dtype=np.int64))
        self.assertIn("closed", repr(loss))

    def test_garbage_collection_frees_contexts(self):
        import gc
        for _ in range(1000):
            focal.Loss(alpha=np.ones(1000))
        gc.collect()
        half_made = focal.Loss.__new__(focal.Loss)
        del half_made  # __del__ of an object whose __init__ never ran
        gc.collect()


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class TestErrors(unittest.TestCase):
    def setUp(self):
        self.x = np.zeros((2, 3))
        self.t = np.array([0, 2], dtype=np.int64)

    def check(self, cls, status, fn, pattern=None):
        with self.assertRaises(cls) as cm:
            fn()
        e = cm.exception
        self.assertIsInstance(e, focal.FocalError)
        self.assertEqual(e.status, status)
        self.assertEqual(e.message, focal.last_error())
        self.assertNotEqual(e.message, "")
        self.assertTrue(str(e).startswith(focal.status_string(status) + ": "), str(e))
        if pattern is not None:
            self.assertRegex(e.message, pattern)
        return e

    def test_null_pointer(self):
        self.check(focal.NullPointerError, focal.Status.NULL_POINTER,
                   lambda: focal.check(focal.lib.focal_loss_set_gamma(None, 1.0)))
        self.check(focal.NullPointerError, focal.Status.NULL_POINTER,
                   lambda: focal.check(focal.lib.focal_prior_bias(0.5, None)))

    def test_invalid_shape(self):
        with focal.Loss(alpha=[1.0, 2.0]) as loss:
            self.check(focal.InvalidShapeError, focal.Status.INVALID_SHAPE,
                       lambda: loss.forward(self.x, self.t), "alpha")
        with focal.Loss() as loss:
            # Since 1.1 an empty batch is a valid call, with a reduced loss of 0.
            self.assertEqual(float(loss.forward(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))), 0.0)

    def test_invalid_parameter(self):
        with focal.Loss() as loss:
            self.check(focal.InvalidParameterError, focal.Status.INVALID_PARAMETER,
                       lambda: setattr(loss, "epsilon", 0.7), "0.7|epsilon")

    def test_invalid_target(self):
        with focal.Loss() as loss:
            self.check(focal.InvalidTargetError, focal.Status.INVALID_TARGET,
                       lambda: loss.forward(self.x, np.array([0, 3])), "target")
            self.check(focal.InvalidTargetError, focal.Status.INVALID_TARGET,
                       lambda: loss.forward(self.x, np.full((2, 3), 1.5)))

    def test_invalid_weight(self):
        with focal.Loss() as loss:
            self.check(focal.InvalidWeightError, focal.Status.INVALID_WEIGHT,
                       lambda: loss.forward(self.x, self.t, np.array([1.0, -1.0])), "weight")

    def test_incompatible(self):
        with focal.Loss(reduction="sum_over_positives") as loss:
            self.check(focal.IncompatibleError, focal.Status.INCOMPATIBLE,
                       lambda: loss.forward(self.x, self.t), "sigmoid")
        with focal.Loss() as loss:
            self.check(focal.IncompatibleError, focal.Status.INCOMPATIBLE,
                       lambda: focal.check(focal.lib.focal_loss_get_alpha(loss._ptr(),
                                                                         ctypes.byref(ctypes.c_double()))))

    def test_every_status_has_its_class(self):
        expected = {1: focal.NullPointerError, 2: focal.InvalidShapeError, 3: focal.InvalidParameterError,
                    4: focal.InvalidTargetError, 5: focal.InvalidWeightError, 6: focal.IncompatibleError,
                    7: focal.FocalMemoryError, 99: focal.InternalError}
        for status, cls in expected.items():
            e = focal.error_for_status(status, "detail")
            self.assertIs(type(e), cls)
            self.assertEqual(e.status, focal.Status(status))
            self.assertEqual(str(e), focal.status_string(status) + ": detail")
        self.assertIsInstance(focal.error_for_status(7, ""), MemoryError)
        unknown = focal.error_for_status(12345, "x")
        self.assertIs(type(unknown), focal.FocalError)
        self.assertEqual(unknown.status, 12345)
        self.assertEqual(focal.status_string(12345), "unknown status")
        self.assertEqual(focal.status_string(focal.Status.INVALID_TARGET), "invalid target")
        focal.check(0)

    def test_argument_checks_before_the_call(self):
        with focal.Loss() as loss:
            with self.assertRaises(TypeError):
                loss.forward(np.zeros((2, 3), dtype=np.int32), self.t)
            with self.assertRaises(TypeError):
                loss.forward(self.x, self.t.astype(np.float64), dense=False)
            with self.assertRaises(ValueError):
                loss.forward(self.x, np.zeros(3, dtype=np.int64))
            with self.assertRaises(ValueError):
                loss.forward(self.x, self.t, np.ones(3))
            with self.assertRaises(ValueError):
                loss.forward(np.zeros(3), self.t)


# ---------------------------------------------------------------------------
# numpy: golden data and array handling
# ---------------------------------------------------------------------------

class TestGolden(unittest.TestCase):
    def test_softmax_golden(self):
        self.assertGreaterEqual(len(run_golden_file(self, "softmax.golden")), 100)

    def test_seeds_golden(self):
        self.assertGreaterEqual(len(run_golden_file(self, "seeds.golden")), 40)

    def test_sigmoid_golden(self):
        run_golden_file(self, "sigmoid.golden")

    def test_parallel_golden(self):
        """1.1: DIVISOR, counts, the split form, pos_weight, target gradients."""
        cases = run_golden_file(self, "parallel.golden")
        self.assertGreaterEqual(sum(c["counts"] is not None for c in cases), 20)
        self.assertGreaterEqual(sum(c["tgrad"] is not None for c in cases), 20)

    def test_family_golden(self):
        """1.1: QFL, VFL, ASL, Poly-1, DFL; float16 storage."""
        cases = run_golden_file(self, "family.golden")
        self.assertGreaterEqual(sum(c["half"] == "f16" for c in cases), 5)

    def test_1_1_settings(self):
        with focal.Loss("sigmoid") as loss:
            self.assertEqual((loss.divisor, loss.gamma_negative, loss.clip, loss.poly_epsilon), (1.0, 4.0, 0.05, 0.0))
            self.assertEqual(loss.soft_form, focal.SoftForm.TORCHVISION)
            self.assertIsNone(loss.pos_weight)
            loss.pos_weight = [2.0, 3.0]
            np.testing.assert_array_equal(loss.pos_weight, [2.0, 3.0])
            loss.variant = "asl"
            loss.soft_form = "split"
            # A combination that does not fit: INCOMPATIBLE at compute, with
            # the library's detail message; nothing written.
            x = np.zeros((1, 2), dtype=np.float64)
            with self.assertRaises(focal.IncompatibleError) as cm:
                loss.forward(x, np.zeros((1, 2)))
            self.assertIn("split", str(cm.exception).lower())
            with self.assertRaises(focal.InvalidParameterError):
                loss.clip = 1.0
            self.assertEqual(loss.clip, 0.05)
            clone = loss.clone()
            np.testing.assert_array_equal(clone.pos_weight, [2.0, 3.0])
            self.assertEqual(clone.variant, focal.Variant.ASL)
            clone.close()
            loss.pos_weight = None
            self.assertIsNone(loss.pos_weight)
        # An empty batch is valid: reduced values are 0.
        with focal.Loss("softmax") as loss:
            value, grad = loss.forward_backward(np.zeros((0, 3)), np.zeros((0,), dtype=np.int64))
            self.assertEqual(value, 0.0)
            self.assertEqual(grad.shape, (0, 3))


class TestArrays(unittest.TestCase):
    def setUp(self):
        rng = np.random.RandomState(1)
        self.x = rng.randn(2, 4, 3, 5)
        self.t = rng.randint(0, 4, size=(2, 3, 5))
        self.w = rng.uniform(0, 2, size=(2, 3, 5))

    def test_dims(self):
        self.assertEqual(focal.dims((6, 5)), (6, 5, 1, (6,)))
        self.assertEqual(focal.dims((2, 4, 3, 5)), (2, 4, 15, (2, 3, 5)))
        self.assertEqual(focal.dims((2, 3, 5, 4), channels_last=True), (30, 4, 1, (2, 3, 5)))
        with self.assertRaises(ValueError):
            focal.dims((5,))

    def test_channels_last_equals_channels_first(self):
        nhwc = np.ascontiguousarray(np.moveaxis(self.x, 1, -1))
        with focal.Loss(gamma=2.0, reduction="none") as loss:
            out = loss.forward(self.x, self.t, self.w)
            out_cl = loss.forward(nhwc, self.t, self.w, channels_last=True)
            self.assertEqual(out_cl.shape, (2, 3, 5))
            np.testing.assert_allclose(out_cl, out, rtol=1e-13)
            loss.reduction = "mean"
            v, g = loss.forward_backward(self.x, self.t, self.w)
            v_cl, g_cl = loss.forward_backward(nhwc, self.t, self.w, channels_last=True)
            self.assertAlmostEqual(v_cl, v, places=13)
            np.testing.assert_allclose(np.moveaxis(g_cl, -1, 1), g, rtol=1e-12, atol=1e-15)

    def test_layouts_and_dtypes(self):
        with focal.Loss(gamma=1.0, reduction="none") as loss:
            ref = loss.forward(self.x, self.t)
            # A non-contiguous view is copied to C order first.
            strided = np.moveaxis(np.moveaxis(self.x, 1, -1).copy(), -1, 1)
            self.assertFalse(strided.flags.c_contiguous)
            np.testing.assert_array_equal(loss.forward(strided, self.t), ref)
            out32 = loss.forward(self.x.astype(np.float32), self.t.astype(np.int32))
            self.assertEqual(out32.dtype, np.float32)
            np.testing.assert_allclose(out32, ref, rtol=1e-5)
            # float16 is computed natively: the float32 result of the widened
            # input, rounded once.
            x16 = self.x.astype(np.float16)
            out16 = loss.forward(x16, self.t)
            self.assertEqual(out16.dtype, np.float16)
            np.testing.assert_array_equal(out16, loss.forward(x16.astype(np.float32), self.t).astype(np.float16))
            self.assertEqual(loss.forward_backward(self.x, self.t)[1].shape, self.x.shape)
            with focal.Loss("sigmoid", reduction="none") as sig:
                self.assertEqual(sig.forward(self.x, self.t).shape, self.x.shape)

    def test_backward_broadcasts_grad_out(self):
        with focal.Loss(reduction="none") as loss:
            g1 = loss.backward(self.x, self.t, 1.0)
            _, g2 = loss.forward_backward(self.x, self.t)
            np.testing.assert_allclose(g1, g2, rtol=1e-14)

    def test_module_functions(self):
        with focal.Loss(reduction="sum") as loss:
            v = focal.forward(loss, self.x, self.t, self.w)
            g = focal.backward(loss, self.x, self.t, 2.0, self.w)
            v2, g2 = focal.forward_backward(loss, self.x, self.t, self.w)
            self.assertEqual(v, v2)
            np.testing.assert_allclose(g, 2 * g2, rtol=1e-14)

    def test_dense_targets_from_index_targets(self):
        onehot = np.moveaxis(np.eye(4)[self.t], -1, 1)
        with focal.Loss(gamma=2.0, alpha=[0.1, 0.2, 0.3, 0.4], reduction="weighted_mean") as loss:
            v, g = loss.forward_backward(self.x, self.t, self.w)
            vd, gd = loss.forward_backward(self.x, onehot, self.w)
            self.assertAlmostEqual(vd, v, places=13)
            np.testing.assert_allclose(gd, g, rtol=1e-11, atol=1e-15)


# ---------------------------------------------------------------------------
# torch: the autograd Function and the modules
# ---------------------------------------------------------------------------

SOFTMAX_SETTINGS = [
    dict(gamma=0.0, reduction="mean"),
    dict(gamma=2.0, reduction="mean"),
    dict(gamma=0.5, alpha=0.25, reduction="sum"),
    dict(gamma=2.0, alpha=[0.1, 0.4, 0.2, 0.3], reduction="weighted_mean", weights=True),
    dict(gamma=3.7, reduction="none", weights=True),
    dict(gamma=2.0, ignore_index=-100, reduction="mean"),
    dict(gamma=1.0, alpha=[0.1, 0.4, 0.2, 0.3], ignore_index=-100, reduction="weighted_mean", weights=True),
    dict(gamma=2.0, smoothing=0.1, reduction="mean"),
    dict(gamma=1.5, dense=True, alpha=[0.5, 1.0, 1.5, 2.0], reduction="weighted_mean"),
    dict(gamma=2.0, dense=True, reduction="none"),
    dict(gamma=2.0, probabilities=True, reduction="sum"),
    dict(gamma=0.5, probabilities=True, ignore_index=-100, reduction="none"),
]


@needs_torch
class TestTorchSoftmax(unittest.TestCase):
    shapes = ((6, 4), (2, 4, 3, 5), (2, 4, 2, 3, 2))

    def inputs(self, shape, setting, generator):
        x = torch.randn(shape, dtype=torch.float64, generator=generator) * 2
        positions = shape[:1] + shape[2:]
        if setting.get("probabilities"):
            x = torch.softmax(x, 1)
        if setting.get("dense"):
            t = torch.softmax(torch.randn(shape, dtype=torch.float64, generator=generator), 1)
        else:
            t = torch.randint(0, shape[1], positions, generator=generator)
            if "ignore_index" in setting:
                t[torch.rand(positions, generator=generator) < 0.3] = setting["ignore_index"]
        w = torch.rand(positions, dtype=torch.float64, generator=generator) * 2 if setting.get("weights") else None
        return x, t, w

    def loss_for(self, s):
        return focal.Loss("softmax", gamma=s["gamma"], alpha=s.get("alpha"), reduction=s["reduction"],
                          ignore_index=s.get("ignore_index"), label_smoothing=s.get("smoothing", 0.0),
                          input="probabilities" if s.get("probabilities") else "logits")

    def reference(self, s, t, w):
        return lambda x: softmax_reference(x, t, gamma=s["gamma"], alpha=s.get("alpha"),
                                           reduction=s["reduction"], ignore_index=s.get("ignore_index"),
                                           weight=w, smoothing=s.get("smoothing", 0.0),
                                           probabilities=s.get("probabilities", False))

    def test_values_and_gradients_against_composed_torch(self):
        gen = torch.Generator().manual_seed(2)
        for s in SOFTMAX_SETTINGS:
            for shape in self.shapes:
                with self.subTest(setting=s, shape=shape), self.loss_for(s) as loss:
                    x, t, w = self.inputs(shape, s, gen)
                    ref = self.reference(s, t, w)
                    g = torch.randn(ref(x).shape, dtype=torch.float64, generator=gen)
                    want, want_grad = value_and_grad(ref, x, g)
                    got, got_grad = value_and_grad(lambda v: fnn.focal_loss(v, t, loss, w), x, g)
                    self.assertEqual(got.shape, want.shape)
                    self.assertEqual(got.dtype, torch.float64)
                    assert_close(self, got, want, 1e-10, "value")
                    assert_close(self, got_grad, want_grad, 1e-9, "gradient")
                    got32, grad32 = value_and_grad(lambda v: fnn.focal_loss(v, t.float() if s.get("dense") else t,
                                                                            loss, None if w is None else w.float()),
                                                   x.float(), g.float())
                    self.assertEqual(got32.dtype, torch.float32)
                    assert_close(self, got32, want, 1e-4, "float32 value")
                    assert_close(self, grad32, want_grad, 1e-4, "float32 gradient")

    def test_channels_last(self):
        gen = torch.Generator().manual_seed(3)
        x = torch.randn(2, 3, 4, 6, dtype=torch.float64, generator=gen)
        t = torch.randint(0, 6, (2, 3, 4), generator=gen)
        module = fnn.FocalLoss(gamma=2.0, alpha=torch.tensor([0.5, 1, 1, 1, 1, 2.0]), channels_last=True)
        got, got_grad = value_and_grad(lambda v: module(v, t), x)
        ref = lambda v: softmax_reference(v.movedim(-1, 1), t, gamma=2.0, alpha=[0.5, 1, 1, 1, 1, 2.0])
        want, want_grad = value_and_grad(ref, x)
        assert_close(self, got, want, 1e-10, "value")
        assert_close(self, got_grad, want_grad, 1e-9, "gradient")

    def test_gamma_0_is_cross_entropy(self):
        gen = torch.Generator().manual_seed(4)
        x = torch.randn(5, 7, 3, dtype=torch.float64, generator=gen)
        t = torch.randint(0, 7, (5, 3), generator=gen)
        t[0, 0] = -100
        a = torch.rand(7, dtype=torch.float64, generator=gen) + 0.5
        for reduction, mine in (("mean", "weighted_mean"), ("sum", "sum"), ("none", "none")):
            with self.subTest(reduction=reduction):
                module = fnn.FocalLoss(gamma=0.0, alpha=a, reduction=mine, ignore_index=-100)
                g = torch.randn(5, 3, dtype=torch.float64, generator=gen) if reduction == "none" else None
                got, got_grad = value_and_grad(lambda v: module(v, t), x, g)
                want, want_grad = value_and_grad(
                    lambda v: F.cross_entropy(v, t, weight=a, reduction=reduction, ignore_index=-100), x, g)
                assert_close(self, got, want, 1e-12, "value")
                assert_close(self, got_grad, want_grad, 1e-12, "gradient")

    def test_gradcheck(self):
        gen = torch.Generator().manual_seed(5)
        for s in SOFTMAX_SETTINGS:
            for shape in ((3, 4), (2, 4, 3)):
                with self.subTest(setting=s, shape=shape), self.loss_for(s) as loss:
                    x, t, w = self.inputs(shape, s, gen)
                    if s.get("probabilities"):
                        x = x.clamp(0.05, 0.95)  # keep the finite differences off the clip bounds
                    x.requires_grad_(True)
                    self.assertTrue(torch.autograd.gradcheck(
                        lambda v: fnn.FocalFunction.apply(v, t, w, loss), (x,), eps=1e-6, atol=1e-7, rtol=1e-6))

    def test_backward_with_none_uses_settings_of_forward(self):
        x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
        t = torch.tensor([0, 1, 2, 1])
        with focal.Loss(gamma=2.0, reduction="none") as loss:
            out = fnn.focal_loss(x, t, loss)
            loss.gamma = 0.0
            out.sum().backward()
        want, want_grad = value_and_grad(lambda v: softmax_reference(v, t, gamma=2.0, reduction="none"), x)
        assert_close(self, x.grad, want_grad, 1e-10, "gradient")

    def test_no_grad_and_half_precision(self):
        x = torch.randn(4, 3, dtype=torch.float64)
        t = torch.tensor([0, 1, 2, 1])
        module = fnn.FocalLoss()
        with torch.no_grad():
            self.assertFalse(module(x, t).requires_grad)
        want = softmax_reference(x, t, gamma=2.0)
        for dtype in (torch.float16, torch.bfloat16):
            xh = x.to(dtype).requires_grad_(True)
            out = module(xh, t)
            self.assertEqual(out.dtype, dtype)
            out.backward()
            self.assertEqual(xh.grad.dtype, dtype)
            self.assertAlmostEqual(out.item(), want.item(), delta=0.02 * abs(want.item()) + 1e-3)


@needs_torch
class TestTorch11(unittest.TestCase):
    """1.1 in the torch wrapper: the target gradient, the divisor, and
    float16 / bfloat16 tensors computed natively."""

    @staticmethod
    def reference(x, y, gamma, alpha):
        # torchvision's sigmoid_focal_loss formula, written out in float64.
        p = torch.sigmoid(x)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce * (1 - p_t) ** gamma
        return (alpha * y + (1 - alpha) * (1 - y)) * loss

    def test_tensors_off_the_cpu_raise(self):
        # 'meta' tensors stand for CUDA ones: any device but the CPU is refused.
        x = torch.zeros(4, 3, device="meta")
        y = torch.zeros(4, 3, device="meta")
        t = torch.zeros(4, dtype=torch.int64, device="meta")
        calls = {
            "focal_loss": lambda: fnn.focal_loss(x, y, focal.Loss("sigmoid")),
            "sigmoid_focal_loss": lambda: fnn.sigmoid_focal_loss(x, y),
            "FocalLoss": lambda: fnn.FocalLoss()(x, t),
            "target on the CPU": lambda: fnn.FocalLoss()(x, torch.zeros(4, dtype=torch.int64)),
            "QualityFocalLoss": lambda: fnn.QualityFocalLoss()(x, y),
            "AsymmetricLoss": lambda: fnn.AsymmetricLoss()(x, y),
        }
        for name, call in calls.items():
            with self.subTest(name), self.assertRaises(RuntimeError) as e:
                call()
            self.assertIn("libfocal computes on the CPU", str(e.exception))
            self.assertIn("device meta", str(e.exception))

    def test_target_gradient(self):
        gen = torch.Generator().manual_seed(11)
        x = torch.randn(5, 4, dtype=torch.float64, generator=gen) * 2
        y = torch.rand(5, 4, dtype=torch.float64, generator=gen)
        for reduction in ("none", "sum", "mean"):
            with self.subTest(reduction=reduction), focal.Loss("sigmoid", gamma=2.0, alpha=0.25,
                                                             reduction=reduction) as loss:
                xa, ya = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
                out = fnn.focal_loss(xa, ya, loss)
                up = torch.rand(out.shape, dtype=torch.float64, generator=gen) if out.dim() else torch.tensor(1.7, dtype=torch.float64)
                (out * up).sum().backward()
                xr, yr = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
                ref = self.reference(xr, yr, 2.0, 0.25)
                ref = {"none": ref, "sum": ref.sum(), "mean": ref.mean()}[reduction]
                (ref * up).sum().backward()
                torch.testing.assert_close(out, ref.detach(), rtol=1e-12, atol=1e-14)
                torch.testing.assert_close(xa.grad, xr.grad, rtol=1e-11, atol=1e-13)
                torch.testing.assert_close(ya.grad, yr.grad, rtol=1e-11, atol=1e-13)

    def test_divisor(self):
        gen = torch.Generator().manual_seed(12)
        x = torch.randn(6, 3, dtype=torch.float64, generator=gen).requires_grad_(True)
        y = (torch.rand(6, 3, dtype=torch.float64, generator=gen) > 0.7).double()
        with focal.Loss("sigmoid", gamma=2.0, alpha=0.25, reduction="sum") as loss:
            out = fnn.focal_loss(x, y, loss, divisor=torch.tensor(4.0))
            out.backward()
            xr = x.detach().clone().requires_grad_(True)
            ref = self.reference(xr, y, 2.0, 0.25).sum() / 4.0
            ref.backward()
            torch.testing.assert_close(out, ref.detach(), rtol=1e-12, atol=0)
            torch.testing.assert_close(x.grad, xr.grad, rtol=1e-12, atol=1e-15)
            self.assertEqual(loss.reduction, Reduction.SUM)   # the caller's context is unchanged

    def test_half_tensors_native(self):
        gen = torch.Generator().manual_seed(13)
        x32 = torch.randn(4, 5, 3, generator=gen)
        t = torch.randint(0, 5, (4, 3), generator=gen)
        for dtype in (torch.float16, torch.bfloat16):
            for reduction in ("none", "mean"):
                with self.subTest(dtype=dtype, reduction=reduction), focal.Loss(gamma=2.0, reduction=reduction) as loss:
                    xh = x32.to(dtype).requires_grad_(True)
                    out = fnn.focal_loss(xh, t, loss)
                    self.assertEqual(out.dtype, dtype)
                    out.sum().backward()
                    self.assertEqual(xh.grad.dtype, dtype)
                    # The API's invariant: the float32 path on the widened
                    # input, each result rounded once to the half type.
                    xw = xh.detach().float().requires_grad_(True)
                    want = fnn.focal_loss(xw, t, loss)
                    want.sum().backward()
                    if reduction == "none":
                        self.assertTrue(torch.equal(out.detach(), want.detach().to(dtype)))
                    else:
                        self.assertEqual(out.item(), want.detach().to(dtype).item())
                    self.assertTrue(torch.equal(xh.grad, xw.grad.to(dtype)))


@needs_torch
class TestFamilyModules(unittest.TestCase):
    """The modules against the original projects' formulas, written here in
    torch float64 as mmdetection and timm write them (autograd for the
    gradients)."""

    @staticmethod
    def mmdet_reduce(loss, weight, reduction, avg_factor):
        # mmdetection's weight_reduce_loss.
        if weight is not None:
            loss = loss * weight
        if avg_factor is None:
            return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]
        if reduction == "mean":
            return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)
        return loss

    def check(self, module, ref_fn, pred, args, kwargs_list):
        for kw in kwargs_list:
            with self.subTest(module=type(module).__name__, **{k: str(v) for k, v in kw.items()}):
                p1 = pred.clone().requires_grad_(True)
                out = module(p1, *args, **kw)
                p2 = pred.clone().requires_grad_(True)
                ref = ref_fn(p2, **kw)
                torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-14)
                up = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).reshape(out.shape)
                (out * up).sum().backward()
                (ref * up).sum().backward()
                torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-10, atol=1e-13)

    def test_quality_focal_loss(self):
        gen = torch.Generator().manual_seed(21)
        pred = torch.randn(6, 4, dtype=torch.float64, generator=gen) * 2
        label = torch.tensor([0, 4, 2, 4, 3, 1])          # 4 = background
        score = torch.rand(6, dtype=torch.float64, generator=gen)
        weight = torch.rand(6, dtype=torch.float64, generator=gen)
        beta = 2.0

        def ref(p, weight=None, avg_factor=None, reduction_override=None):
            # mmdet quality_focal_loss
            s = p.sigmoid()
            loss = F.binary_cross_entropy_with_logits(p, torch.zeros_like(p), reduction="none") * s.pow(beta)
            pos = ((label >= 0) & (label < 4)).nonzero().squeeze(1)
            pos_label = label[pos].long()
            sf = score[pos] - s[pos, pos_label]
            loss = loss.clone()
            loss[pos, pos_label] = F.binary_cross_entropy_with_logits(
                p[pos, pos_label], score[pos], reduction="none") * sf.abs().pow(beta)
            loss = loss.sum(dim=1, keepdim=False)
            return self.mmdet_reduce(loss, weight, reduction_override or "mean", avg_factor)

        module = fnn.QualityFocalLoss(beta=beta)
        self.check(module, ref, pred, ((label, score),),
                   [{}, {"weight": weight}, {"avg_factor": 3.0}, {"reduction_override": "sum"},
                    {"reduction_override": "none", "weight": weight}])
        with self.assertRaises(NotImplementedError):
            fnn.QualityFocalLoss(activated=True)

    def test_varifocal_loss(self):
        gen = torch.Generator().manual_seed(22)
        pred = torch.randn(5, 3, dtype=torch.float64, generator=gen) * 2
        target = torch.rand(5, 3, dtype=torch.float64, generator=gen) * (torch.rand(5, 3, generator=gen) > 0.6)
        alpha, gamma = 0.75, 2.0

        def ref(p, weight=None, avg_factor=None, reduction_override=None):
            # mmdet varifocal_loss, iou_weighted
            s = p.sigmoid()
            focal_weight = target * (target > 0.0).double() + alpha * (s - target).abs().pow(gamma) * \
                (target <= 0.0).double()
            loss = F.binary_cross_entropy_with_logits(p, target, reduction="none") * focal_weight
            return self.mmdet_reduce(loss, weight, reduction_override or "mean", avg_factor)

        self.check(fnn.VarifocalLoss(alpha=alpha, gamma=gamma), ref, pred, (target,),
                   [{}, {"avg_factor": 2.5}, {"reduction_override": "sum"}, {"reduction_override": "none"}])
        with self.assertRaises(NotImplementedError):
            fnn.VarifocalLoss(iou_weighted=False)

    def test_distribution_focal_loss(self):
        gen = torch.Generator().manual_seed(23)
        pred = torch.randn(7, 8, dtype=torch.float64, generator=gen)
        label = torch.rand(7, dtype=torch.float64, generator=gen) * 6.98

        def ref(p, weight=None, avg_factor=None, reduction_override=None):
            # mmdet distribution_focal_loss
            dis_left = label.long()
            dis_right = dis_left + 1
            weight_left = dis_right.double() - label
            weight_right = label - dis_left.double()
            loss = F.cross_entropy(p, dis_left, reduction="none") * weight_left + \
                F.cross_entropy(p, dis_right, reduction="none") * weight_right
            return self.mmdet_reduce(loss, weight, reduction_override or "mean", avg_factor)

        self.check(fnn.DistributionFocalLoss(), ref, pred, (label,),
                   [{}, {"avg_factor": 4.0}, {"reduction_override": "sum"}, {"reduction_override": "none"}])
        with self.assertRaises(ValueError):
            fnn.DistributionFocalLoss()(pred, torch.full((7,), 7.0, dtype=torch.float64))

    def test_asymmetric_loss(self):
        gen = torch.Generator().manual_seed(24)
        x = torch.randn(6, 5, dtype=torch.float64, generator=gen) * 2
        y = (torch.rand(6, 5, generator=gen) > 0.6).double()
        gamma_neg, gamma_pos, clip = 4, 1, 0.05

        def ref(p):
            # timm AsymmetricLossOptimized, without its eps clamp
            xs_pos = torch.sigmoid(p)
            xs_neg = (1.0 - xs_pos + clip).clamp(max=1)
            los_pos = y * torch.log(xs_pos)
            los_neg = (1 - y) * torch.log(xs_neg)
            loss = los_pos + los_neg
            pt = xs_pos * y + xs_neg * (1 - y)
            w = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
            return -(loss * w).sum()

        self.check(fnn.AsymmetricLoss(gamma_neg=gamma_neg, gamma_pos=gamma_pos, clip=clip), ref, x, (y,), [{}])
        with self.assertRaises(NotImplementedError):
            fnn.AsymmetricLoss(disable_torch_grad_focal_loss=True)


@needs_torchvision
class TestTorchSigmoid(unittest.TestCase):
    def test_against_torchvision(self):
        gen = torch.Generator().manual_seed(6)
        for shape in ((7,), (6, 5), (2, 3, 4, 5)):
            for gamma in (0.0, 0.5, 2.0, 3.0):
                for alpha in (0.25, -1.0, 0.7):
                    for reduction in ("none", "mean", "sum"):
                        for soft in (False, True):
                            with self.subTest(shape=shape, gamma=gamma, alpha=alpha, reduction=reduction,
                                              soft=soft):
                                x = torch.randn(shape, dtype=torch.float64, generator=gen) * 3
                                y = torch.rand(shape, dtype=torch.float64, generator=gen)
                                y = y if soft else (y < 0.3).to(torch.float64)
                                g = torch.randn(shape if reduction == "none" else (), dtype=torch.float64,
                                                generator=gen)
                                want, want_grad = value_and_grad(
                                    lambda v: torchvision.ops.sigmoid_focal_loss(v, y, alpha, gamma, reduction),
                                    x, g)
                                got, got_grad = value_and_grad(
                                    lambda v: fnn.sigmoid_focal_loss(v, y, alpha, gamma, reduction), x, g)
                                self.assertEqual(got.shape, want.shape)
                                assert_close(self, got, want, 1e-10, "value")
                                assert_close(self, got_grad, want_grad, 1e-9, "gradient")

    def test_module_and_float32(self):
        gen = torch.Generator().manual_seed(7)
        x = torch.randn(8, 4, 3, dtype=torch.float32, generator=gen)
        y = (torch.rand(8, 4, 3, generator=gen) < 0.2).float()
        module = fnn.SigmoidFocalLoss(alpha=0.25, gamma=2, reduction="mean")
        got, got_grad = value_and_grad(lambda v: module(v, y), x)
        want, want_grad = value_and_grad(
            lambda v: torchvision.ops.sigmoid_focal_loss(v, y.double(), 0.25, 2, "mean"), x.double())
        self.assertEqual(got.dtype, torch.float32)
        self.assertEqual(got_grad.dtype, torch.float32)
        assert_close(self, got, want, 1e-5, "value")
        assert_close(self, got_grad, want_grad, 1e-5, "gradient")
        with self.assertRaises(ValueError):
            fnn.SigmoidFocalLoss(reduction="average")

    def assert_same_error(self, call, reference):
        with self.assertRaises(Exception) as want:
            reference()
        with self.assertRaises(Exception) as got:
            call()
        self.assertIs(type(got.exception), type(want.exception))
        self.assertEqual(str(got.exception), str(want.exception))

    def test_errors_are_torchvisions(self):
        x = torch.randn(4, 3, dtype=torch.float64)
        # Mismatched shapes: torchvision's error comes from
        # F.binary_cross_entropy_with_logits.
        for y in (torch.zeros(4, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)):
            with self.subTest(target=tuple(y.shape)):
                self.assert_same_error(lambda: fnn.sigmoid_focal_loss(x, y),
                                       lambda: torchvision.ops.sigmoid_focal_loss(x, y))
        # An unknown reduction: torchvision raises since 0.15 (0.14 returns
        # the unreduced loss); older versions are compared with the text
        # torchvision 0.15+ raises.
        y = torch.zeros(4, 3, dtype=torch.float64)
        try:
            torchvision.ops.sigmoid_focal_loss(x, y, reduction="average")
            want = ValueError("Invalid Value for arg 'reduction': 'average \n "
                              "Supported reduction modes: 'none', 'mean', 'sum'")
        except ValueError as e:
            want = e
        for call in (lambda: fnn.sigmoid_focal_loss(x, y, reduction="average"),
                     lambda: fnn.SigmoidFocalLoss(reduction="average")):
            with self.assertRaises(ValueError) as got:
                call()
            self.assertEqual(str(got.exception), str(want))

    def test_signature_and_defaults_are_torchvisions(self):
        import inspect
        want = inspect.signature(torchvision.ops.sigmoid_focal_loss).parameters
        got = inspect.signature(fnn.sigmoid_focal_loss).parameters
        self.assertEqual(list(got), list(want))
        self.assertEqual([p.default for p in got.values()], [p.default for p in want.values()])
        module = inspect.signature(fnn.SigmoidFocalLoss).parameters
        self.assertEqual({k: p.default for k, p in module.items()},
                         {k: want[k].default for k in ("alpha", "gamma", "reduction")})

    def test_empty_inputs_behave_like_torchvision(self):
        x = torch.zeros(0, 80, dtype=torch.float64, requires_grad=True)
        y = torch.zeros(0, 80, dtype=torch.float64)
        for reduction in ("none", "sum", "mean"):
            with self.subTest(reduction=reduction):
                got = fnn.sigmoid_focal_loss(x, y, reduction=reduction)
                want = torchvision.ops.sigmoid_focal_loss(x, y, reduction=reduction)
                self.assertEqual(got.shape, want.shape)
                np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
                got.sum().backward()

    def test_gradcheck(self):
        gen = torch.Generator().manual_seed(8)
        settings = [
            dict(gamma=2.0, alpha=0.25, reduction="mean"),
            dict(gamma=0.5, reduction="none"),
            dict(gamma=1.0, alpha=[0.2, 0.5, 0.8], reduction="sum", weights=True),
            dict(gamma=2.0, alpha=0.25, reduction="sum_over_positives", index=True),
            dict(gamma=2.0, reduction="weighted_mean", alpha=0.25, index=True, ignore_index=-1),
            dict(gamma=2.0, label_smoothing=0.1, reduction="mean"),
            dict(gamma=2.0, variant="fl_star", beta=1.0, alpha=0.25, reduction="mean"),
            dict(gamma=1.5, input="probabilities", reduction="sum"),
        ]
        for s in settings:
            for shape in ((4, 3), (2, 3, 4)):
                with self.subTest(setting=s, shape=shape):
                    opts = {k: v for k, v in s.items() if k not in ("weights", "index")}
                    positions = shape[:1] + shape[2:]
                    with focal.Loss("sigmoid", **opts) as loss:
                        x = torch.randn(shape, dtype=torch.float64, generator=gen)
                        if s.get("input") == "probabilities":
                            x = torch.sigmoid(x).clamp(0.05, 0.95)
                        if s.get("index"):
                            # 0..C-1 positive class, C background, -1 ignored if so set.
                            low = -1 if "ignore_index" in s else 0
                            t = torch.randint(low, shape[1] + 1, positions, generator=gen)
                        else:
                            t = (torch.rand(shape, generator=gen, dtype=torch.float64) < 0.3).double()
                        w = torch.rand(positions, dtype=torch.float64, generator=gen) if s.get("weights") else None
                        x.requires_grad_(True)
                        self.assertTrue(torch.autograd.gradcheck(
                            lambda v: fnn.FocalFunction.apply(v, t, w, loss), (x,), eps=1e-6, atol=1e-7,
                            rtol=1e-6))


@needs_torch
class TestSeedModules(unittest.TestCase):
    def setUp(self):
        # The seeds call softmax without dim=, which warns; unittest's
        # runner resets the module-level filter.
        catcher = warnings.catch_warnings()
        catcher.__enter__()
        self.addCleanup(catcher.__exit__, None, None, None)
        warnings.filterwarnings("ignore", message="Implicit dimension choice")

    def test_seed000(self):
        gen = torch.Generator().manual_seed(9)
        cases = [((8, 2), 0.25), ((8, 5), [0.1, 0.3, 0.2, 0.25, 0.15]), ((8, 5), None),
                 ((2, 2, 3, 4), 0.75), ((2, 3, 4, 5), None)]
        for shape, alpha in cases:
            for gamma in (0, 2, 1.5):
                for size_average in (True, False):
                    with self.subTest(shape=shape, alpha=alpha, gamma=gamma, size_average=size_average):
                        x = torch.randn(shape, dtype=torch.float64, generator=gen) * 2
                        t = torch.randint(0, shape[1], shape[:1] + shape[2:], generator=gen)
                        seed = Seed000(gamma, alpha, size_average)
                        attached = Seed000Attached(gamma, alpha, size_average)
                        ours = fnn.Seed000FocalLoss(gamma, alpha, size_average)
                        seed_value, seed_grad = value_and_grad(lambda v: seed(v, t), x)
                        true_value, true_grad = value_and_grad(lambda v: attached(v, t), x)
                        got, got_grad = value_and_grad(lambda v: ours(v, t), x)
                        assert_close(self, got, seed_value, 1e-12, "value vs seed")
                        assert_close(self, got, true_value, 1e-12, "value vs attached")
                        assert_close(self, got_grad, true_grad, 1e-10, "gradient vs attached")
                        if gamma > 0:
                            # The seed's detached p_t gives a different, smaller gradient.
                            self.assertGreater(float((seed_grad - true_grad).abs().max()), 1e-6)
                            self.assertLess(float(seed_grad.abs().sum()), float(true_grad.abs().sum()))

    def test_seed000_float32(self):
        x = torch.randn(6, 2)
        t = torch.tensor([0, 1, 1, 0, 1, 0])
        want = Seed000(2, 0.25)(x, t)
        got = fnn.Seed000FocalLoss(2, 0.25)(x, t)
        self.assertEqual(got.dtype, torch.float32)
        self.assertAlmostEqual(got.item(), want.item(), delta=1e-6 * abs(want.item()))

    def test_seed003(self):
        gen = torch.Generator().manual_seed(10)
        for alpha in (None, torch.tensor([[0.5], [1.0], [2.0], [0.25]], dtype=torch.float64)):
            for gamma in (0, 2, 1.5):
                for reduction in ("mean", "sum", "none"):
                    with self.subTest(alpha=alpha, gamma=gamma, reduction=reduction):
                        x = torch.randn(7, 4, dtype=torch.float64, generator=gen) * 2
                        t = torch.randint(0, 4, (7,), generator=gen)
                        seed = Seed003(4, alpha, gamma, reduction)
                        ours = fnn.Seed003FocalLoss(4, alpha, gamma, reduction)
                        want, want_grad = value_and_grad(lambda v: seed(v, t), x)
                        got, got_grad = value_and_grad(lambda v: ours(v, t), x)
                        self.assertEqual(got.dim(), 0)
                        assert_close(self, got, want, 1e-12, "value")
                        assert_close(self, got_grad, want_grad, 1e-10, "gradient")

    def test_seed003_stays_finite_where_the_seed_underflows(self):
        x = torch.tensor([[0.0, 800.0, 0.0]], dtype=torch.float64)
        t = torch.tensor([0])
        seed_value = Seed003(3, None, 2, "mean")(x, t)
        self.assertTrue(torch.isinf(seed_value))
        got, got_grad = value_and_grad(lambda v: fnn.Seed003FocalLoss(3, None, 2, "mean")(v, t), x)
        self.assertAlmostEqual(got.item(), 800.0, places=9)
        self.assertTrue(torch.isfinite(got_grad).all())


class TestDocumentation(unittest.TestCase):
    def run_examples(self, path, at_least):
        if not os.path.exists(path):
            self.skipTest("%s not found" % path)
        if torch is None or torchvision is None:
            self.skipTest("the examples use torch and torchvision")
        with open(path) as f:
            blocks = re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.S | re.M)
        self.assertGreaterEqual(len(blocks), at_least)
        namespace = {"__name__": "examples"}
        for i, block in enumerate(blocks):
            with self.subTest(block=i), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(block, "%s[block %d]" % (path, i), "exec"), namespace)

    def test_python_examples_of_the_docs_run(self):
        self.run_examples(os.path.normpath(os.path.join(HERE, "..", "..", "docs", "ffi.md")), 6)

    def test_examples_of_the_readme_run(self):
        self.run_examples(os.path.join(HERE, "README.md"), 4)


if __name__ == "__main__":
    unittest.main()
