#!/usr/bin/env bash
# Builds libfocal and focal_bench in Release (in build-bench/, with the
# README's default flags: no -march=native) and the 1.0 release (git tag
# v1.0.0, with its own focal_bench, in build-bench/v1.0/); runs focal_bench
# once per kernel table that this CPU and this libfocal can run (scalar,
# avx2, avx512; FOCAL_MAX_ISA set for each run), 1.0's focal_bench on its
# headline workloads and the PyTorch peers; writes the performance report.
#
#   bash bench/run.sh [--quick] [--workload NAMES] [--threads LIST] [--tables LIST]
#                     [--config NAMES] [--no-v1] [--out FILE]
#
# A full run writes docs/performance.md. A --quick run, or one narrowed by
# any option, writes build-bench/bench-results/performance.md instead, so a
# smoke test never replaces the published figures; --out chooses the file
# either way. Environment: PYTHON (default /usr/bin/python3, Debian's,
# which has torch), FOCAL_BENCH_BUILD_DIR (default build-bench),
# FOCAL_BENCH_SCALAR_MATRIX (the scalar table's matrix: reduced by
# default, base with --quick; full, base or none), FOCAL_BENCH_V1_REF (the
# git ref of the release compared with, default v1.0.0). A quick run times
# the whole matrix and every operation on the best table only; the others
# get their base configurations and fused calls.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FOCAL_BENCH_BUILD_DIR:-build-bench}
python=${PYTHON:-/usr/bin/python3}
results="$build/bench-results"
v1_ref=${FOCAL_BENCH_V1_REF:-v1.0.0}
v1_dir="$build/v1.0"
out=""
partial=0
quick=0
with_v1=1
only_tables=""
args=()        # for focal_bench, 1.0's focal_bench and peers.py alike
bench_args=()  # for this focal_bench only
while (($#)); do
  case "$1" in
    --quick) args+=("$1"); quick=1; partial=1; shift ;;
    --workload|--threads)
      (($# >= 2)) || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); partial=1; shift 2 ;;
    --config)
      (($# >= 2)) || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      bench_args+=("$1" "$2"); partial=1; shift 2 ;;
    --tables)
      (($# >= 2)) || { echo "run.sh: --tables needs a list, e.g. avx2,avx512" >&2; exit 2; }
      only_tables=${2//,/ }; partial=1; shift 2 ;;
    --no-v1) with_v1=0; partial=1; shift ;;
    --out)
      (($# >= 2)) || { echo "run.sh: --out needs a file" >&2; exit 2; }
      out=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$out" ]; then
  if ((partial)); then out="$results/performance.md"; else out="docs/performance.md"; fi
fi
if [ -n "${FOCAL_MAX_ISA:-}" ]; then
  echo "run.sh: ignoring FOCAL_MAX_ISA=$FOCAL_MAX_ISA: run.sh sets it for each table (choose tables with --tables)" >&2
  unset FOCAL_MAX_ISA
fi

for tool in cmake "$python"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (bash .ci/deps installs the build tools)" >&2; exit 2; }
done

start=$(date +%s)
steps=()
step_start=$start
step_done() {  # records how long the step just finished took
  local now
  now=$(date +%s)
  steps+=("$1 $((now - step_start)) s")
  step_start=$now
}
echo "== building libfocal and focal_bench (Release) in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOCAL_BUILD_BENCH=ON \
      -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target focal_bench >/dev/null
bench="$build/bench/focal_bench"
step_done "build"

mkdir -p "$results"
rm -f "$results"/focal-*.json "$results"/focal-*.txt "$results/tables.json" "$results/v1.0.json" \
      "$results/v1.0.txt" "$results/peers.json" "$results/peers.txt"
status=0

# The 1.0 release, from git: its own sources, its own focal_bench. Any
# failure leaves the comparison NOT MEASURED, with the reason.
v1_bench=""
v1_reason=""
build_v1() {
  local commit
  if ! commit=$(git rev-parse --verify -q "$v1_ref^{commit}" 2>/dev/null); then
    v1_reason="no git tag $v1_ref here (not a git checkout, or its history lacks the tag)"
    return 1
  fi
  mkdir -p "$v1_dir"
  if [ "$(cat "$v1_dir/src.commit" 2>/dev/null)" != "$commit" ]; then
    rm -rf "$v1_dir/src" "$v1_dir/build"
    mkdir -p "$v1_dir/src"
    if ! git archive "$commit" | tar -x -C "$v1_dir/src"; then
      v1_reason="git archive $v1_ref failed"
      return 1
    fi
    echo "$commit" >"$v1_dir/src.commit"
  fi
  if ! { cmake -S "$v1_dir/src" -B "$v1_dir/build" -DCMAKE_BUILD_TYPE=Release -DFOCAL_BUILD_BENCH=ON \
           -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_EXAMPLES=OFF &&
         cmake --build "$v1_dir/build" -j"$(nproc)" --target focal_bench; } >"$v1_dir/build.log" 2>&1; then
    v1_reason="building $v1_ref failed (see $v1_dir/build.log)"
    return 1
  fi
  v1_bench="$v1_dir/build/bench/focal_bench"
}
if ((with_v1)); then
  echo "== building $v1_ref (Release) in $v1_dir"
  build_v1 || echo "run.sh: $v1_reason; the 1.0 comparison is NOT MEASURED" >&2
  step_done "build $v1_ref"
else
  v1_reason="not run (--no-v1)"
fi

echo "== kernel tables"
"$bench" --tables --json "$results/tables.json" | tee "$results/tables.txt"
runnable=$(sed -n 's/^runnable://p' "$results/tables.txt")
tables=()
for t in $runnable; do
  if [ -z "$only_tables" ] || [[ " $only_tables " == *" $t "* ]]; then tables+=("$t"); fi
done
((${#tables[@]})) || { echo "run.sh: no kernel table to run (runnable: ${runnable:-none})" >&2; exit 1; }

focal_jsons=()
best=${tables[${#tables[@]}-1]}
for t in "${tables[@]}"; do
  if [ "$t" = scalar ]; then
    # The portable table is slow: its headline workloads are timed fused
    # only, and its matrix is the reduced one (the base alone in a quick run).
    if ((quick)); then matrix=${FOCAL_BENCH_SCALAR_MATRIX:-base}; else matrix=${FOCAL_BENCH_SCALAR_MATRIX:-reduced}; fi
    ops=fused
  elif ((quick)) && [ "$t" != "$best" ]; then
    # A quick run times every configuration on the best table only.
    matrix=base
    ops=fused
  else
    matrix=full
    ops=forward,backward,fused
  fi
  echo "== focal_bench, table $t (FOCAL_MAX_ISA=$t): matrix $matrix, operations $ops"
  FOCAL_MAX_ISA=$t "$bench" "${args[@]}" "${bench_args[@]}" --ops "$ops" --matrix "$matrix" --expect-isa "$t" \
    --json "$results/focal-$t.json" | tee "$results/focal-$t.txt" || status=1
  if [ -s "$results/focal-$t.json" ]; then
    focal_jsons+=("$results/focal-$t.json")
  else
    echo "run.sh: focal_bench wrote no results for table $t" >&2
    status=1
  fi
  step_done "table $t"
done
((${#focal_jsons[@]})) || { echo "run.sh: focal_bench wrote no results" >&2; exit 1; }

v1=()
if [ -n "$v1_bench" ]; then
  echo "== $v1_ref focal_bench (its default table)"
  if env -u FOCAL_MAX_ISA "$v1_bench" "${args[@]}" --json "$results/v1.0.json" \
       | tee "$results/v1.0.txt" && [ -s "$results/v1.0.json" ]; then
    v1=(--v1 "$results/v1.0.json")
  else
    v1_reason="$v1_ref's focal_bench failed (see $results/v1.0.txt)"
    echo "run.sh: $v1_reason" >&2
  fi
  step_done "$v1_ref"
fi
((${#v1[@]})) || v1=(--v1-missing "$v1_reason")

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
step_done "peers"

elapsed=$(($(date +%s) - start))
mkdir -p "$(dirname "$out")"
command="bash bench/run.sh"
for a in ${args[@]+"${args[@]}"} ${bench_args[@]+"${bench_args[@]}"}; do command+=" $a"; done
[ -n "$only_tables" ] && command+=" --tables ${only_tables// /,}"
((with_v1)) || command+=" --no-v1"
# The chart beside the page: docs/figures/performance.svg for the published
# figures, next to the page otherwise; only where matplotlib is installed.
figure=()
if "$python" -c 'import matplotlib' >/dev/null 2>&1; then
  if [ "$out" = docs/performance.md ]; then figure=(--figure docs/figures/performance.svg)
  else figure=(--figure "${out%.md}.svg"); fi
else
  echo "run.sh: matplotlib is not installed (apt-get install python3-matplotlib): no performance chart"
fi
"$python" bench/report.py --tables "$results/tables.json" --focal "${focal_jsons[@]}" "${v1[@]}" "${peers[@]}" \
  --out "$out" --command "$command" --elapsed "$elapsed" ${figure[@]+"${figure[@]}"}
took=$(printf '%s, ' "${steps[@]}")
echo "== done in $((elapsed / 60)) min $((elapsed % 60)) s (${took%, }); JSON and text output in $results/"
exit "$status"
