# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 1: buttons and lights through libgpiod against the kernel's gpio-sim.
source "$(dirname "$0")/guest-lib.sh"
sim_setup
write_config /run/hv/vault "[video]" "camera1=test" "width=320" "height=240" "fps=10" "bitrate-kbps=300"
start_havend
check "havend comes up IDLE on the libgpiod backend" wait_state IDLE 120
check "idle lights: green only (got $(lights))" test "$(lights)" = 1000

sim_pull 0 pull-down; sleep 2.8; sim_pull 0 pull-up           # hold from IDLE: nothing starts
sleep 1
check "a hold from IDLE stays IDLE (got $(state))" test "$(state)" = IDLE
check "a hold from IDLE creates no session" sh -c "! ls -d /run/hv/vault/S* >/dev/null 2>&1"
check "green again after the hold (got $(lights))" test "$(lights)" = 1000

sim_pull 0 pull-down; sleep 0.2; sim_pull 0 pull-up           # short press: starts on the release
check "a press starts recording" wait_state RECORDING 120
ack=$("$haven" status --json | sed -n 's/.*"kind" *: *"\([a-z]*\)".*/\1/p')
check "the press was acknowledged on the lines: armed (got $ack)" test "$ack" = armed
check "recording lights: red + door sign (got $(lights))" test "$(lights)" = 0101

sim_pull 1 pull-down; sleep 0.2; sim_pull 1 pull-up           # marker
sim_pull 0 pull-down; sleep 0.3; sim_pull 0 pull-up           # short press while recording
sleep 3
check "a short press while recording does not stop" test "$(state)" = RECORDING
check "still red + door sign (got $(lights))" test "$(lights)" = 0101

sim_pull 0 pull-down; sleep 2.8; sim_pull 0 pull-up           # hold
check "a 2.8 s hold stops" wait_state IDLE 120
check "back to green only (got $(lights))" test "$(lights)" = 1000

session=$(ls -d /run/hv/vault/S* | head -n 1)
check "session verifies COMPLETE" sh -c "'$haven' verify '$session' | grep -q ^COMPLETE"
check "marker and ignored press are in the chain" sh -c \
  "'$haven' info '$session' | grep -q 'marker button' && '$haven' info '$session' | grep -q 'ignored while RECORDING'"
kill -TERM "$havend_pid"; wait "$havend_pid"
check "outputs released on exit (got $(lights))" test "$(lights)" = 0000

# --check-config against the kernel's chip (issue 9 item 4): a line the chip
# does not have, and one pin under two names (the marker on offset 0, which is
# the line named record), both reported in one run; the real board is OK.
sed -e '/^\[signal.marker\]/,/^\[signal.led-ready\]/ s/^line=marker$/line=0/' \
    -e '/^\[signal.door-sign\]/,$ s/^line=door-sign$/line=GPIO99/' \
    "$repo/board/boards/vm-gpio-sim.board" > /run/hv/bad.board
sed "s|^board=.*|board=/run/hv/bad.board|" /run/hv/haven/haven.conf > /run/hv/bad.conf
"$havend" --config /run/hv/bad.conf --check-config --user "$(id -un)" > "$out/check-config.log" 2>&1
rc=$?
check "--check-config exits 2 on the bad board (got $rc)" test "$rc" = 2
check "--check-config names the missing line" \
  grep -q "\[signal.door-sign\] line: 'GPIO99' is not a line of GPIO chip 'haven-sim'" "$out/check-config.log"
check "--check-config names the pin used twice" \
  grep -q "\[signal.marker\] line: line 0 of gpiochip[0-9]* is already used by \[signal.record\]" "$out/check-config.log"
check "--check-config is OK on the real board" \
  "$havend" --config /run/hv/haven/haven.conf --check-config --user "$(id -un)"
mkdir -p "$out/sessions" && cp -r "$session" "$out/sessions/"
exit $failures
