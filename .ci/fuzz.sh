#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, runs each for a bounded time from a copy
# of its committed seed corpus, replays the seeds once more on the portable
# path, and prints one summary line per target. Exits non-zero when a
# target found a crash, a leak, UB or a violated property; the input that
# did it is left in <build dir>/fuzz-artifacts/<target>/.
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 30; six targets)
#   FUZZ_BUILD_DIR  build directory (default build-fuzz, in the repository)
#                   (tests/fuzz/README.md), which then fail at once
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac

# The toolchain: clang with its sanitizer and libFuzzer runtimes, and the
# library's own build dependencies. Installed only when missing.
packages=(build-essential cmake pkg-config clang libclang-rt-14-dev libopenblas-dev libcmocka-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The targets, their -max_len and seed corpora.
# shellcheck source=tests/fuzz/targets.sh
. "$root/tests/fuzz/targets.sh"
targets=("${fuzz_targets[@]}")

echo "== configure and build ($build, clang, FOCAL_FUZZ=ON)"
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOCAL_FUZZ=ON \
  -DFOCAL_BUILD_BENCH=OFF -DFOCAL_BUILD_EXAMPLES=OFF >/dev/null
fuzzers=()
for t in "${targets[@]}"; do fuzzers+=("${t}_fuzzer"); done
cmake --build "$build" -j"$(nproc)" --target "${fuzzers[@]}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/tests/${t}_fuzzer"
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  log="$build/fuzz-logs/$t.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp "$root/tests/fuzz/corpus/${fuzz_seeds[$t]}/"* "$corpus/"

  echo "== $t: fuzzing for $seconds s (log: $log)"
  start=$(date +%s)
  rc=0
  "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len="${fuzz_max_len[$t]}" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))

  # libFuzzer's own numbers; a run that died early may lack some.
  stat() { grep -o "$1" "$log" | tail -n1 | grep -o '[0-9]*$' || true; }
  execs=$(stat 'number_of_executed_units: *[0-9]*')
  rate=$(stat 'average_exec_per_sec: *[0-9]*')
  cov=$(stat 'cov: [0-9]*')
  ft=$(stat 'ft: [0-9]*')
  units=$(stat 'corp: [0-9]*')
  line="fuzz $t: ${execs:-?} execs in $elapsed s (${rate:-?} exec/s), cov ${cov:-?}, features ${ft:-?}, corpus ${units:-?}"
  if [ "$rc" -ne 0 ]; then
    status=1
    line="$line: FAILED (exit $rc)"
    echo "-- $t failed; the end of its log:"
    grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "$log" | tail -n 60
    for a in "$artifacts"/*; do
      [ -e "$a" ] || continue
      echo "-- input: $a"
      od -An -tx1 -v "$a" | tr -d ' \n' | fold -w 64
      echo
    done
  fi

  # The seeds once more, on the portable path, under the sanitizers.
  echo "== $t: seed corpus on the portable path"
  if ! FOCAL_MAX_ISA=scalar "$bin" -timeout=5 -rss_limit_mb=2048 -artifact_prefix="$artifacts/scalar-" \
      "$root/tests/fuzz/corpus/${fuzz_seeds[$t]}/"* >"$log.scalar" 2>&1; then
    status=1
    line="$line; seeds on the portable path FAILED"
    tail -n 40 "$log.scalar"
  fi
  summary+=("$line")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
