#!/usr/bin/env bash
# Writes the ABI baseline tests/abi/libfocal-<major>.<minor>.abi for the
# version in include/focal/focal.h: abidw's description of the functions
# libfocal.so exports and of the public types they use, read from a
# RelWithDebInfo build of the current sources. abi_compat (check_abi.sh)
# then holds every later build of the same major version to it.
#
# Run it deliberately, once per minor release, when the new functions are
# final (see docs/packaging.md); an existing baseline is only rewritten
# with --force, since a released one must never change.
#
# usage: update_baseline.sh [--force] [<scratch dir>]
# Environment: CC, CMAKE, ABIDW (default abidw), ABIDIFF (default abidiff).
set -euo pipefail

force=0
if [[ ${1:-} == --force ]]; then
    force=1
    shift
fi
if (($# > 1)); then
    echo "usage: $0 [--force] [<scratch dir>]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ABIDW=${ABIDW:-abidw}
ABIDIFF=${ABIDIFF:-abidiff}
for tool in "$ABIDW" "$ABIDIFF" readelf; do
    command -v "$tool" >/dev/null ||
        { echo "FAIL: $tool is not installed (apt-get install abigail-tools binutils)" >&2; exit 1; }
done

header=$src/include/focal/focal.h
header_field() {
    sed -n -E "s/^#define FOCAL_VERSION_$1 +([0-9]+).*/\1/p" "$header"
}
major=$(header_field MAJOR)
minor=$(header_field MINOR)
[[ -n $major && -n $minor ]] || { echo "FAIL: cannot read the version from $header" >&2; exit 1; }
baseline=$here/libfocal-$major.$minor.abi

scratch=${1:-}
if [[ -n $scratch ]]; then
    mkdir -p "$scratch"
    work=$(mktemp -d "$scratch/abi-baseline.XXXXXX")
else
    work=$(mktemp -d)
fi
cleanup() {
    rm -rf "$work"
    if [[ -n $scratch ]]; then
        rmdir "$scratch" 2>/dev/null || true
    fi
}
trap cleanup EXIT

lib=$(bash "$here/build_library.sh" "$src" "$work/build" | tail -n 1)
echo "library: $lib"

# Only what a user of the header sees: the exported functions and the
# types declared under include/focal, without paths, line numbers or the
# libraries libfocal itself needs.
"$ABIDW" --headers-dir "$src/include/focal" --drop-private-types --drop-undefined-syms \
    --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed \
    --type-id-style hash --out-file "$work/new.abi" "$lib"

# The description must read back as the library it came from.
if ! "$ABIDIFF" --headers-dir2 "$src/include/focal" --drop-private-types --fail-no-debug-info \
    "$work/new.abi" "$lib"; then
    echo "FAIL: abidiff finds differences between $lib and the ABI just written from it" >&2
    exit 1
fi

functions=$(grep -c '<elf-symbol ' "$work/new.abi" || true)
if [[ -f $baseline ]] && cmp -s "$work/new.abi" "$baseline"; then
    echo "$(basename "$baseline") is up to date ($functions symbols)"
    exit 0
fi
if [[ -f $baseline && $force != 1 ]]; then
    echo "the ABI differs from $(basename "$baseline"):" >&2
    "$ABIDIFF" "$baseline" "$work/new.abi" >&2 || true
    echo "FAIL: $baseline exists; rewrite it with --force only if version $major.$minor is unreleased" >&2
    exit 1
fi
cp "$work/new.abi" "$baseline"
echo "wrote $baseline ($functions symbols)"
