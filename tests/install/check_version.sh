#!/usr/bin/env bash
# Checks that every place that states libfocal's version agrees:
#   - the header: FOCAL_VERSION_MAJOR/MINOR/PATCH and FOCAL_VERSION_STRING;
#   - the project version and the SOVERSION CMake used;
#   - src/focal.map: nodes in increasing order, each inheriting from the one
#     before, the newest being FOCAL_<major>.<minor>;
#   - the built library: its file name, its SONAME and the link named after
#     it, the version nodes it defines and the versions of its symbols;
#   - the focal.pc and focalConfigVersion.cmake generated in the build tree.
#
# usage: check_version.sh <libfocal.so.x.y.z> <source dir> <build dir> <SOVERSION> <project version>
set -euo pipefail

if (($# != 5)); then
    echo "usage: $0 <libfocal.so.x.y.z> <source dir> <build dir> <SOVERSION> <project version>" >&2
    exit 2
fi
lib=$1
src=$2
build=$3
soversion=$4
project_version=$5
header=$src/include/focal/focal.h
map=$src/src/focal.map

failures=0
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}

header_field() {
    sed -n -E "s/^#define FOCAL_VERSION_$1 +([0-9]+).*/\1/p" "$header"
}
major=$(header_field MAJOR)
minor=$(header_field MINOR)
patch=$(header_field PATCH)
if [[ -z $major || -z $minor || -z $patch ]]; then
    echo "FAIL: cannot read FOCAL_VERSION_MAJOR/MINOR/PATCH from $header" >&2
    exit 1
fi
version=$major.$minor.$patch
newest=FOCAL_$major.$minor
echo "header: $version"

string=$(sed -n -E 's/^#define FOCAL_VERSION_STRING +"([^"]*)".*/\1/p' "$header")
[[ $string == "$version" ]] || fail "FOCAL_VERSION_STRING is \"$string\", the version macros say $version"
[[ $project_version == "$version" ]] || fail "CMake's project version is $project_version, the header's $version"
[[ $soversion == "$major" ]] || fail "SOVERSION is $soversion, the header's major version $major"
echo "SOVERSION: $soversion"

# --- focal.map ------------------------------------------------------------
mapfile -t nodes < <(sed -n -E 's/^(FOCAL_[0-9]+\.[0-9]+)[[:space:]]*\{.*/\1/p' "$map")
mapfile -t closers < <(sed -n -E 's/^\}[[:space:]]*([A-Za-z0-9_.]*)[[:space:]]*;.*/\1/p' "$map")
echo "focal.map nodes: ${nodes[*]:-none}"
if ((${#nodes[@]} == 0)); then
    fail "focal.map has no FOCAL_x.y node"
else
    [[ ${nodes[-1]} == "$newest" ]] || fail "the newest node of focal.map is ${nodes[-1]}, not $newest"
    ((${#closers[@]} == ${#nodes[@]})) || fail "focal.map: ${#nodes[@]} nodes but ${#closers[@]} closing braces"
    [[ -z ${closers[0]:-} ]] || fail "focal.map: the first node ${nodes[0]} inherits from '${closers[0]}'"
    for ((i = 1; i < ${#nodes[@]}; i++)); do
        prev=${nodes[i - 1]#FOCAL_}
        cur=${nodes[i]#FOCAL_}
        if ((${cur%.*} < ${prev%.*} || (${cur%.*} == ${prev%.*} && ${cur#*.} <= ${prev#*.}))); then
            fail "focal.map: ${nodes[i]} follows ${nodes[i - 1]}"
        fi
        [[ ${closers[i]:-} == "${nodes[i - 1]}" ]] ||
            fail "focal.map: ${nodes[i]} inherits from '${closers[i]:-}', not from ${nodes[i - 1]}"
    done
fi

# --- the built library ----------------------------------------------------
real=$(readlink -f "$lib")
[[ $(basename "$real") == "libfocal.so.$version" ]] ||
    fail "the library file is $(basename "$real"), not libfocal.so.$version"

soname=$(readelf -d "$lib" | sed -n -E 's/.*\(SONAME\).*\[(.*)\].*/\1/p')
[[ $soname == "libfocal.so.$soversion" ]] || fail "the SONAME is '$soname', not libfocal.so.$soversion"
echo "SONAME: $soname"
soname_link=$(dirname "$real")/$soname
if [[ -n $soname && $(readlink -f "$soname_link") != "$real" ]]; then
    fail "$soname_link does not lead to $(basename "$real")"
fi

# The version definitions: the base (the SONAME) first, then one per node.
mapfile -t defined < <(readelf -V -W "$lib" |
    sed -n '/^Version definition section/,/^$/p' |
    sed -n -E 's/.*Flags: *([A-Z a-z|]*[a-zA-Z]) +Index: *[0-9]+ +Cnt: *[0-9]+ +Name: *([^ ]+).*/\1 \2/p')
base=()
library_nodes=()
for entry in "${defined[@]}"; do
    if [[ $entry == BASE* ]]; then
        base+=("${entry##* }")
    else
        library_nodes+=("${entry##* }")
    fi
done
[[ ${base[*]:-} == "$soname" ]] || fail "the base version definition is '${base[*]:-}', not the SONAME $soname"
echo "version nodes defined by the library: ${library_nodes[*]:-none}"
[[ ${library_nodes[*]:-} == "${nodes[*]:-}" ]] ||
    fail "the library defines the version nodes '${library_nodes[*]:-}', focal.map '${nodes[*]:-}'"

# Every exported symbol has a node of the map as its version; every node
# holds at least one symbol.
symbols=$(mktemp)
trap 'rm -f "$symbols"' EXIT
readelf --dyn-syms -W "$lib" |
    awk '$1 ~ /^[0-9]+:$/ && NF >= 8 && $7 != "UND" && $7 != "ABS" { print $8 }' >"$symbols"
for node in "${nodes[@]}"; do
    count=$(grep -c "@@${node//./\\.}\$" "$symbols" || true)
    echo "$node: $count symbols"
    ((count > 0)) || fail "no exported symbol has the version $node"
done
while read -r sym; do
    node=${sym#*@}
    node=${node#@}
    if [[ $sym != *@* ]] || ! printf '%s\n' "${nodes[@]}" | grep -qxF "$node"; then
        fail "$sym: its version is not a node of focal.map"
    fi
done <"$symbols"

# --- files generated in the build tree ------------------------------------
pc=$build/focal.pc
if [[ -f $pc ]]; then
    pc_version=$(sed -n -E 's/^Version: *([^ ]+).*/\1/p' "$pc")
    [[ $pc_version == "$version" ]] || fail "focal.pc says Version: $pc_version"
    echo "focal.pc: $pc_version"
else
    fail "no focal.pc in $build"
fi
config_version=$build/focalConfigVersion.cmake
if [[ -f $config_version ]]; then
    package_version=$(sed -n -E 's/^ *set\(PACKAGE_VERSION "([0-9][0-9.]*)"\).*/\1/p' "$config_version")
    [[ $package_version == "$version" ]] || fail "focalConfigVersion.cmake says $package_version"
    echo "focalConfigVersion.cmake: $package_version"
else
    fail "no focalConfigVersion.cmake in $build"
fi

if ((failures > 0)); then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "header, CMake, focal.map and the library agree on version $version"
