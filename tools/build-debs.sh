#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build Haven's Debian packages from this checkout (committed and working-tree
# files alike: uncommitted edits are in the packages, untracked files ignored
# by git are not).
#
#   tools/build-debs.sh --arch amd64|arm64 --out DIR [--check]
#
# DIR receives havend_<ver>_<arch>.deb (the appliance), haven_<ver>_<arch>.deb
# (the custodians' CLI), haven-remux_<ver>_<arch>.deb (export's MP4 helper,
# the only one linking FFmpeg's libraries), their -dbgsym packages, and the .buildinfo/.changes.
# The packaging is board/debian/, copied to debian/ in a throwaway copy of the
# tree; debian/changelog is written here with CMake's project version.
#
# amd64 builds natively on this Debian 12 host (Build-Depends installed by
# tools/setup-deps.sh). arm64 cross-builds in a Debian 12 buildd chroot made
# by mmdebstrap with crossbuild-essential-arm64 and the :arm64 Build-Depends
# (never multiarch on the host: that removes host -dev packages), cached as a
# tarball in $HAVEN_BUILD_CACHE (default /var/cache/haven-build) keyed by
# board/debian/control. Unit tests run in the amd64 build only with --check
# (the suite itself is tools/test.sh). Needs root for arm64.
set -euo pipefail
HV_PROG=build-debs
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/debs-lib.sh"

usage() { echo "usage: $0 --arch amd64|arm64 --out DIR [--check]" >&2; exit 2; }
arch="" out="" check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) usage ;;
    *) echo "$0: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$arch" in amd64|arm64) ;; *) echo "$0: --arch must be amd64 or arm64, not '$arch'" >&2; usage ;; esac
[ -n "$out" ] || usage
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^project(haven VERSION \([0-9][0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[ -n "$version" ] || hv_die "no project(haven VERSION ...) in CMakeLists.txt"
describe=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
date_r=$(date -R -d "@$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)")

work=$(mktemp -d /var/tmp/haven-debs.XXXXXX)
root=""
cleanup() {
  [ -z "$root" ] || hv_root_umount "$root"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# The tree as git sees it, with working-tree contents.
src=$work/haven-$version
mkdir -p "$src"
git -C "$top" ls-files -z --cached --others --exclude-standard |
  (cd "$top" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
  tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
cp -a "$src/board/debian" "$src/debian"
maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat > "$src/debian/changelog" <<CHANGELOG
haven ($version) $HV_SUITE; urgency=medium

  * Built by tools/build-debs.sh from git $describe.

 -- $maint  $date_r
CHANGELOG

t0=$(date +%s)
if [ "$arch" = amd64 ]; then
  [ "$(dpkg --print-architecture)" = amd64 ] || hv_die "--arch amd64 builds natively: this host is $(dpkg --print-architecture)"
  opts="nocheck"; [ $check = 1 ] && opts=""
  (cd "$src" && dpkg-checkbuilddeps) || hv_die "Build-Depends missing on this host: run tools/setup-deps.sh"
  (cd "$src" && DEB_BUILD_OPTIONS="$opts parallel=2" nice -n 10 dpkg-buildpackage -b -uc -us) > "$work/build.log" 2>&1 \
    || { tail -n 60 "$work/build.log" >&2; hv_die "dpkg-buildpackage failed (log above)"; }
  built=$work
else
  [ "$(id -u)" = 0 ] || hv_die "--arch arm64 needs root (chroot)"
  t=$(date +%s)
  tarball=$(hv_cross_tarball "$top")
  root=$work/root
  hv_root_unpack "$tarball" "$root"
  hv_log "cross chroot ready in $(( $(date +%s) - t )) s"
  mkdir -p "$root/build"
  mv "$src" "$root/build/"
  chroot "$root" sh -c "cd /build/haven-$version && DEB_BUILD_OPTIONS='nocheck parallel=2' \
      nice -n 10 dpkg-buildpackage -a arm64 -Pcross,nocheck -b -uc -us" > "$work/build.log" 2>&1 \
    || { tail -n 60 "$work/build.log" >&2; hv_die "cross dpkg-buildpackage failed (log above)"; }
  built=$root/build
fi

n=0
for f in "$built"/*_"$version"_"$arch".deb "$built"/*_"$version"_"$arch".buildinfo "$built"/*_"$version"_"$arch".changes; do
  [ -e "$f" ] || continue
  cp "$f" "$out/"
  n=$((n + 1))
done
for p in havend haven haven-remux; do
  [ -e "$out/${p}_${version}_${arch}.deb" ] || hv_die "${p}_${version}_${arch}.deb was not built"
done
hv_log "$n files in $out ($arch, $(( $(date +%s) - t0 )) s)"
