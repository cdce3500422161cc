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

#[test]
fn parallel_golden_f64() {
    let ran = common::check_file::<f64>(&common::golden_dir().join("parallel.golden"));
    assert!(ran >= 100, "only {} parallel cases", ran);
}

#[test]
fn parallel_golden_f32() {
    common::check_file::<f32>(&common::golden_dir().join("parallel.golden"));
}

#[test]
fn family_golden_f64() {
    let ran = common::check_file::<f64>(&common::golden_dir().join("family.golden"));
    assert!(ran >= 130, "only {} family cases", ran);
}

/// Also runs the bf16 and f16 entry points of the `half` cases.
#[test]
fn family_golden_f32() {
    let cases = common::load(&common::golden_dir().join("family.golden"));
    let halves = cases.iter().filter(|c| c.half.is_some()).count();
    assert!(halves >= 20, "only {} half cases", halves);
    common::check_file::<f32>(&common::golden_dir().join("family.golden"));
}

/// The 1.1 checks can fail too: counts, target gradients, half results.
#[test]
fn perturbed_1_1_references_fail() {
    let parallel = common::load(&common::golden_dir().join("parallel.golden"));
    let mut case = parallel
        .into_iter()
        .find(|c| c.counts.is_some() && c.tgrad.is_some())
        .expect("a case with counts and tgrad");
    common::check_case::<f64>(&case).unwrap();
    case.counts.as_mut().unwrap()[0] += 1.0;
    let err = common::check_case::<f64>(&case).unwrap_err();
    assert!(err.contains("counts"), "{}", err);
    case.counts.as_mut().unwrap()[0] -= 1.0;
    case.tgrad.as_mut().unwrap()[0] += 1e-3;
    let err = common::check_case::<f64>(&case).unwrap_err();
    assert!(err.contains("backward_target_dense"), "{}", err);

    let family = common::load(&common::golden_dir().join("family.golden"));
    for kind in ["bf16", "f16"] {
        let mut case = family
            .iter()
            .find(|c| c.half.as_deref() == Some(kind) && c.hout.len() == 1)
            .unwrap_or_else(|| panic!("a reduced {} case", kind))
            .clone();
        common::check_case::<f32>(&case).unwrap();
        case.hout[0] *= 1.05; // far more than one ulp in either type
        let err = common::check_case::<f32>(&case).unwrap_err();
        assert!(err.contains("half out"), "{}: {}", kind, err);
    }
}
