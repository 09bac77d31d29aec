# SPDX-License-Identifier: GPL-2.0-or-later
"""Provable clips under attack (issue 15 §3, docs/FORMAT.md §14): verify-clip
never says a clip is re-derived when a claim of its clip.json does not hold
(the seal status, the clip's length), never hangs or reads through what is
not a regular file in the clip's directory, and names what is wrong; export
and verify-clip refuse a time beyond any recording instead of overflowing;
marker:N reaches every marker, also beyond the chapters the MP4 can hold."""
import json
import os
import shutil
import subprocess

from vaulttest import HAVEN, MKSESSION, Runner, Workspace, run

ws = Workspace()
R = Runner("clip_attack")

# three seconds encoded as the recorder encodes: a keyframe a second
TS = ws.path("media.ts")
subprocess.run(
    ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=75", "pattern=ball", "!",
     "video/x-raw,width=160,height=120,framerate=25/1", "!", "x264enc", "tune=zerolatency",
     "speed-preset=ultrafast", "key-int-max=25", "!", "h264parse", "!", "mpegtsmux", "!",
     "filesink", f"location={TS}"], check=True)
SESSION = ws.session("s", "--media", TS, "--commit-every", "20000", "--markers", "2")
KEY = ws.path("cust.key")
CLIP = ws.path("clip")
run(HAVEN, "export", "-i", KEY, "-o", CLIP, "--from", "1.2", "--until", "2", SESSION, check=0)


def verify_clip(d, session=SESSION, check=1, timeout=60):
    return run(HAVEN, "verify-clip", "-i", KEY, d, session, check=check, timeout=timeout)


def edited(name, **changes):
    d = ws.path(name)
    shutil.copytree(CLIP, d, symlinks=True)
    with open(os.path.join(d, "clip.json")) as f:
        c = json.load(f)
    c.update(changes)
    with open(os.path.join(d, "clip.json"), "w") as f:
        json.dump(c, f)
    return d, c


def claims_checked():
    p = verify_clip(CLIP, check=0)
    assert p.stdout.startswith("clip OK: "), p.stdout
    # a clip of a COMPLETE session whose clip.json says INTERRUPTED (or the reverse) is not re-derived
    d, _ = edited("st", status="INTERRUPTED")
    p = verify_clip(d)
    assert p.stdout.startswith("CLIP NOT RE-DERIVED: status: ") and "COMPLETE" in p.stdout, p.stdout
    # nor one whose clip.json gives another length for the clip TS than it has
    d, c = edited("len", ts_bytes=json.load(open(os.path.join(CLIP, "clip.json")))["ts_bytes"] + 188)
    p = verify_clip(d)
    assert p.stdout.startswith("CLIP NOT RE-DERIVED: clip: ") and str(c["ts_bytes"]) in p.stdout, p.stdout


R.case("verify-clip checks clip.json's seal status and clip length, not only the hashes", claims_checked)


def not_regular_files():
    c = json.load(open(os.path.join(CLIP, "clip.json")))
    # the clip TS a FIFO: no hang, named
    d = ws.path("fifo")
    shutil.copytree(CLIP, d)
    os.unlink(os.path.join(d, c["ts"]))
    os.mkfifo(os.path.join(d, c["ts"]))
    p = verify_clip(d, timeout=60)
    assert p.stdout.startswith("CLIP NOT RE-DERIVED: clip file: ") and "not a regular file" in p.stdout, p.stdout
    # the clip TS a symbolic link to the same bytes elsewhere: not read through
    d = ws.path("link")
    shutil.copytree(CLIP, d)
    shutil.move(os.path.join(d, c["ts"]), ws.path("elsewhere.ts"))
    os.symlink(ws.path("elsewhere.ts"), os.path.join(d, c["ts"]))
    p = verify_clip(d)
    assert p.stdout.startswith("CLIP NOT RE-DERIVED: clip file: "), p.stdout
    # clip.json a FIFO: a usage error naming it, no hang
    d = ws.path("fifo-json")
    shutil.copytree(CLIP, d)
    os.unlink(os.path.join(d, "clip.json"))
    os.mkfifo(os.path.join(d, "clip.json"))
    p = verify_clip(d, check=2, timeout=60)
    assert "clip.json" in p.stderr and "not a regular file" in p.stderr, p.stderr


R.case("verify-clip: a FIFO or a symbolic link in the clip's directory is named, never waited on nor followed",
       not_regular_files)


def huge_times():
    # hours beyond any recording: exit 2 naming the point (it overflowed: UBSan aborted haven)
    for arg in ("4294967295:00:00", "3000000:00:00"):
        p = run(HAVEN, "export", "-i", KEY, "-o", ws.path("exp-huge"), "--from", "1", "--until", arg, SESSION,
                check=2)
        assert f"--until: '{arg}' is neither a time" in p.stderr or "too large" in p.stderr, p.stderr
        assert "runtime error" not in p.stderr and not os.path.exists(ws.path("exp-huge")), p.stderr
    # the same in a crafted clip.json: not re-derived, no crash
    d, _ = edited("huge", until="4294967295:00:00")
    p = verify_clip(d)
    assert p.stdout.startswith("CLIP NOT RE-DERIVED: request: "), p.stdout
    assert "runtime error" not in p.stderr, p.stderr
    # crafted numbers: out of range, or beyond the stream
    for i, changes in enumerate([dict(start=-188), dict(end=2 ** 63 - 1), dict(pat=2 ** 62, pmt=2 ** 62 + 188),
                                 dict(start=7, end=9), dict(ts="../clip/" + "x.ts"), dict(ts=".."),
                                 dict(stream_bytes=2 ** 63 - 1), dict(first_record=2 ** 40)]):
        d, _ = edited(f"num{i}", **changes)
        p = verify_clip(d, check=None)
        assert p.returncode in (1, 2) and "runtime error" not in p.stderr and "AddressSanitizer" not in p.stderr, \
            (changes, p)
        assert not p.stdout.startswith("clip OK"), (changes, p.stdout)
        assert (p.stdout + p.stderr).strip(), changes


def until_end():
    # --until end, as clip.json and the report give the default: the same clip as no --until
    run(HAVEN, "export", "-i", KEY, "-o", ws.path("exp-e1"), "--from", "2", SESSION, check=0)
    run(HAVEN, "export", "-i", KEY, "-o", ws.path("exp-e2"), "--from", "2", "--until", "end", SESSION, check=0)
    a = json.load(open(ws.path("exp-e1", "clip.json")))
    b = json.load(open(ws.path("exp-e2", "clip.json")))
    assert a["until"] == b["until"] == "end" and a["ts_sha256"] == b["ts_sha256"] and b["to_us"] == 2 ** 63 - 1, b
    verify_clip(ws.path("exp-e2"), check=0)


R.case("export --until end: the default, as clip.json and the report name it", until_end)


R.case("export/verify-clip: hours beyond any recording and crafted numbers are refused, never overflow or crash",
       huge_times)


def markers_beyond_chapters():
    # more markers than the MP4 has chapters (10 000): marker:N is still the report's marker N
    s = ws.session("many", "--media", TS, "--commit-every", "20000", "--markers", "10002")
    out = ws.path("exp-many")
    p = run(HAVEN, "export", "-i", KEY, "-o", out, "--from", "marker:10002", s, check=None)
    assert p.returncode in (0, 4), p   # 4: the MP4 (a one-frame clip) is not the point here
    c = json.load(open(os.path.join(out, "clip.json")))
    assert c["from"] == "marker:10002", c
    p = verify_clip(out, session=s, check=0)
    assert p.stdout.startswith("clip OK: "), p.stdout
    p = run(HAVEN, "export", "-i", KEY, "-o", ws.path("exp-many2"), "--from", "marker:10003", s, check=2)
    assert "the session has 10002 markers" in p.stderr, p.stderr


R.case("export --from marker:N beyond the 10 000 chapters: the session's marker N, verify-clip agrees",
       markers_beyond_chapters)

R.finish()
