//! The golden data of tests/golden (format in tests/golden/README.md): a
//! reader, the configuration of a Loss from a case, and a checker that runs
//! forward, backward and forward_backward through the binding.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use focal::{Alpha, Float, Input, Loss, Mode, Reduction, Shape, Variant};

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
                c.variant = if rest[0] == "fl_star" {
                    Variant::FlStar
                } else {
                    Variant::Fl
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
        .unwrap_or_else(|e| panic!("{}: configure: {}", case.name, e));
    if let Some(i) = case.ignore_index {
        loss.set_ignore_index(i).expect("ignore_index");
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
