#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Export throughput (issue 11 §5). Prints what it measured, asserts nothing.

On one session of about 1 GiB of real recorded media (benchlib.real_media:
H.264 + AAC in MPEG-TS, sealed with the real vault writer by hv-mksession,
one checkpoint per 375 kB as the recorder commits at 3 Mbit/s), in one run:
1. `haven export` end to end: wall time, MB/s of the exported stream, peak
   RSS (GNU time);
2. where the time goes (hv-bench-export runs each step on its own with the
   code export uses: the verify pass, + decryption, + writing and fsync, the
   SHA-256 of the .ts, the remux to MP4 (libavformat), the SHA-256 of the
   MP4), as seconds and shares of their sum; export hashes the .ts beside
   decryption, then remuxes the written .ts (it needs the verdict to know
   whether the last frame may be torn);
3. `ffmpeg -c copy` of the same .ts to MP4 (remux alone, the reference
   implementation), and `b2sum` and `sha256sum` over the session files, for
   scale.
Usage: tools/bench-export.py [--mib 1024] [--rounds 2] [--dir /var/tmp]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile

from benchlib import COMMIT_EVERY, build, build_release, haven, real_media, timed

mksession = os.path.join(build, "tests", "hv-mksession")
phases_tool = os.path.join(build, "tests", "hv-bench-export")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dir", default="/var/tmp")
    a = ap.parse_args()
    build_release()
    media = real_media(a.dir, a.mib)
    work = tempfile.mkdtemp(prefix="haven-bench-export-", dir=a.dir)
    try:
        subprocess.run([haven, "keygen", "--out", os.path.join(work, "c")], check=True,
                       stdout=subprocess.DEVNULL)
        session = os.path.join(work, "s")
        subprocess.run([mksession, "--device-key", os.path.join(work, "dev.key"), "--recipient",
                        os.path.join(work, "c.pub"), "--out", session, "--no-sync",
                        "--commit-every", str(COMMIT_EVERY), "--media", media], check=True,
                       stdout=subprocess.DEVNULL)
        files = [os.path.join(session, f) for f in sorted(os.listdir(session))]
        size = os.path.getsize(media)
        subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL, check=True)   # warm the page cache
        walls, b2, sha = [], [], []
        rss = 0
        for r in range(a.rounds):
            out = os.path.join(work, f"exp{r}")
            w, rss, rc = timed([haven, "export", "--identity", os.path.join(work, "c.key"), "--out", out,
                                session])
            assert rc == 0, f"haven export exited {rc}"
            walls.append(w)
            shutil.rmtree(out)
            b2.append(timed(["b2sum"] + files)[0])
            sha.append(timed(["sha256sum"] + files)[0])
        w, mb, ms = statistics.median(walls), statistics.median(b2), statistics.median(sha)
        print(f"== haven export of {size / 2**20:.0f} MiB of real media (MPEG-TS out, MP4 out), "
              f"{os.cpu_count()} CPUs, median of {a.rounds}, cache warm")
        print(f"haven export: {w:6.2f} s  {size / w / 1e6:6.0f} MB/s  (goal >= 300 MB/s)  peak RSS "
              f"{rss / 1024:.1f} MB")
        print(f"b2sum:        {mb:6.2f} s  {size / mb / 1e6:6.0f} MB/s  (session files, for scale)")
        print(f"sha256sum:    {ms:6.2f} s  {size / ms / 1e6:6.0f} MB/s")

        out = os.path.join(work, "phases")
        os.makedirs(out)
        text = subprocess.run([phases_tool, session, os.path.join(work, "c.key"), out], check=True,
                              capture_output=True, text=True).stdout
        t = {k: float(v) for k, v in (line.split() for line in text.splitlines())}
        steps = [("verify (read, leaves on all cores, chain, signatures)", t["verify"]),
                 ("decrypt (secretstream)", t["verify+decrypt"] - t["verify"]),
                 ("write the .ts + fsync", t["verify+decrypt+write"] - t["verify+decrypt"] + t["fsync"]),
                 ("SHA-256 of the .ts (OpenSSL)", t["sha-ts"]),
                 ("remux to MP4 (libavformat)", t["remux"]),
                 ("SHA-256 of the MP4 (OpenSSL)", t["sha-mp4"])]
        total = sum(s for _, s in steps)
        print(f"== where the time goes, each step alone, one after another ({total:.2f} s in all, "
              f"{size / total / 1e6:.0f} MB/s if nothing overlapped)")
        for name, s in steps:
            print(f"{name:55s} {s:6.2f} s  {100 * s / total:5.1f} %  {size / max(s, 1e-9) / 1e6:7.0f} MB/s")
        print(f"export wall / sum of steps: {w / total:.2f}  (below 1: the .ts hash ran beside "
              f"decryption)")
        # the same .ts through ffmpeg's own remux, for scale (page cache warm: just written)
        ts = os.path.join(out, "bench.ts")
        ref = os.path.join(out, "ffmpeg.mp4")
        fw = timed(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", ts, "-c", "copy", "-movflags",
                    "+faststart", ref])[0]
        print(f"ffmpeg -c copy (remux alone, faststart): {fw:6.2f} s  {size / fw / 1e6:6.0f} MB/s  "
              f"haven's remux / ffmpeg's: {t['remux'] / fw:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
