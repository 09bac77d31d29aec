# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside the booted board image by the boot test (test_image.py), never
# part of the image: the test writes this file raw onto a small second disk
# (/dev/vdb) and boots with  systemd.run="/bin/sh /dev/vdb"  appended to the
# kernel command line read from the image's own boot partition. sh reads the
# script straight off the disk; the padding after the final exit is never read.
# Prints HVTEST lines on the serial console; the host checks them.
exec >/dev/console 2>&1
# systemd.run's unit is a oneshot that holds the boot at sysinit.target, and
# the boot goes to kernel-command-line.target only: start the checks as their
# own transient service, which starts multi-user.target (havend) and powers off.
if [ "${1:-}" != checks ]; then
  systemd-run --no-block --unit=haven-test-guest --property=After=multi-user.target \
    --property=StandardOutput=tty --property=TTYPath=/dev/console /bin/sh /dev/vdb checks
  exit 0
fi
say() { echo "HVTEST $*"; }
status_state() { haven status 2>/dev/null | sed -n 's/^state: *//p'; }
wait_state() { # STATE SECONDS
  n=0
  while [ "$(status_state)" != "$1" ] && [ $n -lt "$2" ]; do sleep 1; n=$((n + 1)); done
  [ "$(status_state)" = "$1" ]
}
say "begin"
# systemd.run boots into kernel-command-line.target: bring up the appliance itself
systemctl start multi-user.target
if wait_state IDLE 400; then say "idle-after $(cut -d' ' -f1 /proc/uptime)"; else
  say "not-idle $(status_state)"; haven status
  systemctl status havend haven-firstboot --no-pager
  journalctl -b -u haven-firstboot -u havend --no-pager | tail -n 60
fi
say "firstboot $(systemctl show -p Result --value haven-firstboot.service) $(systemctl show -p ConditionResult --value haven-firstboot.service)"
pid=$(systemctl show -p MainPID --value havend.service)
say "havend-user $(ps -o user= -p "$pid")"
say "security $(systemd-analyze security havend.service --no-pager 2>/dev/null | sed -n 's/.*Overall exposure level for havend.service: *\([0-9.]*\).*/\1/p')"
say "root-options $(findmnt -no OPTIONS /)"
if touch /hvtest-write 2>/dev/null; then say "root-writable yes"; rm -f /hvtest-write; else say "root-writable no"; fi
say "device $(haven status | sed -n 's/^device: *\([^ ]*\).*/\1/p')"
say "data-size-mib $(( $(findmnt -bno SIZE /data) / 1048576 ))"
say "machine-id $(cat /etc/machine-id)"
say "failed-units $(systemctl list-units --failed --no-legend --plain | awk '{print $1}' | paste -sd, -)"
if haven start; then
  wait_state RECORDING 60 && say "recording"
  sleep 6
  haven stop
  wait_state IDLE 120 && say "sealed $(haven status | sed -n 's/^last session: *//p')"
else
  say "start-refused"; haven status
fi
sync
say "end"
systemctl poweroff
exit 0
