#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Recorder benchmarks (issue: recorder). Prints what it measured, asserts nothing.

In one run, one after the other on the same machine:
  A. gst-launch-1.0: the recorder's pipeline (one test camera 1280x720@25 with the
     overlays, test microphone, x264 + AAC, MPEG-TS) into a plain filesink;
  B. hv-record: the same through the recorder library, sealed into the vault
     (encryption, hash chain, signed checkpoints, fsync every second).
Reports CPU seconds of each, the ratio B/A (goal <= 1.05), the recorder's peak RSS
(goal <= 120 MB) and its start latency, start call to first sealed chunk fsynced
(goal <= 1.5 s, median over --starts short sessions).
Usage: tools/bench-recorder.py [--seconds 60] [--starts 5]
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

from benchlib import build, build_release, haven, top
record = os.path.join(build, "tests", "hv-record")

# Kept in step with recorder/capture.c (one camera, PiP layout, test sources).
PIPELINE = (
    "compositor name=comp background=black ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1 ! "
    "clockoverlay time-format=\"%Y-%m-%d %H:%M:%S\" halignment=right valignment=top "
    "shaded-background=true font-desc=\"Sans 18\" ! "
    "textoverlay text=\"Bench room  session 1\" halignment=left valignment=bottom "
    "shaded-background=true font-desc=\"Sans 16\" ! "
    "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast "
    "bitrate=3000 key-int-max=50 threads=2 ! h264parse config-interval=-1 ! queue ! "
    "mpegtsmux name=mux alignment=7 ! filesink location={out} "
    "videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=16,height=16,framerate=25/1 ! "
    "comp.sink_0 "
    "videotestsrc is-live=true pattern=ball num-buffers={frames} ! videoconvert ! videoscale ! "
    "videorate ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1,pixel-aspect-ratio=1/1 ! "
    "queue max-size-buffers=4 leaky=downstream ! comp.sink_1 "
    "audiomixer name=amix ! audio/x-raw,rate=48000,channels=1 ! avenc_aac bitrate=128000 ! "
    "aacparse ! queue ! mux. "
    "audiotestsrc is-live=true wave=silence ! audio/x-raw,rate=48000,channels=1 ! amix.sink_0 "
    "audiotestsrc is-live=true wave=sine volume=0.3 ! audioconvert ! audioresample ! "
    "audio/x-raw,rate=48000,channels=1 ! level interval=500000000 post-messages=true ! queue ! "
    "amix.sink_1"
)


def cpu_of(args, timeout):
    """CPU seconds (user+sys), peak RSS (KiB) and output of a command, via GNU time."""
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S %M"] + args, capture_output=True,
                       text=True, timeout=timeout)
    line = [l for l in p.stderr.splitlines() if l.startswith("TIME ")][-1].split()
    return float(line[1]) + float(line[2]), int(line[3]), p.stdout, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--starts", type=int, default=5)
    a = ap.parse_args()
    build_release()
    work = tempfile.mkdtemp(prefix="haven-bench-rec-", dir="/var/tmp")
    try:
        subprocess.run([haven, "keygen", "--out", os.path.join(work, "c")], check=True,
                       stdout=subprocess.DEVNULL)
        # A: the plain pipeline. The camera's num-buffers ends it; EOS (-e) flushes the file.
        desc = PIPELINE.format(out=os.path.join(work, "plain.ts"), frames=a.seconds * 25)
        t0 = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "TIME %U %S %M", "sh", "-c",
                                 f"exec gst-launch-1.0 -q -e {desc}"], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(a.seconds)
        # the keep-alive sources are endless: interrupt gst-launch (GNU time ignores
        # SIGINT and keeps measuring), -e turns it into EOS so the file is complete
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
        line = [l for l in err.splitlines() if l.startswith("TIME ")][-1].split()
        cpu_a, rss_a = float(line[1]) + float(line[2]), int(line[3])
        wall_a = time.monotonic() - t0
        # B: the recorder library, sealed
        cpu_b, rss_b, out, rc = cpu_of([record, "--root", os.path.join(work, "vault"), "--recipient",
                                        os.path.join(work, "c.pub"), "--device-key",
                                        os.path.join(work, "dev.key"), "--seconds",
                                        str(a.seconds)], a.seconds + 120)
        assert rc == 0, out
        print(f"== CPU, {a.seconds} s of 1280x720@25 test video + audio")
        print(f"gst-launch -> filesink:   {cpu_a:.2f} CPU s ({wall_a:.1f} s wall), peak RSS {rss_a / 1024:.0f} MB")
        print(f"recorder -> vault:        {cpu_b:.2f} CPU s, peak RSS {rss_b / 1024:.0f} MB")
        print(f"ratio recorder/plain:     {cpu_b / cpu_a:.3f}  (goal <= 1.05)")
        print(f"peak RSS recorder:        {rss_b / 1024:.1f} MB  (goal <= 120 MB)")
        lat = []
        for i in range(a.starts):
            _, _, out, rc = cpu_of([record, "--root", os.path.join(work, f"lat{i}"), "--recipient",
                                    os.path.join(work, "c.pub"), "--device-key",
                                    os.path.join(work, "dev.key"), "--seconds", "3"], 120)
            m = re.search(r"start-latency-ms: ([\d.]+)", out)
            lat.append(float(m[1]))
        print(f"== start latency, start call to first sealed chunk fsynced, {a.starts} starts")
        print(f"median {statistics.median(lat):.0f} ms, min {min(lat):.0f}, max {max(lat):.0f}"
              f"  (goal <= 1500 ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
