# SPDX-License-Identifier: GPL-2.0-or-later
"""havend and its storage (issue 9 item 2): the remaining minutes and the
low-space warning, a session stopped cleanly at the reserve when the disk
fills, status showing what is sealed on disk, and sequence numbers that are
allocated durably and never reused (a start that failed before its session
existed is declared by the next session, so the ledger stays intact)."""
import os
import re
import shutil
import subprocess
import time

from daemontest import HAVEND, Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("space")


def edit_conf(d, *pairs):
    with open(d.conf) as f:
        text = f.read()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    with open(d.conf, "w") as f:
        f.write(text)


def mount_tmpfs(path, size):
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)


def umount(path):
    subprocess.run(["umount", "-l", path], check=False)


def log_text(ws):
    with open(ws.path("havend.log"), errors="replace") as f:
        return f.read()


def storage_full():
    """On a small disk: amber blinks slowly from IDLE with the minutes in
    status; the session stops itself at the reserve, sealed COMPLETE with a
    signed storage-full stop; status shows the seal on disk; and after
    switching the storage root the next session takes the next sequence."""
    if os.geteuid() != 0:
        print("skip: needs root to mount a tmpfs")
        return
    ws = Workspace()
    small = ws.path("small")
    mount_tmpfs(small, "8m")
    d = Daemon(ws)
    edit_conf(d, (f"roots={ws.dir}/storage", f"roots={small}"),
              ("min-free-minutes=1", "min-free-minutes=0\nreserve-seconds=4\nwarn-minutes=10"),
              ("camera1=test", "camera1=test:snow\nbitrate-kbps=4000"))
    try:
        d.start()
        s = d.status()
        assert s["state"] == "IDLE" and s["low_space"], s
        assert 0 <= s["storage"]["minutes_left"] < 10 and s["storage"]["root"] == small, s
        # under 2 minutes status counts seconds: "0 minutes left" with time still to record misleads
        assert 0 <= s["storage"]["seconds_left"] < 120, s
        out = d.haven("status", check=0).stdout
        m = re.search(r"storage: +(\d+) seconds left on " + re.escape(small) + r" \(running low\)", out)
        assert m and int(m.group(1)) < 120, out
        assert " minutes left" not in out, out
        # the slow amber blink: on and off (1 s each; up to 10 s of samples,
        # as a loaded machine's status round trips are slow), green stays on
        seen = set()
        end = time.time() + 10
        while time.time() < end and len(seen) < 2:
            l = d.lights()
            assert l["led-ready"], l
            seen.add(l["led-fault"])
            time.sleep(0.1)
        assert seen == {True, False}, seen
        d.haven("start", check=0)
        s = d.wait(lambda s: s["state"] == "RECORDING", 30, "RECORDING")
        assert s["storage"]["root"] == small and s["storage"]["minutes_left"] < 10, s
        s = d.wait(lambda s: s["state"] in ("IDLE", "FAULT"), 90, "the session to stop at the reserve")
        last = s["last_session"]
        assert last["status"] == "COMPLETE" and last["fingerprint"], s
        assert last["reason"].startswith("storage full"), s
        sess = [os.path.join(small, x) for x in os.listdir(small)]
        assert len(sess) == 1, sess
        v = d.haven("verify", "--expect", last["fingerprint"], sess[0], check=0)
        assert v.stdout.startswith("COMPLETE"), v.stdout
        i = d.haven("info", sess[0], check=0).stdout
        assert "storage full" in i, i
        log = log_text(ws)
        assert "No space left" not in log, log
        # the self-check's fault names its kind once, with what to do
        s = d.wait(lambda s: s["state"] == "FAULT" and (s["fault_reason"] or "").startswith("storage: "), 10,
                   "the self-check's storage fault")
        out = d.haven("status", check=0).stdout
        assert "storage: storage:" not in out, out
        assert re.search(r"fault: +storage: " + re.escape(small) + r" has \d+\.\d MiB free, .* need \d+\.\d MiB "
                         r"\(archive and remove old sessions, or use a larger disk\)", out), out
        d.stop()

        # a technician switches the storage root: the sequence goes on from the state
        big = ws.path("storage2")
        edit_conf(d, (f"roots={small}", f"roots={big}"))
        d.start()
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 30, "RECORDING")
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] == "IDLE", 30, "IDLE")
        names = os.listdir(big)
        assert len(names) == 1 and names[0].startswith("S000002-"), names
        assert s["last_session"]["status"] == "COMPLETE", s
    finally:
        d.stop()
        umount(small)
        ws.cleanup()


R.case("disk fills: warned from IDLE, stopped at the reserve, COMPLETE; new root continues the sequence",
       storage_full)


def unrecorded_sequence(room=None):
    """A start that fails before its session exists consumes its sequence
    (never rolled back, never reused); the next session declares it in its
    signed start event, and verify from sequence 1 accepts exactly that gap.
    Tampering with the declaration, or without it, the gap is missing.
    The start fails after its sequence is allocated: the capture process
    exits at once (an absent camera no longer gets that far: the readiness
    probe refuses the press before a sequence is used)."""
    ws = Workspace()
    d = Daemon(ws)
    if room:
        edit_conf(d, ("room=Test room", "room=" + room))
    try:
        # a capture program that warms up (--prepare) but dies at once in a session
        fails = ws.path("capture-fails")
        real = os.path.join(os.path.dirname(HAVEND), "haven-capture")
        with open(fails, "w") as f:
            f.write(f'#!/bin/sh\n[ "$1" = --prepare ] && exec "{real}" "$@"\nexit 1\n')
        os.chmod(fails, 0o755)
        os.environ["HAVEN_CAPTURE"] = fails
        try:
            d.start()
        finally:
            del os.environ["HAVEN_CAPTURE"]
        d.wait(lambda s: s["capture_engine"] == "ready", 60, "the capture engine")
        d.press()
        s = d.wait(lambda s: (s["last_session"] or {}).get("status") == "NOT STARTED", 20,
                   "the start to fail")
        assert d.sessions() == []
        with open(ws.path("state", "device-state")) as f:
            state = f.read()
        assert "next 2\n" in state and "open 0\n" in state, state
        d.stop()
        d.start()
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 30, "RECORDING")
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] == "IDLE", 30, "IDLE")
        sess = d.sessions()
        assert len(sess) == 1 and os.path.basename(sess[0]).startswith("S000002-"), sess
        i = d.haven("info", sess[0], check=0).stdout
        assert "unrecorded sequences 1:" in i, i
        root = ws.path("storage")
        v = d.haven("verify", "--from-sequence", "1", root, check=None)
        assert v.returncode == 0, v.stdout + v.stderr
        assert "ledger intact" in v.stdout and "never recorded" in v.stdout, v.stdout
        if room:
            return

        # the declaration is signed: changing it breaks the session and the gap is missing
        bad = ws.path("tampered")
        shutil.copytree(root, bad)
        rec = os.path.join(bad, os.path.basename(sess[0]), "records.hvr")
        with open(rec, "rb") as f:
            data = bytearray(f.read())
        k = data.find(b"unrecorded sequences 1:")
        assert k >= 0
        data[k + len("unrecorded sequences ")] = ord("3")
        with open(rec, "wb") as f:
            f.write(data)
        v = d.haven("verify", "--from-sequence", "1", bad, check=None)
        assert v.returncode == 1 and "missing sequence 1" in v.stdout, v.stdout
    finally:
        d.stop()
        ws.cleanup()


R.case("a failed start's sequence is never reused and is declared by the next session", unrecorded_sequence)


def unrecorded_sequence_hostile_room():
    """The room name is free text inside the start event: a room named like
    a declaration neither hides the device's real declaration (the gap would
    be reported missing on an untouched archive) nor declares anything."""
    unrecorded_sequence(room="Room unrecorded sequences 7: not a declaration")


R.case("a room name that looks like a declaration does not replace the real one",
       unrecorded_sequence_hostile_room)

def filled_behind_its_back():
    """Another writer fills the disk at once: the writer meets ENOSPC before
    the reserve check can act, and seals the copy IO_FAILED over its last
    checkpoint. Status must show that seal (verdict and fingerprint), never
    "UNSEALED, fingerprint -", and the device state must record it."""
    if os.geteuid() != 0:
        print("skip: needs root to mount a tmpfs")
        return
    ws = Workspace()
    small = ws.path("small")
    mount_tmpfs(small, "40m")
    d = Daemon(ws)
    edit_conf(d, (f"roots={ws.dir}/storage", f"roots={small}"),
              ("min-free-minutes=1", "min-free-minutes=0\nreserve-seconds=4"))
    try:
        d.start()
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 30, "RECORDING")
        time.sleep(1.5)
        # take all but 64 KiB at once (one fallocate): the writer meets ENOSPC
        # within a fraction of a second, most likely before its next reserve
        # check, and its cut back to the last checkpoint frees room for the seal
        fd = os.open(os.path.join(small, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        st = os.statvfs(small)
        size = st.f_bavail * st.f_frsize - (64 << 10)
        while size > 0:
            try:
                os.posix_fallocate(fd, 0, size)
                break
            except OSError:
                size -= 4096
        os.close(fd)
        s = d.wait(lambda s: s["state"] in ("IDLE", "FAULT"), 30, "the session to end")
        last = s["last_session"]
        sess = [os.path.join(small, x) for x in os.listdir(small) if x.startswith("S")]
        assert len(sess) == 1, sess
        sealed = os.path.exists(os.path.join(sess[0], "seal.hvs"))
        st = d.haven("status", check=0).stdout
        if not sealed:
            # nothing sealed on disk (not even the recovery seal fitted): status says so
            assert last["status"] == "UNSEALED" and not last["fingerprint"], s
        else:
            assert last["status"] in ("IO_FAILED", "COMPLETE") and last["fingerprint"], s
            v = d.haven("verify", "--expect", last["fingerprint"], sess[0], check=0)
            assert v.stdout.startswith(last["status"]), (v.stdout, s)
            assert "UNSEALED" not in st and last["fingerprint"] in st, st
            with open(ws.path("state", "device-state")) as f:
                state = f.read()
            assert "sealed 1 " in state and "open 0\n" in state, state
        print(f"     (ended {last['status']}: {last['reason']})")
    finally:
        d.stop()
        umount(small)
        ws.cleanup()


R.case("disk filled by another writer: status shows what is sealed on disk (verdict, fingerprint), the state records it",
       filled_behind_its_back)

R.finish()
