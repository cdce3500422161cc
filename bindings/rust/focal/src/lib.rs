//! Safe Rust binding to libfocal, the focal loss of Lin et al. (ICCV 2017)
//! and its family (QFL, VFL, ASL, Poly-1, DFL), forward and backward in
//! `f32`, `f64`, bfloat16 ([`Bf16`]) and float16 ([`F16`]).
//!
//! ```
//! use focal::{Loss, Mode, Reduction, Shape};
//!
//! # fn main() -> Result<(), focal::Error> {
//! let mut loss = Loss::new(Mode::Softmax)?;
//! loss.set_gamma(2.0)?.set_reduction(Reduction::Mean)?;
//!
//! // Two samples, three classes: logits (N, C) and one class index per sample.
//! let shape = Shape::nc(2, 3);
//! let logits = [2.0f32, 0.5, -1.0, 0.1, 0.2, 3.0];
//! let target = [0i64, 2];
//! let mut value = [0.0f32];
//! let mut grad = [0.0f32; 6];
//! loss.forward_backward(shape, &logits, &target, None, Some(&mut value), Some(&mut grad))?;
//! // PyTorch (float64): loss 0.006137, d loss / d logit[0] -0.013642.
//! assert!((value[0] - 0.006137).abs() < 1e-6 && (grad[0] + 0.013642).abs() < 1e-6);
//!
//! // A class index outside [0, 3) is reported with the C library's message.
//! let err = loss.forward(shape, &logits, &[0, 7], None, &mut value).unwrap_err();
//! assert_eq!(err.status(), focal::Status::InvalidTarget);
//! assert_eq!(err.message(), "target[1] = 7 is outside [0, 3)");
//! # Ok(())
//! # }
//! ```
//!
//! # The 1.1 API
//!
//! Data-parallel training: [`Loss::counts`] gives this shard's denominators,
//! [`Reduction::Divisor`] divides the sum by a divisor set from the
//! all-reduced counts (here one shard, so the result is the mean).
//!
//! ```
//! use focal::{Loss, Mode, Reduction, Shape};
//!
//! # fn main() -> Result<(), focal::Error> {
//! let mut loss = Loss::new(Mode::Softmax)?;
//! loss.set_ignore_index(-1)?.set_alpha_vector(&[0.25, 0.5])?;
//! let shape = Shape::nc(3, 2);
//! let (target, weight) = ([0i64, -1, 1], [2.0f64, 3.0, 5.0]);
//! let counts = loss.counts(shape, &target, Some(&weight))?;
//! // 2 non-ignored positions; sum(w * alpha_t) = 2*0.25 + 5*0.5; no positives P in softmax mode.
//! assert_eq!(counts, [2.0, 3.0, 0.0]);
//! loss.set_reduction(Reduction::Divisor)?.set_divisor(counts[0])?;
//! let mut value = [0.0f64];
//! loss.forward(shape, &[0.3, -0.2, 1.0, 1.0, 0.0, 0.0], &target, Some(&weight), &mut value)?;
//! # Ok(())
//! # }
//! ```
//!
//! The focal family in sigmoid mode: QFL's loss is `BCE(x, y) |y - p|^gamma`,
//! so at `x = 0` (`p = 1/2`) and `y = 1` with gamma 2 it is `ln 2 / 4`, and 0
//! where `y = p`. Soft targets also have a gradient: with gamma 0 (binary
//! cross-entropy, `softplus(x) - x y`) it is `-x`.
//!
//! ```
//! use focal::{Loss, Mode, Reduction, Shape, Variant};
//!
//! # fn main() -> Result<(), focal::Error> {
//! let mut qfl = Loss::new(Mode::Sigmoid)?;
//! qfl.set_variant(Variant::Qfl)?.set_gamma(2.0)?.set_reduction(Reduction::None)?;
//! let mut out = [0.0f64; 2];
//! qfl.forward_dense(Shape::nc(1, 2), &[0.0, 0.0], &[1.0, 0.5], None, &mut out)?;
//! assert!((out[0] - std::f64::consts::LN_2 / 4.0).abs() < 1e-15 && out[1] == 0.0);
//!
//! let mut bce = Loss::new(Mode::Sigmoid)?;
//! bce.set_gamma(0.0)?.set_reduction(Reduction::Sum)?;
//! let x = [1.5f64, -0.25, 3.0];
//! let mut grad_target = [0.0f64; 3];
//! bce.backward_target_dense(Shape::nc(1, 3), &x, &[0.2, 0.9, 0.5], None, &[1.0], &mut grad_target)?;
//! for (g, x) in grad_target.iter().zip(&x) {
//!     assert!((g + x).abs() < 1e-12);
//! }
//!
//! // A combination that does not fit fails at the compute call, with the reason.
//! let mut asl = Loss::new(Mode::Softmax)?;
//! asl.set_variant(Variant::Asl)?;
//! let err = asl.forward(Shape::nc(1, 2), &[0.0f64, 0.0], &[1], None, &mut [0.0]).unwrap_err();
//! assert_eq!(err.status(), focal::Status::Incompatible);
//! assert!(err.message().contains("sigmoid mode only"));
//! # Ok(())
//! # }
//! ```
//!
//! Half precision: [`Bf16`] and [`F16`] are `u16` bit patterns
//! (`#[repr(transparent)]`), passed to the C library as they are, without a
//! widening copy; [`Bf16::from_bits_slice`] views a `&[u16]` as `&[Bf16]`.
//! Every stored result is rounded once to nearest even. Empty batches
//! (`n = 0` or `inner = 0`) are valid: reduced values are 0.
//!
//! ```
//! use focal::{Bf16, Loss, Mode, Reduction, Shape};
//!
//! # fn main() -> Result<(), focal::Error> {
//! let mut loss = Loss::new(Mode::Sigmoid)?;
//! loss.set_gamma(0.0)?.set_reduction(Reduction::Sum)?;
//! // One logit 0 with a background target: ln 2, to within bfloat16's half ulp 2^-9.
//! let x = [Bf16::from_f32(0.0)];
//! let mut out = [Bf16::default()];
//! loss.forward(Shape::nc(1, 1), &x, &[1], None, &mut out)?;
//! assert!((out[0].to_f32() - std::f32::consts::LN_2).abs() <= 2f32.powi(-9));
//!
//! loss.forward::<Bf16>(Shape::nc(0, 1), &[], &[], None, &mut out)?;
//! assert_eq!(out[0].to_f32(), 0.0);
//! # Ok(())
//! # }
//! ```
//!
//! The crate's major version is the library's: the first call that creates
//! a context checks that the loaded libfocal has major version
//! [`BINDING_MAJOR`] and otherwise fails with [`Status::Incompatible`] and a
//! message naming both versions ([`check_version_number`]).
//!
//! Errors carry the library's status and the per-thread detail message of
//! `focal_last_error()`, read on the calling thread right after the failing
//! call. Slice lengths are checked against the shape before any C call.
//!
//! A [`Loss`] is `Send` and `Sync`: compute calls and getters take `&self`
//! and may run on many threads at once, as the C library allows, while the
//! setters take `&mut self`, so the borrow checker rules out a setter running
//! concurrently with a compute call.

pub use focal_sys as sys;

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU8, Ordering};

/// The major version of `<focal/focal.h>` this binding was written for.
pub const BINDING_MAJOR: u32 = sys::FOCAL_VERSION_MAJOR;

/// A failure status of libfocal (`focal_status` without `FOCAL_OK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    NullPointer,
    InvalidShape,
    InvalidParameter,
    InvalidTarget,
    InvalidWeight,
    Incompatible,
    OutOfMemory,
    Internal,
    /// A code this binding does not know, from a newer library.
    Unknown(i32),
}

impl Status {
    /// The status for a non-zero `focal_status` value.
    pub fn from_code(code: i32) -> Status {
        match code {
            sys::FOCAL_ERROR_NULL_POINTER => Status::NullPointer,
            sys::FOCAL_ERROR_INVALID_SHAPE => Status::InvalidShape,
            sys::FOCAL_ERROR_INVALID_PARAMETER => Status::InvalidParameter,
            sys::FOCAL_ERROR_INVALID_TARGET => Status::InvalidTarget,
            sys::FOCAL_ERROR_INVALID_WEIGHT => Status::InvalidWeight,
            sys::FOCAL_ERROR_INCOMPATIBLE => Status::Incompatible,
            sys::FOCAL_ERROR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::FOCAL_ERROR_INTERNAL => Status::Internal,
            other => Status::Unknown(other),
        }
    }

    /// The `focal_status` value.
    pub fn code(self) -> i32 {
        match self {
            Status::NullPointer => sys::FOCAL_ERROR_NULL_POINTER,
            Status::InvalidShape => sys::FOCAL_ERROR_INVALID_SHAPE,
            Status::InvalidParameter => sys::FOCAL_ERROR_INVALID_PARAMETER,
            Status::InvalidTarget => sys::FOCAL_ERROR_INVALID_TARGET,
            Status::InvalidWeight => sys::FOCAL_ERROR_INVALID_WEIGHT,
            Status::Incompatible => sys::FOCAL_ERROR_INCOMPATIBLE,
            Status::OutOfMemory => sys::FOCAL_ERROR_OUT_OF_MEMORY,
            Status::Internal => sys::FOCAL_ERROR_INTERNAL,
            Status::Unknown(code) => code,
        }
    }

    /// The library's short description, e.g. "invalid target".
    pub fn description(self) -> String {
        // focal_status_string never returns NULL and points to static storage.
        unsafe { cstr_to_string(sys::focal_status_string(self.code())) }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description())
    }
}

/// An error from libfocal or from the binding's own checks (slice lengths,
/// shapes, the library version), which use the status the C library would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The detail message, e.g. `"target[1] = 7 is outside [0, 3)"`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Reads this thread's focal_last_error(); call it straight after the
    /// failing call, before any other call into the library.
    fn last(code: sys::focal_status) -> Error {
        let message = unsafe { cstr_to_string(sys::focal_last_error()) };
        Error::new(Status::from_code(code), message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "focal: {}", self.status)
        } else {
            write!(f, "focal: {}: {}", self.status, self.message)
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

unsafe fn cstr_to_string(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn check(code: sys::focal_status) -> Result<()> {
    if code == sys::FOCAL_OK {
        Ok(())
    } else {
        Err(Error::last(code))
    }
}

/// The loaded library's version as major*10000 + minor*100 + patch.
pub fn version_number() -> u32 {
    unsafe { sys::focal_version_number() }
}

/// The loaded library's version as "major.minor.patch".
pub fn version_string() -> String {
    unsafe { cstr_to_string(sys::focal_version_string()) }
}

/// The kernel path the library computes with in this process: "avx2" or
/// "scalar" (the portable path, also forced by FOCAL_MAX_ISA=scalar in the
/// environment before the first call into the library).
pub fn isa() -> String {
    unsafe { cstr_to_string(sys::focal_isa()) }
}

/// Whether a library reporting `number` (as focal_version_number() does)
/// can be used by this binding: its major version must be [`BINDING_MAJOR`].
pub fn check_version_number(number: u32) -> Result<()> {
    let major = number / 10000;
    if major == BINDING_MAJOR {
        Ok(())
    } else {
        Err(Error::new(
            Status::Incompatible,
            format!(
                "the loaded libfocal is version {}.{}.{} (major {}), but this binding was \
                 written for major version {} ({}); install a libfocal {}.x or a matching binding",
                major,
                number / 100 % 100,
                number % 100,
                major,
                BINDING_MAJOR,
                sys::FOCAL_VERSION_STRING,
                BINDING_MAJOR
            ),
        ))
    }
}

const VERSION_UNCHECKED: u8 = 0;
const VERSION_OK: u8 = 1;
static VERSION_STATE: AtomicU8 = AtomicU8::new(VERSION_UNCHECKED);

/// Checks the loaded library's major version once; every entry point that
/// does more than report the version goes through here first.
fn ensure_version() -> Result<()> {
    if VERSION_STATE.load(Ordering::Acquire) == VERSION_OK {
        return Ok(());
    }
    check_version_number(version_number())?;
    VERSION_STATE.store(VERSION_OK, Ordering::Release);
    Ok(())
}

macro_rules! c_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident = $value:path),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub fn to_raw(self) -> c_int {
                match self {
                    $($name::$variant => $value),+
                }
            }

            pub fn from_raw(raw: c_int) -> Result<$name> {
                match raw {
                    $(x if x == $value => Ok($name::$variant),)+
                    other => Err(Error::new(
                        Status::Internal,
                        format!(concat!("the library returned ", $what, " {}, unknown to this binding"), other),
                    )),
                }
            }
        }
    };
}

c_enum!(
    /// `focal_mode`.
    Mode, "focal_mode", {
        Softmax = sys::FOCAL_MODE_SOFTMAX,
        Sigmoid = sys::FOCAL_MODE_SIGMOID,
    }
);

c_enum!(
    /// `focal_reduction`.
    Reduction, "focal_reduction", {
        None = sys::FOCAL_REDUCTION_NONE,
        Mean = sys::FOCAL_REDUCTION_MEAN,
        Sum = sys::FOCAL_REDUCTION_SUM,
        WeightedMean = sys::FOCAL_REDUCTION_WEIGHTED_MEAN,
        SumOverPositives = sys::FOCAL_REDUCTION_SUM_OVER_POSITIVES,
        Divisor = sys::FOCAL_REDUCTION_DIVISOR,
    }
);

c_enum!(
    /// `focal_input`.
    Input, "focal_input", {
        Logits = sys::FOCAL_INPUT_LOGITS,
        Probabilities = sys::FOCAL_INPUT_PROBABILITIES,
    }
);

c_enum!(
    /// `focal_variant`.
    Variant, "focal_variant", {
        Fl = sys::FOCAL_VARIANT_FL,
        FlStar = sys::FOCAL_VARIANT_FL_STAR,
        Qfl = sys::FOCAL_VARIANT_QFL,
        Vfl = sys::FOCAL_VARIANT_VFL,
        Asl = sys::FOCAL_VARIANT_ASL,
    }
);

c_enum!(
    /// `focal_soft_form`: how sigmoid mode treats soft targets.
    SoftForm, "focal_soft_form", {
        Torchvision = sys::FOCAL_SOFT_TORCHVISION,
        Split = sys::FOCAL_SOFT_SPLIT,
    }
);

/// The alpha setting of a context.
#[derive(Clone, Debug, PartialEq)]
pub enum Alpha {
    None,
    Scalar(f64),
    Vector(Vec<f64>),
}

/// The logical shape (n, c, inner) of the input: (N, C) is `Shape::nc(N, C)`,
/// (n = 0 or inner = 0 is an empty batch: reduced values are 0, nothing else
/// is written),
/// (N, C, H, W) is `Shape::new(N, C, H * W)`, channels-last (N, H, W, C) is
/// `Shape::nc(N * H * W, C)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub n: usize,
    pub c: usize,
    pub inner: usize,
}

impl Shape {
    pub fn new(n: usize, c: usize, inner: usize) -> Shape {
        Shape { n, c, inner }
    }

    pub fn nc(n: usize, c: usize) -> Shape {
        Shape { n, c, inner: 1 }
    }

    /// n * c * inner, or an InvalidShape error when it overflows.
    pub fn elements(&self) -> Result<usize> {
        self.dims().map(|d| d.elements)
    }

    /// n * inner, or an InvalidShape error when it overflows.
    pub fn positions(&self) -> Result<usize> {
        self.dims().map(|d| d.positions)
    }

    fn dims(&self) -> Result<Dims> {
        if self.c < 1 {
            return Err(Error::new(
                Status::InvalidShape,
                format!("shape {:?}: c must be at least 1", self),
            ));
        }
        let overflow = || {
            Error::new(
                Status::InvalidShape,
                format!("shape {:?}: n*c*inner overflows", self),
            )
        };
        let positions = self.n.checked_mul(self.inner).ok_or_else(overflow)?;
        let elements = positions.checked_mul(self.c).ok_or_else(overflow)?;
        let as_i64 = |v: usize| i64::try_from(v).map_err(|_| overflow());
        as_i64(elements)?;
        Ok(Dims {
            n: as_i64(self.n)?,
            c: as_i64(self.c)?,
            inner: as_i64(self.inner)?,
            positions,
            elements,
        })
    }
}

struct Dims {
    n: i64,
    c: i64,
    inner: i64,
    positions: usize,
    elements: usize,
}

fn expect_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::new(
            Status::InvalidShape,
            format!("{} has {} values but the shape needs {}", what, got, want),
        ))
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for super::Bf16 {}
    impl Sealed for super::F16 {}
}

type Ctx = *const sys::focal_loss;

/// The C entry points of one storage type, `R` its C element type.
#[doc(hidden)]
pub struct Fns<R> {
    forward: unsafe extern "C" fn(Ctx, i64, i64, i64, *const R, *const i64, *const R, *mut R)
        -> sys::focal_status,
    backward: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const R, *const i64, *const R, *const R, *mut R,
    ) -> sys::focal_status,
    forward_backward: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const R, *const i64, *const R, *mut R, *mut R,
    ) -> sys::focal_status,
    forward_dense: unsafe extern "C" fn(Ctx, i64, i64, i64, *const R, *const R, *const R, *mut R)
        -> sys::focal_status,
    backward_dense: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const R, *const R, *const R, *const R, *mut R,
    ) -> sys::focal_status,
    forward_backward_dense: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const R, *const R, *const R, *mut R, *mut R,
    ) -> sys::focal_status,
    counts: unsafe extern "C" fn(Ctx, i64, i64, i64, *const i64, *const R, *mut f64)
        -> sys::focal_status,
    counts_dense: unsafe extern "C" fn(Ctx, i64, i64, i64, *const R, *const R, *mut f64)
        -> sys::focal_status,
}

/// The storage types libfocal computes on: `f32`, `f64`, [`Bf16`] and
/// [`F16`]. Input, dense target, weight, out and gradients of one call all
/// have the same storage type; index targets are `i64`.
pub trait Element:
    Copy + Default + PartialEq + fmt::Debug + Send + Sync + private::Sealed + 'static
{
    /// "f32", "f64", "bf16" or "f16".
    const NAME: &'static str;
    #[doc(hidden)]
    type Raw;
    #[doc(hidden)]
    const FNS: Fns<Self::Raw>;
}

/// The element types with a float arithmetic of their own: `f32` and `f64`.
pub trait Float: Element + PartialOrd {
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    #[doc(hidden)]
    const BACKWARD_TARGET_DENSE: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const Self, *const Self, *const Self, *const Self, *mut Self,
    ) -> sys::focal_status;
}

macro_rules! impl_element {
    ($t:ty, $raw:ty, $name:literal, $fwd:ident, $bwd:ident, $fb:ident, $fwd_d:ident,
     $bwd_d:ident, $fb_d:ident, $counts:ident, $counts_d:ident) => {
        impl Element for $t {
            const NAME: &'static str = $name;
            type Raw = $raw;
            const FNS: Fns<$raw> = Fns {
                forward: sys::$fwd,
                backward: sys::$bwd,
                forward_backward: sys::$fb,
                forward_dense: sys::$fwd_d,
                backward_dense: sys::$bwd_d,
                forward_backward_dense: sys::$fb_d,
                counts: sys::$counts,
                counts_dense: sys::$counts_d,
            };
        }
    };
}

impl_element!(f32, f32, "f32", focal_forward_f32, focal_backward_f32,
    focal_forward_backward_f32, focal_forward_dense_f32, focal_backward_dense_f32,
    focal_forward_backward_dense_f32, focal_counts_f32, focal_counts_dense_f32);
impl_element!(f64, f64, "f64", focal_forward_f64, focal_backward_f64,
    focal_forward_backward_f64, focal_forward_dense_f64, focal_backward_dense_f64,
    focal_forward_backward_dense_f64, focal_counts_f64, focal_counts_dense_f64);
impl_element!(Bf16, u16, "bf16", focal_forward_bf16, focal_backward_bf16,
    focal_forward_backward_bf16, focal_forward_dense_bf16, focal_backward_dense_bf16,
    focal_forward_backward_dense_bf16, focal_counts_bf16, focal_counts_dense_bf16);
impl_element!(F16, u16, "f16", focal_forward_f16, focal_backward_f16,
    focal_forward_backward_f16, focal_forward_dense_f16, focal_backward_dense_f16,
    focal_forward_backward_dense_f16, focal_counts_f16, focal_counts_dense_f16);

impl Float for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    const BACKWARD_TARGET_DENSE: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const f32, *const f32, *const f32, *const f32, *mut f32,
    ) -> sys::focal_status = sys::focal_backward_target_dense_f32;
}

impl Float for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    const BACKWARD_TARGET_DENSE: unsafe extern "C" fn(
        Ctx, i64, i64, i64, *const f64, *const f64, *const f64, *const f64, *mut f64,
    ) -> sys::focal_status = sys::focal_backward_target_dense_f64;
}

macro_rules! half_type {
    ($(#[$meta:meta])* $name:ident, $mant:expr) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub u16);

        impl $name {
            /// The value with this bit pattern.
            pub const fn from_bits(bits: u16) -> $name {
                $name(bits)
            }

            pub const fn to_bits(self) -> u16 {
                self.0
            }

            /// Views bit patterns as values, without copying.
            pub fn from_bits_slice(bits: &[u16]) -> &[$name] {
                // repr(transparent) over u16: same size, alignment and validity.
                unsafe { std::slice::from_raw_parts(bits.as_ptr() as *const $name, bits.len()) }
            }

            /// Views bit patterns as values, without copying.
            pub fn from_bits_slice_mut(bits: &mut [u16]) -> &mut [$name] {
                unsafe {
                    std::slice::from_raw_parts_mut(bits.as_mut_ptr() as *mut $name, bits.len())
                }
            }

            /// The bit patterns of the values, without copying.
            pub fn as_bits(values: &[$name]) -> &[u16] {
                unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u16, values.len()) }
            }

            /// The value, exactly.
            pub fn to_f32(self) -> f32 {
                half_to_f32(self.0, $mant)
            }

            /// `v` rounded once to nearest even (NaN stays NaN; beyond the
            /// largest finite value it rounds to infinity).
            pub fn from_f32(v: f32) -> $name {
                $name(f32_to_half(v, $mant))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#06x} = {:?})", stringify!($name), self.0, self.to_f32())
            }
        }
    };
}

half_type!(
    /// A bfloat16 value (`uint16_t` bit pattern in the C API: the upper half
    /// of an IEEE binary32).
    Bf16, 7
);
half_type!(
    /// An IEEE binary16 value (`uint16_t` bit pattern in the C API).
    F16, 10
);

/// The 16-bit format with 1 sign bit, `mant` mantissa bits and 15 - mant
/// exponent bits, decoded exactly.
fn half_to_f32(bits: u16, mant: u32) -> f32 {
    let exp_bits = 15 - mant;
    let bias = (1i32 << (exp_bits - 1)) - 1;
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let e = ((bits as u32 >> mant) & ((1 << exp_bits) - 1)) as i32;
    let m = (bits as u32 & ((1 << mant) - 1)) as f32;
    let scale = (1u32 << mant) as f32;
    if e == (1 << exp_bits) - 1 {
        return if m == 0.0 { sign * f32::INFINITY } else { f32::NAN };
    }
    let (frac, exp) = if e == 0 { (m / scale, 1 - bias) } else { (1.0 + m / scale, e - bias) };
    sign * frac * 2f32.powi(exp)
}

/// Rounds a float32 to the 16-bit format of [`half_to_f32`], to nearest even.
fn f32_to_half(v: f32, mant: u32) -> u16 {
    let exp_bits = 15 - mant;
    let bias = (1i32 << (exp_bits - 1)) - 1;
    let sign = if v.is_sign_negative() { 0x8000u16 } else { 0 };
    let inf = (((1u32 << exp_bits) - 1) << mant) as u16;
    if v.is_nan() {
        return sign | inf | (1 << (mant - 1));
    }
    let a = v.abs() as f64; // exact
    if a.is_infinite() {
        return sign | inf;
    }
    if a == 0.0 {
        return sign;
    }
    // The spacing of the target format at a: 2^(max(exponent of a, emin) - mant).
    let emin = 1 - bias;
    let e = (a.log2().floor() as i32).max(emin);
    let e = if a >= 2f64.powi(e + 1) { e + 1 } else { e }; // guard log2 rounding
    let ulp = 2f64.powi(e - mant as i32);
    let q = a / ulp; // exact: a has 24 significant bits, ulp is a power of two
    let mut r = q.floor();
    let rest = q - r;
    if rest > 0.5 || (rest == 0.5 && r % 2.0 == 1.0) {
        r += 1.0;
    }
    let rounded = r * ulp;
    let emax = bias;
    if rounded >= 2f64.powi(emax + 1) {
        return sign | inf;
    }
    // Encode the rounded value.
    if rounded < 2f64.powi(emin) {
        return sign | (rounded / 2f64.powi(emin - mant as i32)) as u16;
    }
    let e = rounded.log2().floor() as i32;
    let e = if rounded >= 2f64.powi(e + 1) { e + 1 } else if rounded < 2f64.powi(e) { e - 1 } else { e };
    let m = (rounded / 2f64.powi(e - mant as i32)) as u32 - (1 << mant);
    sign | (((e + bias) as u32) << mant | m) as u16
}

fn raw_ptr<T: Element>(s: &[T]) -> *const T::Raw {
    s.as_ptr() as *const T::Raw
}

fn opt_ptr<T: Element>(s: Option<&[T]>) -> *const T::Raw {
    s.map_or(ptr::null(), raw_ptr)
}

fn opt_mut_ptr<T: Element>(s: &mut Option<&mut [T]>) -> *mut T::Raw {
    match s {
        Some(s) => s.as_mut_ptr() as *mut T::Raw,
        None => ptr::null_mut(),
    }
}

/// The targets of one compute call.
#[derive(Clone, Copy)]
enum Targets<'a, T> {
    Index(&'a [i64]),
    Dense(&'a [T]),
}

/// A focal loss context (`focal_loss *`): the settings, created with the
/// defaults of `focal_loss_create` and destroyed on drop.
pub struct Loss {
    raw: NonNull<sys::focal_loss>,
}

// The C library documents that a context is never modified by a compute
// call or a getter, so shared references may be used from any number of
// threads; setters need `&mut self`.
unsafe impl Send for Loss {}
unsafe impl Sync for Loss {}

impl Loss {
    /// A context with the library's defaults: gamma 2, no alpha, reduction
    /// Mean, no ignore index, logits input, epsilon 1e-7, no label
    /// smoothing, variant FL, beta 0, threads 0.
    pub fn new(mode: Mode) -> Result<Loss> {
        ensure_version()?;
        let mut raw: *mut sys::focal_loss = ptr::null_mut();
        check(unsafe { sys::focal_loss_create(&mut raw, mode.to_raw()) })?;
        Loss::from_created(raw)
    }

    /// A deep copy of the context (the alpha vector included).
    pub fn try_clone(&self) -> Result<Loss> {
        let mut raw: *mut sys::focal_loss = ptr::null_mut();
        check(unsafe { sys::focal_loss_clone(self.raw.as_ptr(), &mut raw) })?;
        Loss::from_created(raw)
    }

    fn from_created(raw: *mut sys::focal_loss) -> Result<Loss> {
        NonNull::new(raw).map(|raw| Loss { raw }).ok_or_else(|| {
            Error::new(
                Status::Internal,
                "the library reported success but returned NULL",
            )
        })
    }

    /// The underlying `focal_loss *`, for calls the binding does not wrap.
    /// It stays owned by `self`.
    pub fn as_ptr(&self) -> *const sys::focal_loss {
        self.raw.as_ptr()
    }

    /// The underlying mutable `focal_loss *`; see [`Loss::as_ptr`].
    pub fn as_mut_ptr(&mut self) -> *mut sys::focal_loss {
        self.raw.as_ptr()
    }

    // ---- setters ------------------------------------------------------

    fn set<V>(
        &mut self,
        f: unsafe extern "C" fn(*mut sys::focal_loss, V) -> sys::focal_status,
        value: V,
    ) -> Result<&mut Self> {
        check(unsafe { f(self.raw.as_ptr(), value) })?;
        Ok(self)
    }

    /// Finite and >= 0; 0 is cross-entropy.
    pub fn set_gamma(&mut self, gamma: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_gamma, gamma)
    }

    /// A scalar alpha (replaces an alpha vector).
    pub fn set_alpha(&mut self, alpha: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_alpha, alpha)
    }

    /// A per-class alpha, copied; compute calls then need c == alpha.len().
    pub fn set_alpha_vector(&mut self, alpha: &[f64]) -> Result<&mut Self> {
        let count = i64::try_from(alpha.len())
            .map_err(|_| Error::new(Status::InvalidShape, "alpha vector too long"))?;
        check(unsafe {
            sys::focal_loss_set_alpha_vector(self.raw.as_ptr(), alpha.as_ptr(), count)
        })?;
        Ok(self)
    }

    /// Sets [`Alpha::None`], a scalar or a vector in one call.
    pub fn set_alpha_setting(&mut self, alpha: &Alpha) -> Result<&mut Self> {
        match alpha {
            Alpha::None => self.clear_alpha(),
            Alpha::Scalar(a) => self.set_alpha(*a),
            Alpha::Vector(v) => self.set_alpha_vector(v),
        }
    }

    /// Back to no alpha (alpha_t = 1).
    pub fn clear_alpha(&mut self) -> Result<&mut Self> {
        check(unsafe { sys::focal_loss_clear_alpha(self.raw.as_ptr()) })?;
        Ok(self)
    }

    pub fn set_reduction(&mut self, reduction: Reduction) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_reduction, reduction.to_raw())
    }

    /// A target value meaning "ignore this position" (index targets only).
    pub fn set_ignore_index(&mut self, index: i64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_ignore_index, index)
    }

    pub fn clear_ignore_index(&mut self) -> Result<&mut Self> {
        check(unsafe { sys::focal_loss_clear_ignore_index(self.raw.as_ptr()) })?;
        Ok(self)
    }

    pub fn set_input(&mut self, input: Input) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_input, input.to_raw())
    }

    /// The clipping bound for probabilities input, in (0, 0.5).
    pub fn set_epsilon(&mut self, epsilon: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_epsilon, epsilon)
    }

    /// Label smoothing in [0, 1).
    pub fn set_label_smoothing(&mut self, smoothing: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_label_smoothing, smoothing)
    }

    pub fn set_variant(&mut self, variant: Variant) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_variant, variant.to_raw())
    }

    /// The FL* shift, finite.
    pub fn set_beta(&mut self, beta: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_beta, beta)
    }

    /// The divisor of [`Reduction::Divisor`] (sum / divisor): finite and
    /// >= 0, default 1. See [`Loss::counts`] for data-parallel training.
    pub fn set_divisor(&mut self, divisor: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_divisor, divisor)
    }

    /// Sigmoid mode, variant FL: the torchvision form (default) or the split
    /// form for soft targets.
    pub fn set_soft_form(&mut self, form: SoftForm) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_soft_form, form.to_raw())
    }

    /// A per-class positive weight (sigmoid mode, variant FL), copied;
    /// finite, >= 0; compute calls then need c == pos_weight.len().
    pub fn set_pos_weight_vector(&mut self, pos_weight: &[f64]) -> Result<&mut Self> {
        let count = i64::try_from(pos_weight.len())
            .map_err(|_| Error::new(Status::InvalidShape, "pos_weight vector too long"))?;
        check(unsafe {
            sys::focal_loss_set_pos_weight_vector(self.raw.as_ptr(), pos_weight.as_ptr(), count)
        })?;
        Ok(self)
    }

    /// Back to no pos_weight (1 for every class).
    pub fn clear_pos_weight(&mut self) -> Result<&mut Self> {
        check(unsafe { sys::focal_loss_clear_pos_weight(self.raw.as_ptr()) })?;
        Ok(self)
    }

    /// ASL's exponent of the negative term: finite, >= 0, default 4.
    pub fn set_gamma_negative(&mut self, gamma: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_gamma_negative, gamma)
    }

    /// ASL's probability margin, in [0, 1), default 0.05.
    pub fn set_clip(&mut self, clip: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_clip, clip)
    }

    /// Poly-1's epsilon (variant FL), finite, default 0 (plain FL).
    pub fn set_poly_epsilon(&mut self, epsilon: f64) -> Result<&mut Self> {
        self.set(sys::focal_loss_set_poly_epsilon, epsilon)
    }

    /// Threads a compute call may use; 0 is the library's default.
    pub fn set_threads(&mut self, threads: u32) -> Result<&mut Self> {
        let threads = c_int::try_from(threads).map_err(|_| {
            Error::new(
                Status::InvalidParameter,
                format!("threads = {} does not fit a C int", threads),
            )
        })?;
        self.set(sys::focal_loss_set_threads, threads)
    }

    // ---- getters ------------------------------------------------------

    fn get<T: Default>(
        &self,
        f: unsafe extern "C" fn(*const sys::focal_loss, *mut T) -> sys::focal_status,
    ) -> Result<T> {
        let mut value = T::default();
        check(unsafe { f(self.raw.as_ptr(), &mut value) })?;
        Ok(value)
    }

    pub fn mode(&self) -> Result<Mode> {
        Mode::from_raw(self.get(sys::focal_loss_get_mode)?)
    }

    pub fn gamma(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_gamma)
    }

    /// The alpha setting. Reading "no alpha" goes through a failing
    /// focal_loss_get_alpha call, which sets this thread's last error.
    pub fn alpha(&self) -> Result<Alpha> {
        let count: i64 = self.get(sys::focal_loss_get_alpha_count)?;
        if count > 0 {
            let len = usize::try_from(count).map_err(|_| {
                Error::new(Status::Internal, "alpha vector length does not fit usize")
            })?;
            let mut values = vec![0.0f64; len];
            check(unsafe {
                sys::focal_loss_get_alpha_vector(self.raw.as_ptr(), values.as_mut_ptr(), count)
            })?;
            return Ok(Alpha::Vector(values));
        }
        match self.get(sys::focal_loss_get_alpha) {
            Ok(a) => Ok(Alpha::Scalar(a)),
            Err(e) if e.status() == Status::Incompatible => Ok(Alpha::None),
            Err(e) => Err(e),
        }
    }

    pub fn reduction(&self) -> Result<Reduction> {
        Reduction::from_raw(self.get(sys::focal_loss_get_reduction)?)
    }

    /// The ignore index, or None when none is set (like [`Loss::alpha`],
    /// reading None sets this thread's last error).
    pub fn ignore_index(&self) -> Result<Option<i64>> {
        match self.get(sys::focal_loss_get_ignore_index) {
            Ok(i) => Ok(Some(i)),
            Err(e) if e.status() == Status::Incompatible => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn input(&self) -> Result<Input> {
        Input::from_raw(self.get(sys::focal_loss_get_input)?)
    }

    pub fn epsilon(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_epsilon)
    }

    pub fn label_smoothing(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_label_smoothing)
    }

    pub fn variant(&self) -> Result<Variant> {
        Variant::from_raw(self.get(sys::focal_loss_get_variant)?)
    }

    pub fn beta(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_beta)
    }

    pub fn divisor(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_divisor)
    }

    pub fn soft_form(&self) -> Result<SoftForm> {
        SoftForm::from_raw(self.get(sys::focal_loss_get_soft_form)?)
    }

    /// The pos_weight vector, or None when none is set.
    pub fn pos_weight(&self) -> Result<Option<Vec<f64>>> {
        let count: i64 = self.get(sys::focal_loss_get_pos_weight_count)?;
        if count == 0 {
            return Ok(None);
        }
        let len = usize::try_from(count)
            .map_err(|_| Error::new(Status::Internal, "pos_weight length does not fit usize"))?;
        let mut values = vec![0.0f64; len];
        check(unsafe {
            sys::focal_loss_get_pos_weight_vector(self.raw.as_ptr(), values.as_mut_ptr(), count)
        })?;
        Ok(Some(values))
    }

    pub fn gamma_negative(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_gamma_negative)
    }

    pub fn clip(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_clip)
    }

    pub fn poly_epsilon(&self) -> Result<f64> {
        self.get(sys::focal_loss_get_poly_epsilon)
    }

    pub fn threads(&self) -> Result<u32> {
        let t: c_int = self.get(sys::focal_loss_get_threads)?;
        u32::try_from(t).map_err(|_| {
            Error::new(
                Status::Internal,
                format!("the library returned threads = {}", t),
            )
        })
    }

    // ---- compute ------------------------------------------------------

    /// The length of `out` (and `grad_out`) for this shape and the current
    /// settings: 1 when reduced; with Reduction::None n*inner (softmax) or
    /// n*c*inner (sigmoid).
    pub fn out_len(&self, shape: Shape) -> Result<usize> {
        let dims = shape.dims()?;
        self.out_len_dims(&dims)
    }

    fn out_len_dims(&self, dims: &Dims) -> Result<usize> {
        if self.reduction()? != Reduction::None {
            return Ok(1);
        }
        Ok(match self.mode()? {
            Mode::Softmax => dims.positions,
            Mode::Sigmoid => dims.elements,
        })
    }

    fn check_common<T>(
        &self,
        shape: Shape,
        input: &[T],
        target: Targets<'_, T>,
        weight: Option<&[T]>,
    ) -> Result<Dims> {
        let dims = shape.dims()?;
        expect_len("input", input.len(), dims.elements)?;
        match target {
            Targets::Index(t) => expect_len(
                "target (one class index per position)",
                t.len(),
                dims.positions,
            )?,
            Targets::Dense(t) => {
                expect_len("target (dense, shaped like input)", t.len(), dims.elements)?
            }
        }
        if let Some(w) = weight {
            expect_len("weight (one per position)", w.len(), dims.positions)?;
        }
        Ok(dims)
    }

    fn forward_impl<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: Targets<'_, T>,
        weight: Option<&[T]>,
        out: &mut [T],
    ) -> Result<()> {
        let d = self.check_common(shape, input, target, weight)?;
        expect_len("out", out.len(), self.out_len_dims(&d)?)?;
        let (l, x, w, o) = (
            self.raw.as_ptr(),
            raw_ptr(input),
            opt_ptr(weight),
            out.as_mut_ptr() as *mut T::Raw,
        );
        check(unsafe {
            match target {
                Targets::Index(t) => (T::FNS.forward)(l, d.n, d.c, d.inner, x, t.as_ptr(), w, o),
                Targets::Dense(t) => {
                    (T::FNS.forward_dense)(l, d.n, d.c, d.inner, x, raw_ptr(t), w, o)
                }
            }
        })
    }

    fn backward_impl<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: Targets<'_, T>,
        weight: Option<&[T]>,
        grad_out: &[T],
        grad_input: &mut [T],
    ) -> Result<()> {
        let d = self.check_common(shape, input, target, weight)?;
        expect_len(
            "grad_out (shaped like out)",
            grad_out.len(),
            self.out_len_dims(&d)?,
        )?;
        expect_len(
            "grad_input (shaped like input)",
            grad_input.len(),
            d.elements,
        )?;
        let (l, x, w) = (self.raw.as_ptr(), raw_ptr(input), opt_ptr(weight));
        let (go, gi) = (raw_ptr(grad_out), grad_input.as_mut_ptr() as *mut T::Raw);
        check(unsafe {
            match target {
                Targets::Index(t) => {
                    (T::FNS.backward)(l, d.n, d.c, d.inner, x, t.as_ptr(), w, go, gi)
                }
                Targets::Dense(t) => {
                    (T::FNS.backward_dense)(l, d.n, d.c, d.inner, x, raw_ptr(t), w, go, gi)
                }
            }
        })
    }

    fn forward_backward_impl<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: Targets<'_, T>,
        weight: Option<&[T]>,
        mut out: Option<&mut [T]>,
        mut grad_input: Option<&mut [T]>,
    ) -> Result<()> {
        let d = self.check_common(shape, input, target, weight)?;
        if let Some(o) = &out {
            expect_len("out", o.len(), self.out_len_dims(&d)?)?;
        }
        if let Some(g) = &grad_input {
            expect_len("grad_input (shaped like input)", g.len(), d.elements)?;
        }
        let (l, x, w) = (self.raw.as_ptr(), raw_ptr(input), opt_ptr(weight));
        let (o, gi) = (opt_mut_ptr(&mut out), opt_mut_ptr(&mut grad_input));
        check(unsafe {
            match target {
                Targets::Index(t) => {
                    (T::FNS.forward_backward)(l, d.n, d.c, d.inner, x, t.as_ptr(), w, o, gi)
                }
                Targets::Dense(t) => {
                    (T::FNS.forward_backward_dense)(l, d.n, d.c, d.inner, x, raw_ptr(t), w, o, gi)
                }
            }
        })
    }

    /// The loss for index targets (one class index per position, n*inner).
    /// `out` has [`Loss::out_len`] values.
    pub fn forward<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[i64],
        weight: Option<&[T]>,
        out: &mut [T],
    ) -> Result<()> {
        self.forward_impl(shape, input, Targets::Index(target), weight, out)
    }

    /// The gradient of sum(grad_out * out) with respect to the input.
    pub fn backward<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[i64],
        weight: Option<&[T]>,
        grad_out: &[T],
        grad_input: &mut [T],
    ) -> Result<()> {
        self.backward_impl(
            shape,
            input,
            Targets::Index(target),
            weight,
            grad_out,
            grad_input,
        )
    }

    /// The loss and the gradient of the reduced loss (with Reduction::None:
    /// of the sum of out) in one pass; either output may be None to skip it.
    pub fn forward_backward<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[i64],
        weight: Option<&[T]>,
        out: Option<&mut [T]>,
        grad_input: Option<&mut [T]>,
    ) -> Result<()> {
        self.forward_backward_impl(
            shape,
            input,
            Targets::Index(target),
            weight,
            out,
            grad_input,
        )
    }

    /// [`Loss::forward`] with dense targets shaped like the input.
    pub fn forward_dense<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[T],
        weight: Option<&[T]>,
        out: &mut [T],
    ) -> Result<()> {
        self.forward_impl(shape, input, Targets::Dense(target), weight, out)
    }

    /// [`Loss::backward`] with dense targets shaped like the input.
    pub fn backward_dense<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[T],
        weight: Option<&[T]>,
        grad_out: &[T],
        grad_input: &mut [T],
    ) -> Result<()> {
        self.backward_impl(
            shape,
            input,
            Targets::Dense(target),
            weight,
            grad_out,
            grad_input,
        )
    }

    /// [`Loss::forward_backward`] with dense targets shaped like the input.
    pub fn forward_backward_dense<T: Element>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[T],
        weight: Option<&[T]>,
        out: Option<&mut [T]>,
        grad_input: Option<&mut [T]>,
    ) -> Result<()> {
        self.forward_backward_impl(
            shape,
            input,
            Targets::Dense(target),
            weight,
            out,
            grad_input,
        )
    }

    fn counts_impl<T: Element>(
        &self,
        shape: Shape,
        target: Targets<'_, T>,
        weight: Option<&[T]>,
    ) -> Result<[f64; 3]> {
        let d = shape.dims()?;
        match target {
            Targets::Index(t) => expect_len(
                "target (one class index per position)",
                t.len(),
                d.positions,
            )?,
            Targets::Dense(t) => {
                expect_len("target (dense, shaped like input)", t.len(), d.elements)?
            }
        }
        if let Some(w) = weight {
            expect_len("weight (one per position)", w.len(), d.positions)?;
        }
        let mut counts = [0.0f64; 3];
        let (l, w, out) = (self.raw.as_ptr(), opt_ptr(weight), counts.as_mut_ptr());
        check(unsafe {
            match target {
                Targets::Index(t) => (T::FNS.counts)(l, d.n, d.c, d.inner, t.as_ptr(), w, out),
                Targets::Dense(t) => {
                    (T::FNS.counts_dense)(l, d.n, d.c, d.inner, raw_ptr(t), w, out)
                }
            }
        })?;
        Ok(counts)
    }

    /// This shard's denominators for index targets, before any max(1, .):
    /// `[non-ignored positions (softmax) or elements (sigmoid), sum(w *
    /// alpha_t), positives P (0 in softmax mode)]`, exactly those a compute
    /// call with the same settings and arguments uses. Validates settings,
    /// target and weight as a compute call does; reads no input.
    pub fn counts<T: Element>(
        &self,
        shape: Shape,
        target: &[i64],
        weight: Option<&[T]>,
    ) -> Result<[f64; 3]> {
        self.counts_impl(shape, Targets::Index(target), weight)
    }

    /// [`Loss::counts`] with dense targets shaped like the input.
    pub fn counts_dense<T: Element>(
        &self,
        shape: Shape,
        target: &[T],
        weight: Option<&[T]>,
    ) -> Result<[f64; 3]> {
        self.counts_impl(shape, Targets::Dense(target), weight)
    }

    /// The gradient of sum(grad_out * out) with respect to the dense
    /// targets (through the denominators too; with label smoothing, with
    /// respect to the unsmoothed target), into `grad_target` shaped like the
    /// input.
    pub fn backward_target_dense<T: Float>(
        &self,
        shape: Shape,
        input: &[T],
        target: &[T],
        weight: Option<&[T]>,
        grad_out: &[T],
        grad_target: &mut [T],
    ) -> Result<()> {
        let d = self.check_common(shape, input, Targets::Dense(target), weight)?;
        expect_len(
            "grad_out (shaped like out)",
            grad_out.len(),
            self.out_len_dims(&d)?,
        )?;
        expect_len(
            "grad_target (shaped like input)",
            grad_target.len(),
            d.elements,
        )?;
        let w = weight.map_or(ptr::null(), |w| w.as_ptr());
        check(unsafe {
            T::BACKWARD_TARGET_DENSE(
                self.raw.as_ptr(),
                d.n,
                d.c,
                d.inner,
                input.as_ptr(),
                target.as_ptr(),
                w,
                grad_out.as_ptr(),
                grad_target.as_mut_ptr(),
            )
        })
    }
}

impl Clone for Loss {
    /// Panics only when the library runs out of memory; use
    /// [`Loss::try_clone`] to handle that.
    fn clone(&self) -> Loss {
        match self.try_clone() {
            Ok(loss) => loss,
            Err(e) => panic!("focal_loss_clone failed: {}", e),
        }
    }
}

impl Drop for Loss {
    fn drop(&mut self) {
        unsafe { sys::focal_loss_destroy(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Loss");
        s.field("ptr", &self.raw);
        if let Ok(m) = self.mode() {
            s.field("mode", &m);
        }
        if let Ok(g) = self.gamma() {
            s.field("gamma", &g);
        }
        if let Ok(r) = self.reduction() {
            s.field("reduction", &r);
        }
        s.finish_non_exhaustive()
    }
}

/// The final-layer bias that makes a sigmoid output start at `prior`
/// (the paper's pi = 0.01): log(prior / (1 - prior)).
pub fn prior_bias(prior: f64) -> Result<f64> {
    ensure_version()?;
    let mut bias = 0.0;
    check(unsafe { sys::focal_prior_bias(prior, &mut bias) })?;
    Ok(bias)
}
