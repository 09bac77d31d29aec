#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The virtual board: Debian's own 6.1 kernel under QEMU (TCG), sharing this
# machine's root filesystem read-only over 9p, with the kernel's simulators:
# gpio-sim (built here as an out-of-tree module from Debian's linux-source,
# since Debian does not ship it), vivid (V4L2) and snd-aloop (ALSA), plus an
# ext4 disk on virtio for the recording storage.
#
#   vm.sh prepare                      fetch, unpack and build (cached)
#   vm.sh run SCENARIO OUTDIR [DISK]   boot, run SCENARIO (a script on this
#                                      machine) as root in the guest, power off
#
# Nothing downloaded here is committed; the kernel ABI is looked up at run time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HAVEN_VM_DIR:-/var/tmp/haven-vm}
mkdir -p "$cache"

need_host_packages() {
  local missing=()
  for p in qemu-system-x86 busybox-static kmod e2fsprogs cpio xz-utils make gcc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The ABI of the kernel linux-image-amd64 points at now, e.g. 6.1.0-56-amd64.
kernel_abi() {
  apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(.*\)$/\1/p' | head -n 1
}

prepare() {
  need_host_packages
  local abi; abi=$(kernel_abi)
  [ -n "$abi" ] || { apt-get update -q >/dev/null; abi=$(kernel_abi); }
  [ -n "$abi" ] || { echo "vm: cannot find linux-image-amd64's kernel" >&2; exit 1; }
  local base=${abi%-amd64}
  if [ -f "$cache/ready-$abi" ]; then echo "$abi"; return; fi
  local dl="$cache/deb-$abi" root="$cache/root-$abi"
  rm -rf "$dl" "$root"; mkdir -p "$dl" "$root"
  (cd "$dl" && apt-get download -q "linux-image-$abi" "linux-headers-$abi" "linux-headers-$base-common" \
      linux-kbuild-6.1 linux-source-6.1 >/dev/null 2>&1)
  for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$root"; done
  /usr/sbin/depmod -b "$root" "$abi"
  # headers refer to their -common half by absolute path: point it into the cache
  sed -i "s|include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$abi/Makefile"

  # gpio-sim + irq_sim as one module. irq_sim.c calls irq_to_desc(), which is not
  # exported; generic_handle_irq() runs the same flow handler and is exported.
  local src="$cache/gpio-sim-$abi"; rm -rf "$src"; mkdir -p "$src"
  tar -xJf "$root/usr/src/linux-source-6.1.tar.xz" -C "$src" --strip-components=3 --wildcards \
      'linux-source-6.1/drivers/gpio/gpio-sim.c' 'linux-source-6.1/drivers/gpio/gpiolib.h'
  tar -xJf "$root/usr/src/linux-source-6.1.tar.xz" -C "$src" --strip-components=3 \
      'linux-source-6.1/kernel/irq/irq_sim.c'
  sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$src/irq_sim.c"
  grep -q 'generic_handle_irq(irqnum)' "$src/irq_sim.c" || { echo "vm: irq_sim.c patch did not apply" >&2; exit 1; }
  printf 'obj-m := gpio-sim-ext.o\ngpio-sim-ext-y := gpio-sim.o irq_sim.o\n' > "$src/Kbuild"
  make -s -C "$root/usr/src/linux-headers-$abi" M="$src" modules >/dev/null 2>&1 ||
    make -C "$root/usr/src/linux-headers-$abi" M="$src" modules
  rm -f "$root/usr/src/linux-source-6.1.tar.xz"

  touch "$cache/ready-$abi"
  echo "$abi"
}

# initramfs: busybox, the modules to reach the host root, and init (rebuilt at
# every run: it is small, and init is part of the checkout)
make_initrd() {
  local abi=$1 root="$cache/root-$1"
  local ird="$cache/initrd-$abi"; rm -rf "$ird"; mkdir -p "$ird"/{bin,lib,proc,sys,dev,host}
  cp /bin/busybox "$ird/bin/busybox"   # from busybox-static: no shared libraries needed
  : > "$ird/modules"
  for m in virtio_pci 9pnet_virtio 9p virtio_blk; do
    for f in $(/usr/sbin/modprobe -d "$root" -S "$abi" --show-depends "$m" | awk '$1 == "insmod" {print $2}'); do
      b=$(basename "$f")
      grep -qx "$b" "$ird/modules" || { cp "$f" "$ird/lib/$b"; echo "$b" >> "$ird/modules"; }
    done
  done
  cp "$here/init" "$ird/init"; chmod +x "$ird/init"
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initrd-$abi.img"
}

run() {
  local scenario=$1 out=$2 disk=${3:-}
  local abi; abi=$(prepare | tail -n 1)
  make_initrd "$abi"
  mkdir -p "$out"
  local drive=()
  [ -n "$disk" ] && drive=(-drive "file=$disk,format=raw,if=virtio,cache=${HAVEN_VM_CACHE:-writeback}")
  # GStreamer's plugin registry, built here at host speed: the guest sees the
  # same plugin files (the host root over 9p), so it loads instead of scanning
  # every plugin under an emulated CPU in each capture process
  GST_REGISTRY="$cache/gst-registry.bin" gst-inspect-1.0 >/dev/null 2>&1 || true
  local accel=${HAVEN_VM_ACCEL:-tcg}
  timeout --foreground -s KILL "${HAVEN_VM_TIMEOUT:-300}" qemu-system-x86_64 -machine q35,accel="$accel" -cpu max -smp 2 -m 2048 \
    -nographic -no-reboot -nic none \
    -kernel "$cache/root-$abi/boot/vmlinuz-$abi" -initrd "$cache/initrd-$abi.img" \
    -append "console=ttyS0 quiet panic=-1 HAVEN_SCENARIO=$scenario HAVEN_VM_ROOT=$cache/root-$abi HAVEN_VM_ABI=$abi HAVEN_GPIO_SIM=$cache/gpio-sim-$abi/gpio-sim-ext.ko HAVEN_BUILD=${HAVEN_BUILD:-} HAVEN_GST_REGISTRY=$cache/gst-registry.bin" \
    -virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$out,mount_tag=out,security_model=none" \
    "${drive[@]}" </dev/null
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: vm.sh prepare | vm.sh run SCENARIO OUTDIR [DISK]" >&2; exit 2 ;;
esac
