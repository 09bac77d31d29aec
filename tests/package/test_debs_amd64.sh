#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Label package: build the amd64 packages with tools/build-debs.sh, lint them,
# and install them with apt into pristine Debian 12 roots (mmdebstrap minbase,
# cached): the haven package alone pulls in neither libgpiod nor libsystemd and
# its haven verifies a session sealed by this build tree (and rejects a
# tampered copy) and exports one only once haven-remux is installed; havend installs its user, directories and enabled unit,
# checks the example configuration, creates a device key, and a purge keeps
# the evidence. Needs root and the network (apt).
# Usage: test_debs_amd64.sh (HAVEN_BUILD: the build tree, for hv-mksession)
set -euo pipefail
HV_PROG=test_debs_amd64
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${HAVEN_BUILD:?HAVEN_BUILD must name the build tree}
. "$src/tools/debs-lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v mmdebstrap >/dev/null || ! command -v dpkg-buildpackage >/dev/null; then
  echo "skip: needs root, mmdebstrap and dpkg-buildpackage (tools/setup-deps.sh)"; exit 77
fi

work=$(mktemp -d /var/tmp/haven-pkgtest.XXXXXX)
roots=()
cleanup() { for r in "${roots[@]}"; do hv_root_umount "$r"; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 143' TERM INT   # ctest's timeout: unmount the roots all the same
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
elapsed() { echo $(( $(date +%s) - $1 )); }

version=$(sed -n 's/^project(haven VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

# 1. build (HAVEN_TEST_DEBS: a directory of packages tools/build-debs.sh
# already built from this tree, to rerun the rest without rebuilding)
debs=${HAVEN_TEST_DEBS:-$work/debs}
if [ -z "${HAVEN_TEST_DEBS:-}" ]; then
  t=$(date +%s)
  "$src/tools/build-debs.sh" --arch amd64 --out "$debs"
  echo "time: amd64 build $(elapsed $t) s"
fi
havend_deb=$debs/havend_${version}_amd64.deb
haven_deb=$debs/haven_${version}_amd64.deb
remux_deb=$debs/haven-remux_${version}_amd64.deb

# 2. contents and dependencies
dpkg-deb -c "$havend_deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$work/havend.files"
dpkg-deb -c "$haven_deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$work/haven.files"
for f in /usr/sbin/havend /usr/libexec/haven/haven-capture /lib/systemd/system/havend.service \
         /usr/lib/sysusers.d/haven.conf /usr/lib/tmpfiles.d/haven.conf /lib/udev/rules.d/60-haven-gpio.rules \
         /usr/share/haven/boards/rpi4.board /usr/share/haven/boards/rpi5.board \
         /usr/share/haven/haven.conf.example /usr/share/doc/havend/README.md /usr/share/doc/havend/LIGHTS.md \
         /usr/share/doc/havend/FORMAT.md /usr/share/man/man8/havend.8.gz; do
  check "havend holds $f" grep -q -x -F "$f" "$work/havend.files"
done
check "havend holds only the real boards (no sim.board, vm-gpio-sim.board)" \
  test "$(grep -c '^/usr/share/haven/boards/.' "$work/havend.files")" = 2
unit_doc=$(dpkg-deb --fsys-tarfile "$havend_deb" | tar -xOf - ./lib/systemd/system/havend.service |
           sed -n 's|^Documentation=file://\([^ ]*\).*|\1|p')
check "the unit's Documentation= ($unit_doc) is in the package" grep -q -x -F "$unit_doc" "$work/havend.files"
for f in /usr/bin/haven /usr/share/man/man1/haven.1.gz /usr/share/bash-completion/completions/haven; do
  check "haven holds $f" grep -q -x -F "$f" "$work/haven.files"
done
check "haven holds no daemon and no helper" bash -c "! grep -E 'havend|libexec' '$work/haven.files'"
check "haven-remux holds only /usr/libexec/haven/haven-remux (and its docs)" \
  test "$(dpkg-deb -c "$remux_deb" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v -E '/$|^/usr/share/doc/')" \
       = /usr/libexec/haven/haven-remux
# export's remux runs in haven-remux, the only program linking libavformat
mkdir -p "$work/haven-x"
dpkg-deb -x "$haven_deb" "$work/haven-x"
dpkg-deb -x "$remux_deb" "$work/haven-x"
check "/usr/bin/haven does not link FFmpeg's libraries (haven-remux does)" \
  bash "$src/tests/tools/check-needed.sh" "$work/haven-x/usr/bin/haven" '^lib(av|sw|postproc)[a-z]*[.-]'
check "/usr/libexec/haven/haven-remux links libavformat" \
  bash -c "readelf -d -W '$work/haven-x/usr/libexec/haven/haven-remux' | grep -q 'NEEDED.*libavformat'"
deps=$(dpkg-deb -f "$haven_deb" Depends)
echo "haven Depends: $deps"
check "haven does not depend on libgpiod or libsystemd" bash -c "! grep -E 'gpiod|libsystemd' <<<'$deps'"
check "haven does not depend on GStreamer or FFmpeg" bash -c "! grep -E 'gstreamer|libav' <<<'$deps'"
check "haven Recommends haven-remux of its own version" \
  test "$(dpkg-deb -f "$haven_deb" Recommends)" = "haven-remux (= $version)"
check "haven-remux depends on libavformat" bash -c "dpkg-deb -f '$remux_deb' Depends | grep -q libavformat"

# 3. lintian (errors fail; overrides in board/debian/*.lintian-overrides say why)
t=$(date +%s)
lintian --fail-on error --display-info --tag-display-limit 0 "$havend_deb" "$haven_deb" "$remux_deb" > "$work/lintian.txt" 2>&1 \
  && lint=0 || lint=$?
sed 's/^/lintian: /' "$work/lintian.txt"
echo "lintian summary: $(grep -c '^E:' "$work/lintian.txt") errors, $(grep -c '^W:' "$work/lintian.txt") warnings," \
     "$(grep -c '^I:' "$work/lintian.txt") info, $(grep -c '^O:' "$work/lintian.txt") overridden ($(elapsed $t) s)"
check "lintian reports no error" test "$lint" = 0

# 4. a session sealed by this build tree, and a tampered copy
"$build/tools/haven" keygen --out "$work/cust" >/dev/null
"$build/tests/hv-mksession" --device-key "$work/dev.key" --recipient "$work/cust.pub" \
  --out "$work/sess/session" --bytes 300000 --room "Package test" >/dev/null
[ -f "$work/dev.key.pub" ] || bad "hv-mksession wrote no dev.key.pub"
cp -a "$work/sess/session" "$work/tampered"
printf '\x01' | dd of="$work/tampered/records.hvr" bs=1 seek=1000 conv=notrunc status=none
# and one of real media (H.264 and AAC in MPEG-TS, as the recorder writes), to export
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=25:duration=2 -f lavfi -i sine=frequency=440:duration=2 \
  -c:v libx264 -g 25 -c:a aac -f mpegts "$work/media.ts"
"$build/tests/hv-mksession" --device-key "$work/dev.key" --recipient "$work/cust.pub" \
  --out "$work/real/session" --media "$work/media.ts" --markers 1 --room "Package test" >/dev/null

# 5. the haven package alone in a pristine root
t=$(date +%s)
minbase=$(hv_root_tarball minbase-$HV_SUITE-amd64 "minbase" --variant=minbase)
echo "time: pristine root ready $(elapsed $t) s"
r1=$work/r1; roots+=("$r1")
hv_root_unpack "$minbase" "$r1"
mkdir -p "$r1/tmp/hv"
cp "$haven_deb" "$r1/tmp/hv/"
cp "$remux_deb" "$r1/tmp/hv/"
cp -a "$work/sess" "$work/tampered" "$work/real" "$work/dev.key.pub" "$work/cust.key" "$r1/tmp/hv/"
in_r1() { chroot "$r1" "$@"; }
t=$(date +%s)
in_r1 dpkg-query -W -f '${Package}\n' | sort > "$work/before"
in_r1 env DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null
# Its own dependency closure: Recommends of Debian's GStreamer plugins bring
# systemd (hence libsystemd-shared) with them, which is not haven's doing.
in_r1 env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends install \
  "/tmp/hv/$(basename "$haven_deb")" > "$work/apt1.log" 2>&1 \
  || { cat "$work/apt1.log"; bad "apt-get install haven"; exit 1; }
in_r1 dpkg-query -W -f '${Package}\n' | sort > "$work/after"
comm -13 "$work/before" "$work/after" > "$work/new"
echo "time: install haven alone $(elapsed $t) s ($(wc -l < "$work/new") packages)"
check "haven alone pulls in no libgpiod or gpiod" bash -c "! grep -E 'gpiod' '$work/new'"
check "haven alone (without its Recommends) pulls in no FFmpeg library" bash -c "! grep -E '^libav' '$work/new'"
# libsystemd0 is in every Debian root (apt depends on it): haven must not be
# what brings it, and its own Depends name neither (checked above). Debian's
# FFmpeg libraries that export needs may bring systemd-related packages
# through their own dependencies: listed, not haven's doing.
check "libsystemd0 was there before haven, not brought by it" grep -q -x libsystemd0 "$work/before"
echo "systemd-related packages the FFmpeg libraries' dependencies brought: $(grep systemd "$work/new" | tr '\n' ' ')"
check "haven alone pulls in no havend" bash -c "! grep -x havend '$work/new'"
check "installed haven --version says $version" test "$(in_r1 haven --version)" = "haven $version"
in_r1 haven verify --device-key /tmp/hv/dev.key.pub /tmp/hv/sess > "$work/verify.txt" 2>&1 && v=0 || v=$?
cat "$work/verify.txt"
check "installed haven verify: the build tree's session is intact (exit $v)" test $v = 0
check "installed haven verify: COMPLETE" grep -q COMPLETE "$work/verify.txt"
in_r1 haven verify /tmp/hv/tampered > "$work/verify2.txt" 2>&1 && v=0 || v=$?
check "installed haven verify: a flipped byte is INVALID, exit 1 (got $v)" test $v = 1
in_r1 man -w haven >/dev/null 2>&1 || true   # man-db is not in minbase; the file is checked above
# export without haven-remux: the verified TS and the report, no MP4, exit 4
# and a message naming the package
in_r1 haven export -i /tmp/hv/cust.key --device-key /tmp/hv/dev.key.pub -o /tmp/hv/exp1 /tmp/hv/real/session \
  > "$work/export1.txt" 2>&1 && v=0 || v=$?
cat "$work/export1.txt"
check "export without haven-remux: exit 4 (got $v)" test $v = 4
check "export without haven-remux names the package" grep -q "haven-remux package" "$work/export1.txt"
check "export without haven-remux: the TS exported, no MP4" \
  bash -c "test -s '$r1/tmp/hv/exp1/session.ts' && ! ls '$r1'/tmp/hv/exp1/*.mp4 2>/dev/null"
in_r1 env DEBIAN_FRONTEND=noninteractive apt-get -y -q install "/tmp/hv/$(basename "$remux_deb")" \
  > "$work/apt1b.log" 2>&1 || { cat "$work/apt1b.log"; bad "apt-get install haven-remux"; }
in_r1 haven export -i /tmp/hv/cust.key --device-key /tmp/hv/dev.key.pub -o /tmp/hv/exp2 /tmp/hv/real/session \
  > "$work/export2.txt" 2>&1 && v=0 || v=$?
cat "$work/export2.txt"
check "export with haven-remux installed (exit $v)" test $v = 0
mp4=$(ls "$r1"/tmp/hv/exp2/*.mp4 2>/dev/null | head -n1)
check "export wrote an MP4" test -s "$mp4"
check "the MP4 is fast start (moov before mdat)" \
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(not 0 < d.find(b"moov") < d.find(b"mdat"))' "$mp4"
check "the MP4 has a chapter for the marker" bash -c "ffprobe -v error -show_chapters '$mp4' | grep -q '^\[CHAPTER\]'"

# 6. both packages in another pristine root
r2=$work/r2; roots+=("$r2")
hv_root_unpack "$minbase" "$r2"
mkdir -p "$r2/tmp/hv"
cp "$haven_deb" "$havend_deb" "$remux_deb" "$work/cust.pub" "$r2/tmp/hv/"
in_r2() { chroot "$r2" "$@"; }
t=$(date +%s)
in_r2 env DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null
in_r2 env DEBIAN_FRONTEND=noninteractive apt-get -y -q install "/tmp/hv/$(basename "$havend_deb")" \
  "/tmp/hv/$(basename "$haven_deb")" "/tmp/hv/$(basename "$remux_deb")" > "$work/apt2.log" 2>&1 \
  || { cat "$work/apt2.log"; bad "apt-get install havend haven haven-remux"; exit 1; }
echo "time: install havend + haven + haven-remux $(elapsed $t) s"
check "havend --version says $version" test "$(in_r2 havend --version)" = "havend $version"
check "postinst created the haven user" in_r2 getent passwd haven
check "postinst put haven in the gpio group" bash -c "chroot '$r2' id -nG haven | grep -qw gpio"
for d in /var/lib/haven /srv/haven; do
  check "postinst created $d (haven:haven 0750)" test "$(in_r2 stat -c '%U:%G %a' "$d")" = "haven:haven 750"
done
check "/etc/haven is root:haven 0750" test "$(in_r2 stat -c '%U:%G %a' /etc/haven)" = "root:haven 750"
check "havend.service is enabled" test "$(in_r2 systemctl is-enabled havend.service 2>&1)" = enabled

# The example configuration, as installed, checked by the installed havend
# (as user haven). In a chroot on this host there is no Raspberry Pi GPIO
# chip, no camera or microphone, no device key and no custodian file: exit 2,
# and every problem must be one of exactly those, so the example itself (its
# groups, keys and values, the board file it names) is valid for this havend.
in_r2 cp /usr/share/haven/haven.conf.example /etc/haven/haven.conf
in_r2 havend --check-config > "$work/check1.txt" 2>&1 && c=0 || c=$?
sed 's/^/check-config (example as installed): /' "$work/check1.txt"
check "check-config of the example: exit 2 (got $c)" test $c = 2
# What this host cannot have: the Pi 4's GPIO chip, cameras, microphone; as
# installed also the device key and the custodian's recipient file.
hw="GPIO chip 'pinctrl-bcm2711' not found|not ready: camera [12] \\(/dev/video[02]\\): absent|not ready: microphone \\(hw:1,0\\)|[0-9]+ problems? found"
unexpected() { grep -v -E "$1" "$2" | grep . || true; }
check "check-config names the missing device key" grep -q "\[device\] key: '/var/lib/haven/device.key' does not exist" "$work/check1.txt"
check "check-config names the missing recipient" grep -q '/etc/haven/custodian.pub: No such file' "$work/check1.txt"
check "check-config names the absent GPIO chip of the Pi 4 board" grep -q "pinctrl-bcm2711" "$work/check1.txt"
check "check-config: nothing else (the example is valid for this havend)" \
  test -z "$(unexpected "$hw|device.key' does not exist|custodian.pub: No such file|no custodian recipient loaded" "$work/check1.txt")"
# Adapted: device key made by the installed havend (as user haven), a real
# custodian recipient. Only the host's missing hardware remains.
# --init-device checks the configuration first: the recipient must exist
in_r2 install -m 0640 -g haven /tmp/hv/cust.pub /etc/haven/custodian.pub
in_r2 havend --init-device > "$work/init.txt" 2>&1 && c=0 || c=$?
cat "$work/init.txt"
check "havend --init-device (exit $c)" test $c = 0
check "device key owned by haven, mode 0600" test "$(in_r2 stat -c '%U %a' /var/lib/haven/device.key)" = "haven 600"
in_r2 havend --check-config > "$work/check2.txt" 2>&1 && c=0 || c=$?
sed 's/^/check-config (adapted): /' "$work/check2.txt"
check "adapted: exit 2, the GPIO chip (got $c)" test $c = 2
check "adapted: only the host's missing hardware remains" test -z "$(unexpected "$hw" "$work/check2.txt")"
check "adapted: the key and the recipient are no longer problems" \
  bash -c "! grep -E 'device.key|custodian.pub|recipient' '$work/check2.txt'"

# purge keeps the evidence and the device key
in_r2 sh -c 'echo evidence > /srv/haven/marker'
in_r2 env DEBIAN_FRONTEND=noninteractive apt-get -y -q purge havend > "$work/purge.txt" 2>&1 || bad "apt-get purge havend"
check "purge says what it keeps" grep -q 'purge keeps' "$work/purge.txt"
check "purge kept /srv/haven" test -f "$r2/srv/haven/marker"
check "purge kept the device key" test -f "$r2/var/lib/haven/device.key"

[ $fail = 0 ] && echo "package test (amd64): all checks passed"
exit $fail
