#!/usr/bin/env bash
# Holds the library built from the current sources to the ABI baselines
# of its major version, tests/abi/libfocal-<major>.*.abi (written by
# update_baseline.sh): abidiff must find no function or variable removed
# and none changed, neither in its signature nor in a public type it uses
# nor in its symbol version. Functions added since a baseline are allowed
# (and listed) when their version node is newer than the baseline's
# release; a new enumerator is a harmless change and allowed too.
#
# usage: check_abi.sh <source dir> <scratch dir>
# Environment: CC, CMAKE, ABIDIFF (default abidiff) pick the tools;
# FOCAL_KEEP_SCRATCH=1 keeps the scratch directory.
set -euo pipefail

if (($# != 2)); then
    echo "usage: $0 <source dir> <scratch dir>" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
ABIDIFF=${ABIDIFF:-abidiff}

if ! command -v "$ABIDIFF" >/dev/null; then
    echo "SKIP: $ABIDIFF is not installed (apt-get install abigail-tools); the ABI is not checked"
    exit 77
fi

header=$src/include/focal/focal.h
header_field() {
    sed -n -E "s/^#define FOCAL_VERSION_$1 +([0-9]+).*/\1/p" "$header"
}
major=$(header_field MAJOR)
minor=$(header_field MINOR)
[[ -n $major && -n $minor ]] || { echo "FAIL: cannot read the version from $header" >&2; exit 1; }
echo "header version: $major.$minor"

# The baselines of this major version, oldest first.
mapfile -t baselines < <(find "$src/tests/abi" -maxdepth 1 -name "libfocal-$major.*.abi" | sort -V)
if ((${#baselines[@]} == 0)); then
    echo "FAIL: no ABI baseline tests/abi/libfocal-$major.<minor>.abi for major version $major;" \
        "write one with tests/abi/update_baseline.sh" >&2
    exit 1
fi
newest=$(basename "${baselines[-1]}" .abi)
newest=${newest#libfocal-}
if [[ $newest != "$major.$minor" ]]; then
    echo "note: no baseline for $major.$minor yet; write it with update_baseline.sh when $major.$minor is released"
fi

mkdir -p "$scratch"
work=$(mktemp -d "$scratch/abi.XXXXXX")
cleanup() {
    if [[ -n ${FOCAL_KEEP_SCRATCH:-} ]]; then
        echo "kept $work"
    else
        rm -rf "$work"
        rmdir "$scratch" 2>/dev/null || true
    fi
}
trap cleanup EXIT

lib=$(bash "$here/build_library.sh" "$src" "$work/build" | tail -n 1)
echo "library: $lib"

failures=0
for baseline in "${baselines[@]}"; do
    name=$(basename "$baseline")
    printf '\n== %s against %s\n' "$(basename "$lib")" "$name"
    # --no-added-syms: additions are compatible and do not count; whatever
    # abidiff still reports is a removal or a change.
    status=0
    "$ABIDIFF" --no-added-syms --headers-dir2 "$src/include/focal" --drop-private-types \
        --fail-no-debug-info "$baseline" "$lib" >"$work/report" 2>&1 || status=$?
    cat "$work/report"
    # abidiff's exit status is a bit field: 1 error, 2 usage error,
    # 4 ABI change, 8 incompatible ABI change.
    if ((status & 3)); then
        echo "FAIL: abidiff could not compare $name with the library (exit status $status)" >&2
        failures=$((failures + 1))
        continue
    fi
    if ((status & 8)); then
        echo "FAIL: the library breaks the ABI of $name: functions were removed or changed incompatibly" >&2
        failures=$((failures + 1))
        continue
    fi
    if ((status & 4)); then
        echo "FAIL: the library changes the ABI of $name (see above); a released function or type never changes:" \
            "add a new function instead" >&2
        failures=$((failures + 1))
        continue
    fi
    # What was added since the baseline, with the version node of each
    # symbol: a function added after release X.Y must sit in a node newer
    # than FOCAL_X.Y, or a program that needs it would still load against
    # an X.Y library and fail only when it calls the function.
    "$ABIDIFF" --added-fns --added-vars --headers-dir2 "$src/include/focal" --drop-private-types \
        "$baseline" "$lib" >"$work/added" 2>&1 || true
    added=$(grep -E "^ *\[A\] " "$work/added" || true)
    if [[ -z $added ]]; then
        echo "compatible; nothing added since $name"
        continue
    fi
    echo "compatible; added since $name:"
    echo "$added"
    released=${name#libfocal-}
    released=${released%.abi}
    while read -r symbol; do
        node=${symbol#*@@}
        node=${node#*@}
        if [[ $symbol != *@* || ! $node =~ ^FOCAL_[0-9]+\.[0-9]+$ ]]; then
            echo "FAIL: $symbol was added since $name without a FOCAL_x.y version" >&2
            failures=$((failures + 1))
        elif [[ $(printf '%s\n' "${node#FOCAL_}" "$released" | sort -V | tail -n 1) == "$released" ]]; then
            echo "FAIL: ${symbol%%@*} was added after $released but has the version $node:" \
                "list it in a newer node of src/focal.map (or, while $released is unreleased," \
                "rewrite the baseline with tests/abi/update_baseline.sh --force)" >&2
            failures=$((failures + 1))
        fi
    done < <(sed -n -E 's/.*\{([^}]*)\}[[:space:]]*$/\1/p' <<<"$added")
done

if ((failures > 0)); then
    echo "$failures ABI check(s) failed" >&2
    exit 1
fi
echo
echo "the ABI keeps every baseline of major version $major: ${baselines[*]##*/}"
