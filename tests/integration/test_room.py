# SPDX-License-Identifier: GPL-2.0-or-later
"""A re-provisioned room (issue 10 §4) is an audited event, not a new
identity: the real havend on the sim board journals and audits "room changed
from X to Y" at its next start; the device key and the ledger stay."""
import sqlite3

import time

from daemontest import Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("room")


def audit_rows(ws, action):
    con = sqlite3.connect(ws.path("state", "catalog.db"))
    try:
        return [r[0] for r in con.execute("select result from audit where action=?", (action,))]
    finally:
        con.close()


def set_room(conf, old, new):
    with open(conf) as f:
        text = f.read()
    assert f"room={old}\n" in text
    with open(conf, "w") as f:
        f.write(text.replace(f"room={old}\n", f"room={new}\n", 1))


def log(ws):
    with open(ws.path("havend.log")) as f:
        return f.read()


def room_change():
    ws = Workspace()
    d = Daemon(ws)
    try:
        d.start()
        device = d.status()["device"]
        assert d.stop() == 0
        assert audit_rows(ws, "room changed") == [], "a first start is no change"
        set_room(d.conf, "Test room", "Room 9")
        d.start()
        assert d.status()["device"] == device, "a new room must not be a new identity"
        assert d.stop() == 0
        rows = audit_rows(ws, "room changed")
        assert len(rows) == 1 and "room changed from 'Test room' to 'Room 9'" in rows[0], rows
        assert device in rows[0], rows
        assert "room changed from 'Test room' to 'Room 9'" in log(ws), log(ws)
        # the same room again: nothing new
        d.start()
        assert d.stop() == 0
        assert len(audit_rows(ws, "room changed")) == 1
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
        ws.cleanup()


R.case("room changed between starts: journaled and audited once, same device key", room_change)

def room_markup():
    """The room name is burned into the picture by textoverlay, which reads
    pango markup: a name with '&' or '<' drew nothing (a Pango critical,
    fatal in the tests: the capture process died and every press was a
    FAULT) and '<span font=...>' could cover the picture. It is text."""
    ws = Workspace()
    d = Daemon(ws)
    room = "Phòng A & B <1>"
    try:
        d.start()
        assert d.stop() == 0
        set_room(d.conf, "Test room", room)
        d.start()
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        time.sleep(1.5)
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        assert s["last_session"]["status"] == "COMPLETE", s
        info = run(HAVEN, "info", d.sessions()[-1], check=0).stdout
        assert room in info, info
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
        ws.cleanup()


R.case("a room name with '&' and '<' records COMPLETE (the overlay gets it as text, not markup)", room_markup)

R.finish()
