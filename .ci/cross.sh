#!/usr/bin/env bash
# Cross builds of libfocal and its C suites for other architectures, run
# under qemu-user: aarch64 (64-bit Arm) and s390x (IBM Z, big-endian), with
# Debian 12's cross compilers and the target's multiarch OpenBLAS and cmocka
# (cmake/toolchains/<triplet>.cmake; ctest runs each program under
# qemu-<arch> through CMAKE_CROSSCOMPILING_EMULATOR).
#
# The library there has only the portable kernel table (the AVX2 and
# AVX-512 tables are x86-64 only), so each suite runs once, as its _scalar
# test (FOCAL_REQUIRE_ISA=scalar: it skips, never passes, if the library
# picked another table). What runs: the cmocka suites that check results
# against independent references and the error paths (golden, errors,
# gradcheck, gradcheck_family, numerics, numerics_family, counts, empty,
# half_nonfinite, precision, tiny_denominator), test_vec_math_scalar (the
# portable vector vocabulary and its math) and the fuzz corpus replays, with
# FOCAL_TEST_QUICK=1 (test_vec_math runs 1/64 of its sweeps). On aarch64
# the fuzz_compute replay is not built: Debian 12's aarch64-linux-gnu-gcc
# 12.2 stops with an internal compiler error in its loop vectorizer on
# tests/fuzz/fuzz_compute.c at -O3 (s390x builds and runs it).
# Left out: the benchmark, the examples, the FFI bindings (Python, Go, Rust
# and Julia runtimes of the build machine), the install, package and ABI
# checks (they build, install or inspect native copies), the MPI and
# torch-based tests, test_threads_shared, test_large, test_size_limits,
# test_nan_locality, test_process, the pool, soak and fault-injection suites
# (minutes each under emulation, for code that is not architecture-specific:
# the native stages run them) and the table conformance test (one table).
# docs/reliability.md, "Other architectures", has the times.
#
# Usage: bash .ci/cross.sh [aarch64] [s390x]   (default: both)
# Environment:
#   FOCAL_CROSS_BUILD_ROOT   build directories are <root>-<arch>
#                            (default build-cross, in the source tree)
#   FOCAL_CROSS_TIMEOUT      ctest --timeout per test, seconds (default 300)
#   FOCAL_CROSS_BUDGET       seconds for one architecture's build and tests
#                            (default 480); over it the architecture fails
# Prints one summary line per architecture; exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

arches=("$@")
((${#arches[@]})) || arches=(aarch64 s390x)
jobs=$(nproc)
((jobs > 2)) && jobs=2   # qemu runs each test program on one host thread
root=${FOCAL_CROSS_BUILD_ROOT:-build-cross}
timeout=${FOCAL_CROSS_TIMEOUT:-300}
budget=${FOCAL_CROSS_BUDGET:-480}

suites=(golden errors gradcheck gradcheck_family numerics numerics_family counts empty
  half_nonfinite precision tiny_denominator)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
packages=(qemu-user)
for arch in "${arches[@]}"; do
  case $arch in
    aarch64) deb=arm64 ;;
    s390x) deb=s390x ;;
    *) echo "cross: unknown architecture '$arch' (aarch64, s390x)" >&2; exit 2 ;;
  esac
  if ! dpkg --print-foreign-architectures | grep -qx "$deb"; then
    $SUDO dpkg --add-architecture "$deb" || exit 1
  fi
  # The C library's headers and start files for the cross compiler are only
  # a recommendation of gcc-<arch>-linux-gnu, which .ci/deps does not install.
  packages+=("gcc-$arch-linux-gnu" "libc6-dev-$deb-cross" "libopenblas-dev:$deb" "libcmocka-dev:$deb")
done
bash .ci/deps "${packages[@]}" || exit 1

summary=()
failed=0
for arch in "${arches[@]}"; do
  dir=$root-$arch
  start=$SECONDS
  fuzz=(fuzz_compute fuzz_settings fuzz_half)
  [ "$arch" = aarch64 ] && fuzz=(fuzz_settings fuzz_half)
  # test_numerics's long-double references are software floating point on
  # both targets (about 100 s each under qemu): s390x, the big-endian one,
  # runs it; aarch64 leaves it to keep the stage within its budget.
  run=()
  for s in "${suites[@]}"; do
    [ "$arch" = aarch64 ] && [ "$s" = numerics ] && continue
    run+=("$s")
  done
  targets=(test_vec_math_scalar)
  for s in "${run[@]}"; do targets+=("test_$s"); done
  for f in "${fuzz[@]}"; do targets+=("${f}_replay"); done
  names=$(IFS='|'; echo "${run[*]}")
  regex="^(test_(${names})_scalar|test_vec_math_scalar|fuzz_replay_($(IFS='|'; echo "${fuzz[*]}"))_scalar)\$"
  echo "== cross $arch: configure and build ($dir)"
  # -Wmaybe-uninitialized stays a warning: its flow analysis differs between
  # the targets' compilers and reports initialised arrays as maybe not.
  if cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$arch-linux-gnu.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DFOCAL_WERROR=ON -DCMAKE_C_FLAGS=-Wno-error=maybe-uninitialized \
      -DFOCAL_BUILD_BENCH=OFF -DFOCAL_BUILD_EXAMPLES=OFF >/dev/null &&
    timeout "$budget" cmake --build "$dir" -j"$jobs" --target "${targets[@]}" >"$dir.build.log" 2>&1; then
    built=$((SECONDS - start))
    echo "== cross $arch: built in $built s; ctest under qemu-$arch"
    left=$((budget - built))
    ((left > 0)) || left=1
    if (cd "$dir" && FOCAL_TEST_QUICK=1 timeout "$left" \
        ctest --output-on-failure -j"$jobs" --timeout "$timeout" -R "$regex"); then
      summary+=("cross $arch: passed (build $built s, total $((SECONDS - start)) s)")
    else
      failed=1
      summary+=("cross $arch: FAILED (total $((SECONDS - start)) s of a $budget s budget; log $dir/Testing/Temporary/LastTest.log)")
      if [ -n "${FOCAL_CI_FAILURES:-}" ]; then
        grep -E '^(FAIL|\[  (FAILED|ERROR) \]|.*(Assertion|Timeout|\*\*\*Failed))' \
          "$dir/Testing/Temporary/LastTest.log" | head -40 | sed "s/^/cross $arch: /" >>"$FOCAL_CI_FAILURES" || true
      fi
    fi
  else
    failed=1
    tail -30 "$dir.build.log" 2>/dev/null
    summary+=("cross $arch: FAILED to configure or build (log $dir.build.log)")
  fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"
