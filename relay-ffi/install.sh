#!/bin/sh
# Installs the relay C library:
#   PREFIX/include/relay.h
#   PREFIX/lib/librelay.a, PREFIX/lib/librelay.so
#   PREFIX/lib/pkgconfig/relay.pc
#
# usage: relay-ffi/install.sh PREFIX [LIBDIR]
#   LIBDIR: where librelay.a and librelay.so were built (e.g. target/debug); without it the
#   release build is made first (cargo build --release -p relay-ffi) and taken from target/release.
# Then: cc app.c $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs relay)
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PREFIX [LIBDIR]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
prefix=$1
if [ $# -eq 2 ]; then
    libdir=$2
else
    (cd "$root" && cargo build --release -p relay-ffi)
    libdir=${CARGO_TARGET_DIR:-$root/target}/release
fi
header=$root/include/relay.h
version=$(awk '/#define RELAY_VERSION_(MAJOR|MINOR|PATCH) / { v = v (v == "" ? "" : ".") $3 } END { print v }' "$header")
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp "$header" "$prefix/include/relay.h"
cp "$libdir/librelay.a" "$libdir/librelay.so" "$prefix/lib/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$here/relay.pc.in" >"$prefix/lib/pkgconfig/relay.pc"
echo "installed relay $version into $prefix"
