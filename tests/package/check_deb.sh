#!/usr/bin/env bash
# Builds the Debian packages of libfocal the way docs/packaging.md says
# (a Release tree configured with -DCMAKE_INSTALL_PREFIX=/usr, then
# cpack -G DEB) and checks them:
#   - exactly three packages, libfocal<major>_<version>_<arch>.deb,
#     libfocal-dev_<version>_<arch>.deb and python3-libfocal_<version>_all.deb;
#   - their control fields: Package, Version, Architecture, Section,
#     Maintainer, Homepage, Description, Depends, and the shlibs and
#     ldconfig trigger of the runtime package;
#   - their contents, file by file: the library below usr/lib/<multiarch>
#     in the runtime package, everything a developer needs in -dev, a
#     copyright and a changelog in each, nothing else (no tests, examples
#     or bench);
#   - installed with dpkg -i into a throwaway root (its own dpkg database;
#     unpacked with dpkg-deb -x when not run as root), a consumer built with
#     pkg-config and one built with find_package(focal) run against that
#     root;
#   - no maintainer script calls ldconfig (the trigger does);
#   - lintian: zero errors and zero warnings (skipped, exit 77, without
#     lintian).
#
# usage: check_deb.sh <source dir> <scratch dir>
# Environment: CC, CMAKE, CPACK, PKG_CONFIG pick the tools (default cc,
# cmake, cpack, pkg-config); FOCAL_DEB_STATIC=1 builds libfocal.a too and
# expects it in -dev; FOCAL_KEEP_SCRATCH=1 keeps the scratch directory.
set -euo pipefail

if (($# != 2)); then
    echo "usage: $0 <source dir> <scratch dir>" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
scratch=$2
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}
CPACK=${CPACK:-cpack}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
static=${FOCAL_DEB_STATIC:-0}

step() { printf '\n== %s\n' "$*"; }
run() {
    printf '+ %s\n' "$*"
    "$@"
}
failures=0
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}
die() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

for tool in dpkg-deb dpkg; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (apt-get install dpkg); the Debian packages cannot be checked"
        exit 77
    fi
done

mkdir -p "$scratch"
work=$(mktemp -d "$scratch/deb.XXXXXX")
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
[[ -n $major && -n $minor && -n $patch ]] || die "cannot read the version from $header"
version=$major.$minor.$patch
arch=$(dpkg --print-architecture)
if command -v dpkg-architecture >/dev/null; then
    multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
else
    multiarch=$("$CC" -print-multiarch 2>/dev/null || true)
fi
[[ -n $multiarch ]] || die "cannot tell the Debian multiarch triplet (dpkg-architecture or $CC -print-multiarch)"
runtime_pkg=libfocal$major
dev_pkg=libfocal-dev
libdir=usr/lib/$multiarch
echo "version $version, architecture $arch, multiarch $multiarch"

# ---------------------------------------------------------------------------
step "configure, build and package (cpack -G DEB)"
build=$work/build
configure_args=(
    -DCMAKE_INSTALL_PREFIX=/usr
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_COMPILER="$CC"
    -DFOCAL_BUILD_TESTS=OFF
    -DFOCAL_BUILD_EXAMPLES=OFF
    -DFOCAL_BUILD_BENCH=OFF
)
if [[ $static == 1 ]]; then
    configure_args+=(-DFOCAL_BUILD_STATIC=ON)
fi
log=$work/build.log
if ! run "$CMAKE" -S "$src" -B "$build" "${configure_args[@]}" >"$log" 2>&1 ||
    ! run "$CMAKE" --build "$build" --parallel "$(nproc)" >>"$log" 2>&1; then
    cat "$log" >&2
    die "building libfocal for the packages fails"
fi
installed_libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
[[ $installed_libdir == "lib/$multiarch" ]] ||
    die "with CMAKE_INSTALL_PREFIX=/usr, GNUInstallDirs gives libdir '$installed_libdir', not lib/$multiarch"
if ! (cd "$build" && run "$CPACK" -G DEB) >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log" >&2
    die "cpack -G DEB fails"
fi
grep -E '^CPack(Deb)?: ' "$work/cpack.log" || true

runtime_deb=$build/${runtime_pkg}_${version}_${arch}.deb
dev_deb=$build/${dev_pkg}_${version}_${arch}.deb
python_pkg=python3-libfocal
python_deb=$build/${python_pkg}_${version}_all.deb
produced=$(cd "$build" && find . -maxdepth 1 -name '*.deb' -printf '%f\n' | LC_ALL=C sort)
expected=$(printf '%s\n' "$(basename "$dev_deb")" "$(basename "$runtime_deb")" "$(basename "$python_deb")" |
    LC_ALL=C sort)
if [[ $produced != "$expected" ]]; then
    echo "packages: expected ${expected//$'\n'/ }, produced ${produced//$'\n'/ }" >&2
    die "cpack does not produce exactly $runtime_pkg, $dev_pkg and $python_pkg with Debian file names"
fi
echo "packages: ${produced//$'\n'/ }"

# ---------------------------------------------------------------------------
# field <deb> <name>: the value of one control field ("" when missing).
field() {
    dpkg-deb --field "$1" "$2"
}
# expect_field <deb> <name> <value>
expect_field() {
    local got
    got=$(field "$1" "$2")
    if [[ $got == "$3" ]]; then
        printf '  %s: %s\n' "$2" "$got"
    else
        fail "$(basename "$1"): $2 is '$got', not '$3'"
    fi
}
# check_common_fields <deb> <package> <section>
check_common_fields() {
    local deb=$1 package=$2 section=$3 description synopsis maintainer
    echo "$(basename "$deb"):"
    expect_field "$deb" Package "$package"
    expect_field "$deb" Version "$version"
    expect_field "$deb" Architecture "$arch"
    expect_field "$deb" Section "$section"
    expect_field "$deb" Source libfocal
    expect_field "$deb" Homepage "https://libfocal.org"
    maintainer=$(field "$deb" Maintainer)
    local name_address='^[^<>]+ <[^<>@ ]+@[^<>@ ]+>$'
    if [[ $maintainer =~ $name_address ]]; then
        echo "  Maintainer: $maintainer"
    else
        fail "$(basename "$deb"): Maintainer '$maintainer' is not 'Name <address>'"
    fi
    description=$(field "$deb" Description)
    synopsis=$(head -n 1 <<<"$description")
    if [[ -z $synopsis || ${#synopsis} -gt 80 || $(wc -l <<<"$description") -lt 3 ]]; then
        fail "$(basename "$deb"): the Description needs a synopsis of at most 80 characters and a long description"
    fi
    echo "  Description: $synopsis"
    [[ $synopsis == *focal* ]] || fail "$(basename "$deb"): the synopsis does not mention focal"
}

# depends_clauses <deb>: the Depends field, one clause per line.
depends_clauses() {
    field "$1" Depends | tr ',' '\n' | sed -E 's/^ +//; s/ +$//' | sed '/^$/d'
}

step "dpkg-deb --info"
for deb in "$runtime_deb" "$dev_deb"; do
    run dpkg-deb --info "$deb" || fail "dpkg-deb --info $(basename "$deb") fails"
done

step "control fields"
check_common_fields "$runtime_deb" "$runtime_pkg" libs
mapfile -t clauses < <(depends_clauses "$runtime_deb")
echo "  Depends: $(field "$runtime_deb" Depends)"
has_libc=0
has_blas=0
for clause in "${clauses[@]}"; do
    case $clause in
    libc6 | "libc6 ("*) has_libc=1 ;;
    libopenblas0* | libopenblas64-0* | libblas3* | "libblas.so.3"*) has_blas=1 ;;
    *) fail "$runtime_pkg depends on '$clause', which is neither glibc nor OpenBLAS" ;;
    esac
done
((has_libc)) || fail "$runtime_pkg does not depend on libc6"
((has_blas)) || fail "$runtime_pkg does not depend on an OpenBLAS runtime package"
dpkg-deb --ctrl-tarfile "$runtime_deb" | tar -x -C "$work" --one-top-level=control-runtime
if [[ -f $work/control-runtime/shlibs ]]; then
    shlibs=$(<"$work/control-runtime/shlibs")
    [[ $shlibs == "libfocal $major $runtime_pkg (>= $version)" ]] ||
        fail "$runtime_pkg's shlibs file says '$shlibs'"
    echo "  shlibs: $shlibs"
else
    echo "  no shlibs file (the packages were built without dpkg-shlibdeps)"
fi
grep -qx 'activate-noawait ldconfig' "$work/control-runtime/triggers" 2>/dev/null ||
    fail "$runtime_pkg does not trigger ldconfig"

check_common_fields "$dev_deb" "$dev_pkg" libdevel
mapfile -t clauses < <(depends_clauses "$dev_deb")
echo "  Depends: $(field "$dev_deb" Depends)"
expected_clauses=$(printf '%s\n' "$runtime_pkg (= $version)" libopenblas-dev | LC_ALL=C sort)
[[ $(printf '%s\n' "${clauses[@]}" | LC_ALL=C sort) == "$expected_clauses" ]] ||
    fail "$dev_pkg depends on '$(field "$dev_deb" Depends)', not on $runtime_pkg (= $version) and libopenblas-dev"

# ---------------------------------------------------------------------------
# contents <deb>: "<type> <path>[ -> <target>]" for every entry but the
# directories, and the owners of all entries, from dpkg-deb -c.
contents() {
    dpkg-deb -c "$1" | awk '
        $2 != "root/root" { print "owner " $6 " " $2; next }
        substr($1, 1, 1) == "d" { next }
        substr($1, 1, 1) == "l" { sub(/^\.\//, "", $6); print "link " $6 " -> " $8; next }
        substr($1, 1, 1) == "-" { sub(/^\.\//, "", $6); print "file " $6; next }
        { print "other " $6 }
    ' | LC_ALL=C sort
}
# check_contents <deb> <entry>...
check_contents() {
    local deb=$1 expected actual
    shift
    expected=$(printf '%s\n' "$@" | LC_ALL=C sort)
    actual=$(contents "$deb")
    if [[ $expected != "$actual" ]]; then
        echo "$(basename "$deb"): contents differ from the expected ones (< expected, > packaged):" >&2
        diff <(echo "$expected") <(echo "$actual") >&2 || true
        fail "$(basename "$deb") holds unexpected files"
        return
    fi
    echo "$(basename "$deb"): exactly the expected files:"
    printf '  %s\n' "${actual//$'\n'/$'\n'  }"
    # Every directory leads to a file: no empty directories are shipped.
    local dir
    while read -r dir; do
        grep -q "^[a-z]* ${dir}" <<<"$actual" || fail "$(basename "$deb") ships the empty directory $dir"
    done < <(dpkg-deb -c "$deb" | awk 'substr($1, 1, 1) == "d" { sub(/^\.\//, "", $6); if ($6 != "") print $6 }')
}

step "dpkg-deb -c"
runtime_entries=(
    "file $libdir/libfocal.so.$version"
    "link $libdir/libfocal.so.$major -> libfocal.so.$version"
    "file usr/share/doc/$runtime_pkg/copyright"
    "file usr/share/doc/$runtime_pkg/changelog.gz"
)
dev_entries=(
    "file usr/include/focal/focal.h"
    "link $libdir/libfocal.so -> libfocal.so.$major"
    "file $libdir/pkgconfig/focal.pc"
    "file $libdir/cmake/focal/focalConfig.cmake"
    "file $libdir/cmake/focal/focalConfigVersion.cmake"
    "file $libdir/cmake/focal/focalTargets.cmake"
    "file $libdir/cmake/focal/focalTargets-release.cmake"
    "file usr/share/doc/$dev_pkg/copyright"
    "file usr/share/doc/$dev_pkg/changelog.gz"
)
if [[ $static == 1 ]]; then
    dev_entries+=("file $libdir/libfocal.a")
fi
# A manual page for every function the header declares.
mapfile -t functions < <(sed -n 's/^FOCAL_API [^(]*\b\(focal_[a-z0-9_]*\)(.*/\1/p' "$header" | LC_ALL=C sort -u)
((${#functions[@]} > 50)) || fail "only ${#functions[@]} functions found in $header"
for f in "${functions[@]}"; do
    dev_entries+=("file usr/share/man/man3/$f.3.gz")
done
check_contents "$runtime_deb" "${runtime_entries[@]}"
check_contents "$dev_deb" "${dev_entries[@]}"

# python3-libfocal: the pure-Python package, Architecture all.
python_entries=(
    "file usr/share/doc/$python_pkg/copyright"
    "file usr/share/doc/$python_pkg/changelog.gz"
)
for f in "$src"/bindings/python/libfocal/*.py; do
    python_entries+=("file usr/lib/python3/dist-packages/libfocal/$(basename "$f")")
done
check_contents "$python_deb" "${python_entries[@]}"
expect_field "$python_deb" Package "$python_pkg"
expect_field "$python_deb" Architecture all
expect_field "$python_deb" Section python
mapfile -t clauses < <(depends_clauses "$python_deb")
expected_clauses=$(printf '%s\n' "$runtime_pkg (= $version)" "python3:any" python3-numpy | LC_ALL=C sort)
[[ $(printf '%s\n' "${clauses[@]}" | LC_ALL=C sort) == "$expected_clauses" ]] ||
    fail "$python_pkg depends on '$(field "$python_deb" Depends)'"

# ---------------------------------------------------------------------------
step "install both packages with dpkg -i into a throwaway root"
root=$work/root
if [ "$(id -u)" = 0 ]; then
    # A dpkg database of its own whose status holds this machine's entries
    # of the packages' dependencies (libc6, libopenblas0, libopenblas-dev,
    # ...), so that they count as installed; the ldconfig trigger is left
    # pending (it would run ldconfig inside the root).
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
    touch "$root/var/lib/dpkg/available"
    force=()
    for dep in $( { field "$runtime_deb" Depends; echo ,; field "$dev_deb" Depends; echo ,
                    field "$python_deb" Depends; } |
        tr ',|' '\n\n' | sed 's/(.*//; s/:any//; s/ //g' | grep -v "^$runtime_pkg\$" | grep . | sort -u); do
        if ! dpkg-query -s "$dep:$arch" >>"$root/var/lib/dpkg/status" 2>/dev/null &&
            ! dpkg-query -s "$dep" >>"$root/var/lib/dpkg/status" 2>/dev/null; then
            echo "dependency $dep is not installed here: dpkg runs with --force-depends"
            force=(--force-depends)
        fi
        echo >>"$root/var/lib/dpkg/status"
    done
    run dpkg --root="$root" --no-triggers "${force[@]}" -i "$runtime_deb" "$dev_deb" "$python_deb"
    for pkg in "$runtime_pkg" "$dev_pkg" "$python_pkg"; do
        state=$(dpkg --root="$root" -s "$pkg" 2>/dev/null | sed -n 's/^Status: //p')
        [[ $state == "install ok installed" ]] || fail "dpkg --root: $pkg is '$state', not installed"
    done
    echo "dpkg: $runtime_pkg, $dev_pkg and $python_pkg installed into $root"
else
    echo "not root: dpkg -i into a throwaway root needs root; unpacking with dpkg-deb -x instead"
    run dpkg-deb -x "$runtime_deb" "$root"
    run dpkg-deb -x "$dev_deb" "$root"
    run dpkg-deb -x "$python_deb" "$root"
fi
rootlib=$root/$libdir

lib=$rootlib/libfocal.so.$version
soname=$(readelf -d "$lib" | sed -n -E 's/.*\(SONAME\).*\[(.*)\].*/\1/p')
[[ $soname == "libfocal.so.$major" ]] || fail "the packaged library has the SONAME '$soname'"
if readelf -d "$lib" | grep -Eq '\((RPATH|RUNPATH)\)'; then
    fail "the packaged library has an RPATH/RUNPATH"
fi
if readelf -S -W "$lib" | grep -Eq ' \.(symtab|debug_info) '; then
    fail "the packaged library is not stripped"
fi
exported=$(readelf --dyn-syms -W "$lib" | awk '$7 != "UND" && $8 ~ /^focal_/' | wc -l)
((exported > 0)) || fail "the packaged library exports no focal_ function"
echo "library: SONAME $soname, stripped, no RUNPATH, $exported exported focal_ functions"
# The symbols control file lists exactly what the library exports, each
# with its version node, and the release that added the node.
symbols_file=$work/control-runtime/symbols
if [[ -f $symbols_file ]]; then
    [[ $(head -1 "$symbols_file") == "libfocal.so.$major $runtime_pkg #MINVER#" ]] ||
        fail "the symbols file starts with '$(head -1 "$symbols_file")'"
    listed=$(sed -n 's/^ \([^ ]*\) .*/\1/p' "$symbols_file" | LC_ALL=C sort)
    actual=$(readelf --dyn-syms -W "$lib" | awk '$7 == "ABS" && $8 ~ /^FOCAL_/ { print $8 "@" $8 }
                                           $7 != "UND" && $8 ~ /@/ { sub(/@@/, "@", $8); print $8 }' |
        LC_ALL=C sort)
    [[ $listed == "$actual" ]] ||
        fail "the symbols file and the library's dynamic symbols differ: $(diff <(echo "$listed") <(echo "$actual") | head -10 | tr '\n' ' ')"
    while read -r sym minver; do
        node=${sym#*@FOCAL_}
        [[ $minver == "$node.0" ]] || fail "symbols: $sym needs $minver, not its node's release $node.0"
    done < <(sed -n 's/^ \([^ ]*\) \(.*\)/\1 \2/p' "$symbols_file")
    echo "symbols: $(grep -c '^ ' "$symbols_file") entries, the library's dynamic symbols exactly"
else
    fail "$runtime_pkg has no symbols control file"
fi
cmp -s "$header" "$root/usr/include/focal/focal.h" || fail "the packaged focal.h differs from $header"
# The manual renders from the unpacked tree.
if command -v man >/dev/null; then
    page=$(MANPATH=$root/usr/share/man MANWIDTH=80 man 3 focal_forward_backward_f32 2>&1 | col -b)
    flat=$(tr -s ' \t\n' ' ' <<<"$page")
    grep -q "focal_forward_backward_f32 - the focal loss and its gradient" <<<"$flat" &&
        grep -q "SYNOPSIS" <<<"$flat" && grep -q "Errors: NULL_POINTER" <<<"$flat" ||
        fail "man 3 focal_forward_backward_f32 from the unpacked tree: $(head -5 <<<"$page")"
    echo "man 3 focal_forward_backward_f32 renders ($(wc -l <<<"$page") lines); ${#functions[@]} pages"
else
    echo "man is not installed: the pages were only checked by name"
fi

for pkg in "$runtime_pkg" "$dev_pkg" "$python_pkg"; do
    copyright=$root/usr/share/doc/$pkg/copyright
    grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$copyright" ||
        fail "$pkg: the copyright file is not in the machine-readable format"
    grep -qx 'License: MIT' "$copyright" || fail "$pkg: the copyright file names no MIT license"
    grep -qF "$(sed -n '/^Permission is hereby granted/p' "$src/LICENSE")" "$copyright" ||
        fail "$pkg: the copyright file lacks the license text"
    changelog=$root/usr/share/doc/$pkg/changelog.gz
    first=$(gzip -dc "$changelog" | head -n 1)
    [[ $first == "libfocal ($version) "* ]] || fail "$pkg: changelog.gz starts with '$first'"
    if command -v dpkg-parsechangelog >/dev/null; then
        gzip -dc "$changelog" >"$work/changelog"
        got=$(dpkg-parsechangelog -l "$work/changelog" -S Version 2>/dev/null || true)
        [[ $got == "$version" ]] || fail "$pkg: dpkg-parsechangelog reads version '$got' from changelog.gz"
    fi
done
echo "copyright and changelog.gz of both packages are in Debian's formats"

# Installed text files must not point into the tree the packages came from.
for f in "$rootlib/pkgconfig/focal.pc" "$rootlib"/cmake/focal/*.cmake; do
    for tree in "$build" "$src" "$work"; do
        if grep -qF "$tree" "$f"; then
            fail "${f#"$root"/} mentions $tree"
        fi
    done
done

# ---------------------------------------------------------------------------
step "pkg-config against the installed root"
pcdir=$rootlib/pkgconfig
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
echo "PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
got=$("$PKG_CONFIG" --variable=pcfiledir focal)
[[ $got == "$pcdir" ]] || die "pkg-config uses the focal.pc in $got, not the one in $pcdir"
# As installed, the file describes /usr.
got=$("$PKG_CONFIG" --variable=prefix focal)
[[ $got == /usr ]] || fail "the packaged focal.pc has prefix=$got, not /usr"
got=$("$PKG_CONFIG" --variable=libdir focal)
[[ $got == "/$libdir" ]] || fail "the packaged focal.pc has libdir=$got, not /$libdir"
got=$("$PKG_CONFIG" --modversion focal)
[[ $got == "$version" ]] || fail "pkg-config --modversion focal gives $got"
echo "focal.pc: prefix /usr, libdir /$libdir, version $got"

# Moved into the root.
pc=("$PKG_CONFIG" "--define-variable=prefix=$root/usr")
cflags=$("${pc[@]}" --cflags focal)
libs=$("${pc[@]}" --libs focal)
echo "cflags: $cflags"
echo "libs: $libs"
[[ " $cflags " == *" -I$root/usr/include "* ]] || fail "--cflags lacks -I$root/usr/include"
[[ " $libs " == *" -L$rootlib "* && " $libs " == *" -lfocal "* ]] || fail "--libs lacks -L$rootlib -lfocal"
# shellcheck disable=SC2086 # the flags are meant to split into words
run "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/consumer-pkg-config" \
    "$src/tests/install/consumer.c" $cflags $libs -lm
run env LD_LIBRARY_PATH="$rootlib" "$work/consumer-pkg-config" || fail "the pkg-config consumer fails"
loaded=$(LD_LIBRARY_PATH=$rootlib ldd "$work/consumer-pkg-config" | awk '$1 ~ /^libfocal\.so/ { print $3 }')
[[ $loaded == "$rootlib/libfocal.so.$major" ]] || fail "the consumer loads libfocal from '$loaded'"
echo "the consumer loads $loaded"

if [[ $static == 1 ]]; then
    step "link libfocal.a statically with pkg-config --static"
    static_libs=$("${pc[@]}" --static --libs focal)
    echo "static libs: $static_libs"
    static_libs=" $static_libs "
    static_libs=${static_libs// -lfocal / $rootlib/libfocal.a }
    # shellcheck disable=SC2086
    run "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror -DFOCAL_STATIC_DEFINE -o "$work/consumer-static" \
        "$src/tests/install/consumer.c" $cflags $static_libs -lm
    run env -u LD_LIBRARY_PATH "$work/consumer-static" || fail "the statically linked consumer fails"
    if ldd "$work/consumer-static" | grep -q 'libfocal\.so'; then
        fail "the statically linked consumer still loads libfocal.so"
    fi
fi

# ---------------------------------------------------------------------------
step "find_package(focal $major) against the installed root"
consumer_build=$work/consumer-cmake
if ! run "$CMAKE" -S "$src/tests/install/consumer" -B "$consumer_build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_PREFIX_PATH="$root/usr" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    >"$work/consumer-cmake.log" 2>&1 ||
    ! run "$CMAKE" --build "$consumer_build" >>"$work/consumer-cmake.log" 2>&1; then
    cat "$work/consumer-cmake.log" >&2
    fail "the find_package consumer does not build against the unpacked root"
else
    found=$(sed -n 's/^focal_DIR:PATH=//p' "$consumer_build/CMakeCache.txt")
    [[ $found == "$rootlib/cmake/focal" ]] || fail "find_package found focal in '$found'"
    echo "find_package(focal $major) uses $found"
    run env -u LD_LIBRARY_PATH "$consumer_build/consumer" || fail "the find_package consumer fails"
fi

# ---------------------------------------------------------------------------
step "python3-libfocal from the installed root"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    # gamma = 0 is the cross-entropy, written out here with math.
    out=$(cd "$work" && PYTHONPATH=$root/usr/lib/python3/dist-packages FOCAL_LIBRARY=$rootlib/libfocal.so.$major \
        PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 - <<'PY'
import math, os, sys
import numpy as np
import libfocal
assert libfocal.__file__.startswith(os.environ["PYTHONPATH"]), libfocal.__file__
x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
t = np.array([0, 2])
with libfocal.Loss("softmax", gamma=0.0, reduction="mean") as loss:
    got = loss.forward(x, t)
want = sum(math.log(sum(math.exp(v) for v in row)) - row[k] for row, k in zip(x.tolist(), t.tolist())) / 2
assert abs(got - want) <= 1e-14 * abs(want), (got, want)
print("libfocal %s from %s: cross-entropy %.15g, closed form %.15g" % (libfocal.version(), libfocal.__file__, got, want))
PY
    ) || fail "python3-libfocal does not import or compute from the installed root"
    echo "$out"
else
    echo "python3 with numpy is not installed: the Python package was only checked by its contents"
fi

step "maintainer scripts"
# ldconfig runs through the trigger only: no maintainer script calls it.
for deb in "$runtime_deb" "$dev_deb" "$python_deb"; do
    scripts=$work/scripts-$(basename "$deb")
    mkdir -p "$scripts"
    dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$scripts"
    for s in preinst postinst prerm postrm; do
        if [[ -f $scripts/$s ]] && grep -q ldconfig "$scripts/$s"; then
            fail "$(basename "$deb"): $s calls ldconfig"
        fi
    done
done
echo "no maintainer script calls ldconfig"

step "lintian"
# Zero errors and zero warnings for every package (Debian 12's lintian).
if command -v lintian >/dev/null; then
    findings=$(lintian "$runtime_deb" "$dev_deb" "$python_deb" 2>&1 | grep -v 'running with root privileges' || true)
    [ -n "$findings" ] && echo "$findings"
    if grep -qE '^[EW]: ' <<<"$findings"; then
        fail "lintian reports errors or warnings"
    else
        echo "lintian: no errors, no warnings"
    fi
else
    echo "SKIP: lintian is not installed (apt-get install lintian); the packages cannot be judged"
    exit 77
fi

if ((failures > 0)); then
    echo "$failures check(s) failed" >&2
    exit 1
fi
step "the three Debian packages passed"
