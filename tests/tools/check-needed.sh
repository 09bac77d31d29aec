#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What a binary links is part of the architecture: the custodians' tool must
# not need the daemon's hardware and service libraries, the vault nothing but
# GLib and libsodium. Fails when the binary's dynamic section NEEDs a library
# whose name matches FORBIDDEN (an extended regular expression), or when
# nothing can be read from it (so the check cannot pass by reading nothing).
# usage: check-needed.sh BINARY FORBIDDEN
set -euo pipefail
bin=$1 forbidden=$2
if ! command -v readelf >/dev/null; then
  echo "readelf (binutils) not found" >&2
  exit 2
fi
needed=$(readelf -d -W "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
if ! grep -q '^libglib-2\.0\.so' <<<"$needed"; then
  echo "$bin: no libglib-2.0 among its NEEDED libraries; cannot read its dynamic section?" >&2
  printf '%s\n' "$needed" >&2
  exit 2
fi
bad=$(grep -E -- "$forbidden" <<<"$needed" || true)
if [ -n "$bad" ]; then
  echo "$bin needs libraries it must not: $(tr '\n' ' ' <<<"$bad")(forbidden: $forbidden)" >&2
  exit 1
fi
echo "$bin needs: $(tr '\n' ' ' <<<"$needed")"
echo "none of them matches $forbidden"
