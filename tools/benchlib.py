# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared by the benchmark scripts: paths and an optimised, unsanitised build."""
import os
import subprocess

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.environ.get("HAVEN_BUILD", os.path.join(top, "build"))
haven = os.path.join(build, "tools", "haven")


def build_release():
    subprocess.run(["cmake", "-S", top, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                    "-DHAVEN_SANITIZE=OFF"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build, "-j2"], check=True, stdout=subprocess.DEVNULL)


def real_media(directory, mib):
    """An MPEG-TS of about `mib` MiB of real recorded media: H.264 (x264,
    the recorder's settings: zerolatency, ultrafast) of a 720p25 noise
    pattern at 150 Mbit/s, so that a short recording reaches the size, and
    AAC audio, muxed as the recorder muxes. Encoded faster than real time
    from test sources (no camera). Kept in `directory` and reused: encoding
    1 GiB takes about a CPU minute."""
    path = os.path.join(directory, f"haven-bench-media-{mib}mib.ts")
    if os.path.exists(path):
        return path
    frames = int(mib * 2**20 / 760e3) + 1   # about 770 kB a frame
    audio = int(frames / 25 * 48000 / 1024) + 1
    tmp = path + ".part"
    subprocess.run(
        ["nice", "-n", "15", "gst-launch-1.0", "-q",
         "videotestsrc", "pattern=snow", f"num-buffers={frames}", "!",
         "video/x-raw,width=1280,height=720,framerate=25/1", "!",
         "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "bitrate=150000", "key-int-max=50", "!",
         "h264parse", "!", "queue", "!", "mpegtsmux", "name=mux", "!", "filesink", f"location={tmp}",
         "audiotestsrc", f"num-buffers={audio}", "samplesperbuffer=1024", "!",
         "audio/x-raw,rate=48000,channels=1", "!", "avenc_aac", "bitrate=64000", "!", "aacparse", "!",
         "queue", "!", "mux."], check=True)
    os.rename(tmp, path)
    return path


def timed(args, env=None):
    """Wall seconds, peak RSS (KiB) and exit status of one command. RSS comes
    from GNU time, a small C parent: a Python parent's own pages would be
    counted before exec."""
    import time
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + list(args), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, errors="replace", env=env)
    wall = time.monotonic() - t0
    return wall, int(p.stderr.strip().splitlines()[-1]), p.returncode


# One group commit a second at the recorder's 3 Mbit/s: the checkpoints a
# real session of that size carries (each one a signature to verify).
COMMIT_EVERY = 375000
