# SPDX-License-Identifier: GPL-2.0-or-later
"""Enrollment (issue 10 §4): the board writes its signed enrollment file
(havend --write-enrollment), the custodian trusts it (haven enroll), and
haven verify/export then pin that device's sessions automatically."""
import json
import os
import re

from daemontest import HAVEND, Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("enroll")


def rewrite(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, (old, text)
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


class Board:
    """A device as the first boot leaves it: key created, enrollment written."""

    def __init__(self, room="Test room", init=True):
        self.ws = Workspace()
        self.d = Daemon(self.ws)
        if room != "Test room":
            rewrite(self.d.conf, "room=Test room", f"room={room}")
        if init:
            self.d.init_device()
        self.trust = self.ws.path("trust")
        self.env = dict(os.environ, HAVEN_TRUST_DIR=self.trust)

    def write(self, path, *extra, check=0):
        return run(HAVEND, "--config", self.d.conf, "--write-enrollment", path, *extra, check=check)

    def enroll(self, *args, check=None):
        return run(HAVEN, "enroll", *args, env=self.env, check=check)

    def device_id(self):
        out = self.d.init_device(check=1)  # refuses, naming the existing device
        return re.search(r"device ([0-9a-f]{16})", out.stderr).group(1)


def no_key():
    b = Board(init=False)
    try:
        out = b.ws.path("enrollment.conf")
        p = b.write(out, check=2)
        assert "no device key" in p.stderr and b.d.key_path() in p.stderr and "--init-device" in p.stderr, p.stderr
        assert not os.path.exists(out)
        assert os.listdir(b.ws.dir).count("enrollment.conf") == 0
    finally:
        b.ws.cleanup()


R.case("--write-enrollment without a device key: refused, names the key, nothing written", no_key)


def write_and_enroll():
    b = Board(room="Room 2 \"blue\"")
    try:
        out = b.ws.path("cfg", "enrollment.conf")
        os.makedirs(b.ws.path("cfg"))
        p = b.write(out, "--image-version", "2026.11-rpi4", check=0)
        dev = b.device_id()
        assert dev in p.stdout, p.stdout
        with open(out) as f:
            text = f.read()
        lines = text.splitlines()
        assert lines[0] == "[enrollment]" and lines[1] == "format=1", lines
        assert f"device-id={dev}" in lines and "image-version=2026.11-rpi4" in lines, lines
        assert lines[-1].startswith("signature="), lines
        assert "secret" not in text
        with open(b.d.key_path()) as f:
            secret = f.read().split()[1]
        assert secret not in text
        # only the file itself: no temporary left behind
        assert os.listdir(b.ws.path("cfg")) == ["enrollment.conf"], os.listdir(b.ws.path("cfg"))
        p = b.enroll(out, check=0)
        assert f"enrolled device {dev}" in p.stdout and "Room 2" in p.stdout, p.stdout
        assert sorted(os.listdir(b.trust)) == [f"{dev}.enrollment.conf", f"{dev}.pub"], os.listdir(b.trust)
        with open(os.path.join(b.trust, f"{dev}.pub")) as f, open(b.d.key_path() + ".pub") as g:
            assert f.read() == g.read()
        p = b.enroll("--list", check=0)
        assert dev in p.stdout and "1 device" in p.stdout, p.stdout
        # the same file again: already enrolled, nothing else
        p = b.enroll(out, check=0)
        assert "already enrolled" in p.stdout, p.stdout
        # --trust-dir overrides the environment
        other = b.ws.path("other-trust")
        p = b.enroll("--trust-dir", other, out, check=0)
        assert os.path.exists(os.path.join(other, f"{dev}.pub"))
        # the default: $XDG_CONFIG_HOME/haven/devices
        env = dict(os.environ, XDG_CONFIG_HOME=b.ws.path("xdg"))
        env.pop("HAVEN_TRUST_DIR", None)
        run(HAVEN, "enroll", out, env=env, check=0)
        assert os.path.exists(b.ws.path("xdg", "haven", "devices", f"{dev}.pub"))
        # without --image-version and /etc/haven-image-version: "unknown" (or the image's)
        b.write(out, check=0)
        with open(out) as f:
            v = [l for l in f.read().splitlines() if l.startswith("image-version=")][0]
        expect = "unknown"
        if os.path.exists("/etc/haven-image-version"):
            with open("/etc/haven-image-version") as f:
                expect = f.read().split("\n")[0].strip() or "unknown"
        assert v == f"image-version={expect}", v
    finally:
        b.ws.cleanup()


R.case("--write-enrollment then haven enroll: trusted, .pub as the board's, --list, default dir", write_and_enroll)


def room_not_ascii():
    """A room named in Vietnamese is printed as written (valid UTF-8 is not
    escaped), by enroll, re-enroll and --list, as verify prints it."""
    room = "Phòng hỏi cung số 1"
    b = Board(room=room)
    try:
        out = b.ws.path("enrollment.conf")
        b.write(out, check=0)
        p = b.enroll(out, check=0)
        assert f'room "{room}"' in p.stdout and "\\3" not in p.stdout, p.stdout
        p = b.enroll(out, check=0)
        assert f'room "{room}", same key' in p.stdout, p.stdout
        p = b.enroll("--list", check=0)
        assert f'room "{room}"' in p.stdout, p.stdout
        rewrite(b.d.conf, f"room={room}", "room=Phòng 2\\tbên")
        b.write(out, check=0)
        p = b.enroll(out, check=0)
        assert f'room changed from "{room}" to "Phòng 2\\tbên"' in p.stdout, p.stdout
    finally:
        b.ws.cleanup()


R.case("a room that is not ASCII is printed as written by enroll and --list", room_not_ascii)


def tampered():
    b = Board()
    try:
        out = b.ws.path("enrollment.conf")
        b.write(out, check=0)
        rewrite(out, "room=Test room", "room=Other room")
        p = b.enroll(out, check=1)
        assert "signature does not verify" in p.stderr and "nothing enrolled" in p.stderr, p.stderr
        assert not os.path.exists(b.trust) or os.listdir(b.trust) == []
        b.write(out, check=0)
        with open(out, "a") as f:
            f.write("room=Added later\n")
        p = b.enroll(out, check=2)
        assert "last line" in p.stderr, p.stderr
        with open(out, "w") as f:
            f.write("not an enrollment\n")
        p = b.enroll(out, check=2)
        assert out in p.stderr, p.stderr
    finally:
        b.ws.cleanup()


R.case("tampered room, appended line, garbage: refused, nothing enrolled", tampered)


def room_change_and_corruption():
    b = Board()
    try:
        out = b.ws.path("enrollment.conf")
        b.write(out, check=0)
        b.enroll(out, check=0)
        dev = b.device_id()
        rewrite(b.d.conf, "room=Test room", "room=Room 5")
        b.write(out, check=0)
        p = b.enroll(out, check=0)
        assert 'room changed from "Test room" to "Room 5"' in p.stdout, p.stdout
        p = b.enroll("--list", check=0)
        assert "Room 5" in p.stdout, p.stdout
        # a damaged trust entry is an error, for enroll, --list and verify alike
        pub = os.path.join(b.trust, f"{dev}.pub")
        with open(pub, "w") as f:
            f.write("haven-device-public-v1 AAAA\n")
        p = b.enroll("--list", check=1)
        assert "damaged" in p.stderr and dev in p.stderr, p.stderr
        p = b.enroll(out, check=1)
        assert "damaged" in p.stderr and "nothing enrolled" in p.stderr, p.stderr
        os.unlink(pub)
        p = b.enroll("--list", check=1)
        assert f"{dev}.pub is missing" in p.stderr, p.stderr
    finally:
        b.ws.cleanup()


R.case("re-enroll with a new room says so; a damaged trust entry is an error", room_change_and_corruption)

def enrolled(b):
    out = b.ws.path("enrollment.conf")
    b.write(out, check=0)
    b.enroll(out, check=0)
    return b.device_id()


def pubkey_bytes(pub_path):
    import base64
    with open(pub_path) as f:
        return base64.b64decode(f.read().split()[1])


def verify_pins():
    b = Board(room="Room 7")
    try:
        dev = enrolled(b)
        key = os.path.relpath(b.d.key_path(), b.ws.dir)
        s = b.ws.session("s1", "--bytes", "20000", key=key)
        p = run(HAVEN, "verify", s, env=b.env, check=0)
        assert f'device pinned: enrolled device {dev} (room "Room 7"' in p.stdout, p.stdout
        assert "NOT PINNED" not in p.stdout, p.stdout
        p = run(HAVEN, "verify", "--json", s, env=b.env, check=0)
        assert '"device_pinned": true' in p.stdout and '"pinned_by": "trust-list"' in p.stdout, p.stdout
        x = b.ws.path("x1")
        p = run(HAVEN, "export", "--identity", b.ws.path("cust.key"), "--out", x, s, env=b.env, check=4)
        assert f"pinned: enrolled device {dev}" in p.stdout and "NOT PINNED" not in p.stdout, p.stdout
        with open(os.path.join(x, "custody-report.txt")) as f:
            rep = f.read()
        assert f"pinned: enrolled device {dev}" in rep and 'room "Room 7"' in rep, rep
        # verify-clip pins an enrolled device too, and says so
        ts = b.ws.path("media.ts")
        run("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=50", "!",
            "video/x-raw,width=160,height=120,framerate=25/1", "!", "x264enc", "speed-preset=ultrafast",
            "key-int-max=25", "!", "h264parse", "!", "mpegtsmux", "!", "filesink", f"location={ts}", check=0)
        sm = b.ws.session("m1", "--media", ts, "--commit-every", "20000", key=key)
        c = b.ws.path("c1")
        run(HAVEN, "export", "--identity", b.ws.path("cust.key"), "--out", c, "--from", "1", sm, env=b.env,
            check=0)
        p = run(HAVEN, "verify-clip", "--identity", b.ws.path("cust.key"), c, sm, env=b.env, check=0)
        assert f'(pinned: enrolled device {dev} (room "Room 7")' in p.stdout and "NOT PINNED" not in p.stdout, \
            p.stdout
        p = run(HAVEN, "verify-clip", "--identity", b.ws.path("cust.key"), c, sm,
                env=dict(b.env, HAVEN_TRUST_DIR=b.ws.path("empty")), check=0)
        assert "NOT PINNED" in p.stdout, p.stdout
        # --device-key still overrides: another device's key refuses the session
        other = b.ws.session("o1", "--bytes", "20000", key="other.key")
        p = run(HAVEN, "verify", "--device-key", b.ws.path("other.key.pub"), s, env=b.env, check=1)
        assert "device pinned: enrolled" not in p.stdout, p.stdout
        # the pin by --device-key is stated as plainly as the enrolled one (it said nothing)
        oid = re.search(r"key id: ([0-9a-f]{16})", run(HAVEN, "key", "info", b.ws.path("other.key.pub")).stdout)[1]
        assert f"device pinned: device {oid}, the key given with --device-key {b.ws.path('other.key.pub')}" \
            in p.stdout and "NOT PINNED" not in p.stdout, p.stdout
        # an empty trust list: as before
        p = run(HAVEN, "verify", s, env=dict(b.env, HAVEN_TRUST_DIR=b.ws.path("empty")), check=0)
        assert "NOT PINNED" in p.stdout, p.stdout
        # a device that is not enrolled stays NOT PINNED, beside the enrolled one
        both = b.ws.path("both")
        os.makedirs(both)
        os.rename(s, os.path.join(both, "s1"))
        os.rename(other, os.path.join(both, "o1"))
        p = run(HAVEN, "verify", both, env=b.env, check=0)
        assert f"device pinned: enrolled device {dev}" in p.stdout and "NOT PINNED" in p.stdout, p.stdout
        p = run(HAVEN, "verify", "--json", both, env=b.env, check=0)
        assert '"device_pinned": false' in p.stdout, p.stdout
        p = run(HAVEN, "export", "--identity", b.ws.path("cust.key"), "--out", b.ws.path("x2"),
                os.path.join(both, "o1"), env=b.env, check=4)   # 4: synthetic media, no MP4
        assert "NOT PINNED" in p.stdout, p.stdout
    finally:
        b.ws.cleanup()


def unpinned_named():
    """attack10: a session signed by another key, put among an enrolled device's
    sessions (same room, same layout), is named as NOT PINNED, in the text and in
    the JSON, not only a NOT PINNED line beside 'device pinned: enrolled device'"""
    b = Board(room="Room 7")
    try:
        dev = enrolled(b)
        key = os.path.relpath(b.d.key_path(), b.ws.dir)
        arch = b.ws.path("arch")
        os.makedirs(arch)
        b.ws.session("arch/s1", "--bytes", "20000", "--room", "Room 7", key=key)
        b.ws.session("arch/s2", "--bytes", "20000", "--room", "Room 7", key="forger.key", recipients=("cust.pub",))
        j = json.loads(run(HAVEN, "verify", "--json", os.path.join(arch, "s2"), env=b.env, check=0).stdout)
        forger = j["sessions"][0]["device"]
        assert forger != dev
        p = run(HAVEN, "verify", arch, env=b.env, check=0)
        assert f"device pinned: enrolled device {dev}" in p.stdout, p.stdout
        line = [l for l in p.stdout.splitlines() if "NOT PINNED" in l]
        assert len(line) == 1 and forger in line[0] and dev not in line[0], p.stdout
        j = json.loads(run(HAVEN, "verify", "--json", arch, env=b.env, check=0).stdout)
        assert j["device_pinned"] is False and j["unpinned_devices"] == [forger], j
        j = json.loads(run(HAVEN, "verify", "--json", os.path.join(arch, "s1"), env=b.env, check=0).stdout)
        assert j["device_pinned"] is True and j["unpinned_devices"] == [], j
    finally:
        b.ws.cleanup()


R.case("a session by another key among an enrolled device's: named NOT PINNED (attack10)", unpinned_named)

R.case("enrolled device: verify/export/verify-clip pin it automatically; others NOT PINNED; --device-key overrides",
       verify_pins)


def forged():
    b = Board()
    try:
        dev = enrolled(b)
        # signed by another key, its header claiming the enrolled device's key (and so its id)
        f = b.ws.session("forged", "--bytes", "20000", key="other.key")
        enrolled_pk = pubkey_bytes(os.path.join(b.trust, f"{dev}.pub"))
        with open(os.path.join(f, "header.hvh"), "r+b") as h:
            h.seek(32)
            h.write(enrolled_pk)
        pinned = run(HAVEN, "verify", f, env=b.env, check=1)
        by_key = run(HAVEN, "verify", "--device-key", b.d.key_path() + ".pub", f, env=b.env, check=1)
        first = lambda p: [l for l in p.stdout.splitlines() if "INVALID" in l][0]  # noqa: E731
        assert first(pinned) == first(by_key), (pinned.stdout, by_key.stdout)
        p = run(HAVEN, "export", "--identity", b.ws.path("cust.key"), "--out", b.ws.path("x"), f, env=b.env,
                check=1)
        assert "INVALID" in p.stderr, p.stderr
        # a damaged trust entry is an error for verify and export, never "not enrolled"
        s = b.ws.session("s", "--bytes", "20000", key=os.path.relpath(b.d.key_path(), b.ws.dir))
        with open(os.path.join(b.trust, f"{dev}.pub"), "w") as g:
            with open(b.ws.path("other.key.pub")) as o:
                g.write(o.read())
        p = run(HAVEN, "verify", s, env=b.env, check=2)
        assert "damaged" in p.stderr and dev in p.stderr, p.stderr
        p = run(HAVEN, "export", "--identity", b.ws.path("cust.key"), "--out", b.ws.path("y"), s, env=b.env,
                check=2)
        assert "damaged" in p.stderr, p.stderr
    finally:
        b.ws.cleanup()


R.case("forged session claiming an enrolled device fails as with --device-key; damaged entry is an error",
       forged)

R.finish()
