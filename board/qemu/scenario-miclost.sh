# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 4: the microphone goes quiet mid-session (the loopback's playback
# stream stops): fault light and event; video keeps recording; verify clean.
source "$(dirname "$0")/guest-lib.sh"
sim_setup
real_sources
start_havend
check "havend comes up IDLE" wait_state IDLE 120
"$haven" start >/dev/null
check "recording with the microphone live" wait_state RECORDING 120
sleep 2
kill "$tone"; wait "$tone" 2>/dev/null
fault_seen=0
for _ in $(seq 1 100); do   # up to 20 s: silence-seconds plus TCG slowness
  [ "$(sim_val 4)" = 1 ] && { fault_seen=1; break; }
  sleep 0.2
done
check "amber fault light after the microphone went quiet" test $fault_seen = 1
check "still RECORDING: video goes on" test "$(state)" = RECORDING
check "status names the microphone" sh -c "'$haven' status | grep -q 'fault:.*microphone'"
sleep 3
"$haven" stop >/dev/null
check "stops" wait_state IDLE 120
kill -TERM "$havend_pid"; wait "$havend_pid"
session=$(ls -d /run/hv/vault/S* | head -n 1)
check "session verifies" sh -c "'$haven' verify '$session' | grep -q ^COMPLETE"
check "mic-silent event in the chain" sh -c "'$haven' info '$session' | grep -q mic-silent"
mkdir -p "$out/sessions" && cp -r "$session" "$out/sessions/"
exit $failures
