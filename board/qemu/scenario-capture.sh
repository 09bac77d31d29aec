# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 2: real capture. v4l2src from vivid, alsasrc from snd-aloop with a
# tone played into the loopback; the session is verified and exported on the host.
source "$(dirname "$0")/guest-lib.sh"
sim_setup
real_sources
check "vivid camera present" test -c /dev/video0
check "loopback sound card present" grep -q Loopback /proc/asound/cards
start_havend
check "havend comes up IDLE" wait_state IDLE 120
"$haven" start >/dev/null
# RECORDING means: vivid frames arriving, loopback audio above the floor, first chunk on disk
check "recording from vivid and snd-aloop" wait_state RECORDING 120
sleep 8
"$haven" stop >/dev/null
check "stops" wait_state IDLE 120
kill "$tone" 2>/dev/null
kill -TERM "$havend_pid"; wait "$havend_pid"
session=$(ls -d /run/hv/vault/S* | head -n 1)
check "session verifies COMPLETE" sh -c "'$haven' verify '$session' | grep -q ^COMPLETE"
check "no source lost and microphone never silent" sh -c "! '$haven' info '$session' | grep -Eq 'source-lost|mic-silent'"
mkdir -p "$out/sessions" && cp -r "$session" "$out/sessions/" && cp /run/hv/haven/cust.key "$out/"
exit $failures
