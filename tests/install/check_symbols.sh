#!/usr/bin/env bash
# Checks the dynamic symbol table of the built shared library against the
# public header and the version script:
#   - every exported symbol starts with focal_ and carries, as its default
#     version, a node of src/focal.map (FOCAL_1.0 for release 1.0);
#   - the exported symbols are exactly the FOCAL_API functions declared in
#     include/focal/focal.h, no more and no fewer;
#   - the SONAME is libfocal.so.<major of the header>;
#   - the library needs only glibc (libc, libm, libpthread, the dynamic
#     loader) and OpenBLAS, and each of its strong undefined symbols is
#     defined by one of those libraries.
#
# usage: check_symbols.sh <libfocal.so> [<focal.h> [<focal.map>]]
set -euo pipefail

if (($# < 1 || $# > 3)); then
    echo "usage: $0 <libfocal.so> [<focal.h> [<focal.map>]]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
lib=$1
header=${2:-$here/../../include/focal/focal.h}
map=${3:-$here/../../src/focal.map}

failures=0
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}
[[ -f $lib ]] || { echo "FAIL: no library at $lib" >&2; exit 1; }
echo "library: $lib"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- what the header and the map promise ----------------------------------

# The name right before the first "(" of every declaration that starts with
# FOCAL_API; a declaration may span several lines up to its ";".
awk '
    /^[[:space:]]*FOCAL_API[[:space:]]/ { decl = ""; open = 1 }
    open { decl = decl " " $0; if (index($0, ";")) { print decl; open = 0 } }
' "$header" >"$work/declarations"
sed -E -n 's/^[^(]*[^a-zA-Z0-9_](focal_[a-z0-9_]+)[[:space:]]*\(.*/\1/p' "$work/declarations" |
    LC_ALL=C sort >"$work/header"
declared=$(wc -l <"$work/declarations")
named=$(wc -l <"$work/header")
((declared > 0)) || { echo "FAIL: no FOCAL_API declaration found in $header" >&2; exit 1; }
if ((declared != named)); then
    fail "$((declared - named)) FOCAL_API declaration(s) in $header have no focal_ function name"
fi
duplicates=$(uniq -d "$work/header")
[[ -z $duplicates ]] || fail "declared more than once in the header: $duplicates"
echo "header: $named FOCAL_API functions"

sed -E -n 's/^(FOCAL_[0-9]+\.[0-9]+)[[:space:]]*\{.*/\1/p' "$map" >"$work/nodes"
[[ -s $work/nodes ]] || { echo "FAIL: no version node in $map" >&2; exit 1; }
echo "version nodes in focal.map: $(tr '\n' ' ' <"$work/nodes")"

major=$(sed -n -E 's/^#define FOCAL_VERSION_MAJOR +([0-9]+).*/\1/p' "$header")
[[ -n $major ]] || { echo "FAIL: no FOCAL_VERSION_MAJOR in $header" >&2; exit 1; }

# --- the dynamic symbol table ---------------------------------------------

# readelf: Num: Value Size Type Bind Vis Ndx Name[@[@]version] [(index)]
readelf --dyn-syms -W "$lib" |
    awk '$1 ~ /^[0-9]+:$/ && NF >= 8 { print $5, $7, $8 }' >"$work/dynsyms"

# Defined symbols, without the markers the linker adds for each version
# node (an absolute symbol named after the node).
awk '$2 != "UND" && !($2 == "ABS" && $3 !~ /@/) { print $3 }' "$work/dynsyms" |
    LC_ALL=C sort >"$work/exported_versioned"
sed -E 's/@.*//' "$work/exported_versioned" | LC_ALL=C sort -u >"$work/exported"
awk '$2 == "ABS" && $3 !~ /@/ { print $3 }' "$work/dynsyms" | LC_ALL=C sort >"$work/node_markers"

# nm must see the same exported names.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    LC_ALL=C sort -u >"$work/exported_nm"
if ! cmp -s "$work/exported" "$work/exported_nm"; then
    fail "readelf and nm disagree on the exported symbols:"
    diff "$work/exported" "$work/exported_nm" >&2 || true
fi
echo "library: $(wc -l <"$work/exported") exported symbols"

bad_prefix=$(grep -Ev '^focal_[a-z0-9_]+$' "$work/exported" || true)
[[ -z $bad_prefix ]] || fail "exported symbols without the focal_ prefix: ${bad_prefix//$'\n'/ }"

while read -r versioned; do
    name=${versioned%%@*}
    if [[ $versioned != *@@* ]]; then
        fail "$versioned: not exported with a default version (name@@FOCAL_x.y)"
        continue
    fi
    node=${versioned#*@@}
    grep -qxF "$node" "$work/nodes" || fail "$name has version $node, which is not a node of focal.map"
done <"$work/exported_versioned"

unknown_markers=$(LC_ALL=C comm -23 "$work/node_markers" <(LC_ALL=C sort "$work/nodes"))
[[ -z $unknown_markers ]] || fail "the library defines version nodes that focal.map lacks: ${unknown_markers//$'\n'/ }"

missing=$(LC_ALL=C comm -23 "$work/header" "$work/exported")
extra=$(LC_ALL=C comm -13 "$work/header" "$work/exported")
[[ -z $missing ]] || fail "declared FOCAL_API in the header but not exported: ${missing//$'\n'/ }"
[[ -z $extra ]] || fail "exported but not declared FOCAL_API in the header: ${extra//$'\n'/ }"
if [[ -z $missing && -z $extra ]]; then
    echo "the exported symbols are exactly the header's FOCAL_API functions"
fi

# --- SONAME and dependencies ----------------------------------------------

readelf -d "$lib" >"$work/dynamic"
soname=$(sed -n -E 's/.*\(SONAME\).*\[(.*)\].*/\1/p' "$work/dynamic")
if [[ $soname == "libfocal.so.$major" ]]; then
    echo "SONAME: $soname"
else
    fail "SONAME is '$soname', not libfocal.so.$major"
fi

sed -n -E 's/.*\(NEEDED\).*\[(.*)\].*/\1/p' "$work/dynamic" >"$work/needed"
echo "needed: $(tr '\n' ' ' <"$work/needed")"
allowed_needed='^(libc\.so\.[0-9]+|libm\.so\.[0-9]+|libpthread\.so\.[0-9]+|ld-linux[-a-z0-9_.]*\.so\.[0-9]+|libopenblas[a-z0-9_]*\.so(\.[0-9]+)*|libblas\.so\.[0-9]+)$'
unexpected=$(grep -Ev "$allowed_needed" "$work/needed" || true)
[[ -z $unexpected ]] || fail "needs libraries other than glibc and OpenBLAS: ${unexpected//$'\n'/ }"

# Where the dynamic loader finds each needed library, and what they define.
ldd "$lib" >"$work/ldd"
: >"$work/provided"
while read -r needed; do
    path=$(awk -v n="$needed" '
        $2 == "=>" && $1 == n { print $3; exit }
        $1 ~ /^\// && $2 ~ /^\(/ { m = $1; sub(/.*\//, "", m); if (m == n) { print $1; exit } }
    ' "$work/ldd")
    if [[ -z $path || $path == not || ! -e $path ]]; then
        fail "$needed is not found by the dynamic loader"
        continue
    fi
    nm -D --defined-only "$path" | awk '{ sub(/@.*/, "", $3); print $3 }' >>"$work/provided"
done <"$work/needed"
LC_ALL=C sort -u -o "$work/provided" "$work/provided"

awk '$2 == "UND" && $1 == "GLOBAL" { sub(/@.*/, "", $3); print $3 }' "$work/dynsyms" |
    LC_ALL=C sort -u >"$work/undefined"
unresolved=$(LC_ALL=C comm -23 "$work/undefined" "$work/provided")
[[ -z $unresolved ]] || fail "undefined symbols that no needed library defines: ${unresolved//$'\n'/ }"
echo "$(wc -l <"$work/undefined") undefined symbols, all defined by the needed libraries"

if ((failures > 0)); then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all symbol checks passed"
