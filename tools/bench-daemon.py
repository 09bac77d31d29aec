#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""havend benchmarks (issue: daemon). Prints what it measured, asserts nothing.

- press -> acknowledgement on the lights (red on, "release to start"): inside havend,
  from the edge time to the output set (sim board), and as a client sees it (sim press
  over the socket until the status shows the red light); median over --presses starts;
- release -> red blinking (a session starts on the release of a short press), and
  press -> red blinking, which adds the tap's duration;
- press -> red steady (recorder healthy: sources delivering, first sealed chunk on disk);
- idle: wake-ups (context switches of all havend threads) over --idle seconds, and RSS,
  both before any session and after sessions have run (capture runs in haven-capture,
  one process per session: its RSS while recording is printed apart, and whether
  GStreamer is mapped into havend at all).
Usage: tools/bench-daemon.py [--presses 10] [--idle 20]
"""
import argparse
import getpass
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import build, build_release, haven, top
havend = os.path.join(build, "firmware", "havend")
TAP_S = 0.15   # a brisk short press, release to press


def ctxt_switches(pid):
    """Context switches per thread id (a thread that ends takes its count along)."""
    per = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                per[tid] = sum(int(l.split()[1]) for l in f
                               if l.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        except FileNotFoundError:
            pass
    return per


def wakeups(pid, seconds):
    """Context switches per second over `seconds`, counting every thread that
    existed at either end (new threads count in full)."""
    a = ctxt_switches(pid)
    time.sleep(seconds)
    b = ctxt_switches(pid)
    return sum(n - a.get(t, 0) for t, n in b.items()) / seconds


def rss_mb(pid):
    """VmRSS, and its anonymous and file-backed parts, in MB."""
    v = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon", "RssFile"):
                v[k] = int(line.split()[1]) / 1024
    return f"{v['VmRSS']:.1f} MB (anonymous {v['RssAnon']:.1f} MB, file-backed {v['RssFile']:.1f} MB)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=10)
    ap.add_argument("--idle", type=int, default=20)
    a = ap.parse_args()
    build_release()
    work = tempfile.mkdtemp(prefix="haven-bench-d-", dir="/var/tmp")
    env = dict(os.environ, HAVEN_SOCKET=os.path.join(work, "control.sock"))

    def h(*args):
        return subprocess.run([haven, *args], env=env, capture_output=True, text=True)

    def status():
        p = h("status", "--json")
        return json.loads(p.stdout) if p.returncode == 0 else None

    def sim_edge(action, at_us):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(env["HAVEN_SOCKET"])
            c.sendall((json.dumps({"command": "sim", "action": action, "signal": "record",
                                   "at_us": str(at_us)}) + "\n").encode())
            r = json.loads(c.makefile().readline())
        if not r.get("ok"):
            sys.exit(f"sim {action}: {r}")
        return at_us

    def wait(pred, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = status()
            if s and pred(s):
                return s
            time.sleep(0.005)
        sys.exit(f"timed out; last status {s}")

    subprocess.run([haven, "keygen", "--out", os.path.join(work, "c")], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(work, "haven.conf"), "w") as f:
        f.write(f"""[device]
room=Bench
board={top}/board/boards/sim.board
key={work}/state/device.key
state-dir={work}/state
control-socket={work}/control.sock
[storage]
roots={work}/storage
min-free-minutes=1
[custodians]
recipients={work}/c.pub
""")
    # provisioned as a technician does once: havend never creates the device key
    subprocess.run([havend, "--config", os.path.join(work, "haven.conf"), "--init-device", "--user",
                    getpass.getuser()], check=True, stdout=subprocess.DEVNULL)
    d = subprocess.Popen([havend, "--config", os.path.join(work, "haven.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(lambda s: s["state"] == "IDLE")
        time.sleep(1)
        idle_before = wakeups(d.pid, a.idle)
        rss_before = rss_mb(d.pid)

        inside_blink, release_blink, client_ack, ack, steady, capture_rss = [], [], [], [], [], []
        for _ in range(a.presses):
            # a session starts on the release of a short press; the press itself
            # is acknowledged at once (red on: "release to start")
            # edges go over the socket with their own time stamps, as `haven sim`
            # sends them: the tap lasts TAP_S however slow the polling is
            t0 = time.monotonic()
            pressed_us = sim_edge("press", time.monotonic_ns() // 1000)
            s = wait(lambda s: s["lights"]["led-recording"])
            client_ack.append((time.monotonic() - t0) * 1000)
            ack.append(s["feedback"]["latency_ms"])
            release_us = pressed_us + int(TAP_S * 1e6)
            time.sleep(max(0.0, (release_us - time.monotonic_ns() // 1000) / 1e6))
            sim_edge("release", release_us)
            s = wait(lambda s: s["state"] == "RECORDING")
            inside_blink.append(s["press_to_blink_ms"])
            release_blink.append(s["release_to_blink_ms"])
            steady.append(s["press_to_steady_ms"])
            time.sleep(1)
            try:
                capture_rss.append(rss_mb(s["session"]["capture_pid"]))
            except (KeyError, FileNotFoundError):
                pass
            h("stop")
            wait(lambda s: s["state"] == "IDLE")
        time.sleep(2)
        idle_after = wakeups(d.pid, a.idle)
        rss_after = rss_mb(d.pid)
        print(f"== press -> acknowledged on the lights, {a.presses} presses (goal <= 100 ms)")
        print(f"inside havend (edge time -> output): median {statistics.median(ack):.3f} ms, max {max(ack):.3f} ms")
        print(f"seen by a client over the socket: median {statistics.median(client_ack):.1f} ms "
              f"(includes a 'haven status' process start)")
        print(f"== release -> red blinking (a session starts on the release of a short press)")
        print(f"inside havend: median {statistics.median(release_blink):.3f} ms, max {max(release_blink):.3f} ms")
        print(f"== press -> red blinking, taps of about {TAP_S * 1000:.0f} ms (goal median <= 20 ms + the tap)")
        print(f"inside havend (press processed -> output): median {statistics.median(inside_blink):.1f} ms, "
              f"max {max(inside_blink):.1f} ms: the tap's duration is the added latency")
        print(f"== press -> red steady, first sealed chunk on disk (goal <= 1500 ms)")
        print(f"median {statistics.median(steady):.0f} ms, max {max(steady):.0f} ms")
        print(f"== idle (goal: no wake-ups more often than 1/s, RSS <= 24 MB)")
        print(f"before any session: {idle_before:.2f} wake-ups/s, RSS {rss_before}")
        print(f"after {a.presses} sessions: {idle_after:.2f} wake-ups/s, RSS {rss_after}")
        with open(f"/proc/{d.pid}/maps") as f:
            gst = any("libgstreamer" in l for l in f)
        print(f"GStreamer mapped into havend: {'yes' if gst else 'no'}")
        if capture_rss:
            print(f"haven-capture while recording (exits after each session): RSS {capture_rss[-1]}")
    finally:
        d.terminate()
        d.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
