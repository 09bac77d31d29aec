# SPDX-License-Identifier: GPL-2.0-or-later
"""havend on the sim board: buttons, lights, state machine, control, crash
recovery, configuration errors, catalog rebuild, button storms."""
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import time

from daemontest import HAVEND, SIM_BOARD, Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("daemon")


def green(l):
    return l["led-ready"] and not l["led-recording"] and not l["door-sign"]


def full_session():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        assert green(d.lights()), d.lights()
        d.press()
        s = d.status()
        assert s["state"] in ("STARTING", "RECORDING"), s
        assert s["lights"]["door-sign"], s
        s = d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        assert s["lights"]["led-recording"] and s["lights"]["door-sign"] and not s["lights"]["led-ready"]
        time.sleep(1)
        d.press(signal_name="marker")
        d.press()                       # a short press while recording does not stop
        time.sleep(1.5)
        assert d.status()["state"] == "RECORDING"
        d.press(hold=2.4)               # a hold stops
        s = d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        assert green(s["lights"]), s
        assert s["last_session"]["status"] == "COMPLETE", s
        sess = d.sessions()[0]
        v = d.haven("verify", "--expect", s["last_session"]["fingerprint"], sess, check=0)
        i = d.haven("info", sess, check=0).stdout
        assert "marker button" in i, i
        assert "ignored while RECORDING" in i, i
        assert "RECORDING -> STOPPING (hold by record button)" in i, i
    finally:
        d.stop()
        ws.cleanup()


R.case("press starts, lights as specified, short press ignored, hold stops, marker in chain", full_session)


def kill9_recovery():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        s = d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        time.sleep(2)
        # both processes at once, as a power cut: havend frozen first, so that
        # it cannot see its capture process die and seal the session itself
        d.proc.send_signal(signal.SIGSTOP)
        os.kill(s["session"]["capture_pid"], signal.SIGKILL)
        d.stop(signal.SIGKILL)
        sess = d.sessions()[0]
        v = run(HAVEN, "verify", sess)
        assert v.returncode == 1 and "never sealed" in v.stdout, v.stdout
        d.start()
        s = d.status()
        assert s["recovered"] and "INTERRUPTED" in s["recovered"][0], s
        assert green(s["lights"]), s
        v = run(HAVEN, "verify", sess, check=0)
        assert v.stdout.startswith("INTERRUPTED"), v.stdout
        # and the ledger goes on
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        d.haven("stop", check=0)
        d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        v = run(HAVEN, "verify", ws.path("storage"), check=0)
        assert "sequence 1..2, ledger intact" in v.stdout, v.stdout
    finally:
        d.stop()
        ws.cleanup()


R.case("kill -9 while recording: restart seals INTERRUPTED before green, ledger continues", kill9_recovery)


def sigterm_seals():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        time.sleep(1)
        assert d.stop(signal.SIGTERM) == 0
        sess = d.sessions()[0]
        v = run(HAVEN, "verify", sess, check=0)
        assert v.stdout.startswith("COMPLETE"), v.stdout
        assert "stopped by shutdown" in run(HAVEN, "info", sess).stdout
    finally:
        d.stop()
        ws.cleanup()


R.case("SIGTERM while recording: sealed COMPLETE with a shutdown event", sigterm_seals)


def button_storm():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        # 600 edges, one per millisecond, while idle: one session starts, never two
        d.haven("sim", "storm", "600", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        # another storm while recording: short presses never stop, nothing crashes
        d.haven("sim", "storm", "600", check=0)
        time.sleep(1.5)
        assert d.status()["state"] == "RECORDING"
        d.haven("sim", "storm", "300", "marker", check=0)
        time.sleep(1)
        d.haven("stop", check=0)
        d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        assert len(d.sessions()) == 1, d.sessions()
        run(HAVEN, "verify", d.sessions()[0], check=0)
        info = run(HAVEN, "info", d.sessions()[0]).stdout
        markers = info.count("marker button")
        assert 1 <= markers <= 300 // 2, info
    finally:
        d.stop()
        ws.cleanup()


R.case("button storm: debounced, one session, no crash", button_storm)


def config_errors():
    ws = Workspace()
    cases = [
        ("[video]\nfps=1000\n", "[video] fps"),
        ("[nonsense]\nx=1\n", "[nonsense]"),
        ("[video]\nbogus=1\n", "[video] bogus: unknown key"),
        ("[audio]\nmicrophone=spdif\n", "[audio] microphone"),
    ]
    for extra, want in cases:
        d = Daemon(ws, extra=extra, name="bad.conf")
        p = run(HAVEND, "--config", d.conf, "--check-config")
        assert p.returncode == 2 and want in p.stderr and "bad.conf" in p.stderr, (want, p.stderr)
        p = run(HAVEND, "--config", d.conf)
        assert p.returncode == 2 and want in p.stderr, p.stderr
        assert not os.path.exists(ws.path("state")), "touched state before validating"
    p = run(HAVEND, "--config", ws.path("missing.conf"))
    assert p.returncode == 2 and "missing.conf" in p.stderr
    # recipient file missing: named
    d = Daemon(ws, name="norecip.conf")
    os.rename(ws.path("cust.pub"), ws.path("cust.pub.away"))
    p = run(HAVEND, "--config", d.conf, "--check-config")
    os.rename(ws.path("cust.pub.away"), ws.path("cust.pub"))
    assert p.returncode == 2 and "[custodians] recipients" in p.stderr, p.stderr
    # no board= at all: named, and no board file looked for (a NULL path was
    # passed to the board loader: a GLib critical, fatal in the tests)
    d = Daemon(ws, name="noboard.conf")
    with open(d.conf) as f:
        text = f.read()
    with open(d.conf, "w") as f:
        f.write("".join(l for l in text.splitlines(True) if not l.startswith("board=")))
    p = run(HAVEND, "--config", d.conf, "--check-config")
    assert p.returncode == 2 and "[device] board is not set" in p.stderr and "CRITICAL" not in p.stderr, p.stderr
    ws.cleanup()


R.case("configuration errors name file, group and key; nothing touched", config_errors)


def missing_gpio():
    ws = Workspace()
    board = ws.path("bad.board")
    with open(board, "w") as f:
        f.write("[board]\nbackend=libgpiod\n")
        for s in ("record", "led-ready", "led-recording", "led-fault"):
            f.write(f"[signal.{s}]\nchip=gpiochip-that-does-not-exist\nline=3\n")
    d = Daemon(ws)
    with open(d.conf) as f:
        text = f.read().replace(os.path.abspath(os.path.join(os.path.dirname(__file__), "../../board/boards/sim.board")), board)
    with open(d.conf, "w") as f:
        f.write(text)
    d.init_device()
    p = run(HAVEND, "--config", d.conf, timeout=30)
    assert p.returncode == 1 and "gpiochip-that-does-not-exist" in p.stderr and "record" in p.stderr, p.stderr
    ws.cleanup()


R.case("missing GPIO chip: clear error naming chip and signal", missing_gpio)


def refused_start():
    ws = Workspace()
    d = Daemon(ws, extra="[testing]\nreopen-seconds=1\n")
    with open(d.conf) as f:
        text = f.read().replace("min-free-minutes=1", "min-free-minutes=100000")
    with open(d.conf, "w") as f:
        f.write(text)
    d.start()
    try:
        s = d.status()
        assert s["state"] == "FAULT" and s["fault"] == "storage", s
        assert "storage" in s["fault_reason"] and "free" in s["fault_reason"], s
        d.press()
        s = d.wait(lambda s: s["state"] == "FAULT", 10, "FAULT again")
        assert not s["lights"]["led-ready"] and not s["lights"]["led-recording"], s
        assert d.sessions() == [], d.sessions()
        st = d.haven("status", check=0).stdout
        assert "fault:" in st and "storage" in st, st
    finally:
        d.stop()
        ws.cleanup()


R.case("start with storage short: refused, fault light, reason in status", refused_start)


def wait_rows(db, sql, want, timeout=20):
    """The catalog is indexed in the background: poll until it shows `want`."""
    end = time.time() + timeout
    got = None
    while time.time() < end:
        try:
            con = sqlite3.connect(db)
            got = con.execute(sql).fetchone()[0]
            con.close()
            if got == want:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{sql}: {got}, expected {want}")


def missing_camera():
    ws = Workspace()
    d = Daemon(ws)
    with open(d.conf) as f:
        text = f.read().replace("camera1=test", "camera1=v4l2:/dev/video97")
    with open(d.conf, "w") as f:
        f.write(text)
    d.start()
    try:
        d.press()
        s = d.wait(lambda s: s["state"] == "FAULT", 60, "FAULT")
        assert s["fault"] == "source" and "camera 1" in s["fault_reason"], s
        assert d.sessions() == [], "a refused start must not leave a session"
    finally:
        d.stop()
        ws.cleanup()


R.case("start with a camera missing: refused, source fault naming the camera", missing_camera)


def catalog_rebuilt():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        d.haven("stop", check=0)
        d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        db = ws.path("state", "catalog.db")
        wait_rows(db, "select count(*) from sessions", 1)
        d.stop()
        con = sqlite3.connect(db)
        assert con.execute("select count(*) from audit where action='start'").fetchone()[0] == 1
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
        con.close()
        for f in os.listdir(ws.path("state")):
            if f.startswith("catalog.db"):
                os.unlink(ws.path("state", f))
        d.start()
        wait_rows(db, "select count(*) from sessions where status='COMPLETE'", 1)
        d.stop()
        with open(db, "wb") as f:
            f.write(b"this is not a database" * 100)
        d.start()  # a corrupt catalog never blocks recording
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        d.haven("stop", check=0)
        d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        wait_rows(db, "select count(*) from sessions", 2)
        assert [f for f in os.listdir(ws.path("state")) if ".corrupt-" in f]
        p = run(HAVEN, "catalog", "rebuild", "--config", d.conf, check=0)
        assert "2 sessions" in p.stdout, p.stdout
    finally:
        d.stop()
        ws.cleanup()


R.case("catalog deleted or corrupt: rebuilt from the vault, recording unaffected", catalog_rebuilt)


def control_errors():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        p = d.haven("stop")             # already stopped: done, as systemctl stop
        assert p.returncode == 0 and "not recording" in p.stdout, (p.stdout, p.stderr)
        p = d.haven("mark", "x")        # refused: 3 (1 is for integrity failures only)
        assert p.returncode == 3 and "not recording" in p.stderr, p.stderr
        p = d.haven("sim", "press", "led-ready")
        assert p.returncode == 2 and "not an input" in p.stderr, p.stderr
        p = run(HAVEN, "status", "--socket", ws.path("nope.sock"))
        assert p.returncode == 2 and "cannot reach havend" in p.stderr, p.stderr
    finally:
        d.stop()
        ws.cleanup()


R.case("control errors are clear", control_errors)

def not_dumpable():
    """A crash must not write the device key or plaintext frames to a core
    file. Observable from outside: a non-dumpable process has its /proc/PID
    files owned by root (so havend runs as an ordinary user here), and its
    core size limit is 0."""
    ws = Workspace()
    d = Daemon(ws)
    d.init_device()
    kw = {}
    exe = HAVEND
    if os.geteuid() == 0:
        # the ordinary user may not reach the build tree (a clone under /root
        # is 0700): run a copy of havend and of the board file from the workspace
        exe = ws.path("havend")
        shutil.copy2(HAVEND, exe)
        board = ws.path("sim.board")
        shutil.copy(SIM_BOARD, board)
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace(os.path.abspath(SIM_BOARD), board))
        nobody = 65534
        for root, dirs, files in os.walk(ws.dir):
            for n in dirs + files:
                os.chown(os.path.join(root, n), nobody, nobody)
        os.chown(ws.dir, nobody, nobody)
        kw = dict(user=nobody, group=nobody, extra_groups=[])
    log = open(ws.path("havend.log"), "a")
    d.log = log
    d.proc = subprocess.Popen([exe, "--config", d.conf], stdout=log, stderr=log, **kw)
    try:
        d.wait(lambda s: s["state"] in ("IDLE", "FAULT"), 20, "havend to come up")
        st = os.stat(f"/proc/{d.proc.pid}/status")
        assert st.st_uid == 0, f"/proc/{d.proc.pid}/status owned by uid {st.st_uid}: havend is dumpable"
        with open(f"/proc/{d.proc.pid}/limits") as f:
            core = [l for l in f if l.startswith("Max core file size")][0].split()
        assert core[4:6] == ["0", "0"], core
        if kw:  # and the test can tell: a dumpable process of the same user is owned by it
            probe = subprocess.Popen(["sleep", "5"], **kw)
            try:
                assert os.stat(f"/proc/{probe.pid}/status").st_uid == kw["user"]
            finally:
                probe.kill()
                probe.wait()
    finally:
        d.stop(timeout=120)
        ws.cleanup()


R.case("havend is not dumpable and has no core size", not_dumpable)


def socket_mode():
    """The control socket gets 0660 without havend changing its umask."""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        st = os.stat(d.sock)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        with open(f"/proc/{d.proc.pid}/status") as f:
            umask = [l.split()[1] for l in f if l.startswith("Umask:")][0]
        mine = os.umask(0)
        os.umask(mine)
        assert int(umask, 8) == mine, (umask, oct(mine), "havend changed its umask")
    finally:
        d.stop(timeout=120)
        ws.cleanup()


R.case("control socket mode 0660, process umask untouched", socket_mode)

def lights_off():
    """ExecStopPost: after havend ends (crash included) every output is driven
    off; a board that cannot be opened is an error naming the chip."""
    ws = Workspace()
    try:
        d = Daemon(ws)
        p = run(HAVEND, "--config", d.conf, "--lights-off", timeout=30)
        assert p.returncode == 0, p.stderr
        assert not os.path.exists(ws.path("state")), "--lights-off touched the state dir"
        board = ws.path("bad.board")
        with open(board, "w") as f:
            f.write("[board]\nbackend=libgpiod\n")
            for sig in ("record", "led-ready", "led-recording", "led-fault"):
                f.write(f"[signal.{sig}]\nchip=gpiochip-that-does-not-exist\nline=3\n")
        with open(d.conf) as f:
            text = f.read()
        start = text.index("board=") + len("board=")
        with open(d.conf, "w") as f:
            f.write(text[:start] + board + text[text.index("\n", start):])
        p = run(HAVEND, "--config", d.conf, "--lights-off", timeout=30)
        assert p.returncode == 1 and "lights not switched off" in p.stderr, p.stderr
        assert "gpiochip-that-does-not-exist" in p.stderr, p.stderr
    finally:
        ws.cleanup()


R.case("--lights-off (ExecStopPost) drives the outputs off, or says why not", lights_off)

def marker_text_at_source():
    """Marker text is limited and one printable line at the source: a line
    break or an escape sequence cannot forge events in a report or clear a
    terminal; the refusal is an error reply naming the rule."""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        for bad in ("ok\nFingerprint: AAAA-BBBB", "\x1b[2J", "tab\there", "\u202egnp.exe", "\r"):
            p = d.haven("mark", bad)
            assert p.returncode == 2 and "printable" in p.stderr, (bad, p.stderr)   # usage
        p = d.haven("mark", "x" * 201)
        assert p.returncode == 2 and "200 bytes" in p.stderr, p.stderr
        d.haven("mark", "child points at the door (é, 12:03)", check=0)
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        assert s["last_session"]["status"] == "COMPLETE", s
        info = d.haven("info", d.sessions()[0], check=0).stdout
        assert "child points at the door (é, 12:03)" in info, info
        assert "Fingerprint: AAAA" not in info and "\x1b" not in info and "gnp.exe" not in info, info
    finally:
        d.stop(timeout=120)
        ws.cleanup()


R.case("marker text: one printable line of at most 200 bytes, refused at the source", marker_text_at_source)


def stalled_main_loop():
    """The main loop stalls (SIGSTOP stands in for a session start on a loaded
    board) across the 2 s hold deadline. A tap made during the stall is read
    late but keeps its time: it must not be taken for a hold; a real hold made
    during a stall still stops."""
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")

        def press_during_stall(held):
            d.haven("sim", "press", "record", check=0)
            d.proc.send_signal(signal.SIGSTOP)
            try:
                time.sleep(held)
                # the release request is sent (and stamped) now, read after SIGCONT
                rel = subprocess.Popen([HAVEN, "sim", "release", "record"], env=d.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(3.0 - held)
            finally:
                d.proc.send_signal(signal.SIGCONT)
            rel.wait(timeout=20)

        press_during_stall(0.3)
        time.sleep(0.5)
        s = d.status()
        assert s["state"] == "RECORDING", f"a 0.3 s tap during a stall was taken for a hold: {s}"
        press_during_stall(2.5)
        s = d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE after a hold during a stall")
        assert s["last_session"]["status"] == "COMPLETE", s
        i = d.haven("info", d.sessions()[0], check=0).stdout
        assert "press by record button ignored while RECORDING" in i, i
        assert "RECORDING -> STOPPING (hold by record button)" in i, i
    finally:
        d.stop()
        ws.cleanup()


R.case("a tap during a main-loop stall is a tap, a hold a hold", stalled_main_loop)


def status_escapes_file_text():
    """A directory name in a storage root reaches fault and recovery lines:
    `haven status` escapes it as every other output of the files."""
    ws = Workspace()
    bad = ws.path("storage", "S000009-x\x1b[2J\nstate:        IDLE")
    os.makedirs(bad)
    with open(os.path.join(bad, "header.hvh"), "wb") as f:
        f.write(b"not a header")
    d = Daemon(ws).start()
    try:
        out = d.haven("status", check=0).stdout
        assert "\x1b" not in out, repr(out)
        assert [l for l in out.splitlines() if l.startswith("state:")] == [l for l in out.splitlines()
                                                                           if l.startswith("state:")][:1], out
        assert "S000009-x\\u{001B}[2J\\nstate:" in out, out
    finally:
        d.stop()
        ws.cleanup()


R.case("haven status escapes text that came from the files", status_escapes_file_text)

R.finish()
