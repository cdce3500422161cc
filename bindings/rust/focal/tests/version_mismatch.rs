//! Run by run.sh with LD_PRELOAD of a library whose focal_version_number()
//! reports 2.0.0 (tests/version_mismatch/fake_major.c): the first call
//! that uses the library must fail with Incompatible. Ignored in a plain
//! `cargo test`, where the real library is loaded.
use focal::{Loss, Mode, Status};

#[test]
#[ignore = "needs LD_PRELOAD of tests/version_mismatch/fake_major.c (run.sh does it)"]
fn a_library_of_another_major_version_is_refused() {
    assert_eq!(focal::version_number(), 20000, "the fake library is not preloaded");
    let err = Loss::new(Mode::Softmax).unwrap_err();
    assert_eq!(err.status(), Status::Incompatible);
    assert!(
        err.message().contains("version 2.0.0") && err.message().contains("major version 1"),
        "{}",
        err.message()
    );
    // Refused on every call, not only the first.
    assert_eq!(Loss::new(Mode::Sigmoid).unwrap_err().status(), Status::Incompatible);
    assert_eq!(focal::prior_bias(0.01).unwrap_err().status(), Status::Incompatible);
}
