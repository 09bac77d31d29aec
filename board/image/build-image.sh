#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build Haven's bootable arm64 board image from Debian 12 packages only.
#
#   build-image.sh --variant rpi4|virt --debs DIR --out DIR
#
# DIR (--debs) holds Haven's arm64 havend_*.deb and haven_*.deb
# (tools/build-debs.sh --arch arm64). Writes into --out:
#   haven-<variant>-<version>.img            raw, sparse disk image (GPT)
#   haven-<variant>-<version>.img.bmap       bmaptool create
#   haven-<variant>-<version>.img.sha256     sha256sum format
#   haven-<variant>-<version>.img.manifest.json
#
# The root filesystem is the same for both variants (Debian's linux-image-arm64
# and raspi-firmware are in both; the virt variant also carries the simulated
# board file, /usr/share/haven/boards/sim.board, since QEMU's virt machine has
# no GPIO). The variants differ only in the kernel command line on the boot
# partition and in that file. Layout (docs/ARCHITECTURE.md, "The board image"):
#   1 HAVENBOOT  vfat  256 MiB  /boot/firmware: Pi firmware, DTBs, kernel, initrd,
#                                config.txt, cmdline.txt (root=PARTUUID of slot A)
#   2 HAVENCFG   vfat   32 MiB  /etc/haven (haven.conf, recipients/, enrollment.conf)
#   3 HAVENROOTA ext4 >=1.5 GiB /, mounted read-only (slot A; the root's size + 25 %)
#   4 HAVENROOTB ext4 same      slot B, empty (an update writes it, then switches)
#   5 HAVENDATA  ext4  256 MiB  /var/lib/haven + /srv/haven, grown at first boot
#
# The Debian root (everything but Haven's own packages) is cached as a tarball
# under $HAVEN_BUILD_CACHE (default /var/cache/haven-build), keyed by the
# package list, so a rebuild after a Haven change only reinstalls Haven's
# packages; downloaded .debs are cached there too.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
variant="" debs="" out=""
usage() { echo "usage: $0 --variant rpi4|virt --debs DIR --out DIR" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --variant) variant=${2:-}; shift 2 ;;
    --debs) debs=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build-image: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$variant" in rpi4|virt) ;; *) echo "build-image: --variant must be rpi4 or virt, not '$variant'" >&2; usage ;; esac
[ -d "$debs" ] || { echo "build-image: --debs '$debs' is not a directory" >&2; exit 2; }
[ -n "$out" ] || usage
[ "$(id -u)" -eq 0 ] || { echo "build-image: run as root (mmdebstrap --mode=root, chroot)" >&2; exit 2; }

shopt -s nullglob
havend_debs=("$debs"/havend_*_arm64.deb) haven_debs=("$debs"/haven_*_arm64.deb)
[ ${#havend_debs[@]} -eq 1 ] || { echo "build-image: need exactly one havend_*_arm64.deb in $debs (found ${#havend_debs[@]})" >&2; exit 2; }
[ ${#haven_debs[@]} -eq 1 ] || { echo "build-image: need exactly one haven_*_arm64.deb in $debs (found ${#haven_debs[@]})" >&2; exit 2; }
shopt -u nullglob
hvver=$(dpkg-deb -f "${havend_debs[0]}" Version)
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=${HAVEN_BUILD_CACHE:-/var/cache/haven-build}
mirror=${HAVEN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache/apt-arm64"
log() { printf '[build-image %s] %s\n' "$(date -u +%T)" "$*" >&2; }

# qemu-user for the arm64 maintainer scripts: binfmt_misc mounted, handler on.
for p in mmdebstrap arch-test qemu-user-static binfmt-support bmap-tools dosfstools mtools e2fsprogs fdisk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { echo "build-image: package $p is missing (tools/setup-deps.sh installs it)" >&2; exit 2; }
done
[ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "build-image: no binfmt handler for aarch64 (qemu-user-static)" >&2; exit 1; }

# --- the Debian root, cached ------------------------------------------------
# Haven's runtime dependencies come from its packages' Depends (names only),
# so the cached root already holds them and dpkg -i needs no network.
deps_of() {
  dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true
}
base_pkgs=(systemd systemd-sysv udev dbus kmod linux-image-arm64 initramfs-tools raspi-firmware
           e2fsprogs dosfstools fdisk util-linux mount procps
           # what Haven's packages depend on today: a dependency outside this list
           # is added below (and rebuilds the cached root once)
           libc6 libglib2.0-0 libsodium23 libsqlite3-0 libgpiod2 libsystemd0 libjson-glib-1.0-0
           libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 gstreamer1.0-plugins-base
           gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-alsa
           # clockoverlay (the test sources) is the pango plugin, in gstreamer1.0-x
           gstreamer1.0-x)
mapfile -t hv_deps < <( { deps_of "${havend_debs[0]}"; deps_of "${haven_debs[0]}"; } | grep -v '^haven' | sort -u)
all_pkgs=$(printf '%s\n' "${base_pkgs[@]}" "${hv_deps[@]}" | sort -u | paste -sd, -)
# The key: the base package list, the mirror, and this script's root-building
# part (below, up to "end of base"). Not Haven's own dependencies: a root
# built before Haven gained one is still used, and the missing package is
# fetched when Haven's packages are installed into the copy (below).
base_recipe=$(sed -n '/^# --- the Debian root/,/^# --- end of base/p' "$0")
key=$(printf '%s\n%s\n%s\n%s\n' "$(printf '%s\n' "${base_pkgs[@]}" | sort -u)" "$mirror" "$base_recipe" \
      "$(cat "$here/initramfs-modules")" | sha256sum | cut -c1-16)
base="$cache/rootfs-arm64-$key"
if [ ! -d "$base" ]; then
  log "building the Debian root (not cached: $base)"
  rm -rf "$base.tmp"
  t0=$(date +%s)
  # MODULES=list: an initramfs of only the modules named in initramfs-modules
  # (the default, MODULES=most, takes ~37 min under qemu-user; this ~30 s).
  # raspi-firmware: CMA=0 (the build host is not a Pi; config.txt is written
  # below anyway). force-confold keeps the files pre-seeded by the hook.
  nice -n 5 mmdebstrap --mode=root --format=directory --arch=arm64 --variant=minbase \
    --components=main,non-free-firmware \
    --include="$all_pkgs" \
    --dpkgopt=force-confold \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --skip=download/empty \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in '$cache/apt-arm64' /var/cache/apt/archives/" \
    --essential-hook='mkdir -p "$1"/etc/initramfs-tools/conf.d "$1"/etc/default "$1"/boot/firmware' \
    --essential-hook="upload '$here/initramfs-modules' /etc/initramfs-tools/modules" \
    --essential-hook='printf "MODULES=list\nCOMPRESS=zstd\n" > "$1"/etc/initramfs-tools/conf.d/haven.conf' \
    --essential-hook='printf "CMA=0\nROOTPART=LABEL=HAVENROOTA\nCONSOLES=\"serial0,115200 tty1\"\n" > "$1"/etc/default/raspi-firmware' \
    --customize-hook="sync-out /var/cache/apt/archives '$cache/apt-arm64'" \
    bookworm "$base.tmp" "$mirror" >&2
  mv "$base.tmp" "$base"
  log "Debian root built in $(( $(date +%s) - t0 )) s"
fi
# Older roots are stale; one whose build was interrupted may still have
# mmdebstrap's mounts (proc, sys, dev/pts): unmount them first, and never
# cross into another filesystem while deleting.
for old in "$cache"/rootfs-arm64-*; do
  [ -e "$old" ] && [ "$old" != "$base" ] || continue
  awk -v r="$old/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf --one-file-system "$old" || log "warning: could not remove the stale root $old"
done
# --- end of base -------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/var/tmp}/haven-image.XXXXXX")
cleanup() {
  for m in proc sys dev; do mountpoint -q "$work/root/$m" && umount -l "$work/root/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
root="$work/root"
mkdir -p "$root"
cp -a "$base/." "$root/"

# --- Haven's packages --------------------------------------------------------
log "installing Haven $hvver"
mkdir -p "$root/tmp/haven-debs"
cp "${havend_debs[0]}" "${haven_debs[0]}" "$root/tmp/haven-debs/"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
if ! nice -n 5 chroot "$root" dpkg -i "/tmp/haven-debs/$(basename "${havend_debs[0]}")" \
       "/tmp/haven-debs/$(basename "${haven_debs[0]}")" >&2; then
  # a dependency the cached root lacks: from the mirror, into this copy only
  log "Haven's packages need packages the cached root lacks: fetching them"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf.haven-build"
  mv "$root/etc/resolv.conf" "$root/etc/resolv.conf.orig" 2>/dev/null || true
  cp "$root/etc/resolv.conf.haven-build" "$root/etc/resolv.conf"
  nice -n 5 chroot "$root" apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive nice -n 5 chroot "$root" apt-get -q -y --no-install-recommends -f install >&2
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root/etc/resolv.conf" "$root/etc/resolv.conf.haven-build"
  mv "$root/etc/resolv.conf.orig" "$root/etc/resolv.conf" 2>/dev/null || true
  chroot "$root" dpkg -s havend haven >/dev/null || { echo "build-image: Haven's packages did not install" >&2; exit 1; }
fi
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root/tmp/haven-debs"
packages_json=$(chroot "$root" dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n' |
  python3 -c 'import json,sys; print(json.dumps([dict(zip(("name","version","arch"), l.rstrip("\n").split("\t"))) for l in sys.stdin if l.strip()]))')
umount "$root/proc" "$root/dev"

# --- the appliance's own files -----------------------------------------------
cp -a "$here/rootfs/." "$root/"
chown -R 0:0 "$root/etc/systemd/system" "$root/usr/lib/haven-image" 2>/dev/null || true
if [ "$variant" = virt ]; then
  install -m 0644 "$here/../boards/sim.board" "$root/usr/share/haven/boards/sim.board"
fi
hv_uid=$(awk -F: '$1 == "haven" {print $3}' "$root/etc/passwd")
hv_gid=$(awk -F: '$1 == "haven" {print $3}' "$root/etc/group")
[ -n "$hv_uid" ] && [ -n "$hv_gid" ] || { echo "build-image: the havend package made no haven user" >&2; exit 1; }
imgver="$hvver+$(date -u +%Y%m%d)"
echo "$imgver" > "$root/etc/haven-image-version"
echo haven > "$root/etc/hostname"
# the config partition: root writes (first boot: enrollment.conf), group haven reads
cat > "$root/etc/fstab" <<FSTAB
# Haven board image: read-only root, state on the data partition (docs/ARCHITECTURE.md)
LABEL=HAVENROOTA  /               ext4   ro,noatime                                   0 1
LABEL=HAVENBOOT   /boot/firmware  vfat   ro,nofail,umask=0022                         0 2
LABEL=HAVENCFG    /etc/haven      vfat   rw,nodev,nosuid,noexec,uid=0,gid=$hv_gid,fmask=0137,dmask=0027 0 2
LABEL=HAVENDATA   /data           ext4   rw,nodev,nosuid,noexec,noatime               0 2
/data/var-lib-haven /var/lib/haven none  bind                                         0 0
/data/srv-haven   /srv/haven      none   bind                                         0 0
tmpfs             /tmp            tmpfs  nodev,nosuid,mode=1777                       0 0
tmpfs             /var/tmp        tmpfs  nodev,nosuid,mode=1777                       0 0
tmpfs             /var/log        tmpfs  nodev,nosuid,noexec,mode=0755                0 0
tmpfs             /var/cache      tmpfs  nodev,nosuid,noexec,mode=0755                0 0
tmpfs             /var/lib/systemd tmpfs nodev,nosuid,noexec,mode=0755                0 0
FSTAB
mkdir -p "$root/data" "$root/etc/haven" "$root/var/lib/haven" "$root/srv/haven" "$root/boot/firmware"
# No secret and no per-board identity in the image: machine-id uninitialized
# (systemd makes a transient one on the read-only root), no ssh server, root locked.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_* "$root/var/lib/haven/device.key"*
chroot "$root" passwd -l root >/dev/null
chroot "$root" systemctl enable haven-firstboot.service havend.service >&2
chroot "$root" systemctl mask systemd-random-seed.service systemd-machine-id-commit.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer 2>/dev/null >&2 || true

# --- the boot partition --------------------------------------------------------
kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
boot="$work/boot"; mkdir -p "$boot"
cp -r "$root/boot/firmware/." "$boot/" 2>/dev/null || true
rm -f "$boot"/vmlinuz-* "$boot"/initrd.img-*
cp "$root/boot/vmlinuz-$kver" "$boot/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$boot/initrd.img"
case "$variant" in
  rpi4) console="console=serial0,115200 console=tty1" ;;
  virt) console="console=ttyAMA0" ;;
esac
echo "$console root=PARTUUID=__ROOTA__ rootfstype=ext4 ro rootwait fsck.repair=yes" > "$boot/cmdline.txt"
if [ -f "$boot/config.txt" ]; then
  # raspi-firmware named the kernel by version; this partition has a fixed name
  sed -i -e "s/^kernel=.*/kernel=vmlinuz/" -e "s/^initramfs .*/initramfs initrd.img followkernel/" "$boot/config.txt"
fi
if [ "$variant" = rpi4 ]; then
  for f in bcm2711-rpi-4-b.dtb start4.elf fixup4.dat config.txt; do
    [ -f "$boot/$f" ] || { echo "build-image: raspi-firmware left no $f for the Pi 4" >&2; exit 1; }
  done
fi
rm -rf "$root/boot/firmware/"*

# --- the partitions and the disk ----------------------------------------------
log "making filesystems"
uuid_a=$(cat /proc/sys/kernel/random/uuid)
sed -i "s/__ROOTA__/$uuid_a/" "$boot/cmdline.txt"
rm -f "$work/boot.img"
mkfs.vfat -n HAVENBOOT -C "$work/boot.img" $((256 * 1024)) >/dev/null
mcopy -s -i "$work/boot.img" "$boot"/* ::/
mkfs.vfat -n HAVENCFG -C "$work/cfg.img" $((32 * 1024)) >/dev/null
# a slot: the root's size plus a quarter for updates, in 256 MiB steps, at least 1.5 GiB
used=$(du -sxm "$root" | cut -f1)
slot=$(( ( (used * 5 / 4 + 255) / 256 ) * 256 )); [ "$slot" -ge 1536 ] || slot=1536
mkfs.ext4 -q -L HAVENROOTA -E root_owner=0:0 -d "$root" "$work/rootA.img" ${slot}M
mkfs.ext4 -q -L HAVENROOTB "$work/rootB.img" ${slot}M
data="$work/data"; mkdir -p "$data/var-lib-haven" "$data/srv-haven"
chown "$hv_uid:$hv_gid" "$data/var-lib-haven" "$data/srv-haven"; chmod 0750 "$data/var-lib-haven" "$data/srv-haven"
mkfs.ext4 -q -L HAVENDATA -E root_owner=0:0 -d "$data" "$work/data.img" 256M

img="$out/haven-$variant-$hvver.img"
rm -f "$img" "$img".*
# 1 MiB alignment; sizes in MiB; GPT with the backup header at the end (the
# first boot moves it when it grows the data partition to the card's size).
total=$((1 + 256 + 32 + slot + slot + 256 + 1))
truncate -s ${total}M "$img"
sfdisk -q "$img" <<PARTS
label: gpt
start=1MiB, size=256MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=HAVENBOOT
size=32MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=HAVENCFG
size=${slot}MiB, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name=HAVENROOTA, uuid=$uuid_a
size=${slot}MiB, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name=HAVENROOTB
size=256MiB, type=0FC63DAF-8483-4772-8E47-7D3F74E4E2FF, name=HAVENDATA
PARTS
off=1
for p in boot:256 cfg:32 rootA:$slot rootB:$slot data:256; do
  f=${p%%:*} sz=${p##*:}
  dd if="$work/$f.img" of="$img" bs=1M seek=$off conv=notrunc,sparse status=none
  off=$((off + sz))
done

log "bmap, checksum, manifest"
bmaptool -q create -o "$img.bmap" "$img"
sha=$(sha256sum "$img" | cut -d' ' -f1)
echo "$sha  $(basename "$img")" > "$img.sha256"
python3 - "$img" "$sha" "$variant" "$hvver" "$imgver" "$packages_json" > "$img.manifest.json" <<'PY'
import json, os, sys, datetime
img, sha, variant, hvver, imgver, pkgs = sys.argv[1:]
print(json.dumps({"format": 1, "image": os.path.basename(img), "sha256": sha,
                  "size": os.path.getsize(img), "variant": variant, "haven_version": hvver,
                  "image_version": imgver,
                  "built": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "packages": json.loads(pkgs)}, indent=1))
PY
log "done: $img ($(du -h --apparent-size "$img" | cut -f1), $(du -h "$img" | cut -f1) mapped)"
