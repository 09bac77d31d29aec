# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 3, second boot: havend must seal the cut session INTERRUPTED
# before the green light, and the session must verify.
source "$(dirname "$0")/guest-lib.sh"
disk_setup
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
