# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 3, second boot: havend must seal the cut session INTERRUPTED
# before the green light, and the session must verify.
source "$(dirname "$0")/guest-lib.sh"
sim_setup
vmod ext4
mkdir -p /run/hv/disk && mount -t ext4 /dev/vda /run/hv/disk
export HAVEN_STATE=/run/hv/disk/state
write_config /run/hv/disk/vault "[video]" "camera1=test" "width=320" "height=240" "fps=10" "bitrate-kbps=300"
start_havend
check "havend comes up IDLE after the power cut" wait_state IDLE 120
check "green light on" test "$(lights)" = 1000
check "status reports the recovered session" sh -c "'$haven' status | grep -q 'recovered:.*INTERRUPTED'"
kill -TERM "$havend_pid"; wait "$havend_pid"
session=$(ls -d /run/hv/disk/vault/S* | head -n 1)
check "session verifies INTERRUPTED" sh -c "'$haven' verify '$session' | grep -q ^INTERRUPTED"
mkdir -p "$out/sessions" && cp -r "$session" "$out/sessions/"
umount /run/hv/disk
exit $failures
