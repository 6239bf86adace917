#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds a consumer against it
# with find_package(sipmix) and with pkg-config, and runs both.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/consumer" -B "$tmp/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/consumer"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
g++ -std=c++20 "$src/consumer/main.cc" -o "$tmp/pc-consumer" $(pkg-config --cflags --libs sipmix)
"$tmp/pc-consumer"
