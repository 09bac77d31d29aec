# SPDX-License-Identifier: GPL-2.0-or-later
"""Recorder tests: real GStreamer capture from test sources, sealed in memory.

Records short sessions with hv-record (the recorder library without the
daemon) and checks them with the haven CLI and gst-discoverer-1.0.
"""
import os
import re
import subprocess

from playback import check_playable
from vaulttest import BUILD, HAVEN, Runner, Workspace, run

RECORD = os.path.join(BUILD, "tests", "hv-record")
ws = Workspace()
R = Runner("recorder")


def record(root, *extra, seconds=5, check=0, roots=None):
    args = [RECORD, "--device-key", ws.path("dev.key"), "--recipient", ws.path("cust.pub"),
            "--seconds", str(seconds)]
    for r in roots or [root]:
        args += ["--root", r]
    p = run(*args, *extra, timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError(f"hv-record exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def sessions(root):
    return sorted(os.path.join(root, d) for d in os.listdir(root))


def discover(path):
    out = run("gst-discoverer-1.0", path, check=0).stdout
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", out)
    return out, int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def info(session):
    return run(HAVEN, "info", session).stdout


def export(session, name):
    out = ws.path(name)
    run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, session, check=0)
    base = os.path.basename(session)
    return os.path.join(out, base + ".mp4"), os.path.join(out, base + ".ts")


def recorded_seconds(session):
    m = re.search(r"duration:\s+(\d+):(\d+):([\d.]+)", info(session))
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def basic():
    root = ws.path("basic")
    p = record(root, "--cameras", "2", seconds=6)
    assert "finished: COMPLETE sealed=1" in p.stdout, p.stdout
    s = sessions(root)[0]
    v = run(HAVEN, "verify", s, check=0)
    assert v.stdout.startswith("COMPLETE"), v.stdout
    mp4, ts = export(s, "exp-basic")
    out, dur = discover(mp4)
    assert out.count("video #") == 1 and out.count("audio #") == 1, out
    assert "H.264" in out and "MPEG-4 AAC" in out, out
    rec = recorded_seconds(s)
    # the session's duration runs from its start event; the media from the
    # first frame, which comes the pipeline's start-up later (long on a
    # loaded machine): the MP4 may be shorter by that much, never longer
    latency = float(re.search(r"start-latency-ms: ([\d.]+)", p.stdout)[1]) / 1000
    assert rec - latency - 0.5 <= dur <= rec + 0.5, \
        f"MP4 {dur:.2f} s, recorded {rec:.2f} s, pipeline start-up {latency:.2f} s"
    i = info(s)
    assert "marker" in i and "start" in i and "stop" in i, i
    # ffmpeg decodes it cleanly; hv-record's marker, half way, is a chapter there
    pb = check_playable(mp4, ts=ts)
    ch = [c for c in pb["chapters"] if c["tags"]["title"].endswith(" marker from test")]
    assert len(ch) == 1 and abs(float(ch[0]["start_time"]) - 3.0) < 0.5 + latency, pb["chapters"]


R.case("record 6 s from two test cameras: COMPLETE, MP4 H.264+AAC within 0.5 s", basic)


TS_SYNC_RUN = 5


def looks_like_plaintext(data):
    """MPEG-TS (0x47 every 188 bytes, 5 in a row) or H.264 start codes in sequence."""
    for off in range(0, min(len(data), 1 << 20) - 188 * TS_SYNC_RUN):
        if data[off] == 0x47 and all(data[off + 188 * k] == 0x47 for k in range(1, TS_SYNC_RUN)):
            return f"MPEG-TS sync run at {off}"
    starts = [m.start() for m in re.finditer(b"\x00\x00\x01[\x09\x67\x68\x65\x41\x01\x06]", data)]
    for a, b, c in zip(starts, starts[1:], starts[2:]):
        if c - a < 4096:
            return f"H.264 start codes at {a}, {b}, {c}"
    return None


def no_plaintext():
    root = ws.path("basic")
    found = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            data = open(os.path.join(dirpath, f), "rb").read()
            hit = looks_like_plaintext(data)
            if hit:
                found.append(f"{f}: {hit}")
    assert not found, found
    # the detector must be able to fail: the exported plaintext trips it
    ts = [os.path.join(ws.path("exp-basic"), f) for f in os.listdir(ws.path("exp-basic")) if f.endswith(".ts")][0]
    assert looks_like_plaintext(open(ts, "rb").read()), "detector does not see plaintext"


R.case("no plaintext on disk (detector checked on the export)", no_plaintext)


def camera_fails():
    root = ws.path("camfail")
    p = record(root, "--fail-video-after", "40", seconds=7)
    assert "camera 1 lost" in p.stdout and "finished: COMPLETE" in p.stdout, p.stdout
    s = sessions(root)[0]
    run(HAVEN, "verify", s, check=0)
    i = info(s)
    assert "source-lost" in i and "camera 1 lost" in i, i
    mp4, ts = export(s, "exp-camfail")
    out, dur = discover(mp4)
    assert "MPEG-4 AAC" in out and dur > 6, out
    check_playable(mp4, ts=ts)


R.case("camera error mid-session: recording goes on, event in the chain, verify clean", camera_fails)


def mic_fails():
    root = ws.path("micfail")
    p = record(root, "--fail-audio-after", "150", seconds=6)
    assert "microphone lost" in p.stdout and "finished: COMPLETE" in p.stdout, p.stdout
    s = sessions(root)[0]
    run(HAVEN, "verify", s, check=0)
    assert "microphone lost" in info(s)
    mp4, ts = export(s, "exp-micfail")
    out, dur = discover(mp4)
    assert "H.264" in out and dur > 5, out
    check_playable(mp4, ts=ts)


R.case("microphone error mid-session: video goes on, event in the chain", mic_fails)


def mic_silent():
    root = ws.path("silent")
    p = record(root, "--silent", "--silence-seconds", "2", seconds=5)
    assert "health: healthy" not in p.stdout, p.stdout
    s = sessions(root)[0]
    run(HAVEN, "verify", s, check=0)
    assert "mic-silent" in info(s)


R.case("silent microphone: never healthy, mic-silent event", mic_silent)


def preflight_space():
    root = ws.path("space")
    p = record(root, "--min-free-minutes", "100000000", check=3)
    assert "storage:" in p.stderr and "free" in p.stderr, p.stderr
    assert not os.listdir(root) if os.path.exists(root) else True


R.case("pre-flight refuses when storage is short, naming it", preflight_space)


def preflight_device():
    root = ws.path("nodev")
    p = record(root, "--video", "/dev/video97", check=3)
    assert "camera 1" in p.stderr, p.stderr
    assert not os.path.exists(root) or not os.listdir(root)


R.case("pre-flight refuses a missing camera, naming it", preflight_device)


def mount_tmpfs(name, size):
    path = ws.path(name)
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
    return path


def umount(path):
    subprocess.run(["umount", "-l", path], check=False)


def disk_full():
    """The only root fills up: at the reserve the recorder stops the session
    itself, with a signed stop saying so, and seals it COMPLETE; the writer
    never meets ENOSPC."""
    if os.geteuid() != 0:
        print("skip: needs root to mount a tmpfs")
        return
    root = mount_tmpfs("full", "8m")
    try:
        p = record(root, "--kbps", "4000", "--pattern", "snow", "--reserve-seconds", "4", seconds=60, check=0)
        out = p.stdout + p.stderr
        assert "finished: COMPLETE sealed=1" in p.stdout, out
        assert "reason=storage full" in p.stdout, out
        assert "fault: storage raised: storage full" in p.stdout, out
        assert "No space left" not in out and "ENOSPC" not in out, out
        left = [int(m) for m in re.findall(r"space: (-?\d+) s left", p.stdout)]
        assert left and left[-1] == 0 and max(left) > 0, left
        s = sessions(root)[0]
        v = run(HAVEN, "verify", s, check=0)
        assert v.stdout.startswith("COMPLETE"), v.stdout
        i = info(s)
        assert "storage full" in i and "stop" in i, i
        st = os.statvfs(root)
        assert st.f_bavail * st.f_frsize > 0, "the reserve was used up"
    finally:
        umount(root)


R.case("storage fills up mid-session: stopped at the reserve, signed storage-full stop, COMPLETE", disk_full)


def dual_storage():
    a = ws.path("dual-a")
    b = ws.path("dual-b")
    p = record(None, roots=[a, b], seconds=4)
    sa, sb = sessions(a)[0], sessions(b)[0]
    va = run(HAVEN, "verify", sa, check=0).stdout
    vb = run(HAVEN, "verify", sb, check=0).stdout
    fa = va.split("fingerprint ")[1].split()[0]
    assert fa in vb and va.startswith("COMPLETE"), (va, vb)
    for f in os.listdir(sa):
        assert open(os.path.join(sa, f), "rb").read() == open(os.path.join(sb, f), "rb").read(), f


R.case("master and working copy: identical, same fingerprint", dual_storage)


def dual_one_fills():
    """Two roots of different sizes: the small one reaches the reserve, its
    copy is sealed IO_FAILED there and recording goes on on the other, whose
    chain says so; nothing meets ENOSPC."""
    if os.geteuid() != 0:
        print("skip: needs root to mount a tmpfs")
        return
    a = ws.path("dual2-a")
    b = mount_tmpfs("dual2-b", "8m")
    try:
        p = record(None, "--kbps", "4000", "--pattern", "snow", "--reserve-seconds", "4", roots=[a, b],
                   seconds=25)
        out = p.stdout + p.stderr
        assert "finished: COMPLETE sealed=1" in p.stdout and "reason=stopped by test" in p.stdout, out
        assert "No space left" not in out, out
        sa = sessions(a)[0]
        v = run(HAVEN, "verify", sa, check=0).stdout
        assert v.startswith("COMPLETE"), v
        ia = info(sa)
        assert "storage full, copy sealed" in ia and f"continuing on {sa}" in ia, ia
        sb = sessions(b)[0]
        vb = run(HAVEN, "verify", sb, check=0)
        assert vb.returncode == 0 and vb.stdout.startswith("IO_FAILED"), vb.stdout
        assert "storage full" in info(sb)
    finally:
        umount(b)


R.case("two roots, the smaller fills: sealed there at the reserve, the other goes on COMPLETE", dual_one_fills)


def ledger_continues():
    root = ws.path("basic")
    record(root, seconds=2)
    v = run(HAVEN, "verify", root, check=0).stdout
    assert "sequence 1..2, ledger intact" in v, v


R.case("the next session continues the device ledger", ledger_continues)

# (stop after, width, height): small pictures stop before the muxer has
# both streams; full size (x264 takes longest to start) while sources block
STOP_RUNS = ((1.0, 1280, 720), (0.1, 320, 240), (0.5, 320, 240), (1.5, 1280, 720), (0.05, 320, 240),
             (0.8, 320, 240))


def quick_stops():
    """Stop while the pipeline is still starting (ASan: start-up takes over a
    second). The old EOS thread held the pipeline's state lock waiting for a
    source blocked behind the preroll, and teardown froze the main loop after
    the seal: hv-record never exited. Stopping before the muxer had both
    streams made it fail (or GStreamer assert)."""
    for n, (seconds, width, height) in enumerate(STOP_RUNS):
        root = ws.path(f"quick{n}")
        args = [RECORD, "--device-key", ws.path("quick.key"), "--recipient", ws.path("cust.pub"),
                "--root", root, "--seconds", str(seconds), "--width", str(width), "--height", str(height),
                "--no-sync"]
        try:
            p = run(*args, timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"run {n}: stopped after {seconds} s, still running 30 s later (hang)")
        assert p.returncode == 0, f"run {n}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        assert "finished: COMPLETE sealed=1" in p.stdout, f"run {n}: {p.stdout}"
        assert "did not drain" not in p.stderr, f"run {n}: end of stream lost\n{p.stderr}"
        v = run(HAVEN, "verify", sessions(root)[0], check=0).stdout
        assert v.startswith("COMPLETE"), v


R.case(f"{len(STOP_RUNS)} sessions stopped during start-up: each drains, seals COMPLETE and exits",
       quick_stops)

for d in ("full", "dual2-b"):
    if os.path.ismount(ws.path(d)):
        umount(ws.path(d))
ws.cleanup()
R.finish()
