# SPDX-License-Identifier: GPL-2.0-or-later
"""Provable clips (issue 15 §3, docs/FORMAT.md §14): `haven export --from
--until` writes a clip that is the last PAT and PMT before its start then a
byte range of the whole export's .ts, cut at keyframes, that plays alone
(ffprobe: the first frame a keyframe; the MP4 decodes with no error line), with
clip.json and the report naming the byte and record range; `haven
verify-clip` re-derives it from the sealed session and names the first thing
that does not hold (a changed clip, a changed clip.json, another session, a
tampered session); bad points are exit 2 with nothing left behind."""
import json
import os
import shutil
import subprocess

from playback import check_playable
from vaulttest import HAVEN, MKSESSION, Runner, Workspace, flip, records, run

ws = Workspace()
R = Runner("clip")

# six seconds encoded as the recorder encodes: a keyframe a second
TS = ws.path("media.ts")
subprocess.run(
    ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=150", "pattern=ball", "!",
     "video/x-raw,width=320,height=240,framerate=25/1", "!", "x264enc", "tune=zerolatency",
     "speed-preset=ultrafast", "key-int-max=25", "!", "h264parse", "!", "mpegtsmux", "name=m", "!",
     "filesink", f"location={TS}", "audiotestsrc", "num-buffers=282", "!", "audio/x-raw,rate=48000",
     "!", "avenc_aac", "!", "aacparse", "!", "m."], check=True)
SESSION = ws.session("s", "--media", TS, "--commit-every", "20000", "--markers", "2")
KEY = ws.path("cust.key")


def export(out, *extra, check=0):
    return run(HAVEN, "export", "-i", KEY, "-o", ws.path(out), *extra, SESSION, check=check)


def clip_json(out):
    with open(ws.path(out, "clip.json")) as f:
        return json.load(f)


def packet_pid(data, off):
    assert data[off] == 0x47, off
    return ((data[off + 1] & 0x1F) << 8) | data[off + 2]


def clip_is_a_range():
    p = export("exp-clip", "--from", "1.5", "--until", "3.2")
    c = clip_json("exp-clip")
    name = "s-clip-1.0s-4.0s"
    assert f"clip:        {name}.ts (stream bytes {c['start']}-{c['end']}" in p.stdout, p.stdout
    assert sorted(os.listdir(ws.path("exp-clip"))) == sorted(
        ["clip.json", "custody-report.html", "custody-report.html.sig", "custody-report.txt",
         "custody-report.txt.sig", name + ".ts", name + ".mp4"]), os.listdir(ws.path("exp-clip"))
    assert (c["from_us"], c["to_us"], c["start_us"], c["end_us"]) == (1500000, 3200000, 1000000, 4000000), c
    # the clip is the whole stream's bytes: the tables, then [start, end)
    export("exp-whole")
    whole = open(ws.path("exp-whole", "s.ts"), "rb").read()
    clip = open(ws.path("exp-clip", name + ".ts"), "rb").read()
    assert packet_pid(whole, c["pat"]) == 0 and packet_pid(whole, c["pmt"]) != 0, c
    assert clip == whole[c["pat"]:c["pat"] + 188] + whole[c["pmt"]:c["pmt"] + 188] + whole[c["start"]:c["end"]]
    assert c["stream_bytes"] == len(whole) and c["ts_bytes"] == len(clip), c
    assert c["first_record_offset"] <= c["start"] and c["last_record_offset"] < c["end"], c
    assert c["first_record"] <= c["last_record"], c
    # it plays alone: first frame a keyframe, 75 frames (1 s to 4 s); its MP4 decodes cleanly
    frames = run("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame",
                 "-of", "csv=p=0", ws.path("exp-clip", name + ".ts"), check=0).stdout.split()
    assert frames[0] == "1" and len(frames) == 75, frames
    check_playable(ws.path("exp-clip", name + ".mp4"))
    print(f"     clip 1.0-4.0 s: {len(clip)} bytes of the stream's {len(whole)}")
    rep = open(ws.path("exp-clip", "custody-report.txt")).read()
    assert f"Clip stream bytes {c['start']} to {c['end']} of the {len(whole)}-byte plaintext stream" in rep, rep
    assert f"in media records {c['first_record']} to {c['last_record']}" in rep, rep
    assert c["ts_sha256"] in rep and "--from 1.5 --until 3.2" in rep, rep
    # said at the top, beside the verdict: this report is a clip's, not the whole session's
    assert "\nExported part:   a CLIP of the session, from +00:00:01.0 to +00:00:04.0 (asked --from 1.5 " \
        "--until 3.2; see CLIP below)\n" in rep, rep
    assert "Events and markers of the whole session, in and outside the clip" in rep, rep
    assert "\nExported part:   the whole session\n" in open(ws.path("exp-whole", "custody-report.txt")).read()
    assert "a CLIP of the session, from +00:00:01.0" in open(ws.path("exp-clip", "custody-report.html")).read()
    # the custody event lists the clip's files (named by the cut)
    log = open(os.path.join(SESSION, "custody.log")).read()
    assert name + ".ts" in log and c["ts_sha256"] in log, log
    p = run(HAVEN, "verify-clip", "-i", KEY, ws.path("exp-clip"), SESSION, check=0)
    assert p.stdout.startswith(f"clip OK: {name}.ts is bytes {c['start']}-{c['end']} of session"), p.stdout


R.case("export --from 1.5 --until 3.2: the tables and a keyframe-cut range of the stream, plays alone, "
       "verify-clip re-derives it", clip_is_a_range)


def to_the_end():
    export("exp-end", "--from", "00:00:04.5")
    c = clip_json("exp-end")
    # the whole stream is the media sealed
    assert (c["start_us"], c["end_us"], c["end"], c["until"]) == (4000000, -1, os.path.getsize(TS), "end"), c
    assert os.path.exists(ws.path("exp-end", "s-clip-4.0s-end.ts"))
    # an --until after the end is the end (as documented), said in the report
    export("exp-end99", "--from", "4.5", "--until", "99")
    c99 = clip_json("exp-end99")
    assert (c99["start"], c99["end"], c99["end_us"], c99["until"]) == (c["start"], c["end"], -1, "99"), c99
    assert "from the keyframe at +00:00:04.0 to the end of the recording." in \
        open(ws.path("exp-end99", "custody-report.txt")).read()
    # a marker as the start (mksession's markers are within a few ms of the first record)
    export("exp-marker", "--from", "marker:2", "--until", "0:01")
    c = clip_json("exp-marker")
    assert 0 <= c["from_us"] < 500000 and (c["start_us"], c["end_us"]) == (0, 1000000), c
    for d in ("exp-end", "exp-marker"):
        run(HAVEN, "verify-clip", "-i", KEY, ws.path(d), SESSION, check=0)
    # the clip's MP4 starts at the clip, and its first chapter says so (not "Start of the recording");
    # the report gives each chapter's time in the clip's MP4 beside its offset in the recording
    mp4 = [n for n in os.listdir(ws.path("exp-marker")) if n.endswith(".mp4")][0]
    info = json.loads(run("ffprobe", "-v", "error", "-show_chapters", "-of", "json",
                          ws.path("exp-marker", mp4), check=0).stdout)
    titles = [ch["tags"]["title"] for ch in info["chapters"]]
    assert titles[0] == "Start of the clip (+00:00:00.0 in the recording)" and len(titles) == 3, titles
    rep = open(ws.path("exp-marker", "custody-report.txt")).read()
    assert "time in the clip's MP4, then offset from the first record of the recording" in rep, rep
    assert "   0  00:00:00.0 in the clip  +00:00:00.0  Start of the clip" in rep, rep
    assert "to the keyframe at +00:00:01.0 (not included)." in rep, rep


R.case("export --from 00:00:04.5 runs to the end of the stream; --from marker:2 starts at the marker",
       to_the_end)


def interrupted_to_the_end():
    s = ws.path("crashed")
    p = run(MKSESSION, "--device-key", ws.path("dev.key"), "--recipient", ws.path("cust.pub"), "--out", s,
            "--media", TS, "--commit-every", "20000", "--kill-after", "200001")
    assert p.returncode == -9, p
    run(HAVEN, "recover", "--device-key", ws.path("dev.key"), "--open-seq", "1", s, check=0)
    p = run(HAVEN, "export", "-i", KEY, "-o", ws.path("exp-int"), "--from", "2", s, check=0)
    c = clip_json("exp-int")
    # the stream ends wherever the last checkpoint did: the clip ends at its last whole packet
    assert c["status"] == "INTERRUPTED" and c["end_us"] == -1, c
    assert c["end"] == c["stream_bytes"] - c["stream_bytes"] % 188 and c["start_us"] == 2000000, c
    mp4 = [n for n in os.listdir(ws.path("exp-int")) if n.endswith(".mp4")][0]
    check_playable(ws.path("exp-int", mp4))   # the last access unit, which may be torn, left out
    rep = open(ws.path("exp-int", "custody-report.txt")).read()
    assert "ends at the interruption and may be incomplete: not included in the MP4" in rep, rep
    p = run(HAVEN, "verify-clip", "-i", KEY, ws.path("exp-int"), s, check=0)
    assert "(INTERRUPTED; records" in p.stdout, p.stdout


R.case("INTERRUPTED session: a clip to the end stops at the last whole packet, its MP4 without the torn "
       "last frame decodes cleanly, verify-clip re-derives it", interrupted_to_the_end)


def bad_points():
    cases = [(("--from", "9"), "after the recording's last frame"),
             (("--from", "3", "--until", "2"), "is empty"),
             (("--from", "1:75"), "is neither a time from the start of the recording"),
             (("--until", "abc"), "'abc' is neither a time"),
             (("--from", "marker:3"), "'marker:3': the session has 2 markers (marker:1 to marker:2; "
                                       "'haven info SESSION' lists them)"),
             (("--from", "marker:0"), "is not marker:N with N from 1 (markers are numbered from 1"),
             (("--from", "3", "--until", "2"), "its end (--until) must be after its start (--from)"),
             (("--from", "9"), "'haven info SESSION' gives the recording's duration")]
    for i, (args, says) in enumerate(cases):
        p = export(f"exp-bad{i}", *args, check=2)
        assert says in p.stderr, (args, p.stderr)
        assert not os.path.exists(ws.path(f"exp-bad{i}"))
        assert not [n for n in os.listdir(ws.dir) if n.startswith(f"exp-bad{i}.")]


R.case("--from/--until: a point after the end, an empty range, a bad time or marker: exit 2, nothing left",
       bad_points)


def verify_clip_detects():
    def expect(d, session, says):
        p = run(HAVEN, "verify-clip", "-i", KEY, ws.path(d), session, check=1)
        assert p.stdout.startswith("CLIP NOT RE-DERIVED: ") and says in p.stdout, (d, p.stdout)

    # one byte of the clip changed
    shutil.copytree(ws.path("exp-clip"), ws.path("vc-byte"))
    ts = [n for n in os.listdir(ws.path("vc-byte")) if n.endswith(".ts")][0]
    flip(ws.path("vc-byte", ts), 5000)
    expect("vc-byte", SESSION, "clip file: ")
    # clip.json moved by one packet: the cut by FORMAT §14 is not that
    shutil.copytree(ws.path("exp-clip"), ws.path("vc-json"))
    c = clip_json("vc-json")
    c["start"] += 188
    with open(ws.path("vc-json", "clip.json"), "w") as f:
        json.dump(c, f)
    expect("vc-json", SESSION, "cut: ")
    # another session with the same media
    other = ws.session("other", "--media", TS, "--commit-every", "20000", "--markers", "2")
    expect("exp-clip", other, "fingerprint: the session's is ")
    # the session itself tampered with: INVALID
    ws.copy("s", "s-bad")
    recs, _ = records(ws.path("s-bad"))
    flip(ws.path("s-bad", "records.hvr"), recs[3][0] + 60)
    expect("exp-clip", ws.path("s-bad"), "is INVALID")
    # clip.json unreadable: a usage error naming it
    with open(ws.path("vc-json", "clip.json"), "w") as f:
        f.write("{}")
    p = run(HAVEN, "verify-clip", "-i", KEY, ws.path("vc-json"), SESSION, check=2)
    assert "clip.json: \"format\" is missing" in p.stderr, p.stderr


R.case("verify-clip: a changed clip byte, a moved cut in clip.json, another session, a tampered session: "
       "exit 1 naming it", verify_clip_detects)

def verify_clip_says():
    """a custodian's and a defence expert's mistakes, each named with what to do;
    the device pinned or NOT PINNED said as export says it"""
    env = dict(os.environ, HAVEN_TRUST_DIR=ws.path("no-trust"))
    clip = ws.path("exp-clip")
    p = run(HAVEN, "verify-clip", "-i", KEY, clip, SESSION, env=env, check=0)
    assert p.stdout.startswith("clip OK: ") and "(NOT PINNED: no --device-key given" in p.stdout, p.stdout
    p = run(HAVEN, "verify-clip", "-i", KEY, "--device-key", ws.path("dev.key.pub"), clip, SESSION, env=env,
            check=0)
    assert "(pinned: matches the device key given with --device-key)" in p.stdout, p.stdout
    assert "NOT PINNED" not in p.stdout, p.stdout
    # --expect: the paper record's fingerprint, not only clip.json's
    fp = clip_json("exp-clip")["fingerprint"]
    p = run(HAVEN, "verify-clip", "-i", KEY, "--expect", fp.lower(), clip, SESSION, env=env, check=0)
    assert f"\nfingerprint: {fp} (as expected)\n" in p.stdout, p.stdout
    p = run(HAVEN, "verify-clip", "-i", KEY, clip, SESSION, env=env, check=0)
    assert f"\nfingerprint: {fp} (not compared: no --expect given)\n" in p.stdout, p.stdout
    p = run(HAVEN, "verify-clip", "-i", KEY, "--expect", "AAAA-BBBB-CCCC-DDDD-EEEE", clip, SESSION, env=env,
            check=1)
    assert p.stdout.startswith(f"CLIP NOT RE-DERIVED: fingerprint: the session's is {fp}, not the expected "
                               "AAAA-BBBB-CCCC-DDDD-EEEE"), p.stdout
    p = run(HAVEN, "verify-clip", "-i", KEY, "--expect", "xx", clip, SESSION, env=env, check=2)
    assert "--expect: 'xx' is not a fingerprint" in p.stderr, p.stderr
    # a key that does not open the session: the recipients' key ids, as export names them
    kid = run(HAVEN, "key", "info", ws.path("cust.pub"), check=0).stdout.split("key id:")[1].split()[0]
    p = run(HAVEN, "verify-clip", "-i", ws.path("cust2.key"), clip, SESSION, env=env, check=2)
    assert "is not one of this session's recipients" in p.stderr and f"recipient is key id {kid}" in p.stderr, \
        p.stderr
    # the arguments swapped
    p = run(HAVEN, "verify-clip", "-i", KEY, SESSION, clip, env=env, check=2)
    assert "the arguments are the wrong way round: CLIPDIR first, then SESSION" in p.stderr, p.stderr
    # a whole-session export is not a clip; a clip without its clip.json; no directory at all
    p = run(HAVEN, "verify-clip", "-i", KEY, ws.path("exp-whole"), SESSION, env=env, check=2)
    assert "is an export of the whole session, not a clip (no clip.json)" in p.stderr, p.stderr
    shutil.copytree(clip, ws.path("vc-nojson"))
    os.unlink(ws.path("vc-nojson", "clip.json"))
    p = run(HAVEN, "verify-clip", "-i", KEY, ws.path("vc-nojson"), SESSION, env=env, check=2)
    assert "clip.json is missing: the clip cannot be re-derived without it" in p.stderr, p.stderr
    p = run(HAVEN, "verify-clip", "-i", KEY, ws.path("no-such-clip"), SESSION, env=env, check=2)
    assert "no-such-clip: no such directory (CLIPDIR is the directory" in p.stderr, p.stderr
    # 'haven verify' given an export instead of the sealed session says what checks it
    p = run(HAVEN, "verify", clip, check=2)
    assert "no sessions found: it is a clip" in p.stderr and "haven verify-clip -i KEYFILE" in p.stderr, p.stderr
    p = run(HAVEN, "verify", ws.path("exp-whole"), check=2)
    assert "no sessions found: it is what 'haven export' wrote" in p.stderr, p.stderr


R.case("verify-clip: says whether the device is pinned; a wrong key names the recipients; swapped arguments, "
       "a whole export, a missing clip.json or CLIPDIR each named", verify_clip_says)

R.finish()
