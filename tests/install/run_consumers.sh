#!/usr/bin/env bash
# Installs the built libfocal into fresh temporary prefixes and uses it the
# way a downstream project would:
#   - the installed tree holds exactly the header, the library with its two
#     links, focal.pc and the CMake package (and the runtime and dev
#     components split them as a distribution package would);
#   - pkg-config finds the package, reports the header's version and points
#     into the prefix; a consumer built with its flags runs;
#   - find_package(focal 1) finds the package in the prefix; a consumer
#     linked with focal::focal runs; incompatible versions are refused.
#
# usage: run_consumers.sh <build dir> <source dir> <scratch dir> [<config>]
# Environment: CC, CMAKE, PKG_CONFIG pick the tools (default cc, cmake,
# pkg-config); FOCAL_EXPECT_STATIC=1 when libfocal.a is built too;
# FOCAL_KEEP_SCRATCH=1 keeps the temporary directories for inspection.
set -euo pipefail

if (($# < 3 || $# > 4)); then
    echo "usage: $0 <build dir> <source dir> <scratch dir> [<config>]" >&2
    exit 2
fi
build=$1
src=$2
scratch=$3
config=${4:-}
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

step() { printf '\n== %s\n' "$*"; }
run() {
    printf '+ %s\n' "$*"
    "$@"
}
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

mkdir -p "$scratch"
work=$(mktemp -d "$scratch/consumers.XXXXXX")
cleanup() {
    if [[ -n ${FOCAL_KEEP_SCRATCH:-} ]]; then
        echo "kept $work"
    else
        rm -rf "$work"
        rmdir "$scratch" 2>/dev/null || true
    fi
}
trap cleanup EXIT

header=$src/include/focal/focal.h
header_field() {
    sed -n -E "s/^#define FOCAL_VERSION_$1 +([0-9]+).*/\1/p" "$header"
}
major=$(header_field MAJOR)
minor=$(header_field MINOR)
patch=$(header_field PATCH)
[[ -n $major && -n $minor && -n $patch ]] || fail "cannot read the version from $header"
version=$major.$minor.$patch
echo "header version: $version"

# An absolute install directory would put files outside the temporary
# prefix, i.e. into the real system: skip (77) rather than do that.
for var in CMAKE_INSTALL_BINDIR CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR; do
    dir=$(sed -n "s/^$var:[A-Z]*=//p" "$build/CMakeCache.txt")
    if [[ $dir == /* ]]; then
        echo "SKIP: $var is the absolute path $dir; this test installs into a temporary prefix only"
        exit 77
    fi
done

config_args=()
if [[ -n $config ]]; then
    config_args=(--config "$config")
fi

# Lists every file and link below $1 (relative, sorted); the per-config
# export file is shown as focalTargets-<config>.cmake whatever the config.
list_tree() {
    find "$1" -mindepth 1 ! -type d -printf '%P\n' |
        sed -E 's#/focalTargets-[A-Za-z0-9_]+\.cmake$#/focalTargets-<config>.cmake#' |
        LC_ALL=C sort
}
# check_tree <dir> <what> <expected path>...
check_tree() {
    local dir=$1 what=$2
    shift 2
    local expected actual
    expected=$(printf '%s\n' "$@" | LC_ALL=C sort)
    actual=$(list_tree "$dir")
    if [[ $expected != "$actual" ]]; then
        echo "$what: installed files differ from the expected ones (< expected, > installed):" >&2
        diff <(echo "$expected") <(echo "$actual") >&2 || true
        fail "$what installs unexpected files"
    fi
    echo "$what: the installed files are exactly the expected ones"
}

# ---------------------------------------------------------------------------
step "install into a temporary prefix"
prefix=$work/prefix
run "$CMAKE" --install "$build" --prefix "$prefix" "${config_args[@]}"

mapfile -t pc_files < <(find "$prefix" -name focal.pc)
((${#pc_files[@]} == 1)) || fail "expected one focal.pc below $prefix, found ${#pc_files[@]}"
pcdir=$(dirname "${pc_files[0]}")
[[ $(basename "$pcdir") == pkgconfig ]] || fail "focal.pc is in $pcdir, not in <libdir>/pkgconfig"
libdir=$(dirname "$pcdir")
rel_libdir=${libdir#"$prefix"/}
echo "libdir: $rel_libdir"

runtime_files=(
    "$rel_libdir/libfocal.so.$version"
    "$rel_libdir/libfocal.so.$major"
)
dev_files=(
    include/focal/focal.h
    "$rel_libdir/libfocal.so"
    "$rel_libdir/pkgconfig/focal.pc"
    "$rel_libdir/cmake/focal/focalConfig.cmake"
    "$rel_libdir/cmake/focal/focalConfigVersion.cmake"
    "$rel_libdir/cmake/focal/focalTargets.cmake"
    "$rel_libdir/cmake/focal/focalTargets-<config>.cmake"
)
if [[ ${FOCAL_EXPECT_STATIC:-0} == 1 ]]; then
    dev_files+=("$rel_libdir/libfocal.a")
fi
# The manual pages, one per function of the header, where the build made
# them (it needs python3).
if [[ -d $build/man3 ]]; then
    while read -r f; do
        dev_files+=("share/man/man3/$f.3.gz")
    done < <(sed -n 's/^FOCAL_API [^(]*\b\(focal_[a-z0-9_]*\)(.*/\1/p' "$header" | LC_ALL=C sort -u)
fi

step "check the installed tree"
check_tree "$prefix" "full install" "${runtime_files[@]}" "${dev_files[@]}"

lib=$libdir/libfocal.so.$version
[[ -f $lib && ! -L $lib ]] || fail "$lib is not a regular file"
link=$(readlink "$libdir/libfocal.so.$major") || fail "libfocal.so.$major is not a link"
[[ $link == "libfocal.so.$version" ]] || fail "libfocal.so.$major points to '$link', not libfocal.so.$version"
link=$(readlink "$libdir/libfocal.so") || fail "libfocal.so is not a link"
[[ $link == "libfocal.so.$major" ]] || fail "libfocal.so points to '$link', not libfocal.so.$major"
echo "links: libfocal.so -> libfocal.so.$major -> libfocal.so.$version"

cmp -s "$header" "$prefix/include/focal/focal.h" || fail "the installed focal.h differs from $header"
echo "include/focal/focal.h is the source tree's header"

grep -Eq '^Requires\.private:.*(^|[ ,:])openblas([ ,]|$)' "$pcdir/focal.pc" ||
    fail "focal.pc has no 'Requires.private: openblas'"
echo "focal.pc requires openblas privately"

if readelf -d "$lib" | grep -Eq '\((RPATH|RUNPATH)\)'; then
    readelf -d "$lib" | grep -E '\((RPATH|RUNPATH)\)' >&2
    fail "the installed library keeps an RPATH/RUNPATH"
fi
echo "the installed library has no RPATH/RUNPATH"

# Installed text files must not point back into the build or source tree
# (the prefix itself may lie below the build tree, so it is blanked first).
for f in "$pcdir/focal.pc" "$libdir"/cmake/focal/*.cmake; do
    text=$(<"$f")
    text=${text//"$prefix"/}
    for tree in "$build" "$src"; do
        if [[ $text == *"$tree"* ]]; then
            fail "${f#"$prefix"/} mentions $tree"
        fi
    done
done
echo "no installed file mentions the build or source tree"

step "install the runtime and dev components separately"
run "$CMAKE" --install "$build" --prefix "$work/runtime" --component runtime "${config_args[@]}"
check_tree "$work/runtime" "runtime component" "${runtime_files[@]}"
run "$CMAKE" --install "$build" --prefix "$work/dev" --component dev "${config_args[@]}"
check_tree "$work/dev" "dev component" "${dev_files[@]}"

# ---------------------------------------------------------------------------
step "pkg-config"
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
echo "PKG_CONFIG_PATH=$PKG_CONFIG_PATH"

got=$("$PKG_CONFIG" --variable=pcfiledir focal)
[[ $got == "$pcdir" ]] || fail "pkg-config uses the focal.pc in $got, not the one in $pcdir"

got=$("$PKG_CONFIG" --modversion focal)
[[ $got == "$version" ]] || fail "pkg-config --modversion focal gives '$got', the header says $version"
echo "pkg-config --modversion focal: $got"
run "$PKG_CONFIG" --exact-version="$version" focal ||
    fail "pkg-config --exact-version=$version focal fails"
run "$PKG_CONFIG" --atleast-version="$major" focal || fail "pkg-config --atleast-version=$major focal fails"
if "$PKG_CONFIG" --exact-version="$major.$minor.$((patch + 1))" focal; then
    fail "pkg-config --exact-version=$major.$minor.$((patch + 1)) focal succeeds"
fi
if "$PKG_CONFIG" --atleast-version="$((major + 1))" focal; then
    fail "pkg-config --atleast-version=$((major + 1)) focal succeeds"
fi

got=$("$PKG_CONFIG" --variable=prefix focal)
if [[ $got != "$prefix" ]]; then
    fail "the installed focal.pc has prefix=$got, not the prefix it was installed to ($prefix):" \
        "focal.pc is configured with the configure-time CMAKE_INSTALL_PREFIX, which" \
        "'cmake --install --prefix' does not update"
fi
got=$("$PKG_CONFIG" --variable=libdir focal)
[[ $got == "$libdir" ]] || fail "focal.pc has libdir=$got, the library is in $libdir"
got=$("$PKG_CONFIG" --variable=includedir focal)
[[ $got == "$prefix/include" ]] || fail "focal.pc has includedir=$got, the header is in $prefix/include"

cflags=$("$PKG_CONFIG" --cflags focal)
libs=$("$PKG_CONFIG" --libs focal)
static_libs=$("$PKG_CONFIG" --static --libs focal)
echo "cflags: $cflags"
echo "libs: $libs"
echo "static libs: $static_libs"
[[ " $cflags " == *" -I$prefix/include "* ]] || fail "--cflags lacks -I$prefix/include"
[[ " $libs " == *" -L$libdir "* && " $libs " == *" -lfocal "* ]] || fail "--libs lacks -L$libdir -lfocal"
[[ " $libs " != *" -lopenblas "* ]] || fail "--libs makes every consumer link OpenBLAS directly"
[[ " $static_libs " == *" -lopenblas "* && " $static_libs " == *" -lm "* ]] ||
    fail "--static --libs lacks -lopenblas or -lm"

step "build and run a consumer with pkg-config"
# shellcheck disable=SC2086 # the flags are meant to split into words
run "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/consumer-pkg-config" \
    "$src/tests/install/consumer.c" $cflags $libs -lm
run env LD_LIBRARY_PATH="$libdir" "$work/consumer-pkg-config"
loaded=$(LD_LIBRARY_PATH=$libdir ldd "$work/consumer-pkg-config" | awk '$1 ~ /^libfocal\.so/ { print $3 }')
[[ $loaded == "$libdir/libfocal.so.$major" ]] ||
    fail "the consumer loads libfocal from '$loaded', not from $libdir"
echo "the consumer loads $loaded"

# ---------------------------------------------------------------------------
step "build and run a consumer with find_package(focal 1)"
cmake_args=(
    -DCMAKE_C_COMPILER="$CC"
    -DCMAKE_PREFIX_PATH="$prefix"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
)
consumer_build=$work/consumer-cmake
run "$CMAKE" -S "$src/tests/install/consumer" -B "$consumer_build" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}"
found=$(sed -n 's/^focal_DIR:PATH=//p' "$consumer_build/CMakeCache.txt")
[[ $found == "$libdir/cmake/focal" ]] || fail "find_package found focal in '$found', not in $libdir/cmake/focal"
echo "find_package(focal 1) uses $found"
run "$CMAKE" --build "$consumer_build"
# The build tree's RUNPATH, not LD_LIBRARY_PATH, has to find the library.
run env -u LD_LIBRARY_PATH "$consumer_build/consumer"
loaded=$(env -u LD_LIBRARY_PATH ldd "$consumer_build/consumer" | awk '$1 ~ /^libfocal\.so/ { print $3 }')
[[ $loaded == "$libdir/libfocal.so.$major" ]] ||
    fail "the consumer loads libfocal from '$loaded', not from $libdir"
echo "the consumer loads $loaded"

step "find_package refuses incompatible versions (SameMajorVersion)"
probe_src=$work/probe
mkdir -p "$probe_src"
cat >"$probe_src/CMakeLists.txt" <<'PROBE'
cmake_minimum_required(VERSION 3.16)
project(focal_version_probe LANGUAGES C)
find_package(focal ${FOCAL_PROBE_VERSION} REQUIRED)
message(STATUS "focal ${focal_VERSION} accepted for ${FOCAL_PROBE_VERSION}")
PROBE
# probe <requested version> accept|reject
probe() {
    local log=$work/probe-$1.log
    printf '+ find_package(focal %s REQUIRED), expecting it to %s\n' "$1" "$2"
    if "$CMAKE" -S "$probe_src" -B "$work/probe-$1" -DFOCAL_PROBE_VERSION="$1" "${cmake_args[@]}" \
        >"$log" 2>&1; then
        [[ $2 == accept ]] || { cat "$log" >&2; fail "find_package(focal $1) accepts version $version"; }
    else
        # Refused for its version, not for anything else: CMake lists the
        # package it considered together with that package's version.
        [[ $2 == reject ]] || { cat "$log" >&2; fail "find_package(focal $1) fails"; }
        grep -q "version: $version" "$log" ||
            { cat "$log" >&2; fail "find_package(focal $1) fails, but not because of the version"; }
    fi
}
probe "$major" accept
probe "$version" accept
probe "$((major + 1))" reject
probe "$major.$((minor + 1))" reject
if ((major > 0)); then
    probe "$((major - 1))" reject
fi

step "all install checks passed"
