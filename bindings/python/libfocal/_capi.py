"""ctypes declarations for every function of <focal/focal.h>, and the loader.

The library is looked up, in order, at $FOCAL_LIBRARY (a path to the shared
object), in `pkg-config --variable=libdir focal`, and by
ctypes.util.find_library("focal"). Its major version is checked before any
other symbol is touched: a libfocal of another major version may have a
different ABI, so the bindings refuse it with ImportError.
"""

import ctypes
import ctypes.util
import os
import shutil
import subprocess

#: The major version these bindings were written for.
SUPPORTED_MAJOR = 1
#: The oldest minor version of that major that has every declared function.
REQUIRED_MINOR = 0


class FocalLossStruct(ctypes.Structure):
    """The opaque `focal_loss`; only pointers to it are used."""


LossPtr = ctypes.POINTER(FocalLossStruct)

_status = ctypes.c_int   # focal_status
_enum = ctypes.c_int     # focal_mode, focal_reduction, focal_input, focal_variant
_i64 = ctypes.c_int64
_pf32 = ctypes.POINTER(ctypes.c_float)
_pf64 = ctypes.POINTER(ctypes.c_double)
_pi64 = ctypes.POINTER(ctypes.c_int64)
_pu16 = ctypes.POINTER(ctypes.c_uint16)   # bfloat16 / float16 bit patterns


def _compute(fp, target):
    """Argument lists of the compute functions for one element pointer type."""
    head = [LossPtr, _i64, _i64, _i64, fp, target, fp]
    return {
        "forward": head + [fp],
        "backward": head + [fp, fp],
        "forward_backward": head + [fp, fp],
    }


def _declarations():
    d = [
        ("focal_version_number", ctypes.c_uint, []),
        ("focal_version_string", ctypes.c_char_p, []),
        ("focal_isa", ctypes.c_char_p, []),
        ("focal_status_string", ctypes.c_char_p, [_status]),
        ("focal_last_error", ctypes.c_char_p, []),
        ("focal_loss_create", _status, [ctypes.POINTER(LossPtr), _enum]),
        ("focal_loss_clone", _status, [LossPtr, ctypes.POINTER(LossPtr)]),
        ("focal_loss_destroy", None, [LossPtr]),
        ("focal_loss_set_gamma", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_set_alpha", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_set_alpha_vector", _status, [LossPtr, _pf64, _i64]),
        ("focal_loss_clear_alpha", _status, [LossPtr]),
        ("focal_loss_set_reduction", _status, [LossPtr, _enum]),
        ("focal_loss_set_ignore_index", _status, [LossPtr, _i64]),
        ("focal_loss_clear_ignore_index", _status, [LossPtr]),
        ("focal_loss_set_input", _status, [LossPtr, _enum]),
        ("focal_loss_set_epsilon", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_set_label_smoothing", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_set_variant", _status, [LossPtr, _enum]),
        ("focal_loss_set_beta", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_set_threads", _status, [LossPtr, ctypes.c_int]),
        ("focal_loss_get_mode", _status, [LossPtr, ctypes.POINTER(_enum)]),
        ("focal_loss_get_gamma", _status, [LossPtr, _pf64]),
        ("focal_loss_get_alpha", _status, [LossPtr, _pf64]),
        ("focal_loss_get_alpha_count", _status, [LossPtr, _pi64]),
        ("focal_loss_get_alpha_vector", _status, [LossPtr, _pf64, _i64]),
        ("focal_loss_get_reduction", _status, [LossPtr, ctypes.POINTER(_enum)]),
        ("focal_loss_get_ignore_index", _status, [LossPtr, _pi64]),
        ("focal_loss_get_input", _status, [LossPtr, ctypes.POINTER(_enum)]),
        ("focal_loss_get_epsilon", _status, [LossPtr, _pf64]),
        ("focal_loss_get_label_smoothing", _status, [LossPtr, _pf64]),
        ("focal_loss_get_variant", _status, [LossPtr, ctypes.POINTER(_enum)]),
        ("focal_loss_get_beta", _status, [LossPtr, _pf64]),
        ("focal_loss_get_threads", _status, [LossPtr, ctypes.POINTER(ctypes.c_int)]),
        ("focal_prior_bias", _status, [ctypes.c_double, _pf64]),
    ]
    # Since 1.1: data-parallel divisor and counts, soft forms, the family's
    # settings, the target gradient, half storage.
    d += [
        ("focal_loss_set_divisor", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_get_divisor", _status, [LossPtr, _pf64]),
        ("focal_loss_set_soft_form", _status, [LossPtr, _enum]),
        ("focal_loss_get_soft_form", _status, [LossPtr, ctypes.POINTER(_enum)]),
        ("focal_loss_set_pos_weight_vector", _status, [LossPtr, _pf64, _i64]),
        ("focal_loss_clear_pos_weight", _status, [LossPtr]),
        ("focal_loss_get_pos_weight_count", _status, [LossPtr, _pi64]),
        ("focal_loss_get_pos_weight_vector", _status, [LossPtr, _pf64, _i64]),
        ("focal_loss_set_gamma_negative", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_get_gamma_negative", _status, [LossPtr, _pf64]),
        ("focal_loss_set_clip", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_get_clip", _status, [LossPtr, _pf64]),
        ("focal_loss_set_poly_epsilon", _status, [LossPtr, ctypes.c_double]),
        ("focal_loss_get_poly_epsilon", _status, [LossPtr, _pf64]),
    ]
    for suffix, fp in (("f32", _pf32), ("f64", _pf64), ("bf16", _pu16), ("f16", _pu16)):
        for kind, target in (("", _pi64), ("_dense", fp)):
            for op, args in _compute(fp, target).items():
                d.append(("focal_%s%s_%s" % (op, kind, suffix), _status, args))
            d.append(("focal_counts%s_%s" % (kind, suffix), _status,
                      [LossPtr, _i64, _i64, _i64, target, fp, _pf64]))
    for suffix, fp in (("f32", _pf32), ("f64", _pf64)):
        d.append(("focal_backward_target_dense_%s" % suffix, _status,
                  [LossPtr, _i64, _i64, _i64, fp, fp, fp, fp, fp]))
    return d


#: (name, restype, argtypes) of every function of the public header.
DECLARATIONS = tuple(_declarations())


def _pkg_config_libdir():
    exe = shutil.which("pkg-config")
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, "--variable=libdir", "focal"], capture_output=True,
                             text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = res.stdout.strip()
    return libdir if res.returncode == 0 and libdir else None


def find_library():
    """The path (or soname) of libfocal to load, or None."""
    path = os.environ.get("FOCAL_LIBRARY")
    if path:
        return path
    libdir = _pkg_config_libdir()
    if libdir is not None:
        for name in ("libfocal.so.%d" % SUPPORTED_MAJOR, "libfocal.so", "libfocal.dylib"):
            candidate = os.path.join(libdir, name)
            if os.path.exists(candidate):
                return candidate
    return ctypes.util.find_library("focal")


def check_version(number, where):
    """Raises ImportError unless `number` (major*10000 + minor*100 + patch)
    is a version these bindings can use."""
    major, minor = number // 10000, number // 100 % 100
    if major != SUPPORTED_MAJOR:
        raise ImportError(
            "libfocal at %s has version %d.%d.%d (major %d), but these Python bindings "
            "need major version %d: install a libfocal %d.x or bindings for version %d"
            % (where, major, minor, number % 100, major, SUPPORTED_MAJOR, SUPPORTED_MAJOR, major))
    if minor < REQUIRED_MINOR:
        raise ImportError("libfocal at %s has version %d.%d, older than the %d.%d these bindings need"
                          % (where, major, minor, SUPPORTED_MAJOR, REQUIRED_MINOR))


def load(path=None, dll_type=ctypes.CDLL):
    """Opens libfocal (at `path`, else as find_library() says), checks its
    version, and declares every function. Raises ImportError on failure."""
    if path is None:
        path = find_library()
        if path is None:
            raise ImportError("libfocal not found: set FOCAL_LIBRARY to the path of libfocal.so.1, "
                              "or make `pkg-config --variable=libdir focal` work (PKG_CONFIG_PATH)")
    try:
        lib = dll_type(path)
    except OSError as exc:
        raise ImportError("cannot load libfocal from %s: %s" % (path, exc)) from exc

    # Only these two functions are used before the version is known.
    try:
        number_fn = lib.focal_version_number
        string_fn = lib.focal_version_string
    except AttributeError as exc:
        raise ImportError("%s is not libfocal (no focal_version_number)" % path) from exc
    number_fn.restype, number_fn.argtypes = ctypes.c_uint, []
    string_fn.restype, string_fn.argtypes = ctypes.c_char_p, []
    check_version(int(number_fn()), path)

    for name, restype, argtypes in DECLARATIONS:
        try:
            fn = getattr(lib, name)
        except AttributeError as exc:
            raise ImportError("libfocal at %s (version %s) lacks %s"
                              % (path, string_fn().decode(), name)) from exc
        fn.restype = restype
        fn.argtypes = argtypes
    return lib, path
