#!/usr/bin/env bash
# Runs the Python binding tests against the installed library.
# usage: run.sh <prefix>/env.sh [python]
# Exits 77 (skipped) when the interpreter or numpy is missing; the torch
# tests skip themselves when torch or torchvision is missing.
set -euo pipefail
env_sh=$1
python=${2:-/usr/bin/python3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source "$env_sh"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "$python not found: Python FFI tests skipped"
    exit 77
fi
if ! "$python" -c 'import numpy' >/dev/null 2>&1; then
    echo "numpy is not importable by $python: Python FFI tests skipped"
    exit 77
fi
export PYTHONDONTWRITEBYTECODE=1

# The package as a user installs it: pip, offline, into a fresh virtual
# environment (a copy of this folder is built, so that setuptools writes
# nothing into the source tree), then imported from elsewhere.
if "$python" -c 'import venv, ensurepip, setuptools' >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp -r "$here" "$tmp/src"
    "$python" -m venv --system-site-packages "$tmp/venv"
    "$tmp/venv/bin/pip" install --quiet --no-build-isolation --no-index --no-deps "$tmp/src"
    expected=$(pkg-config --modversion focal)
    (cd "$tmp" && FOCAL_EXPECTED_VERSION="$expected" "$tmp/venv/bin/python" - <<'PY'
import os, sys
import libfocal
where = os.path.dirname(libfocal.__file__)
assert where.startswith(sys.prefix), f"libfocal imported from {where}, not the virtual environment"
v = libfocal.version()
expected = os.environ["FOCAL_EXPECTED_VERSION"]
assert v == expected, f"libfocal.version() is {v!r}, the installed library is {expected!r}"
print(f"pip-installed libfocal {v} from {where}, library {libfocal.library_path}")
PY
    )
else
    echo "error: $python lacks venv, ensurepip or setuptools (Debian: python3-venv python3-setuptools)" >&2
    exit 1
fi

cd "$here"
exec "$python" -m unittest -v test_libfocal
