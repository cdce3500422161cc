#!/usr/bin/env bash
# Runs the soak (tests/soak/soak.c) for DURATION_SECONDS.
#
# usage: soak.sh DURATION_SECONDS [BUILD_DIR] [-- extra soak arguments]
#
# With BUILD_DIR, the soak target is built there (an existing build tree,
# any configuration: a sanitizer build gives a sanitizer soak); without it,
# a Release build of this source tree is configured in a temporary
# directory, removed afterwards. Environment: CMAKE (default cmake), JOBS
# (default 2). Exit status: the soak's (0 pass, 1 fail, 77 skipped).
set -euo pipefail

if (($# < 1)); then
    echo "usage: $0 DURATION_SECONDS [BUILD_DIR] [-- extra soak arguments]" >&2
    exit 2
fi
duration=$1
shift
build=
if (($# > 0)) && [[ $1 != -- ]]; then
    build=$1
    shift
fi
if (($# > 0)) && [[ $1 == -- ]]; then
    shift
fi
CMAKE=${CMAKE:-cmake}
JOBS=${JOBS:-2}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [[ -z $build ]]; then
    build=$(mktemp -d "${TMPDIR:-/tmp}/focal-soak.XXXXXX")
    trap 'rm -rf "$build"' EXIT
    "$CMAKE" -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOCAL_BUILD_BENCH=OFF \
        -DFOCAL_BUILD_EXAMPLES=OFF >"$build/configure.log" 2>&1 ||
        { cat "$build/configure.log" >&2; exit 1; }
fi
"$CMAKE" --build "$build" --target soak -j "$JOBS" >"$build/soak-build.log" 2>&1 ||
    { tail -50 "$build/soak-build.log" >&2; exit 1; }

bin=$(find "$build" -type f -name soak -perm -u+x | head -n 1)
if [[ -z $bin ]]; then
    echo "soak.sh: no soak binary under $build" >&2
    exit 1
fi
echo "soak.sh: $bin --seconds $duration $*"
set +e
"$bin" --seconds "$duration" "$@"
status=$?
set -e
exit "$status"
