#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# haven flash against bmaptool copy and dd + cmp, same image, same targets, one
# run. Prints what it measured; asserts nothing. Needs root (loop device,
# drop_caches) and bmaptool (package bmap-tools).
#
# Targets: a loop device over a file on DIR (/var/tmp), and a file target on DIR.
# Before each step the page cache is dropped (echo 3 > /proc/sys/vm/drop_caches)
# so the image and target reads are real reads.
#   haven flash          : check (SHA-256 of the whole image) + write mapped + O_DIRECT read-back
#   haven flash --buffered: the same, writing a disk through the page cache
#   bmaptool copy        : writes the mapped blocks, checks range checksums, no read-back
#   dd + cmp             : writes every byte (conv=fsync), then compares every byte
# --image FILE uses a built board image (with its .bmap, .sha256 and
# .manifest.json beside it, as board/image/build-image.sh writes them)
# instead of the synthetic one.
# Usage: tools/bench-flash.sh [--image-mib 512] [--mapped-mib 160] [--image FILE] [--dir /var/tmp]
set -euo pipefail

IMAGE_MIB=512
MAPPED_MIB=160
DIR=/var/tmp
GIVEN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --image-mib) IMAGE_MIB=$2; shift 2 ;;
    --mapped-mib) MAPPED_MIB=$2; shift 2 ;;
    --image) GIVEN=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    *) echo "usage: $0 [--image-mib N] [--mapped-mib N] [--image FILE] [--dir DIR]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-flash: needs root (loop device, drop_caches)" >&2; exit 2; }
command -v bmaptool >/dev/null || { echo "bench-flash: bmaptool missing (bmap-tools)" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HAVEN_BUILD:-$TOP/build}
cmake -S "$TOP" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAVEN_SANITIZE=OFF >/dev/null
nice -n 10 cmake --build "$BUILD" -j2 --target haven >/dev/null
HAVEN=$BUILD/tools/haven

WORK=$(mktemp -d "$DIR/haven-bench-flash.XXXXXX")
LOOP=""
cleanup() {
  [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "$GIVEN" ]; then
  for f in "$GIVEN" "$GIVEN.bmap" "$GIVEN.manifest.json"; do
    [ -f "$f" ] || { echo "bench-flash: $f is missing" >&2; exit 2; }
  done
  IMG=$(cd "$(dirname "$GIVEN")" && pwd)/$(basename "$GIVEN")
  SIZE=$(stat -c %s "$IMG")
  MAPPED=$(du -B1 "$IMG" | cut -f1)
  IMAGE_MIB=$((SIZE / 1048576))
else
  # A sparse image: MAPPED_MIB of random data in 8 extents spread over IMAGE_MIB,
  # like a board image (boot, root and data filesystems with holes between).
  IMG=$WORK/haven-bench.img
  truncate -s "${IMAGE_MIB}M" "$IMG"
  EXTENT_MIB=$((MAPPED_MIB / 8))
  STRIDE_MIB=$((IMAGE_MIB / 8))
  for i in $(seq 0 7); do
    head -c "${EXTENT_MIB}M" /dev/urandom |
      dd of="$IMG" bs=1M seek=$((i * STRIDE_MIB)) conv=notrunc status=none
  done
  bmaptool -q create -o "$IMG.bmap" "$IMG"
  SHA=$(sha256sum "$IMG" | cut -d' ' -f1)
  echo "$SHA  $(basename "$IMG")" > "$IMG.sha256"
  SIZE=$(stat -c %s "$IMG")
  MAPPED=$(du -B1 "$IMG" | cut -f1)
  printf '{"format":1,"image":"%s","sha256":"%s","size":%s,"variant":"bench","haven_version":"bench","built":"%s","packages":[]}\n' \
    "$(basename "$IMG")" "$SHA" "$SIZE" "$(date -u +%FT%TZ)" > "$IMG.manifest.json"
fi
echo "image: $IMAGE_MIB MiB, $((MAPPED / 1048576)) MiB mapped; load average $(cut -d' ' -f1-3 /proc/loadavg)"

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
declare -A T

run_target() { # name target-path [haven options]
  local name=$1 target=$2; shift 2
  local t0 t1
  drop; t0=$(now)
  "$HAVEN" flash --log "$WORK/flash.log" "$@" "$IMG" "$target" > "$WORK/out" 2>&1 ||
    { cat "$WORK/out"; exit 1; }
  t1=$(now); T[$name.haven]=$(secs "$t0" "$t1")
  echo "  haven flash $*: $(printf '%.2f' "${T[$name.haven]}") s  ($(grep -o 'checked in [0-9.]* s' "$WORK/out"); $(tail -1 "$WORK/out" | sed 's/.*: \([0-9.]* MB written\)/\1/'))"
  if [ -b "$target" ]; then
    drop; t0=$(now)
    "$HAVEN" flash --log "$WORK/flash.log" --buffered "$@" "$IMG" "$target" > "$WORK/out" 2>&1 ||
      { cat "$WORK/out"; exit 1; }
    t1=$(now); T[$name.buffered]=$(secs "$t0" "$t1")
    echo "  haven flash --buffered: $(printf '%.2f' "${T[$name.buffered]}") s  ($(tail -1 "$WORK/out" | sed 's/.*: \([0-9.]* MB written\)/\1/'))"
  fi
  drop; t0=$(now)
  bmaptool -q copy "$IMG" "$target"
  t1=$(now); T[$name.bmaptool]=$(secs "$t0" "$t1")
  echo "  bmaptool copy: $(printf '%.2f' "${T[$name.bmaptool]}") s (no read-back)"
  drop; t0=$(now)
  dd if="$IMG" of="$target" bs=4M conv=fsync status=none
  t1=$(now); T[$name.dd]=$(secs "$t0" "$t1")
  drop; t0=$(now)
  cmp -n "$SIZE" "$IMG" "$target"
  t1=$(now); T[$name.cmp]=$(secs "$t0" "$t1")
  local ddcmp; ddcmp=$(echo "${T[$name.dd]} + ${T[$name.cmp]}" | bc -l)
  echo "  dd + cmp: $(printf '%.2f' "$ddcmp") s (dd $(printf '%.2f' "${T[$name.dd]}") s, cmp $(printf '%.2f' "${T[$name.cmp]}") s)"
  echo "  ratios: haven / bmaptool = $(printf '%.2f' "$(echo "${T[$name.haven]} / ${T[$name.bmaptool]}" | bc -l)"),"\
       "haven / (dd + cmp) = $(printf '%.2f' "$(echo "${T[$name.haven]} / $ddcmp" | bc -l)")" \
       "(below 1: haven faster)"
}

truncate -s "$SIZE" "$WORK/loop-backing"
fallocate -l "$SIZE" "$WORK/loop-backing" 2>/dev/null || true
LOOP=$(losetup -f --show "$WORK/loop-backing")
echo "loop device $LOOP over $DIR:"
run_target loop "$LOOP" --force
echo "file target on $DIR:"
run_target file "$WORK/target.img"
