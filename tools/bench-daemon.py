#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""havend benchmarks (issue: daemon). Prints what it measured, asserts nothing.

- press -> red blinking: inside havend, from the debounced edge to the output set
  (sim board), and as a client sees it (sim press over the socket until the status
  shows the red light); median over --presses starts;
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
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import build, build_release, haven, top
havend = os.path.join(build, "firmware", "havend")


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

        inside_blink, client_blink, steady, capture_rss = [], [], [], []
        for _ in range(a.presses):
            t0 = time.monotonic()
            # released at once: on a loaded machine, waiting for the light
            # first could make the press a hold (which stops the start)
            h("sim", "press", "record")
            h("sim", "release", "record")
            s = wait(lambda s: s["lights"]["led-recording"])
            client_blink.append((time.monotonic() - t0) * 1000)
            s = wait(lambda s: s["state"] == "RECORDING")
            inside_blink.append(s["press_to_blink_ms"])
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
        print(f"== press -> red blinking, {a.presses} presses (goal median <= 20 ms)")
        print(f"inside havend (edge -> output): median {statistics.median(inside_blink):.3f} ms, "
              f"max {max(inside_blink):.3f} ms")
        print(f"seen by a client over the socket: median {statistics.median(client_blink):.1f} ms "
              f"(includes two 'haven' process starts)")
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
