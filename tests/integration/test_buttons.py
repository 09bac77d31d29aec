# SPDX-License-Identifier: GPL-2.0-or-later
"""havend on the sim board: what a press does and shows, and what the control
commands answer (issue 9, items 5 and 6).

- A session starts on the release of a short press; a hold from IDLE creates
  nothing. Every press is acknowledged on the lights within 100 ms (measured
  from the edge time the sim press carries to the moment havend set the
  lights, both CLOCK_MONOTONIC, as havend reports them in `haven status`).
- `haven status` shows each light's pattern, not this instant's value.
- `haven start|stop|mark` exit like systemctl: 0 done or already so, 3 refused
  or failed with the reason, 2 usage or unreachable; never 1."""
import json
import socket
import time

from daemontest import Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("buttons")
FEEDBACK_MAX_MS = 100


def now_us():
    return time.monotonic_ns() // 1000


def request(d, req):
    """One request on the control socket, without starting a haven process
    (hundreds of ms on a loaded machine under ASan): the reply object."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(30)
        c.connect(d.sock)
        c.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def status(d):
    return request(d, {"command": "status"})


def sim(d, action, signal_name="record", at_us=None):
    """One sim edge stamped at_us (CLOCK_MONOTONIC, as `haven sim` stamps
    it; default now): the press lasts what the stamps say, however late the
    request is read. Returns the stamp."""
    at_us = at_us or now_us()
    r = request(d, {"command": "sim", "action": action, "signal": signal_name, "at_us": str(at_us)})
    assert r["ok"], r
    return at_us


def release_after(d, pressed_us, seconds, signal_name="record"):
    """Release a press that began at pressed_us, seconds after it."""
    at = pressed_us + int(seconds * 1e6)
    time.sleep(max(0, (at - now_us()) / 1e6))
    return sim(d, "release", signal_name, at)


def acknowledged(d, kind, pressed_us, count_before):
    """The press at pressed_us was acknowledged with kind within 100 ms."""
    s = status(d)
    fb = s["feedback"]
    assert fb["count"] == count_before + 1, (kind, fb)
    assert fb["kind"] == kind, (kind, fb)
    assert fb["pressed_at_us"] == pressed_us, (pressed_us, fb)
    latency_ms = (fb["shown_at_us"] - fb["pressed_at_us"]) / 1000
    assert 0 <= latency_ms <= FEEDBACK_MAX_MS, f"{kind} shown {latency_ms:.1f} ms after the press: {fb}"
    return s


def hold_from_idle_creates_nothing():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        count = status(d)["feedback"]["count"]
        pressed = sim(d, "press")
        s = acknowledged(d, "armed", pressed, count)
        assert s["state"] == "IDLE", s
        if s["feedback"]["active"]:      # armed: red on, green off, while the button is down
            assert s["lights"]["led-recording"] and not s["lights"]["led-ready"], s
        # the text says what the room sees over the IDLE pattern while the button is down (armed lasts 2 s)
        out = d.haven("status", check=0).stdout
        if now_us() - pressed < 1_800_000:
            assert "feedback:     armed: red on, green off while record is held (release to start)" in out, out
        # held 2.5 s: never leaves IDLE (a start would show STARTING at once)
        while now_us() < pressed + 2_400_000:
            s = status(d)
            assert s["state"] == "IDLE", f"a hold from IDLE left IDLE: {s}"
            time.sleep(0.05)
        release_after(d, pressed, 2.5)
        s = status(d)
        assert s["feedback"]["kind"] == "noted" and s["feedback"]["count"] == count + 2, s   # the hold: "nothing"
        time.sleep(0.5)                  # a start would be under way by now
        s = status(d)
        assert s["state"] == "IDLE" and s["lights"]["led-ready"] and not s["lights"]["led-recording"], s
        assert d.sessions() == [], d.sessions()
        assert s["last_session"]["status"] is None, s
        with open(ws.path("havend.log")) as f:
            assert "hold by record button ignored while IDLE" in f.read()
        # a deliberate stop says so in the log (a crash would not)
        assert d.stop() == 0
        with open(ws.path("havend.log")) as f:
            assert "shutdown requested: nothing recording, havend stops" in f.read()
    finally:
        d.stop()
        ws.cleanup()


R.case("a 2.5 s hold from IDLE creates no session and stays IDLE", hold_from_idle_creates_nothing)


def short_press_starts_on_release():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        pressed = sim(d, "press")
        time.sleep(0.3)
        assert status(d)["state"] == "IDLE", "started before the release"
        release_after(d, pressed, 0.4)
        s = status(d)
        assert s["state"] in ("STARTING", "RECORDING"), s
        if s["state"] == "STARTING":
            p = s["light_patterns"]["led-recording"]
            assert p["pattern"] == "blinking" and p["period_ms"] == 500, s["light_patterns"]
        s = d.wait(lambda s: s["state"] == "RECORDING", 30, "RECORDING")
        assert s["press_to_blink_ms"] >= 300, s                      # includes the press itself
        assert 0 < s["release_to_blink_ms"] < s["press_to_blink_ms"], s
        out = d.haven("status", check=0).stdout
        assert "lights:       green off, red steady, amber off, door sign steady" in out, out
        p = d.haven("stop", check=0)
        assert p.returncode == 0 and "sealed COMPLETE" in p.stdout, (p.stdout, p.stderr)
        assert len(d.sessions()) == 1, d.sessions()
    finally:
        d.stop()
        ws.cleanup()


R.case("a short press starts on its release; status shows the blinking then steady red", short_press_starts_on_release)


def every_press_acknowledged():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        # a marker press while idle: noted, nothing else
        count = status(d)["feedback"]["count"]
        acknowledged(d, "noted", sim(d, "press", "marker"), count)
        sim(d, "release", "marker")
        p = d.haven("start")
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        # a 1.2 s press while recording: noted at once, does not stop
        count = status(d)["feedback"]["count"]
        pressed = sim(d, "press")
        s = acknowledged(d, "noted", pressed, count)
        if s["feedback"]["active"]:      # the wink: the lights inside go dark, the door sign stays
            assert not s["lights"]["led-recording"] and s["lights"]["door-sign"], s
        assert s["light_patterns"]["led-recording"]["pattern"] == "steady", s   # the pattern, not the wink
        release_after(d, pressed, 1.2)
        time.sleep(0.3)
        s = status(d)
        assert s["state"] == "RECORDING", s
        # a marker press: its own acknowledgement
        count = status(d)["feedback"]["count"]
        s = acknowledged(d, "marker", sim(d, "press", "marker"), count)
        if s["feedback"]["active"]:      # green flashes over the steady red
            assert s["lights"]["led-ready"] and s["lights"]["led-recording"], s
        sim(d, "release", "marker")
        # ended: the state's own pattern is back
        s = d.wait(lambda s: not s["feedback"]["active"], 5, "the acknowledgement to end")
        assert s["lights"]["led-recording"] and not s["lights"]["led-ready"], s
        p = d.haven("stop")
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        info = run(HAVEN, "info", d.sessions()[0], check=0).stdout
        assert "marker button" in info and "press by record button ignored while RECORDING" in info, info
    finally:
        d.stop()
        ws.cleanup()


R.case("ignored and marker presses are acknowledged within 100 ms", every_press_acknowledged)


def exit_statuses():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        p = d.haven("stop")
        assert p.returncode == 0 and "not recording" in p.stdout, (p.returncode, p.stdout, p.stderr)
        p = d.haven("mark", "x")
        assert p.returncode == 3 and "not recording" in p.stderr, (p.returncode, p.stderr)
        p = d.haven("start")
        assert p.returncode == 0 and "RECORDING" in p.stdout, (p.returncode, p.stdout, p.stderr)
        assert d.status()["state"] == "RECORDING"    # start returns once it records
        p = d.haven("start", "--json")
        r = json.loads(p.stdout)
        assert p.returncode == 0 and r["ok"] and r["changed"] is False and "already recording" in r["message"], r
        p = d.haven("mark", "x")
        assert p.returncode == 0, (p.returncode, p.stderr)
        p = d.haven("stop")
        assert p.returncode == 0 and "sealed COMPLETE" in p.stdout, (p.returncode, p.stdout, p.stderr)
        assert d.status()["state"] == "IDLE"         # stop returns once sealed
        p = d.haven("stop")
        assert p.returncode == 0 and "not recording" in p.stdout, (p.returncode, p.stdout)
        # usage and I/O: 2
        p = d.haven("start", "now")
        assert p.returncode == 2, p.returncode
        p = d.haven("sim", "press", "led-ready")
        assert p.returncode == 2 and "not an input" in p.stderr, (p.returncode, p.stderr)
        p = run(HAVEN, "start", "--socket", ws.path("nope.sock"))
        assert p.returncode == 2 and "cannot reach havend" in p.stderr, (p.returncode, p.stderr)
    finally:
        d.stop()
        ws.cleanup()


R.case("start/stop/mark exit 0 done or already so, 3 refused, 2 usage or unreachable", exit_statuses)


def start_that_fails():
    """The camera is absent: haven start reports the failure (3 and the
    reason) instead of 'FAULT -> STARTING' and 0; so does a start in FAULT."""
    ws = Workspace()
    d = Daemon(ws)
    with open(d.conf) as f:
        conf = f.read()
    with open(d.conf, "w") as f:
        f.write(conf.replace("camera1=test", "camera1=v4l2:/dev/video-haven-absent"))
    d.start()
    try:
        for attempt in ("from IDLE", "in FAULT"):
            p = d.haven("start")
            assert p.returncode == 3, (attempt, p.returncode, p.stdout, p.stderr)
            assert "start failed" in p.stderr and "video-haven-absent" in p.stderr, (attempt, p.stderr)
            s = d.status()
            assert s["state"] == "FAULT", (attempt, s)
            p = d.haven("stop")
            assert p.returncode == 0 and "not recording" in p.stdout, (attempt, p.returncode, p.stdout)
        s = d.status()
        assert s["light_patterns"]["led-fault"]["pattern"] == "pulses", s
        assert s["light_patterns"]["led-fault"]["pulses"] == 2, s      # source fault: two pulses
        out = d.haven("status", check=0).stdout
        assert "amber 2 pulses every 2 s" in out and "green off" in out, out
    finally:
        d.stop()
        ws.cleanup()


R.case("a start that fails exits 3 with the reason, from IDLE and in FAULT", start_that_fails)

R.finish()
