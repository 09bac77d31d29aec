#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Verify on all cores (issue 11 §5). Prints what it measured, asserts nothing.

In one run, page cache warm for every contender (the files are read once
before, then the contenders alternate, median of N rounds):
1. one 1 GiB session of real recorded media (benchlib.real_media, sealed
   with the real vault writer by hv-mksession, one checkpoint per 375 kB as
   the recorder commits at 3 Mbit/s): `haven verify` against `b2sum` and
   `sha256sum` over the same files;
2. an archive of many small sessions of the same total size (pseudo-random
   media, sealed the same way): the same three;
then libsodium's BLAKE2b alone on one core over the same files from memory
(hv-bench-hash: the most one core can give verify, and so the ceiling of the
ratio on this machine's cores), and the ratios (contender time / verify time: above 1 means verify is
faster) and the peak RSS of `haven verify` (GNU time).
Usage: tools/bench-verify.py [--mib 1024] [--sessions 256] [--rounds 3] [--dir /var/tmp]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile

from benchlib import COMMIT_EVERY, build, build_release, haven, real_media, timed

mksession = os.path.join(build, "tests", "hv-mksession")
hashtool = os.path.join(build, "tests", "hv-bench-hash")


def seal(work, out, *media):
    subprocess.run([mksession, "--device-key", os.path.join(work, "dev.key"), "--recipient",
                    os.path.join(work, "c.pub"), "--out", out, "--no-sync",
                    "--commit-every", str(COMMIT_EVERY), *media], check=True, stdout=subprocess.DEVNULL)


def files_of(path):
    out = []
    for root, _, names in os.walk(path):
        out += [os.path.join(root, n) for n in sorted(names)]
    return sorted(out)


def compare(label, target, files, rounds):
    size = sum(os.path.getsize(f) for f in files)
    subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL, check=True)   # warm the page cache
    times = {"b2sum": [], "sha256sum": [], "haven verify": []}
    hs = []
    rss = 0
    for _ in range(rounds):
        # libsodium's BLAKE2b alone (its own clock: the files are read first)
        out = subprocess.run([hashtool, str(COMMIT_EVERY)] + files, check=True, capture_output=True,
                             text=True).stdout.split()
        hs.append(float(out[0]))
        times["b2sum"].append(timed(["b2sum"] + files)[0])
        times["sha256sum"].append(timed(["sha256sum"] + files)[0])
        w, rss, rc = timed([haven, "verify", target])
        assert rc == 0, f"haven verify {target} exited {rc}"
        times["haven verify"].append(w)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"== {label}: {size / 2**20:.0f} MiB in {len(files)} files, {os.cpu_count()} CPUs, "
          f"median of {rounds} alternated rounds, cache warm")
    for k, t in med.items():
        print(f"{k:13s} {t:6.2f} s  {size / t / 1e6:6.0f} MB/s")
    v = med["haven verify"]
    print(f"ratio b2sum/verify:     {med['b2sum'] / v:.2f}  (goal >= 1.8 on 2 cores)")
    # the ceiling: libsodium's BLAKE2b alone, one core, from memory, records of
    # COMMIT_EVERY bytes; verify cannot beat this divided by the number of cores
    h = statistics.median(hs)
    cores = os.cpu_count()
    print(f"libsodium BLAKE2b alone, 1 core, from memory: {h:.2f} s  {size / h / 1e6:6.0f} MB/s  "
          f"(b2sum/it {med['b2sum'] / h:.2f})")
    print(f"ceiling on {cores} cores (hashing only, perfect split): b2sum/verify <= "
          f"{med['b2sum'] / (h / cores):.2f}; verify reaches {(h / cores) / v:.0%} of it")
    print(f"ratio sha256sum/verify: {med['sha256sum'] / v:.2f}")
    print(f"peak RSS haven verify:  {rss / 1024:.1f} MB  (goal <= 32 MB)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--sessions", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp")
    a = ap.parse_args()
    build_release()
    media = real_media(a.dir, a.mib)
    work = tempfile.mkdtemp(prefix="haven-bench-verify-", dir=a.dir)
    try:
        subprocess.run([haven, "keygen", "--out", os.path.join(work, "c")], check=True,
                       stdout=subprocess.DEVNULL)
        one = os.path.join(work, "one")
        seal(work, one, "--media", media)
        compare("one session of real media", one, files_of(one), a.rounds)
        many = os.path.join(work, "many")
        os.makedirs(many)
        per = a.mib * 2**20 // a.sessions
        prev = []
        for i in range(a.sessions):
            out = os.path.join(many, f"S{i + 1:06d}")
            seal(work, out, "--bytes", str(per), "--seq", str(i + 1), *prev)
            prev = ["--prev", out]
        compare(f"{a.sessions} sessions of {per / 2**20:.1f} MiB", many, files_of(many), a.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
