# SPDX-License-Identifier: GPL-2.0-or-later
"""The device's ledger position and recovery on the real havend (sim board):
only the session the device state says is open is ever sealed by recovery,
sessions the device already sealed are reported and left untouched, and
unsigned files in storage never move the sequence (issue 8, items 2 and 4)."""
import hashlib
import os
import shutil
import signal
import struct
import subprocess
import time

from daemontest import HAVEND, Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("ledger")


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None


def snapshot(sess):
    return {n: digest(os.path.join(sess, n)) for n in ("header.hvh", "records.hvr", "index.hvi", "seal.hvs")}


def two_roots(ws):
    d = Daemon(ws)
    text = open(d.conf).read().replace(f"roots={ws.dir}/storage\n",
                                       f"roots={ws.dir}/storage;{ws.dir}/storage2\n")
    assert "storage2" in text
    with open(d.conf, "w") as f:
        f.write(text)
    return d


def record_one(d, seconds=3.0):
    d.haven("start", check=0)
    d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
    time.sleep(seconds)
    d.haven("stop", check=0)
    return d.wait(lambda s: s["state"] in ("IDLE", "FAULT") and s["last_session"]["status"], 20, "sealed")


def state_text(ws):
    p = ws.path("state", "device-state")
    return open(p).read() if os.path.exists(p) else None


def sealed_session_not_resealed():
    """Delete seal.hvs and cut index.hvi of a COMPLETE session, restart havend:
    it must not re-seal it, must leave every byte as it is and report it."""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        s = record_one(d)
        assert s["last_session"]["status"] == "COMPLETE", s
        d.stop()
        sess = d.sessions()[0]
        os.unlink(os.path.join(sess, "seal.hvs"))
        with open(os.path.join(sess, "index.hvi"), "r+b") as f:
            f.truncate(136)
        before = snapshot(sess)
        d.start()
        s = d.status()
        assert snapshot(sess) == before, "recovery changed a session the device had sealed"
        assert s["fault"] == "storage" and s["state"] == "FAULT", s
        assert "S000001" in s["fault_reason"] and "sequence 1" in s["fault_reason"], s
        assert s["recovered"] and "NOT recovered" in s["recovered"][0], s
        assert not s["lights"]["led-ready"], s["lights"]   # the fault light pulses the storage code
        log = open(ws.path("havend.log")).read()
        assert "NOT recovered" in log and "already sealed" in log, log
        assert "fault (storage)" in log, log
        v = run(HAVEN, "verify", "--device-key", ws.path("state", "device.key.pub"), sess)
        assert v.returncode != 0, v.stdout
        # the fault persists past the self-check; the next session still gets sequence 2
        time.sleep(0.5)
        assert d.status()["fault"] == "storage"
        record_one(d, 1.0)
        assert os.path.basename(d.sessions()[1]).startswith("S000002-"), d.sessions()
        assert snapshot(sess) == before
    finally:
        d.stop()
        ws.cleanup()


R.case("a sealed session with its seal removed is reported, untouched, never re-sealed", sealed_session_not_resealed)


def open_session_recovered():
    """kill -9 while recording: the state names the open session, restart seals it."""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        s = d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        assert "open 1\n" in state_text(ws) and "next 2\n" in state_text(ws), state_text(ws)
        time.sleep(2)
        # both processes, as a power cut (havend frozen first: it must not see
        # its capture process die and seal the session before the restart)
        d.proc.send_signal(signal.SIGSTOP)
        os.kill(s["session"]["capture_pid"], signal.SIGKILL)
        d.stop(signal.SIGKILL)
        d.start()
        s = d.status()
        assert s["recovered"] and "sealed INTERRUPTED" in s["recovered"][0], s
        assert s["fault"] is None, s
        assert "open 0\n" in state_text(ws) and "sealed 1 " in state_text(ws), state_text(ws)
        d.stop()
        d.start()   # a second start recovers nothing more and reports nothing
        s = d.status()
        assert not s["recovered"] and s["fault"] is None, s
    finally:
        d.stop()
        ws.cleanup()


R.case("kill -9: the open session is recovered once, the state records its seal", open_session_recovered)


def forged(seq):
    def case():
        ws = Workspace()
        d = two_roots(ws).start()
        try:
            s = record_one(d, 1.0)
            assert s["last_session"]["status"] == "COMPLETE", s
            d.stop()
            genuine = sorted(os.listdir(ws.path("storage")))[0]
            hdr = bytearray(open(ws.path("storage", genuine, "header.hvh"), "rb").read())
            struct.pack_into("<Q", hdr, 64, seq)
            fake = ws.path("storage2", "S001000-20261128T151400Z")
            os.makedirs(fake)
            open(os.path.join(fake, "header.hvh"), "wb").write(hdr)
            open(os.path.join(fake, "seal.hvs"), "wb").write(os.urandom(300))
            state_before = state_text(ws)
            d.start()
            s0 = d.status()
            assert state_text(ws) == state_before, "state file changed by a forged header"
            s = record_one(d, 1.0)
            assert s["last_session"]["status"] == "COMPLETE", s
            assert os.path.basename(s["last_session"]["dir"]).startswith("S000002-"), s
            assert s0["fault"] == "storage" and "S001000" in s0["fault_reason"], s0
            assert "signature does not verify" in s0["fault_reason"], s0
            assert "next 3\n" in state_text(ws), state_text(ws)
            v = run(HAVEN, "verify", ws.path("storage"))
            assert v.returncode == 0 and "sequence 1..2, ledger intact" in v.stdout, v.stdout
            assert d.status()["fault"] == "storage"    # still reported while the file is there
        finally:
            d.stop()
            ws.cleanup()
    return case


R.case("a forged header with sequence 1000 in the second root is not adopted", forged(1000))
R.case("a forged header with sequence 2^64-1 does not block starts", forged(2**64 - 1))


def state_lost():
    """The state file lost while storage holds signed sessions: a fault and no
    start until a technician adopts the ledger from the signed sessions."""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        record_one(d, 1.0)
        d.stop()
        os.unlink(ws.path("state", "device-state"))
        d.start()
        s = d.status()
        assert s["fault"] == "storage" and "adopt-ledger" in s["fault_reason"], s
        d.haven("start", check=None)
        s = d.wait(lambda s: s["state"] == "FAULT", 10, "start refused")
        assert len(d.sessions()) == 1, d.sessions()
        assert not os.path.exists(ws.path("state", "device-state"))
        d.stop()
        p = run(HAVEN, "recover", "--device-key", ws.path("state", "device.key"), "--state-dir",
                ws.path("state"), "--adopt-ledger", ws.path("storage"))
        assert p.returncode == 0 and "next sequence 2" in p.stdout, p.stdout + p.stderr
        p = run(HAVEN, "recover", "--device-key", ws.path("state", "device.key"), "--state-dir",
                ws.path("state"), "--adopt-ledger", ws.path("storage"))
        assert p.returncode == 2 and "refusing to replace" in p.stderr, p.stderr
        d.start()
        assert d.status()["fault"] is None, d.status()
        record_one(d, 1.0)
        assert os.path.basename(d.sessions()[1]).startswith("S000002-"), d.sessions()
    finally:
        d.stop()
        ws.cleanup()


R.case("state lost: fault, starts refused, technician adopts from signed sessions", state_lost)



def recover_while_recording():
    """issue 8 (recovery defects) item 1: haven recover while havend records
    sealed the live session under it; a second havend stole the socket"""
    ws = Workspace()
    d = Daemon(ws).start()
    key = ws.path("state", "device.key")
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        time.sleep(1.5)
        sess = d.sessions()[0]
        p = run(HAVEN, "recover", "--device-key", key, "--state-dir", ws.path("state"), ws.path("storage"))
        assert p.returncode == 2 and "havend is running" in p.stderr, p.stdout + p.stderr
        p = run(HAVEN, "recover", "--device-key", key, "--state-dir", ws.path("state"), "--adopt-ledger",
                ws.path("storage"))
        assert p.returncode == 2 and "havend is running" in p.stderr, p.stdout + p.stderr
        # without the state dir, the records.hvr lock still refuses
        p = run(HAVEN, "recover", "--device-key", key, "--open-seq", "1", ws.path("storage"))
        assert p.returncode == 1 and "being recorded by a running havend" in p.stdout, p.stdout + p.stderr
        assert not os.path.exists(os.path.join(sess, "seal.hvs")), "recover sealed the live session"
        # a second havend on the same config refuses to start and leaves the socket alone
        second = subprocess.run([HAVEND, "--config", d.conf], capture_output=True, text=True, timeout=60)
        assert second.returncode != 0, second.stderr
        assert "another havend is running with state directory" in second.stderr, second.stderr
        assert d.status()["state"] == "RECORDING"
        time.sleep(1.0)
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] in ("IDLE", "FAULT") and s["last_session"]["status"], 20, "sealed")
        assert s["last_session"]["status"] == "COMPLETE", s
        v = run(HAVEN, "verify", "--device-key", ws.path("state", "device.key.pub"), ws.path("storage"))
        assert v.returncode == 0 and v.stdout.startswith("COMPLETE"), v.stdout
    finally:
        d.stop()
        ws.cleanup()


R.case("haven recover and a second havend are refused while havend records", recover_while_recording)


def state_behind_refuses():
    """issue 8 (recovery defects) item 3: a device state restored from an old
    backup (next 2 while storage holds a signed sequence 2): havend refuses to
    record, the fault persists; after --adopt-ledger it records sequence 3"""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        record_one(d, 1.0)
        backup = state_text(ws)
        assert "next 2\n" in backup, backup
        record_one(d, 1.0)
        d.stop()
        open(ws.path("state", "device-state"), "w").write(backup)
        d.start()
        s = d.status()
        assert s["fault"] == "storage" and "behind" in s["fault_reason"], s
        assert "adopt-ledger" in s["fault_reason"], s
        d.haven("start", check=None)
        time.sleep(2.0)
        s = d.wait(lambda s: s["state"] == "FAULT", 10, "start refused")
        assert len(d.sessions()) == 2, d.sessions()
        assert state_text(ws) == backup, "the stale state moved on"
        d.haven("start", check=None)          # still refused: the fault does not clear by itself
        time.sleep(2.0)
        s = d.status()
        assert len(d.sessions()) == 2 and s["fault"] == "storage" and "behind" in s["fault_reason"], s
        d.stop()
        p = run(HAVEN, "recover", "--device-key", ws.path("state", "device.key"), "--state-dir",
                ws.path("state"), "--adopt-ledger", ws.path("storage"))
        assert p.returncode == 0 and "REPLACED" in p.stdout and "next sequence 3" in p.stdout, p.stdout + p.stderr
        d.start()
        assert d.status()["fault"] is None, d.status()
        s = record_one(d, 1.0)
        assert os.path.basename(d.sessions()[2]).startswith("S000003-"), d.sessions()
        v = run(HAVEN, "verify", "--device-key", ws.path("state", "device.key.pub"), ws.path("storage"))
        assert v.returncode == 0 and "ledger intact" in v.stdout, v.stdout
    finally:
        d.stop()
        ws.cleanup()


R.case("a state behind signed storage: no recording until adopted, never a reused sequence", state_behind_refuses)

R.finish()
