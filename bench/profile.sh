#!/usr/bin/env bash
# Instruction counts per element of one fused call of a benchmark
# configuration, on a reduced copy of its shape (bench/profile.c), under
# callgrind, counting only inside the second of two calls (the first binds
# symbols and detects the CPU): where the work goes, whatever else the
# machine is doing. Builds into build-bench/ like run.sh.
#
#   bash bench/profile.sh [SPEC...]        SPEC = SHAPE[:CONFIG[:DTYPE]]
#   bash bench/profile.sh --list           the configurations
#
# SHAPE is cls, seg, det or small; CONFIG a row of the configuration matrix
# (default base); DTYPE f32 (default) or f64. Without a SPEC: cls seg det
# small, base, f32. Examples: det:gamma-0.5, seg:soft-targets:f64.
# FOCAL_MAX_ISA caps the kernel table as usual; valgrind does not run
# AVX-512 code, so under it libfocal uses avx2 at most (each count names
# the table it counted).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target focal_profile focal_bench >/dev/null
if [ "${1:-}" = --list ]; then
  "$build/bench/focal_bench" --list-configs
  exit 0
fi
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for w in "${@:-cls seg det small}"; do
  for spec in $w; do
    file="$out/${spec//[:.]/_}"
    if ! line=$(LD_LIBRARY_PATH="$build/src" valgrind --tool=callgrind --toggle-collect=measured_call \
                 --callgrind-out-file="$file" "$build/bench/focal_profile" "$spec" 2>"$file.err"); then
      echo "== $spec: failed" >&2
      grep -v '^==' "$file.err" >&2 || true
      continue
    fi
    elements=$(echo "$line" | sed -E 's/^[^ ]+: ([0-9]+) elements.*/\1/')
    echo "== $line"
    callgrind_annotate --threshold=100 "$file" 2>/dev/null | grep 'PROGRAM TOTALS' |
      awk -v n="$elements" '{gsub(",", "", $1); printf "  %7.2f instructions/element  in all (the whole call)\n", $1 / n}'
    callgrind_annotate --threshold=100 "$file" 2>/dev/null | grep -E 'libfocal|libopenblas|libm[.-]|memmove|memcpy' |
      awk -v n="$elements" '{gsub(",", "", $1); printf "  %7.2f instructions/element  %s\n", $1 / n, $NF == "" ? $0 : $(NF-1)}' |
      head -10
  done
done
