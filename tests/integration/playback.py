# SPDX-License-Identifier: GPL-2.0-or-later
"""What a court's player sees of an exported MP4, checked with an independent
decoder (Debian's ffmpeg/ffprobe, not the GStreamer the recorder uses): it
decodes without a single error, its audio and video last the same, it is
fast start (moov before mdat), and its chapters."""
import json
import struct
import subprocess


def decode_errors(mp4):
    """ffmpeg's error lines while decoding every frame ([] when clean)."""
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", mp4, "-f", "null", "-"],
                       capture_output=True, text=True)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    if p.returncode != 0 and not lines:
        lines = [f"ffmpeg exited {p.returncode}"]
    return lines


def probe(mp4):
    p = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_chapters", "-show_format",
                        "-of", "json", mp4], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def durations(info):
    """{"video": s, "audio": s} from the streams' own durations."""
    out = {}
    for s in info["streams"]:
        if s["codec_type"] in ("video", "audio") and "duration" in s:
            out[s["codec_type"]] = max(out.get(s["codec_type"], 0.0), float(s["duration"]))
    return out


def top_level_boxes(mp4):
    order = []
    with open(mp4, "rb") as f:
        data = f.read()
    off = 0
    while off + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, off)
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, off + 8)
        order.append(kind.decode("latin-1"))
        if size < 8:
            break
        off += size
    return order


def check_playable(mp4, audio=True, video=True, tolerance=0.1, ts=None):
    """Assert what a court needs of the MP4; return ffprobe's view of it.

    ts: the exported MPEG-TS of a live recording. Its audio and video may
    themselves differ by more than tolerance: on a starved CPU the capture's
    audio ends up to a few tenths of a second before its video (measured on
    2 loaded cores; the stop ends both inputs at once, and the lagging one
    loses what it had not yet delivered). What export owes is not to widen
    that: each MP4 stream lasts as long as the TS's (less a torn last frame),
    and the MP4's gap is the TS's within tolerance."""
    errors = decode_errors(mp4)
    assert not errors, f"{mp4}: decoder errors: {errors[:5]}"
    boxes = top_level_boxes(mp4)
    assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), \
        f"{mp4}: not fast start: {boxes}"
    info = probe(mp4)
    d = durations(info)
    if video:
        assert "video" in d, f"{mp4}: no video: {d}"
    if audio:
        assert "audio" in d, f"{mp4}: no audio: {d}"
    gap = abs(d.get("video", 0.0) - d.get("audio", 0.0))
    if ts is not None:
        t = durations(probe(ts))
        for kind in ("video", "audio"):
            if kind in d:
                assert kind in t and -tolerance <= t[kind] - d[kind] <= tolerance, \
                    f"{mp4}: {kind} {d[kind]} s, {t.get(kind)} s in the TS"
        if audio and video:
            ts_gap = abs(t["video"] - t["audio"])
            if ts_gap > tolerance:
                print(f"     note: the recording's own audio and video differ by {ts_gap:.3f} s "
                      f"(video {t['video']} s, audio {t['audio']} s in the TS)")
            tolerance += ts_gap
    if audio and video:
        assert gap <= tolerance, f"{mp4}: audio {d['audio']} s, video {d['video']} s"
    return info
