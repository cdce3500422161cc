#!/usr/bin/env bash
# Runs the Go binding's tests (go vet, go test, the concurrency tests under
# the race detector where Go supports it) against the installed library.
# usage: run.sh <prefix>/env.sh WORK_DIR
# WORK_DIR (in the build tree) receives GOPATH and GOCACHE; nothing is
# written into the source tree. FOCAL_GO names the go command (default: go
# on PATH). Without it the test fails, unless FOCAL_SKIP_FFI=1, which turns
# that into a skip (exit 77).
set -euo pipefail
env_sh=$1
work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

go=${FOCAL_GO:-go}
if ! command -v "$go" >/dev/null 2>&1; then
    if [ "${FOCAL_SKIP_FFI:-0}" = 1 ]; then
        echo "skipped: $go not found and FOCAL_SKIP_FFI=1"
        exit 77
    fi
    echo "error: $go not found. The Go FFI tests need Go >= 1.19 with cgo and a C compiler" >&2
    echo "       (Debian 12: apt-get install golang-go gcc); set FOCAL_SKIP_FFI=1 to skip them." >&2
    exit 1
fi

# shellcheck source=/dev/null
source "$env_sh"
mkdir -p "$work"
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false GOENV=off GO111MODULE=on CGO_ENABLED=1
export GOPATH="$work/gopath" GOCACHE="$work/gocache"
echo "$("$go" version), libfocal from $FOCAL_PREFIX"

cd "$here"
"$go" vet .
"$go" test -count=1 -v .
case "$("$go" env GOOS)/$("$go" env GOARCH)" in
    linux/amd64 | linux/arm64 | linux/ppc64le | linux/s390x)
        "$go" test -count=1 -race -run 'Goroutines|Clone|Close|LengthMismatches' . ;;
    *)
        echo "the race detector is not available here; concurrency tests ran without it" ;;
esac
# The golden data once more on the portable kernels.
FOCAL_MAX_ISA=scalar "$go" test -count=1 -run 'Golden|ISA' .
