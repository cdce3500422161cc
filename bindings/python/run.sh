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
cd "$here"
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -m unittest -v test_libfocal
