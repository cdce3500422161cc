//! How failures surface: C statuses and detail messages mapped to Error,
//! slice lengths rejected before any C call, settings round-tripping.
use std::ffi::CStr;

use focal::{sys, Alpha, Error, Input, Loss, Mode, Reduction, Shape, Status, Variant};

const SENTINEL: f64 = -12345.0;

fn c_last_error() -> String {
    unsafe {
        CStr::from_ptr(sys::focal_last_error())
            .to_string_lossy()
            .into_owned()
    }
}

/// Leaves a known message in this thread's focal_last_error(), so a test
/// can tell whether a later failure came from C or from the binding.
fn mark_last_error() -> String {
    let mut loss = Loss::new(Mode::Softmax).unwrap();
    let err = loss.set_gamma(-1.0).unwrap_err();
    assert_eq!(err.status(), Status::InvalidParameter);
    assert!(!err.message().is_empty());
    assert_eq!(c_last_error(), err.message());
    err.message().to_string()
}

fn softmax_sum() -> Loss {
    let mut loss = Loss::new(Mode::Softmax).unwrap();
    loss.set_reduction(Reduction::Sum).unwrap();
    loss
}

const X: [f64; 6] = [2.0, 0.5, -1.0, 0.1, 0.2, 3.0];

#[test]
fn bad_class_index_is_invalid_target_with_the_index_in_the_message() {
    let loss = softmax_sum();
    let mut out = [SENTINEL];
    let err = loss
        .forward(Shape::nc(2, 3), &X, &[0, 7], None, &mut out)
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidTarget);
    assert_eq!(err.status().code(), 4);
    assert!(
        err.message().contains("target[1]"),
        "message: {}",
        err.message()
    );
    assert!(err.message().contains('7'), "message: {}", err.message());
    assert_eq!(out, [SENTINEL], "a failing call must not write its output");
    let shown = err.to_string();
    assert!(
        shown.contains("invalid target") && shown.contains("target[1]"),
        "{}",
        shown
    );

    let mut grad = [SENTINEL; 6];
    let err = loss
        .backward(Shape::nc(2, 3), &X, &[-3, 0], None, &[1.0], &mut grad)
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidTarget);
    assert!(
        err.message().contains("target[0]") && err.message().contains("-3"),
        "{}",
        err.message()
    );
    assert_eq!(grad, [SENTINEL; 6]);
}

#[test]
fn other_c_errors_map_to_their_status() {
    let loss = softmax_sum();
    let shape = Shape::nc(2, 3);
    let mut out = [0.0f64];

    let dense_bad = [0.0, 1.5, 0.0, 1.0, 0.0, 0.0];
    let err = loss
        .forward_dense(shape, &X, &dense_bad, None, &mut out)
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidTarget);
    assert!(err.message().contains("target[1]"), "{}", err.message());

    let err = loss
        .forward(shape, &X, &[0, 1], Some(&[1.0, -2.0]), &mut out)
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidWeight);

    let mut three = Loss::new(Mode::Softmax).unwrap();
    three.set_alpha_vector(&[0.5, 0.5]).unwrap();
    let err = three
        .forward(shape, &X, &[0, 1], None, &mut out)
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidShape);

    let mut positives = Loss::new(Mode::Softmax).unwrap();
    positives
        .set_reduction(Reduction::SumOverPositives)
        .unwrap();
    let err = positives
        .forward(shape, &X, &[0, 1], None, &mut out)
        .unwrap_err();
    assert_eq!(err.status(), Status::Incompatible);
    assert!(!err.message().is_empty());
}

#[test]
fn length_mismatches_are_caught_before_calling_c() {
    let loss = softmax_sum();
    let shape = Shape::nc(2, 3);
    let mut out = [SENTINEL];
    let mut grad = [SENTINEL; 6];
    let marker = mark_last_error();

    let checks: Vec<(&str, Result<(), Error>)> = vec![
        (
            "input",
            loss.forward(shape, &X[..5], &[0, 1], None, &mut out),
        ),
        (
            "target",
            loss.forward(shape, &X, &[0, 1, 2], None, &mut out),
        ),
        (
            "target",
            loss.forward_dense(shape, &X, &[0.0; 3], None, &mut out),
        ),
        (
            "weight",
            loss.forward(shape, &X, &[0, 1], Some(&[1.0]), &mut out),
        ),
        (
            "out",
            loss.forward(shape, &X, &[0, 1], None, &mut [0.0, 0.0]),
        ),
        (
            "grad_out",
            loss.backward(shape, &X, &[0, 1], None, &[1.0, 1.0], &mut grad),
        ),
        (
            "grad_input",
            loss.backward(shape, &X, &[0, 1], None, &[1.0], &mut grad[..4]),
        ),
        (
            "grad_input",
            loss.forward_backward(shape, &X, &[0, 1], None, None, Some(&mut grad[..5])),
        ),
        (
            "shape",
            loss.forward(Shape::nc(2, 0), &[], &[0, 1], None, &mut out),
        ),
        (
            "overflow",
            loss.forward(Shape::new(usize::MAX, 2, 2), &X, &[0, 1], None, &mut out),
        ),
    ];
    for (what, result) in checks {
        let err = result.expect_err(what);
        assert_eq!(err.status(), Status::InvalidShape, "{}: {}", what, err);
        if what != "overflow" && what != "shape" {
            assert!(err.message().contains(what), "{}: {}", what, err.message());
        }
    }
    assert_eq!(
        c_last_error(),
        marker,
        "the C library was called despite a length mismatch"
    );
    assert_eq!(out, [SENTINEL]);
    assert_eq!(grad, [SENTINEL; 6]);

    // With reduction None the output has one value per position (softmax)
    // or element (sigmoid).
    let mut none = Loss::new(Mode::Sigmoid).unwrap();
    none.set_reduction(Reduction::None).unwrap();
    assert_eq!(none.out_len(shape).unwrap(), 6);
    let err = none
        .forward(shape, &X, &[0, 1], None, &mut [0.0, 0.0])
        .unwrap_err();
    assert_eq!(err.status(), Status::InvalidShape);
    let mut six = [0.0; 6];
    none.forward(shape, &X, &[0, 3], None, &mut six).unwrap();
}

#[test]
fn invalid_settings_are_rejected_and_leave_the_context_unchanged() {
    let mut loss = Loss::new(Mode::Sigmoid).unwrap();
    let cases: Vec<(&str, Result<(), Error>)> = vec![
        ("gamma", loss.set_gamma(-0.5).map(|_| ())),
        ("gamma", loss.set_gamma(f64::NAN).map(|_| ())),
        ("alpha", loss.set_alpha(f64::INFINITY).map(|_| ())),
        ("epsilon", loss.set_epsilon(0.5).map(|_| ())),
        ("smoothing", loss.set_label_smoothing(1.0).map(|_| ())),
        ("beta", loss.set_beta(f64::NAN).map(|_| ())),
    ];
    for (what, result) in cases {
        assert_eq!(
            result.unwrap_err().status(),
            Status::InvalidParameter,
            "{}",
            what
        );
    }
    let err = loss.set_alpha_vector(&[]).unwrap_err();
    assert_eq!(err.status(), Status::InvalidShape);
    let err = loss.set_threads(u32::MAX).unwrap_err();
    assert_eq!(err.status(), Status::InvalidParameter);

    assert_eq!(loss.gamma().unwrap(), 2.0);
    assert_eq!(loss.alpha().unwrap(), Alpha::None);
    assert_eq!(loss.epsilon().unwrap(), 1e-7);
    assert_eq!(loss.label_smoothing().unwrap(), 0.0);
    assert_eq!(loss.beta().unwrap(), 0.0);
}

#[test]
fn settings_round_trip() {
    let mut loss = Loss::new(Mode::Sigmoid).unwrap();
    assert_eq!(loss.mode().unwrap(), Mode::Sigmoid);
    assert_eq!(loss.reduction().unwrap(), Reduction::Mean);
    assert_eq!(loss.input().unwrap(), Input::Logits);
    assert_eq!(loss.variant().unwrap(), Variant::Fl);
    assert_eq!(loss.ignore_index().unwrap(), None);
    assert_eq!(loss.threads().unwrap(), 0);

    loss.set_gamma(1.5)
        .unwrap()
        .set_alpha(0.25)
        .unwrap()
        .set_reduction(Reduction::SumOverPositives)
        .unwrap()
        .set_ignore_index(-100)
        .unwrap()
        .set_input(Input::Probabilities)
        .unwrap()
        .set_epsilon(1e-4)
        .unwrap()
        .set_label_smoothing(0.1)
        .unwrap()
        .set_variant(Variant::FlStar)
        .unwrap()
        .set_beta(1.0)
        .unwrap()
        .set_threads(3)
        .unwrap();
    assert_eq!(loss.gamma().unwrap(), 1.5);
    assert_eq!(loss.alpha().unwrap(), Alpha::Scalar(0.25));
    assert_eq!(loss.reduction().unwrap(), Reduction::SumOverPositives);
    assert_eq!(loss.ignore_index().unwrap(), Some(-100));
    assert_eq!(loss.input().unwrap(), Input::Probabilities);
    assert_eq!(loss.epsilon().unwrap(), 1e-4);
    assert_eq!(loss.label_smoothing().unwrap(), 0.1);
    assert_eq!(loss.variant().unwrap(), Variant::FlStar);
    assert_eq!(loss.beta().unwrap(), 1.0);
    assert_eq!(loss.threads().unwrap(), 3);

    loss.set_alpha_vector(&[0.1, 0.2, 0.7]).unwrap();
    assert_eq!(loss.alpha().unwrap(), Alpha::Vector(vec![0.1, 0.2, 0.7]));
    loss.clear_alpha().unwrap().clear_ignore_index().unwrap();
    assert_eq!(loss.alpha().unwrap(), Alpha::None);
    assert_eq!(loss.ignore_index().unwrap(), None);
    loss.set_alpha_setting(&Alpha::Scalar(0.5)).unwrap();
    assert_eq!(loss.alpha().unwrap(), Alpha::Scalar(0.5));
}

#[test]
fn status_codes_match_the_header() {
    let pinned = [
        (Status::NullPointer, 1, sys::FOCAL_ERROR_NULL_POINTER),
        (Status::InvalidShape, 2, sys::FOCAL_ERROR_INVALID_SHAPE),
        (
            Status::InvalidParameter,
            3,
            sys::FOCAL_ERROR_INVALID_PARAMETER,
        ),
        (Status::InvalidTarget, 4, sys::FOCAL_ERROR_INVALID_TARGET),
        (Status::InvalidWeight, 5, sys::FOCAL_ERROR_INVALID_WEIGHT),
        (Status::Incompatible, 6, sys::FOCAL_ERROR_INCOMPATIBLE),
        (Status::OutOfMemory, 7, sys::FOCAL_ERROR_OUT_OF_MEMORY),
        (Status::Internal, 99, sys::FOCAL_ERROR_INTERNAL),
    ];
    for &(status, code, constant) in &pinned {
        assert_eq!(status.code(), code);
        assert_eq!(constant, code);
        assert_eq!(Status::from_code(code), status);
        assert!(!status.description().is_empty());
    }
    assert_eq!(Status::InvalidTarget.description(), "invalid target");
    assert_eq!(Status::from_code(42), Status::Unknown(42));
    assert_eq!(Status::Unknown(42).description(), "unknown status");
    assert_eq!(sys::FOCAL_OK, 0);
    assert_eq!((sys::FOCAL_MODE_SOFTMAX, sys::FOCAL_MODE_SIGMOID), (0, 1));
    assert_eq!(
        [
            sys::FOCAL_REDUCTION_NONE,
            sys::FOCAL_REDUCTION_MEAN,
            sys::FOCAL_REDUCTION_SUM,
            sys::FOCAL_REDUCTION_WEIGHTED_MEAN,
            sys::FOCAL_REDUCTION_SUM_OVER_POSITIVES
        ],
        [0, 1, 2, 3, 4]
    );
    assert_eq!(
        (sys::FOCAL_INPUT_LOGITS, sys::FOCAL_INPUT_PROBABILITIES),
        (0, 1)
    );
    assert_eq!((sys::FOCAL_VARIANT_FL, sys::FOCAL_VARIANT_FL_STAR), (0, 1));
    assert_eq!(
        Reduction::from_raw(7).unwrap_err().status(),
        Status::Internal
    );
}

#[test]
fn version_check() {
    let number = focal::version_number();
    assert_eq!(number / 10000, focal::BINDING_MAJOR);
    assert_eq!(focal::BINDING_MAJOR, 1);
    let major_minor_patch = format!("{}.{}.{}", number / 10000, number / 100 % 100, number % 100);
    assert_eq!(focal::version_string(), major_minor_patch);
    focal::check_version_number(number).unwrap();
    focal::check_version_number(10999).unwrap();
    for &other in &[0u32, 9999, 20000, 20100] {
        let err = focal::check_version_number(other).unwrap_err();
        assert_eq!(err.status(), Status::Incompatible);
        assert!(
            err.message().contains("major version 1"),
            "{}",
            err.message()
        );
    }
}

#[test]
fn isa() {
    let isa = focal::isa();
    assert!(isa == "avx512" || isa == "avx2" || isa == "scalar", "{:?}", isa);
    if std::env::var("FOCAL_MAX_ISA").map_or(false, |v| v == "scalar") {
        assert_eq!(isa, "scalar");
    }
}

#[test]
fn prior_bias() {
    let bias = focal::prior_bias(0.01).unwrap();
    assert!((bias - (0.01f64 / 0.99).ln()).abs() < 1e-12, "{}", bias);
    assert_eq!(focal::prior_bias(0.5).unwrap(), 0.0);
    for &bad in &[0.0, 1.0, -0.5, f64::NAN] {
        assert_eq!(
            focal::prior_bias(bad).unwrap_err().status(),
            Status::InvalidParameter,
            "{}",
            bad
        );
    }
}

#[test]
fn errors_are_per_thread() {
    let mine = mark_last_error();
    std::thread::spawn(|| {
        let loss = softmax_sum();
        let err = loss
            .forward(Shape::nc(2, 3), &X, &[0, 9], None, &mut [0.0])
            .unwrap_err();
        assert!(err.message().contains('9'));
    })
    .join()
    .unwrap();
    assert_eq!(c_last_error(), mine);
}
