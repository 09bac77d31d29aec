#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite: install dependencies, build with ASan+UBSan and run
# ctest; then run the unit tests once more on the plain optimised build, which
# catches what the sanitizers cannot see inside uninstrumented libraries (GLib
# reading past an array) and what only shows with optimisation. The whole tree
# must also build with clang, warnings as errors (clang refuses a goto past a
# g_autoptr initialisation, which gcc only warns about); that build is the
# libFuzzer one, and a short run of every fuzz target follows (label fuzz).
# The ASan build's ctest runs every label, including two that build whole
# Debian roots: package (the Debian packages built, linted, installed into
# pristine Debian 12 roots, arm64 cross-built) and image (the arm64 board image
# built under qemu-user, flashed, provisioned and booted twice in
# qemu-system-aarch64). They need root and the network on a cold cache
# (/var/cache/haven-build; about an hour the first time, minutes warm).
# HAVEN_TEST_QUICK=1 leaves those two out.
# Usage: tools/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHAVEN_SANITIZE=ON >/dev/null
cmake --build build-asan -j2
if [ $# -eq 0 ] && [ "${HAVEN_TEST_QUICK:-0}" = 1 ]; then
  set -- -LE '^(image|package)$'
fi
(cd build-asan && ctest --output-on-failure -j2 "$@")
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DHAVEN_FUZZ=ON \
      -DHAVEN_WERROR=ON >/dev/null
cmake --build build-fuzz -j2
(cd build-fuzz && ctest --output-on-failure -j2 -L fuzz)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAVEN_SANITIZE=OFF >/dev/null
cmake --build build -j2
cd build
exec ctest --output-on-failure -j2 -L unit
