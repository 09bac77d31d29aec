# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 2: real capture. v4l2src from vivid, alsasrc from snd-aloop with a
# tone played into the loopback; the session is verified and exported on the host.
source "$(dirname "$0")/guest-lib.sh"
sim_setup
vmod vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0   # one webcam input: progressive
vmod snd-aloop pcm_substreams=1
sleep 1
check "vivid camera present" test -c /dev/video0
check "loopback sound card present" grep -q Loopback /proc/asound/cards
gst-launch-1.0 -q audiotestsrc is-live=true wave=sine freq=440 volume=0.5 ! \
  audio/x-raw,rate=48000,channels=1 ! alsasink device=hw:Loopback,0,0 >> "$out/tone.log" 2>&1 &
tone=$!
write_config /run/hv/vault "[video]" "camera1=v4l2:/dev/video0" "width=320" "height=240" "fps=10" \
  "bitrate-kbps=300" "[audio]" "microphone=alsa:hw:Loopback,1,0" "silence-seconds=3"
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
