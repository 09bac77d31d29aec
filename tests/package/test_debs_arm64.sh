#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Label package: cross-build the arm64 packages with tools/build-debs.sh
# (cached mmdebstrap buildd chroot), check their binaries are aarch64 ELF, lint
# them, and run them under qemu-aarch64-static inside the cross chroot (where
# the arm64 libraries are): haven and havend --version, and the arm64 haven
# verifying a session sealed on this amd64 host (the format's byte order).
# Needs root, the network on a cold cache, qemu-user-static and binfmt-support.
set -euo pipefail
HV_PROG=test_debs_arm64
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${HAVEN_BUILD:?HAVEN_BUILD must name the build tree}
. "$src/tools/debs-lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v mmdebstrap >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
  echo "skip: needs root, mmdebstrap and qemu-user-static (tools/setup-deps.sh)"; exit 77
fi

work=$(mktemp -d /var/tmp/haven-pkgtest.XXXXXX)
root=""
cleanup() { [ -z "$root" ] || hv_root_umount "$root"; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 143' TERM INT   # ctest's timeout: unmount the roots all the same
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
elapsed() { echo $(( $(date +%s) - $1 )); }
version=$(sed -n 's/^project(haven VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

t=$(date +%s)
debs=$(hv_debs_cached "$src" arm64)   # shared with the image label
echo "time: arm64 packages (tools/build-debs.sh in the cross chroot, or this source's cached build) $(elapsed $t) s"
havend_deb=$debs/havend_${version}_arm64.deb
haven_deb=$debs/haven_${version}_arm64.deb
remux_deb=$debs/haven-remux_${version}_arm64.deb

mkdir -p "$work/x"
dpkg-deb -x "$havend_deb" "$work/x"
dpkg-deb -x "$haven_deb" "$work/x"
dpkg-deb -x "$remux_deb" "$work/x"
for b in usr/sbin/havend usr/libexec/haven/haven-capture usr/bin/haven usr/libexec/haven/haven-remux; do
  desc=$(file -b "$work/x/$b")
  echo "$b: $desc"
  check "$b is aarch64 ELF" grep -q 'ELF 64-bit LSB.*ARM aarch64' <<<"$desc"
done
check "haven (arm64) does not depend on libgpiod or libsystemd" \
  bash -c "! dpkg-deb -f '$haven_deb' Depends | grep -E 'gpiod|libsystemd'"

lintian --fail-on error "$havend_deb" "$haven_deb" "$remux_deb" > "$work/lintian.txt" 2>&1 && lint=0 || lint=$?
sed 's/^/lintian: /' "$work/lintian.txt"
check "lintian (arm64) reports no error" test "$lint" = 0

# a session sealed by this (amd64) build tree
"$build/tools/haven" keygen --out "$work/cust" >/dev/null
"$build/tests/hv-mksession" --device-key "$work/dev.key" --recipient "$work/cust.pub" \
  --out "$work/sess/session" --bytes 200000 >/dev/null

hv_binfmt_aarch64
root=$work/root
hv_root_unpack "$(hv_cross_tarball "$src")" "$root"
mkdir -p "$root/opt/hv"
cp -a "$work/x/." "$root/opt/hv/"
cp -a "$work/sess" "$work/dev.key.pub" "$root/tmp/"
check "haven --version (arm64, qemu)" test "$(chroot "$root" /opt/hv/usr/bin/haven --version)" = "haven $version"
check "havend --version (arm64, qemu)" test "$(chroot "$root" /opt/hv/usr/sbin/havend --version)" = "havend $version"
chroot "$root" /opt/hv/usr/bin/haven verify --device-key /tmp/dev.key.pub /tmp/sess > "$work/verify.txt" 2>&1 && v=0 || v=$?
cat "$work/verify.txt"
check "arm64 haven verifies the amd64-sealed session (exit $v)" test $v = 0
printf '\x01' | dd of="$root/tmp/sess/session/records.hvr" bs=1 seek=1000 conv=notrunc status=none
chroot "$root" /opt/hv/usr/bin/haven verify /tmp/sess > /dev/null 2>&1 && v=0 || v=$?
check "arm64 haven: a flipped byte is INVALID, exit 1 (got $v)" test $v = 1

[ $fail = 0 ] && echo "package test (arm64): all checks passed"
exit $fail
