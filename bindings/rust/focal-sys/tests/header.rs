//! src/lib.rs against the installed <focal/focal.h>: the same functions with
//! the same parameter and return types, and the same enum values.
use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn header_path() -> PathBuf {
    match env::var_os("FOCAL_PREFIX") {
        Some(prefix) => Path::new(&prefix).join("include/focal/focal.h"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../include/focal/focal.h"),
    }
}

fn strip_c_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        out.push(' ');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits "const char *name" into ("const char *", "name").
fn split_trailing_ident(decl: &str) -> (String, String) {
    let decl = decl.trim();
    let start = decl.trim_end_matches(is_ident).len();
    (decl[..start].trim().to_string(), decl[start..].to_string())
}

/// A C type as this binding spells it in Rust.
fn rust_type(c: &str) -> String {
    let c = c.replace('*', " * ");
    let toks: Vec<&str> = c.split_whitespace().collect();
    let stars = toks.iter().filter(|t| **t == "*").count();
    let is_const = toks.first() == Some(&"const");
    let base: Vec<&str> = toks
        .iter()
        .copied()
        .filter(|t| *t != "*" && *t != "const")
        .collect();
    assert_eq!(base.len(), 1, "unexpected C type {:?}", c);
    let base = match base[0] {
        "double" => "c_double",
        "float" => "c_float",
        "int" => "c_int",
        "unsigned" => "c_uint",
        "char" => "c_char",
        "int64_t" => "i64",
        "uint16_t" => "u16",
        other if other.starts_with("focal_") => other,
        other => panic!("no Rust spelling for C type {:?}", other),
    };
    let mut rust = base.to_string();
    for level in 0..stars {
        let qualifier = if level == 0 && is_const {
            "*const "
        } else {
            "*mut "
        };
        rust = format!("{}{}", qualifier, rust);
    }
    rust
}

/// "double counts[3]" as the pointer it decays to, "double *counts".
fn array_to_pointer(p: &str) -> String {
    match p.find('[') {
        Some(i) => {
            let (ty, name) = split_trailing_ident(&p[..i]);
            format!("{} *{}", ty, name)
        }
        None => p.to_string(),
    }
}

type Signature = (Vec<String>, String);

fn header_functions(header: &str) -> BTreeMap<String, Signature> {
    let code: String = strip_c_comments(header)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let mut functions = BTreeMap::new();
    for decl in code.split("FOCAL_API").skip(1) {
        let decl = &decl[..decl.find(';').expect("declaration without ;")];
        let open = decl.find('(').expect("declaration without (");
        let close = decl.rfind(')').expect("declaration without )");
        let (ret, name) = split_trailing_ident(&decl[..open]);
        let params: Vec<String> = decl[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| *p != "void" && !p.is_empty())
            .map(|p| rust_type(&split_trailing_ident(&array_to_pointer(p)).0))
            .collect();
        let ret = if ret == "void" {
            String::new()
        } else {
            rust_type(&ret)
        };
        functions.insert(name, (params, ret));
    }
    functions
}

fn sys_functions(sys: &str) -> BTreeMap<String, Signature> {
    let mut functions = BTreeMap::new();
    for decl in sys.split("pub fn ").skip(1) {
        let decl = &decl[..decl.find(';').expect("fn without ;")];
        let open = decl.find('(').unwrap();
        let close = decl.rfind(')').unwrap();
        let name = decl[..open].trim().to_string();
        let params: Vec<String> = decl[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.split_once(':')
                    .expect("parameter without type")
                    .1
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let ret = decl[close + 1..]
            .trim()
            .trim_start_matches("->")
            .trim()
            .to_string();
        functions.insert(name, (params, ret));
    }
    functions
}

#[test]
fn every_function_is_declared_with_the_header_signature() {
    let path = header_path();
    let header = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    let sys = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let want = header_functions(&header);
    let got = sys_functions(&sys);
    assert!(
        want.len() >= 45,
        "only {} functions parsed from {}",
        want.len(),
        path.display()
    );

    let mut problems = Vec::new();
    for (name, sig) in &want {
        match got.get(name) {
            None => problems.push(format!("{} is in the header but not in focal-sys", name)),
            Some(s) if s != sig => {
                problems.push(format!("{}: header {:?}, focal-sys {:?}", name, sig, s))
            }
            Some(_) => {}
        }
    }
    for name in got.keys().filter(|n| !want.contains_key(*n)) {
        problems.push(format!("{} is in focal-sys but not in the header", name));
    }
    assert!(
        problems.is_empty(),
        "{} differs from src/lib.rs:\n{}",
        path.display(),
        problems.join("\n")
    );
}

#[test]
fn enum_values_and_major_version_match_the_header() {
    let path = header_path();
    let header = strip_c_comments(&fs::read_to_string(&path).unwrap());
    let sys = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();

    let mut want = BTreeMap::new();
    for body in header.split("typedef enum").skip(1) {
        let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
        for item in body.split(',') {
            let mut kv = item.split('=');
            if let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                want.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    let major = header
        .lines()
        .find_map(|l| l.trim().strip_prefix("#define FOCAL_VERSION_MAJOR"))
        .expect("FOCAL_VERSION_MAJOR");
    want.insert("FOCAL_VERSION_MAJOR".to_string(), major.trim().to_string());
    assert!(want.len() >= 20, "only {} constants parsed", want.len());

    let mut got = BTreeMap::new();
    for line in sys.lines() {
        if let Some(rest) = line.trim().strip_prefix("pub const ") {
            let name = rest[..rest.find(':').unwrap()].trim();
            let value = rest[rest.find('=').unwrap() + 1..]
                .trim()
                .trim_end_matches(';')
                .trim();
            got.insert(name.to_string(), value.to_string());
        }
    }
    for (name, value) in &want {
        assert_eq!(got.get(name), Some(value), "{} in {}", name, path.display());
    }
    for name in got.keys().filter(|n| !n.starts_with("FOCAL_VERSION")) {
        assert!(
            want.contains_key(name),
            "{} is in focal-sys but not in the header",
            name
        );
    }
}
