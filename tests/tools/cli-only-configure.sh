#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Building the custodians' tool must not need libgpiod or libsystemd: with
# their pkg-config files hidden (pkg-config is asked to be sure), a
# -DHAVEN_CLI_ONLY=ON configure succeeds and has a haven target and no havend.
# What the built haven links is checked by check-needed.sh; this checks that
# the build system asks for neither.
# usage: cli-only-configure.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/pc"
IFS=: read -r -a dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*.pc; do
    [ -e "$f" ] || continue
    case $(basename "$f") in
      libgpiod*.pc | libsystemd.pc) continue ;;
    esac
    [ -e "$work/pc/$(basename "$f")" ] || ln -s "$f" "$work/pc/"
  done
done
export PKG_CONFIG_LIBDIR=$work/pc PKG_CONFIG_PATH=
if pkg-config --exists libgpiod || pkg-config --exists libsystemd; then
  echo "could not hide libgpiod and libsystemd from pkg-config" >&2
  exit 2
fi
if ! cmake -S "$src" -B "$work/cli" -DHAVEN_CLI_ONLY=ON >"$work/cli.log" 2>&1; then
  echo "HAVEN_CLI_ONLY configure failed without libgpiod and libsystemd:" >&2
  cat "$work/cli.log" >&2
  exit 1
fi
targets=$(cmake --build "$work/cli" --target help)
if ! grep -qx '\.\.\. haven' <<<"$targets" || grep -qx '\.\.\. havend' <<<"$targets"; then
  echo "HAVEN_CLI_ONLY configure: expected a haven target and no havend, got:" >&2
  printf '%s\n' "$targets" >&2
  exit 1
fi
echo "HAVEN_CLI_ONLY configures without libgpiod and libsystemd"
