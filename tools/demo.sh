#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The appliance demo: install what is needed, build, create a custodian key,
# run havend on the simulated board with test sources, press record, record
# about 10 s with one marker, hold stop, then verify and export the session.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash tools/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAVEN_SANITIZE=OFF >/dev/null
cmake --build build -j2 >/dev/null

work=${HAVEN_DEMO_DIR:-$(mktemp -d /tmp/haven-demo.XXXXXX)}
mkdir -p "$work"
haven=$top/build/tools/haven
export HAVEN_SOCKET=$work/control.sock

say() { printf '\n== %s\n' "$*"; }
state() { "$haven" status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true; }
# Generous: on a loaded machine the first sealed chunk (what RECORDING waits
# for) can take many seconds behind the software H.264 encoder's start.
wait_state() {
  local deadline=$((SECONDS + 90))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(state)" = "$1" ] && return 0
    sleep 0.1
  done
  echo "demo: havend did not reach $1" >&2
  "$haven" status >&2 || true
  return 1
}

say "custodian key"
[ -f "$work/custodian.key" ] || "$haven" keygen --out "$work/custodian"

cat > "$work/haven.conf" <<CONF
[device]
room=Demo interview room
board=$top/board/boards/sim.board
key=$work/state/device.key
state-dir=$work/state
control-socket=$work/control.sock

[storage]
roots=$work/storage
min-free-minutes=10

[custodians]
recipients=$work/custodian.pub

[video]
cameras=2
camera1=test:ball
camera2=test:smpte
CONF

say "provision the device: its signing key (havend never creates one by itself)"
[ -f "$work/state/device.key" ] || "$top/build/firmware/havend" --config "$work/haven.conf" --init-device \
  --user "$(id -un)"
mkdir -p "$work/storage"
"$top/build/firmware/havend" --config "$work/haven.conf" --check-config --user "$(id -un)"

say "starting havend on the simulated board (log: $work/havend.log)"
"$top/build/firmware/havend" --config "$work/haven.conf" >"$work/havend.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
wait_state IDLE
"$haven" status

say "press record"
"$haven" sim press record >/dev/null; "$haven" sim release record >/dev/null
wait_state RECORDING
"$haven" sim lights
sleep 5
say "marker"
"$haven" sim press marker >/dev/null; "$haven" sim release marker >/dev/null
sleep 5
say "hold record for 2.5 s to stop"
"$haven" sim press record >/dev/null; sleep 2.5; "$haven" sim release record >/dev/null
wait_state IDLE
"$haven" status
# the fingerprint the investigator writes on the paper record
fingerprint=$("$haven" status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_session"]["fingerprint"])' 2>/dev/null || true)
kill -TERM $daemon; wait $daemon || true
trap - EXIT

session=$(ls -d "$work"/storage/S* | tail -n 1)
say "verify (no decryption key needed; the device pinned by its public key)"
"$haven" verify --device-key "$work/state/device.key.pub" --from-sequence 1 "$work/storage"
say "export (custodian key; device and fingerprint pinned)"
rm -rf "$work/export"
"$haven" export --identity "$work/custodian.key" --device-key "$work/state/device.key.pub" \
  ${fingerprint:+--expect "$fingerprint"} --out "$work/export" "$session"
