//! The golden data of tests/golden (format in tests/golden/README.md): a
//! reader, the configuration of a Loss from a case, and a checker that runs
//! forward, backward and forward_backward through the binding.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use focal::{Alpha, Bf16, Element, Float, Input, Loss, Mode, Reduction, Shape, SoftForm, Variant, F16};

#[derive(Clone)]
pub struct Case {
    pub name: String,
    pub line: usize,
    pub mode: Mode,
    pub dense: bool,
    pub input: Input,
    pub gamma: f64,
    pub alpha: Alpha,
    pub reduction: Reduction,
    pub ignore_index: Option<i64>,
    pub smoothing: f64,
    pub epsilon: f64,
    pub variant: Variant,
    pub beta: f64,
    pub rtol64: f64,
    pub rtol32: f64,
    pub shape: Shape,
    pub x: Vec<f64>,
    pub t_index: Vec<i64>,
    pub t_dense: Vec<f64>,
    pub w: Option<Vec<f64>>,
    pub g: Vec<f64>,
    pub out: Vec<f64>,
    pub grad: Vec<f64>,
    pub fgrad: Vec<f64>,
    // Added with 1.1; absent keys take the library's defaults.
    pub divisor: f64,
    pub soft_form: SoftForm,
    pub pos_weight: Option<Vec<f64>>,
    pub gamma_negative: f64,
    pub clip: f64,
    pub poly_epsilon: f64,
    pub counts: Option<Vec<f64>>,
    pub tgrad: Option<Vec<f64>>,
    /// "bf16" or "f16", with hout, hgrad and hfgrad.
    pub half: Option<String>,
    pub hout: Vec<f64>,
    pub hgrad: Vec<f64>,
    pub hfgrad: Vec<f64>,
}

/// tests/golden in the source tree.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/golden")
}

fn parse_f64(tok: &str, line: usize) -> f64 {
    match tok {
        "nan" => f64::NAN,
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => tok
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("line {}: bad number {:?}: {}", line, tok, e)),
    }
}

fn parse_i64(tok: &str, line: usize) -> i64 {
    tok.parse::<i64>()
        .unwrap_or_else(|e| panic!("line {}: bad integer {:?}: {}", line, tok, e))
}

fn counted(rest: &[&str], line: usize) -> Vec<f64> {
    let count = parse_i64(rest[0], line) as usize;
    assert_eq!(
        rest.len() - 1,
        count,
        "line {}: count {} but {} values",
        line,
        count,
        rest.len() - 1
    );
    rest[1..].iter().map(|t| parse_f64(t, line)).collect()
}

fn empty_case(name: &str, line: usize) -> Case {
    Case {
        name: name.to_string(),
        line,
        mode: Mode::Softmax,
        dense: false,
        input: Input::Logits,
        gamma: 2.0,
        alpha: Alpha::None,
        reduction: Reduction::Mean,
        ignore_index: None,
        smoothing: 0.0,
        epsilon: 1e-7,
        variant: Variant::Fl,
        beta: 0.0,
        rtol64: 1e-10,
        rtol32: 1e-4,
        shape: Shape::new(0, 0, 0),
        x: Vec::new(),
        t_index: Vec::new(),
        t_dense: Vec::new(),
        w: None,
        g: Vec::new(),
        out: Vec::new(),
        grad: Vec::new(),
        fgrad: Vec::new(),
        divisor: 1.0,
        soft_form: SoftForm::Torchvision,
        pos_weight: None,
        gamma_negative: 4.0,
        clip: 0.05,
        poly_epsilon: 0.0,
        counts: None,
        tgrad: None,
        half: None,
        hout: Vec::new(),
        hgrad: Vec::new(),
        hfgrad: Vec::new(),
    }
}

pub fn load(path: &Path) -> Vec<Case> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {}", path.display(), e));
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let toks: Vec<&str> = raw.split_whitespace().collect();
        let (key, rest) = (toks[0], &toks[1..]);
        if key == "case" {
            assert!(
                cur.is_none(),
                "{}:{}: case inside a case",
                path.display(),
                line
            );
            cur = Some(empty_case(rest[0], line));
            continue;
        }
        let c = cur
            .as_mut()
            .unwrap_or_else(|| panic!("{}:{}: {} outside a case", path.display(), line, key));
        match key {
            "mode" => {
                c.mode = match rest[0] {
                    "softmax" => Mode::Softmax,
                    "sigmoid" => Mode::Sigmoid,
                    m => panic!("line {}: mode {}", line, m),
                }
            }
            "targets" => c.dense = rest[0] == "dense",
            "input" => {
                c.input = if rest[0] == "probabilities" {
                    Input::Probabilities
                } else {
                    Input::Logits
                }
            }
            "gamma" => c.gamma = parse_f64(rest[0], line),
            "alpha" => {
                c.alpha = match rest[0] {
                    "none" => Alpha::None,
                    "scalar" => Alpha::Scalar(parse_f64(rest[1], line)),
                    "vector" => Alpha::Vector(counted(&rest[1..], line)),
                    a => panic!("line {}: alpha {}", line, a),
                }
            }
            "reduction" => {
                c.reduction = match rest[0] {
                    "none" => Reduction::None,
                    "mean" => Reduction::Mean,
                    "sum" => Reduction::Sum,
                    "weighted_mean" => Reduction::WeightedMean,
                    "sum_over_positives" => Reduction::SumOverPositives,
                    "divisor" => Reduction::Divisor,
                    r => panic!("line {}: reduction {}", line, r),
                }
            }
            "ignore_index" => {
                c.ignore_index = if rest[0] == "none" {
                    None
                } else {
                    Some(parse_i64(rest[0], line))
                }
            }
            "smoothing" => c.smoothing = parse_f64(rest[0], line),
            "epsilon" => c.epsilon = parse_f64(rest[0], line),
            "variant" => {
                c.variant = match rest[0] {
                    "fl" => Variant::Fl,
                    "fl_star" => Variant::FlStar,
                    "qfl" => Variant::Qfl,
                    "vfl" => Variant::Vfl,
                    "asl" => Variant::Asl,
                    v => panic!("line {}: variant {}", line, v),
                }
            }
            "beta" => c.beta = parse_f64(rest[0], line),
            "tol" => {
                c.rtol64 = parse_f64(rest[0], line);
                c.rtol32 = parse_f64(rest[1], line);
            }
            "shape" => {
                let d: Vec<usize> = rest.iter().map(|t| parse_i64(t, line) as usize).collect();
                c.shape = Shape::new(d[0], d[1], d[2]);
            }
            "x" => c.x = counted(rest, line),
            "t" => {
                if c.dense {
                    c.t_dense = counted(rest, line);
                } else {
                    let count = parse_i64(rest[0], line) as usize;
                    assert_eq!(rest.len() - 1, count, "line {}: target count", line);
                    c.t_index = rest[1..].iter().map(|t| parse_i64(t, line)).collect();
                }
            }
            "w" => {
                c.w = if rest[0] == "none" {
                    None
                } else {
                    Some(counted(rest, line))
                }
            }
            "g" => c.g = counted(rest, line),
            "out" => c.out = counted(rest, line),
            "grad" => c.grad = counted(rest, line),
            "fgrad" => c.fgrad = counted(rest, line),
            "divisor" => c.divisor = parse_f64(rest[0], line),
            "soft_form" => {
                c.soft_form = match rest[0] {
                    "torchvision" => SoftForm::Torchvision,
                    "split" => SoftForm::Split,
                    f => panic!("line {}: soft_form {}", line, f),
                }
            }
            "pos_weight" => c.pos_weight = Some(counted(rest, line)),
            "gamma_negative" => c.gamma_negative = parse_f64(rest[0], line),
            "clip" => c.clip = parse_f64(rest[0], line),
            "poly_epsilon" => c.poly_epsilon = parse_f64(rest[0], line),
            "counts" => c.counts = Some(counted(rest, line)),
            "tgrad" => c.tgrad = Some(counted(rest, line)),
            "half" => c.half = Some(rest[0].to_string()),
            "hout" => c.hout = counted(rest, line),
            "hgrad" => c.hgrad = counted(rest, line),
            "hfgrad" => c.hfgrad = counted(rest, line),
            "end" => cases.push(cur.take().unwrap()),
            k => panic!("{}:{}: unknown key {}", path.display(), line, k),
        }
    }
    assert!(cur.is_none(), "{}: last case has no end", path.display());
    assert!(!cases.is_empty(), "{}: no cases", path.display());
    cases
}

/// A Loss set up as the case describes.
pub fn configure(case: &Case) -> Loss {
    let mut loss = Loss::new(case.mode).expect("create");
    loss.set_gamma(case.gamma)
        .and_then(|l| l.set_alpha_setting(&case.alpha))
        .and_then(|l| l.set_reduction(case.reduction))
        .and_then(|l| l.set_input(case.input))
        .and_then(|l| l.set_epsilon(case.epsilon))
        .and_then(|l| l.set_label_smoothing(case.smoothing))
        .and_then(|l| l.set_variant(case.variant))
        .and_then(|l| l.set_beta(case.beta))
        .and_then(|l| l.set_divisor(case.divisor))
        .and_then(|l| l.set_soft_form(case.soft_form))
        .and_then(|l| l.set_gamma_negative(case.gamma_negative))
        .and_then(|l| l.set_clip(case.clip))
        .and_then(|l| l.set_poly_epsilon(case.poly_epsilon))
        .unwrap_or_else(|e| panic!("{}: configure: {}", case.name, e));
    if let Some(i) = case.ignore_index {
        loss.set_ignore_index(i).expect("ignore_index");
    }
    if let Some(pw) = &case.pos_weight {
        loss.set_pos_weight_vector(pw).expect("pos_weight");
    }
    loss
}

/// Compares as the C golden runner does: |got - ref| <= atol + rtol |ref|
/// with atol = rtol * max(max |ref|, 1e-300) * 0.1; NaN matches NaN and an
/// infinity the same infinity.
pub fn compare(what: &str, got: &[f64], want: &[f64], rtol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{}: {} values, want {}",
            what,
            got.len(),
            want.len()
        ));
    }
    let scale = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(1e-300f64, |m, v| m.max(v.abs()));
    let atol = rtol * scale * 0.1;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= atol + rtol * w.abs()
        };
        if !ok {
            return Err(format!(
                "{}[{}] = {:e}, want {:e} (rtol {:e})",
                what, i, g, w, rtol
            ));
        }
    }
    Ok(())
}

fn conv<T: Float>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

fn back(v: &[impl Float]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// Runs forward, backward and forward_backward (also with either output
/// skipped) in precision T; the first mismatch or error as Err.
pub fn check_case<T: Float>(case: &Case) -> Result<(), String> {
    let loss = configure(case);
    let rtol = if T::NAME == "f32" {
        case.rtol32
    } else {
        case.rtol64
    };
    let shape = case.shape;
    let x: Vec<T> = conv(&case.x);
    let w: Option<Vec<T>> = case.w.as_ref().map(|w| conv(w));
    let w = w.as_deref();
    let td: Vec<T> = conv(&case.t_dense);
    let g: Vec<T> = conv(&case.g);
    let n_out = loss.out_len(shape).map_err(|e| e.to_string())?;
    if n_out != case.out.len() {
        return Err(format!(
            "out_len {} but the case has {} values",
            n_out,
            case.out.len()
        ));
    }
    let err = |what: &str| {
        let what = what.to_string();
        move |e: focal::Error| format!("{}: {}", what, e)
    };

    let mut out = vec![T::default(); n_out];
    let mut grad = vec![T::default(); x.len()];
    if case.dense {
        loss.forward_dense(shape, &x, &td, w, &mut out)
            .map_err(err("forward"))?;
    } else {
        loss.forward(shape, &x, &case.t_index, w, &mut out)
            .map_err(err("forward"))?;
    }
    compare("forward out", &back(&out), &case.out, rtol)?;

    if case.dense {
        loss.backward_dense(shape, &x, &td, w, &g, &mut grad)
            .map_err(err("backward"))?;
    } else {
        loss.backward(shape, &x, &case.t_index, w, &g, &mut grad)
            .map_err(err("backward"))?;
    }
    compare("backward grad", &back(&grad), &case.grad, rtol)?;

    for &(with_out, with_grad) in &[(true, true), (true, false), (false, true)] {
        let mut out = vec![T::default(); n_out];
        let mut grad = vec![T::default(); x.len()];
        let o = if with_out { Some(&mut out[..]) } else { None };
        let gi = if with_grad { Some(&mut grad[..]) } else { None };
        if case.dense {
            loss.forward_backward_dense(shape, &x, &td, w, o, gi)
        } else {
            loss.forward_backward(shape, &x, &case.t_index, w, o, gi)
        }
        .map_err(err("forward_backward"))?;
        if with_out {
            compare("forward_backward out", &back(&out), &case.out, rtol)?;
        }
        if with_grad {
            compare("forward_backward grad", &back(&grad), &case.fgrad, rtol)?;
        }
    }

    if let Some(want) = &case.counts {
        let got = if case.dense {
            loss.counts_dense(shape, &td, w)
        } else {
            loss.counts(shape, &case.t_index, w)
        }
        .map_err(err("counts"))?;
        compare("counts", &got, want, rtol)?;
    }
    if let Some(want) = &case.tgrad {
        let mut tgrad = vec![T::default(); x.len()];
        loss.backward_target_dense(shape, &x, &td, w, &g, &mut tgrad)
            .map_err(err("backward_target_dense"))?;
        compare("backward_target_dense", &back(&tgrad), want, rtol)?;
    }
    if T::NAME == "f32" {
        match case.half.as_deref() {
            None => {}
            Some("bf16") => check_half(case, &loss, Bf16::from_f32, Bf16::to_f32)?,
            Some("f16") => check_half(case, &loss, F16::from_f32, F16::to_f32)?,
            Some(h) => return Err(format!("half {}", h)),
        }
    }
    Ok(())
}

/// Bit patterns as an ordered integer line: neighbours differ by 1, and
/// +0 and -0 are the same point.
fn ordered(bits: u16) -> i32 {
    if bits & 0x8000 != 0 {
        -((bits & 0x7fff) as i32)
    } else {
        bits as i32
    }
}

/// Within one ulp of the half type (NaN matches NaN).
fn compare_half<H: Element>(
    what: &str,
    got: &[H],
    want: &[f64],
    encode: fn(f32) -> H,
    bits: fn(&H) -> u16,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{}: {} values, want {}", what, got.len(), want.len()));
    }
    for (i, (g, &w)) in got.iter().zip(want).enumerate() {
        let want_h = encode(w as f32); // exact: w was decoded from the type
        let (gb, wb) = (bits(g), bits(&want_h));
        let nan = |b: u16| b & 0x7fff > bits(&encode(f32::INFINITY));
        let ok = if nan(wb) {
            nan(gb)
        } else {
            !nan(gb) && (ordered(gb) - ordered(wb)).abs() <= 1
        };
        if !ok {
            return Err(format!("{}[{}] = {:?}, want {:?} ({})", what, i, g, want_h, w));
        }
    }
    Ok(())
}

/// The half entry points on the case's inputs (exact in the type): within
/// one ulp of torch's rounded results and bitwise the round-to-nearest-even
/// of the f32 entry points' results; counts on half targets and weights.
fn check_half<H: Element + std::hash::Hash + Eq>(
    case: &Case,
    loss: &Loss,
    encode: fn(f32) -> H,
    decode: fn(H) -> f32,
) -> Result<(), String> {
    let bits = |h: &H| -> u16 {
        // H is a repr(transparent) u16 newtype.
        unsafe { *(h as *const H as *const u16) }
    };
    let half = |v: &[f64]| -> Result<Vec<H>, String> {
        v.iter()
            .map(|&x| {
                let h = encode(x as f32);
                if decode(h) as f64 == x || x.is_nan() {
                    Ok(h)
                } else {
                    Err(format!("input {} is not exact in the half type", x))
                }
            })
            .collect()
    };
    let shape = case.shape;
    let x = half(&case.x)?;
    let td = half(&case.t_dense)?;
    let g = half(&case.g)?;
    let w = match &case.w {
        Some(w) => Some(half(w)?),
        None => None,
    };
    let w = w.as_deref();
    let ti = &case.t_index;
    let n_out = case.hout.len();
    let e = |what: &'static str| move |e: focal::Error| format!("{}: {}", what, e);

    let mut out = vec![H::default(); n_out];
    let mut grad = vec![H::default(); x.len()];
    let mut fout = vec![H::default(); n_out];
    let mut fgrad = vec![H::default(); x.len()];
    if case.dense {
        loss.forward_dense(shape, &x, &td, w, &mut out).map_err(e("half forward"))?;
        loss.backward_dense(shape, &x, &td, w, &g, &mut grad).map_err(e("half backward"))?;
        loss.forward_backward_dense(shape, &x, &td, w, Some(&mut fout), Some(&mut fgrad))
    } else {
        loss.forward(shape, &x, ti, w, &mut out).map_err(e("half forward"))?;
        loss.backward(shape, &x, ti, w, &g, &mut grad).map_err(e("half backward"))?;
        loss.forward_backward(shape, &x, ti, w, Some(&mut fout), Some(&mut fgrad))
    }
    .map_err(e("half forward_backward"))?;
    compare_half("half out", &out, &case.hout, encode, bits)?;
    compare_half("half grad", &grad, &case.hgrad, encode, bits)?;
    compare_half("half forward_backward out", &fout, &case.hout, encode, bits)?;
    compare_half("half forward_backward grad", &fgrad, &case.hfgrad, encode, bits)?;

    // The f32 path on the widened inputs, rounded once: the same bits.
    let widen = |v: &[H]| -> Vec<f32> { v.iter().map(|&h| decode(h)).collect() };
    let (x32, td32, g32) = (widen(&x), widen(&td), widen(&g));
    let w32 = w.map(|w| widen(w));
    let w32 = w32.as_deref();
    let mut out32 = vec![0f32; n_out];
    let mut grad32 = vec![0f32; x.len()];
    if case.dense {
        loss.forward_dense(shape, &x32, &td32, w32, &mut out32).map_err(e("forward"))?;
        loss.backward_dense(shape, &x32, &td32, w32, &g32, &mut grad32).map_err(e("backward"))?;
    } else {
        loss.forward(shape, &x32, ti, w32, &mut out32).map_err(e("forward"))?;
        loss.backward(shape, &x32, ti, w32, &g32, &mut grad32).map_err(e("backward"))?;
    }
    for (what, got, f32s) in [("out", &out, &out32), ("grad", &grad, &grad32)] {
        for (i, (h, &v)) in got.iter().zip(f32s.iter()).enumerate() {
            let r = encode(v);
            if bits(h) != bits(&r) && !(v.is_nan() && decode(*h).is_nan()) {
                return Err(format!(
                    "half {}[{}] = {:?} but the f32 path rounds to {:?}",
                    what, i, h, r
                ));
            }
        }
    }

    if let Some(want) = &case.counts {
        let got = if case.dense {
            loss.counts_dense(shape, &td, w)
        } else {
            loss.counts(shape, ti, w)
        }
        .map_err(e("half counts"))?;
        compare("half counts", &got, want, case.rtol32)?;
    }
    Ok(())
}

/// Checks every case of a file in precision T and panics with the list of
/// failures.
pub fn check_file<T: Float>(path: &Path) -> usize {
    let cases = load(path);
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = check_case::<T>(case) {
            failures.push(format!(
                "{}/{} ({}:{}): {}",
                case.name,
                T::NAME,
                path.display(),
                case.line,
                e
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}
