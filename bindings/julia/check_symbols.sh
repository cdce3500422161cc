#!/usr/bin/env bash
# Checks that Focal.jl resolves exactly the functions the installed header
# declares. Needs no Julia, so it runs where the Julia tests are skipped.
# usage: check_symbols.sh <prefix>/env.sh
set -euo pipefail
env_sh=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source "$env_sh"
header="$FOCAL_PREFIX/include/focal/focal.h"
[ -f "$header" ] || { echo "no installed header at $header" >&2; exit 1; }
from_header=$(sed -n -E 's/^FOCAL_API .*[ *](focal_[a-z0-9_]+)\(.*/\1/p' "$header" | sort)
from_julia=$(sed -n '/^const FUNCTION_NAMES = (/,/^)/p' "$here/src/Focal.jl" |
             grep -o ':focal_[a-z0-9_]*' | tr -d : | sort)
[ -n "$from_header" ] || { echo "no FOCAL_API functions found in $header" >&2; exit 1; }
if [ "$from_header" != "$from_julia" ]; then
    echo "Focal.jl FUNCTION_NAMES differs from $header:" >&2
    diff <(echo "$from_header") <(echo "$from_julia") >&2 || true
    exit 1
fi
echo "Focal.jl resolves all $(echo "$from_header" | wc -l) functions of $header"
