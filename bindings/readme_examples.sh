#!/usr/bin/env bash
# Runs the README's "Use it from Python, Rust, Go, Julia and C++" programs
# against the installed library: each fenced block of those languages is
# written to a scratch project in WORK_DIR and built and run there; nothing
# is written into the source tree. A language whose toolchain is missing
# fails the test, unless FOCAL_SKIP_FFI=1, which skips that language;
# Julia, which Debian 12 does not package, is skipped where julia is not on
# PATH. Exits 77 (skipped) only when no language could run.
# usage: readme_examples.sh <prefix>/env.sh WORK_DIR
set -euo pipefail
env_sh=$1
work=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=/dev/null
source "$env_sh"
rm -rf "$work"
mkdir -p "$work"

fence='```'
# The first block fenced as ```<lang> in the README.
block() {
    awk -v start="$fence$1" -v stop="$fence" '$0 == start { on = 1; next } on && $0 == stop { exit } on { print }' \
        "$root/README.md"
}

ran=0
missing() {
    if [ "${FOCAL_SKIP_FFI:-0}" = 1 ]; then
        echo "-- $1: skipped ($2 not found, FOCAL_SKIP_FFI=1)"
        return 0
    fi
    echo "error: $2 not found for the README's $1 example (FOCAL_SKIP_FFI=1 skips it)" >&2
    exit 1
}
check_nonempty() {
    [ -s "$1" ] || { echo "error: the README has no $2 block" >&2; exit 1; }
}

# C++
block cpp >"$work/readme.cpp"
check_nonempty "$work/readme.cpp" cpp
if command -v "${CXX:-g++}" >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    "${CXX:-g++}" -std=c++17 -Wall -Wextra -Werror "$work/readme.cpp" -o "$work/readme_cpp" $(pkg-config --cflags --libs focal)
    out=$("$work/readme_cpp")
    echo "-- C++: $out"
    ran=$((ran + 1))
else
    missing C++ "${CXX:-g++}"
fi

# Python: the package from the source tree, the library from the prefix.
block python >"$work/readme.py"
check_nonempty "$work/readme.py" python
# Debian's python3, which has numpy (as bindings/python/run.sh).
out=$(PYTHONPATH="$root/bindings/python" "${FOCAL_PYTHON:-/usr/bin/python3}" "$work/readme.py")
echo "-- Python: $out"
ran=$((ran + 1))

# Rust: a crate depending on bindings/rust/focal by path.
block rust >"$work/main.rs"
check_nonempty "$work/main.rs" rust
if command -v "${FOCAL_CARGO:-cargo}" >/dev/null 2>&1; then
    mkdir -p "$work/rust/src"
    mv "$work/main.rs" "$work/rust/src/main.rs"
    cat >"$work/rust/Cargo.toml" <<TOML
[package]
name = "readme"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
focal = { path = "$root/bindings/rust/focal" }

[workspace]
TOML
    out=$(cd "$work/rust" && CARGO_TARGET_DIR="$work/rust/target" CARGO_TERM_COLOR=never \
        "${FOCAL_CARGO:-cargo}" run --quiet --offline)
    echo "-- Rust: $out"
    ran=$((ran + 1))
else
    missing Rust "${FOCAL_CARGO:-cargo}"
fi

# Go: a module that replaces the binding's path by its directory.
block go >"$work/main.go"
check_nonempty "$work/main.go" go
if command -v "${FOCAL_GO:-go}" >/dev/null 2>&1; then
    mkdir -p "$work/go"
    mv "$work/main.go" "$work/go/main.go"
    cat >"$work/go/go.mod" <<MOD
module readme

go 1.19

require libfocal.org/libfocal/bindings/go v0.0.0

replace libfocal.org/libfocal/bindings/go => $root/bindings/go
MOD
    out=$(cd "$work/go" && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false GOENV=off \
        GO111MODULE=on CGO_ENABLED=1 GOPATH="$work/gopath" GOCACHE="$work/gocache" "${FOCAL_GO:-go}" run .)
    echo "-- Go: $out"
    ran=$((ran + 1))
else
    missing Go "${FOCAL_GO:-go}"
fi

# Julia, where it is installed.
block julia >"$work/readme.jl"
check_nonempty "$work/readme.jl" julia
if command -v julia >/dev/null 2>&1; then
    out=$(JULIA_LOAD_PATH="$root/bindings/julia:@stdlib" julia "$work/readme.jl")
    echo "-- Julia: $out"
    ran=$((ran + 1))
else
    echo "-- Julia: skipped (julia not found; Debian 12 has no package)"
fi

[ "$ran" -gt 0 ] || exit 77
echo "$ran README examples ran"
