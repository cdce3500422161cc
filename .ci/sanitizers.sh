#!/usr/bin/env bash
# Memory and thread checking of libfocal and its tests, in three stages,
# each with its own build directory:
#
#   asan      -fsanitize=address,undefined (build-asan, RelWithDebInfo;
#             build-asan-clang with SAN_CC=clang): the whole ctest suite on
#             both instruction-set paths, leak checking on, every UBSan
#             report fatal. Left out: the labels ffi (the library loaded into Python,
#             Go and Rust runtimes that are not built with ASan), package
#             and abi (they configure and build their own unsanitized copy of
#             the sources), and exported_symbols (it checks that the library
#             needs nothing but glibc and OpenBLAS, which a sanitized build
#             does not meet by design).
#   tsan      gcc -fsanitize=thread (build-tsan): test_threads_shared on both
#             paths, every other cmocka test and the fault-injection and
#             fuzz-replay tests on the default path (the thread pool is the
#             same code on both paths).
#   valgrind  memcheck (build-valgrind, RelWithDebInfo, no sanitizer) over
#             every cmocka test executable, on the AVX2 path (valgrind 3.19
#             runs AVX2 and FMA code; the stage checks that the library did
#             choose that path under valgrind) and on the portable one; an
#             executable that calls no float32 function runs once, since
#             float64 takes the same portable code on both paths.
#             test_numerics runs only with FOCAL_VALGRIND_ALL=1: its
#             long-double closed-form grids take 3 to 6.5 minutes for each
#             mode under valgrind, and valgrind computes x87 long double at
#             64 bits, which turns some of its softmax reference values into
#             NaN (those checks fail while memcheck reports no error, so with
#             FOCAL_VALGRIND_ALL=1 the stage fails on it: read its log's
#             ERROR SUMMARY). ASan and UBSan cover it.
#
# ThreadSanitizer and valgrind run the tests with FOCAL_TEST_QUICK=1, which
# makes test_threads_shared and the fault-injection test do a third to a
# half of their calls.
#
# Usage: bash .ci/sanitizers.sh [asan] [tsan] [valgrind]   (default: all)
# Environment:
#   SAN_CC=gcc|clang       compiler of the asan stage (default gcc:
#                          its runtimes are shared libraries, which the
#                          shared library's -Wl,--no-undefined needs; with
#                          clang the script adds -shared-libsan and puts
#                          clang's runtime directory on LD_LIBRARY_PATH)
#   FOCAL_VALGRIND_ALL=1   valgrind over test_numerics as well
# Prints one summary line per stage; exits non-zero if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

stages=("$@")
((${#stages[@]})) || stages=(asan tsan valgrind)

jobs=$(nproc)
cc=${SAN_CC:-gcc}
# A build directory per compiler: CMake keeps the first one it was given.
suffix=""
[ "$cc" = gcc ] || suffix="-$(basename "$cc")"
need=(valgrind)
[[ $cc == *clang* ]] && need+=(libclang-rt-14-dev)
bash .ci/deps "${need[@]}" || exit 1
summary=()
status=0

record() {   # record <stage> <ok> <seconds> <detail>
    local verdict=PASS
    if [ "$2" != 0 ]; then verdict=FAIL; status=1; fi
    summary+=("$(printf '%-9s %s  %4ss  %s' "$1" "$verdict" "$3" "$4")")
}

# clang links its sanitizer runtimes statically into executables only;
# -shared-libsan makes them a shared library that libfocal.so can depend
# on, found at run time through LD_LIBRARY_PATH (an rpath would stay in
# the installed library, which the install tests refuse).
clang_runtime_dir=""
if [[ $cc == *clang* ]]; then
    clang_runtime_dir=$(dirname "$("$cc" -print-file-name=libclang_rt.asan-x86_64.so)")
    export LD_LIBRARY_PATH=$clang_runtime_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

configure_build() {   # configure_build <dir> <build type> <cflags> <ldflags> [cmake args...]
    local dir=$1 type=$2 cflags=$3 ldflags=$4
    shift 4
    CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DFOCAL_WERROR=ON \
        -DFOCAL_BUILD_BENCH=OFF -DFOCAL_FORCE_INLINE=OFF "-DCMAKE_C_FLAGS=$cflags" \
        "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" "-DCMAKE_SHARED_LINKER_FLAGS=$ldflags" "$@" \
        >"$dir/configure.log" 2>&1 &&
        cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1
}

# Number of tests ctest ran, from its log.
# A failed stage's checks, for .ci/test to print again at the end.
keep_failures() {   # keep_failures LOG LABEL
    [ -n "${FOCAL_CI_FAILURES:-}" ] && [ -f "$1" ] || return 0
    grep -E '^(FAIL|not ok|\[  (FAILED|ERROR) \]|.*(Assertion|Timeout|\*\*\*Failed|runtime error|ERROR: AddressSanitizer))' "$1" |
        head -40 | sed "s/^/$2: /" >>"$FOCAL_CI_FAILURES" || true
}
ctest_count() { sed -n 's/.* tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$1" | tail -1; }

stage_asan() {
    local dir=build-asan$suffix start=$SECONDS ok=0
    local san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    local ld="$san"
    [ -n "$clang_runtime_dir" ] && ld+=" -shared-libsan"
    echo "== asan+ubsan: configure and build ($dir, $cc)"
    mkdir -p "$dir"
    if ! configure_build "$dir" RelWithDebInfo "$san -fno-omit-frame-pointer" "$ld"; then
        tail -30 "$dir/build.log"
        record asan 1 $((SECONDS - start)) "build failed ($dir/build.log)"
        return
    fi
    # With clang the install tests' consumers cannot find its shared
    # sanitizer runtime (they set their own library path): left out, with
    # exported_symbols (which refuses any dependency beyond glibc and
    # OpenBLAS, as a sanitized build has by design).
    local exclude='ffi|package|abi'
    [ -n "$clang_runtime_dir" ] && exclude+='|install'
    echo "== asan+ubsan: ctest"
    # verify_asan_link_order=0: the install tests' consumers are not
    # sanitized themselves and load libasan through libfocal.
    (cd "$dir" &&
        ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:verify_asan_link_order=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest -j"$jobs" --output-on-failure -LE "$exclude" -E '^exported_symbols$' \
            >ctest.log 2>&1) || ok=1
    tail -15 "$dir/ctest.log"
    [ "$ok" = 0 ] || keep_failures "$dir/ctest.log" "asan$suffix"
    record asan "$ok" $((SECONDS - start)) "$(ctest_count "$dir/ctest.log") ctest tests, both ISA paths ($dir/ctest.log)"
}

stage_tsan() {
    # gcc whatever SAN_CC says: clang 14's ThreadSanitizer runtime cannot be
    # a shared library, which libfocal.so (linked -Wl,--no-undefined) needs.
    local dir=build-tsan start=$SECONDS ok=0
    local san="-fsanitize=thread"
    echo "== tsan: configure and build ($dir, gcc)"
    mkdir -p "$dir"
    if ! CC=gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOCAL_WERROR=ON \
        -DFOCAL_BUILD_BENCH=OFF -DFOCAL_BUILD_EXAMPLES=OFF -DFOCAL_FORCE_INLINE=OFF "-DCMAKE_C_FLAGS=$san -fno-omit-frame-pointer" \
        "-DCMAKE_EXE_LINKER_FLAGS=$san" "-DCMAKE_SHARED_LINKER_FLAGS=$san" >"$dir/configure.log" 2>&1 ||
        ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
        tail -30 "$dir/build.log"
        record tsan 1 $((SECONDS - start)) "build failed ($dir/build.log)"
        return
    fi
    local tsan_options="halt_on_error=1:second_deadlock_stack=1:history_size=4"
    if [ -f tests/sanitizers/tsan.supp ]; then
        tsan_options+=":suppressions=$root/tests/sanitizers/tsan.supp"
    fi
    echo "== tsan: ctest"
    (cd "$dir" && export TSAN_OPTIONS=$tsan_options FOCAL_TEST_QUICK=1 &&
        ctest -j"$jobs" --output-on-failure -LE 'ffi|package|abi|install|scalar' >ctest.log 2>&1) || ok=1
    (cd "$dir" && export TSAN_OPTIONS=$tsan_options FOCAL_TEST_QUICK=1 &&
        ctest --output-on-failure -R '^test_threads_shared_scalar$' >ctest-scalar.log 2>&1) || ok=1
    tail -12 "$dir/ctest.log"
    tail -3 "$dir/ctest-scalar.log"
    [ "$ok" = 0 ] || { keep_failures "$dir/ctest.log" tsan; keep_failures "$dir/ctest-scalar.log" tsan; }
    local n1 n2
    n1=$(ctest_count "$dir/ctest.log")
    n2=$(ctest_count "$dir/ctest-scalar.log")
    local n=$((${n1:-0} + ${n2:-0}))
    record tsan "$ok" $((SECONDS - start)) "$n ctest tests ($dir/ctest.log, ctest-scalar.log)"
}

stage_valgrind() {
    local dir=build-valgrind start=$SECONDS ok=0
    echo "== valgrind: configure and build ($dir, gcc)"
    mkdir -p "$dir"
    if ! CC=gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOCAL_WERROR=ON \
        -DFOCAL_BUILD_BENCH=OFF -DFOCAL_BUILD_EXAMPLES=OFF -DFOCAL_FORCE_INLINE=OFF >"$dir/configure.log" 2>&1 ||
        ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
        tail -30 "$dir/build.log"
        record valgrind 1 $((SECONDS - start)) "build failed ($dir/build.log)"
        return
    fi

    # The path the library picks under valgrind, which emulates the CPU.
    local probe=$dir/isa_probe
    printf '#include <stdio.h>\n#include <focal/focal.h>\nint main(void) { puts(focal_isa()); return 0; }\n' |
        gcc -x c - -Iinclude -L"$dir/src" -Wl,-rpath,"$root/$dir/src" -lfocal -o "$probe"
    local native emulated
    native=$("$probe")
    emulated=$(valgrind -q "$probe")
    echo "== valgrind: ISA path natively: $native, under valgrind: $emulated"
    if [ "$native" != "$emulated" ]; then
        echo "valgrind does not run the $native path: only the portable path is checked"
    fi
    local paths=(default scalar)
    [ "$emulated" = scalar ] && paths=(scalar)

    # test_numerics, test_numerics_family and test_tiny_denominator compare
    # with closed forms in long double, which valgrind computes in double
    # (e^1e4, and weights of DBL_MAX times alpha, overflow); test_process
    # runs itself again through /proc/self/exe, which valgrind cannot start.
    local skip='^test_(numerics|numerics_family|tiny_denominator|process)$'
    [ "${FOCAL_VALGRIND_ALL:-0}" = 1 ] && skip='^$'
    # An executable that calls no float32 function runs the same library
    # code on both paths (float64 always takes the portable path): once is
    # enough. One linked with the library's objects (test_faults) runs twice.
    local runs_list=() f p
    for f in "$dir"/tests/test_*; do
        [ -x "$f" ] && [ -f "$f" ] || continue
        # (grep -q on a pipe would stop reading early; with pipefail the
        # writer's SIGPIPE would turn a match into a failure.)
        [[ $(readelf -d "$f" 2>/dev/null) == *libcmocka* ]] || continue
        [[ $(basename "$f") =~ $skip ]] && { echo "   (skipped: $(basename "$f"), see the header)"; continue; }
        local imports defined
        imports=$(nm -D --undefined-only "$f" 2>/dev/null)
        defined=$(nm "$f" 2>/dev/null)
        if [[ $imports =~ focal_[a-z_]*_f32 || $defined == *" T focal_forward_f32"* ]]; then
            for p in "${paths[@]}"; do runs_list+=("$f $p"); done
        else
            runs_list+=("$f ${paths[-1]}")
            echo "   (float64 only, one path: $(basename "$f"))"
        fi
    done

    local supp=()
    [ -f tests/sanitizers/valgrind.supp ] && supp=(--suppressions="$root/tests/sanitizers/valgrind.supp")
    local logs=$dir/valgrind-logs
    rm -rf "$logs"
    mkdir -p "$logs"
    echo "== valgrind: ${#runs_list[@]} runs"
    printf '%s\n' "${runs_list[@]}" | FOCAL_TEST_QUICK=1 xargs -P "$jobs" -I{} bash -c '
        read -r exe path <<<"$1"
        logs=$2
        shift 2
        name=$(basename "$exe").$path
        [ "$path" = scalar ] && export FOCAL_MAX_ISA=scalar
        t0=$SECONDS
        valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite --num-callers=40 "$@" "$exe" >"$logs/$name.log" 2>&1
        rc=$?
        errors=$(sed -n "s/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p" "$logs/$name.log" | tail -1)
        printf "   %-40s rc=%-3s memcheck errors=%-3s %4ss\n" "$name" "$rc" "${errors:-?}" $((SECONDS - t0))
        [ "$rc" = 0 ]' _ {} "$logs" "${supp[@]}" 2>&1 | tee "$logs/summary.txt" || ok=1
    # xargs's own status covers every job; make sure each log has a clean
    # summary as well.
    local runs errors_total
    runs=$(grep -c 'rc=' "$logs/summary.txt")
    errors_total=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$logs/summary.txt")
    grep -q 'rc=[1-9]' "$logs/summary.txt" && ok=1
    [ "$runs" = ${#runs_list[@]} ] || ok=1
    local nexe
    nexe=$(printf '%s\n' "${runs_list[@]}" | cut -d' ' -f1 | sort -u | wc -l)
    record valgrind "$ok" $((SECONDS - start)) "$runs runs of $nexe cmocka executables (paths: ${paths[*]}), memcheck errors: $errors_total ($logs)"
}

for s in "${stages[@]}"; do
    case $s in
    asan) stage_asan ;;
    tsan) stage_tsan ;;
    valgrind) stage_valgrind ;;
    *)
        echo "unknown stage '$s' (asan, tsan, valgrind)" >&2
        exit 2
        ;;
    esac
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
