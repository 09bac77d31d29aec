# SPDX-License-Identifier: GPL-2.0-or-later
"""Court playback of what the real havend records on the sim board: every
export decodes without error in an independent decoder (ffmpeg), audio and
video last the same, the MP4 is fast start, markers are chapters; a session
cut by kill -9 at several points exports without its torn last frame, and
the report says so."""
import json
import os
import re
import signal
import time

from daemontest import Daemon
from playback import check_playable
from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("playback")


def export(ws, sess, name):
    out = ws.path(name)
    p = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, sess)
    assert p.returncode == 0, p.stderr
    base = os.path.basename(sess)
    return os.path.join(out, base + ".mp4"), open(os.path.join(out, "custody-report.txt")).read()


def complete_with_markers():
    ws = Workspace()
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
        time.sleep(1)
        d.haven("mark", "child drew a picture", check=0)
        d.press(signal_name="marker")
        time.sleep(1)
        d.haven("stop", check=0)
        s = d.wait(lambda s: s["state"] == "IDLE", 60, "IDLE")
        assert s["last_session"]["status"] == "COMPLETE", s
        mp4, rep = export(ws, d.sessions()[0], "exp")
        info = check_playable(mp4, ts=mp4[:-len(".mp4")] + ".ts")
        titles = [c["tags"]["title"] for c in info["chapters"]]
        assert len(titles) == 3 and titles[0] == "Start of the recording", titles
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00 marker by .*: child drew a picture",
                            titles[1]), titles
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00 marker button", titles[2]), titles
        starts = [float(c["start_time"]) for c in info["chapters"]]
        assert 0 < starts[1] <= starts[2] < float(info["format"]["duration"]), starts
        # the report lists the same chapters, and nothing was left out
        assert "MP4 chapters (one per marker" in rep and titles[1] in rep and titles[2] in rep, rep
        assert "not included in the MP4" not in rep, rep
        # a clip from the first marker to the end (FORMAT §14): it plays, its chapters are the
        # markers, moved by the clip's start, and verify-clip re-derives it from the session
        out = ws.path("clip")
        run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", out, "--from", "marker:1",
            d.sessions()[0], check=0)
        with open(os.path.join(out, "clip.json")) as f:
            c = json.load(f)
        clip_mp4 = [n for n in os.listdir(out) if n.endswith(".mp4")][0]
        cinfo = check_playable(os.path.join(out, clip_mp4), ts=os.path.join(out, clip_mp4[:-len(".mp4")] + ".ts"))
        ctitles = [ch["tags"]["title"] for ch in cinfo["chapters"]]
        cstarts = [float(ch["start_time"]) for ch in cinfo["chapters"]]
        for title, start in zip(titles[1:], starts[1:]):
            at = cstarts[ctitles.index(title)]
            assert abs(at - (start - c["start_us"] / 1e6)) < 0.002, (title, at, start, c)
        p = run(HAVEN, "verify-clip", "--identity", ws.path("cust.key"), out, d.sessions()[0], check=0)
        assert p.stdout.startswith("clip OK: "), p.stdout
        print(f"     clip from marker:1 ({c['from_us'] / 1e6:.2f} s): keyframe at {c['start_us'] / 1e6:.2f} s, "
              f"{c['ts_bytes']} of {c['stream_bytes']} bytes, chapters {list(zip(ctitles, cstarts))}")
    finally:
        d.stop()
        ws.cleanup()


R.case("COMPLETE: decodes cleanly, fast start, markers as chapters in MP4 and report", complete_with_markers)


def killed(offsets):
    def f():
        ws = Workspace()
        d = Daemon(ws).start()
        try:
            for k, offset in enumerate(offsets):
                d.haven("start", check=0)
                s = d.wait(lambda s: s["state"] == "RECORDING", 60, "RECORDING")
                time.sleep(offset)
                # as a power cut: havend frozen, then both processes killed
                d.proc.send_signal(signal.SIGSTOP)
                os.kill(s["session"]["capture_pid"], signal.SIGKILL)
                d.stop(signal.SIGKILL)
                d.start()
                sess = d.sessions()[-1]
                v = run(HAVEN, "verify", sess, check=0)
                assert v.stdout.startswith("INTERRUPTED"), v.stdout
                mp4, rep = export(ws, sess, f"exp{k}")
                info = check_playable(mp4, ts=mp4[:-len(".mp4")] + ".ts")
                m = re.search(r"Last (\d+\.\d{3}) s of video \(1 frame\) ends at the interruption and may be "
                              r"incomplete: not included in the MP4; the sealed TS keeps every byte\.", rep)
                assert m and 0 < float(m[1]) <= 0.1, rep
                kept = float(info["format"]["duration"])
                print(f"     kill -9 {offset} s into RECORDING: {kept:.2f} s in the MP4, "
                      f"last {m[1]} s of video left out")
        finally:
            d.stop()
            ws.cleanup()
    return f


R.case("havend kill -9 at 1.3, 2.7 and 4.1 s: INTERRUPTED exports decode cleanly, report says what was "
       "left out", killed((1.3, 2.7, 4.1)))

R.finish()
