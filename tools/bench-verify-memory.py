#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Peak RSS of the streaming readers (issue 8 item 9). Prints what it measured,
asserts nothing (tests/integration/test_verify_memory.py asserts the bound).

Builds, with hv-mksession and the real vault writer, an unsealed session of
N events of 4 KiB of invalid UTF-8 (default 100,000: 400 MB) and a sealed one
with the same events, then reports the peak RSS (GNU time) and wall time of
`haven verify`, `haven verify --json` and `haven info` on them, and of
`haven verify` on a folder of many small sessions.
Usage: tools/bench-verify-memory.py [--events 100000] [--sessions 200] [--dir /var/tmp]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time

from benchlib import build, build_release, haven

mksession = os.path.join(build, "tests", "hv-mksession")


def timed(args):
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, errors="replace")
    return time.monotonic() - t0, int(p.stderr.strip().splitlines()[-1]), p.returncode


def make(work, name, events, *extra):
    subprocess.run([mksession, "--device-key", os.path.join(work, "dev.key"), "--recipient",
                    os.path.join(work, "cust.pub"), "--out", os.path.join(work, name), "--no-sync",
                    "--bytes", "100000", "--commit-every", "1000000", "--events", str(events),
                    "--event-bytes", "4096", "--event-fill", "invalid", *extra],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(work, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--dir", default="/var/tmp")
    a = ap.parse_args()
    build_release()
    work = tempfile.mkdtemp(prefix="haven-bench-mem-", dir=a.dir)
    try:
        subprocess.run([haven, "keygen", "--out", os.path.join(work, "cust")], check=True,
                       stdout=subprocess.DEVNULL)
        unsealed = make(work, "unsealed", a.events, "--no-seal")
        sealed = make(work, "sealed", a.events)
        folder = os.path.join(work, "many")
        os.makedirs(folder)
        for i in range(a.sessions):
            make(work, f"many/s{i:05d}", 1)
        mib = sum(os.path.getsize(os.path.join(unsealed, f)) for f in os.listdir(unsealed)) / 2**20
        print(f"session: {a.events} events of 4 KiB invalid UTF-8, {mib:.0f} MiB on disk")
        for label, args in (
            ("verify, unsealed", [haven, "verify", unsealed]),
            ("verify --json, unsealed", [haven, "verify", "--json", unsealed]),
            ("verify, sealed", [haven, "verify", sealed]),
            ("info, sealed (events printed)", [haven, "info", sealed]),
            (f"verify, {a.sessions} sessions", [haven, "verify", folder]),
        ):
            wall, kib, rc = timed(args)
            print(f"{label:34s} peak RSS {kib / 1024:6.1f} MiB  {wall:6.2f} s  exit {rc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
