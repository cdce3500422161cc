//! Values and gradients against the PyTorch reference data, in f64 and f32.
mod common;

#[test]
fn softmax_golden_f64() {
    let ran = common::check_file::<f64>(&common::golden_dir().join("softmax.golden"));
    assert!(ran >= 100, "only {} softmax cases", ran);
}

#[test]
fn softmax_golden_f32() {
    common::check_file::<f32>(&common::golden_dir().join("softmax.golden"));
}

#[test]
fn sigmoid_golden_f64() {
    let ran = common::check_file::<f64>(&common::golden_dir().join("sigmoid.golden"));
    assert!(ran >= 100, "only {} sigmoid cases", ran);
}

#[test]
fn sigmoid_golden_f32() {
    common::check_file::<f32>(&common::golden_dir().join("sigmoid.golden"));
}

/// The checker itself: a reference value off by more than the tolerance,
/// in the output or in a gradient, must fail the case.
#[test]
fn a_perturbed_reference_fails() {
    let mut cases = common::load(&common::golden_dir().join("softmax.golden"));
    let mut case = cases.remove(0);
    common::check_case::<f64>(&case).unwrap();
    case.out[0] *= 1.0 + 1e-6;
    assert!(common::check_case::<f64>(&case).is_err());
    case.out[0] /= 1.0 + 1e-6;
    let last = case.fgrad.len() - 1;
    case.fgrad[last] += 1e-3;
    let err = common::check_case::<f64>(&case).unwrap_err();
    assert!(err.contains("forward_backward grad"), "{}", err);
}
