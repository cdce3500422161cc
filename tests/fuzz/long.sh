#!/usr/bin/env bash
# Long fuzzing run: each libFuzzer target in turn, one process at a time,
# from a copy of its committed seed corpus, for a given time or number of
# executions; prints executions, rate, edges (cov), features, corpus size
# and time per target. Exits non-zero when a target found something; the
# input is left in <work dir>/artifacts/<target>/.
#
# Usage: tests/fuzz/long.sh BUILD_DIR [TARGET...]
#   BUILD_DIR  a build tree configured with CC=clang -DFOCAL_FUZZ=ON whose
#              <target>_fuzzer binaries are built (.ci/fuzz.sh builds them)
#   TARGET     default: every target of tests/fuzz/targets.sh, the fast
#              ones first
# Environment:
#   FUZZ_SECONDS  seconds per target (default 600)
#   FUZZ_RUNS     executions per target (default: unbounded; the first of
#                 the two limits reached ends the target's run)
#   FUZZ_WORK     work directory for corpora, logs, artifacts
#                 (default BUILD_DIR/fuzz-long)
#   FUZZ_NICE     niceness (default 19)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: long.sh BUILD_DIR [TARGET...]}
shift
# shellcheck source=tests/fuzz/targets.sh
. "$root/tests/fuzz/targets.sh"
targets=("$@")
((${#targets[@]})) || targets=("${fuzz_long_order[@]}")
seconds=${FUZZ_SECONDS:-600}
runs=${FUZZ_RUNS:--1}
work=${FUZZ_WORK:-$build/fuzz-long}
niceness=${FUZZ_NICE:-19}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
printf '%-14s %12s %8s %7s %7s %7s %7s %s\n' target execs exec/s cov ft corpus seconds result
for t in "${targets[@]}"; do
  bin="$build/tests/${t}_fuzzer"
  [ -x "$bin" ] || { echo "$t: $bin not built" >&2; status=1; continue; }
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  log="$work/logs/$t.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp "$root/tests/fuzz/corpus/${fuzz_seeds[$t]:-$t}/"* "$corpus/"
  start=$(date +%s)
  rc=0
  nice -n "$niceness" "$bin" -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="${fuzz_max_len[$t]:-4096}" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  stat() { grep -o "$1" "$log" | tail -n1 | grep -o '[0-9]*$' || true; }
  result=ok
  [ "$rc" -eq 0 ] || { result="FAILED (exit $rc, log $log)"; status=1; }
  printf '%-14s %12s %8s %7s %7s %7s %7s %s\n' "$t" \
    "$(stat 'number_of_executed_units: *[0-9]*')" "$(stat 'average_exec_per_sec: *[0-9]*')" \
    "$(stat 'cov: [0-9]*')" "$(stat 'ft: [0-9]*')" "$(ls "$corpus" | wc -l)" "$elapsed" "$result"
done
exit $status
