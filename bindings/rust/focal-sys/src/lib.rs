//! focal-sys: raw declarations of `<focal/focal.h>`, one to one.
//!
//! The C enums are bound as `c_int` aliases with constants rather than Rust
//! enums: the library may return status codes added after this binding was
//! written, and a value outside a Rust enum's variants is undefined behaviour.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_double, c_float, c_int, c_uint};

pub const FOCAL_VERSION_MAJOR: c_uint = 1;
pub const FOCAL_VERSION_MINOR: c_uint = 1;
pub const FOCAL_VERSION_PATCH: c_uint = 0;
pub const FOCAL_VERSION_NUMBER: c_uint =
    FOCAL_VERSION_MAJOR * 10000 + FOCAL_VERSION_MINOR * 100 + FOCAL_VERSION_PATCH;
pub const FOCAL_VERSION_STRING: &str = "1.1.0";

pub type focal_status = c_int;
pub const FOCAL_OK: focal_status = 0;
pub const FOCAL_ERROR_NULL_POINTER: focal_status = 1;
pub const FOCAL_ERROR_INVALID_SHAPE: focal_status = 2;
pub const FOCAL_ERROR_INVALID_PARAMETER: focal_status = 3;
pub const FOCAL_ERROR_INVALID_TARGET: focal_status = 4;
pub const FOCAL_ERROR_INVALID_WEIGHT: focal_status = 5;
pub const FOCAL_ERROR_INCOMPATIBLE: focal_status = 6;
pub const FOCAL_ERROR_OUT_OF_MEMORY: focal_status = 7;
pub const FOCAL_ERROR_INTERNAL: focal_status = 99;

pub type focal_mode = c_int;
pub const FOCAL_MODE_SOFTMAX: focal_mode = 0;
pub const FOCAL_MODE_SIGMOID: focal_mode = 1;

pub type focal_reduction = c_int;
pub const FOCAL_REDUCTION_NONE: focal_reduction = 0;
pub const FOCAL_REDUCTION_MEAN: focal_reduction = 1;
pub const FOCAL_REDUCTION_SUM: focal_reduction = 2;
pub const FOCAL_REDUCTION_WEIGHTED_MEAN: focal_reduction = 3;
pub const FOCAL_REDUCTION_SUM_OVER_POSITIVES: focal_reduction = 4;
pub const FOCAL_REDUCTION_DIVISOR: focal_reduction = 5;

pub type focal_input = c_int;
pub const FOCAL_INPUT_LOGITS: focal_input = 0;
pub const FOCAL_INPUT_PROBABILITIES: focal_input = 1;

pub type focal_variant = c_int;
pub const FOCAL_VARIANT_FL: focal_variant = 0;
pub const FOCAL_VARIANT_FL_STAR: focal_variant = 1;
pub const FOCAL_VARIANT_QFL: focal_variant = 2;
pub const FOCAL_VARIANT_VFL: focal_variant = 3;
pub const FOCAL_VARIANT_ASL: focal_variant = 4;

pub type focal_soft_form = c_int;
pub const FOCAL_SOFT_TORCHVISION: focal_soft_form = 0;
pub const FOCAL_SOFT_SPLIT: focal_soft_form = 1;

/// The opaque context; only ever handled through pointers.
#[repr(C)]
pub struct focal_loss {
    _opaque: [u8; 0],
    // Neither Send, Sync nor Unpin by itself.
    _marker: std::marker::PhantomData<(*mut u8, std::marker::PhantomPinned)>,
}

extern "C" {
    pub fn focal_version_number() -> c_uint;
    pub fn focal_version_string() -> *const c_char;
    pub fn focal_isa() -> *const c_char;

    pub fn focal_status_string(s: focal_status) -> *const c_char;
    pub fn focal_last_error() -> *const c_char;

    pub fn focal_loss_create(out: *mut *mut focal_loss, mode: focal_mode) -> focal_status;
    pub fn focal_loss_clone(src: *const focal_loss, out: *mut *mut focal_loss) -> focal_status;
    pub fn focal_loss_destroy(loss: *mut focal_loss);

    pub fn focal_loss_set_gamma(loss: *mut focal_loss, gamma: c_double) -> focal_status;
    pub fn focal_loss_set_alpha(loss: *mut focal_loss, alpha: c_double) -> focal_status;
    pub fn focal_loss_set_alpha_vector(
        loss: *mut focal_loss,
        alpha: *const c_double,
        count: i64,
    ) -> focal_status;
    pub fn focal_loss_clear_alpha(loss: *mut focal_loss) -> focal_status;
    pub fn focal_loss_set_reduction(loss: *mut focal_loss, r: focal_reduction) -> focal_status;
    pub fn focal_loss_set_ignore_index(loss: *mut focal_loss, index: i64) -> focal_status;
    pub fn focal_loss_clear_ignore_index(loss: *mut focal_loss) -> focal_status;
    pub fn focal_loss_set_input(loss: *mut focal_loss, kind: focal_input) -> focal_status;
    pub fn focal_loss_set_epsilon(loss: *mut focal_loss, eps: c_double) -> focal_status;
    pub fn focal_loss_set_label_smoothing(loss: *mut focal_loss, eps: c_double) -> focal_status;
    pub fn focal_loss_set_variant(loss: *mut focal_loss, v: focal_variant) -> focal_status;
    pub fn focal_loss_set_beta(loss: *mut focal_loss, beta: c_double) -> focal_status;
    pub fn focal_loss_set_threads(loss: *mut focal_loss, threads: c_int) -> focal_status;

    pub fn focal_loss_get_mode(loss: *const focal_loss, out: *mut focal_mode) -> focal_status;
    pub fn focal_loss_get_gamma(loss: *const focal_loss, out: *mut c_double) -> focal_status;
    pub fn focal_loss_get_alpha(loss: *const focal_loss, out: *mut c_double) -> focal_status;
    pub fn focal_loss_get_alpha_count(loss: *const focal_loss, out: *mut i64) -> focal_status;
    pub fn focal_loss_get_alpha_vector(
        loss: *const focal_loss,
        out: *mut c_double,
        count: i64,
    ) -> focal_status;
    pub fn focal_loss_get_reduction(
        loss: *const focal_loss,
        out: *mut focal_reduction,
    ) -> focal_status;
    pub fn focal_loss_get_ignore_index(loss: *const focal_loss, out: *mut i64) -> focal_status;
    pub fn focal_loss_get_input(loss: *const focal_loss, out: *mut focal_input) -> focal_status;
    pub fn focal_loss_get_epsilon(loss: *const focal_loss, out: *mut c_double) -> focal_status;
    pub fn focal_loss_get_label_smoothing(
        loss: *const focal_loss,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_loss_get_variant(loss: *const focal_loss, out: *mut focal_variant)
        -> focal_status;
    pub fn focal_loss_get_beta(loss: *const focal_loss, out: *mut c_double) -> focal_status;
    pub fn focal_loss_get_threads(loss: *const focal_loss, out: *mut c_int) -> focal_status;

    pub fn focal_forward_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const i64,
        weight: *const c_float,
        out: *mut c_float,
    ) -> focal_status;
    pub fn focal_backward_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const i64,
        weight: *const c_float,
        grad_out: *const c_float,
        grad_input: *mut c_float,
    ) -> focal_status;
    pub fn focal_forward_backward_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const i64,
        weight: *const c_float,
        out: *mut c_float,
        grad_input: *mut c_float,
    ) -> focal_status;

    pub fn focal_forward_dense_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const c_float,
        weight: *const c_float,
        out: *mut c_float,
    ) -> focal_status;
    pub fn focal_backward_dense_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const c_float,
        weight: *const c_float,
        grad_out: *const c_float,
        grad_input: *mut c_float,
    ) -> focal_status;
    pub fn focal_forward_backward_dense_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const c_float,
        weight: *const c_float,
        out: *mut c_float,
        grad_input: *mut c_float,
    ) -> focal_status;

    pub fn focal_forward_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const i64,
        weight: *const c_double,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_backward_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const i64,
        weight: *const c_double,
        grad_out: *const c_double,
        grad_input: *mut c_double,
    ) -> focal_status;
    pub fn focal_forward_backward_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const i64,
        weight: *const c_double,
        out: *mut c_double,
        grad_input: *mut c_double,
    ) -> focal_status;

    pub fn focal_forward_dense_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const c_double,
        weight: *const c_double,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_backward_dense_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const c_double,
        weight: *const c_double,
        grad_out: *const c_double,
        grad_input: *mut c_double,
    ) -> focal_status;
    pub fn focal_forward_backward_dense_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const c_double,
        weight: *const c_double,
        out: *mut c_double,
        grad_input: *mut c_double,
    ) -> focal_status;

    pub fn focal_prior_bias(prior: c_double, bias: *mut c_double) -> focal_status;

    // Since 1.1.
    pub fn focal_backward_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const i64,
        weight: *const u16,
        grad_out: *const u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_backward_dense_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const u16,
        weight: *const u16,
        grad_out: *const u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_backward_dense_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const u16,
        weight: *const u16,
        grad_out: *const u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_backward_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const i64,
        weight: *const u16,
        grad_out: *const u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_backward_target_dense_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_float,
        target: *const c_float,
        weight: *const c_float,
        grad_out: *const c_float,
        grad_target: *mut c_float,
    ) -> focal_status;
    pub fn focal_backward_target_dense_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const c_double,
        target: *const c_double,
        weight: *const c_double,
        grad_out: *const c_double,
        grad_target: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const i64,
        weight: *const u16,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_dense_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const u16,
        weight: *const u16,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_dense_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const u16,
        weight: *const u16,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_dense_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const c_float,
        weight: *const c_float,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_dense_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const c_double,
        weight: *const c_double,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const i64,
        weight: *const u16,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_f32(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const i64,
        weight: *const c_float,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_counts_f64(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        target: *const i64,
        weight: *const c_double,
        counts: *mut c_double,
    ) -> focal_status;
    pub fn focal_forward_backward_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const i64,
        weight: *const u16,
        out: *mut u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_backward_dense_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const u16,
        weight: *const u16,
        out: *mut u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_backward_dense_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const u16,
        weight: *const u16,
        out: *mut u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_backward_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const i64,
        weight: *const u16,
        out: *mut u16,
        grad_input: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const i64,
        weight: *const u16,
        out: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_dense_bf16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const u16,
        weight: *const u16,
        out: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_dense_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const u16,
        weight: *const u16,
        out: *mut u16,
    ) -> focal_status;
    pub fn focal_forward_f16(
        loss: *const focal_loss,
        n: i64,
        c: i64,
        inner: i64,
        input: *const u16,
        target: *const i64,
        weight: *const u16,
        out: *mut u16,
    ) -> focal_status;
    pub fn focal_loss_clear_pos_weight(
        loss: *mut focal_loss,
    ) -> focal_status;
    pub fn focal_loss_get_clip(
        loss: *const focal_loss,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_loss_get_divisor(
        loss: *const focal_loss,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_loss_get_gamma_negative(
        loss: *const focal_loss,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_loss_get_poly_epsilon(
        loss: *const focal_loss,
        out: *mut c_double,
    ) -> focal_status;
    pub fn focal_loss_get_pos_weight_count(
        loss: *const focal_loss,
        out: *mut i64,
    ) -> focal_status;
    pub fn focal_loss_get_pos_weight_vector(
        loss: *const focal_loss,
        out: *mut c_double,
        count: i64,
    ) -> focal_status;
    pub fn focal_loss_get_soft_form(
        loss: *const focal_loss,
        out: *mut focal_soft_form,
    ) -> focal_status;
    pub fn focal_loss_set_clip(
        loss: *mut focal_loss,
        clip: c_double,
    ) -> focal_status;
    pub fn focal_loss_set_divisor(
        loss: *mut focal_loss,
        divisor: c_double,
    ) -> focal_status;
    pub fn focal_loss_set_gamma_negative(
        loss: *mut focal_loss,
        gamma: c_double,
    ) -> focal_status;
    pub fn focal_loss_set_poly_epsilon(
        loss: *mut focal_loss,
        epsilon: c_double,
    ) -> focal_status;
    pub fn focal_loss_set_pos_weight_vector(
        loss: *mut focal_loss,
        pos_weight: *const c_double,
        count: i64,
    ) -> focal_status;
    pub fn focal_loss_set_soft_form(
        loss: *mut focal_loss,
        form: focal_soft_form,
    ) -> focal_status;
}
