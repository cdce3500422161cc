//! Ownership: Clone is a deep copy, Drop frees the context, and one Loss may
//! be shared by threads computing at once.
use std::fs;
use std::thread;

use focal::{Alpha, Loss, Mode, Reduction, Shape};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn loss_is_send_and_sync() {
    assert_send_sync::<Loss>();
    assert_send_sync::<focal::Error>();
}

#[test]
fn clone_is_a_deep_copy() {
    let mut original = Loss::new(Mode::Softmax).unwrap();
    original
        .set_gamma(0.5)
        .unwrap()
        .set_alpha_vector(&[0.2, 0.3, 0.5])
        .unwrap();
    original.set_reduction(Reduction::Sum).unwrap();

    let mut copy = original.clone();
    assert_ne!(copy.as_ptr(), original.as_ptr());
    assert_eq!(copy.gamma().unwrap(), 0.5);
    assert_eq!(copy.alpha().unwrap(), Alpha::Vector(vec![0.2, 0.3, 0.5]));
    assert_eq!(copy.reduction().unwrap(), Reduction::Sum);

    copy.set_gamma(3.0)
        .unwrap()
        .set_alpha_vector(&[1.0, 1.0, 1.0])
        .unwrap();
    assert_eq!(original.gamma().unwrap(), 0.5);
    assert_eq!(
        original.alpha().unwrap(),
        Alpha::Vector(vec![0.2, 0.3, 0.5])
    );

    // The copy outlives the original and still computes.
    let again = original.try_clone().unwrap();
    drop(original);
    let mut out = [0.0f64];
    again
        .forward(Shape::nc(1, 3), &[1.0, 2.0, 3.0], &[2], None, &mut out)
        .unwrap();
    assert!(out[0] > 0.0);
    copy.forward(Shape::nc(1, 3), &[1.0, 2.0, 3.0], &[2], None, &mut out)
        .unwrap();
}

fn resident_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[test]
fn drop_frees_the_context() {
    // Each context holds a copied 8 MiB alpha vector: without
    // focal_loss_destroy the loop would keep about 1 GiB resident.
    let alpha = vec![0.25f64; 1 << 20];
    let before = resident_kib();
    for _ in 0..64 {
        let mut loss = Loss::new(Mode::Sigmoid).unwrap();
        loss.set_alpha_vector(&alpha).unwrap();
        let copy = loss.clone();
        assert_eq!(
            copy.alpha()
                .map(|a| matches!(a, Alpha::Vector(v) if v.len() == 1 << 20)),
            Ok(true)
        );
    }
    let grown_mib = resident_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 256,
        "resident memory grew by {} MiB: contexts are not freed",
        grown_mib
    );
}

#[test]
fn threads_share_one_loss() {
    let (n, c, inner) = (64usize, 7usize, 5usize);
    let shape = Shape::new(n, c, inner);
    let x: Vec<f32> = (0..n * c * inner)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
        .collect();
    let t: Vec<i64> = (0..n * inner).map(|i| (i % c) as i64).collect();
    let mut loss = Loss::new(Mode::Softmax).unwrap();
    loss.set_gamma(2.0)
        .unwrap()
        .set_reduction(Reduction::Mean)
        .unwrap();

    let mut want_out = [0.0f32];
    let mut want_grad = vec![0.0f32; x.len()];
    loss.forward_backward(
        shape,
        &x,
        &t,
        None,
        Some(&mut want_out),
        Some(&mut want_grad),
    )
    .unwrap();

    let moved = loss.clone();
    let loss = &loss;
    thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let mut results = Vec::new();
                    for _ in 0..25 {
                        let mut out = [0.0f32];
                        let mut grad = vec![0.0f32; x.len()];
                        loss.forward_backward(shape, &x, &t, None, Some(&mut out), Some(&mut grad))
                            .unwrap();
                        results.push((out, grad));
                    }
                    results
                })
            })
            .collect();
        for h in handles {
            for (out, grad) in h.join().unwrap() {
                assert_eq!(out[0].to_bits(), want_out[0].to_bits());
                assert!(grad
                    .iter()
                    .zip(&want_grad)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    });

    // A Loss moved to another thread computes and is dropped there.
    let (x2, t2) = (x.clone(), t.clone());
    let got = thread::spawn(move || {
        let mut out = [0.0f32];
        moved.forward(shape, &x2, &t2, None, &mut out).unwrap();
        out[0]
    })
    .join()
    .unwrap();
    assert_eq!(got.to_bits(), want_out[0].to_bits());
}
