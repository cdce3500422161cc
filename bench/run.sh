#!/usr/bin/env bash
# Builds libfocal and focal_bench in Release (in build-bench/, with the
# README's default flags: no -march=native), runs focal_bench and the
# PyTorch peers, and writes the performance report.
#
#   bash bench/run.sh [--quick] [--workload NAMES] [--threads LIST] [--out FILE]
#
# A full run writes docs/performance.md. A --quick run, or one limited with
# --workload or --threads, writes build-bench/bench-results/performance.md
# instead, so a smoke test never replaces the published figures; --out
# chooses the file either way. Environment: PYTHON (default /usr/bin/python3,
# Debian's, which has torch), FOCAL_BENCH_BUILD_DIR (default build-bench),
# FOCAL_MAX_ISA (passed through to libfocal).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FOCAL_BENCH_BUILD_DIR:-build-bench}
python=${PYTHON:-/usr/bin/python3}
results="$build/bench-results"
out=""
partial=0
args=()
while (($#)); do
  case "$1" in
    --quick) args+=("$1"); partial=1; shift ;;
    --workload|--threads)
      (($# >= 2)) || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); partial=1; shift 2 ;;
    --out)
      (($# >= 2)) || { echo "run.sh: --out needs a file" >&2; exit 2; }
      out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$out" ]; then
  if ((partial)); then out="$results/performance.md"; else out="docs/performance.md"; fi
fi

for tool in cmake "$python"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (bash .ci/deps installs the build tools)" >&2; exit 2; }
done

start=$(date +%s)
echo "== building libfocal and focal_bench (Release) in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOCAL_BUILD_BENCH=ON \
      -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target focal_bench >/dev/null

mkdir -p "$results"
rm -f "$results/focal.json" "$results/peers.json"
status=0

echo "== focal_bench ${args[*]}"
"$build/bench/focal_bench" "${args[@]}" --json "$results/focal.json" | tee "$results/focal.txt" || status=$?
if [ ! -s "$results/focal.json" ]; then
  echo "run.sh: focal_bench wrote no results" >&2
  exit 1
fi

peers=()
echo "== PyTorch peers ($python)"
if "$python" -c 'import torch' 2>/dev/null; then
  if "$python" bench/peers.py "${args[@]}" --json "$results/peers.json" | tee "$results/peers.txt" \
     && [ -s "$results/peers.json" ]; then
    peers=(--peers "$results/peers.json")
  else
    echo "run.sh: peers.py failed; the report marks the comparisons NOT MEASURED" >&2
    status=1
  fi
else
  echo "run.sh: $python has no torch; the report marks the comparisons NOT MEASURED" >&2
fi

elapsed=$(($(date +%s) - start))
mkdir -p "$(dirname "$out")"
"$python" bench/report.py --focal "$results/focal.json" "${peers[@]}" --out "$out" \
  --command "bash bench/run.sh${args[*]:+ ${args[*]}}" --elapsed "$elapsed"
echo "== done in $((elapsed / 60)) min $((elapsed % 60)) s; JSON and text output in $results/"
exit "$status"
