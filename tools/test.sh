#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite: install dependencies, build with ASan+UBSan, run ctest.
# Usage: tools/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHAVEN_SANITIZE=ON >/dev/null
cmake --build build-asan -j2
cd build-asan
exec ctest --output-on-failure -j2 "$@"
