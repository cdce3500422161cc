#!/usr/bin/env bash
# Runs the Julia binding tests against the installed library, or reports
# them skipped (exit 77) where no julia is on PATH.
# usage: run.sh <prefix>/env.sh
set -euo pipefail
env_sh=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source "$env_sh"
if ! command -v julia >/dev/null 2>&1; then
    echo "julia not found: Julia FFI tests skipped"
    exit 77
fi
exec julia --startup-file=no --history-file=no "$here/test/runtests.jl"
