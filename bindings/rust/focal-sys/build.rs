// Links against the installed libfocal.
//
// By default the flags come from `pkg-config --libs focal` (PKG_CONFIG names
// the program; PKG_CONFIG_PATH and PKG_CONFIG_LIBDIR are honoured as by every
// pkg-config consumer). FOCAL_NO_PKG_CONFIG=1 skips pkg-config and links a
// plain -lfocal; FOCAL_LIB_DIR adds a library search path in either case.
use std::env;
use std::process::{self, Command};

fn fail(message: &str) -> ! {
    eprintln!("error: {}", message);
    eprintln!(
        "hint: install libfocal and point PKG_CONFIG_PATH at the directory holding focal.pc, \
         e.g. `. <prefix>/env.sh` for the prefix the FFI tests install into; or set \
         FOCAL_NO_PKG_CONFIG=1 (plain -lfocal) and FOCAL_LIB_DIR=<dir holding libfocal.so>"
    );
    process::exit(1);
}

fn pkg_config_libs() -> String {
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let output = match Command::new(&program).args(["--libs", "focal"]).output() {
        Ok(output) => output,
        Err(err) => fail(&format!("could not run `{} --libs focal`: {}", program, err)),
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
    if !libs.split_whitespace().any(|f| f == "-lfocal") {
        fail(&format!(
            "`{} --libs focal` printed no -lfocal: {:?}",
            program,
            libs.trim()
        ));
    }
    libs
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in [
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "FOCAL_NO_PKG_CONFIG",
        "FOCAL_LIB_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={}", var);
    }

    if let Some(dir) = env::var_os("FOCAL_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = dir.to_string_lossy();
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:libdir={}", dir);
    }
    let no_pkg_config = env::var_os("FOCAL_NO_PKG_CONFIG").map_or(false, |v| !v.is_empty() && v != "0");
    let libs = if no_pkg_config {
        "-lfocal".to_string()
    } else {
        pkg_config_libs()
    };
    for flag in libs.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={}", dir);
            println!("cargo:libdir={}", dir);
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={}", lib);
        }
    }
}
