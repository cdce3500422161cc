#!/usr/bin/env bash
# Runs the Rust binding's tests (cargo test) against the installed library.
# usage: run.sh <prefix>/env.sh WORK_DIR
# WORK_DIR (in the build tree) receives cargo's target directory; nothing is
# written into the source tree (Cargo.lock is committed and --locked).
# FOCAL_CARGO names the cargo to use (default: cargo on PATH); its rustc is
# used when one sits next to it. Without cargo the test fails, unless
# FOCAL_SKIP_FFI=1, which turns that into a skip (exit 77).
set -euo pipefail
env_sh=$1
work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cargo=${FOCAL_CARGO:-cargo}
if ! command -v "$cargo" >/dev/null 2>&1; then
    if [ "${FOCAL_SKIP_FFI:-0}" = 1 ]; then
        echo "skipped: $cargo not found and FOCAL_SKIP_FFI=1"
        exit 77
    fi
    echo "error: $cargo not found. The Rust FFI tests need cargo and rustc >= 1.63" >&2
    echo "       (Debian 12: apt-get install cargo); set FOCAL_SKIP_FFI=1 to skip them." >&2
    exit 1
fi
cargo=$(command -v "$cargo")
if [ -z "${RUSTC:-}" ] && [ -x "$(dirname "$cargo")/rustc" ]; then
    export RUSTC="$(dirname "$cargo")/rustc"
fi

# shellcheck source=/dev/null
source "$env_sh"
mkdir -p "$work"
export CARGO_TARGET_DIR="$work/target"
export CARGO_TERM_COLOR=never
echo "$("$cargo" --version) with $("${RUSTC:-rustc}" --version), libfocal from $FOCAL_PREFIX"

cd "$here"
"$cargo" test --offline --locked
# The golden data once more on the portable kernels.
FOCAL_MAX_ISA=scalar "$cargo" test --offline --locked -p focal --test golden --test errors

# A library of another major version is refused at first use: preload one
# whose focal_version_number() reports 2.0.0.
cc=${CC:-cc}
fake="$work/libfake_major.so"
"$cc" -shared -fPIC -o "$fake" "$here/focal/tests/version_mismatch/fake_major.c" -Wl,--version-script="$here/focal/tests/version_mismatch/fake_major.map"
LD_PRELOAD="$fake" "$cargo" test --offline --locked -p focal --test version_mismatch -- --ignored

# Linking without pkg-config: FOCAL_NO_PKG_CONFIG=1 and FOCAL_LIB_DIR (a
# PKG_CONFIG that always fails proves pkg-config is not asked).
libdir=$(dirname "$FOCAL_LIBRARY")
PKG_CONFIG=false FOCAL_NO_PKG_CONFIG=1 FOCAL_LIB_DIR="$libdir" \
    CARGO_TARGET_DIR="$work/target-no-pkg-config" \
    "$cargo" test --offline --locked -p focal --test errors

# Both crates package and build from their .crate files (focal against the
# packaged focal-sys): cargo >= 1.89 packages a workspace's crates together.
# An older cargo resolves focal's focal-sys in the crates.io index, which is
# not there offline: it verifies focal-sys and only lists focal's files.
# --allow-dirty: what is checked is the packaging, not the git state.
minor=$("$cargo" --version | sed -n 's/^cargo 1\.\([0-9]*\).*/\1/p')
if [ "${minor:-0}" -ge 89 ]; then
    "$cargo" package --offline --locked --allow-dirty --workspace
else
    "$cargo" package --offline --locked --allow-dirty -p focal-sys
    "$cargo" package --offline --locked --allow-dirty -p focal --list >/dev/null
    echo "note: cargo 1.$minor cannot verify the focal crate offline (needs >= 1.89)"
fi
