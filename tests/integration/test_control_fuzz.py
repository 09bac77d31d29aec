# SPDX-License-Identifier: GPL-2.0-or-later
"""The control protocol against the live havend, while a session records:
structured requests with wrong types, random JSON, truncated, huge and
binary lines, and a thousand idle connections. havend must stay alive, answer
every malformed request with an error (and audit it), keep 'status'
answerable, and the session must still seal COMPLETE."""
import json
import os
import random
import resource
import selectors
import socket
import sqlite3
import time
import traceback

from daemontest import HAVEND, Daemon
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("control-fuzz")
SEED = int(os.environ.get("HAVEN_FUZZ_SEED", "0")) or random.randrange(1, 1 << 30)
rng = random.Random(SEED)
print(f"seed {SEED} (HAVEN_FUZZ_SEED={SEED} repeats this run)")


def raw(d, data, close_write=True, timeout=10):
    """Send bytes, return what havend replies (b'' if it closed without a reply)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(d.sock)
    try:
        s.sendall(data)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    except (ConnectionResetError, BrokenPipeError):
        return None  # havend refused while we were still sending: allowed for huge input
    finally:
        s.close()


def reply(d, data):
    r = raw(d, data)
    assert r is not None and r.endswith(b"\n"), (data[:80], r)
    return json.loads(r)


def alive(d, what):
    assert d.proc.poll() is None, f"havend died (exit {d.proc.returncode}) after {what}"
    s = d.status()
    assert s is not None, f"status refused after {what}"
    return s


WRONG = [1, -1, 2 ** 70, 1.5, True, False, None, [], ["mark"], {}, {"a": 1}, "", "x" * 5000,
         "\u0000", "a\nb", "\x1b[2J", "\u202e", "\ud7ff", "é" * 300]
FIELDS = ["command", "text", "action", "signal", "edges"]
COMMANDS = ["status", "start", "stop", "mark", "sim", "nonsense", ""]


def structured_requests():
    """Every field a command reads, with every wrong type or content."""
    out = []
    for w in WRONG:
        out.append({"command": w})
        if w not in ("", "\ud7ff"):   # an empty or plain marker text is fine
            out.append({"command": "mark", "text": w})
        for f in ("action", "signal", "edges"):
            if f == "edges" and type(w) is int and 1 <= w <= 100000:
                continue                # a JSON integer is a valid edge count
            req = {"command": "sim", "action": "storm", "signal": "marker", "edges": "2"}
            req[f] = w
            out.append(req)
    return out


def random_json(depth=0):
    k = rng.randrange(8 if depth < 3 else 5)
    if k == 0:
        return rng.randrange(-2 ** 63, 2 ** 63)
    if k == 1:
        return rng.random() * 1e300
    if k == 2:
        return rng.choice([True, False, None])
    if k == 3:
        return "".join(chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0xd800)]))
                       for _ in range(rng.randrange(0, 40)))
    if k == 4:
        return rng.choice(COMMANDS + ["marker", "record", "storm", "press", "release"])
    if k == 5:
        return [random_json(depth + 1) for _ in range(rng.randrange(0, 4))]
    obj = {rng.choice(FIELDS + ["x"]): random_json(depth + 1) for _ in range(rng.randrange(0, 5))}
    if rng.random() < 0.7:
        obj["command"] = rng.choice(COMMANDS) if rng.random() < 0.7 else random_json(depth + 1)
    return obj


def safe(req):
    """Requests that would legitimately end the session are not sent."""
    return not (isinstance(req, dict) and req.get("command") in ("stop", "sim")
                and (req.get("command") == "stop" or req.get("signal", "record") == "record"))


def fuzz_while_recording():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        n_refused = 0

        # 1. structured: wrong types for every field, each answered with an error
        for req in structured_requests():
            if not safe(req):
                continue
            r = reply(d, (json.dumps(req) + "\n").encode())
            assert r["ok"] is False, (req, r)
            n_refused += 1
        s = alive(d, "structured requests")
        assert s["state"] == "RECORDING", s

        # marker text: over-long and control characters refused at the source
        for blank in (b"\n", b"   \n", b"\t\r\n"):   # parse to no JSON value at all
            r = reply(d, blank)
            assert not r["ok"] and "not a JSON object" in r["error"], (blank, r)
        alive(d, "blank lines")
        r = reply(d, json.dumps({"command": "mark", "text": "x" * 201}).encode() + b"\n")
        assert not r["ok"] and "200 bytes" in r["error"], r
        for bad in ("line\nForged: event", "\x1b[2J", "a\rb", "\u2028", "\u202eevil", "\x7f"):
            r = reply(d, json.dumps({"command": "mark", "text": bad}).encode() + b"\n")
            assert not r["ok"] and "printable" in r["error"], (bad, r)
        r = reply(d, json.dumps({"command": "mark", "text": "Zeugin zögert – 12:03"}).encode() + b"\n")
        assert r["ok"], r

        # 2. random JSON values, random bytes, truncated and huge lines
        for i in range(300):
            k = i % 6
            if k == 0:
                req = random_json()
                if not safe(req):
                    continue
                data = json.dumps(req).encode() + b"\n"
            elif k == 1:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + b"\n"
            elif k == 2:   # truncated: no newline, then the client closes
                data = json.dumps({"command": "mark", "text": "cut"}).encode()[:rng.randrange(1, 20)]
            elif k == 3:   # huge line
                data = b'{"command":"mark","text":"' + b"A" * rng.choice([4096, 70000, 1 << 20]) + b'"}\n'
            elif k == 4:   # JSON, then garbage on the same line
                data = b'{"command":"status"}' + bytes(rng.randrange(256) for _ in range(20)) + b"\n"
            else:          # deep nesting within the size limit
                depth = rng.randrange(100, 2000)
                data = b'{"command":' + b"[" * depth + b"]" * depth + b"}\n"
            r = raw(d, data)
            if r:
                assert r.endswith(b"\n") and b'"ok"' in r, (data[:80], r[:200])
            if i % 50 == 0:
                assert alive(d, f"random request {i}")["state"] == "RECORDING"
        s = alive(d, "random requests")
        assert s["state"] == "RECORDING", s

        # 3. many connections: 1,100 idle, then status must still answer at once
        conns = []
        try:
            for _ in range(1100):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.setblocking(False)
                try:
                    c.connect(d.sock)
                except (BlockingIOError, InterruptedError):
                    pass
                conns.append(c)
            t0 = time.time()
            s = alive(d, "1,100 idle connections")
            assert time.time() - t0 < 5, f"status took {time.time() - t0:.1f} s"
            assert s["state"] == "RECORDING", s
        finally:
            for c in conns:
                c.close()

        # 4. the descriptor limit: accept fails (EMFILE); havend must not spin or flood the log
        nfd = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
        old_soft = resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE)[0]
        run("prlimit", f"--pid={d.proc.pid}", f"--nofile={nfd + 4}:", check=0)  # soft limit only
        with open(d.ws.path("havend.log")) as f:
            log_before = f.read()
        # what recording alone costs (encoding under ASan is not cheap)
        cpu0, t0 = cpu_seconds(d.proc.pid), time.time()
        time.sleep(3)
        base = (cpu_seconds(d.proc.pid) - cpu0) / (time.time() - t0)
        cpu0, t0 = cpu_seconds(d.proc.pid), time.time()
        conns = []
        try:
            for _ in range(300):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.setblocking(False)
                try:
                    c.connect(d.sock)
                except (BlockingIOError, InterruptedError):
                    pass
                conns.append(c)
            time.sleep(3)
            cpu = cpu_seconds(d.proc.pid) - cpu0
            wall = time.time() - t0
            s = d.wait(lambda s: True, 15, "status at the descriptor limit")
            assert s["state"] == "RECORDING", s
        finally:
            for c in conns:
                c.close()
        # a spinning accept loop costs a whole core on top of the recording
        assert cpu < (base + 0.4) * wall, \
            f"havend used {cpu:.1f} s CPU in {wall:.1f} s at the descriptor limit ({base:.2f} s/s recording alone)"
        with open(d.ws.path("havend.log")) as f:
            new = f.read()[len(log_before):]
        noisy = [l for l in new.splitlines() if "accept" in l or "Too many open files" in l]
        assert 1 <= len(noisy) <= 3, f"{len(noisy)} accept-failure log lines: {noisy[:5]}"
        run("prlimit", f"--pid={d.proc.pid}", f"--nofile={old_soft}:", check=0)

        # the recording went on and seals COMPLETE
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        assert s["last_session"]["status"] == "COMPLETE", s
        v = run(HAVEN, "verify", "--expect", s["last_session"]["fingerprint"], d.sessions()[0])
        assert v.returncode == 0 and v.stdout.startswith("COMPLETE"), v.stdout
        info = run(HAVEN, "info", d.sessions()[0], check=0).stdout
        assert "Zeugin zögert" in info and "Forged: event" not in info, info

        # every malformed request was audited
        d.stop(timeout=120)  # leak check at exit is slow on a loaded machine
        con = sqlite3.connect(ws.path("state", "catalog.db"))
        rows = con.execute("select count(*) from audit where result like 'refused:%'").fetchone()[0]
        kinds = {r[0] for r in con.execute("select result from audit where result like 'refused:%'")}
        con.close()
        assert rows >= n_refused, (rows, n_refused)
        for want in ("must be a string", "not UTF-8", "not a JSON object", "truncated", "longer than"):
            assert any(want in k for k in kinds), (want, sorted(kinds)[:20])
    finally:
        d.stop(timeout=120)
        ws.cleanup()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
def with_traceback(fn):
    def run_it():
        try:
            fn()
        except Exception as e:
            raise AssertionError(f"{e}\n{traceback.format_exc()}") from e
    return run_it


R.case("control fuzz while recording: havend alive, errors audited, status answers, session COMPLETE",
       with_traceback(fuzz_while_recording))

def waiters_capped():
    """Each 'haven start' waiting for its outcome holds a connection: at most
    16 wait at a time; more are refused at once, with nothing done, so a
    member of the control group cannot run havend out of descriptors."""
    ws = Workspace()
    slow = ws.path("capture-slow")
    real = os.path.join(os.path.dirname(HAVEND), "haven-capture")
    with open(slow, "w") as f:
        f.write(f'#!/bin/sh\n[ "$1" = --prepare ] || sleep 8\nexec "{real}" "$@"\n')
    os.chmod(slow, 0o755)
    d = Daemon(ws)
    os.environ["HAVEN_CAPTURE"] = slow   # a start that stays STARTING for 8 s
    try:
        d.start()
    finally:
        del os.environ["HAVEN_CAPTURE"]
    socks = []
    try:
        d.wait(lambda s: s["capture_engine"] == "ready", 60, "the capture engine")
        for _ in range(20):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(d.sock)
            c.sendall(b'{"command":"start"}\n')
            socks.append(c)
            time.sleep(0.15)   # paced: each request read (and waiting) before the next connects
        answered = []
        sel = selectors.DefaultSelector()
        for c in socks:
            sel.register(c, selectors.EVENT_READ)
        end = time.monotonic() + 3
        while time.monotonic() < end and len(answered) < 20:
            for key, _ in sel.select(timeout=max(0.0, end - time.monotonic())):
                sel.unregister(key.fileobj)
                answered.append(json.loads(key.fileobj.recv(65536)))
        refused = [r for r in answered if "already wait for havend's outcome" in r.get("error", "")]
        assert len(refused) == 4 and len(answered) == 4, answered
        s = alive(d, "20 clients waiting on a start")
        assert s["state"] == "STARTING", s
    finally:
        for c in socks:
            c.close()
        d.stop()
        ws.cleanup()


R.case("at most 16 clients wait for a start's outcome; more are refused at once", waiters_capped)

R.finish()
