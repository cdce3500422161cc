#!/usr/bin/env bash
# Builds libfocal.so from a source tree the way the ABI tools read it:
# RelWithDebInfo, i.e. optimised like a release but with the DWARF that
# abidw and abidiff need (a Release build carries none), shared library
# only. The source directory is mapped to "." in the debug information, so
# that the ABI description does not depend on where the tree lies.
# Prints the path of the built library on its last line.
#
# usage: build_library.sh <source dir> <build dir>
# Environment: CC and CMAKE pick the tools (default cc and cmake).
set -euo pipefail

if (($# != 2)); then
    echo "usage: $0 <source dir> <build dir>" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
build=$2
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}

mkdir -p "$build"
log=$build/build.log
echo "+ $CMAKE -S $src -B $build -DCMAKE_BUILD_TYPE=RelWithDebInfo ..." >&2
if ! "$CMAKE" -S "$src" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_C_FLAGS="${CFLAGS:-} -fdebug-prefix-map=$src=." \
    -DFOCAL_BUILD_SHARED=ON -DFOCAL_BUILD_STATIC=OFF -DFOCAL_FORCE_INLINE=OFF \
    -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_EXAMPLES=OFF -DFOCAL_BUILD_BENCH=OFF \
    >"$log" 2>&1 ||
    ! "$CMAKE" --build "$build" --target focal --parallel "$(nproc)" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "FAIL: building libfocal from $src fails" >&2
    exit 1
fi

libs=("$build"/src/libfocal.so.*.*.*)
if ((${#libs[@]} != 1)) || [[ ! -f ${libs[0]} ]]; then
    echo "FAIL: no libfocal.so.<major>.<minor>.<patch> in $build/src" >&2
    exit 1
fi
if ! readelf -S -W "${libs[0]}" | grep -q ' \.debug_info '; then
    echo "FAIL: ${libs[0]} has no DWARF (.debug_info); the ABI tools need it" >&2
    exit 1
fi
echo "${libs[0]}"
