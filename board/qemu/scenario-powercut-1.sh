# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 3, first boot: record onto the ext4 virtio disk until the host pulls
# the plug (SIGKILL to QEMU). A heartbeat on the 9p share tells the host the
# guest's last wall-clock time, to measure how much media was lost.
source "$(dirname "$0")/guest-lib.sh"
disk_setup
cp /run/hv/haven/cust.key "$out/"
start_havend
check "havend comes up IDLE" wait_state IDLE 120
"$haven" start >/dev/null
check "recording onto ext4" wait_state RECORDING 120
touch "$out/recording"
while true; do date +%s%6N >> "$out/heartbeats"; sleep 0.1; done
