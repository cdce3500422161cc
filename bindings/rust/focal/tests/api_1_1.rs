//! The 1.1 settings, errors, empty batches and the half storage types.
//! Values against the PyTorch references are in golden.rs.
use focal::{Bf16, Error, Loss, Mode, Reduction, Shape, SoftForm, Status, Variant, F16};

fn incompatible(result: Result<(), Error>, detail: &str) {
    let err = result.expect_err(detail);
    assert_eq!(err.status(), Status::Incompatible, "{}", err);
    assert!(
        err.message().contains(detail),
        "message {:?} lacks {:?}",
        err.message(),
        detail
    );
}

#[test]
fn incompatible_combinations_carry_the_detail_message() {
    let shape = Shape::nc(1, 2);
    let (x, t) = ([0.5f64, -0.5], [1i64]);
    let mut out = [f64::NAN];
    let run = |loss: &Loss, out: &mut [f64]| loss.forward(shape, &x, &t, None, out);

    let mut qfl = Loss::new(Mode::Softmax).unwrap();
    qfl.set_variant(Variant::Qfl).unwrap();
    incompatible(run(&qfl, &mut out), "variant QFL is for sigmoid mode only");

    let mut split = Loss::new(Mode::Softmax).unwrap();
    split.set_soft_form(SoftForm::Split).unwrap();
    incompatible(run(&split, &mut out), "soft form SPLIT is for sigmoid mode only");

    let mut pw = Loss::new(Mode::Sigmoid).unwrap();
    pw.set_pos_weight_vector(&[1.0, 2.0]).unwrap().set_variant(Variant::Asl).unwrap();
    incompatible(run(&pw, &mut out), "a pos_weight vector is for variant FL only");

    let mut vfl = Loss::new(Mode::Sigmoid).unwrap();
    vfl.set_variant(Variant::Vfl).unwrap().set_label_smoothing(0.1).unwrap();
    incompatible(run(&vfl, &mut out), "variant VFL does not take label smoothing");

    let mut poly = Loss::new(Mode::Sigmoid).unwrap();
    poly.set_poly_epsilon(1.0).unwrap().set_soft_form(SoftForm::Split).unwrap();
    incompatible(run(&poly, &mut out), "a poly epsilon does not take soft form SPLIT");

    let mut wrong = Loss::new(Mode::Sigmoid).unwrap();
    wrong.set_pos_weight_vector(&[1.0, 2.0, 3.0]).unwrap();
    let err = run(&wrong, &mut out).unwrap_err();
    assert_eq!(err.status(), Status::InvalidShape);
    assert!(err.message().contains("pos_weight"), "{}", err);

    assert!(out[0].is_nan(), "a failing call wrote its output");
}

#[test]
fn invalid_1_1_settings_are_rejected_and_leave_the_context_unchanged() {
    let mut loss = Loss::new(Mode::Sigmoid).unwrap();
    loss.set_divisor(8.0)
        .unwrap()
        .set_gamma_negative(2.0)
        .unwrap()
        .set_clip(0.1)
        .unwrap()
        .set_poly_epsilon(0.5)
        .unwrap()
        .set_pos_weight_vector(&[1.0, 3.0])
        .unwrap();
    let bad: Vec<(&str, Status, Result<(), Error>)> = vec![
        ("divisor", Status::InvalidParameter, loss.set_divisor(-1.0).map(|_| ())),
        ("divisor", Status::InvalidParameter, loss.set_divisor(f64::INFINITY).map(|_| ())),
        ("gamma_negative", Status::InvalidParameter, loss.set_gamma_negative(-0.1).map(|_| ())),
        ("clip", Status::InvalidParameter, loss.set_clip(1.0).map(|_| ())),
        ("clip", Status::InvalidParameter, loss.set_clip(-0.01).map(|_| ())),
        ("poly_epsilon", Status::InvalidParameter, loss.set_poly_epsilon(f64::NAN).map(|_| ())),
        ("pos_weight", Status::InvalidParameter, loss.set_pos_weight_vector(&[1.0, -1.0]).map(|_| ())),
        ("pos_weight", Status::InvalidShape, loss.set_pos_weight_vector(&[]).map(|_| ())),
    ];
    for (what, status, result) in bad {
        let err = result.expect_err(what);
        assert_eq!(err.status(), status, "{}: {}", what, err);
        assert!(!err.message().is_empty(), "{}: no detail message", what);
    }
    assert_eq!(loss.divisor().unwrap(), 8.0);
    assert_eq!(loss.gamma_negative().unwrap(), 2.0);
    assert_eq!(loss.clip().unwrap(), 0.1);
    assert_eq!(loss.poly_epsilon().unwrap(), 0.5);
    assert_eq!(loss.pos_weight().unwrap(), Some(vec![1.0, 3.0]));
}

#[test]
fn settings_defaults_round_trip_and_clone() {
    let mut loss = Loss::new(Mode::Sigmoid).unwrap();
    assert_eq!(loss.divisor().unwrap(), 1.0);
    assert_eq!(loss.soft_form().unwrap(), SoftForm::Torchvision);
    assert_eq!(loss.pos_weight().unwrap(), None);
    assert_eq!(loss.gamma_negative().unwrap(), 4.0);
    assert_eq!(loss.clip().unwrap(), 0.05);
    assert_eq!(loss.poly_epsilon().unwrap(), 0.0);
    loss.set_reduction(Reduction::Divisor)
        .unwrap()
        .set_variant(Variant::Asl)
        .unwrap()
        .set_soft_form(SoftForm::Split)
        .unwrap()
        .set_divisor(0.0)
        .unwrap()
        .set_pos_weight_vector(&[0.5])
        .unwrap();
    let copy = loss.try_clone().unwrap();
    loss.clear_pos_weight().unwrap();
    assert_eq!(loss.pos_weight().unwrap(), None);
    assert_eq!(copy.reduction().unwrap(), Reduction::Divisor);
    assert_eq!(copy.variant().unwrap(), Variant::Asl);
    assert_eq!(copy.soft_form().unwrap(), SoftForm::Split);
    assert_eq!(copy.divisor().unwrap(), 0.0);
    assert_eq!(copy.pos_weight().unwrap(), Some(vec![0.5]));
}

/// Empty batches (n = 0 or inner = 0): reduced values are 0, nothing else
/// is written, counts are 0.
#[test]
fn empty_batches() {
    for mode in [Mode::Softmax, Mode::Sigmoid] {
        for shape in [Shape::new(0, 3, 1), Shape::new(2, 3, 0)] {
            let mut loss = Loss::new(mode).unwrap();
            for r in [Reduction::Mean, Reduction::Sum, Reduction::SumOverPositives] {
                if r == Reduction::SumOverPositives && mode == Mode::Softmax {
                    continue;
                }
                loss.set_reduction(r).unwrap();
                let mut out = [f32::NAN];
                loss.forward::<f32>(shape, &[], &[], None, &mut out).unwrap();
                assert_eq!(out, [0.0], "{:?} {:?} {:?}", mode, shape, r);
                let mut out = [f64::NAN];
                loss.forward_backward_dense::<f64>(shape, &[], &[], None, Some(&mut out), Some(&mut []))
                    .unwrap();
                assert_eq!(out, [0.0]);
                let mut half = [Bf16(0x7fc0)];
                loss.forward::<Bf16>(shape, &[], &[], None, &mut half).unwrap();
                assert_eq!(half, [Bf16(0)]);
            }
            loss.set_reduction(Reduction::None).unwrap();
            assert_eq!(loss.out_len(shape).unwrap(), 0);
            loss.forward::<f64>(shape, &[], &[], None, &mut []).unwrap();
            assert_eq!(loss.counts::<f32>(shape, &[], None).unwrap(), [0.0; 3]);
            assert_eq!(loss.counts_dense::<F16>(shape, &[], None).unwrap(), [0.0; 3]);
            loss.backward_target_dense::<f64>(shape, &[], &[], None, &[], &mut []).unwrap();
        }
    }
    // c = 0 stays invalid.
    let loss = Loss::new(Mode::Softmax).unwrap();
    let err = loss.counts::<f64>(Shape::new(0, 0, 1), &[], None).unwrap_err();
    assert_eq!(err.status(), Status::InvalidShape);
}

/// Counts by hand: softmax, 3 positions, one ignored, weights and alpha.
#[test]
fn counts_closed_form() {
    let mut loss = Loss::new(Mode::Softmax).unwrap();
    loss.set_ignore_index(-1).unwrap().set_alpha_vector(&[0.25, 0.5]).unwrap();
    let w = [2.0f64, 3.0, 5.0];
    let counts = loss.counts(Shape::nc(3, 2), &[0, -1, 1], Some(&w)).unwrap();
    // 2 non-ignored positions; 2*0.25 + 5*0.5; no positives in softmax mode.
    assert_eq!(counts, [2.0, 3.0, 0.0]);
    let err = loss.counts(Shape::nc(3, 2), &[0, 2, 1], Some(&w)).unwrap_err();
    assert_eq!(err.status(), Status::InvalidTarget);
    assert_eq!(err.message(), "target[1] = 2 is outside [0, 2) and is not ignore_index");
}

#[test]
fn half_conversions() {
    assert_eq!(Bf16::from_f32(1.0), Bf16(0x3f80));
    assert_eq!(Bf16::from_f32(-2.0), Bf16(0xc000));
    // Ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
    assert_eq!(Bf16::from_f32(1.0 + 1.0 / 256.0), Bf16(0x3f80));
    assert_eq!(Bf16::from_f32(1.0 + 3.0 / 256.0), Bf16(0x3f82));
    assert_eq!(Bf16::from_f32(f32::MAX), Bf16(0x7f80)); // rounds up to infinity
    assert_eq!(F16::from_f32(1.0), F16(0x3c00));
    assert_eq!(F16::from_f32(65504.0), F16(0x7bff));
    assert_eq!(F16::from_f32(65520.0), F16(0x7c00)); // the tie above the largest: infinity
    assert_eq!(F16::from_f32(2f32.powi(-24)), F16(0x0001)); // smallest subnormal
    assert_eq!(F16::from_f32(2f32.powi(-26)), F16(0x0000)); // below half of it
    assert_eq!(F16::from_f32(-0.0), F16(0x8000));
    assert!(F16::from_f32(f32::NAN).to_f32().is_nan());
    assert!(Bf16::from_f32(f32::NAN).to_f32().is_nan());
    assert_eq!(F16(0x0001).to_f32(), 2f32.powi(-24));
    assert_eq!(F16(0x3555).to_f32(), 0.333251953125);
    assert_eq!(Bf16(0x3eab).to_f32(), 0.333984375);
    assert_eq!(F16(0xfc00).to_f32(), f32::NEG_INFINITY);
    // Every finite f16 decodes and re-encodes to itself.
    for bits in 0..=0xffffu16 {
        let v = F16(bits).to_f32();
        if !v.is_nan() {
            assert_eq!(F16::from_f32(v), F16(bits), "{:#06x}", bits);
        }
        let b = Bf16(bits).to_f32();
        if !b.is_nan() {
            assert_eq!(Bf16::from_f32(b), Bf16(bits), "{:#06x}", bits);
        }
    }
    // Slices of bit patterns are viewed, not copied.
    let mut raw = [0x3f80u16, 0x4000];
    let view = Bf16::from_bits_slice(&raw);
    assert_eq!(view.as_ptr() as *const u16, raw.as_ptr());
    assert_eq!(Bf16::as_bits(view), &[0x3f80, 0x4000]);
    Bf16::from_bits_slice_mut(&mut raw)[1] = Bf16::from_f32(3.0);
    assert_eq!(raw[1], 0x4040);
}
