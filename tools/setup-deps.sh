#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install every Debian 12 package Haven needs to build, run and test
# (llvm provides llvm-symbolizer, which makes sanitizer reports readable).
# Idempotent; run as root (or with sudo available). Skips apt entirely when
# everything is already installed, so repeated runs cost nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev llvm
  libglib2.0-dev libjson-glib-dev libsodium-dev libsqlite3-dev sqlite3 libssl-dev
  libgpiod-dev gpiod libsystemd-dev systemd
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x gstreamer1.0-alsa gstreamer1.0-plugins-base-apps
  # export's MP4 remux (libavformat); ffmpeg/ffprobe: the tests' independent decoder
  libavformat-dev libavcodec-dev libavutil-dev ffmpeg
  python3 python3-cryptography time
  # the config partition (haven provision, the image and its boot test)
  mtools dosfstools fdisk
  qemu-system-x86 busybox-static kmod e2fsprogs cpio xz-utils
  # Debian packages (tools/build-debs.sh, label package): debhelper, man pages,
  # lintian, the build and install roots, arm64 binaries under emulation
  debhelper dpkg-dev scdoc bash-completion lintian mmdebstrap arch-test qemu-user-static binfmt-support file
  # the board image (board/image/build-image.sh) and its boot test (label image)
  bmap-tools qemu-system-arm
  # haven flash (label flash)
  dmsetup bc
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
