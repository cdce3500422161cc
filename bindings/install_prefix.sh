#!/usr/bin/env bash
# Installs the built library into a fresh prefix for the FFI tests, which
# use it exactly as a user would: through pkg-config and the installed
# header and shared object, never the build tree. Writes <prefix>/env.sh
# exporting PKG_CONFIG_PATH, LD_LIBRARY_PATH, FOCAL_PREFIX and FOCAL_LIBRARY.
# Usage: install_prefix.sh BUILD_DIR PREFIX
set -euo pipefail
build=$1
prefix=$2
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name focal.pc -print -quit)
[ -n "$pc" ] || { echo "no focal.pc under $prefix" >&2; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
cat > "$prefix/env.sh" <<ENV
export FOCAL_PREFIX='$prefix'
export PKG_CONFIG_PATH='$libdir/pkgconfig'\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH='$libdir'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export FOCAL_LIBRARY='$libdir/libfocal.so.1'
ENV
echo "installed into $prefix (libdir $libdir)"
