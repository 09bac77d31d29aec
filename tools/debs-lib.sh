# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by tools/build-debs.sh and tests/package: cached Debian 12 roots made
# with mmdebstrap. Source it; needs root (chroot, mounts).
#
# Roots are cached as tarballs under $HAVEN_BUILD_CACHE (default
# /var/cache/haven-build), keyed by what decides their contents, so a rerun
# only unpacks one (seconds). The host's Debian apt sources are used, inside
# the roots too.

HV_CACHE=${HAVEN_BUILD_CACHE:-/var/cache/haven-build}
HV_SUITE=bookworm

hv_log() { printf '%s: %s\n' "${HV_PROG:-haven}" "$*" >&2; }
hv_die() { hv_log "$*"; exit 1; }

# The host's apt sources for Debian (deb822 or one-line), without third-party
# repositories whose keys the roots lack.
hv_host_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -q 'debian' "$f" || continue
    case "$f" in *google*|*nodesource*) continue ;; esac
    printf '%s\n' "$f"
  done
}

# One file with the host's Debian sources (mmdebstrap takes it as the mirror).
# One format only: apt reads a file as deb822 or as one-line by its name, so
# when the host has deb822 .sources files (Debian 12's default) those are used
# and one-line lists beside them are left out (a root made by mmdebstrap has
# both: its own sources.list and the host's debian.sources).
hv_sources_file() {
  local out=$1 f want=list
  : > "$out"
  hv_host_sources | grep -q '\.sources$' && want=sources
  for f in $(hv_host_sources); do
    case "$f" in
      *.sources) [ $want = sources ] && { cat "$f" >> "$out"; printf '\n' >> "$out"; } ;;
      *) [ $want = list ] && { grep -E '^[[:space:]]*deb[[:space:]]' "$f" >> "$out" || true; } ;;
    esac
  done
  [ -s "$out" ] || hv_die "no Debian apt sources on this host (/etc/apt/sources.list*)"
  mv "$out" "$out.$want" && printf '%s\n' "$out.$want"
}

# hv_root_tarball NAME KEYTEXT MMDEBSTRAP-ARGS... : prints the path of the
# cached tarball for NAME, creating it with mmdebstrap when absent. KEYTEXT
# (with the host's sources) keys the cache.
hv_root_tarball() {
  local name=$1 keytext=$2; shift 2
  local tmp key tar srcs
  mkdir -p "$HV_CACHE"
  tmp=$(mktemp -d "$HV_CACHE/.tmp.XXXXXX")
  srcs=$(hv_sources_file "$tmp/host")
  key=$({ printf '%s\n' "$keytext" "$*"; cat "$srcs"; } | sha256sum | cut -c1-16)
  tar="$HV_CACHE/$name-$key.tar"
  if [ ! -f "$tar" ]; then
    hv_log "preparing $name (cached as $tar)"
    nice -n 10 mmdebstrap --quiet --skip=output/mknod "$@" "$HV_SUITE" "$tmp/root.tar" "$srcs" \
      > "$tmp/mmdebstrap.log" 2>&1 \
      || { tail -n 40 "$tmp/mmdebstrap.log" >&2; rm -rf "$tmp"; hv_die "mmdebstrap failed for $name"; }
    mv "$tmp/root.tar" "$tar"
    # older tarballs of this root are stale
    find "$HV_CACHE" -maxdepth 1 -name "$name-*.tar" ! -name "$(basename "$tar")" -delete
  fi
  rm -rf "$tmp"
  printf '%s\n' "$tar"
}

# hv_root_unpack TARBALL DIR: a fresh root in DIR, ready for chroot (proc,
# sys, dev bound; the host's resolv.conf). Undo with hv_root_umount DIR.
hv_root_unpack() {
  local tar=$1 dir=$2
  mkdir -p "$dir"
  tar -C "$dir" -xf "$tar"
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  mount -t proc proc "$dir/proc"
  mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev"
  mount -t sysfs sysfs "$dir/sys"
  # Packages fetched once serve every root: a shared archive cache, seeded
  # (hard links) from the host's.
  if [ ! -d "$HV_CACHE/apt-archives/partial" ]; then
    mkdir -p "$HV_CACHE/apt-archives/partial"
    cp -l /var/cache/apt/archives/*.deb "$HV_CACHE/apt-archives/" 2>/dev/null ||
      cp /var/cache/apt/archives/*.deb "$HV_CACHE/apt-archives/" 2>/dev/null || true
  fi
  mkdir -p "$dir/var/cache/apt/archives"
  mount --bind "$HV_CACHE/apt-archives" "$dir/var/cache/apt/archives"
}

hv_root_umount() {
  local dir=$1 m
  [ -d "$dir" ] || return 0
  # deepest first
  for m in $(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# binfmt_misc must be mounted for qemu-user-static's aarch64 handler (its F
# flag makes it work inside a chroot without copying the emulator in).
hv_binfmt_aarch64() {
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    command -v update-binfmts >/dev/null || hv_die "update-binfmts missing: install binfmt-support qemu-user-static"
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || hv_die "no binfmt_misc handler for aarch64 (qemu-user-static)"
}

# The cross-build root for arm64: buildd variant, arm64 added, crossbuild
# essentials and the :arm64 Build-Depends of board/debian/control. Keyed by
# that file's source paragraph (the Build-Depends). Prints the tarball path.
hv_cross_tarball() {
  local top=$1 ctl
  ctl="$top/board/debian/control"
  hv_root_tarball buildd-$HV_SUITE-arm64 "$(sed '/^$/q' "$ctl")" \
    --variant=buildd --architectures=amd64,arm64 --include=crossbuild-essential-arm64 \
    --customize-hook="mkdir -p \"\$1/tmp/hv-bd/debian\"" \
    --customize-hook="copy-in $ctl /tmp/hv-bd/debian" \
    --customize-hook="printf 'haven (0) unstable; urgency=low\n\n  * build-dep\n\n -- x <x@x>  Thu, 01 Jan 1970 00:00:00 +0000\n' > \"\$1/tmp/hv-bd/debian/changelog\"" \
    --customize-hook="chroot \"\$1\" sh -c 'cd /tmp/hv-bd && DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends build-dep -a arm64 ./' >&2" \
    --customize-hook="rm -rf \"\$1/tmp/hv-bd\""
}

# hv_debs_cached TOP ARCH : prints a directory holding the packages of the
# tree at TOP for ARCH, built with tools/build-debs.sh when the cache has none
# for this content. Keyed by the content of every file git sees except
# tests/ (what goes into the packages), so the package and image labels share
# one arm64 build, and a rerun on unchanged sources builds nothing.
hv_debs_cached() {
  local top=$1 arch=$2 key dir
  mkdir -p "$HV_CACHE"
  key=$(cd "$top" && git ls-files --cached --others --exclude-standard | grep -v '^tests/' |
        while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done > "$HV_CACHE/.debs-files.$$" &&
        paste -d' ' - <(git hash-object --stdin-paths < "$HV_CACHE/.debs-files.$$") < "$HV_CACHE/.debs-files.$$" |
        sha256sum | cut -c1-16)
  rm -f "$HV_CACHE/.debs-files.$$"
  [ -n "$key" ] || return 1
  dir=$HV_CACHE/debs-$arch/$key
  if ! ls "$dir"/havend_*_"$arch".deb >/dev/null 2>&1; then
    rm -rf "$dir.tmp"
    "$top/tools/build-debs.sh" --arch "$arch" --out "$dir.tmp" >&2 || return 1
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    # keep the newest few builds only
    ls -1dt "$HV_CACHE/debs-$arch"/* 2>/dev/null | tail -n +4 | xargs -r rm -rf
  else
    hv_log "$arch packages of this source (content $key) from the cache: $dir"
  fi
  printf '%s\n' "$dir"
}
