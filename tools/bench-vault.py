#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Vault benchmarks (issue: evidence vault). Prints what it measured, asserts nothing.

1. seal throughput on one core, fsync off (hv-bench-seal), beside a plain write;
2. `haven verify` on a 1 GiB session against `b2sum` on the same files, alternated
   in one run, page cache warm, median of N rounds;
3. peak RSS of `haven verify` and `haven export` on that session.
Usage: tools/bench-vault.py [--mib 1024] [--rounds 3] [--dir /var/tmp]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import build, build_release, haven, top


def timed(args):
    """Wall seconds and peak RSS (KiB) of one command. RSS comes from GNU time,
    a small C parent: a Python parent's own pages would be counted before exec."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    return wall, int(p.stderr.strip().splitlines()[-1]), p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp")
    a = ap.parse_args()
    build_release()
    work = tempfile.mkdtemp(prefix="haven-bench-", dir=a.dir)
    try:
        subprocess.run([haven, "keygen", "--out", os.path.join(work, "c")], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"== seal: {a.mib} MiB, one thread, fsync off")
        out = subprocess.run([os.path.join(build, "tests", "hv-bench-seal"), work, str(a.mib), "s",
                              os.path.join(work, "c.pub")], check=True, capture_output=True,
                             text=True).stdout
        print(out, end="")
        session = os.path.join(work, "s")
        files = [os.path.join(session, f) for f in sorted(os.listdir(session))]
        size = sum(os.path.getsize(f) for f in files)
        timed(["cat"] + files)  # warm the page cache
        b2, ver = [], []
        for _ in range(a.rounds):
            w, _, _ = timed(["b2sum"] + files)
            b2.append(w)
            w, rss_verify, rc = timed([haven, "verify", session])
            assert rc == 0, "verify failed"
            ver.append(w)
        mb, mv = statistics.median(b2), statistics.median(ver)
        print(f"== verify vs b2sum on {size / 2**20:.0f} MiB, median of {a.rounds} alternated rounds")
        print(f"b2sum:        {mb:.2f} s ({size / mb / 1e6:.0f} MB/s)")
        print(f"haven verify: {mv:.2f} s ({size / mv / 1e6:.0f} MB/s)")
        print(f"ratio b2sum/verify: {mb / mv:.2f}  (goal >= 1.0)")
        w, rss_export, rc = timed([haven, "export", "--identity", os.path.join(work, "c.key"),
                                   "--out", os.path.join(work, "exp"), session])
        print("== peak RSS (goal <= 32 MB)")
        print(f"haven verify: {rss_verify / 1024:.1f} MB")
        print(f"haven export: {rss_export / 1024:.1f} MB (exit {rc}; the stream is random bytes, so "
              f"the MP4 remux step reports an error after decrypting everything, in {w:.1f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
