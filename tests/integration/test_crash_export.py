# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash, recovery and export tests, and hostile input for the parser.

A writer child is SIGKILLed at random points; recovery must seal the session
INTERRUPTED, verify must pass, and the intact prefix must export and play.
"""
import os
import random
import shutil
import stat
import struct
import subprocess

from playback import check_playable
from vaulttest import HAVEN, Runner, Workspace, records, run

ws = Workspace()
R = Runner("crash-export")

TS = ws.path("media.ts")
subprocess.run(
    ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=250", "pattern=ball", "!",
     "video/x-raw,width=320,height=240,framerate=25/1", "!", "x264enc", "tune=zerolatency",
     "speed-preset=ultrafast", "key-int-max=25", "!", "h264parse", "!", "mpegtsmux", "name=m", "!",
     "filesink", f"location={TS}", "audiotestsrc", "num-buffers=470", "!", "audio/x-raw,rate=48000",
     "!", "avenc_aac", "!", "aacparse", "!", "m."], check=True)
TS_SIZE = os.path.getsize(TS)


def discover(path):
    p = run("gst-discoverer-1.0", path, check=0)
    out = p.stdout
    dur = [l for l in out.splitlines() if l.strip().startswith("Duration:")][0]
    h, m, s = dur.split(":", 1)[1].strip().split(":")
    return out, int(h) * 3600 + int(m) * 60 + float(s)


def export_complete():
    s = ws.session("full", "--media", TS, "--commit-every", "20000", "--markers", "2")
    out = ws.path("exp-full")
    p = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s, check=0)
    assert "verdict:     COMPLETE" in p.stdout, p.stdout
    name = os.path.basename(s)
    with open(os.path.join(out, name + ".ts"), "rb") as a, open(TS, "rb") as b:
        assert a.read() == b.read(), "exported stream differs from the original"
    info, dur = discover(os.path.join(out, name + ".mp4"))
    assert "H.264" in info and "MPEG-4 AAC" in info, info
    assert abs(dur - 10.0) < 0.5, f"duration {dur}"
    # an independent decoder: no error, audio and video as long, fast start,
    # every frame kept (a clean end), one chapter per marker after the start
    info = check_playable(os.path.join(out, name + ".mp4"))
    assert float([x for x in info["streams"] if x["codec_type"] == "video"][0]["duration"]) == 10.0, info
    titles = [c["tags"]["title"] for c in info["chapters"]]
    assert titles[0] == "Start of the recording" and len(titles) == 3, titles
    assert all(t.endswith(f" marker {k}") and " +00:00 " in t for k, t in enumerate(titles[1:], 1)), titles
    rep = open(os.path.join(out, "custody-report.txt")).read()
    assert "MP4 chapters (one per marker" in rep and titles[1] in rep and titles[2] in rep, rep
    assert "not included in the MP4" not in rep, rep
    assert "Fingerprint:" in rep and "marker" in rep and name + ".mp4" in rep, rep
    import hashlib
    digest = hashlib.sha256(open(TS, "rb").read()).hexdigest()
    assert digest in rep, "report lacks the stream's SHA-256"
    assert oct(os.stat(out).st_mode & 0o777) == "0o700"
    # both plaintext copies are the owner's alone, whatever the umask (was: MP4 0644)
    for ext in (".ts", ".mp4"):
        assert oct(os.stat(os.path.join(out, name + ext)).st_mode & 0o777) == "0o600", ext


R.case("export: original stream, MP4 with H.264+AAC, custody report", export_complete)


def long_marker_title():
    text = "the child describes the room; " * 20     # 600 characters
    s = ws.session("longmark", "--media", TS, "--markers", "1", "--marker-text", text)
    out = ws.path("exp-longmark")
    run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s, check=0)
    info = check_playable(os.path.join(out, "longmark.mp4"))
    title = info["chapters"][1]["tags"]["title"]
    # "YYYY-MM-DD HH:MM:SS +00:00 " then 199 characters of the text and an ellipsis
    assert len(title) == 27 + 200 and title.endswith("\u2026") and text[:199] in title, title
    rep = open(os.path.join(out, "custody-report.txt")).read()
    assert text in rep, "the event list lost the marker's whole text"


R.case("a long marker text: chapter title cut at 200 characters, the event list keeps it whole",
       long_marker_title)


def timestamps_jump_back():
    # the same stream twice: its timestamps go back 10 s half way (a source
    # restarted); the MP4 muxer takes increasing ones only (was: exit 4, no
    # MP4, "writing the MP4: Invalid argument")
    both = ws.path("twice.ts")
    with open(both, "wb") as f:
        f.write(open(TS, "rb").read() * 2)
    s = ws.session("twice", "--media", both)
    out = ws.path("exp-twice")
    p = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s, check=0)
    assert open(os.path.join(out, "twice.ts"), "rb").read() == open(both, "rb").read()
    info = check_playable(os.path.join(out, "twice.mp4"))
    video = float([x for x in info["streams"] if x["codec_type"] == "video"][0]["duration"])
    assert abs(video - 20.0) < 0.5, f"video {video} s, not the 20 s sealed"


R.case("media whose timestamps jump back (a source restarted): the MP4 plays it all", timestamps_jump_back)


def twenty_thousand_markers():
    # more markers than chapters fit (10,000 at most, one a millisecond of
    # media): the MP4 lasts as long as its media (was: its chapter track made
    # it 10 s longer), the report lists the chapters it holds and says how
    # many markers are in the event list only
    short = ws.path("short.ts")   # 3 s: room for about 3,000 chapters
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", TS, "-t", "3", "-c", "copy", "-f", "mpegts", short],
                   check=True)
    s = ws.session("crowd", "--media", short, "--markers", "20000", "--commit-every", "100000")
    out = ws.path("exp-crowd")
    run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s, check=0)
    info = check_playable(os.path.join(out, "crowd.mp4"))
    media = max(float(x["duration"]) for x in info["streams"] if x["codec_type"] in ("audio", "video"))
    assert float(info["format"]["duration"]) <= media + 0.05, (info["format"]["duration"], media)
    n = len(info["chapters"]) - 1   # the start chapter aside
    assert 0 < n <= 10000, n
    rep = open(os.path.join(out, "custody-report.txt")).read()
    assert f"Only the first {n} markers are chapters; the {20000 - n} after them are in the event list " \
        "only." in rep, [l for l in rep.splitlines() if "Only" in l]
    listed = rep.split("MP4 chapters (one per marker")[1].split("Files (SHA-256)")[0]
    assert len([l for l in listed.splitlines() if " +00:00 marker " in l]) == n
    assert len([l for l in rep.splitlines() if "MARKER" in l.upper() and "  marker " in l.lower()]) >= 20000


R.case("20,000 markers: as many chapters as fit, the MP4 no longer than its media, the report says so",
       twenty_thousand_markers)


def export_wrong_key():
    s = ws.path("full")
    out = ws.path("exp-wrong")
    p = run(HAVEN, "export", "--identity", ws.path("cust2.key"), "--out", out, s)
    assert p.returncode != 0 and "not one of this session's" in p.stderr, p.stderr
    assert not os.path.exists(out)
    assert not [f for f in os.listdir(ws.dir) if f.startswith("exp-wrong")], os.listdir(ws.dir)
    p = run(HAVEN, "export", "--identity", ws.path("cust.pub"), "--out", out, s)
    assert p.returncode == 2 and "not a haven-identity-v1 file" in p.stderr, p.stderr


R.case("export with the wrong key: clear error, nothing left behind", export_wrong_key)


def export_refuses_invalid():
    s = ws.copy("full", "full-bad")
    with open(os.path.join(s, "records.hvr"), "r+b") as f:
        f.seek(5000)
        f.write(b"\xff")
    out = ws.path("exp-bad")
    p = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s)
    assert p.returncode == 1 and "INVALID" in p.stderr, p.stderr
    assert not os.path.exists(out)


R.case("export refuses an INVALID session", export_refuses_invalid)


def export_refuses_overwrite():
    out = ws.path("exp-full")
    p = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, ws.path("full"))
    assert p.returncode == 2 and "refusing to overwrite" in p.stderr, p.stderr


R.case("export refuses to overwrite", export_refuses_overwrite)


def two_recipients():
    s = ws.session("two", "--media", TS, recipients=("cust.pub", "cust2.pub"))
    for k in ("cust", "cust2"):
        out = ws.path(f"exp-two-{k}")
        run(HAVEN, "export", "--identity", ws.path(f"{k}.key"), "--out", out, s, check=0)
    a = open(ws.path("exp-two-cust", "two.ts"), "rb").read()
    b = open(ws.path("exp-two-cust2", "two.ts"), "rb").read()
    assert a == b


R.case("two recipients decrypt the same plaintext", two_recipients)

rng = random.Random(int(os.environ.get("HAVEN_SEED", "1234")))
for i in range(6):
    kill_at = rng.randrange(0, TS_SIZE)

    def crash(i=i, kill_at=kill_at):
        name = f"crash{i}"
        p = run(*[a for a in [os.path.join(os.path.dirname(HAVEN), "../tests/hv-mksession")]],
                "--device-key", ws.path("dev.key"), "--recipient", ws.path("cust.pub"),
                "--out", ws.path(name), "--media", TS, "--commit-every", "30000",
                "--kill-after", str(kill_at))
        assert p.returncode == -9, f"writer exited {p.returncode}"
        s = ws.path(name)
        v = run(HAVEN, "verify", s)
        assert v.returncode == 1 and "never sealed" in v.stdout, v.stdout
        r1 = run(HAVEN, "recover", "--device-key", ws.path("dev.key"), "--open-seq", "1", s, check=0)
        assert "RECOVERED" in r1.stdout, r1.stdout
        seal1 = open(os.path.join(s, "seal.hvs"), "rb").read()
        r2 = run(HAVEN, "recover", "--device-key", ws.path("dev.key"), "--open-seq", "1", s, check=0)
        assert "already sealed" in r2.stdout
        assert open(os.path.join(s, "seal.hvs"), "rb").read() == seal1
        v = run(HAVEN, "verify", s, check=0)
        assert v.stdout.startswith("INTERRUPTED"), v.stdout
        out = ws.path(f"exp-{name}")
        e = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s)
        # a prefix too short to remux: the original and the report, no MP4, exit 4
        mp4 = os.path.exists(os.path.join(out, name + ".mp4"))
        assert e.returncode == (0 if mp4 else 4), (e.returncode, e.stderr)
        ts = open(os.path.join(out, name + ".ts"), "rb").read()
        assert open(TS, "rb").read().startswith(ts), "exported prefix differs from the original"
        assert kill_at - len(ts) <= 30000 + 65536, f"lost {kill_at - len(ts)} bytes"
        if len(ts) > 40000:
            info, dur = discover(os.path.join(out, name + ".mp4"))
            assert dur > 0, info
        if mp4:
            # torn frames are left out: it decodes without error, and says so
            check_playable(os.path.join(out, name + ".mp4"))
            rep = open(os.path.join(out, "custody-report.txt")).read()
            assert "Last 0.040 s of video (1 frame) ends at the interruption and may be incomplete: not " \
                "included in the MP4; the sealed TS keeps every byte." in rep, rep
    R.case(f"SIGKILL at media byte {kill_at}: recovered INTERRUPTED, prefix exports", crash)


def torn_pes_of_several_aac_frames():
    # ffmpeg's muxer puts several ADTS frames in one PES; the demuxer flags
    # each frame of the torn last PES corrupt, also the whole ones before the
    # torn one: only the torn one is left out (was: 10 frames, 0.2 s of audio
    # dropped and reported "incomplete")
    audio = ws.path("aac-only.ts")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000:duration=5", "-c:a", "aac", "-f", "mpegts", audio],
                   check=True)
    s = ws.path("aac-torn")
    p = run(os.path.join(os.path.dirname(HAVEN), "../tests/hv-mksession"), "--device-key",
            ws.path("dev.key"), "--recipient", ws.path("cust.pub"), "--out", s, "--media", audio,
            "--commit-every", "8192", "--kill-after", "30000")
    assert p.returncode == -9
    run(HAVEN, "recover", "--device-key", ws.path("dev.key"), "--open-seq", "1", s, check=0)
    out = ws.path("exp-aac-torn")
    run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, s, check=0)
    info = check_playable(os.path.join(out, "aac-torn.mp4"), video=False)
    rep = open(os.path.join(out, "custody-report.txt")).read()
    line = [l for l in rep.splitlines() if "of audio (" in l]
    assert line and "of audio (1 frame) incomplete at the interruption" in line[0], line
    # every whole frame of the sealed prefix is in the MP4
    sealed = open(os.path.join(out, "aac-torn.ts"), "rb").read()
    with open(ws.path("aac-torn-prefix.ts"), "wb") as f:
        f.write(sealed)
    frames = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-count_packets", "-show_entries",
                             "stream=nb_read_packets", "-of", "csv=p=0", ws.path("aac-torn-prefix.ts")],
                            capture_output=True, text=True, check=True).stdout.strip()
    kept = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-count_packets", "-show_entries",
                           "stream=nb_read_packets", "-of", "csv=p=0", os.path.join(out, "aac-torn.mp4")],
                          capture_output=True, text=True, check=True).stdout.strip()
    kept, frames = int(kept.split()[0]), int(frames.split()[0])   # a TS lists its program's stream too
    assert kept == frames - 1, f"{kept} of {frames} frames kept"


R.case("INTERRUPTED in a PES of several AAC frames: only the torn frame is left out", torn_pes_of_several_aac_frames)


def recovery_interrupted():
    s = ws.path("crash-rerun")
    p = run(os.path.join(os.path.dirname(HAVEN), "../tests/hv-mksession"), "--device-key",
            ws.path("dev.key"), "--recipient", ws.path("cust.pub"), "--out", s, "--media", TS,
            "--commit-every", "30000", "--kill-after", "123457")
    assert p.returncode == -9
    a = ws.copy("crash-rerun", "crash-rerun-a")
    run(HAVEN, "recover", "--device-key", ws.path("dev.key"), "--open-seq", "1", a, check=0)
    # simulate recovery dying after cutting the tail but before the seal
    recs, data = records(s)
    good = os.path.getsize(os.path.join(a, "records.hvr"))
    with open(os.path.join(s, "records.hvr"), "r+b") as f:
        f.truncate(good)
    run(HAVEN, "recover", "--device-key", ws.path("dev.key"), "--open-seq", "1", s, check=0)
    sa = open(os.path.join(a, "seal.hvs"), "rb").read()
    sb = open(os.path.join(s, "seal.hvs"), "rb").read()
    # recovery derives every field from the files: the same seal, byte for byte
    assert sa == sb
    run(HAVEN, "verify", s, check=0)


R.case("recovery interrupted and run again gives the same result", recovery_interrupted)


def recover_wrong_device():
    s = ws.path("crash-other")
    run(os.path.join(os.path.dirname(HAVEN), "../tests/hv-mksession"), "--device-key",
        ws.path("dev.key"), "--recipient", ws.path("cust.pub"), "--out", s, "--no-seal", check=0)
    run(MK := os.path.join(os.path.dirname(HAVEN), "../tests/hv-mksession"), "--device-key",
        ws.path("devX.key"), "--recipient", ws.path("cust.pub"), "--out", ws.path("x"), check=0)
    p = run(HAVEN, "recover", "--device-key", ws.path("devX.key"), "--open-seq", "1", s)
    assert p.returncode == 1 and "not signed by this device key" in p.stdout, p.stdout
    assert not os.path.exists(os.path.join(s, "seal.hvs"))


R.case("recovery refuses another device's session", recover_wrong_device)

# ---- hostile input: clear error, no crash (ASan watches memory) ----


def hostile(label, mutate):
    def f():
        s = ws.copy("full", "hostile-" + label.replace(" ", "-"))
        mutate(s)
        p = run(HAVEN, "verify", s)
        assert p.returncode in (1, 2), f"exit {p.returncode}: {p.stdout}{p.stderr}"
        assert "INVALID" in p.stdout or p.stderr, p.stdout
        assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
        i = run(HAVEN, "info", s)
        assert i.returncode in (1, 2) and "AddressSanitizer" not in i.stderr, i.stderr
    R.case("hostile: " + label, f)


def put(name, data):
    def m(s):
        with open(os.path.join(s, name), "wb") as f:
            f.write(data)
    return m


rnd = random.Random(99)
for name in ("header.hvh", "records.hvr", "index.hvi", "seal.hvs"):
    hostile(f"random bytes in {name}", put(name, bytes(rnd.randrange(256) for _ in range(3000))))
    hostile(f"empty {name}", put(name, b""))

    def symlink(s, name=name):
        os.unlink(os.path.join(s, name))
        os.symlink("/etc/passwd", os.path.join(s, name))
    hostile(f"symlink as {name}", symlink)

    def directory(s, name=name):
        os.unlink(os.path.join(s, name))
        os.mkdir(os.path.join(s, name))
    hostile(f"directory as {name}", directory)


def huge_length(s):
    p = os.path.join(s, "records.hvr")
    with open(p, "r+b") as f:
        f.seek(32)
        f.write(struct.pack("<I", 0xFFFFFFF0))


hostile("huge record length", huge_length)


def huge_header(s):
    with open(os.path.join(s, "header.hvh"), "r+b") as f:
        f.seek(12)
        f.write(struct.pack("<I", 0xFFFFFFFF))
        f.seek(124)
        f.write(struct.pack("<HH", 0xFFFF, 0xFFFF))


hostile("huge header lengths", huge_header)
hostile("huge seal file", put("seal.hvs", b"\0" * (1 << 20)))

ws.cleanup()
R.finish()
