# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 5: green means "a press now will record". The camera (vivid) and
# then the sound card (snd-aloop) are unplugged while idle: within 5 s the
# status names what is missing and the lines read back show the fault
# pattern; plugged back, green within 5 s; then a session records.
source "$(dirname "$0")/guest-lib.sh"
LIMIT_MS=5000
# Latencies are read from the lines themselves with shell builtins (no fork
# per sample): what the room sees, measured even when the guest is slow.
now_ms() { local t=${EPOCHREALTIME/./}; NOW=$((t / 1000)); }
line() { read -r LINE < "$sim/sim_gpio$1/value"; }
# a 20 ms pause without a fork: a read that times out on a FIFO nobody writes
mkfifo /run/hv/never && exec {never}<> /run/hv/never
pause() { read -r -t 0.02 -u "$never" _ || true; }

# the green line reaches $1 (0 or 1) within $2 ms of $3 (a now_ms value)
wait_green_line() {
  while :; do
    line 2; now_ms
    [ "$LINE" = "$1" ] && { echo "  (green $1 after $((NOW - $3)) ms)"; return 0; }
    [ $((NOW - $3)) -gt "$2" ] && break
    pause
  done
  echo "timed out after $2 ms waiting for green $1 (lights $(lights)); status:"; "$haven" status || true
  return 1
}
# the status text matches the regex (set with the lights, so no time limit of its own)
status_says() {
  for _ in $(seq 1 50); do
    "$haven" status 2>/dev/null | grep -Eq "$1" && return 0
    sleep 0.2
  done
  echo "status never said '$1':"; "$haven" status || true
  return 1
}
# over 4.5 s (two code cycles and more): green never on, amber both on and off
fault_pattern() {
  local green=0 on=0 off=0 n=0 end
  now_ms; end=$((NOW + 4500))
  while [ "$NOW" -lt $end ]; do
    line 2; [ "$LINE" = 1 ] && green=1
    line 4; if [ "$LINE" = 1 ]; then on=1; else off=1; fi
    n=$((n + 1)); pause; now_ms
  done
  echo "  ($n samples: green seen $green, amber on $on, amber off $off)"
  [ $green = 0 ] && [ $on = 1 ] && [ $off = 1 ]
}
# unload a module; havend's probe may hold its node for an instant
unplug() {
  for _ in $(seq 1 20); do rmmod "$1" 2>/dev/null && return 0; sleep 0.1; done
  rmmod "$1"
}
tone_start() {
  gst-launch-1.0 -q audiotestsrc is-live=true wave=sine freq=440 volume=0.5 ! \
    audio/x-raw,rate=48000,channels=1 ! alsasink device=hw:Loopback,0,0 >> "$out/tone.log" 2>&1 &
  tone=$!
}

sim_setup
real_sources
start_havend
check "havend comes up IDLE with vivid and snd-aloop" wait_state IDLE 120
now_ms; check "green with every source present (got $(lights))" wait_green_line 1 30000 $NOW
"$haven" status --json | sed -n 's/.*"ready_probe_ms" *: *\([0-9.]*\).*/  (readiness probe with vivid + snd-aloop: \1 ms)/p'

unplug vivid; now_ms; t=$NOW
check "camera unplugged: green off within 5 s" wait_green_line 0 $LIMIT_MS $t
check "camera unplugged: status names it" status_says 'source: camera 1 \(/dev/video0\): absent'
check "camera unplugged: FAULT" test "$(state)" = FAULT
check "camera unplugged: no green, amber pulses the fault code" fault_pattern
vmod vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0; now_ms; t=$NOW
check "camera plugged back: green within 5 s" wait_green_line 1 $LIMIT_MS $t
check "camera plugged back: IDLE, no fault" sh -c "'$haven' status | grep -q '^state: *IDLE' && ! '$haven' status | grep -q '^fault:'"

kill "$tone"; wait "$tone" 2>/dev/null
unplug snd-aloop; now_ms; t=$NOW
check "sound card unplugged: green off within 5 s" wait_green_line 0 $LIMIT_MS $t
check "sound card unplugged: status names the microphone" \
  status_says "source: microphone \(hw:Loopback,1,0\): sound card 'Loopback' absent"
check "sound card unplugged: no green, amber pulses the fault code" fault_pattern
vmod snd-aloop pcm_substreams=1; now_ms; t=$NOW
check "sound card plugged back: green within 5 s" wait_green_line 1 $LIMIT_MS $t

tone_start
sleep 1
"$haven" start >/dev/null
check "green was honest: a start records from both" wait_state RECORDING 300
sleep 3
"$haven" stop >/dev/null
check "stops" wait_state IDLE 120
kill "$tone" 2>/dev/null
kill -TERM "$havend_pid"; wait "$havend_pid"
check "not-ready journaled once per unplug" test "$(grep -c 'fault (source): camera 1' "$out/havend.log")" = 1
session=$(ls -d /run/hv/vault/S* | head -n 1)
check "session verifies COMPLETE" sh -c "'$haven' verify '$session' | grep -q ^COMPLETE"
mkdir -p "$out/sessions" && cp -r "$session" "$out/sessions/"
exit $failures
