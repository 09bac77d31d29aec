# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for scenarios running inside the virtual board (sourced, bash).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${HAVEN_BUILD:-$repo/build}
haven=$build/tools/haven
havend=$build/firmware/havend
out=/mnt
export HAVEN_SOCKET=/run/hv/haven/control.sock
export ASAN_OPTIONS=detect_leaks=0   # leaks are the host suites' business; keep the guest fast
# GStreamer's registry: the host built it (vm.sh run); a writable copy, or
# every capture process would rescan every plugin (the root is read-only)
mkdir -p /run/hv
[ -f "${HAVEN_GST_REGISTRY:-}" ] && cp "$HAVEN_GST_REGISTRY" /run/hv/gstreamer-registry.bin
export GST_REGISTRY=/run/hv/gstreamer-registry.bin
failures=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

vmod() { /usr/sbin/modprobe -d "$HAVEN_VM_ROOT" -S "$HAVEN_VM_ABI" "$@"; }

# gpio-sim: one bank "haven-sim" with the six signal names.
sim_setup() {
  vmod configfs
  insmod "$HAVEN_GPIO_SIM"
  mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
  local c=/sys/kernel/config/gpio-sim/haven names=(record marker led-ready led-recording led-fault door-sign)
  mkdir -p "$c/bank0"
  echo haven-sim > "$c/bank0/label"
  echo 8 > "$c/bank0/num_lines"
  for i in "${!names[@]}"; do
    mkdir -p "$c/bank0/line$i"
    echo "${names[$i]}" > "$c/bank0/line$i/name"
  done
  echo 1 > "$c/live"
  sim=/sys/devices/platform/$(cat "$c/dev_name")/$(cat "$c/bank0/chip_name")
  sim_pull 0 pull-up; sim_pull 1 pull-up   # buttons released
}
sim_pull() { echo "$2" > "$sim/sim_gpio$1/pull"; }
sim_val() { cat "$sim/sim_gpio$1/value"; }
# "ready recording fault door" as 0/1 digits, read from the lines themselves
lights() { echo "$(sim_val 2)$(sim_val 3)$(sim_val 4)$(sim_val 5)"; }

write_config() {  # $1 storage root, rest: extra config lines
  local root=$1; shift
  mkdir -p /run/hv/haven
  [ -f /run/hv/haven/cust.pub ] || "$haven" keygen --out /run/hv/haven/cust >/dev/null
  cat > /run/hv/haven/haven.conf <<CONF
[device]
room=Virtual board
board=$repo/board/boards/vm-gpio-sim.board
key=${HAVEN_STATE:-/run/hv/haven/state}/device.key
state-dir=${HAVEN_STATE:-/run/hv/haven/state}
control-socket=/run/hv/haven/control.sock
[storage]
roots=$root
min-free-minutes=1
warn-minutes=0
[custodians]
recipients=/run/hv/haven/cust.pub
$(printf '%s\n' "$@")
CONF
}

state() { "$haven" status --json 2>/dev/null | sed -n 's/.*"state" *: *"\([A-Z]*\)".*/\1/p'; }
wait_state() {  # state timeout_s
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    [ "$(state)" = "$1" ] && return 0
    sleep 0.2
  done
  echo "timed out waiting for $1; status:"; "$haven" status || true
  return 1
}
start_havend() {
  # provisioned once (the power-cut's second boot finds its key on the disk):
  # havend never creates a device key by itself
  [ -f "${HAVEN_STATE:-/run/hv/haven/state}/device.key" ] ||
    "$havend" --config /run/hv/haven/haven.conf --init-device --user "$(id -un)" >> "$out/havend.log" 2>&1
  "$havend" --config /run/hv/haven/haven.conf >> "$out/havend.log" 2>&1 &
  havend_pid=$!
  # havend warms the capture engine once (haven-capture --prepare); slow under
  # an emulated CPU, and a session's start should not pay it
  local end=$((SECONDS + 300))
  until "$haven" status --json 2>/dev/null | grep -q '"capture_engine" *: *"ready"'; do
    [ $SECONDS -lt $end ] || { echo "capture engine not ready after 300 s"; break; }
    kill -0 "$havend_pid" 2>/dev/null || break
    sleep 0.5
  done
}

# vivid (one progressive webcam input) and snd-aloop with a 440 Hz tone played
# into the loopback; havend records from them. Sets $tone to the player's pid.
real_sources() {
  vmod vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0
  vmod snd-aloop pcm_substreams=1
  sleep 1
  gst-launch-1.0 -q audiotestsrc is-live=true wave=sine freq=440 volume=0.5 ! \
    audio/x-raw,rate=48000,channels=1 ! alsasink device=hw:Loopback,0,0 >> "$out/tone.log" 2>&1 &
  tone=$!
  write_config /run/hv/vault "[video]" "camera1=v4l2:/dev/video0" "width=320" "height=240" "fps=10" \
    "bitrate-kbps=300" "[audio]" "microphone=alsa:hw:Loopback,1,0" "silence-seconds=3"
}

# The power-cut boots: gpio-sim, the ext4 virtio disk holding both the vault and
# havend's state (device key, ledger), so they survive the cut.
disk_setup() {
  sim_setup
  vmod ext4
  mkdir -p /run/hv/disk && mount -t ext4 /dev/vda /run/hv/disk
  export HAVEN_STATE=/run/hv/disk/state
  write_config /run/hv/disk/vault "[video]" "camera1=test" "width=320" "height=240" "fps=10" "bitrate-kbps=300"
}
