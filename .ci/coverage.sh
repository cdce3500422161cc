#!/usr/bin/env bash
# Line and branch coverage of src/ by the test suite: a gcc --coverage
# Debug build (build-coverage), the ctest suite on both instruction-set
# paths, and gcovr over the library's object files. Writes
#   build-coverage/coverage/coverage.txt    per-file lines, with the missed ones
#   build-coverage/coverage/index.html      annotated sources, lines and branches
# prints the summary, and fails when line coverage of src/ is below
# FOCAL_COVERAGE_MIN percent (default 95) or when a test fails.
#
# Left out of the ctest run: the labels ffi (the same library code reached
# through Python, Go and Rust; minutes of toolchain time), package and abi
# (they build their own copies of the sources, whose counters are not these),
# and default (a suite's run on the table the library picks, which is also
# run under that table's name). FOCAL_TEST_QUICK=1, as under the slower
# checkers: the long sweeps (test_vec_math's 1/64, the threaded tests'
# fewer calls) reach the same lines; the gcc and clang stages run them whole.
#
# Each test writes its counters apart and the sums are merged with gcov-tool
# (cmake/coverage_profiles.cmake): the library's processes would otherwise
# all rewrite the same counter files as they exit, in parallel.
#
# Usage: bash .ci/coverage.sh
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps gcovr || exit 1

dir=build-coverage
min=${FOCAL_COVERAGE_MIN:-95}
jobs=$(nproc)
start=$SECONDS

echo "== coverage: configure and build ($dir)"
mkdir -p "$dir"
# Atomic counters: the library's worker threads update the same counters.
flags="--coverage -fprofile-update=atomic"
profiles=$PWD/$dir/profiles
if ! CC=gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DFOCAL_WERROR=ON -DFOCAL_BUILD_BENCH=OFF \
    "-DFOCAL_COVERAGE_PROFILES=$profiles" "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=--coverage" \
    "-DCMAKE_SHARED_LINKER_FLAGS=--coverage" >"$dir/configure.log" 2>&1 ||
    ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
    tail -30 "$dir/build.log"
    echo "coverage: FAIL (build, $dir/build.log)"
    exit 1
fi
find "$dir" -name '*.gcda' -delete
rm -rf "$profiles" "$dir/profiles-merged"

echo "== coverage: ctest"
tests_ok=0
(cd "$dir" && FOCAL_TEST_QUICK=1 ctest -j"$jobs" --output-on-failure -LE 'ffi|package|abi|default' \
    >ctest.log 2>&1) || tests_ok=1
tail -12 "$dir/ctest.log"

# Each test wrote its counters under $profiles/<test>/<this build tree>
# (cmake/coverage_profiles.cmake); merge them with gcov-tool and put the
# sums beside the object files, where gcovr reads them. A test whose
# counters gcov-tool cannot read, and an exiting process that could not
# write its counters (libgcov's "profiling:" messages), are named.
echo "== coverage: merge the tests' counters"
acc=$dir/profiles-merged
warnings=$dir/coverage-warnings.txt
: >"$warnings"
merged=0
for t in "$profiles"/*/; do
    t=${t%/}
    # The build tree's path as the compiler saw it (logical or physical),
    # found by its library objects' directory.
    objects=$(find "$t" -type d -path '*/src/CMakeFiles/focal_objects.dir' -print -quit)
    [ -n "$objects" ] || continue
    src_tree=${objects%/src/CMakeFiles/focal_objects.dir}
    if [ ! -d "$acc" ]; then
        cp -r "$src_tree" "$acc"
    else
        rm -rf "$acc.next"
        gcov-tool merge -o "$acc.next" "$acc" "$src_tree" >"$dir/merge.log" 2>&1
        rc=$?
        if [ $rc != 0 ] || grep -qiE 'error|mismatch|corrupt|cannot|invalid' "$dir/merge.log"; then
            sed "s|^|$(basename "$t"): |" "$dir/merge.log" >>"$warnings"
        fi
        # A failed merge leaves the sum so far as it was (without this
        # test's counters).
        if [ $rc = 0 ] && [ -d "$acc.next" ]; then
            rm -rf "$acc"
            mv "$acc.next" "$acc"
        else
            echo "$(basename "$t"): its counters are left out (gcov-tool exit status $rc)" >>"$warnings"
        fi
    fi
    merged=$((merged + 1))
done
[ -d "$acc" ] && cp -r "$acc"/. "$dir"/
grep -h 'profiling:' "$dir/Testing/Temporary/LastTest.log" >>"$warnings" 2>/dev/null
# Every library object file that has counters in this build must have them
# after the merge; one without them reads as 0 % below.
while IFS= read -r gcno; do
    [ -f "${gcno%.gcno}.gcda" ] || echo "no counters for ${gcno#"$dir"/}" >>"$warnings"
done < <(find "$dir/src" -name '*.gcno')
echo "merged the counters of $merged tests; $(wc -l <"$warnings") warnings"
if [ -s "$warnings" ]; then
    head -40 "$warnings"
fi

echo "== coverage: gcovr"
mkdir -p "$dir/coverage"
# Only the library's own object files: the test programs and CMake's
# compiler probes are not measured.
gcovr --root . --object-directory "$dir" --filter 'src/' \
    --txt "$dir/coverage/coverage.txt" \
    --html-details "$dir/coverage/index.html" --html-title "libfocal coverage" \
    --print-summary "$dir/src" >"$dir/coverage/summary.txt" 2>"$dir/coverage/gcovr.log"
gcovr_rc=$?
cat "$dir/coverage/coverage.txt"
cat "$dir/coverage/summary.txt"
if [ $gcovr_rc != 0 ]; then
    cat "$dir/coverage/gcovr.log"
    echo "coverage: FAIL (gcovr)"
    exit 1
fi

line=$(sed -n 's/^lines: \([0-9.]*\)%.*/\1/p' "$dir/coverage/summary.txt")
branch=$(sed -n 's/^branches: \([0-9.]*\)%.*/\1/p' "$dir/coverage/summary.txt")
status=0
verdict=PASS
if ! awk -v l="$line" -v m="$min" 'BEGIN { exit !(l + 0 >= m + 0) }'; then
    verdict="FAIL (line coverage below $min%)"
    status=1
fi
if [ $tests_ok != 0 ]; then
    verdict="FAIL (tests failed, $dir/ctest.log)"
    status=1
fi
echo "== summary"
printf 'coverage  %s  %4ss  src/ lines %s%%, branches %s%% (minimum %s%% lines); %s counter warnings (%s); report %s\n' \
    "$verdict" $((SECONDS - start)) "$line" "$branch" "$min" "$(wc -l <"$warnings")" "$warnings" "$dir/coverage/index.html"
exit $status
