"""Python bindings of libfocal (ctypes + numpy).

    import numpy as np
    import libfocal

    with focal.Loss("softmax", gamma=2.0, alpha=[0.25, 0.75]) as loss:
        value, grad = loss.forward_backward(logits, target)

Arrays are (N, C, d1, ..., dk) in C order (or channels-last (N, d1, ..., dk,
C) with channels_last=True); float32 arrays are computed by the _f32
functions, float64 by the _f64 ones. Index targets are integer arrays of
shape (N, d1, ..., dk); dense targets are float arrays shaped like the input.
Errors raise a FocalError subclass carrying the C status and the library's
detail message. The torch integration lives in libfocal.nn.
"""

import ctypes
import enum
import math

import numpy as np

from . import _capi

__all__ = [
    "Mode", "Reduction", "Input", "Variant", "SoftForm", "Status",
    "FocalError", "NullPointerError", "InvalidShapeError", "InvalidParameterError",
    "InvalidTargetError", "InvalidWeightError", "IncompatibleError", "FocalMemoryError",
    "InternalError", "Loss", "dims", "forward", "backward", "forward_backward",
    "prior_bias", "version", "version_number", "isa", "status_string", "last_error",
    "library_path",
]

lib, library_path = _capi.load()


# ---------------------------------------------------------------------------
# Enumerations (values pinned by the C header)
# ---------------------------------------------------------------------------

class Mode(enum.IntEnum):
    SOFTMAX = 0
    SIGMOID = 1


class Reduction(enum.IntEnum):
    NONE = 0
    MEAN = 1
    SUM = 2
    WEIGHTED_MEAN = 3
    SUM_OVER_POSITIVES = 4
    DIVISOR = 5


class Input(enum.IntEnum):
    LOGITS = 0
    PROBABILITIES = 1


class Variant(enum.IntEnum):
    FL = 0
    FL_STAR = 1
    QFL = 2
    VFL = 3
    ASL = 4


class SoftForm(enum.IntEnum):
    TORCHVISION = 0
    SPLIT = 1


class Status(enum.IntEnum):
    OK = 0
    NULL_POINTER = 1
    INVALID_SHAPE = 2
    INVALID_PARAMETER = 3
    INVALID_TARGET = 4
    INVALID_WEIGHT = 5
    INCOMPATIBLE = 6
    OUT_OF_MEMORY = 7
    INTERNAL = 99


def _enum_value(kind, value):
    """An enum member from a member, an int or a case-insensitive name.
    Unknown ints pass through so that the library itself rejects them."""
    if isinstance(value, str):
        try:
            return kind[value.upper()]
        except KeyError:
            names = ", ".join(repr(m.name.lower()) for m in kind)
            raise ValueError("unknown %s %r (one of %s)" % (kind.__name__.lower(), value, names)) from None
    return int(value)


def _enum_or_int(kind, value):
    try:
        return kind(value)
    except ValueError:
        return value


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class FocalError(Exception):
    """A libfocal call failed. `status` is the focal_status value, `message`
    the detail from focal_last_error()."""

    def __init__(self, status, message):
        self.status = _enum_or_int(Status, int(status))
        self.message = message
        super().__init__(self.status, message)

    def __str__(self):
        text = status_string(self.status)
        return "%s: %s" % (text, self.message) if self.message else text


class NullPointerError(FocalError, ValueError):
    pass


class InvalidShapeError(FocalError, ValueError):
    pass


class InvalidParameterError(FocalError, ValueError):
    pass


class InvalidTargetError(FocalError, ValueError):
    pass


class InvalidWeightError(FocalError, ValueError):
    pass


class IncompatibleError(FocalError, ValueError):
    pass


class FocalMemoryError(FocalError, MemoryError):
    pass


class InternalError(FocalError, RuntimeError):
    pass


_ERRORS = {
    Status.NULL_POINTER: NullPointerError,
    Status.INVALID_SHAPE: InvalidShapeError,
    Status.INVALID_PARAMETER: InvalidParameterError,
    Status.INVALID_TARGET: InvalidTargetError,
    Status.INVALID_WEIGHT: InvalidWeightError,
    Status.INCOMPATIBLE: IncompatibleError,
    Status.OUT_OF_MEMORY: FocalMemoryError,
    Status.INTERNAL: InternalError,
}


def error_for_status(status, message):
    """The exception for a non-zero status (FocalError for unknown codes)."""
    return _ERRORS.get(status, FocalError)(status, message)


def check(status):
    """Raises the matching FocalError if `status` is not FOCAL_OK. Must run
    on the thread that made the call, right after it (the detail message
    is per thread)."""
    if status != 0:
        raise error_for_status(status, last_error())


def status_string(status):
    return lib.focal_status_string(int(status)).decode()


def last_error():
    return lib.focal_last_error().decode()


def version():
    """The loaded library's version string, e.g. "1.0.0"."""
    return lib.focal_version_string().decode()


def version_number():
    return int(lib.focal_version_number())


def isa():
    """The kernel path in use: "avx2" or "scalar" (FOCAL_MAX_ISA=scalar in
    the environment before the first call forces "scalar")."""
    return lib.focal_isa().decode()


def prior_bias(prior):
    """log(prior / (1 - prior)): the bias that starts a sigmoid at `prior`."""
    out = ctypes.c_double()
    check(lib.focal_prior_bias(float(prior), ctypes.byref(out)))
    return out.value


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------

def dims(shape, channels_last=False):
    """(n, c, inner, position_shape) of an input of this shape.

    (N, C, d1..dk) gives n = N, c = C, inner = d1*...*dk; channels-last
    (N, d1..dk, C) gives n = N*d1*...*dk, c = C, inner = 1. The position
    shape is the shape without the class axis: that of index targets,
    weights and softmax losses with reduction NONE.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError("input must have at least 2 dimensions (N, C, ...), got shape %r" % (shape,))
    if channels_last:
        return math.prod(shape[:-1]), shape[-1], 1, shape[:-1]
    return shape[0], shape[1], math.prod(shape[2:]), (shape[0],) + shape[2:]


_FLOAT_TYPES = {np.dtype(np.float32): ("f32", ctypes.c_float),
                np.dtype(np.float64): ("f64", ctypes.c_double),
                np.dtype(np.float16): ("f16", ctypes.c_uint16)}


def _float_array(a):
    """`a` as a C-contiguous float32, float64 or float16 array. float16 is
    computed natively (the _f16 entry points on its bit patterns)."""
    a = np.asarray(a)
    if a.dtype in _FLOAT_TYPES:
        dtype = a.dtype
    else:
        raise TypeError("input must be a float16, float32 or float64 array, got %s" % a.dtype)
    return np.ascontiguousarray(a, dtype=dtype)


def _ptr(a, ctype):
    return None if a is None else a.ctypes.data_as(ctypes.POINTER(ctype))


class _Call:
    """Arguments of one compute call, converted and checked."""

    def __init__(self, loss, input, target, weight, channels_last, dense, bfloat16=False):
        if bfloat16:
            # numpy has no bfloat16: its bit patterns come as uint16.
            self.x = np.ascontiguousarray(input)
            if self.x.dtype != np.uint16:
                raise TypeError("bfloat16=True takes the bit patterns as a uint16 array, got %s" % self.x.dtype)
            self.suffix, self.ctype = "bf16", ctypes.c_uint16
        else:
            self.x = _float_array(input)
            self.suffix, self.ctype = _FLOAT_TYPES[self.x.dtype]
        self.n, self.c, self.inner, self.positions = dims(self.x.shape, channels_last)
        t = np.asarray(target)
        if dense is None:
            dense = t.dtype.kind in "fb" or (bfloat16 and t.dtype == np.uint16)
        self.dense = bool(dense)
        if self.dense:
            if t.shape != self.x.shape:
                raise ValueError("dense target has shape %r, expected the input's %r" % (t.shape, self.x.shape))
            self.t = np.ascontiguousarray(t, dtype=self.x.dtype)
            self.tptr = _ptr(self.t, self.ctype)
        else:
            if t.dtype.kind not in "iu":
                raise TypeError("index target must be an integer array, got %s" % t.dtype)
            if t.shape != self.positions:
                raise ValueError("index target has shape %r, expected %r" % (t.shape, self.positions))
            self.t = np.ascontiguousarray(t, dtype=np.int64)
            self.tptr = _ptr(self.t, ctypes.c_int64)
        self.w = None
        if weight is not None:
            w = np.asarray(weight)
            if w.shape != self.positions:
                raise ValueError("weight has shape %r, expected %r" % (w.shape, self.positions))
            self.w = np.ascontiguousarray(w, dtype=self.x.dtype)
        self.reduced = loss.reduction != Reduction.NONE
        if self.reduced:
            self.out_shape = ()
        elif loss.mode == Mode.SIGMOID:
            self.out_shape = self.x.shape
        else:
            self.out_shape = self.positions

    def function(self, op):
        return getattr(lib, "focal_%s%s_%s" % (op, "_dense" if self.dense else "", self.suffix))

    def head(self, loss):
        return (loss._ptr(), self.n, self.c, self.inner, _ptr(self.x, self.ctype), self.tptr,
                _ptr(self.w, self.ctype))

    def result(self, out):
        if not self.reduced:
            return out
        if self.suffix == "bf16":   # the reduced value's bit pattern, widened
            return float(np.array(int(out[()]) << 16, dtype=np.uint32).view(np.float32))
        return float(out[()])


# ---------------------------------------------------------------------------
# The loss context
# ---------------------------------------------------------------------------

class Loss:
    """A libfocal context (focal_loss). Settings are properties; unset ones
    keep the library's defaults. Use it as a context manager or call close();
    a forgotten context is freed when garbage-collected. copy.copy() and
    clone() give an independent deep copy (focal_loss_clone)."""

    # Kept on the class so that __del__ still works during interpreter exit.
    _destroy = staticmethod(lib.focal_loss_destroy)

    def __init__(self, mode=Mode.SOFTMAX, *, gamma=None, alpha=None, reduction=None,
                 ignore_index=None, input=None, epsilon=None, label_smoothing=None,
                 variant=None, beta=None, threads=None, divisor=None, soft_form=None,
                 pos_weight=None, gamma_negative=None, clip=None, poly_epsilon=None, _handle=None):
        self._handle = None
        if _handle is None:
            handle = _capi.LossPtr()
            check(lib.focal_loss_create(ctypes.byref(handle), _enum_value(Mode, mode)))
        else:
            handle = _handle
        self._handle = handle
        settings = (("gamma", gamma), ("alpha", alpha), ("reduction", reduction),
                    ("ignore_index", ignore_index), ("input", input), ("epsilon", epsilon),
                    ("label_smoothing", label_smoothing), ("variant", variant), ("beta", beta),
                    ("threads", threads), ("divisor", divisor), ("soft_form", soft_form),
                    ("pos_weight", pos_weight), ("gamma_negative", gamma_negative), ("clip", clip),
                    ("poly_epsilon", poly_epsilon))
        try:
            for name, value in settings:
                if value is not None:
                    setattr(self, name, value)
        except BaseException:
            self.close()
            raise

    # -- lifetime -----------------------------------------------------------

    def _ptr(self):
        if self._handle is None:
            raise ValueError("the focal.Loss is closed")
        return self._handle

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Frees the C context; further use raises ValueError. Idempotent."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            self._destroy(handle)

    def __enter__(self):
        self._ptr()
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def clone(self):
        out = _capi.LossPtr()
        check(lib.focal_loss_clone(self._ptr(), ctypes.byref(out)))
        return Loss(_handle=out)

    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        return self.clone()

    def __reduce__(self):
        return (_rebuild, (self.settings(),))

    def settings(self):
        """Every setting as a dict that Loss(**settings) accepts."""
        return {"mode": self.mode, "gamma": self.gamma, "alpha": self.alpha,
                "reduction": self.reduction, "ignore_index": self.ignore_index,
                "input": self.input, "epsilon": self.epsilon,
                "label_smoothing": self.label_smoothing, "variant": self.variant,
                "beta": self.beta, "threads": self.threads, "divisor": self.divisor,
                "soft_form": self.soft_form, "pos_weight": self.pos_weight,
                "gamma_negative": self.gamma_negative, "clip": self.clip,
                "poly_epsilon": self.poly_epsilon}

    def __repr__(self):
        if self.closed:
            return "<focal.Loss (closed)>"
        parts = []
        for key, value in self.settings().items():
            if isinstance(value, enum.Enum):
                value = value.name.lower()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            parts.append(repr(value) if key == "mode" else "%s=%r" % (key, value))
        return "focal.Loss(%s)" % ", ".join(parts)

    # -- settings -------------------------------------------------------------

    def _get(self, name, ctype):
        out = ctype()
        check(getattr(lib, "focal_loss_get_" + name)(self._ptr(), ctypes.byref(out)))
        return out.value

    def _set(self, name, value):
        check(getattr(lib, "focal_loss_set_" + name)(self._ptr(), value))

    @property
    def mode(self):
        return _enum_or_int(Mode, self._get("mode", ctypes.c_int))

    @property
    def gamma(self):
        return self._get("gamma", ctypes.c_double)

    @gamma.setter
    def gamma(self, value):
        self._set("gamma", float(value))

    @property
    def alpha(self):
        """None, a float (scalar alpha) or a float64 array (per class).
        Assign None, a number or a sequence/array of per-class values."""
        count = self._get("alpha_count", ctypes.c_int64)
        if count > 0:
            out = np.empty(count, dtype=np.float64)
            check(lib.focal_loss_get_alpha_vector(self._ptr(), _ptr(out, ctypes.c_double), count))
            return out
        value = ctypes.c_double()
        status = lib.focal_loss_get_alpha(self._ptr(), ctypes.byref(value))
        if status == Status.INCOMPATIBLE:
            return None
        check(status)
        return value.value

    @alpha.setter
    def alpha(self, value):
        if value is None:
            check(lib.focal_loss_clear_alpha(self._ptr()))
        elif np.ndim(value) == 0:
            self._set("alpha", float(value))
        else:
            a = np.ascontiguousarray(np.asarray(value, dtype=np.float64).reshape(-1))
            check(lib.focal_loss_set_alpha_vector(self._ptr(), _ptr(a, ctypes.c_double), a.size))

    @property
    def reduction(self):
        return _enum_or_int(Reduction, self._get("reduction", ctypes.c_int))

    @reduction.setter
    def reduction(self, value):
        self._set("reduction", _enum_value(Reduction, value))

    @property
    def ignore_index(self):
        """None or the int64 target value that marks an ignored position."""
        value = ctypes.c_int64()
        status = lib.focal_loss_get_ignore_index(self._ptr(), ctypes.byref(value))
        if status == Status.INCOMPATIBLE:
            return None
        check(status)
        return value.value

    @ignore_index.setter
    def ignore_index(self, value):
        if value is None:
            check(lib.focal_loss_clear_ignore_index(self._ptr()))
        else:
            self._set("ignore_index", int(value))

    @property
    def input(self):
        return _enum_or_int(Input, self._get("input", ctypes.c_int))

    @input.setter
    def input(self, value):
        self._set("input", _enum_value(Input, value))

    @property
    def epsilon(self):
        return self._get("epsilon", ctypes.c_double)

    @epsilon.setter
    def epsilon(self, value):
        self._set("epsilon", float(value))

    @property
    def label_smoothing(self):
        return self._get("label_smoothing", ctypes.c_double)

    @label_smoothing.setter
    def label_smoothing(self, value):
        self._set("label_smoothing", float(value))

    @property
    def variant(self):
        return _enum_or_int(Variant, self._get("variant", ctypes.c_int))

    @variant.setter
    def variant(self, value):
        self._set("variant", _enum_value(Variant, value))

    @property
    def beta(self):
        return self._get("beta", ctypes.c_double)

    @beta.setter
    def beta(self, value):
        self._set("beta", float(value))

    @property
    def threads(self):
        return self._get("threads", ctypes.c_int)

    @threads.setter
    def threads(self, value):
        self._set("threads", int(value))

    # 1.1 settings

    @property
    def divisor(self):
        """The divisor of reduction "divisor" (SUM / divisor); default 1."""
        return self._get("divisor", ctypes.c_double)

    @divisor.setter
    def divisor(self, value):
        self._set("divisor", float(value))

    @property
    def soft_form(self):
        return _enum_or_int(SoftForm, self._get("soft_form", ctypes.c_int))

    @soft_form.setter
    def soft_form(self, value):
        self._set("soft_form", _enum_value(SoftForm, value))

    @property
    def pos_weight(self):
        """None or a float64 array of one pos_weight per class (sigmoid mode,
        as BCEWithLogitsLoss(pos_weight=)). Assign None to clear it."""
        count = self._get("pos_weight_count", ctypes.c_int64)
        if count == 0:
            return None
        out = np.empty(count, dtype=np.float64)
        check(lib.focal_loss_get_pos_weight_vector(self._ptr(), _ptr(out, ctypes.c_double), count))
        return out

    @pos_weight.setter
    def pos_weight(self, value):
        if value is None:
            check(lib.focal_loss_clear_pos_weight(self._ptr()))
        else:
            a = np.ascontiguousarray(np.asarray(value, dtype=np.float64).reshape(-1))
            check(lib.focal_loss_set_pos_weight_vector(self._ptr(), _ptr(a, ctypes.c_double), a.size))

    @property
    def gamma_negative(self):
        """ASL's exponent of the negative part; default 4."""
        return self._get("gamma_negative", ctypes.c_double)

    @gamma_negative.setter
    def gamma_negative(self, value):
        self._set("gamma_negative", float(value))

    @property
    def clip(self):
        """ASL's probability margin of the negative part; default 0.05."""
        return self._get("clip", ctypes.c_double)

    @clip.setter
    def clip(self, value):
        self._set("clip", float(value))

    @property
    def poly_epsilon(self):
        """The Poly-1 coefficient (variant FL); default 0."""
        return self._get("poly_epsilon", ctypes.c_double)

    @poly_epsilon.setter
    def poly_epsilon(self, value):
        self._set("poly_epsilon", float(value))

    # -- compute --------------------------------------------------------------

    def counts(self, input, target, weight=None, *, channels_last=False, dense=None):
        """The shard's denominators (focal_counts_*) as a tuple of 3 floats:
        the non-ignored positions (softmax) or elements (sigmoid), sum(w
        alpha_t) and the positives (sigmoid). Reads only the input's shape
        and dtype; all-reduce them across ranks, then set `divisor`."""
        call = _Call(self, input, target, weight, channels_last, dense)
        out = (ctypes.c_double * 3)()
        fn = getattr(lib, "focal_counts%s_%s" % ("_dense" if call.dense else "", call.suffix))
        check(fn(self._ptr(), call.n, call.c, call.inner, call.tptr, _ptr(call.w, call.ctype), out))
        return (out[0], out[1], out[2])

    def backward_target(self, input, target, grad_out=1.0, weight=None, *, channels_last=False):
        """The gradient of sum(grad_out * loss) with respect to the dense
        targets (float32 or float64), through the denominators too."""
        call = _Call(self, input, target, weight, channels_last, True)
        if call.suffix not in ("f32", "f64"):
            raise TypeError("backward_target takes float32 or float64 arrays, got %s" % call.x.dtype)
        g = np.ascontiguousarray(np.broadcast_to(np.asarray(grad_out, dtype=call.x.dtype), call.out_shape))
        grad = np.empty(call.x.shape, dtype=call.x.dtype)
        fn = getattr(lib, "focal_backward_target_dense_%s" % call.suffix)
        check(fn(*call.head(self), _ptr(g, call.ctype), _ptr(grad, call.ctype)))
        return grad

    def forward(self, input, target, weight=None, *, channels_last=False, dense=None, bfloat16=False):
        """The loss: a float when reduced, else an array of the position shape
        (softmax) or of the input's shape (sigmoid), in the input's dtype.
        `dense` forces dense (True) or index (False) targets; by default a
        float or bool target is dense and an integer one holds indices."""
        call = _Call(self, input, target, weight, channels_last, dense, bfloat16)
        out = np.empty(call.out_shape, dtype=call.x.dtype)
        check(call.function("forward")(*call.head(self), _ptr(out, call.ctype)))
        return call.result(out)

    def backward(self, input, target, grad_out, weight=None, *, channels_last=False, dense=None,
                 bfloat16=False):
        """The gradient of sum(grad_out * loss) with respect to the input;
        grad_out is a number when reduced, else shaped like forward's result."""
        call = _Call(self, input, target, weight, channels_last, dense, bfloat16)
        g = np.ascontiguousarray(np.broadcast_to(np.asarray(grad_out, dtype=call.x.dtype), call.out_shape))
        grad = np.empty(call.x.shape, dtype=call.x.dtype)
        check(call.function("backward")(*call.head(self), _ptr(g, call.ctype), _ptr(grad, call.ctype)))
        return grad

    def forward_backward(self, input, target, weight=None, *, channels_last=False, dense=None,
                         want_loss=True, want_grad=True, bfloat16=False):
        """(loss, gradient) in one pass; the gradient is that of the reduced
        loss (with reduction NONE: of the sum of the losses). Either part can
        be skipped (want_loss / want_grad False), and is then None."""
        call = _Call(self, input, target, weight, channels_last, dense, bfloat16)
        out = np.empty(call.out_shape, dtype=call.x.dtype) if want_loss else None
        grad = np.empty(call.x.shape, dtype=call.x.dtype) if want_grad else None
        check(call.function("forward_backward")(*call.head(self), _ptr(out, call.ctype),
                                                _ptr(grad, call.ctype)))
        return (call.result(out) if want_loss else None), grad


def _rebuild(settings):
    return Loss(**settings)


def forward(loss, input, target, weight=None, **kwargs):
    return loss.forward(input, target, weight, **kwargs)


def backward(loss, input, target, grad_out, weight=None, **kwargs):
    return loss.backward(input, target, grad_out, weight, **kwargs)


def forward_backward(loss, input, target, weight=None, **kwargs):
    return loss.forward_backward(input, target, weight, **kwargs)
