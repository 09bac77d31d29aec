# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 5: green means "a press now will record". The camera (vivid) and
# then the sound card (snd-aloop) are unplugged while idle: within 5 s the
# status names what is missing and the lines read back show the fault
# pattern; plugged back, green within 5 s; then a session records.
source "$(dirname "$0")/guest-lib.sh"
LIMIT_MS=5000
ms() { date +%s%3N; }

# the status text matches the regex within $2 ms; prints how long it took
wait_status() {
  local t0; t0=$(ms)
  while [ $(( $(ms) - t0 )) -le "$2" ]; do
    if "$haven" status 2>/dev/null | grep -Eq "$1"; then
      echo "  ('$1' after $(( $(ms) - t0 )) ms)"
      return 0
    fi
    sleep 0.1
  done
  echo "timed out after $2 ms waiting for '$1'; status:"; "$haven" status || true
  return 1
}
# IDLE and the green light on, read back from the line, within $1 ms
wait_green() {
  local t0; t0=$(ms)
  while [ $(( $(ms) - t0 )) -le "$1" ]; do
    if [ "$(lights)" = 1000 ] && [ "$(state)" = IDLE ]; then
      echo "  (green after $(( $(ms) - t0 )) ms)"
      return 0
    fi
    sleep 0.1
  done
  echo "timed out after $1 ms waiting for green (lights $(lights)); status:"; "$haven" status || true
  return 1
}
# over 2.5 s (one code cycle and more): green never on, amber both on and off
fault_pattern() {
  local green=0 on=0 off=0 l end=$(( $(ms) + 2500 ))
  while [ "$(ms)" -lt $end ]; do
    l=$(lights)
    [ "${l:0:1}" = 1 ] && green=1
    if [ "${l:2:1}" = 1 ]; then on=1; else off=1; fi
    sleep 0.03
  done
  echo "  (green seen $green, amber on $on, amber off $off)"
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
check "green with every source present (got $(lights))" wait_green 10000
"$haven" status --json | sed -n 's/.*"ready_probe_ms" *: *\([0-9.]*\).*/  (readiness probe with vivid + snd-aloop: \1 ms)/p'

unplug vivid
check "camera unplugged: status names it within 5 s" wait_status 'source: camera 1 \(/dev/video0\): absent' $LIMIT_MS
check "camera unplugged: FAULT" test "$(state)" = FAULT
check "camera unplugged: no green, amber pulses the fault code" fault_pattern
vmod vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0
check "camera plugged back: green within 5 s" wait_green $LIMIT_MS

kill "$tone"; wait "$tone" 2>/dev/null
unplug snd-aloop
check "sound card unplugged: status names the microphone within 5 s" \
  wait_status "source: microphone \(hw:Loopback,1,0\): sound card 'Loopback' absent" $LIMIT_MS
check "sound card unplugged: no green, amber pulses the fault code" fault_pattern
vmod snd-aloop pcm_substreams=1
check "sound card plugged back: green within 5 s" wait_green $LIMIT_MS

tone_start
"$haven" start >/dev/null
check "green was honest: a start records from both" wait_state RECORDING 120
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
