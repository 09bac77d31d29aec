#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A pristine machine has no llvm-symbolizer: LeakSanitizer then prints bare
# "libfoo.so+0x1234" frames and only module-name suppressions match. Record a
# short session and decrypt it with symbolization off, as such a machine would,
# and fail on any leak report.
# usage: lsan-unsymbolized.sh BUILD_DIR SUPPRESSIONS
set -euo pipefail
build=$1 supp=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1:symbolize=0
export LSAN_OPTIONS=suppressions=$supp
cd "$work"
"$build/tools/haven" keygen --out cust >/dev/null
timeout 90 "$build/tests/hv-record" --root r --recipient cust.pub --device-key dk --seconds 2 >/dev/null
"$build/tools/haven" export --identity cust.key --out out r/S* >/dev/null
echo "no leak reported with symbolization off"
