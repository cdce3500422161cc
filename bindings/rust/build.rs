// Links against the installed libfocal found through pkg-config. Honours
// PKG_CONFIG (the program to run) and PKG_CONFIG_PATH like every other
// pkg-config consumer.
use std::env;
use std::process::{self, Command};

fn fail(message: &str) -> ! {
    eprintln!("error: {}", message);
    eprintln!(
        "hint: install libfocal and point PKG_CONFIG_PATH at the directory holding focal.pc, \
         e.g. `. <prefix>/env.sh` for the prefix the FFI tests install into"
    );
    process::exit(1);
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");

    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let output = match Command::new(&program).args(["--libs", "focal"]).output() {
        Ok(output) => output,
        Err(err) => fail(&format!(
            "could not run `{} --libs focal`: {}",
            program, err
        )),
    };
    if !output.status.success() {
        fail(&format!(
            "`{} --libs focal` failed ({}): {}",
            program,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let libs = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut linked = false;
    for flag in libs.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={}", dir);
            println!("cargo:libdir={}", dir);
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={}", lib);
            linked |= lib == "focal";
        }
    }
    if !linked {
        fail(&format!(
            "`{} --libs focal` printed no -lfocal: {:?}",
            program,
            libs.trim()
        ));
    }
}
