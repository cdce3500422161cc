#!/usr/bin/env bash
# Checks that the build refuses to configure when the header's version, the
# newest node of src/focal.map and the SOVERSION disagree. A copy of the
# tree is configured unchanged (it must succeed, so that each failure below
# is due to its one change) and then with one disagreement at a time.
#
# usage: check_version_mismatch.sh <source dir> <scratch dir>
# Environment: CC and CMAKE pick the tools (default cc and cmake).
set -euo pipefail

if (($# != 2)); then
    echo "usage: $0 <source dir> <scratch dir>" >&2
    exit 2
fi
src=$1
scratch=$2
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}

mkdir -p "$scratch"
work=$(mktemp -d "$scratch/mismatch.XXXXXX")
cleanup() {
    rm -rf "$work"
    rmdir "$scratch" 2>/dev/null || true
}
trap cleanup EXIT

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

header_field() {
    sed -n -E "s/^#define FOCAL_VERSION_$1 +([0-9]+).*/\1/p" "$src/include/focal/focal.h"
}
major=$(header_field MAJOR)
minor=$(header_field MINOR)
patch=$(header_field PATCH)

# A fresh copy of what the top-level configure step reads.
fresh_copy() {
    local tree=$work/$1
    mkdir -p "$tree"
    cp -R "$src/CMakeLists.txt" "$src/cmake" "$src/include" "$src/pkgconfig" "$src/src" "$tree/"
    echo "$tree"
}

# configure <tree> <log>: configures the tree with everything optional off.
configure() {
    "$CMAKE" -S "$1" -B "$1/build" -DCMAKE_C_COMPILER="$CC" \
        -DFOCAL_BUILD_TESTS=OFF -DFOCAL_BUILD_BENCH=OFF -DFOCAL_BUILD_EXAMPLES=OFF >"$2" 2>&1
}

# expect_rejected <name> <message>: the tree <name> must fail to configure
# with a message containing <message>.
expect_rejected() {
    local tree=$work/$1 log=$work/$1.log
    if configure "$tree" "$log"; then
        cat "$log" >&2
        fail "$1: configuring succeeds"
    fi
    if ! grep -qF "$2" "$log"; then
        cat "$log" >&2
        fail "$1: configuring fails, but without '$2'"
    fi
    echo "$1: refused: $(grep -F "$2" "$log" | head -n 1 | sed 's/^ *//')"
}

tree=$(fresh_copy unchanged)
if ! configure "$tree" "$work/unchanged.log"; then
    cat "$work/unchanged.log" >&2
    fail "the unchanged copy of the tree does not configure"
fi
echo "unchanged: configures"

# A map whose newest node is ahead of the header.
next_node=FOCAL_$major.$((minor + 1))
tree=$(fresh_copy map_ahead)
printf '%s {\n  global:\n    focal_version_number;\n} FOCAL_%s.%s;\n' "$next_node" "$major" "$minor" \
    >>"$tree/src/focal.map"
expect_rejected map_ahead "newest version node in src/focal.map"

# A header whose minor version is ahead of the map.
tree=$(fresh_copy header_minor_ahead)
sed -i -E "s/^(#define FOCAL_VERSION_MINOR +)[0-9]+/\1$((minor + 1))/" "$tree/include/focal/focal.h"
expect_rejected header_minor_ahead "newest version node in src/focal.map"

# A header whose major version differs from the SOVERSION.
tree=$(fresh_copy header_major_ahead)
sed -i -E "s/^(#define FOCAL_VERSION_MAJOR +)[0-9]+/\1$((major + 1))/" "$tree/include/focal/focal.h"
expect_rejected header_major_ahead "differs from the header's major version"

echo "every disagreement of header ($major.$minor.$patch), focal.map and SOVERSION is refused"
