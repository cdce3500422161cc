#!/usr/bin/env bash
# Instruction counts per element of one fused float32 call on a reduced
# copy of each benchmark workload (bench/profile.c), under callgrind,
# counting only inside the second of two calls (the first binds symbols and
# detects the CPU): where the work goes, whatever else the machine is doing. Builds into
# build-bench/ like run.sh. Usage: bash bench/profile.sh [cls seg det small]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
build=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target focal_profile >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for w in "${@:-cls seg det small}"; do
  for name in $w; do
    line=$(LD_LIBRARY_PATH="$build/src" valgrind --tool=callgrind --toggle-collect=measured_call \
           --callgrind-out-file="$out/$name" \
           "$build/bench/focal_profile" "$name" 2>/dev/null)
    elements=$(echo "$line" | sed -E 's/^[a-z]+: ([0-9]+) elements.*/\1/')
    echo "== $line"
    callgrind_annotate --threshold=100 "$out/$name" 2>/dev/null | grep 'PROGRAM TOTALS' |
      awk -v n="$elements" '{gsub(",", "", $1); printf "  %7.2f instructions/element  in all (the whole call)\n", $1 / n}'
    callgrind_annotate --threshold=100 "$out/$name" 2>/dev/null | grep -E 'libfocal|libopenblas|memmove|memcpy' |
      awk -v n="$elements" '{gsub(",", "", $1); printf "  %7.2f instructions/element  %s\n", $1 / n, $NF == "" ? $0 : $(NF-1)}' |
      head -8
  done
done
